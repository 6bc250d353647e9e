/* framing.h - HTTP/1.1 request framing checks every gatecert-sim listener
 * runs before acting on a request (RFC 9112 sections 2-7, RFC 9110 5 and
 * 7.6.1). What libevent's evhttp already refuses and what this adds is at the
 * top of framing.c.
 *
 * A library of its own (gatecert_sim_framing: libevent only), so the fuzz
 * target of "the request head as the simulator sees it" links it alone and
 * calls gsim_framing_check_headers on a header list it built itself.
 */
#ifndef GSIM_FRAMING_H
#define GSIM_FRAMING_H

#include <stdint.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

/* The answer to a request head: status 0 when it may be served, else the
 * status to refuse it with (400, 413, 501 or 505) and a static one-line reason
 * (no request bytes in it: safe to log and to send). */
typedef struct gsim_framing_verdict {
  int status;
  const char *reason;
} gsim_framing_verdict;

/* The checks on a parsed request head, without a connection:
 *   headers   the header list as evhttp parsed it (names and values)
 *   major, minor  the request line's HTTP version as evhttp parsed it
 *   target    the raw request-target (evhttp_request_get_uri), or NULL
 *   max_body  the largest body the listener takes (413 above it)
 * Pure: reads its arguments only. */
gsim_framing_verdict gsim_framing_check_headers(const struct evkeyvalq *headers, int major,
                                                int minor, const char *target, uint64_t max_body);

/* The same on a request evhttp handed to a listener's callback. */
gsim_framing_verdict gsim_framing_check(struct evhttp_request *req, uint64_t max_body);

/* The entry hook of every listener: checks req and, when it must be refused,
 * answers the verdict's status with "Connection: close" (evhttp then closes
 * the connection, so no byte after this request is read as another one) and
 * returns the verdict; status 0: nothing was sent, serve the request. */
gsim_framing_verdict gsim_framing_refuse(struct evhttp_request *req, uint64_t max_body);

/* 1 when a request header must not be forwarded to a backend: the hop-by-hop
 * fields of RFC 9110 7.6.1 (Connection, Keep-Alive, Proxy-Connection, TE,
 * Trailer, Transfer-Encoding, Upgrade), any field the request's Connection
 * header names, and any name that is not a token; else 0. */
int gsim_framing_hop_by_hop(const struct evkeyvalq *headers, const char *name);

/* What every listener sets on its evhttp: the header block and body limits
 * (evhttp answers 400 past max_headers and 413 past max_body), and no
 * lingering close, so a Content-Length over max_body is answered 413 at once
 * instead of after that many bytes were drained. */
void gsim_framing_configure(struct evhttp *http, long max_headers, long max_body);

#endif
