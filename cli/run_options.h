/*
 * run_options.h - turn the parsed command line of run/start/transmit into a
 * runnel_config, including role mode (-r), which writes a one-play playbook
 * into the project dir for the run and takes it away afterwards, leaving the
 * private data dir as it was found.
 */
#ifndef RUNNEL_CLI_RUN_OPTIONS_H
#define RUNNEL_CLI_RUN_OPTIONS_H

#include <stdio.h>

#include "options.h"
#include "runnel.h"

/* What a config borrows that the command line did not hold as such. */
typedef struct run_options {
	runnel_config cfg;
	char *private_data_dir;                                         /* absolute */
	const char **hide, **show, **ro, **mounts, **container_options; /* NULL-terminated */
	/* role mode */
	char *role_playbook;  /* the generated playbook, removed afterwards */
	char *role_project;   /* the project dir, removed afterwards if we made it */
	char *role_inventory; /* --inventory resolved against PDD/inventory */
	char *roles_path;
	FILE *logfile;   /* --logfile */
	char *pinned[5]; /* path options made absolute by run_options_pin_paths */
} run_options;

/* Validate and map. Returns 0, or the exit code to end with (after printing
 * upstream's message): 1 for the -p/--hosts/role errors, 2 for usage. */
int run_options_build(cli_args *a, run_options *o);

/* Make the relative path options (--inventory when it names a path,
 * --project-dir, --artifact-dir, --process-isolation-path,
 * --directory-isolation-base-path) absolute against the current directory,
 * for a run that will not happen there (`start` runs from /). */
void run_options_pin_paths(run_options *o);

/* Undo what role mode wrote and free what was built. */
void run_options_clear(run_options *o);

#endif
