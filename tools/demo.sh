#!/bin/sh
# Build Postern, install it under ./demo, and start a demo instance on
# loopback in the foreground, logging to standard output (Ctrl-C or
# "demo/usr/sbin/postfix -c demo/etc/postfix stop" ends it).  Run from the
# top of the source tree, as root on a fresh Debian machine (it installs
# the build dependencies and creates the postfix user and postdrop group).
set -e
cd "$(dirname "$0")/.."
sh tools/deps.sh
[ -x configure ] || autoreconf -fi >/dev/null
./configure -q --prefix=/usr --sysconfdir=/etc
make -s -j2
rm -rf demo
make -s install DESTDIR="$PWD/demo"
top=$PWD/demo
conf=$top/etc/postfix
bin=$top/usr/sbin
# postfix start-fg creates the queue and data directories with their owners.
mkdir -p "$top/var/spool" "$top/var/lib" "$top/var/mail"
chmod 1777 "$top/var/mail"
getent group postdrop >/dev/null || groupadd -r postdrop
getent passwd postfix >/dev/null ||
    useradd -r -U -M -d /nonexistent -s /usr/sbin/nologin postfix
"$bin/postconf" -c "$conf" -e \
    "queue_directory = $top/var/spool/postfix" \
    "data_directory = $top/var/lib/postfix" \
    "command_directory = $bin" \
    "daemon_directory = $top/usr/libexec/postfix" \
    "inet_interfaces = 127.0.0.1" \
    "myhostname = demo.postern.test" \
    "alias_maps = hash:$conf/aliases" \
    "alias_database = hash:$conf/aliases" \
    "maillog_file = /dev/stdout" \
    "mail_spool_directory = $top/var/mail"
printf 'postmaster: root\nabuse: postmaster\n' > "$conf/aliases"
"$top/usr/sbin/postalias" -c "$conf" "hash:$conf/aliases"
echo "== Postern installed in $top; demo configuration ($conf):"
"$bin/postconf" -c "$conf" -n
echo "== aliases: postmap -q postmaster hash:$conf/aliases"
"$bin/postmap" -c "$conf" -q postmaster "hash:$conf/aliases"
# Never port 25 on a development machine: SMTP on 127.0.0.1:2525.
sed -i 's/^smtp      inet/127.0.0.1:2525 inet/' "$conf/master.cf"
echo "== services (postconf -M):"
"$bin/postconf" -c "$conf" -M
echo "== starting the demo instance in the foreground (Ctrl-C stops it)"
exec "$bin/postfix" -c "$conf" start-fg
