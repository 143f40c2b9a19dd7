/*
 * submit_test - the local submission record grammar: every way a message
 * from sendmail or a maildrop file is refused, and the good shapes.
 */
#include <stdio.h>
#include <string.h>

#include "lib/util/str.h"
#include "lib/util/test.h"
#include "lib/mail/record.h"
#include "lib/mail/submit.h"

/*
 * A message as a string: records separated by '|', each its type letter
 * followed by its data ("Sroot|Rbob|M|Nhi|X|E").  '~' stands for a line
 * break inside data.
 */
struct submit_case {
	const char *name;
	int opts;
	const char *records;
	int want;        /* 0: all accepted; else 1-based index refused */
	const char *why; /* the refusal text (prefix) */
};

static const struct submit_case submit_cases[] = {
	{ "plain", 0,
	    "Aencoding=8bit|Arewrite_context=local|FJoe|Sroot|"
	    "n2|Rbob|Ralice|M|Nhi|Lpiece|Nrest|X|E",
	    0, NULL },
	{ "extract", 0, "f65536|Sroot|M|NTo: x|X|E", 0, NULL },
	{ "dsn", 0, "<2|ienv-1|V+=|Sroot|n10|Rx|M|X|E", 0, NULL },
	{ "null sender", 0, "S|Rbob|M|X|E", 0, NULL },
	{ "maildrop", SUBMIT_TIME, "T1700000000 123|Sroot|Rbob|M|X|E", 0,
	    NULL },
	{ "time from sendmail", 0, "T1|Sroot|Rbob|M|X|E", 1, "unexpected" },
	{ "no time in file", SUBMIT_TIME, "Sroot|Rbob|M|X|E", 1,
	    "expected time record" },
	{ "bad time", SUBMIT_TIME, "Tx|Sroot|Rbob|M|X|E", 1, "malformed" },
	{ "no sender", 0, "Rbob|M|X|E", 2, "no sender before" },
	{ "no recipient", 0, "Sroot|M|X|E", 2, "no recipient before" },
	{ "two senders", 0, "Sroot|Sbob|Rbob|M|X|E", 2, "duplicate" },
	{ "lf in sender", 0, "Sroot~Bcc: x|Rbob|M|X|E", 1,
	    "line break or NUL in" },
	{ "lf in recipient", 0, "Sroot|Rbob~To: x|M|X|E", 2,
	    "line break or NUL in" },
	{ "lf in full name", 0, "Fa~Bcc: x|Sroot|Rbob|M|X|E", 1,
	    "line break or NUL in" },
	{ "attribute", 0, "Asubmit_uid=0|Sroot|Rbob|M|X|E", 1,
	    "forbidden named_attribute record: submit_uid" },
	{ "bad context", 0, "Arewrite_context=xyz|Sroot|Rbob|M|X|E", 1,
	    "forbidden" },
	{ "attr no =", 0, "Afoo|Sroot|Rbob|M|X|E", 1, "malformed" },
	{ "bad flags", 0, "f1|Sroot|Rbob|M|X|E", 1, "malformed" },
	{ "flags text", 0, "fx|Sroot|Rbob|M|X|E", 1, "malformed" },
	{ "bad ret", 0, "<3|Sroot|Rbob|M|X|E", 1, "malformed" },
	{ "bad verp", 0, "V+|Sroot|Rbob|M|X|E", 1, "malformed" },
	{ "bad notify", 0, "Sroot|n16|Rbob|M|X|E", 2, "malformed" },
	{ "notify no rcpt", 0, "Sroot|Rbob|n2|M|X|E", 4, "unexpected" },
	{ "notify then S", 0, "n2|Sroot|Rbob|M|X|E", 2, "unexpected" },
	{ "queue file record", 0, "Sroot|Rbob|Ddone|M|X|E", 3, "unexpected" },
	{ "content filter", 0, "Lsmtp:x|Sroot|Rbob|M|X|E", 1, "unexpected" },
	{ "redirect", 0, "Sroot|>x|Rbob|M|X|E", 2, "unexpected" },
	{ "M data", 0, "Sroot|Rbob|M12|X|E", 3, "malformed" },
	{ "rcpt in content", 0, "Sroot|Rbob|M|Rx|X|E", 4, "unexpected" },
	{ "extracted rcpt", 0, "Sroot|Rbob|M|X|Rx|E", 5, "unexpected" },
	{ "after end", 0, "Sroot|Rbob|M|X|E|Nx", 6, "record after end" },
	{ "unknown type", 0, "Sroot|Rbob|M|X|?|E", 5, "unexpected" },
};

static void
test_grammar(struct test *t)
{
	struct submit_state s;
	struct str *why = str_new(100), *data = str_new(100);

	for (size_t i = 0; i < sizeof(submit_cases) / sizeof(submit_cases[0]);
	     i++) {
		const struct submit_case *c = &submit_cases[i];
		const char *p = c->records;
		int index = 0, refused = 0;

		submit_init(&s, c->opts);
		str_reset(why);
		while (*p && !refused) {
			size_t n = strcspn(p, "|");
			int type = (unsigned char)*p;

			index++;
			str_setn(data, p + 1, n - 1);
			for (size_t j = 0; j < str_len(data); j++)
				if (str_ptr(data)[j] == '~')
					str_ptr(data)[j] = '\n';
			if (submit_check(&s, type, str_ptr(data), str_len(data),
				why) < 0)
				refused = index;
			p += n + (p[n] == '|');
		}
		if (refused != c->want)
			TEST_FAIL(t, "%s: refused record %d (%s), want %d",
			    c->name, refused, str_ptr(why), c->want);
		else if (c->want == 0 && !submit_done(&s))
			TEST_FAIL(t, "%s: not done", c->name);
		else if (c->why &&
			 strncmp(str_ptr(why), c->why, strlen(c->why)) != 0)
			TEST_FAIL(t, "%s: got \"%s\", want \"%s...\"", c->name,
			    str_ptr(why), c->why);
		submit_free(&s);
	}
	str_free(why);
	str_free(data);
}

static void
test_sender(struct test *t)
{
	struct submit_state s;
	struct str *why = str_new(10);

	submit_init(&s, 0);
	TEST_INT(t, submit_check(&s, REC_TYPE_FROM, "a@b", 3, why), 0);
	TEST_STR(t, str_ptr(s.sender), "a@b");
	submit_free(&s);
	str_free(why);
}

static const struct test_case cases[] = {
	{ "grammar", test_grammar },
	{ "sender", test_sender },
	{ 0 },
};

int
main(void)
{
	return test_main(__FILE__, cases);
}
