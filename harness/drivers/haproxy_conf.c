/* haproxy_conf.c - the haproxy driver's renderer: the desired state
 * (real.h) as one HAProxy configuration plus the files it names (CA bundles,
 * ACL pin files, the Lua action), each file marked with what HAProxy can do
 * to it at run time (haproxy.h: a CA file swapped with `set ssl ca-file`, an
 * ACL file changed with `add acl`/`del acl`, or only a reload); and the
 * configuration of the load balancer in front. haproxy.c writes, validates
 * and makes live what this renders; HAPROXY.md maps each desired-state item
 * to configuration.
 *
 *   - the gateway frontend binds TLS with the gateway's identity and, unless
 *     verify none, the client CA bundle (base trust + every uploaded client
 *     certificate; a throwaway CA stands in for an empty bundle); APIs are
 *     routed by path prefix, longest first, each to its own backend;
 *   - an API's backend verifies the server against its CA file (the SSL
 *     profile's or API's trust plus the endpoint certificates uploaded for
 *     that endpoint) and presents the identity of its profile;
 *   - a mutualssl API pins client certificates with ACLs over the SHA-1 of
 *     the certificate (connection) or of the header's DER / PEM text, and
 *     with chain validation the issuer DN;
 *   - OAuth2 APIs ask gatecert-introspect through a Lua action (haproxy.c's
 *     top comment says how);
 *   - a control frontend answers the generation number, written in at
 *     "%GENERATION%" (gh_haproxy_with_generation), so a runtime-API apply
 *     keeps the same configuration text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "gcert.h"
#include "haproxy.h"

/* One certificate's pins: the SHA-1 of its DER and of its PEM text (as the
 * header forms), and its subject as ssl_c_i_dn writes an issuer. */
typedef struct hap_pins {
  char der[41];
  char pem[41];
  char subject[512];
} hap_pins;

/* Whether the newline-separated list text holds line. */
int gh_haproxy_has_line(const char *text, const char *line) {
  size_t n = strlen(line);
  for (const char *p = text; p && *p;) {
    size_t len = strcspn(p, "\n");
    if (len == n && strncmp(p, line, n) == 0)
      return 1;
    p += len;
    if (*p)
      p++;
  }
  return 0;
}

static void hex_of(const unsigned char *md, unsigned n, char *out) {
  for (unsigned i = 0; i < n; i++)
    snprintf(out + (size_t)2 * i, 3, "%02x", md[i]);
}

static void pins_of(X509 *x, hap_pins *p) {
  memset(p, 0, sizeof(*p));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdn = 0;
  gh_real_sha1(x, p->der);
  size_t n = 0;
  char *text = gh_real_cert_pem(x, &n);
  if (text && EVP_Digest(text, n, md, &mdn, EVP_sha1(), NULL) == 1 && mdn == 20)
    hex_of(md, mdn, p->pem);
  free(text);
  X509_NAME_oneline(X509_get_subject_name(x), p->subject, (int)sizeof(p->subject));
}

void gh_haproxy_rendered_free(rendered *r) {
  free(r->config);
  for (size_t i = 0; i < r->count; i++)
    free(r->files[i].content);
  memset(r, 0, sizeof(*r));
}

static hap_file *add_file(rendered *r, const char *dir, const char *name, file_kind kind) {
  if (r->count == HAP_MAX_FILES)
    return NULL;
  hap_file *f = &r->files[r->count++];
  memset(f, 0, sizeof(*f));
  snprintf(f->path, sizeof(f->path), "%s/%s", dir, name);
  f->kind = kind;
  return f;
}

static int set_content(hap_file *f, gu_text *b) {
  if (b->failed) {
    free(b->data);
    return -1;
  }
  f->content = b->data ? b->data : calloc(1, 1);
  f->len = b->len;
  return f->content ? 0 : -1;
}

/* Appends a PEM file's text to b. */
static void add_pem_file(gu_text *b, const char *path) {
  char ignored[256]; /* an unreadable file adds nothing */
  if (path)
    gh_real_add_file(b, path, ignored, sizeof(ignored));
}

/* A CA bundle: never empty (the throwaway CA stands in). */
static void finish_bundle(const hap_driver *h, gu_text *b) {
  if (b->len == 0)
    gh_real_add_text(b, h->throwaway_ca_pem, strlen(h->throwaway_ca_pem));
}

/* The identity toward an API's backend: a chain + key PEM path, or NULL. */
static const char *identity_for(const hap_driver *h, const gh_real_api *a) {
  const char *key = a->key_pem;
  if (!key) {
    const gh_driver_profile *p = gh_real_profile_for(&h->real, &a->u);
    key = p ? p->key_pem : NULL;
  }
  if (!key && h->real.cfg.has_default_profile)
    key = h->real.cfg.default_profile.key_pem;
  return key && strcmp(key, "none") != 0 ? key : NULL;
}

/* Whether an endpoint string names the API's backend (scheme://host:port). */
static int endpoint_matches(const char *endpoint, const gh_real_api *a) {
  size_t n = strlen(endpoint);
  while (n > 0 && endpoint[n - 1] == '/')
    n--;
  size_t m = strlen(a->url);
  while (m > 0 && a->url[m - 1] == '/')
    m--;
  return n == m && strncmp(endpoint, a->url, n) == 0;
}

/* Single-quoted for the configuration (the strings we quote hold no quote). */
static void regex_escape(const char *in, char *out, size_t out_len) {
  size_t k = 0;
  for (const char *p = in; *p && k + 3 < out_len; p++) {
    if (strchr(".^$|()[]{}*+?\\", *p))
      out[k++] = '\\';
    out[k++] = *p;
  }
  out[k] = '\0';
}

static const char *header_name(const hap_driver *h) {
  return h->real.cfg.certificate_header ? h->real.cfg.certificate_header
                                        : "X-WSO2-CLIENT-CERTIFICATE";
}

static int header_mode(const hap_driver *h) {
  return h->real.cfg.has_mutual_ssl || h->real.cfg.front_lb_key_pem;
}

/* Where a mutualssl API's ACLs read their values: the API's own pins, and
 * for an API whose chain consults OAuth2 also the certificates the listener
 * knows at all (NULL paths: not rendered). */
typedef struct pin_files {
  const char *pins;     /* SHA-1 of the DER of each certificate uploaded for the API */
  const char *pem_pins; /* SHA-1 of their PEM text (header mode) */
  const char *issuers;  /* their subjects (chain validation), or NULL */
  const char *lb_pins;  /* the trusted load balancers, or NULL */
  const char *known;    /* the same three lists over every certificate the listener knows */
  const char *known_pem;
  const char *known_issuers;
} pin_files;

/* Appends to out the condition under which a client certificate matching
 * the ACLs hdr_der / hdr_pem (the honoured header) or peer_check[0..1] (the
 * connection's own certificate) is the request's: in header mode the
 * connection's own counts only when the header is not honoured on it. */
static void cert_condition(const hap_driver *h, const char *honoured, int pinned_lbs,
                           const char *hdr_der, const char *hdr_pem,
                           const char *const peer_checks[2], gu_text *out) {
  if (header_mode(h))
    gu_text_printf(out, "%s %s || %s %s", honoured, hdr_der, honoured, hdr_pem);
  for (size_t i = 0; i < 2; i++) {
    if (!peer_checks[i])
      continue;
    const char *sep = out->len ? " || " : "";
    if (!header_mode(h))
      gu_text_printf(out, "%speer_sent peer_verified %s", sep, peer_checks[i]);
    else {
      gu_text_printf(out, "%speer_sent peer_verified %s !hdr_sent", sep, peer_checks[i]);
      if (pinned_lbs)
        gu_text_printf(out, " || peer_sent peer_verified %s !lb_pinned", peer_checks[i]);
    }
  }
}

/* The ACLs of a mutualssl API, and in *terms the condition under which its
 * client certificate counts as the API's: the connection's own certificate
 * when it verified and is pinned to the API (or, with chain validation, was
 * issued by a certificate uploaded for it); in header mode the honoured header
 * naming a pinned certificate, and the connection's own only when the header
 * is not honoured on this connection. With f->known, *known gets the same
 * condition over every certificate the listener knows (WSO2's in-memory
 * listener trust: the base trust and every uploaded client certificate). */
static void render_mtls_acls(const hap_driver *h, gu_text *b, const pin_files *f, gu_text *terms,
                             gu_text *known) {
  gu_text_printf(b, "  acl peer_sent ssl_c_used\n  acl peer_verified ssl_c_verify 0\n");
  gu_text_printf(b, "  acl peer_pinned ssl_c_sha1,hex,lower -f %s\n", f->pins);
  if (f->issuers)
    gu_text_printf(b, "  acl peer_issuer ssl_c_i_dn -f %s\n", f->issuers);
  if (f->known) {
    gu_text_printf(b, "  acl peer_known ssl_c_sha1,hex,lower -f %s\n", f->known);
    if (f->known_issuers)
      gu_text_printf(b, "  acl peer_known_issuer ssl_c_i_dn -f %s\n", f->known_issuers);
  }
  const char *hdr = header_name(h);
  int validation = h->real.cfg.client_validation != 0;
  int pinned_lbs = header_mode(h) && validation && f->lb_pins;
  /* honoured: the header is read on this connection */
  char honoured[128] = "hdr_sent";
  if (header_mode(h)) {
    gu_text_printf(b, "  acl hdr_sent req.fhdr(%s) -m found\n", hdr);
    gu_text_printf(b, "  acl hdr_der req.fhdr(%s),b64dec,sha1,hex,lower -f %s\n", hdr, f->pins);
    gu_text_printf(b, "  acl hdr_pem req.fhdr(%s),url_dec,sha1,hex,lower -f %s\n", hdr,
                   f->pem_pins);
    if (f->known) {
      gu_text_printf(b, "  acl hdr_known_der req.fhdr(%s),b64dec,sha1,hex,lower -f %s\n", hdr,
                     f->known);
      gu_text_printf(b, "  acl hdr_known_pem req.fhdr(%s),url_dec,sha1,hex,lower -f %s\n", hdr,
                     f->known_pem);
    }
    if (pinned_lbs)
      gu_text_printf(b, "  acl lb_pinned ssl_c_sha1,hex,lower -f %s\n", f->lb_pins);
    if (validation)
      snprintf(honoured, sizeof(honoured), "hdr_sent peer_sent peer_verified%s",
               pinned_lbs ? " lb_pinned" : "");
  }
  const char *const pinned[2] = {"peer_pinned", f->issuers ? "peer_issuer" : NULL};
  cert_condition(h, honoured, pinned_lbs, "hdr_der", "hdr_pem", pinned, terms);
  if (f->known) {
    const char *const known_checks[2] = {"peer_known",
                                         f->known_issuers ? "peer_known_issuer" : NULL};
    cert_condition(h, honoured, pinned_lbs, "hdr_known_der", "hdr_known_pem", known_checks, known);
  }
}

/* The 401 rule of a mutualssl API without OAuth2: passes when terms hold. */
static void render_mtls_rule(gu_text *b, const gu_text *terms) {
  gu_text_printf(b,
                 "  http-request return status 401 content-type application/json string "
                 "'{\"code\":401,\"message\":\"Unauthorized\",\"description\":\"no trusted client "
                 "certificate of this API\"}' unless %s\n",
                 terms->data ? terms->data : "FALSE");
}

/* The Lua action asking gatecert-introspect (its contract at the top of
 * simulator/introspect.c) for WSO2's verdict: the client's Authorization, the
 * API's name and the certificate state the configuration computed
 * (txn.gc_cert). It leaves the answer's status in txn.gc_status ("0" when the
 * introspector did not answer), and its fault JSON and challenge in
 * txn.gc_fault and txn.gc_www, for the `http-request return` rules after it. */
static const char lua_action[] =
    "-- " HAP_LUA_FILE ": written by gatecert's haproxy driver (harness/drivers/haproxy.c)\n"
    "local function first(headers, name)\n"
    "  local v = headers and headers[name]\n"
    "  return v and v[0]\n"
    "end\n"
    "core.register_action(\"gatecert_auth\", {\"http-req\"}, function(txn, port, api)\n"
    "  local cert = txn:get_var(\"txn.gc_cert\") or \"absent\"\n"
    "  local h = {[\"X-Gatecert-Api\"] = {api}, [\"X-Gatecert-Cert\"] = {cert}}\n"
    "  local auth = first(txn.http:req_get_headers(), \"authorization\")\n"
    "  if auth then h[\"Authorization\"] = {auth} end\n"
    "  local hc = core.httpclient()\n"
    "  local r = hc:get{url = \"http://127.0.0.1:\" .. port .. \"/check\", headers = h,\n"
    "                  timeout = 5000}\n"
    "  if not r or not r.status then\n"
    "    txn:set_var(\"txn.gc_status\", \"0\")\n"
    "    return\n"
    "  end\n"
    "  txn:set_var(\"txn.gc_status\", tostring(r.status))\n"
    "  txn:set_var(\"txn.gc_fault\", first(r.headers, \"x-gatecert-fault\") or \"\")\n"
    "  txn:set_var(\"txn.gc_www\", first(r.headers, \"www-authenticate\") or \"\")\n"
    "end, 2)\n";

/* An introspected API's rules: the certificate state (valid: the API's;
 * unknown: one the listener knows, not the API's; absent: none, or one the
 * listener does not know, as WSO2's in-memory trust check), the Lua action, then
 * the introspector's 401 / 403 / 500 with its fault JSON, any other outcome a
 * 500 of the driver's; 204 continues to the backend. */
static void render_token_rules(const hap_driver *h, gu_text *b, const gh_real_api *a,
                               const gu_text *terms, const gu_text *known) {
  gu_text_printf(b, "  http-request set-var(txn.gc_cert) str(absent)\n");
  if (a->mtls) {
    gu_text_printf(b, "  http-request set-var(txn.gc_cert) str(unknown) if %s\n",
                   known->data ? known->data : "FALSE");
    gu_text_printf(b, "  http-request set-var(txn.gc_cert) str(valid) if %s\n",
                   terms->data ? terms->data : "FALSE");
  }
  gu_text_printf(b, "  http-request lua.gatecert_auth %d \"%s\"\n", gh_tokens_port(h->real.tokens),
                 a->name);
  gu_text_printf(b, "  http-request return status 401 content-type application/json lf-string "
                    "\"%%[var(txn.gc_fault)]\" hdr WWW-Authenticate \"%%[var(txn.gc_www)]\" "
                    "if { var(txn.gc_status) -m str 401 }\n");
  static const char *const others[] = {"403", "500"};
  for (size_t i = 0; i < 2; i++)
    gu_text_printf(b,
                   "  http-request return status %s content-type application/json lf-string "
                   "\"%%[var(txn.gc_fault)]\" if { var(txn.gc_status) -m str %s }\n",
                   others[i], others[i]);
  gu_text_printf(b,
                 "  http-request return status 500 content-type application/json string "
                 "'{\"code\":500,\"message\":\"Internal Server Error\",\"description\":"
                 "\"gatecert-introspect gave no verdict\"}' unless { var(txn.gc_status) -m str 204 "
                 "}\n");
}

/* 1 when an API's chain consults OAuth2 and mutual SSL: its certificate
 * state needs the certificates the listener knows. */
static int any_token_mtls(const hap_driver *h) {
  for (size_t i = 0; i < h->real.api_count; i++)
    if (h->real.apis[i].introspected && h->real.apis[i].mtls)
      return 1;
  return 0;
}

/* Appends the line to b unless b has it already. */
static void add_unique_line(gu_text *b, const char *line) {
  if (!line[0] || (b->data && gh_haproxy_has_line(b->data, line)))
    return;
  gu_text_printf(b, "%s\n", line);
}

/* One certificate's SHA-1 (DER and PEM text, as the pins) and subject. */
static void add_known_cert(X509 *x, gu_text *der, gu_text *pem, gu_text *subjects) {
  hap_pins pin;
  pins_of(x, &pin);
  add_unique_line(der, pin.der);
  add_unique_line(pem, pin.pem);
  add_unique_line(subjects, pin.subject);
}

/* The certificates the listener knows, as WSO2's in-memory listener trust
 * (the simulator's gsim_listener_memory_trusts): every certificate of the
 * base trust and every uploaded client certificate (any API). A presented
 * certificate outside them is "absent" to WSO2's mutual SSL, not "unknown". */
static void known_certs(const hap_driver *h, gu_text *der, gu_text *pem, gu_text *subjects) {
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  if (h->real.cfg.base_trust_pem && gcert_read_file(h->real.cfg.base_trust_pem, GCERT_FORMAT_AUTO,
                                                    NULL, &store, &err) == GCERT_OK)
    for (size_t i = 0; i < store.count; i++)
      for (int k = 0; k < sk_X509_num(store.entries[i].chain); k++)
        add_known_cert(sk_X509_value(store.entries[i].chain, k), der, pem, subjects);
  gcert_store_free(&store);
  for (size_t i = 0; i < h->real.client_count; i++)
    if (h->real.clients[i].first)
      add_known_cert(h->real.clients[i].first, der, pem, subjects);
}

typedef struct route {
  char prefix[400];
  int api;
} route;

static int route_longer(const void *x, const void *y) {
  const route *a = x, *b = y;
  size_t la = strlen(a->prefix), lb = strlen(b->prefix);
  return la < lb ? 1 : la > lb ? -1 : a->api - b->api;
}

/* The desired state as a configuration (without its generation line) and files. */
int gh_haproxy_render(const hap_driver *h, rendered *r) {
  memset(r, 0, sizeof(*r));
  const gh_gateway_config *c = &h->real.cfg;
  gu_text b = {0};
  int err = 0;
  /* the client CA bundle: base trust + every uploaded client certificate */
  const char *verify = c->verify_client ? c->verify_client : "optional";
  int verify_none = strcmp(verify, "none") == 0;
  hap_file *clients = add_file(r, h->dir, "clients.pem", FILE_CA_BIND);
  gu_text cb = {0};
  add_pem_file(&cb, c->base_trust_pem);
  for (size_t i = 0; i < h->real.client_count; i++)
    gh_real_add_text(&cb, h->real.clients[i].bytes, h->real.clients[i].len);
  finish_bundle(h, &cb);
  err |= !clients || set_content(clients, &cb) != 0;
  /* trusted load balancers' pins */
  char lb_pins[GH_REAL_PATH] = "";
  if (c->trusted_lb_count > 0) {
    hap_file *f = add_file(r, h->dir, "lb-pins.acl", FILE_STATIC);
    gu_text lb = {0};
    for (size_t i = 0; i < c->trusted_lb_count && i < GH_MAX_LB; i++) {
      char sha1[41];
      X509 *cert = c->trusted_lb_pem[i] ? gh_real_file_first(c->trusted_lb_pem[i]) : NULL;
      if (cert && gh_real_sha1(cert, sha1) == 0)
        gu_text_printf(&lb, "%s\n", sha1);
      X509_free(cert);
    }
    err |= !f || set_content(f, &lb) != 0;
    if (f)
      snprintf(lb_pins, sizeof(lb_pins), "%s", f->path);
  }

  /* nbthread 1: under libfaketime a jump of the fake clock seen by one idle
   * thread but not yet by another timed out handshakes in flight (HAPROXY.md) */
  gu_text_printf(
      &b, "global\n  nbthread 1\n  stats socket %s level admin\n  log stderr format raw local0\n",
      h->sock_path);
  if (gh_real_any_introspected(&h->real)) {
    hap_file *lua = add_file(r, h->dir, HAP_LUA_FILE, FILE_STATIC);
    gu_text lb = {0};
    gu_text_add(&lb, lua_action, sizeof(lua_action) - 1);
    err |= !lua || set_content(lua, &lb) != 0;
    if (lua)
      gu_text_printf(&b, "  lua-load %s\n", lua->path);
    /* requests up to the introspector's 64 KiB of headers reach it, so that an
     * oversize token gets WSO2's 401 900901 rather than HAProxy's own 400 */
    gu_text_printf(&b, "  tune.bufsize 65536\n");
  }
  gu_text_printf(&b,
                 "  hard-stop-after 2s\ndefaults\n  mode http\n  log global\n"
                 "  timeout connect 5s\n  timeout client 30s\n  timeout server %lldms\n\n",
                 (long long)(c->backend_timeout_ms > 0 ? c->backend_timeout_ms : 30000));
  gu_text_printf(&b, "frontend control\n  bind 127.0.0.1:%d\n  no log\n", h->control_port);
  gu_text_printf(&b, "  http-request return status 200 content-type text/plain string "
                     "\"%%GENERATION%%\"\n\n");
  gu_text_printf(&b, "frontend gateway\n  bind 127.0.0.1:%d ssl crt %s", h->https_port,
                 h->identity_path);
  if (!verify_none)
    gu_text_printf(&b, " verify %s ca-file %s",
                   strcmp(verify, "require") == 0 ? "required" : "optional", clients->path);
  gu_text_printf(&b, "\n  option httplog\n");
  route routes[GH_REAL_MAX_APIS * 2];
  memset(routes, 0, sizeof(routes));
  size_t nr = 0;
  for (size_t i = 0; i < h->real.api_count; i++) {
    const gh_real_api *a = &h->real.apis[i];
    snprintf(routes[nr].prefix, sizeof(routes[nr].prefix), "%s/%s", a->context, a->version);
    routes[nr++].api = a->id;
    if (a->default_version) {
      snprintf(routes[nr].prefix, sizeof(routes[nr].prefix), "%s", a->context);
      routes[nr++].api = a->id;
    }
  }
  qsort(routes, nr, sizeof(routes[0]), route_longer);
  for (size_t i = 0; i < nr; i++)
    gu_text_printf(&b, "  use_backend api%d if { path '%s' } || { path_beg '%s/' }\n",
                   routes[i].api, routes[i].prefix, routes[i].prefix);
  gu_text_printf(&b, "  default_backend no_api\n\nbackend no_api\n"
                     "  http-request return status 404 content-type application/json string "
                     "'{\"code\":404,\"message\":\"Not Found\",\"description\":\"No matching "
                     "resource found for given API Request\"}'\n\n");

  /* what the listener knows, for the certificate state the introspector gets */
  hap_file *known = NULL, *known_pem = NULL, *known_issuers = NULL;
  if (any_token_mtls(h)) {
    gu_text kd = {0}, kp = {0}, ki = {0};
    known_certs(h, &kd, &kp, &ki);
    known = add_file(r, h->dir, "known.acl", FILE_ACL);
    err |= !known || set_content(known, &kd) != 0;
    known_pem = header_mode(h) ? add_file(r, h->dir, "known-pem.acl", FILE_ACL) : NULL;
    if (known_pem)
      err |= set_content(known_pem, &kp) != 0;
    else
      free(kp.data);
    known_issuers =
        c->chain_validation == 1 ? add_file(r, h->dir, "known-issuers.acl", FILE_ACL) : NULL;
    if (known_issuers)
      err |= set_content(known_issuers, &ki) != 0;
    else
      free(ki.data);
  }
  for (size_t i = 0; i < h->real.api_count; i++) {
    const gh_real_api *a = &h->real.apis[i];
    char name[64];
    snprintf(name, sizeof(name), "api%d.ca.pem", a->id);
    hap_file *ca = add_file(r, h->dir, name, FILE_CA_SERVER);
    gu_text tb = {0};
    const gh_driver_profile *p = gh_real_profile_for(&h->real, &a->u);
    if (a->trust_pem)
      add_pem_file(&tb, a->trust_pem);
    else
      add_pem_file(&tb, p && p->trust_pem ? p->trust_pem : c->base_trust_pem);
    for (size_t k = 0; k < h->real.cert_count; k++)
      if (endpoint_matches(h->real.certs[k].endpoint, a))
        gh_real_add_text(&tb, h->real.certs[k].bytes, h->real.certs[k].len);
    finish_bundle(h, &tb);
    err |= !ca || set_content(ca, &tb) != 0;
    const char *identity = identity_for(h, a);
    if (ca)
      ca->runtime = identity != NULL;
    gu_text_printf(&b, "backend api%d\n  # API %s %s/%s -> %s\n", a->id, a->name, a->context,
                   a->version, a->url);
    gu_text terms = {0}, known_terms = {0};
    if (a->mtls) {
      snprintf(name, sizeof(name), "api%d.pins.acl", a->id);
      hap_file *pins = add_file(r, h->dir, name, FILE_ACL);
      /* only what the configuration names: the runtime API knows no other file */
      snprintf(name, sizeof(name), "api%d.pem-pins.acl", a->id);
      hap_file *pem_pins = header_mode(h) ? add_file(r, h->dir, name, FILE_ACL) : NULL;
      gu_text pb = {0}, qb = {0};
      for (size_t k = 0; k < h->real.client_count; k++)
        if (strcmp(h->real.clients[k].api, a->name) == 0 && h->real.clients[k].first) {
          hap_pins pin;
          pins_of(h->real.clients[k].first, &pin);
          gu_text_printf(&pb, "%s\n", pin.der);
          gu_text_printf(&qb, "%s\n", pin.pem);
        }
      err |= !pins || set_content(pins, &pb) != 0;
      if (pem_pins)
        err |= set_content(pem_pins, &qb) != 0;
      else
        free(qb.data);
      hap_file *issuers = NULL;
      if (c->chain_validation == 1) {
        snprintf(name, sizeof(name), "api%d.issuers.acl", a->id);
        issuers = add_file(r, h->dir, name, FILE_ACL);
        gu_text ib = {0};
        for (size_t k = 0; k < h->real.client_count; k++) {
          hap_pins pin;
          if (strcmp(h->real.clients[k].api, a->name) == 0 && h->real.clients[k].first &&
              (pins_of(h->real.clients[k].first, &pin), pin.subject[0]))
            gu_text_printf(&ib, "%s\n", pin.subject);
        }
        err |= !issuers || set_content(issuers, &ib) != 0;
      }
      pin_files pf = {.pins = pins ? pins->path : "",
                      .pem_pins = pem_pins ? pem_pins->path : "",
                      .issuers = issuers ? issuers->path : NULL,
                      .lb_pins = lb_pins[0] ? lb_pins : NULL};
      if (a->introspected && known) {
        pf.known = known->path;
        pf.known_pem = known_pem ? known_pem->path : "";
        pf.known_issuers = known_issuers ? known_issuers->path : NULL;
      }
      render_mtls_acls(h, &b, &pf, &terms, &known_terms);
    }
    if (a->introspected)
      render_token_rules(h, &b, a, &terms, &known_terms);
    else if (a->mtls)
      render_mtls_rule(&b, &terms);
    err |= terms.failed || known_terms.failed;
    free(terms.data);
    free(known_terms.data);
    char ctx[300], ver[160];
    regex_escape(a->context, ctx, sizeof(ctx));
    regex_escape(a->version, ver, sizeof(ver));
    const char *opt = a->default_version ? "?" : "";
    gu_text_printf(&b, "  http-request replace-path '^%s(?:/%s)%s/?$' '/'\n", ctx, ver, opt);
    gu_text_printf(&b, "  http-request replace-path '^%s(?:/%s)%s(/.+)$' '\\1'\n", ctx, ver, opt);
    gu_text_printf(
        &b, "  server s 127.0.0.1:%d ssl verify required ca-file %s sni str(%s) verifyhost %s",
        a->u.port, ca ? ca->path : "", a->u.host, a->u.host);
    if (identity)
      gu_text_printf(&b, " crt %s", identity);
    if (c->upstream_session_reuse == 0)
      gu_text_printf(&b, " no-ssl-reuse");
    gu_text_printf(&b, "\n\n");
  }
  if (err || b.failed) {
    free(b.data);
    gh_haproxy_rendered_free(r);
    return -1;
  }
  r->config = b.data;
  return 0;
}

/* The configuration text with its generation. */
char *gh_haproxy_with_generation(const char *config, long generation) {
  const char *mark = strstr(config, "%GENERATION%");
  size_t n = strlen(config) + 32;
  char *out = malloc(n);
  if (out && mark)
    snprintf(out, n, "%.*s%ld%s", (int)(mark - config), config, generation,
             mark + strlen("%GENERATION%"));
  else if (out)
    snprintf(out, n, "%s", config);
  return out;
}

/* The load balancer in front: TLS with optional client certificates (base
 * trust), forwarding the certificate in the header to the gateway over TLS. */
int gh_haproxy_write_lb_config(const hap_driver *h, char *why, size_t why_len) {
  const gh_gateway_config *c = &h->real.cfg;
  char ca[GH_REAL_PATH];
  snprintf(ca, sizeof(ca), "%s/clients.pem", h->lb_dir);
  gu_text cb = {0};
  add_pem_file(&cb, c->base_trust_pem);
  finish_bundle(h, &cb);
  int ok = !cb.failed && gh_real_save(ca, cb.data, cb.len, 0, NULL, 0) == 0;
  free(cb.data);
  if (!ok)
    return gu_fail(why, why_len, "cannot write %s", ca);
  const char *hdr = header_name(h);
  gu_text b = {0};
  gu_text_printf(&b,
                 "global\n  nbthread 1\n  log stderr format raw local0\n  hard-stop-after 2s\n");
  gu_text_printf(&b, "defaults\n  mode http\n  log global\n  timeout connect 5s\n"
                     "  timeout client 30s\n  timeout server 30s\n\n");
  gu_text_printf(&b,
                 "frontend control\n  bind 127.0.0.1:%d\n  no log\n"
                 "  http-request return status 200 content-type text/plain string \"lb\"\n\n",
                 h->lb_control_port);
  gu_text_printf(&b, "frontend lb\n  bind 127.0.0.1:%d ssl crt %s verify optional ca-file %s\n",
                 h->lb_port, h->identity_path, ca);
  gu_text_printf(&b, "  option httplog\n  http-request del-header %s\n", hdr);
  gu_text_printf(&b, "  http-request set-header %s %%[ssl_c_der,base64] if { ssl_c_used }\n", hdr);
  gu_text_printf(&b,
                 "  default_backend gateway\n\nbackend gateway\n"
                 "  server g 127.0.0.1:%d ssl verify none crt %s\n",
                 h->https_port, c->front_lb_key_pem);
  ok = !b.failed && gh_real_save(h->lb_config_path, b.data, b.len, 0, NULL, 0) == 0;
  free(b.data);
  return ok ? 0 : gu_fail(why, why_len, "cannot write %s", h->lb_config_path);
}