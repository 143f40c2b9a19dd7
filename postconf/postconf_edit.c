/*
 * postconf_edit - change main.cf (-e, -X, -#) and master.cf (-Me, -MX, -M#,
 * -Fe, -Pe, -PX) in place.
 *
 * Lines that are not touched are copied byte for byte: comments, blank
 * lines, order and layout stay.  The result goes to PATH.tmp, which is
 * locked first (so that two postconf -e runs do not lose an update),
 * fsync'd, and renamed over PATH; an interrupted run leaves PATH as it was.
 * The texts of the fatal errors are Postfix's.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/htable.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/mastercf.h"
#include "postconf/postconf.h"

#define PC_BLANKS " \t\r\n"

struct pc_edit {
	char *path;
	char *tmp;
	FILE *out;
	FILE *in;
};

/* The temp file that a fatal error must not leave behind (pc_edit_abort). */
static char *pc_edit_tmp;

void
pc_edit_abort(void)
{
	if (pc_edit_tmp)
		(void)unlink(pc_edit_tmp);
}

/*
 * Open PATH.tmp, locked, as Postfix's edit_file_open() does: after the lock
 * is granted the file must still be PATH.tmp, else another postconf renamed
 * it away meanwhile and we start over.
 */
static void
pc_edit_open(struct pc_edit *ed, const char *path)
{
	struct stat fst, pst;
	int fd;

	ed->path = xstrdup(path);
	ed->tmp = xmalloc(strlen(path) + 5);
	memcpy(ed->tmp, path, strlen(path));
	memcpy(ed->tmp + strlen(path), ".tmp", 5);
	for (;;) {
		if ((fd = open(ed->tmp, O_CREAT | O_RDWR | O_CLOEXEC, 0644)) <
		    0)
			msg_fatal("open %s: %m", ed->tmp);
		if (flock(fd, LOCK_EX) < 0)
			msg_fatal("lock %s: %m", ed->tmp);
		if (fstat(fd, &fst) < 0)
			msg_fatal("fstat %s: %m", ed->tmp);
		if (stat(ed->tmp, &pst) == 0 && pst.st_ino == fst.st_ino &&
		    pst.st_dev == fst.st_dev)
			break;
		close(fd);
	}
	pc_edit_tmp = ed->tmp;
	if (ftruncate(fd, 0) < 0)
		msg_fatal("truncate %s: %m", ed->tmp);
	if ((ed->out = fdopen(fd, "w")) == NULL)
		msg_fatal("fdopen %s: %m", ed->tmp);
	/* We own the temp file name while we hold the lock. */
	if ((ed->in = fopen(path, "r")) == NULL)
		msg_fatal("open %s for reading: %m", path);
}

/* Keep the file's mode, flush to disk, rename, and sync the directory. */
static void
pc_edit_close(struct pc_edit *ed)
{
	struct stat st;
	char *dir;
	int dfd;

	if (ferror(ed->in))
		msg_fatal("read %s: %m", ed->path);
	fclose(ed->in);
	if (fstat(fileno(ed->out), &st) == 0 && stat(ed->path, &st) == 0)
		(void)fchmod(fileno(ed->out), st.st_mode & 07777);
	if (fflush(ed->out) != 0 || fsync(fileno(ed->out)) < 0 ||
	    ferror(ed->out)) {
		(void)unlink(ed->tmp);
		msg_fatal("write %s: %m", ed->tmp);
	}
	if (rename(ed->tmp, ed->path) < 0) {
		(void)unlink(ed->tmp);
		msg_fatal("rename %s to %s: %m", ed->tmp, ed->path);
	}
	pc_edit_tmp = NULL;
	dir = xstrdup(ed->path);
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >=
	    0) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(dir);
	/* Closing releases the lock, after the rename. */
	fclose(ed->out);
	free(ed->path);
	free(ed->tmp);
}

/*
 * One physical line with its newline; the last line of a file may have
 * none, and is copied as it is.
 */
static bool
pc_get_line(FILE *fp, struct str *buf)
{
	int c;

	str_reset(buf);
	while ((c = getc(fp)) != EOF) {
		str_catc(buf, c);
		if (c == '\n')
			return true;
	}
	return str_len(buf) > 0;
}

/*
 * Before appending a line: end an unterminated last line first.  Postfix
 * 3.7 glues the new line onto it ("last = 1new = 2"); we do not.
 */
static void
pc_end_line(FILE *out)
{
	long pos = ftell(out);
	int c;

	if (pos <= 0)
		return;
	fflush(out);
	if (pread(fileno(out), &c, 1, pos - 1) == 1 && (char)c != '\n')
		fputc('\n', out);
}

/* The first non-blank byte, or NULL for a comment or blank line. */
static const char *
pc_content(const struct str *buf)
{
	const char *cp = str_ptr(buf);

	while (isspace((unsigned char)*cp))
		cp++;
	return *cp == '#' || *cp == 0 ? NULL : cp;
}

/* The next content line; comment and blank lines are copied to out. */
static const char *
pc_next_line(struct pc_edit *ed, struct str *buf, int *lineno)
{
	const char *cp;

	while (pc_get_line(ed->in, buf)) {
		(*lineno)++;
		if ((cp = pc_content(buf)) != NULL)
			return cp;
		fputs(str_ptr(buf), ed->out);
	}
	return NULL;
}

/*
 * Postfix's split_nameval(): the name is the first word; a NULL return is
 * success, else the reason.  text is modified.
 */
static const char *
pc_split_nameval(char *text, char **name, char **value)
{
	char *np, *ep, *cp, *vp, *end;

	for (np = text; isspace((unsigned char)*np); np++)
		;
	if (*np == 0)
		return "missing attribute name";
	for (ep = np; *ep && !isspace((unsigned char)*ep) && *ep != '='; ep++)
		;
	for (cp = ep; isspace((unsigned char)*cp); cp++)
		;
	if (*cp != '=')
		return "missing '=' after attribute name";
	if (ep == np)
		return "missing attribute name";
	*ep = 0;
	for (vp = cp + 1; isspace((unsigned char)*vp); vp++)
		;
	for (end = vp + strlen(vp); end > vp && isspace((unsigned char)end[-1]);
	     end--)
		;
	*end = 0;
	*name = np;
	*value = vp;
	return NULL;
}

static void
pc_trim_end(char *s)
{
	char *end = s + strlen(s);

	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	*end = 0;
}

struct pc_main_req {
	char *value; /* NULL for -X and -# */
	int found;
};

static void
pc_free_main_req(void *p)
{
	free(p);
}

static int
pc_cmp_entry(const void *a, const void *b)
{
	const struct htable_entry *const *x = a, *const *y = b;

	return strcmp((*x)->key, (*y)->key);
}

void
pc_edit_main(int mode, char **args)
{
	struct htable *table = htable_new(10);
	struct str *buf = str_new(200), *key = str_new(50);
	struct argv *copies = argv_new();
	struct htable_entry **list;
	struct pc_main_req *req;
	struct pc_edit ed;
	const char *cp, *err;
	char *text, *name, *value;
	bool interesting = false;
	size_t n;
	int lineno = 0;

	for (; *args; args++) {
		if (strchr(*args, '\n'))
			msg_fatal("-e, -X, or -# accepts no multi-line input");
		argv_add(copies, *args);
		for (text = copies->argv[copies->argc - 1];
		     isspace((unsigned char)*text); text++)
			;
		if (*text == '#')
			msg_fatal("-e, -X, or -# accepts no comment input");
		if (mode & PC_EDIT_CONF) {
			if ((err = pc_split_nameval(text, &name, &value)) !=
			    NULL)
				msg_fatal("%s: \"%s\"", err, text);
		} else {
			if (*text == 0)
				msg_fatal(
				    "-X or -# requires non-blank parameter names");
			if (strchr(text, '='))
				msg_fatal(
				    "-X or -# requires parameter names without value");
			pc_trim_end(text);
			name = text;
			value = NULL;
		}
		if ((req = htable_find(table, name)) != NULL) {
			msg_warn("ignoring earlier request: '%s = %s'", name,
			    req->value ? req->value : "(null)");
			htable_delete(table, name, pc_free_main_req);
		}
		req = xcalloc(1, sizeof(*req));
		req->value = value;
		htable_enter(table, name, req);
	}

	pc_edit_open(&ed, pc_main_path());
	while ((cp = pc_next_line(&ed, buf, &lineno)) != NULL) {
		if (cp > str_ptr(buf)) {
			/* A continuation line goes with its logical line. */
			if (!interesting)
				fputs(str_ptr(buf), ed.out);
			else if (mode & PC_COMMENT_OUT)
				fprintf(ed.out, "#%s", str_ptr(buf));
			continue;
		}
		str_setn(key, cp, strcspn(cp, PC_BLANKS "="));
		req = htable_find(table, str_ptr(key));
		if ((interesting = req != NULL)) {
			if (req->found++ == 1)
				msg_warn("%s: multiple entries for \"%s\"",
				    pc_main_path(), str_ptr(key));
			if (mode & PC_EDIT_CONF)
				fprintf(ed.out, "%s = %s\n", str_ptr(key),
				    req->value);
			else if (mode & PC_COMMENT_OUT)
				fprintf(ed.out, "#%s", cp);
		} else {
			fputs(str_ptr(buf), ed.out);
		}
	}
	/* New names go at the end, sorted. */
	if (mode & PC_EDIT_CONF) {
		list = htable_list(table);
		n = htable_count(table);
		qsort(list, n, sizeof(list[0]), pc_cmp_entry);
		for (size_t i = 0; i < n; i++) {
			req = list[i]->value;
			if (req->found == 0) {
				pc_end_line(ed.out);
				fprintf(ed.out, "%s = %s\n", list[i]->key,
				    req->value);
			}
		}
		free(list);
	}
	pc_edit_close(&ed);
	htable_free(table, pc_free_main_req);
	argv_free(copies);
	str_free(buf);
	str_free(key);
}

/* One master.cf edit request from the command line. */
struct pc_master_req {
	const char *raw;
	char *text;           /* parsed copy */
	struct argv *pattern; /* name, type[, field or parameter] */
	int field;
	char *value;
	int matches;
};

#define PC_MASTER_EDIT_OPTS "-Me, -Fe, -Pe, -X, or -#"

static void
pc_parse_master_reqs(int mode, char **args, struct pc_master_req *reqs)
{
	struct pc_master_req *req;
	const char *err;
	char *cp, *pattern;

	for (req = reqs; *args; req++, args++) {
		req->raw = *args;
		req->text = xstrdup(*args);
		if (strchr(req->text, '\n'))
			msg_fatal("%s accept no multi-line input",
			    PC_MASTER_EDIT_OPTS);
		for (cp = req->text; isspace((unsigned char)*cp); cp++)
			;
		if (*cp == '#')
			msg_fatal("%s accept no comment input",
			    PC_MASTER_EDIT_OPTS);
		if (mode & PC_EDIT_CONF) {
			if ((err = pc_split_nameval(cp, &pattern, &req->value)))
				msg_fatal("%s: \"%s\"", err, req->raw);
		} else {
			if (strchr(cp, '='))
				msg_fatal(
				    "-X or -# requires names without value");
			pc_trim_end(cp);
			pattern = cp;
			req->value = NULL;
		}
		if (mode & PC_MASTER_ENTRY) {
			if ((req->pattern =
				    pc_service_pattern(pattern, 2, 2)) == NULL)
				msg_fatal(
				    "-Me, -MX or -M# requires service_name/type");
		} else if (mode & PC_MASTER_FLD) {
			if ((req->pattern =
				    pc_service_pattern(pattern, 3, 3)) == NULL)
				msg_fatal(
				    "-Fe or -FX requires service_name/type/field_name");
			req->field = pc_field_index(req->pattern->argv[2]);
			if (req->field < 0)
				msg_fatal(
				    "invalid service attribute name: \"%s\"",
				    req->pattern->argv[2]);
			if (req->field == PC_FIELD_ANY)
				msg_fatal(
				    "-Fe does not accept wild-card field name");
			if ((mode & PC_EDIT_CONF) &&
			    req->field < PC_FIELD_CMD &&
			    req->value[strcspn(req->value, PC_BLANKS)])
				msg_fatal(
				    "-Fe does not accept whitespace in non-command field");
		} else {
			if ((req->pattern =
				    pc_service_pattern(pattern, 3, 3)) == NULL)
				msg_fatal(
				    "-Pe or -PX requires service_name/type/parameter");
			if (strcmp(req->pattern->argv[2], "*") == 0)
				msg_fatal(
				    "-Pe does not accept wild-card parameter name");
			if ((mode & PC_EDIT_CONF) &&
			    req->value[strcspn(req->value, PC_BLANKS)])
				msg_fatal(
				    "-Pe does not accept whitespace in parameter value");
		}
	}
}

/* Replace one field of an entry; the command field takes a whole command. */
static void
pc_edit_field(struct mastercf_entry *e, int field, const char *value)
{
	struct str *text = str_new(200);
	struct mastercf_entry *check;

	/* Check the result by parsing it; Postfix quotes only the value. */
	for (int f = 0; f < PC_FIELD_CMD; f++)
		str_catfmt(text, "%s ", f == field ? value : e->field[f]);
	str_cat(text, field == PC_FIELD_CMD ? value : "x");
	{
		struct mastercf *mc = mastercf_new("master.cf");

		mc->flags = MCF_FLAG_LENIENT | MCF_FLAG_KEEP_DUPS;
		if (mastercf_parse_line(mc, str_ptr(text), 0, NULL) < 0) {
			if (mc->err == MCF_ERR_FIELDS)
				msg_fatal("bad field count");
			msg_fatal("invalid %s field \"%s\" in \"%s\"",
			    pc_field_names[mc->err_field], mc->err_value,
			    value);
		}
		check = mc->entries[0];
		mc->count = 0;
		mastercf_free(mc);
	}
	if (field == PC_FIELD_CMD) {
		argv_free(e->args);
		e->args = check->args;
		check->args = NULL;
	} else {
		free(e->field[field]);
		e->field[field] = xstrdup(value);
	}
	mastercf_entry_free(check);
	str_free(text);
}

/* Add, replace or (value NULL) remove "-o name=value" in an entry. */
static void
pc_edit_param(struct mastercf_entry *e, const char *name, const char *value)
{
	struct argv *a = e->args, *b = argv_new();
	struct str *nv = str_new(100);
	size_t len = strlen(name), i;
	bool matched = false;

	str_fmt(nv, "%s=%s", name, value ? value : "");
	argv_add(b, a->argv[0]);
	for (i = 1; i < a->argc; i++) {
		const char *arg = a->argv[i];

		if (arg[0] != '-' || strcmp(arg, "--") == 0)
			break;
		if ((arg[1] != 'o' && arg[1] != 0) || i + 1 >= a->argc) {
			argv_add(b, arg);
			continue;
		}
		if (strcmp(arg, "-o") == 0 &&
		    strncmp(a->argv[i + 1], name, len) == 0 &&
		    a->argv[i + 1][len] == '=') {
			matched = true;
			if (value) {
				argv_add(b, arg);
				argv_add(b, str_ptr(nv));
			}
		} else {
			argv_add(b, arg);
			argv_add(b, a->argv[i + 1]);
		}
		i++;
	}
	if (value && !matched) {
		argv_add(b, "-o");
		argv_add(b, str_ptr(nv));
	}
	for (; i < a->argc; i++)
		argv_add(b, a->argv[i]);
	argv_free(e->args);
	e->args = b;
	str_free(nv);
}

/*
 * Collect the rest of an entry that is about to be edited.  Like Postfix,
 * comment and blank lines inside it are copied out at once, so they end up
 * before the rewritten entry.
 */
static void
pc_gobble(struct pc_edit *ed, struct str *entry, struct str *buf)
{
	int c;

	for (;;) {
		if ((c = getc(ed->in)) == EOF)
			break;
		ungetc(c, ed->in);
		if (c != '#' && !isspace(c))
			break;
		if (!pc_get_line(ed->in, buf))
			break;
		if (pc_content(buf))
			str_cat(entry, str_ptr(buf));
		else
			fputs(str_ptr(buf), ed->out);
	}
}

static void
pc_write_entry(FILE *out, const struct mastercf_entry *e)
{
	struct str *buf = str_new(200);

	pc_end_line(out);
	pc_master_format(buf, PC_FOLD_LINE, e);
	fputs(str_ptr(buf), out);
	str_free(buf);
}

/* The state of one master.cf edit while it walks the file. */
struct pc_medit {
	int mode;
	struct pc_edit ed;
	const char *path;
	int lineno;
	struct str *buf;   /* the line just read */
	struct str *line;  /* the first line of the current entry */
	struct str *entry; /* the whole entry, for field and -o edits */
	struct str *name;  /* its service name */
	struct str *type;  /* its service type */
	struct mastercf_entry *new_entry; /* replacement, if any */
	bool matched; /* a request matched the current entry */
};

/* Split out the service name and type of an entry's first line. */
static void
pc_medit_name_type(struct pc_medit *m, const char *cp)
{
	size_t n = strcspn(cp, PC_BLANKS);

	str_setn(m->name, cp, n);
	cp += n;
	cp += strspn(cp, PC_BLANKS);
	str_setn(m->type, cp, strcspn(cp, PC_BLANKS));
	if (str_len(m->name) == 0 || str_len(m->type) == 0)
		msg_fatal(
		    "file %s: line %d: specify service name and type on the same line",
		    m->path, m->lineno);
	if (strchr(str_ptr(m->name), '='))
		msg_fatal(
		    "file %s: line %d: service name syntax \"%s\" is unsupported with %s",
		    m->path, m->lineno, str_ptr(m->name), PC_MASTER_EDIT_OPTS);
	if (str_ptr(m->type)[strcspn(str_ptr(m->type), "=/")])
		msg_fatal(
		    "file %s: line %d: service type syntax \"%s\" is unsupported with %s",
		    m->path, m->lineno, str_ptr(m->type), PC_MASTER_EDIT_OPTS);
}

/* A field or -o request that matched: edit (a copy of) the entry. */
static void
pc_medit_change(struct pc_medit *m, const struct pc_master_req *req)
{
	if (m->new_entry == NULL) {
		str_set(m->entry, str_ptr(m->line));
		pc_gobble(&m->ed, m->entry, m->buf);
		m->new_entry = pc_master_parse_entry(str_ptr(m->entry), m->path,
		    m->lineno, NULL);
	}
	if (m->mode & PC_MASTER_FLD)
		pc_edit_field(m->new_entry, req->field, req->value);
	else
		pc_edit_param(m->new_entry, req->pattern->argv[2], req->value);
}

/*
 * Match one request against the entry that starts on this line.  A -Me
 * request replaces the entry it names, and also an entry with the name
 * and type of its new text; only its first match writes the new text.
 */
static void
pc_medit_request(struct pc_medit *m, struct pc_master_req *req)
{
	struct mastercf_entry *tentative = NULL;
	bool use_tentative = false;
	int mode = m->mode;

	if ((mode & PC_MASTER_ENTRY) && (mode & PC_EDIT_CONF))
		tentative =
		    pc_master_parse_entry(req->value, m->path, 0, req->raw);
	if (pc_service_match(req->pattern, str_ptr(m->name),
		str_ptr(m->type))) {
		m->matched = true;
		req->matches++;
		/* -MX, -M# only drop or comment out; -PX edits. */
		if ((mode & PC_EDIT_CONF) ||
		    ((mode & PC_MASTER_PARAM) && (mode & PC_EDIT_EXCL))) {
			if (mode & PC_MASTER_ENTRY)
				use_tentative = req->matches == 1;
			else
				pc_medit_change(m, req);
		}
	} else if (tentative &&
		   strcmp(tentative->field[0], str_ptr(m->name)) == 0 &&
		   strcmp(tentative->field[1], str_ptr(m->type)) == 0) {
		m->matched = true;
		use_tentative = ++req->matches == 1;
	}
	if (use_tentative) {
		mastercf_entry_free(m->new_entry);
		m->new_entry = tentative;
	} else {
		mastercf_entry_free(tentative);
	}
}

void
pc_edit_master(int mode, char **args)
{
	struct pc_medit m = { .mode = mode, .path = pc_master_path() };
	struct pc_master_req *reqs, *req;
	size_t nreq = 0;
	const char *cp;

	while (args[nreq])
		nreq++;
	reqs = xcalloc(nreq + 1, sizeof(*reqs));
	pc_parse_master_reqs(mode, args, reqs);
	m.buf = str_new(200);
	m.line = str_new(200);
	m.entry = str_new(200);
	m.name = str_new(50);
	m.type = str_new(20);

	pc_edit_open(&m.ed, m.path);
	while ((cp = pc_next_line(&m.ed, m.buf, &m.lineno)) != NULL) {
		str_set(m.line, str_ptr(m.buf));
		if (cp > str_ptr(m.buf)) {
			/* A continuation line goes with its entry. */
			if (!m.matched)
				fputs(str_ptr(m.line), m.ed.out);
			else if (mode & PC_COMMENT_OUT)
				fprintf(m.ed.out, "#%s", str_ptr(m.line));
			continue;
		}
		m.matched = false;
		pc_medit_name_type(&m, cp);
		for (req = reqs; req < reqs + nreq; req++)
			pc_medit_request(&m, req);
		if (m.new_entry) {
			pc_write_entry(m.ed.out, m.new_entry);
			m.new_entry = mastercf_entry_free(m.new_entry);
		} else if (!m.matched) {
			fputs(str_ptr(m.line), m.ed.out);
		} else if (mode & PC_COMMENT_OUT) {
			fprintf(m.ed.out, "#%s", str_ptr(m.line));
		}
	}
	/* New services go at the end; other unmatched requests warn. */
	for (req = reqs; req < reqs + nreq; req++) {
		if (req->matches)
			continue;
		if ((mode & PC_MASTER_ENTRY) && (mode & PC_EDIT_CONF)) {
			m.new_entry = pc_master_parse_entry(req->value, m.path,
			    0, req->raw);
			pc_write_entry(m.ed.out, m.new_entry);
			m.new_entry = mastercf_entry_free(m.new_entry);
		} else if ((mode & PC_MASTER_ENTRY) == 0) {
			msg_warn("unmatched service_name/type: \"%s\"",
			    req->raw);
		}
	}
	pc_edit_close(&m.ed);
	for (req = reqs; req < reqs + nreq; req++) {
		free(req->text);
		argv_free(req->pattern);
	}
	free(reqs);
	str_free(m.buf);
	str_free(m.line);
	str_free(m.entry);
	str_free(m.name);
	str_free(m.type);
}
