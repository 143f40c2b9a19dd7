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
 *                            found so far (0: none)
 * mime_finish(m)             end of the content: flush a pending header;
 *                            returns the MIME_ERR_* bits
 * mime_error_text(bit)       "MIME nesting exceeds safety limit" ...
 * mime_header_name(h, &len)  the name of a header line "Name: value" (no
 *                            white space before the colon needed), its
 *                            length in len; NULL when h is not a header
 * mime_header_is(h, name)    h is a header called name (case-insensitive)
 * mime_header_opts(name)     MIME_HOPT_* bits of a header name
 *
 * Callbacks (any may be NULL):
 *   header(ctx, class, text, len)  one logical header, continuation lines
 *                      joined with "\n" and no final newline; class is
 *                      MIME_CLASS_PRIMARY (the message's own headers),
 *                      MIME_CLASS_MULTIPART (headers of a body part) or
 *                      MIME_CLASS_NESTED (headers of an attached message)
 *   header_end(ctx)    the primary headers are over (before the first body
 *                      line, also when the body is empty)
 *   body(ctx, type, p, n)  one body record as fed (REC_TYPE_NORM/CONT);
 *                      MIME boundary lines and the blank line that ends a
 *                      part's headers are body lines too
 * A header longer than header_size_limit is truncated to that length
 * (MIME_ERR_TRUNC_HEADER); at most mime_nesting_limit levels of multipart
 * or message/rfc822 are tracked (MIME_ERR_NESTING); a line that is not a
 * header where headers were expected ends the headers, as in Postfix.
 * Flags: MIME_FLAG_DISABLE (mime_header_checks etc. off: every header is
 * PRIMARY and the body is not parsed: disable_mime_input_processing).
 */
#ifndef MIME_H
#define MIME_H

#include <stdbool.h>
#include <stddef.h>

#define MIME_CLASS_PRIMARY   1
#define MIME_CLASS_MULTIPART 2
#define MIME_CLASS_NESTED    3

#define MIME_FLAG_DISABLE (1 << 0)

#define MIME_ERR_TRUNC_HEADER (1 << 0)
#define MIME_ERR_NESTING      (1 << 1)
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

#endif
