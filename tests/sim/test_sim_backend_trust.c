/* test_sim_backend_trust.c - the simulator's backend trust, end to end.
 *
 * A gatecert-backend serves the catalogue's `server` chain (leaf +
 * intermediate, issued by the catalogue root); gatecert-sim runs on a fake
 * clock from 2030-01-01 with the default 600 s sender interval. The story of
 * seed 000: no certificate -> 500 / 101500 and the backend never reached; upload
 * -> 201; before the tick still 500; after it 200 "Jersey say : menaka";
 * delete -> 500 again after the next tick. Then what else the trust rests on:
 * the base trust store (PEM and JKS), restarts (trust rebuilt from the store),
 * the XML fault shape, and the reason in the log but not in the response.
 *
 * Backend transport faults, data-driven: one table row per broken backend
 * (gatecert-backend's faults, and a certificate nobody trusts), one column
 * per run of the simulator (wso2-4, wso2-2.6, sap, and wso2-4 with --break
 * backend-faults): the status, fault code, description and log line each run
 * must give, as the profile's rule rows say (rules.c: backend.* rows).
 */
#include "support.h"
#include "backend_fixture.h"
#include "backend_support.h"
#include "sim_fixture.h"
#include "sim_world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_START "2030-01-01 00:00:00"
#define SECOND     ((int64_t)1000)
#define FAULT_101500                                                                               \
  "{\"code\":\"101500\",\"type\":\"Status report\",\"message\":\"Runtime Error\","                 \
  "\"description\":\"Error in Sender\"}"
#define PKIX "unable to find valid certification path to requested target"

static void start_sim(sw_world *w, const char *dir_name, const char *const *extra) {
  char dir[BS_PATH_MAX];
  st_sim_opts opts = {.dir = bt_scratch(dir, dir_name), .clock = FAKE_START, .extra = extra};
  st_check(st_sim_start(&w->sim, &opts));
}

static void create_api(sw_world *w) {
  char id[64];
  assert_int_equal(201, st_create_api(&w->sim, "Test", "/test", "1.0", w->url, id));
}

static size_t backend_requests(sw_world *w) { return sw_served(w->report, NULL); }

static void expect_call(sw_world *w, long status, const char *body_part) {
  bs_response res;
  st_check(st_call(&w->sim, "/test/1.0/menaka", &res));
  if (res.status != status || !strstr(res.body, body_part))
    fail_msg("expected %ld with \"%s\", got %ld: %s", status, body_part, res.status, res.body);
  bs_response_free(&res);
}

static void upload(sw_world *w, const char *alias, const char *file, long expect) {
  char path[BS_PATH_MAX];
  st_reply r;
  st_check(st_upload_cert(&w->sim, alias, w->url, bt_scratch(path, file), &r));
  if (r.status != expect)
    fail_msg("upload %s: expected %ld, got %ld: %s", alias, expect, r.status, r.body);
  st_reply_free(&r);
}

static int64_t started(sw_world *w) {
  int64_t ms = st_status_i64(&w->sim, "started_ms");
  assert_true(ms > 0);
  return ms;
}

/* Seed 000 from start to end, on the fake clock. */
static void test_upload_takes_effect_at_tick_then_delete(void **state) {
  (void)state;
  sw_world w = {0};
  sw_world_backend(&w, "echo", "server", NULL);
  start_sim(&w, "story", NULL);
  create_api(&w);
  int64_t t0 = started(&w);

  bs_response res;
  st_check(st_call(&w.sim, "/test/1.0/menaka", &res));
  assert_int_equal(500, res.status);
  assert_string_equal(FAULT_101500, res.body);
  assert_null(strstr(res.body, "certification path"));
  bs_response_free(&res);
  assert_int_equal(0, backend_requests(&w));
  assert_true(st_log_contains(&w.sim, "PKIX path building failed: " PKIX));

  st_check(st_clock_set(&w.sim, t0 + 120 * SECOND));
  char path[BS_PATH_MAX];
  st_reply r;
  st_check(st_upload_cert(&w.sim, "echo", w.url, bt_scratch(path, "root.pem"), &r));
  assert_int_equal(201, r.status);
  assert_string_equal("echo", json_string_value(json_object_get(r.json, "alias")));
  assert_string_equal(w.url, json_string_value(json_object_get(r.json, "endpoint")));
  char *location = st_header(&r, "Location");
  assert_non_null(location);
  assert_string_equal(ST_CERTS "/echo", location);
  free(location);
  st_reply_free(&r);

  st_check(st_clock_set(&w.sim, t0 + 598 * SECOND));
  expect_call(&w, 500, "101500");
  assert_int_equal(1, st_status_i64(&w.sim, "sender.generation"));
  json_t *status = NULL;
  st_check(st_status(&w.sim, &status));
  assert_true(json_is_true(bs_json_at(status, "sender.pending_change")));
  json_decref(status);

  st_check(st_clock_set(&w.sim, t0 + 601 * SECOND));
  expect_call(&w, 200, "Jersey say : menaka");
  assert_int_equal(1, backend_requests(&w));
  assert_int_equal(2, st_status_i64(&w.sim, "sender.generation"));
  assert_true(st_log_contains(&w.sim, "PassThroughHttpSender reloading SSL Config"));

  st_check(st_admin(&w.sim, "DELETE", ST_CERTS "/echo", NULL, &r));
  assert_int_equal(200, r.status);
  st_reply_free(&r);
  expect_call(&w, 200, "Jersey say : menaka"); /* still live until the next tick */
  st_check(st_clock_set(&w.sim, t0 + 1201 * SECOND));
  expect_call(&w, 500, "101500");
  assert_int_equal(2, backend_requests(&w));
  assert_int_equal(3, st_status_i64(&w.sim, "sender.generation"));
  st_check(st_sim_stop(&w.sim));
}

/* The backend's own leaf is enough (every trusted certificate is an anchor,
 * as in Java's PKIX), and an unrelated certificate is not. */
static void test_leaf_or_unrelated_cert(void **state) {
  (void)state;
  sw_world w = {0};
  sw_world_backend(&w, "leaf", "server", NULL);
  start_sim(&w, "leaf", NULL);
  create_api(&w);
  upload(&w, "unrelated", "untrusted-root.pem", 201);
  st_reply r;
  st_check(st_admin(&w.sim, "POST", "/_sim/reload", NULL, &r));
  assert_int_equal(200, r.status);
  st_reply_free(&r);
  expect_call(&w, 500, "101500");
  upload(&w, "leaf", "server.pem", 201);
  st_check(st_admin(&w.sim, "POST", "/_sim/reload", NULL, &r));
  st_reply_free(&r);
  expect_call(&w, 200, "Jersey say : menaka");
  st_check(st_sim_stop(&w.sim));
}

/* A restart rebuilds the trust from the store at once (WSO2 4.x loses
 * run-time certificates until redeploy; the simulator does not). */
static void test_restart_keeps_trust(void **state) {
  (void)state;
  sw_world w = {0};
  sw_world_backend(&w, "restart", "server", NULL);
  start_sim(&w, "restart", NULL);
  create_api(&w);
  upload(&w, "root", "root.pem", 201);
  expect_call(&w, 500, "101500");
  st_check(st_sim_stop(&w.sim));
  st_check(st_sim_restart(&w.sim));
  expect_call(&w, 200, "Jersey say : menaka");
  json_t *status = NULL;
  st_check(st_status(&w.sim, &status));
  assert_int_equal(1, json_integer_value(bs_json_at(status, "apis")));
  assert_int_equal(1, json_integer_value(bs_json_at(status, "sender.endpoint_certificates_live")));
  json_decref(status);
  st_check(st_sim_stop(&w.sim));
}

/* --trust: the base store, PEM or a JKS like client-truststore.jks. */
static void test_base_trust_store(void **state) {
  (void)state;
  sw_world w = {0};
  sw_world_backend(&w, "base", "server", NULL);
  char root[BS_PATH_MAX], jks[BS_PATH_MAX], pw[BS_PATH_MAX];
  bt_scratch(root, "root.pem");
  const char *pem_args[] = {"--trust", root, NULL};
  start_sim(&w, "base-pem", pem_args);
  create_api(&w);
  expect_call(&w, 200, "Jersey say : menaka");
  st_check(st_sim_stop(&w.sim));

  /* The same root in a JKS store (written by certs/, read back with its password). */
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_read_file(root, GCERT_FORMAT_PEM, NULL, &store, &err), &err);
  free(store.entries[0].alias);
  store.entries[0].alias = strdup("gatecert-root");
  gcert_buf buf = {0};
  assert_status(GCERT_OK, gcert_jks_write(&store, "changeit", &buf, &err), &err);
  assert_status(GCERT_OK,
                gcert_file_save(bt_scratch(jks, "truststore.jks"), buf.data, buf.len, 0, &err),
                &err);
  gcert_buf_free(&buf);
  gcert_store_free(&store);
  FILE *f = fopen(bt_scratch(pw, "truststore.password"), "w");
  assert_non_null(f);
  fputs("changeit\n", f);
  fclose(f);
  const char *jks_args[] = {"--trust", jks, "--trust-password-file", pw, NULL};
  start_sim(&w, "base-jks", jks_args);
  create_api(&w);
  expect_call(&w, 200, "Jersey say : menaka");
  st_check(st_sim_stop(&w.sim));
}

/* The 2.x/3.x fault shape. */
static void test_xml_fault(void **state) {
  (void)state;
  sw_world w = {0};
  sw_world_backend(&w, "xml", "server", NULL);
  const char *args[] = {"--fault-format", "xml", NULL};
  start_sim(&w, "xml", args);
  create_api(&w);
  bs_response res;
  st_check(st_call(&w.sim, "/test/1.0/menaka", &res));
  assert_int_equal(500, res.status);
  assert_string_equal("<am:fault xmlns:am=\"http://wso2.org/apimanager\"><am:code>101500</am:code>"
                      "<am:type>Status report</am:type><am:message>Runtime Error</am:message>"
                      "<am:description>Error in Sender</am:description></am:fault>",
                      res.body);
  bs_response_free(&res);
  st_check(st_sim_stop(&w.sim));
}

/* A path no API serves: 404. */
static void test_no_route(void **state) {
  (void)state;
  sw_world w = {0};
  start_sim(&w, "no-route", NULL);
  bs_response res;
  st_check(st_call(&w.sim, "/nothing/1.0/x", &res));
  assert_int_equal(404, res.status);
  assert_non_null(strstr(res.body, "The requested resource is not available."));
  bs_response_free(&res);
  st_check(st_sim_stop(&w.sim));
}

/* ---- backend transport faults per profile ------------------------------------ */

typedef struct fault_run {
  const char *profile;
  int broken; /* --break backend-faults */
  int xml;    /* the profile's faults are <am:fault> */
} fault_run;

static const fault_run fault_runs[] = {
    {"wso2-4", 0, 0},
    {"wso2-2.6", 0, 1},
    {"sap", 0, 0},
    {"wso2-4", 1, 0},
};
enum { RUNS = sizeof(fault_runs) / sizeof(fault_runs[0]) };

typedef struct fault_outcome {
  long status;
  const char *code; /* NULL: no fault, the backend's own answer cut short */
  const char *text; /* in the body */
} fault_outcome;

typedef struct fault_row {
  const char *name;  /* backend and API name */
  const char *cert;  /* catalogue row whose chain and key it serves, or NULL */
  const char *fault; /* gatecert-backend fault */
  const char *log;   /* in the gateway log, every run */
  fault_outcome expect[RUNS];
} fault_row;

#define CONNECT_TEXT "Error connecting to the back end"
#define SENDER       "Error in Sender"
#define CLOSED_TEXT  "Connection closed"

static const fault_row fault_rows[] = {
    {"untrusted",
     "self-signed",
     "none",
     "PKIX path building failed",
     {{500, "101500", SENDER},
      {500, "101500", SENDER},
      {500, "101500", SENDER},
      {500, "101500", SENDER}}},
    {"refused",
     NULL,
     "refuse",
     "connection refused or reset before TLS",
     {{500, "101503", CONNECT_TEXT},
      {500, "101503", CONNECT_TEXT},
      {503, "101503", CONNECT_TEXT},
      {503, "101503", CONNECT_TEXT}}},
    {"reset",
     NULL,
     "reset",
     "connection refused or reset before TLS",
     {{500, "101503", CONNECT_TEXT},
      {500, "101503", CONNECT_TEXT},
      {503, "101503", CONNECT_TEXT},
      {503, "101503", CONNECT_TEXT}}},
    {"stalled",
     NULL,
     "stall",
     "no answer within 300 ms",
     {{500, "101504", "Send timeout"},
      {500, "101504", "Send timeout"},
      {504, "101504", "Send timeout"},
      {504, "101504", "Send timeout"}}},
    /* synapse: TargetHandler.closed() in REQUEST_DONE, 101505 + 3 */
    {"closed",
     "server",
     "close-after-request",
     "connection closed by the backend before the whole response head (0 bytes",
     {{500, "101508", SENDER},
      {500, "101508", SENDER},
      {502, "101505", CLOSED_TEXT},
      {502, "101505", CLOSED_TEXT}}},
    /* still REQUEST_DONE: RESPONSE_HEAD begins once a head is parsed */
    {"cut-head",
     "server",
     "close-mid-head",
     "connection closed by the backend before the whole response head (43 bytes",
     {{500, "101508", SENDER},
      {500, "101508", SENDER},
      {502, "101505", CLOSED_TEXT},
      {502, "101505", CLOSED_TEXT}}},
    /* synapse: TargetHandler.exception(HttpException) in REQUEST_DONE, 101506 + 3 */
    {"garbage",
     "server",
     "garbage",
     "HTTP protocol violation: the response head does not parse",
     {{500, "101509", SENDER},
      {500, "101509", SENDER},
      {502, "101505", CLOSED_TEXT},
      {502, "101505", CLOSED_TEXT}}},
    /* synapse: no fault (the decoder's ConnectionClosedException is only logged) */
    {"cut-body",
     "server",
     "close-mid-body",
     "the response body ended early",
     {{200, NULL, "0123456789"},
      {200, NULL, "0123456789"},
      {502, "101505", CLOSED_TEXT},
      {502, "101505", CLOSED_TEXT}}},
};
enum { ROWS = sizeof(fault_rows) / sizeof(fault_rows[0]) };

/* The backends of every row in one gatecert-backend process. */
static bs_process *start_fault_backends(void) {
  static char specs[ROWS][3 * BS_PATH_MAX];
  const char *args[2 * ROWS + 1];
  for (size_t i = 0; i < ROWS; i++) {
    const fault_row *row = &fault_rows[i];
    char chain[BS_PATH_MAX], key[BS_PATH_MAX], file[64];
    if (row->cert) {
      snprintf(file, sizeof(file), "%s.chain.pem", row->cert);
      bt_scratch(chain, file);
      snprintf(file, sizeof(file), "%s.key", row->cert);
      bt_scratch(key, file);
      snprintf(specs[i], sizeof(specs[i]), "%s:cert=%s,key=%s,fault=%s", row->name, chain, key,
               row->fault);
    } else {
      snprintf(specs[i], sizeof(specs[i]), "%s:fault=%s", row->name, row->fault);
    }
    args[2 * i] = "--backend";
    args[2 * i + 1] = specs[i];
  }
  args[(size_t)2 * ROWS] = NULL;
  bs_start_opts opts = {.args = args, .scratch_dir = test_scratch_dir()};
  bs_process *p = bs_start(&opts);
  bs_check(p != NULL);
  return p;
}

static void check_outcome(const fault_run *run, const fault_row *row, const fault_outcome *want,
                          const bs_response *res) {
  const char *label = run->broken ? "--break backend-faults" : "";
  if (res->status != want->status)
    fail_msg("%s %s %s: expected status %ld, got %ld (curl %d): %s", run->profile, label, row->name,
             want->status, res->status, res->code, res->body);
  if (!strstr(res->body, want->text))
    fail_msg("%s %s %s: expected \"%s\" in %s", run->profile, label, row->name, want->text,
             res->body);
  if (want->code == NULL) { /* the backend's head, then its bytes, then the end */
    if (res->code != CURLE_PARTIAL_FILE || strstr(res->body, "Runtime Error"))
      fail_msg("%s %s: expected a body cut short, got curl %d: %s", run->profile, row->name,
               res->code, res->body);
    return;
  }
  char code[64];
  snprintf(code, sizeof(code), run->xml ? "<am:code>%s</am:code>" : "\"code\":\"%s\"", want->code);
  if (res->code != CURLE_OK || !strstr(res->body, code))
    fail_msg("%s %s %s: expected fault code %s, got curl %d: %s", run->profile, label, row->name,
             want->code, res->code, res->body);
}

static void test_fault_codes_per_profile(void **state) {
  const fault_run *run = *state;
  size_t column = (size_t)(run - fault_runs);
  bs_process *backends = start_fault_backends();
  char root[BS_PATH_MAX], dir[BS_PATH_MAX], name[64];
  snprintf(name, sizeof(name), "faults-%s%s", run->profile, run->broken ? "-broken" : "");
  const char *broken[] = {"--trust",
                          bt_scratch(root, "root.pem"),
                          "--backend-timeout-ms",
                          "300",
                          "--break",
                          "backend-faults",
                          NULL};
  if (!run->broken)
    broken[4] = NULL;
  st_sim sim;
  st_sim_opts opts = {
      .dir = bt_scratch(dir, name), .profile = run->profile, .clock = FAKE_START, .extra = broken};
  st_check(st_sim_start(&sim, &opts));
  for (size_t i = 0; i < ROWS; i++) {
    const fault_row *row = &fault_rows[i];
    char url[128], context[64], id[64], path[96];
    snprintf(url, sizeof(url), "https://localhost:%d", bs_port(backends, row->name));
    snprintf(context, sizeof(context), "/%s", row->name);
    assert_int_equal(201, st_create_api(&sim, row->name, context, "1.0", url, id));
    snprintf(path, sizeof(path), "/%s/1.0/menaka", row->name);
    bs_request req = {.port = sim.https, .path = path, .insecure = 1};
    bs_response res;
    bs_http(&req, &res);
    check_outcome(run, row, &row->expect[column], &res);
    bs_response_free(&res);
    if (!st_log_contains(&sim, row->log))
      fail_msg("%s %s: the gateway log lacks \"%s\"", run->profile, row->name, row->log);
  }
  st_check(st_sim_stop(&sim));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_upload_takes_effect_at_tick_then_delete, bs_teardown),
      cmocka_unit_test_teardown(test_leaf_or_unrelated_cert, bs_teardown),
      cmocka_unit_test_teardown(test_restart_keeps_trust, bs_teardown),
      cmocka_unit_test_teardown(test_base_trust_store, bs_teardown),
      cmocka_unit_test_teardown(test_xml_fault, bs_teardown),
      cmocka_unit_test_teardown(test_no_route, bs_teardown),
  };
  enum { BASE = sizeof(tests) / sizeof(tests[0]) };
  struct CMUnitTest all[BASE + RUNS];
  char names[RUNS][64];
  memcpy(all, tests, sizeof(tests));
  for (size_t i = 0; i < RUNS; i++) {
    snprintf(names[i], sizeof(names[i]), "fault_codes_%s%s", fault_runs[i].profile,
             fault_runs[i].broken ? "_broken" : "");
    struct CMUnitTest t = {names[i], test_fault_codes_per_profile, NULL, bs_teardown,
                           (void *)&fault_runs[i]};
    all[BASE + i] = t;
  }
  return bt_run_curl("sim_backend_trust", all, BASE + RUNS, bt_setup_catalogue_2030, NULL);
}
