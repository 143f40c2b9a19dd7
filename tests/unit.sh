#!/bin/sh
# Run unit-test binaries; print their PASS/FAIL lines and a summary line.
# A binary that crashes (or exits non-zero without a FAIL line) counts as
# one failure under its own name.
pass=0 fail=0
for t in "$@"; do
	case $t in /*) ;; *) t=./$t ;; esac
	out=$("$t" 2>&1); rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | grep -c '^PASS ')
	f=$(printf '%s\n' "$out" | grep -c '^FAIL ')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $t: exit status $rc"
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f))
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
