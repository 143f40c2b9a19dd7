"""postlog: the line it writes to maillog_file, its options, and its checks.

No postlogd runs here (test_master.py starts instances), so postlog either
finds a socket the test binds at $queue_directory/public/postlog and sends
the line there, or falls back to appending to maillog_file itself, as
Postfix's does.  Lines are compared with Debian's Postfix 3.7 postlog on
identical configurations, with the time stamp and PID masked, and pinned
exactly (PID included) where the oracle is not needed.  postlog writes to
stderr only when it is a terminal, so those tests give it a pty.
"""
import datetime
import os
import pty
import re
import shutil
import socket
import stat
import subprocess
import time
import unittest

import e2e

LINE = re.compile(r"^([A-Z][a-z]{2}) (\d\d) (\d\d:\d\d:\d\d) (\S+) (.*?)\[(\d+)\]: (.*)$")


def mask(text):
    """Time stamps and PIDs out of log text, for comparing two programs."""
    return re.sub(r"(?m)^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d (\S+ .*?)\[\d+\]: ",
                  r"STAMP \1[PID]: ", text)


def run_tty(argv, env=None, input=None):
    """Run argv with stderr on a terminal: (status, terminal text)."""
    e = dict(os.environ)
    e.pop("MAIL_CONFIG", None)
    if env:
        e.update(env)
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=slave, env=e)
    os.close(slave)
    if input is not None:
        p.stdin.write(input.encode())
    p.stdin.close()
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:         # EIO: the last writer closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    p.wait(timeout=60)
    return p.returncode, out.decode(errors="replace").replace("\r\n", "\n")


class Base(e2e.TempDirTest):
    def setUp(self):
        super().setUp()
        self.conf = self.make_conf(self.dir)

    def make_conf(self, top, extra=""):
        """main.cf under top/etc logging to top/log/maillog; extra lines
        ("name = value") replace or add settings."""
        for d in ("etc", "log", "spool/public"):
            os.makedirs(os.path.join(top, d), exist_ok=True)
        params = {"queue_directory": top + "/spool",
                  "maillog_file": top + "/log/maillog",
                  "maillog_file_prefixes": top,
                  "myhostname": "mx.example.test",
                  "compatibility_level": "3.6"}
        for line in extra.splitlines():
            name, value = line.split("=", 1)
            params[name.strip()] = value.strip()
        with open(os.path.join(top, "etc", "main.cf"), "w") as f:
            f.write("".join("%s = %s\n" % kv for kv in params.items()))
        return os.path.join(top, "etc")

    def log_path(self, conf=None):
        return os.path.join(os.path.dirname(conf or self.conf), "log",
                            "maillog")

    def log(self, conf=None):
        try:
            with open(self.log_path(conf), encoding="utf-8",
                      errors="surrogateescape") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def clear_log(self):
        if os.path.exists(self.log_path()):
            os.truncate(self.log_path(), 0)

    def postlog(self, *args, input=None, exe=None, conf=None):
        """Run postlog -c CONF ARGS: (CompletedProcess, pid)."""
        e = dict(os.environ)
        e.pop("MAIL_CONFIG", None)
        p = subprocess.Popen([exe or e2e.prog("postlog"), "-c",
                              conf or self.conf] + list(args),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=e)
        out, err = p.communicate(input.encode("utf-8", "surrogateescape")
                                 if input is not None else b"", timeout=60)
        return subprocess.CompletedProcess(p.args, p.returncode,
                                           out.decode(), err.decode()), p.pid


class TestLine(Base):
    def test_fallback_line(self):
        """No postlogd: postlog appends "Mon DD HH:MM:SS HOST TAG[PID]: text"."""
        before = datetime.datetime.now().replace(microsecond=0)
        r, pid = self.postlog("hello", "world")
        after = datetime.datetime.now()
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))
        lines = self.log().split("\n")
        self.assertEqual(len(lines), 2, lines)
        self.assertEqual(lines[1], "")
        m = LINE.match(lines[0])
        self.assertIsNotNone(m, lines[0])
        mon, day, hms, host, tag, got_pid, text = m.groups()
        self.assertEqual((host, tag, int(got_pid), text),
                         ("mx", "postfix/postlog", pid, "hello world"))
        # strftime "%b %d": the day has two digits (syslog pads with a space)
        stamp = datetime.datetime.strptime(
            "%d %s %s %s" % (before.year, mon, day, hms), "%Y %b %d %H:%M:%S")
        self.assertTrue(before - datetime.timedelta(seconds=2) <= stamp
                        <= after, (stamp, before, after))
        self.assertEqual(stat.S_IMODE(os.stat(self.log_path()).st_mode), 0o644)

    def test_priorities(self):
        cases = [("info", ""), ("warn", "warning: "), ("warning", "warning: "),
                 ("WARN", "warning: "), ("Error", "error: "),
                 ("crit", "fatal: "), ("fatal", "fatal: "),
                 ("panic", "panic: ")]
        for prio, prefix in cases:
            self.clear_log()
            start = time.monotonic()
            r, pid = self.postlog("-p", prio, "text")
            took = time.monotonic() - start
            # fatal and panic pause a second, then exit 0 (Postfix 3.7)
            self.assertEqual(r.returncode, 0, prio)
            if prefix in ("fatal: ", "panic: "):
                self.assertGreaterEqual(took, 0.9, prio)
            self.assertEqual(
                self.log()[16:],
                "mx postfix/postlog[%d]: %stext\n" % (pid, prefix), prio)

    def test_bad_priority(self):
        r, _ = self.postlog("-p", "bogus", "text")
        self.assertEqual((r.returncode, r.stderr), (1, ""))
        self.assertEqual(self.log(), "")
        status, tty = run_tty([e2e.prog("postlog"), "-c", self.conf, "-t",
                               "foo", "-p", "bogus", "text"])
        self.assertEqual(status, 1)
        self.assertEqual(tty, 'postfix/postlog: fatal: bad severity: "bogus"\n')

    def test_usage(self):
        status, tty = run_tty([e2e.prog("postlog"), "-x"])
        self.assertEqual(status, 1)
        self.assertEqual(tty, "postlog: invalid option -- 'x'\n"
                         "postfix/postlog: fatal: usage: postlog [-c config_dir] "
                         "[-i] [-p priority] [-t tag] [-v] [text]\n")

    def test_tag(self):
        r, pid = self.postlog("-t", "mytag", "-i", "x")
        self.assertEqual(self.log()[16:], "mx mytag[%d]: x\n" % pid)
        self.clear_log()
        r, pid = self.postlog("-t", "", "empty")
        self.assertEqual(self.log()[16:], "mx [%d]: empty\n" % pid)

    def test_syslog_name(self):
        conf = self.make_conf(self.dir, "syslog_name = postfix/submission\n")
        r, pid = self.postlog("x", conf=conf)
        self.assertEqual(self.log()[16:],
                         "mx postfix/submission/postlog[%d]: x\n" % pid)

    def test_options_stop_at_text(self):
        r, pid = self.postlog("hello", "-p", "warn")
        r, pid2 = self.postlog("--", "-dash")
        self.assertEqual(self.log()[16:].split("\n")[0],
                         "mx postfix/postlog[%d]: hello -p warn" % pid)
        self.assertTrue(self.log().endswith(
            "mx postfix/postlog[%d]: -dash\n" % pid2))

    def test_stdin(self):
        """Each line one record: empty lines too, control bytes as '?',
        valid UTF-8 kept, 2000 bytes of a long line, a last partial line."""
        text = ("l1\nl2\n\n\ta\x01\u00e9\udcff\r\n" + "B" * 70000 + "\nlast")
        r, pid = self.postlog("-p", "warn", input=text)
        self.assertEqual(r.returncode, 0)
        head = "mx postfix/postlog[%d]: warning: " % pid
        got = [line[16:] for line in self.log().split("\n")[:-1]]
        self.assertEqual(got, [head + "l1", head + "l2", head,
                               head + "?a?\u00e9??", head + "B" * 2000,
                               head + "last"])

    def test_nul_ends_stdin_record(self):
        r, pid = self.postlog(input="a\x00b\nc\n")
        self.assertEqual([line[16:] for line in self.log().split("\n")[:-1]],
                         ["mx postfix/postlog[%d]: a" % pid,
                          "mx postfix/postlog[%d]: c" % pid])

    def test_no_utf8_below_compatibility_level_1(self):
        conf = self.make_conf(self.dir, "compatibility_level = 0\n")
        r, pid = self.postlog("caf\u00e9", conf=conf)
        self.assertTrue(self.log().endswith(": caf??\n"), self.log())

    def test_tty(self):
        """stderr gets "TAG: text" only when it is a terminal."""
        r, _ = self.postlog("-p", "warn", "quiet")
        self.assertEqual(r.stderr, "")
        status, tty = run_tty([e2e.prog("postlog"), "-c", self.conf, "-t",
                               "tg", "-p", "warn", "on", "tty"])
        self.assertEqual((status, tty), (0, "tg: warning: on tty\n"))
        self.assertRegex(self.log(), r" mx tg\[\d+\]: warning: on tty\n$")


class TestSocket(Base):
    def bind(self):
        path = os.path.join(self.dir, "spool", "public", "postlog")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        s.settimeout(5)
        self.addCleanup(s.close)
        return s, path

    def test_datagram(self):
        """With postlogd's socket there, the line goes there, whole and
        without a newline; the file is not touched."""
        s, _ = self.bind()
        r, pid = self.postlog("-p", "error", "via", "socket")
        self.assertEqual(r.returncode, 0)
        data = s.recv(8192).decode()
        m = LINE.match(data)
        self.assertIsNotNone(m, data)
        self.assertEqual(data[16:],
                         "mx postfix/postlog[%d]: error: via socket" % pid)
        self.assertEqual(self.log(), "")
        self.assertFalse(os.path.exists(self.log_path()))

    def test_stale_socket(self):
        """A socket nobody reads (postlogd gone): the file takes the line."""
        s, _ = self.bind()
        s.close()
        r, pid = self.postlog("stale")
        self.assertEqual(self.log()[16:], "mx postfix/postlog[%d]: stale\n" % pid)

    def test_full_socket(self):
        """A reader that is not reading: postlog never blocks; lines that
        the socket does not take go to the file."""
        s, _ = self.bind()
        text = "".join("line %d\n" % i for i in range(300))
        start = time.monotonic()
        r, pid = self.postlog(input=text)
        self.assertLess(time.monotonic() - start, 20)
        got = []
        s.settimeout(0.2)
        try:
            while True:
                got.append(s.recv(8192).decode()[16:])
        except socket.timeout:
            pass
        got += [line[16:] for line in self.log().split("\n")[:-1]]
        want = ["mx postfix/postlog[%d]: line %d" % (pid, i) for i in range(300)]
        self.assertEqual(sorted(got), sorted(want))
        self.assertNotEqual(self.log(), "")


class TestRefusals(Base):
    def test_prefix_mismatch(self):
        bad = os.path.join(self.dir, "bad.log")
        conf = self.make_conf(self.dir, "maillog_file = %s\n"
                              "maillog_file_prefixes = /var, /dev/stdout\n"
                              % bad)
        r, _ = self.postlog("hello", conf=conf)
        self.assertEqual((r.returncode, r.stderr), (1, ""))
        status, tty = run_tty([e2e.prog("postlog"), "-c", conf, "hello"])
        self.assertEqual(status, 1)
        self.assertEqual(tty, "postfix/postlog: fatal: maillog_file value "
                         "'%s' does not match any prefix in "
                         "maillog_file_prefixes\n" % bad)
        self.assertFalse(os.path.exists(bad))

    def test_prefix_list_forms(self):
        """Comma and white space separate prefixes; a prefix is a string."""
        conf = self.make_conf(self.dir, "maillog_file_prefixes = /nope,\t%s/lo\n"
                              % self.dir)
        r, _ = self.postlog("ok", conf=conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(self.log().endswith(": ok\n"))

    def test_symlink_refused(self):
        target = os.path.join(self.dir, "target")
        with open(target, "w") as f:
            f.write("precious\n")
        os.symlink(target, self.log_path())
        status, tty = run_tty([e2e.prog("postlog"), "-c", self.conf, "x"])
        self.assertEqual(status, 1)
        self.assertEqual(tty, "postfix/postlog: x\npostfix/postlog: fatal: "
                         "open logfile '%s': file is a symbolic link\n"
                         % self.log_path())
        with open(target) as f:
            self.assertEqual(f.read(), "precious\n")

    def test_hard_link_refused(self):
        target = os.path.join(self.dir, "target")
        with open(target, "w") as f:
            f.write("precious\n")
        os.link(target, self.log_path())
        r, _ = self.postlog("x")
        self.assertEqual(r.returncode, 1)
        with open(target) as f:
            self.assertEqual(f.read(), "precious\n")

    def test_bad_facility(self):
        conf = self.make_conf(self.dir, "syslog_facility = bogus\n")
        status, tty = run_tty([e2e.prog("postlog"), "-c", conf, "x"])
        self.assertEqual(status, 1)
        self.assertEqual(tty, "postfix/postlog: fatal: file %s/main.cf: "
                         "parameter syslog_facility: unrecognized value: "
                         "bogus\n" % conf)

    def test_missing_config(self):
        missing = os.path.join(self.dir, "nonexistent")
        status, tty = run_tty([e2e.prog("postlog"), "-c", missing, "x"])
        self.assertEqual((status, tty), (1, "postfix/postlog: fatal: open "
                                         "%s/main.cf: No such file or "
                                         "directory\n" % missing))


class TestOracle(Base):
    """The same configuration and arguments through Debian's postlog."""

    def setUp(self):
        e2e.need_oracle()
        super().setUp()
        self.other = os.path.join(self.dir, "oracle")
        os.makedirs(self.other)

    def both(self, args, input=None, extra=""):
        """Masked log text from ours and from Postfix's, each in its own
        copy of the configuration."""
        out = []
        for exe, top in ((e2e.prog("postlog"), os.path.join(self.dir, "ours")),
                         (e2e.oracle("postlog"), self.other)):
            if os.path.exists(os.path.join(top, "log")):
                shutil.rmtree(os.path.join(top, "log"))
            conf = self.make_conf(top, extra)
            r, _ = self.postlog(*args, input=input, exe=exe, conf=conf)
            out.append((r.returncode, r.stderr,
                        mask(self.log(conf)).replace(top, "TOP")))
        return out

    def test_same_lines(self):
        cases = [
            (["hello", "world"], None, ""),
            (["-p", "warning", "w"], None, ""),
            (["-p", "error", "-t", "custom/tag", "e"], None, ""),
            (["-i", "-p", "Info", "x", "%s %m %n"], None, ""),
            ([], "l1\n\n\ta\x01\u00e9\udcff\r\n" + "C" * 5000 + "\nlast", ""),
            ([], "caf\u00e9\n", "compatibility_level = 0\n"),
            # Postfix 3.7.11 logs a default tag longer than about 20 bytes
            # ("postfix/submission/postlog") as myhostname, a bug not copied.
            (["x"], None, "syslog_name = postfix/sub\n"),
        ]
        for args, input, extra in cases:
            ours, theirs = self.both(args, input, extra)
            self.assertEqual(ours, theirs, (args, input, extra))

    def test_same_datagram(self):
        got = []
        for exe, top in ((e2e.prog("postlog"), os.path.join(self.dir, "ours")),
                         (e2e.oracle("postlog"), self.other)):
            conf = self.make_conf(top)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.bind(os.path.join(top, "spool", "public", "postlog"))
            s.settimeout(5)
            self.postlog("-p", "warn", "to", "postlogd", exe=exe, conf=conf)
            got.append(mask(s.recv(8192).decode()))
            s.close()
        self.assertEqual(got[0], got[1])
        self.assertEqual(got[0], "STAMP mx postfix/postlog[PID]: warning: to "
                         "postlogd")

    def test_same_fatal_texts(self):
        bad = os.path.join(self.dir, "bad.log")
        conf = self.make_conf(self.dir, "maillog_file = %s\n"
                              "maillog_file_prefixes = /nonexistent\n" % bad)
        results = [run_tty([exe, "-c", conf, "x"])
                   for exe in (e2e.prog("postlog"), e2e.oracle("postlog"))]
        self.assertEqual(results[0], results[1])
        results = [run_tty([exe, "-p", "bogus", "x"])
                   for exe in (e2e.prog("postlog"), e2e.oracle("postlog"))]
        self.assertEqual(results[0], results[1])


class TestSetgid(Base):
    """A set-gid postlog run by a user other than root reads only the
    default config directory or one the default main.cf lists."""

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("SKIPPED LOUDLY: needs root to make a set-gid copy "
                          "and switch users")
        if not shutil.which("unshare") or not shutil.which("setpriv"):
            self.skipTest("SKIPPED LOUDLY: needs unshare and setpriv")
        e2e.ensure_users()
        r = e2e.run([e2e.prog("postconf"), "-d", "-h", "config_directory"])
        self.default = r.stdout.strip()
        if r.returncode != 0 or not os.path.isdir(self.default):
            self.skipTest("SKIPPED LOUDLY: the compiled-in config directory "
                          "%r does not exist to mount over" % self.default)
        os.chmod(self.dir, 0o755)
        self.bin = os.path.join(self.dir, "bin")
        os.makedirs(self.bin)
        self.setgid = os.path.join(self.bin, "postlog")
        shutil.copy(e2e.prog("postlog"), self.setgid)
        os.chown(self.setgid, 0, int(subprocess.run(
            ["getent", "group", "postdrop"], capture_output=True,
            text=True).stdout.split(":")[2]))
        os.chmod(self.setgid, 0o2755)
        self.plain = os.path.join(self.bin, "postlog-plain")
        shutil.copy(e2e.prog("postlog"), self.plain)
        os.chmod(self.plain, 0o755)
        # the instances: one listed in the (fake) default main.cf, one not
        self.listed = self.make_conf(os.path.join(self.dir, "listed"))
        self.unlisted = self.make_conf(os.path.join(self.dir, "unlisted"))
        for conf in (self.listed, self.unlisted):
            for d in ("", "etc", "log"):
                os.chmod(os.path.join(os.path.dirname(conf), d), 0o755)
            with open(self.log_path(conf), "w"):
                pass
            os.chmod(self.log_path(conf), 0o666)
        self.fake_etc = os.path.join(self.dir, "default-etc")
        os.makedirs(self.fake_etc)
        with open(os.path.join(self.fake_etc, "main.cf"), "w") as f:
            f.write("alternate_config_directories = /somewhere/else,\n"
                    "    %s\n" % self.listed)
        probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
        if probe.returncode != 0:
            self.skipTest("SKIPPED LOUDLY: unshare -m is not permitted here")

    def run_as(self, user, exe, args, env=None):
        """exe ARGS as user (None: root), with the fake default main.cf
        mounted over the compiled-in config directory."""
        script = 'mount --bind "$1" "$2" || exit 99; shift 2; exec "$@"'
        cmd = ["unshare", "-m", "sh", "-c", script, "sh", self.fake_etc,
               self.default]
        if user:
            cmd += ["setpriv", "--reuid=" + user, "--regid=nogroup",
                    "--clear-groups"]
        return run_tty(cmd + [exe] + args, env=env)

    def test_unlisted_refused(self):
        for how in ("-c", "MAIL_CONFIG"):
            if how == "-c":
                status, tty = self.run_as("nobody", self.setgid,
                                          ["-c", self.unlisted, "x"])
            else:
                status, tty = self.run_as(
                    "nobody", self.setgid, ["x"],
                    env={"MAIL_CONFIG": self.unlisted})
            self.assertEqual(status, 1, how)
            self.assertEqual(
                tty, "postfix/postlog: error: unauthorized configuration "
                "directory name: %s\npostfix/postlog: fatal: specify "
                "\"alternate_config_directories = %s\" or "
                "\"multi_instance_directories = %s\" in %s/main.cf\n"
                % (self.unlisted, self.unlisted, self.unlisted,
                   self.default))
            self.assertEqual(self.log(self.unlisted), "")

    def test_listed_accepted(self):
        with open(self.setgid, "rb") as f:
            if b"__asan_init" in f.read():
                # A set-gid process cannot read its own /proc/self/environ,
                # so ASAN_OPTIONS cannot turn off the leak check that dies.
                self.skipTest("SKIPPED LOUDLY: LeakSanitizer cannot run in a "
                              "set-gid process started by another user")
        status, tty = self.run_as("nobody", self.setgid,
                                  ["-c", self.listed, "listed"])
        self.assertEqual((status, tty), (0, "postfix/postlog: listed\n"))
        self.assertTrue(self.log(self.listed).endswith(": listed\n"))

    def test_root_and_plain_copy_trusted(self):
        status, tty = self.run_as(None, self.setgid,
                                  ["-c", self.unlisted, "root"])
        self.assertEqual(status, 0, tty)
        status, tty = self.run_as("nobody", self.plain,
                                  ["-c", self.unlisted, "plain"])
        self.assertEqual(status, 0, tty)
        self.assertEqual([line.split("]: ")[1] for line in
                          self.log(self.unlisted).split("\n")[:-1]],
                         ["root", "plain"])


if __name__ == "__main__":
    unittest.main()
