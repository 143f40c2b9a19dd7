/*
 * test.h - the unit-test harness (header only).
 *
 * A test file defines functions and a table, then calls test_main():
 *
 *	static void test_cat(struct test *t) { ... TEST_STR(t, str_ptr(s), "ab"); }
 *	static const struct test_case cases[] = { { "cat", test_cat }, { 0 } };
 *	int main(void) { return test_main(__FILE__, cases); }
 *
 * Each case prints "PASS file:name" or "FAIL file:name: line N: got ..., want ...".
 * TEST_STR, TEST_INT, TEST_TRUE record a failure and go on; the case fails if any
 * check failed.  test_capture() collects msg_* output so tests can assert log lines.
 * test_fatal(fn, ctx) runs fn(ctx) in a child and returns the text of the fatal
 * error it died with: "" when fn returned, "(child died without a message)" when
 * it died otherwise (valid until the next call).
 */
#ifndef TEST_H
#define TEST_H

#include <sys/types.h>
#include <sys/wait.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"

struct test {
	const char *name;
	int failures;
};

struct test_case {
	const char *name;
	void (*fn)(struct test *);
};

static struct str *test_log;

#define TEST_FAIL(t, ...) \
	do { \
		printf("  %s: line %d: ", (t)->name, __LINE__); \
		printf(__VA_ARGS__); \
		printf("\n"); \
		(t)->failures++; \
	} while (0)

#define TEST_STR(t, got, want) \
	do { \
		const char *g_ = (got), *w_ = (want); \
		if (!((g_ == NULL && w_ == NULL) || (g_ && w_ && strcmp(g_, w_) == 0))) \
			TEST_FAIL(t, "got \"%s\", want \"%s\"", g_ ? g_ : "(null)", \
			    w_ ? w_ : "(null)"); \
	} while (0)

#define TEST_INT(t, got, want) \
	do { \
		long long g_ = (long long)(got), w_ = (long long)(want); \
		if (g_ != w_) \
			TEST_FAIL(t, "got %lld, want %lld (%s)", g_, w_, #got); \
	} while (0)

#define TEST_TRUE(t, cond) \
	do { \
		if (!(cond)) \
			TEST_FAIL(t, "expected true: %s", #cond); \
	} while (0)

/* The log lines captured since the last test_log_reset(), each + "\n". */
static inline void
test_log_sink(enum msg_level level, const char *text)
{
	static const char *const names[] = { "", "warning: ", "error: ",
		"fatal: ", "panic: " };

	str_catfmt(test_log, "%s%s\n", names[level], text);
}

static inline const char *
test_log_text(void)
{
	return str_ptr(test_log);
}

static inline void
test_log_reset(void)
{
	str_reset(test_log);
}

static int test_fatal_fd = -1;

static inline void
test_fatal_sink(enum msg_level level, const char *text)
{
	if (test_fatal_fd >= 0 && level == MSG_FATAL) {
		ssize_t n = write(test_fatal_fd, text, strlen(text));

		(void)n;
	}
}

typedef void test_child_fn(void *);

static inline const char *
test_fatal(test_child_fn *fn, void *ctx)
{
	static struct str *msg;
	char buf[512];
	int fds[2], status;
	ssize_t got;
	pid_t pid;

	if (msg == NULL)
		msg = str_new(100);
	str_reset(msg);
	fflush(stdout);
	if (pipe(fds) < 0 || (pid = fork()) < 0) {
		perror("pipe/fork");
		exit(2);
	}
	if (pid == 0) {
		close(fds[0]);
		test_fatal_fd = fds[1];
		msg_output(test_fatal_sink);
		fn(ctx);
		_exit(0);
	}
	close(fds[1]);
	while ((got = read(fds[0], buf, sizeof(buf))) > 0)
		str_catn(msg, buf, (size_t)got);
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (str_len(msg) == 0 &&
	    !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		str_set(msg, "(child died without a message)");
	return str_ptr(msg);
}

static inline int
test_main(const char *file, const struct test_case *cases)
{
	int failed = 0;

	msg_init(file);
	msg_stderr(false);
	test_log = str_new(1000);
	msg_output(test_log_sink);
	for (const struct test_case *c = cases; c->name; c++) {
		struct test t = { c->name, 0 };

		test_log_reset();
		c->fn(&t);
		printf("%s %s:%s\n", t.failures ? "FAIL" : "PASS", file, c->name);
		fflush(stdout);
		failed += t.failures != 0;
	}
	return failed != 0;
}

#endif
