/*
 * smtpd_addr - the address in MAIL FROM:/RCPT TO: as smtpd parses it.
 * Faces the network; fails closed.
 */
#include <stdbool.h>
#include <string.h>

#include "lib/util/str.h"
#include "lib/mail/addr.h"
#include "smtpd/smtpd.h"

/*
 * The address in "FROM:<addr> params" / "TO:<addr> params": 0 with the
 * address (internal form) and the rest, -1 on bad address syntax, -2
 * when there is no address at all.  Fails closed:
 * white space, control characters and unbalanced brackets are refused.
 */
int
smtpd_parse_addr(const char *arg, struct str *addr, const char **rest)
{
	const char *cp = arg, *start, *end;
	bool quoted = false, bracket;
	struct str *ext = str_new(100);

	while (*cp == ' ' || *cp == '\t')
		cp++;
	if (*cp == 0)
		goto bad_syntax;
	bracket = (*cp == '<');
	if (bracket)
		cp++;
	start = cp;
	for (; *cp; cp++) {
		if (quoted) {
			if (*cp == '\\' && cp[1])
				cp++;
			else if (*cp == '"')
				quoted = false;
			else if ((unsigned char)*cp < 32 || *cp == 127)
				break;
			continue;
		}
		if (*cp == '"')
			quoted = true;
		else if (bracket && *cp == '>')
			break;
		else if (*cp == ' ' || *cp == '\t')
			break;
		else if ((unsigned char)*cp < 32 || *cp == 127 || *cp == '<' ||
			 *cp == '>' || *cp == '(' || *cp == ')' || *cp == ',' ||
			 *cp == ';' || *cp == '\\')
			goto bad;
	}
	end = cp;
	if (quoted || (bracket && *cp != '>'))
		goto bad;
	if (bracket)
		cp++;
	if (*cp && *cp != ' ' && *cp != '\t')
		goto bad;
	/* Drop a source route "@a,@b:" */
	if (*start == '@') {
		const char *colon = memchr(start, ':', (size_t)(end - start));

		if (colon == NULL)
			goto bad;
		start = colon + 1;
	}
	str_setn(ext, start, (size_t)(end - start));
	if (str_len(ext) > 0) {
		const char *at = strrchr(str_ptr(ext), '@');

		if (str_ptr(ext)[0] == '@' || (at && at[1] == 0) ||
		    (at && strchr(at + 1, '"')))
			goto bad;
	}
	addr_internalize(addr, str_ptr(ext));
	while (*cp == ' ' || *cp == '\t')
		cp++;
	*rest = cp;
	str_free(ext);
	return 0;
bad:
	str_free(ext);
	return -1;
bad_syntax:
	str_free(ext);
	return -2;
}
