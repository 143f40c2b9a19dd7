/*
 * mbox - append a message to an mbox file with locking, as the delivery
 * agents that write mailboxes do (local, virtual).
 *
 * mbox_lock_mask(param, value)  the MBOX_LOCK_* bits of a lock list such
 *                            as "fcntl, dotlock" (mailbox_delivery_lock,
 *                            virtual_mailbox_lock); fatal on a bad name
 * mbox_append(path, opts, src, why)  append one message: 0, or -1 with
 *                            errno and why (the reason without the path)
 *
 * The caller runs with the IDs the file is to be opened with (the user's,
 * or root for the spool).  The file is opened with safe_open (no symlink,
 * one hard link, a regular file or a character device such as /dev/null;
 * created 0600 and given to opts->uid/gid), must belong to opts->uid when
 * opts->check_owner, must not be executable when opts->refuse_exec, is
 * locked as opts->lock_mask says (the dotlock PATH.lock first, so that two
 * deliveries to a mailbox that does not exist yet do not meet between its
 * creation and its chown; then fcntl and/or flock; deliver_lock_attempts
 * tries deliver_lock_delay apart, stale dotlocks removed after
 * stale_lock_time), appended to, fsynced, and cut back to its old size on
 * any error, so a failed delivery leaves no half message.  Only a delivery
 * killed in its write (kill -9, a crash) can leave one, which is delivered
 * again; when the file does not end in a newline, the next message starts
 * after "\n\n" (with a warning), so that readers do not take it as part
 * of the half one.  opts->size_limit (bytes, 0: none) bounds the file:
 * EFBIG, "error writing message: File too large".
 */
#ifndef MBOX_H
#define MBOX_H

#include <sys/types.h>
#include <stdbool.h>

#include "lib/util/str.h"
#include "lib/mail/mail_copy.h"

#define MBOX_LOCK_FCNTL   (1 << 0)
#define MBOX_LOCK_FLOCK   (1 << 1)
#define MBOX_LOCK_DOTLOCK (1 << 2)

struct mbox_opts {
	uid_t uid; /* owner of a new file */
	gid_t gid;
	int lock_mask;    /* MBOX_LOCK_* */
	long size_limit;  /* bytes, 0: none */
	int copy_flags;   /* MAIL_COPY_* */
	bool check_owner; /* an existing file must belong to uid */
	bool refuse_exec; /* an executable file is refused (file deliveries) */
};

int mbox_lock_mask(const char *, const char *);
int mbox_append(const char *, const struct mbox_opts *,
    const struct mail_copy_src *, struct str *)
    __attribute__((warn_unused_result));

#endif
