/* real.h - what every real-gateway driver shares (nginx, haproxy; the next
 * product - Apache, Caddy - is a renderer and a runtime file on top of it).
 *
 * A real gateway driver is the shared layer here plus a small ops table
 * (gh_real_ops): how the product renders and applies the desired state, and
 * the product-specific checks. The layer holds:
 *   - the state model: the case's gateway config, the APIs (parsed endpoint
 *     URL, security, per-API backend TLS), the endpoint certificates and the
 *     client certificates by alias, the generation live on the gateway, the
 *     apply statistics and the introspector (tokens.h) of OAuth2 APIs;
 *   - the admin operations of gh_driver_ops on that state
 *     (GH_REAL_ADMIN_OPS): each checks its input, changes the state, asks the
 *     driver's apply to make it live and undoes the change when the product
 *     refused it (400 with the product's first error line) or broke (-1);
 *   - upload normalising: PEM or DER certificates become the PEM text a
 *     product reads, anything else is kept as it came for the product to
 *     judge (ops.judge_upload, or its config test at apply);
 *   - the programs: finding one (PATH, gu_find_program), running one with its
 *     output captured and a timeout (its version, its config test: "-t",
 *     "-c", and the first error line of what it printed);
 *   - loopback ports (probed free, gu_free_port) and the control endpoint a
 *     driver renders into every configuration: a plain-HTTP port answering
 *     the generation number, polled on fresh connections (20 ms steps, 5 s
 *     cap) until the new generation answers and the old one no longer serves.
 *
 * A driver's own struct starts with a gh_real (its first member), and the
 * gh_driver's impl points at it, so the shared operations find the state.
 * Everything here runs in the runner's worker for one case at a time; real
 * time is only used for bounded polls of real events, never for fake time.
 */
#ifndef GH_REAL_H
#define GH_REAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "driver.h"
#include "gutil.h"
#include "supervisor.h"
#include "tokens.h"

#define GH_REAL_PATH         1024
#define GH_REAL_MAX_APIS     64
#define GH_REAL_MAX_CERTS    256
#define GH_REAL_POLL_STEP_MS 20
#define GH_REAL_CONFIRM_MS   5000
#define GH_REAL_RUN_MS       10000 /* a version or config test run */

/* ---- the state model ------------------------------------------------------------------ */

typedef struct gh_real_url {
  char scheme[8]; /* lower case */
  char host[256]; /* lower case */
  int port;       /* the scheme's default when the URL has none */
  char path[512]; /* without trailing slashes; "" for the root */
} gh_real_url;

/* "scheme://host[:port]/path" into its parts (libcurl's URL parser). 0, or -1. */
int gh_real_parse_url(const char *text, gh_real_url *out);

typedef struct gh_real_api {
  char *name;
  char *context;
  char *version;
  char *url; /* the endpoint as given */
  gh_real_url u;
  int default_version;
  int mtls;         /* security has mutualssl: the request needs a pinned certificate */
  int introspected; /* OAuth2 in play: gatecert-introspect decides */
  char *trust_pem;  /* GH_CAP_PER_API_BACKEND_TLS: this API's own trust (a path), or NULL */
  char *key_pem;    /* ... its own identity (a path or "none"), or NULL */
  int id;           /* stable for the case: names a product's files and sections */
} gh_real_api;

/* An endpoint certificate (endpoint set) or a client certificate (api set). */
typedef struct gh_real_cert {
  char *alias;
  char *endpoint; /* as given */
  char *api;
  char *tier;
  char *bytes; /* PEM of the upload's certificates, or the upload as it came; NUL-terminated */
  size_t len;
  X509 *first; /* the upload's first certificate (its pins); NULL when it holds none */
} gh_real_cert;

typedef struct gh_real gh_real;

/* What a product adds to the shared layer. */
typedef struct gh_real_ops {
  const char *product; /* "nginx": in messages */
  /* an upload whose PEM also holds a private key: 1 still certificates (the
   * key written after them), 0 not certificates (judged as it came) */
  int keep_keys;
  /* Product limits on a new API (a is filled in): 0 fine, 1 refused (r set). NULL: none. */
  int (*check_api)(gh_real *g, const gh_real_api *a, gh_admin_result *r);
  /* An upload that is not PEM or DER certificates: 0 accepted as it is, 1
   * refused (msg: the answer's description), -1 could not judge (msg).
   * NULL: kept, and the product's config test judges it at apply. */
  int (*judge_upload)(gh_real *g, const gh_real_cert *c, char *msg, size_t msg_len);
  /* Makes the state live (force: a full reload even when nothing changed). 0
   * applied (generation and statistics updated), 1 the product refused the
   * configuration (refusal: its first error line; what ran stays live), -1
   * broken (why). */
  int (*apply)(gh_real *g, int force, char *refusal, size_t refusal_len, char *why, size_t why_len);
} gh_real_ops;

struct gh_real {
  const gh_real_ops *ops;
  char bin[GH_REAL_PATH]; /* the product's program */
  gh_gateway_config cfg;  /* borrowed strings, valid for the case */
  long generation;        /* live on the gateway */
  gh_real_api apis[GH_REAL_MAX_APIS];
  size_t api_count;
  int next_api_id;
  gh_real_cert certs[GH_REAL_MAX_CERTS]; /* endpoint certificates */
  size_t cert_count;
  gh_real_cert clients[GH_REAL_MAX_CERTS];
  size_t client_count;
  gh_tokens *tokens; /* OAuth2: key managers, subscriptions, gatecert-introspect */
  long applies;      /* apply_stats, since the last start */
  double apply_ms;
};

/* Finds the program (bin: a path or a name in PATH; NULL: name in PATH, then
 * fallback) and makes the introspector. 0, or -1 with why. */
int gh_real_init(gh_real *g, const gh_real_ops *ops, const char *bin, const char *name,
                 const char *fallback, char *why, size_t why_len);
/* Frees the state and the introspector. */
void gh_real_free(gh_real *g);
/* A new case: the state emptied, cfg kept, generation 1, statistics zeroed,
 * the introspector reset. */
void gh_real_reset(gh_real *g, const gh_gateway_config *cfg);
/* The state's lookups. */
gh_real_api *gh_real_find_api(gh_real *g, const char *name);
/* The SSL profile for host:port of u, or NULL. */
const gh_driver_profile *gh_real_profile_for(const gh_real *g, const gh_real_url *u);
/* 1 when an API is introspected (OAuth2). */
int gh_real_any_introspected(const gh_real *g);
/* apply's bookkeeping: one more apply, taking the real time since t0 ms. */
void gh_real_count_apply(gh_real *g, double t0);

/* The admin operations (gh_driver_ops members) on the state, and the ones
 * every real gateway answers alike. d->impl points at the driver's gh_real. */
int gh_real_create_api(gh_driver *d, const gh_api_desc *api, gh_admin_result *r, char *why,
                       size_t why_len);
int gh_real_delete_api(gh_driver *d, const char *name, gh_admin_result *r, char *why,
                       size_t why_len);
int gh_real_upload_cert(gh_driver *d, const char *alias, const char *endpoint, const void *data,
                        size_t len, gh_admin_result *r, char *why, size_t why_len);
int gh_real_replace_cert(gh_driver *d, const char *alias, const void *data, size_t len,
                         gh_admin_result *r, char *why, size_t why_len);
int gh_real_delete_cert(gh_driver *d, const char *alias, gh_admin_result *r, char *why,
                        size_t why_len);
int gh_real_upload_client_cert(gh_driver *d, const char *api, const char *alias, const char *tier,
                               const void *data, size_t len, gh_admin_result *r, char *why,
                               size_t why_len);
int gh_real_delete_client_cert(gh_driver *d, const char *api, const char *alias, gh_admin_result *r,
                               char *why, size_t why_len);
int gh_real_add_key_manager(gh_driver *d, const gh_key_manager_desc *km, gh_admin_result *r,
                            char *why, size_t why_len);
int gh_real_subscribe(gh_driver *d, const char *application, const char *api, const char *tier,
                      const char *key_manager, gh_admin_result *r, char *why, size_t why_len);
/* The off-schedule reload: the same state applied again, forced. */
int gh_real_reload(gh_driver *d, char *why, size_t why_len);
void gh_real_apply_stats(gh_driver *d, long *applies, double *apply_ms);
/* -1: the runner counts from the case epoch. */
int64_t gh_real_start_ms(gh_driver *d);
/* The products read the (faked) clock at every event: nothing to wait for. */
int gh_real_clock_sync(gh_driver *d, int64_t fake_ms, char *why, size_t why_len);
/* No secrets. */
const char *const *gh_real_secrets(gh_driver *d);

/* What every driver on the layer can do: the state and admin operations here,
 * OAuth2 through tokens.h, client mTLS and header mode in its renderer, a
 * front load balancer, state kept in its files over a restart. */
#define GH_REAL_CAPS                                                                               \
  (GH_CAP_RUNTIME_BACKEND_TRUST | GH_CAP_BACKEND_MTLS | GH_CAP_BASE_TRUST_STORE |                  \
   GH_CAP_RESTART_KEEPS_STATE | GH_CAP_CLIENT_MTLS | GH_CAP_HEADER_MODE |                          \
   GH_CAP_PER_API_BACKEND_TLS | GH_CAP_LB_IN_FRONT | GH_CAP_OAUTH2 | GH_CAP_AUTH_FAULT_CODES |     \
   GH_CAP_FAKE_CLOCK)

/* The members of a real gateway's gh_driver_ops that the layer provides. */
#define GH_REAL_ADMIN_OPS                                                                          \
  .start_ms = gh_real_start_ms, .clock_sync = gh_real_clock_sync,                                  \
  .create_api = gh_real_create_api, .delete_api = gh_real_delete_api,                              \
  .upload_cert = gh_real_upload_cert, .replace_cert = gh_real_replace_cert,                        \
  .delete_cert = gh_real_delete_cert, .reload = gh_real_reload,                                    \
  .add_key_manager = gh_real_add_key_manager, .upload_client_cert = gh_real_upload_client_cert,    \
  .delete_client_cert = gh_real_delete_client_cert, .subscribe = gh_real_subscribe,                \
  .apply_stats = gh_real_apply_stats, .secrets = gh_real_secrets

/* ---- upload normalising --------------------------------------------------------------- */

/* c->bytes, c->len and c->first from an upload (see gh_real_ops.keep_keys).
 * 1 certificates, 0 not certificates (bytes as they came), -1 out of memory. */
int gh_real_normalise(const void *data, size_t len, int keep_keys, gh_real_cert *c);
/* Frees what a certificate record holds and empties it. */
void gh_real_cert_free(gh_real_cert *c);
/* The PEM text of one certificate (malloc'd, NUL-terminated, *len set), or NULL. */
char *gh_real_cert_pem(X509 *cert, size_t *len);
/* The first certificate of a PEM or DER file (the caller frees it), or NULL. */
X509 *gh_real_file_first(const char *path);
/* Lower-case hex of a SHA-1 (DER) of cert into out[41]; 0, or -1. */
int gh_real_sha1(X509 *cert, char out[41]);

/* ---- files ------------------------------------------------------------------------------ */

/* Writes atomically (private_data: 0600). 0, or -1 with why. */
int gh_real_save(const char *path, const void *data, size_t len, int private_data, char *why,
                 size_t why_len);
/* Writes a complete text (0644) and frees it; out of memory when it failed. */
int gh_real_save_text(const char *path, gu_text *b, char *why, size_t why_len);
/* Appends text, followed by a newline when it lacks one. */
void gh_real_add_text(gu_text *b, const void *data, size_t len);
/* Appends a file's bytes the same way. 0, or -1 with why. */
int gh_real_add_file(gu_text *b, const char *path, char *why, size_t why_len);
/* mkdir 0700 unless it exists. 0, or -1 with why. */
int gh_real_mkdir(const char *path, char *why, size_t why_len);
/* The size of a file, 0 when it has none. */
long gh_real_file_size(const char *path);
/* What a log got since offset (malloc'd), or NULL. */
char *gh_real_log_since(const char *path, long offset);
/* 1 when the last bytes of a log hold needle. */
int gh_real_log_says(const char *path, const char *needle);
/* base's text followed by "--- title ---" and extra (both freed); base cut
 * to its newest bytes so that the whole stays within max. */
char *gh_real_tail_join(char *base, char *extra, const char *title, size_t max);

/* ---- programs --------------------------------------------------------------------------- */

/* bin (a path, or a name in PATH); NULL: name in PATH, then fallback when
 * executable. 0 with the path in out, or -1 with why. */
int gh_real_find(const char *bin, const char *name, const char *fallback, char *out, size_t out_len,
                 char *why, size_t why_len);
/* Runs bin with args (argv[1..], NULL-terminated), stdout and stderr into out
 * (at most 1 MiB kept), waiting at most timeout_ms (then SIGKILL: an error).
 * 0 with *status (waitpid's), or -1 with why. */
int gh_real_run(const char *bin, const char *const *args, int timeout_ms, gu_text *out, int *status,
                char *why, size_t why_len);
/* `bin -v`: out gets prefix, then (keep_marker) marker, then the word after
 * marker in what it printed ("nginx/1.22.1", "HAProxy 2.6.12"). 0, or -1. */
int gh_real_version(const char *bin, const char *marker, int keep_marker, const char *prefix,
                    char *out, size_t out_len, char *why, size_t why_len);
/* The first line of text holding one of markers (NULL-terminated; else the
 * first line), at most 400 bytes, into out. */
void gh_real_first_error(const char *text, const char *const *markers, char *out, size_t out_len);
/* The product's config test (bin with args, "-t", "-c ..."): 0 valid, 1
 * refused (refusal: the first line with one of markers), -1 could not run. */
int gh_real_config_test(const char *bin, const char *const *args, const char *const *markers,
                        char *refusal, size_t refusal_len, char *why, size_t why_len);

/* ---- ports and the control endpoint --------------------------------------------------- */

/* Two distinct free loopback ports. 0, or -1 with why. */
int gh_real_probe_ports(int *a, int *b, char *why, size_t why_len);
/* GET http://127.0.0.1:port<path> on a fresh connection: 0 when it answered
 * 200 (its body, cut to out_len - 1 bytes, in out), else -1. */
int gh_real_control_get(int port, const char *path, long timeout_ms, char *out, size_t out_len);

/* What gh_real_await waits for. */
typedef struct gh_real_await_spec {
  const char *product; /* in the message */
  gh_proc *proc;       /* the product's master: ending is a failure */
  int port;            /* the control endpoint */
  const char *path;    /* "/generation" */
  const char *want;    /* the answer that says the new generation is live */
  /* after the answer: 1 once the previous generation no longer serves; NULL: at once */
  int (*settled)(void *ctx);
  /* the product's own word that it gave up (a log line), or NULL */
  const char *(*gave_up)(void *ctx);
  void *ctx;
  const char *log_path; /* its tail goes into the message */
  long log_from;        /* ... from this offset */
} gh_real_await_spec;

/* Polls the control endpoint until it answers want and the old generation
 * settled (20 ms steps, 5 s cap). 0, or -1 with why (what it answered, the
 * log's tail). */
int gh_real_await(const gh_real_await_spec *s, char *why, size_t why_len);

#endif
