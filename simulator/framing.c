/* framing.c - the HTTP/1.1 framing checks of every gatecert-sim listener: a
 * request whose head could be read two ways (request smuggling, RFC 9112
 * section 11.2) is refused before anything acts on it, and a header that must
 * not travel past this hop is never forwarded.
 *
 * The simulator does not parse HTTP itself: libevent's evhttp parses the
 * request, and the listener's callback calls gsim_framing_refuse() first,
 * which reads the header list, version and request-target evhttp produced.
 * The library is Debian 12's libevent 2.1.12-stable-8+deb12u1: upstream
 * 2.1.12 (http.c) plus three evhttp fixes cherry-picked from 2.1.13 (Debian
 * patches CVE-2026-63379 "Discard trailers", CVE-2026-63382 "Tighten
 * acceptable headers to prevent request smuggling", CVE-2026-63385 "Reject
 * headers containing CRLF"). What it already does with a request head, before
 * any callback of ours runs, answering itself with "Connection: close":
 *
 *   - request line: fewer than three words or shorter than "GET / HTTP/1.0",
 *     a version that is not "HTTP/<n>.<n>" or has a major version over 1
 *     (HTTP/2.0 and up), a target its URI parser refuses: 400. A method it
 *     does not know or the listener does not allow: 501. Trailing spaces of
 *     the line are dropped.
 *   - header lines: a line without a colon (a NUL inside a name cuts the line
 *     there, so it has none), a CR or LF left inside a name or a value (a CR
 *     not followed by LF), a continuation line before any header: 400. The
 *     head over max_headers (evhttp_set_max_headers_size): 400.
 *   - framing (the deb12u1 patch): Transfer-Encoding together with any
 *     Content-Length, chunked anywhere but last, a Transfer-Encoding header
 *     after one that ended in chunked: 400. A list ending in chunked
 *     ("gzip, chunked") is read as chunked. Two Content-Length headers are
 *     refused only when a Transfer-Encoding is there too (the patch's check
 *     short-circuits): alone, the first one frames the body - the smuggling
 *     issue 15 found.
 *   - the first Content-Length that strtoll does not read whole in base 10,
 *     or a negative one: 400; one over max_body (evhttp_set_max_body_size):
 *     413. strtoll takes "+5", and saturates a number too large for 64 bits.
 *   - chunked bodies: a chunk size strtoll does not read in base 16 (anything
 *     after the number but a space): 413 (evhttp reports a corrupted chunk as
 *     "data too long"); strtoll takes "0x5". A body over max_body: 413.
 *     Trailers are read and discarded. An Expect other than 100-continue: 417.
 *
 * What evhttp lets through and the simulator checks here (RFC sections in
 * gsim_framing_check_headers):
 *
 *   - header names: evhttp takes everything before the first colon, so
 *     "Transfer-Encoding : chunked" is a header named "Transfer-Encoding "
 *     that evhttp does not frame by and a proxy would forward. A name that is
 *     not a token (RFC 9110 5.1, 5.6.2): 400.
 *   - values: CR or LF in a value (only a hand-built list has them): 400.
 *   - Content-Length: more than one (nginx refuses even equal ones), anything
 *     but digits ("+5", "5, 5"): 400; over max_body, however long: 413.
 *   - Transfer-Encoding: in HTTP/1.0, more than one header, with
 *     Content-Length, chunked not last or twice: 400; no chunked at all
 *     (evhttp then frames by Content-Length or as no body): 400; a coding
 *     before the final chunked (none is implemented): 501. Stated whole here,
 *     so the checks do not depend on the Debian patch.
 *   - Host: missing in HTTP/1.1, more than one, or not a valid host[:port]:
 *     400 (RFC 9112 3.2).
 *   - the request-target: whitespace or a control character in it (evhttp
 *     splits the line at the first and last space, so "GET  /x" has the
 *     target " /x"): 400.
 *   - versions: only HTTP/1.0 and 1.1 (and 1.x, read as 1.1, RFC 9112 2.3):
 *     a major version 0 gets 505.
 *
 * The refusal goes out with "Connection: close": evhttp closes the
 * connection once it is written, so a body evhttp framed differently is never
 * read as another request. Three things evhttp hides from what it hands over,
 * so they cannot be checked here: a NUL in a value cuts the value at the NUL,
 * obs-fold lines are joined to the previous value with one space (RFC 9112
 * 5.2 allows that replacement), and a chunk size "0x5" is read as 5 (the body
 * is re-framed with Content-Length toward a backend). The README's "HTTP
 * framing" section has the table of what the simulator, nginx and HAProxy
 * answer.
 *
 * Lingering close (EVHTTP_SERVER_LINGERING_CLOSE) is off: with it evhttp
 * drains a declared body over max_body before answering 413, so a
 * Content-Length of 10^30 (saturated to 2^63-1) was never answered, nor one
 * of 20 MB whose body never came. Without it the 413 goes out as soon as the
 * head is read, as nginx answers; a client that goes on sending the body may
 * then see the connection reset (curl with its default Expect: 100-continue
 * gets the 413 before it sends the body).
 */
#include "framing.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http_struct.h> /* the request's major and minor version: no accessor in 2.1 */

static const gsim_framing_verdict OK = {0, NULL};

static gsim_framing_verdict refuse(int status, const char *reason) {
  gsim_framing_verdict v = {status, reason};
  return v;
}

/* RFC 9110 5.6.2: tchar. */
static int is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return 1;
  return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_token(const char *s) {
  if (!s || !*s)
    return 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (!is_tchar(*p))
      return 0;
  return 1;
}

/* RFC 9110 5.5: CR, LF and NUL in a value MUST be refused (or replaced).
 * evhttp refuses CR and LF itself and cuts a value at a NUL, so this sees
 * them only in a list built by hand (the fuzz target). Other control
 * characters are invalid too, but nginx and HAProxy pass them on, and so does
 * the simulator (its handlers judge them). */
static int value_ok(const char *s) { return strpbrk(s, "\r\n") == NULL; }

static int is_ows(char c) { return c == ' ' || c == '\t'; }

/* The next element of a comma-separated list (RFC 9110 5.6.1) in *s: its
 * start and length, OWS trimmed; empty elements are skipped. 0 at the end. */
static int next_element(const char **s, const char **start, size_t *len) {
  const char *p = *s;
  for (;;) {
    while (is_ows(*p) || *p == ',')
      p++;
    if (!*p)
      return 0;
    const char *e = strchr(p, ',');
    if (!e)
      e = p + strlen(p);
    const char *end = e;
    while (end > p && is_ows(end[-1]))
      end--;
    *s = e;
    if (end > p) {
      *start = p;
      *len = (size_t)(end - p);
      return 1;
    }
    p = e;
  }
}

static int element_is(const char *start, size_t len, const char *word) {
  return strlen(word) == len && strncasecmp(start, word, len) == 0;
}

/* RFC 9112 6.1 and 6.3 (4): the Transfer-Encoding value of a request. */
static gsim_framing_verdict check_transfer_encoding(const char *value) {
  const char *s = value, *start = NULL;
  size_t len = 0, codings = 0, chunked = 0;
  int last_chunked = 0;
  while (next_element(&s, &start, &len)) {
    codings++;
    last_chunked = element_is(start, len, "chunked");
    chunked += (size_t)last_chunked;
  }
  if (codings == 0)
    return refuse(400, "empty Transfer-Encoding");
  if (!last_chunked)
    return refuse(400, "Transfer-Encoding whose final coding is not chunked");
  if (chunked > 1)
    return refuse(400, "Transfer-Encoding applies chunked more than once");
  if (codings > 1)
    return refuse(501, "Transfer-Encoding with a coding the simulator does not implement");
  return OK;
}

/* RFC 9110 8.6: Content-Length = 1*DIGIT; a value over max_body (however
 * long, without converting it) is 413. */
static gsim_framing_verdict check_content_length(const char *value, uint64_t max_body) {
  if (!*value)
    return refuse(400, "empty Content-Length");
  uint64_t n = 0;
  int over = 0;
  for (const char *p = value; *p; p++) {
    if (*p < '0' || *p > '9')
      return refuse(400, "Content-Length is not a decimal number");
    if (!over) {
      n = n * 10 + (uint64_t)(*p - '0');
      over = n > max_body;
    }
  }
  return over ? refuse(413, "Content-Length over the body limit") : OK;
}

/* RFC 9112 3.2 and RFC 9110 7.2: Host = uri-host [ ":" port ], checked by
 * libevent's URI parser on "http://<host>/". */
static int host_ok(const char *value) {
  if (!*value || strlen(value) > 1024 || strpbrk(value, "/?#@\\ \t") != NULL)
    return 0;
  char uri[1100];
  snprintf(uri, sizeof(uri), "http://%s/", value);
  struct evhttp_uri *u = evhttp_uri_parse_with_flags(uri, 0);
  if (!u)
    return 0;
  const char *host = evhttp_uri_get_host(u);
  int ok = host && *host && !evhttp_uri_get_userinfo(u);
  evhttp_uri_free(u);
  return ok;
}

gsim_framing_verdict gsim_framing_check_headers(const struct evkeyvalq *headers, int major,
                                                int minor, const char *target, uint64_t max_body) {
  /* RFC 9112 2.3: HTTP/1.x only (evhttp refuses 2 and up itself). */
  if (major != 1 || minor < 0)
    return refuse(505, "HTTP version not supported");
  int http11 = minor >= 1;
  /* RFC 9112 3.2: the request-target is one word of visible characters. */
  if (target) {
    if (!*target)
      return refuse(400, "empty request-target");
    for (const unsigned char *p = (const unsigned char *)target; *p; p++)
      if (*p <= 0x20 || *p == 0x7f)
        return refuse(400, "whitespace or a control character in the request-target");
  }
  const char *content_length = NULL, *transfer_encoding = NULL, *host = NULL;
  int content_lengths = 0, transfer_encodings = 0, hosts = 0;
  for (const struct evkeyval *h = headers ? headers->tqh_first : NULL; h; h = h->next.tqe_next) {
    /* RFC 9112 5.1: no whitespace between the name and the colon (a MUST
     * 400); RFC 9110 5.1: a name is a token. */
    if (!is_token(h->key))
      return refuse(400, "a header name that is not a token (whitespace before the colon?)");
    if (!value_ok(h->value))
      return refuse(400, "CR or LF in a header value");
    if (strcasecmp(h->key, "Content-Length") == 0) {
      content_lengths++;
      content_length = h->value;
    } else if (strcasecmp(h->key, "Transfer-Encoding") == 0) {
      transfer_encodings++;
      transfer_encoding = h->value;
    } else if (strcasecmp(h->key, "Host") == 0) {
      hosts++;
      host = h->value;
    }
  }
  /* RFC 9112 3.2: a Host header in every HTTP/1.1 request, never two, valid. */
  if (hosts > 1)
    return refuse(400, "more than one Host header");
  if (hosts == 0 && http11)
    return refuse(400, "HTTP/1.1 request without a Host header");
  if (host && !host_ok(host))
    return refuse(400, "invalid Host header");
  if (transfer_encodings > 0) {
    /* RFC 9112 6.1: TE in HTTP/1.0 is faulty framing; TE with CL may be
     * refused (nginx does); the list may not apply chunked twice. */
    if (!http11)
      return refuse(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (content_lengths > 0)
      return refuse(400, "both Transfer-Encoding and Content-Length");
    if (transfer_encodings > 1)
      return refuse(400, "more than one Transfer-Encoding header");
    return check_transfer_encoding(transfer_encoding);
  }
  if (content_lengths > 1) /* RFC 9112 6.3 (5); nginx refuses equal ones too */
    return refuse(400, "more than one Content-Length header");
  if (content_length)
    return check_content_length(content_length, max_body);
  return OK;
}

gsim_framing_verdict gsim_framing_check(struct evhttp_request *req, uint64_t max_body) {
  return gsim_framing_check_headers(evhttp_request_get_input_headers(req), req->major, req->minor,
                                    evhttp_request_get_uri(req), max_body);
}

gsim_framing_verdict gsim_framing_refuse(struct evhttp_request *req, uint64_t max_body) {
  gsim_framing_verdict v = gsim_framing_check(req, max_body);
  if (v.status == 0)
    return v;
  struct evkeyvalq *out = evhttp_request_get_output_headers(req);
  evhttp_clear_headers(out);
  evhttp_add_header(out, "Content-Type", "text/plain; charset=UTF-8");
  evhttp_add_header(out, "Connection", "close");
  struct evbuffer *body = evbuffer_new();
  const char *phrase = v.status == 413   ? "Payload Too Large"
                       : v.status == 501 ? "Not Implemented"
                       : v.status == 505 ? "HTTP Version Not Supported"
                                         : "Bad Request";
  if (body)
    evbuffer_add_printf(body, "%d %s: %s\n", v.status, phrase, v.reason);
  evhttp_send_reply(req, v.status, phrase, body);
  if (body)
    evbuffer_free(body);
  return v;
}

/* RFC 9110 7.6.1 (and Proxy-Connection, RFC 9112 C.2.2). */
static const char *const hop_fields[] = {
    "Connection", "Keep-Alive",        "Proxy-Connection", "TE",
    "Trailer",    "Transfer-Encoding", "Upgrade",          NULL,
};

int gsim_framing_hop_by_hop(const struct evkeyvalq *headers, const char *name) {
  if (!is_token(name))
    return 1;
  for (const char *const *f = hop_fields; *f; f++)
    if (strcasecmp(*f, name) == 0)
      return 1;
  for (const struct evkeyval *h = headers ? headers->tqh_first : NULL; h; h = h->next.tqe_next) {
    if (strcasecmp(h->key, "Connection") != 0)
      continue;
    const char *s = h->value, *start = NULL;
    size_t len = 0;
    while (next_element(&s, &start, &len))
      if (element_is(start, len, name))
        return 1;
  }
  return 0;
}

void gsim_framing_configure(struct evhttp *http, long max_headers, long max_body) {
  evhttp_set_max_headers_size(http, (ev_ssize_t)max_headers);
  evhttp_set_max_body_size(http, (ev_ssize_t)max_body);
  evhttp_set_flags(http, 0);
}
