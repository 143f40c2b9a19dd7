/*
 * smtpd_check - the recipient restrictions of this slice: the restriction
 * list in smtpd_relay_restrictions, with permit, reject, defer,
 * permit_mynetworks, permit_sasl_authenticated (never true: no AUTH yet),
 * permit_auth_destination, reject_unauth_destination and
 * defer_unauth_destination.  A destination is "authorized" when
 * trivial-rewrite resolves the recipient to the local, virtual alias,
 * virtual mailbox or relay class.  Any other restriction name is a
 * configuration error: "451 4.3.5 Server configuration error", as Postfix.
 *
 * Also Postfix's choice of the header rewriting context: a client that
 * local_header_rewrite_clients permits (permit_inet_interfaces: one of
 * this host's inet_interfaces addresses; permit_mynetworks;
 * check_address_map type:table, the exact address as key, the result
 * ignored; permit_sasl_authenticated and the TLS client certificate
 * permits never match yet) gets rewrite_context=local, so that cleanup
 * completes its headers as for a local submission.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/maps.h"
#include "lib/mail/match_list.h"
#include "lib/mail/params.h"
#include "lib/mail/tr_clnt.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_check.h"

static struct argv *smtpd_relay_list;
static struct argv *smtpd_rewrite_list;
static struct match_list *smtpd_interfaces;

void
smtpd_check_init(void)
{
	struct str *nets = str_new(100), *why = str_new(100);

	smtpd_relay_list = argv_split(var_smtpd_relay_restrictions, ", \t\r\n");
	smtpd_rewrite_list =
	    argv_split(var_local_header_rewrite_clients, ", \t\r\n");
	if (params_mynetworks("host", var_inet_interfaces, var_inet_protocols,
		nets, why) < 0)
		msg_warn("local_header_rewrite_clients: %s", str_ptr(why));
	smtpd_interfaces = match_list_new("inet_interfaces", str_ptr(nets), 0);
	str_free(nets);
	str_free(why);
}

bool
smtpd_check_rewrite(struct smtpd_state *state)
{
	const char *r;
	struct maps *maps;
	size_t i;
	bool found;

	for (i = 0; i < smtpd_rewrite_list->argc; i++) {
		r = smtpd_rewrite_list->argv[i];
		if (strcmp(r, "permit_inet_interfaces") == 0) {
			if (match_list_hostaddr(smtpd_interfaces,
				str_ptr(state->name),
				str_ptr(state->addr)) == 1)
				return true;
		} else if (strcmp(r, "permit_mynetworks") == 0) {
			if (state->trusted)
				return true;
		} else if (strcmp(r, "check_address_map") == 0) {
			if (i + 1 >= smtpd_rewrite_list->argc) {
				msg_warn("restriction %s requires a table "
					 "argument",
				    r);
				return false;
			}
			r = smtpd_rewrite_list->argv[++i];
			maps = maps_new("local_header_rewrite_clients", r, 0);
			found =
			    maps_find(maps, str_ptr(state->addr), 0) != NULL;
			maps_free(maps);
			if (found)
				return true;
		} else if (strcmp(r, "permit_sasl_authenticated") != 0 &&
			   strcmp(r, "permit_tls_clientcerts") != 0 &&
			   strcmp(r, "permit_tls_all_clientcerts") != 0) {
			msg_warn("unknown local_header_rewrite_clients "
				 "restriction: \"%s\"",
			    r);
			return false;
		}
	}
	return false;
}

/* 1: authorized destination, 0: not, -1: trivial-rewrite trouble. */
static int
smtpd_auth_dest(struct smtpd_state *state, const char *rcpt)
{
	struct resolve_reply *r = resolve_reply_new();
	struct str *canon = str_new(100);
	int rc = -1;

	if (rewrite_addr("remote", rcpt, canon) == 0 &&
	    resolve_addr(state->sender, str_ptr(canon), r) == 0 &&
	    !(r->flags & RESOLVE_FLAG_FAIL))
		rc = (r->flags & (RESOLVE_CLASS_LOCAL | RESOLVE_CLASS_ALIAS |
				     RESOLVE_CLASS_VIRTUAL |
				     RESOLVE_CLASS_RELAY)) != 0 &&
		     !(r->flags & RESOLVE_FLAG_ROUTED);
	resolve_reply_free(r);
	str_free(canon);
	return rc;
}

/* The per-session state of the engine. */
struct smtpd_check {
	struct str *reply;
};

static struct str *
smtpd_check_buf(struct smtpd_state *state)
{
	if (state->check == NULL) {
		state->check = xcalloc(1, sizeof(*state->check));
		state->check->reply = str_new(100);
	}
	str_reset(state->check->reply);
	return state->check->reply;
}

const char *
smtpd_check_rcpt(struct smtpd_state *state, const char *rcpt)
{
	struct str *reply = smtpd_check_buf(state);
	const char *r;
	size_t i;
	int auth;

	for (i = 0; i < smtpd_relay_list->argc; i++) {
		r = smtpd_relay_list->argv[i];
		if (strcmp(r, "permit") == 0)
			return NULL;
		if (strcmp(r, "permit_mynetworks") == 0) {
			if (state->trusted)
				return NULL;
			continue;
		}
		if (strcmp(r, "permit_sasl_authenticated") == 0) {
			if (state->sasl_username)
				return NULL;
			continue;
		}
		if (strcmp(r, "reject") == 0) {
			str_fmt(reply,
			    "554 5.7.1 <%s>: Recipient address rejected: "
			    "Access denied",
			    rcpt);
			break;
		}
		if (strcmp(r, "defer") == 0) {
			str_fmt(reply,
			    "450 4.7.1 <%s>: Recipient address rejected: "
			    "Access denied",
			    rcpt);
			break;
		}
		if (strcmp(r, "permit_auth_destination") == 0 ||
		    strcmp(r, "reject_unauth_destination") == 0 ||
		    strcmp(r, "defer_unauth_destination") == 0) {
			auth = smtpd_auth_dest(state, rcpt);
			if (auth < 0) {
				str_fmt(reply,
				    "451 4.3.0 <%s>: Temporary lookup failure",
				    rcpt);
				break;
			}
			if (r[0] == 'p') {
				if (auth)
					return NULL;
				continue;
			}
			if (auth)
				continue;
			str_fmt(reply, "%s <%s>: Relay access denied",
			    r[0] == 'r' ? "554 5.7.1" : "454 4.7.1", rcpt);
			break;
		}
		msg_warn("unknown smtpd restriction: \"%s\"", r);
		str_set(reply, "451 4.3.5 Server configuration error");
		break;
	}
	if (str_len(reply) == 0)
		return NULL;
	msg_info("NOQUEUE: reject: RCPT from %s: %s; from=<%s> to=<%s> "
		 "proto=%s helo=<%s>",
	    str_ptr(state->namaddr), str_ptr(reply), state->sender, rcpt,
	    state->proto, state->helo ? state->helo : "");
	return str_ptr(reply);
}

/*
 * The stages whose restriction lists this engine does not evaluate yet:
 * smtpd_client/helo/sender/data/end_of_data/etrn_restrictions.
 */
const char *
smtpd_check_connect(struct smtpd_state *state)
{
	(void)state;
	return NULL;
}

const char *
smtpd_check_helo(struct smtpd_state *state, const char *helo)
{
	(void)state;
	(void)helo;
	return NULL;
}

const char *
smtpd_check_mail(struct smtpd_state *state, const char *sender)
{
	(void)state;
	(void)sender;
	return NULL;
}

const char *
smtpd_check_vrfy(struct smtpd_state *state, const char *rcpt)
{
	(void)state;
	(void)rcpt;
	return NULL;
}

const char *
smtpd_check_data(struct smtpd_state *state)
{
	(void)state;
	return NULL;
}

const char *
smtpd_check_eod(struct smtpd_state *state)
{
	(void)state;
	return NULL;
}

const char *
smtpd_check_etrn(struct smtpd_state *state, const char *domain)
{
	(void)state;
	(void)domain;
	return NULL;
}

const char *
smtpd_check_size(struct smtpd_state *state, long size)
{
	(void)state;
	(void)size;
	return NULL;
}

void
smtpd_check_envelope(struct smtpd_state *state, struct stream *out)
{
	(void)state;
	(void)out;
}

void
smtpd_check_prepend(struct smtpd_state *state, struct stream *out)
{
	(void)state;
	(void)out;
}

void
smtpd_check_reset(struct smtpd_state *state)
{
	(void)state;
}

void
smtpd_check_end(struct smtpd_state *state)
{
	if (state->check) {
		str_free(state->check->reply);
		free(state->check);
		state->check = NULL;
	}
}

int
smtpd_check_reject(struct smtpd_state *state,
    const struct smtpd_check_what *what, int code, const char *dsn,
    const char *fmt, ...)
{
	struct str *reply = smtpd_check_buf(state);
	va_list ap;

	str_fmt(reply, "%d %s ", code, dsn);
	va_start(ap, fmt);
	str_vcatfmt(reply, fmt, ap);
	va_end(ap);
	msg_info("NOQUEUE: reject: %s from %s: %s; from=<%s>%s%s%s proto=%s "
		 "helo=<%s>",
	    what->stage, str_ptr(state->namaddr), str_ptr(reply),
	    what->sender ? what->sender : "", what->recipient ? " to=<" : "",
	    what->recipient ? what->recipient : "", what->recipient ? ">" : "",
	    state->proto, state->helo ? state->helo : "");
	return SMTPD_CHECK_REJECT;
}
