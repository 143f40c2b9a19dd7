"""smtp_header_checks, smtp_mime_header_checks, smtp_nested_header_checks
and smtp_body_checks: what the smtp client sends and logs, against
scripted ESMTP servers on loopback that record the DATA byte for byte.

Pinned from Debian's Postfix 3.7.11 with the same tables and messages:
- "QID: replace: header X-Fold: a??b: X-Folded: one" (the logical header,
  newline and TAB shown as "?", cut to 60 bytes), "QID: warning: header
  ...", "QID: strip: body ...", no log line for IGNORE
- "warning: unsupported command in smtp_header_checks map: REJECT no way"
  (the line is sent unchanged) for REJECT, DISCARD, HOLD, REDIRECT, BCC,
  FILTER, PASS and unknown words
- body part headers go to smtp_mime_header_checks, attached message
  headers to smtp_nested_header_checks, Content-* to the mime table
- with the 8BITMIME downgrade the checks see quoted-printable lines and
  not the Content-Transfer-Encoding the conversion writes
- SIZE= is the queue file's size even when the content changes
- a lookup error: "warning: QID: smtp body checks lookup error", the DATA
  is not ended, deferred with 4.3.0 "local data error while talking to
  H[A]"; a regexp syntax error only loses that rule
"""
import os
import re
import time
import unittest

import e2e
import smtpsink
import test_smtp

QID = smtpsink.QID

MASTER_CF = test_smtp.MASTER_CF + """\
hbc       unix  -       -       n       -       -       smtp
  -o smtp_header_checks=regexp:TOP/hc
  -o smtp_mime_header_checks=regexp:TOP/mhc
  -o smtp_nested_header_checks=regexp:TOP/nhc
  -o smtp_body_checks=regexp:TOP/bc
broken    unix  -       -       n       -       -       smtp
  -o smtp_header_checks=regexp:TOP/brk
fail      unix  -       -       n       -       -       smtp
  -o smtp_body_checks=hash:TOP/nonexistent
lhbc      unix  -       -       n       -       -       lmtp
  -o lmtp_header_checks=regexp:TOP/hc
"""

HC = r"""/^X-Ignore:/ IGNORE
/^X-Replace:/ REPLACE X-Replaced: new value
/^X-Prepend:/ PREPEND X-Before: added
/^X-Strip:/ STRIP stripped it
/^X-Info:/ INFO info text
/^X-Warn:/ WARN warn text
/^X-Warn2:/ WARN
/^X-Reject:/ REJECT no way
/^X-Pass:/ PASS
/^X-Bad:/ FOOBAR x
/^X-P1:/ PREPEND
/^X-Fold:/ REPLACE X-Folded: one
/^X-Long:/ WARN long
/^X-8bit:/ REPLACE X-8bit: replaced
/^Content-Type:/ INFO never: mime headers use the mime table
"""

MHC = r"""/^Content-Type:/ WARN ct in mime
/^Content-Description:/ REPLACE Content-Description: replaced
/^X-Part:/ PREPEND X-PartBefore: yes
/^Content-Transfer-Encoding:/ WARN cte
"""

NHC = r"""/^Subject:/ INFO nested subject
/^X-Nested:/ IGNORE
"""

BC = r"""/^body-ignore/ IGNORE
/^body-replace/ REPLACE body replaced
/^body-prepend/ PREPEND prepended line
/^body-strip/ STRIP
/^body-info/ INFO binfo
/^body-reject/ REJECT
/^\.dot/ REPLACE .dot replaced
/^8bit-body/ REPLACE 8bit-body replaced
/^x{20}/ PREPEND short
/^y{20}/ PREPEND short
"""

NO8BIT = ("250-no8bit.test\r\n250-PIPELINING\r\n250-SIZE 10000000\r\n"
          "250 DSN\r\n")


def head(subject):
    return ("From: a@x.test\nDate: Fri, 4 Dec 2026 10:00:00 +0000\n"
            "Message-ID: <%s@x.test>\nSubject: %s\n" % (subject, subject))


class HbcTest(smtpsink.SinkTest):
    PREFIX = "postern-smtp-hbc-"
    NEEDS = smtpsink.SinkTest.NEEDS + ("smtp/lmtp",)
    BASE_OFFSET = 90
    DNS = False

    @classmethod
    def setup_all(cls):
        p = cls.port = e2e.free_port()
        cls.s8 = smtpsink.ScriptServer(cls.net(1), p)
        cls.raw.append(cls.s8)
        cls.s7 = smtpsink.ScriptServer(cls.net(2), p)
        cls.s7.EHLO = NO8BIT
        cls.raw.append(cls.s7)
        cls.lmtp = cls.sink(cls.net(6), p, ctl=test_smtp_routes_lmtp())
        for name, text in (("hc", HC), ("mhc", MHC), ("nhc", NHC),
                           ("bc", BC),
                           ("brk", "/^X-Ignore:/ IGNORE\n/^X-(bad/ IGNORE\n")):
            cls.write(name, text)
        transport = {
            "hbc.test": "hbc:[%s]:%d" % (cls.net(1), p),
            "down.test": "hbc:[%s]:%d" % (cls.net(2), p),
            "plain.test": "smtp:[%s]:%d" % (cls.net(1), p),
            "broken.test": "broken:[%s]:%d" % (cls.net(1), p),
            "fail.test": "fail:[%s]:%d" % (cls.net(1), p),
            "lmtp.test": "lhbc:inet:%s:%d" % (cls.net(6), p),
        }
        cls.write("transport", "".join("%s %s\n" % kv
                                       for kv in transport.items()))
        extra = ("transport_maps = texthash:%s/transport\n"
                 "smtp_connection_cache_on_demand = no\n"
                 "minimal_backoff_time = 300s\n"
                 "maximal_backoff_time = 600s\n"
                 "queue_run_delay = 300s\n" % cls.top)
        os.makedirs(os.path.join(cls.top, "inst"))
        cls.inst = e2e.Instance(os.path.join(cls.top, "inst"),
                                MASTER_CF.replace("TOP", cls.top), extra)
        cls.inst.start()

    def data(self, server, subject, timeout=30):
        """The DATA the server got for the message with this subject, from
        its Subject: line on (cleanup's Received: lines cut off)."""
        key = b"Subject: " + subject.encode() + b"\r\n"
        deadline = time.time() + timeout
        while time.time() < deadline:
            for d in list(server.data):
                if key in d:
                    return d[d.index(key):]
            time.sleep(0.1)
        self.fail("no message %s at the server: %r\n%s"
                  % (subject, server.chunks, self.inst.log()[-3000:]))

    def mail_cmd(self, server, rcpt):
        for chunk in server.chunks:
            for i, line in enumerate(chunk):
                if line.startswith("RCPT TO:<%s>" % rcpt):
                    return [c for c in chunk[:i] if c.startswith("MAIL")][-1]
        return None

    def line(self, text):
        return self.expect(r"postfix/smtp\[\d+\]: (%s): %s$"
                           % (QID, re.escape(text)))

    def test_headers(self):
        """IGNORE, REPLACE, PREPEND, STRIP, INFO, WARN on primary headers,
        a folded header replaced whole, an unsupported action."""
        self.send("h@hbc.test", head("hdr") +
                  "X-Ignore: gone\nX-Replace: old\n value\nX-Prepend: keep\n"
                  "X-Strip: x\nX-Info: i\nX-Warn: w\nX-Warn2: w2\n"
                  "X-Fold: a\n\tb\nX-Reject: r\nX-Pass: p\nX-Bad: bad\n"
                  "X-P1: p1\nX-Long: " + "0123456789" * 7 + "\n\nbody\n")
        self.assertEqual(self.data(self.s8, "hdr"),
                         b"Subject: hdr\r\nX-Replaced: new value\r\n"
                         b"X-Before: added\r\nX-Prepend: keep\r\n"
                         b"X-Info: i\r\nX-Warn: w\r\nX-Warn2: w2\r\n"
                         b"X-Folded: one\r\nX-Reject: r\r\nX-Pass: p\r\n"
                         b"X-Bad: bad\r\nX-P1: p1\r\nX-Long: " +
                         b"0123456789" * 7 + b"\r\n\r\nbody\r\n")
        qid = self.line("replace: header X-Replace: old? value: "
                        "X-Replaced: new value").group(1)
        for text in ("prepend: header X-Prepend: keep: X-Before: added",
                     "strip: header X-Strip: x: stripped it",
                     "info: header X-Info: i: info text",
                     "warning: header X-Warn: w: warn text",
                     "warning: header X-Warn2: w2",
                     "replace: header X-Fold: a??b: X-Folded: one",
                     "warning: header X-Long: " +
                     ("0123456789" * 6)[:52] + ": long"):
            self.line(text.replace("QID", qid))
        for text in ("unsupported command in smtp_header_checks map: "
                     "REJECT no way",
                     "unsupported command in smtp_header_checks map: PASS",
                     "unsupported command in smtp_header_checks map: "
                     "FOOBAR x",
                     "PREPEND action without text in smtp_header_checks "
                     "map"):
            self.expect(r"postfix/smtp\[\d+\]: warning: %s$"
                        % re.escape(text))
        self.assertNotIn("gone", self.inst.log())
        # SIZE= is the queue file's, not what was sent
        mail = self.mail_cmd(self.s8, "h@hbc.test")
        self.assertRegex(mail, r"^MAIL FROM:<snd@relay.test> SIZE=\d+$")
        sent = int(re.search(r"SIZE=(\d+)", mail).group(1))
        self.assertIn("size=%d," % sent, self.inst.log())

    def test_body(self):
        """Body lines: IGNORE, REPLACE, PREPEND, STRIP, INFO; the
        replaced text is dot-stuffed; an unsupported body action."""
        self.send("b@hbc.test", head("body") +
                  "\nbody-ignore me\nbody-replace me\nbody-prepend me\n"
                  "body-strip me\nbody-info me\nbody-reject me\n.dot\n"
                  "..two\nplain\n")
        self.assertEqual(self.data(self.s8, "body"),
                         b"Subject: body\r\n\r\nbody replaced\r\n"
                         b"prepended line\r\nbody-prepend me\r\n"
                         b"body-info me\r\nbody-reject me\r\n"
                         b"..dot replaced\r\n...two\r\nplain\r\n")
        for text in ("replace: body body-replace me: body replaced",
                     "prepend: body body-prepend me: prepended line",
                     "strip: body body-strip me",
                     "info: body body-info me: binfo",
                     "replace: body .dot: .dot replaced"):
            self.line(text)
        self.expect(r"postfix/smtp\[\d+\]: warning: unsupported command in "
                    r"smtp_body_checks map: REJECT$")

    def test_long_line(self):
        """A line longer than a queue file record (2048 bytes) is looked
        up piece by piece, as Postfix does: the replaced first piece keeps
        the line open, PREPEND text ends a line, then lines are broken at
        998 bytes."""
        self.send("l@hbc.test", head("long") + "\nbody-replace" +
                  "x" * 3000 + "\n" + "y" * 2048 + "body-info tail\nend\n")
        y = b"y" * 2048 + b"body-info tail"
        self.assertEqual(self.data(self.s8, "long"),
                         b"Subject: long\r\n\r\nbody replacedshort\r\n" +
                         b"x" * 964 + b"\r\nshort\r\n" + y[:998] +
                         b"\r\n " + y[998:1995] + b"\r\n " + y[1995:] +
                         b"\r\nend\r\n")
        self.line("replace: body body-replace" + "x" * 48 +
                  ": body replaced")
        self.line("prepend: body " + "x" * 60 + ": short")
        self.line("prepend: body " + "y" * 60 + ": short")
        self.line("info: body body-info tail: binfo")

    def test_mime(self):
        """Part headers to the mime table (X-Ignore there is not ignored),
        attached message headers to the nested table."""
        self.send("m@hbc.test", head("mime") +
                  'MIME-Version: 1.0\nContent-Type: multipart/mixed; '
                  'boundary="BB"\n\npreamble\n--BB\n'
                  "Content-Type: text/plain\nContent-Description: desc\n"
                  "X-Part: p\nX-Ignore: part\n\nbody-replace in part\n"
                  "--BB\nContent-Type: message/rfc822\n\n"
                  "Subject: nested\nX-Nested: n\nX-Ignore: nested\n\n"
                  "body-info nested\n--BB--\nepilogue\n")
        self.assertEqual(self.data(self.s8, "mime"),
                         b'Subject: mime\r\nMIME-Version: 1.0\r\n'
                         b'Content-Type: multipart/mixed; boundary="BB"\r\n'
                         b"\r\npreamble\r\n--BB\r\n"
                         b"Content-Type: text/plain\r\n"
                         b"Content-Description: replaced\r\n"
                         b"X-PartBefore: yes\r\nX-Part: p\r\n"
                         b"X-Ignore: part\r\n\r\nbody replaced\r\n"
                         b"--BB\r\nContent-Type: message/rfc822\r\n\r\n"
                         b"Subject: nested\r\nX-Ignore: nested\r\n\r\n"
                         b"body-info nested\r\n--BB--\r\nepilogue\r\n")
        for text in ('warning: header Content-Type: multipart/mixed; '
                     'boundary="BB": ct in mime',
                     "warning: header Content-Type: text/plain: ct in mime",
                     "replace: header Content-Description: desc: "
                     "Content-Description: replaced",
                     "prepend: header X-Part: p: X-PartBefore: yes",
                     "warning: header Content-Type: message/rfc822: "
                     "ct in mime",
                     "info: header Subject: nested: nested subject",
                     "info: body body-info nested: binfo"):
            self.line(text)
        self.assertNotIn("never: mime headers", self.inst.log())

    def test_downgrade(self):
        """No 8BITMIME: the checks see the quoted-printable body, not the
        Content-Transfer-Encoding the conversion writes; no SIZE."""
        self.send("d@down.test", head("down") +
                  "X-8bit: seven\nMIME-Version: 1.0\n"
                  "Content-Type: text/plain; charset=iso-8859-1\n"
                  "Content-Transfer-Encoding: 8bit\n\n8bit-body \xe9\n"
                  "other \xe9\n", opts=("-B", "8BITMIME"))
        self.assertEqual(self.data(self.s7, "down"),
                         b"Subject: down\r\nX-8bit: replaced\r\n"
                         b"MIME-Version: 1.0\r\n"
                         b"Content-Type: text/plain; charset=iso-8859-1\r\n"
                         b"Content-Transfer-Encoding: quoted-printable\r\n"
                         b"\r\n8bit-body replaced\r\nother =C3=A9\r\n")
        qid = self.line("replace: body 8bit-body =C3=A9: "
                        "8bit-body replaced").group(1)
        self.assertNotRegex(self.inst.log(), r"%s: warning: header "
                            r"Content-Transfer-Encoding" % qid)
        self.assertEqual(self.mail_cmd(self.s7, "d@down.test"),
                         "MAIL FROM:<snd@relay.test>")

    def test_8bit_cte_checked(self):
        """With 8BITMIME the Content-Transfer-Encoding is looked up."""
        self.send("e@hbc.test", head("cte") +
                  "MIME-Version: 1.0\nContent-Transfer-Encoding: 8bit\n\n"
                  "x\n", opts=("-B", "8BITMIME"))
        self.data(self.s8, "cte")
        self.line("warning: header Content-Transfer-Encoding: 8bit: cte")

    def test_no_tables(self):
        """No tables: the content is sent as it is."""
        text = ("X-Ignore: kept\nX-Replace: kept\n\nbody-ignore kept\n"
                ".dot\n")
        self.send("n@plain.test", head("plain") + text)
        self.assertEqual(self.data(self.s8, "plain"),
                         b"Subject: plain\r\nX-Ignore: kept\r\n"
                         b"X-Replace: kept\r\n\r\nbody-ignore kept\r\n"
                         b"..dot\r\n")

    def test_broken_regexp(self):
        """A bad pattern loses its rule, the others apply, mail goes."""
        self.send("x@broken.test", head("broken") +
                  "X-Ignore: gone\nX-Other: kept\n\nbody\n")
        self.assertEqual(self.data(self.s8, "broken"),
                         b"Subject: broken\r\nX-Other: kept\r\n\r\n"
                         b"body\r\n")
        self.expect(r"postfix/smtp\[\d+\]: warning: regexp map "
                    r"%s/brk, line 2: Unmatched \( or \\\($"
                    % re.escape(self.top))

    def test_lookup_error(self):
        """A table that cannot be read: deferred, DATA left unended."""
        self.send("f@fail.test", head("fail") + "\nbody\n")
        m = self.expect(r"postfix/smtp\[\d+\]: warning: (%s): smtp body "
                        r"checks lookup error$" % QID)
        self.status("f@fail.test",
                    re.escape("%s[%s]:%d" % (self.net(1), self.net(1),
                                             self.port)),
                    "4.3.0", "deferred",
                    re.escape("local data error while talking to "
                              "%s[%s]" % (self.net(1), self.net(1))))
        self.assertFalse(any(b"Subject: fail\r\n" in d
                             for d in self.s8.data))
        self.assertTrue(m)

    def test_lmtp(self):
        """lmtp_header_checks for the LMTP client."""
        self.send("l@lmtp.test", head("lmtp") + "X-Ignore: gone\n"
                  "X-Reject: r\n\nbody\n")
        m = self.lmtp.wait(lambda m: b"Subject: lmtp" in m["data"])
        self.assertIsNotNone(m)
        self.assertNotIn(b"X-Ignore", m["data"])
        self.expect(r"postfix/lmtp\[\d+\]: warning: unsupported command in "
                    r"lmtp_header_checks map: REJECT no way$")


def test_smtp_routes_lmtp():
    import test_smtp_routes
    return test_smtp_routes.LmtpInet


if __name__ == "__main__":
    unittest.main()
