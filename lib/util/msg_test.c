/*
 * msg_test - unit tests for msg: the exact logger line received on a
 * datagram socket, the fallback file when the socket is missing, refuses
 * or is full, reconnection, truncation, printable text, the direct writer
 * (postlogd), log file refusals, the tag on stderr.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/test.h"

static char tmpdir[] = "/tmp/msg_test.XXXXXX";
static struct str *path_bufs[4], *want;

/* tmpdir/name, in one of four buffers used in turn. */
static const char *
in_tmp(const char *name)
{
	static int next;
	struct str *buf = path_bufs[next++ % 4];

	str_fmt(buf, "%s/%s", tmpdir, name);
	return str_ptr(buf);
}

/* Log at any level without exiting, as postlog -p does. */
static void __attribute__((format(printf, 2, 3)))
log_at(enum msg_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(level, fmt, ap);
	va_end(ap);
}

/* 2026-11-02 03:04:05 UTC: a one-digit day, which Postfix pads with 0. */
static time_t
fixed_clock(void)
{
	return 1793588645;
}

/* "Nov 02 03:04:05 mx TAG[PID]: " for this process. */
static const char *
prefix(const char *tag)
{
	str_fmt(want, "Nov 02 03:04:05 mx %s[%ld]: ", tag, (long)getpid());
	return str_ptr(want);
}

/* A datagram socket bound at path (any old one removed). */
static int
bind_dgram(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The next datagram on fd (waiting at most a second), or "(none)". */
static const char *
recv_line(int fd, struct str *buf)
{
	struct timeval tv = { 1, 0 };
	char data[8192];
	ssize_t n;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if ((n = recv(fd, data, sizeof(data), 0)) < 0)
		str_set(buf, "(none)");
	else
		str_setn(buf, data, (size_t)n);
	return str_ptr(buf);
}

/* The whole file (empty when it does not exist). */
static const char *
slurp(const char *path, struct str *buf)
{
	char data[4096];
	size_t n;
	FILE *fp;

	str_reset(buf);
	if ((fp = fopen(path, "r")) == NULL)
		return str_ptr(buf);
	while ((n = fread(data, 1, sizeof(data), fp)) > 0)
		str_catn(buf, data, n);
	fclose(fp);
	return str_ptr(buf);
}

/* Route msg to the logger with the test's host and clock. */
static void
logger_on(const char *sock, const char *file)
{
	(void)msg_logger(sock, file, NULL);
	msg_logger_host("mx");
	msg_logger_clock(fixed_clock);
}

static void
logger_off(void)
{
	(void)msg_logger(NULL, NULL, NULL);
	msg_set_tag("postfix");
	msg_set_ident(NULL);
}

static void
test_line_format(struct test *t)
{
	struct str *got = str_new(100), *exp = str_new(100);
	const char *sock = in_tmp("fmt.sock");
	int fd = bind_dgram(sock);

	TEST_TRUE(t, fd >= 0);
	logger_on(sock, NULL);
	msg_set_tag("postfix");
	msg_info("connect from %s", "localhost[127.0.0.1]");
	str_fmt(exp, "%sconnect from localhost[127.0.0.1]",
	    prefix("postfix/msg_test.c"));
	TEST_STR(t, recv_line(fd, got), str_ptr(exp));

	msg_warn("bad %d", 42);
	str_fmt(exp, "%swarning: bad 42", prefix("postfix/msg_test.c"));
	TEST_STR(t, recv_line(fd, got), str_ptr(exp));

	log_at(MSG_FATAL, "not exiting");
	str_fmt(exp, "%sfatal: not exiting", prefix("postfix/msg_test.c"));
	TEST_STR(t, recv_line(fd, got), str_ptr(exp));

	/* syslog_name from master.cf -o: postfix/submission/smtpd */
	msg_set_tag("postfix/submission");
	msg_error("e");
	str_fmt(exp, "%serror: e", prefix("postfix/submission/msg_test.c"));
	TEST_STR(t, recv_line(fd, got), str_ptr(exp));

	/* postlog -t: the tag verbatim */
	msg_set_ident("mytag");
	msg_info("x");
	str_fmt(exp, "%sx", prefix("mytag"));
	TEST_STR(t, recv_line(fd, got), str_ptr(exp));

	logger_off();
	close(fd);
	str_free(got);
	str_free(exp);
}

static void
test_truncate(struct test *t)
{
	struct str *got = str_new(100), *exp = str_new(100), *text;
	const char *sock = in_tmp("trunc.sock");
	int fd = bind_dgram(sock);

	text = str_new(3000);
	for (int i = 0; i < 3000; i++)
		str_catc(text, 'x');
	logger_on(sock, NULL);
	msg_warn("%s", str_ptr(text));
	str_truncate(text, MSG_TEXT_LIMIT);
	str_fmt(exp, "%swarning: %s", prefix("postfix/msg_test.c"),
	    str_ptr(text));
	TEST_STR(t, recv_line(fd, got), str_ptr(exp));
	/* stderr and the test sink see it all */
	TEST_INT(t, strlen(test_log_text()), 9 + 3000 + 1);
	logger_off();
	close(fd);
	str_free(text);
	str_free(got);
	str_free(exp);
}

static void
test_fallback_missing(struct test *t)
{
	struct str *got = str_new(100), *exp = str_new(100);
	const char *file;

	file = in_tmp("missing.log");
	logger_on(in_tmp("no-such.sock"), file);
	msg_info("one");
	msg_warn("two");
	str_fmt(exp, "%sone\n", prefix("postfix/msg_test.c"));
	str_catfmt(exp, "%swarning: two\n", prefix("postfix/msg_test.c"));
	TEST_STR(t, slurp(in_tmp("missing.log"), got), str_ptr(exp));
	logger_off();
	str_free(got);
	str_free(exp);
}

/* A socket file that nobody reads any more: ECONNREFUSED. */
static void
test_fallback_refused(struct test *t)
{
	struct str *got = str_new(100), *exp = str_new(100);
	const char *sock = in_tmp("dead.sock");
	int fd = bind_dgram(sock);
	struct stat st;

	close(fd);
	TEST_INT(t, stat(sock, &st), 0);
	logger_on(sock, in_tmp("refused.log"));
	msg_info("nobody home");
	str_fmt(exp, "%snobody home\n", prefix("postfix/msg_test.c"));
	TEST_STR(t, slurp(in_tmp("refused.log"), got), str_ptr(exp));
	logger_off();
	str_free(got);
	str_free(exp);
}

/*
 * A reader that takes nothing: the sender waits about a second for room,
 * then the lines go to the fallback file, without waiting again.
 */
static void
test_fallback_full(struct test *t)
{
	struct str *got = str_new(100), *exp = str_new(100);
	const char *sock = in_tmp("full.sock");
	int fd = bind_dgram(sock), sent = 0;

	logger_on(sock, in_tmp("full.log"));
	while (sent < 100000 && *slurp(in_tmp("full.log"), got) == 0)
		msg_info("line %d", sent++);
	TEST_TRUE(t, sent < 100000);
	str_fmt(exp, "%sline %d\n", prefix("postfix/msg_test.c"), sent - 1);
	TEST_STR(t, str_ptr(got), str_ptr(exp));
	str_fmt(exp, "%sline 0", prefix("postfix/msg_test.c"));
	TEST_STR(t, recv_line(fd, got), str_ptr(exp));
	logger_off();
	close(fd);
	str_free(got);
	str_free(exp);
}

/* A reader that falls behind but keeps reading loses no line. */
static void
test_slow_reader(struct test *t)
{
	struct str *got = str_new(100);
	const char *sock = in_tmp("slow.sock");
	int fd = bind_dgram(sock), status = -1, lines = 3000;
	pid_t pid;

	if ((pid = fork()) == 0) {
		struct timespec pause = { 0, 100 * 1000 * 1000 };
		int n = 0;

		nanosleep(&pause, NULL);
		while (n < lines && strcmp(recv_line(fd, got), "(none)") != 0)
			n++;
		_exit(n == lines ? 0 : 1);
	}
	logger_on(sock, in_tmp("slow.log"));
	for (int i = 0; i < lines; i++)
		msg_info("line %d", i);
	logger_off();
	TEST_STR(t, slurp(in_tmp("slow.log"), got), "");
	TEST_INT(t, waitpid(pid, &status, 0), pid);
	TEST_INT(t, status, 0);
	close(fd);
	str_free(got);
}

/* postlogd's socket replaced (master reload): the next line reconnects. */
static void
test_reconnect(struct test *t)
{
	struct str *got = str_new(100), *exp = str_new(100);
	const char *sock = in_tmp("re.sock");
	int fd = bind_dgram(sock);

	logger_on(sock, in_tmp("re.log"));
	msg_info("first");
	str_fmt(exp, "%sfirst", prefix("postfix/msg_test.c"));
	TEST_STR(t, recv_line(fd, got), str_ptr(exp));
	close(fd);
	fd = bind_dgram(in_tmp("re.sock"));
	msg_info("second");
	str_fmt(exp, "%ssecond", prefix("postfix/msg_test.c"));
	TEST_STR(t, recv_line(fd, got), str_ptr(exp));
	TEST_STR(t, slurp(in_tmp("re.log"), got), "");
	logger_off();
	close(fd);
	str_free(got);
	str_free(exp);
}

static void
test_printable(struct test *t)
{
	msg_info("a\tb\001c\303\251d\377e\r\n\302");
	msg_info("%s%c%s", "before", 0, "after");
	msg_utf8(false);
	msg_warn("c\303\251d");
	msg_utf8(true);
	/* overlong, surrogate, above U+10FFFF, truncated */
	msg_info("\300\257 \355\240\200 \364\220\200\200 \342\202");
	msg_info("\360\237\230\200 \344\275\240");
	TEST_STR(t, test_log_text(),
	    "a?b?c\303\251d?e???\n"
	    "before\n"
	    "warning: c??d\n"
	    "?? ??? ???? ??\n"
	    "\360\237\230\200 \344\275\240\n");
}

/* postlogd: its own lines and the datagrams go straight to the file. */
static void
test_writer(struct test *t)
{
	struct str *got = str_new(100), *exp = str_new(100);
	const char *file = in_tmp("writer.log");
	struct stat st;
	mode_t old = umask(022);

	TEST_INT(t, msg_logger(NULL, file, NULL), 0);
	msg_logger_host("mx");
	msg_logger_clock(fixed_clock);
	TEST_INT(t, stat(in_tmp("writer.log"), &st), 0);
	TEST_INT(t, st.st_mode & 07777, 0644);
	msg_warn("own");
	TEST_INT(t, msg_logger_append("plain", 5), 0);
	TEST_INT(t, msg_logger_append("nl\n", 3), 0);
	TEST_INT(t, msg_logger_append("a\0b\nc\n\n", 7), 0);
	TEST_INT(t, msg_logger_append("", 0), 0);
	TEST_INT(t, msg_logger_append("\033[2J\t\r\177\303\251\377", 10), 0);
	str_fmt(exp, "%swarning: own\nplain\nnl\na?b?c?\n\n",
	    prefix("postfix/msg_test.c"));
	/* Bytes above 0x7f are the client's business (its smtputf8_enable). */
	str_cat(exp, "?[2J???\303\251\377\n");
	TEST_STR(t, slurp(in_tmp("writer.log"), got), str_ptr(exp));
	logger_off();
	/* Not in writer mode: nothing to append to. */
	TEST_INT(t, msg_logger_append("x", 1), -1);
	umask(old);
	str_free(got);
	str_free(exp);
}

static void
test_refusals(struct test *t)
{
	struct str *why = str_new(100), *exp = str_new(100);
	const char *path;

	path = in_tmp("target");
	close(open(path, O_WRONLY | O_CREAT, 0644));
	TEST_INT(t, symlink(in_tmp("target"), in_tmp("link")), 0);
	path = in_tmp("link");
	TEST_INT(t, msg_logger(NULL, path, why), -1);
	str_fmt(exp, "open logfile '%s': file is a symbolic link", path);
	TEST_STR(t, str_ptr(why), str_ptr(exp));

	TEST_INT(t, link(in_tmp("target"), in_tmp("hard")), 0);
	path = in_tmp("hard");
	TEST_INT(t, msg_logger(NULL, path, why), -1);
	str_fmt(exp, "open logfile '%s': file has 2 hard links", path);
	TEST_STR(t, str_ptr(why), str_ptr(exp));

	/* /dev/shm is world-writable: only devices are taken as they are. */
	TEST_INT(t, msg_logger(NULL, "/dev/null", why), 0);
	msg_info("into the void");
	TEST_INT(t, msg_logger(NULL, "/dev/stdout", why), 0);
	logger_off();
	str_free(why);
	str_free(exp);
}

/* A fallback file that cannot be opened is fatal, with Postfix's text. */
static void
test_fallback_fatal(struct test *t)
{
	struct str *got = str_new(100), *exp = str_new(100);
	char buf[1000];
	int pfd[2], status = 0;
	ssize_t n;
	pid_t pid;

	TEST_INT(t, pipe(pfd), 0);
	if ((pid = fork()) == 0) {
		dup2(pfd[1], 2);
		msg_stderr(true);
		logger_on(in_tmp("no-such.sock"), in_tmp("no/such/dir"));
		msg_info("lost");
		_exit(0);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], buf, sizeof(buf))) > 0)
		str_catn(got, buf, (size_t)n);
	close(pfd[0]);
	waitpid(pid, &status, 0);
	TEST_TRUE(t, WIFEXITED(status) && WEXITSTATUS(status) == 1);
	str_fmt(exp,
	    "msg_test.c: lost\nmsg_test.c: fatal: open logfile '%s': "
	    "cannot create file exclusively: No such file or directory\n",
	    in_tmp("no/such/dir"));
	TEST_STR(t, str_ptr(got), str_ptr(exp));
	str_free(got);
	str_free(exp);
}

/* postlog writes "TAG: text" on stderr, other programs "program: text". */
static void
test_stderr_tag(struct test *t)
{
	char buf[1000];
	int pfd[2], saved = dup(2);
	ssize_t n;

	TEST_INT(t, pipe(pfd), 0);
	dup2(pfd[1], 2);
	msg_stderr(true);
	msg_warn("plain");
	msg_set_ident("postfix/postlog");
	msg_info("tagged");
	msg_stderr(false);
	dup2(saved, 2);
	close(saved);
	close(pfd[1]);
	n = read(pfd[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	close(pfd[0]);
	TEST_STR(t, buf,
	    "msg_test.c: warning: plain\npostfix/postlog: tagged\n");
	logger_off();
}

static const struct test_case cases[] = {
	{ "line_format", test_line_format },
	{ "truncate", test_truncate },
	{ "fallback_missing", test_fallback_missing },
	{ "fallback_refused", test_fallback_refused },
	{ "fallback_full", test_fallback_full },
	{ "slow_reader", test_slow_reader },
	{ "reconnect", test_reconnect },
	{ "printable", test_printable },
	{ "writer", test_writer },
	{ "refusals", test_refusals },
	{ "fallback_fatal", test_fallback_fatal },
	{ "stderr_tag", test_stderr_tag },
	{ 0 },
};

int
main(void)
{
	struct str *cmd;
	int status;

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	setenv("TZ", "UTC", 1);
	tzset();
	for (int i = 0; i < 4; i++)
		path_bufs[i] = str_new(100);
	want = str_new(100);
	status = test_main(__FILE__, cases);
	cmd = str_new(100);
	str_fmt(cmd, "rm -rf '%s'", tmpdir);
	if (system(str_ptr(cmd)) != 0)
		status = 1;
	str_free(cmd);
	return status;
}
