/*
 * maillog - where a Postern program's log lines go, decided the way Postfix
 * decides it: with maillog_file set, through the postlog service (postlogd
 * writes the file); otherwise syslog.
 *
 * maillog_init(flags)    after params_load(): check maillog_file against
 *                        maillog_file_prefixes (fatal otherwise, Postfix's
 *                        text: "maillog_file value '/x' does not match any
 *                        prefix in maillog_file_prefixes"), check
 *                        syslog_facility ("file DIR/main.cf: parameter
 *                        syslog_facility: unrecognized value: x"), set the
 *                        log tag from syslog_name, keep UTF-8 in log text
 *                        as smtputf8_enable says, and route msg_* output.
 *                        With maillog_file set, each line is sent as one
 *                        datagram to
 *                        $queue_directory/public/$postlog_service_name, as
 *                        "Mon DD HH:MM:SS HOST TAG/PROGRAM[PID]: text"
 *                        (HOST: first label of myhostname).  May be called
 *                        again (reload, postlogd's pre-jail hook): the last
 *                        call decides.
 * maillog_chroot()       after chroot(queue_directory): name the postlog
 *                        socket relative to the new root (no fallback file
 *                        in there)
 *
 * Flags:
 *   MAILLOG_STDERR    keep writing to stderr as well (commands); without
 *                     it stderr is turned off
 *   MAILLOG_FALLBACK  when the postlog service cannot take a line (not
 *                     running, socket missing or full), append it to
 *                     maillog_file directly: master, postfix, postlog,
 *                     postsuper (the programs Postfix lets write the file)
 *   MAILLOG_WRITER    this is postlogd itself: open maillog_file now (call
 *                     as root; fatal "open logfile '/x': REASON"), write it
 *                     directly, never through the socket
 */
#ifndef MAILLOG_H
#define MAILLOG_H

#define MAILLOG_STDERR	 (1 << 0)
#define MAILLOG_FALLBACK (1 << 1)
#define MAILLOG_WRITER	 (1 << 2)

void maillog_init(int);
void maillog_chroot(void);

#endif
