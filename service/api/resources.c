/*
 * resources.c - the resources that are plain CRUD over the store:
 * organizations, credential types and credentials (whose secrets the store
 * answers as "$encrypted$", as AWX does).
 */
#include "api.h"

#include <string.h>

/* Define the list and detail handlers of a plain kind. */
#define PLAIN_RESOURCE(name, kind)                                                         \
	/* GET/POST the list of name. */                                                   \
	static int name##_list(api_request *rq, api_response *rs)                          \
	{                                                                                  \
		if (!strcmp(rq->method, "GET"))                                            \
			return api_list(rq, rs, kind, NULL);                               \
		return api_create(rq, rs, kind, NULL, NULL);                               \
	}                                                                                  \
	/* GET/PUT/PATCH/DELETE one of name. */                                            \
	static int name##_one(api_request *rq, api_response *rs)                           \
	{                                                                                  \
		if (!strcmp(rq->method, "GET"))                                            \
			return api_get(rq, rs, kind, rq->ids[0], NULL);                    \
		if (!strcmp(rq->method, "DELETE"))                                         \
			return api_delete(rq, rs, kind, rq->ids[0]);                       \
		return api_update(rq, rs, kind, rq->ids[0]);                               \
	}

PLAIN_RESOURCE(organizations, STORE_ORGANIZATION)
PLAIN_RESOURCE(credential_types, STORE_CREDENTIAL_TYPE)
PLAIN_RESOURCE(credentials, STORE_CREDENTIAL)

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
	{"/api/v2/credential_types/", credential_types_list, credential_types_list, NULL, NULL, NULL, false},
	{"/api/v2/credential_types/{id}/", credential_types_one, NULL, credential_types_one,
	 credential_types_one, credential_types_one, false},
	{"/api/v2/credential_types/{id}/credentials/", credential_type_credentials, NULL, NULL, NULL, NULL,
	 false},
	{"/api/v2/credentials/", credentials_list, credentials_list, NULL, NULL, NULL, false},
	{"/api/v2/credentials/{id}/", credentials_one, NULL, credentials_one, credentials_one, credentials_one,
	 false},
	{NULL, NULL, NULL, NULL, NULL, NULL, false},
};
