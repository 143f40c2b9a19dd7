/*
 * tr_clnt_test - the trivial-rewrite client against a forked fake server
 * that numbers its answers: a question asked again gets the kept answer
 * without a request, another question (or another sender, or rule) asks
 * the server, and a failed lookup (RESOLVE_FLAG_FAIL) is never kept.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/util/test.h"
#include "lib/mail/attr.h"
#include "lib/mail/params.h"
#include "lib/mail/tr_clnt.h"

static char tmpdir[] = "/tmp/tr_clnt_test.XXXXXX";

/*
 * The server answers request N with transport "tN" (resolve) or address
 * "aN" (rewrite); the address fail@example.net gets RESOLVE_FLAG_FAIL.
 */
static pid_t
fake_server(void)
{
	struct str *why = str_new(64);
	int lfd = sock_unix_listen("private/rewrite", 5, 0600, why);
	pid_t pid;

	if (lfd < 0) {
		fprintf(stderr, "%s\n", str_ptr(why));
		exit(2);
	}
	str_free(why);
	if ((pid = fork()) == 0) {
		struct attr_list *req = attr_new(), *rep = attr_new();
		struct str *val = str_new(16);
		long n = 0;
		int fd;

		while ((fd = sock_accept(lfd)) >= 0) {
			struct stream *st = stream_open(fd);

			attr_reset(rep);
			attr_put(rep, "protocol", REWRITE_PROTOCOL);
			(void)attr_write(st, rep);
			while (attr_read(st, req, 1024) == 0) {
				const char *addr = attr_get(req, "address");

				attr_reset(rep);
				n++;
				if (strcmp(attr_get(req, "request"), "rewrite") ==
				    0) {
					str_fmt(val, "a%ld", n);
					attr_put(rep, "address", str_ptr(val));
				} else {
					str_fmt(val, "t%ld", n);
					attr_put_long(rep, "flags",
					    strcmp(addr, "fail@example.net") == 0
						? RESOLVE_FLAG_FAIL
						: 0);
					attr_put(rep, "transport", str_ptr(val));
					attr_put(rep, "nexthop", "example.net");
					attr_put(rep, "recipient", addr);
				}
				(void)attr_write(st, rep);
			}
			stream_close(st);
		}
		_exit(0);
	}
	close(lfd);
	return pid;
}

static void
test_cache(struct test *t)
{
	pid_t pid = fake_server();
	struct resolve_reply *r = resolve_reply_new();
	struct str *out = str_new(0);
	int status;

	TEST_INT(t, resolve_addr("s@example.org", "u@example.net", r), 0);
	TEST_STR(t, str_ptr(r->transport), "t1");
	TEST_STR(t, str_ptr(r->recipient), "u@example.net");
	str_set(r->transport, "clobbered");
	TEST_INT(t, resolve_addr("s@example.org", "u@example.net", r), 0);
	TEST_STR(t, str_ptr(r->transport), "t1");
	TEST_STR(t, str_ptr(r->nexthop), "example.net");
	TEST_INT(t, resolve_addr("other@example.org", "u@example.net", r), 0);
	TEST_STR(t, str_ptr(r->transport), "t2");
	TEST_INT(t, resolve_addr("other@example.org", "v@example.net", r), 0);
	TEST_STR(t, str_ptr(r->transport), "t3");

	/* Failures are asked again. */
	TEST_INT(t, resolve_addr("", "fail@example.net", r), 0);
	TEST_TRUE(t, (r->flags & RESOLVE_FLAG_FAIL) != 0);
	TEST_STR(t, str_ptr(r->transport), "t4");
	TEST_INT(t, resolve_addr("", "fail@example.net", r), 0);
	TEST_STR(t, str_ptr(r->transport), "t5");

	/* Rewrite: its own entry, keyed by rule and address. */
	TEST_INT(t, rewrite_addr("local", "u", out), 0);
	TEST_STR(t, str_ptr(out), "a6");
	TEST_INT(t, rewrite_addr("local", "u", out), 0);
	TEST_STR(t, str_ptr(out), "a6");
	TEST_INT(t, rewrite_addr("remote", "u", out), 0);
	TEST_STR(t, str_ptr(out), "a7");

	/* Neither the failures nor the rewrites replaced the kept answer. */
	TEST_INT(t, resolve_addr("other@example.org", "v@example.net", r), 0);
	TEST_STR(t, str_ptr(r->transport), "t3");
	TEST_INT(t, rewrite_addr("remote", "u", out), 0);
	TEST_STR(t, str_ptr(out), "a7");

	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	unlink("private/rewrite");
	resolve_reply_free(r);
	str_free(out);
}

static const struct test_case cases[] = {
	{ "cache", test_cache },
	{ 0 },
};

int
main(void)
{
	static char service[] = "rewrite";
	char cmd[300];
	int rc;

	if (mkdtemp(tmpdir) == NULL || chdir(tmpdir) < 0 ||
	    mkdir("private", 0700) < 0) {
		perror(tmpdir);
		return 2;
	}
	var_ipc_timeout = 10;
	var_rewrite_service_name = service;
	rc = test_main(__FILE__, cases);
	if (chdir("/") < 0)
		rc = 1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
