/*
 * config - main.cf as Postfix reads it, -o overrides, and lazy expansion.
 *
 * main.cf is read into a table of raw values (last definition wins, with
 * Postfix's "overriding earlier entry" warning); nothing is expanded until
 * a value is used, so that $name may refer to a later line.  A name's raw
 * value comes from, in order: config_override(), main.cf, the built-in
 * default (params_default, or for myhostname, mydomain and mynetworks a
 * default recomputed from the settings it depends on, as Postfix's
 * daemons do), and the per-service defaults of master.cf services.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/htable.h"
#include "lib/util/lline.h"
#include "lib/util/mac_expand.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/config.h"
#include "lib/mail/mastercf.h"
#include "lib/mail/params.h"

#ifndef DEF_CONFIG_DIR
#define DEF_CONFIG_DIR "/etc/postfix"
#endif

/* No line length limit in Postfix; this one only stops runaway input. */
#define CONFIG_LINE_LIMIT ((size_t)1 << 28)

struct config_entry {
	char *value;
	int line;
};

static char *config_directory;
static bool config_dir_explicit;     /* -c or $MAIL_CONFIG, as postconf */
static struct htable *config_main;   /* name -> struct config_entry */
static struct htable *config_over;   /* name -> char * */
static struct htable *config_svc;    /* name -> const char * (static) */
static struct htable *config_intern; /* computed values, kept for good */
static struct htable *config_warned; /* undefined names already reported */
static struct htable *config_busy;   /* dynamic defaults being computed */
static struct htable *config_nets;   /* mynetworks per style/interfaces */

static void
config_entry_free(void *ptr)
{
	struct config_entry *e = ptr;

	free(e->value);
	free(e);
}

static void
config_tables(void)
{
	if (config_main == NULL) {
		config_main = htable_new(100);
		config_over = htable_new(10);
		config_svc = htable_new(100);
		config_intern = htable_new(10);
		config_warned = htable_new(10);
		config_busy = htable_new(10);
		config_nets = htable_new(10);
	}
}

/* A copy of s that stays valid for the life of the process. */
static const char *
config_keep(const char *s)
{
	struct htable_entry *e;

	if ((e = htable_locate(config_intern, s)) == NULL) {
		htable_enter(config_intern, s, NULL);
		e = htable_locate(config_intern, s);
	}
	return e->key;
}

void
config_init(const char *dir)
{
	const char *env;
	char *old = config_directory;	/* dir may point into it */

	config_tables();
	config_dir_explicit = true;
	if (dir == NULL) {
		if ((env = getenv("MAIL_CONFIG")) != NULL && *env)
			dir = env;
		else {
			dir = DEF_CONFIG_DIR;
			config_dir_explicit = false;
		}
	}
	config_directory = xstrdup(dir);
	free(old);
}

const char *
config_dir(void)
{
	if (config_directory == NULL)
		config_init(NULL);
	return config_directory;
}

static bool
config_isspace(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' ||
	       ch == '\v' || ch == '\f';
}

/*
 * Split "name = value" as Postfix's split_nameval() does; NULL on success,
 * else the reason.  The name ends at white space or '='.
 */
static const char *
config_split(char *buf, char **name, char **value)
{
	char *np, *ep, *cp, *vp, *end;

	for (np = buf; *np && config_isspace(*np); np++)
		;
	if (*np == 0 || *np == '=')
		return "missing attribute name";
	for (ep = np; *ep && !config_isspace(*ep) && *ep != '='; ep++)
		;
	for (cp = ep; *cp && config_isspace(*cp); cp++)
		;
	if (*cp != '=')
		return "missing '=' after attribute name";
	*ep = 0;
	for (vp = cp + 1; *vp && config_isspace(*vp); vp++)
		;
	for (end = vp + strlen(vp); end > vp && config_isspace(end[-1]); end--)
		;
	*end = 0;
	*name = np;
	*value = vp;
	return NULL;
}

/* Enter one main.cf setting; warn as Postfix does about a repeat. */
static void
config_set(const char *path, int line, const char *name, const char *value)
{
	struct config_entry *e;

	if ((e = htable_find(config_main, name)) != NULL) {
		/* Postfix is silent when the repeat sets the same value. */
		if (path && strcmp(e->value, value) != 0)
			msg_warn("%s, line %d: overriding earlier entry: %s=%s",
			    path, line, name, e->value);
		free(e->value);
	} else {
		e = xmalloc(sizeof(*e));
		htable_enter(config_main, name, e);
	}
	e->value = xstrdup(value);
	e->line = line;
}

int
config_read(struct str *why)
{
	struct str *path = str_new(100), *buf = str_new(1000);
	struct lline ll;
	const char *err;
	char *name, *value;
	FILE *fp;
	int rc = -1, got;

	config_tables();
	str_fmt(path, "%s/main.cf", config_dir());
	if ((fp = fopen(str_ptr(path), "r")) == NULL) {
		str_fmt(why, "open %s: %s", str_ptr(path), strerror(errno));
		goto out;
	}
	htable_free(config_main, config_entry_free);
	config_main = htable_new(100);

	/* postconf enters -c DIR (or $MAIL_CONFIG) as an explicit setting. */
	if (config_dir_explicit)
		config_set(NULL, 0, "config_directory", config_dir());

	lline_open(&ll, fp, str_ptr(path), CONFIG_LINE_LIMIT);
	while ((got = lline_read(&ll, buf)) != 0) {
		if (got < 0)
			msg_fatal("%s", str_ptr(ll.why));
		/* Postfix sees a C string: a NUL byte ends the line. */
		if (ll.has_nul)
			str_truncate(buf, strlen(str_ptr(buf)));
		if (ll.leading_ws) {
			msg_warn(
			    "%s: logical line must not start with whitespace: \"%s\"",
			    str_ptr(path), str_ptr(buf));
			continue;
		}
		{
			char *copy = xstrdup(str_ptr(buf));

			if ((err = config_split(copy, &name, &value)) != NULL)
				msg_fatal("%s, line %d: %s: \"%s\"",
				    str_ptr(path), ll.lineno, err,
				    str_ptr(buf));
			config_set(str_ptr(path), ll.lineno, name, value);
			free(copy);
		}
	}
	lline_close(&ll);
	if (ferror(fp)) {
		str_fmt(why, "read %s: %s", str_ptr(path), strerror(errno));
		fclose(fp);
		goto out;
	}
	fclose(fp);
	rc = 0;
out:
	str_free(path);
	str_free(buf);
	return rc;
}

void
config_override(const char *name, const char *value)
{
	config_tables();
	if (value == NULL)
		(void)htable_delete(config_over, name, free);
	else
		free(htable_enter(config_over, name, xstrdup(value)));
}

const char *
config_explicit(const char *name)
{
	const char *v;
	struct config_entry *e;

	config_tables();
	if ((v = htable_find(config_over, name)) != NULL)
		return v;
	if ((e = htable_find(config_main, name)) != NULL)
		return e->value;
	return NULL;
}

static int config_expand_flags(const char *, struct str *, struct str *, int)
    __attribute__((warn_unused_result));

/*
 * The value of name, expanded, for a dynamic default.  Re-entry (e.g.
 * myhostname = mail.$mydomain while computing mydomain's default) sees
 * the name as undefined, which gives Postfix's results for such loops.
 */
static bool
config_eval_quiet(const char *name, struct str *out)
{
	struct str *why = str_new(100);
	const char *raw = config_raw(name);
	bool ok;

	if (raw == NULL) {
		str_reset(out);
		ok = false;
	} else {
		ok = config_expand_flags(raw, out, why, MAC_EXP_FLAG_NONE) == 0;
	}
	str_free(why);
	return ok;
}

static const char *
config_myhostname(const struct param *p)
{
	const char *host = params_hostname(), *res;
	struct str *s;

	/* Postfix: a dotless host name gets "." $mydomain when that is set. */
	if (strchr(host, '.') != NULL || config_explicit("mydomain") == NULL)
		return params_default(p);
	s = str_new(100);
	(void)config_eval_quiet("mydomain", s);
	{
		struct str *t = str_new(100);

		str_fmt(t, "%s.%s", host, str_ptr(s));
		res = config_keep(str_ptr(t));
		str_free(t);
	}
	str_free(s);
	return res;
}

static const char *
config_mydomain(const struct param *p)
{
	struct str *host;
	const char *dot, *res;

	if (config_explicit("myhostname") == NULL)
		return params_default(p);
	host = str_new(100);
	(void)config_eval_quiet("myhostname", host);
	if ((dot = strchr(str_ptr(host), '.')) != NULL)
		res = config_keep(dot + 1);
	else
		res = "localdomain";
	str_free(host);
	return res;
}

static const char *
config_mynetworks(const struct param *p)
{
	struct str *style, *ifaces, *protos, *res, *why;
	const char *val;

	if (config_explicit("mynetworks_style") == NULL &&
	    config_explicit("compatibility_level") == NULL &&
	    config_explicit("inet_interfaces") == NULL &&
	    config_explicit("inet_protocols") == NULL)
		return params_default(p);
	style = str_new(20);
	ifaces = str_new(20);
	protos = str_new(20);
	res = str_new(100);
	why = str_new(100);
	if (config_eval("mynetworks_style", style, why) < 0 ||
	    config_eval("inet_interfaces", ifaces, why) < 0 ||
	    config_eval("inet_protocols", protos, why) < 0) {
		msg_warn("%s", str_ptr(why));
		msg_fatal("dictionary mail_dict: macro processing error");
	}
	/* Interfaces are listed once per distinct setting, not per use. */
	str_fmt(res, "%s\n%s\n%s", str_ptr(style), str_ptr(ifaces),
	    str_ptr(protos));
	if ((val = htable_find(config_nets, str_ptr(res))) == NULL) {
		struct str *key = str_new(100);

		str_setn(key, str_ptr(res), str_len(res));
		if (params_mynetworks(str_ptr(style), str_ptr(ifaces),
			str_ptr(protos), res, why) < 0)
			msg_fatal("%s", str_ptr(why));
		val = config_keep(str_ptr(res));
		htable_enter(config_nets, str_ptr(key), (void *)val);
		str_free(key);
	}
	str_free(style);
	str_free(ifaces);
	str_free(protos);
	str_free(res);
	str_free(why);
	return val;
}

/* The built-in default of name in this configuration, or NULL. */
static const char *
config_default(const char *name)
{
	const struct param *p;
	const char *val;

	if ((p = params_find(name)) == NULL)
		return NULL;
	if (!(p->flags & P_DYN))
		return p->defval;
	if (strcmp(name, "myhostname") != 0 && strcmp(name, "mydomain") != 0 &&
	    strcmp(name, "mynetworks") != 0)
		return params_default(p);
	if (htable_locate(config_busy, name))
		return NULL;
	htable_enter(config_busy, name, NULL);
	if (strcmp(name, "myhostname") == 0)
		val = config_myhostname(p);
	else if (strcmp(name, "mydomain") == 0)
		val = config_mydomain(p);
	else
		val = config_mynetworks(p);
	htable_delete(config_busy, name, NULL);
	return val;
}

const char *
config_raw(const char *name)
{
	const char *v;

	config_tables();
	if ((v = config_explicit(name)) != NULL)
		return v;
	if ((v = config_default(name)) != NULL)
		return v;
	return htable_find(config_svc, name);
}

static const char *
config_lookup(const char *name, void *ctx)
{
	(void)ctx;
	return config_raw(name);
}

/* Report an undefined $name once, in postconf's words. */
static void
config_undef(const char *name, void *ctx)
{
	(void)ctx;
	if (params_is_legacy(name) || htable_locate(config_warned, name))
		return;
	htable_enter(config_warned, name, NULL);
	msg_warn("%s/main.cf: undefined parameter: %s", config_dir(), name);
}

static int
config_expand_flags(const char *text, struct str *out, struct str *why,
    int flags)
{
	const struct mac_expand_ctx ctx = { config_lookup, config_undef, NULL,
		flags };

	config_tables();
	return mac_expand(out, text, &ctx, why);
}

int
config_expand(const char *text, struct str *out, struct str *why)
{
	return config_expand_flags(text, out, why, MAC_EXP_FLAG_WARN_UNDEF);
}

int
config_eval(const char *name, struct str *out, struct str *why)
{
	const char *raw;

	if ((raw = config_raw(name)) == NULL) {
		str_reset(out);
		return 0;
	}
	return config_expand(raw, out, why);
}

const char **
config_names(void)
{
	struct htable_entry **list;
	const char **names;
	size_t n, i;

	config_tables();
	n = htable_count(config_main);
	list = htable_list(config_main);
	names = xcalloc(n + 1, sizeof(*names));
	for (i = 0; i < n; i++)
		names[i] = list[i]->key;
	free(list);
	return names;
}

int
config_line(const char *name)
{
	struct config_entry *e;

	config_tables();
	if ((e = htable_find(config_main, name)) == NULL)
		return 0;
	return e->line;
}

void
config_services(const struct mastercf *mc)
{
	const struct param_service *ps;
	const struct mastercf_entry *e;
	const char *cmd;
	struct str *name = str_new(100);
	size_t i;

	config_tables();
	for (i = 0; i < mc->count; i++) {
		e = mc->entries[i];
		if (e == NULL || e->field[0] == NULL)
			continue;
		if (e->args && e->args->argc > 0)
			cmd = e->args->argv[0];
		else if ((cmd = e->field[7]) == NULL)
			continue;
		if ((ps = params_service_names(cmd)) == NULL)
			continue;
		for (; ps->suffix; ps++) {
			str_fmt(name, "%s_%s", e->field[0], ps->suffix);
			/* A built-in name (local_destination_...) keeps its default. */
			if (params_find(str_ptr(name)) == NULL)
				htable_enter(config_svc, str_ptr(name),
				    (void *)ps->defval);
		}
	}
	str_free(name);
}

const char **
config_service_names(void)
{
	struct htable_entry **list;
	const char **names;
	size_t n, i;

	config_tables();
	n = htable_count(config_svc);
	list = htable_list(config_svc);
	names = xcalloc(n + 1, sizeof(*names));
	for (i = 0; i < n; i++)
		names[i] = list[i]->key;
	free(list);
	return names;
}
