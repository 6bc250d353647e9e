/* caddy.h - the caddy driver's own struct, shared by its two files: caddy.c
 * (the runtime: the process, the admin API, applies, the driver operations)
 * and caddy_conf.c (the renderer: Caddy's JSON configuration of a
 * generation). Not a public header: the constructor is in driver.h, the
 * shared layer in real.h.
 */
#ifndef GH_DRIVERS_CADDY_H
#define GH_DRIVERS_CADDY_H

#include <jansson.h>

#include "front_lb.h"
#include "real.h"

typedef struct caddy_driver {
  gh_real real; /* first: the shared layer's state (real.h) */
  char dir[GH_REAL_PATH];
  char config_path[GH_REAL_PATH + 32]; /* the configuration live on Caddy (restart loads it) */
  char log_path[GH_REAL_PATH + 32];    /* Caddy's stderr: its JSON log */
  char server_cert[GH_REAL_PATH + 32]; /* the gateway's own identity */
  char server_key[GH_REAL_PATH + 32];
  char *placeholder_ca_b64; /* base64 DER of a throwaway CA heading every pool */
  char nginx[GH_REAL_PATH]; /* the load balancer in front is nginx (front_lb.h) */
  char user_line[160];
  gh_proc proc;
  int running;
  int port;         /* data plane, TLS */
  int control_port; /* plain HTTP: /generation */
  int admin_port;   /* Caddy's admin API (POST /load) */
  gh_front_lb *lb;
} caddy_driver;

/* The client certificate header's name (the configured one or WSO2's). */
const char *gh_caddy_cert_header(const caddy_driver *c);
/* Caddy's configuration of generation gen (a new reference), or NULL with
 * why. A certificate upload that is not certificates is rendered as the
 * bytes it was, for Caddy to refuse. */
json_t *gh_caddy_render(const caddy_driver *c, long gen, char *why, size_t why_len);

#endif
