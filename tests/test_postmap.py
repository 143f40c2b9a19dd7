"""postmap: ours against Debian's Postfix 3.7 postmap, and pinned behaviour.

Every test has its own directory with a main.cf (compatibility_level 3.6,
so smtputf8_enable is on as on a real installation).  Comparisons run both
programs on the same input, each in its own copy of the directory so that
relative file names in messages are the same, and compare exit status,
stdout and stderr.
"""
import os
import shutil
import time
import stat
import subprocess
import unittest

import e2e

MAIN_CF = "compatibility_level = 3.6\n"

SOURCE = """\
# comment
Key1 value1
key1 value2
KEY2   spaced   value
  continued here
key3
"quoted key" qv
"unbal x
k4: v4
multi a
# a comment between continuation lines
  cont after comment

  cont after blank
last\ttabbed
MiXeD@Example.COM  Some Value
user@ \tREJECT
"""

PCRE = r"""/^user@(.*)$/    pcre user at $1
/^Case$/          case-sensitive-not
!/^x/             not-x
if /^if/
/^ifz/            inside if
endif
"""

REGEXP = r"""/^user@(.*)$/    regexp user at $1
/^abc$/           abc
!/^x/             not-x
"""

CIDR = """192.168.1.0/24   lan
10.0.0.1         one
!10.0.0.0/8      not-ten
2001:db8::/32    doc6
"""

KEYS = ["key1", "KEY1", "key2", "key3", "nope", "k4:", '"quoted key"',
        "multi", "last", "mixed@example.com", "MiXeD@Example.COM", "user@",
        "user@example.com", "abc", "ABC", "Case", "ifz", "x1", "192.168.1.7",
        "10.0.0.1", "10.2.3.4", "2001:db8::1", "1.2.3.4", "root", "a", "b",
        "c", ""]


class Base(e2e.TempDirTest):
    prog = "postmap"

    def setUp(self):
        super().setUp()
        self.conf = self.confdir(MAIN_CF)

    def run_in(self, which, args, input=None, cwd=None, env=None):
        exe = e2e.prog(self.prog) if which == "ours" else e2e.oracle(self.prog)
        e = dict(os.environ)
        e.pop("MAIL_CONFIG", None)
        if env:
            e.update(env)
        return subprocess.run([exe, "-c", self.conf] + args, input=input,
                              capture_output=True, text=True,
                              errors="replace", cwd=cwd or self.dir, env=e,
                              timeout=60)

    def ours(self, args, input=None, cwd=None, env=None):
        return self.run_in("ours", args, input, cwd, env)

    def theirs(self, args, input=None, cwd=None, env=None):
        return self.run_in("theirs", args, input, cwd, env)

    def twin_dirs(self, files):
        """Two directories with the same files: (ours, theirs)."""
        dirs = []
        self.twins = getattr(self, "twins", 0) + 1
        for name in ("o", "t"):
            d = os.path.join(self.dir, "%s%d" % (name, self.twins))
            os.makedirs(d)
            for f, text in files.items():
                with open(os.path.join(d, f), "w") as fp:
                    fp.write(text)
            dirs.append(d)
        return dirs

    def assertSame(self, args, input=None, cwd=None, sort=False, env=None,
                   stderr=True):
        o = self.ours(args, input, cwd, env)
        t = self.theirs(args, input, cwd, env)
        where = "postmap %s" % " ".join(args)
        self.assertEqual(o.returncode, t.returncode,
                         "%s: exit status (ours stderr %r, theirs %r)"
                         % (where, o.stderr, t.stderr))
        if sort:
            self.assertEqual(sorted(o.stdout.splitlines()),
                             sorted(t.stdout.splitlines()), where)
        else:
            self.assertEqual(o.stdout, t.stdout, where)
        if stderr:
            self.assertEqual(o.stderr, t.stderr, where)
        return o


class OracleQueries(Base):
    """postmap -q gives Postfix's answers for every table type."""

    def setUp(self):
        super().setUp()
        e2e.need_oracle()
        self.write("map", SOURCE)
        self.write("p.pcre", PCRE)
        self.write("r.regexp", REGEXP)
        self.write("c.cidr", CIDR)
        # Postfix re-reads a text table modified within the last second
        # (and warns again each time), so a fresh file would make its
        # stderr depend on timing: make them older.
        old = time.time() - 60
        for name in ("map", "p.pcre", "r.regexp", "c.cidr"):
            os.utime(os.path.join(self.dir, name), (old, old))
        # Tables built by Postfix, so that only the lookups are compared.
        for t in ("hash", "btree"):
            os.makedirs(os.path.join(self.dir, t))
            shutil.copy(os.path.join(self.dir, "map"),
                        os.path.join(self.dir, t, "map"))
            r = self.theirs(["%s:%s/map" % (t, t)])
            self.assertEqual(r.returncode, 0, r.stderr)

    def query_all(self, spec, keys=KEYS):
        for k in keys:
            if k == "":
                continue
            self.assertSame(["-q", k, spec])
        self.assertSame(["-q", "-", spec], input="".join(k + "\n"
                                                          for k in keys))

    def test_hash(self):
        self.query_all("hash:hash/map")

    def test_btree(self):
        self.query_all("btree:btree/map")

    def test_default_type(self):
        self.query_all("hash/map")

    def test_pcre(self):
        self.query_all("pcre:p.pcre")

    def test_regexp(self):
        self.query_all("regexp:r.regexp")

    def test_cidr(self):
        self.query_all("cidr:c.cidr")

    def test_inline(self):
        self.query_all("inline:{key1=one, {key2 = two words}, KEY3=three}")

    def test_static(self):
        self.query_all("static:{a static value}")

    def test_texthash(self):
        self.query_all("texthash:map")

    def test_unionmap(self):
        self.query_all("unionmap:{hash:hash/map, inline:{key1=x, a=b}}")

    def test_pipemap(self):
        self.query_all("pipemap:{inline:{a=b, c=d}, inline:{b=c, d=e}}")

    def test_environ(self):
        env = {"POSTERN_TEST_VAR": "hello", "lowervar": "low"}
        for k in ("POSTERN_TEST_VAR", "lowervar", "LOWERVAR", "nope"):
            self.assertSame(["-q", k, "environ:x"], env=env)
            self.assertSame(["-f", "-q", k, "environ:x"], env=env)

    def test_unix(self):
        self.query_all("unix:passwd.byname", ["root", "nobody", "nope"])
        self.query_all("unix:group.byname", ["root", "nope"])

    def test_fail(self):
        self.assertSame(["-q", "x", "fail:x"])
        self.assertSame(["-q", "-", "fail:x"], input="x\n")
        self.assertSame(["-s", "fail:x"])
        self.assertSame(["-d", "x", "fail:x"])
        self.assertSame(["-d", "-", "fail:x"], input="x\n")
        self.assertSame(["-q", "x", "inline:{a=b}", "fail:x"])

    def test_several_tables(self):
        # The first table that has the key answers; -q - tries each.
        tables = ["inline:{a=1}", "hash:hash/map", "static:last"]
        for k in ("a", "key1", "zzz"):
            self.assertSame(["-q", k] + tables)
        self.assertSame(["-q", "-"] + tables, input="a\nkey1\nzzz\n")
        self.assertSame(["-q", "-", "inline:{a=1}", "hash:hash/map"],
                        input="zzz\nyyy\n")

    def test_fold_and_nul_options(self):
        for opts in (["-f"], ["-N"], ["-n"], ["-f", "-N"]):
            for k in ("key1", "KEY1", "mixed@example.com"):
                self.assertSame(opts + ["-q", k, "hash:hash/map"])

    def test_header_body_queries(self):
        # static: answers every key, so the keys themselves are compared.
        msgs = ["Subject: test\nX-Spam: yes\n  folded line\nFrom: a@b\n"
                "not a header\n\nbody line one\nuser@example.com\n\nkey1\n",
                "Subject: x\n\nbody\n", "Subject: x\nBody: y\n",
                "no header\nSubject: x\n", "\nbody only\n", "",
                "Subject: x\n\n", "a: b\n\tc\n d\n\n\n"]
        for msg in msgs:
            for opt in ("-h", "-b", "-hb"):
                self.assertSame([opt, "-q", "-", "static:x"], input=msg)
                self.assertSame([opt, "-q", "-", "hash:hash/map"], input=msg)
                self.assertSame([opt, "-q", "-", "regexp:r.regexp"],
                                input=msg)

    def test_proxy(self):
        # Postfix's proxy: needs a running proxymap (it retries for a long
        # time without one): only check that ours answers or fails cleanly.
        r = self.ours(["-q", "key1", "proxy:hash:%s/hash/map" % self.dir])
        self.assertIn(r.returncode, (0, 1))
        if r.returncode == 0:
            self.assertEqual(r.stdout, "value1\n")


class OracleFiles(Base):
    """.db files move both ways between ours and Postfix's."""

    def setUp(self):
        super().setUp()
        e2e.need_oracle()

    def cross(self, opts, source=SOURCE):
        for t in ("hash", "btree"):
            for builder, reader in (("ours", "theirs"), ("theirs", "ours")):
                d = os.path.join(self.dir, "%s-%s-%s" % (
                    t, builder, "".join(opts) or "plain"))
                os.makedirs(d)
                with open(os.path.join(d, "map"), "w") as fp:
                    fp.write(source)
                b = self.run_in(builder, opts + ["%s:map" % t], cwd=d)
                self.assertEqual(b.returncode, 0, b.stderr)
                spec = "%s:map" % t
                mine = self.run_in(reader, ["-s", spec], cwd=d)
                other = self.run_in(builder, ["-s", spec], cwd=d)
                self.assertEqual(mine.returncode, 0, mine.stderr)
                self.assertEqual(sorted(mine.stdout.splitlines()),
                                 sorted(other.stdout.splitlines()),
                                 "%s built by %s, listed by both" % (t,
                                                                    builder))
                for k in KEYS:
                    if not k:
                        continue
                    for q in ([], ["-N"], ["-n"], ["-f"]):
                        a = self.run_in(reader, q + ["-q", k, spec], cwd=d)
                        b = self.run_in(builder, q + ["-q", k, spec], cwd=d)
                        self.assertEqual((a.returncode, a.stdout),
                                         (b.returncode, b.stdout),
                                         "%s built by %s %s: -q %s %s" % (
                                             t, builder, opts, k, q))

    def test_cross_default(self):
        self.cross([])

    def test_cross_nul(self):
        self.cross(["-N"])

    def test_cross_no_nul(self):
        self.cross(["-n"])

    def test_cross_no_fold(self):
        self.cross(["-f"])

    def test_cross_replace(self):
        self.cross(["-r"])

    def test_build_messages(self):
        # Duplicates, missing values, quotes, "key:" lines, leading white
        # space, non-UTF-8 lines: the same warnings in the same order.
        src = SOURCE + ("  leading white space\ndup 1\nDUP 2\nbad\xff line\n"
                        "k bad\xfevalue\n\tlead\ttab\n\"un\tbal x\n"
                        "Tab\tvalue\ntab\tagain\n")
        for opts in ([], ["-r"], ["-w"], ["-u"], ["-f"]):
            o, t = self.twin_dirs({"map": src})
            for kind in ("hash", "btree"):
                a = self.ours(opts + ["%s:map" % kind], cwd=o)
                b = self.theirs(opts + ["%s:map" % kind], cwd=t)
                self.assertEqual(a.returncode, b.returncode)
                self.assertEqual(a.stderr, b.stderr, opts)
                self.assertSame(["-s", "%s:map" % kind], cwd=o, sort=True)
                self.assertSame(["-s", "%s:map" % kind], cwd=t, sort=True)

    def test_base64_file_values(self):
        # -F: values name files; the table holds base64 of their contents.
        files = {"f1": "hello\nworld\n", "f2": "second", "empty": "",
                 "src": "k1 f1\nk2 f1, f2\nk3 f1 f2\nk4 missing\n"
                        "k5 empty\nk6 f2\nk7 ,f1,,\n",
                 "b64": "a bad!!\nb aGk=\nc aGk\nd YQ==YQ==\n"}
        o, t = self.twin_dirs(files)
        os.makedirs(os.path.join(o, "dd"))
        os.makedirs(os.path.join(t, "dd"))
        for d in (o, t):
            with open(os.path.join(d, "s4"), "w") as fp:
                fp.write("k dd\n")
        for args in (["-F", "hash:src"], ["-F", "btree:s4"], ["hash:b64"]):
            a = self.ours(args, cwd=o)
            b = self.theirs(args, cwd=t)
            self.assertEqual((a.returncode, a.stdout, a.stderr),
                             (b.returncode, b.stdout, b.stderr), args)
        for d in (o, t):
            for args in (["-s", "hash:src"], ["-F", "-s", "hash:src"],
                         ["-F", "-s", "hash:b64"],
                         ["-F", "-q", "k2", "hash:src"],
                         ["-F", "-q", "k5", "hash:src"],
                         ["-F", "-q", "a", "hash:b64"],
                         ["-F", "-q", "c", "hash:b64"],
                         ["-F", "-q", "d", "hash:b64"]):
                self.assertSame(args, cwd=d, sort="-s" in args)
            self.assertSame(["-F", "-q", "-", "hash:b64"], input="b\nd\n",
                            cwd=d)
            self.assertSame(["-F", "-q", "-", "hash:b64"], input="b\na\n",
                            cwd=d)

    def test_dump_equal(self):
        o, t = self.twin_dirs({"map": SOURCE})
        self.assertEqual(self.ours(["hash:map"], cwd=o).returncode, 0)
        self.assertEqual(self.theirs(["hash:map"], cwd=t).returncode, 0)
        a = self.ours(["-s", "hash:map"], cwd=o)
        b = self.theirs(["-s", "hash:map"], cwd=t)
        self.assertEqual(sorted(a.stdout.splitlines()),
                         sorted(b.stdout.splitlines()))
        self.assertEqual(a.returncode, b.returncode)

    def test_incremental_and_delete(self):
        o, t = self.twin_dirs({"map": SOURCE})
        upd = "key1 new\nfresh entry\nKey2 replaced\nnovalue\n"
        dels = "fresh\nnot-there\nlast\n"
        for opts in ([], ["-r"], ["-w"]):
            for d, who in ((o, self.ours), (t, self.theirs)):
                self.assertEqual(who(["hash:map"], cwd=d).returncode, 0)
            a = self.ours(opts + ["-i", "hash:map"], input=upd, cwd=o)
            b = self.theirs(opts + ["-i", "hash:map"], input=upd, cwd=t)
            self.assertEqual((a.returncode, a.stdout, a.stderr),
                             (b.returncode, b.stdout, b.stderr))
            a = self.ours(["-s", "hash:map"], cwd=o)
            b = self.theirs(["-s", "hash:map"], cwd=t)
            self.assertEqual(sorted(a.stdout.splitlines()),
                             sorted(b.stdout.splitlines()), opts)
            for key in ("key1", "KEY2", "nothere"):
                a = self.ours(["-d", key, "hash:map"], cwd=o)
                b = self.theirs(["-d", key, "hash:map"], cwd=t)
                self.assertEqual((a.returncode, a.stdout, a.stderr),
                                 (b.returncode, b.stdout, b.stderr), key)
            a = self.ours(["-d", "-", "hash:map"], input=dels, cwd=o)
            b = self.theirs(["-d", "-", "hash:map"], input=dels, cwd=t)
            self.assertEqual((a.returncode, a.stdout, a.stderr),
                             (b.returncode, b.stdout, b.stderr))
            a = self.ours(["-d", "-", "hash:map"], input="zz\n", cwd=o)
            b = self.theirs(["-d", "-", "hash:map"], input="zz\n", cwd=t)
            self.assertEqual(a.returncode, b.returncode)
            a = self.ours(["-s", "hash:map"], cwd=o)
            b = self.theirs(["-s", "hash:map"], cwd=t)
            self.assertEqual(sorted(a.stdout.splitlines()),
                             sorted(b.stdout.splitlines()), opts)

    def test_incremental_creates(self):
        o, t = self.twin_dirs({})
        a = self.ours(["-i", "hash:new"], input="a 1\nb 2\n", cwd=o)
        b = self.theirs(["-i", "hash:new"], input="a 1\nb 2\n", cwd=t)
        self.assertEqual((a.returncode, a.stderr), (b.returncode, b.stderr))
        self.assertSame(["-q", "b", "hash:new"], cwd=o)
        self.assertSame(["-q", "b", "hash:new"], cwd=t)


class OracleErrors(Base):
    """Bad input gets Postfix's message and exit status."""

    def setUp(self):
        super().setUp()
        e2e.need_oracle()
        self.write("map", "a 1\n")

    def test_missing(self):
        self.assertSame(["nonexistent"])
        self.assertSame(["hash:nonexistent"])
        self.assertSame(["-q", "x", "nonexistent"])
        self.assertSame(["-q", "x", "hash:nonexistent"])
        self.assertSame(["-q", "x", "btree:nonexistent"])
        self.assertSame(["-s", "hash:nonexistent"])
        self.assertSame(["-d", "x", "hash:nonexistent"])
        self.assertSame(["-q", "x", "regexp:nonexistent"])
        self.assertSame(["-q", "x", "pcre:nonexistent"])
        self.assertSame(["-q", "x", "cidr:nonexistent"])
        self.assertSame(["-q", "x", "texthash:nonexistent"])
        self.write("u", "a 1\n")
        self.assertEqual(self.theirs(["hash:u"]).returncode, 0)
        # A Berkeley DB table is named by its file in lookup warnings.
        for spec in ("hash:u", "btree:nonexistent", "inline:{a=b}"):
            o = subprocess.run([e2e.prog("postmap"), "-c", self.conf, "-q",
                                b"x\xff", spec], capture_output=True,
                               cwd=self.dir)
            t = subprocess.run([e2e.oracle("postmap"), "-c", self.conf,
                                "-q", b"x\xff", spec], capture_output=True,
                               cwd=self.dir)
            self.assertEqual((o.returncode, o.stdout, o.stderr),
                             (t.returncode, t.stdout, t.stderr), spec)

    def test_usage(self):
        for args in ([], ["-q"], ["-q", "x"], ["-Z", "map"],
                     ["-s", "-q", "x", "map"], ["-q", "x", "-d", "y", "map"],
                     ["-q", "x", "-s", "map"], ["-b", "map"],
                     ["-h", "-q", "x", "map"], ["-m", "-q", "-", "map"],
                     ["-q", "x", "foo:map"], ["foo:map"],
                     ["proxy:hash:map"], ["-q", "x", "environ:"],
                     ["-q", "x", "inline:{a=b"], ["-s", "static:x"],
                     ["-s", "inline:{a=b}"], ["-s", "environ:x"],
                     # Types that cannot be built, known or not.
                     ["texthash:map"], ["regexp:map"], ["static:map"],
                     ["cidr:map"], ["unix:map"], ["inline:{a=b}"],
                     ["-i", "inline:{a=b}"], ["-i", "regexp:map"],
                     ["lmdb:map"], ["-i", "cdb:map"], ["nis:map"],
                     ["-i", "proxy:hash:map"], ["fail:map"],
                     ["-i", "fail:map"]):
            self.assertSame(args, input="")

    def test_corrupt_db(self):
        # A truncated and a garbage .db: Postfix's fatal line (Berkeley DB
        # may print a diagnostic of its own before it).
        with open(os.path.join(self.dir, "g.db"), "w") as fp:
            fp.write("garbage\n" * 100)
        self.assertEqual(self.theirs(["hash:map"]).returncode, 0)
        with open(os.path.join(self.dir, "map.db"), "rb") as fp:
            head = fp.read(100)
        with open(os.path.join(self.dir, "t.db"), "wb") as fp:
            fp.write(head)
        open(os.path.join(self.dir, "e.db"), "w").close()
        for name in ("g", "t", "e"):
            for args in (["-q", "a", "hash:" + name],
                         ["-s", "hash:" + name],
                         ["-q", "a", "btree:" + name]):
                o = self.ours(args)
                t = self.theirs(args)
                self.assertEqual(o.returncode, t.returncode, args)
                self.assertEqual(o.stdout, t.stdout, args)
                last = lambda s: s.strip().splitlines()[-1] if s.strip() else ""
                self.assertEqual(last(o.stderr), last(t.stderr), args)

    def test_wrong_db_type(self):
        self.assertEqual(self.theirs(["btree:map"]).returncode, 0)
        o = self.ours(["-q", "a", "hash:map"])
        t = self.theirs(["-q", "a", "hash:map"])
        self.assertEqual(o.returncode, t.returncode)
        self.assertEqual(o.stderr.splitlines()[-1:],
                         t.stderr.splitlines()[-1:])

    def test_missing_main_cf(self):
        o = self.run_in("ours", ["-c", os.path.join(self.dir, "nodir"),
                                 "-q", "a", "inline:{a=b}"])
        t = self.run_in("theirs", ["-c", os.path.join(self.dir, "nodir"),
                                   "-q", "a", "inline:{a=b}"])
        self.assertEqual((o.returncode, o.stdout, o.stderr),
                         (t.returncode, t.stdout, t.stderr))

    def test_non_utf8_query(self):
        for k in ("ok", "bad\udcff"):
            key = k.encode("utf-8", "surrogateescape")
            res = []
            for exe in (e2e.prog("postmap"), e2e.oracle("postmap")):
                r = subprocess.run([exe, "-c", self.conf, "-q", key,
                                    "inline:{ok=1}"], capture_output=True,
                                   cwd=self.dir)
                res.append((r.returncode, r.stdout, r.stderr))
            self.assertEqual(res[0], res[1], k)


class Pinned(Base):
    """Behaviour pinned without Postfix (runs everywhere)."""

    def test_build_and_query(self):
        self.write("map", SOURCE)
        r = self.ours(["hash:map"])
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr.splitlines(), [
            'postmap: warning: map.db: duplicate entry: "key1"',
            "postmap: warning: map, line 6: expected format: key whitespace"
            " value",
            "postmap: warning: map, line 8: unbalanced '\"' in '\"unbal x'"
            " -- ignoring this line",
            'postmap: warning: map, line 9: record is in "key: value" format;'
            " is this an alias file?",
        ])
        q = self.ours(["-q", "KEY1", "hash:map"])
        self.assertEqual((q.returncode, q.stdout), (0, "value1\n"))
        q = self.ours(["-q", "key2", "map"])
        self.assertEqual(q.stdout, "spaced   value  continued here\n")
        q = self.ours(["-q", "multi", "map"])
        self.assertEqual(q.stdout,
                         "multi".replace("multi", "a  cont after comment  "
                                         "cont after blank\n"))
        q = self.ours(["-q", "nope", "map"])
        self.assertEqual((q.returncode, q.stdout, q.stderr), (1, "", ""))
        q = self.ours(["-f", "-q", "KEY1", "map"])
        self.assertEqual(q.returncode, 1)
        q = self.ours(["-q", "-", "map"], input="key1\nnope\nlast\n")
        self.assertEqual((q.returncode, q.stdout),
                         (0, "key1\tvalue1\nlast\ttabbed\n"))
        q = self.ours(["-q", "-", "map"], input="nope\n")
        self.assertEqual((q.returncode, q.stdout), (1, ""))
        s = self.ours(["-s", "map"])
        self.assertEqual(sorted(s.stdout.splitlines()), sorted([
            "key1\tvalue1", "key2\tspaced   value  continued here",
            '"quoted key"\tqv', "k4:\tv4",
            "multi\ta  cont after comment  cont after blank",
            "last\ttabbed", "mixed@example.com\tSome Value",
            "user@\tREJECT"]))

    def test_atomic_replace(self):
        self.write("map", "a 1\n")
        self.assertEqual(self.ours(["hash:map"]).returncode, 0)
        db = os.path.join(self.dir, "map.db")
        before = os.stat(db).st_ino
        with open(db, "rb") as keep:
            self.write("map", "a 2\n")
            self.assertEqual(self.ours(["hash:map"]).returncode, 0)
            # The old file is untouched: readers that have it open keep a
            # complete table; the new one is a new inode.
            self.assertNotEqual(os.stat(db).st_ino, before)
            self.assertEqual(os.fstat(keep.fileno()).st_nlink, 0)
        self.assertEqual(self.ours(["-q", "a", "map"]).stdout, "2\n")
        self.assertEqual(sorted(os.listdir(self.dir)),
                         ["etc", "map", "map.db"])

    def test_failed_build_keeps_old_table(self):
        self.write("map", "a 1\n")
        self.assertEqual(self.ours(["hash:map"]).returncode, 0)
        # fail: cannot be written; the build dies and leaves nothing.
        r = self.ours(["fail:map"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("postmap: fatal: table fail:map: write error", r.stderr)
        self.assertEqual(self.ours(["-q", "a", "map"]).stdout, "1\n")
        self.assertEqual(sorted(os.listdir(self.dir)),
                         ["etc", "map", "map.db"])

    def test_permissions_follow_source(self):
        self.write("map", "a 1\n", mode=0o640)
        self.assertEqual(self.ours(["hash:map"]).returncode, 0)
        mode = stat.S_IMODE(os.stat(os.path.join(self.dir, "map.db")).st_mode)
        self.assertEqual(mode, 0o640)
        os.unlink(os.path.join(self.dir, "map.db"))
        self.assertEqual(self.ours(["-p", "hash:map"]).returncode, 0)
        mode = stat.S_IMODE(os.stat(os.path.join(self.dir, "map.db")).st_mode)
        self.assertEqual(mode, 0o644)

    def test_runs_as_source_owner(self):
        if os.getuid() != 0:
            self.skipTest("needs root to change owners")
        import pwd
        nobody = pwd.getpwnam("nobody")
        os.chmod(self.dir, 0o755)
        d = os.path.join(self.dir, "own")
        os.makedirs(d)
        os.chmod(d, 0o777)
        src = os.path.join(d, "map")
        with open(src, "w") as fp:
            fp.write("a 1\n")
        os.chown(src, nobody.pw_uid, nobody.pw_gid)
        # LeakSanitizer cannot inspect a process that changed its euid.
        env = {"ASAN_OPTIONS": (os.environ.get("ASAN_OPTIONS", "") +
                                ":detect_leaks=0").lstrip(":")}
        self.assertEqual(self.ours(["hash:own/map"], env=env).returncode, 0)
        st = os.stat(src + ".db")
        self.assertEqual((st.st_uid, st.st_gid),
                         (nobody.pw_uid, nobody.pw_gid))
        self.assertEqual(self.ours(["-o", "hash:own/map"]).returncode, 0)
        self.assertEqual(os.stat(src + ".db").st_uid, 0)
        # The owner cannot write there: Postfix's message.
        os.chmod(d, 0o755)
        r = self.ours(["hash:own/map"], env=env)
        self.assertEqual((r.returncode, r.stderr), (1, "postmap: fatal: open "
                         "own/map.db: Permission denied\n"))

    def test_errors(self):
        r = self.ours(["nonexistent"])
        self.assertEqual((r.returncode, r.stderr), (
            1, "postmap: fatal: open nonexistent: No such file or directory\n"))
        r = self.ours(["-q", "x", "nonexistent"])
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("postmap: fatal: "), r.stderr)
        r = self.ours(["-s", "-q", "x", "map"])
        self.assertEqual(r.stderr,
                         "postmap: fatal: specify only one of -s -q or -d\n")
        r = self.ours([])
        self.assertEqual(r.stderr, "postmap: fatal: usage: postmap "
                         "[-bfFhimnNoprsuUvw] [-c config_dir] [-d key] "
                         "[-q key] [map_type:]file...\n")
        r = self.ours(["proxy:hash:map"])
        self.assertEqual(r.stderr, "postmap: fatal: can't create maps via "
                         "the proxy service\n")
        r = self.ours(["-q", "x", "foo:map"])
        self.assertEqual(r.stderr,
                         "postmap: fatal: unsupported dictionary type: foo\n")

    def test_nul_forms(self):
        self.write("map", "Key 1\n")
        for build, query, found in ((["-N"], ["-N"], 0), (["-N"], ["-n"], 1),
                                    (["-n"], ["-n"], 0), (["-n"], ["-N"], 1),
                                    (["-N"], [], 0), (["-n"], [], 0)):
            self.assertEqual(self.ours(build + ["hash:map"]).returncode, 0)
            r = self.ours(query + ["-q", "key", "hash:map"])
            self.assertEqual(r.returncode, found, (build, query))

    def test_utf8(self):
        with open(os.path.join(self.dir, "u"), "wb") as fp:
            fp.write(b"ok 1\nbad\xff 2\n")
        r = self.ours(["hash:u"])
        self.assertEqual(r.stderr, 'postmap: warning: u, line 2: non-UTF-8 '
                         'input "bad? 2" -- ignoring this line\n')
        r = self.ours(["-u", "hash:u"])
        self.assertEqual(r.stderr, "")
        self.assertEqual(len(self.ours(["-s", "hash:u"]).stdout.splitlines()),
                         2)

    def test_inline_and_static(self):
        r = self.ours(["-q", "y", "inline:{x=1, {y = a b}}"])
        self.assertEqual((r.returncode, r.stdout), (0, "a b\n"))
        r = self.ours(["-q", "anything", "static:{text here}"])
        self.assertEqual((r.returncode, r.stdout), (0, "text here\n"))


if __name__ == "__main__":
    unittest.main()
