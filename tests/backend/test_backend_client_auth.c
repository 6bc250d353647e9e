/* test_backend_client_auth.c - client certificates as gatecert-backend sees
 * them: whether it asks, what it accepts, and what it reports.
 *
 * One row per situation (client-auth mode, trusted client CAs, the client
 * certificate curl presents), each run with a TLS 1.2 and a TLS 1.3 client,
 * because the two fail at different moments (1.2 inside the handshake, 1.3
 * after the client already sent its Finished). A row either gets 200 and a
 * request event whose client_cert is exactly the certificate sent (or null),
 * or a failed curl call and a handshake_failed event whose error says why.
 */
#include "support.h"
#include "backend_support.h"
#include "backend_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DAY ((int64_t)86400)

static gcert_catalogue *catalogue;

typedef struct auth_case {
  const char *name;
  const char *client_auth; /* spec value; NULL: left to the default */
  const char *client_ca;   /* scratch file name; NULL: none */
  const char *cert;        /* scratch base name of the client cert and key; NULL: none */
  int ok;                  /* 1: 200; 0: the handshake fails */
  int cert_reported;       /* ok rows: 1 when client_cert must describe cert (failing
                              rows: whenever cert is set, it was presented) */
  const char *error;       /* failing rows: substring of the event's error */
} auth_case;

static const auth_case auth_cases[] = {
    /* not asked: curl has a certificate but never sends it */
    {"none-with-cert", "none", "client-ca.pem", "client", 1, 0, NULL},
    {"default-with-cert", NULL, "client-ca.pem", "client", 1, 0, NULL},
    {"optional-no-cert", "optional", "client-ca.pem", NULL, 1, 0, NULL},
    {"optional-valid", "optional", "client-ca.pem", "client", 1, 1, NULL},
    {"require-valid", "require", "client-ca.pem", "client", 1, 1, NULL},
    {"require-no-cert", "require", "client-ca.pem", NULL, 0, 0, "no client certificate"},
    {"require-other-ca", "require", "client-ca.pem", "client-untrusted", 0, 0,
     "client certificate rejected"},
    {"require-expired", "require", "client-ca.pem", "client-expired", 0, 0,
     "client certificate rejected: certificate has expired"},
    {"require-wrong-eku", "require", "client-ca.pem", "client-wrong-eku", 0, 0,
     "client certificate rejected"},
    /* badssl's client-cert-missing: trusts only an unrelated CA */
    {"client-cert-missing", "require", "untrusted-root.pem", "client", 0, 0,
     "client certificate rejected"},
    /* "without it no client certificate verifies" */
    {"require-no-client-ca", "require", NULL, "client", 0, 0, "client certificate rejected"},
};

#define CASE_COUNT (sizeof(auth_cases) / sizeof(auth_cases[0]))

typedef struct auth_run {
  const auth_case *ac;
  int tls13;
  char name[96];
} auth_run;

static auth_run runs[2 * CASE_COUNT];

static int setup_pki(void **state) {
  (void)state;
  gcert_error err = {0};
  /* the backend checks client certificates against the real clock here */
  time_t now = time(NULL);
  assert_status(GCERT_OK, gcert_catalogue_make(now, GCERT_KEY_EC_P256, &catalogue, &err), &err);
  const char *dir = test_scratch_dir();
  bs_check(bs_save_catalogue(catalogue, dir) == 0);
  char path[BS_PATH_MAX];
  X509 *cas[] = {gcert_catalogue_get(catalogue, "intermediate")->cert,
                 gcert_catalogue_get(catalogue, "root")->cert};
  bs_check(bs_save_certs(bs_join(path, dir, "client-ca.pem"), cas, 2) == 0);

  /* the catalogue has no expired client: issue one */
  gcert_spec spec;
  gcert_spec_init(&spec, GCERT_KIND_CLIENT);
  spec.subject = "CN=gatecert client,OU=expired,O=gatecert";
  spec.not_before = -30 * DAY;
  spec.not_after = -DAY;
  gcert_item expired = {0};
  assert_status(
      GCERT_OK,
      gcert_issue(&spec, now, gcert_catalogue_get(catalogue, "intermediate"), NULL, &expired, &err),
      &err);
  bs_check(bs_save_certs(bs_join(path, dir, "client-expired.pem"), &expired.cert, 1) == 0);
  bs_check(bs_save_key(bs_join(path, dir, "client-expired.key"), expired.key) == 0);
  gcert_item_free(&expired);
  return 0;
}

static int teardown_pki(void **state) {
  (void)state;
  gcert_catalogue_free(catalogue);
  catalogue = NULL;
  return 0;
}

/* How curl reports a handshake the server failed: inside the TLS 1.2
 * handshake, or (TLS 1.3) as an alert read after the request was sent.
 * curl 7.88 maps a received "certificate expired" alert (TLS 1.2) to
 * CURLE_PEER_FAILED_VERIFICATION, "SSL certificate verification failed";
 * its own failed check of the server would say "SSL certificate problem". */
static int is_handshake_failure(const bs_response *res) {
  if (res->code == CURLE_PEER_FAILED_VERIFICATION)
    return strstr(res->error, "SSL certificate problem") == NULL;
  return res->code == CURLE_SSL_CONNECT_ERROR || res->code == CURLE_RECV_ERROR ||
         res->code == CURLE_SEND_ERROR;
}

/* client_cert of an event: null, or exactly the certificate the row sent. */
static void check_client_cert(const auth_run *run, json_t *event, int reported) {
  json_t *cc = json_object_get(event, "client_cert");
  if (!reported) {
    if (!json_is_null(cc))
      fail_msg("%s: client_cert should be null, got %s", run->name, json_dumps(cc, JSON_COMPACT));
    return;
  }
  assert_true(json_is_object(cc));
  char file[BS_NAME_MAX + 8];
  snprintf(file, sizeof(file), "%s.pem", run->ac->cert);
  X509 *cert = bt_load_cert(file);
  gcert_info info;
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_describe(cert, time(NULL), &info, &err), &err);
  assert_string_equal(info.sha256_hex, bs_json_str(cc, "sha256"));
  assert_string_equal(info.subject, bs_json_str(cc, "subject"));
  assert_string_equal(info.issuer, bs_json_str(cc, "issuer"));
  assert_string_equal(info.serial_hex, bs_json_str(cc, "serial"));
  X509_free(cert);
}

static void test_client_auth(void **state) {
  const auth_run *run = *state;
  const auth_case *ac = run->ac;
  char dir_path[BS_PATH_MAX], cert_chain[BS_PATH_MAX], key[BS_PATH_MAX], ca[BS_PATH_MAX];
  char report[BS_PATH_MAX], file[128];
  const char *dir = test_scratch_dir();
  snprintf(file, sizeof(file), "%s.jsonl", run->name);
  unlink(bs_join(report, dir, file));

  char spec[4 * BS_PATH_MAX];
  int n = snprintf(spec, sizeof(spec), "%s:cert=%s,key=%s", run->name,
                   bs_join(cert_chain, dir, "server.chain.pem"), bs_join(key, dir, "server.key"));
  if (ac->client_auth != NULL)
    n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",client-auth=%s", ac->client_auth);
  if (ac->client_ca != NULL)
    snprintf(spec + n, sizeof(spec) - (size_t)n, ",client-ca=%s", bs_join(ca, dir, ac->client_ca));
  const char *args[] = {"--report-dir", dir, "--backend", spec, NULL};
  bs_start_opts opts = {.args = args, .scratch_dir = dir};
  bs_process *p = bs_start(&opts);
  bs_check(p != NULL);

  char client_cert[BS_PATH_MAX], client_key[BS_PATH_MAX];
  bs_request req = {.port = bs_port(p, run->name),
                    .path = "/menaka",
                    .cainfo = bs_join(dir_path, dir, "root.pem"),
                    .tls_min = run->tls13 ? CURL_SSLVERSION_TLSv1_3 : CURL_SSLVERSION_TLSv1_2,
                    .tls_max =
                        run->tls13 ? CURL_SSLVERSION_MAX_TLSv1_3 : CURL_SSLVERSION_MAX_TLSv1_2};
  if (ac->cert != NULL) {
    snprintf(file, sizeof(file), "%s.pem", ac->cert);
    req.cert = bs_join(client_cert, dir, file);
    snprintf(file, sizeof(file), "%s.key", ac->cert);
    req.key = bs_join(client_key, dir, file);
  }
  bs_response res;
  bs_http(&req, &res);
  bs_events ev;
  if (ac->ok) {
    if (res.code != CURLE_OK || res.status != 200)
      fail_msg("%s: curl %d (%s), HTTP %ld; expected 200", run->name, res.code, res.error,
               res.status);
    bs_check(bs_report_wait(report, "request", 1, 2000, &ev) == 0);
    json_t *e = bs_events_last(&ev, "request");
    check_client_cert(run, e, ac->cert_reported);
    assert_string_equal(run->tls13 ? "TLSv1.3" : "TLSv1.2", bs_json_str(e, "tls_version"));
    /* the echo body carries the same facts */
    json_t *body = json_loads(res.body, 0, NULL);
    assert_non_null(body);
    check_client_cert(run, json_object_get(body, "saw"), ac->cert_reported);
    json_decref(body);
  } else {
    if (!is_handshake_failure(&res))
      fail_msg("%s: curl %d (%s), HTTP %ld, verify %ld; expected a failed handshake", run->name,
               res.code, res.error, res.status, res.verify_result);
    assert_int_not_equal(200, res.status);
    bs_check(bs_report_wait(report, "handshake_failed", 1, 2000, &ev) == 0);
    json_t *e = bs_events_last(&ev, "handshake_failed");
    const char *error = bs_json_str(e, "error");
    if (error == NULL || strstr(error, ac->error) == NULL)
      fail_msg("%s: event error \"%s\", expected it to contain \"%s\"", run->name,
               error ? error : "(null)", ac->error);
    assert_true(json_is_false(json_object_get(e, "reached_app")));
    assert_true(json_is_null(json_object_get(e, "request")));
    assert_true(json_is_null(json_object_get(e, "tls_version")));
    assert_string_equal("localhost", bs_json_str(e, "sni"));
    /* "a client certificate that was presented and rejected during the
     * handshake is reported too" */
    check_client_cert(run, e, ac->cert != NULL);
    assert_int_equal(0, (int)bs_events_count(&ev, "request"));
  }
  bs_events_free(&ev);
  bs_response_free(&res);
}

int main(void) {
  struct CMUnitTest tests[2 * CASE_COUNT];
  size_t n = 0;
  for (size_t i = 0; i < CASE_COUNT; i++) {
    for (int v = 0; v < 2; v++) {
      auth_run *run = &runs[n];
      run->ac = &auth_cases[i];
      run->tls13 = v;
      snprintf(run->name, sizeof(run->name), "%s-tls1%d", auth_cases[i].name, v ? 3 : 2);
      struct CMUnitTest t = {run->name, test_client_auth, NULL, bs_teardown, run};
      tests[n++] = t;
    }
  }
  return bt_run_curl("backend_client_auth", tests, n, setup_pki, teardown_pki);
}
