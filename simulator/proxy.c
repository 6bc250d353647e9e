/* proxy.c - the data plane: route a request to its API and proxy it to the
 * API's backend over HTTPS, answering failures the way WSO2 does.
 *
 * A request for /{context}/{version}/rest goes to the API's production
 * endpoint + /rest. Each proxied request opens a fresh backend connection
 * (libevent's evhttp over an OpenSSL bufferevent) with an SSL object from the
 * current trust generation and the SSL profile of the backend's host:port, so
 * every request gets a full handshake verified against the trust of that
 * moment: no pooled connection or cached session can carry an older trust
 * decision, or another endpoint's, into it. The connection keeps a reference
 * to its generation until it is done.
 *
 * What went wrong is read from the TLS layer itself rather than guessed from
 * errno: the verify callback records the first certificate error (chain or
 * host name), the message callback notes whether the backend ever sent a TLS
 * record or an alert, and the info callback notes a completed handshake. From
 * those:
 *
 *   certificate not trusted, expired, wrong host, wrong EKU -> 500 / 101500
 *   an alert from the backend (e.g. our client cert refused) -> 500 / 101500
 *   no byte from the backend, connection refused or reset   -> 503 / 101503 [I]
 *   nothing within the backend timeout                      -> 504 / 101504 [I]
 *   the backend closed or spoke garbage after the handshake -> 502 / 101505 [I]
 *
 * ([I]: the fault codes are WSO2's; the HTTP statuses other than 500 are
 * inferred, see README.md.) The reason goes to the gateway log
 * ("PKIX path building failed: ... unable to find valid certification path to
 * requested target"), never into the response.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "sim.h"

typedef struct proxy_call {
  gsim *sim;
  struct evhttp_request *client; /* NULL once the client went away */
  struct evhttp_connection *client_conn;
  gsim_trust_gen *gen;
  char api[GSIM_API_NAME_MAX + GSIM_VERSION_MAX + 2];
  char host[256];
  int port;
  int tls;
  int received;       /* the backend sent at least one TLS record */
  int alert;          /* ... and one of them was a fatal alert */
  int cert_requested; /* ... and asked for a client certificate */
  int handshake_done; /* the client side of the handshake completed */
  int verify_error;   /* first X509_V_ERR_* seen, 0 if none */
  int verify_depth;
  char verify_subject[256];
  int failed;
  int timed_out; /* our own deadline fired first */
  struct evhttp_connection *backend;
  struct event *deadline;
  enum evhttp_request_error error;
} proxy_call;

static const char *const hop_by_hop[] = {
    "Connection",          "Keep-Alive", "Proxy-Authenticate",
    "Proxy-Authorization", "TE",         "Trailer",
    "Transfer-Encoding",   "Upgrade",    "Host",
    "Content-Length",      NULL,
};

static int is_hop_by_hop(const char *name) {
  for (const char *const *h = hop_by_hop; *h; h++)
    if (strcasecmp(*h, name) == 0)
      return 1;
  return 0;
}

static int is_localhost(const char *host) {
  return strcasecmp(host, "localhost") == 0 || strcmp(host, "127.0.0.1") == 0 ||
         strcmp(host, "::1") == 0;
}

static int is_ip_literal(const char *host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* ---- TLS facts ----------------------------------------------------------- */

static int verify_cb(int ok, X509_STORE_CTX *xctx) {
  SSL *ssl = X509_STORE_CTX_get_ex_data(xctx, SSL_get_ex_data_X509_STORE_CTX_idx());
  proxy_call *call = ssl ? SSL_get_app_data(ssl) : NULL;
  if (!ok && call && !call->verify_error) {
    call->verify_error = X509_STORE_CTX_get_error(xctx);
    call->verify_depth = X509_STORE_CTX_get_error_depth(xctx);
    X509 *cert = X509_STORE_CTX_get_current_cert(xctx);
    call->verify_subject[0] = '\0';
    if (cert)
      X509_NAME_oneline(X509_get_subject_name(cert), call->verify_subject,
                        (int)sizeof(call->verify_subject));
  }
  return ok;
}

static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
                   SSL *ssl, void *arg) {
  (void)version;
  (void)ssl;
  proxy_call *call = arg;
  if (write_p || content_type == SSL3_RT_HEADER || content_type == SSL3_RT_INNER_CONTENT_TYPE)
    return;
  call->received = 1;
  const unsigned char *bytes = buf;
  if (content_type == SSL3_RT_ALERT && len >= 2 && bytes[0] == SSL3_AL_FATAL)
    call->alert = 1;
  if (content_type == SSL3_RT_HANDSHAKE && len >= 1 && bytes[0] == SSL3_MT_CERTIFICATE_REQUEST)
    call->cert_requested = 1;
}

static void info_cb(const SSL *ssl, int where, int ret) {
  (void)ret;
  proxy_call *call = SSL_get_app_data(ssl);
  if (where & SSL_CB_HANDSHAKE_START) {
    /* No Nagle delay: the request after our Finished would otherwise wait for
     * the backend's delayed ACK (about 40 ms per proxied request). */
    int fd = SSL_get_fd(ssl), one = 1;
    if (fd >= 0)
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  if (call && (where & SSL_CB_HANDSHAKE_DONE))
    call->handshake_done = 1;
}

int gsim_verifier_host_flags(gsim_verifier verifier, const char *host, unsigned *flags) {
  *flags = 0;
  if (verifier == GSIM_VERIFY_ALLOW_ALL)
    return 0;
  if (verifier == GSIM_VERIFY_DEFAULT_AND_LOCALHOST && is_localhost(host))
    return 0;
  *flags = verifier == GSIM_VERIFY_STRICT ? X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS
                                          : X509_CHECK_FLAG_MULTI_LABEL_WILDCARDS;
  return 1;
}

/* Host name rules of WSO2's verifiers, applied by OpenSSL during verification. */
static int set_host_check(SSL *ssl, gsim_verifier verifier, const char *host) {
  unsigned flags = 0;
  if (!gsim_verifier_host_flags(verifier, host, &flags))
    return 0;
  X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, flags);
  if (is_ip_literal(host))
    return X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1 ? 0 : -1;
  return X509_VERIFY_PARAM_set1_host(param, host, 0) == 1 ? 0 : -1;
}

/* ---- answering the client ------------------------------------------------- */

static void release_client(proxy_call *call) {
  if (call->client_conn)
    evhttp_connection_set_closecb(call->client_conn, NULL, NULL);
  call->client_conn = NULL;
  call->client = NULL;
}

static void call_free(proxy_call *call) {
  release_client(call);
  if (call->deadline)
    event_free(call->deadline);
  gsim_trust_gen_unref(call->gen);
  free(call);
}

static void client_closed(struct evhttp_connection *conn, void *arg) {
  (void)conn;
  proxy_call *call = arg;
  call->client = NULL; /* libevent frees the request with the connection */
  call->client_conn = NULL;
}

static void log_tls_failure(proxy_call *call) {
  gsim *sim = call->sim;
  int err = call->verify_error;
  const char *text = X509_verify_cert_error_string(err);
  if (err == X509_V_ERR_HOSTNAME_MISMATCH || err == X509_V_ERR_IP_ADDRESS_MISMATCH)
    gsim_log(sim, "ERROR",
             "api %s: backend %s:%d: javax.net.ssl.SSLException: Host name '%s' does not match "
             "the certificate subject provided by the peer (%s)",
             call->api, call->host, call->port, call->host, call->verify_subject);
  else if (err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
           err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
           err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
           err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
           err == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE)
    gsim_log(sim, "ERROR",
             "api %s: backend %s:%d: PKIX path building failed: unable to find valid "
             "certification path to requested target (openssl: %s at depth %d, %s; trust "
             "generation %llu)",
             call->api, call->host, call->port, text, call->verify_depth, call->verify_subject,
             (unsigned long long)call->gen->number);
  else
    gsim_log(sim, "ERROR",
             "api %s: backend %s:%d: PKIX path validation failed: %s at depth %d (%s; trust "
             "generation %llu)",
             call->api, call->host, call->port, text, call->verify_depth, call->verify_subject,
             (unsigned long long)call->gen->number);
}

static void answer_failure(proxy_call *call) {
  gsim *sim = call->sim;
  const char *where = call->tls ? "TLS" : "HTTP";
  int status = 500;
  const char *code = "101500", *description = "Error in Sender";
  int timed_out = call->timed_out || (call->failed && call->error == EVREQ_HTTP_TIMEOUT);
  if (call->verify_error) {
    log_tls_failure(call);
  } else if (call->alert || (call->cert_requested && !timed_out)) {
    /* A refused client certificate shows as a fatal alert, or in TLS 1.3 (where the
     * server judges it after the client finished) often as a reset that swallowed the
     * alert: either way the backend asked for a certificate and then hung up. */
    gsim_log(sim, "ERROR",
             "api %s: backend %s:%d: javax.net.ssl.SSLHandshakeException: the backend ended the "
             "%s connection%s%s",
             call->api, call->host, call->port, where, call->alert ? " with a fatal alert" : "",
             call->cert_requested ? " after asking for a client certificate (ours refused?)" : "");
  } else if (timed_out) {
    status = 504;
    code = "101504";
    description = "Send timeout";
    gsim_log(sim, "ERROR", "api %s: backend %s:%d: no answer within %ld ms", call->api, call->host,
             call->port, sim->opt->backend_timeout_ms);
  } else if (call->received || call->handshake_done) {
    status = 502;
    code = "101505";
    description = "Connection closed";
    gsim_log(sim, "ERROR", "api %s: backend %s:%d: connection closed or invalid HTTP response",
             call->api, call->host, call->port);
  } else {
    status = 503;
    code = "101503";
    description = "Error connecting to the back end";
    gsim_log(sim, "ERROR", "api %s: backend %s:%d: connection refused or reset before %s",
             call->api, call->host, call->port, where);
  }
  if (call->client)
    gsim_fault_send(sim, call->client, status, code, "Runtime Error", description);
}

static void relay_response(proxy_call *call, struct evhttp_request *backend_req) {
  struct evkeyvalq *out = evhttp_request_get_output_headers(call->client);
  struct evkeyvalq *in = evhttp_request_get_input_headers(backend_req);
  for (struct evkeyval *h = in->tqh_first; h; h = h->next.tqe_next)
    if (!is_hop_by_hop(h->key))
      evhttp_add_header(out, h->key, h->value);
  int code = evhttp_request_get_response_code(backend_req);
  const char *reason = evhttp_request_get_response_code_line(backend_req);
  evhttp_send_reply(call->client, code, reason, evhttp_request_get_input_buffer(backend_req));
  call->sim->stats.proxied++;
}

static void backend_error(enum evhttp_request_error error, void *arg) {
  proxy_call *call = arg;
  call->failed = 1;
  call->error = error;
}

/* The backend timeout is our own deadline: evhttp reports a timeout during the
 * TLS handshake like any other connect failure, so it cannot tell 101504 from
 * 101503 by itself. Freeing the connection drops its request without a callback. */
static void on_deadline(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  proxy_call *call = arg;
  call->timed_out = 1;
  struct evhttp_connection *conn = call->backend;
  call->backend = NULL;
  answer_failure(call);
  if (conn)
    evhttp_connection_free(conn);
  call_free(call);
}

static void free_connection(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  evhttp_connection_free(arg);
}

static void backend_done(struct evhttp_request *backend_req, void *arg) {
  proxy_call *call = arg;
  int ok = backend_req && evhttp_request_get_response_code(backend_req) > 0;
  if (!ok && !call->failed && call->backend) {
    /* A refused connect: libevent 2.1 calls us from its connect clean-up, which
     * ignores free-on-completion. Free the connection once that has returned. */
    static const struct timeval now = {0, 0};
    event_base_once(call->sim->base, -1, EV_TIMEOUT, free_connection, call->backend, &now);
  }
  if (ok && call->client)
    relay_response(call, backend_req);
  else if (!ok)
    answer_failure(call);
  call_free(call);
}

/* ---- starting a call ------------------------------------------------------ */

static void add_request_headers(struct evhttp_request *to, struct evhttp_request *from,
                                const char *host, int port) {
  struct evkeyvalq *out = evhttp_request_get_output_headers(to);
  struct evkeyvalq *in = evhttp_request_get_input_headers(from);
  for (struct evkeyval *h = in->tqh_first; h; h = h->next.tqe_next) {
    /* WSO2 drops the client's Authorization toward the backend by default. */
    if (!is_hop_by_hop(h->key) && strcasecmp(h->key, "Authorization") != 0)
      evhttp_add_header(out, h->key, h->value);
  }
  char host_header[300];
  snprintf(host_header, sizeof(host_header), "%s:%d", host, port);
  evhttp_add_header(out, "Host", host_header);
  /* One request per backend connection: without this the connection would stay
   * open (keep-alive) after its only request, holding a descriptor. */
  evhttp_add_header(out, "Connection", "close");
}

static struct bufferevent *backend_bufferevent(gsim *sim, proxy_call *call, size_t profile) {
  if (!call->tls)
    return bufferevent_socket_new(sim->base, -1, BEV_OPT_CLOSE_ON_FREE);
  SSL *ssl = SSL_new(call->gen->ctx[profile]);
  if (!ssl)
    return NULL;
  SSL_set_app_data(ssl, call);
  SSL_set_verify(ssl, SSL_VERIFY_PEER, verify_cb);
  SSL_set_msg_callback(ssl, msg_cb);
  SSL_set_msg_callback_arg(ssl, call);
  SSL_set_info_callback(ssl, info_cb);
  if (!is_ip_literal(call->host))
    SSL_set_tlsext_host_name(ssl, call->host);
  if (set_host_check(ssl, gsim_trust_verifier(&sim->trust, profile), call->host) != 0) {
    SSL_free(ssl);
    return NULL;
  }
  struct bufferevent *bev = bufferevent_openssl_socket_new(
      sim->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
  if (!bev) {
    SSL_free(ssl);
    return NULL;
  }
  bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
  return bev;
}

/* The backend URI: the endpoint's path joined with what followed the API's
 * context and version, plus the client's query. */
static int backend_uri(const struct evhttp_uri *endpoint, const char *rest, const char *query,
                       char *out, size_t out_len) {
  const char *base = evhttp_uri_get_path(endpoint);
  if (!base)
    base = "";
  size_t base_len = strlen(base);
  while (base_len > 0 && base[base_len - 1] == '/')
    base_len--;
  int n = snprintf(out, out_len, "%.*s%s%s%s", (int)base_len, base, *rest ? rest : "/",
                   query ? "?" : "", query ? query : "");
  return n < 0 || (size_t)n >= out_len ? -1 : 0;
}

static void start_call(gsim *sim, struct evhttp_request *req, gsim_api *api, const char *rest,
                       const char *query) {
  struct evhttp_uri *endpoint = evhttp_uri_parse(api->production_url);
  const char *scheme = endpoint ? evhttp_uri_get_scheme(endpoint) : NULL;
  const char *host = endpoint ? evhttp_uri_get_host(endpoint) : NULL;
  proxy_call *call = calloc(1, sizeof(*call));
  char uri[8192];
  if (!endpoint || !scheme || !host || !call ||
      backend_uri(endpoint, rest, query, uri, sizeof(uri)) != 0) {
    gsim_log(sim, "ERROR", "api %s: endpoint \"%s\" or request path unusable", api->name,
             api->production_url);
    gsim_fault_send(sim, req, 500, "101500", "Runtime Error", "Error in Sender");
    free(call);
    if (endpoint)
      evhttp_uri_free(endpoint);
    return;
  }
  call->sim = sim;
  call->client = req;
  call->tls = strcasecmp(scheme, "https") == 0;
  snprintf(call->host, sizeof(call->host), "%s", host);
  call->port = evhttp_uri_get_port(endpoint);
  if (call->port <= 0)
    call->port = call->tls ? 443 : 80;
  snprintf(call->api, sizeof(call->api), "%s:%s", api->name, api->version);
  evhttp_uri_free(endpoint);
  call->gen = gsim_trust_gen_ref(sim->trust.current);

  size_t profile = gsim_trust_profile_for(&sim->trust, call->host, call->port);
  struct bufferevent *bev = backend_bufferevent(sim, call, profile);
  struct evhttp_connection *conn =
      bev ? evhttp_connection_base_bufferevent_new(sim->base, NULL, bev, call->host,
                                                   (unsigned short)call->port)
          : NULL;
  struct evhttp_request *out = conn ? evhttp_request_new(backend_done, call) : NULL;
  if (!out) {
    if (conn)
      evhttp_connection_free(conn);
    else if (bev)
      bufferevent_free(bev);
    gsim_log(sim, "ERROR", "api %s: could not set up a backend connection", call->api);
    gsim_fault_send(sim, req, 500, "101500", "Runtime Error", "Error in Sender");
    call->client = NULL;
    call_free(call);
    return;
  }
  long ms = sim->opt->backend_timeout_ms;
  struct timeval timeout = {ms / 1000, (ms % 1000) * 1000};
  struct timeval backstop = {ms / 1000 + 1, (ms % 1000) * 1000};
  evhttp_connection_set_timeout_tv(conn, &backstop);
  call->backend = conn;
  call->deadline = evtimer_new(sim->base, on_deadline, call);
  if (call->deadline)
    evtimer_add(call->deadline, &timeout);
  evhttp_connection_set_max_body_size(conn, GSIM_MAX_BODY);
  evhttp_connection_free_on_completion(conn);
  evhttp_request_set_error_cb(out, backend_error);
  add_request_headers(out, req, call->host, call->port);
  evbuffer_add_buffer(evhttp_request_get_output_buffer(out), evhttp_request_get_input_buffer(req));

  call->client_conn = evhttp_request_get_connection(req);
  if (call->client_conn)
    evhttp_connection_set_closecb(call->client_conn, client_closed, call);
  if (evhttp_make_request(conn, out, evhttp_request_get_command(req), uri) != 0) {
    /* libevent freed the request; the connection has nothing to complete. */
    evhttp_connection_free(conn);
    gsim_log(sim, "ERROR", "api %s: could not send to backend %s:%d", call->api, call->host,
             call->port);
    if (call->client)
      gsim_fault_send(sim, call->client, 503, "101503", "Runtime Error",
                      "Error connecting to the back end");
    call_free(call);
  }
}

void gsim_proxy_request(struct evhttp_request *req, void *arg) {
  gsim *sim = arg;
  sim->stats.requests++;
  gsim_reload_check(sim);
  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
  const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
  const char *rest = NULL;
  gsim_api *api = path ? gsim_api_route(sim, path, &rest) : NULL;
  if (!api) {
    gsim_fault_send(sim, req, 404, "404", "Not Found", "The requested resource is not available.");
    return;
  }
  if (!gsim_api_anonymous(api, evhttp_request_get_command(req), rest) &&
      gsim_security_check(sim, req, api))
    return; /* answered: 401, 403, 429 or 500 */
  start_call(sim, req, api, rest, evhttp_uri_get_query(uri));
}
