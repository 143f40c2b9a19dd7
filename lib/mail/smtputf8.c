/*
 * smtputf8 - SMTPUTF8 bits and autodetection classes (see smtputf8.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/alloc.h"
#include "lib/mail/params.h"
#include "lib/mail/smtputf8.h"

bool
smtputf8_autodetect(const char *class)
{
	char *copy, *cp, *word;
	bool found = false;

	if (!var_smtputf8_enable)
		return false;
	copy = cp = xstrdup(var_smtputf8_autodetect_classes);
	while (!found && (word = strsep(&cp, " \t\r\n,")) != NULL)
		found = *word && (strcasecmp(word, class) == 0 ||
				     strcasecmp(word, "all") == 0);
	free(copy);
	return found;
}

/* Any octet outside ASCII? */
bool
smtputf8_8bit(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] & 0x80)
			return true;
	return false;
}
