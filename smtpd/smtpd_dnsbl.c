/*
 * smtpd_dnsbl - the DNS-based restrictions.  Not in this build: none of
 * them is recognized.
 */
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_check.h"

bool
smtpd_check_dns_arg(const char *name)
{
	(void)name;
	return false;
}

int
smtpd_check_dns(struct smtpd_state *state, const struct smtpd_check_what *what,
    const char *name, const char *arg)
{
	(void)state;
	(void)what;
	(void)name;
	(void)arg;
	return SMTPD_CHECK_NOT_MINE;
}
