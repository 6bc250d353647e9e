/* fuzz_http_head.c - the fuzz target of the HTTP request head as gatecert-sim
 * sees it: the raw bytes go through libevent's own evhttp server (the parser
 * every listener uses) and each request it hands over through the framing
 * check of simulator/framing.c, as a listener's callback does.
 *
 * Built two ways (CMakeLists.txt here): with clang's libFuzzer into
 * fuzz_http_head, and with the project's compiler and replay.c's main into
 * fuzz_http_head_replay, a unit test. One evhttp listens on 127.0.0.1 port 0
 * for the whole run (made on the first input: the state a fuzz target keeps
 * between inputs), configured as main.c configures the simulator's listeners
 * (its allowed methods, gsim_framing_configure with GSIM_MAX_HEADERS) except
 * that the body limit is MAX_BODY (1 KiB, so the 413 paths are in reach). Per
 * input a client socket connects (from its own address in 127/8: TIME_WAIT),
 * writes the input whole, shuts its write side and reads until the server
 * closes: the loop runs until then, so pipelined
 * requests (smuggling) each reach the callback. The callback answers
 * gsim_framing_refuse's verdict, or 200 with Connection: close.
 *
 * libevent is the system library, not instrumented: coverage guides the
 * fuzzer through framing.c and this file only, and AddressSanitizer sees
 * libevent's accesses only where it intercepts (memcpy, strlen, ...).
 * Seeds: fixtures/http-head/ (the framing table's requests; README.md there).
 *
 * Invariants, each an abort() with its name on stderr when broken:
 *   - a verdict is 0, 400, 413, 501 or 505, with a reason exactly when not 0;
 *   - a request the check lets through has at most one Content-Length, all
 *     digits and at most MAX_BODY; no Transfer-Encoding with it; every header
 *     name a token (RFC 9110 5.6.2) and no CR, LF or NUL in any value; at most
 *     one Host, and one in HTTP/1.1; a body of at most MAX_BODY bytes;
 *   - gsim_framing_hop_by_hop says 1 for every name that is not a token and
 *     for Transfer-Encoding and Connection;
 *   - the server closes the connection within the loop's bound (no hang).
 */
#include "framing.h"
#include "fuzz.h"
#include "sim_limits.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h> /* the version: no accessor in libevent 2.1 */
#include <event2/keyvalq_struct.h>

#define MAX_BODY 1024

/* What replay.c inserts: request-line and header punctuation, framing headers. */
static const char *const head_tokens[] = {"\r\n",
                                          "\n",
                                          "\r",
                                          " ",
                                          "\t",
                                          ":",
                                          "\r\n\r\n",
                                          "Content-Length: 5\r\n",
                                          "Content-Length: +5\r\n",
                                          "Content-Length: 99999999999999999999999\r\n",
                                          "Transfer-Encoding: chunked\r\n",
                                          "Transfer-Encoding : chunked\r\n",
                                          "Transfer-Encoding: gzip, chunked\r\n",
                                          "Host: a\r\n",
                                          "Connection: keep-alive, X-Y\r\n",
                                          "Expect: 100-continue\r\n",
                                          "0\r\n\r\n",
                                          "5\r\nhello\r\n",
                                          "0x5\r\n",
                                          "GET / HTTP/1.1\r\n",
                                          "POST /x HTTP/1.0\r\n",
                                          "HTTP/0.9",
                                          "http://a/",
                                          NULL};

size_t gh_fuzz_tokens_for(const uint8_t *data, size_t size, char tokens[][GH_FUZZ_TOKEN_LEN],
                          size_t max) {
  (void)data;
  (void)size;
  return gh_fuzz_tokens_from_list(head_tokens, tokens, max);
}

#define CHECK(cond) GH_FUZZ_CHECK("fuzz_http_head", cond)

typedef struct server {
  struct event_base *base;
  struct evhttp *http;
  struct sockaddr_in addr;
  uint32_t clients; /* connections made: each from its own 127.x.y.z */
} server;

static int is_token(const char *s) {
  static const char tchar[] = "!#$%&'*+-.^_`|~";
  if (*s == '\0')
    return 0;
  for (; *s != '\0'; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          strchr(tchar, *s) != NULL))
      return 0;
  return 1;
}

static void check_served(struct evhttp_request *req) {
  const struct evkeyvalq *in = evhttp_request_get_input_headers(req);
  int cl = 0, te = 0, host = 0;
  const struct evkeyval *h;
  for (h = in->tqh_first; h != NULL; h = h->next.tqe_next) {
    CHECK(is_token(h->key));
    CHECK(strpbrk(h->value, "\r\n") == NULL);
    if (strcasecmp(h->key, "Content-Length") == 0) {
      cl++;
      CHECK(h->value[0] != '\0' && strspn(h->value, "0123456789") == strlen(h->value));
      CHECK(strlen(h->value) <= 20 && strtoull(h->value, NULL, 10) <= MAX_BODY);
    }
    te += strcasecmp(h->key, "Transfer-Encoding") == 0;
    host += strcasecmp(h->key, "Host") == 0;
  }
  CHECK(cl <= 1 && !(cl && te));
  CHECK(host <= 1);
  int major = (unsigned char)req->major, minor = (unsigned char)req->minor;
  CHECK(major == 1);
  CHECK(minor == 0 || host == 1);
  CHECK(evbuffer_get_length(evhttp_request_get_input_buffer(req)) <= MAX_BODY);
}

static void on_request(struct evhttp_request *req, void *arg) {
  (void)arg;
  const struct evkeyvalq *in = evhttp_request_get_input_headers(req);
  const struct evkeyval *h;
  for (h = in->tqh_first; h != NULL; h = h->next.tqe_next) {
    if (!is_token(h->key) || strcasecmp(h->key, "Transfer-Encoding") == 0 ||
        strcasecmp(h->key, "Connection") == 0)
      CHECK(gsim_framing_hop_by_hop(in, h->key) == 1);
  }
  gsim_framing_verdict v = gsim_framing_check(req, MAX_BODY);
  CHECK(v.status == 0 || v.status == 400 || v.status == 413 || v.status == 501 || v.status == 505);
  CHECK((v.status == 0) == (v.reason == NULL));
  if (v.status == 0)
    check_served(req);
  gsim_framing_verdict refused = gsim_framing_refuse(req, MAX_BODY);
  CHECK(refused.status == v.status);
  if (refused.status == 0) {
    evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    evhttp_send_reply(req, 200, "OK", NULL);
  }
}

static server *server_get(void) {
  static server s;
  if (s.base != NULL)
    return &s;
  s.base = event_base_new();
  CHECK(s.base != NULL);
  s.http = evhttp_new(s.base);
  CHECK(s.http != NULL);
  evhttp_set_gencb(s.http, on_request, NULL);
  evhttp_set_allowed_methods(s.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                         EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH |
                                         EVHTTP_REQ_OPTIONS);
  gsim_framing_configure(s.http, GSIM_MAX_HEADERS, MAX_BODY);
  evhttp_set_timeout(s.http, 2);
  struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(s.http, "127.0.0.1", 0);
  CHECK(bound != NULL);
  socklen_t len = sizeof(s.addr);
  CHECK(getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&s.addr, &len) == 0);
  return &s;
}

typedef struct client {
  int done;
  size_t read;
} client;

static void on_client(evutil_socket_t fd, short what, void *arg) {
  client *c = arg;
  char buf[4096];
  if (what & EV_TIMEOUT) {
    c->done = 2;
    return;
  }
  ssize_t n = recv(fd, buf, sizeof(buf), 0);
  if (n > 0)
    c->read += (size_t)n;
  else if (n == 0 || (errno != EAGAIN && errno != EINTR))
    c->done = 1;
}

/* Until fd can be written to (or has failed: the caller asks SO_ERROR). */
static void wait_writable(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLOUT};
  int n;
  do
    n = poll(&p, 1, 5000);
  while (n < 0 && errno == EINTR);
  CHECK(n == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536)
    return 0;
  server *s = server_get();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  /* The client half-closes first, so each connection leaves a TIME_WAIT behind
   * it: from one address the ephemeral ports run out within seconds. Every
   * connection comes from the next address of 127/8 instead. */
  struct sockaddr_in from = {.sin_family = AF_INET};
  from.sin_addr.s_addr = htonl(0x7f000000u | (1u + s->clients++ % 0xfffffeu));
  CHECK(bind(fd, (struct sockaddr *)&from, sizeof(from)) == 0);
  int buf = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
  /* Non-blocking from the start: libFuzzer's -timeout alarm (SIGALRM) would
   * interrupt a blocking connect or send (EINTR) on a loaded machine. */
  evutil_make_socket_nonblocking(fd);
  int rc = connect(fd, (struct sockaddr *)&s->addr, sizeof(s->addr));
  if (rc != 0 && (errno == EINPROGRESS || errno == EINTR)) {
    wait_writable(fd);
    socklen_t len = sizeof(rc);
    CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &rc, &len) == 0);
    errno = rc;
  }
  if (rc != 0)
    fprintf(stderr, "fuzz_http_head: connect: %s\n", strerror(errno));
  CHECK(rc == 0);
  /* the whole input before the server reads any of it (it fits in the socket
   * buffers: at most 64 KiB), then EOF */
  size_t sent = 0;
  while (sent < size) {
    ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      wait_writable(fd);
      continue;
    }
    CHECK(n > 0);
    sent += (size_t)n;
  }
  shutdown(fd, SHUT_WR);
  client c = {0, 0};
  struct timeval bound = {5, 0};
  struct event *ev = event_new(s->base, fd, EV_READ | EV_PERSIST, on_client, &c);
  CHECK(ev != NULL && event_add(ev, &bound) == 0);
  while (!c.done)
    CHECK(event_base_loop(s->base, EVLOOP_ONCE) == 0);
  CHECK(c.done == 1); /* closed, not timed out */
  event_free(ev);
  close(fd);
  /* the server side of a connection closes on the next turn */
  event_base_loop(s->base, EVLOOP_NONBLOCK);
  return 0;
}
