"""Notifications through a full private instance (master, pickup, cleanup,
trivial-rewrite, qmgr, local, bounce, error/retry, postlogd):

- sendmail -bv: the probe is not delivered; the sender gets a "Mail
  Delivery Status Report" with what would happen to each recipient, in
  Postfix 3.7's words (observed with Debian's Postfix 3.7.11:
  "delivery via local: delivers to mailbox", "unknown user", Action:
  deliverable/undeliverable, log status=deliverable/undeliverable);
- delay_warning_time: a message that stays deferred past it brings the
  sender one "Delayed Mail (still being retried)" notice.
"""
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import e2e

MASTER_CF = e2e.master_cf("postlog", "pickup", "cleanup", "qmgr", "rewrite",
                          "bounce", "defer", "trace", "local", "error",
                          "retry")

USERS = ("pstntf1", "pstntf2")


class Notify(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for rel in ("local/local", "qmgr/qmgr", "bounce/bounce",
                    "error/error", "pickup/pickup", "sendmail/sendmail"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        cls.top = tempfile.mkdtemp(prefix="postern-notify-")
        os.chmod(cls.top, 0o755)
        e2e.make_users(cls.top, USERS)
        cls.spool = os.path.join(cls.top, "mail")
        os.makedirs(cls.spool)
        os.chmod(cls.spool, 0o1777)
        aliases = os.path.join(cls.top, "aliases")
        with open(aliases, "w") as f:
            f.write("crew: pstntf2, nosuchuser2\n"
                    "tofile: %s/shared/out\n"
                    "tocmd: |/bin/cat\n" % cls.top)
        extra = ("mail_spool_directory = %s\nbiff = no\n"
                 "mydomain = example.test\nmyorigin = $mydomain\n"
                 "mydestination = $myhostname, localhost, $mydomain\n"
                 "alias_maps = hash:%s\n"
                 "allow_mail_to_files = alias\n"
                 "transport_maps = inline:{ "
                 "{ slow.test = retry:4.4.1 try later } }\n"
                 "delay_warning_time = 2s\n"
                 "queue_run_delay = 1s\nminimal_backoff_time = 1s\n"
                 "maximal_backoff_time = 1s\n" % (cls.spool, aliases))
        os.makedirs(os.path.join(cls.top, "inst"))
        cls.inst = e2e.Instance(os.path.join(cls.top, "inst"), MASTER_CF,
                                extra)
        env = dict(os.environ, MAIL_CONFIG=cls.inst.conf)
        subprocess.run([e2e.prog("postalias"), "hash:" + aliases], env=env,
                       check=True, capture_output=True)
        cls.inst.start()

    @classmethod
    def tearDownClass(cls):
        cls.inst.stop()
        e2e.remove_users(USERS)
        shutil.rmtree(cls.top, ignore_errors=True)

    def sendmail(self, args, text=""):
        return e2e.run([os.path.join(self.inst.bin, "sendmail")] + args,
                       input=text, env={"MAIL_CONFIG": self.inst.conf})

    def read(self, path):
        with open(path, errors="replace") as f:
            return f.read()

    def mailbox(self, user):
        path = os.path.join(self.spool, user)
        return self.read(path) if os.path.exists(path) else ""

    def wait_mailbox(self, user, needle, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if needle in self.mailbox(user):
                return self.mailbox(user)
            time.sleep(0.2)
        self.fail("%r not in %s's mailbox; log:\n%s"
                  % (needle, user, self.inst.log()[-4000:]))

    def report(self, user, qid):
        """The report about queue ID qid in user's mailbox."""
        text = self.wait_mailbox(user, "X-Postfix-Queue-ID: %s\n" % qid)
        for msg in re.split(r"\n(?=From MAILER-DAEMON )", text):
            if "X-Postfix-Queue-ID: %s\n" % qid in msg:
                # Long lines are folded at 79 columns, as Postfix folds
                # them; the texts are compared unfolded.
                return msg.replace("\n    ", " ")
        self.fail("no report for %s" % qid)

    def qid_for(self, to, orig=None):
        m = self.inst.wait_log(r"(\w+): to=<%s>, %s.*status=(deliverable|"
                               r"undeliverable)"
                               % (re.escape(to), "orig_to=<%s>" % orig
                                  if orig else "relay"))
        self.assertTrue(m, self.inst.log()[-4000:])
        return m.group(1)

    def test_verify_local_user(self):
        r = self.sendmail(["-bv", "-f", "pstntf1", "pstntf2"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "Mail Delivery Status Report will be "
                         "mailed to <pstntf1>.\n")
        qid = self.qid_for("pstntf2@example.test", "pstntf2")
        self.assertTrue(self.inst.wait_log(
            r"%s: to=<pstntf2@example.test>, orig_to=<pstntf2>, "
            r"relay=local, delay=[\d.]+, delays=[\d./]+, dsn=2.0.0, "
            r"status=deliverable \(delivers to mailbox\)" % qid))
        rep = self.report("pstntf1", qid)
        self.assertIn("\nSubject: Mail Delivery Status Report\n", rep)
        self.assertIn("\nFrom: Mail Delivery System "
                      "<MAILER-DAEMON@example.test>\n", rep)
        self.assertIn("\nEnclosed is the mail delivery report that you "
                      "requested.\n", rep)
        self.assertIn("\n<pstntf2@example.test> (expanded from <pstntf2>): "
                      "delivery via local: delivers to mailbox\n", rep)
        self.assertIn("\nAction: deliverable\nStatus: 2.0.0\n"
                      "Diagnostic-Code: X-Postfix; delivery via local: "
                      "delivers to mailbox\n", rep)
        self.assertNotIn("Remote-MTA", rep)
        self.assertIn("Content-Description: Message Headers\n"
                      "Content-Type: text/rfc822-headers\n", rep)
        self.assertIn("\nSubject: probe\n", rep)
        self.assertTrue(self.inst.wait_log(
            r"%s: sender delivery status notification: \w+" % qid))
        self.assertTrue(self.inst.wait_log(r"%s: removed" % qid))
        # Not delivered: the probe never reaches the mailbox.
        self.assertNotIn("Subject: probe\n\n", self.mailbox("pstntf2"))
        for d in ("trace", "defer", "bounce"):
            for _, _, files in os.walk(os.path.join(self.inst.queue, d)):
                self.assertNotIn(qid, files, d)

    def test_verify_unknown_and_aliases(self):
        r = self.sendmail(["-bv", "-f", "pstntf1",
                           "nosuchuser, tofile, tocmd"])
        self.assertEqual(r.returncode, 0, r.stderr)
        qid = self.qid_for("nosuchuser@example.test", "nosuchuser")
        self.assertTrue(self.inst.wait_log(
            r"%s: to=<nosuchuser@example.test>, orig_to=<nosuchuser>, "
            r"relay=local, .*dsn=5.1.1, status=undeliverable "
            r"\(unknown user: \"nosuchuser\"\)" % qid))
        rep = self.report("pstntf1", qid)
        self.assertIn("\n<nosuchuser@example.test> (expanded from "
                      "<nosuchuser>): delivery via local: unknown "
                      "user: \"nosuchuser\"\n", rep)
        self.assertIn("\nAction: undeliverable\nStatus: 5.1.1\n", rep)
        self.assertIn("delivery via local: delivers to file: %s/shared/out"
                      % self.top, rep)
        self.assertIn("delivery via local: delivers to command: /bin/cat",
                      rep)
        self.assertFalse(os.path.exists(os.path.join(self.top, "shared",
                                                     "out")))

    def test_verify_alias_list(self):
        # Postfix's local follows an alias to local users in-process in
        # verify mode: one report, each user under its own address.
        r = self.sendmail(["-bv", "-f", "pstntf1", "crew"])
        self.assertEqual(r.returncode, 0, r.stderr)
        qid = self.qid_for("pstntf2@example.test", "crew")
        self.assertTrue(self.inst.wait_log(
            r"%s: to=<pstntf2@example.test>, orig_to=<crew>, relay=local, "
            r".*dsn=2.0.0, status=deliverable \(delivers to mailbox\)"
            % qid))
        self.assertTrue(self.inst.wait_log(
            r"%s: to=<nosuchuser2@example.test>, orig_to=<crew>, "
            r"relay=local, .*dsn=5.1.1, status=undeliverable \(unknown "
            r"user: \"nosuchuser2\"\)" % qid))
        rep = self.report("pstntf1", qid)
        self.assertIn("\n<pstntf2@example.test> (expanded from <crew>): "
                      "delivery via local: delivers to mailbox\n", rep)
        self.assertIn("\n<nosuchuser2@example.test> (expanded from <crew>): "
                      "delivery via local: unknown user: \"nosuchuser2\"\n",
                      rep)
        self.assertIn("\nFinal-Recipient: rfc822; pstntf2@example.test\n"
                      "Original-Recipient: rfc822;crew@example.test\n"
                      "Action: deliverable\n", rep)
        self.assertNotIn("forwarded", rep)
        self.assertTrue(self.inst.wait_log(r"%s: removed" % qid))

    def test_verify_error_transport(self):
        r = self.sendmail(["-bv", "-f", "pstntf1", "foo@slow.test"])
        self.assertEqual(r.returncode, 0, r.stderr)
        qid = self.qid_for("foo@slow.test")
        self.assertTrue(self.inst.wait_log(
            r"%s: to=<foo@slow.test>, relay=none, .*dsn=4.4.1, "
            r"status=undeliverable \(try later\)" % qid))
        rep = self.report("pstntf1", qid)
        # relay=none: no "delivery via" (as Postfix's error agent).
        self.assertIn("\n<foo@slow.test>: try later\n", rep)
        self.assertIn("\nAction: undeliverable\nStatus: 4.4.1\n"
                      "Diagnostic-Code: X-Postfix; try later\n", rep)
        self.assertTrue(self.inst.wait_log(r"%s: removed" % qid))

    def test_delay_warning(self):
        r = self.sendmail(["-f", "pstntf2", "someone@slow.test"],
                          "Subject: slow one\n\nbody\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = self.inst.wait_log(r"(\w+): to=<someone@slow.test>, relay=none, "
                               r".*status=deferred \(try later\)")
        self.assertTrue(m, self.inst.log()[-4000:])
        qid = m.group(1)
        rep = self.report("pstntf2", qid)
        self.assertIn("\nSubject: Delayed Mail (still being retried)\n", rep)
        self.assertIn("\n<someone@slow.test>: try later\n", rep)
        self.assertIn("\nAction: delayed\nStatus: 4.4.1\n", rep)
        self.assertTrue(self.inst.wait_log(
            r"%s: sender delay notification: \w+" % qid))
        # Further attempts: deferred again, but no second warning.
        n = len(re.findall(r"%s: to=<someone@slow.test>" % qid,
                           self.inst.log()))
        deadline = time.time() + 20
        while time.time() < deadline and len(re.findall(
                r"%s: to=<someone@slow.test>" % qid, self.inst.log())) < n + 2:
            time.sleep(0.3)
        self.assertGreaterEqual(len(re.findall(
            r"%s: to=<someone@slow.test>" % qid, self.inst.log())), n + 2)
        self.assertEqual(len(re.findall(
            r"%s: sender delay notification" % qid, self.inst.log())), 1)
        self.assertEqual(self.mailbox("pstntf2").count(
            "X-Postfix-Queue-ID: %s\n" % qid), 1)


if __name__ == "__main__":
    unittest.main()
