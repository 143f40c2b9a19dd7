/*
 * master_proto - the child's side of the status pipe.
 */
#include <errno.h>
#include <unistd.h>

#include "lib/util/msg.h"
#include "lib/mail/master_proto.h"

/*
 * A status message is smaller than PIPE_BUF, so the write is atomic even
 * though every child of a service shares the pipe.
 */
int
master_notify(unsigned gen, int avail)
{
	struct master_status st = { .pid = getpid(),
		.gen = gen,
		.avail = avail };
	ssize_t n;

	do
		n = write(MASTER_STATUS_FD, &st, sizeof(st));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != sizeof(st))
		msg_warn("sent partial status update");
	return 0;
}
