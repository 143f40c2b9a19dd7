"""smtpd AUTH end to end: a private Postern instance whose smtpd services
authenticate through a real Dovecot (tests/dovecot.py) on a private
socket.  Replies and log lines are Postfix 3.7's, as observed from
Debian's Postfix pointed at the same Dovecot.

There is no qmgr in this instance: accepted mail stays in incoming/, where
the test reads the queue file's SASL attributes.
"""
import base64
import glob
import os
import re
import shutil
import smtplib
import socket
import tempfile
import time
import unittest

import dovecot
import e2e
import qfile

QID = r"[0-9A-F]{6,}"

SERVICES = {
    # name: (-o options)
    "main": "",
    "noplain": "-o smtpd_sasl_security_options=noplaintext,noanonymous",
    "tlsonly": "-o smtpd_tls_auth_only=yes",
    "off": "-o smtpd_sasl_auth_enable=no",
    "except": "-o smtpd_sasl_exceptions_networks=127.0.0.0/8",
    "filter": "-o smtpd_sasl_mechanism_filter=login,cram-md5 "
              "-o broken_sasl_auth_clients=yes",
    "anon": "-o smtpd_sasl_security_options= "
            "-o smtpd_sasl_response_limit=100000",
    "cyrus": "-o smtpd_sasl_type=cyrus",
    "nosock": "-o smtpd_sasl_path=private/auth",
    "bogus": "-o smtpd_sasl_security_options=noanonymous,bogus",
    "helo": "-o smtpd_helo_required=yes",
    "mua": "-o smtpd_relay_restrictions=$mua_relay_restrictions",
}


def submission_cf(port):
    """The commented submission entry of conf/master.cf, uncommented, on
    a test port; TLS settings overridden until smtpd has TLS."""
    path = os.path.join(e2e.TOP, "conf", "master.cf")
    with open(path) as f:
        lines = f.read().splitlines()
    start = lines.index("#submission inet n       -       n       -       -"
                        "       smtpd")
    out = ["127.0.0.1:%d inet n - n - - smtpd" % port]
    for line in lines[start + 1:]:
        if not line.startswith("#  -o "):
            break
        out.append(line[1:])
    out += ["  -o smtpd_tls_security_level=none",
            "  -o smtpd_tls_auth_only=no"]
    return "\n".join(out) + "\n"


OTHER_CF = """\
cleanup   unix  n       -       n       -       0       cleanup
rewrite   unix  -       -       n       -       -       trivial-rewrite
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def b64(s):
    return base64.b64encode(s.encode()).decode()


PLAIN_OK = b64("\0alice\0secret1")
PLAIN_BAD = b64("\0alice\0wrong")


class SmtpdSaslTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        dovecot.need_dovecot()
        for rel in ("master/master", "smtpd/smtpd", "cleanup/cleanup",
                    "trivial-rewrite/trivial-rewrite", "postlogd/postlogd"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        cls.top = tempfile.mkdtemp(prefix="postern-sasl-")
        os.chmod(cls.top, 0o755)
        try:
            cls.dv = dovecot.Dovecot(
                os.path.join(cls.top, "dovecot"),
                {"alice": "secret1", "bob@example.test": "pw2"},
                mechanisms="plain login cram-md5 anonymous")
            cls.dv.start()
            cls.ports = {}
            master = ""
            for name, opts in SERVICES.items():
                cls.ports[name] = e2e.free_port()
                master += ("127.0.0.1:%d inet n - n - - smtpd %s\n"
                           % (cls.ports[name], opts))
            cls.ports["submission"] = e2e.free_port()
            master += submission_cf(cls.ports["submission"])
            extra = ("smtpd_error_sleep_time = 0s\n"
                     "myhostname = mx.example.test\n"
                     "mydestination = $myhostname, localhost\n"
                     "mynetworks = 10.0.0.0/8\n"
                     "alias_maps =\nsmtpd_timeout = 10s\n"
                     "smtpd_sasl_auth_enable = yes\n"
                     "smtpd_sasl_type = dovecot\n"
                     "smtpd_sasl_path = %s\n"
                     "smtpd_sasl_authenticated_header = yes\n"
                     "smtpd_relay_restrictions = permit_sasl_authenticated,"
                     " reject_unauth_destination\n"
                     "mua_relay_restrictions = permit_sasl_authenticated,"
                     " reject\n" % cls.dv.socket)
            os.makedirs(os.path.join(cls.top, "inst"))
            cls.inst = e2e.Instance(os.path.join(cls.top, "inst"),
                                    master + OTHER_CF, extra)
            cls.inst.start()
        except BaseException:
            if hasattr(cls, "dv"):
                cls.dv.stop()
            shutil.rmtree(cls.top, ignore_errors=True)
            raise
        for port in cls.ports.values():
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), 1).close()
                    break
                except OSError:
                    time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        cls.inst.stop()
        cls.dv.stop()
        if os.environ.get("SASL_KEEP"):
            print(cls.inst.log()[-3000:])
        shutil.rmtree(cls.top, ignore_errors=True)

    # helpers

    def connect(self, service="main"):
        s = socket.create_connection(("127.0.0.1", self.ports[service]), 10)
        s.settimeout(20)
        f = s.makefile("rb")
        self.assertEqual(f.readline(), b"220 mx.example.test ESMTP Postern\r\n")
        return s, f

    def reply(self, f):
        """One (possibly multi-line) reply as a list of lines."""
        out = []
        while True:
            line = f.readline()
            self.assertTrue(line, "connection closed after %r" % out)
            line = line.decode().rstrip("\r\n")
            out.append(line)
            if len(line) < 4 or line[3] != "-":
                return out

    def chat(self, lines, service="main"):
        """Send each line, collect each reply's last line."""
        s, f = self.connect(service)
        out = []
        try:
            for line in lines:
                s.sendall(line.encode() + b"\r\n")
                out.append(self.reply(f)[-1])
        finally:
            f.close()
            s.close()
        return out

    def ehlo(self, service):
        s, f = self.connect(service)
        s.sendall(b"EHLO client.test\r\n")
        r = self.reply(f)
        s.sendall(b"QUIT\r\n")
        self.reply(f)
        f.close()
        s.close()
        return [line[4:] for line in r if "AUTH" in line]

    def expect(self, pattern, timeout=15):
        m = self.inst.wait_log(pattern, timeout)
        self.assertIsNotNone(m, "no log line /%s/ in:\n%s"
                             % (pattern, self.inst.log()[-4000:]))
        return m

    def queue_file(self, qid, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            paths = glob.glob(os.path.join(self.inst.queue, "*", "**", qid),
                              recursive=True)
            for path in paths:
                recs = qfile.read(path)
                if recs and recs[-1][0] == "E":
                    return recs
            time.sleep(0.1)
        self.fail("no complete queue file %s" % qid)

    def send(self, lines, service="main"):
        """A conversation that ends in a queued message; its queue ID."""
        r = self.chat(lines + ["DATA", "Subject: sasl\r\n\r\nbody\r\n.",
                               "QUIT"], service)
        self.assertEqual(r[-3], "354 End data with <CR><LF>.<CR><LF>", r)
        m = re.match(r"250 2\.0\.0 Ok: queued as (%s)$" % QID, r[-2])
        self.assertIsNotNone(m, r)
        return m.group(1)

    # tests

    def test_ehlo_mechanisms(self):
        self.assertEqual(self.ehlo("main"), ["AUTH PLAIN LOGIN CRAM-MD5"])
        self.assertEqual(self.ehlo("noplain"), ["AUTH CRAM-MD5"])
        self.assertEqual(self.ehlo("anon"),
                         ["AUTH PLAIN LOGIN CRAM-MD5 ANONYMOUS"])
        self.assertEqual(self.ehlo("filter"),
                         ["AUTH LOGIN CRAM-MD5", "AUTH=LOGIN CRAM-MD5"])
        self.assertEqual(self.ehlo("tlsonly"), [])
        self.assertEqual(self.ehlo("off"), [])
        self.assertEqual(self.ehlo("except"), [])

    def test_relay_needs_auth(self):
        r = self.chat(["EHLO client.test", "MAIL FROM:<a@b.test>",
                       "RCPT TO:<x@remote.test>", "QUIT"])
        self.assertEqual(r[2], "554 5.7.1 <x@remote.test>: Relay access "
                         "denied")
        self.expect(r"NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: "
                    r"554 5\.7\.1 <x@remote\.test>: Relay access denied; "
                    r"from=<a@b\.test> to=<x@remote\.test> proto=ESMTP "
                    r"helo=<client\.test>$")
        r = self.chat(["EHLO client.test", "AUTH PLAIN " + PLAIN_OK,
                       "MAIL FROM:<a@b.test>", "RCPT TO:<x@remote.test>",
                       "QUIT"])
        self.assertEqual(r[3], "250 2.1.5 Ok")

    def test_plain_initial_response(self):
        qid = self.send(["EHLO client.test", "AUTH PLAIN " + PLAIN_OK,
                         "AUTH PLAIN " + PLAIN_OK,
                         "MAIL FROM:<a@b.test>", "RCPT TO:<x@remote.test>"])
        self.expect(r"smtpd\[\d+\]: %s: client=localhost\[127\.0\.0\.1\], "
                    r"sasl_method=PLAIN, sasl_username=alice$" % qid)
        self.expect(r"smtpd\[\d+\]: disconnect from localhost\[127\.0\.0\.1\]"
                    r" ehlo=1 auth=1/2 mail=1 rcpt=1 data=1 quit=1 "
                    r"commands=6/7$")
        recs = self.queue_file(qid)
        attrs = [d.decode() for t, d, _ in recs if t == "A"]
        self.assertIn("sasl_method=PLAIN", attrs)
        self.assertIn("sasl_username=alice", attrs)
        self.assertIn("log_protocol_name=ESMTPA", attrs)
        self.assertFalse([a for a in attrs if a.startswith("sasl_sender=")])
        text = b"\n".join(d for t, d, _ in recs if t == "N")
        self.assertRegex(text, rb"Received: from client\.test \(localhost "
                         rb"\[127\.0\.0\.1\]\)\n\t\(Authenticated sender: "
                         rb"alice\)\n\tby mx\.example\.test \(Postern\) with "
                         rb"ESMTPA id " + qid.encode())

    def test_replies(self):
        r = self.chat(["EHLO client.test", "AUTH PLAIN " + PLAIN_OK,
                       "AUTH LOGIN", "MAIL FROM:<a@b.test>",
                       "AUTH PLAIN " + PLAIN_OK, "QUIT"])
        self.assertEqual(r, ["250 CHUNKING",
                             "235 2.7.0 Authentication successful",
                             "503 5.5.1 Error: already authenticated",
                             "250 2.1.0 Ok",
                             "503 5.5.1 Error: MAIL transaction in progress",
                             "221 2.0.0 Bye"])

    def test_login_and_failures(self):
        r = self.chat([
            # AUTH needs no EHLO (smtpd_helo_required = no), as Postfix
            "AUTH PLAIN " + PLAIN_BAD,
            "EHLO client.test",
            "auth plain " + PLAIN_BAD,
            "AUTH PLAIN !!",
            "AUTH FOO",
            "AUTH ANONYMOUS " + b64("x"),
            "AUTH", "AUTH PLAIN a b",
            "AUTH LOGIN", "*",
            "AUTH LOGIN", b64("alice"), b64("wrong"),
            "AUTH LOGIN", b64("alice"), "!!",
            "AUTH LOGIN " + b64("alice"), b64("secret1"),
            "QUIT"])
        fail = "535 5.7.8 Error: authentication failed: "
        self.assertEqual(r, [
            fail + "(reason unavailable)",
            "250 CHUNKING",
            fail + "(reason unavailable)",
            fail + "Invalid base64 data in initial response",
            fail + "Invalid authentication mechanism",
            fail + "Invalid authentication mechanism",
            "501 5.5.4 Syntax: AUTH mechanism",
            "501 5.5.4 Syntax: AUTH mechanism",
            "334 VXNlcm5hbWU6", "501 5.7.0 Authentication aborted",
            "334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6", fail +
            "(reason unavailable)",
            "334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6", fail +
            "Invalid base64 data in continued response",
            "334 UGFzc3dvcmQ6", "235 2.7.0 Authentication successful",
            "221 2.0.0 Bye"])
        w = r"smtpd\[\d+\]: warning: localhost\[127\.0\.0\.1\]: SASL "
        self.expect(w + r"PLAIN authentication failed: \(reason unavailable\)"
                    r", sasl_username=alice$")
        self.expect(w + r"plain authentication failed: \(reason unavailable\)"
                    r", sasl_username=alice$")
        self.expect(w + r"FOO authentication failed: Invalid authentication "
                    r"mechanism, sasl_username=alice$")
        self.expect(w + r"LOGIN authentication aborted$")
        self.expect(w + r"LOGIN authentication failed: Invalid base64 data "
                    r"in continued response, sasl_username=alice$")

    def test_response_limit(self):
        # Postfix counts a CR against the limit, not the LF
        r = self.chat(["EHLO client.test", "AUTH PLAIN", "A" * 12287,
                       "AUTH PLAIN", "A" * 12288, "QUIT"])
        self.assertEqual(r[1:], [
            "334 ", "535 5.7.8 Error: authentication failed: Invalid base64 "
            "data in continued response",
            "334 ", "500 5.5.6 SASL response limit exceeded",
            "221 2.0.0 Bye"])
        self.expect(r"smtpd\[\d+\]: warning: localhost\[127\.0\.0\.1\]: "
                    r"request longer than 12288: A{30}\.\.\.$")

    def test_mail_auth_param(self):
        qid = self.send(["EHLO client.test", "MAIL FROM:<a@b.test> AUTH=<>",
                         "RSET", "MAIL FROM:<a@b.test> AUTH=joe AUTH=<>",
                         "MAIL FROM:<a@b.test> AUTH=x", "RSET",
                         "AUTH PLAIN " + PLAIN_OK,
                         "MAIL FROM:<a@b.test> AUTH=joe+2Bx@y",
                         "RCPT TO:<x@remote.test>"])
        self.expect(r"smtpd\[\d+\]: %s: client=localhost\[127\.0\.0\.1\], "
                    r"sasl_method=PLAIN, sasl_username=alice, "
                    r"sasl_sender=joe\+2Bx@y$" % qid)
        attrs = [d.decode() for t, d, _ in self.queue_file(qid) if t == "A"]
        self.assertIn("sasl_sender=joe+2Bx@y", attrs)
        self.expect(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 auth=1 "
                    r"mail=2/4 rcpt=1 data=1 rset=2 quit=1 commands=9/11$")
        # recorded without authentication too, as Postfix does
        qid = self.send(["EHLO client.test", "MAIL FROM:<a@b.test> AUTH=joe",
                         "RCPT TO:<root@localhost>"])
        self.expect(r"smtpd\[\d+\]: %s: client=localhost\[127\.0\.0\.1\], "
                    r"sasl_sender=joe$" % qid)
        # and ignored when AUTH is off
        qid = self.send(["EHLO client.test", "MAIL FROM:<a@b.test> AUTH=joe",
                         "RCPT TO:<root@localhost>"], "off")
        self.expect(r"smtpd\[\d+\]: %s: client=localhost\[127\.0\.0\.1\]$"
                    % qid)

    def test_multiple_auth_params(self):
        r = self.chat(["EHLO client.test",
                       "MAIL FROM:<a@b.test> AUTH=joe AUTH=<>",
                       "MAIL FROM:<a@b.test> AUTH=", "RSET",
                       "MAIL FROM:<a@b.test> AUTH=", "QUIT"])
        self.assertEqual(r[1:], ["503 5.5.4 Error: multiple AUTH= options",
                                 "503 5.5.4 Error: multiple AUTH= options",
                                 "250 2.0.0 Ok", "250 2.1.0 Ok",
                                 "221 2.0.0 Bye"])

    def test_disabled_and_tls_only(self):
        for service in ("off", "tlsonly"):
            r = self.chat(["EHLO client.test", "AUTH PLAIN " + PLAIN_OK,
                           "QUIT"], service)
            self.assertEqual(r[1], "503 5.5.1 Error: authentication not "
                             "enabled", service)

    def test_exceptions_networks_may_still_auth(self):
        r = self.chat(["EHLO client.test", "AUTH PLAIN " + PLAIN_OK, "QUIT"],
                      "except")
        self.assertEqual(r[1], "235 2.7.0 Authentication successful")

    def test_helo_required(self):
        r = self.chat(["AUTH PLAIN " + PLAIN_OK, "HELO client.test",
                       "AUTH PLAIN " + PLAIN_OK, "QUIT"], "helo")
        self.assertEqual(r[:3], ["503 5.5.1 Error: send HELO/EHLO first",
                                 "250 mx.example.test",
                                 "235 2.7.0 Authentication successful"])

    def test_cram_md5_and_anonymous(self):
        s, f = self.connect("anon")
        s.sendall(b"EHLO client.test\r\n")
        self.reply(f)
        s.sendall(b"AUTH CRAM-MD5\r\n")
        r = self.reply(f)[0]
        self.assertTrue(r.startswith("334 "), r)
        self.assertTrue(base64.b64decode(r[4:]).startswith(b"<"), r)
        s.sendall(b"*\r\n")
        self.assertEqual(self.reply(f), ["501 5.7.0 Authentication aborted"])
        s.sendall(b"AUTH ANONYMOUS " + b64("trace").encode() + b"\r\n")
        self.assertEqual(self.reply(f),
                         ["235 2.7.0 Authentication successful"])
        f.close()
        s.close()
        self.expect(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 "
                    r"auth=1/2 commands=2/3$")

    def test_smtplib_login(self):
        with smtplib.SMTP("127.0.0.1", self.ports["main"]) as c:
            c.ehlo("client.test")
            c.login("bob@example.test", "pw2")
            c.sendmail("bob@example.test", ["x@remote.test"],
                       "Subject: smtplib\n\nhi\n")
        self.expect(r"smtpd\[\d+\]: %s: client=localhost\[127\.0\.0\.1\], "
                    r"sasl_method=(PLAIN|LOGIN|CRAM-MD5), "
                    r"sasl_username=bob@example\.test$" % QID)
        with smtplib.SMTP("127.0.0.1", self.ports["main"]) as c:
            c.ehlo("client.test")
            self.assertRaises(smtplib.SMTPAuthenticationError, c.login,
                              "bob@example.test", "nope")

    def test_lost_connection_in_auth(self):
        s, f = self.connect()
        s.sendall(b"EHLO client.test\r\n")
        self.reply(f)
        s.sendall(b"AUTH LOGIN\r\n")
        self.assertEqual(self.reply(f), ["334 VXNlcm5hbWU6"])
        f.close()
        s.close()
        self.expect(r"smtpd\[\d+\]: lost connection after AUTH from "
                    r"localhost\[127\.0\.0\.1\]$")

    def test_submission_entry(self):
        """The default master.cf's submission entry, uncommented."""
        for service in ("submission", "mua"):
            self.assertEqual(self.ehlo(service),
                             ["AUTH PLAIN LOGIN CRAM-MD5"])
            r = self.chat(["EHLO client.test", "MAIL FROM:<a@b.test>",
                           "RCPT TO:<x@remote.test>", "RSET",
                           "AUTH PLAIN " + PLAIN_OK, "MAIL FROM:<a@b.test>",
                           "RCPT TO:<x@remote.test>", "QUIT"], service)
            # Postfix: smtpd_client_restrictions (permit_sasl_authenticated,
            # reject) rejects at RCPT; without that restriction list the
            # relay restrictions do
            self.assertIn(r[2], (
                "554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: "
                "Access denied",
                "554 5.7.1 <x@remote.test>: Recipient address rejected: "
                "Access denied"))
            r[2] = "rejected"
            self.assertEqual(r[1:], [
                "250 2.1.0 Ok", "rejected", "250 2.0.0 Ok",
                "235 2.7.0 Authentication successful", "250 2.1.0 Ok",
                "250 2.1.5 Ok", "221 2.0.0 Bye"], service)
        self.expect(r"postfix/submission/smtpd\[\d+\]: disconnect from "
                    r"localhost\[127\.0\.0\.1\] ehlo=1 auth=1 mail=2 "
                    r"rcpt=1/2 rset=1 quit=1 commands=7/8$")

    def test_zz_dovecot_gone(self):
        """Dovecot dies mid-session: 454; back again: AUTH works."""
        s, f = self.connect()
        try:
            s.sendall(b"EHLO client.test\r\n")
            self.reply(f)
            self.dv.kill()
            s.sendall(b"AUTH PLAIN " + PLAIN_OK.encode() + b"\r\n")
            r = self.reply(f)
            self.assertRegex(r[0], r"^454 4\.7\.0 Temporary authentication "
                             r"failure: (Connection lost to|Can't connect to)"
                             r" authentication server$")
            self.dv.start()
            s.sendall(b"AUTH PLAIN " + PLAIN_OK.encode() + b"\r\n")
            self.assertEqual(self.reply(f),
                             ["235 2.7.0 Authentication successful"])
        finally:
            f.close()
            s.close()
            if not self.dv.processes():
                self.dv.start()

    def test_unsupported_type_and_missing_socket(self):
        # fatal before the process accepts the connection, as Postfix
        socket.create_connection(("127.0.0.1", self.ports["cyrus"]),
                                 10).close()
        self.expect(r"smtpd\[\d+\]: warning: unsupported SASL server "
                    r"implementation: cyrus$")
        self.expect(r"smtpd\[\d+\]: fatal: SASL per-process initialization "
                    r"failed$")
        s, f = self.connect("nosock")
        s.sendall(b"EHLO client.test\r\n")
        self.assertEqual(f.readline(), b"")
        f.close()
        s.close()
        self.expect(r"smtpd\[\d+\]: warning: SASL: Connect to Dovecot auth "
                    r"socket 'private/auth' failed: No such file or "
                    r"directory$")
        self.expect(r"smtpd\[\d+\]: fatal: no SASL authentication "
                    r"mechanisms$")
        s, f = self.connect("bogus")
        s.sendall(b"EHLO client.test\r\n")
        self.assertEqual(f.readline(), b"")
        f.close()
        s.close()
        self.expect(r"smtpd\[\d+\]: fatal: unknown xsasl_dovecot_server_create"
                    r" value \"bogus\" in \"noanonymous,bogus\"$")
