/*
 * sock_test - unit tests for sock: TCP on 127.0.0.1 and ::1 (port 0),
 * UNIX-domain sockets in a temporary directory, descriptor passing.
 * Nothing listens on any address but the loopback ones.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/test.h"

static char tmpdir[] = "/tmp/sock_test.XXXXXX";

static bool
is_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	return flags >= 0 && (flags & FD_CLOEXEC);
}

static bool
is_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags >= 0 && (flags & O_NONBLOCK);
}

/* The port a listener got, as a string. */
static void
bound_port(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int port = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		port = ntohs(ss.ss_family == AF_INET6
				 ? ((struct sockaddr_in6 *)&ss)->sin6_port
				 : ((struct sockaddr_in *)&ss)->sin_port);
	snprintf(buf, size, "%d", port);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connect to host port, accept, check the peer and a byte each way. */
static void
check_pair(struct test *t, int lfd, const char *host, const char *port,
    const char *peer, int family)
{
	struct str *why = str_new(0);
	char buf[64];
	int cfd, afd;

	cfd = sock_inet_connect(host, port, 2000, why);
	TEST_TRUE(t, cfd >= 0);
	if (cfd < 0) {
		TEST_STR(t, str_ptr(why), "");
		str_free(why);
		return;
	}
	afd = sock_accept(lfd);
	TEST_TRUE(t, afd >= 0);
	TEST_TRUE(t, is_cloexec(cfd) && is_cloexec(afd));
	TEST_TRUE(t, !is_nonblock(cfd));
	TEST_INT(t, sock_peer_addr(afd, buf, sizeof(buf)), family);
	TEST_STR(t, buf, peer);
	TEST_INT(t, write(cfd, "x", 1), 1);
	TEST_INT(t, read(afd, buf, 1), 1);
	close(cfd);
	close(afd);
	str_free(why);
}

static void
test_inet_v4(struct test *t)
{
	struct str *why = str_new(0);
	char port[16], want[100];
	int lfd, fd;

	lfd = sock_inet_listen("127.0.0.1", "0", 10, why);
	TEST_TRUE(t, lfd >= 0);
	if (lfd < 0)
		goto out;
	TEST_TRUE(t, is_cloexec(lfd));
	bound_port(lfd, port, sizeof(port));
	TEST_TRUE(t, atoi(port) > 0);
	check_pair(t, lfd, "127.0.0.1", port, "127.0.0.1", AF_INET);
	check_pair(t, lfd, "[127.0.0.1]", port, "127.0.0.1", AF_INET);

	/* The port is taken, SO_REUSEADDR or not. */
	TEST_INT(t, sock_inet_listen("[127.0.0.1]", port, 10, why), -1);
	snprintf(want, sizeof(want),
	    "bind 127.0.0.1 port %s: Address already in use", port);
	TEST_STR(t, str_ptr(why), want);

	/* Nobody listening any more. */
	close(lfd);
	TEST_INT(t, sock_inet_connect("127.0.0.1", port, 1000, why), -1);
	snprintf(want, sizeof(want),
	    "connect to 127.0.0.1[127.0.0.1]:%s: Connection refused", port);
	TEST_STR(t, str_ptr(why), want);
	TEST_INT(t, errno, ECONNREFUSED);

	/* A listener can take the port again at once (SO_REUSEADDR). */
	fd = sock_inet_listen("127.0.0.1", port, 10, why);
	TEST_TRUE(t, fd >= 0);
	if (fd >= 0)
		close(fd);
out:
	str_free(why);
}

static void
test_inet_bad(struct test *t)
{
	static const struct {
		const char *host, *port, *why;
	} bad[] = {
		{ "[::1", "25", "malformed host address: [::1" },
		{ "[]", "25", "malformed host address: []" },
		{ "[::1]]", "25", "malformed host address: [::1]]" },
		{ "[1]2]", "25", "malformed host address: [1]2]" },
		{ "127.0.0.1", "", "missing port for host 127.0.0.1" },
		{ "127.0.0.1", NULL, "missing port for host 127.0.0.1" },
		{ "[127.0.0.256]", "25", NULL },
		{ "127.0.0.1", "no-such-service-here", NULL },
		{ "127.0.0.1", "99999", "bad port number: 99999" },
		{ "127.0.0.1", "000000000000000000025",
		    "bad port number: 000000000000000000025" },
	};
	struct str *why = str_new(0);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		str_reset(why);
		TEST_INT(t, sock_inet_listen(bad[i].host, bad[i].port, 1, why),
		    -1);
		if (bad[i].why)
			TEST_STR(t, str_ptr(why), bad[i].why);
		else
			TEST_TRUE(t, str_len(why) > 0);
		TEST_INT(t,
		    sock_inet_connect(bad[i].host, bad[i].port, 100, NULL), -1);
	}
	TEST_INT(t, sock_inet_connect(NULL, "25", 100, why), -1);
	TEST_STR(t, str_ptr(why), "missing host for port 25");
	TEST_INT(t, sock_inet_connect("", "25", 100, why), -1);
	str_free(why);
}

static void
test_inet_v6(struct test *t)
{
	struct str *why = str_new(0);
	char port[16];
	int lfd;

	lfd = sock_inet_listen("[::1]", "0", 10, why);
	if (lfd < 0) {
		printf("  inet_v6: skipped, no IPv6 loopback: %s\n",
		    str_ptr(why));
		str_free(why);
		return;
	}
	bound_port(lfd, port, sizeof(port));
	check_pair(t, lfd, "::1", port, "::1", AF_INET6);
	check_pair(t, lfd, "[::1]", port, "::1", AF_INET6);
	close(lfd);

	/* An IPv4-mapped peer is shown as IPv4, as Postfix does. */
	lfd = sock_inet_listen("127.0.0.1", "0", 10, why);
	TEST_TRUE(t, lfd >= 0);
	if (lfd >= 0) {
		char buf[64];
		int cfd, afd;

		bound_port(lfd, port, sizeof(port));
		cfd = sock_inet_connect("::ffff:127.0.0.1", port, 2000, why);
		if (cfd >= 0) {
			TEST_INT(t, sock_peer_addr(cfd, buf, sizeof(buf)),
			    AF_INET);
			TEST_STR(t, buf, "127.0.0.1");
			/* Too small a buffer fails, it does not overflow. */
			TEST_INT(t, sock_peer_addr(cfd, buf, 5), -1);
			afd = sock_accept(lfd);
			TEST_TRUE(t, afd >= 0);
			close(afd);
			close(cfd);
		} else
			printf("  inet_v6: mapped part skipped: %s\n",
			    str_ptr(why));
		close(lfd);
	}
	str_free(why);
}

static void
test_unix(struct test *t)
{
	struct str *why = str_new(0), *path = str_new(0), *want = str_new(0);
	char buf[64], longname[200];
	struct stat sb;
	int lfd, cfd, afd, fd;

	str_fmt(path, "%s/smtpd", tmpdir);
	lfd = sock_unix_listen(str_ptr(path), 10, 0620, why);
	TEST_TRUE(t, lfd >= 0);
	TEST_TRUE(t, is_cloexec(lfd));
	TEST_INT(t, lstat(str_ptr(path), &sb), 0);
	TEST_TRUE(t, S_ISSOCK(sb.st_mode));
	TEST_INT(t, sb.st_mode & 07777, 0620);
	cfd = sock_unix_connect(str_ptr(path), 1000, why);
	TEST_TRUE(t, cfd >= 0);
	afd = sock_accept(lfd);
	TEST_TRUE(t, afd >= 0 && is_cloexec(afd) && is_cloexec(cfd));
	TEST_TRUE(t, !is_nonblock(cfd));
	TEST_INT(t, sock_peer_addr(afd, buf, sizeof(buf)), AF_UNIX);
	TEST_STR(t, buf, "local");
	TEST_INT(t, sock_peer_addr(afd, buf, 3), -1);
	close(cfd);
	close(afd);
	close(lfd);

	/* A stale socket is replaced. */
	lfd = sock_unix_listen(str_ptr(path), 10, 0666, why);
	TEST_TRUE(t, lfd >= 0);
	TEST_INT(t, lstat(str_ptr(path), &sb), 0);
	TEST_INT(t, sb.st_mode & 07777, 0666);
	close(lfd);
	TEST_INT(t, unlink(str_ptr(path)), 0);

	/* Nobody there. */
	TEST_INT(t, sock_unix_connect(str_ptr(path), 100, why), -1);
	str_fmt(want, "connect to %s: No such file or directory",
	    str_ptr(path));
	TEST_STR(t, str_ptr(why), str_ptr(want));

	/* A file or a symlink in the way is refused and left alone. */
	fd = open(str_ptr(path), O_WRONLY | O_CREAT | O_EXCL, 0600);
	TEST_TRUE(t, fd >= 0);
	close(fd);
	TEST_INT(t, sock_unix_listen(str_ptr(path), 10, 0666, why), -1);
	str_fmt(want, "%s: file exists and is not a socket", str_ptr(path));
	TEST_STR(t, str_ptr(why), str_ptr(want));
	TEST_INT(t, lstat(str_ptr(path), &sb), 0);
	TEST_TRUE(t, S_ISREG(sb.st_mode));
	str_fmt(want, "%s/link", tmpdir);
	TEST_INT(t, symlink(str_ptr(path), str_ptr(want)), 0);
	TEST_INT(t, sock_unix_listen(str_ptr(want), 10, 0666, NULL), -1);
	TEST_INT(t, errno, EEXIST);
	TEST_INT(t, lstat(str_ptr(want), &sb), 0);
	TEST_TRUE(t, S_ISLNK(sb.st_mode));
	unlink(str_ptr(want));
	unlink(str_ptr(path));

	/* Names that do not fit or are empty. */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = 0;
	TEST_INT(t, sock_unix_listen(longname, 10, 0666, why), -1);
	TEST_TRUE(t,
	    strncmp(str_ptr(why), "unix-domain name too long: ", 27) == 0);
	TEST_INT(t, sock_unix_connect(longname, 100, why), -1);
	TEST_INT(t, errno, ENAMETOOLONG);
	TEST_INT(t, sock_unix_connect("", 100, why), -1);
	TEST_STR(t, str_ptr(why), "unix-domain name empty: ");
	str_free(why);
	str_free(path);
	str_free(want);
}

/* A listener that never accepts: connecting times out, not hangs. */
static void
test_unix_timeout(struct test *t)
{
	struct str *why = str_new(0), *path = str_new(0);
	int lfd, fds[20], n = 0, failed = 0;
	long long start = 0;

	str_fmt(path, "%s/busy", tmpdir);
	lfd = sock_unix_listen(str_ptr(path), 0, 0600, why);
	TEST_TRUE(t, lfd >= 0);
	while (n < 20) {
		start = now_ms();
		if ((fds[n] = sock_unix_connect(str_ptr(path), 100, why)) < 0) {
			failed = 1;
			break;
		}
		n++;
	}
	TEST_INT(t, failed, 1);
	TEST_INT(t, errno, ETIMEDOUT);
	TEST_TRUE(t, now_ms() - start >= 95 && now_ms() - start < 2000);
	while (n > 0)
		close(fds[--n]);
	close(lfd);
	unlink(str_ptr(path));
	str_free(why);
	str_free(path);
}

static void
test_unix_dgram(struct test *t)
{
	struct str *why = str_new(0), *path = str_new(0);
	struct sockaddr_un sun;
	struct stat sb;
	char buf[32];
	int fd, cfd;

	str_fmt(path, "%s/postlog", tmpdir);
	fd = sock_unix_dgram_listen(str_ptr(path), why);
	TEST_TRUE(t, fd >= 0 && is_cloexec(fd));
	TEST_INT(t, lstat(str_ptr(path), &sb), 0);
	TEST_INT(t, sb.st_mode & 07777, 0666);
	cfd = socket(AF_UNIX, SOCK_DGRAM, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", str_ptr(path));
	TEST_INT(t,
	    sendto(cfd, "hello", 5, 0, (struct sockaddr *)&sun, sizeof(sun)),
	    5);
	TEST_INT(t, recv(fd, buf, sizeof(buf), 0), 5);
	TEST_TRUE(t, memcmp(buf, "hello", 5) == 0);
	close(cfd);
	close(fd);
	/* Rebinding over the stale socket works. */
	fd = sock_unix_dgram_listen(str_ptr(path), why);
	TEST_TRUE(t, fd >= 0);
	close(fd);
	unlink(str_ptr(path));
	str_free(why);
	str_free(path);
}

/* Send a message with the given payload size and descriptors. */
static ssize_t
send_raw(int sock, size_t len, const int *fds, int nfds)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} u;
	struct msghdr msg;
	struct cmsghdr *cmsg;
	struct iovec iov;
	char data[4] = "abc";

	memset(&msg, 0, sizeof(msg));
	memset(&u, 0, sizeof(u));
	iov.iov_base = data;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	return sendmsg(sock, &msg, 0);
}

/* The lowest free descriptor number: unchanged if nothing leaked. */
static int
lowest_free(void)
{
	int fd = dup(0), r = fd;

	close(fd);
	return r;
}

static void
test_fd_passing(struct test *t)
{
	int sp[2], p[2], fd, fds[2], low;
	char c = 0;

	TEST_INT(t, socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	TEST_INT(t, pipe(p), 0);
	TEST_INT(t, sock_send_fd(sp[0], p[1]), 0);
	fd = sock_recv_fd(sp[1]);
	TEST_TRUE(t, fd >= 0 && fd != p[1]);
	TEST_TRUE(t, is_cloexec(fd));
	TEST_INT(t, write(fd, "z", 1), 1);
	TEST_INT(t, read(p[0], &c, 1), 1);
	TEST_INT(t, c, 'z');
	close(fd);

	/* A byte without a descriptor. */
	low = lowest_free();
	TEST_INT(t, send_raw(sp[0], 1, NULL, 0), 1);
	TEST_INT(t, sock_recv_fd(sp[1]), -1);
	TEST_INT(t, errno, EBADMSG);

	/* Two descriptors in one message: refused, neither leaks. */
	fds[0] = p[0];
	fds[1] = p[1];
	TEST_INT(t, send_raw(sp[0], 1, fds, 2), 1);
	TEST_INT(t, sock_recv_fd(sp[1]), -1);
	TEST_INT(t, errno, EBADMSG);
	TEST_INT(t, lowest_free(), low);

	/* The optional form: the byte alone, a descriptor, two refused. */
	TEST_INT(t, sock_send_fd(sp[0], -1), 0);
	fd = 99;
	TEST_INT(t, sock_recv_fd_opt(sp[1], &fd), 0);
	TEST_INT(t, fd, -1);
	TEST_INT(t, sock_send_fd(sp[0], p[1]), 0);
	TEST_INT(t, sock_recv_fd_opt(sp[1], &fd), 0);
	TEST_TRUE(t, fd >= 0 && is_cloexec(fd));
	close(fd);
	TEST_INT(t, send_raw(sp[0], 1, fds, 2), 1);
	TEST_INT(t, sock_recv_fd_opt(sp[1], &fd), -1);
	TEST_INT(t, errno, EBADMSG);
	TEST_INT(t, lowest_free(), low);

	/* EOF. */
	close(sp[0]);
	TEST_INT(t, sock_recv_fd(sp[1]), -1);
	TEST_INT(t, errno, EPIPE);
	TEST_INT(t, sock_send_fd(sp[1], p[0]), -1);
	TEST_INT(t, errno, EPIPE);
	close(sp[1]);

	/* Datagrams: an empty message with a descriptor is refused too. */
	TEST_INT(t, socketpair(AF_UNIX, SOCK_DGRAM, 0, sp), 0);
	TEST_INT(t, send_raw(sp[0], 0, fds, 1), 0);
	TEST_INT(t, sock_recv_fd(sp[1]), -1);
	TEST_INT(t, lowest_free(), low);
	TEST_INT(t, send_raw(sp[0], 3, fds, 1), 3);
	TEST_INT(t, sock_recv_fd(sp[1]), -1);
	TEST_INT(t, errno, EBADMSG);
	TEST_INT(t, lowest_free(), low);
	close(sp[0]);
	close(sp[1]);
	close(p[0]);
	close(p[1]);
	TEST_INT(t, sock_recv_fd(-1), -1);
}

static void
test_flags(struct test *t)
{
	int p[2];

	TEST_INT(t, pipe(p), 0);
	TEST_TRUE(t, !is_cloexec(p[0]) && !is_nonblock(p[0]));
	TEST_INT(t, sock_cloexec(p[0], true), 0);
	TEST_INT(t, sock_nonblock(p[0], true), 0);
	TEST_TRUE(t, is_cloexec(p[0]) && is_nonblock(p[0]));
	TEST_INT(t, sock_cloexec(p[0], false), 0);
	TEST_INT(t, sock_nonblock(p[0], false), 0);
	TEST_TRUE(t, !is_cloexec(p[0]) && !is_nonblock(p[0]));
	close(p[0]);
	close(p[1]);
	TEST_INT(t, sock_nonblock(p[0], true), -1);
	TEST_INT(t, sock_cloexec(p[0], true), -1);
	TEST_INT(t, sock_peer_addr(p[0], NULL, 0), -1);
}

static const struct test_case cases[] = {
	{ "inet_v4", test_inet_v4 },
	{ "inet_bad", test_inet_bad },
	{ "inet_v6", test_inet_v6 },
	{ "unix", test_unix },
	{ "unix_timeout", test_unix_timeout },
	{ "unix_dgram", test_unix_dgram },
	{ "fd_passing", test_fd_passing },
	{ "flags", test_flags },
	{ 0 },
};

int
main(void)
{
	int rc;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	rc = test_main(__FILE__, cases);
	rmdir(tmpdir);
	return rc;
}
