/* test_pkcs12.c - PKCS#12: round trips, stores made by keytool and openssl,
 * and every error the reader names.
 *
 * Round trips compare aliases, order, the DER of every certificate and key
 * equality. Stores from other tools are the committed fixtures of
 * fixtures/keystores/make-pkcs12.sh. Broken stores are built here bag by bag
 * with OpenSSL's PKCS#12 API, so each status is reached for the reason it
 * names and nothing depends on a file's history.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pkcs12.h>

#define SPECIAL_PASSWORD "!%^&#:/?[]@;="

typedef struct fixture {
  gcert_item ec_ca, ec_leaf, rsa_ca, rsa_leaf, trusted_a, trusted_b;
  STACK_OF(X509) * ec_chain;
  STACK_OF(X509) * rsa_chain;
} fixture;

static void issue_rsa(gcert_kind kind, const char *subject, const gcert_item *issuer,
                      gcert_item *out) {
  gcert_spec spec;
  gcert_spec_init(&spec, kind);
  spec.subject = subject;
  spec.key_type = GCERT_KEY_RSA_2048;
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_issue(&spec, TEST_REFERENCE, issuer, NULL, out, &err), &err);
}

static int setup(void **state) {
  static fixture f;
  test_issue(GCERT_KIND_CA, "CN=P12 EC CA,O=gatecert", NULL, &f.ec_ca);
  test_issue(GCERT_KIND_SERVER, "CN=p12 ec server,O=gatecert", &f.ec_ca, &f.ec_leaf);
  issue_rsa(GCERT_KIND_CA, "CN=P12 RSA CA,O=gatecert", NULL, &f.rsa_ca);
  issue_rsa(GCERT_KIND_CLIENT, "CN=p12 rsa client,O=gatecert", &f.rsa_ca, &f.rsa_leaf);
  test_issue(GCERT_KIND_CA, "CN=P12 Trusted A", NULL, &f.trusted_a);
  test_issue(GCERT_KIND_CA, "CN=P12 Trusted B", NULL, &f.trusted_b);
  f.ec_chain = gcert_chain_make(f.ec_leaf.cert, &f.ec_ca.cert, 1, GCERT_CHAIN_FULL);
  f.rsa_chain = gcert_chain_make(f.rsa_leaf.cert, &f.rsa_ca.cert, 1, GCERT_CHAIN_FULL);
  *state = &f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  gcert_item *items[] = {&f->ec_ca,    &f->ec_leaf,   &f->rsa_ca,
                         &f->rsa_leaf, &f->trusted_a, &f->trusted_b};
  for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
    gcert_item_free(items[i]);
  sk_X509_pop_free(f->ec_chain, X509_free);
  sk_X509_pop_free(f->rsa_chain, X509_free);
  return 0;
}

/* trusted A, EC key entry, trusted B, RSA key entry: kinds interleaved so
 * that order preservation is visible. */
static void make_store(fixture *f, gcert_store *store) {
  gcert_store_init(store);
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_store_add_trusted(store, "trusted-a", f->trusted_a.cert, &err),
                &err);
  assert_status(GCERT_OK,
                gcert_store_add_key(store, "ec-server", f->ec_leaf.key, f->ec_chain, &err), &err);
  assert_status(GCERT_OK, gcert_store_add_trusted(store, "Trusted B ü", f->trusted_b.cert, &err),
                &err);
  assert_status(GCERT_OK,
                gcert_store_add_key(store, "rsa-client", f->rsa_leaf.key, f->rsa_chain, &err),
                &err);
}

static void assert_same_store(const gcert_store *want, const gcert_store *got) {
  assert_int_equal(want->count, got->count);
  for (size_t i = 0; i < want->count; i++) {
    const gcert_entry *a = &want->entries[i];
    const gcert_entry *b = &got->entries[i];
    assert_string_equal(a->alias, b->alias);
    assert_int_equal(a->key != NULL, b->key != NULL);
    if (a->key != NULL)
      assert_true(test_same_key(a->key, b->key));
    assert_int_equal(sk_X509_num(a->chain), sk_X509_num(b->chain));
    for (int j = 0; j < sk_X509_num(a->chain); j++)
      assert_true(test_same_cert(sk_X509_value(a->chain, j), sk_X509_value(b->chain, j)));
  }
}

static gcert_status read_p12(const gcert_buf *buf, const char *password, gcert_store *out,
                             gcert_error *err) {
  return gcert_pkcs12_read(buf->data, buf->len, password, out, err);
}

static void test_round_trip(void **state) {
  fixture *f = *state;
  gcert_store store;
  make_store(f, &store);
  static const char *const passwords[] = {"changeit", SPECIAL_PASSWORD,
                                          "! % ^ & # : / ? [ ] @ ; =", "පාස්වර්ඩ්", ""};
  for (size_t i = 0; i < sizeof(passwords) / sizeof(passwords[0]); i++) {
    gcert_buf p12 = {0};
    gcert_error err = {0};
    assert_status(GCERT_OK, gcert_pkcs12_write(&store, passwords[i], &p12, &err), &err);
    gcert_store back;
    gcert_store_init(&back);
    assert_status(GCERT_OK, read_p12(&p12, passwords[i], &back, &err), &err);
    assert_int_equal(0, ERR_peek_error()); /* no stale OpenSSL errors after success */
    assert_same_store(&store, &back);
    gcert_store_free(&back);
    /* what a wrong or missing password gets, and that nothing is added */
    assert_status(GCERT_E_INTEGRITY, read_p12(&p12, "wrong", &back, &err), &err);
    assert_non_null(strstr(err.message, "wrong password"));
    assert_status(GCERT_E_NEED_PASSWORD, read_p12(&p12, NULL, &back, &err), &err);
    assert_int_equal(0, back.count);
    gcert_buf_free(&p12);
  }
  gcert_store_free(&store);
}

static void test_read_appends(void **state) {
  fixture *f = *state;
  gcert_store store;
  make_store(f, &store);
  gcert_buf p12 = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_pkcs12_write(&store, "pw", &p12, &err), &err);
  gcert_store out;
  gcert_store_init(&out);
  assert_status(GCERT_OK, gcert_store_add_trusted(&out, "already-there", f->ec_ca.cert, &err),
                &err);
  assert_status(GCERT_OK, read_p12(&p12, "pw", &out, &err), &err);
  assert_int_equal(5, out.count);
  assert_string_equal("already-there", out.entries[0].alias);
  assert_string_equal("rsa-client", out.entries[4].alias);
  /* a second read clashes on aliases and adds nothing */
  assert_status(GCERT_E_DUPLICATE_ALIAS, read_p12(&p12, "pw", &out, &err), &err);
  assert_int_equal(5, out.count);
  gcert_store_free(&out);
  gcert_buf_free(&p12);
  gcert_store_free(&store);
}

static void test_write_errors(void **state) {
  fixture *f = *state;
  gcert_store store;
  make_store(f, &store);
  gcert_buf p12 = {0};
  gcert_error err = {0};
  assert_status(GCERT_E_INVALID_ARG, gcert_pkcs12_write(&store, NULL, &p12, &err), &err);
  assert_status(GCERT_E_INVALID_ARG, gcert_pkcs12_write(NULL, "pw", &p12, &err), &err);
  /* two key entries with one certificate could not be told apart */
  assert_status(GCERT_OK, gcert_store_add_key(&store, "again", f->ec_leaf.key, f->ec_chain, &err),
                &err);
  assert_status(GCERT_E_INVALID_ARG, gcert_pkcs12_write(&store, "pw", &p12, &err), &err);
  assert_null(p12.data);
  gcert_store_free(&store);
  /* an empty store is written (keytool makes them too) but reads as no certificate */
  assert_status(GCERT_OK, gcert_pkcs12_write(&store, "pw", &p12, &err), &err);
  gcert_store back;
  gcert_store_init(&back);
  assert_status(GCERT_E_NO_CERT, read_p12(&p12, "pw", &back, &err), &err);
  gcert_buf_free(&p12);
}

static void test_aux_alias_ignored(void **state) {
  fixture *f = *state;
  /* a certificate carrying OpenSSL "aux" data (as read from a TRUSTED
   * CERTIFICATE PEM) must not bring its own alias or key id into the bag */
  X509 *aux = X509_dup(f->trusted_a.cert);
  assert_non_null(aux);
  assert_int_equal(1, X509_alias_set1(aux, (const unsigned char *)"aux-alias", -1));
  assert_int_equal(1, X509_keyid_set1(aux, (const unsigned char *)"aux-id", 6));
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_store_add_trusted(&store, "entry-alias", aux, &err), &err);
  X509_free(aux);
  gcert_buf p12 = {0};
  assert_status(GCERT_OK, gcert_pkcs12_write(&store, "pw", &p12, &err), &err);
  gcert_store back;
  gcert_store_init(&back);
  assert_status(GCERT_OK, read_p12(&p12, "pw", &back, &err), &err);
  assert_int_equal(1, back.count);
  assert_string_equal("entry-alias", back.entries[0].alias);
  assert_null(back.entries[0].key);
  gcert_store_free(&back);
  gcert_store_free(&store);
  gcert_buf_free(&p12);
}

static void expect_read(const unsigned char *data, size_t len, const char *password,
                        gcert_status expected) {
  gcert_store out;
  gcert_store_init(&out);
  gcert_error err = {0};
  assert_status(expected, gcert_pkcs12_read(data, len, password, &out, &err), &err);
  assert_int_equal(0, out.count);
  assert_true(err.message[0] != '\0');
}

static void test_byte_level_errors(void **state) {
  fixture *f = *state;
  gcert_store store;
  make_store(f, &store);
  gcert_buf p12 = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_pkcs12_write(&store, "pw", &p12, &err), &err);
  gcert_store_free(&store);

  expect_read(p12.data, 0, "pw", GCERT_E_EMPTY);
  expect_read(p12.data, 1, "pw", GCERT_E_TRUNCATED);
  expect_read(p12.data, p12.len / 2, "pw", GCERT_E_TRUNCATED);
  expect_read(p12.data, p12.len - 1, "pw", GCERT_E_TRUNCATED);
  static const unsigned char text[] = "this is not DER at all";
  expect_read(text, sizeof(text) - 1, "pw", GCERT_E_DER_INVALID);
  static const unsigned char int_der[] = {0x02, 0x01, 0x05};
  expect_read(int_der, sizeof(int_der), "pw", GCERT_E_DER_INVALID);
  static const unsigned char empty_seq[] = {0x30, 0x00};
  expect_read(empty_seq, sizeof(empty_seq), "pw", GCERT_E_DER_INVALID);
  static const unsigned char huge_len[] = {0x30, 0x85, 1, 2, 3, 4, 5};
  expect_read(huge_len, sizeof(huge_len), "pw", GCERT_E_DER_INVALID);

  unsigned char *copy = malloc(p12.len + 3);
  assert_non_null(copy);
  memcpy(copy, p12.data, p12.len);
  copy[p12.len] = 0;
  copy[p12.len + 1] = 0;
  copy[p12.len + 2] = '\n';
  expect_read(copy, p12.len + 3, "pw", GCERT_E_DER_TRAILING);
  /* one flipped byte inside the encrypted certificates: the MAC catches it */
  copy[p12.len / 2] ^= 0x01;
  expect_read(copy, p12.len, "pw", GCERT_E_INTEGRITY);
  free(copy);
  expect_read(NULL, 10, "pw", GCERT_E_INVALID_ARG);
  gcert_buf_free(&p12);
}

/* ---- stores built bag by bag -------------------------------------------- */

typedef struct bags {
  STACK_OF(PKCS12_SAFEBAG) * certs;
  STACK_OF(PKCS12_SAFEBAG) * keys;
} bags;

static PKCS12_SAFEBAG *cert_bag(bags *b, X509 *cert, const char *alias, const char *key_id) {
  PKCS12_SAFEBAG *bag = PKCS12_add_cert(&b->certs, cert);
  assert_non_null(bag);
  if (alias != NULL)
    assert_int_equal(1, PKCS12_add_friendlyname_utf8(bag, alias, -1));
  if (key_id != NULL)
    assert_int_equal(1, PKCS12_add_localkeyid(bag, (unsigned char *)key_id, (int)strlen(key_id)));
  return bag;
}

static void key_bag(bags *b, EVP_PKEY *key, const char *alias, const char *key_id, int shrouded) {
  PKCS12_SAFEBAG *bag =
      PKCS12_add_key(&b->keys, key, 0, PKCS12_DEFAULT_ITER, shrouded ? NID_aes_256_cbc : -1, "pw");
  assert_non_null(bag);
  if (alias != NULL)
    assert_int_equal(1, PKCS12_add_friendlyname_utf8(bag, alias, -1));
  if (key_id != NULL)
    assert_int_equal(1, PKCS12_add_localkeyid(bag, (unsigned char *)key_id, (int)strlen(key_id)));
}

/* Packs the bags (certificates encrypted when encrypt) with a SHA-256 MAC of
 * mac_iter iterations, or no MAC when mac_iter is 0; frees the bags. */
static gcert_buf pack_bags(bags *b, int encrypt, int mac_iter) {
  STACK_OF(PKCS7) *safes = NULL;
  if (b->certs != NULL)
    assert_int_equal(1, PKCS12_add_safe(&safes, b->certs, encrypt ? NID_aes_256_cbc : -1,
                                        PKCS12_DEFAULT_ITER, "pw"));
  if (b->keys != NULL)
    assert_int_equal(1, PKCS12_add_safe(&safes, b->keys, -1, 0, NULL));
  if (safes == NULL)
    safes = sk_PKCS7_new_null();
  PKCS12 *p12 = PKCS12_add_safes(safes, 0);
  assert_non_null(p12);
  if (mac_iter > 0)
    assert_int_equal(1, PKCS12_set_mac(p12, "pw", -1, NULL, 0, mac_iter, EVP_sha256()));
  gcert_buf out = {0};
  int n = i2d_PKCS12(p12, &out.data);
  assert_true(n > 0);
  out.len = (size_t)n;
  PKCS12_free(p12);
  sk_PKCS7_pop_free(safes, PKCS7_free);
  sk_PKCS12_SAFEBAG_pop_free(b->certs, PKCS12_SAFEBAG_free);
  sk_PKCS12_SAFEBAG_pop_free(b->keys, PKCS12_SAFEBAG_free);
  b->certs = b->keys = NULL;
  return out;
}

static void expect_bags(bags *b, const char *password, gcert_status expected,
                        const char *message_part) {
  gcert_buf p12 = pack_bags(b, 1, PKCS12_DEFAULT_ITER);
  gcert_store out;
  gcert_store_init(&out);
  gcert_error err = {0};
  assert_status(expected, read_p12(&p12, password, &out, &err), &err);
  assert_int_equal(0, out.count);
  if (message_part != NULL && strstr(err.message, message_part) == NULL)
    fail_msg("message '%s' does not mention '%s'", err.message, message_part);
  OPENSSL_free(p12.data);
}

static void test_bag_level_errors(void **state) {
  fixture *f = *state;
  bags b = {0};
  /* a key whose localKeyId names no certificate */
  cert_bag(&b, f->ec_leaf.cert, "ec", "id-1");
  key_bag(&b, f->rsa_leaf.key, "lonely-key", "id-2", 1);
  expect_bags(&b, "pw", GCERT_E_NO_CERT, "lonely-key");
  /* a key paired with another key's certificate */
  cert_bag(&b, f->ec_leaf.cert, "mixed", "id-1");
  key_bag(&b, f->rsa_leaf.key, "mixed", "id-1", 1);
  expect_bags(&b, "pw", GCERT_E_KEY_MISMATCH, "mixed");
  /* nothing at all, and only a MAC */
  expect_bags(&b, "pw", GCERT_E_NO_CERT, NULL);
  /* a secret key bag, as Java writes for secret keys */
  b.keys = sk_PKCS12_SAFEBAG_new_null();
  unsigned char secret[16] = {1, 2, 3};
  PKCS12_SAFEBAG *s = PKCS12_SAFEBAG_create_secret(NID_pkcs7_data, V_ASN1_OCTET_STRING, secret,
                                                   (int)sizeof(secret));
  assert_non_null(s);
  assert_true(sk_PKCS12_SAFEBAG_push(b.keys, s) > 0);
  expect_bags(&b, "pw", GCERT_E_UNSUPPORTED, "bag 0");
  /* more bags than the limit (1024) */
  for (int i = 0; i < 1025; i++)
    cert_bag(&b, f->trusted_a.cert, NULL, NULL);
  expect_bags(&b, "pw", GCERT_E_LIMIT, "1024");
}

static void test_bag_pairing(void **state) {
  fixture *f = *state;
  bags b = {0};
  /* certificates in a shuffled order, the RSA key without localKeyId and
   * unencrypted (keyBag): chains still come out leaf first */
  cert_bag(&b, f->ec_ca.cert, NULL, NULL);
  cert_bag(&b, f->rsa_leaf.cert, "rsa", NULL);
  cert_bag(&b, f->trusted_a.cert, "loose", NULL);
  cert_bag(&b, f->rsa_ca.cert, NULL, NULL);
  cert_bag(&b, f->ec_leaf.cert, "ec-cert-name", "k1");
  key_bag(&b, f->ec_leaf.key, "ec", "k1", 1);
  key_bag(&b, f->rsa_leaf.key, NULL, NULL, 0);
  gcert_buf p12 = pack_bags(&b, 1, PKCS12_DEFAULT_ITER);
  gcert_store out;
  gcert_store_init(&out);
  gcert_error err = {0};
  assert_status(GCERT_OK, read_p12(&p12, "pw", &out, &err), &err);
  OPENSSL_free(p12.data);
  assert_int_equal(3, out.count);
  /* in certificate bag order: rsa leaf, loose, ec leaf */
  assert_string_equal("rsa", out.entries[0].alias);
  assert_true(test_same_key(f->rsa_leaf.key, out.entries[0].key));
  assert_int_equal(2, sk_X509_num(out.entries[0].chain));
  assert_true(test_same_cert(f->rsa_ca.cert, sk_X509_value(out.entries[0].chain, 1)));
  assert_string_equal("loose", out.entries[1].alias);
  assert_null(out.entries[1].key);
  assert_string_equal("ec", out.entries[2].alias); /* the key bag's name wins */
  assert_int_equal(2, sk_X509_num(out.entries[2].chain));
  assert_true(test_same_cert(f->ec_ca.cert, sk_X509_value(out.entries[2].chain, 1)));
  gcert_store_free(&out);
}

static void test_no_mac(void **state) {
  fixture *f = *state;
  /* no MAC and nothing encrypted: readable without a password */
  bags b = {0};
  cert_bag(&b, f->trusted_a.cert, "a", NULL);
  gcert_buf p12 = pack_bags(&b, 0, 0);
  gcert_store out;
  gcert_store_init(&out);
  gcert_error err = {0};
  assert_status(GCERT_OK, read_p12(&p12, NULL, &out, &err), &err);
  assert_int_equal(1, out.count);
  gcert_store_free(&out);
  OPENSSL_free(p12.data);
  /* no MAC but encrypted: the password is needed, a wrong one fails decryption */
  cert_bag(&b, f->trusted_a.cert, "a", NULL);
  p12 = pack_bags(&b, 1, 0);
  assert_status(GCERT_E_NEED_PASSWORD, read_p12(&p12, NULL, &out, &err), &err);
  assert_status(GCERT_E_BAD_PASSWORD, read_p12(&p12, "wrong", &out, &err), &err);
  assert_status(GCERT_OK, read_p12(&p12, "pw", &out, &err), &err);
  gcert_store_free(&out);
  OPENSSL_free(p12.data);
}

/* DER tag + length + content (content shorter than 64 KiB). */
static unsigned char *der_wrap(unsigned char tag, const unsigned char *content, size_t len,
                               size_t *out_len) {
  unsigned char *out = malloc(len + 4);
  assert_non_null(out);
  size_t h = 0;
  out[h++] = tag;
  if (len >= 0x100) {
    out[h++] = 0x82;
    out[h++] = (unsigned char)(len >> 8);
  } else if (len >= 0x80) {
    out[h++] = 0x81;
  }
  out[h++] = (unsigned char)len;
  memcpy(out + h, content, len);
  *out_len = h + len;
  return out;
}

/* Wraps bag (taken) in `levels` safeContents bags, which OpenSSL's API cannot
 * make: SafeBag ::= SEQUENCE { safeContentsBag, [0] EXPLICIT SEQUENCE OF SafeBag }. */
static PKCS12_SAFEBAG *nest_bag(PKCS12_SAFEBAG *bag, int levels) {
  static const unsigned char oid[] = {0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                      0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x06};
  for (int i = 0; i < levels; i++) {
    unsigned char *der = NULL;
    int n = i2d_PKCS12_SAFEBAG(bag, &der);
    assert_true(n > 0);
    PKCS12_SAFEBAG_free(bag);
    size_t seq_len = 0;
    size_t expl_len = 0;
    size_t outer_len = 0;
    unsigned char *seq = der_wrap(0x30, der, (size_t)n, &seq_len);
    unsigned char *expl = der_wrap(0xa0, seq, seq_len, &expl_len);
    unsigned char *body = malloc(sizeof(oid) + expl_len);
    assert_non_null(body);
    memcpy(body, oid, sizeof(oid));
    memcpy(body + sizeof(oid), expl, expl_len);
    unsigned char *outer = der_wrap(0x30, body, sizeof(oid) + expl_len, &outer_len);
    const unsigned char *p = outer;
    bag = d2i_PKCS12_SAFEBAG(NULL, &p, (long)outer_len);
    assert_non_null(bag);
    OPENSSL_free(der);
    free(seq);
    free(expl);
    free(body);
    free(outer);
  }
  return bag;
}

static void test_nested_safe_contents(void **state) {
  fixture *f = *state;
  for (int levels = 1; levels <= 5; levels++) {
    PKCS12_SAFEBAG *bag = PKCS12_SAFEBAG_create_cert(f->trusted_a.cert);
    assert_non_null(bag);
    assert_int_equal(1, PKCS12_add_friendlyname_utf8(bag, "deep", -1));
    bags b = {sk_PKCS12_SAFEBAG_new_null(), NULL};
    assert_true(sk_PKCS12_SAFEBAG_push(b.certs, nest_bag(bag, levels)) > 0);
    gcert_buf p12 = pack_bags(&b, 1, PKCS12_DEFAULT_ITER);
    gcert_store out;
    gcert_store_init(&out);
    gcert_error err = {0};
    /* up to 4 levels of nesting are read, a fifth is over the limit */
    assert_status(levels <= 4 ? GCERT_OK : GCERT_E_LIMIT, read_p12(&p12, "pw", &out, &err), &err);
    assert_int_equal(levels <= 4 ? 1 : 0, out.count);
    if (levels <= 4) {
      assert_string_equal("deep", out.entries[0].alias);
      assert_true(test_same_cert(f->trusted_a.cert, sk_X509_value(out.entries[0].chain, 0)));
    }
    gcert_store_free(&out);
    OPENSSL_free(p12.data);
  }
}

static void test_iteration_limit(void **state) {
  fixture *f = *state;
  bags b = {0};
  cert_bag(&b, f->trusted_a.cert, "a", NULL);
  gcert_buf p12 = pack_bags(&b, 0, 1000001);
  gcert_store out;
  gcert_store_init(&out);
  gcert_error err = {0};
  assert_status(GCERT_E_LIMIT, read_p12(&p12, "pw", &out, &err), &err);
  OPENSSL_free(p12.data);
}

/* ---- stores made by keytool and the openssl CLI ------------------------- */

static void load_fixture(const char *name, const char *password, gcert_status expected,
                         gcert_store *out) {
  gcert_buf buf = {0};
  gcert_error err = {0};
  char rel[256];
  snprintf(rel, sizeof(rel), "keystores/%s", name);
  assert_status(GCERT_OK, gcert_file_load(test_fixture_path(rel), GCERT_MAX_INPUT, &buf, &err),
                &err);
  gcert_store_init(out);
  assert_status(expected, read_p12(&buf, password, out, &err), &err);
  if (expected != GCERT_OK)
    assert_int_equal(0, out->count);
  gcert_buf_free(&buf);
}

static void assert_subject(X509 *cert, const char *subject) {
  gcert_info info;
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_describe(cert, TEST_REFERENCE, &info, &err), &err);
  assert_string_equal(subject, info.subject);
}

static void assert_key_entry(const gcert_entry *e, const char *alias, int chain_len, int key_id) {
  assert_string_equal(alias, e->alias);
  assert_non_null(e->key);
  assert_int_equal(key_id, EVP_PKEY_get_base_id(e->key));
  assert_int_equal(chain_len, sk_X509_num(e->chain));
  assert_true(test_same_key(e->key, X509_get0_pubkey(sk_X509_value(e->chain, 0))));
}

static void test_keytool_stores(void **state) {
  (void)state;
  gcert_store s;
  load_fixture("keytool-ec.p12", "changeit", GCERT_OK, &s);
  assert_int_equal(1, s.count);
  assert_key_entry(&s.entries[0], "ec-key", 1, EVP_PKEY_EC);
  assert_subject(sk_X509_value(s.entries[0].chain, 0), "CN=keytool EC,O=gatecert");
  gcert_store_free(&s);

  load_fixture("keytool-rsa-chain.p12", "changeit", GCERT_OK, &s);
  assert_int_equal(1, s.count);
  assert_key_entry(&s.entries[0], "rsa-server", 2, EVP_PKEY_RSA);
  assert_subject(sk_X509_value(s.entries[0].chain, 0), "CN=keytool RSA server,O=gatecert");
  assert_subject(sk_X509_value(s.entries[0].chain, 1), "CN=keytool CA,O=gatecert");
  gcert_store_free(&s);

  load_fixture("keytool-trust.p12", "changeit", GCERT_OK, &s);
  assert_int_equal(2, s.count);
  const char *names[] = {"root-a", "root-b"};
  for (size_t i = 0; i < 2; i++) {
    const gcert_entry *e = gcert_store_find(&s, names[i]);
    assert_non_null(e);
    assert_null(e->key);
    assert_int_equal(1, sk_X509_num(e->chain));
    char subject[64];
    snprintf(subject, sizeof(subject), "CN=keytool %s,O=gatecert", names[i]);
    assert_subject(sk_X509_value(e->chain, 0), subject);
  }
  gcert_store_free(&s);

  const char *files[] = {"keytool-ec.p12", "keytool-rsa-chain.p12", "keytool-trust.p12"};
  for (size_t i = 0; i < 3; i++) {
    load_fixture(files[i], "wrong", GCERT_E_INTEGRITY, &s);
    load_fixture(files[i], NULL, GCERT_E_NEED_PASSWORD, &s);
  }
}

static void assert_openssl_entry(const gcert_store *s) {
  assert_int_equal(1, s->count);
  assert_key_entry(&s->entries[0], "openssl-server", 3, EVP_PKEY_RSA);
  STACK_OF(X509) *chain = s->entries[0].chain;
  assert_subject(sk_X509_value(chain, 0), "CN=openssl server,O=gatecert");
  assert_subject(sk_X509_value(chain, 1), "CN=openssl Intermediate CA,O=gatecert");
  assert_subject(sk_X509_value(chain, 2), "CN=openssl Root CA,O=gatecert");
}

static void test_openssl_stores(void **state) {
  (void)state;
  gcert_store s;
  load_fixture("openssl-modern.p12", "gatecert", GCERT_OK, &s);
  assert_openssl_entry(&s);
  gcert_store_free(&s);
  load_fixture("openssl-special.p12", SPECIAL_PASSWORD, GCERT_OK, &s);
  assert_openssl_entry(&s);
  gcert_store_free(&s);
  load_fixture("openssl-modern.p12", "wrong", GCERT_E_INTEGRITY, &s);
  load_fixture("openssl-special.p12", "!%^&#:/?[]@;", GCERT_E_INTEGRITY, &s);
  load_fixture("openssl-legacy.p12", "wrong", GCERT_E_INTEGRITY, &s);

  /* -legacy encrypts certificates with RC2-40: not without the legacy provider */
  gcert_buf buf = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK,
                gcert_file_load(test_fixture_path("keystores/openssl-legacy.p12"), GCERT_MAX_INPUT,
                                &buf, &err),
                &err);
  gcert_store_init(&s);
  assert_status(GCERT_E_UNSUPPORTED, read_p12(&buf, "gatecert", &s, &err), &err);
  assert_non_null(strstr(err.message, "RC2-40-CBC"));
  assert_non_null(strstr(err.message, "legacy provider"));
  assert_int_equal(0, s.count);
  gcert_buf_free(&buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),           cmocka_unit_test(test_read_appends),
      cmocka_unit_test(test_write_errors),         cmocka_unit_test(test_aux_alias_ignored),
      cmocka_unit_test(test_byte_level_errors),    cmocka_unit_test(test_bag_level_errors),
      cmocka_unit_test(test_bag_pairing),          cmocka_unit_test(test_no_mac),
      cmocka_unit_test(test_nested_safe_contents), cmocka_unit_test(test_iteration_limit),
      cmocka_unit_test(test_keytool_stores),       cmocka_unit_test(test_openssl_stores),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
