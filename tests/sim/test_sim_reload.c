/* test_sim_reload.c - when an uploaded endpoint certificate takes effect.
 *
 * The sender reloads on fixed ticks counted from start. A certificate
 * uploaded just after a tick waits almost a whole interval; one uploaded just
 * before a tick waits seconds. Both are checked for a 600 s and a 3600 s
 * interval on libfaketime: the simulator's clock is stepped by rewriting the
 * case's timestamp file, so an hour of gateway time takes milliseconds. The
 * real time of each case is printed (it is well under a second). Also: the
 * minimum interval (60 s: smaller values are raised, as WSO2 does), no reload
 * at a tick when nothing changed, several ticks passed in one step give
 * one reload, and POST /_sim/reload with nothing changed rebuilds nothing.
 */
#include "support.h"
#include "backend_fixture.h"
#include "backend_support.h"
#include "sim_fixture.h"
#include "sim_world.h"

#include <stdio.h>
#include <string.h>

#define FAKE_START "2030-01-01 00:00:00"
#define SECOND     ((int64_t)1000)

typedef struct reload_case {
  const char *name;
  long interval_s;
  int64_t upload_at_s; /* offset from start */
  int64_t still_500_at_s;
  int64_t live_at_s;
} reload_case;

/* upload just after tick 1 (interval + 1 s) -> live only at tick 2;
 * upload 3 s before tick 1 -> live at tick 1. */
static const reload_case cases[] = {
    {"600s-after-tick", 600, 601, 1198, 1201},
    {"600s-before-tick", 600, 597, 599, 601},
    {"3600s-after-tick", 3600, 3601, 7198, 7201},
    {"3600s-before-tick", 3600, 3597, 3599, 3601},
};

static void start(sw_world *w, const char *name, long interval_s) {
  char dir[BS_PATH_MAX];
  w->backend = sw_backend("echo", "server", NULL, w->url);
  st_sim_opts opts = {.dir = bt_scratch(dir, name), .clock = FAKE_START, .reload_s = interval_s};
  st_check(st_sim_start(&w->sim, &opts));
  char id[64];
  assert_int_equal(201, st_create_api(&w->sim, "Test", "/test", "1.0", w->url, id));
  w->t0 = st_status_i64(&w->sim, "started_ms");
  assert_true(w->t0 > 0);
}

static long call_status(sw_world *w) {
  bs_response res;
  st_check(st_call(&w->sim, "/test/1.0/menaka", &res));
  long status = res.status;
  if (status == 200)
    assert_non_null(strstr(res.body, "Jersey say : menaka"));
  bs_response_free(&res);
  return status;
}

static void upload_root(sw_world *w) {
  char path[BS_PATH_MAX];
  st_reply r;
  st_check(st_upload_cert(&w->sim, "echo", w->url, bt_scratch(path, "root.pem"), &r));
  assert_int_equal(201, r.status);
  st_reply_free(&r);
}

static void test_tick_cases(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const reload_case *c = &cases[i];
    sw_world w = {0};
    start(&w, c->name, c->interval_s);
    double real_start = gu_now_ms();
    assert_int_equal(c->interval_s, st_status_i64(&w.sim, "sender.interval_s"));
    st_check(st_clock_set(&w.sim, w.t0 + c->upload_at_s * SECOND));
    upload_root(&w);
    st_check(st_clock_set(&w.sim, w.t0 + c->still_500_at_s * SECOND));
    if (call_status(&w) != 500)
      fail_msg("%s: live before its tick", c->name);
    st_check(st_clock_set(&w.sim, w.t0 + c->live_at_s * SECOND));
    if (call_status(&w) != 200)
      fail_msg("%s: not live after its tick", c->name);
    printf("# %-18s upload at +%llds, live at +%llds (waited %llds of fake time) in %.0f ms real\n",
           c->name, (long long)c->upload_at_s, (long long)c->live_at_s,
           (long long)(c->live_at_s - c->upload_at_s), gu_now_ms() - real_start);
    st_check(st_sim_stop(&w.sim));
    bs_check(bs_stop(w.backend) == 0);
  }
}

/* Ticks where nothing changed reload nothing; a step over several ticks with
 * a pending change reloads once; the status lists the next ticks. */
static void test_generations_and_schedule(void **state) {
  (void)state;
  sw_world w = {0};
  start(&w, "generations", 600);
  st_check(st_clock_set(&w.sim, w.t0 + 1801 * SECOND));
  json_t *status = NULL;
  st_check(st_status(&w.sim, &status));
  assert_int_equal(3, json_integer_value(bs_json_at(status, "sender.ticks")));
  assert_int_equal(1, json_integer_value(bs_json_at(status, "sender.generation")));
  assert_int_equal(0, json_integer_value(bs_json_at(status, "sender.reloads")));
  json_t *next = bs_json_at(status, "sender.next_ticks_ms");
  assert_int_equal(3, json_array_size(next));
  for (size_t k = 0; k < 3; k++)
    assert_int_equal(w.t0 + (int64_t)(4 + k) * 600 * SECOND,
                     json_integer_value(json_array_get(next, k)));
  json_decref(status);

  upload_root(&w);
  st_check(st_clock_set(&w.sim, w.t0 + 3601 * SECOND)); /* three ticks in one step */
  assert_int_equal(200, call_status(&w));
  assert_int_equal(2, st_status_i64(&w.sim, "sender.generation"));
  assert_int_equal(1, st_status_i64(&w.sim, "sender.reloads"));
  st_check(st_sim_stop(&w.sim));
}

/* POST /_sim/reload rebuilds only what changed: with nothing pending it is a
 * no-op (same generation, no reload counted) and its answer says so; with an
 * upload pending it reloads the sender once. Rows: the calls in order. */
static void test_requested_reload_only_when_changed(void **state) {
  (void)state;
  static const struct {
    const char *name;
    int upload_first, reloaded_sender;
    long generation, reloads;
  } rows[] = {
      {"nothing pending: no-op", 0, 0, 1, 0},
      {"an upload pending: reloads", 1, 1, 2, 1},
      {"nothing pending again: no-op", 0, 0, 2, 1},
  };
  sw_world w = {0};
  start(&w, "requested", 600);
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    if (rows[i].upload_first)
      upload_root(&w);
    st_reply r;
    st_check(st_admin(&w.sim, "POST", "/_sim/reload", NULL, &r));
    assert_int_equal(200, r.status);
    json_t *said = bs_json_at(r.json, "reloaded.sender");
    if (!json_is_boolean(said) || json_is_true(said) != rows[i].reloaded_sender ||
        !json_is_false(bs_json_at(r.json, "reloaded.listener_profile")))
      fail_msg("%s: the answer says %s", rows[i].name, r.body);
    st_reply_free(&r);
    if (st_status_i64(&w.sim, "sender.generation") != rows[i].generation ||
        st_status_i64(&w.sim, "sender.reloads") != rows[i].reloads)
      fail_msg("%s: generation %lld, reloads %lld", rows[i].name,
               (long long)st_status_i64(&w.sim, "sender.generation"),
               (long long)st_status_i64(&w.sim, "sender.reloads"));
  }
  assert_int_equal(200, call_status(&w)); /* the one reload took the upload */
  st_check(st_sim_stop(&w.sim));
}

/* Below 60 s is raised to 60 s; the status says what was asked. */
static void test_minimum_interval(void **state) {
  (void)state;
  sw_world w = {0};
  start(&w, "minimum", 5);
  assert_int_equal(60, st_status_i64(&w.sim, "sender.interval_s"));
  assert_int_equal(5, st_status_i64(&w.sim, "sender.interval_asked_s"));
  upload_root(&w);
  st_check(st_clock_set(&w.sim, w.t0 + 58 * SECOND));
  assert_int_equal(500, call_status(&w));
  st_check(st_clock_set(&w.sim, w.t0 + 61 * SECOND));
  assert_int_equal(200, call_status(&w));
  assert_true(st_log_contains(&w.sim, "below the minimum"));
  st_check(st_sim_stop(&w.sim));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_tick_cases, bs_teardown),
      cmocka_unit_test_teardown(test_generations_and_schedule, bs_teardown),
      cmocka_unit_test_teardown(test_minimum_interval, bs_teardown),
      cmocka_unit_test_teardown(test_requested_reload_only_when_changed, bs_teardown),
  };
  return bt_run_curl_tests(tests, bt_setup_catalogue_2030, NULL);
}
