/* test_robustness.c - hostile variations of good input, for every reader.
 *
 * Each format's writer makes a good sample (key entry with chain plus trusted
 * entries, password-protected where the format allows). The sample is then
 * truncated at many lengths and has single bytes flipped at many offsets, and
 * each variant is read back through gcert_read:
 *   - a reader either succeeds with entries, or fails with a status, a
 *     message, and the caller's store left empty ("loses nothing");
 *   - for binary formats every strict prefix must fail (a truncated store is
 *     never half-accepted);
 *   - under the sanitizer build, any out-of-bounds read or leak aborts.
 * Positions are spread evenly so the run stays bounded (SAMPLES_PER_INPUT).
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#define SAMPLES_PER_INPUT 120
#define PASSWORD          "pw!%^&#:/?[]@;="

typedef struct robust_input {
  const char *name;
  gcert_format format;
  int prefixes_fail; /* every strict prefix must be an error */
  gcert_buf bytes;
} robust_input;

typedef struct robust_fixture {
  gcert_item ca, leaf, other;
  robust_input inputs[8];
  size_t count;
} robust_fixture;

static void add_input(robust_fixture *f, const char *name, gcert_format format, int prefixes_fail,
                      gcert_status st, gcert_buf buf, const gcert_error *err) {
  assert_status(GCERT_OK, st, err);
  f->inputs[f->count++] = (robust_input){name, format, prefixes_fail, buf};
}

static int setup(void **state) {
  static robust_fixture f;
  test_issue(GCERT_KIND_CA, "CN=Robust CA", NULL, &f.ca);
  test_issue(GCERT_KIND_SERVER, NULL, &f.ca, &f.leaf);
  test_issue(GCERT_KIND_CA, "CN=Other CA", NULL, &f.other);
  gcert_store store, key_only;
  gcert_store_init(&store);
  gcert_store_init(&key_only);
  gcert_error err = {0};
  STACK_OF(X509) *chain = gcert_chain_make(f.leaf.cert, &f.ca.cert, 1, GCERT_CHAIN_FULL);
  assert_status(GCERT_OK, gcert_store_add_key(&store, "leaf", f.leaf.key, chain, &err), &err);
  assert_status(GCERT_OK, gcert_store_add_key(&key_only, "leaf", f.leaf.key, chain, &err), &err);
  assert_status(GCERT_OK, gcert_store_add_trusted(&store, "other", f.other.cert, &err), &err);
  sk_X509_pop_free(chain, X509_free);
  gcert_buf b = {0};
  gcert_status st = gcert_pem_write(&store, PASSWORD, &b, &err);
  add_input(&f, "pem", GCERT_FORMAT_PEM, 0, st, b, &err);
  st = gcert_der_write(f.leaf.cert, &b, &err);
  add_input(&f, "der", GCERT_FORMAT_DER, 1, st, b, &err);
  st = gcert_pkcs7_write(&store, 0, &b, &err);
  add_input(&f, "pkcs7", GCERT_FORMAT_PKCS7, 1, st, b, &err);
  st = gcert_pkcs7_write(&store, 1, &b, &err);
  add_input(&f, "pkcs7-pem", GCERT_FORMAT_PKCS7, 1, st, b, &err);
  st = gcert_pkcs12_write(&store, PASSWORD, &b, &err);
  add_input(&f, "pkcs12", GCERT_FORMAT_PKCS12, 1, st, b, &err);
  st = gcert_jks_write(&store, PASSWORD, &b, &err);
  add_input(&f, "jks", GCERT_FORMAT_JKS, 1, st, b, &err);
  st = gcert_sapjar_write(&key_only, "main.pem", "key.pem", PASSWORD, &b, &err);
  add_input(&f, "sapjar", GCERT_FORMAT_SAPJAR, 1, st, b, &err);
  gcert_store_free(&store);
  gcert_store_free(&key_only);
  *state = &f;
  return 0;
}

static int teardown(void **state) {
  robust_fixture *f = *state;
  for (size_t i = 0; i < f->count; i++)
    gcert_buf_free(&f->inputs[i].bytes);
  gcert_item_free(&f->ca);
  gcert_item_free(&f->leaf);
  gcert_item_free(&f->other);
  return 0;
}

/* Reads one variant; checks the read contract; returns the status. */
static gcert_status read_variant(const robust_input *in, const unsigned char *data, size_t len,
                                 const char *what, size_t where) {
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  gcert_status st = gcert_read(in->format, data, len, PASSWORD, &store, &err);
  if (st == GCERT_OK && store.count == 0)
    fail_msg("%s %s at %zu: success with no entries", in->name, what, where);
  if (st != GCERT_OK && (store.count != 0 || err.message[0] == '\0'))
    fail_msg("%s %s at %zu: %s left %zu entries, message '%s'", in->name, what, where,
             gcert_status_name(st), store.count, err.message);
  gcert_store_free(&store);
  return st;
}

static void test_good_inputs_read(void **state) {
  robust_fixture *f = *state;
  for (size_t i = 0; i < f->count; i++) {
    const robust_input *in = &f->inputs[i];
    if (read_variant(in, in->bytes.data, in->bytes.len, "whole", 0) != GCERT_OK)
      fail_msg("%s: the unmodified sample does not read", in->name);
  }
}

static void test_truncations(void **state) {
  robust_fixture *f = *state;
  for (size_t i = 0; i < f->count; i++) {
    const robust_input *in = &f->inputs[i];
    size_t len = in->bytes.len;
    size_t step = len / SAMPLES_PER_INPUT + 1;
    for (size_t cut = 0; cut < len; cut += step) {
      /* a private copy so a reader that looked past `cut` trips ASan */
      unsigned char *copy = malloc(cut ? cut : 1);
      assert_non_null(copy);
      memcpy(copy, in->bytes.data, cut);
      gcert_status st = read_variant(in, copy, cut, "prefix", cut);
      free(copy);
      if (in->prefixes_fail && st == GCERT_OK)
        fail_msg("%s: the first %zu of %zu bytes were accepted", in->name, cut, len);
    }
  }
}

static void test_byte_flips(void **state) {
  robust_fixture *f = *state;
  for (size_t i = 0; i < f->count; i++) {
    const robust_input *in = &f->inputs[i];
    size_t len = in->bytes.len;
    size_t step = len / SAMPLES_PER_INPUT + 1;
    unsigned char *copy = malloc(len);
    assert_non_null(copy);
    for (size_t at = 0; at < len; at += step) {
      memcpy(copy, in->bytes.data, len);
      copy[at] ^= 0xA5;
      read_variant(in, copy, len, "flip", at);
    }
    free(copy);
  }
}

static void test_appended_junk(void **state) {
  robust_fixture *f = *state;
  for (size_t i = 0; i < f->count; i++) {
    const robust_input *in = &f->inputs[i];
    size_t len = in->bytes.len;
    unsigned char *copy = malloc(len + 7);
    assert_non_null(copy);
    memcpy(copy, in->bytes.data, len);
    static const unsigned char junk[7] = {0x00, 0xff, ' ', 'j', 'u', 'n', 'k'};
    memcpy(copy + len, junk, sizeof(junk));
    gcert_status st = read_variant(in, copy, len + 7, "junk", len);
    free(copy);
    /* DER-based stores must notice; PEM ignores text outside blocks; zip
     * readers find the central directory from the end and must refuse too */
    if (in->format != GCERT_FORMAT_PEM && strcmp(in->name, "pkcs7-pem") != 0 && st == GCERT_OK)
      fail_msg("%s: 7 bytes of junk after the store were accepted", in->name);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_good_inputs_read),
      cmocka_unit_test(test_truncations),
      cmocka_unit_test(test_byte_flips),
      cmocka_unit_test(test_appended_junk),
  };
  return cmocka_run_group_tests_name("robustness", tests, setup, teardown);
}
