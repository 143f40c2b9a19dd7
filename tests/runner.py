"""Run the end-to-end tests: every tests/test_*.py (or those named).

Prints one line per test, "PASS name", "FAIL name" (with the reason
after it) or "SKIP name: why", then "e2e: N passed, M failed, K skipped".
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def digest():
    """The log lines that matter of each running instance: first, so that
    a report cut short still says why mail did not move."""
    try:
        import e2e
    except ImportError:
        return
    for inst in e2e.Instance.live:
        lines = inst.digest()
        print("  log digest of %s (%d lines):" % (inst.conf, len(lines)))
        for ln in lines:
            print("  | " + ln)
    sys.stdout.flush()


class Result(unittest.TextTestResult):
    def addSuccess(self, test):
        super().addSuccess(test)
        print("PASS", test.id(), flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        print("FAIL", test.id(), flush=True)
        digest()
        print(self._exc_info_to_string(err, test), flush=True)

    def addError(self, test, err):
        super().addError(test, err)
        print("FAIL", test.id(), "(error)", flush=True)
        digest()
        print(self._exc_info_to_string(err, test), flush=True)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        print("SKIP", test.id() + ":", reason, flush=True)


def main():
    loader = unittest.TestLoader()
    names = sys.argv[1:]
    if names:
        suite = unittest.TestSuite(loader.loadTestsFromName(n) for n in names)
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    with open(os.devnull, "w") as devnull:
        runner = unittest.TextTestRunner(stream=devnull, resultclass=Result,
                                         verbosity=0)
        res = runner.run(suite)
    failed = len(res.failures) + len(res.errors)
    skipped = len(res.skipped)
    passed = res.testsRun - failed - skipped
    print(f"e2e: {passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
