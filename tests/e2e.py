"""Shared helpers for Postern's end-to-end tests (tests/test_*.py).

Every test runs the programs built in $POSTERN_BUILD (default: the source
tree), each from its own temporary directory: a private config directory,
private tables, never /etc/postfix.  Tests that compare with Debian's Postfix
(the oracle) call need_oracle(), which skips loudly when it is not installed.
"""
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(os.environ.get("POSTERN_BUILD", TOP))

ORACLE_SBIN = "/usr/sbin"


def prog(name):
    """Path of one of our built programs, e.g. prog('postconf')."""
    return os.path.join(BUILD, name, name)


def oracle(name):
    """Path of Debian Postfix's program, e.g. oracle('postmap')."""
    return os.path.join(ORACLE_SBIN, name)


def have_oracle():
    if not os.path.exists("/usr/lib/postfix/sbin/master"):
        return False
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "postfix"],
                             capture_output=True, text=True).stdout
    except FileNotFoundError:
        return False
    return "installed" in out


def need_oracle():
    if not have_oracle():
        raise unittest.SkipTest(
            "SKIPPED LOUDLY: Debian's postfix package is not installed, "
            "so this comparison with Postfix did not run")


def run(argv, input=None, env=None, check=False):
    """Run a command; returns CompletedProcess with text stdout/stderr."""
    e = dict(os.environ)
    e.pop("MAIL_CONFIG", None)
    if env:
        e.update(env)
    return subprocess.run(argv, input=input, capture_output=True, text=True,
                          env=e, check=check, timeout=120)


class TempDirTest(unittest.TestCase):
    """A test case with self.dir, a fresh temporary directory."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="postern-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name, text, mode=0o644):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def confdir(self, main_cf="", master_cf=""):
        """A config directory with the given main.cf and master.cf."""
        d = os.path.join(self.dir, "etc")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "main.cf"), "w") as f:
            f.write(main_cf)
        with open(os.path.join(d, "master.cf"), "w") as f:
            f.write(master_cf)
        return d


def ensure_users():
    """As root, create the postfix user and postdrop group the tests need."""
    if os.geteuid() != 0:
        raise unittest.SkipTest("SKIPPED LOUDLY: needs root (to create the "
                                "postfix user and run master)")
    if subprocess.run(["getent", "group", "postdrop"],
                      capture_output=True).returncode != 0:
        subprocess.run(["groupadd", "-r", "postdrop"], check=True)
    if subprocess.run(["getent", "passwd", "postfix"],
                      capture_output=True).returncode != 0:
        subprocess.run(["useradd", "-r", "-U", "-M", "-d", "/nonexistent",
                        "-s", "/usr/sbin/nologin", "postfix"], check=True)


def make_users(top, names):
    """Local test accounts names, each with a home directory top/home/NAME
    (mode 755, owned by the user) and /bin/sh; any leftover account of the
    same name is removed first.  Returns {name: home}."""
    homes = {}
    for u in names:
        subprocess.run(["userdel", "-f", u], capture_output=True)
        home = os.path.join(top, "home", u)
        os.makedirs(home)
        subprocess.run(["useradd", "-M", "-d", home, "-s", "/bin/sh", u],
                       check=True, capture_output=True)
        pw = pwd.getpwnam(u)
        os.chown(home, pw.pw_uid, pw.pw_gid)
        os.chmod(home, 0o755)
        homes[u] = home
    return homes


def remove_users(names):
    for u in names:
        subprocess.run(["userdel", "-f", u], capture_output=True)


_ports_given = set()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    Never the same one twice in a test run (tests take several before an
    instance binds any), and below the kernel's ephemeral range, so that
    no outgoing connection takes it as its source port meanwhile."""
    import random
    import socket
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    low = max(low, 12000)
    for _ in range(1000):
        port = random.randrange(10000, low)
        if port in _ports_given:
            continue
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _ports_given.add(port)
        return port
    raise OSError("no free TCP port below %d" % low)


def sanitizer_env():
    """import_environment entries that keep sanitizer settings for children.

    Leak checking is turned off in the instance: it cannot inspect a
    process that has dropped privileges (a LeakSanitizer limitation).
    """
    out = []
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        val = os.environ.get(name)
        if val:
            if name == "ASAN_OPTIONS":
                val = val.replace("detect_leaks=1", "detect_leaks=0")
            out.append("%s=%s" % (name, val))
    return " ".join(out)


class Instance:
    """A private Postern instance under dir: etc/, spool/, data/, libexec/.

    libexec/ holds links to the built daemons (master, postlogd, and the
    test daemon testd); bin/ links to the built commands.  main.cf puts the
    log in log/maillog; extra main.cf text and the master.cf are the test's.
    """

    # Every daemon and command that the build has (later issues add more;
    # one that is not built yet is left out, as master.cf skips it).
    DAEMONS = ("master/master", "postlogd/postlogd", "tests/fixtures/testd",
               "trivial-rewrite/trivial-rewrite", "cleanup/cleanup",
               "pickup/pickup", "qmgr/qmgr", "local/local", "bounce/bounce",
               "error/error", "discard/discard", "showq/showq",
               "tests/fixtures/dieagent", "smtpd/smtpd", "anvil/anvil",
               "virtual/virtual", "pipe/pipe", "smtp/smtp", "smtp/lmtp",
               "scache/scache", "flush/flush", "tlsmgr/tlsmgr")
    COMMANDS = ("postfix", "postconf", "postmap", "postalias", "postlog",
                "postmulti", "sendmail", "postdrop", "postcat", "postqueue",
                "postsuper")
    ALIASES = {"mailq": "sendmail", "newaliases": "sendmail"}

    # smtpd asks anvil about every client (smtpd_client_connection_count_limit
    # is 50 by default) and smtp asks scache when qmgr has a backlog for a
    # destination; a master.cf that runs them without those services gets
    # them, as Postfix's default master.cf has them, unless the test passes
    # anvil=False (to see smtpd without anvil).
    ANVIL = "anvil     unix  -       -       n       -       1       anvil\n"
    SCACHE = "scache    unix  -       -       n       -       1       scache\n"

    def __init__(self, top, master_cf, main_extra="", anvil=True):
        ensure_users()
        fields = [l.split() for l in master_cf.splitlines()
                  if l.strip() and not l.startswith(("#", " ", "\t"))]
        commands = {f[7] for f in fields if len(f) > 7}
        services = {f[0] for f in fields}
        for command, service, line in (("smtpd", "anvil", self.ANVIL),
                                       ("smtp", "scache", self.SCACHE)):
            if command == "smtpd" and not anvil:
                continue
            if command in commands and service not in services:
                master_cf += ("" if master_cf.endswith("\n") else "\n")
                master_cf += line
        os.chmod(top, 0o755)
        self.top = top
        self.conf = os.path.join(top, "etc")
        self.queue = os.path.join(top, "spool")
        self.data = os.path.join(top, "data")
        self.libexec = os.path.join(top, "libexec")
        self.bin = os.path.join(top, "bin")
        self.logdir = os.path.join(top, "log")
        self.maillog = os.path.join(self.logdir, "maillog")
        for d in (self.conf, self.libexec, self.bin, self.logdir):
            os.makedirs(d, exist_ok=True)
        for rel in self.DAEMONS:
            if os.path.exists(os.path.join(BUILD, rel)):
                shutil.copy2(os.path.join(BUILD, rel),
                             os.path.join(self.libexec, os.path.basename(rel)))
        for name in self.COMMANDS:
            if os.path.exists(prog(name)):
                os.symlink(prog(name), os.path.join(self.bin, name))
        for name, target in self.ALIASES.items():
            if os.path.exists(prog(target)):
                os.symlink(prog(target), os.path.join(self.bin, name))
        env = sanitizer_env()
        main = ("queue_directory = %s\ndata_directory = %s\n"
                "daemon_directory = %s\ncommand_directory = %s\n"
                "inet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n"
                "myhostname = mx.example.test\n"
                "maillog_file = %s\nmaillog_file_prefixes = %s\n"
                "compatibility_level = 3.6\n"
                % (self.queue, self.data, self.libexec, self.bin,
                   self.maillog, top))
        if env:
            main += ("import_environment = MAIL_CONFIG MAIL_DEBUG "
                     "MAIL_LOGTAG TZ LANG=C %s\n" % env)
        self.write("main.cf", main + main_extra)
        self.write("master.cf", master_cf)

    def write(self, name, text):
        with open(os.path.join(self.conf, name), "w") as f:
            f.write(text)

    def postfix(self, *args, timeout=60):
        e = dict(os.environ)
        e.pop("MAIL_CONFIG", None)
        return subprocess.run([prog("postfix"), "-c", self.conf] + list(args),
                              capture_output=True, text=True, env=e,
                              timeout=timeout)

    # Instances started and not stopped: the runner prints the digest of
    # each when a test fails, ahead of the test's own report.
    live = []

    def start(self):
        if self not in Instance.live:
            Instance.live.append(self)
        r = self.postfix("start")
        if r.returncode != 0:
            raise AssertionError("postfix start failed: %s%s\nlog:\n%s"
                                 % (r.stdout, r.stderr, self.log()))
        return r

    def stop(self):
        """Stop the instance if it runs; wait until no process is left."""
        import time
        if self in Instance.live:
            Instance.live.remove(self)
        if self.master_pid() is not None:
            self.postfix("stop")
        deadline = time.time() + 10
        while self.processes() and time.time() < deadline:
            time.sleep(0.1)
        for pid in self.processes():
            try:
                os.kill(pid, 9)
            except OSError:
                pass

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                pid = int(f.readline())
        except (OSError, ValueError):
            return None
        return pid if os.path.exists("/proc/%d" % pid) else None

    def processes(self):
        """PIDs of this instance: master and its children work in spool/."""
        out = []
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            for link in ("cwd", "root"):
                try:
                    if os.readlink("/proc/%s/%s" % (p, link)) == self.queue:
                        out.append(int(p))
                        break
                except OSError:
                    pass
        return out

    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # What says why mail did not move: problems, crashes, deferrals.
    DIGEST = re.compile(r"warning|fatal|panic|error|killed|status=(?!sent)"
                        r"|reject|timeout|lost connection")
    NOISE = re.compile(r"postfix-script\[\d+\]: warning: not ")

    def digest(self, lines=12):
        """The last log lines that matter for a failure, kept short."""
        out = [ln[:240] for ln in self.log().splitlines()
               if Instance.DIGEST.search(ln) and not Instance.NOISE.search(ln)]
        return out[-lines:]

    def wait_log(self, pattern, timeout=10):
        """Wait until the log matches the regex pattern; the match or None."""
        import re
        import time
        deadline = time.time() + timeout
        while True:
            m = re.search(pattern, self.log(), re.M)
            if m or time.time() > deadline:
                return m
            time.sleep(0.1)


# master.cf lines of the services most tests run, as Postfix's default
# master.cf has them (without chroot); master_cf("cleanup", "qmgr", ...)
# joins the named ones.
SERVICES = {
    "pickup": "pickup    unix  n       -       n       60      1       pickup",
    "cleanup": "cleanup   unix  n       -       n       -       0       cleanup",
    "qmgr": "qmgr      unix  n       -       n       300     1       qmgr",
    "rewrite": "rewrite   unix  -       -       n       -       -       "
               "trivial-rewrite",
    "bounce": "bounce    unix  -       -       n       -       0       bounce",
    "defer": "defer     unix  -       -       n       -       0       bounce",
    "trace": "trace     unix  -       -       n       -       0       bounce",
    "showq": "showq     unix  n       -       n       -       -       showq",
    "error": "error     unix  -       -       n       -       -       error",
    "retry": "retry     unix  -       -       n       -       -       error",
    "discard": "discard   unix  -       -       n       -       -       discard",
    "local": "local     unix  -       n       n       -       -       local",
    "virtual": "virtual   unix  -       n       n       -       -       virtual",
    "smtp": "smtp      unix  -       -       n       -       -       smtp",
    "relay": "relay     unix  -       -       n       -       -       smtp",
    "lmtp": "lmtp      unix  -       -       n       -       -       lmtp",
    "flush": "flush     unix  n       -       n       1000?   0       flush",
    "tlsmgr": "tlsmgr    unix  -       -       n       1000?   1       tlsmgr",
    "postlog": "postlog   unix-dgram n  -       n       -       1       postlogd",
}


def master_cf(*names):
    """The master.cf lines of the named SERVICES, in that order."""
    return "".join(SERVICES[n] + "\n" for n in names)
