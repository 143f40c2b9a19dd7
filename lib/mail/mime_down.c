/*
 * mime_down - the 8BITMIME downgrade: mime.c finds the structure (header
 * blocks, boundaries, attached messages), this file rewrites the
 * Content-Transfer-Encoding labels and encodes the bodies they covered.
 * See mime_down.h for the rules and where they come from.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/alloc.h"
#include "lib/util/str.h"
#include "lib/mail/mime.h"
#include "lib/mail/mime_down.h"
#include "lib/mail/record.h"

/* Quoted-printable output lines end with a soft break past this length. */
#define QP_LINE_SOFT 72

struct mime_down {
	struct mime *mime;
	mime_down_out_fn *out;
	void *ctx;
	int err;
	/* The header block being read. */
	bool composite; /* multipart/ * or message/ * */
	bool eightbit;  /* labelled 8bit or binary */
	/* The body being written. */
	bool qp;         /* encode it */
	struct str *buf; /* the output line being built */
};

static void
down_out(struct mime_down *d, int type, const char *p, size_t n)
{
	if (d->err == 0 && d->out(d->ctx, type, p, n) < 0)
		d->err = -1;
}

/*
 * The first word of a header value: RFC 2045 token characters after
 * white space and comments, up to len bytes; "" when there is none.
 */
static void
down_value_word(const char *v, const char *end, struct str *word)
{
	str_reset(word);
	for (;;) {
		while (v < end && (*v == ' ' || *v == '\t' || *v == '\n'))
			v++;
		if (v >= end || *v != '(')
			break;
		for (int level = 0; v < end; v++) {
			if (*v == '\\' && v + 1 < end)
				v++;
			else if (*v == '(')
				level++;
			else if (*v == ')' && --level == 0) {
				v++;
				break;
			}
		}
	}
	while (v < end && (unsigned char)*v > ' ' && (unsigned char)*v < 127 &&
	       strchr("()<>@,;:\\\"/[]?=", *v) == NULL)
		str_catc(word, *v++);
}

static void
down_header(void *ctx, int class, const char *text, size_t len)
{
	struct mime_down *d = ctx;
	const char *colon = memchr(text, ':', len), *line = text;
	const char *end = text + len;
	struct str *word;

	(void)class;
	if (colon != NULL &&
	    (mime_header_is(text, "Content-Type") ||
		mime_header_is(text, "Content-Transfer-Encoding"))) {
		word = str_new(20);
		down_value_word(colon + 1, end, word);
		if (mime_header_is(text, "Content-Type")) {
			d->composite =
			    strcasecmp(str_ptr(word), "multipart") == 0 ||
			    strcasecmp(str_ptr(word), "message") == 0;
		} else if (strcasecmp(str_ptr(word), "8bit") == 0 ||
			   strcasecmp(str_ptr(word), "binary") == 0) {
			d->eightbit = true;
		} else if (strcasecmp(str_ptr(word), "7bit") == 0 ||
			   strcasecmp(str_ptr(word), "quoted-printable") == 0 ||
			   strcasecmp(str_ptr(word), "base64") == 0) {
			d->eightbit = false;
		}
		str_free(word);
		/* The label is replaced at the end of the block. */
		if (d->eightbit && !mime_header_is(text, "Content-Type"))
			return;
	}
	/* Continuation lines as they came, one record each. */
	while (line <= end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);

		down_out(d, REC_TYPE_NORM, line, n);
		if (nl == NULL)
			break;
		line = nl + 1;
	}
}

static void
down_block_end(void *ctx, int class)
{
	struct mime_down *d = ctx;

	(void)class;
	if (d->eightbit) {
		const char *h = d->composite ? "Content-Transfer-Encoding: 7bit"
					     : "Content-Transfer-Encoding: "
					       "quoted-printable";

		down_out(d, REC_TYPE_NORM, h, strlen(h));
	}
	d->qp = d->eightbit && !d->composite;
	/* An attached message's headers may follow: they start afresh. */
	d->composite = d->eightbit = false;
}

static void
down_boundary(void *ctx, bool closing)
{
	struct mime_down *d = ctx;

	(void)closing;
	d->qp = false;
	d->composite = d->eightbit = false;
}

static void
down_qp_char(struct str *buf, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";

	if ((c < 32 && c != '\t') || c == '=' || c > 126) {
		str_catc(buf, '=');
		str_catc(buf, hex[c >> 4]);
		str_catc(buf, hex[c & 0xf]);
	} else {
		str_catc(buf, (char)c);
	}
}

static void
down_body(void *ctx, int type, const char *p, size_t n)
{
	struct mime_down *d = ctx;
	size_t len;

	if (!d->qp) {
		down_out(d, type, p, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (str_len(d->buf) > QP_LINE_SOFT) {
			str_catc(d->buf, '=');
			down_out(d, REC_TYPE_NORM, str_ptr(d->buf),
			    str_len(d->buf));
			str_reset(d->buf);
		}
		down_qp_char(d->buf, (unsigned char)p[i]);
	}
	if (type != REC_TYPE_NORM)
		return;
	/* RFC 2045 6.7 (3): white space must not end an encoded line. */
	len = str_len(d->buf);
	if (len > 0 && (str_ptr(d->buf)[len - 1] == ' ' ||
			   str_ptr(d->buf)[len - 1] == '\t')) {
		unsigned char c = (unsigned char)str_ptr(d->buf)[len - 1];

		str_truncate(d->buf, len - 1);
		str_catfmt(d->buf, "=%02X", c);
	}
	down_out(d, REC_TYPE_NORM, str_ptr(d->buf), str_len(d->buf));
	str_reset(d->buf);
}

struct mime_down *
mime_down_new(mime_down_out_fn *out, void *ctx)
{
	static const struct mime_callbacks cb = {
		.header = down_header,
		.body = down_body,
		.block_end = down_block_end,
		.boundary = down_boundary,
	};
	struct mime_down *d = xcalloc(1, sizeof(*d));

	d->out = out;
	d->ctx = ctx;
	d->buf = str_new(80);
	d->mime = mime_new(&cb, d, 0);
	return d;
}

int
mime_down_update(struct mime_down *d, int type, const char *p, size_t n)
{
	if (d->err == 0)
		(void)mime_update(d->mime, type, p, n);
	return d->err;
}

int
mime_down_finish(struct mime_down *d)
{
	if (d->err == 0)
		(void)mime_finish(d->mime);
	return d->err;
}

struct mime_down *
mime_down_free(struct mime_down *d)
{
	if (d == NULL)
		return NULL;
	mime_free(d->mime);
	str_free(d->buf);
	free(d);
	return NULL;
}
