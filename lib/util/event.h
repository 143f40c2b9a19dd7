/*
 * event - the one event loop: epoll plus a timer heap on CLOCK_MONOTONIC,
 * for multiplexers (master, qmgr, multi-client services).  Per-connection
 * code uses stream deadlines instead.
 *
 * event_read(fd, fn, ctx)       call fn(EVENT_READ, ctx) while fd is
 *                               readable (replaces an earlier read
 *                               callback; a NULL fn stops watching)
 * event_write(fd, fn, ctx)      same for writable, EVENT_WRITE
 * event_remove(fd)              stop watching fd (call before close)
 * event_timer(fn, ctx, ms)      call fn(EVENT_TIMER, ctx) once, ms from now;
 *                               the pair (fn, ctx) names the timer: setting it
 *                               again re-arms it
 * event_cancel(fn, ctx)         forget the timer (fn, ctx), if any
 * event_loop(max_ms)            one round: wait at most max_ms (-1: until
 *                               something happens), run ready callbacks and
 *                               expired timers, return
 * event_signal(signo)           catch signo: the handler only sets a flag and
 *                               wakes event_loop(), which then returns
 * event_signal_pending(signo)   true once per caught batch of signo (clears it)
 *
 * Callbacks are level-triggered.  On an error or hangup a read callback
 * gets EVENT_READ (read() then reports EOF or the error) and a write
 * callback EVENT_ERROR (write() or SO_ERROR tells why).  Callbacks may add
 * and remove descriptors and timers, their own included, at any time: a
 * descriptor removed (or closed and reused) during a round gets no stale
 * callback, and a timer armed during a round runs in a later round, so a
 * timer re-arming itself with 0 ms cannot starve the loop.  Timers due at
 * the same time run in the order set.  Finding a timer by (fn, ctx) is a
 * linear search: fine for the hundreds of timers a daemon keeps, not for
 * millions.  A child process after fork() must not use these functions
 * (the epoll set is shared).
 */
#ifndef EVENT_H
#define EVENT_H

#include <stdbool.h>

#define EVENT_READ  1
#define EVENT_WRITE 2
#define EVENT_TIMER 4
#define EVENT_ERROR 8

typedef void event_fn(int, void *);

void event_read(int, event_fn *, void *);
void event_write(int, event_fn *, void *);
void event_remove(int);
void event_timer(event_fn *, void *, int);
void event_cancel(event_fn *, void *);
void event_loop(int);
void event_signal(int);
bool event_signal_pending(int);

#endif
