"""smtpd restrictions end to end: every restriction list, the generic
restrictions, access(5) lookups with each result and action, delayed and
immediate rejects, restriction classes, warn_if_reject, defer_if_permit,
the recipient tables, and the actions reaching the queue file.  Replies
and log lines are Postfix 3.7's, observed from Debian's Postfix run from a
private configuration with the same tables.

One instance runs several smtpd services, each with its own -o settings;
there is no qmgr, so accepted mail stays in incoming/ (or hold/) where
the test reads the queue file.
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import e2e
import qfile

QID = r"[0-9A-F]{6,}"
H = "localhost[127.0.0.1]"

RCPT_TABLE = """\
rej@mx.example.test REJECT
rejt@mx.example.test REJECT custom text
def@mx.example.test DEFER
deft@mx.example.test DEFER try later
c550@mx.example.test 550 5.1.9 custom
c551@mx.example.test 551 custom no dsn
c450@mx.example.test 450 custom no dsn
num@mx.example.test 554
dir@mx.example.test DEFER_IF_REJECT
dirt@mx.example.test DEFER_IF_REJECT dirtext
dip@mx.example.test DEFER_IF_PERMIT
dipt@mx.example.test DEFER_IF_PERMIT maybe later
restr@mx.example.test reject_non_fqdn_sender, reject
cls@mx.example.test myclass
bad@mx.example.test FOO bar
okay@mx.example.test OK
dunno@mx.example.test DUNNO
warn@mx.example.test WARN watch this
info@mx.example.test INFO note this
sub.example.org REJECT parent domain
lp@ REJECT localpart
"""

ACTION_TABLE = """\
hold@example.org HOLD
disc@example.org DISCARD
prep@example.org PREPEND X-Prep: one
redir@example.org REDIRECT other@example.net
filt@example.org FILTER smtp:[127.0.0.1]:10025
bcc@example.org BCC copy@example.net
ht@example.org HOLD my hold text
s1@example.org 550 5.1.1 sender one
s6@example.org 450 5.1.6 sender six
"""

MASTER_CF = e2e.master_cf("cleanup", "rewrite", "postlog") + """\
127.0.0.1:P0 inet n - n - - smtpd
127.0.0.1:P1 inet n - n - - smtpd -o smtpd_delay_reject=no -o smtpd_client_restrictions=check_client_access,texthash:TOP/cli
127.0.0.1:P2 inet n - n - - smtpd -o smtpd_delay_reject=no -o smtpd_helo_restrictions=check_helo_access,texthash:TOP/helo,reject_invalid_helo_hostname,reject_non_fqdn_helo_hostname -o smtpd_sender_restrictions=check_sender_access,texthash:TOP/snd,reject_non_fqdn_sender -o smtpd_data_restrictions=reject_unauth_pipelining -o smtpd_etrn_restrictions=reject -o smtpd_helo_required=yes
127.0.0.1:P3 inet n - n - - smtpd -o smtpd_helo_restrictions=check_helo_access,texthash:TOP/helo -o smtpd_sender_restrictions=check_sender_access,texthash:TOP/snd -o smtpd_client_restrictions=check_client_access,hash:TOP/cli
127.0.0.1:P4 inet n - n - - smtpd -o smtpd_recipient_restrictions=warn_if_reject,reject_non_fqdn_recipient,warn_if_reject,reject,defer_if_permit,permit_mynetworks,reject_unauth_destination
127.0.0.1:P5 inet n - n - - smtpd -o smtpd_sender_restrictions=check_sender_access,texthash:TOP/actions -o smtpd_end_of_data_restrictions=check_sender_access,texthash:TOP/eod
127.0.0.1:P6 inet n - n - - smtpd -o smtpd_recipient_restrictions=check_recipient_access,hash:TOP/nonexistent,reject_unauth_destination -o smtpd_helo_restrictions=check_helo_access
127.0.0.1:P7 inet n - n - - smtpd -o smtpd_data_restrictions=reject
127.0.0.1:P8 inet n - n - - smtpd -o smtpd_end_of_data_restrictions=reject -o smtpd_reject_unlisted_sender=yes
127.0.0.1:P9 inet n - n - - smtpd -o queue_minfree=999999999999999999
127.0.0.1:P10 inet n - n - - smtpd -o smtpd_relay_restrictions= -o smtpd_recipient_restrictions=permit_mynetworks
127.0.0.1:P11 inet n - n - - smtpd -o smtpd_recipient_restrictions=defer_if_reject,reject_non_fqdn_recipient,reject_unlisted_recipient -o smtpd_sender_restrictions=reject_sender_login_mismatch -o smtpd_sender_login_maps=inline:{owned@example.org=alice}
127.0.0.1:P12 inet n - n - - smtpd -o mynetworks=127.0.0.0/8 -o smtpd_relay_before_recipient_restrictions=no -o smtpd_recipient_restrictions=check_client_access,cidr:TOP/cidr,reject_unauth_destination
127.0.0.1:P13 inet n - n - - smtpd -o smtpd_client_restrictions=check_reverse_client_hostname_access,texthash:TOP/rev
127.0.0.1:P14 inet n - n - - smtpd -o soft_bounce=yes -o smtpd_sender_restrictions=check_sender_access,texthash:TOP/null,reject_unauth_pipelining
"""

NPORTS = 15


class SmtpdCheckTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for rel in ("master/master", "smtpd/smtpd", "cleanup/cleanup",
                    "trivial-rewrite/trivial-rewrite", "postlogd/postlogd",
                    "postmap/postmap"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        cls.top = tempfile.mkdtemp(prefix="postern-check-")
        os.chmod(cls.top, 0o755)
        cls.ports = []
        while len(cls.ports) < NPORTS:
            p = e2e.free_port()
            if p not in cls.ports:
                cls.ports.append(p)
        tables = {
            "rcpt": RCPT_TABLE,
            "cli": "127.0.0.1 REJECT client says no\n",
            "helo": "bad.helo REJECT helo no\n",
            "snd": "bad@example.org REJECT sender no\n",
            "actions": ACTION_TABLE,
            "eod": "eod@example.org REJECT eod no\n"
                   "prep@example.org PREPEND X-Prep-Eod: two\n",
            "cidr": "127.0.0.0/8 REJECT cidr says no\n",
            "rev": "localhost REJECT reverse no\n",
            "null": "<> REJECT null sender no\n",
        }
        for name, text in tables.items():
            with open(os.path.join(cls.top, name), "w") as f:
                f.write(text)
        # one table in hash: form, built with our postmap
        conf = os.path.join(cls.top, "conf")
        os.makedirs(conf)
        open(os.path.join(conf, "main.cf"), "w").close()
        r = subprocess.run([e2e.prog("postmap"), "-c", conf,
                            "hash:" + os.path.join(cls.top, "cli")],
                           capture_output=True, text=True)
        assert os.path.exists(os.path.join(cls.top, "cli.db")), r
        master = MASTER_CF.replace("TOP", cls.top)
        for i in reversed(range(NPORTS)):
            master = master.replace("127.0.0.1:P%d " % i,
                                    "127.0.0.1:%d " % cls.ports[i])
        # reject_unauth_pipelining is what these tests look at; Postern's
        # smtpd_forbid_unauth_pipelining would disconnect first
        extra = ("smtpd_error_sleep_time = 0s\n"
                 "smtpd_forbid_unauth_pipelining = no\n"
                 "myhostname = mx.example.test\n"
                 "mydomain = example.test\n"
                 "mydestination = $myhostname, localhost, $mydomain\n"
                 "mynetworks = 10.0.0.0/8\n"
                 "alias_maps =\nsmtpd_timeout = 10s\n"
                 "smtpd_restriction_classes = myclass\n"
                 "myclass = reject\n"
                 "virtual_mailbox_domains = vmbox.test\n"
                 "virtual_mailbox_maps = inline:{a@vmbox.test=x}\n"
                 "virtual_alias_domains = valias.test\n"
                 "virtual_alias_maps = "
                 "inline:{b@valias.test=root@mx.example.test}\n"
                 "relay_domains = relay.test\n"
                 "relay_recipient_maps = inline:{c@relay.test=x}\n"
                 "smtpd_recipient_restrictions = check_recipient_access "
                 "texthash:%s/rcpt, permit_mynetworks, "
                 "reject_unauth_destination\n" % cls.top)
        try:
            os.makedirs(os.path.join(cls.top, "inst"))
            cls.inst = e2e.Instance(os.path.join(cls.top, "inst"), master,
                                    extra)
            cls.inst.start()
        except BaseException:
            shutil.rmtree(cls.top, ignore_errors=True)
            raise
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", cls.ports[0]),
                                         1).close()
                break
            except OSError:
                time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        cls.inst.stop()
        shutil.rmtree(cls.top, ignore_errors=True)

    # helpers

    def session(self, port, cmds, raw=None):
        """Send each command, wait for its reply; the replies (one string
        per reply, lines joined with '\\n').  A command "DATA" followed
        by a list sends that content after a 354."""
        s = socket.create_connection(("127.0.0.1", self.ports[port]), 20)
        s.settimeout(20)
        f = s.makefile("rb")
        out = [self.read_reply(f)]
        for c in cmds:
            if isinstance(c, list):
                if not out[-1].startswith("354"):
                    continue
                data = "".join(line + "\r\n" for line in c) + ".\r\n"
                s.sendall(data.encode())
            else:
                s.sendall(c.encode() + b"\r\n")
            out.append(self.read_reply(f))
            if out[-1] == "<EOF>":
                break
        s.close()
        return out

    @staticmethod
    def read_reply(f):
        lines = []
        while True:
            line = f.readline()
            if not line:
                return "\n".join(lines) if lines else "<EOF>"
            lines.append(line.decode().rstrip("\r\n"))
            if line[3:4] != b"-":
                return "\n".join(lines)

    def expect(self, pattern, timeout=15):
        m = self.inst.wait_log(pattern, timeout)
        self.assertIsNotNone(m, "no log line /%s/ in:\n%s"
                             % (pattern, self.inst.log()[-4000:]))
        return m

    def queue_file(self, qid, timeout=15):
        """The records of queue file qid, in incoming/ or hold/."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for d in ("incoming", "hold", "active", "deferred"):
                for root, _, files in os.walk(os.path.join(self.inst.queue,
                                                           d)):
                    if qid in files:
                        path = os.path.join(root, qid)
                        with open(path, "rb") as fp:
                            data = fp.read()
                        try:
                            return d, list(qfile.records(data))
                        except Exception:
                            pass
            time.sleep(0.1)
        self.fail("queue file %s not found" % qid)

    def send(self, port, sender, rcpt, body=("Subject: x", "", "hi")):
        r = self.session(port, ["HELO h.example", "MAIL FROM:<%s>" % sender,
                                "RCPT TO:<%s>" % rcpt, "DATA", list(body),
                                "QUIT"])
        return r

    # access(5) results at RCPT

    def test_access_results(self):
        rcpts = ["rej", "rejt", "def", "deft", "c550", "c551", "c450", "num",
                 "dir", "dirt", "dip", "dipt", "restr", "cls", "bad"]
        r = self.session(0, ["HELO h.example", "MAIL FROM:<s@example.org>"]
                         + ["RCPT TO:<%s@mx.example.test>" % u for u in rcpts]
                         + ["QUIT"])
        want = [
            "554 5.7.1 <rej@mx.example.test>: Recipient address rejected: "
            "Access denied",
            "554 5.7.1 <rejt@mx.example.test>: Recipient address rejected: "
            "custom text",
            "450 4.7.1 <def@mx.example.test>: Recipient address rejected: "
            "Access denied",
            "450 4.7.1 <deft@mx.example.test>: Recipient address rejected: "
            "try later",
            "550 5.1.0 <c550@mx.example.test>: Recipient address rejected: "
            "custom",
            "551 5.7.1 <c551@mx.example.test>: Recipient address rejected: "
            "custom no dsn",
            "450 4.7.1 <c450@mx.example.test>: Recipient address rejected: "
            "custom no dsn",
            # a bare number is OK; then the local recipient table says no
            "550 5.1.1 <num@mx.example.test>: Recipient address rejected: "
            "User unknown in local recipient table",
            "450 4.7.1 <dir@mx.example.test>: Recipient address rejected: "
            "Service unavailable",
            "450 4.7.1 <dirt@mx.example.test>: Recipient address rejected: "
            "dirtext",
            "450 4.7.1 <dip@mx.example.test>: Recipient address rejected: "
            "Service unavailable",
            "450 4.7.1 <dipt@mx.example.test>: Recipient address rejected: "
            "maybe later",
            "554 5.7.1 <restr@mx.example.test>: Recipient address rejected: "
            "Access denied",
            "554 5.7.1 <cls@mx.example.test>: Recipient address rejected: "
            "Access denied",
            "451 4.3.5 Server configuration error",
        ]
        self.assertEqual(r[3:3 + len(want)], want)
        self.expect(r"NOQUEUE: reject: RCPT from %s: 554 5\.7\.1 "
                    r"<rej@mx\.example\.test>: Recipient address rejected: "
                    r"Access denied; from=<s@example\.org> "
                    r"to=<rej@mx\.example\.test> proto=SMTP "
                    r"helo=<h\.example>$" % re.escape(H))
        self.expect(r"mapping DSN status 5\.1\.9 into Recipient address "
                    r"status 5\.1\.0")
        self.expect(r'warning: unknown smtpd restriction: "FOO"')
        self.expect(r"NOQUEUE: reject: RCPT from %s: 451 4\.3\.5 Server "
                    r"configuration error; from=<s@example\.org> "
                    r"to=<bad@mx\.example\.test>" % re.escape(H))

    def test_access_lookup_order(self):
        r = self.session(0, ["HELO h.example", "MAIL FROM:<s@example.org>",
                             "RCPT TO:<okay@mx.example.test>",
                             "RCPT TO:<dunno@mx.example.test>",
                             "RCPT TO:<warn@mx.example.test>",
                             "RCPT TO:<info@mx.example.test>",
                             "RCPT TO:<lp@example.test>",
                             "RCPT TO:<lp+ext@example.test>",
                             "RCPT TO:<root@mx.example.test>",
                             "QUIT"])
        # OK and DUNNO permit the list, the recipient table still applies
        self.assertEqual(r[3], "550 5.1.1 <okay@mx.example.test>: Recipient "
                         "address rejected: User unknown in local recipient "
                         "table")
        self.assertEqual(r[4], "550 5.1.1 <dunno@mx.example.test>: "
                         "Recipient address rejected: User unknown in local "
                         "recipient table")
        self.assertEqual(r[7], "554 5.7.1 <lp@example.test>: Recipient "
                         "address rejected: localpart")
        # no recipient_delimiter: "lp+ext@" is not "lp@"
        self.assertEqual(r[8], "550 5.1.1 <lp+ext@example.test>: Recipient "
                         "address rejected: User unknown in local recipient "
                         "table")
        self.assertEqual(r[9], "250 2.1.5 Ok")
        self.expect(r"NOQUEUE: warn: RCPT from %s: watch this; "
                    r"from=<s@example\.org> to=<warn@mx\.example\.test> "
                    r"proto=SMTP helo=<h\.example>$" % re.escape(H))
        self.expect(r"NOQUEUE: info: RCPT from %s: note this; "
                    % re.escape(H))

    def test_relay_and_parent_domain(self):
        r = self.session(0, ["EHLO h.example", "MAIL FROM:<s@example.org>",
                             "RCPT TO:<x@other.example>",
                             "RCPT TO:<user%other.example@mx.example.test>",
                             "QUIT"])
        self.assertEqual(r[3], "454 4.7.1 <x@other.example>: Relay access "
                         "denied")
        self.assertEqual(r[4], "454 4.7.1 <user%other.example@mx.example."
                         "test>: Relay access denied")
        self.expect(r"NOQUEUE: reject: RCPT from %s: 454 4\.7\.1 "
                    r"<x@other\.example>: Relay access denied; "
                    r"from=<s@example\.org> to=<x@other\.example> "
                    r"proto=ESMTP helo=<h\.example>$" % re.escape(H))
        # recipient list first: the cidr client table rejects; the
        # relay list is not reached
        r = self.session(12, ["HELO h.example", "MAIL FROM:<s@example.org>",
                              "RCPT TO:<root@mx.example.test>", "QUIT"])
        self.assertEqual(r[3], "554 5.7.1 <%s>: Client host rejected: cidr "
                         "says no" % H)

    # stages

    def test_reject_at_connect(self):
        r = self.session(1, ["HELO h", "MAIL FROM:<a@b.c>", "NOOP", "RSET",
                             "VRFY x", "EHLO x", "QUIT"])
        self.assertEqual(r[0], "554 5.7.1 <%s>: Client host rejected: "
                         "client says no" % H)
        for reply in r[1:7]:
            self.assertEqual(reply, "503 5.7.0 Error: access denied for %s"
                             % H)
        self.assertEqual(r[7], "221 2.0.0 Bye")
        self.expect(r"NOQUEUE: reject: CONNECT from %s: 554 5\.7\.1 <%s>: "
                    r"Client host rejected: client says no; proto=SMTP$"
                    % (re.escape(H), re.escape(H)))

    def test_stages_without_delay(self):
        r = self.session(2, ["MAIL FROM:<a@b.c>", "HELO bad.helo",
                             "EHLO bad_name!", "HELO nodot", "HELO [1.2.3.4]",
                             "EHLO good.example",
                             "MAIL FROM:<bad@example.org>",
                             "MAIL FROM:<x@nodot>", "MAIL FROM:<x>",
                             "MAIL FROM:<>", "RCPT TO:<root@mx.example.test>",
                             "QUIT"])
        self.assertEqual(r[1], "503 5.5.1 Error: send HELO/EHLO first")
        self.assertEqual(r[2], "554 5.7.1 <bad.helo>: Helo command "
                         "rejected: helo no")
        self.assertEqual(r[3], "501 5.5.2 <bad_name!>: Helo command "
                         "rejected: Invalid name")
        self.assertEqual(r[4], "504 5.5.2 <nodot>: Helo command rejected: "
                         "need fully-qualified hostname")
        self.assertEqual(r[5], "250 mx.example.test")
        self.assertEqual(r[7], "554 5.7.1 <bad@example.org>: Sender address "
                         "rejected: sender no")
        self.assertEqual(r[8], "504 5.5.2 <x@nodot>: Sender address "
                         "rejected: need fully-qualified address")
        self.assertEqual(r[9], "504 5.5.2 <x>: Sender address rejected: "
                         "need fully-qualified address")
        self.assertEqual(r[10], "250 2.1.0 Ok")
        self.assertEqual(r[11], "250 2.1.5 Ok")
        self.expect(r"NOQUEUE: reject: HELO from %s: 554 5\.7\.1 "
                    r"<bad\.helo>: Helo command rejected: helo no; "
                    r"proto=SMTP helo=<bad\.helo>$" % re.escape(H))
        self.expect(r"NOQUEUE: reject: EHLO from %s: 501 5\.5\.2 "
                    r"<bad_name!>: Helo command rejected: Invalid name; "
                    r"proto=SMTP helo=<bad_name!>$" % re.escape(H))
        self.expect(r"NOQUEUE: reject: MAIL from %s: 554 5\.7\.1 "
                    r"<bad@example\.org>: Sender address rejected: sender "
                    r"no; from=<bad@example\.org> proto=ESMTP "
                    r"helo=<good\.example>$" % re.escape(H))

    def test_unauth_pipelining(self):
        s = socket.create_connection(("127.0.0.1", self.ports[2]), 20)
        s.settimeout(20)
        f = s.makefile("rb")
        self.read_reply(f)
        for c in ("EHLO good.example", "MAIL FROM:<>",
                  "RCPT TO:<root@mx.example.test>"):
            s.sendall(c.encode() + b"\r\n")
            self.read_reply(f)
        s.sendall(b"DATA\r\nSubject: x\r\n")
        self.assertEqual(self.read_reply(f), "503 5.5.0 <DATA>: Data command "
                         "rejected: Improper use of SMTP command pipelining")
        s.close()
        self.expect(r"%s: reject: DATA from %s: 503 5\.5\.0 <DATA>: Data "
                    r"command rejected: Improper use of SMTP command "
                    r"pipelining; from=<> to=<root@mx\.example\.test> "
                    r"proto=ESMTP helo=<good\.example>$"
                    % (QID, re.escape(H)))

    def test_delayed_reject(self):
        # smtpd_delay_reject = yes: the client list decides at RCPT and
        # VRFY, after HELO and MAIL were accepted; a hash: table
        r = self.session(3, ["HELO bad.helo", "MAIL FROM:<bad@example.org>",
                             "RCPT TO:<root@mx.example.test>",
                             "VRFY root", "QUIT"])
        self.assertEqual(r[1], "250 mx.example.test")
        self.assertEqual(r[2], "250 2.1.0 Ok")
        want = "554 5.7.1 <%s>: Client host rejected: client says no" % H
        self.assertEqual(r[3], want)
        self.assertEqual(r[4], want)
        self.expect(r"NOQUEUE: reject: RCPT from %s: %s; "
                    r"from=<bad@example\.org> to=<root@mx\.example\.test> "
                    r"proto=SMTP helo=<bad\.helo>$"
                    % (re.escape(H), re.escape(want)))
        self.expect(r"NOQUEUE: reject: VRFY from %s: %s; "
                    r"from=<bad@example\.org> to=<root> proto=SMTP "
                    r"helo=<bad\.helo>$" % (re.escape(H), re.escape(want)))

    def test_warn_if_reject_and_defer_if_permit(self):
        r = self.session(4, ["HELO h.example", "MAIL FROM:<x@nodomain>",
                             "RCPT TO:<root@mx.example.test>",
                             "RCPT TO:<root>", "QUIT"])
        self.assertEqual(r[3], "450 4.7.0 <root@mx.example.test>: Recipient "
                         "address rejected: defer_if_permit requested")
        self.assertEqual(r[4], "450 4.7.0 <root>: Recipient address "
                         "rejected: defer_if_permit requested")
        self.expect(r"NOQUEUE: reject_warning: RCPT from %s: 554 5\.7\.1 "
                    r"<root@mx\.example\.test>: Recipient address rejected: "
                    r"Access denied; from=<x@nodomain> "
                    r"to=<root@mx\.example\.test> proto=SMTP "
                    r"helo=<h\.example>$" % re.escape(H))
        self.expect(r"NOQUEUE: reject_warning: RCPT from %s: 504 5\.5\.2 "
                    r"<root>: Recipient address rejected: need "
                    r"fully-qualified address; " % re.escape(H))

    def test_defer_if_reject_and_login_mismatch(self):
        r = self.session(11, ["HELO h.example", "MAIL FROM:<owned@example.org>",
                              "RCPT TO:<root@mx.example.test>",
                              "RSET", "MAIL FROM:<free@example.org>",
                              "RCPT TO:<nosuch@mx.example.test>",
                              "RCPT TO:<root@mx.example.test>", "QUIT"])
        # a sender that smtpd_sender_login_maps gives an owner needs AUTH
        self.assertEqual(r[3], "553 5.7.1 <owned@example.org>: Sender "
                         "address rejected: not logged in")
        # defer_if_reject turns the unlisted recipient's 550 into its 450
        self.assertEqual(r[6], "450 4.7.0 <nosuch@mx.example.test>: "
                         "Recipient address rejected: defer_if_reject "
                         "requested")
        self.expect(r"NOQUEUE: reject: RCPT from %s: 450 4\.7\.0 "
                    r"<nosuch@mx\.example\.test>: Recipient address "
                    r"rejected: defer_if_reject requested; " % re.escape(H))
        self.assertEqual(r[7], "250 2.1.5 Ok")

    def test_data_and_eod(self):
        r = self.session(7, ["HELO h.example", "MAIL FROM:<a@example.org>",
                             "RCPT TO:<root@mx.example.test>", "DATA",
                             "QUIT"])
        self.assertEqual(r[4], "554 5.7.1 <DATA>: Data command rejected: "
                         "Access denied")
        self.expect(r"%s: reject: DATA from %s: 554 5\.7\.1 <DATA>: Data "
                    r"command rejected: Access denied; from=<a@example\.org> "
                    r"to=<root@mx\.example\.test> proto=SMTP "
                    r"helo=<h\.example>$" % (QID, re.escape(H)))
        r = self.session(8, ["HELO h.example", "MAIL FROM:<a@example.test>",
                             "RCPT TO:<root@mx.example.test>",
                             "RCPT TO:<root@localhost>", "DATA", ["x"],
                             "QUIT"])
        self.assertEqual(r[2], "250 2.1.0 Ok")
        self.assertEqual(r[3], "550 5.1.0 <a@example.test>: Sender address "
                         "rejected: User unknown in local recipient table")
        r = self.session(8, ["HELO h.example", "MAIL FROM:<root@example.test>",
                             "RCPT TO:<root@mx.example.test>",
                             "RCPT TO:<root@localhost>", "DATA", ["x"],
                             "QUIT"])
        self.assertEqual(r[6], "554 5.7.1 <END-OF-MESSAGE>: End-of-data "
                         "rejected: Access denied")
        self.expect(r"%s: reject: END-OF-MESSAGE from %s: 554 5\.7\.1 "
                    r"<END-OF-MESSAGE>: End-of-data rejected: Access denied; "
                    r"from=<root@example\.test> proto=SMTP "
                    r"helo=<h\.example>$" % (QID, re.escape(H)))

    def test_unlisted_recipient_and_vrfy(self):
        r = self.session(0, ["HELO h.example", "VRFY root", "VRFY nosuch",
                             "MAIL FROM:<>",
                             "RCPT TO:<nosuch@mx.example.test>", "QUIT"])
        self.assertEqual(r[2], "252 2.0.0 root")
        self.assertEqual(r[3], "550 5.1.1 <nosuch>: Recipient address "
                         "rejected: User unknown in local recipient table")
        self.assertEqual(r[5], "550 5.1.1 <nosuch@mx.example.test>: "
                         "Recipient address rejected: User unknown in local "
                         "recipient table")
        self.expect(r"NOQUEUE: reject: VRFY from %s: 550 5\.1\.1 <nosuch>: "
                    r"Recipient address rejected: User unknown in local "
                    r"recipient table; to=<nosuch> proto=SMTP "
                    r"helo=<h\.example>$" % re.escape(H))

    def test_address_class_tables(self):
        r = self.session(0, ["HELO h.example", "MAIL FROM:<a@example.org>",
                             "RCPT TO:<a@vmbox.test>", "RCPT TO:<z@vmbox.test>",
                             "RCPT TO:<b@valias.test>",
                             "RCPT TO:<z@valias.test>",
                             "RCPT TO:<c@relay.test>", "RCPT TO:<z@relay.test>",
                             "QUIT"])
        self.assertEqual(r[3:9], [
            "250 2.1.5 Ok",
            "550 5.1.1 <z@vmbox.test>: Recipient address rejected: User "
            "unknown in virtual mailbox table",
            "250 2.1.5 Ok",
            "550 5.1.1 <z@valias.test>: Recipient address rejected: User "
            "unknown in virtual alias table",
            "250 2.1.5 Ok",
            "550 5.1.1 <z@relay.test>: Recipient address rejected: User "
            "unknown in relay recipient table"])
        self.expect(r"%s: reject: RCPT from %s: 550 5\.1\.1 <z@relay\.test>: "
                    r"Recipient address rejected: User unknown in relay "
                    r"recipient table; from=<a@example\.org> "
                    r"to=<z@relay\.test> proto=SMTP helo=<h\.example>$"
                    % (QID, re.escape(H)))

    def test_reverse_client_name(self):
        r = self.session(13, ["HELO h.example", "MAIL FROM:<a@example.org>",
                              "RCPT TO:<root@mx.example.test>", "QUIT"])
        self.assertEqual(r[3], "554 5.7.1 <%s>: Client host rejected: "
                         "reverse no" % H)

    def test_soft_bounce_null_sender_pipelining(self):
        s = socket.create_connection(("127.0.0.1", self.ports[14]), 20)
        s.settimeout(20)
        f = s.makefile("rb")
        r = [self.read_reply(f)]
        for c in ("HELO h.example", "MAIL FROM:<>",
                  "RCPT TO:<root@mx.example.test>", "RSET"):
            s.sendall(c.encode() + b"\r\n")
            r.append(self.read_reply(f))
        # a HELO client pipelines: from now on reject_unauth_pipelining
        # rejects, even commands sent one at a time
        s.sendall(b"MAIL FROM:<a@example.org>\r\n"
                  b"RCPT TO:<root@mx.example.test>\r\nNOOP\r\n")
        r += [self.read_reply(f) for _ in range(3)]
        s.sendall(b"RCPT TO:<root@mx.example.test>\r\n")
        r.append(self.read_reply(f))
        s.close()
        # soft_bounce makes every 5xx its 4xx, 503 included
        self.assertEqual(r[3], "454 4.7.1 <>: Sender address rejected: "
                         "null sender no")
        self.assertEqual(r[5:], [
            "250 2.1.0 Ok",
            "403 4.5.0 <a@example.org>: Sender address rejected: Improper "
            "use of SMTP command pipelining",
            "250 2.0.0 Ok",
            "403 4.5.0 <a@example.org>: Sender address rejected: Improper "
            "use of SMTP command pipelining"])
        self.expect(r"NOQUEUE: reject: RCPT from %s: 454 4\.7\.1 <>: Sender "
                    r"address rejected: null sender no; from=<> "
                    r"to=<root@mx\.example\.test> proto=SMTP "
                    r"helo=<h\.example>$" % re.escape(H))

    # configuration errors

    def test_bad_configuration(self):
        r = self.session(6, ["HELO h.example", "MAIL FROM:<a@example.org>",
                             "RCPT TO:<root@mx.example.test>", "QUIT"])
        self.assertEqual(r[3], "451 4.3.5 Server configuration error")
        self.expect(r'warning: restriction check_helo_access: bad argument '
                    r'"check_helo_access": need maptype:mapname')
        self.assertEqual(r[4], "221 2.0.0 Bye")

    def test_open_relay_refused(self):
        # smtpd exits before its greeting; no reply arrives
        s = socket.create_connection(("127.0.0.1", self.ports[10]), 20)
        s.settimeout(5)
        try:
            self.assertFalse(s.recv(100).startswith(b"220"))
        except OSError:
            pass
        s.close()
        self.expect(r"fatal: in parameter smtpd_relay_restrictions or "
                    r"smtpd_recipient_restrictions, specify at least one "
                    r"working instance of: reject_unauth_destination, "
                    r"defer_unauth_destination, reject, defer, "
                    r"defer_if_permit or check_relay_domains")

    def test_queue_minfree(self):
        r = self.session(9, ["HELO h.example", "MAIL FROM:<a@example.org>",
                             "QUIT"])
        self.assertEqual(r[2], "452 4.3.1 Insufficient system storage")
        self.expect(r"NOQUEUE: reject: MAIL from %s: 452 4\.3\.1 "
                    r"Insufficient system storage; proto=SMTP "
                    r"helo=<h\.example>$" % re.escape(H))
        self.expect(r"warning: not enough free space in mail queue: \d+ "
                    r"bytes < 1\.5\*message size limit$")

    # actions

    def qid_of(self, reply):
        m = re.match(r"250 2\.0\.0 Ok: queued as (%s)$" % QID, reply)
        self.assertIsNotNone(m, reply)
        return m.group(1)

    def test_hold(self):
        r = self.send(5, "hold@example.org", "root@mx.example.test")
        qid = self.qid_of(r[5])
        where, recs = self.queue_file(qid)
        self.assertEqual(where, "hold")
        self.expect(r"NOQUEUE: hold: RCPT from %s: <hold@example\.org>: "
                    r"Sender address triggers HOLD action; "
                    r"from=<hold@example\.org> to=<root@mx\.example\.test> "
                    r"proto=SMTP helo=<h\.example>$" % re.escape(H))

    def test_sender_dsn_and_action_text(self):
        r = self.session(5, ["HELO h.example", "MAIL FROM:<s1@example.org>",
                             "RCPT TO:<root@mx.example.test>", "RSET",
                             "MAIL FROM:<s6@example.org>",
                             "RCPT TO:<root@mx.example.test>", "RSET",
                             "MAIL FROM:<ht@example.org>",
                             "RCPT TO:<root@mx.example.test>", "QUIT"])
        self.assertEqual(r[3], "550 5.1.7 <s1@example.org>: Sender address "
                         "rejected: sender one")
        self.assertEqual(r[6], "450 4.1.7 <s6@example.org>: Sender address "
                         "rejected: sender six")
        self.assertEqual(r[9], "250 2.1.5 Ok")
        self.expect(r"mapping DSN status 5\.1\.1 into Sender address status "
                    r"5\.1\.7$")
        self.expect(r"NOQUEUE: hold: RCPT from %s: <ht@example\.org>: Sender "
                    r"address my hold text; from=<ht@example\.org> "
                    % re.escape(H))

    def test_discard(self):
        r = self.send(5, "disc@example.org", "root@mx.example.test")
        qid = self.qid_of(r[5])
        self.expect(r"NOQUEUE: discard: RCPT from %s: <disc@example\.org>: "
                    r"Sender address triggers DISCARD action; "
                    % re.escape(H))
        time.sleep(0.5)
        for root, _, files in os.walk(self.inst.queue):
            self.assertNotIn(qid, files)

    def test_redirect_filter_bcc_prepend(self):
        got = {}
        for who in ("redir", "filt", "bcc", "prep"):
            r = self.send(5, "%s@example.org" % who, "root@mx.example.test")
            got[who] = self.queue_file(self.qid_of(r[5]))[1]

        def recs(who, t):
            return [d.decode() for rt, d, _ in got[who] if rt == t]
        self.assertIn("other@example.net", recs("redir", ">"))
        self.assertIn("smtp:[127.0.0.1]:10025", recs("filt", "L"))
        self.assertIn("copy@example.net", recs("bcc", "R"))
        norm = recs("prep", "N")
        self.assertEqual(norm[0], "X-Prep: one")
        self.assertTrue(norm[1].startswith("Received: from h.example"))
        self.assertNotIn("X-Prep-Eod: two", norm)
        self.expect(r"NOQUEUE: redirect: RCPT from %s: <redir@example\.org>: "
                    r"Sender address triggers REDIRECT other@example\.net; "
                    % re.escape(H))
        self.expect(r"NOQUEUE: filter: RCPT from %s: <filt@example\.org>: "
                    r"Sender address triggers FILTER "
                    r"smtp:\[127\.0\.0\.1\]:10025; " % re.escape(H))
        self.expect(r"NOQUEUE: bcc: RCPT from %s: <bcc@example\.org>: "
                    r"Sender address triggers BCC copy@example\.net; "
                    % re.escape(H))
        self.expect(r"warning: access table texthash:%s/eod: action PREPEND "
                    r"must be used before smtpd_end_of_data_restrictions"
                    % re.escape(self.top))

    def test_eod_reject(self):
        r = self.send(5, "eod@example.org", "root@mx.example.test")
        self.assertEqual(r[5], "554 5.7.1 <eod@example.org>: Sender address "
                         "rejected: eod no")
        self.expect(r"%s: reject: END-OF-MESSAGE from %s: 554 5\.7\.1 "
                    r"<eod@example\.org>: Sender address rejected: eod no; "
                    r"from=<eod@example\.org> to=<root@mx\.example\.test> "
                    r"proto=SMTP helo=<h\.example>$" % (QID, re.escape(H)))


if __name__ == "__main__":
    unittest.main()
