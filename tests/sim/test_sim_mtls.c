/* test_sim_mtls.c - what the gateway presents to backends and how it checks
 * them: mutual TLS from gateway to backend through SSL profiles, the hostname
 * verifiers against real backends, and no TLS session reuse.
 *
 * Mutual TLS: a backend requiring a client certificate from the catalogue's
 * CA gets the SSL profile's identity (asserted from the backend's own report
 * by SHA-256), and without one (the default profile presents the gateway's
 * self-signed certificate, or nothing with "key_store": null) the call ends
 * 500 / 101500 without reaching the backend.
 *
 * Sessions: backends started with sessions=on would resume any session the
 * gateway offered, skipping certificate checks. A raw OpenSSL client proves
 * they do resume; then two profiles that reach the same backend under two
 * names with different trust (the nginx finding: one location's verify result
 * leaking to another) and a trust change at a tick both keep their own
 * answer, and the backend never reports a resumed handshake from the gateway.
 */
#include "support.h"
#include "backend_fixture.h"
#include "backend_support.h"
#include "sim_fixture.h"
#include "sim_world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

/* what a 500 of a backend the gateway could not reach must say */
#define CODE_101500 "\"code\":\"101500\""

static void start_sim(sw_world *w, const char *dir_name, const char *config) {
  sw_sim_start(&w->sim, dir_name, NULL, NULL, config, NULL);
}

static void api(sw_world *w, const char *name, const char *host, int port) {
  char url[128], context[80], id[64];
  snprintf(url, sizeof(url), "https://%s:%d", host, port);
  snprintf(context, sizeof(context), "/%s", name);
  assert_int_equal(201, st_create_api(&w->sim, name, context, "1.0", url, id));
}

/* client.pem's chain and key in one PEM file: a key store the profile loads. */
static const char *client_identity(void) {
  const char *path = sw_scratch("client-identity.pem");
  size_t a = 0, b = 0;
  char *chain = bs_slurp(sw_scratch("client.chain.pem"), &a);
  char *key = bs_slurp(sw_scratch("client.key"), &b);
  assert_non_null(chain);
  assert_non_null(key);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fwrite(chain, 1, a, f);
  fwrite(key, 1, b, f);
  fclose(f);
  free(chain);
  free(key);
  return path;
}

static void test_profile_identity_reaches_backend(void **state) {
  (void)state;
  sw_world w = {0};
  char extra[BS_PATH_MAX + 64];
  snprintf(extra, sizeof(extra), ",client-auth=require,client-ca=%s", sw_scratch("root.pem"));
  sw_world_backend(&w, "mtls", "server", extra);
  char config[2 * BS_PATH_MAX];
  snprintf(config, sizeof(config),
           "{\"ssl_profiles\": [{\"servers\": [\"localhost:%d\"], \"key_store\": \"%s\"}]}", w.port,
           client_identity());
  start_sim(&w, "profile", config);
  api(&w, "mtls", "localhost", w.port);
  assert_int_equal(200, sw_get(&w.sim, "mtls", CODE_101500));
  json_t *last = NULL;
  assert_int_equal(1, sw_served(w.report, &last));
  X509 *client = bt_load_cert("client.pem");
  char sha[65];
  bs_cert_sha256(client, sha);
  X509_free(client);
  assert_string_equal(sha, bs_json_str(last, "client_cert.sha256"));
  json_decref(last);
  st_check(st_sim_stop(&w.sim));
}

typedef struct identity_case {
  const char *name;
  const char *default_profile; /* JSON of default_profile, or NULL */
  long status;
} identity_case;

static void test_default_profile_identities(void **state) {
  (void)state;
  sw_world w = {0};
  char extra[BS_PATH_MAX + 64];
  snprintf(extra, sizeof(extra), ",client-auth=require,client-ca=%s", sw_scratch("root.pem"));
  sw_world_backend(&w, "needs-client", "server", extra);
  char own[BS_PATH_MAX + 64];
  snprintf(own, sizeof(own), "{\"key_store\": \"%s\"}", client_identity());
  const identity_case cases[] = {
      {"gateway-self-signed", NULL, 500}, /* the gateway's own cert: not trusted there */
      {"present-nothing", "{\"key_store\": null}", 500},
      {"default-client-identity", own, 200},
  };
  size_t reached = 0;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char config[2 * BS_PATH_MAX];
    if (cases[i].default_profile)
      snprintf(config, sizeof(config), "{\"default_profile\": %s}", cases[i].default_profile);
    start_sim(&w, cases[i].name, cases[i].default_profile ? config : NULL);
    api(&w, "needs", "localhost", w.port);
    long status = sw_get(&w.sim, "needs", CODE_101500);
    if (status != cases[i].status)
      fail_msg("%s: %ld, expected %ld", cases[i].name, status, cases[i].status);
    reached += status == 200;
    assert_int_equal(reached, sw_served(w.report, NULL)); /* a refused call never reached the app */
    st_check(st_sim_stop(&w.sim));
  }
}

typedef struct host_case {
  const char *verifier;
  const char *row; /* the backend's certificate */
  const char *host;
  long status;
} host_case;

static void test_hostname_verifiers_against_backends(void **state) {
  (void)state;
  static const host_case cases[] = {
      {"Strict", "server-wrong-host", "localhost", 500},
      {"Strict", "server", "localhost", 200},
      {"Strict", "server", "127.0.0.1", 200},
      {"Strict", "server-no-san", "localhost", 200}, /* CN=localhost, no SAN */
      {"Default", "server-wrong-host", "localhost", 500},
      {"Default", "server", "localhost", 200},
      {"AllowAll", "server-wrong-host", "localhost", 200},
      {"AllowAll", "server-wrong-host", "127.0.0.1", 200},
      {"DefaultAndLocalhost", "server-wrong-host", "localhost", 200},
      {"DefaultAndLocalhost", "server-wrong-host", "127.0.0.1", 200},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const host_case *c = &cases[i];
    sw_world w = {0};
    sw_world_backend(&w, "host", c->row, NULL);
    char config[512], dir[64];
    snprintf(config, sizeof(config),
             "{\"ssl_profiles\": [{\"servers\": [\"%s:%d\"], \"hostname_verifier\": \"%s\"}]}",
             c->host, w.port, c->verifier);
    snprintf(dir, sizeof(dir), "verifier-%zu", i);
    start_sim(&w, dir, config);
    api(&w, "host", c->host, w.port);
    long status = sw_get(&w.sim, "host", CODE_101500);
    if (status != c->status)
      fail_msg("%s, %s via %s: %ld, expected %ld", c->verifier, c->row, c->host, status, c->status);
    if (status == 500)
      assert_true(st_log_contains(&w.sim, "does not match the certificate subject"));
    st_check(st_sim_stop(&w.sim));
    bs_check(bs_stop(w.backend) == 0);
  }
}

/* ---- sessions ----------------------------------------------------------- */

/* One TLS connection to 127.0.0.1:port offering *session (if any); keeps the
 * new session in *session. Returns 1 when the handshake resumed. */
static int resume_probe(SSL_CTX *ctx, int port, SSL_SESSION **session) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_true(fd >= 0);
  assert_int_equal(0, connect(fd, (struct sockaddr *)&addr, sizeof(addr)));
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  if (*session)
    SSL_set_session(ssl, *session);
  assert_int_equal(1, SSL_connect(ssl));
  /* Keep-alive, and no read to EOF: an unclean close would make the session
   * not resumable on our side. Reading the answer lets TLS 1.3 tickets arrive. */
  static const char req[] = "GET /probe HTTP/1.1\r\nHost: localhost\r\n\r\n";
  struct timeval tv = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  SSL_write(ssl, req, (int)sizeof(req) - 1);
  char buf[8192];
  size_t got = 0;
  while (got < sizeof(buf) - 1) {
    int n = SSL_read(ssl, buf + got, (int)(sizeof(buf) - 1 - got));
    if (n <= 0)
      break;
    got += (size_t)n;
    buf[got] = '\0';
    if (strstr(buf, "Jersey say : probe") && buf[got - 1] == '}')
      break;
  }
  int resumed = SSL_session_reused(ssl);
  SSL_SESSION_free(*session);
  *session = SSL_get1_session(ssl);
  SSL_shutdown(ssl);
  SSL_free(ssl);
  close(fd);
  return resumed;
}

static int resumed_requests(sw_world *w) {
  bs_events ev = {0};
  bs_check(bs_report_load(w->report, &ev) == 0);
  int n = 0;
  for (size_t i = 0; i < ev.count; i++)
    n += json_is_true(json_object_get(ev.items[i], "resumed"));
  bs_events_free(&ev);
  return n;
}

static void test_no_session_reuse_leaks_trust(void **state) {
  (void)state;
  sw_world w = {0};
  sw_world_backend(&w, "resumable", "server", ",sessions=on");

  /* Control: this backend does resume for a client that offers a session. */
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  SSL_SESSION *session = NULL;
  assert_int_equal(0, resume_probe(ctx, w.port, &session));
  assert_int_equal(1, resume_probe(ctx, w.port, &session));
  SSL_SESSION_free(session);
  SSL_CTX_free(ctx);
  assert_int_equal(1, resumed_requests(&w));

  /* Same backend under two names: trusted as localhost, not as 127.0.0.1. */
  char config[3 * BS_PATH_MAX];
  snprintf(config, sizeof(config),
           "{\"ssl_profiles\": ["
           "{\"servers\": [\"localhost:%d\"], \"trust_store\": \"%s\"},"
           "{\"servers\": [\"127.0.0.1:%d\"], \"trust_store\": \"%s\"}]}",
           w.port, sw_scratch("root.pem"), w.port, sw_scratch("untrusted-root.pem"));
  start_sim(&w, "sessions", config);
  api(&w, "trusted", "localhost", w.port);
  api(&w, "untrusted", "127.0.0.1", w.port);
  for (int round = 0; round < 3; round++) {
    assert_int_equal(200, sw_get(&w.sim, "trusted", CODE_101500));
    assert_int_equal(
        500, sw_get(&w.sim, "untrusted", CODE_101500)); /* a leaked session would give 200 */
  }
  assert_int_equal(1, resumed_requests(&w)); /* only the control's */
  st_check(st_sim_stop(&w.sim));
}

/* A trust change at a reload: the next handshake is a full one and fails,
 * although the backend would have resumed the earlier session. Without
 * backend pooling, so that the call after the reload needs a handshake (a
 * pooled connection is not verified again, as in WSO2: test_sim_backend_pool). */
static void test_trust_removal_not_bypassed_by_resumption(void **state) {
  (void)state;
  sw_world w = {0};
  sw_world_backend(&w, "resumable2", "server", ",sessions=on");
  char dir[BS_PATH_MAX];
  const char *no_pool[] = {"--backend-keepalive", "off", NULL};
  st_sim_opts opts = {.dir = bt_scratch(dir, "removal"), .extra = no_pool};
  st_check(st_sim_start(&w.sim, &opts));
  api(&w, "echo", "localhost", w.port);
  char url[64];
  snprintf(url, sizeof(url), "https://localhost:%d", w.port);
  st_reply r;
  st_check(st_upload_cert(&w.sim, "root", url, sw_scratch("root.pem"), &r));
  assert_int_equal(201, r.status);
  st_reply_free(&r);
  st_check(st_admin(&w.sim, "POST", "/_sim/reload", NULL, &r));
  st_reply_free(&r);
  assert_int_equal(200, sw_get(&w.sim, "echo", CODE_101500));
  assert_int_equal(200, sw_get(&w.sim, "echo", CODE_101500));
  st_check(st_admin(&w.sim, "DELETE", ST_CERTS "/root", NULL, &r));
  assert_int_equal(200, r.status);
  st_reply_free(&r);
  st_check(st_admin(&w.sim, "POST", "/_sim/reload", NULL, &r));
  st_reply_free(&r);
  assert_int_equal(500, sw_get(&w.sim, "echo", CODE_101500));
  assert_int_equal(0, resumed_requests(&w));
  st_check(st_sim_stop(&w.sim));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_profile_identity_reaches_backend, bs_teardown),
      cmocka_unit_test_teardown(test_default_profile_identities, bs_teardown),
      cmocka_unit_test_teardown(test_hostname_verifiers_against_backends, bs_teardown),
      cmocka_unit_test_teardown(test_no_session_reuse_leaks_trust, bs_teardown),
      cmocka_unit_test_teardown(test_trust_removal_not_bypassed_by_resumption, bs_teardown),
  };
  return bt_run_curl_tests(tests, bt_setup_catalogue, NULL);
}
