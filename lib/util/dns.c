/*
 * dns - a small DNS client on res_nquery (see dns.h).  The reply is
 * decoded here with dn_expand rather than trusted to any structure: every
 * length is checked against the message before it is used.
 */
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <netdb.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/dns.h"
#include "lib/util/str.h"

/* glibc 2.31+ strips the AD bit unless told to trust the server. */
#ifndef RES_TRUSTAD
#define RES_TRUSTAD 0
#endif

#define DNS_HDR_LEN   12
#define DNS_MSG_START 4096
#define DNS_MSG_MAX   65536
#define DNS_NAME_MAX  253

static struct __res_state dns_res;
static bool dns_res_ready;

const char *
dns_type_name(int type)
{
	switch (type) {
	case DNS_T_A:
		return "A";
	case DNS_T_NS:
		return "NS";
	case DNS_T_CNAME:
		return "CNAME";
	case DNS_T_SOA:
		return "SOA";
	case DNS_T_PTR:
		return "PTR";
	case DNS_T_MX:
		return "MX";
	case DNS_T_TXT:
		return "TXT";
	case DNS_T_AAAA:
		return "AAAA";
	case DNS_T_TLSA:
		return "TLSA";
	}
	return "unknown";
}

struct dns_reply *
dns_reply_free(struct dns_reply *reply)
{
	size_t i;

	if (reply == NULL)
		return NULL;
	for (i = 0; i < reply->count; i++) {
		free(reply->rr[i].name);
		free(reply->rr[i].data);
		free(reply->rr[i].blob);
	}
	free(reply->rr);
	free(reply->cname);
	free(reply);
	return NULL;
}

static unsigned
dns_get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static unsigned
dns_get32(const unsigned char *p)
{
	return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 |
	       (unsigned)p[2] << 8 | p[3];
}

/* A compressed name at p into a malloc'd lower-case string ("" = root). */
static char *
dns_name(const unsigned char *msg, const unsigned char *end,
    const unsigned char *p, int *len)
{
	char buf[NS_MAXDNAME];
	char *s;

	*len = dn_expand(msg, end, p, buf, sizeof(buf));
	if (*len < 0)
		return NULL;
	if (strcmp(buf, ".") == 0)
		buf[0] = 0;
	for (s = buf; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	return xstrdup(buf);
}

/* Decode one record's data; 0, or -1 when it does not fit its type. */
static int
dns_rdata(const unsigned char *msg, const unsigned char *end,
    const unsigned char *p, size_t rdlen, struct dns_rr *rr)
{
	char abuf[INET6_ADDRSTRLEN];
	struct str *txt;
	char *mname, *rname;
	size_t n, i;
	int len;

	switch (rr->type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		n = rr->type == DNS_T_A ? 4 : 16;
		if (rdlen != n)
			return -1;
		memcpy(rr->addr, p, n);
		rr->addr_len = n;
		if (inet_ntop(n == 4 ? AF_INET : AF_INET6, p, abuf,
			sizeof(abuf)) == NULL)
			return -1;
		rr->data = xstrdup(abuf);
		return 0;
	case DNS_T_MX:
		if (rdlen < 3)
			return -1;
		rr->pref = (int)dns_get16(p);
		rr->data = dns_name(msg, end, p + 2, &len);
		return rr->data && (size_t)len + 2 == rdlen ? 0 : -1;
	case DNS_T_NS:
	case DNS_T_PTR:
	case DNS_T_CNAME:
		rr->data = dns_name(msg, end, p, &len);
		return rr->data && (size_t)len == rdlen ? 0 : -1;
	case DNS_T_TXT:
		txt = str_new(rdlen);
		for (i = 0; i < rdlen; i += n + 1) {
			n = p[i];
			if (i + 1 + n > rdlen) {
				str_free(txt);
				return -1;
			}
			str_catn(txt, p + i + 1, n);
		}
		rr->data = str_steal(txt);
		return 0;
	case DNS_T_TLSA:
		/* usage, selector, matching type, then at least one byte. */
		if (rdlen < 4)
			return -1;
		rr->usage = p[0];
		rr->selector = p[1];
		rr->mtype = p[2];
		rr->blob_len = rdlen - 3;
		rr->blob = xmalloc(rr->blob_len);
		memcpy(rr->blob, p + 3, rr->blob_len);
		txt = str_new(2 * rr->blob_len + 1);
		for (i = 0; i < rr->blob_len; i++) {
			str_catc(txt, "0123456789abcdef"[rr->blob[i] >> 4]);
			str_catc(txt, "0123456789abcdef"[rr->blob[i] & 15]);
		}
		rr->data = str_steal(txt);
		return 0;
	case DNS_T_SOA:
		mname = dns_name(msg, end, p, &len);
		if (mname == NULL)
			return -1;
		if ((size_t)len >= rdlen) {
			free(mname);
			return -1;
		}
		rname = dns_name(msg, end, p + len, &len);
		if (rname == NULL) {
			free(mname);
			return -1;
		}
		txt = str_new(100);
		str_fmt(txt, "%s %s", mname, rname);
		free(mname);
		free(rname);
		rr->data = str_steal(txt);
		return 0;
	}
	return -1;
}

int
dns_parse(const unsigned char *msg, size_t len, int type,
    struct dns_reply **out)
{
	const unsigned char *end = msg + len, *p;
	struct dns_reply *reply;
	struct dns_rr rr;
	unsigned qdcount, ancount, rcode, rtype, rdlen, i;
	char *owner;
	int n;

	if (out)
		*out = NULL;
	if (len < DNS_HDR_LEN || len > DNS_MSG_MAX)
		return DNS_FAIL;
	rcode = msg[3] & 0x0f;
	if (rcode == 2)
		return DNS_RETRY;
	if (rcode != 0 && rcode != 3)
		return DNS_FAIL;
	qdcount = dns_get16(msg + 4);
	ancount = dns_get16(msg + 6);
	reply = xcalloc(1, sizeof(*reply));
	reply->ad = (msg[3] & 0x20) != 0;
	reply->nxdomain = rcode == 3;
	p = msg + DNS_HDR_LEN;
	for (i = 0; i < qdcount; i++) {
		n = dn_skipname(p, end);
		if (n < 0 || end - (p + n) < 4)
			goto bad;
		p += n + 4;
	}
	for (i = 0; i < ancount; i++) {
		owner = dns_name(msg, end, p, &n);
		if (owner == NULL || end - (p + n) < 10) {
			free(owner);
			goto bad;
		}
		p += n;
		memset(&rr, 0, sizeof(rr));
		rr.name = owner;
		rtype = dns_get16(p);
		rr.type = (int)rtype;
		rr.ttl = dns_get32(p + 4);
		rdlen = dns_get16(p + 8);
		p += 10;
		if ((size_t)(end - p) < rdlen) {
			free(owner);
			goto bad;
		}
		if (dns_get16(p - 8) != 1 || (int)rtype != type) {
			/* CNAME chains lead to the records asked for. */
			if (rtype == DNS_T_CNAME && type != DNS_T_CNAME &&
			    dns_rdata(msg, end, p, rdlen, &rr) == 0) {
				free(reply->cname);
				reply->cname = rr.data;
				rr.data = NULL;
			}
			free(rr.data);
			free(owner);
			p += rdlen;
			continue;
		}
		if (dns_rdata(msg, end, p, rdlen, &rr) < 0) {
			free(rr.data);
			free(rr.blob);
			free(owner);
			goto bad;
		}
		p += rdlen;
		reply->rr = xreallocarray(reply->rr, reply->count + 1,
		    sizeof(*reply->rr));
		reply->rr[reply->count++] = rr;
	}
	if (reply->count == 0 || reply->nxdomain) {
		if (out)
			*out = reply;
		else
			dns_reply_free(reply);
		return DNS_NOTFOUND;
	}
	if (out)
		*out = reply;
	else
		dns_reply_free(reply);
	return DNS_OK;
bad:
	dns_reply_free(reply);
	return DNS_FAIL;
}

/* Names that a query may carry: host names, DNSBL names, "_x" labels. */
static bool
dns_name_ok(const char *name)
{
	size_t len = strlen(name);
	const char *s;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_NAME_MAX || name[0] == '.')
		return false;
	for (s = name; s < name + len; s++) {
		if (*s == '.' && s[1] == '.')
			return false;
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' &&
		    *s != '.')
			return false;
	}
	return true;
}

static const char *
dns_herror(int err)
{
	switch (err) {
	case HOST_NOT_FOUND:
		return "Host not found";
	case TRY_AGAIN:
		return "Host not found, try again";
	case NO_RECOVERY:
		return "Non-recoverable error";
	case NO_DATA:
		return "Host found but no data record of requested type";
	}
	return "Unknown error";
}

static void
dns_why(struct str *why, const char *name, int type, int err)
{
	if (why)
		str_fmt(why,
		    "Host or domain name not found. Name service error "
		    "for name=%s type=%s: %s",
		    name, dns_type_name(type), dns_herror(err));
}

int
dns_lookup(const char *name, int type, int flags, struct dns_reply **out,
    struct str *why)
{
	unsigned char *msg;
	size_t size = DNS_MSG_START;
	int len, rc, err;

	if (out)
		*out = NULL;
	if (!dns_name_ok(name)) {
		dns_why(why, name, type, HOST_NOT_FOUND);
		return DNS_NOTFOUND;
	}
	if (!dns_res_ready) {
		if (res_ninit(&dns_res) < 0) {
			if (why)
				str_set(why, "Name service initialization "
					     "failure");
			return DNS_RETRY;
		}
		dns_res_ready = true;
	}
	if (flags & DNS_FLAG_DNSSEC)
		dns_res.options |= RES_USE_EDNS0 | RES_USE_DNSSEC | RES_TRUSTAD;
	else
		dns_res.options &=
		    ~(unsigned long)(RES_USE_DNSSEC | RES_TRUSTAD);
	msg = xmalloc(size);
	for (;;) {
		len = res_nquery(&dns_res, name, C_IN, type, msg, (int)size);
		if (len < 0 || (size_t)len <= size || size >= DNS_MSG_MAX)
			break;
		/* The answer did not fit: ask again with room for it. */
		size = (size_t)len > DNS_MSG_MAX ? DNS_MSG_MAX : (size_t)len;
		free(msg);
		msg = xmalloc(size);
	}
	if (len < 0) {
		err = dns_res.res_h_errno;
		free(msg);
		dns_why(why, name, type, err);
		if (err == HOST_NOT_FOUND || err == NO_DATA) {
			if (out) {
				*out = xcalloc(1, sizeof(**out));
				(*out)->nxdomain = err == HOST_NOT_FOUND;
			}
			return DNS_NOTFOUND;
		}
		return err == NO_RECOVERY ? DNS_FAIL : DNS_RETRY;
	}
	if ((size_t)len > size)
		len = (int)size;
	rc = dns_parse(msg, (size_t)len, type, out);
	free(msg);
	if (rc == DNS_NOTFOUND)
		dns_why(why, name, type, NO_DATA);
	else if (rc == DNS_RETRY)
		dns_why(why, name, type, TRY_AGAIN);
	else if (rc == DNS_FAIL && why)
		str_fmt(why,
		    "Name service error for name=%s type=%s: "
		    "Malformed or unexpected name server reply",
		    name, dns_type_name(type));
	return rc;
}

int
dns_lookup_addr(const char *name, int flags, bool want4, bool want6,
    struct dns_reply **out, struct str *why)
{
	struct dns_reply *r4 = NULL, *r6 = NULL;
	int rc4 = DNS_NOTFOUND, rc6 = DNS_NOTFOUND, rc;
	struct str *why6 = str_new(100);
	size_t i;

	if (want4)
		rc4 = dns_lookup(name, DNS_T_A, flags, &r4, why);
	if (want6)
		rc6 = dns_lookup(name, DNS_T_AAAA, flags, &r6,
		    want4 ? why6 : why);
	if (rc4 == DNS_OK || rc6 == DNS_OK)
		rc = DNS_OK;
	else if (rc4 == DNS_RETRY || rc6 == DNS_RETRY)
		rc = DNS_RETRY;
	else
		rc = want4 ? rc4 : rc6;
	if (want4 && rc4 != rc && rc6 == rc && why)
		str_set(why, str_ptr(why6));
	str_free(why6);
	if (r4 == NULL) {
		r4 = r6;
		r6 = NULL;
	}
	if (r4 && r6) {
		for (i = 0; i < r6->count; i++) {
			r4->rr = xreallocarray(r4->rr, r4->count + 1,
			    sizeof(*r4->rr));
			r4->rr[r4->count++] = r6->rr[i];
		}
		r6->count = 0;
		r4->ad = r4->ad && r6->ad;
		r4->nxdomain = r4->nxdomain && r6->nxdomain;
	}
	dns_reply_free(r6);
	if (out && (rc == DNS_OK || rc == DNS_NOTFOUND))
		*out = r4;
	else {
		dns_reply_free(r4);
		if (out)
			*out = NULL;
	}
	return rc;
}

static int
dns_mx_cmp(const void *a, const void *b)
{
	const struct dns_rr *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return strcmp(x->data, y->data);
}

void
dns_sort_mx(struct dns_reply *reply)
{
	if (reply && reply->count > 1)
		qsort(reply->rr, reply->count, sizeof(*reply->rr), dns_mx_cmp);
}

bool
dns_null_mx(const struct dns_reply *reply)
{
	return reply && reply->count == 1 && reply->rr[0].type == DNS_T_MX &&
	       reply->rr[0].data[0] == 0;
}

int
dns_reverse(const char *addr, const char *suffix, struct str *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	int i;

	str_reset(out);
	if (inet_pton(AF_INET, addr, b) == 1) {
		str_fmt(out, "%u.%u.%u.%u.%s", b[3], b[2], b[1], b[0],
		    suffix ? suffix : "in-addr.arpa");
		return 0;
	}
	if (inet_pton(AF_INET6, addr, b) == 1) {
		for (i = 15; i >= 0; i--) {
			str_catc(out, hex[b[i] & 15]);
			str_catc(out, '.');
			str_catc(out, hex[b[i] >> 4]);
			str_catc(out, '.');
		}
		str_cat(out, suffix ? suffix : "ip6.arpa");
		return 0;
	}
	return -1;
}
