/* report.c - what a backend saw, as one JSON object per line.
 *
 * Every event (a request, a failed handshake, a fault) becomes one line in
 * DIR/<backend>.jsonl, written with a single write() on an O_APPEND file so a
 * reader tailing the file never sees half a line. The event carries the
 * backend's own clock (the fake one under libfaketime), the TLS facts (SNI,
 * version, the client certificate's subject, issuer, serial and SHA-256
 * fingerprint, via certs/'s gcert_describe) and, for requests, the request
 * line and headers with credentials redacted. JSON is built with jansson.
 */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/keyvalq_struct.h>

#include "gcert.h"

static const char *const redacted_headers[] = {"Authorization", "Proxy-Authorization", "Cookie"};

int gcb_report_open(gcb_report *report, const char *dir, const char *name, char *why,
                    size_t why_len) {
  report->fd = -1;
  report->seq = 0;
  if (dir == NULL)
    return 0;
  char path[4096];
  int n = snprintf(path, sizeof(path), "%s/%s.jsonl", dir, name);
  if (n < 0 || (size_t)n >= sizeof(path)) {
    snprintf(why, why_len, "report path too long");
    return -1;
  }
  report->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (report->fd < 0) {
    snprintf(why, why_len, "cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  return 0;
}

void gcb_report_close(gcb_report *report) {
  if (report->fd >= 0)
    close(report->fd);
  report->fd = -1;
}

/* ISO 8601 UTC with milliseconds, from the process clock. */
static json_t *now_text(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char text[40];
  size_t n = strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(text + n, sizeof(text) - n, ".%03ldZ", ts.tv_nsec / 1000000);
  return json_string(text);
}

static json_t *client_cert_json(gcb_backend *b, SSL *ssl) {
  X509 *cert = ssl ? gcb_tls_client_cert(b, ssl) : NULL;
  gcert_info info;
  gcert_error err = {0};
  if (cert == NULL || gcert_describe(cert, time(NULL), &info, &err) != GCERT_OK)
    return json_null();
  return json_pack("{s:s, s:s, s:s, s:s}", "subject", info.subject, "issuer", info.issuer, "serial",
                   info.serial_hex, "sha256", info.sha256_hex);
}

static int is_redacted(const char *header) {
  for (size_t i = 0; i < sizeof(redacted_headers) / sizeof(redacted_headers[0]); i++) {
    if (strcasecmp(header, redacted_headers[i]) == 0)
      return 1;
  }
  return 0;
}

static const char *method_name(enum evhttp_cmd_type cmd) {
  static const struct {
    enum evhttp_cmd_type cmd;
    const char *name;
  } methods[] = {
      {EVHTTP_REQ_GET, "GET"},     {EVHTTP_REQ_POST, "POST"},       {EVHTTP_REQ_HEAD, "HEAD"},
      {EVHTTP_REQ_PUT, "PUT"},     {EVHTTP_REQ_DELETE, "DELETE"},   {EVHTTP_REQ_OPTIONS, "OPTIONS"},
      {EVHTTP_REQ_TRACE, "TRACE"}, {EVHTTP_REQ_CONNECT, "CONNECT"}, {EVHTTP_REQ_PATCH, "PATCH"}};
  for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
    if (methods[i].cmd == cmd)
      return methods[i].name;
  }
  return "UNKNOWN";
}

static json_t *request_json(struct evhttp_request *req) {
  if (req == NULL)
    return json_null();
  json_t *headers = json_object();
  struct evkeyvalq *in = evhttp_request_get_input_headers(req);
  for (struct evkeyval *h = in ? in->tqh_first : NULL; h != NULL; h = h->next.tqe_next)
    json_object_set_new(headers, h->key,
                        json_string(is_redacted(h->key) ? "[redacted]" : h->value));
  const char *uri = evhttp_request_get_uri(req);
  return json_pack("{s:s, s:s, s:o}", "method", method_name(evhttp_request_get_command(req)), "uri",
                   uri ? uri : "", "headers", headers);
}

static json_t *nullable(const char *text) { return text ? json_string(text) : json_null(); }

json_t *gcb_report_event(gcb_backend *b, const gcb_facts *f) {
  SSL *ssl = f->ssl;
  const char *sni = ssl ? SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : NULL;
  const char *version = ssl && SSL_is_init_finished(ssl) ? SSL_get_version(ssl) : NULL;
  json_t *event = json_pack(
      "{s:I, s:o, s:s, s:s, s:b, s:o, s:o, s:b, s:o, s:o, s:o}", "seq", (json_int_t)++b->report.seq,
      "time", now_text(), "backend", b->spec->name, "event", f->event, "reached_app",
      f->reached_app, "sni", nullable(sni), "tls_version", nullable(version), "resumed",
      ssl && SSL_is_init_finished(ssl) && SSL_session_reused(ssl), "client_cert",
      client_cert_json(b, ssl), "error", nullable(f->error), "request", request_json(f->req));
  uint64_t number = ssl ? gcb_conn_number(gcb_tls_conn(b, ssl)) : 0;
  if (event != NULL)
    json_object_set_new(event, "conn", number ? json_integer((json_int_t)number) : json_null());
  if (event == NULL || b->report.fd < 0)
    return event;
  char *line = json_dumps(event, JSON_COMPACT);
  if (line != NULL) {
    size_t n = strlen(line);
    line[n] = '\n'; /* replaces the terminator: written as one line */
    ssize_t written = write(b->report.fd, line, n + 1);
    if (written != (ssize_t)(n + 1))
      fprintf(stderr, "gatecert-backend: %s: report write failed: %s\n", b->spec->name,
              written < 0 ? strerror(errno) : "short write");
    free(line);
  }
  return event;
}
