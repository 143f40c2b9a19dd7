"""smtpd's XCLIENT, XFORWARD and HAProxy PROXY protocol end to end.  The
replies, log lines and queue file attributes are Postfix 3.7's, observed
from Debian's Postfix run from a private configuration (see the brief's
oracle recipe).  No qmgr runs, so queued messages stay in incoming/ where
the test reads their envelope.
"""
import glob
import os
import re
import shutil
import socket
import struct
import tempfile
import time
import unittest

import e2e
import qfile

QID = r"[0-9A-F]{6,}"

MASTER_CF = e2e.master_cf("cleanup", "rewrite", "postlog") + """\
127.0.0.1:PORT1 inet n   -       n       -       -       smtpd
127.0.0.1:PORT2 inet n   -       n       -       -       smtpd
  -o smtpd_authorized_xclient_hosts= -o smtpd_authorized_xforward_hosts=
127.0.0.1:PORT3 inet n   -       n       -       -       smtpd
  -o smtpd_upstream_proxy_protocol=haproxy
  -o smtpd_upstream_proxy_timeout=2s
  -o smtpd_forbid_unauth_pipelining=no
"""

BANNER = b"220 mx.example.test ESMTP Postern\r\n"
XCLIENT_KW = ("XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN "
              "DESTADDR DESTPORT")
XFORWARD_KW = "XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT"


class XclientTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for rel in ("master/master", "smtpd/smtpd", "cleanup/cleanup",
                    "trivial-rewrite/trivial-rewrite", "postlogd/postlogd"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        cls.top = tempfile.mkdtemp(prefix="postern-xclient-")
        os.chmod(cls.top, 0o755)
        cls.ports = [e2e.free_port() for _ in range(3)]
        while len(set(cls.ports)) < 3:
            cls.ports = [e2e.free_port() for _ in range(3)]
        extra = ("smtpd_error_sleep_time = 0s\n"
                 "mydestination = $myhostname, localhost\n"
                 "mynetworks = 127.0.0.0/8\n"
                 "alias_maps =\nsmtpd_timeout = 5s\n"
                 "smtpd_authorized_xclient_hosts = 127.0.0.0/8\n"
                 "smtpd_authorized_xforward_hosts = 127.0.0.0/8\n")
        master = MASTER_CF
        for i, p in enumerate(cls.ports):
            master = master.replace("PORT%d" % (i + 1), str(p))
        os.makedirs(os.path.join(cls.top, "inst"))
        cls.inst = e2e.Instance(os.path.join(cls.top, "inst"), master, extra)
        cls.inst.start()
        for p in cls.ports:
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", p), 1).close()
                    break
                except OSError:
                    time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        cls.inst.stop()
        shutil.rmtree(cls.top, ignore_errors=True)

    # helpers

    def chat(self, lines, port=None):
        """Send each line, read its reply; returns the replies (lists of
        lines), the greeting first."""
        s = socket.create_connection(("127.0.0.1", port or self.ports[0]),
                                     10)
        s.settimeout(10)
        f = s.makefile("rb")
        out = [self.reply(f)]
        for line in lines:
            s.sendall(line.encode() + b"\r\n")
            out.append(self.reply(f))
        s.close()
        return out

    def reply(self, f):
        lines = []
        while True:
            line = f.readline()
            self.assertTrue(line, "connection closed after %r" % lines)
            lines.append(line.decode().rstrip("\r\n"))
            if line[3:4] != b"-":
                return lines

    def expect(self, pattern, timeout=15):
        m = self.inst.wait_log(pattern, timeout)
        self.assertIsNotNone(m, "no log line /%s/ in:\n%s"
                             % (pattern, self.inst.log()[-4000:]))
        return m

    def queued(self, qid, timeout=15):
        """The named attributes and content of an incoming queue file."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            paths = glob.glob(os.path.join(self.inst.queue, "incoming",
                                           "**", qid), recursive=True)
            if paths:
                attrs, lines, seen_m = [], [], False
                for t, data, _ in qfile.read(paths[0]):
                    d = data.decode(errors="replace")
                    if t == "M":
                        seen_m = True
                    elif t == "A":
                        attrs.append(d)
                    elif t in "NL" and seen_m:
                        lines.append(d)
                return attrs, lines
            time.sleep(0.1)
        self.fail("no queue file %s" % qid)

    def send(self, pre, port=None, helo=None):
        """A message after the commands in pre; returns (replies, qid)."""
        body = []
        if helo:
            body.append(helo)
        body += ["MAIL FROM:<a@example.test>", "RCPT TO:<root@localhost>",
                 "DATA"]
        r = self.chat(pre + body + ["Subject: x\r\n\r\nhi\r\n.", "QUIT"],
                      port)
        m = re.search(r"queued as (%s)" % QID, r[-2][0])
        self.assertIsNotNone(m, r)
        return r, m.group(1)

    # XCLIENT

    def test_ehlo_keywords(self):
        r = self.chat(["EHLO c.example"])
        self.assertIn("250-" + XCLIENT_KW, r[1])
        self.assertIn("250-" + XFORWARD_KW, r[1])
        self.assertLess(r[1].index("250-" + XCLIENT_KW),
                        r[1].index("250-" + XFORWARD_KW))
        r = self.chat(["EHLO c.example"], self.ports[1])
        self.assertFalse([x for x in r[1] if "XCLIENT" in x or
                          "XFORWARD" in x])

    def test_xclient_unauthorized(self):
        r = self.chat(["XCLIENT", "XFORWARD", "XCLIENT NAME=a.example",
                       "XFORWARD NAME=a.example", "MAIL FROM:<>",
                       "XCLIENT NAME=a", "XFORWARD NAME=a"], self.ports[1])
        self.assertEqual(r[1], ["501 5.5.4 Syntax: XCLIENT attribute=value..."])
        self.assertEqual(r[2], ["501 5.5.4 Syntax: XFORWARD attribute=value..."])
        self.assertEqual(r[3], ["550 5.7.0 Error: insufficient authorization"])
        self.assertEqual(r[4], ["550 5.7.0 Error: insufficient authorization"])
        self.assertEqual(r[6], ["503 5.5.1 Error: MAIL transaction in progress"])
        self.assertEqual(r[7], ["503 5.5.1 Error: MAIL transaction in progress"])

    def test_xclient_syntax(self):
        cases = [
            ("FOO=bar", "501 5.5.4 Bad XCLIENT attribute name: FOO"),
            ("NAME", "501 5.5.4 Error: attribute=value expected"),
            ("LOGIN=", "501 5.5.4 Error: attribute=value expected"),
            ("NAME=" + "a" * 256, "501 5.5.4 Error: attribute value too long"),
            ("NAME=a+2Bb", "501 5.5.4 Bad NAME syntax: a+b"),
            ("NAME=a+zz", "501 5.5.4 Bad NAME syntax: a+zz"),
            ("NAME=bad_name!", "501 5.5.4 Bad NAME syntax: bad_name!"),
            ("NAME=1.2.3.4", "501 5.5.4 Bad NAME syntax: 1.2.3.4"),
            ("NAME=-a.b", "501 5.5.4 Bad NAME syntax: -a.b"),
            ("ADDR=999.1.1.1", "501 5.5.4 Bad ADDR syntax: 999.1.1.1"),
            ("ADDR=::1", "501 5.5.4 Bad ADDR syntax: ::1"),
            ("ADDR=[TEMPUNAVAIL]", "501 5.5.4 Bad ADDR syntax: [TEMPUNAVAIL]"),
            ("PORT=abc", "501 5.5.4 Bad PORT syntax: abc"),
            ("PROTO=FOO", "501 5.5.4 Bad PROTO syntax: FOO"),
            ("PROTO=[UNAVAILABLE]",
             "501 5.5.4 Bad PROTO syntax: [UNAVAILABLE]"),
            ("DESTPORT=x", "501 5.5.4 Bad DESTPORT syntax: x"),
            ("DESTADDR=zz", "501 5.5.4 Bad DESTADDR syntax: zz"),
            ("NAME=x.example FOO=bar",
             "501 5.5.4 Bad XCLIENT attribute name: FOO"),
        ]
        r = self.chat(["XCLIENT " + c for c, _ in cases] + ["QUIT"])
        for (c, want), got in zip(cases, r[1:]):
            self.assertEqual(got, [want], c)
        # nothing was applied: the client is still the real one
        self.expect(r"disconnect from localhost\[127\.0\.0\.1\] "
                    r"xclient=0/%d quit=1 commands=1/%d"
                    % (len(cases), len(cases) + 1))

    def test_xclient_replaces_client(self):
        r, qid = self.send(
            ["EHLO first.example",
             "XCLIENT NAME=foo.example ADDR=10.1.2.3 PORT=1234 PROTO=ESMTP "
             "HELO=h+20x DESTADDR=IPV6:2001:DB8::2 DESTPORT=587",
             "XCLIENT NAME=again.example"])
        self.assertEqual(r[2], ["220 mx.example.test ESMTP Postern"])
        # the new client (10.1.2.3) is not authorized
        self.assertEqual(r[3], ["550 5.7.0 Error: insufficient authorization"])
        self.expect(r"%s: client=foo\.example\[10\.1\.2\.3\]$" % qid)
        self.expect(r"disconnect from foo\.example\[10\.1\.2\.3\] ehlo=1 "
                    r"xclient=0/2 mail=1 rcpt=1 data=1 quit=1 "
                    r"commands=5/7")
        attrs, lines = self.queued(qid)
        for a in ("log_client_name=foo.example",
                  "log_client_address=10.1.2.3", "log_client_port=1234",
                  "log_message_origin=foo.example[10.1.2.3]",
                  "log_helo_name=h?x", "log_protocol_name=ESMTP",
                  "rewrite_context=remote"):
            self.assertIn(a, attrs)
        self.assertEqual(lines[0], "Received: from h?x (foo.example "
                         "[10.1.2.3])")
        self.assertTrue(lines[1].startswith("\tby mx.example.test (Postern) "
                                            "with ESMTP id " + qid), lines)

    def test_xclient_forgets_helo(self):
        r, qid = self.send(["EHLO first.example",
                            "XCLIENT NAME=[TEMPUNAVAIL] ADDR=127.0.0.9 "
                            "PORT=[UNAVAILABLE]"])
        attrs, lines = self.queued(qid)
        self.assertIn("log_client_name=unknown", attrs)
        self.assertIn("log_client_port=unknown", attrs)
        self.assertIn("log_protocol_name=SMTP", attrs)
        self.assertFalse([a for a in attrs if a.startswith("log_helo_name")])
        self.assertEqual(lines[0], "Received: from unknown (unknown "
                         "[127.0.0.9])")
        self.expect(r"%s: client=unknown\[127\.0\.0\.9\]$" % qid)

    def test_xclient_ipv6_and_unavailable(self):
        r, qid = self.send(["XCLIENT ADDR=IPV6:2001:DB8::5 "
                            "NAME=v6.example"])
        attrs, _ = self.queued(qid)
        self.assertIn("log_client_address=IPv6:2001:db8::5", attrs)
        self.expect(r"%s: client=v6\.example\[2001:db8::5\]$" % qid)
        r, qid = self.send(["XCLIENT ADDR=[UNAVAILABLE] name=Mixed.Example"])
        self.expect(r"%s: client=Mixed\.Example\[unknown\]$" % qid)

    def test_xclient_login(self):
        r, qid = self.send(["XCLIENT LOGIN=j+40oe PROTO=esmtp"])
        self.expect(r"%s: client=localhost\[127\.0\.0\.1\]" % qid)
        attrs, lines = self.queued(qid)
        # Postfix: the protocol attribute stays ESMTP, Received: says
        # ESMTPA
        self.assertIn("log_protocol_name=ESMTP", attrs)
        self.assertEqual(lines[0], "Received: from localhost (localhost "
                         "[127.0.0.1])")
        self.assertTrue(lines[1].startswith("\tby mx.example.test "
                                            "(Postern) with ESMTPA id "),
                        lines)

    def test_xclient_in_transaction(self):
        r = self.chat(["HELO x", "MAIL FROM:<>", "XCLIENT NAME=x",
                       "RSET", "XCLIENT NAME=x", "QUIT"])
        self.assertEqual(r[3], ["503 5.5.1 Error: MAIL transaction in "
                                "progress"])
        self.assertEqual(r[5], ["220 mx.example.test ESMTP Postern"])

    # XFORWARD

    def test_xforward(self):
        r, qid = self.send(
            ["EHLO x", "XFORWARD NAME=fwd.example ADDR=10.9.8.7 PORT=4444 "
             "PROTO=ESMTP HELO=fh.example IDENT=ABC123 SOURCE=REMOTE"])
        self.assertEqual(r[2], ["250 2.0.0 Ok"])
        self.expect(r"%s: client=localhost\[127\.0\.0\.1\], "
                    r"orig_queue_id=ABC123, "
                    r"orig_client=fwd\.example\[10\.9\.8\.7\]$" % qid)
        attrs, lines = self.queued(qid)
        for a in ("log_ident=ABC123", "rewrite_context=remote",
                  "log_client_name=fwd.example",
                  "log_client_address=10.9.8.7", "log_client_port=4444",
                  "log_message_origin=fwd.example[10.9.8.7]",
                  "log_helo_name=fh.example", "log_protocol_name=ESMTP"):
            self.assertIn(a, attrs)
        # the Received: header names the real client
        self.assertEqual(lines[0], "Received: from x (localhost "
                         "[127.0.0.1])")

    def test_xforward_partial_and_reset(self):
        r = self.chat(["XFORWARD NAME=only.example", "XFORWARD IDENT=Q1",
                       "MAIL FROM:<a@b.example>", "XFORWARD NAME=late",
                       "RCPT TO:<root@localhost>", "DATA",
                       "Subject: x\r\n\r\nhi\r\n.",
                       "MAIL FROM:<c@d.example>", "RCPT TO:<root@localhost>",
                       "DATA", ".", "QUIT"])
        self.assertEqual(r[4], ["503 5.5.1 Error: MAIL transaction in "
                                "progress"])
        q1 = re.search(r"queued as (%s)" % QID, r[7][0]).group(1)
        q2 = re.search(r"queued as (%s)" % QID, r[11][0]).group(1)
        self.expect(r"%s: client=localhost\[127\.0\.0\.1\], "
                    r"orig_queue_id=Q1, orig_client=only\.example$" % q1)
        self.expect(r"%s: client=localhost\[127\.0\.0\.1\]$" % q2)
        attrs, _ = self.queued(q1)
        for a in ("log_client_name=only.example",
                  "log_client_address=unknown", "log_client_port=unknown",
                  "log_message_origin=only.example",
                  "log_protocol_name=unknown", "rewrite_context=local"):
            self.assertIn(a, attrs)
        self.assertFalse([a for a in attrs if a.startswith("log_helo_name")])
        attrs, _ = self.queued(q2)
        self.assertIn("log_client_name=localhost", attrs)
        self.assertTrue([a for a in attrs
                         if re.match(r"log_client_port=\d+$", a)], attrs)
        self.assertFalse([a for a in attrs if a.startswith("log_ident")])
        self.expect(r"disconnect from localhost\[127\.0\.0\.1\] "
                    r"xforward=2/3 mail=2 rcpt=2 data=2 quit=1 "
                    r"commands=9/10")

    def test_xforward_syntax(self):
        cases = [
            ("FOO=1", "501 5.5.4 Bad XFORWARD attribute name: FOO"),
            ("DESTADDR=1.2.3.4",
             "501 5.5.4 Bad XFORWARD attribute name: DESTADDR"),
            ("NAME", "501 5.5.4 Error: attribute=value expected"),
            ("NAME=", "501 5.5.4 Error: attribute=value expected"),
            ("NAME=bad!name", "501 5.5.4 Bad NAME syntax: bad!name"),
            ("NAME=1.2.3.4", "501 5.5.4 Bad NAME syntax: 1.2.3.4"),
            ("ADDR=zz", "501 5.5.4 Bad ADDR syntax: zz"),
            ("PORT=abc", "501 5.5.4 Bad PORT syntax: abc"),
            ("SOURCE=elsewhere", "501 5.5.4 Bad SOURCE syntax: elsewhere"),
            ("NAME=[UNAVAILABLE] ADDR=[TEMPUNAVAIL]",
             "501 5.5.4 Bad ADDR syntax: [TEMPUNAVAIL]"),
            ("NAME=" + "a" * 300, "501 5.5.4 Error: attribute value too long"),
            ("PORT=99999", "250 2.0.0 Ok"),
            ("PROTO=b+20d", "250 2.0.0 Ok"),
            ("HELO=" + "a" * 255, "250 2.0.0 Ok"),
            ("IDENT=a+zz", "250 2.0.0 Ok"),
            ("ADDR=IPV6:2001:db8::7", "250 2.0.0 Ok"),
            ("name=x.y", "250 2.0.0 Ok"),
            ("SOURCE=local", "250 2.0.0 Ok"),
        ]
        r = self.chat(["XFORWARD " + c for c, _ in cases] + ["RSET"])
        for (c, want), got in zip(cases, r[1:]):
            self.assertEqual(got, [want], c[:40])

    # PROXY

    def proxy(self, header, tail=b"EHLO x\r\nQUIT\r\n"):
        s = socket.create_connection(("127.0.0.1", self.ports[2]), 10)
        s.settimeout(10)
        if header:
            s.sendall(header)
        if tail:
            time.sleep(0.3)
            try:
                s.sendall(tail)
            except OSError:
                pass
        out = b""
        try:
            while True:
                d = s.recv(4096)
                if not d:
                    break
                out += d
        except OSError:
            pass
        s.close()
        return out

    @staticmethod
    def v2(cmd, fam, addrs, tlv=b""):
        body = addrs + tlv
        return (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x20 | cmd, fam]) +
                struct.pack("!H", len(body)) + body)

    IP4 = (socket.inet_aton("10.1.1.1") + socket.inet_aton("10.2.2.2") +
           struct.pack("!HH", 1111, 25))
    IP6 = (socket.inet_pton(socket.AF_INET6, "2001:db8::1") +
           socket.inet_pton(socket.AF_INET6, "2001:db8::2") +
           struct.pack("!HH", 2222, 587))

    def test_proxy_good(self):
        cases = [
            (b"PROXY TCP4 10.1.1.1 10.2.2.2 1111 25\r\n", "10.1.1.1"),
            (b"PROXY TCP6 2001:db8::1 2001:db8::2 2222 587\r\n",
             "2001:db8::1"),
            (b"PROXY TCP6 ::ffff:10.1.1.7 ::1 1111 25\r\n", "10.1.1.7"),
            (b"PROXY  TCP4 10.1.1.3 10.2.2.2 1111 25 extra\n", "10.1.1.3"),
            (self.v2(1, 0x11, self.IP4), "10.1.1.1"),
            (self.v2(1, 0x21, self.IP6), "2001:db8::1"),
            (self.v2(1, 0x11, self.IP4, b"\x01\x00\x02h2\x04\x00\x00"),
             "10.1.1.1"),
            (self.v2(0, 0x00, b""), "127.0.0.1"),
        ]
        for header, addr in cases:
            out = self.proxy(header)
            self.assertTrue(out.startswith(BANNER), (header, out))
            self.assertIn(b"221 2.0.0 Bye", out)
            name = "localhost" if addr == "127.0.0.1" else "unknown"
            self.expect(r"connect from %s\[%s\]" % (name, re.escape(addr)))
        # the header's bytes only were consumed: EHLO got its reply
        self.assertIn(b"250-mx.example.test", out)

    def test_proxy_bad(self):
        cases = [
            (b"PROXY UNKNOWN\r\n",
             r"bad or missing protocol type: PROXY UNKNOWN\\r\\n"),
            (b"PROXY TCP4 10.1.1.1 10.2.2.2 1111\r\n",
             r"bad or missing server port: PROXY TCP4 10\.1\.1\.1 "
             r"10\.2\.2\.2 1111\\r\\n"),
            (b"PROXY TCP4 10.1.1.999 10.2.2.2 1111 25\r\n",
             r"bad or missing client address: "),
            (b"PROXY TCP4 10.1.1.1 10.2.2.2 01111 025\r\n",
             r"bad or missing client port: "),
            (b"PROXY TCP4 2001:db8::1 10.2.2.2 1 25\r\n",
             r"bad or missing client address: "),
            (b"PROXY TCP4 10.1.1.1 10.2.2.2 1111 25\r",
             r"missing protocol header terminator: PROXY TCP4 10\.1\.1\.1 "
             r"10\.2\.2\.2 1111 25\\r$"),
            (b"EHLO foo\r\n", r"short protocol header: EHLO foo\\r\\n$"),
            (b"HELO foo.example\r\n",
             r"unrecognized protocol header: HELO foo\.example\\r\\n$"),
            (self.v2(1, 0x00, b""),
             r"unsupported network protocol: \\r\\n\\r\\n\\000\\r\\nQUIT"
             r"\\n!\\000\\000\\000$"),
            (self.v2(1, 0x11, self.IP4[:5]), r"short address field: "),
            (self.v2(1, 0x12, self.IP4), r"unsupported network protocol: "),
            (self.v2(1, 0x11, self.IP4)[:20],
             r"short version 2 protocol header: "),
            (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x31, 0x11]) +
             struct.pack("!H", 12) + self.IP4,
             r"unrecognized protocol version: "),
            (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x22, 0x11]) +
             struct.pack("!H", 12) + self.IP4,
             r"bad command in proxy header: .*\\021\\000\\f\\n"),
        ]
        for header, warning in cases:
            out = self.proxy(header, tail=None)
            self.assertEqual(out, b"421 4.3.0 mx.example.test Server local "
                             b"error\r\n", header)
            self.expect(r"warning: haproxy read: " + warning)
        self.expect(r"disconnect from localhost\[127\.0\.0\.1\] "
                    r"commands=0")

    def test_proxy_slow_and_silent(self):
        # the header must arrive in one piece, as with Postfix
        s = socket.create_connection(("127.0.0.1", self.ports[2]), 10)
        s.settimeout(10)
        s.sendall(b"PROXY TCP4 10.")
        time.sleep(0.5)
        try:
            s.sendall(b"1.1.1 10.2.2.2 1111 25\r\n")
        except OSError:
            pass
        self.assertTrue(s.recv(100).startswith(b"421 4.3.0"))
        s.close()
        self.expect(r"warning: haproxy read: missing protocol header "
                    r"terminator: PROXY TCP4 10\.")
        # nothing within smtpd_upstream_proxy_timeout
        out = self.proxy(b"", tail=None)
        self.assertTrue(out.startswith(b"421 4.3.0"), out)
        self.expect(r"warning: haproxy read: timeout error")
        s = socket.create_connection(("127.0.0.1", self.ports[2]), 10)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(10)
        self.assertTrue(s.recv(100).startswith(b"421 4.3.0"))
        s.close()
        self.expect(r"warning: haproxy read: EOF")


if __name__ == "__main__":
    unittest.main()


NOBODY = 65534


class SendmailBsTest(unittest.TestCase):
    """sendmail -bs: smtpd -S on the caller's pipes, queueing through
    postdrop into maildrop/ as Postfix's stand-alone smtpd does."""

    CONV = ("EHLO me.example\r\nMAIL FROM:<r@x.example>\r\n"
            "RCPT TO:<someone@elsewhere.example>\r\nDATA\r\n"
            "Subject: bs\r\n\r\nhello\r\n.\r\nQUIT\r\n")

    @classmethod
    def setUpClass(cls):
        for rel in ("master/master", "smtpd/smtpd", "sendmail/sendmail",
                    "postdrop/postdrop", "postlogd/postlogd"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        cls.top = tempfile.mkdtemp(prefix="postern-bs-")
        cls.inst = e2e.Instance(
            cls.top, "postlog   unix-dgram n  -       n       -       1"
            "       postlogd\n", "mynetworks = 127.0.0.0/8\n")
        q = cls.inst.queue
        for d, owner, mode in (("maildrop", "postfix:postdrop", 0o730),
                               ("public", "postfix:postdrop", 0o710),
                               ("incoming", "postfix", 0o700),
                               ("private", "postfix", 0o700),
                               ("pid", "root", 0o755)):
            os.makedirs(os.path.join(q, d), exist_ok=True)
            shutil.chown(os.path.join(q, d),
                         *(owner.split(":") + [None])[:2])
            os.chmod(os.path.join(q, d), mode)
        os.chmod(q, 0o755)
        pd = os.path.join(cls.inst.bin, "postdrop")
        os.unlink(pd)
        shutil.copy2(e2e.prog("postdrop"), pd)
        shutil.chown(pd, "root", "postdrop")
        os.chmod(pd, 0o2755)
        cls.inst.start()

    @classmethod
    def tearDownClass(cls):
        cls.inst.stop()
        shutil.rmtree(cls.top, ignore_errors=True)

    def maildrop(self):
        return sorted(os.listdir(os.path.join(self.inst.queue, "maildrop")))

    def sendmail_bs(self, user=None):
        argv = [os.path.join(self.inst.bin, "sendmail"), "-bs"]
        if user:
            argv = ["setpriv", "--reuid=%d" % user, "--regid=65534",
                    "--clear-groups", "--"] + argv
        return e2e.run(argv, input=self.CONV,
                       env={"MAIL_CONFIG": self.inst.conf})

    def test_root(self):
        before = self.maildrop()
        r = self.sendmail_bs()
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.replace("\r", "").split("\n")
        self.assertEqual(lines[0], "220 mx.example.test ESMTP Postern")
        m = re.match(r"250 2\.0\.0 Ok: queued as (%s)$" % QID, lines[-3])
        self.assertIsNotNone(m, lines)
        self.assertEqual(lines[-2], "221 2.0.0 Bye")
        qid = m.group(1)
        # postdrop's maildrop file, owned by the submitting user (pickup
        # takes the uid from it), with the sender and recipient
        self.assertEqual(self.maildrop(), sorted(before + [qid]))
        path = os.path.join(self.inst.queue, "maildrop", qid)
        self.assertEqual(os.stat(path).st_uid, 0)
        recs = [(t, d.decode(errors="replace"))
                for t, d, _ in qfile.read(path)]
        self.assertIn(("S", "r@x.example"), recs)
        self.assertIn(("R", "someone@elsewhere.example"), recs)
        self.assertFalse([d for t, d in recs
                          if t == "A" and d.startswith("log_")])
        self.assertIn(("N", "Received: from me.example (localhost "
                       "[127.0.0.1])"), recs)
        self.assertIn(("N", "Subject: bs"), recs)
        m = self.inst.wait_log(r"%s: client=localhost\[127\.0\.0\.1\]" % qid,
                               10)
        self.assertIsNotNone(m, self.inst.log())
        self.assertIsNotNone(self.inst.wait_log(
            r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1 "
            r"rcpt=1 data=1 quit=1 commands=5", 10))

    def test_unprivileged(self):
        # nobody's smtpd -S can only go through postdrop, which refuses a
        # configuration directory that the default main.cf does not list,
        # exactly as for nobody's sendmail: nothing is queued.
        before = self.maildrop()
        r = self.sendmail_bs(user=NOBODY)
        lines = r.stdout.replace("\r", "").split("\n")
        self.assertEqual(lines[0], "220 mx.example.test ESMTP Postern")
        self.assertIn("451 4.3.0 Error: queue file write error", lines)
        self.assertRegex(r.stderr, r"postdrop: (fatal: open file "
                         r"/etc/postfix/main.cf|error: unauthorized "
                         r"configuration directory name)")
        self.assertEqual(self.maildrop(), before)
        # and no leftover private directory
        self.assertFalse([d for d in os.listdir("/tmp")
                          if d.startswith("postern-smtpd.") and
                          os.stat(os.path.join("/tmp", d)).st_uid == NOBODY])
