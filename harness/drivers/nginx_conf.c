/* nginx_conf.c - the nginx driver's renderer: a generation of the desired
 * state (real.h) as nginx.conf and the trust bundles it names. NGINX.md says
 * why each directive is there; nginx.c runs, reloads and confirms what this
 * writes.
 *
 *   - an API is `location /<context>/<version>/` (+ `= /<context>/<version>`,
 *     and `/<context>/` for the default version) with `proxy_pass` to the
 *     endpoint's host:port + path, so that /test/1.0/menaka reaches
 *     <endpoint path>/menaka as in the simulator; no explicit upstream blocks:
 *     APIs with one backend host:port share nginx's implicit upstream (and its
 *     cached TLS session, README.md finding 3); only upstream_keepalive true
 *     gives each API an upstream block with `keepalive` (pooled backend
 *     connections, README.md finding 5);
 *   - backend trust per location: proxy_ssl_verify with a bundle of the SSL
 *     profile's trust (or the base trust) plus the certificates uploaded for
 *     that endpoint; identity per host:port from the SSL profiles;
 *   - client mTLS on the server (ssl_verify_client, a bundle of the base
 *     trust plus every uploaded client certificate) and per-API pins as maps
 *     over $ssl_client_fingerprint, the certificate header (exact match of
 *     the escaped PEM forms) and, with chain validation, the issuer DN; the
 *     pins of each client certificate (SHA-1, RFC 2253 subject, the two
 *     escaped PEM forms) are computed once per render;
 *   - OAuth2 (an API whose security has oauth2, the OAuth mandatory flag, or
 *     no mutualssl): auth_request to an internal location proxying to
 *     gatecert-introspect (simulator/introspect.c), which answers WSO2's
 *     verdict from the API's security, the client certificate state nginx
 *     computed from the same pins (valid / unknown / absent) and the bearer
 *     token; its 401/403 fault JSON (X-Gatecert-Fault) becomes the answer's
 *     body;
 *   - a control server on its own loopback port answering the generation
 *     (`location = /generation`), which nginx.c polls after a reload.
 * Every bundle starts with a throwaway self-signed CA whose key is discarded
 * at once, so an empty bundle still loads and trusts nothing. A generation's
 * bundles go to <dir>/gen-N/, so the previous generation's stay as they were
 * until nginx has moved on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gcert.h"
#include "nginx.h"
#include "scenario.h"

const char *gh_nginx_cert_header(const nginx_driver *n) {
  return n->real.cfg.certificate_header ? n->real.cfg.certificate_header : GH_CERT_HEADER_DEFAULT;
}

/* What a client certificate is matched by: SHA-1 fingerprint, subject DN,
 * and the two escaped PEM forms a load balancer or the harness sends. */
typedef struct ng_pins {
  char sha1[41];      /* $ssl_client_fingerprint; "" when the upload is no certificate */
  char *subject_dn;   /* RFC 2253, as nginx prints $ssl_client_i_dn */
  char *header_nginx; /* the PEM escaped as $ssl_client_escaped_cert */
  char *header_curl;  /* the PEM escaped by curl_easy_escape (the harness's url-pem) */
} ng_pins;

static void pins_free(ng_pins *c) {
  free(c->subject_dn);
  free(c->header_nginx);
  free(c->header_curl);
  memset(c, 0, sizeof(*c));
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

/* nginx's ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT), the escaping of
 * $ssl_client_escaped_cert: one bit per character that is escaped. */
static char *nginx_escape(const unsigned char *data, size_t len) {
  static const uint32_t component[8] = {0xffffffff, 0xfc009fff, 0x78000001, 0xb8000001,
                                        0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};
  static const char hex[] = "0123456789ABCDEF";
  char *out = malloc(3 * len + 1);
  if (!out)
    return NULL;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = data[i];
    if (component[c >> 5] & (1u << (c & 0x1f))) {
      out[n++] = '%';
      out[n++] = hex[c >> 4];
      out[n++] = hex[c & 0xf];
    } else
      out[n++] = (char)c;
  }
  out[n] = '\0';
  return out;
}

/* What a client certificate is matched by: SHA-1 fingerprint, subject DN,
 * and the two escaped PEM forms a load balancer or the harness sends. */
static int client_cert_facts(X509 *cert, ng_pins *c) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, EVP_sha1(), md, &n) != 1)
    return -1;
  for (unsigned i = 0; i < n && i < 20; i++)
    snprintf(c->sha1 + (size_t)2 * i, 3, "%02x", md[i]);
  BIO *bio = BIO_new(BIO_s_mem());
  if (!bio)
    return -1;
  char *mem = NULL;
  long len = 0;
  if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0 &&
      (len = BIO_get_mem_data(bio, &mem)) >= 0 && (c->subject_dn = malloc((size_t)len + 1))) {
    memcpy(c->subject_dn, mem, (size_t)len);
    c->subject_dn[len] = '\0';
  }
  (void)BIO_reset(bio);
  if (PEM_write_bio_X509(bio, cert) == 1 && (len = BIO_get_mem_data(bio, &mem)) > 0) {
    c->header_nginx = nginx_escape((const unsigned char *)mem, (size_t)len);
    char *escaped = curl_easy_escape(NULL, mem, (int)len);
    c->header_curl = escaped ? strdup(escaped) : NULL;
    curl_free(escaped);
  }
  BIO_free(bio);
  return c->subject_dn && c->header_nginx && c->header_curl ? 0 : -1;
}

/* ---- rendering ----------------------------------------------------------------------------- */

/* The directives every nginx.conf of ours starts with (front_lb.h). */
static void render_head(gu_text *b, const nginx_driver *n, const ng_instance *in, long gen) {
  char title[64];
  snprintf(title, sizeof(title), "nginx driver: generation %ld", gen);
  gh_nginx_conf_head(b, in->dir, in->error_log, n->user_line, title);
}

static void render_control(gu_text *b, const ng_instance *in, const char *answer) {
  gu_text_printf(b,
                 "  server { # control: which generation is live\n"
                 "    listen 127.0.0.1:%d;\n"
                 "    access_log off;\n"
                 "    location = /generation { default_type text/plain; return 200 \"%s\"; }\n"
                 "    location / { return 404; }\n"
                 "  }\n",
                 in->control_port, answer);
}

/* The header's nginx variable: $http_ + the name, lower case, '-' as '_'. */
static void header_variable(const char *name, char *out, size_t out_len) {
  size_t k = (size_t)snprintf(out, out_len, "http_");
  for (size_t i = 0; name[i] && k + 1 < out_len; i++) {
    char c = name[i];
    out[k++] = c == '-' ? '_' : (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  out[k] = '\0';
}

/* How a client certificate is pinned in a map. */
typedef enum pin_kind { PIN_FINGERPRINT, PIN_SUBJECT, PIN_HEADER } pin_kind;

/* The map keys of c for kind (up to two: the header has two escaped forms). */
static size_t pin_keys(const ng_pins *c, pin_kind kind, const char *keys[2]) {
  if (!c->sha1[0])
    return 0; /* the upload was no certificate */
  if (kind == PIN_FINGERPRINT) {
    keys[0] = c->sha1;
    return 1;
  }
  if (kind == PIN_SUBJECT) {
    keys[0] = c->subject_dn;
    return gh_nginx_safe(c->subject_dn) && c->subject_dn[0] != '~' ? 1 : 0;
  }
  /* as case-sensitive regular expressions (nginx compares a map's plain
   * strings ignoring case): escaped PEM holds no regex character */
  static const char plain[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789%-";
  keys[0] = c->header_nginx;
  keys[1] = c->header_curl;
  if (strspn(keys[0], plain) != strlen(keys[0]) || strspn(keys[1], plain) != strlen(keys[1]))
    return 0;
  return strcmp(c->header_nginx, c->header_curl) != 0 ? 2 : 1;
}

/* 1 when a client certificate of api before index upto has key (nginx
 * refuses a map with one key twice). */
static int pinned_before(const nginx_driver *n, const ng_pins *pins, const char *api, size_t upto,
                         pin_kind kind, const char *key) {
  for (size_t i = 0; i < upto; i++) {
    const char *keys[2];
    size_t count = strcmp(n->real.clients[i].api, api) == 0 ? pin_keys(&pins[i], kind, keys) : 0;
    for (size_t k = 0; k < count; k++)
      if (strcmp(keys[k], key) == 0)
        return 1;
  }
  return 0;
}

/* map SOURCE $gc_aN_SUFFIX: 1 for the API's client certificates' keys of kind. */
static void render_pins(gu_text *b, const nginx_driver *n, const ng_pins *pins, size_t index,
                        pin_kind kind, const char *source, const char *suffix) {
  const gh_real_api *a = &n->real.apis[index];
  gu_text_printf(b, "  map %s $gc_a%zu_%s {\n    default 0;\n", source, index, suffix);
  for (size_t i = 0; i < n->real.client_count; i++) {
    const char *keys[2];
    size_t count =
        strcmp(n->real.clients[i].api, a->name) == 0 ? pin_keys(&pins[i], kind, keys) : 0;
    for (size_t k = 0; k < count; k++)
      if (!pinned_before(n, pins, a->name, i, kind, keys[k]) &&
          (k == 0 || strcmp(keys[0], keys[k]) != 0))
        gu_text_printf(b, kind == PIN_HEADER ? "    \"~^%s$\" 1;\n" : "    \"%s\" 1;\n", keys[k]);
  }
  gu_text_printf(b, "  }\n");
}

/* The maps of one API with mutualssl: $gc_aN_ok is 1 when the request may pass. */
static void render_api_maps(gu_text *b, const nginx_driver *n, const ng_pins *pins, size_t index,
                            const char *hdr_var) {
  char source[200];
  render_pins(b, n, pins, index, PIN_FINGERPRINT, "$ssl_client_fingerprint", "fp");
  /* the connection's own certificate verified and pinned, or (chain
   * validation) issued by a pinned CA: the verified chain's issuer DN */
  if (n->real.cfg.chain_validation == 1) {
    render_pins(b, n, pins, index, PIN_SUBJECT, "$ssl_client_i_dn", "ca");
    gu_text_printf(b, "  map \"$ssl_client_verify:$gc_a%zu_fp$gc_a%zu_ca\" $gc_a%zu_peer {\n",
                   index, index, index);
  } else
    gu_text_printf(b, "  map \"$ssl_client_verify:$gc_a%zu_fp\" $gc_a%zu_peer {\n", index, index);
  gu_text_printf(b, "    \"~^SUCCESS:.*1\" 1;\n    default 0;\n  }\n");
  snprintf(source, sizeof(source), "$%s", hdr_var);
  render_pins(b, n, pins, index, PIN_HEADER, source, "hdr");
  /* header sent and honoured: the header decides; else the connection's own certificate */
  gu_text_printf(b,
                 "  map \"$gc_hdr_sent$gc_hdr_honoured:$gc_a%zu_hdr:$gc_a%zu_peer\" $gc_a%zu_ok {\n"
                 "    \"~^11:1:\" 1;\n    \"~^11:0:\" 0;\n    \"~:1$\" 1;\n    default 0;\n  }\n",
                 index, index, index);
}

/* $gc_known: 1 for a certificate uploaded to any API - what WSO2 keeps in
 * its in-memory client trust. A verified certificate outside it is absent
 * for the chain, not unknown (as gatecert-sim: 900902, not 900901). */
static void render_known_map(gu_text *b, const nginx_driver *n, const ng_pins *pins) {
  gu_text_printf(b, "  map $ssl_client_fingerprint $gc_known {\n    default 0;\n");
  for (size_t i = 0; i < n->real.client_count; i++) {
    const char *sha1 = pins[i].sha1;
    int twice = !sha1[0]; /* nginx refuses a map key listed twice */
    for (size_t k = 0; !twice && k < i; k++)
      twice = strcmp(pins[k].sha1, sha1) == 0;
    if (!twice)
      gu_text_printf(b, "    \"%s\" 1;\n", sha1);
  }
  gu_text_printf(b, "  }\n");
}

/* The client certificate as the introspector's X-Gatecert-Cert sees it, from
 * the same pins: valid (pinned, or the honoured header names a pinned one),
 * unknown (an honoured header that is not the API's, or a verified
 * certificate uploaded to another API), absent (none, or one the gateway
 * trusts only through its base trust store; an untrusted one never gets
 * here: with ssl_verify_client optional nginx answers 400 before any
 * location). */
static void render_cert_state_map(gu_text *b, size_t index) {
  gu_text_printf(
      b,
      "  map \"$gc_a%zu_ok:$gc_hdr_sent$gc_hdr_honoured:$ssl_client_verify:$gc_known\" "
      "$gc_a%zu_cert {\n"
      "    \"~^1:\" valid;\n    \"~^0:11:\" unknown;\n    \"~^0:..:SUCCESS:1$\" unknown;\n"
      "    default absent;\n  }\n",
      index, index);
}

/* Whether the certificate header may speak for the client on this connection. */
static void render_header_maps(gu_text *b, const nginx_driver *n, const char *hdr_var) {
  gu_text_printf(b, "  map $%s $gc_hdr_sent {\n    \"\" 0;\n    default 1;\n  }\n", hdr_var);
  if (n->real.cfg.client_validation == 0) {
    gu_text_printf(b, "  map $%s $gc_hdr_honoured {\n    default 1;\n  }\n", hdr_var);
    return;
  }
  gu_text_printf(b, "  map \"$ssl_client_verify:$ssl_client_fingerprint\" $gc_hdr_honoured {\n");
  size_t pins = 0;
  char pinned[GH_MAX_LB][41];
  for (size_t i = 0; i < GH_MAX_LB && n->real.cfg.trusted_lb_pem[i]; i++) {
    ng_pins facts = {0};
    X509 *cert = gh_real_file_first(n->real.cfg.trusted_lb_pem[i]);
    if (cert && client_cert_facts(cert, &facts) == 0) {
      int twice = 0; /* nginx refuses a map key listed twice */
      for (size_t k = 0; k < pins; k++)
        twice |= strcmp(pinned[k], facts.sha1) == 0;
      if (!twice) {
        gu_text_printf(b, "    \"SUCCESS:%s\" 1;\n", facts.sha1);
        memcpy(pinned[pins++], facts.sha1, sizeof(facts.sha1));
      }
    }
    pins_free(&facts);
    X509_free(cert);
  }
  if (pins == 0 && n->real.cfg.trusted_lb_count == 0)
    gu_text_printf(b, "    \"~^SUCCESS:\" 1;\n");
  gu_text_printf(b, "    default 0;\n  }\n");
}

/* The identity toward a backend: 0 with the certificate and key files (one
 * file for a chain + key PEM), or -1 for none. */
static int backend_identity(const nginx_driver *n, const gh_real_api *a, const char **cert,
                            const char **key) {
  const gh_driver_profile *p = gh_real_profile_for(&n->real, &a->u);
  const char *file = NULL;
  if (a->key_pem)
    file = a->key_pem;
  else if (p)
    file = p->key_pem; /* NULL: a profile without a key store presents nothing */
  else if (n->real.cfg.has_default_profile && n->real.cfg.default_profile.key_pem)
    file = n->real.cfg.default_profile.key_pem;
  else { /* the default profile carries the gateway's own identity, as WSO2's does */
    *cert = n->server_cert;
    *key = n->server_key;
    return 0;
  }
  if (!file || strcmp(file, "none") == 0)
    return -1;
  *cert = *key = file;
  return 0;
}

/* The trust bundle of an API's location, written to path. */
static int write_api_trust(const nginx_driver *n, const gh_real_api *a, const char *path, char *why,
                           size_t why_len) {
  gu_text b = {0};
  gh_real_add_text(&b, n->placeholder_ca.data, n->placeholder_ca.len);
  int rc = 0;
  if (a->trust_pem) {
    rc = gh_real_add_file(&b, a->trust_pem, why, why_len);
  } else {
    const gh_driver_profile *p = gh_real_profile_for(&n->real, &a->u);
    const char *base = p && p->trust_pem ? p->trust_pem : n->real.cfg.base_trust_pem;
    if (base)
      rc = gh_real_add_file(&b, base, why, why_len);
    char key[600];
    snprintf(key, sizeof(key), "%s://%s:%d", a->u.scheme, a->u.host, a->u.port);
    for (size_t i = 0; rc == 0 && i < n->real.cert_count; i++)
      if (endpoint_is(n->real.certs[i].endpoint, key))
        gh_real_add_text(&b, n->real.certs[i].bytes, n->real.certs[i].len);
  }
  if (rc != 0)
    gu_text_free(&b);
  return rc != 0 ? rc : gh_real_save_text(path, &b, why, why_len);
}

/* The client CA bundle: the base trust plus every uploaded client certificate. */
static int write_client_trust(const nginx_driver *n, const char *path, char *why, size_t why_len) {
  gu_text b = {0};
  gh_real_add_text(&b, n->placeholder_ca.data, n->placeholder_ca.len);
  int rc = n->real.cfg.base_trust_pem
               ? gh_real_add_file(&b, n->real.cfg.base_trust_pem, why, why_len)
               : 0;
  for (size_t i = 0; rc == 0 && i < n->real.client_count; i++)
    gh_real_add_text(&b, n->real.clients[i].bytes, n->real.clients[i].len);
  if (rc != 0)
    gu_text_free(&b);
  return rc != 0 ? rc : gh_real_save_text(path, &b, why, why_len);
}

static void render_proxy(gu_text *b, const nginx_driver *n, const gh_real_api *a,
                         const char *trust) {
  const gh_real_url *u = &a->u;
  if (n->real.cfg.upstream_keepalive == 1) /* the API's upstream block (render_upstreams) */
    gu_text_printf(b,
                   "      proxy_pass %s://gc_api_%zu%s/;\n      proxy_http_version 1.1;\n"
                   "      proxy_set_header Connection \"\";\n",
                   u->scheme, (size_t)(a - n->real.apis), u->path);
  else
    gu_text_printf(b, "      proxy_pass %s://%s:%d%s/;\n", u->scheme, u->host, u->port, u->path);
  gu_text_printf(b, "      proxy_set_header Authorization \"\";\n");
  if (n->real.cfg.backend_timeout_ms > 0) {
    long long ms = (long long)n->real.cfg.backend_timeout_ms;
    gu_text_printf(b,
                   "      proxy_connect_timeout %lldms;\n      proxy_send_timeout %lldms;\n"
                   "      proxy_read_timeout %lldms;\n",
                   ms, ms, ms);
  }
  if (strcmp(u->scheme, "https") != 0)
    return;
  gu_text_printf(b, "      proxy_ssl_server_name on;\n      proxy_ssl_name %s;\n", u->host);
  gu_text_printf(b, "      proxy_ssl_verify on;\n      proxy_ssl_verify_depth %d;\n",
                 NG_VERIFY_DEPTH);
  gu_text_printf(b, "      proxy_ssl_trusted_certificate \"%s\";\n", trust);
  const char *cert = NULL, *key = NULL;
  if (backend_identity(n, a, &cert, &key) == 0)
    gu_text_printf(b,
                   "      proxy_ssl_certificate \"%s\";\n      proxy_ssl_certificate_key \"%s\";\n",
                   cert, key);
  if (n->real.cfg.upstream_session_reuse == 0)
    gu_text_printf(b, "      proxy_ssl_session_reuse off;\n");
  else if (n->real.cfg.upstream_session_reuse == 1)
    gu_text_printf(b, "      proxy_ssl_session_reuse on;\n");
}

static void render_location(gu_text *b, const nginx_driver *n, size_t index, const char *match,
                            const char *prefix, const char *trust) {
  const gh_real_api *a = &n->real.apis[index];
  gu_text_printf(b, "    location %s\"%s\" { # api %s\n", match, prefix, a->name);
  if (a->introspected)
    gu_text_printf(b,
                   "      auth_request /_gatecert_auth/%zu;\n"
                   "      auth_request_set $gatecert_fault $upstream_http_x_gatecert_fault;\n"
                   "      error_page 401 = @gatecert_401;\n      error_page 403 = @gatecert_403;\n",
                   index);
  else if (a->mtls)
    gu_text_printf(
        b,
        "      if ($gc_a%zu_ok = 0) {\n        return 401 '{\"code\":\"900901\",\"message\":"
        "\"Invalid Credentials\",\"description\":\"no client certificate associated with "
        "this API\"}';\n      }\n",
        index);
  render_proxy(b, n, a, trust);
  gu_text_printf(b, "    }\n");
}

/* The internal location auth_request asks: the introspector's /check with
 * the client's Authorization, the API's name and the certificate state. */
static void render_auth(gu_text *b, const nginx_driver *n, size_t index) {
  const gh_real_api *a = &n->real.apis[index];
  char cert[48];
  snprintf(cert, sizeof(cert), a->mtls ? "$gc_a%zu_cert" : "absent", index);
  gu_text_printf(b,
                 "    location = /_gatecert_auth/%zu { # api %s: gatecert-introspect decides\n"
                 "      internal;\n"
                 "      proxy_pass http://127.0.0.1:%d/check;\n"
                 "      proxy_pass_request_body off;\n      proxy_pass_request_headers off;\n"
                 "      proxy_set_header Content-Length \"\";\n"
                 "      proxy_set_header Authorization $http_authorization;\n"
                 "      proxy_set_header X-Gatecert-Api \"%s\";\n"
                 "      proxy_set_header X-Gatecert-Cert %s;\n"
                 "    }\n",
                 index, a->name, gh_tokens_port(n->real.tokens), a->name, cert);
}

/* The introspector's 401 and 403 bodies (WSO2's fault JSON) to the client. */
static void render_auth_faults(gu_text *b) {
  gu_text_printf(b, "    location @gatecert_401 { default_type application/json; "
                    "return 401 $gatecert_fault; }\n"
                    "    location @gatecert_403 { default_type application/json; "
                    "return 403 $gatecert_fault; }\n");
}

static void render_api(gu_text *b, const nginx_driver *n, size_t index, const char *trust) {
  const gh_real_api *a = &n->real.apis[index];
  char prefix[600];
  snprintf(prefix, sizeof(prefix), "%s/%s", a->context, a->version);
  char slash[604];
  snprintf(slash, sizeof(slash), "%s/", prefix);
  render_location(b, n, index, "", slash, trust);
  render_location(b, n, index, "= ", prefix, trust);
  if (a->default_version) {
    snprintf(slash, sizeof(slash), "%s/", a->context);
    render_location(b, n, index, "", slash, trust);
    render_location(b, n, index, "= ", a->context, trust);
  }
}

/* upstream_keepalive: an upstream block per API with `keepalive`, so that
 * nginx pools its backend connections (without it, a connection per
 * request); localhost is written 127.0.0.1, where the backends listen
 * (proxy_ssl_name keeps the name for SNI and verification). */
static void render_upstreams(gu_text *b, const nginx_driver *n) {
  if (n->real.cfg.upstream_keepalive != 1)
    return;
  for (size_t i = 0; i < n->real.api_count; i++) {
    const gh_real_url *u = &n->real.apis[i].u;
    gu_text_printf(b, "  upstream gc_api_%zu { server %s:%d; keepalive 8; }\n", i,
                   strcmp(u->host, "localhost") == 0 ? "127.0.0.1" : u->host, u->port);
  }
}

/* Renders the gateway's generation gen: gen-<gen>/ bundles and the text of nginx.conf. */
static int render_gateway(const nginx_driver *n, const ng_pins *pins, long gen, gu_text *b,
                          char *why, size_t why_len) {
  const ng_instance *in = &n->gw;
  char gendir[GH_REAL_PATH + 32], client_ca[GH_REAL_PATH + 64];
  snprintf(gendir, sizeof(gendir), "%s/gen-%ld", in->dir, gen);
  snprintf(client_ca, sizeof(client_ca), "%s/client-ca.pem", gendir);
  if (gh_real_mkdir(gendir, why, why_len) != 0 ||
      write_client_trust(n, client_ca, why, why_len) != 0)
    return -1;
  char hdr_var[160];
  header_variable(gh_nginx_cert_header(n), hdr_var, sizeof(hdr_var));
  render_head(b, n, in, gen);
  render_upstreams(b, n);
  gu_text_printf(b, "  map_hash_bucket_size 16384;\n  map_hash_max_size 8192;\n");
  int tokens = gh_real_any_introspected(&n->real);
  if (tokens) /* long bearer tokens reach the introspector */
    gu_text_printf(b, "  large_client_header_buffers 4 32k;\n");
  render_header_maps(b, n, hdr_var);
  if (tokens)
    render_known_map(b, n, pins);
  for (size_t i = 0; i < n->real.api_count; i++) {
    if (n->real.apis[i].mtls)
      render_api_maps(b, n, pins, i, hdr_var);
    if (n->real.apis[i].mtls && n->real.apis[i].introspected)
      render_cert_state_map(b, i);
  }
  char generation[32];
  snprintf(generation, sizeof(generation), "%ld", gen);
  render_control(b, in, generation);
  const char *verify = n->real.cfg.verify_client ? n->real.cfg.verify_client : "optional";
  gu_text_printf(b,
                 "  server { # the data plane\n"
                 "    listen 127.0.0.1:%d ssl;\n"
                 "    server_name localhost;\n"
                 "    ssl_certificate \"%s\";\n    ssl_certificate_key \"%s\";\n"
                 "    ssl_verify_client %s;\n    ssl_client_certificate \"%s\";\n"
                 "    ssl_verify_depth %d;\n"
                 "    ssl_session_cache shared:gatecert:1m;\n"
                 "    default_type application/json;\n"
                 "    location / {\n      return 404 '{\"code\":\"404\",\"message\":\"Not Found\","
                 "\"description\":\"The requested resource is not available.\"}';\n    }\n",
                 in->port, n->server_cert, n->server_key,
                 strcmp(verify, "require") == 0 ? "on"
                 : strcmp(verify, "none") == 0  ? "off"
                                                : "optional",
                 client_ca, NG_VERIFY_DEPTH);
  for (size_t i = 0; i < n->real.api_count; i++) {
    char trust[GH_REAL_PATH + 96];
    snprintf(trust, sizeof(trust), "%s/api-%zu-trust.pem", gendir, i);
    if (strcmp(n->real.apis[i].u.scheme, "https") == 0 &&
        write_api_trust(n, &n->real.apis[i], trust, why, why_len) != 0)
      return -1;
    render_api(b, n, i, trust);
    if (n->real.apis[i].introspected)
      render_auth(b, n, i);
  }
  if (tokens)
    render_auth_faults(b);
  gu_text_printf(b, "  }\n}\n");
  return b->failed ? gu_fail(why, why_len, "out of memory") : 0;
}

int gh_nginx_render(const nginx_driver *n, long gen, gu_text *b, char *why, size_t why_len) {
  size_t count = n->real.client_count;
  ng_pins *pins = calloc(count ? count : 1, sizeof(*pins));
  if (!pins)
    return gu_fail(why, why_len, "out of memory");
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < count; i++)
    if (n->real.clients[i].first && client_cert_facts(n->real.clients[i].first, &pins[i]) != 0)
      rc = gu_fail(why, why_len, "out of memory or an unreadable certificate");
  if (rc == 0)
    rc = render_gateway(n, pins, gen, b, why, why_len);
  for (size_t i = 0; i < count; i++)
    pins_free(&pins[i]);
  free(pins);
  return rc;
}
