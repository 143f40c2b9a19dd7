/*
 * master_listen - the listening sockets master opens for its services.
 *
 * master opens every endpoint itself, as root and before any child runs, so
 * that unprivileged, chrooted children can serve port 25 and sockets under
 * private/ and public/.  Paths are relative to queue_directory, master's
 * working directory.  UNIX-domain sockets are mode 0666: the mode of
 * private/ (0700) and public/ (0710, group setgid_group) decides who may
 * connect, as in Postfix.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/mail/params.h"
#include "master.h"

/* A fifo opened for reading and writing never reports end-of-file. */
static int
master_fifo_listen(const char *path, struct str *why)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) == 0 && !S_ISFIFO(st.st_mode)) {
		str_fmt(why, "%s: not a fifo", path);
		return -1;
	}
	if (mkfifo(path, 0622) < 0 && errno != EEXIST) {
		str_fmt(why, "mkfifo %s: %s", path, strerror(errno));
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)) <
	    0) {
		str_fmt(why, "open %s: %s", path, strerror(errno));
		return -1;
	}
	(void)fchmod(fd, 0622);
	return fd;
}

static void
master_listen_add(struct master_serv *s, int fd)
{
	s->listen_fds =
	    xreallocarray(s->listen_fds, (size_t)s->nlisten + 1, sizeof(int));
	s->listen_fds[s->nlisten++] = fd;
}

/* Open the service's endpoints: 0, or -1 with why (nothing left open). */
int
master_listen_open(struct master_serv *s, struct str *why)
{
	int backlog = s->max_proc > var_default_process_limit
			  ? s->max_proc
			  : var_default_process_limit;
	int fd = -1;

	if (backlog < 16)
		backlog = 16;
	switch (s->type) {
	case MCF_INET:
		for (size_t i = 0; i < s->addrs->argc; i++) {
			fd = sock_inet_listen(s->addrs->argv[i], s->endpoint,
			    backlog, why);
			if (fd < 0) {
				master_listen_close(s);
				return -1;
			}
			master_listen_add(s, fd);
		}
		return 0;
	case MCF_UNIX:
	case MCF_PASS:
		fd = sock_unix_listen(s->endpoint, backlog, 0666, why);
		break;
	case MCF_UNIX_DGRAM:
		fd = sock_unix_dgram_listen(s->endpoint, why);
		break;
	case MCF_FIFO:
		fd = master_fifo_listen(s->endpoint, why);
		break;
	}
	if (fd < 0)
		return -1;
	master_listen_add(s, fd);
	return 0;
}

void
master_listen_close(struct master_serv *s)
{
	for (int i = 0; i < s->nlisten; i++)
		(void)close(s->listen_fds[i]);
	s->nlisten = 0;
	free(s->listen_fds);
	s->listen_fds = NULL;
}

/* Would b listen where a does?  Then a reload hands a's sockets over. */
bool
master_listen_same(const struct master_serv *a, const struct master_serv *b)
{
	if (strcmp(a->key, b->key) != 0 || strcmp(a->endpoint, b->endpoint))
		return false;
	if (a->addrs == NULL || b->addrs == NULL)
		return a->addrs == b->addrs;
	if (a->addrs->argc != b->addrs->argc)
		return false;
	for (size_t i = 0; i < a->addrs->argc; i++)
		if (strcmp(a->addrs->argv[i], b->addrs->argv[i]) != 0)
			return false;
	return true;
}
