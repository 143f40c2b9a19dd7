/*
 * mail_owner - the accounts Postern runs as, checked as Postfix checks them.
 *
 * mail_owner_init()      after params_load(): look up default_privs,
 *                        mail_owner and setgid_group and refuse an unsafe
 *                        setup with Postfix's fatal text, e.g. "file
 *                        /etc/postfix/main.cf: parameter mail_owner: user
 *                        root has privileged user ID" (see mail_owner.c for
 *                        the list and its order).  May be called again after
 *                        a reload.
 * mail_owner_uid()       mail_owner's user ID
 * mail_owner_gid()       mail_owner's primary group ID
 * setgid_gid()           setgid_group's group ID
 * default_privs_uid()    (additive) default_privs' user ID
 * default_privs_gid()    (additive) default_privs' primary group ID
 * mail_owner_drop()      become mail_owner for good: supplementary groups
 *                        exactly { mail_owner_gid() }, then the group ID,
 *                        then the user ID; fatal on failure with Postfix's
 *                        "setgroups(1, &GID): ...", "setgid(GID): ...",
 *                        "setuid(UID): ..." texts
 *
 * The accessors and mail_owner_drop() panic when mail_owner_init() has not
 * run: a daemon that forgot it must not guess an account.
 */
#ifndef MAIL_OWNER_H
#define MAIL_OWNER_H

#include <sys/types.h>

void mail_owner_init(void);
uid_t mail_owner_uid(void);
gid_t mail_owner_gid(void);
gid_t setgid_gid(void);
uid_t default_privs_uid(void);
gid_t default_privs_gid(void);
void mail_owner_drop(void);

#endif
