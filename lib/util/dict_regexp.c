/*
 * dict_regexp - regexp: tables on POSIX regcomp(3), regexp_table(5).
 *
 * Patterns are extended regular expressions matched case-insensitively;
 * the flags after the pattern toggle that, as Postfix 3.7: i (REG_ICASE),
 * x (REG_EXTENDED: x gives basic syntax), m (REG_NEWLINE).  The file
 * format and $n substitution are in dict_pattern.c.
 */
#include <sys/types.h>
#include <regex.h>
#include <stdlib.h>

#include "lib/util/alloc.h"
#include "lib/util/dict.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"

struct regexp_re {
	regex_t re;
	regmatch_t *pm;
	size_t npm;
};

static int
dict_regexp_flags(const char *map, int lineno, const char *s, int *flags)
{
	int f = REG_EXTENDED | REG_ICASE;

	for (; *s; s++) {
		switch (*s) {
		case 'i':
			f ^= REG_ICASE;
			break;
		case 'x':
			f ^= REG_EXTENDED;
			break;
		case 'm':
			f ^= REG_NEWLINE;
			break;
		default:
			msg_warn(
			    "regexp map %s, line %d: unknown regexp option \"%c\": skipping this rule",
			    map, lineno, *s);
			return -1;
		}
	}
	*flags = f;
	return 0;
}

static void *
dict_regexp_compile(const char *map, int lineno, const char *pat, int flags,
    int *nsub)
{
	struct regexp_re *re = xmalloc(sizeof(*re));
	char msg[256];
	int err;

	if ((err = regcomp(&re->re, pat, flags)) != 0) {
		(void)regerror(err, &re->re, msg, sizeof(msg));
		msg_warn("regexp map %s, line %d: %s", map, lineno, msg);
		free(re);
		return NULL;
	}
	re->npm = re->re.re_nsub + 1;
	re->pm = xreallocarray(NULL, re->npm, sizeof(*re->pm));
	*nsub = (int)re->re.re_nsub;
	return re;
}

static int
dict_regexp_match(void *ptr, const char *key, long *ovec, int nvec)
{
	struct regexp_re *re = ptr;
	int rc;

	rc = regexec(&re->re, key, re->npm, re->pm, 0);
	if (rc == REG_NOMATCH)
		return 0;
	if (rc != 0)
		return -1;
	for (size_t i = 0; i < re->npm && i < (size_t)nvec; i++) {
		if (re->pm[i].rm_so < 0)
			continue;
		ovec[2 * i] = (long)re->pm[i].rm_so;
		ovec[2 * i + 1] = (long)re->pm[i].rm_eo;
	}
	return 1;
}

static void
dict_regexp_free(void *ptr)
{
	struct regexp_re *re = ptr;

	if (re == NULL)
		return;
	regfree(&re->re);
	free(re->pm);
	free(re);
}

static const struct dict_pattern_ops dict_regexp_ops = {
	.type = "regexp",
	.no_delim = "skipping",
	.bad_index = "out-of-range",
	.parse_flags = dict_regexp_flags,
	.compile = dict_regexp_compile,
	.match = dict_regexp_match,
	.free = dict_regexp_free,
};

struct dict *
dict_regexp_open(const char *name, int open_flags, int dict_flags,
    struct str *why)
{
	return dict_pattern_open(&dict_regexp_ops, name, open_flags, dict_flags,
	    why);
}
