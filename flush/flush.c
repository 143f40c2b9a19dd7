/*
 * flush - the fast flush service (Postfix's flush(8)): for each
 * destination in fast_flush_domains, a logfile flush/SITE listing the
 * queue IDs of mail deferred for it, so that ETRN, postqueue -s and
 * postqueue -i deliver that mail at once instead of at the next queue run.
 * Run by master (public/flush, maxproc 0), one client per connection, as
 * mail_owner, chroot allowed.  Requests: add, send_site, send_file,
 * refresh, purge (lib/mail/flush_clnt.h); master's wakeup is a refresh.
 * Reads fast_flush_domains (and the tables it names); writes flush/ and
 * moves files from deferred/ to incoming/, then wakes qmgr (public/qmgr).
 *
 * Logfiles.  The name is the site in lower case with every character but
 * letters and digits turned into '_' (example.net -> example_net, as
 * Postfix names them); the content is one queue ID per line, appended
 * under an exclusive flock.  A logfile is opened without following
 * symlinks (safe_open), is at most FLUSH_LOG_MAX bytes (an "add" to a full
 * one is refused with a warning: that mail still goes at the next queue
 * run), and is read back only up to that size, ignoring lines that are not
 * queue IDs.  Duplicates are harmless: each ID is acted on once per send.
 * A send moves each listed file still in deferred/ to incoming/ (its time
 * stamps set to now), truncates the logfile and wakes qmgr with "FI"
 * (forget dead destinations, scan incoming/); mail deferred again is added
 * again by the delivery agent.  A refresh only touches the listed files'
 * time stamps (due at the next deferred scan) and truncates the logfile.
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/htable.h"
#include "lib/util/msg.h"
#include "lib/util/safe_open.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/attr.h"
#include "lib/mail/daemon.h"
#include "lib/mail/flush_clnt.h"
#include "lib/mail/master_proto.h"
#include "lib/mail/match_list.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/trigger.h"

#define FLUSH_DIR     QUEUE_FLUSH
#define FLUSH_LOG_MAX (4L * 1024 * 1024) /* bytes: some 200,000 IDs */

/* How a logfile's messages are requested: now, or at the next queue run. */
enum flush_how { FLUSH_DELIVER, FLUSH_REFRESH_ONLY };

static struct match_list *flush_domains;

/* flush/NAME for a site: lower-case letters and digits, '_' for the rest. */
static void
flush_site_path(struct str *path, const char *site)
{
	str_set(path, FLUSH_DIR "/");
	for (; *site; site++) {
		unsigned char c = (unsigned char)*site;

		str_catc(path, isalnum(c) ? (char)tolower(c) : '_');
	}
}

/*
 * Is site eligible?  FLUSH_STAT_OK, DENY, BAD (malformed) or FAIL (a
 * table lookup failed).  Address literals are never eligible: Postfix 3.7
 * refuses them too (its logfile names come from the IDNA form, which a
 * literal has not), so ETRN [1.2.3.4] gets 459 there and here.
 */
static int
flush_policy(const char *site)
{
	if (!flush_clnt_site_ok(site))
		return FLUSH_STAT_BAD;
	if (*site == '[')
		return FLUSH_STAT_DENY;
	switch (match_list_domain(flush_domains, site)) {
	case 1:
		return FLUSH_STAT_OK;
	case 0:
		return FLUSH_STAT_DENY;
	default:
		msg_warn("fast_flush_domains: lookup of %s failed", site);
		return FLUSH_STAT_FAIL;
	}
}

/*
 * Open and lock a logfile; -1 when it cannot be (logged unless it does
 * not exist and create is false).  A file that a refresh unlinked while
 * we waited for the lock is opened again.
 */
static int
flush_log_open(const char *path, bool create, struct stat *st)
{
	struct str *why = str_new(64);
	int fd = -1, saved = 0;

	for (int attempt = 0; attempt < 3; attempt++) {
		fd = safe_open(path, create ? O_RDWR | O_CREAT : O_RDWR, 0600,
		    NULL, -1, -1, why);
		if (fd < 0) {
			saved = errno;
			if (errno != ENOENT || create)
				msg_warn("open logfile %s: %s", path,
				    str_ptr(why));
			break;
		}
		if (flock(fd, LOCK_EX) < 0) {
			msg_warn("lock logfile %s: %m", path);
			(void)close(fd);
			fd = -1;
			break;
		}
		if (fstat(fd, st) < 0) {
			msg_warn("fstat logfile %s: %m", path);
			(void)close(fd);
			fd = -1;
			break;
		}
		if (st->st_nlink > 0)
			break;
		(void)close(fd);
		fd = -1;
		saved = ENOENT;
		if (!create)
			break;
	}
	str_free(why);
	errno = saved;
	return fd;
}

/* add site queue_id: append one line. */
static int
flush_add(const char *site, const char *id)
{
	struct str *path = str_new(64), *line = str_new(32);
	struct stat st;
	int status, fd = -1;

	/* A recipient domain that no ETRN could name is simply not listed. */
	if ((status = flush_policy(site)) != FLUSH_STAT_OK) {
		if (status == FLUSH_STAT_BAD)
			status = FLUSH_STAT_DENY;
		goto out;
	}
	if (!queue_id_ok(id)) {
		status = FLUSH_STAT_BAD;
		goto out;
	}
	status = FLUSH_STAT_FAIL;
	flush_site_path(path, site);
	if ((fd = flush_log_open(str_ptr(path), true, &st)) < 0)
		goto out;
	if (st.st_size >= FLUSH_LOG_MAX) {
		msg_warn("logfile %s has %ld bytes, the limit; not adding %s",
		    str_ptr(path), (long)st.st_size, id);
		goto out;
	}
	str_fmt(line, "%s\n", id);
	if (lseek(fd, 0, SEEK_END) < 0 ||
	    write(fd, str_ptr(line), str_len(line)) != (ssize_t)str_len(line)) {
		msg_warn("append logfile %s: %m", str_ptr(path));
		goto out;
	}
	status = FLUSH_STAT_OK;
out:
	if (fd >= 0)
		(void)close(fd);
	str_free(path);
	str_free(line);
	return status;
}

/*
 * Request delivery of one deferred message: 1 when it was moved to
 * incoming/ (FLUSH_DELIVER) or touched (FLUSH_REFRESH_ONLY), 0 when it is
 * not in deferred/ (delivered, bounced, active, or never there).
 */
static int
flush_one(const char *id, enum flush_how how)
{
	struct str *path = str_new(64), *why = str_new(64);
	int ret = 0;

	if (!queue_id_ok(id))
		goto out;
	queue_path(path, QUEUE_DEFERRED, id);
	/* Now, not the next retry time: due for the queue manager at once. */
	if (utimensat(AT_FDCWD, str_ptr(path), NULL, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			msg_warn("%s: update %s time stamps: %m", id,
			    str_ptr(path));
		goto out;
	}
	if (how == FLUSH_REFRESH_ONLY) {
		ret = 1;
		goto out;
	}
	if (queue_move(QUEUE_DEFERRED, id, QUEUE_INCOMING, why) < 0) {
		if (errno != ENOENT)
			msg_warn("%s: %s", id, str_ptr(why));
		goto out;
	}
	if (msg_verbose)
		msg_info("%s: requeued", id);
	ret = 1;
out:
	str_free(path);
	str_free(why);
	return ret;
}

/* Wake qmgr: forget dead destinations, then scan incoming/. */
static void
flush_kick_qmgr(void)
{
	static const char req[] = "FI";
	struct str *path = str_new(64), *why = str_new(64);

	str_fmt(path, "public/%s", var_queue_service_name);
	if (trigger_send(str_ptr(path), req, sizeof(req) - 1, why) < 0)
		msg_warn("%s", str_ptr(why));
	str_free(path);
	str_free(why);
}

/*
 * Act on every queue ID in an open, locked logfile, then truncate it.
 * Returns how many messages were requeued or touched.
 */
static int
flush_send_fd(int fd, const char *path, enum flush_how how)
{
	struct htable *seen = htable_new(64);
	struct str *buf = str_new(4096), *id = str_new(32);
	struct timespec ts[2] = { { 0, UTIME_NOW }, { 0, UTIME_OMIT } };
	char chunk[4096];
	ssize_t n;
	off_t total = 0;
	int count = 0;

	if (lseek(fd, 0, SEEK_SET) < 0) {
		msg_warn("seek logfile %s: %m", path);
		goto out;
	}
	while (
	    total < FLUSH_LOG_MAX && (n = read(fd, chunk, sizeof(chunk))) > 0) {
		str_catn(buf, chunk, (size_t)n);
		total += n;
	}
	for (const char *cp = str_ptr(buf), *end = cp + str_len(buf);
	     cp < end;) {
		const char *nl = memchr(cp, '\n', (size_t)(end - cp));

		if (nl == NULL)
			break; /* a torn last line: that ID stays unlisted */
		str_setn(id, cp, (size_t)(nl - cp));
		cp = nl + 1;
		if (strlen(str_ptr(id)) != str_len(id) ||
		    !queue_id_ok(str_ptr(id)) ||
		    htable_locate(seen, str_ptr(id)) != NULL)
			continue;
		htable_enter(seen, str_ptr(id), NULL);
		count += flush_one(str_ptr(id), how);
	}
	/* Mail still deferred is listed again by its delivery agent. */
	if (ftruncate(fd, 0) < 0)
		msg_warn("truncate logfile %s: %m", path);
	/* The access time says when the list was last read (refresh). */
	if (futimens(fd, ts) < 0)
		msg_warn("update logfile %s time stamps: %m", path);
out:
	htable_free(seen, NULL);
	str_free(buf);
	str_free(id);
	return count;
}

/* send_site site: requeue what its logfile lists. */
static int
flush_send_site(const char *site)
{
	struct str *path = str_new(64);
	struct stat st;
	int status, fd;

	if ((status = flush_policy(site)) != FLUSH_STAT_OK)
		goto out;
	flush_site_path(path, site);
	if ((fd = flush_log_open(str_ptr(path), false, &st)) < 0) {
		/* No logfile: nothing was deferred for the site. */
		status = errno == ENOENT ? FLUSH_STAT_OK : FLUSH_STAT_FAIL;
		goto out;
	}
	if (flush_send_fd(fd, str_ptr(path), FLUSH_DELIVER) > 0)
		flush_kick_qmgr();
	(void)close(fd);
out:
	str_free(path);
	return status;
}

/* send_file queue_id: requeue one deferred message. */
static int
flush_send_file(const char *id)
{
	if (!flush_clnt_id_ok(id))
		return FLUSH_STAT_BAD;
	if (flush_one(id, FLUSH_DELIVER) > 0)
		flush_kick_qmgr();
	return FLUSH_STAT_OK;
}

/*
 * refresh: logfiles not read for max_age seconds are refreshed (their
 * messages become due at the next queue run); empty ones not written for
 * fast_flush_purge_time are removed.  purge: the same with max_age 0.
 */
static void
flush_refresh(int max_age)
{
	struct str *path = str_new(64);
	time_t now = time(NULL);
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int fd;

	if ((dir = opendir(FLUSH_DIR)) == NULL) {
		msg_warn("open directory %s: %m", FLUSH_DIR);
		goto out;
	}
	while ((de = readdir(dir)) != NULL) {
		const char *cp;

		for (cp = de->d_name; isalnum((unsigned char)*cp) || *cp == '_';
		     cp++)
			;
		if (*cp != 0 || cp == de->d_name)
			continue; /* ., .., and nothing we made */
		str_fmt(path, "%s/%s", FLUSH_DIR, de->d_name);
		if ((fd = flush_log_open(str_ptr(path), false, &st)) < 0)
			continue;
		if (st.st_size == 0) {
			if (st.st_mtime + var_fast_flush_purge_time < now &&
			    unlink(str_ptr(path)) < 0)
				msg_warn("remove logfile %s: %m",
				    str_ptr(path));
		} else if (st.st_atime + max_age <= now) {
			(void)flush_send_fd(fd, str_ptr(path),
			    FLUSH_REFRESH_ONLY);
		}
		(void)close(fd);
	}
	(void)closedir(dir);
out:
	str_free(path);
}

static void
flush_reply(struct stream *st, int status)
{
	struct attr_list *rep = attr_new();

	attr_put_long(rep, "status", status);
	if (attr_write(st, rep) < 0)
		msg_warn("write reply: %m");
	attr_free(rep);
}

/*
 * master's wakeup is one byte 'W' on a connection that never reads our
 * greeting; a request starts with a lower-case attribute name.  Peek at
 * the first byte without consuming it (nothing is buffered yet).
 */
static bool
flush_is_wakeup(struct stream *st)
{
	struct pollfd pfd = { .fd = stream_fd(st), .events = POLLIN };
	char c;

	if (poll(&pfd, 1, var_ipc_timeout * 1000) != 1)
		return false;
	return recv(pfd.fd, &c, 1, MSG_PEEK) == 1 && c == MASTER_TRIGGER_WAKEUP;
}

static void
flush_service(struct stream *st, const char *service, char **argv)
{
	struct attr_list *req = attr_new(), *greet = attr_new();
	const char *request, *site, *id;
	int status = FLUSH_STAT_BAD;

	(void)service;
	(void)argv;
	stream_set_timeout(st, var_ipc_timeout * 1000);
	attr_put(greet, "protocol", FLUSH_PROTOCOL);
	(void)attr_write(st, greet);
	if (flush_is_wakeup(st)) {
		flush_refresh(var_fast_flush_refresh_time);
		goto out;
	}
	if (attr_read(st, req, FLUSH_VALUE_MAX) < 0) {
		msg_warn("malformed or missing request");
		goto out;
	}
	request = attr_get(req, "request");
	site = attr_get(req, "site");
	id = attr_get(req, "queue_id");
	if (request == NULL) {
		msg_warn("request without request name");
	} else if (strcmp(request, FLUSH_REQ_ADD) == 0 && site && id) {
		status = flush_add(site, id);
	} else if (strcmp(request, FLUSH_REQ_SEND_SITE) == 0 && site) {
		status = flush_send_site(site);
	} else if (strcmp(request, FLUSH_REQ_SEND_FILE) == 0 && id) {
		status = flush_send_file(id);
	} else if (strcmp(request, FLUSH_REQ_REFRESH) == 0 ||
		   strcmp(request, FLUSH_REQ_PURGE) == 0) {
		/* Done in the background: the client has its answer first. */
		flush_reply(st, FLUSH_STAT_OK);
		(void)stream_flush(st);
		flush_refresh(strcmp(request, FLUSH_REQ_PURGE) == 0
				  ? 0
				  : var_fast_flush_refresh_time);
		goto out;
	} else {
		msg_warn("unrecognized request: \"%.100s\"", request);
	}
	if (msg_verbose)
		msg_info("request %s site %s queue_id %s: status %d",
		    request ? request : "(none)", site ? site : "",
		    id ? id : "", status);
	flush_reply(st, status);
out:
	attr_free(req);
	attr_free(greet);
}

/* As root: the tables that fast_flush_domains names. */
static void
flush_pre_jail(const char *service, char **argv)
{
	(void)service;
	(void)argv;
	flush_domains =
	    match_list_new("fast_flush_domains", var_fast_flush_domains, 0);
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.kind = DAEMON_SINGLE,
		.service = flush_service,
		.pre_jail = flush_pre_jail,
	};
	return daemon_main(argc, argv, &spec);
}
