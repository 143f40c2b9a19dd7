/*
 * dict_pcre - pcre: tables on PCRE2, with pcre_table(5) syntax.
 *
 * Flags after the pattern, as Postfix 3.7: i (toggles case-insensitive
 * matching, which is on by default), m, s, x, A, E, U; X is obsolete and
 * ignored with a warning.  The file format and $n substitution are in
 * dict_pattern.c.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <stdlib.h>

#include <pcre2.h>

#include "lib/util/alloc.h"
#include "lib/util/dict.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"

struct pcre_re {
	pcre2_code *code;
	pcre2_match_data *md;
};

static int
dict_pcre_flags(const char *map, int lineno, const char *s, int *flags)
{
	uint32_t f = PCRE2_CASELESS;

	for (; *s; s++) {
		switch (*s) {
		case 'i':
			f ^= PCRE2_CASELESS;
			break;
		case 'm':
			f |= PCRE2_MULTILINE;
			break;
		case 's':
			f |= PCRE2_DOTALL;
			break;
		case 'x':
			f |= PCRE2_EXTENDED;
			break;
		case 'A':
			f |= PCRE2_ANCHORED;
			break;
		case 'E':
			f |= PCRE2_DOLLAR_ENDONLY;
			break;
		case 'U':
			f |= PCRE2_UNGREEDY;
			break;
		case 'X':
			msg_warn(
			    "pcre map %s, line %d: ignoring obsolete regexp option \"%c\"",
			    map, lineno, *s);
			break;
		default:
			msg_warn(
			    "pcre map %s, line %d: unknown regexp option \"%c\": skipping this rule",
			    map, lineno, *s);
			return -1;
		}
	}
	*flags = (int)f;
	return 0;
}

static void *
dict_pcre_compile(const char *map, int lineno, const char *pat, int flags,
    int *nsub)
{
	struct pcre_re *re;
	pcre2_code *code;
	PCRE2_SIZE offset;
	PCRE2_UCHAR msg[256];
	uint32_t count;
	int err;

	code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
	    (uint32_t)flags, &err, &offset, NULL);
	if (code == NULL) {
		if (pcre2_get_error_message(err, msg, sizeof(msg)) < 0)
			msg[0] = 0;
		msg_warn(
		    "pcre map %s, line %d: error in regex at offset %zu: %s",
		    map, lineno, (size_t)offset, (char *)msg);
		return NULL;
	}
	if (pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &count) != 0)
		count = 0;
	re = xmalloc(sizeof(*re));
	re->code = code;
	re->md = pcre2_match_data_create_from_pattern(code, NULL);
	if (re->md == NULL)
		msg_fatal("pcre map %s, line %d: out of memory", map, lineno);
	*nsub = (int)count;
	return re;
}

static int
dict_pcre_match(void *ptr, const char *key, long *ovec, int nvec)
{
	struct pcre_re *re = ptr;
	PCRE2_SIZE *ov;
	uint32_t n;
	int rc;

	rc = pcre2_match(re->code, (PCRE2_SPTR)key, PCRE2_ZERO_TERMINATED, 0, 0,
	    re->md, NULL);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0)
		return -1;
	ov = pcre2_get_ovector_pointer(re->md);
	n = pcre2_get_ovector_count(re->md);
	for (int i = 0; i < nvec && (uint32_t)i < n; i++) {
		if (ov[2 * i] == PCRE2_UNSET || (rc > 0 && i >= rc))
			continue;
		ovec[2 * i] = (long)ov[2 * i];
		ovec[2 * i + 1] = (long)ov[2 * i + 1];
	}
	return 1;
}

static void
dict_pcre_free(void *ptr)
{
	struct pcre_re *re = ptr;

	if (re == NULL)
		return;
	pcre2_match_data_free(re->md);
	pcre2_code_free(re->code);
	free(re);
}

static const struct dict_pattern_ops dict_pcre_ops = {
	.type = "pcre",
	.no_delim = "ignoring",
	.bad_index = "out of range",
	.parse_flags = dict_pcre_flags,
	.compile = dict_pcre_compile,
	.match = dict_pcre_match,
	.free = dict_pcre_free,
};

struct dict *
dict_pcre_open(const char *name, int open_flags, int dict_flags,
    struct str *why)
{
	return dict_pattern_open(&dict_pcre_ops, name, open_flags, dict_flags,
	    why);
}
