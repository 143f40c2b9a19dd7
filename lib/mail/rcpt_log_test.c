/*
 * rcpt_log_test - appending and reading recipient logs in a scratch queue
 * directory: round trip of every field, hashed defer/ paths, mode 0600,
 * symlinks refused, a torn last entry ignored by readers and cut off by
 * the next writer, malformed entries skipped with a warning, removal.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/str.h"
#include "lib/util/test.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/rcpt_log.h"
#include "lib/mail/record.h"

static char tmpdir[] = "/tmp/rcpt_log_test.XXXXXX";

static const struct rcpt_log_entry ent1 = {
	.address = "y@dead.test",
	.orig_address = "Y@dead.test",
	.dsn_orcpt = "rfc822;Y@dead.test",
	.offset = 312,
	.notify_flags = DSN_NOTIFY_DELAY | DSN_NOTIFY_FAILURE,
	.status = "4.4.1",
	.action = "delayed",
	.reason = "connect to 127.0.0.1[127.0.0.1]:1: Connection refused",
	.mta = "127.0.0.1",
	.dtype = "smtp",
	.dtext = "450 4.2.0 <y@dead.test>: try later",
	.time = 1795314517,
};

static const struct rcpt_log_entry ent2 = {
	.address = "z@dead.test",
	.status = "5.1.1",
	.action = "failed",
	.reason = "line\none\ttab",
	.time = 7,
};

/* Write raw bytes as a whole log file. */
static void
put_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		perror(path);
	close(fd);
}

static void
test_round_trip(struct test *t)
{
	struct str *why = str_new(64);
	struct rcpt_log_list *l;
	struct stat sb;

	TEST_INT(t, rcpt_log_append(QUEUE_DEFER, "546C7A7258F", &ent1, why), 0);
	TEST_INT(t, rcpt_log_append(QUEUE_DEFER, "546C7A7258F", &ent2, why), 0);
	TEST_INT(t, stat("defer/5/546C7A7258F", &sb), 0);
	TEST_INT(t, sb.st_mode & 07777, 0600);
	l = rcpt_log_read(QUEUE_DEFER, "546C7A7258F", why);
	TEST_TRUE(t, l != NULL);
	if (l == NULL)
		goto out;
	TEST_INT(t, l->count, 2);
	if (l->count == 2) {
		const struct rcpt_log_entry *a = &l->entries[0];
		const struct rcpt_log_entry *b = &l->entries[1];

		TEST_STR(t, a->address, "y@dead.test");
		TEST_STR(t, a->orig_address, "Y@dead.test");
		TEST_STR(t, a->dsn_orcpt, "rfc822;Y@dead.test");
		TEST_INT(t, a->offset, 312);
		TEST_INT(t, a->notify_flags, 12);
		TEST_STR(t, a->status, "4.4.1");
		TEST_STR(t, a->action, "delayed");
		TEST_STR(t, a->reason, ent1.reason);
		TEST_STR(t, a->mta, "127.0.0.1");
		TEST_INT(t, a->time, 1795314517);
		TEST_STR(t, a->dtype, "smtp");
		TEST_STR(t, a->dtext, "450 4.2.0 <y@dead.test>: try later");
		/* An entry without them (as older logs): empty. */
		TEST_STR(t, b->dtype, "");
		TEST_STR(t, b->dtext, "");
		TEST_STR(t, b->address, "z@dead.test");
		TEST_STR(t, b->orig_address, "");
		TEST_STR(t, b->mta, "");
		TEST_STR(t, b->reason, "line one tab");
		TEST_STR(t, b->action, "failed");
	}
	TEST_STR(t, test_log_text(), "");
	l = rcpt_log_list_free(l);
	TEST_INT(t, rcpt_log_remove(QUEUE_DEFER, "546C7A7258F"), 0);
	TEST_TRUE(t, rcpt_log_read(QUEUE_DEFER, "546C7A7258F", why) == NULL);
	TEST_INT(t, errno, ENOENT);
	TEST_INT(t, rcpt_log_remove(QUEUE_DEFER, "546C7A7258F"), -1);
out:
	str_free(why);
}

static void
test_bad_names(struct test *t)
{
	struct str *why = str_new(64);

	TEST_INT(t, rcpt_log_append(QUEUE_BOUNCE, "../x", &ent1, why), -1);
	TEST_INT(t, errno, EINVAL);
	TEST_INT(t, rcpt_log_append("etc", "ABCDE1", &ent1, why), -1);
	TEST_TRUE(t, rcpt_log_read(QUEUE_BOUNCE, "a/b", why) == NULL);
	TEST_INT(t, rcpt_log_remove(QUEUE_BOUNCE, ".."), -1);
	str_free(why);
}

static void
test_symlink(struct test *t)
{
	struct str *why = str_new(64);
	struct stat sb;

	if (symlink("/tmp/rcpt_log_target", "bounce/ABCDE1") < 0)
		perror("symlink");
	TEST_INT(t, rcpt_log_append(QUEUE_BOUNCE, "ABCDE1", &ent1, why), -1);
	TEST_TRUE(t, strstr(str_ptr(why), "symbolic link") != NULL);
	TEST_INT(t, lstat("/tmp/rcpt_log_target", &sb), -1);
	TEST_TRUE(t, rcpt_log_read(QUEUE_BOUNCE, "ABCDE1", why) == NULL);
	unlink("bounce/ABCDE1");
	str_free(why);
}

static void
test_torn(struct test *t)
{
	struct str *why = str_new(64);
	struct str *data = str_new(256);
	struct rcpt_log_list *l;
	size_t one;

	rcpt_log_encode(data, &ent1);
	one = str_len(data);
	rcpt_log_encode(data, &ent2);
	/* Every cut inside the second entry leaves just the first one. */
	for (size_t cut = one + 1; cut < str_len(data); cut += 7) {
		put_file("trace/ABCDE2", str_ptr(data), cut);
		test_log_reset();
		l = rcpt_log_read(QUEUE_TRACE, "ABCDE2", why);
		TEST_TRUE(t, l != NULL && l->count == 1);
		TEST_TRUE(t,
		    strstr(test_log_text(), "trace/ABCDE2: incomplete "
					    "last entry at offset") != NULL);
		rcpt_log_list_free(l);
	}

	/* The next writer cuts the torn entry off before appending. */
	put_file("trace/ABCDE2", str_ptr(data), one + 10);
	test_log_reset();
	TEST_INT(t, rcpt_log_append(QUEUE_TRACE, "ABCDE2", &ent2, why), 0);
	TEST_STR(t, test_log_text(),
	    "warning: trace/ABCDE2: removed an incomplete last entry\n");
	test_log_reset();
	l = rcpt_log_read(QUEUE_TRACE, "ABCDE2", why);
	TEST_TRUE(t, l != NULL && l->count == 2);
	if (l != NULL && l->count == 2)
		TEST_STR(t, l->entries[1].address, "z@dead.test");
	TEST_STR(t, test_log_text(), "");
	rcpt_log_list_free(l);
	unlink("trace/ABCDE2");
	str_free(data);
	str_free(why);
}

/* An entry built from raw A records, each "name=value". */
static void
raw_entry(struct str *out, const char *const *attrs)
{
	for (; *attrs != NULL; attrs++) {
		size_t len = strlen(*attrs);
		char hdr[3] = { REC_TYPE_ATTR, (char)len, 0 };

		str_catn(out, hdr, 2); /* test values are < 128 bytes */
		str_catn(out, *attrs, len);
	}
	str_catn(out, "E\0", 2);
}

static void
test_malformed(struct test *t)
{
	static const struct {
		const char *attrs[5];
		const char *why;
	} cases[] = {
		{ { "status=4.4.1", "action=delayed", NULL }, "no recipient" },
		{ { "recipient=a", "status=4.4", "action=delayed", NULL },
		    "missing or bad status" },
		{ { "recipient=a", "status=3.0.0", "action=delayed", NULL },
		    "missing or bad status" },
		{ { "recipient=a", "status=4.4.1x", "action=delayed", NULL },
		    "missing or bad status" },
		{ { "recipient=a", "status=4.4.1", "action=bounced", NULL },
		    "missing or bad action" },
		{ { "recipient=a", "status=4.4.1", "action=delayed",
		      "offset=-1", NULL },
		    "bad number" },
		{ { "recipient=a", "recipient=b", "status=4.4.1",
		      "action=delayed", NULL },
		    "duplicate attribute" },
		{ { "recipient=a", "noequals", "status=4.4.1", "action=delayed",
		      NULL },
		    "attribute without '='" },
	};
	struct str *why = str_new(64);
	struct str *data = str_new(256);
	struct str *want = str_new(256);
	static const char *const good[] = { "recipient=ok", "future=x",
		"status=4.4.1", "action=delayed", NULL };
	struct rcpt_log_list *l;
	size_t start;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		str_reset(data);
		raw_entry(data, good);
		start = str_len(data);
		raw_entry(data, cases[i].attrs);
		raw_entry(data, good);
		put_file("bounce/ABCDE3", str_ptr(data), str_len(data));
		test_log_reset();
		l = rcpt_log_read(QUEUE_BOUNCE, "ABCDE3", why);
		TEST_TRUE(t, l != NULL && l->count == 2);
		str_fmt(want,
		    "warning: bounce/ABCDE3: malformed entry at offset %zu: "
		    "%s -- skipped\n",
		    start, cases[i].why);
		TEST_STR(t, test_log_text(), str_ptr(want));
		rcpt_log_list_free(l);
	}

	/* A framing error keeps what came before and stops. */
	str_reset(data);
	raw_entry(data, good);
	str_catn(data, "\001\001x", 3);
	raw_entry(data, good);
	put_file("bounce/ABCDE3", str_ptr(data), str_len(data));
	test_log_reset();
	l = rcpt_log_read(QUEUE_BOUNCE, "ABCDE3", why);
	TEST_TRUE(t, l != NULL && l->count == 1);
	TEST_TRUE(t,
	    strstr(test_log_text(), "bad record type at offset") != NULL);
	rcpt_log_list_free(l);

	/* A record of another known type spoils only its entry. */
	str_reset(data);
	str_catn(data, "R\001a", 3);
	raw_entry(data, good);
	raw_entry(data, good);
	put_file("bounce/ABCDE3", str_ptr(data), str_len(data));
	test_log_reset();
	l = rcpt_log_read(QUEUE_BOUNCE, "ABCDE3", why);
	TEST_TRUE(t, l != NULL && l->count == 1);
	TEST_STR(t, test_log_text(),
	    "warning: bounce/ABCDE3: malformed entry at offset 0: unexpected "
	    "record type -- skipped\n");
	rcpt_log_list_free(l);
	unlink("bounce/ABCDE3");
	str_free(want);
	str_free(data);
	str_free(why);
}

static void
test_long_value(struct test *t)
{
	struct str *why = str_new(64);
	struct str *big = str_new(RCPT_LOG_VALUE_MAX * 2);
	struct rcpt_log_entry e = ent2;
	struct rcpt_log_list *l;

	for (int i = 0; i < RCPT_LOG_VALUE_MAX * 2; i++)
		str_cat(big, "x");
	e.reason = str_ptr(big);
	TEST_INT(t, rcpt_log_append(QUEUE_BOUNCE, "ABCDE4", &e, why), 0);
	l = rcpt_log_read(QUEUE_BOUNCE, "ABCDE4", why);
	TEST_TRUE(t, l != NULL && l->count == 1);
	if (l != NULL && l->count == 1)
		TEST_INT(t, strlen(l->entries[0].reason),
		    RCPT_LOG_VALUE_MAX - strlen("reason="));
	TEST_STR(t, test_log_text(), "");
	rcpt_log_list_free(l);
	unlink("bounce/ABCDE4");
	str_free(big);
	str_free(why);
}

static const struct test_case cases[] = {
	{ "round_trip", test_round_trip },
	{ "bad_names", test_bad_names },
	{ "symlink", test_symlink },
	{ "torn", test_torn },
	{ "malformed", test_malformed },
	{ "long_value", test_long_value },
	{ 0 },
};

int
main(void)
{
	int rc;

	var_hash_queue_names = (char *)"deferred, defer";
	var_hash_queue_depth = 1;
	if (mkdtemp(tmpdir) == NULL || chdir(tmpdir) < 0) {
		perror(tmpdir);
		return 2;
	}
	mkdir("defer", 0700);
	mkdir("bounce", 0700);
	mkdir("trace", 0700);
	rc = test_main(__FILE__, cases);
	if (chdir("/") == 0 && fork() == 0) {
		execlp("rm", "rm", "-rf", tmpdir, (char *)NULL);
		_exit(1);
	}
	return rc;
}
