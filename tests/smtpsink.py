"""What the smtp/lmtp client tests share: real servers on loopback for
Postern's smtp to talk to (aiosmtpd sinks that record what they get, a
raw server with a fixed greeting, a scripted ESMTP server that records
how commands arrive, an LMTP server on a UNIX socket) and SinkTest, a test
class base that starts them and a private instance and tears it all down.

A SinkTest subclass sets PREFIX (temp directory name) and NEEDS (programs
that must be built; DNS=True also needs resolv_wrapper) and defines
setup_all() (class method: servers, DNS fake, cls.inst.start()); it gets
net(N) (127.0.X.N, X from the pid and BASE_OFFSET), sink(), make_cert(),
write(), send(), expect() and status().
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import dnsfake
import e2e

try:
    from aiosmtpd.controller import Controller, UnixSocketController
    from aiosmtpd.lmtp import LMTP
    from aiosmtpd.smtp import SMTP, AuthResult
    HAVE_AIOSMTPD = True
except ImportError:
    HAVE_AIOSMTPD = False

QID = r"[0-9A-F]{6,}"
DELAYS = r"delay=\d+(?:\.\d+)?, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+"


class Handler:
    """Records messages; a recipient's local part chooses the reply."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        local = address.split("@")[0]
        if local.startswith("rej"):
            return "550 5.1.1 <%s>: Recipient address rejected: no such " \
                   "user" % address
        if local.startswith("tmp"):
            return "450 4.2.0 <%s>: Recipient address rejected: try " \
                   "later" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append({
                "from": envelope.mail_from,
                "mail_options": list(envelope.mail_options),
                "rcpts": list(envelope.rcpt_tos),
                "rcpt_options": list(envelope.rcpt_options),
                "data": envelope.original_content or envelope.content,
                "tls": session.ssl is not None,
                "auth": session.authenticated,
                "helo": session.host_name,
                "peer": session.peer,
            })
        return "250 2.0.0 Ok: queued as SINK%d" % len(self.messages)

    def wait(self, pred, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                for m in self.messages:
                    if pred(m):
                        return m
            time.sleep(0.1)
        return None


class LmtpController(UnixSocketController):
    def factory(self):
        return LMTP(self.handler)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (auth_data.login == b"user" and auth_data.password == b"secret")
    return AuthResult(success=ok, handled=False)


class RawServer:
    """Answers every connection with a fixed greeting, then closes."""

    def __init__(self, host, port, greeting):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(8)
        self.greeting = greeting
        self.count = 0
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.count += 1
            try:
                c.sendall(self.greeting.encode() + b"\r\n")
                c.settimeout(5)
                c.recv(1000)
            except OSError:
                pass
            c.close()

    def stop(self):
        self.sock.close()


class ScriptServer:
    """An ESMTP server that records every command and the chunks they came
    in (to see pipelining); after the data it replies 250, or with mode
    "drop" closes the connection, or with "hang" says nothing."""

    EHLO = ("250-script.test\r\n250-PIPELINING\r\n250-SIZE 10000000\r\n"
            "250-8BITMIME\r\n250-DSN\r\n250 SMTPUTF8\r\n")

    def __init__(self, host, port, mode="ok"):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(8)
        self.mode = mode
        self.chunks = []
        self.data = []
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
        buf = b""
        in_data = False
        body = b""
        try:
            c.sendall(b"220 script.test ESMTP\r\n")
            while True:
                got = c.recv(65536)
                if not got:
                    return
                buf += got
                lines = []
                while b"\r\n" in buf:
                    line, buf = buf.split(b"\r\n", 1)
                    if in_data:
                        if line == b".":
                            in_data = False
                            self.data.append(body)
                            if self.mode == "drop":
                                return
                            if self.mode == "hang":
                                time.sleep(8)
                                return
                            c.sendall(b"250 2.0.0 Ok: queued as SCRIPT\r\n")
                        else:
                            body += line + b"\r\n"
                        continue
                    lines.append(line.decode("utf-8", "replace"))
                    verb = line[:4].upper()
                    if verb == b"EHLO":
                        c.sendall(self.EHLO.encode())
                    elif verb == b"DATA":
                        in_data = True
                        body = b""
                        c.sendall(b"354 go ahead\r\n")
                    elif verb == b"QUIT":
                        c.sendall(b"221 bye\r\n")
                        return
                    else:
                        c.sendall(b"250 2.0.0 Ok\r\n")
                if lines:
                    self.chunks.append(lines)
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self.sock.close()


class SinkTest(unittest.TestCase):
    PREFIX = "postern-smtp-"
    NEEDS = ("master/master", "qmgr/qmgr", "smtp/smtp", "sendmail/sendmail",
             "postdrop/postdrop")
    DNS = True
    BASE_OFFSET = 0
    SENDER = "snd@relay.test"

    @classmethod
    def setUpClass(cls):
        for rel in cls.NEEDS:
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        if not HAVE_AIOSMTPD:
            raise unittest.SkipTest("SKIPPED LOUDLY: no aiosmtpd (run with "
                                    "/usr/bin/python3)")
        if cls.DNS and not os.path.exists(dnsfake.WRAPPER):
            raise unittest.SkipTest("SKIPPED LOUDLY: no libresolv-wrapper")
        cls.top = tempfile.mkdtemp(prefix=cls.PREFIX)
        os.chmod(cls.top, 0o755)
        cls.base = (os.getpid() + cls.BASE_OFFSET) % 200 + 20
        cls.sinks = []
        cls.raw = []
        cls.inst = None
        cls.fake = None
        try:
            cls.setup_all()
        except BaseException:
            cls.cleanup()
            raise

    @classmethod
    def setup_all(cls):
        raise NotImplementedError

    @classmethod
    def cleanup(cls):
        if cls.inst:
            cls.inst.stop()
        for c in cls.sinks:
            try:
                c.stop()
            except Exception:
                pass
        for r in cls.raw:
            r.stop()
        if cls.fake:
            cls.fake.stop()
        if not os.environ.get("SMTP_TEST_KEEP"):
            shutil.rmtree(cls.top, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.cleanup()

    @classmethod
    def net(cls, host):
        return "127.0.%d.%d" % (cls.base, host)

    @classmethod
    def sink(cls, host, port, ctl=None, handler=None, **kw):
        """An aiosmtpd server (ctl: a Controller class) with a Handler."""
        h = handler or Handler()
        c = (ctl or Controller)(h, hostname=host, port=port, **kw)
        c.start()
        cls.sinks.append(c)
        return h

    @classmethod
    def make_cert(cls, name="tls.test"):
        """A self-signed certificate for name (its own CA file): paths of
        the certificate and of the key (readable by the instance)."""
        cert = os.path.join(cls.top, "%s.pem" % name)
        key = os.path.join(cls.top, "%s.key" % name)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=%s" % name,
                        "-addext", "subjectAltName=DNS:%s" % name],
                       check=True, capture_output=True)
        os.chmod(key, 0o644)
        return cert, key

    @classmethod
    def write(cls, name, text):
        with open(os.path.join(cls.top, name), "w") as f:
            f.write(text)

    def send(self, rcpts, text, sender=None, opts=()):
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        r = e2e.run([os.path.join(self.inst.bin, "sendmail"), "-f",
                     sender or self.SENDER] + list(opts) + ["--"] + rcpts,
                    input=text, env={"MAIL_CONFIG": self.inst.conf})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def expect(self, pattern, timeout=30):
        m = self.inst.wait_log(pattern, timeout)
        self.assertIsNotNone(m, "no log line /%s/ in:\n%s"
                             % (pattern, self.inst.log()[-5000:]))
        return m

    def status(self, rcpt, relay, dsn, status, text, timeout=30):
        """The delivery agent's line for rcpt (relay and text: regexes)."""
        return self.expect(
            r"postfix/(?:smtp|lmtp)\[\d+\]: %s: to=<%s>, relay=%s, %s, "
            r"dsn=%s, status=%s \(%s\)$"
            % (QID, re.escape(rcpt), relay, DELAYS, re.escape(dsn), status,
               text), timeout)
