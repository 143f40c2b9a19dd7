/*
 * addr_map - the address mappings cleanup applies: canonical(5),
 * virtual(5) alias expansion and address masquerading.
 *
 * canon_lookup(maps, addr, out)   canonical(5) mapping of an internal
 *                         address, as cleanup applies canonical_maps,
 *                         sender_canonical_maps and recipient_canonical_maps:
 *                         user+ext@domain, user@domain, then user+ext and
 *                         user (only when domain is local: $myorigin,
 *                         $mydestination, an interface address), then
 *                         @domain (maps_find_addr with recipient_delimiter).
 *                         The result is mapped again, at most
 *                         ADDR_MAP_CANON_DEPTH times, until it maps to
 *                         itself or to nothing, as Postfix does.  out
 *                         always gets the final address (internal form).
 *                         Returns 1 when out differs from addr, 0 when it
 *                         is the same, -1 on a table error or when
 *                         trivial-rewrite cannot be reached: out is then
 *                         addr and the caller logs Postfix's
 *                         "QUEUE_ID: TITLE map lookup problem for ADDR --
 *                         message not accepted, try again later" and
 *                         defers the mail.  Logged here (prefixed with
 *                         addr_map_queue_id): "multi-valued TITLE entry
 *                         for ADDR" (the first address is used) and
 *                         "unreasonable TITLE map nesting for ADDR --
 *                         message not accepted, try again later" (the
 *                         last result is kept; no deferral, as Postfix)
 * virtual_expand(maps, addr, out, why)  virtual(5) alias expansion of one
 *                         recipient, recursive as Postfix's cleanup: the
 *                         first address of a result replaces the one looked
 *                         up and is looked up again, the others are
 *                         appended and expanded in turn; an address whose
 *                         result contains itself is kept and not expanded
 *                         again; a loop (a -> b, b -> a) ends at the
 *                         recursion limit.  Duplicates (case-insensitive)
 *                         are dropped, the first kept.  The final
 *                         recipients are appended to out (addr itself when
 *                         nothing matched).  Returns:
 *                         0                ok
 *                         ADDR_MAP_DEFER   a table error (or trivial-rewrite
 *                                          unreachable)
 *                         ADDR_MAP_LIMIT   virtual_alias_recursion_limit,
 *                                          virtual_alias_expansion_limit or
 *                                          virtual_alias_address_length_limit
 *                                          exceeded
 *                         On DEFER and LIMIT out gets addr alone (Postfix
 *                         keeps the original recipient) and why the whole
 *                         warning Postfix logs after "QUEUE_ID: ", e.g.
 *                         "unreasonable virtual_alias_maps map expansion
 *                         size for a@example.com -- message not accepted,
 *                         try again later", "unreasonable virtual_alias_maps
 *                         map nesting for a@example.com -- ...",
 *                         "unreasonable virtual_alias_maps result
 *                         xxx... -- ...", "virtual_alias_maps map lookup
 *                         problem for a@example.com -- ...".  The caller
 *                         logs msg_warn("%s: %s", queue_id, why) and defers
 *                         the message (Postfix: "4.6.0 Alias expansion
 *                         error")
 * masquerade(addr, domains, exceptions)  strip the host part of addr's
 *                         domain per masquerade_domains: the first listed
 *                         domain equal to addr's domain or a parent of it
 *                         decides; a parent replaces the domain
 *                         (foo.bar.example.com -> example.com when
 *                         "example.com" is listed), "!sub.example.com" (a
 *                         match) leaves it alone.  Nothing happens when the
 *                         localpart is in masquerade_exceptions
 *                         (case-insensitive).  true when addr changed
 *
 * Lookup results are address lists in external form ("a@x, Joe <b@y>"
 * and "a@x b@y" both give two addresses in Postfix 3.7's cleanup, checked
 * on Debian's 3.7.11); they are parsed as such (addr_parse_list, which
 * must split both forms), a result "@other" becomes
 * "user@other", each address is rewritten to canonical form by
 * trivial-rewrite's "local" rule (append_at_myorigin, append_dot_mydomain:
 * addr_map_rewrite) and, when propagate_unmatched_extensions names
 * "canonical" or "virtual", gets the extension a key without it matched.
 *
 * Parameters read: recipient_delimiter, propagate_unmatched_extensions,
 * myorigin, mydestination, inet_interfaces, proxy_interfaces,
 * virtual_alias_{recursion,expansion,address_length}_limit.
 *
 * addr_map_init()         open the mydestination list and learn the
 *                         interface addresses now (call it before chroot);
 *                         otherwise done on first use
 * addr_map_queue_id       the caller's current queue ID, the prefix of the
 *                         warnings logged here (none when NULL)
 * addr_map_local, addr_map_rewrite  replaceable (tests): is a domain
 *                         local (1, 0, -1 on a table error; default:
 *                         $myorigin, $mydestination through match_list,
 *                         [address] of an inet_interfaces/proxy_interfaces
 *                         address), and canonicalize an internal address
 *                         (0, -1; default: rewrite_addr("local", ...))
 */
#ifndef ADDR_MAP_H
#define ADDR_MAP_H

#include <stdbool.h>

#include "lib/util/argv.h"
#include "lib/util/str.h"
#include "lib/mail/maps.h"

#define ADDR_MAP_DEFER 1
#define ADDR_MAP_LIMIT 2

#define ADDR_MAP_CANON_DEPTH 10 /* canonical re-mappings (Postfix's) */

typedef int addr_map_local_fn(const char *);
typedef int addr_map_rewrite_fn(const char *, struct str *);

extern const char *addr_map_queue_id;
extern addr_map_local_fn *addr_map_local;
extern addr_map_rewrite_fn *addr_map_rewrite;

void addr_map_init(void);
int canon_lookup(struct maps *, const char *, struct str *)
    __attribute__((warn_unused_result));
int virtual_expand(struct maps *, const char *, struct argv *, struct str *)
    __attribute__((warn_unused_result));
bool masquerade(struct str *, const struct argv *, const struct argv *);

#endif
