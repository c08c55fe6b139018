/* See sql_functions.h. Each file's text is pulled into .rodata by the
 * assembler (.incbin, path relative to the repository root where make runs
 * the compiler) with a NUL after it; the Makefile makes this object depend on
 * every file in store/sql/. A new function file is added here too:
 * tests/unit/test_store_sql_functions.c fails while the table and the
 * directory differ.
 *
 * Order: alphabetical, which also puts each function a LANGUAGE sql body
 * calls before it (inbox_json before inbox_list): PostgreSQL checks those
 * bodies when they are created; plpgsql bodies only when they run. */
#include "sql_functions.h"

#define SQL_FILE(sym, file)                                             \
    __asm__(".section .rodata\n"                                        \
            ".global store_sql_text_" #sym "\n"                         \
            ".hidden store_sql_text_" #sym "\n"                         \
            "store_sql_text_" #sym ":\n"                                \
            ".incbin \"store/sql/" file "\"\n"                          \
            ".byte 0\n"                                                 \
            ".previous\n");                                             \
    extern const char store_sql_text_##sym[] __attribute__((visibility("hidden")));

SQL_FILE(accept, "accept.sql")
SQL_FILE(append, "append.sql")
SQL_FILE(assign, "assign.sql")
SQL_FILE(clear_held_by, "clear_held_by.sql")
SQL_FILE(inbox_answer, "inbox_answer.sql")
SQL_FILE(inbox_json, "inbox_json.sql")
SQL_FILE(inbox_list, "inbox_list.sql")
SQL_FILE(inbox_missed, "inbox_missed.sql")
SQL_FILE(inbox_offline, "inbox_offline.sql")
SQL_FILE(local_minute, "local_minute.sql")
SQL_FILE(mail_to, "mail_to.sql")
SQL_FILE(mail_transcript, "mail_transcript.sql")
SQL_FILE(offline, "offline.sql")
SQL_FILE(open_chats_add, "open_chats_add.sql")
SQL_FILE(open_chats_trigger, "open_chats_trigger.sql")
SQL_FILE(queue_missed, "queue_missed.sql")
SQL_FILE(route_step, "route_step.sql")
SQL_FILE(team_append, "team_append.sql")
SQL_FILE(transcript, "transcript.sql")
SQL_FILE(transfer, "transfer.sql")
SQL_FILE(visitor_hello, "visitor_hello.sql")

static const store_sql_file_t files[] = {
    { "accept.sql", store_sql_text_accept },
    { "append.sql", store_sql_text_append },
    { "assign.sql", store_sql_text_assign },
    { "clear_held_by.sql", store_sql_text_clear_held_by },
    { "inbox_answer.sql", store_sql_text_inbox_answer },
    { "inbox_json.sql", store_sql_text_inbox_json },
    { "inbox_list.sql", store_sql_text_inbox_list },
    { "inbox_missed.sql", store_sql_text_inbox_missed },
    { "inbox_offline.sql", store_sql_text_inbox_offline },
    { "local_minute.sql", store_sql_text_local_minute },
    { "mail_to.sql", store_sql_text_mail_to },
    { "mail_transcript.sql", store_sql_text_mail_transcript },
    { "offline.sql", store_sql_text_offline },
    { "open_chats_add.sql", store_sql_text_open_chats_add },
    { "open_chats_trigger.sql", store_sql_text_open_chats_trigger },
    { "queue_missed.sql", store_sql_text_queue_missed },
    { "route_step.sql", store_sql_text_route_step },
    { "team_append.sql", store_sql_text_team_append },
    { "transcript.sql", store_sql_text_transcript },
    { "transfer.sql", store_sql_text_transfer },
    { "visitor_hello.sql", store_sql_text_visitor_hello }
};

const store_sql_file_t *store_sql_files(size_t *count)
{
    *count = sizeof files / sizeof *files;
    return files;
}
