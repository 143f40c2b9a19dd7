/*
 * stream_test - unit tests for stream: lines, limits, NUL bytes, EOF,
 * timeouts, deadlines, short writes and write errors.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/util/test.h"

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A stream reading n bytes of p from an unlinked temporary file. */
static struct stream *
stream_from(const void *p, size_t n)
{
	char path[] = "/tmp/stream_test.XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return NULL;
	unlink(path);
	if (write(fd, p, n) != (ssize_t)n || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return NULL;
	}
	return stream_open(fd);
}

static void
test_lines(struct test *t)
{
	static const char text[] = "a\r\nb\n\nlast";
	struct stream *st = stream_from(text, sizeof(text) - 1);
	struct str *line = str_new(0);

	TEST_TRUE(t, st != NULL);
	if (st == NULL)
		return;
	TEST_INT(t, stream_getline(st, line, 100), STREAM_OK);
	TEST_STR(t, str_ptr(line), "a\r");
	TEST_INT(t, stream_getline(st, line, 100), STREAM_OK);
	TEST_STR(t, str_ptr(line), "b");
	TEST_INT(t, stream_getline(st, line, 100), STREAM_OK);
	TEST_STR(t, str_ptr(line), "");
	/* EOF mid-line: the partial line is there but it is EOF. */
	TEST_INT(t, stream_getline(st, line, 100), STREAM_EOF);
	TEST_STR(t, str_ptr(line), "last");
	TEST_INT(t, stream_getline(st, line, 100), STREAM_EOF);
	TEST_STR(t, str_ptr(line), "");
	TEST_INT(t, stream_status(st), STREAM_EOF);
	stream_close(st);
	str_free(line);
}

static void
test_nul_bytes(struct test *t)
{
	static const char text[] = "x\0y\n\0\n\r\0";
	struct stream *st = stream_from(text, sizeof(text) - 1);
	struct str *line = str_new(0);
	char buf[4];

	TEST_INT(t, stream_getline(st, line, 100), STREAM_OK);
	TEST_INT(t, str_len(line), 3);
	TEST_TRUE(t, memcmp(str_ptr(line), "x\0y", 3) == 0);
	TEST_INT(t, stream_getline(st, line, 100), STREAM_OK);
	TEST_INT(t, str_len(line), 1);
	TEST_INT(t, str_ptr(line)[0], 0);
	TEST_INT(t, stream_read(st, buf, sizeof(buf)), 2);
	TEST_TRUE(t, memcmp(buf, "\r\0", 2) == 0);
	TEST_INT(t, stream_read(st, buf, sizeof(buf)), 0);
	stream_close(st);
	str_free(line);
}

static void
test_limit_edges(struct test *t)
{
	static const char text[] = "abcd\nabcde\nabcdef\n\nx\n";
	struct stream *st = stream_from(text, sizeof(text) - 1);
	struct str *line = str_new(0);

	TEST_INT(t, stream_getline(st, line, 5), STREAM_OK);
	TEST_STR(t, str_ptr(line), "abcd");
	TEST_INT(t, stream_getline(st, line, 5), STREAM_OK);
	TEST_STR(t, str_ptr(line), "abcde");
	TEST_INT(t, stream_getline(st, line, 5), STREAM_TOOLONG);
	TEST_STR(t, str_ptr(line), "abcde");
	/* A zero limit admits only empty lines. */
	TEST_INT(t, stream_getline(st, line, 0), STREAM_OK);
	TEST_STR(t, str_ptr(line), "");
	TEST_INT(t, stream_getline(st, line, 0), STREAM_TOOLONG);
	TEST_STR(t, str_ptr(line), "");
	TEST_INT(t, stream_getline(st, line, 0), STREAM_EOF);
	stream_close(st);
	str_free(line);
}

static void
test_huge_line(struct test *t)
{
	size_t n = 1 << 20;
	char *big = xmalloc(n + 32);
	struct stream *st;
	struct str *line = str_new(0);

	memset(big, 'x', n);
	big[n / 2] = '\0';
	memcpy(big + n, "\nnext\n", 6);
	st = stream_from(big, n + 6);
	TEST_INT(t, stream_getline(st, line, 1000), STREAM_TOOLONG);
	TEST_INT(t, str_len(line), 1000);
	TEST_INT(t, str_ptr(line)[999], 'x');
	/* The line buffer did not grow with the discarded input. */
	TEST_TRUE(t, line->cap < 4096);
	TEST_INT(t, stream_getline(st, line, 1000), STREAM_OK);
	TEST_STR(t, str_ptr(line), "next");
	TEST_INT(t, stream_getline(st, line, 1000), STREAM_EOF);
	stream_close(st);

	/* A 1 MB line cut by EOF is still too long, then EOF. */
	st = stream_from(big, n);
	TEST_INT(t, stream_getline(st, line, 10), STREAM_TOOLONG);
	TEST_STR(t, str_ptr(line), "xxxxxxxxxx");
	TEST_INT(t, stream_getline(st, line, 10), STREAM_EOF);
	stream_close(st);
	free(big);
	str_free(line);
}

static void
test_eof_pipe(struct test *t)
{
	struct stream *st;
	struct str *line = str_new(0);
	int p[2];

	TEST_INT(t, pipe(p), 0);
	TEST_INT(t, write(p[1], "one\ntw", 6), 6);
	close(p[1]);
	st = stream_open(p[0]);
	stream_set_timeout(st, 1000);
	TEST_INT(t, stream_getline(st, line, 100), STREAM_OK);
	TEST_STR(t, str_ptr(line), "one");
	TEST_INT(t, stream_getline(st, line, 100), STREAM_EOF);
	TEST_STR(t, str_ptr(line), "tw");
	stream_close(st);
	str_free(line);
}

static void
test_timeout(struct test *t)
{
	struct stream *st;
	struct str *line = str_new(0);
	long long start, took;
	char buf[10];
	int p[2];

	TEST_INT(t, pipe(p), 0);
	TEST_INT(t, write(p[1], "partial", 7), 7);
	st = stream_open(p[0]);
	stream_set_timeout(st, 100);
	start = now_ms();
	TEST_INT(t, stream_getline(st, line, 100), STREAM_TIMEOUT);
	took = now_ms() - start;
	TEST_TRUE(t, took >= 95 && took < 2000);
	TEST_INT(t, stream_status(st), STREAM_TIMEOUT);
	start = now_ms();
	TEST_INT(t, stream_read(st, buf, sizeof(buf)), -1);
	TEST_INT(t, stream_status(st), STREAM_TIMEOUT);
	took = now_ms() - start;
	TEST_TRUE(t, took >= 95 && took < 2000);
	stream_close(st);
	close(p[1]);
	str_free(line);
}

/*
 * A child trickles one byte every 20 ms: the 200 ms per-wait timeout never
 * trips, the 300 ms deadline does, across many reads.
 */
static void
test_deadline(struct test *t)
{
	struct stream *st;
	struct str *line = str_new(0);
	long long start, took;
	pid_t pid;
	int p[2], status;

	TEST_INT(t, pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		for (int i = 0; i < 100; i++) {
			struct timespec ts = { 0, 20000000 };

			if (write(p[1], "a", 1) != 1)
				_exit(0);
			nanosleep(&ts, NULL);
		}
		_exit(0);
	}
	close(p[1]);
	st = stream_open(p[0]);
	stream_set_timeout(st, 200);
	stream_set_deadline(st, 300);
	start = now_ms();
	TEST_INT(t, stream_getline(st, line, 1000), STREAM_TIMEOUT);
	took = now_ms() - start;
	TEST_TRUE(t, took >= 295 && took < 1500);
	TEST_TRUE(t, str_len(line) >= 3 && str_len(line) <= 20);
	/* Past the deadline every wait fails at once... */
	start = now_ms();
	TEST_INT(t, stream_getline(st, line, 1000), STREAM_TIMEOUT);
	TEST_TRUE(t, now_ms() - start < 50);
	/* ...until the deadline is reset. */
	stream_set_deadline(st, 100);
	start = now_ms();
	TEST_INT(t, stream_getline(st, line, 1000), STREAM_TIMEOUT);
	took = now_ms() - start;
	TEST_TRUE(t, took >= 95 && took < 1000);
	TEST_TRUE(t, str_len(line) > 0);
	stream_close(st);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	str_free(line);
}

/*
 * 1 MB through a pipe to a child that reads slowly in small pieces: the
 * writer sees short writes and EAGAIN (non-blocking) and loses nothing.
 */
static void
test_write_big(struct test *t)
{
	size_t n = 1 << 20, got = 0;
	unsigned long sum = 0, want = 0;
	char *big = xmalloc(n);
	struct stream *st;
	pid_t pid;
	int p[2], back[2], status;
	char buf[64];
	ssize_t r;

	for (size_t i = 0; i < n; i++) {
		big[i] = (char)(i * 7 + i / 251);
		want += (unsigned char)big[i] * (i % 13 + 1);
	}
	TEST_INT(t, pipe(p), 0);
	TEST_INT(t, pipe(back), 0);
	if ((pid = fork()) == 0) {
		char rb[1000];

		close(p[1]);
		close(back[0]);
		while ((r = read(p[0], rb, sizeof(rb))) > 0)
			for (ssize_t i = 0; i < r; i++, got++)
				sum += (unsigned char)rb[i] * (got % 13 + 1);
		r = snprintf(buf, sizeof(buf), "%zu %lu", got, sum);
		if (write(back[1], buf, (size_t)r) != r)
			_exit(1);
		_exit(0);
	}
	close(p[0]);
	close(back[1]);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	st = stream_open(p[1]);
	stream_set_timeout(st, 5000);
	TEST_INT(t, stream_write(st, big, 100), 0);
	TEST_INT(t, stream_write(st, big + 100, n - 100), 0);
	TEST_INT(t, stream_flush(st), 0);
	stream_close(st);
	memset(buf, 0, sizeof(buf));
	/* test_eintr runs this with SIGALRM firing: retry plain calls. */
	do {
		r = read(back[0], buf, sizeof(buf) - 1);
	} while (r < 0 && errno == EINTR);
	TEST_TRUE(t, r > 0);
	close(back[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	snprintf((char *)big, 64, "%zu %lu", n, want);
	TEST_STR(t, buf, big);
	free(big);
}

static void
test_write_timeout(struct test *t)
{
	size_t n = 1 << 20;
	char *big = xmalloc(n);
	struct stream *st;
	long long start;
	int p[2];

	memset(big, 'z', n);
	TEST_INT(t, pipe(p), 0);
	st = stream_open(p[1]);
	stream_set_timeout(st, 100);
	start = now_ms();
	/* Nobody reads: the pipe fills, the write times out. */
	TEST_INT(t, stream_write(st, big, n), -1);
	TEST_INT(t, stream_status(st), STREAM_TIMEOUT);
	TEST_TRUE(t, now_ms() - start < 2000);
	/* Sticky. */
	TEST_INT(t, stream_puts(st, "x"), -1);
	TEST_INT(t, stream_flush(st), -1);
	stream_close(st);
	close(p[0]);
	free(big);
}

/* A write to a closed socket fails with EPIPE and does not kill us. */
static void
test_write_closed(struct test *t)
{
	struct stream *st;
	int sp[2];

	TEST_INT(t, socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	close(sp[1]);
	st = stream_open(sp[0]);
	TEST_INT(t, stream_puts(st, "hello\r\n"), 0);
	errno = 0;
	TEST_INT(t, stream_flush(st), -1);
	TEST_INT(t, errno, EPIPE);
	TEST_INT(t, stream_status(st), STREAM_ERROR);
	TEST_INT(t, stream_printf(st, "%d", 1), -1);
	stream_close(st);
}

/* Output is flushed before waiting for input; printf and puts. */
static void
test_flush_before_read(struct test *t)
{
	struct stream *st;
	struct str *line = str_new(0);
	char buf[100];
	ssize_t n;
	int sp[2];

	TEST_INT(t, socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	st = stream_open(sp[0]);
	stream_set_timeout(st, 50);
	TEST_INT(t, stream_printf(st, "%d %s\r\n", 220, "mx.example ESMTP"), 0);
	TEST_INT(t, stream_puts(st, "more"), 0);
	TEST_INT(t, stream_getline(st, line, 100), STREAM_TIMEOUT);
	n = read(sp[1], buf, sizeof(buf) - 1);
	TEST_INT(t, n, 26);
	buf[n > 0 ? n : 0] = 0;
	TEST_STR(t, buf, "220 mx.example ESMTP\r\nmore");

	/* Pipelined input: pending() sees it, purge() drops it. */
	TEST_INT(t, write(sp[1], "EHLO a\r\nSTARTTLS\r\nMAIL FROM:<>\r\n", 32),
	    32);
	TEST_INT(t, stream_getline(st, line, 100), STREAM_OK);
	TEST_STR(t, str_ptr(line), "EHLO a\r");
	TEST_INT(t, stream_getline(st, line, 100), STREAM_OK);
	TEST_STR(t, str_ptr(line), "STARTTLS\r");
	TEST_INT(t, stream_pending(st), 14);
	stream_purge(st);
	TEST_INT(t, stream_pending(st), 0);
	TEST_INT(t, stream_getline(st, line, 100), STREAM_TIMEOUT);
	close(sp[1]);
	TEST_INT(t, stream_getline(st, line, 100), STREAM_EOF);
	stream_close(st);
	str_free(line);
}

static void
test_read_partial(struct test *t)
{
	static const char text[] = "0123456789";
	struct stream *st = stream_from(text, 10);
	struct str *line = str_new(0);
	char buf[8];

	TEST_INT(t, stream_read(st, buf, 0), 0);
	TEST_INT(t, stream_read(st, buf, 3), 3);
	TEST_TRUE(t, memcmp(buf, "012", 3) == 0);
	TEST_INT(t, stream_read(st, buf, sizeof(buf)), 7);
	TEST_TRUE(t, memcmp(buf, "3456789", 7) == 0);
	TEST_INT(t, stream_read(st, buf, sizeof(buf)), 0);
	TEST_INT(t, stream_getline(st, line, 10), STREAM_EOF);
	stream_close(st);
	str_free(line);
	TEST_TRUE(t, stream_close(NULL) == NULL);
}

static volatile sig_atomic_t alarms;

static void
on_alarm(int signo)
{
	(void)signo;
	alarms++;
}

/*
 * A storm of signals (every 2 ms, handler without SA_RESTART) neither
 * ends a wait early nor breaks a large write.
 */
static void
test_eintr(struct test *t)
{
	struct itimerval it = { { 0, 2000 }, { 0, 2000 } }, off = { 0 };
	struct sigaction sa, old;
	struct stream *st;
	struct str *line = str_new(0);
	long long start, took;
	int p[2];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	alarms = 0;
	setitimer(ITIMER_REAL, &it, NULL);

	TEST_INT(t, pipe(p), 0);
	st = stream_open(p[0]);
	stream_set_timeout(st, 150);
	start = now_ms();
	TEST_INT(t, stream_getline(st, line, 100), STREAM_TIMEOUT);
	took = now_ms() - start;
	TEST_TRUE(t, took >= 145 && took < 1000);
	TEST_TRUE(t, alarms > 5);
	stream_close(st);
	close(p[1]);
	test_write_big(t);

	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	str_free(line);
}

/*
 * An I/O hook like TLS's: it reads the descriptor itself, asks the stream
 * to wait (want POLLIN) whenever read() would block, and transforms the
 * bytes (upper case in, lower case out) so the test sees they passed it.
 */
struct hook_ctx {
	int fd;
	int waits;  /* times it asked to wait */
	int writes; /* calls of the write hook */
};

static ssize_t
hook_read(void *ctx, void *buf, size_t len, short *want)
{
	struct hook_ctx *h = ctx;
	char *p = buf;
	ssize_t n, i;

	*want = 0;
	if ((n = read(h->fd, buf, len)) < 0 && errno == EAGAIN) {
		h->waits++;
		*want = POLLIN;
		return -1;
	}
	for (i = 0; i < n; i++)
		if (p[i] >= 'a' && p[i] <= 'z')
			p[i] = (char)(p[i] - 'a' + 'A');
	return n;
}

static ssize_t
hook_write(void *ctx, const void *buf, size_t len, short *want)
{
	struct hook_ctx *h = ctx;
	char tmp[64];
	size_t i;

	*want = 0;
	h->writes++;
	if (len > sizeof(tmp))
		len = sizeof(tmp);
	for (i = 0; i < len; i++) {
		tmp[i] = ((const char *)buf)[i];
		if (tmp[i] >= 'A' && tmp[i] <= 'Z')
			tmp[i] = (char)(tmp[i] - 'A' + 'a');
	}
	return write(h->fd, tmp, len);
}

static const struct stream_io hook_io = { hook_read, hook_write };

static void
test_io_hook(struct test *t)
{
	struct str *line = str_new(16);
	struct hook_ctx h = { 0, 0, 0 };
	struct stream *st;
	char buf[64];
	ssize_t n;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		TEST_FAIL(t, "socketpair: %s", strerror(errno));
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	st = stream_open(sv[0]);
	stream_set_timeout(st, 5000);
	/* plaintext buffered before the hook is set is purged unread */
	TEST_INT(t, write(sv[1], "plain\ninjected\n", 15), 15);
	TEST_INT(t, stream_getline(st, line, 100), STREAM_OK);
	TEST_STR(t, str_ptr(line), "plain");
	TEST_INT(t, (int)stream_pending(st), 9);
	stream_purge(st);
	h.fd = sv[0];
	stream_set_io(st, &hook_io, &h);
	if ((pid = fork()) == 0) {
		usleep(100000);
		_exit(write(sv[1], "hello\n", 6) == 6 ? 0 : 1);
	}
	TEST_INT(t, stream_getline(st, line, 100), STREAM_OK);
	TEST_STR(t, str_ptr(line), "HELLO");
	TEST_TRUE(t, h.waits >= 1);
	waitpid(pid, NULL, 0);
	TEST_INT(t, stream_puts(st, "BYE\r\n"), 0);
	TEST_INT(t, stream_flush(st), 0);
	TEST_INT(t, h.writes, 1);
	n = read(sv[1], buf, sizeof(buf));
	TEST_INT(t, (int)n, 5);
	TEST_TRUE(t, n == 5 && memcmp(buf, "bye\r\n", 5) == 0);
	/* back to the descriptor */
	stream_set_io(st, NULL, NULL);
	TEST_INT(t, write(sv[1], "Raw\n", 4), 4);
	TEST_INT(t, stream_getline(st, line, 100), STREAM_OK);
	TEST_STR(t, str_ptr(line), "Raw");
	close(sv[1]);
	stream_close(st);
	str_free(line);
}

static const struct test_case cases[] = {
	{ "lines", test_lines },
	{ "nul_bytes", test_nul_bytes },
	{ "limit_edges", test_limit_edges },
	{ "huge_line", test_huge_line },
	{ "eof_pipe", test_eof_pipe },
	{ "timeout", test_timeout },
	{ "deadline", test_deadline },
	{ "write_big", test_write_big },
	{ "write_timeout", test_write_timeout },
	{ "write_closed", test_write_closed },
	{ "flush_before_read", test_flush_before_read },
	{ "read_partial", test_read_partial },
	{ "io_hook", test_io_hook },
	{ "eintr", test_eintr },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
