"""smtpd protocol end to end: BDAT/CHUNKING, DSN, SMTPUTF8, ETRN, EHLO
keyword discarding, pipelining and smuggling defences, deadlines, limits,
50 concurrent clients.  A private instance without qmgr keeps every
accepted message in incoming/, where the test reads what was queued.
Replies and log lines are Debian's Postfix 3.7.11's, observed from a
private configuration (except where a comment says otherwise).
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import e2e

QID = r"[0-9A-F]{6,}"
HOST = "mx.example.test"

MASTER_CF = e2e.master_cf("cleanup", "rewrite", "postlog") + """\
127.0.0.1:PORT inet n   -       n       -       -       smtpd
127.0.0.2:PORT inet n   -       n       -       -       smtpd
127.0.0.3:PORT inet n   -       n       -       -       smtpd
"""

EXTRA = """\
smtpd_error_sleep_time = 0s
myhostname = mx.example.test
mydomain = example.test
mydestination = $myhostname, localhost, $mydomain
mynetworks = 10.0.0.0/8
alias_maps =
local_recipient_maps =
smtpd_timeout = 3s
message_size_limit = 100000
smtpd_recipient_limit = 3
smtpd_recipient_overshoot_limit = 2
smtpd_junk_command_limit = 3
strict_rfc821_envelopes = yes
smtpd_discard_ehlo_keyword_address_maps = inline:{127.0.0.2=chunking}
smtpd_forbid_bare_newline = reject
smtpd_forbid_bare_newline_exclusions = 127.0.0.1
"""

RCPT = b"RCPT TO:<user@example.test>\r\n"
MAIL = b"MAIL FROM:<a@b.test>\r\n"


class SmtpdProtoTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for rel in ("master/master", "smtpd/smtpd", "cleanup/cleanup",
                    "trivial-rewrite/trivial-rewrite", "postlogd/postlogd"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        cls.top = tempfile.mkdtemp(prefix="postern-smtpd-proto-")
        os.chmod(cls.top, 0o755)
        cls.port = e2e.free_port()
        try:
            os.makedirs(os.path.join(cls.top, "inst"))
            cls.inst = e2e.Instance(
                os.path.join(cls.top, "inst"),
                MASTER_CF.replace("PORT", str(cls.port)), EXTRA)
            cls.inst.start()
        except BaseException:
            shutil.rmtree(cls.top, ignore_errors=True)
            raise
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", cls.port), 1).close()
                break
            except OSError:
                time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        cls.inst.stop()
        shutil.rmtree(cls.top, ignore_errors=True)

    # helpers

    def connect(self, src="127.0.0.1", ehlo=True):
        s = socket.create_connection((src, self.port), 10,
                                     source_address=(src, 0))
        s.settimeout(10)
        f = s.makefile("rb")
        self.assertEqual(f.readline(),
                         b"220 mx.example.test ESMTP Postern\r\n")
        if ehlo:
            s.sendall(b"EHLO client.test\r\n")
            r = self.replies(f, 1)
            while r[-1].startswith("250-"):
                r += self.replies(f, 1)
        return s, f

    def replies(self, f, n):
        out = []
        while len(out) < n:
            line = f.readline()
            self.assertTrue(line, "connection closed after %r" % out)
            out.append(line.decode("utf-8", "replace").rstrip("\r\n"))
        return out

    def step(self, s, f, data, n=1):
        s.sendall(data)
        return self.replies(f, n)

    def closed(self, f):
        self.assertEqual(f.readline(), b"")

    def expect(self, pattern, timeout=15):
        m = self.inst.wait_log(pattern, timeout)
        self.assertIsNotNone(m, "no log line /%s/ in:\n%s"
                             % (pattern, self.inst.log()[-4000:]))
        return m

    def queued(self, qid, timeout=10):
        """The bytes of queue file qid (incoming/, no qmgr runs)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for root, _, files in os.walk(self.inst.queue):
                if qid in files and "incoming" in root:
                    with open(os.path.join(root, qid), "rb") as fh:
                        data = fh.read()
                    if data.rstrip().endswith(b"E\x00") or b"E\x00" in data:
                        return data
            time.sleep(0.1)
        self.fail("queue file %s not found" % qid)

    def not_queued(self, qid, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not any(qid in files
                       for _, _, files in os.walk(self.inst.queue)):
                return
            time.sleep(0.1)
        self.fail("%s is still in the queue" % qid)

    def lost_qid(self, lost):
        """The queue ID of the session that logged the line /lost/."""
        m = self.expect(r"smtpd\[(\d+)\]: " + lost)
        pid = m.group(1)
        log = self.inst.log()
        log = log[:log.index(m.group(0))]
        ids = re.findall(r"smtpd\[%s\]: (%s): client=" % (pid, QID), log)
        self.assertTrue(ids, log[-2000:])
        return ids[-1]

    def qid_of(self, reply):
        m = re.search(r"queued as (" + QID + ")$", reply)
        self.assertIsNotNone(m, reply)
        return m.group(1)

    # BDAT

    def test_bdat_chunks(self):
        s, f = self.connect()
        self.assertEqual(self.step(s, f, MAIL + RCPT, 2),
                         ["250 2.1.0 Ok", "250 2.1.5 Ok"])
        # each chunk's reply gives its size (a bare LF counts as CRLF),
        # the last one the message's
        c1 = b"Subject: chunky\r\n\r\nline1\r\n.\r\nsplit "
        r = self.step(s, f, b"BDAT %d\r\n" % len(c1) + c1)
        self.assertEqual(r, ["250 2.0.0 Ok: 35 bytes"])
        c2 = b"line\r\n..two dots\nbare-lf\r\n\x00bin\r"
        r = self.step(s, f, b"BDAT %d\r\n" % len(c2) + c2)
        self.assertEqual(r, ["250 2.0.0 Ok: %d bytes" % (len(c2) + 1)])
        c3 = b"\n.\r\nend"
        r = self.step(s, f, b"BDAT %d LAST\r\n" % len(c3) + c3)[0]
        total = len(c1) + len(c2) + 1 + len(c3) + 2
        self.assertRegex(r, r"^250 2\.0\.0 Ok: %d bytes queued as " % total
                         + QID)
        qid = self.qid_of(r)
        # no dot-unstuffing, no end at "." lines, a line spans chunks
        data = self.queued(qid)
        for rec in (b"Subject: chunky", b"split line", b"..two dots",
                    b"bare-lf", b"\x00bin", b"end"):
            self.assertIn(rec, data)
        self.assertEqual(self.step(s, f, b"QUIT\r\n"), ["221 2.0.0 Bye"])
        self.expect(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 "
                    r"mail=1 rcpt=1 bdat=3 quit=1 commands=7$")

    def test_bdat_order_errors(self):
        s, f = self.connect()
        # without MAIL: the chunk is read and dropped
        self.assertEqual(self.step(s, f, b"BDAT 5\r\nhello"),
                         ["503 5.5.1 Error: need RCPT command"])
        self.assertEqual(self.step(s, f, MAIL + b"BDAT 3\r\nabc", 2),
                         ["250 2.1.0 Ok",
                          "554 5.5.1 Error: no valid recipients"])
        # the failed transaction stays until LAST, then is gone
        self.assertEqual(self.step(s, f, RCPT),
                         ["503 5.5.1 Error: RCPT after BDAT"])
        self.assertEqual(self.step(s, f, b"BDAT 4 LAST\r\nabcd"),
                         ["551 5.0.0 Discarded 4 bytes after earlier error"])
        self.assertEqual(self.step(s, f, RCPT),
                         ["503 5.5.1 Error: need MAIL command"])
        self.assertEqual(self.step(s, f, b"DATA\r\n"),
                         ["503 5.5.1 Error: need RCPT command"])
        # BDAT then DATA/RCPT in one transaction
        self.assertEqual(self.step(s, f, MAIL + RCPT + b"BDAT 2\r\nab", 3),
                         ["250 2.1.0 Ok", "250 2.1.5 Ok",
                          "250 2.0.0 Ok: 2 bytes"])
        self.assertEqual(self.step(s, f, b"DATA\r\n"),
                         ["503 5.5.1 Error: DATA after BDAT"])
        self.assertEqual(self.step(s, f, MAIL),
                         ["503 5.5.1 Error: nested MAIL command"])
        # a null chunk fails the transaction
        self.assertEqual(self.step(s, f, b"BDAT 0\r\n"),
                         ["551 5.7.1 Null BDAT request"])
        self.assertEqual(self.step(s, f, b"BDAT 0 LAST\r\n"),
                         ["551 5.0.0 Discarded 0 bytes after earlier error"])
        self.assertEqual(self.step(s, f, b"BDAT 1\r\nx"),
                         ["503 5.5.1 Error: need RCPT command"])
        f.close()
        s.close()
        self.expect(r"warning: " + QID + r": null BDAT request from "
                    r"localhost\[127\.0\.0\.1\]$")

    def test_bdat_syntax(self):
        for arg in (b"", b" x", b" 5 FOO", b" -1", b" 5 LAST x", b" +5",
                    b" 99999999999999999999"):
            s, f = self.connect()
            self.assertEqual(self.step(s, f, b"BDAT" + arg + b"\r\n"),
                             ["521 5.5.4 Syntax: BDAT count [LAST]"])
            self.closed(f)
            s.close()
            self.expect(r"warning: NOQUEUE: malformed BDAT command syntax "
                        r"from localhost\[127\.0\.0\.1\]: BDAT"
                        + re.escape(arg.decode()) + "$")

    def test_bdat_too_big_and_lost(self):
        s, f = self.connect()
        self.step(s, f, MAIL + RCPT, 2)
        # refused before a byte of it is read; the connection closes.
        # (Postfix 3.7 closes without a reply; the issue asks for 552.)
        self.assertEqual(self.step(s, f, b"BDAT 200000\r\n"),
                         ["552 5.3.4 Chunk exceeds message size limit"])
        self.closed(f)
        s.close()
        m = self.expect(r"warning: (" + QID + r"): BDAT request from "
                        r"localhost\[127\.0\.0\.1\] exceeds message size "
                        r"limit\n.*lost connection after BDAT from "
                        r"localhost\[127\.0\.0\.1\]$")
        self.not_queued(m.group(1))
        # a client that vanishes mid-chunk: nothing queued
        s, f = self.connect()
        self.step(s, f, MAIL + RCPT, 2)
        s.sendall(b"BDAT 100\r\nabc")
        time.sleep(0.3)
        f.close()
        s.close()
        self.not_queued(self.lost_qid(
            r"lost connection after BDAT \(3 bytes\) from "
            r"localhost\[127\.0\.0\.1\]$"))

    def test_chunking_discarded(self):
        s, f = self.connect(src="127.0.0.2", ehlo=False)
        r = self.step(s, f, b"EHLO x\r\n", 9)
        self.assertNotIn("250 CHUNKING", r)
        self.assertEqual(r[-1], "250 SMTPUTF8")
        self.assertEqual(self.step(s, f, b"BDAT 3 LAST\r\n"),
                         ["521 5.5.1 Error: command not implemented"])
        self.closed(f)
        s.close()
        self.expect(r"discarding EHLO keywords: CHUNKING$")

    # DSN, SMTPUTF8, ETRN

    def test_dsn(self):
        s, f = self.connect()
        r = self.step(s, f, b"MAIL FROM:<a@b.test> RET=HDRS ENVID=abc+2Bdef"
                      b"\r\n" + RCPT[:-2] + b" NOTIFY=SUCCESS,DELAY "
                      b"ORCPT=rfc822;orig+40example.test\r\n" + RCPT[:-2] +
                      b" NOTIFY=NEVER,SUCCESS\r\n" + RCPT[:-2] +
                      b" NOTIFY=FOO\r\n" + RCPT[:-2] + b" ORCPT=foo\r\n" +
                      RCPT[:-2] + b" ORCPT=rfc822;a+4\r\n" + RCPT[:-2] +
                      b" NOTIFY=NEVER NOTIFY=NEVER\r\n", 7)
        self.assertEqual(r, [
            "250 2.1.0 Ok", "250 2.1.5 Ok",
            "501 5.5.4 Error: Bad NOTIFY parameter syntax",
            "501 5.5.4 Error: Bad NOTIFY parameter syntax",
            "501 5.5.4 Error: Bad ORCPT parameter syntax",
            "501 5.5.4 Error: Bad ORCPT parameter syntax",
            "501 5.5.4 Error: Bad NOTIFY parameter syntax"])
        r = self.step(s, f, b"DATA\r\n", 1)
        r = self.step(s, f, b"Subject: dsn\r\n\r\nx\r\n.\r\n")[0]
        data = self.queued(self.qid_of(r))
        self.assertIn(b"abc+def", data)
        self.assertIn(b"rfc822;orig@example.test", data)
        r = self.step(s, f, b"MAIL FROM:<a@b.test> RET=BAD\r\n"
                      b"MAIL FROM:<a@b.test> RET=FULL RET=HDRS\r\n"
                      b"MAIL FROM:<a@b.test> ENVID=a+zz\r\n"
                      b"MAIL FROM:<a@b.test> ENVID=x ENVID=y\r\n"
                      b"MAIL FROM:<a@b.test> RET=full\r\n", 5)
        self.assertEqual(r, ["501 5.5.4 Bad RET parameter syntax",
                             "501 5.5.4 Bad RET parameter syntax",
                             "501 5.5.4 Bad ENVID parameter syntax",
                             "501 5.5.4 Bad ENVID parameter syntax",
                             "250 2.1.0 Ok"])
        f.close()
        s.close()
        self.expect(r'warning: unknown DSN NOTIFY command value "FOO" in '
                    r'"FOO"$')

    def test_smtputf8(self):
        s, f = self.connect()
        r = self.step(s, f, "MAIL FROM:<ü@b.test> SMTPUTF8\r\n".encode() +
                      "RCPT TO:<user@example.test>\r\nDATA\r\n".encode(), 3)
        self.assertEqual(r[2], "354 End data with <CR><LF>.<CR><LF>")
        r = self.step(s, f, "Subject: ü\r\n\r\nü\r\n.\r\n".encode())[0]
        self.queued(self.qid_of(r))
        r = self.step(s, f, b"MAIL FROM:<\xff@b.test>\r\n"
                      b"MAIL FROM:<a@b.test> SMTPUTF8=x\r\n"
                      b"RCPT TO:<\xc3@example.test>\r\n", 3)
        self.assertEqual(r, ["500 5.5.2 Error: bad UTF-8 syntax",
                             "555 5.5.4 Unsupported option: SMTPUTF8=x",
                             "500 5.5.2 Error: bad UTF-8 syntax"])
        f.close()
        s.close()

    def test_etrn(self):
        s, f = self.connect()
        r = self.step(s, f, b"ETRN\r\n")
        r += self.step(s, f, b"ETRN example.test\r\n")
        r += self.step(s, f, b"ETRN @example.test\r\n")
        r += self.step(s, f, b"ETRN a b\r\n")
        r += self.step(s, f, b"ETRN foo..bar\r\n")
        r += self.step(s, f, MAIL)
        r += self.step(s, f, b"ETRN example.test\r\n")
        self.assertEqual(r, ["500 Syntax: ETRN domain",
                             "459 <example.test>: service unavailable",
                             "459 <example.test>: service unavailable",
                             "500 Syntax: ETRN domain",
                             "501 Error: invalid parameter syntax",
                             "250 2.1.0 Ok",
                             "503 Error: MAIL transaction in progress"])
        f.close()
        s.close()
        self.expect(r"warning: reject: ETRN example\.test\.\.\. from "
                    r"localhost\[127\.0\.0\.1\]$")

    # defences

    def test_forbidden_command(self):
        s, f = self.connect(ehlo=False)
        self.assertEqual(self.step(s, f, b"GET / HTTP/1.0\r\n"), [
            "221 2.7.0 Error: I can break rules, too. Goodbye."])
        self.closed(f)
        s.close()
        m = self.expect(r"smtpd\[(\d+)\]: warning: non-SMTP command from "
                        r"localhost\[127\.0\.0\.1\]: GET / HTTP/1\.0$")
        self.expect(r"smtpd\[%s\]: disconnect from localhost\[127\.0\.0"
                    r"\.1\] unknown=0/1 commands=0/1$" % m.group(1))
        # regexp:{{/^[^A-Z]/ Bogus}}: a verb that does not start with a
        # letter
        s, f = self.connect()
        self.assertEqual(self.step(s, f, b"{x\r\n"), [
            "221 2.7.0 Error: I can break rules, too. Goodbye."])
        self.closed(f)
        s.close()
        self.assertNotIn("unavailable", self.inst.log())

    def test_unauth_pipelining(self):
        s, f = self.connect(ehlo=False)
        self.assertEqual(self.step(s, f, b"EHLO x\r\n" + MAIL), [
            "554 5.5.0 Error: SMTP protocol synchronization"])
        self.closed(f)
        s.close()
        self.expect(r"improper command pipelining after EHLO from "
                    r"localhost\[127\.0\.0\.1\]: MAIL FROM:<a@b\.test>"
                    r"\\r\\n\n.*disconnect from localhost\[127\.0\.0\.1\] "
                    r"ehlo=0/1 commands=0/1$")
        # MAIL, RCPT and BDAT may be pipelined after EHLO; DATA may not
        s, f = self.connect()
        r = self.step(s, f, MAIL + RCPT + b"BDAT 3 LAST\r\nabc", 3)
        self.assertRegex(r[2], r"^250 2\.0\.0 Ok: 5 bytes queued as ")
        r = self.step(s, f, MAIL + RCPT + b"DATA\r\nx\r\n.\r\n", 3)
        self.assertEqual(r[2], "554 5.5.0 Error: SMTP protocol "
                               "synchronization")
        self.closed(f)
        s.close()
        self.expect(r"improper command pipelining after DATA from "
                    r"localhost\[127\.0\.0\.1\]: x\\r\\n\.\\r\\n$")

    def test_early_talker(self):
        # input before the greeting: no greeting at all.  smtpd -S on a
        # socket that already holds the input makes it deterministic.
        mine, theirs = socket.socketpair()
        mine.sendall(b"NOOP\r\n")
        p = subprocess.Popen([os.path.join(e2e.BUILD, "smtpd/smtpd"), "-S"],
                             env=dict(os.environ, MAIL_CONFIG=self.inst.conf),
                             stdin=theirs, stdout=theirs,
                             stderr=subprocess.DEVNULL)
        theirs.close()
        mine.settimeout(10)
        f = mine.makefile("rb")
        line = f.readline()
        p.wait(10)
        f.close()
        mine.close()
        self.assertEqual(line, b"554 5.5.0 Error: SMTP protocol "
                               b"synchronization\r\n")
        m = self.expect(r"smtpd\[(\d+)\]: improper command pipelining "
                        r"after CONNECT from \S+: NOOP\\r\\n$")
        self.expect(r"smtpd\[%s\]: disconnect from \S+ commands=0/0$"
                    % m.group(1))

    def test_data_rate(self):
        # smtpd_min_data_rate: content trickled a byte every 0.4s earns
        # 2ms each; the 3s request deadline runs out
        s, f = self.connect()
        self.step(s, f, MAIL + RCPT, 2)
        self.step(s, f, b"DATA\r\n")
        t0 = time.time()
        s.setblocking(False)
        line = b""
        while time.time() - t0 < 10 and not line.endswith(b"\n"):
            try:
                s.send(b"x\r\n" if int(time.time() * 10) % 5 else b"x")
            except OSError:
                pass
            time.sleep(0.4)
            try:
                line += s.recv(200)
            except BlockingIOError:
                pass
        s.close()
        self.assertEqual(line, b"421 4.4.2 mx.example.test Error: timeout "
                               b"exceeded\r\n")
        self.assertGreater(time.time() - t0, 2.5)
        self.expect(r"timeout after DATA \(\d+ bytes\) from "
                    r"localhost\[127\.0\.0\.1\]$")

    def test_errors_reset_transaction(self):
        s, f = self.connect()
        # a rejected DATA (no valid recipient), a VRFY, a failed BDAT:
        # none leaves a transaction a later command could use
        r = self.step(s, f, MAIL + b"RCPT TO:<x@other.test>\r\n", 2)
        self.assertEqual(self.step(s, f, b"DATA\r\n"),
                         ["554 5.5.1 Error: no valid recipients"])
        self.assertEqual(self.step(s, f, b"RSET\r\n"), ["250 2.0.0 Ok"])
        self.assertEqual(self.step(s, f, b"VRFY <user@example.test>\r\n"),
                         ["252 2.0.0 <user@example.test>"])
        self.assertEqual(self.step(s, f, b"DATA\r\n"),
                         ["503 5.5.1 Error: need RCPT command"])
        self.assertEqual(self.step(s, f, RCPT),
                         ["503 5.5.1 Error: need MAIL command"])
        self.assertEqual(self.step(s, f, b"BDAT 1 LAST\r\nx"),
                         ["503 5.5.1 Error: need RCPT command"])
        r = self.step(s, f, MAIL + RCPT + b"BDAT 0\r\n", 3)
        self.assertEqual(r[2], "551 5.7.1 Null BDAT request")
        self.assertEqual(self.step(s, f, b"BDAT 0 LAST\r\n"),
                         ["551 5.0.0 Discarded 0 bytes after earlier error"])
        self.assertEqual(self.step(s, f, RCPT),
                         ["503 5.5.1 Error: need MAIL command"])
        self.assertEqual(self.step(s, f, b"DATA\r\n"),
                         ["503 5.5.1 Error: need RCPT command"])
        f.close()
        s.close()

    def test_smuggling(self):
        """End of data only at <CR><LF>.<CR><LF>; bare <LF> normalized for
        127.0.0.1 (excluded), rejected for 127.0.0.3."""
        s, f = self.connect()
        r = self.step(s, f, MAIL + RCPT + b"DATA\r\n", 3)
        self.assertEqual(r[2], "354 End data with <CR><LF>.<CR><LF>")
        s.sendall(b"Subject: smuggle\r\n\r\na\n.\nMAIL FROM:<evil1>\r\n"
                  b"b\r.\rMAIL FROM:<evil2>\r\nc\r\n.\nMAIL FROM:<evil3>"
                  b"\r\nd\n.\r\nMAIL FROM:<evil4>\r\nbare\rcr\r\n.\r\n")
        r = self.replies(f, 1)[0]
        data = self.queued(self.qid_of(r))
        # every would-be command stayed content (cleanup makes a bare CR
        # a space)
        for evil in (b"evil1", b"evil2", b"evil3", b"evil4", b"bare"):
            self.assertIn(evil, data)
        self.assertEqual(self.step(s, f, RCPT),
                         ["503 5.5.1 Error: need MAIL command"])
        f.close()
        s.close()
        s, f = self.connect(src="127.0.0.3")
        r = self.step(s, f, MAIL + RCPT + b"DATA\r\n", 3)
        r = self.step(s, f, b"Subject: x\r\n\r\na\nb\r\n.\r\n")
        self.assertEqual(r, ["550 5.5.2 mx.example.test Error: bare <LF> "
                             "received"])
        self.assertEqual(self.step(s, f, RCPT),
                         ["503 5.5.1 Error: need MAIL command"])
        self.assertEqual(self.step(s, f, b"NOOP\n"),
                         ["550 5.5.2 mx.example.test Error: bare <LF> "
                          "received"])
        self.closed(f)
        s.close()
        self.expect(QID + r": reject: END-OF-MESSAGE from \S+\[127\.0\.0"
                    r"\.3\]: bare <LF> received; from=<a@b\.test> "
                    r"to=<user@example\.test> proto=ESMTP "
                    r"helo=<client\.test>$")
        self.expect(r"NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.3\]: bare "
                    r"<LF> received; proto=ESMTP helo=<client\.test>$")

    def test_limits(self):
        s, f = self.connect()
        # strict_rfc821_envelopes, recipient limit, NUL, overlong
        r = self.step(s, f, b"MAIL FROM:a@b.test\r\n")
        r += self.step(s, f, MAIL)
        r += self.step(s, f, b"RCPT TO:user@example.test\r\n")
        self.assertEqual(r, ["501 5.1.7 Bad sender address syntax",
                             "250 2.1.0 Ok",
                             "501 5.1.3 Bad recipient address syntax"])
        f.close()
        s.close()
        s, f = self.connect()
        r = self.step(s, f, MAIL + RCPT * 4, 5)
        self.assertEqual(r[1:], ["250 2.1.5 Ok"] * 3 +
                         ["452 4.5.3 Error: too many recipients"])
        self.assertEqual(self.step(s, f, b"NO\x00OP\r\n"),
                         ["500 5.5.2 Error: command not recognized"])
        self.assertEqual(self.step(s, f, b"RSET\r\n"), ["250 2.0.0 Ok"])
        r = self.step(s, f, b"MAIL FROM:<" + b"a" * 5000 + b"@b>\r\n")
        self.assertEqual(r, ["501 5.1.7 Bad sender address syntax"])
        f.close()
        s.close()
        self.expect(r"warning: localhost\[127\.0\.0\.1\]: request longer "
                    r"than 2048: MAIL FROM:<aaaaaaaaaaaaaaaaaaa\.\.\.$")

    def test_junk_limit(self):
        # smtpd_junk_command_limit = 3: from the 5th junk command on (HELO
        # counts) each is an error; the 20th (smtpd_hard_error_limit)
        # ends the session after its reply
        s, f = self.connect(ehlo=False)
        self.step(s, f, b"HELO x\r\n")
        for _ in range(22):
            self.assertEqual(self.step(s, f, b"NOOP\r\n"), ["250 2.0.0 Ok"])
        self.assertEqual(self.step(s, f, b"NOOP\r\n", 2), [
            "250 2.0.0 Ok", "421 4.7.0 mx.example.test Error: too many "
            "errors"])
        self.closed(f)
        s.close()
        self.expect(r"too many errors after NOOP from localhost\[127\.0\.0"
                    r"\.1\]\n.*disconnect from localhost\[127\.0\.0\.1\] "
                    r"helo=1 noop=23 commands=24$")

    def test_trickle_timeout(self):
        # the per-request deadline: a command trickled a byte at a time
        s, f = self.connect(ehlo=False)
        t0 = time.time()
        for c in b"NOOP NOOP NOOP NOOP NOOP":
            try:
                s.sendall(bytes([c]))
            except OSError:
                break
            time.sleep(0.4)
            if time.time() - t0 > 8:
                break
        self.assertEqual(self.replies(f, 1), [
            "421 4.4.2 mx.example.test Error: timeout exceeded"])
        s.close()
        self.expect(r"timeout after CONNECT from localhost\[127\.0\.0\.1\]$")

    def test_lost_in_data_nothing_queued(self):
        s, f = self.connect()
        self.step(s, f, MAIL + RCPT, 2)
        self.step(s, f, b"DATA\r\n")
        s.sendall(b"Subject: x\r\n\r\npartial\r\n")
        time.sleep(0.3)
        f.close()
        s.close()
        self.not_queued(self.lost_qid(
            r"lost connection after DATA \(23 bytes\) from "
            r"localhost\[127\.0\.0\.1\]$"))

    def test_concurrent_clients(self):
        results = []

        def client(i):
            try:
                s, f = self.connect()
                s.sendall(MAIL + RCPT)
                self.replies(f, 2)
                s.sendall(b"BDAT 22 LAST\r\nSubject: client %04d\r\n" % i
                          if i % 2 else b"DATA\r\n")
                if i % 2 == 0:
                    self.replies(f, 1)
                    s.sendall(b"Subject: client %04d\r\n\r\n.\r\n" % i)
                r = self.replies(f, 1)[0]
                s.sendall(b"QUIT\r\n")
                self.replies(f, 1)
                s.close()
                results.append(self.qid_of(r))
            except Exception as e:
                results.append(e)

        threads = [threading.Thread(target=client, args=(i,))
                   for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        errors = [r for r in results if not isinstance(r, str)]
        self.assertEqual(errors, [])
        self.assertEqual(len(set(results)), 50)
        for qid in results:
            self.queued(qid)


if __name__ == "__main__":
    unittest.main()
