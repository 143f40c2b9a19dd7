/*
 * ehlo_mask - EHLO keyword sets (see ehlo_mask.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/alloc.h"
#include "lib/mail/ehlo_mask.h"

/*
 * In the order Postfix 3.7 logs them.  Its log calls SMTPUTF8
 * "EHLO_MASK_SMTPUTF8" (observed: "discarding EHLO keywords: ... DSN
 * EHLO_MASK_SMTPUTF8 CHUNKING"); log analyzers see that spelling, so the
 * log keeps it while the keyword itself is matched as "SMTPUTF8".
 */
static const struct {
	const char *name;
	const char *logged;
	int mask;
} ehlo_names[] = {
	{ "8BITMIME", "8BITMIME", EHLO_MASK_8BITMIME },
	{ "AUTH", "AUTH", EHLO_MASK_AUTH },
	{ "ETRN", "ETRN", EHLO_MASK_ETRN },
	{ "PIPELINING", "PIPELINING", EHLO_MASK_PIPELINING },
	{ "SIZE", "SIZE", EHLO_MASK_SIZE },
	{ "VERP", "VERP", EHLO_MASK_VERP },
	{ "VRFY", "VRFY", EHLO_MASK_VRFY },
	{ "XCLIENT", "XCLIENT", EHLO_MASK_XCLIENT },
	{ "XFORWARD", "XFORWARD", EHLO_MASK_XFORWARD },
	{ "STARTTLS", "STARTTLS", EHLO_MASK_STARTTLS },
	{ "ENHANCEDSTATUSCODES", "ENHANCEDSTATUSCODES",
	    EHLO_MASK_ENHANCEDSTATUSCODES },
	{ "DSN", "DSN", EHLO_MASK_DSN },
	{ "SMTPUTF8", "EHLO_MASK_SMTPUTF8", EHLO_MASK_SMTPUTF8 },
	{ "CHUNKING", "CHUNKING", EHLO_MASK_CHUNKING },
};
#define EHLO_NAMES (sizeof(ehlo_names) / sizeof(ehlo_names[0]))

int
ehlo_mask_parse(const char *list, bool *silent)
{
	char *copy = xstrdup(list), *cp = copy, *word;
	int mask = 0;

	while ((word = strsep(&cp, " \t\r\n,")) != NULL) {
		if (*word == 0)
			continue;
		if (strcasecmp(word, "silent-discard") == 0) {
			*silent = true;
			continue;
		}
		mask |= ehlo_mask_find(word);
	}
	free(copy);
	return mask;
}

int
ehlo_mask_find(const char *kw)
{
	size_t n = strcspn(kw, " =");

	for (size_t i = 0; i < EHLO_NAMES; i++)
		if (strlen(ehlo_names[i].name) == n &&
		    strncasecmp(kw, ehlo_names[i].name, n) == 0)
			return ehlo_names[i].mask;
	return 0;
}

void
ehlo_mask_str(int mask, struct str *out)
{
	str_reset(out);
	for (size_t i = 0; i < EHLO_NAMES; i++)
		if (mask & ehlo_names[i].mask)
			str_catfmt(out, "%s%s", str_len(out) ? " " : "",
			    ehlo_names[i].logged);
}
