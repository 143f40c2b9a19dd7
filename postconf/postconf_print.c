/*
 * postconf_print - print "name = value" lines as Postfix's postconf does.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/util/str.h"
#include "postconf/postconf.h"

#define PC_SEPARATORS " \t\r\n"

/*
 * Postfix normalizes the white space between words (so a continued main.cf
 * value prints on one line, and "name = " prints as "name =") and, with -f,
 * starts a new line indented by four spaces before a word that would reach
 * column 80.
 */
void
pc_print_line(int mode, const char *fmt, ...)
{
	static struct str *buf;
	const char *start;
	size_t word_len, line_len = 0;
	va_list ap;

	if (buf == NULL)
		buf = str_new(200);
	str_reset(buf);
	va_start(ap, fmt);
	str_vcatfmt(buf, fmt, ap);
	va_end(ap);
	for (start = str_ptr(buf);; start += word_len) {
		start += strspn(start, PC_SEPARATORS);
		if (*start == 0)
			break;
		word_len = strcspn(start, PC_SEPARATORS);
		if (line_len > 0) {
			if ((mode & PC_FOLD_LINE) == 0 ||
			    line_len + word_len < PC_LINE_LIMIT) {
				fputc(' ', stdout);
				line_len += 1;
			} else {
				fputs("\n" PC_INDENT_TEXT, stdout);
				line_len = PC_INDENT_LEN;
			}
		}
		fwrite(start, 1, word_len, stdout);
		line_len += word_len;
	}
	fputc('\n', stdout);
}

/* Warnings go to stderr after the output they are about, as in Postfix. */
void
pc_flush(void)
{
	fflush(stdout);
}
