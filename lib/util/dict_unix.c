/*
 * dict_unix - unix:passwd.byname and unix:group.byname.
 *
 * The value is the passwd or group line, as Postfix 3.7 prints it:
 * "root:x:0:0:root:/root:/bin/bash", "adm:x:4:syslog,alice".
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/dict.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"

struct dict_unix {
	struct dict dict;
	struct str *result;
};

static const char *
dict_unix_passwd(struct dict *d, const char *key)
{
	struct dict_unix *du = (struct dict_unix *)d;
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(key)) == NULL) {
		if (errno != 0 && errno != ENOENT && errno != ESRCH &&
		    errno != EBADF && errno != EPERM)
			d->error = DICT_ERR_RETRY;
		return NULL;
	}
	str_fmt(du->result, "%s:%s:%ld:%ld:%s:%s:%s", pw->pw_name,
	    pw->pw_passwd, (long)pw->pw_uid, (long)pw->pw_gid, pw->pw_gecos,
	    pw->pw_dir, pw->pw_shell);
	return str_ptr(du->result);
}

static const char *
dict_unix_group(struct dict *d, const char *key)
{
	struct dict_unix *du = (struct dict_unix *)d;
	struct group *gr;

	errno = 0;
	if ((gr = getgrnam(key)) == NULL) {
		if (errno != 0 && errno != ENOENT && errno != ESRCH &&
		    errno != EBADF && errno != EPERM)
			d->error = DICT_ERR_RETRY;
		return NULL;
	}
	str_fmt(du->result, "%s:%s:%ld:", gr->gr_name, gr->gr_passwd,
	    (long)gr->gr_gid);
	for (char **m = gr->gr_mem; *m; m++) {
		if (m != gr->gr_mem)
			str_catc(du->result, ',');
		str_cat(du->result, *m);
	}
	return str_ptr(du->result);
}

static void
dict_unix_close(struct dict *d)
{
	str_free(((struct dict_unix *)d)->result);
	dict_free_common(d);
}

struct dict *
dict_unix_open(const char *name, int open_flags, int dict_flags,
    struct str *why)
{
	struct dict_unix *du;
	const char *(*lookup)(struct dict *, const char *);

	if (strcmp(name, "passwd.byname") == 0) {
		lookup = dict_unix_passwd;
	} else if (strcmp(name, "group.byname") == 0) {
		lookup = dict_unix_group;
	} else {
		str_fmt(why, "unknown table: unix:%s", name);
		return NULL;
	}
	if ((open_flags & O_ACCMODE) != O_RDONLY) {
		str_fmt(why, "unix:%s map requires O_RDONLY access mode", name);
		return NULL;
	}
	du = (struct dict_unix *)dict_alloc("unix", name, sizeof(*du));
	du->result = str_new(100);
	du->dict.lookup = lookup;
	du->dict.close = dict_unix_close;
	du->dict.flags = dict_flags | DICT_FLAG_FIXED;
	return &du->dict;
}
