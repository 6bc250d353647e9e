/* test_sim_security.c - the data plane's security chain end to end: real TLS
 * connections with libcurl client certificates and Bearer tokens against a
 * gatecert-sim on a fake clock (2030).
 *
 * One simulator per profile (wso2-4, wso2-2.6, sap) carries an API per
 * securityScheme combination (mTLS alone, mTLS mandatory, OAuth2 alone,
 * WSO2's default, mutualssl + oauth2 with neither mandatory - OAuth2
 * mandatory under wso2-4 (rule priority.oauth-mandatory), seed 003's table
 * under wso2-2.6 and sap (priority.seed-table) -, mTLS optional + OAuth2
 * mandatory, mTLS mandatory + OAuth2 optional, both mandatory, and under
 * wso2-4 both explicitly optional (both-optional.either), which wso2-2.6 and
 * sap refuse to create with 400 naming the field). Certificate A is
 * associated with every mTLS API; certificate U only with another API, so it
 * passes the handshake but is "not associated"; tokens are ES256 JWTs of a
 * key manager registered through the admin API: one of a subscribed
 * application (valid), one signed by another key (invalid), one of an
 * application without a subscription (forbidden). Every cell (certificate
 * valid / absent / not associated x token valid / absent / invalid /
 * forbidden) is checked for its exact status, body and WWW-Authenticate,
 * from a table written by hand per profile. Then the default API version on its
 * versioned and versionless paths, and the 2.x/3.x XML fault bodies.
 */
#include "support.h"
#include "backend_fixture.h"
#include "backend_support.h"
#include "sim_fixture.h"
#include "sim_world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "gjwt.h"

#define FAKE_START "2030-01-01 00:00:00"
#define ISSUER     "https://km.gatecert.test/oauth2/token"

#define BODY_901                                                                                   \
  "{\"code\":\"900901\",\"message\":\"Invalid Credentials\",\"description\":\"Invalid "            \
  "Credentials. Make sure you have provided the correct security credentials\"}"
#define BODY_902                                                                                   \
  "{\"code\":\"900902\",\"message\":\"Missing Credentials\",\"description\":\"Invalid "            \
  "Credentials. Make sure your API invocation call has a header: 'Authorization : Bearer "         \
  "ACCESS_TOKEN' or 'Authorization : Basic ACCESS_TOKEN' or 'ApiKey : API_KEY'\"}"
#define BODY_908                                                                                   \
  "{\"code\":\"900908\",\"message\":\"Resource forbidden \",\"description\":\"User is NOT "        \
  "authorized to access the Resource. API Subscription validation failed.\"}"
#define TAIL     ", error=\"invalid_token\", error_description=\"The provided token is invalid\""
#define CH_MTLS  "Mutual SSL realm=\"WSO2 API Manager\""
#define CH_OAUTH "Bearer realm=\"WSO2 API Manager\""
#define CH_BOTH  CH_MTLS ", " CH_OAUTH

typedef struct world {
  bs_process *backend;
  char url[128];
  st_sim sim;
  EVP_PKEY *km_key;    /* the key manager's signing key */
  EVP_PKEY *rogue_key; /* signs the invalid token */
  char *token_ok, *token_invalid, *token_forbidden;
  char app_ok[64];
} world;

static sw_client cert_a, cert_u;

static int group_setup(void **state) {
  bt_setup_catalogue_2030(state);
  sw_make_client(&cert_a, "client-a");
  sw_make_client(&cert_u, "client-u");
  return 0;
}

static void start_world(world *w, const char *dir_name, const char *profile, const char *config) {
  w->backend = sw_backend("echo", "server", NULL, w->url);
  sw_sim_start(&w->sim, dir_name, profile, FAKE_START, config, NULL);
}

static long admin_json(world *w, const char *method, const char *path, json_t *body, json_t **out) {
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  st_reply r;
  st_check(st_admin(&w->sim, method, path, text, &r));
  free(text);
  long status = r.status;
  if (out)
    *out = r.json ? json_incref(r.json) : NULL;
  if (status >= 300)
    fprintf(stderr, "# %s %s: %ld %s\n", method, path, status, r.body ? r.body : "");
  st_reply_free(&r);
  return status;
}

/* ---- OAuth2 ---------------------------------------------------------------- */

static char *mint(world *w, EVP_PKEY *key, const char *consumer_key) {
  json_int_t now = (json_int_t)(st_status_i64(&w->sim, "time_ms") / 1000);
  json_t *claims =
      json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "iss", ISSUER, "sub", "alice", "azp",
                consumer_key, "client_id", consumer_key, "iat", now, "nbf", now - 60, "exp",
                now + (json_int_t)24 * 3600, "jti", consumer_key);
  char *token = NULL, why[256];
  if (gjwt_sign(GJWT_ES256, key, "km-1", claims, &token, why, sizeof(why)) != 0)
    fail_msg("gjwt_sign: %s", why);
  json_decref(claims);
  return token;
}

static void new_app(world *w, const char *name, const char *consumer_key, char id[64]) {
  json_t *out = NULL;
  long st =
      admin_json(w, "POST", "/api/am/devportal/v3/applications",
                 json_pack("{s:s, s:s}", "name", name, "throttlingPolicy", "Unlimited"), &out);
  assert_true(st == 200 || st == 201);
  snprintf(id, 64, "%s", json_string_value(json_object_get(out, "applicationId")));
  json_decref(out);
  char path[256];
  snprintf(path, sizeof(path), "/api/am/devportal/v3/applications/%s/map-keys", id);
  st = admin_json(w, "POST", path,
                  json_pack("{s:s, s:s, s:s}", "consumerKey", consumer_key, "keyType", "PRODUCTION",
                            "keyManager", "km"),
                  NULL);
  assert_true(st == 200 || st == 201);
}

static void subscribe(world *w, const char *app_id, const char *api_id, const char *tier) {
  long st = admin_json(w, "POST", "/api/am/devportal/v3/subscriptions",
                       json_pack("{s:s, s:s, s:s}", "applicationId", app_id, "apiId", api_id,
                                 "throttlingPolicy", tier),
                       NULL);
  assert_true(st == 200 || st == 201);
}

static void oauth_setup(world *w) {
  w->km_key = EVP_EC_gen("P-256");
  w->rogue_key = EVP_EC_gen("P-256");
  assert_non_null(w->km_key);
  assert_non_null(w->rogue_key);
  char *pem = test_pem(w->km_key, NULL, 0);
  long st = admin_json(w, "POST", "/api/am/admin/v4/key-managers",
                       json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "name", "km", "issuer", ISSUER,
                                 "alg", "ES256", "certificates", "type", "PEM", "value", pem),
                       NULL);
  free(pem);
  assert_true(st == 200 || st == 201);
  char other[64];
  new_app(w, "subscribed", "ck-subscribed", w->app_ok);
  new_app(w, "unsubscribed", "ck-unsubscribed", other);
  w->token_ok = mint(w, w->km_key, "ck-subscribed");
  w->token_invalid = mint(w, w->rogue_key, "ck-subscribed");
  w->token_forbidden = mint(w, w->km_key, "ck-unsubscribed");
}

static void world_free(world *w) {
  free(w->token_ok);
  free(w->token_invalid);
  free(w->token_forbidden);
  EVP_PKEY_free(w->km_key);
  EVP_PKEY_free(w->rogue_key);
}

/* ---- the data plane client ---------------------------------------------------- */

typedef struct dp_reply {
  long status;
  char body[2048];
  char www[512]; /* WWW-Authenticate, "" when absent */
  char content_type[128];
} dp_reply;

/* GET path on a fresh TLS connection with an optional client certificate and
 * bearer token. */
static void dp_call(world *w, const char *path, const sw_client *c, const char *token,
                    dp_reply *r) {
  memset(r, 0, sizeof(*r));
  char auth[GJWT_MAX_TOKEN + 64];
  snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token ? token : "");
  const char *headers[] = {auth, NULL};
  bs_request req = {.port = w->sim.https,
                    .path = path,
                    .insecure = 1,
                    .cert = c ? c->cert : NULL,
                    .key = c ? c->key : NULL,
                    .headers = token ? headers : NULL,
                    .timeout_ms = 10000};
  bs_response res;
  if (bs_http(&req, &res) != CURLE_OK)
    fail_msg("%s: %s", path, res.error);
  r->status = res.status;
  snprintf(r->body, sizeof(r->body), "%s", res.body);
  bs_header(&res, "WWW-Authenticate", r->www, sizeof(r->www));
  bs_header(&res, "Content-Type", r->content_type, sizeof(r->content_type));
  bs_response_free(&res);
}

/* ---- the table ---------------------------------------------------------------- */

/* The profiles the table runs under. */
#define P4   0x1u /* wso2-4 */
#define P26  0x2u /* wso2-2.6 */
#define PSAP 0x4u /* sap */
#define PALL 0x7u
static const char *const profiles[] = {"wso2-4", "wso2-2.6", "sap"};

typedef struct scheme_api {
  const char *name;
  const char *schemes; /* JSON list, NULL: none given (WSO2's default) */
  const char *www;     /* the challenges of a 401 */
  unsigned profiles;   /* P*: where the row holds */
  /* per certificate (A, none, U) and token (valid, none, invalid, forbidden):
   * 200, or 901 / 902 / 908 (the fault) */
  int expect[3][4];
} scheme_api;

#define OPTIONAL_SCHEMES                                                                           \
  "[\"mutualssl\",\"oauth2\",\"mutualssl_optional\",\"oauth_basic_auth_api_key_optional\"]"

/* The expectations most rows share: the certificate decides (A passes,
 * anything else is 901), or the token decides whatever the certificate. */
#define CERT_DECIDES                                                                               \
  {                                                                                                \
    {200, 200, 200, 200}, {901, 901, 901, 901}, { 901, 901, 901, 901 }                             \
  }
#define TOKEN_DECIDES                                                                              \
  {                                                                                                \
    {200, 902, 901, 908}, {200, 902, 901, 908}, { 200, 902, 901, 908 }                             \
  }

static const scheme_api apis[] = {
    {"mtls", "[\"mutualssl\"]", CH_MTLS, PALL, CERT_DECIDES},
    {"mtlsm", "[\"mutualssl\",\"mutualssl_mandatory\"]", CH_MTLS, PALL, CERT_DECIDES},
    {"oauth", "[\"oauth2\"]", CH_OAUTH, PALL, TOKEN_DECIDES},
    {"default", NULL, CH_OAUTH, PALL, TOKEN_DECIDES},
    /* mutualssl + oauth2 without a flag, wso2-4 (priority.oauth-mandatory):
     * OAuth2 mandatory, mTLS optional - the token decides, even after cert A */
    {"either", "[\"mutualssl\",\"oauth2\"]", CH_BOTH, P4, TOKEN_DECIDES},
    /* wso2-2.6 and sap (priority.seed-table, seed 003): cert valid -> token
     * ignored; cert fails -> token decides; only a (bad) cert sent -> 901;
     * nothing sent -> 902 */
    {"either",
     "[\"mutualssl\",\"oauth2\"]",
     CH_BOTH,
     P26 | PSAP,
     {{200, 200, 200, 200}, {200, 902, 901, 908}, {200, 901, 901, 908}}},
    {"oauthm", "[\"mutualssl\",\"oauth2\",\"oauth_basic_auth_api_key_mandatory\"]", CH_BOTH, PALL,
     TOKEN_DECIDES},
    {"certm", "[\"mutualssl\",\"mutualssl_mandatory\",\"oauth2\"]", CH_BOTH, PALL, CERT_DECIDES},
    {"both",
     "[\"mutualssl\",\"mutualssl_mandatory\",\"oauth2\",\"oauth_basic_auth_api_key_mandatory\"]",
     CH_BOTH,
     PALL,
     {{200, 902, 901, 908}, {901, 901, 901, 901}, {901, 901, 901, 901}}},
    /* both optional (wso2-4, both-optional.either): either credential passes;
     * neither is 901, whatever the token */
    {"optional",
     OPTIONAL_SCHEMES,
     CH_BOTH,
     P4,
     {{200, 200, 200, 200}, {200, 901, 901, 901}, {200, 901, 901, 901}}},
};

#define API_COUNT (sizeof(apis) / sizeof(apis[0]))

static void check_fault(const char *what, const dp_reply *r, int code, const char *www) {
  code %= 1000; /* 900901 or 901 */
  const char *body = code == 901 ? BODY_901 : code == 902 ? BODY_902 : BODY_908;
  long status = code == 908 ? 403 : 401;
  if (r->status != status || strcmp(r->body, body) != 0)
    fail_msg("%s: %ld %s, expected %ld %s", what, r->status, r->body, status, body);
  assert_string_equal("application/json", r->content_type);
  if (status == 401) {
    char want[512];
    snprintf(want, sizeof(want), "%s%s", www, TAIL);
    if (strcmp(r->www, want) != 0)
      fail_msg("%s: WWW-Authenticate \"%s\", expected \"%s\"", what, r->www, want);
  } else
    assert_string_equal("", r->www);
}

static void setup_table_world(world *w, const char *dir, size_t profile, char ids[][64]) {
  start_world(w, dir, profiles[profile], "{\"fault_format\": \"json\"}");
  char other[64];
  sw_create_api(&w->sim, "other", w->url, "[\"mutualssl\"]", 0, other);
  for (size_t i = 0; i < API_COUNT; i++) {
    ids[i][0] = '\0';
    if (!(apis[i].profiles & (1u << profile)))
      continue;
    sw_create_api(&w->sim, apis[i].name, w->url, apis[i].schemes, 0, ids[i]);
    if (apis[i].schemes && strstr(apis[i].schemes, "mutualssl")) {
      char alias[64];
      snprintf(alias, sizeof(alias), "a-%s", apis[i].name);
      sw_upload_client(&w->sim, ids[i], alias, &cert_a, "Unlimited");
    }
  }
  sw_upload_client(&w->sim, other, "u-other", &cert_u, "Unlimited");
  sw_reload(&w->sim);
  oauth_setup(w);
  for (size_t i = 0; i < API_COUNT; i++)
    if (ids[i][0])
      subscribe(w, w->app_ok, ids[i], "Unlimited");
}

static void test_every_combination(void **state) {
  (void)state;
  size_t cells = 0;
  for (size_t p = 0; p < sizeof(profiles) / sizeof(profiles[0]); p++) {
    world w = {0};
    char ids[API_COUNT][64], dir[64];
    snprintf(dir, sizeof(dir), "table-%s", profiles[p]);
    setup_table_world(&w, dir, p, ids);
    const sw_client *certs[3] = {&cert_a, NULL, &cert_u};
    const char *cert_names[3] = {"cert A", "no cert", "cert U (other API)"};
    const char *tokens[4] = {w.token_ok, NULL, w.token_invalid, w.token_forbidden};
    const char *token_names[4] = {"valid token", "no token", "invalid token", "forbidden token"};
    for (size_t i = 0; i < API_COUNT; i++) {
      if (!ids[i][0])
        continue;
      for (size_t c = 0; c < 3; c++)
        for (size_t t = 0; t < 4; t++) {
          char path[128], what[256];
          snprintf(path, sizeof(path), "/%s/1.0/menaka", apis[i].name);
          snprintf(what, sizeof(what), "%s: %s, %s, %s", profiles[p], apis[i].name, cert_names[c],
                   token_names[t]);
          dp_reply r;
          dp_call(&w, path, certs[c], tokens[t], &r);
          int want = apis[i].expect[c][t];
          if (want == 200) {
            if (r.status != 200 || !strstr(r.body, "Jersey say : menaka"))
              fail_msg("%s: %ld %s, expected 200", what, r.status, r.body);
          } else
            check_fault(what, &r, want, apis[i].www);
          cells++;
        }
    }
    /* the rule that shaped a verdict is named in the log */
    assert_true(st_log_contains(&w.sim, p == 0 ? "(rule priority.oauth-mandatory)"
                                               : "(rule priority.seed-table)"));
    if (p == 0)
      assert_true(st_log_contains(&w.sim, "(rule both-optional.either)"));
    assert_false(st_log_contains(&w.sim, w.token_ok)); /* tokens never logged */
    assert_false(st_log_contains(&w.sim, w.token_invalid));
    world_free(&w);
    st_check(st_sim_stop(&w.sim));
  }
  /* 9 schemes x 12 cells under wso2-4, 8 x 12 under wso2-2.6 and sap */
  printf("# %zu cells (schemes x 3 certificates x 4 tokens, per profile)\n", cells);
  assert_int_equal((9 + 8 + 8) * 12, cells);
}

/* The optional flags (WSO2 4.3+) exist only under wso2-4: wso2-2.6 and sap
 * refuse them with 400 naming the field and the rule (both-optional.unknown);
 * other unknown names are 400 everywhere. */
static void test_optional_flags_by_profile(void **state) {
  (void)state;
  static const struct {
    const char *schemes;
    long status[3];      /* wso2-4, wso2-2.6, sap */
    const char *message; /* in the 400's description, when refused */
  } rows[] = {
      {OPTIONAL_SCHEMES, {201, 400, 400}, "securityScheme[2]: mutualssl_optional"},
      {"[\"mutualssl\",\"oauth2\",\"oauth_basic_auth_api_key_optional\"]",
       {201, 400, 400},
       "securityScheme[2]: oauth_basic_auth_api_key_optional"},
      {"[\"mutualssl\",\"oauth2\",\"mutual_ssl_optional\"]",
       {400, 400, 400},
       "securityScheme[2]: not one of"},
  };
  for (size_t p = 0; p < sizeof(profiles) / sizeof(profiles[0]); p++) {
    world w = {0};
    char dir[64];
    snprintf(dir, sizeof(dir), "flags-%s", profiles[p]);
    start_world(&w, dir, profiles[p], NULL);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
      char body[1024], name[32];
      snprintf(name, sizeof(name), "flags%zu", i);
      snprintf(body, sizeof(body),
               "{\"name\":\"%s\",\"context\":\"/%s\",\"version\":\"1.0\","
               "\"endpointConfig\":{\"production_endpoints\":{\"url\":\"%s\"}},"
               "\"securityScheme\":%s}",
               name, name, w.url, rows[i].schemes);
      json_error_t jerr;
      json_t *out = NULL;
      long status = admin_json(&w, "POST", ST_APIS, json_loads(body, 0, &jerr), &out);
      if (status != rows[i].status[p])
        fail_msg("%s: %s: %ld, expected %ld", profiles[p], rows[i].schemes, status,
                 rows[i].status[p]);
      if (status == 400) {
        const char *description = json_string_value(json_object_get(out, "description"));
        if (!description || !strstr(description, rows[i].message))
          fail_msg("%s: %s: description \"%s\" does not name %s", profiles[p], rows[i].schemes,
                   description ? description : "", rows[i].message);
        if (i < 2 && (!description || !strstr(description, "(rule both-optional.unknown)")))
          fail_msg("%s: %s: the rule is not named", profiles[p], description);
      } else if (status == 201) { /* kept as given */
        json_t *given = json_loads(rows[i].schemes, 0, &jerr);
        assert_true(json_equal(given, json_object_get(out, "securityScheme")));
        json_decref(given);
      }
      json_decref(out);
    }
    st_check(st_sim_stop(&w.sim));
  }
}

/* An isDefaultVersion API answers /ctx/rest like /ctx/1.0/rest, with the
 * same authentication. */
static void test_default_version(void **state) {
  (void)state;
  world w = {0};
  start_world(&w, "default-version", NULL, NULL);
  char certm[64], oauthm[64];
  sw_create_api(&w.sim, "dvcert", w.url, "[\"mutualssl\",\"mutualssl_mandatory\"]", 1, certm);
  sw_create_api(&w.sim, "dvtoken", w.url,
                "[\"mutualssl\",\"oauth2\",\"oauth_basic_auth_api_key_mandatory\"]", 1, oauthm);
  sw_upload_client(&w.sim, certm, "a-dvcert", &cert_a, "Unlimited");
  sw_upload_client(&w.sim, oauthm, "a-dvtoken", &cert_a, "Unlimited");
  sw_upload_client(&w.sim, oauthm, "u-dvtoken", &cert_u, "Unlimited");
  sw_reload(&w.sim);
  oauth_setup(&w);
  subscribe(&w, w.app_ok, oauthm, "Unlimited");
  /* per path: certificate (0 A, 1 none, 2 U), token (0 valid, 1 none,
   * 2 invalid, 3 forbidden), then 200 or the fault and its challenges */
  static const struct {
    const char *paths[2]; /* versioned, versionless */
    int cert, token;
    long want;       /* 200, or the fault code */
    int menaka;      /* on 200: the backend's answer is checked too */
    const char *www; /* on a fault: the challenges */
  } rows[] = {
      {{"/dvcert/1.0/menaka", "/dvcert/menaka"}, 0, 1, 200, 1, NULL},
      {{"/dvcert/1.0/menaka", "/dvcert/menaka"}, 1, 0, 900901, 0, CH_MTLS},
      {{"/dvcert/1.0/menaka", "/dvcert/menaka"}, 2, 1, 900901, 0, CH_MTLS},
      {{"/dvtoken/1.0/menaka", "/dvtoken/menaka"}, 0, 1, 900902, 0, CH_BOTH},
      {{"/dvtoken/1.0/menaka", "/dvtoken/menaka"}, 1, 0, 200, 0, NULL},
      {{"/dvtoken/1.0/menaka", "/dvtoken/menaka"}, 0, 2, 900901, 0, CH_BOTH},
      {{"/dvtoken/1.0/menaka", "/dvtoken/menaka"}, 2, 3, 900908, 0, CH_BOTH},
  };
  const sw_client *certs[3] = {&cert_a, NULL, &cert_u};
  const char *tokens[4] = {w.token_ok, NULL, w.token_invalid, w.token_forbidden};
  for (size_t p = 0; p < 2; p++)
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
      const char *path = rows[i].paths[p];
      print_message("# %s, certificate %d, token %d\n", path, rows[i].cert, rows[i].token);
      dp_reply r;
      dp_call(&w, path, certs[rows[i].cert], tokens[rows[i].token], &r);
      if (rows[i].want == 200) {
        assert_int_equal(200, r.status);
        if (rows[i].menaka)
          assert_non_null(strstr(r.body, "Jersey say : menaka"));
      } else
        check_fault(path, &r, (int)rows[i].want, rows[i].www);
    }
  world_free(&w);
  st_check(st_sim_stop(&w.sim));
}

/* fault_format xml: <ams:fault> with code, message and description. */
static void test_xml_faults(void **state) {
  (void)state;
  world w = {0};
  start_world(&w, "xml", NULL, "{\"fault_format\": \"xml\"}");
  char both[64];
  sw_create_api(&w.sim, "both", w.url, apis[8].schemes, 0, both);
  sw_upload_client(&w.sim, both, "a-both", &cert_a, "Unlimited");
  sw_reload(&w.sim);
  oauth_setup(&w);
  subscribe(&w, w.app_ok, both, "Unlimited");
#define XML_FAULT(code, message, description)                                                      \
  "<ams:fault xmlns:ams=\"http://wso2.org/apimanager/security\"><ams:code>" code "</ams:code>"     \
  "<ams:message>" message "</ams:message><ams:description>" description "</ams:description>"       \
  "</ams:fault>"
  /* NULL: not checked */
  static const struct {
    int cert, token; /* certificate: 0 A, 1 none; token: 0 valid, 1 none, 3 forbidden */
    long status;
    const char *content_type, *body, *www;
  } rows[] = {
      {0, 1, 401, "application/xml",
       XML_FAULT("900902", "Missing Credentials",
                 "Invalid Credentials. Make sure your API invocation call has a header: "
                 "'Authorization : Bearer ACCESS_TOKEN' or 'Authorization : Basic ACCESS_TOKEN' "
                 "or 'ApiKey : API_KEY'"),
       CH_BOTH TAIL},
      {1, 0, 401, NULL,
       XML_FAULT("900901", "Invalid Credentials",
                 "Invalid Credentials. Make sure you have provided the correct security "
                 "credentials"),
       NULL},
      {0, 3, 403, NULL,
       XML_FAULT("900908", "Resource forbidden ",
                 "User is NOT authorized to access the Resource. API Subscription validation "
                 "failed."),
       ""},
      {0, 0, 200, NULL, NULL, NULL},
  };
#undef XML_FAULT
  const sw_client *certs[2] = {&cert_a, NULL};
  const char *tokens[4] = {w.token_ok, NULL, w.token_invalid, w.token_forbidden};
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    print_message("# xml row %zu: certificate %d, token %d\n", i, rows[i].cert, rows[i].token);
    dp_reply r;
    dp_call(&w, "/both/1.0/menaka", certs[rows[i].cert], tokens[rows[i].token], &r);
    assert_int_equal(rows[i].status, r.status);
    if (rows[i].content_type)
      assert_string_equal(rows[i].content_type, r.content_type);
    if (rows[i].body)
      assert_string_equal(rows[i].body, r.body);
    if (rows[i].www)
      assert_string_equal(rows[i].www, r.www);
  }
  world_free(&w);
  st_check(st_sim_stop(&w.sim));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_every_combination, bs_teardown),
      cmocka_unit_test_teardown(test_optional_flags_by_profile, bs_teardown),
      cmocka_unit_test_teardown(test_default_version, bs_teardown),
      cmocka_unit_test_teardown(test_xml_faults, bs_teardown),
  };
  return bt_run_curl_tests(tests, group_setup, NULL);
}
