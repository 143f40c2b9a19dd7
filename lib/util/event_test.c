/*
 * event_test - unit tests for event: timer order, re-arming, cancel,
 * callbacks that change the loop during dispatch, descriptors, signals.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/event.h"
#include "lib/util/str.h"
#include "lib/util/test.h"

static struct str *trace;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append ctx (a C string) and the event code to the trace. */
static void
record(int event, void *ctx)
{
	str_catfmt(trace, "%s%d ", (const char *)ctx, event);
}

/* Run rounds until the trace has want bytes or 2 s pass. */
static void
run_until(size_t want)
{
	long long end = now_ms() + 2000;

	while (str_len(trace) < want && now_ms() < end)
		event_loop(100);
}

static void
test_timer_order(struct test *t)
{
	static char a[] = "a", b[] = "b", c[] = "c", d[] = "d";
	long long start = now_ms();

	str_reset(trace);
	event_timer(record, a, 60);
	event_timer(record, b, 20);
	event_timer(record, c, 40);
	event_timer(record, d, 20);
	run_until(12);
	TEST_STR(t, str_ptr(trace), "b4 d4 c4 a4 ");
	TEST_TRUE(t, now_ms() - start >= 60);
	/* Nothing left: a bounded wait returns after about max_ms. */
	start = now_ms();
	event_loop(50);
	TEST_TRUE(t, now_ms() - start >= 49);
	start = now_ms();
	event_loop(0);
	TEST_TRUE(t, now_ms() - start < 20);
	TEST_STR(t, str_ptr(trace), "b4 d4 c4 a4 ");
}

static void
test_timer_rearm_cancel(struct test *t)
{
	static char a[] = "a", b[] = "b", x[] = "x";
	long long start = now_ms();

	str_reset(trace);
	event_timer(record, a, 10);
	event_timer(record, x, 10);
	event_timer(record, b, 30);
	/* Re-arming moves a after b; (record, x) is a different timer. */
	event_timer(record, a, 60);
	event_cancel(record, x);
	event_cancel(record, x);
	event_cancel(record, NULL);
	run_until(6);
	TEST_STR(t, str_ptr(trace), "b4 a4 ");
	TEST_TRUE(t, now_ms() - start >= 60);
	event_loop(30);
	TEST_STR(t, str_ptr(trace), "b4 a4 ");
}

/* A timer that re-arms itself with 0 ms runs once per round. */
static int self_count;

static void
self_rearm(int event, void *ctx)
{
	(void)event;
	if (++self_count < 5)
		event_timer(self_rearm, ctx, 0);
}

/* A timer that cancels another one due in the same round. */
static char victim[] = "victim";

static void
cancel_other(int event, void *ctx)
{
	record(event, ctx);
	event_cancel(record, victim);
}

static void
test_timer_self(struct test *t)
{
	static char k[] = "k";

	self_count = 0;
	event_timer(self_rearm, NULL, 0);
	event_loop(0);
	TEST_INT(t, self_count, 1);
	event_loop(0);
	TEST_INT(t, self_count, 2);
	for (int i = 0; i < 10; i++)
		event_loop(0);
	TEST_INT(t, self_count, 5);

	str_reset(trace);
	event_timer(cancel_other, k, 0);
	event_timer(record, victim, 0);
	event_loop(10);
	event_loop(10);
	TEST_STR(t, str_ptr(trace), "k4 ");
}

static int pipe_a[2], pipe_b[2];
static int reads;

/* Reads a byte, then removes itself and closes its pipe. */
static void
read_once(int event, void *ctx)
{
	char c;
	int *p = ctx;

	str_catfmt(trace, "r%d:%zd ", event, read(p[0], &c, 1));
	reads++;
	event_remove(p[0]);
	close(p[0]);
	close(p[1]);
}

static void
test_read_pipe(struct test *t)
{
	str_reset(trace);
	reads = 0;
	TEST_INT(t, pipe(pipe_a), 0);
	event_read(pipe_a[0], read_once, pipe_a);
	event_loop(20);
	TEST_STR(t, str_ptr(trace), "");
	TEST_INT(t, write(pipe_a[1], "x", 1), 1);
	event_loop(1000);
	TEST_STR(t, str_ptr(trace), "r1:1 ");
	/* Removed: a new pipe reusing the number has no callback. */
	TEST_INT(t, pipe(pipe_a), 0);
	TEST_INT(t, write(pipe_a[1], "x", 1), 1);
	event_loop(20);
	TEST_INT(t, reads, 1);
	close(pipe_a[0]);
	close(pipe_a[1]);
}

/*
 * Two readable pipes; whichever callback runs first removes the other
 * pipe and closes it and reuses its number for a fresh pipe: the stale
 * event from the same epoll_wait() batch must not reach anyone.
 */
static void
kill_other(int event, void *ctx)
{
	int *mine = ctx, *other = mine == pipe_a ? pipe_b : pipe_a;
	char c;

	(void)event;
	reads++;
	if (read(mine[0], &c, 1) != 1)
		reads += 100;
	event_remove(other[0]);
	close(other[0]);
	close(other[1]);
	if (pipe(other) == 0) {
		event_read(other[0], kill_other, other);
		/* Readable at once, but a new registration: next round. */
		if (write(other[1], "y", 1) != 1)
			reads += 100;
	}
}

static void
test_remove_other(struct test *t)
{
	reads = 0;
	TEST_INT(t, pipe(pipe_a), 0);
	TEST_INT(t, pipe(pipe_b), 0);
	TEST_INT(t, write(pipe_a[1], "x", 1), 1);
	TEST_INT(t, write(pipe_b[1], "x", 1), 1);
	event_read(pipe_a[0], kill_other, pipe_a);
	event_read(pipe_b[0], kill_other, pipe_b);
	event_loop(1000);
	TEST_INT(t, reads, 1);
	event_loop(1000);
	TEST_INT(t, reads, 2);
	event_remove(pipe_a[0]);
	event_remove(pipe_b[0]);
	close(pipe_a[0]);
	close(pipe_a[1]);
	close(pipe_b[0]);
	close(pipe_b[1]);
	event_loop(0);
	TEST_INT(t, reads, 2);
}

static void
on_write(int event, void *ctx)
{
	int *p = ctx;

	record(event, (void *)"w");
	event_write(p[1], NULL, NULL);
}

static void
on_read(int event, void *ctx)
{
	int *p = ctx;
	char buf[10];

	str_catfmt(trace, "r%d:%zd ", event, read(p[0], buf, sizeof(buf)));
	event_remove(p[0]);
}

static void
test_write_hangup(struct test *t)
{
	str_reset(trace);
	TEST_INT(t, pipe(pipe_a), 0);
	/* Writable; the callback stops write interest with a NULL fn. */
	event_write(pipe_a[1], on_write, pipe_a);
	event_loop(1000);
	event_loop(20);
	TEST_STR(t, str_ptr(trace), "w2 ");
	/* Writer gone: EVENT_READ, and read() says EOF. */
	close(pipe_a[1]);
	event_read(pipe_a[0], on_read, pipe_a);
	event_loop(1000);
	TEST_STR(t, str_ptr(trace), "w2 r1:0 ");
	close(pipe_a[0]);

	/* Reader gone: the write side gets EVENT_ERROR. */
	str_reset(trace);
	TEST_INT(t, pipe(pipe_a), 0);
	close(pipe_a[0]);
	event_write(pipe_a[1], record, (void *)"e");
	event_loop(1000);
	TEST_STR(t, str_ptr(trace), "e8 ");
	event_remove(pipe_a[1]);
	close(pipe_a[1]);
	/* Removing what is not there is harmless. */
	event_remove(pipe_a[1]);
	event_remove(100000);
}

static void
test_signal(struct test *t)
{
	long long start;

	event_signal(SIGUSR1);
	TEST_TRUE(t, !event_signal_pending(SIGUSR1));
	/* Raised before the wait: the loop must still wake at once. */
	raise(SIGUSR1);
	start = now_ms();
	event_loop(5000);
	TEST_TRUE(t, now_ms() - start < 1000);
	TEST_TRUE(t, event_signal_pending(SIGUSR1));
	TEST_TRUE(t, !event_signal_pending(SIGUSR1));
	TEST_TRUE(t, !event_signal_pending(SIGUSR2));
	TEST_TRUE(t, !event_signal_pending(0));
	TEST_TRUE(t, !event_signal_pending(100000));
	/* The wake-up pipe was drained: a quiet loop now waits. */
	start = now_ms();
	event_loop(50);
	TEST_TRUE(t, now_ms() - start >= 49);
	signal(SIGUSR1, SIG_DFL);
}

static const struct test_case cases[] = {
	{ "timer_order", test_timer_order },
	{ "timer_rearm_cancel", test_timer_rearm_cancel },
	{ "timer_self", test_timer_self },
	{ "read_pipe", test_read_pipe },
	{ "remove_other", test_remove_other },
	{ "write_hangup", test_write_hangup },
	{ "signal", test_signal },
	{ 0 },
};

int
main(void)
{
	int rc;

	trace = str_new(0);
	rc = test_main(__FILE__, cases);
	str_free(trace);
	return rc;
}
