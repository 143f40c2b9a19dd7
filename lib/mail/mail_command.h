/*
 * mail_command - run a command for a delivery agent (local's "|command"
 * and mailbox_command, pipe's argv=): a child in a session of its own
 * whose standard input the caller writes the message to, its standard
 * output and error kept up to a limit, all within a deadline.
 *
 * mail_command_start(c, child, ctx, why)
 *     make the pipes and fork.  In the child: standard input, output and
 *     error from the pipes, every other descriptor closed, SIGPIPE and
 *     SIGHUP at their defaults, a new session; then child(ctx), which
 *     must exec or _exit() (75 is the usual "try again").  In the parent
 *     c->in is the command's standard input, non-blocking (write it with
 *     a mail_writer whose deadline is c->deadline).  0, or -1 with why
 *     ("pipe: ...", "fork: ...") and nothing left open.
 * mail_command_finish(c, timed_out)
 *     close the input, read the output until end of file, reap the
 *     child; past the deadline (or when the caller's writes timed out)
 *     kill its process group.  Then c->timeout, c->status (waitpid's,
 *     when !timeout) and c->output (at most output_max bytes, control
 *     characters made spaces) say what happened.
 * mail_command_free(c)  free c->output
 */
#ifndef MAIL_COMMAND_H
#define MAIL_COMMAND_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/util/str.h"

struct mail_command {
	long deadline;     /* mail_now_ms() time limit; set before start */
	size_t output_max; /* output bytes kept; set before start */
	int in;            /* the command's standard input (parent's end) */
	bool timeout;      /* killed at the deadline */
	int status;        /* waitpid() status */
	struct str *output;
	pid_t pid;
	int out; /* the command's output (parent's end) */
};

int mail_command_start(struct mail_command *, void (*)(void *), void *,
    struct str *);
void mail_command_finish(struct mail_command *, bool);
void mail_command_free(struct mail_command *);

#endif
