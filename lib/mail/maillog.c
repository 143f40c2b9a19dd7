/*
 * maillog - route a program's log lines the way Postfix does: syslog, or
 * with maillog_file set the postlog socket (see maillog.h).
 *
 * The prefix check is Postfix's safety net against a typo in main.cf
 * sending root's writes to an arbitrary file: maillog_file must start with
 * one of the strings in maillog_file_prefixes (a plain string prefix, as in
 * Postfix, so "/var" also admits "/variable").  Every program checks it,
 * not only the one that opens the file, so a bad value stops the system.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/config.h"
#include "lib/mail/maillog.h"
#include "lib/mail/params.h"

#define MAILLOG_SEPARATORS ", \t\r\n"

static int maillog_flags;

/* Does file start with one of the prefixes? */
static bool
maillog_prefix_ok(const char *file, const char *prefixes)
{
	const char *p = prefixes;
	size_t n;

	while (*(p += strspn(p, MAILLOG_SEPARATORS))) {
		n = strcspn(p, MAILLOG_SEPARATORS);
		if (strncmp(file, p, n) == 0)
			return true;
		p += n;
	}
	return false;
}

/* queue_directory/public/postlog_service_name, or its name in the jail. */
static void
maillog_socket(struct str *path, bool jailed)
{
	if (jailed)
		str_fmt(path, "/public/%s", var_postlog_service_name);
	else
		str_fmt(path, "%s/public/%s", var_queue_directory,
		    var_postlog_service_name);
}

void
maillog_init(int flags)
{
	struct str *sock, *host, *why;

	maillog_flags = flags;
	msg_utf8(var_smtputf8_enable);
	msg_stderr((flags & MAILLOG_STDERR) != 0);

	/*
	 * Syslog first, as Postfix: it takes the complaints about maillog_file
	 * itself, and all lines when maillog_file is empty.
	 */
	if (msg_syslog(var_syslog_name, var_syslog_facility) < 0)
		msg_fatal("file %s/main.cf: parameter syslog_facility: "
			  "unrecognized value: %s",
		    config_dir(), var_syslog_facility);
	if (*var_maillog_file == 0)
		return;
	if (!maillog_prefix_ok(var_maillog_file, var_maillog_file_prefixes))
		msg_fatal(
		    "maillog_file value '%s' does not match any prefix in "
		    "maillog_file_prefixes",
		    var_maillog_file);

	host = str_new(100);
	str_set(host, var_myhostname);
	str_truncate(host, strcspn(str_ptr(host), "."));
	msg_logger_host(str_ptr(host));
	str_free(host);

	if (flags & MAILLOG_WRITER) {
		why = str_new(100);
		if (msg_logger(NULL, var_maillog_file, why) < 0)
			msg_fatal("%s", str_ptr(why));
		str_free(why);
	} else {
		sock = str_new(100);
		maillog_socket(sock, false);
		(void)msg_logger(str_ptr(sock),
		    (flags & MAILLOG_FALLBACK) ? var_maillog_file : NULL, NULL);
		str_free(sock);
	}
}

void
maillog_chroot(void)
{
	struct str *sock;

	/* postlogd keeps its file; syslog's /dev/log was opened before. */
	if (*var_maillog_file == 0 || (maillog_flags & MAILLOG_WRITER))
		return;
	sock = str_new(100);
	maillog_socket(sock, true);
	/* maillog_file names a file outside the jail: no fallback in here. */
	(void)msg_logger(str_ptr(sock), NULL, NULL);
	str_free(sock);
}
