/*
 * smtpd_proto - the SMTP conversation: the command loop and table,
 * replies, RSET/NOOP/VRFY/QUIT, limits and deadlines, with Postfix's reply
 * texts and log lines.  HELO/EHLO are smtpd_ehlo.c, MAIL/RCPT/ETRN
 * smtpd_mail.c, the content (DATA, BDAT) smtpd_data.c, the defences below
 * smtpd_guard.c.
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
		    (state->ehlo_discard & EHLO_MASK_VRFY)) {
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
