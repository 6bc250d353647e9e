/* test_sim_framing.c - the HTTP framing table (issue 15 item 1): exact request
 * bytes that a careless parser reads two ways, sent over raw sockets to a
 * running gatecert-sim, each row with the status the simulator must answer
 * and how many requests its backend (a gatecert-backend) may have served
 * because of it: 0 for every refused row, so nothing of a refused request -
 * nor a request hidden in its body - reached the backend.
 *
 *   test_sim_framing            gsim_framing_check_headers on hand-built header
 *                               lists (no connection), then the rows against
 *                               the data plane (HTTPS, the
 *                               backend's report counted around each row) and
 *                               against the admin listener (plain HTTP, with
 *                               credentials: a refused row gets the same
 *                               status there)
 *   test_sim_framing compare    (label slow) the same rows against nginx and
 *                               HAProxy (Debian packages; skipped when
 *                               missing), each a TLS proxy on loopback in
 *                               front of the same backend; prints the table
 *                               "row | sim | nginx | HAProxy" (status / backend
 *                               requests), writes it to GATECERT_TMP/table.md,
 *                               and fails when a gateway refuses a row the
 *                               simulator serves, unless the row names why the
 *                               simulator deliberately differs
 *
 * A row's bytes are a template: $P is the request path (routed to the
 * backend), $E the listener's extra header lines (the admin credentials),
 * $B a 70000-byte header value. Every request is keep-alive (HTTP/1.1 without
 * "Connection: close"), so bytes after a misframed request would be read as
 * another request if the connection stayed open. The client reads until the
 * server closes or is quiet for QUIET_MS. Decisions follow RFC 9112 and, where
 * it leaves a choice, nginx; simulator/README.md ("HTTP framing") has the
 * measured table.
 */
#include "support.h"
#include "backend_fixture.h"
#include "backend_support.h"
#include "sim_fixture.h"
#include "sim_world.h"
#include "framing.h"
#include "gutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define QUIET_MS  1000
#define TOTAL_MS  8000
#define RESP_MAX  65536
#define API_PATH  "/fr/1.0/x"
#define AUTH_LINE "Authorization: Basic YWRtaW46czNjcmV0LWFkbWlu\r\n" /* admin:s3cret-admin */

/* A request hidden in a body: 50 bytes. */
#define SMUGGLED "GET /fr/1.0/smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"
_Static_assert(sizeof(SMUGGLED) - 1 == 50, "SMUGGLED is 50 bytes");

#define RAW(s) s, sizeof(s) - 1

typedef struct frow {
  const char *name;
  const char *bytes; /* template ($P, $E, $B) */
  size_t len;
  int sim;            /* the simulator's status */
  int forwarded;      /* requests the backend serves because of this row */
  const char *rfc;    /* what decides the row */
  const char *absent; /* headers (comma-separated) the backend must not see */
  const char *why;    /* when set: why the simulator deliberately answers
                        less strictly than nginx or HAProxy may */
} frow;

#define GET_HEAD     "GET $P HTTP/1.1\r\nHost: localhost\r\n$E"
#define POST_HEAD    "POST $P HTTP/1.1\r\nHost: localhost\r\n$E"
#define CHUNKED_BODY "5\r\nhello\r\n0\r\n\r\n"

static const frow rows[] = {
    {"baseline GET", RAW(GET_HEAD "\r\n"), 200, 1, "RFC 9112 3", NULL, NULL},
    {"baseline POST, Content-Length", RAW(POST_HEAD "Content-Length: 5\r\n\r\nhello"), 200, 1,
     "RFC 9112 6.3 (6)", NULL, NULL},
    {"baseline POST, chunked", RAW(POST_HEAD "Transfer-Encoding: chunked\r\n\r\n" CHUNKED_BODY),
     200, 1, "RFC 9112 7.1", NULL, NULL},
    {"two different Content-Length",
     RAW(POST_HEAD "Content-Length: 5\r\nContent-Length: 55\r\n\r\nhello" SMUGGLED), 400, 0,
     "RFC 9112 6.3 (5)", NULL, NULL},
    {"two equal Content-Length",
     RAW(POST_HEAD "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"), 400, 0,
     "RFC 9112 6.3 (5): MAY; nginx refuses", NULL, NULL},
    {"Content-Length list 5, 5", RAW(POST_HEAD "Content-Length: 5, 5\r\n\r\nhello"), 400, 0,
     "RFC 9112 6.3 (5)", NULL, NULL},
    {"Content-Length +5", RAW(POST_HEAD "Content-Length: +5\r\n\r\nhello"), 400, 0,
     "RFC 9110 8.6 (1*DIGIT)", NULL, NULL},
    {"Content-Length -1", RAW(POST_HEAD "Content-Length: -1\r\n\r\nhello"), 400, 0, "RFC 9110 8.6",
     NULL, NULL},
    {"Content-Length over 64 bits",
     RAW(POST_HEAD "Content-Length: 99999999999999999999999\r\n\r\nhello"), 413, 0,
     "RFC 9110 8.6 (overflow); issue 15: 413", NULL, NULL},
    {"Content-Length over the body limit", RAW(POST_HEAD "Content-Length: 20000000\r\n\r\nhello"),
     413, 0, "RFC 9110 15.5.14", NULL, NULL},
    {"Transfer-Encoding with space before colon",
     RAW(POST_HEAD "Transfer-Encoding : chunked\r\n\r\n" CHUNKED_BODY), 400, 0,
     "RFC 9112 5.1 (MUST 400)", NULL, NULL},
    {"Transfer-Encoding: chunked, gzip",
     RAW(POST_HEAD "Transfer-Encoding: chunked, gzip\r\n\r\n" CHUNKED_BODY), 400, 0,
     "RFC 9112 6.3 (4) (MUST 400)", NULL, NULL},
    {"Transfer-Encoding: gzip, chunked",
     RAW(POST_HEAD "Transfer-Encoding: gzip, chunked\r\n\r\n" CHUNKED_BODY), 501, 0,
     "RFC 9112 6.1 (SHOULD 501)", NULL, NULL},
    {"Transfer-Encoding: identity",
     RAW(POST_HEAD "Transfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello"), 400, 0,
     "RFC 9112 6.1, 6.3 (4)", NULL, NULL},
    {"Transfer-Encoding: unknown coding", RAW(POST_HEAD "Transfer-Encoding: x-foo\r\n\r\nhello"),
     400, 0, "RFC 9112 6.3 (4)", NULL, NULL},
    {"Transfer-Encoding twice",
     RAW(POST_HEAD "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" CHUNKED_BODY),
     400, 0, "RFC 9112 6.1 (chunked once)", NULL, NULL},
    {"Content-Length and Transfer-Encoding",
     RAW(POST_HEAD "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" CHUNKED_BODY), 400, 0,
     "RFC 9112 6.1 (MAY 400, then close)", NULL, NULL},
    {"Transfer-Encoding in HTTP/1.0",
     RAW("POST $P HTTP/1.0\r\nHost: localhost\r\n$ETransfer-Encoding: "
         "chunked\r\n\r\n" CHUNKED_BODY),
     400, 0, "RFC 9112 6.1 (faulty framing)", NULL, NULL},
    {"invalid chunk size",
     RAW(POST_HEAD "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"), 413, 0,
     "RFC 9112 7.1", NULL, NULL},
    {"chunk size 0x5", RAW(POST_HEAD "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"),
     200, 1, "RFC 9112 7.1 (chunk-size = 1*HEXDIG)", NULL,
     "evhttp reads chunk sizes with strtoll base 16, which takes 0x; the simulator re-frames the "
     "body with Content-Length toward the backend, so no boundary moves"},
    {"obs-fold", RAW(GET_HEAD "X-Fold: a\r\n b\r\n\r\n"), 200, 1, "RFC 9112 5.2 (400 or SP)", NULL,
     "evhttp replaces the fold with one space, as RFC 9112 5.2 allows; the header list does not "
     "show it"},
    {"obs-fold first line", RAW("GET $P HTTP/1.1\r\n folded: x\r\nHost: localhost\r\n$E\r\n"), 400,
     0, "RFC 9112 2.2", NULL, NULL},
    {"NUL in a header value", RAW(GET_HEAD "X-Nul: a\0b\r\n\r\n"), 200, 1,
     "RFC 9110 5.5 (MUST 400 or SP)", NULL,
     "evhttp cuts the value at the NUL before the simulator sees it (the backend gets \"a\"); no "
     "header boundary moves"},
    {"NUL in a header name", RAW(GET_HEAD "X-N\0ul: a\r\n\r\n"), 400, 0, "RFC 9110 5.1", NULL,
     NULL},
    {"bare LF line endings", RAW("GET $P HTTP/1.1\nHost: localhost\n$E\n"), 200, 1,
     "RFC 9112 2.2 (MAY accept LF)", NULL, NULL},
    {"CR without LF in a value", RAW(GET_HEAD "X-Cr: a\rb\r\n\r\n"), 400, 0,
     "RFC 9112 2.2 (bare CR invalid)", NULL, NULL},
    {"CR without LF as line end", RAW("GET $P HTTP/1.1\rHost: localhost\r\n$E\r\n"), 400, 0,
     "RFC 9112 2.2", NULL, NULL},
    {"absolute-form target", RAW("GET https://localhost$P HTTP/1.1\r\nHost: localhost\r\n$E\r\n"),
     200, 1, "RFC 9112 3.2.2 (MUST accept)", NULL, NULL},
    {"duplicate Host", RAW(GET_HEAD "Host: localhost\r\n\r\n"), 400, 0, "RFC 9112 3.2 (MUST 400)",
     NULL, NULL},
    {"Host missing, HTTP/1.1", RAW("GET $P HTTP/1.1\r\n$E\r\n"), 400, 0, "RFC 9112 3.2 (MUST 400)",
     NULL, NULL},
    {"Host missing, HTTP/1.0", RAW("GET $P HTTP/1.0\r\n$E\r\n"), 200, 1, "RFC 9112 3.2", NULL,
     NULL},
    {"Host with a slash", RAW("GET $P HTTP/1.1\r\nHost: local/host\r\n$E\r\n"), 400, 0,
     "RFC 9112 3.2 (invalid value: 400)", NULL, NULL},
    {"oversized header", RAW(GET_HEAD "X-Big: $B\r\n\r\n"), 400, 0, "RFC 6585 5 (431) / 400", NULL,
     NULL},
    {"header name with a space", RAW(GET_HEAD "X Bad: 1\r\n\r\n"), 400, 0, "RFC 9110 5.1 (token)",
     NULL, NULL},
    {"header name with a non-token char", RAW(GET_HEAD "X@Bad: 1\r\n\r\n"), 400, 0,
     "RFC 9110 5.1 (token)", NULL, NULL},
    {"request line with two spaces", RAW("GET  $P HTTP/1.1\r\nHost: localhost\r\n$E\r\n"), 400, 0,
     "RFC 9112 3 (SHOULD 400)", NULL, NULL},
    {"HTTP/1.0", RAW("GET $P HTTP/1.0\r\nHost: localhost\r\n$E\r\n"), 200, 1, "RFC 9112 2.3", NULL,
     NULL},
    {"HTTP/2.0 version string", RAW("GET $P HTTP/2.0\r\nHost: localhost\r\n$E\r\n"), 400, 0,
     "RFC 9112 2.3 (505 or 400)", NULL, NULL},
    {"HTTP/0.9 version string", RAW("GET $P HTTP/0.9\r\nHost: localhost\r\n$E\r\n"), 505, 0,
     "RFC 9112 2.3", NULL, NULL},
    {"hop-by-hop headers",
     RAW(GET_HEAD "Connection: keep-alive, X-Drop\r\nX-Drop: 1\r\nProxy-Connection: keep-alive\r\n"
                  "Keep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: h2c\r\nTrailer: X-T\r\n\r\n"),
     200, 1, "RFC 9110 7.6.1", "X-Drop,Proxy-Connection,Keep-Alive,TE,Upgrade,Trailer", NULL},
};
#define ROWS (sizeof(rows) / sizeof(rows[0]))

/* ---- one exchange ------------------------------------------------------------ */

typedef struct target {
  const char *name;
  int port;
  int tls;
  const char *path;   /* $P */
  const char *extra;  /* $E */
  const char *report; /* the backend's report, or NULL: not counted */
} target;

typedef struct answer {
  int status; /* of the first response; 0: none came */
  size_t forwarded;
  char headers_seen[2048]; /* the backend's last request headers (JSON), when forwarded */
} answer;

static char *expand(const frow *r, const target *t, size_t *out_len) {
  gu_text b = {0};
  for (size_t i = 0; i < r->len; i++) {
    if (r->bytes[i] == '$' && i + 1 < r->len && strchr("PEB", r->bytes[i + 1])) {
      char c = r->bytes[++i];
      if (c == 'P')
        gu_text_add(&b, t->path, strlen(t->path));
      else if (c == 'E')
        gu_text_add(&b, t->extra, strlen(t->extra));
      else
        for (int k = 0; k < 70000; k++)
          gu_text_add(&b, "a", 1);
    } else {
      gu_text_add(&b, r->bytes + i, 1);
    }
  }
  assert_false(b.failed);
  *out_len = b.len;
  return b.data;
}

static int64_t now_ms(void) { return gu_now_ms(); }

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

/* Sends bytes, reads until close or QUIET_MS of silence; resp gets what came. */
static size_t exchange(const target *t, const char *bytes, size_t len, char *resp) {
  int fd = connect_to(t->port);
  if (fd < 0)
    fail_msg("%s: cannot connect to %d: %s", t->name, t->port, strerror(errno));
  SSL_CTX *ctx = NULL;
  SSL *ssl = NULL;
  if (t->tls) {
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    if (SSL_connect(ssl) != 1)
      fail_msg("%s: TLS handshake failed", t->name);
  }
  /* non-blocking from here: a TLS record that is not application data (a
   * session ticket) must not block the read loop */
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  int64_t start = now_ms();
  for (size_t sent = 0; sent < len && now_ms() - start < TOTAL_MS;) {
    int n = ssl ? SSL_write(ssl, bytes + sent, (int)(len - sent))
                : (int)send(fd, bytes + sent, len - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += (size_t)n;
      continue;
    }
    int again = ssl ? SSL_get_error(ssl, n) == SSL_ERROR_WANT_WRITE ||
                          SSL_get_error(ssl, n) == SSL_ERROR_WANT_READ
                    : errno == EAGAIN || errno == EWOULDBLOCK;
    if (!again)
      break; /* the server answered and closed early (oversized head) */
    struct pollfd p = {.fd = fd, .events = POLLOUT | POLLIN};
    poll(&p, 1, 100);
  }
  size_t got = 0;
  int64_t last = now_ms();
  for (;;) {
    int64_t now = now_ms();
    if (now - last >= QUIET_MS || now - start >= TOTAL_MS)
      break;
    if (!(ssl && SSL_pending(ssl) > 0)) {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      if (poll(&p, 1, (int)(QUIET_MS - (now - last))) <= 0)
        continue;
    }
    char buf[4096];
    int n = ssl ? SSL_read(ssl, buf, sizeof(buf)) : (int)recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      if (ssl ? SSL_get_error(ssl, n) == SSL_ERROR_WANT_READ
              : n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        continue;
      break; /* closed */
    }
    size_t take = (size_t)n < RESP_MAX - 1 - got ? (size_t)n : RESP_MAX - 1 - got;
    memcpy(resp + got, buf, take);
    got += take;
    last = now_ms();
  }
  resp[got] = '\0';
  if (ssl)
    SSL_free(ssl);
  SSL_CTX_free(ctx);
  ERR_clear_error();
  close(fd);
  return got;
}

static void run_row(const frow *r, const target *t, answer *a) {
  size_t len = 0;
  char *bytes = expand(r, t, &len);
  size_t before = t->report ? sw_served(t->report, NULL) : 0;
  char *resp = malloc(RESP_MAX);
  assert_non_null(resp);
  size_t got = exchange(t, bytes, len, resp);
  if (getenv("GATECERT_FRAMING_VERBOSE")) { /* what answered: the head's first line, the body */
    const char *body = strstr(resp, "\r\n\r\n");
    print_message("  [%s] %s: %zu bytes: %.*s | %.80s\n", t->name, r->name, got,
                  (int)strcspn(resp, "\r\n"), resp, body ? body + 4 : "");
  }
  a->status = 0; /* the code after "HTTP/x.y " on the first line */
  const char *code = strncmp(resp, "HTTP/", 5) == 0 ? strchr(resp, ' ') : NULL;
  if (code)
    a->status = (int)strtol(code + 1, NULL, 10);
  a->forwarded = 0;
  a->headers_seen[0] = '\0';
  if (t->report) {
    json_t *last = NULL;
    a->forwarded = sw_served(t->report, &last) - before;
    json_t *h = last ? json_object_get(json_object_get(last, "request"), "headers") : NULL;
    char *text = h ? json_dumps(h, JSON_COMPACT) : NULL;
    if (text)
      snprintf(a->headers_seen, sizeof(a->headers_seen), "%s", text);
    free(text);
    json_decref(last);
  }
  free(resp);
  free(bytes);
}

/* 1 when the backend's last request had a header named name (any case). */
static int saw_header(const answer *a, const char *name) {
  json_t *h = json_loads(a->headers_seen, 0, NULL);
  int found = 0;
  const char *k;
  json_t *v;
  json_object_foreach(h, k, v) {
    if (strcasecmp(k, name) == 0)
      found = 1;
  }
  json_decref(h);
  return found;
}

/* ---- the world: a backend and a simulator ---------------------------------------- */

static int group_setup(void **state) {
  signal(SIGPIPE, SIG_IGN);
  return bt_setup_catalogue(state);
}

static void start_sim_world(sw_world *w) {
  sw_world_backend(w, "echo", "server", NULL);
  sw_sim_start(&w->sim, "sim", NULL, NULL, NULL, NULL);
  /* GET and POST without authentication (WSO2 authType None) */
  char body[1024];
  snprintf(body, sizeof(body),
           "{\"name\":\"fr\",\"context\":\"/fr\",\"version\":\"1.0\","
           "\"endpointConfig\":{\"production_endpoints\":{\"url\":\"%s\"}},"
           "\"operations\":[{\"target\":\"/*\",\"verb\":\"GET\",\"authType\":\"None\"},"
           "{\"target\":\"/*\",\"verb\":\"POST\",\"authType\":\"None\"}]}",
           w->url);
  assert_int_equal(201, sw_admin_json(&w->sim, "POST", ST_APIS, body, NULL));
  sw_reload(&w->sim);
}

static int failures;

static void check_sim_row(const frow *r, const target *t, const answer *a, int admin) {
  int ok = 1;
  if (!admin) {
    ok = a->status == r->sim && a->forwarded == (size_t)r->forwarded;
  } else if (r->sim >= 400) {
    ok = a->status == r->sim;
  } else {
    ok = a->status == 200 || a->status == 405; /* served: GET 200, POST 405 on /_sim/status */
  }
  if (ok && !admin && r->absent && a->forwarded == 1) {
    char names[256];
    snprintf(names, sizeof(names), "%s", r->absent);
    for (char *save = NULL, *n = strtok_r(names, ",", &save); n; n = strtok_r(NULL, ",", &save))
      if (saw_header(a, n)) {
        print_message("  [%s] %s: the backend saw %s: %s\n", t->name, r->name, n, a->headers_seen);
        ok = 0;
      }
  }
  print_message("%s [%s] %-45s want %d/%d got %d/%zu\n", ok ? "ok  " : "FAIL", t->name, r->name,
                r->sim, admin ? -1 : r->forwarded, a->status, a->forwarded);
  if (!ok)
    failures++;
}

static void test_sim_table(void **state) {
  (void)state;
  sw_world w = {0};
  start_sim_world(&w);
  target data = {"sim", w.sim.https, 1, API_PATH, "", w.report};
  target admin = {"sim admin", w.sim.admin, 0, "/_sim/status", AUTH_LINE, NULL};
  failures = 0;
  for (size_t i = 0; i < ROWS; i++) {
    answer a;
    run_row(&rows[i], &data, &a);
    check_sim_row(&rows[i], &data, &a, 0);
  }
  for (size_t i = 0; i < ROWS; i++) {
    answer a;
    run_row(&rows[i], &admin, &a);
    check_sim_row(&rows[i], &admin, &a, 1);
  }
  /* still serving after the whole table */
  assert_int_equal(200, sw_get(&w.sim, "fr", NULL));
  sw_world_stop(&w);
  assert_int_equal(0, failures);
}

/* ---- the check alone, on hand-built header lists ------------------------------------ */

/* gsim_framing_check_headers without a connection (the fuzz target's entry):
 * what evhttp cannot produce (CR in a value) and what it can. */
static void test_check_headers(void **state) {
  (void)state;
  static const struct {
    const char *name;
    const char *headers[8]; /* name, value, name, value, ..., NULL */
    int major, minor;
    const char *target;
    int status;
  } cases[] = {
      {"plain GET", {"Host", "localhost", NULL}, 1, 1, "/x", 0},
      {"HTTP/1.0 without Host", {NULL}, 1, 0, "/x", 0},
      {"HTTP/1.1 without Host", {NULL}, 1, 1, "/x", 400},
      {"two Host", {"Host", "a", "host", "a", NULL}, 1, 1, "/x", 400},
      {"Host with port", {"Host", "localhost:8443", NULL}, 1, 1, "/x", 0},
      {"Host IPv6", {"Host", "[::1]:8443", NULL}, 1, 1, "/x", 0},
      {"Host with userinfo", {"Host", "u@h", NULL}, 1, 1, "/x", 400},
      {"Host empty", {"Host", "", NULL}, 1, 1, "/x", 400},
      {"name with a trailing space",
       {"Host", "h", "Transfer-Encoding ", "chunked", NULL},
       1,
       1,
       "/x",
       400},
      {"empty name", {"Host", "h", "", "v", NULL}, 1, 1, "/x", 400},
      {"CR in a value", {"Host", "h", "X-A", "a\rb", NULL}, 1, 1, "/x", 400},
      {"control byte in a value passes", {"Host", "h", "X-A", "a\x01b", NULL}, 1, 1, "/x", 0},
      {"CL digits", {"Host", "h", "Content-Length", "10", NULL}, 1, 1, "/x", 0},
      {"CL at the limit", {"Host", "h", "content-length", "1000", NULL}, 1, 1, "/x", 0},
      {"CL over the limit", {"Host", "h", "Content-Length", "1001", NULL}, 1, 1, "/x", 413},
      {"CL 30 digits",
       {"Host", "h", "Content-Length", "999999999999999999999999999999", NULL},
       1,
       1,
       "/x",
       413},
      {"CL with a space", {"Host", "h", "Content-Length", "1 0", NULL}, 1, 1, "/x", 400},
      {"CL empty", {"Host", "h", "Content-Length", "", NULL}, 1, 1, "/x", 400},
      {"TE chunked", {"Host", "h", "Transfer-Encoding", "Chunked", NULL}, 1, 1, "/x", 0},
      {"TE chunked with OWS and empty elements",
       {"Host", "h", "Transfer-Encoding", " , chunked ,", NULL},
       1,
       1,
       "/x",
       0},
      {"TE chunked;param",
       {"Host", "h", "Transfer-Encoding", "chunked;x=1", NULL},
       1,
       1,
       "/x",
       400},
      {"TE chunked, chunked",
       {"Host", "h", "Transfer-Encoding", "chunked, chunked", NULL},
       1,
       1,
       "/x",
       400},
      {"TE empty", {"Host", "h", "Transfer-Encoding", "", NULL}, 1, 1, "/x", 400},
      {"TE gzip, chunked",
       {"Host", "h", "Transfer-Encoding", "gzip, chunked", NULL},
       1,
       1,
       "/x",
       501},
      {"version 1.9 read as 1.1", {"Host", "h", NULL}, 1, 9, "/x", 0},
      {"version 0.9", {"Host", "h", NULL}, 0, 9, "/x", 505},
      {"target with a tab", {"Host", "h", NULL}, 1, 1, "/a\tb", 400},
      {"target empty", {"Host", "h", NULL}, 1, 1, "", 400},
      {"no target given", {"Host", "h", NULL}, 1, 1, NULL, 0},
  };
  int bad = 0;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct evkeyvalq h = {0};
    h.tqh_last = &h.tqh_first;
    for (size_t k = 0; cases[i].headers[k]; k += 2) {
      /* evhttp_add_header refuses CR and LF: such a value is put in by hand */
      assert_int_equal(0, evhttp_add_header(&h, cases[i].headers[k], "placeholder"));
      struct evkeyval *last = h.tqh_first;
      while (last->next.tqe_next)
        last = last->next.tqe_next;
      free(last->value);
      last->value = strdup(cases[i].headers[k + 1]);
    }
    gsim_framing_verdict v =
        gsim_framing_check_headers(&h, cases[i].major, cases[i].minor, cases[i].target, 1000);
    if (v.status != cases[i].status) {
      print_message("FAIL %s: want %d, got %d (%s)\n", cases[i].name, cases[i].status, v.status,
                    v.reason ? v.reason : "ok");
      bad++;
    }
    evhttp_clear_headers(&h);
  }
  /* hop-by-hop: the fixed list, names the Connection header lists, non-tokens */
  struct evkeyvalq h = {0};
  h.tqh_last = &h.tqh_first;
  evhttp_add_header(&h, "Connection", "keep-alive, X-Drop ,x-other");
  static const struct {
    const char *name;
    int hop;
  } hops[] = {{"Connection", 1}, {"keep-alive", 1},   {"Proxy-Connection", 1},
              {"TE", 1},         {"Trailer", 1},      {"Transfer-Encoding", 1},
              {"Upgrade", 1},    {"x-drop", 1},       {"X-Other", 1},
              {"X-Keep", 0},     {"Content-Type", 0}, {"Bad Name", 1}};
  for (size_t i = 0; i < sizeof(hops) / sizeof(hops[0]); i++)
    if (gsim_framing_hop_by_hop(&h, hops[i].name) != hops[i].hop) {
      print_message("FAIL hop-by-hop %s: want %d\n", hops[i].name, hops[i].hop);
      bad++;
    }
  evhttp_clear_headers(&h);
  assert_int_equal(0, bad);
}

/* ---- nginx and HAProxy ------------------------------------------------------------ */

typedef struct gateway_proc {
  pid_t pid;
  int port;
  char dir[BS_PATH_MAX];
} gateway_proc;

static int spawn_logged(const char *const *argv, const char *log, pid_t *pid) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  int rc = posix_spawn(pid, argv[0], &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc;
}

static int wait_port(int port, pid_t pid) {
  for (int i = 0; i < 100; i++) {
    int fd = connect_to(port);
    if (fd >= 0) {
      close(fd);
      return 0;
    }
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid)
      return -1;
    usleep(50 * 1000);
  }
  return -1;
}

static void write_file(const char *path, const char *text) { test_write(path, text, strlen(text)); }

/* Starts nginx or HAProxy (product) as a TLS proxy in front of backend_port;
 * 0, or -1 when the program is not installed. */
static int start_gateway(const char *product, int backend_port, gateway_proc *g) {
  char bin[1024], why[256];
  if (gu_find_program(product, bin, sizeof(bin), why, sizeof(why)) != 0) {
    char sbin[64];
    snprintf(sbin, sizeof(sbin), "/usr/sbin/%s", product);
    if (access(sbin, X_OK) != 0)
      return -1;
    snprintf(bin, sizeof(bin), "%s", sbin);
  }
  char rel[64], conf[BS_PATH_MAX + 32], log[BS_PATH_MAX + 32];
  snprintf(rel, sizeof(rel), "gw-%s", product);
  bt_scratch(g->dir, rel);
  mkdir(g->dir, 0700);
  g->port = gu_free_port(why, sizeof(why));
  assert_true(g->port > 0);
  const char *chain = sw_scratch("server.chain.pem");
  const char *key = sw_scratch("server.key");
  gu_text c = {0};
  snprintf(log, sizeof(log), "%s/%s.log", g->dir, product);
  if (strcmp(product, "nginx") == 0) {
    snprintf(conf, sizeof(conf), "%s/nginx.conf", g->dir);
    gu_text_printf(&c, "daemon off;\nmaster_process off;\npid \"%s/nginx.pid\";\n", g->dir);
    gu_text_printf(&c, "error_log \"%s/error.log\" info;\nevents { worker_connections 64; }\n",
                   g->dir);
    gu_text_printf(&c, "http {\n  access_log off;\n");
    static const char *const temps[] = {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"};
    for (size_t i = 0; i < 5; i++)
      gu_text_printf(&c, "  %s_temp_path \"%s/%s\";\n", temps[i], g->dir, temps[i]);
    gu_text_printf(&c,
                   "  client_max_body_size 10m;\n"
                   "  server {\n    listen 127.0.0.1:%d ssl;\n"
                   "    ssl_certificate \"%s\";\n    ssl_certificate_key \"%s\";\n"
                   "    location / {\n      proxy_pass https://127.0.0.1:%d;\n"
                   "      proxy_http_version 1.1;\n      proxy_ssl_verify off;\n    }\n  }\n}\n",
                   g->port, chain, key, backend_port);
    assert_false(c.failed);
    write_file(conf, c.data);
    const char *argv[] = {bin, "-p", g->dir, "-c", conf, "-e", log, NULL};
    assert_int_equal(0, spawn_logged(argv, log, &g->pid));
  } else {
    char pem[BS_PATH_MAX + 32];
    snprintf(pem, sizeof(pem), "%s/gateway.pem", g->dir);
    size_t n1 = 0, n2 = 0;
    char *a = bs_slurp(chain, &n1), *b = bs_slurp(key, &n2);
    assert_non_null(a);
    assert_non_null(b);
    gu_text both = {0};
    gu_text_add(&both, a, n1);
    gu_text_add(&both, b, n2);
    test_write(pem, both.data, both.len);
    free(a);
    free(b);
    free(both.data);
    snprintf(conf, sizeof(conf), "%s/haproxy.cfg", g->dir);
    gu_text_printf(&c,
                   "global\n  nbthread 1\n"
                   "defaults\n  mode http\n  timeout connect 5s\n  timeout client 10s\n"
                   "  timeout server 10s\n"
                   "frontend fe\n  bind 127.0.0.1:%d ssl crt %s\n  default_backend be\n"
                   "backend be\n  server s 127.0.0.1:%d ssl verify none\n",
                   g->port, pem, backend_port);
    assert_false(c.failed);
    write_file(conf, c.data);
    const char *argv[] = {bin, "-db", "-f", conf, NULL};
    assert_int_equal(0, spawn_logged(argv, log, &g->pid));
  }
  free(c.data);
  if (wait_port(g->port, g->pid) != 0) {
    size_t n = 0;
    char *text = bs_slurp(log, &n);
    fail_msg("%s did not start: %s", product, text ? text : "(no log)");
  }
  return 0;
}

static void stop_gateway(gateway_proc *g) {
  if (g->pid <= 0)
    return;
  kill(g->pid, SIGTERM);
  int st;
  waitpid(g->pid, &st, 0);
  g->pid = 0;
}

static int refused(const answer *a) { return a->status >= 400 && a->forwarded == 0; }

static void cell(char *out, size_t len, const frow *r, const answer *a, int present) {
  if (!present) {
    snprintf(out, len, "(not installed)");
    return;
  }
  int k = a->status == 0 ? snprintf(out, len, "no answer / %zu", a->forwarded)
                         : snprintf(out, len, "%d / %zu", a->status, a->forwarded);
  if (!r->absent || a->forwarded != 1)
    return;
  /* which of the row's hop-by-hop headers reached the backend */
  char names[256];
  snprintf(names, sizeof(names), "%s", r->absent);
  const char *sep = ", passed on:";
  for (char *save = NULL, *n = strtok_r(names, ",", &save); n; n = strtok_r(NULL, ",", &save))
    if (saw_header(a, n) && k > 0 && (size_t)k < len) {
      k += snprintf(out + k, len - (size_t)k, "%s %s", sep, n);
      sep = ",";
    }
}

static void test_compare(void **state) {
  (void)state;
  sw_world w = {0};
  start_sim_world(&w);
  gateway_proc ng = {0}, ha = {0};
  int have_ng = start_gateway("nginx", w.port, &ng) == 0;
  int have_ha = start_gateway("haproxy", w.port, &ha) == 0;
  target sim = {"sim", w.sim.https, 1, API_PATH, "", w.report};
  target nginx = {"nginx", ng.port, 1, API_PATH, "", w.report};
  target haproxy = {"haproxy", ha.port, 1, API_PATH, "", w.report};
  gu_text table = {0};
  gu_text_printf(&table, "| row | sim | nginx | HAProxy | decided by |\n|---|---|---|---|---|\n");
  failures = 0;
  for (size_t i = 0; i < ROWS; i++) {
    const frow *r = &rows[i];
    answer as = {0}, an = {0}, ah = {0};
    run_row(r, &sim, &as);
    if (have_ng)
      run_row(r, &nginx, &an);
    if (have_ha)
      run_row(r, &haproxy, &ah);
    char cs[160], cn[160], ch[160];
    cell(cs, sizeof(cs), r, &as, 1);
    cell(cn, sizeof(cn), r, &an, have_ng);
    cell(ch, sizeof(ch), r, &ah, have_ha);
    int stricter = (have_ng && refused(&an)) || (have_ha && refused(&ah));
    int weaker = stricter && !refused(&as);
    gu_text_printf(&table, "| %s | %s%s | %s | %s | %s |\n", r->name, cs, weaker ? " (*)" : "", cn,
                   ch, r->rfc);
    print_message("%-45s sim %-16s nginx %-16s haproxy %-16s%s\n", r->name, cs, cn, ch,
                  weaker ? (r->why ? "  less strict (explained)" : "  LESS STRICT") : "");
    if (weaker && !r->why)
      failures++;
    if (weaker && r->why)
      gu_text_printf(&table, "|  | (*) %s | | | |\n", r->why);
  }
  stop_gateway(&ng);
  stop_gateway(&ha);
  sw_world_stop(&w);
  assert_false(table.failed);
  print_message("\n%s", table.data);
  char path[BS_PATH_MAX];
  test_write(bt_scratch(path, "table.md"), table.data, table.len);
  free(table.data);
  assert_int_equal(0, failures);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "compare") == 0) {
    const struct CMUnitTest compare[] = {cmocka_unit_test(test_compare)};
    return bt_run_curl_tests(compare, group_setup, NULL);
  }
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_check_headers),
                                     cmocka_unit_test(test_sim_table)};
  return bt_run_curl_tests(tests, group_setup, NULL);
}
