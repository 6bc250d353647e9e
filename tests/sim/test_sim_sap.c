/* test_sim_sap.c - the sap profiles' trust stores, key stores and API
 * providers, through a real gatecert-sim process, its OData service
 * (POST CertificateStores('s')/certificates with the file as base64 content,
 * a bearer token from /oauth/token) and real TLS backends.
 *
 * Uploads are one data-driven table run under sap-2023 and sap-2026: every
 * rule of an upload (formats by content, names, expiry, the key store JAR's
 * chain order and key, PKCS#12 passwords and each restricted character of
 * seed 004, encrypted PEM keys, garbage, empty and oversize files) is one row
 * with the status and a piece of the message each profile must answer (rule
 * sap-formats: sap.formats-2023 from seed 004, sap.formats-2026 from SAP's
 * current page). The files are made here from the catalogue with the certs/
 * writers (PEM, PKCS#12, key store JAR) or, for hostile JARs, with libzip
 * directly. The OData envelopes, references, provider validation and hostile
 * requests are test_sim_odata.c's.
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

#define TS     "TRUSTSTORE"
#define KS     "KEYSTORE"
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
static void start_profile(st_sim *sim, const char *profile, const char *dir_name, const char *clock,
                          const char *trust) {
  static char dir[BS_PATH_MAX], trust_path[BS_PATH_MAX];
  static const char *args[] = {"--trust", trust_path, NULL};
  snprintf(trust_path, sizeof(trust_path), "%s", trust ? trust : "");
  st_sim_opts opts = {.dir = bt_scratch(dir, dir_name),
                      .profile = profile,
                      .clock = clock,
                      .reload_s = clock ? 600 : 0,
                      .extra = trust ? args : NULL};
  st_check(st_sim_start(sim, &opts));
}

static void start_sap(st_sim *sim, const char *dir_name, const char *clock, const char *trust) {
  start_profile(sim, "sap-2023", dir_name, clock, trust);
}

/* A call to the OData service; the status (json: the body, may be NULL). */
static long odata(st_sim *sim, const char *method, const char *path, const char *body,
                  json_t **json) {
  st_reply r;
  st_check(st_odata(sim, method, path, body, &r));
  long status = r.status;
  if (json)
    *json = json_incref(r.json);
  st_reply_free(&r);
  return status;
}

/* d.results of a collection answer (borrowed). */
static json_t *results(json_t *reply) {
  return json_object_get(json_object_get(reply, "d"), "results");
}

/* POST a file (base64) to the store `store` of type base (created when
 * missing, as a client does before adding to it); returns the status,
 * *description the error's message. */
static long upload(st_sim *sim, const char *base, const char *store, const char *name,
                   const gcert_buf *file, const char *filename, const char *password,
                   char *description, size_t description_len) {
  (void)filename; /* the service reads the bytes, not a file name */
  char path[256], *body = NULL;
  snprintf(path, sizeof(path), "/CertificateStores('%s')", store);
  if (odata(sim, "GET", path, NULL, NULL) == 404) {
    json_t *create =
        json_pack("{s:s, s:s, s:[]}", "name", store, "storeType", base, "certificates");
    body = json_dumps(create, JSON_COMPACT);
    json_decref(create);
    assert_int_equal(201, odata(sim, "POST", "/CertificateStores", body, NULL));
    free(body);
  }
  char *b64 = malloc(4 * ((file->len + 2) / 3) + 1);
  assert_non_null(b64);
  EVP_EncodeBlock((unsigned char *)b64, file->data, (int)file->len);
  json_t *cert = json_pack("{s:s, s:s}", "name", name, "content", b64);
  free(b64);
  if (password)
    json_object_set_new(cert, "password", json_string(password));
  body = json_dumps(cert, JSON_COMPACT);
  json_decref(cert);
  snprintf(path, sizeof(path), "/CertificateStores('%s')/certificates", store);
  st_reply r;
  st_check(st_odata(sim, "POST", path, body, &r));
  free(body);
  long status = r.status;
  if (description) {
    const char *d =
        r.json ? json_string_value(json_object_get(
                     json_object_get(json_object_get(r.json, "error"), "message"), "value"))
               : NULL;
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
  long status;      /* sap-2023 (sap.formats-2023) */
  const char *says; /* in the message (400s) */
  long status_2026; /* sap-2026 (sap.formats-2026); 0: as sap-2023 */
  const char *says_2026;
} upload_case;

#define ONLY_P12 "only a PKCS#12 file"
#define PEM_DER  "a PEM or DER certificate"

static const upload_case upload_cases[] = {
    {"trust: PEM", TS, "root-ca", F_ROOT_PEM, "root.pem", NULL, 201, NULL, 0, NULL},
    {"trust: DER", TS, "der", F_ROOT_DER, "root.cer", NULL, 400, "only a PEM file", 201, NULL},
    {"trust: PKCS#12", TS, "p12", F_P12, "id.p12", NULL, 400, "only a PEM file", 400, PEM_DER},
    {"trust: JAR", TS, "jar", F_JAR, "id.jar", NULL, 400, "only a PEM file", 400, PEM_DER},
    {"trust: PKCS#7", TS, "p7", F_PKCS7, "b.p7b", NULL, 400, "only a PEM file", 400, PEM_DER},
    {"trust: PEM with a key", TS, "withkey", F_CLIENT_PEM_KEY, "id.pem", NULL, 400,
     "not a private key", 0, NULL},
    {"trust: two certificates", TS, "two", F_CLIENT_CHAIN, "two.pem", NULL, 400, "holds 2", 0,
     NULL},
    {"trust: expired", TS, "old", F_EXPIRED_PEM, "old.pem", NULL, 400,
     "An expired certificate cannot be uploaded", 0, NULL},
    {"trust: reserved sap_", TS, "sap_mine", F_ROOT_PEM, "r.pem", NULL, 400, "reserved prefix", 0,
     NULL},
    {"trust: reserved hcicertificate", TS, "HCICertificate1", F_ROOT_PEM, "r.pem", NULL, 400,
     "reserved prefix 'hcicertificate'", 0, NULL},
    {"trust: reserved hcimsgcertificate", TS, "hcimsgcertificate_x", F_ROOT_PEM, "r.pem", NULL, 400,
     "reserved prefix 'hcimsgcertificate'", 0, NULL},
    {"trust: garbage", TS, "junk", F_GARBAGE, "junk.pem", NULL, 400, "only a PEM file", 400,
     PEM_DER},
    {"trust: empty", TS, "empty", F_EMPTY, "empty.pem", NULL, 400, "should be provided", 0, NULL},
    {"trust: oversize", TS, "big", F_OVERSIZE, "big.pem", NULL, 400, "the limit is", 0, NULL},
    {"key: PEM chain + key", KS, "pem-id", F_CLIENT_PEM_KEY, "id.pem", NULL, 201, NULL, 400,
     ONLY_P12},
    {"key: encrypted PEM", KS, "enc-id", F_CLIENT_ENC_PEM, "id.pem", "pem-pass", 201, NULL, 400,
     ONLY_P12},
    {"key: encrypted PEM, no password", KS, "enc-nopw", F_CLIENT_ENC_PEM, "id.pem", NULL, 400,
     "a password is needed", 400, ONLY_P12},
    {"key: encrypted PEM, wrong password", KS, "enc-bad", F_CLIENT_ENC_PEM, "id.pem", "nope", 400,
     "password", 400, ONLY_P12},
    {"key: JAR", KS, "jar-id", F_JAR, "id.jar", NULL, 201, NULL, 400, ONLY_P12},
    {"key: JAR wrong chain order", KS, "jar-order", F_JAR_WRONG_ORDER, "id.jar", NULL, 400,
     "certificate 2", 400, ONLY_P12},
    {"key: JAR chain not signed in order", KS, "jar-signer", F_JAR_WRONG_SIGNER, "id.jar", NULL,
     400, "did not issue certificate 2", 400, ONLY_P12},
    {"key: JAR key mismatch", KS, "jar-key", F_JAR_KEY_MISMATCH, "id.jar", NULL, 400,
     "does not match", 400, ONLY_P12},
    {"key: JAR without descriptor", KS, "jar-nodesc", F_JAR_NO_DESCRIPTOR, "id.jar", NULL, 400,
     "descriptor.properties", 400, NULL},
    {"key: PKCS#12", KS, "p12-id", F_P12, "id.p12", "p12-pass", 201, NULL, 0, NULL},
    {"key: PKCS#12 without password", KS, "p12-nopw", F_P12, "id.p12", NULL, 400,
     "needs its password", 0, NULL},
    {"key: PKCS#12 wrong password", KS, "p12-bad", F_P12, "id.p12", "wrong-pass", 400,
     "password of the PKCS#12 file is wrong", 0, NULL},
    {"key: DER alone", KS, "der", F_ROOT_DER, "root.der", NULL, 400, "needs a private key", 400,
     ONLY_P12},
    {"key: PEM certificate alone", KS, "cert", F_ROOT_PEM, "root.cer", NULL, 400,
     "needs a private key", 400, ONLY_P12},
    {"key: expired leaf", KS, "old", F_EXPIRED_PEM_KEY, "old.pem", NULL, 400,
     "An expired certificate cannot be uploaded", 400, ONLY_P12},
    {"key: reserved", KS, "sap_id", F_JAR, "id.jar", NULL, 400, "reserved prefix 'sap_'", 0, NULL},
    {"key: garbage", KS, "junk", F_GARBAGE, "junk.bin", NULL, 400, "not a key store", 400,
     ONLY_P12},
    {"key: empty", KS, "empty", F_EMPTY, "e.p12", NULL, 400, "should be provided", 0, NULL},
    {"key: oversize", KS, "big", F_OVERSIZE, "big.jar", NULL, 400, "the limit is", 0, NULL},
};

/* The count of d.results at path. */
static size_t count_at(st_sim *sim, const char *path) {
  json_t *list = NULL;
  assert_int_equal(200, odata(sim, "GET", path, NULL, &list));
  size_t n = json_array_size(results(list));
  json_decref(list);
  return n;
}

static void test_upload_rules(void **state) {
  (void)state;
  static const char *const profiles[] = {"sap-2023", "sap-2026"};
  for (size_t p = 0; p < 2; p++) {
    st_sim sim;
    char dir[32];
    snprintf(dir, sizeof(dir), "uploads-%s", profiles[p]);
    start_profile(&sim, profiles[p], dir, NULL, NULL);
    size_t created = 0;
    for (size_t i = 0; i < sizeof(upload_cases) / sizeof(upload_cases[0]); i++) {
      const upload_case *c = &upload_cases[i];
      long want = p == 1 && c->status_2026 ? c->status_2026 : c->status;
      const char *says = p == 1 && c->status_2026 ? c->says_2026 : c->says;
      char description[512];
      long status =
          upload(&sim, c->base, strcmp(c->base, TS) == 0 ? "ts1" : "ks1", c->name, &files[c->file],
                 c->filename, c->password, description, sizeof(description));
      if (status != want)
        fail_msg("%s, %s: %ld (%s), expected %ld", profiles[p], c->what, status, description, want);
      if (says && !strstr(description, says))
        fail_msg("%s, %s: \"%s\" does not say \"%s\"", profiles[p], c->what, description, says);
      created += status == 201;
      printf("# %-9s %-40s %ld %s\n", profiles[p], c->what, status, description);
    }
    /* nothing refused was stored */
    size_t total = count_at(&sim, "/CertificateStores('ts1')/certificates") +
                   count_at(&sim, "/CertificateStores('ks1')/certificates");
    assert_int_equal(created, total);
    assert_int_equal(created, count_at(&sim, "/Certificates"));
    st_check(st_sim_stop(&sim));
  }
}

static void test_restricted_password_characters(void **state) {
  (void)state;
  static const char *const profiles[] = {"sap-2023", "sap-2026"};
  static const char restricted[] = "!%^&#:/?[]@$'()*+,;=";
  for (size_t p = 0; p < 2; p++) {
    st_sim sim;
    char dir[32];
    snprintf(dir, sizeof(dir), "restricted-%s", profiles[p]);
    start_profile(&sim, profiles[p], dir, NULL, NULL);
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
        fail_msg("%s '%c': %ld \"%s\"", profiles[p], restricted[i], status, description);
    }
    /* characters outside the list are fine */
    char description[512];
    gcert_buf p12 = p12_identity("pass-word_.~");
    assert_int_equal(201, upload(&sim, KS, "s", "p12", &p12, "id.p12", "pass-word_.~", description,
                                 sizeof(description)));
    gcert_buf_free(&p12);
    st_check(st_sim_stop(&sim));
  }
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
    assert_int_equal(200,
                     odata(&sim, "GET", "/CertificateStores('backend')/certificates", NULL, &list));
    assert_int_equal(1, json_array_size(results(list)));
    json_t *e = json_array_get(results(list), 0);
    assert_non_null(strstr(json_string_value(json_object_get(e, "subject")), "Intermediate"));
    json_decref(list);
    json_t *one = NULL;
    assert_int_equal(
        200, odata(&sim, "GET", "/Certificates(name='ca',storeName='backend')", NULL, &one));
    json_t *d = json_object_get(one, "d");
    assert_true(json_is_true(json_object_get(d, "isValid")));
    assert_non_null(json_object_get(d, "issuer"));
    assert_non_null(json_object_get(d, "serialNumber"));
    assert_non_null(strstr(json_string_value(json_object_get(d, "validFrom")), "/Date("));
    assert_non_null(strstr(json_string_value(json_object_get(d, "expiryDate")), "/Date("));
    json_decref(one);
    assert_int_equal(200,
                     odata(&sim, "GET", "/Certificates(name='id',storeName='gw')", NULL, &one));
    d = json_object_get(one, "d");
    assert_string_equal("PKCS12", json_string_value(json_object_get(d, "format")));
    assert_int_equal(3, json_integer_value(json_object_get(d, "chainLength")));
    assert_non_null(strstr(json_string_value(json_object_get(d, "subject")), "gatecert client"));
    assert_true(json_is_null(json_object_get(d, "password")));
    json_decref(one);
    assert_int_equal(200,
                     odata(&sim, "GET", "/CertificateStores?$expand=certificates", NULL, &list));
    assert_int_equal(2, json_array_size(results(list)));
    e = json_array_get(results(list), 0);
    assert_string_equal("backend", json_string_value(json_object_get(e, "name")));
    assert_string_equal("TRUSTSTORE", json_string_value(json_object_get(e, "storeType")));
    assert_int_equal(
        1, json_array_size(json_object_get(json_object_get(e, "certificates"), "results")));
    json_decref(list);
    if (round == 0)
      st_check(st_sim_restart(&sim));
  }
  assert_int_equal(
      404, odata(&sim, "GET", "/Certificates(name='nope',storeName='backend')", NULL, NULL));
  assert_int_equal(
      204, odata(&sim, "DELETE", "/Certificates(name='ca',storeName='backend')", NULL, NULL));
  assert_int_equal(
      404, odata(&sim, "DELETE", "/Certificates(name='ca',storeName='backend')", NULL, NULL));
  assert_int_equal(404,
                   odata(&sim, "GET", "/Certificates(name='ca',storeName='backend')", NULL, NULL));
  assert_int_equal(204,
                   odata(&sim, "DELETE", "/Certificates(name='id',storeName='gw')", NULL, NULL));
  assert_int_equal(404,
                   odata(&sim, "DELETE", "/Certificates(name='id',storeName='gw')", NULL, NULL));
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
           "{\"name\":\"backend\",\"host\":\"localhost\",\"port\":%d,\"useSSL\":true,"
           "\"sslInfo\":{\"enabled\":true,\"clientAuthEnabled\":true,\"keyStore\":\"gateway\","
           "\"keyAlias\":\"client-id\"}}",
           w.port);
  assert_int_equal(201, odata(&w.sim, "POST", "/APIProviders", body, NULL));
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
           "{\"name\":\"self\",\"host\":\"localhost\",\"port\":%d,\"useSSL\":true,"
           "\"sslInfo\":{\"enabled\":true,\"trustStore\":\"backend-ts\"}}",
           w.port);
  assert_int_equal(201, odata(&w.sim, "POST", "/APIProviders", body, NULL));
  assert_int_equal(500, call(&w, "self")); /* before the tick */
  tick(&w, 601);
  assert_int_equal(200, call(&w, "self"));
  assert_int_equal(1, served(&w, sha));
  /* deleting the certificate the provider uses: unreachable at the next tick */
  assert_int_equal(204, odata(&w.sim, "DELETE", "/Certificates(name='self',storeName='backend-ts')",
                              NULL, NULL));
  assert_true(pending(&w));
  assert_int_equal(200, call(&w, "self"));
  tick(&w, 1201);
  assert_int_equal(500, call(&w, "self"));
  assert_int_equal(2, served(&w, sha));
  st_check(st_sim_stop(&w.sim));
}

/* A provider naming its trust store through a reference: the reference is
 * resolved at the provider's next use, so repointing it to another store
 * reaches the backend at the next sender tick, not before. */
static void test_reference_repointed_at_the_tick(void **state) {
  (void)state;
  sw_world w = {0};
  char sha[65], body[320];
  sw_world_backend(&w, "self", "self-signed", NULL);
  start_world_sim(&w, "e2e-ref", NULL);
  api(&w, "self");
  gcert_buf self = file_of("self-signed.pem");
  assert_int_equal(201, upload(&w.sim, TS, "ts-old", "ca", &files[F_ROOT_PEM], "ca.pem", NULL, NULL,
                               0)); /* not the backend's issuer */
  assert_int_equal(201, upload(&w.sim, TS, "ts-new", "self", &self, "self.pem", NULL, NULL, 0));
  gcert_buf_free(&self);
  assert_int_equal(201, odata(&w.sim, "POST", "/CertificateStoreReferences",
                              "{\"name\":\"backend\",\"certificateStoreName\":\"ts-old\"}", NULL));
  snprintf(body, sizeof(body),
           "{\"name\":\"self\",\"host\":\"localhost\",\"port\":%d,\"useSSL\":true,"
           "\"sslInfo\":{\"enabled\":true,\"trustStore\":\"ref://backend\"}}",
           w.port);
  assert_int_equal(201, odata(&w.sim, "POST", "/APIProviders", body, NULL));
  tick(&w, 601);
  assert_int_equal(500, call(&w, "self")); /* ts-old does not trust it */
  assert_int_equal(204, odata(&w.sim, "PUT", "/CertificateStoreReferences('backend')",
                              "{\"certificateStoreName\":\"ts-new\"}", NULL));
  assert_true(pending(&w));
  assert_int_equal(500, call(&w, "self")); /* before the tick */
  assert_int_equal(0, served(&w, sha));
  tick(&w, 1201);
  assert_int_equal(200, call(&w, "self"));
  assert_int_equal(1, served(&w, sha));
  assert_true(st_log_contains(&w.sim, "certificate store reference 'backend' now -> ts-new; used "
                                      "by an API provider"));
  st_check(st_sim_stop(&w.sim));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_upload_rules, bs_teardown),
      cmocka_unit_test_teardown(test_restricted_password_characters, bs_teardown),
      cmocka_unit_test_teardown(test_overwrite_get_delete_restart, bs_teardown),
      cmocka_unit_test_teardown(test_key_store_identity_reaches_backend, bs_teardown),
      cmocka_unit_test_teardown(test_provider_trust_store_reaches_self_signed_backend, bs_teardown),
      cmocka_unit_test_teardown(test_reference_repointed_at_the_tick, bs_teardown),
  };
  return bt_run_curl_tests(tests, setup, teardown_group);
}
