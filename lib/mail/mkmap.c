/*
 * mkmap - the table work shared by postmap(1) and postalias(1): building
 * here, queries, deletions and listings in mkmap_query.c.
 *
 * A full build never modifies the live table: entries go into a temporary
 * file created exclusively beside it, which is renamed over the result only
 * after a successful flush, so readers see the old table or the new one,
 * never a half-written file (Postfix locks and truncates in place; daemons
 * notice either way because the file changes).  An incremental update (-i)
 * and deletions (-d) modify the table in place under the table's lock.
 *
 * Messages and exit paths are Postfix 3.7's, found by running its postmap
 * and postalias: "table hash:/p.db: query error", "map.db: duplicate entry",
 * "table static:x: sequence operation is not supported".
 */
#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/lline.h"
#include "lib/util/dict.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/config.h"
#include "lib/mail/mkmap.h"

/* The temporary file of the build in progress, removed on a fatal exit. */
static char *mkmap_pending;

/*
 * Every table this process has open, so that a fatal error can close them
 * (Berkeley DB handles would otherwise show up as leaks under sanitizers).
 */
static struct dict **mkmap_dicts;
static size_t mkmap_ndicts;

struct dict *
mkmap_track(struct dict *d)
{
	if (d != NULL) {
		mkmap_dicts = xreallocarray(mkmap_dicts, mkmap_ndicts + 1,
		    sizeof(*mkmap_dicts));
		mkmap_dicts[mkmap_ndicts++] = d;
	}
	return d;
}

struct dict *
mkmap_dict_close(struct dict *d)
{
	for (size_t i = 0; i < mkmap_ndicts; i++) {
		if (mkmap_dicts[i] == d) {
			mkmap_dicts[i] = mkmap_dicts[--mkmap_ndicts];
			break;
		}
	}
	return dict_close(d);
}

/*
 * On a fatal error: close the tables, remove the temporary table, and drop query output not
 * yet written, because Postfix's buffered stdout is lost when it dies (a
 * script sees the same partial output from both).
 */
static void
mkmap_cleanup(void)
{
	while (mkmap_ndicts > 0)
		(void)mkmap_dict_close(mkmap_dicts[0]);
	if (mkmap_pending)
		(void)unlink(mkmap_pending);
	__fpurge(stdout);
}

/* A parameter's expanded value, or def when it cannot be evaluated. */
static char *
mkmap_param(const char *name, const char *def)
{
	struct str *val = str_new(100), *why = str_new(100);
	char *res;

	if (config_eval(name, val, why) == 0 && str_len(val) > 0)
		res = str_steal(val);
	else
		res = xstrdup(def), str_free(val);
	str_free(why);
	return res;
}

void
mkmap_config(const char *dir, struct mkmap_conf *conf)
{
	struct str *why = str_new(100);
	unsigned long create;
	char host[256];
	char *s;

	msg_cleanup(mkmap_cleanup);
	config_init(dir);
	if (config_read(why) < 0)
		msg_fatal("%s", str_ptr(why));
	str_free(why);
	conf->db_type = mkmap_param("default_database_type", "hash");
	s = mkmap_param("smtputf8_enable", "yes");
	conf->utf8 = strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0;
	free(s);
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = 0;
	conf->myhostname = mkmap_param("myhostname", host);

	/* Building wants a large Berkeley DB cache (Postfix's postmap.c). */
	s = mkmap_param("berkeley_db_create_buffer_size", "16777216");
	create = strtoul(s, NULL, 10);
	free(s);
	s = mkmap_param("berkeley_db_read_buffer_size", "131072");
	dict_db_set_buffers(create, strtoul(s, NULL, 10));
	free(s);
}

void
mkmap_split(const char *arg, const char *deftype, char **type, char **name)
{
	const char *colon = strchr(arg, ':');

	if (colon) {
		*type = xstrndup(arg, (size_t)(colon - arg));
		*name = xstrdup(colon + 1);
	} else {
		*type = xstrdup(deftype);
		*name = xstrdup(arg);
	}
}

/* The suffix that a file-based type adds to the table name. */
static const char *
mkmap_suffix(const char *type)
{
	if (strcmp(type, "hash") == 0 || strcmp(type, "btree") == 0)
		return ".db";
	return NULL;
}

/* Postfix's "%m" says "Application error" when errno is 0. */
const char *
mkmap_errtext(void)
{
	return errno ? strerror(errno) : "Application error";
}

/*
 * How Postfix names an open table in its messages: a Berkeley DB table by
 * its file ("hash:map.db"), others as given.  Returns a static buffer.
 */
const char *
mkmap_dict_label(const struct dict *d)
{
	static struct str *buf;
	const char *suffix = mkmap_suffix(d->type);
	size_t n = strlen(d->name);

	if (buf == NULL)
		buf = str_new(100);
	str_fmt(buf, "%s:%s", d->type, d->name);
	if (suffix && (n < strlen(suffix) ||
			  strcmp(d->name + n - strlen(suffix), suffix) != 0))
		str_cat(buf, suffix);
	return str_ptr(buf);
}

/*
 * Types Debian's Postfix knows (postconf -m) but cannot build: it names
 * them so; types it does not know get the package hint below.
 */
static bool
mkmap_no_bulk(const char *type)
{
	static const char *const types[] = { "cidr", "environ", "inline",
		"internal", "memcache", "nis", "pcre", "pipemap", "proxy",
		"randmap", "regexp", "socketmap", "static", "tcp", "texthash",
		"unionmap", "unix", NULL };

	for (const char *const *t = types; *t; t++)
		if (strcmp(*t, type) == 0)
			return true;
	return false;
}

struct mkmap *
mkmap_open(const char *type, const char *name, int open_flags, int dict_flags,
    struct str *why)
{
	const char *suffix = mkmap_suffix(type);
	struct mkmap *m;
	struct str *spec;
	int open_dup;

	if (mkmap_no_bulk(type)) {
		str_fmt(why,
		    "unsupported dictionary type: %s does not support bulk-mode creation.",
		    type);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	spec = str_new(100);
	m->type = xstrdup(type);
	m->name = xstrdup(name);
	m->dup_flags = dict_flags & (DICT_FLAG_DUP_WARN | DICT_FLAG_DUP_IGNORE |
					DICT_FLAG_DUP_REPLACE);
	if (suffix) {
		str_fmt(spec, "%s%s", name, suffix);
		m->label = xstrdup(str_ptr(spec));
	} else {
		m->label = xstrdup(name);
	}

	/*
	 * The dict layer keeps the first of two entries silently; the warning
	 * is ours, so that it names the table file and not the temporary one.
	 */
	open_dup = m->dup_flags;
	if (open_dup & DICT_FLAG_DUP_WARN)
		open_dup = DICT_FLAG_DUP_IGNORE;
	dict_flags &= ~(
	    DICT_FLAG_DUP_WARN | DICT_FLAG_DUP_IGNORE | DICT_FLAG_DUP_REPLACE);
	dict_flags |= open_dup;

	if ((open_flags & O_TRUNC) && suffix) {
		struct str *tmp = str_new(100);
		int fd;

		str_fmt(tmp, "%s.tmpXXXXXX%s", name, suffix);
		if ((fd = mkstemps(str_ptr(tmp), (int)strlen(suffix))) < 0) {
			/* Postfix's text: it opens the table itself. */
			str_fmt(why, "open %s: %m", m->label);
			str_free(tmp);
			goto fail;
		}
		/* mkstemps made it 0600; give it the mode a new table gets. */
		{
			mode_t mask = umask(0);

			(void)umask(mask);
			(void)fchmod(fd, 0644 & ~mask);
		}
		(void)close(fd);
		m->final = xstrdup(m->label);
		m->temp = str_steal(tmp);
		mkmap_pending = m->temp;
		str_fmt(spec, "%s:%.*s", type,
		    (int)(strlen(m->temp) - strlen(suffix)), m->temp);
	} else {
		str_fmt(spec, "%s:%s", type, name);
	}
	m->dict =
	    mkmap_track(dict_open(str_ptr(spec), open_flags, dict_flags, why));
	if (m->dict == NULL) {
		/* Debian's Postfix, whose map types are packages, says more. */
		if (strncmp(str_ptr(why),
			"unsupported dictionary type: ", 29) == 0)
			str_catfmt(why,
			    ". Is the postfix-%s package installed?", type);
		goto fail;
	}
	str_free(spec);
	return m;

fail:
	str_free(spec);
	mkmap_abort(m);
	return NULL;
}

int
mkmap_append(struct mkmap *m, const char *key, const char *value)
{
	int rc;

	errno = 0;
	rc = dict_put(m->dict, key, value);
	if (rc < 0 || m->dict->error)
		msg_fatal("table %s:%s: write error: %s", m->type, m->label,
		    mkmap_errtext());
	if (rc == 1 && (m->dup_flags & DICT_FLAG_DUP_WARN)) {
		struct str *k = str_new(100);

		str_set(k, key);
		if (m->dict->flags & DICT_FLAG_FOLD_FIX)
			str_lower(k);
		mkmap_warn("%s: duplicate entry: \"%s\"", m->label, str_ptr(k));
		str_free(k);
	}
	return rc;
}

static void
mkmap_free(struct mkmap *m)
{
	if (mkmap_pending == m->temp)
		mkmap_pending = NULL;
	free(m->type);
	free(m->name);
	free(m->final);
	free(m->temp);
	free(m->label);
	free(m);
}

int
mkmap_close(struct mkmap *m, struct str *why)
{
	int rc = 0;

	if (dict_sync(m->dict) < 0) {
		str_fmt(why, "table %s:%s: sync error: %m", m->dict->type,
		    m->dict->name);
		rc = -1;
	}
	m->dict = mkmap_dict_close(m->dict);
	if (rc == 0 && m->temp && rename(m->temp, m->final) < 0) {
		str_fmt(why, "rename %s to %s: %m", m->temp, m->final);
		rc = -1;
	}
	if (rc < 0 && m->temp)
		(void)unlink(m->temp);
	mkmap_free(m);
	return rc;
}

struct mkmap *
mkmap_abort(struct mkmap *m)
{
	if (m == NULL)
		return NULL;
	if (m->dict)
		m->dict = mkmap_dict_close(m->dict);
	if (m->temp)
		(void)unlink(m->temp);
	mkmap_free(m);
	return NULL;
}

/* Drop to the source file's owner, so root cannot be tricked (postmap -o). */
static void
mkmap_set_owner(const struct stat *st)
{
	if (getuid() != 0)
		return;
	if (st->st_uid == geteuid() && st->st_gid == getegid())
		return;
	if (setegid(st->st_gid) < 0)
		msg_fatal("setegid(%ld): %m", (long)st->st_gid);
	if (seteuid(st->st_uid) < 0)
		msg_fatal("seteuid(%ld): %m", (long)st->st_uid);
}

/* Physical lines are not limited in Postfix; this only bounds memory. */
#define MKMAP_LINE_LIMIT (64 * 1024 * 1024)

void
mkmap_build(const char *type, const char *name, int build_flags, int open_flags,
    int dict_flags, bool utf8, mkmap_line_fn *line_fn, mkmap_end_fn *end_fn)
{
	struct str *why = str_new(100);
	struct str *line = str_new(1000);
	struct str *tmp = str_new(100);
	struct mkmap *m;
	struct lline ll;
	const char *path;
	struct stat st;
	mode_t saved_mask = 0;
	bool perm;
	FILE *fp;
	int rc;

	/* Spectators wait while a table is built or updated. */
	dict_flags |= DICT_FLAG_LOCK;
	if ((open_flags & O_TRUNC) == 0) {
		fp = stdin;
		path = "stdin";
	} else {
		if (strcmp(type, "proxy") == 0)
			msg_fatal("can't create maps via the proxy service");
		dict_flags |= DICT_FLAG_BULK_UPDATE;
		if ((fp = fopen(name, "r")) == NULL)
			msg_fatal("open %s: %m", name);
		path = name;
	}
	if (fstat(fileno(fp), &st) < 0)
		msg_fatal("fstat %s: %m", name);
	perm = (build_flags & MKMAP_SAVE_PERM) && S_ISREG(st.st_mode);
	if (perm)
		saved_mask = umask(022 | (~st.st_mode & 077));
	if (build_flags & MKMAP_AS_OWNER)
		mkmap_set_owner(&st);
	if ((m = mkmap_open(type, name, open_flags, dict_flags, why)) == NULL)
		msg_fatal("%s", str_ptr(why));
	if (perm)
		(void)umask(saved_mask);

	lline_open(&ll, fp, path, MKMAP_LINE_LIMIT);
	while ((rc = lline_read(&ll, line)) != 0) {
		if (rc < 0) {
			mkmap_warn("%s", str_ptr(ll.why));
			continue;
		}
		if (ll.leading_ws) {
			mkmap_warn(
			    "%s: logical line must not start with whitespace: \"%.30s%s\"",
			    path, str_ptr(line),
			    str_len(line) > 30 ? "..." : "");
			continue;
		}
		if (ll.has_nul) {
			mkmap_warn(
			    "%s, line %d: text after null byte may be ignored",
			    path, ll.lineno);
			str_truncate(line, strlen(str_ptr(line)));
		}
		if (utf8 && !mkmap_utf8_ok(str_ptr(line), str_len(line))) {
			mkmap_warn(
			    "%s, line %d: non-UTF-8 input \"%s\" -- ignoring this line",
			    path, ll.lineno,
			    mkmap_printable(str_ptr(line), tmp));
			continue;
		}
		line_fn(m, str_ptr(line), path, ll.lineno);
	}
	lline_close(&ll);
	if (end_fn)
		end_fn(m, open_flags);
	if (mkmap_close(m, why) < 0)
		msg_fatal("%s", str_ptr(why));
	if (fp != stdin)
		fclose(fp);
	str_free(why);
	str_free(line);
	str_free(tmp);
}

/* postmap -F: values are base64 of file contents (Postfix 3.4+). */
bool mkmap_base64;

void
mkmap_set_base64(bool on)
{
	mkmap_base64 = on;
}

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
mkmap_b64_encode(const unsigned char *in, size_t len, struct str *out)
{
	str_reset(out);
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		str_catc(out, b64chars[(v >> 18) & 63]);
		str_catc(out, b64chars[(v >> 12) & 63]);
		str_catc(out, i + 1 < len ? b64chars[(v >> 6) & 63] : '=');
		str_catc(out, i + 2 < len ? b64chars[v & 63] : '=');
	}
}

static int
mkmap_b64_value(int c)
{
	const char *p = c ? strchr(b64chars, c) : NULL;

	return p ? (int)(p - b64chars) : -1;
}

/*
 * Decode as Postfix's base64_decode(): the length must be a multiple of
 * four, and the first '=' ends the data.  0 ok, -1 malformed.
 */
int
mkmap_b64_decode(const char *in, struct str *out)
{
	size_t len = strlen(in);
	int c0, c1, c2, c3;

	str_reset(out);
	if (len % 4)
		return -1;
	for (const char *cp = in; cp < in + len; cp += 4) {
		if ((c0 = mkmap_b64_value(cp[0])) < 0 ||
		    (c1 = mkmap_b64_value(cp[1])) < 0)
			return -1;
		str_catc(out, (c0 << 2 | c1 >> 4) & 0xff);
		if (cp[2] == '=')
			break;
		if ((c2 = mkmap_b64_value(cp[2])) < 0)
			return -1;
		str_catc(out, (c1 << 4 | c2 >> 2) & 0xff);
		if (cp[3] == '=')
			break;
		if ((c3 = mkmap_b64_value(cp[3])) < 0)
			return -1;
		str_catc(out, (c2 << 6 | c3) & 0xff);
	}
	return 0;
}

int
mkmap_file_to_b64(const char *list, struct str *out, struct str *why)
{
	struct argv *files = argv_split(list, ", \t\r\n");
	struct str *data = str_new(1000);
	char buf[8192];
	size_t n;
	FILE *fp;
	int rc = 0;

	for (size_t i = 0; i < files->argc && rc == 0; i++) {
		if (i > 0)
			str_catc(data, '\n');
		if ((fp = fopen(files->argv[i], "r")) == NULL) {
			str_fmt(why, "open %s: %m", files->argv[i]);
			rc = -1;
			break;
		}
		while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
			str_catn(data, buf, n);
		if (ferror(fp)) {
			str_fmt(why, "read %s: %m", files->argv[i]);
			rc = -1;
		}
		fclose(fp);
	}
	if (rc == 0)
		mkmap_b64_encode((const unsigned char *)str_ptr(data),
		    str_len(data), out);
	str_free(data);
	argv_free(files);
	return rc;
}

/*
 * The postmap(1) source format, as Postfix 3.2+ parses it: the key ends at
 * the first white space outside double quotes, a backslash protects the
 * next byte, and the key keeps its quotes (postmap cannot know whether it
 * is an address localpart).  The value is trimmed on both sides.
 */
int
mkmap_parse_line(char *line, char **keyp, char **valuep, struct str *why)
{
	switch (dict_text_parse_line(line, keyp, valuep)) {
	case 0:
		return 0;
	case DICT_TEXT_QUOTE:
		str_fmt(why, "unbalanced '\"' in '%s' -- ignoring this line", line);
		return -1;
	default:
		str_set(why, "expected format: key whitespace value");
		return -1;
	}
}

/* Valid UTF-8 as Postfix's valid_utf8_string() sees it. */
bool
mkmap_utf8_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *e = p + len;

	while (p < e) {
		unsigned c = *p++;
		unsigned cp, need, min;

		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if ((size_t)(e - p) < need)
			return false;
		while (need-- > 0) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (*p++ & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

const char *
mkmap_printable(const char *s, struct str *out)
{
	const unsigned char *p = (const unsigned char *)s;

	str_reset(out);
	while (*p) {
		size_t n = 1;

		if (*p >= 0x80) {
			n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
			if (strnlen((const char *)p, n) < n ||
			    !mkmap_utf8_ok((const char *)p, n))
				n = 0;
		} else if (!isprint(*p)) {
			n = 0;
		}
		if (n == 0) {
			str_catc(out, '?');
			p++;
		} else {
			str_catn(out, p, n);
			p += n;
		}
	}
	return str_ptr(out);
}

void
mkmap_warn(const char *fmt, ...)
{
	struct str *text = str_new(200), *clean = str_new(200);
	va_list ap;

	va_start(ap, fmt);
	str_vcatfmt(text, fmt, ap);
	va_end(ap);
	msg_warn("%s", mkmap_printable(str_ptr(text), clean));
	str_free(text);
	str_free(clean);
}

/* What both commands do first: program name, umask, descriptors 0-2. */
void
mkmap_init(char **argv, struct mkmap_opts *o)
{
	char *slash;

	/* getopt's messages name the program as Postfix's do. */
	if ((slash = strrchr(argv[0], '/')) != NULL && slash[1])
		argv[0] = slash + 1;
	msg_init(argv[0]);
	umask(022);
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			msg_fatal("open /dev/null: %m");
	if (getenv("MAIL_VERBOSE"))
		msg_verbose = 1;
	memset(o, 0, sizeof(*o));
	o->build_flags = MKMAP_AS_OWNER | MKMAP_SAVE_PERM;
	o->open_flags = O_RDWR | O_CREAT | O_TRUNC;
	o->dict_flags = DICT_FLAG_DUP_WARN | DICT_FLAG_FOLD_FIX;
}

/* The options postmap and postalias share: true when ch was one. */
bool
mkmap_option(int ch, const char *arg, struct mkmap_opts *o)
{
	switch (ch) {
	case 'N':
		o->nul_flags = DICT_FLAG_TRY1NULL;
		break;
	case 'n':
		o->nul_flags = DICT_FLAG_TRY0NULL;
		break;
	case 'c':
		o->confdir = arg;
		break;
	case 'd':
		if (o->sequence || o->query || o->delkey)
			msg_fatal("specify only one of -s -q or -d");
		o->delkey = arg;
		break;
	case 'q':
		if (o->sequence || o->query || o->delkey)
			msg_fatal("specify only one of -s -q or -d");
		o->query = arg;
		break;
	case 's':
		if (o->query || o->delkey)
			msg_fatal("specify only one of -s or -q or -d");
		o->sequence = true;
		break;
	case 'f':
		o->dict_flags &= ~DICT_FLAG_FOLD_FIX;
		break;
	case 'i':
		o->open_flags &= ~O_TRUNC;
		break;
	case 'o':
		o->build_flags &= ~MKMAP_AS_OWNER;
		break;
	case 'p':
		o->build_flags &= ~MKMAP_SAVE_PERM;
		break;
	case 'r':
		o->dict_flags &= ~(DICT_FLAG_DUP_WARN | DICT_FLAG_DUP_IGNORE);
		o->dict_flags |= DICT_FLAG_DUP_REPLACE;
		break;
	case 'w':
		o->dict_flags &= ~(DICT_FLAG_DUP_WARN | DICT_FLAG_DUP_REPLACE);
		o->dict_flags |= DICT_FLAG_DUP_IGNORE;
		break;
	case 'u':
		o->utf8_off = true;
		break;
	case 'v':
		msg_verbose++;
		break;
	default:
		return false;
	}
	return true;
}
