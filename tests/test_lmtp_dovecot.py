"""The lmtp client against a real Dovecot: Debian's dovecot-lmtpd on a
private UNIX socket (tests/dovecot.py DovecotLmtp), delivering into
Maildir, reached through transport_maps "lmtp.test lmtp:unix:PATH", and
mailbox_transport = lmtp:unix:PATH for local recipients.

Pinned from Debian's Postfix 3.7 against the same Dovecot 2.3 setup:
  to=<alice@lmtp.test>, relay=MYHOSTNAME[PATH], delay=..., dsn=2.0.0,
      status=sent (250 2.0.0 <alice@lmtp.test> ID Saved)
  to=<nobody@lmtp.test>, relay=MYHOSTNAME[PATH], ..., dsn=5.1.1,
      status=bounced (host MYHOSTNAME[PATH] said: 550 5.1.1
      <nobody@lmtp.test> User doesn't exist: nobody@lmtp.test (in reply
      to RCPT TO command))
  Dovecot stopped, socket gone: relay=none, dsn=4.4.1, status=deferred
      (connect to MYHOSTNAME[PATH]: No such file or directory)
  a stale socket nobody listens on: ... (connect to MYHOSTNAME[PATH]:
      Connection refused)
Dovecot writes Return-Path, and for a single recipient Delivered-To and
"for <rcpt>" in its Received header (with several recipients in one
transaction, neither).  The non-delivery notices go to the sender, who is
a Dovecot user too.
"""
import os
import pwd
import re
import shutil
import socket
import tempfile
import time
import unittest

import dovecot
import e2e

MASTER_CF = e2e.master_cf("pickup", "cleanup", "qmgr", "rewrite", "bounce",
                          "defer", "trace", "showq", "error", "local", "lmtp",
                          "postlog")

QID = r"[0-9A-F]{6,}"
DELAYS = r"delay=\d+(?:\.\d+)?, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+"
MAIL_USER = "pstdvlmtp"
USERS = ["alice@lmtp.test", "bob@lmtp.test", "carol@lmtp.test",
         "sender@lmtp.test", "dave@mx.example.test"]
LMTP_D = "/usr/lib/dovecot/lmtp"


class LmtpDovecotTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        dovecot.need_dovecot()
        if not os.path.exists(LMTP_D):
            raise unittest.SkipTest(
                "SKIPPED LOUDLY: dovecot-lmtpd is not installed, so the "
                "LMTP tests against a real Dovecot did not run")
        for rel in ("master/master", "qmgr/qmgr", "smtp/lmtp",
                    "sendmail/sendmail"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        e2e.ensure_users()
        e2e.remove_users([MAIL_USER])
        e2e.run(["useradd", "-r", "-M", "-d", "/nonexistent", "-s",
                 "/usr/sbin/nologin", MAIL_USER], check=True)
        pw = pwd.getpwnam(MAIL_USER)
        cls.top = tempfile.mkdtemp(prefix="postern-lmtpdv-")
        os.chmod(cls.top, 0o755)
        cls.dv = dovecot.DovecotLmtp(os.path.join(cls.top, "dovecot"),
                                     USERS, pw.pw_uid, pw.pw_gid)
        cls.inst = None
        try:
            cls.dv.start()
            extra = ("transport_maps = texthash:%s/transport\n"
                     "mailbox_transport = lmtp:unix:%s\n"
                     "alias_maps =\n"
                     "minimal_backoff_time = 300s\n"
                     "maximal_backoff_time = 600s\n"
                     "queue_run_delay = 300s\n" % (cls.top, cls.dv.socket))
            with open(os.path.join(cls.top, "transport"), "w") as f:
                f.write("lmtp.test lmtp:unix:%s\n" % cls.dv.socket)
            os.makedirs(os.path.join(cls.top, "inst"))
            cls.inst = e2e.Instance(os.path.join(cls.top, "inst"),
                                    MASTER_CF, extra)
            cls.inst.start()
        except BaseException:
            cls.tearDownClass()
            raise
        cls.relay = re.escape("mx.example.test[%s]" % cls.dv.socket)

    @classmethod
    def tearDownClass(cls):
        if cls.inst is not None:
            cls.inst.stop()
        cls.dv.stop()
        e2e.remove_users([MAIL_USER])
        if not os.environ.get("LMTP_TEST_KEEP"):
            shutil.rmtree(cls.top, ignore_errors=True)

    def send(self, rcpts, subject, sender="sender@lmtp.test"):
        r = e2e.run([os.path.join(self.inst.bin, "sendmail"), "-f", sender,
                     "--"] + rcpts,
                    input="Subject: %s\n\nbody of %s\n" % (subject, subject),
                    env={"MAIL_CONFIG": self.inst.conf})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def expect(self, pattern, timeout=30):
        m = self.inst.wait_log(pattern, timeout)
        self.assertIsNotNone(m, "no log line /%s/ in:\n%s\nDovecot:\n%s"
                             % (pattern, self.inst.log()[-5000:],
                                self.dv.log()[-2000:]))
        return m

    def status(self, rcpt, relay, dsn, status, text, timeout=30):
        return self.expect(
            r"postfix/lmtp\[\d+\]: (%s): to=<%s>, relay=%s, %s, "
            r"dsn=%s, status=%s \(%s\)$"
            % (QID, re.escape(rcpt), relay, DELAYS, re.escape(dsn), status,
               text), timeout)

    def mailbox(self, address, subject, timeout=30):
        """The message with this subject in address's Maildir new/."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for m in self.dv.new_messages(address):
                if "\nSubject: %s\n" % subject in m:
                    return m
            time.sleep(0.1)
        self.fail("no %r in %s's Maildir; Dovecot log:\n%s"
                  % (subject, address, self.dv.log()[-2000:]))

    def saved(self, rcpt):
        return self.status(rcpt, self.relay, "2.0.0", "sent",
                           r"250 2\.0\.0 <%s> \S+ Saved" % re.escape(rcpt))

    def test_a_delivered_to_maildir(self):
        """One recipient: Dovecot saves it into Maildir new/ with its
        Return-Path, Delivered-To and Received headers; Postfix's
        status=sent line with Dovecot's reply."""
        self.send(["alice@lmtp.test"], "lmtp one")
        self.saved("alice@lmtp.test")
        m = self.mailbox("alice@lmtp.test", "lmtp one")
        head = m.split("\n\n", 1)[0]
        self.assertTrue(head.startswith("Return-Path: <sender@lmtp.test>\n"
                                        "Delivered-To: alice@lmtp.test\n"
                                        "Received: from mx.example.test\n"),
                        head)
        self.assertIn("\tfor <alice@lmtp.test>; ", head)
        self.assertIn("(Postern, from userid 0)", head)
        self.assertTrue(m.endswith("\n\nbody of lmtp one\n"), m)
        # the file is the mail user's (Dovecot's userdb uid)
        new = os.path.join(self.dv.maildir("alice@lmtp.test"), "new")
        st = os.stat(os.path.join(new, os.listdir(new)[0]))
        self.assertEqual(st.st_uid, pwd.getpwnam(MAIL_USER).pw_uid)

    def test_b_unknown_and_known_in_one_transaction(self):
        """Two known recipients and an unknown one in one transaction:
        per-recipient results; the unknown one bounces with Dovecot's
        words, and the sender's notice quotes them."""
        self.send(["bob@lmtp.test", "nobody@lmtp.test", "carol@lmtp.test"],
                  "lmtp three")
        qid = self.saved("bob@lmtp.test").group(1)
        self.saved("carol@lmtp.test")
        host = re.escape("mx.example.test[%s]" % self.dv.socket)
        self.status("nobody@lmtp.test", self.relay, "5.1.1", "bounced",
                    r"host %s said: 550 5\.1\.1 <nobody@lmtp\.test> User "
                    r"doesn't exist: nobody@lmtp\.test \(in reply to RCPT "
                    r"TO command\)" % host)
        for who in ("bob@lmtp.test", "carol@lmtp.test"):
            head = self.mailbox(who, "lmtp three").split("\n\n", 1)[0]
            # several recipients: Dovecot adds no Delivered-To
            self.assertTrue(head.startswith(
                "Return-Path: <sender@lmtp.test>\nReceived: from "), head)
            self.assertNotIn("Delivered-To:", head)
        self.expect(r"postfix/bounce\[\d+\]: %s: sender non-delivery "
                    r"notification: %s$" % (qid, QID))
        ndr = self.mailbox("sender@lmtp.test",
                           "Undelivered Mail Returned to Sender")
        self.assertIn("Return-Path: <>\n", ndr)
        self.assertIn("Final-Recipient: rfc822; nobody@lmtp.test", ndr)
        self.assertIn("User doesn't exist: nobody@lmtp.test", ndr)
        self.assertNotIn("Final-Recipient: rfc822; bob@lmtp.test", ndr)
        self.expect(r"%s: removed" % qid)

    def test_b_mailbox_transport(self):
        """mailbox_transport = lmtp:unix:PATH: local passes a local
        recipient (no passwd entry needed) to lmtp, which delivers it to
        Dovecot as user@myhostname."""
        self.send(["dave"], "lmtp local")
        self.expect(r"postfix/lmtp\[\d+\]: %s: to=<dave@mx\.example\.test>, "
                    r"orig_to=<dave>, relay=%s, %s, dsn=2\.0\.0, "
                    r"status=sent \(250 2\.0\.0 <dave@mx\.example\.test> "
                    r"\S+ Saved\)$" % (QID, self.relay, DELAYS))
        head = self.mailbox("dave@mx.example.test",
                            "lmtp local").split("\n\n", 1)[0]
        self.assertIn("Delivered-To: dave@mx.example.test\n", head)

    def test_c_dovecot_down_defers(self):
        """Dovecot stopped (socket gone): deferred, "No such file or
        directory"; a stale socket: "Connection refused"; Dovecot back and
        a flush: delivered."""
        self.dv.stop()
        self.assertFalse(os.path.exists(self.dv.socket))
        stale = None
        try:
            self.send(["alice@lmtp.test"], "lmtp down")
            m = self.status(
                "alice@lmtp.test", "none", "4.4.1", "deferred",
                r"connect to %s: No such file or directory" % self.relay)
            qid = m.group(1)
            # (no separate "connect to" line for a UNIX socket)
            self.assertNotRegex(self.inst.log(),
                                r"postfix/lmtp\[\d+\]: connect to ")
            # bound, not listening: what a crashed server leaves
            stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            stale.bind(self.dv.socket)
            os.chmod(self.dv.socket, 0o666)
            self.send(["bob@lmtp.test"], "lmtp refused")
            self.status("bob@lmtp.test", "none", "4.4.1", "deferred",
                        r"connect to %s: Connection refused" % self.relay)
        finally:
            if stale is not None:
                stale.close()
                os.unlink(self.dv.socket)
            self.dv.start()
        r = e2e.run([os.path.join(self.inst.bin, "postqueue"), "-f"],
                    env={"MAIL_CONFIG": self.inst.conf})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.mailbox("alice@lmtp.test", "lmtp down")
        self.mailbox("bob@lmtp.test", "lmtp refused")
        self.expect(r"%s: removed" % qid)


if __name__ == "__main__":
    unittest.main()
