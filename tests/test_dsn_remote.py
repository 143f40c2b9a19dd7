"""Delivery status notifications for remote deliveries, as Postfix 3.7
writes them (observed with Debian's 3.7.11 against loopback servers):

- a recipient that an SMTP or LMTP server rejected (RCPT TO or, LMTP, end
  of DATA) gets "Remote-MTA: dns; HOST" and "Diagnostic-Code: smtp; REPLY"
  (a multi-line reply's lines joined by spaces), while the text part says
  "host H[A] said: REPLY (in reply to X command)";
- without a server reply (connection refused) it is "X-Postfix; TEXT" and
  no Remote-MTA;
- a success notice (NOTIFY=SUCCESS) after smtp or lmtp delivery to a server
  without DSN says "Action: relayed" with "Diagnostic-Code: smtp; 250 ...";
- the same from LMTP with lmtp_assume_final = yes says "delivered";
- a server that announces DSN gets NOTIFY=... passed on and no success
  notice is sent here;
- delay warnings and the expiry notice keep "smtp; 450 ..." for a reply and
  "X-Postfix; connect to ..." for a refused connection.

Servers: scripted SMTP/LMTP servers on 127.0.N.x; the notices come back to
snd@relay.test through the relayhost server.
"""
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import unittest

import e2e

MASTER_CF = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
smtp      unix  -       -       n       -       -       smtp
lmtp      unix  -       -       n       -       -       lmtp
lmtpf     unix  -       -       n       -       -       lmtp
  -o lmtp_assume_final=yes
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Server:
    """An SMTP (or LMTP) server: a recipient's local part picks the reply
    (rej*: 550 at RCPT, multi*: multi-line 550, tmp*: 450, lrej*: LMTP 550
    after DATA); records every transaction."""

    def __init__(self, host, port, dsn=False, lmtp=False,
                 greeting="220 sink.test ESMTP"):
        self.dsn, self.lmtp, self.greeting = dsn, lmtp, greeting
        self.messages = []
        self.rcpt_lines = []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(20)
        self.stopped = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,),
                             daemon=True).start()

    def serve(self, c):
        c.settimeout(60)
        f = c.makefile("rwb", buffering=0)

        def out(s):
            f.write((s + "\r\n").encode())

        try:
            out(self.greeting)
            if not self.greeting.startswith("220"):
                f.readline()    # QUIT
                out("221 2.0.0 bye")
                return
            sender, rcpts = None, []
            while True:
                line = f.readline()
                if not line:
                    break
                line = line.decode(errors="replace").rstrip("\r\n")
                cmd = line.upper()
                if cmd.startswith(("EHLO", "LHLO")):
                    out("250-sink.test")
                    out("250-PIPELINING")
                    if self.dsn:
                        out("250-DSN")
                    out("250 8BITMIME")
                elif cmd.startswith("MAIL"):
                    sender = line[line.index("<") + 1:line.index(">")]
                    rcpts = []
                    if sender.startswith("badsnd"):
                        out("550 5.7.1 <%s>: Sender address rejected: go "
                            "away" % sender)
                    else:
                        out("250 2.1.0 Ok")
                elif sender and sender.startswith("badsnd") and \
                        cmd.startswith("RCPT"):
                    out("503 5.5.1 Error: need MAIL command")
                elif sender and sender.startswith("badsnd") and \
                        cmd == "DATA":
                    out("503 5.5.1 Error: need RCPT command")
                elif cmd.startswith("RCPT"):
                    a = line[line.index("<") + 1:line.index(">")]
                    with self.lock:
                        self.rcpt_lines.append(line)
                    if a.startswith("rej"):
                        out("550 5.1.1 <%s>: Recipient address rejected: "
                            "no such user" % a)
                    elif a.startswith("multi"):
                        out("550-5.1.1 first line of")
                        out("550 5.1.1 <%s> second line" % a)
                    elif a.startswith("tmp"):
                        out("450 4.2.0 <%s>: Recipient address rejected: "
                            "try later" % a)
                    else:
                        rcpts.append(a)
                        out("250 2.1.5 Ok")
                elif cmd == "DATA":
                    out("354 go ahead")
                    data = []
                    while True:
                        d = f.readline()
                        if not d or d.rstrip(b"\r\n") == b".":
                            break
                        data.append(d)
                    with self.lock:
                        self.messages.append({"from": sender,
                                              "rcpts": list(rcpts),
                                              "data": b"".join(data)})
                        n = len(self.messages)
                    if self.lmtp:
                        for a in rcpts:
                            if a.startswith("lrej"):
                                out("550 5.1.1 <%s>: user unknown" % a)
                            else:
                                out("250 2.0.0 <%s> delivered" % a)
                    else:
                        out("250 2.0.0 Ok: queued as SINK%d" % n)
                elif cmd == "QUIT":
                    out("221 2.0.0 bye")
                    break
                else:
                    out("250 2.0.0 Ok")
        except OSError:
            pass
        finally:
            c.close()

    def wait(self, pred, timeout=40):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                for m in self.messages:
                    if pred(m):
                        return m
            time.sleep(0.1)
        return None

    def stop(self):
        self.stopped = True
        self.sock.close()


class DsnRemoteTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for rel in ("master/master", "qmgr/qmgr", "smtp/smtp", "smtp/lmtp",
                    "bounce/bounce", "sendmail/sendmail"):
            if not os.path.exists(os.path.join(e2e.BUILD, rel)):
                raise unittest.SkipTest("SKIPPED LOUDLY: %s is not built"
                                        % rel)
        cls.top = tempfile.mkdtemp(prefix="postern-dsnr-")
        os.chmod(cls.top, 0o755)
        cls.servers = []
        try:
            cls.setup_all()
        except BaseException:
            cls.cleanup()
            raise

    @classmethod
    def setup_all(cls):
        cls.base = (os.getpid() + 97) % 200 + 20
        p = cls.port = e2e.free_port()
        cls.plain = Server(cls.net(1), p)
        cls.dsn = Server(cls.net(2), p, dsn=True)
        cls.lmtp = Server(cls.net(3), p, lmtp=True)
        cls.greet = Server(cls.net(5), p,
                           greeting="554 5.7.1 no service for you")
        cls.servers = [cls.plain, cls.dsn, cls.lmtp, cls.greet]
        # net(4): nothing listens
        with open(os.path.join(cls.top, "transport"), "w") as f:
            f.write("dsn.test smtp:[%s]:%d\n"
                    "lmtp.test lmtp:inet:%s:%d\n"
                    "dead.test smtp:[%s]:%d\n"
                    "final.test lmtpf:inet:%s:%d\n"
                    "greet.test smtp:[%s]:%d\n"
                    % (cls.net(2), p, cls.net(3), p, cls.net(4), p,
                       cls.net(3), p, cls.net(5), p))
        extra = ("transport_maps = texthash:%s/transport\n"
                 "relayhost = [%s]:%d\n"
                 "smtp_connect_timeout = 5s\n"
                 "delay_warning_time = 1s\n"
                 "queue_run_delay = 2s\n"
                 "minimal_backoff_time = 2s\n"
                 "maximal_backoff_time = 4s\n"
                 "maximal_queue_lifetime = 8s\n"
                 "bounce_queue_lifetime = 8s\n"
                 % (cls.top, cls.net(1), p))
        os.makedirs(os.path.join(cls.top, "inst"))
        cls.inst = e2e.Instance(os.path.join(cls.top, "inst"), MASTER_CF,
                                extra)
        cls.inst.start()

    @classmethod
    def net(cls, host):
        return "127.0.%d.%d" % (cls.base, host)

    @classmethod
    def cleanup(cls):
        if getattr(cls, "inst", None):
            cls.inst.stop()
        for s in cls.servers:
            s.stop()
        shutil.rmtree(cls.top, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.cleanup()

    def send(self, rcpts, subject, opts=(), sender="snd@relay.test"):
        r = e2e.run([os.path.join(self.inst.bin, "sendmail"), "-f",
                     sender] + list(opts) + ["--"] + rcpts,
                    input="Subject: %s\n\nbody\n" % subject,
                    env={"MAIL_CONFIG": self.inst.conf})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def notice(self, subject, kind, timeout=40):
        """The notice (from <>) about the message with this Subject."""
        m = self.plain.wait(
            lambda m: m["from"] == "" and
            ("Subject: %s" % kind).encode() in m["data"] and
            ("Subject: %s\r\n" % subject).encode() in m["data"], timeout)
        self.assertIsNotNone(m, "no %r notice for %r:\n%s"
                             % (kind, subject, self.inst.log()[-4000:]))
        return m["data"].decode()

    def test_rcpt_reject_smtp_diagnostic(self):
        self.send(["rej1@relay.test", "multi1@relay.test", "ok1@relay.test"],
                  "t-reject")
        data = self.notice("t-reject", "Undelivered Mail")
        self.assertIn("\r\nFinal-Recipient: rfc822; rej1@relay.test\r\n"
                      "Original-Recipient: rfc822;rej1@relay.test\r\n"
                      "Action: failed\r\nStatus: 5.1.1\r\n"
                      "Remote-MTA: dns; %s\r\n"
                      "Diagnostic-Code: smtp; 550 5.1.1 <rej1@relay.test>: "
                      "Recipient address rejected:\r\n    no such user\r\n"
                      % self.net(1), data)
        self.assertIn("Diagnostic-Code: smtp; 550-5.1.1 first line of 550 "
                      "5.1.1 <multi1@relay.test>\r\n    second line\r\n",
                      data)
        # the text part keeps Postfix's "host H[A] said: ..." sentence
        text = re.sub(r"\r\n    ", " ", data)
        self.assertIn("<rej1@relay.test>: host %s[%s] said: 550 5.1.1 "
                      "<rej1@relay.test>: Recipient address rejected: no "
                      "such user (in reply to RCPT TO command)"
                      % (self.net(1), self.net(1)), text)
        self.assertNotIn("X-Postfix;", data)
        self.assertNotIn("ok1@relay.test", data)

    def test_5xx_greeting_diagnostic(self):
        """A 5xx greeting (smtp_skip_5xx_greeting = yes: deferred): the
        notices carry the server's reply, as Postfix's smtp_site_fail."""
        self.send(["u5@greet.test"], "t-greet")
        self.assertIsNotNone(self.inst.wait_log(
            r"to=<u5@greet\.test>, .* status=deferred \(host %s refused "
            r"to talk to me: 554 5\.7\.1 no service for you\)$"
            % re.escape("%s[%s]" % (self.net(5), self.net(5))), 40),
            self.inst.log()[-3000:])
        data = self.notice("t-greet", "Delayed Mail")
        self.assertIn("Final-Recipient: rfc822; u5@greet.test\r\n"
                      "Original-Recipient: rfc822;u5@greet.test\r\n"
                      "Action: delayed\r\nStatus: 4.7.1\r\n"
                      "Remote-MTA: dns; %s\r\n"
                      "Diagnostic-Code: smtp; 554 5.7.1 no service for you"
                      "\r\n" % self.net(5), data)
        self.assertNotIn("X-Postfix;", data)

    def test_mail_from_reject(self):
        """A pipelined MAIL FROM rejection: the MAIL reply (not the 503s
        that follow it) in the log and the notice."""
        self.send(["u9@relay.test"], "t-mailrej", sender="badsnd@relay.test")
        self.assertIsNotNone(self.inst.wait_log(
            r"to=<u9@relay\.test>, .* status=bounced \(host %s said: 550 "
            r"5\.7\.1 <badsnd@relay\.test>: Sender address rejected: go "
            r"away \(in reply to MAIL FROM command\)\)$"
            % re.escape("%s[%s]" % (self.net(1), self.net(1))), 40),
            self.inst.log()[-3000:])
        data = self.notice("t-mailrej", "Undelivered Mail")
        self.assertIn("Action: failed\r\nStatus: 5.7.1\r\n"
                      "Remote-MTA: dns; %s\r\n"
                      "Diagnostic-Code: smtp; 550 5.7.1 <badsnd@relay.test>: "
                      "Sender address rejected:\r\n    go away\r\n"
                      % self.net(1), data)

    def test_success_relayed(self):
        self.send(["ok2@relay.test"], "t-relayed", ["-N", "success"])
        data = self.notice("t-relayed", "Successful Mail Delivery")
        self.assertRegex(data,
                         r"\r\nFinal-Recipient: rfc822; ok2@relay\.test\r\n"
                         r"Original-Recipient: rfc822;ok2@relay\.test\r\n"
                         r"Action: relayed\r\nStatus: 2\.0\.0\r\n"
                         r"Remote-MTA: dns; %s\r\n"
                         r"Diagnostic-Code: smtp; 250 2\.0\.0 Ok: queued as "
                         r"SINK\d+\r\n" % re.escape(self.net(1)))
        text = re.sub(r"\r\n    ", " ", data)
        self.assertRegex(text, r"<ok2@relay\.test>: delivery via %s: 250 "
                         r"2\.0\.0 Ok: queued as SINK\d+"
                         % re.escape("%s[%s]:%d" % (self.net(1), self.net(1),
                                                     self.port)))

    def test_dsn_server_takes_notify(self):
        """The server announces DSN: NOTIFY goes to it, no notice here."""
        self.send(["ok3@dsn.test"], "t-dsnsrv", ["-N", "success,delay"])
        m = self.inst.wait_log(r"postfix/smtp\[\d+\]: ([0-9A-F]+): "
                               r"to=<ok3@dsn\.test>, .* status=sent", 40)
        self.assertIsNotNone(m, self.inst.log()[-3000:])
        qid = m.group(1)
        self.assertIsNotNone(self.inst.wait_log(r"%s: removed" % qid, 40),
                             self.inst.log()[-3000:])
        with self.dsn.lock:
            lines = [l for l in self.dsn.rcpt_lines if "ok3@" in l]
        self.assertEqual(lines, ["RCPT TO:<ok3@dsn.test> "
                                 "ORCPT=rfc822;ok3@dsn.test "
                                 "NOTIFY=SUCCESS,DELAY"])
        self.assertNotIn("%s: sender delivery status notification" % qid,
                         self.inst.log())

    def test_lmtp(self):
        self.send(["lrej1@lmtp.test", "rej5@lmtp.test", "lok1@lmtp.test"],
                  "t-lmtp", ["-N", "success,failure"])
        data = self.notice("t-lmtp", "Undelivered Mail")
        self.assertIn("Remote-MTA: dns; %s\r\nDiagnostic-Code: smtp; 550 "
                      "5.1.1 <lrej1@lmtp.test>: user unknown\r\n"
                      % self.net(3), data)
        self.assertIn("Diagnostic-Code: smtp; 550 5.1.1 <rej5@lmtp.test>: "
                      "Recipient address rejected:\r\n    no such user\r\n",
                      data)
        text = re.sub(r"\r\n    ", " ", data)
        self.assertIn("user unknown (in reply to end of DATA command)", text)
        data = self.notice("t-lmtp", "Successful Mail Delivery")
        self.assertIn("Final-Recipient: rfc822; lok1@lmtp.test\r\n"
                      "Original-Recipient: rfc822;lok1@lmtp.test\r\n"
                      "Action: relayed\r\nStatus: 2.0.0\r\n"
                      "Remote-MTA: dns; %s\r\n"
                      "Diagnostic-Code: smtp; 250 2.0.0 <lok1@lmtp.test> "
                      "delivered\r\n" % self.net(3), data)

    def test_lmtp_assume_final(self):
        """lmtp_assume_final = yes, server without DSN: "delivered"."""
        self.send(["lok8@final.test"], "t-final", ["-N", "success"])
        data = self.notice("t-final", "Successful Mail Delivery")
        self.assertIn("Action: delivered\r\nStatus: 2.0.0\r\n"
                      "Remote-MTA: dns; %s\r\n"
                      "Diagnostic-Code: smtp; 250 2.0.0 <lok8@final.test> "
                      "delivered\r\n" % self.net(3), data)

    def test_delay_and_expiry(self):
        """A 450 keeps "smtp;" in the delay warning and when the message
        expires; a refused connection is "X-Postfix;" without Remote-MTA."""
        self.send(["tmp7@relay.test", "x7@dead.test"], "t-delay")
        dead = "connect to %s[%s]:%d: Connection refused" % (
            self.net(4), self.net(4), self.port)
        for kind, action in (("Delayed Mail", "delayed"),
                             ("Undelivered Mail", "failed")):
            data = self.notice("t-delay", kind, 60)
            self.assertIn("Final-Recipient: rfc822; tmp7@relay.test\r\n"
                          "Original-Recipient: rfc822;tmp7@relay.test\r\n"
                          "Action: %s\r\nStatus: 4.2.0\r\n"
                          "Remote-MTA: dns; %s\r\n"
                          "Diagnostic-Code: smtp; 450 4.2.0 "
                          "<tmp7@relay.test>: Recipient address rejected:"
                          "\r\n    try later\r\n" % (action, self.net(1)),
                          data)
            block = data[data.index("Final-Recipient: rfc822; x7@"):]
            block = re.sub(r"\r\n    ", " ", block.split("\r\n\r\n")[0])
            self.assertIn("Action: %s\r\nStatus: 4.4.1\r\n"
                          "Diagnostic-Code: X-Postfix; %s" % (action, dead),
                          block)
            self.assertNotIn("Remote-MTA", block)


if __name__ == "__main__":
    unittest.main()
