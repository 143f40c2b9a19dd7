/*
 * mail_owner - look up and check the accounts of main.cf's default_privs,
 * mail_owner and setgid_group, and drop privileges to mail_owner.
 *
 * The checks, their order and their texts are Postfix 3.7's, observed by
 * running Debian's "postfix status" with a private main.cf: first
 * default_privs (unknown, uid 0, gid 0), then mail_owner (unknown, uid 0,
 * gid 0, another account found first for its uid), then setgid_group
 * (unknown, gid 0, another group found first for its gid), then the
 * overlaps: default_privs and mail_owner (same name, same uid, same gid),
 * default_privs and setgid_group (same gid), mail_owner and setgid_group
 * (same gid).  "Another account" is what getpwuid() returns for the uid,
 * as in Postfix: a duplicate listed after mail_owner in /etc/passwd goes
 * unnoticed by both.
 *
 * Why it matters: mail_owner owns the queue, so it must not be root or
 * share its uid with a login; setgid_group lets postdrop and postqueue
 * into maildrop and public, so mail_owner's own group must differ, or
 * every mail_owner process could pose as a local submitter.
 */
#include <sys/types.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/config.h"
#include "lib/mail/mail_owner.h"
#include "lib/mail/params.h"

struct mail_owner_user {
	uid_t uid;
	gid_t gid;
};

static bool mail_owner_ready;
static struct mail_owner_user mail_owner_user;
static struct mail_owner_user mail_owner_privs;
static gid_t mail_owner_sgid;

/* Postfix words these as "file /etc/postfix/main.cf: TEXT". */
static void __attribute__((format(printf, 1, 2), noreturn))
mail_owner_fatal(const char *fmt, ...)
{
	struct str *text = str_new(200);
	va_list ap;

	va_start(ap, fmt);
	str_vcatfmt(text, fmt, ap);
	va_end(ap);
	msg_fatal("file %s/main.cf: %s", config_dir(), str_ptr(text));
}

/* Look up the user named by parameter param and apply the common checks. */
static struct mail_owner_user
mail_owner_lookup(const char *param, const char *name)
{
	struct mail_owner_user u;
	struct passwd *pw;

	if ((pw = getpwnam(name)) == NULL)
		mail_owner_fatal("parameter %s: unknown user name value: %s",
		    param, name);
	u.uid = pw->pw_uid;
	u.gid = pw->pw_gid;
	if (u.uid == 0)
		mail_owner_fatal("parameter %s: user %s has privileged user ID",
		    param, name);
	if (u.gid == 0)
		mail_owner_fatal(
		    "parameter %s: user %s has privileged group ID", param,
		    name);
	return u;
}

void
mail_owner_init(void)
{
	struct passwd *pw;
	struct group *gr;

	mail_owner_ready = false;
	mail_owner_privs =
	    mail_owner_lookup("default_privs", var_default_privs);

	mail_owner_user = mail_owner_lookup("mail_owner", var_mail_owner);
	if ((pw = getpwuid(mail_owner_user.uid)) != NULL &&
	    strcmp(pw->pw_name, var_mail_owner) != 0)
		mail_owner_fatal(
		    "parameter mail_owner: user %s has same user ID as %s",
		    var_mail_owner, pw->pw_name);

	if ((gr = getgrnam(var_setgid_group)) == NULL)
		mail_owner_fatal(
		    "parameter setgid_group: unknown group name: %s",
		    var_setgid_group);
	mail_owner_sgid = gr->gr_gid;
	if (mail_owner_sgid == 0)
		mail_owner_fatal(
		    "parameter setgid_group: group %s has privileged group ID",
		    var_setgid_group);
	if ((gr = getgrgid(mail_owner_sgid)) != NULL &&
	    strcmp(gr->gr_name, var_setgid_group) != 0)
		mail_owner_fatal(
		    "parameter setgid_group: group %s has same group ID as %s",
		    var_setgid_group, gr->gr_name);

	if (strcmp(var_default_privs, var_mail_owner) == 0)
		mail_owner_fatal(
		    "parameters default_privs and mail_owner specify the same user %s",
		    var_mail_owner);
	if (mail_owner_privs.uid == mail_owner_user.uid)
		mail_owner_fatal(
		    "parameters default_privs and mail_owner: users %s and %s have the same user ID: %ld",
		    var_default_privs, var_mail_owner,
		    (long)mail_owner_user.uid);
	if (mail_owner_privs.gid == mail_owner_user.gid)
		mail_owner_fatal(
		    "parameters default_privs and mail_owner: users %s and %s have the same group ID: %ld",
		    var_default_privs, var_mail_owner,
		    (long)mail_owner_user.gid);
	if (mail_owner_privs.gid == mail_owner_sgid)
		mail_owner_fatal(
		    "parameters default_privs and setgid_group: user %s and group %s have the same group ID: %ld",
		    var_default_privs, var_setgid_group, (long)mail_owner_sgid);
	if (mail_owner_user.gid == mail_owner_sgid)
		mail_owner_fatal(
		    "parameters mail_owner and setgid_group: user %s and group %s have the same group ID: %ld",
		    var_mail_owner, var_setgid_group, (long)mail_owner_sgid);
	mail_owner_ready = true;
}

static void
mail_owner_need(const char *what)
{
	if (!mail_owner_ready)
		msg_panic("%s: mail_owner_init() has not run", what);
}

uid_t
mail_owner_uid(void)
{
	mail_owner_need("mail_owner_uid");
	return mail_owner_user.uid;
}

gid_t
mail_owner_gid(void)
{
	mail_owner_need("mail_owner_gid");
	return mail_owner_user.gid;
}

gid_t
setgid_gid(void)
{
	mail_owner_need("setgid_gid");
	return mail_owner_sgid;
}

uid_t
default_privs_uid(void)
{
	mail_owner_need("default_privs_uid");
	return mail_owner_privs.uid;
}

gid_t
default_privs_gid(void)
{
	mail_owner_need("default_privs_gid");
	return mail_owner_privs.gid;
}

void
mail_owner_drop(void)
{
	uid_t uid;
	gid_t gid;

	mail_owner_need("mail_owner_drop");
	uid = mail_owner_user.uid;
	gid = mail_owner_user.gid;

	/* A process that lowered its effective uid (master) regains root. */
	if (geteuid() != 0 && seteuid(0) < 0)
		msg_fatal("seteuid(0): %m");
	if (setgroups(1, &gid) < 0)
		msg_fatal("setgroups(1, &%ld): %m", (long)gid);
	if (setgid(gid) < 0)
		msg_fatal("setgid(%ld): %m", (long)gid);
	if (setuid(uid) < 0)
		msg_fatal("setuid(%ld): %m", (long)uid);

	/* Irreversible, or it was no drop: a way back to root is a bug. */
	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid || setuid(0) == 0)
		msg_panic("mail_owner_drop: still able to regain privileges");
	if (msg_verbose > 1)
		msg_info("mail_owner_drop: uid %ld gid %ld", (long)uid,
		    (long)gid);
}
