/*
 * local - deliver mail to local users: mailboxes, aliases, .forward.
 * Run by master on private/local, one request per process at a time
 * (DAEMON_SINGLE), as root (DAEMON_PRIVILEGED), because each delivery runs
 * with the recipient's (or default_privs') user and group IDs.
 * Reads a delivery request from qmgr (deliver.h), the message from the
 * queue file, alias_maps, ~/.forward and :include: files; writes mbox
 * files, Maildirs, files and pipes to commands, and resubmits forwarded
 * mail through cleanup.  Reports each recipient with deliver_sent/bounce/
 * defer, which log Postfix's "status=" lines.
 * Faces local users: their .forward and :include: files and mailboxes
 * are opened without following symlinks (safe_open), commands get the
 * envelope only in the environment, never in the shell text.
 *
 * Files: local.c (requests, recipients, results), local_copy.c (the
 * message with its envelope headers), local_mbox.c (mbox, Maildir, files,
 * locks), local_command.c (commands), local_alias.c (aliases, .forward,
 * :include:, resubmission), local_pass.c (mailbox_transport and
 * fallback_transport: the recipient passed on to another agent).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <pwd.h>
#include <grp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/safe_open.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/addr.h"
#include "lib/mail/daemon.h"
#include "lib/mail/deliver.h"
#include "lib/mail/deliver_serve.h"
#include "lib/mail/maps.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/record.h"
#include "lib/mail/tr_clnt.h"
#include "local.h"

struct maps *local_alias_maps;
int local_cmd_mask, local_file_mask, local_hdr_mask;

void
local_result(struct local_state *s, enum local_kind kind, const char *dsn,
    const char *fmt, ...)
{
	struct local_result *r;
	struct str *text = str_new(0);
	va_list ap;

	va_start(ap, fmt);
	str_vcatfmt(text, fmt, ap);
	va_end(ap);
	s->results =
	    xreallocarray(s->results, s->result_count + 1, sizeof(*s->results));
	r = &s->results[s->result_count++];
	r->kind = kind;
	r->passed = false;
	r->dsn = xstrdup(dsn);
	r->text = str_steal(text);
	r->to = s->log_to ? xstrdup(s->log_to) : NULL;
}

/*
 * sendmail -bv (deliver.h): the delivery is reported, not made.  True when
 * the request is a verification; the result then says what would be done.
 */
bool
local_verify(struct local_state *s, const char *fmt, ...)
{
	struct str *text;
	va_list ap;

	if (!(s->req->flags & DELIVER_FLAG_VERIFY))
		return false;
	text = str_new(0);
	va_start(ap, fmt);
	str_vcatfmt(text, fmt, ap);
	va_end(ap);
	local_result(s, LOCAL_SENT, "2.0.0", "%s", str_ptr(text));
	str_free(text);
	return true;
}

/*
 * Duplicate elimination within one request (Postfix's been_here): the
 * same delivery (kind, user, target) is made once.  A repeat counts as
 * delivered with the same text; a delivery that did not succeed is
 * forgotten again (local_dup_settle), so a repeat then tries it itself.
 */
bool
local_dup(struct local_state *s, const char *kind, uid_t uid,
    const char *target)
{
	struct str *key = str_new(0);
	size_t i;
	bool maildir;

	str_fmt(key, "%s %ld %s", kind, (long)uid, target);
	for (i = 0; i < s->dups->argc; i++)
		if (strcmp(s->dups->argv[i], str_ptr(key)) == 0)
			break;
	if (i == s->dups->argc) {
		argv_add(s->dups, str_ptr(key));
		str_free(key);
		return false; /* new */
	}
	str_free(key);
	if (i < s->dups_mark && strcmp(kind, "include") == 0)
		return false; /* read again: what it lists is deduplicated */
	if (i >= s->dups_mark)
		return true; /* this recipient made it already: nothing new */

	/* An earlier recipient of this request made it: same result. */
	maildir = *target && target[strlen(target) - 1] == '/';
	if (strcmp(kind, "command") == 0)
		local_result(s, LOCAL_SENT, "2.0.0", "delivered to command: %s",
		    target);
	else if (maildir)
		local_result(s, LOCAL_SENT, "2.0.0", "delivered to maildir");
	else if (strcmp(kind, "mailbox") == 0)
		local_result(s, LOCAL_SENT, "2.0.0", "delivered to mailbox");
	else if (strcmp(kind, "file") == 0)
		local_result(s, LOCAL_SENT, "2.0.0", "delivered to file: %s",
		    target);
	return true;
}

/* After the delivery that local_dup() last let through (results from n). */
void
local_dup_settle(struct local_state *s, size_t n)
{
	bool ok = s->result_count > n;

	for (size_t i = n; i < s->result_count; i++)
		if (s->results[i].kind != LOCAL_SENT)
			ok = false;
	if (!ok && s->dups->argc > 0) {
		free(s->dups->argv[--s->dups->argc]);
		s->dups->argv[s->dups->argc] = NULL;
	}
}

void
local_root(void)
{
	if (seteuid(0) < 0 || setegid(0) < 0)
		msg_fatal("cannot restore root privileges: %m");
}

void
local_set_privs(const struct local_user *u)
{
	local_root();
	if (setgroups(1, &u->gid) < 0 || setegid(u->gid) < 0 ||
	    seteuid(u->uid) < 0)
		msg_fatal("set_eugid(%ld, %ld): %m", (long)u->uid,
		    (long)u->gid);
}

/* Postfix's mbox_dsn(): the enhanced status code for an errno. */
const char *
local_dsn_errno(int err, const char *def)
{
	switch (err) {
	case EAGAIN:
	case ESTALE:
	case ENOSPC:
	case ENOMEM:
	case EINTR:
		return "4.2.0";
	case EDQUOT:
	case EFBIG:
		return "5.2.2";
	default:
		return def;
	}
}

/* biff: tell comsat on localhost "user@offset" (Postfix's biff_notify). */
static void
local_biff(const char *user, long offset)
{
	struct sockaddr_in sin;
	struct str *text = str_new(0);
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(512);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	str_fmt(text, "%s@%ld", user, offset);
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0) {
		(void)sendto(fd, str_ptr(text), str_len(text) + 1, MSG_DONTWAIT,
		    (struct sockaddr *)&sin, sizeof(sin));
		close(fd);
	}
	str_free(text);
}

/*
 * The recipient's own mailbox (after aliases and .forward): mailbox_command,
 * else home_mailbox (mbox, or Maildir when it ends in '/'), else the spool.
 */
void
local_mailbox(struct local_state *s, const struct local_user *u)
{
	struct str *path = str_new(0);
	struct stat st;
	const char *cmd;
	size_t n;

	if (local_pass_mailbox(s, u->logname) ||
	    local_mailbox_cmd(s, u->logname, &cmd) < 0)
		goto out;
	if (*cmd) {
		if (local_expand_macros(s, path, cmd, u,
			var_command_expansion_filter) < 0) {
			local_result(s, LOCAL_DEFER, "4.3.5",
			    "mailbox_command configuration error");
			goto out;
		}
		if (!local_dup(s, "command", u->uid, str_ptr(path))) {
			n = s->result_count;
			local_command(s, str_ptr(path), u);
			local_dup_settle(s, n);
		}
		goto out;
	}
	if (*var_home_mailbox) {
		str_fmt(path, "%s/%s", u->home, var_home_mailbox);
		if (local_dup(s, "mailbox", u->uid, str_ptr(path)))
			goto out;
		n = s->result_count;
		if (str_ptr(path)[str_len(path) - 1] == '/')
			local_maildir(s, str_ptr(path), u);
		else
			local_mbox(s, str_ptr(path), u, true);
		local_dup_settle(s, n);
		goto out;
	}
	str_fmt(path, "%s/%s", var_mail_spool_directory, u->logname);
	if (local_dup(s, "mailbox", u->uid, str_ptr(path)))
		goto out;
	n = s->result_count;
	local_mbox(s, str_ptr(path), u, false);
	local_dup_settle(s, n);
	if (var_biff && s->result_count > 0 &&
	    s->results[s->result_count - 1].kind == LOCAL_SENT &&
	    stat(str_ptr(path), &st) == 0)
		local_biff(u->logname, (long)st.st_size);
out:
	str_free(path);
}

/* The Delivered-To: headers of the message, lower case, for loops. */
static int
local_read_headers(struct local_state *s)
{
	struct stream *st;
	struct str *buf = str_new(0), *val = str_new(0);
	int fd, type, ret = -1;
	bool in_hdr = false;

	if ((fd = dup(s->qfd)) < 0 ||
	    lseek(fd, s->req->data_offset, SEEK_SET) < 0) {
		if (fd >= 0)
			close(fd);
		goto out;
	}
	st = stream_open(fd);
	while ((type = rec_get(st, buf, 1 << 20)) == REC_TYPE_NORM ||
	       type == REC_TYPE_CONT) {
		if (str_len(buf) == 0 && type == REC_TYPE_NORM)
			break; /* end of the primary headers */
		if (in_hdr &&
		    (str_ptr(buf)[0] == ' ' || str_ptr(buf)[0] == '\t')) {
			continue;
		}
		in_hdr = strncasecmp(str_ptr(buf), "Delivered-To:", 13) == 0;
		if (in_hdr) {
			str_set(val, str_ptr(buf) + 13);
			str_trim(val);
			str_lower(val);
			argv_add(s->loop_hdrs, str_ptr(val));
		}
	}
	ret = type > 0 ? 0 : -1;
	stream_close(st);
out:
	str_free(buf);
	str_free(val);
	return ret;
}

/* Split the recipient into local part, user, extension and domain. */
void
local_split(struct local_state *s, const char *addr)
{
	struct str *lc = str_new(0);
	char *ext = NULL;

	str_set(lc, addr);
	str_lower(lc);
	s->address = str_steal(lc);
	addr_split(s->address, &s->local, &s->domain);
	s->user = maps_split_ext(s->local, var_recipient_delimiter, &ext);
	if (s->user == NULL) {
		s->user = xstrdup(s->local);
	} else if (strchr(ext, '/') != NULL) {
		/* $extension goes into forward_path: no "../" games. */
		msg_warn("%s: address with illegal extension: %s",
		    str_ptr(s->req->queue_id), s->local);
		free(ext);
	} else {
		s->delim = xstrndup(ext, 1);
		s->extension = xstrdup(ext + 1);
		free(ext);
	}
}

static void
local_state_clear(struct local_state *s)
{
	free(s->address);
	free(s->local);
	free(s->domain);
	free(s->user);
	free(s->extension);
	free(s->delim);
	for (size_t i = 0; i < s->result_count; i++) {
		free(s->results[i].dsn);
		free(s->results[i].text);
		free(s->results[i].to);
	}
	free(s->results);
	s->address = s->local = s->domain = s->user = NULL;
	s->extension = s->delim = NULL;
	s->results = NULL;
	s->result_count = 0;
	s->level = 0;
	s->depth = 0;
	s->exp_type = 0;
	s->log_to = NULL;
	s->indirect = s->own_orcpt = false;
	argv_free(s->fwd);
	argv_free(s->fwd_from);
	argv_free(s->fwd_orcpt);
	argv_free(s->owners);
	s->fwd = argv_new();
	s->fwd_from = argv_new();
	s->fwd_orcpt = argv_new();
	s->owners = argv_new();
}

/*
 * Whether one deliver_sent/deliver_bounce call recorded a final outcome
 * (soft_bounce turns a bounce into a defer and still returns 0).
 */
static int
local_status_begin(struct deliver_request *req)
{
	int saved = req->status;

	req->status = 0;
	return saved;
}

static bool
local_status_end(struct deliver_request *req, int saved, int ret)
{
	bool final = ret == 0 && !(req->status & DELIVER_STAT_DEFER);

	req->status |= saved;
	return final;
}

/*
 * Report what happened to one queue-file recipient: one status line per
 * result, each for the address it was for (an alias expansion logs
 * to=<member>, orig_to=<the original recipient>).  The recipient's R
 * record is marked done once, after all its results were recorded, and
 * only when all of them are final: a deferred expansion keeps it, so the
 * whole recipient is tried again (the others are repeated then, as in
 * Postfix).
 */
static void
local_report(struct local_state *s)
{
	struct deliver_request *req = s->req;
	struct deliver_rcpt *r = s->rcpt, tmp;
	int flags = req->flags;
	bool final = true;

	req->flags |= DELIVER_FLAG_PASSED; /* no marking per result */
	for (size_t i = 0; i < s->result_count; i++) {
		struct local_result *res = &s->results[i];
		struct deliver_rcpt *who = r;

		if (res->to != NULL) {
			tmp = *r;
			tmp.address = str_new(0);
			str_set(tmp.address, res->to);
			who = &tmp;
		}
		if (res->passed) {
			/* The other agent logged it; local crosses it off. */
			if (res->kind == LOCAL_DEFER) {
				req->status |= DELIVER_STAT_DEFER;
				final = false;
			}
		} else if (res->kind == LOCAL_DEFER) {
			(void)deliver_defer(req, who, "local", res->dsn, "%s",
			    res->text);
			final = false;
		} else {
			int saved = local_status_begin(req), ret;

			if (res->kind == LOCAL_BOUNCE)
				ret = deliver_bounce(req, who, "local",
				    res->dsn, "%s", res->text);
			else
				ret = deliver_sent(req, who, "local", res->dsn,
				    "%s", res->text);
			if (!local_status_end(req, saved, ret))
				final = false;
		}
		if (who == &tmp)
			str_free(tmp.address);
	}
	req->flags = flags;
	if (final)
		(void)deliver_mark_done(req, r);
}

/* Mail loop: the current address is in a Delivered-To: header already. */
bool
local_looped(struct local_state *s)
{
	for (size_t i = 0; i < s->loop_hdrs->argc; i++) {
		if (strcmp(s->loop_hdrs->argv[i], s->address) == 0) {
			local_result(s, LOCAL_BOUNCE, "5.4.6",
			    "mail forwarding loop for %s", s->address);
			return true;
		}
	}
	return false;
}

static void
local_recipient(struct local_state *s, struct deliver_rcpt *r)
{
	local_state_clear(s);
	s->rcpt = r;
	s->sender = str_ptr(s->req->sender);
	local_split(s, str_ptr(r->address));
	s->dups_mark = s->dups->argc;
	s->delivered = s->address;

	if (local_looped(s))
		goto out;
	local_expand(s);
	local_forward_flush(s);
	if (s->result_count == 0)
		local_result(s, LOCAL_SENT, "2.0.0", "discarded");
out:
	local_report(s);
}

static int
local_request(struct deliver_request *req, int qfd, void *ctx, struct str *why)
{
	struct local_state *s = ctx;

	s->req = req;
	s->qfd = qfd;
	if (local_read_headers(s) < 0) {
		str_set(why, "malformed content");
		return -1;
	}
	deliver_conn_done(req);
	for (size_t i = 0; i < req->rcpt_count; i++)
		local_recipient(s, &req->rcpt[i]);
	local_root();
	return 0;
}

static void
local_service(struct stream *st, const char *service, char **argv)
{
	struct local_state s;

	(void)argv;
	memset(&s, 0, sizeof(s));
	s.service = service;
	s.dups = argv_new();
	s.loop_hdrs = argv_new();
	s.qfd = -1;
	deliver_serve(st, "local", local_request, &s);
	local_state_clear(&s);
	argv_free(s.fwd);
	argv_free(s.fwd_from);
	argv_free(s.fwd_orcpt);
	argv_free(s.owners);
	argv_free(s.dups);
	argv_free(s.loop_hdrs);
}

/* The class lists: "alias, forward, include" and "command, file, forward". */
static int
local_mask(const char *param, const char *value, const char *const *names)
{
	struct argv *a = argv_split(value, ", \t\r\n");
	int mask = 0;

	for (size_t i = 0; i < a->argc; i++) {
		size_t k;

		for (k = 0; names[k]; k++)
			if (strcasecmp(a->argv[i], names[k]) == 0)
				break;
		if (names[k] == NULL)
			msg_fatal("bad %s value: %s", param, a->argv[i]);
		mask |= 1 << k;
	}
	argv_free(a);
	return mask;
}

static void
local_pre_jail(const char *service, char **argv)
{
	static const char *const exp[] = { "alias", "forward", "include",
		NULL };
	static const char *const hdr[] = { "command", "file", "forward", NULL };

	(void)service;
	(void)argv;
	local_cmd_mask = local_mask("allow_mail_to_commands",
	    var_allow_mail_to_commands, exp);
	local_file_mask =
	    local_mask("allow_mail_to_files", var_allow_mail_to_files, exp);
	local_hdr_mask = local_mask("prepend_delivered_header",
	    var_prepend_delivered_header, hdr);
	local_alias_maps =
	    maps_new("alias_maps", var_alias_maps, DICT_FLAGS_READ);
	local_pass_init();
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.kind = DAEMON_SINGLE,
		.service = local_service,
		.pre_jail = local_pre_jail,
		.flags = DAEMON_PRIVILEGED,
	};

	return daemon_main(argc, argv, &spec);
}
