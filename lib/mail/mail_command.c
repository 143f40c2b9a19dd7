/*
 * mail_command - run a command for a delivery agent (see mail_command.h).
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/str.h"
#include "lib/mail/mail_command.h"
#include "lib/mail/mail_copy.h"

int
mail_command_start(struct mail_command *c, void (*child)(void *), void *ctx,
    struct str *why)
{
	int in[2], out[2];

	c->in = c->out = -1;
	c->pid = -1;
	c->timeout = false;
	c->status = 0;
	c->output = str_new(0);
	if (pipe2(in, O_CLOEXEC) < 0) {
		str_fmt(why, "pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) < 0) {
		str_fmt(why, "pipe: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		return -1;
	}
	if ((c->pid = fork()) < 0) {
		str_fmt(why, "fork: %s", strerror(errno));
		for (int i = 0; i < 2; i++) {
			close(in[i]);
			close(out[i]);
		}
		return -1;
	}
	if (c->pid == 0) {
		(void)setsid();
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(out[1], 2) < 0)
			_exit(75);
		for (int fd = 3; fd < 256; fd++)
			(void)close(fd);
		(void)signal(SIGPIPE, SIG_DFL);
		(void)signal(SIGHUP, SIG_DFL);
		child(ctx);
		_exit(75);
	}
	close(in[0]);
	close(out[1]);
	c->in = in[1];
	c->out = out[0];
	(void)fcntl(c->in, F_SETFL, O_NONBLOCK);
	(void)fcntl(c->out, F_SETFL, O_NONBLOCK);
	return 0;
}

/* The output, as much as output_max allows, until end of file. */
static void
mail_command_read(struct mail_command *c)
{
	char buf[4096];

	while (!c->timeout) {
		struct pollfd pfd = { .fd = c->out, .events = POLLIN };
		long wait = c->deadline - mail_now_ms();
		ssize_t n;
		size_t room = c->output_max - str_len(c->output);

		if (wait <= 0 || poll(&pfd, 1, (int)wait) == 0) {
			c->timeout = true;
			break;
		}
		n = read(c->out, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		str_catn(c->output, buf, (size_t)n < room ? (size_t)n : room);
	}
}

void
mail_command_finish(struct mail_command *c, bool timed_out)
{
	bool reaped = false;

	c->timeout = timed_out;
	close(c->in);
	c->in = -1;
	mail_command_read(c);
	close(c->out);
	c->out = -1;
	while (!c->timeout && !reaped) {
		pid_t r = waitpid(c->pid, &c->status, WNOHANG);

		if (r == c->pid)
			reaped = true;
		else if (r < 0 && errno != EINTR)
			break;
		else if (mail_now_ms() >= c->deadline)
			c->timeout = true;
		else
			usleep(10000);
	}
	if (!reaped) {
		(void)kill(-c->pid, SIGKILL);
		(void)kill(c->pid, SIGKILL);
		(void)waitpid(c->pid, &c->status, 0);
	}
	for (size_t i = 0; i < str_len(c->output); i++) {
		unsigned char ch = (unsigned char)str_ptr(c->output)[i];

		if (ch < 0x20 || ch == 0x7f)
			str_ptr(c->output)[i] = ' ';
	}
}

void
mail_command_free(struct mail_command *c)
{
	str_free(c->output);
	c->output = NULL;
}
