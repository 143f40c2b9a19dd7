#!/usr/bin/env python3
"""check_params - compare lib/mail/params.def with a real Postfix's postconf -d.

Usage: tools/check_params.py [-p POSTCONF] [-c CONFIG_DIR] [params.def]

Runs "POSTCONF -c DIR -d" (by default on a temporary directory with an empty
main.cf and master.cf, so that no per-service parameters appear) and reports:
  - names that postconf prints but params.def lacks, and the reverse;
  - defaults that differ (P_DYN and P_DIFF entries are skipped);
  - malformed, unsorted or duplicate lines in params.def.
Prints one line per difference and exits 1 if there was any, 0 otherwise.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mkpostconf5 import c_unescape  # noqa: E402  (one parser of C escapes)

TYPES = {"STR", "RAW", "BOOL", "INT", "LONG", "TIME"}
FLAGS = {"P_NOTYET", "P_DYN", "P_DIFF"}
LINE_RE = re.compile(
    r'^PARAM\((\w+), (\w+), "((?:[^"\\]|\\.)*)", (-?\d+), (-?\d+), ([\w |]+)\)$')


def parse_def(path, problems):
    """Return {name: (type, default, min, max, set(flags))}."""
    params, prev = {}, None
    in_comment = False
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            where = "%s:%d" % (path, lineno)
            if in_comment:
                if "*/" in line:
                    in_comment = False
                continue
            if line.startswith("/*"):
                in_comment = "*/" not in line
                continue
            if not line.strip():
                continue
            m = LINE_RE.match(line)
            if not m:
                problems.append("%s: malformed line: %s" % (where, line))
                continue
            typ, name, raw, lo, hi, flagtext = m.groups()
            flags = set()
            if flagtext.strip() != "0":
                flags = {x.strip() for x in flagtext.split("|")}
            if typ not in TYPES:
                problems.append("%s: %s: unknown type %s" % (where, name, typ))
            if not flags <= FLAGS:
                problems.append("%s: %s: unknown flag(s) %s"
                                % (where, name, " ".join(sorted(flags - FLAGS))))
            if name in params:
                problems.append("%s: %s: duplicate entry" % (where, name))
            if prev is not None and name <= prev:
                problems.append("%s: %s: not sorted (after %s)" % (where, name, prev))
            prev = name
            try:
                default = c_unescape(raw)
            except ValueError as e:
                problems.append("%s: %s: %s" % (where, name, e))
                default = raw
            lo, hi = int(lo), int(hi)
            if hi and hi < lo:
                problems.append("%s: %s: max %d < min %d" % (where, name, hi, lo))
            if "P_DYN" in flags and default:
                problems.append('%s: %s: P_DYN needs default ""' % (where, name))
            if typ == "BOOL" and "$" not in default and default not in ("yes", "no"):
                problems.append("%s: %s: BOOL default %r" % (where, name, default))
            if typ in ("INT", "LONG") and "$" not in default and "P_DYN" not in flags \
                    and not re.fullmatch(r"-?\d+", default):
                problems.append("%s: %s: %s default %r" % (where, name, typ, default))
            if typ == "TIME" and "$" not in default \
                    and not re.fullmatch(r"\d+[smhdw]?", default):
                problems.append("%s: %s: TIME default %r" % (where, name, default))
            params[name] = (typ, default, lo, hi, flags)
    return params


def postconf_defaults(postconf, confdir):
    """Run postconf -d and return {name: default}."""
    out = subprocess.run([postconf, "-c", confdir, "-d"], check=True,
                         stdout=subprocess.PIPE).stdout.decode("utf-8", "replace")
    result = {}
    for line in out.splitlines():
        name, sep, value = line.partition(" =")
        if not sep:
            continue
        result[name] = value[1:] if value.startswith(" ") else value
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-p", "--postconf", default="/usr/sbin/postconf",
                    help="the reference postconf (default: %(default)s)")
    ap.add_argument("-c", "--config-dir",
                    help="directory for postconf -c (default: a temporary one "
                    "with an empty main.cf and master.cf)")
    ap.add_argument("deffile", nargs="?", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "lib", "mail", "params.def"))
    args = ap.parse_args()

    problems = []
    params = parse_def(args.deffile, problems)
    if args.config_dir:
        ref = postconf_defaults(args.postconf, args.config_dir)
    else:
        with tempfile.TemporaryDirectory(prefix="check_params.") as tmp:
            for f in ("main.cf", "master.cf"):
                open(os.path.join(tmp, f), "w").close()
            ref = postconf_defaults(args.postconf, tmp)

    for name in sorted(set(ref) - set(params)):
        problems.append("missing in params.def: %s = %s" % (name, ref[name]))
    for name in sorted(set(params) - set(ref)):
        problems.append("not in postconf -d: %s" % name)
    skipped = 0
    for name in sorted(set(params) & set(ref)):
        flags = params[name][4]
        if flags & {"P_DYN", "P_DIFF"}:
            skipped += 1
            continue
        if params[name][1] != ref[name]:
            problems.append("default differs: %s: params.def %r, postconf %r"
                            % (name, params[name][1], ref[name]))

    for p in problems:
        print(p)
    print("%d parameters in params.def, %d from postconf -d, %d not compared "
          "(P_DYN/P_DIFF), %d difference(s)"
          % (len(params), len(ref), skipped, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
