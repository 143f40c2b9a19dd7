/*
 * safe_open - open a file in a place that others can write (a mailbox in
 * /var/mail, a file in a user's home) without being tricked into following
 * a symlink or hard link to some other file (CVE-2008-2936).
 *
 * safe_open(path, flags, mode, st, uid, gid, why)  open path; returns the
 *                                  descriptor (close-on-exec) with *st
 *                                  filled by fstat(), or -1 with errno and
 *                                  a reason in why
 *
 * An existing file is opened with O_NOFOLLOW and refused if it is a
 * symbolic link, has more than one hard link, is not a regular file, or
 * is no longer the file that path names (lstat and fstat disagree).  It
 * is opened without O_TRUNC, which is applied only after the checks, so a
 * refused file is never changed; opening never blocks on a FIFO.
 *
 * O_CREAT creates the file with O_EXCL, and if it exists takes the path
 * for an existing file (with O_CREAT | O_EXCL only the first); a new file
 * is fchown'ed to uid and gid unless both are -1 (either may be -1 to
 * keep it).  Reasons read as in Postfix: "file is a symbolic link", "file
 * has 2 hard links", "file status changed unexpectedly", "cannot open
 * file: No such file or directory".  st and why may be NULL.
 */
#ifndef SAFE_OPEN_H
#define SAFE_OPEN_H

#include <sys/types.h>
#include <sys/stat.h>

#include "lib/util/str.h"

int safe_open(const char *, int, mode_t, struct stat *, uid_t, gid_t,
    struct str *) __attribute__((warn_unused_result));

#endif
