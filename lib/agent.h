/*
 * agent.h - hand an ssh private key to the job through ssh-agent, as
 * ansible-runner does: the key goes through a FIFO in the artifact dir (never
 * a regular file) that `ssh-add` reads once, inside
 *   ssh-agent sh -c "trap 'rm -f FIFO' EXIT && ssh-add FIFO && rm -f FIFO && CMD"
 */
#ifndef RUNNEL_AGENT_H
#define RUNNEL_AGENT_H

#include "plan.h"
#include "runnel.h"

/* Make the FIFO and wrap plan->argv with ssh-agent. 0 or -1 with err. */
int rn_agent_wrap(rn_plan *plan, runnel_error *err);

typedef struct rn_key_writer rn_key_writer;

/* Start feeding the key to the FIFO (a thread waits for ssh-add to open it). */
rn_key_writer *rn_key_writer_start(const rn_plan *plan, runnel_error *err);

/* Stop: unblock the writer if ssh-add never came, join it, remove the FIFO. */
void rn_key_writer_finish(rn_key_writer *w);

#endif
