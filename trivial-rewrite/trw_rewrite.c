/*
 * trw_rewrite - the canonical-form rules of Postfix's trivial-rewrite,
 * applied to an address in internal form, in Postfix's order: strip a
 * source route, swap a bang path (site!user -> user@site), turn the last
 * % into @ (user%site -> user@site), append @$myorigin, append
 * .$mydomain, strip a trailing dot.  The remote context uses
 * remote_header_rewrite_domain for both appends (empty: none).
 */
#include <stdbool.h>
#include <string.h>

#include "lib/util/str.h"
#include "lib/mail/addr.h"
#include "lib/mail/params.h"
#include "trivial-rewrite/trw.h"

/*
 * Postfix's client quotes a localpart that needs quoting before the
 * server tokenizes it, so its %, ! and @ are then no operators.
 */
bool
trw_ops_visible(const char *addr, bool dequoted)
{
	struct str *ext;
	bool visible;

	if (dequoted)
		return true;
	ext = str_new(64);
	addr_externalize(ext, addr);
	visible = str_ptr(ext)[0] != '"';
	str_free(ext);
	return visible;
}

void
trw_rewrite_context(struct str *addr, const char *origin, const char *domain)
{
	struct str *tmp;
	char *p, *at, *bang;
	size_t len;

	if (str_len(addr) == 0)
		return;

	/* @hop1,@hop2:user@domain -> user@domain (RFC 5321 C). */
	p = str_ptr(addr);
	if (p[0] == '@' && (bang = strchr(p, ':')) != NULL && bang[1] != 0) {
		tmp = str_new(str_len(addr));
		str_set(tmp, bang + 1);
		str_set(addr, str_ptr(tmp));
		str_free(tmp);
	}

	p = str_ptr(addr);
	at = strrchr(p, '@');
	if (at == NULL && trw_ops_visible(p, false)) {
		if (var_swap_bangpath && (bang = strchr(p, '!')) != NULL &&
		    bang > p && bang[1] != 0) {
			tmp = str_new(str_len(addr) + 1);
			str_set(tmp, bang + 1);
			str_catc(tmp, '@');
			str_catn(tmp, p, (size_t)(bang - p));
			str_set(addr, str_ptr(tmp));
			str_free(tmp);
		} else if (var_allow_percent_hack &&
			   (bang = strrchr(p, '%')) != NULL) {
			*bang = '@';
		}
	}

	if (strrchr(str_ptr(addr), '@') == NULL && var_append_at_myorigin &&
	    origin != NULL && *origin != 0) {
		str_catc(addr, '@');
		str_cat(addr, origin);
	}

	/* Leave broken forms ending in @ and domain literals alone. */
	at = strrchr(str_ptr(addr), '@');
	if (var_append_dot_mydomain && domain != NULL && *domain != 0 &&
	    at != NULL && at[1] != 0 && strchr(at, '[') == NULL &&
	    strchr(at, '.') == NULL) {
		str_catc(addr, '.');
		str_cat(addr, domain);
	}

	/* A trailing dot goes, but not dot-dot or at-dot. */
	p = str_ptr(addr);
	len = str_len(addr);
	if (strchr(p, '@') != NULL && len >= 2 && p[len - 1] == '.' &&
	    p[len - 2] != '.' && p[len - 2] != '@')
		str_truncate(addr, len - 1);
}

int
trw_rewrite(const char *rule, const char *addr, struct str *out)
{
	str_set(out, addr);
	if (strcmp(rule, "local") == 0)
		trw_rewrite_context(out, var_myorigin, var_mydomain);
	else if (strcmp(rule, "remote") == 0)
		trw_rewrite_context(out, var_remote_header_rewrite_domain,
		    var_remote_header_rewrite_domain);
	else
		return -1;
	return 0;
}
