"""The local delivery agent, driven directly over private/local.

Until qmgr exists these tests play qmgr: they write a queue file with
qfile.py into active/, send the delivery request (lib/mail/deliver.h) and
read the reply, then look at mailboxes, files, the log and the queue.
Test users are created with useradd and removed at the end.
"""
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import e2e
import qfile

MASTER_CF = e2e.master_cf("postlog", "cleanup", "rewrite", "local")

USERS = ("pstloc1", "pstloc2", "pstloc3", "pstloc4")
_qid = [0]


def new_qid():
    _qid[0] += 1
    return "%05X%X" % ((os.getpid() * 7919 + _qid[0]) & 0xFFFFF,
                       int(time.time() * 1000) % 0xFFFFFF + _qid[0])


def put_attrs(pairs):
    out = b""
    for name, value in pairs:
        out += name.encode() + b"\0" + str(value).encode() + b"\0"
    return out + b"\0"


def read_attrs(f):
    def token():
        b = b""
        while True:
            c = f.read(1)
            if not c:
                raise EOFError("connection closed")
            if c == b"\0":
                return b.decode()
            b += c
    d = {}
    while True:
        name = token()
        if name == "":
            return d
        d[name] = token()


class LocalBase(unittest.TestCase):
    main_extra = ""
    master_cf = MASTER_CF

    @classmethod
    def setUpClass(cls):
        for rel in ("local/local", "cleanup/cleanup",
                    "trivial-rewrite/trivial-rewrite"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        cls.top = tempfile.mkdtemp(prefix="postern-local-")
        os.chmod(cls.top, 0o755)
        cls.homes = e2e.make_users(cls.top, USERS)
        cls.spool = os.path.join(cls.top, "mail")
        os.makedirs(cls.spool)
        os.chmod(cls.spool, 0o775)
        cls.shared = os.path.join(cls.top, "shared")
        os.makedirs(cls.shared)
        os.chmod(cls.shared, 0o1777)
        extra = ("mail_spool_directory = %s\nbiff = no\n"
                 "recipient_delimiter = +\ndeliver_lock_attempts = 2\n"
                 "deliver_lock_delay = 1s\n" % cls.spool) + cls.main_extra
        extra = extra.replace("TOP", cls.top)
        os.makedirs(os.path.join(cls.top, "inst"))
        cls.inst = e2e.Instance(os.path.join(cls.top, "inst"), cls.master_cf,
                                extra)
        cls.prepare()
        cls.inst.start()
        sock = os.path.join(cls.inst.queue, "private", "local")
        deadline = time.time() + 10
        while not os.path.exists(sock) and time.time() < deadline:
            time.sleep(0.1)

    @classmethod
    def prepare(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        cls.inst.stop()
        e2e.remove_users(USERS)
        shutil.rmtree(cls.top, ignore_errors=True)

    def deliver(self, rcpts, lines, sender="sender@example.test", qid=None):
        """Queue a message in active/ and have local deliver it; returns
        (qid, status).  rcpts: addresses or (original, address)."""
        qid = qid or new_qid()
        data = qfile.message(sender=sender, recipients=rcpts, lines=lines,
                             arrival="%d 0" % int(time.time()))
        recs = list(qfile.records(data))
        offsets = [off for t, d, off in recs if t == "R"]
        data_offset = next(off for t, d, off in recs if t == "M") + 2
        path = os.path.join(self.inst.queue, "active", qid)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o700)
        # As qmgr leaves it: the agents local passes mail to run as postfix.
        pw = pwd.getpwnam("postfix")
        os.chown(path, pw.pw_uid, pw.pw_gid)
        now = "%d 0" % int(time.time())
        req = [("flags", 0), ("queue_name", "active"), ("queue_id", qid),
               ("data_offset", data_offset), ("data_size", 100),
               ("nexthop", "mx.example.test"), ("encoding", ""),
               ("sendopts", 0), ("sender", sender), ("envid", ""),
               ("ret", 0), ("arrival_time", now), ("active_time", now),
               ("client_name", ""), ("client_addr", ""),
               ("client_port", ""), ("protocol_name", ""),
               ("helo_name", ""), ("sasl_method", ""),
               ("sasl_username", ""), ("sasl_sender", ""),
               ("log_ident", qid), ("rewrite_context", "local"),
               ("recipient_count", len(rcpts))]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(os.path.join(self.inst.queue, "private", "local"))
        f = s.makefile("rb")
        greet = read_attrs(f)
        self.assertEqual(greet.get("protocol"), "delivery_request_protocol")
        out = put_attrs(req)
        for r, off in zip(rcpts, offsets):
            orig, addr = r if isinstance(r, tuple) else (r, r)
            out += put_attrs([("original_recipient", orig),
                              ("recipient", addr), ("offset", off),
                              ("dsn_orig_rcpt", ""), ("notify_flags", 0)])
        s.sendall(out)
        reply = read_attrs(f)
        f.close()
        s.close()
        return qid, int(reply["status"])

    def log_line(self, qid, to, status, text):
        pat = (r"postfix/local\[\d+\]: %s: to=<%s>.*, relay=local, "
               r"delay=[\d.]+, delays=[\d./]+, dsn=[245]\.\d+\.\d+, "
               r"status=%s \(%s\)$" % (re.escape(qid), re.escape(to),
                                        status, re.escape(text)))
        m = self.inst.wait_log(pat)
        self.assertIsNotNone(m, "no log line %r in:\n%s"
                             % (pat, self.inst.log()[-3000:]))
        return m.group(0)

    def qtypes(self, qid):
        return [t for t, d, off in qfile.read(
            os.path.join(self.inst.queue, "active", qid)) if t in "RD"]

    def read(self, path):
        with open(path, errors="replace") as f:
            return f.read()


class LocalMbox(LocalBase):
    main_extra = "alias_maps = hash:TOP/aliases\ncommand_time_limit = 2s\n"

    @classmethod
    def prepare(cls):
        sh = cls.shared
        aliases = ("team: pstloc1, pstloc2\n"
                   "owner-team: pstloc1\n"
                   "slow: \"|sleep 30\"\n"
                   "twice: %s/twice.out, %s/twice.out\n"
                   "twice2: %s/twice.out\n"
                   "fails: \"|echo no such mailbox; exit 67\"\n"
                   "tofile: %s/file.out\n"
                   "tocmd: \"|cat > %s/cmd.out && env > %s/cmd.env\"\n"
                   "loopa: loopb@mx.example.test\n"
                   "inc: :include:%s/inc.list\n"
                   % (sh, sh, sh, sh, sh, sh, sh))
        with open(os.path.join(sh, "inc.list"), "w") as f:
            f.write("# members\n\"|cat > /dev/null\"\n")
        path = os.path.join(cls.top, "aliases")
        with open(path, "w") as f:
            f.write(aliases)
        env = dict(os.environ, MAIL_CONFIG=cls.inst.conf)
        subprocess.run([e2e.prog("postalias"), "hash:" + path], env=env,
                       check=True, capture_output=True)
        # pstloc3: .forward to its own mailbox and a file in its home.
        home = cls.homes["pstloc3"]
        pw = pwd.getpwnam("pstloc3")
        fwd = os.path.join(home, ".forward")
        with open(fwd, "w") as f:
            f.write("# comment\n\\pstloc3, %s/saved.mbox\n" % home)
        os.chown(fwd, pw.pw_uid, pw.pw_gid)
        os.chmod(fwd, 0o644)
        # pstloc4: .forward+list runs a command as the user.
        home = cls.homes["pstloc4"]
        pw = pwd.getpwnam("pstloc4")
        fwd = os.path.join(home, ".forward+list")
        with open(fwd, "w") as f:
            f.write("\"|env > %s/fwd.env\"\n" % cls.shared)
        os.chown(fwd, pw.pw_uid, pw.pw_gid)
        # pstloc2: a .forward owned by someone else is ignored.
        fwd = os.path.join(cls.homes["pstloc2"], ".forward")
        with open(fwd, "w") as f:
            f.write("nobody@example.test\n")
        os.chown(fwd, pwd.getpwnam("pstloc1").pw_uid, 0)

    def test_mbox(self):
        qid, status = self.deliver(
            [("Pstloc1@example.test", "pstloc1@mx.example.test")],
            ["Subject: hello", "", "From here", ">From there", "last"])
        self.assertEqual(status, 0)
        self.log_line(qid, "pstloc1@mx.example.test", "sent",
                      "delivered to mailbox")
        text = self.read(os.path.join(self.spool, "pstloc1"))
        msgs = text.split("\nFrom sender@")
        last = msgs[-1] if len(msgs) > 1 else text
        self.assertRegex(text, r"^From sender@example\.test  \w{3} \w{3} "
                         r"[ \d]\d \d\d:\d\d:\d\d \d{4}\n")
        self.assertIn("Return-Path: <sender@example.test>\n"
                      "X-Original-To: Pstloc1@example.test\n"
                      "Delivered-To: pstloc1@mx.example.test\n"
                      "Subject: hello\n\n>From here\n>From there\nlast\n\n",
                      last if last.startswith("Return") else text)
        self.assertTrue(text.endswith("last\n\n"))
        st = os.stat(os.path.join(self.spool, "pstloc1"))
        self.assertEqual(st.st_uid, pwd.getpwnam("pstloc1").pw_uid)
        self.assertEqual(st.st_mode & 0o777, 0o600)
        self.assertEqual(self.qtypes(qid), ["D"])

    def test_extension(self):
        qid, status = self.deliver(["pstloc2+tag@mx.example.test"],
                                   ["Subject: ext", "", "body"])
        self.assertEqual(status, 0)
        self.log_line(qid, "pstloc2+tag@mx.example.test", "sent",
                      "delivered to mailbox")
        self.assertIn("Delivered-To: pstloc2+tag@mx.example.test\n",
                      self.read(os.path.join(self.spool, "pstloc2")))

    def test_extension_with_slash(self):
        # "$home/.forward+../x" must never be looked at: the extension is
        # dropped with a warning and the user's mailbox gets the mail.
        qid, status = self.deliver(["pstloc1+../x@mx.example.test"],
                                   ["Subject: slash", "", "slash body"])
        self.log_line(qid, '"pstloc1+../x"@mx.example.test', "sent",
                      "delivered to mailbox")
        self.assertTrue(self.inst.wait_log(
            r"warning: %s: address with illegal extension: pstloc1\+\.\./x"
            % qid))

    def test_unknown_user(self):
        qid, status = self.deliver(["nosuchuser@mx.example.test"],
                                   ["Subject: x", "", "body"])
        self.assertEqual(status, 0)
        line = self.log_line(qid, "nosuchuser@mx.example.test", "bounced",
                             'unknown user: "nosuchuser"')
        self.assertIn("dsn=5.1.1", line)
        recs = qfile.read(os.path.join(self.inst.queue, "bounce", qid))
        attrs = [d.decode() for t, d, off in recs if t == "A"]
        self.assertIn("status=5.1.1", attrs)
        self.assertIn('reason=unknown user: "nosuchuser"', attrs)
        self.assertEqual(self.qtypes(qid), ["D"])

    def test_loop(self):
        qid, status = self.deliver(
            ["pstloc1@mx.example.test"],
            ["Delivered-To: pstloc1@mx.example.test", "Subject: loop",
             "", "body"])
        self.assertEqual(status, 0)
        line = self.log_line(qid, "pstloc1@mx.example.test", "bounced",
                             "mail forwarding loop for "
                             "pstloc1@mx.example.test")
        self.assertIn("dsn=5.4.6", line)

    def test_symlinked_mailbox_refused(self):
        target = os.path.join(self.shared, "target")
        with open(target, "w") as f:
            f.write("precious\n")
        link = os.path.join(self.spool, "pstloc4")
        os.symlink(target, link)
        try:
            qid, status = self.deliver(["pstloc4@mx.example.test"],
                                       ["Subject: x", "", "body"])
            m = self.inst.wait_log(r"%s: to=<pstloc4@mx.example.test>.*"
                                   r"status=(bounced|deferred) \(cannot "
                                   r"update mailbox .*symbolic link"
                                   % qid)
            self.assertIsNotNone(m, self.inst.log()[-2000:])
            self.assertEqual(self.read(target), "precious\n")
        finally:
            os.unlink(link)

    def test_lock_timeout_defers(self):
        lock = os.path.join(self.spool, "pstloc2.lock")
        with open(lock, "w"):
            pass
        try:
            qid, status = self.deliver(["pstloc2@mx.example.test"],
                                       ["Subject: x", "", "body"])
            self.assertNotEqual(status, 0)
            line = self.log_line(
                qid, "pstloc2@mx.example.test", "deferred",
                "cannot update mailbox %s/pstloc2 for user pstloc2. "
                "unable to create lock file %s: File exists"
                % (self.spool, lock))
            self.assertIn("dsn=4.2.0", line)
            self.assertEqual(self.qtypes(qid), ["R"])
            self.assertTrue(glob.glob(os.path.join(
                self.inst.queue, "defer", "*", qid)) or os.path.exists(
                os.path.join(self.inst.queue, "defer", qid)))
        finally:
            os.unlink(lock)

    def test_alias_to_several_users(self):
        qid, status = self.deliver(["team@mx.example.test"],
                                   ["Subject: team", "", "hello team"])
        self.assertEqual(status, 0)
        m = self.inst.wait_log(r"%s: to=<team@mx.example.test>, "
                               r"relay=local, .*dsn=2.0.0, status=sent "
                               r"\(forwarded as ([0-9A-Za-z]+)\)" % qid)
        self.assertIsNotNone(m, self.inst.log()[-2000:])
        newid = m.group(1)
        path = os.path.join(self.inst.queue, "incoming", newid)
        recs = qfile.read(path)
        rcpts = [d.decode() for t, d, off in recs if t == "R"]
        self.assertEqual(sorted(rcpts), ["pstloc1@mx.example.test",
                                         "pstloc2@mx.example.test"])
        content = [d.decode() for t, d, off in recs if t == "N"]
        self.assertIn("Delivered-To: team@mx.example.test", content)
        # owner-team exists: it is the sender of the expansion.
        senders = [d.decode() for t, d, off in recs if t == "S"]
        self.assertEqual(senders, ["owner-team@mx.example.test"])
        # Deliver the resubmitted message as qmgr would.
        lines = content
        qid2, status = self.deliver(
            [("team@mx.example.test", r) for r in sorted(rcpts)], lines)
        for r in sorted(rcpts):
            self.log_line(qid2, r, "sent", "delivered to mailbox")
            user = r.split("@")[0]
            self.assertIn("hello team", self.read(
                os.path.join(self.spool, user)))

    def test_alias_loop(self):
        # loopa forwards to loopb... which is unknown; with the header
        # already naming loopa the loop is caught first.
        qid, status = self.deliver(
            ["loopa@mx.example.test"],
            ["Delivered-To: loopa@mx.example.test", "", "body"])
        self.log_line(qid, "loopa@mx.example.test", "bounced",
                      "mail forwarding loop for loopa@mx.example.test")

    def test_alias_to_file_and_command(self):
        qid, status = self.deliver(["tofile@mx.example.test",
                                    "tocmd@mx.example.test"],
                                   ["Subject: fc", "", "payload"],
                                   sender="o'brien@example.test")
        self.assertEqual(status, 0)
        self.log_line(qid, "tofile@mx.example.test", "sent",
                      "delivered to file: %s/file.out" % self.shared)
        cmd = "cat > %s/cmd.out && env > %s/cmd.env" % (self.shared,
                                                         self.shared)
        self.log_line(qid, "tocmd@mx.example.test", "sent",
                      "delivered to command: " + cmd)
        text = self.read(os.path.join(self.shared, "file.out"))
        self.assertIn("Delivered-To: tofile@mx.example.test\n", text)
        self.assertIn("payload\n", text)
        nobody = pwd.getpwnam("nobody")
        self.assertEqual(os.stat(os.path.join(self.shared,
                                              "file.out")).st_uid,
                         nobody.pw_uid)
        out = self.read(os.path.join(self.shared, "cmd.out"))
        self.assertTrue(out.startswith("From o'brien@example.test  "))
        self.assertIn("payload\n", out)
        env = dict(line.split("=", 1) for line in self.read(
            os.path.join(self.shared, "cmd.env")).splitlines()
            if "=" in line)
        self.assertEqual(env["SENDER"], "o'brien@example.test")
        self.assertEqual(env["RECIPIENT"], "tocmd@mx.example.test")
        self.assertEqual(env["LOCAL"], "tocmd")
        self.assertEqual(env["DOMAIN"], "mx.example.test")
        self.assertEqual(env["USER"], "nobody")
        self.assertEqual(env["LOGNAME"], "nobody")
        self.assertNotIn("EXTENSION", env)

    def test_dot_forward(self):
        qid, status = self.deliver(["pstloc3@mx.example.test"],
                                   ["Subject: fwd", "", "via forward"])
        self.assertEqual(status, 0)
        home = self.homes["pstloc3"]
        self.log_line(qid, "pstloc3@mx.example.test", "sent",
                      "delivered to mailbox")
        self.log_line(qid, "pstloc3@mx.example.test", "sent",
                      "delivered to file: %s/saved.mbox" % home)
        self.assertIn("via forward", self.read(
            os.path.join(self.spool, "pstloc3")))
        saved = os.path.join(home, "saved.mbox")
        self.assertIn("via forward", self.read(saved))
        self.assertEqual(os.stat(saved).st_uid,
                         pwd.getpwnam("pstloc3").pw_uid)

    def test_forward_extension_command(self):
        qid, status = self.deliver(["pstloc4+list@mx.example.test"],
                                   ["Subject: x", "", "body"])
        self.assertEqual(status, 0)
        self.log_line(qid, "pstloc4+list@mx.example.test", "sent",
                      "delivered to command: env > %s/fwd.env"
                      % self.shared)
        path = os.path.join(self.shared, "fwd.env")
        env = dict(line.split("=", 1) for line in self.read(
            path).splitlines() if "=" in line)
        self.assertEqual(env["EXTENSION"], "list")
        self.assertEqual(env["USER"], "pstloc4")
        self.assertEqual(env["HOME"], self.homes["pstloc4"])
        self.assertEqual(env["LOCAL"], "pstloc4+list")
        self.assertEqual(env["ORIGINAL_RECIPIENT"],
                         "pstloc4+list@mx.example.test")
        self.assertEqual(env["PATH"], "/usr/bin:/bin")
        # Postfix 3.7 runs it in the queue directory (observed).
        self.assertEqual(env["PWD"], self.inst.queue)
        self.assertEqual(os.stat(path).st_uid,
                         pwd.getpwnam("pstloc4").pw_uid)

    def test_include_command_restricted(self):
        qid, status = self.deliver(["inc@mx.example.test"],
                                   ["Subject: x", "", "body"])
        line = self.log_line(qid, "inc@mx.example.test", "bounced",
                             "mail to command is restricted")
        self.assertIn("dsn=5.7.1", line)

    def test_forward_bad_owner_ignored(self):
        qid, status = self.deliver(["pstloc2@mx.example.test"],
                                   ["Subject: owner", "", "body"])
        self.log_line(qid, "pstloc2@mx.example.test", "sent",
                      "delivered to mailbox")
        self.assertTrue(self.inst.wait_log(
            r"postfix/local\[\d+\]: warning: file %s/.forward has bad "
            r"owner uid %d" % (re.escape(self.homes["pstloc2"]),
                               pwd.getpwnam("pstloc1").pw_uid)))

    def test_command_time_limit(self):
        start = time.time()
        qid, status = self.deliver(["slow@mx.example.test"],
                                   ["Subject: x", "", "body"])
        self.assertLess(time.time() - start, 20)
        self.assertNotEqual(status, 0)
        line = self.log_line(qid, "slow@mx.example.test", "deferred",
                             'Command time limit exceeded: "sleep 30"')
        self.assertIn("dsn=4.3.0", line)
        self.assertEqual(self.qtypes(qid), ["R"])

    def test_command_exit_status(self):
        qid, status = self.deliver(["fails@mx.example.test"],
                                   ["Subject: x", "", "body"])
        line = self.log_line(qid, "fails@mx.example.test", "bounced",
                             "user unknown. Command output: no such "
                             "mailbox")
        self.assertIn("dsn=5.1.1", line)

    def test_duplicates_in_one_request(self):
        qid, status = self.deliver(["twice@mx.example.test",
                                    "twice2@mx.example.test"],
                                   ["Subject: dup", "", "once only"])
        self.assertEqual(status, 0)
        path = os.path.join(self.shared, "twice.out")
        for r in ("twice@mx.example.test", "twice2@mx.example.test"):
            self.log_line(qid, r, "sent", "delivered to file: " + path)
        time.sleep(0.5)
        self.assertEqual(len(re.findall(r"%s: to=<twice@" % qid,
                                        self.inst.log())), 1)
        self.assertEqual(self.read(path).count("once only"), 1)
        self.assertEqual(self.qtypes(qid), ["D", "D"])

    def test_malformed_request_no_reply(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(os.path.join(self.inst.queue, "private", "local"))
        f = s.makefile("rb")
        read_attrs(f)
        s.sendall(put_attrs([("flags", "x")]))
        self.assertEqual(f.read(1), b"")
        f.close()
        s.close()


class LocalMaildir(LocalBase):
    main_extra = "home_mailbox = Maildir/\nalias_maps =\n"

    def test_maildir(self):
        qid, status = self.deliver(["pstloc1@mx.example.test"],
                                   ["Subject: md", "", "From maildir"])
        self.inst.wait_log(r"postfix/local.*%s" % qid)
        self.assertEqual(status, 0, self.inst.log()[-2000:])
        self.log_line(qid, "pstloc1@mx.example.test", "sent",
                      "delivered to maildir")
        home = self.homes["pstloc1"]
        files = glob.glob(os.path.join(home, "Maildir", "new", "*"))
        self.assertEqual(len(files), 1)
        self.assertRegex(os.path.basename(files[0]),
                         r"^\d+\.V[0-9a-f]+I[0-9a-f]+M\d+\.")
        self.assertEqual(os.listdir(os.path.join(home, "Maildir", "tmp")),
                         [])
        text = self.read(files[0])
        self.assertTrue(text.startswith(
            "Return-Path: <sender@example.test>\n"))
        self.assertIn("Delivered-To: pstloc1@mx.example.test\n", text)
        self.assertIn("\nFrom maildir\n", text)
        self.assertEqual(os.stat(files[0]).st_uid,
                         pwd.getpwnam("pstloc1").pw_uid)


FLOW_MASTER_CF = MASTER_CF + """\
pickup    unix  n       -       n       60      1       pickup
qmgr      unix  n       -       n       300     1       qmgr
"""


class LocalFlow(LocalBase):
    """sendmail -> pickup -> cleanup -> qmgr -> local, when qmgr is built."""
    main_extra = ("alias_maps = hash:TOP/aliases\nmydomain = example.test\n"
                  "myorigin = $mydomain\n"
                  "mydestination = $myhostname, localhost, $mydomain\n")
    master_cf = FLOW_MASTER_CF

    @classmethod
    def setUpClass(cls):
        for rel in ("qmgr/qmgr", "pickup/pickup", "sendmail/sendmail",
                    "postdrop/postdrop"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        super().setUpClass()

    @classmethod
    def prepare(cls):
        path = os.path.join(cls.top, "aliases")
        with open(path, "w") as f:
            f.write("crew: pstloc1, pstloc2\n")
        env = dict(os.environ, MAIL_CONFIG=cls.inst.conf)
        subprocess.run([e2e.prog("postalias"), "hash:" + path], env=env,
                       check=True, capture_output=True)

    def sendmail(self, args, text):
        return e2e.run([os.path.join(self.inst.bin, "sendmail")] + args,
                       input=text, env={"MAIL_CONFIG": self.inst.conf})

    def wait_mailbox(self, user, needle, timeout=30):
        path = os.path.join(self.spool, user)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(path) and needle in self.read(path):
                return self.read(path)
            time.sleep(0.2)
        self.fail("%r not in %s; log:\n%s" % (needle, path,
                                              self.inst.log()[-3000:]))

    def test_sendmail_to_mbox(self):
        r = self.sendmail(["-f", "alice@example.test", "pstloc3"],
                          "Subject: flow\n\nFrom the flow\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        text = self.wait_mailbox("pstloc3", "the flow")
        self.assertIn("\n>From the flow\n", text)
        self.assertIn("Delivered-To: pstloc3@example.test\n", text)
        m = self.inst.wait_log(r"postfix/local\[\d+\]: \w+: "
                               r"to=<pstloc3@example.test>, "
                               r"orig_to=<pstloc3>, relay=local, "
                               r"delay=[\d.]+, delays=[\d./]+, dsn=2.0.0, "
                               r"status=sent \(delivered to mailbox\)")
        self.assertTrue(m, self.inst.log()[-3000:])

    def test_alias_in_process(self):
        # Postfix 3.7 (observed): the local members of an alias are
        # delivered by the same local process, each logged for itself with
        # the original recipient; nothing is resubmitted; the mailboxes
        # get the alias as Delivered-To: and X-Original-To:.
        mark = len(self.inst.log())
        r = self.sendmail(["-f", "alice@example.test", "crew"],
                          "Subject: crew\n\ncrew message\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        for user in ("pstloc1", "pstloc2"):
            text = self.wait_mailbox(user, "crew message")
            head = text[text.rindex("From alice@example.test "):]
            head = head[:head.index("\n\n")]
            self.assertEqual(re.findall(r"^Delivered-To: .*$", head, re.M),
                             ["Delivered-To: crew@example.test"])
            self.assertIn("\nX-Original-To: crew\n", head)
        for user in ("pstloc1", "pstloc2"):
            self.assertTrue(self.inst.wait_log(
                r"postfix/local\[\d+\]: \w+: to=<%s@example\.test>, "
                r"orig_to=<crew>, relay=local, delay=[\d.]+, "
                r"delays=[\d./]+, dsn=2\.0\.0, status=sent \(delivered to "
                r"mailbox\)$" % user), self.inst.log()[-3000:])
        self.assertTrue(self.inst.wait_log(r"\w+: removed$"))
        self.assertNotIn("forwarded as", self.inst.log()[mark:])


PASS_MASTER_CF = MASTER_CF + """\
discard   unix  -       -       n       -       -       discard
error     unix  -       -       n       -       -       error
"""


class LocalPass(LocalBase):
    """mailbox_transport(_maps) and fallback_transport: local passes the
    recipient to another agent, which logs the outcome itself."""
    main_extra = ("alias_maps = hash:TOP/aliases\n"
                  "mailbox_transport_maps = hash:TOP/mbt\n"
                  "mailbox_command_maps = hash:TOP/mbc\n"
                  "fallback_transport = discard:fell back\n"
                  "luser_relay = pstloc4\n"
                  "require_home_directory = yes\n")
    master_cf = PASS_MASTER_CF

    @classmethod
    def prepare(cls):
        env = dict(os.environ, MAIL_CONFIG=cls.inst.conf)
        tables = {
            "aliases": "combo: :include:%s/combo.list\n" % cls.shared,
            "mbt": ("pstloc1 discard:kept elsewhere\n"
                    "pstloc2 error:5.2.1 mailbox disabled\n"
                    "pstloc3 nosuch:\n"),
            "mbc": "pstloc4 cat > %s/mbc.out\n" % cls.shared,
        }
        with open(os.path.join(cls.shared, "combo.list"), "w") as f:
            f.write("\\pstloc1\n\\pstloc3\n")
        for name, text in tables.items():
            path = os.path.join(cls.top, name)
            with open(path, "w") as f:
                f.write(text)
            prog = "postalias" if name == "aliases" else "postmap"
            subprocess.run([e2e.prog(prog), "hash:" + path], env=env,
                           check=True, capture_output=True)

    def agent_line(self, agent, qid, to, dsn, status, text):
        pat = (r"postfix/%s\[\d+\]: %s: to=<%s>(, orig_to=<[^>]*>)?, "
               r"relay=none, "
               r"delay=[\d.]+, delays=[\d./]+, dsn=%s, status=%s \(%s\)$"
               % (agent, re.escape(qid), re.escape(to), re.escape(dsn),
                  status, re.escape(text)))
        m = self.inst.wait_log(pat)
        self.assertIsNotNone(m, "no log line %r in:\n%s"
                             % (pat, self.inst.log()[-3000:]))
        return m.group(0)

    def no_local_line(self, qid):
        self.assertNotRegex(self.inst.log(),
                            r"postfix/local\[\d+\]: %s: to=" % qid)

    def test_mailbox_transport_discard(self):
        qid, status = self.deliver(["pstloc1@mx.example.test"],
                                   ["Subject: mt", "", "body"])
        self.assertEqual(status, 0)
        self.agent_line("discard", qid, "pstloc1@mx.example.test", "2.0.0",
                        "sent", "kept elsewhere")
        self.no_local_line(qid)
        self.assertEqual(self.qtypes(qid), ["D"])
        self.assertFalse(os.path.exists(os.path.join(self.spool,
                                                     "pstloc1")))

    def test_mailbox_transport_error_bounces(self):
        qid, status = self.deliver(["pstloc2@mx.example.test"],
                                   ["Subject: mt", "", "body"])
        self.assertEqual(status, 0)
        self.agent_line("error", qid, "pstloc2@mx.example.test", "5.2.1",
                        "bounced", "mailbox disabled")
        self.no_local_line(qid)
        recs = qfile.read(os.path.join(self.inst.queue, "bounce", qid))
        attrs = [d.decode() for t, d, off in recs if t == "A"]
        self.assertIn("reason=mailbox disabled", attrs)
        self.assertEqual(self.qtypes(qid), ["D"])
        self.assertFalse(os.path.exists(os.path.join(self.spool,
                                                     "pstloc2")))

    def test_missing_service_defers(self):
        qid, status = self.deliver(["pstloc3@mx.example.test"],
                                   ["Subject: mt", "", "body"])
        self.assertNotEqual(status, 0)
        self.log_line(qid, "pstloc3@mx.example.test", "deferred",
                      "mail transport unavailable")
        self.assertTrue(self.inst.wait_log(
            r"warning: connect to private/nosuch: "))
        self.assertEqual(self.qtypes(qid), ["R"])
        self.assertTrue(glob.glob(os.path.join(self.inst.queue, "defer",
                                               "**", qid), recursive=True))

    def test_one_deferred_pass_keeps_recipient(self):
        # The alias reaches a mailbox passed to discard (final) and one
        # whose transport is missing: the recipient stays, to be tried
        # again as a whole, as in Postfix.
        qid, status = self.deliver(["combo@mx.example.test"],
                                   ["Subject: combo", "", "body"])
        self.assertNotEqual(status, 0, self.inst.log()[-3000:])
        self.agent_line("discard", qid, "combo@mx.example.test", "2.0.0",
                        "sent", "kept elsewhere")
        self.log_line(qid, "combo@mx.example.test", "deferred",
                      "mail transport unavailable")
        self.assertEqual(self.qtypes(qid), ["R"])

    def test_fallback_transport_for_unknown_user(self):
        # fallback_transport comes before luser_relay.
        qid, status = self.deliver([("Nobody@x.test",
                                     "nosuchuser@mx.example.test")],
                                   ["Subject: fb", "", "body"])
        self.assertEqual(status, 0)
        line = self.agent_line("discard", qid, "nosuchuser@mx.example.test",
                               "2.0.0", "sent", "fell back")
        self.assertIn("orig_to=<Nobody@x.test>", line)
        self.no_local_line(qid)
        self.assertEqual(self.qtypes(qid), ["D"])
        self.assertFalse(os.path.exists(os.path.join(self.spool,
                                                     "pstloc4")))

    def test_mailbox_command_maps(self):
        qid, status = self.deliver(["pstloc4@mx.example.test"],
                                   ["Subject: mbc", "", "by command"])
        self.assertEqual(status, 0)
        self.log_line(qid, "pstloc4@mx.example.test", "sent",
                      "delivered to command: cat > %s/mbc.out"
                      % self.shared)
        self.assertIn("by command", self.read(os.path.join(self.shared,
                                                          "mbc.out")))

    def test_require_home_directory(self):
        home = self.homes["pstloc4"]
        os.rename(home, home + ".away")
        try:
            qid, status = self.deliver(["pstloc4@mx.example.test"],
                                       ["Subject: home", "", "body"])
        finally:
            os.rename(home + ".away", home)
        self.assertNotEqual(status, 0)
        self.log_line(qid, "pstloc4@mx.example.test", "deferred",
                      "cannot access home directory %s: "
                      "No such file or directory" % home)
        self.assertEqual(self.qtypes(qid), ["R"])

    def test_passed_request_is_not_marked_by_the_agent(self):
        # What local sends: the other agent records but leaves R alone.
        qid = new_qid()
        data = qfile.message(sender="s@example.test",
                             recipients=["a@example.test"],
                             lines=["Subject: p", "", "b"],
                             arrival="%d 0" % int(time.time()))
        recs = list(qfile.records(data))
        off = next(o for t, d, o in recs if t == "R")
        data_offset = next(o for t, d, o in recs if t == "M") + 2
        path = os.path.join(self.inst.queue, "active", qid)
        with open(path, "wb") as f:
            f.write(data)
        pw = pwd.getpwnam("postfix")
        os.chown(path, pw.pw_uid, pw.pw_gid)
        now = "%d 0" % int(time.time())
        req = [("flags", 16), ("queue_name", "active"), ("queue_id", qid),
               ("data_offset", data_offset), ("data_size", 10),
               ("nexthop", "gone"), ("encoding", ""), ("sendopts", 0),
               ("sender", "s@example.test"), ("envid", ""), ("ret", 0),
               ("arrival_time", now), ("active_time", now),
               ("client_name", ""), ("client_addr", ""),
               ("client_port", ""), ("protocol_name", ""),
               ("helo_name", ""), ("sasl_method", ""),
               ("sasl_username", ""), ("sasl_sender", ""),
               ("log_ident", qid), ("rewrite_context", "local"),
               ("recipient_count", 1)]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(os.path.join(self.inst.queue, "private", "discard"))
        f = s.makefile("rb")
        read_attrs(f)
        s.sendall(put_attrs(req) + put_attrs(
            [("original_recipient", ""), ("recipient", "a@example.test"),
             ("offset", off), ("dsn_orig_rcpt", ""), ("notify_flags", 0)]))
        self.assertEqual(read_attrs(f).get("status"), "0",
                         self.inst.log()[-3000:])
        f.close()
        s.close()
        self.agent_line("discard", qid, "a@example.test", "2.0.0", "sent",
                        "gone")
        self.assertEqual(self.qtypes(qid), ["R"])


class LocalPassFlow(LocalFlow):
    """sendmail -> qmgr -> local -> mailbox_transport = discard."""
    main_extra = LocalFlow.main_extra + (
        "mailbox_transport = discard:via mailbox_transport\n")
    master_cf = FLOW_MASTER_CF + """\
discard   unix  -       -       n       -       -       discard
"""

    def test_sendmail_to_mbox(self):
        r = self.sendmail(["-f", "alice@example.test", "pstloc3"],
                          "Subject: flow\n\nFrom the flow\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = self.inst.wait_log(r"postfix/discard\[\d+\]: (\w+): "
                               r"to=<pstloc3@example.test>, "
                               r"orig_to=<pstloc3>, relay=none, "
                               r"delay=[\d.]+, delays=[\d./]+, dsn=2.0.0, "
                               r"status=sent \(via mailbox_transport\)$",
                               timeout=30)
        self.assertTrue(m, self.inst.log()[-3000:])
        self.assertTrue(self.inst.wait_log(r"postfix/qmgr\[\d+\]: %s: "
                                           r"removed" % m.group(1)),
                        self.inst.log()[-3000:])
        self.assertFalse(os.path.exists(os.path.join(self.spool,
                                                     "pstloc3")))

    def test_alias_in_process(self):
        # Aliases come first; their members' mailboxes are passed on,
        # each member as itself (to=<member>, orig_to=<crew>).
        r = self.sendmail(["-f", "alice@example.test", "crew"],
                          "Subject: crew\n\ncrew message\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        for user in ("pstloc1", "pstloc2"):
            self.assertTrue(self.inst.wait_log(
                r"postfix/discard\[\d+\]: \w+: to=<%s@example.test>, "
                r"orig_to=<crew>, relay=none, .*status=sent "
                r"\(via mailbox_transport\)" % user, timeout=30),
                self.inst.log()[-3000:])
            self.assertFalse(os.path.exists(os.path.join(self.spool, user)))


if __name__ == "__main__":
    unittest.main()
