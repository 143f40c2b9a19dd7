/*
 * virtual - deliver mail to virtual mailboxes: one mbox file or Maildir
 * per address, owned by IDs that come from tables, not from the password
 * database.  No aliases, no .forward, no commands.
 * Run by master on private/virtual, one request per process at a time
 * (DAEMON_SINGLE), as root (DAEMON_PRIVILEGED), because each delivery runs
 * with the user and group IDs that virtual_uid_maps and virtual_gid_maps
 * give for the recipient.
 * Reads a delivery request from qmgr (deliver.h), the message from the
 * queue file, virtual_mailbox_maps, virtual_uid_maps, virtual_gid_maps;
 * writes mbox files (lib/mail/mbox.c) and Maildirs (lib/mail/maildir.c)
 * below virtual_mailbox_base.  Reports each recipient with deliver_sent/
 * bounce/defer, which log Postfix's "status=" lines with relay=virtual.
 * Fails closed: a uid below virtual_minimum_uid, a missing uid or gid, a
 * table that cannot be read, all defer (4.3.5) with Postfix's warnings;
 * mailboxes are opened without following symlinks.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/daemon.h"
#include "lib/mail/deliver.h"
#include "lib/mail/deliver_serve.h"
#include "lib/mail/mail_copy.h"
#include "lib/mail/maildir.h"
#include "lib/mail/maps.h"
#include "lib/mail/mbox.h"
#include "lib/mail/params.h"

#define VIRTUAL_RELAY "virtual"
#define VIRTUAL_FIND  (MAPS_FIND_FULL | MAPS_FIND_NOEXT | MAPS_FIND_AT_DOMAIN)

static struct maps *virtual_mailbox_maps;
static struct maps *virtual_uid_maps;
static struct maps *virtual_gid_maps;
static int virtual_lock_mask;

/* Postfix's mbox_dsn(): the enhanced status code for an errno. */
static const char *
virtual_dsn(int err, const char *def)
{
	switch (err) {
	case EAGAIN:
	case ESTALE:
		return "4.2.0";
	case ENOSPC:
		return "4.3.0";
	case EDQUOT:
	case EFBIG:
		return "5.2.2";
	default:
		return def;
	}
}

static void
virtual_root(void)
{
	if (seteuid(0) < 0 || setegid(0) < 0)
		msg_fatal("cannot restore root privileges: %m");
}

static void
virtual_set_privs(uid_t uid, gid_t gid)
{
	virtual_root();
	if (setgroups(1, &gid) < 0 || setegid(gid) < 0 || seteuid(uid) < 0)
		msg_fatal("set_eugid(%ld, %ld): %m", (long)uid, (long)gid);
}

/* A decimal ID as the tables give it; -1 when it is not one. */
static long
virtual_id(const char *s)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (end == s || *end != 0 || errno != 0 || n < 0 || n > INT_MAX)
		return -1;
	return n;
}

/*
 * One ID from virtual_uid_maps or virtual_gid_maps: 0 with *id, or -1
 * after a warning (the recipient is deferred).  A uid must be at least
 * virtual_minimum_uid, a gid positive, as in Postfix.
 */
static int
virtual_lookup_id(struct maps *maps, const char *addr, long min, long *id)
{
	const char *res;

	res = maps_find_addr(maps, addr, VIRTUAL_FIND, var_recipient_delimiter,
	    false, NULL);
	if (res == NULL) {
		if (maps->error == DICT_ERR_NONE)
			msg_warn("recipient %s: not found in %s", addr,
			    maps->title);
		else
			msg_warn("table %s: lookup %s: lookup error",
			    maps->title, addr);
		return -1;
	}
	if ((*id = virtual_id(res)) < min) {
		msg_warn("recipient %s: bad %s %s in %s", addr,
		    maps == virtual_uid_maps ? "uid" : "gid", res, maps->title);
		return -1;
	}
	return 0;
}

static void
virtual_report(struct deliver_request *req, struct deliver_rcpt *r,
    const char *dsn, const char *text)
{
	if (dsn[0] == '2')
		(void)deliver_sent(req, r, VIRTUAL_RELAY, dsn, "%s", text);
	else if (dsn[0] == '4')
		(void)deliver_defer(req, r, VIRTUAL_RELAY, dsn, "%s", text);
	else
		(void)deliver_bounce(req, r, VIRTUAL_RELAY, dsn, "%s", text);
}

static void
virtual_recipient(struct deliver_request *req, int qfd, struct deliver_rcpt *r)
{
	struct str *addr = str_new(0), *path = str_new(0), *why = str_new(0);
	struct str *what = str_new(0), *text = str_new(0);
	struct mail_copy_src src = { 0 };
	const char *res, *orig = str_ptr(r->orig_rcpt);
	long uid, gid;
	bool maildir;
	int ret, saved;

	/* The tables are searched for the lower-case address. */
	str_set(addr, str_ptr(r->address));
	str_lower(addr);
	res = maps_find_addr(virtual_mailbox_maps, str_ptr(addr), VIRTUAL_FIND,
	    var_recipient_delimiter, false, NULL);
	if (res == NULL) {
		if (virtual_mailbox_maps->error != DICT_ERR_NONE) {
			msg_warn("table %s: lookup %s: lookup error",
			    virtual_mailbox_maps->title, str_ptr(addr));
			virtual_report(req, r, "4.3.5",
			    "mail system configuration error");
		} else {
			/* Postfix names the lower-case address here. */
			str_fmt(text, "unknown user: \"%s\"", str_ptr(addr));
			virtual_report(req, r, "5.1.1", str_ptr(text));
		}
		goto out;
	}
	if (virtual_lookup_id(virtual_uid_maps, str_ptr(addr),
		var_virtual_minimum_uid, &uid) < 0 ||
	    virtual_lookup_id(virtual_gid_maps, str_ptr(addr), 1, &gid) < 0) {
		virtual_report(req, r, "4.3.5",
		    "mail system configuration error");
		goto out;
	}
	str_fmt(path, "%s/%s", var_virtual_mailbox_base, res);
	maildir = str_ptr(path)[str_len(path) - 1] == '/';
	if (req->flags & DELIVER_FLAG_VERIFY) {
		virtual_report(req, r, "2.0.0",
		    maildir ? "delivers to maildir" : "delivers to mailbox");
		goto out;
	}

	src.qfd = qfd;
	src.data_offset = req->data_offset;
	src.sender = str_ptr(req->sender);
	src.orig_rcpt = *orig ? orig : str_ptr(r->address);
	src.delivered = str_ptr(addr);
	virtual_set_privs((uid_t)uid, (gid_t)gid);
	if (maildir) {
		ret = maildir_deliver(str_ptr(path), &src,
		    MAIL_COPY_RETURN_PATH | MAIL_COPY_ORIG_RCPT |
			MAIL_COPY_DELIVERED,
		    what, why);
	} else {
		struct mbox_opts o = {
			.uid = (uid_t)uid,
			.gid = (gid_t)gid,
			.lock_mask = virtual_lock_mask,
			.size_limit = var_virtual_mailbox_limit,
			.copy_flags = MAIL_COPY_MBOX,
		};

		ret = mbox_append(str_ptr(path), &o, &src, why);
	}
	saved = errno;
	virtual_root();
	if (ret == 0) {
		virtual_report(req, r, "2.0.0",
		    maildir ? "delivered to maildir" : "delivered to mailbox");
	} else if (maildir) {
		/* Postfix's wording: the step that failed and its errno. */
		str_fmt(text, "%s: %s", str_ptr(what), strerror(saved));
		if (saved == EACCES) {
			msg_warn("maildir access problem for UID/GID=%ld/%ld: "
				 "%s",
			    uid, gid, str_ptr(text));
			msg_warn("perhaps you need to create the maildirs in "
				 "advance");
		}
		str_fmt(why, "maildir delivery failed: %s", str_ptr(text));
		str_set(text, str_ptr(why));
		virtual_report(req, r, virtual_dsn(saved, "4.2.0"),
		    str_ptr(text));
	} else {
		str_fmt(text, "delivery failed to mailbox %s: %s",
		    str_ptr(path), str_ptr(why));
		virtual_report(req, r, virtual_dsn(saved, "4.2.0"),
		    str_ptr(text));
	}
out:
	str_free(addr);
	str_free(path);
	str_free(why);
	str_free(what);
	str_free(text);
}

static int
virtual_request(struct deliver_request *req, int qfd, void *ctx,
    struct str *why)
{
	(void)ctx;
	(void)why;
	deliver_conn_done(req);
	for (size_t i = 0; i < req->rcpt_count; i++)
		virtual_recipient(req, qfd, &req->rcpt[i]);
	return 0;
}

static void
virtual_service(struct stream *st, const char *service, char **argv)
{
	(void)service;
	(void)argv;
	deliver_serve(st, VIRTUAL_RELAY, virtual_request, NULL);
}

static void
virtual_pre_jail(const char *service, char **argv)
{
	(void)service;
	(void)argv;
	/* A mailbox must hold at least one message (Postfix's check). */
	if (var_virtual_mailbox_limit > 0 && var_message_size_limit > 0 &&
	    var_virtual_mailbox_limit < var_message_size_limit)
		msg_fatal("configuration error: virtual_mailbox_limit is "
			  "smaller than message_size_limit");
	virtual_lock_mask =
	    mbox_lock_mask("virtual_mailbox_lock", var_virtual_mailbox_lock);
	virtual_mailbox_maps = maps_new("virtual_mailbox_maps",
	    var_virtual_mailbox_maps, DICT_FLAGS_READ);
	virtual_uid_maps =
	    maps_new("virtual_uid_maps", var_virtual_uid_maps, DICT_FLAGS_READ);
	virtual_gid_maps =
	    maps_new("virtual_gid_maps", var_virtual_gid_maps, DICT_FLAGS_READ);
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.kind = DAEMON_SINGLE,
		.service = virtual_service,
		.pre_jail = virtual_pre_jail,
		.flags = DAEMON_PRIVILEGED,
	};

	return daemon_main(argc, argv, &spec);
}
