"""Shared helpers for Postern's end-to-end tests (tests/test_*.py).

Every test runs the programs built in $POSTERN_BUILD (default: the source
tree), each from its own temporary directory: a private config directory,
private tables, never /etc/postfix.  Tests that compare with Debian's Postfix
(the oracle) call need_oracle(), which skips loudly when it is not installed.
"""
import os
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
