/*
 * mime - the line-driven message structure parser that cleanup runs its
 * header and body checks on.  The states and their transitions follow
 * Postfix's behaviour as observed with its cleanup daemon: see mime.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "lib/mail/mime.h"

/* Where the next line goes. */
enum mime_state {
	ST_PRIMARY = MIME_CLASS_PRIMARY,     /* message headers */
	ST_MULTIPART = MIME_CLASS_MULTIPART, /* headers of a body part */
	ST_NESTED = MIME_CLASS_NESTED,       /* headers of message/rfc822 */
	ST_BODY,                             /* body text */
};

/* What the current header block announced with Content-Type. */
enum mime_ctype {
	CT_TEXT,      /* text/ *, or the default */
	CT_MESSAGE,   /* message/rfc822, message/global: headers follow */
	CT_MULTIPART, /* multipart/ *: boundaries follow */
	CT_OTHER,     /* anything else, message/partial ... */
};

/* One multipart level. */
struct mime_frame {
	char *boundary; /* at most mime_boundary_length_limit bytes */
	size_t len;
	enum mime_ctype part_ctype; /* a part's default: digest -> message */
};

struct mime {
	struct mime_callbacks cb;
	void *ctx;
	int flags;
	enum mime_state state;
	enum mime_ctype ctype;
	int prev_type;   /* the last record's type; 0 after a header flush */
	struct str *hdr; /* the logical header being assembled */
	struct mime_frame *stack;
	size_t depth, cap;
	int errs;
	bool finished;
};

/* Postfix's header_opts table: the names cleanup treats specially. */
static const struct {
	const char *name;
	int opts;
} mime_hopts[] = {
	{ "Apparently-To", MIME_HOPT_RECIPIENT },
	{ "Bcc", MIME_HOPT_RECIPIENT },
	{ "Cc", MIME_HOPT_RECIPIENT },
	{ "Content-Description", MIME_HOPT_MIME },
	{ "Content-Disposition", MIME_HOPT_MIME },
	{ "Content-ID", MIME_HOPT_MIME },
	{ "Content-Transfer-Encoding", MIME_HOPT_MIME },
	{ "Content-Type", MIME_HOPT_MIME },
	{ "Disposition-Notification-To", MIME_HOPT_SENDER },
	{ "Errors-To", MIME_HOPT_SENDER },
	{ "From", MIME_HOPT_SENDER },
	{ "Mail-Followup-To", MIME_HOPT_SENDER },
	{ "MIME-Version", MIME_HOPT_MIME },
	{ "Reply-To", MIME_HOPT_SENDER },
	{ "Resent-Bcc", MIME_HOPT_RECIPIENT | MIME_HOPT_RESENT },
	{ "Resent-Cc", MIME_HOPT_RECIPIENT | MIME_HOPT_RESENT },
	{ "Resent-Date", MIME_HOPT_RESENT },
	{ "Resent-From", MIME_HOPT_SENDER | MIME_HOPT_RESENT },
	{ "Resent-Message-Id", MIME_HOPT_RESENT },
	/* Postfix's table says recipient here, unlike Reply-To. */
	{ "Resent-Reply-To", MIME_HOPT_RECIPIENT | MIME_HOPT_RESENT },
	{ "Resent-Sender", MIME_HOPT_SENDER | MIME_HOPT_RESENT },
	{ "Resent-To", MIME_HOPT_RECIPIENT | MIME_HOPT_RESENT },
	{ "Return-Path", MIME_HOPT_SENDER },
	{ "Return-Receipt-To", MIME_HOPT_SENDER },
	{ "Sender", MIME_HOPT_SENDER },
	{ "To", MIME_HOPT_RECIPIENT },
};

/* Most serious first: mime_error_text() names the first bit set. */
static const struct {
	int bit;
	const char *text;
} mime_errors[] = {
	{ MIME_ERR_NESTING, "MIME nesting exceeds safety limit" },
	{ MIME_ERR_TRUNC_HEADER, "message header length exceeds safety limit" },
	{ MIME_ERR_8BIT_IN_HEADER,
	    "improper use of 8-bit data in message header" },
};

#define IS_SPACE_TAB(c) ((c) == ' ' || (c) == '\t')

/*
 * The length of the header name at the start of p[0..n), or 0 when the
 * line is not a header: printable ASCII other than the colon, then
 * optional blanks (RFC 5322 4.5 obsolete syntax), then the colon.
 */
static size_t
header_name_len(const char *p, size_t n)
{
	size_t i = 0, name = 0;

	while (i < n) {
		unsigned char c = (unsigned char)p[i];

		if (c == ':')
			return name;
		if (IS_SPACE_TAB(c)) {
			if (name == 0)
				return 0;
			i++;
			continue;
		}
		if (c <= ' ' || c >= 127 || name != i)
			return 0;
		name = ++i;
	}
	return 0;
}

const char *
mime_header_name(const char *h, size_t *len)
{
	size_t n = header_name_len(h, strlen(h));

	if (n == 0)
		return NULL;
	if (len)
		*len = n;
	return h;
}

bool
mime_header_is(const char *h, const char *name)
{
	size_t n = header_name_len(h, strlen(h));

	return n > 0 && n == strlen(name) && strncasecmp(h, name, n) == 0;
}

int
mime_header_opts(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(mime_hopts) / sizeof(mime_hopts[0]); i++)
		if (strlen(mime_hopts[i].name) == len &&
		    strncasecmp(mime_hopts[i].name, name, len) == 0)
			return mime_hopts[i].opts;
	return 0;
}

const char *
mime_error_text(int bits)
{
	for (size_t i = 0; i < sizeof(mime_errors) / sizeof(mime_errors[0]);
	     i++)
		if (bits & mime_errors[i].bit)
			return mime_errors[i].text;
	return NULL;
}

size_t
mime_header_cut(const char *text, size_t len, size_t limit)
{
	size_t line = 0;

	if (len <= limit)
		return len;
	for (;;) {
		const char *nl = memchr(text + line, '\n', len - line);
		size_t end = nl ? (size_t)(nl - text) : len;

		if (end > limit) {
			/* A nice cut at a line end when little is lost, else
			 * an unkind cut in the line, as Postfix's cleanup. */
			if ((double)line > 0.9 * (double)limit)
				return line - 1;
			return limit;
		}
		line = end + 1;
	}
}

/* Report an error kind once, with the text that shows it. */
static void
mime_error(struct mime *m, int bit, const char *text, size_t len)
{
	if (m->errs & bit)
		return;
	m->errs |= bit;
	if (m->cb.error)
		m->cb.error(m->ctx, bit, text, len);
}

struct mime *
mime_new(const struct mime_callbacks *cb, void *ctx, int flags)
{
	struct mime *m = xcalloc(1, sizeof(*m));

	if (cb)
		m->cb = *cb;
	m->ctx = ctx;
	m->flags = flags;
	m->state = ST_PRIMARY;
	m->ctype = CT_TEXT;
	m->hdr = str_new(100);
	return m;
}

static void
mime_pop(struct mime *m)
{
	if (m->depth == 0)
		msg_panic("mime_pop: empty stack");
	m->depth--;
	free(m->stack[m->depth].boundary);
}

struct mime *
mime_free(struct mime *m)
{
	if (m == NULL)
		return NULL;
	while (m->depth > 0)
		mime_pop(m);
	free(m->stack);
	str_free(m->hdr);
	free(m);
	return NULL;
}

/*
 * One RFC 2045 token of a Content-Type value: a run of token characters
 * (TOK_WORD), a quoted string without its quotes (TOK_QUOTED), or one
 * special character (its own value).  Comments and white space are
 * skipped.  Returns TOK_END at the end of the value, TOK_SEMI at ';'.
 */
#define TOK_END    (-1)
#define TOK_SEMI   ';'
#define TOK_WORD   256
#define TOK_QUOTED 257
#define TSPECIALS  "()<>@,;:\\\"/[]?="

static int
ct_token(const char **cpp, const char *end, struct str *val)
{
	const char *cp = *cpp;
	int type;

	str_reset(val);
	for (;;) {
		while (cp < end && (IS_SPACE_TAB(*cp) || *cp == '\n'))
			cp++;
		if (cp >= end) {
			*cpp = cp;
			return TOK_END;
		}
		if (*cp != '(')
			break;
		/* A comment, possibly nested, with quoted pairs. */
		for (int level = 0; cp < end; cp++) {
			if (*cp == '\\' && cp + 1 < end)
				cp++;
			else if (*cp == '(')
				level++;
			else if (*cp == ')' && --level == 0) {
				cp++;
				break;
			}
		}
	}
	if (*cp == '"') {
		for (cp++; cp < end && *cp != '"'; cp++) {
			if (*cp == '\\' && cp + 1 < end)
				cp++;
			str_catc(val, *cp);
		}
		if (cp < end)
			cp++;
		type = TOK_QUOTED;
	} else if (strchr(TSPECIALS, *cp) != NULL) {
		type = (unsigned char)*cp++;
	} else {
		while (cp < end && !IS_SPACE_TAB(*cp) && *cp != '\n' &&
		       strchr(TSPECIALS, *cp) == NULL)
			str_catc(val, *cp++);
		type = TOK_WORD;
	}
	*cpp = cp;
	return type;
}

/*
 * Up to three tokens of one ';'-separated segment (the rest of it is
 * skipped).  Returns the token count, or -1 at the end of the value.
 */
static int
ct_segment(const char **cpp, const char *end, int type[3], struct str *val[3])
{
	int count = 0, t;
	struct str *junk = str_new(10);

	while ((t = ct_token(cpp, end, count < 3 ? val[count] : junk)) !=
	       TOK_END) {
		if (t == TOK_SEMI)
			break;
		if (count < 3)
			type[count] = t;
		count++;
	}
	str_free(junk);
	if (t == TOK_END && count == 0)
		return -1;
	return count;
}

static bool
ct_word_is(int type, const struct str *val, const char *word)
{
	return type == TOK_WORD && strcasecmp(str_ptr(val), word) == 0;
}

static void
mime_push(struct mime *m, const char *boundary, size_t len,
    enum mime_ctype part_ctype)
{
	struct mime_frame *f;

	if (m->depth == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 4;
		m->stack = xreallocarray(m->stack, m->cap, sizeof(*m->stack));
	}
	/* Boundaries longer than the limit are kept in part: a line that
	 * starts with the stored prefix still matches. */
	if (len > (size_t)var_mime_boundary_length_limit)
		len = (size_t)var_mime_boundary_length_limit;
	f = &m->stack[m->depth++];
	f->boundary = xmalloc(len + 1);
	memcpy(f->boundary, boundary, len);
	f->boundary[len] = 0;
	f->len = len;
	f->part_ctype = part_ctype;
}

/*
 * Content-Type: the type of what follows this header block, and the
 * boundaries of a multipart.  Every boundary parameter is pushed, as in
 * Postfix, so that content hidden behind a duplicate is still found.
 */
static void
mime_content_type(struct mime *m, const char *value, const char *end)
{
	struct str *val[3] = { str_new(20), str_new(20), str_new(100) };
	int type[3];
	int count;
	enum mime_ctype part_ctype;

	if ((count = ct_segment(&value, end, type, val)) <= 0)
		goto out;
	if (ct_word_is(type[0], val[0], "text")) {
		m->ctype = CT_TEXT;
	} else if (ct_word_is(type[0], val[0], "message")) {
		m->ctype = count >= 3 && type[1] == '/' &&
				   (ct_word_is(type[2], val[2], "rfc822") ||
				       ct_word_is(type[2], val[2], "global"))
			       ? CT_MESSAGE
			       : CT_OTHER;
	} else if (ct_word_is(type[0], val[0], "multipart")) {
		m->ctype = CT_MULTIPART;
		part_ctype = count >= 3 && type[1] == '/' &&
				     ct_word_is(type[2], val[2], "digest")
				 ? CT_MESSAGE
				 : CT_TEXT;
		while ((count = ct_segment(&value, end, type, val)) >= 0) {
			if (count < 3 ||
			    !ct_word_is(type[0], val[0], "boundary") ||
			    type[1] != '=' ||
			    (type[2] != TOK_WORD && type[2] != TOK_QUOTED))
				continue;
			/* Postfix allows the stack to grow to the limit + 2. */
			if (m->depth > (size_t)var_mime_nesting_limit + 1)
				mime_error(m, MIME_ERR_NESTING, str_ptr(m->hdr),
				    str_len(m->hdr));
			else
				mime_push(m, str_ptr(val[2]), str_len(val[2]),
				    part_ctype);
		}
	} else {
		m->ctype = CT_OTHER;
	}
out:
	for (int i = 0; i < 3; i++)
		str_free(val[i]);
}

/* The assembled header is complete: interpret it and pass it on. */
static void
mime_flush_header(struct mime *m)
{
	const char *text = str_ptr(m->hdr);
	size_t len = str_len(m->hdr), name, cut;

	if (len == 0)
		return;
	name = header_name_len(text, len);
	if (!(m->flags & MIME_FLAG_DISABLE) && name == 12 &&
	    strncasecmp(text, "Content-Type", 12) == 0)
		mime_content_type(m, text + name + 1, text + len);
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)text[i] & 0x80) {
			mime_error(m, MIME_ERR_8BIT_IN_HEADER, text, len);
			break;
		}
	}
	cut = mime_header_cut(text, len, (size_t)var_header_size_limit);
	if (cut < len) {
		mime_error(m, MIME_ERR_TRUNC_HEADER, text, len);
		str_truncate(m->hdr, cut);
	}
	if (m->cb.header)
		m->cb.header(m->ctx, (int)m->state, str_ptr(m->hdr),
		    str_len(m->hdr));
	str_reset(m->hdr);
	m->prev_type = 0;
}

/* Add to the pending header, as long as it is below the limit. */
static void
mime_append(struct mime *m, bool newline, const char *p, size_t n)
{
	if (str_len(m->hdr) >= (size_t)var_header_size_limit) {
		mime_error(m, MIME_ERR_TRUNC_HEADER, str_ptr(m->hdr),
		    str_len(m->hdr));
		return;
	}
	if (newline)
		str_catc(m->hdr, '\n');
	str_catn(m->hdr, p, n);
}

static void
mime_body(struct mime *m, int type, const char *p, size_t n)
{
	if (m->cb.body)
		m->cb.body(m->ctx, type, p, n);
}

/*
 * A body line that starts with "--" and one of the open boundaries
 * closes the inner levels; "--boundary--" closes that level too,
 * otherwise a part's headers follow.  Trailing text is ignored, as in
 * Postfix (the stored boundary may be truncated).
 */
static void
mime_boundary(struct mime *m, const char *p, size_t n)
{
	for (size_t i = m->depth; i-- > 0;) {
		struct mime_frame *f = &m->stack[i];

		if (n < 2 + f->len || memcmp(p + 2, f->boundary, f->len) != 0)
			continue;
		while (m->depth > i + 1)
			mime_pop(m);
		if (m->cb.boundary)
			m->cb.boundary(m->ctx,
			    n >= 4 + f->len &&
				memcmp(p + 2 + f->len, "--", 2) == 0);
		if (n >= 4 + f->len && memcmp(p + 2 + f->len, "--", 2) == 0) {
			mime_pop(m);
			m->state = ST_BODY;
			m->ctype = CT_OTHER;
		} else {
			m->state = ST_MULTIPART;
			m->ctype = m->stack[i].part_ctype;
		}
		return;
	}
}

/* The line p[0..n) is not a header: the header block ends. */
static void
mime_header_block_end(struct mime *m, size_t n)
{
	if (m->state == ST_PRIMARY && m->cb.header_end)
		m->cb.header_end(m->ctx);
	if (m->cb.block_end)
		m->cb.block_end(m->ctx, (int)m->state);
	if (n > 0) {
		/* Postfix inserts the missing separator after the message
		 * headers only, not in attachments (signatures). */
		if (m->state == ST_PRIMARY)
			mime_body(m, REC_TYPE_NORM, "", 0);
		m->state = ST_BODY;
	} else if (m->ctype == CT_MESSAGE) {
		m->state = ST_NESTED;
		m->ctype = CT_TEXT;
	} else {
		m->state = ST_BODY;
		if (m->ctype == CT_MULTIPART)
			m->ctype = CT_OTHER;
	}
}

int
mime_update(struct mime *m, int type, const char *p, size_t n)
{
	size_t name;

	if (type != REC_TYPE_NORM && type != REC_TYPE_CONT)
		msg_panic("mime_update: bad record type %d", type);
	if (m->finished)
		msg_panic("mime_update: after mime_finish");
	if (m->state != ST_BODY) {
		if (str_len(m->hdr) > 0) {
			if (m->prev_type == REC_TYPE_CONT) {
				mime_append(m, false, p, n);
				m->prev_type = type;
				return m->errs;
			}
			if (n > 0 && IS_SPACE_TAB(*p)) {
				mime_append(m, true, p, n);
				m->prev_type = type;
				return m->errs;
			}
			mime_flush_header(m);
		}
		if ((name = header_name_len(p, n)) > 0) {
			/* "Name  : value" becomes "Name: value", as in
			 * Postfix: the name is what the checks see. */
			str_setn(m->hdr, p, name);
			while (name < n && IS_SPACE_TAB(p[name]))
				name++;
			str_catn(m->hdr, p + name, n - name);
			m->prev_type = type;
			return m->errs;
		}
		mime_header_block_end(m, n);
	}
	if (m->depth > 0 && m->prev_type != REC_TYPE_CONT && n > 2 &&
	    p[0] == '-' && p[1] == '-')
		mime_boundary(m, p, n);
	mime_body(m, type, p, n);
	m->prev_type = type;
	return m->errs;
}

int
mime_finish(struct mime *m)
{
	if (m->finished)
		return m->errs;
	/* A line left open by a last REC_TYPE_CONT record ends here. */
	if (m->prev_type == REC_TYPE_CONT)
		mime_update(m, REC_TYPE_NORM, "", 0);
	if (m->state != ST_BODY) {
		mime_flush_header(m);
		if (m->state == ST_PRIMARY && m->cb.header_end)
			m->cb.header_end(m->ctx);
		if (m->cb.block_end)
			m->cb.block_end(m->ctx, (int)m->state);
		m->state = ST_BODY;
	}
	m->finished = true;
	return m->errs;
}
