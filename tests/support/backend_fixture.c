/* backend_fixture.c - see backend_fixture.h. */
#include "backend_fixture.h"

#include "backend_support.h"
#include "support.h"

const char *bt_scratch(char *out, const char *name) {
  return bs_join(out, test_scratch_dir(), name);
}

int bt_setup_catalogue(void **state) {
  (void)state;
  gcert_catalogue *cat = NULL;
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_catalogue_make(time(NULL), GCERT_KEY_EC_P256, &cat, &err), &err);
  bs_check(bs_save_catalogue(cat, test_scratch_dir()) == 0);
  gcert_catalogue_free(cat);
  return 0;
}

int bt_setup_catalogue_2030(void **state) {
  (void)state;
  gcert_catalogue *cat = NULL;
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_catalogue_make(TEST_REFERENCE, GCERT_KEY_EC_P256, &cat, &err),
                &err);
  bs_check(bs_save_catalogue(cat, test_scratch_dir()) == 0);
  gcert_catalogue_free(cat);
  return 0;
}
