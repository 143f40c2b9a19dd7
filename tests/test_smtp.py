"""The smtp and lmtp clients end to end: sendmail -> pickup -> cleanup ->
qmgr -> smtp/lmtp -> real servers on loopback (aiosmtpd sinks, Postfix's
smtp-sink, a raw socket server for odd greetings, an aiosmtpd LMTP server
on a UNIX socket), with MX records from tests/dnsfake.py.

Log lines are Postfix 3.7's: "to=<x>, relay=host[addr]:port, delay=,
delays=, dsn=2.0.0, status=sent (250 ...)", "status=deferred (connect to
host[addr]:port: Connection refused)", "status=bounced (host host[addr]
said: 550 5.1.1 ... (in reply to RCPT TO command))", "Domain x does not
accept mail (nullMX)", "TLS is required, but was not offered by host
H[A]", "Server certificate not verified", "Verified TLS connection
established to H[A]:P: ...", "SASL authentication failed; server H[A]
said: 535 ...".
"""
import os
import re
import socket
import ssl
import subprocess
import time
import unittest

import dnsfake
import e2e
from smtpsink import (QID, Handler, LmtpController, RawServer, ScriptServer,
                      SinkTest, authenticator)

MASTER_CF = e2e.master_cf("pickup", "cleanup", "qmgr", "rewrite", "bounce",
                          "defer", "trace", "showq", "error", "local", "smtp",
                          "relay", "lmtp", "postlog") + """\
slow      unix  -       -       n       -       -       smtp
  -o smtp_data_done_timeout=2s
"""

class SmtpTest(SinkTest):
    NEEDS = SinkTest.NEEDS + ("smtp/lmtp",)

    @classmethod
    def setup_all(cls):
        # certificate for tls.test (also the CA file: self-signed)
        cls.cert, cls.key = cls.make_cert()

        cls.port = e2e.free_port()
        p = cls.port
        # sinks: plain (.1), TLS (.31), AUTH (.41), MX 3 (.23)
        cls.plain = cls.sink(cls.net(1), p)
        cls.mx3 = cls.sink(cls.net(23), p)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cls.cert, cls.key)
        cls.tls = cls.sink(cls.net(31), p, tls_context=ctx)
        cls.auth = cls.sink(cls.net(41), p, authenticator=authenticator,
                            auth_require_tls=False)
        cls.raw.append(RawServer(cls.net(22), p,
                                 "421 4.3.2 mx2 is busy"))
        cls.raw.append(RawServer(cls.net(24), p,
                                 "554 5.7.1 go away"))
        cls.script = ScriptServer(cls.net(51), p)
        cls.raw.append(cls.script)
        cls.raw.append(ScriptServer(cls.net(52), p, "drop"))
        cls.raw.append(ScriptServer(cls.net(53), p, "hang"))
        # LMTP on a UNIX socket the mail_owner can reach
        cls.lmtp_sock = os.path.join(cls.top, "lmtp.sock")
        cls.lmtp = Handler()
        c = LmtpController(cls.lmtp, unix_socket=cls.lmtp_sock)
        c.start()
        os.chmod(cls.lmtp_sock, 0o777)
        cls.sinks.append(c)

        f = cls.fake = dnsfake.DnsFake(cls.top, address=cls.net(253))
        f.add("mx.test", "MX", (10, "mx1.mx.test"))
        f.add("mx.test", "MX", (20, "mx2.mx.test"))
        f.add("mx.test", "MX", (30, "mx3.mx.test"))
        f.add("mx1.mx.test", "A", cls.net(21))   # nothing listens
        f.add("mx2.mx.test", "A", cls.net(22))   # 421 greeting
        f.add("mx3.mx.test", "A", cls.net(23))   # accepts
        f.add("down.test", "MX", (10, "mx1.mx.test"))
        f.add("nomx.test", "A", cls.net(1))
        f.add("null.test", "MX", (0, ""))
        f.add("rude.test", "MX", (10, "rude.mx.test"))
        f.add("rude.mx.test", "A", cls.net(24))  # 554 greeting
        f.servfail("broken.test")
        f.add("tls.test", "A", cls.net(31))
        f.add("wrong.test", "A", cls.net(31))
        f.add("plain.test", "A", cls.net(1))
        f.add("authbad.test", "A", cls.net(41))
        f.start()

        cls.write("transport",
                  "relay.test smtp:[%s]:%d\n"
                  "mx.test smtp:mx.test:%d\n"
                  "down.test smtp:down.test:%d\n"
                  "nomx.test smtp:nomx.test:%d\n"
                  "null.test smtp:null.test:%d\n"
                  "broken.test smtp:broken.test:%d\n"
                  "rude.test smtp:rude.test:%d\n"
                  "later.test smtp:[%s]:%d\n"
                  "vok.test smtp:[tls.test]:%d\n"
                  "vbad.test smtp:[wrong.test]:%d\n"
                  "enc.test smtp:[plain.test]:%d\n"
                  "may.test smtp:[%s]:%d\n"
                  "auth.test smtp:[%s]:%d\n"
                  "authbad.test smtp:[authbad.test]:%d\n"
                  "dsn.test smtp:[%s]:%d\n"
                  "drop.test smtp:[%s]:%d\n"
                  "hang.test slow:[%s]:%d\n"
                  "lmtp.test lmtp:unix:%s\n"
                  % (cls.net(1), p, p, p, p, p, p, p, cls.net(2), p, p, p,
                     p, cls.net(31), p, cls.net(41), p, p, cls.net(51), p,
                     cls.net(52), p, cls.net(53), p, cls.lmtp_sock))
        cls.write("generic", "intern@local.test public@example.net\n")
        cls.write("tls_policy",
                  "[tls.test]:%d verify\n"
                  "[wrong.test]:%d verify\n"
                  "[plain.test]:%d encrypt\n" % (p, p, p))
        cls.write("sasl_passwd",
                  "[%s]:%d user:secret\n"
                  "[authbad.test]:%d user:wrong\n" % (cls.net(41), p, p))
        extra = ("transport_maps = texthash:%s/transport\n"
                 "smtp_tls_security_level = may\n"
                 "smtp_tls_policy_maps = texthash:%s/tls_policy\n"
                 "smtp_tls_CAfile = %s\n"
                 "smtp_tls_loglevel = 1\n"
                 "smtp_sasl_auth_enable = yes\n"
                 "smtp_sasl_password_maps = texthash:%s/sasl_passwd\n"
                 "smtp_sasl_security_options = noanonymous\n"
                 "smtp_helo_name = client.example.test\n"
                 "smtp_connect_timeout = 5s\n"
                 "minimal_backoff_time = 300s\n"
                 "maximal_backoff_time = 600s\n"
                 "queue_run_delay = 300s\n"
                 "inet_protocols = ipv4\n"
                 "smtp_generic_maps = texthash:%s/generic\n"
                 "relayhost = [%s]:%d\n"
                 % (cls.top, cls.top, cls.cert, cls.top, cls.top, cls.net(1),
                    p)) + cls.dns_main_cf(f)
        os.makedirs(os.path.join(cls.top, "inst"))
        cls.inst = e2e.Instance(os.path.join(cls.top, "inst"), MASTER_CF,
                                extra)
        cls.inst.start()

    @staticmethod
    def dns_main_cf(fake):
        return fake.main_cf()

    # -- routing and the protocol -------------------------------------

    def test_relay_sent(self):
        """[addr]:port next hop: the message arrives, dot-stuffed lines
        intact, with SIZE and the HELO name; Postfix's status=sent line."""
        body = ("Subject: hello\n\nline one\n.dot line\n..two dots\n"
                "%s\nend\n" % ("x" * 1200))
        self.send(["ok1@relay.test", "ok2@relay.test"], body)
        relay = re.escape("%s[%s]:%d" % (self.net(1), self.net(1),
                                          self.port))
        self.status("ok1@relay.test", relay, "2.0.0", "sent",
                    r"250 2\.0\.0 Ok: queued as SINK\d+")
        self.status("ok2@relay.test", relay, "2.0.0", "sent",
                    r"250 2\.0\.0 Ok: queued as SINK\d+")
        m = self.plain.wait(lambda m: "ok1@relay.test" in m["rcpts"])
        self.assertIsNotNone(m)
        self.assertEqual(m["from"], "snd@relay.test")
        self.assertEqual(sorted(m["rcpts"]), ["ok1@relay.test",
                                              "ok2@relay.test"])
        self.assertEqual(m["helo"], "client.example.test")
        self.assertTrue(any(o.startswith("SIZE=")
                            for o in m["mail_options"]), m["mail_options"])
        data = m["data"].decode()
        self.assertIn("\r\n.dot line\r\n..two dots\r\n", data)
        # smtp_line_length_limit 998: the long line is broken, logged once
        self.assertIn("x" * 998 + "\r\n " + "x" * 202 + "\r\n", data)
        self.expect(r"postfix/smtp\[\d+\]: %s: breaking line > 998 bytes "
                    r"with <CR><LF>SPACE$" % QID)

    def test_rcpt_reject_bounce_and_defer(self):
        """550 to RCPT bounces with the server's words, 450 defers, the
        accepted recipient is delivered; the bounce reaches the sender."""
        # (one message: the notice goes out while tmp1 stays deferred)
        self.send(["rej1@relay.test", "ok3@relay.test", "tmp1@relay.test"],
                  "Subject: mixed\n\nbody\n")
        relay = re.escape("%s[%s]:%d" % (self.net(1), self.net(1),
                                          self.port))
        host = re.escape("%s[%s]" % (self.net(1), self.net(1)))
        self.status("rej1@relay.test", relay, "5.1.1", "bounced",
                    r"host %s said: 550 5\.1\.1 <rej1@relay\.test>: "
                    r"Recipient address rejected: no such user \(in reply "
                    r"to RCPT TO command\)" % host)
        self.status("tmp1@relay.test", relay, "4.2.0", "deferred",
                    r"host %s said: 450 4\.2\.0 <tmp1@relay\.test>: "
                    r"Recipient address rejected: try later \(in reply to "
                    r"RCPT TO command\)" % host)
        self.status("ok3@relay.test", relay, "2.0.0", "sent",
                    r"250 2\.0\.0 Ok: queued as SINK\d+")
        # the non-delivery notice comes back to snd@relay.test
        m = self.plain.wait(lambda m: m["from"] in ("", "<>") and
                            b"rej1@relay.test" in m["data"])
        self.assertIsNotNone(m, "no bounce at the sink: %r\n%s"
                             % ([(x["from"], x["rcpts"])
                                 for x in self.plain.messages],
                                self.inst.log()[-3000:]))
        data = m["data"].decode()
        self.assertIn("Status: 5.1.1\r\nRemote-MTA: dns; %s\r\n"
                      % self.net(1), data)
        # the server's reply as Postfix 3.7 puts it (oracle): "smtp;"
        self.assertIn("Diagnostic-Code: smtp; 550 5.1.1 <rej1@relay.test>: "
                      "Recipient address rejected:\r\n    no such user\r\n",
                      data)

    def test_mx_order_and_failover(self):
        """MX by preference: mx1 refuses the connection, mx2 greets with
        421, mx3 takes the mail."""
        self.send("u1@mx.test", "Subject: mx\n\nbody\n")
        self.expect(r"postfix/smtp\[\d+\]: connect to mx1\.mx\.test\[%s\]:%d:"
                    r" Connection refused$" % (re.escape(self.net(21)),
                                               self.port))
        relay = re.escape("mx3.mx.test[%s]:%d" % (self.net(23), self.port))
        self.status("u1@mx.test", relay, "2.0.0", "sent",
                    r"250 2\.0\.0 Ok: queued as SINK\d+")
        self.assertIsNotNone(self.mx3.wait(lambda m: "u1@mx.test"
                                           in m["rcpts"]))

    def test_mx_all_down_defers(self):
        self.send("u2@down.test", "Subject: down\n\nbody\n")
        self.status("u2@down.test", "none", "4.4.1", "deferred",
                    r"connect to mx1\.mx\.test\[%s\]:%d: Connection refused"
                    % (re.escape(self.net(21)), self.port))

    def test_no_mx_uses_a(self):
        self.send("u3@nomx.test", "Subject: a\n\nbody\n")
        relay = re.escape("nomx.test[%s]:%d" % (self.net(1), self.port))
        self.status("u3@nomx.test", relay, "2.0.0", "sent",
                    r"250 2\.0\.0 Ok: queued as SINK\d+")

    def test_null_mx_bounces(self):
        self.send("u4@null.test", "Subject: null\n\nbody\n")
        self.status("u4@null.test", "none", "5.1.0", "bounced",
                    r"Domain null\.test does not accept mail \(nullMX\)")

    def test_dns_servfail_defers(self):
        self.send("u5@broken.test", "Subject: sf\n\nbody\n")
        self.status("u5@broken.test", "none", "4.4.3", "deferred",
                    r"Host or domain name not found\. Name service error "
                    r"for name=broken\.test type=MX: Host not found, try "
                    r"again")

    def test_5xx_greeting_skipped(self):
        """smtp_skip_5xx_greeting = yes: a 554 greeting defers."""
        self.send("u6@rude.test", "Subject: rude\n\nbody\n")
        relay = re.escape("rude.mx.test[%s]:%d" % (self.net(24), self.port))
        self.status("u6@rude.test", relay, "4.7.1", "deferred",
                    r"host rude\.mx\.test\[%s\] refused to talk to me: 554 "
                    r"5\.7\.1 go away" % re.escape(self.net(24)))

    def test_deferred_then_flushed(self):
        """Nothing listens: deferred; smtp-sink comes up; postqueue -f
        delivers."""
        self.send("u7@later.test", "Subject: later\n\nbody\n")
        self.status("u7@later.test", "none", "4.4.1", "deferred",
                    r"connect to %s\[%s\]:%d: Connection refused"
                    % (re.escape(self.net(2)), re.escape(self.net(2)),
                       self.port))
        sink = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "nobody", "-c",
                                 "%s:%d" % (self.net(2), self.port), "10"],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    socket.create_connection((self.net(2), self.port),
                                             1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                self.fail("smtp-sink did not start")
            r = e2e.run([os.path.join(self.inst.bin, "postqueue"), "-f"],
                        env={"MAIL_CONFIG": self.inst.conf})
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            relay = re.escape("%s[%s]:%d" % (self.net(2), self.net(2),
                                              self.port))
            self.status("u7@later.test", relay, "2.0.0", "sent",
                        r"250 2\.0\.0 Ok", timeout=60)
        finally:
            sink.terminate()
            sink.wait()

    def test_relayhost(self):
        self.send("u20@elsewhere.test", "Subject: rh\n\nbody\n")
        relay = re.escape("%s[%s]:%d" % (self.net(1), self.net(1),
                                          self.port))
        self.status("u20@elsewhere.test", relay, "2.0.0", "sent",
                    r"250 2\.0\.0 Ok: queued as SINK\d+")

    def test_dsn_pipelining_generic(self):
        """DSN parameters pass through, BODY=8BITMIME, MAIL/RCPT/DATA in
        one write, smtp_generic_maps rewrites the envelope sender."""
        self.send(["d1@dsn.test", "d2@dsn.test"],
                  "Subject: dsn\n\nbody\n", sender="intern@local.test",
                  opts=["-N", "success,delay", "-R", "hdrs", "-V",
                        "env+id=1", "-B", "8BITMIME"])
        relay = re.escape("%s[%s]:%d" % (self.net(51), self.net(51),
                                          self.port))
        self.status("d2@dsn.test", relay, "2.0.0", "sent",
                    r"250 2\.0\.0 Ok: queued as SCRIPT")
        chunk = [c for c in self.script.chunks
                 if c and c[0].startswith("MAIL FROM:<public@")]
        self.assertEqual(len(chunk), 1, self.script.chunks)
        mail, r1, r2, data = chunk[0]
        self.assertEqual(mail, "MAIL FROM:<public@example.net> SIZE=%s "
                         "BODY=8BITMIME RET=HDRS ENVID=env+2Bid+3D1"
                         % mail.split("SIZE=")[1].split()[0])
        self.assertEqual(r1, "RCPT TO:<d1@dsn.test> ORCPT=rfc822;d1@dsn.test "
                         "NOTIFY=SUCCESS,DELAY")
        self.assertEqual(r2, "RCPT TO:<d2@dsn.test> ORCPT=rfc822;d2@dsn.test "
                         "NOTIFY=SUCCESS,DELAY")
        self.assertEqual(data, "DATA")

    def test_verify_probe_sends_no_message(self):
        """sendmail -bv: MAIL and RCPT only; status=deliverable."""
        r = e2e.run([os.path.join(self.inst.bin, "sendmail"), "-bv",
                     "-f", "snd@relay.test", "probe@dsn.test"],
                    env={"MAIL_CONFIG": self.inst.conf})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        relay = re.escape("%s[%s]:%d" % (self.net(51), self.net(51),
                                          self.port))
        self.status("probe@dsn.test", relay, "2.0.0", "deliverable",
                    r"250 2\.0\.0 Ok")
        rc = [c for c in self.script.chunks if "RCPT TO:<probe@dsn.test>"
              in " ".join(c)]
        self.assertTrue(rc, self.script.chunks)
        self.assertNotIn("DATA", rc[0])

    def test_lost_connection_after_data(self):
        self.send("u21@drop.test", "Subject: drop\n\nbody\n")
        relay = re.escape("%s[%s]:%d" % (self.net(52), self.net(52),
                                          self.port))
        self.status("u21@drop.test", relay, "4.4.2", "deferred",
                    r"lost connection with %s\[%s\] while sending end of "
                    r"data -- message may be sent more than once"
                    % (re.escape(self.net(52)), re.escape(self.net(52))))

    def test_timeout_after_data(self):
        """smtp_data_done_timeout (2s for the slow service)."""
        self.send("u22@hang.test", "Subject: hang\n\nbody\n")
        relay = re.escape("%s[%s]:%d" % (self.net(53), self.net(53),
                                          self.port))
        self.status("u22@hang.test", relay, "4.4.2", "deferred",
                    r"conversation with %s\[%s\] timed out while sending "
                    r"end of data -- message may be sent more than once"
                    % (re.escape(self.net(53)), re.escape(self.net(53))))

    # -- TLS ----------------------------------------------------------

    def test_tls_verify_ok(self):
        self.send("u8@vok.test", "Subject: tls\n\nbody\n")
        relay = re.escape("tls.test[%s]:%d" % (self.net(31), self.port))
        self.expect(r"postfix/smtp\[\d+\]: Verified TLS connection "
                    r"established to %s: TLSv1\.[23] with cipher \S+"
                    % relay)
        self.status("u8@vok.test", relay, "2.0.0", "sent",
                    r"250 2\.0\.0 Ok: queued as SINK\d+")
        m = self.tls.wait(lambda m: "u8@vok.test" in m["rcpts"])
        self.assertTrue(m["tls"])

    def test_tls_verify_wrong_name(self):
        self.send("u9@vbad.test", "Subject: tls\n\nbody\n")
        relay = re.escape("wrong.test[%s]:%d" % (self.net(31), self.port))
        # Postfix 3.7: the failure, then "Untrusted", then the deferral
        self.expect(r"postfix/smtp\[\d+\]: server certificate verification "
                    r"failed for %s: num=62:hostname mismatch\n.*"
                    r"postfix/smtp\[\d+\]: Untrusted TLS connection "
                    r"established to %s: TLSv1\.[23] with cipher" % (relay, relay))
        self.status("u9@vbad.test", relay, "4.7.5", "deferred",
                    r"Server certificate not verified")

    def test_tls_encrypt_refuses_plain(self):
        self.send("u10@enc.test", "Subject: tls\n\nbody\n")
        relay = re.escape("plain.test[%s]:%d" % (self.net(1), self.port))
        self.status("u10@enc.test", relay, "4.7.4", "deferred",
                    r"TLS is required, but was not offered by host "
                    r"plain\.test\[%s\]" % re.escape(self.net(1)))

    def test_tls_may(self):
        """may: TLS when offered (untrusted name: no match), plain when
        not (relay.test above)."""
        self.send("u11@may.test", "Subject: tls\n\nbody\n")
        relay = re.escape("%s[%s]:%d" % (self.net(31), self.net(31),
                                          self.port))
        self.expect(r"postfix/smtp\[\d+\]: Trusted TLS connection "
                    r"established to %s: TLSv1\.[23]" % relay)
        self.status("u11@may.test", relay, "2.0.0", "sent",
                    r"250 2\.0\.0 Ok: queued as SINK\d+")

    # -- SASL ---------------------------------------------------------

    def test_sasl_plain(self):
        self.send("u12@auth.test", "Subject: auth\n\nbody\n")
        relay = re.escape("%s[%s]:%d" % (self.net(41), self.net(41),
                                          self.port))
        self.status("u12@auth.test", relay, "2.0.0", "sent",
                    r"250 2\.0\.0 Ok: queued as SINK\d+")
        m = self.auth.wait(lambda m: "u12@auth.test" in m["rcpts"])
        self.assertTrue(m["auth"])

    def test_sasl_bad_password(self):
        self.send("u13@authbad.test", "Subject: auth\n\nbody\n")
        relay = re.escape("authbad.test[%s]:%d" % (self.net(41), self.port))
        # the server's 5.7.8, soft (smtp_sasl_auth_soft_bounce = yes)
        self.status("u13@authbad.test", relay, "4.7.8", "deferred",
                    r"SASL authentication failed; server authbad\.test\[%s\]"
                    r" said: 535 5\.7\.8 Authentication credentials invalid"
                    % re.escape(self.net(41)))

    # -- LMTP ---------------------------------------------------------

    def test_lmtp_unix(self):
        self.send(["a@lmtp.test", "rej2@lmtp.test"],
                  "Subject: lmtp\n\nbody\n")
        relay = re.escape("mx.example.test[%s]" % self.lmtp_sock)
        self.status("a@lmtp.test", relay, "2.0.0", "sent",
                    r"250 2\.0\.0 Ok: queued as SINK\d+")
        self.status("rej2@lmtp.test", relay, "5.1.1", "bounced",
                    r"host %s said: 550 5\.1\.1 <rej2@lmtp\.test>: "
                    r"Recipient address rejected: no such user \(in reply "
                    r"to RCPT TO command\)" % relay)
        self.assertIsNotNone(self.lmtp.wait(lambda m: "a@lmtp.test"
                                            in m["rcpts"]))


if __name__ == "__main__":
    unittest.main()
