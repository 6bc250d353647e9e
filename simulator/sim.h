/* sim.h - the parts of gatecert-sim and how they meet.
 *
 * gatecert-sim is the reference gateway. Its public interface is its command
 * line, its READY line, the admin REST API and the data plane (README.md
 * beside this file); this header is the contract between its source files and
 * is not included from anywhere else except its tests.
 *
 * The files, in layers (calls only go down; README.md, "Source files"):
 *
 *   base     sim_limits.h (every limit), rest.c/rest.h (REST answers, paths,
 *            forms, uploads), clock.c, schedule.c, store.c, multipart.c,
 *            log.c, rules.c, faults.c, options.c, token.c/token.h (bearer
 *            check), chain.c (security.h: the chain's verdict)
 *   domain   trust.c (sender trust, its changed mark), apis.c, clientauth.c
 *            (listener TLS, client certificates), oauth.c, sap.c, throttle.c
 *   clocks   reload.c: the three schedules; applies what the domains say is
 *            pending
 *   admin    admin_certs.c, admin_apis.c, admin_clientcerts.c, admin_oauth.c,
 *            admin_odata.c, admin_common.c, control.c (admin.h), each calling
 *            its domain module (clientauth.h, oauth.h, sap.h); admin.c (the
 *            route table and authentication)
 *   top      security.c, proxy.c, main.c; introspect.c (gatecert-introspect)
 *
 * Everything lives in one context struct (gsim); no global mutable state.
 * The event loop is single-threaded.
 */
#ifndef GSIM_SIM_H
#define GSIM_SIM_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "gcert.h"
#include "gjwt.h"
#include "multipart.h"
#include "rest.h"
#include "rules.h"
#include "sim_limits.h"
#include "store.h"

#define GSIM_DEFAULT_RELOAD_S   600
#define GSIM_DEFAULT_TIMEOUT_MS 30000

typedef enum gsim_fault_format { GSIM_FAULT_JSON = 0, GSIM_FAULT_XML } gsim_fault_format;

/* WSO2's sender hostname verifiers (synapse `HostnameVerifier`). */
typedef enum gsim_verifier {
  GSIM_VERIFY_DEFAULT = 0,           /* CN or SANs, wildcards over several labels */
  GSIM_VERIFY_STRICT,                /* CN or SANs, a wildcard covers one label */
  GSIM_VERIFY_ALLOW_ALL,             /* no host name check */
  GSIM_VERIFY_DEFAULT_AND_LOCALHOST, /* Default, but localhost names always pass */
} gsim_verifier;

const char *gsim_verifier_name(gsim_verifier verifier);
/* Parses WSO2's names ("Strict", "AllowAll", "DefaultAndLocalhost"); any
 * other value is Default, as in synapse. */
gsim_verifier gsim_verifier_parse(const char *name);
/* Whether a backend's host name is checked under verifier: 1 with the
 * X509_CHECK_FLAG_* for X509_check_host in *flags (Strict: a wildcard covers one
 * label; Default: several), 0 when it is not checked (AllowAll; localhost,
 * 127.0.0.1 and ::1 under DefaultAndLocalhost). */
int gsim_verifier_host_flags(gsim_verifier verifier, const char *host, unsigned *flags);

/* One SSL profile as configured: servers "host:port" (or the default). */
typedef struct gsim_profile_spec {
  char *servers[GSIM_MAX_SERVERS];
  size_t server_count;
  int is_default;
  char *trust_store;    /* NULL: the sender trust store (base + uploaded certs) */
  char *trust_password; /* JKS/PKCS#12 password, NULL when none */
  char *key_store;      /* PEM (chain + key), JKS or PKCS#12; NULL: no identity */
  char *key_password;
  int key_store_none; /* the default profile was told to present nothing */
  gsim_verifier verifier;
} gsim_profile_spec;

typedef enum gsim_verify_client {
  GSIM_VERIFY_CLIENT_NONE = 0,
  GSIM_VERIFY_CLIENT_OPTIONAL, /* ask; no certificate is fine, an untrusted one fails */
  GSIM_VERIFY_CLIENT_REQUIRE,  /* a client without a certificate fails the handshake */
} gsim_verify_client;

/* How a presented client certificate is matched to an API's certificates. */
typedef enum gsim_cert_match {
  GSIM_MATCH_SERIAL_ISSUER = 0, /* WSO2 2.6 to 4.2 */
  GSIM_MATCH_SERIAL_SUBJECT,    /* WSO2 since 2025 */
} gsim_cert_match;

/* A throttling tier: requests per window (requests 0: unlimited). */
typedef struct gsim_tier {
  char name[GSIM_TIER_MAX];
  long requests;
  long window_s;
} gsim_tier;

typedef struct gsim_options {
  gsim_profile profile;
  char *state_dir;
  int fresh_store; /* --fresh-store: replace the store with an empty one, on purpose */
  char *admin_user;
  char *admin_password; /* from --admin-password-file; cleansed at exit */
  long sender_reload_s; /* after raising to the minimum */
  long sender_reload_asked_s;
  char *server_cert;
  char *server_key;
  char *trust;          /* base sender trust store (PEM or JKS) */
  char *trust_password; /* from --trust-password-file */
  char *config;
  char *log_path; /* NULL: stderr */
  gsim_fault_format fault_format;
  int http_listener;
  int break_immediate_reload; /* --break immediate-reload: a deliberate bug (self-test) */
  gsim_rules rules;           /* the rule table resolved for profile (and --break) */
  long backend_timeout_ms;
  int backend_keepalive; /* pool backend connections (default 1; backend_pool.c) */
  long backend_idle_ms;  /* reuse a pooled connection only this long after its release */
  gsim_profile_spec profiles[GSIM_MAX_PROFILES];
  size_t profile_count;
  /* client to gateway mutual TLS (config "listener"; clientauth.c) */
  gsim_verify_client verify_client; /* default optional, as WSO2 ships */
  long listener_reload_s;           /* SSL profile fileReadInterval after the 60 s minimum */
  long listener_reload_asked_s;     /* default 600 */
  long truststore_period_s;         /* CertificateReLoaderConfiguration/Period, default 600 */
  long truststore_delay_s;          /* its first run after start: 60 */
  char *client_trust;               /* base listener trust store (PEM/JKS); NULL: --trust */
  char *client_trust_password;
  gsim_cert_match cert_match; /* serial + issuer DN (default) or serial + subject DN */
  int chain_validation;       /* enable_certificate_chain_validation */
  long max_client_certs;      /* --max-client-certs: every API together */
  int durability_full;        /* --durability full: fsync every commit (default process) */
  long node;                  /* --node K: this node of a cluster on --state (0: none) */
  /* load-balancer header mode (config "mutual_ssl") */
  char *cert_header;                          /* default X-WSO2-CLIENT-CERTIFICATE */
  int cert_header_encoded;                    /* client_certificate_encode, default 1 */
  int client_cert_validation;                 /* enable_client_validation, default 1 */
  int forward_cert_header;                    /* forward_client_certificate_header, default 0 */
  char lb_fingerprints[GSIM_MAX_LB_PINS][65]; /* SHA-256 hex, lower case; beyond WSO2 */
  size_t lb_fingerprint_count;
  /* throttling (config "throttling") */
  int throttle_per_certificate;    /* 0: WSO2's shared counter per tier (default); 1: per cert */
  gsim_tier tiers[GSIM_MAX_TIERS]; /* the config's own; gsim_tier_find adds the built-ins */
  size_t tier_count;
} gsim_options;

/* The row of a rule family in force (rules.h): what the profile does. */
static inline const gsim_rule *gsim_rule_of(const gsim_options *opt, gsim_rule_family family) {
  return opt->rules.row[family];
}

/* 0 on success, 1 after --help (printed), 2 with why filled on a usage or
 * configuration error. */
int gsim_options_parse(int argc, char **argv, gsim_options *opt, char *why, size_t why_len);
void gsim_options_free(gsim_options *opt);

/* ---- clock --------------------------------------------------------------- */

/* Milliseconds since the epoch of the process wall clock (CLOCK_REALTIME,
 * which libfaketime fakes). */
int64_t gsim_now_ms(void);
/* "2030-01-01T00:00:05.123Z" (out: 32 bytes). */
void gsim_format_iso(int64_t ms, char out[32]);
/* Java's Date.toString() in UTC: "Tue Jan 01 00:00:00 UTC 2030" (out: 32). */
void gsim_format_java_date(time_t t, char out[32]);
/* strftime(format) of ms in UTC, in the C locale (English day and month
 * names): 0, or -1 with "invalid" in out. */
int gsim_format_utc(int64_t ms, const char *format, char *out, size_t out_len)
    __attribute__((format(strftime, 2, 0)));

/* ---- schedule ------------------------------------------------------------ */

/* Fixed ticks at start + k * interval (k >= 1). */
typedef struct gsim_schedule {
  int64_t start_ms;
  int64_t interval_ms;
  int64_t last_index; /* highest tick index already processed (0: none) */
} gsim_schedule;

void gsim_schedule_init(gsim_schedule *s, int64_t start_ms, int64_t interval_ms);
/* Marks every tick up to now as processed; returns how many ticks passed since
 * the last call (0 when none). */
int64_t gsim_schedule_advance(gsim_schedule *s, int64_t now_ms);
/* Time of the tick with this index, and of the next one after now. */
int64_t gsim_schedule_tick_ms(const gsim_schedule *s, int64_t index);
int64_t gsim_schedule_next_ms(const gsim_schedule *s, int64_t now_ms);

/* ---- trust --------------------------------------------------------------- */

/* An SSL profile ready to use: its spec, its loaded material. */
typedef struct gsim_ssl_profile {
  const gsim_profile_spec *spec;
  gcert_store custom_trust; /* spec->trust_store loaded; unused otherwise */
  EVP_PKEY *key;            /* identity toward backends, or NULL */
  STACK_OF(X509) * chain;   /* leaf first */
} gsim_ssl_profile;

/* One generation of outbound trust: what every new backend handshake uses
 * until the next reload. Reference-counted so that connections in flight keep
 * the generation they started with. */
typedef struct gsim_trust_gen {
  int refs;
  uint64_t number;
  int64_t loaded_ms;
  size_t uploaded_count;
  SSL_CTX *ctx[GSIM_MAX_PROFILES + 1]; /* index = profile; last = built-in default */
} gsim_trust_gen;

typedef struct gsim_trust {
  gcert_store base; /* --trust */
  gsim_ssl_profile profiles[GSIM_MAX_PROFILES];
  size_t profile_count;
  size_t default_index; /* the profile with is_default, or profile_count if none */
  EVP_PKEY *server_key; /* the gateway's own identity (default profile) */
  STACK_OF(X509) * server_chain;
  gsim_trust_gen *current;
  int changed; /* endpoint certificates or API providers changed since current was built */
} gsim_trust;

/* Loads the base trust store, every profile's material and the gateway's own
 * identity. 0, or -1 with why filled. */
int gsim_trust_init(gsim_trust *trust, const gsim_options *opt, EVP_PKEY *server_key,
                    STACK_OF(X509) * server_chain, char *why, size_t why_len);
void gsim_trust_free(gsim_trust *trust);
/* Builds a new generation from the base trust plus uploaded (DER) certs and
 * makes it current. 0, or -1 with why filled (the old one stays current). */
int gsim_trust_rebuild(gsim_trust *trust, const gsim_cert_row *uploaded, size_t count,
                       int64_t now_ms, char *why, size_t why_len);
/* Marks the sender trust changed (an endpoint certificate, or an API
 * provider or a store it uses): the next sender tick rebuilds it. */
void gsim_trust_changed(gsim_trust *trust);
/* 1 when a change waits for the next rebuild (gsim_trust_rebuild clears it). */
int gsim_trust_pending(const gsim_trust *trust);
/* Frees an API provider slot's spec (malloc'd, see trust.c's top comment)
 * and material, and zeroes it. */
void gsim_trust_slot_free(gsim_ssl_profile *slot);
gsim_trust_gen *gsim_trust_gen_ref(gsim_trust_gen *gen);
void gsim_trust_gen_unref(gsim_trust_gen *gen);
/* The profile index for a backend (host is matched case-insensitively,
 * port explicitly); profile_count when only the built-in default applies. */
size_t gsim_trust_profile_for(const gsim_trust *trust, const char *host, int port);
gsim_verifier gsim_trust_verifier(const gsim_trust *trust, size_t index);

/* ---- the simulator ------------------------------------------------------- */

/* One API as routed: the model the admin API keeps. */
typedef struct gsim_api {
  char id[GSIM_API_ID_MAX];
  char name[GSIM_API_NAME_MAX];
  char context[GSIM_CONTEXT_MAX]; /* "/test" */
  char version[GSIM_VERSION_MAX];
  char *production_url;
  char *sandbox_url; /* or NULL */
  unsigned security; /* GSIM_SEC_* bits (enforced by the security chain) */
  int is_default_version;
  json_t *definition; /* as answered by GET */
} gsim_api;

#define GSIM_SEC_MUTUALSSL            0x01u
#define GSIM_SEC_MUTUALSSL_MANDATORY  0x02u
#define GSIM_SEC_OAUTH2               0x04u
#define GSIM_SEC_BASIC_AUTH           0x08u
#define GSIM_SEC_API_KEY              0x10u
#define GSIM_SEC_OAUTH_BASIC_APIKEY_M 0x20u
/* WSO2 4.3+ (working since 4.4): mutualssl_optional and
 * oauth_basic_auth_api_key_optional; refused at creation where the
 * both-optional rule row says the flags do not exist (rules.c). */
#define GSIM_SEC_MUTUALSSL_OPTIONAL   0x40u
#define GSIM_SEC_OAUTH_BASIC_APIKEY_O 0x80u

typedef struct gsim_stats {
  uint64_t requests;
  uint64_t proxied;
  uint64_t faults;
  uint64_t admin_requests;
} gsim_stats;

/* A node of a gateway cluster (--node): what it took of the other nodes'
 * changes to the shared store (reload.c; README.md, "Gateway clusters"). */
typedef struct gsim_cluster {
  int64_t data_version;          /* the store's PRAGMA data_version last seen */
  uint64_t changes_seen;         /* times other nodes' commits were noticed */
  int64_t last_change_ms;        /* when last noticed (0: never) */
  uint64_t sync_failures;        /* syncs that failed (logged; retried at the next change) */
  unsigned char sender_seen[32]; /* SHA-256 of the endpoint certificates as last known */
  size_t apis_added, apis_removed;
  size_t client_certs_changed;
} gsim_cluster;

typedef struct gsim {
  gsim_options *opt;
  struct event_base *base;
  gsim_store *store;
  gsim_trust trust;
  /* the three clocks, set up and advanced by reload.c only */
  gsim_schedule sender;           /* PassThroughHttpSender's fileReadInterval */
  gsim_schedule listener_clock;   /* the listener SSL profile's fileReadInterval */
  gsim_schedule truststore_clock; /* the client certificate trust store reloader */
  uint64_t sender_reloads;        /* reloads done at ticks or on request (not the start) */
  int64_t last_reload_ms;
  int64_t started_ms;
  gsim_api *apis[GSIM_MAX_APIS];
  size_t api_count;
  SSL_CTX *server_ctx; /* borrowed: the listener's current generation (clientauth.c owns it) */
  struct evhttp *https;
  struct evhttp *http; /* optional plain listener */
  struct evhttp *admin;
  int https_port, http_port, admin_port;
  struct event *tick; /* the short real cap: checks the clock */
  int proxy_index;    /* SSL ex_data slot of outbound connection facts */
  FILE *log;
  gsim_stats stats;
  gsim_cluster cluster;           /* --node: reload.c's */
  struct gsim_listener *listener; /* clientauth.c: listener TLS, client certs, both clocks */
  struct gsim_oauth *oauth;       /* oauth.c: key managers, applications, subscriptions */
  struct gsim_throttle *throttle; /* throttle.c: counters on the process clock */
  struct gsim_sap *sap;           /* sap.c: the sap profile's trust and key stores */
  struct gsim_pool *pool;         /* backend_pool.c: kept-alive backend connections (proxy.c) */
} gsim;

/* Sets up the three clocks from sim->started_ms and the options (and logs an
 * interval raised to the minimum). */
void gsim_reload_init(gsim *sim);
/* Processes due ticks of the three clocks: at a tick, what changed since the
 * last one is applied (the sender trust; the listener's handshake trust; its
 * in-memory trust). Called from the loop's cap timer and at the start of
 * every request, so the first request after a tick sees the reloaded trust. */
void gsim_reload_check(gsim *sim);
/* /_sim/reload: the sender trust and both listener views rebuilt now, each
 * only when something changed since its last reload. 0, or -1 with why
 * filled. */
int gsim_reload_everything_now(gsim *sim, char *why, size_t why_len);
/* --node: the data version seen at start (before anything is loaded, so a
 * change made meanwhile is taken at the first check). */
void gsim_reload_cluster_init(gsim *sim);
/* Rebuilds the sender trust from the store now (start, /_sim/reload).
 * 0, or -1 with why filled. */
int gsim_reload_now(gsim *sim, const char *reason, char *why, size_t why_len);

/* APIs in memory (the store holds them durably). */
gsim_api *gsim_api_find_id(gsim *sim, const char *id);
/* The API whose /context/version prefixes path; *rest gets what follows. */
gsim_api *gsim_api_route(gsim *sim, const char *path, const char **rest);
/* Builds an API from its JSON definition (validated by the caller). NULL on
 * allocation failure. */
gsim_api *gsim_api_from_json(const char *id, json_t *definition);
void gsim_api_free(gsim_api *api);
/* Loads every API of the store into memory. 0, or -1 with why filled. */
int gsim_apis_load(gsim *sim, char *why, size_t why_len);
/* A node of a cluster: the APIs in memory brought in line with the store
 * (another node created or deleted some), at once - WSO2's gateway deploys
 * and undeploys an API on the control plane's event. *added and *removed get
 * the counts. 0, or -1 with why (memory as it was for what was not done). */
int gsim_apis_sync(gsim *sim, size_t *added, size_t *removed, char *why, size_t why_len);
/* WSO2 resources ("operations": [{"target": "/ *", "verb": "GET", "authType": "None"}]):
 * 1 when the first operation matching the request's verb and path (rest
 * after the context and version) has authType None - the gateway then skips
 * authentication for it, as WSO2 does for an unsecured resource. */
int gsim_api_anonymous(const gsim_api *api, enum evhttp_cmd_type cmd, const char *rest);
/* "GET", "POST", ... or NULL for a method the gateway does not serve. */
const char *gsim_verb_name(enum evhttp_cmd_type cmd);

/* ---- client to gateway mutual TLS (clientauth.c) -------------------------- */

/* One client certificate of an API, as the gateway matches it. */
typedef struct gsim_client_cert {
  char api_id[GSIM_API_ID_MAX];
  char alias[GSIM_ALIAS_MAX];
  char tier[GSIM_TIER_MAX];         /* throttling tier ("Unlimited", "10PerMin", ...) */
  char key_type[GSIM_KEY_TYPE_MAX]; /* "PRODUCTION" or "SANDBOX" */
  X509 *cert;
  char unique_id
      [GSIM_UNIQUE_ID_MAX]; /* WSO2's "serial_DN" key (issuer or subject DN per cert_match) */
  unsigned long long seq;   /* creation order (clientauth.c): the first match wins */
} gsim_client_cert;

/* Builds the listener's first generation (verify mode, base client trust and
 * every stored client certificate: what a restart finds on disk) and its
 * in-memory trust. 0, or -1 with why. */
int gsim_listener_init(gsim *sim, EVP_PKEY *key, STACK_OF(X509) * chain, char *why, size_t why_len);
void gsim_listener_free(gsim *sim);
/* A new server-side SSL for an accepted connection, from the current
 * listener generation (NULL on allocation failure). */
SSL *gsim_listener_new_ssl(gsim *sim);
/* The listener's two views of the client certificates, each on its own clock
 * (reload.c): the handshake trust (SSL profile) and the in-memory trust store. */
typedef enum gsim_listener_view {
  GSIM_LISTENER_HANDSHAKE = 0,
  GSIM_LISTENER_MEMORY
} gsim_listener_view;
/* 1 when a client certificate changed since view was last built. */
int gsim_listener_pending(const gsim *sim, gsim_listener_view view);
/* Rebuilds view from the certificates now in the map (reason for the log)
 * and counts the reload. 0, or -1 with why (the previous one stays). */
int gsim_listener_apply(gsim *sim, gsim_listener_view view, const char *reason, char *why,
                        size_t why_len);
/* The "listener" object of /_sim/status. */
json_t *gsim_listener_status(gsim *sim);
/* 1 when cert is in the in-memory listener trust store (the reloader's
 * clock), as WSO2 4.x checks with isCertificateExistsInListenerTrustStore. */
int gsim_listener_memory_trusts(gsim *sim, X509 *cert);
/* 1 when the certificate of the connection's own TLS peer is trusted by the
 * listener's current handshake trust (enable_client_validation). */
int gsim_listener_handshake_trusts(gsim *sim, X509 *cert);
/* The API's client certificate matching cert (and its chain, used only with
 * chain_validation), NULL when none: never by alias. Deletes are effective
 * at once (the API's map is redeployed), additions at once in the map. */
const gsim_client_cert *gsim_client_cert_match(gsim *sim, const gsim_api *api, X509 *cert,
                                               STACK_OF(X509) * chain);
/* Forgets (store and memory) every client certificate of an API being deleted.
 * 0, or -1 (store failure, nothing changed). */
int gsim_client_certs_drop_api(gsim *sim, const char *api_id);
/* A node of a cluster: the certificate map brought in line with the store's
 * client certificates (another node added, replaced or deleted some), each
 * change queued for both views' ticks as the admin API's own are. *changed
 * gets how many. 0, or -1 with why. */
int gsim_client_certs_sync(gsim *sim, size_t *changed, char *why, size_t why_len);

/* ---- OAuth2 (oauth.c) ------------------------------------------------------- */

typedef enum gsim_oauth_status {
  GSIM_OAUTH_OK = 0,
  GSIM_OAUTH_MISSING,   /* no Authorization: Bearer header -> 900902 */
  GSIM_OAUTH_INVALID,   /* bad token, signature, issuer, expiry -> 900901 */
  GSIM_OAUTH_FORBIDDEN, /* valid token, application not subscribed -> 900908 (403) */
} gsim_oauth_status;

typedef struct gsim_oauth_result {
  gsim_oauth_status status;
  char application_id[64];          /* when OK: the subscribed application */
  char tier[GSIM_TIER_MAX];         /* when OK: the subscription's throttling tier */
  char key_type[GSIM_KEY_TYPE_MAX]; /* PRODUCTION or SANDBOX (from the key mapping) */
  char reason[256];                 /* for the log only (never the token itself) */
} gsim_oauth_result;

int gsim_oauth_init(gsim *sim, char *why, size_t why_len); /* loads the store */
void gsim_oauth_free(gsim *sim);
/* Validates the request's bearer token for api on the process clock. */
void gsim_oauth_authenticate(gsim *sim, struct evhttp_request *req, const gsim_api *api,
                             gsim_oauth_result *out);

/* The bearer check without the store, shared with gatecert-introspect
 * (introspect.c): key managers as borrowed views, the subscription set as a
 * lookup, the clock as an argument. */
typedef struct gsim_token_km {
  const char *name;
  const char *issuer;
  gjwt_alg alg;
  EVP_PKEY *key;
} gsim_token_km;
/* Called once the token verified for km_name with a client id (azp or
 * client_id; shown is its loggable copy): sets out->status to GSIM_OAUTH_OK
 * or GSIM_OAUTH_FORBIDDEN with out->reason, and on OK application_id, tier
 * and key_type. */
typedef void (*gsim_token_subscribed)(void *ctx, const char *km_name, const char *client_id,
                                      const char *shown, gsim_oauth_result *out);
/* WSO2's bearer check of an Authorization header value (NULL: absent) at
 * now_ms: MISSING without a Bearer token; INVALID for a token over
 * GJWT_MAX_TOKEN bytes, no key manager with its iss, a signature that does
 * not verify for that key manager's alg and key, exp + 300 s <= now, no
 * client id, and where the rules' jwt rows check them nbf - 300 s > now and
 * no exp (rules NULL: both checked); else what subscribed says. */
void gsim_oauth_check_bearer(const gsim_rules *rules, const char *authorization,
                             const gsim_token_km *kms, size_t km_count, int64_t now_ms,
                             gsim_token_subscribed subscribed, void *ctx, gsim_oauth_result *out);
/* A key manager's key from a PEM public key or certificate (text or base64
 * of the PEM) that fits alg (RS256: RSA >= 2048 bits; ES256: P-256), as the
 * admin API accepts it. NULL with why filled. */
EVP_PKEY *gsim_oauth_public_key(const char *value, gjwt_alg alg, char *why, size_t why_len);
/* Forgets the subscriptions of an API being deleted. */
int gsim_oauth_drop_api(gsim *sim, const char *api_id);
/* A node of a cluster: key managers, applications, key mappings and
 * subscriptions reloaded from the store (another node changed some); on
 * failure the previous ones stay. 0, or -1 with why. */
int gsim_oauth_sync(gsim *sim, char *why, size_t why_len);

/* ---- the security chain, header mode, throttling (security.c, throttle.c) -- */

/* Authenticates and throttles a routed request. Returns 0 when the request may
 * go to the backend; 1 when it has been answered (401/403/429/500 fault). */
int gsim_security_check(gsim *sim, struct evhttp_request *req, gsim_api *api);
int gsim_throttle_init(gsim *sim, char *why, size_t why_len);
void gsim_throttle_free(gsim *sim);
/* The tier named so (case-sensitive), or NULL. */
const gsim_tier *gsim_tier_find(const gsim_options *opt, const char *name);

/* ---- the sap profile's stores (sap.c) ---------------------------------------- */

int gsim_sap_init(gsim *sim, char *why, size_t why_len);
void gsim_sap_free(gsim *sim);
/* Fills the free profile slots of trust after the built-in default with the
 * store's API providers (creation order; trust.c's top comment); returns how
 * many. One that does not load is left out, with a log line. */
size_t gsim_sap_providers_load(gsim *sim, gsim_trust *trust);
/* A node of a cluster: 1 when the sap stores or API providers in the store
 * differ from what this node last knew (another node changed them; the
 * sender trust is then marked changed: live at the next sender tick), 0 when
 * not, -1 on a store failure. Coarse: any change of a sap store counts,
 * used by a provider or not. */
int gsim_sap_sync(gsim *sim);

/* ---- faults and error bodies --------------------------------------------- */

/* A gateway fault (101500, 101503, ...): status line, WSO2 JSON or XML body. */
void gsim_fault_send(gsim *sim, struct evhttp_request *req, int http_status, const char *code,
                     const char *message, const char *description);

/* ---- servers -------------------------------------------------------------- */

void gsim_proxy_request(struct evhttp_request *req, void *arg); /* data plane */
void gsim_admin_request(struct evhttp_request *req, void *arg); /* admin REST + /_sim */
/* /_sim/...: answered when path starts with /_sim/ (after authentication). */
void gsim_control_request(gsim *sim, struct evhttp_request *req, const char *path);
json_t *gsim_status_json(gsim *sim);

/* ---- log ----------------------------------------------------------------- */

void gsim_log(gsim *sim, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
