/* backend_fixture.h - cmocka-side helpers shared by the backend tests.
 *
 * backend_support.c stays free of cmocka (the benchmark links it); what needs
 * the test scratch directory or cmocka's state lives here.
 */
#ifndef GATECERT_BACKEND_FIXTURE_H
#define GATECERT_BACKEND_FIXTURE_H

/* out (a BS_PATH_MAX buffer) = <scratch dir>/<name>; returns out. */
const char *bt_scratch(char *out, const char *name);
/* cmocka group setup: the certs catalogue, made now, saved in the scratch dir. */
int bt_setup_catalogue(void **state);
/* The same, dated from TEST_REFERENCE (2030-01-01): for processes on a fake clock
 * that starts there. */
int bt_setup_catalogue_2030(void **state);

#endif
