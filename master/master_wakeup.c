/*
 * master_wakeup - the master.cf wakeup column: every N seconds master sends
 * the service one wakeup byte through its own endpoint, so that pickup
 * scans maildrop/ and qmgr scans the queue even when nobody pokes them.
 * "N?" sends it only once the service has been used.
 */
#include <string.h>

#include "lib/util/event.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/master_proto.h"
#include "lib/mail/trigger.h"
#include "master.h"

static void
master_wakeup_event(int ev, void *ctx)
{
	struct master_serv *s = ctx;
	static const char wakeup[] = { MASTER_TRIGGER_WAKEUP };
	struct str *why;

	(void)ev;
	if (!s->wakeup_cond || s->used) {
		why = str_new(100);
		if (trigger_send(s->endpoint, wakeup, sizeof(wakeup), why) < 0)
			msg_warn("service %s: wakeup: %s", s->ext_name,
			    str_ptr(why));
		str_free(why);
	}
	event_timer(master_wakeup_event, s, s->wakeup * 1000);
}

void
master_wakeup_start(struct master_serv *s)
{
	if (s->wakeup <= 0)
		return;
	if (s->type == MCF_INET) {
		msg_warn("service %s: wakeup is not supported for inet "
			 "services -- ignored",
		    s->ext_name);
		return;
	}
	/* The first wakeup goes out at once, as Postfix's master does: that
	 * is what starts qmgr (and pickup) right after "postfix start". */
	event_timer(master_wakeup_event, s, 0);
}

void
master_wakeup_stop(struct master_serv *s)
{
	event_cancel(master_wakeup_event, s);
}
