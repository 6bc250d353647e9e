/* test_report.c - the report filter, the console lines, junit.xml and
 * conformance.json (harness/report.h).
 *
 * One run holds every outcome (and an out-of-range one), several features, a
 * case with two features, a repeated name, and hostile content in names,
 * messages, details and a 1 MiB log tail: ESC and other C0 controls, "]]>",
 * "&", "<", invalid UTF-8, encoded lone surrogates, U+FFFE, and secrets
 * everywhere. Every junit.xml written is validated with xmllint against both
 * JUnit schemas (GATECERT_SCHEMAS), parsed back with libxml2 and counted with
 * XPath; every report is searched for the secrets, in its bytes and (for XML)
 * in its parsed text, where an escaped secret would hide from a byte search.
 */
#include "backend_support.h"
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "gutil.h"
#include "report.h"

#define FFFD "\xEF\xBF\xBD"

static const char *const SECRETS[] = {"s3cr3t-Token-XYZ", "hunter2", "", "p&ss<w>rd]]>", NULL};

/* Expected time of every case in the hostile run (see hostile_run). */
#define HOSTILE_CASES 9

/* ---------------------------------------------------------------------------
 * Helpers.
 * ------------------------------------------------------------------------- */

static void write_all(const char *path, const char *text) { test_write(path, text, strlen(text)); }

static int exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

/* A clean string for comparisons: gh_report_clean or a failed test. */
static char *clean(const char *text, const char *const *secrets) {
  char *out = gh_report_clean(text, secrets);
  assert_non_null(out);
  return out;
}

static void assert_clean(const char *expected, const char *text, const char *const *secrets) {
  char *out = clean(text, secrets);
  assert_string_equal(expected, out);
  free(out);
}

static void assert_no_secret_bytes(const char *what, const char *data, size_t len) {
  for (const char *const *s = SECRETS; *s != NULL; s++) {
    if ((*s)[0] != '\0' && memmem(data, len, *s, strlen(*s)) != NULL)
      fail_msg("%s contains the secret \"%s\"", what, *s);
  }
  /* nor half of one: "hunter2" cut in two by a log tail limit */
  assert_null(memmem(data, len, "hunter", 6));
  assert_null(memmem(data, len, "unter2", 6));
}

/* Bytes a report may hold: UTF-8 without C0 controls other than \t \n \r. */
static void assert_no_control_bytes(const char *what, const char *data, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char b = (unsigned char)data[i];
    if (b < 0x20 && b != '\t' && b != '\n' && b != '\r')
      fail_msg("%s has byte 0x%02x at offset %zu", what, b, i);
  }
}

static void assert_schema_valid(const char *xml, const char *schema) {
  const char *dir = getenv("GATECERT_SCHEMAS");
  assert_non_null(dir);
  char *err = test_scratch_path("xmllint.err");
  char cmd[4096];
  snprintf(cmd, sizeof(cmd), "xmllint --noout --schema '%s/%s' '%s' 2>'%s'", dir, schema, xml, err);
  int rc = system(cmd); // NOLINT(cert-env33-c)
  if (rc != 0) {
    char *msg = bs_slurp(err, NULL);
    char shown[4001]; /* fail_msg does not return: nothing may be left to free */
    snprintf(shown, sizeof(shown), "%s", msg != NULL ? msg : "");
    free(msg);
    free(err);
    fail_msg("%s does not validate against %s (status %d):\n%s", xml, schema, rc, shown);
    return;
  }
  free(err);
}

static void assert_both_schemas(const char *xml) {
  assert_schema_valid(xml, "junit-ant-windyroad.xsd");
  assert_schema_valid(xml, "junit-10-jenkins.xsd");
}

static double xpath_number(xmlDocPtr doc, const char *expr) {
  xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
  assert_non_null(ctx);
  xmlXPathObjectPtr obj = xmlXPathEvalExpression(BAD_CAST expr, ctx);
  if (obj == NULL)
    fail_msg("bad XPath %s", expr);
  double v = xmlXPathCastToNumber(obj);
  xmlXPathFreeObject(obj);
  xmlXPathFreeContext(ctx);
  return v;
}

static void assert_xpath_count(xmlDocPtr doc, long expected, const char *expr) {
  double v = xpath_number(doc, expr);
  if (isnan(v) || (long)v != expected)
    fail_msg("%s = %g, expected %ld", expr, v, expected);
}

/* The string value of an XPath expression (malloc'd). */
static char *xpath_string(xmlDocPtr doc, const char *expr) {
  xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
  assert_non_null(ctx);
  xmlXPathObjectPtr obj = xmlXPathEvalExpression(BAD_CAST expr, ctx);
  if (obj == NULL)
    fail_msg("bad XPath %s", expr);
  xmlChar *s = xmlXPathCastToString(obj);
  char *out = strdup(s != NULL ? (const char *)s : "");
  xmlFree(s);
  xmlXPathFreeObject(obj);
  xmlXPathFreeContext(ctx);
  assert_non_null(out);
  return out;
}

static void assert_xpath_string(xmlDocPtr doc, const char *expected, const char *expr) {
  char *got = xpath_string(doc, expr);
  if (strcmp(got, expected) != 0)
    fail_msg("%s = \"%s\", expected \"%s\"", expr, got, expected);
  free(got);
}

static void check_parsed_text(const char *text, size_t *seen) {
  size_t len = strlen(text);
  *seen += len;
  assert_no_secret_bytes("a parsed text or attribute", text, len);
  assert_null(strchr(text, '\x1b'));
}

/* Walks every element, attribute and text node (iteratively) and checks that
 * no secret survives, once the XML escaping is undone. */
static void assert_tree_has_no_secrets(xmlDocPtr doc) {
  xmlNodePtr root = xmlDocGetRootElement(doc);
  assert_non_null(root);
  size_t seen = 0;
  xmlNodePtr n = root;
  while (n != NULL) {
    if (n->type == XML_ELEMENT_NODE) {
      for (xmlAttrPtr a = n->properties; a != NULL; a = a->next) {
        xmlChar *v = xmlNodeListGetString(doc, a->children, 1);
        check_parsed_text(v != NULL ? (const char *)v : "", &seen);
        xmlFree(v);
      }
    } else if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) &&
               n->content != NULL) {
      check_parsed_text((const char *)n->content, &seen);
    }
    if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
      n = n->children;
      continue;
    }
    while (n != NULL && n != root && n->next == NULL)
      n = n->parent;
    if (n == NULL || n == root)
      break;
    n = n->next;
  }
  assert_true(seen > 0);
}

/* Parses a junit.xml written by gh_junit_write after checking its bytes. */
static xmlDocPtr load_junit(const char *path) {
  size_t len = 0;
  char *data = bs_slurp(path, &len);
  assert_non_null(data);
  assert_no_secret_bytes(path, data, len);
  assert_no_control_bytes(path, data, len);
  free(data);
  xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
  if (doc == NULL)
    fail_msg("libxml2 cannot parse %s", path);
  assert_tree_has_no_secrets(doc);
  return doc;
}

/* ---------------------------------------------------------------------------
 * The hostile run.
 * ------------------------------------------------------------------------- */

static const char HOSTILE[] =
    "expected: status 500\n"
    "actual:   status 200 \x1b[31mred\x1b[0m \x01\x02\x0b\x0c\x1f\x7f end\n"
    "cdata end ]]> amp & lt < gt > quote \" apos '\n"
    "bad utf-8: \xff \xfe \xc3 (lone lead) \xc0\xaf (overlong) \xf8\x88\x80\x80\x80\n"
    "surrogates: \xed\xa0\x80 \xed\xb0\x80 noncharacters: \xef\xbf\xbe \xef\xbf\xbf\n"
    "tab\there\r\n"
    "secrets: hunter2 s3cr3t-Token-XYZ p&ss<w>rd]]> hunter2hunter2\n"
    "fine: caf\xc3\xa9 \xf0\x9f\x98\x80 \xe0\xb7\x81\n";

/* About 1 MiB of gateway log, with a secret and hostile bytes on every line. */
static char *big_log(void) {
  size_t cap = (size_t)1100 * 1024;
  char *log = malloc(cap);
  assert_non_null(log);
  size_t n = 0;
  for (unsigned i = 0; n < (size_t)1024 * 1024; i++) {
    int w = snprintf(log + n, cap - n,
                     "2030-01-01T00:00:%02u gateway[42]: line %06u auth=hunter2 \x1b[2K ]]> & <x> "
                     "\xed\xa0\x80\n",
                     i % 60, i);
    assert_true(w > 0 && (size_t)w < cap - n);
    n += (size_t)w;
  }
  snprintf(log + n, cap - n, "LAST LINE token=s3cr3t-Token-XYZ\n");
  return log;
}

/* Adds one case through gh_run_add (asserting it worked). */
static void add_case(gh_run *run, const char *name, const char *file, const char **features,
                     size_t nfeatures, const char *profile, gh_outcome outcome, const char *message,
                     const char *detail, const char *log_tail, const char *reproduce,
                     double seconds, int64_t fake_ms) {
  gh_case c = {
      .name = (char *)name,
      .file = (char *)file,
      .features = (char **)features,
      .feature_count = nfeatures,
      .profile = (char *)profile,
      .outcome = outcome,
      .message = (char *)message,
      .detail = (char *)detail,
      .log_tail = (char *)log_tail,
      .reproduce = (char *)reproduce,
      .seconds = seconds,
      .fake_ms = fake_ms,
  };
  assert_non_null(gh_run_add(run, &c));
}

#define NAME_A "upload takes effect at the next tick[interval=600s]"
#define NAME_B "expired backend cert rejected"
#define NAME_E "mtls priority[mtls=mandatory,oauth2=optional]"

/* The run most tests use: every outcome, five features, hostile text. The
 * caller frees it with gh_run_free. */
static void hostile_run(gh_run *run, char *log) {
  memset(run, 0, sizeof(*run));
  run->implementation = "sim";
  run->implementation_version = "0.1.0 \x1b[5m";
  run->profile = "wso2";
  run->harness_version = "0.1.0";
  run->fake_epoch = "2030-01-01T00:00:00Z";
  run->started = "2026-11-23T11:50:00";
  run->hostname = "ci-runner-1";
  run->seconds = 12.3456;
  run->secrets = SECRETS;

  static const char *trust_reload[] = {"backend-trust", "reload"};
  static const char *trust[] = {"backend-trust"};
  static const char *reload[] = {"reload"};
  static const char *lb[] = {"lb-header"};
  static const char *mtls_trust[] = {"mtls-client", "backend-trust"};
  /* A: two features: listed under backend-trust only in junit.xml */
  add_case(run, NAME_A, "backend-trust/upload.yaml", trust_reload, 2, "wso2", GH_PASS, NULL, NULL,
           "reload generation 3 ok, token hunter2\n",
           "gatecert run --case '" NAME_A "' --token s3cr3t-Token-XYZ", 0.1236, 600000);
  add_case(run, NAME_B, "backend-trust/expired.yaml", trust, 1, "wso2", GH_FAIL,
           "status: expected 500, got 200 (hunter2)\nsecond line", HOSTILE, log,
           "gatecert run --case '" NAME_B "'", 1.2344, 3600000);
  add_case(run, "driver crashed <&> \x1b[1m", "reload/crash.yaml", reload, 1, "wso2", GH_ERROR,
           "driver exited with signal 11 p&ss<w>rd]]>", "stack:\n  frame 0 s3cr3t-Token-XYZ\n",
           NULL, "gatecert run --case crash", 0.5, 0);
  add_case(run, "lb header forwarded", "lb-header/forward.yaml", lb, 1, "wso2", GH_SKIP,
           "driver lacks capability client-cert-header", NULL, NULL, NULL, 0, 0);
  add_case(run, NAME_E, "mtls/priority.yaml", mtls_trust, 2, "sap", GH_PASS, NULL, NULL, NULL,
           "gatecert run --case '" NAME_E "'", 0.25, 5000);
  /* the same name twice in one classname (profile NULL: the run's) */
  add_case(run, "dup", "reload/dup.yaml", reload, 1, "wso2", GH_PASS, NULL, NULL, NULL, NULL, 0.001,
           0);
  add_case(run, "dup", NULL, reload, 1, NULL, GH_FAIL, NULL, NULL, NULL, NULL, 0.002, 0);
  /* no features, hostile name, nonsense time */
  add_case(run, "weird \xff\xed\xa0\x80 name", NULL, NULL, 0, "wso2", GH_SKIP, "no features", NULL,
           NULL, NULL, -1.0, -5);
  /* an outcome out of range is reported as an error */
  add_case(run, "bogus", "reload/bogus.yaml", reload, 1, "wso2", (gh_outcome)42, "bogus outcome",
           NULL, NULL, NULL, NAN, 0);
  assert_int_equal(HOSTILE_CASES, run->count);
}

/* ---------------------------------------------------------------------------
 * The filter.
 * ------------------------------------------------------------------------- */

static void test_clean_characters(void **state) {
  (void)state;
  assert_clean("", NULL, NULL);
  assert_clean("", "", NULL);
  assert_clean("plain text", "plain text", NULL);
  assert_clean("tab\there\r\nnext", "tab\there\r\nnext", NULL); /* kept */
  assert_clean("]]>&<\"'", "]]>&<\"'", NULL);                   /* escaping is the writer's job */
  assert_clean(FFFD "[31mred" FFFD "[0m", "\x1b[31mred\x1b[0m", NULL);
  assert_clean(FFFD FFFD FFFD FFFD, "\x01\x0b\x0c\x1f", NULL);
  /* DEL and C1 controls (U+009B is a CSI to some terminals) */
  assert_clean(FFFD FFFD FFFD, "\x7f\xc2\x80\xc2\x9b", NULL);
  assert_clean("\xc2\xa0", "\xc2\xa0", NULL); /* U+00A0 is fine */
  /* invalid UTF-8: one U+FFFD per byte of an ill-formed sequence */
  assert_clean(FFFD, "\xff", NULL);
  assert_clean("a" FFFD, "a\xc3", NULL);     /* truncated at the end */
  assert_clean(FFFD "(", "\xc3(", NULL);     /* lead without continuation */
  assert_clean(FFFD FFFD, "\x80\xbf", NULL); /* stray continuations */
  assert_clean(FFFD FFFD FFFD FFFD FFFD, "\xf8\x88\x80\x80\x80", NULL); /* 5-byte form */
  /* well formed but no valid scalar: one U+FFFD per sequence */
  assert_clean(FFFD, "\xc0\xaf", NULL);                           /* overlong '/' */
  assert_clean(FFFD, "\xe0\x80\xaf", NULL);                       /* overlong, 3 bytes */
  assert_clean(FFFD, "\xed\xa0\x80", NULL);                       /* lone high surrogate */
  assert_clean(FFFD, "\xed\xbf\xbf", NULL);                       /* lone low surrogate */
  assert_clean(FFFD FFFD, "\xed\xa0\xbd\xed\xb8\x80", NULL);      /* CESU-8 pair */
  assert_clean(FFFD, "\xf4\x90\x80\x80", NULL);                   /* past U+10FFFF */
  assert_clean(FFFD "x" FFFD, "\xef\xbf\xbex\xef\xbf\xbf", NULL); /* U+FFFE, U+FFFF */
  /* valid characters at the edges of the allowed ranges stay */
  static const char valid[] = "caf\xc3\xa9 \xf0\x9f\x98\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbd "
                              "\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf \xe0\xb7\x81";
  assert_clean(valid, valid, NULL);
}

static void test_clean_secrets(void **state) {
  (void)state;
  static const char *const one[] = {"hunter2", "", NULL};
  assert_clean("pw=[redacted];x", "pw=hunter2;x", one);
  assert_clean("[redacted]", "hunter2", one);
  assert_clean("[redacted] and [redacted].", "hunter2hunter2 and hunter2.", one); /* adjacent */
  assert_clean("hunter", "hunter", one);
  /* empty secrets are ignored, not matched everywhere */
  static const char *const empty[] = {"", NULL};
  assert_clean("abc", "abc", empty);
  static const char *const none[] = {NULL};
  assert_clean("abc", "abc", none);
  /* longest first: the short secret is a prefix of the long one */
  static const char *const nested[] = {"tok", "token-123", NULL};
  assert_clean("a [redacted] b [redacted]!", "a token-123 b tok!", nested);
  /* overlapping secrets: nothing of either is left in the clear */
  static const char *const overlap[] = {"ab", "bcdefg", NULL};
  assert_clean("x[redacted]x", "xabcdefgx", overlap);
  static const char *const self_overlap[] = {"abcabc", NULL};
  assert_clean("[redacted]!", "abcabcabc!", self_overlap);
  /* secrets match the raw bytes, before characters are replaced */
  static const char *const raw[] = {"\x1bsecret\xff", NULL};
  assert_clean("x[redacted]y" FFFD, "x\x1bsecret\xffy\x1b", raw);
  /* with XML metacharacters */
  static const char *const meta[] = {"p&ss<w>rd]]>", NULL};
  assert_clean("pw [redacted] ]]>", "pw p&ss<w>rd]]> ]]>", meta);
  /* a secret longer than the text, and the whole hostile text */
  static const char *const longer[] = {"a much longer secret than the text", NULL};
  assert_clean("short", "short", longer);
  char *out = clean(HOSTILE, SECRETS);
  assert_no_secret_bytes("clean(HOSTILE)", out, strlen(out));
  assert_no_control_bytes("clean(HOSTILE)", out, strlen(out));
  assert_non_null(strstr(out, "secrets: [redacted] [redacted] [redacted] [redacted]\n"));
  assert_non_null(strstr(out, "]]> amp & lt < gt >"));
  free(out);
}

/* ---------------------------------------------------------------------------
 * The run.
 * ------------------------------------------------------------------------- */

static void test_outcome_names(void **state) {
  (void)state;
  assert_string_equal("pass", gh_outcome_name(GH_PASS));
  assert_string_equal("fail", gh_outcome_name(GH_FAIL));
  assert_string_equal("error", gh_outcome_name(GH_ERROR));
  assert_string_equal("skip", gh_outcome_name(GH_SKIP));
  assert_string_equal("unknown", gh_outcome_name((gh_outcome)42));
}

static void test_run_add_copies_and_redacts(void **state) {
  (void)state;
  gh_run run = {.secrets = SECRETS};
  char name[] = "case one";
  char feature[] = "backend-trust";
  char *features[] = {feature};
  char message[] = "token hunter2 \x1b[31m";
  gh_case c = {.name = name,
               .features = features,
               .feature_count = 1,
               .outcome = GH_FAIL,
               .message = message,
               .seconds = 1.5,
               .fake_ms = 7};
  gh_case *added = gh_run_add(&run, &c);
  assert_non_null(added);
  /* the run holds copies: changing the originals changes nothing */
  name[0] = 'X';    // cppcheck-suppress unreadVariable
  feature[0] = 'X'; // cppcheck-suppress unreadVariable
  message[0] = 'X'; // cppcheck-suppress unreadVariable
  assert_string_equal("case one", added->name);
  assert_string_equal("backend-trust", added->features[0]);
  assert_int_equal(1, added->feature_count);
  assert_string_equal("token [redacted] " FFFD "[31m", added->message);
  assert_null(added->detail);
  assert_null(added->file);
  assert_int_equal(GH_FAIL, added->outcome);
  assert_int_equal(7, added->fake_ms);
  assert_true(added->seconds == 1.5);
  c.outcome = GH_SKIP;
  c.features = NULL;
  c.feature_count = 0;
  assert_non_null(gh_run_add(&run, &c));
  c.outcome = GH_PASS;
  assert_non_null(gh_run_add(&run, &c));
  assert_int_equal(3, run.count);
  gh_tally t = gh_run_tally(&run);
  assert_int_equal(1, t.pass);
  assert_int_equal(1, t.fail);
  assert_int_equal(0, t.error);
  assert_int_equal(1, t.skip);
  assert_null(gh_run_add(NULL, &c));
  assert_null(gh_run_add(&run, NULL));
  gh_run_free(&run);
  assert_int_equal(0, run.count);
  assert_null(run.cases);
  gh_run_free(&run); /* twice is harmless */
  gh_run_free(NULL);
  t = gh_run_tally(NULL);
  assert_int_equal(0, t.pass + t.fail + t.error + t.skip);
}

/* ---------------------------------------------------------------------------
 * Console.
 * ------------------------------------------------------------------------- */

static char *console_of(gh_run *run, int color, size_t *len) {
  char *buf = NULL;
  size_t n = 0;
  FILE *out = open_memstream(&buf, &n);
  assert_non_null(out);
  for (size_t i = 0; i < run->count; i++)
    gh_console_case(out, color, &run->cases[i]);
  gh_console_summary(out, color, run, "reports/");
  assert_int_equal(0, fclose(out));
  *len = n;
  return buf;
}

static void test_console_plain(void **state) {
  (void)state;
  char *log = big_log();
  gh_run run;
  hostile_run(&run, log);
  size_t n = 0;
  char *text = console_of(&run, 0, &n);
  assert_null(memchr(text, '\x1b', n));
  assert_no_secret_bytes("console", text, n);
  static const char expected[] =
      "PASS  " NAME_A "  (0.12 s)\n"
      "FAIL  " NAME_B "  (1.23 s)\n"
      "      status: expected 500, got 200 ([redacted])\n"
      "      second line\n"
      "      reproduce: gatecert run --case '" NAME_B "'\n"
      "ERROR driver crashed <&> " FFFD "[1m  (0.50 s)\n"
      "      driver exited with signal 11 [redacted]\n"
      "      reproduce: gatecert run --case crash\n"
      "SKIP  lb header forwarded  (0.00 s)\n"
      "      driver lacks capability client-cert-header\n"
      "PASS  " NAME_E "  (0.25 s)\n"
      "PASS  dup  (0.00 s)\n"
      "FAIL  dup  (0.00 s)\n"
      "      (no message)\n"
      "SKIP  weird " FFFD FFFD " name  (0.00 s)\n"
      "      no features\n"
      "ERROR bogus  (0.00 s)\n"
      "      bogus outcome\n"
      "FAILURE  9 cases: 3 passed, 2 failed, 2 errors, 2 skipped, 0 not applicable in 12.346 s "
      "real, 1h 10m 5s fake; reports in reports/\n";
  assert_string_equal(expected, text);
  free(text);
  gh_run_free(&run);
  free(log);
}

static void test_console_color(void **state) {
  (void)state;
  char *log = big_log();
  gh_run run;
  hostile_run(&run, log);
  size_t n = 0;
  char *text = console_of(&run, 1, &n);
  assert_non_null(strstr(text, "\033[32mPASS\033[0m  " NAME_A));
  assert_non_null(strstr(text, "\033[31mFAIL\033[0m  " NAME_B));
  assert_non_null(strstr(text, "\033[31mERROR\033[0m driver crashed"));
  assert_non_null(strstr(text, "\033[33mSKIP\033[0m  lb header"));
  assert_non_null(strstr(text, "\033[31mFAILURE\033[0m  9 cases: \033[32m3 passed\033[0m"));
  assert_non_null(strstr(text, "\033[33m2 skipped\033[0m"));
  /* the only escapes are ours: the hostile ones were filtered */
  assert_null(strstr(text, "\033[1m"));
  assert_null(strstr(text, "\033[2K"));
  assert_no_secret_bytes("console", text, n);
  free(text);
  gh_run_free(&run);

  /* an all-passing run is a green SUCCESS; a skip makes it PARTIAL */
  gh_run ok = {.seconds = 0.5};
  static const char *f[] = {"reload"};
  add_case(&ok, "a", NULL, f, 1, "wso2", GH_PASS, NULL, NULL, NULL, NULL, 0.5, 45000);
  text = console_of(&ok, 1, &n);
  assert_non_null(strstr(text,
                         "\033[32mSUCCESS\033[0m  1 cases: \033[32m1 passed\033[0m, 0 failed, "
                         "0 errors, 0 skipped, 0 not applicable in 0.500 s real, 45s fake"));
  free(text);
  add_case(&ok, "b", NULL, f, 1, "wso2", GH_SKIP, "no", NULL, NULL, NULL, 0, 250);
  text = console_of(&ok, 0, &n);
  assert_non_null(strstr(text, "PARTIAL  2 cases: 1 passed, 0 failed, 0 errors, 1 skipped, 0 not "
                               "applicable in 0.500 s real, 45.250s fake; reports in reports/\n"));
  free(text);
  gh_run_free(&ok);
  free(log);
}

static void set_no_color(const char *value) {
  if (value == NULL)
    assert_int_equal(0, unsetenv("NO_COLOR"));
  else
    assert_int_equal(0, setenv("NO_COLOR", value, 1));
}

static void test_console_color_detection(void **state) {
  (void)state;
  const char *saved = getenv("NO_COLOR");
  char *saved_copy = saved != NULL ? strdup(saved) : NULL;
  FILE *file = tmpfile();
  assert_non_null(file);
  set_no_color(NULL);
  assert_int_equal(0, gh_console_color(file)); /* not a TTY */
  fclose(file);
  assert_int_equal(0, gh_console_color(NULL));

  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0 || ptsname(master) == NULL) {
    print_message("no pseudo-terminal here (%s): TTY half skipped\n", strerror(errno));
    if (master >= 0)
      close(master);
  } else {
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    assert_true(slave >= 0);
    FILE *tty = fdopen(slave, "w");
    assert_non_null(tty);
    set_no_color(NULL);
    assert_int_equal(1, gh_console_color(tty));
    set_no_color("");
    assert_int_equal(1, gh_console_color(tty)); /* empty counts as unset */
    set_no_color("1");
    assert_int_equal(0, gh_console_color(tty));
    fclose(tty);
    close(master);
  }
  set_no_color(saved_copy);
  free(saved_copy);
}

/* ---------------------------------------------------------------------------
 * junit.xml
 * ------------------------------------------------------------------------- */

static void test_junit_hostile(void **state) {
  (void)state;
  char *log = big_log();
  gh_run run;
  hostile_run(&run, log);
  char *path = test_scratch_path("junit.xml");
  char why[256] = "";
  if (gh_junit_write(&run, path, why, sizeof(why)) != 0)
    fail_msg("gh_junit_write: %s", why);
  char *tmp = test_scratch_path("junit.xml.tmp");
  assert_false(exists(tmp));
  assert_both_schemas(path);

  size_t len = 0;
  char *data = bs_slurp(path, &len);
  /* the 1 MiB log tail is cut to its end, once, and marked as cut */
  assert_true(len < (size_t)256 * 1024);
  char *last = strstr(data, "LAST LINE token=[redacted]");
  assert_non_null(last);
  assert_null(strstr(last + 1, "LAST LINE"));
  assert_non_null(strstr(data, "earlier bytes of the log omitted"));
  assert_null(strstr(data, "line 000000 ")); /* the start of the log is gone */
  free(data);

  xmlDocPtr doc = load_junit(path);
  assert_xpath_count(doc, 1, "count(/testsuites)");
  assert_xpath_count(doc, 0, "count(/testsuites/@*)"); /* strict Ant: no attributes */
  assert_xpath_count(doc, 5, "count(/testsuites/testsuite)");
  assert_xpath_count(doc, HOSTILE_CASES, "count(//testcase)");
  assert_xpath_count(doc, 2, "count(//failure)");
  assert_xpath_count(doc, 2, "count(//error)");
  assert_xpath_count(doc, 2, "count(//skipped)");
  assert_xpath_count(doc, 2, "count(//failure[@type='non-conformance'])");
  assert_xpath_count(doc, 2, "count(//error[@type='harness'])");
  /* suites in order of first appearance, ids from 0, the run's profile as package */
  static const char *const order[] = {"backend-trust", "reload", "lb-header", "mtls-client",
                                      "unspecified"};
  char expr[512];
  for (size_t i = 0; i < 5; i++) {
    snprintf(expr, sizeof(expr), "string(/testsuites/testsuite[%zu]/@name)", i + 1);
    assert_xpath_string(doc, order[i], expr);
    snprintf(expr, sizeof(expr), "number(/testsuites/testsuite[%zu]/@id)", i + 1);
    assert_xpath_count(doc, (long)i, expr);
  }
  assert_xpath_count(doc, 5, "count(//testsuite[@package='wso2'])");
  assert_xpath_count(doc, 5, "count(//testsuite[@timestamp='2026-11-23T11:50:00'])");
  assert_xpath_count(doc, 5, "count(//testsuite[@hostname='ci-runner-1'])");
  assert_xpath_count(doc, 5, "count(//testsuite/system-out)");
  assert_xpath_count(doc, 5, "count(//testsuite/system-err)");
  assert_xpath_count(doc, 0, "count(//testcase/system-out)");
  /* per-suite counts */
  typedef struct suite_counts {
    const char *name;
    long tests, failures, errors, skipped;
    const char *time;
  } suite_counts;
  static const suite_counts counts[] = {
      {"backend-trust", 2, 1, 0, 0, "1.358"}, {"reload", 4, 1, 2, 0, "0.503"},
      {"lb-header", 1, 0, 0, 1, "0.000"},     {"mtls-client", 1, 0, 0, 0, "0.250"},
      {"unspecified", 1, 0, 0, 1, "0.000"},
  };
  for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
    const suite_counts *s = &counts[i];
    snprintf(expr, sizeof(expr), "number(//testsuite[@name='%s']/@tests)", s->name);
    assert_xpath_count(doc, s->tests, expr);
    snprintf(expr, sizeof(expr), "count(//testsuite[@name='%s']/testcase)", s->name);
    assert_xpath_count(doc, s->tests, expr);
    snprintf(expr, sizeof(expr), "number(//testsuite[@name='%s']/@failures)", s->name);
    assert_xpath_count(doc, s->failures, expr);
    snprintf(expr, sizeof(expr), "count(//testsuite[@name='%s']/testcase/failure)", s->name);
    assert_xpath_count(doc, s->failures, expr);
    snprintf(expr, sizeof(expr), "number(//testsuite[@name='%s']/@errors)", s->name);
    assert_xpath_count(doc, s->errors, expr);
    snprintf(expr, sizeof(expr), "number(//testsuite[@name='%s']/@skipped)", s->name);
    assert_xpath_count(doc, s->skipped, expr);
    snprintf(expr, sizeof(expr), "string(//testsuite[@name='%s']/@time)", s->name);
    assert_xpath_string(doc, s->time, expr);
  }
  /* properties */
  assert_xpath_count(doc, 30, "count(//testsuite/properties/property)");
  assert_xpath_string(doc, "sim",
                      "string(//testsuite[1]/properties/property[@name='driver']/@value)");
  assert_xpath_string(doc, "0.1.0 " FFFD "[5m",
                      "string(//testsuite[1]/properties/property[@name='driver_version']/@value)");
  assert_xpath_string(doc, "wso2",
                      "string(//testsuite[1]/properties/property[@name='profile']/@value)");
  assert_xpath_string(doc, "2030-01-01T00:00:00Z",
                      "string(//testsuite[1]/properties/property[@name='fake_epoch']/@value)");
  assert_xpath_string(doc, "0.1.0",
                      "string(//testsuite[1]/properties/property[@name='harness_version']/@value)");
  /* the two-feature case is listed once, under features[0] */
  assert_xpath_count(doc, 1, "count(//testcase[@name='" NAME_A "'])");
  assert_xpath_count(doc, 1,
                     "count(//testsuite[@name='backend-trust']/testcase[@name='" NAME_A "'])");
  assert_xpath_count(doc, 1, "count(//testcase[@name='" NAME_E "'])");
  assert_xpath_count(doc, 1,
                     "count(//testsuite[@name='mtls-client']/testcase[@classname="
                     "'sap.mtls-client'])");
  assert_xpath_string(doc, "wso2.backend-trust",
                      "string(//testcase[@name='" NAME_A "']/@classname)");
  assert_xpath_string(doc, "0.124", "string(//testcase[@name='" NAME_A "']/@time)");
  assert_xpath_string(doc, "1.234", "string(//testcase[@name='" NAME_B "']/@time)");
  assert_xpath_string(doc, "0.000", "string(//testcase[@name='bogus']/@time)"); /* NaN */
  /* a repeated name gets a suffix: (classname, name) stays unique */
  assert_xpath_count(doc, 1, "count(//testcase[@classname='wso2.reload' and @name='dup'])");
  assert_xpath_count(doc, 1, "count(//testcase[@classname='wso2.reload' and @name='dup #2'])");
  assert_xpath_count(doc, 1, "count(//testcase[@name='dup #2']/failure)");
  assert_xpath_count(doc, 1, "count(//testcase[@name='weird " FFFD FFFD " name']/skipped)");
  assert_xpath_string(doc, "wso2.unspecified",
                      "string(//testcase[@name='weird " FFFD FFFD " name']/@classname)");
  /* failure: first line as message, the whole story in the body */
  assert_xpath_string(doc, "status: expected 500, got 200 ([redacted])",
                      "string(//testcase[@name='" NAME_B "']/failure/@message)");
  char *body = xpath_string(doc, "string(//testcase[@name='" NAME_B "']/failure)");
  assert_non_null(strstr(body, "second line\n"));
  assert_non_null(strstr(body, "cdata end ]]> amp & lt < gt > quote \" apos '\n"));
  assert_non_null(strstr(body, "actual:   status 200 " FFFD "[31mred" FFFD
                               "[0m " FFFD FFFD FFFD FFFD FFFD FFFD " end\n"));
  assert_non_null(strstr(body, "surrogates: " FFFD " " FFFD " noncharacters: " FFFD " " FFFD));
  assert_non_null(strstr(body, "tab\there\r\n"));
  assert_non_null(strstr(body, "fine: caf\xc3\xa9 \xf0\x9f\x98\x80 \xe0\xb7\x81\n"));
  assert_non_null(strstr(body, "scenario: backend-trust/expired.yaml\n"));
  assert_non_null(strstr(body, "reproduce: gatecert run --case '" NAME_B "'\n"));
  assert_non_null(strstr(body, "gateway log (tail):\n[... "));
  assert_non_null(strstr(body, "LAST LINE token=[redacted]\n"));
  free(body);
  assert_xpath_string(doc, "driver exited with signal 11 [redacted]",
                      "string(//testcase[@name='driver crashed <&> " FFFD "[1m']/error/@message)");
  assert_xpath_string(doc, "the gateway did not conform",
                      "string(//testcase[@name='dup #2']/failure/@message)");
  assert_xpath_string(doc, "bogus outcome", "string(//testcase[@name='bogus']/error/@message)");
  assert_xpath_string(doc, "driver lacks capability client-cert-header",
                      "string(//testcase[@name='lb header forwarded']/skipped/@message)");
  /* the suite's system-out: each case's reproduce command and log tail */
  char *out = xpath_string(doc, "string(//testsuite[@name='backend-trust']/system-out)");
  assert_non_null(strstr(out, "=== " NAME_A ": pass (0.124 s)\n"
                              "reproduce: gatecert run --case '" NAME_A "' --token [redacted]\n"
                              "gateway log (tail):\nreload generation 3 ok, token [redacted]\n"));
  assert_non_null(strstr(out, "=== " NAME_B ": fail (1.234 s)\n"));
  assert_non_null(strstr(out, "gateway log (tail): in the <failure> element of this case\n"));
  free(out);
  xmlFreeDoc(doc);
  free(tmp);
  free(path);
  gh_run_free(&run);
  free(log);
}

/* Cases put in the run directly, not through gh_run_add: the writer filters
 * by itself. */
static void test_reports_filter_direct_cases(void **state) {
  (void)state;
  char *log = big_log();
  char *features[] = {"backend-trust\x1b", "hunter2-feature"};
  gh_case cases[] = {
      {.name = "direct hunter2 \x1b]0;title\x07",
       .file = "s3cr3t-Token-XYZ.yaml",
       .features = features,
       .feature_count = 2,
       .profile = "wso2 p&ss<w>rd]]>",
       .outcome = GH_ERROR,
       .message = "\xed\xa0\x80 hunter2",
       .detail = (char *)HOSTILE,
       .log_tail = log,
       .reproduce = "run --password p&ss<w>rd]]>",
       .seconds = 2},
      {.name = "second",
       .features = features + 1,
       .feature_count = 1,
       .outcome = GH_PASS,
       .log_tail = log},
  };
  gh_run run = {.implementation = "exec:/opt/gw --key=hunter2",
                .implementation_version = "\xff",
                .profile = "wso2",
                .harness_version = "s3cr3t-Token-XYZ",
                .fake_epoch = "2030-01-01T00:00:00Z",
                .started = "2026-11-23T11:50:00",
                .hostname = "host-hunter2",
                .cases = cases,
                .count = 2,
                .secrets = SECRETS};
  char *path = test_scratch_path("direct.xml");
  char *json = test_scratch_path("direct.json");
  char why[256] = "";
  if (gh_junit_write(&run, path, why, sizeof(why)) != 0)
    fail_msg("gh_junit_write: %s", why);
  if (gh_conformance_write(&run, json, why, sizeof(why)) != 0)
    fail_msg("gh_conformance_write: %s", why);
  assert_both_schemas(path);
  xmlDocPtr doc = load_junit(path);
  assert_xpath_count(doc, 2, "count(//testsuite)");
  assert_xpath_string(doc, "host-[redacted]", "string(//testsuite[1]/@hostname)");
  assert_xpath_string(doc, "backend-trust" FFFD, "string(//testsuite[1]/@name)");
  assert_xpath_string(doc, "wso2 [redacted].backend-trust" FFFD,
                      "string(//testsuite[1]/testcase/@classname)");
  xmlFreeDoc(doc);
  size_t len = 0;
  char *data = bs_slurp(json, &len);
  assert_no_secret_bytes(json, data, len);
  assert_no_control_bytes(json, data, len);
  free(data);
  json_error_t jerr;
  json_t *root = json_load_file(json, 0, &jerr);
  if (root == NULL)
    fail_msg("%s: %s", json, jerr.text);
  assert_non_null(json_object_get(json_object_get(root, "features"), "[redacted]-feature"));
  assert_string_equal(
      "exec:/opt/gw --key=[redacted]",
      json_string_value(json_object_get(json_object_get(root, "implementation"), "name")));
  json_decref(root);
  free(json);
  free(path);
  free(log);
}

static void test_junit_empty_and_fallbacks(void **state) {
  (void)state;
  char why[256] = "";
  char *path = test_scratch_path("empty.xml");
  gh_run empty = {0};
  assert_int_equal(0, gh_junit_write(&empty, path, why, sizeof(why)));
  assert_both_schemas(path);
  xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
  assert_non_null(doc);
  assert_xpath_count(doc, 0, "count(//testsuite)");
  xmlFreeDoc(doc);

  /* timestamps the Ant schema would refuse, no hostname, no profile */
  static const char *const started[] = {"2026-11-23T11:50:00.123+01:00", "2026-02-30T00:00:00",
                                        "yesterday", NULL, "2024-02-29T23:59:59Z"};
  static const char *const expected[] = {"2026-11-23T11:50:00", NULL, NULL, NULL,
                                         "2024-02-29T23:59:59"};
  static const char *f[] = {"reload"};
  for (size_t i = 0; i < sizeof(started) / sizeof(started[0]); i++) {
    gh_run run = {.started = (char *)started[i], .hostname = i % 2 ? "  " : NULL};
    add_case(&run, "x", NULL, f, 1, NULL, GH_PASS, NULL, NULL, NULL, NULL, 1e15, 0);
    add_case(&run, "y", NULL, f, 1, "", GH_SKIP, NULL, NULL, NULL, NULL, 0, 0);
    assert_int_equal(0, gh_junit_write(&run, path, why, sizeof(why)));
    assert_both_schemas(path);
    doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    assert_xpath_string(doc, "localhost", "string(//testsuite/@hostname)");
    assert_xpath_string(doc, "gatecert", "string(//testsuite/@package)");
    assert_xpath_string(doc, "gatecert.reload", "string(//testcase[@name='x']/@classname)");
    assert_xpath_string(doc, "gatecert.reload", "string(//testcase[@name='y']/@classname)");
    assert_xpath_string(doc, "skipped", "string(//testcase[@name='y']/skipped/@message)");
    char *ts = xpath_string(doc, "string(//testsuite/@timestamp)");
    assert_int_equal(19, strlen(ts));
    if (expected[i] != NULL)
      assert_string_equal(expected[i], ts);
    free(ts);
    xmlFreeDoc(doc);
    gh_run_free(&run);
  }
  free(path);
}

/* Every way a write can fail: nothing half-written, an old report intact. */
static void check_write_failures(int (*writer)(const gh_run *, const char *, char *, size_t),
                                 const char *base) {
  char *log = big_log();
  gh_run run;
  hostile_run(&run, log);
  char why[256] = "";
  char name[128];

  /* no such directory */
  snprintf(name, sizeof(name), "no/such/dir/%s", base);
  char *missing = test_scratch_path(name);
  assert_int_equal(-1, writer(&run, missing, why, sizeof(why)));
  assert_non_null(strstr(why, "cannot create"));
  assert_false(exists(missing));

  /* bad arguments */
  why[0] = '\0';
  assert_int_equal(-1, writer(NULL, missing, why, sizeof(why)));
  assert_true(why[0] != '\0');
  assert_int_equal(-1, writer(&run, NULL, why, sizeof(why)));
  assert_int_equal(-1, writer(&run, "", NULL, 0));

  /* the temporary name is taken by a directory: the old report stays */
  char *path = test_scratch_path(base);
  snprintf(name, sizeof(name), "%s.tmp", base);
  char *tmp = test_scratch_path(name);
  write_all(path, "OLD REPORT\n");
  assert_int_equal(0, mkdir(tmp, 0700));
  why[0] = '\0';
  assert_int_equal(-1, writer(&run, path, why, sizeof(why)));
  assert_true(why[0] != '\0');
  char *kept = bs_slurp(path, NULL);
  assert_string_equal("OLD REPORT\n", kept);
  free(kept);
  assert_int_equal(0, rmdir(tmp));

  /* the disk fills up mid-file (RLIMIT_FSIZE): the old report stays */
  struct rlimit saved;
  assert_int_equal(0, getrlimit(RLIMIT_FSIZE, &saved));
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = {.rlim_cur = 512, .rlim_max = saved.rlim_max};
  assert_int_equal(0, setrlimit(RLIMIT_FSIZE, &small));
  why[0] = '\0';
  int rc = writer(&run, path, why, sizeof(why));
  assert_int_equal(0, setrlimit(RLIMIT_FSIZE, &saved));
  signal(SIGXFSZ, old_handler);
  assert_int_equal(-1, rc);
  assert_non_null(strstr(why, "cannot write"));
  assert_false(exists(tmp));
  kept = bs_slurp(path, NULL);
  assert_string_equal("OLD REPORT\n", kept);
  free(kept);

  /* rename fails (the path is a non-empty directory): the temporary goes */
  assert_int_equal(0, unlink(path));
  assert_int_equal(0, mkdir(path, 0700));
  snprintf(name, sizeof(name), "%s/keep", base);
  char *inside = test_scratch_path(name);
  write_all(inside, "x");
  why[0] = '\0';
  assert_int_equal(-1, writer(&run, path, why, sizeof(why)));
  assert_non_null(strstr(why, "cannot rename"));
  assert_false(exists(tmp));
  assert_int_equal(0, unlink(inside));
  assert_int_equal(0, rmdir(path));

  /* and then it works, replacing the old file */
  write_all(path, "OLD REPORT\n");
  assert_int_equal(0, writer(&run, path, why, sizeof(why)));
  assert_false(exists(tmp));
  kept = bs_slurp(path, NULL);
  assert_null(strstr(kept, "OLD REPORT"));
  free(kept);

  free(inside);
  free(tmp);
  free(path);
  free(missing);
  gh_run_free(&run);
  free(log);
}

static void test_junit_write_failures(void **state) {
  (void)state;
  check_write_failures(gh_junit_write, "fail-junit.xml");
}

static void test_conformance_write_failures(void **state) {
  (void)state;
  check_write_failures(gh_conformance_write, "fail-conformance.json");
}

/* ---------------------------------------------------------------------------
 * conformance.json
 * ------------------------------------------------------------------------- */

static json_t *load_json(const char *path) {
  size_t len = 0;
  char *data = bs_slurp(path, &len);
  assert_non_null(data);
  assert_no_secret_bytes(path, data, len);
  assert_no_control_bytes(path, data, len);
  free(data);
  json_error_t err;
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
  if (root == NULL)
    fail_msg("%s: %s (line %d)", path, err.text, err.line);
  return root;
}

static void assert_json_str(json_t *obj, const char *key, const char *expected) {
  json_t *v = json_object_get(obj, key);
  if (expected == NULL) {
    if (!json_is_null(v))
      fail_msg("\"%s\" should be null", key);
    return;
  }
  if (!json_is_string(v))
    fail_msg("\"%s\" is not a string", key);
  assert_string_equal(expected, json_string_value(v));
}

static void assert_json_int(json_t *obj, const char *key, long long expected) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_integer(v))
    fail_msg("\"%s\" is not an integer", key);
  assert_int_equal(expected, json_integer_value(v));
}

static void assert_feature(json_t *features, const char *name, const char *result, long long pass,
                           long long fail, long long error, long long skip) {
  json_t *f = json_object_get(features, name);
  if (f == NULL)
    fail_msg("no feature %s", name);
  assert_json_str(f, "result", result);
  assert_json_int(f, "pass", pass);
  assert_json_int(f, "fail", fail);
  assert_json_int(f, "error", error);
  assert_json_int(f, "skip", skip);
}

static void test_conformance_hostile(void **state) {
  (void)state;
  char *log = big_log();
  gh_run run;
  hostile_run(&run, log);
  char *path = test_scratch_path("conformance.json");
  char why[256] = "";
  if (gh_conformance_write(&run, path, why, sizeof(why)) != 0)
    fail_msg("gh_conformance_write: %s", why);
  json_t *root = load_json(path);
  json_t *impl = json_object_get(root, "implementation");
  assert_json_str(impl, "name", "sim");
  assert_json_str(impl, "version", "0.1.0 " FFFD "[5m");
  assert_json_str(root, "profile", "wso2");
  assert_json_str(root, "harness_version", "0.1.0");
  assert_json_str(root, "fake_epoch", "2030-01-01T00:00:00Z");
  assert_json_str(root, "started", "2026-11-23T11:50:00");
  assert_json_str(root, "result", "failure");

  /* every feature a case lists counts it, not only features[0] */
  json_t *features = json_object_get(root, "features");
  assert_int_equal(5, json_object_size(features));
  assert_feature(features, "backend-trust", "failure", 2, 1, 0, 0);
  assert_feature(features, "reload", "failure", 2, 1, 2, 0);
  assert_feature(features, "lb-header", "partial", 0, 0, 0, 1);
  assert_feature(features, "mtls-client", "success", 1, 0, 0, 0);
  assert_feature(features, "unspecified", "partial", 0, 0, 0, 1);

  json_t *stats = json_object_get(root, "statistics");
  assert_json_int(stats, "total", HOSTILE_CASES);
  assert_json_int(stats, "pass", 3);
  assert_json_int(stats, "fail", 2);
  assert_json_int(stats, "error", 2);
  assert_json_int(stats, "skip", 2);
  assert_true(fabs(json_number_value(json_object_get(stats, "seconds")) - 12.346) < 1e-9);
  assert_true(fabs(json_number_value(json_object_get(stats, "fake_seconds")) - 4205.0) < 1e-9);

  json_t *failed = json_object_get(root, "failed");
  assert_int_equal(2, json_array_size(failed));
  json_t *b = json_array_get(failed, 0);
  assert_json_str(b, "name", NAME_B);
  assert_json_str(b, "file", "backend-trust/expired.yaml");
  assert_json_str(b, "feature", "backend-trust");
  assert_json_str(b, "message", "status: expected 500, got 200 ([redacted])\nsecond line");
  assert_json_str(b, "reproduce", "gatecert run --case '" NAME_B "'");
  assert_non_null(strstr(json_string_value(json_object_get(b, "detail")), "]]> amp & lt <"));
  json_t *dup = json_array_get(failed, 1);
  assert_json_str(dup, "name", "dup");
  assert_json_str(dup, "file", NULL);
  assert_json_str(dup, "message", NULL);
  assert_json_str(dup, "reproduce", NULL);

  json_t *errors = json_object_get(root, "errors");
  assert_int_equal(2, json_array_size(errors));
  assert_json_str(json_array_get(errors, 0), "name", "driver crashed <&> " FFFD "[1m");
  assert_json_str(json_array_get(errors, 0), "message", "driver exited with signal 11 [redacted]");
  assert_json_str(json_array_get(errors, 0), "feature", "reload");
  assert_json_str(json_array_get(errors, 1), "name", "bogus");

  json_t *skipped = json_object_get(root, "skipped");
  assert_int_equal(2, json_array_size(skipped));
  assert_json_str(json_array_get(skipped, 0), "name", "lb header forwarded");
  assert_json_str(json_array_get(skipped, 0), "reason",
                  "driver lacks capability client-cert-header");
  assert_json_str(json_array_get(skipped, 1), "name", "weird " FFFD FFFD " name");
  json_decref(root);
  free(path);
  gh_run_free(&run);
  free(log);
}

static void test_conformance_results(void **state) {
  (void)state;
  char *path = test_scratch_path("results.json");
  char why[256] = "";
  static const char *both[] = {"a", "b"};
  static const char *twice[] = {"a", "a"};

  gh_run run = {.implementation = "sim"};
  assert_int_equal(0, gh_conformance_write(&run, path, why, sizeof(why)));
  json_t *root = load_json(path);
  assert_json_str(root, "result", "partial"); /* nothing shown to conform */
  assert_int_equal(0, json_object_size(json_object_get(root, "features")));
  assert_json_int(json_object_get(root, "statistics"), "total", 0);
  assert_json_str(json_object_get(root, "implementation"), "version", NULL);
  json_decref(root);

  add_case(&run, "p1", NULL, both, 2, "wso2", GH_PASS, NULL, NULL, NULL, NULL, 0.1, 0);
  add_case(&run, "p2", NULL, twice, 2, "wso2", GH_PASS, NULL, NULL, NULL, NULL, 0.1, 0);
  assert_int_equal(0, gh_conformance_write(&run, path, why, sizeof(why)));
  root = load_json(path);
  assert_json_str(root, "result", "success");
  assert_feature(json_object_get(root, "features"), "a", "success", 2, 0, 0, 0); /* once each */
  assert_feature(json_object_get(root, "features"), "b", "success", 1, 0, 0, 0);
  json_decref(root);

  static const char *only_b[] = {"b"};
  add_case(&run, "s", NULL, only_b, 1, "wso2", GH_SKIP, "lacks b", NULL, NULL, NULL, 0, 0);
  assert_int_equal(0, gh_conformance_write(&run, path, why, sizeof(why)));
  root = load_json(path);
  assert_json_str(root, "result", "partial");
  assert_feature(json_object_get(root, "features"), "a", "success", 2, 0, 0, 0);
  assert_feature(json_object_get(root, "features"), "b", "partial", 1, 0, 0, 1);
  json_decref(root);

  add_case(&run, "e", NULL, only_b, 1, "wso2", GH_ERROR, "broke", NULL, NULL, NULL, 0, 0);
  assert_int_equal(0, gh_conformance_write(&run, path, why, sizeof(why)));
  root = load_json(path);
  assert_json_str(root, "result", "failure");
  assert_feature(json_object_get(root, "features"), "a", "success", 2, 0, 0, 0);
  assert_feature(json_object_get(root, "features"), "b", "failure", 1, 0, 1, 1);
  json_decref(root);
  gh_run_free(&run);
  free(path);
}

static double json_num(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_number(v))
    fail_msg("\"%s\" is not a number", key);
  return json_number_value(v);
}

/* "cases": every case in run order with its features, outcome, message,
 * times, and applies / apply_ms only when the driver applied something. */
static void test_conformance_cases(void **state) {
  (void)state;
  char *log = big_log();
  gh_run run;
  hostile_run(&run, log);
  /* a real gateway's case: two reloads that took 180.5 ms in all */
  static const char *mtls[] = {"backend-mtls"};
  gh_case applied = {.name = "identity per host",
                     .file = "backend-mtls/identity.yaml",
                     .features = (char **)mtls,
                     .feature_count = 1,
                     .profile = "wso2",
                     .outcome = GH_PASS,
                     .seconds = 0.75049,
                     .fake_ms = 1500,
                     .applies = 2,
                     .apply_ms = 180.5004};
  assert_non_null(gh_run_add(&run, &applied));
  char *path = test_scratch_path("cases.json");
  char why[256] = "";
  if (gh_conformance_write(&run, path, why, sizeof(why)) != 0)
    fail_msg("gh_conformance_write: %s", why);
  json_t *root = load_json(path);
  json_t *cases = json_object_get(root, "cases");
  assert_true(json_is_array(cases));
  assert_int_equal(HOSTILE_CASES + 1, json_array_size(cases));

  json_t *a = json_array_get(cases, 0); /* two features, passed */
  assert_json_str(a, "name", NAME_A);
  assert_json_str(a, "file", "backend-trust/upload.yaml");
  json_t *features = json_object_get(a, "features");
  assert_int_equal(2, json_array_size(features));
  assert_string_equal("backend-trust", json_string_value(json_array_get(features, 0)));
  assert_string_equal("reload", json_string_value(json_array_get(features, 1)));
  assert_json_str(a, "outcome", "pass");
  assert_json_str(a, "message", NULL);
  assert_true(fabs(json_num(a, "seconds") - 0.124) < 1e-9);
  assert_true(fabs(json_num(a, "fake_seconds") - 600.0) < 1e-9);
  assert_null(json_object_get(a, "applies")); /* the sim applies nothing */
  assert_null(json_object_get(a, "apply_ms"));

  json_t *b = json_array_get(cases, 1); /* failed: message redacted */
  assert_json_str(b, "outcome", "fail");
  assert_json_str(b, "message", "status: expected 500, got 200 ([redacted])\nsecond line");
  assert_true(fabs(json_num(b, "seconds") - 1.234) < 1e-9);
  assert_json_str(json_array_get(cases, 2), "outcome", "error");
  json_t *skip = json_array_get(cases, 3); /* the skip reason names the capability */
  assert_json_str(skip, "outcome", "skip");
  assert_json_str(skip, "message", "driver lacks capability client-cert-header");
  assert_true(fabs(json_num(skip, "seconds")) < 1e-9);

  json_t *weird = json_array_get(cases, 7); /* no features, negative times */
  assert_json_str(weird, "name", "weird " FFFD FFFD " name");
  assert_json_str(weird, "file", NULL);
  features = json_object_get(weird, "features");
  assert_int_equal(1, json_array_size(features));
  assert_string_equal("unspecified", json_string_value(json_array_get(features, 0)));
  assert_true(fabs(json_num(weird, "seconds")) < 1e-9);
  assert_true(fabs(json_num(weird, "fake_seconds")) < 1e-9);
  assert_json_str(json_array_get(cases, 8), "outcome", "error"); /* out of range */

  json_t *real = json_array_get(cases, HOSTILE_CASES);
  assert_json_str(real, "name", "identity per host");
  assert_json_int(real, "applies", 2);
  assert_true(fabs(json_num(real, "apply_ms") - 180.5) < 1e-9);
  assert_true(fabs(json_num(real, "seconds") - 0.75) < 1e-9);
  assert_true(fabs(json_num(real, "fake_seconds") - 1.5) < 1e-9);
  /* the copy gh_run_add made keeps the new fields */
  assert_int_equal(2, run.cases[HOSTILE_CASES].applies);
  assert_true(fabs(run.cases[HOSTILE_CASES].apply_ms - 180.5004) < 1e-9);
  json_decref(root);
  free(path);
  gh_run_free(&run);
  free(log);
}

/* ---------------------------------------------------------------------------
 * Cases not applicable to the product (a GH_SKIP with not_applicable set).
 * ------------------------------------------------------------------------- */

#define NA_WSO2 "not applicable to wso2-4 (rule backend.ssl-profile-per-host-port)"

/* Adds a case not applicable (asserting it worked). */
static void add_na(gh_run *run, const char *name, const char **features, size_t n) {
  gh_case c = {.name = (char *)name,
               .file = "backend-mtls/session-reuse.yaml",
               .features = (char **)features,
               .feature_count = n,
               .profile = "wso2-4",
               .outcome = GH_SKIP,
               .not_applicable = 1,
               .message = NA_WSO2};
  assert_non_null(gh_run_add(run, &c));
}

/* The run's result as each report gives it: conformance.json's "result"
 * (into result) and the console summary's first word (into word). */
static void results_of(gh_run *run, const char *path, char *result, size_t rlen, char *word,
                       size_t wlen) {
  char why[256] = "";
  if (gh_conformance_write(run, path, why, sizeof(why)) != 0)
    fail_msg("gh_conformance_write: %s", why);
  json_t *root = load_json(path);
  snprintf(result, rlen, "%s", json_string_value(json_object_get(root, "result")));
  json_decref(root);
  size_t n = 0;
  char *text = console_of(run, 0, &n);
  const char *summary = strstr(text, "cases: ");
  assert_non_null(summary);
  const char *line = summary;
  while (line > text && line[-1] != '\n')
    line--;
  snprintf(word, wlen, "%.*s", (int)(summary - line), line);
  free(text);
}

/* The result over a run is a table: what the cases are -> what the reports say. */
static void test_not_applicable_results(void **state) {
  (void)state;
  static const char *f[] = {"backend-mtls"};
  static const struct {
    const char *cases; /* p pass, s skip, n not applicable, f fail */
    const char *result;
    const char *word; /* the console summary's first word(s), padded */
  } rows[] = {
      {"pn", "success", "SUCCESS  2 "},
      {"pnn", "success", "SUCCESS  3 "},
      {"n", GH_NOT_APPLICABLE, "NOT APPLICABLE  1 "},
      {"nn", GH_NOT_APPLICABLE, "NOT APPLICABLE  2 "},
      {"pns", "partial", "PARTIAL  3 "},
      {"ns", "partial", "PARTIAL  2 "},
      {"pnf", "failure", "FAILURE  3 "},
      {"", "partial", "PARTIAL  0 "},
  };
  char *path = test_scratch_path("na-results.json");
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    gh_run run = {.implementation = "sim", .profile = "wso2-4"};
    for (const char *k = rows[i].cases; *k; k++) {
      char name[32];
      snprintf(name, sizeof(name), "case %zu%c", (size_t)(k - rows[i].cases), *k);
      if (*k == 'n')
        add_na(&run, name, f, 1);
      else
        add_case(&run, name, NULL, f, 1, "wso2-4",
                 *k == 'p'   ? GH_PASS
                 : *k == 's' ? GH_SKIP
                             : GH_FAIL,
                 *k == 'p' ? NULL : "lacks x", NULL, NULL, NULL, 0.1, 0);
    }
    char result[64], word[64];
    results_of(&run, path, result, sizeof(result), word, sizeof(word));
    if (strcmp(result, rows[i].result) != 0 || strcmp(word, rows[i].word) != 0)
      fail_msg("cases \"%s\": result %s, console \"%s\"; expected %s, \"%s\"", rows[i].cases,
               result, word, rows[i].result, rows[i].word);
    gh_run_free(&run);
  }
  free(path);
}

/* Every report keeps a case not applicable apart from the skips. */
static void test_not_applicable_reports(void **state) {
  (void)state;
  static const char *mtls[] = {"backend-mtls"};
  static const char *trust[] = {"backend-trust"};
  gh_run run = {.implementation = "sim",
                .implementation_version = "0.1.0",
                .profile = "wso2-4",
                .harness_version = "0.1.0",
                .fake_epoch = "2030-01-01T00:00:00Z",
                .started = "2026-11-23T11:50:00",
                .hostname = "ci",
                .seconds = 1.0};
  add_case(&run, "identity per host", NULL, mtls, 1, "wso2-4", GH_PASS, NULL, NULL, NULL, NULL, 0.2,
           1000);
  add_na(&run, "reuse[reuse=off]", mtls, 1);
  add_na(&run, "trust reuse", trust, 1);
  add_case(&run, "lb", NULL, trust, 1, "wso2-4", GH_SKIP, "the sim driver lacks capability x", NULL,
           NULL, NULL, 0, 0);

  /* the copy keeps the flag; a flag on anything but a skip is dropped */
  assert_int_equal(1, run.cases[1].not_applicable);
  assert_string_equal(GH_NOT_APPLICABLE, gh_case_outcome_name(&run.cases[1]));
  assert_string_equal("skip", gh_case_outcome_name(&run.cases[3]));
  assert_string_equal("pass", gh_case_outcome_name(&run.cases[0]));
  assert_string_equal("unknown", gh_case_outcome_name(NULL));
  gh_case odd = {.name = "passed", .outcome = GH_PASS, .not_applicable = 1};
  const gh_case *added = gh_run_add(&run, &odd);
  assert_non_null(added);
  assert_int_equal(0, added->not_applicable);
  gh_tally t = gh_run_tally(&run);
  assert_int_equal(2, t.pass);
  assert_int_equal(1, t.skip);
  assert_int_equal(2, t.na);

  /* console: its own label and count */
  size_t n = 0;
  char *text = console_of(&run, 0, &n);
  assert_non_null(strstr(text, "N/A   reuse[reuse=off]  (0.00 s)\n      " NA_WSO2 "\n"));
  assert_non_null(strstr(text, "SKIP  lb  (0.00 s)\n"));
  assert_non_null(
      strstr(text, "PARTIAL  5 cases: 2 passed, 0 failed, 0 errors, 1 skipped, 2 not applicable"));
  free(text);
  text = console_of(&run, 1, &n);
  assert_non_null(strstr(text, "\033[36mN/A\033[0m   reuse"));
  assert_non_null(strstr(text, "\033[36m2 not applicable\033[0m"));
  free(text);

  /* junit.xml: a <skipped> naming the rule, counted as skipped, both schemas */
  char *path = test_scratch_path("na-junit.xml");
  char why[256] = "";
  if (gh_junit_write(&run, path, why, sizeof(why)) != 0)
    fail_msg("gh_junit_write: %s", why);
  assert_both_schemas(path);
  xmlDocPtr doc = load_junit(path);
  assert_xpath_count(doc, 3, "count(//skipped)");
  assert_xpath_string(doc, NA_WSO2,
                      "string(//testcase[@name='reuse[reuse=off]']/skipped/@message)");
  assert_xpath_count(doc, 1, "count(//testsuite[@name='backend-mtls' and @skipped='1'])");
  assert_xpath_count(doc, 1, "count(//testsuite[@name='backend-trust' and @skipped='2'])");
  char *out = xpath_string(doc, "string(//testsuite[@name='backend-trust']/system-out)");
  assert_non_null(strstr(out, "=== trust reuse: " GH_NOT_APPLICABLE " ("));
  free(out);
  xmlFreeDoc(doc);
  free(path);

  /* conformance.json: its own outcome, counts and list */
  path = test_scratch_path("na-conformance.json");
  if (gh_conformance_write(&run, path, why, sizeof(why)) != 0)
    fail_msg("gh_conformance_write: %s", why);
  json_t *root = load_json(path);
  assert_json_str(root, "result", "partial"); /* the real skip */
  json_t *stats = json_object_get(root, "statistics");
  assert_json_int(stats, "skip", 1);
  assert_json_int(stats, GH_NOT_APPLICABLE, 2);
  json_t *features = json_object_get(root, "features");
  assert_feature(features, "backend-mtls", "success", 1, 0, 0, 0);
  assert_json_int(json_object_get(features, "backend-mtls"), GH_NOT_APPLICABLE, 1);
  assert_feature(features, "backend-trust", "partial", 0, 0, 0, 1);
  assert_json_int(json_object_get(features, "backend-trust"), GH_NOT_APPLICABLE, 1);
  json_t *skipped = json_object_get(root, "skipped");
  assert_int_equal(1, json_array_size(skipped));
  assert_json_str(json_array_get(skipped, 0), "name", "lb");
  json_t *na = json_object_get(root, GH_NOT_APPLICABLE);
  assert_int_equal(2, json_array_size(na));
  assert_json_str(json_array_get(na, 0), "name", "reuse[reuse=off]");
  assert_json_str(json_array_get(na, 0), "reason", NA_WSO2);
  json_t *cases = json_object_get(root, "cases");
  assert_json_str(json_array_get(cases, 1), "outcome", GH_NOT_APPLICABLE);
  assert_json_str(json_array_get(cases, 1), "message", NA_WSO2);
  assert_json_str(json_array_get(cases, 3), "outcome", "skip");
  json_decref(root);
  free(path);
  gh_run_free(&run);
}

/* A cluster case (issue 19): conformance.json gets "nodes" and "calls" (each
 * call's fake time, the node that answered, its status, whether it held) from
 * the call marks of its timeline, and junit.xml's system-out one line of them;
 * a case that is not a cluster gets neither. */
static void test_cluster_calls(void **state) {
  (void)state;
  static const char *features[] = {"cluster"};
  gh_event events[] = {
      {.at_ms = 590000, .kind = GH_EV_CLOCK, .ok = 1, .label = "step 1 advance_to", .node = 1},
      {.at_ms = 590000, .kind = GH_EV_CALL, .ok = 1, .label = "call", .node = 1, .status = 500},
      {.at_ms = 590000, .kind = GH_EV_CALL, .ok = 1, .label = "call", .node = 2, .status = 500},
      {.at_ms = 600000,
       .kind = GH_EV_TICK,
       .ok = 1,
       .clock = "node 1 sender",
       .label = "tick",
       .node = 1},
      {.at_ms = 600000, .kind = GH_EV_CALL, .ok = 1, .label = "call", .node = 1, .status = 200},
      {.at_ms = 600000, .kind = GH_EV_CALL, .ok = 0, .label = "call", .node = 2, .status = 500},
  };
  gh_case cluster = {.name = "two-nodes-flap",
                     .file = "cluster/two-nodes-flap.yaml",
                     .features = (char **)features,
                     .feature_count = 1,
                     .profile = "wso2-4",
                     .outcome = GH_PASS,
                     .fake_ms = 600000,
                     .events = events,
                     .event_count = sizeof(events) / sizeof(events[0]),
                     .nodes = 2};
  gh_case single = cluster;
  single.name = "one gateway";
  single.nodes = 0;
  gh_run run = {.implementation = "sim", .profile = "wso2-4"};
  assert_non_null(gh_run_add(&run, &cluster));
  assert_non_null(gh_run_add(&run, &single));
  char *path = test_scratch_path("cluster.json");
  char why[256] = "";
  if (gh_conformance_write(&run, path, why, sizeof(why)) != 0)
    fail_msg("gh_conformance_write: %s", why);
  json_t *root = load_json(path);
  json_t *cases = json_object_get(root, "cases");
  json_t *c = json_array_get(cases, 0);
  assert_json_int(c, "nodes", 2);
  json_t *calls = json_object_get(c, "calls");
  assert_int_equal(4, json_array_size(calls));
  static const struct {
    const char *name;
    double at;
    long long node, status;
    int ok;
  } want[] = {
      {"both refuse before the tick: node 1", 590.0, 1, 500, 1},
      {"both refuse before the tick: node 2", 590.0, 2, 500, 1},
      {"node 1 live at its tick", 600.0, 1, 200, 1},
      {"node 2 still refusing, its expectation failed", 600.0, 2, 500, 0},
  };
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    json_t *call = json_array_get(calls, i);
    if (fabs(json_num(call, "fake_seconds") - want[i].at) > 1e-9 ||
        json_integer_value(json_object_get(call, "node")) != want[i].node ||
        json_integer_value(json_object_get(call, "status")) != want[i].status ||
        json_is_true(json_object_get(call, "ok")) != want[i].ok)
      fail_msg("%s: got %s", want[i].name, json_dumps(call, JSON_COMPACT));
  }
  json_t *one = json_array_get(cases, 1);
  assert_null(json_object_get(one, "nodes"));
  assert_null(json_object_get(one, "calls"));
  json_decref(root);
  char *xml = test_scratch_path("cluster.xml");
  if (gh_junit_write(&run, xml, why, sizeof(why)) != 0)
    fail_msg("gh_junit_write: %s", why);
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(0, gu_read_file(xml, (size_t)1 << 20, &text, &len));
  const char *line = "cluster of 2 nodes; calls (fake seconds node:status): 590.000 1:500 "
                     "2:500; 600.000 1:200 2:500!\n";
  if (strstr(text, line) == NULL)
    fail_msg("junit.xml lacks '%s':\n%s", line, text);
  assert_int_equal(1, (strstr(strstr(text, line) + 1, "cluster of") == NULL)); /* only once */
  free(text);
  free(xml);
  free(path);
  gh_run_free(&run);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clean_characters),
      cmocka_unit_test(test_clean_secrets),
      cmocka_unit_test(test_outcome_names),
      cmocka_unit_test(test_run_add_copies_and_redacts),
      cmocka_unit_test(test_console_plain),
      cmocka_unit_test(test_console_color),
      cmocka_unit_test(test_console_color_detection),
      cmocka_unit_test(test_junit_hostile),
      cmocka_unit_test(test_reports_filter_direct_cases),
      cmocka_unit_test(test_junit_empty_and_fallbacks),
      cmocka_unit_test(test_junit_write_failures),
      cmocka_unit_test(test_conformance_write_failures),
      cmocka_unit_test(test_conformance_hostile),
      cmocka_unit_test(test_conformance_results),
      cmocka_unit_test(test_conformance_cases),
      cmocka_unit_test(test_not_applicable_results),
      cmocka_unit_test(test_not_applicable_reports),
      cmocka_unit_test(test_cluster_calls),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  xmlCleanupParser();
  return failed;
}
