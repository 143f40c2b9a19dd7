/*
 * cleanup_addr - address rewriting: trivial-rewrite's canonical form, the
 * canonical(5) tables for each address class, masquerading, and for
 * envelope recipients virtual(5) alias expansion, duplicate elimination and
 * the O/o/n/R records.
 *
 * A table or rewrite service that cannot answer defers the whole message
 * (CLEANUP_STAT_DEFER): the client tries again later, as with Postfix.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/htable.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/addr.h"
#include "lib/mail/addr_map.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "lib/mail/tr_clnt.h"
#include "lib/mail/smtputf8.h"
#include "cleanup.h"

/* A canonical(5) table for one address; -1 after a table error. */
static int
cleanup_canon(struct cleanup_state *s, struct maps *maps, struct str *addr)
{
	struct str *out;
	int ret;

	if (maps == NULL || maps->count == 0)
		return 0;
	out = str_new(64);
	ret = canon_lookup(maps, str_ptr(addr), out);
	if (ret > 0) {
		str_set(addr, str_ptr(out));
	} else if (ret < 0) {
		msg_warn("%s: %s map lookup problem for %s -- "
			 "message not accepted, try again later",
		    str_ptr(s->queue_id), maps->title, str_ptr(addr));
		cleanup_fail(s, CLEANUP_STAT_DEFER,
		    "4.3.0 address mapping lookup failure");
	}
	str_free(out);
	return ret < 0 ? -1 : 0;
}

/*
 * Rewrite one address (internal form) in place for an address class:
 * trivial-rewrite with rule ctx, then sender_/recipient_canonical_maps and
 * canonical_maps when their classes say so, then masquerading.  The null
 * address stays null.  0, or -1 with the status set.
 */
int
cleanup_rewrite(struct cleanup_state *s, const char *ctx, struct str *addr,
    int class)
{
	struct str *out;
	int ret = 0;

	if (str_len(addr) == 0)
		return 0;
	out = str_new(64);
	if (rewrite_addr(ctx, str_ptr(addr), out) < 0) {
		msg_warn("%s: address rewriting service is unavailable -- "
			 "message not accepted, try again later",
		    str_ptr(s->queue_id));
		cleanup_fail(s, CLEANUP_STAT_DEFER,
		    "4.3.0 address rewriting failure");
		ret = -1;
		goto out;
	}
	str_set(addr, str_ptr(out));
	if (s->flags & CLEANUP_FLAG_MAP_OK) {
		if ((class &
			(CLEANUP_CLASS_ENV_FROM | CLEANUP_CLASS_HDR_FROM)) &&
		    (class & cleanup_cfg.send_canon_classes) &&
		    cleanup_canon(s, cleanup_cfg.send_canon, addr) < 0) {
			ret = -1;
			goto out;
		}
		if ((class &
			(CLEANUP_CLASS_ENV_RCPT | CLEANUP_CLASS_HDR_RCPT)) &&
		    (class & cleanup_cfg.rcpt_canon_classes) &&
		    cleanup_canon(s, cleanup_cfg.rcpt_canon, addr) < 0) {
			ret = -1;
			goto out;
		}
		if ((class & cleanup_cfg.canon_classes) &&
		    cleanup_canon(s, cleanup_cfg.canonical, addr) < 0) {
			ret = -1;
			goto out;
		}
	}
	if ((class & cleanup_cfg.masq_classes) && cleanup_cfg.masq_domains &&
	    cleanup_cfg.masq_domains->argc > 0)
		(void)masquerade(addr, cleanup_cfg.masq_domains,
		    cleanup_cfg.masq_exceptions);
out:
	str_free(out);
	return ret;
}

/*
 * Write one final recipient, unless the same address was written before
 * (duplicate_filter_limit addresses are remembered; 0: no limit).
 */
static void
cleanup_out_rcpt(struct cleanup_state *s, const char *rcpt, const char *orcpt,
    const char *dsn_orcpt, long notify)
{
	if (htable_locate(s->dups, rcpt) != NULL)
		return;
	if (var_duplicate_filter_limit == 0 ||
	    s->dup_count < (size_t)var_duplicate_filter_limit) {
		htable_enter(s->dups, rcpt, NULL);
		s->dup_count++;
	}
	if (*dsn_orcpt)
		cleanup_out_str(s, REC_TYPE_DSN_ORCPT, dsn_orcpt);
	if (notify)
		cleanup_out_fmt(s, REC_TYPE_DSN_NOTIFY, "%ld", notify);
	if (var_enable_original_recipient)
		cleanup_out_str(s, REC_TYPE_ORCP, orcpt);
	cleanup_out_str(s, REC_TYPE_RCPT, rcpt);
	s->rcpt_count++;
}

/*
 * One recipient as the client gave it (internal form): rewrite, map,
 * expand virtual aliases, and write the results.  orcpt is the original
 * recipient for the O record; dsn_orcpt the client's ORCPT ("" for none:
 * then "rfc822;" and the rewritten address, as Postfix records it; NULL:
 * none at all, as for a BCC recipient).
 */
void
cleanup_recipient(struct cleanup_state *s, const char *addr, const char *orcpt,
    const char *dsn_orcpt, long notify)
{
	struct str *rcpt = str_new(64);
	struct str *dsn = str_new(64);
	struct str *why = NULL;
	struct argv *list = NULL;
	char *orig = xstrdup(orcpt);
	size_t i;

	str_set(rcpt, addr);
	if (smtputf8_8bit(addr, strlen(addr)))
		s->utf8_seen |= SMTPUTF8_FLAG_RECIPIENT;
	if (cleanup_rewrite(s, s->rewrite_ctx, rcpt, CLEANUP_CLASS_ENV_RCPT) <
	    0)
		goto out;
	if (s->first_rcpt == NULL)
		s->first_rcpt = xstrdup(str_ptr(rcpt));
	if (dsn_orcpt == NULL)
		str_reset(dsn);
	else if (*dsn_orcpt)
		str_set(dsn, dsn_orcpt);
	else
		str_fmt(dsn, "rfc822;%s", str_ptr(rcpt));

	if ((s->flags & CLEANUP_FLAG_MAP_OK) && cleanup_cfg.virtual &&
	    cleanup_cfg.virtual->count > 0) {
		list = argv_new();
		why = str_new(64);
		/* Nonzero: ADDR_MAP_DEFER or ADDR_MAP_LIMIT (or -1). */
		if (virtual_expand(cleanup_cfg.virtual, str_ptr(rcpt), list,
			why) != 0) {
			/*
			 * Postfix keeps nothing and has the client retry; why
			 * holds its text, "... -- message not accepted, try
			 * again later".
			 */
			msg_warn("%s: %s", str_ptr(s->queue_id), str_ptr(why));
			cleanup_fail(s, CLEANUP_STAT_DEFER,
			    "4.6.0 Alias expansion error");
			goto out;
		}
		for (i = 0; i < list->argc; i++)
			cleanup_out_rcpt(s, list->argv[i], orig, str_ptr(dsn),
			    notify);
	} else {
		cleanup_out_rcpt(s, str_ptr(rcpt), orig, str_ptr(dsn), notify);
	}
out:
	free(orig);
	argv_free(list);
	str_free(why);
	str_free(rcpt);
	str_free(dsn);
}

struct cleanup_hdr_ctx {
	struct cleanup_state *s;
	int class;
};

/* addr_header_map() callback: one address of a header. */
static void
cleanup_hdr_one(struct str *addr, void *ctx)
{
	struct cleanup_hdr_ctx *h = ctx;
	struct cleanup_state *s = h->s;

	if (str_len(addr) == 0 || s->hdr_ctx == NULL)
		return;
	if (cleanup_rewrite(s, s->hdr_ctx, addr, h->class) < 0)
		return;
	/* Remote context: unqualified addresses get the configured domain. */
	if (strcmp(s->hdr_ctx, "remote") == 0 &&
	    strchr(str_ptr(addr), '@') == 0 &&
	    *var_remote_header_rewrite_domain)
		str_catfmt(addr, "@%s", var_remote_header_rewrite_domain);
}

/*
 * Rewrite the addresses of one header value (header_sender or
 * header_recipient per the header's options) into out.
 */
void
cleanup_header_addr(struct cleanup_state *s, const char *value, int hopts,
    struct str *out)
{
	struct cleanup_hdr_ctx h = { s, (hopts & MIME_HOPT_SENDER)
					    ? CLEANUP_CLASS_HDR_FROM
					    : CLEANUP_CLASS_HDR_RCPT };

	addr_header_map(out, value, cleanup_hdr_one, &h);
}
