"""smtpd TLS end to end: STARTTLS, wrapper mode, protocol limits, the
Received: comment and log lines, session resumption across processes, SNI,
STARTTLS command injection and unusable key files.  Certificates are made
at test time with the openssl command.  Replies and log lines are Postfix
3.7's, as observed from Debian's Postfix given the same certificates.
"""
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import e2e

USERS = ("psttls1",)

SERVICES = """\
127.0.0.1:P_MAY inet n - n - - smtpd
127.0.0.1:P_ENC inet n - n - - smtpd -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_mandatory_protocols=>=TLSv1.3
127.0.0.1:P_WRAP inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
  -o smtpd_starttls_timeout=2s
127.0.0.1:P_BADKEY inet n - n - - smtpd -o smtpd_tls_key_file=TOP/bad.key
127.0.0.1:P_EC inet n - n - - smtpd -o smtpd_tls_cert_file=
  -o smtpd_tls_key_file= -o smtpd_tls_chain_files=TOP/ec.pem
  -o { smtpd_tls_protocols = !SSLv2, !SSLv3, !TLSv1, !TLSv1.1, !TLSv1.2 }
127.0.0.1:P_ASK inet n - n - - smtpd -o smtpd_tls_ask_ccert=yes
127.0.0.1:P_LEGACY inet n - n - - smtpd -o smtpd_tls_security_level=
  -o smtpd_enforce_tls=yes
127.0.0.1:P_PIPE inet n - n - - smtpd -o smtpd_forbid_unauth_pipelining=no
127.0.0.1:P_RATE inet n - n - - smtpd
  -o smtpd_client_new_tls_session_rate_limit=1
  -o smtpd_client_event_limit_exceptions=
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

PORTS = ("P_MAY", "P_ENC", "P_WRAP", "P_BADKEY", "P_EC", "P_ASK",
         "P_LEGACY", "P_RATE", "P_PIPE")
PEER = r"localhost\[127\.0\.0\.1\]"
TLS13_RSA = (r"TLSv1\.3 with cipher TLS_AES_256_GCM_SHA384 \(256/256 bits\) "
             r"key-exchange X25519 server-signature RSA-PSS \(2048 bits\) "
             r"server-digest SHA256")


def openssl(*args):
    subprocess.run(("openssl",) + args, check=True, capture_output=True)


def client_ctx(maxv=None):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    if maxv:
        c.maximum_version = maxv
    return c


class SmtpdTlsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for rel in ("master/master", "smtpd/smtpd", "cleanup/cleanup",
                    "trivial-rewrite/trivial-rewrite", "qmgr/qmgr",
                    "local/local", "postlogd/postlogd"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("SKIPPED LOUDLY: no openssl command "
                                    "to make test certificates")
        cls.top = tempfile.mkdtemp(prefix="postern-tls-")
        os.chmod(cls.top, 0o755)
        top = cls.top
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                "30", "-subj", "/CN=mx.example.test",
                "-keyout", top + "/rsa.key", "-out", top + "/rsa.crt")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
                "-subj", "/CN=mx.example.test",
                "-keyout", top + "/ec.key", "-out", top + "/ec.crt")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                "30", "-subj", "/CN=other.example.test",
                "-keyout", top + "/sni.key", "-out", top + "/sni.crt")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                "30", "-subj", "/CN=client.example.test",
                "-keyout", top + "/cli.key", "-out", top + "/cli.crt")
        for name, parts in (("ec.pem", ("ec.key", "ec.crt")),
                            ("sni.pem", ("sni.key", "sni.crt"))):
            with open(os.path.join(top, name), "w") as out:
                for p in parts:
                    with open(os.path.join(top, p)) as f:
                        out.write(f.read())
        with open(os.path.join(top, "bad.key"), "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nnot a key\n"
                    "-----END PRIVATE KEY-----\n")
        for name in ("rsa.key", "ec.key", "sni.key", "ec.pem", "sni.pem"):
            os.chmod(os.path.join(top, name), 0o600)
        cls.ports = {}
        master_cf = SERVICES.replace("TOP", top)
        for p in PORTS:
            cls.ports[p] = e2e.free_port()
            master_cf = master_cf.replace(p + " ", str(cls.ports[p]) + " ")
        try:
            e2e.make_users(top, USERS)
            cls.spool = os.path.join(top, "mail")
            os.makedirs(cls.spool)
            os.chmod(cls.spool, 0o775)
            extra = ("smtpd_error_sleep_time = 0s\n"
                     "mydomain = example.test\n"
                     "mydestination = $myhostname, localhost, $mydomain\n"
                     "mynetworks = 10.0.0.0/8\n"
                     "mail_spool_directory = %s\nbiff = no\n"
                     "alias_maps =\nsmtpd_timeout = 10s\n"
                     "smtpd_tls_security_level = may\n"
                     "smtpd_tls_cert_file = %s/rsa.crt\n"
                     "smtpd_tls_key_file = %s/rsa.key\n"
                     "smtpd_tls_loglevel = 1\n"
                     "smtpd_tls_received_header = yes\n"
                     "tls_server_sni_maps = "
                     "inline:{other.example.test=%s/sni.pem}\n"
                     % (cls.spool, top, top, top))
            os.makedirs(os.path.join(top, "inst"))
            cls.inst = e2e.Instance(os.path.join(top, "inst"), master_cf,
                                    extra)
            cls.inst.start()
        except BaseException:
            e2e.remove_users(USERS)
            shutil.rmtree(cls.top, ignore_errors=True)
            raise
        deadline = time.time() + 15
        for p in PORTS:
            while time.time() < deadline:
                try:
                    socket.create_connection(
                        ("127.0.0.1", cls.ports[p]), 1).close()
                    break
                except OSError:
                    time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        cls.inst.stop()
        e2e.remove_users(USERS)
        shutil.rmtree(cls.top, ignore_errors=True)

    # helpers

    def connect(self, port):
        s = socket.create_connection(("127.0.0.1", self.ports[port]), 20)
        s.settimeout(20)
        f = s.makefile("rb")
        self.assertEqual(f.readline(),
                         b"220 mx.example.test ESMTP Postern\r\n")
        return s, f

    def reply(self, f):
        """One (multi-line) reply as a list of lines."""
        out = []
        while True:
            line = f.readline()
            self.assertTrue(line, "connection closed after %r" % out)
            line = line.decode().rstrip("\r\n")
            out.append(line)
            if len(line) < 4 or line[3] != "-":
                return out

    def cmd(self, s, f, text):
        s.sendall(text.encode() + b"\r\n")
        return self.reply(f)

    def starttls(self, port, ctx=None, sni=None, session=None):
        s, f = self.connect(port)
        self.assertIn("250-STARTTLS", self.cmd(s, f, "EHLO client.test"))
        self.assertEqual(self.cmd(s, f, "STARTTLS"),
                         ["220 2.0.0 Ready to start TLS"])
        t = (ctx or client_ctx()).wrap_socket(s, server_hostname=sni,
                                              session=session)
        return t, t.makefile("rb")

    def expect(self, pattern, timeout=20):
        m = self.inst.wait_log(pattern, timeout)
        self.assertIsNotNone(m, "no log line /%s/ in:\n%s"
                             % (pattern, self.inst.log()[-4000:]))
        return m

    def mailbox(self, needle, timeout=20):
        path = os.path.join(self.spool, USERS[0])
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(path):
                with open(path, "rb") as fh:
                    text = fh.read()
                if needle in text:
                    return text
            time.sleep(0.1)
        self.fail("%r not in mailbox; log:\n%s"
                  % (needle, self.inst.log()[-4000:]))

    # tests

    def test_starttls_replies_and_reset(self):
        s, f = self.connect("P_MAY")
        self.assertEqual(self.cmd(s, f, "STARTTLS now"),
                         ["501 5.5.4 Syntax: STARTTLS"])
        self.assertEqual(self.cmd(s, f, "EHLO client.test")[:6],
                         ["250-mx.example.test", "250-PIPELINING",
                          "250-SIZE 10240000", "250-VRFY", "250-ETRN",
                          "250-STARTTLS"])
        self.assertEqual(self.cmd(s, f, "MAIL FROM:<a@example.org>"),
                         ["250 2.1.0 Ok"])
        self.assertEqual(self.cmd(s, f, "STARTTLS"),
                         ["220 2.0.0 Ready to start TLS"])
        t = client_ctx().wrap_socket(s)
        g = t.makefile("rb")
        self.assertEqual(self.cmd(t, g, "STARTTLS"),
                         ["554 5.5.1 Error: TLS already active"])
        # the transaction before STARTTLS is forgotten
        self.assertEqual(self.cmd(t, g, "RCPT TO:<psttls1@example.test>"),
                         ["503 5.5.1 Error: need MAIL command"])
        ehlo = self.cmd(t, g, "EHLO client.test")
        self.assertNotIn("250-STARTTLS", ehlo)
        self.assertEqual(ehlo[-1], "250 CHUNKING")
        self.assertEqual(self.cmd(t, g, "QUIT"), ["221 2.0.0 Bye"])
        t.close()
        self.expect(r"smtpd\[\d+\]: disconnect from %s ehlo=2 starttls=1/3 "
                    r"mail=1 rcpt=0/1 quit=1 commands=5/8$" % PEER)

    def test_new_session_rate_limit(self):
        # the first new session is within the limit of 1 per time unit
        t, g = self.starttls("P_RATE")
        self.assertEqual(self.cmd(t, g, "QUIT"), ["221 2.0.0 Bye"])
        t.close()
        # the second goes over it once counted: 421 and the end
        t, g = self.starttls("P_RATE")
        self.assertEqual(self.reply(g),
                         ["421 4.7.0 mx.example.test Error: too many new TLS "
                          "sessions from localhost[127.0.0.1]"])
        t.close()
        self.expect(r"warning: New TLS session rate limit exceeded: 2 from "
                    r"%s for service 127\.0\.0\.1:%d$"
                    % (PEER, self.ports["P_RATE"]))
        # then STARTTLS itself is refused
        s, f = self.connect("P_RATE")
        self.cmd(s, f, "EHLO client.test")
        self.assertEqual(self.cmd(s, f, "STARTTLS"),
                         ["454 4.7.0 Error: too many new TLS sessions from "
                          "localhost[127.0.0.1]"])
        s.close()
        self.expect(r"warning: Refusing STARTTLS request from %s for service "
                    r"127\.0\.0\.1:%d$" % (PEER, self.ports["P_RATE"]))

    def test_mail_over_starttls(self):
        c = smtplib.SMTP("127.0.0.1", self.ports["P_MAY"], timeout=20)
        c.ehlo("client.test")
        c.starttls(context=client_ctx())
        c.ehlo("client.test")
        self.assertNotIn("starttls", c.esmtp_features)
        c.sendmail("a@example.org", ["psttls1@example.test"],
                   "Subject: tls one\r\n\r\nover TLS\r\n")
        c.quit()
        text = self.mailbox(b"Subject: tls one")
        self.assertRegex(
            text.decode(),
            r"Received: from client\.test \(localhost \[127\.0\.0\.1\]\)\n"
            r"\t\(using TLSv1\.3 with cipher TLS_AES_256_GCM_SHA384 "
            r"\(256/256 bits\)\n"
            r"\t key-exchange X25519 server-signature RSA-PSS \(2048 bits\) "
            r"server-digest SHA256\)\n"
            r"\t\(No client certificate requested\)\n"
            r"\tby mx\.example\.test \(Postern\) with ESMTPS id [0-9A-F]+\n"
            r"\tfor <psttls1@example\.test>; ")
        self.expect(r"smtpd\[\d+\]: Anonymous TLS connection established "
                    r"from %s: %s$" % (PEER, TLS13_RSA))

    def test_ask_ccert(self):
        for cert in (True, False):
            ctx = client_ctx()
            if cert:
                ctx.load_cert_chain(os.path.join(self.top, "cli.crt"),
                                    os.path.join(self.top, "cli.key"))
            c = smtplib.SMTP("127.0.0.1", self.ports["P_ASK"], timeout=20)
            c.ehlo("client.test")
            c.starttls(context=ctx)
            c.ehlo("client.test")
            c.sendmail("a@example.org", ["psttls1@example.test"],
                       "Subject: ccert %s\r\n\r\nhi\r\n" % cert)
            c.quit()
        text = self.mailbox(b"Subject: ccert False").decode()
        self.assertRegex(
            text,
            r"\t key-exchange X25519 server-signature RSA-PSS \(2048 bits\) "
            r"server-digest SHA256\n"
            r"\t client-signature RSA-PSS \(2048 bits\) client-digest "
            r"SHA256\)\n"
            r"\t\(Client CN \"client\.example\.test\", Issuer "
            r"\"client\.example\.test\" \(not verified\)\)\n"
            r"\tby mx\.example\.test \(Postern\) with ESMTPS id [0-9A-F]+\n"
            r"\tfor <psttls1@example\.test>; [^\n]*\n"
            r"Subject: ccert True\n")
        self.assertRegex(
            text,
            r"server-digest SHA256\)\n"
            r"\t\(Client did not present a certificate\)\n"
            r"\tby mx\.example\.test \(Postern\) with ESMTPS id [0-9A-F]+\n"
            r"\tfor <psttls1@example\.test>; [^\n]*\n"
            r"Subject: ccert False\n")
        self.expect(r"smtpd\[\d+\]: Untrusted TLS connection established "
                    r"from %s: %s client-signature RSA-PSS \(2048 bits\) "
                    r"client-digest SHA256$" % (PEER, TLS13_RSA))

    def test_injection_refused(self):
        # smtpd_forbid_unauth_pipelining (Postern's default: yes) refuses
        # commands sent after STARTTLS before its reply
        s, f = self.connect("P_MAY")
        self.cmd(s, f, "EHLO client.test")
        s.sendall(b"STARTTLS\r\nRSET\r\nMAIL FROM:<evil@example.org>\r\n")
        self.assertEqual(self.reply(f),
                         ["554 5.5.0 Error: SMTP protocol synchronization"])
        self.assertEqual(f.readline(), b"")
        s.close()

    def test_injection_discarded(self):
        # CVE-2011-0411: commands sent with STARTTLS are never executed
        s, f = self.connect("P_PIPE")
        self.cmd(s, f, "EHLO client.test")
        s.sendall(b"STARTTLS\r\nRSET\r\nMAIL FROM:<evil@example.org>\r\n")
        self.assertEqual(self.reply(f), ["220 2.0.0 Ready to start TLS"])
        t = client_ctx().wrap_socket(s)
        g = t.makefile("rb")
        self.assertEqual(self.cmd(t, g, "RCPT TO:<psttls1@example.test>"),
                         ["503 5.5.1 Error: need MAIL command"])
        self.assertEqual(self.cmd(t, g, "QUIT"), ["221 2.0.0 Bye"])
        t.close()
        self.expect(r"smtpd\[\d+\]: disconnect from %s ehlo=1 starttls=1 "
                    r"rcpt=0/1 quit=1 commands=3/4$" % PEER)

    def test_encrypt_requires_starttls(self):
        s, f = self.connect("P_ENC")
        self.assertIn("250-STARTTLS", self.cmd(s, f, "EHLO client.test"))
        for c in ("MAIL FROM:<a@example.org>", "RCPT TO:<x@example.test>",
                  "VRFY x", "RSET"):
            self.assertEqual(self.cmd(s, f, c),
                             ["530 5.7.0 Must issue a STARTTLS command "
                              "first"])
        self.assertEqual(self.cmd(s, f, "NOOP"), ["250 2.0.0 Ok"])
        self.assertEqual(self.cmd(s, f, "STARTTLS"),
                         ["220 2.0.0 Ready to start TLS"])
        t = client_ctx().wrap_socket(s)
        g = t.makefile("rb")
        self.cmd(t, g, "EHLO client.test")
        self.assertEqual(self.cmd(t, g, "MAIL FROM:<a@example.org>"),
                         ["250 2.1.0 Ok"])
        self.cmd(t, g, "QUIT")
        t.close()
        # the legacy smtpd_enforce_tls = yes means the same
        s, f = self.connect("P_LEGACY")
        self.assertEqual(self.cmd(s, f, "MAIL FROM:<a@example.org>"),
                         ["530 5.7.0 Must issue a STARTTLS command first"])
        s.close()

    def test_mandatory_protocols(self):
        # >=TLSv1.3 refuses a TLSv1.2-only client
        s, f = self.connect("P_ENC")
        self.cmd(s, f, "EHLO client.test")
        self.assertEqual(self.cmd(s, f, "STARTTLS"),
                         ["220 2.0.0 Ready to start TLS"])
        with self.assertRaises(ssl.SSLError):
            client_ctx(ssl.TLSVersion.TLSv1_2).wrap_socket(s)
        s.close()
        self.expect(r"smtpd\[\d+\]: SSL_accept error from %s: -1$" % PEER)
        self.expect(r"smtpd\[\d+\]: warning: TLS library problem: "
                    r"error:0A000102:SSL routines::unsupported protocol:")
        self.expect(r"smtpd\[\d+\]: lost connection after STARTTLS from "
                    r"%s$" % PEER)

    def test_ecdsa_chain_and_protocol_exclusions(self):
        s, f = self.connect("P_EC")
        self.cmd(s, f, "EHLO client.test")
        self.cmd(s, f, "STARTTLS")
        with self.assertRaises(ssl.SSLError):
            client_ctx(ssl.TLSVersion.TLSv1_2).wrap_socket(s)
        s.close()
        t, g = self.starttls("P_EC")
        self.assertEqual(t.version(), "TLSv1.3")
        self.cmd(t, g, "QUIT")
        t.close()
        self.expect(r"smtpd\[\d+\]: Anonymous TLS connection established "
                    r"from %s: TLSv1\.3 with cipher TLS_AES_256_GCM_SHA384 "
                    r"\(256/256 bits\) key-exchange X25519 server-signature "
                    r"ECDSA \(prime256v1\) server-digest SHA256$" % PEER)

    def test_wrapper_mode(self):
        raw = socket.create_connection(("127.0.0.1", self.ports["P_WRAP"]),
                                       20)
        s = client_ctx().wrap_socket(raw)
        f = s.makefile("rb")
        self.assertEqual(f.readline(),
                         b"220 mx.example.test ESMTP Postern\r\n")
        ehlo = self.cmd(s, f, "EHLO client.test")
        self.assertNotIn("250-STARTTLS", ehlo)
        self.assertEqual(self.cmd(s, f, "STARTTLS"),
                         ["554 5.5.1 Error: TLS already active"])
        self.assertEqual(self.cmd(s, f, "QUIT"), ["221 2.0.0 Bye"])
        s.close()
        self.expect(r"smtpd\[\d+\]: disconnect from %s ehlo=1 starttls=0/1 "
                    r"quit=1 commands=2/3$" % PEER)

    def test_wrapper_mode_handshake_failures(self):
        # silence until smtpd_starttls_timeout, then garbage
        s = socket.create_connection(("127.0.0.1", self.ports["P_WRAP"]),
                                     20)
        s.settimeout(20)
        self.assertEqual(s.recv(100), b"")
        s.close()
        self.expect(r"smtpd\[\d+\]: SSL_accept error from %s: Connection "
                    r"timed out$" % PEER)
        self.expect(r"smtpd\[\d+\]: lost connection after CONNECT from "
                    r"%s$" % PEER)
        s = socket.create_connection(("127.0.0.1", self.ports["P_WRAP"]),
                                     20)
        s.sendall(b"EHLO client.test\r\n")
        s.close()
        self.expect(r"smtpd\[\d+\]: warning: TLS library problem: "
                    r"error:0A00010B:SSL routines::wrong version number:")

    def test_resumption_across_processes(self):
        # the first session stays open, so the second one is served by
        # another smtpd process: the ticket keys are shared
        ctx = client_ctx()
        t1, g1 = self.starttls("P_MAY", ctx)
        self.cmd(t1, g1, "EHLO client.test")
        self.assertFalse(t1.session_reused)
        session = t1.session
        self.assertTrue(session.has_ticket)
        t2, g2 = self.starttls("P_MAY", ctx, session=session)
        self.cmd(t2, g2, "EHLO client.test")
        self.assertTrue(t2.session_reused)
        self.cmd(t2, g2, "QUIT")
        self.cmd(t1, g1, "QUIT")
        t1.close()
        t2.close()
        # a resumed session signs nothing: no server-digest
        self.expect(r"smtpd\[\d+\]: Anonymous TLS connection established "
                    r"from %s: TLSv1\.3 with cipher TLS_AES_256_GCM_SHA384 "
                    r"\(256/256 bits\) key-exchange X25519 server-signature "
                    r"RSA-PSS \(2048 bits\)$" % PEER)
        keys = os.path.join(self.inst.data, "smtpd_tls_ticket_keys")
        st = os.lstat(keys)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o600))

    def test_sni(self):
        t, g = self.starttls("P_MAY", sni="other.example.test")
        der = t.getpeercert(binary_form=True)
        self.cmd(t, g, "QUIT")
        t.close()
        with open(os.path.join(self.top, "sni.crt")) as f:
            want = ssl.PEM_cert_to_DER_cert(f.read())
        self.assertEqual(der, want)
        self.expect(r"smtpd\[\d+\]: Anonymous TLS connection established "
                    r"from %s to other\.example\.test: %s$"
                    % (PEER, TLS13_RSA))
        t, g = self.starttls("P_MAY", sni="unknown.example.test")
        der = t.getpeercert(binary_form=True)
        self.cmd(t, g, "QUIT")
        t.close()
        with open(os.path.join(self.top, "rsa.crt")) as f:
            self.assertEqual(der, ssl.PEM_cert_to_DER_cert(f.read()))
        self.expect(r"smtpd\[\d+\]: TLS SNI unknown\.example\.test from %s "
                    r"not matched, using default chain$" % PEER)
        t, g = self.starttls("P_MAY", sni="bad_name!.example.test")
        self.assertEqual(self.cmd(t, g, "QUIT"), ["221 2.0.0 Bye"])
        t.close()
        self.expect(r"smtpd\[\d+\]: warning: TLS SNI from %s is invalid: "
                    r"bad_name!\.example\.test$" % PEER)

    def test_bad_key_file(self):
        s, f = self.connect("P_BADKEY")
        self.assertIn("250-STARTTLS", self.cmd(s, f, "EHLO client.test"))
        self.assertEqual(self.cmd(s, f, "STARTTLS"),
                         ["454 4.7.0 TLS not available due to local "
                          "problem"])
        self.assertEqual(self.cmd(s, f, "MAIL FROM:<a@example.org>"),
                         ["250 2.1.0 Ok"])
        self.cmd(s, f, "QUIT")
        s.close()
        self.expect(r"smtpd\[\d+\]: warning: cannot get RSA private key "
                    r"from file \"%s/bad\.key\": disabling TLS support$"
                    % re.escape(self.top))
        self.expect(r"smtpd\[\d+\]: disconnect from %s ehlo=1 starttls=0/1 "
                    r"mail=1 quit=1 commands=3/4$" % PEER)

    def test_lost_connection_in_handshake(self):
        s, f = self.connect("P_MAY")
        self.cmd(s, f, "EHLO client.test")
        self.assertEqual(self.cmd(s, f, "STARTTLS"),
                         ["220 2.0.0 Ready to start TLS"])
        s.close()
        self.expect(r"smtpd\[\d+\]: SSL_accept error from %s: lost "
                    r"connection$" % PEER)
        self.expect(r"smtpd\[\d+\]: disconnect from %s ehlo=1 starttls=0/1 "
                    r"commands=1/2$" % PEER)


if __name__ == "__main__":
    unittest.main()
