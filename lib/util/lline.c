/*
 * lline - logical line reader with a physical line length limit.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "lib/util/lline.h"
#include "lib/util/str.h"

void
lline_open(struct lline *l, FILE *fp, const char *path, size_t limit)
{
	memset(l, 0, sizeof(*l));
	l->fp = fp;
	l->path = path;
	l->limit = limit;
	l->pending = str_new(100);
	l->why = str_new(100);
}

void
lline_close(struct lline *l)
{
	l->pending = str_free(l->pending);
	l->why = str_free(l->why);
}

/*
 * Read one physical line without its newline.  Returns 1, 0 at end of
 * file, -1 when the line is longer than the limit (the rest is skipped).
 */
static int
lline_physical(struct lline *l, struct str *buf, bool *nul)
{
	int c;
	bool any = false, toolong = false;

	str_reset(buf);
	*nul = false;
	while ((c = getc(l->fp)) != EOF) {
		any = true;
		if (c == '\n')
			break;
		if (toolong)
			continue;
		if (c == 0)
			*nul = true;
		if (str_len(buf) >= l->limit) {
			toolong = true;
			continue;
		}
		str_catc(buf, c);
	}
	if (!any)
		return 0;
	l->next_lineno++;
	/* Tolerate CRLF files as Postfix does not: keep the CR out of values. */
	if (str_len(buf) && str_ptr(buf)[str_len(buf) - 1] == '\r')
		str_truncate(buf, str_len(buf) - 1);
	return toolong ? -1 : 1;
}

static bool
lline_is_skip(const struct str *s)
{
	const char *p = str_ptr(s);

	while (isspace((unsigned char)*p))
		p++;
	return *p == 0 || *p == '#';
}

int
lline_read(struct lline *l, struct str *out)
{
	int rc;
	bool nul;

	str_reset(out);
	l->has_nul = l->leading_ws = false;
	/* Find the first physical line of the next logical line. */
	for (;;) {
		if (l->have_pending) {
			l->have_pending = false;
			str_setn(out, str_ptr(l->pending), str_len(l->pending));
			nul = l->pending_nul;
			rc = 1;
		} else if ((rc = lline_physical(l, out, &nul)) <= 0) {
			if (rc < 0) {
				l->lineno = l->next_lineno;
				str_fmt(l->why, "%s, line %d: line too long (more than %zu bytes)",
				    l->path, l->lineno, l->limit);
				return -1;
			}
			return 0;
		}
		if (!lline_is_skip(out))
			break;
	}
	l->lineno = l->next_lineno;
	l->has_nul = nul;
	l->leading_ws = isspace((unsigned char)str_ptr(out)[0]);
	/* Append continuation lines; skip comments and blank lines between. */
	for (;;) {
		rc = lline_physical(l, l->pending, &nul);
		if (rc == 0)
			return 1;
		if (rc < 0) {
			str_fmt(l->why, "%s, line %d: line too long (more than %zu bytes)",
			    l->path, l->next_lineno, l->limit);
			return -1;
		}
		if (lline_is_skip(l->pending))
			continue;
		if (!isspace((unsigned char)str_ptr(l->pending)[0])) {
			l->have_pending = true;
			l->pending_nul = nul;
			return 1;
		}
		if (str_len(out) + str_len(l->pending) > l->limit) {
			str_fmt(l->why, "%s, line %d: logical line too long (more than %zu bytes)",
			    l->path, l->lineno, l->limit);
			return -1;
		}
		l->has_nul |= nul;
		str_catn(out, str_ptr(l->pending), str_len(l->pending));
	}
}
