"""Crash test of the delivery path: qmgr and local killed with kill -9.

A full private instance (master, postlogd, pickup, cleanup,
trivial-rewrite, qmgr, local, bounce) delivers MESSAGES messages, submitted
with our sendmail in parallel batches, to a few test users' mboxes in a
private mail_spool_directory.  While the mail flows, a seeded random
killer (the seed is printed; set POSTERN_CRASH_SEED to replay a run) sends
SIGKILL to the instance's qmgr and local processes, found through /proc,
a bounded number of times; master starts them again.  Then the test waits
until the queue is empty and checks, from the mboxes split at their From_
lines:
  - every (user, message number) pair is delivered at least once: no loss;
  - no message is left anywhere in the queue, nor in corrupt/;
  - every delivery has its status=sent line in the log;
  - a message cut in the middle of its mailbox write (a partial message,
    printed) does not swallow the next one;
  - duplicates (a delivery made again because the agent or qmgr died
    between the mailbox write and the queue file update) are counted and
    printed as "duplicates: N"; they must stay within the number of
    deliveries that a kill can interrupt: each local kill one request of
    one recipient, each qmgr kill every delivery in flight.

The settings that make a crash recover in seconds rather than minutes are
the test's, not defaults: minimal_backoff_time / maximal_backoff_time /
queue_run_delay of 1-2 s (a killed agent defers its destination for the
rest of the queue run, as in Postfix), a 1 s master.cf wakeup for qmgr (so
that master starts a killed qmgr even when no new mail wakes it), and
stale_lock_time = 3s (an agent killed while it holds a mailbox dotlock
leaves the .lock file behind; Postfix and Postern remove it only once it
is stale_lock_time old), and service_throttle_time = 1s (a process killed
before it served anything looks to master like a program that fails at
start-up, and master throttles the service for service_throttle_time, as
Postfix's does: 60 s by default).

The run takes about 5-25 s on a busy 2-core machine, and about as long in
the ASan+UBSan build (measured 15-25 s with 500 messages), so the message
count is the same in both builds.  POSTERN_CRASH_KEEP=1 keeps the
instance, its log and the mailboxes for a look.
"""
import os
import pwd
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import e2e

MESSAGES = 500
USERS = ("pstcrsh1", "pstcrsh2", "pstcrsh3", "pstcrsh4")
SUBMITTERS = 4          # parallel sendmail streams
QUEUE_DIRS = ("maildrop", "incoming", "active", "deferred", "hold",
              "corrupt", "bounce", "defer", "trace")

MASTER_CF = e2e.master_cf("postlog", "pickup", "cleanup", "rewrite", "bounce",
                          "defer", "trace", "local") + """\
qmgr      unix  n       -       n       1       1       qmgr
"""


def sanitizer_build():
    """True when the build under test carries the ASan runtime."""
    try:
        with open(os.path.join(e2e.BUILD, "local", "local"), "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def parse_mbox(path):
    """Messages of an mbox split at From_ lines: a list of (number,
    complete) pairs; number is None for a piece without our Subject."""
    out = []
    try:
        with open(path, "rb") as f:
            data = f.read().decode("latin-1")
    except FileNotFoundError:
        return out
    pieces = re.split(r"(?m)^(?=From )", data)
    for piece in pieces:
        if not piece:
            continue
        m = re.search(r"(?m)^Subject: crash (\d+)$", piece)
        num = int(m.group(1)) if m else None
        complete = bool(num is not None and
                        re.search(r"(?m)^end of crash %d$" % num, piece))
        out.append((num, complete))
    return out


class CrashTest(unittest.TestCase):
    def setUp(self):
        for rel in ("qmgr/qmgr", "local/local", "pickup/pickup",
                    "cleanup/cleanup", "bounce/bounce", "sendmail/sendmail",
                    "postdrop/postdrop", "trivial-rewrite/trivial-rewrite"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        e2e.ensure_users()
        self.top = tempfile.mkdtemp(prefix="postern-crash-")
        os.chmod(self.top, 0o755)
        if not os.environ.get("POSTERN_CRASH_KEEP"):
            self.addCleanup(shutil.rmtree, self.top, True)
        else:
            print("\ncrash test: keeping %s" % self.top)
        self.addCleanup(e2e.remove_users, USERS)
        e2e.make_users(self.top, USERS)
        self.spool = os.path.join(self.top, "mail")
        os.makedirs(self.spool)
        os.chmod(self.spool, 0o775)
        os.makedirs(os.path.join(self.top, "inst"))
        extra = ("mail_spool_directory = %s\nbiff = no\n"
                 "mydomain = example.test\nmyorigin = $mydomain\n"
                 "mydestination = $myhostname, localhost, $mydomain\n"
                 "alias_maps =\nalias_database =\n"
                 "minimal_backoff_time = 1s\nmaximal_backoff_time = 2s\n"
                 "queue_run_delay = 1s\nstale_lock_time = 3s\n"
                 "service_throttle_time = 1s\n"
                 "local_destination_concurrency_limit = 2\n"
                 % self.spool)
        self.inst = e2e.Instance(os.path.join(self.top, "inst"), MASTER_CF,
                                 extra)
        self.addCleanup(self.inst.stop)
        self.inst.start()

    def instance_procs(self, name):
        out = []
        for pid in self.inst.processes():
            try:
                with open("/proc/%d/comm" % pid) as f:
                    if f.read().strip() == name:
                        out.append(pid)
            except OSError:
                pass
        return out

    def writing_locals(self, timeout):
        """local processes that have a mailbox open, polled for up to
        timeout seconds."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            out = []
            for pid in self.instance_procs("local"):
                try:
                    fds = os.listdir("/proc/%d/fd" % pid)
                except OSError:
                    continue
                for fd in fds:
                    try:
                        target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                    except OSError:
                        continue
                    if target.startswith(self.spool + "/"):
                        out.append(pid)
                        break
            if out:
                return sorted(out)
            time.sleep(0.001)
        return []

    def queue_files(self):
        left = []
        for d in QUEUE_DIRS:
            for root, _dirs, files in os.walk(os.path.join(self.inst.queue,
                                                           d)):
                left += [os.path.join(root, f) for f in files]
        return left

    def recipients(self, i):
        rcpts = [USERS[i % len(USERS)]]
        if i % 5 == 0:
            rcpts.append(USERS[(i + 1) % len(USERS)])
        return rcpts

    def submit(self, numbers, errors):
        sendmail = os.path.join(self.inst.bin, "sendmail")
        env = dict(os.environ, MAIL_CONFIG=self.inst.conf)
        for i in numbers:
            # Every tenth message is large (about 100 KB, many writes to the
            # mailbox), every 25th about 1.4 MB, so that a kill can cut a
            # delivery in the middle.
            filler = ("%d " % i) * 23 + "\n"
            text = ("From: crash@example.test\nSubject: crash %d\n"
                    "Message-ID: <crash.%d@example.test>\n\n"
                    "body of crash %d\nFrom a line to quote\n%s"
                    "end of crash %d\n"
                    % (i, i, i, filler * (20000 if i % 25 == 3 else
                               1000 if i % 10 == 3 else 0), i))
            r = subprocess.run([sendmail, "-f", "crash@example.test"] +
                               self.recipients(i), input=text.encode(),
                               env=env, capture_output=True, timeout=60)
            if r.returncode != 0:
                errors.append("message %d: sendmail exit %d: %s"
                              % (i, r.returncode, r.stderr.decode()))

    def test_kill_qmgr_and_local(self):
        asan = sanitizer_build()
        count = MESSAGES
        seed = int(os.environ.get("POSTERN_CRASH_SEED") or
                   random.SystemRandom().randrange(1, 1 << 30))
        rng = random.Random(seed)
        max_kills = {"qmgr": count // 50, "local": count // 25}
        print("\ncrash test: seed %d, %d messages%s, at most %d qmgr and "
              "%d local kills" % (seed, count, " (ASan build)" if asan else "",
                                  max_kills["qmgr"], max_kills["local"]),
              flush=True)

        errors = []
        threads = [threading.Thread(target=self.submit,
                                    args=(range(k, count, SUBMITTERS),
                                          errors))
                   for k in range(SUBMITTERS)]
        start = time.time()
        for t in threads:
            t.start()

        # Kill while the mail flows: until the budget is spent, or the
        # submitters are done and the queue has drained.
        killed = {"qmgr": 0, "local": 0}
        kill_until = time.time() + 60
        while sum(killed.values()) < sum(max_kills.values()) and \
                time.time() < kill_until:
            time.sleep(rng.uniform(0.02, 0.25))
            if not any(t.is_alive() for t in threads) and \
                    not self.queue_files():
                break
            choices = [n for n in killed if killed[n] < max_kills[n]]
            name = rng.choice(choices)
            pids = sorted(self.instance_procs(name))
            if name == "local" and rng.random() < 0.5:
                # Half of the local kills aim at a process that has a
                # mailbox open: the moment between a delivery and its
                # queue file update, or in the middle of the write.
                pids = self.writing_locals(0.5) or pids
            if not pids:
                continue    # not running now (master starts it again)
            pid = rng.choice(pids)
            try:
                os.kill(pid, 9)
                killed[name] += 1
            except OSError:
                pass
        for t in threads:
            t.join(timeout=120)
        submitted = time.time()
        self.assertEqual(errors, [])

        # Wait until the queue is empty.
        deadline = time.time() + 120
        while self.queue_files() and time.time() < deadline:
            time.sleep(0.25)
        drained = time.time()
        left = self.queue_files()

        got = {}
        partial = []
        for u in USERS:
            for num, complete in parse_mbox(os.path.join(self.spool, u)):
                if not complete:
                    partial.append((u, num))
                    continue
                got[(u, num)] = got.get((u, num), 0) + 1
        want = {(u, i) for i in range(count) for u in self.recipients(i)}
        missing = sorted(want - set(got))
        extra = sorted(set(got) - want)
        duplicates = sum(n - 1 for n in got.values())
        print("crash test: killed qmgr %d times and local %d times; "
              "submitted in %.1f s, queue empty after %.1f s"
              % (killed["qmgr"], killed["local"], submitted - start,
                 drained - start), flush=True)
        print("duplicates: %d" % duplicates, flush=True)
        print("partial messages: %d %r" % (len(partial), partial),
              flush=True)

        log = self.inst.log()
        self.assertEqual(left, [], "queue not empty; log tail:\n%s"
                         % log[-4000:])
        self.assertEqual(missing, [], "lost %d deliveries (seed %d)"
                         % (len(missing), seed))
        self.assertEqual(extra, [])
        # A partial message (local killed in the middle of its write) is
        # allowed: it is delivered again, complete, after it.
        self.assertNotIn("status=bounced", log)
        # Every delivery is in the log too (pflogsumm counts these lines).
        qids = {}
        for q, n in re.findall(r"cleanup\[\d+\]: (\w+): "
                               r"message-id=<crash\.(\d+)@", log):
            qids[q] = int(n)
        logged = set()
        for q, u in re.findall(r"local\[\d+\]: (\w+): to=<(\w+)@"
                               r"example\.test>.*status=sent", log):
            if q in qids:
                logged.add((u, qids[q]))
        self.assertEqual(sorted(want - logged), [],
                         "deliveries without a status=sent log line")
        # One recipient per local request (local_destination_recipient_
        # limit = 1); a qmgr kill can repeat every delivery then in flight
        # (at most the local process limit, 100, but really the window of
        # local_destination_concurrency_limit = 2 per user, as the recipient
        # limit of 1 makes each user a destination of its own).
        bound = killed["local"] + 2 * len(USERS) * killed["qmgr"]
        self.assertLessEqual(duplicates, bound)

    def test_after_partial_message(self):
        """A mailbox that ends in half a line (a delivery killed in the
        middle of its write): the next message starts after a blank
        line, so that mbox readers see it."""
        box = os.path.join(self.spool, USERS[0])
        pw = pwd.getpwnam(USERS[0])
        with open(box, "w") as f:
            f.write("From crash@example.test  Thu Dec  3 10:00:00 2026\n"
                    "Subject: crash 1\n\nhalf of a li")
        os.chown(box, pw.pw_uid, pw.pw_gid)
        os.chmod(box, 0o600)
        r = subprocess.run([os.path.join(self.inst.bin, "sendmail"), "-f",
                            "crash@example.test", USERS[0]],
                           input=b"Subject: crash 2\n\nend of crash 2\n",
                           env=dict(os.environ, MAIL_CONFIG=self.inst.conf),
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(self.inst.wait_log(r"status=sent", 20),
                        self.inst.log()[-3000:])
        with open(box) as f:
            text = f.read()
        self.assertIn("half of a li\n\nFrom crash@example.test ", text)
        self.assertEqual(parse_mbox(box), [(1, False), (2, True)])
        self.assertTrue(self.inst.wait_log(
            r"local\[\d+\]: warning: %s: the last message is incomplete "
            r"\(no newline at the end\): the new one starts after a blank "
            r"line" % re.escape(box)), self.inst.log()[-3000:])


if __name__ == "__main__":
    unittest.main()
