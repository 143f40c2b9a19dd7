/*
 * smtpd_policy - check_policy_service, Postfix's policy delegation
 * protocol.  Not in this build: the restriction is a configuration error.
 */
#include "lib/util/msg.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_check.h"

int
smtpd_check_policy(struct smtpd_state *state,
    const struct smtpd_check_what *what, const char *service)
{
	msg_warn("check_policy_service %s: not supported by this build",
	    service);
	return smtpd_check_reject(state, what, 451, "4.3.5",
	    "Server configuration error");
}

void
smtpd_policy_end(struct smtpd_state *state)
{
	(void)state;
}
