/*
 * sendmail_msg - read a message from standard input the way Postfix's
 * sendmail does and turn it into content records.
 *
 * Lines end with LF.  With sendmail_fix_line_endings = always a CR before
 * the LF is removed; with strict only when the first line ended in CRLF;
 * never keeps it.  A line longer than line_length_limit becomes L pieces of
 * that size and an N with the rest.  A first line starting with "From " (a
 * mailbox separator) is dropped; a lone "." ends input unless -i.  With -t
 * the header lines are also parsed for recipient addresses, only to say
 * "No recipient addresses found in message header" before queueing an
 * undeliverable message: cleanup does the extraction (CLEANUP_XFLAG_EXTRACT_
 * RCPT) and removes Bcc:.
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/addr.h"
#include "lib/mail/record.h"
#include "sendmail.h"

/* The header part of the message, seen line by line (for -t only). */
struct sm_hdr {
	bool in_header;     /* still in the primary headers */
	struct str *cur;    /* the logical header being collected */
	size_t total;       /* header bytes seen, bounded by header_limit */
	long rcpt;          /* addresses found */
	struct argv *addrs; /* scratch */
};

static const char *const sm_rcpt_headers[] = {
	"to",
	"cc",
	"bcc",
	"resent-to",
	"resent-cc",
	"resent-bcc",
};

/* Count the addresses of one complete logical header. */
static void
sm_hdr_done(struct sm_hdr *h)
{
	const char *p = str_ptr(h->cur), *colon;
	size_t n;

	if (str_len(h->cur) == 0)
		return;
	if ((colon = strchr(p, ':')) != NULL) {
		n = (size_t)(colon - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		for (size_t i = 0;
		     i < sizeof(sm_rcpt_headers) / sizeof(sm_rcpt_headers[0]);
		     i++) {
			if (strlen(sm_rcpt_headers[i]) != n ||
			    strncasecmp(p, sm_rcpt_headers[i], n) != 0)
				continue;
			argv_free(h->addrs);
			h->addrs = argv_new();
			(void)addr_parse_list(colon + 1, h->addrs);
			for (size_t j = 0; j < h->addrs->argc; j++)
				if (*h->addrs->argv[j])
					h->rcpt++;
			break;
		}
	}
	str_reset(h->cur);
}

/* Is this the start of a header line ("Name:" with printable name)? */
static bool
sm_is_header(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len && p[i] != ':'; i++)
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 127)
			break;
	/* Postfix also allows white space between the name and the colon. */
	if (i > 0)
		while (i < len && (p[i] == ' ' || p[i] == '\t'))
			i++;
	return i > 0 && i < len && p[i] == ':';
}

/*
 * One piece of a line (the whole line when last is set and first is set).
 * Only the first piece decides whether it is a header, a continuation or
 * the end of the headers.
 */
static void
sm_hdr_piece(struct sm_hdr *h, const char *p, size_t len, bool first)
{
	if (!h->in_header)
		return;
	if (first) {
		if (len > 0 && (p[0] == ' ' || p[0] == '\t') &&
		    str_len(h->cur) > 0) {
			/* continuation: joined with its white space */
		} else if (sm_is_header(p, len)) {
			sm_hdr_done(h);
		} else {
			sm_hdr_done(h);
			h->in_header = false;
			return;
		}
	}
	/* sm_put() keeps the total within header_size_limit. */
	h->total += len;
	str_catn(h->cur, p, len);
}

/* Emit one line or piece; returns -1 on a write error. */
static int
sm_put(struct stream *out, struct sm_hdr *h, int type, const char *p,
    size_t len, bool first, size_t header_limit)
{
	if (h != NULL && h->in_header && h->total + len > header_limit) {
		/* Keep what fits; the rest of the headers is not counted. */
		size_t room =
		    h->total < header_limit ? header_limit - h->total : 0;

		sm_hdr_piece(h, p, len < room ? len : room, first);
		if (h->in_header) {
			sm_hdr_done(h);
			h->in_header = false;
		}
	} else if (h != NULL)
		sm_hdr_piece(h, p, len, first);
	return rec_put(out, type, p, len);
}

long
sendmail_copy(struct stream *in, struct stream *out,
    const struct sendmail_copy_opts *o)
{
	struct sm_hdr hdr = { .in_header = true };
	struct str *line = str_new(256);
	bool first_line = true, first_piece = true, strip_cr;
	char buf[4096];
	ssize_t n = 0, i;
	long rc = -1;

	strip_cr = o->eol == EOL_ALWAYS;
	if (o->count_rcpt) {
		hdr.cur = str_new(256);
		hdr.addrs = argv_new();
	}
	if (rec_put(out, REC_TYPE_MESG, "", 0) < 0)
		goto out;
	for (;;) {
		if ((n = stream_read(in, buf, sizeof(buf))) < 0)
			msg_fatal("error reading input: %m");
		for (i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				str_catc(line, buf[i]);
				if (str_len(line) < o->line_limit)
					continue;
				/*
				 * A full piece; a CR just before the LF that
				 * may follow stays in it, as in Postfix.
				 */
				if (sm_put(out, o->count_rcpt ? &hdr : NULL,
					REC_TYPE_CONT, str_ptr(line),
					str_len(line), first_piece,
					o->header_limit) < 0)
					goto out;
				first_piece = false;
				str_reset(line);
				continue;
			}
			/* A complete line. */
			if (first_line && o->eol == EOL_STRICT)
				strip_cr =
				    str_len(line) > 0 &&
				    str_ptr(line)[str_len(line) - 1] == '\r';
			if (strip_cr && str_len(line) > 0 &&
			    str_ptr(line)[str_len(line) - 1] == '\r')
				str_truncate(line, str_len(line) - 1);
			if (first_line && first_piece &&
			    strncmp(str_ptr(line), "From ", 5) == 0) {
				first_line = false;
				str_reset(line);
				continue;
			}
			first_line = false;
			if (o->dot && first_piece &&
			    strcmp(str_ptr(line), ".") == 0)
				goto done;
			if (sm_put(out, o->count_rcpt ? &hdr : NULL,
				REC_TYPE_NORM, str_ptr(line), str_len(line),
				first_piece, o->header_limit) < 0)
				goto out;
			first_piece = true;
			str_reset(line);
		}
		if (n == 0)
			break;
	}
	/* A last line without a newline still counts. */
	if (str_len(line) > 0 || !first_piece) {
		if (!(first_line && strncmp(str_ptr(line), "From ", 5) == 0) &&
		    !(o->dot && first_piece && strcmp(str_ptr(line), ".") == 0))
			if (sm_put(out, o->count_rcpt ? &hdr : NULL,
				REC_TYPE_NORM, str_ptr(line), str_len(line),
				first_piece, o->header_limit) < 0)
				goto out;
	}
done:
	if (o->count_rcpt && hdr.in_header)
		sm_hdr_done(&hdr);
	if (rec_put(out, REC_TYPE_XTRA, "", 0) < 0)
		goto out;
	rc = hdr.rcpt;
out:
	str_free(line);
	str_free(hdr.cur);
	argv_free(hdr.addrs);
	return rc;
}
