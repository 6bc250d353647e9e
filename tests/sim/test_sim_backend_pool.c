/* test_sim_backend_pool.c - kept-alive backend connections, as the backend
 * sees them.
 *
 * gatecert-backend numbers its TLS connections ("conn" in each request event,
 * echoed in the response body's "saw"), so how many connections the simulator
 * opened is read from the backend, not from the simulator. The simulator runs
 * on a fake clock from 2030-01-01 with a 60 s sender interval (ticks at 60,
 * 120, ... s from start), trusting the backend through an uploaded endpoint
 * certificate, so a delete and a tick remove the trust.
 *
 * What WSO2's pass-through sender does (simulator/backend_pool.c's top
 * comment, wso2-synapse TargetConnections/HostConnections/PassThroughHttpSender):
 *   - requests reuse one kept-alive connection per route;
 *   - a reload of the sender's SSL config does not close the pooled
 *     connections of a route no profile names by host:port: a connection kept
 *     busy across the tick that removed the backend's trust still serves
 *     (200, same connection), verified with the trust of when it was opened;
 *   - it is reused only until its expiry (the backend's Keep-Alive: timeout=30
 *     minus the 10 s grace), after which a new connection is verified against
 *     the trust of that moment (500 101500);
 *   - a backend that closes an idle connection costs no fault: the next request
 *     opens a new connection (here the backend is gone: 101503, not 101508).
 *   - a connection whose backend sent bytes after a whole response (a stray
 *     TLS record in the same segment) is not reused: the next request gets a
 *     new connection, never the stray bytes (a backend written here, forked).
 * With --backend-keepalive off every request opens its own connection and the
 * tick takes effect at once (as before pooling existed).
 */
#include "support.h"
#include "backend_fixture.h"
#include "backend_support.h"
#include "sim_fixture.h"
#include "sim_world.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ssl.h>

#define FAKE_START "2030-01-01 00:00:00"
#define SECOND     ((int64_t)1000)

typedef struct pool_world {
  sw_world w;
  int64_t t0;
} pool_world;

static void start(pool_world *p, const char *dir_name, const char *keepalive) {
  sw_world_backend(&p->w, "echo", "server", NULL);
  const char *extra[] = {"--sender-reload-interval", "60", "--backend-keepalive", keepalive, NULL};
  char dir[BS_PATH_MAX];
  st_sim_opts opts = {.dir = bt_scratch(dir, dir_name), .clock = FAKE_START, .extra = extra};
  st_check(st_sim_start(&p->w.sim, &opts));
  char id[64];
  assert_int_equal(201, st_create_api(&p->w.sim, "Test", "/test", "1.0", p->w.url, id));
  p->t0 = st_status_i64(&p->w.sim, "started_ms");
  assert_true(p->t0 > 0);
}

static void at(pool_world *p, int64_t seconds) {
  st_check(st_clock_set(&p->w.sim, p->t0 + seconds * SECOND));
}

/* One call: its status must be `status`; returns the backend connection that
 * served it (0 when the backend was not reached). */
static long call(pool_world *p, long status, const char *what) {
  bs_response res;
  st_check(st_call(&p->w.sim, "/test/1.0/menaka", &res));
  if (res.status != status)
    fail_msg("%s: expected %ld, got %ld: %s", what, status, res.status, res.body);
  long conn = 0;
  if (status == 200) {
    json_error_t err;
    json_t *body = json_loads(res.body, 0, &err);
    json_t *number = body ? bs_json_at(body, "saw.conn") : NULL;
    if (!json_is_integer(number))
      fail_msg("%s: no saw.conn in the backend's answer: %s", what, res.body);
    conn = (long)json_integer_value(number);
    json_decref(body);
  } else if (status == 500 && !strstr(res.body, "101500")) {
    fail_msg("%s: expected 101500, got %s", what, res.body);
  }
  bs_response_free(&res);
  return conn;
}

static void trust_backend(pool_world *p) {
  char path[BS_PATH_MAX];
  st_reply r;
  st_check(st_upload_cert(&p->w.sim, "echo", p->w.url, bt_scratch(path, "root.pem"), &r));
  assert_int_equal(201, r.status);
  st_reply_free(&r);
}

static void untrust_backend(pool_world *p) {
  st_reply r;
  st_check(st_admin(&p->w.sim, "DELETE", ST_CERTS "/echo", NULL, &r));
  assert_int_equal(200, r.status);
  st_reply_free(&r);
}

/* N requests: one connection with pooling, N without. */
static const struct {
  const char *name;
  const char *keepalive;
  int one_connection;
} reuse_rows[] = {
    {"pooling on (WSO2's default)", "on", 1},
    {"pooling off (http.connection.disable.keepalive)", "off", 0},
};

static void test_requests_share_a_connection(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(reuse_rows) / sizeof(reuse_rows[0]); i++) {
    pool_world p = {0};
    char dir[64];
    snprintf(dir, sizeof(dir), "reuse-%zu", i);
    start(&p, dir, reuse_rows[i].keepalive);
    trust_backend(&p);
    at(&p, 61);
    long first = call(&p, 200, reuse_rows[i].name), last = first;
    for (int n = 1; n < 5; n++) {
      at(&p, 61 + n);
      long conn = call(&p, 200, reuse_rows[i].name);
      if (reuse_rows[i].one_connection && conn != first)
        fail_msg("%s: request %d on connection %ld, not %ld", reuse_rows[i].name, n + 1, conn,
                 first);
      if (!reuse_rows[i].one_connection && conn <= last)
        fail_msg("%s: request %d reused connection %ld", reuse_rows[i].name, n + 1, conn);
      last = conn;
    }
    assert_int_equal(5, sw_served(p.w.report, NULL));
    sw_world_stop(&p.w);
  }
}

/* The tick that removes the backend's trust, crossed by a busy connection. */
static const struct {
  const char *name;
  const char *keepalive;
  long after_tick; /* status of the first call after the tick */
} tick_rows[] = {
    {"pooling on: the pooled connection keeps its verification", "on", 200},
    {"pooling off: the tick applies to the next request", "off", 500},
};

static void test_trust_removed_under_a_pooled_connection(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(tick_rows) / sizeof(tick_rows[0]); i++) {
    pool_world p = {0};
    char dir[64];
    snprintf(dir, sizeof(dir), "tick-%zu", i);
    start(&p, dir, tick_rows[i].keepalive);
    trust_backend(&p);
    at(&p, 61); /* the tick at 60 s loaded the certificate */
    long first = call(&p, 200, "after the upload's tick");
    untrust_backend(&p);
    /* every 15 s (under the 20 s expiry) until just after the tick at 120 s */
    for (int64_t t = 76; t < 120; t += 15) {
      at(&p, t);
      call(&p, 200, "before the tick");
    }
    at(&p, 121);
    long conn = call(&p, tick_rows[i].after_tick, tick_rows[i].name);
    assert_int_equal(3, st_status_i64(&p.w.sim, "sender.generation"));
    if (tick_rows[i].after_tick == 200 && conn != first)
      fail_msg("%s: served by connection %ld, not the pooled %ld", tick_rows[i].name, conn, first);
    /* idle past its expiry (Keep-Alive timeout 30 s - grace 10 s): a new
     * connection, verified with the trust of now */
    at(&p, 121 + 25);
    call(&p, 500, "after the pooled connection expired");
    sw_world_stop(&p.w);
  }
}

/* A backend that closes its idle kept-alive connection (here: it stops) is no
 * "closed by the backend" fault: the next request opens a new connection,
 * which is refused (101503). */
static void test_backend_closing_an_idle_connection(void **state) {
  (void)state;
  pool_world p = {0};
  start(&p, "idle-close", "on");
  trust_backend(&p);
  at(&p, 61);
  call(&p, 200, "first call");
  at(&p, 62);
  call(&p, 200, "second call");
  assert_int_equal(0, bs_stop(p.w.backend));
  p.w.backend = NULL;
  at(&p, 63);
  bs_response res;
  st_check(st_call(&p.w.sim, "/test/1.0/menaka", &res));
  if (res.status != 500 || !strstr(res.body, "101503"))
    fail_msg("expected 500 101503 (connection refused), got %ld: %s", res.status, res.body);
  bs_response_free(&res);
  st_check(st_sim_stop(&p.w.sim));
}

/* ---- a backend that sends a record after its response ------------------- */

/* A child process serving HTTPS on listen_fd, one connection at a time, to
 * every request "conn N" (N counts its connections) and then, in the same TCP
 * segment (TCP_CORK), a second TLS record holding a whole stray response
 * "stale". Ends with its parent's SIGTERM. */
static void stray_backend(int listen_fd, const char *chain, const char *key) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, chain) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
    _exit(3);
  for (int conn = 1;; conn++) {
    int fd = accept(listen_fd, NULL, NULL);
    SSL *ssl = fd >= 0 ? SSL_new(ctx) : NULL;
    if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1)
      _exit(4);
    char request[8192];
    size_t have = 0;
    int n;
    while ((n = SSL_read(ssl, request + have, (int)(sizeof(request) - 1 - have))) > 0) {
      have += (size_t)n;
      request[have] = '\0';
      if (!strstr(request, "\r\n\r\n"))
        continue;
      char answer[128];
      int len = snprintf(answer, sizeof(answer),
                         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
                         "conn %d",
                         (int)strlen("conn ") + (conn > 9 ? 2 : 1), conn);
      static const char stray[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale";
      int on = 1, off = 0;
      setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
      if (SSL_write(ssl, answer, len) != len ||
          SSL_write(ssl, stray, (int)sizeof(stray) - 1) != (int)sizeof(stray) - 1)
        break;
      setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
      have = 0;
    }
    SSL_free(ssl);
    close(fd);
  }
}

/* Bytes a backend sends after a whole response, in the TLS records that came
 * with it: without pooling evhttp, idle, reads them and closes the connection;
 * with the simulator's read-ahead OpenSSL holds them (proxy.c
 * read_held_records), so such a connection must not be pooled either. Either
 * way the next request is answered by a new connection, never with the stray
 * bytes. */
static void test_bytes_after_a_response(void **state) {
  (void)state;
  pool_world p = {0};
  int listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t addr_len = sizeof(addr);
  assert_true(listen_fd >= 0);
  assert_int_equal(0, bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)));
  assert_int_equal(0, listen(listen_fd, 8));
  assert_int_equal(0, getsockname(listen_fd, (struct sockaddr *)&addr, &addr_len));
  char chain[BS_PATH_MAX], key[BS_PATH_MAX];
  bt_scratch(chain, "server.chain.pem");
  bt_scratch(key, "server.key");
  fflush(NULL);
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlives a test that failed */
    stray_backend(listen_fd, chain, key);
    _exit(0);
  }
  close(listen_fd);
  snprintf(p.w.url, sizeof(p.w.url), "https://localhost:%d", ntohs(addr.sin_port));
  const char *extra[] = {"--sender-reload-interval", "60", "--backend-keepalive", "on", NULL};
  char dir[BS_PATH_MAX];
  st_sim_opts opts = {.dir = bt_scratch(dir, "stray"), .clock = FAKE_START, .extra = extra};
  st_check(st_sim_start(&p.w.sim, &opts));
  char id[64];
  assert_int_equal(201, st_create_api(&p.w.sim, "Test", "/test", "1.0", p.w.url, id));
  p.t0 = st_status_i64(&p.w.sim, "started_ms");
  trust_backend(&p);
  at(&p, 61);
  static const char *const expected[] = {"conn 1", "conn 2", "conn 3"};
  for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
    bs_response res;
    st_check(st_call(&p.w.sim, "/test/1.0/menaka", &res));
    int ok = res.status == 200 && res.body && strcmp(res.body, expected[i]) == 0;
    char got[160];
    snprintf(got, sizeof(got), "%ld %s", res.status, res.body ? res.body : "");
    bs_response_free(&res);
    if (!ok) {
      kill(child, SIGTERM);
      waitpid(child, NULL, 0);
      fail_msg("call %zu: expected 200 \"%s\", got %s", i + 1, expected[i], got);
    }
  }
  st_check(st_sim_stop(&p.w.sim));
  kill(child, SIGTERM);
  waitpid(child, NULL, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_requests_share_a_connection, bs_teardown),
      cmocka_unit_test_teardown(test_trust_removed_under_a_pooled_connection, bs_teardown),
      cmocka_unit_test_teardown(test_backend_closing_an_idle_connection, bs_teardown),
      cmocka_unit_test_teardown(test_bytes_after_a_response, bs_teardown),
  };
  return bt_run_curl("sim_backend_pool", tests, sizeof(tests) / sizeof(tests[0]),
                     bt_setup_catalogue_2030, NULL);
}
