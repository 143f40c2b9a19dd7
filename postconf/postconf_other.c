/*
 * postconf_other - the small listings: -m (table types), -l (mailbox lock
 * methods), -a and -A (SASL implementations).
 */
#include <stdio.h>

#include "lib/util/dict.h"
#include "postconf/postconf.h"

void
pc_show_maps(void)
{
	for (const char *const *t = dict_types(); *t; t++)
		printf("%s\n", *t);
}

/* The mailbox_delivery_lock methods Linux offers, in Postfix's order. */
void
pc_show_locks(void)
{
	printf("flock\nfcntl\ndotlock\n");
}

/*
 * Postern's SMTP server speaks Dovecot's authentication protocol only, and
 * its SMTP client has no SASL yet, so -A lists nothing.  Debian's Postfix
 * also lists "cyrus".
 */
void
pc_show_sasl(int mode)
{
	if (mode & PC_SASL_SERV)
		printf("dovecot\n");
}
