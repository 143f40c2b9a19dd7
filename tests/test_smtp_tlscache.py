"""The smtp client's TLS session cache through tlsmgr, end to end:
sendmail -> qmgr -> smtp -> an aiosmtpd TLS sink on loopback that tells
whether each session was resumed (the server's SSL_session_reused).

Pinned from Postfix 3.7 (smtp_tls_loglevel = 2): smtp logs "looking for
session ID in smtp cache", "reloaded session ID from smtp cache", "H[A]:P:
Reusing old session", "save session ID to smtp cache"; tlsmgr logs "open
smtp TLS cache btree:PATH", "lookup smtp session id=ID", "put smtp session
id=ID [data N bytes]", "write/read smtp TLS cache entry ID: time=T [data N
bytes]"; the id looks like "smtp&[127.0.0.1]:20026&127.0.0.1&127.0.0.1&&
SHA256HEX".  A resumed session still logs "Verified/Untrusted TLS
connection established".  tlsmgr unreachable: "warning: connect to
private/tlsmgr: Connection refused", "warning: problem talking to server
private/tlsmgr: Connection refused" (Postfix then drops TLS for want of
entropy; Postern only goes without the cache).
"""
import os
import pwd
import re
import socket
import ssl
import stat
import threading
import time
import unittest

import e2e
import smtpsink

MASTER_CF = e2e.master_cf("pickup", "cleanup", "qmgr", "tlsmgr", "rewrite",
                          "bounce", "defer", "trace", "error", "smtp",
                          "postlog") + """\
nocache   unix  -       -       n       -       -       smtp
  -o smtp_tls_session_cache_database=
oneuse    unix  -       -       n       -       -       smtp
  -o max_use=1
vfy       unix  -       -       n       -       -       smtp
  -o smtp_tls_security_level=secure
  -o smtp_tls_secure_cert_match=tls.test
nomgr     unix  -       -       n       -       -       smtp
  -o tlsmgr_service_name=nosuch
"""

QID = smtpsink.QID


class Handler:
    """Records each message with whether its TLS session was resumed."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        so = session.ssl.get("ssl_object") if session.ssl else None
        with self.lock:
            self.messages.append({
                "rcpts": list(envelope.rcpt_tos),
                "tls": so is not None,
                "reused": bool(so is not None and so.session_reused),
            })
        return "250 2.0.0 Ok: queued"

    def wait(self, rcpt, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                for m in self.messages:
                    if rcpt in m["rcpts"]:
                        return m
            time.sleep(0.1)
        raise AssertionError("no message for %s" % rcpt)


def attr_list(pairs):
    out = b""
    for k, v in pairs:
        out += k.encode() + b"\0" + v.encode() + b"\0"
    return out + b"\0"


class TlsCacheTest(smtpsink.SinkTest):
    PREFIX = "postern-tlscache-"
    NEEDS = ("master/master", "qmgr/qmgr", "smtp/smtp", "tlsmgr/tlsmgr",
             "sendmail/sendmail")
    DNS = False
    SENDER = "snd@example.test"

    @classmethod
    def setup_all(cls):
        cls.host = cls.net(31)
        cert, key = cls.make_cert()
        cls.port = e2e.free_port()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        cls.server = cls.sink(cls.host, cls.port, handler=Handler(),
                              tls_context=ctx)
        dest = "[%s]:%d" % (cls.host, cls.port)
        with open(os.path.join(cls.top, "transport"), "w") as f:
            for svc in ("smtp", "nocache", "oneuse", "vfy", "nomgr"):
                f.write("%s.test %s:%s\n" % (svc, svc, dest))
        extra = ("transport_maps = texthash:%s/transport\n"
                 "smtp_tls_security_level = may\n"
                 "smtp_tls_CAfile = %s\n"
                 "smtp_tls_loglevel = 2\n"
                 "smtp_tls_session_cache_database = "
                 "btree:${data_directory}/smtp_scache\n"
                 "smtp_connection_cache_on_demand = no\n"
                 "lmtp_tls_session_cache_database = "
                 "btree:${data_directory}/nosuchdir/lmtp_scache\n"
                 "smtp_connect_timeout = 5s\n"
                 "queue_run_delay = 300s\n"
                 "minimal_backoff_time = 300s\n"
                 "maximal_backoff_time = 600s\n" % (cls.top, cert))
        os.makedirs(os.path.join(cls.top, "inst"))
        cls.inst = e2e.Instance(os.path.join(cls.top, "inst"), MASTER_CF,
                                extra)
        cls.inst.start()

    def send(self, rcpt):
        super().send(rcpt, "Subject: tls cache\n\nbody\n")

    def expect(self, pattern, timeout=60):
        return super().expect(pattern, timeout)

    def deliver(self, rcpt):
        """Send one message; wait for the sink and the sent status."""
        self.send(rcpt)
        m = self.server.wait(rcpt)
        st = self.expect(r"postfix/(\w+)\[(\d+)\]: %s: to=<%s>, relay=\S+, "
                         r".*status=sent" % (QID, re.escape(rcpt)))
        self.assertTrue(m["tls"])
        return m, int(st.group(2))

    def session_id(self, service):
        ids = re.findall(r"looking for session (%s&\S+) in smtp cache"
                         % re.escape(service), self.inst.log())
        self.assertTrue(ids, self.inst.log()[-4000:])
        return ids[-1]

    def tlsmgr_request(self, data):
        """Send raw bytes to tlsmgr; the reply bytes (b"" when closed)."""
        path = os.path.join(self.inst.queue, "private", "tlsmgr")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(path)
        greeting = b""
        while not greeting.endswith(b"\0\0"):
            chunk = s.recv(4096)
            if not chunk:
                break
            greeting += chunk
        self.assertIn(b"protocol\0tlsmgr_protocol\0", greeting)
        s.sendall(data)
        reply = b""
        try:
            while not reply.endswith(b"\0\0"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
        except OSError:
            pass
        s.close()
        return reply

    # -- tests ---------------------------------------------------------

    def test_1_second_delivery_resumes(self):
        first, _ = self.deliver("a1@smtp.test")
        second, _ = self.deliver("a2@smtp.test")
        self.assertFalse(first["reused"])
        self.assertTrue(second["reused"])
        relay = re.escape("%s[%s]:%d" % (self.host, self.host, self.port))
        sid = re.escape("smtp&[%s]:%d&%s&%s&&" % (self.host, self.port,
                                                  self.host, self.host))
        self.expect(r"postfix/tlsmgr\[\d+\]: open smtp TLS cache "
                    r"btree:%s/smtp_scache$" % re.escape(self.inst.data))
        self.expect(r"postfix/smtp\[\d+\]: looking for session %s[0-9A-F]{64}"
                    r" in smtp cache$" % sid)
        self.expect(r"postfix/tlsmgr\[\d+\]: put smtp session id=%s"
                    r"[0-9A-F]{64} \[data \d+ bytes\]$" % sid)
        self.expect(r"postfix/tlsmgr\[\d+\]: write smtp TLS cache entry "
                    r"%s[0-9A-F]{64}: time=\d+ \[data \d+ bytes\]$" % sid)
        self.expect(r"postfix/tlsmgr\[\d+\]: read smtp TLS cache entry "
                    r"%s[0-9A-F]{64}: time=\d+ \[data \d+ bytes\]$" % sid)
        self.expect(r"postfix/smtp\[\d+\]: reloaded session %s[0-9A-F]{64} "
                    r"from smtp cache$" % sid)
        self.expect(r"postfix/smtp\[\d+\]: %s: Reusing old session\n"
                    r"(?:.*\n)*?.*postfix/smtp\[\d+\]: Trusted TLS connection "
                    r"established to %s: TLSv1\.[23] with cipher" % (relay,
                                                                      relay))
        # the database, as Postfix makes it: mail_owner's, mode 0600
        db = os.path.join(self.inst.data, "smtp_scache.db")
        st = os.stat(db)
        self.assertEqual(pwd.getpwuid(st.st_uid).pw_name, "postfix")
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)

    def test_2_without_database_no_resumption(self):
        self.deliver("b1@nocache.test")
        m, _ = self.deliver("b2@nocache.test")
        self.assertFalse(m["reused"])
        self.assertNotRegex(self.inst.log(),
                            r"looking for session nocache&")

    def test_3_other_process_resumes(self):
        """max_use=1: each delivery is a new smtp process."""
        self.deliver("c1@oneuse.test")
        _, pid1 = self.deliver("c2@oneuse.test")
        m, pid2 = self.deliver("c3@oneuse.test")
        self.assertNotEqual(pid1, pid2)
        self.assertTrue(m["reused"])

    def test_4_verified_resumed_stays_verified(self):
        self.deliver("d1@vfy.test")
        m, _ = self.deliver("d2@vfy.test")
        self.assertTrue(m["reused"])
        relay = re.escape("%s[%s]:%d" % (self.host, self.host, self.port))
        verified = re.findall(r"postfix/smtp\[\d+\]: Verified TLS connection "
                              r"established to %s: " % relay,
                              self.inst.log())
        self.assertGreaterEqual(len(verified), 2)

    def test_5_garbage_entry_still_delivers(self):
        self.deliver("e1@smtp.test")
        sid = self.session_id("smtp")
        reply = self.tlsmgr_request(attr_list([
            ("request", "update"), ("cache_type", "smtp"),
            ("cache_id", sid), ("session", "DEADBEEF" * 8)]))
        self.assertIn(b"status\x000\x00", reply)
        m, _ = self.deliver("e2@smtp.test")
        self.assertFalse(m["reused"])
        self.expect(r"postfix/smtp\[\d+\]: warning: malformed session %s in "
                    r"smtp cache: ignored$" % re.escape(sid))
        # the good session replaced the garbage
        m, _ = self.deliver("e3@smtp.test")
        self.assertTrue(m["reused"])

    def test_6_bad_requests_are_warnings(self):
        self.assertEqual(self.tlsmgr_request(b"garbage\x01\x02\0x\0\0"), b"")
        self.expect(r"postfix/tlsmgr\[\d+\]: warning: malformed request: not "
                    r"an attribute list, or a value longer than 32768 bytes")
        big = attr_list([("request", "update"), ("cache_type", "smtp"),
                         ("cache_id", "x"), ("session", "AB" * 20000)])
        self.assertEqual(self.tlsmgr_request(big), b"")
        reply = self.tlsmgr_request(attr_list([
            ("request", "update"), ("cache_type", "smtp"),
            ("cache_id", "x"), ("session", "not hex")]))
        self.assertEqual(reply, b"")
        self.expect(r"postfix/tlsmgr\[\d+\]: warning: malformed smtp session "
                    r"update for x: the session is missing or not hex")
        reply = self.tlsmgr_request(attr_list([
            ("request", "lookup"), ("cache_type", "nosuch"),
            ("cache_id", "x")]))
        self.assertIn(b"status\x00-2\x00", reply)
        # a type without a database: a miss
        reply = self.tlsmgr_request(attr_list([
            ("request", "lookup"), ("cache_type", "lmtp"),
            ("cache_id", "x")]))
        self.assertIn(b"status\x00-1\x00", reply)
        # tlsmgr is still there and still caches
        self.deliver("f1@smtp.test")
        m, _ = self.deliver("f2@smtp.test")
        self.assertTrue(m["reused"])

    def test_8_unopenable_database_is_a_warning(self):
        path = os.path.join(self.inst.data, "nosuchdir", "lmtp_scache")
        self.expect(r"postfix/tlsmgr\[\d+\]: warning: cannot open lmtp TLS "
                    r"session cache btree:%s: open database %s\.db: No such "
                    r"file or directory; continuing without session caching$"
                    % (re.escape(path), re.escape(path)))
        reply = self.tlsmgr_request(attr_list([
            ("request", "lookup"), ("cache_type", "lmtp"),
            ("cache_id", "x")]))
        self.assertIn(b"status\x00-1\x00", reply)

    def test_7_no_tlsmgr_still_delivers(self):
        m, _ = self.deliver("g1@nomgr.test")
        self.assertFalse(m["reused"])
        self.expect(r"postfix/smtp\[\d+\]: warning: connect to private/nosuch:"
                    r" No such file or directory\n.*postfix/smtp\[\d+\]: "
                    r"warning: problem talking to server private/nosuch: No "
                    r"such file or directory$")


if __name__ == "__main__":
    unittest.main()
