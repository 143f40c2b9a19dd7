#!/bin/sh
# Install what Postern needs to build and test on Debian (run as root).
# Debian's own Postfix is installed as the test oracle with service starts
# denied, so it never runs a daemon or binds a port.
set -e
export DEBIAN_FRONTEND=noninteractive
need="autoconf make gcc clang pkg-config libssl-dev libdb-dev libpcre2-dev python3 man-db"
# servers and clients the tests start: Dovecot (SASL, LMTP), resolv_wrapper (DNS), swaks
testdeps="dovecot-core dovecot-lmtpd libresolv-wrapper swaks python3-aiosmtpd openssl iproute2"
oracle="postfix postfix-pcre"
missing=""
for p in $need $testdeps $oracle; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
apt-get update -qq
# Deny service starts while the oracle is installed (policy-rc.d exit 101).
made_policy=no
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	made_policy=yes
fi
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get install -y -qq $missing >/dev/null
[ "$made_policy" = yes ] && rm -f /usr/sbin/policy-rc.d
exit 0
