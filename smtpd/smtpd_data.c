/*
 * smtpd_data - the message content: DATA (RFC 5321) and BDAT (CHUNKING,
 * RFC 3030), the Received: header and the end of the message, with
 * Postfix's replies and log lines.
 *
 * DATA content ends only at <CR><LF>.<CR><LF> (smtpd_forbid_bare_newline
 * = normalize, yes or reject): a bare <LF> ends a content line but never
 * the message; "reject" refuses such a message at its end ("550 5.5.2 ...
 * Error: bare <LF> received") unless the client is in
 * smtpd_forbid_bare_newline_exclusions.  With "no", Postfix's old
 * behaviour, a "." line ended by a bare <LF> ends the message too.
 *
 * A BDAT chunk is read exactly (binary, no dot-stuffing); its lines are
 * split at <LF> (a <CR> before it removed) and a line may continue in the
 * next chunk.  A chunk that would take the message past
 * message_size_limit is refused before a byte of it is read, and the
 * connection is closed.  After a failed chunk every further chunk of the
 * transaction is read and discarded ("551 5.0.0 Discarded N bytes after
 * earlier error") up to the LAST one, which ends the transaction.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/addr.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/mail_date.h"
#include "lib/mail/match_list.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_check.h"

/* A BDAT count: at most this many digits (Postfix refuses more). */
#define SMTPD_BDAT_DIGITS 15

/* The Received: header, as Postfix's smtpd writes it. */
static void
smtpd_received(struct smtpd_state *state, struct stream *out)
{
	struct str *date = str_new(64), *ext = str_new(100);
	char *lines, *line;

	mail_date(date, time(NULL));
	rec_fmt(out, REC_TYPE_NORM, "Received: from %s (%s [%s])",
	    state->helo ? state->helo : str_ptr(state->name),
	    str_ptr(state->name), str_ptr(state->addr));
	/* "\t(using TLSv1.3 with cipher ...)" lines, one per '\n' */
	smtpd_tls_received(state, ext);
	lines = str_len(ext) ? xstrdup(str_ptr(ext)) : NULL;
	for (char *cp = lines; (line = strsep(&cp, "\n")) != NULL;)
		if (*line)
			rec_puts(out, REC_TYPE_NORM, line);
	free(lines);
	if (state->sasl_username && var_smtpd_sasl_authenticated_header)
		rec_fmt(out, REC_TYPE_NORM, "\t(Authenticated sender: %s)",
		    state->sasl_username);
	if (state->rcpt_count == 1) {
		rec_fmt(out, REC_TYPE_NORM, "\tby %s (%s) with %s id %s",
		    var_myhostname, var_mail_name, state->proto,
		    cleanup_queue_id(state->cleanup));
		addr_externalize(ext, state->first_rcpt);
		rec_fmt(out, REC_TYPE_NORM, "\tfor <%s>; %s", str_ptr(ext),
		    str_ptr(date));
	} else {
		rec_fmt(out, REC_TYPE_NORM, "\tby %s (%s) with %s id %s;",
		    var_myhostname, var_mail_name, state->proto,
		    cleanup_queue_id(state->cleanup));
		rec_fmt(out, REC_TYPE_NORM, "\t%s", str_ptr(date));
	}
	str_free(date);
	str_free(ext);
}

/* The records before the content: access-map results, M, headers. */
static void
smtpd_content_start(struct smtpd_state *state)
{
	struct stream *out = cleanup_stream(state->cleanup);

	smtpd_check_envelope(state, out);
	rec_put(out, REC_TYPE_MESG, "", 0);
	smtpd_check_prepend(state, out);
	smtpd_received(state, out);
	state->msg_bytes = 0;
	state->data_bytes = 0;
	state->bare_lf = false;
}

/* "reject" mode of smtpd_forbid_bare_newline applies to this client. */
static bool
smtpd_bare_lf_reject(struct smtpd_state *state)
{
	static struct match_list *exclusions;

	if (strcasecmp(var_smtpd_forbid_bare_newline, "reject") != 0)
		return false;
	if (exclusions == NULL)
		exclusions =
		    match_list_new("smtpd_forbid_bare_newline_exclusions",
			var_smtpd_forbid_bare_newline_exclusions, 0);
	return match_list_hostaddr(exclusions, str_ptr(state->name),
		   str_ptr(state->addr)) != 1;
}

/*
 * After the content: restrictions, the bare <LF> policy, then cleanup's
 * verdict.  bdat: the reply names the size, as Postfix's BDAT LAST.
 */
static void
smtpd_content_end(struct smtpd_state *state, bool bdat, bool *ok)
{
	struct stream *out = cleanup_stream(state->cleanup);
	struct str *why = str_new(100), *qid = str_new(16);
	const char *check;
	int status, code = var_smtpd_forbid_bare_newline_reject_code;

	str_set(qid, cleanup_queue_id(state->cleanup));
	state->where = "END-OF-MESSAGE";
	if ((check = smtpd_check_eod(state)) != NULL) {
		smtpd_reply(state, "%s", check);
		goto out;
	}
	if (state->bare_lf && smtpd_bare_lf_reject(state)) {
		str_fmt(why,
		    "%s: reject: END-OF-MESSAGE from %s: bare <LF> "
		    "received; from=<%s>",
		    str_ptr(qid), str_ptr(state->namaddr), state->sender);
		if (state->rcpt_count == 1)
			str_catfmt(why, " to=<%s>", state->first_rcpt);
		str_catfmt(why, " proto=%s helo=<%s>", state->proto,
		    state->helo ? state->helo : "");
		msg_info("%s", str_ptr(why));
		smtpd_reply(state, "%d %c.5.2 %s Error: bare <LF> received",
		    code, code >= 500 ? '5' : '4', var_myhostname);
		goto out;
	}
	rec_put(out, REC_TYPE_XTRA, "", 0);
	rec_put(out, REC_TYPE_END, "", 0);
	status = cleanup_close(state->cleanup, why);
	state->cleanup = NULL;
	if (status == 0) {
		/* a delivered message forgives errors and junk */
		state->errors = 0;
		state->junk = 0;
		if (bdat)
			smtpd_reply(state,
			    "250 2.0.0 Ok: %ld bytes queued as %s",
			    state->msg_bytes, str_ptr(qid));
		else
			smtpd_reply(state, "250 2.0.0 Ok: queued as %s",
			    str_ptr(qid));
		*ok = true;
	} else if ((status & CLEANUP_STAT_CONT) && str_len(why) > 0) {
		smtpd_reply(state, "%s %s", cleanup_stat_smtp(status)->code,
		    str_ptr(why));
	} else {
		const struct cleanup_smtp *sp = cleanup_stat_smtp(status);

		smtpd_reply(state, "%s %s Error: %s", sp->code, sp->dsn,
		    sp->text);
	}
out:
	smtpd_reset(state);
	str_free(why);
	str_free(qid);
}

/*
 * DATA: copy the content to cleanup until <CR><LF>.<CR><LF>.  Returns
 * false when the connection is gone (state->lost_rc says how).
 */
bool
smtpd_cmd_data(struct smtpd_state *state, const char *arg, bool *ok)
{
	struct str *line;
	struct stream *out;
	bool crlf, prev_crlf = true, start = true, too_big = false;
	bool legacy = strcasecmp(var_smtpd_forbid_bare_newline, "no") == 0;
	const char *check;
	long total = 0;
	int rc;

	*ok = false;
	if (*arg) {
		smtpd_reply(state, "501 5.5.4 Syntax: DATA");
		return true;
	}
	if (state->bdat != SMTPD_BDAT_NONE) {
		smtpd_reply(state, "503 5.5.1 Error: DATA after BDAT");
		return true;
	}
	if (state->rcpt_count == 0) {
		/* Postfix keeps the sender after "no valid recipients" */
		if (state->sender == NULL)
			smtpd_reply(state,
			    "503 5.5.1 Error: need RCPT command");
		else
			smtpd_reply(state,
			    "554 5.5.1 Error: no valid recipients");
		return true;
	}
	if ((check = smtpd_check_data(state)) != NULL) {
		smtpd_reply(state, "%s", check);
		smtpd_reset(state);
		return true;
	}
	smtpd_content_start(state);
	out = cleanup_stream(state->cleanup);
	smtpd_reply(state, "354 End data with <CR><LF>.<CR><LF>");
	state->in_data = true;
	state->where = "DATA";
	smtpd_data_deadline(state, -1);
	line = str_new(256);
	for (;;) {
		rc = smtpd_getline(state, line, (size_t)var_line_length_limit,
		    &crlf);
		if (rc < 0) {
			state->lost_rc = rc;
			str_free(line);
			return false;
		}
		state->data_bytes += (long)str_len(line) +
				     (rc == STREAM_OK ? (crlf ? 2 : 1) : 0);
		smtpd_data_deadline(state, (long)str_len(line) + 2);
		if (rc == STREAM_OK && !crlf)
			state->bare_lf = true;
		if (start && rc == STREAM_OK && (crlf || legacy) &&
		    (prev_crlf || legacy) && str_len(line) == 1 &&
		    str_ptr(line)[0] == '.')
			break;
		/* dot-unstuffing, at the start of a line only */
		if (start && str_len(line) > 0 && str_ptr(line)[0] == '.')
			memmove(str_ptr(line), str_ptr(line) + 1,
			    str_len(line)--);
		total += (long)str_len(line) + (rc == STREAM_OK ? 2 : 0);
		if (var_message_size_limit > 0 &&
		    total > var_message_size_limit)
			too_big = true;
		if (!too_big)
			rec_put(out,
			    rc == STREAM_OK ? REC_TYPE_NORM : REC_TYPE_CONT,
			    str_ptr(line), str_len(line));
		start = (rc == STREAM_OK);
		if (start)
			prev_crlf = crlf;
	}
	str_free(line);
	state->in_data = false;
	if (too_big) {
		msg_warn("%s: queue file size limit exceeded",
		    cleanup_queue_id(state->cleanup));
		smtpd_reply(state, "552 5.3.4 Error: message file too big");
		smtpd_reset(state);
		return true;
	}
	smtpd_content_end(state, false, ok);
	return true;
}

/* Write the BDAT line under construction as a record. */
static void
smtpd_bdat_put(struct smtpd_state *state, int type)
{
	struct str *l = state->bdat_line;

	rec_put(cleanup_stream(state->cleanup), type, str_ptr(l), str_len(l));
	str_reset(l);
}

/*
 * Read (keep: to cleanup) or skip size bytes of a chunk; *counted gets
 * its size as Postfix reports it.  False: the connection is gone.
 */
static bool
smtpd_bdat_read(struct smtpd_state *state, long size, bool keep, long *counted)
{
	char buf[4096];
	size_t limit = (size_t)var_line_length_limit;
	ssize_t n;

	if (state->bdat_line == NULL)
		state->bdat_line = str_new(256);
	state->in_data = true;
	state->where = "BDAT";
	smtpd_data_deadline(state, -1);
	while (size > 0) {
		n = smtpd_read(state, buf,
		    size < (long)sizeof(buf) ? (size_t)size : sizeof(buf));
		if (n <= 0) {
			state->lost_rc =
			    n == 0 ? STREAM_EOF
			    : stream_status(state->st) == STREAM_TIMEOUT
				? STREAM_TIMEOUT
				: STREAM_EOF;
			return false;
		}
		size -= n;
		state->data_bytes += n;
		smtpd_data_deadline(state, n);
		if (!keep)
			continue;
		for (ssize_t i = 0; i < n; i++) {
			struct str *l = state->bdat_line;

			/* Postfix counts a bare <LF> as <CR><LF> */
			*counted += 1;
			if (buf[i] == '\n') {
				if (str_len(l) > 0 &&
				    str_ptr(l)[str_len(l) - 1] == '\r') {
					str_truncate(l, str_len(l) - 1);
				} else {
					state->bare_lf = true;
					*counted += 1;
				}
				smtpd_bdat_put(state, REC_TYPE_NORM);
				continue;
			}
			/* a CR may be the first half of a CRLF: keep it */
			if (str_len(l) >= limit &&
			    str_ptr(l)[str_len(l) - 1] != '\r')
				smtpd_bdat_put(state, REC_TYPE_CONT);
			else if (str_len(l) > limit)
				smtpd_bdat_put(state, REC_TYPE_CONT);
			str_catc(l, buf[i]);
		}
	}
	state->in_data = false;
	return true;
}

/* A failed chunk: read it away; LAST ends the transaction. */
static bool
smtpd_bdat_fail(struct smtpd_state *state, long size, bool last)
{
	long counted = 0;

	if (!smtpd_bdat_read(state, size, false, &counted))
		return false;
	if (last)
		smtpd_reset(state);
	else if (state->sender)
		state->bdat = SMTPD_BDAT_ERROR;
	return true;
}

/*
 * BDAT size [LAST]: one chunk.  Returns false when the connection is
 * gone or must be closed (state->lost_rc says how).
 */
bool
smtpd_cmd_bdat(struct smtpd_state *state, const char *arg, bool *ok)
{
	const char *p = arg,
		   *qid = state->queue_id ? state->queue_id : "NOQUEUE";
	const char *check;
	bool last = false;
	long size = 0, counted = 0;
	size_t digits;

	*ok = false;
	if (state->ehlo_discard & EHLO_MASK_CHUNKING) {
		smtpd_reply(state, "521 5.5.1 Error: command not implemented");
		state->alive = false;
		return true;
	}
	digits = strspn(p, "0123456789");
	if (digits > 0 && digits <= SMTPD_BDAT_DIGITS) {
		size = strtol(p, NULL, 10);
		p += digits;
		if (*p == ' ' || *p == '\t') {
			p += strspn(p, " \t");
			if (strncasecmp(p, "LAST", 4) == 0 &&
			    p[4 + strspn(p + 4, " \t")] == 0) {
				last = true;
				p += strlen(p);
			}
		}
	}
	if (digits == 0 || digits > SMTPD_BDAT_DIGITS || *p != 0) {
		msg_warn(
		    "%s: malformed BDAT command syntax from %s: BDAT%s%.100s",
		    qid, str_ptr(state->namaddr), *arg ? " " : "", arg);
		smtpd_reply(state, "521 5.5.4 Syntax: BDAT count [LAST]");
		state->alive = false;
		return true;
	}
	if (var_message_size_limit > 0 &&
	    size > var_message_size_limit - state->bdat_size) {
		/* Postfix closes without reading the chunk */
		msg_warn("%s: BDAT request from %s exceeds message size limit",
		    qid, str_ptr(state->namaddr));
		smtpd_reply(state,
		    "552 5.3.4 Chunk exceeds message size limit");
		stream_flush(state->st);
		state->lost_rc = STREAM_EOF;
		return false;
	}
	if (state->bdat == SMTPD_BDAT_ERROR) {
		if (!smtpd_bdat_fail(state, size, last))
			return false;
		smtpd_reply(state,
		    "551 5.0.0 Discarded %ld bytes after earlier error", size);
		return true;
	}
	if (state->rcpt_count == 0) {
		if (!smtpd_bdat_fail(state, size, last))
			return false;
		if (state->sender == NULL)
			smtpd_reply(state,
			    "503 5.5.1 Error: need RCPT command");
		else
			smtpd_reply(state,
			    "554 5.5.1 Error: no valid recipients");
		return true;
	}
	if (state->bdat == SMTPD_BDAT_NONE) {
		if ((check = smtpd_check_data(state)) != NULL) {
			if (!smtpd_bdat_fail(state, size, last))
				return false;
			smtpd_reply(state, "%s", check);
			return true;
		}
		smtpd_content_start(state);
		state->bdat = SMTPD_BDAT_OK;
		state->bdat_size = 0;
		if (state->bdat_line)
			str_reset(state->bdat_line);
	}
	if (size == 0 && !last) {
		msg_warn("%s: null BDAT request from %s", qid,
		    str_ptr(state->namaddr));
		smtpd_reply(state, "551 5.7.1 Null BDAT request");
		state->bdat = SMTPD_BDAT_ERROR;
		return true;
	}
	if (!smtpd_bdat_read(state, size, true, &counted))
		return false;
	state->bdat_size += size;
	state->msg_bytes += counted;
	/* each chunk's reply gives its size; the last one the total */
	if (!last) {
		smtpd_reply(state, "250 2.0.0 Ok: %ld bytes", counted);
		*ok = true;
		return true;
	}
	if (str_len(state->bdat_line) > 0) {
		smtpd_bdat_put(state, REC_TYPE_NORM);
		state->msg_bytes += 2;
	}
	smtpd_content_end(state, true, ok);
	return true;
}
