/*
 * msg - Postfix-format logging to stderr, syslog, a file, and test sinks.
 *
 * Errors are counted: like Postfix, a process that logs 13 errors gives up
 * with a fatal error, so a broken input cannot flood the log forever.
 */
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"

#define MSG_ERROR_LIMIT 13
#define MSG_MAX_SINKS	4

int msg_verbose;

static char msg_prog[64] = "postern";
static char msg_tagname[128] = "postfix";
static bool msg_to_stderr = true;
static bool msg_to_syslog;
static int msg_file_fd = -1;
static msg_output_fn *msg_sinks[MSG_MAX_SINKS];
static msg_cleanup_fn *msg_cleanup_hook;
static int msg_error_count;
static int msg_depth;

static const char *const msg_level_names[] = {
	"", "warning: ", "error: ", "fatal: ", "panic: ",
};

static const struct {
	const char *name;
	int code;
} msg_facilities[] = {
	{ "mail", LOG_MAIL },	  { "user", LOG_USER },	    { "daemon", LOG_DAEMON },
	{ "auth", LOG_AUTH },	  { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

/* Copy at most size-1 bytes and terminate; names are short and ours. */
static void
msg_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

void
msg_init(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	msg_copy(msg_prog, sizeof(msg_prog),
	    slash ? slash + 1 : argv0 ? argv0 : "postern");
}

const char *
msg_program(void)
{
	return msg_prog;
}

void
msg_stderr(bool on)
{
	msg_to_stderr = on;
}

void
msg_set_tag(const char *syslog_name)
{
	msg_copy(msg_tagname, sizeof(msg_tagname), syslog_name);
	if (msg_to_syslog)
		msg_syslog(msg_tagname, NULL);
}

int
msg_syslog(const char *syslog_name, const char *facility)
{
	static char ident[200];
	static int code = LOG_MAIL;
	size_t i;

	if (facility) {
		for (i = 0; i < sizeof(msg_facilities) / sizeof(msg_facilities[0]); i++)
			if (strcmp(msg_facilities[i].name, facility) == 0)
				break;
		if (i == sizeof(msg_facilities) / sizeof(msg_facilities[0]))
			return -1;
		code = msg_facilities[i].code;
	}
	msg_copy(msg_tagname, sizeof(msg_tagname), syslog_name);
	snprintf(ident, sizeof(ident), "%s/%s", msg_tagname, msg_prog);
	closelog();
	openlog(ident, LOG_PID | LOG_NDELAY, code);
	msg_to_syslog = true;
	return 0;
}

int
msg_logfile(const char *path)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return -1;
	if (msg_file_fd >= 0)
		close(msg_file_fd);
	msg_file_fd = fd;
	return 0;
}

void
msg_output(msg_output_fn *fn)
{
	for (int i = 0; i < MSG_MAX_SINKS; i++)
		if (msg_sinks[i] == NULL) {
			msg_sinks[i] = fn;
			return;
		}
}

void
msg_cleanup(msg_cleanup_fn *fn)
{
	msg_cleanup_hook = fn;
}

/* Write all of buf, retrying short writes; logging must not give up early. */
static void
msg_write(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

static void
msg_emit(enum msg_level level, const char *text)
{
	static const int prio[] = { LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT,
		LOG_CRIT };
	struct str *line;
	char stamp[64], host[256];
	time_t now;
	struct tm tm;

	line = str_new(strlen(text) + 100);
	if (msg_to_stderr) {
		str_fmt(line, "%s: %s%s\n", msg_prog, msg_level_names[level], text);
		msg_write(2, str_ptr(line), str_len(line));
	}
	if (msg_to_syslog)
		syslog(prio[level], "%s%s", msg_level_names[level], text);
	if (msg_file_fd >= 0) {
		now = time(NULL);
		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
		if (gethostname(host, sizeof(host)) < 0)
			msg_copy(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = 0;
		str_fmt(line, "%s %s %s/%s[%ld]: %s%s\n", stamp, host, msg_tagname,
		    msg_prog, (long)getpid(), msg_level_names[level], text);
		msg_write(msg_file_fd, str_ptr(line), str_len(line));
	}
	for (int i = 0; i < MSG_MAX_SINKS && msg_sinks[i]; i++)
		msg_sinks[i](level, text);
	str_free(line);
}

void
msg_vlog(enum msg_level level, const char *fmt, va_list ap)
{
	int saved_errno = errno;
	struct str *text;

	/* A sink or cleanup hook that logs must not recurse forever. */
	if (msg_depth++ > 2) {
		msg_depth--;
		return;
	}
	text = str_new(200);
	errno = saved_errno;
	str_vcatfmt(text, fmt, ap);
	msg_emit(level, str_ptr(text));
	str_free(text);
	msg_depth--;
	errno = saved_errno;
}

void
msg_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(MSG_INFO, fmt, ap);
	va_end(ap);
}

void
msg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(MSG_WARN, fmt, ap);
	va_end(ap);
}

void
msg_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(MSG_ERROR, fmt, ap);
	va_end(ap);
	if (++msg_error_count >= MSG_ERROR_LIMIT)
		msg_fatal("too many errors - program terminated");
}

static void __attribute__((noreturn))
msg_die(int status)
{
	static int dying;

	if (!dying++ && msg_cleanup_hook)
		msg_cleanup_hook();
	/*
	 * Flush what a command already printed, then leave without atexit
	 * handlers: a fatal exit abandons the caller's state on purpose (the
	 * leak checker would otherwise report it as leaked).
	 */
	fflush(NULL);
	_exit(status);
}

void
msg_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(MSG_FATAL, fmt, ap);
	va_end(ap);
	msg_die(1);
}

void
msg_fatal_status(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(MSG_FATAL, fmt, ap);
	va_end(ap);
	msg_die(status);
}

void
msg_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(MSG_PANIC, fmt, ap);
	va_end(ap);
	abort();
}
