/* test_sim_sap.c - the sap profile's trust stores, key stores and API
 * providers, through a real gatecert-sim process and real TLS backends.
 *
 * Uploads are one data-driven table: every rule of an upload (formats by
 * content, names, expiry, the key store JAR's chain order and key, PKCS#12
 * passwords and each restricted character of seed 004, encrypted PEM keys,
 * garbage, empty and oversize files) is one row with the status and a piece
 * of the description it must answer. The files are made here from the
 * catalogue with the certs/ writers (PEM, PKCS#12, key store JAR) or, for
 * hostile JARs, with libzip directly.
 *
 * End to end: a backend requiring a client certificate from the catalogue's
 * CA is refused while the gateway presents its own certificate, still refused
 * after the key store upload and the provider registration (they wait for the
 * sender tick, on a libfaketime clock), reached after the tick with exactly
 * the key store's certificate (SHA-256 from the backend's own report), still
 * reached after a restart, and refused again after the key store entry is
 * overwritten with an identity it does not trust and the next tick. A
 * provider trust store holding a self-signed backend's certificate makes that
 * otherwise untrusted backend reachable after the tick, and deleting the
 * certificate makes it unreachable again at the following one.
 */
#include "support.h"
#include "backend_fixture.h"
#include "backend_support.h"
#include "sim_fixture.h"
#include "sim_world.h"
#include "zip_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zip.h>

#define TS     "/sap/v1/truststores"
#define KS     "/sap/v1/keystores"
#define PROV   "/sap/v1/api-providers"
#define SECOND ((int64_t)1000)

/* ---- files ------------------------------------------------------------------ */

static X509 *load_cert(const char *row) {
  char file[64];
  snprintf(file, sizeof(file), "%s.pem", row);
  gcert_store st;
  gcert_store_init(&st);
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_read_file(sw_scratch(file), GCERT_FORMAT_PEM, NULL, &st, &err),
                &err);
  X509 *cert = sk_X509_value(st.entries[0].chain, 0);
  X509_up_ref(cert);
  gcert_store_free(&st);
  return cert;
}

static EVP_PKEY *load_key(const char *row) {
  char file[64];
  snprintf(file, sizeof(file), "%s.key", row);
  size_t len = 0;
  char *pem = bs_slurp(sw_scratch(file), &len);
  assert_non_null(pem);
  EVP_PKEY *key = NULL;
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_pem_read_key((unsigned char *)pem, len, NULL, &key, &err), &err);
  free(pem);
  return key;
}

/* A one-entry store: key of key_row, chain of the rows given (leaf first). */
static void identity(gcert_store *st, const char *key_row, const char *const *rows, size_t n) {
  gcert_store_init(st);
  STACK_OF(X509) *chain = sk_X509_new_null();
  for (size_t i = 0; i < n; i++)
    sk_X509_push(chain, load_cert(rows[i]));
  EVP_PKEY *key = load_key(key_row);
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_store_add_key(st, NULL, key, chain, &err), &err);
  EVP_PKEY_free(key);
  sk_X509_pop_free(chain, X509_free);
}

static gcert_buf file_of(const char *name) {
  gcert_buf b = {0};
  b.data = (unsigned char *)bs_slurp(sw_scratch(name), &b.len);
  assert_non_null(b.data);
  return b;
}

static gcert_buf concat(gcert_buf a, gcert_buf b) {
  gcert_buf out = {malloc(a.len + b.len + 1), a.len + b.len};
  assert_non_null(out.data);
  memcpy(out.data, a.data, a.len);
  memcpy(out.data + a.len, b.data, b.len);
  gcert_buf_free(&a);
  gcert_buf_free(&b);
  return out;
}

static gcert_buf pem_identity(const char *key_row, const char *const *rows, size_t n,
                              const char *password) {
  gcert_store st;
  identity(&st, key_row, rows, n);
  gcert_buf out = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_pem_write(&st, password, &out, &err), &err);
  gcert_store_free(&st);
  return out;
}

static gcert_buf jar_identity(const char *key_row, const char *const *rows, size_t n) {
  gcert_store st;
  identity(&st, key_row, rows, n);
  gcert_buf out = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_sapjar_write(&st, "main.pem", "privateKey.pem", NULL, &out, &err),
                &err);
  gcert_store_free(&st);
  return out;
}

static gcert_buf p12_identity(const char *password) {
  static const char *const rows[] = {"client", "intermediate", "root"};
  gcert_store st;
  identity(&st, "client", rows, 3);
  gcert_buf out = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_pkcs12_write(&st, password, &out, &err), &err);
  gcert_store_free(&st);
  return out;
}

static gcert_buf text(const char *s) {
  gcert_buf b = {(unsigned char *)strdup(s), strlen(s)};
  return b;
}

/* ---- the files of the upload table -------------------------------------------- */

enum {
  F_ROOT_PEM,
  F_INTERMEDIATE_PEM,
  F_ROOT_DER,
  F_EXPIRED_PEM,
  F_CLIENT_CHAIN,    /* client, intermediate: no key */
  F_CLIENT_PEM_KEY,  /* client chain + key */
  F_CLIENT_ENC_PEM,  /* client chain + ENCRYPTED PRIVATE KEY (pem-pass) */
  F_EXPIRED_PEM_KEY, /* server-expired chain + key */
  F_JAR,
  F_JAR_WRONG_ORDER,  /* client, root, intermediate */
  F_JAR_WRONG_SIGNER, /* client, intermediate, root-rotated (names match, signature not) */
  F_JAR_KEY_MISMATCH, /* client chain, server key */
  F_JAR_NO_DESCRIPTOR,
  F_P12,
  F_P12_COPY, /* the same store, for the restricted-character rows */
  F_GARBAGE,
  F_EMPTY,
  F_OVERSIZE,
  F_PKCS7,
  F_COUNT
};

static gcert_buf files[F_COUNT];

static int setup(void **state) {
  bt_setup_catalogue(state);
  static const char *const client_chain[] = {"client", "intermediate"};
  static const char *const client_full[] = {"client", "intermediate", "root"};
  static const char *const wrong_order[] = {"client", "root", "intermediate"};
  static const char *const wrong_signer[] = {"client", "intermediate", "root-rotated"};
  static const char *const expired_chain[] = {"server-expired", "intermediate"};
  files[F_ROOT_PEM] = file_of("root.pem");
  files[F_INTERMEDIATE_PEM] = file_of("intermediate.pem");
  X509 *root = load_cert("root");
  unsigned char *der = NULL;
  int n = i2d_X509(root, &der);
  files[F_ROOT_DER].data = malloc((size_t)n);
  memcpy(files[F_ROOT_DER].data, der, (size_t)n);
  files[F_ROOT_DER].len = (size_t)n;
  OPENSSL_free(der);
  X509_free(root);
  files[F_EXPIRED_PEM] = file_of("server-expired.pem");
  files[F_CLIENT_CHAIN] = file_of("client.chain.pem");
  files[F_CLIENT_PEM_KEY] = concat(file_of("client.chain.pem"), file_of("client.key"));
  files[F_CLIENT_ENC_PEM] = pem_identity("client", client_chain, 2, "pem-pass");
  files[F_EXPIRED_PEM_KEY] = pem_identity("server-expired", expired_chain, 2, NULL);
  files[F_JAR] = jar_identity("client", client_full, 3);
  files[F_JAR_WRONG_ORDER] = jar_identity("client", wrong_order, 3);
  files[F_JAR_WRONG_SIGNER] = jar_identity("client", wrong_signer, 3);
  gcert_buf chain = file_of("client.chain.pem"), key = file_of("client.key"),
            other_key = file_of("server.key"),
            desc = text("certFile=main.pem\nkeyFile=privateKey.pem\n");
  test_zip_member mismatch[] = {{"main.pem", chain.data, 0, chain.len},
                                {"privateKey.pem", other_key.data, 0, other_key.len},
                                {"META-INF/descriptor.properties", desc.data, 0, desc.len}};
  files[F_JAR_KEY_MISMATCH] = test_zip(mismatch, 3);
  test_zip_member nodesc[] = {{"main.pem", chain.data, 0, chain.len},
                              {"privateKey.pem", key.data, 0, key.len}};
  files[F_JAR_NO_DESCRIPTOR] = test_zip(nodesc, 2);
  gcert_buf_free(&chain);
  gcert_buf_free(&key);
  gcert_buf_free(&other_key);
  gcert_buf_free(&desc);
  files[F_P12] = p12_identity("p12-pass");
  files[F_P12_COPY] = p12_identity("p12-pass");
  files[F_GARBAGE] = text("this is not a certificate at all\n");
  files[F_EMPTY] = text("");
  files[F_OVERSIZE].len = (size_t)5 << 20;
  files[F_OVERSIZE].data = malloc(files[F_OVERSIZE].len);
  memset(files[F_OVERSIZE].data, 'A', files[F_OVERSIZE].len);
  files[F_PKCS7] =
      text("-----BEGIN PKCS7-----\nMAsGCSqGSIb3DQEHAqA=\n-----END PKCS7-----\n"); /* any PKCS7 */
  return 0;
}

static int teardown_group(void **state) {
  (void)state;
  for (size_t i = 0; i < F_COUNT; i++)
    gcert_buf_free(&files[i]);
  return 0;
}

/* ---- talking to the simulator --------------------------------------------------- */

/* One simulator at a time: its options stay here for st_sim_restart. */
static void start_sap(st_sim *sim, const char *dir_name, const char *clock, const char *trust) {
  static char dir[BS_PATH_MAX], trust_path[BS_PATH_MAX];
  static const char *args[] = {"--trust", trust_path, NULL};
  snprintf(trust_path, sizeof(trust_path), "%s", trust ? trust : "");
  st_sim_opts opts = {.dir = bt_scratch(dir, dir_name),
                      .profile = "sap",
                      .clock = clock,
                      .reload_s = clock ? 600 : 0,
                      .extra = trust ? args : NULL};
  st_check(st_sim_start(sim, &opts));
}

/* POST a file to a store; returns the status, *description the reply's. */
static long upload(st_sim *sim, const char *base, const char *store, const char *name,
                   const gcert_buf *file, const char *filename, const char *password,
                   char *description, size_t description_len) {
  char path[256];
  snprintf(path, sizeof(path), "%s/%s/certificates", base, store);
  st_part parts[3] = {{"name", name, strlen(name), NULL},
                      {"file", file->data, file->len, filename}};
  size_t n = 2;
  if (password)
    parts[n++] = (st_part){"password", password, strlen(password), NULL};
  st_reply r;
  st_check(st_multipart(sim, "POST", path, parts, n, &r));
  long status = r.status;
  if (description) {
    const char *d = r.json ? json_string_value(json_object_get(r.json, "description")) : NULL;
    snprintf(description, description_len, "%s", d ? d : "");
  }
  assert_true(!r.body || !strstr(r.body, "PRIVATE KEY")); /* never the key */
  st_reply_free(&r);
  return status;
}

/* ---- uploads --------------------------------------------------------------------- */

typedef struct upload_case {
  const char *what;
  const char *base; /* TS or KS */
  const char *name;
  int file;
  const char *filename;
  const char *password;
  long status;
  const char *says; /* in the description (400s) */
} upload_case;

static const upload_case upload_cases[] = {
    {"trust: PEM", TS, "root-ca", F_ROOT_PEM, "root.pem", NULL, 201, NULL},
    {"trust: DER", TS, "der", F_ROOT_DER, "root.cer", NULL, 400, "only a PEM file"},
    {"trust: PKCS#12", TS, "p12", F_P12, "id.p12", NULL, 400, "only a PEM file"},
    {"trust: JAR", TS, "jar", F_JAR, "id.jar", NULL, 400, "only a PEM file"},
    {"trust: PKCS#7", TS, "p7", F_PKCS7, "b.p7b", NULL, 400, "only a PEM file"},
    {"trust: PEM with a key", TS, "withkey", F_CLIENT_PEM_KEY, "id.pem", NULL, 400,
     "not a private key"},
    {"trust: two certificates", TS, "two", F_CLIENT_CHAIN, "two.pem", NULL, 400, "holds 2"},
    {"trust: expired", TS, "old", F_EXPIRED_PEM, "old.pem", NULL, 400,
     "An expired certificate cannot be uploaded"},
    {"trust: reserved sap_", TS, "sap_mine", F_ROOT_PEM, "r.pem", NULL, 400, "reserved prefix"},
    {"trust: reserved hcicertificate", TS, "HCICertificate1", F_ROOT_PEM, "r.pem", NULL, 400,
     "reserved prefix 'hcicertificate'"},
    {"trust: reserved hcimsgcertificate", TS, "hcimsgcertificate_x", F_ROOT_PEM, "r.pem", NULL, 400,
     "reserved prefix 'hcimsgcertificate'"},
    {"trust: garbage", TS, "junk", F_GARBAGE, "junk.pem", NULL, 400, "only a PEM file"},
    {"trust: empty", TS, "empty", F_EMPTY, "empty.pem", NULL, 400, "should be provided"},
    {"trust: oversize", TS, "big", F_OVERSIZE, "big.pem", NULL, 400, "the limit is"},
    {"key: PEM chain + key", KS, "pem-id", F_CLIENT_PEM_KEY, "id.pem", NULL, 201, NULL},
    {"key: encrypted PEM", KS, "enc-id", F_CLIENT_ENC_PEM, "id.pem", "pem-pass", 201, NULL},
    {"key: encrypted PEM, no password", KS, "enc-nopw", F_CLIENT_ENC_PEM, "id.pem", NULL, 400,
     "a password is needed"},
    {"key: encrypted PEM, wrong password", KS, "enc-bad", F_CLIENT_ENC_PEM, "id.pem", "nope", 400,
     "password"},
    {"key: JAR", KS, "jar-id", F_JAR, "id.jar", NULL, 201, NULL},
    {"key: JAR wrong chain order", KS, "jar-order", F_JAR_WRONG_ORDER, "id.jar", NULL, 400,
     "certificate 2"},
    {"key: JAR chain not signed in order", KS, "jar-signer", F_JAR_WRONG_SIGNER, "id.jar", NULL,
     400, "did not issue certificate 2"},
    {"key: JAR key mismatch", KS, "jar-key", F_JAR_KEY_MISMATCH, "id.jar", NULL, 400,
     "does not match"},
    {"key: JAR without descriptor", KS, "jar-nodesc", F_JAR_NO_DESCRIPTOR, "id.jar", NULL, 400,
     "descriptor.properties"},
    {"key: PKCS#12", KS, "p12-id", F_P12, "id.p12", "p12-pass", 201, NULL},
    {"key: PKCS#12 without password", KS, "p12-nopw", F_P12, "id.p12", NULL, 400,
     "needs its password"},
    {"key: PKCS#12 wrong password", KS, "p12-bad", F_P12, "id.p12", "wrong-pass", 400,
     "password of the PKCS#12 file is wrong"},
    {"key: DER alone", KS, "der", F_ROOT_DER, "root.der", NULL, 400, "needs a private key"},
    {"key: PEM certificate alone", KS, "cert", F_ROOT_PEM, "root.cer", NULL, 400,
     "needs a private key"},
    {"key: expired leaf", KS, "old", F_EXPIRED_PEM_KEY, "old.pem", NULL, 400,
     "An expired certificate cannot be uploaded"},
    {"key: reserved", KS, "sap_id", F_JAR, "id.jar", NULL, 400, "reserved prefix 'sap_'"},
    {"key: garbage", KS, "junk", F_GARBAGE, "junk.bin", NULL, 400, "not a key store"},
    {"key: empty", KS, "empty", F_EMPTY, "e.p12", NULL, 400, "should be provided"},
    {"key: oversize", KS, "big", F_OVERSIZE, "big.jar", NULL, 400, "the limit is"},
};

static void test_upload_rules(void **state) {
  (void)state;
  st_sim sim;
  start_sap(&sim, "uploads", NULL, NULL);
  size_t created = 0;
  for (size_t i = 0; i < sizeof(upload_cases) / sizeof(upload_cases[0]); i++) {
    const upload_case *c = &upload_cases[i];
    char description[512];
    long status = upload(&sim, c->base, "s1", c->name, &files[c->file], c->filename, c->password,
                         description, sizeof(description));
    if (status != c->status)
      fail_msg("%s: %ld (%s), expected %ld", c->what, status, description, c->status);
    if (c->says && !strstr(description, c->says))
      fail_msg("%s: \"%s\" does not say \"%s\"", c->what, description, c->says);
    created += status == 201;
    printf("# %-40s %ld %s\n", c->what, status, description);
  }
  /* nothing refused was stored */
  json_t *list = NULL;
  assert_int_equal(200, sw_admin_json(&sim, "GET", TS "/s1/certificates", NULL, &list));
  size_t total = (size_t)json_integer_value(json_object_get(list, "count"));
  json_decref(list);
  assert_int_equal(200, sw_admin_json(&sim, "GET", KS "/s1/certificates", NULL, &list));
  total += (size_t)json_integer_value(json_object_get(list, "count"));
  json_decref(list);
  assert_int_equal(created, total);
  st_check(st_sim_stop(&sim));
}

static void test_restricted_password_characters(void **state) {
  (void)state;
  st_sim sim;
  start_sap(&sim, "restricted", NULL, NULL);
  static const char restricted[] = "!%^&#:/?[]@$'()*+,;=";
  for (size_t i = 0; restricted[i]; i++) {
    char password[32], expected[64], description[512];
    snprintf(password, sizeof(password), "pass%cword", restricted[i]);
    gcert_buf p12 = p12_identity(password); /* a real store under that password */
    long status =
        upload(&sim, KS, "s", "p12", &p12, "id.p12", password, description, sizeof(description));
    gcert_buf_free(&p12);
    snprintf(expected, sizeof(expected), "The password contains the restricted character '%c'",
             restricted[i]);
    if (status != 400 || strcmp(description, expected) != 0)
      fail_msg("'%c': %ld \"%s\"", restricted[i], status, description);
  }
  /* characters outside the list are fine */
  char description[512];
  gcert_buf p12 = p12_identity("pass-word_.~");
  assert_int_equal(201, upload(&sim, KS, "s", "p12", &p12, "id.p12", "pass-word_.~", description,
                               sizeof(description)));
  gcert_buf_free(&p12);
  st_check(st_sim_stop(&sim));
}

/* Same name: overwritten (200), one entry left holding the new content;
 * GET, list, DELETE, and everything survives a restart. */
static void test_overwrite_get_delete_restart(void **state) {
  (void)state;
  st_sim sim;
  start_sap(&sim, "overwrite", NULL, NULL);
  assert_int_equal(201,
                   upload(&sim, TS, "backend", "ca", &files[F_ROOT_PEM], "ca.pem", NULL, NULL, 0));
  assert_int_equal(
      200, upload(&sim, TS, "backend", "ca", &files[F_INTERMEDIATE_PEM], "ca.pem", NULL, NULL, 0));
  assert_int_equal(201, upload(&sim, KS, "gw", "id", &files[F_JAR], "id.jar", NULL, NULL, 0));
  assert_int_equal(200, upload(&sim, KS, "gw", "id", &files[F_P12], "id.p12", "p12-pass", NULL, 0));
  for (int round = 0; round < 2; round++) {
    json_t *list = NULL;
    assert_int_equal(200, sw_admin_json(&sim, "GET", TS "/backend/certificates", NULL, &list));
    assert_int_equal(1, json_integer_value(json_object_get(list, "count")));
    json_t *e = json_array_get(json_object_get(list, "list"), 0);
    assert_non_null(strstr(json_string_value(json_object_get(e, "subject")), "Intermediate"));
    json_decref(list);
    json_t *one = NULL;
    assert_int_equal(200, sw_admin_json(&sim, "GET", TS "/backend/certificates/ca", NULL, &one));
    assert_string_equal("valid", json_string_value(json_object_get(one, "status")));
    assert_non_null(json_object_get(one, "issuer"));
    assert_non_null(json_object_get(one, "serialNumber"));
    assert_non_null(json_object_get(one, "validFrom"));
    assert_non_null(json_object_get(one, "validTo"));
    json_decref(one);
    assert_int_equal(200, sw_admin_json(&sim, "GET", KS "/gw/certificates/id", NULL, &one));
    assert_string_equal("pkcs12", json_string_value(json_object_get(one, "format")));
    assert_int_equal(3, json_integer_value(json_object_get(one, "chainLength")));
    assert_non_null(strstr(json_string_value(json_object_get(one, "subject")), "gatecert client"));
    json_decref(one);
    assert_int_equal(200, sw_admin_json(&sim, "GET", TS, NULL, &list));
    assert_int_equal(1, json_integer_value(json_object_get(list, "count")));
    e = json_array_get(json_object_get(list, "list"), 0);
    assert_string_equal("backend", json_string_value(json_object_get(e, "name")));
    assert_int_equal(1, json_integer_value(json_object_get(e, "certificateCount")));
    json_decref(list);
    if (round == 0)
      st_check(st_sim_restart(&sim));
  }
  assert_int_equal(404, sw_admin_json(&sim, "GET", TS "/backend/certificates/nope", NULL, NULL));
  assert_int_equal(200, sw_admin_json(&sim, "DELETE", TS "/backend/certificates/ca", NULL, NULL));
  assert_int_equal(404, sw_admin_json(&sim, "DELETE", TS "/backend/certificates/ca", NULL, NULL));
  assert_int_equal(404, sw_admin_json(&sim, "GET", TS "/backend/certificates/ca", NULL, NULL));
  assert_int_equal(200, sw_admin_json(&sim, "DELETE", KS "/gw/certificates/id", NULL, NULL));
  assert_int_equal(404, sw_admin_json(&sim, "DELETE", KS "/gw/certificates/id", NULL, NULL));
  st_check(st_sim_stop(&sim));
}

static void test_wso2_profile_has_no_sap_routes(void **state) {
  (void)state;
  st_sim sim;
  char dir[BS_PATH_MAX];
  st_sim_opts opts = {.dir = bt_scratch(dir, "wso2")};
  st_check(st_sim_start(&sim, &opts));
  assert_int_equal(404, upload(&sim, TS, "s", "ca", &files[F_ROOT_PEM], "ca.pem", NULL, NULL, 0));
  assert_int_equal(404, sw_admin_json(&sim, "GET", TS, NULL, NULL));
  assert_int_equal(404, sw_admin_json(&sim, "GET", PROV, NULL, NULL));
  st_check(st_sim_stop(&sim));
}

typedef struct route_case {
  const char *method;
  const char *path;
  long status;
} route_case;

/* Paths and methods that are not resources: specific answers, nothing stored. */
static void test_routes(void **state) {
  (void)state;
  st_sim sim;
  start_sap(&sim, "routes", NULL, NULL);
  static const route_case cases[] = {
      {"GET", "/sap/v1/", 404},
      {"GET", "/sap/v1/nothing", 404},
      {"GET", "/sap/v1/truststoresx", 404},
      {"GET", TS "/s", 404},
      {"GET", TS "/s/other", 404},
      {"GET", TS "/a%2Fb/certificates", 400},
      {"GET", TS "/a%20b/certificates", 400},
      {"GET", TS "/s/certificates/a%00b", 400},
      {"GET", TS "/s/certificates/a/b", 404},
      {"GET", TS "/s/certificates/nope", 404},
      {"GET", TS "/s/certificates", 200},
      {"PUT", TS "/s/certificates", 405},
      {"PUT", TS "/s/certificates/x", 405},
      {"DELETE", TS, 405},
      {"POST", TS "/s/certificates", 400}, /* not multipart */
      {"POST", KS "/s/certificates", 400},
      {"GET", KS, 200},
      {"GET", PROV, 200},
      {"PUT", PROV, 405},
      {"GET", PROV "/nope", 404},
      {"POST", PROV, 400}, /* no body */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    long status = sw_admin_json(&sim, cases[i].method, cases[i].path, NULL, NULL);
    if (status != cases[i].status)
      fail_msg("%s %s: %ld, expected %ld", cases[i].method, cases[i].path, status, cases[i].status);
  }
  st_check(st_sim_stop(&sim));
}

typedef struct provider_case {
  const char *body;
  long status;
} provider_case;

static void test_provider_validation(void **state) {
  (void)state;
  st_sim sim;
  start_sap(&sim, "providers", NULL, NULL);
  assert_int_equal(201, upload(&sim, TS, "ts", "ca", &files[F_ROOT_PEM], "ca.pem", NULL, NULL, 0));
  assert_int_equal(201, upload(&sim, KS, "ks", "id", &files[F_JAR], "id.jar", NULL, NULL, 0));
  static const provider_case cases[] = {
      {"{\"name\":\"b1\",\"host\":\"localhost\",\"port\":9443,\"trustStore\":\"ts\","
       "\"keyStore\":\"ks\",\"keyAlias\":\"id\"}",
       201},
      {"{\"name\":\"b1\",\"host\":\"localhost\",\"port\":9443,\"trustStore\":\"ts\"}", 200},
      {"{\"name\":\"b2\",\"host\":\"LOCALHOST\",\"port\":9443}", 409}, /* b1 serves it */
      {"{\"name\":\"b2\",\"host\":\"localhost\",\"port\":9444,\"trustStore\":\"none\"}", 400},
      {"{\"name\":\"b2\",\"host\":\"localhost\",\"port\":9444,\"keyStore\":\"ks\"}", 400},
      {"{\"name\":\"b2\",\"host\":\"localhost\",\"port\":9444,\"keyStore\":\"ks\","
       "\"keyAlias\":\"nope\"}",
       400},
      {"{\"name\":\"b2\",\"host\":\"localhost\",\"port\":0}", 400},
      {"{\"name\":\"b2\",\"host\":\"local host\",\"port\":9444}", 400},
      {"{\"name\":\"b2\",\"host\":\"localhost\",\"port\":9444,\"extra\":1}", 400},
      {"{\"name\":\"\",\"host\":\"localhost\",\"port\":9444}", 400},
      {"[1,2]", 400},
      {"{not json", 400},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    long status = sw_admin_json(&sim, "POST", PROV, cases[i].body, NULL);
    if (status != cases[i].status)
      fail_msg("%s: %ld, expected %ld", cases[i].body, status, cases[i].status);
  }
  json_t *p = NULL;
  assert_int_equal(200, sw_admin_json(&sim, "GET", PROV "/b1", NULL, &p));
  assert_string_equal("ts", json_string_value(json_object_get(p, "trustStore")));
  assert_null(json_object_get(p, "keyStore"));
  json_decref(p);
  st_check(st_sim_restart(&sim));
  assert_int_equal(200, sw_admin_json(&sim, "GET", PROV, NULL, &p));
  assert_int_equal(1, json_integer_value(json_object_get(p, "count")));
  json_decref(p);
  assert_int_equal(200, sw_admin_json(&sim, "DELETE", PROV "/b1", NULL, NULL));
  assert_int_equal(404, sw_admin_json(&sim, "DELETE", PROV "/b1", NULL, NULL));
  assert_int_equal(404, sw_admin_json(&sim, "GET", PROV "/b1", NULL, NULL));
  st_check(st_sim_stop(&sim));
}

/* ---- end to end -------------------------------------------------------------------- */

/* The fake clock starts a day after now (UTC): the catalogue (valid from an
 * hour before now, for a year) is valid both for the simulator and for the
 * backend, which runs in real time. */
static void start_world_sim(sw_world *w, const char *dir, const char *trust) {
  static char clock[32];
  time_t start = time(NULL) + 86400;
  struct tm tm;
  gmtime_r(&start, &tm);
  strftime(clock, sizeof(clock), "%Y-%m-%d %H:%M:%S", &tm);
  start_sap(&w->sim, dir, clock, trust);
  w->t0 = st_status_i64(&w->sim, "started_ms");
  assert_true(w->t0 > 0);
}

static void api(sw_world *w, const char *name) {
  char url[128], context[80], id[64];
  snprintf(url, sizeof(url), "https://localhost:%d", w->port);
  snprintf(context, sizeof(context), "/%s", name);
  assert_int_equal(201, st_create_api(&w->sim, name, context, "1.0", url, id));
}

static long call(sw_world *w, const char *name) { return sw_get(&w->sim, name, "101500"); }

/* Requests the backend served, and the SHA-256 of the last client certificate. */
static size_t served(sw_world *w, char sha[65]) {
  json_t *e = NULL;
  size_t n = sw_served(w->report, &e);
  const char *s = e ? bs_json_str(e, "client_cert.sha256") : NULL;
  snprintf(sha, 65, "%s", s ? s : "");
  json_decref(e);
  return n;
}

/* sender.pending_change of /_sim/status. */
static int pending(sw_world *w) {
  json_t *status = NULL;
  st_check(st_status(&w->sim, &status));
  int dirty = json_is_true(bs_json_at(status, "sender.pending_change"));
  json_decref(status);
  return dirty;
}

static void tick(sw_world *w, int64_t at_s) {
  st_check(st_clock_set(&w->sim, w->t0 + at_s * SECOND));
}

static void test_key_store_identity_reaches_backend(void **state) {
  (void)state;
  sw_world w = {0};
  char extra[BS_PATH_MAX + 64], sha[65], expected[65];
  snprintf(extra, sizeof(extra), ",client-auth=require,client-ca=%s", sw_scratch("root.pem"));
  sw_world_backend(&w, "needs-client", "server", extra);
  start_world_sim(&w, "e2e-identity", sw_scratch("root.pem"));
  api(&w, "mtls");
  assert_int_equal(500, call(&w, "mtls")); /* the gateway's own certificate: refused */
  assert_int_equal(
      201, upload(&w.sim, KS, "gateway", "client-id", &files[F_JAR], "id.jar", NULL, NULL, 0));
  assert_int_equal(500, call(&w, "mtls")); /* no provider yet */
  char body[256];
  snprintf(body, sizeof(body),
           "{\"name\":\"backend\",\"host\":\"localhost\",\"port\":%d,\"keyStore\":\"gateway\","
           "\"keyAlias\":\"client-id\"}",
           w.port);
  assert_int_equal(201, sw_admin_json(&w.sim, "POST", PROV, body, NULL));
  assert_true(pending(&w));
  tick(&w, 599);
  assert_int_equal(500, call(&w, "mtls")); /* before the tick */
  assert_int_equal(0, served(&w, sha));
  tick(&w, 601);
  assert_int_equal(200, call(&w, "mtls"));
  X509 *client = load_cert("client");
  bs_cert_sha256(client, expected);
  X509_free(client);
  assert_int_equal(1, served(&w, sha));
  assert_string_equal(expected, sha);
  assert_true(st_log_contains(&w.sim, "1 API provider(s)"));

  /* a restart builds its first generation with the provider */
  st_check(st_sim_restart(&w.sim));
  w.t0 = st_status_i64(&w.sim, "started_ms");
  assert_int_equal(200, call(&w, "mtls"));
  assert_int_equal(2, served(&w, sha));
  assert_string_equal(expected, sha);

  /* the entry overwritten with an identity the backend does not trust:
   * pending until the next tick, then refused */
  static const char *const untrusted[] = {"client-untrusted", "untrusted-root"};
  gcert_buf other = pem_identity("client-untrusted", untrusted, 2, NULL);
  assert_int_equal(200,
                   upload(&w.sim, KS, "gateway", "client-id", &other, "other.pem", NULL, NULL, 0));
  gcert_buf_free(&other);
  assert_true(pending(&w));
  assert_int_equal(200, call(&w, "mtls"));
  tick(&w, 601);
  assert_int_equal(500, call(&w, "mtls"));
  assert_int_equal(3, served(&w, sha));
  st_check(st_sim_stop(&w.sim));
}

static void test_provider_trust_store_reaches_self_signed_backend(void **state) {
  (void)state;
  sw_world w = {0};
  char sha[65];
  sw_world_backend(&w, "self", "self-signed", NULL);
  start_world_sim(&w, "e2e-trust", NULL); /* no base trust at all */
  api(&w, "self");
  assert_int_equal(500, call(&w, "self"));
  gcert_buf self = file_of("self-signed.pem");
  assert_int_equal(201, upload(&w.sim, TS, "backend-ts", "self", &self, "self.pem", NULL, NULL, 0));
  gcert_buf_free(&self);
  assert_int_equal(500, call(&w, "self")); /* a trust store alone is no provider */
  char body[256];
  snprintf(body, sizeof(body),
           "{\"name\":\"self\",\"host\":\"localhost\",\"port\":%d,\"trustStore\":\"backend-ts\"}",
           w.port);
  assert_int_equal(201, sw_admin_json(&w.sim, "POST", PROV, body, NULL));
  assert_int_equal(500, call(&w, "self")); /* before the tick */
  tick(&w, 601);
  assert_int_equal(200, call(&w, "self"));
  assert_int_equal(1, served(&w, sha));
  /* deleting the certificate the provider uses: unreachable at the next tick */
  assert_int_equal(200,
                   sw_admin_json(&w.sim, "DELETE", TS "/backend-ts/certificates/self", NULL, NULL));
  assert_true(pending(&w));
  assert_int_equal(200, call(&w, "self"));
  tick(&w, 1201);
  assert_int_equal(500, call(&w, "self"));
  assert_int_equal(2, served(&w, sha));
  st_check(st_sim_stop(&w.sim));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_upload_rules, bs_teardown),
      cmocka_unit_test_teardown(test_restricted_password_characters, bs_teardown),
      cmocka_unit_test_teardown(test_overwrite_get_delete_restart, bs_teardown),
      cmocka_unit_test_teardown(test_wso2_profile_has_no_sap_routes, bs_teardown),
      cmocka_unit_test_teardown(test_routes, bs_teardown),
      cmocka_unit_test_teardown(test_provider_validation, bs_teardown),
      cmocka_unit_test_teardown(test_key_store_identity_reaches_backend, bs_teardown),
      cmocka_unit_test_teardown(test_provider_trust_store_reaches_self_signed_backend, bs_teardown),
  };
  return bt_run_curl_tests(tests, setup, teardown_group);
}
