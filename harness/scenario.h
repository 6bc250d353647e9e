/* scenario.h - scenarios: the YAML language, and the cases loaded from it.
 *
 * A scenario file (scenarios/<feature>/<name>.yaml, read with libyaml)
 * describes one behaviour; with a `matrix` it expands to one case per row.
 * The loader checks everything it can before anything runs and reports each
 * mistake with file, line and column and what was expected
 * ("scenarios/reload/x.yaml:12:5: expected a duration such as 600s, got \"ten\"").
 *
 * The language (every key optional unless marked; durations are "600s",
 * "10m", "1h", "250ms", "-1d", or a bare number of seconds):
 *
 *   name: upload takes effect at the next tick          # required
 *   features: [backend-trust, reload]                  # required, >= 1
 *   profiles: [wso2, sap]                              # default: every profile;
 *                                                      # wso2 = wso2-4 and wso2-2.6 (profile.h)
 *   refs: ["seed 000", "rule reload.sender-interval"]
 *   epoch: 2030-01-01T00:00:00Z                        # the case's fake start
 *   needs: [deferred-reload-schedule]                  # driver capabilities
 *   matrix:                                            # one case per row;
 *     params: [interval, upload_at]                    # ${interval} is replaced
 *     rows: [[600s, 601s], [3600s, 3601s]]             # in every scalar below
 *   gateway:
 *     sender_reload_interval: 600s
 *     fault_format: json | xml
 *     backend_timeout: 2s
 *     trust: [root]                       # base trust store: pki names
 *     ssl_profiles:
 *       - backend: echo                   # servers = that backend's host:port
 *         host: localhost                 # the name the API uses (default localhost)
 *         trust: [root]                   # own trust store (default: the sender's)
 *         key: client                     # identity presented to that backend
 *         hostname_verifier: Strict
 *     default_profile: {key: none, hostname_verifier: DefaultAndLocalhost}
 *   pki:                                  # made for this case, dated from epoch
 *     root: {kind: ca}
 *     inter: {kind: ca, issuer: root}
 *     echo-cert: {kind: server, issuer: inter, san: [localhost, 127.0.0.1],
 *                 not_before: -1h, not_after: 365d, eku: server}
 *     client: {kind: client, issuer: inter}
 *     self: {kind: server, san: [localhost]}            # no issuer: self-signed
 *   backends:
 *     echo: {cert: echo-cert, chain: [inter], client_auth: require,
 *            client_ca: [root], fault: none, delay: 0s, sessions: off, tls: any}
 *   apis:                                 # created before the first step
 *     test: {context: /test, version: "1.0", backend: echo, host: localhost,
 *            security: [oauth2], default_version: false}
 *   (an API without `security` is unsecured: every resource gets WSO2's
 *   authType None, so the gateway skips authentication for it)
 *   steps:
 *     - call: {api: test, path: /menaka, method: GET, headers: {X-A: b}}
 *       expect: {status: 500, fault_code: "101500", body_contains: "...",
 *                backend_reached: false, backend_saw: {client_cert: client}}
 *     - advance: 120s                      # move the fake clock forward
 *     - advance_to: 599s                   # to gateway start + 599 s
 *     - upload_endpoint_cert: {alias: echo, backend: echo, cert: echo-cert,
 *                              format: pem}    # pem der pkcs7 jks garbage empty oversize
 *       expect: {status: 201}
 *       expect_profile: {sap: {status: 200}}   # overrides expect for one profile;
 *                                              # wso2-2.6 over wso2 over expect
 *     - replace_endpoint_cert: {alias: echo, cert: other, format: der}
 *     - delete_endpoint_cert: {alias: echo}
 *     - create_api: test                   # an API declared with create: false
 *     - delete_api: test
 *     - reload: {}                         # off-schedule reload (simulator only)
 *     - restart_gateway: {}
 *     - redeploy_api: test                 # deploy the API again (WSO2 4.x POST
 *                                          # .../apis/{apiId}/deploy-revision); simulator
 *                                          # and exec drivers only
 *
 * Securing APIs: client certificates, OAuth2 tokens, the load-balancer
 * header, throttling (simulator/README.md, "Client to gateway mutual TLS" and
 * "Securing APIs"):
 *
 *   gateway:
 *     listener:                           # the data plane's TLS (client-mtls)
 *       verify_client: optional           # none | optional | require
 *       profile_reload_interval: 600s     # uploads reach the handshake at this tick
 *       truststore_reload_period: 600s    # ... and the in-memory trust at this one
 *       truststore_initial_delay: 60s     # the reloader's first run after start
 *       certificate_match: serial_issuer  # | serial_subject
 *       chain_validation: false           # a leaf of an uploaded CA is accepted
 *     mutual_ssl:                         # the header mode (header-mode)
 *       certificate_header: X-WSO2-CLIENT-CERTIFICATE
 *       encode: true                      # client_certificate_encode
 *       client_validation: true           # enable_client_validation
 *       trusted_load_balancers: [lb]      # pki names (their certificates' SHA-256)
 *     throttling:                         # (throttling)
 *       per_certificate: false            # true: a counter per certificate
 *       tiers: [{name: 3PerMin, requests: 3, window: 60s}]
 *     oauth:                              # registered as key manager "gatecert" (oauth2)
 *       issuer: https://km.example/oauth2/token     # required
 *       key: km                           # required: the pki entry whose key signs tokens
 *       alg: RS256                        # RS256 | ES256; default: from the key
 *   pki:
 *     km: {kind: client, key: rsa2048}    # key: ec (default) | rsa2048 | rsa3072
 *   steps:
 *     - upload_client_cert: {api: test, alias: c1, cert: client, tier: Unlimited,
 *                            format: pem}    # pem der pkcs7 jks garbage empty oversize
 *       expect: {status: 201}
 *     - delete_client_cert: {api: test, alias: c1}
 *     - subscribe: {application: app1, api: test, tier: Unlimited}
 *     - call: {api: test, client_cert: client,              # presented in the handshake
 *              token: {application: app1, lifetime: 1h, issued_at: -5m,
 *                      not_before: 10m, key: km, issuer: "..."},
 *              header_cert: {cert: client, encoding: url-pem}}
 *     - call: {api: test, token: garbage}    # or expired: 1h-lifetime, issued 2h ago
 *
 * - A subscribe step creates its application on first use (consumer key = the
 *   application's name, mapped to the oauth key manager) and subscribes it;
 *   its expect is the first answer that was not 2xx, else the subscription's.
 *   tier defaults to Unlimited.
 * - token: the JWT carries iss, sub, azp and client_id (= the application),
 *   iat = the fake now + issued_at (default 0s), exp = iat + lifetime (default
 *   1h), nbf = the fake now + not_before when given, kid = the key manager;
 *   key and issuer replace the oauth ones (a token the gateway must refuse).
 *   It is sent as "Authorization: Bearer", so headers cannot hold an
 *   Authorization too. expired needs a subscribe step before the call (its
 *   application is used); garbage sends a bearer that is not a JWT. Tokens are
 *   minted at run time and never written to a report, log or transcript.
 * - header_cert is sent in certificate_header (default
 *   X-WSO2-CLIENT-CERTIFICATE): url-pem (nginx's $ssl_client_escaped_cert, the
 *   default), base64-der, base64-pem, raw-pem (newlines as spaces) or garbage
 *   (cert not needed). client_cert is any pki name (its key is used) or none.
 * - oauth needs key, issuer; a token, subscribe or expired token needs oauth.
 *   An RS256 key must be rsa2048/rsa3072, an ES256 one ec.
 * - Capabilities are implied, not only declared in needs: listener, client_cert
 *   and the client-cert steps need client-mtls; oauth, subscribe and token
 *   oauth2; mutual_ssl and header_cert header-mode; throttling throttling.
 *   The two reload clocks of client certificates are listener-reload-schedule
 *   (declare it in needs).
 *
 * Reported bugs of a WSO2 version (simulator/README.md, "Reported bugs"):
 *
 *   profiles: [wso2-4]                    # required with quirks
 *   quirks: [deleted-alias-taken]         # or one name, or none (a matrix's "off")
 *
 * - Each name turns on one gatecert-sim quirk (gatecert-sim --rules lists
 *   them, with the issue and the version that had the bug); the simulator
 *   refuses an unknown name or a quirk of another profile (the case errors).
 *   The quirks reach gatecert-sim's config through simconfig.c (sim driver,
 *   the exec reference program, gatecert repro). Only a driver with the
 *   capability quirks (the simulator's) can turn a product's bug on: on any
 *   other the case is skipped naming it.
 *
 * SAP API Management's own objects (the sap profiles: SAP's OData service,
 * simulator/README.md "The sap profiles"; drivers that have them declare
 * sap-objects, which these steps imply):
 *
 *   profiles: [sap]                        # required: every profile a SAP one
 *   steps:
 *     - sap_store_cert: {store: ts1, name: c1, cert: root, format: pem}
 *       expect: {status: 201}              # a trust store entry; the first one
 *                                          # of a store makes it (a deep insert)
 *     - sap_store_cert: {store: ks1, type: key, name: k1, cert: client,
 *                        format: pkcs12}   # a key store entry: pkcs12 (password
 *                                          # "changeit"), sapjar, pem-key
 *     - sap_reference: {name: r1, store: ts1}   # made; repointed when this
 *       expect: {status: 201}                   # case made it already (204)
 *     - sap_provider: {name: p1, backend: echo, trust_store: "ref://r1"}
 *       expect: {status: 201}              # an API provider for the backend's
 *                                          # host:port, TLS verified against
 *                                          # the store (a name, or ref://<reference>)
 *
 * - Store, reference and provider names are [A-Za-z0-9][A-Za-z0-9._-]*; a
 *   certificate name is any clean text (SAP checks it). format is one of the
 *   upload formats; cert is required unless it is garbage, empty or oversize.
 *   type is trust (default) or key; the formats that carry the certificate's
 *   private key (pkcs12, sapjar, pem-key) need type: key.
 * - upload/replace/delete_endpoint_cert under the sap profiles go through
 *   the same service (an entry of the case's own trust store and a provider
 *   per backend, harness/drivers/sim.c), so a sap_provider for a backend an
 *   endpoint certificate was uploaded for is refused as a second provider.
 *
 * Real gateways (nginx, haproxy drivers; drivers/NGINX.md, drivers/HAPROXY.md):
 *
 *   gateway:
 *     upstream_session_reuse: false       # unset or default: the product's default
 *     upstream_keepalive: true            # pooled backend connections (nginx upstream
 *                                         # keepalive, Apache's reuse); unset or default
 *     mutual_ssl: {front_lb: lb}          # a load balancer in front (lb-in-front),
 *                                         # presenting pki lb to the gateway
 *   apis:
 *     a: {..., backend_trust: [root], backend_key: client}   # per-api-backend-tls
 *   steps:
 *     - call: {api: a, session: s1, connection: c1, via: lb}
 *       expect: {reject: backend-tls}
 *
 * - session: calls naming the same session share libcurl's TLS session cache,
 *   so the second one resumes the first one's TLS session (each call is still
 *   a new connection unless connection is given too); connection: calls
 *   naming the same connection reuse one kept-alive connection when the
 *   gateway kept it open (the result records whether it was reused).
 * - via: lb sends the call to the front load balancer, which verifies the
 *   client certificate and forwards it in the certificate header.
 * - reject names a rejection class the driver maps to its own answer:
 *   client-cert (the listener refused the client's certificate),
 *   unauthenticated (the API's authentication failed), backend-tls (the
 *   TLS handshake with the backend failed: its certificate was not trusted,
 *   or it refused the gateway). The simulator
 *   answers a TLS alert, 401, and 500 with fault code 101500.
 *
 * Expectations on a call: status, fault_code, body_contains, body_excludes,
 * header {name: value}, reject (a rejection class), resumed (the call's TLS
 * session was resumed: true/false), tls_failure (a failure
 * class: tls-alert, http-4xx,
 * http-5xx, backend-not-reached), backend_reached, backend_saw.client_cert
 * (a pki name or none), log_contains (the gateway log). On an admin step:
 * status, message (contained in the error description or message - WSO2's
 * shape - or in an OData error's message value or code - the sap profiles'
 * management service), body_contains,
 * refused (true: any 4xx or 5xx, whatever the product's exact status).
 * `within: 30s` on a call step retries it (real time) until three consecutive
 * successes, for gateways that apply changes eventually.
 *
 * Gateway clusters (scenarios/cluster/; the driver's capability cluster):
 *
 *   gateway:
 *     sender_reload_interval: 600s
 *     nodes: 2                            # 1..16 gateways sharing one store
 *     start_offsets: [0s, 250s]           # node K starts at case start + offset K
 *   steps:
 *     - advance_to: 590s                  # counted from node 1's start
 *     - upload_endpoint_cert: {alias: echo, backend: echo, cert: echo-cert, node: 1}
 *     - call: {api: test, node: 2}        # a node by number (default: node 1)
 *     - call: {api: test, node: balancer} # the front balancer: round-robin
 *     - call: {api: test, node: each}     # one call to every node, in order
 *       expect: {status: 200}             # every node's expectation ...
 *       expect_nodes: {2: {status: 500}}  # ... with one node's merged over it
 *     - sweep: {api: test, from: 590s, to: 900s, every: 10s}
 *       expect_flapping: {before: 500, from: 600s, until: 850s,
 *                         between: [200, 500], after: 200}
 *     - restart_gateway: {node: 2}        # that node's clocks start again
 *     - reload: {node: 2}
 *
 * - Nodes start in order at their offsets (non-decreasing, node 1 at 0s):
 *   the runner moves the case clock to each offset, every node already
 *   started acknowledges the time, then the next node starts. Each node's
 *   reload clocks run from its own start.
 * - Admin steps (uploads, deletes, client certificates, subscribe) and
 *   reload/restart_gateway take node: K; without it they go to node 1
 *   (create_api and delete_api always do). A call's node is a number,
 *   balancer or each; the balancer alternates over nodes 1..N in order with
 *   one counter per case (never random), and every call records which node
 *   answered (the reports name it).
 * - expect_nodes (only with node: each) maps node numbers to call
 *   expectations merged over expect (and expect_profile).
 * - sweep moves the clock from `from` to `to` (counted like advance_to) in
 *   steps of `every`, plus 1s before and at each edge of the flapping window,
 *   and at each time makes one call per node through the balancer (at most
 *   GH_MAX_SWEEP_TIMES times). expect_flapping (required on a sweep; its
 *   window inside the sweep, with time on both sides): before the window's
 *   from every answer is `before`; from its from until (not including) its
 *   until the answers at each time are exactly the statuses of `between`,
 *   each at least once; from until on every answer is `after`. A restart_gateway of node 1 restarts
 *   the count of advance_to; another node's does not.
 *
 * Rules beyond the sketch (scenario.c enforces each with file:line:column):
 * - steps is required (>= 1: a case that checks nothing must not pass); an
 *   API needs context (a path starting with '/'), version and backend.
 * - pki kind defaults to server. Names of pki, backends and apis are
 *   [A-Za-z0-9][A-Za-z0-9._-]*, shorter than GH_NAME_MAX; "none" is not a pki
 *   name. An issuer must be of kind ca and declared earlier in pki (so no
 *   cycles); not_after must be later than not_before.
 * - ${param} is replaced in every value, never in keys or the matrix itself;
 *   $${ is a literal ${. Row values are scalars; case names must all differ.
 * - expect takes the call keys on call; status, message, body_contains and refused on
 *   upload/replace/delete_endpoint_cert, create_api and delete_api; nothing
 *   on advance, advance_to, reload, restart_gateway (redeploy_api takes the
 *   admin keys, as delete_api does). within needs expect or
 *   expect_profile; expect_profile keys must be in profiles (when given).
 * - advance > 0; advance_to never goes back (counted again from 0 after a
 *   restart_gateway). upload takes backend or endpoint, not both; cert is
 *   required unless format is garbage, empty or oversize. A backend's delay
 *   is 0s..600s; at most 16 ssl_profiles, one per backend and host.
 * - Booleans are true/false, yes/no, on/off. Refused outright: files over
 *   1 MiB, over 10000 nodes, nesting deeper than 32, anchors and aliases,
 *   tags, duplicate keys, unknown keys, more than one document.
 */
#ifndef GH_SCENARIO_H
#define GH_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#define GH_NAME_MAX           128
#define GH_MAX_LOAD_BALANCERS 16   /* trusted_load_balancers */
#define GH_MAX_TIERS          32   /* throttling.tiers */
#define GH_MAX_NODES          16   /* gateway.nodes */
#define GH_MAX_FLAP_STATUSES  8    /* expect_flapping.between */
#define GH_MAX_SWEEP_TIMES    1000 /* times a sweep calls at (every: from `from` to `to`) */
#define GH_MAX_QUIRKS         16   /* quirks */

typedef struct gh_load_error {
  char file[512];
  int line;   /* 1-based; 0 when not about a place in the file */
  int column; /* 1-based */
  char message[512];
} gh_load_error;

/* ---- PKI, backends, gateway, APIs ------------------------------------------ */

typedef enum gh_pki_kind { GH_PKI_CA = 0, GH_PKI_SERVER, GH_PKI_CLIENT } gh_pki_kind;
typedef enum gh_eku {
  GH_EKU_DEFAULT = 0,
  GH_EKU_NONE,
  GH_EKU_SERVER,
  GH_EKU_CLIENT,
  GH_EKU_BOTH
} gh_eku;

typedef enum gh_pki_key {
  GH_KEY_EC = 0, /* P-256 (gcert_key_type's order) */
  GH_KEY_RSA2048,
  GH_KEY_RSA3072
} gh_pki_key;

typedef struct gh_pki_spec {
  char *name;
  gh_pki_kind kind;
  char *issuer;  /* a pki name, or NULL: self-signed */
  char *subject; /* NULL: "CN=<name>,O=gatecert scenario" */
  char **san;    /* DNS names and IP addresses, as written */
  size_t san_count;
  int64_t not_before_ms; /* relative to epoch; default -1h */
  int64_t not_after_ms;  /* relative to epoch; default +365d */
  gh_eku eku;
  gh_pki_key key; /* the key's type */
} gh_pki_spec;

typedef struct gh_backend_spec {
  char *name;
  char *cert;   /* pki name (required unless fault is refuse/reset/stall) */
  char **chain; /* pki names sent after the leaf */
  size_t chain_count;
  char *client_auth; /* "none" (default), "optional", "require" */
  char **client_ca;  /* pki names */
  size_t client_ca_count;
  char *fault; /* gatecert-backend fault name, default "none" */
  int64_t delay_ms;
  int sessions;
  char *tls; /* "any" (default), "1.2", "1.3" */
} gh_backend_spec;

typedef struct gh_profile_spec {
  char *backend; /* a backend name */
  char *host;    /* default "localhost" */
  char **trust;  /* pki names; NULL/0: the sender trust store */
  size_t trust_count;
  char *key;               /* pki name, "none", or NULL (not set) */
  char *hostname_verifier; /* NULL: the gateway's default */
} gh_profile_spec;

/* A throttling tier (gateway.throttling.tiers). */
typedef struct gh_tier_spec {
  char *name;
  long requests;
  int64_t window_ms;
} gh_tier_spec;

typedef struct gh_gateway_spec {
  int64_t sender_reload_interval_ms; /* 0: the gateway's default */
  char *fault_format;                /* NULL, "json", "xml" */
  int64_t backend_timeout_ms;        /* 0: default */
  char **trust;                      /* base trust store */
  size_t trust_count;
  gh_profile_spec *profiles;
  size_t profile_count;
  int has_default_profile;
  gh_profile_spec default_profile; /* backend/host unused */
  /* listener: NULL / -1 when not set (the gateway's default) */
  char *verify_client;                 /* "none", "optional", "require" */
  int64_t profile_reload_interval_ms;  /* -1 */
  int64_t truststore_reload_period_ms; /* -1 */
  int64_t truststore_initial_delay_ms; /* -1 */
  char *certificate_match;             /* "serial_issuer", "serial_subject" */
  int chain_validation;                /* -1, 0, 1 */
  /* mutual_ssl (header mode) */
  int has_mutual_ssl;
  char *certificate_header;      /* NULL: X-WSO2-CLIENT-CERTIFICATE */
  int header_encode;             /* -1, 0, 1 */
  int client_validation;         /* -1, 0, 1 */
  char **trusted_load_balancers; /* pki names */
  size_t trusted_load_balancer_count;
  /* throttling */
  int has_throttling;
  int per_certificate; /* -1, 0, 1 */
  gh_tier_spec *tiers;
  size_t tier_count;
  /* oauth: the key manager tokens come from */
  int has_oauth;
  char *oauth_issuer;
  char *oauth_key; /* pki name */
  char *oauth_alg; /* "RS256", "ES256" (defaulted from the key) */
  /* real gateways */
  int upstream_session_reuse; /* -1 (the product's default), 0, 1 */
  int upstream_keepalive;     /* -1 (the product's default), 0, 1: pooled backend connections */
  char *front_lb;             /* mutual_ssl.front_lb: pki name of a load balancer in front */
  /* a cluster: 0 when not declared (one gateway), else 1..GH_MAX_NODES */
  int nodes;
  int64_t start_offsets_ms[GH_MAX_NODES]; /* node K's start after the case's, [0] = 0 */
  /* the top-level quirks: reported bugs the gateway turns on (simulator only) */
  char **quirks;
  size_t quirk_count;
} gh_gateway_spec;

#define GH_KEY_MANAGER_NAME    "gatecert" /* the name the oauth key manager is registered as */
#define GH_CERT_HEADER_DEFAULT "X-WSO2-CLIENT-CERTIFICATE"

typedef struct gh_api_spec {
  char *name;
  char *context;
  char *version;
  char *backend;
  char *host; /* default "localhost" */
  char **security;
  size_t security_count;
  int default_version;
  int create; /* default 1: created before the first step */
  /* this API's own backend TLS (per-api-backend-tls): NULL/0 when not set */
  char **backend_trust; /* pki names */
  size_t backend_trust_count;
  char *backend_key; /* pki name or "none" */
} gh_api_spec;

/* ---- steps and expectations ------------------------------------------------ */

typedef enum gh_tristate { GH_UNSET = -1, GH_NO = 0, GH_YES = 1 } gh_tristate;

typedef struct gh_header {
  char *name;
  char *value;
} gh_header;

typedef struct gh_expect {
  int set;     /* an expectation was written at all */
  long status; /* 0: not checked */
  char *fault_code;
  char **body_contains;
  size_t body_contains_count;
  char **body_excludes;
  size_t body_excludes_count;
  gh_header *headers;
  size_t header_count;
  char *tls_failure; /* failure class, or NULL */
  char *reject;      /* rejection class (driver.h gh_reject), or NULL */
  gh_tristate backend_reached;
  gh_tristate resumed;           /* the call's TLS session was (not) resumed */
  gh_tristate refused;           /* admin: the gateway refused the change (any 4xx or 5xx) */
  char *backend_saw_client_cert; /* pki name, "none", or NULL (not checked) */
  char *message;                 /* admin: contained in description or message */
  char **log_contains;
  size_t log_contains_count;
  int64_t within_ms; /* 0: a single attempt */
} gh_expect;

typedef enum gh_step_kind {
  GH_STEP_CALL = 0,
  GH_STEP_ADVANCE,
  GH_STEP_ADVANCE_TO,
  GH_STEP_UPLOAD_CERT,
  GH_STEP_REPLACE_CERT,
  GH_STEP_DELETE_CERT,
  GH_STEP_CREATE_API,
  GH_STEP_DELETE_API,
  GH_STEP_RELOAD,
  GH_STEP_RESTART_GATEWAY,
  GH_STEP_UPLOAD_CLIENT_CERT,
  GH_STEP_DELETE_CLIENT_CERT,
  GH_STEP_SUBSCRIBE,
  GH_STEP_SAP_STORE_CERT, /* SAP API Management's own objects (the sap profiles) */
  GH_STEP_SAP_REFERENCE,
  GH_STEP_SAP_PROVIDER,
  GH_STEP_SWEEP,
  GH_STEP_REDEPLOY_API,
} gh_step_kind;

/* Where a step goes in a cluster (gh_step.node): a node number 1..N, or these. */
#define GH_NODE_DEFAULT  0    /* node 1 */
#define GH_NODE_EACH     (-1) /* a call to every node in order (expect_nodes) */
#define GH_NODE_BALANCER (-2) /* a call through the round-robin balancer */

/* A sweep's expectation (expect_flapping): steady `before` until from_ms,
 * exactly the statuses of between from from_ms until until_ms, steady
 * `after` from until_ms (times counted like advance_to). */
typedef struct gh_flapping {
  int set;
  long before;
  long after;
  int64_t from_ms;
  int64_t until_ms;
  long between[GH_MAX_FLAP_STATUSES];
  size_t between_count;
} gh_flapping;

typedef enum gh_token_kind {
  GH_TOKEN_NONE = 0, /* no Authorization header */
  GH_TOKEN_JWT,      /* minted at run time */
  GH_TOKEN_GARBAGE,  /* a bearer that is not a JWT */
} gh_token_kind;

/* A call's token (token: {...}, expired or garbage). */
typedef struct gh_token_spec {
  gh_token_kind kind;
  char *application;    /* azp/client_id: the consumer key */
  int64_t issued_at_ms; /* iat, relative to the fake now */
  int64_t lifetime_ms;  /* exp - iat */
  int has_not_before;
  int64_t not_before_ms; /* nbf, relative to the fake now */
  char *key;             /* pki name signing it (default: gateway.oauth.key) */
  char *issuer;          /* iss (default: gateway.oauth.issuer) */
} gh_token_spec;

const char *gh_step_kind_name(gh_step_kind kind); /* the YAML key: "call", "advance", ... */

typedef struct gh_step {
  gh_step_kind kind;
  int line; /* where the step starts in the file */
  /* call */
  char *api;
  char *path;   /* default "/" */
  char *method; /* default "GET" */
  gh_header *headers;
  size_t header_count;
  char *client_cert; /* pki name presented in the handshake, "none" or NULL: none */
  gh_token_spec token;
  char *header_cert;     /* pki name sent in the certificate header, or NULL */
  char *header_encoding; /* url-pem (default), base64-der, base64-pem, raw-pem, garbage */
  char *session;         /* calls with the same name share a TLS session cache (resumption) */
  char *connection;      /* calls with the same name reuse one kept-alive connection */
  char *via;             /* "gateway" (default) or "lb": the front load balancer */
  /* advance / advance_to */
  int64_t duration_ms;
  /* endpoint certificates */
  char *alias;
  char *backend;  /* the endpoint is this backend's URL */
  char *endpoint; /* or an explicit endpoint string */
  char *cert;     /* pki name */
  char *format;   /* "pem" (default), der, pkcs7, jks, garbage, empty, oversize */
  /* client certificates (api, alias, cert, format) and subscribe */
  char *tier;        /* default "Unlimited" */
  char *application; /* subscribe */
  /* SAP's objects: sap_store_cert (store, sap_name, cert, format),
   * sap_reference (sap_name, store), sap_provider (sap_name, backend,
   * trust_store) */
  char *sap_name;    /* the certificate, reference or provider */
  char *store;       /* a trust store's name */
  char *trust_store; /* a provider's: a store's name or ref://<reference> */
  /* clusters: where the step goes (GH_NODE_*, or a node number) */
  int node;
  /* sweep: the clock from sweep_from_ms to duration_ms (like advance_to) */
  int64_t sweep_from_ms;
  int64_t sweep_every_ms;
  gh_flapping flapping;
  int key_store; /* sap_store_cert type: key (a key store entry); 0: trust */
  /* expectations: expect, then the current profile's override merged over it */
  gh_expect expect;
  char **override_profiles;
  gh_expect *overrides;
  size_t override_count;
  /* node: each - per node, merged over the profile's expectation */
  int *override_nodes;
  gh_expect *node_overrides;
  size_t node_override_count;
} gh_step;

/* ---- a case ---------------------------------------------------------------- */

typedef struct gh_case_spec {
  char *file;     /* as passed to the loader */
  char *name;     /* scenario name, plus "[p=v,...]" for a matrix row */
  char *scenario; /* the scenario name alone */
  char **features;
  size_t feature_count;
  char **profiles; /* empty: every profile */
  size_t profile_count;
  char **refs;
  size_t ref_count;
  char **needs; /* capabilities */
  size_t need_count;
  char *epoch; /* "2030-01-01T00:00:00Z" */
  int64_t epoch_s;
  gh_gateway_spec gateway;
  gh_pki_spec *pki;
  size_t pki_count;
  gh_backend_spec *backends;
  size_t backend_count;
  gh_api_spec *apis;
  size_t api_count;
  gh_step *steps;
  size_t step_count;
} gh_case_spec;

/* Loads one scenario file and expands its matrix: *cases is a malloc'd array
 * of *count cases (one without a matrix). Checks every reference (pki issuer,
 * backend cert, API backend, step api/alias/cert) and every value. 0, or -1
 * with err filled (and nothing allocated). */
int gh_scenario_load(const char *path, gh_case_spec **cases, size_t *count, gh_load_error *err);
/* The same for a file already in memory: text holds len bytes of YAML (no NUL
 * needed), path only names it in cases and messages. */
int gh_scenario_load_text(const char *path, const unsigned char *text, size_t len,
                          gh_case_spec **cases, size_t *count, gh_load_error *err);
void gh_cases_free(gh_case_spec *cases, size_t count);

/* ---- a catalogue: every case of a directory of scenario files ---------------- */

#define GH_CATALOGUE_MAX_FILES 1024

typedef struct gh_catalogue {
  gh_case_spec *cases; /* every case, file by file in name order */
  size_t count;
  size_t files;
} gh_catalogue;

/* Loads path: one scenario file, or a directory - every *.yaml below it
 * (hidden entries skipped, symlinks not followed, depth at most 8, at most
 * GH_CATALOGUE_MAX_FILES files), in path order. Every file is loaded, so
 * that every broken one is reported: errors[] gets up to max_errors of them
 * and *error_count counts them all. 0 when all loaded, else -1 with nothing
 * allocated (an unreadable directory is one error without a line). */
int gh_catalogue_load(const char *path, gh_catalogue *out, gh_load_error *errors, size_t max_errors,
                      size_t *error_count);
void gh_catalogue_free(gh_catalogue *cat);

/* The expectation of a step for a profile: expect with that profile's
 * override merged over it (fields set in the override win; an override cannot
 * unset a field). NULL or a profile without an override: expect as written.
 * The result borrows the step's strings; nothing to free. */
gh_expect gh_step_expect(const gh_step *step, const char *profile);
/* The same for one node of a node: each call: expect_nodes' entry for node
 * merged over gh_step_expect's result. */
gh_expect gh_step_expect_node(const gh_step *step, const char *profile, int node);
/* The times a sweep step calls at (ms, counted like advance_to): from, from
 * + every, ... up to to, and 1s before and at each edge of its flapping
 * window; sorted, each once. A malloc'd array of *n, or NULL (not a sweep,
 * out of memory). The runner and gatecert repro both use it. */
int64_t *gh_step_sweep_times(const gh_step *s, size_t *n);
/* The nodes of the case's gateway: gateway.nodes, or 1 when not a cluster. */
int gh_case_nodes(const gh_case_spec *c);

/* Looks up a declared name; NULL when absent. */
const gh_pki_spec *gh_case_pki(const gh_case_spec *c, const char *name);
const gh_backend_spec *gh_case_backend(const gh_case_spec *c, const char *name);
const gh_api_spec *gh_case_api(const gh_case_spec *c, const char *name);

/* 1 when the case applies to profile (its list is empty or names it). */
int gh_case_has_profile(const gh_case_spec *c, const char *profile);

/* Parses a duration as the language writes it into milliseconds. 0 or -1. */
int gh_duration_parse(const char *text, int64_t *ms);

#endif
