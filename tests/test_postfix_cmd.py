"""The postfix command and postmulti, end to end, without the real master.

Each test builds a private instance in its temporary directory: etc/
(main.cf, master.cf), libexec/ with a fake master (a small Python script
that implements -t, -w, -s the way master does: a PID file in
pid/master.pid, SIGTERM stops it, SIGHUP is noted), bin/ with links to our
postfix and postmulti, and spool/, data/, log.  The texts expected are
Postfix 3.7's postfix-script, postqueue and postmulti messages, observed
with Debian's Postfix; one test compares "postfix check" warnings with the
oracle directly.

Messages go to stderr only when it is a terminal (as postfix-script's
postlog does), so tests that look at them give the command a pty.  Every
test needs root (ensure_users: the postfix user and postdrop group).
"""
import grp
import json
import os
import pty
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
import unittest

import e2e

USAGE = ("Usage: postfix start (or stop, reload, abort, flush, check, "
         "status, set-permissions, upgrade-configuration, logrotate)")

POSTLOG = "postlog   unix-dgram n  -       n       -       1       postlogd\n"
MASTER_CF = POSTLOG + "pickup    unix  n       -       n       60      1       pickup\n"

FAKE_MASTER = r'''#!/usr/bin/python3
# A stand-in for master: -t, -w, -s as master(8) implements them.
import json, os, signal, sys, time
TOP = %(top)r
PIDFILE = "pid/master.pid"          # master runs in queue_directory

def note(*words):
    with open(os.path.join(TOP, "calls"), "a") as f:
        f.write(" ".join(words) + "\n")

def running():
    try:
        with open(PIDFILE) as f:
            pid = int(f.readline())
        with open("/proc/%%d/stat" %% pid) as f:
            return f.read().split()[2] != "Z"
    except (OSError, ValueError):
        return False

def serve():
    def term(sig, frame):
        if os.path.exists(os.path.join(TOP, "ignore-term")):
            note("TERM ignored")
            return
        note("TERM")
        os.unlink(PIDFILE)
        sys.exit(0)
    signal.signal(signal.SIGTERM, term)
    signal.signal(signal.SIGHUP, lambda s, f: note("HUP"))
    with open(PIDFILE, "w") as f:
        f.write("%%32d\n" %% os.getpid())
    while True:
        signal.pause()

args = sys.argv[1:]
note("master", *args)
with open(os.path.join(TOP, "env" + args[0]), "w") as f:
    json.dump({"env": dict(os.environ), "cwd": os.getcwd()}, f)
if args[0] == "-t":
    sys.exit(1 if running() else 0)
if args[0] == "-w":
    if os.path.exists(os.path.join(TOP, "fail-start")):
        sys.exit(1)
    if os.fork() == 0:
        os.setsid()
        fd = os.open("/dev/null", os.O_RDWR)
        for i in (0, 1, 2):
            os.dup2(fd, i)
        serve()
    for i in range(200):
        if running():
            sys.exit(0)
        time.sleep(0.05)
    sys.exit(1)
if args[0] in ("-s", "-i"):
    serve()
sys.exit(2)
'''


def run_tty(argv, env=None, user=None, timeout=60):
    """Run argv with stderr on a pty; (exit status, stdout, stderr text)."""
    e = dict(os.environ)
    e.pop("MAIL_CONFIG", None)
    if env:
        e.update(env)
    master, slave = pty.openpty()

    def drop():
        if user is not None:
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=slave, env=e,
                         preexec_fn=drop)
    os.close(slave)
    err = b""
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        err += data
    os.close(master)
    out = p.stdout.read().decode()
    p.stdout.close()
    rc = p.wait(timeout=timeout)
    return rc, out, err.decode().replace("\r\n", "\n")


class PostfixCmdTest(e2e.TempDirTest):
    """A private instance with a fake master; see the module text."""

    def setUp(self):
        super().setUp()
        e2e.ensure_users()
        os.chmod(self.dir, 0o755)
        self.top = self.dir
        self.conf = os.path.join(self.top, "etc")
        self.queue = os.path.join(self.top, "spool")
        self.data = os.path.join(self.top, "data")
        self.libexec = os.path.join(self.top, "libexec")
        self.bin = os.path.join(self.top, "bin")
        self.maillog = os.path.join(self.top, "log")
        for d in (self.conf, self.libexec, self.bin):
            os.makedirs(d)
        master = os.path.join(self.libexec, "master")
        with open(master, "w") as f:
            f.write(FAKE_MASTER % {"top": self.top})
        os.chmod(master, 0o755)
        for name in ("postfix", "postmulti"):
            os.symlink(e2e.prog(name), os.path.join(self.bin, name))
        self.main_cf("")
        self.master_cf(MASTER_CF)
        self.addCleanup(self.kill_master)

    def main_cf(self, extra, compat=True, maillog=True):
        text = ("queue_directory = %s\ndata_directory = %s\n"
                "daemon_directory = %s\ncommand_directory = %s\n"
                "meta_directory = %s\nsendmail_path = %s/sendmail\n"
                % (self.queue, self.data, self.libexec, self.bin, self.conf,
                   self.bin))
        if maillog:
            text += ("maillog_file = %s\nmaillog_file_prefixes = %s\n"
                     % (self.maillog, self.top))
        if compat:
            text += "compatibility_level = 3.6\n"
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(text + extra)

    def master_cf(self, text):
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(text)

    def postfix(self, *args, env=None):
        return run_tty([e2e.prog("postfix"), "-c", self.conf] + list(args),
                       env=env)

    def postfix_notty(self, *args, env=None):
        return e2e.run([e2e.prog("postfix"), "-c", self.conf] + list(args),
                       env=env)

    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def calls(self):
        try:
            with open(os.path.join(self.top, "calls")) as f:
                return f.read().splitlines()
        except OSError:
            return []

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def kill_master(self):
        """Kill a fake master left behind (only ours: check its command)."""
        pid = self.master_pid()
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if self.libexec.encode() in f.read():
                    os.kill(pid, signal.SIGKILL)
        except (OSError, TypeError):
            pass

    def assertLogLine(self, text):
        """A maillog_file line "Mon DD HH:MM:SS HOST TAG[PID]: text"."""
        pat = (r"^[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \S+ "
               r"postfix/postfix-script\[\d+\]: " + re.escape(text) + "$")
        self.assertRegex(self.log(), re.compile(pat, re.M))

    def mode_owner(self, path):
        st = os.lstat(path)
        return (stat.S_IMODE(st.st_mode), pwd.getpwuid(st.st_uid).pw_name,
                grp.getgrgid(st.st_gid).gr_name)


class CommandLineTest(PostfixCmdTest):
    def test_unknown_command(self):
        os.makedirs(self.queue)
        rc, out, err = self.postfix("bogus")
        self.assertEqual(rc, 1)
        want = "fatal: unknown command: 'bogus'. " + USAGE
        self.assertEqual(err, "postfix/postfix-script: %s\n" % want)
        self.assertLogLine(want)
        # No terminal, no message: but the exit status still says it.
        r = self.postfix_notty("bogus")
        self.assertEqual((r.returncode, r.stderr), (1, ""))

    def test_no_command(self):
        os.makedirs(self.queue)
        rc, out, err = self.postfix()
        self.assertEqual(rc, 1)
        self.assertEqual(err, "postfix/postfix-script: fatal: unknown "
                         "command: ''. " + USAGE + "\n")

    def test_bad_option(self):
        rc, out, err = self.postfix("-x", "status")
        self.assertEqual(rc, 1)
        self.assertIn("invalid option -- 'x'\n", err)
        self.assertTrue(err.endswith(
            "postfix: fatal: usage: postfix [-c config_dir] [-Dv] command\n"),
            err)

    def test_not_root(self):
        nobody = pwd.getpwnam("nobody")
        try:
            rc, out, err = run_tty([e2e.prog("postfix"), "-c", self.conf,
                                    "status"], user=nobody)
        except PermissionError:
            self.skipTest("SKIPPED LOUDLY: user nobody cannot run %s"
                          % e2e.prog("postfix"))
        self.assertEqual(rc, 1)
        self.assertEqual(err, "postfix: error: to submit mail, use the "
                         "Postfix sendmail command\npostfix: fatal: the "
                         "postfix command is reserved for the superuser\n")

    def test_missing_config(self):
        rc, out, err = run_tty([e2e.prog("postfix"), "-c",
                                os.path.join(self.top, "nothere"), "status"])
        self.assertEqual(rc, 1)
        self.assertEqual(err, "postfix: fatal: open %s/nothere/main.cf: No "
                         "such file or directory\n" % self.top)

    def test_missing_queue_directory(self):
        # As Postfix: only the commands that create directories make it.
        for cmd in ("status", "bogus", "flush"):
            rc, out, err = self.postfix(cmd)
            self.assertEqual(rc, 1)
            self.assertEqual(err, "postfix: fatal: chdir(%s): No such file "
                             "or directory\n" % self.queue)
        self.assertFalse(os.path.exists(self.queue))

    def test_missing_master(self):
        os.unlink(os.path.join(self.libexec, "master"))
        os.makedirs(self.queue)
        rc, out, err = self.postfix("status")
        self.assertEqual(rc, 1)
        self.assertEqual(err, "postfix/postfix-script: fatal: no Postfix "
                         "master program %s/master!\n" % self.libexec)

    def test_compatibility_notice(self):
        os.makedirs(self.queue)
        self.main_cf("", compat=False)
        rc, out, err = self.postfix("status")
        self.assertEqual(rc, 1)
        self.assertEqual(err.splitlines()[:3], [
            "postfix: Postfix is using backwards-compatible default settings",
            "postfix: See http://www.postfix.org/COMPATIBILITY_README.html "
            "for details",
            "postfix: To disable backwards compatibility use \"postconf "
            "compatibility_level=3.6\" and \"postfix reload\""])
        self.assertRegex(self.log(), re.compile(
            r" postfix\[\d+\]: Postfix is using backwards-compatible", re.M))

    def test_syslog_name(self):
        os.makedirs(self.queue)
        self.main_cf("syslog_name = postfix-a\n")
        rc, out, err = self.postfix("status")
        self.assertEqual(err, "postfix-a/postfix-script: the Postfix mail "
                         "system is not running\n")


class MasterControlTest(PostfixCmdTest):
    def setUp(self):
        super().setUp()
        os.makedirs(self.queue)

    def test_not_running(self):
        rc, out, err = self.postfix("status")
        self.assertEqual((rc, err), (1, "postfix/postfix-script: the Postfix "
                                     "mail system is not running\n"))
        self.assertLogLine("the Postfix mail system is not running")
        for cmd in ("stop", "abort", "reload", "drain"):
            rc, out, err = self.postfix(cmd)
            self.assertEqual((rc, err), (1, "postfix/postfix-script: fatal: "
                                         "the Postfix mail system is not "
                                         "running\n"), cmd)
        # master -t only: nothing was signalled or started.
        self.assertEqual(set(self.calls()), {"master -t"})

    def test_start_status_reload_stop(self):
        rc, out, err = self.postfix("start")
        self.assertEqual((rc, err), (0, "postfix/postfix-script: starting "
                                     "the Postfix mail system\n"))
        self.assertIn("master -w", self.calls())
        pid = self.master_pid()
        self.assertIsNotNone(pid)

        rc, out, err = self.postfix("status")
        self.assertEqual((rc, err), (0, "postfix/postfix-script: the Postfix "
                                     "mail system is running: PID: %d\n"
                                     % pid))
        rc, out, err = self.postfix("start")
        self.assertEqual((rc, err), (1, "postfix/postfix-script: fatal: the "
                                     "Postfix mail system is already "
                                     "running\n"))
        rc, out, err = self.postfix("reload")
        self.assertEqual((rc, err), (0, "postfix/postfix-script: refreshing "
                                     "the Postfix mail system\n"))
        deadline = time.time() + 5
        while "HUP" not in self.calls() and time.time() < deadline:
            time.sleep(0.05)
        self.assertIn("HUP", self.calls())

        rc, out, err = self.postfix("stop")
        self.assertEqual(rc, 0)
        self.assertTrue(err.startswith("postfix/postfix-script: stopping "
                                       "the Postfix mail system\n"), err)
        self.assertIn("TERM", self.calls())
        self.assertFalse(os.path.exists("/proc/%d/cmdline" % pid)
                         and open("/proc/%d/stat" % pid).read().split()[2]
                         != "Z")
        self.assertEqual(self.postfix("status")[0], 1)

    def test_stop_with_force(self):
        self.assertEqual(self.postfix("start")[0], 0)
        pid = self.master_pid()
        open(os.path.join(self.top, "ignore-term"), "w").close()
        rc, out, err = self.postfix("stop")
        self.assertEqual(rc, 0)
        prefix = "postfix/postfix-script: "
        self.assertEqual(err.splitlines(), [
            prefix + "stopping the Postfix mail system"] +
            [prefix + "waiting for the Postfix mail system to terminate"] * 5
            + [prefix + "warning: stopping the Postfix mail system with "
               "force"])
        # kill -9 went to master's process group.
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                with open("/proc/%d/stat" % pid) as f:
                    if f.read().split()[2] == "Z":
                        break
            except OSError:
                break
            time.sleep(0.05)
        else:
            self.fail("master %d survived kill -9" % pid)

    def test_abort(self):
        self.assertEqual(self.postfix("start")[0], 0)
        rc, out, err = self.postfix("abort")
        self.assertEqual((rc, err), (0, "postfix/postfix-script: aborting "
                                     "the Postfix mail system\n"))

    def test_startup_failed(self):
        open(os.path.join(self.top, "fail-start"), "w").close()
        rc, out, err = self.postfix("start")
        self.assertEqual(rc, 1)
        self.assertEqual(err, "postfix/postfix-script: starting the Postfix "
                         "mail system\npostfix/postfix-script: fatal: mail "
                         "system startup failed\n")

    def test_debug_and_environment(self):
        rc, out, err = self.postfix("-D", "start",
                                    env={"FOO": "bar", "TZ": "UTC"})
        self.assertEqual(rc, 0, err)
        self.assertIn("master -w -D", self.calls())
        with open(os.path.join(self.top, "env-w")) as f:
            seen = json.load(f)
        env = seen["env"]
        self.assertEqual(os.path.realpath(seen["cwd"]),
                         os.path.realpath(self.queue))
        self.assertEqual(env["MAIL_CONFIG"], self.conf)
        self.assertEqual(env["MAIL_LOGTAG"], "postfix")
        self.assertEqual(env["MAIL_DEBUG"], "")
        self.assertEqual(env["PATH"], "/bin:/usr/bin:/sbin:/usr/sbin")
        self.assertEqual(env["LANG"], "C")
        self.assertEqual(env["TZ"], "UTC")
        self.assertEqual(env["POSTLOG_SERVICE"],
                         self.queue + "/public/postlog")
        self.assertNotIn("FOO", env)

    def test_start_fg(self):
        p = subprocess.Popen([e2e.prog("postfix"), "-c", self.conf,
                              "start-fg"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 10
            while self.master_pid() is None and time.time() < deadline:
                time.sleep(0.05)
            self.assertIsNotNone(self.master_pid())
            self.assertIn("master -s", self.calls())
            # A supervisor's SIGTERM to postfix reaches master.
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(timeout=10), 0)
            self.assertIn("TERM", self.calls())
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()

    def test_quick_stop_skips_next_check(self):
        self.assertEqual(self.postfix("start")[0], 0)
        self.assertEqual(self.postfix("quick-stop")[0], 0)
        self.assertTrue(os.path.exists(os.path.join(self.queue,
                                                    "quick-start")))
        # The check would fail (no master.cf); quick-start skips it once.
        os.unlink(os.path.join(self.conf, "master.cf"))
        self.assertEqual(self.postfix("start")[0], 0)
        self.assertFalse(os.path.exists(os.path.join(self.queue,
                                                     "quick-start")))
        self.assertEqual(self.postfix("stop")[0], 0)
        rc, out, err = self.postfix("start")
        self.assertEqual(rc, 1)
        self.assertIn("fatal: Postfix integrity check failed!", err)


QUEUE_DIRS = {
    "active": (0o700, "postfix", None), "bounce": (0o700, "postfix", None),
    "corrupt": (0o700, "postfix", None), "defer": (0o700, "postfix", None),
    "deferred": (0o700, "postfix", None), "flush": (0o700, "postfix", None),
    "hold": (0o700, "postfix", None), "incoming": (0o700, "postfix", None),
    "private": (0o700, "postfix", None), "saved": (0o700, "postfix", None),
    "trace": (0o700, "postfix", None),
    "maildrop": (0o730, "postfix", "postdrop"),
    "public": (0o710, "postfix", "postdrop"),
    "pid": (0o755, "root", None),
}


class CheckTest(PostfixCmdTest):
    def assertQueue(self):
        mode, owner, group = self.mode_owner(self.queue)
        self.assertEqual((mode, owner), (0o755, "root"))
        for name, (mode, owner, group) in QUEUE_DIRS.items():
            got = self.mode_owner(os.path.join(self.queue, name))
            self.assertEqual(got[:2], (mode, owner), name)
            if group:
                self.assertEqual(got[2], group, name)
        self.assertEqual(self.mode_owner(self.data)[:2], (0o700, "postfix"))

    def test_check_creates_missing_directories(self):
        rc, out, err = self.postfix("check")
        self.assertEqual((rc, err), (0, ""))
        self.assertQueue()
        # Existing directories are left as they are: check only warns.
        shutil.rmtree(os.path.join(self.queue, "hold"))
        os.chmod(os.path.join(self.queue, "incoming"), 0o750)
        self.assertEqual(self.postfix("check")[0], 0)
        self.assertEqual(self.mode_owner(os.path.join(self.queue, "hold")),
                         (0o700, "postfix", "root"))
        self.assertEqual(self.mode_owner(
            os.path.join(self.queue, "incoming"))[0], 0o750)

    def test_check_warnings(self):
        self.assertEqual(self.postfix("check")[0], 0)
        q, d, c = self.queue, self.data, self.conf
        nobody = pwd.getpwnam("nobody").pw_uid
        os.chown(os.path.join(q, "pid"), nobody, -1)
        os.chmod(os.path.join(q, "pid"), 0o775)
        os.chown(os.path.join(q, "hold"), nobody, -1)
        os.chown(os.path.join(q, "public"), -1, 0)
        os.chown(d, nobody, -1)
        os.chmod(os.path.join(c, "main.cf"), 0o664)
        open(os.path.join(q, "corrupt", "ABCDEF"), "w").close()
        os.symlink("/etc/hosts", os.path.join(c, "hosts"))
        os.makedirs(os.path.join(q, "etc"))
        with open(os.path.join(q, "etc", "hosts"), "w") as f:
            f.write("# not the system's hosts file\n")
        rc, out, err = self.postfix("check")
        self.assertEqual(rc, 0)
        w = "postfix/postfix-script: warning: "
        self.assertEqual(err.splitlines(), [
            w + "not owned by root: %s/pid" % q,
            w + "group or other writable: %s/pid" % q,
            w + "group or other writable: %s/./main.cf" % c,
            w + "symlink leaves directory: %s/./hosts" % c,
            w + "not owned by postfix: %s/." % d,
            w + "not owned by postfix: %s/corrupt/ABCDEF" % q,
            w + "not owned by postfix: %s/hold" % q,
            w + "not owned by group postdrop: %s/public" % q,
            w + "%s/etc/hosts and /etc/hosts differ" % q,
            w + "damaged message: corrupt/ABCDEF",
        ])
        self.assertLogLine("warning: not owned by postfix: %s/hold" % q)

    def test_check_warnings_match_postfix(self):
        """The same broken tree gives the same warnings as Postfix's check."""
        e2e.need_oracle()
        trees = {}
        for who in ("ours", "oracle"):
            top = os.path.join(self.top, who)
            conf, queue, data = (os.path.join(top, n)
                                 for n in ("etc", "q", "data"))
            os.makedirs(conf)
            with open(os.path.join(conf, "master.cf"), "w") as f:
                f.write(MASTER_CF)
            main = ("queue_directory = %s\ndata_directory = %s\n"
                    "compatibility_level = 3.6\n" % (queue, data))
            if who == "ours":
                main += ("daemon_directory = %s\ncommand_directory = %s\n"
                         "meta_directory = %s\n"
                         % (self.libexec, self.bin, conf))
            with open(os.path.join(conf, "main.cf"), "w") as f:
                f.write(main)
            os.makedirs(queue)
            trees[who] = (top, conf, queue, data)
        nobody = pwd.getpwnam("nobody").pw_uid
        outputs = {}
        for who, (top, conf, queue, data) in trees.items():
            prog = e2e.prog("postfix") if who == "ours" else \
                e2e.oracle("postfix")
            self.assertEqual(run_tty([prog, "-c", conf, "check"])[0], 0, who)
            # Damage that Postfix's postsuper (run by its check) tolerates.
            os.chown(os.path.join(queue, "pid"), nobody, -1)
            os.chmod(os.path.join(queue, "pid"), 0o777)
            os.chmod(queue, 0o775)
            os.chown(os.path.join(queue, "public"), -1, 0)
            os.chown(os.path.join(queue, "maildrop"), -1, 0)
            os.chown(os.path.join(queue, "saved"), nobody, -1)
            os.chown(data, nobody, -1)
            os.chmod(data, 0o777)
            open(os.path.join(data, "f"), "w").close()
            os.chmod(os.path.join(conf, "main.cf"), 0o666)
            os.symlink("/etc/hosts", os.path.join(conf, "link"))
            os.symlink("nowhere", os.path.join(conf, "dangling"))
            for n in ("ABC", "DEF"):
                open(os.path.join(queue, "corrupt", n), "w").close()
            os.makedirs(os.path.join(queue, "etc"))
            with open(os.path.join(queue, "etc", "services"), "w") as f:
                f.write("x\n")
            rc, out, err = run_tty([prog, "-c", conf, "check"])
            self.assertEqual(rc, 0, who + ": " + err)
            outputs[who] = [line.replace(top, "TOP")
                            for line in err.splitlines()
                            if "warning:" in line and
                            (top in line or "damaged" in line)]
        self.assertEqual(outputs["ours"], outputs["oracle"])
        self.assertTrue(len(outputs["ours"]) >= 10, outputs["ours"])

    def test_cannot_create_directories(self):
        self.main_cf("data_directory = %s/no/such/dir\n" % self.top)
        rc, out, err = self.postfix("check")
        self.assertEqual(rc, 1)
        self.assertEqual(err, "postfix: warning: %s/etc/main.cf, line 10: "
                         "overriding earlier entry: data_directory=%s\n"
                         "postfix/postfix-script: warning: cannot create "
                         "directory %s/no/such/dir: No such file or "
                         "directory\npostfix/postfix-script: fatal: unable "
                         "to create missing queue directories\n"
                         % (self.top, self.data, self.top))

    def test_no_master_cf(self):
        os.unlink(os.path.join(self.conf, "master.cf"))
        rc, out, err = self.postfix("check")
        self.assertEqual((rc, err), (1, "postfix/postfix-script: fatal: no "
                                     "%s/master.cf file found\n" % self.conf))
        rc, out, err = self.postfix("start")
        self.assertEqual(rc, 1)
        self.assertEqual(err, "postfix/postfix-script: fatal: no %s/master.cf"
                         " file found\npostfix/postfix-script: fatal: Postfix "
                         "integrity check failed!\n" % self.conf)
        self.assertNotIn("master -w", self.calls())

    def test_missing_postlog_service(self):
        self.master_cf("pickup    unix  n       -       n       60      1"
                       "       pickup\n")
        rc, out, err = self.postfix("check")
        self.assertEqual((rc, err), (1, "postfix/postfix-script: fatal: "
                                     "missing 'postlog' service in master.cf"
                                     " - run 'postfix upgrade-configuration'"
                                     "\n"))
        # Without maillog_file there is nothing to complain about.
        self.main_cf("", maillog=False)
        self.assertEqual(self.postfix("check")[0], 0)

    def test_broken_master_cf(self):
        self.master_cf(POSTLOG + "pickup unix n - n 60 1\n")
        rc, out, err = self.postfix("check")
        self.assertEqual(rc, 1)
        self.assertIn("%s/master.cf: line 2: " % self.conf, err)

    def test_set_permissions(self):
        self.assertEqual(self.postfix("check")[0], 0)
        q = self.queue
        nobody = pwd.getpwnam("nobody").pw_uid
        os.chown(os.path.join(q, "active"), nobody, -1)
        os.makedirs(os.path.join(q, "active", "A"))
        with open(os.path.join(q, "active", "A", "QFILE"), "w") as f:
            f.write("x")
        os.chmod(os.path.join(q, "active", "A", "QFILE"), 0o744)
        os.chown(os.path.join(q, "active", "A"), nobody, -1)
        os.chown(os.path.join(q, "active", "A", "QFILE"), nobody, -1)
        os.chmod(os.path.join(q, "active", "A"), 0o755)
        os.chmod(os.path.join(q, "pid"), 0o777)
        os.chown(os.path.join(q, "public"), -1, 0)
        os.chmod(os.path.join(q, "maildrop"), 0o1770)
        os.chown(self.data, nobody, -1)
        os.chmod(os.path.join(self.conf, "main.cf"), 0o666)
        # Installed commands: copies, so that the build is not touched.
        for name, src in (("postlog", "postfix"), ("postconf", "postfix")):
            shutil.copy(e2e.prog(src), os.path.join(self.bin, name))
            os.chmod(os.path.join(self.bin, name), 0o700)
        rc, out, err = self.postfix("set-permissions")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(self.mode_owner(os.path.join(q, "active"))[:2],
                         (0o700, "postfix"))
        self.assertEqual(self.mode_owner(os.path.join(q, "active", "A"))[:2],
                         (0o700, "postfix"))
        # Queue files change owner, not mode (their mode bits mean things).
        self.assertEqual(self.mode_owner(
            os.path.join(q, "active", "A", "QFILE"))[:2], (0o744, "postfix"))
        self.assertEqual(self.mode_owner(os.path.join(q, "pid"))[0], 0o755)
        self.assertEqual(self.mode_owner(os.path.join(q, "public")),
                         (0o710, "postfix", "postdrop"))
        # Debian's sticky maildrop (1730) keeps its sticky bit.
        self.assertEqual(self.mode_owner(os.path.join(q, "maildrop")),
                         (0o1730, "postfix", "postdrop"))
        self.assertEqual(self.mode_owner(self.data)[:2], (0o700, "postfix"))
        self.assertEqual(self.mode_owner(
            os.path.join(self.conf, "main.cf"))[:2], (0o644, "root"))
        self.assertEqual(self.mode_owner(os.path.join(self.bin, "postlog")),
                         (0o2755, "root", "postdrop"))
        self.assertEqual(self.mode_owner(
            os.path.join(self.bin, "postconf"))[:2], (0o755, "root"))
        # And now check is quiet.
        self.assertEqual(self.postfix("check"), (0, "", ""))
        self.assertEqual(self.postfix("set-permissions", "x=y")[0], 1)


class PrivilegeTest(PostfixCmdTest):
    def setUp(self):
        super().setUp()
        os.makedirs(self.queue)

    def fatal(self, extra):
        self.main_cf(extra)
        rc, out, err = self.postfix("check")
        self.assertEqual(rc, 1)
        # Nothing was created for an unsafe setup.
        self.assertFalse(os.path.exists(os.path.join(self.queue, "active")))
        return err

    def want(self, text):
        return "postfix: fatal: file %s/main.cf: %s\n" % (self.conf, text)

    def test_mail_owner_root(self):
        self.assertEqual(self.fatal("mail_owner = root\n"), self.want(
            "parameter mail_owner: user root has privileged user ID"))

    def test_mail_owner_unknown(self):
        self.assertEqual(self.fatal("mail_owner = nosuchuser\n"), self.want(
            "parameter mail_owner: unknown user name value: nosuchuser"))

    def test_setgid_group(self):
        self.assertEqual(self.fatal("setgid_group = root\n"), self.want(
            "parameter setgid_group: group root has privileged group ID"))
        self.assertEqual(self.fatal("setgid_group = nosuchgroup\n"),
                         self.want("parameter setgid_group: unknown group "
                                   "name: nosuchgroup"))
        pf = pwd.getpwnam("postfix")
        group = grp.getgrgid(pf.pw_gid).gr_name
        self.assertEqual(self.fatal("setgid_group = %s\n" % group), self.want(
            "parameters mail_owner and setgid_group: user postfix and group "
            "%s have the same group ID: %d" % (group, pf.pw_gid)))

    def test_default_privs(self):
        self.assertEqual(self.fatal("default_privs = postfix\n"), self.want(
            "parameters default_privs and mail_owner specify the same user "
            "postfix"))
        self.assertEqual(self.fatal("default_privs = root\n"), self.want(
            "parameter default_privs: user root has privileged user ID"))

    def test_empty_mail_owner(self):
        self.assertEqual(self.fatal("mail_owner =\n"),
                         "postfix: fatal: bad string length 0 < 1: "
                         "mail_owner = \n")

    def test_shared_uid(self):
        """An account created after postfix with postfix's uid."""
        name = "pfdup%d" % os.getpid()
        pf = pwd.getpwnam("postfix")
        subprocess.run(["useradd", "-o", "-u", str(pf.pw_uid), "-g",
                        str(pf.pw_gid), "-M", "-N", "-d", "/nonexistent",
                        "-s", "/usr/sbin/nologin", name], check=True,
                       capture_output=True)
        self.addCleanup(subprocess.run, ["userdel", name],
                        capture_output=True)
        self.assertEqual(self.fatal("mail_owner = %s\n" % name), self.want(
            "parameter mail_owner: user %s has same user ID as postfix"
            % name))


CHROOT_FILES = ("etc/localtime", "etc/services", "etc/resolv.conf",
                "etc/hosts", "etc/host.conf", "etc/nsswitch.conf",
                "etc/nss_mdns.config")


class ChrootTest(PostfixCmdTest):
    def test_chroot_copies(self):
        self.master_cf(MASTER_CF + "smtp      inet  n       -       y       "
                       "-       -       smtpd\n")
        rc, out, err = self.postfix("check")
        self.assertEqual((rc, err), (0, ""))
        copied = 0
        for rel in CHROOT_FILES:
            src, dst = "/" + rel, os.path.join(self.queue, rel)
            if not os.path.isfile(src):
                self.assertFalse(os.path.exists(dst), rel)
                continue
            copied += 1
            with open(src, "rb") as a, open(dst, "rb") as b:
                self.assertEqual(a.read(), b.read(), rel)
            st = os.stat(src)
            mode = (stat.S_IMODE(st.st_mode) & 0o755) | 0o444
            if mode & 0o111:
                mode |= 0o111
            self.assertEqual(self.mode_owner(dst), (mode, "root", "root"),
                             rel)
        self.assertGreater(copied, 0)
        link = os.path.join(self.queue, "usr/lib/zoneinfo/localtime")
        self.assertEqual(os.readlink(link), "/etc/localtime")
        if os.path.exists("/dev/urandom"):
            st = os.lstat(os.path.join(self.queue, "dev/urandom"))
            self.assertTrue(stat.S_ISCHR(st.st_mode))
            self.assertEqual(st.st_rdev, os.stat("/dev/urandom").st_rdev)
        # A changed system file is copied again at the next check.
        with open(os.path.join(self.queue, "etc/services"), "w") as f:
            f.write("stale\n")
        self.assertEqual(self.postfix("check"), (0, "", ""))
        with open("/etc/services", "rb") as a, \
                open(os.path.join(self.queue, "etc/services"), "rb") as b:
            self.assertEqual(a.read(), b.read())

    def test_chroot_passwd(self):
        """unix:passwd.byname read in the jail gets a password-less copy."""
        self.master_cf(MASTER_CF + "smtp      inet  n       -       y       "
                       "-       -       smtpd\n")
        self.main_cf("local_recipient_maps = unix:passwd.byname\n")
        self.assertEqual(self.postfix("check")[0], 0)
        with open("/etc/passwd") as f:
            want = [re.sub(r"^([^:]*):[^:]*", r"\1:x", line)
                    for line in f.read().splitlines()]
        with open(os.path.join(self.queue, "etc/passwd")) as f:
            self.assertEqual(f.read().splitlines(), want)
        self.assertEqual(self.mode_owner(
            os.path.join(self.queue, "etc/passwd"))[0], 0o644)
        # Through proxymap (the default) the jail needs no copy.
        shutil.rmtree(os.path.join(self.queue, "etc"))
        self.main_cf("")
        self.assertEqual(self.postfix("check")[0], 0)
        self.assertFalse(os.path.exists(os.path.join(self.queue,
                                                     "etc/passwd")))

    def test_chroot_default_by_compatibility_level(self):
        # "-" means chroot below compatibility_level 1.
        self.master_cf(MASTER_CF + "smtp      inet  n       -       -       "
                       "-       -       smtpd\n")
        self.assertEqual(self.postfix("check")[0], 0)
        self.assertFalse(os.path.exists(os.path.join(self.queue, "etc")))
        self.main_cf("compatibility_level = 0\n")
        self.assertEqual(self.postfix("check")[0], 0)
        self.assertTrue(os.path.isfile(os.path.join(self.queue,
                                                    "etc/services")))

    def test_no_chroot_no_copies(self):
        self.assertEqual(self.postfix("check")[0], 0)
        self.assertFalse(os.path.exists(os.path.join(self.queue, "etc")))


class FlushTest(PostfixCmdTest):
    def setUp(self):
        super().setUp()
        self.assertEqual(self.postfix("check")[0], 0)

    def test_flush_when_down(self):
        # postqueue's texts, on stderr even without a terminal; exit 69.
        r = self.postfix_notty("flush")
        self.assertEqual(r.returncode, 69)
        self.assertEqual(r.stderr, "postqueue: warning: unable to look up "
                         "public/qmgr: No such file or directory\npostqueue: "
                         "fatal: Cannot flush mail queue - mail system is "
                         "down\n")
        # A socket nobody listens on: no warning, same failure.
        path = os.path.join(self.queue, "public", "qmgr")
        s = socket.socket(socket.AF_UNIX)
        s.bind(path)
        s.close()
        r = self.postfix_notty("flush")
        self.assertEqual((r.returncode, r.stderr), (69, "postqueue: fatal: "
                         "Cannot flush mail queue - mail system is down\n"))

    def test_flush_sockets(self):
        socks = {}
        for name in ("qmgr", "pickup"):
            s = socket.socket(socket.AF_UNIX)
            s.bind(os.path.join(self.queue, "public", name))
            s.listen(5)
            s.settimeout(10)
            self.addCleanup(s.close)
            socks[name] = s
        r = self.postfix_notty("flush")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        got = {}
        for name, s in socks.items():
            c, _ = s.accept()
            c.settimeout(10)
            data = b""
            while True:
                chunk = c.recv(100)
                if not chunk:
                    break
                data += chunk
            c.close()
            got[name] = data
        # Postfix 3.7's postqueue -f: flush dead, all, deferred, incoming.
        self.assertEqual(got, {"qmgr": b"FADI", "pickup": b"W"})

    def test_flush_fifo(self):
        path = os.path.join(self.queue, "public", "qmgr")
        os.mkfifo(path, 0o622)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.addCleanup(os.close, fd)
        r = self.postfix_notty("flush")
        # qmgr took the request; pickup is not there.
        self.assertEqual(os.read(fd, 100), b"FADI")
        self.assertEqual(r.returncode, 69)
        self.assertIn("unable to look up public/pickup", r.stderr)


class LogrotateTest(PostfixCmdTest):
    def setUp(self):
        super().setUp()
        os.makedirs(self.queue)
        compressor = os.path.join(self.bin, "compress")
        with open(compressor, "w") as f:
            f.write("#!/bin/sh\necho \"$@\" > %s/compressed\n"
                    "[ -f %s/compress-fails ] && { echo oops; exit 1; }\n"
                    "exit 0\n" % (self.top, self.top))
        os.chmod(compressor, 0o755)
        self.compressor = compressor

    def test_logrotate(self):
        self.main_cf("maillog_file_compressor = %s\n"
                     "maillog_file_rotate_suffix = rotated-%%Y\n"
                     % self.compressor)
        with open(self.maillog, "w") as f:
            f.write("old line\n")
        rc, out, err = self.postfix("logrotate")
        self.assertEqual((rc, err), (0, ""))
        rotated = "%s.rotated-%s" % (self.maillog, time.strftime("%Y"))
        with open(rotated) as f:
            self.assertEqual(f.read(), "old line\n")
        with open(os.path.join(self.top, "compressed")) as f:
            self.assertEqual(f.read(), rotated + "\n")

    def test_logrotate_failures(self):
        rc, out, err = self.postfix("logrotate", "now")
        self.assertEqual((rc, err), (1, "postfix/postfix-script: fatal: usage"
                                     " postfix logrotate (no arguments)\n"))
        self.main_cf("maillog_file_compressor = %s\n" % self.compressor)
        open(os.path.join(self.top, "compress-fails"), "w").close()
        open(self.maillog, "w").close()
        rc, out, err = self.postfix("logrotate")
        self.assertEqual(rc, 1)
        self.assertEqual(err, "postfix/postfix-script: fatal: logfile '%s' "
                         "rotation failed: oops\n" % self.maillog)
        self.main_cf("maillog_file = /dev/stdout\n"
                     "maillog_file_prefixes = /dev/stdout\n", maillog=False)
        rc, out, err = self.postfix("logrotate")
        self.assertEqual((rc, err), (1, "postfix/postfix-script: fatal: not "
                                     "rotating '/dev/stdout'\n"))
        self.main_cf("", maillog=False)
        rc, out, err = self.postfix("logrotate")
        self.assertEqual((rc, err), (1, "postfix/postfix-script: fatal: empty"
                                     " 'maillog_file' parameter value - "
                                     "logfile rotation failed\n"))


class PostmultiTest(PostfixCmdTest):
    def setUp(self):
        super().setUp()
        os.makedirs(self.queue)

    def postmulti(self, *args, env=None):
        return run_tty([e2e.prog("postmulti"), "-c", self.conf] + list(args),
                       env=env)

    def test_pass_through(self):
        rc, out, err = self.postmulti("-i", "-", "-p", "status")
        self.assertEqual((rc, err), (1, "postfix/postfix-script: the Postfix "
                                     "mail system is not running\n"))
        rc, out, err = self.postmulti("-i", "-", "-p", "start")
        self.assertEqual((rc, err), (0, "postfix/postfix-script: starting "
                                     "the Postfix mail system\n"))
        self.assertEqual(self.postmulti("-p", "status")[0], 0)
        self.assertEqual(self.postmulti("-i", self.conf, "-p", "reload")[0],
                         0)
        rc, out, err = self.postmulti("-i", "-", "-p", "stop")
        self.assertEqual(rc, 0)
        self.assertIn("stopping the Postfix mail system", err)

    def test_exec_and_list(self):
        rc, out, err = self.postmulti("-i", "-", "-x", "/bin/sh", "-c",
                                      "echo $MAIL_CONFIG $queue_directory "
                                      "${PATH%%:*}")
        self.assertEqual((rc, out), (0, "%s %s %s\n"
                                     % (self.conf, self.queue, self.bin)))
        self.assertEqual(self.postmulti("-x", "false")[0], 1)
        rc, out, err = self.postmulti("-l")
        self.assertEqual((rc, out), (0, "-               -               y"
                                     "         %s\n" % self.conf))

    def test_errors(self):
        m = "postmulti: fatal: "
        for args, text in (
                ((), "Specify exactly one of '-e', '-l', '-p', '-x'"),
                (("-l", "-p", "status"),
                 "Specify exactly one of '-e', '-l', '-p', '-x'"),
                (("-p",), "Command required with '-p' or '-x' option"),
                (("-R", "-p", "start"),
                 "The '-p' and '-e' options preclude the use of '-R'"),
                (("-i", "postfix-other", "-p", "start"),
                 "No matching instances"),
                (("-e", "bogus"), "Invalid '-e' edit action 'bogus'. Specify"
                 " 'create', 'destroy', 'import', 'deport', 'enable', "
                 "'disable', 'assign' or 'init'")):
            rc, out, err = self.postmulti(*args)
            self.assertEqual((rc, err), (1, m + text + "\n"), args)
        rc, out, err = self.postmulti("-I", "postfix-b", "-e", "create")
        self.assertEqual(rc, 1)
        self.assertIn("Postern supports only the default instance", err)
        rc, out, err = run_tty([e2e.prog("postmulti"), "-p", "status"],
                               env={"MAIL_CONFIG": self.conf})
        self.assertEqual((rc, err), (1, m + "Non-default configuration "
                                     "directory: MAIL_CONFIG=%s\n"
                                     % self.conf))


if __name__ == "__main__":
    unittest.main()
