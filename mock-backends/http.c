/* http.c - the echo application: every request answered with what was seen.
 *
 * libevent's evhttp parses HTTP; each connection's bufferevent is an OpenSSL
 * one made by gcb_tls_new_ssl, so handshake failures are reported by tls.c
 * and requests reach this file only after a completed handshake. The answer
 * is 200 with a JSON body: the WSO2-documentation-style message for the last
 * path segment ("Jersey say : menaka"), and the report event of the request
 * itself under "saw". With delay-ms the reply waits on a timer; if the client
 * goes away first the pending reply is dropped with the connection.
 */
#include "backend.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

/* Seconds a connection may stay idle (and a request take to arrive). */
#define GCB_IDLE_TIMEOUT_S    30
#define GCB_IDLE_TIMEOUT_TEXT "30"

/* A reply waiting for its delay. */
typedef struct pending_reply {
  struct evhttp_request *req;
  struct evhttp_connection *conn;
  struct event *timer;
  json_t *body;
} pending_reply;

static struct bufferevent *make_bev(struct event_base *base, void *arg) {
  gcb_backend *b = arg;
  SSL *ssl = gcb_tls_new_ssl(b);
  if (ssl == NULL)
    return NULL;
  struct bufferevent *bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                           BEV_OPT_CLOSE_ON_FREE);
  if (bev == NULL)
    SSL_free(ssl);
  return bev;
}

/* "Jersey say : <last segment>", from the path without query. */
static json_t *echo_message(const char *path) {
  const char *end = path + strcspn(path, "?#");
  const char *start = end;
  while (start > path && start[-1] != '/')
    start--;
  return json_sprintf("Jersey say : %.*s", (int)(end - start), start);
}

static void send_body(struct evhttp_request *req, json_t *body) {
  char *text = json_dumps(body, JSON_COMPACT);
  struct evbuffer *out = evbuffer_new();
  if (text == NULL || out == NULL) {
    free(text);
    if (out)
      evbuffer_free(out);
    evhttp_send_error(req, HTTP_INTERNAL, "cannot encode report");
    return;
  }
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
  /* The idle timeout of a kept-alive connection (evhttp_set_timeout below),
   * announced as Apache httpd does, so a pooling client can stop reusing the
   * connection before this backend closes it. */
  const char *connection = evhttp_find_header(evhttp_request_get_input_headers(req), "Connection");
  if (connection == NULL || strcasecmp(connection, "close") != 0)
    evhttp_add_header(evhttp_request_get_output_headers(req), "Keep-Alive",
                      "timeout=" GCB_IDLE_TIMEOUT_TEXT);
  evbuffer_add(out, text, strlen(text));
  evhttp_send_reply(req, HTTP_OK, "OK", out);
  evbuffer_free(out);
  free(text);
}

static void pending_free(pending_reply *p) {
  event_free(p->timer);
  json_decref(p->body);
  free(p);
}

static void pending_dropped(struct evhttp_connection *conn, void *arg) {
  (void)conn;
  pending_free(arg);
}

static void pending_fire(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  pending_reply *p = arg;
  evhttp_connection_set_closecb(p->conn, NULL, NULL);
  send_body(p->req, p->body);
  pending_free(p);
}

static int reply_later(gcb_backend *b, struct evhttp_request *req, json_t *body) {
  pending_reply *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return -1;
  p->req = req;
  p->conn = evhttp_request_get_connection(req);
  p->body = body;
  p->timer = evtimer_new(b->base, pending_fire, p);
  struct timeval delay = {b->spec->delay_ms / 1000, (suseconds_t)(b->spec->delay_ms % 1000) * 1000};
  if (p->timer == NULL || evtimer_add(p->timer, &delay) != 0) {
    if (p->timer)
      event_free(p->timer);
    free(p);
    return -1;
  }
  evhttp_connection_set_closecb(p->conn, pending_dropped, p);
  return 0;
}

static void handle_request(struct evhttp_request *req, void *arg) {
  gcb_backend *b = arg;
  struct bufferevent *bev = evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
  SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
  gcb_conn *conn = ssl ? gcb_tls_conn(b, ssl) : NULL;
  gcb_conn_claim_report(conn); /* a handshake alert after this is no failure */
  gcb_facts facts = {.event = "request", .reached_app = 1, .ssl = ssl, .req = req};
  json_t *saw = gcb_report_event(b, &facts);
  const char *uri = evhttp_request_get_uri(req);
  const struct evhttp_uri *parsed = evhttp_request_get_evhttp_uri(req);
  const char *path = parsed && evhttp_uri_get_path(parsed) ? evhttp_uri_get_path(parsed) : uri;
  /* the method as the report spelled it (jansson getters accept NULL) */
  const char *method =
      json_string_value(json_object_get(json_object_get(saw, "request"), "method"));
  json_t *body = json_pack("{s:o, s:s, s:s, s:s, s:o}", "message", echo_message(path ? path : ""),
                           "method", method ? method : "?", "path", path ? path : "", "backend",
                           b->spec->name, "saw", saw ? saw : json_null());
  if (body == NULL) {
    evhttp_send_error(req, HTTP_INTERNAL, "cannot build report");
    return;
  }
  if (b->spec->delay_ms > 0 && reply_later(b, req, body) == 0)
    return;
  send_body(req, body);
  json_decref(body);
}

int gcb_http_start(gcb_backend *b, int fd, char *why, size_t why_len) {
  b->http = evhttp_new(b->base);
  if (b->http == NULL) {
    snprintf(why, why_len, "cannot create HTTP server");
    return -1;
  }
  evhttp_set_bevcb(b->http, make_bev, b);
  evhttp_set_gencb(b->http, handle_request, b);
  evhttp_set_allowed_methods(b->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                          EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                          EVHTTP_REQ_PATCH);
  evhttp_set_max_headers_size(b->http, (ev_ssize_t)64 * 1024);
  evhttp_set_max_body_size(b->http, (ev_ssize_t)1024 * 1024);
  evhttp_set_timeout(b->http, GCB_IDLE_TIMEOUT_S);
  if (evhttp_accept_socket(b->http, fd) != 0) {
    snprintf(why, why_len, "cannot accept on the listening socket");
    return -1;
  }
  return 0;
}
