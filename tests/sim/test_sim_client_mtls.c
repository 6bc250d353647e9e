/* test_sim_client_mtls.c - client to gateway mutual TLS in gatecert-sim.
 *
 * Through real processes and TLS connections (libcurl with a client
 * certificate, a fresh connection each time):
 *   - the listener's verify modes: none (no certificate asked: any client
 *     completes the handshake), optional (the default: no certificate is
 *     fine, an untrusted one fails the handshake, a trusted one passes),
 *     require (no certificate fails the handshake);
 *   - the two clocks, on libfaketime: a client certificate uploaded to an API
 *     fails the handshake until the listener's SSL profile tick, and is in the
 *     in-memory trust only from the trust store reloader's tick (first run
 *     60 s after start, then every period), as /_sim/status shows; a delete
 *     stops matching at once but the handshake still completes until the
 *     next profile tick; a restart builds both from the store at once;
 *   - the admin API's answers, row by row, under wso2-4, wso2-2.6 and sap:
 *     201; 400 empty alias, no file, a file part without a file name, an
 *     empty file, expired (WSO2's texts); an unknown tier by rule
 *     client-tier.* (201 in WSO2, 400 in sap); 409 by each version's
 *     client-alias.* rule (the same API, another API, the other key type, an
 *     endpoint certificate's alias, WSO2 4.x naming the key type as the path
 *     spelled it); the file checked before the alias; malformed 500 or 400;
 *     404, PUT (an empty one as rule client-put-empty.* says), DELETE,
 *     content, the key-type paths; and a restart that finds every certificate
 *     again under its API, key type and alias. The paths follow rule
 *     rest-paths: under wso2-4 and sap /apis/{id}/client-certificates (and
 *     /client-certs/{keyType}), under wso2-2.6 Publisher v0.14's
 *     /clientCertificates (the API id in the form or the query, the alias
 *     alone naming a certificate); each version's paths answer 404 naming
 *     the rule under the other, also with --break rest-paths.
 * The data plane outcome of a match (200 or 401 on an API secured with
 * mutualssl_mandatory) is asserted where the security chain (security.c)
 * decides it.
 *
 * In process, linking the simulator's core: gsim_client_cert_match by serial
 * + issuer DN and by serial + subject DN (twins that share serial and subject
 * under two issuers, a certificate sharing serial and issuer with another
 * subject), chain validation off and on (a leaf issued by an uploaded CA, a
 * leaf two levels below it, and a presented chain holding an unrelated copy
 * of the CA, which must not match), and the memory and handshake trust
 * answers; a stored row of the older key "<apiId>/<alias>" moved to
 * "<apiId>/<keyType>/<alias>" at start.
 */
#include "support.h"
#include "backend_fixture.h"
#include "backend_support.h"
#include "sim_fixture.h"
#include "sim_world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

#define FAKE_START "2030-01-01 00:00:00"
#define SECOND     ((int64_t)1000)
#define CC_PATH    ST_APIS "/%s/client-certificates"

static const char *scratch(const char *name) {
  static char slots[16][BS_PATH_MAX];
  static unsigned next;
  return bt_scratch(slots[next++ % 16], name);
}

/* One request on a fresh TLS connection presenting row's certificate (NULL:
 * none). 1 when the handshake and the request completed (*status set), 0
 * when curl failed (the handshake was refused). */
static int request_with(st_sim *sim, const char *path, const char *row, long *status) {
  char cert[64], key[64];
  bs_request req = {.port = sim->https, .path = path, .insecure = 1};
  if (row) {
    snprintf(cert, sizeof(cert), "%s.pem", row);
    snprintf(key, sizeof(key), "%s.key", row);
    req.cert = scratch(cert);
    req.key = scratch(key);
  }
  bs_response res;
  bs_http(&req, &res);
  int ok = res.code == CURLE_OK;
  if (status)
    *status = res.status;
  bs_response_free(&res);
  return ok;
}

static int handshake(st_sim *sim, const char *row) {
  return request_with(sim, "/no/such/api", row, NULL);
}

/* multipart to path with optional alias, tier, apiId and certificate file:
 * a scratch name, "!garbage" (bytes that are no certificate), "!empty" (no
 * bytes) or "!nofilename" (client.pem in a part without a file name).
 * Returns the status. */
static long client_cert_call(st_sim *sim, const char *method, const char *path, const char *alias,
                             const char *tier, const char *api_id, const char *file,
                             st_reply *out) {
  st_part parts[4];
  size_t n = 0;
  char *data = NULL;
  size_t len = 0;
  static const char garbage[] = "this is not a certificate";
  if (file && strcmp(file, "!garbage") == 0)
    parts[n++] = (st_part){"certificate", garbage, sizeof(garbage) - 1, "client.crt"};
  else if (file && strcmp(file, "!empty") == 0)
    parts[n++] = (st_part){"certificate", "", 0, "client.crt"};
  else if (file) {
    int bare = strcmp(file, "!nofilename") == 0;
    data = bs_slurp(scratch(bare ? "client.pem" : file), &len);
    assert_non_null(data);
    parts[n++] = (st_part){"certificate", data, len, bare ? NULL : "client.crt"};
  }
  if (alias)
    parts[n++] = (st_part){"alias", alias, strlen(alias), NULL};
  if (tier)
    parts[n++] = (st_part){"tier", tier, strlen(tier), NULL};
  if (api_id)
    parts[n++] = (st_part){"apiId", api_id, strlen(api_id), NULL};
  st_check(st_multipart(sim, method, path, parts, n, out));
  free(data);
  return out->status;
}

static void upload(st_sim *sim, const char *api_id, const char *alias, const char *file) {
  char path[256];
  snprintf(path, sizeof(path), CC_PATH, api_id);
  st_reply r;
  if (client_cert_call(sim, "POST", path, alias, NULL, NULL, file, &r) != 201)
    fail_msg("upload %s: %ld %s", alias, r.status, r.body);
  st_reply_free(&r);
}

static long delete_cert(st_sim *sim, const char *api_id, const char *alias) {
  char path[256];
  snprintf(path, sizeof(path), CC_PATH "/%s", api_id, alias);
  st_reply r;
  st_check(st_admin(sim, "DELETE", path, NULL, &r));
  long status = r.status;
  st_reply_free(&r);
  return status;
}

static int64_t status_at(st_sim *sim, const char *path) {
  int64_t v = st_status_i64(sim, path);
  if (v == INT64_MIN) { /* booleans: pending_change */
    json_t *status = NULL;
    st_check(st_status(sim, &status));
    json_t *b = bs_json_at(status, path);
    if (!json_is_boolean(b))
      fail_msg("/_sim/status has no %s", path);
    v = json_is_true(b);
    json_decref(status);
  }
  return v;
}

/* ---- verify modes -------------------------------------------------------------- */

/* client-expired.pem/.key: a client certificate of the catalogue's
 * intermediate that expired an hour ago (the catalogue has none). */
static void make_expired_client(void) {
  gcert_error err = {0};
  gcert_buf buf = {0};
  gcert_item issuer = {bt_load_cert("intermediate.pem"), NULL};
  assert_status(GCERT_OK, gcert_file_load(scratch("intermediate.key"), 1 << 20, &buf, &err), &err);
  assert_status(GCERT_OK, gcert_pem_read_key(buf.data, buf.len, NULL, &issuer.key, &err), &err);
  gcert_buf_free(&buf);
  gcert_spec spec;
  gcert_spec_init(&spec, GCERT_KIND_CLIENT);
  spec.subject = "CN=gatecert client,OU=expired,O=gatecert";
  spec.not_before = -7200;
  spec.not_after = -3600;
  gcert_item item = {0};
  assert_status(GCERT_OK, gcert_issue(&spec, time(NULL), &issuer, NULL, &item, &err), &err);
  X509 *chain[] = {item.cert, issuer.cert};
  bs_check(bs_save_certs(scratch("client-expired.chain.pem"), chain, 2) == 0);
  bs_check(bs_save_key(scratch("client-expired.key"), item.key) == 0);
  gcert_item_free(&item);
  EVP_PKEY_free(issuer.key);
  X509_free(issuer.cert);
}

typedef struct mode_case {
  const char *mode; /* NULL: the default */
  const char *row;  /* the client's certificate, NULL: none */
  int ok;
} mode_case;

static void test_verify_modes(void **state) {
  (void)state;
  static const mode_case cases[] = {
      {"none", NULL, 1},
      {"none", "client.chain", 1},
      {"none", "client-untrusted.chain", 1}, /* not asked, not checked */
      {"optional", NULL, 1},
      {"optional", "client.chain", 1},
      {"optional", "client-untrusted.chain", 0},
      {"optional", "client-expired.chain", 0},
      {"optional", "client-wrong-eku.chain", 0}, /* serverAuth only: not a client */
      {NULL, NULL, 1},
      {NULL, "client-untrusted.chain", 0},
      {"require", NULL, 0},
      {"require", "client.chain", 1},
      {"require", "client-untrusted.chain", 0},
  };
  make_expired_client();
  const char *extra[] = {"--trust", scratch("root.pem"), NULL};
  const char *running = "?";
  st_sim sim = {0};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const mode_case *c = &cases[i];
    const char *mode = c->mode ? c->mode : "default";
    if (strcmp(mode, running) != 0) {
      if (sim.proc)
        st_check(st_sim_stop(&sim));
      char config[128], dir[64];
      snprintf(config, sizeof(config), "{\"listener\": {\"verify_client\": \"%s\"}}", mode);
      snprintf(dir, sizeof(dir), "mode-%s", mode);
      sw_sim_start_with(&sim, dir, NULL, NULL, c->mode ? config : NULL, extra);
      json_t *status = NULL;
      st_check(st_status(&sim, &status));
      assert_string_equal(c->mode ? c->mode : "optional",
                          bs_json_str(status, "listener.verify_client"));
      json_decref(status);
      running = mode;
    }
    char key_row[64] = "";
    if (c->row) { /* row.chain.pem goes with row.key */
      snprintf(key_row, sizeof(key_row), "%s", c->row);
      char *dot = strstr(key_row, ".chain");
      if (dot)
        *dot = '\0';
    }
    char cert[96], key[96];
    bs_request req = {.port = sim.https, .path = "/no/such/api", .insecure = 1};
    if (c->row) {
      snprintf(cert, sizeof(cert), "%s.pem", c->row);
      snprintf(key, sizeof(key), "%s.key", key_row);
      req.cert = scratch(cert);
      req.key = scratch(key);
    }
    bs_response res;
    bs_http(&req, &res);
    int ok = res.code == CURLE_OK;
    if (ok != c->ok)
      fail_msg("%s, %s: handshake %s (%s)", mode, c->row ? c->row : "no certificate",
               ok ? "completed" : "failed", res.error);
    if (ok)
      assert_int_equal(404, res.status); /* routed: no API there */
    bs_response_free(&res);
    if (!ok && c->row)
      assert_true(st_log_contains(&sim, "client certificate refused in the handshake"));
  }
  st_check(st_sim_stop(&sim));
}

/* ---- the two clocks ---------------------------------------------------------------- */

typedef struct clock_world {
  st_sim sim;
  bs_process *backend;
  char api[64];
  int64_t t0;
  /* what st_sim_restart reads again (st_sim_opts borrows its strings) */
  char dir[BS_PATH_MAX], config[BS_PATH_MAX + 256], root[BS_PATH_MAX];
  const char *extra[3];
} clock_world;

/* A backend the sender trusts (--trust root.pem) and a listener trust that
 * nothing chains to: the client certificate is trusted only once uploaded. */
static void clock_start(clock_world *w, const char *dir) {
  char url[128];
  w->backend = sw_backend("echo", "server", NULL, url);
  snprintf(w->config, sizeof(w->config),
           "{\"listener\": {\"profile_reload_interval\": 600, \"truststore_reload_period\": 300,"
           " \"truststore_initial_delay\": 60, \"trust_store\": \"%s\"}}",
           scratch("self-signed.pem"));
  bt_scratch(w->root, "root.pem");
  w->extra[0] = "--trust";
  w->extra[1] = w->root;
  w->extra[2] = NULL;
  st_sim_opts opts = {.dir = bt_scratch(w->dir, dir),
                      .config_json = w->config,
                      .clock = FAKE_START,
                      .extra = w->extra};
  st_check(st_sim_start(&w->sim, &opts));
  sw_create_api(&w->sim, "secured", url, "[\"mutualssl\", \"mutualssl_mandatory\"]", -1, w->api);
  w->t0 = st_status_i64(&w->sim, "started_ms");
  assert_true(w->t0 > 0);
}

static void at(clock_world *w, int64_t seconds) {
  st_check(st_clock_set(&w->sim, w->t0 + seconds * SECOND));
}

/* The data plane answer on the mutualssl_mandatory API with client.pem, or 0
 * when the handshake failed. */
static long secured_call(clock_world *w) {
  long status = 0;
  if (!request_with(&w->sim, "/secured/1.0/menaka", "client", &status))
    return 0;
  return status;
}

static void test_clock_story(void **state) {
  (void)state;
  clock_world w = {0};
  clock_start(&w, "clocks");
  double real_start = gu_now_ms();
  json_t *status = NULL;
  st_check(st_status(&w.sim, &status));
  assert_int_equal(
      w.t0 + 600 * SECOND,
      json_integer_value(json_array_get(bs_json_at(status, "listener.profile.next_ticks_ms"), 0)));
  json_t *reloader = bs_json_at(status, "listener.truststore.next_ticks_ms");
  for (size_t k = 0; k < 3; k++) /* first run 60 s after start, then every 300 s */
    assert_int_equal(w.t0 + (60 + 300 * (int64_t)k) * SECOND,
                     json_integer_value(json_array_get(reloader, k)));
  assert_int_equal(1, json_integer_value(bs_json_at(status, "listener.profile.generation")));
  json_decref(status);
  assert_int_equal(0, handshake(&w.sim, "client"));

  /* after the reloader's tick 1 (+60), before its tick 2 (+360) */
  at(&w, 370);
  upload(&w.sim, w.api, "c1", "client.pem");
  assert_int_equal(1, status_at(&w.sim, "listener.client_certificates"));
  assert_int_equal(1, status_at(&w.sim, "listener.profile.pending_change"));
  assert_int_equal(1, status_at(&w.sim, "listener.truststore.pending_change"));
  assert_int_equal(0, handshake(&w.sim, "client")); /* optional mode: untrusted yet */
  at(&w, 599);
  assert_int_equal(0, handshake(&w.sim, "client"));
  assert_int_equal(0, status_at(&w.sim, "listener.profile.certificates_live"));

  at(&w, 601); /* the profile tick at +600 */
  assert_int_equal(1, handshake(&w.sim, "client"));
  assert_int_equal(2, status_at(&w.sim, "listener.profile.generation"));
  assert_int_equal(1, status_at(&w.sim, "listener.profile.certificates_live"));
  assert_int_equal(0, status_at(&w.sim, "listener.profile.pending_change"));
  assert_int_equal(1, status_at(&w.sim, "listener.truststore.pending_change"));
  assert_int_equal(0, status_at(&w.sim, "listener.truststore.certificates_live"));
  long before_reloader = secured_call(&w); /* not in the in-memory trust yet */

  at(&w, 661); /* the reloader's tick at +660 */
  assert_int_equal(0, status_at(&w.sim, "listener.truststore.pending_change"));
  assert_int_equal(1, status_at(&w.sim, "listener.truststore.certificates_live"));
  assert_int_equal(1, status_at(&w.sim, "listener.truststore.reloads"));
  long after_both = secured_call(&w);

  at(&w, 700);
  assert_int_equal(200, delete_cert(&w.sim, w.api, "c1"));
  assert_int_equal(0, status_at(&w.sim, "listener.client_certificates")); /* the map: at once */
  assert_int_equal(1, handshake(&w.sim, "client")); /* the handshake: until the next tick */
  long after_delete = secured_call(&w);
  at(&w, 1199);
  assert_int_equal(1, handshake(&w.sim, "client"));
  at(&w, 1201);
  assert_int_equal(0, handshake(&w.sim, "client"));
  assert_int_equal(3, status_at(&w.sim, "listener.profile.generation"));
  assert_true(st_log_contains(&w.sim, "listener SSL profile reloaded (tick)"));
  printf("# upload +370: handshake at +601, memory trust at +661; data plane %ld before the "
         "reloader tick, %ld after both, %ld after the delete (%.0f ms real)\n",
         before_reloader, after_both, after_delete, gu_now_ms() - real_start);
  /* the security chain: in memory trust and matched -> the backend answers */
  assert_int_equal(401, before_reloader);
  assert_int_equal(200, after_both);
  assert_int_equal(401, after_delete);
  st_check(st_sim_stop(&w.sim));
  bs_check(bs_stop(w.backend) == 0);
}

/* A restart builds the handshake and the memory trust from the store. */
static void test_restart_keeps_client_certs(void **state) {
  (void)state;
  clock_world w = {0};
  clock_start(&w, "restart");
  at(&w, 10);
  upload(&w.sim, w.api, "kept", "client.pem");
  assert_int_equal(0, handshake(&w.sim, "client"));
  st_check(st_sim_stop(&w.sim));
  st_check(st_sim_restart(&w.sim));
  assert_int_equal(1, handshake(&w.sim, "client"));
  assert_int_equal(1, status_at(&w.sim, "listener.client_certificates"));
  assert_int_equal(1, status_at(&w.sim, "listener.profile.certificates_live"));
  assert_int_equal(1, status_at(&w.sim, "listener.truststore.certificates_live"));
  assert_int_equal(0, status_at(&w.sim, "listener.profile.pending_change"));
  assert_int_equal(200, secured_call(&w));
  char path[256];
  snprintf(path, sizeof(path), CC_PATH "/kept", w.api);
  st_reply r;
  st_check(st_admin(&w.sim, "GET", path, NULL, &r));
  assert_int_equal(200, r.status);
  assert_string_equal("Unlimited", json_string_value(json_object_get(r.json, "tier")));
  st_reply_free(&r);
  /* deleting the API drops its client certificates (store and map) */
  snprintf(path, sizeof(path), ST_APIS "/%s", w.api);
  st_check(st_admin(&w.sim, "DELETE", path, NULL, &r));
  assert_int_equal(200, r.status);
  st_reply_free(&r);
  assert_int_equal(0, status_at(&w.sim, "listener.client_certificates"));
  st_check(st_sim_stop(&w.sim));
  st_check(st_sim_restart(&w.sim));
  assert_int_equal(0, status_at(&w.sim, "listener.client_certificates"));
  assert_int_equal(0, handshake(&w.sim, "client"));
  st_check(st_sim_stop(&w.sim));
  bs_check(bs_stop(w.backend) == 0);
}

/* ---- the admin API ---------------------------------------------------------------- */

/* The profiles the admin rows run under, in the order of admin_row.status. */
enum { P_WSO2_4 = 0, P_WSO2_26, P_SAP, P_COUNT };
static const char *const PROFILES[P_COUNT] = {"wso2-4", "wso2-2.6", "sap"};

typedef struct admin_row {
  const char *what;
  const char *method;
  /* after /apis/{id} of API a; "b:" first: API b's; "!": an unknown API id.
   * Where rule rest-paths says v0.14, /client-certificates[?q] becomes
   * /clientCertificates with the API id in the form (POST) or the query,
   * and /client-certificates/{alias}... /clientCertificates/{alias}...;
   * "@" first: /apis/{id} of API a, never rewritten; "=" first: the path as
   * it is (a POST's form then names API a) */
  const char *path;
  const char *alias;
  const char *tier;
  const char *file;     /* see client_cert_call, or NULL */
  long status[P_COUNT]; /* wso2-4, wso2-2.6, sap */
  /* in the body: says for every profile unless the profile's own is given;
   * "%s" stands for API a's id; NULL: nothing checked */
  const char *says;
  const char *says_by[P_COUNT];
} admin_row;

#define ALL(s)                                                                                     \
  { s, s, s }
#define TAKEN_A(alias) "The alias '" alias "' already exists in the trust store."
#define TAKEN_T(alias, type)                                                                       \
  "The alias '" alias "' already exists in the trust store for " type " key type."
#define NO_FILE "Certificate addition failed. Proper Certificate file should be provided"
/* the other version's certificate paths (rule rest-paths) */
#define V014_ONLY "(rule rest.publisher-v0.14)"
#define V4_ONLY   "(rule rest.publisher-v4)"
#define V014      "=/api/am/publisher/v0.14/clientCertificates"

/* API a has the endpoint "https://localhost:9", API b the same backend; the
 * endpoint certificate "ep1" exists before the first row. Rules:
 * client-alias.tenant-key-type (wso2-4), client-alias.tenant (wso2-2.6),
 * client-alias.per-api (sap); client-tier.accepted (wso2), -validated (sap). */
/* clang-format off */
static const admin_row admin_rows[] = {
    {"add", "POST", "/client-certificates", "c1", NULL, "client.pem",
     ALL(201), "\"alias\":\"c1\"", {NULL}},
    {"add with a tier", "POST", "/client-certificates", "c2", "Gold", "client-untrusted.pem",
     ALL(201), "\"tier\":\"Gold\"", {NULL}},
    {"empty alias", "POST", "/client-certificates", "", NULL, "client.pem", ALL(400),
     "The alias and/ or apiId should not be empty", {NULL}},
    {"no alias", "POST", "/client-certificates", NULL, NULL, "client.pem", ALL(400),
     "The alias and/ or apiId should not be empty", {NULL}},
    {"missing file", "POST", "/client-certificates", "c3", NULL, NULL, ALL(400), NO_FILE, {NULL}},
    {"file without a file name", "POST", "/client-certificates", "c3", NULL, "!nofilename",
     ALL(400), NO_FILE, {NULL}},
    {"empty file", "POST", "/client-certificates", "c3", NULL, "!empty", ALL(400), NO_FILE, {NULL}},
    {"unknown tier", "POST", "/client-certificates", "t1", "Platinum", "client.pem",
     {201, 201, 400},
     NULL, {"\"tier\":\"Platinum\"", "\"tier\":\"Platinum\"", "Invalid tier 'Platinum'"}},
    {"unknown tier deleted", "DELETE", "/client-certificates/t1", NULL, NULL, NULL, {200, 200, 404},
     NULL, {NULL}},
    {"alias taken in the API", "POST", "/client-certificates", "c1", NULL, "client.pem", ALL(409),
     TAKEN_A("c1"), {TAKEN_T("c1", "PRODUCTION")}},
    {"alias taken on another API", "POST", "b:/client-certificates", "c1", NULL, "client.pem",
     {409, 409, 201}, TAKEN_A("c1"), {TAKEN_T("c1", "PRODUCTION"), NULL, "\"alias\":\"c1\""}},
    {"sandbox alias of another API's production", "POST", "b:/client-certs/SANDBOX", "c2", NULL,
     "client.pem", {201, 404, 201}, "\"keyType\":\"SANDBOX\"", {NULL, V014_ONLY}},
    {"sandbox alias of this API's production", "POST", "/client-certs/SANDBOX", "c1", NULL,
     "client.pem", {201, 404, 409}, TAKEN_A("c1"), {"\"keyType\":\"SANDBOX\"", V014_ONLY}},
    {"sandbox alias taken, as the path spells it", "POST", "/client-certs/sandbox", "c2", NULL,
     "client.pem", {409, 404, 409}, TAKEN_A("c2"), {TAKEN_T("c2", "sandbox"), V014_ONLY}},
    {"an endpoint certificate's alias", "POST", "b:/client-certificates", "ep1", NULL, "client.pem",
     {409, 409, 201}, TAKEN_A("ep1"), {TAKEN_T("ep1", "PRODUCTION"), NULL, "\"alias\":\"ep1\""}},
    {"expired", "POST", "/client-certificates", "c3", NULL, "server-expired.pem", ALL(400),
     "Error while adding the certificate to the API %s. Certificate Expired.", {NULL}},
    {"expired, alias taken: the file first", "POST", "/client-certificates", "c1", NULL,
     "server-expired.pem", ALL(400), "Certificate Expired.", {NULL}},
    {"malformed", "POST", "/client-certificates", "c3", NULL, "!garbage", {500, 500, 400}, NULL,
     {"The server encountered an internal error", "The server encountered an internal error",
      "The certificate could not be read"}},
    {"malformed, alias taken: the file first", "POST", "/client-certificates", "c1", NULL,
     "!garbage", {500, 500, 400}, NULL, {NULL}},
    {"unknown API", "POST", "!/client-certificates", "c3", NULL, "client.pem",
     ALL(404), NULL, {NULL}},
    {"list", "GET", "/client-certificates", NULL, NULL, NULL, ALL(200), "\"count\":2", {NULL}},
    {"list by alias", "GET", "/client-certificates?alias=c2", NULL, NULL, NULL, ALL(200),
     "\"count\":1", {NULL}},
    {"list paged", "GET", "/client-certificates?offset=1&limit=1", NULL, NULL, NULL, ALL(200),
     "\"alias\":\"c2\"", {NULL}},
    {"get", "GET", "/client-certificates/c1", NULL, NULL, NULL,
     ALL(200), "\"status\":\"Active\"", {NULL}},
    {"get unknown", "GET", "/client-certificates/nope", NULL, NULL, NULL, ALL(404),
     "Certificate for alias 'nope' is not found.", {NULL}},
    {"content", "GET", "/client-certificates/c1/content", NULL, NULL, NULL, ALL(200), NULL, {NULL}},
    {"put tier", "PUT", "/client-certificates/c1", NULL, "Silver", NULL, ALL(200),
     "\"tier\":\"Silver\"", {NULL}},
    {"put certificate", "PUT", "/client-certificates/c1", NULL, NULL, "client-wrong-eku.pem",
     ALL(200), "\"alias\":\"c1\"", {NULL}},
    /* "put nothing" is decided by rule client-put-empty.*: see run_admin_rows */
    {"put nothing", "PUT", "/client-certificates/c1", "c1", NULL, NULL, ALL(0), NULL, {NULL}},
    {"put expired", "PUT", "/client-certificates/c1", NULL, NULL, "server-expired.pem", ALL(400),
     "Error while updating the client certificate for the alias c1 Certificate Expired.", {NULL}},
    {"put unknown tier", "PUT", "/client-certificates/c1", NULL, "Platinum", NULL, {200, 200, 400},
     NULL, {"\"alias\":\"c1\"", "\"alias\":\"c1\"", "Invalid tier"}},
    {"put unknown alias", "PUT", "/client-certificates/nope", NULL, "Gold", NULL, ALL(404),
     "Certificate for alias 'nope' is not found.", {NULL}},
    {"get after put", "GET", "/client-certificates/c1", NULL, NULL, NULL,
     ALL(200), "OU=wrong EKU", {NULL}},
    {"sandbox add", "POST", "/client-certs/SANDBOX", "s1", NULL, "client.pem", {201, 404, 201},
     "\"keyType\":\"SANDBOX\"", {NULL, V014_ONLY}},
    {"sandbox get", "GET", "/client-certs/SANDBOX/s1", NULL, NULL, NULL, {200, 404, 200},
     "\"keyType\":\"SANDBOX\"", {NULL, V014_ONLY}},
    {"sandbox is not production", "GET", "/client-certs/PRODUCTION/s1", NULL, NULL, NULL, ALL(404),
     NULL, {NULL}},
    {"older path is production", "GET", "/client-certificates/s1", NULL, NULL, NULL, ALL(404),
     NULL, {NULL}},
    {"production list", "GET", "/client-certs/PRODUCTION", NULL, NULL, NULL, {200, 404, 200},
     "\"count\":2", {NULL, V014_ONLY}},
    {"sandbox list", "GET", "/client-certs/SANDBOX", NULL, NULL, NULL, {200, 404, 200},
     "\"count\":1", {"\"count\":2", V014_ONLY}},
    {"production of a sandbox alias in the API", "POST", "/client-certs/PRODUCTION", "s1", NULL,
     "client.pem", {201, 404, 409}, TAKEN_A("s1"), {"\"keyType\":\"PRODUCTION\"", V014_ONLY}},
    {"sandbox content", "GET", "/client-certs/SANDBOX/s1/content", NULL, NULL, NULL,
     {200, 404, 200}, NULL, {NULL, V014_ONLY}},
    {"bad key type", "GET", "/client-certs/STAGING", NULL, NULL, NULL, {400, 404, 400},
     "The key type is invalid. It should be either PRODUCTION or SANDBOX", {NULL, V014_ONLY}},
    {"sandbox delete", "DELETE", "/client-certs/SANDBOX/s1", NULL, NULL, NULL,
     {200, 404, 200}, NULL, {NULL, V014_ONLY}},
    {"the production twin survives", "GET", "/client-certs/PRODUCTION/s1", NULL, NULL, NULL,
     {200, 404, 404}, NULL, {"\"keyType\":\"PRODUCTION\""}},
    {"delete", "DELETE", "/client-certificates/c2", NULL, NULL, NULL, ALL(200), NULL,
     {NULL, "The certificate for alias 'c2' deleted successfully."}},
    {"delete again", "DELETE", "/client-certificates/c2", NULL, NULL, NULL, ALL(404), NULL, {NULL}},
    {"list after", "GET", "/client-certificates", NULL, NULL, NULL, ALL(200), "\"count\":1",
     {"\"count\":2"}},
    {"method", "PATCH", "/client-certificates", NULL, NULL, NULL, ALL(405), NULL, {NULL}},
    {"no such resource", "GET", "/client-certificatesX", NULL, NULL, NULL, ALL(404), NULL, {NULL}},
    /* each version's paths, as they are, under every profile (rule rest-paths) */
    {"v4 list", "GET", "@/client-certificates", NULL, NULL, NULL, {200, 404, 200},
     "\"count\":1", {"\"count\":2", V014_ONLY}},
    {"v4 get", "GET", "@/client-certificates/c1", NULL, NULL, NULL, {200, 404, 200},
     "\"alias\":\"c1\"", {"\"status\":\"Active\"", V014_ONLY, "\"status\":\"Active\""}},
    {"v4 add", "POST", "@/client-certificates", "v1", NULL, "client.pem", {201, 404, 201},
     "\"alias\":\"v1\"", {NULL, V014_ONLY}},
    {"v4 delete", "DELETE", "@/client-certificates/v1", NULL, NULL, NULL, {200, 404, 200}, NULL,
     {NULL, V014_ONLY}},
    {"v0.14 add", "POST", V014, "v2", NULL, "client.pem", {404, 201, 404}, V4_ONLY,
     {NULL, "\"alias\":\"v2\",\"apiId\""}},
    {"v0.14 add without apiId", "POST", V014 "?noapi", "v3", NULL, "client.pem", {404, 400, 404},
     V4_ONLY, {NULL, "The alias and/ or apiId should not be empty"}},
    {"v0.14 list of every API", "GET", V014, NULL, NULL, NULL, {404, 200, 404}, V4_ONLY,
     {NULL, "\"count\":2"}},
    {"v0.14 list of an unknown API", "GET", V014 "?apiId=nope", NULL, NULL, NULL, {404, 200, 404},
     V4_ONLY, {NULL, "\"count\":0"}},
    {"v0.14 get", "GET", V014 "/v2", NULL, NULL, NULL, {404, 200, 404}, V4_ONLY,
     {NULL, "\"tier\":\"Unlimited\""}},
    {"v0.14 content", "GET", V014 "/v2/content", NULL, NULL, NULL, {404, 200, 404}, NULL,
     {V4_ONLY, NULL, V4_ONLY}},
    {"v0.14 put", "PUT", V014 "/v2", NULL, "Gold", NULL, {404, 200, 404}, V4_ONLY,
     {NULL, "\"tier\":\"Gold\""}},
    {"v0.14 delete", "DELETE", V014 "/v2", NULL, NULL, NULL, {404, 200, 404}, V4_ONLY,
     {NULL, "The certificate for alias 'v2' deleted successfully."}},
    {"v0.14 delete again", "DELETE", V014 "/v2", NULL, NULL, NULL, {404, 404, 404}, V4_ONLY,
     {NULL, "Certificate for alias 'v2' is not found."}},
};
/* clang-format on */

/* The profile's row of a rule family: client-put-empty (what a PUT without
 * certificate and tier answers; WSO2's code: 200 "Client Certificate is not
 * updated for alias <a>"), rest-paths (where the certificates are). */
static const gsim_rule *rule_of(int profile, gsim_rule_family family) {
  gsim_profile p;
  assert_int_equal(0, gsim_profile_parse(PROFILES[profile], &p));
  static gsim_rules rules;
  char why[256];
  assert_int_equal(0, gsim_rules_resolve(&rules, p, why, sizeof(why)));
  return rules.row[family];
}

/* The request path of a row (see admin_row.path) under rest-paths variant
 * v014 (0: v4); *form_api gets the API id a POST's form must carry (NULL:
 * none). */
static void row_path(const admin_row *row, int v014, const char *api, const char *api_b, char *path,
                     size_t len, const char **form_api) {
  static const char older[] = "/client-certificates";
  const char *p = row->path;
  const char *id = api;
  int post = strcmp(row->method, "POST") == 0;
  *form_api = NULL;
  if (*p == '=') { /* as it is; "?noapi" only marks a POST without apiId */
    const char *mark = strstr(p, "?noapi");
    snprintf(path, len, "%.*s", mark ? (int)(mark - p - 1) : (int)strlen(p + 1), p + 1);
    *form_api = post && !mark ? api : NULL;
    return;
  }
  if (*p == '@') {
    snprintf(path, len, ST_APIS "/%s%s", api, p + 1);
    return;
  }
  if (*p == '!') {
    id = "00000000-0000-4000-8000-000000000000";
    p++;
  } else if (strncmp(p, "b:", 2) == 0) {
    id = api_b;
    p += 2;
  }
  const char *after = p + sizeof(older) - 1;
  if (!v014 || strncmp(p, older, sizeof(older) - 1) != 0)
    snprintf(path, len, ST_APIS "/%s%s", id, p);
  else if (*after == '/' || (*after != '\0' && *after != '?')) /* an alias, or a bad name */
    snprintf(path, len, "%s%s", V014 + 1, after);
  else if (post) {
    snprintf(path, len, "%s%s", V014 + 1, after);
    *form_api = id;
  } else
    snprintf(path, len, "%s?apiId=%s%s%s", V014 + 1, id, *after ? "&" : "",
             *after ? after + 1 : "");
}

static void run_admin_rows(int profile) {
  st_sim sim;
  char dir[64];
  snprintf(dir, sizeof(dir), "admin-%s", PROFILES[profile]);
  sw_sim_start_with(&sim, dir, PROFILES[profile], NULL, NULL, NULL);
  char api[64], api_b[64];
  sw_create_api(&sim, "admin", "https://localhost:9", NULL, -1, api);
  sw_create_api(&sim, "other", "https://localhost:9", NULL, -1, api_b);
  st_reply r;
  int sap = profile == P_SAP;
  if (!sap) { /* sap: backend certificates go into the OData service's trust stores */
    st_check(st_upload_cert(&sim, "ep1", "https://localhost:9", scratch("server.pem"), &r));
    assert_int_equal(201, r.status);
    st_reply_free(&r);
  }
  int v014 = rule_of(profile, GSIM_RF_REST_PATHS)->variant == GSIM_REST_V014;
  for (size_t i = 0; i < sizeof(admin_rows) / sizeof(admin_rows[0]); i++) {
    const admin_row *row = &admin_rows[i];
    char path[512];
    const char *form_api = NULL;
    row_path(row, v014, api, api_b, path, sizeof(path), &form_api);
    long status;
    if (row->alias || row->tier || row->file)
      status =
          client_cert_call(&sim, row->method, path, row->alias, row->tier, form_api, row->file, &r);
    else {
      st_check(st_admin(&sim, row->method, path, NULL, &r));
      status = r.status;
    }
    long want = row->status[profile];
    const char *says = row->says_by[profile] ? row->says_by[profile] : row->says;
    if (strcmp(row->what, "put nothing") == 0) {
      const gsim_rule *rule = rule_of(profile, GSIM_RF_CLIENT_PUT_EMPTY);
      want = rule->status;
      says = want == 200 ? "Client Certificate is not updated for alias c1"
                         : "The certificate and/ or tier should be provided";
    }
    char text[512] = "";
    if (says) { /* "%s": API a's id */
      const char *mark = strstr(says, "%s");
      if (mark)
        snprintf(text, sizeof(text), "%.*s%s%s", (int)(mark - says), says, api, mark + 2);
      else
        snprintf(text, sizeof(text), "%s", says);
    }
    if (status != want || (says && (!r.body || !strstr(r.body, text))))
      fail_msg("%s: %s %s: %ld, expected %ld with \"%s\":\n%s", PROFILES[profile], row->what, path,
               status, want, text, r.body ? r.body : "");
    if (strcmp(row->what, "add") == 0) {
      char *location = st_header(&r, "Location"), want_location[256];
      if (v014) /* 6.4.73: CLIENT_CERTS_BASE_PATH + "?alias=" */
        snprintf(want_location, sizeof(want_location), "%s?alias=c1", V014 + 1);
      else
        snprintf(want_location, sizeof(want_location), ST_APIS "/%s/client-certificates/c1", api);
      assert_non_null(location);
      assert_string_equal(want_location, location);
      free(location);
      assert_string_equal(api, json_string_value(json_object_get(r.json, "apiId")));
      assert_string_equal("Unlimited", json_string_value(json_object_get(r.json, "tier")));
    }
    if (strcmp(row->what, "unknown tier") == 0 && !sap)
      assert_true(st_log_contains(&sim, "client certificate tier \"Platinum\" is no throttling "
                                        "policy: accepted (rule client-tier.accepted)"));
    if (strcmp(row->what, "content") == 0) { /* the DER of client.pem */
      X509 *client = bt_load_cert("client.pem");
      unsigned char *der = NULL;
      int n = i2d_X509(client, &der);
      assert_int_equal(n, r.len);
      assert_memory_equal(der, r.body, r.len);
      OPENSSL_free(der);
      X509_free(client);
      char *disposition = st_header(&r, "Content-Disposition");
      assert_non_null(disposition);
      assert_string_equal("attachment; filename=\"c1.crt\"", disposition);
      free(disposition);
    }
    if (strcmp(row->what, "get") == 0) {
      assert_string_equal("CN=gatecert client, O=gatecert",
                          json_string_value(json_object_get(r.json, "subject")));
      assert_string_equal("3", json_string_value(json_object_get(r.json, "version")));
      assert_non_null(json_object_get(r.json, "serialNumber"));
      assert_non_null(strstr(json_string_value(json_object_get(r.json, "issuer")),
                             "CN=gatecert Intermediate CA"));
    }
    st_reply_free(&r);
  }
  /* left: wso2-4 c1 and s1 (PRODUCTION) and c1 (SANDBOX) on a, c2 (SANDBOX) on
   * b; wso2-2.6 c1 on a; sap c1 on a, c1, c2 (SANDBOX) and ep1 on b */
  static const long left[P_COUNT] = {4, 1, 4};
  assert_int_equal(left[profile], st_status_i64(&sim, "listener.client_certificates"));
  /* a restart finds them all again, each under its API, key type and alias */
  st_check(st_sim_stop(&sim));
  st_check(st_sim_restart(&sim));
  assert_int_equal(left[profile], st_status_i64(&sim, "listener.client_certificates"));
  if (profile == P_WSO2_4) {
    static const char *const kept[] = {"/client-certs/PRODUCTION/s1", "/client-certs/SANDBOX/c1",
                                       "/client-certificates/c1"};
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
      char path[512];
      snprintf(path, sizeof(path), ST_APIS "/%s%s", api, kept[i]);
      st_check(st_admin(&sim, "GET", path, NULL, &r));
      if (r.status != 200)
        fail_msg("after the restart: GET %s: %ld", kept[i], r.status);
      st_reply_free(&r);
    }
  }
  st_check(st_sim_stop(&sim));
}

static void test_admin_wso2_4(void **state) {
  (void)state;
  run_admin_rows(P_WSO2_4);
}

static void test_admin_wso2_26(void **state) {
  (void)state;
  run_admin_rows(P_WSO2_26);
}

static void test_admin_sap(void **state) {
  (void)state;
  run_admin_rows(P_SAP);
}

/* ---- matching, in process ------------------------------------------------------------ */

typedef struct pki {
  gcert_item root_a, root_b, inter_a;
  gcert_item twin_a, twin_b, other_a, leaf_a, leaf_deep, leaf_b;
} pki;

static void issue(gcert_item *out, gcert_kind kind, const char *subject, const char *serial,
                  const gcert_item *issuer) {
  gcert_spec spec;
  gcert_spec_init(&spec, kind);
  spec.subject = subject;
  spec.serial = serial;
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_issue(&spec, time(NULL), issuer, NULL, out, &err), &err);
}

static void make_pki(pki *k) {
  issue(&k->root_a, GCERT_KIND_CA, "CN=Root A,O=match", NULL, NULL);
  issue(&k->root_b, GCERT_KIND_CA, "CN=Root B,O=match", NULL, NULL);
  issue(&k->inter_a, GCERT_KIND_CA, "CN=Intermediate A,O=match", NULL, &k->root_a);
  issue(&k->twin_a, GCERT_KIND_CLIENT, "CN=twin,O=match", "4660", &k->root_a);
  issue(&k->twin_b, GCERT_KIND_CLIENT, "CN=twin,O=match", "4660", &k->root_b);
  issue(&k->other_a, GCERT_KIND_CLIENT, "CN=other,O=match", "4660", &k->root_a);
  issue(&k->leaf_a, GCERT_KIND_CLIENT, "CN=leaf A,O=match", NULL, &k->root_a);
  issue(&k->leaf_deep, GCERT_KIND_CLIENT, "CN=leaf deep,O=match", NULL, &k->inter_a);
  issue(&k->leaf_b, GCERT_KIND_CLIENT, "CN=leaf B,O=match", NULL, &k->root_b);
}

static void free_pki(pki *k) {
  gcert_item *items[] = {&k->root_a,  &k->root_b, &k->inter_a,   &k->twin_a, &k->twin_b,
                         &k->other_a, &k->leaf_a, &k->leaf_deep, &k->leaf_b};
  for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
    gcert_item_free(items[i]);
}

typedef struct match_world {
  gsim sim;
  gsim_options opt;
  gsim_api api, other_api;
} match_world;

/* A listener over a fresh store holding certs (alias i -> certs[i]) for the
 * API, stored under the older key "<apiId>/<alias>" (the listener moves them). */
static void match_start(match_world *w, const char *name, gsim_cert_match how, int chain,
                        X509 *const *certs, const char *const *aliases, size_t n, const pki *k) {
  memset(w, 0, sizeof(*w));
  w->opt.cert_match = how;
  w->opt.chain_validation = chain;
  w->opt.listener_reload_s = w->opt.listener_reload_asked_s = 600;
  w->opt.truststore_period_s = 600;
  w->opt.truststore_delay_s = 60;
  w->opt.verify_client = GSIM_VERIFY_CLIENT_OPTIONAL;
  w->sim.opt = &w->opt;
  w->sim.started_ms = gsim_now_ms();
  snprintf(w->api.id, sizeof(w->api.id), "11111111-1111-4111-8111-111111111111");
  snprintf(w->other_api.id, sizeof(w->other_api.id), "22222222-2222-4222-8222-222222222222");
  char path[BS_PATH_MAX], file[64], why[256] = "";
  snprintf(file, sizeof(file), "%s.db", name);
  unlink(bt_scratch(path, file));
  assert_int_equal(0, gsim_store_open(path, &w->sim.store, why, sizeof(why)));
  for (size_t i = 0; i < n; i++) {
    gsim_object_row row;
    memset(&row, 0, sizeof(row));
    snprintf(row.kind, sizeof(row.kind), "client_cert");
    snprintf(row.key, sizeof(row.key), "%s/%s", w->api.id, aliases[i]);
    char json[512];
    snprintf(
        json, sizeof(json),
        "{\"alias\":\"%s\",\"apiId\":\"%s\",\"tier\":\"Unlimited\",\"keyType\":\"PRODUCTION\"}",
        aliases[i], w->api.id);
    row.json = json;
    int len = i2d_X509(certs[i], &row.blob);
    assert_true(len > 0);
    row.blob_len = (size_t)len;
    assert_int_equal(GSIM_STORE_OK, gsim_store_object_insert(w->sim.store, &row));
    OPENSSL_free(row.blob);
  }
  STACK_OF(X509) *id_chain = sk_X509_new_null();
  sk_X509_push(id_chain, k->leaf_b.cert);
  X509_up_ref(k->leaf_b.cert);
  if (gsim_listener_init(&w->sim, k->leaf_b.key, id_chain, why, sizeof(why)) != 0)
    fail_msg("gsim_listener_init: %s", why);
  sk_X509_pop_free(id_chain, X509_free);
}

static void match_stop(match_world *w) {
  gsim_listener_free(&w->sim);
  gsim_store_close(w->sim.store);
}

static const char *matched(match_world *w, X509 *cert, STACK_OF(X509) * chain) {
  const gsim_client_cert *c = gsim_client_cert_match(&w->sim, &w->api, cert, chain);
  return c ? c->alias : "-";
}

static void test_match_serial_issuer_and_subject(void **state) {
  (void)state;
  pki k;
  memset(&k, 0, sizeof(k));
  make_pki(&k);
  X509 *certs[] = {k.twin_a.cert};
  const char *aliases[] = {"twin"};
  match_world w;
  /* serial + issuer: the twin of another issuer does not match; a different
   * subject with the same serial and issuer does (WSO2's key ignores it) */
  match_start(&w, "serial-issuer", GSIM_MATCH_SERIAL_ISSUER, 0, certs, aliases, 1, &k);
  /* the start moved the row to "<apiId>/<keyType>/<alias>" */
  gsim_object_row row;
  char key[128];
  snprintf(key, sizeof(key), "%s/PRODUCTION/twin", w.api.id);
  assert_int_equal(GSIM_STORE_OK, gsim_store_object_get(w.sim.store, "client_cert", key, &row));
  gsim_object_row_clear(&row);
  snprintf(key, sizeof(key), "%s/twin", w.api.id);
  assert_int_equal(GSIM_STORE_NOT_FOUND,
                   gsim_store_object_get(w.sim.store, "client_cert", key, &row));
  assert_string_equal("twin", matched(&w, k.twin_a.cert, NULL));
  assert_string_equal("-", matched(&w, k.twin_b.cert, NULL));
  assert_string_equal("twin", matched(&w, k.other_a.cert, NULL));
  assert_string_equal("-", matched(&w, k.leaf_a.cert, NULL));
  assert_null(gsim_client_cert_match(&w.sim, &w.other_api, k.twin_a.cert, NULL));
  const gsim_client_cert *c = gsim_client_cert_match(&w.sim, &w.api, k.twin_a.cert, NULL);
  assert_non_null(c);
  assert_string_equal("4660_CN=Root A# O=match", c->unique_id);
  assert_int_equal(1, gsim_listener_memory_trusts(&w.sim, k.twin_a.cert));
  assert_int_equal(0, gsim_listener_memory_trusts(&w.sim, k.other_a.cert)); /* exact cert only */
  assert_int_equal(1, gsim_listener_handshake_trusts(&w.sim, k.twin_a.cert));
  assert_int_equal(0, gsim_listener_handshake_trusts(&w.sim, k.twin_b.cert));
  match_stop(&w);
  /* serial + subject: the other way round */
  match_start(&w, "serial-subject", GSIM_MATCH_SERIAL_SUBJECT, 0, certs, aliases, 1, &k);
  assert_string_equal("twin", matched(&w, k.twin_a.cert, NULL));
  assert_string_equal("twin", matched(&w, k.twin_b.cert, NULL));
  assert_string_equal("-", matched(&w, k.other_a.cert, NULL));
  c = gsim_client_cert_match(&w.sim, &w.api, k.twin_a.cert, NULL);
  assert_string_equal("4660_CN=twin# O=match", c->unique_id);
  match_stop(&w);
  free_pki(&k);
}

static void test_match_chain_validation(void **state) {
  (void)state;
  pki k;
  memset(&k, 0, sizeof(k));
  make_pki(&k);
  X509 *certs[] = {k.root_a.cert};
  const char *aliases[] = {"ca"};
  STACK_OF(X509) *deep = sk_X509_new_null(); /* as SSL_get0_verified_chain: leaf first */
  sk_X509_push(deep, k.leaf_deep.cert);
  sk_X509_push(deep, k.inter_a.cert);
  STACK_OF(X509) *forged = sk_X509_new_null(); /* root A's public cert, unrelated to leaf B */
  sk_X509_push(forged, k.leaf_b.cert);
  sk_X509_push(forged, k.root_a.cert);
  match_world w;
  match_start(&w, "chain-off", GSIM_MATCH_SERIAL_ISSUER, 0, certs, aliases, 1, &k);
  assert_string_equal("ca", matched(&w, k.root_a.cert, NULL));
  assert_string_equal("-", matched(&w, k.leaf_a.cert, NULL)); /* WSO2: 401 without chain */
  assert_string_equal("-", matched(&w, k.leaf_deep.cert, deep));
  assert_int_equal(0, gsim_listener_memory_trusts(&w.sim, k.leaf_a.cert));
  assert_int_equal(1, gsim_listener_handshake_trusts(&w.sim, k.leaf_a.cert)); /* CA is an anchor */
  match_stop(&w);
  match_start(&w, "chain-on", GSIM_MATCH_SERIAL_ISSUER, 1, certs, aliases, 1, &k);
  assert_string_equal("ca", matched(&w, k.leaf_a.cert, NULL));
  assert_string_equal("ca", matched(&w, k.leaf_deep.cert, deep));
  assert_string_equal("-", matched(&w, k.leaf_deep.cert, NULL)); /* no path without the chain */
  assert_string_equal("-", matched(&w, k.leaf_b.cert, forged));
  assert_string_equal("-", matched(&w, k.twin_b.cert, NULL));
  assert_null(gsim_client_cert_match(&w.sim, &w.other_api, k.leaf_a.cert, NULL));
  assert_int_equal(1, gsim_listener_memory_trusts(&w.sim, k.leaf_a.cert));
  assert_int_equal(0, gsim_listener_memory_trusts(&w.sim, k.leaf_b.cert));
  match_stop(&w);
  sk_X509_free(deep);
  sk_X509_free(forged);
  free_pki(&k);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_verify_modes, bs_teardown),
      cmocka_unit_test_teardown(test_admin_wso2_4, bs_teardown),
      cmocka_unit_test_teardown(test_admin_wso2_26, bs_teardown),
      cmocka_unit_test_teardown(test_admin_sap, bs_teardown),
      cmocka_unit_test_teardown(test_match_serial_issuer_and_subject, bs_teardown),
      cmocka_unit_test_teardown(test_match_chain_validation, bs_teardown),
  };
  const struct CMUnitTest clock_tests[] = {
      cmocka_unit_test_teardown(test_clock_story, bs_teardown),
      cmocka_unit_test_teardown(test_restart_keeps_client_certs, bs_teardown),
  };
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int failed = cmocka_run_group_tests_name("now", tests, bt_setup_catalogue, NULL);
  failed += cmocka_run_group_tests_name("2030", clock_tests, bt_setup_catalogue_2030, NULL);
  curl_global_cleanup();
  return failed;
}
