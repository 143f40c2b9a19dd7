"""Connection reuse end to end: smtp processes hand idle connections to the
scache service and take them back, so N messages to one destination go
over fewer than N connections (counted by the sink), the delivery lines
say "relay=H[A]:P, conn_use=N, delay=..." (Postfix 3.7's place for it),
smtp_connection_reuse_count_limit is honoured, nothing is reused where
caching is off, and scache logs Postfix's statistics lines.  Routing and
caching per service through transport_maps and master.cf -o overrides.
"""
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import unittest

import e2e

MASTER_CF = e2e.master_cf("pickup", "cleanup", "qmgr", "rewrite", "bounce",
                          "defer", "trace", "showq", "error", "smtp",
                          "postlog") + """\
reuse1    unix  -       -       n       -       -       smtp
  -o smtp_connection_reuse_count_limit=1
nocache   unix  -       -       n       -       -       smtp
  -o smtp_connection_cache_destinations=
  -o smtp_connection_cache_on_demand=no
scache    unix  -       -       n       -       1       scache
"""

QID = r"[0-9A-F]{6,}"


class Sink:
    """A plain ESMTP server that counts the connections it accepted and the
    messages it took; it never closes a connection first."""

    def __init__(self, host, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.connections = 0
        self.messages = 0
        self.lock = threading.Lock()
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self.serve, args=(c,),
                             daemon=True).start()

    def serve(self, c):
        buf = b""
        in_data = False
        try:
            c.sendall(b"220 sink.test ESMTP\r\n")
            while True:
                got = c.recv(65536)
                if not got:
                    return
                buf += got
                while b"\r\n" in buf:
                    line, buf = buf.split(b"\r\n", 1)
                    if in_data:
                        if line == b".":
                            in_data = False
                            with self.lock:
                                self.messages += 1
                                n = self.messages
                            c.sendall(b"250 2.0.0 Ok: queued as S%d\r\n" % n)
                        continue
                    verb = line[:4].upper()
                    if verb == b"EHLO":
                        c.sendall(b"250-sink.test\r\n250-PIPELINING\r\n"
                                  b"250 8BITMIME\r\n")
                    elif verb == b"DATA":
                        in_data = True
                        c.sendall(b"354 go ahead\r\n")
                    elif verb == b"QUIT":
                        c.sendall(b"221 bye\r\n")
                        return
                    else:
                        c.sendall(b"250 2.0.0 Ok\r\n")
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self.sock.close()


class ScacheTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for rel in ("master/master", "qmgr/qmgr", "smtp/smtp",
                    "scache/scache", "sendmail/sendmail"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        cls.top = tempfile.mkdtemp(prefix="postern-scache-")
        os.chmod(cls.top, 0o755)
        cls.sinks = {}
        try:
            cls.setup_all()
        except BaseException:
            cls.cleanup()
            raise

    @classmethod
    def setup_all(cls):
        base = os.getpid() % 200 + 20
        cls.base = base
        p = cls.port = e2e.free_port()
        for n in (1, 2, 3):
            cls.sinks[n] = Sink(cls.net(n), p)
        with open(os.path.join(cls.top, "transport"), "w") as f:
            f.write("listed.test smtp:[%s]:%d\n"
                    "count.test reuse1:[%s]:%d\n"
                    "off.test nocache:[%s]:%d\n"
                    "demand.test smtp:[%s]:%d\n"
                    % (cls.net(1), p, cls.net(2), p, cls.net(3), p,
                       cls.net(4), p))
        extra = ("transport_maps = texthash:%s/transport\n"
                 "smtp_connection_cache_destinations = %s, %s, %s\n"
                 "smtp_connection_cache_time_limit = 10s\n"
                 "connection_cache_ttl_limit = 10s\n"
                 "connection_cache_status_update_time = 1s\n"
                 "smtp_destination_concurrency_limit = 1\n"
                 "reuse1_destination_concurrency_limit = 1\n"
                 "nocache_destination_concurrency_limit = 1\n"
                 "inet_protocols = ipv4\n"
                 "queue_run_delay = 300s\n"
                 % (cls.top, cls.net(1), cls.net(2), cls.net(3)))
        os.makedirs(os.path.join(cls.top, "inst"))
        cls.inst = e2e.Instance(os.path.join(cls.top, "inst"), MASTER_CF,
                                extra)
        cls.inst.start()

    @classmethod
    def net(cls, host):
        return "127.0.%d.%d" % (cls.base, host)

    @classmethod
    def cleanup(cls):
        if getattr(cls, "inst", None):
            cls.inst.stop()
        for s in cls.sinks.values():
            s.stop()
        shutil.rmtree(cls.top, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.cleanup()

    def send(self, rcpt, n):
        r = e2e.run([os.path.join(self.inst.bin, "sendmail"), "-f",
                     "snd@example.test", "--", rcpt],
                    input="Subject: m%d\n\nbody %d\n" % (n, n),
                    env={"MAIL_CONFIG": self.inst.conf})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def sent_lines(self, rcpt, count, timeout=60):
        pat = (r"postfix/(?:smtp|reuse1|nocache)\[\d+\]: %s: to=<%s>, "
               r"relay=[^,]+, (?:conn_use=\d+, )?delay=[\d.]+, "
               r"delays=[\d./]+, dsn=2\.0\.0, status=sent \(250 .*\)$"
               % (QID, re.escape(rcpt)))
        deadline = time.time() + timeout
        while True:
            lines = re.findall(pat, self.inst.log(), re.M)
            if len(lines) >= count or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(len(lines), count, self.inst.log()[-4000:])
        return [m.group(0) for m in re.finditer(pat, self.inst.log(), re.M)]

    def test_listed_destination_reuses(self):
        for i in range(4):
            self.send("u@listed.test", i)
            # one at a time: each delivery may take the last one's socket
            self.sent_lines("u@listed.test", i + 1)
        sink = self.sinks[1]
        self.assertEqual(sink.messages, 4)
        self.assertLess(sink.connections, 4)
        log = self.inst.log()
        relay = re.escape("%s[%s]:%d" % (self.net(1), self.net(1),
                                         self.port))
        self.assertRegex(log, r"to=<u@listed\.test>, relay=%s, conn_use=2, "
                         r"delay=" % relay)
        m = self.inst.wait_log(
            r"postfix/scache\[\d+\]: statistics: start interval "
            r"\w{3} [ \d]\d \d\d:\d\d:\d\d\n"
            r".*postfix/scache\[\d+\]: statistics: (?:domain|address) "
            r"lookup hits=\d+ miss=\d+ success=\d+%", timeout=15)
        self.assertIsNotNone(m, log[-3000:])
        self.assertRegex(self.inst.log(),
                         r"statistics: max simultaneous domains=\d+ "
                         r"addresses=\d+ connection=\d+")
        self.assertNotRegex(self.inst.log(),
                            r"postfix/(?:smtp|reuse1|scache)\[\d+\]: "
                            r"(?:warning|fatal|panic)")

    def test_reuse_count_limit(self):
        for i in range(4):
            self.send("u@count.test", i)
            self.sent_lines("u@count.test", i + 1)
        lines = self.sent_lines("u@count.test", 4)
        # a limit of 1: each connection is used at most twice
        self.assertTrue(any("conn_use=2," in l for l in lines), lines)
        self.assertFalse(any("conn_use=3," in l for l in lines), lines)
        self.assertEqual(self.sinks[2].connections, 2)

    def test_on_demand_with_backlog(self):
        """Not listed: qmgr asks for caching when mail waits (here: four
        deferred messages flushed at once, concurrency 1)."""
        for i in range(4):
            self.send("u@demand.test", i)
        deadline = time.time() + 60
        while (len(re.findall(r"to=<u@demand\.test>.*status=deferred",
                              self.inst.log())) < 4
               and time.time() < deadline):
            time.sleep(0.2)
        sink = self.sinks[4] = Sink(self.net(4), self.port)
        r = e2e.run([os.path.join(self.inst.bin, "postqueue"), "-f"],
                    env={"MAIL_CONFIG": self.inst.conf})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = self.sent_lines("u@demand.test", 4)
        self.assertEqual(sink.messages, 4)
        self.assertLess(sink.connections, 4, lines)
        self.assertTrue(any("conn_use=2," in l for l in lines), lines)

    def test_no_reuse_when_off(self):
        for i in range(3):
            self.send("u@off.test", i)
            self.sent_lines("u@off.test", i + 1)
        lines = self.sent_lines("u@off.test", 3)
        self.assertFalse(any("conn_use=" in l for l in lines), lines)
        self.assertEqual(self.sinks[3].connections, 3)


if __name__ == "__main__":
    unittest.main()
