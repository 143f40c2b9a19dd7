/*
 * postdrop - put a locally submitted message into the maildrop queue.
 * Run by sendmail ("postdrop -r"); installed set-gid setgid_group, which
 * is what lets it write into maildrop/ and reach public/pickup.
 * The caller is not trusted: the environment is reduced to MAIL_CONFIG,
 * descriptors 0-2 are made valid, a non-default configuration directory
 * must be listed in the default main.cf, the working directory is
 * queue_directory before any table opens, authorized_submit_users decides
 * who may submit, and only the records of lib/mail/submit.h are accepted,
 * with no line breaks in envelope fields.  The file is owned by the
 * caller (pickup logs it as uid=), written mode 0600, marked complete
 * (0744) only when durable; any failure removes it.  Then pickup is woken.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/attr.h"
#include "lib/mail/confdir.h"
#include "lib/mail/config.h"
#include "lib/mail/maillog.h"
#include "lib/mail/match_list.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/record.h"
#include "lib/mail/submit.h"
#include "lib/mail/trigger.h"

/*
 * The file to remove when we die: "maildrop/ID".  A fixed array, so that
 * the signal handler needs no allocation; QUEUE_ID_MAX bounds the ID.
 */
static char postdrop_path[sizeof(QUEUE_MAILDROP) + 1 + QUEUE_ID_MAX + 1];
static volatile sig_atomic_t postdrop_have_path;

static void
postdrop_remove(void)
{
	if (postdrop_have_path) {
		postdrop_have_path = 0;
		(void)unlink(postdrop_path);
	}
}

/* A signal: remove the half file and go (unlink is async-signal-safe). */
static void
postdrop_sig(int sig)
{
	(void)sig;
	postdrop_remove();
	_exit(1);
}

/*
 * Set-gid: keep nothing of the caller's environment but MAIL_CONFIG (and
 * MAIL_VERBOSE's meaning).  TZ, locale and LD_* variables go, so the
 * caller influences neither time stamps nor library behaviour.
 */
static char *
postdrop_clean_env(void)
{
	const char *env = getenv("MAIL_CONFIG");
	char *config = env && *env ? xstrdup(env) : NULL;

	if (getenv("MAIL_VERBOSE"))
		msg_verbose++;
	if (clearenv() != 0)
		msg_fatal("clearenv: %m");
	if (setenv("PATH", "/usr/bin:/bin", 1) < 0)
		msg_fatal("setenv: %m");
	return config;
}

static void
postdrop_signals(void)
{
	const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = postdrop_sig;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			msg_fatal("sigaction: %m");
	/* A file size limit or a vanished sendmail is a write error. */
	signal(SIGXFSZ, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
}

static void
postdrop_authorize(const char *user, long uid)
{
	struct match_list *users;
	int allowed;

	users = match_list_new("authorized_submit_users",
	    var_authorized_submit_users, 0);
	if ((allowed = match_list_string(users, user)) < 0)
		msg_fatal("authorized_submit_users: table lookup problem");
	if (allowed == 0)
		msg_fatal("User %s(%ld) is not allowed to submit mail", user,
		    uid);
	match_list_free(users);
}

/* The records from sendmail, checked, after our own T record. */
static int
postdrop_copy(struct stream *in, struct stream *out, struct str *why)
{
	struct submit_state state;
	struct str *buf = str_new(256);
	struct timeval tv;
	int type, rc = -1;
	long size = 0;

	gettimeofday(&tv, NULL);
	if (rec_fmt(out, REC_TYPE_TIME, "%ld %ld", (long)tv.tv_sec,
		(long)tv.tv_usec) < 0) {
		str_fmt(why, "queue file write error: %m");
		return -1;
	}
	submit_init(&state, 0);
	while (!submit_done(&state)) {
		type = rec_get(in, buf, (size_t)var_line_length_limit);
		if (type == REC_EOF) {
			/* sendmail gave up (fatal error or signal) */
			str_set(why, "");
			goto out;
		}
		if (type < 0) {
			str_fmt(why, "%s in input",
			    type == REC_TRUNC     ? "unexpected EOF"
			    : type == REC_TOOLONG ? "record too long"
			    : type == REC_BADTYPE ? "bad record type"
						  : "read error");
			goto out;
		}
		if (submit_check(&state, type, str_ptr(buf), str_len(buf),
			why) < 0)
			goto out;
		/*
		 * Postfix's postdrop limits its file to message_size_limit
		 * (with RLIMIT_FSIZE); sendmail turns the refusal into
		 * "message file too big".  Counting is the same limit
		 * without a signal.
		 */
		size += (long)rec_size(str_len(buf));
		if (var_message_size_limit > 0 &&
		    size > var_message_size_limit) {
			str_set(why, POSTDROP_TOO_BIG);
			goto out;
		}
		if (rec_put(out, type, str_ptr(buf), str_len(buf)) < 0) {
			str_fmt(why, "queue file write error: %m");
			goto out;
		}
	}
	rc = 0;
out:
	submit_free(&state);
	str_free(buf);
	return rc;
}

/*
 * Wake pickup.  A missing endpoint is worth a warning (Postfix's text);
 * a pickup that is not running is not: it scans maildrop/ when it starts.
 */
static void
postdrop_wakeup(void)
{
	struct str *path = str_new(100), *why = str_new(100);

	str_fmt(path, "public/%s", var_pickup_service_name);
	if (trigger_send(str_ptr(path), "W", 1, why) == TRIGGER_ERR_LOOKUP)
		msg_warn("%s", str_ptr(why));
	str_free(path);
	str_free(why);
}

int
main(int argc, char **argv)
{
	struct attr_list *al;
	struct stream *in, *out = NULL, *file;
	struct str *why, *id;
	struct passwd *pw;
	const char *dir = NULL;
	char *env_dir;
	bool protocol = false;
	sigset_t block, saved;
	struct stat st;
	int ch, fd, rc;
	long uid = (long)getuid();

	/* Keep descriptors 0-2 taken, so nothing we open becomes stdout. */
	for (fd = 0; fd < 3; fd++)
		if (fstat(fd, &st) < 0 && open("/dev/null", O_RDWR) != fd)
			return 1;
	umask(077);
	env_dir = postdrop_clean_env();
	msg_init("postdrop");
	msg_stderr(true);
	(void)msg_syslog("postfix", NULL);

	while ((ch = getopt(argc, argv, "c:rv")) > 0) {
		switch (ch) {
		case 'c':
			dir = optarg;
			break;
		case 'r':
			protocol = true;
			break;
		case 'v':
			msg_verbose++;
			break;
		default:
			msg_fatal("usage: %s [-c config_dir] [-v]",
			    msg_program());
		}
	}
	if (dir == NULL)
		dir = env_dir;
	if (dir != NULL && confdir_untrusted())
		confdir_check(dir);
	config_init(dir);
	why = str_new(100);
	if (config_read(why) < 0)
		msg_fatal("%s", str_ptr(why));
	params_load();
	maillog_init(MAILLOG_STDERR);

	/* Before any table opens: nothing from the caller's directory. */
	if (chdir(var_queue_directory) < 0)
		msg_fatal("chdir %s: %m", var_queue_directory);
	if ((pw = getpwuid((uid_t)uid)) == NULL)
		msg_fatal("no login name found for user ID %ld", uid);
	postdrop_authorize(pw->pw_name, uid);

	/*
	 * Create the file with signals blocked, so that a signal cannot come
	 * between its creation and our remembering its name.
	 */
	postdrop_signals();
	sigfillset(&block);
	sigprocmask(SIG_BLOCK, &block, &saved);
	id = str_new(QUEUE_ID_MAX);
	if ((fd = queue_create(QUEUE_MAILDROP, id, why)) < 0)
		msg_fatal("mail_queue_enter: %s", str_ptr(why));
	snprintf(postdrop_path, sizeof(postdrop_path), "%s/%s", QUEUE_MAILDROP,
	    str_ptr(id));
	postdrop_have_path = 1;
	msg_cleanup(postdrop_remove);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	file = stream_open(fd);

	in = stream_open(0);
	al = attr_new();
	if (protocol) {
		out = stream_open(1);
		attr_put(al, "protocol", POSTDROP_PROTOCOL);
		attr_put(al, "queue_id", str_ptr(id));
		if (attr_write(out, al) < 0)
			msg_fatal("uid=%ld: error writing to sendmail: %m",
			    uid);
	}
	rc = postdrop_copy(in, file, why);
	if (rc == 0 && stream_flush(file) < 0) {
		str_fmt(why, "queue file write error: %m");
		rc = -1;
	}
	if (rc == 0 && queue_finish(stream_fd(file), QUEUE_MAILDROP,
			   str_ptr(id), 0744, why) < 0)
		rc = -1;
	if (rc < 0) {
		postdrop_remove();
		/* An empty reason: sendmail stopped; it has said why. */
		if (str_len(why) == 0)
			exit(0);
		msg_warn("uid=%ld: %s", uid, str_ptr(why));
		if (out != NULL) {
			attr_reset(al);
			attr_put(al, "status", "1");
			attr_put(al, "reason", str_ptr(why));
			(void)attr_write(out, al);
		}
		exit(1);
	}
	/* Durable and complete: it is pickup's now. */
	postdrop_have_path = 0;
	stream_close(file);
	if (out != NULL) {
		attr_reset(al);
		attr_put(al, "status", "0");
		if (attr_write(out, al) < 0)
			msg_warn("uid=%ld: error writing to sendmail: %m", uid);
		stream_close(out);
	}

	postdrop_wakeup();
	stream_close(in);
	attr_free(al);
	str_free(id);
	str_free(why);
	free(env_dir);
	return 0;
}
