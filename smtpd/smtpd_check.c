/*
 * smtpd_check - the restriction engine: Postfix's restriction lists
 * (smtpd_{client,helo,sender,relay,recipient,data,end_of_data,etrn}_
 * restrictions and smtpd_restriction_classes), evaluated at the stage
 * Postfix evaluates them, with its replies and log lines.
 *
 * With smtpd_delay_reject = yes (the default) the client, HELO and sender
 * lists run at each RCPT (and VRFY; client and HELO at ETRN), where the
 * client's recipient is known; with "no" each runs at its own command, and
 * a client rejected at connect gets "503 5.7.0 Error: access denied for
 * host[addr]" for every command but QUIT.  At RCPT the relay list runs
 * before the recipient list (smtpd_relay_before_recipient_restrictions);
 * a list stops at its first permit or reject, only a reject stops the
 * stage.  defer_if_permit turns a permitting stage into a 4xx reply,
 * defer_if_reject turns a later 5xx into its own 4xx reply, warn_if_reject
 * logs the next restriction's reject as "reject_warning" and goes on.
 *
 * A restriction that this engine does not know goes to the DNS module
 * (smtpd_dnsbl.c), then to the classes; an unknown name, a missing table
 * argument or a table that cannot be read is logged and answered with
 * "451 4.3.5 Server configuration error", as Postfix does.
 *
 * The table restrictions, the queue space check, the header rewriting
 * context and the records of the access actions are in smtpd_access.c.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/params.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_access.h"
#include "smtpd/smtpd_check.h"

/* Nesting limit for classes and table results naming restrictions. */
#define SMTPD_CHECK_DEPTH 100

static struct argv *smtpd_client_list;
static struct argv *smtpd_helo_list;
static struct argv *smtpd_sender_list;
static struct argv *smtpd_relay_list;
static struct argv *smtpd_rcpt_list;
static struct argv *smtpd_data_list;
static struct argv *smtpd_eod_list;
static struct argv *smtpd_etrn_list;

static struct argv *
smtpd_check_parse(const char *name, const char *value)
{
	struct argv *list = argv_split_list(value);

	if (list == NULL)
		msg_fatal("parameter %s: unbalanced '{' or '}' in \"%s\"", name,
		    value);
	return list;
}

/* True when list names one of the restrictions that stop open relaying. */
static bool
smtpd_check_relay_safe(struct argv *list)
{
	static const char *safe[] = { "reject_unauth_destination",
		"defer_unauth_destination", "reject", "defer",
		"defer_if_permit", "check_relay_domains", NULL };
	size_t i, j;

	for (i = 0; i < list->argc; i++)
		for (j = 0; safe[j]; j++)
			if (strcasecmp(list->argv[i], safe[j]) == 0)
				return true;
	return false;
}

void
smtpd_check_init(void)
{
	smtpd_client_list = smtpd_check_parse("smtpd_client_restrictions",
	    var_smtpd_client_restrictions);
	smtpd_helo_list = smtpd_check_parse("smtpd_helo_restrictions",
	    var_smtpd_helo_restrictions);
	smtpd_sender_list = smtpd_check_parse("smtpd_sender_restrictions",
	    var_smtpd_sender_restrictions);
	smtpd_relay_list = smtpd_check_parse("smtpd_relay_restrictions",
	    var_smtpd_relay_restrictions);
	smtpd_rcpt_list = smtpd_check_parse("smtpd_recipient_restrictions",
	    var_smtpd_recipient_restrictions);
	smtpd_data_list = smtpd_check_parse("smtpd_data_restrictions",
	    var_smtpd_data_restrictions);
	smtpd_eod_list = smtpd_check_parse("smtpd_end_of_data_restrictions",
	    var_smtpd_end_of_data_restrictions);
	smtpd_etrn_list = smtpd_check_parse("smtpd_etrn_restrictions",
	    var_smtpd_etrn_restrictions);
	/* Postfix refuses to run as an open relay, at start-up. */
	if (!smtpd_check_relay_safe(smtpd_relay_list) &&
	    !smtpd_check_relay_safe(smtpd_rcpt_list))
		msg_fatal("in parameter smtpd_relay_restrictions or "
			  "smtpd_recipient_restrictions, specify at least one "
			  "working instance of: reject_unauth_destination, "
			  "defer_unauth_destination, reject, defer, "
			  "defer_if_permit or check_relay_domains");
	smtpd_access_init();
}

struct smtpd_check *
smtpd_check_state(struct smtpd_state *state)
{
	struct smtpd_check *c = state->check;

	if (c == NULL) {
		c = state->check = xcalloc(1, sizeof(*c));
		c->reply = str_new(100);
		c->dip_reply = str_new(100);
		c->dir_reply = str_new(100);
		c->bcc = argv_new();
		c->prepend = argv_new();
	}
	return c;
}

/*
 * Forget the per-check state: a new command is being checked.  Input
 * already waiting behind the command is improper pipelining when the
 * client did not say EHLO, or when the command must end a group (HELO,
 * EHLO, DATA, VRFY, ETRN); as in Postfix, reject_unauth_pipelining then
 * rejects for the rest of the session.
 */
static struct smtpd_check *
smtpd_check_start(struct smtpd_state *state, const char *stage)
{
	struct smtpd_check *c = smtpd_check_state(state);

	if (stage && state->st && smtpd_pending(state) > 0 &&
	    (!state->esmtp || strcmp(stage, "MAIL") != 0) &&
	    (!state->esmtp || strcmp(stage, "RCPT") != 0))
		c->ill_pipelining = true;

	str_reset(c->reply);
	c->warn_if_reject = false;
	c->dip = false;
	c->dir = false;
	c->depth = 0;
	c->rcpt_listed = false;
	c->sender_listed = false;
	return c;
}

/*
 * Postfix's log line for a decision: "QID: action: STAGE from host[addr]:
 * text; from=<s> to=<r> proto=P helo=<h>".
 */
void
smtpd_check_log(struct smtpd_state *state, const struct smtpd_check_what *what,
    const char *action, const char *text)
{
	struct str *buf = str_new(200);

	str_fmt(buf, "%s: %s: %s from %s: %s;",
	    state->queue_id ? state->queue_id : "NOQUEUE", action, what->stage,
	    str_ptr(state->namaddr), text);
	if (what->sender)
		str_catfmt(buf, " from=<%s>", what->sender);
	if (what->recipient)
		str_catfmt(buf, " to=<%s>", what->recipient);
	str_catfmt(buf, " proto=%s", state->proto ? state->proto : "SMTP");
	if (what->helo)
		str_catfmt(buf, " helo=<%s>", what->helo);
	msg_info("%s", str_ptr(buf));
	str_free(buf);
}

/* The common part of smtpd_check_reject and the configuration error. */
static int
smtpd_check_reply(struct smtpd_state *state,
    const struct smtpd_check_what *what, bool policy)
{
	struct smtpd_check *c = smtpd_check_state(state);
	char *p = str_ptr(c->reply);

	if (policy) {
		/* soft_bounce: every 5xx becomes its 4xx, the DSN too */
		if (var_soft_bounce && p[0] == '5') {
			p[0] = '4';
			if (str_len(c->reply) > 5 && p[4] == '5' && p[5] == '.')
				p[4] = '4';
		}
		if (c->warn_if_reject) {
			smtpd_check_log(state, what, "reject_warning", p);
			str_reset(c->reply);
			return SMTPD_CHECK_DUNNO;
		}
		if (p[0] == '5' && c->dir)
			str_set(c->reply, str_ptr(c->dir_reply));
	}
	smtpd_check_log(state, what, "reject", str_ptr(c->reply));
	return SMTPD_CHECK_REJECT;
}

int
smtpd_check_reject(struct smtpd_state *state,
    const struct smtpd_check_what *what, int code, const char *dsn,
    const char *fmt, ...)
{
	struct smtpd_check *c = smtpd_check_state(state);
	va_list ap;

	str_fmt(c->reply, "%d %s ", code, dsn);
	va_start(ap, fmt);
	str_vcatfmt(c->reply, fmt, ap);
	va_end(ap);
	return smtpd_check_reply(state, what, true);
}

int
smtpd_check_config_error(struct smtpd_state *state,
    const struct smtpd_check_what *what)
{
	struct smtpd_check *c = smtpd_check_state(state);

	str_set(c->reply, "451 4.3.5 Server configuration error");
	return smtpd_check_reply(state, what, false);
}

int
smtpd_check_defer_if_permit(struct smtpd_state *state,
    const struct smtpd_check_what *what, int code, const char *dsn,
    const char *fmt, ...)
{
	struct smtpd_check *c = smtpd_check_state(state);
	va_list ap;

	(void)what;
	if (c->warn_if_reject)
		return SMTPD_CHECK_DUNNO;
	if (!c->dip) {
		str_fmt(c->dip_reply, "%d %s ", code, dsn);
		va_start(ap, fmt);
		str_vcatfmt(c->dip_reply, fmt, ap);
		va_end(ap);
		c->dip = true;
	}
	return SMTPD_CHECK_DUNNO;
}

/* Remember a defer_if_reject reply (the first one counts). */
static void
smtpd_check_defer_if_reject(struct smtpd_check *c, const char *name,
    const char *class)
{
	if (c->warn_if_reject || c->dir)
		return;
	str_fmt(c->dir_reply,
	    "450 4.7.0 <%s>: %s rejected: defer_if_reject requested", name,
	    class);
	c->dir = true;
}

/* The restrictions that take a table argument. */
static const char *smtpd_table_restrictions[] = {
	"check_client_access",
	"check_reverse_client_hostname_access",
	"check_helo_access",
	"check_sender_access",
	"check_recipient_access",
	"check_etrn_access",
	"check_ccert_access",
	NULL,
};

/* One restriction; *used is set when it consumed arg. */
static int
smtpd_check_one(struct smtpd_state *state, const struct smtpd_check_what *what,
    const char *r, const char *arg, bool *used, const char *name,
    const char *class)
{
	struct smtpd_check *c = smtpd_check_state(state);
	const char *sender = what->sender, *rcpt = what->recipient;
	struct argv *list;
	size_t i;
	int rc;

	for (i = 0; smtpd_table_restrictions[i]; i++)
		if (strcasecmp(r, smtpd_table_restrictions[i]) == 0)
			break;
	if (smtpd_table_restrictions[i]) {
		*used = arg != NULL;
		if (arg == NULL || strchr(arg, ':') == NULL) {
			msg_warn("restriction %s: bad argument \"%s\": need "
				 "maptype:mapname",
			    r, arg ? arg : r);
			return smtpd_check_config_error(state, what);
		}
		if (smtpd_access_table(arg) == NULL)
			return smtpd_check_config_error(state, what);
		switch (i) {
		case 0:
		case 1:
			return smtpd_access_client(state, what, arg, i == 1);
		case 2:
			return what->helo
				   ? smtpd_access_domain(state, what, arg,
					 what->helo, what->helo, "Helo command")
				   : SMTPD_CHECK_DUNNO;
		case 3:
			return sender ? smtpd_access_mail(state, what, arg,
					    sender, "Sender address")
				      : SMTPD_CHECK_DUNNO;
		case 4:
			return rcpt ? smtpd_access_mail(state, what, arg, rcpt,
					  "Recipient address")
				    : SMTPD_CHECK_DUNNO;
		case 5:
			return what->etrn
				   ? smtpd_access_domain(state, what, arg,
					 what->etrn, what->etrn, "Etrn command")
				   : SMTPD_CHECK_DUNNO;
		default:
			/* no client certificate information: no match */
			return SMTPD_CHECK_DUNNO;
		}
	}
	if (strcasecmp(r, "permit") == 0)
		return SMTPD_CHECK_OK;
	if (strcasecmp(r, "reject") == 0)
		return smtpd_check_reject(state, what, var_reject_code, "5.7.1",
		    "<%s>: %s rejected: Access denied", name, class);
	if (strcasecmp(r, "defer") == 0)
		return smtpd_check_reject(state, what, var_defer_code, "4.7.1",
		    "<%s>: %s rejected: Access denied", name, class);
	if (strcasecmp(r, "defer_if_permit") == 0)
		return smtpd_check_defer_if_permit(state, what, 450, "4.7.0",
		    "<%s>: %s rejected: defer_if_permit requested", name,
		    class);
	if (strcasecmp(r, "defer_if_reject") == 0) {
		smtpd_check_defer_if_reject(c, name, class);
		return SMTPD_CHECK_DUNNO;
	}
	if (strcasecmp(r, "permit_mynetworks") == 0)
		return state->trusted ? SMTPD_CHECK_OK : SMTPD_CHECK_DUNNO;
	if (strcasecmp(r, "permit_sasl_authenticated") == 0)
		return state->sasl_username ? SMTPD_CHECK_OK
					    : SMTPD_CHECK_DUNNO;
	if (strcasecmp(r, "permit_inet_interfaces") == 0)
		return smtpd_access_interfaces(state) ? SMTPD_CHECK_OK
						      : SMTPD_CHECK_DUNNO;
	if (strcasecmp(r, "permit_tls_clientcerts") == 0 ||
	    strcasecmp(r, "permit_tls_all_clientcerts") == 0)
		return SMTPD_CHECK_DUNNO;
	if (strcasecmp(r, "reject_plaintext_session") == 0)
		return state->tls ? SMTPD_CHECK_DUNNO
				  : smtpd_check_reject(state, what,
					var_plaintext_reject_code, "4.7.1",
					"Session encryption is required");
	if (strcasecmp(r, "reject_unauth_pipelining") == 0) {
		if (c->ill_pipelining)
			return smtpd_check_reject(state, what, 503, "5.5.0",
			    "<%s>: %s rejected: Improper use of SMTP command "
			    "pipelining",
			    name, class);
		return SMTPD_CHECK_DUNNO;
	}
	if (strcasecmp(r, "reject_non_fqdn_helo_hostname") == 0 ||
	    strcasecmp(r, "reject_non_fqdn_hostname") == 0) {
		if (what->helo == NULL || smtpd_access_literal(what->helo) ||
		    (smtpd_access_hostname(what->helo) &&
			strchr(what->helo, '.') &&
			what->helo[strlen(what->helo) - 1] != '.'))
			return SMTPD_CHECK_DUNNO;
		return smtpd_check_reject(state, what, var_non_fqdn_reject_code,
		    "5.5.2",
		    "<%s>: Helo command rejected: need fully-qualified "
		    "hostname",
		    what->helo);
	}
	if (strcasecmp(r, "reject_invalid_helo_hostname") == 0 ||
	    strcasecmp(r, "reject_invalid_hostname") == 0) {
		if (what->helo == NULL || smtpd_access_literal(what->helo) ||
		    smtpd_access_hostname(what->helo))
			return SMTPD_CHECK_DUNNO;
		return smtpd_check_reject(state, what,
		    var_invalid_hostname_reject_code, "5.5.2",
		    "<%s>: Helo command rejected: Invalid name", what->helo);
	}
	if (strcasecmp(r, "reject_non_fqdn_sender") == 0) {
		if (sender == NULL || *sender == 0 || smtpd_access_fqdn(sender))
			return SMTPD_CHECK_DUNNO;
		return smtpd_check_reject(state, what, var_non_fqdn_reject_code,
		    "5.5.2",
		    "<%s>: Sender address rejected: need fully-qualified "
		    "address",
		    sender);
	}
	if (strcasecmp(r, "reject_non_fqdn_recipient") == 0) {
		if (rcpt == NULL || smtpd_access_fqdn(rcpt))
			return SMTPD_CHECK_DUNNO;
		return smtpd_check_reject(state, what, var_non_fqdn_reject_code,
		    "5.5.2",
		    "<%s>: Recipient address rejected: need fully-qualified "
		    "address",
		    rcpt);
	}
	if (strcasecmp(r, "reject_unlisted_recipient") == 0 ||
	    strcasecmp(r, "check_recipient_maps") == 0) {
		if (rcpt == NULL)
			return SMTPD_CHECK_DUNNO;
		c->rcpt_listed = true;
		return smtpd_access_unlisted(state, what, rcpt, false);
	}
	if (strcasecmp(r, "reject_unlisted_sender") == 0) {
		if (sender == NULL || *sender == 0)
			return SMTPD_CHECK_DUNNO;
		c->sender_listed = true;
		return smtpd_access_unlisted(state, what, sender, true);
	}
	if (strcasecmp(r, "reject_sender_login_mismatch") == 0 ||
	    strcasecmp(r, "reject_authenticated_sender_login_mismatch") == 0 ||
	    strcasecmp(r, "reject_unauthenticated_sender_login_mismatch") ==
		0) {
		if (sender == NULL || *sender == 0)
			return SMTPD_CHECK_DUNNO;
		return smtpd_access_login(state, what, sender,
		    r[7] == 's'   ? SMTPD_LOGIN_ANY
		    : r[7] == 'a' ? SMTPD_LOGIN_AUTH
				  : SMTPD_LOGIN_UNAUTH);
	}
	if (strcasecmp(r, "permit_auth_destination") == 0 ||
	    strcasecmp(r, "reject_unauth_destination") == 0 ||
	    strcasecmp(r, "defer_unauth_destination") == 0) {
		if (rcpt == NULL)
			return SMTPD_CHECK_DUNNO;
		if ((rc = smtpd_access_auth_dest(state, rcpt)) < 0)
			return smtpd_check_reject(state, what, 451, "4.3.0",
			    "<%s>: Temporary lookup failure", rcpt);
		if (r[0] == 'p' || r[0] == 'P')
			return rc ? SMTPD_CHECK_OK : SMTPD_CHECK_DUNNO;
		if (rc)
			return SMTPD_CHECK_DUNNO;
		/* defer_unauth_destination: the same code made 4xx (454) */
		return smtpd_check_reject(state, what,
		    r[0] == 'r' || r[0] == 'R' ||
			    var_relay_domains_reject_code < 500
			? var_relay_domains_reject_code
			: var_relay_domains_reject_code - 100,
		    r[0] == 'r' || r[0] == 'R' ? "5.7.1" : "4.7.1",
		    "<%s>: Relay access denied", rcpt);
	}
	if (strcasecmp(r, "check_policy_service") == 0) {
		*used = arg != NULL;
		if (arg == NULL) {
			msg_warn("restriction %s requires a service argument",
			    r);
			return smtpd_check_config_error(state, what);
		}
		return smtpd_check_policy(state, what, arg);
	}
	if (smtpd_check_dns_arg(r)) {
		*used = arg != NULL;
		if (arg == NULL) {
			msg_warn("restriction %s requires an argument", r);
			return smtpd_check_config_error(state, what);
		}
	}
	rc = smtpd_check_dns(state, what, r, *used ? arg : NULL);
	if (rc != SMTPD_CHECK_NOT_MINE)
		return rc;
	if ((list = smtpd_access_class(r)) != NULL)
		return smtpd_check_list(state, what, list, name, class);
	msg_warn("unknown smtpd restriction: \"%s\"", r);
	return smtpd_check_config_error(state, what);
}

int
smtpd_check_list(struct smtpd_state *state, const struct smtpd_check_what *what,
    struct argv *list, const char *name, const char *class)
{
	struct smtpd_check *c = smtpd_check_state(state);
	const char *arg;
	bool used;
	size_t i;
	int rc = SMTPD_CHECK_DUNNO;

	/* Postfix: no restrictions for the stand-alone mode (-S) */
	if (state->standalone)
		return SMTPD_CHECK_DUNNO;
	if (++c->depth > SMTPD_CHECK_DEPTH) {
		msg_warn("restriction nesting deeper than %d in %s",
		    SMTPD_CHECK_DEPTH, what->list);
		c->depth--;
		return smtpd_check_config_error(state, what);
	}
	for (i = 0; i < list->argc; i++) {
		if (strcasecmp(list->argv[i], "warn_if_reject") == 0) {
			c->warn_if_reject = true;
			continue;
		}
		arg = i + 1 < list->argc ? list->argv[i + 1] : NULL;
		used = false;
		rc = smtpd_check_one(state, what, list->argv[i], arg, &used,
		    name, class);
		c->warn_if_reject = false;
		if (used)
			i++;
		if (rc != SMTPD_CHECK_DUNNO)
			break;
	}
	c->depth--;
	return rc;
}

/* One stage's list, under the list's name for warnings. */
static int
smtpd_check_stage(struct smtpd_state *state, struct smtpd_check_what *what,
    const char *list_name, struct argv *list, const char *name,
    const char *class)
{
	const char *saved = what->list;
	int rc;

	what->list = list_name;
	rc = smtpd_check_list(state, what, list, name, class);
	what->list = saved;
	return rc;
}

/* The end of a stage: a pending defer_if_permit turns "go on" into 4xx. */
static const char *
smtpd_check_done(struct smtpd_state *state, const struct smtpd_check_what *what,
    int rc)
{
	struct smtpd_check *c = smtpd_check_state(state);

	if (rc != SMTPD_CHECK_REJECT && c->dip) {
		str_set(c->reply, str_ptr(c->dip_reply));
		c->dip = false;
		rc = smtpd_check_reply(state, what, false);
	}
	return rc == SMTPD_CHECK_REJECT ? str_ptr(c->reply) : NULL;
}

/* The client, HELO and sender lists, at their stage or delayed. */
static int
smtpd_check_early(struct smtpd_state *state, struct smtpd_check_what *what,
    bool client, bool helo, bool sender)
{
	struct smtpd_check *c = smtpd_check_state(state);
	int rc = SMTPD_CHECK_DUNNO;

	if (client)
		rc = smtpd_check_stage(state, what, "smtpd_client_restrictions",
		    smtpd_client_list, str_ptr(state->namaddr), "Client host");
	if (rc != SMTPD_CHECK_REJECT && helo && what->helo)
		rc = smtpd_check_stage(state, what, "smtpd_helo_restrictions",
		    smtpd_helo_list, what->helo, "Helo command");
	if (rc != SMTPD_CHECK_REJECT && sender && what->sender) {
		rc = smtpd_check_stage(state, what, "smtpd_sender_restrictions",
		    smtpd_sender_list, what->sender, "Sender address");
		if (rc != SMTPD_CHECK_REJECT &&
		    var_smtpd_reject_unlisted_sender && !c->sender_listed &&
		    *what->sender)
			rc = smtpd_access_unlisted(state, what, what->sender,
			    true);
	}
	return rc;
}

const char *
smtpd_check_connect(struct smtpd_state *state)
{
	struct smtpd_check *c = smtpd_check_start(state, NULL);
	struct smtpd_check_what what = { .stage = "CONNECT" };
	const char *reply;

	if (var_smtpd_delay_reject)
		return NULL;
	reply = smtpd_check_done(state, &what,
	    smtpd_check_early(state, &what, true, false, false));
	if (reply) {
		free(c->denied);
		c->denied = xstrdup(reply);
	}
	return reply;
}

const char *
smtpd_check_denied(struct smtpd_state *state)
{
	struct smtpd_check *c = smtpd_check_state(state);

	if (c->denied == NULL)
		return NULL;
	str_fmt(c->reply, "503 5.7.0 Error: access denied for %s",
	    str_ptr(state->namaddr));
	return str_ptr(c->reply);
}

const char *
smtpd_check_helo(struct smtpd_state *state, const char *helo)
{
	struct smtpd_check_what what = { .stage = "HELO", .helo = helo };

	/* "EHLO from ..." in the log for EHLO (smtpd_proto.c sets where) */
	if (state->where && strcmp(state->where, "EHLO") == 0)
		what.stage = "EHLO";
	smtpd_check_start(state, "HELO");
	if (var_smtpd_delay_reject)
		return NULL;
	return smtpd_check_done(state, &what,
	    smtpd_check_early(state, &what, false, true, false));
}

const char *
smtpd_check_mail(struct smtpd_state *state, const char *sender)
{
	struct smtpd_check *c = smtpd_check_start(state, "MAIL");
	struct smtpd_check_what what = { .stage = "MAIL",
		.sender = sender,
		.helo = state->helo };

	if (var_smtpd_helo_required && state->helo == NULL &&
	    !state->standalone) {
		str_set(c->reply, "503 5.5.1 Error: send HELO/EHLO first");
		return str_ptr(c->reply);
	}
	if (var_smtpd_delay_reject)
		return NULL;
	return smtpd_check_done(state, &what,
	    smtpd_check_early(state, &what, false, false, true));
}

/* RCPT and VRFY: every list that applies, then the recipient tables. */
static const char *
smtpd_check_recipient(struct smtpd_state *state, const char *stage,
    const char *rcpt)
{
	struct smtpd_check *c = smtpd_check_start(state, stage);
	struct smtpd_check_what what = { .stage = stage,
		.sender = state->sender,
		.recipient = rcpt,
		.helo = state->helo };
	struct argv *first = smtpd_relay_list, *second = smtpd_rcpt_list;
	const char *first_name = "smtpd_relay_restrictions",
		   *second_name = "smtpd_recipient_restrictions";
	const char *reply;
	int rc = SMTPD_CHECK_DUNNO;

	/* Postfix: after DISCARD nothing more is checked for the message */
	if (c->discard)
		return NULL;
	if (var_smtpd_delay_reject)
		rc = smtpd_check_early(state, &what, true, true, true);
	if (!var_smtpd_relay_before_recipient_restrictions) {
		first = smtpd_rcpt_list;
		second = smtpd_relay_list;
		first_name = "smtpd_recipient_restrictions";
		second_name = "smtpd_relay_restrictions";
	}
	if (rc != SMTPD_CHECK_REJECT)
		rc = smtpd_check_stage(state, &what, first_name, first, rcpt,
		    "Recipient address");
	if (rc != SMTPD_CHECK_REJECT)
		rc = smtpd_check_stage(state, &what, second_name, second, rcpt,
		    "Recipient address");
	if ((reply = smtpd_check_done(state, &what, rc)) != NULL)
		return reply;
	if (c->discard || c->rcpt_listed || state->standalone ||
	    !var_smtpd_reject_unlisted_recipient)
		return NULL;
	rc = smtpd_access_unlisted(state, &what, rcpt, false);
	return rc == SMTPD_CHECK_REJECT ? str_ptr(c->reply) : NULL;
}

const char *
smtpd_check_rcpt(struct smtpd_state *state, const char *rcpt)
{
	return smtpd_check_recipient(state, "RCPT", rcpt);
}

const char *
smtpd_check_vrfy(struct smtpd_state *state, const char *arg)
{
	struct str *addr = str_new(100);
	const char *reply;
	size_t len;

	/* "VRFY <user@domain>" or "VRFY user": the address alone */
	while (*arg == ' ' || *arg == '\t')
		arg++;
	len = strlen(arg);
	if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>')
		str_setn(addr, arg + 1, len - 2);
	else
		str_set(addr, arg);
	reply = smtpd_check_recipient(state, "VRFY", str_ptr(addr));
	str_free(addr);
	return reply;
}

const char *
smtpd_check_data(struct smtpd_state *state)
{
	struct smtpd_check_what what = { .stage = "DATA",
		.sender = state->sender,
		.recipient = state->rcpt_count == 1 ? state->first_rcpt : NULL,
		.helo = state->helo };

	smtpd_check_start(state, "DATA");
	return smtpd_check_done(state, &what,
	    smtpd_check_stage(state, &what, "smtpd_data_restrictions",
		smtpd_data_list, "DATA", "Data command"));
}

const char *
smtpd_check_eod(struct smtpd_state *state)
{
	struct smtpd_check_what what = { .stage = "END-OF-MESSAGE",
		.sender = state->sender,
		.recipient = state->rcpt_count == 1 ? state->first_rcpt : NULL,
		.helo = state->helo };

	smtpd_check_start(state, NULL);
	return smtpd_check_done(state, &what,
	    smtpd_check_stage(state, &what, "smtpd_end_of_data_restrictions",
		smtpd_eod_list, "END-OF-MESSAGE", "End-of-data"));
}

const char *
smtpd_check_etrn(struct smtpd_state *state, const char *domain)
{
	struct smtpd_check *c = smtpd_check_start(state, "ETRN");
	struct smtpd_check_what what = { .stage = "ETRN",
		.sender = state->sender,
		.etrn = domain,
		.helo = state->helo };
	int rc = SMTPD_CHECK_DUNNO;

	if (var_smtpd_helo_required && state->helo == NULL &&
	    !state->standalone) {
		str_set(c->reply, "503 Error: send HELO/EHLO first");
		return str_ptr(c->reply);
	}
	if (var_smtpd_delay_reject)
		rc = smtpd_check_early(state, &what, true, true, false);
	if (rc != SMTPD_CHECK_REJECT)
		rc = smtpd_check_stage(state, &what, "smtpd_etrn_restrictions",
		    smtpd_etrn_list, domain, "Etrn command");
	return smtpd_check_done(state, &what, rc);
}

void
smtpd_check_reset(struct smtpd_state *state)
{
	struct smtpd_check *c = state->check;

	if (c == NULL)
		return;
	c->discard = false;
	c->hold = false;
	free(c->filter);
	c->filter = NULL;
	free(c->redirect);
	c->redirect = NULL;
	argv_free(c->bcc);
	c->bcc = argv_new();
	argv_free(c->prepend);
	c->prepend = argv_new();
}

void
smtpd_check_end(struct smtpd_state *state)
{
	struct smtpd_check *c = state->check;

	if (c == NULL)
		return;
	smtpd_check_reset(state);
	argv_free(c->bcc);
	argv_free(c->prepend);
	str_free(c->reply);
	str_free(c->dip_reply);
	str_free(c->dir_reply);
	free(c->denied);
	free(c);
	state->check = NULL;
}
