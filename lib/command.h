/* command.h - assemble the command line of a run (ansible-runner's order). */
#ifndef RUNNEL_COMMAND_H
#define RUNNEL_COMMAND_H

#include <stddef.h>
#include <jansson.h>
#include "plan.h"
#include "runnel.h"

/* What the command line is made of, once the private data dir is read. */
typedef struct rn_command_inputs {
	const char *raw_args;       /* content of `args` (raw mode), or NULL */
	const char *raw_args_path;  /* for messages */
	const char *cmdline;        /* --cmdline or env/cmdline, or NULL */
	const char *cmdline_what;   /* for messages: "--cmdline" or the env/cmdline path */
	const char *inventory;      /* -i value, or NULL */
	const char *extravars_path; /* absolute env/extravars, or NULL */
	const json_t *extravars;    /* API extravars not persisted, or NULL */
	const char *playbook;
} rn_command_inputs;

/* Build argv (NULL-terminated, caller frees with rn_argv_free) and the
 * execution mode. 0, or -1 with err. */
int rn_command_build(const runnel_config *cfg, const rn_command_inputs *in, char ***argv,
                     size_t *argc, rn_exec_mode *mode, runnel_error *err);

#endif
