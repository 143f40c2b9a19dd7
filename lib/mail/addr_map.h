/*
 * addr_map - the address mappings cleanup applies: canonical(5),
 * virtual(5) alias expansion and address masquerading.
 *
 * canon_lookup(maps, addr, out)   canonical(5) lookup order for an internal
 *                         address: user@domain, then user (only when domain
 *                         is local: $myorigin, $mydestination, interface
 *                         addresses; through maps_find_addr), then @domain;
 *                         with recipient_delimiter, the extension is tried
 *                         off and put back on the result.  Returns 1 with
 *                         out set to the new address (internal form), 0
 *                         when nothing matched, -1 on a table error (the
 *                         caller defers the mail)
 * virtual_expand(maps, addr, out, why)  virtual(5) alias expansion of one
 *                         recipient, recursive: each result is looked up
 *                         again (an address that maps to itself stops
 *                         there), duplicates are dropped, depth bounded by
 *                         virtual_alias_recursion_limit and the number of
 *                         results by virtual_alias_expansion_limit.  out
 *                         gets the final recipients (the address itself
 *                         when nothing matched).  Returns 0, or -1 with why
 *                         ("unknown user" style text is not given here):
 *                         ADDR_MAP_DEFER (table error) or ADDR_MAP_LIMIT
 *                         (why: Postfix's warning text, e.g. "unreasonable
 *                         virtual_alias_maps map expansion size for
 *                         user@example.com", "unreasonable
 *                         virtual_alias_maps map nesting for ..."); on a
 *                         limit Postfix keeps the mail and the original
 *                         recipient gets a deferral; cleanup decides
 * masquerade(addr, domains, exceptions)  strip the host part of addr's
 *                         domain per masquerade_domains (foo.bar.example.com
 *                         -> example.com when "example.com" is listed; a
 *                         "!sub.example.com" entry stops it) unless its
 *                         localpart is in masquerade_exceptions; true when
 *                         addr changed
 *
 * Lookup results may be lists ("a@x, b@y"): virtual_expand splits them on
 * commas and white space as Postfix does; canon_lookup takes the result
 * whole.  Results are in external form in the tables and are converted to
 * internal form (addr_internalize).
 */
#ifndef ADDR_MAP_H
#define ADDR_MAP_H

#include <stdbool.h>

#include "lib/util/argv.h"
#include "lib/util/str.h"
#include "lib/mail/maps.h"

#define ADDR_MAP_DEFER 1
#define ADDR_MAP_LIMIT 2

int canon_lookup(struct maps *, const char *, struct str *)
    __attribute__((warn_unused_result));
int virtual_expand(struct maps *, const char *, struct argv *, struct str *)
    __attribute__((warn_unused_result));
bool masquerade(struct str *, const struct argv *, const struct argv *);

#endif
