/* faults.c - backends that fail on purpose, each in one well-defined way.
 *
 *   reset           accept, then close with SO_LINGER 0: the peer gets RST
 *   stall           accept and hold the connection without a byte of TLS
 *   garbage         complete TLS, answer the first request bytes with junk
 *   close-mid-body  complete TLS, send a 200 promising 1000 bytes, send 10,
 *                   close
 * (refuse needs no listener: server.c closes the bound port.)
 *
 * Held connections live in the backend's fault_conns list and are freed when
 * the client goes away or the backend stops. Every connection is reported
 * once as a "fault" event with reached_app false.
 */
#include "backend.h"

#include <stdlib.h>
#include <string.h>
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

static void on_request_bytes(struct bufferevent *bev, void *arg) {
  gcb_fault_conn *c = arg;
  gcb_backend *b = c->backend;
  evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
  if (c->answered)
    return;
  c->answered = 1;
  int garbage = b->spec->fault == GCB_FAULT_GARBAGE;
  report_fault(b, bufferevent_openssl_get_ssl(bev),
               garbage ? "answered with bytes that are not HTTP"
                       : "closed after 10 of 1000 promised body bytes");
  if (garbage)
    bufferevent_write(bev, garbage_reply, sizeof(garbage_reply) - 1);
  else
    bufferevent_write(bev, truncated_reply, sizeof(truncated_reply) - 1);
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
