/*
 * msg - Postfix-format logging to stderr, syslog, the maillog_file logger,
 * and test sinks.
 *
 * Errors are counted: like Postfix, a process that logs 13 errors gives up
 * with a fatal error, so a broken input cannot flood the log forever.
 *
 * The logger is the client half of Postfix's maillog_file: the process
 * formats the whole line itself (time stamp, host, tag, PID) and sends it as
 * one datagram, so postlogd only appends what it receives.  Sending never
 * blocks: a process must not hang because its log reader is slow, so a line
 * that the socket does not take at once goes to the fallback file or is lost.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/fdio.h"
#include "lib/util/msg.h"
#include "lib/util/safe_open.h"
#include "lib/util/str.h"

#define MSG_ERROR_LIMIT 13
#define MSG_MAX_SINKS   4

int msg_verbose;

static char *msg_prog;    /* NULL: "postern" */
static char *msg_tagname; /* NULL: "postfix" */
static char *msg_ident;   /* the whole tag, when set */
static struct str *msg_tagbuf;
static bool msg_to_stderr = true;
static bool msg_keep_utf8 = true;
static bool msg_to_syslog;
static char *msg_syslog_ident; /* openlog() keeps the pointer */
static int msg_syslog_code = LOG_MAIL;
static msg_output_fn *msg_sinks[MSG_MAX_SINKS];
static msg_cleanup_fn *msg_cleanup_hook;
static int msg_error_count;
static int msg_depth;

static struct {
	bool on;
	char *sock; /* NULL: append to file directly */
	char *file; /* NULL: no fallback */
	int sock_fd;
	int file_fd;
	bool file_dead; /* failed once: do not fail again */
	bool stalled;   /* a wait for room timed out: do not wait again */
	char *host;
	msg_clock_fn *clock;
} msg_log = { .sock_fd = -1, .file_fd = -1 };

static const char *const msg_level_names[] = {
	"",
	"warning: ",
	"error: ",
	"fatal: ",
	"panic: ",
};

static const struct {
	const char *name;
	int code;
} msg_facilities[] = {
	{ "mail", LOG_MAIL },
	{ "user", LOG_USER },
	{ "daemon", LOG_DAEMON },
	{ "auth", LOG_AUTH },
	{ "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
};

/* Replace *slot with a copy of s (NULL clears it). */
static void
msg_setstr(char **slot, const char *s)
{
	char *old = *slot;

	*slot = s ? xstrdup(s) : NULL;
	free(old);
}

const char *
msg_program(void)
{
	return msg_prog ? msg_prog : "postern";
}

/* The tag: "syslog_name/program", or what msg_set_ident() said. */
static const char *
msg_tag(void)
{
	if (msg_ident)
		return msg_ident;
	if (msg_tagbuf == NULL)
		msg_tagbuf = str_new(64);
	str_fmt(msg_tagbuf, "%s/%s", msg_tagname ? msg_tagname : "postfix",
	    msg_program());
	return str_ptr(msg_tagbuf);
}

/* (Re)open syslog with the current tag; the old ident lives until then. */
static void
msg_syslog_open(void)
{
	char *old = msg_syslog_ident;

	closelog();
	msg_syslog_ident = xstrdup(msg_tag());
	openlog(msg_syslog_ident, LOG_PID | LOG_NDELAY, msg_syslog_code);
	free(old);
}

void
msg_init(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	msg_setstr(&msg_prog, slash ? slash + 1 : argv0);
	if (msg_to_syslog)
		msg_syslog_open();
}

void
msg_stderr(bool on)
{
	msg_to_stderr = on;
}

void
msg_utf8(bool on)
{
	msg_keep_utf8 = on;
}

void
msg_set_tag(const char *syslog_name)
{
	msg_setstr(&msg_tagname, syslog_name);
	if (msg_to_syslog)
		msg_syslog_open();
}

void
msg_set_ident(const char *tag)
{
	msg_setstr(&msg_ident, tag);
	if (msg_to_syslog)
		msg_syslog_open();
}

/* Close the logger's descriptors and forget its names. */
static void
msg_logger_close(void)
{
	if (msg_log.sock_fd >= 0)
		(void)close(msg_log.sock_fd);
	if (msg_log.file_fd >= 0)
		(void)close(msg_log.file_fd);
	msg_log.sock_fd = msg_log.file_fd = -1;
	msg_setstr(&msg_log.sock, NULL);
	msg_setstr(&msg_log.file, NULL);
	msg_log.file_dead = false;
	msg_log.on = false;
}

int
msg_syslog(const char *syslog_name, const char *facility)
{
	size_t i;

	if (facility) {
		for (i = 0;
		     i < sizeof(msg_facilities) / sizeof(msg_facilities[0]);
		     i++)
			if (strcmp(msg_facilities[i].name, facility) == 0)
				break;
		if (i == sizeof(msg_facilities) / sizeof(msg_facilities[0]))
			return -1;
		msg_syslog_code = msg_facilities[i].code;
	}
	if (syslog_name)
		msg_setstr(&msg_tagname, syslog_name);
	msg_logger_close();
	msg_syslog_open();
	msg_to_syslog = true;
	return 0;
}

/*
 * Open a log file for appending.  /dev/stdout is the descriptor we have
 * (a pipe or a journald socket cannot be reopened by name); other /dev/
 * names must be devices, because /dev/shm is world-writable; the rest is a
 * file that others might plant a link at, so safe_open decides.
 */
static int
msg_logfile_open(const char *path, struct str *why)
{
	struct str *reason = str_new(100);
	struct stat st;
	int fd = -1, std;

	if (strcmp(path, "/dev/stdout") == 0)
		std = 1;
	else if (strcmp(path, "/dev/stderr") == 0)
		std = 2;
	else
		std = -1;
	if (std > 0) {
		if ((fd = fcntl(std, F_DUPFD_CLOEXEC, 3)) < 0)
			str_fmt(reason, "%s", strerror(errno));
	} else if (strncmp(path, "/dev/", 5) == 0 && lstat(path, &st) == 0 &&
		   S_ISCHR(st.st_mode)) {
		if ((fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW |
					 O_NOCTTY | O_CLOEXEC)) < 0)
			str_fmt(reason, "%s", strerror(errno));
		else if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode)) {
			str_fmt(reason, "file status changed unexpectedly");
			(void)close(fd);
			fd = -1;
		}
	} else {
		fd = safe_open(path, O_WRONLY | O_APPEND | O_CREAT, 0644, NULL,
		    (uid_t)-1, (gid_t)-1, reason);
	}
	if (fd < 0 && why)
		str_fmt(why, "open logfile '%s': %s", path, str_ptr(reason));
	str_free(reason);
	return fd;
}

int
msg_logger(const char *sock, const char *file, struct str *why)
{
	int fd = -1;

	if (sock == NULL && file != NULL &&
	    (fd = msg_logfile_open(file, why)) < 0)
		return -1;
	msg_logger_close();
	msg_setstr(&msg_log.sock, sock);
	msg_setstr(&msg_log.file, file);
	msg_log.file_fd = fd;
	msg_log.on = sock != NULL || file != NULL;
	if (msg_to_syslog) {
		closelog();
		msg_to_syslog = false;
	}
	/* Read the time zone now: a chroot may not have /etc/localtime. */
	tzset();
	return 0;
}

void
msg_logger_host(const char *name)
{
	msg_setstr(&msg_log.host, name);
}

void
msg_logger_clock(msg_clock_fn *fn)
{
	msg_log.clock = fn;
}

/* How long a client waits for room in a busy postlogd's queue. */
#define MSG_LOGGER_WAIT_MS 1000

/*
 * One datagram to the postlog socket: 0 when it was taken whole, -1 when
 * the caller should fall back.  A reader that went away (ECONNREFUSED
 * after a reload) gets one fresh connection; a full queue (EAGAIN) does
 * not, because the reader is alive and only slow: the line waits for
 * room, up to MSG_LOGGER_WAIT_MS (under load postlogd falls behind for a
 * moment, and a dropped line would be a delivery missing from the log).
 * A reader that does not make room in that time is taken as stuck, and
 * later lines do not wait until one is taken again.
 */
static int
msg_logger_send(const char *buf, size_t len)
{
	struct sockaddr_un sun;
	size_t n = strlen(msg_log.sock);
	ssize_t got;
	int fd;

	if (n >= sizeof(sun.sun_path))
		return -1;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (msg_log.sock_fd < 0) {
			if ((fd = socket(AF_UNIX,
				 SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
				 0)) < 0)
				return -1;
			memset(&sun, 0, sizeof(sun));
			sun.sun_family = AF_UNIX;
			memcpy(sun.sun_path, msg_log.sock, n);
			if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) <
			    0) {
				(void)close(fd);
				return -1;
			}
			msg_log.sock_fd = fd;
		}
		for (int waited = 0;;) {
			struct pollfd pfd = { .fd = msg_log.sock_fd,
				.events = POLLOUT };
			struct timespec t0, t1;

			got = send(msg_log.sock_fd, buf, len,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
			if (got >= 0)
				break;
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != ENOBUFS)
				break;
			if (msg_log.stalled || waited >= MSG_LOGGER_WAIT_MS) {
				msg_log.stalled = true;
				break;
			}
			clock_gettime(CLOCK_MONOTONIC, &t0);
			(void)poll(&pfd, 1,
			    errno == ENOBUFS ? 10
					     : MSG_LOGGER_WAIT_MS - waited);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			waited += (int)((t1.tv_sec - t0.tv_sec) * 1000 +
					(t1.tv_nsec - t0.tv_nsec) / 1000000) +
				  1;
		}
		if (got == (ssize_t)len) {
			msg_log.stalled = false;
			return 0;
		}
		if (got >= 0 || errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ENOBUFS || errno == EMSGSIZE)
			return -1;
		(void)close(msg_log.sock_fd);
		msg_log.sock_fd = -1;
	}
	return -1;
}

/* Append one finished line (with its newline) to the logger's file. */
static int
msg_logger_write(const char *buf, size_t len)
{
	struct str *why;
	bool fallback = msg_log.sock != NULL;

	if (msg_log.file == NULL || msg_log.file_dead)
		return -1;
	if (msg_log.file_fd < 0) {
		why = str_new(100);
		if ((msg_log.file_fd = msg_logfile_open(msg_log.file, why)) <
		    0) {
			msg_log.file_dead = true;
			msg_fatal("%s", str_ptr(why));
		}
		str_free(why);
	}
	if (fdio_write(msg_log.file_fd, buf, len) < 0) {
		/* postlogd keeps going: there may be room again soon. */
		if (!fallback)
			return -1;
		msg_log.file_dead = true;
		msg_fatal("logfile '%s' write error: %m", msg_log.file);
	}
	return 0;
}

static void
msg_logger_emit(enum msg_level level, const char *text)
{
	char stamp[64], host[HOST_NAME_MAX + 1], *dot;
	struct str *line;
	struct tm tm;
	time_t now;

	now = msg_log.clock ? msg_log.clock() : time(NULL);
	/* Zero-padded day, as Postfix's msg_logger (syslog pads with a space). */
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%b %d %H:%M:%S", &tm) == 0)
		stamp[0] = 0;
	if (msg_log.host == NULL) {
		if (gethostname(host, sizeof(host)) < 0)
			host[0] = 0;
		host[sizeof(host) - 1] = 0;
		if ((dot = strchr(host, '.')) != NULL)
			*dot = 0;
		msg_log.host = xstrdup(host[0] ? host : "localhost");
	}
	line = str_new(strlen(text) + 100);
	str_fmt(line, "%s %s %s[%ld]: %s%.*s", stamp, msg_log.host, msg_tag(),
	    (long)getpid(), msg_level_names[level], MSG_TEXT_LIMIT, text);
	if (msg_log.sock == NULL ||
	    msg_logger_send(str_ptr(line), str_len(line)) < 0) {
		str_catc(line, '\n');
		(void)msg_logger_write(str_ptr(line), str_len(line));
	}
	str_free(line);
}

int
msg_logger_append(const char *buf, size_t len)
{
	struct str *line;
	int rc;

	if (!msg_log.on || msg_log.sock != NULL)
		return -1;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	/*
	 * Our clients send printable text only; from anyone else with access
	 * to the socket, a NUL would make the file binary to grep, a newline
	 * would start a second line, an escape sequence would reach the
	 * terminal of whoever reads the log.
	 */
	line = str_new(len + 1);
	str_catn(line, buf, len);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)str_ptr(line)[i] < 0x20 ||
		    str_ptr(line)[i] == 0x7f)
			str_ptr(line)[i] = '?';
	str_catc(line, '\n');
	rc = msg_logger_write(str_ptr(line), str_len(line));
	str_free(line);
	return rc;
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

/*
 * The length of the valid UTF-8 sequence at p (2-4 bytes), or 0: no
 * overlong forms, no surrogates, nothing above U+10FFFF.
 */
static size_t
msg_utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (*p >= 0xc2 && *p <= 0xdf)
		n = 2;
	else if (*p >= 0xe0 && *p <= 0xef) {
		n = 3;
		if (*p == 0xe0)
			lo = 0xa0;
		else if (*p == 0xed)
			hi = 0x9f;
	} else if (*p >= 0xf0 && *p <= 0xf4) {
		n = 4;
		if (*p == 0xf0)
			lo = 0x90;
		else if (*p == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* Postfix's printable(text, '?'): what a log line may contain. */
static void
msg_printable(struct str *text)
{
	unsigned char *p = (unsigned char *)str_ptr(text);
	unsigned char *end = p + str_len(text);
	size_t n;

	while (p < end) {
		if (*p >= 0x20 && *p < 0x7f)
			p++;
		else if (msg_keep_utf8 && (n = msg_utf8_len(p, end)) > 0)
			p += n;
		else
			*p++ = '?';
	}
}

static void
msg_emit(enum msg_level level, const char *text)
{
	static const int prio[] = { LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT,
		LOG_CRIT };
	struct str *line;

	if (msg_to_stderr) {
		line = str_new(strlen(text) + 100);
		str_fmt(line, "%s: %s%s\n",
		    msg_ident ? msg_ident : msg_program(),
		    msg_level_names[level], text);
		(void)fdio_write(2, str_ptr(line), str_len(line));
		str_free(line);
	}
	if (msg_to_syslog)
		syslog(prio[level], "%s%.*s", msg_level_names[level],
		    MSG_TEXT_LIMIT, text);
	if (msg_log.on)
		msg_logger_emit(level, text);
	for (int i = 0; i < MSG_MAX_SINKS && msg_sinks[i]; i++)
		msg_sinks[i](level, text);
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
	/* A C string, as in Postfix: text after a NUL is not logged. */
	str_truncate(text, strlen(str_ptr(text)));
	msg_printable(text);
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

static void msg_die(int) __attribute__((noreturn));

static void
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
