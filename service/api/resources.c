/*
 * resources.c - the resources that are plain CRUD over the store:
 * organizations, credential types and credentials (whose secrets the store
 * answers as "$encrypted$", as AWX does).
 */
#include "api.h"

#include <stdbool.h>
#include <string.h>

/* Define the list and detail handlers of a plain kind. */
#define PLAIN_RESOURCE(name, kind)                                                                 \
	/* GET/POST the list of name. */                                                           \
	static int name##_list(api_request *rq, api_response *rs)                                  \
	{                                                                                          \
		if (!strcmp(rq->method, "GET"))                                                    \
			return api_list(rq, rs, kind, NULL);                                       \
		return api_create(rq, rs, kind, NULL, NULL);                                       \
	}                                                                                          \
	/* GET/PUT/PATCH/DELETE one of name. */                                                    \
	static int name##_one(api_request *rq, api_response *rs)                                   \
	{                                                                                          \
		if (!strcmp(rq->method, "GET"))                                                    \
			return api_get(rq, rs, kind, rq->ids[0], NULL);                            \
		if (!strcmp(rq->method, "DELETE"))                                                 \
			return api_delete(rq, rs, kind, rq->ids[0]);                               \
		return api_update(rq, rs, kind, rq->ids[0]);                                       \
	}

PLAIN_RESOURCE(organizations, STORE_ORGANIZATION)
PLAIN_RESOURCE(credentials, STORE_CREDENTIAL)

/* How many credentials use credential type id (-1 on a store error, answered). */
static long credential_type_uses(api_request *rq, api_response *rs, long id)
{
	json_t *f = json_pack("{s:I}", "credential_type", (json_int_t)id);
	store_query q = {.filters = f, .page = 1, .page_size = 1};
	store_page out = {0};
	runnel_error err = {0};
	int rc = store_list(rq->st, STORE_CREDENTIAL, &q, &out, &err);
	json_decref(f);
	long n = out.count;
	store_page_clear(&out);
	if (rc < 0) {
		api_error(rs, &err);
		return -1;
	}
	return n;
}

/* GET/POST /api/v2/credential_types/: anyone reads; only superusers create
 * (AWX's CredentialTypeAccess, in access.c). */
static int credential_types_list(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET"))
		return api_list(rq, rs, STORE_CREDENTIAL_TYPE, NULL);
	return api_create(rq, rs, STORE_CREDENTIAL_TYPE, NULL, NULL);
}

/* GET/PUT/PATCH/DELETE /api/v2/credential_types/N/. As AWX: only
 * superusers change or delete one (access.c); a managed type (Machine, Source
 * Control, Vault) is read-only for everyone, since the meaning of its
 * inputs (which are secret) is what keeps credentials sealed; a type in
 * use keeps its inputs and cannot be deleted. */
static int credential_types_one(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET"))
		return api_get(rq, rs, STORE_CREDENTIAL_TYPE, rq->ids[0], NULL);
	runnel_error err = {0};
	json_t *ct = store_get(rq->st, STORE_CREDENTIAL_TYPE, rq->ids[0], &err);
	if (!ct)
		return api_error(rs, &err);
	bool del = !strcmp(rq->method, "DELETE");
	bool managed = json_is_true(json_object_get(ct, "managed"));
	json_t *inputs = json_incref(json_object_get(ct, "inputs"));
	json_decref(ct);
	int rc = 0;
	if (managed) {
		rc = api_detail(rs, 403,
		                del ? "Deletion not allowed for managed credential types"
		                    : "Modifications not allowed for managed credential types");
	} else if (del) {
		long uses = credential_type_uses(rq, rs, rq->ids[0]);
		if (uses > 0)
			rc = api_detail(rs, 403,
			                "Credential types that are in use cannot be deleted");
		else if (uses == 0)
			rc = api_delete(rq, rs, STORE_CREDENTIAL_TYPE, rq->ids[0]);
	} else {
		json_t *body = api_body_object(rq, rs);
		json_t *want = body ? json_object_get(body, "inputs") : NULL;
		if (json_is_string(want)) /* inputs may come as JSON text */
			want = json_loads(json_string_value(want), 0, NULL);
		else
			json_incref(want);
		long uses = body && want && !json_equal(want, inputs)
		                ? credential_type_uses(rq, rs, rq->ids[0])
		                : 0;
		if (uses > 0)
			rc = api_detail(rs, 403,
			                "Modifications to inputs are not allowed for credential "
			                "types that are in use");
		else if (body && uses == 0)
			rc = api_update(rq, rs, STORE_CREDENTIAL_TYPE, rq->ids[0]);
		json_decref(want);
		json_decref(body);
	}
	json_decref(inputs);
	return rc;
}

/* GET /api/v2/credential_types/N/credentials/. */
static int credential_type_credentials(api_request *rq, api_response *rs)
{
	json_t *f = json_pack("{s:I}", "credential_type", (json_int_t)rq->ids[0]);
	api_list_opts o = {.filters = f};
	api_list(rq, rs, STORE_CREDENTIAL, &o);
	json_decref(f);
	return 0;
}

const api_route api_routes_resources[] = {
    {"/api/v2/organizations/", organizations_list, organizations_list, NULL, NULL, NULL, false},
    {"/api/v2/organizations/{id}/", organizations_one, NULL, organizations_one, organizations_one,
     organizations_one, false},
    {"/api/v2/credential_types/", credential_types_list, credential_types_list, NULL, NULL, NULL,
     false},
    {"/api/v2/credential_types/{id}/", credential_types_one, NULL, credential_types_one,
     credential_types_one, credential_types_one, false},
    {"/api/v2/credential_types/{id}/credentials/", credential_type_credentials, NULL, NULL, NULL,
     NULL, false},
    {"/api/v2/credentials/", credentials_list, credentials_list, NULL, NULL, NULL, false},
    {"/api/v2/credentials/{id}/", credentials_one, NULL, credentials_one, credentials_one,
     credentials_one, false},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
