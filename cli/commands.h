/* commands.h - runnel's subcommands, one file each (cmd_*.c). */
#ifndef RUNNEL_CLI_COMMANDS_H
#define RUNNEL_CLI_COMMANDS_H

#include "options.h"

/* Each returns the process exit code. */
int cmd_run(cli_args *args);
int cmd_start(cli_args *args);
int cmd_stop(cli_args *args);
int cmd_is_alive(cli_args *args);
int cmd_transmit(cli_args *args);
int cmd_worker(cli_args *args);
int cmd_process(cli_args *args);

#endif
