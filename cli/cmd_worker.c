/* cmd_worker.c - `runnel worker`: being written (issue 4). */
#include <stdio.h>

#include "commands.h"

int cmd_worker(cli_args *a)
{
	(void)a;
	fprintf(stderr, "runnel: worker is not available yet\n");
	return 2;
}
