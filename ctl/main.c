/* besedactl: picks the command; each command parses its own options (see
 * ctl.h for the exit codes and docs/CTL.md for the reference). */
#include "ctl.h"
#include "log.h"
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
        "Usage: besedactl COMMAND [options]   (every command takes --help)\n"
        "The command-line tool for operators of a beseda deployment.\n\n"
        "Commands:\n"
        "  status                      workers, key owners, gateway connections, queue lengths\n"
        "  site create | list          sites and their widget embed snippet\n"
        "  operator create | list | reset-password\n"
        "                              operator and site admin accounts\n"
        "  drain WORKER_NAME           tell a router or store worker to leave gracefully\n\n"
        "Common options: --broker ENDPOINT (BESEDA_BROKER), --timeout-ms N, --json\n"
        "Exit codes: 0 ok, 1 refused or failed, 2 usage error, 3 no answer (broker unreachable)\n");
}

int main(int argc, char **argv)
{
    /* bus.c logs JSON lines on stderr; keep them to real trouble here. */
    if (!getenv("BESEDA_LOG_LEVEL"))
        setenv("BESEDA_LOG_LEVEL", "error", 1);
    beseda_log_init("besedactl");
    zsys_handler_set(NULL);
    zsys_set_linger(0);
    if (argc < 2) {
        usage(stderr);
        return CTL_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return CTL_EXIT_OK;
    }
    if (strcmp(cmd, "status") == 0)
        return ctl_cmd_status(argc - 2, argv + 2);
    if (strcmp(cmd, "site") == 0)
        return ctl_cmd_site(argc - 2, argv + 2);
    if (strcmp(cmd, "operator") == 0)
        return ctl_cmd_operator(argc - 2, argv + 2);
    if (strcmp(cmd, "drain") == 0)
        return ctl_cmd_drain(argc - 2, argv + 2);
    fprintf(stderr, "besedactl: unknown command '%s'\n", cmd);
    usage(stderr);
    return CTL_EXIT_USAGE;
}
