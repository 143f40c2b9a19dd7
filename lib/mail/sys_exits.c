/*
 * sys_exits - sysexits.h codes as Postfix describes them (sys_exits.h).
 */
#include <stddef.h>

#include "lib/mail/sys_exits.h"

static const struct sys_exit sys_exits[] = {
	{ 64, "5.3.0", "command line usage error" },
	{ 65, "5.6.0", "data format error" },
	{ 66, "5.3.0", "cannot open input" },
	{ 67, "5.1.1", "user unknown" },
	{ 68, "5.1.2", "host name unknown" },
	{ 69, "5.3.0", "service unavailable" },
	{ 70, "5.3.0", "internal software error" },
	{ 71, "4.3.0", "system resource problem" },
	{ 72, "5.3.0", "local configuration error" },
	{ 73, "5.2.0", "cannot create output file" },
	{ 74, "5.3.0", "input/output error" },
	{ 75, "4.3.0", "temporary failure" },
	{ 76, "5.5.0", "remote protocol error" },
	{ 77, "5.7.0", "permission denied" },
	{ 78, "5.3.5", "local configuration error" },
};

const struct sys_exit *
sys_exits_find(int status)
{
	for (size_t i = 0; i < sizeof(sys_exits) / sizeof(*sys_exits); i++)
		if (sys_exits[i].status == status)
			return &sys_exits[i];
	return NULL;
}

bool
sys_exits_soft(const struct sys_exit *se)
{
	return se->dsn[0] == '4';
}
