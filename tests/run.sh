#!/bin/sh
# End-to-end tests against the programs in build directory $1 (default .).
POSTERN_BUILD=$(cd "${1:-.}" && pwd) exec python3 "$(dirname "$0")/runner.py"
