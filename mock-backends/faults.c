/* faults.c - backends that fail on purpose, each in one well-defined way.
 *
 *   reset                accept, then close with SO_LINGER 0: the peer gets RST
 *   stall                accept and hold the connection without a byte of TLS
 *   garbage              complete TLS, read the whole request, answer bytes that
 *                        are not HTTP, close
 *   close-mid-body       complete TLS, read the whole request, send a 200
 *                        promising 1000 bytes, send 10, close
 *   close-after-request  complete TLS, read the whole request, close without a
 *                        byte of answer
 *   close-mid-head       complete TLS, read the whole request, send a status
 *                        line and one header line but not the blank line that
 *                        ends the head, close
 * (refuse needs no listener: server.c closes the bound port.)
 *
 * "The whole request" is its head (up to the blank line) and the body its
 * Content-Length announces, or a chunked body up to its last chunk, so a
 * client always finishes sending before the fault: what it sees is a close or
 * an answer after its request, never a write that fails. Every close sends
 * TLS close_notify first (a clean end of stream, not a truncation).
 *
 * Held connections live in the backend's fault_conns list and are freed when
 * the client goes away or the backend stops. Every connection is reported
 * once as a "fault" event with reached_app false.
 */
#include "backend.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

struct gcb_fault_conn {
  gcb_backend *backend;
  struct bufferevent *bev;
  int answered;
  gcb_fault_conn *next;
};

static const char garbage_reply[] = "\x00\xff\xfegatecert garbage: this is not HTTP\r\n\x01\x02";
static const char truncated_reply[] = "HTTP/1.1 200 OK\r\n"
                                      "Content-Type: text/plain\r\n"
                                      "Content-Length: 1000\r\n"
                                      "\r\n"
                                      "0123456789";
/* A head cut after a whole header line: every line so far is well formed. */
static const char cut_head_reply[] = "HTTP/1.1 200 OK\r\n"
                                     "Content-Type: text/plain\r\n";

/* A request larger than this is answered once this much has arrived. */
#define REQUEST_MAX ((size_t)1 << 20)

static void report_fault(gcb_backend *b, SSL *ssl, const char *what) {
  gcb_facts facts = {.event = "fault", .error = what, .ssl = ssl};
  json_decref(gcb_report_event(b, &facts));
}

static void conn_destroy(gcb_fault_conn *c) {
  bufferevent_free(c->bev); /* closes the socket and frees the SSL */
  free(c);
}

/* Unlinks c from its backend's list, then destroys it. */
static void conn_release(gcb_fault_conn *c) {
  gcb_fault_conn **link = &c->backend->fault_conns;
  while (*link != NULL && *link != c)
    link = &(*link)->next;
  if (*link == c)
    *link = c->next;
  conn_destroy(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg) {
  (void)bev;
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
    conn_release(arg);
}

/* Closes once the reply has left, with a TLS close_notify first so the
 * client sees a clean end of stream, not a truncation attack. */
static void on_drained(struct bufferevent *bev, void *arg) {
  SSL *ssl = bufferevent_openssl_get_ssl(bev);
  if (ssl != NULL)
    SSL_shutdown(ssl);
  conn_release(arg);
}

/* The value of header name in the request head text (NUL-terminated, lines
 * ending in CRLF), or NULL. */
static const char *header_value(const char *head, const char *name) {
  size_t len = strlen(name);
  for (const char *line = strstr(head, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
    line += 2;
    if (strncasecmp(line, name, len) == 0 && line[len] == ':') {
      const char *v = line + len + 1;
      while (*v == ' ' || *v == '\t')
        v++;
      return v;
    }
  }
  return NULL;
}

/* 1 once in holds a whole request (see the top of the file), 0 while more
 * must come. */
static int request_complete(struct evbuffer *in) {
  size_t len = evbuffer_get_length(in);
  if (len >= REQUEST_MAX)
    return 1;
  struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
  if (end.pos < 0)
    return 0;
  size_t head_len = (size_t)end.pos + 4;
  char *head = malloc(head_len + 1);
  if (head == NULL)
    return 1;
  evbuffer_copyout(in, head, head_len);
  head[head_len] = '\0';
  const char *te = header_value(head, "Transfer-Encoding");
  const char *cl = header_value(head, "Content-Length");
  int chunked = te != NULL && strncasecmp(te, "chunked", 7) == 0;
  unsigned long long body = cl != NULL ? strtoull(cl, NULL, 10) : 0;
  free(head);
  if (chunked) { /* the last chunk: "0" CRLF CRLF after the head or a chunk's CRLF */
    struct evbuffer_ptr from;
    evbuffer_ptr_set(in, &from, head_len - 2, EVBUFFER_PTR_SET);
    return evbuffer_search(in, "\r\n0\r\n\r\n", 7, &from).pos >= 0;
  }
  return body <= len - head_len;
}

static void on_request_bytes(struct bufferevent *bev, void *arg) {
  gcb_fault_conn *c = arg;
  gcb_backend *b = c->backend;
  struct evbuffer *in = bufferevent_get_input(bev);
  if (c->answered || !request_complete(in)) {
    if (c->answered)
      evbuffer_drain(in, evbuffer_get_length(in));
    return;
  }
  evbuffer_drain(in, evbuffer_get_length(in));
  c->answered = 1;
  const char *what = NULL, *reply = NULL;
  size_t reply_len = 0;
  switch (b->spec->fault) {
  case GCB_FAULT_GARBAGE:
    what = "answered with bytes that are not HTTP";
    reply = garbage_reply;
    reply_len = sizeof(garbage_reply) - 1;
    break;
  case GCB_FAULT_CLOSE_MID_HEAD:
    what = "closed in the middle of the response head";
    reply = cut_head_reply;
    reply_len = sizeof(cut_head_reply) - 1;
    break;
  case GCB_FAULT_CLOSE_AFTER_REQUEST:
    what = "closed after the whole request, without an answer";
    break;
  default:
    what = "closed after 10 of 1000 promised body bytes";
    reply = truncated_reply;
    reply_len = sizeof(truncated_reply) - 1;
    break;
  }
  report_fault(b, bufferevent_openssl_get_ssl(bev), what);
  if (reply == NULL) {
    on_drained(bev, c); /* nothing to send: close_notify and close now */
    return;
  }
  bufferevent_write(bev, reply, reply_len);
  bufferevent_setcb(bev, NULL, on_drained, on_event, c);
}

static void on_stalled_bytes(struct bufferevent *bev, void *arg) {
  (void)arg;
  evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

static void reset_connection(gcb_backend *b, evutil_socket_t fd) {
  struct linger hard = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  close(fd);
  report_fault(b, NULL, "connection reset after accept");
}

static struct bufferevent *fault_bev(gcb_backend *b, evutil_socket_t fd) {
  if (b->spec->fault == GCB_FAULT_STALL)
    return bufferevent_socket_new(b->base, fd, BEV_OPT_CLOSE_ON_FREE);
  SSL *ssl = gcb_tls_new_ssl(b);
  if (ssl == NULL)
    return NULL;
  struct bufferevent *bev = bufferevent_openssl_socket_new(
      b->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
  if (bev == NULL)
    SSL_free(ssl);
  return bev;
}

static void on_accept(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *addr,
                      int len, void *arg) {
  (void)listener;
  (void)addr;
  (void)len;
  gcb_backend *b = arg;
  if (b->spec->fault == GCB_FAULT_RESET) {
    reset_connection(b, fd);
    return;
  }
  gcb_fault_conn *c = calloc(1, sizeof(*c));
  struct bufferevent *bev = c ? fault_bev(b, fd) : NULL;
  if (bev == NULL) {
    free(c);
    close(fd);
    return;
  }
  c->backend = b;
  c->bev = bev;
  c->next = b->fault_conns;
  b->fault_conns = c;
  if (b->spec->fault == GCB_FAULT_STALL) {
    report_fault(b, NULL, "handshake stalled: no TLS bytes will be sent");
    bufferevent_setcb(bev, on_stalled_bytes, NULL, on_event, c);
  } else {
    bufferevent_setcb(bev, on_request_bytes, NULL, on_event, c);
  }
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

int gcb_fault_start(gcb_backend *b, int fd, char *why, size_t why_len) {
  b->listener = evconnlistener_new(b->base, on_accept, b,
                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
  if (b->listener == NULL) {
    snprintf(why, why_len, "cannot listen for fault %s", gcb_fault_name(b->spec->fault));
    return -1;
  }
  return 0;
}

void gcb_fault_stop(gcb_backend *b) {
  gcb_fault_conn *c = b->fault_conns;
  b->fault_conns = NULL;
  while (c != NULL) {
    gcb_fault_conn *next = c->next;
    conn_destroy(c);
    c = next;
  }
  if (b->listener != NULL)
    evconnlistener_free(b->listener);
  b->listener = NULL;
}
