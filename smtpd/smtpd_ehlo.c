/*
 * smtpd_ehlo - HELO and EHLO: the EHLO keywords in Postfix's order, and
 * those smtpd_discard_ehlo_keywords and smtpd_discard_ehlo_keyword_
 * address_maps withdraw for a client ("discarding EHLO keywords: ...").
 */
#include <ctype.h>
#include <regex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/addr.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/dsn.h"
#include "lib/mail/maps.h"
#include "lib/mail/match_list.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_check.h"

/*
 * The keywords withdrawn for this client: smtpd_discard_ehlo_keywords
 * and what smtpd_discard_ehlo_keyword_address_maps says for its address.
 * log: say "discarding EHLO keywords: ..." (at EHLO) unless silenced.
 */
void
smtpd_ehlo_discard_init(struct smtpd_state *state, bool log)
{
	static struct maps *maps;
	const char *value = NULL;
	bool silent = false;
	int mask;

	mask = ehlo_mask_parse(var_smtpd_discard_ehlo_keywords, &silent);
	if (*var_smtpd_discard_ehlo_keyword_address_maps) {
		if (maps == NULL)
			maps =
			    maps_new("smtpd_discard_ehlo_keyword_address_maps",
				var_smtpd_discard_ehlo_keyword_address_maps, 0);
		value = maps_find(maps, str_ptr(state->addr), 0);
		if (value)
			mask |= ehlo_mask_parse(value, &silent);
	}
	state->ehlo_discard = mask;
	if (log && value && !silent && mask) {
		struct str *buf = str_new(64);

		ehlo_mask_str(mask, buf);
		msg_info("discarding EHLO keywords: %s", str_ptr(buf));
		str_free(buf);
	}
}

bool
smtpd_ehlo_discarded(struct smtpd_state *state, const char *kw)
{
	return (state->ehlo_discard & ehlo_mask_find(kw)) != 0;
}

/* The EHLO reply: the keywords in Postfix's order. */
static void
smtpd_ehlo_keywords(struct smtpd_state *state)
{
	struct argv *kw = argv_new(), *mod = argv_new();
	struct str *mechs = str_new(64), *buf = str_new(64);
	size_t i;

	argv_add(kw, "PIPELINING");
	if (var_message_size_limit > 0) {
		str_fmt(buf, "SIZE %ld", var_message_size_limit);
		argv_add(kw, str_ptr(buf));
	} else
		argv_add(kw, "SIZE");
	if (!var_disable_vrfy_command)
		argv_add(kw, "VRFY");
	argv_add(kw, "ETRN");
	if (smtpd_tls_offer(state))
		argv_add(kw, "STARTTLS");
	smtpd_sasl_mechs(state, mechs);
	if (str_len(mechs) > 0) {
		str_fmt(buf, "AUTH %s", str_ptr(mechs));
		argv_add(kw, str_ptr(buf));
		if (var_broken_sasl_auth_clients) {
			str_fmt(buf, "AUTH=%s", str_ptr(mechs));
			argv_add(kw, str_ptr(buf));
		}
	}
	smtpd_xclient_ehlo(state, mod);
	for (i = 0; i < mod->argc; i++)
		argv_add(kw, mod->argv[i]);
	argv_add(kw, "ENHANCEDSTATUSCODES");
	argv_add(kw, "8BITMIME");
	argv_add(kw, "DSN");
	if (var_smtputf8_enable)
		argv_add(kw, "SMTPUTF8");
	argv_add(kw, "CHUNKING");
	/* withdraw what smtpd_discard_ehlo_keywords says */
	for (i = 0; i < kw->argc;) {
		if (smtpd_ehlo_discarded(state, kw->argv[i])) {
			free(kw->argv[i]);
			memmove(kw->argv + i, kw->argv + i + 1,
			    (kw->argc - i) * sizeof(kw->argv[0]));
			kw->argc--;
		} else
			i++;
	}
	smtpd_reply(state, "250%c%s", kw->argc ? '-' : ' ', var_myhostname);
	for (i = 0; i < kw->argc; i++)
		smtpd_reply(state, "250%c%s", i + 1 < kw->argc ? '-' : ' ',
		    kw->argv[i]);
	argv_free(kw);
	argv_free(mod);
	str_free(mechs);
	str_free(buf);
}

bool
smtpd_helo(struct smtpd_state *state, const char *arg, bool esmtp)
{
	const char *reply;

	if (*arg == 0) {
		smtpd_reply(state, "501 Syntax: %s hostname",
		    esmtp ? "EHLO" : "HELO");
		return false;
	}
	state->where = esmtp ? "EHLO" : "HELO"; /* the check's log stage */
	if ((reply = smtpd_check_helo(state, arg)) != NULL) {
		smtpd_reply(state, "%s", reply);
		return false;
	}
	smtpd_reset(state);
	free(state->helo);
	state->helo = xstrdup(arg);
	state->esmtp = esmtp;
	smtpd_proto_name(state);
	if (!esmtp) {
		smtpd_reply(state, "250 %s", var_myhostname);
		return true;
	}
	smtpd_ehlo_discard_init(state, true);
	smtpd_ehlo_keywords(state);
	return true;
}
