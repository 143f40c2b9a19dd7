/*
 * smtpd_sasl - AUTH for smtpd.  This build has no SASL yet: AUTH is never
 * offered and is answered as Postfix answers it when SASL is off.
 */
#include "lib/util/msg.h"
#include "lib/mail/params.h"
#include "smtpd/smtpd.h"

void
smtpd_sasl_init(void)
{
	if (var_smtpd_sasl_auth_enable)
		msg_fatal("smtpd_sasl_auth_enable = yes: SASL is not "
			  "supported by this build");
}

void
smtpd_sasl_mechs(struct smtpd_state *state, struct str *mechs)
{
	(void)state;
	str_reset(mechs);
}

bool
smtpd_cmd_auth(struct smtpd_state *state, const char *arg)
{
	(void)arg;
	smtpd_reply(state, "503 5.5.1 Error: authentication not enabled");
	return false;
}

int
smtpd_sasl_mail_param(struct smtpd_state *state, const char *value)
{
	(void)state;
	(void)value;
	return 0;
}

void
smtpd_sasl_end(struct smtpd_state *state)
{
	(void)state;
}
