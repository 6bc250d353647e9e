/* driver.h - how the runner drives a gateway: one interface, many drivers.
 *
 * A driver turns the desired state of a case (the gateway settings, APIs,
 * endpoint certificates) into a running gateway and answers the runner's
 * operations. Each declares its capabilities; a case that needs one the
 * driver lacks is skipped with that capability's name as the reason, never
 * passed - unless the product the profile imitates has no such feature
 * at all (gh_product_not_applicable: the capability, the profile family, the
 * rule): then the case is reported not applicable to the profile, naming the
 * rule. A driver that has the capability (nginx has per-API backend TLS) runs
 * such a case all the same.
 *
 * Operations return 0 when the driver did its part (whatever HTTP status the
 * gateway answered, which is in the result) and -1 with why when the driver
 * or the gateway broke: that is a harness error, not a non-conformance. An
 * operation the driver finds it cannot do only at run time returns
 * GH_DRIVER_UNSUPPORTED with the reason in why: the runner skips the case with
 * that reason.
 *
 * Built in: `sim` (gatecert-sim, through its admin REST API with libcurl),
 * `exec` (any program speaking gatecert-exec/2 or /1, drivers/EXEC.md), and the
 * real gateways `nginx`, `haproxy` and `caddy` (drivers/README.md), which
 * render the desired state into their own configuration on the shared layer
 * of drivers/real.h.
 *
 * Rejections differ by product (README.md finding 1): a scenario asserts a
 * rejection class (expect.reject) and each driver maps it to its concrete
 * answer in its reject table, so no scenario is copied per product.
 */
#ifndef GH_DRIVER_H
#define GH_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/* Capabilities a driver declares (a case needing one it lacks is skipped),
 * as bits and as names. */
#define GH_CAP_RUNTIME_BACKEND_TRUST    0x001u /* endpoint certs added/removed at run time */
#define GH_CAP_DEFERRED_RELOAD_SCHEDULE 0x002u /* WSO2-style reload ticks */
#define GH_CAP_BACKEND_MTLS             0x004u /* identity toward backends per host:port */
#define GH_CAP_HOSTNAME_VERIFIER        0x008u /* WSO2's Strict/AllowAll/DefaultAndLocalhost */
#define GH_CAP_ADMIN_VALIDATION         0x010u /* WSO2 Publisher statuses and messages */
#define GH_CAP_OFF_SCHEDULE_RELOAD      0x020u /* reload now, off the schedule */
#define GH_CAP_RESTART_KEEPS_STATE      0x040u /* uploads survive a gateway restart */
#define GH_CAP_FAULT_CODES              0x080u /* WSO2 fault codes in error bodies */
#define GH_CAP_XML_FAULTS               0x100u /* the 2.x/3.x XML fault shape */
#define GH_CAP_BASE_TRUST_STORE         0x200u /* a trust store configured at start */
#define GH_CAP_CLIENT_MTLS              0x400u /* listener verify modes, client certs per API */
#define GH_CAP_OAUTH2                   0x800u /* a key manager's JWTs, applications, subscriptions */
#define GH_CAP_HEADER_MODE              0x1000u /* a client cert in a load balancer's header */
#define GH_CAP_THROTTLING               0x2000u /* tiers per client certificate or subscription */
#define GH_CAP_LISTENER_RELOAD_SCHEDULE                                                            \
  0x4000u                                   /* client certs wait for WSO2's two listener clocks */
#define GH_CAP_PER_API_BACKEND_TLS 0x8000u  /* an API's own backend trust and identity */
#define GH_CAP_HEADER_CERT_DECODE  0x10000u /* every header encoding decoded, matched by cert */
#define GH_CAP_LB_IN_FRONT         0x20000u /* a load balancer in front forwards the client cert */
#define GH_CAP_AUTH_FAULT_CODES                                                                    \
  0x40000u                           /* WSO2's authentication faults (9009xx) in 401/403 bodies */
#define GH_CAP_FAKE_CLOCK  0x80000u  /* the gateway's clock follows the case's libfaketime file */
#define GH_CAP_QUIRKS      0x100000u /* turns on a product version's reported bugs (quirks:) */
#define GH_CAP_SAP_OBJECTS 0x200000u /* SAP's trust stores, references and API providers */
#define GH_CAP_CLUSTER     0x400000u /* several nodes sharing one store (start_node, use_node) */

struct gh_driver_ops;

/* Rejection classes (expect.reject). */
typedef enum gh_reject {
  GH_REJECT_NONE = 0,
  GH_REJECT_CLIENT_CERT,     /* "client-cert": the listener refused the client's certificate
                              * (untrusted, expired, or missing where required) */
  GH_REJECT_UNAUTHENTICATED, /* "unauthenticated": the API's authentication failed */
  GH_REJECT_BACKEND_TLS,     /* "backend-tls": the TLS handshake with the backend failed
                              * (its certificate untrusted, or it refused the gateway) */
  GH_REJECT_COUNT
} gh_reject;

/* A driver's concrete answer to a rejection class. */
typedef struct gh_reject_answer {
  int tls_alert;          /* 1: the handshake fails (no HTTP status at all) */
  long status[4];         /* else: the acceptable statuses, 0-terminated */
  const char *fault_code; /* NULL: not checked */
} gh_reject_answer;

/* "client-cert", ...; NULL for GH_REJECT_NONE or out of range. */
const char *gh_reject_name(gh_reject cls);
/* 0 with *cls set, or -1 for an unknown name. */
int gh_reject_parse(const char *name, gh_reject *cls);
/* The answer of a driver to cls: its table's entry, or the simulator's when
 * the driver has no table. Never NULL for a class in range. */
const gh_reject_answer *gh_driver_reject(const struct gh_driver_ops *ops, gh_reject cls);
/* The same for a call through the load balancer in front (via_lb): the
 * balancer's answer where it decides (ops.front_rejects), else the gateway's. */
const gh_reject_answer *gh_driver_reject_via(const struct gh_driver_ops *ops, gh_reject cls,
                                             int via_lb);
/* The simulator's table (exec drivers speak WSO2's answers too). */
extern const gh_reject_answer gh_sim_rejects[GH_REJECT_COUNT];

/* A capability that is not applicable to a product: the product has no such
 * feature at all (WSO2 keeps backend TLS per host:port, never per API), so a
 * case that needs it is reported "not applicable to <profile> (rule <id>)" -
 * neither run nor counted as a gap of the driver - when the driver lacks the
 * capability (a driver that has it runs the case). */
typedef struct gh_cap_na {
  unsigned cap;       /* one GH_CAP_* bit; 0 ends a table */
  const char *family; /* a profile or a family word (profile.h): "wso2" is every WSO2 version */
  const char *rule;   /* the rule of simulator/rules.c that says why */
} gh_cap_na;

/* The products' own gaps, as gatecert-sim's rule table states them: per-API
 * backend TLS is not applicable to WSO2 (rule backend.ssl-profile-per-host-port)
 * nor to SAP (backend.api-provider-per-host-port). {0}-terminated. */
extern const gh_cap_na gh_product_not_applicable[];

/* "runtime-backend-trust", ...; NULL for an unknown bit. */
const char *gh_cap_name(unsigned cap);
/* 0 with *cap set, or -1 for an unknown name. */
int gh_cap_parse(const char *name, unsigned *cap);
/* The first entry of gh_product_not_applicable whose capability is one of
 * lacking (what a case needs and its driver has not) and whose family word
 * fits the canonical profile (gh_profile_match), or NULL. */
const gh_cap_na *gh_product_not_applicable_for(unsigned lacking, const char *profile);

#define GH_MAX_PROFILES 16

/* What an operation returns when the driver cannot do it (the case is skipped). */
#define GH_DRIVER_UNSUPPORTED (-2)

#define GH_MAX_LB           16 /* trusted load balancers */
#define GH_MAX_DRIVER_TIERS 32

/* A throttling tier. */
typedef struct gh_driver_tier {
  const char *name;
  long requests;
  int64_t window_s;
} gh_driver_tier;

/* One SSL profile, resolved to files and ports by the runner. */
typedef struct gh_driver_profile {
  const char *host;
  int port;
  const char *trust_pem; /* NULL: the sender trust store */
  const char *key_pem;   /* chain + key PEM, "none", or NULL (gateway default) */
  const char *verifier;  /* NULL: default */
} gh_driver_profile;

typedef struct gh_gateway_config {
  const char *work_dir;              /* the case's directory (the driver's files go here) */
  const char *clock_file;            /* libfaketime timestamp file of the case */
  const char *faketime_lib;          /* libfaketimeMT.so.1 */
  const char *profile;               /* "wso2", "sap" */
  const char *case_name;             /* the case, "[p=v,...]" for a matrix row */
  int64_t sender_reload_interval_ms; /* 0: default */
  const char *fault_format;          /* NULL, "json", "xml" */
  int64_t backend_timeout_ms;
  const char *base_trust_pem; /* NULL: empty base trust */
  gh_driver_profile profiles[GH_MAX_PROFILES];
  size_t profile_count;
  int has_default_profile;
  gh_driver_profile default_profile;
  /* client to gateway (scenario.h's gateway.listener, mutual_ssl, throttling):
   * NULL, -1 or 0 when not set, and then not written */
  const char *verify_client;           /* "none", "optional", "require" */
  int64_t profile_reload_interval_ms;  /* -1 */
  int64_t truststore_reload_period_ms; /* -1 */
  int64_t truststore_initial_delay_ms; /* -1 */
  const char *certificate_match;       /* "serial_issuer", "serial_subject" */
  int chain_validation;                /* -1, 0, 1 */
  int has_mutual_ssl;
  const char *certificate_header;
  int header_encode;                     /* -1, 0, 1 */
  int client_validation;                 /* -1, 0, 1 */
  char trusted_lb_sha256[GH_MAX_LB][65]; /* lower-case hex of each load balancer's DER */
  size_t trusted_lb_count;
  int has_throttling;
  int per_certificate; /* -1, 0, 1 */
  gh_driver_tier tiers[GH_MAX_DRIVER_TIERS];
  size_t tier_count;
  /* real gateways (ignored by the simulator, which never reuses upstream
   * TLS sessions and pins load balancers by trusted_lb_sha256) */
  const char *trusted_lb_pem[GH_MAX_LB]; /* each load balancer's certificate, PEM */
  int upstream_session_reuse;            /* -1: the product's default, 0, 1 */
  int upstream_keepalive;                /* -1: the product's default, 0, 1 (pooled backend
                                          * connections: nginx upstream keepalive) */
  const char *const *quirks; /* GH_CAP_QUIRKS: reported bugs to turn on (scenario quirks:) */
  size_t quirk_count;
  int nodes; /* GH_CAP_CLUSTER: the nodes the case starts (0 or 1: a single gateway, started
              * as before); start() starts node 1, start_node the others */
  const char *front_lb_key_pem; /* non-NULL: run a load balancer in front (GH_CAP_LB_IN_FRONT,
                                 * drivers/front_lb.h) presenting this chain + key to the
                                 * gateway; it verifies clients (optional) against
                                 * base_trust_pem and forwards the client certificate in
                                 * certificate_header */
} gh_gateway_config;

/* A key manager whose tokens the gateway accepts (gateway.oauth). */
typedef struct gh_key_manager_desc {
  const char *name;       /* GH_KEY_MANAGER_NAME */
  const char *issuer;     /* the tokens' iss */
  const char *alg;        /* "RS256", "ES256" */
  const char *public_pem; /* the signing key's public half, PEM */
} gh_key_manager_desc;

/* What a gateway answered to an admin operation. */
typedef struct gh_admin_result {
  long status;
  char *body; /* malloc'd, NUL-terminated (may be empty) */
} gh_admin_result;

void gh_admin_result_free(gh_admin_result *r);

/* SAP API Management's own objects (the sap_* scenario steps). */
typedef enum gh_sap_kind {
  GH_SAP_STORE_CERT = 1, /* a trust (or key_store: key) store entry: store, name,
                          * data/len, password (NULL: none); the store is made with its
                          * first entry */
  GH_SAP_REFERENCE,      /* a reference: name -> store (made, or repointed when the case
                          * made it already) */
  GH_SAP_PROVIDER,       /* an API provider: name, endpoint (its host:port), trust_store
                          * (a store or ref://<reference>) */
} gh_sap_kind;

typedef struct gh_sap_object {
  gh_sap_kind kind;
  const char *name;
  const char *store;
  const void *data;
  size_t len;
  const char *endpoint;
  const char *trust_store;
  int key_store;
  const char *password;
} gh_sap_object;

/* What every driver's operations share besides util's gu_fail (the reason in
 * why, -1 returned), gu_now_ms/gu_sleep_ms (real time, for bounded polls of
 * real events - never for fake time) and gu_free_port (gutil.h): */
/* The last max bytes of a file as a string (malloc'd; a log's tail for an
 * error message), or NULL when it cannot be read. */
char *gh_driver_file_tail(const char *path, size_t max);

struct json_t;
/* For drivers that answer admin calls themselves (nginx, haproxy): r gets
 * status and body's compact JSON (body is consumed; NULL: an empty body).
 * Returns 0, so `return gh_admin_answer(...)` ends an operation. */
int gh_admin_answer(gh_admin_result *r, long status, struct json_t *body);
/* The same with WSO2's error shape: {"code", "message", "description",
 * "moreInfo": "", "error": []}. */
int gh_admin_error(gh_admin_result *r, long status, const char *message, const char *description);

/* The path of a program of this build, relative to the running gatecert
 * (e.g. "../simulator/gatecert-sim"), or, installed (no such file there), the
 * program of that name beside gatecert in bin/: the default of --sim-bin and
 * --backend-bin. 0, or -1 when /proc/self/exe is unreadable or out is short. */
#define GH_SIM_SIBLING     "../simulator/gatecert-sim"
#define GH_BACKEND_SIBLING "../mock-backends/gatecert-backend"
int gh_sibling_program(const char *relative, char *out, size_t out_len);

typedef struct gh_api_desc {
  const char *name;
  const char *context;
  const char *version;
  const char *url; /* the backend endpoint */
  const char *const *security;
  size_t security_count;
  int default_version;
  /* GH_CAP_PER_API_BACKEND_TLS: this API's own backend trust (PEM bundle) and
   * identity toward its backend (chain + key PEM, or "none"); NULL: the
   * endpoint's (uploaded certs, SSL profiles) */
  const char *backend_trust_pem;
  const char *backend_key_pem;
} gh_api_desc;

typedef struct gh_driver gh_driver;

/* What a driver's destroy does: stops it (a failure to stop is not
 * reported: nothing is left to report it to), then free_impl(d->impl) and d.
 * NULL: nothing to do. */
void gh_driver_destroy_with(gh_driver *d, void (*free_impl)(void *impl));

/* A reload clock as the gateway reports it: ticks at first_ms + k * interval_ms
 * (k = 0, 1, ...; fake ms since the epoch). name: "sender", "listener",
 * "truststore". */
typedef struct gh_clock_schedule {
  const char *name;
  int64_t first_ms;
  int64_t interval_ms;
} gh_clock_schedule;
#define GH_MAX_CLOCKS 3

typedef struct gh_driver_ops {
  const char *name;
  unsigned caps;
  int (*start)(gh_driver *d, const gh_gateway_config *cfg, char *why, size_t why_len);
  int (*stop)(gh_driver *d, char *why, size_t why_len);
  int (*restart)(gh_driver *d, char *why, size_t why_len);
  /* The data plane's HTTPS port on 127.0.0.1. */
  int (*https_port)(gh_driver *d);
  /* The gateway's start on the fake clock (ms since the epoch), or -1 when
   * unknown (the runner then counts from the case epoch). */
  int64_t (*start_ms)(gh_driver *d);
  /* After the runner moved the clock to fake_ms: returns once the gateway
   * has seen that time (or a bounded real timeout passed: -1). */
  int (*clock_sync)(gh_driver *d, int64_t fake_ms, char *why, size_t why_len);
  /* The gateway's own reading of its clock (ms since the epoch), for the
   * runner's clock check (GH_CAP_FAKE_CLOCK): 0 with *ms, 1 when it has none
   * (the runner then reads the Date header of a data-plane answer), -1 broken.
   * NULL: the same as 1. */
  int (*clock_read)(gh_driver *d, int64_t *ms, char *why, size_t why_len);
  int (*create_api)(gh_driver *d, const gh_api_desc *api, gh_admin_result *r, char *why,
                    size_t why_len);
  int (*delete_api)(gh_driver *d, const char *name, gh_admin_result *r, char *why, size_t why_len);
  int (*upload_cert)(gh_driver *d, const char *alias, const char *endpoint, const void *data,
                     size_t len, gh_admin_result *r, char *why, size_t why_len);
  int (*replace_cert)(gh_driver *d, const char *alias, const void *data, size_t len,
                      gh_admin_result *r, char *why, size_t why_len);
  int (*delete_cert)(gh_driver *d, const char *alias, gh_admin_result *r, char *why,
                     size_t why_len);
  int (*reload)(gh_driver *d, char *why, size_t why_len);
  /* Securing APIs. NULL when the driver cannot: the case is skipped. The
   * runner registers the key manager after start (and after a restart only
   * if the driver's gateway forgot it: it must not). */
  int (*add_key_manager)(gh_driver *d, const gh_key_manager_desc *km, gh_admin_result *r, char *why,
                         size_t why_len);
  /* A client certificate for an API (by the name it was created under). */
  int (*upload_client_cert)(gh_driver *d, const char *api, const char *alias, const char *tier,
                            const void *data, size_t len, gh_admin_result *r, char *why,
                            size_t why_len);
  int (*delete_client_cert)(gh_driver *d, const char *api, const char *alias, gh_admin_result *r,
                            char *why, size_t why_len);
  /* Creates application on first use (consumer key = its name, mapped to
   * key_manager for production) and subscribes it to api with tier. r: the
   * first answer that was not 2xx, else the subscription's. */
  int (*subscribe)(gh_driver *d, const char *application, const char *api, const char *tier,
                   const char *key_manager, gh_admin_result *r, char *why, size_t why_len);
  /* Deploys api again (WSO2 4.x: POST .../apis/{apiId}/deploy-revision). NULL: the driver
   * cannot (the step then fails as unsupported). */
  int (*redeploy_api)(gh_driver *d, const char *api, gh_admin_result *r, char *why, size_t why_len);
  /* GH_CAP_SAP_OBJECTS: one of SAP API Management's own objects (its OData
   * service) - a trust store entry, a reference, an API provider. NULL when
   * the driver has none: the case is skipped. */
  int (*sap_object)(gh_driver *d, const gh_sap_object *o, gh_admin_result *r, char *why,
                    size_t why_len);
  /* GH_CAP_LB_IN_FRONT: the front load balancer's HTTPS port on 127.0.0.1
   * (calls with via: lb go there), or -1. NULL when the driver has none. */
  int (*front_port)(gh_driver *d);
  /* Real gateways: how many times the current case's state was applied to
   * the gateway (validate, reload, confirm the new generation live) and the
   * real time that took, since the last start. NULL: not counted. */
  void (*apply_stats)(gh_driver *d, long *applies, double *apply_ms);
  /* The answers to rejection classes, GH_REJECT_COUNT entries ([0] unused);
   * NULL: the simulator's (gh_sim_rejects). */
  const gh_reject_answer *rejects;
  /* Calls via the load balancer in front: the classes the balancer answers
   * itself (an entry with neither tls_alert nor a status: the gateway's);
   * NULL: all the gateway's. */
  const gh_reject_answer *front_rejects;
  /* The last max bytes of the gateway's log (malloc'd), or NULL. */
  char *(*log_tail)(gh_driver *d, size_t max);
  /* The gateway's reload clocks as it reports them (the HTML report's
   * timeline): how many it filled into out (at most GH_MAX_CLOCKS), or -1.
   * NULL: the runner uses the schedule the scenario implies. */
  int (*clock_schedule)(gh_driver *d, gh_clock_schedule *out, char *why, size_t why_len);
  /* GH_CAP_CLUSTER (NULL without it). start_node starts node (2..cfg.nodes,
   * in order) of the cluster start() began with node 1: the same product and
   * settings, its own ports and log, the store shared with the others, under
   * the same fake clock; its reload clocks run from its own start. use_node
   * makes every later operation address node (1..started): https_port,
   * start_ms, clock_sync, clock_read, the admin operations, reload, restart
   * (that node alone), log_tail, clock_schedule. stop stops every node.
   * use_node: 0, or -1 for a node that is not running. */
  int (*start_node)(gh_driver *d, int node, char *why, size_t why_len);
  int (*use_node)(gh_driver *d, int node);
  /* The secrets the driver uses (admin password, ...), NULL-terminated, for
   * the reports to redact. */
  const char *const *(*secrets)(gh_driver *d);
  void (*destroy)(gh_driver *d);
} gh_driver_ops;

struct gh_driver {
  const gh_driver_ops *ops;
  void *impl;
};

/* The simulator driver: sim_bin is gatecert-sim; extra_args (NULL-terminated,
 * may be NULL) are added to its command line (e.g. a --break self-test).
 * NULL on allocation failure. */
gh_driver *gh_driver_sim_new(const char *sim_bin, const char *const *extra_args);

/* What the exec driver's program said about itself, for the reports. */
typedef struct gh_exec_info {
  char implementation[160]; /* "exec:<program's base name>" */
  char version[160];        /* "<name> <version>" from its hello */
} gh_exec_info;

/* The exec driver: program (a path, or a name looked up in PATH) speaks
 * gatecert-exec/2 or /1 (drivers/EXEC.md); its hello is run here, with profile
 * ("wso2", "sap") in its environment. NULL with why when the program cannot
 * be run or its hello is not right. */
gh_driver *gh_driver_exec_new(const char *program, const char *profile, gh_exec_info *info,
                              char *why, size_t why_len);

/* What a real gateway driver found about its program, for the reports. */
typedef struct gh_real_info {
  char version[160]; /* "nginx/1.22.1", "HAProxy 2.6.12-1+deb12u4" */
} gh_real_info;

/* The nginx driver (drivers/nginx.c): bin is the nginx program (a path, or
 * NULL for "nginx" in PATH, then /usr/sbin/nginx). Its own instance per case
 * as the current user under the case's fake clock, config and files in the
 * case's work directory, loopback ports probed free. NULL with why when
 * nginx cannot be run. */
gh_driver *gh_driver_nginx_new(const char *bin, gh_real_info *info, char *why, size_t why_len);

/* The haproxy driver (drivers/haproxy.c): the same for HAProxy (master-worker
 * mode, admin socket in the work directory). */
gh_driver *gh_driver_haproxy_new(const char *bin, gh_real_info *info, char *why, size_t why_len);

/* The caddy driver (drivers/caddy.c): the same for Caddy 2.6 (bin: NULL for
 * "caddy" in PATH, then /usr/bin/caddy), configured through its admin API
 * (POST /load). Caddy is a Go program on the real clock: no GH_CAP_FAKE_CLOCK. */
gh_driver *gh_driver_caddy_new(const char *bin, gh_real_info *info, char *why, size_t why_len);

#endif
