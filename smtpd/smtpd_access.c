/*
 * smtpd_access - access(5) tables, the recipient tables and the sender
 * login tables of the restriction engine, with Postfix's search orders,
 * replies and log lines (see smtpd_access.h).
 *
 * An access table is opened once per process, on first use, read-only;
 * one that cannot be opened fails its lookups, which give "451 4.3.5
 * Server configuration error" as in Postfix.  The parent domains of a
 * domain key are tried as "example.com" when smtpd_access_maps is in
 * parent_domain_matches_subdomains (the default), else as ".example.com".
 *
 * Also the checks that do not need a table (host name syntax, authorized
 * destinations), the queue space check, Postfix's choice of the header
 * rewriting context (a client that local_header_rewrite_clients permits
 * gets rewrite_context=local) and the envelope records and headers of
 * the access actions (HOLD, DISCARD, FILTER, REDIRECT, BCC, PREPEND).
 */
#include <sys/statvfs.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/hostname.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/config.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/maps.h"
#include "lib/mail/match_list.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "lib/mail/tr_clnt.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_access.h"
#include "smtpd/smtpd_check.h"

/* Opened tables: access tables by spec, address tables by parameter. */
struct smtpd_table {
	char *spec;
	struct maps *maps;
};

static struct smtpd_table *smtpd_tables;
static size_t smtpd_table_count;
static bool smtpd_parent; /* smtpd_access_maps in parent_domain_... */

/* local_header_rewrite_clients and its inet_interfaces addresses */
static struct argv *smtpd_rewrite_list;
static struct match_list *smtpd_interfaces;

/* smtpd_restriction_classes: names and their lists. */
static struct argv *smtpd_class_names;
static struct argv **smtpd_class_lists;

void
smtpd_access_init(void)
{
	struct argv *pd;
	struct str *val = str_new(100), *why = str_new(100);
	size_t i;

	pd = argv_split(var_parent_domain_matches_subdomains, ", \t\r\n");
	for (i = 0; i < pd->argc; i++)
		if (strcmp(pd->argv[i], "smtpd_access_maps") == 0)
			smtpd_parent = true;
	argv_free(pd);
	smtpd_class_names =
	    argv_split(var_smtpd_restriction_classes, ", \t\r\n");
	smtpd_class_lists =
	    xcalloc(smtpd_class_names->argc + 1, sizeof(*smtpd_class_lists));
	for (i = 0; i < smtpd_class_names->argc; i++) {
		const char *name = smtpd_class_names->argv[i];

		str_reset(val);
		if (config_raw(name) == NULL)
			msg_warn("restriction class `%s' needs a definition",
			    name);
		else if (config_eval(name, val, why) < 0)
			msg_fatal("restriction class %s: %s", name,
			    str_ptr(why));
		if ((smtpd_class_lists[i] = argv_split_list(str_ptr(val))) ==
		    NULL)
			msg_fatal("restriction class %s: unbalanced '{' or "
				  "'}' in \"%s\"",
			    name, str_ptr(val));
	}
	smtpd_rewrite_list =
	    argv_split(var_local_header_rewrite_clients, ", \t\r\n");
	if (params_mynetworks("host", var_inet_interfaces, var_inet_protocols,
		val, why) < 0)
		msg_warn("local_header_rewrite_clients: %s", str_ptr(why));
	smtpd_interfaces = match_list_new("inet_interfaces", str_ptr(val), 0);
	str_free(val);
	str_free(why);
}

bool
smtpd_access_interfaces(struct smtpd_state *state)
{
	return match_list_hostaddr(smtpd_interfaces, str_ptr(state->name),
		   str_ptr(state->addr)) == 1;
}

bool
smtpd_check_rewrite(struct smtpd_state *state)
{
	const char *r;
	struct maps *maps;
	size_t i;

	for (i = 0; i < smtpd_rewrite_list->argc; i++) {
		r = smtpd_rewrite_list->argv[i];
		if (strcmp(r, "permit_inet_interfaces") == 0) {
			if (smtpd_access_interfaces(state))
				return true;
		} else if (strcmp(r, "permit_mynetworks") == 0) {
			if (state->trusted)
				return true;
		} else if (strcmp(r, "permit_sasl_authenticated") == 0) {
			if (state->sasl_username)
				return true;
		} else if (strcmp(r, "check_address_map") == 0) {
			if (i + 1 >= smtpd_rewrite_list->argc) {
				msg_warn("restriction %s requires a table "
					 "argument",
				    r);
				return false;
			}
			r = smtpd_rewrite_list->argv[++i];
			if ((maps = smtpd_access_table(r)) != NULL &&
			    maps_find(maps, str_ptr(state->addr), 0) != NULL)
				return true;
		} else if (strcmp(r, "permit_tls_clientcerts") != 0 &&
			   strcmp(r, "permit_tls_all_clientcerts") != 0) {
			msg_warn("unknown local_header_rewrite_clients "
				 "restriction: \"%s\"",
			    r);
			return false;
		}
	}
	return false;
}

struct argv *
smtpd_access_class(const char *name)
{
	size_t i;

	for (i = 0; i < smtpd_class_names->argc; i++)
		if (strcasecmp(smtpd_class_names->argv[i], name) == 0)
			return smtpd_class_lists[i];
	return NULL;
}

/* A table list under its title (the spec itself for access tables). */
static struct maps *
smtpd_access_open(const char *title, const char *spec)
{
	size_t i;

	for (i = 0; i < smtpd_table_count; i++)
		if (strcmp(smtpd_tables[i].spec, title) == 0)
			return smtpd_tables[i].maps;
	smtpd_tables = xreallocarray(smtpd_tables, smtpd_table_count + 1,
	    sizeof(*smtpd_tables));
	smtpd_tables[smtpd_table_count].spec = xstrdup(title);
	smtpd_tables[smtpd_table_count].maps = maps_new(
	    strcmp(title, spec) ? title : "smtpd_access_maps", spec, 0);
	return smtpd_tables[smtpd_table_count++].maps;
}

struct maps *
smtpd_access_table(const char *spec)
{
	return smtpd_access_open(spec, spec);
}

int
smtpd_access_resolve(const char *sender, const char *addr,
    struct resolve_reply *reply)
{
	struct str *canon = str_new(100);
	int rc = -1;

	/* Postfix resolves the address in canonical ("local") form */
	if (rewrite_addr("local", addr, canon) == 0 &&
	    resolve_addr(sender ? sender : "", str_ptr(canon), reply) == 0)
		rc = 0;
	str_free(canon);
	return rc;
}

/*
 * A DSN "X.1.Y" in a reply about a sender or recipient is made to fit
 * what is rejected, as Postfix's smtpd_dsn_fix does; other classes get
 * X.0.0 instead of an address status.  Returns the (static) status.
 */
static const char *
smtpd_dsn_fix(const char *status, const char *class)
{
	static const struct {
		char micro;
		const char *sender, *rcpt;
	} map[] = {
		{ '1', "0.1.7", "0.1.1" },
		{ '2', "0.1.8", "0.1.2" },
		{ '3', "0.1.7", "0.1.3" },
		{ '4', "0.1.7", "0.1.4" },
		{ '5', "0.1.0", "0.1.5" },
		{ '6', "0.1.7", "0.1.6" },
		{ '7', "0.1.7", "0.1.3" },
		{ '8', "0.1.8", "0.1.2" },
		{ 0, "0.1.0", "0.1.0" },
	};
	static char buf[16];
	const char *fixed;
	size_t i;

	if (strncmp(status + 1, ".1.", 3) != 0)
		return status;
	for (i = 0; map[i].micro; i++)
		if (status[4] == map[i].micro && status[5] == 0)
			break;
	if (strcmp(class, "Sender address") == 0)
		fixed = map[i].sender;
	else if (strcmp(class, "Recipient address") == 0)
		fixed = map[i].rcpt;
	else
		fixed = "0.0.0";
	buf[0] = status[0];
	memcpy(buf + 1, fixed + 1, strlen(fixed));
	if (strcmp(buf, status) != 0)
		msg_info("mapping DSN status %s into %s status %s", status,
		    class, buf);
	return buf;
}

/* Split "X.Y.Z text" into its DSN (in dsn) and text; false: no DSN. */
static bool
smtpd_dsn_split(const char *text, struct str *dsn, const char **rest)
{
	const char *p = text;
	int part;

	for (part = 0; part < 3; part++) {
		size_t n = 0;

		while (isdigit((unsigned char)p[n]))
			n++;
		if (n == 0 || n > 3 || (part == 0 && n != 1))
			return false;
		p += n;
		if (part < 2 && *p++ != '.')
			return false;
	}
	if (*p != 0 && *p != ' ' && *p != '\t')
		return false;
	str_setn(dsn, text, (size_t)(p - text));
	while (*p == ' ' || *p == '\t')
		p++;
	*rest = p;
	return true;
}

/* A reject (or defer) from a table result "CODE [X.Y.Z] text". */
static int
smtpd_access_reply(struct smtpd_state *state,
    const struct smtpd_check_what *what, int code, const char *text,
    const char *deftext, const char *name, const char *class, int kind)
{
	struct smtpd_check *c = smtpd_check_state(state);
	struct str *dsn = str_new(16);
	const char *rest = text, *status;
	int rc;

	if (smtpd_dsn_split(text, dsn, &rest)) {
		str_ptr(dsn)[0] = (char)('0' + code / 100);
		status = smtpd_dsn_fix(str_ptr(dsn), class);
	} else
		status = code / 100 == 4 ? "4.7.1" : "5.7.1";
	if (*rest == 0)
		rest = deftext;
	if (kind == 0) {
		rc = smtpd_check_reject(state, what, code, status,
		    "<%s>: %s rejected: %s", name, class, rest);
	} else if (kind == 1) {
		rc = smtpd_check_defer_if_permit(state, what, code, status,
		    "<%s>: %s rejected: %s", name, class, rest);
	} else {
		if (!c->warn_if_reject && !c->dir) {
			str_fmt(c->dir_reply, "%d %s <%s>: %s rejected: %s",
			    code, status, name, class, rest);
			c->dir = true;
		}
		rc = SMTPD_CHECK_DUNNO;
	}
	str_free(dsn);
	return rc;
}

/* "<name>: Class triggers ACTION arg" or the table's own text. */
static void
smtpd_access_action(struct smtpd_state *state,
    const struct smtpd_check_what *what, const char *action, const char *name,
    const char *class, const char *text)
{
	struct str *buf = str_new(100);

	str_fmt(buf, "<%s>: %s %s", name, class, text);
	smtpd_check_log(state, what, action, str_ptr(buf));
	str_free(buf);
}

int
smtpd_check_access_result(struct smtpd_state *state,
    const struct smtpd_check_what *what, const char *value, const char *key,
    const char *name, const char *class)
{
	struct smtpd_check *c = smtpd_check_state(state);
	struct str *action = str_new(32), *buf = str_new(100);
	const char *text = value + strcspn(value, " \t");
	struct argv *list;
	int rc = SMTPD_CHECK_DUNNO;
	size_t i;

	str_setn(action, value, (size_t)(text - value));
	while (*text == ' ' || *text == '\t')
		text++;
#define IS(a) (strcasecmp(str_ptr(action), (a)) == 0)
	if (IS("OK")) {
		rc = SMTPD_CHECK_OK;
	} else if (IS("DUNNO")) {
		rc = SMTPD_CHECK_DUNNO;
	} else if (IS("REJECT")) {
		rc = smtpd_access_reply(state, what, var_access_map_reject_code,
		    text, "Access denied", name, class, 0);
	} else if (IS("DEFER")) {
		rc = smtpd_access_reply(state, what, var_access_map_defer_code,
		    text, "Access denied", name, class, 0);
	} else if (IS("DEFER_IF_PERMIT")) {
		rc = smtpd_access_reply(state, what, var_access_map_defer_code,
		    text, "Service unavailable", name, class, 1);
	} else if (IS("DEFER_IF_REJECT")) {
		rc = smtpd_access_reply(state, what, var_access_map_defer_code,
		    text, "Service unavailable", name, class, 2);
	} else if (str_len(action) == 3 &&
		   (value[0] == '4' || value[0] == '5') &&
		   isdigit((unsigned char)value[1]) &&
		   isdigit((unsigned char)value[2]) && *text) {
		rc = smtpd_access_reply(state, what, atoi(value), text,
		    "Access denied", name, class, 0);
	} else if (strspn(value, "0123456789") == strlen(value)) {
		/* Postfix: a bare number is OK, for compatibility */
		rc = SMTPD_CHECK_OK;
	} else if (IS("DISCARD")) {
		smtpd_access_action(state, what, "discard", name, class,
		    *text ? text : "triggers DISCARD action");
		c->discard = true;
		rc = SMTPD_CHECK_OK;
	} else if (IS("HOLD")) {
		if (!c->hold)
			smtpd_access_action(state, what, "hold", name, class,
			    *text ? text : "triggers HOLD action");
		c->hold = true;
	} else if (IS("WARN") || IS("INFO")) {
		smtpd_check_log(state, what, IS("WARN") ? "warn" : "info",
		    text);
	} else if (IS("PREPEND")) {
		if (strcmp(what->stage, "END-OF-MESSAGE") == 0)
			msg_warn("access table %s: action PREPEND must be used "
				 "before smtpd_end_of_data_restrictions",
			    key);
		else if (text[strcspn(text, ": \t")] != ':' || *text == ':')
			msg_warn("access table %s: PREPEND action with "
				 "invalid header text \"%s\"",
			    key, text);
		else
			argv_add(c->prepend, text);
	} else if (IS("REDIRECT") || IS("BCC") || IS("FILTER")) {
		if (*text == 0 || (IS("FILTER") && strchr(text, ':') == NULL)) {
			msg_warn("access table %s entry \"%s\" has %s entry "
				 "without value",
			    key, name, str_ptr(action));
		} else {
			str_fmt(buf, "triggers %s %s", str_ptr(action), text);
			for (i = 0; i < str_len(action); i++)
				str_ptr(action)[i] = (char)tolower(
				    (unsigned char)str_ptr(action)[i]);
			smtpd_access_action(state, what, str_ptr(action), name,
			    class, str_ptr(buf));
			if (str_ptr(action)[0] == 'r') {
				free(c->redirect);
				c->redirect = xstrdup(text);
			} else if (str_ptr(action)[0] == 'f') {
				free(c->filter);
				c->filter = xstrdup(text);
			} else
				argv_add(c->bcc, text);
		}
	} else if ((list = argv_split_list(value)) != NULL) {
		/* restriction names and classes, for this name and class */
		rc = smtpd_check_list(state, what, list, name, class);
		argv_free(list);
	} else {
		msg_warn("access table %s: bad result \"%s\"", key, value);
		rc = smtpd_check_config_error(state, what);
	}
#undef IS
	str_free(action);
	str_free(buf);
	return rc;
}

/* A lookup's result: act on it, or the configuration error. */
static int
smtpd_access_found(struct smtpd_state *state,
    const struct smtpd_check_what *what, struct maps *maps, const char *spec,
    const char *value, const char *key, const char *name, const char *class,
    bool *found)
{
	*found = false;
	if (value) {
		*found = true;
		return smtpd_check_access_result(state, what, value, spec, name,
		    class);
	}
	if (maps->error) {
		msg_warn("%s: table lookup problem for \"%s\"", spec, key);
		*found = true;
		return smtpd_check_config_error(state, what);
	}
	return SMTPD_CHECK_DUNNO;
}

int
smtpd_access_client(struct smtpd_state *state,
    const struct smtpd_check_what *what, const char *spec, bool reverse)
{
	struct maps *maps = smtpd_access_table(spec);
	const char *name = str_ptr(reverse ? state->reverse_name : state->name);
	const char *addr = str_ptr(state->addr), *value;
	bool found;
	int rc;

	value = maps_find_domain(maps, name, 0, smtpd_parent);
	rc = smtpd_access_found(state, what, maps, spec, value, name,
	    str_ptr(state->namaddr), "Client host", &found);
	if (found)
		return rc;
	value = maps_find_hostaddr(maps, addr, 0);
	return smtpd_access_found(state, what, maps, spec, value, addr,
	    str_ptr(state->namaddr), "Client host", &found);
}

int
smtpd_access_domain(struct smtpd_state *state,
    const struct smtpd_check_what *what, const char *spec, const char *domain,
    const char *name, const char *class)
{
	struct maps *maps = smtpd_access_table(spec);
	bool found;

	return smtpd_access_found(state, what, maps, spec,
	    maps_find_domain(maps, domain, 0, smtpd_parent), domain, name,
	    class, &found);
}

int
smtpd_access_mail(struct smtpd_state *state,
    const struct smtpd_check_what *what, const char *spec, const char *addr,
    const char *class)
{
	struct maps *maps = smtpd_access_table(spec);
	struct resolve_reply *r;
	const char *value;
	bool found;
	int rc;

	/* the null sender is looked up as "<>" */
	if (*addr == 0) {
		if (*var_smtpd_null_access_lookup_key == 0)
			return SMTPD_CHECK_DUNNO;
		return smtpd_access_found(state, what, maps, spec,
		    maps_find(maps, var_smtpd_null_access_lookup_key, 0),
		    var_smtpd_null_access_lookup_key, addr, class, &found);
	}
	r = resolve_reply_new();
	if (smtpd_access_resolve(state->sender, addr, r) < 0 ||
	    (r->flags & RESOLVE_FLAG_FAIL)) {
		resolve_reply_free(r);
		return smtpd_check_reject(state, what, 451, "4.3.0",
		    "<%s>: Temporary lookup failure", addr);
	}
	value = maps_find_addr(maps, str_ptr(r->recipient),
	    MAPS_FIND_ACCESS |
		(smtpd_parent ? MAPS_FIND_PDMS : MAPS_FIND_PDDMDS),
	    var_recipient_delimiter, false, NULL);
	rc = smtpd_access_found(state, what, maps, spec, value,
	    str_ptr(r->recipient), addr, class, &found);
	resolve_reply_free(r);
	return rc;
}

/* 1: addr is in the tables of parameter title, 0: not, -1: error. */
static int
smtpd_access_listed(const char *title, const char *spec, const char *addr,
    bool local)
{
	struct maps *maps;

	if (*spec == 0)
		return 0;
	maps = smtpd_access_open(title, spec);
	if (maps_find_addr(maps, addr, MAPS_FIND_DEFAULT,
		var_recipient_delimiter, local, NULL) != NULL)
		return 1;
	return maps->error ? -1 : 0;
}

int
smtpd_access_unlisted(struct smtpd_state *state,
    const struct smtpd_check_what *what, const char *addr, bool sender)
{
	const char *class = sender ? "Sender address" : "Recipient address";
	struct resolve_reply *r = resolve_reply_new();
	const char *canon, *table = NULL;
	bool local;
	int code = 0, rc, found;

	if (smtpd_access_resolve(state->sender, addr, r) < 0 ||
	    (r->flags & RESOLVE_FLAG_FAIL)) {
		rc = smtpd_check_reject(state, what, 451, "4.3.0",
		    "<%s>: Temporary lookup failure", addr);
		goto out;
	}
	canon = str_ptr(r->recipient);
	local = (r->flags & RESOLVE_CLASS_LOCAL) != 0;
	/* any address that canonical or virtual alias mapping knows */
	if ((found = smtpd_access_listed("recipient_canonical_maps",
		 var_recipient_canonical_maps, canon, local)) == 0 &&
	    (found = smtpd_access_listed("canonical_maps", var_canonical_maps,
		 canon, local)) == 0)
		found = smtpd_access_listed("virtual_alias_maps",
		    var_virtual_alias_maps, canon, local);
	if (found == 0) {
		if (local && *var_local_recipient_maps) {
			found = smtpd_access_listed("local_recipient_maps",
			    var_local_recipient_maps, canon, true);
			code = var_unknown_local_recipient_reject_code;
			table = "local recipient";
		} else if (r->flags & RESOLVE_CLASS_ALIAS) {
			code = var_unknown_virtual_alias_reject_code;
			table = "virtual alias";
		} else if (r->flags & RESOLVE_CLASS_VIRTUAL) {
			found = smtpd_access_listed("virtual_mailbox_maps",
			    var_virtual_mailbox_maps, canon, false);
			code = var_unknown_virtual_mailbox_reject_code;
			table = "virtual mailbox";
		} else if ((r->flags & RESOLVE_CLASS_RELAY) &&
			   *var_relay_recipient_maps) {
			found = smtpd_access_listed("relay_recipient_maps",
			    var_relay_recipient_maps, canon, false);
			code = var_unknown_relay_recipient_reject_code;
			table = "relay recipient";
		} else
			found = 1;
	}
	if (found < 0) {
		rc = smtpd_check_reject(state, what, 451, "4.3.0",
		    "<%s>: Temporary lookup failure", addr);
	} else if (found == 0) {
		rc = smtpd_check_reject(state, what, code,
		    code / 100 == 4 ? (sender ? "4.1.0" : "4.1.1")
				    : (sender ? "5.1.0" : "5.1.1"),
		    "<%s>: %s rejected: User unknown%s%s%s", addr, class,
		    var_show_user_unknown_table_name ? " in " : "",
		    var_show_user_unknown_table_name ? table : "",
		    var_show_user_unknown_table_name ? " table" : "");
	} else
		rc = SMTPD_CHECK_DUNNO;
out:
	resolve_reply_free(r);
	return rc;
}

int
smtpd_access_login(struct smtpd_state *state,
    const struct smtpd_check_what *what, const char *sender, int mode)
{
	struct maps *maps;
	struct argv *owners;
	const char *value;
	bool owned = false;
	size_t i;

	if (*var_smtpd_sender_login_maps == 0) {
		msg_warn("restriction `reject_sender_login_mismatch' ignored: "
			 "no \"smtpd_sender_login_maps\" is specified");
		return SMTPD_CHECK_DUNNO;
	}
	if (mode == SMTPD_LOGIN_ANY)
		mode = state->sasl_username ? SMTPD_LOGIN_AUTH
					    : SMTPD_LOGIN_UNAUTH;
	if ((mode == SMTPD_LOGIN_AUTH) != (state->sasl_username != NULL))
		return SMTPD_CHECK_DUNNO;
	maps = smtpd_access_open("smtpd_sender_login_maps",
	    var_smtpd_sender_login_maps);
	value = maps_find_addr(maps, sender, MAPS_FIND_DEFAULT,
	    var_recipient_delimiter, false, NULL);
	if (value == NULL && maps->error)
		return smtpd_check_reject(state, what, 451, "4.3.0",
		    "<%s>: Temporary lookup failure", sender);
	if (mode == SMTPD_LOGIN_UNAUTH)
		return value == NULL
			   ? SMTPD_CHECK_DUNNO
			   : smtpd_check_reject(state, what, 553, "5.7.1",
				 "<%s>: Sender address rejected: "
				 "not logged in",
				 sender);
	if (value) {
		owners = argv_split(value, ", \t\r\n");
		for (i = 0; i < owners->argc && !owned; i++)
			owned = strcasecmp(owners->argv[i],
				    state->sasl_username) == 0;
		argv_free(owners);
	}
	if (owned)
		return SMTPD_CHECK_DUNNO;
	return smtpd_check_reject(state, what, 553, "5.7.1",
	    "<%s>: Sender address rejected: not owned by user %s", sender,
	    state->sasl_username);
}

/* valid_hostname(), with one trailing dot allowed (a rooted name). */
bool
smtpd_access_hostname(const char *name)
{
	size_t len = strlen(name);
	char *copy;
	bool ok;

	if (len == 0 || len > HOSTNAME_MAX || name[len - 1] != '.')
		return valid_hostname(name);
	copy = xstrndup(name, len - 1);
	ok = valid_hostname(copy);
	free(copy);
	return ok;
}

/* "[1.2.3.4]" or "[IPv6:...]": an address literal as HELO argument. */
bool
smtpd_access_literal(const char *name)
{
	size_t len = strlen(name);

	if (len < 3 || name[0] != '[' || name[len - 1] != ']')
		return false;
	for (size_t i = 1; i + 1 < len; i++)
		if (!isxdigit((unsigned char)name[i]) &&
		    !strchr(".:Iv6", name[i]))
			return false;
	return true;
}

/* reject_non_fqdn_{sender,recipient}: "user@host.domain" or a literal. */
bool
smtpd_access_fqdn(const char *addr)
{
	const char *dom = strrchr(addr, '@');

	if (dom == NULL || *++dom == 0)
		return false;
	if (*dom == '[')
		return smtpd_access_literal(dom);
	return smtpd_access_hostname(dom) && strchr(dom, '.') != NULL;
}

/*
 * permit_auth_destination and friends: 1 authorized, 0 not, -1 trouble.
 * Postfix: final delivery (local, virtual alias, virtual mailbox) and
 * relay_domains are authorized, except a source-routed address (user%
 * domain, user@domain@other, bang path) unless allow_untrusted_routing.
 */
int
smtpd_access_auth_dest(struct smtpd_state *state, const char *rcpt)
{
	struct resolve_reply *r = resolve_reply_new();
	int rc = -1;

	if (smtpd_access_resolve(state->sender, rcpt, r) == 0 &&
	    !(r->flags & RESOLVE_FLAG_FAIL)) {
		if ((r->flags & RESOLVE_FLAG_ROUTED) &&
		    !var_allow_untrusted_routing)
			rc = 0;
		else
			rc = (r->flags &
				 (RESOLVE_CLASS_LOCAL | RESOLVE_CLASS_ALIAS |
				     RESOLVE_CLASS_VIRTUAL |
				     RESOLVE_CLASS_RELAY)) != 0;
	}
	resolve_reply_free(r);
	return rc;
}

/*
 * Room in the queue file system: more than queue_minfree, and more than
 * 1.5 times message_size_limit, as Postfix checks at MAIL (the announced
 * size is checked against message_size_limit by the caller).  The queue
 * directory is the daemon's working directory.
 */
const char *
smtpd_check_size(struct smtpd_state *state, long size)
{
	struct smtpd_check *c = smtpd_check_state(state);
	struct smtpd_check_what what = { .stage = "MAIL", .helo = state->helo };
	struct statvfs fs;
	unsigned long long avail, minfree, limit;

	(void)size;
	if (statvfs(".", &fs) < 0) {
		msg_warn("statvfs queue directory: %m");
		return NULL;
	}
	avail = (unsigned long long)fs.f_bavail * fs.f_frsize;
	minfree =
	    var_queue_minfree > 0 ? (unsigned long long)var_queue_minfree : 0;
	limit = var_message_size_limit > 0
		    ? (unsigned long long)var_message_size_limit
		    : 0;
	if (minfree >= avail || limit + limit / 2 >= avail) {
		str_set(c->reply, "452 4.3.1 Insufficient system storage");
		smtpd_check_log(state, &what, "reject", str_ptr(c->reply));
		msg_warn("not enough free space in mail queue: %llu bytes < "
			 "1.5*message size limit",
		    avail);
		return str_ptr(c->reply);
	}
	return NULL;
}

void
smtpd_check_envelope(struct smtpd_state *state, struct stream *out)
{
	struct smtpd_check *c = state->check;
	int flags = 0;
	size_t i;

	if (c == NULL)
		return;
	if (c->hold)
		flags |= CLEANUP_FLAG_HOLD;
	if (c->discard)
		flags |= CLEANUP_FLAG_DISCARD;
	if (flags)
		rec_fmt(out, REC_TYPE_FLGS, "%d", flags);
	if (c->filter)
		rec_puts(out, REC_TYPE_FILT, c->filter);
	if (c->redirect)
		rec_puts(out, REC_TYPE_RDR, c->redirect);
	/* Postfix: a BCC recipient never gets DSN notifications */
	for (i = 0; i < c->bcc->argc; i++) {
		rec_puts(out, REC_TYPE_DSN_NOTIFY, "1");
		rec_puts(out, REC_TYPE_RCPT, c->bcc->argv[i]);
	}
}

void
smtpd_check_prepend(struct smtpd_state *state, struct stream *out)
{
	struct smtpd_check *c = state->check;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->prepend->argc; i++)
		rec_puts(out, REC_TYPE_NORM, c->prepend->argv[i]);
}
