/*
 * hbc - the header and body check tables and the meaning of their answers,
 * as Postfix 3.7's cleanup reads them: see hbc.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/alloc.h"
#include "lib/util/dict.h"
#include "lib/util/str.h"
#include "lib/mail/maps.h"
#include "lib/mail/mime.h"
#include "lib/mail/hbc.h"

enum hbc_table { HBC_HEADER, HBC_MIME, HBC_NESTED, HBC_BODY, HBC_TABLES };

static const char *const hbc_names[HBC_TABLES] = {
	"header_checks",
	"mime_header_checks",
	"nested_header_checks",
	"body_checks",
};

struct hbc {
	struct maps *maps[HBC_TABLES]; /* NULL: no table */
	char *names[HBC_TABLES];       /* parameter names, with the prefix */
	struct str *key;
};

/* What an action wants after its name. */
enum hbc_arg {
	ARG_ANY,    /* optional text */
	ARG_HEADER, /* text; a header "Name: value" in header tables */
	ARG_ADDR,   /* text with an "@" */
	ARG_FILTER, /* text with a ":" */
};

static const struct {
	const char *name;
	enum hbc_action action;
	enum hbc_arg arg;
} hbc_actions[] = {
	{ "REDIRECT", HBC_REDIRECT, ARG_ADDR }, { "BCC", HBC_BCC, ARG_ADDR },
	{ "FILTER", HBC_FILTER, ARG_FILTER }, { "PASS", HBC_PASS, ARG_ANY },
	{ "DISCARD", HBC_DISCARD, ARG_ANY }, { "HOLD", HBC_HOLD, ARG_ANY },
	{ "REJECT", HBC_REJECT, ARG_ANY }, { "WARN", HBC_WARN, ARG_ANY },
	{ "INFO", HBC_INFO, ARG_ANY }, { "PREPEND", HBC_PREPEND, ARG_HEADER },
	{ "REPLACE", HBC_REPLACE, ARG_HEADER }, { "STRIP", HBC_STRIP, ARG_ANY },
	{ "IGNORE", HBC_IGNORE, ARG_ANY }, { "DUNNO", HBC_DUNNO, ARG_ANY },
	{ "OK", HBC_DUNNO, ARG_ANY }, /* Postfix: always meant DUNNO */
};

struct hbc *
hbc_new(const char *hdr, const char *mime, const char *nested, const char *body)
{
	return hbc_new_named("", hdr, mime, nested, body);
}

struct hbc *
hbc_new_named(const char *prefix, const char *hdr, const char *mime,
    const char *nested, const char *body)
{
	struct hbc *h = xcalloc(1, sizeof(*h));
	const char *specs[HBC_TABLES] = { hdr, mime, nested, body };

	for (int i = 0; i < HBC_TABLES; i++) {
		struct str *name = str_new(40);

		str_fmt(name, "%s%s", prefix, hbc_names[i]);
		h->names[i] = str_steal(name);
		if (specs[i] && specs[i][strspn(specs[i], " \t\r\n,")])
			h->maps[i] =
			    maps_new(h->names[i], specs[i], DICT_FLAGS_READ);
	}
	h->key = str_new(100);
	return h;
}

bool
hbc_active(const struct hbc *h)
{
	for (int i = 0; i < HBC_TABLES; i++)
		if (h->maps[i] != NULL)
			return true;
	return false;
}

struct hbc *
hbc_free(struct hbc *h)
{
	if (h == NULL)
		return NULL;
	for (int i = 0; i < HBC_TABLES; i++) {
		maps_free(h->maps[i]);
		free(h->names[i]);
	}
	str_free(h->key);
	free(h);
	return NULL;
}

enum hbc_action
hbc_parse(const char *value, struct hbc_result *res)
{
	const char *map = res->map_name ? res->map_name : "header_checks";
	size_t cmd_len = strcspn(value, " \t");
	const char *text = value + cmd_len + strspn(value + cmd_len, " \t");
	size_t map_len = strlen(map);
	bool body =
	    map_len >= 11 && strcmp(map + map_len - 11, "body_checks") == 0;

	res->value = value;
	if (res->text == NULL)
		res->text = str_new(100);
	for (size_t i = 0; i < sizeof(hbc_actions) / sizeof(hbc_actions[0]);
	     i++) {
		if (strlen(hbc_actions[i].name) != cmd_len ||
		    strncasecmp(hbc_actions[i].name, value, cmd_len) != 0)
			continue;
		switch (hbc_actions[i].arg) {
		case ARG_ANY:
			break;
		case ARG_HEADER:
			if (*text == 0) {
				str_fmt(res->text,
				    "%s action without text in %s map",
				    hbc_actions[i].name, map);
				return res->action = HBC_BAD;
			}
			if (!body && mime_header_name(text, NULL) == NULL) {
				str_fmt(res->text,
				    "bad %s header text \"%s\" in %s map -- need \"headername: headervalue\"",
				    hbc_actions[i].name, text, map);
				return res->action = HBC_BAD;
			}
			break;
		case ARG_ADDR:
			if (strchr(text, '@') != NULL)
				break;
			if (hbc_actions[i].action == HBC_BCC)
				str_fmt(res->text,
				    "bad BCC address \"%s\" in %s map -- need user@domain",
				    text, map);
			else
				str_fmt(res->text,
				    "bad REDIRECT target \"%s\" in %s map -- need user@domain",
				    text, map);
			return res->action = HBC_BAD;
		case ARG_FILTER:
			if (*text == 0) {
				str_fmt(res->text,
				    "missing FILTER command argument in %s map",
				    map);
				return res->action = HBC_BAD;
			}
			if (strchr(text, ':') == NULL) {
				str_fmt(res->text,
				    "bad FILTER command %s in %s -- need transport:destination",
				    text, map);
				return res->action = HBC_BAD;
			}
			break;
		}
		str_set(res->text, text);
		return res->action = hbc_actions[i].action;
	}
	str_fmt(res->text, "unknown command in %s map: %s", map, value);
	return res->action = HBC_BAD;
}

static enum hbc_action
hbc_lookup(struct hbc *h, enum hbc_table table, const char *key,
    struct hbc_result *res)
{
	struct maps *maps = h->maps[table];
	const char *value;

	res->map_name = h->names[table];
	res->value = NULL;
	if (res->text == NULL)
		res->text = str_new(100);
	str_reset(res->text);
	if (maps == NULL)
		return res->action = HBC_DUNNO;
	if ((value = maps_find(maps, key, 0)) != NULL)
		return hbc_parse(value, res);
	return res->action =
		   maps->error == DICT_ERR_NONE ? HBC_DUNNO : HBC_DEFER;
}

enum hbc_action
hbc_header(struct hbc *h, int class, const char *text, struct hbc_result *res)
{
	size_t len;
	enum hbc_table table = HBC_HEADER;

	if (class == MIME_CLASS_MULTIPART ||
	    (mime_header_name(text, &len) != NULL &&
		(mime_header_opts(text, len) & MIME_HOPT_MIME)))
		table = HBC_MIME;
	else if (class == MIME_CLASS_NESTED)
		table = HBC_NESTED;
	return hbc_lookup(h, table, text, res);
}

enum hbc_action
hbc_body(struct hbc *h, const char *line, size_t len, struct hbc_result *res)
{
	str_setn(h->key, line, len);
	return hbc_lookup(h, HBC_BODY, str_ptr(h->key), res);
}
