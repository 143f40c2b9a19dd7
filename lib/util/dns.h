/*
 * dns - a small DNS client on the system resolver (res_nquery: one
 * resolver state per process, no threads), for smtpd's DNS restrictions
 * and the smtp client's MX routing.  CNAMEs are followed by the recursive
 * server; the reply keeps only the records of the asked type and tells
 * the name they belong to.
 *
 * dns_lookup(name, type, flags, &reply, why)
 *          look up records of one type (DNS_T_A, ..._AAAA, _MX, _TXT, _PTR,
 *          _NS, _CNAME, _SOA, _TLSA): DNS_OK with *reply set (free it with
 *          dns_reply_free), or DNS_NOTFOUND (NXDOMAIN or no record of that
 *          type: reply->nxdomain tells which, when reply is wanted),
 *          DNS_RETRY (SERVFAIL, timeout, no server), DNS_FAIL (refused,
 *          malformed name or reply); then why says so in Postfix's words
 *          ("Host or domain name not found. Name service error for
 *          name=x type=MX: Host not found, try again").  reply may be NULL.
 *          flags: DNS_FLAG_DNSSEC asks for DNSSEC (DO bit, trust the AD bit
 *          of the server in resolv.conf); reply->ad tells the result.
 * dns_lookup_addr(name, flags, want4, want6, &reply, why)
 *          A and/or AAAA records together: DNS_OK when either has one;
 *          else DNS_RETRY when either lookup had to be retried, else the
 *          first failure
 * dns_parse(msg, len, type, &reply)  decode an answer (dns_lookup's
 *          back end, exposed for tests): DNS_OK, DNS_NOTFOUND or DNS_FAIL
 * dns_reply_free(reply)    NULL ok; returns NULL
 * dns_sort_mx(reply)       MX records by preference, then by name
 * dns_null_mx(reply)       true: the one MX is the null MX (RFC 7505, "0 .")
 * dns_reverse(addr, suffix, out)  "4.3.2.1" + suffix for 1.2.3.4, the
 *          32 reversed nibbles for IPv6; suffix NULL gives in-addr.arpa or
 *          ip6.arpa (the PTR name), "list.example" the DNSBL query name.
 *          0, or -1 when addr is not an address
 * dns_type_name(type)      "MX", "A", ... for messages
 *
 * Records: name (owner, lower case), type, ttl; data is the host name of
 * MX/NS/PTR/CNAME ("" for the root), the text of TXT (its strings joined),
 * the printed address of A/AAAA (addr holds the bytes, addr_len 4 or 16),
 * "mname rname" of SOA; pref is the MX preference.  TLSA (RFC 6698):
 * usage, selector and mtype, the association data in blob/blob_len and
 * printed as lower-case hex in data.
 */
#ifndef DNS_H
#define DNS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/util/str.h"

#define DNS_OK       0
#define DNS_NOTFOUND 1
#define DNS_RETRY    2
#define DNS_FAIL     3

#define DNS_T_A     1
#define DNS_T_NS    2
#define DNS_T_CNAME 5
#define DNS_T_SOA   6
#define DNS_T_PTR   12
#define DNS_T_MX    15
#define DNS_T_TXT   16
#define DNS_T_AAAA  28
#define DNS_T_TLSA  52

#define DNS_FLAG_DNSSEC (1 << 0)

struct dns_rr {
	char *name;
	int type;
	unsigned ttl;
	int pref;
	char *data;
	unsigned char addr[16];
	size_t addr_len;
	int usage, selector, mtype; /* TLSA */
	unsigned char *blob;        /* TLSA association data */
	size_t blob_len;
};

struct dns_reply {
	struct dns_rr *rr;
	size_t count;
	char *cname; /* owner of the records after CNAMEs, or NULL */
	bool ad;     /* the server says the data is authenticated */
	bool nxdomain;
};

int dns_lookup(const char *, int, int, struct dns_reply **, struct str *);
int dns_lookup_addr(const char *, int, bool, bool, struct dns_reply **,
    struct str *);
int dns_parse(const unsigned char *, size_t, int, struct dns_reply **);
struct dns_reply *dns_reply_free(struct dns_reply *);
void dns_sort_mx(struct dns_reply *);
bool dns_null_mx(const struct dns_reply *);
int dns_reverse(const char *, const char *, struct str *);
const char *dns_type_name(int);

#endif
