"""The smtp client's protocol odds: mail loop detection and the 8BITMIME
downgrade, end to end (sendmail -> pickup -> cleanup -> qmgr -> smtp ->
a raw SMTP sink on loopback that records the bytes it gets).

What Debian's Postfix 3.7 does (the oracle, pinned here):

- Loops: only SMTP to port 25 checks.  A greeting whose first word is
  $myhostname (any case) logs "warning: host H[A]:25 greeted me with my
  own hostname NAME"; an EHLO reply that starts with it logs "warning:
  host H[A]:25 replied to HELO/EHLO with my own hostname NAME" and fails
  the delivery: a most preferred server (relay host, best MX) bounces
  with dsn=5.4.6 "mail for NEXTHOP loops back to myself" (fallback relays
  are not tried); a less preferred MX is skipped ("QID: mail for D loops
  back to myself") for the next one.  A HELO reply is not checked, LMTP
  is not checked, smtp_helo_name plays no part.  Port 25 needs a network
  namespace of our own (unshare): LoopTest runs LoopInNetns there.
- 8BITMIME: with a server that does not announce it, whatever is not
  labelled BODY=7BIT is converted (see lib/mail/mime_down.h) and MAIL FROM
  carries no SIZE; disable_mime_output_conversion = yes sends it as it is
  (with SIZE).  A server with 8BITMIME gets the message unchanged with
  BODY=8BITMIME.  (An 8-bit header makes Postfix's sendmail ask for
  SMTPUTF8, so that message bounces with 5.6.7 there: not tested here.)
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import e2e
import dnsfake

MASTER_CF = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
error     unix  -       -       n       -       -       error
smtp      unix  -       -       n       -       -       smtp
lmtp      unix  -       -       n       -       -       lmtp
nc        unix  -       -       n       -       -       smtp
  -o disable_mime_output_conversion=yes
other     unix  -       -       n       -       -       smtp
  -o smtp_helo_name=client.example.test
postlog   unix-dgram n  -       n       -       1       postlogd
"""

QID = r"[0-9A-F]{6,}"
DELAYS = r"delay=\d+(?:\.\d+)?, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+"
MYHOSTNAME = "mx.example.test"   # e2e.Instance's


class Sink:
    """A raw SMTP server: records each MAIL FROM line and the DATA bytes
    as they came over the wire (dot-stuffed, CRLF)."""

    def __init__(self, addr, port, hostname, eightbit=False, helo_only=False):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(16)
        self.hostname = hostname.encode()
        self.eightbit = eightbit
        self.helo_only = helo_only
        self.messages = []
        self.lock = threading.Lock()
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,),
                             daemon=True).start()

    def serve(self, c):
        c.settimeout(30)
        f = c.makefile("rb")
        mail, rcpts = b"", []
        try:
            c.sendall(b"220 " + self.hostname + b" ESMTP\r\n")
            while True:
                line = f.readline()
                if not line:
                    return
                verb = line[:4].upper()
                if verb == b"EHLO" and self.helo_only:
                    c.sendall(b"502 5.5.1 Error: command not implemented\r\n")
                elif verb == b"EHLO":
                    c.sendall(b"250-" + self.hostname + b"\r\n"
                              b"250-PIPELINING\r\n"
                              + (b"250-8BITMIME\r\n" if self.eightbit
                                 else b"")
                              + b"250 SIZE 10240000\r\n")
                elif verb == b"HELO":
                    c.sendall(b"250 " + self.hostname + b"\r\n")
                elif verb == b"MAIL":
                    mail, rcpts = line.rstrip(b"\r\n").decode(), []
                    c.sendall(b"250 2.1.0 Ok\r\n")
                elif verb == b"RCPT":
                    rcpts.append(line.rstrip(b"\r\n").decode())
                    c.sendall(b"250 2.1.5 Ok\r\n")
                elif verb == b"DATA":
                    c.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    data = b""
                    while True:
                        line = f.readline()
                        if not line or line == b".\r\n":
                            break
                        data += line
                    with self.lock:
                        self.messages.append({"mail": mail, "rcpts": rcpts,
                                              "data": data})
                        n = len(self.messages)
                    c.sendall(b"250 2.0.0 Ok: queued as SINK%d\r\n" % n)
                elif verb == b"QUIT":
                    c.sendall(b"221 2.0.0 Bye\r\n")
                    return
                else:
                    c.sendall(b"250 2.0.0 Ok\r\n")
        except OSError:
            pass
        finally:
            c.close()

    def wait(self, rcpt, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                for m in self.messages:
                    if any(rcpt in r for r in m["rcpts"]):
                        return m
            time.sleep(0.1)
        return None

    def stop(self):
        self.sock.close()


def strip_received(data):
    """The message as sent after the Received: header cleanup added."""
    lines = data.split(b"\r\n")
    assert lines[0].startswith(b"Received:"), data[:200]
    i = 1
    while lines[i].startswith((b" ", b"\t")):
        i += 1
    return b"\r\n".join(lines[i:])


def need_postern():
    for rel in ("master/master", "qmgr/qmgr", "smtp/smtp",
                "sendmail/sendmail", "postdrop/postdrop"):
        if not os.path.exists(os.path.join(e2e.BUILD, rel)):
            raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built" % rel)


def sendmail(inst, rcpt, data, opts=()):
    r = subprocess.run([os.path.join(inst.bin, "sendmail"), "-i", "-f",
                        "snd@example.org"] + list(opts) + ["--", rcpt],
                       input=data, capture_output=True,
                       env=dict(os.environ, MAIL_CONFIG=inst.conf),
                       timeout=60)
    if r.returncode != 0:
        raise AssertionError("sendmail: %r %r" % (r.stdout, r.stderr))

MSG_T1 = b"".join((
    b'From: Sender <snd@example.org>\n',
    b'Date: Fri, 04 Dec 2026 22:00:00 +0000\n',
    b'Message-Id: <t@example.org>\n',
    b'Subject: t2\n',
    b'MIME-Version: 1.0\n',
    b'Content-Type: text/plain; charset=utf-8\n',
    b'Content-Transfer-Encoding: 8bit\n',
    b'\n',
    b'Caf\xc3\xa9 = tea\n',
    b'trailing space \n',
    b'trailing tab\t\n',
    b'.dot line \xc3\xa9\n',
    b'.\n',
    b'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\xc3\xa9yyyyyyyyyyyyyyyyyyyy=zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\n',
    b'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9\n',
    b'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n',
    b'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\n',
    b'dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\n',
    b'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\n',
    b'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff \n',
    b'\tstarts with tab\n',
    b'\x01ctl\x7fdel\n',
    b'From me\n',
    b'\n',
    b'last',  # no newline at the end
))
MSG_T2 = b"".join((
    b'From: Sender <snd@example.org>\n',
    b'Date: Fri, 04 Dec 2026 22:00:00 +0000\n',
    b'Message-Id: <t@example.org>\n',
    b'Subject: t3\n',
    b'MIME-Version: 1.0\n',
    b'Content-Type: multipart/mixed; boundary="BB"\n',
    b'\n',
    b'preamble \xc3\xa9\n',
    b'--BB\n',
    b'Content-Type: text/plain; charset=utf-8\n',
    b'Content-Transfer-Encoding: 8bit\n',
    b'\n',
    b'part one \xc3\xa9\n',
    b'\n',
    b'--BB\n',
    b'Content-Type: application/octet-stream\n',
    b'Content-Transfer-Encoding: base64\n',
    b'\n',
    b'AAECAwQ=\n',
    b'--BB\n',
    b'Content-Type: message/rfc822\n',
    b'Content-Transfer-Encoding: 8bit\n',
    b'\n',
    b'Subject: inner\n',
    b'Content-Type: text/plain\n',
    b'Content-Transfer-Encoding: 8bit\n',
    b'\n',
    b'inner body \xc3\xa9\n',
    b'--BB\n',
    b'Content-Type: text/html\n',
    b'Content-Transfer-Encoding: 8bit\n',
    b'Content-Disposition: inline\n',
    b'\n',
    b'<p>\xc3\xa9</p>\n',
    b'--BB\n',
    b'Content-Type: text/plain\n',
    b'\n',
    b'no cte \xc3\xa9\n',
    b'--BB\n',
    b'Content-Type: text/plain\n',
    b'Content-Transfer-Encoding: 7bit\n',
    b'\n',
    b'seven \xc3\xa9\n',
    b'--BB--\n',
    b'epilogue \xc3\xa9\n',
))
MSG_T3 = b"".join((
    b'From: Sender <snd@example.org>\n',
    b'Date: Fri, 04 Dec 2026 22:00:00 +0000\n',
    b'Message-Id: <t@example.org>\n',
    b'Subject: t9\n',
    b'MIME-Version: 1.0\n',
    b'Content-Type: multipart/alternative; boundary=XX\n',
    b'Content-Transfer-Encoding: 8bit\n',
    b'\n',
    b'--XX\n',
    b'Content-Transfer-Encoding: 8bit\n',
    b'\n',
    b'implicit text \xc3\xa9\n',
    b'--XX\n',
    b'Content-Type: multipart/related; boundary=YY\n',
    b'Content-Transfer-Encoding: 8bit\n',
    b'\n',
    b'--YY\n',
    b'Content-Type: image/png\n',
    b'Content-Transfer-Encoding: 8bit\n',
    b'\n',
    b'png\xc3\xa9\n',
    b'--YY--\n',
    b'--XX--\n',
))
MSG_T4 = b"".join((
    b'From: Sender <snd@example.org>\n',
    b'Date: Fri, 04 Dec 2026 22:00:00 +0000\n',
    b'Message-Id: <t@example.org>\n',
    b'Subject: seven\n',
    b'\n',
    b'all ascii\n',
))
WANT_T1 = b"".join((
    b'From: Sender <snd@example.org>\r\n',
    b'Date: Fri, 04 Dec 2026 22:00:00 +0000\r\n',
    b'Message-Id: <t@example.org>\r\n',
    b'Subject: t2\r\n',
    b'MIME-Version: 1.0\r\n',
    b'Content-Type: text/plain; charset=utf-8\r\n',
    b'Content-Transfer-Encoding: quoted-printable\r\n',
    b'\r\n',
    b'Caf=C3=A9 =3D tea\r\n',
    b'trailing space=20\r\n',
    b'trailing tab=09\r\n',
    b'..dot line =C3=A9\r\n',
    b'..\r\n',
    b'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=C3=\r\n',
    b'=A9yyyyyyyyyyyyyyyyyyyy=3Dzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz=\r\n',
    b'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\r\n',
    b'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=C3=\r\n',
    b'=A9\r\n',
    b'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n',
    b'ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc=\r\n',
    b'c\r\n',
    b'ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd=\r\n',
    b'ddd\r\n',
    b'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee=\r\n',
    b'eeee\r\n',
    b'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff=20\r\n',
    b'\tstarts with tab\r\n',
    b'=01ctl=7Fdel\r\n',
    b'From me\r\n',
    b'\r\n',
    b'last\r\n',
))
WANT_T2 = b"".join((
    b'From: Sender <snd@example.org>\r\n',
    b'Date: Fri, 04 Dec 2026 22:00:00 +0000\r\n',
    b'Message-Id: <t@example.org>\r\n',
    b'Subject: t3\r\n',
    b'MIME-Version: 1.0\r\n',
    b'Content-Type: multipart/mixed; boundary="BB"\r\n',
    b'\r\n',
    b'preamble \xc3\xa9\r\n',
    b'--BB\r\n',
    b'Content-Type: text/plain; charset=utf-8\r\n',
    b'Content-Transfer-Encoding: quoted-printable\r\n',
    b'\r\n',
    b'part one =C3=A9\r\n',
    b'\r\n',
    b'--BB\r\n',
    b'Content-Type: application/octet-stream\r\n',
    b'Content-Transfer-Encoding: base64\r\n',
    b'\r\n',
    b'AAECAwQ=\r\n',
    b'--BB\r\n',
    b'Content-Type: message/rfc822\r\n',
    b'Content-Transfer-Encoding: 7bit\r\n',
    b'\r\n',
    b'Subject: inner\r\n',
    b'Content-Type: text/plain\r\n',
    b'Content-Transfer-Encoding: quoted-printable\r\n',
    b'\r\n',
    b'inner body =C3=A9\r\n',
    b'--BB\r\n',
    b'Content-Type: text/html\r\n',
    b'Content-Disposition: inline\r\n',
    b'Content-Transfer-Encoding: quoted-printable\r\n',
    b'\r\n',
    b'<p>=C3=A9</p>\r\n',
    b'--BB\r\n',
    b'Content-Type: text/plain\r\n',
    b'\r\n',
    b'no cte \xc3\xa9\r\n',
    b'--BB\r\n',
    b'Content-Type: text/plain\r\n',
    b'Content-Transfer-Encoding: 7bit\r\n',
    b'\r\n',
    b'seven \xc3\xa9\r\n',
    b'--BB--\r\n',
    b'epilogue \xc3\xa9\r\n',
))
WANT_T3 = b"".join((
    b'From: Sender <snd@example.org>\r\n',
    b'Date: Fri, 04 Dec 2026 22:00:00 +0000\r\n',
    b'Message-Id: <t@example.org>\r\n',
    b'Subject: t9\r\n',
    b'MIME-Version: 1.0\r\n',
    b'Content-Type: multipart/alternative; boundary=XX\r\n',
    b'Content-Transfer-Encoding: 7bit\r\n',
    b'\r\n',
    b'--XX\r\n',
    b'Content-Transfer-Encoding: quoted-printable\r\n',
    b'\r\n',
    b'implicit text =C3=A9\r\n',
    b'--XX\r\n',
    b'Content-Type: multipart/related; boundary=YY\r\n',
    b'Content-Transfer-Encoding: 7bit\r\n',
    b'\r\n',
    b'--YY\r\n',
    b'Content-Type: image/png\r\n',
    b'Content-Transfer-Encoding: quoted-printable\r\n',
    b'\r\n',
    b'png=C3=A9\r\n',
    b'--YY--\r\n',
    b'--XX--\r\n',
))


class DowngradeTest(unittest.TestCase):
    """8BITMIME: byte-exact against Postfix 3.7's output."""

    @classmethod
    def setUpClass(cls):
        need_postern()
        cls.top = tempfile.mkdtemp(prefix="postern-smtpproto-")
        os.chmod(cls.top, 0o755)
        cls.inst = None
        cls.sinks = []
        try:
            base = os.getpid() % 200 + 20
            p = cls.port = e2e.free_port()
            cls.seven = Sink("127.0.%d.1" % base, p, "seven.test")
            cls.eight = Sink("127.0.%d.2" % base, p, "eight.test",
                             eightbit=True)
            cls.sinks += [cls.seven, cls.eight]
            with open(os.path.join(cls.top, "transport"), "w") as f:
                f.write("n7.test smtp:[127.0.%d.1]:%d\n"
                        "e8.test smtp:[127.0.%d.2]:%d\n"
                        "nc.test nc:[127.0.%d.1]:%d\n"
                        % (base, p, base, p, base, p))
            os.makedirs(os.path.join(cls.top, "inst"))
            cls.inst = e2e.Instance(
                os.path.join(cls.top, "inst"), MASTER_CF,
                "transport_maps = texthash:%s/transport\n"
                "smtp_tls_security_level = none\n"
                "minimal_backoff_time = 300s\n"
                "queue_run_delay = 300s\n" % cls.top)
            cls.inst.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.inst:
            cls.inst.stop()
        for s in cls.sinks:
            s.stop()
        shutil.rmtree(cls.top, ignore_errors=True)

    def deliver(self, sink, rcpt, data, opts=()):
        sendmail(self.inst, rcpt, data, opts)
        m = sink.wait(rcpt)
        self.assertIsNotNone(m, "%s not delivered; log:\n%s"
                             % (rcpt, self.inst.log()[-4000:]))
        return m

    def sent_as_is(self, data):
        """What goes over the wire for data unchanged."""
        out = data.replace(b"\n", b"\r\n")
        return re.sub(rb"(?m)^\.", b"..", out) + (
            b"" if out.endswith(b"\r\n") else b"\r\n")

    def test_text_plain(self):
        m = self.deliver(self.seven, "t1@n7.test", MSG_T1)
        self.assertEqual(m["mail"], "MAIL FROM:<snd@example.org>")
        self.assertEqual(strip_received(m["data"]), WANT_T1)

    def test_text_plain_body_8bitmime(self):
        m = self.deliver(self.seven, "b1@n7.test", MSG_T1, ["-B8BITMIME"])
        self.assertEqual(m["mail"], "MAIL FROM:<snd@example.org>")
        self.assertEqual(strip_received(m["data"]), WANT_T1)

    def test_multipart(self):
        m = self.deliver(self.seven, "t2@n7.test", MSG_T2)
        self.assertEqual(strip_received(m["data"]), WANT_T2)

    def test_nested_multipart(self):
        m = self.deliver(self.seven, "t3@n7.test", MSG_T3)
        self.assertEqual(strip_received(m["data"]), WANT_T3)

    def test_server_with_8bitmime(self):
        m = self.deliver(self.eight, "e1@e8.test", MSG_T1, ["-B8BITMIME"])
        self.assertRegex(m["mail"], r"^MAIL FROM:<snd@example\.org> "
                         r"SIZE=\d+ BODY=8BITMIME$")
        self.assertEqual(strip_received(m["data"]), self.sent_as_is(MSG_T1))

    def test_conversion_disabled(self):
        m = self.deliver(self.seven, "c1@nc.test", MSG_T1, ["-B8BITMIME"])
        self.assertRegex(m["mail"], r"^MAIL FROM:<snd@example\.org> "
                         r"SIZE=\d+$")
        self.assertEqual(strip_received(m["data"]), self.sent_as_is(MSG_T1))

    def test_7bit_untouched(self):
        m = self.deliver(self.seven, "s1@n7.test", MSG_T4, ["-B7BIT"])
        self.assertEqual(strip_received(m["data"]), self.sent_as_is(MSG_T4))
        # Not labelled: looked at (no SIZE), nothing to change.
        m = self.deliver(self.seven, "s2@n7.test", MSG_T4)
        self.assertEqual(m["mail"], "MAIL FROM:<snd@example.org>")
        self.assertEqual(strip_received(m["data"]), self.sent_as_is(MSG_T4))

    def test_7bit_label_keeps_size(self):
        """BODY=7BIT: not converted, so SIZE is sent (Postfix)."""
        m = self.deliver(self.seven, "s3@n7.test", MSG_T4, ["-B7BIT"])
        self.assertRegex(m["mail"], r"^MAIL FROM:<snd@example\.org> "
                         r"SIZE=\d+$")


class LoopTest(unittest.TestCase):
    """Runs LoopInNetns in a network namespace of its own, where port 25
    on loopback is ours (the host's port 25 is never touched)."""

    def test_loop_detection(self):
        need_postern()
        if os.geteuid() != 0 or not shutil.which("unshare") \
                or not shutil.which("ip"):
            self.skipTest("SKIPPED LOUDLY: needs root, unshare and ip")
        if not os.path.exists(dnsfake.WRAPPER):
            self.skipTest("SKIPPED LOUDLY: no libresolv-wrapper")
        here = os.path.dirname(os.path.abspath(__file__))
        r = subprocess.run(["unshare", "--net", sys.executable,
                            os.path.join(here, "runner.py"),
                            "test_smtp_proto.LoopInNetns"],
                           cwd=here, capture_output=True, text=True,
                           env=dict(os.environ, SMTP_PROTO_NETNS="1"),
                           timeout=240)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("e2e: 1 passed, 0 failed, 0 skipped", r.stdout)


if os.environ.get("SMTP_PROTO_NETNS"):
    class LoopInNetns(unittest.TestCase):
        def setUp(self):
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
            self.top = tempfile.mkdtemp(prefix="postern-smtploop-")
            os.chmod(self.top, 0o755)
            self.inst = None
            self.fake = None
            self.sinks = [
                Sink("127.0.0.1", 25, MYHOSTNAME),
                Sink("127.0.0.2", 25, "other.test"),
                Sink("127.0.0.3", 25, MYHOSTNAME.upper(), helo_only=True),
                Sink("127.0.0.1", 2525, MYHOSTNAME),
            ]

        def tearDown(self):
            if self.inst:
                self.inst.stop()
            for s in self.sinks:
                s.stop()
            if self.fake:
                self.fake.stop()
            shutil.rmtree(self.top, ignore_errors=True)

        def expect(self, pattern, timeout=40):
            m = self.inst.wait_log(pattern, timeout)
            self.assertIsNotNone(m, "no log line /%s/ in:\n%s"
                                 % (pattern, self.inst.log()[-6000:]))
            return m

        def status(self, rcpt, relay, dsn, status, text):
            return self.expect(
                r"postfix/(?:smtp|lmtp)\[\d+\]: %s: to=<%s>, relay=%s, %s, "
                r"dsn=%s, status=%s \(%s\)$"
                % (QID, re.escape(rcpt), re.escape(relay), DELAYS,
                   re.escape(dsn), status, re.escape(text)))

        def test_loops(self):
            f = self.fake = dnsfake.DnsFake(self.top, address="127.0.0.53")
            f.add("mxa.test", "A", "127.0.0.1")
            f.add("mxb.test", "A", "127.0.0.2")
            f.add("mxd.test", "A", "127.0.0.5")
            f.add("best.test", "MX", (10, "mxa.test"))
            f.add("best.test", "MX", (20, "mxb.test"))
            f.add("nonbest.test", "MX", (10, "mxd.test"))
            f.add("nonbest.test", "MX", (20, "mxa.test"))
            f.add("nonbest.test", "MX", (30, "mxb.test"))
            f.start()
            with open(os.path.join(self.top, "transport"), "w") as t:
                t.write("loop.test smtp:[127.0.0.1]\n"
                        "helo.test smtp:[127.0.0.3]\n"
                        "port.test smtp:[127.0.0.1]:2525\n"
                        "fb.test fb:[127.0.0.1]\n"
                        "lmtp.test lmtp:inet:127.0.0.1:25\n"
                        "other.test other:[127.0.0.1]\n"
                        "example.org discard:\n")
            master = MASTER_CF + (
                "fb        unix  -       -       n       -       -       "
                "smtp\n  -o smtp_fallback_relay=[127.0.0.2]\n"
                "discard   unix  -       -       n       -       -       "
                "discard\n")
            os.makedirs(os.path.join(self.top, "inst"))
            self.inst = e2e.Instance(
                os.path.join(self.top, "inst"), master,
                "transport_maps = texthash:%s/transport\n"
                "smtp_tls_security_level = none\n"
                "minimal_backoff_time = 300s\n"
                "queue_run_delay = 300s\n"
                "inet_protocols = ipv4\n" % self.top + f.main_cf())
            self.inst.start()
            for rcpt in ("a@loop.test", "b@helo.test", "c@port.test",
                         "d@best.test", "e@nonbest.test", "f@fb.test",
                         "g@lmtp.test", "h@other.test"):
                sendmail(self.inst, rcpt, b"Subject: loop\n\nbody\n")
            me = re.escape(MYHOSTNAME)
            self.expect(r"postfix/smtp\[\d+\]: warning: host "
                        r"127\.0\.0\.1\[127\.0\.0\.1\]:25 greeted me with my "
                        r"own hostname %s$" % me)
            self.expect(r"postfix/smtp\[\d+\]: warning: host "
                        r"127\.0\.0\.1\[127\.0\.0\.1\]:25 replied to "
                        r"HELO/EHLO with my own hostname %s$" % me)
            self.status("a@loop.test", "127.0.0.1[127.0.0.1]:25", "5.4.6",
                        "bounced", "mail for [127.0.0.1] loops back to myself")
            # HELO replies are not checked; the greeting only warns.
            self.expect(r"warning: host 127\.0\.0\.3\[127\.0\.0\.3\]:25 "
                        r"greeted me with my own hostname %s$" % me)
            self.status("b@helo.test", "127.0.0.3[127.0.0.3]:25", "2.0.0",
                        "sent", "250 2.0.0 Ok: queued as SINK1")
            # Not port 25: no check.
            self.status("c@port.test", "127.0.0.1[127.0.0.1]:2525", "2.0.0",
                        "sent", "250 2.0.0 Ok: queued as SINK1")
            # The best MX: bounced, the next MX not tried.
            self.status("d@best.test", "mxa.test[127.0.0.1]:25", "5.4.6",
                        "bounced", "mail for best.test loops back to myself")
            # A less preferred MX: skipped for the next one.
            self.expect(r"postfix/smtp\[\d+\]: %s: mail for nonbest\.test "
                        r"loops back to myself$" % QID)
            self.expect(r"to=<e@nonbest\.test>, relay=mxb\.test"
                        r"\[127\.0\.0\.2\]:25, %s, dsn=2\.0\.0, status=sent "
                        % DELAYS)
            # A relay host: bounced, smtp_fallback_relay not tried.
            self.status("f@fb.test", "127.0.0.1[127.0.0.1]:25", "5.4.6",
                        "bounced", "mail for [127.0.0.1] loops back to myself")
            # LMTP does not check; smtp_helo_name plays no part.
            self.expect(r"postfix/lmtp\[\d+\]: %s: to=<g@lmtp\.test>, "
                        r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:25, %s, "
                        r"dsn=2\.0\.0, status=sent " % (QID, DELAYS))
            self.status("h@other.test", "127.0.0.1[127.0.0.1]:25", "5.4.6",
                        "bounced", "mail for [127.0.0.1] loops back to myself")
            got = [r for s in self.sinks for m in s.messages
                   for r in m["rcpts"]]
            for rcpt in ("a@loop.test", "d@best.test", "f@fb.test",
                         "h@other.test"):
                self.assertFalse(any(rcpt in r for r in got), got)
