/* test_sim_throttle.c - throttling per client certificate, end to end over
 * real TLS on a fake clock (2030, standing still between steps).
 *
 * A client certificate uploaded with tier 10PerMin: requests 1-10 pass, the
 * 11th gets 429 with WSO2 4.x's exact answer (900804, the next access time =
 * the end of the window that began with the first request, in the
 * description, in nextAccessTime and as a Retry-After HTTP-date); a step of
 * the fake clock past the window lets it through again. Two certificates
 * sharing the tier on one API version share one counter under WSO2's
 * defaults (the key has no certificate identity) and do not with
 * "per_certificate". The default version's versionless path counts on the
 * same counter.
 *
 * The throttle key by profile (rule family throttle-key): A at 3PerMin and B
 * at 2PerMin count apart under wso2-4 and sap (the key has the tier) and on
 * one counter under wso2-2.6 (null:<context>/<version>:<version>, each call
 * judged by its own tier), per_certificate apart again, --break throttle-key
 * swapping the rows; the log names the key.
 *
 * The throttled answer by profile (rule family throttle-out), one row each:
 * its content type, exact body and Retry-After (or its absence) under
 * wso2-4, wso2-2.6 and sap, with the profile's fault format and the other
 * one, and under --break throttle-out.
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

#include <curl/curl.h>

#define FAKE_START "2030-01-01 00:00:00"
#define SECOND     ((int64_t)1000)

static sw_client cert_a, cert_b;

static int group_setup(void **state) {
  bt_setup_catalogue_2030(state);
  sw_make_client(&cert_a, "client-a");
  sw_make_client(&cert_b, "client-b");
  return 0;
}

/* API /t/1.0 (mutual SSL mandatory, default version) with A at tier_a and B
 * at tier_b, under profile (NULL: the default, wso2-4), with the config
 * (NULL: none) and --break brk (NULL: none). */
static void start_world_tiers(sw_world *w, const char *dir_name, const char *profile,
                              const char *config, const char *brk, const char *tier_a,
                              const char *tier_b) {
  w->backend = sw_backend("echo", "server", NULL, w->url);
  sw_sim_start(&w->sim, dir_name, profile, FAKE_START, config, brk);
  char id[64];
  sw_create_api(&w->sim, "t", w->url, "[\"mutualssl\",\"mutualssl_mandatory\"]", 1, id);
  sw_upload_client(&w->sim, id, "a", &cert_a, tier_a);
  sw_upload_client(&w->sim, id, "b", &cert_b, tier_b);
  sw_reload(&w->sim);
  w->t0 = st_status_i64(&w->sim, "time_ms");
  assert_true(w->t0 > 0);
}

/* The same with A and B at 10PerMin. */
static void start_world(sw_world *w, const char *dir_name, const char *profile, const char *config,
                        const char *brk) {
  start_world_tiers(w, dir_name, profile, config, brk, "10PerMin", "10PerMin");
}

/* What a call got: status, body, and the headers the throttle sets. */
typedef struct answer {
  long status;
  char body[2048];
  size_t body_len;
  char content_type[128];
  char retry_after[128];
  int retry_after_seen;
} answer;

/* GET path on a fresh connection presenting who's certificate. */
static void call_full(sw_world *w, const char *path, const sw_client *who, answer *a) {
  memset(a, 0, sizeof(*a));
  bs_request req = {.port = w->sim.https,
                    .host = "127.0.0.1",
                    .path = path,
                    .insecure = 1,
                    .cert = who->cert,
                    .key = who->key};
  bs_response res;
  if (bs_http(&req, &res) != CURLE_OK)
    fail_msg("GET %s: %s", path, res.error);
  a->status = res.status;
  a->body_len = (size_t)snprintf(a->body, sizeof(a->body), "%s", res.body);
  if (a->body_len >= sizeof(a->body))
    a->body_len = sizeof(a->body) - 1;
  bs_header(&res, "Content-Type", a->content_type, sizeof(a->content_type));
  a->retry_after_seen = bs_header(&res, "Retry-After", a->retry_after, sizeof(a->retry_after));
  bs_response_free(&res);
}

static long call(sw_world *w, const char *path, const sw_client *who) {
  answer a;
  call_full(w, path, who, &a);
  return a.status;
}

#define NEXT_1H  "2030-Jan-01 01:00:00+0000 UTC"
#define AFTER_1H "You have exceeded your quota .You can access API after " NEXT_1H
#define AMT_HEAD                                                                                   \
  "<amt:fault xmlns:amt=\"http://wso2.org/apimanager/throttling\"><amt:code>900804</amt:code>"     \
  "<amt:message>Message throttled out</amt:message>"

/* The exact answer: 429, body, content type, and Retry-After (NULL: none). */
static void expect_answer(const char *label, const answer *a, const char *content_type,
                          const char *body, const char *retry_after) {
  if (a->status != 429 || strcmp(a->body, body) != 0)
    fail_msg("%s: %ld %s, expected 429 %s", label, a->status, a->body, body);
  if (strcmp(a->content_type, content_type) != 0)
    fail_msg("%s: Content-Type \"%s\", expected %s", label, a->content_type, content_type);
  if (retry_after && (a->retry_after_seen != 1 || strcmp(a->retry_after, retry_after) != 0))
    fail_msg("%s: Retry-After \"%s\" (%d times), expected \"%s\"", label, a->retry_after,
             a->retry_after_seen, retry_after);
  if (!retry_after && a->retry_after_seen)
    fail_msg("%s: Retry-After \"%s\", expected none", label, a->retry_after);
}

/* WSO2 4.x's answer with the next access time when (the description's and
 * nextAccessTime's spelling) and http_date (Retry-After's). */
static void expect_throttled(sw_world *w, const char *path, const sw_client *who, const char *when,
                             const char *http_date) {
  char want[512];
  snprintf(want, sizeof(want),
           "{\"code\":\"900804\",\"message\":\"Message throttled out\",\"description\":\"You have "
           "exceeded your quota .You can access API after %s\",\"nextAccessTime\":\"%s\"}",
           when, when);
  answer a;
  call_full(w, path, who, &a);
  expect_answer(path, &a, "application/json", want, http_date);
}

static void test_ten_per_minute(void **state) {
  (void)state;
  sw_world w = {0};
  start_world(&w, "ten", NULL, NULL, NULL);
  assert_true(w.t0 >= 1893456000000LL && w.t0 < 1893456001000LL); /* 00:00:00.xxx */
  for (int i = 1; i <= 10; i++)
    if (call(&w, "/t/1.0/menaka", &cert_a) != 200)
      fail_msg("request %d refused", i);
  expect_throttled(&w, "/t/1.0/menaka", &cert_a, "2030-Jan-01 00:01:00+0000 UTC",
                   "Tue, 01 Jan 2030 00:01:00 GMT");
  st_check(st_clock_set(&w.sim, w.t0 + 59 * SECOND));
  expect_throttled(&w, "/t/1.0/menaka", &cert_a, "2030-Jan-01 00:01:00+0000 UTC",
                   "Tue, 01 Jan 2030 00:01:00 GMT");
  st_check(st_clock_set(&w.sim, w.t0 + 61 * SECOND));
  assert_int_equal(200, call(&w, "/t/1.0/menaka", &cert_a));
  /* the new window began at 00:01:01 */
  for (int i = 2; i <= 10; i++)
    assert_int_equal(200, call(&w, "/t/1.0/menaka", &cert_a));
  expect_throttled(&w, "/t/1.0/menaka", &cert_a, "2030-Jan-01 00:02:01+0000 UTC",
                   "Tue, 01 Jan 2030 00:02:01 GMT");
  sw_world_stop(&w);
}

/* WSO2's key is applicationId:context:version:tier: A and B share it. The
 * versionless path of the default version counts on the same key. */
static void test_shared_counter_default(void **state) {
  (void)state;
  sw_world w = {0};
  start_world(&w, "shared", NULL, NULL, NULL);
  for (int i = 0; i < 5; i++) {
    assert_int_equal(200, call(&w, "/t/1.0/menaka", &cert_a));
    assert_int_equal(200, call(&w, "/t/menaka", &cert_b));
  }
  expect_throttled(&w, "/t/1.0/menaka", &cert_a, "2030-Jan-01 00:01:00+0000 UTC",
                   "Tue, 01 Jan 2030 00:01:00 GMT");
  expect_throttled(&w, "/t/menaka", &cert_b, "2030-Jan-01 00:01:00+0000 UTC",
                   "Tue, 01 Jan 2030 00:01:00 GMT");
  sw_world_stop(&w);
}

static void test_per_certificate(void **state) {
  (void)state;
  sw_world w = {0};
  start_world(&w, "per-cert", NULL, "{\"throttling\": {\"per_certificate\": true}}", NULL);
  for (int i = 0; i < 10; i++) {
    assert_int_equal(200, call(&w, i % 2 ? "/t/menaka" : "/t/1.0/menaka", &cert_a));
    assert_int_equal(200, call(&w, "/t/1.0/menaka", &cert_b));
  }
  expect_throttled(&w, "/t/menaka", &cert_a, "2030-Jan-01 00:01:00+0000 UTC",
                   "Tue, 01 Jan 2030 00:01:00 GMT");
  expect_throttled(&w, "/t/1.0/menaka", &cert_b, "2030-Jan-01 00:01:00+0000 UTC",
                   "Tue, 01 Jan 2030 00:01:00 GMT");
  sw_world_stop(&w);
}

/* The throttled answer by profile, fault format and --break: a tier of the
 * config's own (10PerMin redefined as 2 per hour), the third call refused. */
static const struct {
  const char *label;
  const char *profile;
  const char *fault_format; /* NULL: the profile's */
  const char *brk;          /* --break, or NULL */
  const char *content_type;
  const char *body;
  const char *retry_after; /* NULL: no Retry-After header */
} answer_rows[] = {
    {"wso2-4", "wso2-4", NULL, NULL, "application/json",
     "{\"code\":\"900804\",\"message\":\"Message throttled out\",\"description\":\"" AFTER_1H
     "\",\"nextAccessTime\":\"" NEXT_1H "\"}",
     "Tue, 01 Jan 2030 01:00:00 GMT"},
    {"wso2-4, fault_format xml", "wso2-4", "xml", NULL, "application/xml",
     AMT_HEAD "<amt:description>" AFTER_1H "</amt:description><amt:nextAccessTime>" NEXT_1H
              "</amt:nextAccessTime></amt:fault>",
     "Tue, 01 Jan 2030 01:00:00 GMT"},
    {"wso2-2.6", "wso2-2.6", NULL, NULL, "application/xml",
     AMT_HEAD "<amt:description>You have exceeded your quota</amt:description>"
              "<amt:nextAccessTime>" NEXT_1H "</amt:nextAccessTime></amt:fault>",
     NULL},
    {"wso2-2.6, fault_format json", "wso2-2.6", "json", NULL, "application/json",
     "{\"code\":\"900804\",\"message\":\"Message throttled out\",\"description\":\"You have "
     "exceeded your quota\",\"nextAccessTime\":\"" NEXT_1H "\"}",
     NULL},
    {"sap", "sap", NULL, NULL, "application/json",
     "{\"code\":\"900804\",\"message\":\"Message throttled out\",\"description\":\"" AFTER_1H "\"}",
     NULL},
    {"sap, fault_format xml", "sap", "xml", NULL, "application/xml",
     AMT_HEAD "<amt:description>" AFTER_1H "</amt:description></amt:fault>", NULL},
    {"wso2-4 --break throttle-out", "wso2-4", NULL, "throttle-out", "application/json",
     "{\"code\":\"900804\",\"message\":\"Message throttled out\",\"description\":\"" AFTER_1H "\"}",
     NULL},
    {"wso2-2.6 --break throttle-out", "wso2-2.6", NULL, "throttle-out", "application/xml",
     AMT_HEAD "<amt:description>" AFTER_1H "</amt:description></amt:fault>", NULL},
};

static void test_answer_by_profile(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(answer_rows) / sizeof(answer_rows[0]); i++) {
    char config[256], dir[32];
    snprintf(config, sizeof(config),
             "{%s%s%s\"throttling\": {\"tiers\": [{\"name\": \"10PerMin\", \"requests\": 2, "
             "\"window_seconds\": 3600}]}}",
             answer_rows[i].fault_format ? "\"fault_format\": \"" : "",
             answer_rows[i].fault_format ? answer_rows[i].fault_format : "",
             answer_rows[i].fault_format ? "\", " : "");
    snprintf(dir, sizeof(dir), "answer-%zu", i);
    sw_world w = {0};
    start_world(&w, dir, answer_rows[i].profile, config, answer_rows[i].brk);
    assert_int_equal(200, call(&w, "/t/1.0/menaka", &cert_a));
    assert_int_equal(200, call(&w, "/t/1.0/menaka", &cert_a));
    answer a;
    call_full(&w, "/t/1.0/menaka", &cert_a, &a);
    expect_answer(answer_rows[i].label, &a, answer_rows[i].content_type, answer_rows[i].body,
                  answer_rows[i].retry_after);
    sw_world_stop(&w);
  }
}

/* The throttle key by profile (rule throttle-key), with A at 3PerMin and B
 * at 2PerMin on one API version. wso2-4 and sap (throttle.shared-counter):
 * the key has the tier, so A and B count apart. wso2-2.6
 * (throttle.one-counter-per-api): one counter, null:/t/1.0:1.0, for both,
 * each call judged by its own certificate's tier - once B's 2 calls are
 * spent A gets one more (its limit is 3) and B none. per_certificate keeps
 * them apart under 2.6's key too; --break throttle-key swaps the rows. */
static void test_key_by_profile(void **state) {
  (void)state;
#define APART                                                                                      \
  { 200, 200, 429, 200, 200, 200, 429 }
#define SHARED                                                                                     \
  { 200, 200, 429, 200, 429, 429, 429 }
#define KEY_4_B "key MutualSSLAuthApplication:/t/1.0:1.0:2PerMin)"
#define KEY_4_A "key MutualSSLAuthApplication:/t/1.0:1.0:3PerMin)"
#define KEY_26  "key null:/t/1.0:1.0)"
  static const struct {
    const char *profile, *brk;
    int per_certificate;
    long status[7];     /* B, B, B, A, A, A, A */
    const char *key[2]; /* in the throttled-out log lines (NULL: none) */
  } rows[] = {
      {"wso2-4", NULL, 0, APART, {KEY_4_B, KEY_4_A}},
      {"sap", NULL, 0, APART, {KEY_4_B, KEY_4_A}},
      {"wso2-2.6", NULL, 0, SHARED, {KEY_26, NULL}},
      {"wso2-2.6", NULL, 1, APART, {"key null:/t/1.0:1.0:", NULL}},
      {"wso2-4", "throttle-key", 0, SHARED, {KEY_26, NULL}},
      {"wso2-2.6", "throttle-key", 0, APART, {KEY_4_B, KEY_4_A}},
  };
#undef APART
#undef SHARED
#undef KEY_4_B
#undef KEY_4_A
#undef KEY_26
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    char config[256], dir[32], label[96];
    snprintf(config, sizeof(config),
             "{\"throttling\": {\"per_certificate\": %s, \"tiers\": [{\"name\": \"3PerMin\", "
             "\"requests\": 3}, {\"name\": \"2PerMin\", \"requests\": 2}]}}",
             rows[i].per_certificate ? "true" : "false");
    snprintf(dir, sizeof(dir), "key-%zu", i);
    snprintf(label, sizeof(label), "%s%s%s%s", rows[i].profile, rows[i].brk ? " --break " : "",
             rows[i].brk ? rows[i].brk : "", rows[i].per_certificate ? " per_certificate" : "");
    sw_world w = {0};
    start_world_tiers(&w, dir, rows[i].profile, config, rows[i].brk, "3PerMin", "2PerMin");
    for (size_t c = 0; c < 7; c++) {
      long status = call(&w, "/t/1.0/menaka", c < 3 ? &cert_b : &cert_a);
      if (status != rows[i].status[c])
        fail_msg("%s: call %zu (%s): %ld, expected %ld", label, c + 1, c < 3 ? "B" : "A", status,
                 rows[i].status[c]);
    }
    for (size_t k = 0; k < 2; k++)
      if (rows[i].key[k] && !st_log_contains(&w.sim, rows[i].key[k]))
        fail_msg("%s: the log does not name \"%s\"", label, rows[i].key[k]);
    sw_world_stop(&w);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_ten_per_minute, bs_teardown),
      cmocka_unit_test_teardown(test_shared_counter_default, bs_teardown),
      cmocka_unit_test_teardown(test_per_certificate, bs_teardown),
      cmocka_unit_test_teardown(test_answer_by_profile, bs_teardown),
      cmocka_unit_test_teardown(test_key_by_profile, bs_teardown),
  };
  return bt_run_curl_tests(tests, group_setup, NULL);
}
