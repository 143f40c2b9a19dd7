"""postalias: ours against Debian's Postfix 3.7 postalias, and pinned behaviour.

As in test_postmap.py, each test has its own directory and main.cf, and
the two programs run on identical copies of the input.  YP_LAST_MODIFIED
holds the build time, so listings compare it by shape, not value.
"""
import os
import re
import subprocess
import time
import unittest

import e2e

MAIN_CF = "compatibility_level = 3.6\nmyhostname = mail.example.com\n"

ALIASES = """\
# comment
Root: Bob, alice@Example.COM
postmaster:   root
"a b":  x
"Quoted": y
c: :include:/etc/foo, |"/usr/bin/prog arg", /var/mail/file
d: e,
   f
  g: h
BAD
x@y: z
pct%host: z
foo: "bar baz" (comment), <qux@Example.com>
dup: 1
dup: 2
Dup: 3
empty: ""
ws:    spaced   value  ,  other
b\\ c: d
"x\\"y": z
,a: b
q:
:r
MiXeD: [1.2.3.4], a.b@[ipv6:::1]
owner-list: list-request
tc: a,b ,
"""

KEYS = ["root", "ROOT", "postmaster", "a b", "quoted", "Quoted", "c", "d",
        "dup", "empty", "ws", "foo", "b c", 'x"y', "mixed", "owner-list",
        "@", "nope", "YP_MASTER_NAME", "yp_master_name", "bad", "x@y"]


def mask_stamp(text):
    return re.sub(r"(YP_LAST_MODIFIED:\t)\d{10}", r"\1<stamp>", text)


class Base(e2e.TempDirTest):
    prog = "postalias"

    def setUp(self):
        super().setUp()
        self.conf = self.confdir(MAIN_CF)
        self.twins = 0

    def run_in(self, which, args, input=None, cwd=None):
        exe = e2e.prog(self.prog) if which == "ours" else e2e.oracle(self.prog)
        e = dict(os.environ)
        e.pop("MAIL_CONFIG", None)
        return subprocess.run([exe, "-c", self.conf] + args, input=input,
                              capture_output=True, text=True,
                              errors="replace", cwd=cwd or self.dir, env=e,
                              timeout=60)

    def ours(self, args, input=None, cwd=None):
        return self.run_in("ours", args, input, cwd)

    def theirs(self, args, input=None, cwd=None):
        return self.run_in("theirs", args, input, cwd)

    def twin_dirs(self, files):
        self.twins += 1
        dirs = []
        for name in ("o", "t"):
            d = os.path.join(self.dir, "%s%d" % (name, self.twins))
            os.makedirs(d)
            for f, text in files.items():
                with open(os.path.join(d, f), "w") as fp:
                    fp.write(text)
            dirs.append(d)
        return dirs

    def listing(self, which, spec, cwd, opts=()):
        r = self.run_in(which, list(opts) + ["-s", spec], cwd=cwd)
        self.assertEqual(r.returncode, 0, r.stderr)
        return sorted(mask_stamp(r.stdout).splitlines())


class Oracle(Base):
    def setUp(self):
        super().setUp()
        e2e.need_oracle()

    def test_build_same_messages_and_contents(self):
        for opts in ([], ["-r"], ["-w"], ["-f"], ["-u"], ["-N"], ["-n"]):
            for kind in ("hash", "btree"):
                o, t = self.twin_dirs({"aliases": ALIASES})
                a = self.ours(opts + ["%s:aliases" % kind], cwd=o)
                b = self.theirs(opts + ["%s:aliases" % kind], cwd=t)
                self.assertEqual((a.returncode, a.stdout, a.stderr),
                                 (b.returncode, b.stdout, b.stderr),
                                 (opts, kind))
                # Each table listed by both programs: four equal listings.
                spec = "%s:aliases" % kind
                want = self.listing("theirs", spec, t)
                self.assertEqual(self.listing("ours", spec, t), want)
                self.assertEqual(self.listing("theirs", spec, o), want)
                self.assertEqual(self.listing("ours", spec, o), want)

    def test_cross_queries(self):
        for opts in ([], ["-N"], ["-n"], ["-f"]):
            for kind in ("hash", "btree"):
                o, t = self.twin_dirs({"aliases": ALIASES})
                self.assertEqual(self.ours(opts + ["%s:aliases" % kind],
                                           cwd=o).returncode, 0)
                self.assertEqual(self.theirs(opts + ["%s:aliases" % kind],
                                             cwd=t).returncode, 0)
                spec = "%s:aliases" % kind
                for d in (o, t):
                    for q in ([], ["-N"], ["-n"], ["-f"]):
                        for k in KEYS:
                            a = self.ours(q + ["-q", k, spec], cwd=d)
                            b = self.theirs(q + ["-q", k, spec], cwd=d)
                            self.assertEqual(
                                (a.returncode, a.stdout, a.stderr),
                                (b.returncode, b.stdout, b.stderr),
                                (opts, kind, q, k, d))
                        stdin = "".join(k + "\n" for k in KEYS)
                        a = self.ours(q + ["-q", "-", spec], input=stdin,
                                      cwd=d)
                        b = self.theirs(q + ["-q", "-", spec], input=stdin,
                                        cwd=d)
                        self.assertEqual((a.returncode, a.stdout, a.stderr),
                                         (b.returncode, b.stdout, b.stderr))

    def test_incremental_and_delete(self):
        o, t = self.twin_dirs({"aliases": ALIASES})
        upd = "root: newroot\nfresh: x, y\nbad line\n@: other\n"
        for opts in ([], ["-r"], ["-w"]):
            for d, who in ((o, self.ours), (t, self.theirs)):
                self.assertEqual(who(["hash:aliases"], cwd=d).returncode, 0)
            a = self.ours(opts + ["-i", "hash:aliases"], input=upd, cwd=o)
            b = self.theirs(opts + ["-i", "hash:aliases"], input=upd, cwd=t)
            self.assertEqual((a.returncode, a.stdout, a.stderr),
                             (b.returncode, b.stdout, b.stderr), opts)
            self.assertEqual(self.listing("ours", "hash:aliases", o),
                             self.listing("theirs", "hash:aliases", t), opts)
            for key in ("root", "Fresh", "nothere", "@"):
                a = self.ours(["-d", key, "hash:aliases"], cwd=o)
                b = self.theirs(["-d", key, "hash:aliases"], cwd=t)
                self.assertEqual((a.returncode, a.stdout, a.stderr),
                                 (b.returncode, b.stdout, b.stderr), key)
            a = self.ours(["-d", "-", "hash:aliases"], input="d\nzz\n", cwd=o)
            b = self.theirs(["-d", "-", "hash:aliases"], input="d\nzz\n",
                            cwd=t)
            self.assertEqual((a.returncode, a.stdout, a.stderr),
                             (b.returncode, b.stdout, b.stderr))
            self.assertEqual(self.listing("ours", "hash:aliases", o),
                             self.listing("theirs", "hash:aliases", t))

    def test_errors(self):
        self.write("aliases", "a: b\n")
        for args in (["nonexistent"], ["-q", "x", "nonexistent"],
                     ["-q", "x", "hash:nonexistent"], ["-s", "nonexistent"],
                     ["-d", "x", "nonexistent"], [], ["-q"], ["-q", "x"],
                     ["-Z", "aliases"], ["-b", "aliases"],
                     ["-s", "-q", "x", "aliases"], ["foo:aliases"],
                     ["-q", "x", "foo:aliases"], ["proxy:hash:aliases"],
                     ["-s", "static:x"], ["regexp:aliases"],
                     ["-i", "texthash:aliases"], ["lmdb:aliases"],
                     ["-i", "proxy:hash:aliases"], ["fail:aliases"]):
            a = self.ours(args, input="")
            b = self.theirs(args, input="")
            self.assertEqual((a.returncode, a.stdout, a.stderr),
                             (b.returncode, b.stdout, b.stderr), args)

    def test_utf8_and_whitespace(self):
        src = b"  lead: 1\na: 1\nk\xff: v\nm: v\xfe\n"
        res = []
        for who in ("ours", "theirs"):
            d = os.path.join(self.dir, who)
            os.makedirs(d)
            with open(os.path.join(d, "al"), "wb") as fp:
                fp.write(src)
            r = self.run_in(who, ["hash:al"], cwd=d)
            res.append((r.returncode, r.stderr))
        self.assertEqual(res[0], res[1])

    def test_other_types(self):
        for spec in ("inline:{root=a, b=c}", "static:{x y}"):
            for k in ("root", "b", "zz"):
                a = self.ours(["-q", k, spec])
                b = self.theirs(["-q", k, spec])
                self.assertEqual((a.returncode, a.stdout, a.stderr),
                                 (b.returncode, b.stdout, b.stderr))
            a = self.ours(["-q", "-", spec], input="root\nzz\n")
            b = self.theirs(["-q", "-", spec], input="root\nzz\n")
            self.assertEqual((a.returncode, a.stdout, a.stderr),
                             (b.returncode, b.stdout, b.stderr))


class Pinned(Base):
    def test_build(self):
        self.write("aliases", ALIASES)
        r = self.ours(["aliases"])
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stderr.splitlines(), [
            "postalias: warning: aliases, line 10: need name:value pair",
            "postalias: warning: aliases, line 11: name must be local",
            "postalias: warning: aliases, line 12: name must be local",
            'postalias: warning: aliases.db: duplicate entry: "dup"',
            'postalias: warning: aliases.db: duplicate entry: "dup"',
            "postalias: warning: aliases, line 21: need name:value pair",
            "postalias: warning: aliases, line 22: need name:value pair",
            "postalias: warning: aliases, line 23: need name:value pair",
        ])
        got = self.listing("ours", "hash:aliases", self.dir)
        self.assertEqual(got, sorted([
            "@:\t@",
            "YP_LAST_MODIFIED:\t<stamp>",
            "YP_MASTER_NAME:\tmail.example.com",
            "a b:\tx",
            'b c:\td',
            'c:\t:include:/etc/foo, |"/usr/bin/prog arg", /var/mail/file',
            "d:\te, f g:h",
            "dup:\t1",
            'empty:\t""',
            'foo:\t"bar baz" (comment), <qux@Example.com>',
            "mixed:\t[1.2.3.4], a.b@[ipv6:::1]",
            "owner-list:\tlist-request",
            "tc:\ta, b, ",
            "postmaster:\troot",
            "quoted:\ty",
            "root:\tBob, alice@Example.COM",
            "ws:\tspaced value, other",
            'x"y:\tz',
        ]))

    def test_queries(self):
        self.write("aliases", "Root: bob\nlist: a, b\n")
        self.assertEqual(self.ours(["hash:aliases"]).returncode, 0)
        r = self.ours(["-q", "ROOT", "aliases"])
        self.assertEqual((r.returncode, r.stdout), (0, "bob\n"))
        r = self.ours(["-q", "@", "aliases"])
        self.assertEqual((r.returncode, r.stdout), (0, "@\n"))
        # The NIS entries are stored unfolded: only -f finds them.
        r = self.ours(["-q", "YP_MASTER_NAME", "aliases"])
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        r = self.ours(["-f", "-q", "YP_MASTER_NAME", "aliases"])
        self.assertEqual((r.returncode, r.stdout), (0, "mail.example.com\n"))
        r = self.ours(["-f", "-q", "YP_LAST_MODIFIED", "aliases"])
        self.assertRegex(r.stdout, r"^\d{10}\n$")
        self.assertLessEqual(abs(int(r.stdout) - time.time()), 60)
        r = self.ours(["-q", "-", "aliases"], input="root\nnope\nlist\n")
        self.assertEqual((r.returncode, r.stdout),
                         (0, "root:\tbob\nlist:\ta, b\n"))
        r = self.ours(["-q", "-", "aliases"], input="nope\n")
        self.assertEqual((r.returncode, r.stdout), (1, ""))

    def test_nul_conventions(self):
        # Aliases and "@" follow -N/-n; the NIS entries never have a NUL.
        self.write("aliases", "a: b\n")
        for build, query, a_found in ((["-N"], ["-n"], 1), (["-n"], ["-N"], 1),
                                      (["-N"], ["-N"], 0), ([], ["-N"], 0)):
            self.assertEqual(self.ours(build + ["aliases"]).returncode, 0)
            r = self.ours(query + ["-q", "a", "aliases"])
            self.assertEqual(r.returncode, a_found, (build, query))
            r = self.ours(query + ["-q", "@", "aliases"])
            self.assertEqual(r.returncode, a_found, (build, query))
            r = self.ours(["-n", "-f", "-q", "YP_MASTER_NAME", "aliases"])
            self.assertEqual(r.returncode, 0)
            r = self.ours(["-N", "-f", "-q", "YP_MASTER_NAME", "aliases"])
            self.assertEqual(r.returncode, 1)

    def test_incremental_replaces_signatures(self):
        self.write("aliases", "a: b\n")
        self.assertEqual(self.ours(["aliases"]).returncode, 0)
        r = self.ours(["-i", "aliases"], input="c: d\na: e\n")
        self.assertEqual(r.stderr, 'postalias: warning: aliases.db: '
                         'duplicate entry: "a"\n')
        got = self.listing("ours", "hash:aliases", self.dir)
        self.assertEqual(got, sorted([
            "@:\t@", "YP_LAST_MODIFIED:\t<stamp>",
            "YP_MASTER_NAME:\tmail.example.com", "a:\tb", "c:\td"]))

    def test_errors(self):
        r = self.ours(["nonexistent"])
        self.assertEqual((r.returncode, r.stderr), (1, "postalias: fatal: "
                         "open nonexistent: No such file or directory\n"))
        r = self.ours([])
        self.assertEqual(r.stderr, "postalias: fatal: usage: postalias "
                         "[-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] "
                         "[map_type:]file...\n")
        r = self.ours(["-b", "x"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("postalias: invalid option -- 'b'", r.stderr)


if __name__ == "__main__":
    unittest.main()
