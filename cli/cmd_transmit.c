/* cmd_transmit.c - `runnel transmit`: being written (issue 4). */
#include <stdio.h>

#include "commands.h"

int cmd_transmit(cli_args *a)
{
	(void)a;
	fprintf(stderr, "runnel: transmit is not available yet\n");
	return 2;
}
