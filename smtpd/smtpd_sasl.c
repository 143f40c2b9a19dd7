/*
 * smtpd_sasl - AUTH (RFC 4954) through Dovecot's authentication server,
 * and MAIL FROM's AUTH= parameter, with Postfix's replies and log lines.
 *
 * smtpd_sasl_type must be "dovecot" (Postern has no Cyrus SASL: any other
 * type is fatal, as an unsupported type is in Postfix).  The Dovecot
 * connection (smtpd_sasl_path: relative to queue_directory, absolute, or
 * inet:host:port) is opened the first time a session needs the
 * mechanism list, and kept for the session; no mechanism left after
 * smtpd_sasl_security_options (smtpd_sasl_tls_security_options under
 * TLS) and smtpd_sasl_mechanism_filter is fatal ("no SASL authentication
 * mechanisms"), as in Postfix.  With smtpd_tls_auth_only AUTH exists only
 * under TLS.  Clients in smtpd_sasl_exceptions_networks are not offered
 * AUTH but may use it.
 *
 * Every client response is bounded by smtpd_sasl_response_limit and
 * checked for base64 characters before it goes to Dovecot; the user name
 * and reasons from Dovecot are made printable before they are logged.
 */
#include <sys/socket.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/match_list.h"
#include "lib/mail/params.h"
#include "lib/mail/sasl_dovecot.h"
#include "smtpd/smtpd.h"

/* The per-session state. */
struct smtpd_sasl {
	struct sasl_dovecot *dv;
};

static struct match_list *smtpd_sasl_filter;
static struct match_list *smtpd_sasl_exceptions;

/*
 * The security options for this session (smtpd_sasl_tls_security_options
 * under TLS).  Parsed when a session needs them, so a bad value ends the
 * session, with Postfix's text (which names its Dovecot back end).
 */
static int
smtpd_sasl_state_opts(struct smtpd_state *state)
{
	const char *value = state->tls ? var_smtpd_sasl_tls_security_options
				       : var_smtpd_sasl_security_options;
	struct str *bad = str_new(32);
	int opts;

	if (sasl_dovecot_sec_opts(value, &opts, bad) < 0)
		msg_fatal("unknown xsasl_dovecot_server_create value \"%s\" in "
			  "\"%s\"",
		    str_ptr(bad), value);
	str_free(bad);
	return opts;
}

void
smtpd_sasl_init(void)
{
	if (!var_smtpd_sasl_auth_enable)
		return;
	if (strcmp(var_smtpd_sasl_type, "dovecot") != 0) {
		msg_warn("unsupported SASL server implementation: %s",
		    var_smtpd_sasl_type);
		msg_fatal("SASL per-process initialization failed");
	}
	if (*var_smtpd_sasl_mechanism_filter)
		smtpd_sasl_filter =
		    match_list_new("smtpd_sasl_mechanism_filter",
			var_smtpd_sasl_mechanism_filter, 0);
	smtpd_sasl_exceptions = match_list_new("smtpd_sasl_exceptions_networks",
	    var_smtpd_sasl_exceptions_networks, 0);
}

/* AUTH exists in this session now (Postfix: SASL is "active"). */
static bool
smtpd_sasl_active(struct smtpd_state *state)
{
	return var_smtpd_sasl_auth_enable &&
	       !(var_smtpd_tls_auth_only && state->tls == NULL);
}

/* The mechanism filter passes name (an empty filter passes all). */
static bool
smtpd_sasl_filter_ok(const char *name)
{
	return smtpd_sasl_filter == NULL ||
	       match_list_string(smtpd_sasl_filter, name) == 1;
}

/*
 * The mechanisms to announce in this session, connecting to Dovecot the
 * first time.  Without any that pass the security options smtpd cannot
 * serve the session: fatal, as in Postfix.  smtpd_sasl_mechanism_filter
 * only narrows what is announced (AUTH takes any mechanism that passes
 * the security options, as in Postfix).
 */
static void
smtpd_sasl_list(struct smtpd_state *state, struct str *out)
{
	struct str *all = str_new(64);
	char *copy, *cp, *m;

	if (state->sasl == NULL)
		state->sasl = xcalloc(1, sizeof(*state->sasl));
	if (state->sasl->dv == NULL &&
	    (state->sasl->dv = sasl_dovecot_open(var_smtpd_sasl_path)) == NULL)
		msg_fatal("no SASL authentication mechanisms");
	sasl_dovecot_mechs(state->sasl->dv, smtpd_sasl_state_opts(state), all);
	if (str_len(all) == 0)
		msg_fatal("no SASL authentication mechanisms");
	str_reset(out);
	copy = xstrdup(str_ptr(all));
	for (cp = copy; (m = strsep(&cp, " ")) != NULL;) {
		if (*m == 0 || !smtpd_sasl_filter_ok(m))
			continue;
		if (str_len(out))
			str_catc(out, ' ');
		str_cat(out, m);
	}
	free(copy);
	str_free(all);
}

void
smtpd_sasl_mechs(struct smtpd_state *state, struct str *mechs)
{
	str_reset(mechs);
	if (!smtpd_sasl_active(state))
		return;
	smtpd_sasl_list(state, mechs);
	if (match_list_hostaddr(smtpd_sasl_exceptions, str_ptr(state->name),
		str_ptr(state->addr)) == 1)
		str_reset(mechs);
}

/* Postfix's printable(): anything but printable ASCII becomes '?'. */
static char *
smtpd_sasl_printable(const char *s)
{
	char *copy = xstrdup(s), *cp;

	for (cp = copy; *cp; cp++)
		if ((unsigned char)*cp < 0x20 || (unsigned char)*cp >= 0x7f)
			*cp = '?';
	return copy;
}

/*
 * Read one client response into line (Postfix counts a CR but not the LF
 * against smtpd_sasl_response_limit).  0, 1 when too long (replied), or
 * -1 when the client is gone (logged).
 */
static int
smtpd_sasl_response(struct smtpd_state *state, struct str *line)
{
	size_t limit = (size_t)var_smtpd_sasl_response_limit;
	struct str *skip;
	bool crlf;
	int rc;

	/* through smtpd_getline: input held back by the protocol comes first */
	rc = smtpd_getline(state, line, limit, &crlf);
	if (rc == SMTPD_PIECE) {
		skip = str_new(100);
		while ((rc = smtpd_getline(state, skip, limit, &crlf)) ==
		       SMTPD_PIECE)
			;
		str_free(skip);
		if (rc == STREAM_OK) {
			msg_warn("%s: request longer than %d: %.30s...",
			    str_ptr(state->namaddr),
			    var_smtpd_sasl_response_limit, str_ptr(line));
			smtpd_reply(state,
			    "500 5.5.6 SASL response limit exceeded");
			return 1;
		}
	}
	if (rc != STREAM_OK) {
		if (rc == STREAM_TIMEOUT) {
			msg_info("timeout after AUTH from %s",
			    str_ptr(state->namaddr));
			stream_set_deadline(state->st, 0);
			smtpd_reply(state,
			    "421 4.4.2 %s Error: timeout exceeded",
			    var_myhostname);
			stream_flush(state->st);
		} else {
			msg_info("lost connection after AUTH from %s",
			    str_ptr(state->namaddr));
		}
		state->alive = false;
		return -1;
	}
	while (
	    str_len(line) > 0 && (str_ptr(line)[str_len(line) - 1] == '\r' ||
				     str_ptr(line)[str_len(line) - 1] == ' ' ||
				     str_ptr(line)[str_len(line) - 1] == '\t'))
		str_truncate(line, str_len(line) - 1);
	return 0;
}

/*
 * Our address and port for Dovecot's lip= and lport=: the session's when
 * known, else the socket's ("" when it has none, e.g. a pipe).
 */
static void
smtpd_sasl_local(struct smtpd_state *state, char *addr, size_t addr_len,
    char *port, size_t port_len)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	*addr = *port = 0;
	if (str_len(state->server_addr) > 0) {
		snprintf(addr, addr_len, "%s", str_ptr(state->server_addr));
		snprintf(port, port_len, "%s", str_ptr(state->server_port));
		return;
	}
	if (getsockname(stream_fd(state->st), (struct sockaddr *)&ss, &len) <
		0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
	    getnameinfo((struct sockaddr *)&ss, len, addr, (socklen_t)addr_len,
		port, (socklen_t)port_len,
		NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		*addr = *port = 0;
	/* IPv4-mapped IPv6 as IPv4, as the client address */
	if (strncmp(addr, "::ffff:", 7) == 0 && strchr(addr + 7, '.'))
		memmove(addr, addr + 7, strlen(addr + 7) + 1);
}

/*
 * The exchange with Dovecot and the client for one AUTH command, as
 * Postfix's smtpd_sasl_authenticate and its Dovecot back end.
 */
static bool
smtpd_sasl_authenticate(struct smtpd_state *state, const char *mech,
    const char *resp)
{
	struct sasl_dovecot *dv = state->sasl->dv;
	struct str *reply = str_new(100), *line = str_new(256);
	struct sasl_dovecot_req req;
	const char *user;
	char *upper = xstrdup(mech), *cp;
	char lip[NI_MAXHOST], lport[NI_MAXSERV];
	bool ok = false;
	int status, rc;

	for (cp = upper; *cp; cp++)
		if (*cp >= 'a' && *cp <= 'z')
			*cp = (char)(*cp - 'a' + 'A');
	/* mechanism names: letters, digits, '-' and '_' (RFC 4422 3.1) */
	if (upper[strspn(upper, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")] !=
		0 ||
	    !sasl_dovecot_has_mech(dv, smtpd_sasl_state_opts(state), upper)) {
		str_set(reply, "Invalid authentication mechanism");
		status = SASL_DOVECOT_FAIL;
	} else if (resp && !sasl_dovecot_base64_ok(resp)) {
		str_set(reply, "Invalid base64 data in initial response");
		status = SASL_DOVECOT_FAIL;
	} else {
		memset(&req, 0, sizeof(req));
		req.mech = upper;
		req.service = var_smtpd_sasl_service;
		smtpd_sasl_local(state, lip, sizeof(lip), lport, sizeof(lport));
		req.lip = lip;
		req.rip = str_ptr(state->addr);
		req.lport = lport;
		req.rport = strcmp(str_ptr(state->port), "unknown") != 0
				? str_ptr(state->port)
				: NULL;
		req.secured = state->tls != NULL;
		req.resp = resp;
		status = sasl_dovecot_start(dv, &req, reply);
	}
	while (status == SASL_DOVECOT_CONT) {
		smtpd_reply(state, "334 %s", str_ptr(reply));
		if ((rc = smtpd_sasl_response(state, line)) != 0)
			goto out;
		/* "*": the client gives up (RFC 4954 section 4) */
		if (strcmp(str_ptr(line), "*") == 0) {
			msg_warn("%s: SASL %s authentication aborted",
			    str_ptr(state->namaddr), mech);
			smtpd_reply(state, "501 5.7.0 Authentication aborted");
			goto out;
		}
		if (!sasl_dovecot_base64_ok(str_ptr(line))) {
			str_set(reply,
			    "Invalid base64 data in continued response");
			status = SASL_DOVECOT_FAIL;
			break;
		}
		status = sasl_dovecot_cont(dv, str_ptr(line), reply);
	}
	if (status != SASL_DOVECOT_OK) {
		if (str_len(reply) == 0)
			str_set(reply, "(reason unavailable)");
		user = sasl_dovecot_username(dv);
		msg_warn("%s: SASL %.100s authentication failed: %s, "
			 "sasl_username=%.100s",
		    str_ptr(state->namaddr), mech, str_ptr(reply),
		    user ? user : "(unavailable)");
		/* RFC 4954 section 6 */
		if (status == SASL_DOVECOT_TEMP)
			smtpd_reply(state,
			    "454 4.7.0 Temporary authentication failure: %s",
			    str_ptr(reply));
		else
			smtpd_reply(state,
			    "535 5.7.8 Error: authentication failed: %s",
			    str_ptr(reply));
		goto out;
	}
	if ((user = sasl_dovecot_username(dv)) == NULL) {
		/* Postfix: an OK without user= is a backend error */
		msg_warn("missing Dovecot server %s username field", "OK");
		msg_warn("%s: SASL %.100s authentication failed: %s, "
			 "sasl_username=%.100s",
		    str_ptr(state->namaddr), mech,
		    "Authentication backend error", "(unavailable)");
		smtpd_reply(state, "535 5.7.8 Error: authentication failed: "
				   "Authentication backend error");
		goto out;
	}
	smtpd_reply(state, "235 2.7.0 Authentication successful");
	state->sasl_username = smtpd_sasl_printable(user);
	state->sasl_method = smtpd_sasl_printable(mech);
	smtpd_proto_name(state);
	ok = true;
out:
	free(upper);
	str_free(reply);
	str_free(line);
	return ok;
}

bool
smtpd_cmd_auth(struct smtpd_state *state, const char *arg)
{
	struct str *reply = str_new(100), *mechs = str_new(64);
	struct argv *args = NULL;
	bool ok = false;

	if (smtpd_anvil_auth(state, reply) < 0) {
		smtpd_reply(state, "%s", str_ptr(reply));
		goto out;
	}
	if (var_smtpd_helo_required && state->helo == NULL) {
		smtpd_reply(state, "503 5.5.1 Error: send HELO/EHLO first");
		goto out;
	}
	if (!smtpd_sasl_active(state)) {
		smtpd_reply(state,
		    "503 5.5.1 Error: authentication not enabled");
		goto out;
	}
	/* Postfix's SASL is active from the connection on: it may fail now */
	smtpd_sasl_list(state, mechs);
	if (state->sender) {
		smtpd_reply(state,
		    "503 5.5.1 Error: MAIL transaction in progress");
		goto out;
	}
	if (state->sasl_username) {
		smtpd_reply(state, "503 5.5.1 Error: already authenticated");
		goto out;
	}
	args = argv_split(arg, " \t");
	if (args->argc < 1 || args->argc > 2) {
		smtpd_reply(state, "501 5.5.4 Syntax: AUTH mechanism");
		goto out;
	}
	ok = smtpd_sasl_authenticate(state, args->argv[0],
	    args->argc == 2 ? args->argv[1] : NULL);
out:
	argv_free(args);
	str_free(reply);
	str_free(mechs);
	return ok;
}

/*
 * MAIL FROM's AUTH=: recorded as given (Postfix neither decodes the
 * xtext nor requires authentication), "<>" as nothing; ignored while AUTH
 * is off.  The value stays until the transaction is reset, so a second
 * AUTH= before then is an error, as in Postfix.
 */
int
smtpd_sasl_mail_param(struct smtpd_state *state, const char *value)
{
	if (!smtpd_sasl_active(state))
		return 0;
	if (state->sasl_sender) {
		smtpd_reply(state, "503 5.5.4 Error: multiple AUTH= options");
		return -1;
	}
	if (strcmp(value, "<>") != 0)
		state->sasl_sender = smtpd_sasl_printable(value);
	return 0;
}

void
smtpd_sasl_end(struct smtpd_state *state)
{
	if (state->sasl) {
		sasl_dovecot_close(state->sasl->dv);
		free(state->sasl);
		state->sasl = NULL;
	}
	free(state->sasl_method);
	state->sasl_method = NULL;
	free(state->sasl_username);
	state->sasl_username = NULL;
	free(state->sasl_sender);
	state->sasl_sender = NULL;
}
