/* test_sim_throttle.c - throttling per client certificate, end to end over
 * real TLS on a fake clock (2030, standing still between steps).
 *
 * A client certificate uploaded with tier 10PerMin: requests 1-10 pass, the
 * 11th gets 429 with WSO2's exact body (900804, the next access time = the
 * end of the window that began with the first request); a step of the fake
 * clock past the window lets it through again. Two certificates sharing the
 * tier on one API version share one counter under WSO2's defaults (the key
 * has no certificate identity) and do not with "per_certificate". The
 * default version's versionless path counts on the same counter, and the XML
 * fault format answers <amt:fault>.
 */
#include "support.h"
#include "backend_fixture.h"
#include "backend_support.h"
#include "sim_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_START "2030-01-01 00:00:00"
#define SECOND     ((int64_t)1000)

typedef struct client {
  char cert[BS_PATH_MAX];
  char key[BS_PATH_MAX];
} client;

typedef struct world {
  bs_process *backend;
  char url[128];
  st_sim sim;
  int64_t t0;
} world;

static client cert_a, cert_b;

static const char *scratch(const char *name) {
  static char slots[8][BS_PATH_MAX];
  static unsigned next;
  return bt_scratch(slots[next++ % 8], name);
}

static void make_client(client *c, const char *name) {
  gcert_item item = {0};
  char subject[128], file[96];
  snprintf(subject, sizeof(subject), "CN=%s,O=gatecert", name);
  test_issue(GCERT_KIND_CLIENT, subject, NULL, &item);
  snprintf(file, sizeof(file), "%s.cert.pem", name);
  snprintf(c->cert, sizeof(c->cert), "%s", scratch(file));
  snprintf(file, sizeof(file), "%s.key.pem", name);
  snprintf(c->key, sizeof(c->key), "%s", scratch(file));
  bs_check(bs_save_certs(c->cert, &item.cert, 1) == 0);
  bs_check(bs_save_key(c->key, item.key) == 0);
  gcert_item_free(&item);
}

static int group_setup(void **state) {
  bt_setup_catalogue_2030(state);
  make_client(&cert_a, "client-a");
  make_client(&cert_b, "client-b");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  return bs_teardown(NULL);
}

static void upload_client(world *w, const char *api_id, const char *alias, const client *c,
                          const char *tier) {
  size_t len = 0;
  char *pem = bs_slurp(c->cert, &len);
  assert_non_null(pem);
  st_part parts[] = {
      {"certificate", pem, len, "client.crt"},
      {"alias", alias, strlen(alias), NULL},
      {"tier", tier, strlen(tier), NULL},
  };
  char path[256];
  snprintf(path, sizeof(path), ST_APIS "/%s/client-certificates", api_id);
  st_reply r;
  st_check(st_multipart(&w->sim, "POST", path, parts, 3, &r));
  if (r.status != 201)
    fail_msg("client certificate %s: %ld %s", alias, r.status, r.body ? r.body : "");
  st_reply_free(&r);
  free(pem);
}

/* API /t/1.0 (mutual SSL mandatory, default version) with A and B at 10PerMin. */
static void start_world(world *w, const char *dir_name, const char *config) {
  char spec[3 * BS_PATH_MAX], dir[BS_PATH_MAX];
  snprintf(spec, sizeof(spec), "echo:cert=%s,key=%s", scratch("server.chain.pem"),
           scratch("server.key"));
  w->backend = st_backend(test_scratch_dir(), spec);
  assert_non_null(w->backend);
  snprintf(w->url, sizeof(w->url), "https://localhost:%d", bs_port(w->backend, "echo"));
  const char *args[] = {"--trust", scratch("root.pem"), NULL};
  st_sim_opts opts = {
      .dir = bt_scratch(dir, dir_name), .clock = FAKE_START, .config_json = config, .extra = args};
  st_check(st_sim_start(&w->sim, &opts));
  char body[1024];
  snprintf(body, sizeof(body),
           "{\"name\":\"t\",\"context\":\"/t\",\"version\":\"1.0\",\"isDefaultVersion\":true,"
           "\"endpointConfig\":{\"production_endpoints\":{\"url\":\"%s\"}},"
           "\"securityScheme\":[\"mutualssl\",\"mutualssl_mandatory\"]}",
           w->url);
  st_reply r;
  st_check(st_admin(&w->sim, "POST", ST_APIS, body, &r));
  assert_int_equal(201, r.status);
  char id[64];
  snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(r.json, "id")));
  st_reply_free(&r);
  upload_client(w, id, "a", &cert_a, "10PerMin");
  upload_client(w, id, "b", &cert_b, "10PerMin");
  st_check(st_admin(&w->sim, "POST", "/_sim/reload", NULL, &r));
  assert_int_equal(200, r.status);
  st_reply_free(&r);
  w->t0 = st_status_i64(&w->sim, "time_ms");
  assert_true(w->t0 > 0);
}

static void stop_world(world *w) {
  st_check(st_sim_stop(&w->sim));
  bs_check(bs_stop(w->backend) == 0);
}

static long call(world *w, const char *path, const client *who, char **body) {
  bs_request req = {
      .port = w->sim.https, .path = path, .insecure = 1, .cert = who->cert, .key = who->key};
  bs_response res;
  if (bs_http(&req, &res) != CURLE_OK)
    fail_msg("%s: %s", path, res.error);
  long status = res.status;
  if (body)
    *body = strdup(res.body ? res.body : "");
  bs_response_free(&res);
  return status;
}

static void expect_throttled(world *w, const char *path, const client *who, const char *when) {
  char want[512], *body = NULL;
  snprintf(want, sizeof(want),
           "{\"code\":\"900804\",\"message\":\"Message throttled out\",\"description\":\"You have "
           "exceeded your quota .You can access API after %s\"}",
           when);
  long status = call(w, path, who, &body);
  if (status != 429 || strcmp(body, want) != 0)
    fail_msg("%s: %ld %s, expected 429 %s", path, status, body, want);
  free(body);
}

static void test_ten_per_minute(void **state) {
  (void)state;
  world w = {0};
  start_world(&w, "ten", NULL);
  assert_true(w.t0 >= 1893456000000LL && w.t0 < 1893456001000LL); /* 00:00:00.xxx */
  for (int i = 1; i <= 10; i++)
    if (call(&w, "/t/1.0/menaka", &cert_a, NULL) != 200)
      fail_msg("request %d refused", i);
  expect_throttled(&w, "/t/1.0/menaka", &cert_a, "2030-Jan-01 00:01:00+0000 UTC");
  st_check(st_clock_set(&w.sim, w.t0 + 59 * SECOND));
  expect_throttled(&w, "/t/1.0/menaka", &cert_a, "2030-Jan-01 00:01:00+0000 UTC");
  st_check(st_clock_set(&w.sim, w.t0 + 61 * SECOND));
  assert_int_equal(200, call(&w, "/t/1.0/menaka", &cert_a, NULL));
  /* the new window began at 00:01:01 */
  for (int i = 2; i <= 10; i++)
    assert_int_equal(200, call(&w, "/t/1.0/menaka", &cert_a, NULL));
  expect_throttled(&w, "/t/1.0/menaka", &cert_a, "2030-Jan-01 00:02:01+0000 UTC");
  stop_world(&w);
}

/* WSO2's key is applicationId:context:version:tier: A and B share it. The
 * versionless path of the default version counts on the same key. */
static void test_shared_counter_default(void **state) {
  (void)state;
  world w = {0};
  start_world(&w, "shared", NULL);
  for (int i = 0; i < 5; i++) {
    assert_int_equal(200, call(&w, "/t/1.0/menaka", &cert_a, NULL));
    assert_int_equal(200, call(&w, "/t/menaka", &cert_b, NULL));
  }
  expect_throttled(&w, "/t/1.0/menaka", &cert_a, "2030-Jan-01 00:01:00+0000 UTC");
  expect_throttled(&w, "/t/menaka", &cert_b, "2030-Jan-01 00:01:00+0000 UTC");
  stop_world(&w);
}

static void test_per_certificate(void **state) {
  (void)state;
  world w = {0};
  start_world(&w, "per-cert", "{\"throttling\": {\"per_certificate\": true}}");
  for (int i = 0; i < 10; i++) {
    assert_int_equal(200, call(&w, i % 2 ? "/t/menaka" : "/t/1.0/menaka", &cert_a, NULL));
    assert_int_equal(200, call(&w, "/t/1.0/menaka", &cert_b, NULL));
  }
  expect_throttled(&w, "/t/menaka", &cert_a, "2030-Jan-01 00:01:00+0000 UTC");
  expect_throttled(&w, "/t/1.0/menaka", &cert_b, "2030-Jan-01 00:01:00+0000 UTC");
  stop_world(&w);
}

/* A tier of the config's own, and the XML fault. */
static void test_config_tier_xml(void **state) {
  (void)state;
  world w = {0};
  start_world(&w, "xml",
              "{\"fault_format\": \"xml\", \"throttling\": {\"tiers\": [{\"name\": \"10PerMin\", "
              "\"requests\": 2, \"window_seconds\": 3600}]}}");
  assert_int_equal(200, call(&w, "/t/1.0/menaka", &cert_a, NULL));
  assert_int_equal(200, call(&w, "/t/1.0/menaka", &cert_a, NULL));
  char *body = NULL;
  assert_int_equal(429, call(&w, "/t/1.0/menaka", &cert_a, &body));
  assert_string_equal("<amt:fault xmlns:amt=\"http://wso2.org/apimanager/throttling\">"
                      "<amt:code>900804</amt:code><amt:message>Message throttled out</amt:message>"
                      "<amt:description>You have exceeded your quota .You can access API after "
                      "2030-Jan-01 01:00:00+0000 UTC</amt:description></amt:fault>",
                      body);
  free(body);
  stop_world(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_ten_per_minute, teardown),
      cmocka_unit_test_teardown(test_shared_counter_default, teardown),
      cmocka_unit_test_teardown(test_per_certificate, teardown),
      cmocka_unit_test_teardown(test_config_tier_xml, teardown),
  };
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int failed = cmocka_run_group_tests(tests, group_setup, NULL);
  curl_global_cleanup();
  return failed;
}
