/* test_report_html.c - the HTML report and matrix.html (harness/report_html.h)
 * on a synthetic run, no browser.
 *
 * The run: a failed reload case whose name is "<script>alert(1)</script>" and
 * whose timeline has the reload bug's shape (a call at 599 s that did not
 * hold, the sender's tick at 600 s, a call at 601 s that did), a passed case
 * on another profile, a case not applicable, a skipped one and an errored one
 * in a second feature, secrets in a detail, a log line and a log tail. The
 * page is parsed back with libxml2's HTML parser and checked with XPath, one
 * table row per expectation (the counts, the marks, the texts); then its bytes
 * are searched for the secrets and for an unescaped "<script". matrix.html:
 * its cells, their links and results.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "report.h"
#include "report_html.h"

static const char *const SECRETS[] = {"hunter2", "s3cr3t-Token-XYZ", NULL};
static const char *const reload[] = {"reload", "backend-trust"};
static const char *const trust[] = {"client-mtls"};

static gh_event bug_events[] = {
    {.at_ms = 0,
     .kind = GH_EV_CHANGE,
     .ok = 1,
     .label = "step 1 (line 20) upload_endpoint_cert echo"},
    {.at_ms = 599000, .kind = GH_EV_CLOCK, .ok = 1, .label = "step 2 (line 22) advance_to"},
    {.at_ms = 599000,
     .kind = GH_EV_CALL,
     .ok = 0,
     .label = "step 3 (line 24) call test /x: got 500"},
    {.at_ms = 601000, .kind = GH_EV_CLOCK, .ok = 1, .label = "step 4 (line 26) advance_to"},
    {.at_ms = 601000, .kind = GH_EV_CALL, .ok = 1, .label = "step 5 (line 28) call test /x"},
    {.at_ms = 600000, .kind = GH_EV_TICK, .ok = 1, .clock = "sender", .label = "sender tick"},
    {.at_ms = 1200000, .kind = GH_EV_TICK, .ok = 1, .clock = "sender", .label = "sender tick"},
    {.at_ms = 300000, .kind = GH_EV_TICK, .ok = 1, .clock = "truststore", .label = "truststore"},
    {.at_ms = 600000,
     .kind = GH_EV_LOG,
     .ok = 1,
     .label = "2030-01-01T00:10:00.000Z INFO  <b>reload</b> token hunter2 generation 2"},
};

static gh_run synthetic_run(void) {
  gh_run run = {.implementation = "sim",
                .profile = "mixed",
                .harness_version = "9.9",
                .fake_epoch = "2030-01-01T00:00:00Z",
                .started = "2026-12-07T10:00:00",
                .hostname = "ci",
                .secrets = SECRETS};
  const gh_case cases[] = {
      {.name = "<script>alert(1)</script>",
       .file = "reload/upload-around-tick.yaml",
       .features = (char **)reload,
       .feature_count = 2,
       .profile = "wso2-4",
       .outcome = GH_FAIL,
       .message = "step 3 (line 24) call test /x: expected status 200, got 500",
       .detail = "expected: 200\nseen: 500 (Authorization: Bearer s3cr3t-Token-XYZ)",
       .log_tail = "password=hunter2 & <tail>",
       .reproduce = "gatecert run --case '<script>alert(1)</script>' --keep",
       .fake_ms = 1201000,
       .events = bug_events,
       .event_count = sizeof(bug_events) / sizeof(bug_events[0])},
      {.name = "ok-case",
       .file = "reload/ok.yaml",
       .features = (char **)reload,
       .feature_count = 1,
       .profile = "sap",
       .outcome = GH_PASS,
       .reproduce = "gatecert run --case ok-case"},
      {.name = "na-case",
       .file = "client-mtls/na.yaml",
       .features = (char **)trust,
       .feature_count = 1,
       .profile = "wso2-4",
       .outcome = GH_SKIP,
       .not_applicable = 1,
       .message = "not applicable to wso2-4 (rule x)",
       .reproduce = "r"},
      {.name = "skip-case",
       .file = "client-mtls/skip.yaml",
       .features = (char **)trust,
       .feature_count = 1,
       .profile = "wso2-4",
       .outcome = GH_SKIP,
       .message = "the nginx driver lacks capability fake-clock",
       .reproduce = "r"},
      {.name = "error-case",
       .file = "client-mtls/err.yaml",
       .features = (char **)trust,
       .feature_count = 1,
       .profile = "wso2-4",
       .outcome = GH_ERROR,
       .message = "setting up: no port",
       .detail = "setting up: no port",
       .reproduce = "r"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    assert_non_null(gh_run_add(&run, &cases[i]));
  return run;
}

/* An XPath expression and the number it must evaluate to. */
typedef struct xrow {
  const char *name;
  const char *xpath;
  double want;
} xrow;

static const xrow page_rows[] = {
    {"total passed", "number(//tr[@id='total']/td[@data-outcome='pass']/@data-count)", 1},
    {"total failed", "number(//tr[@id='total']/td[@data-outcome='fail']/@data-count)", 1},
    {"total errors", "number(//tr[@id='total']/td[@data-outcome='error']/@data-count)", 1},
    {"total skipped", "number(//tr[@id='total']/td[@data-outcome='skip']/@data-count)", 1},
    {"total n/a", "number(//tr[@id='total']/td[@data-outcome='na']/@data-count)", 1},
    {"feature rows", "count(//table[@id='summary']/tr[@class='feature'])", 3},
    {"reload wso2-4 failed",
     "number(//tr[@data-feature='reload' and @data-profile='wso2-4']/td[@data-outcome='fail']/"
     "@data-count)",
     1},
    {"reload sap passed",
     "number(//tr[@data-feature='reload' and @data-profile='sap']/td[@data-outcome='pass']/"
     "@data-count)",
     1},
    {"client-mtls errors",
     "number(//tr[@data-feature='client-mtls']/td[@data-outcome='error']/@data-count)", 1},
    {"five cases", "count(//details[@class='case'])", 5},
    {"failures listed", "count(//ul[@id='failures']/li/a[@href='#case-1' or @href='#case-5'])", 2},
    {"no script element", "count(//script)", 0},
    {"name is text", "count(//details[@data-name='<script>alert(1)</script>'])", 1},
    {"name shown", "count(//summary/span[contains(., '<script>alert(1)</script>')])", 1},
    {"failed case open", "count(//details[@id='case-1' and @open])", 1},
    {"small run: passed case open too", "count(//details[@id='case-2' and @open])", 1},
    {"two call marks", "count(//details[@id='case-1']//g[@data-kind='call'])", 2},
    {"red call at 599 s",
     "count(//g[@data-kind='call' and @data-at-ms='599000' and @data-ok='0']/"
     "circle[@fill='#cf222e'])",
     1},
    {"green call at 601 s",
     "count(//g[@data-kind='call' and @data-at-ms='601000' and @data-ok='1']/"
     "circle[@fill='#1a7f37'])",
     1},
    {"sender ticks", "count(//g[@data-kind='tick' and @data-clock='sender'])", 2},
    {"sender tick at 600 s", "count(//g[@data-kind='tick' and @data-at-ms='600000'])", 1},
    {"truststore ticks", "count(//g[@data-kind='tick' and @data-clock='truststore'])", 1},
    {"clock steps", "count(//g[@data-kind='clock'])", 2},
    {"log marks", "count(//g[@data-kind='log'])", 1},
    /* ordinal axis: 0, 300, 599, 600, 601, 1200 s - six columns, in order */
    {"axis labels", "count(//svg[@class='timeline']/text[starts-with(., '+')])", 6},
    {"tick between the calls",
     "count(//g[@data-kind='tick' and @data-at-ms='600000']/line[@x1 > "
     "//g[@data-at-ms='599000' and @data-kind='call']/circle/@cx and @x1 < "
     "//g[@data-at-ms='601000' and @data-kind='call']/circle/@cx])",
     1},
    {"log line text", "count(//ul[@class='reload-log']/li[contains(., '<b>reload</b>')])", 1},
    {"skip reason", "count(//details[@data-name='skip-case']//dd[@class='message'])", 1},
    {"reproduce", "count(//pre[@class='reproduce'])", 5},
    {"detail", "count(//details[@id='case-1']//pre[@class='detail' and contains(., 'seen: 500')])",
     1},
    {"scenario file", "count(//dd[.='reload/upload-around-tick.yaml'])", 1},
    {"redacted", "count(//*[contains(., 'hunter2') or contains(., 's3cr3t-Token-XYZ')])", 0},
    {"no external resource", "count(//*[@src] | //link)", 0},
};

static double xpath_number(xmlDocPtr doc, const char *expr) {
  xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
  assert_non_null(ctx);
  xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
  assert_non_null(o);
  double v = xmlXPathCastToNumber(o);
  xmlXPathFreeObject(o);
  xmlXPathFreeContext(ctx);
  return v;
}

static void test_page(void **state) {
  (void)state;
  gh_run run = synthetic_run();
  char why[256] = "";
  size_t len = 0;
  char *page = gh_report_html_render(&run, &len, why, sizeof(why));
  assert_non_null(page);
  assert_int_equal(strlen(page), len);
  assert_null(strstr(page, "<script"));
  assert_non_null(strstr(page, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  for (size_t i = 0; SECRETS[i]; i++)
    assert_null(strstr(page, SECRETS[i]));
  /* nothing loaded from elsewhere (the svg namespace URI is a name, not a fetch) */
  const char *remote[] = {"src=", "<link", "url(", "@import", "href=\"http"};
  for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
    assert_null(strstr(page, remote[i]));
  htmlDocPtr doc = htmlReadMemory(page, (int)len, "index.html", "utf-8",
                                  HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
  assert_non_null(doc);
  int bad = 0;
  for (size_t i = 0; i < sizeof(page_rows) / sizeof(page_rows[0]); i++) {
    double got = xpath_number(doc, page_rows[i].xpath);
    if (got != page_rows[i].want) {
      print_error("%s: %s = %g, want %g\n", page_rows[i].name, page_rows[i].xpath, got,
                  page_rows[i].want);
      bad++;
    }
  }
  xmlFreeDoc(doc);
  free(page);
  /* the file: written atomically where asked */
  char path[512];
  snprintf(path, sizeof(path), "%s/index.html", test_scratch_dir());
  assert_int_equal(gh_report_html_write(&run, path, why, sizeof(why)), 0);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  fclose(f);
  gh_run_free(&run);
  assert_int_equal(bad, 0);
}

static void test_matrix_page(void **state) {
  (void)state;
  const char *features[] = {"reload", "a<b"};
  const char *gateways[] = {"sim", "nginx"};
  const char *hrefs[] = {"sim/index.html", NULL};
  const gh_html_matrix_cell cells[] = {
      {"success", "3/3"}, {"failure", "1/3"}, {"partial", "2/3"}, {NULL, NULL}};
  gh_html_matrix m = {.title = "matrix",
                      .features = features,
                      .feature_count = 2,
                      .gateways = gateways,
                      .hrefs = hrefs,
                      .gateway_count = 2,
                      .cells = cells};
  char path[512], why[256] = "";
  snprintf(path, sizeof(path), "%s/matrix.html", test_scratch_dir());
  assert_int_equal(gh_report_html_matrix_write(&m, path, why, sizeof(why)), 0);
  htmlDocPtr doc = htmlReadFile(path, "utf-8", HTML_PARSE_NOERROR | HTML_PARSE_NONET);
  assert_non_null(doc);
  const xrow rows[] = {
      {"links to sim's report", "count(//a[@href='sim/index.html'])", 3},
      {"nginx has no link", "count(//td[@data-result='failure']/a)", 0},
      {"escaped feature", "count(//th[.='a<b'])", 1},
      {"not run", "count(//td[@data-result='none'])", 1},
  };
  int bad = 0;
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    double got = xpath_number(doc, rows[i].xpath);
    if (got != rows[i].want) {
      print_error("%s: %g, want %g\n", rows[i].name, got, rows[i].want);
      bad++;
    }
  }
  xmlFreeDoc(doc);
  assert_int_equal(bad, 0);
}

/* A cluster case: one tick lane per node and clock (each node's ticks from its
 * own start), and each call carries the node that answered it. */
static void test_cluster_page(void **state) {
  (void)state;
  static const char *cluster[] = {"cluster"};
  gh_event events[] = {
      {.at_ms = 600000,
       .kind = GH_EV_TICK,
       .ok = 1,
       .clock = "node 1 sender",
       .label = "t",
       .node = 1},
      {.at_ms = 1200000,
       .kind = GH_EV_TICK,
       .ok = 1,
       .clock = "node 1 sender",
       .label = "t",
       .node = 1},
      {.at_ms = 850000,
       .kind = GH_EV_TICK,
       .ok = 1,
       .clock = "node 2 sender",
       .label = "t",
       .node = 2},
      {.at_ms = 700000,
       .kind = GH_EV_CALL,
       .ok = 1,
       .label = "node 1 answered 200",
       .node = 1,
       .status = 200},
      {.at_ms = 700000,
       .kind = GH_EV_CALL,
       .ok = 1,
       .label = "node 2 answered 500",
       .node = 2,
       .status = 500},
  };
  gh_case c = {.name = "two-nodes-flap",
               .file = "cluster/two-nodes-flap.yaml",
               .features = (char **)cluster,
               .feature_count = 1,
               .profile = "wso2-4",
               .outcome = GH_PASS,
               .reproduce = "r",
               .events = events,
               .event_count = sizeof(events) / sizeof(events[0]),
               .nodes = 2};
  gh_run run = {.implementation = "sim", .profile = "wso2-4"};
  assert_non_null(gh_run_add(&run, &c));
  char why[256] = "";
  size_t len = 0;
  char *page = gh_report_html_render(&run, &len, why, sizeof(why));
  assert_non_null(page);
  htmlDocPtr doc = htmlReadMemory(page, (int)len, "index.html", "utf-8",
                                  HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
  assert_non_null(doc);
  static const xrow rows[] = {
      {"a lane for node 1's sender", "count(//svg/text[.='node 1 sender ticks'])", 1},
      {"a lane for node 2's sender", "count(//svg/text[.='node 2 sender ticks'])", 1},
      {"node 1's ticks", "count(//g[@data-kind='tick' and @data-node='1'])", 2},
      {"node 2's tick at 850 s",
       "count(//g[@data-kind='tick' and @data-node='2' and @data-at-ms='850000'])", 1},
      {"the lanes apart",
       "count(//g[@data-node='1' and @data-kind='tick']/path[@d = "
       "//g[@data-node='2' and @data-kind='tick']/path/@d])",
       0},
      {"each call names its node", "count(//g[@data-kind='call' and @data-node])", 2},
      {"node 2's number on its call",
       "count(//g[@data-kind='call' and @data-node='2']/text[.='2'])", 1},
  };
  int bad = 0;
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    double got = xpath_number(doc, rows[i].xpath);
    if (got != rows[i].want) {
      print_error("%s: %s = %g, want %g\n", rows[i].name, rows[i].xpath, got, rows[i].want);
      bad++;
    }
  }
  xmlFreeDoc(doc);
  free(page);
  gh_run_free(&run);
  assert_int_equal(bad, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_page),
      cmocka_unit_test(test_matrix_page),
      cmocka_unit_test(test_cluster_page),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
