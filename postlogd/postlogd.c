/*
 * postlogd - append the log lines of Postern programs to maillog_file.
 * Run by master on the postlog unix-dgram service (public/postlog), one
 * process (maxproc 1), as mail_owner; chroot allowed.
 * Opens maillog_file as root before the jail (it must match
 * maillog_file_prefixes); each datagram is one finished line, which it
 * appends with one write, so it parses nothing and answers nobody.
 * Its own messages go to the same file directly, never to its own socket.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util/msg.h"
#include "lib/mail/daemon.h"
#include "lib/mail/maillog.h"
#include "lib/mail/params.h"

/*
 * Postfix's postlogd reads datagrams into a 4096-byte buffer and drops the
 * rest (observed); clients keep 2000 bytes of text plus the line header.
 */
#define POSTLOGD_RECORD_LIMIT 4096

static void
postlogd_pre_jail(const char *service, char **argv)
{
	(void)service;
	if (argv[0])
		msg_fatal("unexpected command-line argument: %s", argv[0]);
	/*
	 * As root: open the file now, and stop sending to ourselves.  A new
	 * file is 0600, as Postfix's daemons create it under umask 077.
	 */
	umask(077);
	maillog_init(MAILLOG_WRITER | (isatty(2) ? MAILLOG_STDERR : 0));
}

static void
postlogd_trigger(const char *buf, size_t len, const char *service, char **argv)
{
	(void)service;
	(void)argv;
	/* With maillog_file empty, Postfix's postlogd passes lines to syslog. */
	if (*var_maillog_file == 0) {
		msg_info("%.*s", (int)len, buf);
		return;
	}
	/*
	 * A failed write (disk full) loses this line, as syslogd would; dying
	 * would only lose the next ones too while master throttles us.
	 */
	(void)msg_logger_append(buf, len);
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.kind = DAEMON_TRIGGER,
		.trigger = postlogd_trigger,
		.trigger_limit = POSTLOGD_RECORD_LIMIT,
		.pre_jail = postlogd_pre_jail,
		/*
		 * Like Postfix's postlogd, serve any number of datagrams (one
		 * of its processes took 250 in a row, observed); max_idle still
		 * ends us, so that main.cf changes are picked up.
		 */
		.flags = DAEMON_SOLITARY | DAEMON_NO_USE_LIMIT,
	};

	return daemon_main(argc, argv, &spec);
}
