/*
 * pipe - deliver mail to an external command (maildrop, uux, a filter)
 * named in master.cf:  flags=... user=... argv=command ${recipient} ...
 * Run by master on private/<service>, one request per process at a time
 * (DAEMON_SINGLE), as root (DAEMON_PRIVILEGED), because each command runs
 * with the user= IDs, never root's.
 * Reads a delivery request from qmgr (deliver.h) for one or more
 * recipients (<service>_destination_recipient_limit), the message from
 * the queue file; runs the command once per request with execve, no
 * shell (pipe_command.c), and reports every recipient of the request with
 * the command's outcome through deliver_sent/bounce/defer ("relay=SERVICE").
 * Faces the message and the envelope only through the command's argv and
 * standard input; the argv holds no shell text, so addresses cannot be
 * used to inject commands.
 *
 * Attributes (Postfix's pipe(8)): flags=DORXhuqF.>B, user=name[:group]
 * (required, never root), size=bytes, eol=string (\r \n \t escapes),
 * null_sender=text, directory=path, argv=command... (last).  A bad
 * attribute is fatal, as in Postfix: master throttles the service.
 */
#include <sys/types.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/config.h"
#include "lib/mail/daemon.h"
#include "lib/mail/deliver.h"
#include "lib/mail/deliver_serve.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/record.h"
#include "pipe.h"

static struct pipe_cfg pipe_cfg;

/* flags= letters, as pipe(8) lists them. */
static const struct {
	char letter;
	int flag;
} pipe_letters[] = {
	{ 'D', PIPE_FLAG_DELIVERED },
	{ 'O', PIPE_FLAG_ORIG_RCPT },
	{ 'R', PIPE_FLAG_RETURN_PATH },
	{ 'X', PIPE_FLAG_FINAL },
	{ 'h', PIPE_FLAG_FOLD_HOST },
	{ 'q', PIPE_FLAG_QUOTE },
	{ 'u', PIPE_FLAG_FOLD_USER },
	{ 'F', PIPE_FLAG_FROM },
	{ '.', PIPE_FLAG_DOT },
	{ '>', PIPE_FLAG_QUOTE_FROM },
	{ 'B', PIPE_FLAG_BLANK },
};

static int
pipe_flags(const char *s)
{
	int flags = 0;

	for (; *s; s++) {
		size_t i;

		for (i = 0; i < sizeof(pipe_letters) / sizeof(*pipe_letters);
		     i++)
			if (pipe_letters[i].letter == *s)
				break;
		if (i == sizeof(pipe_letters) / sizeof(*pipe_letters))
			msg_warn("unknown flag: %c (ignored)", *s);
		else
			flags |= pipe_letters[i].flag;
	}
	return flags;
}

/* eol=: the C escapes \r \n \t \\ as Postfix's unescape() reads them. */
static char *
pipe_unescape(const char *s)
{
	struct str *out = str_new(0);

	for (; *s; s++) {
		char c = *s;

		if (c == '\\' && s[1]) {
			s++;
			c = *s == 'r'   ? '\r'
			    : *s == 'n' ? '\n'
			    : *s == 't' ? '\t'
					: *s;
		}
		str_catn(out, &c, 1);
	}
	return str_steal(out);
}

/* user=name[:group]: never root, as Postfix refuses it. */
static void
pipe_user(const char *value)
{
	char *name = xstrdup(value), *group = strchr(name, ':');
	struct passwd *pw;
	struct group *gr;

	if (group)
		*group++ = 0;
	if ((pw = getpwnam(name)) == NULL)
		msg_fatal("user= command-line attribute specifies unknown "
			  "user: %s",
		    name);
	pipe_cfg.uid = pw->pw_uid;
	pipe_cfg.gid = pw->pw_gid;
	if (group != NULL) {
		if ((gr = getgrnam(group)) == NULL)
			msg_fatal("user= command-line attribute specifies "
				  "unknown group: %s",
			    group);
		pipe_cfg.gid = gr->gr_gid;
	}
	if (pipe_cfg.uid == 0)
		msg_fatal("user= command-line attribute specifies root "
			  "privileges");
	if (pipe_cfg.gid == 0)
		msg_fatal("user= command-line attribute specifies privileged "
			  "group id 0");
	free(name);
}

/* <service>_NAME when set, else def: the per-service parameter forms. */
static long
pipe_service_long(const char *suffix, long def, bool time)
{
	struct str *name = str_new(0), *val = str_new(0), *why = str_new(0);
	long ret = def;

	str_fmt(name, "%s_%s", pipe_cfg.service, suffix);
	if (config_raw(str_ptr(name)) != NULL &&
	    config_eval(str_ptr(name), val, why) == 0) {
		char *end;
		long n = strtol(str_ptr(val), &end, 10), unit = 1;

		if (time && *end && end[1] == 0)
			unit = *end == 's'   ? 1
			       : *end == 'm' ? 60
			       : *end == 'h' ? 3600
			       : *end == 'd' ? 86400
			       : *end == 'w' ? 604800
					     : 0;
		if (str_len(val) == 0 || end == str_ptr(val) || n <= 0 ||
		    unit == 0 || (*end && !(time && end[1] == 0)) ||
		    n > INT_MAX / unit)
			msg_fatal("bad %s value: %s", str_ptr(name),
			    str_ptr(val));
		ret = n * unit;
	}
	str_free(name);
	str_free(val);
	str_free(why);
	return ret;
}

static void
pipe_pre_jail(const char *service, char **argv)
{
	bool have_user = false;
	int i;

	pipe_cfg.service = service;
	pipe_cfg.null_sender = xstrdup("MAILER-DAEMON");
	pipe_cfg.eol = xstrdup("\n");
	pipe_cfg.directory = xstrdup(var_queue_directory);
	for (i = 0; argv[i] != NULL; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		size_t n = eq ? (size_t)(eq - a) : strlen(a);

		if (eq == NULL)
			msg_fatal("missing '=' after attribute name: %s", a);
		if (n == 4 && strncmp(a, "argv", 4) == 0)
			break;
		if (n == 5 && strncmp(a, "flags", 5) == 0) {
			pipe_cfg.flags = pipe_flags(eq + 1);
		} else if (n == 4 && strncmp(a, "user", 4) == 0) {
			pipe_user(eq + 1);
			have_user = true;
		} else if (n == 4 && strncmp(a, "size", 4) == 0) {
			char *end;

			errno = 0;
			pipe_cfg.size_limit = strtol(eq + 1, &end, 10);
			if (*end || end == eq + 1 || errno ||
			    pipe_cfg.size_limit < 0)
				msg_fatal("size= command-line attribute has "
					  "bad value: %s",
				    eq + 1);
		} else if (n == 3 && strncmp(a, "eol", 3) == 0) {
			free(pipe_cfg.eol);
			pipe_cfg.eol = pipe_unescape(eq + 1);
		} else if (n == 11 && strncmp(a, "null_sender", 11) == 0) {
			free(pipe_cfg.null_sender);
			pipe_cfg.null_sender = xstrdup(eq + 1);
		} else if (n == 9 && strncmp(a, "directory", 9) == 0) {
			free(pipe_cfg.directory);
			pipe_cfg.directory = xstrdup(eq + 1);
		} else {
			msg_fatal("unknown attribute name: %s", a);
		}
	}
	if (!have_user)
		msg_fatal("missing user= command-line attribute");
	if (argv[i] == NULL || argv[i][5] == 0)
		msg_fatal("missing argv= command-line attribute");
	pipe_cfg.argv = argv_new();
	argv_add(pipe_cfg.argv, argv[i] + 5);
	for (i++; argv[i] != NULL; i++)
		argv_add(pipe_cfg.argv, argv[i]);
	pipe_cfg.time_limit =
	    (int)pipe_service_long("time_limit", var_command_time_limit, true);
}

static void
pipe_report(struct deliver_request *req, struct deliver_rcpt *r,
    enum pipe_kind kind, const char *dsn, const char *text)
{
	/* Success notices: "relayed" unless flag X says final delivery. */
	static const struct deliver_diag relayed = { .action = "relayed" };

	if (kind == PIPE_SENT)
		(void)deliver_sent_diag(req, r, pipe_cfg.service, dsn,
		    (pipe_cfg.flags & PIPE_FLAG_FINAL) ? NULL : &relayed, "%s",
		    text);
	else if (kind == PIPE_DEFER)
		(void)deliver_defer(req, r, pipe_cfg.service, dsn, "%s", text);
	else
		(void)deliver_bounce(req, r, pipe_cfg.service, dsn, "%s", text);
}

static void
pipe_report_all(struct deliver_request *req, enum pipe_kind kind,
    const char *dsn, const char *text)
{
	for (size_t i = 0; i < req->rcpt_count; i++)
		pipe_report(req, &req->rcpt[i], kind, dsn, text);
}

/*
 * Flag D: a message whose primary headers hold "Delivered-To: RCPT"
 * already has been here (Postfix's check, observed: 5.4.6 bounce).  -1
 * when the queue file cannot be read.
 */
static int
pipe_looped(const struct deliver_request *req, int qfd, const char *rcpt,
    bool *looped)
{
	struct stream *st;
	struct str *buf = str_new(0), *val = str_new(0);
	int fd, type;

	*looped = false;
	if ((fd = dup(qfd)) < 0 || lseek(fd, req->data_offset, SEEK_SET) < 0) {
		if (fd >= 0)
			close(fd);
		str_free(buf);
		str_free(val);
		return -1;
	}
	st = stream_open(fd);
	while (
	    (type = rec_get(st, buf, var_line_length_limit)) == REC_TYPE_NORM ||
	    type == REC_TYPE_CONT) {
		if (str_len(buf) == 0 && type == REC_TYPE_NORM)
			break; /* end of the primary headers */
		if (strncasecmp(str_ptr(buf), "Delivered-To:", 13) != 0)
			continue;
		str_set(val, str_ptr(buf) + 13);
		str_trim(val);
		if (strcasecmp(str_ptr(val), rcpt) == 0)
			*looped = true;
	}
	stream_close(st);
	str_free(buf);
	str_free(val);
	return type > 0 ? 0 : -1;
}

static void
pipe_deliver(struct deliver_request *req, int qfd)
{
	struct deliver_rcpt **rcpts;
	struct argv *args = argv_new();
	struct str *bad = str_new(0);
	struct pipe_result res = { .text = str_new(0) };
	long limit;

	/* D and O write one recipient's headers: one recipient a request. */
	limit = pipe_service_long("destination_recipient_limit",
	    var_default_destination_recipient_limit, false);
	if ((pipe_cfg.flags & (PIPE_FLAG_DELIVERED | PIPE_FLAG_ORIG_RCPT)) &&
	    limit != 1) {
		pipe_report_all(req, PIPE_DEFER, "4.3.5",
		    "mail system configuration error");
		msg_warn("pipe flag `%c' requires "
			 "%s_destination_recipient_limit = 1",
		    (pipe_cfg.flags & PIPE_FLAG_DELIVERED) ? 'D' : 'O',
		    pipe_cfg.service);
		goto out;
	}
	if (pipe_cfg.size_limit > 0 && req->data_size > pipe_cfg.size_limit) {
		pipe_report_all(req, PIPE_BOUNCE, "5.2.3", "message too large");
		goto out;
	}
	if (pipe_cfg.flags & PIPE_FLAG_DELIVERED) {
		const char *rcpt = str_ptr(req->rcpt[0].address);
		bool looped;

		if (pipe_looped(req, qfd, rcpt, &looped) < 0) {
			pipe_report_all(req, PIPE_DEFER, "4.3.0",
			    "cannot read queue file");
			goto out;
		}
		if (looped) {
			str_fmt(res.text, "mail forwarding loop for %s", rcpt);
			pipe_report_all(req, PIPE_BOUNCE, "5.4.6",
			    str_ptr(res.text));
			goto out;
		}
	}
	rcpts = xreallocarray(NULL, req->rcpt_count ? req->rcpt_count : 1,
	    sizeof(*rcpts));
	for (size_t i = 0; i < req->rcpt_count; i++)
		rcpts[i] = &req->rcpt[i];
	if (pipe_argv(&pipe_cfg, req, rcpts, req->rcpt_count, args, bad) < 0) {
		msg_warn("file %s/master.cf: service %s: unknown macro name: "
			 "\"%s\"",
		    config_dir(), pipe_cfg.service, str_ptr(bad));
		pipe_report_all(req, PIPE_DEFER, "4.3.5",
		    "mail system configuration error");
		free(rcpts);
		goto out;
	}
	free(rcpts);
	if (req->flags & DELIVER_FLAG_VERIFY) {
		str_fmt(res.text, "delivers via %s service", pipe_cfg.service);
		pipe_report_all(req, PIPE_SENT, "2.0.0", str_ptr(res.text));
		goto out;
	}
	pipe_run(&pipe_cfg, req, qfd, &req->rcpt[0], args, &res);
	pipe_report_all(req, res.kind, res.dsn, str_ptr(res.text));
out:
	argv_free(args);
	str_free(bad);
	str_free(res.text);
}

static int
pipe_request(struct deliver_request *req, int qfd, void *ctx, struct str *why)
{
	(void)ctx;
	(void)why;
	if (req->rcpt_count > 0) {
		deliver_conn_done(req);
		pipe_deliver(req, qfd);
	}
	return 0;
}

static void
pipe_service(struct stream *st, const char *service, char **argv)
{
	(void)service;
	(void)argv;
	deliver_serve(st, pipe_cfg.service, pipe_request, NULL);
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.kind = DAEMON_SINGLE,
		.service = pipe_service,
		.pre_jail = pipe_pre_jail,
		.flags = DAEMON_PRIVILEGED,
	};

	return daemon_main(argc, argv, &spec);
}
