/*
 * confdir - who may choose the configuration directory (see confdir.h).
 */
#include <sys/auxv.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/lline.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/confdir.h"

/* main.cf lines are bounded: a hostile main.cf is not the threat here. */
#define CONFDIR_LINE_LIMIT ((size_t)1 << 20)

bool
confdir_untrusted(void)
{
	return getuid() != 0 &&
	       (getuid() != geteuid() || getgid() != getegid() ||
		   getauxval(AT_SECURE) != 0);
}

/* Is dir a word of value (comma or white space separated)? */
static bool
confdir_listed(const char *value, const char *dir)
{
	const char *sep = ", \t\r\n";
	size_t n;

	while (*(value += strspn(value, sep))) {
		n = strcspn(value, sep);
		if (n == strlen(dir) && strncmp(value, dir, n) == 0)
			return true;
		value += n;
	}
	return false;
}

void
confdir_check(const char *dir)
{
	const char *path = DEF_CONFIG_DIR "/main.cf";
	struct str *buf;
	struct lline ll;
	bool found = false;
	char *eq, *name;
	FILE *fp;
	int got;

	if (strcmp(dir, DEF_CONFIG_DIR) == 0)
		return;
	if ((fp = fopen(path, "re")) == NULL)
		msg_fatal("open file %s: %m", path);
	buf = str_new(200);
	lline_open(&ll, fp, path, CONFDIR_LINE_LIMIT);
	while (!found && (got = lline_read(&ll, buf)) != 0) {
		if (got < 0 || (eq = strchr(str_ptr(buf), '=')) == NULL)
			continue;
		*eq = 0;
		name = str_ptr(buf) + strspn(str_ptr(buf), " \t");
		name[strcspn(name, " \t")] = 0;
		if (strcmp(name, "alternate_config_directories") == 0 ||
		    strcmp(name, "multi_instance_directories") == 0)
			found = confdir_listed(eq + 1, dir);
	}
	lline_close(&ll);
	fclose(fp);
	str_free(buf);
	if (!found) {
		msg_error("unauthorized configuration directory name: %s", dir);
		msg_fatal("specify \"alternate_config_directories = %s\" or "
			  "\"multi_instance_directories = %s\" in %s",
		    dir, dir, path);
	}
}
