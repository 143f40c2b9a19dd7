/*
 * match_list - Postfix's pattern lists: mydestination, relay_domains,
 * virtual_*_domains (domain lists), authorized_submit_users (string list),
 * local_header_rewrite_clients and mynetworks (host name/address lists).
 *
 * match_list_new(name, spec, flags)  parse the list spec (the value of
 *                         parameter name): patterns separated by commas
 *                         and/or white space; "/path" reads patterns from
 *                         a file (one or more per line, # comments);
 *                         "type:table" looks the string up (found =
 *                         match, the value is not used); "!pattern"
 *                         negates (a match returns "no" at once).  Tables
 *                         are opened read-only through dict; one that
 *                         cannot be opened fails its lookups (-1).
 * match_list_free(l)      returns NULL
 * match_list_domain(l, domain)  1 when domain matches: a pattern equal to
 *                         it (case-insensitive), ".example.com" for
 *                         subdomains, "example.com" also for subdomains
 *                         when name is in parent_domain_matches_subdomains,
 *                         a table with the domain or (by the same rule)
 *                         a parent as key; 0 no match; -1 table error
 * match_list_string(l, s) 1/0/-1 for a plain string (user names):
 *                         case-insensitive equality or table lookup
 * match_list_hostaddr(l, name, addr)  1/0/-1 for a client: a host name
 *                         pattern as domain_list, or an address pattern:
 *                         "1.2.3.4", "1.2.3.0/24", "[::1]", "[2001:db8::]/32"
 * Postfix's "static:all" / "static:anyone" match everything.
 *
 * flags: 0, or MATCH_LIST_PARENT to make "example.com" match subdomains
 * whatever parent_domain_matches_subdomains says.  A ".example.com"
 * pattern matches subdomains in both modes.  A network pattern with host
 * bits set is fatal, with Postfix's text ("non-null host address bits in
 * "10.1.2.3/8", perhaps you should use "10.0.0.0/8" instead").  A "/file"
 * that cannot be opened makes the list's lookups fail (-1), as in Postfix.
 * A list's first match decides; an empty list matches nothing.
 */
#ifndef MATCH_LIST_H
#define MATCH_LIST_H

#define MATCH_LIST_PARENT (1 << 0)

struct match_list;

struct match_list *match_list_new(const char *, const char *, int);
struct match_list *match_list_free(struct match_list *);
int match_list_domain(struct match_list *, const char *);
int match_list_string(struct match_list *, const char *);
int match_list_hostaddr(struct match_list *, const char *, const char *);

#endif
