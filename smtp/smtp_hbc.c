/*
 * smtp_hbc - smtp_header_checks, smtp_mime_header_checks,
 * smtp_nested_header_checks and smtp_body_checks (lmtp_* for LMTP): the
 * restricted header_checks(5) that the client applies to the message
 * while it sends it.  A stage between the queue file (or the 8BITMIME
 * downgrade) and the writer in smtp_proto.c: it parses the content with
 * mime.c, looks each logical header and body line up with hbc.c and
 * writes what the answer leaves of it.
 *
 * Observed with Debian's Postfix 3.7:
 * - the table for a header is chosen as in cleanup (hbc_header): MIME
 *   headers (Content-*, MIME-Version) and every body part header go to
 *   the mime table, attached message headers to the nested one, the rest
 *   to the header table; an empty table is not replaced by another
 * - DUNNO and OK pass; IGNORE drops the line silently; STRIP drops it and
 *   logs "strip"; INFO and WARN log "info" / "warning" and pass; REPLACE
 *   writes the text instead (logs "replace"); PREPEND writes the text
 *   before it (logs "prepend").  A folded header is one logical header:
 *   IGNORE, STRIP and REPLACE take all of its lines
 * - the log line is "QID: ACTION: header|body CONTENT: TEXT" (": TEXT"
 *   only when there is text), CONTENT cut to 60 bytes, its newlines and
 *   other unprintable bytes shown as "?"; a program message (msg_info)
 *   also for "warning"
 * - any other action (REJECT, DISCARD, HOLD, REDIRECT, BCC, FILTER, PASS,
 *   unknown words) is "warning: unsupported command in MAP map: ANSWER"
 *   and the line passes; PREPEND/REPLACE without usable text get hbc.c's
 *   warnings ("PREPEND action without text in smtp_header_checks map")
 * - a lookup error: "warning: QID: smtp header checks lookup error" (or
 *   "smtp body checks", lmtp too); the delivery is deferred (4.3.0,
 *   "local data error while talking to HOST[ADDR]") and the connection
 *   is closed without ending the DATA
 * - with the 8BITMIME downgrade the checks see the converted message
 *   (quoted-printable bodies), but not the Content-Transfer-Encoding
 *   headers the conversion writes; PREPEND/REPLACE text is not converted
 * - SIZE= announces the queue file's size, whatever the checks change;
 *   written lines are dot-stuffed and broken at smtp_line_length_limit
 *   by the writer as any other
 * - a line longer than a queue file record (line_length_limit) is looked
 *   up piece by piece, each piece on its own: REPLACE keeps the piece's
 *   kind (the line goes on after the text), PREPEND's text ends a line,
 *   IGNORE and STRIP drop the piece only
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/hbc.h"
#include "lib/mail/mime.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "smtp.h"

struct smtp_hbc {
	struct mime *mime;
	mime_down_out_fn *out;
	void *ctx;
	const char *queue_id;
	bool downgrade;     /* mime_down writes our input */
	int err;            /* -1: stop (write or lookup error) */
	bool lookup_failed; /* the stop was a lookup error */
	int type;           /* type of the record looked up */
	struct hbc_result res;
	struct str *line; /* the line looked up, NUL-terminated */
};

static struct hbc *smtp_hbc_tables;

void
smtp_hbc_init(void)
{
	smtp_hbc_tables = hbc_new_named(smtp_lmtp ? "lmtp_" : "smtp_",
	    SMTP_VAR(header_checks), SMTP_VAR(mime_header_checks),
	    SMTP_VAR(nested_header_checks), SMTP_VAR(body_checks));
	if (!hbc_active(smtp_hbc_tables))
		smtp_hbc_tables = hbc_free(smtp_hbc_tables);
}

static void
sh_write(struct smtp_hbc *h, int type, const char *p, size_t n)
{
	if (h->err == 0 && h->out(h->ctx, type, p, n) < 0)
		h->err = -1;
}

/* A logical header, one record per line. */
static void
sh_write_header(struct smtp_hbc *h, const char *text, size_t len)
{
	const char *end = text + len;

	for (;;) {
		const char *nl = memchr(text, '\n', (size_t)(end - text));

		sh_write(h, REC_TYPE_NORM, text,
		    nl ? (size_t)(nl - text) : (size_t)(end - text));
		if (nl == NULL)
			break;
		text = nl + 1;
	}
}

static void
sh_log(struct smtp_hbc *h, const char *action, const char *where)
{
	const char *text = str_ptr(h->res.text);

	if (*text)
		msg_info("%s: %s: %s %.60s: %s", h->queue_id, action, where,
		    str_ptr(h->line), text);
	else
		msg_info("%s: %s: %s %.60s", h->queue_id, action, where,
		    str_ptr(h->line));
}

/*
 * Act on the answer for the line in h->line: true when the line itself
 * is to be written (after what was prepended), false when it is gone or
 * replaced.
 */
static bool
sh_act(struct smtp_hbc *h, enum hbc_action action, const char *where)
{
	const char *text = str_ptr(h->res.text);
	const char *value = h->res.value ? h->res.value : "";
	size_t cmd_len = strcspn(value, " \t");

	switch (action) {
	case HBC_DUNNO:
		return true;
	case HBC_IGNORE:
		return false;
	case HBC_STRIP:
		sh_log(h, "strip", where);
		return false;
	case HBC_INFO:
		sh_log(h, "info", where);
		return true;
	case HBC_WARN:
		sh_log(h, "warning", where);
		return true;
	case HBC_REPLACE:
		/* A replaced piece of a long line leaves the line open. */
		sh_log(h, "replace", where);
		sh_write(h, h->type, text, strlen(text));
		return false;
	case HBC_PREPEND:
		sh_log(h, "prepend", where);
		sh_write(h, REC_TYPE_NORM, text, strlen(text));
		return true;
	case HBC_DEFER:
		msg_warn("%s: smtp %s checks lookup error", h->queue_id, where);
		h->lookup_failed = true;
		h->err = -1;
		return false;
	case HBC_BAD:
		/* hbc.c's text when PREPEND or REPLACE lack a usable text. */
		if (cmd_len == 7 &&
		    (strncasecmp(value, "PREPEND", 7) == 0 ||
			strncasecmp(value, "REPLACE", 7) == 0)) {
			msg_warn("%s", text);
			return true;
		}
		break;
	default:
		break;
	}
	msg_warn("unsupported command in %s map: %s", h->res.map_name, value);
	return true;
}

static void
sh_header(void *ctx, int class, const char *text, size_t len)
{
	struct smtp_hbc *h = ctx;

	if (h->err)
		return;
	str_setn(h->line, text, len);
	h->type = REC_TYPE_NORM;
	/* The downgrade's own labels are not looked up. */
	if (h->downgrade &&
	    (strcmp(str_ptr(h->line), "Content-Transfer-Encoding: 7bit") == 0 ||
		strcmp(str_ptr(h->line),
		    "Content-Transfer-Encoding: quoted-printable") == 0)) {
		sh_write_header(h, text, len);
		return;
	}
	if (sh_act(h,
		hbc_header(smtp_hbc_tables, class, str_ptr(h->line), &h->res),
		"header"))
		sh_write_header(h, text, len);
}

static void
sh_body(void *ctx, int type, const char *p, size_t n)
{
	struct smtp_hbc *h = ctx;

	if (h->err)
		return;
	/* As Postfix: every record, a piece of a long line too. */
	if (n > 0) {
		str_setn(h->line, p, n);
		h->type = type;
		if (!sh_act(h, hbc_body(smtp_hbc_tables, p, n, &h->res),
			"body"))
			return;
	}
	sh_write(h, type, p, n);
}

struct smtp_hbc *
smtp_hbc_new(mime_down_out_fn **out, void **ctx, const char *queue_id,
    bool downgrade)
{
	static const struct mime_callbacks cb = {
		.header = sh_header,
		.body = sh_body,
	};
	struct smtp_hbc *h;

	if (smtp_hbc_tables == NULL)
		return NULL;
	h = xcalloc(1, sizeof(*h));
	h->out = *out;
	h->ctx = *ctx;
	*out = smtp_hbc_update;
	*ctx = h;
	h->queue_id = queue_id;
	h->downgrade = downgrade;
	h->type = REC_TYPE_NORM;
	h->line = str_new(100);
	h->mime = mime_new(&cb, h,
	    var_disable_mime_input_processing ? MIME_FLAG_DISABLE : 0);
	return h;
}

int
smtp_hbc_update(void *ctx, int type, const char *p, size_t n)
{
	struct smtp_hbc *h = ctx;

	if (h->err == 0)
		(void)mime_update(h->mime, type, p, n);
	return h->err;
}

int
smtp_hbc_finish(struct smtp_hbc *h)
{
	if (h->err == 0)
		(void)mime_finish(h->mime);
	return h->err;
}

/* Postfix's reason for a failed lookup: the session is over. */
void
smtp_hbc_fail(struct smtp_session *s)
{
	struct str *why = str_new(0);

	str_fmt(why, "local data error while talking to %s",
	    str_ptr(s->namaddr));
	smtp_fail_all(s->state, str_ptr(s->relay), "4.3.0", str_ptr(why),
	    false);
	s->keep = false;
	str_free(why);
}

int
smtp_hbc_done(struct smtp_hbc *h, int ret)
{
	if (h == NULL)
		return ret;
	if (ret == -1 && h->lookup_failed)
		ret = -3;
	mime_free(h->mime);
	str_free(h->line);
	str_free(h->res.text);
	free(h);
	return ret;
}
