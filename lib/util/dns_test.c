/*
 * dns_test - unit tests for dns: reverse names, reply decoding (on answers
 * built here), MX ordering, the null MX, name checks.  Lookups through a
 * server are tested end to end with tests/dnsfake.py.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util/dns.h"
#include "lib/util/str.h"
#include "lib/util/test.h"

static void
test_reverse(struct test *t)
{
	struct str *s = str_new(0);

	TEST_INT(t, dns_reverse("192.0.2.10", NULL, s), 0);
	TEST_STR(t, str_ptr(s), "10.2.0.192.in-addr.arpa");
	TEST_INT(t, dns_reverse("192.0.2.10", "zen.example", s), 0);
	TEST_STR(t, str_ptr(s), "10.2.0.192.zen.example");
	TEST_INT(t, dns_reverse("2001:db8::1", NULL, s), 0);
	TEST_STR(t, str_ptr(s),
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
	    "ip6.arpa");
	TEST_INT(t, dns_reverse("2001:db8::1", "bl.example", s), 0);
	TEST_TRUE(t, strstr(str_ptr(s), ".2.bl.example") != NULL);
	TEST_INT(t, dns_reverse("host.example", NULL, s), -1);
	TEST_INT(t, dns_reverse("1.2.3", NULL, s), -1);
	str_free(s);
}

/* A tiny answer builder: header, question, then records. */
struct msg {
	unsigned char b[1024];
	size_t len;
	unsigned short *ancount;
};

static void
put(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void
put16(struct msg *m, unsigned v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	put(m, b, 2);
}

static void
put_name(struct msg *m, const char *name)
{
	const char *dot;
	size_t n;
	unsigned char c;

	while (*name) {
		dot = strchr(name, '.');
		n = dot ? (size_t)(dot - name) : strlen(name);
		c = (unsigned char)n;
		put(m, &c, 1);
		put(m, name, n);
		name += n + (dot != NULL);
	}
	c = 0;
	put(m, &c, 1);
}

static void
msg_start(struct msg *m, int rcode, unsigned ancount, bool ad,
    const char *qname, int qtype)
{
	unsigned char h[12] = { 0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0,
		0 };

	m->len = 0;
	h[3] = (unsigned char)(0x80 | (ad ? 0x20 : 0) | rcode);
	h[7] = (unsigned char)ancount;
	put(m, h, sizeof(h));
	put_name(m, qname);
	put16(m, (unsigned)qtype);
	put16(m, 1);
}

static void
msg_rr(struct msg *m, const char *name, int type, unsigned ttl,
    const void *data, size_t len)
{
	put_name(m, name);
	put16(m, (unsigned)type);
	put16(m, 1);
	put16(m, ttl >> 16);
	put16(m, ttl & 0xffff);
	put16(m, (unsigned)len);
	put(m, data, len);
}

static void
msg_mx(struct msg *m, const char *name, unsigned pref, const char *host)
{
	struct msg d = { .len = 0 };

	put16(&d, pref);
	put_name(&d, host);
	msg_rr(m, name, 15, 300, d.b, d.len);
}

static void
test_parse_mx(struct test *t)
{
	struct msg m;
	struct dns_reply *r;

	msg_start(&m, 0, 3, false, "example.org", DNS_T_MX);
	msg_mx(&m, "example.org", 20, "b.example.org");
	msg_mx(&m, "example.org", 10, "z.example.org");
	msg_mx(&m, "Example.org", 20, "A.example.org");
	TEST_INT(t, dns_parse(m.b, m.len, DNS_T_MX, &r), DNS_OK);
	TEST_INT(t, r->count, 3);
	dns_sort_mx(r);
	TEST_STR(t, r->rr[0].data, "z.example.org");
	TEST_STR(t, r->rr[1].data, "a.example.org");
	TEST_INT(t, r->rr[1].pref, 20);
	TEST_STR(t, r->rr[2].data, "b.example.org");
	TEST_STR(t, r->rr[2].name, "example.org");
	TEST_INT(t, r->rr[0].ttl, 300);
	TEST_TRUE(t, !r->ad);
	TEST_TRUE(t, !dns_null_mx(r));
	dns_reply_free(r);

	msg_start(&m, 0, 1, true, "example.org", DNS_T_MX);
	msg_mx(&m, "example.org", 0, "");
	TEST_INT(t, dns_parse(m.b, m.len, DNS_T_MX, &r), DNS_OK);
	TEST_TRUE(t, dns_null_mx(r));
	TEST_TRUE(t, r->ad);
	dns_reply_free(r);
}

static void
test_parse_cname_addr(struct test *t)
{
	struct msg m, d = { .len = 0 };
	struct dns_reply *r;
	unsigned char a[4] = { 192, 0, 2, 1 };
	unsigned char aaaa[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	put_name(&d, "real.example");
	msg_start(&m, 0, 2, false, "alias.example", DNS_T_A);
	msg_rr(&m, "alias.example", DNS_T_CNAME, 60, d.b, d.len);
	msg_rr(&m, "real.example", DNS_T_A, 30, a, 4);
	TEST_INT(t, dns_parse(m.b, m.len, DNS_T_A, &r), DNS_OK);
	TEST_INT(t, r->count, 1);
	TEST_STR(t, r->cname, "real.example");
	TEST_STR(t, r->rr[0].data, "192.0.2.1");
	TEST_INT(t, r->rr[0].addr_len, 4);
	dns_reply_free(r);

	msg_start(&m, 0, 1, false, "v6.example", DNS_T_AAAA);
	msg_rr(&m, "v6.example", DNS_T_AAAA, 30, aaaa, 16);
	TEST_INT(t, dns_parse(m.b, m.len, DNS_T_AAAA, &r), DNS_OK);
	TEST_STR(t, r->rr[0].data, "2001:db8::1");
	dns_reply_free(r);

	/* An A record of the wrong length is a broken reply. */
	msg_start(&m, 0, 1, false, "bad.example", DNS_T_A);
	msg_rr(&m, "bad.example", DNS_T_A, 30, a, 3);
	TEST_INT(t, dns_parse(m.b, m.len, DNS_T_A, &r), DNS_FAIL);
	TEST_TRUE(t, r == NULL);
}

static void
test_parse_txt_status(struct test *t)
{
	struct msg m;
	struct dns_reply *r;
	const unsigned char txt[] = "\5hello\6 world";

	msg_start(&m, 0, 1, false, "2.0.0.127.bl.example", DNS_T_TXT);
	msg_rr(&m, "2.0.0.127.bl.example", DNS_T_TXT, 60, txt, sizeof(txt) - 1);
	TEST_INT(t, dns_parse(m.b, m.len, DNS_T_TXT, &r), DNS_OK);
	TEST_STR(t, r->rr[0].data, "hello world");
	dns_reply_free(r);

	/* A string longer than its record. */
	msg_start(&m, 0, 1, false, "x.example", DNS_T_TXT);
	msg_rr(&m, "x.example", DNS_T_TXT, 60, "\11abc", 4);
	TEST_INT(t, dns_parse(m.b, m.len, DNS_T_TXT, &r), DNS_FAIL);

	msg_start(&m, 3, 0, false, "none.example", DNS_T_A);
	TEST_INT(t, dns_parse(m.b, m.len, DNS_T_A, &r), DNS_NOTFOUND);
	TEST_TRUE(t, r->nxdomain);
	dns_reply_free(r);
	msg_start(&m, 0, 0, false, "nodata.example", DNS_T_A);
	TEST_INT(t, dns_parse(m.b, m.len, DNS_T_A, &r), DNS_NOTFOUND);
	TEST_TRUE(t, !r->nxdomain);
	dns_reply_free(r);
	msg_start(&m, 2, 0, false, "fail.example", DNS_T_A);
	TEST_INT(t, dns_parse(m.b, m.len, DNS_T_A, &r), DNS_RETRY);
	msg_start(&m, 5, 0, false, "refused.example", DNS_T_A);
	TEST_INT(t, dns_parse(m.b, m.len, DNS_T_A, &r), DNS_FAIL);
	/* Truncated in the middle of a record. */
	msg_start(&m, 0, 1, false, "short.example", DNS_T_A);
	msg_rr(&m, "short.example", DNS_T_A, 30, "\1\2\3\4", 4);
	TEST_INT(t, dns_parse(m.b, m.len - 3, DNS_T_A, &r), DNS_FAIL);
	TEST_INT(t, dns_parse(m.b, 5, DNS_T_A, &r), DNS_FAIL);
}

static void
test_bad_names(struct test *t)
{
	struct str *why = str_new(0);

	/* Refused before any query is sent. */
	TEST_INT(t, dns_lookup("a..b", DNS_T_A, 0, NULL, why), DNS_NOTFOUND);
	TEST_STR(t, str_ptr(why),
	    "Host or domain name not found. Name service error for "
	    "name=a..b type=A: Host not found");
	TEST_INT(t, dns_lookup("", DNS_T_MX, 0, NULL, why), DNS_NOTFOUND);
	TEST_INT(t, dns_lookup("a b", DNS_T_MX, 0, NULL, why), DNS_NOTFOUND);
	TEST_STR(t, dns_type_name(DNS_T_AAAA), "AAAA");
	str_free(why);
}

static void
test_parse_tlsa(struct test *t)
{
	static const unsigned char good[] = { 3, 1, 1, 0xab, 0x01, 0xff };
	static const unsigned char short_rr[] = { 3, 1, 1 };
	struct msg m;
	struct dns_reply *r;

	msg_start(&m, 0, 1, true, "_25._tcp.mx.example", DNS_T_TLSA);
	msg_rr(&m, "_25._tcp.mx.example", DNS_T_TLSA, 60, good, sizeof(good));
	TEST_INT(t, dns_parse(m.b, m.len, DNS_T_TLSA, &r), DNS_OK);
	TEST_INT(t, r->count, 1);
	TEST_TRUE(t, r->ad);
	TEST_INT(t, r->rr[0].usage, 3);
	TEST_INT(t, r->rr[0].selector, 1);
	TEST_INT(t, r->rr[0].mtype, 1);
	TEST_INT(t, r->rr[0].blob_len, 3);
	TEST_INT(t, r->rr[0].blob[2], 0xff);
	TEST_STR(t, r->rr[0].data, "ab01ff");
	TEST_STR(t, dns_type_name(DNS_T_TLSA), "TLSA");
	dns_reply_free(r);
	/* No association data: malformed. */
	msg_start(&m, 0, 1, true, "_25._tcp.mx.example", DNS_T_TLSA);
	msg_rr(&m, "_25._tcp.mx.example", DNS_T_TLSA, 60, short_rr,
	    sizeof(short_rr));
	TEST_INT(t, dns_parse(m.b, m.len, DNS_T_TLSA, &r), DNS_FAIL);
}

static const struct test_case cases[] = {
	{ "reverse", test_reverse },
	{ "parse_mx", test_parse_mx },
	{ "parse_cname_addr", test_parse_cname_addr },
	{ "parse_txt_status", test_parse_txt_status },
	{ "bad_names", test_bad_names },
	{ "parse_tlsa", test_parse_tlsa },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
