/*
 * hostname - host name syntax (see hostname.h).
 */
#include <stdbool.h>
#include <string.h>

#include "lib/util/hostname.h"

bool
valid_hostname(const char *name)
{
	const char *cp;
	size_t label = 0;
	bool numeric = true;

	if (*name == 0 || strlen(name) > HOSTNAME_MAX)
		return false;
	for (cp = name; *cp; cp++) {
		unsigned char c = (unsigned char)*cp;

		if (c == '.') {
			if (label == 0 || cp[-1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (++label > 63)
			return false;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_') {
			numeric = false;
		} else if (c == '-') {
			numeric = false;
			if (label == 1)
				return false;
		} else if (c < '0' || c > '9') {
			return false;
		}
	}
	if (label == 0 || cp[-1] == '-')
		return false;
	return !numeric;
}
