"""Delivery end to end: sendmail -> postdrop -> pickup -> cleanup -> qmgr ->
local/error -> mailbox, bounce notices, the deferred queue, postqueue and
postsuper, all through the real programs of a full private instance
(master, pickup, cleanup, trivial-rewrite, qmgr, local, bounce, error,
showq, postlogd).

What is checked is what an admin checks: mailbox contents (mbox and
Maildir), the log lines in Postfix's exact format and order, the queue
directories, and postqueue/mailq/postsuper output.  Test users are created
with useradd and removed at the end.
"""
import glob
import json
import os
import pwd
import re
import socket
import shutil
import subprocess
import tempfile
import time
import unittest

import e2e

MASTER_CF = e2e.master_cf("pickup", "cleanup", "qmgr", "rewrite", "bounce",
                          "defer", "trace", "showq", "error", "retry", "local",
                          "postlog")

USERS = ("pstdlv1", "pstdlv2", "pstdlv3", "pstdlv4", "pstdlv5")
# Domains that the transport map sends to the retry service (deferred).
SLOW = {"slow.test": "retry:4.4.1 slow destination",
        "hold.test": "retry:4.4.1 held destination",
        "redo.test": "retry:4.4.1 redo later"}

QID = r"[0-9A-F]{6,}"
DELAYS = r"delay=\d+(?:\.\d+)?, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+"
DATE_822 = (r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [ \d]\d "
            r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
            r"\d\d:\d\d:\d\d [+-]\d{4} \(\w+\)")
DATE_CTIME = (r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) "
              r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
              r"[ \d]\d \d\d:\d\d:\d\d \d{4}")
HEADER = ("-Queue ID-  --Size-- ----Arrival Time---- "
          "-Sender/Recipient-------\n")


class DeliveryBase(unittest.TestCase):
    main_extra = ""

    @classmethod
    def setUpClass(cls):
        for rel in ("master/master", "pickup/pickup", "cleanup/cleanup",
                    "trivial-rewrite/trivial-rewrite", "qmgr/qmgr",
                    "local/local", "bounce/bounce", "error/error",
                    "showq/showq", "postlogd/postlogd", "sendmail/sendmail",
                    "postdrop/postdrop", "postqueue/postqueue",
                    "postsuper/postsuper"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        cls.top = tempfile.mkdtemp(prefix="postern-dlv-")
        os.chmod(cls.top, 0o755)
        try:
            cls.homes = e2e.make_users(cls.top, USERS)
            cls.spool = os.path.join(cls.top, "mail")
            os.makedirs(cls.spool)
            os.chmod(cls.spool, 0o775)
            cls.shared = os.path.join(cls.top, "shared")
            os.makedirs(cls.shared)
            os.chmod(cls.shared, 0o1777)
            extra = ("mydomain = example.test\nmyorigin = $mydomain\n"
                     "mydestination = $myhostname, localhost, $mydomain, "
                     "slow.test, hold.test, redo.test\n"
                     "mail_spool_directory = %s\nbiff = no\n"
                     "recipient_delimiter = +\n"
                     "alias_maps = hash:%s/aliases\n"
                     "transport_maps = texthash:%s/transport\n"
                     % (cls.spool, cls.top, cls.top)) + cls.main_extra
            os.makedirs(os.path.join(cls.top, "inst"))
            cls.inst = e2e.Instance(os.path.join(cls.top, "inst"), MASTER_CF,
                                    extra)
            cls.slow = dict(SLOW)
            cls.write_transport()
            cls.prepare()
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
    def prepare(cls):
        cls.postalias("postmaster: root\n")

    @classmethod
    def tearDownClass(cls):
        cls.inst.stop()
        if os.environ.get("POSTERN_KEEP_LOG"):
            shutil.copy(cls.inst.maillog, os.environ["POSTERN_KEEP_LOG"] +
                        "." + cls.__name__)
        e2e.remove_users(USERS)
        shutil.rmtree(cls.top, ignore_errors=True)

    @classmethod
    def write_transport(cls):
        with open(os.path.join(cls.top, "transport"), "w") as f:
            for dom, tr in sorted(cls.slow.items()):
                f.write("%s %s\n" % (dom, tr))

    @classmethod
    def postalias(cls, text):
        path = os.path.join(cls.top, "aliases")
        with open(path, "w") as f:
            f.write(text)
        subprocess.run([e2e.prog("postalias"), "hash:" + path],
                       env=dict(os.environ, MAIL_CONFIG=cls.inst.conf),
                       check=True, capture_output=True)

    # -- helpers ---------------------------------------------------------

    def reload_without(self, domain):
        """Fix the configuration: domain is delivered locally again."""
        self.slow.pop(domain, None)
        self.write_transport()
        before = len(re.findall(r"master\[\d+\]: reload", self.inst.log()))
        r = self.inst.postfix("reload")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        deadline = time.time() + 10
        while time.time() < deadline and len(re.findall(
                r"master\[\d+\]: reload", self.inst.log())) <= before:
            time.sleep(0.1)
        # Give qmgr time to restart with the new configuration.
        time.sleep(0.5)

    def cmd(self, name, *args, input=None):
        return e2e.run([os.path.join(self.inst.bin, name)] + list(args),
                       input=input, env={"MAIL_CONFIG": self.inst.conf})

    def sendmail(self, args, text):
        self.mark = len(self.inst.log())
        r = self.cmd("sendmail", *args, input=text)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def qid_from(self, sender, timeout=15):
        """The queue ID that pickup gave the last message from sender."""
        pat = (r"postfix/pickup\[\d+\]: (%s): uid=0 from=<%s>$"
               % (QID, re.escape(sender)))
        deadline = time.time() + timeout
        while True:
            m = re.search(pat, self.inst.log()[self.mark:], re.M)
            if m:
                return m.group(1)
            if time.time() > deadline:
                self.fail("no log line /%s/ in:\n%s"
                          % (pat, self.inst.log()[-4000:]))
            time.sleep(0.1)

    def expect(self, pattern, timeout=15):
        m = self.inst.wait_log(pattern, timeout)
        self.assertIsNotNone(m, "no log line /%s/ in:\n%s"
                             % (pattern, self.inst.log()[-4000:]))
        return m

    def read(self, path):
        with open(path, errors="replace") as f:
            return f.read()

    def wait_file(self, path, needle, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(path) and needle in self.read(path):
                return self.read(path)
            time.sleep(0.1)
        self.fail("%r not in %s; log:\n%s" % (needle, path,
                                              self.inst.log()[-4000:]))

    def mailbox(self, user, needle, timeout=15):
        return self.wait_file(os.path.join(self.spool, user), needle,
                              timeout)

    def find(self, queue, qid):
        for root, _, files in os.walk(os.path.join(self.inst.queue, queue)):
            if qid in files:
                return os.path.join(root, qid)
        return None

    def wait_in(self, queue, qid, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            p = self.find(queue, qid)
            if p is not None:
                return p
            time.sleep(0.1)
        self.fail("%s not in %s/; log:\n%s" % (qid, queue,
                                               self.inst.log()[-4000:]))

    def wait_empty(self, timeout=15):
        deadline = time.time() + timeout
        while True:
            r = self.cmd("postqueue", "-p")
            if r.stdout == "Mail queue is empty\n" or time.time() > deadline:
                return r
            time.sleep(0.2)

    def message_log(self, qid):
        return [line for line in self.inst.log().splitlines()
                if re.search(r"\]: %s: " % qid, line)]


class DeliveryMbox(DeliveryBase):
    main_extra = "default_privs = nobody\n"

    @classmethod
    def prepare(cls):
        sh = cls.shared
        cls.postalias(
            "crew: pstdlv1, pstdlv2\n"
            "tofile: %s/file.out\n"
            "tocmd: \"|cat > %s/cmd.out\"\n"
            "cyca: cycb\n"
            "cycb: cyca\n"
            "mixed: crew, pstdlv3, far@slow.test\n"
            "staff: pstdlv2\n"
            "owner-staff: pstdlv4\n" % (sh, sh))
        # pstdlv3: a .forward to its own mailbox and a file in its home.
        home = cls.homes["pstdlv3"]
        pw = pwd.getpwnam("pstdlv3")
        fwd = os.path.join(home, ".forward")
        with open(fwd, "w") as f:
            f.write("# keep a copy\n\\pstdlv3, %s/saved.mbox\n" % home)
        os.chown(fwd, pw.pw_uid, pw.pw_gid)
        os.chmod(fwd, 0o644)

    def test_mbox(self):
        self.sendmail(["-f", "alice@example.test", "pstdlv1"],
                      "Subject: mbox test\n"
                      "Message-ID: <mbox.1@example.test>\n"
                      "\n"
                      "From the start\n"
                      ">From already quoted\n"
                      "last line\n")
        qid = self.qid_from("alice@example.test")
        text = self.mailbox("pstdlv1", "last line")
        text = text[text.rindex("From alice@example.test "):]
        pat = (r"From alice@example\.test  %s\n"
               r"Return-Path: <alice@example\.test>\n"
               r"X-Original-To: pstdlv1\n"
               r"Delivered-To: pstdlv1@example\.test\n"
               r"Received: by mx\.example\.test \(Postern, from userid 0\)\n"
               r"\tid %s; %s\n" % (DATE_CTIME, qid, DATE_822))
        self.assertRegex(text, "^" + pat)
        self.assertIn("Subject: mbox test\n", text)
        self.assertIn("Message-ID: <mbox.1@example.test>\n", text)
        self.assertIn("\n\n>From the start\n>From already quoted\n"
                      "last line\n\n", text)
        self.assertTrue(text.endswith("last line\n\n"), text[-200:])
        st = os.stat(os.path.join(self.spool, "pstdlv1"))
        self.assertEqual(st.st_uid, pwd.getpwnam("pstdlv1").pw_uid)
        self.expect(r"%s: removed$" % qid)
        lines = self.message_log(qid)
        want = [
            r"postfix/pickup\[\d+\]: %s: uid=0 from=<alice@example\.test>$",
            r"postfix/cleanup\[\d+\]: %s: message-id=<mbox\.1@example\.test>$",
            r"postfix/qmgr\[\d+\]: %s: from=<alice@example\.test>, "
            r"size=\d+, nrcpt=1 \(queue active\)$",
            r"postfix/local\[\d+\]: %s: to=<pstdlv1@example\.test>, "
            r"orig_to=<pstdlv1>, relay=local, " + DELAYS +
            r", dsn=2\.0\.0, status=sent \(delivered to mailbox\)$",
            r"postfix/qmgr\[\d+\]: %s: removed$"]
        self.assertEqual(len(lines), len(want), "\n".join(lines))
        for line, pat in zip(lines, want):
            self.assertRegex(line, pat.replace("%s", qid))
        # The size in the log is the size postqueue would show: the
        # message content, without the envelope.
        size = int(re.search(r"size=(\d+)", lines[2]).group(1))
        self.assertGreater(size, 100)
        self.assertLess(size, 400)

    def test_alias_to_several_users(self):
        # Postfix 3.7 (observed): local members are delivered in the same
        # process, one status line each, orig_to the alias; the mailboxes
        # get one Delivered-To: header, the alias.
        self.sendmail(["-f", "bob@example.test", "crew"],
                      "Subject: crew\n\ncrew message\n")
        qid = self.qid_from("bob@example.test")
        for user in ("pstdlv1", "pstdlv2"):
            text = self.mailbox(user, "crew message")
            part = text[text.rindex("From bob@example.test "):]
            head = part[:part.index("\n\n")]
            self.assertRegex(head, r"^From bob@example\.test  .*\n"
                             r"Return-Path: <bob@example\.test>\n"
                             r"X-Original-To: crew\n"
                             r"Delivered-To: crew@example\.test\n"
                             r"Received: ")
            self.assertEqual(head.count("Delivered-To:"), 1, head)
        self.expect(r"%s: removed$" % qid)
        lines = [x for x in self.message_log(qid) if "postfix/local" in x]
        want = [r"postfix/local\[\d+\]: %s: to=<%s@example\.test>, "
                r"orig_to=<crew>, relay=local, %s, dsn=2\.0\.0, "
                r"status=sent \(delivered to mailbox\)$" % (qid, u, DELAYS)
                for u in ("pstdlv1", "pstdlv2")]
        self.assertEqual(len(lines), 2, "\n".join(lines))
        for line, pat in zip(lines, want):
            self.assertRegex(line, pat)

    def test_alias_nested_and_remote(self):
        # mixed: a nested alias and a local user in-process; the
        # non-local address resubmitted as one new message, logged for the
        # alias after the local deliveries (Postfix 3.7, observed).
        self.sendmail(["-f", "bob@example.test", "mixed"],
                      "Subject: mixed\n\nmixed message\n")
        qid = self.qid_from("bob@example.test")
        for user in ("pstdlv1", "pstdlv2", "pstdlv3"):
            text = self.mailbox(user, "mixed message")
            part = text[text.rindex("From bob@example.test "):]
            self.assertIn("X-Original-To: mixed\nDelivered-To: "
                          "mixed@example.test\n", part)
        m = self.expect(r"postfix/local\[\d+\]: %s: to=<mixed@example\.test>"
                        r", orig_to=<mixed>, relay=local, %s, dsn=2\.0\.0, "
                        r"status=sent \(forwarded as (%s)\)$"
                        % (qid, DELAYS, QID))
        newid = m.group(1)
        self.expect(r"%s: removed$" % qid)
        lines = [x for x in self.message_log(qid) if "postfix/local" in x]
        # pstdlv1, pstdlv2, pstdlv3's mailbox and saved.mbox, forwarded.
        self.assertEqual(len(lines), 5, "\n".join(lines))
        for line, user in zip(lines, ("pstdlv1", "pstdlv2")):
            self.assertRegex(line, r"to=<%s@example\.test>, orig_to=<mixed>"
                             r", relay=local, .*\(delivered to mailbox\)$"
                             % user)
        self.assertIn("forwarded as", lines[-1])
        # pstdlv3's .forward keeps a copy in its mailbox (\pstdlv3).
        self.expect(r"%s: to=<pstdlv3@example\.test>, orig_to=<mixed>, "
                    r"relay=local, %s, dsn=2\.0\.0, status=sent \(delivered "
                    r"to mailbox\)$" % (qid, DELAYS))
        self.expect(r"postfix/qmgr\[\d+\]: %s: from=<bob@example\.test>, "
                    r"size=\d+, nrcpt=1 \(queue active\)$" % newid)
        self.expect(r"postfix/error\[\d+\]: %s: to=<far@slow\.test>, "
                    r"orig_to=<mixed>, relay=none, %s, dsn=4\.4\.1, "
                    r"status=deferred \(slow destination\)$"
                    % (newid, DELAYS))
        path = self.wait_in("deferred", newid)
        r = self.cmd("postsuper", "-d", newid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(path))

    def test_alias_owner_resubmits(self):
        # With owner-staff, every member (local ones too) is resubmitted
        # with the owner as sender, each its own original recipient
        # (Postfix 3.7, observed).
        self.sendmail(["-f", "bob@example.test", "staff"],
                      "Subject: staff\n\nstaff message\n")
        qid = self.qid_from("bob@example.test")
        m = self.expect(r"postfix/local\[\d+\]: %s: to=<staff@example\.test>"
                        r", orig_to=<staff>, relay=local, %s, dsn=2\.0\.0, "
                        r"status=sent \(forwarded as (%s)\)$"
                        % (qid, DELAYS, QID))
        newid = m.group(1)
        self.expect(r"postfix/qmgr\[\d+\]: %s: from=<owner-staff@example"
                    r"\.test>, size=\d+, nrcpt=1 \(queue active\)$" % newid)
        self.expect(r"postfix/local\[\d+\]: %s: to=<pstdlv2@example\.test>, "
                    r"relay=local, %s, dsn=2\.0\.0, status=sent \(delivered "
                    r"to mailbox\)$" % (newid, DELAYS))
        text = self.mailbox("pstdlv2", "staff message")
        part = text[text.rindex("From owner-staff@example.test "):]
        self.assertIn("Return-Path: <owner-staff@example.test>\n"
                      "X-Original-To: pstdlv2@example.test\n"
                      "Delivered-To: pstdlv2@example.test\n", part)
        self.assertIn("\nDelivered-To: staff@example.test\n", part)

    def test_alias_to_file_and_command(self):
        self.sendmail(["-f", "carol@example.test", "tofile", "tocmd"],
                      "Subject: pipes\n\nto a file and a command\n")
        qid = self.qid_from("carol@example.test")
        text = self.wait_file(os.path.join(self.shared, "file.out"),
                              "to a file and a command")
        self.assertRegex(text, r"^From carol@example\.test  ")
        self.assertIn("Delivered-To: tofile@example.test\n", text)
        st = os.stat(os.path.join(self.shared, "file.out"))
        self.assertEqual(st.st_uid, pwd.getpwnam("nobody").pw_uid)
        text = self.wait_file(os.path.join(self.shared, "cmd.out"),
                              "to a file and a command")
        self.assertIn("Delivered-To: tocmd@example.test\n", text)
        self.assertIn("Return-Path: <carol@example.test>\n", text)
        # Commands get the From_ line too (procmail needs it).
        self.assertRegex(text, r"^From carol@example\.test  ")
        self.expect(r"postfix/local\[\d+\]: %s: to=<tofile@example\.test>, "
                    r"orig_to=<tofile>, relay=local, %s, dsn=2\.0\.0, "
                    r"status=sent \(delivered to file: %s/file\.out\)$"
                    % (qid, DELAYS, re.escape(self.shared)))
        self.expect(r"postfix/local\[\d+\]: %s: to=<tocmd@example\.test>, "
                    r"orig_to=<tocmd>, relay=local, %s, dsn=2\.0\.0, "
                    r"status=sent \(delivered to command: cat > %s/cmd\.out"
                    r"\)$" % (qid, DELAYS, re.escape(self.shared)))
        self.expect(r"%s: removed$" % qid)

    def test_dot_forward(self):
        self.sendmail(["-f", "dave@example.test", "pstdlv3"],
                      "Subject: fwd\n\nforwarded copy\n")
        qid = self.qid_from("dave@example.test")
        text = self.mailbox("pstdlv3", "forwarded copy")
        self.assertIn("Delivered-To: pstdlv3@example.test\n", text)
        saved = os.path.join(self.homes["pstdlv3"], "saved.mbox")
        text = self.wait_file(saved, "forwarded copy")
        self.assertRegex(text, r"(?m)^From dave@example\.test  ")
        self.assertEqual(os.stat(saved).st_uid,
                         pwd.getpwnam("pstdlv3").pw_uid)
        self.expect(r"postfix/local\[\d+\]: %s: to=<pstdlv3@example\.test>, "
                    r"orig_to=<pstdlv3>, relay=local, %s, dsn=2\.0\.0, "
                    r"status=sent \(delivered to file: %s\)$"
                    % (qid, DELAYS, re.escape(saved)))
        self.expect(r"postfix/local\[\d+\]: %s: to=<pstdlv3@example\.test>, "
                    r"orig_to=<pstdlv3>, relay=local, %s, dsn=2\.0\.0, "
                    r"status=sent \(delivered to mailbox\)$" % (qid, DELAYS))
        self.expect(r"%s: removed$" % qid)

    def test_extension(self):
        self.sendmail(["-f", "erin@example.test", "pstdlv2+lists"],
                      "Subject: ext\n\nwith an extension\n")
        qid = self.qid_from("erin@example.test")
        text = self.mailbox("pstdlv2", "with an extension")
        part = text[text.rindex("From erin@example.test "):]
        self.assertIn("X-Original-To: pstdlv2+lists\n", part)
        self.assertIn("Delivered-To: pstdlv2+lists@example.test\n", part)
        self.expect(r"postfix/local\[\d+\]: %s: "
                    r"to=<pstdlv2\+lists@example\.test>, "
                    r"orig_to=<pstdlv2\+lists>, relay=local, %s, "
                    r"dsn=2\.0\.0, status=sent \(delivered to mailbox\)$"
                    % (qid, DELAYS))

    def test_unknown_user_bounces_to_sender(self):
        self.sendmail(["-f", "pstdlv4@example.test", "nosuchuser"],
                      "Subject: lost mail\nX-Marker: original-header\n\n"
                      "body of the lost mail\n")
        qid = self.qid_from("pstdlv4@example.test")
        self.expect(r"postfix/local\[\d+\]: %s: to=<nosuchuser@example\.test>"
                    r", orig_to=<nosuchuser>, relay=local, %s, dsn=5\.1\.1, "
                    r"status=bounced \(unknown user: \"nosuchuser\"\)$"
                    % (qid, DELAYS))
        m = self.expect(r"postfix/bounce\[\d+\]: %s: sender non-delivery "
                        r"notification: (%s)$" % (qid, QID))
        ndr = m.group(1)
        self.expect(r"postfix/qmgr\[\d+\]: %s: removed$" % qid)
        self.expect(r"postfix/qmgr\[\d+\]: %s: from=<>, size=\d+, nrcpt=1 "
                    r"\(queue active\)$" % ndr)
        self.expect(r"postfix/local\[\d+\]: %s: to=<pstdlv4@example\.test>, "
                    r"relay=local, %s, dsn=2\.0\.0, status=sent \(delivered "
                    r"to mailbox\)$" % (ndr, DELAYS))
        self.expect(r"postfix/qmgr\[\d+\]: %s: removed$" % ndr)
        text = self.mailbox("pstdlv4", "original-header")
        text = text[text.rindex("From MAILER-DAEMON "):]
        self.assertRegex(text, r"^From MAILER-DAEMON  ")
        self.assertIn("Return-Path: <>\n", text)
        self.assertIn("Subject: Undelivered Mail Returned to Sender\n", text)
        self.assertIn("From: Mail Delivery System "
                      "<MAILER-DAEMON@example.test>\n", text)
        self.assertIn("To: pstdlv4@example.test\n", text)
        self.assertIn("Content-Type: multipart/report; "
                      "report-type=delivery-status;", text)
        self.assertIn("<nosuchuser@example.test> (expanded from "
                      "<nosuchuser>): unknown user: \"nosuchuser\"",
                      " ".join(text.split()))
        self.assertIn("Original-Recipient: rfc822;nosuchuser@example.test\n",
                      text)
        self.assertIn("Final-Recipient: rfc822; nosuchuser@example.test\n",
                      text)
        self.assertIn("Action: failed\n", text)
        self.assertIn("Status: 5.1.1\n", text)
        self.assertIn("Content-Type: message/rfc822\n", text)
        self.assertIn("Subject: lost mail\n", text)
        self.assertIn("X-Marker: original-header\n", text)
        self.assertIn("body of the lost mail\n", text)

    def test_delivered_to_loop_bounces(self):
        # Mail that already went through this mailbox: Postfix's
        # Delivered-To: loop check, 5.4.6, a DSN with the message.
        self.sendmail(["-f", "pstdlv4@example.test", "pstdlv1"],
                      "Delivered-To: pstdlv1@example.test\n"
                      "Subject: came back\n\nback again\n")
        qid = self.qid_from("pstdlv4@example.test")
        self.expect(r"postfix/local\[\d+\]: %s: to=<pstdlv1@example\.test>, "
                    r"orig_to=<pstdlv1>, relay=local, %s, dsn=5\.4\.6, "
                    r"status=bounced \(mail forwarding loop for "
                    r"pstdlv1@example\.test\)$" % (qid, DELAYS))
        self.expect(r"postfix/bounce\[\d+\]: %s: sender non-delivery "
                    r"notification: %s$" % (qid, QID))
        self.expect(r"postfix/qmgr\[\d+\]: %s: removed$" % qid)
        text = self.mailbox("pstdlv4", "back again")
        part = text[text.rindex("From MAILER-DAEMON "):]
        self.assertIn("Status: 5.4.6\n", part)
        self.assertIn("Subject: came back\n", part)
        self.assertNotIn("back again", self.read(
            os.path.join(self.spool, "pstdlv1")))

    def test_alias_loop_bounces(self):
        # cyca -> cycb -> cyca ...: Postfix 3.7 (observed) logs a warning
        # and bounces the address 101 expansion steps down.
        self.sendmail(["-f", "pstdlv4@example.test", "cyca"],
                      "Subject: going round\n\nround and round\n")
        qid = self.qid_from("pstdlv4@example.test")
        self.expect(r"postfix/local\[\d+\]: warning: alias database loop "
                    r"for cycb$")
        m = self.expect(r"postfix/local\[\d+\]: (%s): to=<cycb@example"
                        r"\.test>, orig_to=<cyca>, relay=local, %s, "
                        r"dsn=5\.4\.6, status=bounced \((alias database "
                        r"loop for cycb)\)$" % (qid, DELAYS), 30)
        self.expect(r"postfix/bounce\[\d+\]: %s: sender non-delivery "
                    r"notification: %s$" % (m.group(1), QID))
        text = self.mailbox("pstdlv4", "round and round")
        part = text[text.rindex("From MAILER-DAEMON "):]
        self.assertIn("Status: 5.4.6\n", part)
        self.assertIn(m.group(2), " ".join(part.split()))
        self.assertIn("Subject: going round\n", part)
        self.expect(r"%s: removed$" % qid)

    def test_symlinked_mailbox_refused(self):
        target = os.path.join(self.shared, "target")
        with open(target, "w") as f:
            f.write("precious\n")
        link = os.path.join(self.spool, "pstdlv5")
        os.symlink(target, link)
        pw = pwd.getpwnam("pstdlv5")
        os.lchown(link, pw.pw_uid, pw.pw_gid)
        try:
            self.sendmail(["-f", "pstdlv4@example.test", "pstdlv5"],
                          "Subject: symlink\n\nmust not land\n")
            qid = self.qid_from("pstdlv4@example.test")
            m = self.expect(r"postfix/local\[\d+\]: %s: "
                            r"to=<pstdlv5@example\.test>, orig_to=<pstdlv5>, "
                            r"relay=local, %s, dsn=[45]\.\d\.\d, "
                            r"status=(bounced|deferred) \(cannot update "
                            r"mailbox %s for user pstdlv5\. .*\)$"
                            % (qid, DELAYS, re.escape(link)))
            self.assertEqual(self.read(target), "precious\n")
            self.assertTrue(os.path.islink(link))
            if m.group(1) == "deferred":
                self.wait_in("deferred", qid)
                r = self.cmd("postsuper", "-d", qid)
                self.assertIn("postsuper: %s: removed\n" % qid, r.stderr)
            else:
                self.expect(r"%s: removed$" % qid)
                text = self.mailbox("pstdlv4", "must not land")
                part = text[text.rindex("From MAILER-DAEMON "):]
                self.assertIn("file is a symbolic link",
                              " ".join(part.split()))
        finally:
            os.unlink(link)
        self.assertEqual(self.read(target), "precious\n")

    def test_deferred_then_flushed(self):
        self.sendmail(["-f", "gina@example.test", "pstdlv1@slow.test"],
                      "Subject: slow\n\nslow message\n")
        qid = self.qid_from("gina@example.test")
        self.expect(r"postfix/error\[\d+\]: %s: to=<pstdlv1@slow\.test>, "
                    r"relay=none, %s, dsn=4\.4\.1, status=deferred \(slow "
                    r"destination\)$" % (qid, DELAYS))
        path = self.wait_in("deferred", qid)
        self.assertEqual(os.path.basename(os.path.dirname(path)), qid[0])
        self.assertIsNotNone(self.find("defer", qid))
        self.assertNotRegex(self.inst.log(), r"%s: removed" % qid)
        r = self.cmd("postqueue", "-p")
        self.assertEqual(r.returncode, 0, r.stderr)
        # mailq shows the size that qmgr logged, and reads the file
        # without complaint.
        size = self.expect(r"postfix/qmgr\[\d+\]: %s: from=<gina@example"
                           r"\.test>, size=(\d+), nrcpt=1 \(queue active\)$"
                           % qid).group(1)
        self.assertNotRegex(self.inst.log(), r"showq\[\d+\]: warning")
        entry = (r"(?m)^%s\s+%s %s  gina@example\.test\n"
                 r" {60}\(slow destination\)\n"
                 r" {41}pstdlv1@slow\.test\n\n"
                 % (qid, size, r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d"))
        self.assertTrue(r.stdout.startswith(HEADER), r.stdout)
        self.assertRegex(r.stdout, entry)
        self.assertRegex(r.stdout, r"\n-- \d+ Kbytes in \d+ Requests?\.\n$")
        mailq = self.cmd("mailq")
        self.assertEqual(mailq.stdout, r.stdout)
        r = self.cmd("postqueue", "-j")
        self.assertEqual(r.returncode, 0, r.stderr)
        got = [json.loads(line) for line in r.stdout.splitlines()]
        mine = [x for x in got if x["queue_id"] == qid]
        self.assertEqual(len(mine), 1, r.stdout)
        # Postfix 3.7's members, in its order (observed).
        self.assertEqual(list(mine[0]), [
            "queue_name", "queue_id", "arrival_time", "message_size",
            "forced_expire", "sender", "recipients"])
        self.assertIs(mine[0]["forced_expire"], False)
        self.assertEqual(mine[0]["queue_name"], "deferred")
        self.assertEqual(mine[0]["sender"], "gina@example.test")
        self.assertEqual(mine[0]["recipients"],
                         [{"address": "pstdlv1@slow.test",
                           "delay_reason": "slow destination"}])
        self.assertIsInstance(mine[0]["arrival_time"], int)
        self.assertEqual(mine[0]["message_size"], int(size))
        # Fix the configuration; a flush delivers it at once.
        self.reload_without("slow.test")
        r = self.cmd("postqueue", "-f")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))
        text = self.mailbox("pstdlv1", "slow message")
        self.assertIn("Delivered-To: pstdlv1@slow.test\n", text)
        self.expect(r"postfix/local\[\d+\]: %s: to=<pstdlv1@slow\.test>, "
                    r"relay=local, %s, dsn=2\.0\.0, status=sent \(delivered "
                    r"to mailbox\)$" % (qid, DELAYS))
        self.expect(r"postfix/qmgr\[\d+\]: %s: removed$" % qid)
        self.assertIsNone(self.find("deferred", qid))
        self.assertIsNone(self.find("defer", qid))
        r = self.wait_empty()
        self.assertEqual(r.stdout, "Mail queue is empty\n")
        self.assertEqual(self.cmd("mailq").stdout, "Mail queue is empty\n")

    def test_postsuper_forms(self):
        ids = []
        for i in range(5):
            sender = "ps%d@example.test" % i
            self.sendmail(["-f", sender, "pstdlv2@hold.test"],
                          "Subject: ps %d\n\npostsuper %d\n" % (i, i))
            ids.append(self.qid_from(sender))
        for qid in ids:
            self.expect(r"%s: to=<pstdlv2@hold\.test>, .*status=deferred "
                        r"\(held destination\)$" % qid)
            self.wait_in("deferred", qid)
        q0, q1, q2, q3, q4 = ids

        def ps(*args, input=None):
            r = self.cmd("postsuper", *args, input=input)
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stderr

        # -h and -H: hold, the "!" marker in mailq, and release.
        self.assertEqual(ps("-h", q0), "postsuper: %s: placed on hold\n"
                         "postsuper: Placed on hold: 1 message\n" % q0)
        self.assertIsNotNone(self.find("hold", q0))
        self.assertIsNone(self.find("deferred", q0))
        out = self.cmd("mailq").stdout
        self.assertRegex(out, r"(?m)^%s!\s+\d+ " % q0)
        self.assertRegex(out, r"(?m)^%s\s+\d+ " % q1)
        js = [json.loads(x) for x in
              self.cmd("postqueue", "-j").stdout.splitlines()]
        self.assertEqual([x["queue_name"] for x in js
                          if x["queue_id"] == q0], ["hold"])
        self.expect(r"postsuper\[\d+\]: %s: placed on hold$" % q0)
        self.assertEqual(ps("-H", q0), "postsuper: %s: released from hold\n"
                         "postsuper: Released from hold: 1 message\n" % q0)
        self.assertIsNotNone(self.find("deferred", q0))
        self.assertNotRegex(self.cmd("mailq").stdout, r"%s!" % q0)
        self.expect(r"postsuper\[\d+\]: %s: released from hold$" % q0)
        # -d ID
        self.assertEqual(ps("-d", q0), "postsuper: %s: removed\n"
                         "postsuper: Deleted: 1 message\n" % q0)
        self.assertIsNone(self.find("deferred", q0))
        self.assertIsNone(self.find("defer", q0))
        self.expect(r"postsuper\[\d+\]: %s: removed$" % q0)
        # -d - (IDs on stdin)
        self.assertEqual(ps("-d", "-", input="%s\n%s\n" % (q1, q2)),
                         "postsuper: %s: removed\npostsuper: %s: removed\n"
                         "postsuper: Deleted: 2 messages\n" % (q1, q2))
        self.assertIsNone(self.find("deferred", q1))
        self.assertIsNone(self.find("deferred", q2))
        # -r: after the fix, the message goes through pickup and cleanup
        # again with a new ID and is delivered.
        self.reload_without("hold.test")
        self.assertEqual(ps("-r", q3), "postsuper: %s: requeued\n"
                         "postsuper: Requeued: 1 message\n" % q3)
        self.assertIsNone(self.find("deferred", q3))
        m = self.expect(r"postfix/pickup\[\d+\]: (?!%s)(%s): uid=%d "
                        r"from=<ps3@example\.test>$"
                        % (q3, QID, pwd.getpwnam("postfix").pw_uid))
        new = m.group(1)
        self.assertNotEqual(new, q3)
        text = self.mailbox("pstdlv2", "postsuper 3")
        self.assertIn("Delivered-To: pstdlv2@hold.test\n", text)
        self.expect(r"postfix/local\[\d+\]: %s: to=<pstdlv2@hold\.test>, "
                    r"relay=local, %s, dsn=2\.0\.0, status=sent \(delivered "
                    r"to mailbox\)$" % (new, DELAYS))
        self.expect(r"postfix/qmgr\[\d+\]: %s: removed$" % new)
        # q4 is still deferred (not due); -d ALL removes it.
        self.assertIsNotNone(self.find("deferred", q4))
        self.assertEqual(ps("-d", "ALL"), "postsuper: Deleted: 1 message\n")
        self.assertIsNone(self.find("deferred", q4))
        self.assertIsNone(self.find("defer", q4))
        self.assertNotIn("postsuper 4", self.read(
            os.path.join(self.spool, "pstdlv2")))
        r = self.wait_empty()
        self.assertEqual(r.stdout, "Mail queue is empty\n")


class DeliveryMaildir(DeliveryBase):
    main_extra = "home_mailbox = Maildir/\n"

    def test_maildir(self):
        self.sendmail(["-f", "hank@example.test", "pstdlv1"],
                      "Subject: maildir\n\nFrom maildir\n")
        qid = self.qid_from("hank@example.test")
        self.expect(r"postfix/local\[\d+\]: %s: to=<pstdlv1@example\.test>, "
                    r"orig_to=<pstdlv1>, relay=local, %s, dsn=2\.0\.0, "
                    r"status=sent \(delivered to maildir\)$" % (qid, DELAYS))
        self.expect(r"postfix/qmgr\[\d+\]: %s: removed$" % qid)
        md = os.path.join(self.homes["pstdlv1"], "Maildir")
        files = glob.glob(os.path.join(md, "new", "*"))
        self.assertEqual(len(files), 1, files)
        self.assertEqual(os.listdir(os.path.join(md, "tmp")), [])
        self.assertTrue(os.path.isdir(os.path.join(md, "cur")))
        # TIME.VdevIinodeMusec.HOST, with the system's host name as in
        # Postfix (not myhostname).
        self.assertRegex(os.path.basename(files[0]),
                         r"^\d+\.V[0-9a-f]+I[0-9a-f]+M\d+\.%s$"
                         % re.escape(socket.gethostname()))
        text = self.read(files[0])
        self.assertRegex(text, r"^Return-Path: <hank@example\.test>\n"
                         r"X-Original-To: pstdlv1\n"
                         r"Delivered-To: pstdlv1@example\.test\n"
                         r"Received: by mx\.example\.test")
        # No From_ line and no quoting in a Maildir.
        self.assertIn("\n\nFrom maildir\n", text)
        self.assertFalse(os.path.exists(os.path.join(self.spool, "pstdlv1")))
        pw = pwd.getpwnam("pstdlv1")
        self.assertEqual(os.stat(files[0]).st_uid, pw.pw_uid)
        self.assertEqual(os.stat(md).st_uid, pw.pw_uid)
        # A second message gets a different name.
        self.sendmail(["-f", "hank@example.test", "pstdlv1"],
                      "Subject: maildir 2\n\nsecond\n")
        deadline = time.time() + 15
        while time.time() < deadline and len(
                glob.glob(os.path.join(md, "new", "*"))) < 2:
            time.sleep(0.1)
        self.assertEqual(len(glob.glob(os.path.join(md, "new", "*"))), 2)


if __name__ == "__main__":
    unittest.main()
