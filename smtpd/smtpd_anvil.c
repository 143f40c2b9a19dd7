/*
 * smtpd_anvil - client connection and rate limits through the anvil
 * service.  This build has no anvil yet: every limit passes.
 */
#include "smtpd/smtpd.h"

int
smtpd_anvil_connect(struct smtpd_state *state, struct str *reply)
{
	(void)state;
	(void)reply;
	return 0;
}

int
smtpd_anvil_mail(struct smtpd_state *state, struct str *reply)
{
	(void)state;
	(void)reply;
	return 0;
}

int
smtpd_anvil_rcpt(struct smtpd_state *state, struct str *reply)
{
	(void)state;
	(void)reply;
	return 0;
}

int
smtpd_anvil_tls(struct smtpd_state *state, struct str *reply)
{
	(void)state;
	(void)reply;
	return 0;
}

int
smtpd_anvil_auth(struct smtpd_state *state, struct str *reply)
{
	(void)state;
	(void)reply;
	return 0;
}

void
smtpd_anvil_disconnect(struct smtpd_state *state)
{
	(void)state;
}
