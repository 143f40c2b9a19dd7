/*
 * event - epoll plus a timer heap on CLOCK_MONOTONIC.  See event.h.
 *
 * Each registered descriptor carries a generation number in its epoll
 * data; the number changes whenever the descriptor is (re)added, so events
 * that epoll_wait() returned for a descriptor that a callback then removed,
 * closed or replaced in the same round are recognised as stale and dropped.
 * Signals use the self-pipe trick: the handler sets a flag and writes one
 * byte to a non-blocking pipe that the loop watches, so a signal that
 * arrives just before epoll_wait() still wakes it.
 */
#include <sys/epoll.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/event.h"
#include "lib/util/msg.h"

struct event_fd {
	event_fn *rfn, *wfn;
	void *rctx, *wctx;
	uint32_t gen; /* bumped on each EPOLL_CTL_ADD */
	bool added;   /* in the epoll set */
};

struct event_tmr {
	long long when;         /* CLOCK_MONOTONIC ns */
	unsigned long long seq; /* order of setting, for ties */
	event_fn *fn;
	void *ctx;
};

#define EVENT_WAKE UINT64_MAX /* epoll data of the signal pipe */

static int event_epfd = -1;
static struct event_fd *event_fds;
static int event_nfds;
static struct event_tmr *event_heap;
static size_t event_heap_len, event_heap_cap;
static unsigned long long event_seq;
static int event_sigpipe[2] = { -1, -1 };
static volatile sig_atomic_t event_sigflag[NSIG];

static long long
event_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		msg_fatal("clock_gettime: %m");
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
event_init(void)
{
	if (event_epfd >= 0)
		return;
	if ((event_epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		msg_fatal("epoll_create1: %m");
}

/* Tell epoll what fd is now watched for. */
static void
event_update(int fd)
{
	struct event_fd *e = event_fds + fd;
	struct epoll_event ev;
	int op;

	memset(&ev, 0, sizeof(ev));
	if (e->rfn)
		ev.events |= EPOLLIN;
	if (e->wfn)
		ev.events |= EPOLLOUT;
	if (ev.events == 0) {
		/* EBADF, ENOENT: closed before removal; nothing to undo. */
		if (e->added)
			(void)epoll_ctl(event_epfd, EPOLL_CTL_DEL, fd, &ev);
		e->added = false;
		return;
	}
	if (!e->added)
		e->gen++;
	ev.data.u64 = (uint64_t)e->gen << 32 | (uint32_t)fd;
	op = e->added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(event_epfd, op, fd, &ev) < 0) {
		/* Closed without event_remove() and reused, or the reverse. */
		if (op == EPOLL_CTL_MOD && errno == ENOENT) {
			e->gen++;
			ev.data.u64 = (uint64_t)e->gen << 32 | (uint32_t)fd;
			op = EPOLL_CTL_ADD;
		} else if (op == EPOLL_CTL_ADD && errno == EEXIST)
			op = EPOLL_CTL_MOD;
		else
			msg_fatal("epoll_ctl fd %d: %m", fd);
		if (epoll_ctl(event_epfd, op, fd, &ev) < 0)
			msg_fatal("epoll_ctl fd %d: %m", fd);
	}
	e->added = true;
}

static struct event_fd *
event_slot(int fd)
{
	int n;

	if (fd < 0)
		msg_panic("event: bad descriptor %d", fd);
	event_init();
	if (fd >= event_nfds) {
		n = event_nfds ? event_nfds : 64;
		while (n <= fd)
			n = n > INT32_MAX / 2 ? fd + 1 : n * 2;
		event_fds =
		    xreallocarray(event_fds, (size_t)n, sizeof(*event_fds));
		memset(event_fds + event_nfds, 0,
		    (size_t)(n - event_nfds) * sizeof(*event_fds));
		event_nfds = n;
	}
	return event_fds + fd;
}

void
event_read(int fd, event_fn *fn, void *ctx)
{
	struct event_fd *e = event_slot(fd);

	e->rfn = fn;
	e->rctx = fn ? ctx : NULL;
	event_update(fd);
}

void
event_write(int fd, event_fn *fn, void *ctx)
{
	struct event_fd *e = event_slot(fd);

	e->wfn = fn;
	e->wctx = fn ? ctx : NULL;
	event_update(fd);
}

void
event_remove(int fd)
{
	struct event_fd *e;

	if (fd < 0 || fd >= event_nfds)
		return;
	e = event_fds + fd;
	e->rfn = e->wfn = NULL;
	e->rctx = e->wctx = NULL;
	event_update(fd);
}

/* Timer heap ordered by (when, seq). */
static bool
event_before(const struct event_tmr *a, const struct event_tmr *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void
event_swap(size_t i, size_t j)
{
	struct event_tmr tmp = event_heap[i];

	event_heap[i] = event_heap[j];
	event_heap[j] = tmp;
}

static void
event_sift(size_t i)
{
	size_t child, parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (!event_before(&event_heap[i], &event_heap[parent]))
			break;
		event_swap(i, parent);
		i = parent;
	}
	for (;;) {
		child = 2 * i + 1;
		if (child >= event_heap_len)
			break;
		if (child + 1 < event_heap_len &&
		    event_before(&event_heap[child + 1], &event_heap[child]))
			child++;
		if (!event_before(&event_heap[child], &event_heap[i]))
			break;
		event_swap(i, child);
		i = child;
	}
}

static void
event_heap_delete(size_t i)
{
	event_heap[i] = event_heap[--event_heap_len];
	if (i < event_heap_len)
		event_sift(i);
}

static ssize_t
event_find(event_fn *fn, void *ctx)
{
	for (size_t i = 0; i < event_heap_len; i++)
		if (event_heap[i].fn == fn && event_heap[i].ctx == ctx)
			return (ssize_t)i;
	return -1;
}

void
event_timer(event_fn *fn, void *ctx, int ms)
{
	ssize_t i;

	if (fn == NULL)
		msg_panic("event_timer: null callback");
	if ((i = event_find(fn, ctx)) < 0) {
		if (event_heap_len == event_heap_cap) {
			event_heap_cap =
			    event_heap_cap ? event_heap_cap * 2 : 16;
			event_heap = xreallocarray(event_heap, event_heap_cap,
			    sizeof(*event_heap));
		}
		i = (ssize_t)event_heap_len++;
		event_heap[i].fn = fn;
		event_heap[i].ctx = ctx;
	}
	event_heap[i].when =
	    event_now() + (long long)(ms > 0 ? ms : 0) * 1000000LL;
	event_heap[i].seq = ++event_seq;
	event_sift((size_t)i);
}

void
event_cancel(event_fn *fn, void *ctx)
{
	ssize_t i;

	if ((i = event_find(fn, ctx)) >= 0)
		event_heap_delete((size_t)i);
}

static void
event_sighandler(int signo)
{
	int saved = errno;

	event_sigflag[signo] = 1;
	if (write(event_sigpipe[1], "", 1) < 0) {
		/* A full pipe already holds a wake-up: nothing is lost. */
	}
	errno = saved;
}

void
event_signal(int signo)
{
	struct sigaction sa;
	struct epoll_event ev;

	if (signo <= 0 || signo >= NSIG)
		msg_panic("event_signal: bad signal %d", signo);
	event_init();
	if (event_sigpipe[0] < 0) {
		if (pipe2(event_sigpipe, O_NONBLOCK | O_CLOEXEC) < 0)
			msg_fatal("pipe2: %m");
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u64 = EVENT_WAKE;
		if (epoll_ctl(event_epfd, EPOLL_CTL_ADD, event_sigpipe[0],
			&ev) < 0)
			msg_fatal("epoll_ctl signal pipe: %m");
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = event_sighandler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(signo, &sa, NULL) < 0)
		msg_fatal("sigaction %d: %m", signo);
}

bool
event_signal_pending(int signo)
{
	if (signo <= 0 || signo >= NSIG || !event_sigflag[signo])
		return false;
	event_sigflag[signo] = 0;
	return true;
}

/* The entry for an epoll event, or NULL when the event is stale. */
static struct event_fd *
event_lookup(uint64_t data)
{
	int fd = (int)(uint32_t)data;

	if (fd >= event_nfds || !event_fds[fd].added ||
	    event_fds[fd].gen != (uint32_t)(data >> 32))
		return NULL;
	return event_fds + fd;
}

static void
event_dispatch(const struct epoll_event *ev)
{
	struct event_fd *e;
	char buf[64];

	if (ev->data.u64 == EVENT_WAKE) {
		while (read(event_sigpipe[0], buf, sizeof(buf)) > 0)
			;
		return;
	}
	if ((e = event_lookup(ev->data.u64)) != NULL && e->rfn &&
	    (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		e->rfn(EVENT_READ, e->rctx);
	/* The read callback may have changed anything: look again. */
	if ((e = event_lookup(ev->data.u64)) != NULL && e->wfn) {
		if (ev->events & (EPOLLHUP | EPOLLERR))
			e->wfn(EVENT_ERROR, e->wctx);
		else if (ev->events & EPOLLOUT)
			e->wfn(EVENT_WRITE, e->wctx);
	}
}

void
event_loop(int max_ms)
{
	struct epoll_event evs[64];
	unsigned long long seq_limit = event_seq;
	struct event_tmr t;
	long long left, now;
	int n, ms = max_ms < 0 ? -1 : max_ms;

	event_init();
	if (event_heap_len > 0) {
		left = event_heap[0].when - event_now();
		/* Round up: waking just before the timer is due would spin. */
		left = left <= 0 ? 0 : (left + 999999) / 1000000;
		if (left > INT32_MAX)
			left = INT32_MAX;
		if (ms < 0 || left < ms)
			ms = (int)left;
	}
	n = epoll_wait(event_epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])),
	    ms);
	if (n < 0) {
		if (errno != EINTR)
			msg_fatal("epoll_wait: %m");
		n = 0;
	}
	for (int i = 0; i < n; i++)
		event_dispatch(&evs[i]);

	/*
	 * Expired timers, each removed before its callback runs so that it
	 * can re-arm itself; timers set during this round wait for the next.
	 */
	now = event_now();
	while (event_heap_len > 0 && event_heap[0].when <= now &&
	       event_heap[0].seq <= seq_limit) {
		t = event_heap[0];
		event_heap_delete(0);
		t.fn(EVENT_TIMER, t.ctx);
	}
}
