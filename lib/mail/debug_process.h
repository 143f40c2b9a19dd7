/*
 * debug_process - the -D option of master and the daemons.
 *
 * debug_process()   run debugger_command (already expanded, so
 *                   $process_name and $process_id name this process) with
 *                   /bin/sh and wait for it; fatal when it is not set, as
 *                   in Postfix: "no debugger_command variable set up"
 */
#ifndef DEBUG_PROCESS_H
#define DEBUG_PROCESS_H

void debug_process(void);

#endif
