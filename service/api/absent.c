/*
 * absent.c - the lists AWX's clients walk that runneld has no objects of.
 *
 * awxkit's `awx import` (awxkit/api/pages/api.py, _dependent_resources)
 * looks every one of its EXPORTABLE_RESOURCES up in /api/v2/ and reads each
 * list before importing anything; a name missing there stops the whole
 * import. runneld has no execution environments or OAuth2 applications:
 * their lists are answered as what they are, empty, and read-only (a POST
 * is a 405, so an export from an AWX that has some fails loudly on those
 * objects instead of losing them silently).
 *
 * Also here until the areas that implement them are merged: teams (rbac),
 * schedules (schedules), notification_templates (notify). Their own route
 * tables are searched before this one (http.c), so once merged these
 * entries are never reached and can be dropped.
 */
#include "api.h"

#include "util.h"

/* GET <absent list>/: no objects. */
static int empty_list(api_request *rq, api_response *rs)
{
	(void)rq;
	return api_json(rs, 200,
	                json_pack("{s:i,s:n,s:n,s:[]}", "count", 0, "next", "previous", "results"));
}

const char *const api_absent_names[] = {"execution_environments", "applications", NULL};

const api_route api_routes_absent[] = {
    {"/api/v2/execution_environments/", empty_list, NULL, NULL, NULL, NULL, false},
    {"/api/v2/applications/", empty_list, NULL, NULL, NULL, NULL, false},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
