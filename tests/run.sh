#!/bin/sh
# End-to-end tests against the programs in build directory $1 (default .).
# Debian's python3 (the one tools/deps.sh installs packages for, e.g.
# aiosmtpd), even when another python3 comes first in PATH.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
POSTERN_BUILD=$(cd "${1:-.}" && pwd) exec "$py" "$(dirname "$0")/runner.py"
