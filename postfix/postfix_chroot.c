/*
 * postfix_chroot - give chrooted daemons the system files they read, so
 * that a Debian master.cf (chroot "y") works unchanged.
 *
 * This is what Debian's /usr/lib/postfix/configure-instance.sh (run by the
 * postfix@.service unit before start) does, matched here:
 *   - only when a master.cf service has chroot "y" ("-" counts as "y"
 *     below compatibility_level 1, where that is Postfix's default);
 *   - $queue_directory/etc/ gets copies of localtime, services,
 *     resolv.conf, hosts, host.conf, nsswitch.conf and nss_mdns.config,
 *     each only when /etc has it as a regular file (symbolic links such
 *     as /etc/localtime are followed), mode as cp makes it (the source's,
 *     minus umask 022) plus a+rX; a copy whose source has gone stays;
 *   - dev/random and dev/urandom as device nodes (its cpio -pdL, which
 *     leaves existing ones alone);
 *   - usr/lib/zoneinfo/localtime, a symbolic link to /etc/localtime;
 *   - the libgcc_s, libnss* and libresolv libraries from /lib/<triplet>/ and
 *     /lib/ (its tar: symbolic links stay links, files keep their mode), for
 *     NSS modules that glibc loads in the jail;
 *   - etc/passwd with the password field replaced by "x", when
 *     local_recipient_maps reads unix:passwd.byname other than through
 *     proxy:.
 * Not done: Debian's /etc/default/postfix settings (SYNC_CHROOT,
 * chroot_extra_files) and copying smtp(d)_tls_CApath (no TLS yet).  Each
 * copy is written to a temporary name and renamed, so a running daemon
 * never sees a missing or partial file.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/fdio.h"
#include "lib/util/mac_expand.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/mastercf.h"
#include "lib/mail/params.h"
#include "postfix/postfix.h"

static const char *const postfix_chroot_files[] = {
	"etc/localtime",
	"etc/services",
	"etc/resolv.conf",
	"etc/hosts",
	"etc/host.conf",
	"etc/nsswitch.conf",
	"etc/nss_mdns.config",
};

static const char *const postfix_chroot_devices[] = {
	"dev/random",
	"dev/urandom",
};

#define CHROOT_NFILES   (sizeof(postfix_chroot_files) / sizeof(char *))
#define CHROOT_NDEVICES (sizeof(postfix_chroot_devices) / sizeof(char *))

bool
postfix_chroot_need(const struct mastercf *mc)
{
	bool old_default = mac_compat_cmp(var_compatibility_level, "1") < 0;

	for (size_t i = 0; i < mc->count; i++) {
		const struct mastercf_entry *e = mc->entries[i];

		if (e->chroot || (old_default && strcmp(e->field[4], "-") == 0))
			return true;
	}
	return false;
}

/* mkdir -p for the directory part of rel (relative to the queue). */
static int
postfix_chroot_mkdirs(const char *rel, struct str *why)
{
	struct str *dir = str_new(100);
	const char *slash;

	for (slash = strchr(rel, '/'); slash; slash = strchr(slash + 1, '/')) {
		str_setn(dir, rel, (size_t)(slash - rel));
		if (mkdir(str_ptr(dir), 0755) < 0 && errno != EEXIST) {
			str_fmt(why, "cannot create directory %s/%s: %m",
			    var_queue_directory, str_ptr(dir));
			str_free(dir);
			return -1;
		}
	}
	str_free(dir);
	return 0;
}

/*
 * Replace rel (relative to the queue directory) with content, mode as cp
 * gives a new file (src_mode minus the umask) plus a+rX.
 */
static int
postfix_chroot_install(const char *rel, const struct str *content,
    mode_t src_mode, struct str *why)
{
	struct str *tmp = str_new(100);
	mode_t mode = src_mode & 0777 & ~(mode_t)022;
	int fd;

	mode |= 0444;
	if (mode & 0111)
		mode |= 0111;
	str_fmt(tmp, "%s.postfix-XXXXXX", rel);
	if ((fd = mkstemp(str_ptr(tmp))) < 0) {
		str_fmt(why, "cannot create %s/%s: %m", var_queue_directory,
		    str_ptr(tmp));
		str_free(tmp);
		return -1;
	}
	if (fdio_write(fd, str_ptr(content), str_len(content)) < 0 ||
	    fchmod(fd, mode) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		str_fmt(why, "cannot write %s/%s: %m", var_queue_directory,
		    str_ptr(tmp));
		(void)close(fd);
		(void)unlink(str_ptr(tmp));
		str_free(tmp);
		return -1;
	}
	if (rename(str_ptr(tmp), rel) < 0) {
		str_fmt(why, "cannot rename %s/%s to %s: %m",
		    var_queue_directory, str_ptr(tmp), rel);
		(void)unlink(str_ptr(tmp));
		str_free(tmp);
		return -1;
	}
	str_free(tmp);
	return 0;
}

/* Read all of /rel into content; 1 when /rel is no regular file. */
static int
postfix_chroot_read(const char *rel, struct str *content, struct stat *st,
    struct str *why)
{
	struct str *src = str_new(100);
	char buf[8192];
	ssize_t n;
	int fd;

	str_fmt(src, "/%s", rel);
	str_reset(content);
	if (stat(str_ptr(src), st) < 0 || !S_ISREG(st->st_mode)) {
		str_free(src);
		return 1;
	}
	if ((fd = open(str_ptr(src), O_RDONLY | O_CLOEXEC)) < 0) {
		str_fmt(why, "cannot open %s: %m", str_ptr(src));
		str_free(src);
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			str_fmt(why, "cannot read %s: %m", str_ptr(src));
			(void)close(fd);
			str_free(src);
			return -1;
		}
		str_catn(content, buf, (size_t)n);
	}
	(void)close(fd);
	str_free(src);
	return 0;
}

/* chmod a+rX of a copy whose source has gone. */
static int
postfix_chroot_readable(const char *rel, struct str *why)
{
	struct stat st;
	mode_t mode;

	if (stat(rel, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	mode = (st.st_mode & 07777) | 0444;
	if (mode & 0111)
		mode |= 0111;
	if (chmod(rel, mode) < 0) {
		str_fmt(why, "cannot chmod %s/%s: %m", var_queue_directory,
		    rel);
		return -1;
	}
	return 0;
}

/* The files of /etc. */
static int
postfix_chroot_files_sync(struct str *why)
{
	struct str *content = str_new(4096);
	struct stat st;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < CHROOT_NFILES; i++) {
		const char *rel = postfix_chroot_files[i];

		if ((rc = postfix_chroot_mkdirs(rel, why)) < 0)
			break;
		if ((rc = postfix_chroot_read(rel, content, &st, why)) < 0)
			break;
		if (rc == 0)
			rc = postfix_chroot_install(rel, content, st.st_mode,
			    why);
		else
			rc = postfix_chroot_readable(rel, why);
		if (rc == 0 && msg_verbose)
			msg_info("chroot: %s/%s", var_queue_directory, rel);
	}
	str_free(content);
	return rc;
}

/* dev/random and dev/urandom, created once (cpio -p keeps what exists). */
static int
postfix_chroot_devices_sync(struct str *why)
{
	struct str *src = str_new(40);
	struct stat st, old;
	mode_t mode;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < CHROOT_NDEVICES; i++) {
		const char *rel = postfix_chroot_devices[i];

		str_fmt(src, "/%s", rel);
		if (stat(str_ptr(src), &st) < 0 || !S_ISCHR(st.st_mode) ||
		    lstat(rel, &old) == 0)
			continue;
		if ((rc = postfix_chroot_mkdirs(rel, why)) < 0)
			break;
		mode = st.st_mode & 07777;
		if (mknod(rel, S_IFCHR | mode, st.st_rdev) < 0 ||
		    chmod(rel, mode) < 0) {
			str_fmt(why, "cannot create device %s/%s: %m",
			    var_queue_directory, rel);
			rc = -1;
		}
	}
	str_free(src);
	return rc;
}

/* usr/lib/zoneinfo/localtime -> /etc/localtime (ln -sf). */
static int
postfix_chroot_zoneinfo(struct str *why)
{
	static const char rel[] = "usr/lib/zoneinfo/localtime";

	if (postfix_chroot_mkdirs(rel, why) < 0)
		return -1;
	if ((unlink(rel) < 0 && errno != ENOENT) ||
	    symlink("/etc/localtime", rel) < 0) {
		str_fmt(why, "cannot link %s/%s to /etc/localtime: %m",
		    var_queue_directory, rel);
		return -1;
	}
	return 0;
}

/*
 * etc/passwd without passwords, for local_recipient_maps that read
 * unix:passwd.byname in the jail: Debian's sed replaces each line's second
 * field with "x".
 */
static int
postfix_chroot_passwd(struct str *why)
{
	struct str *in, *out;
	struct stat st;
	const char *p, *end, *colon, *next;
	int rc;

	if (strstr(var_local_recipient_maps, "unix:passwd.byname") == NULL ||
	    strstr(var_local_recipient_maps, "proxy:unix:passwd.byname"))
		return 0;
	if (postfix_chroot_mkdirs("etc/passwd", why) < 0)
		return -1;
	in = str_new(4096);
	if ((rc = postfix_chroot_read("etc/passwd", in, &st, why)) != 0) {
		str_free(in);
		return rc < 0 ? -1 : 0;
	}
	out = str_new(str_len(in) + 1);
	for (p = str_ptr(in), end = p + str_len(in); p < end; p = next) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		next = nl ? nl + 1 : end;
		colon = memchr(p, ':', (size_t)(next - p));
		if (colon == NULL) {
			str_catn(out, p, (size_t)(next - p));
			continue;
		}
		str_catn(out, p, (size_t)(colon - p));
		str_cat(out, ":x");
		for (p = colon + 1; p < next && *p != ':' && *p != '\n'; p++)
			;
		str_catn(out, p, (size_t)(next - p));
	}
	rc = postfix_chroot_install("etc/passwd", out, 0644, why);
	str_free(in);
	str_free(out);
	return rc;
}

/* One library: a symbolic link is copied as a link, a file as a file. */
static int
postfix_chroot_lib(const char *src, struct str *content, struct str *why)
{
	const char *rel = src + 1;
	struct str *target;
	struct stat st;
	ssize_t n;

	if (postfix_chroot_mkdirs(rel, why) < 0)
		return -1;
	if (lstat(src, &st) < 0)
		return 0;
	if (!S_ISLNK(st.st_mode)) {
		if (postfix_chroot_read(rel, content, &st, why) != 0)
			return -1;
		/* tar keeps the mode: undo install's umask and a+rX. */
		if (postfix_chroot_install(rel, content, st.st_mode, why) < 0 ||
		    chmod(rel, st.st_mode & 07777) < 0) {
			str_fmt(why, "cannot copy %s to %s/%s: %m", src,
			    var_queue_directory, rel);
			return -1;
		}
		return 0;
	}
	target = str_new((size_t)st.st_size + 1);
	if ((n = readlink(src, str_ptr(target), (size_t)st.st_size + 1)) < 0 ||
	    (size_t)n > (size_t)st.st_size) {
		str_free(target);
		return 0;
	}
	str_ptr(target)[n] = 0;
	if ((unlink(rel) < 0 && errno != ENOENT) ||
	    symlink(str_ptr(target), rel) < 0) {
		str_fmt(why, "cannot link %s/%s to %s: %m", var_queue_directory,
		    rel, str_ptr(target));
		str_free(target);
		return -1;
	}
	str_free(target);
	return 0;
}

/* Debian's list: for name in gcc_s nss resolv, in /lib/<triplet>/ and /lib/. */
static const char *const postfix_chroot_libs_globs[] = {
	"/lib/*/libgcc_s*.so*",
	"/lib/libgcc_s*.so*",
	"/lib/*/libnss*.so*",
	"/lib/libnss*.so*",
	"/lib/*/libresolv*.so*",
	"/lib/libresolv*.so*",
};

#define CHROOT_NLIBS (sizeof(postfix_chroot_libs_globs) / sizeof(char *))

static int
postfix_chroot_libs(struct str *why)
{
	struct str *content = str_new(4096);
	struct stat st;
	glob_t g;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < CHROOT_NLIBS; i++) {
		if (glob(postfix_chroot_libs_globs[i], 0, NULL, &g) != 0)
			continue;
		for (size_t k = 0; rc == 0 && k < g.gl_pathc; k++)
			if (stat(g.gl_pathv[k], &st) == 0 &&
			    S_ISREG(st.st_mode))
				rc = postfix_chroot_lib(g.gl_pathv[k], content,
				    why);
		globfree(&g);
	}
	str_free(content);
	return rc;
}

int
postfix_chroot_sync(struct str *why)
{
	if (postfix_chroot_passwd(why) < 0 ||
	    postfix_chroot_files_sync(why) < 0 ||
	    postfix_chroot_devices_sync(why) < 0 ||
	    postfix_chroot_zoneinfo(why) < 0 || postfix_chroot_libs(why) < 0)
		return -1;
	return 0;
}
