/*
 * smtpd_tls - STARTTLS and wrapper mode for smtpd.  This build has no TLS
 * yet: STARTTLS is never offered and is answered as Postfix answers it
 * when TLS is off; a configuration that asks for TLS is refused.
 */
#include <string.h>

#include "lib/util/msg.h"
#include "lib/mail/params.h"
#include "smtpd/smtpd.h"

void
smtpd_tls_pre_jail(void)
{
	if (*var_smtpd_tls_security_level &&
	    strcmp(var_smtpd_tls_security_level, "none") != 0)
		msg_fatal("smtpd_tls_security_level = %s: TLS is not supported "
			  "by this build",
		    var_smtpd_tls_security_level);
}

void
smtpd_tls_init(void)
{
}

bool
smtpd_tls_offer(struct smtpd_state *state)
{
	(void)state;
	return false;
}

bool
smtpd_tls_required(struct smtpd_state *state)
{
	(void)state;
	return false;
}

int
smtpd_tls_wrapper(struct smtpd_state *state)
{
	(void)state;
	return 0;
}

bool
smtpd_cmd_starttls(struct smtpd_state *state, const char *arg)
{
	(void)arg;
	smtpd_reply(state, "502 5.5.1 Error: command not implemented");
	return false;
}

void
smtpd_tls_received(struct smtpd_state *state, struct str *buf)
{
	(void)state;
	str_reset(buf);
}

void
smtpd_tls_end(struct smtpd_state *state)
{
	(void)state;
}
