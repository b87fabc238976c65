/* test_api_paging.c - the API's list paging (service/api/util.c api_list)
 * with the input fuzz_api found: ?page=3333000000336070084 overflowed
 * page * page_size (UBSan: signed integer overflow). A page past any list
 * is AWX's 404 "Invalid page."; a page that fits still answers. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api.h"
#include "store_backend.h"

static char dir[] = "/tmp/test_api_paging_XXXXXX";

/* GET a list of organizations with ?page=<page>&page_size=<size>; the status. */
static int list_page(store *st, const char *page, const char *size, json_t **body)
{
	api_request rq = {.st = st, .method = "GET", .path = "/api/v2/organizations/"};
	rq.query = json_pack("{s:s,s:s}", "page", page, "page_size", size);
	api_response rs = {0};
	api_list(&rq, &rs, STORE_ORGANIZATION, NULL);
	json_decref(rq.query);
	*body = rs.json;
	free(rs.text);
	free(rs.disposition);
	return rs.status;
}

static void test_huge_page(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	char url[512];
	store_settings ss = {.state_dir = dir, .backend = test_backend(dir, url)};
	runnel_error err = {0};
	store *st = store_open(&ss, &err);
	assert_non_null(st);
	json_t *in = json_pack("{s:s}", "name", "o");
	json_decref(store_create(st, STORE_ORGANIZATION, in, 0, &err));
	json_decref(in);
	char big[32];
	snprintf(big, sizeof big, "%ld", LONG_MAX);
	const char *pages[] = {"3333000000336070084", big, "46116860184273880"};
	const char *sizes[] = {"25", "200", "1"};
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
		for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
			json_t *body = NULL;
			assert_int_equal(list_page(st, pages[i], sizes[k], &body), 404);
			assert_string_equal(json_string_value(json_object_get(body, "detail")),
			                    "Invalid page.");
			json_decref(body);
		}
	json_t *body = NULL;
	assert_int_equal(list_page(st, "1", "1", &body), 200);
	assert_int_equal(json_integer_value(json_object_get(body, "count")), 1);
	json_decref(body);
	store_close(st);
	test_backend_drop(dir);
	const char *names[] = {"runneld.db", "runneld.db-wal", "runneld.db-shm", "secret.key"};
	char path[128];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_huge_page)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
