/*
 * sock - socket helpers.  See sock.h for the contract.
 *
 * Connections are made non-blocking and waited for with poll() on the one
 * socket, so a timeout bounds each attempt; the socket is put back into
 * blocking mode before it is returned.  Received descriptors are checked
 * strictly: a message must carry one byte and exactly one descriptor, and
 * any extra descriptors are closed rather than leaked.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/sock.h"
#include "lib/util/str.h"

/* Fill why, if the caller wants a reason, keeping errno. */
static void __attribute__((format(printf, 2, 3)))
sock_why(struct str *why, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (why) {
		str_reset(why);
		va_start(ap, fmt);
		str_vcatfmt(why, fmt, ap);
		va_end(ap);
	}
	errno = saved;
}

int
sock_nonblock(int fd, bool on)
{
	int flags;

	if ((flags = fcntl(fd, F_GETFL)) < 0)
		return -1;
	flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, flags) < 0 ? -1 : 0;
}

int
sock_cloexec(int fd, bool on)
{
	int flags;

	if ((flags = fcntl(fd, F_GETFD)) < 0)
		return -1;
	flags = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
	return fcntl(fd, F_SETFD, flags) < 0 ? -1 : 0;
}

static long long
sock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until end (0 = none: -1 for poll), ETIMEDOUT when none. */
static int
sock_left(long long end)
{
	long long left;

	if (end == 0)
		return -1;
	if ((left = end - sock_now_ms()) <= 0) {
		errno = ETIMEDOUT;
		return 0;
	}
	return left > 86400000 ? 86400000 : (int)left;
}

/*
 * Connect fd to sa within ms (0 = no limit).  A UNIX-domain listener with
 * a full backlog makes a non-blocking connect fail with EAGAIN rather than
 * wait; that is retried every 10 ms until the time is up, or fails at once
 * when ms < 0 (a wakeup that a busy service does not need).
 */
static int
sock_connect_wait(int fd, const struct sockaddr *sa, socklen_t len, int ms)
{
	long long end = ms > 0 ? sock_now_ms() + ms : 0;
	struct pollfd pfd;
	socklen_t elen;
	int err, left, n;

	if (sock_nonblock(fd, true) < 0)
		return -1;
	for (;;) {
		if (connect(fd, sa, len) == 0)
			break;
		if (errno == EAGAIN) {
			if (ms < 0 || (left = sock_left(end)) == 0)
				return -1;
			(void)poll(NULL, 0, left < 0 || left > 10 ? 10 : left);
			continue;
		}
		if (errno != EINPROGRESS && errno != EINTR)
			return -1;
		for (;;) {
			if ((left = sock_left(end)) == 0)
				return -1;
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if ((n = poll(&pfd, 1, left)) > 0)
				break;
			if (n < 0 && errno != EINTR)
				return -1;
		}
		elen = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			return -1;
		if (err != 0) {
			errno = err;
			return -1;
		}
		break;
	}
	return sock_nonblock(fd, false);
}

/*
 * Split "[addr]" into addr; NULL or "" means no host.  The result points
 * into buf or host.
 */
static int
sock_host(const char *host, char *buf, size_t size, const char **node,
    bool *bracketed, struct str *why)
{
	size_t len;

	*bracketed = false;
	*node = NULL;
	if (host == NULL || *host == 0)
		return 0;
	if (*host != '[') {
		*node = host;
		return 0;
	}
	len = strlen(host);
	if (len < 3 || host[len - 1] != ']' || len - 2 >= size ||
	    memchr(host + 1, ']', len - 2) != NULL) {
		errno = EINVAL;
		sock_why(why, "malformed host address: %s", host);
		return -1;
	}
	memcpy(buf, host + 1, len - 2);
	buf[len - 2] = 0;
	*node = buf;
	*bracketed = true;
	return 0;
}

static int
sock_resolve(const char *host, const char *port, bool passive,
    struct addrinfo **res, struct str *why)
{
	struct addrinfo hints;
	char buf[NI_MAXHOST];
	const char *node;
	bool bracketed;
	int err;

	if (port == NULL || *port == 0) {
		errno = EINVAL;
		sock_why(why, "missing port for host %s",
		    host ? host : "(all)");
		return -1;
	}
	/* glibc takes "99999" and uses it modulo 65536. */
	if (strspn(port, "0123456789") == strlen(port) &&
	    (strlen(port) > 5 || atoi(port) > 65535)) {
		errno = EINVAL;
		sock_why(why, "bad port number: %s", port);
		return -1;
	}
	if (sock_host(host, buf, sizeof(buf), &node, &bracketed, why) < 0)
		return -1;
	if (node == NULL && !passive) {
		errno = EINVAL;
		sock_why(why, "missing host for port %s", port);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags =
	    (passive ? AI_PASSIVE : 0) | (bracketed ? AI_NUMERICHOST : 0);
	if ((err = getaddrinfo(node, port, &hints, res)) != 0) {
		if (err != EAI_SYSTEM)
			errno = EADDRNOTAVAIL;
		sock_why(why, "%s port %s: %s", node ? node : "(all)", port,
		    err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
		return -1;
	}
	return 0;
}

static void
sock_ntop(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
	if (getnameinfo(sa, len, buf, size, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(buf, size, "(unknown)");
}

static int
sock_listen_one(const struct addrinfo *ai, const char *port, int backlog,
    bool v6only, struct str *why)
{
	char addr[NI_MAXHOST];
	int fd, on = 1, v6 = v6only;

	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		 ai->ai_protocol)) < 0) {
		sock_why(why, "socket: %s", strerror(errno));
		return -1;
	}
	sock_ntop(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    (ai->ai_family == AF_INET6 &&
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof(v6)) <
		    0)) {
		sock_why(why, "setsockopt %s port %s: %s", addr, port,
		    strerror(errno));
		goto fail;
	}
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		sock_why(why, "bind %s port %s: %s", addr, port,
		    strerror(errno));
		goto fail;
	}
	if (listen(fd, backlog) < 0) {
		sock_why(why, "listen %s port %s: %s", addr, port,
		    strerror(errno));
		goto fail;
	}
	return fd;
fail : {
	int saved = errno;

	(void)close(fd);
	errno = saved;
}
	return -1;
}

/*
 * All addresses: one IPv6 socket that also takes IPv4 when the kernel has
 * IPv6, else one IPv4 socket.  A named host: the first of its addresses
 * that works, IPv6 sockets restricted to IPv6 as Postfix does.
 */
int
sock_inet_listen(const char *host, const char *port, int backlog,
    struct str *why)
{
	struct addrinfo *res, *ai;
	bool all = host == NULL || *host == 0;
	int fd = -1;

	if (sock_resolve(host, port, true, &res, why) < 0)
		return -1;
	if (all) {
		for (ai = res; ai && fd < 0; ai = ai->ai_next)
			if (ai->ai_family == AF_INET6) {
				fd = sock_listen_one(ai, port, backlog, false,
				    why);
				if (fd < 0 && errno != EAFNOSUPPORT)
					goto out;
			}
		for (ai = res; ai && fd < 0; ai = ai->ai_next)
			if (ai->ai_family == AF_INET)
				fd = sock_listen_one(ai, port, backlog, false,
				    why);
	} else {
		for (ai = res; ai && fd < 0; ai = ai->ai_next)
			fd = sock_listen_one(ai, port, backlog, true, why);
	}
out:
	freeaddrinfo(res);
	return fd;
}

int
sock_inet_connect(const char *host, const char *port, int ms, struct str *why)
{
	struct addrinfo *res, *ai;
	char addr[NI_MAXHOST];
	int fd = -1, saved;

	if (sock_resolve(host, port, false, &res, why) < 0)
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		sock_ntop(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr));
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			 ai->ai_protocol)) < 0) {
			sock_why(why, "socket: %s", strerror(errno));
			continue;
		}
		if (sock_connect_wait(fd, ai->ai_addr, ai->ai_addrlen, ms) == 0)
			break;
		saved = errno;
		sock_why(why, "connect to %s[%s]:%s: %s", host, addr, port,
		    strerror(saved));
		(void)close(fd);
		fd = -1;
		errno = saved;
	}
	freeaddrinfo(res);
	return fd;
}

static int
sock_unix_addr(const char *path, struct sockaddr_un *sun, struct str *why)
{
	size_t len = path ? strlen(path) : 0;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (len == 0 || len >= sizeof(sun->sun_path)) {
		errno = len ? ENAMETOOLONG : EINVAL;
		sock_why(why, "unix-domain name %s: %s",
		    len ? "too long" : "empty", path ? path : "");
		return -1;
	}
	memcpy(sun->sun_path, path, len + 1);
	return 0;
}

/*
 * Bind a UNIX-domain socket to path with permissions mode.  A socket left
 * at path by an earlier run is removed; anything else (a file, a symlink
 * that someone planted) is refused, never followed or removed.  The umask
 * is narrowed around bind() so that the socket never exists with wider
 * permissions than mode, not even briefly.
 */
static int
sock_unix_bind(int type, const char *path, mode_t mode, struct str *why)
{
	struct sockaddr_un sun;
	struct stat sb;
	mode_t old;
	int fd, r, saved;

	if (sock_unix_addr(path, &sun, why) < 0)
		return -1;
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			errno = EEXIST;
			sock_why(why, "%s: file exists and is not a socket",
			    path);
			return -1;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			sock_why(why, "remove %s: %s", path, strerror(errno));
			return -1;
		}
	} else if (errno != ENOENT) {
		sock_why(why, "lstat %s: %s", path, strerror(errno));
		return -1;
	}
	if ((fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0)) < 0) {
		sock_why(why, "socket: %s", strerror(errno));
		return -1;
	}
	old = umask(~mode & 0777);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	saved = errno;
	umask(old);
	if (r < 0) {
		sock_why(why, "bind %s: %s", path, strerror(saved));
		(void)close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
sock_unix_listen(const char *path, int backlog, mode_t mode, struct str *why)
{
	int fd, saved;

	if ((fd = sock_unix_bind(SOCK_STREAM, path, mode, why)) < 0)
		return -1;
	if (listen(fd, backlog) < 0) {
		saved = errno;
		sock_why(why, "listen %s: %s", path, strerror(saved));
		(void)close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
sock_unix_dgram_listen(const char *path, struct str *why)
{
	return sock_unix_bind(SOCK_DGRAM, path, 0666, why);
}

int
sock_unix_connect(const char *path, int ms, struct str *why)
{
	struct sockaddr_un sun;
	int fd, saved;

	if (sock_unix_addr(path, &sun, why) < 0)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		sock_why(why, "socket: %s", strerror(errno));
		return -1;
	}
	if (sock_connect_wait(fd, (struct sockaddr *)&sun, sizeof(sun), ms) <
	    0) {
		saved = errno;
		sock_why(why, "connect to %s: %s", path, strerror(saved));
		(void)close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
sock_accept(int fd)
{
	int conn;

	do {
		conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	} while (conn < 0 && errno == EINTR);
	return conn;
}

int
sock_send_fd(int sock, int fd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg;
	struct cmsghdr *cmsg;
	struct iovec iov;
	char byte = 0;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	memset(&u, 0, sizeof(u));
	iov.iov_base = &byte;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (fd >= 0) {
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

/*
 * One carrier byte with at most max descriptors wanted: 0 with *fdp the
 * descriptor (-1: none came), or -1 (EPIPE at EOF, EBADMSG for anything
 * else).  Fail closed: a message with more descriptors is refused and
 * every descriptor it brought is closed; the buffer has room for a few
 * extra so that they arrive (and get closed) instead of being dropped by
 * the kernel.
 */
static int
sock_recv_msg(int sock, int *fdp)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * 8)];
	} u;
	struct msghdr msg;
	struct cmsghdr *cmsg;
	struct iovec iov;
	char byte;
	ssize_t n;
	size_t count;
	int fd = -1, extra, nfds = 0;

	*fdp = -1;
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = &byte;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS ||
		    cmsg->cmsg_len < CMSG_LEN(0))
			continue;
		count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			memcpy(&extra, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(int));
			if (nfds++ == 0)
				fd = extra;
			else
				(void)close(extra);
		}
	}
	if (n == 1 && nfds <= 1 &&
	    !(msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) {
		*fdp = fd;
		return 0;
	}
	if (fd >= 0)
		(void)close(fd);
	errno = n == 0 && nfds == 0 ? EPIPE : EBADMSG;
	return -1;
}

int
sock_recv_fd(int sock)
{
	int fd;

	if (sock_recv_msg(sock, &fd) < 0)
		return -1;
	if (fd < 0)
		errno = EBADMSG;
	return fd;
}

int
sock_recv_fd_opt(int sock, int *fdp)
{
	return sock_recv_msg(sock, fdp);
}

int
sock_peer_addr(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	switch (ss.ss_family) {
	case AF_INET:
		return inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t)size)
			   ? AF_INET
			   : -1;
	case AF_INET6:
		/* Postfix shows ::ffff:1.2.3.4 as 1.2.3.4. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			return inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12],
				   buf, (socklen_t)size)
				   ? AF_INET
				   : -1;
		return inet_ntop(AF_INET6, &sin6->sin6_addr, buf,
			   (socklen_t)size)
			   ? AF_INET6
			   : -1;
	case AF_UNIX:
		if (size < sizeof("local")) {
			errno = ENOSPC;
			return -1;
		}
		memcpy(buf, "local", sizeof("local"));
		return AF_UNIX;
	default:
		errno = EAFNOSUPPORT;
		return -1;
	}
}
