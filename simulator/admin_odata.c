/* admin_odata.c - the sap profiles' admin API: SAP API Management's OData V2
 * service (README.md, "The sap profiles: SAP API Management's OData service"):
 *
 *   POST   /oauth/token                                   client credentials -> bearer token
 *   GET    /apiportal/api/1.0/Management.svc/             the service document
 *   GET    .../$metadata                                  EDMX (odata-metadata.xml, embedded)
 *   GET    .../CertificateStores[('s')]                   ($expand=certificates)
 *   POST   .../CertificateStores                          deep insert with certificates
 *   DELETE .../CertificateStores('s')
 *   GET    .../CertificateStores('s')/certificates, POST one (a name taken is overwritten)
 *   GET    .../Certificates[(name='a',storeName='s')], DELETE one
 *   GET    .../CertificateStoreReferences[('r')], POST, PUT ('r'), DELETE ('r')
 *   GET    .../APIProviders[('p')], POST, PUT ('p'), DELETE ('p')
 *   any    /sap/v1/...                                    404 naming the service (retired)
 *
 * Only where the profile's rest-paths row is rest.sap-odata; elsewhere
 * gsim_admin_odata() answers nothing and admin.c goes on (401 or 404).
 * Access: admin.c passes whether the request carried the admin credentials
 * as HTTP basic; a bearer token from /oauth/token (sap.c keeps them) is the
 * other way in. A basic-auth write needs the CSRF token a GET with
 * `X-CSRF-Token: Fetch` handed out, and its JSESSIONID cookie.
 *
 * This file parses the path (the entity set, its key predicate with OData's
 * quoted literals, a navigation), the query options and the JSON bodies
 * (base64 content decoded with OpenSSL), wraps what sap.c answers in OData's
 * envelopes (rest.c's gsim_odata_error and gsim_odata_date) and answers;
 * what a store takes, what a reference or provider may name and the writes
 * are sap.c's. Every refusal is a specific 400 (counted) and changes
 * nothing; a failed store answers 500.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "admin.h"
#include "odata-metadata.h"
#include "sap.h"
#include "sim.h"

#define SVC            "/apiportal/api/1.0/Management.svc"
#define TOKEN_PATH     "/oauth/token"
#define RETIRED        "/sap/v1"
#define COOKIE         "JSESSIONID"
#define TOKEN_BODY_MAX 4096
#define KEY_VALUE_MAX  GSIM_SAP_NAME_MAX
#define CODE_INVALID   "INVALID_REQUEST_BODY"
#define CODE_KEY       "INVALID_KEY_PREDICATE"

/* ---- answers ---------------------------------------------------------------- */

static void refused(gsim *sim, struct evhttp_request *req, int status, const char *code,
                    const char *message) {
  if (status == 400)
    gsim_sap_count_refusal(sim);
  gsim_odata_error(req, status, code, message);
}

static void answer_why(gsim *sim, struct evhttp_request *req, gsim_sap_status st,
                       const gsim_sap_why *why, const char *what) {
  if (st == GSIM_SAP_REFUSED)
    refused(sim, req, why->status, why->code, why->message);
  else {
    gsim_log(sim, "ERROR", "odata: %s: %s", what, gsim_store_error(sim->store));
    gsim_odata_error(req, 500, "INTERNAL_SERVER_ERROR", "The store failed; nothing changed");
  }
}

static void method_not_allowed(struct evhttp_request *req, const char *allow) {
  evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
  gsim_odata_error(req, 405, "METHOD_NOT_ALLOWED", "The method is not allowed on this resource");
}

static void no_content(struct evhttp_request *req) {
  evhttp_send_reply(req, 204, "No Content", NULL);
}

/* What a call needs to build its answers: the service root's absolute URI. */
typedef struct odata_call {
  gsim *sim;
  struct evhttp_request *req;
  char base[320]; /* "http://host/apiportal/api/1.0/Management.svc/" */
  int expand;     /* $expand=certificates */
} odata_call;

/* base + set + "('" + the key, quotes doubled and URI-encoded + "')". */
static void entity_uri(const odata_call *c, const char *set, const char *key1, const char *name2,
                       const char *key2, char *out, size_t len) {
  char lit[2][2 * KEY_VALUE_MAX + 1];
  const char *keys[2] = {key1, key2};
  for (int i = 0; i < 2; i++) {
    size_t o = 0;
    for (const char *p = keys[i] ? keys[i] : ""; *p && o + 2 < sizeof(lit[i]); p++) {
      if (*p == '\'')
        lit[i][o++] = '\'';
      lit[i][o++] = *p;
    }
    lit[i][o] = '\0';
  }
  char *e1 = evhttp_uriencode(lit[0], -1, 0);
  char *e2 = key2 ? evhttp_uriencode(lit[1], -1, 0) : NULL;
  if (key2)
    snprintf(out, len, "%s%s(name='%s',%s='%s')", c->base, set, e1 ? e1 : "", name2, e2 ? e2 : "");
  else
    snprintf(out, len, "%s%s('%s')", c->base, set, e1 ? e1 : "");
  free(e1);
  free(e2);
}

static void set_metadata(json_t *o, const char *uri, const char *type) {
  json_object_set_new(o, "__metadata",
                      json_pack("{s:s, s:s, s:s}", "id", uri, "uri", uri, "type", type));
}

/* life_cycle as SAP answers it for references (apiportal.History). */
static void set_life_cycle(const odata_call *c, json_t *o, json_t *from) {
  const char *who = c->sim->opt->admin_user;
  json_t *h = json_pack(
      "{s:{s:s}, s:o, s:s, s:o, s:s}", "__metadata", "type", "apiportal.History", "created_at",
      gsim_odata_date(json_integer_value(json_object_get(from, "createdMs"))), "created_by", who,
      "changed_at", gsim_odata_date(json_integer_value(json_object_get(from, "updatedMs"))),
      "changed_by", who);
  json_object_set_new(o, "life_cycle", h);
}

static json_t *cert_entity(const odata_call *c, json_t *in) {
  const char *name = json_string_value(json_object_get(in, "name"));
  const char *store = json_string_value(json_object_get(in, "storeName"));
  char uri[1200];
  entity_uri(c, "Certificates", name, "storeName", store, uri, sizeof(uri));
  int64_t nb = json_integer_value(json_object_get(in, "notBefore"));
  int64_t na = json_integer_value(json_object_get(in, "notAfter"));
  int64_t now = gsim_now_ms();
  json_t *o = json_object();
  set_metadata(o, uri, "apiportal.Certificate");
  static const char *const copied[] = {"name",         "storeName",         "storeType",   "format",
                                       "content",      "description",       "subject",     "issuer",
                                       "serialNumber", "sha256Fingerprint", "chainLength", NULL};
  for (const char *const *k = copied; *k; k++) {
    json_t *v = json_object_get(in, *k);
    if (v)
      json_object_set(o, *k, v);
  }
  json_object_set_new(o, "password", json_null());
  json_object_set_new(o, "validFrom", gsim_odata_date(nb));
  json_object_set_new(o, "expiryDate", gsim_odata_date(na));
  json_object_set_new(o, "isValid", json_boolean(now >= nb && now < na));
  set_life_cycle(c, o, in);
  return o;
}

static json_t *store_entity(const odata_call *c, json_t *in, json_t *certs) {
  const char *name = json_string_value(json_object_get(in, "name"));
  char uri[800], nav[860];
  entity_uri(c, "CertificateStores", name, NULL, NULL, uri, sizeof(uri));
  snprintf(nav, sizeof(nav), "%s/certificates", uri);
  json_t *o = json_object();
  set_metadata(o, uri, "apiportal.CertificateStore");
  json_object_set(o, "name", json_object_get(in, "name"));
  json_object_set(o, "storeType", json_object_get(in, "storeType"));
  json_object_set(o, "description", json_object_get(in, "description"));
  if (certs) {
    json_t *results = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(certs, i, v) { json_array_append_new(results, cert_entity(c, v)); }
    json_object_set_new(o, "certificates", json_pack("{s:o}", "results", results));
  } else
    json_object_set_new(o, "certificates", json_pack("{s:{s:s}}", "__deferred", "uri", nav));
  set_life_cycle(c, o, in);
  return o;
}

static json_t *ref_entity(const odata_call *c, json_t *in) {
  char uri[800];
  entity_uri(c, "CertificateStoreReferences", json_string_value(json_object_get(in, "name")), NULL,
             NULL, uri, sizeof(uri));
  json_t *o = json_object();
  set_metadata(o, uri, "apiportal.CertificateStoreReference");
  json_object_set(o, "name", json_object_get(in, "name"));
  json_object_set(o, "certificateStoreName", json_object_get(in, "certificateStoreName"));
  json_object_set(o, "storeType", json_object_get(in, "storeType"));
  set_life_cycle(c, o, in);
  return o;
}

static json_t *provider_entity(const odata_call *c, json_t *in) {
  char uri[800];
  entity_uri(c, "APIProviders", json_string_value(json_object_get(in, "name")), NULL, NULL, uri,
             sizeof(uri));
  json_t *o = json_deep_copy(in);
  json_object_del(o, "createdMs");
  json_object_del(o, "updatedMs");
  set_metadata(o, uri, "apiportal.APIProvider");
  set_life_cycle(c, o, in);
  return o;
}

/* {"d": entity} (stolen), with Location on a 201. */
static void send_entity(odata_call *c, int status, json_t *entity) {
  if (status == 201) {
    const char *uri =
        json_string_value(json_object_get(json_object_get(entity, "__metadata"), "uri"));
    if (uri)
      evhttp_add_header(evhttp_request_get_output_headers(c->req), "Location", uri);
  }
  gsim_send_json(c->req, status, json_pack("{s:o}", "d", entity));
}

/* {"d": {"results": [each of list through make]}} (list stolen). */
static void send_collection(odata_call *c, json_t *list,
                            json_t *(*make)(const odata_call *, json_t *)) {
  json_t *results = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) { json_array_append_new(results, make(c, v)); }
  json_decref(list);
  gsim_send_json(c->req, 200, json_pack("{s:{s:o}}", "d", "results", results));
}

/* ---- request bodies ------------------------------------------------------------- */

/* The body as a JSON object (a new reference), or NULL after answering 400. */
static json_t *body_object(odata_call *c) {
  size_t len = 0;
  json_error_t err;
  json_t *in = gsim_rest_json_body(c->req, &len, &err);
  char message[300];
  if (!in && len == 0)
    snprintf(message, sizeof(message), "A JSON body is required");
  else if (!in)
    snprintf(message, sizeof(message), "The body is not JSON: %s (line %d)", err.text, err.line);
  else if (!json_is_object(in))
    snprintf(message, sizeof(message), "The body must be a JSON object");
  else
    return in;
  json_decref(in);
  refused(c->sim, c->req, 400, CODE_INVALID, message);
  return NULL;
}

/* Decodes base64 text (OpenSSL's decoder; only the base64 alphabet, '=' and
 * line breaks are let through to it). A new buffer, or NULL. */
static unsigned char *decode_base64(const char *text, size_t n, size_t *out_len) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n";
  if (n > INT_MAX / 2 || strspn(text, alphabet) != n)
    return NULL;
  unsigned char *out = malloc(n / 4 * 3 + 4);
  EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
  int a = 0, b = 0;
  int ok = out && ctx;
  if (ok) {
    EVP_DecodeInit(ctx);
    ok = EVP_DecodeUpdate(ctx, out, &a, (const unsigned char *)text, (int)n) >= 0 &&
         EVP_DecodeFinal(ctx, out + a, &b) == 1;
  }
  EVP_ENCODE_CTX_free(ctx);
  if (!ok) {
    free(out);
    return NULL;
  }
  *out_len = (size_t)a + (size_t)b;
  return out;
}

/* A certificate of a body: in borrows o's strings; *decoded (freed by the
 * caller) holds the content. 0, or -1 with message. store: the store the
 * path named (a storeName in the body must be it), or NULL. */
static int cert_in(json_t *o, const char *store, gsim_sap_cert_in *in, unsigned char **decoded,
                   char *message, size_t len) {
  static const char *const keys[] = {"name",        "format",    "content",    "password",
                                     "description", "storeName", "__metadata", NULL};
  memset(in, 0, sizeof(*in));
  *decoded = NULL;
  if (!json_is_object(o)) {
    snprintf(message, len, "A certificate must be a JSON object");
    return -1;
  }
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    int known = 0;
    for (const char *const *key = keys; *key && !known; key++)
      known = strcmp(k, *key) == 0;
    if (!known) {
      snprintf(message, len, "Unknown property '%.64s' of a Certificate", k);
      return -1;
    }
    if (strcmp(k, "__metadata") != 0 && !json_is_null(v) && !json_is_string(v)) {
      snprintf(message, len, "The certificate's '%s' must be a string", k);
      return -1;
    }
  }
  in->name = json_string_value(json_object_get(o, "name"));
  in->format = json_string_value(json_object_get(o, "format"));
  in->password = json_string_value(json_object_get(o, "password"));
  in->description = json_string_value(json_object_get(o, "description"));
  const char *body_store = json_string_value(json_object_get(o, "storeName"));
  if (store && body_store && strcmp(store, body_store) != 0) {
    snprintf(message, len, "storeName '%.128s' is not the store of the path ('%s')", body_store,
             store);
    return -1;
  }
  if (!in->name) {
    snprintf(message, len, "A certificate needs a 'name'");
    return -1;
  }
  if (in->password &&
      (strlen(in->password) >= GSIM_PASSWORD_MAX ||
       !gsim_printable_utf8((const unsigned char *)in->password, strlen(in->password)))) {
    snprintf(message, len, "The password must be printable of at most 255 bytes");
    return -1;
  }
  if (in->password && !*in->password)
    in->password = NULL;
  json_t *content = json_object_get(o, "content");
  const char *text = json_string_value(content);
  if (!text || !*text) {
    snprintf(message, len, "The certificate content (base64) should be provided");
    return -1;
  }
  *decoded = decode_base64(text, json_string_length(content), &in->len);
  if (!*decoded) {
    snprintf(message, len, "The certificate content is not base64");
    return -1;
  }
  in->data = *decoded;
  return 0;
}

/* ---- key predicates -------------------------------------------------------------- */

/* An OData string literal at *p ('...' with '' for a quote) into out;
 * advances *p past it. 0, or -1. */
static int literal(const char **p, char *out, size_t out_len) {
  const char *s = *p;
  if (*s != '\'')
    return -1;
  size_t o = 0;
  for (s++;; s++) {
    if (!*s)
      return -1;
    if (*s == '\'') {
      if (s[1] != '\'')
        break;
      s++;
    }
    if (o + 1 >= out_len)
      return -1;
    out[o++] = *s;
  }
  out[o] = '\0';
  *p = s + 1;
  return gsim_printable_utf8((const unsigned char *)out, o) && o > 0 ? 0 : -1;
}

/* The key predicate "(...)" at *p: for one key ('v' or name='v') into v1,
 * for two (name='a',second='b', either order) into v1 and v2. Advances *p
 * past ')'. 0, or -1. */
static int key_predicate(const char **p, const char *second, char *v1, char *v2, size_t len) {
  const char *s = *p;
  if (*s++ != '(')
    return -1;
  if (!second && *s == '\'') {
    if (literal(&s, v1, len) != 0 || *s != ')')
      return -1;
    *p = s + 1;
    return 0;
  }
  int have1 = 0, have2 = 0;
  for (;;) {
    size_t n = strcspn(s, "=");
    char *target = NULL;
    int *have = NULL;
    if (n == 4 && strncmp(s, "name", 4) == 0) {
      target = v1;
      have = &have1;
    } else if (second && n == strlen(second) && strncmp(s, second, n) == 0) {
      target = v2;
      have = &have2;
    }
    if (!target || *have || s[n] != '=')
      return -1;
    s += n + 1;
    if (literal(&s, target, len) != 0)
      return -1;
    *have = 1;
    if (*s == ')')
      break;
    if (*s++ != ',')
      return -1;
  }
  if (!have1 || (second && !have2))
    return -1;
  *p = s + 1;
  return 0;
}

/* ---- CertificateStores and Certificates ------------------------------------------- */

static void stores_list(odata_call *c) {
  json_t *list = NULL;
  gsim_sap_why why = {0};
  if (gsim_sap_stores(c->sim, &list) != GSIM_SAP_OK) {
    answer_why(c->sim, c->req, GSIM_SAP_FAILED, &why, "listing stores");
    return;
  }
  json_t *results = json_array();
  size_t i;
  json_t *s;
  json_array_foreach(list, i, s) {
    json_t *certs = NULL;
    if (c->expand && gsim_sap_certs(c->sim, json_string_value(json_object_get(s, "name")), &certs,
                                    &why) != GSIM_SAP_OK) {
      json_decref(results);
      json_decref(list);
      answer_why(c->sim, c->req, GSIM_SAP_FAILED, &why, "listing certificates");
      return;
    }
    json_array_append_new(results, store_entity(c, s, certs));
    json_decref(certs);
  }
  json_decref(list);
  gsim_send_json(c->req, 200, json_pack("{s:{s:o}}", "d", "results", results));
}

static void store_get(odata_call *c, const char *name) {
  json_t *s = NULL, *certs = NULL;
  gsim_sap_why why = {0};
  gsim_sap_status st = gsim_sap_store_get(c->sim, name, &s, &why);
  if (st == GSIM_SAP_OK && c->expand)
    st = gsim_sap_certs(c->sim, name, &certs, &why);
  if (st != GSIM_SAP_OK)
    answer_why(c->sim, c->req, st, &why, "reading a store");
  else
    send_entity(c, 200, store_entity(c, s, certs));
  json_decref(s);
  json_decref(certs);
}

/* POST CertificateStores: a deep insert. */
static void store_create(odata_call *c) {
  json_t *in = body_object(c);
  if (!in)
    return;
  static const char *const keys[] = {"name",         "storeType",  "description",
                                     "certificates", "__metadata", NULL};
  char message[400] = "";
  const char *k;
  json_t *v;
  json_object_foreach(in, k, v) {
    int known = 0;
    for (const char *const *key = keys; *key && !known; key++)
      known = strcmp(k, *key) == 0;
    if (!known && !*message)
      snprintf(message, sizeof(message), "Unknown property '%.64s' of a CertificateStore", k);
  }
  const char *name = json_string_value(json_object_get(in, "name"));
  json_t *type = json_object_get(in, "storeType"), *desc = json_object_get(in, "description");
  json_t *certs = json_object_get(in, "certificates");
  gsim_sap_kind kind = GSIM_SAP_TRUST;
  if (*message)
    ;
  else if (!name)
    snprintf(message, sizeof(message), "A CertificateStore needs a 'name' (a string)");
  else if (gsim_sap_kind_parse(json_string_value(type), &kind) != 0)
    snprintf(message, sizeof(message), "'storeType' must be TRUSTSTORE or KEYSTORE");
  else if (desc && !json_is_null(desc) && !json_is_string(desc))
    snprintf(message, sizeof(message), "'description' must be a string");
  else if (certs && !json_is_null(certs) && !json_is_array(certs) &&
           !json_is_array(json_object_get(certs, "results")))
    snprintf(message, sizeof(message), "'certificates' must be an array");
  if (*message) {
    refused(c->sim, c->req, 400, CODE_INVALID, message);
    json_decref(in);
    return;
  }
  if (json_is_object(certs)) /* {"results": [...]} as OData V2 serialises a navigation */
    certs = json_object_get(certs, "results");
  size_t n = json_array_size(certs);
  gsim_sap_cert_in *list = calloc(n ? n : 1, sizeof(*list));
  unsigned char **decoded = calloc(n ? n : 1, sizeof(*decoded));
  int bad = !list || !decoded;
  for (size_t i = 0; i < n && !bad; i++) {
    char why_cert[300];
    if (cert_in(json_array_get(certs, i), name, &list[i], &decoded[i], why_cert,
                sizeof(why_cert)) != 0) {
      snprintf(message, sizeof(message), "certificates[%zu]: %s", i, why_cert);
      bad = 1;
    }
  }
  if (bad && *message)
    refused(c->sim, c->req, 400, CODE_INVALID, message);
  else if (bad)
    gsim_odata_error(c->req, 500, "INTERNAL_SERVER_ERROR", "out of memory");
  else {
    gsim_sap_why why = {0};
    gsim_sap_status st =
        gsim_sap_store_create(c->sim, name, kind, json_string_value(desc), list, n, &why);
    json_t *s = NULL, *stored = NULL;
    if (st == GSIM_SAP_OK)
      st = gsim_sap_store_get(c->sim, name, &s, &why);
    if (st == GSIM_SAP_OK)
      st = gsim_sap_certs(c->sim, name, &stored, &why);
    if (st != GSIM_SAP_OK)
      answer_why(c->sim, c->req, st, &why, "creating a store");
    else
      send_entity(c, 201, store_entity(c, s, stored));
    json_decref(s);
    json_decref(stored);
  }
  for (size_t i = 0; decoded && i < n; i++) {
    if (decoded[i])
      OPENSSL_cleanse(decoded[i], list[i].len);
    free(decoded[i]);
  }
  free(decoded);
  free(list);
  json_decref(in);
}

static void certs_list(odata_call *c, const char *store) {
  json_t *list = NULL;
  gsim_sap_why why = {0};
  gsim_sap_status st = gsim_sap_certs(c->sim, store, &list, &why);
  if (st != GSIM_SAP_OK)
    answer_why(c->sim, c->req, st, &why, "listing certificates");
  else
    send_collection(c, list, cert_entity);
}

/* POST CertificateStores('s')/certificates. */
static void cert_add(odata_call *c, const char *store) {
  json_t *in = body_object(c);
  if (!in)
    return;
  gsim_sap_cert_in cert;
  unsigned char *decoded = NULL;
  char message[300];
  if (cert_in(in, store, &cert, &decoded, message, sizeof(message)) != 0)
    refused(c->sim, c->req, 400, CODE_INVALID, message);
  else {
    gsim_sap_why why = {0};
    int replaced = 0;
    json_t *stored = NULL;
    gsim_sap_status st = gsim_sap_cert_put(c->sim, store, &cert, &replaced, &why);
    if (st == GSIM_SAP_OK)
      st = gsim_sap_cert_get(c->sim, store, cert.name, &stored, &why);
    if (st != GSIM_SAP_OK)
      answer_why(c->sim, c->req, st, &why, "adding a certificate");
    else
      send_entity(c, replaced ? 200 : 201, cert_entity(c, stored));
    json_decref(stored);
  }
  if (decoded)
    OPENSSL_cleanse(decoded, cert.len);
  free(decoded);
  json_decref(in);
}

static void route_stores(odata_call *c, const char *rest) {
  enum evhttp_cmd_type m = evhttp_request_get_command(c->req);
  char name[KEY_VALUE_MAX];
  if (!*rest) {
    if (m == EVHTTP_REQ_GET)
      stores_list(c);
    else if (m == EVHTTP_REQ_POST)
      store_create(c);
    else
      method_not_allowed(c->req, "GET, POST");
    return;
  }
  if (key_predicate(&rest, NULL, name, NULL, sizeof(name)) != 0) {
    refused(c->sim, c->req, 400, CODE_KEY,
            "The key predicate is not ('<name>') with an OData string literal");
    return;
  }
  if (!gsim_sap_valid_store(name)) {
    refused(c->sim, c->req, 400, CODE_KEY,
            "A store name in the key is 1 to 128 characters of A-Z a-z 0-9 . _ -");
    return;
  }
  if (!*rest) {
    gsim_sap_why why = {0};
    if (m == EVHTTP_REQ_GET)
      store_get(c, name);
    else if (m == EVHTTP_REQ_DELETE) {
      gsim_sap_status st = gsim_sap_store_delete(c->sim, name, &why);
      if (st == GSIM_SAP_OK)
        no_content(c->req);
      else
        answer_why(c->sim, c->req, st, &why, "deleting a store");
    } else
      method_not_allowed(c->req, "GET, DELETE");
  } else if (strcmp(rest, "/certificates") == 0) {
    if (m == EVHTTP_REQ_GET)
      certs_list(c, name);
    else if (m == EVHTTP_REQ_POST)
      cert_add(c, name);
    else
      method_not_allowed(c->req, "GET, POST");
  } else
    gsim_odata_error(c->req, 404, "RESOURCE_NOT_FOUND",
                     "No such resource: a store's only navigation is /certificates");
}

static void route_certs(odata_call *c, const char *rest) {
  enum evhttp_cmd_type m = evhttp_request_get_command(c->req);
  char name[KEY_VALUE_MAX], store[KEY_VALUE_MAX];
  if (!*rest) {
    if (m == EVHTTP_REQ_GET)
      certs_list(c, NULL);
    else
      method_not_allowed(c->req, "GET");
    return;
  }
  if (key_predicate(&rest, "storeName", name, store, sizeof(name)) != 0 || *rest) {
    refused(c->sim, c->req, 400, CODE_KEY,
            "The key predicate is not (name='<name>',storeName='<store>') with OData string "
            "literals");
    return;
  }
  if (!gsim_sap_valid_store(store)) {
    refused(c->sim, c->req, 400, CODE_KEY,
            "A store name in the key is 1 to 128 characters of A-Z a-z 0-9 . _ -");
    return;
  }
  gsim_sap_why why = {0};
  if (m == EVHTTP_REQ_GET) {
    json_t *cert = NULL;
    gsim_sap_status st = gsim_sap_cert_get(c->sim, store, name, &cert, &why);
    if (st != GSIM_SAP_OK)
      answer_why(c->sim, c->req, st, &why, "reading a certificate");
    else
      send_entity(c, 200, cert_entity(c, cert));
    json_decref(cert);
  } else if (m == EVHTTP_REQ_DELETE) {
    gsim_sap_status st = gsim_sap_cert_delete(c->sim, store, name, &why);
    if (st == GSIM_SAP_OK)
      no_content(c->req);
    else
      answer_why(c->sim, c->req, st, &why, "deleting a certificate");
  } else
    method_not_allowed(c->req, "GET, DELETE");
}

/* ---- CertificateStoreReferences and APIProviders ------------------------------------ */

/* The store name of a reference body ({"name", "certificateStoreName"}; the
 * name required when with_name, as POST needs it; PUT sends the store only, as
 * SAP documents); NULL after answering 400. */
static const char *ref_body(odata_call *c, json_t *in, int with_name) {
  const char *k;
  json_t *v;
  json_object_foreach(in, k, v) {
    if (strcmp(k, "certificateStoreName") != 0 && strcmp(k, "__metadata") != 0 &&
        strcmp(k, "storeType") != 0 && strcmp(k, "life_cycle") != 0 && strcmp(k, "name") != 0) {
      char message[200];
      snprintf(message, sizeof(message), "Unknown property '%.64s' of a CertificateStoreReference",
               k);
      refused(c->sim, c->req, 400, CODE_INVALID, message);
      return NULL;
    }
  }
  const char *store = json_string_value(json_object_get(in, "certificateStoreName"));
  json_t *name = json_object_get(in, "name");
  if (!store || (with_name && !json_is_string(name)) ||
      (name && !json_is_null(name) && !json_is_string(name))) {
    refused(c->sim, c->req, 400, CODE_INVALID,
            with_name ? "'name' and 'certificateStoreName' are required (strings)"
                      : "'certificateStoreName' is required (a string)");
    return NULL;
  }
  return store;
}

/* The whole rest of a path is one name key ("('n')") into name: 0, or -1
 * after answering 400 (the single-key sets: references, API providers). */
static int single_name_key(odata_call *c, const char *rest, char *name, size_t len) {
  if (key_predicate(&rest, NULL, name, NULL, len) == 0 && !*rest)
    return 0;
  refused(c->sim, c->req, 400, CODE_KEY,
          "The key predicate is not ('<name>') with an OData string literal");
  return -1;
}

static void route_refs(odata_call *c, const char *rest) {
  enum evhttp_cmd_type m = evhttp_request_get_command(c->req);
  gsim_sap_why why = {0};
  gsim_sap_status st;
  char name[KEY_VALUE_MAX];
  json_t *in = NULL, *ref = NULL;
  if (!*rest) {
    if (m == EVHTTP_REQ_GET) {
      if (gsim_sap_refs(c->sim, &ref) != GSIM_SAP_OK)
        answer_why(c->sim, c->req, GSIM_SAP_FAILED, &why, "listing references");
      else
        send_collection(c, ref, ref_entity);
    } else if (m == EVHTTP_REQ_POST) {
      const char *store = (in = body_object(c)) ? ref_body(c, in, 1) : NULL;
      const char *ref_name = json_string_value(json_object_get(in, "name"));
      if (store && (st = gsim_sap_ref_create(c->sim, ref_name, store, &why)) == GSIM_SAP_OK &&
          (st = gsim_sap_ref_get(c->sim, ref_name, &ref, &why)) == GSIM_SAP_OK)
        send_entity(c, 201, ref_entity(c, ref));
      else if (store)
        answer_why(c->sim, c->req, st, &why, "creating a reference");
      json_decref(ref);
    } else
      method_not_allowed(c->req, "GET, POST");
    json_decref(in);
    return;
  }
  if (single_name_key(c, rest, name, sizeof(name)) != 0)
    return;
  if (m == EVHTTP_REQ_GET) {
    if ((st = gsim_sap_ref_get(c->sim, name, &ref, &why)) == GSIM_SAP_OK)
      send_entity(c, 200, ref_entity(c, ref));
    else
      answer_why(c->sim, c->req, st, &why, "reading a reference");
    json_decref(ref);
  } else if (m == EVHTTP_REQ_PUT) {
    const char *store = (in = body_object(c)) ? ref_body(c, in, 0) : NULL;
    const char *body_name = json_string_value(json_object_get(in, "name"));
    if (store && body_name && strcmp(body_name, name) != 0)
      refused(c->sim, c->req, 400, CODE_INVALID, "The name in the body is not the key's");
    else if (store && (st = gsim_sap_ref_update(c->sim, name, store, &why)) == GSIM_SAP_OK)
      no_content(c->req);
    else if (store)
      answer_why(c->sim, c->req, st, &why, "updating a reference");
    json_decref(in);
  } else if (m == EVHTTP_REQ_DELETE) {
    if ((st = gsim_sap_ref_delete(c->sim, name, &why)) == GSIM_SAP_OK)
      no_content(c->req);
    else
      answer_why(c->sim, c->req, st, &why, "deleting a reference");
  } else
    method_not_allowed(c->req, "GET, PUT, DELETE");
}

static void route_providers(odata_call *c, const char *rest) {
  enum evhttp_cmd_type m = evhttp_request_get_command(c->req);
  gsim_sap_why why = {0};
  gsim_sap_status st;
  char name[KEY_VALUE_MAX];
  json_t *in = NULL, *def = NULL;
  if (!*rest) {
    if (m == EVHTTP_REQ_GET) {
      if (gsim_sap_providers(c->sim, &def) != GSIM_SAP_OK)
        answer_why(c->sim, c->req, GSIM_SAP_FAILED, &why, "listing API providers");
      else
        send_collection(c, def, provider_entity);
    } else if (m == EVHTTP_REQ_POST) {
      if ((in = body_object(c)) != NULL) {
        if ((st = gsim_sap_provider_put(c->sim, in, NULL, &def, &why)) == GSIM_SAP_OK)
          send_entity(c, 201, provider_entity(c, def));
        else
          answer_why(c->sim, c->req, st, &why, "creating an API provider");
      }
      json_decref(def);
      json_decref(in);
    } else
      method_not_allowed(c->req, "GET, POST");
    return;
  }
  if (single_name_key(c, rest, name, sizeof(name)) != 0)
    return;
  if (m == EVHTTP_REQ_GET) {
    if ((st = gsim_sap_provider_get(c->sim, name, &def, &why)) == GSIM_SAP_OK)
      send_entity(c, 200, provider_entity(c, def));
    else
      answer_why(c->sim, c->req, st, &why, "reading an API provider");
    json_decref(def);
  } else if (m == EVHTTP_REQ_PUT) {
    if ((in = body_object(c)) != NULL) {
      if ((st = gsim_sap_provider_put(c->sim, in, name, &def, &why)) == GSIM_SAP_OK)
        no_content(c->req);
      else
        answer_why(c->sim, c->req, st, &why, "replacing an API provider");
    }
    json_decref(def);
    json_decref(in);
  } else if (m == EVHTTP_REQ_DELETE) {
    if ((st = gsim_sap_provider_delete(c->sim, name, &why)) == GSIM_SAP_OK)
      no_content(c->req);
    else
      answer_why(c->sim, c->req, st, &why, "deleting an API provider");
  } else
    method_not_allowed(c->req, "GET, PUT, DELETE");
}

/* ---- access --------------------------------------------------------------------- */

/* The value of the cookie name in the request's Cookie header into out
 * (""); the header is "a=b; c=d". */
static void cookie_value(struct evhttp_request *req, const char *name, char *out, size_t len) {
  const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie");
  size_t n = strlen(name);
  *out = '\0';
  for (const char *p = h; p && *p;) {
    while (*p == ' ' || *p == ';')
      p++;
    size_t item = strcspn(p, ";");
    if (item > n && strncmp(p, name, n) == 0 && p[n] == '=') {
      snprintf(out, len, "%.*s", (int)(item - n - 1), p + n + 1);
      return;
    }
    p += item;
  }
}

/* 1 when the request carries a live bearer token. */
static int bearer_ok(gsim *sim, struct evhttp_request *req) {
  const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
  if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
    return 0;
  const char *token = auth + 7;
  while (*token == ' ')
    token++;
  return gsim_sap_token_valid(sim, token);
}

/* POST /oauth/token: the service key's client credentials for a token. */
static void token_endpoint(gsim *sim, struct evhttp_request *req, int basic_ok) {
  struct evkeyvalq *out = evhttp_request_get_output_headers(req);
  if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
    evhttp_add_header(out, "Allow", "POST");
    gsim_send_json(req, 405, json_pack("{s:s}", "error", "invalid_request"));
    return;
  }
  struct evbuffer *body = evhttp_request_get_input_buffer(req);
  size_t len = evbuffer_get_length(body);
  char text[TOKEN_BODY_MAX + 1];
  struct evkeyvalq form;
  TAILQ_INIT(&form);
  const char *error = NULL, *description = NULL;
  int status = 400;
  if (len > TOKEN_BODY_MAX || evbuffer_copyout(body, text, len) != (ev_ssize_t)len ||
      memchr(text, '\0', len)) {
    error = "invalid_request";
    description = "The body must be a form of at most 4096 bytes";
  } else {
    text[len] = '\0';
    if (evhttp_parse_query_str(text, &form) != 0) {
      error = "invalid_request";
      description = "The body is not an application/x-www-form-urlencoded form";
    }
  }
  /* grant_type in the form, or in the query as SAP's Piper steps send it
   * (SAP/jenkins-library pkg/cpi/commonUtils.go GetBearerToken: POST
   * <tokenurl>?grant_type=client_credentials, basic auth, no body) */
  struct evkeyvalq query;
  TAILQ_INIT(&query);
  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
  const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
  if (!error && q && evhttp_parse_query_str(q, &query) != 0) {
    error = "invalid_request";
    description = "The query does not parse";
  }
  const char *grant = error ? NULL : evhttp_find_header(&form, "grant_type");
  if (!error && !grant)
    grant = evhttp_find_header(&query, "grant_type");
  const char *id = error ? NULL : evhttp_find_header(&form, "client_id");
  const char *secret = error ? NULL : evhttp_find_header(&form, "client_secret");
  if (error)
    ;
  else if (!grant) {
    error = "invalid_request";
    description = "grant_type is required";
  } else if (strcmp(grant, "client_credentials") != 0) {
    error = "unsupported_grant_type";
    description = "Only the client_credentials grant is served";
  } else {
    const char *user = sim->opt->admin_user, *password = sim->opt->admin_password;
    int form_ok = id && secret && strlen(id) == strlen(user) &&
                  strlen(secret) == strlen(password) &&
                  CRYPTO_memcmp(id, user, strlen(user)) == 0 &&
                  CRYPTO_memcmp(secret, password, strlen(password)) == 0;
    if (!basic_ok && !form_ok) {
      status = 401;
      error = "invalid_client";
      description = "Bad credentials";
      evhttp_add_header(out, "WWW-Authenticate", "Basic realm=\"gatecert-sim\"");
    }
  }
  OPENSSL_cleanse(text, sizeof(text));
  evhttp_clear_headers(&form);
  evhttp_clear_headers(&query);
  evhttp_add_header(out, "Cache-Control", "no-store");
  if (error) {
    gsim_log(sim, "INFO", "odata: token refused: %s", error);
    gsim_send_json(req, status,
                   json_pack("{s:s, s:s}", "error", error, "error_description", description));
    return;
  }
  char token[GSIM_SAP_SECRET_HEX];
  long expires = 0;
  if (gsim_sap_token_issue(sim, token, &expires) != 0) {
    gsim_send_json(req, 500, json_pack("{s:s}", "error", "server_error"));
    return;
  }
  gsim_send_json(req, 200,
                 json_pack("{s:s, s:s, s:I}", "access_token", token, "token_type", "bearer",
                           "expires_in", (json_int_t)expires));
  OPENSSL_cleanse(token, sizeof(token));
}

/* Authentication and CSRF for a call under the service root: 0 to go on,
 * -1 after answering 401 or 403. A GET asking for a CSRF token gets one. */
static int access_check(gsim *sim, struct evhttp_request *req, int basic_ok) {
  struct evkeyvalq *in = evhttp_request_get_input_headers(req);
  struct evkeyvalq *out = evhttp_request_get_output_headers(req);
  int bearer = bearer_ok(sim, req);
  if (!bearer && !basic_ok) {
    evhttp_add_header(out, "WWW-Authenticate", "Bearer realm=\"gatecert-sim\"");
    gsim_odata_error(req, 401, "UNAUTHORIZED",
                     "A bearer token from /oauth/token or the client credentials are required");
    return -1;
  }
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  const char *csrf = evhttp_find_header(in, "X-CSRF-Token");
  char session[GSIM_SAP_SECRET_HEX + 8];
  cookie_value(req, COOKIE, session, sizeof(session));
  if ((m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD) && csrf && strcasecmp(csrf, "Fetch") == 0) {
    char id[GSIM_SAP_SECRET_HEX], token[GSIM_SAP_SECRET_HEX], cookie[160];
    if (gsim_sap_csrf_issue(sim, *session ? session : NULL, id, token) == 0) {
      snprintf(cookie, sizeof(cookie), COOKIE "=%s; Path=/apiportal; HttpOnly", id);
      evhttp_add_header(out, "X-CSRF-Token", token);
      evhttp_add_header(out, "Set-Cookie", cookie);
    }
    return 0;
  }
  int write = m == EVHTTP_REQ_POST || m == EVHTTP_REQ_PUT || m == EVHTTP_REQ_DELETE ||
              m == EVHTTP_REQ_PATCH;
  if (write && !bearer && !(csrf && *session && gsim_sap_csrf_valid(sim, session, csrf))) {
    evhttp_add_header(out, "X-CSRF-Token", "Required");
    gsim_log(sim, "INFO", "odata: basic-auth write without a valid CSRF token: 403");
    gsim_odata_error(req, 403, "CSRF_TOKEN_VALIDATION_FAILED", "CSRF token validation failed");
    return -1;
  }
  return 0;
}

/* The query options: 0 (c->expand set), or -1 after answering 400. */
static int query_options(odata_call *c, const char *set) {
  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(c->req);
  const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
  struct evkeyvalq query;
  TAILQ_INIT(&query);
  if (q && evhttp_parse_query_str(q, &query) != 0) {
    refused(c->sim, c->req, 400, "QUERY_OPTION_NOT_SUPPORTED", "The query does not parse");
    return -1;
  }
  int rc = 0;
  char message[200] = "";
  struct evkeyval *kv;
  TAILQ_FOREACH(kv, &query, next) {
    if (kv->key[0] != '$' || rc)
      continue;
    if (strcmp(kv->key, "$format") == 0 && strcmp(kv->value, "json") == 0)
      continue;
    if (strcmp(kv->key, "$expand") == 0 && strcmp(kv->value, "certificates") == 0 &&
        strcmp(set, "CertificateStores") == 0) {
      c->expand = 1;
      continue;
    }
    snprintf(message, sizeof(message), "The query option %.32s=%.64s is not supported", kv->key,
             kv->value);
    rc = -1;
  }
  evhttp_clear_headers(&query);
  if (rc)
    refused(c->sim, c->req, 400, "QUERY_OPTION_NOT_SUPPORTED", message);
  return rc;
}

/* "http://<Host>/...Management.svc/" (Host kept only when it is a plain
 * host[:port]). */
static void base_uri(struct evhttp_request *req, char *out, size_t len) {
  const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
  static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-:[]";
  if (!host || !*host || strlen(host) > 255 || strspn(host, ok) != strlen(host))
    host = "localhost";
  snprintf(out, len, "http://%s" SVC "/", host);
}

/* Everything under the service root; rest is what follows SVC. */
static void service(gsim *sim, struct evhttp_request *req, const char *raw_rest, int basic_ok) {
  if (access_check(sim, req, basic_ok) != 0)
    return;
  size_t n = 0;
  char *rest = evhttp_uridecode(raw_rest, 0, &n);
  odata_call c = {.sim = sim, .req = req};
  base_uri(req, c.base, sizeof(c.base));
  if (!rest || n != strlen(rest)) {
    refused(sim, req, 400, CODE_KEY, "The path does not decode");
    free(rest);
    return;
  }
  static const struct {
    const char *name;
    void (*route)(odata_call *, const char *);
  } sets[] = {{"CertificateStores", route_stores},
              {"Certificates", route_certs},
              {"CertificateStoreReferences", route_refs},
              {"APIProviders", route_providers}};
  const char *p = rest;
  if (*p == '/')
    p++;
  size_t name_len = strcspn(p, "(/");
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  if (name_len == 0 && !*p) {
    if (m != EVHTTP_REQ_GET)
      method_not_allowed(req, "GET");
    else
      gsim_send_json(req, 200,
                     json_pack("{s:{s:[s,s,s,s]}}", "d", "EntitySets", "APIProviders",
                               "CertificateStoreReferences", "CertificateStores", "Certificates"));
  } else if (strcmp(p, "$metadata") == 0) {
    if (m != EVHTTP_REQ_GET)
      method_not_allowed(req, "GET");
    else {
      struct evbuffer *b = evbuffer_new();
      if (b) {
        evbuffer_add(b, gsim_odata_metadata, strlen(gsim_odata_metadata));
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/xml");
        evhttp_send_reply(req, 200, "OK", b);
        evbuffer_free(b);
      } else
        evhttp_send_error(req, 500, "Internal Server Error");
    }
  } else {
    size_t i = 0;
    while (i < sizeof(sets) / sizeof(sets[0]) &&
           !(strlen(sets[i].name) == name_len && strncmp(p, sets[i].name, name_len) == 0))
      i++;
    if (i == sizeof(sets) / sizeof(sets[0]))
      gsim_odata_error(req, 404, "RESOURCE_NOT_FOUND",
                       "No such entity set: CertificateStores, Certificates, "
                       "CertificateStoreReferences and APIProviders are served");
    else if (query_options(&c, sets[i].name) == 0)
      sets[i].route(&c, p + name_len);
  }
  free(rest);
}

/* ---- dispatch ------------------------------------------------------------------- */

int gsim_admin_odata(gsim *sim, struct evhttp_request *req, const char *path, int basic_ok) {
  if (gsim_rule_of(sim->opt, GSIM_RF_REST_PATHS)->variant != GSIM_REST_SAP_ODATA || !sim->sap)
    return 0;
  const char *rest;
  if (strcmp(path, TOKEN_PATH) == 0)
    token_endpoint(sim, req, basic_ok);
  else if ((rest = gsim_rest_under(path, SVC)) != NULL)
    service(sim, req, rest, basic_ok);
  else if (gsim_rest_under(path, RETIRED) != NULL && basic_ok)
    gsim_rest_error(req, 404, "Not Found",
                    "No such resource: the sap profiles are managed through the OData service "
                    "at " SVC "/ (CertificateStores, Certificates, CertificateStoreReferences, "
                    "APIProviders; token from " TOKEN_PATH "); /sap/v1 is retired (rule "
                    "rest.sap-odata)");
  else
    return 0;
  return 1;
}
