/*
 * smtpd_mail - the envelope commands: MAIL FROM with SIZE, BODY, AUTH,
 * SMTPUTF8, RET and ENVID; RCPT TO with NOTIFY and ORCPT; ETRN; and the
 * cleanup stream a transaction opens at its first accepted recipient,
 * with the client attributes.  Replies and log lines are Postfix's.
 */
#include <ctype.h>
#include <regex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/addr.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/dsn.h"
#include "lib/mail/flush_clnt.h"
#include "lib/mail/maps.h"
#include "lib/mail/match_list.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "lib/mail/smtputf8.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_check.h"

/* Local submissions' flags minus bounces: smtpd rejects instead. */
#define SMTPD_CLEANUP_FLAGS                                                    \
	(CLEANUP_FLAG_FILTER | CLEANUP_FLAG_BCC_OK | CLEANUP_FLAG_MAP_OK)

/*
 * RFC 3461 xtext: printable ASCII except '+' and '=', "+XX" for others.
 * 0 with the decoded text (printable only), -1 bad syntax.
 */
static int
smtpd_xtext(const char *in, struct str *out)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *h, *l;

	str_reset(out);
	for (; *in; in++) {
		if (*in == '+') {
			if (in[1] == 0 || in[2] == 0 ||
			    (h = strchr(hex, in[1])) == NULL ||
			    (l = strchr(hex, in[2])) == NULL)
				return -1;
			str_catc(out, (char)((h - hex) * 16 + (l - hex)));
			in += 2;
		} else if (*in < 33 || *in > 126 || *in == '=') {
			return -1;
		} else
			str_catc(out, *in);
	}
	for (size_t i = 0; i < str_len(out); i++)
		if ((unsigned char)str_ptr(out)[i] < 32 ||
		    (unsigned char)str_ptr(out)[i] > 126)
			return -1;
	return 0;
}

/* Well-formed UTF-8 (no overlong forms, surrogates or NUL). */
bool
smtpd_valid_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0, n;
	unsigned int cp;

	while (i < len) {
		unsigned char c = s[i];

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 3, cp = c & 0x07;
		else
			return false;
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 2 &&
			(cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return false;
		i += n + 1;
	}
	return true;
}

/* strict_rfc821_envelopes: the address must be in <>. */
static bool
smtpd_strict_ok(const char *arg)
{
	while (*arg == ' ' || *arg == '\t')
		arg++;
	return !var_strict_rfc821_envelopes || *arg == '<';
}

bool
smtpd_mail(struct smtpd_state *state, const char *arg)
{
	struct str *addr = str_new(100), *why = str_new(100);
	const char *rest, *p, *reply;
	char *copy = NULL, *tok;
	bool ok = false;
	int rc;

	if (state->sender) {
		smtpd_reply(state, "503 5.5.1 Error: nested MAIL command");
		goto out;
	}
	if (strncasecmp(arg, "FROM:", 5) != 0) {
		smtpd_reply(state, "501 5.5.4 Syntax: MAIL FROM:<address>");
		goto out;
	}
	if ((rc = smtpd_parse_addr(arg + 5, addr, &rest)) == -2) {
		smtpd_reply(state, "501 5.5.4 Syntax: MAIL FROM:<address>");
		goto out;
	}
	if (rc < 0 || !smtpd_strict_ok(arg + 5)) {
		msg_warn("Illegal address syntax from %s in MAIL command: %s",
		    str_ptr(state->namaddr), arg + 5);
		smtpd_reply(state, "501 5.1.7 Bad sender address syntax");
		goto out;
	}
	state->size = 0;
	state->encoding = 0;
	state->smtputf8 = false;
	state->dsn_ret = 0;
	free(state->dsn_envid);
	state->dsn_envid = NULL;
	copy = xstrdup(rest);
	for (tok = copy; (p = strsep(&tok, " \t")) != NULL;) {
		char *end;

		if (*p == 0)
			continue;
		if (strncasecmp(p, "SIZE=", 5) == 0) {
			state->size = strtol(p + 5, &end, 10);
			if (*end || end == p + 5 || state->size < 0) {
				smtpd_reply(state, "501 5.5.4 Bad message size "
						   "syntax");
				goto out;
			}
		} else if (strncasecmp(p, "AUTH=", 5) == 0) {
			if (smtpd_sasl_mail_param(state, p + 5) < 0)
				goto out;
		} else if (strcasecmp(p, "BODY=8BITMIME") == 0) {
			state->encoding = 8;
		} else if (strcasecmp(p, "BODY=7BIT") == 0) {
			state->encoding = 7;
		} else if (strcasecmp(p, "SMTPUTF8") == 0 &&
			   var_smtputf8_enable &&
			   !(state->ehlo_discard & EHLO_MASK_SMTPUTF8)) {
			state->smtputf8 = true;
		} else if ((strncasecmp(p, "RET=", 4) == 0 ||
			       strncasecmp(p, "ENVID=", 6) == 0) &&
			   (state->ehlo_discard & EHLO_MASK_DSN)) {
			smtpd_reply(state, "501 5.7.1 DSN support is disabled");
			goto out;
		} else if (strncasecmp(p, "RET=", 4) == 0) {
			if (state->dsn_ret == 0 &&
			    strcasecmp(p + 4, "FULL") == 0)
				state->dsn_ret = DSN_RET_FULL;
			else if (state->dsn_ret == 0 &&
				 strcasecmp(p + 4, "HDRS") == 0)
				state->dsn_ret = DSN_RET_HDRS;
			else {
				smtpd_reply(state,
				    "501 5.5.4 Bad RET parameter syntax");
				goto out;
			}
		} else if (strncasecmp(p, "ENVID=", 6) == 0) {
			if (state->dsn_envid || smtpd_xtext(p + 6, why) < 0 ||
			    str_len(why) == 0) {
				smtpd_reply(state,
				    "501 5.5.4 Bad ENVID parameter syntax");
				goto out;
			}
			state->dsn_envid = xstrdup(str_ptr(why));
		} else {
			smtpd_reply(state, "555 5.5.4 Unsupported option: %s",
			    p);
			goto out;
		}
	}
	if (var_message_size_limit > 0 &&
	    state->size > var_message_size_limit) {
		msg_info("NOQUEUE: reject: MAIL from %s: 552 5.3.4 Message "
			 "size exceeds fixed limit; from=<%s> proto=%s "
			 "helo=<%s>",
		    str_ptr(state->namaddr), str_ptr(addr), state->proto,
		    state->helo ? state->helo : "");
		smtpd_reply(state,
		    "552 5.3.4 Message size exceeds fixed limit");
		goto out;
	}
	str_reset(why);
	if (smtpd_anvil_mail(state, why) < 0) {
		smtpd_reply(state, "%s", str_ptr(why));
		goto out;
	}
	if ((reply = smtpd_check_size(state, state->size)) != NULL) {
		smtpd_reply(state, "%s", reply);
		goto out;
	}
	if ((reply = smtpd_check_mail(state, str_ptr(addr))) != NULL) {
		smtpd_reply(state, "%s", reply);
		goto out;
	}
	state->sender = xstrdup(str_ptr(addr));
	smtpd_reply(state, "250 2.1.0 Ok");
	ok = true;
out:
	if (!ok) {
		free(state->dsn_envid);
		state->dsn_envid = NULL;
		state->dsn_ret = 0;
		state->smtputf8 = false;
	}
	free(copy);
	str_free(addr);
	str_free(why);
	return ok;
}

/* Open cleanup and send the envelope up to the first recipient. */
int
smtpd_open_cleanup(struct smtpd_state *state)
{
	struct str *why = str_new(100);
	struct stream *out;
	int flags = SMTPD_CLEANUP_FLAGS;

	if (state->smtputf8)
		flags |= CLEANUP_FLAG_SMTPUTF8;
	else if (smtputf8_autodetect("smtpd"))
		flags |= CLEANUP_FLAG_AUTOUTF8;
	state->cleanup = cleanup_open("public/cleanup", flags, why);
	if (state->cleanup == NULL) {
		msg_warn("%s", str_ptr(why));
		str_free(why);
		return -1;
	}
	state->queue_id = xstrdup(cleanup_queue_id(state->cleanup));
	str_reset(why);
	smtpd_xforward_client(state, why);
	msg_info("%s: client=%s%s%s%s%s%s%s%s", state->queue_id,
	    str_ptr(state->namaddr), state->sasl_method ? ", sasl_method=" : "",
	    state->sasl_method ? state->sasl_method : "",
	    state->sasl_username ? ", sasl_username=" : "",
	    state->sasl_username ? state->sasl_username : "",
	    state->sasl_sender ? ", sasl_sender=" : "",
	    state->sasl_sender ? state->sasl_sender : "", str_ptr(why));
	str_free(why);
	out = cleanup_stream(state->cleanup);
	rec_fmt(out, REC_TYPE_TIME, "%ld 0", (long)time(NULL));
	/* log_* and rewrite_context: XFORWARD's when given */
	smtpd_xforward_records(state, out);
	if (state->sasl_method)
		rec_fmt(out, REC_TYPE_ATTR, "sasl_method=%s",
		    state->sasl_method);
	if (state->sasl_username)
		rec_fmt(out, REC_TYPE_ATTR, "sasl_username=%s",
		    state->sasl_username);
	if (state->sasl_sender)
		rec_fmt(out, REC_TYPE_ATTR, "sasl_sender=%s",
		    state->sasl_sender);
	if (state->encoding)
		rec_fmt(out, REC_TYPE_ATTR, "encoding=%dbit", state->encoding);
	if (state->dsn_ret)
		rec_fmt(out, REC_TYPE_DSN_RET, "%d", state->dsn_ret);
	if (state->dsn_envid)
		rec_puts(out, REC_TYPE_DSN_ENVID, state->dsn_envid);
	rec_puts(out, REC_TYPE_FROM, state->sender);
	return 0;
}

/* RCPT TO: NOTIFY= and ORCPT=: 0, or -1 (replied). */
static int
smtpd_rcpt_params(struct smtpd_state *state, const char *rest, int *notify,
    struct str *orcpt)
{
	char *copy = xstrdup(rest), *tok = copy, *p, *word, *list;
	struct str *dec = str_new(64);
	int rc = -1;

	*notify = 0;
	str_reset(orcpt);
	while ((p = strsep(&tok, " \t")) != NULL) {
		if (*p == 0)
			continue;
		if ((strncasecmp(p, "NOTIFY=", 7) == 0 ||
			strncasecmp(p, "ORCPT=", 6) == 0) &&
		    (state->ehlo_discard & EHLO_MASK_DSN)) {
			smtpd_reply(state, "501 5.7.1 DSN support is disabled");
			goto out;
		}
		if (strncasecmp(p, "NOTIFY=", 7) == 0) {
			int bits = 0;

			if (*notify)
				goto bad_notify;
			list = p + 7;
			while ((word = strsep(&list, ",")) != NULL) {
				if (strcasecmp(word, "NEVER") == 0)
					bits |= DSN_NOTIFY_NEVER;
				else if (strcasecmp(word, "SUCCESS") == 0)
					bits |= DSN_NOTIFY_SUCCESS;
				else if (strcasecmp(word, "FAILURE") == 0)
					bits |= DSN_NOTIFY_FAILURE;
				else if (strcasecmp(word, "DELAY") == 0)
					bits |= DSN_NOTIFY_DELAY;
				else {
					msg_warn("unknown DSN NOTIFY command "
						 "value \"%s\" in \"%s\"",
					    word, p + 7);
					goto bad_notify;
				}
			}
			if (bits == 0 || ((bits & DSN_NOTIFY_NEVER) &&
					     bits != DSN_NOTIFY_NEVER))
				goto bad_notify;
			*notify = bits;
		} else if (strncasecmp(p, "ORCPT=", 6) == 0) {
			char *semi = strchr(p + 6, ';');

			if (str_len(orcpt) || semi == NULL || semi == p + 6 ||
			    smtpd_xtext(semi + 1, dec) < 0 ||
			    str_len(dec) == 0) {
				smtpd_reply(state, "501 5.5.4 Error: Bad ORCPT "
						   "parameter syntax");
				goto out;
			}
			str_fmt(orcpt, "%.*s;%s", (int)(semi - (p + 6)), p + 6,
			    str_ptr(dec));
		} else {
			smtpd_reply(state, "555 5.5.4 Unsupported option: %s",
			    p);
			goto out;
		}
	}
	rc = 0;
	goto out;
bad_notify:
	smtpd_reply(state, "501 5.5.4 Error: Bad NOTIFY parameter syntax");
out:
	free(copy);
	str_free(dec);
	return rc;
}

bool
smtpd_rcpt(struct smtpd_state *state, const char *arg)
{
	struct str *addr = str_new(100), *reply = str_new(100);
	struct str *orcpt = str_new(100);
	const char *rest, *check;
	bool ok = false;
	int rc, notify;

	if (state->sender == NULL) {
		smtpd_reply(state, "503 5.5.1 Error: need MAIL command");
		goto out;
	}
	if (state->bdat != SMTPD_BDAT_NONE) {
		smtpd_reply(state, "503 5.5.1 Error: RCPT after BDAT");
		goto out;
	}
	if (strncasecmp(arg, "TO:", 3) != 0) {
		smtpd_reply(state, "501 5.5.4 Syntax: RCPT TO:<address>");
		goto out;
	}
	if ((rc = smtpd_parse_addr(arg + 3, addr, &rest)) == -2) {
		smtpd_reply(state, "501 5.5.4 Syntax: RCPT TO:<address>");
		goto out;
	}
	if (rc < 0 || str_len(addr) == 0 || !smtpd_strict_ok(arg + 3)) {
		msg_warn("Illegal address syntax from %s in RCPT command: %s",
		    str_ptr(state->namaddr), arg + 3);
		smtpd_reply(state, "501 5.1.3 Bad recipient address syntax");
		goto out;
	}
	if (smtpd_rcpt_params(state, rest, &notify, orcpt) < 0)
		goto out;
	if (state->rcpt_count >= var_smtpd_recipient_limit) {
		/* overshooting clients count as erring, as in Postfix */
		if (state->rcpt_overshoot++ >=
		    var_smtpd_recipient_overshoot_limit)
			state->errors++;
		smtpd_reply(state, "452 4.5.3 Error: too many recipients");
		goto out;
	}
	if (smtpd_anvil_rcpt(state, reply) < 0) {
		smtpd_reply(state, "%s", str_ptr(reply));
		goto out;
	}
	if ((check = smtpd_check_rcpt(state, str_ptr(addr))) != NULL) {
		smtpd_reply(state, "%s", check);
		goto out;
	}
	if (state->cleanup == NULL && smtpd_open_cleanup(state) < 0) {
		smtpd_reply(state, "451 4.3.0 Error: queue file write error");
		goto out;
	}
	if (str_len(orcpt))
		rec_puts(cleanup_stream(state->cleanup), REC_TYPE_DSN_ORCPT,
		    str_ptr(orcpt));
	if (notify)
		rec_fmt(cleanup_stream(state->cleanup), REC_TYPE_DSN_NOTIFY,
		    "%d", notify);
	rec_puts(cleanup_stream(state->cleanup), REC_TYPE_RCPT, str_ptr(addr));
	if (state->rcpt_count++ == 0)
		state->first_rcpt = xstrdup(str_ptr(addr));
	smtpd_reply(state, "250 2.1.5 Ok");
	ok = true;
out:
	str_free(addr);
	str_free(reply);
	str_free(orcpt);
	return ok;
}

/*
 * ETRN (RFC 1985): ask the fast flush service to deliver the mail deferred
 * for a fast_flush_domains destination now.  As Postfix 3.7: one leading
 * '@' or '#' (RFC 1985's subdomain and queue forms) is dropped, then the
 * argument must be a host name or an address literal.
 */
bool
smtpd_etrn(struct smtpd_state *state, const char *arg)
{
	const char *reply, *domain = arg;

	if (state->ehlo_discard & EHLO_MASK_ETRN) {
		smtpd_reply(state, "502 5.5.1 Error: command not implemented");
		return false;
	}
	if (state->sender) {
		smtpd_reply(state, "503 Error: MAIL transaction in progress");
		return false;
	}
	if (*arg == 0 || strpbrk(arg, " \t")) {
		smtpd_reply(state, "500 Syntax: ETRN domain");
		return false;
	}
	if (*domain == '@' || *domain == '#')
		domain++;
	if (!flush_clnt_site_ok(domain)) {
		smtpd_reply(state, "501 Error: invalid parameter syntax");
		return false;
	}
	if (state->standalone) {
		msg_warn("do not use ETRN in \"sendmail -bs\" mode");
		smtpd_reply(state, "458 Unable to queue messages");
		return false;
	}
	if ((reply = smtpd_check_etrn(state, domain)) != NULL) {
		smtpd_reply(state, "%s", reply);
		return false;
	}
	switch (flush_clnt_send_site(domain)) {
	case FLUSH_STAT_OK:
		smtpd_reply(state, "250 Queuing started");
		return true;
	case FLUSH_STAT_DENY:
		msg_warn("reject: ETRN %.100s... from %s", domain,
		    str_ptr(state->namaddr));
		smtpd_reply(state, "459 <%s>: service unavailable", domain);
		return false;
	case FLUSH_STAT_BAD:
		msg_warn("bad ETRN %.100s... from %s", domain,
		    str_ptr(state->namaddr));
		smtpd_reply(state, "458 Unable to queue messages");
		return false;
	default:
		msg_warn("unable to talk to fast flush service");
		smtpd_reply(state, "458 Unable to queue messages");
		return false;
	}
}
