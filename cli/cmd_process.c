/* cmd_process.c - `runnel process`: being written (issue 4). */
#include <stdio.h>

#include "commands.h"

int cmd_process(cli_args *a)
{
	(void)a;
	fprintf(stderr, "runnel: process is not available yet\n");
	return 2;
}
