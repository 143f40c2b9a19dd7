/*
 * cleanup_envelope - the envelope records a client sends before M: time,
 * attributes, full name, sender, recipients with their DSN data, DSN RET
 * and ENVID, VERP delimiters and the local submission flags.
 *
 * Order rules (anything else is a protocol error): at most one T, exactly
 * one S before the first R, O/o/n describe the next R only, M needs S.
 */
#include <sys/time.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/addr.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/record.h"
#include "lib/mail/smtputf8.h"
#include "cleanup.h"

/* A decimal number, nothing else: 0, or -1. */
static int
cleanup_decimal(const char *p, size_t len, long *out)
{
	long n = 0;
	size_t i;

	if (len == 0 || len > 18)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		n = n * 10 + (p[i] - '0');
	}
	*out = n;
	return 0;
}

static void
cleanup_env_bad(struct cleanup_state *s, const char *what, int type)
{
	msg_warn("%s: %s record type %c from %s", str_ptr(s->queue_id), what,
	    type, cleanup_client(s));
	s->status |= CLEANUP_STAT_BAD;
}

static void
cleanup_set(char **slot, const char *value)
{
	free(*slot);
	*slot = xstrdup(value);
}

/*
 * A named attribute.  The ones that describe the client are remembered for
 * the log lines; submit_uid belongs to the conversation only (it asks for
 * the local Received: header) and is not stored.
 */
static void
cleanup_attr(struct cleanup_state *s, const char *data, size_t len)
{
	const char *eq = memchr(data, '=', len);
	struct str *name;
	const char *value;
	long n;

	if (eq == NULL || eq == data || memchr(data, '\0', len) != NULL) {
		cleanup_env_bad(s, "malformed attribute", REC_TYPE_ATTR);
		return;
	}
	name = str_new(32);
	str_setn(name, data, (size_t)(eq - data));
	value = eq + 1;
	if (strcmp(str_ptr(name), "submit_uid") == 0) {
		if (cleanup_decimal(value, strlen(value), &n) < 0)
			cleanup_env_bad(s, "malformed attribute",
			    REC_TYPE_ATTR);
		else
			s->submit_uid = n;
		goto out;
	}
	if (strcmp(str_ptr(name), "rewrite_context") == 0) {
		if (strcmp(value, "local") != 0 &&
		    strcmp(value, "remote") != 0) {
			cleanup_env_bad(s, "malformed attribute",
			    REC_TYPE_ATTR);
			goto out;
		}
		cleanup_set(&s->rewrite_ctx, value);
	} else if (strcmp(str_ptr(name), "log_client_name") == 0 ||
		   (strcmp(str_ptr(name), "client_name") == 0 &&
		       !s->client_name)) {
		cleanup_set(&s->client_name, value);
	} else if (strcmp(str_ptr(name), "log_client_address") == 0 ||
		   (strcmp(str_ptr(name), "client_address") == 0 &&
		       !s->client_addr)) {
		cleanup_set(&s->client_addr, value);
	} else if (strcmp(str_ptr(name), "log_helo_name") == 0 ||
		   (strcmp(str_ptr(name), "helo_name") == 0 && !s->helo)) {
		cleanup_set(&s->helo, value);
	} else if (strcmp(str_ptr(name), "log_protocol_name") == 0 ||
		   (strcmp(str_ptr(name), "protocol_name") == 0 && !s->proto)) {
		cleanup_set(&s->proto, value);
	} else if (strcmp(str_ptr(name), "encoding") == 0) {
		if (strcasecmp(value, "8bit") == 0)
			s->qmgr_flags |= QUEUE_FLAG_8BITMIME;
	} else if (strcmp(str_ptr(name), "dsn_orig_rcpt") == 0) {
		/* Postfix's way of giving ORCPT: it belongs to the next R. */
		str_set(s->dsn_orcpt, value);
		goto out;
	}
	cleanup_out(s, REC_TYPE_ATTR, data, len);
out:
	str_free(name);
}

/* Write T (the client's, or now) and the creation time after it. */
static void
cleanup_env_time(struct cleanup_state *s, const char *data, size_t len)
{
	struct timeval now;

	gettimeofday(&now, NULL);
	if (data != NULL) {
		cleanup_out(s, REC_TYPE_TIME, data, len);
	} else {
		s->arrival = (long)now.tv_sec;
		cleanup_out_fmt(s, REC_TYPE_TIME, "%ld %ld", (long)now.tv_sec,
		    (long)now.tv_usec);
	}
	cleanup_out_fmt(s, REC_TYPE_ATTR, "create_time=%ld", (long)now.tv_sec);
	s->have_time = true;
}

/*
 * Before the first recipient (or M): the -bv trace flags and the delay
 * warning time (queue.h), where Postfix's cleanup writes them.
 */
static void
cleanup_env_notes(struct cleanup_state *s)
{
	if (s->env_notes)
		return;
	s->env_notes = true;
	if (s->flags & CLEANUP_XFLAG_VERIFY)
		cleanup_out_fmt(s, REC_TYPE_ATTR, "trace_flags=%d",
		    QUEUE_TRACE_VERIFY);
	if (var_delay_warning_time > 0)
		cleanup_out_fmt(s, REC_TYPE_WARN, "%*ld", QUEUE_WARN_WIDTH,
		    s->arrival + (long)var_delay_warning_time);
}

/* One envelope record. */
void
cleanup_envelope(struct cleanup_state *s, int type, const char *data,
    size_t len)
{
	long n;

	/*
	 * The file starts T, A create_time=..., as Postfix's do: a client that
	 * does not begin with T gets the time of now, and a T it sends later
	 * is dropped.
	 */
	if (!s->have_time && type != REC_TYPE_TIME) {
		cleanup_env_time(s, NULL, 0);
		s->own_time = true;
	}
	switch (type) {
	case REC_TYPE_TIME:
		if (s->own_time)
			return;
		if (s->have_time || len == 0) {
			cleanup_env_bad(s, "unexpected", type);
			return;
		}
		/* "sec usec" or "sec" */
		n = 0;
		{
			const char *sp = memchr(data, ' ', len);
			size_t sl = sp ? (size_t)(sp - data) : len;
			long usec;

			if (cleanup_decimal(data, sl, &n) < 0 ||
			    (sp && cleanup_decimal(sp + 1, len - sl - 1,
				       &usec) < 0)) {
				cleanup_env_bad(s, "malformed", type);
				return;
			}
		}
		cleanup_env_time(s, data, len);
		s->arrival = n;
		return;
	case REC_TYPE_ATTR:
		cleanup_attr(s, data, len);
		return;
	case REC_TYPE_FULL:
		str_setn(s->fullname, data, len);
		cleanup_out(s, type, data, len);
		return;
	case REC_TYPE_FROM:
		if (s->have_sender || memchr(data, '\0', len) != NULL) {
			cleanup_env_bad(s, "unexpected", type);
			return;
		}
		s->have_sender = true;
		str_setn(s->sender, data, len);
		if (smtputf8_8bit(data, len))
			s->utf8_seen |= SMTPUTF8_FLAG_SENDER;
		if (cleanup_rewrite(s, s->rewrite_ctx, s->sender,
			CLEANUP_CLASS_ENV_FROM) == 0)
			cleanup_out(s, type, str_ptr(s->sender),
			    str_len(s->sender));
		return;
	case REC_TYPE_ORCP:
		str_setn(s->orcpt, data, len);
		s->have_orcpt = true;
		return;
	case REC_TYPE_DSN_ORCPT:
		str_setn(s->dsn_orcpt, data, len);
		return;
	case REC_TYPE_DSN_NOTIFY:
		if (cleanup_decimal(data, len, &n) < 0 || n > 15) {
			cleanup_env_bad(s, "malformed", type);
			return;
		}
		s->dsn_notify = n;
		return;
	case REC_TYPE_RCPT:
		if (!s->have_sender || memchr(data, '\0', len) != NULL) {
			cleanup_env_bad(s, "unexpected", type);
			return;
		}
		str_setn(s->buf, data, len);
		cleanup_env_notes(s);
		cleanup_recipient(s, str_ptr(s->buf),
		    s->have_orcpt ? str_ptr(s->orcpt) : str_ptr(s->buf),
		    str_ptr(s->dsn_orcpt), s->dsn_notify);
		s->have_orcpt = false;
		str_reset(s->orcpt);
		str_reset(s->dsn_orcpt);
		s->dsn_notify = 0;
		return;
	case REC_TYPE_DSN_RET:
		if (cleanup_decimal(data, len, &n) < 0) {
			cleanup_env_bad(s, "malformed", type);
			return;
		}
		cleanup_out(s, type, data, len);
		return;
	case REC_TYPE_DSN_ENVID:
	case REC_TYPE_VERP:
		cleanup_out(s, type, data, len);
		return;
	case REC_TYPE_FLGS:
		/* smtpd's HOLD and DISCARD access actions, too */
		if (cleanup_decimal(data, len, &n) < 0 ||
		    (n & ~(long)(CLEANUP_XFLAG_MASK | CLEANUP_FLAG_HOLD |
				   CLEANUP_FLAG_DISCARD)) != 0) {
			cleanup_env_bad(s, "malformed", type);
			return;
		}
		s->flags |= (int)n;
		if (n & CLEANUP_FLAG_HOLD)
			s->hold = true;
		if (n & CLEANUP_FLAG_DISCARD)
			s->discard = true;
		return;
	case REC_TYPE_FILT:
		/* smtpd's FILTER access action: the last one wins */
		if (s->filter == NULL)
			s->filter = str_new(64);
		str_setn(s->filter, data, len);
		return;
	case REC_TYPE_RDR:
		/* smtpd's REDIRECT access action (internal form) */
		if (s->redirect == NULL)
			s->redirect = str_new(64);
		str_setn(s->redirect, data, len);
		return;
	default:
		cleanup_env_bad(s, "unexpected", type);
		return;
	}
}

/*
 * The envelope is over: no DSN data may wait for a recipient; then the M
 * record (no data: the size record holds the content offset).
 */
void
cleanup_env_done(struct cleanup_state *s)
{
	if (!s->have_sender) {
		cleanup_env_bad(s, "missing sender before", REC_TYPE_MESG);
		return;
	}
	if (str_len(s->orcpt) || str_len(s->dsn_orcpt) || s->dsn_notify) {
		cleanup_env_bad(s, "DSN data without recipient before",
		    REC_TYPE_MESG);
		return;
	}
	cleanup_env_notes(s);
	/* Header rewriting: local context, or remote with a domain. */
	if (strcmp(s->rewrite_ctx, "local") == 0)
		s->hdr_ctx = "local";
	else if (*var_remote_header_rewrite_domain)
		s->hdr_ctx = "remote";
	cleanup_out(s, REC_TYPE_MESG, "", 0);
	s->data_offset = (long)s->offset;
}
