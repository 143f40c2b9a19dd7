/*
 * smtp_addr - from a next hop to the list of server addresses to try, as
 * Postfix's smtp_connect.c/smtp_addr.c do it.
 *
 * Next hops (a list separated by commas or spaces, then the fallback
 * relays):
 *   domain, domain:port         MX lookup (SMTP only), else A/AAAA
 *   [host], [host]:port         A/AAAA only; [addr] and [ipv6addr] literal
 *   inet:host:port, unix:/path  LMTP forms (inet: also accepted by smtp)
 * The port is a number or a service name, default smtp_tcp_port (smtp) or
 * lmtp_tcp_port (24).
 *
 * MX records are tried by preference, randomly among equal preferences
 * (smtp_randomize_addresses), at most smtp_mx_address_limit addresses in
 * all; each exchanger's addresses follow inet_protocols and
 * smtp_address_preference.  A null MX bounces (RFC 7505, 5.1.0); a DNS
 * temporary failure defers (4.4.3), never bounces.  smtp_host_lookup
 * (dns, native, or both) and disable_dns_lookups choose the resolver.
 * smtp_dns_support_level = dnssec asks for DNSSEC validation: each
 * address records whether its MX and A/AAAA lookups came back with the
 * AD bit (the "dane" TLS level trusts nothing else); "disabled" is
 * disable_dns_lookups.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/dns.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/params.h"
#include "smtp.h"

static bool smtp_want4, smtp_want6;
static bool smtp_use_dns, smtp_use_native;
static int smtp_prefer; /* AF_INET, AF_INET6 or 0 */
static int smtp_dns_flags; /* DNS_FLAG_DNSSEC or 0 */

void
smtp_addr_init(void)
{
	struct argv *a;
	size_t i;

	a = argv_split(var_inet_protocols, " \t\r\n,");
	for (i = 0; i < a->argc; i++) {
		if (strcmp(a->argv[i], "all") == 0)
			smtp_want4 = smtp_want6 = true;
		else if (strcmp(a->argv[i], "ipv4") == 0)
			smtp_want4 = true;
		else if (strcmp(a->argv[i], "ipv6") == 0)
			smtp_want6 = true;
		else
			msg_fatal("bad inet_protocols value: %s",
			    var_inet_protocols);
	}
	argv_free(a);
	if (!smtp_want4 && !smtp_want6)
		smtp_want4 = true;

	a = argv_split(SMTP_VAR(host_lookup), " \t\r\n,");
	for (i = 0; i < a->argc; i++) {
		if (strcmp(a->argv[i], "dns") == 0)
			smtp_use_dns = true;
		else if (strcmp(a->argv[i], "native") == 0)
			smtp_use_native = true;
		else
			msg_fatal("bad %s_host_lookup value: %s",
			    smtp_lmtp ? "lmtp" : "smtp", a->argv[i]);
	}
	argv_free(a);
	if (strcmp(SMTP_VAR(dns_support_level), "dnssec") == 0)
		smtp_dns_flags = DNS_FLAG_DNSSEC;
	else if (*SMTP_VAR(dns_support_level) &&
		 strcmp(SMTP_VAR(dns_support_level), "enabled") != 0 &&
		 strcmp(SMTP_VAR(dns_support_level), "disabled") != 0)
		msg_fatal("bad %s_dns_support_level value: %s",
		    smtp_lmtp ? "lmtp" : "smtp", SMTP_VAR(dns_support_level));
	if (var_disable_dns_lookups ||
	    strcmp(SMTP_VAR(dns_support_level), "disabled") == 0) {
		smtp_use_dns = false;
		smtp_use_native = true;
	}
	if (!smtp_use_dns && !smtp_use_native)
		smtp_use_dns = true;

	if (strcmp(SMTP_VAR(address_preference), "ipv4") == 0)
		smtp_prefer = AF_INET;
	else if (strcmp(SMTP_VAR(address_preference), "ipv6") == 0)
		smtp_prefer = AF_INET6;
	else if (strcmp(SMTP_VAR(address_preference), "any") != 0)
		msg_fatal("bad %s_address_preference value: %s",
		    smtp_lmtp ? "lmtp" : "smtp", SMTP_VAR(address_preference));
}

static struct smtp_addr *
smtp_addr_add(struct smtp_addr_list *l)
{
	struct smtp_addr *a;

	if (l->count == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 8;
		l->a = xreallocarray(l->a, l->alloc, sizeof(*l->a));
	}
	a = &l->a[l->count++];
	memset(a, 0, sizeof(*a));
	a->pref = -1;
	return a;
}

void
smtp_addr_free(struct smtp_addr_list *l)
{
	for (size_t i = 0; i < l->count; i++) {
		free(l->a[i].host);
		free(l->a[i].addr);
		free(l->a[i].dest);
	}
	free(l->a);
	memset(l, 0, sizeof(*l));
}

/* A port number or service name: > 0, or -1. */
static int
smtp_port(const char *s)
{
	struct servent *se;
	char *end;
	long n;

	if (*s == 0)
		return -1;
	n = strtol(s, &end, 10);
	if (*end == 0)
		return n > 0 && n < 65536 ? (int)n : -1;
	if ((se = getservbyname(s, "tcp")) != NULL)
		return ntohs((unsigned short)se->s_port);
	/* Without /etc/services: the two names this client needs. */
	if (strcmp(s, "smtp") == 0)
		return 25;
	if (strcmp(s, "lmtp") == 0)
		return 24;
	return -1;
}

/* Append one address of host; false when the family is not wanted. */
static bool
smtp_addr_push(struct smtp_addr_list *l, const char *host, int family,
    const void *bytes, int port, int pref, const char *dest, bool mx,
    bool fallback)
{
	char buf[INET6_ADDRSTRLEN];
	struct smtp_addr *a;

	if ((family == AF_INET && !smtp_want4) ||
	    (family == AF_INET6 && !smtp_want6))
		return false;
	if (inet_ntop(family, bytes, buf, sizeof(buf)) == NULL)
		return false;
	/* One address once per list, as Postfix's duplicate filter. */
	for (size_t i = 0; i < l->count; i++)
		if (l->a[i].family == family &&
		    strcmp(l->a[i].addr, buf) == 0 && l->a[i].port == port)
			return true;
	a = smtp_addr_add(l);
	a->host = xstrdup(host);
	a->addr = xstrdup(buf);
	a->family = family;
	memcpy(a->bytes, bytes, family == AF_INET ? 4 : 16);
	a->port = port;
	a->pref = pref;
	a->dest = xstrdup(dest);
	a->mx = mx;
	a->fallback = fallback;
	return true;
}

/* smtp_address_preference: the preferred family first, stable. */
static void
smtp_addr_order(struct smtp_addr_list *l, size_t from)
{
	size_t i, j;

	if (smtp_prefer == 0)
		return;
	for (i = from + 1; i < l->count; i++) {
		struct smtp_addr t = l->a[i];

		if (t.family != smtp_prefer)
			continue;
		for (j = i; j > from && l->a[j - 1].family != smtp_prefer; j--)
			l->a[j] = l->a[j - 1];
		l->a[j] = t;
	}
}

/* Shuffle l->a[from..to) (smtp_randomize_addresses). */
static void
smtp_addr_shuffle(struct smtp_addr_list *l, size_t from, size_t to)
{
	if (!SMTP_VAR(randomize_addresses) || to - from < 2)
		return;
	for (size_t i = to - 1; i > from; i--) {
		size_t j = from + (size_t)random() % (i - from + 1);
		struct smtp_addr t = l->a[i];

		l->a[i] = l->a[j];
		l->a[j] = t;
	}
}

/*
 * The addresses of one host: DNS_OK (some were added), DNS_NOTFOUND or
 * DNS_RETRY with why and dsn.
 */
static int
smtp_host_addrs(struct smtp_addr_list *l, const char *host, int port, int pref,
    const char *dest, bool mx, bool fallback, struct str *dsn, struct str *why)
{
	unsigned char bytes[16];
	size_t first = l->count;
	int ret = DNS_NOTFOUND;

	/* An address literal needs no lookup. */
	if (inet_pton(AF_INET, host, bytes) == 1) {
		if (!smtp_addr_push(l, host, AF_INET, bytes, port, pref, dest,
			mx, fallback))
			goto nofamily;
		return DNS_OK;
	}
	if (strncasecmp(host, "ipv6:", 5) == 0)
		host += 5;
	if (inet_pton(AF_INET6, host, bytes) == 1) {
		if (!smtp_addr_push(l, host, AF_INET6, bytes, port, pref, dest,
			mx, fallback))
			goto nofamily;
		return DNS_OK;
	}
	if (smtp_use_dns) {
		struct dns_reply *r = NULL;

		ret = dns_lookup_addr(host, smtp_dns_flags, smtp_want4,
		    smtp_want6, &r, why);
		if (ret == DNS_OK) {
			for (size_t i = 0; i < r->count; i++)
				if (r->rr[i].addr_len == 4 ||
				    r->rr[i].addr_len == 16)
					(void)smtp_addr_push(l, host,
					    r->rr[i].addr_len == 4 ? AF_INET
								   : AF_INET6,
					    r->rr[i].addr, port, pref, dest, mx,
					    fallback);
			for (size_t i = first; i < l->count; i++)
				l->a[i].addr_secure = r->ad;
		}
		dns_reply_free(r);
		if (ret == DNS_OK && l->count > first) {
			smtp_addr_shuffle(l, first, l->count);
			smtp_addr_order(l, first);
			return DNS_OK;
		}
		str_set(dsn, ret == DNS_RETRY ? "4.4.3" : "5.4.4");
	}
	if (smtp_use_native && (ret != DNS_OK || !smtp_use_dns)) {
		struct addrinfo hints = { 0 }, *res = NULL, *ai;
		int err;

		hints.ai_socktype = SOCK_STREAM;
		hints.ai_family = smtp_want4 && smtp_want6 ? AF_UNSPEC
				  : smtp_want4             ? AF_INET
							   : AF_INET6;
		err = getaddrinfo(host, NULL, &hints, &res);
		if (err == 0) {
			for (ai = res; ai; ai = ai->ai_next) {
				if (ai->ai_family == AF_INET)
					(void)smtp_addr_push(l, host, AF_INET,
					    &((struct sockaddr_in *)ai->ai_addr)
						 ->sin_addr,
					    port, pref, dest, mx, fallback);
				else if (ai->ai_family == AF_INET6)
					(void)smtp_addr_push(l, host, AF_INET6,
					    &((struct sockaddr_in6 *)
						    ai->ai_addr)
						 ->sin6_addr,
					    port, pref, dest, mx, fallback);
			}
			freeaddrinfo(res);
		}
		if (l->count > first) {
			smtp_addr_order(l, first);
			return DNS_OK;
		}
		/* Postfix's wording for a native lookup failure. */
		ret = err == EAI_AGAIN ? DNS_RETRY : DNS_NOTFOUND;
		str_set(dsn, ret == DNS_RETRY ? "4.4.3" : "5.4.4");
		str_fmt(why,
		    "Host or domain name not found. "
		    "Name service error for name=%s type=%s: %s",
		    host, smtp_want4 ? "A" : "AAAA",
		    ret == DNS_RETRY ? "Host not found, try again"
				     : "Host not found");
	}
	return ret == DNS_OK ? DNS_NOTFOUND : ret;
nofamily:
	str_set(dsn, "5.4.4");
	str_fmt(why,
	    "Host or domain name not found. "
	    "Name service error for name=%s type=%s: Host not found",
	    host, smtp_want4 ? "A" : "AAAA");
	return DNS_NOTFOUND;
}

/* The MX records of domain, then their addresses. */
static int
smtp_mx_addrs(struct smtp_addr_list *l, const char *domain, int port,
    const char *dest, bool fallback, struct str *dsn, struct str *why)
{
	struct dns_reply *r = NULL;
	struct str *hwhy = str_new(0), *hdsn = str_new(0);
	size_t first = l->count, i, j;
	int ret, worst = DNS_NOTFOUND;

	ret = dns_lookup(domain, DNS_T_MX, smtp_dns_flags, &r, why);
	if (ret == DNS_NOTFOUND) {
		/* No MX: the domain's own addresses (RFC 5321 5.1). */
		ret = smtp_host_addrs(l, domain, port, -1, dest, false,
		    fallback, dsn, why);
		goto out;
	}
	if (ret != DNS_OK) {
		str_set(dsn, ret == DNS_RETRY ? "4.4.3" : "5.4.4");
		if (ret == DNS_FAIL)
			ret = DNS_NOTFOUND;
		goto out;
	}
	if (dns_null_mx(r)) {
		str_set(dsn, "5.1.0");
		str_fmt(why, "Domain %s does not accept mail (nullMX)", domain);
		ret = DNS_FAIL;
		goto out;
	}
	dns_sort_mx(r);
	/* Random order among equal preferences. */
	for (i = 0; i < r->count; i = j) {
		for (j = i + 1; j < r->count && r->rr[j].pref == r->rr[i].pref;
		     j++)
			;
		if (SMTP_VAR(randomize_addresses))
			for (size_t k = j - 1; k > i; k--) {
				size_t m = i + (size_t)random() % (k - i + 1);
				struct dns_rr t = r->rr[k];

				r->rr[k] = r->rr[m];
				r->rr[m] = t;
			}
	}
	for (i = 0; i < r->count; i++) {
		size_t before = l->count;
		int hret;

		if (*r->rr[i].data == 0)
			continue;
		hret = smtp_host_addrs(l, r->rr[i].data, port, r->rr[i].pref,
		    dest, true, fallback, hdsn, hwhy);
		for (size_t k = before; k < l->count; k++)
			l->a[k].mx_secure = r->ad;
		if (hret == DNS_RETRY)
			worst = DNS_RETRY;
		if (hret != DNS_OK && (worst == hret || !str_len(why))) {
			str_set(why, str_ptr(hwhy));
			str_set(dsn, str_ptr(hdsn));
		}
	}
	if (SMTP_VAR(mx_address_limit) > 0 &&
	    l->count - first > (size_t)SMTP_VAR(mx_address_limit)) {
		for (i = first + (size_t)SMTP_VAR(mx_address_limit);
		     i < l->count; i++) {
			free(l->a[i].host);
			free(l->a[i].addr);
			free(l->a[i].dest);
		}
		l->count = first + (size_t)SMTP_VAR(mx_address_limit);
	}
	if (l->count > first) {
		ret = DNS_OK;
	} else {
		ret = worst;
		if (SMTP_VAR(defer_if_no_mx_address_found) &&
		    ret == DNS_NOTFOUND) {
			ret = DNS_RETRY;
			str_set(dsn, "4.4.4");
		}
	}
out:
	dns_reply_free(r);
	str_free(hwhy);
	str_free(hdsn);
	return ret;
}

/* One next hop: its addresses appended to l. */
static int
smtp_dest_addrs(struct smtp_addr_list *l, const char *dest, bool fallback,
    struct str *dsn, struct str *why)
{
	char *copy = xstrdup(dest), *host = copy, *port_s = NULL, *p;
	bool nomx = smtp_lmtp, inet_prefix = false;
	int port, ret;

	if (strncmp(host, "unix:", 5) == 0) {
		struct smtp_addr *a = smtp_addr_add(l);

		a->host = xstrdup(var_myhostname);
		a->addr = xstrdup(host + 5);
		a->family = AF_UNIX;
		a->dest = xstrdup(dest);
		a->fallback = fallback;
		free(copy);
		return DNS_OK;
	}
	if (strncmp(host, "inet:", 5) == 0) {
		host += 5;
		inet_prefix = true;
	}
	if (*host == '[') {
		if ((p = strchr(host, ']')) == NULL ||
		    (p[1] != 0 && p[1] != ':'))
			goto bad;
		*p = 0;
		if (p[1] == ':')
			port_s = p + 2;
		host++;
		nomx = true;
	} else if ((p = strrchr(host, ':')) != NULL) {
		if (strchr(host, ':') != p)
			goto bad; /* an IPv6 address needs brackets */
		*p = 0;
		port_s = p + 1;
	}
	(void)inet_prefix;
	port = smtp_port(port_s ? port_s : SMTP_VAR(tcp_port));
	if (port < 0 || *host == 0)
		goto bad;
	if (nomx)
		ret = smtp_host_addrs(l, host, port, -1, dest, false, fallback,
		    dsn, why);
	else
		ret = smtp_mx_addrs(l, host, port, dest, fallback, dsn, why);
	free(copy);
	return ret;
bad:
	/* Postfix defers a malformed next hop as a configuration error. */
	msg_warn("bad next-hop destination: %s", dest);
	str_set(dsn, "4.3.5");
	str_fmt(why, "bad next-hop destination: %s", dest);
	free(copy);
	return DNS_RETRY;
}

int
smtp_addr_list(struct smtp_state *state, struct smtp_addr_list *l,
    struct str *dsn, struct str *why)
{
	struct str *dsn2 = str_new(0), *why2 = str_new(0);
	struct argv *dests, *fb;
	int ret = DNS_NOTFOUND, r;
	size_t i;

	dests = argv_split(str_ptr(state->req->nexthop), " \t\r\n,");
	for (i = 0; i < dests->argc; i++) {
		str_reset(why2);
		r = smtp_dest_addrs(l, dests->argv[i], false, dsn2, why2);
		if (r == DNS_FAIL) {
			/* Null MX: final, no fallback relay. */
			str_set(dsn, str_ptr(dsn2));
			str_set(why, str_ptr(why2));
			ret = DNS_NOTFOUND;
			l->count = 0;
			goto out;
		}
		if (r == DNS_OK) {
			ret = DNS_OK;
		} else if (ret != DNS_OK &&
			   (ret != DNS_RETRY || !str_len(why))) {
			if (r == DNS_RETRY || !str_len(why)) {
				str_set(dsn, str_ptr(dsn2));
				str_set(why, str_ptr(why2));
			}
			if (r == DNS_RETRY)
				ret = DNS_RETRY;
		}
	}
	/* smtp_fallback_relay: after the destination's own servers. */
	fb = argv_split(SMTP_VAR(fallback_relay), " \t\r\n,");
	for (i = 0; i < fb->argc; i++) {
		str_reset(why2);
		if (smtp_dest_addrs(l, fb->argv[i], true, dsn2, why2) == DNS_OK)
			ret = DNS_OK;
	}
	argv_free(fb);
out:
	if (l->count == 0 && ret == DNS_OK)
		ret = DNS_NOTFOUND;
	argv_free(dests);
	str_free(dsn2);
	str_free(why2);
	return ret;
}
