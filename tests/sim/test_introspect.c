/* test_introspect.c - gatecert-introspect as a real gateway's auth_request
 * sees it: the real process on a fake clock, configs written atomically,
 * /check called with libcurl over plain HTTP.
 *
 *   tokens       an oauth2 API: valid (RS256 with a public key, ES256 with a
 *                certificate), missing, Basic, expired, wrong issuer, wrong
 *                key, alg confusion, garbage, tampered, not subscribed,
 *                unknown client, oversize -> 204 / 401 900902 / 401 900901 /
 *                403 900908, the fault body, X-Gatecert-Fault and
 *                WWW-Authenticate; the token never reaches the log.
 *   chain        per profile (--profile wso2-4, wso2-2.6, sap): every API
 *                shape x cert state x token kind against gsim_chain_decide
 *                under that profile's rules (the table the service must
 *                follow), and by hand: WSO2's feature test for mutualssl +
 *                oauth2 without a flag (wso2-4), seed 003's rows (wso2-2.6,
 *                sap), both optional (wso2-4); wso2-2.6 and sap refuse a
 *                config naming the optional flags.
 *   reload       a changed config changes the verdict at the next call; a
 *                broken, unloadable or oversize one keeps the old (logged
 *                once); unknown API 404; missing or bad headers 400.
 *   clock        exp on the fake clock with the profile's skew (rule
 *                jwt-skew): from exp on under wso2-4 (0 s), from exp + 300 s
 *                under wso2-2.6 and sap.
 *   process      start failures (exit 1 bad config, 2 usage), SIGTERM exit 0.
 */
#include "support.h"
#include "backend_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <openssl/pem.h>

#include "gjwt.h"
#include "security.h"

#define FAKE_START "2030-01-01 00:00:00"
#define T0         ((int64_t)TEST_REFERENCE)
#define ISSUER     "https://km.example/oauth2/token"
#define ISSUER_EC  "https://ec.example/oauth2/token"
#define BEAR       "Bearer realm=\"WSO2 API Manager\""
#define MTLS       "Mutual SSL realm=\"WSO2 API Manager\""
#define INVALID    ", error=\"invalid_token\", error_description=\"The provided token is invalid\""

/* ---- keys, made once ----------------------------------------------------------------- */

static test_keys *K; /* the group's (its state) */

static int setup(void **state) {
  K = test_keys_new();
  *state = K;
  return 0;
}

/* A token (malloc'd); nbf < 0: none. */
static char *mint(EVP_PKEY *key, gjwt_alg alg, const char *iss, const char *client, int64_t iat,
                  int64_t exp) {
  json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "iss", iss, "sub", client,
                             "azp", client, "client_id", client, "iat", (json_int_t)iat, "exp",
                             (json_int_t)exp, "jti", "introspect-test");
  char *token = NULL;
  char why[256] = "";
  if (gjwt_sign(alg, key, "test", claims, &token, why, sizeof(why)) != 0)
    fail_msg("gjwt_sign: %s", why);
  json_decref(claims);
  return token;
}

/* ---- the config ---------------------------------------------------------------------- */

/* Two key managers (RSA public key, EC certificate) and five API shapes:
 *   Secure   oauth2                      Legacy   mutualssl + oauth2, no flag
 *   Mtls     mutualssl_mandatory         Both     both mandatory
 *   Default  no security list (WSO2's oauth2)
 * and with optional, a sixth (WSO2 4.3+, wso2-4 only):
 *   Optional mutualssl + oauth2, both optional
 * ck-1 and ck-3 subscribe to every API; ck-2 only to another one. */
static json_t *config_with(int optional) {
  json_t *apis =
      json_pack("{s:{s:[s]}, s:{s:[s,s]}, s:{s:[s,s]}, s:{s:[s,s,s,s]}, s:{}}", "Secure",
                "security", "oauth2", "Legacy", "security", "mutualssl", "oauth2", "Mtls",
                "security", "mutualssl", "mutualssl_mandatory", "Both", "security", "mutualssl",
                "mutualssl_mandatory", "oauth2", "oauth_basic_auth_api_key_mandatory", "Default");
  if (optional)
    json_object_set_new(apis, "Optional",
                        json_pack("{s:[s,s,s,s]}", "security", "mutualssl", "oauth2",
                                  "mutualssl_optional", "oauth_basic_auth_api_key_optional"));
  json_t *all =
      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "Secure", "Unlimited", "Legacy", "Gold", "Mtls",
                "Unlimited", "Both", "Unlimited", "Default", "Unlimited", "Optional", "Unlimited");
  json_t *subs =
      json_pack("{s:O, s:O, s:{s:s}}", "ck-1", all, "ck-3", all, "ck-2", "Elsewhere", "Unlimited");
  json_decref(all);
  json_t *cfg = json_pack("{s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}], s:o, s:o}",
                          "key_managers", "name", "km-rsa", "issuer", ISSUER, "alg", "RS256",
                          "public_pem", K->rsa_pub, "name", "km-ec", "issuer", ISSUER_EC, "alg",
                          "ES256", "public_pem", K->ec_cert, "apis", apis, "subscriptions", subs);
  assert_non_null(cfg);
  return cfg;
}

/* The default profile's config (wso2-4: the optional flags exist). */
static json_t *base_config(void) { return config_with(1); }

typedef struct world {
  bs_process *proc;
  int port;
  char dir[BS_PATH_MAX];
  char config[BS_PATH_MAX];
  char clock[BS_PATH_MAX];
} world;

/* Writes text atomically (gcert_file_save: temp + rename). */
static void write_text(world *w, const char *text, size_t len) {
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_file_save(w->config, (const unsigned char *)text, len, 0, &err),
                &err);
}

static void write_config(world *w, json_t *cfg) {
  char *text = json_dumps(cfg, JSON_INDENT(1));
  json_decref(cfg);
  assert_non_null(text);
  write_text(w, text, strlen(text));
  free(text);
}

static const char *bin(void) {
  const char *b = getenv("GATECERT_INTROSPECT_BIN");
  if (!b)
    fail_msg("GATECERT_INTROSPECT_BIN is not set");
  return b;
}

/* Starts the introspector under profile (NULL: its default, wso2-4) with
 * config_with(optional). */
static void start_as(world *w, const char *name, const char *profile, int optional) {
  memset(w, 0, sizeof(*w));
  bs_join(w->dir, test_scratch_dir(), name);
  if (mkdir(w->dir, 0700) != 0 && errno != EEXIST)
    fail_msg("mkdir %s: %s", w->dir, strerror(errno));
  bs_join(w->config, w->dir, "introspect.json");
  bs_join(w->clock, w->dir, "clock");
  bs_check(bs_faketime_set(w->clock, FAKE_START) == 0);
  write_config(w, config_with(optional));
  const char *args[] = {"--config", w->config, profile ? "--profile" : NULL, profile, NULL};
  bs_start_opts opts = {.args = args,
                        .scratch_dir = w->dir,
                        .faketime_file = w->clock,
                        .bin = bin(),
                        .single_ready = 1};
  w->proc = bs_start(&opts);
  bs_check(w->proc != NULL);
  w->port = bs_port(w->proc, "http");
  assert_true(w->port > 0);
}

static void start(world *w, const char *name) { start_as(w, name, NULL, 1); }

static void stop(world *w) { bs_check(bs_stop(w->proc) == 0); }

static int log_contains(world *w, const char *needle) {
  char *log = bs_slurp(w->proc->stderr_path, NULL);
  int found = log && strstr(log, needle) != NULL;
  free(log);
  return found;
}

static size_t log_count(world *w, const char *needle) {
  char *log = bs_slurp(w->proc->stderr_path, NULL);
  size_t n = 0;
  for (const char *p = log ? strstr(log, needle) : NULL; p; p = strstr(p + 1, needle))
    n++;
  free(log);
  return n;
}

/* ---- calling /check ------------------------------------------------------------------- */

typedef struct answer {
  long status;
  char body[4096];
  size_t body_len;
  char auth_by[32];
  char www[512];
  char code[32];
  char fault[1024];
  json_t *json;
} answer;

/* One call on a fresh connection; a NULL header is not sent. */
static void call_path(world *w, const char *path, const char *api, const char *cert,
                      const char *authorization, answer *a) {
  memset(a, 0, sizeof(*a));
  gu_text api_line = {0}, cert_line = {0}, auth_line = {0};
  const char *headers[4];
  size_t n = 0;
  if (api) {
    gu_text_printf(&api_line, "X-Gatecert-Api: %s", api);
    headers[n++] = api_line.data;
  }
  if (cert) {
    gu_text_printf(&cert_line, "X-Gatecert-Cert: %s", cert);
    headers[n++] = cert_line.data;
  }
  if (authorization) {
    gu_text_printf(&auth_line, "Authorization: %s", authorization);
    headers[n++] = auth_line.data;
  }
  headers[n] = NULL;
  assert_false(api_line.failed || cert_line.failed || auth_line.failed);
  bs_request req = {
      .port = w->port, .host = "127.0.0.1", .path = path, .plain = 1, .headers = headers};
  bs_response res;
  if (bs_http(&req, &res) != CURLE_OK)
    fail_msg("GET %s: %s", path, res.error);
  gu_text_free(&api_line);
  gu_text_free(&cert_line);
  gu_text_free(&auth_line);
  a->status = res.status;
  a->body_len = res.body_len < sizeof(a->body) ? res.body_len : sizeof(a->body) - 1;
  memcpy(a->body, res.body, a->body_len);
  bs_header(&res, "X-Gatecert-Auth-By", a->auth_by, sizeof(a->auth_by));
  bs_header(&res, "WWW-Authenticate", a->www, sizeof(a->www));
  bs_header(&res, "X-Gatecert-Code", a->code, sizeof(a->code));
  bs_header(&res, "X-Gatecert-Fault", a->fault, sizeof(a->fault));
  bs_response_free(&res);
  a->json = a->body_len ? json_loads(a->body, 0, NULL) : NULL;
}

static void call(world *w, const char *api, const char *cert, const char *authorization,
                 answer *a) {
  call_path(w, "/check", api, cert, authorization, a);
}

static char *bearer(const char *token) {
  size_t n = strlen(token) + 8;
  char *out = malloc(n);
  assert_non_null(out);
  snprintf(out, n, "Bearer %s", token);
  return out;
}

/* Checks a verdict: 204 with who authenticated ("mtls", "oauth"), or a
 * fault status with its code and WSO2's texts. */
static void expect(world *w, const char *label, const char *api, const char *cert,
                   const char *authorization, long status, const char *by_or_code) {
  answer a;
  call(w, api, cert, authorization, &a);
  if (a.status != status)
    fail_msg("%s: expected %ld, got %ld: %s", label, status, a.status, a.body);
  if (status == 204) {
    if (strcmp(a.auth_by, by_or_code) != 0)
      fail_msg("%s: authenticated by \"%s\", expected %s", label, a.auth_by, by_or_code);
  } else {
    const char *code = json_string_value(json_object_get(a.json, "code"));
    if (!code || strcmp(code, by_or_code) != 0)
      fail_msg("%s: expected fault %s: %s", label, by_or_code, a.body);
    int n = (int)strtol(code, NULL, 10);
    const char *message = json_string_value(json_object_get(a.json, "message"));
    const char *description = json_string_value(json_object_get(a.json, "description"));
    if (!message || strcmp(message, gsim_auth_message(n)) != 0 || !description ||
        strcmp(description, gsim_auth_description(n)) != 0 || json_object_size(a.json) != 3)
      fail_msg("%s: not WSO2's fault body: %s", label, a.body);
    if (strcmp(a.code, code) != 0)
      fail_msg("%s: X-Gatecert-Code %s, body %s", label, a.code, code);
    json_t *fault = json_loads(a.fault, 0, NULL);
    if (!fault || !json_equal(fault, a.json))
      fail_msg("%s: X-Gatecert-Fault \"%s\" is not the body", label, a.fault);
    json_decref(fault);
    if ((status == 401) != (a.www[0] != '\0'))
      fail_msg("%s: WWW-Authenticate \"%s\" with %ld", label, a.www, status);
  }
  json_decref(a.json);
}

/* ---- tokens ----------------------------------------------------------------------------- */

static void expect_token(world *w, const char *label, const char *token, long status,
                         const char *by_or_code) {
  char *auth = bearer(token);
  expect(w, label, "Secure", "absent", auth, status, by_or_code);
  free(auth);
  const char *sig = strrchr(token, '.');
  if (sig && strlen(sig) > 16 && log_contains(w, sig + 1))
    fail_msg("%s: the token is in the log", label);
}

static void test_tokens(void **state) {
  (void)state;
  world w;
  start(&w, "tokens");
  int64_t iat = T0, exp = T0 + 3600;
  struct {
    const char *label;
    char *token;
    long status;
    const char *by_or_code;
  } rows[] = {
      {"valid RS256", mint(K->rsa, GJWT_RS256, ISSUER, "ck-1", iat, exp), 204, "oauth"},
      {"valid ES256 (certificate key manager)",
       mint(K->ec, GJWT_ES256, ISSUER_EC, "ck-3", iat, exp), 204, "oauth"},
      {"expired", mint(K->rsa, GJWT_RS256, ISSUER, "ck-1", T0 - 7200, T0 - 3600), 401, "900901"},
      {"wrong issuer", mint(K->rsa, GJWT_RS256, "https://other.example/token", "ck-1", iat, exp),
       401, "900901"},
      {"wrong key", mint(K->rsa_other, GJWT_RS256, ISSUER, "ck-1", iat, exp), 401, "900901"},
      {"alg confusion", mint(K->ec, GJWT_ES256, ISSUER, "ck-1", iat, exp), 401, "900901"},
      {"not subscribed", mint(K->rsa, GJWT_RS256, ISSUER, "ck-2", iat, exp), 403, "900908"},
      {"unknown client", mint(K->rsa, GJWT_RS256, ISSUER, "ck-9", iat, exp), 403, "900908"},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    expect_token(&w, rows[i].label, rows[i].token, rows[i].status, rows[i].by_or_code);
    free(rows[i].token);
  }
  /* the challenge as gatecert-sim sends it */
  answer a;
  call(&w, "Secure", "absent", NULL, &a);
  assert_int_equal(401, a.status);
  assert_string_equal(BEAR INVALID, a.www);
  json_decref(a.json);
  expect(&w, "no Authorization", "Secure", "absent", NULL, 401, "900902");
  expect(&w, "Basic credentials", "Secure", "absent", "Basic YWRtaW46YWRtaW4=", 401, "900902");
  expect(&w, "empty bearer", "Secure", "absent", "Bearer ", 401, "900902");
  expect(&w, "garbage", "Secure", "absent", "Bearer not-a-jwt", 401, "900901");
  expect(&w, "three dots of garbage", "Secure", "absent", "Bearer a.b.c", 401, "900901");
  char *valid = mint(K->rsa, GJWT_RS256, ISSUER, "ck-1", iat, exp);
  char *tampered = bearer(valid);
  tampered[strlen(tampered) - 2] ^= 1;
  expect(&w, "tampered signature", "Secure", "absent", tampered, 401, "900901");
  free(tampered);
  char *lower = bearer(valid);
  lower[0] = 'b';
  expect(&w, "scheme in lower case", "Secure", "absent", lower, 204, "oauth");
  free(lower);
  /* oversize: a valid token padded past GJWT_MAX_TOKEN, and one past 16 KiB */
  static const size_t sizes[] = {GJWT_MAX_TOKEN + 1, (size_t)20 * 1024};
  for (size_t i = 0; i < 2; i++) {
    char *big = malloc(sizes[i] + 1);
    assert_non_null(big);
    size_t n = strlen(valid);
    memcpy(big, valid, n);
    memset(big + n, 'A', sizes[i] - n);
    big[sizes[i]] = '\0';
    char label[64];
    snprintf(label, sizeof(label), "token of %zu bytes", sizes[i]);
    expect_token(&w, label, big, 401, "900901");
    free(big);
  }
  /* over the 64 KiB of headers: libevent's 400, not a verdict */
  size_t huge_len = (size_t)70 * 1024;
  char *huge = malloc(huge_len + 1);
  assert_non_null(huge);
  memcpy(huge, "Bearer ", 7);
  memset(huge + 7, 'A', huge_len - 7);
  huge[huge_len] = '\0';
  call(&w, "Secure", "absent", huge, &a);
  assert_int_equal(400, a.status);
  json_decref(a.json);
  free(huge);
  /* the default scheme (no security list) is oauth2 */
  char *auth = bearer(valid);
  expect(&w, "default API, token", "Default", "absent", auth, 204, "oauth");
  expect(&w, "default API, no token", "Default", "valid", NULL, 401, "900902");
  free(auth);
  free(valid);
  assert_true(log_contains(&w, "is not subscribed to Secure"));
  assert_true(log_contains(&w, "no key manager has the issuer https://other.example/token"));
  stop(&w);
}

static void expect_start_failure(const char *const *args, int code, const char *needle);

/* ---- the chain ------------------------------------------------------------------------------ */

static const char *const api_names[] = {"Secure", "Legacy", "Mtls", "Both", "Default", "Optional"};
static const unsigned api_bits[] = {
    GSIM_SEC_OAUTH2,
    GSIM_SEC_MUTUALSSL | GSIM_SEC_OAUTH2,
    GSIM_SEC_MUTUALSSL | GSIM_SEC_MUTUALSSL_MANDATORY,
    GSIM_SEC_MUTUALSSL | GSIM_SEC_MUTUALSSL_MANDATORY | GSIM_SEC_OAUTH2 |
        GSIM_SEC_OAUTH_BASIC_APIKEY_M,
    0,
    GSIM_SEC_MUTUALSSL | GSIM_SEC_OAUTH2 | GSIM_SEC_MUTUALSSL_OPTIONAL |
        GSIM_SEC_OAUTH_BASIC_APIKEY_O,
};
static const char *const cert_names[] = {"absent", "valid", "unknown", "bad"};
static const gsim_cert_state cert_states[] = {GSIM_CERT_ABSENT, GSIM_CERT_VALID, GSIM_CERT_UNKNOWN,
                                              GSIM_CERT_BAD_HEADER};

/* A verdict written by hand for one profile. */
typedef struct hand_row {
  unsigned profiles; /* bit per gsim_profile */
  const char *label, *api, *cert;
  int token; /* index in auths: 0 valid, 1 none, 2 invalid, 3 forbidden */
  long status;
  const char *by_or_code;
} hand_row;

#define H4   (1u << GSIM_PROFILE_WSO2_4)
#define H26  (1u << GSIM_PROFILE_WSO2_26)
#define HSAP ((1u << GSIM_PROFILE_SAP_2023) | (1u << GSIM_PROFILE_SAP_2026))
#define HALL (H4 | H26 | HSAP)

static const hand_row hand_rows[] = {
    /* mutualssl + oauth2, no flag, wso2-4 (priority.oauth-mandatory): WSO2's
     * own feature test (4.7 integration-v2 mutual_ssl_invocation.feature) */
    {H4, "feature: accepted cert, no token", "Legacy", "valid", 1, 401, "900902"},
    {H4, "feature: cert not uploaded, valid token", "Legacy", "unknown", 0, 204, "oauth"},
    {H4, "feature: accepted cert, invalid token", "Legacy", "valid", 2, 401, "900901"},
    {H4, "feature: no cert, valid token", "Legacy", "absent", 0, 204, "oauth"},
    {H4, "accepted cert, forbidden token", "Legacy", "valid", 3, 403, "900908"},
    {H4, "no cert, no token", "Legacy", "absent", 1, 401, "900902"},
    /* wso2-2.6 and sap (priority.seed-table): seed 003 */
    {H26 | HSAP, "003: valid cert, no token", "Legacy", "valid", 1, 204, "mtls"},
    {H26 | HSAP, "003: valid cert, invalid token", "Legacy", "valid", 2, 204, "mtls"},
    {H26 | HSAP, "003: valid cert, forbidden token", "Legacy", "valid", 3, 204, "mtls"},
    {H26 | HSAP, "003: unknown cert, valid token", "Legacy", "unknown", 0, 204, "oauth"},
    {H26 | HSAP, "003: unknown cert, invalid token", "Legacy", "unknown", 2, 401, "900901"},
    {H26 | HSAP, "003: unknown cert, no token", "Legacy", "unknown", 1, 401, "900901"},
    {H26 | HSAP, "003: no cert, no token", "Legacy", "absent", 1, 401, "900902"},
    {H26 | HSAP, "003: bad cert header, no token", "Legacy", "bad", 1, 500, "900900"},
    /* both optional (wso2-4, both-optional.either) */
    {H4, "optional: valid cert, no token", "Optional", "valid", 1, 204, "mtls"},
    {H4, "optional: valid cert, invalid token", "Optional", "valid", 2, 204, "mtls"},
    {H4, "optional: no cert, valid token", "Optional", "absent", 0, 204, "oauth"},
    {H4, "optional: neither", "Optional", "absent", 1, 401, "900901"},
    {H4, "optional: unknown cert, invalid token", "Optional", "unknown", 2, 401, "900901"},
    /* mutualssl_mandatory */
    {HALL, "mandatory mTLS, no cert", "Mtls", "absent", 0, 401, "900901"},
    {HALL, "mandatory mTLS, unknown cert", "Mtls", "unknown", 1, 401, "900901"},
    {HALL, "mandatory mTLS, valid cert", "Mtls", "valid", 1, 204, "mtls"},
    {HALL, "both mandatory, valid cert, no token", "Both", "valid", 1, 401, "900902"},
    {HALL, "both mandatory, no cert, valid token", "Both", "absent", 0, 401, "900901"},
    {HALL, "both mandatory, both", "Both", "valid", 0, 204, "oauth"},
};

static void test_chain(void **state) {
  (void)state;
  char *ok = mint(K->rsa, GJWT_RS256, ISSUER, "ck-1", T0, T0 + 3600);
  char *forbidden = mint(K->rsa, GJWT_RS256, ISSUER, "ck-2", T0, T0 + 3600);
  char *invalid = mint(K->rsa_other, GJWT_RS256, ISSUER, "ck-1", T0, T0 + 3600);
  char *auths[] = {bearer(ok), NULL, bearer(invalid), bearer(forbidden)};
  static const gsim_oauth_status tokens[] = {GSIM_OAUTH_OK, GSIM_OAUTH_MISSING, GSIM_OAUTH_INVALID,
                                             GSIM_OAUTH_FORBIDDEN};
  static const char *const token_names[] = {"valid", "missing", "invalid", "forbidden"};
  size_t calls = 0, by_hand = 0;
  for (int p = 0; p < GSIM_PROFILE_COUNT; p++) {
    gsim_rules rules;
    char why[256] = "", name[32];
    if (gsim_rules_resolve(&rules, (gsim_profile)p, why, sizeof(why)) != 0)
      fail_msg("%s", why);
    const char *profile = gsim_profile_name((gsim_profile)p);
    int optional = p == GSIM_PROFILE_WSO2_4; /* where the optional flags exist */
    snprintf(name, sizeof(name), "chain-%s", profile);
    world w;
    start_as(&w, name, profile, optional);
    size_t api_count = optional ? 6 : 5;
    for (size_t a = 0; a < api_count; a++)
      for (size_t c = 0; c < 4; c++)
        for (size_t t = 0; t < 4; t++) {
          gsim_chain_decision d;
          gsim_chain_decide(&rules, api_bits[a], cert_states[c], tokens[t], &d);
          char label[128], code[16];
          snprintf(label, sizeof(label), "%s: %s, cert %s, token %s", profile, api_names[a],
                   cert_names[c], token_names[t]);
          snprintf(code, sizeof(code), "%d", d.code);
          expect(&w, label, api_names[a], cert_names[c], auths[t], d.pass ? 204 : d.status,
                 d.pass ? (d.by == GSIM_BY_MTLS ? "mtls" : "oauth") : code);
          calls++;
        }
    for (size_t i = 0; i < sizeof(hand_rows) / sizeof(hand_rows[0]); i++) {
      const hand_row *h = &hand_rows[i];
      if (!(h->profiles & (1u << p)))
        continue;
      char label[160];
      snprintf(label, sizeof(label), "%s: %s", profile, h->label);
      expect(&w, label, h->api, h->cert, auths[h->token], h->status, h->by_or_code);
      by_hand++;
    }
    answer a;
    call(&w, "Legacy", "absent", NULL, &a);
    assert_string_equal(MTLS ", " BEAR INVALID, a.www);
    json_decref(a.json);
    call(&w, "Mtls", "absent", NULL, &a);
    assert_string_equal(MTLS INVALID, a.www);
    json_decref(a.json);
    stop(&w);
  }
  assert_int_equal((6 + 5 + 5 + 5) * 16, calls); /* wso2-4, wso2-2.6, sap-2023, sap-2026 */
  assert_int_equal(6 + 5 + 6 * 4 + 8 * 3, by_hand);

  /* wso2-2.6 and sap do not know the optional flags: such a config does not
   * load, naming the rule */
  world w;
  start_as(&w, "chain-refused", "wso2-2.6", 0);
  write_config(&w, config_with(1));
  expect(&w, "2.6 after a config with optional flags", "Legacy", "valid", NULL, 204, "mtls");
  assert_true(log_contains(
      &w, "apis.Optional: security[2]: mutualssl_optional is not a security scheme of wso2-2.6 "
          "(rule both-optional.unknown)"));
  const char *args[] = {"--config", w.config, "--profile", "sap", NULL};
  expect_start_failure(args, 1,
                       "is not a security scheme of sap-2026 (rule both-optional.unknown)");
  stop(&w);
  for (size_t i = 0; i < 4; i++)
    free(auths[i]);
  free(ok);
  free(forbidden);
  free(invalid);
}

/* ---- the config follows the file ---------------------------------------------------------- */

static void test_reload(void **state) {
  (void)state;
  world w;
  start(&w, "reload");
  char *token = mint(K->rsa, GJWT_RS256, ISSUER, "ck-1", T0, T0 + 3600);
  char *auth = bearer(token);
  expect(&w, "subscribed", "Secure", "absent", auth, 204, "oauth");

  /* ck-1 loses its subscriptions: the next call says 403 */
  json_t *cfg = base_config();
  json_object_del(json_object_get(cfg, "subscriptions"), "ck-1");
  write_config(&w, cfg);
  expect(&w, "unsubscribed", "Secure", "absent", auth, 403, "900908");

  /* broken configs keep that one; each is logged once */
  write_text(&w, "{\"key_managers\": [", 18);
  expect(&w, "after a broken config", "Secure", "absent", auth, 403, "900908");
  expect(&w, "after a broken config, again", "Secure", "absent", auth, 403, "900908");
  assert_int_equal(1, log_count(&w, "config not loaded"));
  cfg = base_config();
  json_object_set_new(json_array_get(json_object_get(cfg, "key_managers"), 0), "public_pem",
                      json_string(K->rsa1024_pub));
  write_config(&w, cfg);
  expect(&w, "after a 1024-bit RS256 key", "Secure", "absent", auth, 403, "900908");
  assert_true(log_contains(&w, "alg RS256 needs an RSA key of at least 2048 bits"));
  cfg = base_config();
  json_object_set_new(json_object_get(cfg, "apis"), "Odd",
                      json_pack("{s:[s]}", "security", "basic_auth"));
  write_config(&w, cfg);
  expect(&w, "after an unknown scheme", "Secure", "absent", auth, 403, "900908");
  assert_true(log_contains(&w, "apis.Odd: security[0]: not one of"));
  size_t big_len = 1024 * 1024 + 16;
  char *big = malloc(big_len + 1);
  assert_non_null(big);
  memset(big, ' ', big_len);
  big[0] = '{';
  big[1] = '}';
  write_text(&w, big, big_len);
  free(big);
  expect(&w, "after an oversize config", "Secure", "absent", auth, 403, "900908");
  assert_true(log_contains(&w, "more than 1048576"));
  assert_int_equal(4, log_count(&w, "config not loaded"));

  /* the good one again: 204; the API goes: 404 */
  write_config(&w, base_config());
  expect(&w, "subscribed again", "Secure", "absent", auth, 204, "oauth");
  cfg = base_config();
  json_object_del(json_object_get(cfg, "apis"), "Secure");
  write_config(&w, cfg);
  answer a;
  call(&w, "Secure", "absent", auth, &a);
  assert_int_equal(404, a.status);
  assert_non_null(strstr(a.body, "X-Gatecert-Api"));
  json_decref(a.json);

  /* requests the service cannot answer */
  call(&w, "Nope", "absent", auth, &a);
  assert_int_equal(404, a.status);
  json_decref(a.json);
  call(&w, "Legacy", NULL, auth, &a);
  assert_int_equal(400, a.status);
  assert_non_null(strstr(a.body, "X-Gatecert-Cert"));
  json_decref(a.json);
  call(&w, "Legacy", "maybe", auth, &a);
  assert_int_equal(400, a.status);
  assert_non_null(strstr(a.body, "X-Gatecert-Cert"));
  json_decref(a.json);
  call(&w, NULL, "valid", auth, &a);
  assert_int_equal(400, a.status);
  assert_non_null(strstr(a.body, "X-Gatecert-Api"));
  json_decref(a.json);
  call_path(&w, "/other", "Legacy", "valid", auth, &a);
  assert_int_equal(404, a.status);
  json_decref(a.json);
  free(auth);
  free(token);
  stop(&w);
}

/* ---- the fake clock ------------------------------------------------------------------------ */

/* The introspector checks exp under the run's profile, with its jwt-skew
 * row: wso2-4 refuses from exp on, wso2-2.6 and sap from exp + 300 s. */
static void test_clock(void **state) {
  (void)state;
  static const struct {
    const char *profile;
    const char *last_ok, *first_refused; /* the fake clock's times */
    const char *logged;
  } runs[] = {
      {"wso2-4", "2030-01-01 00:09:59", "2030-01-01 00:10:00", "0 s skew, rule jwt.skew-0)"},
      {"wso2-2.6", "2030-01-01 00:14:59", "2030-01-01 00:15:00",
       "300 s skew, rule jwt.skew-300-2.6)"},
      {"sap", "2030-01-01 00:14:59", "2030-01-01 00:15:00", "300 s skew, rule jwt.skew-300-sap)"},
  };
  for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
    world w;
    char name[64], label[128];
    snprintf(name, sizeof(name), "clock-%s", runs[i].profile);
    start_as(&w, name, runs[i].profile, strcmp(runs[i].profile, "wso2-4") == 0);
    char *token = mint(K->rsa, GJWT_RS256, ISSUER, "ck-1", T0, T0 + 600);
    snprintf(label, sizeof(label), "%s: before exp", runs[i].profile);
    expect_token(&w, label, token, 204, "oauth");
    bs_check(bs_faketime_set(w.clock, runs[i].last_ok) == 0);
    snprintf(label, sizeof(label), "%s: %s", runs[i].profile, runs[i].last_ok);
    expect_token(&w, label, token, 204, "oauth");
    bs_check(bs_faketime_set(w.clock, runs[i].first_refused) == 0);
    snprintf(label, sizeof(label), "%s: %s", runs[i].profile, runs[i].first_refused);
    expect_token(&w, label, token, 401, "900901");
    if (!log_contains(&w, "token expired at 2030-01-01T00:10:00.000Z") ||
        !log_contains(&w, runs[i].logged))
      fail_msg("%s: the log lacks the expiry with \"%s\"", runs[i].profile, runs[i].logged);
    free(token);
    stop(&w);
  }
}

/* ---- the process ---------------------------------------------------------------------------- */

static void expect_start_failure(const char *const *args, int code, const char *needle) {
  bs_start_opts opts = {
      .args = args, .scratch_dir = test_scratch_dir(), .bin = bin(), .single_ready = 1};
  int exit_code = -1;
  char text[2048] = "";
  bs_check(bs_start_fails(&opts, &exit_code, text, sizeof(text)) == 0);
  if (exit_code != code || !strstr(text, needle))
    fail_msg("exit %d (expected %d): %s", exit_code, code, text);
}

static void test_process(void **state) {
  (void)state;
  world w;
  start(&w, "process");
  write_text(&w, "[]", 2);
  const char *bad[] = {"--config", w.config, NULL};
  expect_start_failure(bad, 1, "not a JSON object");
  const char *missing[] = {"--config", "/nonexistent/introspect.json", NULL};
  expect_start_failure(missing, 1, "No such file");
  const char *none[] = {NULL};
  expect_start_failure(none, 2, "--config FILE is required");
  const char *remote[] = {"--config", w.config, "--listen", "0.0.0.0:0", NULL};
  expect_start_failure(remote, 2, "not a loopback");
  stop(&w); /* SIGTERM: exit 0 */
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_tokens, bs_teardown),
      cmocka_unit_test_teardown(test_chain, bs_teardown),
      cmocka_unit_test_teardown(test_reload, bs_teardown),
      cmocka_unit_test_teardown(test_clock, bs_teardown),
      cmocka_unit_test_teardown(test_process, bs_teardown),
  };
  int failed = cmocka_run_group_tests_name("introspect", tests, setup, test_keys_teardown);
  curl_global_cleanup();
  return failed;
}
