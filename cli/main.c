/*
 * main.c - runnel, the ansible-runner compatible command line over librunnel.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "options.h"

typedef struct command_entry {
	const char *name;
	int (*fn)(cli_args *args);
} command_entry;

/* The subcommands; the ones not listed are parsed but not available yet. */
static const command_entry command_table[] = {
    {"run", cmd_run},           {"start", cmd_start},       {"stop", cmd_stop},
    {"is-alive", cmd_is_alive}, {"transmit", cmd_transmit}, {"worker", cmd_worker},
    {"process", cmd_process},
};

int main(int argc, char **argv)
{
	cli_args args;
	int rc = cli_parse(argc, argv, &args);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < sizeof command_table / sizeof command_table[0]; i++) {
		if (!strcmp(command_table[i].name, args.command)) {
			rc = command_table[i].fn(&args);
			cli_args_free(&args);
			return rc;
		}
	}
	fprintf(stderr, "runnel: '%s' is not available in this version of runnel\n", args.command);
	cli_args_free(&args);
	return 2;
}
