/*
 * postlog - log text from a shell script the way Postern programs log.
 * Run by users and by the postfix command's scripts; installed set-gid
 * postdrop, as Postfix 3.7's, so that it can reach public/postlog.
 * Logs the command-line text as one record, or each line of standard
 * input as one; also on stderr when that is a terminal.  Goes through
 * postlogd, to maillog_file itself when postlogd does not answer, or to
 * syslog.  Set-gid and run by a user other than root, it reads a
 * non-default config directory only when the default main.cf lists it.
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/confdir.h"
#include "lib/mail/config.h"
#include "lib/mail/maillog.h"
#include "lib/mail/params.h"

/* Postfix's names, case-insensitive; crit is fatal (observed). */
static const struct {
	const char *name;
	enum msg_level level;
} postlog_levels[] = {
	{ "info", MSG_INFO },
	{ "warn", MSG_WARN },
	{ "warning", MSG_WARN },
	{ "error", MSG_ERROR },
	{ "fatal", MSG_FATAL },
	{ "crit", MSG_FATAL },
	{ "panic", MSG_PANIC },
};

static enum msg_level
postlog_level(const char *name)
{
	for (size_t i = 0;
	     i < sizeof(postlog_levels) / sizeof(postlog_levels[0]); i++)
		if (strcasecmp(name, postlog_levels[i].name) == 0)
			return postlog_levels[i].level;
	msg_fatal("bad severity: \"%s\"", name);
}

/* Log one record at level, without exiting for fatal and panic. */
static void __attribute__((format(printf, 2, 3)))
postlog_log(enum msg_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(level, fmt, ap);
	va_end(ap);
}

/* Each line of standard input is one record; the log keeps 2000 bytes. */
static void
postlog_stdin(enum msg_level level)
{
	size_t limit = (size_t)var_line_length_limit;
	struct stream *st = stream_open(0);
	struct str *line = str_new(200);
	int rc;

	if (limit < MSG_TEXT_LIMIT)
		limit = MSG_TEXT_LIMIT;
	do {
		rc = stream_getline(st, line, limit);
		/* A last line without a newline counts; an error ends input. */
		if (rc == STREAM_OK || rc == STREAM_TOOLONG ||
		    (rc == STREAM_EOF && str_len(line) > 0))
			postlog_log(level, "%s", str_ptr(line));
	} while (rc == STREAM_OK || rc == STREAM_TOOLONG);
	str_free(line);
	stream_close(st);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *tag = NULL, *env;
	enum msg_level level = MSG_INFO;
	struct str *why, *text;
	struct stat st;
	char *slash;
	int ch;

	umask(022);
	/* Keep descriptors 0-2 taken, so nothing we open becomes stdout. */
	for (int fd = 0; fd < 3; fd++)
		if (fstat(fd, &st) < 0 && open("/dev/null", O_RDWR) != fd)
			msg_fatal("open /dev/null: %m");
	/* getopt's messages name the program as Postfix's do. */
	if ((slash = strrchr(argv[0], '/')) != NULL && slash[1])
		argv[0] = slash + 1;
	msg_init(argv[0]);

	/*
	 * Until main.cf is read, Postfix logs to syslog as postfix/postlog,
	 * and that tag starts its stderr lines (observed).
	 */
	text = str_new(100);
	str_fmt(text, "postfix/%s", msg_program());
	msg_set_ident(str_ptr(text));
	msg_stderr(isatty(2));
	(void)msg_syslog("postfix", NULL);

	/* "+": text may start with a dash after the options, as in Postfix. */
	while ((ch = getopt(argc, argv, "+c:ip:t:v")) > 0) {
		switch (ch) {
		case 'c':
			dir = optarg;
			break;
		case 'i':
			/* obsolete: the PID is always logged */
			break;
		case 'p':
			level = postlog_level(optarg);
			break;
		case 't':
			tag = optarg;
			break;
		case 'v':
			msg_verbose++;
			break;
		default:
			msg_fatal(
			    "usage: %s [-c config_dir] [-i] [-p priority] "
			    "[-t tag] [-v] [text]",
			    argv[0]);
		}
	}

	if (dir == NULL && (env = getenv("MAIL_CONFIG")) != NULL && *env)
		dir = env;
	if (dir != NULL && confdir_untrusted())
		confdir_check(dir);
	config_init(dir);
	why = str_new(100);
	if (config_read(why) < 0)
		msg_fatal("%s", str_ptr(why));
	str_free(why);
	params_load();
	/* Postfix lets postlog write maillog_file when postlogd is down. */
	maillog_init(MAILLOG_FALLBACK | (isatty(2) ? MAILLOG_STDERR : 0));
	if (tag == NULL) {
		str_fmt(text, "%s/%s", var_syslog_name, msg_program());
		tag = str_ptr(text);
	}
	msg_set_ident(tag);

	if (optind < argc) {
		str_set(text, argv[optind]);
		for (int i = optind + 1; i < argc; i++)
			str_catfmt(text, " %s", argv[i]);
		postlog_log(level, "%s", str_ptr(text));
	} else
		postlog_stdin(level);
	str_free(text);

	/* "pause for 1 second after reporting a fatal or panic condition" */
	if (level >= MSG_FATAL)
		sleep(1);
	return 0;
}
