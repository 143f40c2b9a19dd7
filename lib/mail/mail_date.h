/*
 * mail_date - the RFC 5322 date that Postfix writes into the Date: and
 * Received: headers it adds.
 *
 * mail_date(out, when)   set out to when in local time, in Postfix's form
 *                        "Fri,  4 Dec 2026 16:35:27 +0000 (UTC)": the day of
 *                        the month padded with a space to two columns,
 *                        English names whatever the locale, the offset from
 *                        UTC in whole minutes ("-0330") and the zone's
 *                        abbreviation in parentheses (observed with Debian's
 *                        Postfix 3.7 cleanup under TZ=UTC and
 *                        TZ=America/St_Johns).  A daemon calls tzset()
 *                        before it enters a chroot jail, so that local time
 *                        still works inside.
 */
#ifndef MAIL_DATE_H
#define MAIL_DATE_H

#include <time.h>

#include "lib/util/str.h"

void mail_date(struct str *, time_t);

#endif
