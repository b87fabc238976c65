/*
 * workflow.h - runneld's workflows (AWX 21.14.0's awx/main/models/workflow.py,
 * scheduler/dag_workflow.py and the WorkflowManager of task_manager.py).
 *
 * A workflow job template is a graph of nodes, each naming a unified job
 * template (a job template, project or inventory source) and prompts; a
 * node's edges (success_nodes, failure_nodes, always_nodes) say which nodes
 * run after it. A launch (engine_launch_workflow) copies the nodes and
 * edges into a workflow job (a unified job of type "workflow_job") whose
 * nodes the workflow manager, a thread of the engine, runs:
 *
 *   pending → waiting → running      moved by the manager (no worker)
 *   each pass over a running one     mark the nodes that will not run
 *                                    (do_not_run), end it when every node
 *                                    is decided (successful, or failed when a
 *                                    failed node has no failure/always path),
 *                                    else launch the nodes whose parents allow
 *   cancel_flag set                  the nodes not started never start, the
 *                                    running nodes' jobs are canceled, then
 *                                    the workflow job is canceled
 *
 * Everything the manager knows is in the store: a pass reads the graph,
 * the nodes' jobs and their statuses afresh. So a restarted runneld goes on
 * where the last one stopped. A node's job is created carrying the node's
 * id (source_workflow_job_node) before the node records it: a node with no
 * job is first looked up among the jobs, so no node runs twice.
 */
#ifndef RUNNELD_WORKFLOW_H
#define RUNNELD_WORKFLOW_H

#include <stdbool.h>
#include <jansson.h>

#include "engine.h"
#include "store.h"

/* How often the manager looks at the running workflow jobs, in seconds
 * (it is also woken by a launch and a cancel). */
#define WORKFLOW_TICK 0.5

typedef struct engine engine;

/* Start the manager thread of e (engine_open): first, workflow jobs a
 * previous runneld left "new" (stopped while copying their nodes) are
 * failed, saying so. 0, or -1 with err. */
int workflow_start(engine *e, runnel_error *err);
/* Stop the manager (engine_shutdown); idempotent. */
void workflow_stop(engine *e);
/* Wake the manager now (a launch, a cancel). */
void workflow_wake(engine *e);
/* One pass over the active workflow jobs. Returns how many node jobs it
 * launched. */
int workflow_pass(engine *e);

/* The edge relations of template nodes (tmpl) or workflow job nodes, by
 * name: "success_nodes", "failure_nodes", "always_nodes"; STORE_REL_NONE
 * for another name. */
store_rel workflow_edge_rel(const char *name, bool tmpl);
/*
 * May template node parent get child by rel (AWX's
 * WorkflowJobTemplateNodeChildrenBaseList.is_valid_relation)? 0 when it
 * may; -1 with err: EINVAL "Error: Cycle detected." (itself, or a cycle
 * it would close), "Error: Relationship not allowed." (already a child
 * by another edge, or a node of another workflow), or a store error.
 */
int workflow_check_edge(store *st, store_rel rel, long parent, long child, runnel_error *err);

#endif
