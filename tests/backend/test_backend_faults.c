/* test_backend_faults.c - the broken-on-purpose connections of gatecert-backend
 * (fault=refuse|reset|stall|garbage|close-mid-body|close-after-request|
 * close-mid-head, delay-ms) as a client experiences them.
 *
 * One row per fault: the CURLcodes curl 7.88 gives for it, the HTTP status
 * and body length where one arrives, elapsed-time bounds that tell "waited"
 * from "failed at once" (behaviour with generous margins, not performance),
 * and whether the report must hold a "fault" event (reached_app false) or a
 * request event. Where TCP itself is the behaviour (refused, reset by RST,
 * accepted and silent), a raw socket checks it too. The faults that answer a
 * request act only once the whole request is in: a raw TLS client sends a
 * head announcing a body, half the body, sees nothing for a while, sends the
 * rest, and only then gets the fault.
 */
#include "support.h"
#include "backend_support.h"
#include "backend_fixture.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

typedef enum tcp_check { TCP_NONE = 0, TCP_REFUSED, TCP_RESET, TCP_SILENT } tcp_check;

typedef struct fault_case {
  const char *name;
  const char *options;     /* spec after "name:" and the cert, e.g. "fault=reset" */
  int with_cert;           /* the spec carries cert= and key= */
  long timeout_ms;         /* curl's total timeout */
  long connect_timeout_ms; /* curl's connect (TCP + TLS) timeout, 0: none */
  CURLcode codes[4];       /* what curl may return, code_count of them */
  size_t code_count;
  long status;       /* HTTP status curl saw (0: none) */
  long body_len;     /* body bytes received, -1: not checked */
  double min_ms;     /* the call took at least this long */
  double max_ms;     /* and at most this long */
  int requests;      /* sequential requests, each checked */
  const char *event; /* "fault", "request" or NULL: no event required */
  tcp_check tcp;
} fault_case;

static const fault_case fault_cases[] = {
    {"refuse",
     "fault=refuse",
     0,
     2000,
     0,
     {CURLE_COULDNT_CONNECT},
     1,
     0,
     -1,
     0,
     1500,
     1,
     NULL,
     TCP_REFUSED},
    /* an RST before any TLS: curl fails inside its TLS connect, or, when
     * the RST beats its check of the new socket (a loaded machine), reports
     * that it could not connect; the raw socket below tells RST from refusal */
    {"reset",
     "fault=reset",
     0,
     5000,
     0,
     {CURLE_SSL_CONNECT_ERROR, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_COULDNT_CONNECT},
     4,
     0,
     -1,
     0,
     2500,
     1,
     "fault",
     TCP_RESET},
    {"stall",
     "fault=stall",
     0,
     5000,
     300,
     {CURLE_OPERATION_TIMEDOUT},
     1,
     0,
     -1,
     290, /* curl's timer may fire a fraction of a millisecond early */
     2500,
     1,
     "fault",
     TCP_SILENT},
    /* bytes that are not HTTP after a good handshake: curl 7.88 reads them
     * as an HTTP/0.9 answer, which it refuses */
    {"garbage",
     "fault=garbage",
     1,
     5000,
     0,
     {CURLE_UNSUPPORTED_PROTOCOL, CURLE_WEIRD_SERVER_REPLY},
     2,
     0,
     -1,
     0,
     2500,
     1,
     "fault",
     TCP_NONE},
    {"close-mid-body",
     "fault=close-mid-body",
     1,
     5000,
     0,
     {CURLE_PARTIAL_FILE},
     1,
     200,
     10,
     0,
     2500,
     1,
     "fault",
     TCP_NONE},
    /* the close_notify before any byte of answer: curl 7.88 reports an
     * empty reply */
    {"close-after-request",
     "fault=close-after-request",
     1,
     5000,
     0,
     {CURLE_GOT_NOTHING},
     1,
     0,
     -1,
     0,
     2500,
     1,
     "fault",
     TCP_NONE},
    /* a status line and a header line, then the end of the stream: curl
     * 7.88 takes the head as ended by the close and the body as empty
     * (a gateway may not) */
    {"close-mid-head",
     "fault=close-mid-head",
     1,
     5000,
     0,
     {CURLE_OK},
     1,
     200,
     0,
     0,
     2500,
     1,
     "fault",
     TCP_NONE},
    {"delay",
     "delay-ms=300",
     1,
     5000,
     0,
     {CURLE_OK},
     1,
     200,
     -1,
     300,
     3000,
     2,
     "request",
     TCP_NONE},
    /* a client that gives up before the delay ends */
    {"delay-client-timeout",
     "delay-ms=3000",
     1,
     300,
     0,
     {CURLE_OPERATION_TIMEDOUT},
     1,
     0,
     -1,
     290,
     2500,
     1,
     NULL,
     TCP_NONE},
    {"no-fault",
     "fault=none,delay-ms=0",
     1,
     5000,
     0,
     {CURLE_OK},
     1,
     200,
     -1,
     0,
     2500,
     1,
     "request",
     TCP_NONE},
};

static int connect_loopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
    fail_msg("connect 127.0.0.1:%d: %s", port, strerror(errno));
  return fd;
}

/* What a plain TCP client sees within 1 s: 1 data, 0 orderly close, -errno. */
static int tcp_outcome(int port) {
  int fd = connect_loopback(port);
  const char hello[] = "\x16\x03\x01"; /* the start of a TLS record */
  if (send(fd, hello, sizeof(hello) - 1, MSG_NOSIGNAL) < 0) {
    /* the RST came first: send() reports (and consumes) the error */
    int e = errno;
    close(fd);
    return -e;
  }
  struct pollfd pfd = {fd, POLLIN, 0};
  int pr = poll(&pfd, 1, 1000);
  int outcome;
  if (pr == 0) {
    outcome = -ETIMEDOUT;
  } else {
    char buf[64];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    outcome = n > 0 ? 1 : n == 0 ? 0 : -errno;
  }
  close(fd);
  return outcome;
}

static void check_tcp(const fault_case *fc, int port) {
  switch (fc->tcp) {
  case TCP_NONE:
    break;
  case TCP_REFUSED:
    bs_check(bs_port_refused(port) == 1);
    break;
  case TCP_RESET: {
    int o = tcp_outcome(port);
    if (o != -ECONNRESET)
      fail_msg("reset: expected ECONNRESET, got %s", o == 1   ? "data"
                                                     : o == 0 ? "a close"
                                                              : strerror(-o));
    break;
  }
  case TCP_SILENT: {
    int o = tcp_outcome(port);
    if (o != -ETIMEDOUT)
      fail_msg("stall: expected silence for 1 s, got %s", o == 1   ? "data"
                                                          : o == 0 ? "a close"
                                                                   : strerror(-o));
    break;
  }
  }
}

/* The spec breaks the connection on purpose (fault= other than none). */
static int is_fault(const fault_case *fc) {
  return strstr(fc->options, "fault=") != NULL && strstr(fc->options, "fault=none") == NULL;
}

static void check_request(const fault_case *fc, int port, const char *ca) {
  bs_request req = {.port = port,
                    .path = "/menaka",
                    .cainfo = ca,
                    .timeout_ms = fc->timeout_ms,
                    .connect_timeout_ms = fc->connect_timeout_ms};
  bs_response res;
  bs_http(&req, &res);
  int code_ok = 0;
  for (size_t i = 0; i < fc->code_count; i++)
    code_ok |= res.code == fc->codes[i];
  if (!code_ok)
    fail_msg("%s: curl %d (%s) after %.0f ms, not one of the expected codes", fc->name, res.code,
             res.error, res.elapsed_ms);
  assert_int_equal(fc->status, res.status);
  if (fc->body_len >= 0)
    assert_int_equal(fc->body_len, (long)res.body_len);
  if (res.code == CURLE_OK && !is_fault(fc))
    assert_non_null(strstr(res.body, "Jersey say : menaka"));
  if (res.elapsed_ms < fc->min_ms || res.elapsed_ms > fc->max_ms)
    fail_msg("%s: took %.0f ms, expected %.0f..%.0f ms", fc->name, res.elapsed_ms, fc->min_ms,
             fc->max_ms);
  bs_response_free(&res);
}

static void check_report(const fault_case *fc, const char *report) {
  bs_events ev;
  if (fc->event != NULL) {
    bs_check(bs_report_wait(report, fc->event, (size_t)fc->requests, 2000, &ev) == 0);
    json_t *e = bs_events_last(&ev, fc->event);
    assert_string_equal(fc->name, bs_json_str(e, "backend"));
    if (strcmp(fc->event, "fault") == 0) {
      assert_true(json_is_false(json_object_get(e, "reached_app")));
      assert_true(json_is_null(json_object_get(e, "request")));
      assert_non_null(bs_json_str(e, "error"));
    } else {
      assert_true(json_is_true(json_object_get(e, "reached_app")));
    }
    bs_events_free(&ev);
  }
  /* whatever else was written: a fault never reaches the application */
  if (is_fault(fc) && bs_report_load(report, &ev) == 0) {
    for (size_t i = 0; i < ev.count; i++) {
      if (!json_is_false(json_object_get(ev.items[i], "reached_app")))
        fail_msg("%s: event %zu has reached_app not false", fc->name, i);
    }
    assert_int_equal(0, (int)bs_events_count(&ev, "request"));
    bs_events_free(&ev);
  }
}

static void test_fault(void **state) {
  const fault_case *fc = *state;
  const char *dir = test_scratch_dir();
  char report[BS_PATH_MAX], file[128], cert[BS_PATH_MAX], key[BS_PATH_MAX], ca[BS_PATH_MAX];
  snprintf(file, sizeof(file), "%s.jsonl", fc->name);
  unlink(bs_join(report, dir, file));
  char spec[3 * BS_PATH_MAX];
  if (fc->with_cert)
    snprintf(spec, sizeof(spec), "%s:cert=%s,key=%s,%s", fc->name,
             bt_scratch(cert, "server.chain.pem"), bt_scratch(key, "server.key"), fc->options);
  else
    snprintf(spec, sizeof(spec), "%s:%s", fc->name, fc->options);
  const char *args[] = {"--report-dir", dir, "--backend", spec, NULL};
  bs_start_opts opts = {.args = args, .scratch_dir = dir};
  bs_process *p = bs_start(&opts);
  bs_check(p != NULL);
  int port = bs_port(p, fc->name);
  assert_true(port > 0);
  for (int i = 0; i < fc->requests; i++)
    check_request(fc, port, bt_scratch(ca, "root.pem"));
  check_report(fc, report);
  check_tcp(fc, port);
}

/* ---- the answering faults wait for the whole request ----------------------- */

typedef struct partial_case {
  const char *fault;
  const char *head;   /* the request head, announcing a body */
  const char *first;  /* the first part of the body */
  const char *rest;   /* the rest, after a pause */
  const char *answer; /* what arrives before the close: exactly, or its start */
  size_t answer_len;  /* bytes compared (0: nothing may arrive) */
  int exact;          /* the answer is all that arrives */
} partial_case;

#define LENGTH_HEAD "POST /menaka HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n"
#define CHUNKED_HEAD                                                                               \
  "POST /menaka HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
#define CUT_HEAD "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
#define GARBAGE  "\x00\xff\xfegatecert garbage"

static const partial_case partial_cases[] = {
    {"close-after-request", LENGTH_HEAD, "01234", "56789", "", 0, 1},
    {"garbage", LENGTH_HEAD, "01234", "56789", GARBAGE, sizeof(GARBAGE) - 1, 0},
    {"close-mid-head", LENGTH_HEAD, "01234", "56789", CUT_HEAD, sizeof(CUT_HEAD) - 1, 1},
    {"close-mid-body", CHUNKED_HEAD, "5\r\nhello\r\n", "0\r\n\r\n", "HTTP/1.1 200 OK\r\n", 17, 0},
};

typedef struct tls_client {
  int fd;
  SSL_CTX *ctx;
  SSL *ssl;
} tls_client;

static void tls_client_open(tls_client *t, int port) {
  t->fd = connect_loopback(port);
  t->ctx = SSL_CTX_new(TLS_client_method());
  assert_non_null(t->ctx);
  SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL); /* the backend's identity is not the point */
  t->ssl = SSL_new(t->ctx);
  assert_non_null(t->ssl);
  SSL_set_fd(t->ssl, t->fd);
  SSL_set_tlsext_host_name(t->ssl, "localhost");
  if (SSL_connect(t->ssl) != 1)
    fail_msg("TLS handshake with 127.0.0.1:%d failed", port);
  assert_int_equal(0, fcntl(t->fd, F_SETFL, fcntl(t->fd, F_GETFL) | O_NONBLOCK));
}

static void tls_client_close(tls_client *t) {
  SSL_free(t->ssl);
  SSL_CTX_free(t->ctx);
  close(t->fd);
}

static void tls_client_send(tls_client *t, const char *text) {
  size_t len = strlen(text), done = 0;
  while (done < len) {
    int r = SSL_write(t->ssl, text + done, (int)(len - done));
    if (r > 0) {
      done += (size_t)r;
      continue;
    }
    int err = SSL_get_error(t->ssl, r);
    if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ)
      fail_msg("TLS write failed (SSL error %d)", err);
    struct pollfd pfd = {t->fd, err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, 0};
    poll(&pfd, 1, 100);
  }
}

/* Reads for up to ms, appending to out (at most cap bytes kept): 1 once the
 * backend closed (close_notify or end of stream), 0 when the time ran out. */
static int tls_client_read(tls_client *t, int ms, char *out, size_t cap, size_t *len) {
  double deadline = gu_now_ms() + ms;
  for (;;) {
    char buf[512];
    int r = SSL_read(t->ssl, buf, (int)sizeof(buf));
    if (r > 0) {
      size_t n = (size_t)r < cap - *len ? (size_t)r : cap - *len;
      memcpy(out + *len, buf, n);
      *len += n;
      continue;
    }
    int err = SSL_get_error(t->ssl, r);
    if (err != SSL_ERROR_WANT_READ)
      return 1; /* ZERO_RETURN (close_notify), or the stream ended */
    double left = deadline - gu_now_ms();
    if (left <= 0)
      return 0;
    struct pollfd pfd = {t->fd, POLLIN, 0};
    poll(&pfd, 1, (int)left + 1);
  }
}

static void test_after_whole_request(void **state) {
  const partial_case *pc = *state;
  const char *dir = test_scratch_dir();
  char report[BS_PATH_MAX], file[128], cert[BS_PATH_MAX], key[BS_PATH_MAX];
  char spec[3 * BS_PATH_MAX];
  snprintf(file, sizeof(file), "%s.jsonl", pc->fault);
  unlink(bs_join(report, dir, file));
  snprintf(spec, sizeof(spec), "%s:cert=%s,key=%s,fault=%s", pc->fault,
           bt_scratch(cert, "server.chain.pem"), bt_scratch(key, "server.key"), pc->fault);
  const char *args[] = {"--report-dir", dir, "--backend", spec, NULL};
  bs_start_opts opts = {.args = args, .scratch_dir = dir};
  bs_process *p = bs_start(&opts);
  bs_check(p != NULL);

  tls_client t;
  tls_client_open(&t, bs_port(p, pc->fault));
  tls_client_send(&t, pc->head);
  tls_client_send(&t, pc->first);
  char got[1024];
  size_t len = 0;
  if (tls_client_read(&t, 300, got, sizeof(got), &len) || len != 0)
    fail_msg("%s: %zu bytes or a close before the request was whole", pc->fault, len);
  tls_client_send(&t, pc->rest);
  if (!tls_client_read(&t, 2000, got, sizeof(got), &len))
    fail_msg("%s: no close within 2 s of the whole request (%zu bytes)", pc->fault, len);
  tls_client_close(&t);
  if (pc->exact)
    assert_int_equal(pc->answer_len, len);
  else
    assert_true(len >= pc->answer_len);
  assert_memory_equal(pc->answer, got, pc->answer_len);

  bs_events ev;
  bs_check(bs_report_wait(report, "fault", 1, 2000, &ev) == 0);
  json_t *e = bs_events_last(&ev, "fault");
  assert_true(json_is_false(json_object_get(e, "reached_app")));
  assert_non_null(bs_json_str(e, "error"));
  assert_int_equal(1, (int)bs_events_count(&ev, "fault"));
  bs_events_free(&ev);
}

/* All faults in one process: each port behaves as its own spec says. */
static void test_faults_together(void **state) {
  (void)state;
  const char *dir = test_scratch_dir();
  char cert[BS_PATH_MAX], key[BS_PATH_MAX], ca[BS_PATH_MAX];
  bt_scratch(cert, "server.chain.pem");
  bt_scratch(key, "server.key");
  char specs[4][3 * BS_PATH_MAX];
  snprintf(specs[0], sizeof(specs[0]), "ok:cert=%s,key=%s", cert, key);
  snprintf(specs[1], sizeof(specs[1]), "refused:fault=refuse");
  snprintf(specs[2], sizeof(specs[2]), "partial:cert=%s,key=%s,fault=close-mid-body", cert, key);
  snprintf(specs[3], sizeof(specs[3]), "reset:fault=reset");
  const char *args[] = {"--backend", specs[0],    "--backend", specs[1], "--backend",
                        specs[2],    "--backend", specs[3],    NULL};
  bs_start_opts opts = {.args = args, .scratch_dir = dir};
  bs_process *p = bs_start(&opts);
  bs_check(p != NULL);
  assert_int_equal(4, (int)p->count);
  static const struct {
    const char *name;
    CURLcode code;
  } expect[] = {{"ok", CURLE_OK},
                {"refused", CURLE_COULDNT_CONNECT},
                {"partial", CURLE_PARTIAL_FILE},
                {"ok", CURLE_OK}};
  for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
    bs_request req = {.port = bs_port(p, expect[i].name), .cainfo = bt_scratch(ca, "root.pem")};
    assert_true(req.port > 0);
    bs_response res;
    if (bs_http(&req, &res) != expect[i].code)
      fail_msg("%s: curl %d (%s), expected %d", expect[i].name, res.code, res.error,
               expect[i].code);
    bs_response_free(&res);
  }
  assert_int_equal(-ECONNRESET, tcp_outcome(bs_port(p, "reset")));
}

int main(void) {
  enum {
    N = sizeof(fault_cases) / sizeof(fault_cases[0]),
    P = sizeof(partial_cases) / sizeof(partial_cases[0])
  };
  struct CMUnitTest tests[N + P + 1];
  char names[P][64];
  for (size_t i = 0; i < N; i++) {
    struct CMUnitTest t = {fault_cases[i].name, test_fault, NULL, bs_teardown,
                           (void *)&fault_cases[i]};
    tests[i] = t;
  }
  for (size_t i = 0; i < P; i++) {
    snprintf(names[i], sizeof(names[i]), "%s-after-whole-request", partial_cases[i].fault);
    struct CMUnitTest t = {names[i], test_after_whole_request, NULL, bs_teardown,
                           (void *)&partial_cases[i]};
    tests[N + i] = t;
  }
  struct CMUnitTest together = {"faults-together", test_faults_together, NULL, bs_teardown, NULL};
  tests[N + P] = together;
  return bt_run_curl("backend_faults", tests, N + P + 1, bt_setup_catalogue, NULL);
}
