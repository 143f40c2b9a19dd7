/*
 * postconf_params - the parameter names postconf knows, their values, and
 * the main.cf/master.cf checks for unused and undefined names.
 *
 * Postfix's postconf knows four kinds of names: built-in (params.def);
 * per-service names for master.cf services that run a delivery agent
 * ("relay_destination_concurrency_limit = $default_..."); legacy names
 * that a built-in default refers to ("virtual_maps" in virtual_alias_maps),
 * known but listed only when set; and user-defined names, valid when main.cf
 * or master.cf sets them and some used value refers to them as $name (or
 * smtpd_restriction_classes lists them).  A name set in main.cf or by a
 * master.cf -o that is none of these draws "unused parameter"; a $name
 * that nothing defines draws "undefined parameter".
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/htable.h"
#include "lib/util/mac_expand.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/config.h"
#include "lib/mail/mastercf.h"
#include "lib/mail/params.h"
#include "postconf/postconf.h"

enum pc_class { PC_BUILTIN, PC_SERVICE, PC_LEGACY, PC_USER };

struct pc_param {
	enum pc_class class;
	const struct param *p; /* built-in entry, or NULL */
	char *defval;          /* service and legacy defaults */
};

static struct htable *pc_table;        /* every known name */
static struct htable *pc_main_set;     /* name -> raw value, main.cf and -o */
static struct htable **pc_local_valid; /* per master.cf entry */
static struct htable *pc_rest_classes; /* smtpd_restriction_classes names */
static struct argv *pc_main_order;     /* main.cf names in file order */

/* -C: the classes to list, as a mask of 1 << enum pc_class. */
static int pc_class_mask = ~0;

static const char *pc_expand(const char *, const struct mastercf_entry *);
static int pc_try_expand(const char *, const struct mastercf_entry *,
    struct str *);

void
pc_params_class(const char *list)
{
	static const struct {
		const char *name;
		int mask;
	} names[] = {
		{ "builtin", 1 << PC_BUILTIN | 1 << PC_LEGACY },
		{ "service", 1 << PC_SERVICE },
		{ "user", 1 << PC_USER },
		{ "all", ~0 },
	};
	struct argv *words = argv_split(list, ", \t\r\n");
	size_t i, k;

	pc_class_mask = 0;
	for (i = 0; i < words->argc; i++) {
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (strcasecmp(names[k].name, words->argv[i]) == 0)
				break;
		if (k == sizeof(names) / sizeof(names[0]))
			msg_fatal("unknown -C option value \"%s\" in \"%s\"",
			    words->argv[i], list);
		pc_class_mask |= names[k].mask;
	}
	argv_free(words);
}

static struct pc_param *
pc_enter(const char *name, enum pc_class class, const struct param *p,
    const char *defval)
{
	struct pc_param *pp = xcalloc(1, sizeof(*pp));

	pp->class = class;
	pp->p = p;
	pp->defval = defval ? xstrdup(defval) : NULL;
	htable_enter(pc_table, name, pp);
	return pp;
}

static struct pc_param *
pc_find(const char *name)
{
	struct pc_param *pp;

	if ((pp = htable_find(pc_table, name)) == NULL &&
	    params_is_legacy(name))
		pp = pc_enter(name, PC_LEGACY, NULL, "");
	return pp;
}

static bool
pc_is_builtin(const char *name)
{
	struct pc_param *pp = pc_find(name);

	return pp && (pp->class == PC_BUILTIN || pp->class == PC_SERVICE);
}

static bool
pc_is_raw(const char *name)
{
	struct pc_param *pp = pc_find(name);

	return pp && pp->p && pp->p->type == P_TYPE_RAW;
}

/*
 * Call fn for every $name, ${name...} and $(name...) in text, those inside
 * conditional text included; "$$" is a literal dollar.
 */
static void
pc_scan_names(const char *text, void (*fn)(const char *, void *), void *ctx)
{
	struct str *name = str_new(50);
	const char *p = text;
	size_t n;

	while ((p = strchr(p, '$')) != NULL) {
		p++;
		if (*p == '$') {
			p++;
			continue;
		}
		if (*p == '{' || *p == '(')
			p++;
		for (n = 0; isalnum((unsigned char)p[n]) || p[n] == '_'; n++)
			;
		if (n > 0) {
			str_setn(name, p, n);
			fn(str_ptr(name), ctx);
		}
		p += n;
	}
	str_free(name);
}

static void
pc_add_legacy(const char *name, void *ctx)
{
	(void)ctx;
	if (pc_find(name) == NULL)
		pc_enter(name, PC_LEGACY, NULL, "");
}

/*
 * Service parameters for master.cf entries that run a delivery agent; a
 * built-in name (local_destination_concurrency_limit) keeps its default.
 */
static void
pc_add_service_params(void)
{
	const struct param_service *ps;
	struct str *name = str_new(100);

	for (size_t i = 0; i < pc_master->count; i++) {
		const struct mastercf_entry *e = pc_master->entries[i];

		if ((ps = params_service_names(e->args->argv[0])) == NULL)
			continue;
		for (; ps->suffix; ps++) {
			struct pc_param *pp;

			str_fmt(name, "%s_%s", e->field[0], ps->suffix);
			/* A built-in one keeps its default; -C calls it a
			 * service parameter. */
			if ((pp = pc_find(str_ptr(name))) != NULL)
				pp->class = PC_SERVICE;
			else
				pc_enter(str_ptr(name), PC_SERVICE, NULL,
				    ps->defval);
		}
	}
	str_free(name);
}

struct pc_scan_ctx {
	size_t entry;     /* master.cf entry, or (size_t)-1 for main.cf */
	const char *file; /* "main.cf" or "master.cf" */
};

#define PC_MAIN_SCOPE ((size_t)-1)

/*
 * A $name in a value of the given scope: validate a user-defined name that
 * has a value, or warn that nothing defines it.
 */
static void
pc_flag_user(const char *name, void *ctxp)
{
	struct pc_scan_ctx *ctx = ctxp;
	bool supplied = false;

	if (ctx->entry != PC_MAIN_SCOPE &&
	    pc_entry_param(pc_master->entries[ctx->entry], name)) {
		supplied = true;
		htable_enter(pc_local_valid[ctx->entry], name, NULL);
	} else if (htable_locate(pc_main_set, name)) {
		supplied = true;
		if (pc_find(name) == NULL)
			pc_enter(name, PC_USER, NULL, NULL);
	}
	if (ctx->entry == PC_MAIN_SCOPE) {
		for (size_t i = 0; i < pc_master->count; i++) {
			if (pc_entry_param(pc_master->entries[i], name)) {
				supplied = true;
				htable_enter(pc_local_valid[i], name, NULL);
			}
		}
	}
	if (!supplied && pc_find(name) == NULL)
		msg_warn("%s/%s: undefined parameter: %s", pc_config_dir(),
		    ctx->file, name);
}

/* The names listed in a smtpd_restriction_classes value are user names. */
static void
pc_flag_classes(const char *value, struct pc_scan_ctx *ctx)
{
	struct argv *names = argv_split(value, ", \t\r\n");

	for (size_t i = 0; i < names->argc; i++) {
		if (ctx->entry == PC_MAIN_SCOPE)
			htable_enter(pc_rest_classes, names->argv[i], NULL);
		/* Valid when they have a value, else "undefined". */
		pc_flag_user(names->argv[i], ctx);
	}
	argv_free(names);
}

/*
 * Postfix computes these at run time and ignores a setting, with a
 * warning, when postconf reads the configuration.
 */
static bool
pc_is_readonly(const char *name, const char *value,
    const struct pc_scan_ctx *ctx)
{
	static const char *const readonly[] = { "process_id", "process_name",
		"service_name", NULL };

	for (int i = 0; readonly[i]; i++) {
		if (strcmp(readonly[i], name) == 0) {
			msg_warn("%s/%s: read-only parameter assignment: %s=%s",
			    pc_config_dir(), ctx->file, name, value);
			return true;
		}
	}
	return false;
}

/* Check a value's $name syntax as Postfix's scan does: a warning. */
static const char *
pc_null_lookup(const char *name, void *ctx)
{
	(void)name;
	(void)ctx;
	return NULL;
}

static bool
pc_check_syntax(const char *value)
{
	static struct str *out, *why;
	struct mac_expand_ctx ctx = { pc_null_lookup, NULL, NULL,
		MAC_EXP_FLAG_SCAN };

	if (out == NULL) {
		out = str_new(100);
		why = str_new(100);
	}
	if (mac_expand(out, value, &ctx, why) < 0) {
		msg_warn("%s", str_ptr(why));
		return false;
	}
	return true;
}

static void
pc_register_user_params(void)
{
	struct pc_scan_ctx ctx = { PC_MAIN_SCOPE, "main.cf" };
	struct str *why = str_new(100);
	const char *classes;

	if ((classes = config_explicit("smtpd_restriction_classes")) != NULL)
		pc_flag_classes(pc_expand(classes, NULL), &ctx);
	for (size_t i = 0; i < pc_main_order->argc; i++) {
		const char *name = pc_main_order->argv[i];

		if (pc_is_readonly(name, htable_find(pc_main_set, name),
			&ctx)) {
			htable_delete(pc_main_set, name, free);
			continue;
		}
		if (!pc_is_raw(name) &&
		    pc_check_syntax(htable_find(pc_main_set, name)))
			pc_scan_names(htable_find(pc_main_set, name),
			    pc_flag_user, &ctx);
	}
	ctx.file = "master.cf";
	for (ctx.entry = 0; ctx.entry < pc_master->count; ctx.entry++) {
		const struct mastercf_entry *e = pc_master->entries[ctx.entry];
		struct argv *names = pc_entry_param_names(e);
		const char *local;

		if ((local = pc_entry_param(e, "smtpd_restriction_classes")))
			pc_flag_classes(local, &ctx);
		for (size_t k = 0; k < names->argc; k++) {
			if (pc_is_readonly(names->argv[k],
				pc_entry_param(e, names->argv[k]), &ctx)) {
				pc_entry_drop_param(
				    pc_master->entries[ctx.entry],
				    names->argv[k]);
				continue;
			}
			if (htable_locate(pc_rest_classes, names->argv[k]))
				htable_enter(pc_local_valid[ctx.entry],
				    names->argv[k], NULL);
			if (!pc_is_raw(names->argv[k]) &&
			    pc_check_syntax(pc_entry_param(e, names->argv[k])))
				pc_scan_names(pc_entry_param(e, names->argv[k]),
				    pc_flag_user, &ctx);
		}
		argv_free(names);
	}
	/*
	 * Then Postfix evaluates the main.cf values of built-in and
	 * per-service parameters; the first that fails (a syntax error, or a
	 * loop: "unreasonable macro call nesting") ends the run.
	 */
	for (size_t i = 0; i < pc_main_order->argc; i++) {
		const char *name = pc_main_order->argv[i];
		const char *value = htable_find(pc_main_set, name);

		if (value && pc_is_builtin(name) && !pc_is_raw(name) &&
		    pc_try_expand(value, NULL, why) < 0) {
			msg_warn("%s", str_ptr(why));
			msg_fatal("macro processing error");
		}
	}
	str_free(why);
}

/* Remember what main.cf and -o set, in order, for the checks. */
static void
pc_note_main(const char *name, const char *value)
{
	if (!htable_locate(pc_main_set, name))
		argv_add(pc_main_order, name);
	free(htable_enter(pc_main_set, name, xstrdup(value)));
}

static void
pc_apply_overrides(struct argv *overrides)
{
	struct str *name = str_new(50), *value = str_new(100);

	for (size_t i = 0; i < overrides->argc; i++) {
		const char *text = overrides->argv[i], *eq, *b, *e;

		/* split_nameval(): the name is one word. */
		for (b = text; isspace((unsigned char)*b); b++)
			;
		for (e = b; *e && !isspace((unsigned char)*e) && *e != '='; e++)
			;
		for (eq = e; isspace((unsigned char)*eq); eq++)
			;
		if (*b == 0)
			msg_fatal(
			    "invalid parameter override: %s: missing attribute name",
			    text);
		if (*eq != '=')
			msg_fatal(
			    "invalid parameter override: %s: missing '=' after attribute name",
			    text);
		if (e == b)
			msg_fatal(
			    "invalid parameter override: %s: missing attribute name",
			    text);
		str_setn(name, b, (size_t)(e - b));
		for (eq++; isspace((unsigned char)*eq); eq++)
			;
		str_set(value, eq);
		str_trim(value);
		config_override(str_ptr(name), str_ptr(value));
		pc_note_main(str_ptr(name), str_ptr(value));
	}
	str_free(name);
	str_free(value);
}

void
pc_params_init(bool read_main, struct argv *overrides)
{
	struct str *why = str_new(100);
	const struct param *table;
	const char **names;
	size_t n;

	pc_table = htable_new(2000);
	pc_main_set = htable_new(100);
	pc_rest_classes = htable_new(10);
	pc_main_order = argv_new();
	pc_local_valid = xcalloc(pc_master->count + 1, sizeof(*pc_local_valid));
	for (size_t i = 0; i < pc_master->count; i++)
		pc_local_valid[i] = htable_new(10);

	/* NULL: config.c takes $MAIL_CONFIG, which -c sets, as Postfix. */
	config_init(NULL);
	if (read_main) {
		if (config_read(why) < 0)
			msg_fatal("%s", str_ptr(why));
		names = config_names();
		for (size_t i = 0; names[i]; i++)
			pc_note_main(names[i], config_explicit(names[i]));
		free((void *)names);
		pc_apply_overrides(overrides);
	}
	config_services(pc_master);

	table = params_table(&n);
	for (size_t i = 0; i < n; i++)
		pc_enter(table[i].name, PC_BUILTIN, &table[i], NULL);
	pc_add_service_params();
	for (size_t i = 0; i < n; i++)
		if (table[i].type != P_TYPE_RAW)
			pc_scan_names(params_default(&table[i]), pc_add_legacy,
			    NULL);
	if (read_main)
		pc_register_user_params();
	str_free(why);
}

static const char *
pc_default(const struct pc_param *pp)
{
	if (pp->p)
		return params_default(pp->p);
	return pp->defval ? pp->defval : "";
}

/* The value postconf shows: main.cf or -o, else the default. */
static const char *
pc_value(int mode, const char *name, const struct pc_param *pp)
{
	const char *value;

	if ((mode & PC_SHOW_DEFS) == 0 &&
	    (value = htable_find(pc_main_set, name)) != NULL)
		return value;
	return pc_default(pp);
}

static void
pc_show_one(int mode, const char *name, const struct pc_param *pp)
{
	const char *value = pc_value(mode, name, pp);

	if ((mode & PC_SHOW_EVAL) && !pc_is_raw(name))
		value = pc_expand(value, NULL);
	if (mode & PC_HIDE_VALUE)
		pc_print_line(mode, "%s", name);
	else if (mode & PC_HIDE_NAME)
		pc_print_line(mode, "%s", value);
	else
		pc_print_line(mode, "%s = %s", name, value);
}

static int
pc_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
pc_params_show(int mode, char **names)
{
	struct htable_entry **list;
	struct pc_param *pp;
	struct argv *show;

	if (names[0]) {
		for (; *names; names++) {
			if ((pp = pc_find(*names)) == NULL ||
			    ((mode & PC_SHOW_DEFS) && pp->class == PC_USER)) {
				/* No flush: Postfix's warnings come first. */
				msg_warn("%s: unknown parameter", *names);
				continue;
			}
			if ((mode & PC_SHOW_NONDEF) &&
			    !htable_locate(pc_main_set, *names))
				continue;
			pc_show_one(mode, *names, pp);
		}
		return;
	}
	show = argv_new();
	list = htable_list(pc_table);
	for (size_t i = 0; list[i]; i++) {
		pp = list[i]->value;
		if ((mode & PC_SHOW_NONDEF) &&
		    !htable_locate(pc_main_set, list[i]->key))
			continue;
		/* A legacy name that is set counts as user-defined. */
		if ((pc_class_mask &
			(1 << (pp->class == PC_LEGACY ? PC_USER
						      : pp->class))) == 0)
			continue;
		if (pp->class == PC_LEGACY &&
		    !htable_locate(pc_main_set, list[i]->key))
			continue;
		argv_add(show, list[i]->key);
	}
	free(list);
	qsort(show->argv, show->argc, sizeof(show->argv[0]), pc_cmp_names);
	for (size_t i = 0; i < show->argc; i++)
		pc_show_one(mode, show->argv[i], pc_find(show->argv[i]));
	argv_free(show);
}

/*
 * -x: expand a value, seen from inside a master.cf service when e is not
 * NULL ($service_name and the service's -o settings first).  The warnings
 * about undefined names were given when the names were registered.
 */
struct pc_local {
	const struct mastercf_entry *e;
};

static const char *
pc_local_lookup(const char *name, void *ctxp)
{
	struct pc_local *ctx = ctxp;
	const char *value;

	if (ctx->e) {
		if ((value = pc_entry_param(ctx->e, name)) != NULL)
			return value;
		if (strcmp(name, "service_name") == 0)
			return ctx->e->field[0];
	}
	return config_raw(name);
}

/* Expand fully, to find loops ("unreasonable macro call nesting"). */
static int
pc_try_expand(const char *value, const struct mastercf_entry *e,
    struct str *why)
{
	static struct str *buf;
	struct pc_local local = { e };
	struct mac_expand_ctx ctx = { pc_local_lookup, NULL, &local,
		MAC_EXP_FLAG_NONE };

	if (buf == NULL)
		buf = str_new(200);
	return mac_expand(buf, value, &ctx, why);
}

static const char *
pc_expand(const char *value, const struct mastercf_entry *e)
{
	static struct str *buf, *why;
	struct pc_local local = { e };
	struct mac_expand_ctx ctx = { pc_local_lookup, NULL, &local,
		MAC_EXP_FLAG_NONE };

	if (buf == NULL) {
		buf = str_new(200);
		why = str_new(100);
	}
	if (mac_expand(buf, value, &ctx, why) < 0) {
		msg_warn("%s", str_ptr(why));
		msg_fatal("macro processing error");
	}
	return str_ptr(buf);
}

const char *
pc_params_expand(const char *value, const struct mastercf_entry *e)
{
	return pc_expand(value, e);
}

void
pc_params_warn_unused_main(void)
{
	for (size_t i = 0; i < pc_main_order->argc; i++) {
		const char *name = pc_main_order->argv[i];

		if (htable_locate(pc_main_set, name) && pc_find(name) == NULL)
			msg_warn("%s/main.cf: unused parameter: %s=%s",
			    pc_config_dir(), name,
			    (const char *)htable_find(pc_main_set, name));
	}
}

void
pc_params_warn_unused_master(void)
{
	for (size_t i = 0; i < pc_master->count; i++) {
		const struct mastercf_entry *e = pc_master->entries[i];
		struct argv *names = pc_entry_param_names(e);

		for (size_t k = 0; k < names->argc; k++) {
			if (pc_find(names->argv[k]) == NULL &&
			    !htable_locate(pc_local_valid[i], names->argv[k]))
				msg_warn(
				    "%s/master.cf: unused parameter: %s=%s",
				    pc_config_dir(), names->argv[k],
				    pc_entry_param(e, names->argv[k]));
		}
		argv_free(names);
	}
}
