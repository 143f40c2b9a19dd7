#!/usr/bin/python3
"""make bench: Postern against Debian's Postfix 3.7, same workload, one run.

Run as root: /usr/bin/python3 bench/bench.py [BUILD_DIR]   (make bench)

Two workloads, each driven by Postfix's smtp-source from outside the
instance, 20 sessions (one message per SMTP session, a new connection for
the next, smtp-source's default), messages of 4 KB, one recipient each:

  relay  smtp-source -> smtpd -> cleanup -> queue -> qmgr -> smtp ->
         smtp-sink (relayhost = [127.0.0.1]:PORT, a high port)
  local  smtp-source -> smtpd -> cleanup -> queue -> qmgr -> local ->
         one mbox of a test user

For each workload and side the instance is fresh (new config, queue and
spool directories), and the runs alternate: Postern, Postfix; Postfix,
Postern; ... so that neither side always goes second.  Figures:

  msgs/s      messages / (time from starting smtp-source, i.e. its first
              connection, until the log holds one status=sent line per
              message -- written after the sink's 250, or after the mbox
              write and its fsync -- and the queue directories are empty)
  CPU ms/msg  CPU time (user + system) of every process of the instance
              over that interval, divided by the messages.  Each instance
              is started inside its own cgroup (v2, the unified hierarchy
              of these machines), and cpu.stat is read at both ends: it
              includes processes that exited in between (smtpd and
              cleanup come and go), which summing /proc would miss, and
              nothing outside the instance (smtp-source, smtp-sink, this
              script).
  peak MB     the largest total of the instance's memory seen while the
              workload ran: the sum of Pss (proportional set size: each
              shared page split among the processes that map it, so that
              summing does not count libc 70 times) over the processes in
              the cgroup, sampled 5 times a second.  The cgroup's own
              memory counters include the page cache of the queue files
              and the mbox, which is the same on both sides and says
              nothing about the programs.

Settings (the same on both sides unless said): Postfix's defaults, plus
biff = no, no alias maps, mailbox_size_limit = 0,
local_destination_concurrency_limit = 1 (one mailbox: two agents would
collide on its lock and the loser sleeps a second), and for Postfix
in_flow_delay = 0 (Postern has no in-flow control, which is what 0 means;
Postfix's 1 s makes its results depend on earlier runs).  Durability is
the same: both fsync the queue file before smtpd's 250 and the mbox before
local reports success.  Both master.cf files have the scache service, as
Debian's default master.cf does: smtp reuses connections to the sink on
demand.  Postfix's also has proxymap, which its smtpd needs for
local_recipient_maps (proxy:unix:passwd.byname); Postern's smtpd reads
the password file itself.

The queues and the mail spool live on a private journaled ext4 file system
(a loop mount, removed at the end): the root file system of these machines
has no journal and slows down under file churn.

Environment: BENCH_RUNS (runs per side and workload, default 3),
BENCH_MESSAGES (default 5000), BENCH_SESSIONS (default 20), BENCH_SIZE
(bytes per message, default 4096), BENCH_WORKLOADS (default "relay,local"),
BENCH_WAIT (seconds before a stuck run gives up, default 300),
BENCH_PROFILE=strace (run `strace -c -f` on the Postern instance's
processes for one extra run of the first workload and print the summary),
BENCH_PROFILE=sched (one extra run of the first workload per side, its
qmgr and delivery agent sampled from /proc: where each spends a message's
time, on CPU or blocked in which system call, side by side).
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USER = "pstbench"
SINK = "/usr/sbin/smtp-sink"
SOURCE = "/usr/sbin/smtp-source"
CGROOT = "/sys/fs/cgroup/unified"
if not os.path.exists(os.path.join(CGROOT, "cgroup.procs")):
    CGROOT = "/sys/fs/cgroup"    # a pure cgroup v2 machine
QUEUE_DIRS = ("maildrop", "incoming", "active", "deferred", "hold")

MASTER_CF = """\
smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
error     unix  -       -       n       -       -       error
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
postlog   unix-dgram n  -       n       -       1       postlogd
scache    unix  -       -       n       -       1       scache
"""
POSTFIX_ONLY_CF = """\
proxymap  unix  -       -       n       -       -       proxymap
"""

COMMON_MAIN = """\
myhostname = mx.example.test
mydomain = example.test
myorigin = $mydomain
mydestination = $myhostname, localhost, $mydomain
relayhost = [127.0.0.1]:%(sink)d
alias_maps =
alias_database =
biff = no
mailbox_size_limit = 0
local_destination_concurrency_limit = 1
mail_spool_directory = %(spool)s
"""
POSTFIX_ONLY_MAIN = """\
in_flow_delay = 0
"""


class Stuck(Exception):
    pass


def env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        raise SystemExit("%s must be a number" % name)


def listening(port):
    """Whether something listens on 127.0.0.1:port (from /proc/net/tcp)."""
    want = ":%04X" % port
    try:
        with open("/proc/net/tcp") as f:
            for line in f:
                fld = line.split()
                if (len(fld) > 3 and fld[1].endswith(want)
                        and fld[3] == "0A"):
                    return True
    except OSError:
        pass
    return False


def wait_listening(port, what, timeout=30):
    deadline = time.time() + timeout
    while not listening(port):
        if time.time() > deadline:
            raise Stuck("%s does not listen on port %d" % (what, port))
        time.sleep(0.05)


class Cgroup:
    """A cgroup of our own for one instance's processes."""

    def __init__(self, name):
        self.path = os.path.join(CGROOT, "postern-bench-%d-%s"
                                 % (os.getpid(), name))
        os.mkdir(self.path)

    def enter(self):
        """preexec_fn: move the child (and so all it starts) in."""
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write("%d\n" % os.getpid())

    def pids(self):
        try:
            with open(os.path.join(self.path, "cgroup.procs")) as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []

    def cpu(self):
        """(user, system) seconds of every process that was in here."""
        st = {}
        with open(os.path.join(self.path, "cpu.stat")) as f:
            for line in f:
                k, v = line.split()
                st[k] = int(v)
        return st["user_usec"] / 1e6, st["system_usec"] / 1e6

    def kill_all(self):
        """Kill what is left: only processes of the instance we started."""
        for pid in self.pids():
            try:
                os.kill(pid, 9)
            except OSError:
                pass

    def remove(self, timeout=10):
        deadline = time.time() + timeout
        while self.pids() and time.time() < deadline:
            time.sleep(0.1)
        self.kill_all()
        deadline = time.time() + 5
        while True:
            try:
                os.rmdir(self.path)
                return
            except OSError:
                if time.time() > deadline:
                    print("warning: cannot remove %s" % self.path)
                    return
                time.sleep(0.1)


class MemSampler(threading.Thread):
    """Largest sum of Pss over the cgroup's processes, sampled at 5 Hz."""

    def __init__(self, cg):
        super().__init__(daemon=True)
        self.cg = cg
        self.peak = 0
        self.peak_procs = 0
        self.done = threading.Event()

    def sample(self):
        total = 0
        pids = self.cg.pids()
        for pid in pids:
            try:
                with open("/proc/%d/smaps_rollup" % pid) as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1])
                            break
            except OSError:
                pass     # exited meanwhile
        if total > self.peak:
            self.peak = total
            self.peak_procs = len(pids)

    def run(self):
        while not self.done.wait(0.2):
            self.sample()

    def stop(self):
        self.sample()
        self.done.set()
        self.join()
        return self.peak / 1024.0, self.peak_procs


class Side:
    """What both kinds of instance share: a config dir, a queue, a log."""

    def start(self):
        self.cg = Cgroup(self.name.lower())
        r = subprocess.run(self.postfix_cmd("start"), capture_output=True,
                           text=True, env=self.env, preexec_fn=self.cg.enter)
        if r.returncode != 0:
            raise Stuck("%s did not start: %s%s" % (self.name, r.stdout,
                                                    r.stderr))
        wait_listening(self.port, self.name + " smtpd")
        time.sleep(1)     # let master's first processes settle

    def stop(self):
        subprocess.run(self.postfix_cmd("stop"), capture_output=True,
                       env=self.env)
        self.cg.remove()

    def queued(self):
        n = 0
        for sub in QUEUE_DIRS:
            for _root, _dirs, files in os.walk(os.path.join(self.queue, sub)):
                n += len(files)
        return n


class Postern(Side):
    name = "Postern"

    def __init__(self, base, port, sink):
        import e2e
        self.top = os.path.join(base, "postern")
        self.spool = os.path.join(base, "mail")
        os.makedirs(self.top)
        os.makedirs(self.spool)
        os.chmod(self.spool, 0o1777)
        self.port = port
        self.inst = e2e.Instance(
            self.top, MASTER_CF.replace("smtp      inet",
                                        "127.0.0.1:%d inet" % port, 1),
            COMMON_MAIN % {"sink": sink, "spool": self.spool})
        self.queue = self.inst.queue
        self.maillog = self.inst.maillog
        self.conf = self.inst.conf
        self.env = dict(os.environ)
        self.env.pop("MAIL_CONFIG", None)

    def postfix_cmd(self, cmd):
        import e2e
        return [e2e.prog("postfix"), "-c", self.conf, cmd]


class Postfix(Side):
    name = "Postfix"

    def __init__(self, base, port, sink):
        self.top = os.path.join(base, "postfix")
        self.spool = os.path.join(base, "mail")
        self.conf = os.path.join(self.top, "etc")
        self.queue = os.path.join(self.top, "spool")
        logdir = os.path.join(self.top, "log")
        for d in (self.conf, self.queue, logdir, self.spool):
            os.makedirs(d)
        os.chmod(self.top, 0o755)
        os.chmod(self.spool, 0o1777)
        shutil.copy("/etc/postfix/postfix-files", self.conf)
        self.port = port
        self.maillog = os.path.join(logdir, "maillog")
        main = ("compatibility_level = 3.6\n"
                "queue_directory = %s\ndata_directory = %s\n"
                "meta_directory = %s\n"
                "command_directory = /usr/sbin\n"
                "daemon_directory = /usr/lib/postfix/sbin\n"
                "mail_owner = postfix\nsetgid_group = postdrop\n"
                "inet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n"
                "maillog_file = %s\nmaillog_file_prefixes = %s\n"
                % (self.queue, os.path.join(self.top, "data"), self.conf,
                   self.maillog, self.top))
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(main + COMMON_MAIN % {"sink": sink, "spool": self.spool}
                    + POSTFIX_ONLY_MAIN)
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.replace("smtp      inet",
                                      "127.0.0.1:%d inet" % port, 1)
                    + POSTFIX_ONLY_CF)
        self.env = dict(os.environ)
        self.env.pop("MAIL_CONFIG", None)

    def postfix_cmd(self, cmd):
        return ["/usr/sbin/postfix", "-c", self.conf, cmd]


class LogCounter:
    """Counts status= outcomes in a log, reading only what is new."""

    def __init__(self, path):
        self.path = path
        self.pos = os.path.getsize(path) if os.path.exists(path) else 0
        self.sent = 0
        self.other = 0
        self.first_other = None

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except OSError:
            return
        cut = data.rfind(b"\n") + 1
        for line in data[:cut].splitlines():
            if b" fatal: " in line or b" panic: " in line:
                self.other += 1
                if self.first_other is None:
                    self.first_other = line.decode(errors="replace")
            elif b" status=sent " in line:
                self.sent += 1
            elif b" status=" in line:
                self.other += 1
                if self.first_other is None:
                    self.first_other = line.decode(errors="replace")
        self.pos += cut


def start_sink(port):
    p = subprocess.Popen([SINK, "-u", "nobody", "127.0.0.1:%d" % port, "256"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_listening(port, "smtp-sink")
    return p


def measure(side, workload, n, sessions, size):
    rcpt = ("%s@example.test" % USER if workload == "local"
            else "sink@example.net")
    log = LogCounter(side.maillog)
    mem = MemSampler(side.cg)
    mem.start()
    u0, s0 = side.cg.cpu()
    t0 = time.perf_counter()
    src = subprocess.Popen([SOURCE, "-s", str(sessions), "-l", str(size),
                            "-m", str(n), "-f", "bench@example.org",
                            "-t", rcpt, "-M", "client.example.org",
                            "127.0.0.1:%d" % side.port],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = t0 + env_int("BENCH_WAIT", 300)
    try:
        while True:
            log.poll()
            if log.other:
                raise Stuck("%s: not delivered or a daemon failed: %s" % (side.name,
                                                        log.first_other))
            if log.sent >= n and side.queued() == 0:
                break
            if src.poll() not in (None, 0):
                raise Stuck("smtp-source failed: %s"
                            % src.stderr.read().decode(errors="replace"))
            if time.perf_counter() > deadline:
                raise Stuck("%s: only %d of %d delivered in time; see %s"
                            % (side.name, log.sent, n, side.maillog))
            time.sleep(0.02)
        t1 = time.perf_counter()
        u1, s1 = side.cg.cpu()
    finally:
        peak, procs = mem.stop()
        if src.poll() is None:
            src.kill()
        src.wait()
    if log.sent != n:
        raise Stuck("%s: %d status=sent lines for %d messages"
                    % (side.name, log.sent, n))
    return {"rate": n / (t1 - t0), "cpu": (u1 - u0 + s1 - s0) / n * 1000,
            "user": (u1 - u0) / n * 1000, "sys": (s1 - s0) / n * 1000,
            "mem": peak, "procs": procs}


def strace_profile(base, port, sink_port, n, sessions, size, workload):
    """strace -c -f on the Postern instance for one run of workload:
    attached to every process of the started instance (master included,
    so that what it forks later is traced too)."""
    d = os.path.join(base, "profile")
    os.makedirs(d)
    os.chmod(d, 0o755)
    side = Postern(d, port, sink_port)
    out = os.path.join(base, "strace.txt")
    side.start()
    try:
        argv = ["strace", "-c", "-f", "-o", out]
        for pid in side.cg.pids():
            argv += ["-p", str(pid)]
        tracer = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        time.sleep(2)     # let strace attach
        try:
            r = measure(side, workload, n, sessions, size)
        finally:
            tracer.send_signal(2)
            tracer.wait()
        print("under strace: %.0f msgs/s, %.2f CPU ms/msg"
              % (r["rate"], r["cpu"]), flush=True)
    finally:
        side.stop()
    with open(out) as f:
        print(f.read())


def comm_pids(cg, names):
    """{comm: pid} of the cgroup's processes named in names."""
    out = {}
    for pid in cg.pids():
        try:
            with open("/proc/%d/comm" % pid) as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm in names:
            out[comm] = pid
    return out


# x86_64 system call numbers the samples name (others print as numbers).
SYSCALLS = {0: "read", 1: "write", 2: "open", 3: "close", 4: "stat",
            5: "fstat", 7: "poll", 8: "lseek", 17: "pread64",
            18: "pwrite64", 20: "writev", 23: "select", 42: "connect",
            43: "accept", 44: "sendto", 45: "recvfrom", 46: "sendmsg",
            47: "recvmsg", 61: "wait4", 72: "fcntl", 73: "flock",
            74: "fsync", 75: "fdatasync", 82: "rename", 87: "unlink",
            232: "epoll_wait", 257: "openat", 262: "newfstatat",
            264: "renameat", 270: "pselect6", 271: "ppoll",
            281: "epoll_pwait", 288: "accept4", 316: "renameat2",
            441: "epoll_pwait2"}


def sample_state(pid):
    """What a process does right now: "on CPU" (running or runnable) or
    the name of the system call it is blocked in."""
    with open("/proc/%d/stat" % pid) as f:
        state = f.read().rsplit(")", 1)[1].split()[0]
    if state == "R":
        return "on CPU"
    with open("/proc/%d/syscall" % pid) as f:
        word = f.read().split()[0]
    if word == "running":
        return "on CPU"
    try:
        return SYSCALLS.get(int(word), "syscall %s" % word)
    except ValueError:
        return word


def mean_delays(maillog):
    """The mean of each part of delays=a/b/c/d over the status=sent
    lines: before the queue manager, in active/ waiting for a delivery
    agent, connection setup, transmission."""
    import re
    tot, k = [0.0] * 4, 0
    with open(maillog, errors="replace") as f:
        for line in f:
            m = re.search(r"delays=([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+), "
                          r".*status=sent", line)
            if m:
                k += 1
                for i in range(4):
                    tot[i] += float(m.group(i + 1))
    return [x / max(k, 1) for x in tot]


def sched_profile(base, n, sessions, size, workload):
    """Where the pipeline spends its time: one run per side with max_use =
    100000 (qmgr and the delivery agent stay one process each), sampling
    the state of every smtpd, cleanup, qmgr and agent process from /proc
    as often as Python manages (on CPU, or the system call it is blocked
    in), nothing attached to them.  Printed as process-milliseconds per
    message, side by side, with the mean delays= parts from the log and
    the agent's CPU and run-queue wait from /proc/PID/schedstat."""
    import e2e
    agent = "local" if workload == "local" else "smtp"
    res = {}
    for name in ("Postern", "Postfix"):
        d = os.path.join(base, "sched-" + name)
        os.makedirs(d)
        os.chmod(d, 0o755)
        sink_port, port = e2e.free_port(), e2e.free_port()
        sink = start_sink(sink_port)
        side = (Postern if name == "Postern" else Postfix)(d, port,
                                                           sink_port)
        with open(os.path.join(side.conf, "main.cf"), "a") as f:
            f.write("max_use = 100000\n")
        progs = ("smtpd", "cleanup", "qmgr", agent)
        box = {"samples": {p: {} for p in progs}, "count": 0}
        stop = threading.Event()

        def sampler():
            while not stop.is_set():
                pids = comm_pids(side.cg, ("qmgr", agent))
                if len(pids) == 2:
                    break
                time.sleep(0.002)
            else:
                return
            box["pids"] = pids
            with open("/proc/%d/schedstat" % pids[agent]) as f:
                box["sched0"] = [int(x) for x in f.read().split()]
            box["log0"] = LogCounter(side.maillog)
            box["log0"].poll()
            box["t0"] = time.perf_counter()
            while not stop.is_set():
                # every process of these programs (smtpd and cleanup
                # run several): process-milliseconds per message
                for pid in side.cg.pids():
                    try:
                        with open("/proc/%d/comm" % pid) as f:
                            prog = f.read().strip()
                        if prog not in progs:
                            continue
                        st = sample_state(pid)
                    except (OSError, IndexError):
                        continue
                    h = box["samples"][prog]
                    h[st] = h.get(st, 0) + 1
                box["count"] += 1
                time.sleep(0.0003)

        side.start()
        try:
            th = threading.Thread(target=sampler, daemon=True)
            th.start()
            r = measure(side, workload, n, sessions, size)
            stop.set()
            th.join()
            if "t0" not in box:
                raise Stuck("%s: no %s process to sample" % (name, agent))
            t1 = time.perf_counter()
            with open("/proc/%d/schedstat" % box["pids"][agent]) as f:
                sched1 = [int(x) for x in f.read().split()]
            done = n - box["log0"].sent
            wall = (t1 - box["t0"]) * 1000
            res[name] = {
                "rate": r["rate"], "cycle": wall / done,
                "cpu": (sched1[0] - box["sched0"][0]) / 1e6 / done,
                "runq": (sched1[1] - box["sched0"][1]) / 1e6 / done,
                # each sample stands for wall / count milliseconds
                "per": wall / max(box["count"], 1) / done,
                "samples": box["samples"], "count": box["count"],
                "delays": mean_delays(side.maillog)}
        finally:
            stop.set()
            side.stop()
            sink.terminate()
            sink.wait()
    a, b = res["Postern"], res["Postfix"]
    print("%s workload: where %s, qmgr, cleanup and smtpd spend their "
          "time, process-ms per message (%d and %d samples)"
          % (workload, agent, a["count"], b["count"]))
    print("  %-26s %19s %19s" % ("", "Postern", "Postfix"))
    print("  %-26s %19.0f %19.0f" % ("msgs/s", a["rate"], b["rate"]))
    print("  %-26s %19s %19s" % ("mean delays=a/b/c/d (s)", "/".join(
        "%.2f" % x for x in a["delays"]), "/".join("%.2f" % x
                                                   for x in b["delays"])))
    for key, what in (("cycle", " wall per message"), ("cpu", " CPU"),
                      ("runq", " waiting for a CPU")):
        print("  %-26s %19.3f %19.3f" % (agent + what, a[key], b[key]))
    for prog in (agent, "qmgr", "cleanup", "smtpd"):
        ha, hb = a["samples"][prog], b["samples"][prog]
        keys = sorted(set(ha) | set(hb), key=lambda k: -max(
            ha.get(k, 0) * a["per"], hb.get(k, 0) * b["per"]))
        print("  %s:" % prog)
        for k in keys[:10]:
            print("    %-24s %19.3f %19.3f" % (k, ha.get(k, 0) * a["per"],
                                               hb.get(k, 0) * b["per"]))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def span(xs, fmt):
    lo, hi = min(xs), max(xs)
    return (fmt % lo) if fmt % lo == fmt % hi else (fmt + "-" + fmt) % (lo, hi)


def median(xs):
    s = sorted(xs)
    k = len(s) // 2
    return s[k] if len(s) % 2 else (s[k - 1] + s[k]) / 2


def report(results, workloads, runs):
    rows = [("msgs/s", "rate", "%.0f", "higher is better"),
            ("CPU ms/msg", "cpu", "%.2f", "lower is better"),
            ("  user", "user", "%.2f", ""),
            ("  system", "sys", "%.2f", ""),
            ("peak MB", "mem", "%.1f", "lower is better")]
    head = ("%-6s %-11s %-13s %-13s %-22s %s"
            % ("", "figure", "Postern", "Postfix",
               "Postern/Postfix", ""))
    print()
    print(head)
    print("%-6s %-11s %-13s %-13s %-22s"
          % ("", "", "min-max", "min-max", "median (min-max)"))
    print("-" * len(head.rstrip()) + "-" * 18)
    for w in workloads:
        ours = results[(w, "Postern")]
        theirs = results[(w, "Postfix")]
        for label, key, fmt, note in rows:
            a = [r[key] for r in ours]
            b = [r[key] for r in theirs]
            ratios = [x / y for x, y in zip(a, b) if y > 0]
            rt = ("%.2f (%s)" % (median(ratios), span(ratios, "%.2f"))
                  if ratios else "-")
            print("%-6s %-11s %-13s %-13s %-22s %s"
                  % (w, label, span(a, fmt), span(b, fmt), rt, note))
        print("%-6s %-11s %-13s %-13s"
              % (w, "processes", span([r["procs"] for r in ours], "%d"),
                 span([r["procs"] for r in theirs], "%d")))
        print()
    print("(%d runs per side and workload, alternating; ratios pair run i "
          "of Postern with run i of Postfix; processes: how many the "
          "instance had at its memory peak)" % runs)


def main():
    if os.geteuid() != 0:
        raise SystemExit("make bench: run as root (it starts mail systems "
                         "and mounts a file system)")
    for prog in (SINK, SOURCE, "/usr/lib/postfix/sbin/master"):
        if not os.path.exists(prog):
            raise SystemExit("make bench: %s is missing (Debian's postfix "
                             "package)" % prog)
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                            else os.environ.get("POSTERN_BUILD",
                                                os.path.join(TOP, "build")))
    if not os.path.exists(os.path.join(build, "smtp", "smtp")):
        raise SystemExit("make bench: no Postern build in %s" % build)
    os.environ["POSTERN_BUILD"] = build
    sys.path.insert(0, os.path.join(TOP, "tests"))
    import e2e
    runs = env_int("BENCH_RUNS", 3)
    n = env_int("BENCH_MESSAGES", 5000)
    sessions = env_int("BENCH_SESSIONS", 20)
    size = env_int("BENCH_SIZE", 4096)
    workloads = [w for w in os.environ.get("BENCH_WORKLOADS",
                                           "relay,local").split(",") if w]
    for w in workloads:
        if w not in ("relay", "local"):
            raise SystemExit("BENCH_WORKLOADS: relay and/or local")
    e2e.ensure_users()

    base = tempfile.mkdtemp(prefix="postern-bench-")
    os.chmod(base, 0o755)
    mounted = False
    keep = False
    sink = None
    subprocess.run(["userdel", "-f", USER], capture_output=True)
    subprocess.run(["useradd", "-M", "-d", "/nonexistent", "-s",
                    "/usr/sbin/nologin", USER], check=True)
    try:
        img = base + ".img"
        subprocess.run(["truncate", "-s", "2G", img], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", img], check=True)
        subprocess.run(["mount", "-o", "loop", img, base], check=True)
        os.unlink(img)     # its blocks are freed once unmounted
        mounted = True
        os.chmod(base, 0o755)
        print("make bench: %s, %d cores, load %s, %s"
              % (cpu_model(), os.cpu_count(),
                 " ".join(open("/proc/loadavg").read().split()[:3]),
                 time.strftime("%Y-%m-%d %H:%M")))
        print("%d messages of %d bytes, %d smtp-source sessions, %d runs "
              "per side, alternating; queues on a private journaled ext4"
              % (n, size, sessions, runs), flush=True)
        results = {}
        for w in workloads:
            for name in ("Postern", "Postfix"):
                results[(w, name)] = []
        k = 0
        for run in range(runs):
            for w in workloads:
                order = (["Postern", "Postfix"] if k % 2 == 0
                         else ["Postfix", "Postern"])
                k += 1
                for name in order:
                    d = os.path.join(base, "%s-%d-%s" % (w, run, name))
                    os.makedirs(d)
                    os.chmod(d, 0o755)
                    sink_port = e2e.free_port()
                    port = e2e.free_port()
                    sink = start_sink(sink_port)
                    side = (Postern if name == "Postern" else Postfix)(
                        d, port, sink_port)
                    side.start()
                    try:
                        r = measure(side, w, n, sessions, size)
                    finally:
                        side.stop()
                        sink.terminate()
                        sink.wait()
                        sink = None
                    results[(w, name)].append(r)
                    print("run %d %-5s %-7s %5.0f msgs/s  %.2f CPU ms/msg "
                          "(%.2f user + %.2f sys)  peak %.1f MB in %d "
                          "processes"
                          % (run + 1, w, name, r["rate"], r["cpu"],
                             r["user"], r["sys"], r["mem"], r["procs"]),
                          flush=True)
                    shutil.rmtree(d, True)
        if runs > 0:
            report(results, workloads, runs)
        if os.environ.get("BENCH_PROFILE") == "strace":
            sink_port = e2e.free_port()
            sink = start_sink(sink_port)
            strace_profile(base, e2e.free_port(), sink_port, n, sessions,
                           size, workloads[0])
        if os.environ.get("BENCH_PROFILE") == "sched":
            sched_profile(base, n, sessions, size, workloads[0])
    except Stuck as e:
        keep = True
        print("make bench: %s\nkept %s%s" % (e, base,
                                             " (a loop mount: umount it "
                                             "after)" if mounted else ""))
        raise SystemExit(1)
    finally:
        if sink is not None:
            sink.terminate()
            sink.wait()
        if not keep:
            if mounted:
                subprocess.run(["umount", base])
            shutil.rmtree(base, True)
        subprocess.run(["userdel", "-f", USER], capture_output=True)


if __name__ == "__main__":
    main()
