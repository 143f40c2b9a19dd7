"""master, the daemon skeletons and the postfix command, end to end.

Each test starts a private instance (tests/e2e.py Instance) whose
master.cf runs the test daemon testd on 127.0.0.1 high ports and UNIX
sockets, then checks what an administrator would: postfix status, the
processes in /proc, the replies on the sockets, the lines in maillog_file.
"""
import os
import re
import signal
import socket
import subprocess
import time
import unittest

import e2e

POSTLOG = "postlog   unix-dgram n  -       n       -       1       postlogd\n"


def connect(port, timeout=10, retry=0):
    """A connection to 127.0.0.1:port, retrying for retry seconds."""
    deadline = time.time() + retry
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            return s, s.makefile("rw", newline="\n")
        except ConnectionRefusedError:
            if time.time() >= deadline:
                raise
            time.sleep(0.1)


def ask(f, line):
    f.write(line + "\n")
    f.flush()
    return f.readline().rstrip("\n")


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f
                    if ":\t" in line)


class MasterTest(e2e.TempDirTest):
    def instance(self, master_cf, main_extra=""):
        inst = e2e.Instance(self.dir, POSTLOG + master_cf, main_extra)
        self.addCleanup(inst.stop)
        self.inst = inst
        return inst

    def assertLog(self, pattern, timeout=10):
        m = self.inst.wait_log(pattern, timeout)
        if m is None:
            self.fail("log does not match %r:\n%s" % (pattern,
                                                      self.inst.log()))
        return m

    def test_start_status_second_start_stop(self):
        port = e2e.free_port()
        inst = self.instance("%d inet n - n - - testd single\n" % port)
        inst.start()
        pid = inst.master_pid()
        self.assertIsNotNone(pid)
        r = inst.postfix("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLog(r"postfix/postfix-script\[\d+\]: the Postfix mail "
                       r"system is running: PID: %d$" % pid)
        r = inst.postfix("start")
        self.assertEqual(r.returncode, 1)
        self.assertLog(r"fatal: the Postfix mail system is already running")
        self.assertEqual(inst.master_pid(), pid)
        r = subprocess.run([os.path.join(inst.libexec, "master"), "-t", "-c",
                            inst.conf], capture_output=True)
        self.assertEqual(r.returncode, 1)
        s, f = connect(port)
        self.assertTrue(f.readline().startswith("hello "))
        s.close()
        r = inst.postfix("stop")
        self.assertEqual(r.returncode, 0, r.stderr)
        deadline = time.time() + 10
        while inst.processes() and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(inst.processes(), [])
        r = inst.postfix("status")
        self.assertEqual(r.returncode, 1)
        self.assertLog(r"the Postfix mail system is not running")
        self.assertLog(r"postfix/master\[%d\]: terminating on signal 15" % pid)

    def test_log_line_format(self):
        port = e2e.free_port()
        inst = self.instance(
            "%d inet n - n - - testd\n"
            "  -o syslog_name=postfix/submission single\n" % port)
        inst.start()
        m = self.assertLog(r"^([A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d) mx "
                           r"postfix/master\[(\d+)\]: daemon started -- "
                           r"version 3\.7-postern1, configuration %s$"
                           % re.escape(inst.conf))
        self.assertEqual(int(m.group(2)), inst.master_pid())
        # A daemon's own lines, with the per-service syslog_name.
        s, f = connect(port)
        f.readline()
        ask(f, "quit")
        s.close()
        inst.postfix("reload")
        self.assertLog(r"postfix/master\[\d+\]: reload -- version "
                       r"3\.7-postern1, configuration ")
        lines = inst.log().splitlines()
        for line in lines:
            self.assertRegex(line, r"^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d mx "
                             r"postfix/[a-z/-]+\[\d+\]: ")

    def test_children_run_as_mail_owner_and_chrooted(self):
        p1, p2, p3 = e2e.free_port(), e2e.free_port(), e2e.free_port()
        inst = self.instance("%d inet n - n - - testd single\n"
                             "%d inet n - y - - testd single\n"
                             "%d inet n n n - - testd single\n"
                             % (p1, p2, p3))
        inst.start()
        import pwd
        pw = pwd.getpwnam("postfix")
        for port, chrooted, root in ((p1, False, False), (p2, True, False),
                                     (p3, False, True)):
            s, f = connect(port)
            pid = int(f.readline().split()[1])
            st = proc_status(pid)
            uid = "0" if root else str(pw.pw_uid)
            self.assertEqual(st["Uid"].split(), [uid] * 4, port)
            if not root:
                self.assertEqual(st["Gid"].split(), [str(pw.pw_gid)] * 4)
                self.assertEqual(st["Groups"].split(), [str(pw.pw_gid)])
            self.assertEqual(os.readlink("/proc/%d/root" % pid),
                             inst.queue if chrooted else "/")
            self.assertEqual(os.readlink("/proc/%d/cwd" % pid), inst.queue
                             if not chrooted else inst.queue)
            s.close()

    def test_process_limit_makes_next_client_wait(self):
        port = e2e.free_port()
        inst = self.instance("%d inet n - n - 2 testd single\n" % port)
        inst.start()
        a, fa = connect(port)
        b, fb = connect(port)
        pids = {fa.readline().split()[1], fb.readline().split()[1]}
        self.assertEqual(len(pids), 2)
        c, fc = connect(port)
        c.settimeout(1.5)
        with self.assertRaises(socket.timeout):
            c.recv(100)
        self.assertLog(r'warning: service "%d" \(%d\) has reached its '
                       r'process limit "2": new clients may be delayed'
                       % (port, port))
        ask(fa, "quit")
        a.close()
        c.settimeout(10)
        self.assertTrue(fc.readline().startswith("hello "))
        b.close()
        c.close()

    def test_killed_child_is_logged_and_replaced(self):
        port = e2e.free_port()
        inst = self.instance("%d inet n - n - - testd single\n" % port)
        inst.start()
        s, f = connect(port)
        pid = int(f.readline().split()[1])
        os.kill(pid, signal.SIGKILL)
        self.assertLog(r"postfix/master\[\d+\]: warning: process %s pid %d "
                       r"killed by signal 9" % (re.escape(
                           os.path.join(inst.libexec, "testd")), pid))
        s.close()
        s, f = connect(port)
        new = int(f.readline().split()[1])
        self.assertNotEqual(new, pid)
        self.assertEqual(ask(f, "echo"), "echo")
        s.close()

    def test_max_use_and_max_idle(self):
        p1, p2 = e2e.free_port(), e2e.free_port()
        inst = self.instance("%d inet n - n - - testd\n"
                             "  -o max_use=1 single\n"
                             "%d inet n - n - - testd\n"
                             "  -o max_idle=1 single\n" % (p1, p2))
        inst.start()
        s, f = connect(p1)
        first = f.readline().split()[1]
        ask(f, "quit")
        s.close()
        s, f = connect(p1)
        self.assertNotEqual(f.readline().split()[1], first)
        s.close()
        s, f = connect(p2)
        pid = int(f.readline().split()[1])
        ask(f, "quit")
        s.close()
        deadline = time.time() + 10
        while os.path.exists("/proc/%d" % pid) and time.time() < deadline:
            time.sleep(0.1)
        self.assertFalse(os.path.exists("/proc/%d" % pid))

    def test_overrides_and_stress_reach_the_child(self):
        port = e2e.free_port()
        inst = self.instance("%d inet n - n - 1 testd\n"
                             "  -o { smtpd_banner = hello there } single\n"
                             % port,
                             "mydomain = example.test\n")
        inst.start()
        s, f = connect(port)
        f.readline()
        self.assertEqual(ask(f, "param smtpd_banner"), "hello there")
        self.assertEqual(ask(f, "param service_name"), str(port))
        self.assertEqual(ask(f, "param mydomain"), "example.test")
        s.close()

    def test_multi_server_serves_clients_in_one_process(self):
        inst = self.instance("multi unix - - n - - testd multi\n")
        inst.start()
        path = os.path.join(inst.queue, "private", "multi")
        socks = []
        pids = []
        for _ in range(4):
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(10)
            s.connect(path)
            f = s.makefile("rw", newline="\n")
            pids.append(ask(f, "pid").split()[0])
            socks.append(s)
            # The child tells master it is available again over the status
            # pipe; a client that connects before master has read that
            # makes master start another child (so does Postfix's).  Give
            # master the moment it needs, then check that one process holds
            # several open connections at once.
            time.sleep(0.3)
        # All four connections stay open: some process serves two or more
        # of them at once (under load master may have started a second).
        self.assertTrue(any(pids.count(p) >= 2 for p in pids), pids)
        for s in socks:
            s.close()

    def test_wakeup_timers(self):
        log = os.path.join(self.dir, "wakeups")
        open(log, "w").close()
        os.chmod(log, 0o666)
        inst = self.instance("tick unix n - n 1 1 testd trigger %s\n"
                             "cond unix n - n 1? 1 testd trigger %s.cond\n"
                             % (log, log))
        inst.start()
        time.sleep(3.5)
        with open(log) as f:
            lines = f.read().splitlines()
        self.assertGreaterEqual(len(lines), 2, lines)
        self.assertTrue(all(re.fullmatch(r"\d+: W", x) for x in lines), lines)
        self.assertFalse(os.path.exists(log + ".cond"),
                         "a '1?' service was woken before its first use")

    def test_reload_adds_and_removes_services_keeping_clients(self):
        p1, p2, p3 = e2e.free_port(), e2e.free_port(), e2e.free_port()
        inst = self.instance("%d inet n - n - - testd single\n"
                             "%d inet n - n - - testd single\n" % (p1, p2))
        inst.start()
        kept, fk = connect(p1)
        fk.readline()
        gone, fg = connect(p2)
        gone_pid = int(fg.readline().split()[1])
        inst.write("master.cf", POSTLOG +
                   "%d inet n - n - - testd single\n"
                   "%d inet n - n - - testd single\n" % (p1, p3))
        r = inst.postfix("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLog(r"refreshing the Postfix mail system")
        self.assertLog(r"reload -- version")
        # The new service answers, the removed one is gone, and the
        # client of the kept service is still being served.
        s, f = connect(p3, retry=10)
        self.assertTrue(f.readline().startswith("hello "))
        s.close()
        with self.assertRaises(OSError):
            connect(p2)
        deadline = time.time() + 10
        while os.path.exists("/proc/%d" % gone_pid) and time.time() < deadline:
            time.sleep(0.1)
        self.assertFalse(os.path.exists("/proc/%d" % gone_pid))
        self.assertEqual(ask(fk, "still there"), "still there")
        kept.close()

    def test_chrooted_unprivileged_daemon_logs_through_postlogd(self):
        port = e2e.free_port()
        inst = self.instance("%d inet n - y - - testd\n"
                             "  -o syslog_name=postfix/submission single\n"
                             % port)
        inst.start()
        s, f = connect(port)
        pid = int(f.readline().split()[1])
        self.assertEqual(ask(f, "log hello from the jail"), "logged")
        s.close()
        self.assertLog(r"^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d mx "
                       r"postfix/submission/testd\[%d\]: hello from the jail$"
                       % pid)
        self.assertEqual(os.readlink("/proc/%d/root" % pid), inst.queue)

    def test_stress_is_set_while_at_the_process_limit(self):
        port = e2e.free_port()
        inst = self.instance("%d inet n - n - 2 testd single\n" % port)
        inst.start()
        a, fa = connect(port)
        fa.readline()
        b, fb = connect(port)
        fb.readline()
        self.assertEqual(sorted([ask(fa, "param stress"),
                                 ask(fb, "param stress")]), ["", "yes"])
        a.close()
        b.close()

    def test_pass_service_receives_the_client_descriptor(self):
        inst = self.instance("handoff pass - - n - - testd single\n")
        inst.start()
        path = os.path.join(inst.queue, "private", "handoff")
        ours, theirs = socket.socketpair()
        u = socket.socket(socket.AF_UNIX)
        u.settimeout(10)
        u.connect(path)
        socket.send_fds(u, [b"x"], [theirs.fileno()])
        theirs.close()
        u.close()
        ours.settimeout(10)
        f = ours.makefile("rw", newline="\n")
        self.assertTrue(f.readline().startswith("hello "))
        self.assertEqual(ask(f, "passed"), "passed")
        ours.close()

    def test_fifo_trigger_service(self):
        log = os.path.join(self.dir, "fifo-triggers")
        inst = self.instance("kick fifo n - n - 1 testd trigger %s\n" % log)
        inst.start()
        path = os.path.join(inst.queue, "public", "kick")
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.write(fd, b"AFD")
        os.close(fd)
        deadline = time.time() + 10
        text = ""
        while time.time() < deadline:
            if os.path.exists(log):
                with open(log) as f:
                    text = f.read()
                if text:
                    break
            time.sleep(0.1)
        self.assertRegex(text, r"^\d+: AFD\n$")

    def test_second_master_is_refused_by_the_lock(self):
        inst = self.instance("")
        inst.start()
        r = subprocess.run([os.path.join(inst.libexec, "master"), "-c",
                            inst.conf], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("fatal: open lock file pid/master.pid: unable to set "
                      "exclusive lock: Resource temporarily unavailable",
                      r.stderr + inst.log())
        self.assertIsNotNone(inst.master_pid())

    def test_listen_addresses_and_disabled_services(self):
        p1, p2, p3 = e2e.free_port(), e2e.free_port(), e2e.free_port()
        inst = self.instance("%d inet n - n - - testd single\n"
                             "127.0.0.1:%d inet n - n - - testd single\n"
                             "%d inet n - n - - testd single\n"
                             "off unix - - n - - testd single\n"
                             % (p1, p2, p3),
                             "inet_interfaces = loopback-only\n"
                             "master_service_disable = %d/inet off/unix\n"
                             % p3)
        inst.start()
        for port in (p1, p2):
            s, f = connect(port)
            self.assertTrue(f.readline().startswith("hello "))
            s.close()
        with self.assertRaises(ConnectionRefusedError):
            connect(p3)
        self.assertFalse(os.path.exists(os.path.join(inst.queue, "private",
                                                     "off")))

    def test_debian_master_cf_with_chroot_runs_unchanged(self):
        """Debian's own master.cf (chroot y) starts; what exists runs."""
        dist = "/usr/share/postfix/master.cf.dist"
        if not os.path.exists(dist):
            e2e.need_oracle()
            self.skipTest("SKIPPED LOUDLY: %s is missing" % dist)
        port = e2e.free_port()
        with open(dist) as f:
            text = f.read()
        # Only the port changes: never 25 in a test.
        text = re.sub(r"^smtp      inet", "%d inet" % port, text, flags=re.M)
        inst = self.instance("")
        inst.write("master.cf", text + "probe unix - - y - - testd single\n")
        inst.start()
        for name in ("etc/resolv.conf", "etc/services", "etc/hosts"):
            if os.path.exists("/" + name):
                self.assertTrue(os.path.exists(os.path.join(inst.queue,
                                                            name)), name)
        # (verify and proxymap are not written yet: skipped, one warning)
        self.assertLog(r"service verify/unix: cannot execute .*/verify: No "
                       r"such file or directory -- service skipped")
        self.assertNotIn("service tlsmgr/unix: cannot execute", inst.log())
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(os.path.join(inst.queue, "private", "probe"))
        f = s.makefile("rw", newline="\n")
        pid = int(f.readline().split()[1])
        self.assertEqual(os.readlink("/proc/%d/root" % pid), inst.queue)
        self.assertEqual(ask(f, "log resolved in the jail"), "logged")
        s.close()
        self.assertLog(r"postfix/testd\[%d\]: resolved in the jail" % pid)

    def test_daemon_D_runs_debugger_command(self):
        port = e2e.free_port()
        mark = os.path.join(self.dir, "debugged")
        inst = self.instance("%d inet n n n - - testd -D single\n" % port,
                             "debugger_command = echo $process_name "
                             "$process_id >> %s\n" % mark)
        inst.start()
        s, f = connect(port)
        pid = int(f.readline().split()[1])
        s.close()
        # Once this child turns busy, master starts another one that
        # runs the debugger too: each child appends its own line.
        with open(mark) as f:
            self.assertIn("testd %d\n" % pid, f.readlines())

    def test_daemon_stand_alone_and_by_hand(self):
        inst = self.instance("")
        os.makedirs(inst.queue, exist_ok=True)
        ours, theirs = socket.socketpair()
        env = dict(os.environ, MAIL_CONFIG=inst.conf)
        p = subprocess.Popen([os.path.join(inst.libexec, "testd"), "-S",
                              "single"], stdin=theirs, env=env,
                             stderr=subprocess.PIPE, text=True)
        theirs.close()
        ours.settimeout(10)
        f = ours.makefile("rw", newline="\n")
        self.assertTrue(f.readline().startswith("hello %d" % p.pid))
        self.assertEqual(ask(f, "quit"), "bye")
        ours.close()
        self.assertEqual(p.wait(timeout=10), 0)
        # Not under master and not stand-alone: refused on a terminal.
        r = subprocess.run(["script", "-qec", "%s single" % os.path.join(
            inst.libexec, "testd"), "/dev/null"], env=env,
            capture_output=True, text=True, timeout=30)
        self.assertIn("fatal: do not run this command by hand", r.stdout)

    def test_reload_moves_a_service_to_new_interfaces(self):
        port = e2e.free_port()
        # mynetworks set: its default would want 127.0.0.2 on an interface.
        inst = self.instance("%d inet n - n - - testd single\n" % port,
                             "mynetworks = 127.0.0.0/8\n")
        inst.start()
        old, fo = connect(port)
        old_pid = fo.readline().split()[1]
        with open(os.path.join(inst.conf, "main.cf"), "a") as f:
            f.write("inet_interfaces = 127.0.0.2\n")
        self.assertEqual(inst.postfix("reload").returncode, 0)
        self.assertLog(r"reload -- version")
        deadline = time.time() + 10
        while True:
            try:
                s = socket.create_connection(("127.0.0.2", port), timeout=10)
                break
            except ConnectionRefusedError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.assertTrue(s.makefile("r").readline().startswith("hello "))
        s.close()
        # The old client is still served; once it is done, nothing is
        # left listening on the old address.
        self.assertEqual(ask(fo, "pid").split()[0], old_pid)
        self.assertEqual(ask(fo, "quit"), "bye")
        old.close()
        deadline = time.time() + 10
        while os.path.exists("/proc/" + old_pid) and time.time() < deadline:
            time.sleep(0.1)
        with self.assertRaises(ConnectionRefusedError):
            connect(port)

    def test_queue_directory_owned_by_someone_else_is_refused(self):
        inst = self.instance("")
        inst.start()
        inst.stop()
        os.chown(inst.queue, 65534, -1)
        r = inst.postfix("start")
        self.assertNotEqual(r.returncode, 0)
        self.assertLog(r"postfix/master\[\d+\]: fatal: not owned by root: "
                       r"%s/\.$" % re.escape(inst.queue))
        self.assertEqual(inst.processes(), [])
        os.chown(inst.queue, 0, -1)
        os.chmod(inst.queue, 0o777)
        r = inst.postfix("start")
        self.assertNotEqual(r.returncode, 0)
        self.assertLog(r"fatal: group or other writable: %s/\.$"
                       % re.escape(inst.queue))

    def test_port_in_use_fails_start_with_postfix_text(self):
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        self.addCleanup(busy.close)
        port = busy.getsockname()[1]
        inst = self.instance("%d inet n - n - - testd single\n" % port)
        r = inst.postfix("start")
        self.assertNotEqual(r.returncode, 0)
        self.assertLog(r"postfix/master\[\d+\]: fatal: bind 127\.0\.0\.1 port "
                       r"%d: Address already in use$" % port)
        self.assertEqual(inst.processes(), [])

    def test_broken_master_cf_fails_start_naming_file_and_line(self):
        inst = self.instance("bogus unix - - n - - testd single\n"
                             "broken inet x - n - - testd\n")
        r = inst.postfix("start")
        self.assertNotEqual(r.returncode, 0)
        text = r.stdout + r.stderr + inst.log()
        self.assertIn("%s/master.cf: line 3:" % inst.conf, text)
        self.assertEqual(inst.processes(), [])

    def test_missing_program_is_skipped_with_one_warning(self):
        port = e2e.free_port()
        inst = self.instance("nosuch unix - - n - - nosuchd\n"
                             "%d inet n - n - - testd single\n" % port)
        inst.start()
        self.assertLog(r"warning: %s/master.cf: line 2: service nosuch/unix: "
                       r"cannot execute %s/nosuchd: No such file or directory"
                       r" -- service skipped" % (re.escape(inst.conf),
                                                 re.escape(inst.libexec)))
        s, f = connect(port)
        self.assertTrue(f.readline().startswith("hello "))
        s.close()
        inst.postfix("reload")
        self.assertLog(r"reload -- version")
        time.sleep(0.5)
        self.assertEqual(inst.log().count("nosuchd"), 1)

    def test_program_failing_at_startup_is_throttled(self):
        port = e2e.free_port()
        inst = self.instance("%d inet n - n - - testd -Q single\n" % port)
        inst.start()
        s, f = connect(port)
        self.assertLog(r"warning: process %s pid \d+ exit status 1"
                       % re.escape(os.path.join(inst.libexec, "testd")))
        self.assertLog(r"warning: %s: bad command startup -- throttling"
                       % re.escape(os.path.join(inst.libexec, "testd")))
        time.sleep(1)
        self.assertEqual(inst.log().count("bad command startup"), 1)
        s.close()

    def test_start_fg_logs_to_stdout(self):
        port = e2e.free_port()
        inst = self.instance("%d inet n - n - - testd single\n" % port)
        with open(os.path.join(inst.conf, "main.cf"), "a") as f:
            f.write("maillog_file = /dev/stdout\n"
                    "maillog_file_prefixes = /dev/stdout\n")
        out = os.path.join(self.dir, "fg.out")
        with open(out, "w") as fout:
            p = subprocess.Popen([e2e.prog("postfix"), "-c", inst.conf,
                                  "start-fg"], stdout=fout,
                                 stderr=subprocess.STDOUT)
        try:
            s, f = connect(port, retry=10)
            self.assertTrue(f.readline().startswith("hello "))
            s.close()
            self.assertIsNone(p.poll())
            self.assertEqual(inst.postfix("stop").returncode, 0)
            p.wait(timeout=10)
        finally:
            if p.poll() is None:
                p.kill()
        with open(out) as f:
            text = f.read()
        self.assertRegex(text, r"postfix/master\[\d+\]: daemon started")
        self.assertRegex(text, r"postfix/master\[\d+\]: terminating on signal")


if __name__ == "__main__":
    unittest.main()
