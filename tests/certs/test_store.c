/* test_store.c - gcert_store, errors, files, format detection. */
#include "support.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void test_add_find_and_aliases(void **state) {
  (void)state;
  gcert_item ca = {0}, leaf = {0};
  test_issue(GCERT_KIND_CA, "CN=Store CA", NULL, &ca);
  test_issue(GCERT_KIND_SERVER, NULL, &ca, &leaf);
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_store_add_trusted(&store, "ca", ca.cert, &err), &err);
  STACK_OF(X509) *chain = gcert_chain_make(leaf.cert, &ca.cert, 1, GCERT_CHAIN_FULL);
  assert_status(GCERT_OK, gcert_store_add_key(&store, "leaf", leaf.key, chain, &err), &err);
  assert_int_equal(2, store.count);
  assert_int_equal(3, gcert_store_cert_count(&store));
  assert_ptr_equal(&store.entries[1], gcert_store_find(&store, "leaf"));
  assert_null(gcert_store_find(&store, "LEAF"));
  /* each failure names its problem and leaves the store as it was */
  assert_status(GCERT_E_DUPLICATE_ALIAS, gcert_store_add_trusted(&store, "ca", leaf.cert, &err),
                &err);
  assert_status(GCERT_E_BAD_ALIAS, gcert_store_add_trusted(&store, "", leaf.cert, &err), &err);
  assert_status(GCERT_E_BAD_ALIAS, gcert_store_add_trusted(&store, "bad\xff", leaf.cert, &err),
                &err);
  char long_alias[300];
  memset(long_alias, 'a', sizeof(long_alias) - 1);
  long_alias[sizeof(long_alias) - 1] = '\0';
  assert_status(GCERT_E_BAD_ALIAS, gcert_store_add_trusted(&store, long_alias, leaf.cert, &err),
                &err);
  assert_status(GCERT_E_KEY_MISMATCH, gcert_store_add_key(&store, "wrong", ca.key, chain, &err),
                &err);
  assert_status(GCERT_E_INVALID_ARG, gcert_store_add_trusted(&store, "x", NULL, &err), &err);
  assert_int_equal(2, store.count);
  /* unicode aliases are fine */
  assert_status(GCERT_OK, gcert_store_add_trusted(&store, "ශ්‍රී-ca", ca.cert, &err),
                &err);
  sk_X509_pop_free(chain, X509_free);
  gcert_store_free(&store);
  assert_int_equal(0, store.count);
  gcert_item_free(&ca);
  gcert_item_free(&leaf);
}

static void test_append_refuses_duplicates(void **state) {
  (void)state;
  gcert_item a = {0};
  test_issue(GCERT_KIND_CA, "CN=A", NULL, &a);
  gcert_store x, y;
  gcert_store_init(&x);
  gcert_store_init(&y);
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_store_add_trusted(&x, "same", a.cert, &err), &err);
  assert_status(GCERT_OK, gcert_store_add_trusted(&y, "same", a.cert, &err), &err);
  assert_status(GCERT_E_DUPLICATE_ALIAS, gcert_store_append(&x, &y, &err), &err);
  assert_int_equal(1, x.count);
  assert_int_equal(1, y.count);
  gcert_store_free(&y);
  assert_status(GCERT_OK, gcert_store_add_trusted(&y, "other", a.cert, &err), &err);
  assert_status(GCERT_OK, gcert_store_append(&x, &y, &err), &err);
  assert_int_equal(2, x.count);
  assert_int_equal(0, y.count);
  gcert_store_free(&x);
  gcert_item_free(&a);
}

static void test_status_names_round_trip(void **state) {
  (void)state;
  for (int i = 0; i < GCERT_STATUS_COUNT; i++) {
    const char *name = gcert_status_name((gcert_status)i);
    assert_int_equal(i, gcert_status_from_name(name));
    assert_non_null(gcert_status_text((gcert_status)i));
  }
  assert_int_equal(GCERT_STATUS_COUNT, gcert_status_from_name("nonsense"));
  for (int i = 0; i < GCERT_FORMAT_COUNT; i++)
    assert_int_equal(i, gcert_format_from_name(gcert_format_name((gcert_format)i)));
}

static void test_file_save_modes_and_load_limits(void **state) {
  (void)state;
  char *secret = test_scratch_path("secret.key");
  char *public = test_scratch_path("public.pem");
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_file_save(secret, (const unsigned char *)"k", 1, 1, &err), &err);
  assert_status(GCERT_OK, gcert_file_save(public, (const unsigned char *)"abcd", 4, 0, &err), &err);
  struct stat sb;
  assert_int_equal(0, stat(secret, &sb));
  assert_int_equal(0600, sb.st_mode & 0777);
  assert_int_equal(0, stat(public, &sb));
  assert_int_equal(0644, sb.st_mode & 0777);
  gcert_buf buf = {0};
  assert_status(GCERT_OK, gcert_file_load(public, 4, &buf, &err), &err);
  assert_int_equal(4, buf.len);
  assert_memory_equal("abcd", buf.data, 4);
  gcert_buf_free(&buf);
  assert_status(GCERT_E_TOO_LARGE, gcert_file_load(public, 3, &buf, &err), &err);
  assert_null(buf.data);
  assert_status(GCERT_E_IO, gcert_file_load("/nonexistent/x.pem", 10, &buf, &err), &err);
  assert_status(GCERT_E_IO, gcert_file_load(test_scratch_dir(), 10, &buf, &err), &err);
  assert_status(GCERT_E_IO, gcert_file_load("/dev/zero", 10, &buf, &err), &err);
  assert_status(GCERT_E_IO,
                gcert_file_save("/nonexistent/dir/x", (const unsigned char *)"k", 1, 1, &err),
                &err);
  free(secret);
  free(public);
}

static void test_detect(void **state) {
  (void)state;
  gcert_item a = {0};
  test_issue(GCERT_KIND_SERVER, NULL, NULL, &a);
  gcert_buf der = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_der_write(a.cert, &der, &err), &err);
  assert_int_equal(GCERT_FORMAT_DER, gcert_format_detect(der.data, der.len));
  gcert_store store;
  gcert_store_init(&store);
  assert_status(GCERT_OK, gcert_store_add_trusted(&store, "a", a.cert, &err), &err);
  gcert_buf p7 = {0}, p7pem = {0}, pem = {0};
  assert_status(GCERT_OK, gcert_pkcs7_write(&store, 0, &p7, &err), &err);
  assert_status(GCERT_OK, gcert_pkcs7_write(&store, 1, &p7pem, &err), &err);
  assert_status(GCERT_OK, gcert_pem_write(&store, NULL, &pem, &err), &err);
  assert_int_equal(GCERT_FORMAT_PKCS7, gcert_format_detect(p7.data, p7.len));
  assert_int_equal(GCERT_FORMAT_PKCS7, gcert_format_detect(p7pem.data, p7pem.len));
  assert_int_equal(GCERT_FORMAT_PEM, gcert_format_detect(pem.data, pem.len));
  static const unsigned char jks[] = {0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2};
  static const unsigned char zip[] = {'P', 'K', 3, 4, 0, 0};
  static const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01, 0x01, 0xFF};
  assert_int_equal(GCERT_FORMAT_JKS, gcert_format_detect(jks, sizeof(jks)));
  assert_int_equal(GCERT_FORMAT_SAPJAR, gcert_format_detect(zip, sizeof(zip)));
  assert_int_equal(GCERT_FORMAT_COUNT, gcert_format_detect(junk, sizeof(junk)));
  assert_int_equal(GCERT_FORMAT_COUNT, gcert_format_detect((const unsigned char *)"hello", 5));
  gcert_store out;
  gcert_store_init(&out);
  assert_status(GCERT_E_UNKNOWN_FORMAT,
                gcert_read(GCERT_FORMAT_AUTO, (const unsigned char *)"hello", 5, NULL, &out, &err),
                &err);
  assert_status(GCERT_E_EMPTY, gcert_read(GCERT_FORMAT_AUTO, junk, 0, NULL, &out, &err), &err);
  assert_int_equal(0, out.count);
  gcert_buf_free(&der);
  gcert_buf_free(&p7);
  gcert_buf_free(&p7pem);
  gcert_buf_free(&pem);
  gcert_store_free(&store);
  gcert_item_free(&a);
}

/* Found by fuzz_certs: a DER certificate or bundle holding PEM armour text in
 * a name was taken for PEM (detected as PEM or PKCS#7, and a DER PKCS#7
 * bundle of it failed to read back). DER that decodes is DER. */
static void test_detect_armour_inside_der(void **state) {
  (void)state;
  static const struct {
    const char *name;
    const char *subject;
  } rows[] = {
      {"pkcs7 armour in CN", "CN=-----BEGIN PKCS7-----"},
      {"certificate armour in CN", "CN=-----BEGIN CERTIFICATE-----"},
      {"bare BEGIN in O", "CN=x,O=-----BEGIN"},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    print_message("row: %s\n", rows[i].name);
    gcert_item a = {0};
    test_issue(GCERT_KIND_SERVER, rows[i].subject, NULL, &a);
    gcert_error err = {0};
    gcert_buf der = {0}, p7 = {0};
    assert_status(GCERT_OK, gcert_der_write(a.cert, &der, &err), &err);
    assert_int_equal(GCERT_FORMAT_DER, gcert_format_detect(der.data, der.len));
    gcert_store store, back;
    gcert_store_init(&store);
    gcert_store_init(&back);
    assert_status(GCERT_OK, gcert_store_add_trusted(&store, "a", a.cert, &err), &err);
    assert_status(GCERT_OK, gcert_pkcs7_write(&store, 0, &p7, &err), &err);
    assert_int_equal(GCERT_FORMAT_PKCS7, gcert_format_detect(p7.data, p7.len));
    assert_status(GCERT_OK, gcert_pkcs7_read(p7.data, p7.len, &back, &err), &err);
    assert_status(GCERT_OK, gcert_read(GCERT_FORMAT_AUTO, der.data, der.len, NULL, &back, &err),
                  &err);
    assert_int_equal(2, back.count);
    assert_int_equal(0, X509_cmp(a.cert, sk_X509_value(back.entries[0].chain, 0)));
    assert_int_equal(0, X509_cmp(a.cert, sk_X509_value(back.entries[1].chain, 0)));
    gcert_store_free(&back);
    gcert_store_free(&store);
    gcert_buf_free(&der);
    gcert_buf_free(&p7);
    gcert_item_free(&a);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_add_find_and_aliases),
      cmocka_unit_test(test_append_refuses_duplicates),
      cmocka_unit_test(test_status_names_round_trip),
      cmocka_unit_test(test_file_save_modes_and_load_limits),
      cmocka_unit_test(test_detect),
      cmocka_unit_test(test_detect_armour_inside_der),
  };
  return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
