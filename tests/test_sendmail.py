"""sendmail, postdrop and pickup: local submission.

Without master (most tests): sendmail's options, exit codes and texts
(pinned from Debian's Postfix 3.7), the maildrop file that sendmail and
postdrop make (read back with our postcat), and postdrop's refusals (bad
records written to it directly, unauthorized users, a foreign config
directory).  With master, pickup and cleanup (when cleanup is built): the
whole path sendmail -> postdrop -> pickup -> cleanup -> incoming/.
"""
import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
import time
import unittest

import e2e
import qfile

NOBODY = pwd.getpwnam("nobody").pw_uid


record = qfile.record


def message(*recs):
    return b"".join(record(t, d) for t, d in recs)


GOOD = [("A", "rewrite_context=local"), ("S", "root"), ("R", "bob"),
        ("M", ""), ("N", "Subject: x"), ("N", ""), ("N", "body"),
        ("X", ""), ("E", "")]


class Submit(unittest.TestCase):
    master_cf = ""
    main_extra = ""

    def setUp(self):
        self.top = tempfile.mkdtemp(prefix="test_sendmail.")
        self.inst = e2e.Instance(self.top, self.master_cf, self.main_extra)
        q = self.inst.queue
        for d, owner, mode in (("maildrop", "postfix:postdrop", 0o730),
                               ("public", "postfix:postdrop", 0o710),
                               ("incoming", "postfix", 0o700),
                               ("corrupt", "postfix", 0o700),
                               ("private", "postfix", 0o700),
                               ("pid", "root", 0o755)):
            os.makedirs(os.path.join(q, d), exist_ok=True)
            shutil.chown(os.path.join(q, d), *(owner.split(":") + [None])[:2])
            os.chmod(os.path.join(q, d), mode)
        os.chmod(q, 0o755)
        # postdrop set-gid postdrop, as installed; sendmail and postcat.
        self.postdrop_path = os.path.join(self.inst.bin, "postdrop")
        os.unlink(self.postdrop_path)
        shutil.copy2(e2e.prog("postdrop"), self.postdrop_path)
        shutil.chown(self.postdrop_path, "root", "postdrop")
        os.chmod(self.postdrop_path, 0o2755)
        self.env = {"MAIL_CONFIG": self.inst.conf}

    def tearDown(self):
        self.inst.stop()
        shutil.rmtree(self.top, ignore_errors=True)

    def sendmail(self, args, input="", user=None):
        argv = [os.path.join(self.inst.bin, "sendmail")] + args
        if user:
            argv = ["setpriv", "--reuid=%d" % user, "--regid=65534",
                    "--clear-groups", "--"] + argv
        return e2e.run(argv, input=input, env=self.env)

    def maildrop(self):
        d = os.path.join(self.inst.queue, "maildrop")
        return sorted(os.listdir(d))

    def postcat(self, path):
        r = e2e.run([e2e.prog("postcat"), "-c", self.inst.conf, path],
                    env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout


class TestOptions(Submit):
    # Texts and the exit status 75 observed with Debian's Postfix 3.7.
    CASES = [
        (["-X"], ["sendmail: option requires an argument -- 'X'",
                  "sendmail: fatal: usage: sendmail [options]"]),
        (["-Q"], ["sendmail: invalid option -- 'Q'",
                  "sendmail: fatal: usage: sendmail [options]"]),
        (["-bz"], ["sendmail: fatal: unsupported: -bz"]),
        (["-Xfoo", "x"], ["sendmail: fatal: unsupported: -Xf"]),
        (["-XVxy", "x"], ["sendmail: fatal: -V requires two characters "
                          "from -=+"]),
        (["-B", "7bit", "x"], ["sendmail: fatal: -B option needs 8BITMIME "
                               "or 7BIT"]),
        (["-n"], ["sendmail: fatal: -n option not supported"]),
        (["-qS"], ["sendmail: fatal: -qS is not implemented"]),
        (["-I", "x"], ["sendmail: fatal: alias initialization mode "
                       "requires no recipient"]),
        (["-bl", "x"], ["sendmail: fatal: daemon mode requires no "
                        "recipient"]),
        ([], ["sendmail: fatal: root(0): Recipient addresses must be "
              "specified on the command line or via the -t option"]),
        (["-ox"], ["sendmail: fatal: root(0): Recipient addresses must be "
                   "specified on the command line or via the -t option"]),
    ]

    def test_errors(self):
        for args, want in self.CASES:
            r = self.sendmail(args)
            self.assertEqual(r.returncode, 75, (args, r.stderr))
            lines = r.stderr.splitlines()
            for w in want:
                self.assertIn(w, lines, args)
        self.assertEqual(self.maildrop(), [])

    def test_not_yet(self):
        # (-bs works now: tests/test_smtpd_xclient.py.)
        # -qR runs postqueue -s, which has no flush service to ask
        # (Postfix's text and status 69).
        r = self.sendmail(["-qRdead.test"])
        self.assertEqual(r.returncode, 69, r.stderr)
        self.assertIn('Flush service is not configured for destination '
                      '"dead.test"', r.stderr)

    def test_ignored(self):
        for args in (["-bh"], ["-bH"], ["-q5m"]):
            r = self.sendmail(args)
            self.assertEqual(r.returncode, 0, (args, r.stderr))

    def test_dsn_warnings(self):
        r = self.sendmail(["-N", "bogus", "-R", "bogus", "r"], "x\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('sendmail: warning: unknown DSN NOTIFY command value '
                      '"bogus" in "bogus"', r.stderr)
        self.assertIn("sendmail: warning: bad -N option value -- ignored",
                      r.stderr)
        self.assertIn("sendmail: warning: bad -R option value -- ignored",
                      r.stderr)

    def test_extract_without_recipients(self):
        r = self.sendmail(["-t"], "Subject: x\nTo: list:;\n\nbody\n")
        self.assertEqual(r.returncode, 75)
        self.assertIn("sendmail: fatal: root(0): No recipient addresses "
                      "found in message header", r.stderr)
        time.sleep(0.2)  # postdrop removes its file when sendmail stops
        self.assertEqual(self.maildrop(), [])


class TestMaildrop(Submit):
    def only_file(self):
        files = self.maildrop()
        self.assertEqual(len(files), 1)
        return os.path.join(self.inst.queue, "maildrop", files[0])

    def test_file(self):
        r = self.sendmail(["-f", "<s@example.test>", "-F", "Joe\nBcc: x",
                           "r1", '"q r"@x.test, r3'],
                          "From me Mon Jan  1\nSubject: hi\n\n"
                          "body\r\n..\n.\nafter\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("postdrop: warning: unable to look up public/pickup: "
                      "No such file or directory", r.stderr)
        path = self.only_file()
        st = os.lstat(path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o744)
        self.assertEqual(st.st_uid, 0)
        out = self.postcat(path)
        self.assertIn("sender: s@example.test\n", out)
        self.assertIn("sender_fullname: Joe Bcc: x\n", out)
        self.assertIn("recipient: r1\nrecipient: q r@x.test\n"
                      "recipient: r3\n", out)
        # From_ dropped, CR before LF removed, ".." kept, "." ends input.
        self.assertRegex(out, r"\*\*\*\nSubject: hi\n\nbody\n\.\.\n\*\*\*")

    def test_verify_probe(self):
        # sendmail -bv: the probe Postfix 3.7's sendmail writes (records
        # observed with postcat -v in maildrop/), standard input unread.
        r = self.sendmail(["-bv", "root", "nosuchuser"], "not read\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "Mail Delivery Status Report will be "
                         "mailed to <root>.\n")
        r = e2e.run([e2e.prog("postcat"), "-v", "-c", self.inst.conf,
                     self.only_file()], env=self.env)
        self.assertIn("sender: root\n", r.stdout)
        self.assertIn("recipient: root\nrecipient: nosuchuser\n", r.stdout)
        self.assertIn("regular_text: From: root\n"
                      "regular_text: Subject: probe\n"
                      "unterminated_text: To:\n"
                      "regular_text: \troot,\n"
                      "regular_text: \tnosuchuser\n", r.stdout)
        self.assertNotIn("not read", r.stdout)

    def test_options_records(self):
        r = self.sendmail(["-i", "-t", "-N", "success,delay", "-R", "hdrs",
                           "-V", "env-1", "-B", "8BITMIME", "-XV", "r1"],
                          "To: a@b\n\n.\nline\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = self.postcat(self.only_file())
        for want in ("named_attribute: encoding=8bit", "recipient: r1",
                     "sender: root"):
            self.assertIn(want, out)
        self.assertIn("\n.\nline\n", out)

    def test_long_line(self):
        r = self.sendmail(["r"], "x" * 5000 + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = e2e.run([e2e.prog("postcat"), "-v", "-c", self.inst.conf,
                     self.only_file()], env=self.env)
        # Two pieces of line_length_limit (2048) and the rest.
        self.assertEqual(r.stdout.count("unterminated_text: " + "x" * 2048),
                         2)
        self.assertIn("regular_text: " + "x" * 904 + "\n", r.stdout)

    def test_unauthorized(self):
        with open(os.path.join(self.inst.conf, "main.cf"), "a") as f:
            f.write("authorized_submit_users = !root, static:anyone\n")
        r = self.sendmail(["r"], "x\n")
        self.assertEqual(r.returncode, 75)
        self.assertIn("sendmail: fatal: User root(0) is not allowed to "
                      "submit mail", r.stderr)
        r = e2e.run([self.postdrop_path, "-r"], input="", env=self.env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("postdrop: fatal: User root(0) is not allowed to "
                      "submit mail", r.stderr)
        self.assertEqual(self.maildrop(), [])

    def test_unauthorized_nobody(self):
        with open(os.path.join(self.inst.conf, "main.cf"), "a") as f:
            f.write("authorized_submit_users = !nobody, static:anyone\n")
        r = self.sendmail(["r"], "x\n", user=NOBODY)
        self.assertEqual(r.returncode, 75)
        self.assertIn("sendmail: fatal: User nobody(%d) is not allowed to "
                      "submit mail" % NOBODY, r.stderr)

    def test_foreign_config(self):
        # A user's MAIL_CONFIG is refused unless the default main.cf lists it.
        r = self.sendmail(["r"], "x\n", user=NOBODY)
        self.assertEqual(r.returncode, 75)
        self.assertRegex(r.stderr, r"postdrop: (fatal: open file "
                         r"/etc/postfix/main.cf|error: unauthorized "
                         r"configuration directory name)")
        self.assertIn("unable to execute", r.stderr)
        self.assertEqual(self.maildrop(), [])


class TestTooBig(Submit):
    main_extra = "message_size_limit = 1000\n"

    def test_oversized_message_is_refused(self):
        # Postfix 3.7 (observed): postdrop "warning: uid=0: File too
        # large", sendmail "fatal: root(0): message file too big", 75.
        big = "Subject: x\n\n" + ("a" * 80 + "\n") * 50
        r = self.sendmail(["root"], big)
        self.assertEqual(r.returncode, 75, r.stderr)
        lines = r.stderr.splitlines()
        self.assertIn("postdrop: warning: uid=0: File too large", lines)
        self.assertIn("sendmail: fatal: root(0): message file too big",
                      lines)
        self.assertEqual(self.maildrop(), [])
        # Below the limit the same command is accepted.
        r = self.sendmail(["root"], "Subject: x\n\nsmall\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.maildrop()), 1)


class TestPostdropRefuses(Submit):
    def postdrop(self, data, cwd=None):
        p = subprocess.run([self.postdrop_path, "-r"], input=data,
                           capture_output=True, cwd=cwd,
                           env=dict(os.environ, **self.env), timeout=30)
        return p

    def test_good(self):
        p = self.postdrop(message(*GOOD))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"postdrop_protocol", p.stdout)
        self.assertTrue(p.stdout.endswith(b"status\x000\x00\x00"), p.stdout)
        self.assertEqual(len(self.maildrop()), 1)

    BAD = [
        ("line break in sender", [("S", "root\nBcc: x")],
         "line break or NUL in sender record"),
        ("CR in recipient", [("S", "root"), ("R", "bob\rTo: x")],
         "line break or NUL in recipient record"),
        ("NUL in full name", [("F", "a\0b"), ("S", "root")],
         "line break or NUL in"),
        ("time record", [("T", "1 2"), ("S", "root")], "unexpected"),
        ("submit_uid", [("A", "submit_uid=0"), ("S", "root")],
         "forbidden named_attribute record: submit_uid"),
        ("queue file record", [("S", "root"), ("D", "bob")], "unexpected"),
        ("no recipient", [("S", "root"), ("M", "")], "no recipient before"),
        ("extracted", [("S", "root"), ("R", "b"), ("M", ""), ("X", ""),
                       ("R", "x")], "unexpected"),
    ]

    def test_bad_records(self):
        for name, recs, why in self.BAD:
            p = self.postdrop(message(*(recs + [("E", "")])))
            self.assertEqual(p.returncode, 1, name)
            self.assertIn(why, p.stderr.decode(), name)
            self.assertIn(b"status\x001\x00", p.stdout, name)
            self.assertEqual(self.maildrop(), [], name)

    def test_truncated(self):
        data = message(*GOOD)
        p = self.postdrop(data[:len(data) - 9])
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"unexpected EOF in input", p.stderr)
        self.assertEqual(self.maildrop(), [])
        # A clean stop between records: sendmail gave up; no file, no noise.
        p = self.postdrop(message(*GOOD[:3]))
        self.assertEqual(p.returncode, 0)
        self.assertEqual(self.maildrop(), [])

    def test_hostile_cwd_and_env(self):
        # DB_CONFIG and main.cf in the caller's directory do not matter.
        cwd = os.path.join(self.top, "cwd")
        os.makedirs(cwd)
        with open(os.path.join(cwd, "DB_CONFIG"), "w") as f:
            f.write("set_data_dir /nonexistent\n")
        p = subprocess.run([self.postdrop_path, "-r"], input=message(*GOOD),
                           capture_output=True, cwd=cwd, timeout=30,
                           env={"MAIL_CONFIG": self.inst.conf,
                                "TZ": "Nowhere/Bogus",
                                "LD_PRELOAD": "/nonexistent.so"})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(self.maildrop()), 1)

    def test_closed_stdio(self):
        # Descriptors 0-2 closed: postdrop must not write into its own file.
        p = subprocess.run("exec %s -r <&- >&- 2>&-" % self.postdrop_path,
                           shell=True, env=dict(os.environ, **self.env),
                           timeout=30)
        self.assertEqual(self.maildrop(), [])


FLOW_MASTER_CF = e2e.master_cf("pickup", "cleanup", "rewrite", "postlog")


@unittest.skipUnless(os.path.exists(e2e.prog("cleanup")),
                     "SKIPPED LOUDLY: cleanup is not built in this tree")
class TestFlow(Submit):
    master_cf = FLOW_MASTER_CF
    main_extra = "mydomain = example.test\nmyorigin = $mydomain\n"

    def setUp(self):
        super().setUp()
        self.inst.start()

    def incoming(self, n=1, timeout=10):
        d = os.path.join(self.inst.queue, "incoming")
        deadline = time.time() + timeout
        while time.time() < deadline:
            files = [f for f in os.listdir(d)
                     if os.stat(os.path.join(d, f)).st_mode & 0o100]
            if len(files) >= n:
                return files
            time.sleep(0.1)
        self.fail("no queue file in incoming/; log:\n" + self.inst.log())

    def test_flow(self):
        r = self.sendmail(["-f", "alice", "bob@example.test"],
                          "Subject: flow\n\nhello\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        qid = self.incoming()[0]
        m = self.inst.wait_log(r"postfix/pickup\[\d+\]: (\w+): uid=0 "
                               r"from=<alice>")
        self.assertTrue(m, self.inst.log())
        self.assertEqual(m.group(1), qid)
        self.assertEqual(self.maildrop(), [])
        out = self.postcat(os.path.join(self.inst.queue, "incoming", qid))
        self.assertIn("sender: alice@example.test", out)
        self.assertIn("recipient: bob@example.test", out)
        self.assertIn("Subject: flow", out)

    def test_extract_bcc(self):
        r = self.sendmail(["-t"], "To: a@example.test\nBcc: b@example.test"
                          "\nSubject: t\n\nbody\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        qid = self.incoming()[0]
        out = self.postcat(os.path.join(self.inst.queue, "incoming", qid))
        self.assertIn("recipient: a@example.test", out)
        self.assertIn("recipient: b@example.test", out)
        self.assertNotIn("Bcc:", out)

    def test_corrupt_maildrop_file(self):
        # A file a user forged in maildrop/ goes to corrupt/, not the queue.
        path = os.path.join(self.inst.queue, "maildrop", "ABCDE12345")
        with open(path, "wb") as f:
            f.write(message(("T", "1 0"), ("A", "submit_uid=0"),
                            ("S", "x"), ("R", "y"), ("M", ""), ("X", ""),
                            ("E", "")))
        os.chmod(path, 0o744)
        os.symlink("/etc/passwd", os.path.join(self.inst.queue, "maildrop",
                                               "ABCDE12346"))
        self.sendmail(["r@example.test"], "x\n")
        self.incoming()
        self.assertTrue(self.inst.wait_log(r"ABCDE12345.*corrupt"),
                        self.inst.log())
        self.assertTrue(os.path.exists(os.path.join(
            self.inst.queue, "corrupt", "ABCDE12345")))
        self.assertEqual(len(self.incoming()), 1)

    def test_truncated_maildrop_file(self):
        # A complete-marked file cut short (a disk full, a crash of a
        # foreign writer) goes to corrupt/ with a warning naming it; the
        # mail behind it still flows.
        data = message(("T", "1 0"), ("S", "x"), ("R", "y@example.test"),
                       ("M", ""), ("N", "Subject: cut"), ("N", ""),
                       ("N", "body"), ("X", ""), ("E", ""))
        path = os.path.join(self.inst.queue, "maildrop", "ABCDE12347")
        with open(path, "wb") as f:
            f.write(data[:len(data) - 12])
        os.chmod(path, 0o744)
        self.sendmail(["r@example.test"], "x\n")
        self.assertTrue(self.inst.wait_log(r"warning: .*ABCDE12347.*corrupt"),
                        self.inst.log())
        self.assertTrue(os.path.exists(os.path.join(
            self.inst.queue, "corrupt", "ABCDE12347")))
        self.assertEqual(len(self.incoming()), 1)


if __name__ == "__main__":
    unittest.main()
