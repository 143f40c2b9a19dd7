/*
 * smtpd_dnsbl - the DNS-based restrictions, as Postfix 3.7 gives them:
 *
 * reject_rbl_client D[=FILTER], reject_rhsbl_{client,reverse_client,
 * helo,sender,recipient} D[=FILTER]: the reversed client address (or the
 * name's domain) under D has an A record (matching FILTER, "127.0.0.2",
 * "127.0.0.[2..11]", "127.0.0.[2;4]"): reject with rbl_reply_maps' reply
 * for "D[=FILTER]" or default_rbl_reply, $rbl_reason being the TXT record.
 * A lookup that fails temporarily is logged and ignored, as Postfix does.
 *
 * permit_dnswl_client D, permit_rhswl_client D: permit when listed, but
 * never in a way that would override reject_unauth_destination (at RCPT,
 * only for recipients this server may accept).
 *
 * reject_unknown_{client,reverse_client}_hostname: the name smtpd.c
 * found (name_status, reverse_name_status).  reject_unknown_helo_hostname,
 * reject_unknown_{sender,recipient}_domain: no MX and no A/AAAA record;
 * a null MX rejects a sender or recipient domain (550 5.7.27, 556 5.1.10);
 * temporary DNS trouble gives *_tempfail_action (defer_if_permit).
 *
 * check_{client,reverse_client,helo,sender,recipient}_{mx,ns,a}_access T:
 * the names of the domain's MX (or NS) hosts and their addresses, or the
 * domain's own addresses (_a_), looked up in T as access(5) keys; the
 * first match is acted upon by the engine (smtpd_check_access_result).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/dns.h"
#include "lib/util/htable.h"
#include "lib/util/mac_expand.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/maps.h"
#include "lib/mail/params.h"
#include "lib/mail/tr_clnt.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_check.h"

/* Tables named by restrictions, opened once per process. */
static struct htable *dnsbl_tables;
static struct maps *dnsbl_reply_maps;

static struct maps *
dnsbl_table(const char *name)
{
	struct maps *maps;

	if (dnsbl_tables == NULL)
		dnsbl_tables = htable_new(10);
	if ((maps = htable_find(dnsbl_tables, name)) == NULL) {
		maps = maps_new(name, name, 0);
		htable_enter(dnsbl_tables, name, maps);
	}
	return maps;
}

/* The domain of an address in internal form, or NULL. */
static const char *
dnsbl_domain(const char *addr)
{
	const char *at;

	if (addr == NULL || (at = strrchr(addr, '@')) == NULL || at[1] == 0)
		return NULL;
	return at + 1;
}

/* A name that DNS can be asked about: not empty, not an address literal. */
static bool
dnsbl_name_ok(const char *name)
{
	return name && *name && *name != '[' && strcmp(name, "unknown") != 0;
}

/* One octet pattern: "2", "[2..11]", "[2;4;6]", "[2..4;8]". */
static bool
dnsbl_octet_match(const char *pat, size_t len, unsigned value)
{
	const char *p = pat + 1, *end = pat + len - 1;
	unsigned lo, hi;
	char *e;

	if (pat[0] != '[') {
		lo = (unsigned)strtoul(pat, &e, 10);
		return e == pat + len && lo == value;
	}
	if (len < 3 || *end != ']')
		return false;
	while (p < end) {
		lo = (unsigned)strtoul(p, &e, 10);
		if (e == p)
			return false;
		hi = lo;
		p = e;
		if (end - p >= 2 && p[0] == '.' && p[1] == '.') {
			hi = (unsigned)strtoul(p + 2, &e, 10);
			if (e == p + 2)
				return false;
			p = e;
		}
		if (value >= lo && value <= hi)
			return true;
		if (p < end && *p != ';')
			return false;
		if (p < end)
			p++;
	}
	return false;
}

/* "d.d.d.d" with octet patterns against a 4-byte A record. */
static bool
dnsbl_filter_match(const char *filter, const unsigned char *addr)
{
	const char *p = filter, *q;
	int i, depth;

	for (i = 0; i < 4; i++) {
		/* the octet ends at a '.' outside brackets */
		for (q = p, depth = 0; *q && (*q != '.' || depth); q++)
			depth += *q == '[' ? 1 : *q == ']' ? -1 : 0;
		if (q == p || (i < 3 && *q != '.') || (i == 3 && *q))
			return false;
		if (!dnsbl_octet_match(p, (size_t)(q - p), addr[i]))
			return false;
		p = q + 1;
	}
	return true;
}

/*
 * Look up QUERY under the list "domain[=filter]": 1 listed (with the TXT
 * text in txt), 0 not, -1 temporary trouble (logged).
 */
static int
dnsbl_query(const char *query, const char *filter, struct str *txt)
{
	struct dns_reply *r = NULL, *t = NULL;
	struct str *why = str_new(100);
	size_t i;
	int rc, listed = 0;
	const char *s;

	str_reset(txt);
	rc = dns_lookup(query, DNS_T_A, 0, &r, why);
	if (rc == DNS_RETRY || rc == DNS_FAIL) {
		msg_warn("%s: RBL lookup error: %s", query, str_ptr(why));
		listed = -1;
	} else if (rc == DNS_OK) {
		for (i = 0; i < r->count && !listed; i++)
			if (filter == NULL ||
			    dnsbl_filter_match(filter, r->rr[i].addr))
				listed = 1;
	}
	if (listed == 1 && dns_lookup(query, DNS_T_TXT, 0, &t, NULL) == DNS_OK)
		for (i = 0; i < t->count; i++) {
			if (i > 0)
				str_cat(txt, "; ");
			/* the text goes into an SMTP reply: printable only */
			for (s = t->rr[i].data; *s; s++)
				str_catc(txt,
				    isprint((unsigned char)*s) ? *s : '?');
		}
	dns_reply_free(r);
	dns_reply_free(t);
	str_free(why);
	return listed;
}

struct dnsbl_ctx {
	struct smtpd_state *state;
	const struct smtpd_check_what *what;
	const char *code, *domain, *reason, *what_name, *class;
	struct str *tmp;
};

static const char *
dnsbl_lookup_var(const char *name, void *arg)
{
	struct dnsbl_ctx *c = arg;
	const char *v = NULL, *at;
	const char *addr = NULL;

	if (strcmp(name, "rbl_code") == 0)
		v = c->code;
	else if (strcmp(name, "rbl_domain") == 0)
		v = c->domain;
	else if (strcmp(name, "rbl_reason") == 0 ||
		 strcmp(name, "rbl_txt") == 0)
		v = c->reason;
	else if (strcmp(name, "rbl_what") == 0)
		v = c->what_name;
	else if (strcmp(name, "rbl_class") == 0)
		v = c->class;
	else if (strcmp(name, "client_address") == 0)
		v = str_ptr(c->state->addr);
	else if (strcmp(name, "client_name") == 0)
		v = str_ptr(c->state->name);
	else if (strcmp(name, "reverse_client_name") == 0)
		v = str_ptr(c->state->reverse_name);
	else if (strcmp(name, "helo_name") == 0)
		v = c->state->helo;
	else if (strncmp(name, "sender", 6) == 0)
		addr = c->what->sender ? c->what->sender : c->state->sender;
	else if (strncmp(name, "recipient", 9) == 0)
		addr = c->what->recipient;
	if (addr) {
		name = strchr(name, '_') ? strchr(name, '_') + 1 : "";
		at = strrchr(addr, '@');
		if (*name == 0)
			v = addr;
		else if (strcmp(name, "name") == 0) {
			str_setn(c->tmp, addr,
			    at ? (size_t)(at - addr) : strlen(addr));
			v = str_ptr(c->tmp);
		} else if (strcmp(name, "domain") == 0)
			v = at ? at + 1 : "";
	}
	return v && *v ? v : NULL;
}

/* Reject with the reply for the list "domain[=filter]". */
static int
dnsbl_reject(struct smtpd_state *state, const struct smtpd_check_what *what,
    const char *list, const char *domain, const char *class,
    const char *what_name, const char *reason)
{
	struct str *code = str_new(8), *reply = str_new(200), *why = str_new(0);
	struct dnsbl_ctx c = { state, what, NULL, domain, reason, what_name,
		class, str_new(50) };
	struct mac_expand_ctx mc = { dnsbl_lookup_var, NULL, &c, 0 };
	const char *tmpl = NULL, *p, *dsn;
	char dsnbuf[16];
	int num, rc;
	size_t n;

	str_fmt(code, "%d", var_maps_rbl_reject_code);
	c.code = str_ptr(code);
	if (dnsbl_reply_maps == NULL && *var_rbl_reply_maps)
		dnsbl_reply_maps =
		    maps_new("rbl_reply_maps", var_rbl_reply_maps, 0);
	if (dnsbl_reply_maps &&
	    (tmpl = maps_find(dnsbl_reply_maps, list, 0)) == NULL &&
	    dnsbl_reply_maps->error) {
		rc = smtpd_check_reject(state, what, 451, "4.3.5",
		    "Server configuration error");
		goto out;
	}
	if (tmpl == NULL)
		tmpl = var_default_rbl_reply;
	if (mac_expand(reply, tmpl, &mc, why) < 0) {
		msg_warn("%s: %s", tmpl, str_ptr(why));
		rc = smtpd_check_reject(state, what, 451, "4.3.5",
		    "Server configuration error");
		goto out;
	}
	/* "CODE [DSN] text": the DSN defaults to X.7.1 as in Postfix. */
	p = str_ptr(reply);
	if (strlen(p) < 3 || (p[0] != '4' && p[0] != '5') ||
	    !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
	    (p[3] != ' ' && p[3] != 0)) {
		msg_warn("%s: invalid RBL reply \"%s\"", list, p);
		rc = smtpd_check_reject(state, what, 451, "4.3.5",
		    "Server configuration error");
		goto out;
	}
	num = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	p += 3;
	while (*p == ' ')
		p++;
	n = strspn(p, "0123456789.");
	if (n > 4 && n < sizeof(dsnbuf) && p[0] == *str_ptr(reply) &&
	    p[1] == '.' && (p[n] == ' ' || p[n] == 0)) {
		memcpy(dsnbuf, p, n);
		dsnbuf[n] = 0;
		dsn = dsnbuf;
		p += n;
		while (*p == ' ')
			p++;
	} else
		dsn = num >= 500 ? "5.7.1" : "4.7.1";
	rc = smtpd_check_reject(state, what, num, dsn, "%s", p);
out:
	str_free(code);
	str_free(reply);
	str_free(why);
	str_free(c.tmp);
	return rc;
}

/* "domain=filter" split; returns the domain in buf, *filter or NULL. */
static const char *
dnsbl_split(const char *arg, struct str *buf, const char **filter)
{
	const char *eq = strchr(arg, '=');

	str_setn(buf, arg, eq ? (size_t)(eq - arg) : strlen(arg));
	*filter = eq ? eq + 1 : NULL;
	return str_ptr(buf);
}

/* At RCPT, a permit must not make this server an open relay. */
static bool
dnsbl_permit_ok(struct smtpd_state *state, const struct smtpd_check_what *what)
{
	struct resolve_reply *r;
	struct str *canon;
	bool ok = false;

	if (what->recipient == NULL || strcmp(what->stage, "RCPT") != 0)
		return true;
	r = resolve_reply_new();
	canon = str_new(100);
	if (rewrite_addr("remote", what->recipient, canon) == 0 &&
	    resolve_addr(state->sender ? state->sender : "", str_ptr(canon),
		r) == 0 &&
	    !(r->flags & RESOLVE_FLAG_FAIL))
		ok = (r->flags & (RESOLVE_CLASS_LOCAL | RESOLVE_CLASS_ALIAS |
				     RESOLVE_CLASS_VIRTUAL |
				     RESOLVE_CLASS_RELAY)) != 0 &&
		     !(r->flags & RESOLVE_FLAG_ROUTED);
	resolve_reply_free(r);
	str_free(canon);
	return ok;
}

/* The reply for an RBL/RHSBL/DNSWL restriction. */
static int
dnsbl_check(struct smtpd_state *state, const struct smtpd_check_what *what,
    const char *name, const char *arg)
{
	struct str *buf = str_new(64), *query = str_new(128),
		   *txt = str_new(100);
	const char *domain, *filter, *key = NULL, *class = NULL, *shown;
	int rc = SMTPD_CHECK_DUNNO, listed;
	bool permit = strncmp(name, "permit_", 7) == 0;

	domain = dnsbl_split(arg, buf, &filter);
	if (strcmp(name, "reject_rbl_client") == 0 ||
	    strcmp(name, "permit_dnswl_client") == 0) {
		if (dns_reverse(str_ptr(state->addr), domain, query) < 0)
			goto out;
		class = "Client host";
		key = str_ptr(state->addr);
	} else {
		if (strcmp(name, "reject_rhsbl_client") == 0 ||
		    strcmp(name, "permit_rhswl_client") == 0) {
			key = str_ptr(state->name);
			class = "Client host";
			shown = key;
		} else if (strcmp(name, "reject_rhsbl_reverse_client") == 0) {
			key = str_ptr(state->reverse_name);
			class = "Unverified Client host";
			shown = key;
		} else if (strcmp(name, "reject_rhsbl_helo") == 0) {
			key = state->helo;
			class = "Helo command";
			shown = key;
		} else if (strcmp(name, "reject_rhsbl_sender") == 0) {
			shown = what->sender ? what->sender : state->sender;
			key = dnsbl_domain(shown);
			class = "Sender address";
		} else {
			shown = what->recipient;
			key = dnsbl_domain(shown);
			class = "Recipient address";
		}
		if (!dnsbl_name_ok(key))
			goto out;
		str_fmt(query, "%s.%s", key, domain);
		key = shown;
	}
	listed = dnsbl_query(str_ptr(query), filter, txt);
	if (listed == 1 && permit) {
		if (dnsbl_permit_ok(state, what))
			rc = SMTPD_CHECK_OK;
	} else if (listed == 1) {
		rc = dnsbl_reject(state, what, arg, domain, class, key,
		    str_ptr(txt));
	}
out:
	str_free(buf);
	str_free(query);
	str_free(txt);
	return rc;
}

/* Defer now, or remember a deferral, per *_tempfail_action. */
static int
dnsbl_tempfail(struct smtpd_state *state, const struct smtpd_check_what *what,
    const char *action, const char *dsn, const char *text)
{
	if (strcmp(action, "defer") == 0)
		return smtpd_check_reject(state, what, 450, dsn, "%s", text);
	return smtpd_check_defer_if_permit(state, what, 450, dsn, "%s", text);
}

/*
 * Has the name an MX or an address?  DNS_OK (with *nullmx set for a null
 * MX), DNS_NOTFOUND or DNS_RETRY.
 */
static int
dnsbl_mailhost(const char *name, bool *nullmx)
{
	struct dns_reply *r = NULL;
	int rc, rc2;
	bool v4 = strcmp(var_inet_protocols, "ipv6") != 0,
	     v6 = strcmp(var_inet_protocols, "ipv4") != 0;

	*nullmx = false;
	rc = dns_lookup(name, DNS_T_MX, 0, &r, NULL);
	if (rc == DNS_OK) {
		*nullmx = dns_null_mx(r);
		dns_reply_free(r);
		return DNS_OK;
	}
	dns_reply_free(r);
	rc2 = dns_lookup_addr(name, 0, v4, v6, NULL, NULL);
	if (rc2 == DNS_OK)
		return DNS_OK;
	return rc == DNS_RETRY || rc2 == DNS_RETRY ? DNS_RETRY : DNS_NOTFOUND;
}

/* The domain resolves to a final destination: no DNS lookup needed. */
static bool
dnsbl_final(const char *addr)
{
	struct resolve_reply *r = resolve_reply_new();
	bool final = false;

	if (resolve_addr("", addr, r) == 0 && !(r->flags & RESOLVE_FLAG_FAIL))
		final = (r->flags & (RESOLVE_CLASS_LOCAL | RESOLVE_CLASS_ALIAS |
					RESOLVE_CLASS_VIRTUAL)) != 0;
	resolve_reply_free(r);
	return final;
}

static int
dnsbl_unknown(struct smtpd_state *state, const struct smtpd_check_what *what,
    const char *name)
{
	const char *addr, *domain;
	bool nullmx, sender;
	struct str *text;
	int rc;

	if (strcmp(name, "reject_unknown_client_hostname") == 0) {
		if (state->name_status == SMTPD_PEER_OK)
			return SMTPD_CHECK_DUNNO;
		return smtpd_check_reject(state, what,
		    state->name_status == SMTPD_PEER_TEMP
			? 450
			: var_unknown_client_reject_code,
		    var_unknown_client_reject_code >= 500 &&
			    state->name_status != SMTPD_PEER_TEMP
			? "5.7.25"
			: "4.7.25",
		    "Client host rejected: cannot find your hostname, [%s]",
		    str_ptr(state->addr));
	}
	if (strcmp(name, "reject_unknown_reverse_client_hostname") == 0) {
		if (state->reverse_name_status == SMTPD_PEER_OK)
			return SMTPD_CHECK_DUNNO;
		return smtpd_check_reject(state, what,
		    state->reverse_name_status == SMTPD_PEER_TEMP
			? 450
			: var_unknown_client_reject_code,
		    var_unknown_client_reject_code >= 500 &&
			    state->reverse_name_status != SMTPD_PEER_TEMP
			? "5.7.1"
			: "4.7.1",
		    "Client host rejected: cannot find your reverse hostname, "
		    "[%s]",
		    str_ptr(state->addr));
	}
	if (strcmp(name, "reject_unknown_helo_hostname") == 0) {
		if (!dnsbl_name_ok(state->helo))
			return SMTPD_CHECK_DUNNO;
		rc = dnsbl_mailhost(state->helo, &nullmx);
		if (rc == DNS_OK)
			return SMTPD_CHECK_DUNNO;
		text = str_new(100);
		if (rc == DNS_RETRY) {
			str_fmt(text,
			    "<%s>: Helo command rejected: Host not found",
			    state->helo);
			rc = dnsbl_tempfail(state, what,
			    var_unknown_helo_hostname_tempfail_action, "4.7.1",
			    str_ptr(text));
			str_free(text);
			return rc;
		}
		rc = smtpd_check_reject(state, what,
		    var_unknown_hostname_reject_code,
		    var_unknown_hostname_reject_code >= 500 ? "5.7.1" : "4.7.1",
		    "<%s>: Helo command rejected: Host not found", state->helo);
		str_free(text);
		return rc;
	}
	/* reject_unknown_sender_domain, reject_unknown_recipient_domain */
	sender = strcmp(name, "reject_unknown_sender_domain") == 0;
	addr = sender ? (what->sender ? what->sender : state->sender)
		      : what->recipient;
	domain = dnsbl_domain(addr);
	if (!dnsbl_name_ok(domain) || dnsbl_final(addr))
		return SMTPD_CHECK_DUNNO;
	rc = dnsbl_mailhost(domain, &nullmx);
	if (rc == DNS_OK && nullmx)
		return sender
			   ? smtpd_check_reject(state, what, 550, "5.7.27",
				 "<%s>: Sender address rejected: Domain %s does "
				 "not accept mail (nullMX)",
				 addr, domain)
			   : smtpd_check_reject(state, what, 556, "5.1.10",
				 "<%s>: Recipient address rejected: Domain %s "
				 "does not accept mail (nullMX)",
				 addr, domain);
	if (rc == DNS_OK)
		return SMTPD_CHECK_DUNNO;
	text = str_new(100);
	if (rc == DNS_RETRY) {
		str_fmt(text, "<%s>: %s address rejected: Domain not found",
		    addr, sender ? "Sender" : "Recipient");
		rc = dnsbl_tempfail(state, what,
		    var_unknown_address_tempfail_action,
		    sender ? "4.1.8" : "4.1.2", str_ptr(text));
		str_free(text);
		return rc;
	}
	str_free(text);
	return smtpd_check_reject(state, what, var_unknown_address_reject_code,
	    var_unknown_address_reject_code >= 500
		? (sender ? "5.1.8" : "5.1.2")
		: (sender ? "4.1.8" : "4.1.2"),
	    sender ? "<%s>: Sender address rejected: Domain not found"
		   : "<%s>: Recipient address rejected: Domain not found",
	    addr);
}

static bool
dnsbl_parent_matches(void)
{
	const char *p =
	    strstr(var_parent_domain_matches_subdomains, "smtpd_access_maps");

	return p != NULL;
}

/* getaddrinfo's words for the lookup failures Postfix reports here. */
static const char *
dnsbl_gai_error(int rc)
{
	return rc == DNS_RETRY ? "Temporary failure in name resolution"
			       : "Name or service not known";
}

/* Look up one host's name (unless addr_only) and addresses in maps. */
static int
dnsbl_host_access(struct smtpd_state *state,
    const struct smtpd_check_what *what, struct maps *maps, const char *host,
    bool addr_only, const char *type, const char *reply_name,
    const char *reply_class)
{
	struct dns_reply *r = NULL;
	const char *value;
	size_t i;
	int rc;
	bool v4 = strcmp(var_inet_protocols, "ipv6") != 0,
	     v6 = strcmp(var_inet_protocols, "ipv4") != 0;

	if (!addr_only) {
		value = maps_find_domain(maps, host, 0, dnsbl_parent_matches());
		if (value)
			return smtpd_check_access_result(state, what, value,
			    host, reply_name, reply_class);
		if (maps->error)
			return smtpd_check_reject(state, what, 451, "4.3.0",
			    "<%s>: %s rejected: Temporary lookup failure",
			    reply_name, reply_class);
	}
	rc = dns_lookup_addr(host, 0, v4, v6, &r, NULL);
	if (rc != DNS_OK) {
		if (*type)
			msg_warn("Unable to look up %s host %s for %s %s: %s",
			    type, host, reply_class, reply_name,
			    dnsbl_gai_error(rc));
		else
			msg_warn("Unable to look up host %s for %s %s: %s",
			    host, reply_class, reply_name, dnsbl_gai_error(rc));
		dns_reply_free(r);
		return SMTPD_CHECK_DUNNO;
	}
	rc = SMTPD_CHECK_DUNNO;
	for (i = 0; i < r->count && rc == SMTPD_CHECK_DUNNO; i++) {
		value = maps_find_hostaddr(maps, r->rr[i].data, 0);
		if (value)
			rc = smtpd_check_access_result(state, what, value,
			    r->rr[i].data, reply_name, reply_class);
		else if (maps->error)
			rc = smtpd_check_reject(state, what, 451, "4.3.0",
			    "<%s>: %s rejected: Temporary lookup failure",
			    reply_name, reply_class);
	}
	dns_reply_free(r);
	return rc;
}

static int
dnsbl_server_access(struct smtpd_state *state,
    const struct smtpd_check_what *what, const char *name, const char *table)
{
	const char *who = name + strlen("check_"), *domain, *reply_name,
		   *reply_class, *type;
	struct dns_reply *r = NULL;
	struct maps *maps = dnsbl_table(table);
	struct str *why = str_new(100);
	size_t i;
	int rc, dtype;

	if (strncmp(who, "client_", 7) == 0) {
		reply_name = domain = str_ptr(state->name);
		reply_class = "Client host";
	} else if (strncmp(who, "reverse_client_", 15) == 0) {
		reply_name = domain = str_ptr(state->reverse_name);
		reply_class = "Unverified Client host";
	} else if (strncmp(who, "helo_", 5) == 0) {
		reply_name = domain = state->helo;
		reply_class = "Helo command";
	} else if (strncmp(who, "sender_", 7) == 0) {
		reply_name = what->sender ? what->sender : state->sender;
		domain = dnsbl_domain(reply_name);
		reply_class = "Sender address";
	} else {
		reply_name = what->recipient;
		domain = dnsbl_domain(reply_name);
		reply_class = "Recipient address";
	}
	rc = SMTPD_CHECK_DUNNO;
	if (!dnsbl_name_ok(domain))
		goto out;
	if (strstr(who, "_a_access")) {
		rc = dnsbl_host_access(state, what, maps, domain, true, "",
		    reply_name, reply_class);
		goto out;
	}
	type = strstr(who, "_mx_access") ? "MX" : "NS";
	dtype = *type == 'M' ? DNS_T_MX : DNS_T_NS;
	switch (dns_lookup(domain, dtype, 0, &r, why)) {
	case DNS_OK:
		break;
	case DNS_NOTFOUND:
		/* No MX: the domain is its own mail host, as in Postfix. */
		if (dtype == DNS_T_MX)
			rc = dnsbl_host_access(state, what, maps, domain, false,
			    type, reply_name, reply_class);
		goto out;
	default:
		msg_warn("Unable to look up %s host for %s: %s", type, domain,
		    strstr(str_ptr(why), "try again")
			? "Host not found, try again"
			: "Non-recoverable error");
		goto out;
	}
	if (dtype == DNS_T_MX)
		dns_sort_mx(r);
	for (i = 0; i < r->count && rc == SMTPD_CHECK_DUNNO; i++)
		if (*r->rr[i].data)
			rc = dnsbl_host_access(state, what, maps, r->rr[i].data,
			    false, type, reply_name, reply_class);
out:
	dns_reply_free(r);
	str_free(why);
	return rc;
}

static const char *const dnsbl_arg_names[] = {
	"reject_rbl_client",
	"reject_rhsbl_client",
	"reject_rhsbl_reverse_client",
	"reject_rhsbl_helo",
	"reject_rhsbl_sender",
	"reject_rhsbl_recipient",
	"permit_dnswl_client",
	"permit_rhswl_client",
	NULL,
};

static const char *const dnsbl_unknown_names[] = {
	"reject_unknown_client_hostname",
	"reject_unknown_reverse_client_hostname",
	"reject_unknown_helo_hostname",
	"reject_unknown_sender_domain",
	"reject_unknown_recipient_domain",
	NULL,
};

static bool
dnsbl_in(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

/* check_{client,reverse_client,helo,sender,recipient}_{mx,ns,a}_access */
static bool
dnsbl_is_server_access(const char *name)
{
	static const char *const who[] = { "client", "reverse_client", "helo",
		"sender", "recipient", NULL };
	static const char *const kind[] = { "mx", "ns", "a", NULL };
	size_t n;
	int i, j;

	if (strncmp(name, "check_", 6) != 0)
		return false;
	name += 6;
	for (i = 0; who[i]; i++) {
		n = strlen(who[i]);
		if (strncmp(name, who[i], n) != 0 || name[n] != '_')
			continue;
		for (j = 0; kind[j]; j++)
			if (strncmp(name + n + 1, kind[j], strlen(kind[j])) ==
				0 &&
			    strcmp(name + n + 1 + strlen(kind[j]), "_access") ==
				0)
				return true;
	}
	return false;
}

bool
smtpd_check_dns_arg(const char *name)
{
	return dnsbl_in(dnsbl_arg_names, name) || dnsbl_is_server_access(name);
}

int
smtpd_check_dns(struct smtpd_state *state, const struct smtpd_check_what *what,
    const char *name, const char *arg)
{
	if (dnsbl_in(dnsbl_unknown_names, name))
		return dnsbl_unknown(state, what, name);
	if (!smtpd_check_dns_arg(name))
		return SMTPD_CHECK_NOT_MINE;
	if (arg == NULL || *arg == 0) {
		msg_warn("restriction %s requires domain name argument", name);
		return smtpd_check_reject(state, what, 451, "4.3.5",
		    "Server configuration error");
	}
	if (dnsbl_is_server_access(name))
		return dnsbl_server_access(state, what, name, arg);
	return dnsbl_check(state, what, name, arg);
}
