/* test_jks.c - JKS reading and writing (certs/jks.c).
 *
 * Three sources of input: the keytool-made stores in fixtures/keystores (the
 * format as Java writes it), round trips through gcert_jks_write with
 * factory-made certificates, and stores assembled byte by byte here (the
 * jb_* builder, with its own digest code) to reach every hostile case the
 * reader must name. The malformed corpus in fixtures/malformed/jks is walked
 * through its MANIFEST as well.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Round-trip password: a combining umlaut and an astral code point. */
#define UNICODE_PASSWORD "p\xC3\xA4sswo\xCC\x88rd\xE2\x82\xAC\xF0\x9F\x98\x80"
#define KEYTOOL_UNICODE  "p\xC3\xA4ssw\xC3\xB6rd\xE2\x82\xAC\xF0\x9F\x98\x80" /* pässwörd€😀 */
#define SPECIAL_PASSWORD "p!%^&#:/?[]@;=w"

/* ---- helpers ------------------------------------------------------------ */

static gcert_buf load_fixture(const char *relative) {
  gcert_buf buf = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_file_load(test_fixture_path(relative), GCERT_MAX_INPUT, &buf, &err),
                &err);
  return buf;
}

/* Reads a fixture, expecting status; returns the store (empty on failure). */
static gcert_store read_fixture(const char *relative, const char *password, gcert_status want,
                                gcert_error *err) {
  gcert_buf buf = load_fixture(relative);
  gcert_store store;
  gcert_store_init(&store);
  assert_status(want, gcert_jks_read(buf.data, buf.len, password, &store, err), err);
  if (want != GCERT_OK)
    assert_int_equal(store.count, 0);
  gcert_buf_free(&buf);
  return store;
}

/* Reading relative with a wrong password fails the store digest; with none,
 * the reader asks for one (err: the last read's). */
static void assert_password_needed(const char *relative, const char *wrong, gcert_error *err) {
  read_fixture(relative, wrong, GCERT_E_INTEGRITY, err);
  read_fixture(relative, NULL, GCERT_E_NEED_PASSWORD, err);
}

static void subject_of(X509 *cert, char *out, size_t n) {
  BIO *bio = BIO_new(BIO_s_mem());
  assert_non_null(bio);
  X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  int got = BIO_read(bio, out, (int)n - 1);
  out[got > 0 ? got : 0] = '\0';
  BIO_free(bio);
}

static void assert_subject(X509 *cert, const char *want) {
  char got[256];
  subject_of(cert, got, sizeof(got));
  assert_string_equal(got, want);
}

static const gcert_entry *find(const gcert_store *store, const char *alias) {
  const gcert_entry *e = gcert_store_find(store, alias);
  if (e == NULL)
    fail_msg("alias '%s' missing", alias);
  return e;
}

static void assert_trusted(const gcert_store *store, const char *alias, const char *subject) {
  const gcert_entry *e = find(store, alias);
  assert_null(e->key);
  assert_int_equal(sk_X509_num(e->chain), 1);
  assert_subject(sk_X509_value(e->chain, 0), subject);
  assert_true(e->created_ms > 1600000000000LL); /* made after 2020 by keytool */
}

static void assert_key_entry(const gcert_store *store, const char *alias, int key_type,
                             int chain_len, const char *subject) {
  const gcert_entry *e = find(store, alias);
  assert_non_null(e->key);
  assert_int_equal(EVP_PKEY_get_base_id(e->key), key_type);
  assert_int_equal(sk_X509_num(e->chain), chain_len);
  assert_subject(sk_X509_value(e->chain, 0), subject);
  assert_int_equal(EVP_PKEY_eq(e->key, X509_get0_pubkey(sk_X509_value(e->chain, 0))), 1);
  assert_true(e->created_ms > 1600000000000LL);
}

static void assert_message_has(const gcert_error *err, const char *needle) {
  if (strstr(err->message, needle) == NULL)
    fail_msg("message '%s' lacks '%s'", err->message, needle);
}

/* ---- a byte-level JKS builder ------------------------------------------- */

typedef struct jb {
  unsigned char *data;
  size_t len;
  size_t cap;
} jb;

static void jb_put(jb *b, const void *data, size_t len) {
  if (b->len + len > b->cap) {
    b->cap = (b->len + len) * 2 + 64;
    b->data = realloc(b->data, b->cap);
    assert_non_null(b->data);
  }
  if (len > 0)
    memcpy(b->data + b->len, data, len);
  b->len += len;
}

static void jb_be(jb *b, uint64_t v, size_t n) {
  unsigned char bytes[8];
  for (size_t i = 0; i < n; i++)
    bytes[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
  jb_put(b, bytes, n);
}

static void jb_utf_bytes(jb *b, const void *bytes, size_t len) {
  jb_be(b, len, 2);
  jb_put(b, bytes, len);
}

static void jb_utf(jb *b, const char *text) { jb_utf_bytes(b, text, strlen(text)); }

static void jb_header(jb *b, uint32_t magic, uint32_t version, uint32_t count) {
  jb_be(b, magic, 4);
  jb_be(b, version, 4);
  jb_be(b, count, 4);
}

/* Certificate with the version 2 type string. */
static void jb_cert(jb *b, X509 *cert) {
  unsigned char *der = NULL;
  int len = i2d_X509(cert, &der);
  assert_true(len > 0);
  jb_utf(b, "X.509");
  jb_be(b, (uint64_t)len, 4);
  jb_put(b, der, (size_t)len);
  OPENSSL_free(der);
}

static void jb_trusted(jb *b, const char *alias, X509 *cert) {
  jb_be(b, 2, 4);
  jb_utf(b, alias);
  jb_be(b, 1700000000000ULL, 8);
  jb_cert(b, cert);
}

/* Appends the store digest; the password must be ASCII here. */
static void jb_finish(jb *b, const char *password) {
  static const char whitener[] = "Mighty Aphrodite";
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  assert_non_null(ctx);
  assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha1(), NULL), 1);
  for (const char *p = password; *p; p++) {
    unsigned char unit[2] = {0, (unsigned char)*p};
    assert_int_equal(EVP_DigestUpdate(ctx, unit, 2), 1);
  }
  assert_int_equal(EVP_DigestUpdate(ctx, whitener, strlen(whitener)), 1);
  assert_int_equal(EVP_DigestUpdate(ctx, b->data, b->len), 1);
  unsigned char digest[20];
  unsigned int n = 0;
  assert_int_equal(EVP_DigestFinal_ex(ctx, digest, &n), 1);
  EVP_MD_CTX_free(ctx);
  jb_put(b, digest, sizeof(digest));
}

static gcert_status jb_read(const jb *b, const char *password, gcert_store *out, gcert_error *err) {
  return gcert_jks_read(b->data, b->len, password, out, err);
}

/* Expects reading b to fail with want, leaving the store empty. */
static void jb_expect(jb *b, const char *password, gcert_status want, const char *needle) {
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  assert_status(want, jb_read(b, password, &store, &err), &err);
  assert_int_equal(store.count, 0);
  if (needle != NULL)
    assert_message_has(&err, needle);
  free(b->data);
  memset(b, 0, sizeof(*b));
}

/* ---- shared certificates ------------------------------------------------ */

typedef struct pki {
  gcert_item ca;
  gcert_item ec_leaf;
  gcert_item rsa_leaf;
} pki;

static int pki_setup(void **state) {
  pki *p = calloc(1, sizeof(*p));
  assert_non_null(p);
  test_issue(GCERT_KIND_CA, "CN=JKS Test Root,O=gatecert", NULL, &p->ca);
  test_issue(GCERT_KIND_SERVER, "CN=localhost,O=gatecert", &p->ca, &p->ec_leaf);
  gcert_spec spec;
  gcert_spec_init(&spec, GCERT_KIND_CLIENT);
  spec.subject = "CN=rsa client,O=gatecert";
  spec.key_type = GCERT_KEY_RSA_2048;
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_issue(&spec, TEST_REFERENCE, &p->ca, NULL, &p->rsa_leaf, &err),
                &err);
  *state = p;
  return 0;
}

static int pki_teardown(void **state) {
  pki *p = *state;
  gcert_item_free(&p->ca);
  gcert_item_free(&p->ec_leaf);
  gcert_item_free(&p->rsa_leaf);
  free(p);
  return 0;
}

static STACK_OF(X509) * chain_of(X509 *leaf, X509 *issuer) {
  return gcert_chain_make(leaf, issuer ? &issuer : NULL, issuer ? 1 : 0, GCERT_CHAIN_FULL);
}

/* A store with a trusted CA, an EC key entry and an RSA key entry. */
static void build_mixed(const pki *p, gcert_store *store, const char *ec_alias) {
  gcert_error err = {0};
  gcert_store_init(store);
  assert_status(GCERT_OK, gcert_store_add_trusted(store, "root", p->ca.cert, &err), &err);
  STACK_OF(X509) *ec = chain_of(p->ec_leaf.cert, p->ca.cert);
  STACK_OF(X509) *rsa = chain_of(p->rsa_leaf.cert, NULL);
  assert_status(GCERT_OK, gcert_store_add_key(store, ec_alias, p->ec_leaf.key, ec, &err), &err);
  assert_status(GCERT_OK, gcert_store_add_key(store, "rsa-client", p->rsa_leaf.key, rsa, &err),
                &err);
  sk_X509_pop_free(ec, X509_free);
  sk_X509_pop_free(rsa, X509_free);
  store->entries[0].created_ms = 1893456000123LL;
  store->entries[1].created_ms = 0;
  store->entries[2].created_ms = -5; /* Java longs are signed: before 1970 */
}

static void assert_same_store(const gcert_store *a, const gcert_store *b) {
  assert_int_equal(a->count, b->count);
  for (size_t i = 0; i < a->count; i++) {
    const gcert_entry *x = &a->entries[i], *y = &b->entries[i];
    assert_string_equal(x->alias, y->alias);
    assert_true(x->created_ms == y->created_ms);
    assert_int_equal(x->key == NULL, y->key == NULL);
    if (x->key != NULL)
      assert_true(test_same_key(x->key, y->key));
    assert_int_equal(sk_X509_num(x->chain), sk_X509_num(y->chain));
    for (int c = 0; c < sk_X509_num(x->chain); c++)
      assert_true(test_same_cert(sk_X509_value(x->chain, c), sk_X509_value(y->chain, c)));
  }
}

static void write_store(const gcert_store *store, const char *password, gcert_buf *out) {
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_jks_write(store, password, out, &err), &err);
  assert_true(out->len > 32);
  assert_memory_equal(out->data, "\xFE\xED\xFE\xED\x00\x00\x00\x02", 8);
}

static void round_trip(const gcert_store *store, const char *password) {
  gcert_buf buf = {0};
  write_store(store, password, &buf);
  gcert_store back;
  gcert_store_init(&back);
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_jks_read(buf.data, buf.len, password, &back, &err), &err);
  assert_same_store(store, &back);
  gcert_store_free(&back);
  assert_status(GCERT_E_INTEGRITY, gcert_jks_read(buf.data, buf.len, "wrong!", &back, &err), &err);
  assert_int_equal(back.count, 0);
  gcert_buf_free(&buf);
}

/* ---- keytool fixtures --------------------------------------------------- */

static void test_fixture_truststore(void **state) {
  (void)state;
  gcert_error err = {0};
  gcert_store s = read_fixture("keystores/truststore.jks", "wso2carbon", GCERT_OK, &err);
  assert_int_equal(s.count, 3);
  assert_int_equal(gcert_store_cert_count(&s), 3);
  /* keytool lowercased the mixed-case aliases it was given */
  assert_trusted(&s, "rsa-root", "CN=Gatecert RSA Root,O=gatecert,C=LK");
  assert_trusted(&s, "ec-root", "CN=Gatecert EC Root,O=gatecert,C=LK");
  assert_trusted(&s, "openssl-root", "O=gatecert,CN=OpenSSL Made Root");
  assert_null(gcert_store_find(&s, "RSA-Root"));
  gcert_store_free(&s);

  /* no password: Java skips the digest and so do we; trusted entries load */
  s = read_fixture("keystores/truststore.jks", NULL, GCERT_OK, &err);
  assert_int_equal(s.count, 3);
  gcert_store_free(&s);
  read_fixture("keystores/truststore.jks", "changeit", GCERT_E_INTEGRITY, &err);
  assert_message_has(&err, "wrong password");
}

static void test_fixture_ec_key(void **state) {
  (void)state;
  gcert_error err = {0};
  gcert_store s = read_fixture("keystores/ec-key.jks", "changeit", GCERT_OK, &err);
  assert_int_equal(s.count, 1);
  assert_key_entry(&s, "server-ec", EVP_PKEY_EC, 1, "CN=localhost,O=gatecert");
  gcert_store_free(&s);
  assert_password_needed("keystores/ec-key.jks", "changeiT", &err);
  assert_message_has(&err, "server-ec");
}

static void test_fixture_rsa_chain(void **state) {
  (void)state;
  gcert_error err = {0};
  gcert_store s = read_fixture("keystores/rsa-chain.jks", "changeit", GCERT_OK, &err);
  assert_int_equal(s.count, 2);
  assert_int_equal(gcert_store_cert_count(&s), 3);
  assert_key_entry(&s, "server-rsa", EVP_PKEY_RSA, 2, "CN=backend.example,O=gatecert");
  const gcert_entry *key = find(&s, "server-rsa");
  assert_int_equal(EVP_PKEY_get_bits(key->key), 2048);
  X509 *leaf = sk_X509_value(key->chain, 0), *issuer = sk_X509_value(key->chain, 1);
  assert_subject(issuer, "CN=Gatecert Issuing CA,O=gatecert");
  assert_int_equal(X509_check_issued(issuer, leaf), X509_V_OK);
  assert_trusted(&s, "ca", "CN=Gatecert Issuing CA,O=gatecert");
  assert_true(test_same_cert(sk_X509_value(find(&s, "ca")->chain, 0), issuer));
  gcert_store_free(&s);
  assert_password_needed("keystores/rsa-chain.jks", "wso2carbon", &err);
}

static void test_fixture_special_password(void **state) {
  (void)state;
  gcert_error err = {0};
  gcert_store s = read_fixture("keystores/special-password.jks", SPECIAL_PASSWORD, GCERT_OK, &err);
  assert_int_equal(s.count, 2);
  assert_key_entry(&s, "special", EVP_PKEY_EC, 1, "CN=special,O=gatecert");
  assert_trusted(&s, "openssl-root", "O=gatecert,CN=OpenSSL Made Root");
  /* the same openssl-made certificate as in the trust store */
  gcert_store t = read_fixture("keystores/truststore.jks", "wso2carbon", GCERT_OK, &err);
  assert_true(test_same_cert(sk_X509_value(find(&s, "openssl-root")->chain, 0),
                             sk_X509_value(find(&t, "openssl-root")->chain, 0)));
  gcert_store_free(&t);
  gcert_store_free(&s);
  assert_password_needed("keystores/special-password.jks", "p!%^&#:/?[]@;=", &err);
}

static void test_fixture_unicode_password(void **state) {
  (void)state;
  gcert_error err = {0};
  gcert_store s = read_fixture("keystores/unicode-password.jks", KEYTOOL_UNICODE, GCERT_OK, &err);
  assert_int_equal(s.count, 1);
  assert_key_entry(&s, "unicode", EVP_PKEY_EC, 1, "CN=unicode,O=gatecert");
  gcert_store_free(&s);
  /* the same letters with a combining umlaut: other UTF-16, other digest */
  assert_password_needed("keystores/unicode-password.jks", UNICODE_PASSWORD, &err);
}

static void test_fixture_empty(void **state) {
  (void)state;
  gcert_error err = {0};
  gcert_store s = read_fixture("keystores/empty.jks", "changeit", GCERT_OK, &err);
  assert_int_equal(s.count, 0);
  s = read_fixture("keystores/empty.jks", NULL, GCERT_OK, &err);
  assert_int_equal(s.count, 0);
  read_fixture("keystores/empty.jks", "other", GCERT_E_INTEGRITY, &err);
}

static void test_fixture_keypass_differs(void **state) {
  (void)state;
  gcert_error err = {0};
  read_fixture("keystores/keypass-differs.jks", "changeit", GCERT_E_BAD_PASSWORD, &err);
  assert_message_has(&err, "'differs'");
  assert_message_has(&err, "entry 0 ('differs') at offset 12");
  read_fixture("keystores/keypass-differs.jks", "otherpass", GCERT_E_INTEGRITY, &err);
}

/* A failed read leaves a non-empty store as it was; a good one appends. */
static void test_read_appends_or_nothing(void **state) {
  pki *p = *state;
  gcert_error err = {0};
  gcert_store s;
  gcert_store_init(&s);
  assert_status(GCERT_OK, gcert_store_add_trusted(&s, "mine", p->ca.cert, &err), &err);
  gcert_buf buf = load_fixture("keystores/truststore.jks");
  assert_status(GCERT_E_INTEGRITY, gcert_jks_read(buf.data, buf.len, "x", &s, &err), &err);
  assert_int_equal(s.count, 1);
  assert_status(GCERT_OK, gcert_jks_read(buf.data, buf.len, "wso2carbon", &s, &err), &err);
  assert_int_equal(s.count, 4);
  assert_string_equal(s.entries[0].alias, "mine");
  /* again: every alias now collides with the store's */
  assert_status(GCERT_E_DUPLICATE_ALIAS, gcert_jks_read(buf.data, buf.len, NULL, &s, &err), &err);
  assert_int_equal(s.count, 4);
  gcert_buf_free(&buf);
  gcert_store_free(&s);
}

/* ---- round trips -------------------------------------------------------- */

static void drop_store(const gcert_store *store, const char *password, const char *name) {
  gcert_buf buf = {0};
  write_store(store, password, &buf);
  char *path = test_scratch_path(name);
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_file_save(path, buf.data, buf.len, 1, &err), &err);
  free(path);
  gcert_buf_free(&buf);
}

static void test_round_trip_mixed(void **state) {
  pki *p = *state;
  gcert_store s;
  build_mixed(p, &s, "server-ec");
  round_trip(&s, "changeit");
  round_trip(&s, SPECIAL_PASSWORD);
  round_trip(&s, UNICODE_PASSWORD);
  round_trip(&s, "");

  /* dropped in the scratch directory for checks by hand with keytool */
  drop_store(&s, "changeit", "written.jks");
  drop_store(&s, SPECIAL_PASSWORD, "written-special.jks");
  drop_store(&s, UNICODE_PASSWORD, "written-unicode.jks");
  gcert_store_free(&s);
}

/* Non-ASCII aliases go out as Java modified UTF-8 and come back as UTF-8. */
static void test_round_trip_unicode_alias(void **state) {
  pki *p = *state;
  const char *alias = "cl\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\x91"; /* clé € 🔑 */
  gcert_store s;
  gcert_store_init(&s);
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_store_add_trusted(&s, alias, p->ca.cert, &err), &err);
  gcert_buf buf = {0};
  write_store(&s, "changeit", &buf);
  /* U+1F511 as a surrogate pair D83D DD11, 3 bytes each */
  assert_memory_equal(buf.data + 18, "cl\xC3\xA9 \xE2\x82\xAC \xED\xA0\xBD\xED\xB4\x91", 15);
  assert_int_equal(buf.data[16], 0);
  assert_int_equal(buf.data[17], 15);
  gcert_store back;
  gcert_store_init(&back);
  assert_status(GCERT_OK, gcert_jks_read(buf.data, buf.len, "changeit", &back, &err), &err);
  assert_same_store(&s, &back);
  gcert_store_free(&back);
  gcert_buf_free(&buf);
  drop_store(&s, "changeit", "written-alias.jks");
  gcert_store_free(&s);
}

static void test_write_errors(void **state) {
  pki *p = *state;
  gcert_error err = {0};
  gcert_buf buf = {0};
  gcert_store s;

  gcert_store_init(&s);
  assert_status(GCERT_OK, gcert_store_add_trusted(&s, NULL, p->ca.cert, &err), &err);
  assert_status(GCERT_E_BAD_ALIAS, gcert_jks_write(&s, "changeit", &buf, &err), &err);
  gcert_store_free(&s);

  gcert_store_init(&s);
  assert_status(GCERT_OK, gcert_store_add_trusted(&s, "Root", p->ca.cert, &err), &err);
  assert_status(GCERT_OK, gcert_store_add_trusted(&s, "ROOT", p->ec_leaf.cert, &err), &err);
  assert_status(GCERT_E_DUPLICATE_ALIAS, gcert_jks_write(&s, "changeit", &buf, &err), &err);
  assert_message_has(&err, "ignore case");
  gcert_store_free(&s);

  build_mixed(p, &s, "server-ec");
  assert_status(GCERT_E_NEED_PASSWORD, gcert_jks_write(&s, NULL, &buf, &err), &err);
  assert_message_has(&err, "server-ec");
  assert_status(GCERT_E_INVALID_ARG, gcert_jks_write(&s, "bad\xC3", &buf, &err), &err);
  assert_status(GCERT_E_INVALID_ARG, gcert_jks_write(NULL, "x", &buf, &err), &err);
  assert_status(GCERT_E_INVALID_ARG, gcert_jks_write(&s, "x", NULL, &err), &err);
  assert_null(buf.data);
  gcert_store_free(&s);
}

/* Trusted-only stores may be written without a password: the digest is then
 * keyed with the empty password. */
static void test_write_trusted_without_password(void **state) {
  pki *p = *state;
  gcert_error err = {0};
  gcert_store s, back;
  gcert_store_init(&s);
  gcert_store_init(&back);
  assert_status(GCERT_OK, gcert_store_add_trusted(&s, "root", p->ca.cert, &err), &err);
  gcert_buf buf = {0};
  write_store(&s, NULL, &buf);
  assert_status(GCERT_OK, gcert_jks_read(buf.data, buf.len, NULL, &back, &err), &err);
  gcert_store_free(&back);
  assert_status(GCERT_OK, gcert_jks_read(buf.data, buf.len, "", &back, &err), &err);
  assert_same_store(&s, &back);
  gcert_store_free(&back);
  gcert_buf_free(&buf);
  gcert_store_free(&s);
}

/* ---- hand-built stores: the format's corners ---------------------------- */

static void test_version1(void **state) {
  pki *p = *state;
  unsigned char *der = NULL;
  int len = i2d_X509(p->ca.cert, &der);
  jb b = {0};
  jb_header(&b, 0xFEEDFEED, 1, 1);
  jb_be(&b, 2, 4);
  jb_utf(&b, "old");
  jb_be(&b, 42, 8);
  jb_be(&b, (uint64_t)len, 4); /* version 1: no certificate type string */
  jb_put(&b, der, (size_t)len);
  OPENSSL_free(der);
  jb_finish(&b, "changeit");
  gcert_store s;
  gcert_store_init(&s);
  gcert_error err = {0};
  assert_status(GCERT_OK, jb_read(&b, "changeit", &s, &err), &err);
  assert_int_equal(s.count, 1);
  assert_true(test_same_cert(sk_X509_value(find(&s, "old")->chain, 0), p->ca.cert));
  assert_true(s.entries[0].created_ms == 42);
  gcert_store_free(&s);
  free(b.data);
}

static void test_header_errors(void **state) {
  (void)state;
  jb b = {0};
  jb_header(&b, 0xCECECECE, 2, 0);
  jb_finish(&b, "x");
  jb_expect(&b, "x", GCERT_E_UNSUPPORTED, "JCEKS");

  jb_put(&b, "\x30\x82\x01\x00\x02\x01\x03\x30", 8);
  jb_finish(&b, "x");
  jb_expect(&b, "x", GCERT_E_BAD_MAGIC, "PKCS#12");

  jb_header(&b, 0xFEEDFEEE, 2, 0);
  jb_finish(&b, "x");
  jb_expect(&b, "x", GCERT_E_BAD_MAGIC, "0xFEEDFEEE");

  jb_header(&b, 0xFEEDFEED, 3, 0);
  jb_finish(&b, "x");
  jb_expect(&b, "x", GCERT_E_BAD_VERSION, "version 3");

  jb_header(&b, 0xFEEDFEED, 2, 0);
  b.len = 10;
  jb_expect(&b, "x", GCERT_E_TRUNCATED, "offset 8");

  jb_header(&b, 0xFEEDFEED, 2, 3); /* 3 entries cannot fit in 20 bytes */
  jb_finish(&b, "x");
  jb_expect(&b, "x", GCERT_E_LIMIT, "entry count 3");

  jb_header(&b, 0xFEEDFEED, 2, 16385); /* beyond JKS_MAX_ENTRIES though it could fit */
  for (int i = 0; i < 16385; i++)
    jb_put(&b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 19);
  jb_finish(&b, "x");
  jb_expect(&b, "x", GCERT_E_LIMIT, "limit 16384");

  jb_header(&b, 0xFEEDFEED, 2, 0);
  jb_finish(&b, "x");
  b.len -= 1;
  jb_expect(&b, "x", GCERT_E_TRUNCATED, "store digest at offset 12");

  jb_header(&b, 0xFEEDFEED, 2, 0);
  jb_finish(&b, "x");
  jb_put(&b, "\0", 1);
  jb_expect(&b, NULL, GCERT_E_DER_TRAILING, "1 extra bytes");

  gcert_store s;
  gcert_store_init(&s);
  gcert_error err = {0};
  unsigned char one = 0xFE;
  assert_status(GCERT_E_EMPTY, gcert_jks_read(&one, 0, NULL, &s, &err), &err);
  assert_status(GCERT_E_TRUNCATED, gcert_jks_read(&one, 1, NULL, &s, &err), &err);
  assert_status(GCERT_E_INVALID_ARG, gcert_jks_read(NULL, 5, NULL, &s, &err), &err);
  assert_status(GCERT_E_INVALID_ARG, gcert_jks_read(&one, 1, NULL, NULL, &err), &err);
  assert_status(GCERT_E_TOO_LARGE, gcert_jks_read(&one, GCERT_MAX_INPUT + 1, NULL, &s, &err), &err);
  assert_status(GCERT_E_INVALID_ARG, gcert_jks_read(&one, 1, "\xFF", &s, &err), &err);
}

static void test_alias_errors(void **state) {
  pki *p = *state;
  jb b = {0};
  static const struct {
    const char *bytes;
    size_t len;
    gcert_status want;
    const char *needle;
  } cases[] = {
      {"a\xC0\x80", 3, GCERT_E_BAD_ALIAS, "NUL"},                    /* Java's NUL */
      {"a\0b", 3, GCERT_E_BAD_ALIAS, "NUL"},                         /* raw NUL */
      {"a\xC1\x81", 3, GCERT_E_BAD_ALIAS, "invalid"},                /* overlong */
      {"\xED\xA0\xBD", 3, GCERT_E_BAD_ALIAS, "invalid"},             /* lone high surrogate */
      {"\xED\xB4\x91\xED\xA0\xBD", 6, GCERT_E_BAD_ALIAS, "invalid"}, /* reversed pair */
      {"ab\xE2\x82", 4, GCERT_E_BAD_ALIAS, "byte 2"},                /* cut sequence */
      {"\xFF", 1, GCERT_E_BAD_ALIAS, "invalid"},                     /* never UTF-8 */
      {"", 0, GCERT_E_BAD_ALIAS, "empty alias"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    jb_header(&b, 0xFEEDFEED, 2, 1);
    jb_be(&b, 2, 4);
    jb_utf_bytes(&b, cases[i].bytes, cases[i].len);
    jb_be(&b, 0, 8);
    jb_cert(&b, p->ca.cert);
    jb_finish(&b, "x");
    jb_expect(&b, "x", cases[i].want, cases[i].needle);
  }

  /* a surrogate pair (Java) and a 4-byte sequence (plain UTF-8) both read */
  jb_header(&b, 0xFEEDFEED, 2, 2);
  jb_be(&b, 2, 4);
  jb_utf(&b, "k\xED\xA0\xBD\xED\xB4\x91");
  jb_be(&b, 0, 8);
  jb_cert(&b, p->ca.cert);
  jb_trusted(&b, "\xF0\x9F\x98\x80", p->ec_leaf.cert);
  jb_finish(&b, "x");
  gcert_store s;
  gcert_store_init(&s);
  gcert_error err = {0};
  assert_status(GCERT_OK, jb_read(&b, "x", &s, &err), &err);
  assert_string_equal(s.entries[0].alias, "k\xF0\x9F\x94\x91");
  assert_string_equal(s.entries[1].alias, "\xF0\x9F\x98\x80");
  gcert_store_free(&s);
  free(b.data);
  memset(&b, 0, sizeof(b));

  /* aliases equal but for case collide, as they would in Java */
  jb_header(&b, 0xFEEDFEED, 2, 3);
  jb_trusted(&b, "one", p->ca.cert);
  jb_trusted(&b, "Two", p->ca.cert);
  jb_trusted(&b, "tWO", p->ec_leaf.cert);
  jb_finish(&b, "x");
  jb_expect(&b, "x", GCERT_E_DUPLICATE_ALIAS, "entry 2 at offset");
}

static void test_entry_errors(void **state) {
  pki *p = *state;
  jb b = {0};

  jb_header(&b, 0xFEEDFEED, 2, 1);
  jb_be(&b, 3, 4); /* JCEKS's secret key tag */
  jb_utf(&b, "secret");
  jb_put(&b, "\0\0\0\0\0\0\0\0", 8); /* room for the entry count check */
  jb_finish(&b, "x");
  jb_expect(&b, "x", GCERT_E_UNSUPPORTED, "unknown tag 3");

  jb_header(&b, 0xFEEDFEED, 2, 1);
  jb_be(&b, 2, 4);
  jb_utf(&b, "pgp");
  jb_be(&b, 0, 8);
  jb_utf(&b, "PGP");
  jb_be(&b, 0, 4);
  jb_finish(&b, "x");
  jb_expect(&b, "x", GCERT_E_UNSUPPORTED, "'PGP'");

  jb_header(&b, 0xFEEDFEED, 2, 1);
  jb_be(&b, 2, 4);
  jb_utf(&b, "long");
  jb_be(&b, 0, 8);
  jb_utf(&b, "X.509");
  jb_be(&b, 0x7FFFFFF0, 4);
  jb_finish(&b, "x");
  jb_expect(&b, "x", GCERT_E_TRUNCATED, "JKS entry 0 ('long') at offset 12");

  unsigned char *der = NULL;
  int len = i2d_X509(p->ca.cert, &der);
  jb_header(&b, 0xFEEDFEED, 2, 1);
  jb_be(&b, 2, 4);
  jb_utf(&b, "trail");
  jb_be(&b, 0, 8);
  jb_utf(&b, "X.509");
  jb_be(&b, (uint64_t)len + 2, 4);
  jb_put(&b, der, (size_t)len);
  jb_put(&b, "\0\0", 2);
  jb_finish(&b, "x");
  jb_expect(&b, "x", GCERT_E_DER_TRAILING, "2 bytes after");

  der[len / 2] ^= 0xFF; /* inside the signed body: usually still DER */
  der[1] = 0x05;        /* the outer SEQUENCE length now lies */
  jb_header(&b, 0xFEEDFEED, 2, 1);
  jb_be(&b, 2, 4);
  jb_utf(&b, "bad");
  jb_be(&b, 0, 8);
  jb_utf(&b, "X.509");
  jb_be(&b, (uint64_t)len, 4);
  jb_put(&b, der, (size_t)len);
  jb_finish(&b, "x");
  jb_expect(&b, "x", GCERT_E_DER_INVALID, "does not decode");
  OPENSSL_free(der);

  /* key entries: chain count 0 and 17 */
  for (uint32_t n = 0; n <= 17; n += 17) {
    jb_header(&b, 0xFEEDFEED, 2, 1);
    jb_be(&b, 1, 4);
    jb_utf(&b, "key");
    jb_be(&b, 0, 8);
    jb_be(&b, 3, 4);
    jb_put(&b, "\x30\x01\x00", 3);
    jb_be(&b, n, 4);
    for (uint32_t i = 0; i < n; i++)
      jb_cert(&b, p->ca.cert);
    jb_finish(&b, "x");
    jb_expect(&b, "x", n == 0 ? GCERT_E_NO_CERT : GCERT_E_LIMIT,
              n == 0 ? "chain count 0" : "chain count 17");
  }
}

/* Rewrites the protected key of a one-key-entry store that we wrote, with
 * the given algorithm and parameter type, keeping the encrypted bytes. */
static void rebuild_key_entry(const gcert_buf *good, const char *password, const char *oid,
                              int ptype, jb *out) {
  gcert_store s;
  gcert_store_init(&s);
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_jks_read(good->data, good->len, password, &s, &err), &err);
  const unsigned char *p = good->data + 12 + 4;
  size_t alias_len = ((size_t)p[0] << 8) | p[1];
  p += 2 + alias_len + 8;
  size_t key_len = ((size_t)p[0] << 24) | ((size_t)p[1] << 16) | ((size_t)p[2] << 8) | p[3];
  p += 4;
  X509_SIG *sig = d2i_X509_SIG(NULL, &p, (long)key_len);
  assert_non_null(sig);
  X509_ALGOR *alg = NULL;
  ASN1_OCTET_STRING *data = NULL;
  X509_SIG_getm(sig, &alg, &data);
  assert_int_equal(X509_ALGOR_set0(alg, OBJ_txt2obj(oid, 1), ptype, NULL), 1);
  unsigned char *der = NULL;
  int der_len = i2d_X509_SIG(sig, &der);
  assert_true(der_len > 0);
  X509_SIG_free(sig);

  jb_header(out, 0xFEEDFEED, 2, 1);
  jb_be(out, 1, 4);
  jb_utf(out, s.entries[0].alias);
  jb_be(out, 7, 8);
  jb_be(out, (uint64_t)der_len, 4);
  jb_put(out, der, (size_t)der_len);
  jb_be(out, 1, 4);
  jb_cert(out, sk_X509_value(s.entries[0].chain, 0));
  jb_finish(out, password);
  OPENSSL_free(der);
  gcert_store_free(&s);
}

static void test_key_protector_variants(void **state) {
  pki *p = *state;
  gcert_error err = {0};
  gcert_store s;
  gcert_store_init(&s);
  STACK_OF(X509) *chain = chain_of(p->ec_leaf.cert, NULL);
  assert_status(GCERT_OK, gcert_store_add_key(&s, "k", p->ec_leaf.key, chain, &err), &err);
  sk_X509_pop_free(chain, X509_free);
  gcert_buf good = {0};
  write_store(&s, "changeit", &good);
  gcert_store_free(&s);

  /* parameters absent instead of NULL: accepted */
  jb b = {0};
  rebuild_key_entry(&good, "changeit", "1.3.6.1.4.1.42.2.17.1.1", V_ASN1_UNDEF, &b);
  assert_status(GCERT_OK, jb_read(&b, "changeit", &s, &err), &err);
  assert_true(test_same_key(s.entries[0].key, p->ec_leaf.key));
  assert_true(s.entries[0].created_ms == 7);
  gcert_store_free(&s);
  free(b.data);
  memset(&b, 0, sizeof(b));

  /* PBES2 is what PKCS#12 uses; JKS never does */
  rebuild_key_entry(&good, "changeit", "1.2.840.113549.1.5.13", V_ASN1_NULL, &b);
  jb_expect(&b, "changeit", GCERT_E_UNSUPPORTED, "1.2.840.113549.1.5.13");

  /* a changed encrypted key byte: the store digest catches it first ... */
  good.data[12 + 4 + 2 + 1 + 8 + 4 + 60] ^= 0x01;
  gcert_store_init(&s);
  assert_status(GCERT_E_INTEGRITY, gcert_jks_read(good.data, good.len, "changeit", &s, &err), &err);
  assert_status(GCERT_E_NEED_PASSWORD, gcert_jks_read(good.data, good.len, NULL, &s, &err), &err);
  /* ... and with the store digest recomputed, the key's own check digest */
  jb_put(&b, good.data, good.len - 20);
  jb_finish(&b, "changeit");
  jb_expect(&b, "changeit", GCERT_E_BAD_PASSWORD, "key check digest");
  gcert_buf_free(&good);
}

/* Every prefix of a real store fails cleanly; so does every flipped byte. */
static void test_truncations_and_flips(void **state) {
  (void)state;
  gcert_buf buf = load_fixture("keystores/rsa-chain.jks");
  gcert_store s;
  gcert_store_init(&s);
  gcert_error err = {0};
  for (size_t n = 0; n < buf.len; n++) {
    gcert_status st = gcert_jks_read(buf.data, n, "changeit", &s, &err);
    if (st != GCERT_E_TRUNCATED && st != GCERT_E_EMPTY && st != GCERT_E_LIMIT)
      fail_msg("prefix of %zu bytes: %s: %s", n, gcert_status_name(st), err.message);
    assert_int_equal(s.count, 0);
  }
  for (size_t i = 0; i < buf.len; i++) {
    buf.data[i] ^= 0x20;
    gcert_status st = gcert_jks_read(buf.data, buf.len, "changeit", &s, &err);
    buf.data[i] ^= 0x20;
    if (st == GCERT_OK)
      fail_msg("flipped byte %zu still reads", i);
    assert_int_equal(s.count, 0);
  }
  gcert_buf_free(&buf);
}

/* ---- the malformed corpus ----------------------------------------------- */

static void check_manifest_line(char *line, size_t *checked) {
  char file[256], format[32], status[64], password[128];
  if (line[0] == '#' || line[0] == '\n' || line[0] == '\0')
    return;
  if (sscanf(line, "%255s %31s %63s %127s", file, format, status, password) != 4)
    fail_msg("bad MANIFEST line: %s", line);
  assert_string_equal(format, "jks");
  gcert_status want = gcert_status_from_name(status);
  assert_true(want != GCERT_STATUS_COUNT);
  char rel[512];
  snprintf(rel, sizeof(rel), "malformed/jks/%s", file);
  gcert_buf buf = load_fixture(rel);
  gcert_store s;
  gcert_store_init(&s);
  gcert_error err = {0};
  gcert_status got =
      gcert_jks_read(buf.data, buf.len, strcmp(password, "-") == 0 ? NULL : password, &s, &err);
  if (got != want)
    fail_msg("%s: expected %s, got %s: %s", file, status, gcert_status_name(got), err.message);
  assert_int_equal(s.count, 0);
  assert_true(err.message[0] != '\0');
  gcert_buf_free(&buf);
  (*checked)++;
}

static void test_malformed_corpus(void **state) {
  (void)state;
  FILE *f = fopen(test_fixture_path("malformed/jks/MANIFEST"), "r");
  assert_non_null(f);
  char line[512];
  size_t checked = 0;
  while (fgets(line, sizeof(line), f) != NULL)
    check_manifest_line(line, &checked);
  fclose(f);
  assert_true(checked >= 14);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixture_truststore),
      cmocka_unit_test(test_fixture_ec_key),
      cmocka_unit_test(test_fixture_rsa_chain),
      cmocka_unit_test(test_fixture_special_password),
      cmocka_unit_test(test_fixture_unicode_password),
      cmocka_unit_test(test_fixture_empty),
      cmocka_unit_test(test_fixture_keypass_differs),
      cmocka_unit_test(test_read_appends_or_nothing),
      cmocka_unit_test(test_round_trip_mixed),
      cmocka_unit_test(test_round_trip_unicode_alias),
      cmocka_unit_test(test_write_errors),
      cmocka_unit_test(test_write_trusted_without_password),
      cmocka_unit_test(test_version1),
      cmocka_unit_test(test_header_errors),
      cmocka_unit_test(test_alias_errors),
      cmocka_unit_test(test_entry_errors),
      cmocka_unit_test(test_key_protector_variants),
      cmocka_unit_test(test_truncations_and_flips),
      cmocka_unit_test(test_malformed_corpus),
  };
  return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
