/* front_lb.h - the load balancer in front of a gateway (GH_CAP_LB_IN_FRONT),
 * shared by the nginx and sim drivers, and the nginx pieces it shares with
 * the nginx driver.
 *
 * WSO2 gateways run behind load balancers that terminate the client's TLS,
 * verify its certificate and forward it in a header (nginx:
 * `proxy_set_header X $ssl_client_escaped_cert`, NGINX.md). The balancer
 * here is that nginx, run as its own instance for a case:
 *
 *   - its files in spec->dir (made 0700): nginx.conf, error.log (level
 *     info), access.log, stderr.log, nginx.pid, client-ca.pem, tmp/;
 *   - started with the supervisor (daemon off, one worker) under the case's
 *     fake clock, libfaketime kept in the worker's environment, like the
 *     gateway; stopped by pid (SIGTERM to its process group, 3 s bounded,
 *     then SIGKILL), so nothing outlives the case;
 *   - listens on 127.0.0.1 at a port found free (bind port 0, read, close);
 *     a port taken meanwhile ("Address already in use") is probed again, up
 *     to 5 times; it is ready once its master has started its worker (the
 *     listening socket is bound by then: "start worker process" in
 *     error.log), a bounded real wait;
 *   - toward clients: spec's server identity, `ssl_verify_client optional`
 *     against spec->client_trust_pem (a throwaway CA heads the bundle, so an
 *     empty trust still loads and trusts nothing); an untrusted or expired
 *     certificate is nginx's 400 (gh_front_lb_rejects);
 *   - toward the gateway (https://127.0.0.1:gateway_port, name localhost):
 *     the gateway's certificate verified against spec->gateway_trust_pem, the
 *     balancer's own certificate presented (spec->identity_pem), no TLS
 *     session reuse, and `proxy_set_header <header> $ssl_client_escaped_cert`,
 *     which replaces whatever header the client sent (a client without a
 *     verified certificate forwards none).
 */
#ifndef GH_FRONT_LB_H
#define GH_FRONT_LB_H

#include <stddef.h>

#include "driver.h"
#include "gcert.h"
#include "gutil.h"

typedef struct gh_front_lb_spec {
  const char *nginx;             /* the nginx program (a path: gh_nginx_find) */
  const char *dir;               /* the balancer's directory (made when missing) */
  const char *clock_file;        /* the case's libfaketime file */
  const char *faketime_lib;      /* libfaketimeMT.so.1 */
  const char *user_line;         /* gh_nginx_user_line's, or "" */
  const char *server_cert;       /* PEM: what clients see */
  const char *server_key;        /* PEM */
  const char *client_trust_pem;  /* clients are verified (optional) against it; NULL: none */
  int gateway_port;              /* the gateway's HTTPS port on 127.0.0.1 */
  const char *gateway_trust_pem; /* the gateway's certificate is verified against it */
  const char *identity_pem;      /* chain + key the balancer presents to the gateway */
  const char *header;            /* the client certificate header */
} gh_front_lb_spec;

typedef struct gh_front_lb gh_front_lb;

/* Starts a balancer and waits until it listens. NULL with why (the
 * balancer's error log line when nginx refused or ended). */
gh_front_lb *gh_front_lb_start(const gh_front_lb_spec *spec, char *why, size_t why_len);
/* Its HTTPS port on 127.0.0.1, or -1 (NULL, or not running). */
int gh_front_lb_port(const gh_front_lb *lb);
/* Stops it by pid and frees it (NULL: nothing to do). 0, or -1 with why. */
int gh_front_lb_stop(gh_front_lb *lb, char *why, size_t why_len);
/* The last max bytes of its error log (malloc'd), or NULL. */
char *gh_front_lb_log_tail(const gh_front_lb *lb, size_t max);

/* The classes the balancer answers itself, for ops.front_rejects: a client
 * certificate it cannot verify is nginx's 400 (nginx finishes the handshake
 * and answers, where WSO2 fails it; README.md finding 1). */
extern const gh_reject_answer gh_front_lb_rejects[GH_REJECT_COUNT];

/* ---- nginx pieces the nginx driver shares with the balancer ---------------------------- */

/* 1 when text can sit inside a double-quoted nginx string as is. */
int gh_nginx_safe(const char *text);
/* bin (a path, or a name looked up in PATH), or NULL: "nginx" in PATH, then
 * /usr/sbin/nginx. 0 with an executable path in out, or -1. */
int gh_nginx_find(const char *bin, char *out, size_t out_len);
/* "user NAME GROUP;" when we run as root (nginx would otherwise switch its
 * workers to nobody, who cannot read the case's 0700 work directory), else "". */
void gh_nginx_user_line(char *out, size_t out_len);
/* The directives every nginx.conf of ours starts with, up to an open
 * `http {`: daemon off, one worker, pid and error log in dir, the user line,
 * libfaketime's environment kept for the workers, temp paths under dir/tmp,
 * the access log. title goes into the first comment line. */
void gh_nginx_conf_head(gu_text *b, const char *dir, const char *error_log, const char *user_line,
                        const char *title);
/* A certificate (and, key_pem non-NULL, its key) made with the factory,
 * self-signed, valid from ten years before to a century after the wall clock
 * (so any fake epoch a case picks is inside it); a server certificate names
 * localhost and 127.0.0.1. 0, or -1 with why. */
int gh_self_signed_identity(gcert_kind kind, const char *subject, gcert_buf *cert_pem,
                            gcert_buf *key_pem, char *why, size_t why_len);

#endif
