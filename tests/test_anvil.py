"""anvil and smtpd's client limits end to end: a private instance with
smtpd services on 127.0.0.1 high ports, each with its own limits (master.cf
-o), and the anvil service.  Replies, warnings and the anvil statistics
lines are Postfix 3.7's, as observed from Debian's Postfix run from a
private configuration.  A second instance has no anvil: smtpd goes on
with Postfix's warnings, and anvil's statistics at exit are checked there.
"""
import os
import re
import shutil
import socket
import tempfile
import time
import unittest

import e2e

USERS = ("pstanvil1",)

SERVICES = """\
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
local     unix  -       n       n       -       -       local
postlog   unix-dgram n  -       n       -       1       postlogd
"""
ANVIL = "anvil     unix  -       -       n       -       1       anvil\n"

# One smtpd per limit, so that the tests do not share counters (anvil
# counts per service and client address).
LIMITS = {
    "count": "-o smtpd_client_connection_count_limit=2",
    "rate": "-o smtpd_client_connection_count_limit=0 "
            "-o smtpd_client_connection_rate_limit=3",
    "mail": "-o smtpd_client_message_rate_limit=2 "
            "-o smtpd_client_recipient_rate_limit=3",
    # the default exceptions are $mynetworks
    "exempt": "-o mynetworks=127.0.0.0/8 "
              "-o smtpd_client_connection_count_limit=1 "
              "-o smtpd_client_connection_rate_limit=1 "
              "-o smtpd_client_message_rate_limit=1 "
              "-o smtpd_client_recipient_rate_limit=1",
}

MAIN = ("smtpd_error_sleep_time = 0s\n"
        "mydomain = example.test\n"
        "mydestination = $myhostname, localhost, $mydomain\n"
        "mynetworks = 10.0.0.0/8\n"
        "biff = no\nalias_maps =\nsmtpd_timeout = 10s\n")

WHEN = r"at \w{3} [ \d]\d \d\d:\d\d:\d\d$"


def instance(top, master_cf, main_extra, anvil=True):
    return e2e.Instance(top, master_cf, MAIN + main_extra, anvil=anvil)


def wait_port(port):
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.1)


class Session:
    """A raw SMTP connection: greeting, commands, replies."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), 20)
        self.sock.settimeout(20)
        self.file = self.sock.makefile("rb")
        self.greeting = self.reply()

    def reply(self):
        lines = []
        while True:
            line = self.file.readline().decode()
            if not line:
                lines.append("(EOF)")
                break
            lines.append(line.rstrip("\r\n"))
            if len(line) < 4 or line[3] != "-":
                break
        return lines[-1]

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.reply()

    def close(self):
        self.file.close()
        self.sock.close()


class AnvilClient:
    """The anvil protocol spoken directly (lib/mail/anvil_clnt.h)."""

    def __init__(self, inst):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(20)
        self.sock.connect(os.path.join(inst.queue, "private", "anvil"))
        self.file = self.sock.makefile("rb")
        self.greeting = self.recv()

    def field(self):
        out = b""
        while True:
            c = self.file.read(1)
            if c in (b"\0", b""):
                return out if c else None
            out += c

    def recv(self):
        attrs = {}
        while True:
            name = self.field()
            if name is None:
                return None
            if name == b"":
                return attrs
            attrs[name.decode()] = self.field().decode()

    def send(self, **attrs):
        self.sock.sendall(b"".join(n.encode() + b"\0" + v.encode() + b"\0"
                                   for n, v in attrs.items()) + b"\0")

    def ask(self, request, ident):
        self.send(request=request, ident=ident)
        return self.recv()

    def close(self):
        self.file.close()
        self.sock.close()


class AnvilTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for rel in ("master/master", "smtpd/smtpd", "anvil/anvil",
                    "cleanup/cleanup", "trivial-rewrite/trivial-rewrite",
                    "qmgr/qmgr", "local/local", "postlogd/postlogd"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        cls.top = tempfile.mkdtemp(prefix="postern-anvil-")
        os.chmod(cls.top, 0o755)
        cls.ports = {name: e2e.free_port() for name in LIMITS}
        master_cf = "".join(
            "127.0.0.1:%d inet n - n - - smtpd %s\n" % (cls.ports[n], o)
            for n, o in LIMITS.items()) + SERVICES + ANVIL
        try:
            e2e.make_users(cls.top, USERS)
            cls.spool = os.path.join(cls.top, "mail")
            os.makedirs(cls.spool)
            os.chmod(cls.spool, 0o775)
            os.makedirs(os.path.join(cls.top, "inst"))
            cls.inst = instance(os.path.join(cls.top, "inst"), master_cf,
                                "mail_spool_directory = %s\n"
                                "anvil_status_update_time = 2s\n" % cls.spool)
            cls.inst.start()
        except BaseException:
            e2e.remove_users(USERS)
            shutil.rmtree(cls.top, ignore_errors=True)
            raise
        # (a probe would count as a connection on the other ports)
        wait_port(cls.ports["exempt"])

    @classmethod
    def tearDownClass(cls):
        cls.inst.stop()
        e2e.remove_users(USERS)
        shutil.rmtree(cls.top, ignore_errors=True)

    def expect(self, pattern, inst=None, timeout=20):
        inst = inst or self.inst
        m = inst.wait_log(pattern, timeout)
        self.assertIsNotNone(m, "no log line /%s/ in:\n%s"
                             % (pattern, inst.log()[-4000:]))
        return m

    def service(self, name):
        return "127.0.0.1:%d" % self.ports[name]

    def test_connection_count_limit(self):
        port = self.ports["count"]
        first, second = Session(port), Session(port)
        self.assertEqual(first.greeting, "220 mx.example.test ESMTP Postern")
        self.assertEqual(second.greeting, "220 mx.example.test ESMTP Postern")
        third = Session(port)
        self.assertEqual(third.greeting, "421 4.7.0 mx.example.test Error: "
                         "too many connections from 127.0.0.1")
        self.assertEqual(third.reply(), "(EOF)")
        third.close()
        self.expect(r"smtpd\[\d+\]: warning: Connection concurrency limit "
                    r"exceeded: 3 from localhost\[127\.0\.0\.1\] for "
                    r"service %s$" % re.escape(self.service("count")))
        # sessions that end without QUIT are disconnected from anvil too
        first.close()
        self.assertEqual(second.cmd("NOOP"), "250 2.0.0 Ok")
        second.sock.shutdown(socket.SHUT_RDWR)
        second.close()
        deadline = time.time() + 20
        while True:
            s = Session(port)
            greeting = s.greeting
            s.close()
            if greeting.startswith("220") or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(greeting, "220 mx.example.test ESMTP Postern")
        # the periodic statistics (anvil_status_update_time = 2s)
        ident = re.escape("%s:127.0.0.1" % self.service("count"))
        self.expect(r"anvil\[\d+\]: statistics: max connection count 3 for "
                    r"\(%s\) %s" % (ident, WHEN))
        self.expect(r"anvil\[\d+\]: statistics: max connection rate \d+/60s "
                    r"for \([^)]+\) %s" % WHEN)
        self.expect(r"anvil\[\d+\]: statistics: max cache size \d+ %s" % WHEN)

    def test_connection_rate_limit(self):
        port = self.ports["rate"]
        for _ in range(3):
            s = Session(port)
            self.assertEqual(s.greeting, "220 mx.example.test ESMTP Postern")
            self.assertEqual(s.cmd("QUIT"), "221 2.0.0 Bye")
            s.close()
        s = Session(port)
        self.assertEqual(s.greeting, "421 4.7.0 mx.example.test Error: "
                         "too many connections from 127.0.0.1")
        s.close()
        self.expect(r"smtpd\[\d+\]: warning: Connection rate limit exceeded: "
                    r"4 from localhost\[127\.0\.0\.1\] for service %s$"
                    % re.escape(self.service("rate")))

    def test_message_and_recipient_rate(self):
        s = Session(self.ports["mail"])
        rcpt = "RCPT TO:<%s@example.test>" % USERS[0]
        self.assertEqual(s.cmd("EHLO client.test")[:3], "250")
        got = []
        for _ in range(3):
            got.append(s.cmd("MAIL FROM:<a@remote.test>"))
            got.append(s.cmd(rcpt))
            got.append(s.cmd(rcpt))
            got.append(s.cmd("RSET"))
        got.append(s.cmd("QUIT"))
        s.close()
        self.assertEqual(got, [
            "250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok", "250 2.0.0 Ok",
            "250 2.1.0 Ok", "250 2.1.5 Ok",
            "450 4.7.1 Error: too many recipients from 127.0.0.1",
            "250 2.0.0 Ok",
            "450 4.7.1 Error: too much mail from 127.0.0.1",
            "503 5.5.1 Error: need MAIL command",
            "503 5.5.1 Error: need MAIL command",
            "250 2.0.0 Ok", "221 2.0.0 Bye"])
        svc = re.escape(self.service("mail"))
        self.expect(r"smtpd\[\d+\]: warning: Recipient address rate limit "
                    r"exceeded: 4 from localhost\[127\.0\.0\.1\] for service "
                    r"%s$" % svc)
        self.expect(r"smtpd\[\d+\]: warning: Message delivery request rate "
                    r"limit exceeded: 3 from localhost\[127\.0\.0\.1\] for "
                    r"service %s$" % svc)
        ident = re.escape("%s:127.0.0.1" % self.service("mail"))
        self.expect(r"anvil\[\d+\]: statistics: max message rate 3/60s for "
                    r"\(%s\) %s" % (ident, WHEN))
        self.expect(r"anvil\[\d+\]: statistics: max recipient rate 4/60s for "
                    r"\(%s\) %s" % (ident, WHEN))

    def test_protocol(self):
        a = AnvilClient(self.inst)
        self.assertEqual(a.greeting, {"protocol": "anvil_protocol"})
        ident = "test:192.0.2.1"
        self.assertEqual(a.ask("connect", ident),
                         {"status": "0", "count": "1", "rate": "1"})
        self.assertEqual(a.ask("connect", ident),
                         {"status": "0", "count": "2", "rate": "2"})
        self.assertEqual(a.ask("message", ident), {"status": "0", "rate": "1"})
        self.assertEqual(a.ask("recipient", ident),
                         {"status": "0", "rate": "1"})
        self.assertEqual(a.ask("newtls_report", ident),
                         {"status": "0", "rate": "0"})
        self.assertEqual(a.ask("newtls", ident), {"status": "0", "rate": "1"})
        self.assertEqual(a.ask("newtls_report", ident),
                         {"status": "0", "rate": "1"})
        self.assertEqual(a.ask("auth", ident), {"status": "0", "rate": "1"})
        self.assertEqual(a.ask("auth", ident), {"status": "0", "rate": "2"})
        self.assertEqual(a.ask("bogus", ident), {"status": "-1"})
        b = AnvilClient(self.inst)
        # a disconnect for a connection b did not open changes nothing
        self.assertEqual(b.ask("disconnect", ident), {"status": "0"})
        self.assertEqual(b.ask("lookup", ident), {
            "status": "0", "count": "2", "rate": "2", "mail": "1",
            "rcpt": "1", "newtls": "1", "auth": "2"})
        self.assertEqual(a.ask("disconnect", ident), {"status": "0"})
        # a client that goes away takes its open connections with it
        a.close()
        deadline = time.time() + 20
        while b.ask("lookup", ident)["count"] != "0" and \
                time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(b.ask("lookup", ident)["count"], "0")
        self.assertEqual(b.ask("lookup", "test:192.0.2.99"), {
            "status": "0", "count": "0", "rate": "0", "mail": "0",
            "rcpt": "0", "newtls": "0", "auth": "0"})
        # a malformed request ends the conversation
        b.send(request="connect")
        self.assertIsNone(b.recv())
        b.close()
        self.expect(r"anvil\[\d+\]: warning: unrecognized request: "
                    r"\"bogus\", ignored$")
        self.expect(r"anvil\[\d+\]: warning: malformed request$")
        self.expect(r"anvil\[\d+\]: statistics: max auth rate 2/60s for "
                    r"\(test:192\.0\.2\.1\) %s" % WHEN)
        self.expect(r"anvil\[\d+\]: statistics: max newtls rate 1/60s for "
                    r"\(test:192\.0\.2\.1\) %s" % WHEN)

    def test_exceptions(self):
        port = self.ports["exempt"]
        sessions = [Session(port) for _ in range(3)]
        for s in sessions:
            self.assertEqual(s.greeting, "220 mx.example.test ESMTP Postern")
        s = sessions[0]
        rcpt = "RCPT TO:<%s@example.test>" % USERS[0]
        s.cmd("EHLO client.test")
        got = []
        for _ in range(2):
            got += [s.cmd("MAIL FROM:<a@remote.test>"), s.cmd(rcpt),
                    s.cmd(rcpt), s.cmd("RSET")]
        self.assertEqual(got, ["250 2.1.0 Ok", "250 2.1.5 Ok",
                               "250 2.1.5 Ok", "250 2.0.0 Ok"] * 2)
        for s in sessions:
            s.close()
        svc = re.escape(self.service("exempt"))
        self.assertNotRegex(self.inst.log(), r"for service %s\n" % svc)
        self.assertNotRegex(self.inst.log(), r"\(%s:" % svc)


class AnvilDownTest(unittest.TestCase):
    """No anvil in master.cf: smtpd works, with Postfix's warnings."""

    def setUp(self):
        for rel in ("master/master", "smtpd/smtpd", "anvil/anvil",
                    "postlogd/postlogd"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        self.top = tempfile.mkdtemp(prefix="postern-anvil-down-")
        os.chmod(self.top, 0o755)
        self.port = e2e.free_port()
        self.master_cf = ("127.0.0.1:%d inet n - n - - smtpd\n" % self.port
                          + SERVICES)
        self.inst = instance(self.top, self.master_cf,
                             "anvil_rate_time_unit = 2s\n", anvil=False)
        self.inst.start()
        wait_port(self.port)

    def tearDown(self):
        self.inst.stop()
        shutil.rmtree(self.top, ignore_errors=True)

    def test_anvil_down_then_statistics_at_exit(self):
        # smtpd_client_connection_count_limit = 50 by default: anvil is asked
        s = Session(self.port)
        self.assertEqual(s.greeting, "220 mx.example.test ESMTP Postern")
        self.assertEqual(s.cmd("QUIT"), "221 2.0.0 Bye")
        s.close()
        self.expect(r"smtpd\[\d+\]: warning: problem talking to server "
                    r"private/anvil: No such file or directory$")
        # two attempts a second apart; the vanished socket is reported
        # only after the second (Postfix's attribute client).  Two sessions
        # (the port probe and ours) each ask at connect and disconnect.
        deadline = time.time() + 20
        while True:
            log = self.inst.log()
            problems = log.count("warning: problem talking to server "
                                 "private/anvil: No such file or directory")
            if problems >= 4 or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(problems, 4)
        self.assertEqual(log.count("warning: connect to private/anvil: No "
                                   "such file or directory"), 8)
        self.assertRegex(log, r"disconnect from localhost\[127\.0\.0\.1\] "
                         r"quit=1 commands=1")
        # anvil back: counting resumes; at exit it logs its peaks
        self.inst.write("master.cf", self.master_cf + ANVIL)
        self.inst.postfix("reload")
        time.sleep(1.5)
        s = Session(self.port)
        self.assertEqual(s.cmd("QUIT"), "221 2.0.0 Bye")
        s.close()
        # a new window of anvil_rate_time_unit starts the rates over
        a = AnvilClient(self.inst)
        self.assertEqual(a.ask("message", "test:192.0.2.2")["rate"], "1")
        self.assertEqual(a.ask("message", "test:192.0.2.2")["rate"], "2")
        time.sleep(3)
        self.assertEqual(a.ask("message", "test:192.0.2.2")["rate"], "1")
        a.close()
        self.inst.postfix("reload")
        ident = re.escape("127.0.0.1:%d:127.0.0.1" % self.port)
        self.expect(r"anvil\[\d+\]: statistics: max connection rate 1/2s "
                    r"for \(%s\) %s" % (ident, WHEN))
        self.expect(r"anvil\[\d+\]: statistics: max connection count 1 for "
                    r"\(%s\) %s" % (ident, WHEN))
        self.expect(r"anvil\[\d+\]: statistics: max message rate 2/2s for "
                    r"\(test:192\.0\.2\.2\) %s" % WHEN)
        self.expect(r"anvil\[\d+\]: statistics: max cache size [12] %s" % WHEN)

    def expect(self, pattern, timeout=20):
        m = self.inst.wait_log(pattern, timeout)
        self.assertIsNotNone(m, "no log line /%s/ in:\n%s"
                             % (pattern, self.inst.log()[-4000:]))
        return m


if __name__ == "__main__":
    unittest.main()
