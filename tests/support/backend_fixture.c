/* backend_fixture.c - see backend_fixture.h. */
#include "backend_fixture.h"

#include <curl/curl.h>

#include "backend_support.h"
#include "support.h"

const char *bt_scratch(char *out, const char *name) {
  return bs_join(out, test_scratch_dir(), name);
}

int bt_setup_catalogue(void **state) {
  (void)state;
  bs_check(bs_make_catalogue(time(NULL), test_scratch_dir()) == 0);
  return 0;
}

int bt_setup_catalogue_2030(void **state) {
  (void)state;
  bs_check(bs_make_catalogue(TEST_REFERENCE, test_scratch_dir()) == 0);
  return 0;
}

X509 *bt_load_cert(const char *file) {
  char path[BS_PATH_MAX];
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  assert_status(GCERT_OK,
                gcert_read_file(bt_scratch(path, file), GCERT_FORMAT_PEM, NULL, &store, &err),
                &err);
  assert_true(store.count > 0);
  X509 *cert = sk_X509_value(store.entries[0].chain, 0);
  X509_up_ref(cert);
  gcert_store_free(&store);
  return cert;
}

int bt_run_curl(const char *name, const struct CMUnitTest *tests, size_t count,
                CMFixtureFunction setup, CMFixtureFunction teardown) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int failed = _cmocka_run_group_tests(name, tests, count, setup, teardown);
  curl_global_cleanup();
  return failed;
}
