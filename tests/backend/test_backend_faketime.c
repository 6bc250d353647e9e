/* test_backend_faketime.c - gatecert-backend under libfaketime: its clock (the
 * report's time, client certificate validity, the catalogue's dates) is the
 * fake one, and a step of the timestamp file takes effect on the next
 * connection without any real waiting.
 *
 * The test process runs in real time, so the server certificate curl checks
 * is made valid across both the real date and the fake dates (2010..2050);
 * the client certificate is valid for one fake day from 2030-01-01.
 */
#include "support.h"
#include "backend_support.h"
#include "backend_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DAY  ((int64_t)86400)
#define YEAR (365 * DAY)

/* Issues a leaf under issuer at TEST_REFERENCE; saves <base>.pem and .key. */
static void issue(gcert_kind kind, const char *subject, int64_t not_before, int64_t not_after,
                  const gcert_item *issuer, const char *base) {
  static const char *const localhost[] = {"localhost"};
  gcert_spec spec;
  gcert_spec_init(&spec, kind);
  spec.subject = subject;
  spec.not_before = not_before;
  spec.not_after = not_after;
  if (kind == GCERT_KIND_SERVER) {
    spec.dns = localhost;
    spec.dns_count = 1;
  }
  gcert_item item = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_issue(&spec, TEST_REFERENCE, issuer, NULL, &item, &err), &err);
  char path[BS_PATH_MAX], file[BS_NAME_MAX];
  snprintf(file, sizeof(file), "%s.pem", base);
  bs_check(bs_save_certs(bt_scratch(path, file), &item.cert, 1) == 0);
  snprintf(file, sizeof(file), "%s.key", base);
  bs_check(bs_save_key(bt_scratch(path, file), item.key) == 0);
  gcert_item_free(&item);
}

static int setup_pki(void **state) {
  (void)state;
  static const char *const subject = "CN=gatecert faketime CA,O=gatecert";
  gcert_spec spec;
  gcert_spec_init(&spec, GCERT_KIND_CA);
  spec.subject = subject;
  spec.not_before = -20 * YEAR;
  spec.not_after = 20 * YEAR;
  gcert_item ca = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_issue(&spec, TEST_REFERENCE, NULL, NULL, &ca, &err), &err);
  char path[BS_PATH_MAX];
  bs_check(bs_save_certs(bt_scratch(path, "ca.pem"), &ca.cert, 1) == 0);
  issue(GCERT_KIND_SERVER, "CN=localhost,O=gatecert", -20 * YEAR, 20 * YEAR, &ca, "server");
  issue(GCERT_KIND_CLIENT, "CN=gatecert client,O=gatecert", -3600, DAY, &ca, "client");
  gcert_item_free(&ca);
  return 0;
}

static void check_prefix(const char *what, const char *value, const char *prefix) {
  if (value == NULL || strncmp(value, prefix, strlen(prefix)) != 0)
    fail_msg("%s is \"%s\", expected it to start with \"%s\"", what, value ? value : "(null)",
             prefix);
}

/* A client certificate valid on 2030-01-01 is accepted then, and rejected as
 * expired once the fake clock is stepped to 2030-01-03. */
static void test_client_cert_expires(void **state) {
  (void)state;
  const char *dir = test_scratch_dir();
  char stamp[BS_PATH_MAX], report[BS_PATH_MAX], cert[BS_PATH_MAX], key[BS_PATH_MAX];
  char ca[BS_PATH_MAX], ccert[BS_PATH_MAX], ckey[BS_PATH_MAX];
  bt_scratch(stamp, "expiry.faketime");
  unlink(bt_scratch(report, "fake.jsonl"));
  bs_check(bs_faketime_set(stamp, "2030-01-01 00:00:00") == 0);
  char spec[5 * BS_PATH_MAX];
  snprintf(spec, sizeof(spec), "fake:cert=%s,key=%s,client-auth=require,client-ca=%s",
           bt_scratch(cert, "server.pem"), bt_scratch(key, "server.key"), bt_scratch(ca, "ca.pem"));
  const char *args[] = {"--report-dir", dir, "--backend", spec, NULL};
  bs_start_opts opts = {.args = args, .scratch_dir = dir, .faketime_file = stamp};
  bs_process *p = bs_start(&opts);
  bs_check(p != NULL);

  bs_request req = {.port = bs_port(p, "fake"),
                    .path = "/menaka",
                    .cainfo = ca,
                    .cert = bt_scratch(ccert, "client.pem"),
                    .key = bt_scratch(ckey, "client.key")};
  bs_response res;
  if (bs_http(&req, &res) != CURLE_OK || res.status != 200)
    fail_msg("on 2030-01-01: curl %d (%s), HTTP %ld", res.code, res.error, res.status);
  bs_response_free(&res);
  bs_events ev;
  bs_check(bs_report_wait(report, "request", 1, 2000, &ev) == 0);
  json_t *e = bs_events_last(&ev, "request");
  check_prefix("request time", bs_json_str(e, "time"), "2030-01-01T00:0");
  assert_non_null(bs_json_str(e, "client_cert.sha256"));
  bs_events_free(&ev);

  /* two fake days later: the next connection sees the step */
  bs_check(bs_faketime_set(stamp, "2030-01-03 00:00:00") == 0);
  bs_http(&req, &res);
  if (res.code == CURLE_OK || res.status == 200)
    fail_msg("on 2030-01-03 an expired client certificate got HTTP %ld", res.status);
  bs_response_free(&res);
  bs_check(bs_report_wait(report, "handshake_failed", 1, 2000, &ev) == 0);
  e = bs_events_last(&ev, "handshake_failed");
  const char *error = bs_json_str(e, "error");
  if (error == NULL || strstr(error, "certificate has expired") == NULL)
    fail_msg("handshake_failed error \"%s\" does not say the certificate has expired",
             error ? error : "(null)");
  check_prefix("handshake_failed time", bs_json_str(e, "time"), "2030-01-03T00:0");
  assert_int_equal(1, (int)bs_events_count(&ev, "request"));
  bs_events_free(&ev);
  bs_check(bs_stop(p) == 0);
}

/* The fake clock runs on from its anchor: two events a little apart are in
 * order and on the anchored day. */
static void test_clock_runs_on(void **state) {
  (void)state;
  const char *dir = test_scratch_dir();
  char stamp[BS_PATH_MAX], report[BS_PATH_MAX], cert[BS_PATH_MAX], key[BS_PATH_MAX];
  char ca[BS_PATH_MAX];
  bt_scratch(stamp, "runs-on.faketime");
  unlink(bt_scratch(report, "runs-on.jsonl"));
  bs_check(bs_faketime_set(stamp, "2031-07-15 12:00:00") == 0);
  char spec[3 * BS_PATH_MAX];
  snprintf(spec, sizeof(spec), "runs-on:cert=%s,key=%s", bt_scratch(cert, "server.pem"),
           bt_scratch(key, "server.key"));
  const char *args[] = {"--report-dir", dir, "--backend", spec, NULL};
  bs_start_opts opts = {.args = args, .scratch_dir = dir, .faketime_file = stamp};
  bs_process *p = bs_start(&opts);
  bs_check(p != NULL);
  for (int i = 0; i < 2; i++) {
    bs_request req = {.port = bs_port(p, "runs-on"), .cainfo = bt_scratch(ca, "ca.pem")};
    bs_response res;
    if (bs_http(&req, &res) != CURLE_OK)
      fail_msg("curl %d (%s)", res.code, res.error);
    bs_response_free(&res);
  }
  bs_events ev;
  bs_check(bs_report_wait(report, "request", 2, 2000, &ev) == 0);
  const char *t0 = bs_json_str(ev.items[0], "time");
  const char *t1 = bs_json_str(ev.items[1], "time");
  check_prefix("first time", t0, "2031-07-15T12:0");
  check_prefix("second time", t1, "2031-07-15T12:0");
  assert_true(strcmp(t0, t1) <= 0);
  bs_events_free(&ev);
}

/* --catalogue dates its certificates from "now", which is the fake now. */
static void test_catalogue_fake_now(void **state) {
  (void)state;
  char stamp[BS_PATH_MAX], certs[BS_PATH_MAX], root[BS_PATH_MAX];
  bt_scratch(stamp, "catalogue.faketime");
  bt_scratch(certs, "catalogue-fake");
  mkdir(certs, 0700);
  bs_check(bs_faketime_set(stamp, "2035-06-01 00:00:00") == 0);
  const char *args[] = {"--catalogue", "--certs-dir", certs, NULL};
  bs_start_opts opts = {.args = args, .scratch_dir = test_scratch_dir(), .faketime_file = stamp};
  bs_process *p = bs_start(&opts);
  bs_check(p != NULL);

  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  assert_status(
      GCERT_OK,
      gcert_read_file(bs_join(root, certs, "root.pem"), GCERT_FORMAT_PEM, NULL, &store, &err),
      &err);
  gcert_info info;
  const time_t fake_now = (time_t)2064268800; /* 2035-06-01T00:00:00Z */
  assert_status(GCERT_OK,
                gcert_describe(sk_X509_value(store.entries[0].chain, 0), fake_now, &info, &err),
                &err);
  gcert_store_free(&store);
  if (!(info.not_before <= fake_now && fake_now < info.not_after &&
        info.not_before > fake_now - 7 * DAY))
    fail_msg("root.pem valid %lld..%lld, not dated from the fake 2035-06-01",
             (long long)info.not_before, (long long)info.not_after);

  /* and so, to a real-time client, the valid backend is not yet valid */
  bs_request req = {.port = bs_port(p, "valid"), .cainfo = root};
  bs_response res;
  bs_http(&req, &res);
  assert_int_equal(CURLE_PEER_FAILED_VERIFICATION, res.code);
  assert_int_equal(X509_V_ERR_CERT_NOT_YET_VALID, res.verify_result);
  bs_response_free(&res);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_client_cert_expires, bs_teardown),
      cmocka_unit_test_teardown(test_clock_runs_on, bs_teardown),
      cmocka_unit_test_teardown(test_catalogue_fake_now, bs_teardown),
  };
  return bt_run_curl_tests(tests, setup_pki, NULL);
}
