/*
 * postconf_master - read master.cf and show it: -M (entries), -F (fields),
 * -P (-o parameters), in Postfix's layout and with its diagnostics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/lline.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/mastercf.h"
#include "postconf/postconf.h"

#define PC_BLANKS " \t\r\n"

struct mastercf *pc_master;

const char *const pc_field_names[] = {
	"service",
	"type",
	"private",
	"unprivileged",
	"chroot",
	"wakeup",
	"process_limit",
	"command",
	NULL,
};

/* The column where postconf -M starts each of the eight fields. */
static const size_t pc_column_goal[] = { 0, 11, 17, 25, 33, 41, 49, 57 };

int
pc_field_index(const char *name)
{
	if (strcmp(name, "*") == 0)
		return PC_FIELD_ANY;
	for (int i = 0; pc_field_names[i]; i++)
		if (strcmp(pc_field_names[i], name) == 0)
			return i;
	return -1;
}

/*
 * A failed parse, worded as postconf(1) words it.  Postfix shows the
 * logical line with its newlines turned into spaces.
 */
static void __attribute__((noreturn)) pc_master_fatal(const struct mastercf *mc,
    const char *path, int lineno, const char *raw)
{
	const char *what;

	switch (mc->err) {
	case MCF_ERR_FIELDS:
		msg_fatal("file %s: line %d: bad field count", path, lineno);
	case MCF_ERR_TYPE:
	case MCF_ERR_BOOL:
	case MCF_ERR_WAKEUP:
	case MCF_ERR_MAXPROC:
		what = pc_field_names[mc->err_field];
		msg_fatal("invalid %s field \"%s\" in \"%s\"", what,
		    mc->err_value, raw);
	default:
		msg_fatal("file %s: line %d: %s", path, lineno,
		    mc->err_value ? mc->err_value : "bad entry");
	}
}

/*
 * Parse one entry as postconf does (lenient: brace problems warn); fatal
 * when it is bad.  arg is the command-line argument it came from, or NULL.
 */
struct mastercf_entry *
pc_master_parse_entry(const char *text, const char *path, int lineno,
    const char *arg)
{
	struct mastercf *mc = mastercf_new(path);
	struct mastercf_entry *e;

	mc->flags = MCF_FLAG_LENIENT | MCF_FLAG_KEEP_DUPS;
	if (mastercf_parse_line(mc, text, lineno, NULL) < 0) {
		if (arg && mc->err == MCF_ERR_FIELDS)
			msg_fatal("bad field count: \"%s\"", arg);
		pc_master_fatal(mc, path, lineno, text);
	}
	e = mc->entries[0];
	mc->count = 0;
	mastercf_free(mc);
	return e;
}

/*
 * File scope, so that the leak checker still sees the buffer when a bad
 * line makes us exit; volatile, so that the compiler keeps the store.
 */
static struct str *volatile pc_master_line;

void
pc_master_read(bool fail_on_open)
{
	const char *path = pc_master_path();
	struct str *line;
	struct lline l;
	FILE *fp;
	int rc;

	pc_master = mastercf_new(path);
	pc_master->flags = MCF_FLAG_LENIENT | MCF_FLAG_KEEP_DUPS;
	if ((fp = fopen(path, "r")) == NULL) {
		if (fail_on_open)
			msg_fatal("open %s: %m", path);
		msg_warn("open %s: %m", path);
		return;
	}
	line = pc_master_line = str_new(200);
	lline_open(&l, fp, path, 1024 * 1024);
	while ((rc = lline_read(&l, line)) != 0) {
		if (rc < 0)
			msg_fatal("%s", str_ptr(l.why));
		if (l.leading_ws) {
			msg_warn(
			    "%s: logical line must not start with whitespace: \"%.30s%s\"",
			    path, str_ptr(line),
			    str_len(line) > 30 ? "..." : "");
			continue;
		}
		if (mastercf_parse_line(pc_master, str_ptr(line), l.lineno,
			NULL) < 0)
			pc_master_fatal(pc_master, path, l.lineno,
			    str_ptr(line));
	}
	lline_close(&l);
	fclose(fp);
	pc_master_line = str_free(line);
}

struct argv *
pc_service_pattern(const char *text, size_t min, size_t max)
{
	struct argv *a = argv_split(text, "/");

	if (a->argc < min || a->argc > max)
		return argv_free(a);
	return a;
}

bool
pc_service_match(const struct argv *pat, const char *name, const char *type)
{
	if (strcmp(pat->argv[0], "*") != 0 && strcmp(pat->argv[0], name) != 0)
		return false;
	return pat->argc < 2 || strcmp(pat->argv[1], "*") == 0 ||
	       strcmp(pat->argv[1], type) == 0;
}

static bool
pc_has_blank(const char *s)
{
	return s[strcspn(s, PC_BLANKS)] != 0;
}

static void
pc_add_spaces(struct str *out, size_t *line_len, size_t goal)
{
	do {
		str_catc(out, ' ');
		(*line_len)++;
	} while (*line_len < goal);
}

/*
 * Append the daemon options and arguments after the command.  Postfix
 * keeps "-o name=value" together on a line of its own when folding, puts
 * braces back around an argument with blanks (but, quirk kept, not around
 * the first non-option argument), and with -f starts a new line before
 * a word that would reach column 80.  -M and -F differ in how they count
 * the width of "-o value" (opt_extra).
 */
static void
pc_format_args(struct str *out, int mode, const struct mastercf_entry *e,
    size_t line_len, size_t opt_extra)
{
	char **argv = e->args->argv;
	const char *arg, *aval;
	size_t arg_len, i;
	bool in_options = true, need_parens;

	for (i = 1; (arg = argv[i]) != NULL; i++) {
		arg_len = strlen(arg);
		aval = NULL;
		need_parens = false;
		if (in_options) {
			if (arg[0] != '-' || strcmp(arg, "--") == 0) {
				in_options = false;
			} else if ((arg[1] == 'o' || arg[1] == 0) &&
				   (aval = argv[i + 1]) != NULL) {
				line_len = PC_LINE_LIMIT;
				if (strcmp(arg, "-o") == 0 &&
				    (mode & PC_SHOW_EVAL))
					aval = pc_params_expand(aval, e);
				arg_len += strlen(aval) + opt_extra;
				if ((need_parens = pc_has_blank(aval)))
					arg_len += 2;
			}
		} else {
			need_parens = pc_has_blank(arg);
		}
		if (line_len > PC_INDENT_LEN) {
			if ((mode & PC_FOLD_LINE) == 0 ||
			    line_len + 1 + arg_len < PC_LINE_LIMIT) {
				str_catc(out, ' ');
				line_len++;
			} else {
				str_cat(out, "\n" PC_INDENT_TEXT);
				line_len = PC_INDENT_LEN;
			}
		}
		if (!in_options && need_parens)
			str_catc(out, '{');
		str_cat(out, arg);
		if (!in_options && need_parens)
			str_catc(out, '}');
		line_len += strlen(arg) + (!in_options && need_parens ? 2 : 0);
		if (aval) {
			str_catfmt(out, need_parens ? " {%s}" : " %s", aval);
			i++;
			line_len = PC_LINE_LIMIT;
		}
	}
}

void
pc_master_format(struct str *out, int mode, const struct mastercf_entry *e)
{
	size_t line_len = 0;

	str_reset(out);
	for (int f = 0; f < 8; f++) {
		const char *arg =
		    f == PC_FIELD_CMD ? e->args->argv[0] : e->field[f];

		if (line_len > 0)
			pc_add_spaces(out, &line_len, pc_column_goal[f]);
		str_cat(out, arg);
		line_len += strlen(arg);
	}
	pc_format_args(out, mode, e, line_len, 3);
	str_catc(out, '\n');
}

/* Parse every filter before any output, as Postfix does. */
static size_t
pc_count(char **names)
{
	size_t n = 0;

	while (names[n])
		n++;
	return n;
}

static struct argv **
pc_parse_filters(char **names, size_t max, const char *usage)
{
	size_t n = 0;
	struct argv **pats;

	while (names[n])
		n++;
	pats = xcalloc(n + 1, sizeof(*pats));
	for (size_t i = 0; i < n; i++)
		if ((pats[i] = pc_service_pattern(names[i], 1, max)) == NULL)
			msg_fatal("%s", usage);
	return pats;
}

static void
pc_free_filters(char **names, struct argv **pats, const int *hits)
{
	/* No flush: as in Postfix, these come before buffered output. */
	for (size_t i = 0; pats[i]; i++) {
		if (hits[i] == 0)
			msg_warn("unmatched request: \"%s\"", names[i]);
		argv_free(pats[i]);
	}
	free(pats);
}

void
pc_master_show_entries(int mode, char **names)
{
	struct argv **pats = pc_parse_filters(names, 2,
	    "-M option requires service_name[/type]");
	struct str *buf = str_new(200);
	int *hits = xcalloc(pc_count(names) + 1, sizeof(int));

	for (size_t i = 0; i < pc_master->count; i++) {
		const struct mastercf_entry *e = pc_master->entries[i];

		for (size_t j = 0; pats[j] || j == 0; j++) {
			if (pats[j] && !pc_service_match(pats[j], e->field[0],
					   e->field[1]))
				continue;
			if (pats[j])
				hits[j]++;
			pc_master_format(buf, mode, e);
			fputs(str_ptr(buf), stdout);
			if (pats[j] == NULL)
				break;
		}
	}
	pc_free_filters(names, pats, hits);
	free(hits);
	str_free(buf);
}

static void
pc_print_field(int mode, const struct mastercf_entry *e, int field)
{
	struct str *out = str_new(200);
	const char *value =
	    field == PC_FIELD_CMD ? e->args->argv[0] : e->field[field];
	size_t line_len = 0;

	if ((mode & PC_HIDE_NAME) == 0) {
		str_fmt(out, "%s/%s/%s", e->field[0], e->field[1],
		    pc_field_names[field]);
		if (mode & PC_HIDE_VALUE) {
			printf("%s\n", str_ptr(out));
			str_free(out);
			return;
		}
		str_cat(out, " = ");
		line_len = str_len(out);
		/* Postfix wraps here even without -f. */
		if (line_len + strlen(value) > PC_LINE_LIMIT) {
			str_cat(out, "\n" PC_INDENT_TEXT);
			line_len = PC_INDENT_LEN;
		}
	}
	str_cat(out, value);
	line_len += strlen(value);
	if (field == PC_FIELD_CMD)
		pc_format_args(out, mode, e, line_len, 1);
	str_catc(out, '\n');
	fputs(str_ptr(out), stdout);
	str_free(out);
}

void
pc_master_show_fields(int mode, char **names)
{
	struct argv **pats = pc_parse_filters(names, 3,
	    "-F option requires service_name[/type[/field]]");
	int *hits = xcalloc(pc_count(names) + 1, sizeof(int));
	int *fields = xcalloc(pc_count(names) + 1, sizeof(int));

	for (size_t j = 0; pats[j]; j++) {
		fields[j] = pats[j]->argc < 3
				? PC_FIELD_ANY
				: pc_field_index(pats[j]->argv[2]);
		if (fields[j] < 0)
			msg_fatal("invalid service attribute name: \"%s\"",
			    pats[j]->argv[2]);
	}
	for (size_t i = 0; i < pc_master->count; i++) {
		const struct mastercf_entry *e = pc_master->entries[i];

		for (size_t j = 0; pats[j] || j == 0; j++) {
			int field = pats[j] ? fields[j] : PC_FIELD_ANY;

			if (pats[j] && !pc_service_match(pats[j], e->field[0],
					   e->field[1]))
				continue;
			if (pats[j])
				hits[j]++;
			if (field == PC_FIELD_ANY)
				for (int f = 0; f <= PC_FIELD_CMD; f++)
					pc_print_field(mode, e, f);
			else
				pc_print_field(mode, e, field);
			if (pats[j] == NULL)
				break;
		}
	}
	pc_free_filters(names, pats, hits);
	free(hits);
	free(fields);
}

/* The value of a -o name in an entry: the last one wins. */
const char *
pc_entry_param(const struct mastercf_entry *e, const char *name)
{
	for (size_t i = e->opt_names->argc; i-- > 0;)
		if (strcmp(e->opt_names->argv[i], name) == 0)
			return e->opt_values->argv[i];
	return NULL;
}

/* Forget "-o name=..." for -P and the checks; -M still shows it. */
void
pc_entry_drop_param(struct mastercf_entry *e, const char *name)
{
	size_t i, j;

	for (i = j = 0; i < e->opt_names->argc; i++) {
		if (strcmp(e->opt_names->argv[i], name) == 0) {
			free(e->opt_names->argv[i]);
			free(e->opt_values->argv[i]);
			continue;
		}
		e->opt_names->argv[j] = e->opt_names->argv[i];
		e->opt_values->argv[j++] = e->opt_values->argv[i];
	}
	e->opt_names->argc = e->opt_values->argc = j;
	e->opt_names->argv[j] = e->opt_values->argv[j] = NULL;
}

static int
pc_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The -o names of an entry, each once, sorted. */
struct argv *
pc_entry_param_names(const struct mastercf_entry *e)
{
	struct argv *names = argv_new();

	for (size_t i = 0; i < e->opt_names->argc; i++) {
		size_t j;

		for (j = 0; j < names->argc; j++)
			if (strcmp(names->argv[j], e->opt_names->argv[i]) == 0)
				break;
		if (j == names->argc)
			argv_add(names, e->opt_names->argv[i]);
	}
	qsort(names->argv, names->argc, sizeof(names->argv[0]), pc_cmp_str);
	return names;
}

static void
pc_print_param(int mode, const struct mastercf_entry *e, const char *name,
    const char *value)
{
	if (mode & PC_SHOW_EVAL)
		value = pc_params_expand(value, e);
	if (mode & PC_HIDE_VALUE)
		pc_print_line(mode, "%s/%s/%s", e->field[0], e->field[1], name);
	else if (mode & PC_HIDE_NAME)
		pc_print_line(mode, "%s", value);
	else
		pc_print_line(mode, "%s/%s/%s = %s", e->field[0], e->field[1],
		    name, value);
}

static void
pc_print_all_params(int mode, const struct mastercf_entry *e)
{
	struct argv *names = pc_entry_param_names(e);

	for (size_t k = 0; k < names->argc; k++)
		pc_print_param(mode, e, names->argv[k],
		    pc_entry_param(e, names->argv[k]));
	argv_free(names);
}

void
pc_master_show_params(int mode, char **names)
{
	struct argv **pats = pc_parse_filters(names, 3,
	    "-P option requires service_name[/type[/parameter]]");
	int *hits = xcalloc(pc_count(names) + 1, sizeof(int));
	const char *value;

	for (size_t i = 0; i < pc_master->count; i++) {
		const struct mastercf_entry *e = pc_master->entries[i];

		if (e->opt_names->argc == 0)
			continue;
		if (pats[0] == NULL) {
			pc_print_all_params(mode, e);
			continue;
		}
		for (size_t j = 0; pats[j]; j++) {
			if (!pc_service_match(pats[j], e->field[0],
				e->field[1]))
				continue;
			if (pats[j]->argc < 3 ||
			    strcmp(pats[j]->argv[2], "*") == 0) {
				pc_print_all_params(mode, e);
				hits[j]++;
			} else if ((value = pc_entry_param(e,
					pats[j]->argv[2])) != NULL) {
				pc_print_param(mode, e, pats[j]->argv[2],
				    value);
				hits[j]++;
			}
		}
	}
	pc_free_filters(names, pats, hits);
	free(hits);
}
