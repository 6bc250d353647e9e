/* test_sim_odata.c - the sap profiles' OData service (simulator/README.md,
 * "The sap profiles: SAP API Management's OData service") through a real
 * gatecert-sim process and libcurl, one table per concern:
 *
 *   - access: no, wrong and right credentials, bearer tokens, and CSRF for
 *     basic-auth writes (a write without the token and its cookie is 403 with
 *     X-CSRF-Token: Required and changes nothing);
 *   - /oauth/token: the grant, the client credentials as basic or form
 *     fields, the grant in the query as SAP's Piper steps send it, and a
 *     token's expiry on the fake clock;
 *   - entities: one sequence over CertificateStores (deep insert),
 *     Certificates, CertificateStoreReferences (SAP's documented codes) and
 *     APIProviders (sslInfo, ref://), each row the status, the error code and
 *     a piece of the body it must answer;
 *   - hostile requests: bad JSON, bad base64, wrong types, unknown
 *     properties, key predicates with injected quotes, unsupported query
 *     options - each a specific 400, and the service's collections unchanged;
 *   - the profiles: wso2 answers 404 for all of it, the retired /sap/v1 and
 *     the Publisher endpoint-certificate paths answer 404 naming the service,
 *     /_sim/status names sap-2023 and sap-2026 (sap is sap-2026);
 *   - the open-source clients' requests, copied (see test_client_shapes).
 */
#include "support.h"
#include "backend_fixture.h"
#include "backend_support.h"
#include "sim_fixture.h"
#include "sim_world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define SECOND ((int64_t)1000)

/* ---- files, as base64 ------------------------------------------------------------ */

static char *b64_of(const unsigned char *data, size_t len) {
  char *out = malloc(4 * ((len + 2) / 3) + 1);
  assert_non_null(out);
  EVP_EncodeBlock((unsigned char *)out, data, (int)len);
  return out;
}

static char *b64_file(const char *name) {
  size_t len = 0;
  char *data = bs_slurp(sw_scratch(name), &len);
  assert_non_null(data);
  char *out = b64_of((unsigned char *)data, len);
  free(data);
  return out;
}

/* base64 of the catalogue's root (PEM, DER), a PKCS#12 of the client chain
 * (password p12-pass) and text that is no certificate. */
enum { B_ROOT, B_ROOT_DER, B_P12, B_JUNK, B_COUNT };
static char *b64[B_COUNT];

static int setup(void **state) {
  bt_setup_catalogue(state);
  b64[B_ROOT] = b64_file("root.pem");
  gcert_store st;
  gcert_store_init(&st);
  gcert_error err = {0};
  assert_status(GCERT_OK,
                gcert_read_file(sw_scratch("root.pem"), GCERT_FORMAT_PEM, NULL, &st, &err), &err);
  unsigned char *der = NULL;
  int n = i2d_X509(sk_X509_value(st.entries[0].chain, 0), &der);
  b64[B_ROOT_DER] = b64_of(der, (size_t)n);
  OPENSSL_free(der);
  gcert_store_free(&st);
  gcert_store id;
  gcert_store_init(&id);
  assert_status(GCERT_OK,
                gcert_read_file(sw_scratch("client.chain.pem"), GCERT_FORMAT_PEM, NULL, &id, &err),
                &err);
  size_t key_len = 0;
  char *key_pem = bs_slurp(sw_scratch("client.key"), &key_len);
  EVP_PKEY *key = NULL;
  assert_status(GCERT_OK, gcert_pem_read_key((unsigned char *)key_pem, key_len, NULL, &key, &err),
                &err);
  free(key_pem);
  gcert_store one;
  gcert_store_init(&one);
  STACK_OF(X509) *chain = sk_X509_new_null(); /* client, intermediate: one entry each */
  for (size_t i = 0; i < id.count; i++) {
    X509 *c = sk_X509_value(id.entries[i].chain, 0);
    X509_up_ref(c);
    sk_X509_push(chain, c);
  }
  assert_int_equal(2, sk_X509_num(chain));
  assert_status(GCERT_OK, gcert_store_add_key(&one, NULL, key, chain, &err), &err);
  sk_X509_pop_free(chain, X509_free); /* the store holds its own references */
  gcert_buf p12 = {0};
  assert_status(GCERT_OK, gcert_pkcs12_write(&one, "p12-pass", &p12, &err), &err);
  b64[B_P12] = b64_of(p12.data, p12.len);
  gcert_buf_free(&p12);
  gcert_store_free(&one);
  gcert_store_free(&id);
  EVP_PKEY_free(key);
  static const char junk[] = "this is not a certificate";
  b64[B_JUNK] = b64_of((const unsigned char *)junk, strlen(junk));
  return 0;
}

static int teardown_group(void **state) {
  (void)state;
  for (size_t i = 0; i < B_COUNT; i++)
    free(b64[i]);
  return 0;
}

/* body with @ROOT@, @DER@, @P12@ and @JUNK@ replaced by the base64 files (malloc'd). */
static char *fill(const char *body) {
  static const char *const marks[B_COUNT] = {"@ROOT@", "@DER@", "@P12@", "@JUNK@"};
  char *out = strdup(body ? body : "");
  for (size_t m = 0; m < B_COUNT; m++) {
    char *at;
    while ((at = strstr(out, marks[m])) != NULL) {
      size_t head = (size_t)(at - out), mark = strlen(marks[m]), fill_len = strlen(b64[m]);
      size_t tail = strlen(at + mark);
      char *next = malloc(head + fill_len + tail + 1);
      assert_non_null(next);
      memcpy(next, out, head);
      memcpy(next + head, b64[m], fill_len);
      memcpy(next + head + fill_len, at + mark, tail + 1);
      free(out);
      out = next;
    }
  }
  return out;
}

/* ---- talking to the service --------------------------------------------------------- */

static void start_profile(st_sim *sim, const char *profile, const char *dir_name,
                          const char *clock) {
  static char dir[BS_PATH_MAX];
  st_sim_opts opts = {.dir = bt_scratch(dir, dir_name), .profile = profile, .clock = clock};
  st_check(st_sim_start(sim, &opts));
}

/* The error code of an OData error body, or "". */
static const char *code_of(const st_reply *r) {
  const char *c =
      r->json ? json_string_value(json_object_get(json_object_get(r->json, "error"), "code"))
              : NULL;
  return c ? c : "";
}

/* A bearer call to ST_ODATA + path with body (marks filled). */
static long bearer(st_sim *sim, const char *method, const char *path, const char *body,
                   st_reply *r) {
  char *filled = body ? fill(body) : NULL;
  st_check(st_odata(sim, method, path, filled, r));
  free(filled);
  return r->status;
}

/* A session: its JSESSIONID cookie and CSRF token, fetched with basic auth. */
typedef struct session {
  char cookie[200]; /* "JSESSIONID=..." */
  char token[100];
} session;

static void fetch_csrf(st_sim *sim, session *s) {
  static const char *const fetch[] = {"X-CSRF-Token: Fetch", NULL};
  st_reply r;
  st_check(st_admin_raw(sim, "GET", ST_ODATA "/", ST_USER ":" ST_PASSWORD, fetch, NULL, 0, &r));
  assert_int_equal(200, r.status);
  char *token = st_header(&r, "X-CSRF-Token"), *cookie = st_header(&r, "Set-Cookie");
  assert_non_null(token);
  assert_non_null(cookie);
  assert_int_equal(64, strlen(token));
  assert_non_null(strstr(cookie, "HttpOnly"));
  snprintf(s->token, sizeof(s->token), "%s", token);
  snprintf(s->cookie, sizeof(s->cookie), "%.*s", (int)strcspn(cookie, ";"), cookie);
  free(token);
  free(cookie);
  st_reply_free(&r);
}

/* ---- access ------------------------------------------------------------------------ */

enum { A_NONE, A_BASIC, A_BASIC_BAD, A_BEARER, A_BEARER_BAD };
enum { C_NONE, C_VALID, C_TOKEN_ONLY, C_COOKIE_ONLY, C_WRONG_TOKEN };

typedef struct access_case {
  const char *what;
  const char *method, *path, *body;
  int auth, csrf;
  long status;
  const char *code;   /* the error code, or NULL */
  const char *header; /* a response header "Name: value" it must carry, or NULL */
} access_case;

#define REF_BODY(n) "{\"name\":\"" n "\",\"certificateStoreName\":\"ts\"}"
#define REFS        "/CertificateStoreReferences"

static const access_case access_cases[] = {
    {"no credentials", "GET", REFS, NULL, A_NONE, C_NONE, 401, "UNAUTHORIZED",
     "WWW-Authenticate: Bearer realm=\"gatecert-sim\""},
    {"wrong basic credentials", "GET", REFS, NULL, A_BASIC_BAD, C_NONE, 401, "UNAUTHORIZED", NULL},
    {"a token never issued", "GET", REFS, NULL, A_BEARER_BAD, C_NONE, 401, "UNAUTHORIZED", NULL},
    {"bearer read", "GET", REFS, NULL, A_BEARER, C_NONE, 200, NULL, NULL},
    {"basic read", "GET", REFS, NULL, A_BASIC, C_NONE, 200, NULL, NULL},
    {"bearer write needs no CSRF token", "POST", REFS, REF_BODY("r-bearer"), A_BEARER, C_NONE, 201,
     NULL, NULL},
    {"basic write without a CSRF token", "POST", REFS, REF_BODY("r-refused"), A_BASIC, C_NONE, 403,
     "CSRF_TOKEN_VALIDATION_FAILED", "X-CSRF-Token: Required"},
    {"basic write, token without its cookie", "POST", REFS, REF_BODY("r-refused"), A_BASIC,
     C_TOKEN_ONLY, 403, "CSRF_TOKEN_VALIDATION_FAILED", "X-CSRF-Token: Required"},
    {"basic write, cookie without a token", "POST", REFS, REF_BODY("r-refused"), A_BASIC,
     C_COOKIE_ONLY, 403, "CSRF_TOKEN_VALIDATION_FAILED", NULL},
    {"basic write, another token", "POST", REFS, REF_BODY("r-refused"), A_BASIC, C_WRONG_TOKEN, 403,
     "CSRF_TOKEN_VALIDATION_FAILED", NULL},
    {"the refused writes changed nothing", "GET", REFS "('r-refused')", NULL, A_BEARER, C_NONE, 404,
     "NO_SUCH_CERTIFICATE_STORE_REFERENCE_EXISTS", NULL},
    {"basic write with token and cookie", "POST", REFS, REF_BODY("r-basic"), A_BASIC, C_VALID, 201,
     NULL, NULL},
    {"basic delete without a token", "DELETE", REFS "('r-basic')", NULL, A_BASIC, C_NONE, 403,
     "CSRF_TOKEN_VALIDATION_FAILED", NULL},
    {"basic delete with token and cookie", "DELETE", REFS "('r-basic')", NULL, A_BASIC, C_VALID,
     204, NULL, NULL},
    {"a token fetch needs credentials", "GET", "/", NULL, A_NONE, C_NONE, 401, "UNAUTHORIZED",
     NULL},
};

static void test_access(void **state) {
  (void)state;
  st_sim sim;
  start_profile(&sim, "sap-2026", "access", NULL);
  st_reply r;
  assert_int_equal(201, bearer(&sim, "POST", "/CertificateStores",
                               "{\"name\":\"ts\",\"storeType\":\"TRUSTSTORE\",\"certificates\":"
                               "[{\"name\":\"root\",\"content\":\"@ROOT@\"}]}",
                               &r));
  st_reply_free(&r);
  session s = {{0}, {0}};
  fetch_csrf(&sim, &s);
  char token[128];
  st_check(st_sap_token(&sim, token));
  for (size_t i = 0; i < sizeof(access_cases) / sizeof(access_cases[0]); i++) {
    const access_case *c = &access_cases[i];
    char auth[200], csrf[160], cookie[240], path[256];
    const char *headers[5] = {"Content-Type: application/json", NULL};
    size_t h = 1;
    const char *userpwd = c->auth == A_BASIC       ? ST_USER ":" ST_PASSWORD
                          : c->auth == A_BASIC_BAD ? ST_USER ":wrong"
                                                   : NULL;
    if (c->auth == A_BEARER || c->auth == A_BEARER_BAD) {
      snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
               c->auth == A_BEARER
                   ? token
                   : "0000000000000000000000000000000000000000000000000000000000000000");
      headers[h++] = auth;
    }
    if (c->csrf == C_VALID || c->csrf == C_TOKEN_ONLY || c->csrf == C_WRONG_TOKEN) {
      snprintf(csrf, sizeof(csrf), "X-CSRF-Token: %s",
               c->csrf == C_WRONG_TOKEN ? token /* 64 hex digits, not the session's */ : s.token);
      headers[h++] = csrf;
    }
    if (c->csrf == C_VALID || c->csrf == C_COOKIE_ONLY || c->csrf == C_WRONG_TOKEN) {
      snprintf(cookie, sizeof(cookie), "Cookie: other=1; %s", s.cookie);
      headers[h++] = cookie;
    }
    snprintf(path, sizeof(path), ST_ODATA "%s", c->path);
    st_check(st_admin_raw(&sim, c->method, path, userpwd, headers, c->body,
                          c->body ? strlen(c->body) : 0, &r));
    if (r.status != c->status)
      fail_msg("%s: %ld (%s), expected %ld", c->what, r.status, r.body ? r.body : "", c->status);
    if (c->code && strcmp(code_of(&r), c->code) != 0)
      fail_msg("%s: code \"%s\", expected %s", c->what, code_of(&r), c->code);
    if (c->header) {
      size_t n = strcspn(c->header, ":");
      char name[64];
      snprintf(name, sizeof(name), "%.*s", (int)n, c->header);
      char *v = st_header(&r, name);
      if (!v || strcmp(v, c->header + n + 2) != 0)
        fail_msg("%s: %s is \"%s\", expected \"%s\"", c->what, name, v ? v : "(none)",
                 c->header + n + 2);
      free(v);
    }
    st_reply_free(&r);
  }
  st_check(st_sim_stop(&sim));
}

/* ---- /oauth/token ------------------------------------------------------------------ */

typedef struct token_case {
  const char *what;
  const char *method, *path, *userpwd, *body;
  long status;
  const char *error; /* RFC 6749's "error", or NULL */
} token_case;

#define GOOD ST_USER ":" ST_PASSWORD
static const token_case token_cases[] = {
    {"form grant, basic credentials", "POST", "/oauth/token", GOOD, "grant_type=client_credentials",
     200, NULL},
    {"grant in the query, no body (SAP Piper)", "POST",
     "/oauth/token?grant_type=client_credentials", GOOD, NULL, 200, NULL},
    {"credentials as form fields", "POST", "/oauth/token", NULL,
     "grant_type=client_credentials&client_id=" ST_USER "&client_secret=" ST_PASSWORD, 200, NULL},
    {"a wrong secret in the form", "POST", "/oauth/token", NULL,
     "grant_type=client_credentials&client_id=" ST_USER "&client_secret=nope", 401,
     "invalid_client"},
    {"a wrong basic secret", "POST", "/oauth/token", ST_USER ":nope",
     "grant_type=client_credentials", 401, "invalid_client"},
    {"no credentials", "POST", "/oauth/token", NULL, "grant_type=client_credentials", 401,
     "invalid_client"},
    {"the password grant", "POST", "/oauth/token", GOOD,
     "grant_type=password&username=a&password=b", 400, "unsupported_grant_type"},
    {"no grant", "POST", "/oauth/token", GOOD, "scope=x", 400, "invalid_request"},
    {"GET", "GET", "/oauth/token", GOOD, NULL, 405, "invalid_request"},
};

static void test_token(void **state) {
  (void)state;
  st_sim sim;
  start_profile(&sim, "sap-2023", "token", "2030-01-01 00:00:00");
  static const char *const form[] = {"Content-Type: application/x-www-form-urlencoded",
                                     "Accept: application/json", NULL};
  for (size_t i = 0; i < sizeof(token_cases) / sizeof(token_cases[0]); i++) {
    const token_case *c = &token_cases[i];
    st_reply r;
    st_check(st_admin_raw(&sim, c->method, c->path, c->userpwd, form, c->body,
                          c->body ? strlen(c->body) : 0, &r));
    const char *error = r.json ? json_string_value(json_object_get(r.json, "error")) : NULL;
    if (r.status != c->status || (c->error && (!error || strcmp(error, c->error) != 0)))
      fail_msg("%s: %ld %s, expected %ld %s", c->what, r.status, r.body ? r.body : "", c->status,
               c->error ? c->error : "");
    if (c->status == 200) {
      assert_string_equal("bearer", json_string_value(json_object_get(r.json, "token_type")));
      assert_int_equal(43199, json_integer_value(json_object_get(r.json, "expires_in")));
      char *cache = st_header(&r, "Cache-Control");
      assert_string_equal("no-store", cache ? cache : "");
      free(cache);
    }
    st_reply_free(&r);
  }
  /* an oversize form */
  char big[6000];
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  st_reply r;
  st_check(st_admin_raw(&sim, "POST", "/oauth/token", GOOD, form, big, strlen(big), &r));
  assert_int_equal(400, r.status);
  st_reply_free(&r);
  /* a token works until it expires on the process clock */
  char token[128], auth[160];
  st_check(st_sap_token(&sim, token));
  snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
  const char *headers[] = {auth, NULL};
  int64_t t0 = st_status_i64(&sim, "time_ms");
  st_check(st_admin_raw(&sim, "GET", ST_ODATA "/APIProviders", NULL, headers, NULL, 0, &r));
  assert_int_equal(200, r.status);
  st_reply_free(&r);
  st_check(st_clock_set(&sim, t0 + 43100 * SECOND));
  st_check(st_admin_raw(&sim, "GET", ST_ODATA "/APIProviders", NULL, headers, NULL, 0, &r));
  assert_int_equal(200, r.status);
  st_reply_free(&r);
  st_check(st_clock_set(&sim, t0 + 43300 * SECOND));
  st_check(st_admin_raw(&sim, "GET", ST_ODATA "/APIProviders", NULL, headers, NULL, 0, &r));
  assert_int_equal(401, r.status);
  st_reply_free(&r);
  st_check(st_sim_stop(&sim));
}

/* ---- entities ------------------------------------------------------------------------ */

typedef struct entity_case {
  const char *what;
  const char *method, *path, *body;
  long status;
  const char *code; /* the error code, or NULL */
  const char *says; /* in the body, or NULL */
} entity_case;

#define TS_ROOT                                                                                    \
  "{\"name\":\"ts\",\"storeType\":\"TRUSTSTORE\",\"certificates\":[{\"name\":\"root\",\"format\":" \
  "\"PEM\",\"content\":\"@ROOT@\"}]}"
#define KS_P12                                                                                     \
  "{\"name\":\"ks\",\"storeType\":\"KEYSTORE\",\"description\":\"gateway\",\"certificates\":[{"    \
  "\"name\":\"id\",\"format\":\"P12\",\"content\":\"@P12@\",\"password\":\"p12-pass\"}]}"
#define PROVIDER(name, port, ssl)                                                                  \
  "{\"name\":\"" name "\",\"host\":\"localhost\",\"port\":" port                                   \
  ",\"useSSL\":true,\"sslInfo\":" ssl "}"
#define SSL_REF                                                                                    \
  "{\"enabled\":true,\"clientAuthEnabled\":true,\"trustStore\":\"ref://ref1\",\"keyStore\":"       \
  "\"ks\",\"keyAlias\":\"id\"}"
#define E_VALID "APIPROVIDER_VALIDATION_ERROR"
#define E_BODY  "INVALID_REQUEST_BODY"
#define E_LINK_CREATE                                                                              \
  "CERTIFICATE_STORE_REFERENCE_CREATE_FAILED_LINKED_CERTIFICATE_STORE_VALIDATION_ERROR"
#define E_LINK_UPDATE                                                                              \
  "CERTIFICATE_STORE_REFERENCE_UPDATE_FAILED_LINKED_CERTIFICATE_STORE_VALIDATION_ERROR"
#define E_NO_REF "NO_SUCH_CERTIFICATE_STORE_REFERENCE_EXISTS"

static const entity_case entity_cases[] = {
    {"$metadata", "GET", "/$metadata", NULL, 200, NULL,
     "<EntitySet Name=\"CertificateStoreReferences\""},
    {"service document", "GET", "/", NULL, 200, NULL, "\"EntitySets\""},
    {"deep insert of a trust store", "POST", "/CertificateStores", TS_ROOT, 201, NULL,
     "\"type\":\"apiportal.CertificateStore\""},
    {"its certificate in the answer", "GET", "/CertificateStores('ts')?$expand=certificates", NULL,
     200, NULL, "\"storeName\":\"ts\""},
    {"without $expand the navigation is deferred", "GET", "/CertificateStores('ts')", NULL, 200,
     NULL, "\"__deferred\""},
    {"a store name taken (either type)", "POST", "/CertificateStores",
     "{\"name\":\"ts\",\"storeType\":\"KEYSTORE\",\"certificates\":[]}", 400,
     "CERTIFICATE_STORE_NAME_DUPLICATION_ERROR", NULL},
    {"a deep insert with one bad certificate", "POST", "/CertificateStores",
     "{\"name\":\"ts-bad\",\"storeType\":\"TRUSTSTORE\",\"certificates\":[{\"name\":\"ok\","
     "\"content\":\"@ROOT@\"},{\"name\":\"junk\",\"content\":\"@JUNK@\"}]}",
     400, "CERTIFICATE_VALIDATION_ERROR", "Certificate 'junk'"},
    {"... stored nothing", "GET", "/CertificateStores('ts-bad')", NULL, 404,
     "CERTIFICATE_STORE_NOT_FOUND", NULL},
    {"a deep insert naming a certificate twice", "POST", "/CertificateStores",
     "{\"name\":\"ts-two\",\"storeType\":\"TRUSTSTORE\",\"certificates\":[{\"name\":\"a\","
     "\"content\":\"@ROOT@\"},{\"name\":\"a\",\"content\":\"@ROOT@\"}]}",
     400, "CERTIFICATE_VALIDATION_ERROR", "appears twice"},
    {"deep insert of a PKCS#12 key store", "POST", "/CertificateStores", KS_P12, 201, NULL,
     "\"chainLength\":2"},
    {"the key store's certificates navigation", "GET", "/CertificateStores('ks')/certificates",
     NULL, 200, NULL, "\"format\":\"PKCS12\""},
    {"a certificate by its two keys, either order", "GET",
     "/Certificates(storeName='ks',name='id')", NULL, 200, NULL, "\"isValid\":true"},
    {"dates as /Date(ms)/", "GET", "/Certificates(name='root',storeName='ts')", NULL, 200, NULL,
     "\"expiryDate\":\"/Date("},
    {"a format that is not the content's", "POST", "/CertificateStores('ts')/certificates",
     "{\"name\":\"r2\",\"format\":\"DER\",\"content\":\"@ROOT@\"}", 400,
     "CERTIFICATE_VALIDATION_ERROR", "does not match the content"},
    {"an unknown format", "POST", "/CertificateStores('ts')/certificates",
     "{\"name\":\"r2\",\"format\":\"JKS\",\"content\":\"@ROOT@\"}", 400,
     "CERTIFICATE_VALIDATION_ERROR", "Unknown format"},
    {"DER into a trust store (sap-2026)", "POST", "/CertificateStores('ts')/certificates",
     "{\"name\":\"der\",\"format\":\"CER\",\"content\":\"@DER@\"}", 201, NULL, NULL},
    {"the same name overwrites", "POST", "/CertificateStores('ts')/certificates",
     "{\"name\":\"der\",\"content\":\"@ROOT@\"}", 200, NULL, "\"format\":\"PEM\""},
    {"a PEM key into a key store (sap-2026)", "POST", "/CertificateStores('ks')/certificates",
     "{\"name\":\"pem\",\"content\":\"@ROOT@\"}", 400, "CERTIFICATE_VALIDATION_ERROR",
     "only a PKCS#12 file"},
    {"into a store that does not exist", "POST", "/CertificateStores('nope')/certificates",
     "{\"name\":\"x\",\"content\":\"@ROOT@\"}", 404, "CERTIFICATE_STORE_NOT_FOUND", NULL},
    {"every certificate", "GET", "/Certificates", NULL, 200, NULL, "\"name\":\"der\""},
    /* references: SAP's "Creating/Reading/Updating/Deleting the References" */
    {"a reference", "POST", REFS, "{\"name\":\"ref1\",\"certificateStoreName\":\"ts\"}", 201, NULL,
     "\"storeType\":\"TRUSTSTORE\""},
    {"its name taken", "POST", REFS, "{\"name\":\"ref1\",\"certificateStoreName\":\"ts\"}", 400,
     "CERTIFICATE_STORE_REFERENCE_NAME_DUPLICATION_ERROR", "already exists with the same name"},
    {"to a store that does not exist", "POST", REFS,
     "{\"name\":\"ref2\",\"certificateStoreName\":\"nope\"}", 400, E_LINK_CREATE, NULL},
    {"updating one that does not exist", "PUT", REFS "('nope')",
     "{\"certificateStoreName\":\"ts\"}", 400, E_NO_REF, NULL},
    {"repointing to no store", "PUT", REFS "('ref1')", "{\"certificateStoreName\":\"nope\"}", 400,
     E_LINK_UPDATE, NULL},
    {"repointing to a store of the other type", "PUT", REFS "('ref1')",
     "{\"certificateStoreName\":\"ks\"}", 400, E_LINK_UPDATE, "is a key store"},
    {"a second trust store", "POST", "/CertificateStores",
     "{\"name\":\"ts2\",\"storeType\":\"TRUSTSTORE\",\"certificates\":[{\"name\":\"root\","
     "\"content\":\"@DER@\"}]}",
     201, NULL, NULL},
    {"repointing", "PUT", REFS "('ref1')", "{\"certificateStoreName\":\"ts2\"}", 204, NULL, NULL},
    {"... answered", "GET", REFS "('ref1')", NULL, 200, NULL, "\"certificateStoreName\":\"ts2\""},
    {"reading one that does not exist", "GET", REFS "('nope')", NULL, 404, E_NO_REF, NULL},
    /* API providers */
    {"a provider with ref:// and a key store entry", "POST", "/APIProviders",
     PROVIDER("p1", "9443", SSL_REF), 201, NULL, "\"type\":\"apiportal.APIProvider\""},
    {"its name taken", "POST", "/APIProviders", PROVIDER("p1", "9444", SSL_REF), 409,
     "APIPROVIDER_ALREADY_EXISTS", NULL},
    {"its host:port taken", "POST", "/APIProviders", PROVIDER("p2", "9443", SSL_REF), 409,
     "APIPROVIDER_HOST_PORT_TAKEN", NULL},
    {"the reference it names cannot go", "DELETE", REFS "('ref1')", NULL, 400,
     "CERTIFICATE_STORE_REFERENCE_IN_USE", NULL},
    {"the store it uses through it cannot go", "DELETE", "/CertificateStores('ts2')", NULL, 400,
     "CERTIFICATE_STORE_IN_USE", NULL},
    {"trustAll", "POST", "/APIProviders",
     "{\"name\":\"p2\",\"host\":\"localhost\",\"port\":9444,\"useSSL\":true,\"trustAll\":true}",
     400, E_VALID, "trustAll"},
    {"ignoreValidationErrors", "POST", "/APIProviders",
     PROVIDER("p2", "9444", "{\"enabled\":true,\"ignoreValidationErrors\":true}"), 400, E_VALID,
     NULL},
    {"ciphers", "POST", "/APIProviders",
     PROVIDER("p2", "9444", "{\"enabled\":true,\"ciphers\":[\"TLS_AES_128_GCM_SHA256\"]}"), 400,
     E_VALID, NULL},
    {"a key store as trust store", "POST", "/APIProviders",
     PROVIDER("p2", "9444", "{\"enabled\":true,\"trustStore\":\"ks\"}"), 400, E_VALID,
     "is a key store"},
    {"a reference that does not exist", "POST", "/APIProviders",
     PROVIDER("p2", "9444", "{\"enabled\":true,\"trustStore\":\"ref://nope\"}"), 400, E_VALID,
     "No certificate store reference 'nope'"},
    {"client auth without an alias", "POST", "/APIProviders",
     PROVIDER("p2", "9444", "{\"enabled\":true,\"clientAuthEnabled\":true,\"keyStore\":\"ks\"}"),
     400, E_VALID, NULL},
    {"an alias the key store lacks", "POST", "/APIProviders",
     PROVIDER("p2", "9444",
              "{\"enabled\":true,\"clientAuthEnabled\":true,\"keyStore\":\"ks\",\"keyAlias\":"
              "\"nope\"}"),
     400, E_VALID, "has no 'nope'"},
    {"an on-premise provider", "POST", "/APIProviders",
     "{\"name\":\"p2\",\"destType\":\"ON_PREMISE\",\"host\":\"h\",\"port\":443}", 400, E_VALID,
     "not imitated"},
    {"a port as a string", "POST", "/APIProviders",
     "{\"name\":\"p2\",\"host\":\"localhost\",\"port\":\"443\"}", 400, E_VALID, NULL},
    {"an unknown property", "POST", "/APIProviders",
     "{\"name\":\"p2\",\"host\":\"localhost\",\"port\":443,\"proxyType\":\"x\"}", 400, E_BODY,
     "proxyType"},
    {"PUT with another name", "PUT", "/APIProviders('p1')", PROVIDER("p9", "9443", SSL_REF), 400,
     E_BODY, NULL},
    {"PUT of one that does not exist", "PUT", "/APIProviders('nope')",
     PROVIDER("nope", "9450", "{\"enabled\":true}"), 404, "APIPROVIDER_NOT_FOUND", NULL},
    {"PUT replaces it", "PUT", "/APIProviders('p1')",
     "{\"host\":\"localhost\",\"port\":9443,\"useSSL\":true,\"sslInfo\":{\"enabled\":true,"
     "\"trustStore\":\"ts\"}}",
     204, NULL, NULL},
    {"... answered", "GET", "/APIProviders('p1')", NULL, 200, NULL, "\"trustStore\":\"ts\""},
    {"now the reference can go", "DELETE", REFS "('ref1')", NULL, 204, NULL, NULL},
    {"... and is gone (SAP: 400)", "DELETE", REFS "('ref1')", NULL, 400, E_NO_REF, NULL},
    {"the store the provider uses cannot go", "DELETE", "/CertificateStores('ts')", NULL, 400,
     "CERTIFICATE_STORE_IN_USE", NULL},
    {"deleting the provider", "DELETE", "/APIProviders('p1')", NULL, 204, NULL, NULL},
    {"... twice", "DELETE", "/APIProviders('p1')", NULL, 404, "APIPROVIDER_NOT_FOUND", NULL},
    {"deleting a certificate", "DELETE", "/Certificates(name='der',storeName='ts')", NULL, 204,
     NULL, NULL},
    {"... twice", "DELETE", "/Certificates(name='der',storeName='ts')", NULL, 404,
     "CERTIFICATE_NOT_FOUND", NULL},
    {"deleting a store with its certificates", "DELETE", "/CertificateStores('ts')", NULL, 204,
     NULL, NULL},
    {"... its certificate is gone", "GET", "/Certificates(name='root',storeName='ts')", NULL, 404,
     "CERTIFICATE_STORE_NOT_FOUND", NULL},
    {"a method the set does not take", "PATCH", "/CertificateStores('ks')", "{}", 405,
     "METHOD_NOT_ALLOWED", NULL},
    {"POST to Certificates", "POST", "/Certificates", "{}", 405, "METHOD_NOT_ALLOWED", NULL},
    {"an entity set not served", "GET", "/APIProxies", NULL, 404, "RESOURCE_NOT_FOUND", NULL},
};

static void run_entity_cases(st_sim *sim, const entity_case *cases, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const entity_case *c = &cases[i];
    st_reply r;
    long status = bearer(sim, c->method, c->path, c->body, &r);
    if (status != c->status)
      fail_msg("%s: %ld (%.400s), expected %ld", c->what, status, r.body ? r.body : "", c->status);
    if (c->code && strcmp(code_of(&r), c->code) != 0)
      fail_msg("%s: code \"%s\", expected %s", c->what, code_of(&r), c->code);
    if (c->says && (!r.body || !strstr(r.body, c->says)))
      fail_msg("%s: the body does not hold %s: %.400s", c->what, c->says, r.body ? r.body : "");
    if (status == 201) { /* Location: the entity's uri */
      char *location = st_header(&r, "Location");
      const char *uri = json_string_value(
          json_object_get(json_object_get(json_object_get(r.json, "d"), "__metadata"), "uri"));
      if (!location || !uri || strcmp(location, uri) != 0)
        fail_msg("%s: Location %s, uri %s", c->what, location ? location : "(none)",
                 uri ? uri : "(none)");
      free(location);
    }
    if (status == 204 && r.len != 0)
      fail_msg("%s: a 204 with a body", c->what);
    assert_true(!r.body || !strstr(r.body, "PRIVATE KEY"));
    assert_true(!r.body || !strstr(r.body, "p12-pass"));
    st_reply_free(&r);
  }
}

static void test_entities(void **state) {
  (void)state;
  st_sim sim;
  start_profile(&sim, "sap-2026", "entities", NULL);
  run_entity_cases(&sim, entity_cases, sizeof(entity_cases) / sizeof(entity_cases[0]));
  st_check(st_sim_stop(&sim));
}

/* ---- hostile requests ---------------------------------------------------------------- */

static const entity_case hostile_cases[] = {
    {"not JSON", "POST", "/CertificateStores", "{not json", 400, E_BODY, "not JSON"},
    {"an array", "POST", REFS, "[1,2]", 400, E_BODY, "JSON object"},
    {"no body", "POST", REFS, NULL, 400, E_BODY, "required"},
    {"duplicate keys", "POST", REFS,
     "{\"name\":\"a\",\"name\":\"b\",\"certificateStoreName\":\"ts\"}", 400, E_BODY, NULL},
    {"content not base64", "POST", "/CertificateStores('ts')/certificates",
     "{\"name\":\"x\",\"content\":\"@@@@\"}", 400, E_BODY, "not base64"},
    {"base64 with a tail", "POST", "/CertificateStores('ts')/certificates",
     "{\"name\":\"x\",\"content\":\"@ROOT@-----garbage\"}", 400, E_BODY, "not base64"},
    {"content a number", "POST", "/CertificateStores('ts')/certificates",
     "{\"name\":\"x\",\"content\":5}", 400, E_BODY, "must be a string"},
    {"name a number", "POST", "/CertificateStores('ts')/certificates",
     "{\"name\":7,\"content\":\"@ROOT@\"}", 400, E_BODY, NULL},
    {"an unknown certificate property", "POST", "/CertificateStores('ts')/certificates",
     "{\"name\":\"x\",\"content\":\"@ROOT@\",\"alias\":\"y\"}", 400, E_BODY, "alias"},
    {"another store in the body", "POST", "/CertificateStores('ts')/certificates",
     "{\"name\":\"x\",\"storeName\":\"ks\",\"content\":\"@ROOT@\"}", 400, E_BODY, NULL},
    {"a password too long", "POST", "/CertificateStores('ts')/certificates",
     "{\"name\":\"x\",\"content\":\"@ROOT@\",\"password\":\""
     "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567"
     "8901234567890123456789012345678901234567890123456789012345678901234567890123456789012345"
     "678901234567890123456789012345678901234567890123456789012345678901234567890123456789\"}",
     400, E_BODY, "password"},
    {"storeType in lower case", "POST", "/CertificateStores",
     "{\"name\":\"x\",\"storeType\":\"truststore\"}", 400, E_BODY, "TRUSTSTORE or KEYSTORE"},
    {"certificates an object", "POST", "/CertificateStores",
     "{\"name\":\"x\",\"storeType\":\"TRUSTSTORE\",\"certificates\":{\"a\":1}}", 400, E_BODY, NULL},
    {"a store name with a slash", "POST", "/CertificateStores",
     "{\"name\":\"a/b\",\"storeType\":\"TRUSTSTORE\"}", 400, E_BODY, NULL},
    {"a quote injected into the key", "GET", "/CertificateStores('ts'')')", NULL, 400,
     "INVALID_KEY_PREDICATE", NULL},
    {"an unbalanced quote", "GET", "/CertificateStores('ts)", NULL, 400, "INVALID_KEY_PREDICATE",
     NULL},
    {"a key without quotes", "GET", "/APIProviders(p1)", NULL, 400, "INVALID_KEY_PREDICATE", NULL},
    {"an unknown key property", "GET", "/Certificates(name='a',store='ts')", NULL, 400,
     "INVALID_KEY_PREDICATE", NULL},
    {"a key property twice", "GET", "/Certificates(name='a',name='b')", NULL, 400,
     "INVALID_KEY_PREDICATE", NULL},
    {"text after the key", "GET", REFS "('a')x", NULL, 400, "INVALID_KEY_PREDICATE", NULL},
    {"an empty literal", "DELETE", REFS "('')", NULL, 400, "INVALID_KEY_PREDICATE", NULL},
    {"an encoded NUL", "GET", REFS "('a%00b')", NULL, 400, "INVALID_KEY_PREDICATE", NULL},
    {"an encoded quote closing the key early", "DELETE", REFS "('a%27)%20or%20(%27')", NULL, 400,
     "INVALID_KEY_PREDICATE", NULL},
    {"$filter", "GET", "/CertificateStores?$filter=name%20eq%20'ts'", NULL, 400,
     "QUERY_OPTION_NOT_SUPPORTED", "$filter"},
    {"$format=xml", "GET", REFS "?$format=xml", NULL, 400, "QUERY_OPTION_NOT_SUPPORTED", NULL},
    {"$expand on another set", "GET", "/APIProviders?$expand=certificates", NULL, 400,
     "QUERY_OPTION_NOT_SUPPORTED", NULL},
};

/* Every collection's answer, concatenated (malloc'd). */
static char *snapshot(st_sim *sim) {
  static const char *const paths[] = {"/CertificateStores?$expand=certificates", REFS,
                                      "/APIProviders", "/Certificates"};
  size_t len = 0;
  char *all = calloc(1, 1);
  for (size_t i = 0; i < 4; i++) {
    st_reply r;
    assert_int_equal(200, bearer(sim, "GET", paths[i], NULL, &r));
    char *grown = realloc(all, len + r.len + 1);
    assert_non_null(grown);
    all = grown;
    memcpy(all + len, r.body, r.len);
    len += r.len;
    all[len] = '\0';
    st_reply_free(&r);
  }
  return all;
}

static void test_hostile(void **state) {
  (void)state;
  st_sim sim;
  start_profile(&sim, "sap-2023", "hostile", NULL);
  static const entity_case before[] = {
      {"a trust store", "POST", "/CertificateStores", TS_ROOT, 201, NULL, NULL},
      {"a key store", "POST", "/CertificateStores", KS_P12, 201, NULL, NULL},
      {"a reference", "POST", REFS, "{\"name\":\"a\",\"certificateStoreName\":\"ts\"}", 201, NULL,
       NULL},
      {"a provider naming no reference", "POST", "/APIProviders", PROVIDER("p1", "9443", SSL_REF),
       400, E_VALID, NULL},
      {"a provider", "POST", "/APIProviders",
       PROVIDER("p1", "9443", "{\"enabled\":true,\"trustStore\":\"ref://a\"}"), 201, NULL, NULL},
  };
  run_entity_cases(&sim, before, sizeof(before) / sizeof(before[0]));
  char *was = snapshot(&sim);
  run_entity_cases(&sim, hostile_cases, sizeof(hostile_cases) / sizeof(hostile_cases[0]));
  char *is = snapshot(&sim);
  assert_string_equal(was, is); /* nothing changed */
  free(was);
  free(is);
  st_check(st_sim_stop(&sim));
}

/* ---- the profiles ------------------------------------------------------------------------ */

typedef struct profile_case {
  const char *profile;
  const char *method, *path;
  long status;
  const char *says;
} profile_case;

static const profile_case profile_cases[] = {
    {"wso2-4", "GET", ST_ODATA "/$metadata", 404, "No such resource"},
    {"wso2-4", "POST", "/oauth/token?grant_type=client_credentials", 404, NULL},
    {"wso2-2.6", "GET", ST_ODATA "/CertificateStores", 404, NULL},
    {"wso2-4", "GET", "/sap/v1/truststores", 404, NULL},
    {"wso2-4", "GET", ST_CERTS, 200, NULL},
    {"sap-2023", "GET", "/sap/v1/truststores", 404, "/sap/v1 is retired"},
    {"sap-2026", "POST", "/sap/v1/api-providers", 404, "Management.svc"},
    {"sap-2026", "GET", ST_CERTS, 404, "rule rest.sap-odata"},
    {"sap-2023", "POST", ST_CERTS, 404, "trust store used by an API provider"},
    {"sap", "GET", ST_ODATA "/$metadata", 200, "apiportal.CertificateStore"},
};

static void test_profiles(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(profile_cases) / sizeof(profile_cases[0]); i++) {
    const profile_case *c = &profile_cases[i];
    st_sim sim;
    char dir[32];
    snprintf(dir, sizeof(dir), "profile-%zu", i);
    start_profile(&sim, c->profile, dir, NULL);
    st_reply r;
    st_check(st_admin_raw(&sim, c->method, c->path, ST_USER ":" ST_PASSWORD, NULL, NULL, 0, &r));
    if (r.status != c->status || (c->says && (!r.body || !strstr(r.body, c->says))))
      fail_msg("%s %s %s: %ld %.300s", c->profile, c->method, c->path, r.status,
               r.body ? r.body : "");
    st_reply_free(&r);
    json_t *status = NULL;
    st_check(st_status(&sim, &status));
    const char *named = json_string_value(json_object_get(status, "profile"));
    const char *want = strcmp(c->profile, "sap") == 0 ? "sap-2026" : c->profile;
    assert_string_equal(want, named ? named : "");
    if (strncmp(want, "sap-", 4) == 0)
      assert_non_null(
          strstr(json_string_value(json_object_get(status, "product")),
                 strcmp(want, "sap-2023") == 0 ? "2023 documentation" : "2026 documentation"));
    json_decref(status);
    st_check(st_sim_stop(&sim));
  }
}

/* --break sap-formats answers with the other version's row: the mutation the
 * scenario catalogue must catch (rules.c, other_version_of). */
static void test_break_sap_formats(void **state) {
  (void)state;
  static const struct {
    const char *profile;
    long status; /* DER into a trust store */
    const char *says;
  } rows[] = {
      {"sap-2026", 400,
       "only a PEM file; this file is a DER certificate (.cer/.der) (rule "
       "sap.formats-2023)"},
      {"sap-2023", 201, NULL},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    static const char *const args[] = {"--break", "sap-formats", NULL};
    static char dir[BS_PATH_MAX];
    char name[32];
    snprintf(name, sizeof(name), "break-%s", rows[i].profile);
    st_sim_opts opts = {.dir = bt_scratch(dir, name), .profile = rows[i].profile, .extra = args};
    st_sim sim;
    st_check(st_sim_start(&sim, &opts));
    st_reply r;
    long status = bearer(&sim, "POST", "/CertificateStores",
                         "{\"name\":\"ts\",\"storeType\":\"TRUSTSTORE\",\"certificates\":[{"
                         "\"name\":\"der\",\"content\":\"@DER@\"}]}",
                         &r);
    if (status != rows[i].status || (rows[i].says && (!r.body || !strstr(r.body, rows[i].says))))
      fail_msg("%s --break sap-formats: %ld %.300s", rows[i].profile, status, r.body ? r.body : "");
    st_reply_free(&r);
    st_check(st_sim_stop(&sim));
  }
}

/* ---- the open-source clients' requests ------------------------------------------------------ */

/* The requests the open-source clients send, copied:
 *   - SAP/jenkins-library pkg/cpi/commonUtils.go GetBearerToken: POST
 *     <tokenurl>?grant_type=client_credentials, the service key's clientid and
 *     clientsecret as basic auth, Accept: application/json, no body;
 *   - SAP/jenkins-library cmd/apiProviderUpload.go createApiProvider: POST
 *     <url>/apiportal/api/1.0/Management.svc/APIProviders with Content-Type and
 *     Accept application/json and the bearer token; apiProviderDownload GETs
 *     APIProviders('<name>');
 *   - the Terraform provider for Integration Suite's Go client (package
 *     apimanagementclassic, its CertificateStoreReferences test): PUT
 *     CertificateStoreReferences('<name>') with exactly
 *     {"certificateStoreName":"<store>"}, DELETE APIProviders('<name>');
 *   - the deep insert of a base64 PKCS#12 into CertificateStores and the GET of
 *     its certificates navigation as issue 20 describes them (no open-source
 *     client was found uploading certificates; SAP's $metadata names content
 *     Edm.Binary, which OData V2 JSON carries as base64). */
static void test_client_shapes(void **state) {
  (void)state;
  st_sim sim;
  start_profile(&sim, "sap", "clients", NULL);
  static const char *const accept[] = {"Accept: application/json", NULL};
  st_reply r;
  st_check(st_admin_raw(&sim, "POST", "/oauth/token?grant_type=client_credentials",
                        ST_USER ":" ST_PASSWORD, accept, NULL, 0, &r));
  assert_int_equal(200, r.status);
  char auth[160];
  snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
           json_string_value(json_object_get(r.json, "access_token")));
  st_reply_free(&r);
  const char *json_headers[] = {"Content-Type: application/json", "Accept: application/json", auth,
                                NULL};
  const char *get_headers[] = {"Accept: application/json", auth, NULL};
  static const struct {
    const char *what, *method, *path, *body;
    long status;
    const char *says;
  } steps[] = {
      {"deep insert of a base64 PKCS#12", "POST", "/CertificateStores", KS_P12, 201,
       "\"name\":\"id\""},
      {"a trust store", "POST", "/CertificateStores", TS_ROOT, 201, NULL},
      {"another", "POST", "/CertificateStores",
       "{\"name\":\"ts-new\",\"storeType\":\"TRUSTSTORE\",\"certificates\":[{\"name\":\"root\","
       "\"content\":\"@ROOT@\"}]}",
       201, NULL},
      {"the certificates navigation", "GET", "/CertificateStores('ks')/certificates", NULL, 200,
       "\"results\":[{\"__metadata\""},
      {"a reference", "POST", REFS, "{\"name\":\"backend-trust\",\"certificateStoreName\":\"ts\"}",
       201, NULL},
      {"Piper: POST APIProviders", "POST", "/APIProviders",
       "{\"name\":\"ES5_1\",\"title\":\"ES5\",\"destType\":\"INTERNET\",\"host\":\"localhost\","
       "\"port\":9443,\"useSSL\":true,\"trustAll\":false}",
       201, "\"destType\":\"INTERNET\""},
      {"a provider PUT with sslInfo", "PUT", "/APIProviders('ES5_1')",
       "{\"name\":\"ES5_1\",\"title\":\"ES5\",\"destType\":\"INTERNET\",\"host\":\"localhost\","
       "\"port\":9443,\"useSSL\":true,\"trustAll\":false,\"sslInfo\":{\"enabled\":true,"
       "\"clientAuthEnabled\":true,\"keyStore\":\"ks\",\"keyAlias\":\"id\",\"trustStore\":"
       "\"ref://backend-trust\",\"ignoreValidationErrors\":false,\"ciphers\":[],\"protocols\":[]}}",
       204, NULL},
      {"Piper: GET APIProviders('ES5_1')", "GET", "/APIProviders('ES5_1')", NULL, 200,
       "\"trustStore\":\"ref://backend-trust\""},
      {"Terraform: PUT the reference", "PUT", REFS "('backend-trust')",
       "{\"certificateStoreName\":\"ts-new\"}", 204, NULL},
      {"Terraform: DELETE APIProviders('ES5_1')", "DELETE", "/APIProviders('ES5_1')", NULL, 204,
       NULL},
  };
  for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
    char path[256], *body = steps[i].body ? fill(steps[i].body) : NULL;
    snprintf(path, sizeof(path), ST_ODATA "%s", steps[i].path);
    st_check(st_admin_raw(&sim, steps[i].method, path, NULL, body ? json_headers : get_headers,
                          body, body ? strlen(body) : 0, &r));
    free(body);
    if (r.status != steps[i].status ||
        (steps[i].says && (!r.body || !strstr(r.body, steps[i].says))))
      fail_msg("%s: %ld %.400s", steps[i].what, r.status, r.body ? r.body : "");
    st_reply_free(&r);
  }
  assert_true(st_log_contains(&sim, "certificate store reference 'backend-trust' now -> ts-new; "
                                    "used by an API provider: live at the next sender tick"));
  st_check(st_sim_stop(&sim));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_access, bs_teardown),
      cmocka_unit_test_teardown(test_token, bs_teardown),
      cmocka_unit_test_teardown(test_entities, bs_teardown),
      cmocka_unit_test_teardown(test_hostile, bs_teardown),
      cmocka_unit_test_teardown(test_profiles, bs_teardown),
      cmocka_unit_test_teardown(test_break_sap_formats, bs_teardown),
      cmocka_unit_test_teardown(test_client_shapes, bs_teardown),
  };
  return cmocka_run_group_tests(tests, setup, teardown_group);
}
