/*
 * cleanup_clnt_test - the client side of the cleanup protocol against a
 * forked fake server (greeting, flags, reply, malformed answers), and the
 * SMTP replies cleanup_stat_smtp() gives (Postfix's cleanup_strerror()).
 */
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/util/test.h"
#include "lib/mail/attr.h"
#include "lib/mail/cleanup_proto.h"
#include "lib/mail/record.h"

static char tmpdir[] = "/tmp/cleanup_clnt_test.XXXXXX";
static char sockpath[300];

static void
test_stat_smtp(struct test *t)
{
	static const struct {
		int status;
		const char *code, *dsn, *text;
	} cases[] = {
		{ 0, "250", "2.0.0", "Success" },
		{ CLEANUP_STAT_DEFER, "451", "4.7.1", "service unavailable" },
		{ CLEANUP_STAT_BAD, "451", "4.3.0", "internal protocol error" },
		{ CLEANUP_STAT_WRITE, "451", "4.3.0",
		    "queue file write error" },
		{ CLEANUP_STAT_SIZE, "552", "5.3.4", "message file too big" },
		{ CLEANUP_STAT_CONT, "550", "5.7.1",
		    "message content rejected" },
		{ CLEANUP_STAT_HOPS, "554", "5.4.0", "too many hops" },
		{ CLEANUP_STAT_RCPT, "550", "5.1.0",
		    "no recipients specified" },
		{ CLEANUP_STAT_NOPERM, "550", "5.7.1", "service denied" },
		/* Temporary trouble wins over a permanent one. */
		{ CLEANUP_STAT_WRITE | CLEANUP_STAT_SIZE, "552", "5.3.4",
		    "message file too big" },
		{ CLEANUP_STAT_DEFER | CLEANUP_STAT_CONT, "451", "4.7.1",
		    "service unavailable" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cleanup_smtp *r =
		    cleanup_stat_smtp(cases[i].status);

		TEST_STR(t, r->code, cases[i].code);
		TEST_STR(t, r->dsn, cases[i].dsn);
		TEST_STR(t, r->text, cases[i].text);
	}
}

/*
 * A one-connection server: greet with the given protocol name, read the
 * flags list and the records up to E, answer with reply (or nothing).
 */
static pid_t
fake_server(const char *protocol, const char *status, const char *reason)
{
	struct str *why = str_new(64);
	int lfd = sock_unix_listen(sockpath, 1, 0600, why);
	pid_t pid;

	if (lfd < 0) {
		fprintf(stderr, "%s\n", str_ptr(why));
		exit(2);
	}
	str_free(why);
	if ((pid = fork()) == 0) {
		int fd = sock_accept(lfd);
		struct stream *st = stream_open(fd);
		struct attr_list *al = attr_new();
		struct str *buf = str_new(64);
		int type;

		attr_put(al, "protocol", protocol);
		attr_put(al, "queue_id", "ABCDEF123");
		(void)attr_write(st, al);
		if (attr_read(st, al, 100) < 0 ||
		    strcmp(attr_get(al, "flags"), "34") != 0)
			_exit(1);
		while ((type = rec_get(st, buf, 1000)) > 0 && type != 'E')
			;
		if (status) {
			attr_reset(al);
			attr_put(al, "status", status);
			attr_put(al, "reason", reason);
			(void)attr_write(st, al);
		}
		stream_close(st);
		_exit(0);
	}
	close(lfd);
	return pid;
}

static void
test_conversation(struct test *t)
{
	static const struct {
		const char *protocol, *status, *reason;
		int want;
		const char *want_reason;
		bool open_ok;
	} cases[] = {
		{ "cleanup_protocol", "0", "", 0, "", true },
		{ "cleanup_protocol", "8", "5.7.1 no spam", CLEANUP_STAT_CONT,
		    "5.7.1 no spam", true },
		{ "cleanup_protocol", "x", "", CLEANUP_STAT_WRITE, "", true },
		{ "cleanup_protocol", NULL, NULL, CLEANUP_STAT_WRITE, "",
		    true },
		{ "rewrite_protocol", NULL, NULL, 0, "", false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct str *why = str_new(64), *reason = str_new(64);
		struct cleanup *c;
		pid_t pid;
		int status;

		unlink(sockpath);
		pid = fake_server(cases[i].protocol, cases[i].status,
		    cases[i].reason);
		c = cleanup_open(sockpath, 34, why);
		TEST_TRUE(t, (c != NULL) == cases[i].open_ok);
		if (c != NULL) {
			TEST_STR(t, cleanup_queue_id(c), "ABCDEF123");
			TEST_INT(t, rec_puts(cleanup_stream(c), 'S', "a@b"), 0);
			TEST_INT(t, rec_puts(cleanup_stream(c), 'E', ""), 0);
			TEST_INT(t, cleanup_close(c, reason), cases[i].want);
			TEST_STR(t, str_ptr(reason), cases[i].want_reason);
		} else {
			TEST_TRUE(t, strstr(str_ptr(why),
					 "unexpected greeting") != NULL);
		}
		waitpid(pid, &status, 0);
		str_free(why);
		str_free(reason);
	}
}

static const struct test_case cases[] = {
	{ "stat_smtp", test_stat_smtp },
	{ "conversation", test_conversation },
	{ 0 },
};

int
main(void)
{
	char cmd[300];
	int rc;

	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return 2;
	}
	snprintf(sockpath, sizeof(sockpath), "%s/cleanup", tmpdir);
	rc = test_main(__FILE__, cases);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
