/*
 * fdio_test - fdio_write() delivers everything, and reports a closed pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/fdio.h"
#include "lib/util/test.h"

/* More than a pipe holds at once, read back by a child-free reader. */
static void
test_all_bytes(struct test *t)
{
	static char buf[200000], got[200000];
	int fds[2];
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7);
	TEST_INT(t, pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		_exit(fdio_write(fds[1], buf, sizeof(buf)) == 0 ? 0 : 1);
	}
	close(fds[1]);
	while ((r = read(fds[0], got + n, sizeof(got) - n)) > 0)
		n += (size_t)r;
	close(fds[0]);
	TEST_INT(t, n, sizeof(buf));
	TEST_TRUE(t, memcmp(buf, got, sizeof(buf)) == 0);
}

static void
test_closed_pipe(struct test *t)
{
	int fds[2];

	signal(SIGPIPE, SIG_IGN);
	TEST_INT(t, pipe(fds), 0);
	close(fds[0]);
	TEST_INT(t, fdio_write(fds[1], "x", 1), -1);
	TEST_INT(t, errno, EPIPE);
	close(fds[1]);
}

static const struct test_case cases[] = {
	{ "all_bytes", test_all_bytes },
	{ "closed_pipe", test_closed_pipe },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
