/*
 * mail_date_test - Postfix's Date: format in several time zones.  The
 * UTC and St. John's forms were observed in headers written by Debian's
 * Postfix 3.7 cleanup; the others follow the same rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/util/str.h"
#include "lib/util/test.h"
#include "lib/mail/mail_date.h"

static void
test_zones(struct test *t)
{
	static const struct {
		const char *tz;
		time_t when;
		const char *want;
	} cases[] = {
		{ "UTC", 1796402127, "Fri,  4 Dec 2026 16:35:27 +0000 (UTC)" },
		{ "UTC", 0, "Thu,  1 Jan 1970 00:00:00 +0000 (UTC)" },
		{ "UTC", 1796402127 + 6 * 86400,
		    "Thu, 10 Dec 2026 16:35:27 +0000 (UTC)" },
		{ "America/St_Johns", 1796402127,
		    "Fri,  4 Dec 2026 13:05:27 -0330 (NST)" },
		{ "America/New_York", 1796402127,
		    "Fri,  4 Dec 2026 11:35:27 -0500 (EST)" },
		/* Summer time, and the day before in local time. */
		{ "America/New_York", 1783200000,
		    "Sat,  4 Jul 2026 17:20:00 -0400 (EDT)" },
		{ "America/New_York", 1782871200,
		    "Tue, 30 Jun 2026 22:00:00 -0400 (EDT)" },
		{ "Asia/Kolkata", 1796402127,
		    "Fri,  4 Dec 2026 22:05:27 +0530 (IST)" },
		/* New year in local time before UTC. */
		{ "Asia/Kolkata", 1798743600,
		    "Fri,  1 Jan 2027 00:30:00 +0530 (IST)" },
		/* POSIX TZ strings work too. */
		{ "XYZ-2", 1796402127,
		    "Fri,  4 Dec 2026 18:35:27 +0200 (XYZ)" },
	};
	struct str *out = str_new(10);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setenv("TZ", cases[i].tz, 1);
		tzset();
		mail_date(out, cases[i].when);
		if (strcmp(str_ptr(out), cases[i].want) != 0)
			TEST_FAIL(t, "%s %lld: got \"%s\", want \"%s\"",
			    cases[i].tz, (long long)cases[i].when, str_ptr(out),
			    cases[i].want);
	}
	/* out is replaced, not appended to. */
	setenv("TZ", "UTC", 1);
	tzset();
	str_set(out, "junk");
	mail_date(out, 0);
	TEST_STR(t, str_ptr(out), "Thu,  1 Jan 1970 00:00:00 +0000 (UTC)");
	str_free(out);
}

static const struct test_case cases[] = {
	{ "zones", test_zones },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
