/*
 * lline - read logical lines from configuration and table source files.
 *
 * A line whose first non-blank byte is '#' is a comment, blank lines are
 * skipped, and a line that starts with white space continues the previous
 * logical line (joined without the newline, its white space kept), as in
 * main.cf, master.cf and postmap/postalias sources.
 *
 * lline_open(l, fp, path, limit)  start reading fp; physical lines longer than
 *                                 limit bytes are errors
 * lline_read(l, buf)              next logical line into buf: 1 got one, 0 end of
 *                                 file, -1 error (l->why says what; the line is
 *                                 skipped and reading may go on)
 * l->lineno                       the line number where the last logical line began
 * l->has_nul                      the logical line contained a NUL byte
 * l->leading_ws                   the logical line began with white space (nothing
 *                                 before it to continue)
 */
#ifndef LLINE_H
#define LLINE_H

#include <stdbool.h>
#include <stdio.h>

#include "lib/util/str.h"

struct lline {
	FILE *fp;
	const char *path;
	size_t limit;
	int lineno;
	int next_lineno;
	bool has_nul;
	bool leading_ws;
	struct str *pending;	/* physical line read ahead */
	bool have_pending;
	bool pending_nul;
	struct str *why;
};

void lline_open(struct lline *, FILE *, const char *, size_t);
int lline_read(struct lline *, struct str *) __attribute__((warn_unused_result));
void lline_close(struct lline *);

#endif
