/* nginx.h - the nginx driver's own struct, shared by its two files:
 * nginx.c (the runtime: processes, applies, the driver operations) and
 * nginx_conf.c (the renderer: nginx.conf and the trust bundles of a
 * generation from the state). Not a public header: the driver's constructor
 * is in driver.h, its shared layer in real.h.
 */
#ifndef GH_DRIVERS_NGINX_H
#define GH_DRIVERS_NGINX_H

#include "front_lb.h"
#include "real.h"

#define NG_VERIFY_DEPTH 100

/* One nginx instance: the gateway. */
typedef struct ng_instance {
  char dir[GH_REAL_PATH];
  char conf[GH_REAL_PATH + 32];
  char error_log[GH_REAL_PATH + 32];
  gh_proc proc;
  int running;
  int port;         /* data plane, TLS */
  int control_port; /* plain HTTP: /generation */
} ng_instance;

typedef struct nginx_driver {
  gh_real real; /* first: the shared layer's state (real.h) */
  ng_instance gw;
  gh_front_lb *lb;                     /* the load balancer in front, while it runs */
  char server_cert[GH_REAL_PATH + 32]; /* the gateway's own identity */
  char server_key[GH_REAL_PATH + 32];
  gcert_buf placeholder_ca; /* PEM of the throwaway CA heading every bundle */
  char user_line[160];      /* "user root root;" when we run as root, else "" */
} nginx_driver;

/* The client certificate header's name (the configured one or WSO2's). */
const char *gh_nginx_cert_header(const nginx_driver *n);
/* Renders the gateway's generation gen: the gen-<gen>/ bundles (written) and
 * the text of nginx.conf (into b). 0, or -1 with why. */
int gh_nginx_render(const nginx_driver *n, long gen, gu_text *b, char *why, size_t why_len);

#endif
