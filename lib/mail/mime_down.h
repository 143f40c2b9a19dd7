/*
 * mime_down - convert a message to 7 bit on the fly, for a server that
 * does not announce 8BITMIME (RFC 6152), the way Postfix's smtp client
 * does unless disable_mime_output_conversion = yes.
 *
 * mime_down_new(out, ctx)        a converter that writes through out
 * mime_down_update(d, type, p, n)  one content record (REC_TYPE_NORM: a
 *                                line without its newline; REC_TYPE_CONT:
 *                                a piece of one): 0, or -1 once out failed
 * mime_down_finish(d)            end of the content: 0 or -1
 * mime_down_free(d)              free (NULL ok); returns NULL
 *
 * out(ctx, type, p, n) gets the converted records the same way and
 * returns 0, or -1 on a write error (then nothing more is written).
 *
 * What changes (observed with Debian's Postfix 3.7 against a server
 * without 8BITMIME): every header block (the message's, a body part's,
 * an attached message's) whose Content-Transfer-Encoding says 8bit or
 * binary loses that header, and gets "Content-Transfer-Encoding: 7bit"
 * (multipart/ *, message/ *) or "Content-Transfer-Encoding:
 * quoted-printable" (anything else, images too) as its last header.  The
 * body of such a leaf part is quoted-printable: octets below 32 except
 * TAB, "=" and octets above 126 become "=XX"; a soft line break ("=")
 * ends an output line that has passed 72 characters before the next
 * character is added; a space or TAB that ends a line becomes =20/=09.
 * Headers (8-bit ones too), boundaries, preambles, epilogues and parts
 * without an 8bit/binary label (7bit, base64, quoted-printable, none)
 * pass unchanged, so a message without MIME labels keeps its 8-bit body.
 */
#ifndef MIME_DOWN_H
#define MIME_DOWN_H

#include <stddef.h>

typedef int mime_down_out_fn(void *, int, const char *, size_t);

struct mime_down;

struct mime_down *mime_down_new(mime_down_out_fn *, void *);
int mime_down_update(struct mime_down *, int, const char *, size_t);
int mime_down_finish(struct mime_down *);
struct mime_down *mime_down_free(struct mime_down *);

#endif
