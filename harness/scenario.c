/* scenario.c - the scenario loader: a YAML file to checked, expanded cases.
 *
 * How it works, in three stages.
 *
 * 1. Read. yaml_reader.c turns the file into a tree of gh_ynode (type,
 *    1-based line and column, a scalar's text) under its bounds (1 MiB, a
 *    node count, a depth, one document, no anchors, aliases or tags, unique
 *    string keys); its error becomes the load's error as it is.
 *
 * 2. Expand. A `matrix` is checked (params are identifiers and unique, every
 *    row is a list of exactly one scalar per param) and each row becomes one
 *    case; without a matrix the file is one case. Every scalar *value* outside
 *    the matrix is read through gh_sc_substitute() (scenario_values.c, with
 *    the typed getters every section uses), which replaces ${param} with the
 *    row's value ($${ is a literal ${); an unknown ${x} is an error at that
 *    scalar. Keys are never substituted.
 *
 * 3. Build. For each case the tree is walked by a schema written as code, one
 *    function per section, in a fixed order so that every reference can be
 *    resolved against what is already built: pki (an issuer must be declared
 *    earlier in the map than what it issues, which rules out cycles), backends,
 *    apis, gateway, then steps. Each function checks the keys of its map
 *    against its allowed list and converts each value to its type (string,
 *    list, map, duration, integer, boolean, one of a set of words). The first
 *    mistake stops the load: gh_load_error gets the file, line, column and a
 *    message saying what was expected, and everything built so far is freed.
 *
 * Every string in a case is its own allocation, owned by the case and freed by
 * gh_cases_free; partially built cases are freed the same way (arrays are
 * zeroed and their counts set before they are filled). All the memory made
 * for cases is counted against MAX_OUTPUT_BYTES, so a matrix cannot multiply
 * a large file into an exhausted heap. Nothing is printed: errors are returned.
 */
#include "scenario.h"
#include "profile.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gcert.h"
#include "gutil.h"
#include "scenario_internal.h"

#define MAX_SSL_PROFILES 16 /* GH_MAX_PROFILES of driver.h */

#define DEFAULT_EPOCH   "2030-01-01T00:00:00Z"
#define DEFAULT_EPOCH_S INT64_C(1893456000)

/* ---- words ---------------------------------------------------------------- */

static const char *const TOP_KEYS[] = {"name",  "features", "profiles", "refs", "epoch",
                                       "needs", "matrix",   "gateway",  "pki",  "backends",
                                       "apis",  "steps",    "quirks",   NULL};
static const char *const MATRIX_KEYS[] = {"params", "rows", NULL};
static const char *const PKI_KEYS[] = {"kind",      "issuer", "subject", "san", "not_before",
                                       "not_after", "eku",    "key",     NULL};
static const char *const PKI_KEY_TYPES[] = {"ec", "rsa2048", "rsa3072", NULL}; /* gh_pki_key */
static const char *const PKI_KINDS[] = {"ca", "server", "client", NULL};       /* gh_pki_kind */
static const char *const EKUS[] = {"default", "none", "server", "client", "both", NULL};
static const char *const BACKEND_KEYS[] = {"cert",  "chain",    "client_auth", "client_ca", "fault",
                                           "delay", "sessions", "tls",         NULL};
static const char *const CLIENT_AUTHS[] = {"none", "optional", "require", NULL};
static const char *const FAULTS[] = {"none",
                                     "refuse",
                                     "reset",
                                     "stall",
                                     "garbage",
                                     "close-mid-body",
                                     "close-after-request",
                                     "close-mid-head",
                                     NULL};
static const char *const TLS_VERSIONS[] = {"any", "1.2", "1.3", NULL};
static const char *const API_KEYS[] = {
    "context",         "version", "backend",       "host",        "security",
    "default_version", "create",  "backend_trust", "backend_key", NULL};
static const char *const SECURITY[] = {"oauth2",
                                       "mutualssl",
                                       "mutualssl_mandatory",
                                       "basic_auth",
                                       "api_key",
                                       "oauth_basic_auth_api_key_mandatory",
                                       "mutualssl_optional",
                                       "oauth_basic_auth_api_key_optional", /* WSO2 4.3+ */
                                       NULL};
static const char *const GATEWAY_KEYS[] = {"sender_reload_interval",
                                           "fault_format",
                                           "backend_timeout",
                                           "trust",
                                           "ssl_profiles",
                                           "default_profile",
                                           "listener",
                                           "mutual_ssl",
                                           "throttling",
                                           "oauth",
                                           "upstream_session_reuse",
                                           "upstream_keepalive",
                                           "nodes",
                                           "start_offsets",
                                           NULL};
static const char *const LISTENER_KEYS[] = {"verify_client",
                                            "profile_reload_interval",
                                            "truststore_reload_period",
                                            "truststore_initial_delay",
                                            "certificate_match",
                                            "chain_validation",
                                            NULL};
static const char *const CERT_MATCHES[] = {"serial_issuer", "serial_subject", NULL};
static const char *const MUTUAL_SSL_KEYS[] = {"certificate_header", "encode",
                                              "client_validation",  "trusted_load_balancers",
                                              "front_lb",           NULL};
static const char *const THROTTLING_KEYS[] = {"per_certificate", "tiers", NULL};
static const char *const TIER_KEYS[] = {"name", "requests", "window", NULL};
static const char *const OAUTH_KEYS[] = {"issuer", "key", "alg", NULL};
static const char *const ALGS[] = {"RS256", "ES256", NULL};
static const char *const FAULT_FORMATS[] = {"json", "xml", NULL};
static const char *const PROFILE_KEYS[] = {"backend",           "host", "trust", "key",
                                           "hostname_verifier", NULL};
static const char *const DEFAULT_PROFILE_KEYS[] = {"trust", "key", "hostname_verifier", NULL};
static const char *const VERIFIERS[] = {"Strict", "AllowAll", "DefaultAndLocalhost", "Default",
                                        NULL};
static const char *const PROFILES[] = {"wso2",     "wso2-4",   "wso2-2.6", "sap",
                                       "sap-2023", "sap-2026", NULL}; /* profile.h */
static const char *const STEP_KINDS[] = {"call",
                                         "advance",
                                         "advance_to",
                                         "upload_endpoint_cert",
                                         "replace_endpoint_cert",
                                         "delete_endpoint_cert",
                                         "create_api",
                                         "delete_api",
                                         "reload",
                                         "restart_gateway",
                                         "upload_client_cert",
                                         "delete_client_cert",
                                         "subscribe",
                                         "sap_store_cert",
                                         "sap_reference",
                                         "sap_provider",
                                         "sweep",
                                         "redeploy_api",
                                         NULL}; /* gh_step_kind */
static const char *const STEP_EXTRA_KEYS[] = {"expect",       "expect_profile",  "within",
                                              "expect_nodes", "expect_flapping", NULL};
static const char *const CALL_KEYS[] = {"api",         "path",  "method",      "headers",
                                        "client_cert", "token", "header_cert", "session",
                                        "connection",  "via",   "node",        NULL};
static const char *const CALL_NODE_WORDS[] = {"each", "balancer",
                                              NULL}; /* GH_NODE_EACH, _BALANCER */
static const char *const SWEEP_KEYS[] = {"api", "path", "method", "from", "to", "every", NULL};
static const char *const FLAPPING_KEYS[] = {"before", "from", "until", "between", "after", NULL};
static const char *const NODE_KEYS[] = {"node", NULL}; /* reload, restart_gateway */
static const char *const NO_KEYS[] = {NULL};
static const char *const VIAS[] = {"gateway", "lb", NULL};
static const char *const REJECTS[] = {"client-cert", "unauthenticated", "backend-tls", NULL};
static const char *const TOKEN_KEYS[] = {"application", "lifetime", "issued_at", "not_before",
                                         "key",         "issuer",   NULL};
static const char *const TOKEN_WORDS[] = {"expired", "garbage", NULL};
static const char *const HEADER_CERT_KEYS[] = {"cert", "encoding", NULL};
static const char *const HEADER_ENCODINGS[] = {"url-pem", "base64-der", "base64-pem",
                                               "raw-pem", "garbage",    NULL};
static const char *const SAP_STORE_CERT_KEYS[] = {"store", "type", "name", "cert", "format", NULL};
static const char *const SAP_STORE_TYPES[] = {"trust", "key", NULL};
static const char *const SAP_FORMATS[] = {
    "pem",      "der",    "pkcs7",  "jks",     "garbage", "empty",
    "oversize", "pkcs12", "sapjar", "pem-key", NULL}; /* FORMATS, then with the key (pki.h) */
static const char *const SAP_REFERENCE_KEYS[] = {"name", "store", NULL};
static const char *const SAP_PROVIDER_KEYS[] = {"name", "backend", "trust_store", NULL};
static const char *const CLIENT_UPLOAD_KEYS[] = {"api",    "alias", "cert", "tier",
                                                 "format", "node",  NULL};
static const char *const CLIENT_DELETE_KEYS[] = {"api", "alias", "node", NULL};
static const char *const SUBSCRIBE_KEYS[] = {"application", "api", "tier", "node", NULL};
static const char *const UPLOAD_KEYS[] = {"alias",  "backend", "endpoint", "cert",
                                          "format", "node",    NULL};
static const char *const REPLACE_KEYS[] = {"alias", "cert", "format", "node", NULL};
static const char *const DELETE_KEYS[] = {"alias", "node", NULL};
static const char *const FORMATS[] = {"pem",     "der",   "pkcs7",    "jks",
                                      "garbage", "empty", "oversize", NULL};
static const char *const CALL_EXPECT_KEYS[] = {
    "status",          "fault_code",  "body_contains", "body_excludes", "header",  "tls_failure",
    "backend_reached", "backend_saw", "log_contains",  "reject",        "resumed", NULL};
static const char *const ADMIN_EXPECT_KEYS[] = {"status", "message", "body_contains", "refused",
                                                NULL};
static const char *const BACKEND_SAW_KEYS[] = {"client_cert", NULL};
static const char *const FAILURE_CLASSES[] = {"tls-alert", "http-4xx", "http-5xx",
                                              "backend-not-reached", NULL};
/* ---- freeing ------------------------------------------------------------- */

static void free_strings(char **v, size_t n) {
  if (v == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static void free_headers(gh_header *h, size_t n) {
  if (h == NULL)
    return;
  for (size_t i = 0; i < n; i++) {
    free(h[i].name);
    free(h[i].value);
  }
  free(h);
}

static void free_expect(gh_expect *e) {
  free(e->fault_code);
  free_strings(e->body_contains, e->body_contains_count);
  free_strings(e->body_excludes, e->body_excludes_count);
  free_headers(e->headers, e->header_count);
  free(e->tls_failure);
  free(e->reject);
  free(e->backend_saw_client_cert);
  free(e->message);
  free_strings(e->log_contains, e->log_contains_count);
}

static void free_profile(gh_profile_spec *p) {
  free(p->backend);
  free(p->host);
  free_strings(p->trust, p->trust_count);
  free(p->key);
  free(p->hostname_verifier);
}

static void free_step(gh_step *s) {
  free(s->client_cert);
  free(s->token.application);
  free(s->token.key);
  free(s->token.issuer);
  free(s->header_cert);
  free(s->header_encoding);
  free(s->session);
  free(s->connection);
  free(s->via);
  free(s->tier);
  free(s->application);
  free(s->api);
  free(s->path);
  free(s->method);
  free_headers(s->headers, s->header_count);
  free(s->alias);
  free(s->sap_name);
  free(s->store);
  free(s->trust_store);
  free(s->backend);
  free(s->endpoint);
  free(s->cert);
  free(s->format);
  free_expect(&s->expect);
  free_strings(s->override_profiles, s->override_count);
  if (s->overrides != NULL) {
    for (size_t i = 0; i < s->override_count; i++)
      free_expect(&s->overrides[i]);
    free(s->overrides);
  }
  free(s->override_nodes);
  if (s->node_overrides != NULL) {
    for (size_t i = 0; i < s->node_override_count; i++)
      free_expect(&s->node_overrides[i]);
    free(s->node_overrides);
  }
}

static void free_case(gh_case_spec *c) {
  free(c->file);
  free(c->name);
  free(c->scenario);
  free_strings(c->features, c->feature_count);
  free_strings(c->profiles, c->profile_count);
  free_strings(c->refs, c->ref_count);
  free_strings(c->needs, c->need_count);
  free(c->epoch);
  gh_gateway_spec *g = &c->gateway;
  free(g->fault_format);
  free_strings(g->trust, g->trust_count);
  free_strings(g->quirks, g->quirk_count);
  if (g->profiles != NULL) {
    for (size_t i = 0; i < g->profile_count; i++)
      free_profile(&g->profiles[i]);
    free(g->profiles);
  }
  free_profile(&g->default_profile);
  free(g->verify_client);
  free(g->certificate_match);
  free(g->certificate_header);
  free(g->front_lb);
  free_strings(g->trusted_load_balancers, g->trusted_load_balancer_count);
  if (g->tiers != NULL) {
    for (size_t i = 0; i < g->tier_count; i++)
      free(g->tiers[i].name);
    free(g->tiers);
  }
  free(g->oauth_issuer);
  free(g->oauth_key);
  free(g->oauth_alg);
  if (c->pki != NULL) {
    for (size_t i = 0; i < c->pki_count; i++) {
      free(c->pki[i].name);
      free(c->pki[i].issuer);
      free(c->pki[i].subject);
      free_strings(c->pki[i].san, c->pki[i].san_count);
    }
    free(c->pki);
  }
  if (c->backends != NULL) {
    for (size_t i = 0; i < c->backend_count; i++) {
      gh_backend_spec *b = &c->backends[i];
      free(b->name);
      free(b->cert);
      free_strings(b->chain, b->chain_count);
      free(b->client_auth);
      free_strings(b->client_ca, b->client_ca_count);
      free(b->fault);
      free(b->tls);
    }
    free(c->backends);
  }
  if (c->apis != NULL) {
    for (size_t i = 0; i < c->api_count; i++) {
      free(c->apis[i].name);
      free(c->apis[i].context);
      free(c->apis[i].version);
      free(c->apis[i].backend);
      free(c->apis[i].host);
      free_strings(c->apis[i].security, c->apis[i].security_count);
      free_strings(c->apis[i].backend_trust, c->apis[i].backend_trust_count);
      free(c->apis[i].backend_key);
    }
    free(c->apis);
  }
  if (c->steps != NULL) {
    for (size_t i = 0; i < c->step_count; i++)
      free_step(&c->steps[i]);
    free(c->steps);
  }
}

void gh_cases_free(gh_case_spec *cases, size_t count) {
  if (cases == NULL)
    return;
  for (size_t i = 0; i < count; i++)
    free_case(&cases[i]);
  free(cases);
}

/* ---- pki ------------------------------------------------------------------ */

/* The issuer of entry i of the pki map: declared earlier, of kind ca. */
static int get_issuer(loader *L, const gh_ynode *pki, size_t i, const gh_ynode *n, char **out) {
  gh_case_spec *c = L->c;
  const char *self = c->pki[i].name;
  if (gh_sc_text_of(L, n, "issuer", "a pki name of kind ca", out))
    return -1;
  gh_yaml_qbuf q;
  gh_yaml_qbuf q2;
  int rc = 0;
  if (strcmp(*out, self) == 0) {
    rc = fail(L, n,
              "issuer: %s cannot issue itself (leave out issuer for a self-signed certificate)",
              gh_yaml_quote(&q, self));
    goto done;
  }
  for (size_t j = 0; j < i; j++) {
    if (strcmp(c->pki[j].name, *out) == 0) {
      if (c->pki[j].kind != GH_PKI_CA)
        rc = fail(L, n, "issuer: %s is a %s certificate, expected a pki of kind ca",
                  gh_yaml_quote(&q, *out), PKI_KINDS[c->pki[j].kind]);
      goto done;
    }
  }
  for (size_t j = i + 1; j < pki->kid_count / 2; j++) {
    if (strcmp(pki->kids[2 * j]->text, *out) == 0) {
      rc = fail(L, n,
                "issuer: %s is declared after %s; declare an issuer earlier in pki than what it "
                "issues (this rules out cycles)",
                gh_yaml_quote(&q, *out), gh_yaml_quote(&q2, self));
      goto done;
    }
  }
  char list[200];
  rc = fail(L, n, "issuer: %s is not a pki name (%s)", gh_yaml_quote(&q, *out),
            gh_sc_declared_list(c->pki, i, sizeof(gh_pki_spec), list, sizeof(list)));
done:
  if (rc) {
    free(*out);
    *out = NULL;
  }
  return rc;
}

static int build_pki_entry(loader *L, const gh_ynode *pki, size_t i) {
  gh_pki_spec *p = &L->c->pki[i];
  const gh_ynode *key = pki->kids[2 * i];
  const gh_ynode *map = pki->kids[2 * i + 1];
  p->kind = GH_PKI_SERVER;
  p->eku = GH_EKU_DEFAULT;
  p->not_before_ms = -3600 * MS_PER_S;
  p->not_after_ms = 365 * MS_PER_DAY;
  if (gh_sc_declared_name(L, key, "pki", &p->name) || gh_sc_get_map(L, map, "a pki entry") ||
      gh_sc_check_keys(L, map, "a pki entry", PKI_KEYS))
    return -1;
  const gh_ynode *v = NULL;
  int index = 0;
  if ((v = gh_yaml_map_get(map, "kind")) != NULL) {
    if (gh_sc_get_word(L, v, "kind", PKI_KINDS, &index, NULL))
      return -1;
    p->kind = (gh_pki_kind)index;
  }
  if ((v = gh_yaml_map_get(map, "issuer")) != NULL && get_issuer(L, pki, i, v, &p->issuer))
    return -1;
  if ((v = gh_yaml_map_get(map, "subject")) != NULL &&
      gh_sc_get_string(L, v, "subject", &p->subject))
    return -1;
  if ((v = gh_yaml_map_get(map, "san")) != NULL &&
      gh_sc_get_strings(L, v, "san", LIST_TEXT, NULL, 0, 0, &p->san, &p->san_count))
    return -1;
  const gh_ynode *before = gh_yaml_map_get(map, "not_before");
  const gh_ynode *after = gh_yaml_map_get(map, "not_after");
  if (before != NULL &&
      gh_sc_get_duration(L, before, "not_before", INT64_MIN, INT64_MAX, "", &p->not_before_ms))
    return -1;
  if (after != NULL &&
      gh_sc_get_duration(L, after, "not_after", INT64_MIN, INT64_MAX, "", &p->not_after_ms))
    return -1;
  if (p->not_after_ms <= p->not_before_ms) {
    char a[32];
    char b[32];
    return fail(L, after ? after : before,
                "not_after (%s) must be later than not_before (%s), both relative to the epoch",
                gh_sc_duration_text(p->not_after_ms, a, sizeof(a)),
                gh_sc_duration_text(p->not_before_ms, b, sizeof(b)));
  }
  if ((v = gh_yaml_map_get(map, "eku")) != NULL) {
    if (gh_sc_get_word(L, v, "eku", EKUS, &index, NULL))
      return -1;
    p->eku = (gh_eku)index;
  }
  if ((v = gh_yaml_map_get(map, "key")) != NULL) {
    if (gh_sc_get_word(L, v, "key", PKI_KEY_TYPES, &index, NULL))
      return -1;
    p->key = (gh_pki_key)index;
  }
  return 0;
}

static int build_pki(loader *L, const gh_ynode *pki) {
  if (gh_sc_get_map(L, pki, "pki"))
    return -1;
  size_t n = pki->kid_count / 2;
  if (n == 0)
    return 0;
  L->c->pki = gh_sc_take(L, pki, n, sizeof(gh_pki_spec));
  if (L->c->pki == NULL)
    return -1;
  L->c->pki_count = n;
  for (size_t i = 0; i < n; i++)
    if (build_pki_entry(L, pki, i))
      return -1;
  return 0;
}

/* ---- backends ------------------------------------------------------------- */

static int build_backend(loader *L, const gh_ynode *key, const gh_ynode *map, gh_backend_spec *b) {
  if (gh_sc_declared_name(L, key, "backends", &b->name) || gh_sc_get_map(L, map, "a backend") ||
      gh_sc_check_keys(L, map, "a backend", BACKEND_KEYS))
    return -1;
  const gh_ynode *v = NULL;
  int fault = 0;
  if ((v = gh_yaml_map_get(map, "fault")) != NULL) {
    if (gh_sc_get_word(L, v, "fault", FAULTS, &fault, &b->fault))
      return -1;
  } else if ((b->fault = gh_sc_take_string(L, map, "none", 4)) == NULL) {
    return -1;
  }
  if ((v = gh_yaml_map_get(map, "cert")) != NULL) {
    if (gh_sc_get_pki_ref(L, v, "cert", 0, &b->cert))
      return -1;
  } else if (strcmp(b->fault, "refuse") != 0 && strcmp(b->fault, "reset") != 0 &&
             strcmp(b->fault, "stall") != 0) {
    return fail(L, map,
                "backend '%s': missing key 'cert' (required unless fault is refuse, "
                "reset or stall)",
                b->name);
  }
  if ((v = gh_yaml_map_get(map, "chain")) != NULL &&
      gh_sc_get_strings(L, v, "chain", LIST_PKI, NULL, 0, 0, &b->chain, &b->chain_count))
    return -1;
  if ((v = gh_yaml_map_get(map, "client_auth")) != NULL) {
    if (gh_sc_get_word(L, v, "client_auth", CLIENT_AUTHS, NULL, &b->client_auth))
      return -1;
  } else if ((b->client_auth = gh_sc_take_string(L, map, "none", 4)) == NULL) {
    return -1;
  }
  if ((v = gh_yaml_map_get(map, "client_ca")) != NULL &&
      gh_sc_get_strings(L, v, "client_ca", LIST_PKI, NULL, 0, 0, &b->client_ca,
                        &b->client_ca_count))
    return -1;
  if ((v = gh_yaml_map_get(map, "delay")) != NULL &&
      gh_sc_get_duration(L, v, "delay", 0, 600 * MS_PER_S, "from 0s to 600s", &b->delay_ms))
    return -1;
  if ((v = gh_yaml_map_get(map, "sessions")) != NULL &&
      gh_sc_get_bool(L, v, "sessions", &b->sessions))
    return -1;
  if ((v = gh_yaml_map_get(map, "tls")) != NULL) {
    if (gh_sc_get_word(L, v, "tls", TLS_VERSIONS, NULL, &b->tls))
      return -1;
  } else if ((b->tls = gh_sc_take_string(L, map, "any", 3)) == NULL) {
    return -1;
  }
  return 0;
}

static int build_backends(loader *L, const gh_ynode *map) {
  if (gh_sc_get_map(L, map, "backends"))
    return -1;
  size_t n = map->kid_count / 2;
  if (n == 0)
    return 0;
  L->c->backends = gh_sc_take(L, map, n, sizeof(gh_backend_spec));
  if (L->c->backends == NULL)
    return -1;
  L->c->backend_count = n;
  for (size_t i = 0; i < n; i++)
    if (build_backend(L, map->kids[2 * i], map->kids[2 * i + 1], &L->c->backends[i]))
      return -1;
  return 0;
}

/* ---- apis ----------------------------------------------------------------- */

static int build_api(loader *L, const gh_ynode *key, const gh_ynode *map, gh_api_spec *a) {
  a->create = 1;
  if (gh_sc_declared_name(L, key, "apis", &a->name) || gh_sc_get_map(L, map, "an API") ||
      gh_sc_check_keys(L, map, "an API", API_KEYS))
    return -1;
  const gh_ynode *v = NULL;
  char section[GH_NAME_MAX + 16];
  snprintf(section, sizeof(section), "API '%s'", a->name);
  if (gh_sc_require(L, map, "context", section, &v) ||
      gh_sc_get_clean_string(L, v, "context", 1, &a->context))
    return -1;
  if (a->context[0] != '/') {
    gh_yaml_qbuf q;
    return fail(L, v, "context: expected a path starting with '/', got %s",
                gh_yaml_quote(&q, a->context));
  }
  if (gh_sc_require(L, map, "version", section, &v) ||
      gh_sc_get_clean_string(L, v, "version", 1, &a->version))
    return -1;
  if (gh_sc_require(L, map, "backend", section, &v) ||
      gh_sc_get_backend_ref(L, v, "backend", &a->backend))
    return -1;
  if ((v = gh_yaml_map_get(map, "host")) != NULL) {
    if (gh_sc_get_clean_string(L, v, "host", 1, &a->host))
      return -1;
  } else if ((a->host = gh_sc_take_string(L, map, "localhost", 9)) == NULL) {
    return -1;
  }
  if ((v = gh_yaml_map_get(map, "security")) != NULL &&
      gh_sc_get_strings(L, v, "security", LIST_WORD, SECURITY, 0, 0, &a->security,
                        &a->security_count))
    return -1;
  if ((v = gh_yaml_map_get(map, "default_version")) != NULL &&
      gh_sc_get_bool(L, v, "default_version", &a->default_version))
    return -1;
  if ((v = gh_yaml_map_get(map, "create")) != NULL && gh_sc_get_bool(L, v, "create", &a->create))
    return -1;
  if ((v = gh_yaml_map_get(map, "backend_trust")) != NULL &&
      gh_sc_get_strings(L, v, "backend_trust", LIST_PKI, NULL, 0, 1, &a->backend_trust,
                        &a->backend_trust_count))
    return -1;
  if ((v = gh_yaml_map_get(map, "backend_key")) != NULL &&
      gh_sc_get_pki_ref(L, v, "backend_key", 1, &a->backend_key))
    return -1;
  return 0;
}

static int build_apis(loader *L, const gh_ynode *map) {
  if (gh_sc_get_map(L, map, "apis"))
    return -1;
  size_t n = map->kid_count / 2;
  if (n == 0)
    return 0;
  L->c->apis = gh_sc_take(L, map, n, sizeof(gh_api_spec));
  if (L->c->apis == NULL)
    return -1;
  L->c->api_count = n;
  for (size_t i = 0; i < n; i++)
    if (build_api(L, map->kids[2 * i], map->kids[2 * i + 1], &L->c->apis[i]))
      return -1;
  return 0;
}

/* ---- gateway -------------------------------------------------------------- */

/* The keys an SSL profile and the default profile share: trust, key, verifier. */
static int build_profile_common(loader *L, const gh_ynode *map, gh_profile_spec *p) {
  const gh_ynode *v = NULL;
  if ((v = gh_yaml_map_get(map, "trust")) != NULL &&
      gh_sc_get_strings(L, v, "trust", LIST_PKI, NULL, 0, 0, &p->trust, &p->trust_count))
    return -1;
  if ((v = gh_yaml_map_get(map, "key")) != NULL && gh_sc_get_pki_ref(L, v, "key", 1, &p->key))
    return -1;
  if ((v = gh_yaml_map_get(map, "hostname_verifier")) != NULL &&
      gh_sc_get_word(L, v, "hostname_verifier", VERIFIERS, NULL, &p->hostname_verifier))
    return -1;
  return 0;
}

static int build_ssl_profiles(loader *L, const gh_ynode *list) {
  gh_gateway_spec *g = &L->c->gateway;
  if (gh_sc_get_list(L, list, "ssl_profiles", 0))
    return -1;
  if (list->kid_count > MAX_SSL_PROFILES)
    return fail(L, list, "ssl_profiles: at most %d profiles, got %zu", MAX_SSL_PROFILES,
                list->kid_count);
  if (list->kid_count == 0)
    return 0;
  g->profiles = gh_sc_take(L, list, list->kid_count, sizeof(gh_profile_spec));
  if (g->profiles == NULL)
    return -1;
  g->profile_count = list->kid_count;
  for (size_t i = 0; i < list->kid_count; i++) {
    const gh_ynode *map = list->kids[i];
    gh_profile_spec *p = &g->profiles[i];
    const gh_ynode *v = NULL;
    if (gh_sc_get_map(L, map, "an SSL profile") ||
        gh_sc_check_keys(L, map, "an SSL profile", PROFILE_KEYS) ||
        gh_sc_require(L, map, "backend", "an SSL profile", &v) ||
        gh_sc_get_backend_ref(L, v, "backend", &p->backend))
      return -1;
    if ((v = gh_yaml_map_get(map, "host")) != NULL) {
      if (gh_sc_get_clean_string(L, v, "host", 1, &p->host))
        return -1;
    } else if ((p->host = gh_sc_take_string(L, map, "localhost", 9)) == NULL) {
      return -1;
    }
    if (build_profile_common(L, map, p))
      return -1;
    for (size_t j = 0; j < i; j++)
      if (strcmp(g->profiles[j].backend, p->backend) == 0 &&
          strcmp(g->profiles[j].host, p->host) == 0)
        return fail(L, map, "ssl_profiles: a second profile for backend '%s' as host '%s'",
                    p->backend, p->host);
  }
  return 0;
}

/* A boolean into a -1/0/1 field. */
/* upstream_session_reuse, upstream_keepalive (what): a boolean, or "default"
 * (-1: the product's own default, so that a matrix row can compare it with a
 * setting). */
static int get_reuse(loader *L, const gh_ynode *n, const char *what, int *out) {
  char *text = NULL;
  if (gh_sc_text_of(L, n, what, "a boolean or default", &text))
    return -1;
  int rc = 0;
  if (strcmp(text, "default") == 0) {
    *out = -1;
  } else if (gh_sc_word_index(gh_sc_bool_true, text) >= 0) {
    *out = 1;
  } else if (gh_sc_word_index(gh_sc_bool_false, text) >= 0) {
    *out = 0;
  } else {
    gh_yaml_qbuf q;
    rc = fail(L, n, "%s: expected true, false or default, got %s", what, gh_yaml_quote(&q, text));
  }
  free(text);
  return rc;
}

static int get_tristate(loader *L, const gh_ynode *n, const char *what, int *out) {
  int yes = 0;
  if (gh_sc_get_bool(L, n, what, &yes))
    return -1;
  *out = yes;
  return 0;
}

static int build_listener(loader *L, const gh_ynode *map) {
  gh_gateway_spec *g = &L->c->gateway;
  if (gh_sc_get_map(L, map, "listener") || gh_sc_check_keys(L, map, "listener", LISTENER_KEYS))
    return -1;
  const gh_ynode *v = NULL;
  if ((v = gh_yaml_map_get(map, "verify_client")) != NULL &&
      gh_sc_get_word(L, v, "verify_client", CLIENT_AUTHS, NULL, &g->verify_client))
    return -1;
  if ((v = gh_yaml_map_get(map, "profile_reload_interval")) != NULL &&
      gh_sc_get_duration(L, v, "profile_reload_interval", MS_PER_S, INT64_MAX, "of 1s or more",
                         &g->profile_reload_interval_ms))
    return -1;
  if ((v = gh_yaml_map_get(map, "truststore_reload_period")) != NULL &&
      gh_sc_get_duration(L, v, "truststore_reload_period", MS_PER_S, INT64_MAX, "of 1s or more",
                         &g->truststore_reload_period_ms))
    return -1;
  if ((v = gh_yaml_map_get(map, "truststore_initial_delay")) != NULL &&
      gh_sc_get_duration(L, v, "truststore_initial_delay", 0, INT64_MAX, "of 0s or more",
                         &g->truststore_initial_delay_ms))
    return -1;
  if ((v = gh_yaml_map_get(map, "certificate_match")) != NULL &&
      gh_sc_get_word(L, v, "certificate_match", CERT_MATCHES, NULL, &g->certificate_match))
    return -1;
  if ((v = gh_yaml_map_get(map, "chain_validation")) != NULL &&
      get_tristate(L, v, "chain_validation", &g->chain_validation))
    return -1;
  return 0;
}

static int build_mutual_ssl(loader *L, const gh_ynode *map) {
  gh_gateway_spec *g = &L->c->gateway;
  if (gh_sc_get_map(L, map, "mutual_ssl") ||
      gh_sc_check_keys(L, map, "mutual_ssl", MUTUAL_SSL_KEYS))
    return -1;
  g->has_mutual_ssl = 1;
  const gh_ynode *v = NULL;
  if ((v = gh_yaml_map_get(map, "certificate_header")) != NULL) {
    if (gh_sc_get_string(L, v, "certificate_header", &g->certificate_header))
      return -1;
    for (const char *p = g->certificate_header; *p; p++) {
      if (strchr("!#$%&'*+-.^_`|~", *p) == NULL && !(*p >= '0' && *p <= '9') &&
          !(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z')) {
        gh_yaml_qbuf q;
        return fail(L, v,
                    "certificate_header: %s is not a header name (letters, digits and "
                    "!#$%%&'*+-.^_`|~)",
                    gh_yaml_quote(&q, g->certificate_header));
      }
    }
  }
  if ((v = gh_yaml_map_get(map, "encode")) != NULL &&
      get_tristate(L, v, "encode", &g->header_encode))
    return -1;
  if ((v = gh_yaml_map_get(map, "client_validation")) != NULL &&
      get_tristate(L, v, "client_validation", &g->client_validation))
    return -1;
  if ((v = gh_yaml_map_get(map, "trusted_load_balancers")) != NULL) {
    if (gh_sc_get_strings(L, v, "trusted_load_balancers", LIST_PKI, NULL, 0, 0,
                          &g->trusted_load_balancers, &g->trusted_load_balancer_count))
      return -1;
    if (g->trusted_load_balancer_count > GH_MAX_LOAD_BALANCERS)
      return fail(L, v, "trusted_load_balancers: at most %d, got %zu", GH_MAX_LOAD_BALANCERS,
                  g->trusted_load_balancer_count);
  }
  if ((v = gh_yaml_map_get(map, "front_lb")) != NULL &&
      gh_sc_get_pki_ref(L, v, "front_lb", 0, &g->front_lb))
    return -1;
  return 0;
}

static int build_throttling(loader *L, const gh_ynode *map) {
  gh_gateway_spec *g = &L->c->gateway;
  if (gh_sc_get_map(L, map, "throttling") ||
      gh_sc_check_keys(L, map, "throttling", THROTTLING_KEYS))
    return -1;
  g->has_throttling = 1;
  const gh_ynode *v = NULL;
  if ((v = gh_yaml_map_get(map, "per_certificate")) != NULL &&
      get_tristate(L, v, "per_certificate", &g->per_certificate))
    return -1;
  const gh_ynode *list = gh_yaml_map_get(map, "tiers");
  if (list == NULL)
    return 0;
  if (gh_sc_get_list(L, list, "tiers", 0))
    return -1;
  if (list->kid_count > GH_MAX_TIERS)
    return fail(L, list, "tiers: at most %d tiers, got %zu", GH_MAX_TIERS, list->kid_count);
  if (list->kid_count == 0)
    return 0;
  g->tiers = gh_sc_take(L, list, list->kid_count, sizeof(gh_tier_spec));
  if (g->tiers == NULL)
    return -1;
  g->tier_count = list->kid_count;
  for (size_t i = 0; i < list->kid_count; i++) {
    const gh_ynode *t = list->kids[i];
    gh_tier_spec *tier = &g->tiers[i];
    if (gh_sc_get_map(L, t, "a tier") || gh_sc_check_keys(L, t, "a tier", TIER_KEYS) ||
        gh_sc_require(L, t, "name", "a tier", &v) || gh_sc_get_string(L, v, "name", &tier->name) ||
        gh_sc_check_name(L, v, "name", tier->name))
      return -1;
    for (size_t j = 0; j < i; j++)
      if (strcmp(g->tiers[j].name, tier->name) == 0) {
        gh_yaml_qbuf q;
        return fail(L, v, "tiers: %s is declared twice", gh_yaml_quote(&q, tier->name));
      }
    if (gh_sc_require(L, t, "requests", "a tier", &v) ||
        gh_sc_get_integer(L, v, "requests", 0, 1000000000L, &tier->requests))
      return -1;
    tier->window_ms = 60 * MS_PER_S;
    if ((v = gh_yaml_map_get(t, "window")) != NULL &&
        gh_sc_get_duration(L, v, "window", MS_PER_S, 366 * MS_PER_DAY, "from 1s to 366d",
                           &tier->window_ms))
      return -1;
  }
  return 0;
}

static int build_oauth(loader *L, const gh_ynode *map) {
  gh_gateway_spec *g = &L->c->gateway;
  if (gh_sc_get_map(L, map, "oauth") || gh_sc_check_keys(L, map, "oauth", OAUTH_KEYS))
    return -1;
  const gh_ynode *v = NULL;
  if (gh_sc_require(L, map, "issuer", "oauth", &v) ||
      gh_sc_get_clean_string(L, v, "issuer", 1, &g->oauth_issuer))
    return -1;
  const gh_ynode *key = NULL;
  if (gh_sc_require(L, map, "key", "oauth", &key) ||
      gh_sc_get_pki_ref(L, key, "key", 0, &g->oauth_key))
    return -1;
  gh_pki_key type = gh_sc_find_pki(L->c, g->oauth_key)->key;
  const char *natural = type == GH_KEY_EC ? "ES256" : "RS256";
  if ((v = gh_yaml_map_get(map, "alg")) != NULL) {
    if (gh_sc_get_word(L, v, "alg", ALGS, NULL, &g->oauth_alg))
      return -1;
    if (strcmp(g->oauth_alg, natural) != 0) {
      gh_yaml_qbuf q;
      return fail(L, v, "alg: %s signs with %s keys, and pki %s has key %s (write key: %s there)",
                  g->oauth_alg, strcmp(g->oauth_alg, "RS256") == 0 ? "RSA" : "EC P-256",
                  gh_yaml_quote(&q, g->oauth_key), PKI_KEY_TYPES[type],
                  strcmp(g->oauth_alg, "RS256") == 0 ? "rsa2048" : "ec");
    }
  } else if ((g->oauth_alg = gh_sc_take_string(L, map, natural, strlen(natural))) == NULL) {
    return -1;
  }
  g->has_oauth = 1;
  return 0;
}

/* gateway.nodes and gateway.start_offsets (a cluster). */
static int build_cluster(loader *L, const gh_ynode *map) {
  gh_gateway_spec *g = &L->c->gateway;
  const gh_ynode *nodes = gh_yaml_map_get(map, "nodes");
  const gh_ynode *offsets = gh_yaml_map_get(map, "start_offsets");
  if (nodes == NULL) {
    if (offsets != NULL)
      return fail(L, offsets, "start_offsets: needs nodes (how many gateways the cluster has)");
    return 0;
  }
  long n = 0;
  if (gh_sc_get_integer(L, nodes, "nodes", 1, GH_MAX_NODES, &n))
    return -1;
  g->nodes = (int)n;
  if (offsets == NULL)
    return 0; /* every node starts with the case */
  if (gh_sc_get_list(L, offsets, "start_offsets", 1))
    return -1;
  if (offsets->kid_count != (size_t)n)
    return fail(L, offsets, "start_offsets: expected one offset per node (%ld), got %zu", n,
                offsets->kid_count);
  for (size_t i = 0; i < offsets->kid_count; i++) {
    const gh_ynode *o = offsets->kids[i];
    char what[80];
    char a[32];
    char b[32];
    snprintf(what, sizeof(what), "start_offsets[%zu] (node %zu)", i, i + 1);
    if (gh_sc_get_duration(L, o, what, 0, 366 * MS_PER_DAY, "from 0s to 366d",
                           &g->start_offsets_ms[i]))
      return -1;
    if (i == 0 && g->start_offsets_ms[0] != 0)
      return fail(L, o, "%s: node 1 starts with the case: expected 0s, got %s", what,
                  gh_sc_duration_text(g->start_offsets_ms[0], a, sizeof(a)));
    if (i > 0 && g->start_offsets_ms[i] < g->start_offsets_ms[i - 1])
      return fail(L, o,
                  "%s: nodes start in order: %s is before node %zu's %s (the clock only moves "
                  "forward)",
                  what, gh_sc_duration_text(g->start_offsets_ms[i], a, sizeof(a)), i,
                  gh_sc_duration_text(g->start_offsets_ms[i - 1], b, sizeof(b)));
  }
  return 0;
}

static int build_gateway(loader *L, const gh_ynode *map) {
  gh_gateway_spec *g = &L->c->gateway;
  if (gh_sc_get_map(L, map, "gateway") || gh_sc_check_keys(L, map, "gateway", GATEWAY_KEYS))
    return -1;
  const gh_ynode *v = NULL;
  if ((v = gh_yaml_map_get(map, "sender_reload_interval")) != NULL &&
      gh_sc_get_duration(L, v, "sender_reload_interval", 0, INT64_MAX, "of 0s or more",
                         &g->sender_reload_interval_ms))
    return -1;
  if ((v = gh_yaml_map_get(map, "fault_format")) != NULL &&
      gh_sc_get_word(L, v, "fault_format", FAULT_FORMATS, NULL, &g->fault_format))
    return -1;
  if ((v = gh_yaml_map_get(map, "backend_timeout")) != NULL &&
      gh_sc_get_duration(L, v, "backend_timeout", 0, INT64_MAX, "of 0s or more",
                         &g->backend_timeout_ms))
    return -1;
  if ((v = gh_yaml_map_get(map, "trust")) != NULL &&
      gh_sc_get_strings(L, v, "trust", LIST_PKI, NULL, 0, 0, &g->trust, &g->trust_count))
    return -1;
  if ((v = gh_yaml_map_get(map, "ssl_profiles")) != NULL && build_ssl_profiles(L, v))
    return -1;
  if ((v = gh_yaml_map_get(map, "default_profile")) != NULL) {
    if (gh_sc_get_map(L, v, "default_profile") ||
        gh_sc_check_keys(L, v, "default_profile", DEFAULT_PROFILE_KEYS) ||
        build_profile_common(L, v, &g->default_profile))
      return -1;
    g->has_default_profile = 1;
  }
  if ((v = gh_yaml_map_get(map, "listener")) != NULL && build_listener(L, v))
    return -1;
  if ((v = gh_yaml_map_get(map, "mutual_ssl")) != NULL && build_mutual_ssl(L, v))
    return -1;
  if ((v = gh_yaml_map_get(map, "throttling")) != NULL && build_throttling(L, v))
    return -1;
  if ((v = gh_yaml_map_get(map, "upstream_session_reuse")) != NULL &&
      get_reuse(L, v, "upstream_session_reuse", &g->upstream_session_reuse))
    return -1;
  if ((v = gh_yaml_map_get(map, "upstream_keepalive")) != NULL &&
      get_reuse(L, v, "upstream_keepalive", &g->upstream_keepalive))
    return -1;
  if ((v = gh_yaml_map_get(map, "oauth")) != NULL && build_oauth(L, v))
    return -1;
  return build_cluster(L, map);
}

/* ---- expectations --------------------------------------------------------- */

static int build_headers(loader *L, const gh_ynode *map, const char *what, gh_header **out,
                         size_t *count) {
  if (gh_sc_get_map(L, map, what))
    return -1;
  size_t n = map->kid_count / 2;
  if (n == 0)
    return 0;
  *out = gh_sc_take(L, map, n, sizeof(gh_header));
  if (*out == NULL)
    return -1;
  *count = n;
  for (size_t i = 0; i < n; i++) {
    const gh_ynode *key = map->kids[2 * i];
    const gh_ynode *value = map->kids[2 * i + 1];
    for (const char *p = key->text; *p; p++) {
      if (strchr("!#$%&'*+-.^_`|~", *p) == NULL && !(*p >= '0' && *p <= '9') &&
          !(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z')) {
        gh_yaml_qbuf q;
        return fail(L, key, "%s: %s is not a header name (letters, digits and !#$%%&'*+-.^_`|~)",
                    what, gh_yaml_quote(&q, key->text));
      }
    }
    if (((*out)[i].name = gh_sc_take_string(L, key, key->text, key->len)) == NULL ||
        gh_sc_get_text(L, value, key->text, 1, &(*out)[i].value))
      return -1;
    if (strpbrk((*out)[i].value, "\r\n") != NULL)
      return fail(L, value, "%s: a header value must not contain a line break", key->text);
  }
  return 0;
}

static int build_expect(loader *L, const gh_ynode *map, const char *section,
                        const char *const *keys, gh_expect *e) {
  if (gh_sc_get_map(L, map, section) || gh_sc_check_keys(L, map, section, keys))
    return -1;
  e->set = 1;
  const gh_ynode *v = NULL;
  if ((v = gh_yaml_map_get(map, "status")) != NULL &&
      gh_sc_get_integer(L, v, "status", 100, 599, &e->status))
    return -1;
  if ((v = gh_yaml_map_get(map, "fault_code")) != NULL &&
      gh_sc_get_string(L, v, "fault_code", &e->fault_code))
    return -1;
  if ((v = gh_yaml_map_get(map, "body_contains")) != NULL &&
      gh_sc_get_strings(L, v, "body_contains", LIST_TEXT, NULL, 1, 1, &e->body_contains,
                        &e->body_contains_count))
    return -1;
  if ((v = gh_yaml_map_get(map, "body_excludes")) != NULL &&
      gh_sc_get_strings(L, v, "body_excludes", LIST_TEXT, NULL, 1, 1, &e->body_excludes,
                        &e->body_excludes_count))
    return -1;
  if ((v = gh_yaml_map_get(map, "header")) != NULL &&
      build_headers(L, v, "header", &e->headers, &e->header_count))
    return -1;
  if ((v = gh_yaml_map_get(map, "tls_failure")) != NULL &&
      gh_sc_get_word(L, v, "tls_failure", FAILURE_CLASSES, NULL, &e->tls_failure))
    return -1;
  if ((v = gh_yaml_map_get(map, "reject")) != NULL &&
      gh_sc_get_word(L, v, "reject", REJECTS, NULL, &e->reject))
    return -1;
  if ((v = gh_yaml_map_get(map, "backend_reached")) != NULL) {
    int yes = 0;
    if (gh_sc_get_bool(L, v, "backend_reached", &yes))
      return -1;
    e->backend_reached = yes ? GH_YES : GH_NO;
  }
  if ((v = gh_yaml_map_get(map, "refused")) != NULL) {
    int yes = 0;
    if (gh_sc_get_bool(L, v, "refused", &yes))
      return -1;
    e->refused = yes ? GH_YES : GH_NO;
  }
  if ((v = gh_yaml_map_get(map, "resumed")) != NULL) {
    int yes = 0;
    if (gh_sc_get_bool(L, v, "resumed", &yes))
      return -1;
    e->resumed = yes ? GH_YES : GH_NO;
  }
  if ((v = gh_yaml_map_get(map, "backend_saw")) != NULL) {
    const gh_ynode *cert = NULL;
    if (gh_sc_get_map(L, v, "backend_saw") ||
        gh_sc_check_keys(L, v, "backend_saw", BACKEND_SAW_KEYS) ||
        gh_sc_require(L, v, "client_cert", "backend_saw", &cert) ||
        gh_sc_get_pki_ref(L, cert, "client_cert", 1, &e->backend_saw_client_cert))
      return -1;
  }
  if ((v = gh_yaml_map_get(map, "message")) != NULL &&
      gh_sc_get_string(L, v, "message", &e->message))
    return -1;
  if ((v = gh_yaml_map_get(map, "log_contains")) != NULL &&
      gh_sc_get_strings(L, v, "log_contains", LIST_TEXT, NULL, 1, 1, &e->log_contains,
                        &e->log_contains_count))
    return -1;
  return 0;
}

/* 1 when an expect_profile word is within the case's profiles: same family
 * (an override for wso2-2.6 in a case for wso2, or for wso2 in one for wso2-4). */
static int case_covers(const gh_case_spec *c, const char *word) {
  if (c->profile_count == 0)
    return 1;
  const char *family = gh_profile_family(word);
  for (size_t i = 0; i < c->profile_count; i++)
    if (c->profiles[i] != NULL && family != NULL &&
        strcmp(gh_profile_family(c->profiles[i]), family) == 0)
      return 1;
  return 0;
}

static int build_overrides(loader *L, const gh_ynode *map, const char *const *keys, gh_step *s) {
  if (gh_sc_get_map(L, map, "expect_profile"))
    return -1;
  size_t n = map->kid_count / 2;
  if (n == 0)
    return 0;
  s->override_profiles = gh_sc_take(L, map, n, sizeof(char *));
  if (s->override_profiles == NULL)
    return -1;
  s->overrides = gh_sc_take(L, map, n, sizeof(gh_expect));
  if (s->overrides == NULL)
    return -1;
  s->override_count = n;
  for (size_t i = 0; i < n; i++) {
    s->overrides[i].backend_reached = GH_UNSET;
    s->overrides[i].resumed = GH_UNSET;
    s->overrides[i].refused = GH_UNSET;
  }
  for (size_t i = 0; i < n; i++) {
    const gh_ynode *key = map->kids[2 * i];
    gh_yaml_qbuf q;
    char list[100];
    if (gh_sc_word_index(PROFILES, key->text) < 0)
      return fail(L, key, "expect_profile: %s is not a profile; expected one of: %s",
                  gh_yaml_quote(&q, key->text), gh_sc_join_words(PROFILES, list, sizeof(list)));
    if (!case_covers(L->c, key->text))
      return fail(L, key, "expect_profile: %s is not in this scenario's profiles",
                  gh_yaml_quote(&q, key->text));
    s->override_profiles[i] = gh_sc_take_string(L, key, key->text, key->len);
    if (s->override_profiles[i] == NULL)
      return -1;
    char section[64];
    snprintf(section, sizeof(section), "expect_profile.%s", key->text);
    if (build_expect(L, map->kids[2 * i + 1], section, keys, &s->overrides[i]))
      return -1;
  }
  return 0;
}

/* ---- steps ---------------------------------------------------------------- */

/* token: {application, lifetime, issued_at, not_before, key, issuer}, or
 * expired / garbage. */
static int build_token(loader *L, const gh_ynode *n, gh_step *s) {
  gh_token_spec *t = &s->token;
  const gh_gateway_spec *g = &L->c->gateway;
  t->lifetime_ms = 3600 * MS_PER_S;
  if (n->type == GH_Y_SCALAR && !n->is_null) {
    char *text = NULL;
    if (gh_sc_substitute(L, n, &text))
      return -1;
    int word = gh_sc_word_index(TOKEN_WORDS, text);
    if (word < 0) {
      gh_yaml_qbuf q;
      int rc = fail(L, n,
                    "token: expected a map such as {application: app1}, expired or garbage, got %s",
                    gh_yaml_quote(&q, text));
      free(text);
      return rc;
    }
    free(text);
    if (word == 1) {
      t->kind = GH_TOKEN_GARBAGE;
      return 0;
    }
    if (!g->has_oauth)
      return fail(L, n, "token: expired needs gateway.oauth (the key manager that signs it)");
    if (L->first_application == NULL)
      return fail(L, n,
                  "token: expired needs an application: write a subscribe step before this "
                  "call, or token: {application: NAME, issued_at: -2h}");
    t->kind = GH_TOKEN_JWT;
    t->issued_at_ms = (int64_t)-2 * 3600 * MS_PER_S;
    t->application = gh_sc_take_string(L, n, L->first_application, strlen(L->first_application));
    return t->application == NULL ? -1 : 0;
  }
  if (n->type != GH_Y_MAP) {
    gh_yaml_qbuf q;
    return fail(L, n,
                "token: expected a map such as {application: app1}, expired or garbage, got %s",
                gh_yaml_describe(&q, n));
  }
  const gh_ynode *v = NULL;
  if (gh_sc_check_keys(L, n, "token", TOKEN_KEYS) ||
      gh_sc_require(L, n, "application", "token", &v) ||
      gh_sc_get_string(L, v, "application", &t->application) ||
      gh_sc_check_name(L, v, "application", t->application))
    return -1;
  if (!g->has_oauth)
    return fail(L, n, "token: needs gateway.oauth (the key manager that signs it)");
  t->kind = GH_TOKEN_JWT;
  if ((v = gh_yaml_map_get(n, "lifetime")) != NULL &&
      gh_sc_get_duration(L, v, "lifetime", MS_PER_S, 3660 * MS_PER_DAY, "from 1s to 3660d",
                         &t->lifetime_ms))
    return -1;
  if ((v = gh_yaml_map_get(n, "issued_at")) != NULL &&
      gh_sc_get_duration(L, v, "issued_at", -3660 * MS_PER_DAY, 3660 * MS_PER_DAY,
                         "from -3660d to 3660d (relative to the fake now)", &t->issued_at_ms))
    return -1;
  if ((v = gh_yaml_map_get(n, "not_before")) != NULL) {
    if (gh_sc_get_duration(L, v, "not_before", -3660 * MS_PER_DAY, 3660 * MS_PER_DAY,
                           "from -3660d to 3660d (relative to the fake now)", &t->not_before_ms))
      return -1;
    t->has_not_before = 1;
  }
  if ((v = gh_yaml_map_get(n, "key")) != NULL && gh_sc_get_pki_ref(L, v, "key", 0, &t->key))
    return -1;
  if ((v = gh_yaml_map_get(n, "issuer")) != NULL &&
      gh_sc_get_clean_string(L, v, "issuer", 1, &t->issuer))
    return -1;
  return 0;
}

/* header_cert: {cert, encoding}. */
static int build_header_cert(loader *L, const gh_ynode *n, gh_step *s) {
  const gh_ynode *v = NULL;
  if (gh_sc_get_map(L, n, "header_cert") || gh_sc_check_keys(L, n, "header_cert", HEADER_CERT_KEYS))
    return -1;
  if ((v = gh_yaml_map_get(n, "encoding")) != NULL) {
    if (gh_sc_get_word(L, v, "encoding", HEADER_ENCODINGS, NULL, &s->header_encoding))
      return -1;
  } else if ((s->header_encoding = gh_sc_take_string(L, n, "url-pem", 7)) == NULL) {
    return -1;
  }
  if ((v = gh_yaml_map_get(n, "cert")) != NULL)
    return gh_sc_get_pki_ref(L, v, "cert", 0, &s->header_cert);
  if (strcmp(s->header_encoding, "garbage") != 0)
    return fail(L, n, "header_cert: missing key 'cert' (required unless encoding is garbage)");
  return 0;
}

/* The call's own options: client_cert, token, header_cert. */
static int build_call_security(loader *L, const gh_ynode *map, gh_step *s) {
  const gh_ynode *v = NULL;
  if ((v = gh_yaml_map_get(map, "client_cert")) != NULL &&
      gh_sc_get_pki_ref(L, v, "client_cert", 1, &s->client_cert))
    return -1;
  if ((v = gh_yaml_map_get(map, "token")) != NULL) {
    if (build_token(L, v, s))
      return -1;
    for (size_t i = 0; i < s->header_count; i++)
      if (strcasecmp(s->headers[i].name, "Authorization") == 0)
        return fail(L, v, "token: the call's headers already hold an Authorization header");
  }
  if ((v = gh_yaml_map_get(map, "header_cert")) != NULL && build_header_cert(L, v, s))
    return -1;
  if ((v = gh_yaml_map_get(map, "session")) != NULL &&
      (gh_sc_get_string(L, v, "session", &s->session) ||
       gh_sc_check_name(L, v, "session", s->session)))
    return -1;
  if ((v = gh_yaml_map_get(map, "connection")) != NULL &&
      (gh_sc_get_string(L, v, "connection", &s->connection) ||
       gh_sc_check_name(L, v, "connection", s->connection)))
    return -1;
  if ((v = gh_yaml_map_get(map, "via")) != NULL) {
    if (gh_sc_get_word(L, v, "via", VIAS, NULL, &s->via))
      return -1;
    if (strcmp(s->via, "lb") == 0 && L->c->gateway.front_lb == NULL)
      return fail(L, v, "via: lb needs gateway.mutual_ssl.front_lb");
  }
  return 0;
}

/* upload_client_cert {api, alias, cert, tier, format}, delete_client_cert {api, alias}. */
static int build_client_cert_step(loader *L, const gh_ynode *map, const char *kind, gh_step *s) {
  const gh_ynode *v = NULL;
  int upload = s->kind == GH_STEP_UPLOAD_CLIENT_CERT;
  if (gh_sc_get_map(L, map, kind) ||
      gh_sc_check_keys(L, map, kind, upload ? CLIENT_UPLOAD_KEYS : CLIENT_DELETE_KEYS) ||
      gh_sc_require(L, map, "api", kind, &v) || gh_sc_get_api_ref(L, v, "api", &s->api) ||
      gh_sc_require(L, map, "alias", kind, &v) ||
      /* an upload may send an empty alias on purpose: the gateway must refuse it */
      gh_sc_get_clean_text(L, v, "alias", 0, upload, &s->alias))
    return -1;
  if (!upload)
    return 0;
  if ((v = gh_yaml_map_get(map, "tier")) != NULL) {
    if (gh_sc_get_string(L, v, "tier", &s->tier) || gh_sc_check_name(L, v, "tier", s->tier))
      return -1;
  } else if ((s->tier = gh_sc_take_string(L, map, "Unlimited", 9)) == NULL) {
    return -1;
  }
  if ((v = gh_yaml_map_get(map, "format")) != NULL) {
    if (gh_sc_get_word(L, v, "format", FORMATS, NULL, &s->format))
      return -1;
  } else if ((s->format = gh_sc_take_string(L, map, "pem", 3)) == NULL) {
    return -1;
  }
  int broken = strcmp(s->format, "garbage") == 0 || strcmp(s->format, "empty") == 0 ||
               strcmp(s->format, "oversize") == 0;
  if ((v = gh_yaml_map_get(map, "cert")) != NULL)
    return gh_sc_get_pki_ref(L, v, "cert", 0, &s->cert);
  if (!broken)
    return fail(L, map,
                "%s: missing key 'cert' (required unless format is garbage, empty or oversize)",
                kind);
  return 0;
}

/* subscribe {application, api, tier}. */
static int build_subscribe(loader *L, const gh_ynode *map, gh_step *s) {
  const gh_ynode *v = NULL;
  if (gh_sc_get_map(L, map, "subscribe") || gh_sc_check_keys(L, map, "subscribe", SUBSCRIBE_KEYS) ||
      gh_sc_require(L, map, "application", "subscribe", &v) ||
      gh_sc_get_string(L, v, "application", &s->application) ||
      gh_sc_check_name(L, v, "application", s->application) ||
      gh_sc_require(L, map, "api", "subscribe", &v) || gh_sc_get_api_ref(L, v, "api", &s->api))
    return -1;
  if ((v = gh_yaml_map_get(map, "tier")) != NULL) {
    if (gh_sc_get_string(L, v, "tier", &s->tier) || gh_sc_check_name(L, v, "tier", s->tier))
      return -1;
  } else if ((s->tier = gh_sc_take_string(L, map, "Unlimited", 9)) == NULL) {
    return -1;
  }
  if (!L->c->gateway.has_oauth)
    return fail(L, map, "subscribe: needs gateway.oauth (the key manager its keys are mapped to)");
  if (L->first_application == NULL)
    L->first_application = s->application;
  return 0;
}

static int build_call(loader *L, const gh_ynode *map, gh_step *s) {
  const gh_ynode *v = NULL;
  if (gh_sc_get_map(L, map, "call") || gh_sc_check_keys(L, map, "call", CALL_KEYS) ||
      gh_sc_require(L, map, "api", "call", &v) || gh_sc_get_api_ref(L, v, "api", &s->api))
    return -1;
  if ((v = gh_yaml_map_get(map, "path")) != NULL) {
    if (gh_sc_get_clean_string(L, v, "path", 1, &s->path))
      return -1;
    if (s->path[0] != '/') {
      gh_yaml_qbuf q;
      return fail(L, v, "path: expected a path starting with '/', got %s",
                  gh_yaml_quote(&q, s->path));
    }
  } else if ((s->path = gh_sc_take_string(L, map, "/", 1)) == NULL) {
    return -1;
  }
  if ((v = gh_yaml_map_get(map, "method")) != NULL) {
    if (gh_sc_get_string(L, v, "method", &s->method))
      return -1;
    size_t len = strspn(s->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    if (s->method[len] != '\0' || len > 16) {
      gh_yaml_qbuf q;
      return fail(L, v, "method: expected an HTTP method in capitals such as GET, got %s",
                  gh_yaml_quote(&q, s->method));
    }
  } else if ((s->method = gh_sc_take_string(L, map, "GET", 3)) == NULL) {
    return -1;
  }
  if ((v = gh_yaml_map_get(map, "headers")) != NULL &&
      build_headers(L, v, "headers", &s->headers, &s->header_count))
    return -1;
  return build_call_security(L, map, s);
}

/* upload_endpoint_cert and replace_endpoint_cert: alias, cert, format. */
static int build_cert_step(loader *L, const gh_ynode *map, const char *kind, gh_step *s) {
  const gh_ynode *v = NULL;
  int upload = s->kind == GH_STEP_UPLOAD_CERT;
  if (gh_sc_get_map(L, map, kind) ||
      gh_sc_check_keys(L, map, kind, upload ? UPLOAD_KEYS : REPLACE_KEYS) ||
      gh_sc_require(L, map, "alias", kind, &v) ||
      /* an upload may send an empty alias on purpose: the gateway must refuse it */
      gh_sc_get_clean_text(L, v, "alias", 0, upload, &s->alias))
    return -1;
  if ((v = gh_yaml_map_get(map, "format")) != NULL) {
    if (gh_sc_get_word(L, v, "format", FORMATS, NULL, &s->format))
      return -1;
  } else if ((s->format = gh_sc_take_string(L, map, "pem", 3)) == NULL) {
    return -1;
  }
  int broken = strcmp(s->format, "garbage") == 0 || strcmp(s->format, "empty") == 0 ||
               strcmp(s->format, "oversize") == 0;
  if ((v = gh_yaml_map_get(map, "cert")) != NULL) {
    if (gh_sc_get_pki_ref(L, v, "cert", 0, &s->cert))
      return -1;
  } else if (!broken) {
    return fail(L, map,
                "%s: missing key 'cert' (required unless format is garbage, empty or "
                "oversize)",
                kind);
  }
  if (!upload)
    return 0;
  const gh_ynode *backend = gh_yaml_map_get(map, "backend");
  const gh_ynode *endpoint = gh_yaml_map_get(map, "endpoint");
  if (backend != NULL && endpoint != NULL)
    return fail(L, endpoint, "%s: give backend or endpoint, not both", kind);
  if (backend == NULL && endpoint == NULL)
    return fail(L, map, "%s: missing key 'backend' or 'endpoint' (the endpoint to trust it for)",
                kind);
  if (backend != NULL)
    return gh_sc_get_backend_ref(L, backend, "backend", &s->backend);
  return gh_sc_get_clean_text(L, endpoint, "endpoint", 1, 1, &s->endpoint); /* "" is a test input */
}

/* The SAP steps: sap_store_cert {store, name, cert, format}, sap_reference
 * {name, store}, sap_provider {name, backend, trust_store}; only in a case
 * whose every profile is a SAP one. */
static int build_sap_step(loader *L, const gh_ynode *map, const char *kind, gh_step *s) {
  static const char *const *const keys[] = {SAP_STORE_CERT_KEYS, SAP_REFERENCE_KEYS,
                                            SAP_PROVIDER_KEYS};
  const gh_ynode *v = NULL;
  if (gh_sc_get_map(L, map, kind) ||
      gh_sc_check_keys(L, map, kind, keys[s->kind - GH_STEP_SAP_STORE_CERT]) ||
      gh_sc_require(L, map, "name", kind, &v))
    return -1;
  if (s->kind == GH_STEP_SAP_STORE_CERT ? gh_sc_get_clean_text(L, v, "name", 0, 0, &s->sap_name)
                                        : gh_sc_get_string(L, v, "name", &s->sap_name) ||
                                              gh_sc_check_name(L, v, "name", s->sap_name))
    return -1;
  int sap_only = L->c->profile_count > 0;
  for (size_t i = 0; i < L->c->profile_count; i++)
    sap_only &= strcmp(gh_profile_family(L->c->profiles[i]), "sap") == 0;
  if (!sap_only)
    return fail(L, map, "%s: SAP's objects need profiles: [sap] (or its versions only)", kind);
  if (s->kind != GH_STEP_SAP_PROVIDER &&
      (gh_sc_require(L, map, "store", kind, &v) || gh_sc_get_string(L, v, "store", &s->store) ||
       gh_sc_check_name(L, v, "store", s->store)))
    return -1;
  if (s->kind == GH_STEP_SAP_REFERENCE)
    return 0;
  if (s->kind == GH_STEP_SAP_PROVIDER) {
    if (gh_sc_require(L, map, "backend", kind, &v) ||
        gh_sc_get_backend_ref(L, v, "backend", &s->backend) ||
        gh_sc_require(L, map, "trust_store", kind, &v) ||
        gh_sc_get_string(L, v, "trust_store", &s->trust_store))
      return -1;
    const char *named =
        strncmp(s->trust_store, "ref://", 6) == 0 ? s->trust_store + 6 : s->trust_store;
    return gh_sc_check_name(L, v, "trust_store", named);
  }
  char *type = NULL;
  if ((v = gh_yaml_map_get(map, "type")) != NULL) {
    if (gh_sc_get_word(L, v, "type", SAP_STORE_TYPES, NULL, &type))
      return -1;
    s->key_store = strcmp(type, "key") == 0;
    free(type);
  }
  if ((v = gh_yaml_map_get(map, "format")) != NULL) {
    if (gh_sc_get_word(L, v, "format", SAP_FORMATS, NULL, &s->format))
      return -1;
    if (!s->key_store && gh_sc_word_index(SAP_FORMATS, s->format) >= 7)
      return fail(L, v, "format: %s carries a private key: it needs type: key", s->format);
  } else if ((s->format = gh_sc_take_string(L, map, "pem", 3)) == NULL) {
    return -1;
  }
  int broken = strcmp(s->format, "garbage") == 0 || strcmp(s->format, "empty") == 0 ||
               strcmp(s->format, "oversize") == 0;
  if ((v = gh_yaml_map_get(map, "cert")) != NULL)
    return gh_sc_get_pki_ref(L, v, "cert", 0, &s->cert);
  if (!broken)
    return fail(L, map,
                "%s: missing key 'cert' (required unless format is garbage, empty or oversize)",
                kind);
  return 0;
}

/* reload: {} and restart_gateway: {} take an empty map (or {node: K} in a
 * cluster) or nothing. */
static int build_empty(loader *L, const gh_ynode *n, const char *kind) {
  gh_yaml_qbuf q;
  int cluster = L->c->gateway.nodes > 0;
  if (n->type == GH_Y_SCALAR && n->is_null)
    return 0;
  if (n->type != GH_Y_MAP)
    return fail(L, n, "%s: expected an empty map {}%s, got %s", kind,
                cluster ? " or {node: K}" : "", gh_yaml_describe(&q, n));
  return gh_sc_check_keys(L, n, kind, cluster ? NODE_KEYS : NO_KEYS);
}

/* A step's node: K (1..gateway.nodes), or for a call also each or balancer. */
static int get_node(loader *L, const gh_ynode *n, int call, int *out) {
  int nodes = L->c->gateway.nodes;
  if (nodes == 0)
    return fail(L, n,
                "node: this scenario's gateway is a single one; declare gateway.nodes for a "
                "cluster");
  char expected[80];
  snprintf(expected, sizeof(expected), "a node number from 1 to %d%s", nodes,
           call ? ", each or balancer" : "");
  char *text = NULL;
  if (gh_sc_text_of(L, n, "node", expected, &text))
    return -1;
  int word = call ? gh_sc_word_index(CALL_NODE_WORDS, text) : -1;
  char *end = NULL;
  long k = word < 0 && text[0] >= '0' && text[0] <= '9' ? strtol(text, &end, 10) : 0;
  int rc = 0;
  if (word >= 0) {
    *out = word == 0 ? GH_NODE_EACH : GH_NODE_BALANCER;
  } else if (end != NULL && *end == '\0' && k >= 1 && k <= nodes) {
    *out = (int)k;
  } else {
    gh_yaml_qbuf q;
    rc = fail(L, n, "node: expected %s, got %s", expected, gh_yaml_quote(&q, text));
  }
  free(text);
  return rc;
}

/* sweep: {api, path, method, from, to, every}: calls through the balancer
 * while the clock moves (times counted like advance_to). */
static int build_sweep(loader *L, const gh_ynode *map, gh_step *s) {
  const gh_ynode *v = NULL;
  char a[32];
  char b[32];
  char c[32];
  if (gh_sc_get_map(L, map, "sweep") || gh_sc_check_keys(L, map, "sweep", SWEEP_KEYS) ||
      gh_sc_require(L, map, "api", "sweep", &v) || gh_sc_get_api_ref(L, v, "api", &s->api))
    return -1;
  if (L->c->gateway.nodes == 0)
    return fail(L, map,
                "sweep: its calls go through the cluster's balancer; declare gateway.nodes");
  if ((v = gh_yaml_map_get(map, "path")) != NULL) {
    if (gh_sc_get_clean_string(L, v, "path", 1, &s->path))
      return -1;
    if (s->path[0] != '/') {
      gh_yaml_qbuf q;
      return fail(L, v, "path: expected a path starting with '/', got %s",
                  gh_yaml_quote(&q, s->path));
    }
  } else if ((s->path = gh_sc_take_string(L, map, "/", 1)) == NULL) {
    return -1;
  }
  if ((v = gh_yaml_map_get(map, "method")) != NULL) {
    if (gh_sc_get_string(L, v, "method", &s->method))
      return -1;
    size_t len = strspn(s->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    if (s->method[len] != '\0' || len > 16) {
      gh_yaml_qbuf q;
      return fail(L, v, "method: expected an HTTP method in capitals such as GET, got %s",
                  gh_yaml_quote(&q, s->method));
    }
  } else if ((s->method = gh_sc_take_string(L, map, "GET", 3)) == NULL) {
    return -1;
  }
  s->sweep_from_ms = L->clock_ms;
  if ((v = gh_yaml_map_get(map, "from")) != NULL) {
    if (gh_sc_get_duration(L, v, "from", 0, INT64_MAX, "of 0s or more", &s->sweep_from_ms))
      return -1;
    if (s->sweep_from_ms < L->clock_ms)
      return fail(L, v,
                  "sweep: from %s is before where the clock already is (%s after node 1 "
                  "started): time only moves forward",
                  gh_sc_duration_text(s->sweep_from_ms, a, sizeof(a)),
                  gh_sc_duration_text(L->clock_ms, b, sizeof(b)));
  }
  if (gh_sc_require(L, map, "to", "sweep", &v) ||
      gh_sc_get_duration(L, v, "to", 0, INT64_MAX, "of 0s or more", &s->duration_ms))
    return -1;
  if (s->duration_ms <= s->sweep_from_ms)
    return fail(L, v, "sweep: to %s must be after from %s",
                gh_sc_duration_text(s->duration_ms, a, sizeof(a)),
                gh_sc_duration_text(s->sweep_from_ms, b, sizeof(b)));
  if (gh_sc_require(L, map, "every", "sweep", &v) ||
      gh_sc_get_duration(L, v, "every", MS_PER_S, INT64_MAX, "of 1s or more", &s->sweep_every_ms))
    return -1;
  if ((s->duration_ms - s->sweep_from_ms) / s->sweep_every_ms > GH_MAX_SWEEP_TIMES)
    return fail(L, v, "sweep: every %s makes more than %d times from %s to %s",
                gh_sc_duration_text(s->sweep_every_ms, c, sizeof(c)), GH_MAX_SWEEP_TIMES,
                gh_sc_duration_text(s->sweep_from_ms, a, sizeof(a)),
                gh_sc_duration_text(s->duration_ms, b, sizeof(b)));
  L->clock_ms = s->duration_ms;
  return 0;
}

/* expect_flapping on a sweep: the window must lie inside it, with time
 * before and after it, so both steady states are seen. */
static int build_flapping(loader *L, const gh_ynode *map, gh_step *s) {
  gh_flapping *f = &s->flapping;
  const gh_ynode *v = NULL;
  char a[32];
  char b[32];
  char c[32];
  if (gh_sc_get_map(L, map, "expect_flapping") ||
      gh_sc_check_keys(L, map, "expect_flapping", FLAPPING_KEYS))
    return -1;
  if (gh_sc_require(L, map, "before", "expect_flapping", &v) ||
      gh_sc_get_integer(L, v, "before", 100, 599, &f->before) ||
      gh_sc_require(L, map, "after", "expect_flapping", &v) ||
      gh_sc_get_integer(L, v, "after", 100, 599, &f->after) ||
      gh_sc_require(L, map, "from", "expect_flapping", &v) ||
      gh_sc_get_duration(L, v, "from", 0, INT64_MAX, "of 0s or more", &f->from_ms))
    return -1;
  if (f->from_ms <= s->sweep_from_ms)
    return fail(L, v,
                "expect_flapping: from %s must be after the sweep's from %s (the steady "
                "answer before the window is part of the expectation)",
                gh_sc_duration_text(f->from_ms, a, sizeof(a)),
                gh_sc_duration_text(s->sweep_from_ms, b, sizeof(b)));
  if (gh_sc_require(L, map, "until", "expect_flapping", &v) ||
      gh_sc_get_duration(L, v, "until", 0, INT64_MAX, "of 0s or more", &f->until_ms))
    return -1;
  if (f->until_ms <= f->from_ms || f->until_ms > s->duration_ms)
    return fail(L, v,
                "expect_flapping: until %s must be after from %s and not after the sweep's to %s",
                gh_sc_duration_text(f->until_ms, a, sizeof(a)),
                gh_sc_duration_text(f->from_ms, b, sizeof(b)),
                gh_sc_duration_text(s->duration_ms, c, sizeof(c)));
  if (gh_sc_require(L, map, "between", "expect_flapping", &v) || gh_sc_get_list(L, v, "between", 2))
    return -1;
  if (v->kid_count > GH_MAX_FLAP_STATUSES)
    return fail(L, v, "between: at most %d statuses", GH_MAX_FLAP_STATUSES);
  for (size_t i = 0; i < v->kid_count; i++) {
    if (gh_sc_get_integer(L, v->kids[i], "between", 100, 599, &f->between[i]))
      return -1;
    for (size_t j = 0; j < i; j++)
      if (f->between[j] == f->between[i])
        return fail(L, v->kids[i], "between: status %ld is listed twice", f->between[i]);
  }
  f->between_count = v->kid_count;
  f->set = 1;
  return 0;
}

/* expect_nodes on a node: each call: {K: {call expectations}}. */
static int build_node_overrides(loader *L, const gh_ynode *map, gh_step *s) {
  if (gh_sc_get_map(L, map, "expect_nodes"))
    return -1;
  size_t n = map->kid_count / 2;
  if (n == 0)
    return fail(L, map, "expect_nodes: expected at least one node number");
  if ((s->override_nodes = gh_sc_take(L, map, n, sizeof(int))) == NULL ||
      (s->node_overrides = gh_sc_take(L, map, n, sizeof(gh_expect))) == NULL)
    return -1;
  s->node_override_count = n;
  for (size_t i = 0; i < n; i++) {
    s->node_overrides[i].backend_reached = GH_UNSET;
    s->node_overrides[i].resumed = GH_UNSET;
    s->node_overrides[i].refused = GH_UNSET;
  }
  int nodes = L->c->gateway.nodes;
  for (size_t i = 0; i < n; i++) {
    const gh_ynode *key = map->kids[2 * i];
    char *end = NULL;
    long k = key->text[0] >= '1' && key->text[0] <= '9' ? strtol(key->text, &end, 10) : 0;
    if (end == NULL || *end != '\0' || k < 1 || k > nodes) {
      gh_yaml_qbuf q;
      return fail(L, key, "expect_nodes: expected a node number from 1 to %d, got %s", nodes,
                  gh_yaml_quote(&q, key->text));
    }
    s->override_nodes[i] = (int)k;
    char section[64];
    snprintf(section, sizeof(section), "expect_nodes.%ld", k);
    if (build_expect(L, map->kids[2 * i + 1], section, CALL_EXPECT_KEYS, &s->node_overrides[i]))
      return -1;
  }
  return 0;
}

static int build_action(loader *L, const gh_ynode *v, gh_step *s) {
  const char *kind = STEP_KINDS[s->kind];
  char a[32];
  char b[32];
  switch (s->kind) {
  case GH_STEP_CALL:
    return build_call(L, v, s);
  case GH_STEP_ADVANCE:
    if (gh_sc_get_duration(L, v, kind, 1, INT64_MAX, "greater than 0s (time only moves forward)",
                           &s->duration_ms))
      return -1;
    if (L->clock_ms > INT64_MAX - s->duration_ms)
      return fail(L, v, "advance: the clock would overflow");
    L->clock_ms += s->duration_ms;
    return 0;
  case GH_STEP_ADVANCE_TO:
    if (gh_sc_get_duration(L, v, kind, 0, INT64_MAX, "of 0s or more", &s->duration_ms))
      return -1;
    if (s->duration_ms < L->clock_ms)
      return fail(L, v,
                  "advance_to: %s is before where the clock already is (%s after the gateway "
                  "started): time only moves forward",
                  gh_sc_duration_text(s->duration_ms, a, sizeof(a)),
                  gh_sc_duration_text(L->clock_ms, b, sizeof(b)));
    L->clock_ms = s->duration_ms;
    return 0;
  case GH_STEP_UPLOAD_CERT:
  case GH_STEP_REPLACE_CERT:
    return build_cert_step(L, v, kind, s);
  case GH_STEP_DELETE_CERT: {
    const gh_ynode *alias = NULL;
    return gh_sc_get_map(L, v, kind) || gh_sc_check_keys(L, v, kind, DELETE_KEYS) ||
                   gh_sc_require(L, v, "alias", kind, &alias) ||
                   gh_sc_get_clean_string(L, alias, "alias", 0, &s->alias)
               ? -1
               : 0;
  }
  case GH_STEP_CREATE_API:
  case GH_STEP_DELETE_API:
  case GH_STEP_REDEPLOY_API:
    return gh_sc_get_api_ref(L, v, kind, &s->api);
  case GH_STEP_RESTART_GATEWAY:
    if (s->node <= 1)
      L->clock_ms = 0; /* advance_to counts from node 1's new start */
    return build_empty(L, v, kind);
  case GH_STEP_SWEEP:
    return build_sweep(L, v, s);
  case GH_STEP_RELOAD:
    return build_empty(L, v, kind);
  case GH_STEP_UPLOAD_CLIENT_CERT:
  case GH_STEP_DELETE_CLIENT_CERT:
    return build_client_cert_step(L, v, kind, s);
  case GH_STEP_SUBSCRIBE:
    return build_subscribe(L, v, s);
  case GH_STEP_SAP_STORE_CERT:
  case GH_STEP_SAP_REFERENCE:
  case GH_STEP_SAP_PROVIDER:
    return build_sap_step(L, v, kind, s);
  }
  return fail(L, v, "unknown step");
}

static int build_step(loader *L, const gh_ynode *map, gh_step *s) {
  s->expect.backend_reached = GH_UNSET;
  s->expect.resumed = GH_UNSET;
  s->expect.refused = GH_UNSET;
  gh_yaml_qbuf q;
  if (map->type != GH_Y_MAP)
    return fail(L, map, "steps: expected a step (a map such as {advance: 10s}), got %s",
                gh_yaml_describe(&q, map));
  s->line = map->line;
  const gh_ynode *action = NULL;
  const gh_ynode *action_key = NULL;
  char list[400];
  for (size_t i = 0; i < map->kid_count; i += 2) {
    const gh_ynode *key = map->kids[i];
    int kind = gh_sc_word_index(STEP_KINDS, key->text);
    if (kind >= 0) {
      if (action_key != NULL)
        return fail(L, key, "a step does one thing: found %s after '%s'",
                    gh_yaml_quote(&q, key->text), action_key->text);
      action_key = key;
      action = map->kids[i + 1];
      s->kind = (gh_step_kind)kind;
    } else if (gh_sc_word_index(STEP_EXTRA_KEYS, key->text) < 0) {
      char extra[80];
      return fail(L, key, "unknown key %s in a step; expected one of: %s, %s",
                  gh_yaml_quote(&q, key->text), gh_sc_join_words(STEP_KINDS, list, sizeof(list)),
                  gh_sc_join_words(STEP_EXTRA_KEYS, extra, sizeof(extra)));
    }
  }
  if (action == NULL)
    return fail(L, map, "a step needs an action, one of: %s",
                gh_sc_join_words(STEP_KINDS, list, sizeof(list)));
  const gh_ynode *node = action->type == GH_Y_MAP ? gh_yaml_map_get(action, "node") : NULL;
  int takes_node = s->kind != GH_STEP_SWEEP && s->kind != GH_STEP_ADVANCE &&
                   s->kind != GH_STEP_ADVANCE_TO; /* the rest are maps or scalars */
  if (node != NULL && takes_node && get_node(L, node, s->kind == GH_STEP_CALL, &s->node))
    return -1;
  if (build_action(L, action, s))
    return -1;
  const char *kind = STEP_KINDS[s->kind];
  const char *const *keys = NULL;
  if (s->kind == GH_STEP_CALL)
    keys = CALL_EXPECT_KEYS;
  else if ((s->kind >= GH_STEP_UPLOAD_CERT && s->kind <= GH_STEP_DELETE_API) ||
           s->kind >= GH_STEP_UPLOAD_CLIENT_CERT)
    keys = ADMIN_EXPECT_KEYS;
  const gh_ynode *expect = gh_yaml_map_get(map, "expect");
  const gh_ynode *overrides = gh_yaml_map_get(map, "expect_profile");
  const gh_ynode *within = gh_yaml_map_get(map, "within");
  const gh_ynode *nodes = gh_yaml_map_get(map, "expect_nodes");
  const gh_ynode *flapping = gh_yaml_map_get(map, "expect_flapping");
  if (s->kind == GH_STEP_SWEEP) {
    const gh_ynode *other = expect != NULL ? expect : overrides != NULL ? overrides : within;
    if (other != NULL)
      return fail(L, other, "sweep: its expectation is expect_flapping (not %s)",
                  other == expect      ? "expect"
                  : other == overrides ? "expect_profile"
                                       : "within");
    if (flapping == NULL)
      return fail(L, map, "sweep: missing key 'expect_flapping' (a sweep must check something)");
    return nodes != NULL ? fail(L, nodes, "expect_nodes: only on a call with node: each")
                         : build_flapping(L, flapping, s);
  }
  if (flapping != NULL)
    return fail(L, flapping, "expect_flapping: only on a sweep step, not %s", kind);
  if (nodes != NULL && (s->kind != GH_STEP_CALL || s->node != GH_NODE_EACH))
    return fail(L, nodes, "expect_nodes: only on a call with node: each");
  if (within != NULL && s->node == GH_NODE_EACH)
    return fail(L, within, "within: a call with node: each is not retried");
  if (nodes != NULL && build_node_overrides(L, nodes, s))
    return -1;
  if (keys == NULL && (expect != NULL || overrides != NULL)) {
    const gh_ynode *at = expect != NULL ? expect : overrides;
    return fail(L, at, "%s: %s has no result to expect", expect ? "expect" : "expect_profile",
                kind);
  }
  if (expect != NULL && build_expect(L, expect, "expect", keys, &s->expect))
    return -1;
  if (overrides != NULL && build_overrides(L, overrides, keys, s))
    return -1;
  if (within != NULL) {
    if (s->kind != GH_STEP_CALL)
      return fail(L, within, "within: only a call step can be retried, not %s", kind);
    if (expect == NULL && overrides == NULL)
      return fail(L, within, "within: needs an expect to retry until");
    if (gh_sc_get_duration(L, within, "within", 1, INT64_MAX, "greater than 0s",
                           &s->expect.within_ms))
      return -1;
  }
  return 0;
}

static int build_steps(loader *L, const gh_ynode *list) {
  if (gh_sc_get_list(L, list, "steps", 1))
    return -1;
  L->c->steps = gh_sc_take(L, list, list->kid_count, sizeof(gh_step));
  if (L->c->steps == NULL)
    return -1;
  L->c->step_count = list->kid_count;
  for (size_t i = 0; i < list->kid_count; i++) {
    L->c->steps[i].expect.backend_reached = GH_UNSET;
    L->c->steps[i].expect.resumed = GH_UNSET;
    L->c->steps[i].expect.refused = GH_UNSET;
  }
  L->clock_ms = 0;
  L->first_application = NULL;
  for (size_t i = 0; i < list->kid_count; i++)
    if (build_step(L, list->kids[i], &L->c->steps[i]))
      return -1;
  return 0;
}

/* ---- the case ------------------------------------------------------------- */

/* "YYYY-MM-DDTHH:MM:SSZ" exactly, and a real date and time. */
static int build_epoch(loader *L, const gh_ynode *n) {
  gh_case_spec *c = L->c;
  static const char expected[] = "a UTC time such as 2030-01-01T00:00:00Z";
  if (gh_sc_text_of(L, n, "epoch", expected, &c->epoch))
    return -1;
  static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
  int ok = strlen(c->epoch) == sizeof(shape) - 1;
  for (size_t i = 0; ok && i < sizeof(shape) - 1; i++)
    ok = shape[i] == 'd' ? c->epoch[i] >= '0' && c->epoch[i] <= '9' : c->epoch[i] == shape[i];
  time_t t = 0;
  gcert_error gerr;
  memset(&gerr, 0, sizeof(gerr));
  if (ok)
    ok = gcert_time_parse(c->epoch, &t, &gerr) == GCERT_OK;
  if (ok) { /* strptime and timegm accept 2030-02-30: a round trip does not */
    struct tm tm;
    char again[32];
    ok = gmtime_r(&t, &tm) != NULL &&
         strftime(again, sizeof(again), "%Y-%m-%dT%H:%M:%SZ", &tm) == sizeof(shape) - 1 &&
         strcmp(again, c->epoch) == 0;
  }
  if (!ok) {
    gh_yaml_qbuf q;
    return fail(L, n, "epoch: expected %s, got %s", expected, gh_yaml_quote(&q, c->epoch));
  }
  c->epoch_s = (int64_t)t;
  return 0;
}

static int build_name(loader *L, const gh_ynode *root) {
  gh_case_spec *c = L->c;
  const gh_ynode *v = NULL;
  if (gh_sc_require(L, root, "name", "the scenario", &v) ||
      gh_sc_get_string(L, v, "name", &c->scenario))
    return -1;
  for (const unsigned char *p = (const unsigned char *)c->scenario; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return fail(L, v, "name: expected one line without control characters");
  if (strlen(c->scenario) >= GH_NAME_MAX)
    return fail(L, v, "name: expected at most %d bytes, got %zu", GH_NAME_MAX - 1,
                strlen(c->scenario));
  size_t len = strlen(c->scenario);
  if (L->row != NULL) { /* name[p1=v1,p2=v2] */
    len += 2;
    for (size_t i = 0; i < L->params->kid_count; i++)
      len += L->params->kids[i]->len + 1 + L->row->kids[i]->len + (i ? 1 : 0);
  }
  c->name = gh_sc_take(L, v, len + 1, 1);
  if (c->name == NULL)
    return -1;
  size_t o = (size_t)snprintf(c->name, len + 1, "%s", c->scenario);
  if (L->row != NULL) {
    c->name[o++] = '[';
    for (size_t i = 0; i < L->params->kid_count; i++) {
      const gh_ynode *p = L->params->kids[i];
      const gh_ynode *value = L->row->kids[i];
      if (i)
        c->name[o++] = ',';
      memcpy(c->name + o, p->text, p->len);
      o += p->len;
      c->name[o++] = '=';
      memcpy(c->name + o, value->text, value->len);
      o += value->len;
    }
    c->name[o++] = ']';
    c->name[o] = '\0';
  }
  return 0;
}

/* quirks: a list of names, or one name, or none (nothing: a matrix row's
 * "quirk off"). The gateway checks the names (a simulator refuses one it
 * does not know or of another product version); a quirk belongs to one
 * product version, so the scenario must say its profiles. */
static int build_quirks(loader *L, const gh_ynode *root, const gh_ynode *v) {
  gh_gateway_spec *g = &L->c->gateway;
  if (gh_sc_get_strings(L, v, "quirks", LIST_NAME, NULL, 1, 0, &g->quirks, &g->quirk_count))
    return -1;
  if (v->type == GH_Y_SCALAR && g->quirk_count == 1 && strcmp(g->quirks[0], "none") == 0) {
    free_strings(g->quirks, g->quirk_count); /* quirks: none (after ${param}) */
    g->quirks = NULL;
    g->quirk_count = 0;
    return 0;
  }
  for (size_t i = 0; i < g->quirk_count; i++)
    if (strcmp(g->quirks[i], "none") == 0)
      return fail(L, v, "quirks: none stands alone (quirks: none), never in a list");
  if (g->quirk_count > GH_MAX_QUIRKS)
    return fail(L, v, "quirks: at most %d", GH_MAX_QUIRKS);
  if (g->quirk_count > 0 && gh_yaml_map_get(root, "profiles") == NULL)
    return fail(L, v,
                "quirks: a quirk is a bug of one product version: say the scenario's "
                "profiles (profiles: [wso2-4])");
  return 0;
}

static int build_case(loader *L, const gh_ynode *root, gh_case_spec *c) {
  L->c = c;
  gh_gateway_spec *g = &c->gateway; /* unset: the gateway's defaults */
  g->profile_reload_interval_ms = -1;
  g->truststore_reload_period_ms = -1;
  g->truststore_initial_delay_ms = -1;
  g->chain_validation = -1;
  g->header_encode = -1;
  g->client_validation = -1;
  g->per_certificate = -1;
  g->upstream_session_reuse = -1;
  g->upstream_keepalive = -1;
  const gh_ynode *v = NULL;
  c->file = gh_sc_take_string(L, NULL, L->path, strlen(L->path));
  if (c->file == NULL || build_name(L, root))
    return -1;
  if (gh_sc_require(L, root, "features", "the scenario", &v) ||
      gh_sc_get_strings(L, v, "features", LIST_NAME, NULL, 0, 1, &c->features, &c->feature_count))
    return -1;
  if ((v = gh_yaml_map_get(root, "profiles")) != NULL &&
      gh_sc_get_strings(L, v, "profiles", LIST_WORD, PROFILES, 0, 1, &c->profiles,
                        &c->profile_count))
    return -1;
  if ((v = gh_yaml_map_get(root, "refs")) != NULL &&
      gh_sc_get_strings(L, v, "refs", LIST_TEXT, NULL, 0, 0, &c->refs, &c->ref_count))
    return -1;
  if ((v = gh_yaml_map_get(root, "epoch")) != NULL) {
    if (build_epoch(L, v))
      return -1;
  } else {
    c->epoch = gh_sc_take_string(L, root, DEFAULT_EPOCH, strlen(DEFAULT_EPOCH));
    if (c->epoch == NULL)
      return -1;
    c->epoch_s = DEFAULT_EPOCH_S;
  }
  if ((v = gh_yaml_map_get(root, "needs")) != NULL &&
      gh_sc_get_strings(L, v, "needs", LIST_NAME, NULL, 0, 0, &c->needs, &c->need_count))
    return -1;
  if ((v = gh_yaml_map_get(root, "quirks")) != NULL && build_quirks(L, root, v))
    return -1;
  if ((v = gh_yaml_map_get(root, "pki")) != NULL && build_pki(L, v))
    return -1;
  if ((v = gh_yaml_map_get(root, "backends")) != NULL && build_backends(L, v))
    return -1;
  if ((v = gh_yaml_map_get(root, "apis")) != NULL && build_apis(L, v))
    return -1;
  if ((v = gh_yaml_map_get(root, "gateway")) != NULL && build_gateway(L, v))
    return -1;
  if (gh_sc_require(L, root, "steps", "the scenario", &v) || build_steps(L, v))
    return -1;
  return 0;
}

/* ---- the matrix ----------------------------------------------------------- */

static int valid_param(const char *s) {
  if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
    return 0;
  for (const char *p = s + 1; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          *p == '_'))
      return 0;
  return 1;
}

/* Checks the matrix; *rows is its rows list. */
static int check_matrix(loader *L, const gh_ynode *matrix, const gh_ynode **rows) {
  const gh_ynode *params = NULL;
  gh_yaml_qbuf q;
  if (gh_sc_get_map(L, matrix, "matrix") || gh_sc_check_keys(L, matrix, "matrix", MATRIX_KEYS) ||
      gh_sc_require(L, matrix, "params", "matrix", &params) ||
      gh_sc_require(L, matrix, "rows", "matrix", rows) || gh_sc_get_list(L, params, "params", 1) ||
      gh_sc_get_list(L, *rows, "rows", 1))
    return -1;
  for (size_t i = 0; i < params->kid_count; i++) {
    const gh_ynode *p = params->kids[i];
    if (p->type != GH_Y_SCALAR || p->is_null || !valid_param(p->text))
      return fail(L, p, "params: expected a parameter name ([A-Za-z_][A-Za-z0-9_]*), got %s",
                  gh_yaml_describe(&q, p));
    for (size_t j = 0; j < i; j++)
      if (strcmp(params->kids[j]->text, p->text) == 0)
        return fail(L, p, "params: %s is listed twice", gh_yaml_quote(&q, p->text));
  }
  size_t want = params->kid_count;
  for (size_t r = 0; r < (*rows)->kid_count; r++) {
    const gh_ynode *row = (*rows)->kids[r];
    if (row->type != GH_Y_SEQ)
      return fail(L, row, "rows: expected a row (a list of %zu value%s), got %s", want,
                  want == 1 ? "" : "s", gh_yaml_describe(&q, row));
    if (row->kid_count != want) {
      char names[200];
      size_t used = 0;
      names[0] = '\0';
      for (size_t k = 0; k < want && used < sizeof(names); k++) {
        int w = snprintf(names + used, sizeof(names) - used, "%s%s", k ? ", " : "",
                         params->kids[k]->text);
        used += w > 0 ? (size_t)w : 0;
      }
      return fail(L, row, "row %zu has %zu value%s, expected %zu (one for each of %s)", r + 1,
                  row->kid_count, row->kid_count == 1 ? "" : "s", want, names);
    }
    for (size_t k = 0; k < want; k++) {
      const gh_ynode *value = row->kids[k];
      if (value->type != GH_Y_SCALAR)
        return fail(L, value, "row %zu: expected a scalar value for %s, got %s", r + 1,
                    params->kids[k]->text, gh_yaml_describe(&q, value));
    }
  }
  L->params = params;
  return 0;
}

/* ---- the public functions ------------------------------------------------ */

static int load(loader *L, gh_case_spec **out, size_t *count) {
  gh_yaml_qbuf q;
  const gh_ynode *root = L->root;
  if (root == NULL || (root->type == GH_Y_SCALAR && root->is_null))
    return fail_at(L, 0, 0, "the file is empty: expected a map with name, features and steps");
  if (root->type != GH_Y_MAP)
    return fail(L, root, "expected a map with name, features and steps, got %s",
                gh_yaml_describe(&q, root));
  if (gh_sc_check_keys(L, root, "a scenario", TOP_KEYS))
    return -1;
  const gh_ynode *rows = NULL;
  const gh_ynode *matrix = gh_yaml_map_get(root, "matrix");
  if (matrix != NULL && check_matrix(L, matrix, &rows))
    return -1;
  size_t n = rows != NULL ? rows->kid_count : 1;
  gh_case_spec *cases = gh_sc_take(L, root, n, sizeof(gh_case_spec));
  if (cases == NULL)
    return -1;
  for (size_t i = 0; i < n; i++) {
    L->row = rows != NULL ? rows->kids[i] : NULL;
    L->row_number = i + 1;
    int rc = build_case(L, root, &cases[i]);
    for (size_t j = 0; rc == 0 && j < i; j++)
      if (strcmp(cases[j].name, cases[i].name) == 0)
        rc = fail(L, L->row, "case name %s repeats row %zu's: rows must differ",
                  gh_yaml_quote(&q, cases[i].name), j + 1);
    if (rc) {
      gh_cases_free(cases, i + 1);
      return -1;
    }
  }
  *out = cases;
  *count = n;
  return 0;
}

/* Both loads: the YAML of text (len bytes) when from_text, else path's file. */
static int load_from(const char *path, const unsigned char *text, size_t len, int from_text,
                     gh_case_spec **cases, size_t *count, gh_load_error *err) {
  if (cases != NULL)
    *cases = NULL;
  if (count != NULL)
    *count = 0;
  if (err == NULL)
    return -1;
  memset(err, 0, sizeof(*err));
  if (path == NULL || cases == NULL || count == NULL) {
    snprintf(err->message, sizeof(err->message), "gh_scenario_load: a NULL argument");
    return -1;
  }
  snprintf(err->file, sizeof(err->file), "%s", path);
  loader L;
  memset(&L, 0, sizeof(L));
  L.path = path;
  L.err = err;
  gh_yaml_doc doc;
  gh_yaml_error yerr;
  if ((from_text ? gh_yaml_read(text, len, &doc, &yerr) : gh_yaml_read_file(path, &doc, &yerr)) !=
      0) {
    err->line = yerr.line;
    err->column = yerr.column;
    snprintf(err->message, sizeof(err->message), "%s", yerr.message);
    return -1;
  }
  L.root = doc.root;
  int rc = load(&L, cases, count);
  gh_yaml_free(&doc);
  return rc;
}

int gh_scenario_load(const char *path, gh_case_spec **cases, size_t *count, gh_load_error *err) {
  return load_from(path, NULL, 0, 0, cases, count, err);
}

int gh_scenario_load_text(const char *path, const unsigned char *text, size_t len,
                          gh_case_spec **cases, size_t *count, gh_load_error *err) {
  static const unsigned char empty[1];
  return load_from(path, text != NULL ? text : empty, text != NULL ? len : 0, 1, cases, count, err);
}

/* ---- queries -------------------------------------------------------------- */

const char *gh_step_kind_name(gh_step_kind kind) {
  if ((int)kind < 0 || (size_t)kind >= sizeof(STEP_KINDS) / sizeof(STEP_KINDS[0]) - 1)
    return "unknown";
  return STEP_KINDS[kind];
}

static void merge_expect(gh_expect *e, const gh_expect *o) {
  e->set = e->set || o->set;
  if (o->status != 0)
    e->status = o->status;
  if (o->fault_code != NULL)
    e->fault_code = o->fault_code;
  if (o->body_contains_count > 0) {
    e->body_contains = o->body_contains;
    e->body_contains_count = o->body_contains_count;
  }
  if (o->body_excludes_count > 0) {
    e->body_excludes = o->body_excludes;
    e->body_excludes_count = o->body_excludes_count;
  }
  if (o->header_count > 0) {
    e->headers = o->headers;
    e->header_count = o->header_count;
  }
  if (o->tls_failure != NULL)
    e->tls_failure = o->tls_failure;
  if (o->reject != NULL)
    e->reject = o->reject;
  if (o->backend_reached != GH_UNSET)
    e->backend_reached = o->backend_reached;
  if (o->resumed != GH_UNSET)
    e->resumed = o->resumed;
  if (o->refused != GH_UNSET)
    e->refused = o->refused;
  if (o->backend_saw_client_cert != NULL)
    e->backend_saw_client_cert = o->backend_saw_client_cert;
  if (o->message != NULL)
    e->message = o->message;
  if (o->log_contains_count > 0) {
    e->log_contains = o->log_contains;
    e->log_contains_count = o->log_contains_count;
  }
  if (o->within_ms != 0)
    e->within_ms = o->within_ms;
}

gh_expect gh_step_expect_node(const gh_step *step, const char *profile, int node) {
  gh_expect e = gh_step_expect(step, profile);
  for (size_t i = 0; i < step->node_override_count; i++)
    if (step->override_nodes[i] == node)
      merge_expect(&e, &step->node_overrides[i]);
  return e;
}

static int cmp_ms(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

int64_t *gh_step_sweep_times(const gh_step *s, size_t *n) {
  const gh_flapping *f = &s->flapping;
  *n = 0;
  if (s->kind != GH_STEP_SWEEP || s->sweep_every_ms <= 0 || s->duration_ms < s->sweep_from_ms)
    return NULL;
  size_t cap = (size_t)((s->duration_ms - s->sweep_from_ms) / s->sweep_every_ms) + 6;
  int64_t *t = malloc(cap * sizeof(*t));
  if (t == NULL)
    return NULL;
  for (int64_t at = s->sweep_from_ms; at <= s->duration_ms && *n + 4 < cap; at += s->sweep_every_ms)
    t[(*n)++] = at;
  const int64_t edges[] = {f->from_ms - MS_PER_S, f->from_ms, f->until_ms - MS_PER_S, f->until_ms};
  for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
    if (edges[i] >= s->sweep_from_ms && edges[i] <= s->duration_ms)
      t[(*n)++] = edges[i];
  qsort(t, *n, sizeof(*t), cmp_ms);
  size_t kept = 0;
  for (size_t i = 0; i < *n; i++)
    if (kept == 0 || t[i] != t[kept - 1])
      t[kept++] = t[i];
  *n = kept;
  return t;
}

int gh_case_nodes(const gh_case_spec *c) { return c->gateway.nodes > 1 ? c->gateway.nodes : 1; }

gh_expect gh_step_expect(const gh_step *step, const char *profile) {
  gh_expect e = step->expect;
  /* the family's override ("wso2"), then the version's ("wso2-2.6") over it */
  for (int score = 1; score <= 2 && profile != NULL; score++)
    for (size_t i = 0; i < step->override_count; i++)
      if (gh_profile_match(step->override_profiles[i], profile) == score)
        merge_expect(&e, &step->overrides[i]);
  return e;
}

const gh_pki_spec *gh_case_pki(const gh_case_spec *c, const char *name) {
  return c != NULL && name != NULL ? gh_sc_find_pki(c, name) : NULL;
}

const gh_backend_spec *gh_case_backend(const gh_case_spec *c, const char *name) {
  return c != NULL && name != NULL ? gh_sc_find_backend(c, name) : NULL;
}

const gh_api_spec *gh_case_api(const gh_case_spec *c, const char *name) {
  return c != NULL && name != NULL ? gh_sc_find_api(c, name) : NULL;
}

int gh_case_has_profile(const gh_case_spec *c, const char *profile) {
  if (c->profile_count == 0)
    return 1;
  for (size_t i = 0; i < c->profile_count; i++)
    if (gh_profile_match(c->profiles[i], profile) > 0)
      return 1;
  return 0;
}

int gh_duration_parse(const char *text, int64_t *ms) {
  if (text == NULL || ms == NULL)
    return -1;
  const char *p = text;
  int negative = *p == '-';
  if (negative)
    p++;
  if (*p < '0' || *p > '9')
    return -1;
  int64_t v = 0;
  for (; *p >= '0' && *p <= '9'; p++) {
    int digit = *p - '0';
    if (v > (INT64_MAX - digit) / 10)
      return -1;
    v = v * 10 + digit;
  }
  int64_t unit = 0;
  if (strcmp(p, "ms") == 0)
    unit = 1;
  else if (*p == '\0' || strcmp(p, "s") == 0)
    unit = MS_PER_S;
  else if (strcmp(p, "m") == 0)
    unit = 60 * MS_PER_S;
  else if (strcmp(p, "h") == 0)
    unit = 3600 * MS_PER_S;
  else if (strcmp(p, "d") == 0)
    unit = MS_PER_DAY;
  else
    return -1;
  if (v > INT64_MAX / unit)
    return -1;
  *ms = negative ? -(v * unit) : v * unit;
  return 0;
}

/* ---- catalogue --------------------------------------------------------------- */

typedef struct path_list {
  char *paths[GH_CATALOGUE_MAX_FILES];
  size_t count;
  int overflow;
} path_list;

static int by_path(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* *.yaml below dir into list; -1 when a directory cannot be read, with err
 * naming that directory and why. */
// NOLINTNEXTLINE(misc-no-recursion): bounded, depth <= 8
static int collect_yaml(const char *dir, int depth, path_list *list, gh_load_error *err) {
  if (depth > 8)
    return 0;
  DIR *d = opendir(dir);
  if (!d) {
    snprintf(err->file, sizeof(err->file), "%s", dir);
    snprintf(err->message, sizeof(err->message), "cannot read the directory: %s", strerror(errno));
    return -1;
  }
  const struct dirent *e;
  int rc = 0;
  while (rc == 0 && !list->overflow && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    char path[PATH_MAX];
    struct stat st;
    size_t n = strlen(e->d_name);
    int len = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    if (len < 0 || (size_t)len >= sizeof(path) || lstat(path, &st) != 0)
      continue;
    if (S_ISDIR(st.st_mode))
      rc = collect_yaml(path, depth + 1, list, err);
    else if (S_ISREG(st.st_mode) && n > 5 && strcmp(e->d_name + n - 5, ".yaml") == 0) {
      if (list->count == GH_CATALOGUE_MAX_FILES)
        list->overflow = 1;
      else if ((list->paths[list->count] = strdup(path)) != NULL)
        list->count++;
      else {
        snprintf(err->message, sizeof(err->message), "out of memory");
        rc = -1;
      }
    }
  }
  closedir(d);
  return rc;
}

static void add_error(gh_load_error *errors, size_t max_errors, size_t *error_count,
                      const gh_load_error *err) {
  if (*error_count < max_errors)
    errors[*error_count] = *err;
  (*error_count)++;
}

/* Appends a file's cases to the catalogue (moving them: the file's array is freed, not its cases).
 */
static int catalogue_take(gh_catalogue *cat, gh_case_spec *cases, size_t count) {
  gh_case_spec *grown = realloc(cat->cases, (cat->count + count + 1) * sizeof(*grown));
  if (!grown)
    return -1;
  memcpy(grown + cat->count, cases, count * sizeof(*cases));
  cat->cases = grown;
  cat->count += count;
  cat->files++;
  free(cases);
  return 0;
}

int gh_catalogue_load(const char *path, gh_catalogue *out, gh_load_error *errors, size_t max_errors,
                      size_t *error_count) {
  memset(out, 0, sizeof(*out));
  *error_count = 0;
  path_list *list = calloc(1, sizeof(*list));
  gh_load_error err;
  memset(&err, 0, sizeof(err));
  snprintf(err.file, sizeof(err.file), "%s", path);
  /* What path is decides, by stat (which never opens it, so a FIFO is not
   * waited on): a regular file is one scenario file, a directory is walked,
   * anything else is named for what it is. */
  struct stat st;
  int rc = list ? 0 : -1;
  if (!list)
    snprintf(err.message, sizeof(err.message), "out of memory");
  else if (stat(path, &st) != 0) {
    snprintf(err.message, sizeof(err.message), "%s", strerror(errno));
    rc = -1;
  } else if (S_ISREG(st.st_mode)) {
    list->paths[0] = strdup(path);
    list->count = list->paths[0] ? 1 : 0;
  } else if (!S_ISDIR(st.st_mode)) {
    snprintf(err.message, sizeof(err.message),
             "%s: a directory of scenarios or one .yaml scenario file is expected",
             gu_file_type(st.st_mode));
    rc = -1;
  } else if (collect_yaml(path, 0, list, &err) != 0)
    rc = -1;
  else if (list->overflow) {
    snprintf(err.message, sizeof(err.message), "more than 1024 scenario files");
    rc = -1;
  }
  if (rc != 0) {
    add_error(errors, max_errors, error_count, &err);
  } else
    qsort(list->paths, list->count, sizeof(list->paths[0]), by_path);
  for (size_t i = 0; list && i < list->count; i++) {
    gh_case_spec *cases = NULL;
    size_t count = 0;
    memset(&err, 0, sizeof(err));
    if (rc == 0 && gh_scenario_load(list->paths[i], &cases, &count, &err) != 0)
      add_error(errors, max_errors, error_count, &err);
    else if (rc == 0 && catalogue_take(out, cases, count) != 0) {
      gh_cases_free(cases, count);
      snprintf(err.file, sizeof(err.file), "%s", list->paths[i]);
      snprintf(err.message, sizeof(err.message), "out of memory");
      add_error(errors, max_errors, error_count, &err);
    }
    free(list->paths[i]);
  }
  free(list);
  if (*error_count > 0) {
    gh_catalogue_free(out);
    return -1;
  }
  return 0;
}

void gh_catalogue_free(gh_catalogue *cat) {
  gh_cases_free(cat->cases, cat->count);
  memset(cat, 0, sizeof(*cat));
}
