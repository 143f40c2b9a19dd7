/*
 * smtpd_anvil - client connection and rate limits through the anvil
 * service (smtpd_client_connection_count_limit, *_connection_rate_limit,
 * *_message_rate_limit, *_recipient_rate_limit,
 * *_new_tls_session_rate_limit, *_auth_rate_limit), with Postfix's
 * replies and warnings.
 *
 * As in Postfix, anvil is asked only when some limit is set (the count
 * limit is, by default), never for the stand-alone mode (sendmail -bs),
 * for a client in smtpd_authorized_xclient_hosts (a proxy speaks for many
 * clients), or for one in smtpd_client_event_limit_exceptions ($mynetworks
 * by default).  A client whose connection anvil counted is disconnected
 * from anvil at the end of the session, however it ends.  When anvil
 * cannot be reached the limits do not apply (anvil_clnt logs why): a
 * missing anvil must not stop mail.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/anvil_clnt.h"
#include "lib/mail/daemon.h"
#include "lib/mail/match_list.h"
#include "lib/mail/params.h"
#include "smtpd/smtpd.h"

static struct match_list *smtpd_anvil_exceptions;
static struct match_list *smtpd_anvil_xclient_hosts;

/* Postfix creates its anvil client only when some limit is set. */
static bool
smtpd_anvil_enabled(void)
{
	return var_smtpd_client_connection_count_limit > 0 ||
	       var_smtpd_client_connection_rate_limit > 0 ||
	       var_smtpd_client_message_rate_limit > 0 ||
	       var_smtpd_client_recipient_rate_limit > 0 ||
	       var_smtpd_client_new_tls_session_rate_limit > 0 ||
	       var_smtpd_client_auth_rate_limit > 0;
}

static const char *
smtpd_anvil_service(void)
{
	const char *svc = daemon_service_name();

	return svc != NULL ? svc : "smtpd";
}

/*
 * Whether this client's events are counted now: limit set, not an
 * XCLIENT proxy, not an exception (matched against the current name and
 * address, which XCLIENT or PROXY may have replaced).
 */
static bool
smtpd_anvil_applies(struct smtpd_state *state, int limit)
{
	if (limit <= 0 || state->anvil_exempt)
		return false;
	if (smtpd_anvil_exceptions == NULL)
		smtpd_anvil_exceptions =
		    match_list_new("smtpd_client_event_limit_exceptions",
			var_smtpd_client_event_limit_exceptions, 0);
	return match_list_hostaddr(smtpd_anvil_exceptions, str_ptr(state->name),
		   str_ptr(state->addr)) != 1;
}

/* Stand-alone mode (-S): the client is on a pipe, not a socket. */
static bool
smtpd_anvil_standalone(struct smtpd_state *state)
{
	char addr[NI_MAXHOST];

	return sock_peer_addr(stream_fd(state->st), addr, sizeof(addr)) < 0 ||
	       strcmp(addr, "local") == 0;
}

int
smtpd_anvil_connect(struct smtpd_state *state, struct str *reply)
{
	const char *svc = smtpd_anvil_service();
	int count, rate;

	state->anvil_connected = false;
	if (smtpd_anvil_xclient_hosts == NULL)
		smtpd_anvil_xclient_hosts =
		    match_list_new("smtpd_authorized_xclient_hosts",
			var_smtpd_authorized_xclient_hosts, 0);
	state->anvil_exempt =
	    smtpd_anvil_standalone(state) ||
	    match_list_hostaddr(smtpd_anvil_xclient_hosts, str_ptr(state->name),
		str_ptr(state->addr)) == 1;
	if (!smtpd_anvil_enabled() || !smtpd_anvil_applies(state, 1))
		return 0;
	/*
	 * As Postfix, the disconnect is sent even when this request failed
	 * (anvil may be back by then; it ignores a disconnect of a connection
	 * that this process did not open).
	 */
	state->anvil_connected = true;
	free(state->anvil_addr);
	state->anvil_addr = xstrdup(str_ptr(state->addr));
	if (anvil_clnt_connect(svc, str_ptr(state->addr), &count, &rate) < 0)
		return 0;
	if (var_smtpd_client_connection_count_limit > 0 &&
	    count > var_smtpd_client_connection_count_limit) {
		msg_warn("Connection concurrency limit exceeded: %d from %s "
			 "for service %s",
		    count, str_ptr(state->namaddr), svc);
	} else if (var_smtpd_client_connection_rate_limit > 0 &&
		   rate > var_smtpd_client_connection_rate_limit) {
		msg_warn("Connection rate limit exceeded: %d from %s for "
			 "service %s",
		    rate, str_ptr(state->namaddr), svc);
	} else {
		return 0;
	}
	str_fmt(reply, "421 4.7.0 %s Error: too many connections from %s",
	    var_myhostname, str_ptr(state->addr));
	return -1;
}

int
smtpd_anvil_mail(struct smtpd_state *state, struct str *reply)
{
	int rate;

	if (!smtpd_anvil_applies(state, var_smtpd_client_message_rate_limit) ||
	    anvil_clnt_message(smtpd_anvil_service(), str_ptr(state->addr),
		&rate) < 0 ||
	    rate <= var_smtpd_client_message_rate_limit)
		return 0;
	msg_warn("Message delivery request rate limit exceeded: %d from %s "
		 "for service %s",
	    rate, str_ptr(state->namaddr), smtpd_anvil_service());
	str_fmt(reply, "450 4.7.1 Error: too much mail from %s",
	    str_ptr(state->addr));
	return -1;
}

int
smtpd_anvil_rcpt(struct smtpd_state *state, struct str *reply)
{
	int rate;

	if (!smtpd_anvil_applies(state,
		var_smtpd_client_recipient_rate_limit) ||
	    anvil_clnt_recipient(smtpd_anvil_service(), str_ptr(state->addr),
		&rate) < 0 ||
	    rate <= var_smtpd_client_recipient_rate_limit)
		return 0;
	msg_warn("Recipient address rate limit exceeded: %d from %s for "
		 "service %s",
	    rate, str_ptr(state->namaddr), smtpd_anvil_service());
	str_fmt(reply, "450 4.7.1 Error: too many recipients from %s",
	    str_ptr(state->addr));
	return -1;
}

int
smtpd_anvil_tls_check(struct smtpd_state *state, struct str *reply)
{
	int rate;

	if (!smtpd_anvil_applies(state,
		var_smtpd_client_new_tls_session_rate_limit) ||
	    anvil_clnt_newtls_report(smtpd_anvil_service(),
		str_ptr(state->addr), &rate) < 0 ||
	    rate <= var_smtpd_client_new_tls_session_rate_limit)
		return 0;
	msg_warn("Refusing STARTTLS request from %s for service %s",
	    str_ptr(state->namaddr), smtpd_anvil_service());
	str_fmt(reply, "454 4.7.0 Error: too many new TLS sessions from %s",
	    str_ptr(state->namaddr));
	return -1;
}

int
smtpd_anvil_tls(struct smtpd_state *state, struct str *reply)
{
	int rate;

	if (!smtpd_anvil_applies(state,
		var_smtpd_client_new_tls_session_rate_limit) ||
	    anvil_clnt_newtls(smtpd_anvil_service(), str_ptr(state->addr),
		&rate) < 0 ||
	    rate <= var_smtpd_client_new_tls_session_rate_limit)
		return 0;
	msg_warn("New TLS session rate limit exceeded: %d from %s for "
		 "service %s",
	    rate, str_ptr(state->namaddr), smtpd_anvil_service());
	str_fmt(reply, "421 4.7.0 %s Error: too many new TLS sessions from %s",
	    var_myhostname, str_ptr(state->namaddr));
	return -1;
}

int
smtpd_anvil_auth(struct smtpd_state *state, struct str *reply)
{
	int rate;

	if (!smtpd_anvil_applies(state, var_smtpd_client_auth_rate_limit) ||
	    anvil_clnt_auth(smtpd_anvil_service(), str_ptr(state->addr),
		&rate) < 0 ||
	    rate <= var_smtpd_client_auth_rate_limit)
		return 0;
	msg_warn("AUTH command rate limit exceeded: %d from %s for service %s",
	    rate, str_ptr(state->namaddr), smtpd_anvil_service());
	str_fmt(reply, "450 4.7.1 Error: too many AUTH commands from %s",
	    str_ptr(state->addr));
	return -1;
}

/* The address anvil counted at connect (XCLIENT may have replaced it). */
void
smtpd_anvil_disconnect(struct smtpd_state *state)
{
	if (state->anvil_connected)
		(void)anvil_clnt_disconnect(smtpd_anvil_service(),
		    state->anvil_addr);
	state->anvil_connected = false;
	free(state->anvil_addr);
	state->anvil_addr = NULL;
}
