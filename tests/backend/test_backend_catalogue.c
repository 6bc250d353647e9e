/* test_backend_catalogue.c - `gatecert-backend --catalogue`, the local
 * badssl.com: every backend README lists gets a READY line and its own port,
 * the table after READY-ALL is "# "-prefixed with one row per backend, keys
 * are 0600, and a sample of the backends behave as their names say for a
 * real client trusting DIR/root.pem.
 */
#include "support.h"
#include "backend_fixture.h"
#include "backend_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

/* README's list, in its order. */
static const char *const catalogue_names[] = {
    "valid",
    "expired",
    "not-yet-valid",
    "wrong-host",
    "no-san",
    "self-signed",
    "untrusted-root",
    "incomplete-chain",
    "reversed-chain",
    "wrong-eku",
    "expired-intermediate",
    "tls12-only",
    "tls13-only",
    "client-optional",
    "client-required",
    "client-cert-missing",
    "slow",
    "refuse",
    "reset",
    "stall",
    "garbage",
    "close-mid-body",
};

#define NAMES_N (sizeof(catalogue_names) / sizeof(catalogue_names[0]))

static bs_process *catalogue;
static char certs_dir[BS_PATH_MAX];

/* Starts the catalogue once for the group (its teardown stops it). */
static int start_catalogue(void **state) {
  (void)state;
  bs_join(certs_dir, test_scratch_dir(), "catalogue");
  mkdir(certs_dir, 0700);
  const char *args[] = {"--catalogue", "--certs-dir", certs_dir, "--report-dir", certs_dir, NULL};
  bs_start_opts opts = {.args = args, .scratch_dir = test_scratch_dir()};
  catalogue = bs_start(&opts);
  if (catalogue == NULL) {
    fprintf(stderr, "catalogue did not start: %s\n", bs_error());
    return -1;
  }
  return 0;
}

static int stop_catalogue(void **state) {
  int rc = bs_stop(catalogue);
  if (rc != 0)
    fprintf(stderr, "catalogue stop: %s\n", bs_error());
  catalogue = NULL;
  return bs_teardown(state) == 0 && rc == 0 ? 0 : -1;
}

static const char *in_certs(char *out, const char *name) { return bs_join(out, certs_dir, name); }

static void test_ready_lines(void **state) {
  (void)state;
  assert_int_equal(NAMES_N, catalogue->count);
  for (size_t i = 0; i < NAMES_N; i++) {
    int port = bs_port(catalogue, catalogue_names[i]);
    if (port <= 0)
      fail_msg("no READY line for %s", catalogue_names[i]);
    for (size_t j = 0; j < i; j++)
      assert_int_not_equal(port, bs_port(catalogue, catalogue_names[j]));
  }
}

static void test_table(void **state) {
  (void)state;
  bs_read_more(catalogue, 300, 3000);
  char *text = strdup(catalogue->more);
  assert_non_null(text);
  size_t rows = 0;
  int seen[NAMES_N] = {0};
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    if (strncmp(line, "# ", 2) != 0)
      fail_msg("table line without \"# \": \"%s\"", line);
    /* "# <name> <port> <what is wrong>"; other lines are headings and notes */
    char name[BS_NAME_MAX];
    const char *p = line + 2;
    size_t len = strcspn(p, " ");
    if (len == 0 || len >= sizeof(name))
      continue;
    memcpy(name, p, len);
    name[len] = '\0';
    p += len + strspn(p + len, " ");
    char *end = NULL;
    long port = strtol(p, &end, 10);
    if (end == p)
      continue;
    for (size_t i = 0; i < NAMES_N; i++) {
      if (strcmp(name, catalogue_names[i]) == 0) {
        assert_int_equal(bs_port(catalogue, name), port);
        seen[i]++;
        rows++;
      }
    }
  }
  free(text);
  for (size_t i = 0; i < NAMES_N; i++) {
    if (seen[i] != 1)
      fail_msg("table has %d rows for %s", seen[i], catalogue_names[i]);
  }
  assert_int_equal(NAMES_N, rows);
}

static void test_files(void **state) {
  (void)state;
  char path[BS_PATH_MAX];
  struct stat st;
  assert_int_equal(0, stat(in_certs(path, "root.pem"), &st));
  DIR *d = opendir(certs_dir);
  assert_non_null(d);
  size_t keys = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    size_t n = strlen(de->d_name);
    if (n < 4 || strcmp(de->d_name + n - 4, ".key") != 0)
      continue;
    assert_int_equal(0, stat(in_certs(path, de->d_name), &st));
    if ((st.st_mode & 0777) != 0600)
      fail_msg("%s has mode %o, not 0600", de->d_name, (unsigned)(st.st_mode & 0777));
    keys++;
  }
  closedir(d);
  assert_true(keys > 0);
}

/* A sample of the catalogue, as a client trusting root.pem sees it. */
typedef struct spot_case {
  const char *backend;
  int client_cert; /* present client.pem / client.key */
  long tls_max;    /* curl's CURL_SSLVERSION_MAX_*, 0: any */
  CURLcode codes[3];
  size_t code_count;
  long verify; /* -1: not checked */
  long status;
} spot_case;

static const spot_case spot_cases[] = {
    {"valid", 0, 0, {CURLE_OK}, 1, X509_V_OK, 200},
    {"expired", 0, 0, {CURLE_PEER_FAILED_VERIFICATION}, 1, X509_V_ERR_CERT_HAS_EXPIRED, 0},
    {"not-yet-valid", 0, 0, {CURLE_PEER_FAILED_VERIFICATION}, 1, X509_V_ERR_CERT_NOT_YET_VALID, 0},
    {"self-signed",
     0,
     0,
     {CURLE_PEER_FAILED_VERIFICATION},
     1,
     X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
     0},
    {"untrusted-root",
     0,
     0,
     {CURLE_PEER_FAILED_VERIFICATION},
     1,
     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
     0},
    {"incomplete-chain",
     0,
     0,
     {CURLE_PEER_FAILED_VERIFICATION},
     1,
     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
     0},
    {"wrong-eku", 0, 0, {CURLE_PEER_FAILED_VERIFICATION}, 1, X509_V_ERR_INVALID_PURPOSE, 0},
    {"expired-intermediate",
     0,
     0,
     {CURLE_PEER_FAILED_VERIFICATION},
     1,
     X509_V_ERR_CERT_HAS_EXPIRED,
     0},
    {"tls12-only", 0, CURL_SSLVERSION_MAX_TLSv1_2, {CURLE_OK}, 1, X509_V_OK, 200},
    {"tls13-only", 0, CURL_SSLVERSION_MAX_TLSv1_2, {CURLE_SSL_CONNECT_ERROR}, 1, -1, 0},
    {"client-optional", 0, 0, {CURLE_OK}, 1, X509_V_OK, 200},
    {"client-required", 1, 0, {CURLE_OK}, 1, X509_V_OK, 200},
    {"client-required",
     0,
     0,
     {CURLE_SSL_CONNECT_ERROR, CURLE_RECV_ERROR, CURLE_SEND_ERROR},
     3,
     -1,
     0},
    {"client-cert-missing",
     1,
     0,
     {CURLE_SSL_CONNECT_ERROR, CURLE_RECV_ERROR, CURLE_SEND_ERROR},
     3,
     -1,
     0},
    {"refuse", 0, 0, {CURLE_COULDNT_CONNECT}, 1, -1, 0},
    {"close-mid-body", 0, 0, {CURLE_PARTIAL_FILE}, 1, X509_V_OK, 200},
};

static void test_spot_check(void **state) {
  (void)state;
  char ca[BS_PATH_MAX], cert[BS_PATH_MAX], key[BS_PATH_MAX];
  for (size_t i = 0; i < sizeof(spot_cases) / sizeof(spot_cases[0]); i++) {
    const spot_case *sc = &spot_cases[i];
    bs_request req = {.port = bs_port(catalogue, sc->backend),
                      .path = "/menaka",
                      .cainfo = in_certs(ca, "root.pem"),
                      .tls_max = sc->tls_max};
    if (sc->client_cert) {
      req.cert = in_certs(cert, "client.pem");
      req.key = in_certs(key, "client.key");
    }
    bs_response res;
    bs_http(&req, &res);
    int code_ok = 0;
    for (size_t k = 0; k < sc->code_count; k++)
      code_ok |= res.code == sc->codes[k];
    if (!code_ok)
      fail_msg("%s%s: curl %d (%s)", sc->backend, sc->client_cert ? " with client.pem" : "",
               res.code, res.error);
    if (sc->verify >= 0 && res.verify_result != sc->verify)
      fail_msg("%s: verify result %ld (%s), expected %ld", sc->backend, res.verify_result,
               X509_verify_cert_error_string(res.verify_result), sc->verify);
    assert_int_equal(sc->status, res.status);
    bs_response_free(&res);
  }
}

/* --at dates the catalogue: at 2030-01-01 the "valid" backend's certificate
 * is not yet valid for a client on today's clock. */
static void test_at(void **state) {
  (void)state;
  char dir[BS_PATH_MAX], ca[BS_PATH_MAX];
  bs_join(dir, test_scratch_dir(), "catalogue-2030");
  mkdir(dir, 0700);
  const char *args[] = {"--catalogue", "--certs-dir", dir, "--at", "2030-01-01T00:00:00Z", NULL};
  bs_start_opts opts = {.args = args, .scratch_dir = test_scratch_dir()};
  bs_process *p = bs_start(&opts);
  bs_check(p != NULL);
  bs_request req = {.port = bs_port(p, "valid"), .cainfo = bs_join(ca, dir, "root.pem")};
  bs_response res;
  bs_http(&req, &res);
  assert_int_equal(CURLE_PEER_FAILED_VERIFICATION, res.code);
  assert_int_equal(X509_V_ERR_CERT_NOT_YET_VALID, res.verify_result);
  bs_response_free(&res);
  bs_check(bs_stop(p) == 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ready_lines), cmocka_unit_test(test_table),
      cmocka_unit_test(test_files),       cmocka_unit_test(test_spot_check),
      cmocka_unit_test(test_at),
  };
  return bt_run_curl_tests(tests, start_catalogue, stop_catalogue);
}
