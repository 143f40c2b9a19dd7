/*
 * local_alias - what a local recipient expands to: alias_maps (user+ext,
 * then user), owner-NAME as the error sender, ~/.forward (forward_path),
 * :include: files, luser_relay, and finally the user's mailbox; a user
 * without a passwd entry goes to mailbox_transport, fallback_transport
 * (local_pass.c) or luser_relay, or bounces.
 *
 * Each expansion is a list of tokens: |command, /file (a Maildir when it
 * ends in '/'), :include:/file, \user (that user's mailbox, no further
 * expansion) or an address.  As in Postfix, expansion is recursive and
 * in-process: an address that trivial-rewrite resolves to this agent (a
 * local domain, our transport) is delivered right here, through its own
 * aliases, .forward and mailbox, and logged "to=<member>, orig_to=<the
 * queue file's original recipient>"; the mailbox gets "Delivered-To:" of
 * the queue file's recipient.  A name that names itself goes to that
 * user's mailbox; each delivery is made once per request (local_dup);
 * more than 100 steps deep is "alias database loop for NAME" (5.4.6); a
 * Delivered-To: header naming an address bounces it (5.4.6 "mail
 * forwarding loop for ADDR") at every level.
 *
 * Other addresses, and every address listed by an alias that has an
 * owner-NAME alias or by a .forward file, are collected and resubmitted
 * through cleanup as one new message per envelope sender (the original
 * sender, or owner-NAME), with a Delivered-To: header; the queue file's
 * recipient is logged "forwarded as NEWQID".  Commands and files from
 * aliases run as default_privs, from .forward as the user, from :include:
 * as the file's owner (unless root); allow_mail_to_commands/files limit
 * them.  All results are reported for the queue file's recipient, which is
 * marked done only when all of them are final (local.c).
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/mac_expand.h"
#include "lib/util/msg.h"
#include "lib/util/safe_open.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/maps.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "lib/mail/tr_clnt.h"
#include "local.h"

#define LOCAL_LEVEL_MAX 100       /* :include: nesting */
#define LOCAL_DEPTH_MAX 100       /* in-process alias expansion steps */
#define LOCAL_FILE_MAX  (1 << 20) /* bytes of a .forward or :include: */

static void local_tokens(struct local_state *, const char *,
    const struct local_user *);

/* A passwd entry as a local_user; strings live in *pw's static area. */
static void
local_user_from(struct local_user *u, const struct passwd *pw)
{
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->logname = pw->pw_name;
	u->home = pw->pw_dir;
	u->shell = pw->pw_shell;
}

/* A copy of a passwd entry that survives the next getpwnam(). */
struct local_pw {
	struct local_user u;
	char *name, *home, *shell;
};

static bool
local_getpw(struct local_pw *p, const char *name, uid_t uid, bool by_uid)
{
	struct passwd *pw = by_uid ? getpwuid(uid) : getpwnam(name);

	memset(p, 0, sizeof(*p));
	if (pw == NULL)
		return false;
	p->name = xstrdup(pw->pw_name);
	p->home = xstrdup(pw->pw_dir);
	p->shell = xstrdup(pw->pw_shell);
	local_user_from(&p->u, pw);
	p->u.logname = p->name;
	p->u.home = p->home;
	p->u.shell = p->shell;
	return true;
}

static void
local_pw_free(struct local_pw *p)
{
	free(p->name);
	free(p->home);
	free(p->shell);
}

struct local_mac {
	struct local_state *s;
	const struct local_user *u;
	const char *filter;
	struct argv *vals;
};

/* $user, $home, ... with characters outside the filter replaced by '_'. */
static const char *
local_mac_lookup(const char *name, void *ctx)
{
	struct local_mac *m = ctx;
	struct local_state *s = m->s;
	const char *v = NULL;
	char *copy;

	if (strcmp(name, "user") == 0)
		v = m->u->logname;
	else if (strcmp(name, "home") == 0)
		v = m->u->home;
	else if (strcmp(name, "shell") == 0)
		v = m->u->shell;
	else if (strcmp(name, "recipient") == 0)
		v = s->address;
	else if (strcmp(name, "extension") == 0)
		v = s->extension;
	else if (strcmp(name, "domain") == 0)
		v = s->domain;
	else if (strcmp(name, "local") == 0)
		v = s->local;
	else if (strcmp(name, "mailbox") == 0)
		v = s->user;
	else if (strcmp(name, "recipient_delimiter") == 0)
		v = s->delim;
	if (v == NULL)
		return NULL;
	copy = xstrdup(v);
	for (char *p = copy; *p; p++)
		if (strchr(m->filter, *p) == NULL)
			*p = '_';
	argv_add(m->vals, copy);
	free(copy);
	return m->vals->argv[m->vals->argc - 1];
}

int
local_expand_macros(struct local_state *s, struct str *out, const char *text,
    const struct local_user *u, const char *filter)
{
	struct local_mac m = { s, u, filter, argv_new() };
	struct mac_expand_ctx ctx = { local_mac_lookup, NULL, &m,
		MAC_EXP_FLAG_NO_RECURSE };
	struct str *why = str_new(0);
	int ret;

	ret = mac_expand(out, text, &ctx, why);
	if (ret < 0)
		msg_warn("cannot expand \"%s\": %s", text, str_ptr(why));
	argv_free(m.vals);
	str_free(why);
	return ret;
}

/*
 * Queue an address for resubmission (once per sender), with the envelope
 * sender in effect (the original one, or owner-NAME) and, below an
 * owner- alias, the address itself as its original recipient.
 */
static void
local_forward_add(struct local_state *s, const char *addr)
{
	for (size_t i = 0; i < s->fwd->argc; i++)
		if (strcasecmp(s->fwd->argv[i], addr) == 0 &&
		    strcmp(s->fwd_from->argv[i], s->sender) == 0)
			return;
	argv_add(s->fwd, addr);
	argv_add(s->fwd_from, s->sender);
	argv_add(s->fwd_orcpt, s->own_orcpt ? addr : "");
}

/*
 * Resubmit the addresses queued with one sender as a new message: the
 * original arrival time and content, with a Delivered-To: header
 * (prepend_delivered_header = forward) so that a loop is noticed when the
 * mail comes back.  Each address gets the recipient's original recipient
 * (or, below an owner- alias, itself) and DSN attributes; without a DSN
 * ORCPT, "rfc822;" and that address, as Postfix writes it.
 */
static void
local_forward_one(struct local_state *s, const char *sender)
{
	struct cleanup *c;
	struct stream *out, *in = NULL;
	struct str *why = str_new(0), *buf = str_new(0);
	struct deliver_rcpt *r = s->rcpt;
	int fd, type, status;

	c = cleanup_open("public/cleanup",
	    CLEANUP_FLAG_BOUNCE | CLEANUP_FLAG_MAP_OK, why);
	if (c == NULL) {
		msg_warn("%s: cannot forward: %s", str_ptr(s->req->queue_id),
		    str_ptr(why));
		local_result(s, LOCAL_DEFER, "4.3.0", "mail forwarding error");
		goto done;
	}
	out = cleanup_stream(c);
	rec_fmt(out, REC_TYPE_TIME, "%ld %ld", (long)s->req->arrival.tv_sec,
	    (long)s->req->arrival.tv_usec);
	/* A probe's forwarded copy is a probe too (its own report). */
	if (s->req->flags & DELIVER_FLAG_VERIFY)
		rec_fmt(out, REC_TYPE_FLGS, "%d", CLEANUP_XFLAG_VERIFY);
	rec_puts(out, REC_TYPE_ATTR, "rewrite_context=local");
	rec_puts(out, REC_TYPE_FROM, sender);
	for (size_t i = 0; i < s->fwd->argc; i++) {
		const char *orcpt = s->fwd_orcpt->argv[i];

		if (strcmp(s->fwd_from->argv[i], sender) != 0)
			continue;
		if (*orcpt) {
			rec_fmt(out, REC_TYPE_DSN_ORCPT, "rfc822;%s", orcpt);
		} else {
			if (str_len(r->dsn_orcpt))
				rec_puts(out, REC_TYPE_DSN_ORCPT,
				    str_ptr(r->dsn_orcpt));
			else
				rec_fmt(out, REC_TYPE_DSN_ORCPT, "rfc822;%s",
				    str_ptr(r->address));
			orcpt = str_len(r->orig_rcpt) ? str_ptr(r->orig_rcpt)
						      : str_ptr(r->address);
		}
		rec_puts(out, REC_TYPE_ORCP, orcpt);
		if (r->notify)
			rec_fmt(out, REC_TYPE_DSN_NOTIFY, "%d", r->notify);
		rec_puts(out, REC_TYPE_RCPT, s->fwd->argv[i]);
	}
	rec_put(out, REC_TYPE_MESG, "", 0);
	if (local_hdr_mask & LOCAL_HDR_FORWARD)
		rec_fmt(out, REC_TYPE_NORM, "Delivered-To: %s", s->delivered);
	if ((fd = dup(s->qfd)) >= 0 &&
	    lseek(fd, s->req->data_offset, SEEK_SET) >= 0) {
		in = stream_open(fd);
		while ((type = rec_get(in, buf, 1 << 20)) == REC_TYPE_NORM ||
		       type == REC_TYPE_CONT)
			rec_put(out, type, str_ptr(buf), str_len(buf));
	} else {
		if (fd >= 0)
			close(fd);
		type = REC_ERROR;
	}
	stream_close(in);
	if (type != REC_TYPE_XTRA) {
		cleanup_abort(c);
		local_result(s, LOCAL_DEFER, "4.3.0",
		    "error reading message: queue file format error");
		goto done;
	}
	rec_put(out, REC_TYPE_XTRA, "", 0);
	rec_put(out, REC_TYPE_END, "", 0);
	str_set(buf, cleanup_queue_id(c));
	status = cleanup_close(c, why);
	if (status != 0) {
		const struct cleanup_smtp *smtp = cleanup_stat_smtp(status);

		local_result(s,
		    smtp->dsn[0] == '5' ? LOCAL_BOUNCE : LOCAL_DEFER, smtp->dsn,
		    "%s", str_len(why) > 6 ? str_ptr(why) + 6 : smtp->text);
	} else {
		local_result(s, LOCAL_SENT, "2.0.0", "forwarded as %s",
		    str_ptr(buf));
	}
done:
	str_free(why);
	str_free(buf);
}

/*
 * One new message per envelope sender; each is reported for the queue
 * file's recipient ("to=<crew@...> ... forwarded as NEWQID"), after what
 * was delivered in this process.
 */
void
local_forward_flush(struct local_state *s)
{
	s->log_to = NULL;
	for (size_t i = 0; i < s->fwd->argc; i++) {
		size_t k;

		for (k = 0; k < i; k++)
			if (strcmp(s->fwd_from->argv[k],
				s->fwd_from->argv[i]) == 0)
				break;
		if (k == i)
			local_forward_one(s, s->fwd_from->argv[i]);
	}
	argv_free(s->fwd);
	argv_free(s->fwd_from);
	argv_free(s->fwd_orcpt);
	s->fwd = argv_new();
	s->fwd_from = argv_new();
	s->fwd_orcpt = argv_new();
}

/*
 * Deliver to a local address found in an expansion, in this process: the
 * address becomes the current one (its own aliases, .forward, mailbox),
 * with the Delivered-To: loop check; its results are logged for it.
 */
static void
local_deliver_addr(struct local_state *s, const char *addr)
{
	char *address = s->address, *local = s->local, *domain = s->domain;
	char *user = s->user, *extension = s->extension, *delim = s->delim;
	const char *log_to = s->log_to, *sender = s->sender;
	int exp_type = s->exp_type;

	s->address = s->local = s->domain = s->user = NULL;
	s->extension = s->delim = NULL;
	local_split(s, addr);
	s->log_to = addr;
	s->depth++;
	s->level++;
	if (!local_looped(s))
		local_expand(s);
	s->level--;
	s->depth--;
	free(s->address);
	free(s->local);
	free(s->domain);
	free(s->user);
	free(s->extension);
	free(s->delim);
	s->address = address;
	s->local = local;
	s->domain = domain;
	s->user = user;
	s->extension = extension;
	s->delim = delim;
	s->log_to = log_to;
	s->sender = sender;
	s->exp_type = exp_type;
}

/*
 * An address from an alias, .forward, :include: or luser_relay, routed
 * as trivial-rewrite resolves it: an address that this agent delivers
 * (local domain class, transport = our service) is delivered in this
 * process, unless an owner- alias or a .forward is being expanded (then
 * the owner gets the errors: resubmitted like all others).
 */
static void
local_address(struct local_state *s, const char *addr)
{
	struct resolve_reply *rep = resolve_reply_new();
	struct str *canon = str_new(0);

	/* Canonical form first ("name" gets @$myorigin), then the route. */
	if (rewrite_addr("local", addr, canon) < 0 ||
	    resolve_addr(s->sender, str_ptr(canon), rep) < 0 ||
	    (rep->flags & RESOLVE_FLAG_FAIL)) {
		local_result(s, LOCAL_DEFER, "4.3.0",
		    "address resolver failure");
	} else if (rep->flags & RESOLVE_FLAG_ERROR) {
		local_result(s, LOCAL_BOUNCE, "5.1.3",
		    "bad recipient address syntax: %s",
		    str_ptr(rep->recipient));
	} else if (s->indirect || !(rep->flags & RESOLVE_CLASS_LOCAL) ||
		   strcmp(str_ptr(rep->transport), s->service) != 0) {
		local_forward_add(s, str_ptr(rep->recipient));
	} else {
		local_deliver_addr(s, str_ptr(rep->recipient));
	}
	resolve_reply_free(rep);
	str_free(canon);
}

/* Read a .forward or :include: file opened by the caller. */
static int
local_read_file(int fd, struct str *text)
{
	char buf[8192];
	ssize_t n;

	str_reset(text);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (str_len(text) + (size_t)n > LOCAL_FILE_MAX) {
			errno = EFBIG;
			return -1;
		}
		str_catn(text, buf, (size_t)n);
	}
	return n < 0 ? -1 : 0;
}

/* :include:/path, read with the current privileges. */
static void
local_include(struct local_state *s, const char *path,
    const struct local_user *u)
{
	struct str *why = str_new(0), *text = str_new(0);
	struct local_pw owner;
	struct stat st;
	int fd, saved_type = s->exp_type;

	memset(&owner, 0, sizeof(owner));
	if (s->level >= LOCAL_LEVEL_MAX) {
		local_result(s, LOCAL_BOUNCE, "5.4.6",
		    "possible include loop: %s", path);
		goto out;
	}
	if (local_dup(s, "include", u->uid, path))
		goto out;
	local_set_privs(u);
	fd = safe_open(path, O_RDONLY, 0, &st, -1, -1, why);
	if (fd >= 0 && local_read_file(fd, text) < 0) {
		str_fmt(why, "read error: %s", strerror(errno));
		close(fd);
		fd = -1;
	}
	local_root();
	if (fd < 0) {
		local_result(s, errno == ENOENT ? LOCAL_BOUNCE : LOCAL_DEFER,
		    errno == ENOENT ? "5.3.0" : "4.3.0",
		    "cannot open include file %s: %s", path, str_ptr(why));
		goto out;
	}
	close(fd);
	if (st.st_mode & S_IWOTH) {
		msg_warn("file %s is world writable", path);
		local_result(s, LOCAL_BOUNCE, "5.7.1",
		    "mail system configuration error");
		goto out;
	}
	/* A file owned by someone other than root speaks for its owner. */
	if (st.st_uid != 0 && st.st_uid != u->uid &&
	    local_getpw(&owner, NULL, st.st_uid, true))
		u = &owner.u;
	s->exp_type = LOCAL_EXP_INCLUDE;
	s->level++;
	local_tokens(s, str_ptr(text), u);
	s->level--;
	s->exp_type = saved_type;
out:
	local_pw_free(&owner);
	str_free(why);
	str_free(text);
}

/* \name or a bare name that is the recipient itself: its mailbox. */
static void
local_self(struct local_state *s, const char *name)
{
	struct local_pw pw;

	if (!local_getpw(&pw, name, 0, false)) {
		if (local_pass_mailbox(s, name))
			return;
		local_result(s, LOCAL_BOUNCE, "5.1.1", "unknown user: \"%s\"",
		    name);
		return;
	}
	local_mailbox(s, &pw.u);
	local_pw_free(&pw);
}

static void
local_token(struct local_state *s, char *tok, const struct local_user *u)
{
	size_t len = strlen(tok);

	if (len >= 2 && tok[0] == '"' && tok[len - 1] == '"') {
		tok[len - 1] = 0;
		tok++;
		while (*tok == ' ' || *tok == '\t')
			tok++;
	}
	if (*tok == 0)
		return;
	if (*tok == '|') {
		if (!(local_cmd_mask & s->exp_type)) {
			local_result(s, LOCAL_BOUNCE, "5.7.1",
			    "mail to command is restricted");
			return;
		}
		if (!local_dup(s, "command", u->uid, tok + 1)) {
			size_t n = s->result_count;

			local_command(s, tok + 1, u);
			local_dup_settle(s, n);
		}
	} else if (strncasecmp(tok, ":include:", 9) == 0) {
		local_include(s, tok + 9, u);
	} else if (*tok == '/') {
		local_file(s, tok, u);
	} else if (*tok == '\\') {
		local_self(s, tok + 1);
	} else if (strcasecmp(tok, s->user) == 0 ||
		   strcasecmp(tok, s->local) == 0 ||
		   strcasecmp(tok, s->address) == 0) {
		local_self(s, s->user);
	} else {
		local_address(s, tok);
	}
}

/*
 * Split an alias value or a file into tokens: commas (and new lines)
 * separate them outside double quotes; in files '#' starts a comment
 * line.  An unquoted token that is not a command or file is also split
 * at white space (.forward lists such as "a@x b@y").
 */
static void
local_tokens(struct local_state *s, const char *text,
    const struct local_user *u)
{
	struct str *tok = str_new(0);
	const char *p = text;
	bool quoted = false, bol = true;

	for (;; p++) {
		if (bol && !quoted && *p == '#') {
			while (*p && *p != '\n')
				p++;
		}
		bol = *p == '\n';
		if (*p == '"')
			quoted = !quoted;
		if (*p == 0 || (!quoted && (*p == ',' || *p == '\n'))) {
			str_trim(tok);
			if (str_len(tok) > 0) {
				char *t = str_ptr(tok);

				if (*t != '|' && *t != '"' && *t != '/' &&
				    strncasecmp(t, ":include:", 9) != 0 &&
				    strpbrk(t, " \t") != NULL) {
					struct argv *a = argv_split(t, " \t");

					for (size_t i = 0; i < a->argc; i++)
						local_token(s, a->argv[i], u);
					argv_free(a);
				} else {
					local_token(s, t, u);
				}
			}
			str_reset(tok);
			if (*p == 0)
				break;
			continue;
		}
		str_catc(tok, *p);
	}
	str_free(tok);
}

/*
 * alias_maps: 1 expanded, 0 no alias, -1 lookup error (deferred).  An
 * address more than LOCAL_DEPTH_MAX in-process expansion steps below the
 * queue file's recipient is an alias loop (cyca: cycb, cycb: cyca): 5.4.6
 * "alias database loop for NAME", with Postfix's warning.  With an
 * owner-NAME alias, owner-NAME (or its expansion, expand_owner_alias)
 * becomes the sender of what NAME expands to, and every address in it is
 * resubmitted, so that errors go to the owner.
 */
static int
local_alias(struct local_state *s)
{
	const char *keys[2] = { s->local, s->user };
	const char *value = NULL, *name = NULL;
	struct str *owner = str_new(0), *sender = str_new(0);
	struct local_pw privs;
	bool indirect = s->indirect, own_orcpt = s->own_orcpt;
	char *copy;
	int ret = 0;

	if (local_alias_maps == NULL)
		goto out;
	if (s->depth > LOCAL_DEPTH_MAX) {
		msg_warn("alias database loop for %s", s->local);
		local_result(s, LOCAL_BOUNCE, "5.4.6",
		    "alias database loop for %s", s->local);
		ret = 1;
		goto out;
	}
	for (int i = 0; i < 2 && value == NULL; i++) {
		if (i == 1 && strcmp(keys[0], keys[1]) == 0)
			break;
		value = maps_find(local_alias_maps, keys[i], 0);
		if (value == NULL && local_alias_maps->error) {
			local_result(s, LOCAL_DEFER, "4.3.0",
			    "alias database unavailable");
			ret = -1;
			goto out;
		}
		name = keys[i];
	}
	if (value == NULL)
		goto out;
	copy = xstrdup(value);

	str_fmt(owner, "owner-%s", name);
	if (strncmp(name, "owner-", 6) != 0 &&
	    (value = maps_find(local_alias_maps, str_ptr(owner), 0)) != NULL) {
		str_set(sender,
		    var_expand_owner_alias ? value : str_ptr(owner));
		str_trim(sender);
		argv_add(s->owners, str_ptr(sender));
		s->sender = s->owners->argv[s->owners->argc - 1];
		s->indirect = s->own_orcpt = true;
	}
	if (!local_getpw(&privs, var_default_privs, 0, false)) {
		local_result(s, LOCAL_DEFER, "4.3.0",
		    "unknown default_privs user: %s", var_default_privs);
		free(copy);
		ret = -1;
		goto out;
	}
	s->exp_type = LOCAL_EXP_ALIAS;
	local_tokens(s, copy, &privs.u);
	local_pw_free(&privs);
	free(copy);
	ret = 1;
out:
	s->indirect = indirect;
	s->own_orcpt = own_orcpt;
	str_free(owner);
	str_free(sender);
	return ret;
}

/*
 * ~/.forward: the first file of forward_path that exists, owned by the
 * user (or root), a regular file, opened as the user without following
 * symlinks.  1 expanded, 0 none (or empty).
 */
static int
local_dotforward(struct local_state *s, const struct local_user *u)
{
	struct str *paths = str_new(0), *why = str_new(0), *text = str_new(0);
	struct argv *list = NULL;
	struct stat st;
	int ret = 0;

	if (local_expand_macros(s, paths, var_forward_path, u,
		var_forward_expansion_filter) < 0)
		goto out;
	list = argv_split(str_ptr(paths), ", \t\r\n");
	for (size_t i = 0; i < list->argc; i++) {
		const char *path = list->argv[i];
		int fd;

		local_set_privs(u);
		fd = safe_open(path, O_RDONLY, 0, &st, -1, -1, why);
		if (fd >= 0 && local_read_file(fd, text) < 0) {
			msg_warn("cannot read %s: %m", path);
			close(fd);
			fd = -1;
			errno = EIO;
		}
		local_root();
		if (fd < 0) {
			if (errno != ENOENT && errno != ENOTDIR &&
			    errno != EACCES)
				msg_warn("cannot open %s: %s", path,
				    str_ptr(why));
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			break;
		}
		close(fd);
		if (st.st_uid != 0 && st.st_uid != u->uid) {
			msg_warn("file %s has bad owner uid %ld", path,
			    (long)st.st_uid);
			break;
		}
		if (st.st_mode & (S_IWGRP | S_IWOTH)) {
			msg_warn("file %s is group or world writable", path);
			break;
		}
		s->exp_type = LOCAL_EXP_FORWARD;
		{
			size_t before = s->result_count + s->fwd->argc;
			bool indirect = s->indirect;

			/* What .forward lists is resubmitted (but \user). */
			s->indirect = true;
			local_tokens(s, str_ptr(text), u);
			s->indirect = indirect;
			ret = s->result_count + s->fwd->argc > before;
		}
		break;
	}
out:
	argv_free(list);
	str_free(paths);
	str_free(why);
	str_free(text);
	return ret;
}

void
local_expand(struct local_state *s)
{
	struct local_pw pw;
	struct str *relay;

	if (local_alias(s) != 0)
		return;
	if (!local_getpw(&pw, s->user, 0, false)) {
		/* mailbox_transport serves users without a passwd entry too. */
		if (local_pass_mailbox(s, s->user) || local_pass_unknown(s))
			return;
		if (*var_luser_relay) {
			struct local_user none = { 0, 0, s->user, "", "" };

			relay = str_new(0);
			if (local_expand_macros(s, relay, var_luser_relay,
				&none, var_forward_expansion_filter) == 0 &&
			    str_len(relay) > 0) {
				local_address(s, str_ptr(relay));
			} else {
				local_result(s, LOCAL_DEFER, "4.3.5",
				    "luser_relay configuration error");
			}
			str_free(relay);
			return;
		}
		local_result(s, LOCAL_BOUNCE, "5.1.1", "unknown user: \"%s\"",
		    s->user);
		return;
	}
	if (local_home_check(s, &pw.u) == 0 && local_dotforward(s, &pw.u) == 0)
		local_mailbox(s, &pw.u);
	local_pw_free(&pw);
}
