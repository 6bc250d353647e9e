/* test_pem.c - PEM, DER and PKCS#7: round trips and specific errors.
 *
 * Round trips compare DER bytes of every certificate and key equality, not
 * just counts. Error cases are built from good output by cutting or
 * corrupting it, so each status is reached for the reason it names.
 */
#include "support.h"

#include <string.h>

#include <openssl/pem.h>

typedef struct fixture {
  gcert_item ca, leaf, rsa_leaf;
  STACK_OF(X509) * chain;
} fixture;

static int setup(void **state) {
  static fixture f;
  test_issue(GCERT_KIND_CA, "CN=PEM Test CA", NULL, &f.ca);
  test_issue(GCERT_KIND_SERVER, NULL, &f.ca, &f.leaf);
  gcert_spec spec;
  gcert_spec_init(&spec, GCERT_KIND_CLIENT);
  spec.key_type = GCERT_KEY_RSA_2048;
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_issue(&spec, TEST_REFERENCE, &f.ca, NULL, &f.rsa_leaf, &err), &err);
  f.chain = gcert_chain_make(f.leaf.cert, &f.ca.cert, 1, GCERT_CHAIN_FULL);
  *state = &f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  gcert_item_free(&f->ca);
  gcert_item_free(&f->leaf);
  gcert_item_free(&f->rsa_leaf);
  sk_X509_pop_free(f->chain, X509_free);
  return 0;
}

static gcert_buf write_key_entry(fixture *f, const char *password) {
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_store_add_key(&store, NULL, f->leaf.key, f->chain, &err), &err);
  gcert_buf out = {0};
  assert_status(GCERT_OK, gcert_pem_write(&store, password, &out, &err), &err);
  gcert_store_free(&store);
  return out;
}

static void test_pem_key_and_chain_round_trip(void **state) {
  fixture *f = *state;
  static const char *const passwords[] = {NULL, "secret", "! % ^ & # : / ? [ ] @ ; =", "පාස්"};
  for (size_t i = 0; i < sizeof(passwords) / sizeof(passwords[0]); i++) {
    gcert_buf pem = write_key_entry(f, passwords[i]);
    assert_true((memmem(pem.data, pem.len, "ENCRYPTED PRIVATE KEY", 21) != NULL) ==
                (passwords[i] != NULL));
    gcert_store back;
    gcert_store_init(&back);
    gcert_error err = {0};
    assert_status(GCERT_OK, gcert_pem_read(pem.data, pem.len, passwords[i], &back, &err), &err);
    assert_int_equal(1, back.count);
    assert_true(test_same_key(f->leaf.key, back.entries[0].key));
    assert_int_equal(2, sk_X509_num(back.entries[0].chain));
    assert_true(test_same_cert(f->leaf.cert, sk_X509_value(back.entries[0].chain, 0)));
    assert_true(test_same_cert(f->ca.cert, sk_X509_value(back.entries[0].chain, 1)));
    gcert_store_free(&back);
    if (passwords[i] != NULL) {
      assert_status(GCERT_E_NEED_PASSWORD, gcert_pem_read(pem.data, pem.len, NULL, &back, &err),
                    &err);
      assert_status(GCERT_E_BAD_PASSWORD, gcert_pem_read(pem.data, pem.len, "wrong", &back, &err),
                    &err);
      assert_int_equal(0, back.count);
    }
    gcert_buf_free(&pem);
  }
}

static void test_pem_trusted_bundle(void **state) {
  fixture *f = *state;
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  X509 *certs[] = {f->ca.cert, f->leaf.cert, f->rsa_leaf.cert};
  for (size_t i = 0; i < 3; i++)
    assert_status(GCERT_OK, gcert_store_add_trusted(&store, NULL, certs[i], &err), &err);
  gcert_buf pem = {0};
  assert_status(GCERT_OK, gcert_pem_write(&store, NULL, &pem, &err), &err);
  gcert_store back;
  gcert_store_init(&back);
  assert_status(GCERT_OK, gcert_read(GCERT_FORMAT_AUTO, pem.data, pem.len, NULL, &back, &err),
                &err);
  assert_int_equal(3, back.count);
  for (size_t i = 0; i < 3; i++) {
    assert_null(back.entries[i].key);
    assert_true(test_same_cert(certs[i], sk_X509_value(back.entries[i].chain, 0)));
  }
  gcert_buf_free(&pem);
  gcert_store_free(&back);
  gcert_store_free(&store);
}

static void test_pem_key_only(void **state) {
  fixture *f = *state;
  gcert_buf pem = {0};
  gcert_error err = {0};
  EVP_PKEY *key = NULL;
  assert_status(GCERT_OK, gcert_pem_write_key(f->rsa_leaf.key, "pw", &pem, &err), &err);
  assert_status(GCERT_OK, gcert_pem_read_key(pem.data, pem.len, "pw", &key, &err), &err);
  assert_true(test_same_key(f->rsa_leaf.key, key));
  EVP_PKEY_free(key);
  key = NULL;
  /* a key without its certificate is not a certificate store */
  gcert_store back;
  gcert_store_init(&back);
  assert_status(GCERT_E_NO_CERT, gcert_pem_read(pem.data, pem.len, "pw", &back, &err), &err);
  gcert_buf_free(&pem);
  /* and a certificate where a key is wanted */
  gcert_buf chain = write_key_entry(f, NULL);
  assert_status(GCERT_E_PEM_UNEXPECTED, gcert_pem_read_key(chain.data, chain.len, NULL, &key, &err),
                &err);
  assert_null(key);
  gcert_buf_free(&chain);
}

static void test_pem_traditional_keys(void **state) {
  fixture *f = *state;
  /* RSA and EC "traditional" keys as older tools write them, plain and with
   * the legacy Proc-Type encryption header */
  EVP_PKEY *keys[] = {f->rsa_leaf.key, f->leaf.key};
  for (size_t i = 0; i < 2; i++) {
    for (int encrypted = 0; encrypted < 2; encrypted++) {
      BIO *bio = BIO_new(BIO_s_mem());
      assert_int_equal(1, PEM_write_bio_PrivateKey_traditional(
                              bio, keys[i], encrypted ? EVP_aes_128_cbc() : NULL,
                              (unsigned char *)(encrypted ? "tradpw" : NULL), encrypted ? 6 : 0,
                              NULL, NULL));
      char *mem = NULL;
      long n = BIO_get_mem_data(bio, &mem);
      assert_non_null(
          memmem(mem, (size_t)n, i == 0 ? "RSA PRIVATE KEY" : "EC PRIVATE KEY", i == 0 ? 15 : 14));
      EVP_PKEY *key = NULL;
      gcert_error err = {0};
      assert_status(GCERT_OK,
                    gcert_pem_read_key((unsigned char *)mem, (size_t)n, encrypted ? "tradpw" : NULL,
                                       &key, &err),
                    &err);
      assert_true(test_same_key(keys[i], key));
      EVP_PKEY_free(key);
      key = NULL;
      if (encrypted) {
        assert_status(GCERT_E_NEED_PASSWORD,
                      gcert_pem_read_key((unsigned char *)mem, (size_t)n, NULL, &key, &err), &err);
        assert_status(GCERT_E_BAD_PASSWORD,
                      gcert_pem_read_key((unsigned char *)mem, (size_t)n, "nope", &key, &err),
                      &err);
      }
      BIO_free(bio);
    }
  }
}

/* Reads text and expects a status; the store must stay empty. */
static void expect_pem(const char *text, size_t len, gcert_status expected) {
  gcert_store out;
  gcert_store_init(&out);
  gcert_error err = {0};
  assert_status(expected, gcert_pem_read((const unsigned char *)text, len, NULL, &out, &err), &err);
  assert_int_equal(0, out.count);
  assert_true(err.message[0] != '\0');
}

static void test_pem_errors(void **state) {
  fixture *f = *state;
  gcert_buf good = write_key_entry(f, NULL);
  char *text = (char *)good.data;
  /* truncated: the END line of the first certificate cut off */
  char *end = memmem(text, good.len, "-----END CERTIFICATE-----", 25);
  expect_pem(text, (size_t)(end - text), GCERT_E_PEM_TRUNCATED);
  /* base64 garbage inside a block */
  char *copy = strndup(text, good.len);
  char *body = (char *)memchr(copy, '\n', good.len) + 1;
  memcpy(body, "!!!!@@@@####", 12); // NOLINT(bugprone-not-null-terminated-result)
  expect_pem(copy, good.len, GCERT_E_PEM_BASE64);
  free(copy);
  /* unexpected block type */
  expect_pem(
      "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
      "-----END PUBLIC KEY-----\n",
      120, GCERT_E_PEM_UNEXPECTED);
  /* valid base64 that is not a certificate */
  expect_pem("-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n", 70,
             GCERT_E_DER_INVALID);
  /* no PEM at all, and empty */
  expect_pem("just some text\n", 15, GCERT_E_NOT_PEM);
  expect_pem("", 0, GCERT_E_EMPTY);
  /* two private keys */
  gcert_buf key2 = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_pem_write_key(f->rsa_leaf.key, NULL, &key2, &err), &err);
  size_t both_len = good.len + key2.len;
  char *both = malloc(both_len);
  memcpy(both, good.data, good.len);
  memcpy(both + good.len, key2.data, key2.len);
  expect_pem(both, both_len, GCERT_E_PEM_UNEXPECTED);
  free(both);
  /* key that does not match the first certificate */
  size_t mix_len = key2.len + good.len;
  char *mix = malloc(mix_len);
  char *key_start = memmem(text, good.len, "-----BEGIN PRIVATE KEY-----", 27);
  size_t certs_len = (size_t)(key_start - text);
  memcpy(mix, text, certs_len);
  memcpy(mix + certs_len, key2.data, key2.len);
  expect_pem(mix, certs_len + key2.len, GCERT_E_KEY_MISMATCH);
  free(mix);
  gcert_buf_free(&key2);
  gcert_buf_free(&good);
}

static void test_der_round_trip_and_errors(void **state) {
  fixture *f = *state;
  gcert_buf der = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_der_write(f->leaf.cert, &der, &err), &err);
  gcert_store out;
  gcert_store_init(&out);
  assert_status(GCERT_OK, gcert_der_read(der.data, der.len, &out, &err), &err);
  assert_int_equal(1, out.count);
  assert_true(test_same_cert(f->leaf.cert, sk_X509_value(out.entries[0].chain, 0)));
  gcert_store_free(&out);
  assert_status(GCERT_E_DER_INVALID, gcert_der_read(der.data, der.len - 1, &out, &err), &err);
  unsigned char *longer = malloc(der.len + 3);
  memcpy(longer, der.data, der.len);
  memset(longer + der.len, 0, 3);
  assert_status(GCERT_E_DER_TRAILING, gcert_der_read(longer, der.len + 3, &out, &err), &err);
  assert_non_null(strstr(err.message, "3 bytes"));
  free(longer);
  assert_status(GCERT_E_EMPTY, gcert_der_read(der.data, 0, &out, &err), &err);
  assert_int_equal(0, out.count);
  gcert_buf_free(&der);
}

static void test_pkcs7_round_trip_and_errors(void **state) {
  fixture *f = *state;
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_store_add_key(&store, "k", f->leaf.key, f->chain, &err), &err);
  assert_status(GCERT_OK, gcert_store_add_trusted(&store, "r", f->rsa_leaf.cert, &err), &err);
  for (int armour = 0; armour < 2; armour++) {
    gcert_buf p7 = {0};
    assert_status(GCERT_OK, gcert_pkcs7_write(&store, armour, &p7, &err), &err);
    gcert_store back;
    gcert_store_init(&back);
    assert_status(GCERT_OK, gcert_pkcs7_read(p7.data, p7.len, &back, &err), &err);
    assert_int_equal(3, back.count); /* leaf, ca, rsa leaf: certificates only */
    assert_true(test_same_cert(f->leaf.cert, sk_X509_value(back.entries[0].chain, 0)));
    assert_true(test_same_cert(f->ca.cert, sk_X509_value(back.entries[1].chain, 0)));
    assert_true(test_same_cert(f->rsa_leaf.cert, sk_X509_value(back.entries[2].chain, 0)));
    for (size_t i = 0; i < back.count; i++)
      assert_null(back.entries[i].key);
    gcert_store_free(&back);
    if (!armour) {
      assert_status(GCERT_E_DER_INVALID, gcert_pkcs7_read(p7.data, p7.len / 2, &back, &err), &err);
      unsigned char *longer = malloc(p7.len + 1);
      memcpy(longer, p7.data, p7.len);
      longer[p7.len] = 0x00;
      assert_status(GCERT_E_DER_TRAILING, gcert_pkcs7_read(longer, p7.len + 1, &back, &err), &err);
      free(longer);
    }
    gcert_buf_free(&p7);
  }
  /* a certificate is not a PKCS#7 bundle */
  gcert_buf der = {0};
  assert_status(GCERT_OK, gcert_der_write(f->leaf.cert, &der, &err), &err);
  gcert_store back;
  gcert_store_init(&back);
  assert_status(GCERT_E_DER_INVALID, gcert_pkcs7_read(der.data, der.len, &back, &err), &err);
  assert_int_equal(0, back.count);
  gcert_buf_free(&der);
  gcert_store_free(&store);
  gcert_store empty;
  gcert_store_init(&empty);
  gcert_buf p7 = {0};
  assert_status(GCERT_E_NO_CERT, gcert_pkcs7_write(&empty, 0, &p7, &err), &err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pem_key_and_chain_round_trip),
      cmocka_unit_test(test_pem_trusted_bundle),
      cmocka_unit_test(test_pem_key_only),
      cmocka_unit_test(test_pem_traditional_keys),
      cmocka_unit_test(test_pem_errors),
      cmocka_unit_test(test_der_round_trip_and_errors),
      cmocka_unit_test(test_pkcs7_round_trip_and_errors),
  };
  return cmocka_run_group_tests_name("pem-der-pkcs7", tests, setup, teardown);
}
