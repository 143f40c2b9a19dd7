/*
 * addr - RFC 5322 addresses in headers and envelopes: parsing address
 * lists, the internal (unquoted) and external (quoted) forms, and
 * rewriting every address of a header while keeping its phrases and
 * comments (Postfix's tok822 and quote_822_local).
 *
 * addr_internalize(out, ext)   external form to internal form: remove the
 *                              quotes of a quoted localpart
 *                              ("\"a b\"@x" -> "a b@x"); what cleanup
 *                              stores in S and R records
 * addr_externalize(out, int)   internal form to external: quote a localpart
 *                              that needs it (specials, spaces, leading,
 *                              trailing or double dots) as RFC 5321 says;
 *                              "" stays ""
 * addr_split(addr, &local, &domain)  split an internal address at its last
 *                              '@' (quoting taken into account): malloc'd
 *                              localpart and domain ("" when there is no @)
 * addr_parse_list(value, out)  the addresses (internal form) in a header
 *                              value such as To: or From: ("Name <a@b>,
 *                              c@d (comment), group: e@f;"), appended to the
 *                              argv out; route addresses lose their route
 *                              (@x,@y:a@b -> a@b); an empty <> gives "";
 *                              returns the number of addresses found
 * addr_header_map(out, value, fn, ctx)  rebuild a header value with each
 *                              address passed through fn(addr, ctx), which
 *                              may change the str it gets (internal form);
 *                              the result re-quotes it; phrases, comments,
 *                              groups and the separators are kept, so
 *                              "Joe <joe>" with fn appending "@x" becomes
 *                              "Joe <joe@x>"
 *
 * Parsing never fails: unbalanced quotes, brackets or comments are closed
 * at the end of the text, as Postfix's tokenizer does, and the length of
 * the text (bounded by header_size_limit before it gets here) bounds the
 * work.  Nesting of comments is limited to ADDR_NEST_MAX.
 */
#ifndef ADDR_H
#define ADDR_H

#include "lib/util/argv.h"
#include "lib/util/str.h"

#define ADDR_NEST_MAX 100

typedef void addr_map_fn(struct str *, void *);

void addr_internalize(struct str *, const char *);
void addr_externalize(struct str *, const char *);
void addr_split(const char *, char **, char **);
int addr_parse_list(const char *, struct argv *);
void addr_header_map(struct str *, const char *, addr_map_fn *, void *);

#endif
