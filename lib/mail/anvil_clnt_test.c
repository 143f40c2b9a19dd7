/*
 * anvil_clnt_test - the client side of the anvil protocol against a forked
 * fake server: requests and replies, a refused request, a wrong service,
 * a server that dropped the connection (mended silently), and no server
 * at all (Postfix's warnings).
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
#include "lib/mail/anvil_clnt.h"
#include "lib/mail/attr.h"
#include "lib/mail/params.h"

static char tmpdir[] = "/tmp/anvil_clnt_test.XXXXXX";

/*
 * A server on private/anvil greeting with protocol; each connection
 * answers at most per_conn requests (0: any number).  The replies echo
 * the request so the test sees what was sent.
 */
static pid_t
fake_server(const char *protocol, int per_conn)
{
	struct str *why = str_new(64);
	int lfd = sock_unix_listen("private/anvil", 5, 0600, why);
	pid_t pid;

	if (lfd < 0) {
		fprintf(stderr, "%s\n", str_ptr(why));
		exit(2);
	}
	str_free(why);
	if ((pid = fork()) == 0) {
		struct attr_list *req = attr_new(), *rep = attr_new();
		int fd;

		while ((fd = sock_accept(lfd)) >= 0) {
			struct stream *st = stream_open(fd);
			const char *r, *id;

			attr_put(rep, "protocol", protocol);
			(void)attr_write(st, rep);
			for (int n = 0; per_conn == 0 || n < per_conn; n++) {
				if (attr_read(st, req, 1024) < 0)
					break;
				r = attr_get(req, "request");
				id = attr_get(req, "ident");
				attr_reset(rep);
				if (strcmp(id, "smtp:192.0.2.9") == 0) {
					attr_put(rep, "status", "-1");
				} else if (strcmp(r, "connect") == 0) {
					attr_put(rep, "status", "0");
					attr_put(rep, "count", "3");
					attr_put(rep, "rate", "7");
				} else if (strcmp(r, "lookup") == 0) {
					attr_put(rep, "status", "0");
					attr_put(rep, "count", "1");
					attr_put(rep, "rate", "2");
					attr_put(rep, "mail", "3");
					attr_put(rep, "rcpt", "4");
					attr_put(rep, "newtls", "5");
					attr_put(rep, "auth", "6");
				} else if (strcmp(r, "disconnect") == 0) {
					attr_put(rep, "status", "0");
				} else {
					/* rate = length of the request name */
					attr_put(rep, "status", "0");
					attr_put_long(rep, "rate",
					    (long)strlen(r));
				}
				(void)attr_write(st, rep);
			}
			stream_close(st);
			attr_reset(rep);
		}
		_exit(0);
	}
	close(lfd);
	return pid;
}

static void
stop_server(pid_t pid)
{
	int status;

	anvil_clnt_close();
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	unlink("private/anvil");
}

static void
test_requests(struct test *t)
{
	pid_t pid = fake_server(ANVIL_PROTOCOL, 0);
	struct anvil_counts c;
	int count = 0, rate = 0;

	TEST_INT(t, anvil_clnt_connect("smtp", "192.0.2.1", &count, &rate), 0);
	TEST_INT(t, count, 3);
	TEST_INT(t, rate, 7);
	TEST_INT(t, anvil_clnt_message("smtp", "192.0.2.1", &rate), 0);
	TEST_INT(t, rate, (int)strlen("message"));
	TEST_INT(t, anvil_clnt_recipient("smtp", "192.0.2.1", &rate), 0);
	TEST_INT(t, rate, (int)strlen("recipient"));
	TEST_INT(t, anvil_clnt_newtls("smtp", "192.0.2.1", &rate), 0);
	TEST_INT(t, rate, (int)strlen("newtls"));
	TEST_INT(t, anvil_clnt_newtls_report("smtp", "192.0.2.1", &rate), 0);
	TEST_INT(t, rate, (int)strlen("newtls_report"));
	TEST_INT(t, anvil_clnt_auth("smtp", "192.0.2.1", &rate), 0);
	TEST_INT(t, rate, (int)strlen("auth"));
	TEST_INT(t, anvil_clnt_lookup("smtp", "192.0.2.1", &c), 0);
	TEST_INT(t, c.count, 1);
	TEST_INT(t, c.rate, 2);
	TEST_INT(t, c.mail, 3);
	TEST_INT(t, c.rcpt, 4);
	TEST_INT(t, c.ntls, 5);
	TEST_INT(t, c.auth, 6);
	TEST_INT(t, anvil_clnt_disconnect("smtp", "192.0.2.1"), 0);
	/* status=-1: the caller does not limit */
	TEST_INT(t, anvil_clnt_connect("smtp", "192.0.2.9", &count, &rate), -1);
	TEST_STR(t, test_log_text(), "");
	stop_server(pid);
}

static void
test_wrong_service(struct test *t)
{
	pid_t pid = fake_server("rewrite_protocol", 0);
	int count, rate;

	TEST_INT(t, anvil_clnt_connect("smtp", "192.0.2.1", &count, &rate), -1);
	TEST_TRUE(t,
	    strstr(test_log_text(), "warning: unexpected server protocol type: "
				    "rewrite_protocol\n") != NULL);
	stop_server(pid);
}

/* anvil restarted since the last request: a silent reconnect. */
static void
test_reconnect(struct test *t)
{
	pid_t pid = fake_server(ANVIL_PROTOCOL, 1);
	int rate = 0;

	TEST_INT(t, anvil_clnt_message("smtp", "192.0.2.1", &rate), 0);
	TEST_INT(t, anvil_clnt_auth("smtp", "192.0.2.1", &rate), 0);
	TEST_INT(t, rate, (int)strlen("auth"));
	TEST_STR(t, test_log_text(), "");
	stop_server(pid);
}

static void
test_no_server(struct test *t)
{
	int count, rate;

	TEST_INT(t, anvil_clnt_connect("smtp", "192.0.2.1", &count, &rate), -1);
	TEST_STR(t, test_log_text(),
	    "warning: connect to private/anvil: No such file or directory\n"
	    "warning: connect to private/anvil: No such file or directory\n"
	    "warning: problem talking to server private/anvil: No such file "
	    "or directory\n");
}

static const struct test_case cases[] = {
	{ "requests", test_requests },
	{ "wrong_service", test_wrong_service },
	{ "reconnect", test_reconnect },
	{ "no_server", test_no_server },
	{ 0 },
};

int
main(void)
{
	char cmd[300];
	int rc;

	if (mkdtemp(tmpdir) == NULL || chdir(tmpdir) < 0 ||
	    mkdir("private", 0700) < 0) {
		perror(tmpdir);
		return 2;
	}
	var_ipc_timeout = 10;
	rc = test_main(__FILE__, cases);
	if (chdir("/") < 0)
		rc = 1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
