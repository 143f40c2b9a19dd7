/*
 * smtpd_proto - the SMTP conversation: commands, replies, EHLO keywords,
 * MAIL/RCPT with their ESMTP parameters (SIZE, BODY, AUTH, SMTPUTF8, DSN),
 * ETRN, and the defences, with Postfix's reply texts and log lines.  The
 * message content (DATA, BDAT) is smtpd_data.c.
 *
 * Input is read in pieces of at most line_length_limit bytes: an overlong
 * command is acted on by its first piece (the rest is skipped, with
 * Postfix's "request longer than" warning).  Every error reply counts
 * towards smtpd_soft_error_limit (then every reply waits
 * smtpd_error_sleep_time) and smtpd_hard_error_limit (then "421 4.7.0 ...
 * too many errors"), until a message is queued; so do junk commands past
 * smtpd_junk_command_limit and recipients past the overshoot limit.
 * Every failed command leaves no transaction behind that a later command
 * could use.
 *
 * Defences: a command that must end a pipelined group (RFC 2920; every
 * command without EHLO) followed by more input is logged once as
 * "improper command pipelining" and, with smtpd_forbid_unauth_pipelining,
 * answered "554 5.5.0 Error: SMTP protocol synchronization" and the
 * session ends.  smtpd_forbidden_commands (HTTP verbs) end the session.
 * With smtpd_per_request_deadline each command must arrive within
 * smtpd_timeout, and DATA/BDAT content at smtpd_min_data_rate.
 */
#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
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
#include "lib/mail/maps.h"
#include "lib/mail/match_list.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_check.h"

/* Local submissions' flags minus bounces: smtpd rejects instead. */
#define SMTPD_CLEANUP_FLAGS                                                    \
	(CLEANUP_FLAG_FILTER | CLEANUP_FLAG_BCC_OK | CLEANUP_FLAG_MAP_OK)

/* Bytes of unexpected input in the "improper command pipelining" line. */
#define SMTPD_PIPELINING_LOG 100

static const char *smtpd_cmd_names[SMTPD_CMD_COUNT] = {
	"helo",
	"ehlo",
	"xclient",
	"xforward",
	"starttls",
	"auth",
	"mail",
	"rcpt",
	"data",
	"bdat",
	"rset",
	"noop",
	"vrfy",
	"etrn",
	"quit",
	"unknown",
};

static const char *smtpd_cmd_verbs[SMTPD_CMD_COUNT] = {
	"HELO",
	"EHLO",
	"XCLIENT",
	"XFORWARD",
	"STARTTLS",
	"AUTH",
	"MAIL",
	"RCPT",
	"DATA",
	"BDAT",
	"RSET",
	"NOOP",
	"VRFY",
	"ETRN",
	"QUIT",
	"UNKNOWN",
};

/* EHLO keyword names for smtpd_discard_ehlo_keywords, sorted. */
static const struct {
	const char *name;
	int mask;
} smtpd_ehlo_names[] = {
	{ "8BITMIME", SMTPD_EHLO_8BITMIME },
	{ "AUTH", SMTPD_EHLO_AUTH },
	{ "CHUNKING", SMTPD_EHLO_CHUNKING },
	{ "DSN", SMTPD_EHLO_DSN },
	{ "ENHANCEDSTATUSCODES", SMTPD_EHLO_ENHANCED },
	{ "ETRN", SMTPD_EHLO_ETRN },
	{ "PIPELINING", SMTPD_EHLO_PIPELINING },
	{ "SIZE", SMTPD_EHLO_SIZE },
	{ "SMTPUTF8", SMTPD_EHLO_SMTPUTF8 },
	{ "STARTTLS", SMTPD_EHLO_STARTTLS },
	{ "VRFY", SMTPD_EHLO_VRFY },
	{ "XCLIENT", SMTPD_EHLO_XCLIENT },
	{ "XFORWARD", SMTPD_EHLO_XFORWARD },
};
#define SMTPD_EHLO_NAMES                                                       \
	(sizeof(smtpd_ehlo_names) / sizeof(smtpd_ehlo_names[0]))

/* Input: what was taken to log improper pipelining comes first. */
ssize_t
smtpd_read(struct smtpd_state *state, void *buf, size_t n)
{
	struct str *pb = state->pushback;

	if (pb && str_len(pb) > 0) {
		if (n > str_len(pb))
			n = str_len(pb);
		memcpy(buf, str_ptr(pb), n);
		memmove(str_ptr(pb), str_ptr(pb) + n, str_len(pb) - n);
		str_truncate(pb, str_len(pb) - n);
		return (ssize_t)n;
	}
	return stream_read(state->st, buf, n);
}

size_t
smtpd_pending(struct smtpd_state *state)
{
	return (state->pushback ? str_len(state->pushback) : 0) +
	       stream_pending(state->st);
}

/*
 * Read up to limit bytes through the next LF.  Returns STREAM_OK for a
 * complete line (LF removed, *crlf tells whether a CR preceded it, which
 * is removed too), SMTPD_PIECE for a piece of an overlong line, or a
 * stream error.
 */
int
smtpd_getline(struct smtpd_state *state, struct str *line, size_t limit,
    bool *crlf)
{
	char c;
	ssize_t n;

	str_reset(line);
	*crlf = false;
	for (;;) {
		n = smtpd_read(state, &c, 1);
		if (n == 0)
			return STREAM_EOF;
		if (n < 0)
			return stream_status(state->st) == STREAM_TIMEOUT
				   ? STREAM_TIMEOUT
				   : STREAM_ERROR;
		if (c == '\n') {
			if (str_len(line) > 0 &&
			    str_ptr(line)[str_len(line) - 1] == '\r') {
				str_truncate(line, str_len(line) - 1);
				*crlf = true;
			}
			return STREAM_OK;
		}
		str_catc(line, c);
		/* keep a trailing CR with its LF when it may be one */
		if (str_len(line) >= limit && c != '\r')
			return SMTPD_PIECE;
		if (str_len(line) > limit)
			return SMTPD_PIECE;
	}
}

static long long
smtpd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A new request: smtpd_timeout for all of it (smtpd_per_request_deadline). */
static void
smtpd_request_deadline(struct smtpd_state *state)
{
	if (!var_smtpd_per_request_deadline)
		return;
	state->deadline_ms = (long)var_smtpd_timeout * 1000;
	state->deadline_at = smtpd_now_ms();
	stream_set_deadline(state->st, (int)state->deadline_ms);
}

/*
 * Content: n bytes arrived (n < 0: the content starts).  The deadline
 * loses the time spent and gains n/smtpd_min_data_rate seconds, never
 * more than smtpd_timeout in all, as Postfix's.
 */
void
smtpd_data_deadline(struct smtpd_state *state, long n)
{
	long long now, left, max = (long long)var_smtpd_timeout * 1000;

	if (!var_smtpd_per_request_deadline)
		return;
	if (n < 0) {
		smtpd_request_deadline(state);
		return;
	}
	now = smtpd_now_ms();
	left = state->deadline_ms - (now - state->deadline_at);
	if (var_smtpd_min_data_rate > 0)
		left += (long long)n * 1000 / var_smtpd_min_data_rate;
	if (left > max)
		left = max;
	if (left < 1)
		left = 1;
	state->deadline_ms = (long)left;
	state->deadline_at = now;
	stream_set_deadline(state->st, (int)left);
}

/*
 * The protocol name in logs and Received: ESMTP, plus S with TLS and A
 * after AUTH (ESMTPSA), as Postfix.
 */
void
smtpd_proto_name(struct smtpd_state *state)
{
	if (!state->esmtp)
		state->proto = "SMTP";
	else if (state->tls && state->sasl_username)
		state->proto = "ESMTPSA";
	else if (state->tls)
		state->proto = "ESMTPS";
	else if (state->sasl_username)
		state->proto = "ESMTPA";
	else
		state->proto = "ESMTP";
}

void
smtpd_reply(struct smtpd_state *state, const char *fmt, ...)
{
	struct str *buf = str_new(100);
	va_list ap;

	va_start(ap, fmt);
	str_vcatfmt(buf, fmt, ap);
	va_end(ap);
	/*
	 * Postfix slows down every reply to a client that has made
	 * smtpd_soft_error_limit errors (counting this one's predecessors)
	 * since it last delivered a message; once per (multi-line) reply.
	 */
	if (state->errors >= var_smtpd_soft_error_limit &&
	    var_smtpd_error_sleep_time > 0 && str_ptr(buf)[3] != '-') {
		stream_flush(state->st);
		sleep((unsigned)var_smtpd_error_sleep_time);
	}
	if (str_ptr(buf)[0] == '4' || str_ptr(buf)[0] == '5')
		state->errors++;
	str_cat(buf, "\r\n");
	stream_write(state->st, str_ptr(buf), str_len(buf));
	str_free(buf);
}

/* Forget the mail transaction (RSET, errors, after DATA). */
void
smtpd_reset(struct smtpd_state *state)
{
	smtpd_check_reset(state);
	free(state->queue_id);
	state->queue_id = NULL;
	free(state->sender);
	state->sender = NULL;
	free(state->first_rcpt);
	state->first_rcpt = NULL;
	free(state->dsn_envid);
	state->dsn_envid = NULL;
	state->dsn_ret = 0;
	state->rcpt_count = 0;
	state->rcpt_overshoot = 0;
	state->size = 0;
	state->encoding = 0;
	state->smtputf8 = false;
	state->bdat = SMTPD_BDAT_NONE;
	state->bdat_size = 0;
	state->msg_bytes = 0;
	state->bare_lf = false;
	if (state->bdat_line)
		str_reset(state->bdat_line);
	free(state->sasl_sender);
	state->sasl_sender = NULL;
	if (state->cleanup)
		state->cleanup = cleanup_abort(state->cleanup);
	smtpd_xforward_reset(state);
}

/* The SMTPD_EHLO_* bits of a keyword list; *silent: "silent-discard". */
static int
smtpd_ehlo_mask(const char *list, bool *silent)
{
	char *copy = xstrdup(list), *cp = copy, *word;
	int mask = 0;

	while ((word = strsep(&cp, " \t\r\n,")) != NULL) {
		if (*word == 0)
			continue;
		if (strcasecmp(word, "silent-discard") == 0) {
			*silent = true;
			continue;
		}
		for (size_t i = 0; i < SMTPD_EHLO_NAMES; i++)
			if (strcasecmp(word, smtpd_ehlo_names[i].name) == 0)
				mask |= smtpd_ehlo_names[i].mask;
	}
	free(copy);
	return mask;
}

/*
 * The keywords withdrawn for this client: smtpd_discard_ehlo_keywords
 * and what smtpd_discard_ehlo_keyword_address_maps says for its address.
 * log: say "discarding EHLO keywords: ..." (at EHLO) unless silenced.
 */
static void
smtpd_ehlo_discard_init(struct smtpd_state *state, bool log)
{
	static struct maps *maps;
	const char *value = NULL;
	bool silent = false;
	int mask;

	mask = smtpd_ehlo_mask(var_smtpd_discard_ehlo_keywords, &silent);
	if (*var_smtpd_discard_ehlo_keyword_address_maps) {
		if (maps == NULL)
			maps =
			    maps_new("smtpd_discard_ehlo_keyword_address_maps",
				var_smtpd_discard_ehlo_keyword_address_maps, 0);
		value = maps_find(maps, str_ptr(state->addr), 0);
		if (value)
			mask |= smtpd_ehlo_mask(value, &silent);
	}
	state->ehlo_discard = mask;
	if (log && value && !silent && mask) {
		struct str *buf = str_new(64);

		for (size_t i = 0; i < SMTPD_EHLO_NAMES; i++)
			if (mask & smtpd_ehlo_names[i].mask)
				str_catfmt(buf, " %s",
				    smtpd_ehlo_names[i].name);
		msg_info("discarding EHLO keywords:%s", str_ptr(buf));
		str_free(buf);
	}
}

bool
smtpd_ehlo_discarded(struct smtpd_state *state, const char *kw)
{
	size_t n = strcspn(kw, " =");

	for (size_t i = 0; i < SMTPD_EHLO_NAMES; i++)
		if (strlen(smtpd_ehlo_names[i].name) == n &&
		    strncasecmp(kw, smtpd_ehlo_names[i].name, n) == 0)
			return (state->ehlo_discard &
				   smtpd_ehlo_names[i].mask) != 0;
	return false;
}

/* The EHLO reply: the keywords in Postfix's order. */
static void
smtpd_ehlo_keywords(struct smtpd_state *state)
{
	struct argv *kw = argv_new(), *mod = argv_new();
	struct str *mechs = str_new(64), *buf = str_new(64);
	size_t i;

	argv_add(kw, "PIPELINING");
	if (var_message_size_limit > 0) {
		str_fmt(buf, "SIZE %ld", var_message_size_limit);
		argv_add(kw, str_ptr(buf));
	} else
		argv_add(kw, "SIZE");
	if (!var_disable_vrfy_command)
		argv_add(kw, "VRFY");
	argv_add(kw, "ETRN");
	if (smtpd_tls_offer(state))
		argv_add(kw, "STARTTLS");
	smtpd_sasl_mechs(state, mechs);
	if (str_len(mechs) > 0) {
		str_fmt(buf, "AUTH %s", str_ptr(mechs));
		argv_add(kw, str_ptr(buf));
		if (var_broken_sasl_auth_clients) {
			str_fmt(buf, "AUTH=%s", str_ptr(mechs));
			argv_add(kw, str_ptr(buf));
		}
	}
	smtpd_xclient_ehlo(state, mod);
	for (i = 0; i < mod->argc; i++)
		argv_add(kw, mod->argv[i]);
	argv_add(kw, "ENHANCEDSTATUSCODES");
	argv_add(kw, "8BITMIME");
	argv_add(kw, "DSN");
	if (var_smtputf8_enable)
		argv_add(kw, "SMTPUTF8");
	argv_add(kw, "CHUNKING");
	/* withdraw what smtpd_discard_ehlo_keywords says */
	for (i = 0; i < kw->argc;) {
		if (smtpd_ehlo_discarded(state, kw->argv[i])) {
			free(kw->argv[i]);
			memmove(kw->argv + i, kw->argv + i + 1,
			    (kw->argc - i) * sizeof(kw->argv[0]));
			kw->argc--;
		} else
			i++;
	}
	smtpd_reply(state, "250%c%s", kw->argc ? '-' : ' ', var_myhostname);
	for (i = 0; i < kw->argc; i++)
		smtpd_reply(state, "250%c%s", i + 1 < kw->argc ? '-' : ' ',
		    kw->argv[i]);
	argv_free(kw);
	argv_free(mod);
	str_free(mechs);
	str_free(buf);
}

static bool
smtpd_helo(struct smtpd_state *state, const char *arg, bool esmtp)
{
	const char *reply;

	if (*arg == 0) {
		smtpd_reply(state, "501 Syntax: %s hostname",
		    esmtp ? "EHLO" : "HELO");
		return false;
	}
	state->where = esmtp ? "EHLO" : "HELO"; /* the check's log stage */
	if ((reply = smtpd_check_helo(state, arg)) != NULL) {
		smtpd_reply(state, "%s", reply);
		return false;
	}
	smtpd_reset(state);
	free(state->helo);
	state->helo = xstrdup(arg);
	state->esmtp = esmtp;
	smtpd_proto_name(state);
	if (!esmtp) {
		smtpd_reply(state, "250 %s", var_myhostname);
		return true;
	}
	smtpd_ehlo_discard_init(state, true);
	smtpd_ehlo_keywords(state);
	return true;
}

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
static bool
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

static bool
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
			   !(state->ehlo_discard & SMTPD_EHLO_SMTPUTF8)) {
			state->smtputf8 = true;
		} else if ((strncasecmp(p, "RET=", 4) == 0 ||
			       strncasecmp(p, "ENVID=", 6) == 0) &&
			   (state->ehlo_discard & SMTPD_EHLO_DSN)) {
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

	state->cleanup = cleanup_open("public/cleanup",
	    SMTPD_CLEANUP_FLAGS | (state->smtputf8 ? CLEANUP_FLAG_SMTPUTF8 : 0),
	    why);
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
		    (state->ehlo_discard & SMTPD_EHLO_DSN)) {
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

static bool
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

/* A domain name as ETRN takes it: letters, digits, '-', '_', '.'. */
static bool
smtpd_valid_domain(const char *d)
{
	size_t label = 0, len = strlen(d);

	if (len == 0 || len > 255 || d[0] == '.' || d[len - 1] == '.')
		return false;
	for (; *d; d++) {
		if (*d == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)*d) || *d == '-' ||
			   *d == '_') {
			if (++label > 63)
				return false;
		} else
			return false;
	}
	return true;
}

/*
 * ETRN: Postfix hands eligible domains (fast_flush_domains) to its flush
 * service.  Postern has no flush service: every domain gets Postfix's
 * reply for a domain that is not eligible, which is also what Postfix
 * says with the default fast_flush_domains ($relay_domains, empty).
 */
static bool
smtpd_etrn(struct smtpd_state *state, const char *arg)
{
	const char *reply, *domain = arg;

	if (state->ehlo_discard & SMTPD_EHLO_ETRN) {
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
	if (!isalnum((unsigned char)*domain))
		domain++;
	if (!smtpd_valid_domain(domain)) {
		smtpd_reply(state, "501 Error: invalid parameter syntax");
		return false;
	}
	if ((reply = smtpd_check_etrn(state, domain)) != NULL) {
		smtpd_reply(state, "%s", reply);
		return false;
	}
	msg_warn("reject: ETRN %.100s... from %s", domain,
	    str_ptr(state->namaddr));
	smtpd_reply(state, "459 <%s>: service unavailable", domain);
	return false;
}

void
smtpd_log_disconnect(struct smtpd_state *state)
{
	struct str *buf = str_new(200);
	int i, ok = 0, total = 0;

	for (i = 0; i < SMTPD_CMD_COUNT; i++) {
		if (state->total[i] == 0)
			continue;
		ok += state->ok[i];
		total += state->total[i];
		if (state->ok[i] == state->total[i])
			str_catfmt(buf, " %s=%d", smtpd_cmd_names[i],
			    state->total[i]);
		else
			str_catfmt(buf, " %s=%d/%d", smtpd_cmd_names[i],
			    state->ok[i], state->total[i]);
	}
	/* Postfix: "commands=0/0" for a session without any */
	if (ok == total && total > 0)
		str_catfmt(buf, " commands=%d", total);
	else
		str_catfmt(buf, " commands=%d/%d", ok, total);
	msg_info("disconnect from %s%s", str_ptr(state->namaddr), str_ptr(buf));
	smtpd_reset(state);
	free(state->helo);
	state->helo = NULL;
	str_free(state->pushback);
	state->pushback = NULL;
	str_free(state->bdat_line);
	state->bdat_line = NULL;
	str_free(buf);
}

/* Log why the conversation ended early. */
static void
smtpd_lost(struct smtpd_state *state, int rc, const char *where)
{
	struct str *what = str_new(64);

	if (state->in_data)
		str_fmt(what, "%s (%ld bytes)", state->where,
		    state->data_bytes);
	else
		str_set(what, where);
	if (rc == STREAM_TIMEOUT) {
		msg_info("timeout after %s from %s", str_ptr(what),
		    str_ptr(state->namaddr));
		stream_set_deadline(state->st, 0);
		smtpd_reply(state, "421 4.4.2 %s Error: timeout exceeded",
		    var_myhostname);
		stream_flush(state->st);
	} else {
		msg_info("lost connection after %s from %s", str_ptr(what),
		    str_ptr(state->namaddr));
	}
	str_free(what);
}

/* Postfix's escaping of client input in logs: \r \n \t \ooo. */
static void
smtpd_escape(struct str *out, const char *in, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '\r')
			str_cat(out, "\\r");
		else if (c == '\n')
			str_cat(out, "\\n");
		else if (c == '\t')
			str_cat(out, "\\t");
		else if (c == '\\')
			str_cat(out, "\\\\");
		else if (c < 32 || c > 126)
			str_catfmt(out, "\\%03o", c);
		else
			str_catc(out, (char)c);
	}
}

/*
 * RFC 2920: after a command that must end a group (every command when
 * the client did not say EHLO or PIPELINING is withdrawn), no input may
 * be waiting.  True: the session must end (smtpd_forbid_unauth_pipelining).
 */
static bool
smtpd_bad_pipelining(struct smtpd_state *state, int cmd, const char *verb)
{
	struct str *peek, *esc;
	size_t want;
	bool forbid = var_smtpd_forbid_unauth_pipelining;

	/* sendmail -bs: a local user's script, not a network client */
	if (state->standalone || state->pipelining_logged ||
	    smtpd_pending(state) == 0)
		return false;
	if (state->esmtp && !(state->ehlo_discard & SMTPD_EHLO_PIPELINING) &&
	    (cmd == SMTPD_CMD_MAIL || cmd == SMTPD_CMD_RCPT ||
		cmd == SMTPD_CMD_RSET || cmd == SMTPD_CMD_BDAT ||
		cmd == SMTPD_CMD_XFORWARD))
		return false;
	state->pipelining_logged = true;
	peek = str_new(SMTPD_PIPELINING_LOG);
	esc = str_new(SMTPD_PIPELINING_LOG * 2);
	want = smtpd_pending(state);
	if (want > SMTPD_PIPELINING_LOG)
		want = SMTPD_PIPELINING_LOG;
	while (str_len(peek) < want) {
		char buf[SMTPD_PIPELINING_LOG];
		ssize_t n = smtpd_read(state, buf, want - str_len(peek));

		if (n <= 0)
			break;
		str_catn(peek, buf, (size_t)n);
	}
	smtpd_escape(esc, str_ptr(peek), str_len(peek));
	msg_info("improper command pipelining after %s from %s: %s", verb,
	    str_ptr(state->namaddr), str_ptr(esc));
	if (!forbid) {
		/* give the input back, in front of what may remain */
		if (state->pushback == NULL)
			state->pushback = str_new(SMTPD_PIPELINING_LOG);
		str_catn(peek, str_ptr(state->pushback),
		    str_len(state->pushback));
		str_setn(state->pushback, str_ptr(peek), str_len(peek));
	}
	str_free(peek);
	str_free(esc);
	return forbid;
}

/*
 * A client that talks before the greeting (plaintext only: in wrapper
 * mode the handshake came first).  Peeks at the socket without taking
 * anything.  True: the session must end.
 */
static bool
smtpd_early_talker(struct smtpd_state *state)
{
	char buf[SMTPD_PIPELINING_LOG];
	struct str *esc;
	ssize_t n;

	if (state->standalone)
		return false;
	/* input the PROXY protocol reader buffered counts too */
	if (smtpd_pending(state) > 0)
		return smtpd_bad_pipelining(state, SMTPD_CMD_UNKNOWN,
		    "CONNECT");
	if (state->tls)
		return false;
	n = recv(stream_fd(state->st), buf, sizeof(buf),
	    MSG_PEEK | MSG_DONTWAIT);
	if (n <= 0)
		return false;
	state->pipelining_logged = true;
	esc = str_new(2 * sizeof(buf));
	smtpd_escape(esc, buf, (size_t)n);
	msg_info("improper command pipelining after CONNECT from %s: %s",
	    str_ptr(state->namaddr), str_ptr(esc));
	str_free(esc);
	return var_smtpd_forbid_unauth_pipelining;
}

/*
 * smtpd_forbidden_commands: words (HTTP verbs), type:table lookups, and
 * inline patterns "regexp:{{/re/ text}}" (matched here: the dict layer
 * has no inline pattern tables), all case-insensitive as in Postfix.
 */
struct smtpd_forbidden {
	struct argv *words;
	struct match_list *tables; /* NULL: none */
	regex_t *res;
	size_t nres;
};

/* Compile the /re/ of every "{/re/ text}" rule in an inline table. */
static void
smtpd_forbidden_inline(struct smtpd_forbidden *fb, const char *spec)
{
	const char *cp = strchr(spec, '{') + 1, *end;
	struct str *re = str_new(32);

	while ((cp = strchr(cp, '{')) != NULL) {
		cp++;
		while (*cp == ' ' || *cp == '\t')
			cp++;
		if (*cp != '/' || (end = strchr(cp + 1, '/')) == NULL)
			break;
		str_setn(re, cp + 1, (size_t)(end - cp - 1));
		fb->res =
		    xreallocarray(fb->res, fb->nres + 1, sizeof(*fb->res));
		if (regcomp(&fb->res[fb->nres], str_ptr(re),
			REG_EXTENDED | REG_ICASE | REG_NOSUB) == 0)
			fb->nres++;
		else
			msg_warn("smtpd_forbidden_commands: bad pattern: /%s/",
			    str_ptr(re));
		cp = end + 1;
	}
	str_free(re);
}

static struct smtpd_forbidden *
smtpd_forbidden_init(void)
{
	struct smtpd_forbidden *fb = xcalloc(1, sizeof(*fb));
	struct str *tables = str_new(64), *elem = str_new(64);
	const char *cp = var_smtpd_forbidden_commands;

	fb->words = argv_new();
	while (*cp) {
		int depth = 0;

		while (*cp == ' ' || *cp == '\t' || *cp == ',' || *cp == '\n')
			cp++;
		str_reset(elem);
		for (; *cp; cp++) {
			if (*cp == '{')
				depth++;
			else if (*cp == '}')
				depth--;
			else if (depth == 0 && strchr(" \t,\n", *cp))
				break;
			str_catc(elem, *cp);
		}
		if (str_len(elem) == 0)
			continue;
		if ((strncasecmp(str_ptr(elem), "regexp:{", 8) == 0 ||
			strncasecmp(str_ptr(elem), "pcre:{", 6) == 0))
			smtpd_forbidden_inline(fb, str_ptr(elem));
		else if (strchr(str_ptr(elem), ':'))
			str_catfmt(tables, "%s%s", str_len(tables) ? " " : "",
			    str_ptr(elem));
		else
			argv_add(fb->words, str_ptr(elem));
	}
	if (str_len(tables))
		fb->tables = match_list_new("smtpd_forbidden_commands",
		    str_ptr(tables), 0);
	str_free(tables);
	str_free(elem);
	return fb;
}

/* True when verb is a forbidden command (HTTP, binary junk). */
static bool
smtpd_forbidden(const char *verb)
{
	static struct smtpd_forbidden *fb;

	if (*verb == 0)
		return false;
	if (fb == NULL)
		fb = smtpd_forbidden_init();
	for (size_t i = 0; i < fb->words->argc; i++)
		if (strcasecmp(verb, fb->words->argv[i]) == 0)
			return true;
	for (size_t i = 0; i < fb->nres; i++)
		if (regexec(&fb->res[i], verb, 0, NULL, 0) == 0)
			return true;
	return fb->tables && match_list_string(fb->tables, verb) == 1;
}

/* The bare <LF> policy for commands (smtpd_forbid_bare_newline=reject). */
static bool
smtpd_bare_lf_command(struct smtpd_state *state, const char *where)
{
	static struct match_list *exclusions;
	int code = var_smtpd_forbid_bare_newline_reject_code;

	if (strcasecmp(var_smtpd_forbid_bare_newline, "reject") != 0)
		return false;
	if (exclusions == NULL)
		exclusions =
		    match_list_new("smtpd_forbid_bare_newline_exclusions",
			var_smtpd_forbid_bare_newline_exclusions, 0);
	if (match_list_hostaddr(exclusions, str_ptr(state->name),
		str_ptr(state->addr)) == 1)
		return false;
	if (state->sender)
		msg_info("%s: reject: %s from %s: bare <LF> received; "
			 "from=<%s> proto=%s helo=<%s>",
		    state->queue_id ? state->queue_id : "NOQUEUE", where,
		    str_ptr(state->namaddr), state->sender, state->proto,
		    state->helo ? state->helo : "");
	else
		msg_info("NOQUEUE: reject: %s from %s: bare <LF> received; "
			 "proto=%s helo=<%s>",
		    where, str_ptr(state->namaddr), state->proto,
		    state->helo ? state->helo : "");
	smtpd_reply(state, "%d %c.5.2 %s Error: bare <LF> received", code,
	    code >= 500 ? '5' : '4', var_myhostname);
	stream_flush(state->st);
	return true;
}

static int
smtpd_lookup_cmd(const char *verb, size_t n)
{
	for (int i = 0; i < SMTPD_CMD_UNKNOWN; i++)
		if (n == strlen(smtpd_cmd_verbs[i]) &&
		    strncasecmp(verb, smtpd_cmd_verbs[i], n) == 0)
			return i;
	return SMTPD_CMD_UNKNOWN;
}

/* Run one command; false: the session ends. */
static bool
smtpd_dispatch(struct smtpd_state *state, int cmd, const char *arg,
    const char *where, bool *ok)
{
	const char *reply;
	bool alive = true;

	switch (cmd) {
	case SMTPD_CMD_HELO:
	case SMTPD_CMD_EHLO:
		*ok = smtpd_helo(state, arg, cmd == SMTPD_CMD_EHLO);
		break;
	case SMTPD_CMD_XCLIENT:
		*ok = smtpd_cmd_xclient(state, arg);
		break;
	case SMTPD_CMD_XFORWARD:
		*ok = smtpd_cmd_xforward(state, arg);
		break;
	case SMTPD_CMD_STARTTLS:
		*ok = smtpd_cmd_starttls(state, arg);
		/* CVE-2011-0411: nothing sent before the handshake counts */
		if (*ok && state->pushback)
			str_reset(state->pushback);
		break;
	case SMTPD_CMD_AUTH:
		*ok = smtpd_cmd_auth(state, arg);
		break;
	case SMTPD_CMD_MAIL:
		*ok = smtpd_mail(state, arg);
		break;
	case SMTPD_CMD_RCPT:
		*ok = smtpd_rcpt(state, arg);
		break;
	case SMTPD_CMD_DATA:
	case SMTPD_CMD_BDAT:
		alive = cmd == SMTPD_CMD_DATA ? smtpd_cmd_data(state, arg, ok)
					      : smtpd_cmd_bdat(state, arg, ok);
		if (!alive)
			smtpd_lost(state, state->lost_rc, where);
		state->in_data = false;
		break;
	case SMTPD_CMD_RSET:
		smtpd_reset(state);
		smtpd_reply(state, "250 2.0.0 Ok");
		*ok = true;
		break;
	case SMTPD_CMD_NOOP:
		smtpd_reply(state, "250 2.0.0 Ok");
		*ok = true;
		break;
	case SMTPD_CMD_VRFY:
		if (var_disable_vrfy_command ||
		    (state->ehlo_discard & SMTPD_EHLO_VRFY)) {
			smtpd_reply(state,
			    "502 5.5.1 VRFY command is disabled");
		} else if (*arg == 0) {
			smtpd_reply(state, "501 5.5.4 Syntax: VRFY address");
		} else if ((reply = smtpd_check_vrfy(state, arg)) != NULL) {
			smtpd_reply(state, "%s", reply);
		} else {
			smtpd_reply(state, "252 2.0.0 %s", arg);
			*ok = true;
		}
		break;
	case SMTPD_CMD_ETRN:
		*ok = smtpd_etrn(state, arg);
		break;
	case SMTPD_CMD_QUIT:
		smtpd_reply(state, "221 2.0.0 Bye");
		*ok = true;
		stream_flush(state->st);
		alive = false;
		break;
	default:
		smtpd_reply(state, "500 5.5.2 Error: command not recognized");
		break;
	}
	return alive;
}

void
smtpd_proto(struct smtpd_state *state)
{
	struct str *line = str_new(256), *skip = str_new(256);
	const char *where = "CONNECT", *arg, *reply;
	char *verb;
	bool crlf, ok, alive;
	int rc, cmd;
	size_t n;

	state->proto = "SMTP";
	state->alive = true;
	smtpd_ehlo_discard_init(state, false);
	stream_set_timeout(state->st, var_smtpd_timeout * 1000);
	smtpd_request_deadline(state);
	if (smtpd_early_talker(state)) {
		char junk[SMTPD_PIPELINING_LOG];

		smtpd_reply(state,
		    "554 5.5.0 Error: SMTP protocol synchronization");
		stream_flush(state->st);
		/* take what was sent, so that the close does not reset the
		 * connection under the reply (bounded: one small read) */
		(void)!recv(stream_fd(state->st), junk, sizeof(junk),
		    MSG_DONTWAIT);
		goto out;
	}
	if ((reply = smtpd_check_connect(state)) != NULL)
		smtpd_reply(state, "%s", reply);
	else
		smtpd_reply(state, "220 %s", var_smtpd_banner);
	for (;;) {
		smtpd_request_deadline(state);
		rc = smtpd_getline(state, line, (size_t)var_line_length_limit,
		    &crlf);
		if (rc == SMTPD_PIECE) {
			msg_warn("%s: request longer than %d: %.30s...",
			    str_ptr(state->namaddr), var_line_length_limit,
			    str_ptr(line));
			while ((rc = smtpd_getline(state, skip,
				    (size_t)var_line_length_limit, &crlf)) ==
			       SMTPD_PIECE)
				;
		}
		if (rc < 0) {
			smtpd_lost(state, rc, where);
			break;
		}
		if (!crlf && smtpd_bare_lf_command(state, where))
			break;
		/* Postfix strips trailing white space and a leftover CR */
		while (str_len(line) > 0 &&
		       (str_ptr(line)[str_len(line) - 1] == ' ' ||
			   str_ptr(line)[str_len(line) - 1] == '\t' ||
			   str_ptr(line)[str_len(line) - 1] == '\r'))
			str_truncate(line, str_len(line) - 1);
		verb = str_ptr(line);
		n = strcspn(verb, " \t");
		arg = verb + n;
		while (*arg == ' ' || *arg == '\t')
			arg++;
		cmd = SMTPD_CMD_UNKNOWN;
		if (memchr(str_ptr(line), 0, str_len(line)) == NULL)
			cmd = smtpd_lookup_cmd(verb, n);
		state->total[cmd]++;
		if (smtpd_bad_pipelining(state, cmd, smtpd_cmd_verbs[cmd])) {
			smtpd_reply(state,
			    "554 5.5.0 Error: SMTP protocol synchronization");
			stream_flush(state->st);
			break;
		}
		where = smtpd_cmd_verbs[cmd];
		ok = false;
		alive = true;
		if (cmd == SMTPD_CMD_UNKNOWN &&
		    memchr(str_ptr(line), 0, str_len(line)) == NULL) {
			struct str *v = str_new(16);
			bool forbidden;

			str_catn(v, verb, n);
			forbidden = smtpd_forbidden(str_ptr(v));
			str_free(v);
			if (forbidden) {
				msg_warn("non-SMTP command from %s: %.100s",
				    str_ptr(state->namaddr), str_ptr(line));
				smtpd_reply(state,
				    "221 2.7.0 Error: I can "
				    "break rules, too. Goodbye.");
				stream_flush(state->st);
				break;
			}
		}
		/* junk commands past the limit count as errors */
		if ((cmd == SMTPD_CMD_HELO || cmd == SMTPD_CMD_EHLO ||
			cmd == SMTPD_CMD_RSET || cmd == SMTPD_CMD_NOOP ||
			cmd == SMTPD_CMD_VRFY || cmd == SMTPD_CMD_ETRN) &&
		    state->junk++ > var_smtpd_junk_command_limit)
			state->errors++;
		if (cmd != SMTPD_CMD_UNKNOWN && var_smtputf8_enable &&
		    !smtpd_valid_utf8((const unsigned char *)str_ptr(line),
			str_len(line))) {
			smtpd_reply(state, "500 5.5.2 Error: bad UTF-8 syntax");
		} else if (cmd != SMTPD_CMD_QUIT &&
			   (reply = smtpd_check_denied(state)) != NULL) {
			/* rejected at connect (smtpd_delay_reject = no) */
			smtpd_reply(state, "%s", reply);
		} else if (smtpd_tls_required(state) && cmd != SMTPD_CMD_HELO &&
			   cmd != SMTPD_CMD_EHLO && cmd != SMTPD_CMD_STARTTLS &&
			   cmd != SMTPD_CMD_NOOP && cmd != SMTPD_CMD_QUIT &&
			   cmd != SMTPD_CMD_UNKNOWN) {
			smtpd_reply(state,
			    "530 5.7.0 Must issue a STARTTLS command first");
		} else {
			state->where = NULL;
			alive = smtpd_dispatch(state, cmd, arg, where, &ok);
		}
		if (cmd == SMTPD_CMD_DATA || cmd == SMTPD_CMD_BDAT)
			where = state->where ? state->where : where;
		if (ok)
			state->ok[cmd]++;
		if (!alive || !state->alive)
			break;
		if (state->errors >= var_smtpd_hard_error_limit) {
			msg_info("too many errors after %s from %s", where,
			    str_ptr(state->namaddr));
			smtpd_reply(state,
			    "421 4.7.0 %s Error: too many errors",
			    var_myhostname);
			stream_flush(state->st);
			break;
		}
	}
out:
	str_free(line);
	str_free(skip);
}
