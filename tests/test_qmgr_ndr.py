"""qmgr asks for notices after each attempt, as Postfix 3.7 does: a
recipient that bounces gets its non-delivery notice right away while the
message's other recipients stay deferred, and a recipient delivered with
NOTIFY=SUCCESS its success notice; a later notice lists only the
recipients that failed later.

Observed with Debian's Postfix 3.7 (private instance, relayhost on an
aiosmtpd sink that answers 550 and 450 to RCPT): one attempt logs the
bounced and the deferred recipient, then "QID: sender non-delivery
notification: NEWQID", and the message stays in the queue with only the
deferred recipient (postqueue -p); the notice lists only the bounced one.
With -N success the "sender delivery status notification" goes out at
once too.  When the deferred recipient later bounces, the second notice
lists only it.
"""
import os
import re
import shutil
import tempfile
import threading
import time
import unittest

import e2e

try:
    from aiosmtpd.controller import Controller
    HAVE_AIOSMTPD = True
except ImportError:
    HAVE_AIOSMTPD = False

MASTER_CF = e2e.master_cf("pickup", "cleanup", "qmgr", "rewrite", "bounce",
                          "defer", "trace", "showq", "error", "smtp", "relay",
                          "postlog")

QID = r"[0-9A-F]{6,}"


class Sink:
    """bad*: 550; later*: 450 until gone() is called, then 550; else 250."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        self.later_gone = False

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        local = address.split("@")[0]
        if local.startswith("bad") or (local.startswith("later") and
                                       self.later_gone):
            return "550 5.1.1 <%s>: no such user" % address
        if local.startswith("later"):
            return "450 4.2.0 <%s>: try later" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append({
                "from": envelope.mail_from,
                "rcpts": list(envelope.rcpt_tos),
                "data": envelope.content.decode("utf-8", "replace"),
            })
        return "250 2.0.0 Ok: queued"

    def notices(self, to, subject):
        with self.lock:
            return [m for m in self.messages
                    if m["from"] in ("", "<>") and m["rcpts"] == [to] and
                    "Subject: %s" % subject in m["data"]]


class QmgrNdrTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for rel in ("master/master", "qmgr/qmgr", "smtp/smtp",
                    "bounce/bounce", "sendmail/sendmail"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        if not HAVE_AIOSMTPD:
            raise unittest.SkipTest("SKIPPED LOUDLY: no aiosmtpd (run with "
                                    "/usr/bin/python3)")
        cls.top = tempfile.mkdtemp(prefix="postern-ndr-")
        os.chmod(cls.top, 0o755)
        cls.sink = Sink()
        cls.port = e2e.free_port()
        cls.ctl = Controller(cls.sink, hostname="127.0.0.1", port=cls.port)
        cls.ctl.start()
        extra = ("relayhost = [127.0.0.1]:%d\n"
                 "smtp_dns_support_level = disabled\n"
                 "minimal_backoff_time = 300s\n"
                 "maximal_backoff_time = 600s\n"
                 "queue_run_delay = 300s\n" % cls.port)
        os.makedirs(os.path.join(cls.top, "inst"))
        cls.inst = e2e.Instance(os.path.join(cls.top, "inst"), MASTER_CF,
                                extra)
        try:
            cls.inst.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "inst", None):
            cls.inst.stop()
        cls.ctl.stop()
        shutil.rmtree(cls.top, ignore_errors=True)

    def send(self, rcpts, subject, sender, opts=()):
        r = e2e.run([os.path.join(self.inst.bin, "sendmail"), "-f", sender]
                    + list(opts) + ["--"] + rcpts,
                    input="Subject: %s\n\nbody\n" % subject,
                    env={"MAIL_CONFIG": self.inst.conf})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def expect(self, pattern, timeout=30):
        m = self.inst.wait_log(pattern, timeout)
        self.assertIsNotNone(m, "no log line /%s/ in:\n%s"
                             % (pattern, self.inst.log()[-5000:]))
        return m

    def wait_notice(self, to, subject, count=1, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.sink.notices(to, subject)
            if len(got) >= count:
                return got
            time.sleep(0.1)
        self.fail("no notice %r to %s; sink has %r"
                  % (subject, to, self.sink.messages))

    def mailq(self):
        r = e2e.run([os.path.join(self.inst.bin, "postqueue"), "-p"],
                    env={"MAIL_CONFIG": self.inst.conf})
        return r.stdout

    def queued(self, qid):
        for q in ("active", "deferred", "incoming"):
            for dirpath, _, files in os.walk(os.path.join(self.inst.queue,
                                                          q)):
                if qid in files:
                    return q
        return None

    def qid_of(self, rcpt):
        m = self.expect(r"(%s): to=<%s>, relay=" % (QID, re.escape(rcpt)))
        return m.group(1)

    def test_ndr_right_after_attempt(self):
        """550 and 450 in one attempt: the non-delivery notice for the
        bounced recipient goes out now, the other stays deferred; when it
        bounces later, the second notice lists only it."""
        self.send(["bad1@remote.test", "later1@remote.test"], "ndr1",
                  "snd1@remote.test")
        qid = self.qid_of("bad1@remote.test")
        self.expect(r"%s: to=<later1@remote\.test>, .*status=deferred" % qid)
        self.expect(r"postfix/bounce\[\d+\]: %s: sender non-delivery "
                    r"notification: %s$" % (qid, QID))
        notice = self.wait_notice("snd1@remote.test",
                                  "Undelivered Mail Returned to Sender")[0]
        self.assertIn("Final-Recipient: rfc822; bad1@remote.test",
                      notice["data"])
        self.assertNotIn("later1@remote.test", notice["data"].split(
            "Content-Description: Undelivered Message")[0])
        # the message waits in deferred/ for the deferred recipient only
        deadline = time.time() + 30
        while self.queued(qid) != "deferred" and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.queued(qid), "deferred")
        q = self.mailq()
        self.assertIn("later1@remote.test", q)
        self.assertNotIn("bad1@remote.test", q)
        self.assertNotIn("%s: removed" % qid, self.inst.log())
        self.assertFalse(os.path.exists(os.path.join(self.inst.queue,
                                                     "bounce", qid)))

        # the next attempt bounces the other one: a second notice, for it
        self.sink.later_gone = True
        try:
            r = e2e.run([os.path.join(self.inst.bin, "postqueue"), "-f"],
                        env={"MAIL_CONFIG": self.inst.conf})
            self.assertEqual(r.returncode, 0, r.stderr)
            self.expect(r"%s: to=<later1@remote\.test>, .*status=bounced"
                        % qid)
            self.expect(r"%s: removed" % qid)
            notices = self.wait_notice("snd1@remote.test",
                                       "Undelivered Mail Returned to Sender",
                                       count=2)
        finally:
            self.sink.later_gone = False
        second = notices[1]["data"].split(
            "Content-Description: Undelivered Message")[0]
        self.assertIn("Final-Recipient: rfc822; later1@remote.test", second)
        self.assertNotIn("bad1@remote.test", second)
        self.assertEqual(len(re.findall(
            r"%s: sender non-delivery notification" % qid,
            self.inst.log())), 2)

    def test_success_notice_right_after_attempt(self):
        """NOTIFY=SUCCESS: the success notice for the delivered recipient
        goes out while the other recipient stays deferred."""
        self.send(["ok2@remote.test", "later2@remote.test"], "dsn2",
                  "snd2@remote.test", opts=("-N", "success"))
        qid = self.qid_of("ok2@remote.test")
        self.expect(r"%s: to=<later2@remote\.test>, .*status=deferred" % qid)
        self.expect(r"postfix/bounce\[\d+\]: %s: sender delivery status "
                    r"notification: %s$" % (qid, QID))
        notice = self.wait_notice("snd2@remote.test",
                                  "Successful Mail Delivery Report")[0]
        report = notice["data"]
        self.assertIn("Final-Recipient: rfc822; ok2@remote.test", report)
        self.assertNotIn("later2@remote.test", report)
        deadline = time.time() + 30
        while self.queued(qid) != "deferred" and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.queued(qid), "deferred")
        self.assertIn("later2@remote.test", self.mailq())
        self.assertFalse(os.path.exists(os.path.join(self.inst.queue,
                                                     "trace", qid)))

    def test_bounce_service_down_keeps_the_notice(self):
        """The bounce service cannot be asked: the bounced recipient's
        entry stays in bounce/ and the message is deferred; the next
        attempt sends the notice, once, while the other recipient is
        still deferred."""
        conf = ["postconf", "-c", self.inst.conf, "-e"]
        bin_conf = [os.path.join(self.inst.bin, conf[0])] + conf[1:]
        e2e.run(bin_conf + ["bounce_service_name = nobounce"], check=True)
        self.assertEqual(self.inst.postfix("reload").returncode, 0)
        try:
            self.send(["bad3@remote.test", "later3@remote.test"], "ndr3",
                      "snd3@remote.test")
            qid = self.qid_of("bad3@remote.test")
            self.expect(r"%s: to=<later3@remote\.test>, .*status=deferred"
                        % qid)
            self.expect(r"postfix/qmgr\[\d+\]: warning: %s: connect to "
                        r"private/nobounce: " % qid)
            deadline = time.time() + 30
            while self.queued(qid) != "deferred" and time.time() < deadline:
                time.sleep(0.1)
            self.assertEqual(self.queued(qid), "deferred")
            self.assertTrue(os.path.exists(os.path.join(
                self.inst.queue, "bounce", qid)))
        finally:
            e2e.run(bin_conf + ["bounce_service_name = bounce"], check=True)
            self.assertEqual(self.inst.postfix("reload").returncode, 0)
        r = e2e.run([os.path.join(self.inst.bin, "postqueue"), "-f"],
                    env={"MAIL_CONFIG": self.inst.conf})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.expect(r"postfix/bounce\[\d+\]: %s: sender non-delivery "
                    r"notification: %s$" % (qid, QID))
        notice = self.wait_notice("snd3@remote.test",
                                  "Undelivered Mail Returned to Sender")[0]
        report = notice["data"].split(
            "Content-Description: Undelivered Message")[0]
        self.assertIn("Final-Recipient: rfc822; bad3@remote.test", report)
        self.assertNotIn("later3@remote.test", report)
        self.assertEqual(len(re.findall(
            r"%s: to=<bad3@remote\.test>" % qid, self.inst.log())), 1)
        # the deferred recipient was tried again and stays deferred
        self.expect(r"%s: to=<later3@remote\.test>, .*delay=.*"
                    r"status=deferred[^\n]*\n(?:.*\n)*.*%s: to=<later3"
                    % (qid, qid))
        deadline = time.time() + 30
        while self.queued(qid) != "deferred" and time.time() < deadline:
            time.sleep(0.1)
        self.assertIn("later3@remote.test", self.mailq())
        self.assertEqual(len(self.sink.notices(
            "snd3@remote.test", "Undelivered Mail Returned to Sender")), 1)


if __name__ == "__main__":
    unittest.main()
