"""The smtp and lmtp clients: the routing knobs and protocol limits that
tests/test_smtp.py does not cover, each against a real server on loopback
(aiosmtpd sinks, a scripted ESMTP server, MX records from tests/dnsfake.py).

Replies and log lines are Debian's Postfix 3.7.11's, observed with the same
servers: "message size N exceeds size limit L of server H[A]" (5.3.4),
"SMTPUTF8 is required, but was not offered by host H[A]" (5.6.7),
"discarding EHLO keywords: PIPELINING SIZE", relay=::1[::1]:P for an IPv6
next hop, relay=A[A]:P for lmtp:inet:A:P, and for a server below
smtp_tls_mandatory_protocols "Cannot start TLS: handshake failure" (4.7.5).
"""
import os
import re
import socket
import ssl
import unittest

import dnsfake
import e2e
import smtpsink
import test_smtp

MASTER_CF = test_smtp.MASTER_CF + """\
disc      unix  -       -       n       -       -       smtp
  -o smtp_discard_ehlo_keywords=pipelining,size
limit     unix  -       -       n       -       -       smtp
  -o smtp_mx_address_limit=2
fb        unix  -       -       n       -       -       smtp
  -o smtp_fallback_relay=[FALLBACK]:PORT
native    unix  -       -       n       -       -       smtp
  -o smtp_host_lookup=native
mand      unix  -       -       n       -       -       smtp
  -o smtp_tls_security_level=encrypt
  -o smtp_tls_mandatory_protocols=>=TLSv1.3
mand12    unix  -       -       n       -       -       smtp
  -o smtp_tls_security_level=encrypt
sdauth    unix  -       -       n       -       -       smtp
  -o smtp_sender_dependent_authentication=yes
sess3     unix  -       -       n       -       -       smtp
  -o smtp_mx_session_limit=3
v6pref    unix  -       -       n       -       -       smtp
  -o smtp_address_preference=ipv6
v4pref    unix  -       -       n       -       -       smtp
  -o smtp_address_preference=ipv4
nodns     unix  -       -       n       -       -       smtp
  -o disable_dns_lookups=yes
bind      unix  -       -       n       -       -       smtp
  -o smtp_bind_address=[BINDADDR]
bindbad   unix  -       -       n       -       -       smtp
  -o smtp_bind_address=192.0.2.1
bindenf   unix  -       -       n       -       -       smtp
  -o smtp_bind_address=192.0.2.1 -o smtp_bind_address_enforce=yes
bindjunk  unix  -       -       n       -       -       smtp
  -o smtp_bind_address=junk
"""


class BusyHandler(smtpsink.Handler):
    """Completes EHLO, then answers MAIL with 451."""

    async def handle_MAIL(self, server, session, envelope, address,
                          mail_options):
        return "451 4.3.0 <%s>: Sender address rejected: busy" % address


class LmtpInet(smtpsink.Controller):
    def factory(self):
        return smtpsink.LMTP(self.handler)


class RoutesTest(smtpsink.SinkTest):
    """One instance; a next-hop domain per case (transport_maps)."""

    PREFIX = "postern-smtp-routes-"
    NEEDS = smtpsink.SinkTest.NEEDS + ("smtp/lmtp",)
    BASE_OFFSET = 50  # a 127.0.X net apart from test_smtp's and DANE's

    @classmethod
    def script(cls, host, port, ehlo):
        s = smtpsink.ScriptServer(host, port)
        s.EHLO = ehlo
        cls.raw.append(s)
        return s

    @classmethod
    def setup_all(cls):
        p = cls.port = e2e.free_port()
        cls.cert, key = cls.make_cert()
        cls.plain = cls.sink(cls.net(1), p)
        cls.fallback = cls.sink(cls.net(5), p)
        cls.small = cls.script(cls.net(51), p,
                               "250-small.test\r\n250-PIPELINING\r\n"
                               "250-SIZE 1000\r\n250 8BITMIME\r\n")
        cls.ascii = cls.script(cls.net(52), p,
                               "250-ascii.test\r\n250-PIPELINING\r\n"
                               "250-SIZE 100000\r\n250 8BITMIME\r\n")
        cls.lmtp = cls.sink(cls.net(6), p, ctl=LmtpInet)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cls.cert, key)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        cls.tls12 = cls.sink(cls.net(31), p, tls_context=ctx)
        cls.auth = cls.sink(cls.net(41), p,
                            authenticator=smtpsink.authenticator,
                            auth_require_tls=False)
        # MX hosts that answer MAIL with 451, or greet with 421
        for host in (61, 62):
            cls.sink(cls.net(host), p, handler=BusyHandler())
        for host in (71, 72):
            cls.raw.append(smtpsink.RawServer(cls.net(host), p,
                                              "421 4.3.2 busy"))
        # [localhost] through the system's resolver (/etc/hosts)
        cls.local_port = e2e.free_port()
        cls.localhost = cls.sink("127.0.0.1", cls.local_port)
        # [::1] when this machine has IPv6 loopback
        cls.v6 = None
        try:
            with socket.socket(socket.AF_INET6) as s:
                s.bind(("::1", 0))
            cls.v6_port = e2e.free_port()
            cls.v6 = cls.sink("::1", cls.v6_port)
        except OSError:
            pass

        f = cls.fake = dnsfake.DnsFake(cls.top, address=cls.net(253))
        for i, host in enumerate(("mx1", "mx2", "mx3")):
            f.add("lim.test", "MX", (10 * (i + 1), host + ".lim.test"))
        f.add("mx1.lim.test", "A", cls.net(21))  # nothing listens
        f.add("mx2.lim.test", "A", cls.net(22))  # nothing listens
        f.add("mx3.lim.test", "A", cls.net(1))   # accepts
        f.add("fbdown.test", "MX", (10, "mx1.lim.test"))
        for name, hosts in (("mail451.test", (61, 62, 1)),
                            ("greet421.test", (71, 72, 1))):
            for i, host in enumerate(hosts):
                mx = "h%d.%s" % (i + 1, name)
                f.add(name, "MX", (10 * (i + 1), mx))
                f.add(mx, "A", cls.net(host))
        if cls.v6:
            f.add("dual6.test", "A", cls.net(21))  # nothing listens
            f.add("dual6.test", "AAAA", "::1")
            f.add("dual4.test", "A", cls.net(23))  # nothing listens
            f.add("dual4.test", "AAAA", "::1")
        f.add("tls.test", "A", cls.net(31))
        f.add("auth.test", "A", cls.net(41))
        f.start()

        transport = {
            "big.test": "smtp:[%s]:%d" % (cls.net(51), p),
            "utf.test": "smtp:[%s]:%d" % (cls.net(52), p),
            "disc.test": "disc:[%s]:%d" % (cls.net(52), p),
            "lim.test": "limit:lim.test:%d" % p,
            "full.test": "smtp:lim.test:%d" % p,
            "fbdown.test": "fb:fbdown.test:%d" % p,
            "native.test": "native:[localhost]:%d" % cls.local_port,
            "dnsonly.test": "smtp:[localhost]:%d" % cls.local_port,
            "li.test": "lmtp:inet:%s:%d" % (cls.net(6), p),
            "mand.test": "mand:[tls.test]:%d" % p,
            "mand12.test": "mand12:[tls.test]:%d" % p,
            "sd.test": "sdauth:[auth.test]:%d" % p,
            "nosd.test": "smtp:[auth.test]:%d" % p,
        }
        transport.update({
            "mail451.test": "smtp:mail451.test:%d" % p,
            "mail451b.test": "sess3:mail451.test:%d" % p,
            "greet421.test": "smtp:greet421.test:%d" % p,
            "nodns.test": "nodns:localhost:%d" % cls.local_port,
            "bind.test": "bind:[%s]:%d" % (cls.net(1), p),
            "bindbad.test": "bindbad:[%s]:%d" % (cls.net(1), p),
            "bindenf.test": "bindenf:[%s]:%d" % (cls.net(1), p),
            "bindjunk.test": "bindjunk:[%s]:%d" % (cls.net(1), p),
        })
        if cls.v6:
            transport["v6.test"] = "smtp:[::1]:%d" % cls.v6_port
            transport["dual6.test"] = "v6pref:dual6.test:%d" % cls.v6_port
            transport["dual4.test"] = "v4pref:dual4.test:%d" % cls.v6_port
        cls.write("transport", "".join("%s %s\n" % kv
                                       for kv in transport.items()))
        # per sender first (smtp_sender_dependent_authentication), then
        # per next hop: the next-hop entry has the wrong password
        cls.write("sasl_passwd",
                  "good@src.test user:secret\n"
                  "[auth.test]:%d user:wrong\n" % p)
        extra = ("transport_maps = texthash:%s/transport\n"
                 "smtp_sasl_auth_enable = yes\n"
                 "smtp_sasl_password_maps = texthash:%s/sasl_passwd\n"
                 "smtp_sasl_security_options = noanonymous\n"
                 "smtp_tls_CAfile = %s\n"
                 "smtp_tls_loglevel = 1\n"
                 "smtp_connect_timeout = 5s\n"
                 "smtp_connection_cache_on_demand = no\n"
                 "minimal_backoff_time = 300s\n"
                 "maximal_backoff_time = 600s\n"
                 "queue_run_delay = 300s\n"
                 "inet_protocols = %s\n"
                 % (cls.top, cls.top, cls.cert,
                    "all" if cls.v6 else "ipv4")) + f.main_cf()
        master = MASTER_CF.replace("FALLBACK", cls.net(5)).replace(
            "PORT", str(p)).replace("BINDADDR", cls.net(9))
        os.makedirs(os.path.join(cls.top, "inst"))
        cls.inst = e2e.Instance(os.path.join(cls.top, "inst"), master, extra)
        cls.inst.start()

    def relay(self, host, addr, port=None):
        return re.escape("%s[%s]:%d" % (host, addr, port or self.port))

    # -- source address (observed with Postfix 3.7) ---------------------

    def test_bind_address(self):
        """smtp_bind_address: the server sees that source address."""
        self.send("u20@bind.test", "Subject: bind\n\nbody\n")
        self.status("u20@bind.test", self.relay(self.net(1), self.net(1)),
                    "2.0.0", "sent", r"250 2\.0\.0 Ok: queued as SINK\d+")
        m = self.plain.wait(lambda m: "u20@bind.test" in m["rcpts"])
        self.assertEqual(m["peer"][0], self.net(9))

    def test_bind_address_unusable(self):
        """An address of no interface here: a warning, and delivery goes
        on from any address; with smtp_bind_address_enforce it defers."""
        self.send("u21@bindbad.test", "Subject: bindbad\n\nbody\n")
        self.status("u21@bindbad.test", self.relay(self.net(1), self.net(1)),
                    "2.0.0", "sent", r"250 2\.0\.0 Ok: queued as SINK\d+")
        self.expect(r"postfix/smtp\[\d+\]: warning: smtp_connect_addr: "
                    r"bind 192\.0\.2\.1: Cannot assign requested address$")
        self.send("u22@bindenf.test", "Subject: bindenf\n\nbody\n")
        self.status("u22@bindenf.test", "none", "4.4.0", "deferred",
                    r"server configuration error")
        self.expect(r"postfix/smtp\[\d+\]: server configuration error$")
        self.assertIsNone(self.plain.wait(
            lambda m: "u22@bindenf.test" in m["rcpts"], timeout=1))

    def test_bind_address_malformed(self):
        self.send("u23@bindjunk.test", "Subject: bindjunk\n\nbody\n")
        self.expect(r"postfix/smtp\[\d+\]: fatal: smtp_connect_addr: bad "
                    r"smtp_bind_address parameter: junk: Name or service "
                    r"not known$")

    # -- protocol limits ------------------------------------------------

    def test_size_limit_bounces(self):
        """The server's SIZE is below the message: bounced before MAIL."""
        self.send("u1@big.test", "Subject: big\n\n" + ("x" * 70 + "\n") * 80)
        m = self.status("u1@big.test", self.relay(self.net(51), self.net(51)),
                        "5.3.4", "bounced",
                        r"message size (\d+) exceeds size limit 1000 of "
                        r"server %s\[%s\]" % (re.escape(self.net(51)),
                                              re.escape(self.net(51))))
        self.assertGreater(int(m.group(1)), 5600)
        self.assertFalse(any(line.startswith("MAIL")
                             for chunk in self.small.chunks
                             for line in chunk), self.small.chunks)

    def test_smtputf8_required(self):
        """A UTF-8 sender needs SMTPUTF8, which this server lacks."""
        self.send("u2@utf.test", "Subject: utf\n\nbody\n",
                  sender="\u00fc@src.test")
        self.status("u2@utf.test", self.relay(self.net(52), self.net(52)),
                    "5.6.7", "bounced",
                    r"SMTPUTF8 is required, but was not offered by host "
                    r"%s\[%s\]" % (re.escape(self.net(52)),
                                   re.escape(self.net(52))))

    def test_discard_ehlo_keywords(self):
        """PIPELINING and SIZE discarded: no SIZE=, one command a write."""
        before = len(self.ascii.chunks)
        self.send("u3@disc.test", "Subject: disc\n\nbody\n")
        self.status("u3@disc.test", self.relay(self.net(52), self.net(52)),
                    "2.0.0", "sent", r"250 2\.0\.0 Ok: queued as SCRIPT")
        self.expect(r"postfix/smtp\[\d+\]: discarding EHLO keywords: "
                    r"PIPELINING SIZE$")
        chunks = self.ascii.chunks[before:]
        mail = [line for c in chunks for line in c if line.startswith("MAIL")]
        self.assertEqual(mail, ["MAIL FROM:<snd@relay.test>"], chunks)
        self.assertTrue(all(len(c) == 1 for c in chunks), chunks)

    # -- routing --------------------------------------------------------

    def test_mx_address_limit(self):
        """smtp_mx_address_limit = 2: the third MX host is never tried."""
        self.send("u4@lim.test", "Subject: limit\n\nbody\n")
        self.status("u4@lim.test", "none", "4.4.1", "deferred",
                    r"connect to mx2\.lim\.test\[%s\]:%d: Connection "
                    r"refused" % (re.escape(self.net(22)), self.port))
        self.assertIsNone(self.plain.wait(
            lambda m: "u4@lim.test" in m["rcpts"], timeout=1))
        # without the limit the same destination gets through
        self.send("u5@full.test", "Subject: full\n\nbody\n")
        self.status("u5@full.test", self.relay("mx3.lim.test", self.net(1)),
                    "2.0.0", "sent", r"250 2\.0\.0 Ok: queued as SINK\d+")

    def test_fallback_relay(self):
        """Every MX host down: smtp_fallback_relay takes the mail."""
        self.send("u6@fbdown.test", "Subject: fb\n\nbody\n")
        self.status("u6@fbdown.test", self.relay(self.net(5), self.net(5)),
                    "2.0.0", "sent", r"250 2\.0\.0 Ok: queued as SINK\d+")
        self.assertIsNotNone(self.fallback.wait(
            lambda m: "u6@fbdown.test" in m["rcpts"]))

    def test_host_lookup_native(self):
        """smtp_host_lookup = native finds localhost in /etc/hosts; DNS
        (the fake) does not know it."""
        self.send("u7@native.test", "Subject: native\n\nbody\n")
        self.status("u7@native.test",
                    self.relay("localhost", "127.0.0.1", self.local_port),
                    "2.0.0", "sent", r"250 2\.0\.0 Ok: queued as SINK\d+")
        self.send("u8@dnsonly.test", "Subject: dns\n\nbody\n")
        self.status("u8@dnsonly.test", "none", "5.4.4", "bounced",
                    r"Host or domain name not found\. Name service error "
                    r"for name=localhost type=A+: Host not found")

    def test_mx_session_limit(self):
        """Two sessions (the default) that get through EHLO and fail: the
        third MX host is not tried; with a limit of 3 it is."""
        self.send("u16@mail451.test", "Subject: s\n\nbody\n")
        self.status("u16@mail451.test",
                    self.relay("h2.mail451.test", self.net(62)), "4.3.0",
                    "deferred",
                    r"host h2\.mail451\.test\[%s\] said: 451 4\.3\.0 "
                    r"<snd@relay\.test>: Sender address rejected: busy \(in "
                    r"reply to MAIL FROM command\)" % re.escape(self.net(62)))
        self.send("u17@mail451b.test", "Subject: s\n\nbody\n")
        self.status("u17@mail451b.test",
                    self.relay("h3.mail451.test", self.net(1)), "2.0.0",
                    "sent", r"250 2\.0\.0 Ok: queued as SINK\d+")

    def test_greeting_failures_do_not_count(self):
        """Sessions that fail before EHLO completes are not counted by
        smtp_mx_session_limit (2): the third host gets the mail."""
        self.send("u18@greet421.test", "Subject: g\n\nbody\n")
        self.status("u18@greet421.test",
                    self.relay("h3.greet421.test", self.net(1)), "2.0.0",
                    "sent", r"250 2\.0\.0 Ok: queued as SINK\d+")

    def test_disable_dns_lookups(self):
        """localhost:port (an MX lookup with DNS) resolved from
        /etc/hosts when DNS lookups are disabled."""
        self.send("u19@nodns.test", "Subject: nodns\n\nbody\n")
        self.status("u19@nodns.test",
                    self.relay("localhost", "127.0.0.1", self.local_port),
                    "2.0.0", "sent", r"250 2\.0\.0 Ok: queued as SINK\d+")

    def test_address_preference(self):
        if not self.v6:
            self.skipTest("SKIPPED LOUDLY: no IPv6 loopback")
        self.send("u20@dual6.test", "Subject: v6\n\nbody\n")
        self.status("u20@dual6.test", self.relay("dual6.test", "::1",
                                                 self.v6_port),
                    "2.0.0", "sent", r"250 2\.0\.0 Ok: queued as SINK\d+")
        self.assertNotIn("connect to dual6.test[", self.inst.log())
        self.send("u21@dual4.test", "Subject: v4\n\nbody\n")
        self.expect(r"postfix/smtp\[\d+\]: connect to dual4\.test\[%s\]:%d: "
                    r"Connection refused$" % (re.escape(self.net(23)),
                                              self.v6_port))
        self.status("u21@dual4.test", self.relay("dual4.test", "::1",
                                                 self.v6_port),
                    "2.0.0", "sent", r"250 2\.0\.0 Ok: queued as SINK\d+")

    def test_ipv6_literal(self):
        if not self.v6:
            self.skipTest("SKIPPED LOUDLY: no IPv6 loopback")
        self.send("u9@v6.test", "Subject: v6\n\nbody\n")
        self.status("u9@v6.test", self.relay("::1", "::1", self.v6_port),
                    "2.0.0", "sent", r"250 2\.0\.0 Ok: queued as SINK\d+")

    def test_lmtp_inet(self):
        self.send("u10@li.test", "Subject: lmtp\n\nbody\n")
        self.status("u10@li.test", self.relay(self.net(6), self.net(6)),
                    "2.0.0", "sent", r"250 2\.0\.0 Ok: queued as SINK\d+")
        self.assertIsNotNone(self.lmtp.wait(
            lambda m: "u10@li.test" in m["rcpts"]))

    # -- TLS and SASL ---------------------------------------------------

    def test_mandatory_protocols(self):
        """encrypt with >=TLSv1.3 against a TLSv1.2 server defers; the
        same level with the default protocols gets through."""
        self.send("u11@mand.test", "Subject: mand\n\nbody\n")
        self.status("u11@mand.test", self.relay("tls.test", self.net(31)),
                    "4.7.5", "deferred",
                    r"Cannot start TLS: handshake failure")
        # the server hangs up on the client's hello: no library warning
        self.expect(r"postfix/smtp\[\d+\]: SSL_connect error to tls\.test"
                    r"\[%s\]:%d: lost connection$"
                    % (re.escape(self.net(31)), self.port))
        self.assertNotIn("TLS library problem", self.inst.log())
        self.send("u12@mand12.test", "Subject: mand\n\nbody\n")
        self.status("u12@mand12.test", self.relay("tls.test", self.net(31)),
                    "2.0.0", "sent", r"250 2\.0\.0 Ok: queued as SINK\d+")
        self.expect(r"Trusted TLS connection established to tls\.test\[%s"
                    r"\]:%d: TLSv1\.2 with cipher "
                    % (re.escape(self.net(31)), self.port))
        m = self.tls12.wait(lambda m: "u12@mand12.test" in m["rcpts"])
        self.assertTrue(m and m["tls"])
        self.assertIsNone(self.tls12.wait(
            lambda m: "u11@mand.test" in m["rcpts"], timeout=1))

    def test_sender_dependent_authentication(self):
        """The sender's entry wins over the next hop's; other senders get
        the next hop's (wrong) password."""
        self.send("u13@sd.test", "Subject: sd\n\nbody\n",
                  sender="good@src.test")
        self.status("u13@sd.test", self.relay("auth.test", self.net(41)),
                    "2.0.0", "sent", r"250 2\.0\.0 Ok: queued as SINK\d+")
        m = self.auth.wait(lambda m: "u13@sd.test" in m["rcpts"])
        self.assertTrue(m and m["auth"])
        self.send("u14@sd.test", "Subject: sd\n\nbody\n",
                  sender="other@src.test")
        self.status("u14@sd.test", self.relay("auth.test", self.net(41)),
                    "4.7.8", "deferred",
                    r"SASL authentication failed; server auth\.test\[%s\] "
                    r"said: 535 5\.7\.8 Authentication credentials invalid"
                    % re.escape(self.net(41)))
        # without sender-dependent lookups the sender's entry is not used
        self.send("u15@nosd.test", "Subject: sd\n\nbody\n",
                  sender="good@src.test")
        self.status("u15@nosd.test", self.relay("auth.test", self.net(41)),
                    "4.7.8", "deferred",
                    r"SASL authentication failed; server auth\.test\[%s\] "
                    r"said: 535 5\.7\.8 Authentication credentials invalid"
                    % re.escape(self.net(41)))


if __name__ == "__main__":
    unittest.main()
