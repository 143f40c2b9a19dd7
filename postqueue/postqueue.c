/*
 * postqueue - the user interface to the queue, as Postfix's postqueue(1):
 * list it (-p, mailq's format; -j, JSON lines) and flush it (-f, -i, -s).
 * Installed set-gid setgid_group; run by any user.  An untrusted caller
 * may name only the default config directory or one listed in its
 * alternate_config_directories / multi_instance_directories.
 * Reads main.cf; lists through the showq service (public/showq), or, for
 * root when that is down, by running showq directly.  Flushes by waking
 * qmgr (public/qmgr) and pickup (public/pickup), -i and -s through the
 * fast flush service (public/flush).  Writes nothing to the
 * queue.  Every attribute from showq is bounded by SHOWQ_VALUE_MAX.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/attr.h"
#include "lib/mail/confdir.h"
#include "lib/mail/config.h"
#include "lib/mail/flush_clnt.h"
#include "lib/mail/maillog.h"
#include "lib/mail/match_list.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/showq_proto.h"
#include "lib/mail/trigger.h"

/* Right edge of mailq's "(reason)" lines, as Postfix prints them. */
#define PQ_REASON_EDGE 76

enum pq_mode { PQ_NONE, PQ_FLUSH, PQ_FILE, PQ_JSON, PQ_LIST, PQ_SITE };

static void __attribute__((noreturn)) usage(void)
{
	/* Postfix 3.7 exits 69 here, not 64 (observed). */
	msg_fatal_status(EX_UNAVAILABLE,
	    "usage: postqueue -f | postqueue -i queueid | postqueue -j | "
	    "postqueue -p | postqueue -s site");
}

static void
pq_out(const char *s, size_t n)
{
	if (n > 0 && fwrite(s, 1, n, stdout) != n)
		msg_fatal_status(EX_IOERR, "write error: %m");
}

/* A JSON string (Postfix's quote_for_json: escapes, UTF-8 kept). */
static void
pq_json_str(struct str *out, const char *s)
{
	str_catc(out, '"');
	for (; *s != 0; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"':
			str_cat(out, "\\\"");
			break;
		case '\\':
			str_cat(out, "\\\\");
			break;
		case '\b':
			str_cat(out, "\\b");
			break;
		case '\f':
			str_cat(out, "\\f");
			break;
		case '\n':
			str_cat(out, "\\n");
			break;
		case '\r':
			str_cat(out, "\\r");
			break;
		case '\t':
			str_cat(out, "\\t");
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				str_catfmt(out, "\\u%04X", c);
			else
				str_catc(out, (char)c);
		}
	}
	str_catc(out, '"');
}

/* The listing being printed: state kept across showq's lists. */
struct pq_list {
	enum pq_mode mode;
	struct str *line;   /* output being built */
	struct str *reason; /* -p: the last reason printed */
	bool in_msg;        /* a message has been started */
	bool first_rcpt;    /* -j: no recipient printed yet */
	long total_size;
	long count;
};

static void
pq_end_msg(struct pq_list *pl)
{
	if (!pl->in_msg)
		return;
	if (pl->mode == PQ_JSON)
		str_cat(pl->line, "]}\n");
	else
		str_cat(pl->line, "\n");
	pq_out(str_ptr(pl->line), str_len(pl->line));
	str_reset(pl->line);
	pl->in_msg = false;
}

static void
pq_message(struct pq_list *pl, const struct attr_list *al)
{
	const char *queue = attr_get(al, "queue_name");
	const char *id = attr_get(al, "queue_id");
	const char *sender = attr_get(al, "sender");
	long when, size, expired;
	char date[32];
	struct tm *tm;
	time_t t;
	int mark = 0;

	if (queue == NULL || id == NULL || sender == NULL ||
	    attr_get_long(al, "time", &when) < 0 ||
	    attr_get_long(al, "size", &size) < 0 ||
	    attr_get_long(al, "forced_expire", &expired) < 0)
		msg_fatal_status(EX_SOFTWARE, "malformed showq server reply");
	pq_end_msg(pl);
	pl->in_msg = true;
	pl->first_rcpt = true;
	pl->count++;
	pl->total_size += size;
	if (*sender == 0)
		sender = "MAILER-DAEMON";
	str_reset(pl->reason);

	if (pl->mode == PQ_JSON) {
		str_cat(pl->line, "{\"queue_name\": ");
		pq_json_str(pl->line, queue);
		str_cat(pl->line, ", \"queue_id\": ");
		pq_json_str(pl->line, id);
		str_catfmt(pl->line,
		    ", \"arrival_time\": %ld, \"message_size\": %ld, "
		    "\"forced_expire\": %s, \"sender\": ",
		    when, size, expired ? "true" : "false");
		pq_json_str(pl->line, sender);
		str_cat(pl->line, ", \"recipients\": [");
		return;
	}

	if (pl->count == 1)
		printf("%s\n",
		    var_enable_long_queue_ids
			? "----Queue ID----- --Size-- ---Arrival Time---- "
			  "--Sender/Recipient------"
			: "-Queue ID-  --Size-- ----Arrival Time---- "
			  "-Sender/Recipient-------");
	/* The status mark follows the ID and may push the row right. */
	if (strcmp(queue, QUEUE_ACTIVE) == 0)
		mark = '*';
	else if (strcmp(queue, QUEUE_HOLD) == 0)
		mark = '!';
	else if (expired)
		mark = '#';
	t = (time_t)when;
	tm = localtime(&t);
	if (tm == NULL ||
	    strftime(date, sizeof(date), "%a %b %e %H:%M:%S ", tm) == 0)
		date[0] = 0;
	str_set(pl->reason, "");
	{
		struct str *idm = str_new(QUEUE_ID_MAX + 2);

		str_set(idm, id);
		if (mark)
			str_catc(idm, (char)mark);
		if (var_enable_long_queue_ids)
			str_catfmt(pl->line, "%-17s %8ld %-19.19s %s\n",
			    str_ptr(idm), size, date, sender);
		else
			str_catfmt(pl->line, "%-11s %7ld %-20.20s %s\n",
			    str_ptr(idm), size, date, sender);
		str_free(idm);
	}
}

static void
pq_recipient(struct pq_list *pl, const struct attr_list *al)
{
	const char *addr = attr_get(al, "address");
	const char *reason = attr_get(al, "reason");
	size_t len;

	if (!pl->in_msg || addr == NULL)
		msg_fatal_status(EX_SOFTWARE, "malformed showq server reply");
	if (pl->mode == PQ_JSON) {
		if (!pl->first_rcpt)
			str_cat(pl->line, ", ");
		pl->first_rcpt = false;
		str_cat(pl->line, "{\"address\": ");
		pq_json_str(pl->line, addr);
		if (reason != NULL) {
			str_cat(pl->line, ", \"delay_reason\": ");
			pq_json_str(pl->line, reason);
		}
		str_cat(pl->line, "}");
		return;
	}
	/* A reason is shown only when it changes, right-aligned. */
	if (reason != NULL && strcmp(reason, str_ptr(pl->reason)) != 0) {
		len = strlen(reason);
		str_catfmt(pl->line, "%*s(%s)\n",
		    len < PQ_REASON_EDGE ? (int)(PQ_REASON_EDGE - len) : 0, "",
		    reason);
		str_set(pl->reason, reason);
	}
	str_catfmt(pl->line, "%*s%s\n", var_enable_long_queue_ids ? 47 : 41, "",
	    addr);
}

/* Read showq's lists from st and print them; false when cut short. */
static bool
pq_show(struct stream *st, enum pq_mode mode)
{
	struct attr_list *al = attr_new();
	struct pq_list pl = { mode, str_new(256), str_new(64), false, false, 0,
		0 };
	const char *kind;
	bool done = false;

	if (attr_read(st, al, SHOWQ_VALUE_MAX) < 0 ||
	    !attr_expect(al, "protocol", SHOWQ_PROTOCOL))
		msg_fatal_status(EX_SOFTWARE, "malformed showq server reply");
	while (!done) {
		if (attr_read(st, al, SHOWQ_VALUE_MAX) < 0)
			break;
		if ((kind = attr_get(al, "kind")) == NULL)
			msg_fatal_status(EX_SOFTWARE,
			    "malformed showq server reply");
		if (strcmp(kind, SHOWQ_KIND_MESSAGE) == 0)
			pq_message(&pl, al);
		else if (strcmp(kind, SHOWQ_KIND_RECIPIENT) == 0)
			pq_recipient(&pl, al);
		else if (strcmp(kind, SHOWQ_KIND_END) == 0)
			done = true;
		else
			msg_fatal_status(EX_SOFTWARE,
			    "malformed showq server reply");
	}
	pq_end_msg(&pl);
	if (mode == PQ_LIST) {
		if (pl.count == 0)
			printf("Mail queue is empty\n");
		else
			printf("-- %ld Kbytes in %ld Request%s.\n",
			    pl.total_size / 1024, pl.count,
			    pl.count == 1 ? "" : "s");
	}
	str_free(pl.line);
	str_free(pl.reason);
	attr_free(al);
	return done;
}

/*
 * Root with the mail system down: run showq by hand on one end of a
 * socket pair (it drops to mail_owner itself), as Postfix does.
 */
static struct stream *
pq_showq_direct(pid_t *pid)
{
	struct str *path = str_new(64);
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		msg_fatal_status(EX_OSERR, "socketpair: %m");
	str_fmt(path, "%s/%s", var_daemon_directory, var_showq_service_name);
	if ((*pid = fork()) < 0)
		msg_fatal_status(EX_OSERR, "fork: %m");
	if (*pid == 0) {
		if (dup2(sv[1], 0) < 0)
			msg_fatal("dup2: %m");
		setenv("MAIL_CONFIG", config_dir(), 1);
		execl(str_ptr(path), var_showq_service_name, "-u", "-S",
		    msg_verbose ? "-v" : (char *)NULL, (char *)NULL);
		msg_fatal("execute %s: %m", str_ptr(path));
	}
	close(sv[1]);
	str_free(path);
	return stream_open(sv[0]);
}

static void
pq_list(enum pq_mode mode)
{
	struct str *why = str_new(64), *path = str_new(64);
	struct stream *st;
	pid_t pid = 0;
	int fd, status;
	bool ok;

	str_fmt(path, "public/%s", var_showq_service_name);
	if ((fd = sock_unix_connect(str_ptr(path), var_ipc_timeout * 1000,
		 why)) >= 0) {
		st = stream_open(fd);
	} else if (getuid() == 0) {
		msg_warn("Mail system is down -- accessing queue directly");
		st = pq_showq_direct(&pid);
	} else {
		msg_fatal_status(EX_UNAVAILABLE,
		    "Queue report unavailable - mail system is down");
	}
	stream_set_timeout(st, var_ipc_timeout * 1000);
	ok = pq_show(st, mode);
	stream_close(st);
	if (fflush(stdout) != 0 || ferror(stdout))
		msg_fatal_status(EX_IOERR, "write error: %m");
	if (pid > 0)
		(void)waitpid(pid, &status, 0);
	if (!ok)
		msg_fatal_status(EX_SOFTWARE, "error reading queue listing");
	str_free(why);
	str_free(path);
}

/* Wake a public service; false when nobody took the bytes. */
static bool
pq_trigger(const char *service, const char *bytes)
{
	struct str *path = str_new(64), *why = str_new(64);
	bool ok;

	str_fmt(path, "public/%s", service);
	ok = trigger_send(str_ptr(path), bytes, strlen(bytes), why) == 0;
	if (!ok && msg_verbose)
		msg_info("%s", str_ptr(why));
	str_free(path);
	str_free(why);
	return ok;
}

/*
 * -f: forget dead destinations, ignore the deferred queue's time stamps,
 * scan it and incoming (qmgr's F, A, D, I: the bytes Postfix 3.7 sends,
 * observed), then wake pickup, as Postfix's mail_flush_deferred() and
 * mail_flush_maildrop().
 */
#define PQ_FLUSH_QMGR "FADI"
static void
pq_flush(void)
{
	if (!pq_trigger(var_queue_service_name, PQ_FLUSH_QMGR) ||
	    !pq_trigger(var_pickup_service_name, "W"))
		msg_fatal_status(EX_UNAVAILABLE,
		    "Cannot flush mail queue - mail system is down");
}

/* The fatal error for a flush service reply other than OK, as Postfix's. */
static void
pq_flush_status(int status, const char *site)
{
	switch (status) {
	case FLUSH_STAT_OK:
		return;
	case FLUSH_STAT_BAD:
		msg_fatal_status(EX_USAGE, "Invalid request: \"%s\"", site);
	case FLUSH_STAT_DENY:
		msg_fatal_status(EX_UNAVAILABLE,
		    "Flush service is not configured for destination \"%s\"",
		    site);
	default:
		msg_fatal_status(EX_UNAVAILABLE,
		    "Cannot flush mail queue - mail system is down");
	}
}

/* An argument in a fatal message: at most 100 bytes, then "...". */
#define PQ_DOTS(s) (strlen(s) > 100 ? "..." : "")

/* -i: the flush service requeues one deferred message. */
static void
pq_flush_file(const char *id)
{
	if (!flush_clnt_id_ok(id))
		msg_fatal_status(EX_UNAVAILABLE,
		    "Cannot flush queue ID - invalid name: \"%.100s%s\"", id,
		    PQ_DOTS(id));
	pq_flush_status(flush_clnt_send_file(id), id);
}

/*
 * -s: the flush service requeues what it listed for a fast_flush_domains
 * site.  The list is checked here first, as Postfix's client does, so
 * that an ineligible site is named as such even when the service is down.
 */
static void
pq_flush_site(const char *site)
{
	struct match_list *ml;
	int hit;

	if (!flush_clnt_site_ok(site))
		msg_fatal_status(EX_UNAVAILABLE,
		    "Cannot flush mail queue - invalid destination: "
		    "\"%.100s%s\"",
		    site, PQ_DOTS(site));
	ml = match_list_new("fast_flush_domains", var_fast_flush_domains, 0);
	hit = match_list_domain(ml, site);
	match_list_free(ml);
	if (hit == 0)
		pq_flush_status(FLUSH_STAT_DENY, site);
	pq_flush_status(flush_clnt_send_site(site), site);
}

int
main(int argc, char **argv)
{
	struct str *why = str_new(100);
	enum pq_mode mode = PQ_NONE;
	const char *dir = NULL, *arg = NULL;
	char *env_dir = NULL;
	int ch;

	msg_init(argv[0]);
	/*
	 * A set-gid program keeps only what Postfix's import_environment
	 * lets through by default: the config directory (checked below) and
	 * the time zone that the listing's times are shown in.
	 */
	if (getenv("MAIL_CONFIG") != NULL)
		dir = env_dir = xstrdup(getenv("MAIL_CONFIG"));
	if (confdir_untrusted()) {
		char *tz = getenv("TZ") ? xstrdup(getenv("TZ")) : NULL;

		(void)clearenv();
		if (tz != NULL && setenv("TZ", tz, 1) < 0)
			msg_fatal("setenv: %m");
		free(tz);
	}
	while ((ch = getopt(argc, argv, "c:fi:jps:v")) > 0) {
		enum pq_mode want = PQ_NONE;

		switch (ch) {
		case 'c':
			dir = optarg;
			break;
		case 'f':
			want = PQ_FLUSH;
			break;
		case 'i':
			want = PQ_FILE;
			arg = optarg;
			break;
		case 'j':
			want = PQ_JSON;
			break;
		case 'p':
			want = PQ_LIST;
			break;
		case 's':
			want = PQ_SITE;
			arg = optarg;
			break;
		case 'v':
			msg_verbose++;
			break;
		default:
			usage();
		}
		if (want != PQ_NONE) {
			if (mode != PQ_NONE)
				usage();
			mode = want;
		}
	}
	if (argc > optind || mode == PQ_NONE)
		usage();

	if (dir != NULL && confdir_untrusted())
		confdir_check(dir);
	config_init(dir);
	/* config_init() keeps its own copy; dir is not used after this. */
	free(env_dir);
	dir = env_dir = NULL;
	if (config_read(why) < 0)
		msg_fatal("%s", str_ptr(why));
	params_load();
	maillog_init(MAILLOG_STDERR);
	if (chdir(var_queue_directory) < 0)
		msg_fatal_status(EX_UNAVAILABLE, "chdir %s: %m",
		    var_queue_directory);
	(void)signal(SIGPIPE, SIG_IGN);

	switch (mode) {
	case PQ_LIST:
	case PQ_JSON:
		pq_list(mode);
		break;
	case PQ_FLUSH:
		pq_flush();
		break;
	case PQ_FILE:
		pq_flush_file(arg);
		break;
	case PQ_SITE:
		pq_flush_site(arg);
		break;
	default:
		usage();
	}
	str_free(why);
	return 0;
}
