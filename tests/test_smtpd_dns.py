"""smtpd's DNS-based restrictions and policy delegation, end to end: a
private instance whose daemons ask tests/dnsfake.py (through
resolv_wrapper), clients connecting from 127.0.0.x source addresses, and a
policy server in this file.  Replies and log lines are Postfix 3.7's, as
observed from Debian's Postfix with the same DNS fake.

Each restriction list under test is one smtpd service on its own port
(-o smtpd_recipient_restrictions=$t_NAME), so one instance serves them all;
the relay restrictions let the test clients (mynetworks) relay, since a
list ending in "permit" alone would make smtpd refuse to start.
"""
import os
import shutil
import socket
import tempfile
import threading
import unittest

import dnsfake
import e2e

MASTER_CF = e2e.master_cf("cleanup", "qmgr", "rewrite", "bounce", "defer",
                          "trace", "error", "retry", "postlog")

LISTS = {
    "rbl": "reject_rbl_client bl.test, permit",
    "rblf": "reject_rbl_client bl2.test=127.0.0.2, "
            "reject_rbl_client bl2.test=127.0.0.[9..11], permit",
    "rblsf": "reject_rbl_client sf.test, permit",
    "rhs": "reject_rhsbl_sender rhs.test, reject_rhsbl_helo rhs.test, "
           "reject_rhsbl_client rhs.test, permit",
    "rhsrev": "reject_rhsbl_reverse_client rhs.test, permit",
    "wl": "permit_dnswl_client wl.test, reject",
    "custom": "reject_rbl_client cu.test, permit",
    "uns": "reject_unknown_sender_domain, permit",
    "unr": "reject_unknown_recipient_domain, permit",
    "unh": "reject_unknown_helo_hostname, permit",
    "unc": "reject_unknown_client_hostname, permit",
    "unrc": "reject_unknown_reverse_client_hostname, permit",
    "mx": "check_sender_mx_access texthash:TOP/mxaccess, permit",
    "policy": "check_policy_service inet:127.0.0.1:PPORT, permit",
}


class PolicyServer:
    """Answers by the recipient's local part; counts connections."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.requests = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.session, args=(conn,),
                             daemon=True).start()

    def session(self, conn):
        f = conn.makefile("rwb")
        with conn:
            while True:
                attrs = {}
                while True:
                    line = f.readline()
                    if not line:
                        return
                    line = line.decode().rstrip("\n")
                    if not line:
                        break
                    k, _, v = line.partition("=")
                    attrs[k] = v
                self.requests.append(attrs)
                local = attrs.get("recipient", "").split("@")[0]
                if local == "garbage":
                    f.write(b"this is not a policy reply\n\n")
                    f.flush()
                    return
                action = {"ok": "OK", "rej": "REJECT go away",
                          "def": "DEFER try later", "dunno": "DUNNO",
                          "code": "550 5.7.0 custom no"}.get(local, "DUNNO")
                f.write(("action=%s\n\n" % action).encode())
                f.flush()

    def close(self):
        self.sock.close()


class SmtpdDnsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for rel in ("master/master", "smtpd/smtpd", "cleanup/cleanup",
                    "trivial-rewrite/trivial-rewrite", "postlogd/postlogd"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        if not os.path.exists(dnsfake.WRAPPER):
            raise unittest.SkipTest("SKIPPED LOUDLY: no libresolv-wrapper")
        cls.top = tempfile.mkdtemp(prefix="postern-smtpd-dns-")
        os.chmod(cls.top, 0o755)
        try:
            cls.setup_dns()
            cls.policy = PolicyServer()
            cls.ports = {name: e2e.free_port() for name in LISTS}
            master = MASTER_CF + "".join(
                "127.0.0.1:%d inet n - n - - smtpd "
                "-o smtpd_recipient_restrictions=$t_%s\n" % (cls.ports[n], n)
                for n in LISTS)
            params = "".join(
                "t_%s = %s\n" % (n, v.replace("TOP", cls.top).replace(
                    "PPORT", str(cls.policy.port)))
                for n, v in LISTS.items())
            with open(os.path.join(cls.top, "mxaccess"), "w") as f:
                f.write("mx.good.example REJECT mx says no\n"
                        "127.0.0.6 REJECT mx address\n")
            with open(os.path.join(cls.top, "rblreply"), "w") as f:
                f.write("cu.test $rbl_code custom $rbl_class|$rbl_what|"
                        "$rbl_domain|$rbl_reason|$client_address|"
                        "$helo_name|$sender_domain|$recipient_name\n")
            extra = ("smtpd_error_sleep_time = 0s\n"
                     "mydestination = $myhostname\nmynetworks = 127.0.0.0/8\n"
                     "smtpd_relay_restrictions = permit_mynetworks, reject\n"
                     "alias_maps =\nlocal_recipient_maps =\n"
                     "smtpd_policy_service_retry_delay = 1s\n"
                     "rbl_reply_maps = texthash:%s/rblreply\n"
                     % cls.top) + params + cls.fake.main_cf()
            os.makedirs(os.path.join(cls.top, "inst"))
            cls.inst = e2e.Instance(os.path.join(cls.top, "inst"), master,
                                    extra)
            cls.inst.start()
        except BaseException:
            cls.cleanup()
            raise

    @classmethod
    def setup_dns(cls):
        # a 127.x address of our own, so that parallel runs do not clash
        addr = "127.0.53.%d" % (os.getpid() % 250 + 1)
        f = cls.fake = dnsfake.DnsFake(cls.top, address=addr)
        f.add("2.0.0.127.bl.test", "A", "127.0.0.2")
        f.add("2.0.0.127.bl.test", "TXT", "Listed: see http://bl.test/x")
        f.add("2.0.0.127.bl2.test", "A", "127.0.0.10")
        f.add("2.0.0.127.cu.test", "A", "127.0.0.2")
        f.add("2.0.0.127.cu.test", "TXT", "why not")
        f.servfail("2.0.0.127.sf.test")
        f.add("2.0.0.127.wl.test", "A", "127.0.0.2")
        f.add("spam.example.rhs.test", "A", "127.0.0.2")
        f.add("spam.example.rhs.test", "TXT", "spammer domain")
        f.add("badhelo.example.rhs.test", "A", "127.0.0.2")
        f.add("client.example.rhs.test", "A", "127.0.0.2")
        f.add("forged.example.rhs.test", "A", "127.0.0.2")
        # client names: 127.0.0.2 verified, .3 forged, .4 PTR SERVFAIL
        f.add("2.0.0.127.in-addr.arpa", "PTR", "client.example")
        f.add("client.example", "A", "127.0.0.2")
        f.add("3.0.0.127.in-addr.arpa", "PTR", "forged.example")
        f.add("forged.example", "A", "127.0.0.9")
        f.servfail("4.0.0.127.in-addr.arpa")
        # mail domains
        f.add("good.example", "MX", (10, "mx.good.example"))
        f.add("mx.good.example", "A", "127.0.0.5")
        f.add("nomx.example", "A", "127.0.0.6")
        f.add("nullmx.example", "MX", (0, ""))
        f.add("helo.example", "A", "127.0.0.7")
        f.add("other.example", "MX", (10, "mx.other.example"))
        f.add("mx.other.example", "A", "127.0.0.8")
        f.servfail("tmp.example")
        f.start()

    @classmethod
    def cleanup(cls):
        if getattr(cls, "inst", None):
            cls.inst.stop()
        if getattr(cls, "fake", None):
            cls.fake.stop()
        if getattr(cls, "policy", None):
            cls.policy.close()
        shutil.rmtree(cls.top, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.cleanup()

    def talk(self, lst, lines, src="127.0.0.2"):
        """Send each line, return the replies (last line of each)."""
        s = socket.create_connection(("127.0.0.1", self.ports[lst]),
                                     timeout=60, source_address=(src, 0))
        f = s.makefile("rwb")
        out = []

        def reply():
            while True:
                r = f.readline().decode().rstrip("\r\n")
                if len(r) < 4 or r[3] != "-":
                    return r
        with s:
            out.append(reply())
            for line in lines:
                f.write((line + "\r\n").encode())
                f.flush()
                out.append(reply())
            f.write(b"QUIT\r\n")
            f.flush()
            reply()
        return out[1:]

    def rcpt(self, lst, rcpt, sender="a@good.example", helo="helo.example",
             src="127.0.0.2"):
        return self.talk(lst, ["EHLO " + helo, "MAIL FROM:<%s>" % sender,
                               "RCPT TO:<%s>" % rcpt], src=src)[2]

    def diagnosis(self):
        """The end of the log and the last DNS queries, for a failure."""
        return "log:\n%s\nlast DNS queries: %r" % (
            "\n".join(self.inst.log().splitlines()[-25:]),
            self.fake.queries[-12:])

    def assertLog(self, pattern):
        self.assertTrue(self.inst.wait_log(pattern, timeout=20),
                        "no log line %r in:\n%s" % (pattern, self.inst.log()))

    # --- RBL, RHSBL, DNSWL ---

    def test_rbl_listed_with_txt(self):
        r = self.rcpt("rbl", "x@remote.example")
        self.assertEqual(r, "554 5.7.1 Service unavailable; Client host "
                            "[127.0.0.2] blocked using bl.test; Listed: see "
                            "http://bl.test/x")
        self.assertLog(
            r"NOQUEUE: reject: RCPT from client\.example\[127\.0\.0\.2\]: "
            r"554 5\.7\.1 Service unavailable; Client host \[127\.0\.0\.2\] "
            r"blocked using bl\.test; Listed: see http://bl\.test/x; "
            r"from=<a@good\.example> to=<x@remote\.example> proto=ESMTP "
            r"helo=<helo\.example>")

    def test_rbl_not_listed(self):
        self.assertEqual(self.rcpt("rbl", "x@remote.example",
                                   src="127.0.0.3")[:3], "250")

    def test_rbl_filter(self):
        # the first filter does not match 127.0.0.10, the second does
        self.assertEqual(self.rcpt("rblf", "x@remote.example"),
                         "554 5.7.1 Service unavailable; Client host "
                         "[127.0.0.2] blocked using bl2.test")

    def test_rbl_tempfail_is_ignored(self):
        self.assertEqual(self.rcpt("rblsf", "x@remote.example")[:3], "250")
        self.assertLog(r"warning: 2\.0\.0\.127\.sf\.test: RBL lookup error: "
                       r"Host or domain name not found\. Name service error "
                       r"for name=2\.0\.0\.127\.sf\.test type=A: Host not "
                       r"found, try again")

    def test_rhsbl(self):
        self.assertEqual(self.rcpt("rhs", "x@remote.example",
                                   sender="a@spam.example"),
                         "554 5.7.1 Service unavailable; Sender address "
                         "[a@spam.example] blocked using rhs.test; "
                         "spammer domain")
        self.assertEqual(self.rcpt("rhs", "x@remote.example",
                                   helo="badhelo.example"),
                         "554 5.7.1 Service unavailable; Helo command "
                         "[badhelo.example] blocked using rhs.test")
        self.assertEqual(self.rcpt("rhs", "x@remote.example"),
                         "554 5.7.1 Service unavailable; Client host "
                         "[client.example] blocked using rhs.test")
        self.assertEqual(self.rcpt("rhs", "x@remote.example",
                                   src="127.0.0.3")[:3], "250")
        # (a failure here once in CI, not reproduced: say what DNS saw)
        self.assertEqual(self.rcpt("rhsrev", "x@remote.example",
                                   src="127.0.0.3"),
                         "554 5.7.1 Service unavailable; Unverified Client "
                         "host [forged.example] blocked using rhs.test",
                         self.diagnosis())

    def test_dnswl(self):
        # a permit never overrides reject_unauth_destination
        self.assertEqual(self.rcpt("wl", "x@mx.example.test")[:3], "250")
        self.assertEqual(self.rcpt("wl", "x@remote.example"),
                         "554 5.7.1 <x@remote.example>: Recipient address "
                         "rejected: Access denied")
        self.assertEqual(self.rcpt("wl", "x@mx.example.test",
                                   src="127.0.0.3"),
                         "554 5.7.1 <x@mx.example.test>: Recipient address "
                         "rejected: Access denied")

    def test_rbl_reply_maps(self):
        self.assertEqual(self.rcpt("custom", "bob@remote.example"),
                         "554 5.7.1 custom Client host|127.0.0.2|cu.test|"
                         "why not|127.0.0.2|helo.example|good.example|bob")

    # --- reject_unknown_* ---

    def test_unknown_sender_domain(self):
        self.assertEqual(self.rcpt("uns", "x@remote.example")[:3], "250")
        self.assertEqual(self.rcpt("uns", "x@remote.example",
                                   sender="a@nomx.example")[:3], "250")
        self.assertEqual(self.rcpt("uns", "x@remote.example",
                                   sender="a@none.example"),
                         "450 4.1.8 <a@none.example>: Sender address "
                         "rejected: Domain not found")
        self.assertEqual(self.rcpt("uns", "x@remote.example",
                                   sender="a@nullmx.example"),
                         "550 5.7.27 <a@nullmx.example>: Sender address "
                         "rejected: Domain nullmx.example does not accept "
                         "mail (nullMX)")
        # a temporary failure defers what would be permitted
        self.assertEqual(self.rcpt("uns", "x@remote.example",
                                   sender="a@tmp.example"),
                         "450 4.1.8 <a@tmp.example>: Sender address "
                         "rejected: Domain not found")
        self.assertEqual(self.rcpt("uns", "x@remote.example",
                                   sender="")[:3], "250")

    def test_unknown_recipient_domain(self):
        self.assertEqual(self.rcpt("unr", "x@good.example")[:3], "250")
        self.assertEqual(self.rcpt("unr", "x@none.example"),
                         "450 4.1.2 <x@none.example>: Recipient address "
                         "rejected: Domain not found")
        self.assertEqual(self.rcpt("unr", "x@nullmx.example"),
                         "556 5.1.10 <x@nullmx.example>: Recipient address "
                         "rejected: Domain nullmx.example does not accept "
                         "mail (nullMX)")
        self.assertEqual(self.rcpt("unr", "x@[1.2.3.4]")[:3], "250")

    def test_unknown_helo(self):
        self.assertEqual(self.rcpt("unh", "x@r.example")[:3], "250")
        self.assertEqual(self.rcpt("unh", "x@r.example", helo="none.example"),
                         "450 4.7.1 <none.example>: Helo command rejected: "
                         "Host not found")
        self.assertEqual(self.rcpt("unh", "x@r.example", helo="tmp.example"),
                         "450 4.7.1 <tmp.example>: Helo command rejected: "
                         "Host not found")
        self.assertEqual(self.rcpt("unh", "x@r.example",
                                   helo="[1.2.3.4]")[:3], "250")

    def test_unknown_client(self):
        self.assertEqual(self.rcpt("unc", "x@r.example")[:3], "250")
        self.assertEqual(self.rcpt("unrc", "x@r.example",
                                   src="127.0.0.3")[:3], "250")
        self.assertEqual(self.rcpt("unc", "x@r.example", src="127.0.0.3"),
                         "450 4.7.25 Client host rejected: cannot find your "
                         "hostname, [127.0.0.3]")
        self.assertLog(r"warning: hostname forged\.example does not resolve "
                       r"to address 127\.0\.0\.3$")
        self.assertLog(r"connect from unknown\[127\.0\.0\.3\]")
        self.assertEqual(self.rcpt("unrc", "x@r.example", src="127.0.0.4"),
                         "450 4.7.1 Client host rejected: cannot find your "
                         "reverse hostname, [127.0.0.4]")
        self.assertLog(r"connect from client\.example\[127\.0\.0\.2\]")

    def test_mx_access(self):
        self.assertEqual(self.rcpt("mx", "x@r.example"),
                         "554 5.7.1 <a@good.example>: Sender address "
                         "rejected: mx says no")
        self.assertEqual(self.rcpt("mx", "x@r.example",
                                   sender="a@other.example")[:3], "250")
        self.assertEqual(self.rcpt("mx", "x@r.example",
                                   sender="a@tmp.example")[:3], "250")
        self.assertLog(r"warning: Unable to look up MX host for tmp\.example: "
                       r"Host not found, try again")

    # --- check_policy_service ---

    def test_policy(self):
        before = self.policy.connections
        r = self.talk("policy", ["EHLO helo.example",
                                 "MAIL FROM:<a@good.example>",
                                 "RCPT TO:<ok@r.example>",
                                 "RCPT TO:<rej@r.example>",
                                 "RCPT TO:<def@r.example>",
                                 "RCPT TO:<dunno@r.example>",
                                 "RCPT TO:<code@r.example>"])
        self.assertEqual(r[2][:3], "250")
        self.assertEqual(r[3], "554 5.7.1 <rej@r.example>: Recipient "
                               "address rejected: go away")
        self.assertEqual(r[4], "450 4.7.1 <def@r.example>: Recipient "
                               "address rejected: try later")
        self.assertEqual(r[5][:3], "250")
        self.assertEqual(r[6][:3], "550")
        # one connection for all five requests
        self.assertEqual(self.policy.connections - before, 1)
        req = self.policy.requests[-1]
        self.assertEqual(req["request"], "smtpd_access_policy")
        self.assertEqual(req["protocol_state"], "RCPT")
        self.assertEqual(req["protocol_name"], "ESMTP")
        self.assertEqual(req["helo_name"], "helo.example")
        self.assertEqual(req["sender"], "a@good.example")
        self.assertEqual(req["recipient"], "code@r.example")
        self.assertEqual(req["client_address"], "127.0.0.2")
        self.assertEqual(req["client_name"], "client.example")
        self.assertEqual(req["reverse_client_name"], "client.example")
        self.assertEqual(self.policy.requests[-2]["instance"],
                         req["instance"])

    def test_policy_garbage(self):
        r = self.rcpt("policy", "garbage@r.example")
        self.assertEqual(r, "451 4.3.5 <garbage@r.example>: Recipient "
                            "address rejected: Server configuration problem")
        self.assertLog(r"warning: problem talking to server "
                       r"inet:127\.0\.0\.1:\d+: ")


if __name__ == "__main__":
    unittest.main()
