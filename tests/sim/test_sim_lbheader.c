/* test_sim_lbheader.c - load balancer mode: the client certificate in the
 * X-WSO2-CLIENT-CERTIFICATE header, end to end over real TLS.
 *
 * The "load balancer" is a client presenting the catalogue's client
 * certificate (issued under the root the listener trusts, associated with no
 * API). Certificate A is associated with API "mtls" (mutual SSL mandatory),
 * certificate U with API "other" only. Checked: every encoding WSO2 decodes
 * (URL-encoded PEM as nginx's $ssl_client_escaped_cert, bare base64 DER,
 * base64 of a PEM, and with client_certificate_encode off a raw PEM whose
 * newlines came as spaces); enable_client_validation on (a direct client
 * without a certificate spoofing the header gets 401) and off (anyone's
 * header is believed); the weakness of the defaults - U, a registered client
 * of another API, injects A's certificate and gets through - and its fix,
 * trusted_load_balancers pinning the balancer's SHA-256; a malformed or
 * oversized header (500 / 900900); a header certificate the gateway does not
 * know (401). The header from a connection whose peer presented no
 * certificate, per rule set (wso2-4, wso2-2.6, sap: rule lb-header.ignored*,
 * the API sees no certificate - 401 900901 where mTLS is mandatory, the
 * token decides elsewhere; --break lb-header: honoured, 200). What the
 * backend saw of the header (the echo body carries gatecert-backend's report
 * event of the request), per profile (rule lb-header-forward),
 * forward_client_certificate_header and --break lb-header-forward: a header
 * the gateway read as the client's certificate (mutual SSL, or the cnf check
 * of a JWT that passed) is removed under wso2-4 unless the flag is true, then
 * forwarded as sent; under wso2-2.6 and sap it is passed on as sent whatever
 * the flag; --break lb-header-forward swaps the two; a header it ignored is
 * forwarded as sent; the TLS client certificate itself is never put into the
 * header. Certificates from the header share WSO2's mutual SSL throttle key
 * (the log names it).
 */
#include "support.h"
#include "backend_fixture.h"
#include "backend_support.h"
#include "sim_fixture.h"
#include "sim_world.h"

#include "gjwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#define FAKE_START "2030-01-01 00:00:00"
#define HEADER     "X-WSO2-CLIENT-CERTIFICATE"
#define ISSUER     "https://km.gatecert.test/oauth2/token"
#define BODY_900                                                                                   \
  "{\"code\":\"900900\",\"message\":\"Unclassified Authentication Failure\",\"description\":"      \
  "\"Error while validating into Certificate Existence\"}"
#define BODY_901                                                                                   \
  "{\"code\":\"900901\",\"message\":\"Invalid Credentials\",\"description\":\"Invalid "            \
  "Credentials. Make sure you have provided the correct security credentials\"}"

static sw_client cert_a, cert_u, cert_stranger, balancer;

static int group_setup(void **state) {
  bt_setup_catalogue_2030(state);
  sw_make_client(&cert_a, "client-a");
  sw_make_client(&cert_u, "client-u");
  sw_make_client(&cert_stranger, "stranger");
  snprintf(balancer.cert, sizeof(balancer.cert), "%s", sw_scratch("client.chain.pem"));
  snprintf(balancer.key, sizeof(balancer.key), "%s", sw_scratch("client.key"));
  return 0;
}

/* A simulator with "mtls" (A) and "other" (U), both live, under profile
 * (NULL: wso2) and --break broken (NULL: none). */
static void start_world_as(sw_world *w, const char *dir_name, const char *config,
                           const char *profile, const char *broken) {
  w->backend = sw_backend("echo", "server", NULL, w->url);
  sw_sim_start(&w->sim, dir_name, profile, FAKE_START, config, broken);
  char mtls[64], other[64];
  sw_create_api(&w->sim, "mtls", w->url, "[\"mutualssl\",\"mutualssl_mandatory\"]", -1, mtls);
  sw_create_api(&w->sim, "other", w->url, "[\"mutualssl\",\"mutualssl_mandatory\"]", -1, other);
  sw_upload_client(&w->sim, mtls, "a", &cert_a, "Unlimited");
  sw_upload_client(&w->sim, other, "u", &cert_u, "Unlimited");
  sw_reload(&w->sim);
}

static void start_world(sw_world *w, const char *dir_name, const char *config) {
  start_world_as(w, dir_name, config, NULL, NULL);
}

/* ---- header values ------------------------------------------------------------- */

static char *pem_of(const sw_client *c) {
  size_t len = 0;
  char *pem = bs_slurp(c->cert, &len);
  assert_non_null(pem);
  return pem;
}

/* The PEM body: base64 DER without armour or newlines. */
static char *base64_der(const sw_client *c) {
  char *pem = pem_of(c);
  char *b = strstr(pem, "-----BEGIN CERTIFICATE-----");
  assert_non_null(b);
  b += strlen("-----BEGIN CERTIFICATE-----");
  char *e = strstr(b, "-----END CERTIFICATE-----");
  assert_non_null(e);
  char *out = calloc(1, (size_t)(e - b) + 1);
  size_t n = 0;
  for (char *p = b; p < e; p++)
    if (*p != '\n' && *p != '\r')
      out[n++] = *p;
  free(pem);
  return out;
}

static char *url_encoded_pem(const sw_client *c) {
  char *pem = pem_of(c);
  char *escaped = curl_easy_escape(NULL, pem, 0);
  char *out = strdup(escaped);
  curl_free(escaped);
  free(pem);
  return out;
}

static char *base64_of_pem(const sw_client *c) {
  char *pem = pem_of(c);
  size_t len = strlen(pem);
  char *out = calloc(1, 4 * ((len + 2) / 3) + 1);
  EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)pem, (int)len);
  free(pem);
  return out;
}

static char *spaced_pem(const sw_client *c) {
  char *pem = pem_of(c);
  for (char *p = pem; *p; p++)
    if (*p == '\n')
      *p = ' ';
  size_t n = strlen(pem);
  while (n && pem[n - 1] == ' ')
    pem[--n] = '\0';
  return pem;
}

/* GET /api/1.0/menaka as who (NULL: no certificate) with the header value
 * (NULL: none). Returns the status; *body (optional) gets a copy. */
static long call(sw_world *w, const char *api, const sw_client *who, const char *value,
                 char **body) {
  char path[128];
  snprintf(path, sizeof(path), "/%s/1.0/menaka", api);
  char *line = NULL;
  if (value) {
    line = malloc(strlen(HEADER) + strlen(value) + 3);
    sprintf(line, "%s: %s", HEADER, value);
  }
  const char *headers[] = {line, NULL};
  bs_request req = {.port = w->sim.https,
                    .path = path,
                    .insecure = 1,
                    .cert = who ? who->cert : NULL,
                    .key = who ? who->key : NULL,
                    .headers = line ? headers : NULL};
  bs_response res;
  CURLcode rc = bs_http(&req, &res);
  if (rc != CURLE_OK)
    fail_msg("%s: %s", path, res.error);
  long status = res.status;
  if (status == 200)
    assert_non_null(strstr(res.body, "Jersey say : menaka"));
  if (body)
    *body = strdup(res.body ? res.body : "");
  bs_response_free(&res);
  free(line);
  return status;
}

static void expect_fault(sw_world *w, const sw_client *who, const char *value, long status,
                         const char *want) {
  char *body = NULL;
  long got = call(w, "mtls", who, value, &body);
  if (got != status || strcmp(body, want) != 0)
    fail_msg("%ld %s, expected %ld %s", got, body, status, want);
  free(body);
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_encodings_through_balancer(void **state) {
  (void)state;
  sw_world w = {0};
  start_world(&w, "encodings", NULL);
  char *values[] = {url_encoded_pem(&cert_a), base64_der(&cert_a), base64_of_pem(&cert_a)};
  const char *names[] = {"URL-encoded PEM", "base64 DER", "base64 of PEM"};
  for (size_t i = 0; i < 3; i++) {
    long status = call(&w, "mtls", &balancer, values[i], NULL);
    if (status != 200)
      fail_msg("%s: %ld", names[i], status);
    free(values[i]);
  }
  assert_int_equal(401, call(&w, "mtls", &balancer, NULL, NULL)); /* the balancer itself: no */
  /* a PEM with spaces for newlines also decodes here: the armour and the
   * whitespace are dropped before base64, as WSO2 does */
  char *spaced = spaced_pem(&cert_a);
  assert_int_equal(200, call(&w, "mtls", &balancer, spaced, NULL));
  /* a certificate the gateway never saw: not in the in-memory trust store */
  char *stranger = base64_der(&cert_stranger);
  expect_fault(&w, &balancer, stranger, 401, BODY_901);
  sw_world_stop(&w);

  start_world(&w, "raw-pem", "{\"mutual_ssl\": {\"client_certificate_encode\": false}}");
  assert_int_equal(200, call(&w, "mtls", &balancer, spaced, NULL));
  char *der = base64_der(&cert_a);
  expect_fault(&w, &balancer, der, 500, BODY_900); /* no armour: not a PEM */
  free(der);
  free(spaced);
  free(stranger);
  sw_world_stop(&w);
}

static void test_validation_on_and_off(void **state) {
  (void)state;
  sw_world w = {0};
  char *a = base64_der(&cert_a);
  start_world(&w, "validation-on", NULL);
  /* a direct client with no certificate of its own: the header is ignored */
  expect_fault(&w, NULL, a, 401, BODY_901);
  /* a client whose own certificate is not trusted by the handshake would not
   * even connect; the stranger was never uploaded */
  /* the weakness: U, registered for "other", is a trusted peer, so its header
   * is believed and A's certificate opens "mtls" */
  assert_int_equal(200, call(&w, "mtls", &cert_u, a, NULL));
  assert_int_equal(200, call(&w, "mtls", &cert_a, NULL, NULL)); /* A itself, of course */
  sw_world_stop(&w);

  start_world(&w, "validation-off", "{\"mutual_ssl\": {\"enable_client_validation\": false}}");
  assert_int_equal(200, call(&w, "mtls", NULL, a, NULL)); /* anyone's header is believed */
  char *u = base64_der(&cert_u);
  expect_fault(&w, NULL, u, 401, BODY_901); /* U is not associated with "mtls" */
  /* the header wins over the connection's own certificate */
  expect_fault(&w, &cert_a, u, 401, BODY_901);
  free(u);
  sw_world_stop(&w);
  free(a);
}

static void test_balancer_pinning(void **state) {
  (void)state;
  FILE *f = fopen(balancer.cert, "r");
  assert_non_null(f);
  X509 *lb = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  assert_non_null(lb);
  char sha[65];
  bs_cert_sha256(lb, sha);
  X509_free(lb);
  char config[256];
  snprintf(config, sizeof(config), "{\"mutual_ssl\": {\"trusted_load_balancers\": [\"%s\"]}}", sha);
  sw_world w = {0};
  start_world(&w, "pinned", config);
  char *a = base64_der(&cert_a);
  assert_int_equal(200, call(&w, "mtls", &balancer, a, NULL));
  expect_fault(&w, &cert_u, a, 401, BODY_901); /* U's header is ignored now */
  expect_fault(&w, NULL, a, 401, BODY_901);
  assert_int_equal(200, call(&w, "other", &cert_u, a, NULL)); /* U on its own API: its own cert */
  free(a);
  sw_world_stop(&w);
}

/* A connection without a certificate of its own sends A's certificate in the
 * header: the lb-header rule row decides whether it counts. "mtls" needs the
 * certificate; "oauthm" (mutualssl + oauth2, OAuth2 mandatory) lets the
 * missing token decide either way. */
static void test_header_without_peer_certificate(void **state) {
  (void)state;
  static const struct {
    const char *profile, *broken;
    long mtls_status;   /* "mtls", header A, no peer certificate */
    const char *logged; /* the log line of the ignored header, or NULL */
  } sets[] = {
      {"wso2-4", NULL, 401, "peer presented no certificate (rule lb-header.ignored)"},
      {"wso2-2.6", NULL, 401, "peer presented no certificate (rule lb-header.ignored)"},
      {"sap", NULL, 401, "peer presented no certificate (rule lb-header.ignored-sap)"},
      {"wso2-4", "lb-header", 200, NULL},
  };
  char *a = base64_der(&cert_a);
  for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
    sw_world w = {0};
    char dir[64];
    snprintf(dir, sizeof(dir), "no-peer-%zu", i);
    start_world_as(&w, dir, "{\"fault_format\": \"json\"}", sets[i].profile, sets[i].broken);
    char oauthm[64];
    sw_create_api(&w.sim, "oauthm", w.url,
                  "[\"mutualssl\",\"oauth2\",\"oauth_basic_auth_api_key_mandatory\"]", -1, oauthm);
    sw_upload_client(&w.sim, oauthm, "a-oauthm", &cert_a, "Unlimited");
    sw_reload(&w.sim);
    if (sets[i].mtls_status == 401)
      expect_fault(&w, NULL, a, 401, BODY_901);
    else if (call(&w, "mtls", NULL, a, NULL) != sets[i].mtls_status)
      fail_msg("%s --break %s: not %ld", sets[i].profile, sets[i].broken, sets[i].mtls_status);
    char *body = NULL;
    long status = call(&w, "oauthm", NULL, a, &body); /* no token: the token decides */
    if (status != 401 || !strstr(body, "\"900902\""))
      fail_msg("%s: oauthm: %ld %s, expected 401 900902", sets[i].profile, status, body);
    free(body);
    if (sets[i].logged && !st_log_contains(&w.sim, sets[i].logged))
      fail_msg("%s: the log does not say \"%s\"", sets[i].profile, sets[i].logged);
    if (!sets[i].logged)
      assert_false(st_log_contains(&w.sim, "certificate header ignored"));
    sw_world_stop(&w);
  }
  free(a);
}

/* ---- what the backend saw ------------------------------------------------------ */

static void admin_ok(sw_world *w, const char *method, const char *path, const char *body,
                     json_t **out) {
  st_reply r;
  st_check(st_admin(&w->sim, method, path, body, &r));
  if (r.status != 200 && r.status != 201)
    fail_msg("%s %s: %ld %s", method, path, r.status, r.body ? r.body : "");
  if (out)
    *out = json_incref(r.json);
  st_reply_free(&r);
}

/* A key manager, an application subscribed to the APIs and a valid ES256 JWT
 * of it (malloc'd). */
static char *subscribed_token(sw_world *w, const char *const *api_ids, size_t count) {
  EVP_PKEY *key = EVP_EC_gen("P-256");
  assert_non_null(key);
  char *pem = test_pem(key, NULL, 0);
  json_t *km = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "name", "km", "issuer", ISSUER, "alg",
                         "ES256", "certificates", "type", "PEM", "value", pem);
  char *body = json_dumps(km, 0);
  admin_ok(w, "POST", "/api/am/admin/v4/key-managers", body, NULL);
  free(body);
  json_decref(km);
  free(pem);
  json_t *app = NULL;
  admin_ok(w, "POST", "/api/am/devportal/v3/applications",
           "{\"name\": \"app\", \"throttlingPolicy\": \"Unlimited\"}", &app);
  char path[256], sub[256];
  const char *app_id = json_string_value(json_object_get(app, "applicationId"));
  assert_non_null(app_id);
  snprintf(path, sizeof(path), "/api/am/devportal/v3/applications/%s/map-keys", app_id);
  admin_ok(w, "POST", path,
           "{\"consumerKey\": \"ck\", \"keyType\": \"PRODUCTION\", \"keyManager\": \"km\"}", NULL);
  for (size_t i = 0; i < count; i++) {
    snprintf(sub, sizeof(sub),
             "{\"applicationId\": \"%s\", \"apiId\": \"%s\", \"throttlingPolicy\": "
             "\"Unlimited\"}",
             app_id, api_ids[i]);
    admin_ok(w, "POST", "/api/am/devportal/v3/subscriptions", sub, NULL);
  }
  json_decref(app);
  json_int_t now = (json_int_t)(st_status_i64(&w->sim, "time_ms") / 1000);
  json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", ISSUER, "sub", "alice", "azp",
                             "ck", "client_id", "ck", "iat", now, "exp", now + 3600);
  char *token = NULL, why[256];
  if (gjwt_sign(GJWT_ES256, key, "km-1", claims, &token, why, sizeof(why)) != 0)
    fail_msg("gjwt_sign: %s", why);
  json_decref(claims);
  EVP_PKEY_free(key);
  return token;
}

/* GET /api/1.0/menaka as who (NULL: no certificate of its own) with header
 * name: value (value NULL: none) and an optional bearer token. Returns the
 * status; *saw gets the value of that header as the backend received it
 * (malloc'd; NULL when absent or the backend was not reached). */
static long call_saw(sw_world *w, const char *api, const sw_client *who, const char *name,
                     const char *value, const char *token, char **saw) {
  char path[128];
  snprintf(path, sizeof(path), "/%s/1.0/menaka", api);
  char *line = NULL, *bearer = NULL;
  const char *headers[3] = {NULL, NULL, NULL};
  size_t n = 0;
  if (value) {
    line = malloc(strlen(name) + strlen(value) + 3);
    sprintf(line, "%s: %s", name, value);
    headers[n++] = line;
  }
  if (token) {
    bearer = malloc(strlen(token) + 32);
    sprintf(bearer, "Authorization: Bearer %s", token);
    headers[n++] = bearer;
  }
  bs_request req = {.port = w->sim.https,
                    .path = path,
                    .insecure = 1,
                    .cert = who ? who->cert : NULL,
                    .key = who ? who->key : NULL,
                    .headers = headers};
  bs_response res;
  if (bs_http(&req, &res) != CURLE_OK)
    fail_msg("%s: %s", path, res.error);
  *saw = NULL;
  if (res.status == 200) {
    json_t *echo = json_loads(res.body, 0, NULL);
    json_t *all =
        json_object_get(json_object_get(json_object_get(echo, "saw"), "request"), "headers");
    if (!json_is_object(all))
      fail_msg("%s: no request headers in the echo body: %s", path, res.body);
    const char *k;
    json_t *v;
    json_object_foreach(all, k, v) {
      if (strcasecmp(k, name) == 0)
        *saw = strdup(json_string_value(v));
    }
    json_decref(echo);
  }
  long status = res.status;
  bs_response_free(&res);
  free(line);
  free(bearer);
  return status;
}

/* One world per profile, configuration and --break; each case sends A's
 * certificate in a header (or none) and reads what the backend saw. "mtls" is
 * mutual SSL mandatory, "oauth" OAuth2 alone (a valid JWT), "oauthm"
 * mutualssl + oauth2 with OAuth2 mandatory (a valid JWT). */
static void test_header_forwarding(void **state) {
  (void)state;
  enum { NONE = 0, AS_SENT }; /* what the backend saw */
  static const struct {
    const char *api;
    const sw_client *peer; /* the connection's own certificate */
    int header;            /* 1: A's certificate in the header */
    int token;
    long status;
    int saw_removed; /* a header read is removed (wso2-4, flag false) */
    int saw_passed;  /* a header read is passed on (the flag, or rule lb-header.passed-on) */
  } cases[] = {
      /* read by the mutual SSL authenticator: removed unless passed on */
      {"mtls", &balancer, 1, 0, 200, NONE, AS_SENT},
      /* read by the cnf check of the JWT that passed: the same */
      {"oauth", &balancer, 1, 1, 200, NONE, AS_SENT},
      {"oauthm", &balancer, 1, 1, 200, NONE, AS_SENT},
      /* ignored (the peer has no certificate): passed on as sent, always */
      {"oauth", NULL, 1, 1, 200, AS_SENT, AS_SENT},
      {"oauthm", NULL, 1, 1, 200, AS_SENT, AS_SENT},
      /* the TLS client certificate is never put into the header */
      {"mtls", &cert_a, 0, 0, 200, NONE, NONE},
      {"oauthm", &cert_a, 0, 1, 200, NONE, NONE},
  };
#define FORWARD_ON  "{\"mutual_ssl\": {\"forward_client_certificate_header\": true}}"
#define FORWARD_OFF "{\"mutual_ssl\": {\"forward_client_certificate_header\": false}}"
  static const struct {
    const char *profile, *broken, *config, *name;
    int passed; /* 1: a header read reaches the backend as sent */
  } sets[] = {
      /* lb-header.removed-when-read: 4.7 removes it unless the flag says so */
      {"wso2-4", NULL, NULL, HEADER, 0},
      {"wso2-4", NULL, FORWARD_ON, HEADER, 1},
      {"wso2-4", NULL, FORWARD_OFF, HEADER, 0},
      {"wso2-4", NULL, "{\"mutual_ssl\": {\"certificate_header\": \"X-SSL-Cert\"}}", "X-SSL-Cert",
       0},
      /* lb-header.passed-on: passed on as sent, whatever the flag */
      {"wso2-2.6", NULL, NULL, HEADER, 1},
      {"wso2-2.6", NULL, FORWARD_OFF, HEADER, 1},
      {"sap", NULL, NULL, HEADER, 1},
      /* --break lb-header-forward: the other version's row */
      {"wso2-4", "lb-header-forward", NULL, HEADER, 1},
      {"wso2-2.6", "lb-header-forward", NULL, HEADER, 0},
  };
#undef FORWARD_ON
#undef FORWARD_OFF
  char *a = base64_der(&cert_a);
  for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
    sw_world w = {0};
    char dir[64], label[256];
    snprintf(dir, sizeof(dir), "forwarding-%zu", s);
    snprintf(label, sizeof(label), "%s%s%s %s", sets[s].profile, sets[s].broken ? " --break " : "",
             sets[s].broken ? sets[s].broken : "", sets[s].config ? sets[s].config : "");
    start_world_as(&w, dir, sets[s].config, sets[s].profile, sets[s].broken);
    char oauth[64], oauthm[64];
    sw_create_api(&w.sim, "oauth", w.url, "[\"oauth2\"]", -1, oauth);
    sw_create_api(&w.sim, "oauthm", w.url,
                  "[\"mutualssl\",\"oauth2\",\"oauth_basic_auth_api_key_mandatory\"]", -1, oauthm);
    sw_upload_client(&w.sim, oauthm, "a-oauthm", &cert_a, "Unlimited");
    const char *const subscribed[] = {oauth, oauthm};
    char *token = subscribed_token(&w, subscribed, 2);
    sw_reload(&w.sim);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
      char *saw = NULL;
      long status = call_saw(&w, cases[i].api, cases[i].peer, sets[s].name,
                             cases[i].header ? a : NULL, cases[i].token ? token : NULL, &saw);
      int want = sets[s].passed ? cases[i].saw_passed : cases[i].saw_removed;
      if (status != cases[i].status)
        fail_msg("%s, case %zu: %ld, expected %ld", label, i, status, cases[i].status);
      if (want == NONE && saw)
        fail_msg("%s, case %zu: the backend saw %s", label, i, sets[s].name);
      if (want == AS_SENT && (!saw || strcmp(saw, a) != 0))
        fail_msg("%s, case %zu: the backend saw %s: %s, not as sent", label, i, sets[s].name,
                 saw ? saw : "(none)");
      free(saw);
    }
    if (strcmp(sets[s].name, HEADER) != 0) {
      /* another header name than the configured one is nobody's certificate */
      char *saw = NULL;
      assert_int_equal(401, call_saw(&w, "mtls", &balancer, HEADER, a, NULL, &saw));
      assert_int_equal(200, call_saw(&w, "oauth", &balancer, HEADER, a, token, &saw));
      if (!saw || strcmp(saw, a) != 0)
        fail_msg("%s: the backend did not see %s as sent", sets[s].config, HEADER);
      free(saw);
    }
    free(token);
    sw_world_stop(&w);
  }
  free(a);
}

/* Certificates that came in the header are throttled as mutual SSL is, per
 * rule throttle-key: WSO2 4.4+ (wso2-4, sap) under the subscription-level key
 * MutualSSLAuthApplication:<synapse context>:<version>:<tier>, 2.6 (wso2-2.6)
 * under null:<synapse context>:<version>; either way one counter for every
 * certificate of a tier on one API version, named in the log when a request
 * is throttled out. --break throttle-key swaps the rows. */
static void test_header_throttle_key(void **state) {
  (void)state;
  static const struct {
    const char *profile, *broken, *key;
  } sets[] = {
      {"wso2-4", NULL, "MutualSSLAuthApplication:/tiered/1.0:1.0:2PerMin"},
      {"sap", NULL, "MutualSSLAuthApplication:/tiered/1.0:1.0:2PerMin"},
      {"wso2-2.6", NULL, "null:/tiered/1.0:1.0"},
      {"wso2-4", "throttle-key", "null:/tiered/1.0:1.0"},
  };
  static const struct {
    int who; /* 0: A, 1: U, both in the header */
    long status;
  } calls[] = {{0, 200}, {1, 200}, {0, 429}, {1, 429}};
  char *a = base64_der(&cert_a), *u = base64_der(&cert_u);
  for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
    sw_world w = {0};
    char dir[64], logged[256];
    snprintf(dir, sizeof(dir), "throttle-key-%zu", s);
    start_world_as(&w, dir,
                   "{\"fault_format\": \"json\", \"throttling\": {\"tiers\": [{\"name\": "
                   "\"2PerMin\", \"requests\": 2}]}}",
                   sets[s].profile, sets[s].broken);
    char tiered[64];
    sw_create_api(&w.sim, "tiered", w.url, "[\"mutualssl\",\"mutualssl_mandatory\"]", -1, tiered);
    sw_upload_client(&w.sim, tiered, "ta", &cert_a, "2PerMin");
    sw_upload_client(&w.sim, tiered, "tu", &cert_u, "2PerMin");
    sw_reload(&w.sim);
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
      long status = call(&w, "tiered", &balancer, calls[i].who ? u : a, NULL);
      if (status != calls[i].status)
        fail_msg("%s: call %zu: %ld, expected %ld", sets[s].profile, i, status, calls[i].status);
    }
    snprintf(logged, sizeof(logged), "throttled out (tier 2PerMin, 2 per 60 s, key %s)",
             sets[s].key);
    if (!st_log_contains(&w.sim, logged))
      fail_msg("%s%s%s: the log does not say \"%s\"", sets[s].profile,
               sets[s].broken ? " --break " : "", sets[s].broken ? sets[s].broken : "", logged);
    sw_world_stop(&w);
  }
  free(a);
  free(u);
}

static void test_malformed_headers(void **state) {
  (void)state;
  sw_world w = {0};
  start_world(&w, "malformed", NULL);
  static const char *const bad[] = {
      "not-a-certificate",
      "%ZZ%",
      "-----BEGIN CERTIFICATE-----AAAA-----END CERTIFICATE-----",
      "TUlJQg==" /* "MIIB": base64, but not DER */,
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    expect_fault(&w, &balancer, bad[i], 500, BODY_900);
  /* a valid certificate followed by junk: not one certificate */
  char *a = base64_der(&cert_a);
  char *junk = malloc(strlen(a) + 8);
  sprintf(junk, "%sAAAA", a);
  expect_fault(&w, &balancer, junk, 500, BODY_900);
  free(junk);
  /* longer than 16 KiB: refused unread */
  size_t big = (size_t)20 * 1024;
  char *huge = malloc(big + 1);
  memset(huge, 'A', big);
  huge[big] = '\0';
  expect_fault(&w, &balancer, huge, 500, BODY_900);
  free(huge);
  free(a);
  assert_true(st_log_contains(&w.sim, "Error while validating into Certificate Existence"));
  sw_world_stop(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_encodings_through_balancer, bs_teardown),
      cmocka_unit_test_teardown(test_validation_on_and_off, bs_teardown),
      cmocka_unit_test_teardown(test_balancer_pinning, bs_teardown),
      cmocka_unit_test_teardown(test_header_without_peer_certificate, bs_teardown),
      cmocka_unit_test_teardown(test_header_forwarding, bs_teardown),
      cmocka_unit_test_teardown(test_header_throttle_key, bs_teardown),
      cmocka_unit_test_teardown(test_malformed_headers, bs_teardown),
  };
  return bt_run_curl_tests(tests, group_setup, NULL);
}
