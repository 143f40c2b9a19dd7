"""trivial-rewrite end to end: rewrite and resolve through tr_clnt.

Each test starts a private instance whose master.cf runs the rewrite
service and queries it with tests/fixtures/trquery (lib/mail/tr_clnt), the
way cleanup, smtpd and qmgr will: canonical-form rewriting (myorigin,
mydomain, bang paths, the percent hack, routes, trailing dots) and the
address classes with their transports and next hops (mydestination,
interface literals, virtual alias and mailbox domains, relay_domains,
relayhost, transport_maps forms, sender-dependent tables), as Postfix's
trivial-rewrite(8), transport(5) and ADDRESS_CLASS_README describe them.
"""
import os
import unittest

import e2e

MASTER_CF = (
    "postlog   unix-dgram n  -       n       -       1       postlogd\n"
    "rewrite   unix  -       -       n       -       -       trivial-rewrite\n")


class TrivialRewriteTest(e2e.TempDirTest):
    def instance(self, main_extra):
        inst = e2e.Instance(self.dir, MASTER_CF, main_extra)
        self.addCleanup(inst.stop)
        inst.start()
        self.inst = inst
        return inst

    def trquery(self, *args):
        return e2e.run([os.path.join(e2e.BUILD, "tests", "fixtures",
                                     "trquery"), "-c", self.inst.conf]
                       + list(args))

    def rewrite(self, rule, *addrs):
        r = self.trquery("rewrite", rule, *addrs)
        self.assertEqual(r.returncode, 0, r.stderr + self.inst.log())
        out = {}
        for line in r.stdout.splitlines():
            k, v = line.split(" -> ", 1)
            out[k] = v
        return out

    def resolve(self, addr, sender=None):
        # A plain sender by default: <> has its own relayhost lookup key.
        if sender is None:
            sender = "someone@example.org"
        args = ["resolve", "-f", sender]
        r = self.trquery(*(args + [addr]))
        self.assertEqual(r.returncode, 0, r.stderr + self.inst.log())
        out = {}
        for line in r.stdout.splitlines():
            if line:
                k, v = line.split(": ", 1) if ": " in line else (line[:-1], "")
                out[k] = v
        out["flagnames"] = set(out["flags"].split()[1:])
        return out

    def check_resolve(self, cases, sender=None):
        for addr, transport, nexthop, rcpt, flags in cases:
            with self.subTest(addr=addr, sender=sender):
                got = self.resolve(addr, sender)
                self.assertEqual(
                    (got["transport"], got["nexthop"], got["recipient"]),
                    (transport, nexthop, rcpt))
                self.assertEqual(got["flagnames"], set(flags.split()))


MAIN_ONE = """
mydomain = example.test
myorigin = $mydomain
mydestination = $myhostname, localhost, example.test
append_dot_mydomain = yes
virtual_alias_domains = valias.test
virtual_mailbox_domains = vmbox.test
relay_domains = relay.test
relayhost = [smarthost.test]:2525
transport_maps = inline:{ {special.test=smtp:[10.0.0.9]:25},
    {onlyxport.test=lmtp}, {hoponly.test=:[hop.test]},
    {user@routed.test=discard:}, {bad.test=error:5.7.1 go away},
    {.sub.test=relay:[subhop.test]} }
sender_dependent_relayhost_maps = inline:{
    {alice@sender.test=[alice-relay.test]:587}, {@sdom.test=[sdom-relay.test]},
    {<>=[bounce-relay.test]} }
"""

SMART = "[smarthost.test]:2525"


class RulesTest(TrivialRewriteTest):
    def test_rewrite_local(self):
        self.instance(MAIN_ONE)
        cases = {
            "joe": "joe@example.test",
            "joe@host": "joe@host.example.test",
            "joe@host.": "joe@host",
            "joe@a.b": "joe@a.b",
            "host!joe": "joe@host.example.test",
            "a!b!joe": "b!joe@a.example.test",
            "joe%other.test": "joe@other.test",
            "@r1,@r2:joe@x.test": "joe@x.test",
            "joe@[1.2.3.4]": "joe@[1.2.3.4]",
            "a b": "a b@example.test",
            "a b!c": "a b!c@example.test",
            "joe@": "joe@",
        }
        got = self.rewrite("local", *cases.keys())
        self.assertEqual(got, cases)
        # The empty address stays empty (trquery prints nothing after ->).
        r = self.trquery("rewrite", "local", "")
        self.assertEqual(r.stdout, " -> \n")

    def test_rewrite_remote_and_unknown(self):
        self.instance(MAIN_ONE)
        got = self.rewrite("remote", "joe", "joe@host")
        self.assertEqual(got, {"joe": "joe", "joe@host": "joe@host"})
        r = self.trquery("rewrite", "bogus", "joe")
        self.assertEqual(r.returncode, 1)
        self.assertIsNotNone(self.inst.wait_log(
            r"postfix/trivial-rewrite\[\d+\]: warning: unknown context: "
            r"bogus"), self.inst.log())

    def test_resolve_classes(self):
        self.instance(MAIN_ONE)
        self.check_resolve([
            ("joe", "local", "mx.example.test", "joe@mx.example.test",
             "final class_local"),
            ("joe@example.test", "local", "mx.example.test",
             "joe@example.test", "final class_local"),
            ("joe@EXAMPLE.TEST", "local", "mx.example.test",
             "joe@EXAMPLE.TEST", "final class_local"),
            ("joe@example.test.", "local", "mx.example.test",
             "joe@example.test", "final class_local"),
            ("joe@localhost", "local", "mx.example.test", "joe@localhost",
             "final class_local"),
            ("joe@[127.0.0.1]", "local", "mx.example.test",
             "joe@[127.0.0.1]", "final class_local"),
            ("", "local", "mx.example.test", "MAILER-DAEMON@mx.example.test",
             "final class_local"),
            ("joe@[10.1.1.1]", "smtp", SMART, "joe@[10.1.1.1]",
             "class_default"),
            ("u@valias.test", "error",
             "5.1.1 User unknown in virtual alias table", "u@valias.test",
             "final class_alias"),
            ("u@vmbox.test", "virtual", "vmbox.test", "u@vmbox.test",
             "final class_virtual"),
            ("u@relay.test", "relay", SMART, "u@relay.test", "class_relay"),
            ("u@elsewhere.test", "smtp", SMART, "u@elsewhere.test",
             "class_default"),
        ])

    def test_resolve_transport_maps(self):
        self.instance(MAIN_ONE)
        self.check_resolve([
            ("u@special.test", "smtp", "[10.0.0.9]:25", "u@special.test",
             "class_default"),
            ("u@onlyxport.test", "lmtp", "onlyxport.test",
             "u@onlyxport.test", "class_default"),
            ("u@hoponly.test", "smtp", "[hop.test]", "u@hoponly.test",
             "class_default"),
            ("user@routed.test", "discard", "routed.test",
             "user@routed.test", "class_default"),
            ("other@routed.test", "smtp", SMART, "other@routed.test",
             "class_default"),
            ("x@bad.test", "error", "5.7.1 go away", "x@bad.test",
             "class_default"),
            ("x@a.sub.test", "relay", "[subhop.test]", "x@a.sub.test",
             "class_default"),
            ("x@sub.test", "smtp", SMART, "x@sub.test", "class_default"),
        ])

    def test_resolve_sender_dependent_relayhost(self):
        self.instance(MAIN_ONE)
        self.check_resolve([("u@elsewhere.test", "smtp",
                             "[alice-relay.test]:587", "u@elsewhere.test",
                             "class_default")], sender="alice@sender.test")
        self.check_resolve([("u@elsewhere.test", "smtp", "[sdom-relay.test]",
                             "u@elsewhere.test", "class_default")],
                           sender="bob@sdom.test")
        self.check_resolve([("u@elsewhere.test", "smtp", "[bounce-relay.test]",
                             "u@elsewhere.test", "class_default")],
                           sender="")
        self.check_resolve([("u@elsewhere.test", "smtp", SMART,
                             "u@elsewhere.test", "class_default")],
                           sender="carol@other.test")
        # Local delivery ignores relayhosts.
        self.check_resolve([("joe", "local", "mx.example.test",
                             "joe@mx.example.test", "final class_local")],
                           sender="alice@sender.test")

    def test_resolve_routing_and_syntax(self):
        self.instance(MAIN_ONE)
        self.check_resolve([
            # Percent hack and bang path behind a local domain.
            ("joe%elsewhere.test@example.test", "smtp", SMART,
             "joe@elsewhere.test", "class_default"),
            ("elsewhere.test!joe@example.test", "smtp", SMART,
             "joe@elsewhere.test", "class_default"),
            ("joe@other.test@example.test", "smtp", SMART,
             "joe@other.test", "class_default"),
            ("joe%x@elsewhere.test", "smtp", SMART, "joe%x@elsewhere.test",
             "routed class_default"),
            ("joe%mx.example.test@example.test", "local", "mx.example.test",
             "joe@mx.example.test", "final class_local"),
            # Bad syntax is flagged for the caller to reject.
            ("user@", "smtp", SMART, "user@", "error class_default"),
            ("user@exa mple.test", "smtp", SMART, "user@exa mple.test",
             "error class_default"),
            ("user@-bad.test", "smtp", SMART, "user@-bad.test",
             "error class_default"),
        ])


MAIN_TWO = """
mydomain = example.test
relay_domains = relay.test
virtual_mailbox_domains = vmbox.test
virtual_transport = lmtp:unix:private/dovecot-lmtp
parent_domain_matches_subdomains = transport_maps
transport_maps = inline:{parent.test=smtp:[p.test]}
empty_address_recipient = postmaster
sender_dependent_default_transport_maps = inline:{@sdt.test=uucp:gateway}
resolve_null_domain = yes
remote_header_rewrite_domain = remote.test
"""


class DefaultsTest(TrivialRewriteTest):
    def test_rewrite_defaults(self):
        self.instance(MAIN_TWO)
        # compatibility_level 3.6: append_dot_mydomain defaults to no.
        self.assertEqual(self.rewrite("local", "joe", "joe@host"),
                         {"joe": "joe@mx.example.test",
                          "joe@host": "joe@host"})
        self.assertEqual(self.rewrite("remote", "joe", "joe@host"),
                         {"joe": "joe@remote.test", "joe@host": "joe@host"})

    def test_resolve_without_relayhost(self):
        self.instance(MAIN_TWO)
        self.check_resolve([
            ("u@far.test", "smtp", "far.test", "u@far.test", "class_default"),
            ("u@relay.test", "relay", "relay.test", "u@relay.test",
             "class_relay"),
            ("u@vmbox.test", "lmtp", "unix:private/dovecot-lmtp",
             "u@vmbox.test", "final class_virtual"),
            ("x@a.parent.test", "smtp", "[p.test]", "x@a.parent.test",
             "class_default"),
            ("x@parent.test", "smtp", "[p.test]", "x@parent.test",
             "class_default"),
            ("", "local", "mx.example.test", "postmaster@mx.example.test",
             "final class_local"),
            ("user@", "local", "mx.example.test", "user@mx.example.test",
             "final class_local"),
        ])
        self.check_resolve([("u@far.test", "uucp", "gateway", "u@far.test",
                             "class_default")], sender="a@sdt.test")
        # The transport's nexthop beats the domain, not the relay class.
        self.check_resolve([("u@relay.test", "relay", "relay.test",
                             "u@relay.test", "class_relay")],
                           sender="a@sdt.test")


MAIN_THREE = """
mydomain = example.test
allow_percent_hack = no
swap_bangpath = no
transport_maps = hash:%s/missing
"""


class FailureTest(TrivialRewriteTest):
    def test_table_failure_and_switches(self):
        self.instance(MAIN_THREE % self.dir)
        got = self.resolve("u@far.test")
        self.assertIn("fail", got["flagnames"])
        self.assertIsNotNone(self.inst.wait_log(
            r"postfix/trivial-rewrite\[\d+\]: warning: transport_maps "
            r"lookup failure"), self.inst.log())
        self.assertEqual(self.rewrite("local", "a!b", "a%b"),
                         {"a!b": "a!b@mx.example.test",
                          "a%b": "a%b@mx.example.test"})

    def test_service_down(self):
        self.instance(MAIN_THREE % self.dir)
        self.inst.stop()
        r = self.trquery("resolve", "u@far.test")
        self.assertEqual(r.returncode, 1)
        self.assertIn("connect to private/rewrite", r.stderr)


if __name__ == "__main__":
    unittest.main()
