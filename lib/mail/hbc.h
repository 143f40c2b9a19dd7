/*
 * hbc - header_checks, mime_header_checks, nested_header_checks and
 * body_checks: which table applies to a line, and what its answer means.
 * cleanup acts on the result and logs it; hbc only looks up and parses.
 *
 * hbc_new(hdr, mime, nested, body)  open the four table lists (each a
 *                        maps spec as in main.cf, already expanded; "" or
 *                        NULL for none).  Tables are opened read-only with
 *                        maps_new(); one that cannot be opened makes its
 *                        lookups fail (HBC_DEFER)
 * hbc_new_named(prefix, hdr, mime, nested, body)  the same for a program
 *                        whose parameters carry a prefix ("smtp_",
 *                        "lmtp_"): the tables and res->map_name are
 *                        named "smtp_header_checks" and so on
 * hbc_active(h)          at least one of the four tables is configured
 * hbc_free(h)            close (NULL ok); returns NULL
 * hbc_header(h, class, text, res)  look up one logical header, the whole
 *                        text "Name: value" with its "\n"s as mime gives it.
 *                        The table, as observed with Postfix 3.7: a header
 *                        with MIME_HOPT_MIME (Content-Type, MIME-Version...)
 *                        in any class, and every MULTIPART (body part)
 *                        header, go to mime_header_checks; other NESTED
 *                        headers to nested_header_checks; other PRIMARY
 *                        headers to header_checks
 * hbc_body(h, line, len, res)  look up one body line in body_checks (the
 *                        key ends at a NUL byte; an empty line never matches)
 * hbc_parse(value, res)  parse a table's answer "ACTION optional text"
 *                        (pure; used by the two above).  res->map_name
 *                        names the table for the warning text (NULL:
 *                        "header_checks"); PREPEND and REPLACE text must
 *                        start with "Name:" unless it ends in "body_checks"
 * Each returns the action (res->action too); res->map_name is the table's
 * parameter name ("header_checks", "mime_header_checks",
 * "nested_header_checks", "body_checks"); res->text holds the text after
 * the action word (leading spaces and tabs removed), possibly empty.  When
 * res->text is NULL the first call allocates it; the caller frees it.
 *
 * Actions (case-insensitive, as Postfix 3.7's cleanup): REJECT, DISCARD,
 * HOLD, WARN, INFO, PASS, STRIP (optional text); IGNORE, DUNNO and OK
 * (Postfix treats OK as DUNNO: HBC_DUNNO) without text; REPLACE, PREPEND
 * (text required, a header for header tables); REDIRECT, BCC (text with an
 * "@"); FILTER (text with a ":").  Anything else is HBC_BAD with res->text
 * holding Postfix's warning text, which cleanup logs as a warning before
 * going on as with DUNNO:
 *   unknown command in header_checks map: FOO bar
 *   PREPEND action without text in header_checks map
 *   bad PREPEND header text "x" in header_checks map -- need "headername: headervalue"
 *   REPLACE action without text in body_checks map
 *   bad REPLACE header text "x" in header_checks map -- need "headername: headervalue"
 *   bad REDIRECT target "x" in header_checks map -- need user@domain
 *   bad BCC address "x" in header_checks map -- need user@domain
 *   missing FILTER command argument in header_checks map
 *   bad FILTER command x in header_checks -- need transport:destination
 * (the FILTER text lacks " map" in Postfix too).  A table lookup error is
 * HBC_DEFER.
 *
 * Observed in Postfix 3.7's cleanup, for the caller: REDIRECT and PASS end
 * all header/body inspection of the message (later lines are not looked
 * up); REJECT and DISCARD end it too; the others go on with the next line.
 */
#ifndef HBC_H
#define HBC_H

#include <stdbool.h>
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
	HBC_PASS,  /* Postfix 3.2+: stop inspecting, log "pass" */
	HBC_STRIP, /* Postfix 3.2+: delete the line, log "strip" */
};

struct hbc_result {
	enum hbc_action action;
	struct str *text;     /* the action's argument */
	const char *map_name; /* "header_checks", "body_checks" ... */
	const char *value;    /* the table's answer, NULL when none */
};

struct hbc;

struct hbc *hbc_new(const char *, const char *, const char *, const char *);
struct hbc *hbc_new_named(const char *, const char *, const char *,
    const char *, const char *);
bool hbc_active(const struct hbc *);
struct hbc *hbc_free(struct hbc *);
enum hbc_action hbc_header(struct hbc *, int, const char *,
    struct hbc_result *);
enum hbc_action hbc_body(struct hbc *, const char *, size_t,
    struct hbc_result *);
enum hbc_action hbc_parse(const char *, struct hbc_result *);

#endif
