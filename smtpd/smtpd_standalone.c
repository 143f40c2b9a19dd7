/*
 * smtpd_standalone - smtpd -S on a pipe (sendmail -bs): the session's
 * messages go through "postdrop -r" into the maildrop queue, as Postfix's
 * stand-alone smtpd does, so that each carries the submitting user's uid
 * (pickup adds it) and passes postdrop's checks like any sendmail
 * submission.  Whoever runs sendmail -bs, root included, can put into the
 * queue no more than with sendmail itself: no client attributes, no
 * trusted Received: of its own choosing beyond the message content.
 *
 * smtpd_proto.c opens "public/cleanup" relative to the working directory.
 * Here that directory is a private one (mode 0700) whose public/cleanup
 * socket is served by a child process: it speaks the cleanup protocol to
 * smtpd and postdrop's protocol to one "postdrop -r" per message, passing
 * on only the records postdrop accepts (lib/mail/submit.h).  private/ is a
 * link to the queue directory's, for the services smtpd asks there.
 *
 * The stream that smtpd -S reads and writes is one descriptor, a copy of
 * standard input; on a pipe pair (sendmail -bs from a program) smtpd gets
 * a socket instead, with two pump processes between it and standard
 * input and output.
 *
 * smtpd_standalone_begin(st) set up (as the invoking user); 0 or -1 (logged)
 * smtpd_standalone_end()     stop the child, remove the directory
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/attr.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "lib/mail/submit.h"
#include "smtpd/smtpd.h"

#define SMTPD_SA_ATTR_MAX 4096 /* longest postdrop/smtpd attr list */

static struct str *smtpd_sa_dir;
static pid_t smtpd_sa_child;
static pid_t smtpd_sa_pump_in;

/* Copy from one descriptor to the other until EOF, then exit. */
static void __attribute__((noreturn)) smtpd_sa_pump(int from, int to)
{
	char buf[4096];
	ssize_t n, off, w;

	while ((n = read(from, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (off = 0; off < n; off += w)
			if ((w = write(to, buf + off, (size_t)(n - off))) < 0 &&
			    errno != EINTR)
				_exit(0);
			else if (w < 0)
				w = 0;
	}
	(void)shutdown(to, SHUT_WR);
	_exit(0);
}

/*
 * Give the stream a socket whose other end two pumps connect to standard
 * input (which may be a pipe) and standard output.
 */
static int
smtpd_sa_socket(struct stream *st)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		msg_warn("socketpair: %m");
		return -1;
	}
	if ((smtpd_sa_pump_in = fork()) < 0)
		msg_fatal("fork: %m");
	if (smtpd_sa_pump_in == 0) {
		close(sv[0]);
		close(1);
		smtpd_sa_pump(0, sv[1]);
	}
	if ((pid = fork()) < 0)
		msg_fatal("fork: %m");
	if (pid == 0) {
		close(sv[0]);
		close(0);
		smtpd_sa_pump(sv[1], 1);
	}
	close(sv[1]);
	if (dup3(sv[0], stream_fd(st), O_CLOEXEC) < 0) {
		msg_warn("dup3: %m");
		close(sv[0]);
		return -1;
	}
	close(sv[0]);
	/* only the pumps use standard input and output now */
	if ((sv[1] = open("/dev/null", O_RDWR)) >= 0) {
		(void)dup2(sv[1], 0);
		(void)dup2(sv[1], 1);
		if (sv[1] > 1)
			close(sv[1]);
	}
	return 0;
}

/* Is this envelope record one that postdrop accepts from sendmail? */
static bool
smtpd_sa_pass(int type, const struct str *data)
{
	switch (type) {
	case REC_TYPE_ATTR:
		return strncmp(str_ptr(data), "rewrite_context=", 16) == 0 ||
		       strncmp(str_ptr(data), "encoding=", 9) == 0;
	case REC_TYPE_FROM:
	case REC_TYPE_RCPT:
	case REC_TYPE_MESG:
	case REC_TYPE_NORM:
	case REC_TYPE_CONT:
	case REC_TYPE_XTRA:
	case REC_TYPE_END:
		return true;
	default:
		return false;
	}
}

/* One message: smtpd's cleanup conversation relayed to postdrop. */
static void
smtpd_sa_relay(int fd)
{
	struct stream *client = stream_open(fd), *to = NULL, *from = NULL;
	struct attr_list *al = attr_new();
	struct str *rec = str_new(256);
	const char *id;
	pid_t pid;
	int type, status;
	bool done = false;

	pid = submit_postdrop(&to, &from, "smtpd");
	if (attr_read(from, al, SMTPD_SA_ATTR_MAX) < 0 ||
	    !attr_expect(al, "protocol", POSTDROP_PROTOCOL) ||
	    (id = attr_get(al, "queue_id")) == NULL)
		goto out;
	{
		struct attr_list *greet = attr_new();

		attr_put(greet, "protocol", CLEANUP_PROTOCOL);
		attr_put(greet, "queue_id", id);
		status = attr_write(client, greet);
		attr_free(greet);
		if (status < 0 || stream_flush(client) < 0)
			goto out;
	}
	attr_reset(al);
	if (attr_read(client, al, SMTPD_SA_ATTR_MAX) < 0) /* flags */
		goto out;
	while ((type = rec_get(client, rec,
		    (size_t)var_line_length_limit + 1024)) > 0) {
		if (!smtpd_sa_pass(type, rec))
			continue;
		if (rec_put(to, type, str_ptr(rec), str_len(rec)) < 0)
			break;
		if (type == REC_TYPE_END) {
			done = true;
			break;
		}
	}
	if (!done)
		goto out; /* smtpd gave up: postdrop removes its file */
	attr_reset(al);
	if (stream_flush(to) < 0 ||
	    attr_read(from, al, SMTPD_SA_ATTR_MAX) < 0 ||
	    !attr_expect(al, "status", "0")) {
		struct attr_list *reply = attr_new();
		const char *why = attr_get(al, "reason");

		attr_put_long(reply, "status", CLEANUP_STAT_WRITE);
		attr_put(reply, "reason", why ? why : "");
		(void)attr_write(client, reply);
		attr_free(reply);
	} else {
		struct attr_list *reply = attr_new();

		attr_put_long(reply, "status", 0);
		attr_put(reply, "reason", "");
		(void)attr_write(client, reply);
		attr_free(reply);
	}
	(void)stream_flush(client);
out:
	stream_close(to);
	stream_close(from);
	stream_close(client);
	if (pid > 0)
		(void)waitpid(pid, &status, 0);
	attr_free(al);
	str_free(rec);
}

int
smtpd_standalone_begin(struct stream *st)
{
	struct str *path = str_new(100), *why = str_new(100);
	char tmpl[] = "/tmp/postern-smtpd.XXXXXX";
	int lfd, fd, rc = -1;

	if (smtpd_sa_socket(st) < 0)
		goto out;
	if (mkdtemp(tmpl) == NULL) {
		msg_warn("mkdtemp %s: %m", tmpl);
		goto out;
	}
	smtpd_sa_dir = str_new(64);
	str_set(smtpd_sa_dir, tmpl);
	str_fmt(path, "%s/public", tmpl);
	if (mkdir(str_ptr(path), 0700) < 0) {
		msg_warn("mkdir %s: %m", str_ptr(path));
		goto out;
	}
	str_fmt(path, "%s/private", tmpl);
	str_fmt(why, "%s/private", var_queue_directory);
	if (symlink(str_ptr(why), str_ptr(path)) < 0) {
		msg_warn("symlink %s: %m", str_ptr(path));
		goto out;
	}
	str_fmt(path, "%s/public/cleanup", tmpl);
	if ((lfd = sock_unix_listen(str_ptr(path), 1, 0600, why)) < 0) {
		msg_warn("%s", str_ptr(why));
		goto out;
	}
	if ((smtpd_sa_child = fork()) < 0)
		msg_fatal("fork: %m");
	if (smtpd_sa_child == 0) {
		/* not the SMTP client's pipe: its EOF must not wait for us */
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			(void)dup2(fd, 0);
			(void)dup2(fd, 1);
			if (fd > 1)
				close(fd);
		}
		/* one message at a time, until smtpd is done */
		while ((fd = sock_accept(lfd)) >= 0)
			smtpd_sa_relay(fd);
		_exit(0);
	}
	close(lfd);
	if (chdir(tmpl) < 0) {
		msg_warn("chdir %s: %m", tmpl);
		goto out;
	}
	rc = 0;
out:
	str_free(path);
	str_free(why);
	return rc;
}

void
smtpd_standalone_end(void)
{
	struct str *path;
	int status;

	if (smtpd_sa_pump_in > 0) {
		(void)kill(smtpd_sa_pump_in, SIGTERM);
		(void)waitpid(smtpd_sa_pump_in, &status, 0);
		smtpd_sa_pump_in = 0;
	}
	if (smtpd_sa_child > 0) {
		(void)kill(smtpd_sa_child, SIGTERM);
		(void)waitpid(smtpd_sa_child, &status, 0);
		smtpd_sa_child = 0;
	}
	if (smtpd_sa_dir == NULL)
		return;
	path = str_new(100);
	str_fmt(path, "%s/public/cleanup", str_ptr(smtpd_sa_dir));
	(void)unlink(str_ptr(path));
	str_fmt(path, "%s/public", str_ptr(smtpd_sa_dir));
	(void)rmdir(str_ptr(path));
	str_fmt(path, "%s/private", str_ptr(smtpd_sa_dir));
	(void)unlink(str_ptr(path));
	(void)rmdir(str_ptr(smtpd_sa_dir));
	smtpd_sa_dir = str_free(smtpd_sa_dir);
	str_free(path);
}
