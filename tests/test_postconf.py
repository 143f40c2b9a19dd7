"""End-to-end tests for postconf: our output against Debian's Postfix 3.7
postconf (the oracle) where it is installed, and pinned expectations for
the main behaviours everywhere.

Every test writes its own config directory.  The oracle is only ever run
as "postconf -c DIR": it never touches /etc/postfix.
"""
import os
import re
import stat
import subprocess
import time

import e2e

DEBIAN_MASTER = "/etc/postfix/master.cf"
DEBIAN_MAIN = "/etc/postfix/main.cf.proto"
PARAMS_DEF = os.path.join(e2e.TOP, "lib", "mail", "params.def")

# A master.cf with the layouts Postfix folds in particular ways.
ODD_MASTER = """\
# comment
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }
  -o smtpd_recipient_restrictions=
#  -o commented=out
  -vo x=y -v {a b} c {d e}
127.0.0.1:2525 inet n - - 60? 5 smtpd -v -D
[::1]:smtp inet n - - - - smtpd
averyveryveryverylongservicenamethatislong unix-dgram - - - - - cmd -o a=b
maildrop  unix  -       n       n       -       -       pipe
  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient} aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb ccccc
x unix - - - - - cmd -- -o a=b {x y}
y unix - - - - - cmd -o {  spaced = a   b  } -o
z unix - - - - - cmd -o {a=b} {zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz}
relay unix - - - - - smtp -o syslog_name=postfix/$service_name -o smtp_helo_name=$myhostname
"""

# A main.cf with continuation lines, comments inside entries, repeats,
# user-defined names and a last line without a newline.
ODD_MAIN = """\
# comment
myhostname = host.example.com
mydestination = $myhostname,
   localhost
# inner
\tmore
smtpd_banner=x
relayhost = [a]
myhostname = second
 cont
mydest = $myhostname, localhost
smtpd_restriction_classes = myclass
myclass = permit
virtual_maps = hash:/x
user_ref = ${undefined_thing}
alias_maps = $user_ref
bogus = 1
last = 1"""


def read(path):
    with open(path, "rb") as f:
        return f.read()


def debian_file(path):
    if not os.path.exists(path):
        e2e.need_oracle()
    with open(path) as f:
        return f.read()


def exempt_names():
    """Parameters whose default differs from Postfix on purpose (P_DIFF) or
    is computed at run time (P_DYN), from params.def."""
    names = set()
    with open(PARAMS_DEF) as f:
        for line in f:
            m = re.match(r"PARAM\(\w+,\s*(\w+),", line)
            if m and re.search(r"P_DYN|P_DIFF", line.rsplit(",", 1)[-1]):
                names.add(m.group(1))
    return names


def drop_exempt(text):
    exempt = exempt_names()
    return "".join(line for line in text.splitlines(True)
                   if line.split(" =", 1)[0] not in exempt)


def norm(text, confdir):
    """stderr with the config directory named DIR, and the program named
    "postconf" (Postfix's messages start with argv[0] as it was given)."""
    text = text.replace(e2e.oracle("postconf"), "postconf")
    text = text.replace(e2e.prog("postconf"), "postconf")
    return text.replace(confdir, "DIR")


def sorted_lines(text, confdir):
    """stderr lines, sorted (Postfix prints some in hash order)."""
    return sorted(norm(text, confdir).splitlines())


class PostconfTest(e2e.TempDirTest):
    def ours(self, confdir, *args):
        return e2e.run([e2e.prog("postconf"), "-c", confdir] + list(args))

    def theirs(self, confdir, *args):
        return e2e.run([e2e.oracle("postconf"), "-c", confdir] + list(args))

    def both(self, confdir, *args):
        return self.ours(confdir, *args), self.theirs(confdir, *args)

    def conf(self, main_cf="", master_cf="", name="etc"):
        d = os.path.join(self.dir, name)
        os.makedirs(d, exist_ok=True)
        for fname, text in (("main.cf", main_cf), ("master.cf", master_cf)):
            path = os.path.join(d, fname)
            with open(path, "w") as f:
                f.write(text)
            # Postfix reads a file modified within the last second again
            # (and warns again); an old mtime keeps its stderr stable.
            past = time.time() - 100
            os.utime(path, (past, past))
        return d

    def assertSameOutput(self, confdir, *args, stderr="exact", exempt=False):
        us, them = self.both(confdir, *args)
        if exempt:
            self.assertEqual(drop_exempt(us.stdout), drop_exempt(them.stdout),
                             "stdout of postconf %s" % " ".join(args))
        else:
            self.assertEqual(us.stdout, them.stdout, "stdout of postconf %s" %
                             " ".join(args))
        if stderr == "exact":
            self.assertEqual(norm(us.stderr, confdir),
                             norm(them.stderr, confdir),
                             "stderr of postconf %s" % " ".join(args))
        elif stderr == "sorted":
            self.assertEqual(sorted_lines(us.stderr, confdir),
                             sorted_lines(them.stderr, confdir),
                             "stderr of postconf %s" % " ".join(args))
        self.assertEqual(us.returncode, them.returncode,
                         "exit status of postconf %s" % " ".join(args))
        return us


class TestOracle(PostconfTest):
    """Byte-for-byte comparisons with Debian's postconf."""

    def setUp(self):
        super().setUp()
        e2e.need_oracle()
        self.debian_master = debian_file(DEBIAN_MASTER)
        self.debian_main = debian_file(DEBIAN_MAIN)

    def test_n_realistic_main_cf(self):
        d = self.conf(self.debian_main, self.debian_master)
        self.assertSameOutput(d, "-n", stderr="sorted")
        self.assertSameOutput(d, "-nf", stderr="sorted")
        self.assertSameOutput(d, "-nh", stderr="sorted")
        self.assertSameOutput(d, "-nH", stderr="sorted")

    def test_n_odd_main_cf(self):
        d = self.conf(ODD_MAIN, self.debian_master)
        self.assertSameOutput(d, "-n", stderr="sorted")

    def test_master_debian(self):
        d = self.conf(self.debian_main, self.debian_master)
        for opt in ("-M", "-Mf", "-F", "-Ff", "-P", "-Pf", "-Fh", "-Ph",
                    "-PH", "-FH"):
            self.assertSameOutput(d, opt, stderr="sorted")

    def test_master_odd_layouts(self):
        d = self.conf("", ODD_MASTER)
        for opt in ("-M", "-Mf", "-F", "-Ff", "-P", "-Pf"):
            self.assertSameOutput(d, opt, stderr="sorted")

    def test_master_quirks_found_by_fuzzing(self):
        for line in ("s pass - - n 0 0 cmd - $x x=y",
                     "s unix-dgram y y y -? - {c d} - {a}b -oq=r",
                     "s unix - n y 60? - {c d} -D - } {",
                     "s fifo - y y ? 1 cmd -vo {a = b} -o",
                     "s inet n - - - - cmd -- -o a=b"):
            d = self.conf("", line + "\n", name="q")
            for opt in ("-M", "-Mf", "-F", "-P"):
                self.assertSameOutput(d, opt, stderr="sorted")

    def test_master_filters(self):
        d = self.conf("", self.debian_master)
        for args in (["-M", "smtp"], ["-M", "*/inet", "relay/unix"],
                     ["-M", "nosuch"], ["-F", "smtp/inet/command",
                                        "*/*/chroot", "relay/unix"],
                     ["-F", "smtp/unix/bogus"], ["-F", "a/b/c/d"],
                     ["-P", "relay/unix/syslog_name", "relay/*/nosuch"],
                     ["-M", "a/b/c"]):
            self.assertSameOutput(d, *args)

    def test_master_expand(self):
        d = self.conf("myhostname = h.example\n", ODD_MASTER)
        for opt in ("-Mx", "-Px", "-Fx"):
            self.assertSameOutput(d, opt, stderr="sorted")

    def test_bad_master_lines(self):
        bad = ["smtp inet n - y - -",
               "smtp bogus n - y - - smtpd",
               "smtp inet x - y - - smtpd",
               "smtp inet n yes y - - smtpd",
               "smtp inet n - Y - - smtpd",
               "smtp inet n - y abc - smtpd",
               "smtp inet n - y - 1x smtpd",
               "smtp inet n - y - - smtpd -o {a = b",
               "smtp inet n - y - - smtpd {a b",
               "smtp inet n - y - - smtpd {a}b",
               "smtp inet n - y - - smtpd -o { novalue }",
               "  leading whitespace line that is long enough\n"
               "smtp inet n - y - - smtpd",
               "# c\n\nsmtp inet n - y - - smtpd\nx unix"]
        for text in bad:
            d = self.conf("", text + "\n", name="bad")
            self.assertSameOutput(d, "-M")

    def test_h_x_expansions(self):
        main = ("myhostname = host.example.com\n"
                "mydomain = example.com\n"
                "mydest = $myhostname, localhost.$mydomain\n"
                "mydestination = $mydest\n"
                "relay_domains = ${mydomain?{yes $mydomain}:{no}}\n"
                "smtpd_banner = $myhostname ESMTP\n"
                "double = $$literal\n"
                "alias_maps = $double\n")
        d = self.conf(main, self.debian_master)
        for args in (["-h", "mydestination"], ["-x", "mydestination"],
                     ["-hx", "mydestination", "relay_domains"],
                     ["-x", "smtpd_timeout", "alias_maps", "virtual_alias_maps",
                      "default_rbl_reply"],
                     ["-nx"], ["-h", "html_directory"],
                     ["-o", "myhostname=o.example", "-x", "mydestination"],
                     ["-o", "smtpd_timeout = 5", "-n", "smtpd_timeout"],
                     ["-o", "bad"]):
            self.assertSameOutput(d, *args, stderr="sorted")

    def test_unknown_and_unused_warnings(self):
        master = self.debian_master + (
            "extra unix - - - - - smtp -o a=$b -o smtp_helo_name=$c"
            " -o {c=1} -o d=$foo -o myclass=x\n")
        main = ODD_MAIN + "\nrelay_domains = $foo_maps $virtual_maps\n"
        d = self.conf(main, master)
        for args in ([], ["-n"], ["nosuch", "myhostname", "bogus", "mydest"],
                     ["-M"], ["-P"], ["-o", "bogus2=x", "-n"],
                     ["-d", "mydest", "bogus", "virtual_maps"]):
            self.assertSameOutput(d, *args, stderr="sorted", exempt=True)

    def test_read_only_and_restriction_classes(self):
        master = self.debian_master + (
            "sub inet n - y - - smtpd -o smtpd_restriction_classes=lclass"
            " -o lclass=permit -o gclass=x -o other=$lref -o lref=1"
            " -o smtpd_helo_restrictions=$gref -o service_name=s\n")
        main = ("process_id = 5\nprocess_name = x\n"
                "smtpd_restriction_classes = gclass, $cl2\n"
                "cl2 = c2\nc2 = permit\ngclass = reject\ngref = 1\n"
                "default_rbl_reply = $custom\ncustom = x\n"
                "relay_destination_concurrency_limit = 5\n"
                "maildrop_time_limit = 3\nvirtual_maps = v\n")
        d = self.conf(main, master)
        for args in (["-n"], ["-H"], ["-P"], ["-M", "sub"], ["-Px"],
                     ["-o", "gref=2", "-Px"], ["process_name"],
                     ["-d", "relay_destination_concurrency_limit",
                      "maildrop_time_limit", "virtual_maps"],
                     ["-C", "user"], ["-C", "user", "-n"],
                     ["-C", "service"], ["-C", "service", "-d"],
                     ["-C", "builtin,SERVICE", "-n"], ["-C", "bogus"],
                     ["-C", "all"], ["-C", "user", "virtual_maps"]):
            self.assertSameOutput(d, *args, stderr="sorted", exempt=True)

    def test_fold_and_white_space(self):
        main = ("smtpd_recipient_restrictions = permit_mynetworks, "
                "permit_sasl_authenticated, reject_unauth_destination, "
                "check_policy_service unix:private/policy, reject_rbl_client "
                "zen.spamhaus.org, permit\n"
                "smtpd_banner = $myhostname\tESMTP    $mail_name   tabs\n"
                "longword = " + "a" * 90 + " b\n"
                "mydestination = $longword\n")
        d = self.conf(main, self.debian_master)
        for args in (["-nf"], ["-n"], ["-x", "mydestination"],
                     ["-xf", "mydestination", "smtpd_recipient_restrictions"],
                     ["-hf", "smtpd_recipient_restrictions"]):
            self.assertSameOutput(d, *args)

    def test_macro_syntax_errors(self):
        """Postfix reports them in hash order; the end is the same."""
        d = self.conf("broken = ${foo\nalias_maps = $broken\n",
                      self.debian_master)
        for args in (["-n"], ["-x", "alias_maps"], ["-M"]):
            us, them = self.both(d, *args)
            self.assertEqual(us.returncode, them.returncode)
            self.assertEqual(us.stdout, them.stdout)
            self.assertEqual(norm(us.stderr, d).splitlines()[-1],
                             norm(them.stderr, d).splitlines()[-1])
            self.assertEqual(set(norm(us.stderr, d).splitlines()),
                             set(norm(them.stderr, d).splitlines()))

    def test_interleaving(self):
        """Through one pipe, warnings land where Postfix's land: unknown
        names and unmatched patterns before the (buffered) output, unused
        parameters after it."""
        d = self.conf("bogus = 1\n", self.debian_master)
        for args in (["virtual_maps", "nosuch", "myorigin"],
                     ["-M", "nosuch", "smtp"], ["-P", "x", "relay"]):
            out = []
            for prog in (e2e.prog("postconf"), e2e.oracle("postconf")):
                r = subprocess.run([prog, "-c", d] + args,
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
                out.append(norm(r.stdout, d))
            self.assertEqual(out[0], out[1], " ".join(args))

    def test_macro_errors_in_unused_values(self):
        """A broken value that nothing uses only warns."""
        d = self.conf("b = ${foo\n",
                      "x unix - - - - - smtp -o a=${foo -o b=$\n")
        self.assertSameOutput(d, "-x", "myhostname", "b", stderr="sorted")
        for opt in ("-M", "-n"):
            self.assertSameOutput(d, opt, stderr="sorted")

    def test_fatal_drops_buffered_output(self):
        """A fatal error in the middle of -x output: nothing on stdout,
        as with Postfix (whose fatal exit does not flush)."""
        d = self.conf("u3 = $u1 $u3\nsmtpd_client_restrictions = x\n",
                      self.debian_master)
        us, them = self.both(d, "-nx")
        self.assertEqual((us.stdout, us.returncode),
                         (them.stdout, them.returncode))
        self.assertEqual(norm(us.stderr, d).splitlines()[-1],
                         "postconf: fatal: macro processing error")

    def test_macro_loops(self):
        """A $name loop in main.cf ends the run; which name of the loop
        Postfix names depends on its hash order."""
        d = self.conf("a = $b\nb = $a\nalias_maps = $a\n", self.debian_master)
        for args in (["-n"], ["-x", "alias_maps"], ["-M"]):
            us, them = self.both(d, *args)
            self.assertEqual((us.returncode, us.stdout),
                             (them.returncode, them.stdout))
            ours = norm(us.stderr, d).replace('"a"', '"b"')
            self.assertEqual(ours, norm(them.stderr, d).replace('"a"', '"b"'))
        d = self.conf("", "x unix - - - - - smtp -o a=$b -o b=$a\n",
                      name="loop2")
        self.assertSameOutput(d, "-M", stderr="sorted")
        # Loops among names that no built-in parameter uses only warn.
        d = self.conf("a = $b\nb = $a\nu1 = $u1\n"
                      "smtpd_restriction_classes = ${u9:no}\n",
                      self.debian_master, name="loop3")
        self.assertSameOutput(d, "-n", stderr="sorted")

    def test_d_every_parameter(self):
        """postconf -d: same names, same count, same values except P_DYN and
        P_DIFF parameters (computed at run time, or Postern's own)."""
        d = self.conf("", self.debian_master)
        us, them = self.both(d, "-d")
        self.assertEqual(us.returncode, 0, us.stderr)
        ours = dict(line.split(" =", 1) for line in us.stdout.splitlines())
        theirs = dict(line.split(" =", 1) for line in them.stdout.splitlines())
        exempt = exempt_names()
        self.assertEqual(sorted(set(theirs) - set(ours)), [],
                         "names Postfix has and we lack")
        self.assertEqual(sorted(set(ours) - set(theirs)), [],
                         "names we have and Postfix lacks")
        wrong = ["%s: ours%r theirs%r" % (n, ours[n], theirs[n])
                 for n in sorted(theirs)
                 if n not in exempt and ours.get(n) != theirs[n]]
        self.assertEqual(wrong, [])
        self.assertEqual(len(us.stdout.splitlines()),
                         len(them.stdout.splitlines()))
        self.assertEqual(len(them.stdout.splitlines()), 1043)

    def test_expanded_listings(self):
        """-x and -dx for every parameter: equal to Postfix once Postern's
        name and version are spelled as Postfix's and run-time values
        (P_DYN, P_DIFF, the process id) are left out."""
        d = self.conf(self.debian_main, self.debian_master)
        version = self.theirs(d, "-h", "mail_version").stdout.strip()
        our_version = self.ours(d, "-h", "mail_version").stdout.strip()
        exempt = exempt_names() | {"debugger_command"}
        for opt in ("-x", "-dx"):
            us, them = self.both(d, opt)
            ours = us.stdout.replace("Postern", "Postfix").replace(
                our_version, version)
            keep = [[line for line in out.splitlines()
                     if line.split(" =", 1)[0] not in exempt]
                    for out in (ours, them.stdout)]
            self.assertEqual(keep[0], keep[1], "postconf %s" % opt)

    def test_d_and_all_are_sorted(self):
        d = self.conf(self.debian_main, self.debian_master)
        for opt in ("-d", ""):
            out = self.ours(d, *([opt] if opt else [])).stdout.splitlines()
            names = [line.split(" =", 1)[0] for line in out]
            self.assertEqual(names, sorted(names))

    def edit_both(self, filename, content, *args, new=0):
        """Run the same edit with both programs on two copies; compare.
        Postfix 3.7 appends several new names in a random (hash) order, we
        sort them: with new=N the last N lines are compared as a set."""
        dirs = []
        for name in ("ours", "theirs"):
            d = self.conf(self.debian_main, self.debian_master, name=name)
            with open(os.path.join(d, filename), "w") as f:
                f.write(content)
            dirs.append(d)
        us = self.ours(dirs[0], *args)
        them = self.theirs(dirs[1], *args)
        self.assertEqual(norm(us.stderr, dirs[0]), norm(them.stderr, dirs[1]),
                         "stderr of postconf %s" % " ".join(args))
        self.assertEqual(us.returncode, them.returncode)
        ours = read(os.path.join(dirs[0], filename)).splitlines(True)
        theirs = read(os.path.join(dirs[1], filename)).splitlines(True)
        if new:
            self.assertEqual(ours[-new:], sorted(ours[-new:]))
            ours[-new:] = sorted(ours[-new:])
            theirs[-new:] = sorted(theirs[-new:])
        self.assertEqual(b"".join(ours), b"".join(theirs),
                         "%s after postconf %s" % (filename, " ".join(args)))
        self.assertFalse(os.path.exists(os.path.join(dirs[0],
                                                     filename + ".tmp")))

    def test_edit_main_cf(self):
        main = ODD_MAIN + "\n"
        self.edit_both("main.cf", main, "-e", "myhostname=new", "zzz = 1",
                       "aaa=2", "mydestination = a b  ", new=2)
        self.edit_both("main.cf", main, "-e", "a=1", "a=2", "b=3", new=2)
        for args in (["-e", "zzz = 1", "mydestination = a b  "],
                     ["myhostname=new"],
                     ["-X", "mydestination", "myhostname", "last"],
                     ["-#", "mydestination", "myhostname", "smtpd_banner"],
                     ["-e", "a=1", "a=2"], ["-e", "a b=1"], ["-e", "  =1"],
                     ["-e", "#x=1"], ["-X", "a=1"], ["-X", ""], ["-e", "x"],
                     ["-e"], ["-X"], ["-eX", "a"], ["-ex", "a=b"]):
            self.edit_both("main.cf", main, *args)
        for args in (["-e", "mynetworks = 10.0.0.0/8", "inet_interfaces = all",
                      "debugger_command=x"],
                     ["-e", "compatibility_level=3.6", "zz_new=x"],
                     ["-#", "debugger_command"],
                     ["-X", "readme_directory", "nosuch"]):
            self.edit_both("main.cf", self.debian_main, *args)

    def test_edit_master_cf(self):
        m = self.debian_master
        for args in (["-Pe", "relay/unix/smtp_helo_timeout=5",
                      "smtp/inet/foo=bar"],
                     ["-Pe", "relay/unix/smtp_helo_timeout=5 s"],
                     ["-PX", "relay/unix/syslog_name"],
                     ["-Fe", "pickup/unix/wakeup=30",
                      "maildrop/unix/command=pipe flags=x {a b} -o y"],
                     ["-M#", "uucp/unix", "relay/unix"],
                     ["-MX", "uucp/unix", "nosuch/unix"],
                     ["-Me", "uucp/unix=uucp unix - n n - - pipe x",
                      "new/unix=new unix - - - - - foo -o a=b"],
                     ["-Me", "pickup/unix=smtp inet n - y - - smtpd -o a=b"],
                     ["-Me", "pickup/unix=bad"],
                     ["-Me", "pickup/unix=p unix - - x - - a"],
                     ["-Fe", "pickup/unix/chroot=x"],
                     ["-Fe", "pickup/unix/type=bogus"],
                     ["-Fe", "nosuch/unix/chroot=y"],
                     ["-Fe", "pickup/unix/*=y"],
                     ["-Pe", "pickup/unix/*=y"],
                     ["-Pe", "relay/unix/syslog_name=x", "relay/unix/a=b",
                      "*/unix/c=d"],
                     ["-M#", "*/inet"]):
            self.edit_both("master.cf", m, *args)
        for args in (["-Pe", "submission/inet/x=z", "y/unix/new=1"],
                     ["-PX", "submission/inet/x", "z/unix/a"],
                     ["-Fe", "x/unix/command=cmd2 -o q=r"]):
            self.edit_both("master.cf", ODD_MASTER, *args)

    def test_edit_master_comments_inside_entries(self):
        m3 = ("# head\n"
              "a unix - - - - - smtp\n"
              "  -o x=1\n"
              "# between\n"
              "  -o y=2\n"
              "\n"
              "  -o z=3\n"
              "b unix - - - - - smtp -o {q = r s} {t u} v\n"
              "#trailing\n"
              "c unix - - - - - smtp\n")
        for args in (["-Me", "x/unix=x unix - - - - - smtpd -o { a = b c }"
                      " {d e}"],
                     ["-Pe", "a/unix/x=9"], ["-M#", "a/unix"],
                     ["-MX", "a/unix", "c/unix"],
                     ["-Me", "a/unix=a unix - - - - - x"],
                     ["-Pe", "b/unix/q=1"],
                     ["-Fe", "b/unix/command=smtp -o {q = r s} {t u} v"],
                     ["-PX", "b/unix/q", "a/unix/y"],
                     ["-Fe", "b/unix/service=bb", "b/unix/private=n"],
                     ["-Me", "b/unix=c unix - - - - - new"],
                     ["-Me", "a/unix=x unix - - - - - new",
                      "c/unix=a unix - - - - - new2"]):
            self.edit_both("master.cf", m3, *args)

    def test_option_conflicts(self):
        d = self.conf("", self.debian_master)
        for args in (["-n", "-d"], ["-M", "-n"], ["-M", "-F"], ["-e", "-d",
                     "x=y"], ["-h", "-e", "x=y"], ["-x", "-M#", "x"],
                     ["-a", "-x"], ["-lm"], ["-PX", "-x", "a/b/c"],
                     ["-Fx", "-#"], ["-Y"]):
            self.assertSameOutput(d, *args)

    def test_lists(self):
        d = self.conf("", "")
        self.assertSameOutput(d, "-l")


class TestPinned(PostconfTest):
    """Expected output written down, so these run without Postfix."""

    def test_M_layout(self):
        d = self.conf("", "pickup unix n - n 60 1 pickup\n"
                      "postlog unix-dgram n - n - 1 postlogd\n"
                      "relay unix - - y - - smtp\n"
                      "  -o syslog_name=postfix/$service_name\n"
                      "  -o { smtp_helo_name = a b }\n")
        r = self.ours(d, "-M")
        self.assertEqual(r.stdout,
                         "pickup     unix  n       -       n       60      1"
                         "       pickup\n"
                         "postlog    unix-dgram n  -       n       -       1"
                         "       postlogd\n"
                         "relay      unix  -       -       y       -       -"
                         "       smtp -o syslog_name=postfix/$service_name"
                         " -o {smtp_helo_name=a b}\n")
        r = self.ours(d, "-Mf", "relay/unix")
        self.assertEqual(r.stdout,
                         "relay      unix  -       -       y       -       -"
                         "       smtp\n"
                         "    -o syslog_name=postfix/$service_name\n"
                         "    -o {smtp_helo_name=a b}\n")
        r = self.ours(d, "-F", "pickup/unix/wakeup", "relay/unix/command")
        self.assertEqual(r.stdout, "pickup/unix/wakeup = 60\n"
                         "relay/unix/command = smtp -o syslog_name=postfix/"
                         "$service_name -o {smtp_helo_name=a b}\n")
        r = self.ours(d, "-P")
        self.assertEqual(r.stdout, "relay/unix/smtp_helo_name = a b\n"
                         "relay/unix/syslog_name = postfix/$service_name\n")
        r = self.ours(d, "-Px", "relay/unix/syslog_name")
        self.assertEqual(r.stdout, "relay/unix/syslog_name = postfix/relay\n")

    def test_bad_master_cf(self):
        d = self.conf("", "smtp inet n - y - - smtpd\nsmtp bogus n - - - - x\n")
        r = self.ours(d, "-M")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, 'postconf: fatal: invalid type field '
                         '"bogus" in "smtp bogus n - - - - x"\n')
        d = self.conf("", "\n\nsmtp inet n - y - -\n", name="b2")
        r = self.ours(d, "-M")
        self.assertEqual(r.stderr, "postconf: fatal: file %s/master.cf: "
                         "line 3: bad field count\n" % d)

    def test_n_sorted_and_unused(self):
        d = self.conf("zzz_unknown = 1\nmyorigin = $mydomain\n"
                      "myhostname = a.example\n   continued\n"
                      "inet_protocols = ipv4\n", "")
        r = self.ours(d, "-n")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "config_directory = %s\n"
                         "inet_protocols = ipv4\n"
                         "myhostname = a.example continued\n"
                         "myorigin = $mydomain\n" % d)
        self.assertEqual(r.stderr, "postconf: warning: %s/main.cf: unused "
                         "parameter: zzz_unknown=1\n" % d)

    def test_names_and_unknown(self):
        d = self.conf("myhostname = a.example\nmydomain = example\n"
                      "myorigin = $myhostname\n", "")
        r = self.ours(d, "myorigin", "nosuch", "myhostname")
        self.assertEqual(r.stdout, "myorigin = $myhostname\n"
                         "myhostname = a.example\n")
        self.assertEqual(r.stderr,
                         "postconf: warning: nosuch: unknown parameter\n")
        self.assertEqual(r.returncode, 0)
        r = self.ours(d, "-hx", "myorigin")
        self.assertEqual(r.stdout, "a.example\n")
        r = self.ours(d, "-x", "smtpd_timeout")
        self.assertEqual(r.stdout, "smtpd_timeout = 300s\n")

    def test_edit_keeps_layout(self):
        main = ("# top comment\n"
                "myhostname = old.example\n"
                "mydestination = a,\n"
                "    b\n"
                "\n"
                "#relayhost = commented\n"
                "inet_protocols=ipv4\n")
        d = self.conf(main, "")
        path = os.path.join(d, "main.cf")
        os.chmod(path, 0o640)
        r = self.ours(d, "-e", "myhostname = new.example", "zz_new = 1",
                      "aa_new = 2", "mydestination=c")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(read(path).decode(),
                         "# top comment\n"
                         "myhostname = new.example\n"
                         "mydestination = c\n"
                         "\n"
                         "#relayhost = commented\n"
                         "inet_protocols=ipv4\n"
                         "aa_new = 2\n"
                         "zz_new = 1\n")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o640)
        self.assertEqual(sorted(os.listdir(d)), ["main.cf", "master.cf"])
        r = self.ours(d, "-#", "inet_protocols")
        self.assertIn("#inet_protocols=ipv4\n", read(path).decode())
        r = self.ours(d, "-X", "mydestination", "aa_new")
        self.assertEqual(read(path).decode(),
                         "# top comment\n"
                         "myhostname = new.example\n"
                         "\n"
                         "#relayhost = commented\n"
                         "#inet_protocols=ipv4\n"
                         "zz_new = 1\n")

    def test_edit_master_keeps_layout(self):
        master = ("# services\n"
                  "smtp      inet  n       -       y       -       -       smtpd\n"
                  "relay     unix  -       -       y       -       -       smtp\n"
                  "        -o syslog_name=postfix/$service_name\n")
        d = self.conf("", master)
        path = os.path.join(d, "master.cf")
        r = self.ours(d, "-Pe", "relay/unix/smtp_helo_timeout=5")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(read(path).decode(),
                         "# services\n"
                         "smtp      inet  n       -       y       -       -       smtpd\n"
                         "relay      unix  -       -       y       -       -       smtp\n"
                         "    -o syslog_name=postfix/$service_name\n"
                         "    -o smtp_helo_timeout=5\n")
        r = self.ours(d, "-Me", "new/unix=new unix - n n - 1 pipe flags=R")
        self.assertTrue(read(path).decode().endswith(
            "new        unix  -       n       n       -       1       pipe"
            " flags=R\n"))
        r = self.ours(d, "-Pe", "nosuch/unix/a=b")
        self.assertEqual(r.stderr, 'postconf: warning: unmatched '
                         'service_name/type: "nosuch/unix/a=b"\n')

    def test_no_newline_at_end(self):
        d = self.conf("a_x = 1", "")
        self.ours(d, "-e", "b_x=2")
        self.assertEqual(read(os.path.join(d, "main.cf")).decode(),
                         "a_x = 1\nb_x = 2\n")

    def test_lists(self):
        d = self.conf("", "")
        self.assertEqual(self.ours(d, "-l").stdout, "flock\nfcntl\ndotlock\n")
        self.assertEqual(self.ours(d, "-a").stdout, "dovecot\n")
        self.assertEqual(self.ours(d, "-A").stdout, "")

    def test_conflicts(self):
        d = self.conf("", "")
        r = self.ours(d, "-n", "-d")
        self.assertEqual(r.stderr, "postconf: fatal: specify one of -d -n\n")
        self.assertEqual(r.returncode, 1)
        r = self.ours(d, "-M", "-n")
        self.assertEqual(r.stderr,
                         "postconf: fatal: with option -M, do not specify -n\n")
        r = self.ours(d, "-e")
        self.assertEqual(r.stderr,
                         "postconf: fatal: -e requires name=value argument\n")

    def test_missing_files(self):
        d = os.path.join(self.dir, "empty")
        os.makedirs(d)
        r = self.ours(d, "-n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("open %s/main.cf: No such file or directory" % d,
                      r.stderr)
        with open(os.path.join(d, "main.cf"), "w"):
            pass
        r = self.ours(d, "-n")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "config_directory = %s\n" % d)
        self.assertEqual(r.stderr, "postconf: warning: open %s/master.cf: "
                         "No such file or directory\n" % d)
        r = self.ours(d, "-M")
        self.assertEqual(r.returncode, 1)
