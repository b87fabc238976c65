/*
 * system_job.c - maintenance jobs (AWX's RunSystemJob): "cleanup_jobs"
 * deletes unified jobs (with their events and host summaries) finished more
 * than extra_vars.days days ago (default 30).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task.h"
#include "util.h"

/* Run the maintenance. */
static int run_system(task *t, runnel_run_result *res, runnel_error *err)
{
	json_t *ev = task_parse_vars(t, "extra_vars", task_str(t, "extra_vars"), err);
	if (!ev)
		return -1;
	json_t *d = json_object_get(ev, "days");
	double days = 30;
	if (json_is_number(d))
		days = json_number_value(d);
	else if (json_is_string(d))
		days = atof(json_string_value(d));
	json_decref(ev);
	if (days < 0)
		return rn_fail(err, EINVAL, "extra_vars: days must not be negative");
	long n = 0;
	char *line = rn_xasprintf("Deleting jobs finished more than %g days ago", days);
	task_emit(t, line);
	free(line);
	if (store_jobs_cleanup(t->st, days, &n, err) < 0)
		return -1;
	line = rn_xasprintf("Removed %ld jobs (with their events and host summaries).", n);
	task_emit(t, line);
	free(line);
	res->status = RUNNEL_SUCCESSFUL;
	res->rc = 0;
	return 0;
}

/* Fill the run of a system job. */
int task_system_job_prepare(task *t, runnel_error *err)
{
	const char *jt = task_str(t, "job_type");
	if (strcmp(jt, "cleanup_jobs"))
		return rn_fail(err, EINVAL,
		               "job_type: unknown system job '%s' (known: cleanup_jobs)", jt);
	t->run = run_system;
	return 0;
}
