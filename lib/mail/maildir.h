/*
 * maildir - deliver a message into a Maildir (local, virtual).
 *
 * maildir_deliver(dir, src, flags, what, why)  create DIR and its tmp/,
 *                    new/ and cur/ as needed (mode 0700), write the
 *                    message with mail_copy(flags) to tmp/TIME.PPID.QN.HOST,
 *                    fsync it, rename it to new/TIME.VDEVIINOMUSEC.HOST
 *                    (Postfix's names), fsync new/.  0, or -1 with errno,
 *                    why (the bare reason: strerror, or safe_open's or
 *                    mail_copy's text) and what (the step that failed, as
 *                    Postfix's virtual words it: "create maildir file
 *                    PATH" (also when DIR or tmp/ cannot be made),
 *                    "create maildir directory PATH" (new/, cur/),
 *                    "rename PATH to PATH")
 * The caller runs with the user's IDs: every file and directory created
 * belongs to the user.  Existing files are never followed: the message
 * file is created with O_EXCL without following symlinks.
 */
#ifndef MAILDIR_H
#define MAILDIR_H

#include "lib/util/str.h"
#include "lib/mail/mail_copy.h"

int maildir_deliver(const char *, const struct mail_copy_src *, int,
    struct str *, struct str *) __attribute__((warn_unused_result));

#endif
