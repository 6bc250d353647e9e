/* test_backend_tls.c - gatecert-backend serves the identity it is given, and
 * a real client (libcurl with OpenSSL) sees exactly what is wrong with it.
 *
 * One row per broken identity, like badssl.com's list. Each row starts its own
 * backend with the certificate file the row describes, then:
 *   - curl, trusting root.pem, gets the expected CURLcode and verify result;
 *   - the backend's report has the matching event (a request with the TLS
 *     version, or a handshake_failed naming the alert the client sent);
 *   - a raw OpenSSL client sees the certificates in exactly the file's order
 *     ("the certificate chain sent, leaf first, in the order given").
 * The certificates are made for this run at the wall clock of the test
 * process, because curl checks them against the real clock.
 * A second table checks start-up errors: exit status 2 (usage) or 1 (files).
 */
#include "support.h"
#include "backend_support.h"
#include "backend_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

static gcert_catalogue *catalogue;

typedef struct tls_case {
  const char *name;       /* case and backend name */
  const char *sent[4];    /* catalogue rows in the cert file, leaf first */
  const char *tls;        /* spec tls= value, or NULL */
  long client_min;        /* curl's CURL_SSLVERSION_*, 0: any */
  long client_max;        /* curl's CURL_SSLVERSION_MAX_*, 0: any */
  CURLcode code;          /* what curl returns */
  long verify;            /* CURLINFO_SSL_VERIFYRESULT, or -1: not checked */
  const char *curl_error; /* substring of curl's error message, or NULL */
  const char *alert;      /* substring of the handshake_failed error, or NULL */
  const char *version;    /* TLS version the server speaks to an unlimited client */
} tls_case;

#define TLS12     CURL_SSLVERSION_TLSv1_2
#define TLS13     CURL_SSLVERSION_TLSv1_3
#define MAX_TLS12 CURL_SSLVERSION_MAX_TLSv1_2
#define MAX_TLS13 CURL_SSLVERSION_MAX_TLSv1_3

static const tls_case tls_cases[] = {
    {"valid", {"server", "intermediate"}, NULL, 0, 0, CURLE_OK, X509_V_OK, NULL, NULL, "TLSv1.3"},
    {"expired",
     {"server-expired", "intermediate"},
     NULL,
     0,
     0,
     CURLE_PEER_FAILED_VERIFICATION,
     X509_V_ERR_CERT_HAS_EXPIRED,
     "expired",
     "certificate expired",
     "TLSv1.3"},
    {"not-yet-valid",
     {"server-not-yet-valid", "intermediate"},
     NULL,
     0,
     0,
     CURLE_PEER_FAILED_VERIFICATION,
     X509_V_ERR_CERT_NOT_YET_VALID,
     "not yet valid",
     "bad certificate",
     "TLSv1.3"},
    /* curl checks the name itself after OpenSSL verified the chain: it then
     * sets the verify result to X509_V_ERR_UNSPECIFIED (1) and its message
     * names the host; the handshake itself succeeded, so no alert. */
    {"wrong-host",
     {"server-wrong-host", "intermediate"},
     NULL,
     0,
     0,
     CURLE_PEER_FAILED_VERIFICATION,
     X509_V_ERR_UNSPECIFIED,
     "'localhost'",
     NULL,
     "TLSv1.3"},
    /* CN=localhost without subjectAltName: curl 7.88 still falls back to
     * the CN (browsers and Java's HTTPS hostname verifier do not). */
    {"no-san",
     {"server-no-san", "intermediate"},
     NULL,
     0,
     0,
     CURLE_OK,
     X509_V_OK,
     NULL,
     NULL,
     "TLSv1.3"},
    {"self-signed",
     {"self-signed"},
     NULL,
     0,
     0,
     CURLE_PEER_FAILED_VERIFICATION,
     X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
     "self-signed",
     "unknown ca",
     "TLSv1.3"},
    {"untrusted-root",
     {"server-untrusted"},
     NULL,
     0,
     0,
     CURLE_PEER_FAILED_VERIFICATION,
     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
     NULL,
     "unknown ca",
     "TLSv1.3"},
    /* the same leaf as "valid", without its intermediate */
    {"incomplete-chain",
     {"server"},
     NULL,
     0,
     0,
     CURLE_PEER_FAILED_VERIFICATION,
     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
     NULL,
     "unknown ca",
     "TLSv1.3"},
    /* badssl's reversed chain: leaf, root, intermediate. OpenSSL's client
     * builds the path from whatever was sent, so curl accepts it; the raw
     * client proves the order on the wire. */
    {"reversed-chain",
     {"server", "root", "intermediate"},
     NULL,
     0,
     0,
     CURLE_OK,
     X509_V_OK,
     NULL,
     NULL,
     "TLSv1.3"},
    {"wrong-eku",
     {"server-wrong-eku", "intermediate"},
     NULL,
     0,
     0,
     CURLE_PEER_FAILED_VERIFICATION,
     X509_V_ERR_INVALID_PURPOSE,
     NULL,
     "unsupported certificate",
     "TLSv1.3"},
    {"expired-intermediate",
     {"server-expired-intermediate", "intermediate-expired"},
     NULL,
     0,
     0,
     CURLE_PEER_FAILED_VERIFICATION,
     X509_V_ERR_CERT_HAS_EXPIRED,
     NULL,
     "certificate expired",
     "TLSv1.3"},
    {"tls12-only-12-client",
     {"server", "intermediate"},
     "1.2",
     TLS12,
     MAX_TLS12,
     CURLE_OK,
     X509_V_OK,
     NULL,
     NULL,
     "TLSv1.2"},
    {"tls12-only-13-client",
     {"server", "intermediate"},
     "1.2",
     TLS13,
     MAX_TLS13,
     CURLE_SSL_CONNECT_ERROR,
     -1,
     NULL,
     NULL,
     "TLSv1.2"},
    {"tls13-only-13-client",
     {"server", "intermediate"},
     "1.3",
     TLS13,
     MAX_TLS13,
     CURLE_OK,
     X509_V_OK,
     NULL,
     NULL,
     "TLSv1.3"},
    {"tls13-only-12-client",
     {"server", "intermediate"},
     "1.3",
     TLS12,
     MAX_TLS12,
     CURLE_SSL_CONNECT_ERROR,
     -1,
     NULL,
     NULL,
     "TLSv1.3"},
    {"any-12-client",
     {"server", "intermediate"},
     "any",
     TLS12,
     MAX_TLS12,
     CURLE_OK,
     X509_V_OK,
     NULL,
     NULL,
     "TLSv1.3"},
};

static int setup_pki(void **state) {
  (void)state;
  gcert_error err = {0};
  /* curl verifies against the real clock: date the catalogue from it */
  assert_status(GCERT_OK, gcert_catalogue_make(time(NULL), GCERT_KEY_EC_P256, &catalogue, &err),
                &err);
  bs_check(bs_save_catalogue(catalogue, test_scratch_dir()) == 0);
  return 0;
}

static int teardown_pki(void **state) {
  (void)state;
  gcert_catalogue_free(catalogue);
  catalogue = NULL;
  return 0;
}

static X509 *row_cert(const char *row) {
  const gcert_item *item = gcert_catalogue_get(catalogue, row);
  assert_non_null(item);
  return item->cert;
}

/* Writes the case's cert file; starts its backend; returns the port. */
static int start_case(const tls_case *tc, char report[BS_PATH_MAX]) {
  X509 *certs[4];
  size_t n = 0;
  while (n < 4 && tc->sent[n] != NULL) {
    certs[n] = row_cert(tc->sent[n]);
    n++;
  }
  char cert_file[BS_PATH_MAX], key_file[BS_PATH_MAX], name[BS_NAME_MAX + 16];
  snprintf(name, sizeof(name), "%s.sent.pem", tc->name);
  bs_check(bs_save_certs(bt_scratch(cert_file, name), certs, n) == 0);
  snprintf(name, sizeof(name), "%s.key", tc->sent[0]);
  bt_scratch(key_file, name);
  snprintf(name, sizeof(name), "%s.jsonl", tc->name);
  unlink(bt_scratch(report, name)); /* a previous run's report */

  char spec[3 * BS_PATH_MAX];
  snprintf(spec, sizeof(spec), "%s:cert=%s,key=%s%s%s", tc->name, cert_file, key_file,
           tc->tls ? ",tls=" : "", tc->tls ? tc->tls : "");
  const char *args[] = {"--report-dir", test_scratch_dir(), "--backend", spec, NULL};
  bs_start_opts opts = {.args = args, .scratch_dir = test_scratch_dir()};
  bs_process *p = bs_start(&opts);
  bs_check(p != NULL);
  assert_int_equal(1, (int)p->count);
  int port = bs_port(p, tc->name);
  assert_true(port > 0);
  return port;
}

static void check_curl(const tls_case *tc, int port, const char *report) {
  char ca[BS_PATH_MAX];
  bs_request req = {.port = port,
                    .path = "/menaka",
                    .cainfo = bt_scratch(ca, "root.pem"),
                    .tls_min = tc->client_min,
                    .tls_max = tc->client_max};
  bs_response res;
  bs_http(&req, &res);
  if (res.code != tc->code)
    fail_msg("%s: curl code %d (%s), expected %d", tc->name, res.code, res.error, tc->code);
  if (tc->verify >= 0 && res.verify_result != tc->verify)
    fail_msg("%s: verify result %ld (%s), expected %ld (%s)", tc->name, res.verify_result,
             X509_verify_cert_error_string(res.verify_result), tc->verify,
             X509_verify_cert_error_string(tc->verify));
  if (tc->curl_error != NULL && strstr(res.error, tc->curl_error) == NULL)
    fail_msg("%s: curl error \"%s\" lacks \"%s\"", tc->name, res.error, tc->curl_error);

  bs_events ev;
  if (tc->code == CURLE_OK) {
    assert_int_equal(200, res.status);
    assert_non_null(strstr(res.body, "Jersey say : menaka"));
    bs_check(bs_report_wait(report, "request", 1, 2000, &ev) == 0);
    json_t *e = bs_events_last(&ev, "request");
    const char *version = bs_json_str(e, "tls_version");
    assert_non_null(version);
    /* curl limited to one version got that one */
    assert_string_equal(tc->client_max == MAX_TLS12 ? "TLSv1.2" : "TLSv1.3", version);
    assert_string_equal("localhost", bs_json_str(e, "sni"));
    assert_true(json_is_true(json_object_get(e, "reached_app")));
    bs_events_free(&ev);
  } else if (tc->alert != NULL) {
    bs_check(bs_report_wait(report, "handshake_failed", 1, 2000, &ev) == 0);
    json_t *e = bs_events_last(&ev, "handshake_failed");
    const char *error = bs_json_str(e, "error");
    assert_non_null(error);
    if (strcasestr(error, "client sent alert") == NULL || strcasestr(error, tc->alert) == NULL)
      fail_msg("%s: handshake_failed error \"%s\", expected \"client sent alert: ...%s\"", tc->name,
               error, tc->alert);
    assert_true(json_is_false(json_object_get(e, "reached_app")));
    assert_true(json_is_null(json_object_get(e, "request")));
    assert_int_equal(0, (int)bs_events_count(&ev, "request"));
    bs_events_free(&ev);
  }
  bs_response_free(&res);
}

/* The raw client: the certificates come in the file's order, and an
 * unlimited client gets the only (or the best) version the backend speaks. */
static void check_wire(const tls_case *tc, int port) {
  bs_probe_opts po = {.port = port, .sni = "localhost"};
  bs_probe pr;
  bs_check(bs_tls_probe(&po, &pr) == 0);
  if (!pr.handshake_ok)
    fail_msg("%s: raw handshake failed: %s", tc->name, pr.error);
  assert_string_equal(tc->version, pr.version);
  size_t n = 0;
  while (n < 4 && tc->sent[n] != NULL)
    n++;
  assert_int_equal(n, pr.chain_count);
  for (size_t i = 0; i < n; i++) {
    char want[65];
    bs_cert_sha256(row_cert(tc->sent[i]), want);
    if (strcmp(want, pr.chain_sha256[i]) != 0)
      fail_msg("%s: certificate %zu on the wire is %s, expected row %s", tc->name, i,
               pr.chain_subject[i], tc->sent[i]);
  }
  bs_probe_free(&pr);
}

static void test_identity(void **state) {
  const tls_case *tc = *state;
  char report[BS_PATH_MAX];
  int port = start_case(tc, report);
  check_curl(tc, port, report);
  check_wire(tc, port);
}

/* A TLS 1.2-only backend refuses a 1.3-only raw client, and the reverse. */
static void test_version_refused(void **state) {
  (void)state;
  static const struct {
    const char *tls;
    int client_version;
  } rows[] = {{"1.2", TLS1_3_VERSION}, {"1.3", TLS1_2_VERSION}};
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    tls_case tc = {.name = "version", .sent = {"server", "intermediate"}, .tls = rows[i].tls};
    char report[BS_PATH_MAX];
    int port = start_case(&tc, report);
    bs_probe_opts po = {.port = port,
                        .sni = "localhost",
                        .min_version = rows[i].client_version,
                        .max_version = rows[i].client_version};
    bs_probe pr;
    bs_check(bs_tls_probe(&po, &pr) == 0);
    if (pr.handshake_ok)
      fail_msg("tls=%s backend completed a handshake in %s", rows[i].tls, pr.version);
    bs_probe_free(&pr);
    bs_check(bs_teardown(NULL) == 0);
  }
}

/* ---- start-up errors ----------------------------------------------------- */

typedef struct startup_case {
  const char *name;
  const char *spec; /* %s: the scratch dir; NULL: no --backend at all */
  const char *extra;
  int exit_code;
} startup_case;

static const startup_case start_cases[] = {
    {"no-backend", NULL, NULL, 2},
    {"no-colon", "plain", NULL, 2},
    {"unknown-key", "x:cert=%1$s/server.chain.pem,key=%1$s/server.key,colour=red", NULL, 2},
    {"bad-fault", "x:fault=sometimes", NULL, 2},
    {"bad-tls", "x:cert=%1$s/server.chain.pem,key=%1$s/server.key,tls=1.1", NULL, 2},
    {"bad-client-auth", "x:cert=%1$s/server.chain.pem,key=%1$s/server.key,client-auth=maybe", NULL,
     2},
    {"delay-too-long", "x:cert=%1$s/server.chain.pem,key=%1$s/server.key,delay-ms=600001", NULL, 2},
    {"delay-not-number", "x:cert=%1$s/server.chain.pem,key=%1$s/server.key,delay-ms=soon", NULL, 2},
    {"cert-without-key", "x:cert=%1$s/server.chain.pem", NULL, 2},
    {"no-cert", "x:client-auth=none", NULL, 2},
    {"unknown-option", "x:fault=refuse", "--colour", 2},
    {"missing-cert-file", "x:cert=%1$s/absent.pem,key=%1$s/server.key", NULL, 1},
    {"key-of-other-cert", "x:cert=%1$s/server.chain.pem,key=%1$s/client.key", NULL, 1},
    {"missing-client-ca",
     "x:cert=%1$s/server.chain.pem,key=%1$s/server.key,client-auth=require,client-ca=%1$s/"
     "absent.pem",
     NULL, 1},
};

static void test_start_error(void **state) {
  const startup_case *sc = *state;
  char spec[3 * BS_PATH_MAX];
  const char *args[8];
  size_t n = 0;
  if (sc->spec != NULL) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(spec, sizeof(spec), sc->spec, test_scratch_dir());
#pragma GCC diagnostic pop
    args[n++] = "--backend";
    args[n++] = spec;
  }
  if (sc->extra != NULL)
    args[n++] = sc->extra;
  args[n] = NULL;
  bs_start_opts opts = {.args = args, .scratch_dir = test_scratch_dir()};
  int code = -1;
  char err[2048];
  bs_check(bs_start_fails(&opts, &code, err, sizeof(err)) == 0);
  if (code != sc->exit_code)
    fail_msg("%s: exit %d, expected %d; stderr: %s", sc->name, code, sc->exit_code, err);
  if (err[0] == '\0')
    fail_msg("%s: exit %d with nothing on stderr", sc->name, code);
}

int main(void) {
  enum { TLS_N = sizeof(tls_cases) / sizeof(tls_cases[0]) };
  enum { START_N = sizeof(start_cases) / sizeof(start_cases[0]) };
  struct CMUnitTest tests[TLS_N + START_N + 1];
  size_t n = 0;
  for (size_t i = 0; i < TLS_N; i++) {
    struct CMUnitTest t = {tls_cases[i].name, test_identity, NULL, bs_teardown,
                           (void *)&tls_cases[i]};
    tests[n++] = t;
  }
  struct CMUnitTest refused = {"version-refused", test_version_refused, NULL, bs_teardown, NULL};
  tests[n++] = refused;
  for (size_t i = 0; i < START_N; i++) {
    struct CMUnitTest t = {start_cases[i].name, test_start_error, NULL, bs_teardown,
                           (void *)&start_cases[i]};
    tests[n++] = t;
  }
  return bt_run_curl("backend_tls", tests, n, setup_pki, teardown_pki);
}
