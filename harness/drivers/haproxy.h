/* haproxy.h - the haproxy driver's own struct and rendered configuration,
 * shared by its two files: haproxy.c (the runtime: processes, the runtime
 * API, applies, the driver operations) and haproxy_conf.c (the renderer).
 * Not a public header: the constructor is in driver.h, the shared layer in
 * real.h.
 */
#ifndef GH_DRIVERS_HAPROXY_H
#define GH_DRIVERS_HAPROXY_H

#include <sys/un.h>

#include "real.h"

#define HAP_DIR_LEN   (GH_REAL_PATH - 96) /* room for a file name after it */
#define HAP_MAX_FILES (GH_REAL_MAX_APIS * 3 + 8)
#define HAP_LUA_FILE  "gatecert-auth.lua"

/* A file the configuration names, with what HAProxy can do to it at run time. */
typedef enum file_kind { FILE_CA_BIND, FILE_CA_SERVER, FILE_ACL, FILE_STATIC } file_kind;

typedef struct hap_file {
  char path[GH_REAL_PATH];
  file_kind kind;
  int runtime; /* CA_SERVER: the server line has crt */
  char *content;
  size_t len;
} hap_file;

/* A rendered state: the configuration and the files it names. */
typedef struct rendered {
  char *config; /* with "%GENERATION%" where the control frontend answers */
  hap_file files[HAP_MAX_FILES];
  size_t count;
} rendered;

typedef struct hap_driver {
  gh_real real; /* first: the shared layer's state (real.h) */
  char dir[HAP_DIR_LEN];
  char lb_dir[HAP_DIR_LEN];
  char config_path[GH_REAL_PATH];
  char log_path[GH_REAL_PATH];
  char identity_path[GH_REAL_PATH];
  char lb_config_path[GH_REAL_PATH];
  char lb_log_path[GH_REAL_PATH];
  char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  char sock_dir[64]; /* a short directory of our own when the work dir is too long */
  char *identity_pem;
  char *throwaway_ca_pem; /* what an empty CA bundle holds */
  gh_proc proc;
  gh_proc lb_proc;
  int running;
  int lb_running;
  int https_port;
  int control_port;
  int lb_port;
  int lb_control_port;
  rendered live; /* what HAProxy runs (config text and files) */
  int has_live;
  long reloads;
  long runtime_commits;
  int reload_only; /* GATECERT_HAPROXY_RELOAD_ONLY: never the runtime API (to compare) */
} hap_driver;

/* The desired state as a configuration and files (in memory). 0, or -1 (out of memory). */
int gh_haproxy_render(const hap_driver *h, rendered *r);
void gh_haproxy_rendered_free(rendered *r);
/* The configuration text with its generation (malloc'd), or NULL. */
char *gh_haproxy_with_generation(const char *config, long generation);
/* Writes the load balancer's configuration and client CA bundle. 0, or -1 with why. */
int gh_haproxy_write_lb_config(const hap_driver *h, char *why, size_t why_len);
/* Whether the newline-separated list text holds line. */
int gh_haproxy_has_line(const char *text, const char *line);

#endif
