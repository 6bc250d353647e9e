/* test_sim_oauth.c - gatecert-sim's OAuth2: key managers, applications, key
 * mappings and subscriptions through the admin API, and JWT access tokens on
 * the data plane.
 *
 * Two groups, chosen by argv[1] (tests/sim/CMakeLists.txt registers each):
 *
 *   (none)     the admin side: every call's status and error description,
 *              tables of bad bodies (each row breaks one rule; after each
 *              table the lists prove that a refused request added nothing),
 *              cascades (an application's keys and subscriptions, an API's
 *              subscriptions, a key manager's mappings), and persistence over
 *              a clean restart and over kill -9.
 *   dataplane  tokens through an API secured with ["oauth2"], which needs the
 *              security chain (simulator/security.c) to turn
 *              gsim_oauth_authenticate's verdict into 200 / 401 / 403: valid
 *              (both algorithms), missing, expired on the fake clock (and the
 *              profile's skew at its edges, rule jwt-skew: none under
 *              wso2-4, 300 s under wso2-2.6 and sap, and --break jwt-skew
 *              swapping them), wrong issuer, wrong key, alg
 *              confusion, not subscribed, unmapped client, nbf and no exp
 *              (by profile: WSO2 ignores nbf and passes a token without
 *              exp, sap refuses both, --break jwt makes WSO2 refuse them);
 *              a subscription's throttle key by profile (rule
 *              throttle-key: 2.6's has no tier); the token never reaches
 *              the log.
 *
 * Every simulator runs on a fake clock from 2030-01-01 00:00:00 (T0), so
 * tokens are minted with iat/exp around T0 (jwt/'s gjwt_sign, the keys made
 * once in the group setup).
 */
#include "support.h"
#include "backend_fixture.h"
#include "backend_support.h"
#include "sim_fixture.h"
#include "sim_world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "gjwt.h"
#include "store.h"

#define FAKE_START "2030-01-01 00:00:00"
#define T0         ((int64_t)TEST_REFERENCE)
#define KM_PATH    "/api/am/admin/v4/key-managers"
#define APPS_PATH  "/api/am/devportal/v3/applications"
#define SUBS_PATH  "/api/am/devportal/v3/subscriptions"
#define ISSUER     "https://km.example/oauth2/token"
#define ISSUER_EC  "https://ec.example/oauth2/token"
#define NO_UUID    "00000000-0000-4000-8000-000000000000"
#define NAME_RULE  "name: a string of 1 to 100 printable ASCII characters is required"
#define ISSUER_RULE                                                                                \
  "issuer: a string of 1 to 1023 printable ASCII characters without spaces is required"
#define CERTS_RULE                                                                                 \
  "certificates: {\"type\": \"PEM\", \"value\": \"<PEM public key or certificate>\"}"
#define VALUE_RULE "certificates.value: a PEM public key (BEGIN PUBLIC KEY) or X.509 certificate"
#define CK_RULE                                                                                    \
  "consumerKey: a string of 1 to 255 printable ASCII characters without spaces is required"

/* ---- keys, made once -------------------------------------------------------------- */

static test_keys *K; /* the group's (its state) */

static int setup(void **state) {
  bt_setup_catalogue_2030(state);
  K = test_keys_new();
  *state = K;
  return 0;
}

/* ---- admin calls ------------------------------------------------------------------ */

/* profile NULL: the default (wso2-4). */
static void start_sim_as(st_sim *sim, const char *dir_name, const char *profile,
                         const char *const *extra) {
  char dir[BS_PATH_MAX];
  st_sim_opts opts = {
      .dir = bt_scratch(dir, dir_name), .profile = profile, .clock = FAKE_START, .extra = extra};
  st_check(st_sim_start(sim, &opts));
}

static void start_sim(st_sim *sim, const char *dir_name, const char *const *extra) {
  start_sim_as(sim, dir_name, NULL, extra);
}

/* A JSON call; body stolen (NULL: none). Returns the status. */
static long call_json(st_sim *sim, const char *method, const char *path, json_t *body,
                      st_reply *r) {
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  st_check(st_admin(sim, method, path, text, r));
  free(text);
  return r->status;
}

/* A raw body (any bytes) with the JSON content type. */
static long call_raw(st_sim *sim, const char *method, const char *path, const char *body,
                     size_t len, st_reply *r) {
  static const char *const json_type[] = {"Content-Type: application/json", NULL};
  st_check(st_admin_raw(sim, method, path, ST_USER ":" ST_PASSWORD, json_type, body, len, r));
  return r->status;
}

/* Status, then the ErrorDTO's code and a description containing needle. */
static void expect_error(const char *label, const st_reply *r, long status, const char *needle) {
  if (r->status != status)
    fail_msg("%s: expected %ld, got %ld: %s", label, status, r->status, r->body);
  const char *description = json_string_value(json_object_get(r->json, "description"));
  if (!description || !strstr(description, needle))
    fail_msg("%s: description \"%s\" lacks \"%s\"", label, description ? description : "(none)",
             needle);
  assert_int_equal(status, (long)json_integer_value(json_object_get(r->json, "code")));
}

static void expect_status(const char *label, long got, long want, const st_reply *r) {
  if (got != want)
    fail_msg("%s: expected %ld, got %ld: %s", label, want, got, r->body);
}

/* count of a list reply at path (200 expected). */
static long list_count(st_sim *sim, const char *path) {
  st_reply r;
  expect_status(path, call_json(sim, "GET", path, NULL, &r), 200, &r);
  json_t *list = json_object_get(r.json, "list");
  long n = (long)json_integer_value(json_object_get(r.json, "count"));
  assert_int_equal(n, (long)json_array_size(list));
  st_reply_free(&r);
  return n;
}

static void copy_member(const st_reply *r, const char *member, char out[64]) {
  const char *v = json_string_value(json_object_get(r->json, member));
  if (!v)
    fail_msg("no %s in %s", member, r->body);
  snprintf(out, 64, "%s", v);
}

static void add_km(st_sim *sim, const char *name, const char *issuer, const char *alg,
                   const char *value, char id[64]) {
  st_reply r;
  json_t *body = json_pack("{s:s, s:s, s:{s:s, s:s}}", "name", name, "issuer", issuer,
                           "certificates", "type", "PEM", "value", value);
  if (alg)
    json_object_set_new(body, "alg", json_string(alg));
  expect_status(name, call_json(sim, "POST", KM_PATH, body, &r), 201, &r);
  copy_member(&r, "id", id);
  st_reply_free(&r);
}

static void add_app(st_sim *sim, const char *name, const char *tier, char id[64]) {
  st_reply r;
  expect_status(name,
                call_json(sim, "POST", APPS_PATH,
                          json_pack("{s:s, s:s}", "name", name, "throttlingPolicy", tier), &r),
                201, &r);
  copy_member(&r, "applicationId", id);
  st_reply_free(&r);
}

static long map_keys(st_sim *sim, const char *app_id, const char *ck, const char *type,
                     const char *km, st_reply *r) {
  char path[256];
  snprintf(path, sizeof(path), "%s/%s/map-keys", APPS_PATH, app_id);
  json_t *body = json_object();
  if (ck)
    json_object_set_new(body, "consumerKey", json_string(ck));
  if (type)
    json_object_set_new(body, "keyType", json_string(type));
  if (km)
    json_object_set_new(body, "keyManager", json_string(km));
  return call_json(sim, "POST", path, body, r);
}

static void map_ok(st_sim *sim, const char *app_id, const char *ck, const char *type,
                   const char *km) {
  st_reply r;
  expect_status(ck, map_keys(sim, app_id, ck, type, km, &r), 200, &r);
  assert_string_equal(ck, json_string_value(json_object_get(r.json, "consumerKey")));
  assert_string_equal(type, json_string_value(json_object_get(r.json, "keyType")));
  assert_string_equal(km, json_string_value(json_object_get(r.json, "keyManager")));
  assert_string_equal("MAPPED", json_string_value(json_object_get(r.json, "mode")));
  st_reply_free(&r);
}

static long subscribe(st_sim *sim, const char *app_id, const char *api_id, const char *tier,
                      st_reply *r) {
  json_t *body = json_object();
  if (app_id)
    json_object_set_new(body, "applicationId", json_string(app_id));
  if (api_id)
    json_object_set_new(body, "apiId", json_string(api_id));
  if (tier)
    json_object_set_new(body, "throttlingPolicy", json_string(tier));
  return call_json(sim, "POST", SUBS_PATH, body, r);
}

static void subscribe_ok(st_sim *sim, const char *app_id, const char *api_id, const char *tier,
                         char id[64]) {
  st_reply r;
  expect_status("subscribe", subscribe(sim, app_id, api_id, tier, &r), 201, &r);
  if (id)
    copy_member(&r, "subscriptionId", id);
  st_reply_free(&r);
}

/* An API secured as schemes ("oauth2", ...) with its production URL. */
static void create_api(st_sim *sim, const char *name, const char *context, const char *url,
                       json_t *schemes, char id[64]) {
  json_t *def = json_pack("{s:s, s:s, s:s, s:{s:{s:s}}, s:o}", "name", name, "context", context,
                          "version", "1.0", "endpointConfig", "production_endpoints", "url", url,
                          "securityScheme", schemes);
  st_reply r;
  expect_status(name, call_json(sim, "POST", ST_APIS, def, &r), 201, &r);
  copy_member(&r, "id", id);
  st_reply_free(&r);
}

static void delete_ok(st_sim *sim, const char *prefix, const char *id) {
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", prefix, id);
  st_reply r;
  expect_status(path, call_json(sim, "DELETE", path, NULL, &r), 200, &r);
  st_reply_free(&r);
}

/* ---- key managers ---------------------------------------------------------------------- */

typedef enum value_kind {
  V_OMIT = 0,   /* no certificates object at all */
  V_RSA_PUB,    /* PEM public key of the RSA key */
  V_RSA_B64,    /* base64 of that PEM, as WSO2's portal sends it */
  V_EC_PUB,     /* PEM public key of the P-256 key */
  V_EC_CERT,    /* PEM certificate of the P-256 key */
  V_RSA_PRIV,   /* the RSA private key: refused, never echoed */
  V_RSA1024,    /* a 1024-bit RSA public key */
  V_GARBAGE,    /* text */
  V_NOT_STRING, /* "value": 42 */
} value_kind;

typedef struct km_row {
  const char *label;
  const char *raw; /* a raw body instead of the fields below */
  const char *name;
  const char *issuer;
  const char *alg; /* NULL: omitted (RS256) */
  const char *type;
  value_kind value;
  long status;
  const char *expect; /* the description contains this (error), or the answered alg (201) */
} km_row;

static const km_row km_rows[] = {
    {"empty body", "", NULL, NULL, NULL, NULL, V_OMIT, 400, "The body is empty"},
    {"not JSON", "{name:", NULL, NULL, NULL, NULL, V_OMIT, 400, "The body is not JSON"},
    {"an array", "[]", NULL, NULL, NULL, NULL, V_OMIT, 400, "The body must be a JSON object"},
    {"duplicate key", "{\"name\":\"a\",\"name\":\"b\"}", NULL, NULL, NULL, NULL, V_OMIT, 400,
     "The body is not JSON: duplicate object key"},
    {"no name", NULL, NULL, ISSUER "/2", "RS256", "PEM", V_RSA_PUB, 400, NAME_RULE},
    {"empty name", NULL, "", ISSUER "/2", "RS256", "PEM", V_RSA_PUB, 400, NAME_RULE},
    {"name of 101", NULL,
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxx",
     ISSUER "/2", "RS256", "PEM", V_RSA_PUB, 400, NAME_RULE},
    {"name with a tab", NULL, "a\tb", ISSUER "/2", "RS256", "PEM", V_RSA_PUB, 400, NAME_RULE},
    {"no issuer", NULL, "km2", NULL, "RS256", "PEM", V_RSA_PUB, 400, ISSUER_RULE},
    {"issuer with a space", NULL, "km2", "https://km example", "RS256", "PEM", V_RSA_PUB, 400,
     ISSUER_RULE},
    {"alg HS256", NULL, "km2", ISSUER "/2", "HS256", "PEM", V_RSA_PUB, 400, "alg: RS256 or ES256"},
    {"alg none", NULL, "km2", ISSUER "/2", "none", "PEM", V_RSA_PUB, 400, "alg: RS256 or ES256"},
    {"alg rs256", NULL, "km2", ISSUER "/2", "rs256", "PEM", V_RSA_PUB, 400, "alg: RS256 or ES256"},
    {"no certificates", NULL, "km2", ISSUER "/2", "RS256", NULL, V_OMIT, 400, CERTS_RULE},
    {"value not a string", NULL, "km2", ISSUER "/2", "RS256", "PEM", V_NOT_STRING, 400, CERTS_RULE},
    {"type JWKS", NULL, "km2", ISSUER "/2", "RS256", "JWKS", V_RSA_PUB, 400,
     "certificates.type: only PEM is supported by gatecert-sim"},
    {"garbage value", NULL, "km2", ISSUER "/2", "RS256", "PEM", V_GARBAGE, 400, VALUE_RULE},
    {"private key", NULL, "km2", ISSUER "/2", "RS256", "PEM", V_RSA_PRIV, 400,
     "certificates.value: holds a private key; give only the public key or certificate"},
    {"EC key for RS256", NULL, "km2", ISSUER "/2", "RS256", "PEM", V_EC_PUB, 400,
     "alg RS256 needs an RSA key of at least 2048 bits, not EC"},
    {"EC key, alg defaults to RS256", NULL, "km2", ISSUER "/2", NULL, "PEM", V_EC_CERT, 400,
     "alg RS256 needs an RSA key"},
    {"RSA key for ES256", NULL, "km2", ISSUER "/2", "ES256", "PEM", V_RSA_PUB, 400,
     "alg ES256 needs an EC P-256 key, not RSA"},
    {"RSA 1024", NULL, "km2", ISSUER "/2", "RS256", "PEM", V_RSA1024, 400, "not RSA (1024 bits)"},
    {"name taken", NULL, "km-rsa", ISSUER "/2", "RS256", "PEM", V_RSA_PUB, 409,
     "A key manager with the name 'km-rsa' already exists"},
    {"issuer taken", NULL, "km2", ISSUER, "RS256", "PEM", V_RSA_PUB, 409,
     "A key manager with the issuer '" ISSUER "' already exists"},
    {"ES256 certificate", NULL, "km-ec", ISSUER_EC, "ES256", "PEM", V_EC_CERT, 201, "ES256"},
    {"base64 PEM, default alg", NULL, "km-b64", ISSUER "/b64", NULL, "PEM", V_RSA_B64, 201,
     "RS256"},
};

static json_t *km_body(const km_row *row) {
  json_t *body = json_object();
  if (row->name)
    json_object_set_new(body, "name", json_string(row->name));
  if (row->issuer)
    json_object_set_new(body, "issuer", json_string(row->issuer));
  if (row->alg)
    json_object_set_new(body, "alg", json_string(row->alg));
  if (row->value == V_OMIT)
    return body;
  json_t *certs = json_object();
  if (row->type)
    json_object_set_new(certs, "type", json_string(row->type));
  const char *value = NULL;
  switch (row->value) {
  case V_RSA_PUB:
    value = K->rsa_pub;
    break;
  case V_RSA_B64:
    value = K->rsa_pub_b64;
    break;
  case V_EC_PUB:
    value = K->ec_pub;
    break;
  case V_EC_CERT:
    value = K->ec_cert;
    break;
  case V_RSA_PRIV:
    value = K->rsa_priv;
    break;
  case V_RSA1024:
    value = K->rsa1024_pub;
    break;
  case V_GARBAGE:
    value = "this is not a key";
    break;
  case V_NOT_STRING:
  case V_OMIT:
    break;
  }
  json_object_set_new(certs, "value", value ? json_string(value) : json_integer(42));
  json_object_set_new(body, "certificates", certs);
  return body;
}

static void test_key_managers(void **state) {
  (void)state;
  st_sim sim;
  start_sim(&sim, "key-managers", NULL);
  st_reply r;

  /* the first: 201, a UUID, Location, the definition back */
  json_t *body = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "name", "km-rsa", "issuer", ISSUER,
                           "alg", "RS256", "certificates", "type", "PEM", "value", K->rsa_pub);
  expect_status("km-rsa", call_json(&sim, "POST", KM_PATH, body, &r), 201, &r);
  char id[64];
  copy_member(&r, "id", id);
  assert_int_equal(36, (int)strlen(id));
  char *location = st_header(&r, "Location");
  char want[128];
  snprintf(want, sizeof(want), "%s/%s", KM_PATH, id);
  assert_non_null(location);
  assert_string_equal(want, location);
  free(location);
  assert_string_equal("km-rsa", json_string_value(json_object_get(r.json, "name")));
  assert_string_equal(ISSUER, json_string_value(json_object_get(r.json, "issuer")));
  assert_string_equal("RS256", json_string_value(json_object_get(r.json, "alg")));
  json_t *created = json_incref(r.json);
  st_reply_free(&r);

  size_t created_rows = 1;
  for (size_t i = 0; i < sizeof(km_rows) / sizeof(km_rows[0]); i++) {
    const km_row *row = &km_rows[i];
    if (row->raw)
      call_raw(&sim, "POST", KM_PATH, row->raw, strlen(row->raw), &r);
    else
      call_json(&sim, "POST", KM_PATH, km_body(row), &r);
    if (row->status == 201) {
      expect_status(row->label, r.status, 201, &r);
      assert_string_equal(row->expect, json_string_value(json_object_get(r.json, "alg")));
      created_rows++;
    } else
      expect_error(row->label, &r, row->status, row->expect);
    /* a refused private key is never echoed */
    if (row->value == V_RSA_PRIV)
      assert_null(strstr(r.body, "PRIVATE"));
    st_reply_free(&r);
  }
  assert_int_equal((long)created_rows, list_count(&sim, KM_PATH));
  assert_int_equal(0, st_log_contains(&sim, "PRIVATE KEY"));

  /* over 64 KiB: 413 */
  size_t big_len = (size_t)70 * 1024;
  char *big = malloc(big_len);
  assert_non_null(big);
  memset(big, ' ', big_len);
  big[0] = '{';
  big[big_len - 1] = '}';
  call_raw(&sim, "POST", KM_PATH, big, big_len, &r);
  free(big);
  expect_error("70 KiB body", &r, 413, "over 64 KiB");
  st_reply_free(&r);

  /* one, by id: what POST answered */
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", KM_PATH, id);
  expect_status("GET one", call_json(&sim, "GET", path, NULL, &r), 200, &r);
  assert_true(json_equal(created, r.json));
  st_reply_free(&r);
  json_decref(created);
  /* the list names them, without the key */
  expect_status("GET list", call_json(&sim, "GET", KM_PATH, NULL, &r), 200, &r);
  json_t *first = json_array_get(json_object_get(r.json, "list"), 0);
  assert_string_equal(id, json_string_value(json_object_get(first, "id")));
  assert_null(json_object_get(first, "certificates"));
  st_reply_free(&r);

  expect_status("PUT", call_json(&sim, "PUT", path, json_object(), &r), 405, &r);
  st_reply_free(&r);
  expect_status("DELETE list", call_json(&sim, "DELETE", KM_PATH, NULL, &r), 405, &r);
  st_reply_free(&r);
  call_json(&sim, "GET", KM_PATH "/not-a-uuid", NULL, &r);
  expect_error("GET bad id", &r, 404, "No such resource");
  st_reply_free(&r);
  call_json(&sim, "GET", KM_PATH "/" NO_UUID, NULL, &r);
  expect_error("GET unknown", &r, 404, "Requested key manager with Id '" NO_UUID "' not found");
  st_reply_free(&r);
  /* the neighbours of the path are not ours */
  call_json(&sim, "GET", KM_PATH "x", NULL, &r);
  expect_error("GET key-managersx", &r, 404, "No such resource");
  st_reply_free(&r);

  delete_ok(&sim, KM_PATH, id);
  call_json(&sim, "DELETE", path, NULL, &r);
  expect_error("DELETE again", &r, 404, "not found");
  st_reply_free(&r);
  call_json(&sim, "GET", path, NULL, &r);
  expect_error("GET deleted", &r, 404, "not found");
  st_reply_free(&r);
  assert_int_equal((long)created_rows - 1, list_count(&sim, KM_PATH));
  /* its name and issuer are free again */
  add_km(&sim, "km-rsa", ISSUER, "RS256", K->rsa_pub, id);

  /* without the admin credentials: 401 */
  st_check(st_admin_raw(&sim, "GET", KM_PATH, NULL, NULL, NULL, 0, &r));
  assert_int_equal(401, r.status);
  st_reply_free(&r);
  st_check(st_sim_stop(&sim));
}

/* ---- applications and their keys -------------------------------------------------------- */

static void test_applications_and_keys(void **state) {
  (void)state;
  st_sim sim;
  start_sim(&sim, "applications", NULL);
  char km[64], app1[64], app2[64], path[256];
  add_km(&sim, "km-rsa", ISSUER, "RS256", K->rsa_pub, km);
  add_km(&sim, "km-ec", ISSUER_EC, "ES256", K->ec_pub, km);

  st_reply r;
  expect_status(
      "app1",
      call_json(&sim, "POST", APPS_PATH,
                json_pack("{s:s, s:s}", "name", "app one", "throttlingPolicy", "Unlimited"), &r),
      201, &r);
  copy_member(&r, "applicationId", app1);
  assert_string_equal("Unlimited", json_string_value(json_object_get(r.json, "throttlingPolicy")));
  char *location = st_header(&r, "Location");
  assert_non_null(location);
  snprintf(path, sizeof(path), "%s/%s", APPS_PATH, app1);
  assert_string_equal(path, location);
  free(location);
  st_reply_free(&r);

  static const struct {
    const char *label;
    const char *body;
    long status;
    const char *expect;
  } app_rows[] = {
      {"no name", "{\"throttlingPolicy\":\"Unlimited\"}", 400, NAME_RULE},
      {"name not a string", "{\"name\":7,\"throttlingPolicy\":\"Unlimited\"}", 400, NAME_RULE},
      {"trailing space", "{\"name\":\"app \",\"throttlingPolicy\":\"Unlimited\"}", 400, NAME_RULE},
      {"no policy", "{\"name\":\"app3\"}", 400,
       "throttlingPolicy: the name of a throttling tier is required"},
      {"unknown policy", "{\"name\":\"app3\",\"throttlingPolicy\":\"Platinum\"}", 400,
       "throttlingPolicy: 'Platinum' is not a known tier"},
      {"policy by case", "{\"name\":\"app3\",\"throttlingPolicy\":\"unlimited\"}", 400,
       "'unlimited' is not a known tier"},
      {"name taken", "{\"name\":\"app one\",\"throttlingPolicy\":\"Gold\"}", 409,
       "A duplicate application already exists by the name - app one"},
      {"not an object", "\"app\"", 400, "The body"},
  };
  for (size_t i = 0; i < sizeof(app_rows) / sizeof(app_rows[0]); i++) {
    call_raw(&sim, "POST", APPS_PATH, app_rows[i].body, strlen(app_rows[i].body), &r);
    expect_error(app_rows[i].label, &r, app_rows[i].status, app_rows[i].expect);
    st_reply_free(&r);
  }
  add_app(&sim, "app2", "10PerMin", app2);
  assert_int_equal(2, list_count(&sim, APPS_PATH));
  snprintf(path, sizeof(path), "%s/%s", APPS_PATH, app2);
  expect_status("GET app2", call_json(&sim, "GET", path, NULL, &r), 200, &r);
  assert_string_equal("app2", json_string_value(json_object_get(r.json, "name")));
  assert_string_equal("10PerMin", json_string_value(json_object_get(r.json, "throttlingPolicy")));
  st_reply_free(&r);

  /* key mappings */
  map_ok(&sim, app1, "ck-1", "PRODUCTION", "km-rsa");
  map_ok(&sim, app1, "ck-1-sandbox", "SANDBOX", "km-rsa");
  map_ok(&sim, app1, "ck-1-ec", "PRODUCTION", "km-ec");
  static const struct {
    const char *label;
    int app; /* 1, 2, or 0 for an unknown application */
    const char *ck, *type, *km;
    long status;
    const char *expect;
  } map_rows[] = {
      {"consumer key taken", 2, "ck-1", "PRODUCTION", "km-rsa", 409,
       "The consumer key 'ck-1' is already mapped to an application"},
      {"second production key", 1, "ck-other", "PRODUCTION", "km-rsa", 409,
       "Application 'app one' already has PRODUCTION keys from key manager 'km-rsa'"},
      {"bad key type", 2, "ck-2", "DEV", "km-rsa", 400, "keyType: PRODUCTION or SANDBOX"},
      {"key type by case", 2, "ck-2", "production", "km-rsa", 400, "keyType: PRODUCTION or"},
      {"no key type", 2, "ck-2", NULL, "km-rsa", 400, "keyType: PRODUCTION or SANDBOX"},
      {"no key manager", 2, "ck-2", "PRODUCTION", NULL, 400,
       "keyManager: the name of a registered key manager is required"},
      {"unknown key manager", 2, "ck-2", "PRODUCTION", "nope", 400,
       "keyManager: no key manager is named 'nope'"},
      {"no consumer key", 2, NULL, "PRODUCTION", "km-rsa", 400, CK_RULE},
      {"consumer key with a space", 2, "ck 2", "PRODUCTION", "km-rsa", 400, CK_RULE},
      {"unknown application", 0, "ck-2", "PRODUCTION", "km-rsa", 404,
       "Requested application with Id '" NO_UUID "' not found"},
  };
  for (size_t i = 0; i < sizeof(map_rows) / sizeof(map_rows[0]); i++) {
    const char *app = map_rows[i].app == 1 ? app1 : map_rows[i].app == 2 ? app2 : NO_UUID;
    map_keys(&sim, app, map_rows[i].ck, map_rows[i].type, map_rows[i].km, &r);
    expect_error(map_rows[i].label, &r, map_rows[i].status, map_rows[i].expect);
    st_reply_free(&r);
  }
  snprintf(path, sizeof(path), "%s/%s/oauth-keys", APPS_PATH, app1);
  assert_int_equal(3, list_count(&sim, path));
  snprintf(path, sizeof(path), "%s/%s/oauth-keys", APPS_PATH, app2);
  assert_int_equal(0, list_count(&sim, path));
  snprintf(path, sizeof(path), "%s/%s/map-keys", APPS_PATH, app2);
  expect_status("GET map-keys", call_json(&sim, "GET", path, NULL, &r), 405, &r);
  st_reply_free(&r);
  snprintf(path, sizeof(path), "%s/%s/keys", APPS_PATH, app2);
  call_json(&sim, "GET", path, NULL, &r);
  expect_error("unknown sub-resource", &r, 404, "No such resource");
  st_reply_free(&r);

  /* deleting app1 frees its consumer keys */
  delete_ok(&sim, APPS_PATH, app1);
  snprintf(path, sizeof(path), "%s/%s/oauth-keys", APPS_PATH, app1);
  call_json(&sim, "GET", path, NULL, &r);
  expect_error("keys of a deleted application", &r, 404, "not found");
  st_reply_free(&r);
  map_ok(&sim, app2, "ck-1", "PRODUCTION", "km-rsa");
  assert_int_equal(1, list_count(&sim, APPS_PATH));

  /* deleting a key manager drops the mappings made under it */
  char ec_id[64];
  snprintf(ec_id, sizeof(ec_id), "%s", km);
  map_ok(&sim, app2, "ck-2-ec", "PRODUCTION", "km-ec");
  delete_ok(&sim, KM_PATH, ec_id);
  snprintf(path, sizeof(path), "%s/%s/oauth-keys", APPS_PATH, app2);
  assert_int_equal(1, list_count(&sim, path));
  /* a new key manager of that name starts with no mappings */
  add_km(&sim, "km-ec", ISSUER_EC, "ES256", K->ec_cert, km);
  assert_int_equal(1, list_count(&sim, path));
  map_ok(&sim, app2, "ck-2-ec", "PRODUCTION", "km-ec");
  st_check(st_sim_stop(&sim));
}

/* ---- subscriptions ------------------------------------------------------------------------ */

static void test_subscriptions(void **state) {
  (void)state;
  st_sim sim;
  start_sim(&sim, "subscriptions", NULL);
  char api[64], api2[64], app1[64], app2[64], sub1[64], sub2[64], path[256];
  create_api(&sim, "Test", "/test", "https://localhost:1/x", json_pack("[s]", "oauth2"), api);
  create_api(&sim, "Other", "/other", "https://localhost:1/x", json_pack("[s]", "oauth2"), api2);
  add_app(&sim, "app1", "Unlimited", app1);
  add_app(&sim, "app2", "Unlimited", app2);

  st_reply r;
  expect_status("subscribe", subscribe(&sim, app1, api, "Gold", &r), 201, &r);
  copy_member(&r, "subscriptionId", sub1);
  assert_string_equal(app1, json_string_value(json_object_get(r.json, "applicationId")));
  assert_string_equal(api, json_string_value(json_object_get(r.json, "apiId")));
  assert_string_equal("Gold", json_string_value(json_object_get(r.json, "throttlingPolicy")));
  char *location = st_header(&r, "Location");
  snprintf(path, sizeof(path), "%s/%s", SUBS_PATH, sub1);
  assert_non_null(location);
  assert_string_equal(path, location);
  free(location);
  json_t *created = json_incref(r.json);
  st_reply_free(&r);

  static const struct {
    const char *label;
    int app, api; /* 1 / 2 the real ones, 0 an unknown UUID, -1 not a UUID, -2 absent */
    const char *tier;
    long status;
    const char *expect;
  } rows[] = {
      {"already subscribed", 1, 1, "Unlimited", 409,
       "Subscription already exists for API Test:1.0 in application app1"},
      {"unknown application", 0, 1, "Unlimited", 404, "Requested application not found"},
      {"application not a UUID", -1, 1, "Unlimited", 404, "Requested application not found"},
      {"unknown API", 1, 0, "Unlimited", 404, "Requested API not found"},
      {"API not a UUID", 1, -1, "Unlimited", 404, "Requested API not found"},
      {"unknown policy", 2, 1, "Platinum", 400, "throttlingPolicy: 'Platinum' is not a known"},
      {"no policy", 2, 1, NULL, 400, "throttlingPolicy: the name of a throttling tier"},
      {"no application", -2, 1, "Unlimited", 400, "applicationId and apiId are required"},
      {"no API", 2, -2, "Unlimited", 400, "applicationId and apiId are required"},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    const char *a = rows[i].app == 1    ? app1
                    : rows[i].app == 2  ? app2
                    : rows[i].app == 0  ? NO_UUID
                    : rows[i].app == -1 ? "app1"
                                        : NULL;
    const char *p = rows[i].api == 1    ? api
                    : rows[i].api == 0  ? NO_UUID
                    : rows[i].api == -1 ? "Test"
                                        : NULL;
    subscribe(&sim, a, p, rows[i].tier, &r);
    expect_error(rows[i].label, &r, rows[i].status, rows[i].expect);
    st_reply_free(&r);
  }
  subscribe_ok(&sim, app2, api, "10PerMin", sub2);
  subscribe_ok(&sim, app2, api2, "Unlimited", NULL);

  /* the lists */
  snprintf(path, sizeof(path), "%s?apiId=%s", SUBS_PATH, api);
  assert_int_equal(2, list_count(&sim, path));
  snprintf(path, sizeof(path), "%s?applicationId=%s", SUBS_PATH, app2);
  assert_int_equal(2, list_count(&sim, path));
  snprintf(path, sizeof(path), "%s?applicationId=%s&apiId=%s", SUBS_PATH, app1, api);
  assert_int_equal(1, list_count(&sim, path));
  call_json(&sim, "GET", SUBS_PATH, NULL, &r);
  expect_error("no filter", &r, 400, "Either applicationId or apiId should be available");
  st_reply_free(&r);
  call_json(&sim, "GET", SUBS_PATH "?apiId=" NO_UUID, NULL, &r);
  expect_error("unknown API filter", &r, 404, "Requested API not found");
  st_reply_free(&r);
  call_json(&sim, "GET", SUBS_PATH "?applicationId=" NO_UUID, NULL, &r);
  expect_error("unknown application filter", &r, 404, "Requested application not found");
  st_reply_free(&r);

  /* one, then delete it */
  snprintf(path, sizeof(path), "%s/%s", SUBS_PATH, sub1);
  expect_status("GET one", call_json(&sim, "GET", path, NULL, &r), 200, &r);
  assert_true(json_equal(created, r.json));
  st_reply_free(&r);
  json_decref(created);
  expect_status("PUT", call_json(&sim, "PUT", path, json_object(), &r), 405, &r);
  st_reply_free(&r);
  delete_ok(&sim, SUBS_PATH, sub1);
  call_json(&sim, "GET", path, NULL, &r);
  expect_error("GET deleted", &r, 404, "not found");
  st_reply_free(&r);
  call_json(&sim, "DELETE", path, NULL, &r);
  expect_error("DELETE again", &r, 404, "not found");
  st_reply_free(&r);
  subscribe_ok(&sim, app1, api, "Unlimited", sub1); /* possible again */

  /* an API's deletion drops its subscriptions */
  delete_ok(&sim, ST_APIS, api);
  snprintf(path, sizeof(path), "%s?applicationId=%s", SUBS_PATH, app2);
  assert_int_equal(1, list_count(&sim, path)); /* the one to Other */
  snprintf(path, sizeof(path), "%s/%s", SUBS_PATH, sub2);
  call_json(&sim, "GET", path, NULL, &r);
  expect_error("subscription of a deleted API", &r, 404, "not found");
  st_reply_free(&r);

  /* an application's deletion drops its subscriptions */
  delete_ok(&sim, APPS_PATH, app2);
  snprintf(path, sizeof(path), "%s?apiId=%s", SUBS_PATH, api2);
  assert_int_equal(0, list_count(&sim, path));
  st_check(st_sim_stop(&sim));
}

/* ---- persistence ---------------------------------------------------------------------------- */

/* Everything the admin API lists, as one JSON value (new reference). */
static json_t *snapshot(st_sim *sim, const char *app_id, const char *api_id) {
  const char *paths[4];
  char keys_path[256], subs_path[256];
  snprintf(keys_path, sizeof(keys_path), "%s/%s/oauth-keys", APPS_PATH, app_id);
  snprintf(subs_path, sizeof(subs_path), "%s?apiId=%s", SUBS_PATH, api_id);
  paths[0] = KM_PATH;
  paths[1] = APPS_PATH;
  paths[2] = keys_path;
  paths[3] = subs_path;
  json_t *all = json_array();
  for (size_t i = 0; i < 4; i++) {
    st_reply r;
    expect_status(paths[i], call_json(sim, "GET", paths[i], NULL, &r), 200, &r);
    json_array_append(all, r.json);
    st_reply_free(&r);
  }
  return all;
}

static void test_persistence(void **state) {
  (void)state;
  st_sim sim;
  start_sim(&sim, "persistence", NULL);
  char km[64], km_ec[64], api[64], app[64], app_gone[64], sub[64];
  add_km(&sim, "km-rsa", ISSUER, "RS256", K->rsa_pub, km);
  add_km(&sim, "km-ec", ISSUER_EC, "ES256", K->ec_cert, km_ec);
  create_api(&sim, "Test", "/test", "https://localhost:1/x", json_pack("[s]", "oauth2"), api);
  add_app(&sim, "app1", "Gold", app);
  add_app(&sim, "gone", "Unlimited", app_gone);
  map_ok(&sim, app, "ck-1", "PRODUCTION", "km-rsa");
  map_ok(&sim, app, "ck-1-sbx", "SANDBOX", "km-ec");
  subscribe_ok(&sim, app, api, "Gold", sub);
  map_ok(&sim, app_gone, "ck-gone", "PRODUCTION", "km-rsa");
  subscribe_ok(&sim, app_gone, api, "Gold", NULL);
  delete_ok(&sim, APPS_PATH, app_gone);
  json_t *before = snapshot(&sim, app, api);
  assert_int_equal(2, (int)json_integer_value(json_object_get(json_array_get(before, 0), "count")));

  /* a clean restart, then kill -9 */
  for (int round = 0; round < 2; round++) {
    if (round == 0)
      st_check(st_sim_stop(&sim));
    else
      st_check(st_sim_kill(&sim));
    st_check(st_sim_restart(&sim));
    /* every cascade was written: the start found no orphan to clean up */
    assert_false(st_log_contains(&sim, "is gone; removed"));
    json_t *after = snapshot(&sim, app, api);
    if (!json_equal(before, after)) {
      char *a = json_dumps(before, JSON_COMPACT), *b = json_dumps(after, JSON_COMPACT);
      fail_msg("round %d: before %s\nafter %s", round, a, b);
    }
    json_decref(after);
    /* memory is rebuilt, not just the lists: the uniqueness rules hold */
    st_reply r;
    call_json(&sim, "POST", APPS_PATH,
              json_pack("{s:s, s:s}", "name", "app1", "throttlingPolicy", "Unlimited"), &r);
    expect_error("app name after restart", &r, 409, "app1");
    st_reply_free(&r);
    map_keys(&sim, app, "ck-1", "PRODUCTION", "km-rsa", &r);
    expect_error("consumer key after restart", &r, 409, "already mapped");
    st_reply_free(&r);
    subscribe(&sim, app, api, "Unlimited", &r);
    expect_error("subscription after restart", &r, 409, "already exists");
    st_reply_free(&r);
    call_json(&sim, "POST", KM_PATH,
              json_pack("{s:s, s:s, s:{s:s, s:s}}", "name", "km-rsa", "issuer", "x", "certificates",
                        "type", "PEM", "value", K->rsa_pub),
              &r);
    expect_error("key manager name after restart", &r, 409, "km-rsa");
    st_reply_free(&r);
  }
  json_decref(before);

  /* deletions persist too */
  delete_ok(&sim, KM_PATH, km_ec);
  delete_ok(&sim, SUBS_PATH, sub);
  st_check(st_sim_stop(&sim));
  st_check(st_sim_restart(&sim));
  assert_int_equal(1, list_count(&sim, KM_PATH));
  char path[256];
  snprintf(path, sizeof(path), "%s/%s/oauth-keys", APPS_PATH, app);
  assert_int_equal(1, list_count(&sim, path));
  snprintf(path, sizeof(path), "%s?apiId=%s", SUBS_PATH, api);
  assert_int_equal(0, list_count(&sim, path));
  /* the API's deletion, across a restart */
  subscribe_ok(&sim, app, api, "Gold", sub);
  delete_ok(&sim, ST_APIS, api);
  assert_true(st_log_contains(&sim, "1 subscription(s) of deleted API"));
  st_check(st_sim_stop(&sim));
  st_check(st_sim_restart(&sim));
  snprintf(path, sizeof(path), "%s?applicationId=%s", SUBS_PATH, app);
  assert_int_equal(0, list_count(&sim, path));
  /* every cascade was written: the start found no orphan to clean up */
  assert_false(st_log_contains(&sim, "is gone; removed"));
  st_check(st_sim_stop(&sim));
}

/* Objects a failed cascade would leave (written here straight into the stopped
 * simulator's store) are skipped and removed at the next start; an object
 * that does not load stops the start with a reason. */
static void put_object(const char *db, const char *kind, const char *key, const char *json) {
  gsim_store *store = NULL;
  char why[256] = "";
  if (gsim_store_open(db, &store, why, sizeof(why)) != 0)
    fail_msg("%s: %s", db, why);
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  snprintf(row.kind, sizeof(row.kind), "%s", kind);
  snprintf(row.key, sizeof(row.key), "%s", key);
  row.json = (char *)json;
  row.created_ms = row.updated_ms = T0 * 1000;
  assert_int_equal(GSIM_STORE_OK, gsim_store_object_upsert(store, &row, NULL));
  gsim_store_close(store);
}

static void test_store_leftovers(void **state) {
  (void)state;
  st_sim sim;
  start_sim(&sim, "leftovers", NULL);
  char km[64], api[64], app[64], path[256], db[BS_PATH_MAX], key[256], json[512];
  add_km(&sim, "km-rsa", ISSUER, "RS256", K->rsa_pub, km);
  create_api(&sim, "Test", "/test", "https://localhost:1/x", json_pack("[s]", "oauth2"), api);
  add_app(&sim, "app1", "Unlimited", app);
  st_check(st_sim_stop(&sim));
  bs_join(db, sim.dir, "state/gatecert-sim.db");

  /* a subscription of an application that is gone, a mapping of one that is
   * gone, a mapping under a key manager that is gone */
  snprintf(key, sizeof(key), "%s/%s", api, NO_UUID);
  snprintf(json, sizeof(json),
           "{\"subscriptionId\":\"%s\",\"applicationId\":\"%s\",\"apiId\":\"%s\","
           "\"throttlingPolicy\":\"Gold\",\"status\":\"UNBLOCKED\"}",
           NO_UUID, NO_UUID, api);
  put_object(db, "subscription", key, json);
  snprintf(json, sizeof(json),
           "{\"consumerKey\":\"ck-x\",\"applicationId\":\"%s\",\"keyType\":\"PRODUCTION\","
           "\"keyManager\":\"km-rsa\"}",
           NO_UUID);
  put_object(db, "key_mapping", NO_UUID "/ck-x", json);
  snprintf(key, sizeof(key), "%s/ck-y", app);
  snprintf(json, sizeof(json),
           "{\"consumerKey\":\"ck-y\",\"applicationId\":\"%s\",\"keyType\":\"PRODUCTION\","
           "\"keyManager\":\"km-gone\"}",
           app);
  put_object(db, "key_mapping", key, json);
  st_check(st_sim_restart(&sim));
  assert_true(st_log_contains(&sim, "its application or API is gone; removed"));
  assert_true(st_log_contains(&sim, "its application or key manager is gone; removed"));
  snprintf(path, sizeof(path), "%s?apiId=%s", SUBS_PATH, api);
  assert_int_equal(0, list_count(&sim, path));
  snprintf(path, sizeof(path), "%s/%s/oauth-keys", APPS_PATH, app);
  assert_int_equal(0, list_count(&sim, path));
  map_ok(&sim, app, "ck-x", "PRODUCTION", "km-rsa"); /* the leftover does not hold its key */
  st_check(st_sim_stop(&sim));
  st_check(st_sim_restart(&sim)); /* removed for good */
  assert_false(st_log_contains(&sim, "is gone; removed"));
  assert_int_equal(1, list_count(&sim, path));
  st_check(st_sim_stop(&sim));

  /* a key manager whose key no longer loads: the start fails and says which */
  put_object(db, "key_manager", km,
             "{\"id\":\"x\",\"name\":\"km-rsa\",\"issuer\":\"i\",\"alg\":\"RS256\","
             "\"certificates\":{\"type\":\"PEM\",\"value\":\"not a key\"}}");
  assert_int_equal(-1, st_sim_restart(&sim));
  if (!strstr(st_error(), "store: key_manager") || !strstr(st_error(), "does not load"))
    fail_msg("the start failed without naming the object: %s", st_error());
}

/* ---- the data plane ------------------------------------------------------------------------ */

typedef struct world {
  bs_process *backend;
  st_sim sim;
  char api[64];
  char root[BS_PATH_MAX];
  const char *args[5]; /* the simulator's extra arguments (kept for restarts) */
} world;

/* A backend serving the catalogue's server chain, a simulator trusting its
 * root from the start, two key managers, an oauth2 API and its subscribers:
 *   ck-1 (km-rsa) -> app1, subscribed      ck-2 (km-rsa) -> app2, not subscribed
 *   ck-3 (km-ec)  -> app3, subscribed */
static void start_world_as(world *w, const char *dir_name, const char *profile, const char *brk) {
  w->backend = sw_backend("echo", "server", NULL, NULL);
  w->args[0] = "--trust";
  w->args[1] = bt_scratch(w->root, "root.pem");
  w->args[2] = brk ? "--break" : NULL;
  w->args[3] = brk;
  w->args[4] = NULL;
  start_sim_as(&w->sim, dir_name, profile, w->args);
  char url[128], id[64], app1[64], app2[64], app3[64];
  snprintf(url, sizeof(url), "https://localhost:%d", bs_port(w->backend, "echo"));
  create_api(&w->sim, "Secure", "/secure", url, json_pack("[s]", "oauth2"), w->api);
  add_km(&w->sim, "km-rsa", ISSUER, "RS256", K->rsa_pub, id);
  add_km(&w->sim, "km-ec", ISSUER_EC, "ES256", K->ec_pub, id);
  add_app(&w->sim, "app1", "Unlimited", app1);
  add_app(&w->sim, "app2", "Unlimited", app2);
  add_app(&w->sim, "app3", "Unlimited", app3);
  map_ok(&w->sim, app1, "ck-1", "PRODUCTION", "km-rsa");
  map_ok(&w->sim, app2, "ck-2", "PRODUCTION", "km-rsa");
  map_ok(&w->sim, app3, "ck-3", "PRODUCTION", "km-ec");
  subscribe_ok(&w->sim, app1, w->api, "Unlimited", NULL);
  subscribe_ok(&w->sim, app3, w->api, "Unlimited", NULL);
}

static void start_world(world *w, const char *dir_name) { start_world_as(w, dir_name, NULL, NULL); }

static void stop_world(world *w) { sw_stop(&w->sim, w->backend); }

/* A token (malloc'd); exp or nbf < 0: none. */
static char *mint(EVP_PKEY *key, gjwt_alg alg, const char *iss, const char *client, int64_t iat,
                  int64_t exp, int64_t nbf) {
  json_t *claims =
      json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "iss", iss, "sub", client, "azp", client,
                "client_id", client, "iat", (json_int_t)iat, "jti", "test-token");
  if (exp >= 0)
    json_object_set_new(claims, "exp", json_integer((json_int_t)exp));
  if (nbf >= 0)
    json_object_set_new(claims, "nbf", json_integer((json_int_t)nbf));
  char *token = NULL;
  char why[256] = "";
  if (gjwt_sign(alg, key, "test", claims, &token, why, sizeof(why)) != 0)
    fail_msg("gjwt_sign: %s", why);
  json_decref(claims);
  return token;
}

/* A field of a fault body: JSON {"code":..} or XML <ams:code>..</ams:code>
 * (out: "" when absent). */
static void fault_field(const char *body, const char *name, char *out, size_t out_len) {
  out[0] = '\0';
  json_t *fault = json_loads(body, 0, NULL);
  const char *got = json_string_value(json_object_get(fault, name));
  if (got)
    snprintf(out, out_len, "%s", got);
  json_decref(fault);
  char open[48];
  snprintf(open, sizeof(open), ":%s>", name);
  const char *x = got ? NULL : strstr(body, open);
  if (x) {
    x += strlen(open);
    snprintf(out, out_len, "%.*s", (int)strcspn(x, "<"), x);
  }
}

/* GET /secure/1.0/menaka with an Authorization header (NULL: none); checks
 * the status and, for a fault, its code (JSON or XML) and, when given, its
 * message. Returns nothing: fails the test. */
static void call_checked(world *w, const char *label, const char *authorization, long status,
                         const char *code, const char *message) {
  char header[GJWT_MAX_TOKEN + 64];
  const char *headers[] = {header, NULL};
  if (authorization)
    snprintf(header, sizeof(header), "Authorization: %s", authorization);
  bs_request req = {.port = w->sim.https,
                    .path = "/secure/1.0/menaka",
                    .insecure = 1,
                    .headers = authorization ? headers : NULL};
  bs_response res;
  bs_http(&req, &res);
  if (res.code != CURLE_OK)
    fail_msg("%s: %s", label, res.error);
  if (res.status != status)
    fail_msg("%s: expected %ld, got %ld: %s", label, status, res.status, res.body);
  char got[128];
  if (code) {
    fault_field(res.body, "code", got, sizeof(got));
    if (strcmp(got, code) != 0)
      fail_msg("%s: expected fault code %s: %s", label, code, res.body);
  }
  if (message) {
    fault_field(res.body, "message", got, sizeof(got));
    if (strcmp(got, message) != 0)
      fail_msg("%s: expected the message \"%s\": %s", label, message, res.body);
  }
  if (!code && !message && !strstr(res.body, "menaka"))
    fail_msg("%s: the backend's answer was expected: %s", label, res.body);
  bs_response_free(&res);
}

static void call_with(world *w, const char *label, const char *authorization, long status,
                      const char *code) {
  call_checked(w, label, authorization, status, code, NULL);
}

static void call_token_message(world *w, const char *label, const char *token, long status,
                               const char *code, const char *message) {
  char bearer[GJWT_MAX_TOKEN + 16];
  snprintf(bearer, sizeof(bearer), "Bearer %s", token);
  call_checked(w, label, bearer, status, code, message);
  /* the token is never logged: not even its signature */
  const char *sig = strrchr(token, '.');
  if (sig && strlen(sig) > 16 && st_log_contains(&w->sim, sig + 1))
    fail_msg("%s: the token is in the gateway log", label);
}

static void call_token(world *w, const char *label, const char *token, long status,
                       const char *code) {
  call_token_message(w, label, token, status, code, NULL);
}

typedef enum token_kind {
  TK_VALID_RSA,      /* ck-1, km-rsa */
  TK_VALID_EC,       /* ck-3, km-ec */
  TK_EXPIRED,        /* ck-1, iat T0-2h, exp T0-1h */
  TK_WRONG_ISSUER,   /* ck-1 signed by km-rsa's key, iss not registered */
  TK_WRONG_KEY,      /* ck-1, iss km-rsa, another RSA key */
  TK_ALG_CONFUSION,  /* ck-1, iss km-rsa (RS256), an ES256 token signed by km-ec's key */
  TK_NOT_SUBSCRIBED, /* ck-2 */
  TK_UNMAPPED,       /* ck-9: no application */
  TK_OTHER_KM,       /* ck-3 (mapped under km-ec) in a km-rsa token */
  TK_NBF_FUTURE,     /* ck-1, nbf T0+1h */
  TK_NO_EXP,         /* ck-1, no exp claim */
  TK_NO_CLIENT,      /* valid, but neither azp nor client_id */
} token_kind;

static char *token_of(token_kind kind) {
  int64_t iat = T0, exp = T0 + 3600;
  switch (kind) {
  case TK_VALID_RSA:
    return mint(K->rsa, GJWT_RS256, ISSUER, "ck-1", iat, exp, -1);
  case TK_VALID_EC:
    return mint(K->ec, GJWT_ES256, ISSUER_EC, "ck-3", iat, exp, -1);
  case TK_EXPIRED:
    return mint(K->rsa, GJWT_RS256, ISSUER, "ck-1", T0 - 7200, T0 - 3600, -1);
  case TK_WRONG_ISSUER:
    return mint(K->rsa, GJWT_RS256, "https://other.example/token", "ck-1", iat, exp, -1);
  case TK_WRONG_KEY:
    return mint(K->rsa_other, GJWT_RS256, ISSUER, "ck-1", iat, exp, -1);
  case TK_ALG_CONFUSION:
    return mint(K->ec, GJWT_ES256, ISSUER, "ck-1", iat, exp, -1);
  case TK_NOT_SUBSCRIBED:
    return mint(K->rsa, GJWT_RS256, ISSUER, "ck-2", iat, exp, -1);
  case TK_UNMAPPED:
    return mint(K->rsa, GJWT_RS256, ISSUER, "ck-9", iat, exp, -1);
  case TK_OTHER_KM:
    return mint(K->rsa, GJWT_RS256, ISSUER, "ck-3", iat, exp, -1);
  case TK_NBF_FUTURE:
    return mint(K->rsa, GJWT_RS256, ISSUER, "ck-1", iat, exp, T0 + 3600);
  case TK_NO_EXP:
    return mint(K->rsa, GJWT_RS256, ISSUER, "ck-1", iat, -1, -1);
  case TK_NO_CLIENT: {
    json_t *claims = json_pack("{s:s, s:s, s:I, s:I}", "iss", ISSUER, "sub", "ck-1", "iat",
                               (json_int_t)iat, "exp", (json_int_t)exp);
    char *token = NULL;
    char why[256];
    if (gjwt_sign(GJWT_RS256, K->rsa, NULL, claims, &token, why, sizeof(why)) != 0)
      fail_msg("gjwt_sign: %s", why);
    json_decref(claims);
    return token;
  }
  }
  return NULL;
}

static const struct {
  const char *label;
  token_kind kind;
  long status;
  const char *code; /* NULL: 200 from the backend */
  const char *log;  /* the reason the gateway logs, or NULL */
} token_rows[] = {
    {"valid RS256", TK_VALID_RSA, 200, NULL, NULL},
    {"valid ES256", TK_VALID_EC, 200, NULL, NULL},
    {"expired", TK_EXPIRED, 401, "900901", "token expired at 2029-12-31T23:00:00.000Z"},
    {"wrong issuer", TK_WRONG_ISSUER, 401, "900901",
     "no key manager has the issuer https://other.example/token"},
    {"wrong key", TK_WRONG_KEY, 401, "900901", "key manager 'km-rsa': signature: does not verify"},
    {"ES256 token for an RS256 key manager", TK_ALG_CONFUSION, 401, "900901",
     "key manager 'km-rsa': header: alg ES256, expected RS256"},
    {"not subscribed", TK_NOT_SUBSCRIBED, 403, "900908", "is not subscribed to Secure:1.0"},
    {"unmapped client", TK_UNMAPPED, 403, "900908",
     "client id ck-9 is not mapped to an application under key manager 'km-rsa'"},
    {"client of another key manager", TK_OTHER_KM, 403, "900908",
     "client id ck-3 is not mapped to an application under key manager 'km-rsa'"},
    {"nbf an hour ahead (WSO2 does not check nbf)", TK_NBF_FUTURE, 200, NULL, NULL},
    {"no exp (WSO2: exp == null passes)", TK_NO_EXP, 200, NULL, NULL},
    {"no client id", TK_NO_CLIENT, 401, "900901", "no azp or client_id claim"},
};

static void test_tokens(void **state) {
  (void)state;
  world w = {0};
  start_world(&w, "tokens");
  for (size_t i = 0; i < sizeof(token_rows) / sizeof(token_rows[0]); i++) {
    char *token = token_of(token_rows[i].kind);
    call_token(&w, token_rows[i].label, token, token_rows[i].status, token_rows[i].code);
    if (token_rows[i].log && !st_log_contains(&w.sim, token_rows[i].log))
      fail_msg("%s: the log lacks \"%s\"", token_rows[i].label, token_rows[i].log);
    free(token);
  }
  /* what is not a bearer JWT */
  char *valid = token_of(TK_VALID_RSA);
  char lower[GJWT_MAX_TOKEN + 16], tampered[GJWT_MAX_TOKEN + 16];
  snprintf(lower, sizeof(lower), "bearer %s", valid);
  call_with(&w, "scheme in lower case", lower, 200, NULL);
  call_with(&w, "no Authorization", NULL, 401, "900902");
  call_with(&w, "Basic credentials", "Basic YWRtaW46YWRtaW4=", 401, "900902");
  call_with(&w, "empty bearer", "Bearer ", 401, "900902");
  call_with(&w, "opaque bearer", "Bearer 2YotnFZFEjr1zCsicMWpAA", 401, "900901");
  snprintf(tampered, sizeof(tampered), "Bearer %sx", valid);
  call_with(&w, "signature with a byte more", tampered, 401, "900901");
  char *header_end = strchr(valid, '.');
  snprintf(tampered, sizeof(tampered), "Bearer eyJhbGciOiJub25lIn0%s", header_end);
  call_with(&w, "alg none header", tampered, 401, "900901");
  free(valid);
  stop_world(&w);
}

/* exp and nbf on the fake clock, with the profile's skew (rule jwt-skew) at
 * each edge: wso2-4 (jwt.skew-0, TimestampSkew 0 as 4.x ships it) refuses a
 * token from exp on; wso2-2.6 and sap (300 s) from exp + 300 s; --break
 * jwt-skew swaps wso2-4's and 2.6's rows. nbf only where the jwt nbf row
 * checks it (sap, with its 300 s skew), never under WSO2. The log names the
 * skew and its rule. */
static void test_token_times(void **state) {
  (void)state;
  static const struct {
    const char *profile, *brk;
    int64_t skew;     /* seconds */
    const char *rule; /* the skew's rule id, as logged */
    long before_nbf;  /* the status of the call long before nbf, and at nbf - skew - 1 s */
  } runs[] = {
      {"wso2-4", NULL, 0, "jwt.skew-0", 200},
      {"wso2-2.6", NULL, 300, "jwt.skew-300-2.6", 200},
      {"sap", NULL, 300, "jwt.skew-300-sap", 401},
      {"wso2-4", "jwt-skew", 300, "jwt.skew-300-2.6", 200},
      {"wso2-2.6", "jwt-skew", 0, "jwt.skew-0", 200},
  };
  for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
    world w = {0};
    char dir[64], label[128], logged[160];
    snprintf(dir, sizeof(dir), "token-times-%zu", i);
    start_world_as(&w, dir, runs[i].profile, runs[i].brk);
    const char *refused = runs[i].before_nbf == 200 ? NULL : "900901";
    /* nbf - skew - 1 s comes after exp + skew under every skew: the clock only moves on */
    const int64_t exp = T0 + 600, nbf = T0 + 1800, skew = runs[i].skew;
    char *ends = mint(K->rsa, GJWT_RS256, ISSUER, "ck-1", T0, exp, -1);
    char *starts = mint(K->rsa, GJWT_RS256, ISSUER, "ck-1", T0, T0 + 7200, nbf);
#define AT(what)                                                                                   \
  (snprintf(label, sizeof(label), "%s%s%s: %s", runs[i].profile, runs[i].brk ? " --break " : "",   \
            runs[i].brk ? runs[i].brk : "", what),                                                 \
   label)
    call_token(&w, AT("before exp"), ends, 200, NULL);
    call_token(&w, AT("long before nbf"), starts, runs[i].before_nbf, refused);
    st_check(st_clock_set(&w.sim, (exp + skew - 1) * 1000));
    call_token(&w, AT("exp + skew - 1 s"), ends, 200, NULL);
    st_check(st_clock_set(&w.sim, (exp + skew) * 1000));
    call_token(&w, AT("exp + skew"), ends, 401, "900901");
    snprintf(logged, sizeof(logged), "%d s skew, rule %s)", (int)skew, runs[i].rule);
    if (!st_log_contains(&w.sim, "token expired at 2030-01-01T00:10:00.000Z (now ") ||
        !st_log_contains(&w.sim, logged))
      fail_msg("%s: the log lacks the expiry with \"%s\"", AT("exp + skew"), logged);
    st_check(st_clock_set(&w.sim, (nbf - skew - 1) * 1000));
    call_token(&w, AT("nbf - skew - 1 s"), starts, runs[i].before_nbf, refused);
    st_check(st_clock_set(&w.sim, (nbf - skew) * 1000));
    call_token(&w, AT("nbf - skew"), starts, 200, NULL);
#undef AT
    free(ends);
    free(starts);
    stop_world(&w);
  }
}

/* Token validity by profile (rule families jwt nbf and jwt no-exp): WSO2 2.6
 * and 4.x ignore nbf and pass a token without exp; sap refuses both; --break
 * jwt makes WSO2 refuse both. Expired and not subscribed answer alike
 * everywhere (2.6's faults are XML: <ams:code>, <ams:message>). */
static const struct {
  const char *profile;
  const char *brk;
  token_kind kind;
  long status;
  const char *code;    /* NULL: the backend's answer */
  const char *message; /* the fault's message, or NULL */
  const char *log;     /* in the gateway log, or NULL */
} validity_rows[] = {
    {"wso2-4", NULL, TK_NBF_FUTURE, 200, NULL, NULL, NULL},
    {"wso2-4", NULL, TK_NO_EXP, 200, NULL, NULL, NULL},
    {"wso2-4", NULL, TK_EXPIRED, 401, "900901", "Invalid Credentials", "token expired at"},
    {"wso2-4", NULL, TK_NOT_SUBSCRIBED, 403, "900908", "Resource forbidden ", NULL},
    {"wso2-2.6", NULL, TK_NBF_FUTURE, 200, NULL, NULL, NULL},
    {"wso2-2.6", NULL, TK_NO_EXP, 200, NULL, NULL, NULL},
    {"wso2-2.6", NULL, TK_EXPIRED, 401, "900901", "Invalid Credentials", "token expired at"},
    {"wso2-2.6", NULL, TK_NOT_SUBSCRIBED, 403, "900908", "Resource forbidden ", NULL},
    {"sap", NULL, TK_NBF_FUTURE, 401, "900901", "Invalid Credentials",
     "token not valid before 2030-01-01T01:00:00.000Z"},
    {"sap", NULL, TK_NO_EXP, 401, "900901", "Invalid Credentials",
     "key manager 'km-rsa': no exp claim"},
    {"sap", NULL, TK_EXPIRED, 401, "900901", "Invalid Credentials", "token expired at"},
    {"sap", NULL, TK_NOT_SUBSCRIBED, 403, "900908", "Resource forbidden ", NULL},
    {"wso2-4", "jwt", TK_NBF_FUTURE, 401, "900901", NULL, "token not valid before"},
    {"wso2-4", "jwt", TK_NO_EXP, 401, "900901", NULL, "no exp claim"},
    {"wso2-2.6", "jwt", TK_NBF_FUTURE, 401, "900901", NULL, "token not valid before"},
    {"wso2-2.6", "jwt", TK_NO_EXP, 401, "900901", NULL, "no exp claim"},
};

static int same_text(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

static const char *kind_name(token_kind kind) {
  switch (kind) {
  case TK_NBF_FUTURE:
    return "nbf an hour ahead";
  case TK_NO_EXP:
    return "no exp";
  case TK_EXPIRED:
    return "expired";
  case TK_NOT_SUBSCRIBED:
    return "not subscribed";
  default:
    return "token";
  }
}

static void test_token_validity_by_profile(void **state) {
  (void)state;
  size_t count = sizeof(validity_rows) / sizeof(validity_rows[0]);
  world w = {0};
  for (size_t i = 0; i < count; i++) {
    int same = i > 0 && same_text(validity_rows[i].profile, validity_rows[i - 1].profile) &&
               same_text(validity_rows[i].brk, validity_rows[i - 1].brk);
    if (!same) { /* one simulator per profile and --break */
      if (i > 0)
        stop_world(&w);
      char dir[64];
      snprintf(dir, sizeof(dir), "validity-%zu", i);
      memset(&w, 0, sizeof(w));
      start_world_as(&w, dir, validity_rows[i].profile, validity_rows[i].brk);
    }
    char label[128];
    snprintf(label, sizeof(label), "%s%s%s: %s", validity_rows[i].profile,
             validity_rows[i].brk ? " --break " : "",
             validity_rows[i].brk ? validity_rows[i].brk : "", kind_name(validity_rows[i].kind));
    char *token = token_of(validity_rows[i].kind);
    call_token_message(&w, label, token, validity_rows[i].status, validity_rows[i].code,
                       validity_rows[i].message);
    if (validity_rows[i].log && !st_log_contains(&w.sim, validity_rows[i].log))
      fail_msg("%s: the log lacks \"%s\"", label, validity_rows[i].log);
    free(token);
  }
  stop_world(&w);
}

/* A token's calls count under the subscription's throttle key (rule
 * throttle-key): <application>:/secure/1.0:1.0:<tier> under wso2-4 and sap,
 * <application>:/secure/1.0:1.0 (2.6's key has no tier) under wso2-2.6; the
 * built-in 10PerMin lets ten calls through either way, and the log names the
 * key of the eleventh. */
static void test_token_throttle_key(void **state) {
  (void)state;
  static const struct {
    const char *profile, *brk;
    const char *suffix; /* after <application>:/secure/1.0:1.0 */
  } runs[] = {
      {"wso2-4", NULL, ":10PerMin)"},
      {"sap", NULL, ":10PerMin)"},
      {"wso2-2.6", NULL, ")"},
      {"wso2-4", "throttle-key", ")"},
  };
  for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
    world w = {0};
    char dir[64], app[64], label[96], logged[192];
    snprintf(dir, sizeof(dir), "token-throttle-%zu", i);
    snprintf(label, sizeof(label), "%s%s%s", runs[i].profile, runs[i].brk ? " --break " : "",
             runs[i].brk ? runs[i].brk : "");
    start_world_as(&w, dir, runs[i].profile, runs[i].brk);
    add_app(&w.sim, "app4", "Unlimited", app);
    map_ok(&w.sim, app, "ck-4", "PRODUCTION", "km-rsa");
    subscribe_ok(&w.sim, app, w.api, "10PerMin", NULL);
    char *token = mint(K->rsa, GJWT_RS256, ISSUER, "ck-4", T0, T0 + 3600, -1);
    for (int n = 1; n <= 10; n++)
      call_token(&w, label, token, 200, NULL);
    call_token(&w, label, token, 429, "900804");
    snprintf(logged, sizeof(logged), "key %s:/secure/1.0:1.0%s", app, runs[i].suffix);
    if (!st_log_contains(&w.sim, logged))
      fail_msg("%s: the log does not name \"%s\"", label, logged);
    free(token);
    stop_world(&w);
  }
}

/* What the admin API set up is enforced after a restart, and follows changes. */
static void test_tokens_follow_admin(void **state) {
  (void)state;
  world w = {0};
  start_world(&w, "tokens-admin");
  char *app1_token = token_of(TK_VALID_RSA), *app2_token = token_of(TK_NOT_SUBSCRIBED);
  st_check(st_sim_stop(&w.sim));
  st_check(st_sim_restart(&w.sim));
  call_token(&w, "app1 after restart", app1_token, 200, NULL);
  call_token(&w, "app2 after restart", app2_token, 403, "900908");

  /* app2 subscribes: its token passes at once */
  char path[256];
  snprintf(path, sizeof(path), "%s?apiId=%s", SUBS_PATH, w.api);
  st_reply r;
  expect_status("list", call_json(&w.sim, "GET", path, NULL, &r), 200, &r);
  st_reply_free(&r);
  expect_status("apps", call_json(&w.sim, "GET", APPS_PATH, NULL, &r), 200, &r);
  char app2[64] = "", km[64] = "";
  json_t *apps = json_object_get(r.json, "list");
  for (size_t i = 0; i < json_array_size(apps); i++)
    if (strcmp("app2", json_string_value(json_object_get(json_array_get(apps, i), "name"))) == 0)
      snprintf(app2, sizeof(app2), "%s",
               json_string_value(json_object_get(json_array_get(apps, i), "applicationId")));
  st_reply_free(&r);
  subscribe_ok(&w.sim, app2, w.api, "Unlimited", NULL);
  call_token(&w, "app2 subscribed", app2_token, 200, NULL);

  /* the key manager goes: its tokens are invalid (no key manager for the issuer) */
  expect_status("kms", call_json(&w.sim, "GET", KM_PATH, NULL, &r), 200, &r);
  snprintf(
      km, sizeof(km), "%s",
      json_string_value(json_object_get(json_array_get(json_object_get(r.json, "list"), 0), "id")));
  st_reply_free(&r);
  delete_ok(&w.sim, KM_PATH, km);
  call_token(&w, "key manager deleted", app1_token, 401, "900901");
  /* registered again with the same key: the mappings went with the old one */
  add_km(&w.sim, "km-rsa", ISSUER, "RS256", K->rsa_pub, km);
  call_token(&w, "key manager back, mapping gone", app1_token, 403, "900908");

  /* the API goes, and comes back under the same context: no subscription */
  delete_ok(&w.sim, ST_APIS, w.api);
  char url[128];
  snprintf(url, sizeof(url), "https://localhost:%d", bs_port(w.backend, "echo"));
  create_api(&w.sim, "Secure", "/secure", url, json_pack("[s]", "oauth2"), w.api);
  call_token(&w, "API recreated", app2_token, 403, "900908");
  free(app1_token);
  free(app2_token);
  stop_world(&w);
}

int main(int argc, char **argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int failed;
  if (argc > 1 && strcmp(argv[1], "dataplane") == 0) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_tokens, bs_teardown),
        cmocka_unit_test_teardown(test_token_times, bs_teardown),
        cmocka_unit_test_teardown(test_token_validity_by_profile, bs_teardown),
        cmocka_unit_test_teardown(test_token_throttle_key, bs_teardown),
        cmocka_unit_test_teardown(test_tokens_follow_admin, bs_teardown),
    };
    failed = cmocka_run_group_tests_name("sim_oauth_dataplane", tests, setup, test_keys_teardown);
  } else if (argc > 1) {
    fprintf(stderr, "usage: %s [dataplane]\n", argv[0]);
    failed = 2;
  } else {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_key_managers, bs_teardown),
        cmocka_unit_test_teardown(test_applications_and_keys, bs_teardown),
        cmocka_unit_test_teardown(test_subscriptions, bs_teardown),
        cmocka_unit_test_teardown(test_persistence, bs_teardown),
        cmocka_unit_test_teardown(test_store_leftovers, bs_teardown),
    };
    failed = cmocka_run_group_tests_name("sim_oauth_admin", tests, setup, test_keys_teardown);
  }
  curl_global_cleanup();
  return failed;
}
