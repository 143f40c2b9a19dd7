/*
 * hbc - header_checks, mime_header_checks, nested_header_checks and
 * body_checks: which table applies to a line, and what its answer means.
 * cleanup acts on the result and logs it; hbc only looks up and parses.
 *
 * hbc_new(hdr, mime, nested, body)  open the four table lists (each a
 *                        maps spec as in main.cf; "" for none).  Tables are
 *                        opened read-only with maps_new(); one that cannot
 *                        be opened makes its lookups fail (HBC_DEFER)
 * hbc_free(h)            close; returns NULL
 * hbc_header(h, class, text, res)  look up one logical header (mime.h
 *                        class: PRIMARY/MULTIPART headers with MIME_HOPT_MIME
 *                        go to mime_header_checks, NESTED ones to
 *                        nested_header_checks, the others to header_checks)
 * hbc_body(h, line, len, res)  look up one body line in body_checks
 * hbc_parse(value, res)  parse a table's answer "ACTION optional text"
 *                        (pure; used by the two above)
 * Each returns the action (res->action too); res->text holds the text after
 * the action word (leading white space removed), possibly empty.
 *
 * Actions (case-insensitive, as Postfix): REJECT, DISCARD, HOLD, WARN,
 * IGNORE, REPLACE, PREPEND, REDIRECT, BCC, FILTER, DUNNO (and OK, which
 * Postfix treats as DUNNO), INFO.  An unknown action or a missing
 * argument where one is required (REPLACE, PREPEND, REDIRECT, BCC, FILTER)
 * is HBC_BAD with res->text holding Postfix's warning text, e.g.
 * "unknown command in header_checks: FOO" / "PREPEND action without text";
 * cleanup logs it and goes on (DUNNO).  A table lookup error is HBC_DEFER.
 */
#ifndef HBC_H
#define HBC_H

#include <stddef.h>

#include "lib/util/str.h"

enum hbc_action {
	HBC_DUNNO = 0, /* no match, DUNNO, OK */
	HBC_REJECT,
	HBC_DISCARD,
	HBC_HOLD,
	HBC_WARN,
	HBC_INFO,
	HBC_IGNORE,
	HBC_REPLACE,
	HBC_PREPEND,
	HBC_REDIRECT,
	HBC_BCC,
	HBC_FILTER,
	HBC_BAD,   /* malformed answer: text says why */
	HBC_DEFER, /* the table could not be read */
};

struct hbc_result {
	enum hbc_action action;
	struct str *text;     /* the action's argument */
	const char *map_name; /* "header_checks", "body_checks" ... */
};

struct hbc;

struct hbc *hbc_new(const char *, const char *, const char *, const char *);
struct hbc *hbc_free(struct hbc *);
enum hbc_action hbc_header(struct hbc *, int, const char *, struct hbc_result *);
enum hbc_action hbc_body(struct hbc *, const char *, size_t, struct hbc_result *);
enum hbc_action hbc_parse(const char *, struct hbc_result *);

#endif
