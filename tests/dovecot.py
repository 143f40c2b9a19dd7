"""dovecot: a private Dovecot authentication server for the SASL tests.

Debian's dovecot-core, started from its own configuration file (never the
system one) with base_dir, state_dir and the log under a temporary
directory, no mail protocols, and only the auth service with one
auth-client listener socket for smtpd.  Users come from a passwd-file
with plain-text passwords.

    dv = dovecot.Dovecot(top, {"alice": "secret1"})
    dv.start()          # dv.socket is the auth-client socket path
    ...
    dv.stop()           # or dv.kill() to simulate a crash
"""
import os
import signal
import subprocess
import time
import unittest

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"


def need_dovecot():
    if not os.path.exists(DOVECOT):
        raise unittest.SkipTest(
            "SKIPPED LOUDLY: dovecot-core is not installed, so the SASL "
            "tests against a real Dovecot did not run")


def alive(pid):
    """The process exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class Dovecot:

    def __init__(self, top, users, mechanisms="plain login", extra=""):
        self.top = top
        os.makedirs(top, exist_ok=True)
        os.chmod(top, 0o755)
        self.conf = os.path.join(top, "dovecot.conf")
        self.base = os.path.join(top, "run")
        self.state = os.path.join(top, "state")
        self.logfile = os.path.join(top, "dovecot.log")
        self.socket = os.path.join(top, "auth")
        self.users = os.path.join(top, "users")
        for d in (self.base, self.state):
            os.makedirs(d, exist_ok=True)
        with open(self.users, "w") as f:
            for name, pw in users.items():
                f.write("%s:{PLAIN}%s:65534:65534::/nonexistent::\n"
                        % (name, pw))
        os.chmod(self.users, 0o644)
        with open(self.conf, "w") as f:
            f.write("""\
base_dir = %(base)s
state_dir = %(state)s
log_path = %(log)s
protocols =
ssl = no
disable_plaintext_auth = no
auth_failure_delay = 0
auth_mechanisms = %(mechs)s
auth_anonymous_username = anonymous
passdb {
  driver = passwd-file
  args = scheme=PLAIN %(users)s
}
userdb {
  driver = passwd-file
  args = %(users)s
}
service auth {
  unix_listener %(socket)s {
    mode = 0666
  }
}
# no auth penalty: the tests fail on purpose, from one address
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
%(extra)s
""" % {"base": self.base, "state": self.state, "log": self.logfile,
       "mechs": mechanisms, "users": self.users, "socket": self.socket,
       "extra": extra})

    def start(self):
        # (its daemon children keep standard output: no pipes here)
        out = os.path.join(self.top, "start.out")
        with open(out, "w") as f:
            r = subprocess.run([DOVECOT, "-c", self.conf], stdout=f,
                               stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, timeout=60)
        if r.returncode != 0:
            with open(out) as f:
                raise AssertionError("dovecot failed to start: %s"
                                     % f.read())
        deadline = time.time() + 30
        while not os.path.exists(self.socket):
            if time.time() > deadline:
                raise AssertionError("no Dovecot auth socket; log:\n%s"
                                     % self.log())
            time.sleep(0.1)

    def master_pid(self):
        try:
            with open(os.path.join(self.base, "master.pid")) as f:
                pid = int(f.readline())
        except (OSError, ValueError):
            return None
        return pid if os.path.exists("/proc/%d" % pid) else None

    def processes(self):
        """The master and its children (the children share its ppid)."""
        master = self.master_pid()
        if master is None:
            return []
        out = [master]
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % p) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                out.append(int(p))
        return out

    def kill(self):
        """Kill the master and its children at once (a crash)."""
        pids = self.processes()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        deadline = time.time() + 10
        while any(alive(p) for p in pids) and time.time() < deadline:
            time.sleep(0.05)
        # a zombie master would still look alive to the next start
        for path in (self.socket, os.path.join(self.base, "master.pid")):
            try:
                os.unlink(path)
            except OSError:
                pass

    def stop(self):
        pids = self.processes()
        if not pids:
            return
        subprocess.run([DOVEADM, "-c", self.conf, "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       stdin=subprocess.DEVNULL, timeout=60)
        deadline = time.time() + 10
        while any(alive(p) for p in pids) and time.time() < deadline:
            time.sleep(0.1)
        self.kill()

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class DovecotLmtp(Dovecot):
    """Dovecot's LMTP service (Debian's dovecot-lmtpd) on a private UNIX
    socket, delivering into Maildir under top/mail/DOMAIN/USER/.

    users are full addresses (Dovecot looks a recipient up by its whole
    address); each is stored with the uid and gid given (a real system
    account: Dovecot refuses uids below first_valid_uid, which is set to
    that uid here).

        dv = dovecot.DovecotLmtp(top, ["alice@lmtp.test"], uid, gid)
        dv.start()          # dv.socket is the LMTP socket path
        dv.maildir("alice@lmtp.test")   # .../mail/lmtp.test/alice
    """

    def __init__(self, top, users, uid, gid):
        self.uid, self.gid = uid, gid
        self.mail = os.path.join(top, "mail")
        os.makedirs(self.mail, exist_ok=True)
        os.chown(self.mail, uid, gid)
        super().__init__(top, {}, extra="""\
protocols = lmtp
first_valid_uid = %(uid)d
first_valid_gid = %(gid)d
mail_location = maildir:%(mail)s/%%d/%%n
service lmtp {
  unix_listener %(lmtp)s {
    mode = 0666
  }
}
""" % {"uid": uid, "gid": gid, "mail": self.mail,
       "lmtp": os.path.join(top, "lmtp")})
        # the auth socket is Dovecot's own; the LMTP socket is the one
        # Postern talks to (and start() waits for)
        self.socket = os.path.join(top, "lmtp")
        with open(self.users, "w") as f:
            for name in users:
                f.write("%s:{PLAIN}unused:%d:%d::%s::\n"
                        % (name, uid, gid, self.mail))
        # "protocols =" of the SASL configuration is overridden above
        with open(self.conf) as f:
            text = f.read()
        with open(self.conf, "w") as f:
            f.write(text.replace("protocols =\n", "", 1))

    def maildir(self, address):
        local, domain = address.split("@", 1)
        return os.path.join(self.mail, domain, local)

    def new_messages(self, address):
        """The file contents in the user's Maildir new/, oldest first."""
        new = os.path.join(self.maildir(address), "new")
        try:
            names = sorted(os.listdir(new))
        except FileNotFoundError:
            return []
        out = []
        for n in names:
            with open(os.path.join(new, n), errors="replace") as f:
                out.append(f.read())
        return out
