/* test_sapjar.c - the SAP key store JAR: round trips, JARs made with Java's
 * `jar` tool, the descriptor's .properties syntax, and every error.
 *
 * Archives with unusual content are built here with libzip from a list of
 * (name, content) members, so each case shows exactly what is in the zip.
 */
#include "support.h"
#include "zip_fixture.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <zip.h>

#define DESCRIPTOR "META-INF/descriptor.properties"

typedef struct fixture {
  gcert_item root, intermediate, leaf, other;
  gcert_store store; /* one key entry: leaf -> intermediate -> root */
  char *chain_pem;   /* leaf, intermediate, root */
  char *reversed_pem;
  char *key_pem;
  char *other_key_pem;
} fixture;

static char *pem_of_certs(X509 *const *certs, size_t n) {
  gcert_store s;
  gcert_store_init(&s);
  gcert_error err = {0};
  for (size_t i = 0; i < n; i++)
    assert_status(GCERT_OK, gcert_store_add_trusted(&s, NULL, certs[i], &err), &err);
  gcert_buf buf = {0};
  assert_status(GCERT_OK, gcert_pem_write(&s, NULL, &buf, &err), &err);
  gcert_store_free(&s);
  char *text = strndup((char *)buf.data, buf.len);
  gcert_buf_free(&buf);
  return text;
}

static char *pem_of_key(EVP_PKEY *key, const char *password) {
  gcert_buf buf = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_pem_write_key(key, password, &buf, &err), &err);
  char *text = strndup((char *)buf.data, buf.len);
  gcert_buf_free(&buf);
  return text;
}

static int setup(void **state) {
  static fixture f;
  test_issue(GCERT_KIND_CA, "CN=JAR Root CA,O=gatecert", NULL, &f.root);
  test_issue(GCERT_KIND_CA, "CN=JAR Intermediate CA,O=gatecert", &f.root, &f.intermediate);
  test_issue(GCERT_KIND_CLIENT, "CN=jar client,O=gatecert", &f.intermediate, &f.leaf);
  test_issue(GCERT_KIND_CLIENT, "CN=other client,O=gatecert", &f.intermediate, &f.other);
  X509 *issuers[] = {f.intermediate.cert, f.root.cert};
  STACK_OF(X509) *chain = gcert_chain_make(f.leaf.cert, issuers, 2, GCERT_CHAIN_FULL);
  gcert_store_init(&f.store);
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_store_add_key(&f.store, NULL, f.leaf.key, chain, &err), &err);
  sk_X509_pop_free(chain, X509_free);
  X509 *in_order[] = {f.leaf.cert, f.intermediate.cert, f.root.cert};
  X509 *reversed[] = {f.root.cert, f.intermediate.cert, f.leaf.cert};
  f.chain_pem = pem_of_certs(in_order, 3);
  f.reversed_pem = pem_of_certs(reversed, 3);
  f.key_pem = pem_of_key(f.leaf.key, NULL);
  f.other_key_pem = pem_of_key(f.other.key, NULL);
  *state = &f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  gcert_item_free(&f->root);
  gcert_item_free(&f->intermediate);
  gcert_item_free(&f->leaf);
  gcert_item_free(&f->other);
  gcert_store_free(&f->store);
  free(f->chain_pem);
  free(f->reversed_pem);
  free(f->key_pem);
  free(f->other_key_pem);
  return 0;
}

static void assert_entry(const gcert_store *s, fixture *f) {
  assert_int_equal(1, s->count);
  const gcert_entry *e = &s->entries[0];
  assert_null(e->alias);
  assert_true(test_same_key(f->leaf.key, e->key));
  assert_int_equal(3, sk_X509_num(e->chain));
  assert_true(test_same_cert(f->leaf.cert, sk_X509_value(e->chain, 0)));
  assert_true(test_same_cert(f->intermediate.cert, sk_X509_value(e->chain, 1)));
  assert_true(test_same_cert(f->root.cert, sk_X509_value(e->chain, 2)));
}

/* ---- round trips -------------------------------------------------------- */

static void test_round_trip(void **state) {
  fixture *f = *state;
  static const char *const passwords[] = {NULL, "jarpw", "!%^&#:/?[]@;="};
  for (size_t i = 0; i < sizeof(passwords) / sizeof(passwords[0]); i++) {
    gcert_buf jar = {0};
    gcert_error err = {0};
    assert_status(
        GCERT_OK,
        gcert_sapjar_write(&f->store, "main.pem", "privateKey.pem", passwords[i], &jar, &err),
        &err);
    assert_memory_equal("PK\3\4", jar.data, 4);
    gcert_store back;
    gcert_store_init(&back);
    assert_status(GCERT_OK, gcert_sapjar_read(jar.data, jar.len, passwords[i], &back, &err), &err);
    assert_int_equal(0, ERR_peek_error()); /* no stale OpenSSL errors after success */
    assert_entry(&back, f);
    gcert_store_free(&back);
    if (passwords[i] != NULL) {
      assert_status(GCERT_E_NEED_PASSWORD, gcert_sapjar_read(jar.data, jar.len, NULL, &back, &err),
                    &err);
      assert_non_null(strstr(err.message, "privateKey.pem"));
      assert_status(GCERT_E_BAD_PASSWORD,
                    gcert_sapjar_read(jar.data, jar.len, "wrong", &back, &err), &err);
      assert_int_equal(0, back.count);
    }
    gcert_buf_free(&jar);
  }
}

static void test_write_is_deterministic(void **state) {
  fixture *f = *state;
  gcert_buf a = {0};
  gcert_buf b = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_sapjar_write(&f->store, "cert.pem", "key.pem", NULL, &a, &err),
                &err);
  assert_status(GCERT_OK, gcert_sapjar_write(&f->store, "cert.pem", "key.pem", NULL, &b, &err),
                &err);
  assert_int_equal(a.len, b.len);
  assert_memory_equal(a.data, b.data, a.len);
  gcert_buf_free(&a);
  gcert_buf_free(&b);
}

static void test_write_errors(void **state) {
  fixture *f = *state;
  gcert_buf jar = {0};
  gcert_error err = {0};
  static const char *const bad_names[] = {"",         "main",     ".pem",     "a/main.pem",
                                          "../x.pem", "a..b.pem", "a\\b.pem", " main.pem",
                                          "mä.pem",   "tab\t.pem"};
  for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
    assert_status(GCERT_E_INVALID_ARG,
                  gcert_sapjar_write(&f->store, bad_names[i], "key.pem", NULL, &jar, &err), &err);
    assert_status(GCERT_E_INVALID_ARG,
                  gcert_sapjar_write(&f->store, "main.pem", bad_names[i], NULL, &jar, &err), &err);
  }
  assert_status(GCERT_E_INVALID_ARG,
                gcert_sapjar_write(&f->store, NULL, "key.pem", NULL, &jar, &err), &err);
  assert_status(GCERT_E_INVALID_ARG,
                gcert_sapjar_write(&f->store, "same.pem", "same.pem", NULL, &jar, &err), &err);
  /* exactly one entry, and it must be a key entry */
  gcert_store s;
  gcert_store_init(&s);
  assert_status(GCERT_E_INVALID_ARG, gcert_sapjar_write(&s, "m.pem", "k.pem", NULL, &jar, &err),
                &err);
  assert_status(GCERT_OK, gcert_store_add_trusted(&s, NULL, f->root.cert, &err), &err);
  assert_status(GCERT_E_INVALID_ARG, gcert_sapjar_write(&s, "m.pem", "k.pem", NULL, &jar, &err),
                &err);
  gcert_store_free(&s);
  assert_status(GCERT_OK,
                gcert_store_add_key(&s, "a", f->leaf.key, f->store.entries[0].chain, &err), &err);
  assert_status(GCERT_OK,
                gcert_store_add_key(&s, "b", f->leaf.key, f->store.entries[0].chain, &err), &err);
  assert_status(GCERT_E_INVALID_ARG, gcert_sapjar_write(&s, "m.pem", "k.pem", NULL, &jar, &err),
                &err);
  gcert_store_free(&s);
  assert_null(jar.data);
}

/* ---- archives built member by member ------------------------------------ */

/* Reads a JAR of chain_pem, key_pem and the given descriptor text. */
static gcert_status read_with_descriptor(fixture *f, const char *descriptor, gcert_store *out,
                                         gcert_error *err) {
  test_zip_member m[] = {{"main.pem", f->chain_pem, 0, 0},
                         {"certs/main.pem", f->chain_pem, 0, 0},
                         {"privateKey.pem", f->key_pem, 0, 0},
                         {DESCRIPTOR, descriptor, 0, 0}};
  gcert_buf jar = test_zip(m, 4);
  gcert_store_init(out);
  gcert_status st = gcert_sapjar_read(jar.data, jar.len, NULL, out, err);
  gcert_buf_free(&jar);
  return st;
}

static void test_descriptor_syntax(void **state) {
  fixture *f = *state;
  static const char *const good[] = {
      "certFile=main.pem\nkeyFile=privateKey.pem\n",
      "certFile=main.pem\nkeyFile=privateKey.pem", /* no final newline */
      "certFile: main.pem\r\nkeyFile :privateKey.pem\r\n",
      "certFile main.pem\rkeyFile\tprivateKey.pem\r",
      "# by hand\n! comment\n\n   \n  certFile = main.pem  \n\tkeyFile=privateKey.pem\n",
      "keyFile=wrong.pem\ncertFile=main.pem\nkeyFile=privateKey.pem\n", /* last one wins */
      "certFile=ma\\\n    in.pem\nkeyFile=private\\\r\n  Key.pem\n",    /* continuation */
      "cert\\File=\\u006dain.pem\nkey\\u0046ile=privateKey\\.pem\n",    /* escapes */
      "certFile=certs/main.pem\nkeyFile=privateKey.pem\nother=ignored\n",
      "# comment ending in a backslash \\\ncertFile=main.pem\nkeyFile=privateKey.pem\n",
  };
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    gcert_store out;
    gcert_error err = {0};
    gcert_status st = read_with_descriptor(f, good[i], &out, &err);
    if (st != GCERT_OK)
      fail_msg("descriptor %zu: %s: %s", i, gcert_status_name(st), err.message);
    assert_entry(&out, f);
    gcert_store_free(&out);
  }
  static const struct {
    const char *text;
    gcert_status status;
  } bad[] = {
      {"certFile=main.pem\n", GCERT_E_DESCRIPTOR},
      {"keyFile=privateKey.pem\n", GCERT_E_DESCRIPTOR},
      {"certFile=\nkeyFile=privateKey.pem\n", GCERT_E_DESCRIPTOR},
      {"certFile=../main.pem\nkeyFile=privateKey.pem\n", GCERT_E_DESCRIPTOR},
      {"certFile=certs/../main.pem\nkeyFile=privateKey.pem\n", GCERT_E_DESCRIPTOR},
      {"certFile=/main.pem\nkeyFile=privateKey.pem\n", GCERT_E_DESCRIPTOR},
      {"certFile=certs\\\\main.pem\nkeyFile=privateKey.pem\n", GCERT_E_DESCRIPTOR},
      {"certFile=certs//main.pem\nkeyFile=privateKey.pem\n", GCERT_E_DESCRIPTOR},
      {"certFile=\\uZZZZ.pem\nkeyFile=privateKey.pem\n", GCERT_E_DESCRIPTOR},
      {"certFile=\\ud800.pem\nkeyFile=privateKey.pem\n", GCERT_E_DESCRIPTOR},
      {"certFile=a\\u0000.pem\nkeyFile=privateKey.pem\n", GCERT_E_DESCRIPTOR},
      {"certFile=main.pem\nkeyFile=main.pem\n", GCERT_E_DESCRIPTOR},
      {"certFile=Main.pem\nkeyFile=privateKey.pem\n", GCERT_E_MISSING_MEMBER},
      {"certFile=main.pem\nkeyFile=missing.pem\n", GCERT_E_MISSING_MEMBER},
      {"certFile=main.pem\nkeyFile=main.pem.pem\n", GCERT_E_MISSING_MEMBER},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    gcert_store out;
    gcert_error err = {0};
    gcert_status st = read_with_descriptor(f, bad[i].text, &out, &err);
    if (st != bad[i].status)
      fail_msg("bad descriptor %zu: expected %s, got %s: %s", i, gcert_status_name(bad[i].status),
               gcert_status_name(st), err.message);
    assert_int_equal(0, out.count);
  }
}

static void expect_members(const test_zip_member *m, size_t n, const char *password,
                           gcert_status expected, const char *message_part) {
  gcert_buf jar = test_zip(m, n);
  gcert_store out;
  gcert_store_init(&out);
  gcert_error err = {0};
  assert_status(expected, gcert_sapjar_read(jar.data, jar.len, password, &out, &err), &err);
  assert_int_equal(0, out.count);
  if (message_part != NULL && strstr(err.message, message_part) == NULL)
    fail_msg("message '%s' does not mention '%s'", err.message, message_part);
  gcert_buf_free(&jar);
}

static void test_member_errors(void **state) {
  fixture *f = *state;
  const char *desc = "certFile=main.pem\nkeyFile=privateKey.pem\n";
  test_zip_member no_desc[] = {{"main.pem", f->chain_pem, 0, 0},
                               {"privateKey.pem", f->key_pem, 0, 0}};
  expect_members(no_desc, 2, NULL, GCERT_E_MISSING_MEMBER, DESCRIPTOR);
  test_zip_member no_cert[] = {{"privateKey.pem", f->key_pem, 0, 0}, {DESCRIPTOR, desc, 0, 0}};
  expect_members(no_cert, 2, NULL, GCERT_E_MISSING_MEMBER, "main.pem");
  char *both = malloc(strlen(f->chain_pem) + strlen(f->key_pem) + 1);
  assert_non_null(both);
  strcpy(both, f->chain_pem); // NOLINT(clang-analyzer-security.insecureAPI.strcpy)
  strcat(both, f->key_pem);   // NOLINT(clang-analyzer-security.insecureAPI.strcpy)
  /* a member over 1 MiB (zeros compress well, so the archive is small) */
  char *big = malloc(((size_t)1 << 20) + 2);
  assert_non_null(big);
  memset(big, 'A', ((size_t)1 << 20) + 1);
  big[((size_t)1 << 20) + 1] = '\0';
  /* main.pem and privateKey.pem from these, with the descriptor */
  enum { CHAIN, KEY, OTHER_KEY, REVERSED, GARBAGE, BOTH, BIG };
  const char *const pems[] = {
      f->chain_pem, f->key_pem, f->other_key_pem, f->reversed_pem, "not a certificate\n",
      both,         big};
  static const struct {
    const char *name;
    int cert, key;
    int encrypted; /* main.pem stored encrypted */
    gcert_status status;
    const char *message;
  } rows[] = {
      {"mismatch", CHAIN, OTHER_KEY, 0, GCERT_E_KEY_MISMATCH, "privateKey.pem"},
      {"reversed", REVERSED, KEY, 0, GCERT_E_UNSUPPORTED, "one chain"},
      {"garbage", GARBAGE, KEY, 0, GCERT_E_NOT_PEM, "certFile main.pem"},
      {"key_in_cert", KEY, KEY, 0, GCERT_E_NO_CERT, "main.pem"},
      {"key_with_chain", BOTH, KEY, 0, GCERT_E_PEM_UNEXPECTED, "belongs in keyFile"},
      {"cert_as_key", CHAIN, CHAIN, 0, GCERT_E_PEM_UNEXPECTED, "keyFile privateKey.pem"},
      {"encrypted", CHAIN, KEY, 1, GCERT_E_UNSUPPORTED, "encrypted"},
      {"too_big", BIG, KEY, 0, GCERT_E_LIMIT, "main.pem"},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    print_message("# member errors: %s\n", rows[i].name);
    test_zip_member members[] = {{"main.pem", pems[rows[i].cert], rows[i].encrypted, 0},
                                 {"privateKey.pem", pems[rows[i].key], 0, 0},
                                 {DESCRIPTOR, desc, 0, 0}};
    expect_members(members, 3, NULL, rows[i].status, rows[i].message);
  }
  free(both);
  free(big);

  /* 65 members: over the limit of 64 */
  test_zip_member many[65];
  char names[65][16];
  for (size_t i = 0; i < 65; i++) {
    snprintf(names[i], sizeof(names[i]), "m%zu.txt", i);
    many[i] = (test_zip_member){names[i], "x", 0, 0};
  }
  expect_members(many, 65, NULL, GCERT_E_LIMIT, "64");
}

static void test_byte_level_errors(void **state) {
  fixture *f = *state;
  gcert_buf jar = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK,
                gcert_sapjar_write(&f->store, "main.pem", "privateKey.pem", NULL, &jar, &err),
                &err);
  gcert_store out;
  gcert_store_init(&out);
  assert_status(GCERT_E_EMPTY, gcert_sapjar_read(jar.data, 0, NULL, &out, &err), &err);
  assert_status(GCERT_E_BAD_MAGIC, gcert_sapjar_read(jar.data, 3, NULL, &out, &err), &err);
  assert_status(
      GCERT_E_BAD_MAGIC,
      gcert_sapjar_read((const unsigned char *)"certFile=main.pem\n", 18, NULL, &out, &err), &err);
  assert_status(GCERT_E_ZIP, gcert_sapjar_read(jar.data, jar.len / 2, NULL, &out, &err), &err);
  assert_status(GCERT_E_ZIP, gcert_sapjar_read(jar.data, jar.len - 1, NULL, &out, &err), &err);
  /* an empty zip is a zip, without the descriptor */
  static const unsigned char empty_zip[22] = {'P', 'K', 5, 6};
  assert_status(GCERT_E_MISSING_MEMBER,
                gcert_sapjar_read(empty_zip, sizeof(empty_zip), NULL, &out, &err), &err);
  assert_status(GCERT_E_INVALID_ARG, gcert_sapjar_read(NULL, 10, NULL, &out, &err), &err);
  assert_int_equal(0, out.count);
  gcert_buf_free(&jar);
}

/* ---- files made by jar and the openssl CLI ------------------------------ */

static gcert_buf load(const char *name) {
  char rel[256];
  snprintf(rel, sizeof(rel), "keystores/%s", name);
  gcert_buf buf = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_file_load(test_fixture_path(rel), GCERT_MAX_INPUT, &buf, &err),
                &err);
  return buf;
}

static void assert_subject(X509 *cert, const char *subject) {
  gcert_info info;
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_describe(cert, TEST_REFERENCE, &info, &err), &err);
  assert_string_equal(subject, info.subject);
}

static void assert_openssl_chain(STACK_OF(X509) * chain) {
  assert_int_equal(3, sk_X509_num(chain));
  assert_subject(sk_X509_value(chain, 0), "CN=openssl server,O=gatecert");
  assert_subject(sk_X509_value(chain, 1), "CN=openssl Intermediate CA,O=gatecert");
  assert_subject(sk_X509_value(chain, 2), "CN=openssl Root CA,O=gatecert");
}

static void test_jar_tool_fixtures(void **state) {
  (void)state;
  static const struct {
    const char *file;
    const char *password;
  } jars[] = {{"sap-keystore.jar", NULL}, {"sap-keystore-encrypted.jar", "gatecert"}};
  for (size_t i = 0; i < 2; i++) {
    gcert_buf jar = load(jars[i].file);
    gcert_store s;
    gcert_store_init(&s);
    gcert_error err = {0};
    assert_status(GCERT_OK, gcert_sapjar_read(jar.data, jar.len, jars[i].password, &s, &err), &err);
    assert_int_equal(1, s.count);
    assert_null(s.entries[0].alias);
    assert_int_equal(EVP_PKEY_RSA, EVP_PKEY_get_base_id(s.entries[0].key));
    assert_openssl_chain(s.entries[0].chain);
    gcert_store_free(&s);
    if (jars[i].password != NULL) {
      assert_status(GCERT_E_BAD_PASSWORD, gcert_sapjar_read(jar.data, jar.len, "wrong", &s, &err),
                    &err);
      assert_status(GCERT_E_NEED_PASSWORD, gcert_sapjar_read(jar.data, jar.len, NULL, &s, &err),
                    &err);
    }
    gcert_buf_free(&jar);
  }
}

static void test_openssl_pem_fixtures(void **state) {
  (void)state;
  gcert_buf chain = load("openssl-chain.pem");
  gcert_store s;
  gcert_store_init(&s);
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_pem_read(chain.data, chain.len, NULL, &s, &err), &err);
  assert_int_equal(3, s.count);
  X509 *leaf = sk_X509_value(s.entries[0].chain, 0);
  STACK_OF(X509) *certs = sk_X509_new_null();
  for (size_t i = 0; i < 3; i++)
    sk_X509_push(certs, sk_X509_value(s.entries[i].chain, 0));
  assert_openssl_chain(certs);
  sk_X509_free(certs);
  static const struct {
    const char *file;
    const char *password;
  } keys[] = {{"openssl-key-encrypted.pem", "gatecert"}, {"openssl-key-traditional.pem", NULL}};
  for (size_t i = 0; i < 2; i++) {
    gcert_buf pem = load(keys[i].file);
    EVP_PKEY *key = NULL;
    assert_status(GCERT_OK, gcert_pem_read_key(pem.data, pem.len, keys[i].password, &key, &err),
                  &err);
    assert_true(test_same_key(key, X509_get0_pubkey(leaf)));
    EVP_PKEY_free(key);
    key = NULL;
    if (keys[i].password != NULL)
      assert_status(GCERT_E_BAD_PASSWORD,
                    gcert_pem_read_key(pem.data, pem.len, "wrong", &key, &err), &err);
    gcert_buf_free(&pem);
  }
  gcert_store_free(&s);
  gcert_buf_free(&chain);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),        cmocka_unit_test(test_write_is_deterministic),
      cmocka_unit_test(test_write_errors),      cmocka_unit_test(test_descriptor_syntax),
      cmocka_unit_test(test_member_errors),     cmocka_unit_test(test_byte_level_errors),
      cmocka_unit_test(test_jar_tool_fixtures), cmocka_unit_test(test_openssl_pem_fixtures),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
