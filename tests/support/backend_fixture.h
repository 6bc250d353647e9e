/* backend_fixture.h - cmocka-side helpers shared by the backend and simulator
 * tests.
 *
 * backend_support.c stays free of cmocka (the benchmark links it); what needs
 * the test scratch directory or cmocka's state lives here.
 */
#ifndef GATECERT_BACKEND_FIXTURE_H
#define GATECERT_BACKEND_FIXTURE_H

#include "support.h"

/* out (a BS_PATH_MAX buffer) = <scratch dir>/<name>; returns out. */
const char *bt_scratch(char *out, const char *name);
/* cmocka group setup: the certs catalogue, made now, saved in the scratch dir. */
int bt_setup_catalogue(void **state);
/* The same, dated from TEST_REFERENCE (2030-01-01): for processes on a fake clock
 * that starts there. */
int bt_setup_catalogue_2030(void **state);
/* The first certificate of the PEM file <scratch dir>/<file> (the caller
 * frees it). */
X509 *bt_load_cert(const char *file);

/* cmocka_run_group_tests(tests, setup, teardown) between libcurl's global
 * init and cleanup: the main() of every test that talks HTTP. */
#define bt_run_curl_tests(tests, setup, teardown)                                                  \
  bt_run_curl(#tests, tests, sizeof(tests) / sizeof((tests)[0]), setup, teardown)
int bt_run_curl(const char *name, const struct CMUnitTest *tests, size_t count,
                CMFixtureFunction setup, CMFixtureFunction teardown);

#endif
