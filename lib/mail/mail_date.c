/*
 * mail_date - Postfix's header date format: see mail_date.h.
 */
#include <stdlib.h>
#include <time.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/mail_date.h"

#define DAY_MIN (24 * 60)

void
mail_date(struct str *out, time_t when)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm gmt, lt;
	int off;

	if (gmtime_r(&when, &gmt) == NULL || localtime_r(&when, &lt) == NULL)
		msg_fatal("mail_date: cannot convert time %lld",
		    (long long)when);

	/*
	 * The offset is the difference of the two clocks in minutes, as
	 * Postfix computes it (seconds of historical offsets are dropped).
	 */
	off = (lt.tm_hour - gmt.tm_hour) * 60 + lt.tm_min - gmt.tm_min;
	if (lt.tm_year != gmt.tm_year)
		off += lt.tm_year < gmt.tm_year ? -DAY_MIN : DAY_MIN;
	else if (lt.tm_yday != gmt.tm_yday)
		off += lt.tm_yday < gmt.tm_yday ? -DAY_MIN : DAY_MIN;
	if (abs(off) >= DAY_MIN)
		msg_panic("mail_date: UTC offset %d minutes out of range", off);

	/*
	 * "%+03d%02d" of hours and minutes, like Postfix: -03:30 is "-0330".
	 * Names come from tables, not strftime(), so that no locale can
	 * change the header.
	 */
	str_fmt(out, "%s, %2d %s %d %02d:%02d:%02d %+03d%02d (%s)",
	    days[lt.tm_wday % 7], lt.tm_mday, months[lt.tm_mon % 12],
	    lt.tm_year + 1900, lt.tm_hour, lt.tm_min, lt.tm_sec, off / 60,
	    abs(off) % 60, lt.tm_zone ? lt.tm_zone : "");
}
