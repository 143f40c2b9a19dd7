/*
 * debug_process - see debug_process.h.
 */
#include <stdlib.h>

#include "lib/util/msg.h"
#include "lib/mail/debug_process.h"
#include "lib/mail/params.h"

void
debug_process(void)
{
	if (*var_debugger_command == 0)
		msg_fatal("no debugger_command variable set up");
	msg_info("running: %s", var_debugger_command);
	if (system(var_debugger_command) != 0)
		msg_warn("debugger_command exited with a non-zero status");
}
