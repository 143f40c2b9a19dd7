/*
 * cleanup_checks - header_checks, mime_header_checks, nested_header_checks
 * and body_checks: act on what hbc found, and log it as Postfix does:
 *
 *   QID: reject: header Subject: xyz from local; from=<a@b> to=<c@d>: 5.7.1 text
 *   QID: hold: body some line from host[1.2.3.4]; from=<a@b> to=<c@d>
 *       proto=ESMTP helo=<h>: text
 *
 * The checked text is shown up to 200 bytes; the ": text" part only when
 * the action has one.
 */
#include <ctype.h>
#include <string.h>

#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/addr.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/hbc.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "cleanup.h"

/* Postfix shows at most this much of the header or body line. */
#define CLEANUP_LOG_TEXT 200

void
cleanup_act_log(struct cleanup_state *s, const char *action, const char *class,
    const char *content, size_t len, const char *text)
{
	struct str *line = str_new(256);
	struct str *ext = str_new(64);

	str_fmt(line, "%s: %s: %s %.*s", str_ptr(s->queue_id), action, class,
	    (int)(len > CLEANUP_LOG_TEXT ? CLEANUP_LOG_TEXT : len), content);
	if (s->client_name)
		str_catfmt(line, " from %s[%s];", s->client_name,
		    s->client_addr ? s->client_addr : "unknown");
	else
		str_cat(line, " from local;");
	if (s->have_sender) {
		addr_externalize(ext, str_ptr(s->sender));
		str_catfmt(line, " from=<%s>", str_ptr(ext));
	}
	if (s->first_rcpt) {
		addr_externalize(ext, s->first_rcpt);
		str_catfmt(line, " to=<%s>", str_ptr(ext));
	}
	if (s->proto)
		str_catfmt(line, " proto=%s", s->proto);
	if (s->helo)
		str_catfmt(line, " helo=<%s>", s->helo);
	if (text && *text)
		str_catfmt(line, ": %s", text);
	msg_info("%s", str_ptr(line));
	str_free(line);
	str_free(ext);
}

/* "5.7.1 text" unless text already starts with an enhanced status code. */
static void
cleanup_dsn_text(struct str *out, const char *text)
{
	const char *p = text;

	if ((*p == '4' || *p == '5') && p[1] == '.' &&
	    isdigit((unsigned char)p[2])) {
		str_set(out, text);
		return;
	}
	str_fmt(out, "5.7.1 %s", *text ? text : "message content rejected");
}

/*
 * Act on one check result for content (a header or a body line).  Returns
 * true when the content is not to be written as it was (dropped, or
 * replaced by what this function wrote).
 */
static bool
cleanup_act(struct cleanup_state *s, const char *class, const char *content,
    size_t len, struct hbc_result *r)
{
	const char *text = str_ptr(r->text);
	struct str *tmp;

	switch (r->action) {
	case HBC_DUNNO:
		return false;
	case HBC_BAD:
		msg_warn("%s", text);
		return false;
	case HBC_DEFER:
		msg_warn("%s: %s map lookup problem -- message not accepted, "
			 "try again later",
		    str_ptr(s->queue_id), r->map_name ? r->map_name : "checks");
		cleanup_fail(s, CLEANUP_STAT_DEFER,
		    "4.3.0 content check lookup failure");
		return true;
	case HBC_REJECT:
		tmp = str_new(64);
		cleanup_dsn_text(tmp, text);
		cleanup_act_log(s, "reject", class, content, len, str_ptr(tmp));
		cleanup_fail(s, CLEANUP_STAT_CONT, "%s", str_ptr(tmp));
		str_free(tmp);
		return true;
	case HBC_DISCARD:
		cleanup_act_log(s, "discard", class, content, len, text);
		s->discard = true;
		return true;
	case HBC_HOLD:
		cleanup_act_log(s, "hold", class, content, len, text);
		s->hold = true;
		return false;
	case HBC_WARN:
		cleanup_act_log(s, "warning", class, content, len, text);
		return false;
	case HBC_INFO:
		cleanup_act_log(s, "info", class, content, len, text);
		return false;
	case HBC_IGNORE:
		return true;
	case HBC_REPLACE:
		cleanup_act_log(s, "replace", class, content, len, text);
		if (strcmp(class, "body") == 0)
			cleanup_out_line(s, text, strlen(text));
		else
			cleanup_out_header(s, text, strlen(text));
		return true;
	case HBC_PREPEND:
		cleanup_act_log(s, "prepend", class, content, len, text);
		if (strcmp(class, "body") == 0)
			cleanup_out_line(s, text, strlen(text));
		else
			cleanup_out_header(s, text, strlen(text));
		return false;
	case HBC_PASS:
		/* Postfix 3.2+: no more inspection of this message. */
		cleanup_act_log(s, "pass", class, content, len, text);
		s->checks_done = true;
		return false;
	case HBC_STRIP:
		cleanup_act_log(s, "strip", class, content, len, text);
		return true;
	case HBC_REDIRECT:
		/* Postfix ends all inspection after a REDIRECT too. */
		s->checks_done = true;
		cleanup_act_log(s, "redirect", class, content, len, text);
		if (s->redirect == NULL)
			s->redirect = str_new(64);
		addr_internalize(s->redirect, text);
		return false;
	case HBC_BCC:
		cleanup_act_log(s, "bcc", class, content, len, text);
		tmp = str_new(64);
		addr_internalize(tmp, text);
		argv_add(s->bcc, str_ptr(tmp));
		str_free(tmp);
		return false;
	case HBC_FILTER:
		cleanup_act_log(s, "filter", class, content, len, text);
		if (s->filter == NULL)
			s->filter = str_new(64);
		str_set(s->filter, text);
		return false;
	}
	return false;
}

/* One logical header; true when it was dropped or replaced. */
bool
cleanup_check_header(struct cleanup_state *s, int class, struct str *hdr)
{
	if (s->checks_done)
		return false;
	str_reset(s->hres.text);
	s->hres.map_name = NULL;
	if (hbc_header(cleanup_cfg.hbc, class, str_ptr(hdr), &s->hres) ==
	    HBC_DUNNO)
		return false;
	return cleanup_act(s, "header", str_ptr(hdr), str_len(hdr), &s->hres);
}

/*
 * One body line; true when it was dropped or replaced.  Only the first
 * body_checks_size_limit bytes of the body are looked at.
 */
bool
cleanup_check_body(struct cleanup_state *s, const char *line, size_t len)
{
	if (s->checks_done || s->body_bytes > var_body_checks_size_limit)
		return false;
	s->body_bytes += (long)len + 1;
	str_reset(s->hres.text);
	s->hres.map_name = NULL;
	if (hbc_body(cleanup_cfg.hbc, line, len, &s->hres) == HBC_DUNNO)
		return false;
	return cleanup_act(s, "body", line, len, &s->hres);
}
