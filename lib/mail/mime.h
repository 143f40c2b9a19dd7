/*
 * mime - the structure of a message as cleanup reads it, one line at a
 * time: logical headers (folded lines joined), the header/body split, MIME
 * multipart boundaries and attached messages (message/rfc822), so that
 * header_checks, mime_header_checks, nested_header_checks and body_checks
 * each see the lines Postfix shows them.
 *
 * mime_new(cb, ctx, flags)   a parser calling cb's functions with ctx
 * mime_free(m)               free (NULL ok); returns NULL
 * mime_update(m, type, p, n) feed one content record: REC_TYPE_NORM (a
 *                            complete line, without its newline) or
 *                            REC_TYPE_CONT (a piece of a line that goes on
 *                            in the next record).  Returns MIME_ERR_* bits
 *                            found so far (0: none).  Any other type, or a
 *                            call after mime_finish, is a bug (panic)
 * mime_finish(m)             end of the content: end a line left open by a
 *                            last REC_TYPE_CONT (body() gets an empty
 *                            REC_TYPE_NORM, as in Postfix), flush a pending
 *                            header, header_end() if the primary headers
 *                            never ended; returns the MIME_ERR_* bits
 * mime_error_text(bits)      Postfix's text of the most serious error in
 *                            bits: "MIME nesting exceeds safety limit",
 *                            "message header length exceeds safety limit",
 *                            "improper use of 8-bit data in message header";
 *                            NULL when no bit is known (reply with 5.6.0)
 * mime_header_name(h, &len)  the name of a header line "Name: value" (white
 *                            space allowed before the colon), its length in
 *                            len (blanks excluded); NULL when h is not a
 *                            header (the name must be printable ASCII)
 * mime_header_is(h, name)    h is a header called name (case-insensitive)
 * mime_header_opts(name, len)  MIME_HOPT_* bits of a header name (Postfix's
 *                            header table; 0 for names it does not list)
 * mime_header_cut(text, len, limit)  how much of a logical header Postfix's
 *                            cleanup writes to the queue file: all of it up
 *                            to limit bytes; else up to the end of the last
 *                            whole line when that keeps more than 90% of
 *                            limit, else exactly limit bytes.  mime applies
 *                            it before header(); cleanup applies it again
 *                            to a header it rewrote (addresses, REPLACE)
 *
 * Callbacks (any may be NULL):
 *   header(ctx, class, text, len)  one logical header, continuation lines
 *                      joined with "\n" and no final newline; class is
 *                      MIME_CLASS_PRIMARY (the message's own headers),
 *                      MIME_CLASS_MULTIPART (headers of a body part) or
 *                      MIME_CLASS_NESTED (headers of an attached message).
 *                      "Name  : value" arrives as "Name: value" (Postfix
 *                      normalizes the obsolete form).  The text is cut
 *                      with mime_header_cut(header_size_limit), so it is
 *                      what goes to the queue file.  (Postfix cuts only
 *                      when writing: its header_checks see up to one more
 *                      line or piece of a header that passes the limit.)
 *   header_end(ctx)    the primary headers are over (before the first body
 *                      line, also when the body is empty)
 *   body(ctx, type, p, n)  one body record as fed (REC_TYPE_NORM/CONT):
 *                      everything after the primary headers, including
 *                      the blank line that ends them, MIME boundary lines,
 *                      preambles, epilogues and the blank line that ends a
 *                      part's headers.  When the primary headers end at a
 *                      line that is neither a header nor empty, body()
 *                      first gets an empty REC_TYPE_NORM line: Postfix
 *                      inserts the missing separator (only there, never
 *                      in attachments).  Write body records to the queue
 *                      file as they come.
 *   error(ctx, bit, text, len)  an error kind seen for the first time, with
 *                      the text that shows it (the header); Postfix's
 *                      cleanup logs "reject: mime-error TEXT: HEADER ..."
 *   block_end(ctx, class)  a header block of any class is over (primary,
 *                      a body part's, an attached message's), before the
 *                      body record that ended it; also at mime_finish when
 *                      the content ends inside headers.  Converters (the
 *                      smtp client's 8BITMIME downgrade) add headers here
 *   boundary(ctx, closing)  the next body() record is a MIME boundary line
 *                      of an open multipart: "--b--" (closing true, the
 *                      epilogue follows) or "--b" (a part's headers follow)
 *
 * A header is a line "Name: value" followed by continuation lines (that
 * start with a space or tab).  Lines and pieces are added to it while it
 * is shorter than header_size_limit; what is dropped or cut sets
 * MIME_ERR_TRUNC_HEADER (Postfix's cleanup does not reject for it).  A line
 * that is not a header where headers were expected ends the header block
 * and is a body line, as in Postfix.
 *
 * Multipart: every boundary= parameter of a Content-Type: multipart/ *
 * header (quoted or not, at most mime_boundary_length_limit bytes kept)
 * is pushed; a body line "--boundary" (trailing text ignored) starts a part
 * whose headers follow (default type text/plain, message/rfc822 in a
 * multipart/digest), "--boundary--" ends that level; an outer boundary
 * closes the inner levels.  The blank line after headers announcing
 * message/rfc822 or message/global starts the headers of an attached
 * message (MIME_CLASS_NESTED).  As in Postfix, the boundary stack may hold
 * mime_nesting_limit + 2 levels; a deeper multipart is not parsed and
 * sets MIME_ERR_NESTING (attached messages do not count).
 *
 * The MIME_ERR_* bits are returned whatever the configuration; the caller
 * decides.  Postfix's cleanup rejects (5.6.0, "mime-error") for
 * MIME_ERR_NESTING when header_checks, mime_header_checks,
 * nested_header_checks or a strict_* option is set, and for
 * MIME_ERR_8BIT_IN_HEADER with strict_7bit_headers or strict_8bitmime.
 *
 * Flags: MIME_FLAG_DISABLE (disable_mime_input_processing): Content-Type
 * is not interpreted, so every header is PRIMARY and everything after the
 * primary headers is body.
 */
#ifndef MIME_H
#define MIME_H

#include <stdbool.h>
#include <stddef.h>

#define MIME_CLASS_PRIMARY   1
#define MIME_CLASS_MULTIPART 2
#define MIME_CLASS_NESTED    3

#define MIME_FLAG_DISABLE (1 << 0)

#define MIME_ERR_TRUNC_HEADER   (1 << 0)
#define MIME_ERR_NESTING        (1 << 1)
#define MIME_ERR_8BIT_IN_HEADER (1 << 2)

/* Header options (Postfix's header_opts). */
#define MIME_HOPT_MIME      (1 << 0) /* Content-*, MIME-Version */
#define MIME_HOPT_SENDER    (1 << 1) /* From, Sender, Reply-To ... */
#define MIME_HOPT_RECIPIENT (1 << 2) /* To, Cc, Bcc ... */
#define MIME_HOPT_RESENT    (1 << 3) /* Resent-* */
#define MIME_HOPT_ADDRESS   (MIME_HOPT_SENDER | MIME_HOPT_RECIPIENT)

struct mime_callbacks {
	void (*header)(void *, int, const char *, size_t);
	void (*header_end)(void *);
	void (*body)(void *, int, const char *, size_t);
	void (*error)(void *, int, const char *, size_t);
	void (*block_end)(void *, int);
	void (*boundary)(void *, bool);
};

struct mime;

struct mime *mime_new(const struct mime_callbacks *, void *, int);
struct mime *mime_free(struct mime *);
int mime_update(struct mime *, int, const char *, size_t);
int mime_finish(struct mime *);
const char *mime_error_text(int);
const char *mime_header_name(const char *, size_t *);
bool mime_header_is(const char *, const char *);
int mime_header_opts(const char *, size_t);
size_t mime_header_cut(const char *, size_t, size_t);

#endif
