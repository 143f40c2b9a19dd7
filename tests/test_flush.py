"""The fast flush service end to end: mail deferred for a fast_flush_domains
destination is listed in flush/SITE, and ETRN, postqueue -s and
postqueue -i deliver it at once (not at the next queue run).  Replies,
exit statuses and messages are Postfix 3.7's, as observed from Debian's
Postfix run from a private configuration.
"""
import os
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

import e2e

MASTER_CF = e2e.master_cf("cleanup", "qmgr", "rewrite", "bounce", "defer",
                          "trace", "flush", "error", "retry", "discard",
                          "postlog") + """\
127.0.0.1:PORT inet n   -       n       -       -       smtpd
"""

DOMAINS = ("example.net", "example.org", "unlisted.test")


def attrs(pairs):
    """Our attribute list encoding (lib/mail/attr.h)."""
    out = b""
    for name, value in pairs:
        out += name.encode() + b"\0" + value.encode() + b"\0"
    return out + b"\0"


class FlushTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for rel in ("master/master", "smtpd/smtpd", "flush/flush",
                    "qmgr/qmgr", "discard/discard", "error/error"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        cls.top = tempfile.mkdtemp(prefix="postern-flush-")
        os.chmod(cls.top, 0o755)
        cls.port = e2e.free_port()
        try:
            inst = os.path.join(cls.top, "inst")
            os.makedirs(inst)
            extra = ("smtpd_error_sleep_time = 0s\n"
                     "mydestination =\nmynetworks = 127.0.0.0/8\n"
                     "alias_maps =\nlocal_recipient_maps =\n"
                     "fast_flush_domains = example.net, example.org, "
                     "evil.net\n"
                     "queue_run_delay = 3600s\n"
                     "minimal_backoff_time = 3600s\n"
                     "maximal_backoff_time = 7200s\n"
                     "transport_maps = texthash:%s/etc/transport\n" % inst)
            cls.inst = e2e.Instance(
                inst, MASTER_CF.replace("PORT", str(cls.port)), extra)
            cls.set_transport("retry:4.4.1 try again later")
            cls.inst.start()
        except BaseException:
            shutil.rmtree(cls.top, ignore_errors=True)
            raise
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", cls.port), 1).close()
                break
            except OSError:
                time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        cls.inst.stop()
        shutil.rmtree(cls.top, ignore_errors=True)

    @classmethod
    def set_transport(cls, action):
        cls.inst.write("transport", "".join("%s %s\n" % (d, action)
                                            for d in DOMAINS))

    # helpers

    def expect(self, pattern, timeout=30):
        m = self.inst.wait_log(pattern, timeout)
        self.assertIsNotNone(m, "no log line /%s/ in:\n%s"
                             % (pattern, self.inst.log()[-4000:]))
        return m

    def send(self, rcpt):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as c:
            c.ehlo("client.example")
            c.mail("sender@example.com")
            c.rcpt(rcpt)
            code, text = c.data(b"Subject: flush\r\n\r\nhello\r\n")
        self.assertEqual(code, 250)
        return re.search(r"queued as (\w+)", text.decode()).group(1)

    def etrn(self, *args):
        s = socket.create_connection(("127.0.0.1", self.port), 30)
        s.settimeout(30)
        f = s.makefile("rb")
        f.readline()
        out = []
        for a in ("EHLO client.example",) + args + ("QUIT",):
            s.sendall(a.encode() + b"\r\n")
            while True:
                line = f.readline().decode().rstrip("\r\n")
                if line[3:4] != "-":
                    break
            out.append(line)
        s.close()
        return out[1:-1]

    def postqueue(self, *args):
        env = dict(os.environ, MAIL_CONFIG=self.inst.conf)
        return subprocess.run([e2e.prog("postqueue")] + list(args),
                              capture_output=True, text=True, env=env,
                              timeout=60)

    def logfile(self, name):
        path = os.path.join(self.inst.queue, "flush", name)
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return f.read()

    def listed(self, name, qid, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if qid in (self.logfile(name) or ""):
                return
            time.sleep(0.1)
        self.fail("%s not in flush/%s: %r" % (qid, name, self.logfile(name)))

    def flush_request(self, pairs):
        """One raw request to public/flush; the status it answers."""
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(30)
        s.connect(os.path.join(self.inst.queue, "public", "flush"))
        f = s.makefile("rb")
        data = b""
        while not data.endswith(b"\0\0"):
            data += f.read(1)
        self.assertEqual(data, b"protocol\0flush_protocol\0\0")
        s.sendall(attrs(pairs))
        data = b""
        while not data.endswith(b"\0\0"):
            b = f.read(1)
            self.assertTrue(b, "connection closed: %r" % data)
            data += b
        s.close()
        name, value = data.split(b"\0")[:2]
        self.assertEqual(name, b"status")
        return int(value)

    # tests

    def test_flush(self):
        net = self.send("user@example.net")
        org = self.send("user@Example.ORG")
        other = self.send("user@unlisted.test")
        for qid, rcpt in ((net, "user@example.net"),
                          (org, "user@Example.ORG"),
                          (other, "user@unlisted.test")):
            self.expect(r"%s: to=<%s>, relay=none, .*status=deferred "
                        r"\(try again later\)" % (qid, re.escape(rcpt)))
        # One queue ID per line, one logfile per listed destination,
        # named as Postfix names them.
        self.listed("example_net", net)
        self.listed("example_org", org)
        self.assertEqual(self.logfile("example_net"), net + "\n")
        self.assertIsNone(self.logfile("unlisted_test"))

        self.set_transport("discard:delivered")
        self.assertEqual(self.inst.postfix("reload").returncode, 0)
        self.expect(r"reload -- version")
        time.sleep(1)  # let the restarted daemons come up

        # ETRN: an unlisted domain, bad syntax, then the real thing.
        self.assertEqual(
            self.etrn("ETRN unlisted.test", "ETRN [1.2.3.4]",
                      "ETRN -example.net", "ETRN !example.net",
                      "ETRN example.net."),
            ["459 <unlisted.test>: service unavailable",
             "459 <[1.2.3.4]>: service unavailable",
             "501 Error: invalid parameter syntax",
             "501 Error: invalid parameter syntax",
             "501 Error: invalid parameter syntax"])
        self.expect(r"warning: reject: ETRN unlisted\.test\.\.\. from "
                    r"localhost\[127\.0\.0\.1\]")
        self.assertEqual(self.etrn("MAIL FROM:<a@b.example>",
                                   "ETRN example.net"),
                         ["250 2.1.0 Ok",
                          "503 Error: MAIL transaction in progress"])
        self.assertEqual(self.etrn("ETRN #Example.NET"),
                         ["250 Queuing started"])
        self.expect(r"%s: to=<user@example\.net>, relay=none, .*"
                    r"status=sent \(delivered\)" % net)
        self.assertEqual(self.logfile("example_net"), "")
        self.assertNotRegex(self.inst.log(), r"%s: to=.*status=sent" % org)

        # postqueue -s: the same through the command line.
        r = self.postqueue("-s", "unlisted.test")
        self.assertEqual((r.returncode, r.stderr),
                         (69, "postqueue: fatal: Flush service is not "
                          "configured for destination \"unlisted.test\"\n"))
        r = self.postqueue("-s", "a/b")
        self.assertEqual((r.returncode, r.stderr),
                         (69, "postqueue: fatal: Cannot flush mail queue - "
                          "invalid destination: \"a/b\"\n"))
        r = self.postqueue("-s", "example.org")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))
        self.expect(r"%s: to=<user@Example\.ORG>, relay=none, .*"
                    r"status=sent \(delivered\)" % org)
        self.assertNotRegex(self.inst.log(), r"%s: to=.*status=sent" % other)

        # postqueue -i: one message, whatever its destination.
        r = self.postqueue("-i", "junk/x")
        self.assertEqual((r.returncode, r.stderr),
                         (69, "postqueue: fatal: Cannot flush queue ID - "
                          "invalid name: \"junk/x\"\n"))
        r = self.postqueue("-i", "A" * 300)
        self.assertEqual(r.returncode, 69)
        self.assertTrue(r.stderr.endswith("A...\"\n"), r.stderr)
        r = self.postqueue("-i", "ABCDEF_no_such")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        r = self.postqueue("-i", other)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))
        self.expect(r"%s: to=<user@unlisted\.test>, relay=none, .*"
                    r"status=sent \(delivered\)" % other)
        self.assertNotRegex(self.inst.log(),
                            r"flush\[\d+\]: (warning|error|fatal)")

    def test_protocol(self):
        flush = os.path.join(self.inst.queue, "flush")
        # Requests the service refuses, and a listed one it takes.
        self.assertEqual(self.flush_request(
            [("request", "send_site"), ("site", "a/b")]), 3)
        self.assertEqual(self.flush_request(
            [("request", "add"), ("site", "example.net"),
             ("queue_id", "../x")]), 3)
        self.assertEqual(self.flush_request(
            [("request", "add"), ("site", "unlisted.test"),
             ("queue_id", "ABCDEF123")]), 4)
        self.assertEqual(self.flush_request(
            [("request", "send_file"), ("queue_id", "ABC/DEF")]), 3)
        self.assertEqual(self.flush_request([("request", "bogus")]), 3)
        self.expect(r"flush\[\d+\]: warning: unrecognized request: "
                    r"\"bogus\"")
        self.assertEqual(self.flush_request(
            [("request", "add"), ("site", "sub.example.org"),
             ("queue_id", "ABCDEF123")]), 0)
        self.listed("sub_example_org", "ABCDEF123")
        # A logfile that is a symbolic link is not followed.
        target = os.path.join(self.top, "target")
        with open(target, "w") as f:
            f.write("keep\n")
        os.symlink(target, os.path.join(flush, "evil_net"))
        self.assertEqual(self.flush_request(
            [("request", "add"), ("site", "evil.net"),
             ("queue_id", "ABCDEF124")]), -1)
        self.expect(r"flush\[\d+\]: warning: open logfile flush/evil_net: ")
        with open(target) as f:
            self.assertEqual(f.read(), "keep\n")
        os.unlink(os.path.join(flush, "evil_net"))
        # purge refreshes every logfile: listed mail not in deferred/ is
        # dropped from it; refresh and master's wakeup byte are taken too.
        self.assertEqual(self.flush_request([("request", "purge")]), 0)
        deadline = time.time() + 30
        while (self.logfile("sub_example_org") != ""
               and time.time() < deadline):
            time.sleep(0.1)
        self.assertEqual(self.logfile("sub_example_org"), "")
        self.assertEqual(self.flush_request([("request", "refresh")]), 0)
        s = socket.socket(socket.AF_UNIX)
        s.connect(os.path.join(self.inst.queue, "public", "flush"))
        s.sendall(b"W")
        s.close()
        time.sleep(1)
        self.assertNotRegex(self.inst.log(), r"malformed or missing request")


if __name__ == "__main__":
    unittest.main()
