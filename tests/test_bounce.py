"""bounce, end to end: a private instance runs postlogd, cleanup,
trivial-rewrite and bounce.  The test writes an original message into
active/ (tests/qfile.py records), recipient results into bounce/, defer/
and trace/ in rcpt_log.h's format, asks bounce for notify/flush/warn over
private/bounce (deliver.h's bounce_protocol) and reads the notification
that cleanup leaves in incoming/: its envelope, MIME structure, the
delivery-status fields, the log line, and which logs remain.
"""
import email
import email.policy
import grp
import os
import pwd
import re
import socket
import time
import unittest

import e2e
import qfile

MASTER_CF = e2e.master_cf("postlog", "cleanup", "rewrite", "bounce", "defer",
                          "trace")

CLASSES = ("notify_classes = bounce, 2bounce, delay, resource, software\n"
           "bounce_notice_recipient = pm@example.test\n"
           "2bounce_notice_recipient = pm2@example.test\n"
           "delay_notice_recipient = pmd@example.test\n"
           "delay_warning_time = 4h\n")

NEVER, SUCCESS, FAILURE, DELAY = 1, 2, 4, 8  # lib/mail/dsn.h
RET_FULL, RET_HDRS = 1, 2
HOST = "mx.example.test"

_seq = [0]


def new_qid():
    """A fresh short-form queue ID (five hex digits, then more hex)."""
    _seq[0] += 1
    return "%05X%05X" % (int(time.time() * 1000) % 0xFFFFF, _seq[0])


def attr_encode(pairs):
    out = b""
    for k, v in pairs:
        out += k.encode() + b"\0" + str(v).encode() + b"\0"
    return out + b"\0"


def read_attrs(f):
    d = {}
    while True:
        name = read_token(f)
        if name == "":
            return d
        d[name] = read_token(f)


def read_token(f):
    b = bytearray()
    while True:
        c = f.read(1)
        if not c:
            raise EOFError("bounce closed the connection")
        if c == b"\0":
            return b.decode()
        b += c


def log_entry(recipient, status="5.1.1", action="failed", reason="nope",
              orig="", orcpt="", notify=0, mta=""):
    """One rcpt_log.h entry: A records, then an empty E."""
    out = b""
    for k, v in (("recipient", recipient), ("orig_recipient", orig),
                 ("dsn_orig_rcpt", orcpt), ("offset", 0),
                 ("notify_flags", notify), ("status", status),
                 ("action", action), ("reason", reason), ("mta", mta),
                 ("time", int(time.time()))):
        if v == "" and k in ("orig_recipient", "dsn_orig_rcpt", "mta"):
            continue
        out += qfile.record("A", "%s=%s" % (k, v))
    return out + qfile.record("E")


def original(sender, recipients, ret=0, envid="", body="body line"):
    """A queue file (bytes) with DSN records, as cleanup writes one."""
    env = qfile.record("T", "1700000000 123456")
    env += qfile.record("A", "rewrite_context=local")
    env += qfile.record("S", sender)
    if ret:
        env += qfile.record("<", str(ret))
    if envid:
        env += qfile.record("i", envid)
    for r in recipients:
        env += qfile.record("R", r)
    env += qfile.record("M")
    content = b""
    for line in ("Received: by mx.example.test (Postern, from userid 0)",
                 "\tid X; Tue, 14 Nov 2023 22:13:20 +0000 (UTC)",
                 "Subject: the original", "From: %s" % (sender or "x"),
                 "", body, "last line"):
        content += qfile.record("N", line)
    head = qfile.record("Z", "1")
    size = qfile.record("C", qfile.size_data(0, 0, 0))
    off = len(head) + len(size) + len(env)
    size = qfile.record("C", qfile.size_data(len(content), off,
                                              len(recipients)))
    return head + size + env + content + qfile.record("X") + \
        qfile.record("E")


class BounceTest(e2e.TempDirTest):
    main_extra = CLASSES

    def setUp(self):
        super().setUp()
        for rel in ("cleanup/cleanup", "trivial-rewrite/trivial-rewrite",
                    "bounce/bounce"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        inst = e2e.Instance(self.dir, MASTER_CF, self.main_extra)
        for rel in ("cleanup/cleanup", "trivial-rewrite/trivial-rewrite"):
            dst = os.path.join(inst.libexec, os.path.basename(rel))
            if not os.path.exists(dst):
                os.symlink(os.path.join(e2e.BUILD, rel), dst)
        self.addCleanup(inst.stop)
        inst.start()
        self.inst = inst
        deadline = time.time() + 10
        for s in ("public/cleanup", "private/bounce"):
            while not os.path.exists(os.path.join(inst.queue, s)) and \
                    time.time() < deadline:
                time.sleep(0.1)
        self.uid = pwd.getpwnam("postfix").pw_uid
        self.gid = grp.getgrnam("postfix").gr_gid

    # Queue and log files.
    def put(self, rel, data, mode=0o600):
        path = os.path.join(self.inst.queue, rel)
        d = os.path.dirname(path)
        if not os.path.isdir(d):
            os.makedirs(d, 0o700)
            os.chown(d, self.uid, self.gid)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
        os.chown(path, self.uid, self.gid)
        return path

    def log_path(self, logq, qid):
        if logq == "defer":
            return os.path.join("defer", qid[0], qid)
        return os.path.join(logq, qid)

    def message(self, sender="alice@example.test", recipients=None,
                queue="active", **kw):
        qid = new_qid()
        if queue == "deferred":     # hash_queue_names: one level
            queue = os.path.join(queue, qid[0])
        self.put(os.path.join(queue, qid),
                 original(sender, recipients or ["x@bad.test"], **kw), 0o700)
        return qid

    def logs(self, logq, qid, *entries):
        self.put(self.log_path(logq, qid), b"".join(entries))

    def has_log(self, logq, qid):
        return os.path.exists(os.path.join(self.inst.queue,
                                           self.log_path(logq, qid)))

    # The bounce protocol.
    def request(self, req, qid, queue="active", sender=None, **extra):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(os.path.join(self.inst.queue, "private", "bounce"))
        f = s.makefile("rb")
        greet = read_attrs(f)
        self.assertEqual(greet.get("protocol"), "bounce_protocol")
        pairs = [("request", req), ("queue_name", queue), ("queue_id", qid)]
        if sender is not None:
            pairs.append(("sender", sender))
        pairs += list(extra.items())
        s.sendall(attr_encode(pairs))
        st = int(read_attrs(f)["status"])
        f.close()
        s.close()
        return st

    def notices(self, qid, who, what, count=1):
        """The NEWQIDs of the log lines 'QID: who what notification: NEW'."""
        pat = r"postfix/bounce\[\d+\]: %s: %s %s notification: (\w+)$" % (
            qid, who, what)
        self.inst.wait_log(pat, 5)
        return re.findall(pat, self.inst.log(), re.M)

    def notice(self, new_qid):
        """(sender, recipients, email.message) of a message in incoming/."""
        recs = qfile.read(os.path.join(self.inst.queue, "incoming", new_qid))
        sender, rcpts, lines, cur, in_content = None, [], [], b"", False
        for t, data, _ in recs:
            if t == "S" and sender is None:
                sender = data.decode()
            elif t == "R":
                rcpts.append(data.decode())
            elif t == "M":
                in_content = True
            elif t == "X":
                in_content = False
            elif in_content and t == "L":
                cur += data
            elif in_content and t == "N":
                lines.append(cur + data)
                cur = b""
        raw = b"\n".join(lines) + b"\n"
        return sender, rcpts, email.message_from_bytes(
            raw, policy=email.policy.compat32), raw.decode()

    def parts(self, msg):
        self.assertTrue(msg.is_multipart())
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        return msg.get_payload()

    def dsn_blocks(self, part):
        """The delivery-status part as a list of field dicts (per block)."""
        body = part.get_payload()
        if isinstance(body, list):  # the email package parses it
            return [dict(b.items()) for b in body]
        return [dict(l.split(": ", 1) for l in blk.splitlines() if l)
                for blk in body.strip().split("\n\n")]

    # Tests.
    def test_nondelivery_full_message(self):
        qid = self.message()
        self.logs("bounce", qid, log_entry("x@bad.test", orcpt="rfc822;x@bad.test"))
        self.assertEqual(self.request("notify", qid), 0)
        new = self.notices(qid, "sender", "non-delivery")
        self.assertEqual(len(new), 1, self.inst.log())
        sender, rcpts, msg, raw = self.notice(new[0])
        self.assertEqual(sender, "")
        self.assertEqual(rcpts, ["alice@example.test"])
        self.assertEqual(msg["Subject"], "Undelivered Mail Returned to Sender")
        self.assertEqual(msg["From"],
                         "Mail Delivery System <MAILER-DAEMON@%s>" % HOST)
        self.assertEqual(msg["To"], "alice@example.test")
        self.assertEqual(msg["Auto-Submitted"], "auto-replied")
        self.assertIsNotNone(msg["Message-Id"])
        self.assertRegex(msg["Received"],
                         r"^by mx.example.test \(Postern\)\s+id %s; " % new[0])
        self.assertEqual(msg.get_param("boundary"),
                         msg.get_param("boundary"))
        self.assertRegex(msg.get_param("boundary"),
                         r"^%s\.\d+/%s$" % (qid, HOST))
        text, dsn, orig = self.parts(msg)
        self.assertEqual(text.get_content_type(), "text/plain")
        self.assertEqual(text["Content-Description"], "Notification")
        body = text.get_payload()
        self.assertTrue(body.startswith(
            "This is the mail system at host %s.\n\nI'm sorry to have to "
            "inform you that your message could not\nbe delivered to one or "
            "more recipients. It's attached below.\n" % HOST), body)
        self.assertIn("                   The mail system\n\n"
                      "<x@bad.test>: nope\n", body)
        self.assertEqual(dsn.get_content_type(), "message/delivery-status")
        blocks = self.dsn_blocks(dsn)
        self.assertEqual(blocks[0]["Reporting-MTA"], "dns; %s" % HOST)
        self.assertEqual(blocks[0]["X-Postfix-Queue-ID"], qid)
        self.assertEqual(blocks[0]["X-Postfix-Sender"],
                         "rfc822; alice@example.test")
        self.assertEqual(blocks[0]["Arrival-Date"],
                         time.strftime("%a, %e %b %Y %H:%M:%S +0000 (UTC)",
                                       time.gmtime(1700000000))
                         .replace("  ", "  "))
        self.assertNotIn("Original-Envelope-Id", blocks[0])
        self.assertEqual(blocks[1], {
            "Final-Recipient": "rfc822; x@bad.test",
            "Original-Recipient": "rfc822;x@bad.test",
            "Action": "failed", "Status": "5.1.1",
            "Diagnostic-Code": "X-Postfix; nope"})
        self.assertEqual(orig["Content-Description"], "Undelivered Message")
        self.assertEqual(orig.get_content_type(), "message/rfc822")
        self.assertIn("Return-Path: <alice@example.test>\nReceived: by "
                      "mx.example.test (Postern, from userid 0)", raw)
        self.assertIn("\n\nbody line\nlast line\n\n--%s--\n"
                      % msg.get_param("boundary"), raw)
        # notify_classes has bounce: a headers-only postmaster copy.
        pm = self.notices(qid, "postmaster", "non-delivery")
        self.assertEqual(len(pm), 1, self.inst.log())
        sender, rcpts, pmsg, praw = self.notice(pm[0])
        self.assertEqual(sender, "double-bounce@%s" % HOST)
        self.assertEqual(rcpts, ["pm@example.test"])
        self.assertEqual(pmsg["Subject"], "Postmaster Copy: Undelivered Mail")
        self.assertEqual(pmsg["Auto-Submitted"], "auto-generated")
        ptext, _, porig = self.parts(pmsg)
        self.assertEqual(ptext.get_payload(), "\n<x@bad.test>: nope\n")
        self.assertEqual(porig.get_content_type(), "text/rfc822-headers")
        self.assertNotIn("body line", praw)
        self.assertFalse(self.has_log("bounce", qid))

    def test_ret_hdrs_envid_notify_never(self):
        qid = self.message(recipients=["x@bad.test", "y@bad.test",
                                       "z@bad.test"],
                           ret=RET_HDRS, envid="env123")
        self.logs("bounce", qid,
                  log_entry("x@bad.test", notify=FAILURE | DELAY),
                  log_entry("y@bad.test", notify=NEVER),
                  log_entry("z@bad.test", orig="Z@Bad.Test", status="5.0.0",
                            reason="host mx[1.2.3.4] said: 550 no",
                            mta="mx.bad.test"))
        # All request attributes, as qmgr sends them (empty ret and envid
        # in the request do not hide the queue file's).
        self.assertEqual(self.request("notify", qid, encoding="",
                                      sendopts="0", ret="",
                                      arrival_time="1700000000 123456"), 0)
        new = self.notices(qid, "sender", "non-delivery")
        self.assertEqual(len(new), 1, self.inst.log())
        _, _, msg, raw = self.notice(new[0])
        text, dsn, orig = self.parts(msg)
        self.assertNotIn("y@bad.test", raw)
        self.assertIn("<z@bad.test> (expanded from <Z@Bad.Test>): host "
                      "mx[1.2.3.4] said: 550 no", text.get_payload())
        blocks = self.dsn_blocks(dsn)
        self.assertEqual(blocks[0]["Original-Envelope-Id"], "env123")
        self.assertEqual(len(blocks), 3)
        self.assertEqual(blocks[2]["Original-Recipient"], "rfc822; Z@Bad.Test")
        self.assertEqual(blocks[2]["Remote-MTA"], "dns; mx.bad.test")
        self.assertEqual(orig["Content-Description"],
                         "Undelivered Message Headers")
        self.assertEqual(orig.get_content_type(), "text/rfc822-headers")
        self.assertIn("Subject: the original\nFrom: alice@example.test\n\n--",
                      raw)
        self.assertNotIn("body line", raw)
        # The postmaster copy lists every recipient, NEVER included.
        pm = self.notices(qid, "postmaster", "non-delivery")
        _, _, _, praw = self.notice(pm[0])
        self.assertIn("<y@bad.test>: nope", praw)

    def test_long_reason_wrapped(self):
        # Folded as Debian's Postfix 3.7.11 folds this text (observed).
        rcpt = "a.very.long.local.part.for.testing.wrap@long.test"
        text = ("this is a rather long diagnostic text that goes on and on "
                "well past the seventy-nine column mark so that wrapping must "
                "happen somewhere in it and again later on the next line too")
        qid = self.message(recipients=[rcpt])
        self.logs("bounce", qid, log_entry(rcpt, reason=text))
        self.assertEqual(self.request("notify", qid), 0)
        new = self.notices(qid, "sender", "non-delivery")
        raw = self.notice(new[0])[3]
        self.assertIn(
            "\n<%s>: this is a rather long\n"
            "    diagnostic text that goes on and on well past the "
            "seventy-nine column mark\n"
            "    so that wrapping must happen somewhere in it and again "
            "later on the next\n"
            "    line too\n" % rcpt, raw)
        self.assertIn(
            "\nDiagnostic-Code: X-Postfix; this is a rather long diagnostic "
            "text that goes on\n"
            "    and on well past the seventy-nine column mark so that "
            "wrapping must happen\n"
            "    somewhere in it and again later on the next line too\n", raw)

    def test_only_never_gives_postmaster_copy_only(self):
        qid = self.message()
        self.logs("bounce", qid, log_entry("x@bad.test", notify=NEVER))
        self.assertEqual(self.request("notify", qid), 0)
        self.assertEqual(len(self.notices(qid, "postmaster",
                                          "non-delivery")), 1)
        self.assertEqual(self.notices(qid, "sender", "non-delivery"), [])
        self.assertFalse(self.has_log("bounce", qid))

    def test_double_bounce_to_2bounce_recipient(self):
        qid = self.message(sender="")
        self.logs("bounce", qid, log_entry("x@bad.test"))
        self.assertEqual(self.request("notify", qid), 0)
        pm = self.notices(qid, "postmaster", "non-delivery")
        self.assertEqual(len(pm), 1, self.inst.log())
        sender, rcpts, msg, raw = self.notice(pm[0])
        self.assertEqual((sender, rcpts),
                         ("double-bounce@%s" % HOST, ["pm2@example.test"]))
        _, dsn, orig = self.parts(msg)
        self.assertEqual(self.dsn_blocks(dsn)[0]["X-Postfix-Sender"],
                         "rfc822; MAILER-DAEMON@%s" % HOST)
        self.assertEqual(orig.get_content_type(), "message/rfc822")
        self.assertIn("Return-Path: <MAILER-DAEMON@%s>" % HOST, raw)
        self.assertIn("body line", raw)
        self.assertEqual(self.notices(qid, "sender", "non-delivery"), [])

    def test_failed_postmaster_notice_is_discarded(self):
        qid = self.message(sender="double-bounce@%s" % HOST)
        self.logs("bounce", qid, log_entry("pm@bad.test"))
        self.assertEqual(self.request("notify", qid), 0)
        self.assertTrue(self.inst.wait_log(
            r"warning: %s: undeliverable postmaster notification discarded"
            % qid, 5), self.inst.log())
        self.assertFalse(self.has_log("bounce", qid))

    def test_delay_warning_keeps_log(self):
        qid = self.message(queue="deferred")
        self.logs("defer", qid,
                  log_entry("x@slow.test", status="4.4.1", action="delayed",
                            reason="connect to slow.test: refused"))
        self.assertEqual(self.request("warn", qid, queue="deferred"), 0)
        new = self.notices(qid, "sender", "delay")
        self.assertEqual(len(new), 1, self.inst.log())
        _, _, msg, raw = self.notice(new[0])
        self.assertEqual(msg["Subject"], "Delayed Mail (still being retried)")
        text, dsn, orig = self.parts(msg)
        self.assertIn("# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND "
                      "YOUR MESSAGE. #\n", text.get_payload())
        self.assertIn("Your message could not be delivered for more than 4 "
                      "hour(s).\nIt will be retried until it is 5 day(s) "
                      "old.\n", text.get_payload())
        b = self.dsn_blocks(dsn)[1]
        self.assertEqual((b["Action"], b["Status"]), ("delayed", "4.4.1"))
        self.assertEqual(b["Will-Retry-Until"], time.strftime(
            "%a, %e %b %Y %H:%M:%S +0000 (UTC)",
            time.gmtime(1700000000 + 5 * 86400)))
        self.assertEqual(orig.get_content_type(), "text/rfc822-headers")
        pm = self.notices(qid, "postmaster", "delay")
        self.assertEqual(len(pm), 1, self.inst.log())
        _, rcpts, pmsg, _ = self.notice(pm[0])
        self.assertEqual(rcpts, ["pmd@example.test"])
        self.assertEqual(pmsg["Subject"], "Postmaster Warning: Delayed Mail")
        self.assertTrue(self.has_log("defer", qid))

    def test_flush_reports_deferred_as_failed(self):
        qid = self.message(recipients=["x@bad.test", "y@slow.test"])
        self.logs("bounce", qid, log_entry("x@bad.test"))
        self.logs("defer", qid, log_entry("y@slow.test", status="4.4.1",
                                          action="delayed", reason="slow"))
        self.assertEqual(self.request("flush", qid), 0)
        new = self.notices(qid, "sender", "non-delivery")
        self.assertEqual(len(new), 1, self.inst.log())
        _, _, msg, _ = self.notice(new[0])
        blocks = self.dsn_blocks(self.parts(msg)[1])
        self.assertEqual([(b["Final-Recipient"], b["Action"], b["Status"])
                          for b in blocks[1:]],
                         [("rfc822; x@bad.test", "failed", "5.1.1"),
                          ("rfc822; y@slow.test", "failed", "4.4.1")])
        self.assertFalse(self.has_log("bounce", qid))
        self.assertFalse(self.has_log("defer", qid))

    def test_success_notice(self):
        qid = self.message(recipients=["x@ok.test"])
        self.logs("trace", qid, log_entry("x@ok.test", status="2.0.0",
                                          action="delivered",
                                          reason="delivered to mailbox",
                                          notify=SUCCESS))
        self.assertEqual(self.request("notify", qid), 0)
        new = self.notices(qid, "sender", "delivery status")
        self.assertEqual(len(new), 1, self.inst.log())
        _, _, msg, _ = self.notice(new[0])
        self.assertEqual(msg["Subject"], "Successful Mail Delivery Report")
        text, dsn, orig = self.parts(msg)
        self.assertIn("Your message was successfully delivered to the "
                      "destination(s)\n", text.get_payload())
        self.assertEqual(self.dsn_blocks(dsn)[1]["Action"], "delivered")
        self.assertEqual(orig["Content-Description"], "Message Headers")
        self.assertFalse(self.has_log("trace", qid))

    def test_cleanup_down_keeps_logs(self):
        qid = self.message()
        self.logs("bounce", qid, log_entry("x@bad.test"))
        sock = os.path.join(self.inst.queue, "public", "cleanup")
        os.rename(sock, sock + ".off")
        try:
            self.assertNotEqual(self.request("notify", qid), 0)
        finally:
            os.rename(sock + ".off", sock)
        self.assertTrue(self.has_log("bounce", qid))
        self.assertTrue(self.inst.wait_log(
            r"warning: %s: sender non-delivery notification failed" % qid, 5))
        # Once cleanup is back the same request succeeds.
        self.assertEqual(self.request("notify", qid), 0)
        self.assertEqual(len(self.notices(qid, "sender", "non-delivery")), 1)
        self.assertFalse(self.has_log("bounce", qid))

    def test_bad_requests(self):
        qid = self.message()
        self.logs("bounce", qid, log_entry("x@bad.test"))
        self.assertNotEqual(self.request("notify", "../../etc"), 0)
        self.assertNotEqual(self.request("notify", qid, queue="nosuch"), 0)
        self.assertNotEqual(self.request("explode", qid), 0)
        self.assertNotEqual(self.request("notify", new_qid()), 0)
        os.symlink(os.path.join(self.inst.queue, "active", qid),
                   os.path.join(self.inst.queue, "hold", qid))
        self.assertNotEqual(self.request("notify", qid, queue="hold"), 0)
        self.assertTrue(self.has_log("bounce", qid))
        # Nothing logged: nothing to do, done.
        self.assertEqual(self.request("notify", self.message()), 0)


class DefaultClassesTest(BounceTest):
    """Default notify_classes: no postmaster copies, double bounces dropped."""
    main_extra = "bounce_size_limit = 10\n"

    def test_defaults(self):
        qid = self.message(sender="")
        self.logs("bounce", qid, log_entry("x@bad.test"))
        self.assertEqual(self.request("notify", qid), 0)
        self.assertFalse(self.has_log("bounce", qid))
        qid2 = self.message()
        self.logs("bounce", qid2, log_entry("x@bad.test"))
        self.assertEqual(self.request("notify", qid2), 0)
        new = self.notices(qid2, "sender", "non-delivery")
        self.assertEqual(len(new), 1, self.inst.log())
        # bounce_size_limit: a message over it is returned as headers only.
        _, _, msg, raw = self.notice(new[0])
        self.assertEqual(self.parts(msg)[2].get_content_type(),
                         "text/rfc822-headers")
        self.assertNotIn("body line", raw)
        time.sleep(0.3)
        self.assertNotIn("postmaster", self.inst.log())


# Only the defaults test runs in the second class.
for _name in [n for n in dir(BounceTest) if n.startswith("test_")]:
    setattr(DefaultClassesTest, _name, None)

if __name__ == "__main__":
    unittest.main()
