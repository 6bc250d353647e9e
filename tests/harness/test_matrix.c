/* test_matrix.c - `gatecert matrix` (harness/matrix.h) and the known-failures
 * list (harness/known.h).
 *
 * The matrix tests read small conformance.json files under fixtures/matrix/:
 * sim (wso2), nginx, haproxy and sim (sap) runs of the same few cases, made
 * so that every kind of cell appears (pass, fail N/M with and without skips,
 * skip with one and two reasons, one reason that names no capability,
 * partial, "-"), a case that lists a feature twice, and an error. Cases not
 * applicable to a product go the whole way: a hand-made run written by
 * gh_conformance_write, loaded back, and shown as n/a. Then the
 * renderings (exact text), the README splice (markers kept, everything else
 * byte for byte), the command end to end (files written, nothing written on
 * bad input) and every kind of bad input with its message.
 *
 * The known-failures tests parse lists (good ones and one per error, with
 * the line number), then check hand-made runs: known, unexpected (a failure
 * not listed, an error even when listed) and stale (listed but passed,
 * skipped, or not run) entries, and the summary lines.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "known.h"
#include "matrix.h"
#include "backend_support.h"
#include "support.h"

#define EPOCH_2030      "1893456000"
#define EPOCH_2030_TEXT "2030-01-01T00:00:00Z"

static void spit(const char *path, const char *text) { test_write(path, text, strlen(text)); }

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* The four fixture runs, loaded (asserting it worked). */
#define RUNS 4
static void load_runs(gh_mx_run runs[RUNS]) {
  static const char *const dirs[RUNS] = {"matrix/sim-wso2", "matrix/nginx", "matrix/haproxy",
                                         "matrix/sim-sap"};
  for (size_t i = 0; i < RUNS; i++) {
    char why[512] = "";
    if (gh_mx_run_load(test_fixture_path(dirs[i]), &runs[i], why, sizeof(why)) != 0)
      fail_msg("%s: %s", dirs[i], why);
  }
}

static void free_runs(gh_mx_run *runs, size_t n) {
  for (size_t i = 0; i < n; i++)
    gh_mx_run_free(&runs[i]);
}

static size_t row_of(const gh_matrix *m, const char *feature) {
  for (size_t i = 0; i < m->feature_count; i++)
    if (strcmp(m->features[i], feature) == 0)
      return i;
  fail_msg("no row %s", feature);
  return 0;
}

static void assert_cell(const gh_matrix *m, const char *feature, size_t column, const char *text) {
  const gh_mx_cell *c = gh_matrix_cell(m, row_of(m, feature), column);
  if (strcmp(c->text, text) != 0)
    fail_msg("%s / %s: expected \"%s\", got \"%s\"", feature, m->titles[column], text, c->text);
}

/* ---------------------------------------------------------------------------
 * Loading.
 * ------------------------------------------------------------------------- */

static void test_load(void **state) {
  (void)state;
  gh_mx_run run;
  char why[512] = "";
  /* a run directory or the file itself */
  if (gh_mx_run_load(test_fixture_path("matrix/nginx/conformance.json"), &run, why, sizeof(why)) !=
      0)
    fail_msg("%s", why);
  assert_string_equal("nginx", run.implementation);
  assert_string_equal("1.22.1", run.version);
  assert_string_equal("wso2", run.profile);
  assert_string_equal("2026-11-23T16:05:00", run.started);
  assert_int_equal(7, run.count);
  const gh_mx_case *c = &run.cases[0];
  assert_string_equal("mtls identity", c->name);
  assert_string_equal("backend-mtls/identity.yaml", c->file);
  assert_int_equal(1, c->feature_count);
  assert_string_equal("backend-mtls", c->features[0]);
  assert_int_equal(GH_PASS, c->outcome);
  assert_null(c->message);
  assert_true(c->seconds > 1.19 && c->seconds < 1.21);
  assert_int_equal(2, c->applies);
  assert_true(c->apply_ms > 410.4 && c->apply_ms < 410.6);
  assert_int_equal(GH_SKIP, run.cases[2].outcome);
  assert_string_equal("the nginx driver lacks capability runtime-backend-trust",
                      run.cases[2].message);
  assert_int_equal(0, run.cases[2].applies);
  gh_mx_run_free(&run);

  if (gh_mx_run_load(test_fixture_path("matrix/sim-sap"), &run, why, sizeof(why)) != 0)
    fail_msg("%s", why);
  assert_non_null(strstr(run.source, "sim-sap/conformance.json"));
  char *title = gh_mx_title(&run);
  assert_string_equal("sim (sap)", title);
  free(title);
  gh_mx_run_free(&run);
}

/* Every kind of bad input gives a message naming the file and the problem. */
static void assert_load_error(const char *fixture, const char *expected) {
  gh_mx_run run;
  memset(&run, 0x5a, sizeof(run));
  char why[512] = "";
  const char *path = fixture[0] == '/' ? fixture : test_fixture_path(fixture);
  assert_int_equal(-1, gh_mx_run_load(path, &run, why, sizeof(why)));
  if (strstr(why, expected) == NULL)
    fail_msg("%s: expected \"%s\" in \"%s\"", fixture, expected, why);
  assert_null(run.cases); /* emptied */
  assert_null(run.implementation);
}

static void test_load_errors(void **state) {
  (void)state;
  assert_load_error("matrix/does-not-exist", "cannot read");
  assert_load_error("matrix/does-not-exist", "No such file");
  assert_load_error("matrix/garbage.json", "not valid JSON: line 1");
  assert_load_error("matrix/old", "no \"cases\" array");
  assert_load_error("matrix/bad-outcome.json",
                    "cases[1] (odd): \"outcome\" is not one of pass, fail, error, skip, "
                    "not_applicable");
  assert_load_error("matrix/no-implementation.json", "no \"implementation\".\"name\"");
  assert_load_error("matrix/bad-features.json", "cases[0] (f) has no \"features\" array");
  char *path = test_scratch_path("not-an-object.json");
  spit(path, "[1, 2]\n");
  assert_load_error(path, "not a JSON object");
  spit(path, "{\"implementation\": {\"name\": \"x\"}, \"cases\": [{\"name\": \"a\", \"outcome\": "
             "\"pass\", \"features\": [\"f\", 3]}]}");
  assert_load_error(path, "cases[0]: features[1] is not a non-empty string");
  spit(path, "{\"implementation\": {\"name\": \"x\"}, \"cases\": [{\"name\": \"a\", \"outcome\": "
             "\"pass\", \"features\": [\"f\"], \"seconds\": \"slow\"}]}");
  assert_load_error(path, "cases[0]: \"seconds\" is not a number");
  spit(path, "{\"implementation\": {\"name\": \"x\"}, \"cases\": [7]}");
  assert_load_error(path, "cases[0] is not an object");
  spit(path, "{\"implementation\": {\"name\": \"x\"}, \"cases\": [], \"cases\": []}");
  assert_load_error(path, "not valid JSON"); /* duplicate keys are refused */
  free(path);
}

/* Strings from the file pass through the report filter: no escapes. */
static void test_load_filters(void **state) {
  (void)state;
  char *path = test_scratch_path("hostile.json");
  spit(path, "{\"implementation\": {\"name\": \"evil\\u001b[31m\"}, \"cases\": [{\"name\": "
             "\"a\\u009b2J\", \"outcome\": \"skip\", \"features\": [\"f\"], \"message\": \"x "
             "capability \\u001b[0m\"}]}");
  gh_mx_run run;
  char why[512] = "";
  if (gh_mx_run_load(path, &run, why, sizeof(why)) != 0)
    fail_msg("%s", why);
  assert_null(strchr(run.implementation, '\x1b'));
  assert_null(strstr(run.cases[0].name, "\xc2\x9b"));
  assert_null(strchr(run.cases[0].message, '\x1b'));
  assert_string_equal("", run.version); /* absent */
  assert_string_equal("", run.profile);
  assert_null(run.cases[0].file);
  gh_mx_run_free(&run);
  free(path);
}

static void test_skip_capability(void **state) {
  (void)state;
  static const char *const pairs[][2] = {
      {"the nginx driver lacks capability backend-mtls", "backend-mtls"},
      {"driver lacks capability client-cert-header, sorry", "client-cert-header"},
      {"lacks capability oauth2 (not built)", "oauth2"},
      {"not supported here", "not supported here"},
      {"capability ", "capability "},
      {"", "no reason given"},
  };
  for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
    char *cap = gh_mx_skip_capability(pairs[i][0]);
    assert_string_equal(pairs[i][1], cap);
    free(cap);
  }
  char *none = gh_mx_skip_capability(NULL);
  assert_string_equal("no reason given", none);
  free(none);
}

static void test_na_rule(void **state) {
  (void)state;
  static const char *const pairs[][2] = {
      {"not applicable to wso2-4 (rule backend.ssl-profile-per-host-port)",
       "backend.ssl-profile-per-host-port"},
      {"not applicable to sap (rule backend.api-provider-per-host-port)",
       "backend.api-provider-per-host-port"},
      {"not applicable here", "not applicable here"},
      {"rule ", "rule "},
      {"", "no reason given"},
  };
  for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
    char *rule = gh_mx_na_rule(pairs[i][0]);
    assert_string_equal(pairs[i][1], rule);
    free(rule);
  }
  char *none = gh_mx_na_rule(NULL);
  assert_string_equal("no reason given", none);
  free(none);
}

/* A case of a hand-made run: outcome 'p' pass, 'f' fail, 's' skip, 'n' not
 * applicable (the runner's message for wso2-4). */
static void add_mx(gh_run *run, const char *name, const char *feature, char kind) {
  const char *features[] = {feature};
  gh_case c = {.name = (char *)name,
               .features = (char **)features,
               .feature_count = 1,
               .profile = (char *)run->profile,
               .outcome = kind == 'p'   ? GH_PASS
                          : kind == 'f' ? GH_FAIL
                                        : GH_SKIP,
               .not_applicable = kind == 'n',
               .message = kind == 'n'
                              ? "not applicable to wso2-4 (rule backend.ssl-profile-per-host-port)"
                          : kind == 's' ? "the nginx driver lacks capability x"
                          : kind == 'f' ? "status: expected 500, got 200"
                                        : NULL,
               .seconds = 0.1};
  assert_non_null(gh_run_add(run, &c));
}

/* conformance.json written by the reports, read back by the matrix: cases
 * not applicable keep their own outcome and are shown as n/a, apart from the
 * skips and left out of the counts. */
static void test_not_applicable(void **state) {
  (void)state;
  gh_run sim = {.implementation = "sim", .profile = "wso2-4", .started = "2026-12-01T10:00:00"};
  gh_run ngx = {.implementation = "nginx", .profile = "wso2-4", .started = "2026-12-01T10:01:00"};
  static const struct {
    const char *name, *feature;
    char sim, ngx;
  } cases[] = {
      {"identity", "backend-mtls", 'p', 'p'}, {"reuse", "backend-mtls", 'n', 'p'},
      {"only per api", "per-api", 'n', 'f'},  {"trust skip", "trust", 's', 's'},
      {"trust reuse", "trust", 'n', 'p'},     {"both n/a", "gone", 'n', 'n'},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    add_mx(&sim, cases[i].name, cases[i].feature, cases[i].sim);
    add_mx(&ngx, cases[i].name, cases[i].feature, cases[i].ngx);
  }
  char *sim_path = test_scratch_path("na-sim.json"), *ngx_path = test_scratch_path("na-nginx.json");
  char why[512] = "";
  assert_int_equal(0, gh_conformance_write(&sim, sim_path, why, sizeof(why)));
  assert_int_equal(0, gh_conformance_write(&ngx, ngx_path, why, sizeof(why)));
  gh_run_free(&sim);
  gh_run_free(&ngx);

  gh_mx_run runs[2];
  if (gh_mx_run_load(sim_path, &runs[0], why, sizeof(why)) != 0 ||
      gh_mx_run_load(ngx_path, &runs[1], why, sizeof(why)) != 0)
    fail_msg("%s", why);
  assert_int_equal(GH_SKIP, runs[0].cases[1].outcome);
  assert_int_equal(1, runs[0].cases[1].not_applicable);
  assert_int_equal(0, runs[0].cases[3].not_applicable); /* a skip stays a skip */
  gh_matrix m;
  if (gh_matrix_build(runs, 2, &m, why, sizeof(why)) != 0)
    fail_msg("%s", why);
  static const struct {
    const char *feature, *sim, *ngx;
  } cells[] = {
      {"backend-mtls", "pass, n/a 1", "pass"},
      {"per-api", "n/a (backend.ssl-profile-per-host-port)", "fail 1/1"},
      {"trust", "skip (x), n/a 1", "partial 1/2, skip 1 (x)"},
      {"gone", "n/a (backend.ssl-profile-per-host-port)",
       "n/a (backend.ssl-profile-per-host-port)"},
  };
  for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
    assert_cell(&m, cells[i].feature, 0, cells[i].sim);
    assert_cell(&m, cells[i].feature, 1, cells[i].ngx);
  }
  const gh_mx_cell *c = gh_matrix_cell(&m, row_of(&m, "trust"), 0);
  assert_int_equal(1, c->skip);
  assert_int_equal(1, c->na);
  assert_int_equal(1, c->reason_count);
  assert_string_equal("x", c->reasons[0]);
  assert_int_equal(1, c->rule_count);
  assert_string_equal("backend.ssl-profile-per-host-port", c->rules[0]);

  /* per case: its own outcome, different from nginx's pass */
  char *json = gh_matrix_json(&m, "gatecert matrix a b", EPOCH_2030_TEXT);
  assert_non_null(json);
  json_t *doc = json_loads(json, 0, NULL);
  assert_non_null(doc);
  json_t *reuse = json_object_get(json_object_get(doc, "cases"), "reuse");
  json_t *outcomes = json_object_get(reuse, "outcomes");
  assert_string_equal("not_applicable",
                      json_string_value(json_object_get(outcomes, "sim (wso2-4)")));
  assert_string_equal("pass", json_string_value(json_object_get(outcomes, "nginx")));
  assert_true(json_is_true(json_object_get(reuse, "differs")));
  assert_string_equal(
      "not applicable to wso2-4 (rule backend.ssl-profile-per-host-port)",
      json_string_value(json_object_get(json_object_get(reuse, "messages"), "sim (wso2-4)")));
  json_t *both = json_object_get(json_object_get(doc, "cases"), "both n/a");
  assert_false(json_is_true(json_object_get(both, "differs")));
  json_t *cell =
      json_object_get(json_object_get(json_object_get(doc, "features"), "trust"), "sim (wso2-4)");
  assert_int_equal(1, json_integer_value(json_object_get(cell, "skip")));
  assert_int_equal(1, json_integer_value(json_object_get(cell, "not_applicable")));
  assert_string_equal(
      "backend.ssl-profile-per-host-port",
      json_string_value(json_array_get(json_object_get(cell, "not_applicable_rules"), 0)));
  json_decref(doc);
  free(json);
  char *table = gh_matrix_table(&m);
  assert_non_null(table);
  assert_non_null(
      strstr(table, "per-api       n/a (backend.ssl-profile-per-host-port)  fail 1/1\n"));
  free(table);
  gh_matrix_free(&m);
  gh_mx_run_free(&runs[0]);
  gh_mx_run_free(&runs[1]);
  free(sim_path);
  free(ngx_path);
}

/* ---------------------------------------------------------------------------
 * The matrix.
 * ------------------------------------------------------------------------- */

static void test_cells(void **state) {
  (void)state;
  gh_mx_run runs[RUNS];
  load_runs(runs);
  gh_matrix m;
  char why[256] = "";
  if (gh_matrix_build(runs, RUNS, &m, why, sizeof(why)) != 0)
    fail_msg("%s", why);
  assert_int_equal(RUNS, m.run_count);
  assert_string_equal("sim (wso2)", m.titles[0]);
  assert_string_equal("nginx", m.titles[1]);
  assert_string_equal("haproxy", m.titles[2]);
  assert_string_equal("sim (sap)", m.titles[3]);
  /* rows: the union of the features, sorted */
  static const char *const rows[] = {"backend-mtls", "client-mtls", "header-mode", "oauth2",
                                     "reload"};
  assert_int_equal(5, m.feature_count);
  for (size_t i = 0; i < 5; i++)
    assert_string_equal(rows[i], m.features[i]);

  assert_cell(&m, "backend-mtls", 0, "pass");
  assert_cell(&m, "backend-mtls", 1, "fail 1/3, skip 1 (runtime-backend-trust)");
  assert_cell(&m, "backend-mtls", 2, "fail 1/2"); /* an error counts as a failure */
  assert_cell(&m, "backend-mtls", 3, "pass");
  assert_cell(&m, "client-mtls", 1, "partial 1/2, skip 1 (deferred-reload-schedule)");
  assert_cell(&m, "client-mtls", 2, "pass"); /* a feature listed twice counts once */
  assert_cell(&m, "client-mtls", 3, "-");
  assert_cell(&m, "header-mode", 1, "skip (header-cert-decode)");
  assert_cell(&m, "header-mode", 2, "skip (header-cert-decode, not supported here)");
  assert_cell(&m, "oauth2", 1, "-");
  assert_cell(&m, "oauth2", 2, "fail 1/1");
  assert_cell(&m, "reload", 0, "pass");
  assert_cell(&m, "reload", 1, "skip (deferred-reload-schedule)"); /* two skips, one reason */
  assert_cell(&m, "reload", 2, "partial 1/2, skip 1 (deferred-reload-schedule)");

  const gh_mx_cell *c = gh_matrix_cell(&m, row_of(&m, "backend-mtls"), 2);
  assert_int_equal(1, c->pass);
  assert_int_equal(0, c->fail);
  assert_int_equal(1, c->error);
  assert_int_equal(0, c->skip);
  c = gh_matrix_cell(&m, row_of(&m, "client-mtls"), 2);
  assert_int_equal(2, c->pass);
  c = gh_matrix_cell(&m, row_of(&m, "header-mode"), 2);
  assert_int_equal(2, c->skip);
  assert_int_equal(2, c->reason_count);
  assert_string_equal("header-cert-decode", c->reasons[0]);
  assert_string_equal("not supported here", c->reasons[1]);
  c = gh_matrix_cell(&m, row_of(&m, "reload"), 1);
  assert_int_equal(2, c->skip);
  assert_int_equal(1, c->reason_count);

  /* the union of the case names, sorted, with each run's outcome */
  assert_int_equal(9, m.case_count);
  assert_string_equal("header b64", m.cases[0]);
  assert_string_equal("verify required", m.cases[8]);
  size_t wrong_ca = 0;
  while (wrong_ca < m.case_count && strcmp(m.cases[wrong_ca], "mtls wrong ca") != 0)
    wrong_ca++;
  assert_true(wrong_ca < m.case_count);
  assert_int_equal(GH_PASS, m.case_outcomes[wrong_ca * RUNS + 0]);
  assert_int_equal(GH_FAIL, m.case_outcomes[wrong_ca * RUNS + 1]);
  assert_int_equal(GH_PASS, m.case_outcomes[wrong_ca * RUNS + 2]);
  assert_int_equal(-1, m.case_outcomes[wrong_ca * RUNS + 3]);
  gh_matrix_free(&m);
  free_runs(runs, RUNS);
}

/* Two runs of the same implementation and profile get distinct titles, and
 * a case a run holds twice shows its worst outcome. */
static void test_titles_and_repeats(void **state) {
  (void)state;
  char *path = test_scratch_path("repeat.json");
  spit(path, "{\"implementation\": {\"name\": \"nginx\"}, \"profile\": \"wso2\", \"cases\": ["
             "{\"name\": \"a\", \"outcome\": \"pass\", \"features\": [\"f\"]},"
             "{\"name\": \"a\", \"outcome\": \"fail\", \"features\": [\"f\"]},"
             "{\"name\": \"a\", \"outcome\": \"skip\", \"features\": [\"f\"]}]}");
  gh_mx_run runs[3];
  char why[256] = "";
  for (size_t i = 0; i < 3; i++)
    if (gh_mx_run_load(path, &runs[i], why, sizeof(why)) != 0)
      fail_msg("%s", why);
  gh_matrix m;
  assert_int_equal(0, gh_matrix_build(runs, 3, &m, why, sizeof(why)));
  assert_string_equal("nginx", m.titles[0]);
  assert_string_equal("nginx (wso2)", m.titles[1]);
  assert_string_equal("nginx #3", m.titles[2]);
  assert_int_equal(1, m.case_count);
  assert_int_equal(GH_FAIL, m.case_outcomes[0]);
  assert_cell(&m, "f", 0, "fail 1/3, skip 1 (no reason given)");
  /* a version that names the implementation is not prefixed with it again */
  free(runs[1].version);
  runs[1].version = strdup("NGINX/1.22.1");
  char *md = gh_matrix_markdown(&m, "x", "y");
  assert_non_null(strstr(md, "Columns: nginx = nginx (no version), nginx (wso2) = NGINX/1.22.1, "
                             "nginx #3 = nginx (no version).\n"));
  free(md);
  gh_matrix_free(&m);
  assert_int_equal(-1, gh_matrix_build(runs, 0, &m, why, sizeof(why)));
  free_runs(runs, 3);
  free(path);
}

static gh_matrix two_column_matrix(gh_mx_run runs[2]) {
  char why[256] = "";
  if (gh_mx_run_load(test_fixture_path("matrix/sim-wso2"), &runs[0], why, sizeof(why)) != 0 ||
      gh_mx_run_load(test_fixture_path("matrix/nginx"), &runs[1], why, sizeof(why)) != 0)
    fail_msg("%s", why);
  gh_matrix m;
  assert_int_equal(0, gh_matrix_build(runs, 2, &m, why, sizeof(why)));
  /* the source paths depend on the checkout: the tests below show them as "-" */
  free(runs[0].source);
  free(runs[1].source);
  runs[0].source = runs[1].source = NULL;
  return m;
}

static void test_table(void **state) {
  (void)state;
  gh_mx_run runs[2];
  gh_matrix m = two_column_matrix(runs);
  char *table = gh_matrix_table(&m);
  assert_non_null(table);
  static const char expected[] =
      "feature       sim (wso2)  nginx\n"
      "------------  ----------  ----------------------------------------------\n"
      "backend-mtls  pass        fail 1/3, skip 1 (runtime-backend-trust)\n"
      "client-mtls   pass        partial 1/2, skip 1 (deferred-reload-schedule)\n"
      "header-mode   pass        skip (header-cert-decode)\n"
      "oauth2        pass        -\n"
      "reload        pass        skip (deferred-reload-schedule)\n"
      "\n"
      "sim (wso2): sim 0.1.0, profile wso2, started 2026-11-23T16:00:00, 7 cases (-)\n"
      "nginx: nginx 1.22.1, profile wso2, started 2026-11-23T16:05:00, 7 cases (-)\n"
      "6 of 8 cases differ between the columns (matrix.json \"cases\" says how)\n";
  assert_string_equal(expected, table);
  free(table);
  gh_matrix_free(&m);
  free_runs(runs, 2);
}

static void test_markdown(void **state) {
  (void)state;
  gh_mx_run runs[2];
  gh_matrix m = two_column_matrix(runs);
  char *md = gh_matrix_markdown(&m, "gatecert matrix --readme README.md a|b", EPOCH_2030_TEXT);
  assert_non_null(md);
  static const char expected[] =
      "\n"
      "| feature | sim (wso2) | nginx |\n"
      "|---|---|---|\n"
      "| backend-mtls | pass | fail 1/3, skip 1 (runtime-backend-trust) |\n"
      "| client-mtls | pass | partial 1/2, skip 1 (deferred-reload-schedule) |\n"
      "| header-mode | pass | skip (header-cert-decode) |\n"
      "| oauth2 | pass | - |\n"
      "| reload | pass | skip (deferred-reload-schedule) |\n"
      "\n"
      "Columns: sim (wso2) = sim 0.1.0, nginx = nginx 1.22.1.\n"
      "Made by `gatecert matrix --readme README.md a\\|b` on " EPOCH_2030_TEXT ".\n"
      "\n";
  assert_string_equal(expected, md);
  free(md);
  gh_matrix_free(&m);
  free_runs(runs, 2);
}

static void test_json(void **state) {
  (void)state;
  gh_mx_run runs[RUNS];
  load_runs(runs);
  gh_matrix m;
  char why[256] = "";
  assert_int_equal(0, gh_matrix_build(runs, RUNS, &m, why, sizeof(why)));
  char *text = gh_matrix_json(&m, "gatecert matrix x", EPOCH_2030_TEXT);
  assert_non_null(text);
  json_error_t err;
  json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &err);
  if (doc == NULL)
    fail_msg("matrix.json: %s", err.text);
  assert_string_equal(EPOCH_2030_TEXT, json_string_value(json_object_get(doc, "generated")));
  assert_string_equal("gatecert matrix x", json_string_value(json_object_get(doc, "command")));
  json_t *impls = json_object_get(doc, "implementations");
  assert_int_equal(RUNS, json_array_size(impls));
  json_t *ng = json_array_get(impls, 1);
  assert_string_equal("nginx", json_string_value(json_object_get(ng, "column")));
  assert_string_equal("1.22.1", json_string_value(json_object_get(ng, "version")));
  assert_string_equal("2026-11-23T16:05:00", json_string_value(json_object_get(ng, "started")));
  assert_int_equal(7, json_integer_value(json_object_get(ng, "cases")));
  assert_string_equal("sap",
                      json_string_value(json_object_get(json_array_get(impls, 3), "profile")));

  json_t *cell =
      json_object_get(json_object_get(json_object_get(doc, "features"), "header-mode"), "haproxy");
  assert_string_equal("skip (header-cert-decode, not supported here)",
                      json_string_value(json_object_get(cell, "cell")));
  assert_int_equal(2, json_integer_value(json_object_get(cell, "skip")));
  assert_int_equal(0, json_integer_value(json_object_get(cell, "pass")));
  json_t *reasons = json_object_get(cell, "skip_reasons");
  assert_int_equal(2, json_array_size(reasons));
  assert_string_equal("not supported here", json_string_value(json_array_get(reasons, 1)));
  cell =
      json_object_get(json_object_get(json_object_get(doc, "features"), "backend-mtls"), "haproxy");
  assert_int_equal(1, json_integer_value(json_object_get(cell, "error")));

  json_t *cases = json_object_get(doc, "cases");
  assert_int_equal(9, json_object_size(cases));
  json_t *wrong = json_object_get(json_object_get(cases, "mtls wrong ca"), "outcomes");
  assert_string_equal("pass", json_string_value(json_object_get(wrong, "sim (wso2)")));
  assert_string_equal("fail", json_string_value(json_object_get(wrong, "nginx")));
  assert_string_equal("pass", json_string_value(json_object_get(wrong, "haproxy")));
  assert_true(json_is_null(json_object_get(wrong, "sim (sap)")));
  json_t *entry = json_object_get(cases, "mtls wrong ca");
  assert_true(json_is_true(json_object_get(entry, "differs")));
  assert_string_equal("backend-mtls/wrong-ca.yaml",
                      json_string_value(json_object_get(entry, "file")));
  assert_string_equal("backend-mtls",
                      json_string_value(json_array_get(json_object_get(entry, "features"), 0)));
  json_t *messages = json_object_get(entry, "messages"); /* only where it did not pass */
  assert_int_equal(1, json_object_size(messages));
  assert_string_equal("status: expected 502, got 200",
                      json_string_value(json_object_get(messages, "nginx")));
  /* a skip's message is its reason; a case alike in every column does not differ */
  messages = json_object_get(json_object_get(cases, "header b64"), "messages");
  assert_string_equal("the haproxy driver lacks capability header-cert-decode",
                      json_string_value(json_object_get(messages, "haproxy")));
  assert_true(json_is_true(json_object_get(json_object_get(cases, "header b64"), "differs")));
  json_decref(doc);
  free(text);
  gh_matrix_free(&m);
  free_runs(runs, RUNS);
}

/* ---------------------------------------------------------------------------
 * The README splice.
 * ------------------------------------------------------------------------- */

static char *splice_text(const char *readme, const char *block, char *why, size_t why_len) {
  char *out = NULL;
  size_t len = 0;
  if (gh_readme_splice(readme, strlen(readme), block, &out, &len, why, why_len) != 0)
    return NULL;
  assert_int_equal(strlen(out), len);
  return out;
}

static void test_readme_splice(void **state) {
  (void)state;
  char why[256] = "";
  char *out = splice_text("a\n<!-- matrix:begin -->\nold\nold2\n<!-- matrix:end -->\nz", "NEW\n",
                          why, sizeof(why));
  assert_non_null(out);
  assert_string_equal("a\n<!-- matrix:begin -->\nNEW\n<!-- matrix:end -->\nz", out);
  free(out);
  /* empty between the markers; CRLF lines; the rest untouched */
  out = splice_text("x\r\n<!-- matrix:begin -->\r\n<!-- matrix:end -->\r\n\ttail  \r\n", "T\n", why,
                    sizeof(why));
  assert_non_null(out);
  assert_string_equal("x\r\n<!-- matrix:begin -->\r\nT\n<!-- matrix:end -->\r\n\ttail  \r\n", out);
  free(out);
  /* the end marker as the last line, without a newline */
  out = splice_text("<!-- matrix:begin -->\n<!-- matrix:end -->", "T\n", why, sizeof(why));
  assert_string_equal("<!-- matrix:begin -->\nT\n<!-- matrix:end -->", out);
  free(out);

  /* errors: a marker missing, repeated, out of order, or not alone on its line */
  static const char *const bad[][2] = {
      {"no markers\n", "found 0 and 0"},
      {"<!-- matrix:begin -->\nx\n", "found 1 and 0"},
      {"x\n<!-- matrix:end -->\n", "found 0 and 1"},
      {"<!-- matrix:begin -->\n<!-- matrix:begin -->\n<!-- matrix:end -->\n", "found 2 and 1"},
      {"<!-- matrix:end -->\nx\n<!-- matrix:begin -->\n", "(line 1) comes before"},
      {"see <!-- matrix:begin --> here\n<!-- matrix:end -->\n", "found 0 and 1"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    why[0] = '\0';
    out = splice_text(bad[i][0], "T\n", why, sizeof(why));
    assert_null(out);
    if (strstr(why, bad[i][1]) == NULL)
      fail_msg("case %zu: expected \"%s\" in \"%s\"", i, bad[i][1], why);
  }
}

/* ---------------------------------------------------------------------------
 * The command.
 * ------------------------------------------------------------------------- */

/* Runs gh_matrix_main with stdout and stderr captured into *out / *err. */
static int run_cli(int argc, const char **argv, char **out, char **err) {
  char *out_path = test_scratch_path("cli.out"), *err_path = test_scratch_path("cli.err");
  fflush(stdout);
  fflush(stderr);
  int saved_out = dup(1), saved_err = dup(2);
  int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(saved_out >= 0 && saved_err >= 0 && fo >= 0 && fe >= 0);
  dup2(fo, 1);
  dup2(fe, 2);
  int rc = gh_matrix_main(argc, (char **)argv);
  fflush(stdout);
  fflush(stderr);
  dup2(saved_out, 1);
  dup2(saved_err, 2);
  close(saved_out);
  close(saved_err);
  close(fo);
  close(fe);
  *out = bs_slurp(out_path, NULL);
  *err = bs_slurp(err_path, NULL);
  free(out_path);
  free(err_path);
  return rc;
}

static void copy_file(const char *from, const char *to) {
  size_t len = 0;
  char *data = bs_slurp(from, &len);
  assert_non_null(data);
  FILE *f = fopen(to, "wb");
  assert_non_null(f);
  assert_int_equal(len, fwrite(data, 1, len, f));
  assert_int_equal(0, fclose(f));
  free(data);
}

static void test_command(void **state) {
  (void)state;
  setenv("SOURCE_DATE_EPOCH", EPOCH_2030, 1);
  char *json = test_scratch_path("matrix.json"), *md = test_scratch_path("matrix.md");
  char *readme = test_scratch_path("README.md");
  unlink(json);
  unlink(md);
  copy_file(test_fixture_path("matrix/readme-with-markers.md"), readme);
  chmod(readme, 0640);
  char sim[512], nginx[512];
  snprintf(sim, sizeof(sim), "%s", test_fixture_path("matrix/sim-wso2"));
  snprintf(nginx, sizeof(nginx), "%s", test_fixture_path("matrix/nginx"));
  const char *argv[] = {"matrix", "--out", json, "--markdown", md, "--readme", readme, sim, nginx};
  char *out = NULL, *err = NULL;
  int rc = run_cli(9, argv, &out, &err);
  if (rc != 0)
    fail_msg("exit %d: %s", rc, err);
  assert_string_equal("", err);
  assert_non_null(strstr(out, "feature       sim (wso2)  nginx\n"));
  assert_non_null(strstr(out, "wrote "));
  free(out);
  free(err);

  /* matrix.json */
  json_error_t jerr;
  json_t *doc = json_load_file(json, 0, &jerr);
  assert_non_null(doc);
  assert_string_equal(EPOCH_2030_TEXT, json_string_value(json_object_get(doc, "generated")));
  assert_non_null(
      strstr(json_string_value(json_object_get(doc, "command")), "gatecert matrix --out "));
  json_decref(doc);

  /* the README: markers kept, the table between them, the rest byte for byte */
  size_t before_len = 0, after_len = 0, md_len = 0;
  char *before = bs_slurp(test_fixture_path("matrix/readme-with-markers.md"), &before_len);
  char *after = bs_slurp(readme, &after_len);
  char *block = bs_slurp(md, &md_len);
  assert_non_null(before);
  assert_non_null(after);
  assert_non_null(block);
  const char *b_begin =
      strstr(before, "<!-- matrix:begin -->\n") + strlen("<!-- matrix:begin -->\n");
  const char *b_end = strstr(before, "<!-- matrix:end -->");
  size_t head = (size_t)(b_begin - before), tail = before_len - (size_t)(b_end - before);
  assert_int_equal(head + md_len + tail, after_len);
  assert_memory_equal(before, after, head);
  assert_memory_equal(block, after + head, md_len);
  assert_memory_equal(b_end, after + head + md_len, tail);
  assert_non_null(
      strstr(block, "| backend-mtls | pass | fail 1/3, skip 1 (runtime-backend-trust) |"));
  assert_non_null(strstr(block, "on " EPOCH_2030_TEXT ".\n"));
  struct stat st;
  assert_int_equal(0, stat(readme, &st));
  assert_int_equal(0640, st.st_mode & 07777); /* permissions kept */
  char *tmp = test_scratch_path("README.md.tmp");
  assert_false(exists(tmp)); /* renamed into place */
  free(tmp);

  /* a second run over the result changes nothing */
  out = err = NULL;
  rc = run_cli(9, argv, &out, &err);
  assert_int_equal(0, rc);
  size_t again_len = 0;
  char *again = bs_slurp(readme, &again_len);
  assert_int_equal(after_len, again_len);
  assert_memory_equal(after, again, after_len);
  free(again);
  free(out);
  free(err);
  free(before);
  free(after);
  free(block);
  free(json);
  free(md);
  free(readme);
  unsetenv("SOURCE_DATE_EPOCH");
}

/* Bad input: exit 2, a specific message, nothing written. */
static void assert_cli_refuses(int argc, const char **argv, const char *expected,
                               const char *must_not_exist) {
  char *out = NULL, *err = NULL;
  int rc = run_cli(argc, argv, &out, &err);
  assert_int_equal(2, rc);
  if (strstr(err, expected) == NULL)
    fail_msg("expected \"%s\" in stderr \"%s\"", expected, err);
  assert_string_equal("", out);
  if (must_not_exist != NULL)
    assert_false(exists(must_not_exist));
  free(out);
  free(err);
}

static void test_command_errors(void **state) {
  (void)state;
  char *json = test_scratch_path("refused.json");
  char *readme = test_scratch_path("no-end.md");
  unlink(json);
  copy_file(test_fixture_path("matrix/readme-no-end.md"), readme);
  size_t readme_len = 0;
  char *readme_before = bs_slurp(readme, &readme_len);
  char sim[512], garbage[512], old[512], missing[512];
  snprintf(sim, sizeof(sim), "%s", test_fixture_path("matrix/sim-wso2"));
  snprintf(garbage, sizeof(garbage), "%s", test_fixture_path("matrix/garbage.json"));
  snprintf(old, sizeof(old), "%s", test_fixture_path("matrix/old"));
  snprintf(missing, sizeof(missing), "%s", test_fixture_path("matrix/missing"));

  const char *no_runs[] = {"matrix", "--out", json};
  assert_cli_refuses(3, no_runs, "no RUN_DIR given", json);
  const char *bad_option[] = {"matrix", "--colour", sim};
  assert_cli_refuses(3, bad_option, "unknown option", json);
  const char *with_missing[] = {"matrix", "--out", json, sim, missing};
  assert_cli_refuses(5, with_missing, "cannot read", json);
  const char *with_garbage[] = {"matrix", "--out", json, sim, garbage};
  assert_cli_refuses(5, with_garbage, "not valid JSON", json);
  const char *with_old[] = {"matrix", "--out", json, old};
  assert_cli_refuses(4, with_old, "no \"cases\" array", json);
  const char *no_markers[] = {"matrix", "--out", json, "--readme", readme, sim};
  assert_cli_refuses(6, no_markers, "no-end.md: needs exactly one line", json);
  size_t after_len = 0;
  char *readme_after = bs_slurp(readme, &after_len);
  assert_int_equal(readme_len, after_len);
  assert_memory_equal(readme_before, readme_after, readme_len);
  char *missing_readme = test_scratch_path("absent/README.md");
  const char *absent[] = {"matrix", "--out", json, "--readme", missing_readme, sim};
  assert_cli_refuses(6, absent, "cannot read", json);
  setenv("SOURCE_DATE_EPOCH", "yesterday", 1);
  const char *bad_time[] = {"matrix", "--out", json, sim};
  assert_cli_refuses(4, bad_time, "SOURCE_DATE_EPOCH", json);
  unsetenv("SOURCE_DATE_EPOCH");

  /* an output that cannot be written: exit 3 */
  char *nowhere = test_scratch_path("absent/matrix.json");
  const char *unwritable[] = {"matrix", "--out", nowhere, sim};
  char *out = NULL, *err = NULL;
  assert_int_equal(3, run_cli(4, unwritable, &out, &err));
  assert_non_null(strstr(err, "cannot create"));
  free(out);
  free(err);
  free(nowhere);
  free(missing_readme);
  free(readme_before);
  free(readme_after);
  free(readme);
  free(json);
}

/* ---------------------------------------------------------------------------
 * Known failures.
 * ------------------------------------------------------------------------- */

static void test_known_parse(void **state) {
  (void)state;
  gh_known k;
  char why[256] = "";
  static const char text[] = "# comment\n"
                             "\n"
                             "   \t\n"
                             "fail expired*   checks expiry only at reload  \n"
                             "  fail \"per api [[]*\"\tone trust store per location\r\n"
                             "fail verify\\ *  one verify mode per server block\n"
                             "fail a\"b reason with \"quotes\"";
  if (gh_known_parse(text, "nginx.known", &k, why, sizeof(why)) != 0)
    fail_msg("%s", why);
  assert_int_equal(4, k.count);
  assert_string_equal("expired*", k.entries[0].glob);
  assert_string_equal("checks expiry only at reload", k.entries[0].reason);
  assert_int_equal(4, k.entries[0].line);
  assert_string_equal("per api [[]*", k.entries[1].glob);
  assert_string_equal("one trust store per location", k.entries[1].reason);
  assert_int_equal(5, k.entries[1].line);
  assert_string_equal("verify\\ *", k.entries[2].glob);
  assert_string_equal("a\"b", k.entries[3].glob);
  assert_string_equal("reason with \"quotes\"", k.entries[3].reason);

  assert_ptr_equal(&k.entries[0], gh_known_match(&k, "expired backend cert"));
  assert_ptr_equal(&k.entries[1], gh_known_match(&k, "per api [mode=strict]"));
  assert_ptr_equal(&k.entries[2], gh_known_match(&k, "verify optional"));
  assert_null(gh_known_match(&k, "verifyoptional"));
  assert_null(gh_known_match(&k, "per api x"));
  gh_known_free(&k);

  assert_int_equal(0, gh_known_parse("", "empty", &k, why, sizeof(why)));
  assert_int_equal(0, k.count);
  gh_known_free(&k);

  /* the fixture list */
  if (gh_known_load(test_fixture_path("matrix/nginx.known"), &k, why, sizeof(why)) != 0)
    fail_msg("%s", why);
  assert_int_equal(2, k.count);
  assert_string_equal("mtls wrong ca", k.entries[0].glob);
  assert_int_equal(4, k.entries[1].line);
  gh_known_free(&k);
}

static void test_known_parse_errors(void **state) {
  (void)state;
  static const char *const bad[][2] = {
      {"# ok\nxfail foo because\n", "l.known:2: unknown verb \"xfail\""},
      {"fail\n", "l.known:1: \"fail\" needs a GLOB and a reason"},
      {"fail   \n", "l.known:1: \"fail\" needs a GLOB and a reason"},
      {"\n\nfail foo*\n", "l.known:3: missing reason for \"foo*\""},
      {"fail foo*   \t \n", "l.known:1: missing reason for \"foo*\""},
      {"fail \"foo bar reason\n", "l.known:1: unterminated quote in the GLOB"},
      {"fail \"\" reason\n", "l.known:1: empty GLOB"},
      {"fail \"foo\"reason\n", "l.known:1: text right after the quoted GLOB"},
      {"fail a one\nfail b two\nfail a three\n", "l.known:3: \"a\" is already listed on line 1"},
      {"FAIL a reason\n", "unknown verb \"FAIL\""},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    gh_known k;
    char why[256] = "";
    assert_int_equal(-1, gh_known_parse(bad[i][0], "l.known", &k, why, sizeof(why)));
    if (strstr(why, bad[i][1]) == NULL)
      fail_msg("case %zu: expected \"%s\" in \"%s\"", i, bad[i][1], why);
    assert_int_equal(0, k.count);
    assert_null(k.entries);
  }
  gh_known k;
  char why[256] = "";
  assert_int_equal(-1,
                   gh_known_load(test_fixture_path("matrix/absent.known"), &k, why, sizeof(why)));
  assert_non_null(strstr(why, "cannot read"));
}

static void add(gh_run *run, const char *name, gh_outcome outcome, const char *message) {
  static const char *feature[] = {"f"};
  gh_case c = {.name = (char *)name,
               .features = (char **)feature,
               .feature_count = 1,
               .outcome = outcome,
               .message = (char *)message};
  assert_non_null(gh_run_add(run, &c));
}

static gh_known_result check(const char *list, const gh_run *run) {
  gh_known k;
  char why[256] = "";
  if (gh_known_parse(list, "gw.known", &k, why, sizeof(why)) != 0)
    fail_msg("%s", why);
  gh_known_result res;
  if (gh_known_check(&k, run, &res, why, sizeof(why)) != 0)
    fail_msg("%s", why);
  gh_known_free(&k);
  return res;
}

static void assert_has(const char *summary, const char *expected) {
  if (strstr(summary, expected) == NULL)
    fail_msg("expected \"%s\" in the summary:\n%s", expected, summary);
}

static void test_known_check(void **state) {
  (void)state;
  gh_run run = {.implementation = "nginx"};
  add(&run, "expired backend cert", GH_FAIL, "status: expected 502, got 200\nsecond line");
  add(&run, "wrong ca", GH_FAIL, "status: expected 502, got 200");
  add(&run, "verify optional", GH_PASS, NULL);
  add(&run, "verify required", GH_SKIP, "the nginx driver lacks capability x");
  add(&run, "driver broke", GH_ERROR, "nginx -t refused the configuration");

  /* everything listed that fails, nothing else: only the error is unexpected */
  gh_known_result res =
      check("fail expired* checks expiry at reload\nfail \"wrong ca\" shares sessions\n"
            "fail driver* listed, but errors are never excused\n",
            &run);
  assert_int_equal(2, res.known);
  assert_int_equal(1, res.unexpected);
  assert_int_equal(1, res.stale); /* driver* matched only an error */
  assert_false(res.ok);
  assert_has(res.summary, "known failures (gw.known, 3 entries): 2 known, 1 unexpected, 1 stale: "
                          "FAILED\n");
  assert_has(res.summary, "  known       expired backend cert  (gw.known:1: checks expiry at "
                          "reload)\n");
  assert_has(res.summary, "  unexpected  error driver broke: nginx -t refused the configuration "
                          "(listed, but an error is a harness or driver fault, never excused)\n");
  assert_has(res.summary, "gw.known:3: \"driver*\" matched no failed case (it matched 0 passed, "
                          "1 errors, 0 skipped");
  gh_known_result_free(&res);

  /* an unlisted failure; stale entries: one passed, one skipped, one never ran */
  res = check("fail expired* reason\nfail verify* now conforms?\nfail gone* removed case\n", &run);
  assert_int_equal(1, res.known);
  assert_int_equal(2, res.unexpected); /* wrong ca, driver broke */
  assert_int_equal(2, res.stale);
  assert_has(res.summary, "  unexpected  fail  wrong ca: status: expected 502, got 200\n");
  assert_has(res.summary, "\"verify*\" matched no failed case (it matched 1 passed, 0 errors, 1 "
                          "skipped: the gateway may conform now)");
  assert_has(res.summary, "\"gone*\" matched no failed case (no case of that name ran");
  gh_known_result_free(&res);

  /* only the message's first line goes into the summary */
  res = check("", &run);
  assert_int_equal(0, res.known);
  assert_int_equal(3, res.unexpected);
  assert_int_equal(0, res.stale);
  assert_has(res.summary, "expired backend cert: status: expected 502, got 200\n");
  assert_null(strstr(res.summary, "second line"));
  gh_known_result_free(&res);
  gh_run_free(&run);

  /* a run whose failures are all listed passes the check */
  add(&run, "expired backend cert", GH_FAIL, "x");
  add(&run, "fine", GH_PASS, NULL);
  res = check("fail expired* reason\n", &run);
  assert_true(res.ok);
  assert_int_equal(1, res.known);
  assert_has(res.summary, ": 1 known, 0 unexpected, 0 stale: OK\n");
  gh_known_result_free(&res);
  /* no list: every failure is unexpected */
  char why[128] = "";
  assert_int_equal(0, gh_known_check(NULL, &run, &res, why, sizeof(why)));
  assert_int_equal(1, res.unexpected);
  assert_false(res.ok);
  gh_known_result_free(&res);
  gh_run_free(&run);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_load),         cmocka_unit_test(test_load_errors),
      cmocka_unit_test(test_load_filters), cmocka_unit_test(test_skip_capability),
      cmocka_unit_test(test_na_rule),      cmocka_unit_test(test_not_applicable),
      cmocka_unit_test(test_cells),        cmocka_unit_test(test_titles_and_repeats),
      cmocka_unit_test(test_table),        cmocka_unit_test(test_markdown),
      cmocka_unit_test(test_json),         cmocka_unit_test(test_readme_splice),
      cmocka_unit_test(test_command),      cmocka_unit_test(test_command_errors),
      cmocka_unit_test(test_known_parse),  cmocka_unit_test(test_known_parse_errors),
      cmocka_unit_test(test_known_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
