/* caddy_conf.c - the caddy driver's renderer: a generation of the desired
 * state (real.h) as Caddy 2.6's native JSON configuration (jansson; no
 * Caddyfile, no adapter). CADDY.md says why each part is there; caddy.c loads
 * what this builds through Caddy's admin API.
 *
 *   - admin: Caddy's own admin endpoint on a loopback port of ours, its
 *     configuration never persisted (autosave off); storage in the case's
 *     directory; no automatic HTTPS on any server (no ACME, no redirects, no
 *     network; no OCSP stapling of the gateway's own certificate);
 *   - a control server (plain HTTP, its own loopback port) answering the
 *     generation on /generation, which caddy.c polls after a load;
 *   - the data plane: one TLS server (HTTP/1.1 only, as nginx and HAProxy listen here) with
 *     the gateway's own certificate (tls app, load_files, selected by tag) and
 *     a connection policy whose client_authentication is the listener's verify
 *     mode (none: absent, optional: verify_if_given, require:
 *     require_and_verify) against a pool of the base trust plus every
 *     uploaded client certificate (Go accepts a leaf in the pool as its own
 *     anchor);
 *   - an API is a route per path prefix (/<context>/<version>, and
 *     /<context> for the default version; longest prefix first, as nginx's
 *     locations) whose subroute decides the client certificate with vars
 *     (per-API pins: the SHA-256 fingerprint of the verified certificate,
 *     with chain validation its issuer DN, or an honoured certificate header's
 *     exact value), asks gatecert-introspect for OAuth2 (a reverse_proxy to
 *     /check whose 2xx goes on, as Caddy's forward_auth), rewrites the prefix
 *     to the endpoint's path and proxies with transport http + tls: a root
 *     pool of the profile's (or base) trust plus the certificates uploaded for
 *     that endpoint, the identity toward the backend, the server name;
 *   - every pool starts with a throwaway CA whose key was discarded, so an
 *     empty pool trusts nothing (Caddy falls back to the system roots when a
 *     pool is empty).
 * Certificates go into the JSON as base64 DER; an upload that is not
 * certificates goes in as base64 of its bytes, which Caddy refuses at load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "caddy.h"
#include "scenario.h"

#define CADDY_GATEWAY_TAG "gatecert-gateway"

const char *gh_caddy_cert_header(const caddy_driver *c) {
  return c->real.cfg.certificate_header ? c->real.cfg.certificate_header : GH_CERT_HEADER_DEFAULT;
}

/* ---- certificates as Caddy reads them --------------------------------------------------- */

/* base64 of len bytes (malloc'd), or NULL. */
static char *b64(const unsigned char *data, size_t len) {
  char *out = malloc(4 * ((len + 2) / 3) + 1);
  if (out)
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
  return out;
}

static int append_b64(json_t *arr, const unsigned char *data, size_t len) {
  char *s = b64(data, len);
  int rc = s ? json_array_append_new(arr, json_string(s)) : -1;
  free(s);
  return rc;
}

static int append_cert(json_t *arr, X509 *cert) {
  unsigned char *der = NULL;
  int len = i2d_X509(cert, &der);
  int rc = len > 0 ? append_b64(arr, der, (size_t)len) : -1;
  OPENSSL_free(der);
  return rc;
}

/* Every certificate of a PEM text into arr as base64 DER; how many, or -1. */
static int append_pem(json_t *arr, const void *pem, size_t len) {
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  if (!bio)
    return -1;
  int count = 0;
  X509 *cert;
  while (count >= 0 && (cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    count = append_cert(arr, cert) == 0 ? count + 1 : -1;
    X509_free(cert);
  }
  BIO_free(bio);
  return count;
}

/* An uploaded certificate record: its certificates, or (an upload that is
 * not certificates) its bytes as they came, for Caddy to judge. */
static int append_record(json_t *arr, const gh_real_cert *rec) {
  if (!rec->first)
    return append_b64(arr, (const unsigned char *)rec->bytes, rec->len);
  return append_pem(arr, rec->bytes, rec->len) < 0 ? -1 : 0;
}

static int append_file(json_t *arr, const char *path, char *why, size_t why_len) {
  gu_text t = {0};
  if (gh_real_add_file(&t, path, why, why_len) != 0)
    return -1;
  int rc = t.failed ? -1 : append_pem(arr, t.data, t.len);
  gu_text_free(&t);
  return rc < 0 ? gu_fail(why, why_len, "%s: no certificates read", path) : 0;
}

/* The SHA-256 fingerprint Caddy's {http.request.tls.client.fingerprint} gives. */
static int sha256_hex(X509 *cert, char out[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, EVP_sha256(), md, &n) != 1 || n != 32)
    return -1;
  for (unsigned i = 0; i < n; i++)
    snprintf(out + (size_t)2 * i, 3, "%02x", md[i]);
  return 0;
}

/* An RFC 2253 subject (as Go's pkix.Name.String() prints simple names). */
static char *subject_dn(X509 *cert) {
  BIO *bio = BIO_new(BIO_s_mem());
  char *mem = NULL, *out = NULL;
  long len;
  if (bio && X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0 &&
      (len = BIO_get_mem_data(bio, &mem)) >= 0 && (out = malloc((size_t)len + 1))) {
    memcpy(out, mem, (size_t)len);
    out[len] = '\0';
  }
  BIO_free(bio);
  return out;
}

/* text with RE2's metacharacters escaped, appended to t. */
static void add_quoted(gu_text *t, const char *text) {
  for (const char *p = text; *p; p++) {
    if (strchr("\\.+*?()|[]{}^$", *p))
      gu_text_add(t, "\\", 1);
    gu_text_add(t, p, 1);
  }
}

/* ---- pins -------------------------------------------------------------------------------- */

/* The escaped PEM forms a certificate header carries: nginx's
 * $ssl_client_escaped_cert (RFC 3986 component escaping) and curl's
 * curl_easy_escape (the harness's url-pem). */
static char *nginx_escape(const unsigned char *data, size_t len) {
  static const uint32_t component[8] = {0xffffffff, 0xfc009fff, 0x78000001, 0xb8000001,
                                        0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};
  static const char hex[] = "0123456789ABCDEF";
  char *out = malloc(3 * len + 1);
  size_t n = 0;
  for (size_t i = 0; out && i < len; i++) {
    unsigned char ch = data[i];
    if (component[ch >> 5] & (1u << (ch & 0x1f))) {
      out[n++] = '%';
      out[n++] = hex[ch >> 4];
      out[n++] = hex[ch & 0xf];
    } else
      out[n++] = (char)ch;
  }
  if (out)
    out[n] = '\0';
  return out;
}

static int append_header_forms(json_t *arr, X509 *cert) {
  BIO *bio = BIO_new(BIO_s_mem());
  char *mem = NULL;
  long len = 0;
  int rc = -1;
  if (bio && PEM_write_bio_X509(bio, cert) == 1 && (len = BIO_get_mem_data(bio, &mem)) > 0) {
    char *ng = nginx_escape((const unsigned char *)mem, (size_t)len);
    char *cu = curl_easy_escape(NULL, mem, (int)len);
    if (ng && cu) {
      rc = json_array_append_new(arr, json_string(ng));
      if (rc == 0 && strcmp(ng, cu) != 0)
        rc = json_array_append_new(arr, json_string(cu));
    }
    free(ng);
    curl_free(cu);
  }
  BIO_free(bio);
  return rc;
}

/* "^(a|b)$" of the texts of arr (strings), or NULL when arr is empty. */
static char *alternation(const json_t *arr) {
  if (json_array_size(arr) == 0)
    return NULL;
  gu_text t = {0};
  gu_text_printf(&t, "^(");
  size_t i;
  const json_t *v;
  json_array_foreach(arr, i, v) {
    if (i)
      gu_text_printf(&t, "|");
    add_quoted(&t, json_string_value(v));
  }
  gu_text_printf(&t, ")$");
  if (t.failed) {
    gu_text_free(&t);
    return NULL;
  }
  return t.data;
}

/* ---- building blocks --------------------------------------------------------------------- */

static json_t *vars_handler(const char *k1, const char *v1, const char *k2, const char *v2) {
  json_t *h = json_pack("{s:s, s:s}", "handler", "vars", k1, v1);
  if (h && k2)
    json_object_set_new(h, k2, json_string(v2));
  return h;
}

/* A route: match (a matcher set, stolen; NULL: always), one handler (stolen). */
static json_t *route(json_t *match, json_t *handler) {
  json_t *r = json_pack("{s:[o]}", "handle", handler);
  if (r && match)
    json_object_set_new(r, "match", json_pack("[o]", match));
  else
    json_decref(match);
  return r;
}

static json_t *var_is(const char *name, const char *value) {
  return json_pack("{s:{s:[s]}}", "vars", name, value);
}

/* {"vars_regexp": {key: {"pattern": pattern}}} added to the matcher set m. */
static void add_regexp(json_t *m, const char *key, const char *pattern) {
  json_object_set_new(m, "vars_regexp", json_pack("{s:{s:s}}", key, "pattern", pattern));
}

static json_t *json_response(int status, const char *body) {
  return json_pack("{s:s, s:i, s:s, s:{s:[s]}}", "handler", "static_response", "status_code",
                   status, "body", body, "headers", "Content-Type", "application/json");
}

#define FP "{http.request.tls.client.fingerprint}"

/* The routes deciding the client certificate of an API with mutualssl:
 * gc_ok 1 when the request may pass, gc_cert (valid / unknown / absent) as
 * gatecert-introspect wants it. nginx_conf.c decides the same with maps. */
static int cert_routes(const caddy_driver *c, const gh_real_api *a, json_t *routes) {
  const gh_real *g = &c->real;
  const char *hdr = gh_caddy_cert_header(c);
  json_t *fps = json_array(), *dns = json_array(), *forms = json_array(), *known = json_array(),
         *lbs = json_array();
  int rc = fps && dns && forms && known && lbs ? 0 : -1;
  for (size_t i = 0; rc == 0 && i < g->client_count; i++) {
    X509 *first = g->clients[i].first;
    char fp[65];
    if (!first || sha256_hex(first, fp) != 0)
      continue;
    rc = json_array_append_new(known, json_string(fp));
    if (rc != 0 || strcmp(g->clients[i].api, a->name) != 0)
      continue;
    rc = json_array_append_new(fps, json_string(fp));
    char *dn = subject_dn(first);
    if (rc == 0)
      rc = dn ? json_array_append_new(dns, json_string(dn)) : -1;
    free(dn);
    if (rc == 0)
      rc = append_header_forms(forms, first);
  }
  for (size_t i = 0; rc == 0 && i < g->cfg.trusted_lb_count; i++)
    rc = json_array_append_new(lbs, json_string(g->cfg.trusted_lb_sha256[i]));
  char *fp_re = alternation(fps), *dn_re = alternation(dns), *known_re = alternation(known),
       *lb_re = alternation(lbs);
  json_t *m;
  if (rc == 0) {
    json_array_append_new(routes,
                          route(NULL, json_pack("{s:s, s:s, s:s, s:s}", "handler", "vars", "gc_ok",
                                                "0", "gc_hh", "0", "gc_cert", "absent")));
    /* the header speaks for the client: sent, and (client validation) on a
     * connection from a trusted load balancer - any verified one when none
     * is listed */
    m = json_pack("{s:{s:[]}}", "header", hdr);
    if (g->cfg.client_validation != 0)
      add_regexp(m, FP, lb_re ? lb_re : "^[0-9a-f]{64}$");
    if (g->cfg.client_validation == 0 || lb_re || g->cfg.trusted_lb_count == 0)
      json_array_append_new(routes, route(m, vars_handler("gc_hh", "1", NULL, NULL)));
    else
      json_decref(m);
    if (fp_re) { /* the connection's own verified certificate, pinned */
      m = var_is("gc_hh", "0");
      add_regexp(m, FP, fp_re);
      json_array_append_new(routes, route(m, vars_handler("gc_ok", "1", NULL, NULL)));
    }
    if (dn_re && g->cfg.chain_validation == 1) { /* issued by a pinned CA */
      m = var_is("gc_hh", "0");
      add_regexp(m, "{http.request.tls.client.issuer}", dn_re);
      json_array_append_new(routes, route(m, vars_handler("gc_ok", "1", NULL, NULL)));
    }
    if (json_array_size(forms) > 0) { /* the honoured header names a pinned certificate */
      m = var_is("gc_hh", "1");
      json_object_set_new(m, "header", json_pack("{s:O}", hdr, forms));
      json_array_append_new(routes, route(m, vars_handler("gc_ok", "1", NULL, NULL)));
    }
    if (a->introspected) {
      m = var_is("gc_hh", "1");
      json_array_append_new(routes, route(m, vars_handler("gc_cert", "unknown", NULL, NULL)));
      if (known_re) { /* verified and uploaded to some API: unknown, not absent */
        m = json_object();
        add_regexp(m, FP, known_re);
        json_array_append_new(routes, route(m, vars_handler("gc_cert", "unknown", NULL, NULL)));
      }
      json_array_append_new(
          routes, route(var_is("gc_ok", "1"), vars_handler("gc_cert", "valid", NULL, NULL)));
    }
  }
  free(fp_re);
  free(dn_re);
  free(known_re);
  free(lb_re);
  json_decref(fps);
  json_decref(dns);
  json_decref(forms);
  json_decref(known);
  json_decref(lbs);
  return rc;
}

/* gatecert-introspect decides (Caddy's forward_auth in JSON): its 2xx goes
 * on to the next handler, anything else is the answer. */
static json_t *auth_handler(const caddy_driver *c, const gh_real_api *a) {
  char dial[64];
  snprintf(dial, sizeof(dial), "127.0.0.1:%d", gh_tokens_port(c->real.tokens));
  return json_pack("{s:s, s:[{s:s}], s:{s:s, s:s}, s:{s:{s:{s:[s], s:[s]}}},"
                   " s:[{s:{s:[i]}, s:[{s:[{s:s, s:{s:[s]}}]}]}]}",
                   "handler", "reverse_proxy", "upstreams", "dial", dial, "rewrite", "method",
                   "GET", "uri", "/check", "headers", "request", "set", "X-Gatecert-Api", a->name,
                   "X-Gatecert-Cert", a->mtls ? "{http.vars.gc_cert}" : "absent", "handle_response",
                   "match", "status_code", 2, "routes", "handle", "handler", "headers", "request",
                   "delete", "X-Gatecert-Cert");
}

/* The identity toward a backend: the chain + key file, NULL for none, or
 * the gateway's own (the default profile carries it, as WSO2's does). */
static const char *backend_identity(const caddy_driver *c, const gh_real_api *a, int *own) {
  const gh_driver_profile *p = gh_real_profile_for(&c->real, &a->u);
  const char *file = NULL;
  *own = 0;
  if (a->key_pem)
    file = a->key_pem;
  else if (p)
    file = p->key_pem;
  else if (c->real.cfg.has_default_profile && c->real.cfg.default_profile.key_pem)
    file = c->real.cfg.default_profile.key_pem;
  else
    *own = 1;
  return file && strcmp(file, "none") != 0 ? file : NULL;
}

/* "scheme://host:port" of text is key (text as is when it does not parse). */
static int endpoint_is(const char *text, const char *key) {
  gh_real_url u;
  char mine[600];
  if (gh_real_parse_url(text, &u) == 0)
    snprintf(mine, sizeof(mine), "%s://%s:%d", u.scheme, u.host, u.port);
  else
    snprintf(mine, sizeof(mine), "%s", text);
  return strcmp(mine, key) == 0;
}

/* The API's root pool: the placeholder, its own trust or the profile's (or
 * base) trust plus the certificates uploaded for its endpoint. */
static json_t *root_pool(const caddy_driver *c, const gh_real_api *a, char *why, size_t why_len) {
  json_t *pool = json_pack("[s]", c->placeholder_ca_b64);
  int rc = pool ? 0 : gu_fail(why, why_len, "out of memory");
  if (rc == 0 && a->trust_pem)
    rc = append_file(pool, a->trust_pem, why, why_len);
  else if (rc == 0) {
    const gh_driver_profile *p = gh_real_profile_for(&c->real, &a->u);
    const char *base = p && p->trust_pem ? p->trust_pem : c->real.cfg.base_trust_pem;
    if (base)
      rc = append_file(pool, base, why, why_len);
    char key[600];
    snprintf(key, sizeof(key), "%s://%s:%d", a->u.scheme, a->u.host, a->u.port);
    for (size_t i = 0; rc == 0 && i < c->real.cert_count; i++)
      if (endpoint_is(c->real.certs[i].endpoint, key) &&
          append_record(pool, &c->real.certs[i]) != 0)
        rc = gu_fail(why, why_len, "out of memory");
  }
  if (rc != 0) {
    json_decref(pool);
    return NULL;
  }
  return pool;
}

static json_t *backend_handler(const caddy_driver *c, const gh_real_api *a, char *why,
                               size_t why_len) {
  const gh_real_url *u = &a->u;
  char dial[300];
  snprintf(dial, sizeof(dial), "%s:%d", u->host, u->port);
  json_t *transport = json_pack("{s:s}", "protocol", "http");
  if (c->real.cfg.backend_timeout_ms > 0) {
    char d[32];
    snprintf(d, sizeof(d), "%lldms", (long long)c->real.cfg.backend_timeout_ms);
    json_object_set_new(transport, "dial_timeout", json_string(d));
    json_object_set_new(transport, "response_header_timeout", json_string(d));
  }
  if (strcmp(u->scheme, "https") == 0) {
    json_t *pool = root_pool(c, a, why, why_len);
    if (!pool) {
      json_decref(transport);
      return NULL;
    }
    json_t *tls = json_pack("{s:o, s:s}", "root_ca_pool", pool, "server_name", u->host);
    int own = 0;
    const char *id = backend_identity(c, a, &own);
    const char *cert = own ? c->server_cert : id, *key = own ? c->server_key : id;
    if (cert) { /* a chain + key file is both: LoadX509KeyPair skips the other blocks */
      json_object_set_new(tls, "client_certificate_file", json_string(cert));
      json_object_set_new(tls, "client_certificate_key_file", json_string(key));
    }
    json_object_set_new(transport, "tls", tls);
  }
  return json_pack("{s:s, s:[{s:s}], s:{s:{s:{s:[s]}, s:[s]}}, s:o}", "handler", "reverse_proxy",
                   "upstreams", "dial", dial, "headers", "request", "set", "Host", dial, "delete",
                   "Authorization", "transport", transport);
}

/* The subroute of one API at one prefix. */
static json_t *api_routes(const caddy_driver *c, const gh_real_api *a, const char *prefix,
                          char *why, size_t why_len) {
  json_t *routes = json_array();
  if (a->mtls && cert_routes(c, a, routes) != 0) {
    json_decref(routes);
    gu_fail(why, why_len, "out of memory or an unreadable certificate");
    return NULL;
  }
  if (a->introspected)
    json_array_append_new(routes, route(NULL, auth_handler(c, a)));
  else if (a->mtls)
    json_array_append_new(
        routes, route(var_is("gc_ok", "0"),
                      json_response(401, "{\"code\":\"900901\",\"message\":\"Invalid Credentials\","
                                         "\"description\":\"no client certificate associated "
                                         "with this API\"}")));
  gu_text re = {0}, to = {0};
  gu_text_printf(&re, "^");
  add_quoted(&re, prefix);
  gu_text_printf(&re, "/?");
  gu_text_printf(&to, "%s/", a->u.path);
  json_t *proxy = backend_handler(c, a, why, why_len);
  if (!proxy || re.failed || to.failed) {
    gu_text_free(&re);
    gu_text_free(&to);
    json_decref(proxy);
    json_decref(routes);
    return NULL;
  }
  json_array_append_new(routes,
                        route(NULL, json_pack("{s:s, s:[{s:s, s:s}]}", "handler", "rewrite",
                                              "path_regexp", "find", re.data, "replace", to.data)));
  json_array_append_new(routes, route(NULL, proxy));
  gu_text_free(&re);
  gu_text_free(&to);
  return routes;
}

typedef struct prefix_entry {
  size_t api;
  char prefix[600];
} prefix_entry;

static int longer_first(const void *x, const void *y) {
  const prefix_entry *a = x, *b = y;
  size_t la = strlen(a->prefix), lb = strlen(b->prefix);
  return la < lb ? 1 : la > lb ? -1 : strcmp(a->prefix, b->prefix);
}

static json_t *gateway_routes(const caddy_driver *c, char *why, size_t why_len) {
  const gh_real *g = &c->real;
  prefix_entry *e = calloc(2 * g->api_count + 1, sizeof(*e));
  json_t *routes = json_array();
  if (!e || !routes) {
    free(e);
    json_decref(routes);
    gu_fail(why, why_len, "out of memory");
    return NULL;
  }
  size_t n = 0;
  for (size_t i = 0; i < g->api_count; i++) {
    e[n].api = i;
    snprintf(e[n++].prefix, sizeof(e->prefix), "%s/%s", g->apis[i].context, g->apis[i].version);
    if (g->apis[i].default_version) {
      e[n].api = i;
      snprintf(e[n++].prefix, sizeof(e->prefix), "%s", g->apis[i].context);
    }
  }
  qsort(e, n, sizeof(*e), longer_first);
  int rc = 0;
  for (size_t k = 0; rc == 0 && k < n; k++) {
    json_t *sub = api_routes(c, &g->apis[e[k].api], e[k].prefix, why, why_len);
    char star[610];
    snprintf(star, sizeof(star), "%s/*", e[k].prefix);
    if (!sub)
      rc = -1;
    else
      json_array_append_new(routes, json_pack("{s:[{s:[s,s]}], s:[{s:s, s:o}], s:b}", "match",
                                              "path", e[k].prefix, star, "handle", "handler",
                                              "subroute", "routes", sub, "terminal", 1));
  }
  free(e);
  if (rc != 0) {
    json_decref(routes);
    return NULL;
  }
  json_array_append_new(routes,
                        route(NULL, json_response(404, "{\"code\":\"404\",\"message\":\"Not "
                                                       "Found\",\"description\":\"The requested "
                                                       "resource is not available.\"}")));
  return routes;
}

/* The listener's TLS: the gateway's certificate, the client verify mode. */
static json_t *connection_policy(const caddy_driver *c, char *why, size_t why_len) {
  const gh_real *g = &c->real;
  json_t *p = json_pack("{s:{s:[s]}, s:s}", "certificate_selection", "any_tag", CADDY_GATEWAY_TAG,
                        "default_sni", "localhost");
  const char *verify = g->cfg.verify_client ? g->cfg.verify_client : "optional";
  if (strcmp(verify, "none") == 0)
    return p;
  json_t *pool = json_pack("[s]", c->placeholder_ca_b64);
  int rc = g->cfg.base_trust_pem ? append_file(pool, g->cfg.base_trust_pem, why, why_len) : 0;
  for (size_t i = 0; rc == 0 && i < g->client_count; i++)
    if (append_record(pool, &g->clients[i]) != 0)
      rc = gu_fail(why, why_len, "out of memory");
  if (rc != 0) {
    json_decref(pool);
    json_decref(p);
    return NULL;
  }
  json_object_set_new(
      p, "client_authentication",
      json_pack("{s:o, s:s}", "trusted_ca_certs", pool, "mode",
                strcmp(verify, "require") == 0 ? "require_and_verify" : "verify_if_given"));
  return p;
}

json_t *gh_caddy_render(const caddy_driver *c, long gen, char *why, size_t why_len) {
  char admin[64], control[64], data[64], storage[GH_REAL_PATH + 16], generation[32];
  snprintf(admin, sizeof(admin), "127.0.0.1:%d", c->admin_port);
  snprintf(control, sizeof(control), "127.0.0.1:%d", c->control_port);
  snprintf(data, sizeof(data), "127.0.0.1:%d", c->port);
  snprintf(storage, sizeof(storage), "%s/storage", c->dir);
  snprintf(generation, sizeof(generation), "%ld", gen);
  json_t *routes = gateway_routes(c, why, why_len);
  json_t *policy = routes ? connection_policy(c, why, why_len) : NULL;
  if (!routes || !policy) {
    json_decref(routes);
    return NULL;
  }
  json_t *root = json_pack(
      "{s:{s:s, s:{s:b}}, s:{s:s, s:s}, s:{s:{s:{s:s}}},"
      " s:{s:{s:{s:{s:[s], s:{s:b}, s:[{s:[{s:[s]}], s:[{s:s, s:i, s:s}]}]},"
      "          s:{s:[s], s:{s:b}, s:[o], s:o, s:[s], s:{}}}},"
      "    s:{s:{s:[{s:s, s:s, s:[s]}]}, s:b}}}",
      "admin", "listen", admin, "config", "persist", 0,                           /* */
      "storage", "module", "file_system", "root", storage,                        /* */
      "logging", "logs", "default", "level", "INFO",                              /* */
      "apps", "http", "servers", "control", "listen", control, "automatic_https", /* */
      "disable", 1, "routes", "match", "path", "/generation", "handle", "handler",
      "static_response", "status_code", 200, "body", generation, /* */
      "gateway", "listen", data, "automatic_https", "disable", 1, "tls_connection_policies", policy,
      "routes", routes, "protocols", "h1", "logs", /* */
      "tls", "certificates", "load_files", "certificate", c->server_cert, "key", c->server_key,
      "tags", CADDY_GATEWAY_TAG, "disable_ocsp_stapling", 1);
  if (!root)
    gu_fail(why, why_len, "out of memory rendering Caddy's configuration");
  return root;
}
