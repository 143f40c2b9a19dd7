"""The virtual delivery agent end to end: sendmail -> pickup -> cleanup ->
qmgr -> virtual -> Maildir and mbox files below virtual_mailbox_base,
owned by the IDs of virtual_uid_maps and virtual_gid_maps.

Log lines and reasons are pinned as Debian's Postfix 3.7 writes them
(observed on 3.7.11 with the same tables): "status=sent (delivered to
maildir)", 'status=bounced (unknown user: "x@dom")', "warning: recipient
x: bad uid 50 in virtual_uid_maps" with a 4.3.5 deferral, "delivery
failed to mailbox PATH: error writing message: File too large" (5.2.2).
"""
import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import e2e

MASTER_CF = e2e.master_cf("pickup", "cleanup", "qmgr", "rewrite", "bounce",
                          "defer", "trace", "showq", "error", "local",
                          "virtual", "postlog")

USERS = ("pstvirt1", "pstvirt2")
QID = r"[0-9A-F]{6,}"
DELAYS = r"delay=\d+(?:\.\d+)?, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+"


class VirtualTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for rel in ("master/master", "qmgr/qmgr", "virtual/virtual",
                    "sendmail/sendmail", "postdrop/postdrop"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        cls.top = tempfile.mkdtemp(prefix="postern-virt-")
        os.chmod(cls.top, 0o755)
        try:
            e2e.make_users(cls.top, USERS)
            cls.uid = pwd.getpwnam("pstvirt1").pw_uid
            cls.uid2 = pwd.getpwnam("pstvirt2").pw_uid
            cls.gid2 = pwd.getpwnam("pstvirt2").pw_gid
            cls.base = os.path.join(cls.top, "vmail")
            for d in ("vd.test", "vd2.test"):
                os.makedirs(os.path.join(cls.base, d))
                os.chown(os.path.join(cls.base, d), cls.uid, -1)
            os.makedirs(os.path.join(cls.base, "root.test"))
            os.makedirs(os.path.join(cls.base, "g.test"))
            os.chown(os.path.join(cls.base, "g.test"), cls.uid2, -1)
            cls.write("vmailbox",
                      "md@vd.test vd.test/md/\n"
                      "mb@vd.test vd.test/mb\n"
                      "big@vd.test vd.test/big\n"
                      "lowuid@vd.test vd.test/low\n"
                      "nouid@vd.test vd.test/nouid\n"
                      "link@vd.test vd.test/link\n"
                      "other@vd.test g.test/other/\n"
                      "lock@vd.test root.test/lock\n"
                      "rootmd@vd.test root.test/md/\n"
                      "@vd2.test vd2.test/catchall/\n")
            cls.write("vuid",
                      "md@vd.test %d\nmb@vd.test %d\nbig@vd.test %d\n"
                      "lowuid@vd.test 50\nlink@vd.test %d\n"
                      "other@vd.test %d\nlock@vd.test %d\nrootmd@vd.test %d\n"
                      "@vd2.test %d\n"
                      % ((cls.uid,) * 3 + (cls.uid, cls.uid2, cls.uid,
                                           cls.uid, cls.uid)))
            cls.write("vgid", "other@vd.test %d\n" % cls.gid2)
            extra = ("mydomain = example.test\nmyorigin = $mydomain\n"
                     "mydestination = localhost\nbiff = no\n"
                     "recipient_delimiter = +\n"
                     "virtual_mailbox_domains = vd.test, vd2.test\n"
                     "virtual_mailbox_base = %s\n"
                     "virtual_mailbox_maps = texthash:%s/vmailbox\n"
                     "virtual_uid_maps = texthash:%s/vuid\n"
                     "virtual_gid_maps = texthash:%s/vgid, static:%d\n"
                     "virtual_minimum_uid = 100\n"
                     "virtual_mailbox_limit = 6000\n"
                     "message_size_limit = 5000\n"
                     "virtual_mailbox_lock = fcntl, dotlock\n"
                     % (cls.base, cls.top, cls.top, cls.top,
                        pwd.getpwnam("pstvirt1").pw_gid))
            os.makedirs(os.path.join(cls.top, "inst"))
            cls.inst = e2e.Instance(os.path.join(cls.top, "inst"), MASTER_CF,
                                    extra)
            cls.inst.start()
        except BaseException:
            e2e.remove_users(USERS)
            shutil.rmtree(cls.top, ignore_errors=True)
            raise
        deadline = time.time() + 10
        while time.time() < deadline and not os.path.exists(
                os.path.join(cls.inst.queue, "public", "pickup")):
            time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        cls.inst.stop()
        e2e.remove_users(USERS)
        shutil.rmtree(cls.top, ignore_errors=True)

    @classmethod
    def write(cls, name, text):
        with open(os.path.join(cls.top, name), "w") as f:
            f.write(text)

    def send(self, rcpt, text, sender="snd@example.test"):
        r = e2e.run([os.path.join(self.inst.bin, "sendmail"), "-f", sender,
                     "--", rcpt], input=text,
                    env={"MAIL_CONFIG": self.inst.conf})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def expect(self, pattern, timeout=20):
        m = self.inst.wait_log(pattern, timeout)
        self.assertIsNotNone(m, "no log line /%s/ in:\n%s"
                             % (pattern, self.inst.log()[-4000:]))
        return m

    def status(self, rcpt, dsn, status, text):
        return self.expect(
            r"postfix/virtual\[\d+\]: %s: to=<%s>, relay=virtual, %s, "
            r"dsn=%s, status=%s \(%s\)$"
            % (QID, re.escape(rcpt), DELAYS, re.escape(dsn), status,
               re.escape(text)))

    def maildir_files(self, d):
        deadline = time.time() + 10
        while time.time() < deadline:
            files = glob.glob(os.path.join(d, "new", "*"))
            if files:
                return files
            time.sleep(0.1)
        return []

    def test_maildir(self):
        self.send("md@vd.test", "Subject: md\n\nhello\nFrom maildir\n")
        self.status("md@vd.test", "2.0.0", "sent", "delivered to maildir")
        d = os.path.join(self.base, "vd.test", "md")
        files = self.maildir_files(d)
        self.assertEqual(len(files), 1)
        for sub in ("", "tmp", "new", "cur"):
            st = os.stat(os.path.join(d, sub))
            self.assertEqual((st.st_uid, st.st_mode & 0o777),
                             (self.uid, 0o700), sub)
        st = os.stat(files[0])
        self.assertEqual(st.st_uid, self.uid)
        with open(files[0]) as f:
            text = f.read()
        self.assertTrue(text.startswith(
            "Return-Path: <snd@example.test>\nX-Original-To: md@vd.test\n"
            "Delivered-To: md@vd.test\n"), text)
        self.assertIn("\n\nhello\nFrom maildir\n", text)
        self.assertRegex(os.path.basename(files[0]),
                         r"^\d+\.V[0-9a-f]+I[0-9a-f]+M\d+\.")

    def test_mbox_and_case(self):
        self.send("MB@VD.test", "Subject: mb\n\nhello\nFrom mbox\n")
        self.status("MB@VD.test", "2.0.0", "sent", "delivered to mailbox")
        path = os.path.join(self.base, "vd.test", "mb")
        st = os.stat(path)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (self.uid, 0o600))
        with open(path) as f:
            text = f.read()
        self.assertRegex(text, r"^From snd@example.test  \w{3} \w{3} [ \d]\d "
                         r"\d\d:\d\d:\d\d \d{4}\nReturn-Path: "
                         r"<snd@example.test>\nX-Original-To: MB@VD.test\n"
                         r"Delivered-To: mb@vd.test\n")
        self.assertIn("\n>From mbox\n\n", text)
        self.assertFalse(os.path.exists(path + ".lock"))

    def test_catchall(self):
        self.send("anyone+x@vd2.test", "Subject: c\n\nhello\n")
        self.status("anyone+x@vd2.test", "2.0.0", "sent",
                    "delivered to maildir")
        self.assertEqual(len(self.maildir_files(
            os.path.join(self.base, "vd2.test", "catchall"))), 1)

    def test_unknown_user_bounces(self):
        self.send("NoUser@vd.test", "Subject: u\n\nhello\n")
        self.status("NoUser@vd.test", "5.1.1", "bounced",
                    'unknown user: "nouser@vd.test"')

    def test_minimum_uid_defers(self):
        self.send("lowuid@vd.test", "Subject: l\n\nhello\n")
        self.expect(r"postfix/virtual\[\d+\]: warning: recipient "
                    r"lowuid@vd.test: bad uid 50 in virtual_uid_maps$")
        self.status("lowuid@vd.test", "4.3.5", "deferred",
                    "mail system configuration error")
        self.assertFalse(os.path.exists(
            os.path.join(self.base, "vd.test", "low")))

    def test_missing_uid_defers(self):
        self.send("nouid@vd.test", "Subject: n\n\nhello\n")
        self.expect(r"postfix/virtual\[\d+\]: warning: recipient "
                    r"nouid@vd.test: not found in virtual_uid_maps$")
        self.status("nouid@vd.test", "4.3.5", "deferred",
                    "mail system configuration error")

    def test_gid_map(self):
        self.send("other@vd.test", "Subject: o\n\nhello\n")
        self.status("other@vd.test", "2.0.0", "sent", "delivered to maildir")
        files = self.maildir_files(os.path.join(self.base, "g.test",
                                                "other"))
        st = os.stat(files[0])
        self.assertEqual((st.st_uid, st.st_gid), (self.uid2, self.gid2))

    def test_mailbox_limit(self):
        body = "Subject: big\n\n" + ("x" * 69 + "\n") * 43
        self.send("big@vd.test", body)
        self.status("big@vd.test", "2.0.0", "sent", "delivered to mailbox")
        path = os.path.join(self.base, "vd.test", "big")
        size = os.path.getsize(path)
        self.send("big@vd.test", body)
        self.status("big@vd.test", "5.2.2", "bounced",
                    "delivery failed to mailbox %s: error writing message: "
                    "File too large" % path)
        self.assertEqual(os.path.getsize(path), size)

    def test_symlink_refused(self):
        target = os.path.join(self.top, "target")
        with open(target, "w"):
            pass
        os.chown(target, self.uid, -1)
        link = os.path.join(self.base, "vd.test", "link")
        os.symlink(target, link)
        os.lchown(link, self.uid, -1)
        self.send("link@vd.test", "Subject: s\n\nhello\n")
        self.status("link@vd.test", "4.2.0", "deferred",
                    "delivery failed to mailbox %s: file is a symbolic link"
                    % link)
        self.assertEqual(os.path.getsize(target), 0)

    def test_maildir_access_problem(self):
        # The user cannot create a Maildir in a directory of root's.
        self.send("rootmd@vd.test", "Subject: r\n\nhello\n")
        m = self.expect(r"postfix/virtual\[\d+\]: warning: maildir access "
                        r"problem for UID/GID=%d/%d: create maildir file "
                        r"(\S+/root\.test/md/tmp/\S+): Permission denied$"
                        % (self.uid, pwd.getpwnam("pstvirt1").pw_gid))
        self.expect(r"postfix/virtual\[\d+\]: warning: perhaps you need to "
                    r"create the maildirs in advance$")
        self.status("rootmd@vd.test", "4.2.0", "deferred",
                    "maildir delivery failed: create maildir file %s: "
                    "Permission denied" % m.group(1))

    def test_lock_failure_defers(self):
        # The user cannot create mailbox.lock in a directory of root's.
        self.send("lock@vd.test", "Subject: k\n\nhello\n")
        path = os.path.join(self.base, "root.test", "lock")
        self.status("lock@vd.test", "4.2.0", "deferred",
                    "delivery failed to mailbox %s: unable to create lock "
                    "file %s.lock: Permission denied" % (path, path))


if __name__ == "__main__":
    unittest.main()
