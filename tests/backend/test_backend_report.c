/* test_backend_report.c - what gatecert-backend says it saw: the JSON-lines
 * report (DIR/<name>.jsonl) and the echo body that carries the same event.
 *
 * A table of requests (method, path, extra headers, body) is sent to one
 * backend; each answer must be the documented echo body, its "saw" must equal
 * the report line with the same seq, and every request event must carry the
 * documented fields. Secrets sent in Authorization, Proxy-Authorization and
 * Cookie must appear as "[redacted]" and nowhere else, byte for byte.
 */
#include "support.h"
#include "backend_support.h"
#include "backend_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const secrets[] = {"secret-token-123", "cookie-secret-456", "proxy-secret-789"};

typedef struct echo_case {
  const char *method;
  const char *uri;     /* what the client asks for */
  const char *path;    /* the echo body's "path" */
  const char *segment; /* the last path segment, as in "Jersey say : <segment>" */
  const char *body;
  const char *headers[5];
} echo_case;

static const echo_case echo_cases[] = {
    {"GET",
     "/menaka",
     "/menaka",
     "menaka",
     NULL,
     {"X-Gatecert-Test: hello-42", "Authorization: Bearer secret-token-123",
      "Cookie: session=cookie-secret-456", "Proxy-Authorization: Basic proxy-secret-789", NULL}},
    {"GET", "/deep/path/hello?x=1&y=two", "/deep/path/hello", "hello", NULL, {NULL}},
    {"POST", "/submit", "/submit", "submit", "a=1&b=2", {"X-Gatecert-Test: posted", NULL}},
    {"DELETE", "/apis/42", "/apis/42", "42", NULL, {NULL}},
};

#define ECHO_N (sizeof(echo_cases) / sizeof(echo_cases[0]))

/* Starts backends named names[0..n) serving the valid server certificate. */
static bs_process *start_named(const char *const *names, size_t n, int with_report) {
  static char specs[4][3 * BS_PATH_MAX];
  const char *args[2 + 2 * 4 + 1];
  size_t argc = 0;
  char cert[BS_PATH_MAX], key[BS_PATH_MAX];
  if (with_report) {
    args[argc++] = "--report-dir";
    args[argc++] = test_scratch_dir();
  }
  for (size_t i = 0; i < n && i < 4; i++) {
    snprintf(specs[i], sizeof(specs[i]), "%s:cert=%s,key=%s", names[i],
             bt_scratch(cert, "server.chain.pem"), bt_scratch(key, "server.key"));
    args[argc++] = "--backend";
    args[argc++] = specs[i];
  }
  args[argc] = NULL;
  bs_start_opts opts = {.args = args, .scratch_dir = test_scratch_dir()};
  bs_process *p = bs_start(&opts);
  bs_check(p != NULL);
  assert_int_equal(n, p->count);
  return p;
}

static void fresh_report(const char *name, char out[BS_PATH_MAX]) {
  char file[BS_NAME_MAX + 8];
  snprintf(file, sizeof(file), "%s.jsonl", name);
  unlink(bt_scratch(out, file));
}

/* n decimal digits at s, or -1. */
static int digits(const char *s, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* "2030-01-01T00:00:05.123Z", within a minute of the test's clock. */
static void check_time(const char *t) {
  assert_non_null(t);
  static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
  int ok = strlen(t) == sizeof(shape) - 1;
  for (size_t i = 0; ok && i < sizeof(shape) - 1; i++)
    ok = shape[i] == 'd' ? (t[i] >= '0' && t[i] <= '9') : t[i] == shape[i];
  if (!ok)
    fail_msg("time \"%s\" is not YYYY-MM-DDTHH:MM:SS.mmmZ", t);
  struct tm tm = {0};
  tm.tm_year = digits(t, 4) - 1900;
  tm.tm_mon = digits(t + 5, 2) - 1;
  tm.tm_mday = digits(t + 8, 2);
  tm.tm_hour = digits(t + 11, 2);
  tm.tm_min = digits(t + 14, 2);
  tm.tm_sec = digits(t + 17, 2);
  double diff = difftime(timegm(&tm), time(NULL));
  if (diff < -60 || diff > 60)
    fail_msg("time \"%s\" is %.0f s away from the wall clock", t, diff);
}

static void check_request_event(json_t *e, const echo_case *ec, int port) {
  assert_string_equal("echo", bs_json_str(e, "backend"));
  assert_string_equal("request", bs_json_str(e, "event"));
  assert_true(json_is_true(json_object_get(e, "reached_app")));
  assert_string_equal("localhost", bs_json_str(e, "sni"));
  assert_string_equal("TLSv1.3", bs_json_str(e, "tls_version"));
  assert_true(json_is_null(json_object_get(e, "client_cert")));
  assert_true(json_is_null(json_object_get(e, "error")));
  assert_true(json_is_integer(json_object_get(e, "seq")));
  check_time(bs_json_str(e, "time"));
  assert_string_equal(ec->method, bs_json_str(e, "request.method"));
  assert_string_equal(ec->uri, bs_json_str(e, "request.uri"));
  json_t *headers = bs_json_at(e, "request.headers");
  assert_true(json_is_object(headers));
  char host[64];
  snprintf(host, sizeof(host), "localhost:%d", port);
  assert_string_equal(host, bs_json_str(headers, "Host"));
  for (size_t i = 0; ec->headers[i] != NULL; i++) {
    const char *colon = strchr(ec->headers[i], ':');
    char name[64];
    snprintf(name, sizeof(name), "%.*s", (int)(colon - ec->headers[i]), ec->headers[i]);
    const char *value = json_string_value(json_object_get(headers, name));
    if (value == NULL)
      fail_msg("header %s missing from the event", name);
    int secret = strcmp(name, "Authorization") == 0 || strcmp(name, "Cookie") == 0 ||
                 strcmp(name, "Proxy-Authorization") == 0;
    assert_string_equal(secret ? "[redacted]" : colon + 2, value);
  }
}

static void test_echo_and_report(void **state) {
  (void)state;
  static const char *const names[] = {"echo"};
  char report[BS_PATH_MAX], ca[BS_PATH_MAX];
  fresh_report("echo", report);
  bs_process *p = start_named(names, 1, 1);
  int port = bs_port(p, "echo");
  json_int_t seqs[ECHO_N];
  json_t *saw[ECHO_N];
  for (size_t i = 0; i < ECHO_N; i++) {
    const echo_case *ec = &echo_cases[i];
    bs_request req = {.port = port,
                      .path = ec->uri,
                      .method = ec->method,
                      .body = ec->body,
                      .headers = ec->headers,
                      .cainfo = bt_scratch(ca, "root.pem")};
    bs_response res;
    if (bs_http(&req, &res) != CURLE_OK || res.status != 200)
      fail_msg("%s %s: curl %d (%s), HTTP %ld", ec->method, ec->uri, res.code, res.error,
               res.status);
    for (size_t s = 0; s < sizeof(secrets) / sizeof(secrets[0]); s++)
      assert_null(strstr(res.body, secrets[s]));
    json_error_t jerr;
    json_t *body = json_loads(res.body, 0, &jerr);
    if (body == NULL)
      fail_msg("echo body is not JSON (%s): %s", jerr.text, res.body);
    char message[128];
    snprintf(message, sizeof(message), "Jersey say : %s", ec->segment);
    assert_string_equal(message, bs_json_str(body, "message"));
    assert_string_equal(ec->method, bs_json_str(body, "method"));
    assert_string_equal(ec->path, bs_json_str(body, "path"));
    assert_string_equal("echo", bs_json_str(body, "backend"));
    saw[i] = json_incref(json_object_get(body, "saw"));
    assert_true(json_is_object(saw[i]));
    check_request_event(saw[i], ec, port);
    seqs[i] = json_integer_value(json_object_get(saw[i], "seq"));
    json_decref(body);
    bs_response_free(&res);
  }

  bs_events ev;
  bs_check(bs_report_wait(report, "request", ECHO_N, 2000, &ev) == 0);
  assert_int_equal(ECHO_N, ev.count);
  for (size_t i = 0; i < ECHO_N; i++) {
    if (i > 0 && seqs[i] <= seqs[i - 1])
      fail_msg("seq %lld after %lld", (long long)seqs[i], (long long)seqs[i - 1]);
    json_t *line = bs_events_seq(&ev, seqs[i]);
    if (line == NULL)
      fail_msg("no report line with seq %lld", (long long)seqs[i]);
    if (!json_equal(line, saw[i]))
      fail_msg("report line %lld differs from the echo body's \"saw\"", (long long)seqs[i]);
    check_request_event(line, &echo_cases[i], port);
    json_decref(saw[i]);
  }
  bs_events_free(&ev);

  size_t len = 0;
  char *bytes = bs_slurp(report, &len);
  assert_non_null(bytes);
  assert_true(len > 0 && bytes[len - 1] == '\n');
  size_t lines = 0;
  for (size_t i = 0; i < len; i++)
    lines += bytes[i] == '\n';
  assert_int_equal(ECHO_N, lines);
  for (size_t s = 0; s < sizeof(secrets) / sizeof(secrets[0]); s++) {
    if (memmem(bytes, len, secrets[s], strlen(secrets[s])) != NULL)
      fail_msg("the report holds the secret \"%s\"", secrets[s]);
  }
  free(bytes);
}

/* curl sends no SNI for an IP address: the event says null. */
static void test_no_sni(void **state) {
  (void)state;
  static const char *const names[] = {"echo"};
  char report[BS_PATH_MAX], ca[BS_PATH_MAX];
  fresh_report("echo", report);
  bs_process *p = start_named(names, 1, 1);
  bs_request req = {.port = bs_port(p, "echo"),
                    .host = "127.0.0.1",
                    .path = "/ip",
                    .cainfo = bt_scratch(ca, "root.pem")};
  bs_response res;
  if (bs_http(&req, &res) != CURLE_OK || res.status != 200)
    fail_msg("curl %d (%s), HTTP %ld", res.code, res.error, res.status);
  bs_response_free(&res);
  bs_events ev;
  bs_check(bs_report_wait(report, "request", 1, 2000, &ev) == 0);
  json_t *e = bs_events_last(&ev, "request");
  assert_true(json_is_null(json_object_get(e, "sni")));
  assert_string_equal("TLSv1.3", bs_json_str(e, "tls_version"));
  bs_events_free(&ev);
}

/* Backends of one process write separate files, each with its own name. */
static void test_one_file_per_backend(void **state) {
  (void)state;
  static const char *const names[] = {"alpha", "beta"};
  char reports[2][BS_PATH_MAX], ca[BS_PATH_MAX];
  fresh_report("alpha", reports[0]);
  fresh_report("beta", reports[1]);
  bs_process *p = start_named(names, 2, 1);
  assert_int_not_equal(bs_port(p, "alpha"), bs_port(p, "beta"));
  static const size_t requests[] = {3, 1};
  for (size_t b = 0; b < 2; b++) {
    for (size_t i = 0; i < requests[b]; i++) {
      bs_request req = {
          .port = bs_port(p, names[b]), .path = "/menaka", .cainfo = bt_scratch(ca, "root.pem")};
      bs_response res;
      if (bs_http(&req, &res) != CURLE_OK)
        fail_msg("%s: curl %d (%s)", names[b], res.code, res.error);
      json_t *body = json_loads(res.body, 0, NULL);
      assert_string_equal(names[b], bs_json_str(body, "backend"));
      json_decref(body);
      bs_response_free(&res);
    }
  }
  for (size_t b = 0; b < 2; b++) {
    bs_events ev;
    bs_check(bs_report_wait(reports[b], "request", requests[b], 2000, &ev) == 0);
    assert_int_equal(requests[b], ev.count);
    for (size_t i = 0; i < ev.count; i++) {
      assert_string_equal(names[b], bs_json_str(ev.items[i], "backend"));
      if (i > 0)
        assert_true(json_integer_value(json_object_get(ev.items[i], "seq")) >
                    json_integer_value(json_object_get(ev.items[i - 1], "seq")));
    }
    bs_events_free(&ev);
  }
}

/* A second run with the same report directory writes a well-formed file
 * whose last event is the second run's. (Whether the first run's lines are
 * kept is not in the contract: README says "appends" per event, and the
 * backend opens the file with O_TRUNC, so they are not.) */
static void test_report_second_run(void **state) {
  (void)state;
  static const char *const names[] = {"echo"};
  char report[BS_PATH_MAX], ca[BS_PATH_MAX], host[64] = "";
  fresh_report("echo", report);
  for (int run = 0; run < 2; run++) {
    bs_process *p = start_named(names, 1, 1);
    bs_request req = {.port = bs_port(p, "echo"), .cainfo = bt_scratch(ca, "root.pem")};
    snprintf(host, sizeof(host), "localhost:%d", req.port);
    bs_response res;
    if (bs_http(&req, &res) != CURLE_OK)
      fail_msg("curl %d (%s)", res.code, res.error);
    bs_response_free(&res);
    bs_check(bs_stop(p) == 0);
  }
  bs_events ev;
  bs_check(bs_report_load(report, &ev) == 0);
  assert_true(ev.count >= 1);
  assert_string_equal(host, bs_json_str(bs_events_last(&ev, "request"), "request.headers.Host"));
  bs_events_free(&ev);
}

/* Without --report-dir nothing is written, and requests still succeed. */
static void test_no_report_dir(void **state) {
  (void)state;
  static const char *const names[] = {"quiet"};
  char report[BS_PATH_MAX], ca[BS_PATH_MAX];
  fresh_report("quiet", report);
  bs_process *p = start_named(names, 1, 0);
  bs_request req = {
      .port = bs_port(p, "quiet"), .path = "/menaka", .cainfo = bt_scratch(ca, "root.pem")};
  bs_response res;
  if (bs_http(&req, &res) != CURLE_OK || res.status != 200)
    fail_msg("curl %d (%s), HTTP %ld", res.code, res.error, res.status);
  assert_non_null(strstr(res.body, "Jersey say : menaka"));
  bs_response_free(&res);
  assert_int_equal(-1, access(report, F_OK));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_echo_and_report, bs_teardown),
      cmocka_unit_test_teardown(test_no_sni, bs_teardown),
      cmocka_unit_test_teardown(test_one_file_per_backend, bs_teardown),
      cmocka_unit_test_teardown(test_report_second_run, bs_teardown),
      cmocka_unit_test_teardown(test_no_report_dir, bs_teardown),
  };
  return bt_run_curl_tests(tests, bt_setup_catalogue, NULL);
}
