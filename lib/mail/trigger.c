/*
 * trigger - send a wakeup to a UNIX-domain socket or fifo endpoint.
 *
 * Postfix 3.7's mail_trigger() stats the endpoint first and picks the
 * transport from its type; so do we, with its warning texts (observed with
 * Debian's postqueue -f against a missing endpoint and a regular file).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/mail/params.h"
#include "lib/mail/trigger.h"

/* Fill why (when given) with the formatted text and err's reason, if any. */
static void __attribute__((format(printf, 3, 4)))
trigger_why(struct str *why, int err, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL)
		return;
	str_reset(why);
	va_start(ap, fmt);
	str_vcatfmt(why, fmt, ap);
	va_end(ap);
	if (err)
		str_catfmt(why, ": %s", strerror(err));
}

/*
 * Write to a fifo without dying of SIGPIPE when its reader goes away
 * between our open() and write(): block the signal, and take back one
 * that our write raised.
 */
static ssize_t
trigger_fifo_write(int fd, const void *buf, size_t len)
{
	static const struct timespec zero;
	sigset_t pipe_set, old_set, pending;
	bool was_pending;
	ssize_t n;
	int saved;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE) == 1;
	sigprocmask(SIG_BLOCK, &pipe_set, &old_set);
	n = write(fd, buf, len);
	saved = errno;
	if (n < 0 && saved == EPIPE && !was_pending)
		(void)sigtimedwait(&pipe_set, NULL, &zero);
	sigprocmask(SIG_SETMASK, &old_set, NULL);
	errno = saved;
	return n;
}

int
trigger_send(const char *path, const void *buf, size_t len, struct str *why)
{
	const char *p = buf;
	struct stat st;
	bool fifo;
	ssize_t n;
	int fd;

	if (stat(path, &st) < 0) {
		trigger_why(why, errno, "unable to look up %s", path);
		return TRIGGER_ERR_LOOKUP;
	}
	if (S_ISSOCK(st.st_mode)) {
		fifo = false;
		/*
		 * A listener whose backlog is full has wakeups enough waiting:
		 * fail at once (EAGAIN), as Postfix's unix_trigger() does,
		 * instead of keeping a busy cleanup from its next message.
		 */
		if ((fd = sock_unix_connect(path, -1, why)) < 0)
			return TRIGGER_ERR_SEND;
	} else if (S_ISFIFO(st.st_mode)) {
		fifo = true;
		if ((fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
			trigger_why(why, errno, "open %s", path);
			return TRIGGER_ERR_SEND;
		}
	} else {
		trigger_why(why, 0, "%s is not a socket or a fifo", path);
		return TRIGGER_ERR_LOOKUP;
	}
	while (len > 0) {
		if (fifo)
			n = trigger_fifo_write(fd, p, len);
		else
			n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			trigger_why(why, n < 0 ? errno : EIO, "write to %s",
			    path);
			(void)close(fd);
			return TRIGGER_ERR_SEND;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0 && errno != EINTR) {
		trigger_why(why, errno, "close %s", path);
		return TRIGGER_ERR_SEND;
	}
	return 0;
}
