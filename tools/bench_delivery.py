"""Local delivery throughput: N messages submitted with sendmail (from a
few parallel streams) to one local user, delivered into an mbox.

Run as root: python3 tools/bench_delivery.py [-n N] [--build DIR]
[--runs R] [--no-oracle] [--no-mount]

Each run starts a private instance (master, postlogd, pickup, cleanup,
trivial-rewrite, qmgr, local, bounce) whose queue and mail spool live on a
private journaled ext4 file system (a loop mount; the root file system of
these machines has no journal and slows down under file churn, see
/work/shared/reference/benchmarking.md), submits N messages of about 4 KB,
and prints messages per second from the first submission to the moment the
log holds N "status=sent" lines.  Unless --no-oracle is given, Debian's
Postfix 3.7 runs the same workload from a private config directory, and
the two alternate (A-B, B-A, ...) to even out order effects.

Both sides use the same settings: in_flow_delay = 0, one mailbox with
local_destination_concurrency_limit = 1 (two agents on one mailbox lock
make the loser sleep a second), no aliases, biff = no.
"""
import argparse
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USER = "pstbench"

QMGR_CF = "qmgr      unix  n       -       n       300     1       qmgr\n"
MASTER_CF = """\
postlog   unix-dgram n  -       n       -       1       postlogd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
local     unix  -       n       n       -       -       local
"""

COMMON_MAIN = """\
myhostname = mx.example.test
mydomain = example.test
myorigin = $mydomain
mydestination = $myhostname, localhost, $mydomain
alias_maps =
alias_database =
biff = no
in_flow_delay = 0
local_destination_concurrency_limit = 1
mail_spool_directory = %(spool)s
"""


def message(i):
    line = ("bench %d " % i) * 8
    line = line[:72] + "\n"
    return ("From: bench@example.test\nTo: %s@example.test\n"
            "Subject: bench %d\nMessage-ID: <bench.%d@example.test>\n\n"
            "%s" % (USER, i, i, line * 55))


def count_sent(path, state):
    """Count status=sent lines in the log, reading only what is new."""
    try:
        with open(path, "rb") as f:
            f.seek(state["pos"])
            data = f.read()
    except OSError:
        return state["count"]
    cut = data.rfind(b"\n") + 1
    state["count"] += data[:cut].count(b" status=sent ")
    state["pos"] += cut
    return state["count"]


def submit_all(sendmail, env, n, streams):
    errors = []

    def worker(k):
        for i in range(k, n, streams):
            r = subprocess.run([sendmail, "-f", "bench@example.test", USER],
                               input=message(i).encode(), env=env,
                               capture_output=True)
            if r.returncode != 0:
                errors.append(r.stderr.decode())

    threads = [threading.Thread(target=worker, args=(k,))
               for k in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit("sendmail failed: %s" % errors[0])


class Stuck(Exception):
    pass


def measure(sendmail, env, maillog, n, streams):
    # Only lines logged from now on count.
    state = {"pos": os.path.getsize(maillog) if os.path.exists(maillog)
             else 0, "count": 0}
    start = time.perf_counter()
    submit_all(sendmail, env, n, streams)
    submitted = time.perf_counter()
    deadline = submitted + float(os.environ.get("BENCH_WAIT", 600))
    while count_sent(maillog, state) < n:
        if time.perf_counter() > deadline:
            raise Stuck("only %d of %d delivered in time; "
                        "see %s" % (state["count"], n, maillog))
        time.sleep(0.02)
    end = time.perf_counter()
    return n / (end - start), n / (submitted - start)


def queued(queue, sub="incoming"):
    n = 0
    for _root, _dirs, files in os.walk(os.path.join(queue, sub)):
        n += len(files)
    return n


def measure_delivery(side, n, streams):
    """Delivery alone: the mail waits in incoming/ (no qmgr in master.cf)
    until all N are there; then qmgr is added with postfix reload."""
    submit_all(side.sendmail, side.env, n, streams)
    deadline = time.perf_counter() + 120
    while queued(side.queue) < n:
        if time.perf_counter() > deadline:
            raise Stuck("only %d of %d in incoming/" % (queued(side.queue),
                                                       n))
        time.sleep(0.05)
    state = {"pos": os.path.getsize(side.maillog), "count": 0}
    start = time.perf_counter()
    side.add_qmgr()
    deadline = start + float(os.environ.get("BENCH_WAIT", 600))
    while count_sent(side.maillog, state) < n:
        if time.perf_counter() > deadline:
            raise Stuck("only %d of %d delivered in time; see %s"
                        % (state["count"], n, side.maillog))
        time.sleep(0.02)
    return n / (time.perf_counter() - start)


class Ours:
    name = "Postern"

    def __init__(self, base, build, qmgr=True):
        sys.path.insert(0, os.path.join(TOP, "tests"))
        os.environ["POSTERN_BUILD"] = build
        import e2e
        self.top = os.path.join(base, "postern")
        self.spool = os.path.join(base, "mail-postern")
        for d in (self.top, self.spool):
            os.makedirs(d)
        os.chmod(self.spool, 0o775)
        self.inst = e2e.Instance(self.top,
                                 MASTER_CF + (QMGR_CF if qmgr else ""),
                                 COMMON_MAIN % {"spool": self.spool})
        self.queue = self.inst.queue
        self.sendmail = os.path.join(self.inst.bin, "sendmail")
        self.env = dict(os.environ, MAIL_CONFIG=self.inst.conf)
        self.maillog = self.inst.maillog

    def start(self):
        self.inst.start()

    def add_qmgr(self):
        self.inst.write("master.cf", MASTER_CF + QMGR_CF)
        self.inst.postfix("reload")

    def stop(self):
        self.inst.stop()


class Oracle:
    name = "Postfix"

    def __init__(self, base, qmgr=True):
        self.top = os.path.join(base, "postfix")
        self.spool = os.path.join(base, "mail-postfix")
        self.conf = os.path.join(self.top, "etc")
        queue = os.path.join(self.top, "spool")
        logdir = os.path.join(self.top, "log")
        for d in (self.conf, queue, logdir, self.spool):
            os.makedirs(d)
        os.chmod(self.top, 0o755)
        os.chmod(self.spool, 0o775)
        shutil.copy("/etc/postfix/postfix-files", self.conf)
        self.maillog = os.path.join(logdir, "maillog")
        main = ("compatibility_level = 3.6\n"
                "queue_directory = %s\ndata_directory = %s\n"
                "meta_directory = %s\n"
                "command_directory = /usr/sbin\n"
                "daemon_directory = /usr/lib/postfix/sbin\n"
                "mail_owner = postfix\nsetgid_group = postdrop\n"
                "inet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n"
                "maillog_file = %s\nmaillog_file_prefixes = %s\n"
                % (queue, os.path.join(self.top, "data"), self.conf,
                   self.maillog, self.top))
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(main + COMMON_MAIN % {"spool": self.spool})
        self.queue = queue
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF + (QMGR_CF if qmgr else ""))
        self.sendmail = "/usr/sbin/sendmail"
        self.env = dict(os.environ, MAIL_CONFIG=self.conf)

    def postfix(self, cmd):
        r = subprocess.run(["/usr/sbin/postfix", "-c", self.conf, cmd],
                           capture_output=True, text=True)
        if r.returncode != 0 and cmd == "start":
            raise SystemExit("Postfix did not start: %s%s"
                             % (r.stdout, r.stderr))

    def start(self):
        self.postfix("start")

    def add_qmgr(self):
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF + QMGR_CF)
        self.postfix("reload")

    def stop(self):
        self.postfix("stop")
        time.sleep(1)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=2000, help="messages per run")
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--runs", type=int, default=2,
                    help="runs per side (alternating)")
    ap.add_argument("--streams", type=int, default=4,
                    help="parallel sendmail streams")
    ap.add_argument("--no-oracle", action="store_true")
    ap.add_argument("--no-mount", action="store_true",
                    help="no private journaled ext4 (results will drift)")
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    build = os.path.abspath(a.build)
    oracle = (not a.no_oracle and
              os.path.exists("/usr/lib/postfix/sbin/master"))

    base = tempfile.mkdtemp(prefix="bench-delivery-")
    os.chmod(base, 0o755)
    mounted = False
    subprocess.run(["userdel", "-f", USER], capture_output=True)
    subprocess.run(["useradd", "-M", "-d", "/nonexistent", "-s",
                    "/usr/sbin/nologin", USER], check=True)
    try:
        if not a.no_mount:
            img = base + ".img"
            subprocess.run(["truncate", "-s", "2G", img], check=True)
            subprocess.run(["mkfs.ext4", "-q", "-F", img], check=True)
            subprocess.run(["mount", "-o", "loop", img, base], check=True)
            os.unlink(img)     # freed once unmounted
            mounted = True
            os.chmod(base, 0o755)
        print("machine: %d CPUs (%s), load %s; %d messages of 4 KB per "
              "run, %d sendmail streams, queue on %s"
              % (os.cpu_count(), cpu_model(),
                 " ".join(open("/proc/loadavg").read().split()[:3]), a.n,
                 a.streams,
                 "root fs" if a.no_mount else "private journaled ext4"),
              flush=True)
        results = {"Postern": [], "Postfix": []}
        delivery = {"Postern": [], "Postfix": []}
        order = ["Postern", "Postfix"] if oracle else ["Postern"]
        for run in range(a.runs):
            seq = order if run % 2 == 0 else order[::-1]
            for name in seq:
                d = os.path.join(base, "run%d-%s" % (run, name))
                os.makedirs(d)
                os.chmod(d, 0o755)
                side = Ours(d, build) if name == "Postern" else Oracle(d)
                side.start()
                try:
                    time.sleep(1)
                    rate, sub = measure(side.sendmail, side.env,
                                        side.maillog, a.n, a.streams)
                finally:
                    side.stop()
                shutil.rmtree(d, True)
                os.makedirs(d)
                os.chmod(d, 0o755)
                side = (Ours(d, build, False) if name == "Postern"
                        else Oracle(d, False))
                side.start()
                try:
                    time.sleep(1)
                    dlv = measure_delivery(side, a.n, a.streams)
                finally:
                    side.stop()
                results[name].append(rate)
                delivery[name].append(dlv)
                print("%s run %d: %.0f msgs/s end to end (submission "
                      "alone %.0f msgs/s); delivery alone (qmgr + local, "
                      "from incoming/) %.0f msgs/s"
                      % (name, run + 1, rate, sub, dlv), flush=True)
                shutil.rmtree(d, True)
        for what, res in (("end to end", results),
                          ("delivery alone", delivery)):
            for name in order:
                r = res[name]
                print("%s %s: %.0f-%.0f msgs/s (%d runs)"
                      % (name, what, min(r), max(r), len(r)))
            if oracle:
                ratios = [p / f for p, f in zip(res["Postern"],
                                                res["Postfix"])]
                print("Postern/Postfix %s: %s"
                      % (what, ", ".join("%.2f" % x for x in ratios)))
    except Stuck as e:
        # Keep the instance, its log and the mounted file system for a look.
        print("%s\nkept %s%s" % (e, base, " (mounted: umount it after)"
                                  if mounted else ""))
        raise SystemExit(1)
    else:
        if mounted:
            subprocess.run(["umount", base])
        shutil.rmtree(base, True)
    finally:
        subprocess.run(["userdel", "-f", USER], capture_output=True)

if __name__ == "__main__":
    main()
