/* test_shard.c - `gatecert run --shard K/N` (harness/shard.h) and `gatecert
 * merge` (harness/merge.h), without running a gateway.
 *
 * The partition: K/N parsing (each refusal named), shard numbers fixed by
 * SHA-256 (expected values computed with sha256sum and bc, not OpenSSL), the
 * same split whatever the order of the input and whatever else is selected,
 * every case in exactly one shard, and with timings the longest-first packing
 * (exact loads of a textbook example, a long case alone in its shard, unknown
 * cases by the hash). Timings read from a conformance.json, a junit.xml and a
 * run directory written by report.c, and the refusals of garbage.
 *
 * The merge: three shards of a hand-made run (pass, fail with detail and log
 * tail, error, skip, not applicable, two features) written by report.c are
 * merged and compared with the same run written whole (gh_merge_compare: same
 * verdicts; junit.xml counts and the failure's log tail kept, both JUnit
 * schemas); a changed verdict is found; and every refusal - a case in two
 * shards, a shard missing or given twice, shards of different N, a mix of
 * shards and whole runs, garbage conformance.json or junit.xml, a junit.xml
 * that disagrees with its conformance.json, not a directory - with its message
 * and nothing written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "merge.h"
#include "report.h"
#include "shard.h"
#include "backend_support.h"
#include "support.h"

static void spit(const char *path, const char *text) { test_write(path, text, strlen(text)); }

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* ---- parsing K/N ---- */

static void test_parse(void **state) {
  (void)state;
  static const struct {
    const char *label, *text;
    int ok;
    unsigned k, n;
  } rows[] = {
      {"first of three", "1/3", 1, 1, 3},
      {"last of three", "3/3", 1, 3, 3},
      {"one of one", "1/1", 1, 1, 1},
      {"a thousand", "1000/1000", 1, 1000, 1000},
      {"K zero", "0/3", 0, 0, 0},
      {"K past N", "4/3", 0, 0, 0},
      {"N zero", "1/0", 0, 0, 0},
      {"N too big", "1/1001", 0, 0, 0},
      {"letters", "a/b", 0, 0, 0},
      {"no slash", "3", 0, 0, 0},
      {"trailing junk", "1/3x", 0, 0, 0},
      {"negative", "-1/3", 0, 0, 0},
      {"empty", "", 0, 0, 0},
      {"leading space", " 1/3", 0, 0, 0},
      {"empty N", "1/", 0, 0, 0},
      {"sign in N", "1/+3", 0, 0, 0},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    gh_shard s = {0};
    char why[256] = "";
    int rc = gh_shard_parse(rows[i].text, &s, why, sizeof(why));
    if (rows[i].ok) {
      if (rc != 0 || s.index != rows[i].k || s.total != rows[i].n)
        fail_msg("%s: \"%s\" gave rc %d %u/%u (%s)", rows[i].label, rows[i].text, rc, s.index,
                 s.total, why);
    } else if (rc == 0 || strstr(why, "K/N with 1 <= K <= N") == NULL) {
      fail_msg("%s: \"%s\" accepted or unclear message: %s", rows[i].label, rows[i].text, why);
    }
  }
}

/* ---- the partition ---- */

static void test_hash_values(void **state) {
  (void)state;
  /* 1 + (first 8 bytes of `printf %s NAME | sha256sum`) mod N, by bc */
  static const struct {
    const char *name;
    unsigned n, shard;
  } rows[] = {
      {"alpha", 3, 3},  {"alpha", 7, 1},  {"beta", 3, 1},  {"beta", 7, 4},
      {"x[a=1]", 3, 1}, {"x[a=1]", 7, 3}, {"alpha", 1, 1},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
    if (gh_shard_by_hash(rows[i].name, rows[i].n) != rows[i].shard)
      fail_msg("%s of %u: shard %u, expected %u", rows[i].name, rows[i].n,
               gh_shard_by_hash(rows[i].name, rows[i].n), rows[i].shard);
}

#define NAMES 200

static void make_names(char names[NAMES][48], const char *v[NAMES]) {
  for (int i = 0; i < NAMES; i++) {
    snprintf(names[i], 48, "feature-%d/case-%03d[x=%d]", i % 5, i, i * 7);
    v[i] = names[i];
  }
}

static unsigned shard_of(const char *const *v, const unsigned *out, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i], name) == 0)
      return out[i];
  fail_msg("%s not found", name);
  return 0;
}

static void test_partition(void **state) {
  (void)state;
  static char names[NAMES][48];
  const char *v[NAMES], *rev[NAMES], *half[NAMES / 2];
  make_names(names, v);
  for (int i = 0; i < NAMES; i++)
    rev[i] = v[NAMES - 1 - i];
  for (int i = 0; i < NAMES / 2; i++)
    half[i] = v[2 * i + 1];
  static const unsigned totals[] = {1, 2, 3, 7, 50};
  for (size_t t = 0; t < sizeof(totals) / sizeof(totals[0]); t++) {
    unsigned n = totals[t], out[NAMES], out_rev[NAMES], out_half[NAMES / 2];
    unsigned count[51] = {0};
    char why[128];
    assert_int_equal(gh_shard_assign(v, NAMES, n, NULL, out, why, sizeof(why)), 0);
    assert_int_equal(gh_shard_assign(rev, NAMES, n, NULL, out_rev, why, sizeof(why)), 0);
    assert_int_equal(gh_shard_assign(half, NAMES / 2, n, NULL, out_half, why, sizeof(why)), 0);
    for (int i = 0; i < NAMES; i++) {
      if (out[i] < 1 || out[i] > n) /* in exactly one shard of 1..N */
        fail_msg("N=%u: %s in shard %u", n, v[i], out[i]);
      count[out[i]]++;
      if (shard_of(rev, out_rev, NAMES, v[i]) != out[i]) /* order does not matter */
        fail_msg("N=%u: %s moved when the input was reversed", n, v[i]);
    }
    for (int i = 0; i < NAMES / 2; i++) /* nor what else is selected */
      if (shard_of(v, out, NAMES, half[i]) != out_half[i])
        fail_msg("N=%u: %s moved when half the cases were selected", n, half[i]);
    for (unsigned k = 1; n > 1 && n <= 7 && k <= n; k++) /* the hash spreads: no empty shard */
      if (count[k] < NAMES / n / 2)
        fail_msg("N=%u: shard %u has %u of %d cases", n, k, count[k], NAMES);
  }
}

static gh_shard_timings timings_of(const char *const *names, const double *secs, size_t n) {
  gh_shard_timings t = {.names = calloc(n, sizeof(char *)), .seconds = calloc(n, sizeof(double))};
  assert_non_null(t.names);
  for (size_t i = 0; i < n; i++) { /* sorted, as the loader keeps them */
    size_t at = t.count;
    while (at > 0 && strcmp(t.names[at - 1], names[i]) > 0) {
      t.names[at] = t.names[at - 1];
      t.seconds[at] = t.seconds[at - 1];
      at--;
    }
    t.names[at] = strdup(names[i]);
    t.seconds[at] = secs[i];
    t.count++;
  }
  return t;
}

static void test_partition_timings(void **state) {
  (void)state;
  char why[128];
  /* LPT on 10..1 into 3: 10 9 8 | 7->C 6->B 5->A | 4->A 3->B 2->C 1->C = 19 18 18 */
  const char *names[] = {"j", "i", "h", "g", "f", "e", "d", "c", "b", "a"};
  const double secs[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  gh_shard_timings t = timings_of(names, secs, 10);
  unsigned out[10];
  assert_int_equal(gh_shard_assign(names, 10, 3, &t, out, why, sizeof(why)), 0);
  double load[4] = {0};
  for (int i = 0; i < 10; i++)
    load[out[i]] += secs[i];
  if (load[1] != 19 || load[2] != 18 || load[3] != 18)
    fail_msg("loads %g %g %g, expected 19 18 18", load[1], load[2], load[3]);
  const char *shuffled[] = {"c", "j", "a", "h", "e", "b", "g", "d", "i", "f"};
  unsigned out2[10];
  assert_int_equal(gh_shard_assign(shuffled, 10, 3, &t, out2, why, sizeof(why)), 0);
  for (int i = 0; i < 10; i++)
    assert_int_equal(shard_of(shuffled, out2, 10, names[i]), out[i]);
  gh_shard_timings_free(&t);

  /* one long case gets a shard of its own; the short ones share the others */
  const char *skew[] = {"long", "s1", "s2", "s3", "s4", "s5", "s6"};
  const double skew_secs[] = {100, 1, 1, 1, 1, 1, 1};
  t = timings_of(skew, skew_secs, 7);
  unsigned out3[7];
  assert_int_equal(gh_shard_assign(skew, 7, 3, &t, out3, why, sizeof(why)), 0);
  for (int i = 1; i < 7; i++)
    if (out3[i] == out3[0])
      fail_msg("%s shares the long case's shard %u", skew[i], out3[0]);

  /* cases the timings do not know go by the hash */
  const char *mixed[] = {"long", "s1", "alpha", "beta"};
  unsigned out4[4];
  assert_int_equal(gh_shard_assign(mixed, 4, 3, &t, out4, why, sizeof(why)), 0);
  assert_int_equal(out4[2], 3); /* alpha of 3 (test_hash_values) */
  assert_int_equal(out4[3], 1); /* beta of 3 */
  gh_shard_timings_free(&t);
}

/* ---- reports made by report.c ---- */

typedef struct hand_case {
  const char *name, *feature;
  gh_outcome outcome;
  int na;
  double seconds;
} hand_case;

static const hand_case hand[] = {
    {"reload-a", "reload", GH_PASS, 0, 1.5}, {"reload-b[interval=60]", "reload", GH_FAIL, 0, 2.25},
    {"reload-c", "reload", GH_SKIP, 0, 0.1}, {"mtls-a", "mtls", GH_PASS, 0, 0.75},
    {"mtls-b", "mtls", GH_ERROR, 0, 3},      {"mtls-c", "mtls", GH_SKIP, 1, 0},
    {"mtls-d", "mtls", GH_PASS, 0, 0.5},
};
#define HAND (sizeof(hand) / sizeof(hand[0]))

/* Writes the cases of hand whose bit is set in mask into dir, as shard k of
 * n (k 0: a whole run). changed: a case whose verdict is turned to pass. */
static void write_run(const char *dir, unsigned mask, unsigned k, unsigned n, const char *changed) {
  mkdir(dir, 0755);
  gh_run run = {.implementation = "sim",
                .implementation_version = "0.1.0",
                .profile = "wso2-4",
                .product = "WSO2 API Manager 4.x",
                .harness_version = "0.1.0",
                .fake_epoch = "2030-01-01T00:00:00Z",
                .started = "2026-12-07T15:00:00",
                .hostname = "runner",
                .seconds = 4,
                .shard_index = k,
                .shard_total = n};
  for (size_t i = 0; i < HAND; i++) {
    if (!(mask & (1u << i)))
      continue;
    char *features[] = {(char *)hand[i].feature};
    char file[128];
    snprintf(file, sizeof(file), "%s/%s.yaml", hand[i].feature, hand[i].name);
    int flip = changed != NULL && strcmp(changed, hand[i].name) == 0;
    gh_case c = {.name = (char *)hand[i].name,
                 .file = file,
                 .features = features,
                 .feature_count = 1,
                 .profile = "wso2-4",
                 .outcome = flip ? GH_PASS : hand[i].outcome,
                 .not_applicable = hand[i].na,
                 .message = hand[i].outcome == GH_PASS ? NULL : "the reason",
                 .detail = "expected 200, got 401",
                 .log_tail = "LOG-TAIL-OF-THE-GATEWAY",
                 .reproduce = "gatecert run --case x",
                 .seconds = hand[i].seconds,
                 .fake_ms = 600000};
    assert_non_null(gh_run_add(&run, &c));
  }
  char path[1024], why[512];
  snprintf(path, sizeof(path), "%s/junit.xml", dir);
  if (gh_junit_write(&run, path, why, sizeof(why)) != 0)
    fail_msg("%s", why);
  snprintf(path, sizeof(path), "%s/conformance.json", dir);
  if (gh_conformance_write(&run, path, why, sizeof(why)) != 0)
    fail_msg("%s", why);
  run.implementation = run.implementation_version = run.profile = run.product = NULL;
  run.harness_version = run.fake_epoch = run.started = run.hostname = NULL;
  gh_run_free(&run);
}

static char *scratch(const char *name) {
  char *p = test_scratch_path(name);
  assert_non_null(p);
  return p;
}

static void test_timings_load(void **state) {
  (void)state;
  char *dir = scratch("timings-run");
  write_run(dir, 0x7f, 0, 0, NULL);
  char conf[1024], junit[1024];
  snprintf(conf, sizeof(conf), "%s/conformance.json", dir);
  snprintf(junit, sizeof(junit), "%s/junit.xml", dir);
  const char *sources[] = {conf, junit, dir};
  for (size_t s = 0; s < 3; s++) {
    gh_shard_timings t;
    char why[512];
    if (gh_shard_timings_load(sources[s], &t, why, sizeof(why)) != 0)
      fail_msg("%s: %s", sources[s], why);
    assert_int_equal(t.count, HAND);
    for (size_t i = 0; i < HAND; i++)
      if (gh_shard_timings_get(&t, hand[i].name) != hand[i].seconds)
        fail_msg("%s: %s has %g s, expected %g", sources[s], hand[i].name,
                 gh_shard_timings_get(&t, hand[i].name), hand[i].seconds);
    assert_true(gh_shard_timings_get(&t, "no-such-case") < 0);
    gh_shard_timings_free(&t);
  }
  static const struct {
    const char *label, *text, *message;
  } bad[] = {
      {"broken JSON", "{\"cases\": [", "not valid JSON"},
      {"JSON of something else", "{\"a\": 1}", "implementation"},
      {"broken XML", "<testsuites><testcase name=\"x\"", "not well-formed XML"},
      {"XML of something else", "<html><body/></html>", "not a JUnit report"},
      {"JUnit without cases", "<testsuites><testsuite name=\"f\"/></testsuites>", "lists no case"},
      {"neither", "hello", "neither a conformance.json nor a junit.xml"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char *path = scratch("bad-timings");
    spit(path, bad[i].text);
    gh_shard_timings t;
    char why[512] = "";
    if (gh_shard_timings_load(path, &t, why, sizeof(why)) == 0 ||
        strstr(why, bad[i].message) == NULL)
      fail_msg("%s: expected \"%s\", got \"%s\"", bad[i].label, bad[i].message, why);
    free(path);
  }
  gh_shard_timings t;
  char why[512] = "";
  assert_int_not_equal(gh_shard_timings_load("/nonexistent/timings.json", &t, why, sizeof(why)), 0);
  assert_non_null(strstr(why, "cannot read /nonexistent/timings.json"));
  free(dir);
}

/* ---- merge ---- */

static void test_merge(void **state) {
  (void)state;
  char *whole = scratch("merge-whole"), *s1 = scratch("merge-s1"), *s2 = scratch("merge-s2"),
       *s3 = scratch("merge-s3"), *out = scratch("merge-out"), *other = scratch("merge-other");
  write_run(whole, 0x7f, 0, 0, NULL);
  write_run(s1, 0x05, 1, 3, NULL);   /* reload-a, reload-c */
  write_run(s2, 0x32, 2, 3, NULL);   /* reload-b, mtls-b, mtls-c */
  write_run(s3, 0x48, 3, 3, NULL);   /* mtls-a, mtls-d */
  const char *dirs[] = {s3, s1, s2}; /* any order */
  size_t cases = 0;
  char why[1024] = "";
  if (gh_merge(dirs, 3, out, &cases, why, sizeof(why)) != 0)
    fail_msg("merge: %s", why);
  assert_int_equal(cases, HAND);
  gu_text diff = {0};
  int rc = gh_merge_compare(out, whole, &diff, why, sizeof(why));
  if (rc != 0)
    fail_msg("merged vs whole: rc %d: %s%s", rc, why, diff.data ? diff.data : "");
  gu_text_free(&diff);

  char path[1024];
  snprintf(path, sizeof(path), "%s/junit.xml", out);
  char *xml = bs_slurp(path, NULL);
  assert_non_null(xml);
  assert_non_null(strstr(xml, "LOG-TAIL-OF-THE-GATEWAY")); /* the failure body, copied */
  assert_non_null(strstr(xml, "<property name=\"merged_shards\" value=\"3\"/>"));
  assert_null(strstr(xml, "name=\"shard\""));
  assert_non_null(strstr(xml, "name=\"mtls\" package=\"wso2-4\" id=\"0\""));
  assert_non_null(
      strstr(xml, "tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\"3.850\""));
  assert_non_null(
      strstr(xml, "tests=\"4\" failures=\"0\" errors=\"1\" skipped=\"1\" time=\"4.250\""));
  free(xml);
  const char *schemas[] = {"junit-ant-windyroad.xsd", "junit-10-jenkins.xsd"};
  for (size_t i = 0; i < 2; i++) {
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "xmllint --noout --schema '%s/%s' '%s' 2>/dev/null",
             getenv("GATECERT_SCHEMAS"), schemas[i], path);
    if (system(cmd) != 0) // NOLINT(cert-env33-c): xmllint, as test_report does
      fail_msg("%s does not validate against %s", path, schemas[i]);
  }
  snprintf(path, sizeof(path), "%s/conformance.json", out);
  char *json = bs_slurp(path, NULL);
  assert_non_null(strstr(json, "\"merged_shards\": 3"));
  assert_non_null(strstr(json, "\"detail\": \"expected 200, got 401\""));
  free(json);
  snprintf(path, sizeof(path), "%s/index.html", out); /* the merged page: every case */
  char *html = bs_slurp(path, NULL);
  assert_non_null(html);
  for (size_t i = 0; i < HAND; i++)
    if (strstr(html, hand[i].name) == NULL)
      fail_msg("index.html does not show %s", hand[i].name);
  free(html);

  /* a different verdict is found, and named */
  write_run(other, 0x7f, 0, 0, "mtls-b");
  gu_text d2 = {0};
  assert_int_equal(gh_merge_compare(out, other, &d2, why, sizeof(why)), 1);
  assert_non_null(strstr(d2.data, "case \"mtls-b\": error in"));
  assert_non_null(strstr(d2.data, "statistics \"error\": 1 vs 0"));
  gu_text_free(&d2);
  free(whole);
  free(s1);
  free(s2);
  free(s3);
  free(out);
  free(other);
}

static void test_merge_errors(void **state) {
  (void)state;
  char *s1 = scratch("err-s1"), *s2 = scratch("err-s2"), *s3 = scratch("err-s3");
  char *dup = scratch("err-dup"), *n2 = scratch("err-n2"), *whole = scratch("err-whole");
  char *badjson = scratch("err-badjson"), *badxml = scratch("err-badxml");
  char *disagree = scratch("err-disagree"), *file = scratch("err-file");
  write_run(s1, 0x05, 1, 3, NULL);
  write_run(s2, 0x32, 2, 3, NULL);
  write_run(s3, 0x48, 3, 3, NULL);
  write_run(dup, 0x33, 2, 3, NULL); /* reload-a again */
  write_run(n2, 0x32, 2, 2, NULL);
  write_run(whole, 0x7f, 0, 0, NULL);
  write_run(badjson, 0x32, 2, 3, NULL);
  write_run(badxml, 0x32, 2, 3, NULL);
  write_run(disagree, 0x32, 2, 3, NULL);
  char path[1024];
  snprintf(path, sizeof(path), "%s/conformance.json", badjson);
  spit(path, "{\"implementation\": {\"name\": \"sim\"}, \"cases\": [");
  snprintf(path, sizeof(path), "%s/junit.xml", badxml);
  spit(path, "<testsuites><testsuite name=\"x\">");
  snprintf(path, sizeof(path), "%s/junit.xml", disagree); /* mtls-c's testcase gone */
  char *xml = bs_slurp(path, NULL);
  char *tc = strstr(xml, "<testcase name=\"mtls-c\"");
  assert_non_null(tc);
  memset(tc + strlen("<testcase name=\""), 'z', 4); /* mtls-c becomes zzzz-c */
  spit(path, xml);
  free(xml);
  spit(file, "not a directory");
  static const struct {
    const char *label;
    int dirs[4]; /* indexes into the table below, -1 ends */
    const char *message;
  } rows[] = {
      {"a case in two shards", {0, 3, 2, -1}, "case \"reload-a\" is in two reports"},
      {"one shard missing", {0, 2, -1}, "missing shard 2/3 (the reports say 3 shards, 2 given)"},
      {"two shards missing", {2, -1}, "missing shards 1/3, 2/3"},
      {"a shard twice", {0, 1, 1, 2}, "shard 2/3 is given twice"},
      {"shards of different N", {0, 4, 2, -1}, "is shard 2/2: not one run"},
      {"a whole run among shards", {0, 1, 2, 5}, "is not a shard"},
      {"garbage conformance.json", {0, 6, 2, -1}, "conformance.json: not valid JSON"},
      {"garbage junit.xml", {0, 7, 2, -1}, "junit.xml: not well-formed XML"},
      {"junit.xml disagrees", {0, 8, 2, -1}, "junit.xml has case \"zzzz-c\" that its"},
      {"not a directory", {9, -1}, "not a directory"},
      {"no such directory", {10, -1}, "No such file or directory"},
  };
  const char *table[] = {
      s1, s2, s3, dup, n2, whole, badjson, badxml, disagree, file, "/nonexistent/shard"};
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    const char *dirs[4];
    size_t n = 0;
    while (n < 4 && rows[i].dirs[n] >= 0) {
      dirs[n] = table[rows[i].dirs[n]];
      n++;
    }
    char *out = scratch("err-out");
    char why[1024] = "";
    int rc = gh_merge(dirs, n, out, NULL, why, sizeof(why));
    if (rc != -1 || strstr(why, rows[i].message) == NULL)
      fail_msg("%s: rc %d, expected \"%s\", got \"%s\"", rows[i].label, rc, rows[i].message, why);
    if (exists(out))
      fail_msg("%s: %s was made", rows[i].label, out);
    free(out);
  }
  free(s1);
  free(s2);
  free(s3);
  free(dup);
  free(n2);
  free(whole);
  free(badjson);
  free(badxml);
  free(disagree);
  free(file);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),        cmocka_unit_test(test_hash_values),
      cmocka_unit_test(test_partition),    cmocka_unit_test(test_partition_timings),
      cmocka_unit_test(test_timings_load), cmocka_unit_test(test_merge),
      cmocka_unit_test(test_merge_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
