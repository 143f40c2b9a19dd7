"""The smtp client's DANE levels (RFC 7672) end to end: sendmail ->
pickup -> cleanup -> qmgr -> smtp -> an aiosmtpd TLS sink on loopback,
with MX, A and TLSA records (and the AD bit, per name) from
tests/dnsfake.py; smtp_dns_support_level = dnssec,
smtp_tls_security_level = dane, a second smtp service with dane-only.

Log lines pinned from Debian's Postfix 3.7 against the same fake DNS:
"Verified TLS connection established to mx.good.test[A]:P: ...",
"server certificate verification failed for H[A]:P: num=65:no matching
DANE TLSA records", "status=deferred (Server certificate not verified)",
"Trusted TLS connection" for a match via an MX RRset without AD,
"warning: _P._tcp.H unsupported TLSA certificate usage: 0 1 1 HEX",
"warning: DANE TLSA lookup problem: ...", "relay=none, ... dsn=4.7.5,
status=deferred (TLSA lookup error for H:P)", "warning: DEST: dane
configured with dnssec lookups disabled", dane-only: "warning: TLS
policy lookup for DEST/HOST: REASON" and "relay=none, ... status=deferred
(REASON)". DANE-TA is tested with a CA-issued chain on a second sink.
"""
import hashlib
import os
import re
import ssl
import subprocess
import unittest

import e2e
import dnsfake
import smtpsink
import test_smtp

MASTER_CF = test_smtp.MASTER_CF + """\
donly     unix  -       -       n       -       -       smtp
  -o smtp_tls_security_level=dane-only
nosec     unix  -       -       n       -       -       smtp
  -o smtp_dns_support_level=enabled
nosecon   unix  -       -       n       -       -       smtp
  -o smtp_dns_support_level=enabled -o smtp_tls_security_level=dane-only
"""



class SmtpDaneTest(smtpsink.SinkTest):
    PREFIX = "postern-dane-"
    BASE_OFFSET = 100
    SENDER = "snd@client.test"

    @classmethod
    def setup_all(cls):
        cls.cert = os.path.join(cls.top, "cert.pem")
        cls.key = os.path.join(cls.top, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", cls.key, "-out", cls.cert,
                        "-days", "2", "-subj", "/CN=sink.invalid"],
                       check=True, capture_output=True)
        os.chmod(cls.key, 0o644)
        pub = subprocess.run(["openssl", "x509", "-in", cls.cert, "-pubkey",
                              "-noout"], check=True,
                             capture_output=True).stdout
        spki = subprocess.run(["openssl", "pkey", "-pubin", "-outform",
                               "DER"], input=pub, check=True,
                              capture_output=True).stdout
        with open(cls.cert) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        spki256 = hashlib.sha256(spki).hexdigest()
        cls.spki256 = spki256

        # a CA and a server certificate it issued (mx.ta.test), for DANE-TA
        ca, cakey = cls.path("ca.pem"), cls.path("cakey.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", cakey, "-out", ca, "-days", "2",
                        "-subj", "/CN=Test DANE CA"],
                       check=True, capture_output=True)
        leaf, leafkey = cls.path("leaf.pem"), cls.path("leafkey.pem")
        subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", leafkey, "-out", cls.path("leaf.csr"),
                        "-subj", "/CN=mx.ta.test"],
                       check=True, capture_output=True)
        with open(cls.path("ext"), "w") as fh:
            fh.write("subjectAltName=DNS:mx.ta.test\n")
        subprocess.run(["openssl", "x509", "-req", "-in", cls.path("leaf.csr"),
                        "-CA", ca, "-CAkey", cakey, "-CAcreateserial",
                        "-out", leaf, "-days", "2", "-extfile",
                        cls.path("ext")], check=True, capture_output=True)
        with open(cls.path("chain.pem"), "w") as fh:
            fh.write(open(leaf).read() + open(ca).read())
        os.chmod(leafkey, 0o644)
        capub = subprocess.run(["openssl", "x509", "-in", ca, "-pubkey",
                                "-noout"], check=True,
                               capture_output=True).stdout
        caspki = subprocess.run(["openssl", "pkey", "-pubin", "-outform",
                                 "DER"], input=capub, check=True,
                                capture_output=True).stdout
        ca256 = hashlib.sha256(caspki).hexdigest()

        cls.port = p = e2e.free_port()
        ctx2 = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx2.load_cert_chain(cls.path("chain.pem"), leafkey)
        cls.tls2 = cls.sink(cls.net(32), p, tls_context=ctx2)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cls.cert, cls.key)
        cls.tls = cls.sink(cls.net(31), p, tls_context=ctx)

        f = cls.fake = dnsfake.DnsFake(cls.top, address=cls.net(253))
        f.ad = True
        tlsa = {
            "good": [(3, 1, 1, spki256)],
            "full": [(3, 0, 1, hashlib.sha256(der).hexdigest()),
                     (3, 1, 2, "00" * 64)],
            "bad": [(3, 1, 1, "00" * 32)],
            "none": [],
            "unus": [(0, 1, 1, spki256)],
            "insec": [(3, 1, 1, spki256)],
            "insbad": [(3, 1, 1, "00" * 32)],
            "hins": [(3, 1, 1, spki256)],
            "fail": [],
            "donly": [],
            "donlyok": [(3, 1, 1, spki256)],
            "donlyins": [(3, 1, 1, spki256)],
            "ta": [(2, 1, 1, ca256)],
            "tawrong": [(2, 1, 1, ca256)],
        }
        trans = []
        for d, recs in tlsa.items():
            f.add(d + ".test", "MX", (10, "mx.%s.test" % d))
            f.add("mx.%s.test" % d, "A",
                  cls.net(32 if d.startswith("ta") else 31))
            for r in recs:
                f.add("_%d._tcp.mx.%s.test" % (p, d), "TLSA", r)
            svc = "donly" if d.startswith("donly") else "smtp"
            trans.append("%s.test %s:%s.test:%d\n" % (d, svc, d, p))
        trans.append("ns.test nosec:good.test:%d\n"
                     "nson.test nosecon:good.test:%d\n" % (p, p))
        f.insecure("insec.test")          # MX RRset without AD
        f.insecure("insbad.test")
        f.insecure("mx.hins.test")        # the server's A without AD
        f.insecure("donlyins.test")
        f.servfail("_%d._tcp.mx.fail.test" % p)
        f.start()
        with open(os.path.join(cls.top, "transport"), "w") as fh:
            fh.write("".join(trans))
        extra = ("transport_maps = texthash:%s/transport\n"
                 "smtp_tls_security_level = dane\n"
                 "smtp_dns_support_level = dnssec\n"
                 "smtp_tls_loglevel = 1\n"
                 "smtp_connect_timeout = 5s\n"
                 "minimal_backoff_time = 300s\n"
                 "maximal_backoff_time = 600s\n"
                 "queue_run_delay = 300s\n"
                 "inet_protocols = ipv4\n"
                 % cls.top) + f.main_cf()
        os.makedirs(os.path.join(cls.top, "inst"))
        cls.inst = e2e.Instance(os.path.join(cls.top, "inst"), MASTER_CF,
                                extra)
        cls.inst.start()

    @classmethod
    def path(cls, name):
        return os.path.join(cls.top, name)

    def send(self, rcpt):
        super().send(rcpt, "Subject: dane\n\nbody\n")

    def relay(self, d):
        return re.escape("mx.%s.test[%s]:%d"
                         % (d, self.net(32 if d.startswith("ta") else 31),
                            self.port))

    def sent(self, d, trust):
        rcpt = "u@%s.test" % d
        self.send(rcpt)
        self.expect(r"postfix/smtp\[\d+\]: %s TLS connection established "
                    r"to %s: TLSv1\.[23] with cipher \S+"
                    % (trust, self.relay(d)))
        self.status(rcpt, self.relay(d), "2.0.0", "sent",
                    r"250 2\.0\.0 Ok: queued as SINK\d+")
        sink = self.tls2 if d.startswith("ta") else self.tls
        m = sink.wait(lambda m: rcpt in m["rcpts"])
        self.assertTrue(m and m["tls"])

    def not_verified(self, d):
        rcpt = "u@%s.test" % d
        self.send(rcpt)
        relay = self.relay(d)
        self.expect(r"postfix/smtp\[\d+\]: server certificate verification "
                    r"failed for %s: num=65:no matching DANE TLSA records\n"
                    r".*postfix/smtp\[\d+\]: Untrusted TLS connection "
                    r"established to %s: TLSv1\.[23]" % (relay, relay))
        self.status(rcpt, relay, "4.7.5", "deferred",
                    r"Server certificate not verified")

    # -- dane ---------------------------------------------------------

    def test_dane_ee_spki_verified(self):
        """3 1 1 with the sink's key digest: Verified, no name check (the
        certificate names sink.invalid)."""
        self.sent("good", "Verified")
        self.assertIn(("_%d._tcp.mx.good.test" % self.port, "TLSA"),
                      self.fake.queries)

    def test_dane_ee_full_cert_verified(self):
        """3 0 1 of the whole certificate; a non-matching sha512 record
        beside it does not hurt."""
        self.sent("full", "Verified")

    def test_dane_ta_verified(self):
        """2 1 1 of the issuing CA's key: the chain and the name (the
        TLSA base domain mx.ta.test) must match."""
        self.sent("ta", "Verified")

    def test_dane_ta_wrong_name_deferred(self):
        """The same CA, but the certificate names neither mx.tawrong.test
        nor tawrong.test."""
        rcpt = "u@tawrong.test"
        self.send(rcpt)
        relay = self.relay("tawrong")
        self.expect(r"postfix/smtp\[\d+\]: server certificate verification "
                    r"failed for %s: num=\d+:.*\n"
                    r".*postfix/smtp\[\d+\]: Untrusted TLS connection "
                    r"established to %s: TLSv1\.[23]" % (relay, relay))
        self.status(rcpt, relay, "4.7.5", "deferred",
                    r"Server certificate not verified")

    def test_dane_wrong_digest_deferred(self):
        self.not_verified("bad")

    def test_no_tlsa_opportunistic(self):
        """No TLSA records: "may", TLS without authentication."""
        self.sent("none", "Untrusted")

    def test_unusable_tlsa_encrypt(self):
        """Only PKIX-TA records: a warning, then TLS without
        authentication (encrypt)."""
        self.send("u@unus.test")
        self.expect(r"postfix/smtp\[\d+\]: warning: _%d\._tcp\.mx\.unus\."
                    r"test unsupported TLSA certificate usage: 0 1 1 %s$"
                    % (self.port, self.spki256.upper()))
        self.expect(r"Untrusted TLS connection established to %s"
                    % self.relay("unus"))
        self.status("u@unus.test", self.relay("unus"), "2.0.0", "sent",
                    r"250 2\.0\.0 Ok: queued as SINK\d+")

    def test_insecure_mx_half_dane(self):
        """MX RRset without AD: smtp_tls_dane_insecure_mx_policy = dane
        (the default with dane): a match is only "Trusted"; a mismatch
        defers."""
        self.sent("insec", "Trusted")
        self.not_verified("insbad")

    def test_insecure_host_address_may(self):
        """The server's A record without AD: no TLSA lookup, "may"."""
        self.sent("hins", "Untrusted")
        self.assertNotIn(("_%d._tcp.mx.hins.test" % self.port, "TLSA"),
                         self.fake.queries)

    def test_tlsa_lookup_failure_defers(self):
        self.send("u@fail.test")
        self.expect(r"postfix/smtp\[\d+\]: warning: DANE TLSA lookup "
                    r"problem: Host or domain name not found\. Name service "
                    r"error for name=_%d\._tcp\.mx\.fail\.test type=TLSA: "
                    r"Host not found, try again" % self.port)
        self.expect(r"postfix/smtp\[\d+\]: warning: TLS policy lookup for "
                    r"fail\.test:%d/mx\.fail\.test: TLSA lookup error for "
                    r"mx\.fail\.test:%d" % (self.port, self.port))
        self.status("u@fail.test", "none", "4.7.5", "deferred",
                    r"TLSA lookup error for mx\.fail\.test:%d" % self.port)

    def test_dane_without_dnssec_may(self):
        """smtp_dns_support_level = enabled: a warning, then "may"."""
        self.send("u@ns.test")
        self.expect(r"postfix/smtp\[\d+\]: warning: good\.test:%d: dane "
                    r"configured with dnssec lookups disabled$" % self.port)
        self.expect(r"Untrusted TLS connection established to %s"
                    % self.relay("good"))
        self.status("u@ns.test", self.relay("good"), "2.0.0", "sent",
                    r"250 2\.0\.0 Ok: queued as SINK\d+")

    # -- dane-only ----------------------------------------------------

    def test_dane_only_without_dnssec_deferred(self):
        self.send("u@nson.test")
        self.expect(r"postfix/smtp\[\d+\]: warning: good\.test:%d: "
                    r"dane-only configured with dnssec lookups disabled\n"
                    r".*postfix/smtp\[\d+\]: warning: TLS policy lookup "
                    r"for good\.test:%d/mx\.good\.test: client TLS "
                    r"configuration problem$" % (self.port, self.port))
        self.status("u@nson.test", "none", "4.7.5", "deferred",
                    r"client TLS configuration problem")

    def test_dane_only_without_tlsa_deferred(self):
        self.send("u@donly.test")
        self.expect(r"postfix/smtp\[\d+\]: warning: TLS policy lookup for "
                    r"donly\.test:%d/mx\.donly\.test: no TLSA records "
                    r"found$" % self.port)
        self.status("u@donly.test", "none", "4.7.5", "deferred",
                    r"no TLSA records found")

    def test_dane_only_insecure_mx_deferred(self):
        self.send("u@donlyins.test")
        self.status("u@donlyins.test", "none", "4.7.5", "deferred",
                    r"non DNSSEC destination")

    def test_dane_only_with_tlsa_verified(self):
        self.sent("donlyok", "Verified")


if __name__ == "__main__":
    unittest.main()
