/*
 * postsuper - queue administration, as Postfix's postsuper(1): delete,
 * hold, release, requeue and force-expire messages, check the queue's
 * structure and purge temporary files.
 * Run by root only; works as mail_owner once started (as Postfix does),
 * so every file it makes belongs to the mail system.
 * Reads main.cf (-c DIR or $MAIL_CONFIG) for queue_directory and the
 * hash_queue_* settings; queue IDs from the command line or stdin ("-"),
 * each checked with queue_id_ok() before it is used in a path.
 * Moves files between queues with rename (queue_move: durable), rewrites
 * requeued ones as maildrop files for pickup (postsuper_requeue.c),
 * removes their bounce/defer/trace logs with them, marks force-expiry
 * with the group execute bit (QUEUE_MODE_EXPIRE).  Reports each message to stderr
 * and the log with Postfix's words ("QID: placed on hold", "Deleted: 1
 * message").  Lines read from stdin are bounded by line_length_limit.
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/config.h"
#include "lib/mail/mail_owner.h"
#include "lib/mail/maillog.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/rcpt_log.h"
#include "lib/mail/showq_proto.h"
#include "lib/mail/trigger.h"
#include "postsuper/postsuper.h"

/* Temporary files (cleanup's "usec.pid" names) older than this go with -p. */
#define PS_TEMP_AGE 3600

/* The operations, in the order Postfix applies and summarizes them. */
enum ps_op { OP_DELETE, OP_EXPIRE, OP_HOLD, OP_RELEASE, OP_REQUEUE, OP_COUNT };

static const char *const ps_done[OP_COUNT] = { "removed", "expired",
	"placed on hold", "released from hold", "requeued" };
static const char *const ps_summary[OP_COUNT] = { "Deleted", "Force-expired",
	"Placed on hold", "Released from hold", "Requeued" };

/* Default queues of each operation (postsuper(1)). */
static const char *const ps_default[OP_COUNT][5] = {
	{ QUEUE_HOLD, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, NULL },
	{ QUEUE_HOLD, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, NULL },
	{ QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, NULL },
	{ QUEUE_HOLD, NULL },
	{ QUEUE_HOLD, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, NULL },
};

/* Queues that a [queue...] argument may name. */
static const char *const ps_queues[] = { QUEUE_MAILDROP, QUEUE_INCOMING,
	QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD, NULL };

/* Every queue directory, for -s and -p. */
static const char *const ps_all_dirs[] = { QUEUE_MAILDROP, QUEUE_INCOMING,
	QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD, QUEUE_DEFER, QUEUE_BOUNCE,
	QUEUE_TRACE, QUEUE_FLUSH, QUEUE_CORRUPT, QUEUE_SAVED, NULL };

struct ps_req {
	struct argv *ids; /* IDs named (with "ALL" and "-" resolved) */
	bool all;
	bool wanted;
};

static struct ps_req ps_reqs[OP_COUNT];
static long ps_count[OP_COUNT];
static bool ps_expire_release; /* -f: also release from hold */

static void __attribute__((noreturn)) usage(void)
{
	msg_fatal("usage: postsuper [-c config_dir] [-d queue_id (delete)] "
		  "[-e queue_id (expire)] [-f queue_id (expire and/or "
		  "un-hold)] [-h queue_id (hold)] [-H queue_id (un-hold)] "
		  "[-p (purge temporary files)] [-r queue_id (requeue)] "
		  "[-s (structure fix)] [-S (redundant structure fix)]"
		  "[-v (verbose)] [queue...]");
}

static void
ps_add(enum ps_op op, const char *arg)
{
	struct ps_req *r = &ps_reqs[op];

	r->wanted = true;
	if (r->ids == NULL)
		r->ids = argv_new();
	if (strcmp(arg, "ALL") == 0)
		r->all = true;
	else
		argv_add(r->ids, arg);
}

/* "-" as an ID: read IDs from stdin, one per line (Postfix reads them
 * once, for the first option that asks). */
static void
ps_read_stdin(struct argv *ids)
{
	struct stream *st = stream_open(0);
	struct str *line = str_new(64);
	int rc;

	do {
		rc = stream_getline(st, line, (size_t)var_line_length_limit);
		str_trim(line);
		if ((rc == STREAM_OK || rc == STREAM_EOF) && str_len(line) > 0)
			argv_add(ids, str_ptr(line));
	} while (rc == STREAM_OK || rc == STREAM_TOOLONG);
	str_free(line);
	stream_close(st);
}

/* Remove the per-message logs of a deleted message. */
static void
ps_remove_logs(const char *id)
{
	static const char *const logs[] = { QUEUE_DEFER, QUEUE_BOUNCE,
		QUEUE_TRACE };

	for (size_t i = 0; i < sizeof(logs) / sizeof(*logs); i++)
		if (rcpt_log_remove(logs[i], id) < 0 && errno != ENOENT)
			msg_warn("remove %s/%s: %m", logs[i], id);
}

/* Set a released message's times to now, so the next scan takes it. */
static void
ps_touch(const char *queue, const char *id)
{
	struct str *path = str_new(64);

	queue_path(path, queue, id);
	if (utimes(str_ptr(path), NULL) < 0)
		msg_warn("update time of %s: %m", str_ptr(path));
	str_free(path);
}

/*
 * Apply op to QUEUE/ID.  Returns true when it did something (counted and,
 * for named IDs, reported).  A file that is not there is no error: it may
 * have been delivered meanwhile.
 */
static bool
ps_apply(enum ps_op op, const char *queue, const char *id, bool report)
{
	struct str *path = str_new(64), *why = str_new(64);
	struct str *newid = str_new(QUEUE_ID_MAX + 1);
	struct stat st;
	bool done = false;

	queue_path(path, queue, id);
	if (lstat(str_ptr(path), &st) < 0 || !S_ISREG(st.st_mode))
		goto out;
	/* A file still being written (no complete mark) is only deleted. */
	if (op != OP_DELETE && !queue_complete(&st))
		goto out;
	switch (op) {
	case OP_DELETE:
		if (unlink(str_ptr(path)) < 0) {
			if (errno != ENOENT)
				msg_warn("remove %s: %m", str_ptr(path));
			goto out;
		}
		ps_remove_logs(id);
		done = true;
		break;
	case OP_EXPIRE:
		/* An expired message is counted once. */
		if ((st.st_mode & QUEUE_MODE_EXPIRE) == 0) {
			if (chmod(str_ptr(path),
				(st.st_mode | QUEUE_MODE_EXPIRE) & 07777) < 0) {
				msg_warn("chmod %s: %m", str_ptr(path));
				goto out;
			}
			done = true;
		}
		break;
	case OP_HOLD:
		if (strcmp(queue, QUEUE_HOLD) == 0)
			goto out;
		if (queue_move(queue, id, QUEUE_HOLD, why) < 0) {
			if (errno != ENOENT)
				msg_warn("%s", str_ptr(why));
			goto out;
		}
		done = true;
		break;
	case OP_RELEASE:
		if (strcmp(queue, QUEUE_HOLD) != 0)
			goto out;
		if (queue_move(QUEUE_HOLD, id, QUEUE_DEFERRED, why) < 0) {
			if (errno != ENOENT)
				msg_warn("%s", str_ptr(why));
			goto out;
		}
		ps_touch(QUEUE_DEFERRED, id);
		done = true;
		break;
	case OP_REQUEUE:
		/* pickup re-injects it through cleanup, with a new ID. */
		switch (ps_requeue(queue, id, newid, why)) {
		case 0:
			if (msg_verbose)
				msg_info("%s: rewritten as maildrop/%s", id,
				    str_ptr(newid));
			ps_remove_logs(id);
			done = true;
			break;
		case 1:
			msg_warn("%s: no recipients left -- not requeued", id);
			break;
		default:
			msg_warn("%s", str_ptr(why));
		}
		break;
	default:
		msg_panic("ps_apply: bad op %d", op);
	}
	if (done) {
		ps_count[op]++;
		if (report)
			msg_info("%s: %s", id, ps_done[op]);
	}
out:
	str_free(path);
	str_free(why);
	str_free(newid);
	return done;
}

/* -f: expire, and release from hold too. */
static void
ps_expire(const char *queue, const char *id, bool report)
{
	(void)ps_apply(OP_EXPIRE, queue, id, report);
	if (ps_expire_release && strcmp(queue, QUEUE_HOLD) == 0)
		(void)ps_apply(OP_RELEASE, queue, id, report);
}

static void
ps_run(enum ps_op op, char **queues)
{
	struct ps_req *r = &ps_reqs[op];
	const char *const *qs =
	    queues ? (const char *const *)queues : ps_default[op];
	struct queue_scan *scan;
	struct argv *ids;
	const char *id;

	if (r->all) {
		for (size_t q = 0; qs[q] != NULL; q++) {
			if (op == OP_RELEASE && strcmp(qs[q], QUEUE_HOLD) != 0)
				continue;
			if ((scan = queue_scan_open(qs[q])) == NULL)
				continue;
			/* Collect first: the operation changes the directory. */
			ids = argv_new();
			while ((id = queue_scan_next(scan)) != NULL)
				argv_add(ids, id);
			queue_scan_close(scan);
			for (size_t i = 0; i < ids->argc; i++) {
				if (op == OP_EXPIRE)
					ps_expire(qs[q], ids->argv[i], false);
				else
					(void)ps_apply(op, qs[q], ids->argv[i],
					    false);
			}
			argv_free(ids);
		}
	}
	for (size_t i = 0; r->ids != NULL && i < r->ids->argc; i++) {
		id = r->ids->argv[i];
		if (!queue_id_ok(id)) {
			msg_warn("invalid mail queue id: %s", id);
			continue;
		}
		for (size_t q = 0; qs[q] != NULL; q++) {
			if (op == OP_EXPIRE)
				ps_expire(qs[q], id, true);
			else
				(void)ps_apply(op, qs[q], id, true);
		}
	}
}

/* A cleanup temporary file name: digits '.' digits. */
static bool
ps_temp_name(const char *name)
{
	size_t a = strspn(name, "0123456789");

	return a > 0 && name[a] == '.' && name[a + 1] != 0 &&
	       strspn(name + a + 1, "0123456789") == strlen(name + a + 1);
}

static bool
ps_hash_dir_name(const char *name)
{
	return name[0] != 0 && name[1] == 0 &&
	       strchr("0123456789ABCDEF_", name[0]) != NULL;
}

/*
 * One directory level of -s/-p: report bogus names, purge old temporary
 * files (-p), and move queue files that sit in the wrong (hash)
 * subdirectory to where queue_path() says they belong (-s).
 */
static void
ps_walk(const char *queue, const char *dir, int depth, bool fix, bool purge)
{
	struct str *path = str_new(64), *want = str_new(64);
	struct str *why = str_new(64);
	struct dirent *de;
	struct stat st;
	DIR *dp;

	if ((dp = opendir(dir)) == NULL) {
		if (errno != ENOENT)
			msg_warn("open directory %s: %m", dir);
		goto out;
	}
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		str_fmt(path, "%s/%s", dir, de->d_name);
		if (lstat(str_ptr(path), &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth < 2 && ps_hash_dir_name(de->d_name))
				ps_walk(queue, str_ptr(path), depth + 1, fix,
				    purge);
			continue;
		}
		if (ps_temp_name(de->d_name)) {
			if (purge && st.st_mtime < time(NULL) - PS_TEMP_AGE) {
				if (unlink(str_ptr(path)) == 0)
					msg_info("%s: removed temporary file",
					    str_ptr(path));
				else
					msg_warn("remove %s: %m",
					    str_ptr(path));
			}
			continue;
		}
		if (!queue_id_ok(de->d_name)) {
			msg_warn("bogus file name: %s", str_ptr(path));
			continue;
		}
		if (!fix)
			continue;
		queue_path(want, queue, de->d_name);
		if (strcmp(str_ptr(want), str_ptr(path)) == 0)
			continue;
		/* Misplaced (hash_queue_* changed): rename into place. */
		{
			char *slash = strrchr(str_ptr(want), '/');

			*slash = 0;
			(void)mkdir(str_ptr(want), 0700);
			*slash = '/';
		}
		if (lstat(str_ptr(want), &st) == 0)
			msg_warn("%s: %s exists -- left in place",
			    str_ptr(path), str_ptr(want));
		else if (rename(str_ptr(path), str_ptr(want)) < 0)
			msg_warn("rename %s to %s: %m", str_ptr(path),
			    str_ptr(want));
	}
	closedir(dp);
out:
	str_free(path);
	str_free(want);
	str_free(why);
}

/* Requeued mail waits in maildrop: wake pickup (no matter if it is down). */
static int
ps_wake_pickup(struct str *why)
{
	struct str *path = str_new(64);
	int rc;

	str_fmt(path, "public/%s", var_pickup_service_name);
	rc = trigger_send(str_ptr(path), "W", 1, why);
	str_free(path);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct {
		int ch;
		enum ps_op op;
	} opts[] = { { 'd', OP_DELETE }, { 'e', OP_EXPIRE }, { 'f', OP_EXPIRE },
		{ 'h', OP_HOLD }, { 'H', OP_RELEASE }, { 'r', OP_REQUEUE } };
	struct str *why = str_new(100);
	struct argv *stdin_ids = NULL;
	const char *dir = NULL;
	bool fix = false, purge = false, any_op = false;
	char **queues = NULL;
	int ch;

	msg_init(argv[0]);
	if (getuid() != 0) {
		msg_fatal("use of this command is reserved for the superuser");
	}
	while ((ch = getopt(argc, argv, "c:d:e:f:h:H:pr:sSv")) > 0) {
		bool found = false;

		for (size_t i = 0; i < sizeof(opts) / sizeof(*opts); i++)
			if (opts[i].ch == ch) {
				ps_add(opts[i].op, optarg);
				if (ch == 'f')
					ps_expire_release = true;
				any_op = found = true;
			}
		if (found)
			continue;
		switch (ch) {
		case 'c':
			dir = optarg;
			break;
		case 'p':
			purge = true;
			break;
		case 's':
		case 'S':
			fix = true;
			break;
		case 'v':
			msg_verbose++;
			break;
		default:
			usage();
		}
	}
	if (!any_op && !purge)
		fix = true; /* with nothing else to do, check the structure */

	config_init(dir);
	if (config_read(why) < 0)
		msg_fatal("%s", str_ptr(why));
	params_load();
	/*
	 * No MAILLOG_FALLBACK: this process runs as mail_owner, which may not
	 * write a root-owned maillog_file; the lines still reach stderr.
	 */
	maillog_init(MAILLOG_STDERR);
	if (chdir(var_queue_directory) < 0)
		msg_fatal("chdir %s: %m", var_queue_directory);

	if (optind < argc) {
		for (int i = optind; i < argc; i++) {
			bool ok = false;

			for (size_t q = 0; ps_queues[q] != NULL; q++)
				ok |= strcmp(argv[i], ps_queues[q]) == 0;
			if (!ok)
				msg_fatal("invalid directory name: %s",
				    argv[i]);
		}
		queues = argv + optind;
		argv[argc] = NULL;
	}

	/* "-" reads the IDs from stdin once, for every option that says so. */
	for (int op = 0; op < OP_COUNT; op++) {
		struct argv *ids = ps_reqs[op].ids, *out;

		if (ids == NULL)
			continue;
		out = argv_new();
		for (size_t i = 0; i < ids->argc; i++) {
			if (strcmp(ids->argv[i], "-") != 0) {
				argv_add(out, ids->argv[i]);
				continue;
			}
			if (stdin_ids == NULL) {
				stdin_ids = argv_new();
				ps_read_stdin(stdin_ids);
			}
			for (size_t j = 0; j < stdin_ids->argc; j++)
				argv_add(out, stdin_ids->argv[j]);
		}
		argv_free(ids);
		ps_reqs[op].ids = out;
	}

	mail_owner_init();
	mail_owner_drop();

	if (fix || purge)
		for (size_t q = 0; ps_all_dirs[q] != NULL; q++)
			ps_walk(ps_all_dirs[q], ps_all_dirs[q], 0, fix, purge);

	for (int op = 0; op < OP_COUNT; op++)
		if (ps_reqs[op].wanted)
			ps_run((enum ps_op)op, queues);
	if (ps_expire_release && !ps_reqs[OP_RELEASE].wanted)
		ps_reqs[OP_RELEASE].wanted = true; /* -f reports releases */

	for (int op = 0; op < OP_COUNT; op++)
		if (ps_reqs[op].wanted)
			msg_info("%s: %ld message%s", ps_summary[op],
			    ps_count[op], ps_count[op] == 1 ? "" : "s");

	/* Requeued mail waits in maildrop: wake pickup (no matter if down). */
	if (ps_count[OP_REQUEUE] > 0 && ps_wake_pickup(why) < 0 && msg_verbose)
		msg_info("%s", str_ptr(why));

	for (int op = 0; op < OP_COUNT; op++)
		argv_free(ps_reqs[op].ids);
	argv_free(stdin_ids);
	str_free(why);
	return 0;
}
