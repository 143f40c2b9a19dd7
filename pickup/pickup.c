/*
 * pickup - move locally submitted mail from maildrop/ into the queue.
 * Run by master (DAEMON_TRIGGER, one process, woken by postdrop's "W" and
 * master's 60-second timer), as mail_owner, in queue_directory.
 * Reads maildrop files, which local users made through postdrop but which
 * sit in a directory they can write to: a file counts only when it is a
 * regular file with one link, opened without following symlinks, and has
 * its complete mark; its records are checked against lib/mail/submit.h
 * before any of them goes to cleanup, so a forged record never reaches
 * the queue.  Talks to cleanup (public/cleanup) and adds what only it may
 * say: submit_uid (the file owner) and the local rewrite context.  The
 * file is removed once cleanup has the message safely on disk; a
 * malformed one goes to corrupt/; on a temporary failure it stays for the
 * next scan.  Logs "QID: uid=N from=<sender>" as Postfix's pickup.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/daemon.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/record.h"
#include "lib/mail/submit.h"
#include "lib/mail/smtputf8.h"

/* Local submissions may be bounced, filtered, mapped and BCC'ed. */
#define PICKUP_CLEANUP_FLAGS                                                   \
	(CLEANUP_FLAG_BOUNCE | CLEANUP_FLAG_FILTER | CLEANUP_FLAG_BCC_OK |     \
	    CLEANUP_FLAG_MAP_OK)

/* What became of one maildrop file. */
enum pickup_result {
	PICKUP_DONE,  /* queued (or not ours to take: skipped) */
	PICKUP_RETRY, /* temporary trouble: leave it, stop this scan */
};

/*
 * Read every record once to check it; the sender comes out for the log.
 * 0, or -1 with why.
 */
static int
pickup_check(struct stream *st, struct submit_state *state, struct str *why)
{
	struct str *buf = str_new(256);
	int type, rc = -1;

	while (!submit_done(state)) {
		type = rec_get(st, buf, (size_t)var_line_length_limit);
		if (type < 0) {
			str_set(why, type == REC_EOF || type == REC_TRUNC
					 ? "unexpected end of file"
				     : type == REC_TOOLONG ? "record too long"
				     : type == REC_BADTYPE ? "bad record type"
							   : "read error");
			goto out;
		}
		if (submit_check(state, type, str_ptr(buf), str_len(buf), why) <
		    0)
			goto out;
	}
	/* Nothing may follow E. */
	if (stream_read(st, str_ptr(buf), 1) != 0) {
		str_set(why, "data after the end record");
		goto out;
	}
	rc = 0;
out:
	str_free(buf);
	return rc;
}

/*
 * Copy the checked file to cleanup, adding submit_uid first and the
 * rewrite context before the sender when sendmail gave none.  0, or -1
 * on a read error (the file was checked, so it changed under us).
 */
static int
pickup_copy(struct stream *st, struct stream *out, uid_t uid)
{
	struct str *buf = str_new(256);
	bool have_context = false, env = true, have_uid = false;
	int type;

	do {
		type = rec_get(st, buf, (size_t)var_line_length_limit);
		if (type < 0) {
			str_free(buf);
			return -1;
		}
		/* After postdrop's T (with microseconds), which comes first. */
		if (!have_uid && type != REC_TYPE_TIME) {
			rec_fmt(out, REC_TYPE_ATTR, "submit_uid=%ld",
			    (long)uid);
			have_uid = true;
		}
		if (env && type == REC_TYPE_ATTR &&
		    strncmp(str_ptr(buf), "rewrite_context=", 16) == 0)
			have_context = true;
		if (env && type == REC_TYPE_FROM && !have_context)
			rec_puts(out, REC_TYPE_ATTR, "rewrite_context=local");
		if (type == REC_TYPE_MESG)
			env = false;
		rec_put(out, type, str_ptr(buf), str_len(buf));
	} while (type != REC_TYPE_END);
	str_free(buf);
	return 0;
}

/* Temporary cleanup failures: try again on the next scan. */
#define PICKUP_STAT_TEMP                                                       \
	(CLEANUP_STAT_WRITE | CLEANUP_STAT_DEFER | CLEANUP_STAT_PROXY)

static int
pickup_open(const char *path)
{
	return open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
}

static enum pickup_result
pickup_one(const char *id)
{
	enum pickup_result result = PICKUP_DONE;
	struct submit_state state;
	struct str *path = str_new(64), *why = str_new(100);
	struct stream *st = NULL;
	struct cleanup *c;
	struct stat info;
	int fd, status, flags;

	queue_path(path, QUEUE_MAILDROP, id);
	fd = pickup_open(str_ptr(path));
	if (fd < 0 && errno == EACCES && lstat(str_ptr(path), &info) == 0 &&
	    S_ISREG(info.st_mode)) {
		/* postdrop writes it mode 0600 and marks it complete when
		 * done (then wakes us): not ready is not worth a warning. */
		if (!queue_complete(&info))
			goto out;
		fd = pickup_open(str_ptr(path)); /* it just became ready */
	}
	if (fd < 0) {
		if (errno == ELOOP)
			queue_corrupt(QUEUE_MAILDROP, id,
			    "file is a symbolic link");
		else if (errno != ENOENT)
			msg_warn("open %s: %m", str_ptr(path));
		goto out;
	}
	if (fstat(fd, &info) < 0)
		msg_fatal("fstat %s: %m", str_ptr(path));
	if (!S_ISREG(info.st_mode)) {
		close(fd);
		queue_corrupt(QUEUE_MAILDROP, id, "not a regular file");
		goto out;
	}
	if (info.st_nlink != 1) {
		close(fd);
		queue_corrupt(QUEUE_MAILDROP, id, "file has multiple links");
		goto out;
	}
	/* Still being written (or abandoned): not ours yet. */
	if (!queue_complete(&info)) {
		close(fd);
		goto out;
	}
	st = stream_open(fd);
	submit_init(&state, SUBMIT_TIME);
	if (pickup_check(st, &state, why) < 0) {
		queue_corrupt(QUEUE_MAILDROP, id, str_ptr(why));
		submit_free(&state);
		goto out;
	}
	/* Read it again from the start, through a fresh buffer. */
	if ((fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
		msg_fatal("dup: %m");
	stream_close(st);
	if (lseek(fd, 0, SEEK_SET) < 0)
		msg_fatal("lseek %s: %m", str_ptr(path));
	st = stream_open(fd);

	flags = PICKUP_CLEANUP_FLAGS;
	if (smtputf8_autodetect("sendmail"))
		flags |= CLEANUP_FLAG_AUTOUTF8;
	if ((c = cleanup_open("public/cleanup", flags, why)) == NULL) {
		msg_warn("%s", str_ptr(why));
		submit_free(&state);
		result = PICKUP_RETRY;
		goto out;
	}
	msg_info("%s: uid=%ld from=<%s>", cleanup_queue_id(c),
	    (long)info.st_uid, str_ptr(state.sender));
	submit_free(&state);
	if (pickup_copy(st, cleanup_stream(c), info.st_uid) < 0) {
		msg_warn("%s: read error", str_ptr(path));
		cleanup_abort(c);
		result = PICKUP_RETRY;
		goto out;
	}
	status = cleanup_close(c, why);
	if (status == 0) {
		if (queue_remove(QUEUE_MAILDROP, id) < 0 && errno != ENOENT)
			msg_warn("remove %s: %m", str_ptr(path));
	} else if (status & PICKUP_STAT_TEMP) {
		msg_warn("%s: %s", str_ptr(path),
		    str_len(why) ? str_ptr(why)
				 : cleanup_stat_smtp(status)->text);
		result = PICKUP_RETRY;
	} else {
		/* cleanup refused it for good: keep it for the admin */
		str_fmt(path, "cleanup refused it: %s",
		    str_len(why) ? str_ptr(why)
				 : cleanup_stat_smtp(status)->text);
		queue_corrupt(QUEUE_MAILDROP, id, str_ptr(path));
	}
out:
	stream_close(st);
	str_free(path);
	str_free(why);
	return result;
}

/* Each wakeup scans the whole maildrop directory. */
static void
pickup_trigger(const char *buf, size_t len, const char *service, char **argv)
{
	struct queue_scan *scan;
	const char *id;

	(void)buf;
	(void)len;
	(void)service;
	(void)argv;
	scan = queue_scan_open(QUEUE_MAILDROP);
	while ((id = queue_scan_next(scan)) != NULL)
		if (pickup_one(id) == PICKUP_RETRY)
			break;
	queue_scan_close(scan);
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.kind = DAEMON_TRIGGER,
		.trigger = pickup_trigger,
		.flags = DAEMON_SOLITARY,
	};

	return daemon_main(argc, argv, &spec);
}
