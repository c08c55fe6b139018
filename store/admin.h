/* Admin subcommands of beseda-store, for seeding and operations:
 *   beseda-store migrate
 *   beseda-store create-site --name NAME [--origins a,b]          prints the site id
 *   beseda-store create-operator --site ID --email E --password P --name N [--max-chats 5]
 *                                                                  prints the operator id
 * Exit codes: 0 done, 1 failed (reason on stderr), 2 bad usage. */
#ifndef STORE_ADMIN_H
#define STORE_ADMIN_H

/* 1 if argv[1] names a subcommand. */
int store_admin_is_command(int argc, char **argv);
/* Runs the subcommand argv[1]; returns the exit code. */
int store_admin_run(int argc, char **argv);

#endif
