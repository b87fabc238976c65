/* spawn.h - start a command on a new pseudo-terminal, in its own session. */
#ifndef RUNNEL_SPAWN_H
#define RUNNEL_SPAWN_H

#include <sys/types.h>
#include "runnel.h"

typedef struct rn_child {
	pid_t pid;     /* also the process group id: the child leads its session */
	int master_fd; /* non-blocking, close-on-exec */
} rn_child;

/*
 * Start path (argv[0] is passed as given) with envp in cwd on a new 24x80 pty
 * without echo, as pexpect.spawn(..., echo=False, ignore_sighup=True) does.
 * pass_fd, unless -1, is open in the child as fd pass_as (the event pipe).
 * Returns 0, or -1 with err when the pty cannot be made, or the child could
 * not chdir or exec (then err->code is the child's errno and the child is
 * already reaped).
 */
int rn_pty_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
                 int pass_fd, int pass_as, rn_child *child, runnel_error *err);

#endif
