"""qmgr end to end, with trivial-rewrite, the error/retry/discard agents
and a delivery agent that dies mid-request (tests/fixtures/dieagent).

Queue files are written into the queue with tests/qfile.py before the
instance starts (qmgr scans incoming/ at start) or while it runs (then a
wakeup goes to public/qmgr).  Checked: Postfix's log lines, where each
message ends up (gone, deferred/ with the next-try time, corrupt/), the
bounce/ and defer/ logs, and that recovered active/ files and recipients
of a crashed agent are delivered or deferred, never lost.
"""
import os
import re
import socket
import time
import unittest

import e2e
import qfile

MASTER_CF = (
    "postlog   unix-dgram n  -       n       -       1       postlogd\n"
    "rewrite   unix  -       -       n       -       -       trivial-rewrite\n"
    "qmgr      unix  n       -       n       300     1       qmgr\n"
    "error     unix  -       -       n       -       -       error\n"
    "retry     unix  -       -       n       -       -       error\n"
    "discard   unix  -       -       n       -       -       discard\n"
    "crash     unix  -       -       n       -       -       dieagent\n"
    "crash1    unix  -       -       n       -       -       dieagent\n"
    "crash2    unix  -       -       n       -       -       dieagent\n"
    "local     unix  -       n       n       -       -       local\n")

TRANSPORT = (
    "discard.test   discard:\n"
    "error.test     error:5.1.1 no such user here\n"
    "error2.test    error:\n"
    "retry.test     retry:4.4.1 try again later\n"
    "crash.test     crash:\n"
    "crash1.test    crash1:\n"
    "crash2.test    crash2:\n"
    "held.test      held:\n")

QID_CHARS = "0123456789ABCDEF"


def now_arrival():
    t = time.time()
    return "%d %d" % (int(t), int((t % 1) * 1000000))


class QmgrTest(e2e.TempDirTest):
    counter = 0

    def setUp(self):
        super().setUp()
        self.inst = e2e.Instance(
            self.dir, MASTER_CF,
            "mydestination = localhost\n"
            "transport_maps = texthash:%s/etc/transport\n"
            "defer_transports = held\n"
            "alias_maps = hash:%s/etc/aliases\n"
            "crash1_destination_recipient_limit = 1\n"
            "crash1_destination_concurrency_limit = 1\n"
            "crash2_destination_recipient_limit = 2\n"
            "crash2_destination_concurrency_limit = 1\n"
            % (self.dir, self.dir))
        self.inst.write("transport", TRANSPORT)
        self.addCleanup(self.inst.stop)
        # postfix check makes the queue directories.
        r = self.inst.postfix("check")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.pw = __import__("pwd").getpwnam("postfix")

    def qid(self):
        QmgrTest.counter += 1
        return "ABCDE%X" % (0x100 + QmgrTest.counter)

    def put(self, queue, data, qid=None, mode=0o700):
        qid = qid or self.qid()
        d = os.path.join(self.inst.queue, queue)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, qid)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
        os.chown(path, self.pw.pw_uid, self.pw.pw_gid)
        return qid

    def find(self, queue, qid):
        for root, _, files in os.walk(os.path.join(self.inst.queue, queue)):
            if qid in files:
                return os.path.join(root, qid)
        return None

    def wakeup(self, what=b"I"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(os.path.join(self.inst.queue, "public", "qmgr"))
        s.sendall(what)
        s.close()

    def wait_gone(self, queue, qid, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.find(queue, qid) is None:
                return True
            time.sleep(0.1)
        return False

    def wait_in(self, queue, qid, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            p = self.find(queue, qid)
            if p is not None:
                return p
            time.sleep(0.1)
        return None

    def expect(self, pattern, timeout=10):
        m = self.inst.wait_log(pattern, timeout)
        self.assertIsNotNone(m, "no log line /%s/ in:\n%s"
                             % (pattern, self.inst.log()))
        return m

    def test_discard(self):
        data = qfile.message(sender="s@example.org",
                             recipients=(("Orig@Discard.test",
                                          "u@discard.test"),
                                         "v@discard.test"),
                             arrival=now_arrival())
        qid = self.put("incoming", data)
        self.inst.start()
        size = len(b"".join(qfile.record(t, d) for t, d, _ in
                            qfile.records(data) if t in "NL"))
        self.expect(r"postfix/qmgr\[\d+\]: %s: from=<s@example.org>, "
                    r"size=%d, nrcpt=2 \(queue active\)$" % (qid, size))
        self.expect(r"postfix/discard\[\d+\]: %s: to=<u@discard.test>, "
                    r"orig_to=<Orig@Discard.test>, relay=none, "
                    r"delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/0/[0-9.]+, "
                    r"dsn=2.0.0, status=sent \(discard.test\)$" % qid)
        self.expect(r"postfix/discard\[\d+\]: %s: to=<v@discard.test>, "
                    r"relay=none, delay=[0-9.]+, delays=[0-9./]+, "
                    r"dsn=2.0.0, status=sent \(discard.test\)$" % qid)
        self.expect(r"postfix/qmgr\[\d+\]: %s: removed$" % qid)
        self.assertTrue(self.wait_gone("active", qid))
        for q in ("incoming", "deferred", "corrupt"):
            self.assertIsNone(self.find(q, qid), q)

    def test_wakeup_and_active_recovery(self):
        # A file a crash left in active/ is delivered at start.
        q1 = self.put("active", qfile.message(
            recipients=("a@discard.test",), arrival=now_arrival()))
        self.inst.start()
        self.expect(r"%s: removed$" % q1)
        # New mail after start needs a wakeup.
        q2 = self.put("incoming", qfile.message(
            recipients=("b@discard.test",), arrival=now_arrival()))
        self.wakeup(b"I")
        self.expect(r"%s: to=<b@discard.test>, .*status=sent" % q2)
        self.expect(r"%s: removed$" % q2)
        # A file without the complete mark is left alone.
        q3 = self.put("incoming", qfile.message(
            recipients=("c@discard.test",), arrival=now_arrival()),
            mode=0o600)
        self.wakeup(b"W")
        time.sleep(1)
        self.assertIsNotNone(self.find("incoming", q3))
        self.assertNotIn(q3 + ":", self.inst.log())

    def test_error_bounces(self):
        qid = self.put("incoming", qfile.message(
            sender="s@example.org",
            recipients=("u@error.test", "w@error2.test"),
            arrival=now_arrival()))
        self.inst.start()
        self.expect(r"postfix/error\[\d+\]: %s: to=<u@error.test>, "
                    r"relay=none, delay=[0-9.]+, delays=[0-9./]+, "
                    r"dsn=5.1.1, status=bounced \(no such user here\)$"
                    % qid)
        self.expect(r"postfix/error\[\d+\]: %s: to=<w@error2.test>, "
                    r"relay=none, .*dsn=5.0.0, status=bounced \(.+\)$"
                    % qid)
        # No bounce service: the message waits in deferred/.
        path = self.wait_in("deferred", qid)
        self.assertIsNotNone(path, self.inst.log())
        self.assertIsNotNone(self.find("bounce", qid))
        recs = qfile.read(path)
        self.assertEqual([t for t, _, _ in recs if t in "RD"], ["D", "D"])
        self.assertNotRegex(self.inst.log(), r"%s: removed" % qid)

    def test_retry_defers(self):
        start = time.time()
        qid = self.put("incoming", qfile.message(
            recipients=("u@retry.test",), arrival=now_arrival()))
        self.inst.start()
        self.expect(r"postfix/error\[\d+\]: %s: to=<u@retry.test>, "
                    r"relay=none, .*dsn=4.4.1, status=deferred \(try again "
                    r"later\)$" % qid)
        path = self.wait_in("deferred", qid)
        self.assertIsNotNone(path, self.inst.log())
        # deferred/ is hashed: deferred/X/QID.
        self.assertEqual(os.path.basename(os.path.dirname(path)), qid[0])
        mtime = os.stat(path).st_mtime
        # minimal_backoff_time (300s) after now.
        self.assertGreaterEqual(mtime, start + 299)
        self.assertLessEqual(mtime, time.time() + 301)
        self.assertIsNotNone(self.find("defer", qid))
        self.assertEqual([t for t, _, _ in qfile.read(path) if t in "RD"],
                         ["R"])
        # A D wakeup leaves it alone (not due); A D takes it again.
        self.wakeup(b"D")
        time.sleep(1)
        self.assertEqual(len(re.findall(r"%s: from=" % qid,
                                        self.inst.log())), 1)
        self.wakeup(b"AD")
        self.expect(r"(?s)%s: from=.*%s: from=" % (qid, qid))

    def test_defer_transports(self):
        qid = self.put("incoming", qfile.message(
            recipients=("u@held.test", "v@discard.test"),
            arrival=now_arrival()))
        self.inst.start()
        self.expect(r"postfix/qmgr\[\d+\]: %s: to=<u@held.test>, "
                    r"relay=none, .*dsn=4.3.2, status=deferred \(deferred "
                    r"transport\)$" % qid)
        self.expect(r"%s: to=<v@discard.test>, .*status=sent" % qid)
        self.assertIsNotNone(self.wait_in("deferred", qid))

    def test_expired(self):
        qid = self.put("incoming", qfile.message(
            sender="s@example.org", recipients=("u@retry.test",),
            arrival="1700000000 0"))
        self.inst.start()
        self.expect(r"%s: to=<u@retry.test>, .*status=deferred" % qid)
        self.expect(r"postfix/qmgr\[\d+\]: %s: from=<s@example.org>, "
                    r"status=expired, returned to sender$" % qid)
        # Without a bounce service the message stays, deferred.
        self.assertIsNotNone(self.wait_in("deferred", qid))

    def test_corrupt(self):
        good = qfile.message(recipients=("u@discard.test",),
                             arrival=now_arrival())
        bad = {
            "garbage": b"this is not a queue file",
            "no end": good[:-2],
            "trailing": good + b"x",
            "version": qfile.message(version="2"),
        }
        ids = {}
        for name, data in bad.items():
            ids[name] = self.put("incoming", data)
        ok = self.put("incoming", good)
        self.inst.start()
        self.expect(r"%s: removed" % ok)
        for name, qid in ids.items():
            with self.subTest(name=name):
                self.assertIsNotNone(self.wait_in("corrupt", qid),
                                     self.inst.log())
                self.assertRegex(self.inst.log(), r"warning: .*%s" % qid)

    def test_killed_agent_defers(self):
        qid = self.put("incoming", qfile.message(
            recipients=("a@crash.test", "b@crash.test"),
            arrival=now_arrival()))
        self.inst.start()
        self.expect(r"postfix/dieagent\[\d+\]: %s: to=<a@crash.test>, "
                    r".*status=sent \(delivered before dying\)" % qid)
        self.expect(r"postfix/qmgr\[\d+\]: %s: to=<b@crash.test>, "
                    r"relay=none, .*dsn=4.3.0, status=deferred \(unknown "
                    r"mail transport error\)$" % qid)
        path = self.wait_in("deferred", qid)
        self.assertIsNotNone(path, self.inst.log())
        # a was crossed off before the crash; b is still to be delivered.
        self.assertEqual([(t, d) for t, d, _ in qfile.read(path)
                          if t in "RD"],
                         [("D", b"a@crash.test"), ("R", b"b@crash.test")])
        self.assertNotRegex(self.inst.log(),
                            r"%s: to=<a@crash.test>.*deferred" % qid)

    def test_recipient_limit_1_is_per_recipient(self):
        # crash1 has a recipient limit of 1 and a concurrency limit of 1:
        # its destinations are recipients, so the agent that dies after
        # delivering a leaves b's destination alone (keyed by next hop,
        # b would wait behind a and be deferred with "delivery
        # temporarily suspended").
        qid = self.put("incoming", qfile.message(
            recipients=("a@crash1.test", "b@crash1.test"),
            arrival=now_arrival()))
        self.inst.start()
        for r in ("a", "b"):
            self.expect(r"postfix/dieagent\[\d+\]: %s: to=<%s@crash1.test>, "
                        r".*status=sent \(delivered before dying\)"
                        % (qid, r))
        self.expect(r"postfix/qmgr\[\d+\]: %s: removed$" % qid)
        self.assertNotRegex(self.inst.log(), r"%s: .*deferred" % qid)

    def test_killed_agent_suspends_the_rest(self):
        # Two requests for one destination (recipient limit 2), one at a
        # time: the agent dies in the first, so the second is deferred
        # at once as "delivery temporarily suspended", and that ends the
        # message while qmgr is still busy with the first one's result.
        qid = self.put("incoming", qfile.message(
            recipients=("a@crash2.test", "b@crash2.test", "c@crash2.test"),
            arrival=now_arrival()))
        self.inst.start()
        self.expect(r"postfix/dieagent\[\d+\]: %s: to=<a@crash2.test>, "
                    r".*status=sent \(delivered before dying\)" % qid)
        self.expect(r"postfix/qmgr\[\d+\]: %s: to=<b@crash2.test>, "
                    r"relay=none, .*dsn=4.3.0, status=deferred \(unknown "
                    r"mail transport error\)$" % qid)
        self.expect(r"postfix/qmgr\[\d+\]: %s: to=<c@crash2.test>, "
                    r"relay=none, .*dsn=4.3.0, status=deferred \(delivery "
                    r"temporarily suspended: unknown mail transport "
                    r"error\)$" % qid)
        self.assertIsNotNone(self.wait_in("deferred", qid), self.inst.log())
        # qmgr lives on: the next message goes through
        ok = self.put("incoming", qfile.message(
            recipients=("x@discard.test",), arrival=now_arrival()))
        self.wakeup()
        self.expect(r"postfix/qmgr\[\d+\]: %s: removed$" % ok)
        self.assertNotRegex(self.inst.log(), r"qmgr.*(?:panic|signal)")

    def test_local_recipients_in_parallel(self):
        # local's recipient limit is 1: the concurrency limit (2) is per
        # user, so four users' deliveries, each a command that sleeps,
        # start together (keyed by next hop: two, then two 4 s later).
        shared = os.path.join(self.dir, "shared")
        os.makedirs(shared)
        os.chmod(self.dir, 0o755)
        os.chmod(shared, 0o1777)
        starts = os.path.join(shared, "starts")
        users = ("s1", "s2", "s3", "s4")
        self.inst.write("aliases", "".join(
            "%s: \"|date +%%s.%%N >> %s; sleep 4\"\n" % (u, starts)
            for u in users))
        env = dict(os.environ, MAIL_CONFIG=self.inst.conf)
        r = __import__("subprocess").run(
            [e2e.prog("postalias"),
             "hash:" + os.path.join(self.inst.conf, "aliases")],
            env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        qid = self.put("incoming", qfile.message(
            recipients=tuple(u + "@localhost" for u in users),
            arrival=now_arrival()))
        self.inst.start()
        self.expect(r"postfix/qmgr\[\d+\]: %s: removed$" % qid, 30)
        with open(starts) as f:
            times = sorted(float(t) for t in f.read().split())
        self.assertEqual(len(times), 4, self.inst.log())
        self.assertLess(times[-1] - times[0], 3, times)


if __name__ == "__main__":
    unittest.main()
