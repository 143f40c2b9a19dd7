/*
 * local_mbox - mbox files (the spool, home_mailbox, /file deliveries) and
 * Maildirs, written by lib/mail/mbox.c and lib/mail/maildir.c (shared with
 * virtual): what local adds is whose IDs a delivery runs with,
 * mailbox_delivery_lock, mailbox_size_limit, strict_mailbox_ownership,
 * prepend_delivered_header and the wording of its reasons.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/safe_open.h"
#include "lib/util/str.h"
#include "lib/mail/mail_copy.h"
#include "lib/mail/mail_owner.h"
#include "lib/mail/maildir.h"
#include "lib/mail/mbox.h"
#include "lib/mail/params.h"
#include "local.h"

/*
 * Append the message to an mbox file as u.  The "what" of the reason:
 * "mailbox PATH" for mailboxes, "file PATH" for files.  as_user: open
 * with the user's IDs (home directory); else as root (the spool, unless
 * it is world writable, as in Postfix).
 */
static int
local_mbox_append(struct local_state *s, const char *path,
    const struct local_user *u, bool as_user, bool mailbox, int copy_flags,
    struct str *why)
{
	struct mail_copy_src src = { 0 };
	struct str *delivered = str_new(0);
	const char *orig = str_ptr(s->rcpt->orig_rcpt);
	struct mbox_opts o = {
		.uid = u->uid,
		.gid = u->gid,
		.lock_mask = mbox_lock_mask("mailbox_delivery_lock",
		    var_mailbox_delivery_lock),
		.size_limit = var_mailbox_size_limit,
		.copy_flags = copy_flags,
		.check_owner = mailbox && var_strict_mailbox_ownership,
		.refuse_exec = !mailbox,
	};
	int ret, saved;

	str_set(delivered, s->delivered);
	str_lower(delivered);
	src.qfd = s->qfd;
	src.data_offset = s->req->data_offset;
	src.sender = s->sender;
	src.orig_rcpt = *orig ? orig : str_ptr(s->rcpt->address);
	src.delivered = str_ptr(delivered);
	if (as_user)
		local_set_privs(u);
	ret = mbox_append(path, &o, &src, why);
	saved = errno;
	local_root();
	str_free(delivered);
	errno = saved;
	return ret;
}

void
local_mbox(struct local_state *s, const char *path, const struct local_user *u,
    bool home)
{
	struct str *why = str_new(0);
	struct stat st;
	int flags = MAIL_COPY_MBOX;
	bool as_user = home;

	if (local_verify(s, "delivers to mailbox")) {
		str_free(why);
		return;
	}
	if (!(local_hdr_mask & LOCAL_HDR_FILE))
		flags &= ~MAIL_COPY_DELIVERED;
	if (!home && stat(var_mail_spool_directory, &st) == 0 &&
	    (st.st_mode & S_IWOTH))
		as_user = true;
	if (local_mbox_append(s, path, u, as_user, true, flags, why) < 0) {
		const char *dsn = local_dsn_errno(errno, "5.2.0");

		local_result(s, dsn[0] == '4' ? LOCAL_DEFER : LOCAL_BOUNCE, dsn,
		    "cannot update mailbox %s for user %s. %s", path, s->user,
		    str_ptr(why));
	} else {
		local_result(s, LOCAL_SENT, "2.0.0", "delivered to mailbox");
	}
	str_free(why);
}

void
local_file(struct local_state *s, const char *path, const struct local_user *u)
{
	struct str *why = str_new(0);
	int flags = MAIL_COPY_MBOX;
	size_t len = strlen(path), n;
	struct local_user nonroot;

	if (local_verify(s, "delivers to file: %s", path)) {
		str_free(why);
		return;
	}

	/* Never write a file as root: default_privs instead (Postfix). */
	if (u->uid == 0) {
		nonroot = *u;
		nonroot.uid = default_privs_uid();
		nonroot.gid = default_privs_gid();
		u = &nonroot;
	}

	if (!(local_file_mask & s->exp_type)) {
		local_result(s, LOCAL_BOUNCE, "5.7.1",
		    "mail to file is restricted");
		goto out;
	}
	if (local_dup(s, "file", u->uid, path))
		goto out;
	n = s->result_count;
	if (len > 0 && path[len - 1] == '/') {
		local_maildir(s, path, u);
		local_dup_settle(s, n);
		goto out;
	}
	if (!(local_hdr_mask & LOCAL_HDR_FILE))
		flags &= ~MAIL_COPY_DELIVERED;
	if (local_mbox_append(s, path, u, true, false, flags, why) < 0) {
		const char *dsn = local_dsn_errno(errno, "5.2.0");

		local_result(s, dsn[0] == '4' ? LOCAL_DEFER : LOCAL_BOUNCE, dsn,
		    "cannot append message to file %s: %s", path, str_ptr(why));
	} else {
		local_result(s, LOCAL_SENT, "2.0.0", "delivered to file: %s",
		    path);
	}
	local_dup_settle(s, n);
out:
	str_free(why);
}

void
local_maildir(struct local_state *s, const char *dir,
    const struct local_user *u)
{
	struct str *why = str_new(0), *what = str_new(0);
	struct str *delivered = str_new(0);
	struct mail_copy_src src = { 0 };
	const char *orig = str_ptr(s->rcpt->orig_rcpt);
	int flags =
	    MAIL_COPY_RETURN_PATH | MAIL_COPY_ORIG_RCPT | MAIL_COPY_DELIVERED;
	int ret, saved;

	if (local_verify(s, "delivers to maildir"))
		goto out;
	if (!(local_hdr_mask & LOCAL_HDR_FILE))
		flags &= ~MAIL_COPY_DELIVERED;
	str_set(delivered, s->delivered);
	str_lower(delivered);
	src.qfd = s->qfd;
	src.data_offset = s->req->data_offset;
	src.sender = s->sender;
	src.orig_rcpt = *orig ? orig : str_ptr(s->rcpt->address);
	src.delivered = str_ptr(delivered);
	local_set_privs(u);
	ret = maildir_deliver(dir, &src, flags, what, why);
	saved = errno;
	local_root();
	if (ret == 0) {
		local_result(s, LOCAL_SENT, "2.0.0", "delivered to maildir");
	} else {
		const char *dsn = local_dsn_errno(saved, "5.2.0");

		local_result(s, dsn[0] == '4' ? LOCAL_DEFER : LOCAL_BOUNCE, dsn,
		    "cannot update maildir %s for user %s. %s", dir, s->user,
		    str_ptr(why));
	}
out:
	str_free(why);
	str_free(what);
	str_free(delivered);
}
