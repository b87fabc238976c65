/* commands.h - runnel's subcommands, one file each (cmd_*.c). */
#ifndef RUNNEL_CLI_COMMANDS_H
#define RUNNEL_CLI_COMMANDS_H

#include "options.h"
#include "runnel.h"

/* Each returns the process exit code. */
int cmd_run(cli_args *args);
int cmd_start(cli_args *args);
int cmd_stop(cli_args *args);
int cmd_is_alive(cli_args *args);

/* `runnel worker --worker-info` and `runnel worker cleanup` (cmd_worker_admin.c). */
int worker_info(cli_args *args);
int worker_cleanup(cli_args *args);

/* A canceler that SIGTERM and SIGINT trigger (SIGPIPE ignored), or NULL
 * after printing why; _end restores the default handlers and frees it. */
runnel_canceler *cli_cancel_on_signals(void);
void cli_cancel_on_signals_end(runnel_canceler *c);

/* True if a runnel daemon is running the job in this private data dir. */
int daemon_is_running(const char *private_data_dir);
int cmd_transmit(cli_args *args);
int cmd_worker(cli_args *args);
int cmd_process(cli_args *args);

#endif
