/*
 * smtpd_xclient - XCLIENT, XFORWARD and the HAProxy PROXY protocol.  This
 * build authorizes no XCLIENT/XFORWARD client and reads no PROXY header.
 */
#include "lib/util/msg.h"
#include "lib/mail/params.h"
#include "smtpd/smtpd.h"

void
smtpd_xclient_ehlo(struct smtpd_state *state, struct argv *kw)
{
	(void)state;
	(void)kw;
}

bool
smtpd_cmd_xclient(struct smtpd_state *state, const char *arg)
{
	(void)arg;
	smtpd_reply(state, "550 5.7.0 Error: insufficient authorization");
	return false;
}

bool
smtpd_cmd_xforward(struct smtpd_state *state, const char *arg)
{
	(void)arg;
	smtpd_reply(state, "550 5.7.0 Error: insufficient authorization");
	return false;
}

void
smtpd_xforward_records(struct smtpd_state *state, struct stream *out)
{
	(void)state;
	(void)out;
}

int
smtpd_proxy_protocol(struct smtpd_state *state)
{
	(void)state;
	if (*var_smtpd_upstream_proxy_protocol)
		msg_fatal("smtpd_upstream_proxy_protocol = %s: not supported "
			  "by this build",
		    var_smtpd_upstream_proxy_protocol);
	return 0;
}
