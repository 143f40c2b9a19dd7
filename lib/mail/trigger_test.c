/*
 * trigger_test - trigger_send() to sockets and fifos, with and without a
 * listener, and its texts for a missing endpoint and a regular file
 * (Postfix 3.7's, observed with Debian's postqueue -f).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/test.h"
#include "lib/mail/trigger.h"

static char tmpdir[] = "/tmp/trigger_test.XXXXXX";

static const char *
path_of(const char *name)
{
	static char path[300];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

/* Everything one accepted connection sends until it closes. */
static void
read_all(int fd, struct str *out)
{
	char buf[64];
	ssize_t n;

	str_reset(out);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		str_catn(out, buf, (size_t)n);
}

static void
test_missing(struct test *t)
{
	struct str *why = str_new(10), *want = str_new(10);

	TEST_INT(t, trigger_send(path_of("nothing"), "W", 1, why),
	    TRIGGER_ERR_LOOKUP);
	str_fmt(want, "unable to look up %s: No such file or directory",
	    path_of("nothing"));
	TEST_STR(t, str_ptr(why), str_ptr(want));
	TEST_INT(t, trigger_send(path_of("nothing"), "W", 1, NULL),
	    TRIGGER_ERR_LOOKUP);
	str_free(why);
	str_free(want);
}

static void
test_regular_file(struct test *t)
{
	struct str *why = str_new(10), *want = str_new(10);
	int fd = open(path_of("file"), O_CREAT | O_WRONLY, 0600);

	TEST_TRUE(t, fd >= 0);
	close(fd);
	TEST_INT(t, trigger_send(path_of("file"), "W", 1, why),
	    TRIGGER_ERR_LOOKUP);
	str_fmt(want, "%s is not a socket or a fifo", path_of("file"));
	TEST_STR(t, str_ptr(why), str_ptr(want));
	str_free(why);
	str_free(want);
}

static void
test_socket(struct test *t)
{
	struct str *why = str_new(10), *got = str_new(10);
	int lfd, conn;

	lfd = sock_unix_listen(path_of("qmgr"), 10, 0666, why);
	TEST_TRUE(t, lfd >= 0);
	TEST_INT(t, trigger_send(path_of("qmgr"), "FADI", 4, why), 0);
	conn = sock_accept(lfd);
	TEST_TRUE(t, conn >= 0);
	read_all(conn, got);
	TEST_STR(t, str_ptr(got), "FADI");
	TEST_INT(t, str_len(got), 4);
	close(conn);
	close(lfd);

	/* The listener is gone; the socket file stays: connection refused. */
	str_reset(why);
	TEST_INT(t, trigger_send(path_of("qmgr"), "W", 1, why),
	    TRIGGER_ERR_SEND);
	TEST_TRUE(t, strstr(str_ptr(why), "Connection refused") != NULL);
	str_free(why);
	str_free(got);
}

static void
test_fifo(struct test *t)
{
	struct str *why = str_new(10), *want = str_new(10);
	char buf[16];
	int rfd;
	ssize_t n;

	TEST_INT(t, mkfifo(path_of("fifo"), 0622), 0);

	/* No reader: Postfix gives up silently (ENXIO), so must we. */
	TEST_INT(t, trigger_send(path_of("fifo"), "W", 1, why),
	    TRIGGER_ERR_SEND);
	str_fmt(want, "open %s: No such device or address", path_of("fifo"));
	TEST_STR(t, str_ptr(why), str_ptr(want));

	rfd = open(path_of("fifo"), O_RDONLY | O_NONBLOCK);
	TEST_TRUE(t, rfd >= 0);
	TEST_INT(t, trigger_send(path_of("fifo"), "AFD", 3, why), 0);
	n = read(rfd, buf, sizeof(buf));
	TEST_INT(t, n, 3);
	TEST_TRUE(t, n == 3 && memcmp(buf, "AFD", 3) == 0);
	close(rfd);
	str_free(why);
	str_free(want);
}

static const struct test_case cases[] = {
	{ "missing", test_missing },
	{ "regular_file", test_regular_file },
	{ "socket", test_socket },
	{ "fifo", test_fifo },
	{ 0 },
};

int
main(void)
{
	char cmd[300];
	int rc;

	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return 2;
	}
	rc = test_main(__FILE__, cases);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
