"""smtpd end to end: SMTP conversations over 127.0.0.1 on a high port with a
full private instance (master, smtpd, cleanup, trivial-rewrite, qmgr,
local, postlogd), raw sockets and smtplib.  Reply texts and log lines are
Postfix 3.7's, as observed from Debian's Postfix run from a private
configuration.
"""
import os
import re
import shutil
import smtplib
import socket
import tempfile
import time
import unittest

import e2e

USERS = ("pstsmtp1",)
QID = r"[0-9A-F]{6,}"

MASTER_CF = e2e.master_cf("cleanup", "qmgr", "rewrite", "bounce", "defer",
                          "trace", "error", "retry", "local", "postlog") + """\
127.0.0.1:PORT inet n   -       n       -       -       smtpd
"""


# Postfix 3.7's EHLO reply, in its order
EHLO = ["250-mx.example.test", "250-PIPELINING", "250-SIZE 100000",
        "250-VRFY", "250-ETRN", "250-ENHANCEDSTATUSCODES", "250-8BITMIME",
        "250-DSN", "250-SMTPUTF8", "250 CHUNKING"]


class SmtpdTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for rel in ("master/master", "smtpd/smtpd", "cleanup/cleanup",
                    "trivial-rewrite/trivial-rewrite", "qmgr/qmgr",
                    "local/local", "postlogd/postlogd"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        cls.top = tempfile.mkdtemp(prefix="postern-smtpd-")
        os.chmod(cls.top, 0o755)
        cls.port = e2e.free_port()
        try:
            e2e.make_users(cls.top, USERS)
            cls.spool = os.path.join(cls.top, "mail")
            os.makedirs(cls.spool)
            os.chmod(cls.spool, 0o775)
            # (before mynetworks: test_reloaded_settings overrides it)
            extra = ("smtpd_error_sleep_time = 0s\n"
                     "myhostname = mx.example.test\n"
                     "mydomain = example.test\n"
                     "mydestination = $myhostname, localhost, $mydomain\n"
                     "mynetworks = 10.0.0.0/8\n"
                     "mail_spool_directory = %s\nbiff = no\n"
                     "alias_maps =\nsmtpd_timeout = 3s\n"
                     "message_size_limit = 100000\n"
                     "smtpd_recipient_limit = 3\n"
                     "smtpd_forbid_unauth_pipelining = no\n" % cls.spool)
            os.makedirs(os.path.join(cls.top, "inst"))
            cls.inst = e2e.Instance(
                os.path.join(cls.top, "inst"),
                MASTER_CF.replace("PORT", str(cls.port)), extra)
            cls.inst.start()
        except BaseException:
            e2e.remove_users(USERS)
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
        e2e.remove_users(USERS)
        shutil.rmtree(cls.top, ignore_errors=True)

    # helpers

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), 10)
        s.settimeout(10)
        f = s.makefile("rb")
        greeting = f.readline()
        self.assertEqual(greeting, b"220 mx.example.test ESMTP Postern\r\n")
        return s, f

    def replies(self, f, n):
        out = []
        while len(out) < n:
            line = f.readline()
            self.assertTrue(line, "connection closed after %r" % out)
            out.append(line.decode().rstrip("\r\n"))
        return out

    def talk(self, data, n):
        s, f = self.connect()
        s.sendall(data)
        r = self.replies(f, n)
        s.close()
        return r

    def expect(self, pattern, timeout=15):
        m = self.inst.wait_log(pattern, timeout)
        self.assertIsNotNone(m, "no log line /%s/ in:\n%s"
                             % (pattern, self.inst.log()[-4000:]))
        return m

    def mailbox(self, needle, timeout=15):
        path = os.path.join(self.spool, USERS[0])
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(path):
                with open(path, "rb") as fh:
                    text = fh.read()
                if needle in text:
                    return text
            time.sleep(0.1)
        self.fail("%r not in mailbox; log:\n%s"
                  % (needle, self.inst.log()[-4000:]))

    # tests

    def test_ehlo(self):
        r = self.talk(b"EHLO client.test\r\nQUIT\r\n", 11)
        self.assertEqual(r, EHLO + ["221 2.0.0 Bye"])
        self.expect(r"smtpd\[\d+\]: disconnect from localhost\[127\.0\.0\.1\] "
                    r"ehlo=1 quit=1 commands=2$")

    def test_smtplib_delivery(self):
        tag = "smtplib-%d" % time.time()
        with smtplib.SMTP("127.0.0.1", self.port) as c:
            c.ehlo("client.test")
            c.sendmail("sender@remote.test", [USERS[0] + "@example.test"],
                       "Subject: %s\n\n..dotted\nbody\n" % tag)
        box = self.mailbox(tag.encode())
        m = re.search(rb"Received: from client\.test \(localhost "
                      rb"\[127\.0\.0\.1\]\)\n\tby mx\.example\.test "
                      rb"\(Postern\) with ESMTP id (" + QID.encode() +
                      rb")\n\tfor <" + USERS[0].encode() +
                      rb"@example\.test>; \w\w\w, ", box)
        self.assertIsNotNone(m, box)
        self.assertIn(b"\n..dotted\nbody\n", box)
        qid = m.group(1).decode()
        # 127.0.0.1 is an inet_interfaces address: local_header_rewrite_clients
        # (permit_inet_interfaces) completes the headers as Postfix does
        self.assertRegex(box, rb"\nSubject: " + tag.encode() +
                         rb"\nMessage-Id: <\d{14}\." + qid.encode() +
                         rb"@mx\.example\.test>\nDate: \w\w\w, .*\n"
                         rb"From: sender@remote\.test\n\n")
        self.expect(r"smtpd\[\d+\]: connect from localhost\[127\.0\.0\.1\]$")
        self.expect(r"smtpd\[\d+\]: %s: client=localhost\[127\.0\.0\.1\]$"
                    % qid)
        self.expect(r"cleanup\[\d+\]: %s: message-id=" % qid)
        self.expect(r"smtpd\[\d+\]: disconnect from localhost\[127\.0\.0\.1\]"
                    r" ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5$")

    def test_pipelining_and_errors(self):
        rcpt = USERS[0] + "@example.test"
        data = ("HELO foo\r\nRCPT TO:<%s>\r\nDATA\r\nFOO\r\nHELP\r\n"
                "MAIL FROM:<a b>\r\nMAIL FROM:x\r\nMAIL FROM:<a@b>\r\n"
                "RCPT TO:<>\r\nRCPT TO:<x@other.test>\r\nRCPT TO:<%s>\r\n"
                "VRFY root\r\nNOOP\r\nRSET\r\nDATA\r\n"
                "MAIL FROM:<a@b> SIZE=999999999\r\n"
                "MAIL FROM:<a@b> BODY=FOO\r\nMAIL\r\nNO\0OP\r\n"
                "QUIT\r\n" % (rcpt, rcpt)).encode()
        r = self.talk(data, 20)
        self.assertEqual(r, [
            "250 mx.example.test",
            "503 5.5.1 Error: need MAIL command",
            "503 5.5.1 Error: need RCPT command",
            "500 5.5.2 Error: command not recognized",
            "500 5.5.2 Error: command not recognized",
            "501 5.1.7 Bad sender address syntax",
            "250 2.1.0 Ok",
            "503 5.5.1 Error: nested MAIL command",
            "501 5.1.3 Bad recipient address syntax",
            "454 4.7.1 <x@other.test>: Relay access denied",
            "250 2.1.5 Ok",
            "252 2.0.0 root",
            "250 2.0.0 Ok",
            "250 2.0.0 Ok",
            "503 5.5.1 Error: need RCPT command",
            "552 5.3.4 Message size exceeds fixed limit",
            "555 5.5.4 Unsupported option: BODY=FOO",
            "501 5.5.4 Syntax: MAIL FROM:<address>",
            "500 5.5.2 Error: command not recognized",
            "221 2.0.0 Bye"])
        self.expect(r"smtpd\[\d+\]: NOQUEUE: reject: RCPT from "
                    r"localhost\[127\.0\.0\.1\]: 454 4\.7\.1 <x@other\.test>:"
                    r" Relay access denied; from=<x> to=<x@other\.test> "
                    r"proto=SMTP helo=<foo>$")
        self.expect(r"smtpd\[\d+\]: warning: Illegal address syntax from "
                    r"localhost\[127\.0\.0\.1\] in MAIL command: <a b>$")
        self.expect(r"disconnect from localhost\[127\.0\.0\.1\] helo=1 "
                    r"mail=1/6 rcpt=1/4 data=0/2 rset=1 noop=1 vrfy=1 "
                    r"quit=1 unknown=0/3 commands=7/20$")

    def test_reloaded_settings(self):
        # relay permitted from mynetworks
        # smtpd_relay_restrictions permits what mynetworks would
        self.inst.write("main.cf", open(os.path.join(
            self.inst.conf, "main.cf")).read().replace(
                "mynetworks = 10.0.0.0/8", "mynetworks = 127.0.0.0/8"))
        self.inst.postfix("reload")
        time.sleep(1.5)
        try:
            r = self.talk(b"EHLO foo\r\nMAIL FROM:<a@b>\r\n"
                          b"RCPT TO:<x@other.test>\r\nRSET\r\nQUIT\r\n", 14)
            self.assertEqual(r[-4:], ["250 2.1.0 Ok", "250 2.1.5 Ok",
                                      "250 2.0.0 Ok", "221 2.0.0 Bye"])
            self.inst.write("main.cf", open(os.path.join(
                self.inst.conf, "main.cf")).read().replace(
                    "mynetworks = 127.0.0.0/8", "mynetworks = 10.0.0.0/8\n"
                    "smtpd_relay_restrictions = reject_unauth_destination\n"
                    "smtpd_soft_error_limit = 2\n"
                    "smtpd_error_sleep_time = 1s"))
            self.inst.postfix("reload")
            time.sleep(1.5)
            r = self.talk(b"EHLO foo\r\nMAIL FROM:<a@b>\r\n"
                          b"RCPT TO:<x@other.test>\r\nQUIT\r\n", 13)
            self.assertEqual(r[-3:], [
                "250 2.1.0 Ok",
                "554 5.7.1 <x@other.test>: Relay access denied",
                "221 2.0.0 Bye"])
            self.expect(r"NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1"
                        r"\]: 554 5\.7\.1 <x@other\.test>: Relay access "
                        r"denied; from=<a@b> to=<x@other\.test> proto=ESMTP "
                        r"helo=<foo>$")
            # past smtpd_soft_error_limit every reply waits a second
            s, f = self.connect()
            times = []
            t0 = time.time()
            for c in (b"HELO foo", b"FOO", b"FOO", b"FOO", b"NOOP"):
                s.sendall(c + b"\r\n")
                self.assertTrue(f.readline(), self.inst.log()[-2000:])
                times.append(time.time() - t0)
            f.close()
            s.close()
            self.assertLess(times[2], 0.9, times)
            self.assertGreater(times[3], 0.9, times)
            self.assertGreater(times[4] - times[3], 0.9, times)
        finally:
            self.inst.write("main.cf", open(os.path.join(
                self.inst.conf, "main.cf")).read().replace(
                    "mynetworks = 127.0.0.0/8", "mynetworks = 10.0.0.0/8")
                .replace("smtpd_relay_restrictions = "
                         "reject_unauth_destination\n"
                         "smtpd_soft_error_limit = 2\n"
                         "smtpd_error_sleep_time = 1s", ""))
            self.inst.postfix("reload")
            time.sleep(1.5)

    def test_more_replies(self):
        rcpt = USERS[0] + "@example.test"
        data = ("HELO\r\nHELO foo\r\nMAIL FROM:\r\nMAIL FROM:<>\r\n"
                "RCPT TO:<x@other.test>\r\nDATA\r\nMAIL FROM:<a@b>\r\n"
                "RCPT TO:\r\nRCPT TO:<%s> FOO=1\r\nDATA x\r\n"
                "VRFY\r\nVRFY <%s>\r\nMAIL FROM:<a@b> SIZE=abc\r\n"
                "RSET\r\nMAIL FROM:<a@b> SIZE=\r\n"
                "QUIT\r\n" % (rcpt, rcpt)).encode()
        r = self.talk(data, 16)
        self.assertEqual(r, [
            "501 Syntax: HELO hostname",
            "250 mx.example.test",
            "501 5.5.4 Syntax: MAIL FROM:<address>",
            "250 2.1.0 Ok",
            "454 4.7.1 <x@other.test>: Relay access denied",
            "554 5.5.1 Error: no valid recipients",
            "503 5.5.1 Error: nested MAIL command",
            "501 5.5.4 Syntax: RCPT TO:<address>",
            "555 5.5.4 Unsupported option: FOO=1",
            "501 5.5.4 Syntax: DATA",
            "501 5.5.4 Syntax: VRFY address",
            "252 2.0.0 <%s>" % rcpt,
            "503 5.5.1 Error: nested MAIL command",
            "250 2.0.0 Ok",
            "501 5.5.4 Bad message size syntax",
            "221 2.0.0 Bye"])

    def test_too_many_errors(self):
        s, f = self.connect()
        s.sendall(b"EHLO foo\r\n" + b"FOO\r\n" * 25)
        r = self.replies(f, 10 + 20 + 1)
        self.assertEqual(r[-2:], ["500 5.5.2 Error: command not recognized",
                                  "421 4.7.0 mx.example.test Error: too many "
                                  "errors"])
        self.assertEqual(f.readline(), b"")
        f.close()
        s.close()
        self.expect(r"smtpd\[\d+\]: too many errors after UNKNOWN from "
                    r"localhost\[127\.0\.0\.1\]$")
        self.expect(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 "
                    r"unknown=0/20 commands=1/21$")

    def test_received_two_recipients(self):
        tag = "two-%d" % time.time()
        with smtplib.SMTP("127.0.0.1", self.port) as c:
            c.helo("client.test")
            c.sendmail("sender@remote.test", [USERS[0] + "@example.test",
                                              USERS[0] + "@localhost"],
                       "Subject: %s\n\nbody\n" % tag)
        box = self.mailbox(tag.encode())
        self.assertRegex(box, rb"Received: from client\.test \(localhost "
                         rb"\[127\.0\.0\.1\]\)\n\tby mx\.example\.test "
                         rb"\(Postern\) with SMTP id " + QID.encode() +
                         rb";\n\t\w\w\w, [ \d]\d \w\w\w \d{4} "
                         rb"\d\d:\d\d:\d\d [+-]\d{4} \(\w+\)\nSubject: " +
                         tag.encode())

    def test_dot_and_bare_lf(self):
        tag = b"smuggle-%d" % int(time.time() * 1000)
        rcpt = USERS[0].encode() + b"@example.test"
        s, f = self.connect()
        s.sendall(b"EHLO foo\r\nMAIL FROM:<a@b>\r\nRCPT TO:<" + rcpt +
                  b">\r\nDATA\r\n")
        self.replies(f, 13)
        s.sendall(b"Subject: " + tag + b"\r\n\r\nline1\n.\nMAIL FROM:<evil>"
                  b"\r\n\n.\r\nstill body\r\n..two\r\n.\r\n")
        r = self.replies(f, 1)[0]
        self.assertRegex(r, r"^250 2\.0\.0 Ok: queued as " + QID + "$")
        s.sendall(b"QUIT\r\n")
        self.assertEqual(self.replies(f, 1), ["221 2.0.0 Bye"])
        s.close()
        box = self.mailbox(tag)
        self.assertIn(b"line1\n\nMAIL FROM:<evil>\n\n\nstill body\n.two\n",
                      box)

    def test_lost_connection_in_data(self):
        rcpt = USERS[0].encode() + b"@example.test"
        s, f = self.connect()
        s.sendall(b"EHLO foo\r\nMAIL FROM:<a@b>\r\nRCPT TO:<" + rcpt +
                  b">\r\nDATA\r\n")
        self.replies(f, 13)
        s.sendall(b"partial\r\n")
        time.sleep(0.3)
        f.close()
        s.close()
        m = self.expect(r"smtpd\[\d+\]: (%s): client=localhost.*\n(.*\n)*?"
                        r".*smtpd\[\d+\]: lost connection after DATA "
                        r"\(9 bytes\) from localhost\[127\.0\.0\.1\]$" % QID)
        qid = m.group(1)
        self.expect(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 "
                    r"mail=1 rcpt=1 data=0/1 commands=3/4$")
        time.sleep(1)
        for root, _, files in os.walk(self.inst.queue):
            self.assertNotIn(qid, files)

    def test_timeout(self):
        s, f = self.connect()
        s.sendall(b"EHLO foo\r\n")
        self.replies(f, 10)
        self.assertEqual(self.replies(f, 1),
                         ["421 4.4.2 mx.example.test Error: timeout exceeded"])
        s.close()
        self.expect(r"smtpd\[\d+\]: timeout after EHLO from "
                    r"localhost\[127\.0\.0\.1\]$")

    def test_too_big(self):
        rcpt = USERS[0].encode() + b"@example.test"
        r = self.talk(b"EHLO foo\r\nMAIL FROM:<a@b>\r\nRCPT TO:<" + rcpt +
                      b">\r\nDATA\r\n" + b"x" * 100 * 1100 + b"\r\n.\r\n"
                      b"DATA\r\nQUIT\r\n", 16)
        self.assertEqual(r[-3:], ["552 5.3.4 Error: message file too big",
                                  "503 5.5.1 Error: need RCPT command",
                                  "221 2.0.0 Bye"])
        self.expect(r"smtpd\[\d+\]: warning: %s: queue file size limit "
                    r"exceeded$" % QID)

    def test_long_line_and_recipient_limit(self):
        rcpt = USERS[0].encode() + b"@example.test"
        r = self.talk(b"EHLO foo\r\nNOOP " + b"x" * 3000 + b"\r\n"
                      b"MAIL FROM:<a@b>\r\n" +
                      b"RCPT TO:<" + rcpt + b">\r\n" * 1 +
                      (b"RCPT TO:<" + rcpt + b">\r\n") * 3 +
                      b"QUIT\r\n", 17)
        self.assertEqual(r[10:], ["250 2.0.0 Ok", "250 2.1.0 Ok",
                                 "250 2.1.5 Ok", "250 2.1.5 Ok",
                                 "250 2.1.5 Ok",
                                 "452 4.5.3 Error: too many recipients",
                                 "221 2.0.0 Bye"])
        self.expect(r"warning: localhost\[127\.0\.0\.1\]: request longer "
                    r"than 2048: NOOP xxxx")


if __name__ == "__main__":
    unittest.main()
