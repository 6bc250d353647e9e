/* proxy.c - the data plane: route a request to its API and proxy it to the
 * API's backend over HTTPS, answering failures as the profile's rule rows say.
 *
 * A request for /{context}/{version}/rest goes to the API's production
 * endpoint + /rest, over a kept-alive backend connection of its route (scheme,
 * host, port) when the pool (backend_pool.c) has one, as WSO2's pass-through
 * sender reuses them: such a connection was verified when it was opened, with
 * the trust generation of that moment, and is not verified again - a reload
 * does not close it (backend_pool.c's top comment: WSO2 closes, and only up to
 * two, idle connections of a route an SSL profile names by host:port, which
 * gsim_pool_reset does at the first request after a new generation). Otherwise
 * the request opens a new connection (libevent's evhttp over an OpenSSL
 * bufferevent) with an SSL object from the current trust generation and the
 * SSL profile of the backend's host:port: a full handshake verified against
 * the trust of now; no TLS session is cached or resumed. A complete answer
 * that leaves the connection open puts it back in the pool (its TLS callbacks
 * detached); with --backend-keepalive off every request says Connection: close
 * and evhttp frees its connection, as before pooling existed. The request on a
 * kept-alive connection and the answer to the client are written in the turn
 * of the loop that queued them, each as one TLS record (send_now); backend
 * connections read ahead, several records per read() (read_held_records).
 *
 * What went wrong is read from the connection itself rather than guessed from
 * errno: the verify callback records the first certificate error (chain or
 * host name), the message callback notes whether the backend ever sent a TLS
 * record or an alert, the info callback notes a completed handshake, a
 * callback on the connection's input buffer keeps the first bytes of the
 * response head, and evhttp's header callback says when a whole head arrived.
 * From those, with the rule row of each family (rules.c; never the profile):
 *
 *   certificate not trusted, expired, wrong host, wrong EKU;
 *   an alert from the backend (e.g. our client cert refused),
 *   or its end of the connection during the handshake          GSIM_RF_BACKEND_TLS
 *   no byte from the backend, connection refused or reset      GSIM_RF_BACKEND_CONNECT
 *   nothing within the backend timeout                         GSIM_RF_BACKEND_TIMEOUT
 *   the backend closed, or answered a head that does not
 *   parse, after the handshake                                 GSIM_RF_BACKEND_CLOSED
 *
 * A pooled connection already spoke TLS (received and handshake_done are set
 * when it is taken), so a close after the request on it is the closed row
 * (WSO2: TargetHandler.closed in REQUEST_DONE), never a TLS or connect fault.
 * A close while it was idle in the pool is no fault at all: the pool drops it
 * (WSO2: closed in REQUEST_READY, "Keep-Alive Connection closed") and the next
 * request opens a new connection; WSO2 retries nothing, so a close racing a
 * request on a reused connection is a fault there as here.
 *
 * The closed row's variant decides how a close is told apart:
 *   GSIM_CLOSED_ONE_CODE: the row's status and code for every close and
 *     every unparseable answer ("Connection closed").
 *   GSIM_CLOSED_BY_STATE: WSO2 synapse's passthrough sender, whose fault code
 *     is a base code + the connection's ProtocolState (TargetErrorHandler):
 *     - closed before a whole response head arrived: TargetHandler.closed()
 *       in REQUEST_DONE, the row's code (101505 + 3 = 101508). Synapse enters
 *       RESPONSE_HEAD only once the head is parsed (TargetResponse.start), so
 *       a head cut after a whole line is still REQUEST_DONE. The simulator
 *       hands its whole request to TLS before a backend can answer, so the
 *       request states (101506, 101507) do not arise here.
 *     - an answer whose head does not parse (bytes that are not HTTP): the
 *       parser's ProtocolException reaches TargetHandler.exception() as an
 *       HttpException: PROTOCOL_VIOLATION 101506 + REQUEST_DONE = 101509.
 *       "Does not parse" follows httpcore's parser: a status line
 *       HTTP/d.d and a numeric code, then lines with a colon; at the end of
 *       the stream a last line without LF is parsed too.
 *     - closed after the whole head, in the body: no fault at all. The
 *       content decoder's ConnectionClosedException is an IOException that
 *       TargetHandler.inputReady() logs without a fault, after the head went
 *       to the client: the client gets the backend's status and headers, the
 *       bytes that came, and then the end of the connection (the simulator
 *       closes it; WSO2 may leave it open until its socket timeout).
 *     Both use "Error in Sender".
 *
 * The reason goes to the gateway log ("PKIX path building failed: ... unable
 * to find valid certification path to requested target"), never into the
 * response.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "backend_pool.h"
#include "framing.h"
#include "sim.h"

/* wso2-synapse's passthrough sender (v2.1.7-wso2v80 for 2.6, wso2v227 for
 * 4.0): ErrorCodes.PROTOCOL_VIOLATION and the ProtocolState a response head
 * is read in (REQUEST_DONE; RESPONSE_HEAD only once it is parsed). */
#define SYNAPSE_PROTOCOL_VIOLATION 101506
#define SYNAPSE_STATE_REQUEST_DONE 3

/* Bytes of the response head kept to tell a close from a protocol violation. */

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
  int reused;    /* the backend connection came from the pool (backend_pool.c) */
  int autofree;  /* evhttp frees the connection when its request ends (no pooling) */
  int64_t conn_created_ms;
  uint64_t conn_generation; /* the trust generation the connection was verified with */
  struct evhttp_connection *backend;
  struct event *deadline;
  enum evhttp_request_error error;
  size_t response_bytes;           /* bytes of HTTP the backend sent (after TLS) */
  char head[GSIM_PROXY_HEAD_KEEP]; /* the first of them, until a whole head arrived */
  size_t head_len;
  int head_done; /* evhttp parsed a whole response head */
  int status;    /* ... its status, reason and headers */
  char *reason;
  struct evkeyvalq headers;
  struct evbuffer *body;              /* the body so far (evhttp hands it over as it comes) */
  struct evbuffer_cb_entry *input_cb; /* backend_input on the connection's input */
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
  proxy_call *call = arg; /* NULL while the connection is idle in the pool */
  if (!call || write_p || content_type == SSL3_RT_HEADER ||
      content_type == SSL3_RT_INNER_CONTENT_TYPE)
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
  evhttp_clear_headers(&call->headers);
  free(call->reason);
  if (call->body)
    evbuffer_free(call->body);
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

/* ---- what the backend's answer was ------------------------------------------ */

/* httpcore's BasicLineParser.parseStatusLine: blanks, "HTTP/", digits "."
 * digits, blanks, then a status code of digits up to the next space. */
static int status_line_parses(const char *line, size_t len) {
  size_t i = 0;
  while (i < len && (line[i] == ' ' || line[i] == '\t'))
    i++;
  if (len - i < 8 || memcmp(line + i, "HTTP/", 5) != 0)
    return 0;
  i += 5;
  size_t from = i;
  while (i < len && isdigit((unsigned char)line[i]))
    i++;
  if (i == from || i >= len || line[i] != '.')
    return 0;
  from = ++i;
  while (i < len && isdigit((unsigned char)line[i]))
    i++;
  if (i == from)
    return 0;
  while (i < len && (line[i] == ' ' || line[i] == '\t'))
    i++;
  from = i;
  while (i < len && isdigit((unsigned char)line[i]))
    i++;
  return i > from && i - from <= 9 && (i == len || line[i] == ' ');
}

/* httpcore's BufferedHeader: a colon with a name before it. */
static int header_line_parses(const char *line, size_t len) {
  const char *colon = memchr(line, ':', len);
  if (colon == NULL)
    return 0;
  for (const char *p = line; p < colon; p++)
    if (*p != ' ' && *p != '\t')
      return 1;
  return 0;
}

/* 1 when the start of a response head that never completed is an HTTP
 * protocol violation for httpcore's NIO parser (AbstractMessageParser): its
 * status line does not parse, or the head counts as ended - an empty line, or
 * at the end of the stream a last line without LF - and a header line does
 * not parse (headers are parsed only then). at_eof: head holds every byte the
 * backend sent. */
static int head_violates(const char *head, size_t len, int at_eof) {
  size_t at = 0, line_no = 0;
  int ended = 0;
  while (at < len && !ended) {
    const char *line = head + at;
    const char *lf = memchr(line, '\n', len - at);
    if (lf == NULL && !at_eof)
      break; /* an unfinished line: more would have come */
    size_t n = lf ? (size_t)(lf - line) : len - at;
    at += lf ? n + 1 : n;
    if (n > 0 && line[n - 1] == '\r')
      n--;
    if (line_no++ == 0) {
      if (!status_line_parses(line, n))
        return 1;
      if (lf == NULL)
        ended = 1; /* the end of the stream ends the head */
      continue;
    }
    if (n == 0 || lf == NULL) /* an empty line, or the end of the stream, ends the head */
      ended = 1;
  }
  if (!ended)
    return 0;
  /* The head ended: every header line is parsed (folded lines join the one before). */
  at = 0;
  line_no = 0;
  while (at < len) {
    const char *line = head + at;
    const char *lf = memchr(line, '\n', len - at);
    size_t n = lf ? (size_t)(lf - line) : len - at;
    at += lf ? n + 1 : n;
    if (n > 0 && line[n - 1] == '\r')
      n--;
    if (line_no++ == 0)
      continue;
    if (n == 0)
      break;
    if ((line[0] == ' ' || line[0] == '\t') && line_no > 2)
      continue;
    if (!header_line_parses(line, n))
      return 1;
  }
  return 0;
}

/* A message evhttp just queued, sent now as one TLS record.
 *
 * One record: libevent's OpenSSL bufferevent writes each chain of its output
 * buffer with its own SSL_write, so evhttp's head (one chain) and the body it
 * appends (another) would leave as two records and two write()s, and the peer
 * would read twice. The first record's worth of bytes is made one chain (a
 * copy of at most 16 KiB; a longer body still leaves in 16 KiB records).
 *
 * Now: a bufferevent writes only once epoll reports the socket writable, a
 * turn of the loop later, and arms and disarms EPOLLOUT for that (two
 * epoll_ctl per message). Activating its armed write event (ev_write of
 * event2/bufferevent_struct.h, libevent's public but layout-bound structure)
 * runs the same write callback in this turn instead: the message is written
 * at once, or, if the socket is full, the callback leaves the event armed as
 * before; with the change list (main.c) arming and disarming in one turn cost
 * no epoll_ctl. The same callback, bytes and errors as without it. */
#define TLS_RECORD_MAX 16384
static void send_now(struct evhttp_connection *conn) {
  struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
  struct evbuffer *out = bev ? bufferevent_get_output(bev) : NULL;
  size_t len = out ? evbuffer_get_length(out) : 0;
  if (len == 0)
    return;
  if (len > 1)
    evbuffer_pullup(out, (ev_ssize_t)(len < TLS_RECORD_MAX ? len : TLS_RECORD_MAX));
  if (event_pending(&bev->ev_write, EV_WRITE, NULL))
    event_active(&bev->ev_write, EV_WRITE, 1);
}

/* ---- answering the client, failures --------------------------------------- */

static void send_fault(proxy_call *call, const gsim_rule *row, const char *code,
                       const char *description) {
  if (call->client)
    gsim_fault_send(call->sim, call->client, row->status, code, "Runtime Error", description);
}

/* WSO2 after a close in the body: the head it already passed on, the bytes
 * that came, then the end of the client's connection. */
static void relay_cut_short(proxy_call *call) {
  if (!call->client)
    return;
  struct evkeyvalq *out = evhttp_request_get_output_headers(call->client);
  for (struct evkeyval *h = call->headers.tqh_first; h; h = h->next.tqe_next)
    if (!is_hop_by_hop(h->key))
      evhttp_add_header(out, h->key, h->value);
  const char *length = evhttp_find_header(&call->headers, "Content-Length");
  if (length)
    evhttp_add_header(out, "Content-Length", length);
  evhttp_add_header(out, "Connection", "close");
  evhttp_send_reply_start(call->client, call->status, call->reason);
  evhttp_send_reply_chunk(call->client, call->body);
  evhttp_send_reply_end(call->client);
  call->sim->stats.proxied++;
}

static void answer_failure(proxy_call *call) {
  gsim *sim = call->sim;
  const gsim_options *opt = sim->opt;
  const char *where = call->tls ? "TLS" : "HTTP";
  int timed_out = call->timed_out || (call->failed && call->error == EVREQ_HTTP_TIMEOUT);
  /* The backend took the connection: TLS records came, or HTTP bytes, or (plain
   * HTTP) evhttp saw the connection end after it was made. */
  int spoke = call->received || call->handshake_done || call->response_bytes > 0 ||
              (!call->tls && call->failed);
  if (call->verify_error) {
    log_tls_failure(call);
    const gsim_rule *row = gsim_rule_of(opt, GSIM_RF_BACKEND_TLS);
    send_fault(call, row, row->code, "Error in Sender");
    return;
  }
  if (call->alert || (call->cert_requested && !timed_out)) {
    /* A refused client certificate shows as a fatal alert, or in TLS 1.3 (where the
     * server judges it after the client finished) often as a reset that swallowed the
     * alert: either way the backend asked for a certificate and then hung up. */
    gsim_log(sim, "ERROR",
             "api %s: backend %s:%d: javax.net.ssl.SSLHandshakeException: the backend ended the "
             "%s connection%s%s",
             call->api, call->host, call->port, where, call->alert ? " with a fatal alert" : "",
             call->cert_requested ? " after asking for a client certificate (ours refused?)" : "");
    const gsim_rule *row = gsim_rule_of(opt, GSIM_RF_BACKEND_TLS);
    send_fault(call, row, row->code, "Error in Sender");
    return;
  }
  if (call->tls && call->received && !call->handshake_done && !timed_out) {
    gsim_log(sim, "ERROR",
             "api %s: backend %s:%d: javax.net.ssl.SSLHandshakeException: the backend ended the "
             "TLS connection during the handshake",
             call->api, call->host, call->port);
    const gsim_rule *row = gsim_rule_of(opt, GSIM_RF_BACKEND_TLS);
    send_fault(call, row, row->code, "Error in Sender");
    return;
  }
  if (timed_out) {
    gsim_log(sim, "ERROR", "api %s: backend %s:%d: no answer within %ld ms", call->api, call->host,
             call->port, opt->backend_timeout_ms);
    const gsim_rule *row = gsim_rule_of(opt, GSIM_RF_BACKEND_TIMEOUT);
    send_fault(call, row, row->code, "Send timeout");
    return;
  }
  if (!spoke) {
    gsim_log(sim, "ERROR", "api %s: backend %s:%d: connection refused or reset before %s",
             call->api, call->host, call->port, where);
    const gsim_rule *row = gsim_rule_of(opt, GSIM_RF_BACKEND_CONNECT);
    send_fault(call, row, row->code, "Error connecting to the back end");
    return;
  }
  const gsim_rule *row = gsim_rule_of(opt, GSIM_RF_BACKEND_CLOSED);
  int by_state = row->variant == GSIM_CLOSED_BY_STATE;
  if (call->head_done) {
    gsim_log(sim, "ERROR",
             "api %s: backend %s:%d: the response body ended early (closed, over the limit or "
             "malformed) after %zu bytes of it; status %d%s",
             call->api, call->host, call->port, evbuffer_get_length(call->body), call->status,
             by_state ? " and those bytes passed on, then the connection closed" : "");
    if (by_state)
      relay_cut_short(call);
    else
      send_fault(call, row, row->code, "Connection closed");
    return;
  }
  int violation = call->response_bytes > 0 &&
                  head_violates(call->head, call->head_len, call->head_len == call->response_bytes);
  if (violation)
    gsim_log(sim, "ERROR",
             "api %s: backend %s:%d: HTTP protocol violation: the response head does not parse "
             "(%zu bytes)",
             call->api, call->host, call->port, call->response_bytes);
  else
    gsim_log(sim, "ERROR",
             "api %s: backend %s:%d: connection closed by the backend before the whole response "
             "head (%zu bytes of it), after the request was sent",
             call->api, call->host, call->port, call->response_bytes);
  if (!by_state) {
    send_fault(call, row, row->code, "Connection closed");
  } else if (violation) {
    char code[16];
    snprintf(code, sizeof(code), "%d", SYNAPSE_PROTOCOL_VIOLATION + SYNAPSE_STATE_REQUEST_DONE);
    send_fault(call, row, code, "Error in Sender");
  } else {
    send_fault(call, row, row->code, "Error in Sender");
  }
}

/* ---- the backend's answer as it comes -------------------------------------- */

static void relay_response(proxy_call *call, struct evhttp_request *backend_req) {
  struct evkeyvalq *out = evhttp_request_get_output_headers(call->client);
  struct evkeyvalq *in = evhttp_request_get_input_headers(backend_req);
  for (struct evkeyval *h = in->tqh_first; h; h = h->next.tqe_next)
    if (!is_hop_by_hop(h->key))
      evhttp_add_header(out, h->key, h->value);
  int code = evhttp_request_get_response_code(backend_req);
  const char *reason = evhttp_request_get_response_code_line(backend_req);
  evhttp_send_reply(call->client, code, reason, call->body);
  send_now(call->client_conn);
  call->sim->stats.proxied++;
}

/* Read-ahead on a backend connection (backend_bufferevent): OpenSSL reads
 * whatever the socket holds, so a response that came as several TLS records
 * (gatecert-backend sends its head and body separately) costs one read()
 * instead of two per record. libevent's OpenSSL bufferevent decrypts only
 * until SSL_pending() - the record at hand - is used up, and epoll cannot see
 * records OpenSSL already holds: after each decrypted record (this is called
 * from the input buffer's callback), a connection whose SSL object still holds
 * bytes has its read event activated, so they are read in this turn of the
 * loop, as they would have been from the socket. A connection that still
 * holds bytes after a whole response is not pooled (release_backend): without
 * read-ahead those bytes would have reached evhttp idle, which closes it. */
static int holds_records(struct bufferevent *bev) {
  SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
  return ssl && SSL_has_pending(ssl);
}

static void read_held_records(struct evhttp_connection *conn) {
  struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
  if (holds_records(bev))
    event_active(&bev->ev_read, EV_READ, 1);
}

/* Every byte of HTTP the backend sends passes here; the first GSIM_PROXY_HEAD_KEEP of
 * a head are kept until evhttp has parsed a whole one. */
static void backend_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg) {
  proxy_call *call = arg;
  if (info->n_added == 0)
    return;
  read_held_records(call->backend);
  call->response_bytes += info->n_added;
  size_t room = sizeof(call->head) - call->head_len;
  if (call->head_done || room == 0)
    return;
  struct evbuffer_ptr at;
  if (evbuffer_ptr_set(buf, &at, evbuffer_get_length(buf) - info->n_added, EVBUFFER_PTR_SET) != 0)
    return;
  ev_ssize_t got = evbuffer_copyout_from(buf, &at, call->head + call->head_len,
                                         info->n_added < room ? info->n_added : room);
  if (got > 0)
    call->head_len += (size_t)got;
}

/* evhttp parsed a whole response head. */
static int backend_head(struct evhttp_request *req, void *arg) {
  proxy_call *call = arg;
  call->head_done = 1;
  call->status = evhttp_request_get_response_code(req);
  const char *reason = evhttp_request_get_response_code_line(req);
  free(call->reason);
  call->reason = strdup(reason ? reason : "");
  evhttp_clear_headers(&call->headers);
  struct evkeyvalq *in = evhttp_request_get_input_headers(req);
  for (struct evkeyval *h = in->tqh_first; h; h = h->next.tqe_next)
    evhttp_add_header(&call->headers, h->key, h->value);
  return 0;
}

/* Body bytes as they come (evhttp drains its buffer after this). */
static void backend_body(struct evhttp_request *req, void *arg) {
  proxy_call *call = arg;
  evbuffer_add_buffer(call->body, evhttp_request_get_input_buffer(req));
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

static void finish_failure(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  proxy_call *call = arg;
  answer_failure(call);
  call_free(call);
}

/* ---- the pool of kept-alive backend connections ---------------------------- */

static gsim_pool *pool_of(gsim *sim) {
  if (!sim->opt->backend_keepalive)
    return NULL;
  if (!sim->pool) {
    gsim_pool_limits limits = {.per_route = GSIM_POOL_PER_ROUTE,
                               .total = GSIM_POOL_TOTAL,
                               .idle_ms = sim->opt->backend_idle_ms,
                               .grace_ms = GSIM_POOL_GRACE_MS,
                               .max_life_ms = GSIM_POOL_MAX_LIFE_MS};
    sim->pool = gsim_pool_new(sim->base, &limits);
  }
  return sim->pool;
}

/* The TLS callbacks of a connection report to its call, or nowhere while idle. */
static void attach(struct evhttp_connection *conn, proxy_call *call) {
  struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
  SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
  if (ssl) {
    SSL_set_app_data(ssl, call);
    SSL_set_msg_callback_arg(ssl, call);
  }
}

/* After a whole answer: a connection evhttp kept open (neither side said
 * close) goes back to the pool; one it closed is freed once evhttp is done. */
static void release_backend(proxy_call *call, struct evhttp_request *backend_req) {
  struct evhttp_connection *conn = call->backend;
  call->backend = NULL;
  if (!conn || call->autofree)
    return; /* evhttp frees it */
  struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
  if (bev && call->input_cb)
    evbuffer_remove_cb_entry(bufferevent_get_input(bev), call->input_cb);
  call->input_cb = NULL;
  attach(conn, NULL);
  gsim_pool *pool = pool_of(call->sim);
  if (pool && bev && bufferevent_getfd(bev) >= 0 && !holds_records(bev)) {
    struct evkeyvalq *in = evhttp_request_get_input_headers(backend_req);
    long keepalive = gsim_pool_keepalive_timeout(evhttp_find_header(in, "Keep-Alive"));
    gsim_pool_give(pool, call->tls, call->host, call->port, conn, gsim_now_ms(), keepalive,
                   call->conn_created_ms, call->conn_generation);
    return;
  }
  static const struct timeval now = {0, 0};
  if (event_base_once(call->sim->base, -1, EV_TIMEOUT, free_connection, conn, &now) != 0)
    evhttp_connection_free(conn);
}

static void backend_done(struct evhttp_request *backend_req, void *arg) {
  proxy_call *call = arg;
  int ok = backend_req && evhttp_request_get_response_code(backend_req) > 0;
  static const struct timeval now = {0, 0};
  if (ok) {
    if (call->client)
      relay_response(call, backend_req);
    release_backend(call, backend_req);
    call_free(call);
    return;
  }
  if ((!call->failed || !call->autofree) && call->backend) {
    /* A refused connect: libevent 2.1 calls us from its connect clean-up, which
     * ignores free-on-completion; a pooled-mode connection is never freed by
     * evhttp. Free the connection once evhttp has returned; until then its
     * input must not report to this call. */
    struct bufferevent *bev = evhttp_connection_get_bufferevent(call->backend);
    if (bev && call->input_cb)
      evbuffer_remove_cb_entry(bufferevent_get_input(bev), call->input_cb);
    attach(call->backend, NULL);
    event_base_once(call->sim->base, -1, EV_TIMEOUT, free_connection, call->backend, &now);
  }
  call->backend = NULL; /* freed by evhttp, or just above */
  if (call->deadline)
    evtimer_del(call->deadline);
  /* Answered on the next turn of the loop: when a backend's last bytes and its
   * close come together, libevent's OpenSSL bufferevent reports the close
   * before it stores those bytes (be_openssl.c do_read), and they decide
   * between a close and a protocol violation. The connection is gone by then. */
  if (event_base_once(call->sim->base, -1, EV_TIMEOUT, finish_failure, call, &now) != 0)
    finish_failure(-1, 0, call);
}

/* ---- starting a call ------------------------------------------------------ */

static void add_request_headers(struct evhttp_request *to, struct evhttp_request *from,
                                const char *host, int port, int keepalive) {
  struct evkeyvalq *out = evhttp_request_get_output_headers(to);
  struct evkeyvalq *in = evhttp_request_get_input_headers(from);
  /* The client's headers as the security chain left them: a certificate
   * header it read is gone unless forward_client_certificate_header is true
   * (security.c); one it ignored is passed on as sent, as WSO2 does. */
  for (struct evkeyval *h = in->tqh_first; h; h = h->next.tqe_next) {
    /* WSO2 drops the client's Authorization toward the backend by default. */
    if (!is_hop_by_hop(h->key) && !gsim_framing_hop_by_hop(in, h->key) &&
        strcasecmp(h->key, "Authorization") != 0)
      evhttp_add_header(out, h->key, h->value);
  }
  char host_header[300];
  snprintf(host_header, sizeof(host_header), "%s:%d", host, port);
  evhttp_add_header(out, "Host", host_header);
  /* Without pooling, one request per backend connection, as WSO2 with
   * http.connection.disable.keepalive=true (TargetRequestFactory: keepAlive
   * false, so the request says Connection: close). */
  if (!keepalive)
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
  SSL_set_read_ahead(ssl, 1); /* read_held_records */
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
  call->headers.tqh_first = NULL;
  call->headers.tqh_last = &call->headers.tqh_first;
  call->tls = strcasecmp(scheme, "https") == 0;
  snprintf(call->host, sizeof(call->host), "%s", host);
  call->port = evhttp_uri_get_port(endpoint);
  if (call->port <= 0)
    call->port = call->tls ? 443 : 80;
  snprintf(call->api, sizeof(call->api), "%s:%s", api->name, api->version);
  evhttp_uri_free(endpoint);
  call->gen = gsim_trust_gen_ref(sim->trust.current);

  /* A kept-alive connection of the route first (WSO2 reuses it whatever the
   * trust generation now: backend_pool.c), else a new one verified now. */
  gsim_pool *pool = pool_of(sim);
  struct evhttp_connection *conn =
      pool ? gsim_pool_take(pool, call->tls, call->host, call->port, gsim_now_ms(),
                            &call->conn_created_ms, &call->conn_generation)
           : NULL;
  struct bufferevent *bev = NULL;
  if (conn) {
    call->reused = 1;
    call->received = call->handshake_done = 1; /* it spoke TLS when it was opened */
    bev = evhttp_connection_get_bufferevent(conn);
    attach(conn, call);
  } else {
    call->conn_generation = call->gen->number;
    size_t profile = gsim_trust_profile_for(&sim->trust, call->host, call->port);
    bev = backend_bufferevent(sim, call, profile);
    conn = bev ? evhttp_connection_base_bufferevent_new(sim->base, NULL, bev, call->host,
                                                        (unsigned short)call->port)
               : NULL;
  }
  call->body = evbuffer_new();
  struct evhttp_request *out = conn && call->body ? evhttp_request_new(backend_done, call) : NULL;
  if (out)
    call->input_cb = evbuffer_add_cb(bufferevent_get_input(bev), backend_input, call);
  if (!out || !call->input_cb) {
    if (out)
      evhttp_request_free(out);
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
  if (!pool) {
    evhttp_connection_free_on_completion(conn);
    call->autofree = 1;
  }
  evhttp_request_set_error_cb(out, backend_error);
  evhttp_request_set_header_cb(out, backend_head);
  evhttp_request_set_chunked_cb(out, backend_body);
  add_request_headers(out, req, call->host, call->port, pool != NULL);
  evbuffer_add_buffer(evhttp_request_get_output_buffer(out), evhttp_request_get_input_buffer(req));

  call->client_conn = evhttp_request_get_connection(req);
  if (call->client_conn)
    evhttp_connection_set_closecb(call->client_conn, client_closed, call);
  if (evhttp_make_request(conn, out, evhttp_request_get_command(req), uri) != 0) {
    /* libevent freed the request; the connection has nothing to complete. */
    evhttp_connection_free(conn);
    gsim_log(sim, "ERROR", "api %s: could not send to backend %s:%d", call->api, call->host,
             call->port);
    const gsim_rule *row = gsim_rule_of(sim->opt, GSIM_RF_BACKEND_CONNECT);
    send_fault(call, row, row->code, "Error connecting to the back end");
    call_free(call);
    return;
  }
  send_now(conn); /* queued now on a kept-alive connection; a new one sends at its connect */
}

/* A route an SSL profile names by host:port (not only the default profile). */
static int named_by_profile(const char *host, int port, void *arg) {
  const gsim_trust *trust = arg;
  return gsim_trust_profile_for(trust, host, port) != trust->profile_count;
}

void gsim_proxy_request(struct evhttp_request *req, void *arg) {
  gsim *sim = arg;
  sim->stats.requests++;
  gsim_framing_verdict refused = gsim_framing_refuse(req, GSIM_MAX_BODY);
  if (refused.status) { /* answered with Connection: close (framing.c) */
    gsim_log(sim, "INFO", "request refused: %d %s", refused.status, refused.reason);
    return;
  }
  gsim_reload_check(sim);
  if (sim->pool && sim->trust.current)
    gsim_pool_reset(sim->pool, sim->trust.current->number, named_by_profile, &sim->trust);
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
