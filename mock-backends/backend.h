/* backend.h - the parts of gatecert-backend and how they meet.
 *
 * The component's public interface is its command line, READY lines and
 * report format (README.md beside this file); this header is the contract
 * between its source files and is not included from anywhere else.
 *
 *   options.c    argv -> gcb_options (backend specs)
 *   catalogue.c  --catalogue: certificates and specs for a local badssl.com
 *   tls.c        a spec's SSL_CTX; per-connection facts (SNI, verify errors)
 *   server.c     starting and stopping one backend: HTTP or a fault
 *   http.c       the echo application on libevent's evhttp over TLS
 *   faults.c     connections that are broken on purpose
 *   report.c     JSON-lines events, one write() per event
 *   main.c       the process: event loop, READY lines, signals
 */
#ifndef GCB_BACKEND_H
#define GCB_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/ssl.h>

#define GCB_NAME_MAX     64
#define GCB_MAX_BACKENDS 64
#define GCB_MAX_DELAY_MS 600000u

typedef enum gcb_client_auth {
  GCB_CLIENT_NONE = 0,
  GCB_CLIENT_OPTIONAL,
  GCB_CLIENT_REQUIRE
} gcb_client_auth;

typedef enum gcb_tls { GCB_TLS_ANY = 0, GCB_TLS_12, GCB_TLS_13 } gcb_tls;

typedef enum gcb_fault {
  GCB_FAULT_NONE = 0,
  GCB_FAULT_REFUSE,
  GCB_FAULT_RESET,
  GCB_FAULT_STALL,
  GCB_FAULT_GARBAGE,
  GCB_FAULT_CLOSE_MID_BODY,
  GCB_FAULT_CLOSE_AFTER_REQUEST,
  GCB_FAULT_CLOSE_MID_HEAD
} gcb_fault;

/* One backend as the user asked for it. Strings are owned (malloc'd). */
typedef struct gcb_spec {
  char name[GCB_NAME_MAX];
  char *cert;      /* PEM chain, leaf first, sent in this order */
  char *key;       /* PEM private key */
  char *client_ca; /* PEM CAs trusted for client certificates */
  gcb_client_auth client_auth;
  gcb_tls tls;
  gcb_fault fault;
  unsigned delay_ms;
  int sessions;            /* allow TLS session resumption (cache and tickets) */
  const char *description; /* catalogue only: what is wrong with it */
} gcb_spec;

typedef struct gcb_options {
  gcb_spec specs[GCB_MAX_BACKENDS];
  size_t count;
  const char *report_dir;
  const char *certs_dir;
  const char *at; /* catalogue reference time, as gcert_time_parse reads it */
  int catalogue;
} gcb_options;

/* Parses argv; on failure writes a one-line reason to why and returns 2
 * (usage). Returns 0 on success, 1 for --help (usage printed to stdout). */
int gcb_options_parse(int argc, char **argv, gcb_options *opt, char *why, size_t why_len);
void gcb_options_free(gcb_options *opt);
const char *gcb_fault_name(gcb_fault fault);

/* Appends the catalogue's specs to opt, writing its certificates to
 * opt->certs_dir. Returns 0, or -1 with why filled. */
int gcb_catalogue_specs(gcb_options *opt, char *why, size_t why_len);

/* ---- reports ------------------------------------------------------------ */

typedef struct gcb_report {
  int fd; /* -1: no report directory */
  uint64_t seq;
} gcb_report;

/* What one event is about. ssl and req may be NULL. */
typedef struct gcb_facts {
  const char *event; /* "request", "handshake_failed", "fault" */
  int reached_app;
  const char *error;
  SSL *ssl;
  struct evhttp_request *req;
} gcb_facts;

int gcb_report_open(gcb_report *report, const char *dir, const char *name, char *why,
                    size_t why_len);
void gcb_report_close(gcb_report *report);

/* ---- one backend ---------------------------------------------------------- */

typedef struct gcb_conn gcb_conn;             /* TLS facts of one connection (tls.c) */
typedef struct gcb_fault_conn gcb_fault_conn; /* one held fault connection (faults.c) */

typedef struct gcb_backend {
  gcb_spec *spec;
  struct event_base *base;
  SSL_CTX *ssl_ctx;
  int conn_index; /* SSL ex_data slot of the gcb_conn (from the process) */
  struct evhttp *http;
  struct evconnlistener *listener;
  int port;
  int refuse_fd; /* fault=refuse: bound, never listening (-1 otherwise) */
  gcb_report report;
  gcb_fault_conn *fault_conns; /* open fault connections, freed at stop */
  uint64_t connections;        /* TLS connections accepted so far (the report's "conn") */
} gcb_backend;

/* Builds the event for facts, writes it to the backend's report (if any) and
 * returns it (new reference) so a response can carry it; NULL on failure. */
json_t *gcb_report_event(gcb_backend *b, const gcb_facts *facts);

/* tls.c: the spec's server context; -1 with why filled on failure. */
int gcb_tls_context(gcb_backend *b, char *why, size_t why_len);
/* A server SSL for one accepted connection, with its gcb_conn attached. */
SSL *gcb_tls_new_ssl(gcb_backend *b);
/* The per-connection record of an SSL made by gcb_tls_new_ssl. */
gcb_conn *gcb_tls_conn(gcb_backend *b, SSL *ssl);
/* The client certificate of a connection: the verified peer, or the one
 * presented and rejected during the handshake; NULL when none was sent. */
X509 *gcb_tls_client_cert(gcb_backend *b, SSL *ssl);
/* The connection's number in its backend (1, 2, ...); 0 for NULL. */
uint64_t gcb_conn_number(const gcb_conn *conn);
/* Records that this connection's event was reported (returns 1 the first time). */
int gcb_conn_claim_report(gcb_conn *conn);
/* Registers the ex_data slot every backend of the process uses. */
int gcb_tls_conn_index(void);

/* server.c */
int gcb_backend_start(gcb_backend *b, gcb_spec *spec, struct event_base *base, int conn_index,
                      const char *report_dir, char *why, size_t why_len);
void gcb_backend_stop(gcb_backend *b);
/* Binds a listening TCP socket on 127.0.0.1, port 0; returns fd and port. */
int gcb_listen_loopback(int *port, char *why, size_t why_len);

/* http.c: the echo application on an already listening fd. */
int gcb_http_start(gcb_backend *b, int fd, char *why, size_t why_len);

/* faults.c: the fault on an already listening fd (all faults but refuse). */
int gcb_fault_start(gcb_backend *b, int fd, char *why, size_t why_len);
void gcb_fault_stop(gcb_backend *b);

#endif /* GCB_BACKEND_H */
