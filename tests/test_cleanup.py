"""cleanup, end to end: a private instance runs cleanup, trivial-rewrite
and postlogd; a small Python client speaks the cleanup protocol
(cleanup_proto.h) on public/cleanup and the test reads the queue file it
leaves in incoming/ or hold/, and the log lines in maillog_file.

The record codec below is this file's own (tests/qfile.py was not on main
when this was written): one type byte, the length as LEB128, the data.
"""
import os
import re
import signal
import socket
import stat
import time
import unittest

import e2e
import qfile

FLAG_FILTER = 1 << 1
FLAG_BCC_OK = 1 << 4
FLAG_MAP_OK = 1 << 5
FLAGS = FLAG_FILTER | FLAG_BCC_OK | FLAG_MAP_OK
XFLAG_EXTRACT = 1 << 16

STAT_BAD, STAT_SIZE, STAT_CONT, STAT_HOPS = 1, 4, 8, 16
STAT_RCPT, STAT_DEFER = 64, 256

MASTER_CF = e2e.master_cf("postlog", "cleanup", "rewrite")


rec = qfile.record


def parse_records(buf):
    """(type, text) of each record: the queue file as cleanup wrote it."""
    return [(t, d.decode("utf-8", "replace"))
            for t, d, _ in qfile.records(buf)]


def attr_encode(pairs):
    return b"".join(k.encode() + b"\0" + str(v).encode() + b"\0"
                    for k, v in pairs) + b"\0"


class Client:
    """One conversation with cleanup."""

    def __init__(self, path, flags=FLAGS):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(20)
        self.s.connect(path)
        self.f = self.s.makefile("rb")
        greet = self.read_attrs()
        assert greet.get("protocol") == "cleanup_protocol", greet
        self.queue_id = greet["queue_id"]
        self.s.sendall(attr_encode([("flags", flags)]))

    def read_token(self):
        b = bytearray()
        while True:
            c = self.f.read(1)
            if not c:
                raise EOFError("cleanup closed the connection")
            if c == b"\0":
                return b.decode()
            b += c

    def read_attrs(self):
        d = {}
        while True:
            name = self.read_token()
            if name == "":
                return d
            d[name] = self.read_token()

    def send(self, data):
        self.s.sendall(data)

    def reply(self):
        r = self.read_attrs()
        self.f.close()
        self.s.close()
        return int(r["status"]), r.get("reason", "")


def message(sender="alice", rcpts=("bob",), headers=(), body=("body",),
            env=(), extracted=b"", fullname=None, attrs=()):
    """The records of a simple local submission."""
    out = rec("T", "%d 0" % int(time.time()))
    out += rec("A", "rewrite_context=local")
    for a in attrs:
        out += rec("A", a)
    if fullname is not None:
        out += rec("F", fullname)
    for t, d in env:
        out += rec(t, d)
    out += rec("S", sender)
    for r in rcpts:
        out += rec("R", r)
    out += rec("M")
    for h in headers:
        out += rec("N", h)
    out += rec("N", "")
    for b in body:
        out += rec("N", b)
    out += rec("X") + extracted + rec("E")
    return out


class CleanupTest(e2e.TempDirTest):
    main_extra = ""

    def instance(self, main_extra="", files=None):
        for rel in ("cleanup/cleanup", "trivial-rewrite/trivial-rewrite"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built "
                                        "yet" % rel)
        inst = e2e.Instance(self.dir, MASTER_CF, main_extra)
        for name, text in (files or {}).items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        self.addCleanup(inst.stop)
        inst.start()
        self.inst = inst
        self.sock = os.path.join(inst.queue, "public", "cleanup")
        deadline = time.time() + 10
        while not os.path.exists(self.sock) and time.time() < deadline:
            time.sleep(0.1)
        return inst

    def submit(self, data, flags=FLAGS):
        c = Client(self.sock, flags)
        c.send(data)
        try:
            st, reason = c.reply()
        except EOFError:
            time.sleep(0.5)
            self.fail("cleanup closed the connection; log:\n%s"
                      % self.inst.log())
        return c.queue_id, st, reason

    def qfile(self, qid, queue="incoming"):
        path = os.path.join(self.inst.queue, queue, qid)
        with open(path, "rb") as f:
            return os.stat(path), parse_records(f.read())

    def assertLog(self, pattern, timeout=10):
        m = self.inst.wait_log(pattern, timeout)
        if m is None:
            self.fail("log does not match %r:\n%s" % (pattern,
                                                      self.inst.log()))
        return m

    def assertNoFile(self, qid):
        for q in ("incoming", "hold"):
            self.assertFalse(os.path.exists(
                os.path.join(self.inst.queue, q, qid)),
                "%s/%s exists" % (q, qid))

    def content(self, records):
        return [d for t, d in records if t in "NL"]

    def test_local_submission_headers_and_envelope(self):
        self.instance()
        qid, st, reason = self.submit(message(
            fullname="Alice Full", headers=["Subject: hello",
                                            "Return-Path: <x@y>",
                                            "Bcc: hidden@example.org",
                                            "Cc: carol, \"d e\"@f"],
            attrs=["submit_uid=0"]))
        self.assertEqual((st, reason), (0, ""))
        sb, recs = self.qfile(qid)
        self.assertEqual(stat.S_IMODE(sb.st_mode), 0o700)
        types = "".join(t for t, d in recs)
        self.assertTrue(types.startswith("ZCTA"), types)
        self.assertTrue(recs[3][1].startswith("create_time="), recs[3])
        self.assertTrue(types.endswith("XE"), types)
        env = dict((t, d) for t, d in recs if t in "SFO")
        self.assertEqual(env["S"], "alice@mx.example.test")
        self.assertEqual(env["F"], "Alice Full")
        self.assertIn(("O", "bob"), recs)
        self.assertIn(("R", "bob@mx.example.test"), recs)
        self.assertIn(("o", "rfc822;bob@mx.example.test"), recs)
        body = self.content(recs)
        self.assertEqual(body[0],
                         "Received: by mx.example.test (Postern, from "
                         "userid 0)")
        self.assertTrue(re.match(r"\tid %s; \w\w\w, [ \d]\d \w\w\w \d{4} "
                                 r"\d\d:\d\d:\d\d [+-]\d{4}" % qid, body[1]),
                        body[1])
        self.assertIn("Subject: hello", body)
        self.assertIn('Cc: carol@mx.example.test, "d e"@f', body)
        self.assertFalse([h for h in body if h.startswith("Return-Path")])
        self.assertFalse([h for h in body if h.startswith("Bcc")])
        msgid = [h for h in body if h.startswith("Message-Id: ")]
        self.assertTrue(re.match(r"Message-Id: <\d{14}\.%s@mx\.example\.test>$"
                                 % qid, msgid[0]), msgid)
        self.assertTrue([h for h in body if h.startswith("Date: ")])
        self.assertIn("From: Alice Full <alice@mx.example.test>", body)
        # Added headers come after the client's, in Postfix's order.
        i = body.index(msgid[0])
        self.assertTrue(body[i + 1].startswith("Date: "))
        self.assertTrue(body[i + 2].startswith("From: "))
        self.assertEqual(body[i + 3:], ["", "body"])
        size = [d for t, d in recs if t == "C"][0].split()
        self.assertEqual(int(size[2]), 1)  # recipients
        # Postfix's message_size: the record bytes from data_offset to the
        # X record (what mailq shows and showq/postcat -e seek over); Postfix
        # 3.7 writes the same number as the content length (observed: a
        # 262-byte text in 270 bytes of records gave "270 ... 270").
        self.assertEqual(int(size[0]), sum(
            len(qfile.record(t, d.encode())) for t, d in recs if t in "NL"))
        self.assertEqual(int(size[4]), int(size[0]))
        self.assertLog(r"postfix/cleanup\[\d+\]: %s: message-id=%s$"
                       % (qid, re.escape(msgid[0][len("Message-Id: "):])))
        # postcat reads the file as a queue file.
        r = e2e.run([e2e.prog("postcat"), "-c", self.inst.conf,
                     os.path.join(self.inst.queue, "incoming", qid)])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("*** MESSAGE FILE END", r.stdout)
        self.assertIn("sender: alice@mx.example.test", r.stdout)
        self.assertEqual(r.stderr, "")

    def test_dsn_and_smtputf8(self):
        self.instance()
        data = (rec("T", "1700000000 5") + rec("A", "rewrite_context=local") +
                rec("A", "encoding=8bit") + rec("<", "2") +
                rec("i", "ENV-1") + rec("S", "alice") +
                rec("o", "rfc822;orig@example.org") + rec("n", "6") +
                rec("O", "first@example.org") + rec("R", "bob") +
                rec("R", "carol") + rec("M") + rec("N", "Subject: s") +
                rec("N", "") + rec("N", "b") + rec("X") + rec("E"))
        qid, st, _ = self.submit(data, flags=FLAGS | (1 << 8))
        self.assertEqual(st, 0)
        _, recs = self.qfile(qid)
        self.assertIn(("T", "1700000000 5"), recs)
        self.assertIn(("<", "2"), recs)
        self.assertIn(("i", "ENV-1"), recs)
        i = recs.index(("R", "bob@mx.example.test"))
        self.assertEqual(recs[i - 3:i], [("o", "rfc822;orig@example.org"),
                                         ("n", "6"),
                                         ("O", "first@example.org")])
        # The DSN data belonged to bob only.
        i = recs.index(("R", "carol@mx.example.test"))
        self.assertEqual(recs[i - 2:i], [("o", "rfc822;carol@mx.example.test"),
                                         ("O", "carol")])
        size = [d for t, d in recs if t == "C"][0].split()
        self.assertEqual(int(size[3]) & 1, 1)  # 8BITMIME
        self.assertEqual(int(size[5]) & 1, 1)  # SMTPUTF8 requested
        # Date: from the arrival time, not from now.
        self.assertTrue([h for h in self.content(recs)
                         if h.startswith("Date: ") and "2023" in h])
        # A client that does not start with T gets one (and Date: now).
        data = message()
        data = data[len(rec("T", data[2:data[1] + 2])):]
        qid, st, _ = self.submit(data)
        _, recs = self.qfile(qid)
        self.assertEqual("".join(t for t, d in recs[:4]), "ZCTA")

    def test_remote_context_adds_and_rewrites_nothing(self):
        self.instance()
        data = message(headers=["To: bob", "Subject: r"]).replace(
            rec("A", "rewrite_context=local"), rec("A", "rewrite_context=remote"))
        qid, st, _ = self.submit(data)
        self.assertEqual(st, 0)
        _, recs = self.qfile(qid)
        c = self.content(recs)
        self.assertEqual(c, ["To: bob", "Subject: r", "", "body"])
        self.assertLog(r"%s: message-id=<>$" % qid)
        # qmgr does not run: Postfix's warning, and the mail stays.
        self.assertLog(r"postfix/cleanup\[\d+\]: warning: unable to look up "
                       r"public/qmgr: No such file or directory")

    def test_remote_header_rewrite_domain(self):
        self.instance("remote_header_rewrite_domain = domain.invalid\n")
        data = message(headers=["To: bob", "Subject: r"]).replace(
            rec("A", "rewrite_context=local"), rec("A", "rewrite_context=remote"))
        qid, st, _ = self.submit(data)
        _, recs = self.qfile(qid)
        c = self.content(recs)
        self.assertIn("To: bob@domain.invalid", c)
        self.assertTrue([h for h in c if h.startswith("Message-Id: ")])

    def test_long_queue_id_message_id(self):
        self.instance("enable_long_queue_ids = yes\n")
        qid, st, _ = self.submit(message())
        self.assertEqual(st, 0)
        self.assertIn("z", qid)
        _, recs = self.qfile(qid)
        self.assertIn("Message-Id: <%s@mx.example.test>" % qid,
                      self.content(recs))

    def test_null_sender_and_special_full_name(self):
        self.instance()
        qid, st, _ = self.submit(message(sender="", fullname="Doe, John"))
        self.assertEqual(st, 0)
        _, recs = self.qfile(qid)
        self.assertIn("From: MAILER-DAEMON", self.content(recs))
        qid, st, _ = self.submit(message(fullname="Doe, John"))
        _, recs = self.qfile(qid)
        self.assertIn('From: "Doe, John" <alice@mx.example.test>',
                      self.content(recs))

    def test_resent_headers_and_existing_message_id(self):
        self.instance()
        qid, st, _ = self.submit(message(
            fullname="A.B", headers=["Resent-To: r@x", "To: t@x",
                                     "From: f@x", "Message-ID: <abc@def>"]))
        self.assertEqual(st, 0)
        _, recs = self.qfile(qid)
        body = self.content(recs)
        self.assertTrue([h for h in body if h.startswith("Resent-Message-Id: <")])
        self.assertTrue([h for h in body if h.startswith("Resent-Date: ")])
        self.assertIn('Resent-From: "A.B" <alice@mx.example.test>', body)
        self.assertFalse([h for h in body if h.startswith("Date:")])
        self.assertLog(r"%s: resent-message-id=<\d{14}\.%s@" % (qid, qid))
        self.assertLog(r"%s: message-id=<abc@def>$" % qid)

    def test_extract_recipients(self):
        self.instance()
        qid, st, _ = self.submit(message(
            rcpts=(), env=[("f", str(XFLAG_EXTRACT))],
            headers=["To: a@b, c", "Bcc: hidden@x", "Subject: t"]))
        self.assertEqual(st, 0)
        _, recs = self.qfile(qid)
        x = [r for r in recs[[t for t, d in recs].index("X"):]]
        self.assertIn(("R", "a@b"), x)
        self.assertIn(("R", "c@mx.example.test"), x)
        self.assertIn(("O", "c"), x)
        self.assertIn(("R", "hidden@x"), x)
        self.assertFalse([h for h in self.content(recs)
                          if h.startswith("Bcc")])
        # Resent- recipients win when there are Resent- headers.
        qid, st, _ = self.submit(message(
            rcpts=(), env=[("f", str(XFLAG_EXTRACT))],
            headers=["To: t@x", "Resent-To: r@x"]))
        _, recs = self.qfile(qid)
        self.assertEqual([d for t, d in recs if t == "R"], ["r@x"])

    def test_client_hold_and_discard_flags(self):
        self.instance()
        qid, st, _ = self.submit(message(), flags=FLAGS | (1 << 2))
        self.assertEqual(st, 0)
        sb, _ = self.qfile(qid, "hold")
        self.assertEqual(stat.S_IMODE(sb.st_mode), 0o700)
        self.assertFalse(os.path.exists(os.path.join(self.inst.queue,
                                                     "incoming", qid)))
        qid, st, _ = self.submit(message(), flags=FLAGS | (1 << 3))
        self.assertEqual(st, 0)
        self.assertNoFile(qid)

    def test_bad_check_answer_and_stray_cr(self):
        self.instance("header_checks = regexp:%s\n"
                      % os.path.join(self.dir, "hc"),
                      files={"hc": "/^Subject: bad/ FOO bar\n"})
        qid, st, _ = self.submit(message(headers=["Subject: bad\rx"],
                                         body=["a\rb\r"]))
        self.assertEqual(st, 0)
        _, recs = self.qfile(qid)
        c = self.content(recs)
        self.assertIn("Subject: bad x", c)
        self.assertIn("a b ", c)
        self.assertLog(r"postfix/cleanup\[\d+\]: warning: unknown command in "
                       r"header_checks map: FOO bar$")

    def test_strict_7bit_headers(self):
        self.instance("strict_7bit_headers = yes\n")
        qid, st, reason = self.submit(message(headers=["Subject: caf\u00e9"]))
        self.assertEqual(st, STAT_CONT)
        self.assertEqual(reason, "5.6.0 improper use of 8-bit data in "
                                 "message header")
        self.assertNoFile(qid)
        # Postfix 3.7's line (observed), without a reply text.
        self.assertLog(r"%s: reject: mime-error improper use of 8-bit data in "
                       r"message header: Subject: caf\u00e9 from local; "
                       r"from=<alice@mx\.example\.test> "
                       r"to=<bob@mx\.example\.test>$" % qid)

    def test_no_recipients(self):
        self.instance()
        qid, st, reason = self.submit(message(rcpts=()))
        self.assertEqual(st, STAT_RCPT)
        self.assertEqual(reason, "5.1.0 no recipients specified")
        self.assertNoFile(qid)

    def test_header_and_body_checks(self):
        hc = os.path.join(self.dir, "hc")
        self.instance("header_checks = regexp:%s\nbody_checks = regexp:%s\n"
                      % (hc, os.path.join(self.dir, "bc")), files={
                          "hc": "/^Subject: hold/ HOLD\n"
                                "/^Subject: reject/ REJECT no spam\n"
                                "/^Subject: plainreject/ REJECT\n"
                                "/^Subject: warn/ WARN\n"
                                "/^Subject: info/ INFO\n"
                                "/^Subject: ignore/ IGNORE\n"
                                "/^Subject: replace/ REPLACE X-Replaced: yes\n"
                                "/^Subject: prepend/ PREPEND X-Prep: yes\n"
                                "/^Subject: redirect/ REDIRECT red@example.org\n"
                                "/^Subject: bcc/ BCC bcc@example.org\n"
                                "/^Subject: filter/ FILTER smtp:[127.0.0.1]:10025\n"
                                "/^Subject: discard/ DISCARD gone\n",
                          "bc": "/^body-hold/ HOLD\n/^body-drop/ IGNORE\n"})
        tail = " from local; from=<alice@mx.example.test> to=<bob@mx.example.test>"

        def send(subject, body=("body",)):
            return self.submit(message(headers=["Subject: " + subject],
                                       body=body))

        qid, st, reason = send("reject me")
        self.assertEqual((st, reason), (STAT_CONT, "5.7.1 no spam"))
        self.assertNoFile(qid)
        self.assertLog(r"%s: reject: header Subject: reject me%s: 5\.7\.1 "
                       r"no spam$" % (qid, re.escape(tail)))
        qid, st, reason = send("plainreject")
        self.assertEqual(reason, "5.7.1 message content rejected")

        qid, st, _ = send("hold me")
        self.assertEqual(st, 0)
        sb, _ = self.qfile(qid, "hold")
        self.assertEqual(stat.S_IMODE(sb.st_mode), 0o700)
        self.assertLog(r"%s: hold: header Subject: hold me%s$"
                       % (qid, re.escape(tail)))

        qid, st, _ = send("discard me")
        self.assertEqual(st, 0)
        self.assertNoFile(qid)
        self.assertLog(r"%s: discard: header Subject: discard me%s: gone$"
                       % (qid, re.escape(tail)))

        for word, action in (("warn", "warning"), ("info", "info")):
            qid, st, _ = send(word + " me")
            self.assertEqual(st, 0)
            self.qfile(qid)
            self.assertLog(r"%s: %s: header Subject: %s me%s$"
                           % (qid, action, word, re.escape(tail)))

        qid, st, _ = send("ignore me")
        _, recs = self.qfile(qid)
        self.assertFalse([h for h in self.content(recs)
                          if h.startswith("Subject")])

        qid, st, _ = send("replace me")
        _, recs = self.qfile(qid)
        self.assertIn("X-Replaced: yes", self.content(recs))
        self.assertNotIn("Subject: replace me", self.content(recs))
        self.assertLog(r"%s: replace: header Subject: replace me%s: "
                       r"X-Replaced: yes$" % (qid, re.escape(tail)))

        qid, st, _ = send("prepend me")
        _, recs = self.qfile(qid)
        c = self.content(recs)
        self.assertEqual(c.index("X-Prep: yes") + 1,
                         c.index("Subject: prepend me"))
        self.assertLog(r"%s: prepend: header Subject: prepend me%s: "
                       r"X-Prep: yes$" % (qid, re.escape(tail)))

        qid, st, _ = send("redirect me")
        _, recs = self.qfile(qid)
        self.assertIn((">", "red@example.org"), recs)
        self.assertLog(r"%s: redirect: header Subject: redirect me%s: "
                       r"red@example\.org$" % (qid, re.escape(tail)))

        qid, st, _ = send("bcc me")
        _, recs = self.qfile(qid)
        x = recs[[t for t, d in recs].index("X"):]
        i = x.index(("R", "bcc@example.org"))
        self.assertEqual(x[i - 2:i], [("n", "1"), ("O", "bcc@example.org")])
        self.assertLog(r"%s: bcc: header Subject: bcc me%s: "
                       r"bcc@example\.org$" % (qid, re.escape(tail)))

        qid, st, _ = send("filter me")
        _, recs = self.qfile(qid)
        self.assertIn(("L", "smtp:[127.0.0.1]:10025"), recs)
        self.assertLog(r"%s: filter: header Subject: filter me%s: "
                       r"smtp:\[127\.0\.0\.1\]:10025$" % (qid, re.escape(tail)))

        qid, st, _ = send("plain", body=("body-hold", "x"))
        self.qfile(qid, "hold")
        self.assertLog(r"%s: hold: body body-hold%s$"
                       % (qid, re.escape(tail)))
        qid, st, _ = send("plain", body=("body-drop", "x"))
        _, recs = self.qfile(qid)
        self.assertNotIn("body-drop", self.content(recs))

    def test_client_info_in_log(self):
        self.instance("header_checks = regexp:%s\n"
                      % os.path.join(self.dir, "hc"),
                      files={"hc": "/^Subject: warn/ WARN\n"})
        qid, st, _ = self.submit(message(
            headers=["Subject: warn me"],
            attrs=["log_client_name=localhost", "log_client_address=127.0.0.1",
                   "log_protocol_name=ESMTP", "log_helo_name=vm"]))
        self.assertLog(r"%s: warning: header Subject: warn me from "
                       r"localhost\[127\.0\.0\.1\]; from=<alice@mx\.example\."
                       r"test> to=<bob@mx\.example\.test> proto=ESMTP "
                       r"helo=<vm>$" % qid)

    def test_canonical_maps(self):
        self.instance(
            "sender_canonical_maps = inline:{ alice@mx.example.test="
            "a.smith@example.com }\n"
            "recipient_canonical_maps = inline:{ bob@mx.example.test="
            "robert@example.com }\n"
            "canonical_maps = inline:{ robert@example.com=rob@example.net }\n")
        qid, st, _ = self.submit(message(headers=["From: alice",
                                                  "To: bob"]))
        self.assertEqual(st, 0)
        _, recs = self.qfile(qid)
        self.assertIn(("S", "a.smith@example.com"), recs)
        self.assertIn(("R", "rob@example.net"), recs)
        self.assertIn(("O", "bob"), recs)
        c = self.content(recs)
        self.assertIn("From: a.smith@example.com", c)
        self.assertIn("To: rob@example.net", c)
        # Without MAP_OK no table applies.
        qid, st, _ = self.submit(message(), flags=FLAG_FILTER)
        _, recs = self.qfile(qid)
        self.assertIn(("S", "alice@mx.example.test"), recs)

    def test_masquerade(self):
        self.instance("masquerade_domains = example.test\n")
        qid, st, _ = self.submit(message(headers=["To: bob"]))
        _, recs = self.qfile(qid)
        self.assertIn(("S", "alice@example.test"), recs)
        # envelope_recipient is not in the default masquerade_classes.
        self.assertIn(("R", "bob@mx.example.test"), recs)
        self.assertIn("To: bob@example.test", self.content(recs))

    def test_virtual_alias_recursion_and_duplicates(self):
        self.instance(
            "virtual_alias_maps = inline:{ {a@x.test=b@x.test, c@x.test}, "
            "{b@x.test=d@x.test, c@x.test} }\n")
        qid, st, _ = self.submit(message(rcpts=("a@x.test", "c@x.test")))
        self.assertEqual(st, 0)
        _, recs = self.qfile(qid)
        self.assertEqual(sorted(d for t, d in recs if t == "R"),
                         ["c@x.test", "d@x.test"])
        self.assertIn(("O", "a@x.test"), recs)

    def test_virtual_alias_expansion_limit(self):
        self.instance(
            "virtual_alias_maps = inline:{ {a@x.test=b@x.test, c@x.test, "
            "d@x.test} }\nvirtual_alias_expansion_limit = 2\n")
        qid, st, reason = self.submit(message(rcpts=("a@x.test",)))
        self.assertEqual(st, STAT_DEFER)
        self.assertEqual(reason, "4.6.0 Alias expansion error")
        self.assertNoFile(qid)
        self.assertLog(r"warning: %s: .*a@x\.test.* -- message not accepted, "
                       r"try again later" % qid)

    def test_message_size_limit(self):
        self.instance("message_size_limit = 1000\n")
        qid, st, reason = self.submit(message(body=["x" * 100] * 20))
        self.assertEqual(st, STAT_SIZE)
        self.assertEqual(reason, "5.3.4 message file too big")
        self.assertNoFile(qid)

    def test_hopcount(self):
        self.instance("hopcount_limit = 3\n")
        qid, st, reason = self.submit(message(
            headers=["Received: from a", "Delivered-To: b",
                     "Received: from c"]))
        self.assertEqual(st, STAT_HOPS)
        self.assertEqual(reason, "5.4.0 too many hops")
        self.assertNoFile(qid)
        self.assertLog(r"warning: %s: message rejected: hopcount exceeded"
                       % qid)

    def test_protocol_errors_leave_no_file(self):
        self.instance()
        # A recipient before the sender.
        c = Client(self.sock)
        c.send(rec("T", "1 0") + rec("R", "bob") + rec("S", "alice"))
        st, _ = c.reply()
        self.assertEqual(st, STAT_BAD)
        self.assertNoFile(c.queue_id)
        self.assertLog(r"warning: %s: unexpected record type R from local"
                       % c.queue_id)
        # A record type that does not belong in content.
        c = Client(self.sock)
        c.send(message()[:-len(rec("X") + rec("E"))] + rec("S", "x"))
        st, _ = c.reply()
        self.assertEqual(st, STAT_BAD)
        self.assertNoFile(c.queue_id)
        # Truncated stream: the client goes away inside a record.
        c = Client(self.sock)
        data = message(body=["line"] * 50)
        c.send(data[:-3])
        c.f.close()
        c.s.close()
        self.assertLog(r"warning: %s: unexpected EOF in data from local"
                       % c.queue_id)
        self.assertNoFile(c.queue_id)
        # A client that goes away between records (an SMTP client's RSET
        # or lost connection after RCPT) leaves no file and, as Postfix's
        # cleanup, no warning.
        c = Client(self.sock)
        c.send(data[:len(data) - len(rec("X") + rec("E"))])
        c.f.close()
        c.s.close()
        deadline = time.time() + 5
        path = os.path.join(self.inst.queue, "incoming", c.queue_id)
        while os.path.exists(path) and time.time() < deadline:
            time.sleep(0.1)
        self.assertNoFile(c.queue_id)
        self.assertNotIn("%s: unexpected" % c.queue_id, self.inst.log())

    def test_kill_mid_message(self):
        self.instance()
        c = Client(self.sock)
        data = message(body=["line"] * 50)
        c.send(data[:len(data) // 2])
        path = os.path.join(self.inst.queue, "incoming", c.queue_id)
        deadline = time.time() + 10
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.05)
        self.assertTrue(os.path.exists(path))
        pids = [p for p in self.inst.processes()
                if open("/proc/%d/comm" % p).read().strip() == "cleanup"]
        self.assertTrue(pids)
        for p in pids:
            os.kill(p, signal.SIGKILL)
        time.sleep(0.3)
        for q in ("incoming", "hold"):
            d = os.path.join(self.inst.queue, q)
            for name in os.listdir(d):
                mode = os.stat(os.path.join(d, name)).st_mode
                self.assertFalse(mode & stat.S_IXUSR,
                                 "%s/%s is marked complete" % (q, name))


if __name__ == "__main__":
    unittest.main()
