"""The pipe delivery agent end to end: sendmail -> pickup -> cleanup ->
qmgr -> pipe -> a recording script (no shell between pipe and it), with
master.cf flags= user= argv= as Postfix's pipe(8) reads them.

The script records its argv (one element a line), uid/gid, environment
and standard input, and exits as the recipient asks.  Log lines and
reasons are pinned as Debian's Postfix 3.7 writes them (observed on
3.7.11): "status=sent (delivered via SERVICE service)", "(temporary
failure. Command output: ... )" for exit 75, "(user unknown. Command
output: ... )" for 67, '(Command died with status 1: "CMD". Command
output: ... )', "warning: pipe flag `D' requires
SERVICE_destination_recipient_limit = 1", "(message too large)".
"""
import glob
import os
import pwd
import re
import shutil
import tempfile
import time
import unittest

import e2e

SCRIPT = """\
#!/bin/sh
d=%(out)s
n=$$
for a in "$@"; do printf '%%s\\n' "$a"; done > $d/$n.argv.tmp
id -u > $d/$n.id; id -g >> $d/$n.id
env | sort > $d/$n.env
pwd > $d/$n.pwd
cat > $d/$n.in
mv $d/$n.argv.tmp $d/$n.argv
case "$*" in
*ex75*) echo "temp problem here"; exit 75;;
*ex67*) echo "no such user"; exit 67;;
*ex1@*) echo "generic err"; exit 1;;
*slow*) sleep 30;;
esac
exit 0
"""

MASTER_CF = e2e.master_cf("pickup", "cleanup", "qmgr", "rewrite", "bounce",
                          "defer", "trace", "showq", "error", "local",
                          "postlog") + """\
tpipe     unix  -       n       n       -       -       pipe
  flags=Rhu user=pstpipe1 argv=%(script)s ${sender} ${recipient} ${nexthop}
  ${user} ${extension} ${domain} ${mailbox} ${size} ${client_address}
  ${original_recipient} ${queue_id} x${recipient}y
tone      unix  -       n       n       -       -       pipe
  flags=DOF.> user=pstpipe1:%(group)s argv=%(script)s ${recipient} ${user}
  ${extension} ${mailbox}
tbad      unix  -       n       n       -       -       pipe
  flags=D user=pstpipe1 argv=%(script)s ${recipient}
tsize     unix  -       n       n       -       -       pipe
  user=pstpipe1 size=300 argv=%(script)s ${recipient}
tq        unix  -       n       n       -       -       pipe
  flags=qRBX user=pstpipe1 eol=\\r\\n null_sender= argv=%(script)s
  ${sender} ${recipient}
tslow     unix  -       n       n       -       -       pipe
  user=pstpipe1 argv=%(script)s ${recipient}
tnoexec   unix  -       n       n       -       -       pipe
  user=pstpipe1 argv=/nonexistent/cmd ${recipient}
tmacro    unix  -       n       n       -       -       pipe
  user=pstpipe1 argv=%(script)s ${nosuch}
"""

USERS = ("pstpipe1",)
QID = r"[0-9A-F]{6,}"
DELAYS = r"delay=\d+(?:\.\d+)?, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+"


class PipeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for rel in ("master/master", "qmgr/qmgr", "pipe/pipe",
                    "sendmail/sendmail", "postdrop/postdrop"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        cls.top = tempfile.mkdtemp(prefix="postern-pipe-")
        os.chmod(cls.top, 0o755)
        try:
            e2e.make_users(cls.top, USERS)
            cls.uid = pwd.getpwnam("pstpipe1").pw_uid
            cls.gid = pwd.getpwnam("pstpipe1").pw_gid
            cls.out = os.path.join(cls.top, "out")
            os.makedirs(cls.out)
            os.chmod(cls.out, 0o1777)
            cls.script = os.path.join(cls.top, "rec.sh")
            with open(cls.script, "w") as f:
                f.write(SCRIPT % {"out": cls.out})
            os.chmod(cls.script, 0o755)
            with open(os.path.join(cls.top, "transport"), "w") as f:
                f.write("pipe.test tpipe:somehop\none.test tone\n"
                        "bad.test tbad\nsize.test tsize\nq.test tq\n"
                        "slow.test tslow\nmacro.test tmacro\n"
                        "noexec.test tnoexec\n")
            extra = ("mydomain = example.test\nmyorigin = $mydomain\n"
                     "mydestination = localhost\nbiff = no\n"
                     "recipient_delimiter = +\n"
                     "transport_maps = texthash:%s/transport\n"
                     "tone_destination_recipient_limit = 1\n"
                     "tpipe_destination_recipient_limit = 10\n"
                     "tslow_time_limit = 2s\n" % cls.top)
            os.makedirs(os.path.join(cls.top, "inst"))
            master = MASTER_CF % {"script": cls.script, "group": "nogroup"}
            cls.inst = e2e.Instance(os.path.join(cls.top, "inst"), master,
                                    extra)
            cls.inst.start()
        except BaseException:
            e2e.remove_users(USERS)
            shutil.rmtree(cls.top, ignore_errors=True)
            raise
        deadline = time.time() + 10
        while time.time() < deadline and not os.path.exists(
                os.path.join(cls.inst.queue, "public", "pickup")):
            time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        cls.inst.stop()
        e2e.remove_users(USERS)
        shutil.rmtree(cls.top, ignore_errors=True)

    def send(self, rcpts, text, sender="snd@example.test"):
        self.before = set(glob.glob(os.path.join(self.out, "*.argv")))
        r = e2e.run([os.path.join(self.inst.bin, "sendmail"), "-f", sender,
                     "--"] + rcpts, input=text,
                    env={"MAIL_CONFIG": self.inst.conf})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def expect(self, pattern, timeout=20):
        m = self.inst.wait_log(pattern, timeout)
        self.assertIsNotNone(m, "no log line /%s/ in:\n%s"
                             % (pattern, self.inst.log()[-4000:]))
        return m

    def status(self, service, rcpt, dsn, status, text):
        return self.expect(
            r"postfix/pipe\[\d+\]: (%s): to=<%s>, relay=%s, %s, "
            r"dsn=%s, status=%s \(%s\)$"
            % (QID, re.escape(rcpt), service, DELAYS, re.escape(dsn),
               status, re.escape(text)))

    def runs(self, n=1):
        """The recordings of the runs since send(): [(argv, stdin, id)]."""
        deadline = time.time() + 10
        while True:
            new = sorted(set(glob.glob(os.path.join(self.out, "*.argv")))
                         - self.before)
            if len(new) >= n or time.time() > deadline:
                break
            time.sleep(0.1)
        out = []
        for path in new:
            base = path[:-len(".argv")]
            with open(path) as f:
                argv = f.read().split("\n")[:-1]
            with open(base + ".in", "rb") as f:
                stdin = f.read()
            with open(base + ".id") as f:
                ids = [int(x) for x in f.read().split()]
            with open(base + ".env") as f:
                env = f.read()
            with open(base + ".pwd") as f:
                cwd = f.read().strip()
            out.append((argv, stdin, ids, env, cwd))
        return out

    def test_multi_recipient_argv(self):
        self.send(["A+Ext@Pipe.TEST", "b@pipe.test"],
                  "Subject: p\n\nhello\nFrom x\n")
        m = self.status("tpipe", "A+Ext@Pipe.TEST", "2.0.0", "sent",
                        "delivered via tpipe service")
        qid = m.group(1)
        self.status("tpipe", "b@pipe.test", "2.0.0", "sent",
                    "delivered via tpipe service")
        size = re.search(r"%s: from=<snd@example.test>, size=(\d+)" % qid,
                         self.inst.log()).group(1)
        runs = self.runs()
        self.assertEqual(len(runs), 1)
        argv, stdin, ids, env, cwd = runs[0]
        self.assertEqual(argv, [
            "snd@example.test",
            "a+ext@pipe.test", "b@pipe.test",
            "somehop",
            "a", "b",
            "ext", "",
            "pipe.test", "pipe.test",
            "a+ext", "b",
            size,
            "",
            "a+ext@pipe.test", "b@pipe.test",
            qid,
            "xa+ext@pipe.testy", "xb@pipe.testy"])
        self.assertEqual(ids, [self.uid, self.gid])
        self.assertTrue(stdin.startswith(
            b"Return-Path: <snd@example.test>\nReceived: "), stdin)
        self.assertIn(b"\n\nhello\nFrom x\n", stdin)
        self.assertIn("PATH=/usr/bin:/bin\n", env)
        self.assertEqual(cwd, self.inst.queue)

    def test_recipient_limit_one_and_headers(self):
        self.send(["A+x@one.test", "b@one.test"],
                  "Subject: p\n\nhello\nFrom x\n.dot\n")
        self.status("tone", "A+x@one.test", "2.0.0", "sent",
                    "delivered via tone service")
        self.status("tone", "b@one.test", "2.0.0", "sent",
                    "delivered via tone service")
        runs = self.runs(2)
        self.assertEqual(len(runs), 2)
        by_rcpt = {r[0][0]: r for r in runs}
        argv, stdin, ids, _, _ = by_rcpt["A+x@one.test"]
        self.assertEqual(argv, ["A+x@one.test", "A", "x", "A+x"])
        self.assertRegex(stdin.decode(),
                         r"^From snd@example.test  \w{3} \w{3} [ \d]\d "
                         r"\d\d:\d\d:\d\d \d{4}\nX-Original-To: "
                         r"A\+x@one.test\nDelivered-To: A\+x@one.test\n"
                         r"Received: ")
        self.assertIn(b"\n>From x\n..dot\n", stdin)
        self.assertIn(b"Delivered-To: b@one.test\n", by_rcpt["b@one.test"][1])

    def test_flag_d_loop_bounces(self):
        self.send(["loop@one.test"],
                  "Delivered-To: LOOP@one.test\nSubject: l\n\nhello\n")
        self.status("tone", "loop@one.test", "5.4.6", "bounced",
                    "mail forwarding loop for loop@one.test")
        self.assertEqual(self.runs(0), [])

    def test_user_group(self):
        import grp
        self.send(["grp@one.test"], "Subject: g\n\nhello\n")
        self.status("tone", "grp@one.test", "2.0.0", "sent",
                    "delivered via tone service")
        (argv, stdin, ids, _, _), = self.runs()
        self.assertEqual(ids, [self.uid, grp.getgrnam("nogroup").gr_gid])

    def test_exit_75_defers(self):
        self.send(["ex75@one.test"], "Subject: t\n\nhello\n")
        self.status("tone", "ex75@one.test", "4.3.0", "deferred",
                    "temporary failure. Command output: temp problem here ")

    def test_exit_67_bounces(self):
        self.send(["ex67@one.test"], "Subject: t\n\nhello\n")
        self.status("tone", "ex67@one.test", "5.1.1", "bounced",
                    "user unknown. Command output: no such user ")

    def test_exit_1_bounces(self):
        self.send(["ex1@one.test"], "Subject: t\n\nhello\n")
        self.status("tone", "ex1@one.test", "5.3.0", "bounced",
                    'Command died with status 1: "%s". Command output: '
                    'generic err ' % self.script)

    def test_flag_d_needs_limit_one(self):
        self.send(["x@bad.test"], "Subject: t\n\nhello\n")
        self.status("tbad", "x@bad.test", "4.3.5", "deferred",
                    "mail system configuration error")
        self.expect(r"postfix/pipe\[\d+\]: warning: pipe flag `D' requires "
                    r"tbad_destination_recipient_limit = 1$")

    def test_size_limit(self):
        self.send(["x@size.test"], "Subject: t\n\n" + "x" * 400 + "\n")
        self.status("tsize", "x@size.test", "5.2.3", "bounced",
                    "message too large")

    def test_quote_eol_null_sender(self):
        self.send(['"a b"@q.test'], "Subject: t\n\nhello\n", sender="")
        self.status("tq", '"a b"@q.test', "2.0.0", "sent",
                    "delivered via tq service")
        (argv, stdin, _, _, _), = self.runs()
        self.assertEqual(argv, ["", '"a b"@q.test'])
        self.assertTrue(stdin.startswith(b"Return-Path: <>\r\nReceived: "),
                        stdin)
        self.assertTrue(stdin.endswith(b"\r\nhello\r\n\r\n"), stdin)
        self.assertNotIn(b"\n", stdin.replace(b"\r\n", b""))

    def test_time_limit(self):
        self.send(["slow@slow.test"], "Subject: t\n\nhello\n")
        self.status("tslow", "slow@slow.test", "5.3.0", "bounced",
                    'Command time limit exceeded: "%s"' % self.script)

    def test_exec_failure_defers(self):
        self.send(["x@noexec.test"], "Subject: t\n\nhello\n")
        self.status("tnoexec", "x@noexec.test", "4.3.0", "deferred",
                    "temporary failure. Command output: pipe: fatal: "
                    "pipe_command: execvp /nonexistent/cmd: No such file or "
                    "directory ")

    def notice(self, rcpt, timeout=20):
        """The success notice for rcpt that a pipe run received."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for path in glob.glob(os.path.join(self.out, "*.in")):
                with open(path, "rb") as f:
                    data = f.read().decode(errors="replace")
                if "Final-Recipient: rfc822; %s" % rcpt in data:
                    return data
            time.sleep(0.1)
        self.fail("no notice for %s:\n%s" % (rcpt, self.inst.log()[-3000:]))

    def test_success_notice_final_flag(self):
        """NOTIFY=SUCCESS: "relayed" without flag X, "delivered" with it
        (Postfix 3.7, observed); the notice goes back through the pipe."""
        for rcpt in ("okx@one.test", "okx@q.test"):
            r = e2e.run([os.path.join(self.inst.bin, "sendmail"), "-N",
                         "success", "-f", "notice@one.test", "--", rcpt],
                        input="Subject: n\n\nbody\n",
                        env={"MAIL_CONFIG": self.inst.conf})
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Action: relayed\nStatus: 2.0.0\nDiagnostic-Code: "
                      "X-Postfix; delivery via tone: delivered via tone "
                      "service", self.notice("okx@one.test"))
        self.assertIn("Action: delivered\nStatus: 2.0.0\nDiagnostic-Code: "
                      "X-Postfix; delivery via tq: delivered via tq service",
                      self.notice("okx@q.test"))

    def test_unknown_macro(self):
        self.send(["x@macro.test"], "Subject: t\n\nhello\n")
        self.expect(r"postfix/pipe\[\d+\]: warning: file %s/master.cf: "
                    r"service tmacro: unknown macro name: \"nosuch\"$"
                    % re.escape(self.inst.conf))
        self.status("tmacro", "x@macro.test", "4.3.5", "deferred",
                    "mail system configuration error")


if __name__ == "__main__":
    unittest.main()
