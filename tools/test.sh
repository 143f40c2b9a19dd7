#!/bin/sh
# Build Postern twice (normal with -Werror, and with ASan+UBSan) and run
# every test in both builds.  Ends with "N passed, M failed, K skipped".
# Run from the top of the source tree (as root on a fresh Debian machine,
# it first installs the build dependencies and Debian's Postfix, the oracle
# the comparison tests use).
cd "$(dirname "$0")/.." || exit 1
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
sh tools/deps.sh || exit 1
{ [ -x configure ] || autoreconf -fi; } >/dev/null 2>&1
./configure -q --prefix=/usr --sysconfdir=/etc --enable-werror || exit 1


echo "== build"
make -s -j2 O=build all >"$log/build.out" 2>&1 || { cat "$log/build.out"; echo "0 passed, 1 failed"; exit 1; }
make -s -j2 O=build check >"$log/unit.out" 2>&1; cat "$log/unit.out"
sh tests/run.sh build >"$log/e2e.out" 2>&1; cat "$log/e2e.out"

echo "== source checks"
cp=0 cf=0
for c in check-banned check-docs; do
	if make -s "$c"; then echo "PASS $c"; cp=$((cp + 1)); else echo "FAIL $c"; cf=$((cf + 1)); fi
done >"$log/checks.out" 2>&1
echo "checks: $cp passed, $cf failed" >>"$log/checks.out"
cat "$log/checks.out"

echo "== sanitizer build (ASan + UBSan)"
asan_dir=$(mktemp -d)
# Sticky and world-writable: daemons that run as mail_owner or as a
# recipient write their reports here too (a sanitizer that cannot open its
# log file dies without a report).
chmod 1777 "$asan_dir"
export ASAN_OPTIONS="log_path=$asan_dir/asan:detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="log_path=$asan_dir/ubsan:print_stacktrace=1:halt_on_error=1"
make -s -j2 O=build-asan HARDEN="-fsanitize=address,undefined -fno-sanitize-recover=all -g -O1 -fno-omit-frame-pointer" \
    HARDEN_LD="-fsanitize=address,undefined" all >"$log/abuild.out" 2>&1 ||
    { cat "$log/abuild.out"; echo "0 passed, 1 failed"; exit 1; }
make -s -j2 O=build-asan HARDEN="-fsanitize=address,undefined -fno-sanitize-recover=all -g -O1 -fno-omit-frame-pointer" \
    HARDEN_LD="-fsanitize=address,undefined" check >"$log/aunit.out" 2>&1; cat "$log/aunit.out"
sh tests/run.sh build-asan >"$log/ae2e.out" 2>&1; cat "$log/ae2e.out"
reports=0
for f in "$asan_dir"/*; do
	[ -e "$f" ] || continue
	echo "FAIL sanitizer report: $f"; cat "$f"; reports=$((reports + 1))
done
rm -rf "$asan_dir"

echo "== fuzz (make fuzz: libFuzzer, 10 s per target)"
if env -u ASAN_OPTIONS -u UBSAN_OPTIONS make -s -j2 O=build FUZZ_TIME=10 fuzz >"$log/fuzz.out" 2>&1
then echo "fuzz: 1 passed, 0 failed"; else cat "$log/fuzz.out"; echo "fuzz: 0 passed, 1 failed"; fi >"$log/fz.out"
cat "$log/fz.out"

# Sum the per-runner summary lines into one.
sum() { sed -n "s/^$1: \([0-9]*\) passed, \([0-9]*\) failed\(, \([0-9]*\) skipped\)\{0,1\}$/\1 \2 \4/p" "$log/$2"; }
p=0 f=$reports s=0
for pair in "unit unit.out" "e2e e2e.out" "checks checks.out" "unit aunit.out" "e2e ae2e.out" "fuzz fz.out"; do
	set -- $pair
	line=$(sum "$1" "$2")
	if [ -z "$line" ]; then
		echo "FAIL $2: no summary line (runner crashed?)"; f=$((f + 1)); continue
	fi
	set -- $line
	p=$((p + $1)) f=$((f + $2)) s=$((s + ${3:-0}))
done
echo "$p passed, $f failed, $s skipped"
[ "$f" -eq 0 ]
