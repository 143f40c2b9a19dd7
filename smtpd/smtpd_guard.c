/*
 * smtpd_guard - the defences against clients that break the protocol:
 * improper pipelining (RFC 2920) and talking before the greeting,
 * smtpd_forbidden_commands (HTTP and other non-SMTP verbs), bare <LF> in
 * commands (smtpd_forbid_bare_newline), with Postfix's log lines.
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
#include "lib/mail/maps.h"
#include "lib/mail/match_list.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_check.h"

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
bool
smtpd_bad_pipelining(struct smtpd_state *state, int cmd, const char *verb)
{
	struct str *peek, *esc;
	size_t want;
	bool forbid = var_smtpd_forbid_unauth_pipelining;

	/* sendmail -bs: a local user's script, not a network client */
	if (state->local_pipe || state->pipelining_logged ||
	    smtpd_pending(state) == 0)
		return false;
	if (state->esmtp && !(state->ehlo_discard & EHLO_MASK_PIPELINING) &&
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
bool
smtpd_early_talker(struct smtpd_state *state)
{
	char buf[SMTPD_PIPELINING_LOG];
	struct str *esc;
	ssize_t n;

	if (state->local_pipe)
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
bool
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
bool
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
