/*
 * submit - the record grammar of a local submission (see submit.h).
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "lib/mail/submit.h"

enum { STAGE_TIME, STAGE_ENV, STAGE_CONTENT, STAGE_XTRA, STAGE_DONE };

/* Records that may appear at most once in the envelope. */
#define SEEN_FLAGS  (1 << 0)
#define SEEN_SENDER (1 << 1)
#define SEEN_RET    (1 << 2)
#define SEEN_ENVID  (1 << 3)
#define SEEN_VERP   (1 << 4)
#define SEEN_FULL   (1 << 5)

void
submit_init(struct submit_state *s, int opts)
{
	memset(s, 0, sizeof(*s));
	s->opts = opts;
	s->stage = (opts & SUBMIT_TIME) ? STAGE_TIME : STAGE_ENV;
	s->sender = str_new(64);
}

void
submit_free(struct submit_state *s)
{
	s->sender = str_free(s->sender);
}

bool
submit_done(const struct submit_state *s)
{
	return s->stage == STAGE_DONE;
}

/* A decimal number of at most 9 digits, nothing else: 0, or -1. */
static int
submit_decimal(const char *p, size_t len, long *out)
{
	long n = 0;

	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		n = n * 10 + (p[i] - '0');
	}
	*out = n;
	return 0;
}

static bool
submit_is(const char *p, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(p, want, len) == 0;
}

static int
submit_bad(struct str *why, const char *what, int type)
{
	const char *name = rec_name(type);

	if (name != NULL)
		str_fmt(why, "%s %s record", what, name);
	else
		str_fmt(why, "%s record type %d", what, type);
	return -1;
}

static int
submit_once(struct submit_state *s, int bit, int type, struct str *why)
{
	if (s->seen & bit)
		return submit_bad(why, "duplicate", type);
	s->seen |= bit;
	return 0;
}

/* A named attribute that a local user may set. */
static int
submit_attr(const char *p, size_t len, struct str *why)
{
	const char *eq = memchr(p, '=', len);
	size_t nlen, vlen;

	if (eq == NULL)
		return submit_bad(why, "malformed", REC_TYPE_ATTR);
	nlen = (size_t)(eq - p);
	vlen = len - nlen - 1;
	if (submit_is(p, nlen, "rewrite_context") &&
	    (submit_is(eq + 1, vlen, "local") ||
		submit_is(eq + 1, vlen, "remote")))
		return 0;
	if (submit_is(p, nlen, "encoding") &&
	    (submit_is(eq + 1, vlen, "7bit") ||
		submit_is(eq + 1, vlen, "8bit")))
		return 0;
	str_fmt(why, "forbidden named_attribute record: %.*s",
	    (int)(nlen > 50 ? 50 : nlen), p);
	return -1;
}

static int
submit_envelope(struct submit_state *s, int type, const char *p, size_t len,
    struct str *why)
{
	long n;

	if (memchr(p, '\0', len) || memchr(p, '\r', len) ||
	    memchr(p, '\n', len))
		return submit_bad(why, "line break or NUL in", type);
	if (s->notify && type != REC_TYPE_RCPT)
		return submit_bad(why, "unexpected", type);
	switch (type) {
	case REC_TYPE_FLGS:
		if (submit_once(s, SEEN_FLAGS, type, why) < 0)
			return -1;
		if (submit_decimal(p, len, &n) < 0 ||
		    (n & ~(long)CLEANUP_XFLAG_MASK) != 0)
			return submit_bad(why, "malformed", type);
		s->xflags = n;
		return 0;
	case REC_TYPE_ATTR:
		return submit_attr(p, len, why);
	case REC_TYPE_FULL:
		return submit_once(s, SEEN_FULL, type, why);
	case REC_TYPE_FROM:
		if (submit_once(s, SEEN_SENDER, type, why) < 0)
			return -1;
		str_setn(s->sender, p, len);
		return 0;
	case REC_TYPE_DSN_RET:
		if (submit_once(s, SEEN_RET, type, why) < 0)
			return -1;
		if (submit_decimal(p, len, &n) < 0 ||
		    (n != SUBMIT_RET_FULL && n != SUBMIT_RET_HDRS))
			return submit_bad(why, "malformed", type);
		return 0;
	case REC_TYPE_DSN_ENVID:
		return submit_once(s, SEEN_ENVID, type, why);
	case REC_TYPE_VERP:
		if (submit_once(s, SEEN_VERP, type, why) < 0)
			return -1;
		if (len != 2)
			return submit_bad(why, "malformed", type);
		return 0;
	case REC_TYPE_DSN_NOTIFY:
		if (submit_decimal(p, len, &n) < 0 || n < 1 || n > 15)
			return submit_bad(why, "malformed", type);
		s->notify = true;
		return 0;
	case REC_TYPE_RCPT:
		s->notify = false;
		s->rcpt_count++;
		return 0;
	default:
		return submit_bad(why, "unexpected", type);
	}
}

int
submit_check(struct submit_state *s, int type, const char *p, size_t len,
    struct str *why)
{
	switch (s->stage) {
	case STAGE_TIME:
		if (type != REC_TYPE_TIME)
			return submit_bad(why, "expected time record, got",
			    type);
		if (len == 0 || len > 40 || memchr(p, '\0', len) ||
		    strspn(p, "0123456789 ") != len)
			return submit_bad(why, "malformed", type);
		s->stage = STAGE_ENV;
		return 0;
	case STAGE_ENV:
		if (type != REC_TYPE_MESG)
			return submit_envelope(s, type, p, len, why);
		if (s->notify)
			return submit_bad(why, "unexpected", type);
		if (!(s->seen & SEEN_SENDER))
			return submit_bad(why, "no sender before", type);
		if (s->rcpt_count == 0 &&
		    !(s->xflags & CLEANUP_XFLAG_EXTRACT_RCPT))
			return submit_bad(why, "no recipient before", type);
		if (len != 0)
			return submit_bad(why, "malformed", type);
		s->stage = STAGE_CONTENT;
		return 0;
	case STAGE_CONTENT:
		if (type == REC_TYPE_NORM || type == REC_TYPE_CONT)
			return 0;
		if (type != REC_TYPE_XTRA || len != 0)
			return submit_bad(why, "unexpected", type);
		s->stage = STAGE_XTRA;
		return 0;
	case STAGE_XTRA:
		if (type != REC_TYPE_END || len != 0)
			return submit_bad(why, "unexpected", type);
		s->stage = STAGE_DONE;
		return 0;
	default:
		return submit_bad(why, "record after end:", type);
	}
}

pid_t
submit_postdrop(struct stream **to, struct stream **from, const char *who)
{
	struct str *path = str_new(100);
	int in[2], out[2];
	pid_t pid;

	str_fmt(path, "%s/postdrop", var_command_directory);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		msg_fatal("pipe: %m");
	if ((pid = fork()) < 0)
		msg_fatal("fork: %m");
	if (pid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			msg_fatal("dup2: %m");
		if (msg_verbose)
			execl(str_ptr(path), "postdrop", "-r", "-v",
			    (char *)NULL);
		else
			execl(str_ptr(path), "postdrop", "-r", (char *)NULL);
		msg_fatal("%s: unable to execute %s -r: %m", who,
		    str_ptr(path));
	}
	close(in[0]);
	close(out[1]);
	*to = stream_open(in[1]);
	*from = stream_open(out[0]);
	str_free(path);
	return pid;
}
