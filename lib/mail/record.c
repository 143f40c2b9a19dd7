/*
 * record - typed, length-prefixed records (see record.h for the encoding).
 *
 * The reader trusts nothing: the length is checked against the caller's
 * limit before a byte of data is stored, a length longer than five bytes
 * ends the read, and a failed read leaves buf empty.
 */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/record.h"

#define REC_LEN_BYTES 5 /* 35 bits; the fifth byte may hold 4 of them */

/*
 * postcat's names, as Postfix 3.7's postcat prints them (observed).  'd'
 * is reserved in our table but Postfix has no name for it, so postcat shows
 * it as Postfix does.  'L' is content_filter here; in the content segment
 * postcat calls it unterminated_text itself.
 */
static const struct {
	int type;
	const char *name;
} rec_names[] = {
	{ REC_TYPE_VERSION, "queue_file_format" },
	{ REC_TYPE_SIZE, "message_size" },
	{ REC_TYPE_TIME, "message_arrival_time" },
	{ REC_TYPE_FULL, "sender_fullname" },
	{ REC_TYPE_FILT, "content_filter" },
	{ REC_TYPE_FROM, "sender" },
	{ REC_TYPE_DONE, "done_recipient" },
	{ REC_TYPE_RCPT, "recipient" },
	{ REC_TYPE_ORCP, "original_recipient" },
	{ REC_TYPE_DRCP, "canceled_recipient" },
	{ REC_TYPE_WARN, "warning_message_time" },
	{ REC_TYPE_ATTR, "named_attribute" },
	{ REC_TYPE_KILL, "killed_record" },
	{ REC_TYPE_RDR, "redirect_to" },
	{ REC_TYPE_FLGS, "flags" },
	{ REC_TYPE_DELAY, "unknown_record_type" },
	{ REC_TYPE_VERP, "verp_delimiters" },
	{ REC_TYPE_DSN_RET, "dsn_return_flags" },
	{ REC_TYPE_DSN_ENVID, "dsn_envelope_id" },
	{ REC_TYPE_DSN_ORCPT, "dsn_original_recipient" },
	{ REC_TYPE_DSN_NOTIFY, "dsn_notify_flags" },
	{ REC_TYPE_MESG, "message_content" },
	{ REC_TYPE_NORM, "regular_text" },
	{ REC_TYPE_XTRA, "extracted_info" },
	{ REC_TYPE_RRTO, "return_receipt" },
	{ REC_TYPE_ERTO, "errors_to" },
	{ REC_TYPE_PRIO, "priority" },
	{ REC_TYPE_END, "message_end" },
};

const char *
rec_name(int type)
{
	for (size_t i = 0; i < sizeof(rec_names) / sizeof(rec_names[0]); i++)
		if (rec_names[i].type == type)
			return rec_names[i].name;
	return NULL;
}

bool
rec_type_ok(int type)
{
	return rec_name(type) != NULL;
}

size_t
rec_size(size_t len)
{
	size_t n = 1 + 1;

	for (size_t v = len >> 7; v != 0; v >>= 7)
		n++;
	return n + len;
}

/* The type byte and length of a record into hdr; returns their size. */
static size_t
rec_header(unsigned char *hdr, int type, size_t len)
{
	size_t n = 0, v = len;

	if (!rec_type_ok(type))
		msg_panic("rec_put: bad record type %d", type);
	if (len > UINT32_MAX)
		msg_panic("rec_put: record length %zu", len);
	hdr[n++] = (unsigned char)type;
	do {
		hdr[n] = v & 0x7f;
		v >>= 7;
		if (v != 0)
			hdr[n] |= 0x80;
		n++;
	} while (v != 0);
	return n;
}

int
rec_put(struct stream *st, int type, const void *data, size_t len)
{
	unsigned char hdr[1 + REC_LEN_BYTES];
	size_t n = rec_header(hdr, type, len);

	if (stream_write(st, hdr, n) < 0 || stream_write(st, data, len) < 0)
		return -1;
	return 0;
}

void
rec_cat(struct str *out, int type, const void *data, size_t len)
{
	unsigned char hdr[1 + REC_LEN_BYTES];
	size_t n = rec_header(hdr, type, len);

	str_catn(out, hdr, n);
	str_catn(out, data, len);
}

int
rec_puts(struct stream *st, int type, const char *s)
{
	return rec_put(st, type, s, strlen(s));
}

int
rec_fmt(struct stream *st, int type, const char *fmt, ...)
{
	struct str *buf = str_new(100);
	va_list ap;
	int rc;

	va_start(ap, fmt);
	str_vcatfmt(buf, fmt, ap);
	va_end(ap);
	rc = rec_put(st, type, str_ptr(buf), str_len(buf));
	str_free(buf);
	return rc;
}

/* One byte: 1, 0 at end of input, -1 on an error or timeout. */
static int
rec_byte(struct stream *st, unsigned char *c)
{
	ssize_t n = stream_read(st, c, 1);

	return n < 0 ? -1 : (int)n;
}

int
rec_get_meta(struct stream *st, struct str *buf, size_t limit,
    struct rec_meta *meta)
{
	struct rec_meta m = { 0, 0, 0 };
	unsigned char c;
	char chunk[4096];
	uint64_t len = 0;
	ssize_t got;
	int r, rc;

	str_reset(buf);
	if ((r = rec_byte(st, &c)) <= 0) {
		rc = r == 0 ? REC_EOF : REC_ERROR;
		goto out;
	}
	m.type = c;
	m.bytes = 1;
	if (!rec_type_ok(m.type)) {
		rc = REC_BADTYPE;
		goto out;
	}
	for (int shift = 0;; shift += 7) {
		if (shift >= 7 * REC_LEN_BYTES) {
			rc = REC_TOOLONG; /* too many length bytes */
			goto out;
		}
		if ((r = rec_byte(st, &c)) <= 0) {
			rc = r == 0 ? REC_TRUNC : REC_ERROR;
			goto out;
		}
		m.bytes++;
		len |= (uint64_t)(c & 0x7f) << shift;
		if ((c & 0x80) == 0)
			break;
	}
	m.len = len;
	if (len > UINT32_MAX || len > limit) {
		rc = REC_TOOLONG;
		goto out;
	}
	while (str_len(buf) < len) {
		size_t want = len - str_len(buf);

		if (want > sizeof(chunk))
			want = sizeof(chunk);
		if ((got = stream_read(st, chunk, want)) <= 0) {
			rc = got == 0 ? REC_TRUNC : REC_ERROR;
			goto out;
		}
		str_catn(buf, chunk, (size_t)got);
		m.bytes += (size_t)got;
	}
	rc = m.type;
out:
	if (rc < 0)
		str_reset(buf);
	if (meta != NULL)
		*meta = m;
	return rc;
}

int
rec_get(struct stream *st, struct str *buf, size_t limit)
{
	return rec_get_meta(st, buf, limit, NULL);
}
