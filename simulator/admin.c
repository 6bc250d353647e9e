/* admin.c - the admin REST API in WSO2 Publisher shapes.
 *
 *   POST   /api/am/publisher/v4/apis                          create an API (live at once)
 *   GET    /api/am/publisher/v4/apis[/{id}]                    list / one
 *   DELETE /api/am/publisher/v4/apis/{id}
 *   .../_sim/...                                                control.c
 *
 * Endpoint certificates live where the profile's rest-paths row says
 * (rules.h GSIM_RF_REST_PATHS; the table CERT_APIS below holds the paths and
 * texts of each variant):
 *
 *   rest.publisher-v4 (wso2-4, sap)        /api/am/publisher/v4/endpoint-certificates
 *   rest.publisher-v0.14 (wso2-2.6)        /api/am/publisher/v0.14/certificates
 *
 *   POST   <certs>                   multipart certificate, alias, endpoint
 *   GET    <certs>                   ?alias= &endpoint= &offset= &limit=
 *   GET    <certs>/{alias}           status, validity, subject, version
 *   GET    <certs>/{alias}/content   DER
 *   PUT    <certs>/{alias}           multipart certificate
 *   DELETE <certs>/{alias}
 *
 * Both variants run the same handlers (validation, store, profile rules);
 * only the Location of an upload, the 404 texts and the answer to a delete
 * follow the version (2.6: carbon-apimgt 6.4.50 CertificatesApiServiceImpl).
 * Client certificates are clientauth.c's: under /apis/{id}/client-cert... for
 * v4, /api/am/publisher/v0.14/clientCertificates for v0.14. The other
 * version's certificate paths answer 404 naming the rule; APIs, key managers,
 * applications and subscriptions keep their v4 paths under every profile.
 *
 * Every call needs HTTP basic credentials (401 otherwise, compared in constant
 * time). Bodies are bounded by libevent (10 MiB: 413, drained, never
 * buffered whole); multipart bodies go through multipart.c. A change is
 * written to the store (one transaction) before it is acknowledged, and only
 * then applied in memory; a failed write answers 500 and changes nothing.
 *
 * Profile rules for endpoint certificates (rows upload.* of rules.c):
 *   wso2: alias taken -> 409; PEM or DER only, anything else (PKCS#7, JKS,
 *         garbage) -> 500 "Internal server error", as WSO2's
 *         CertificateFactory path answers; expired -> 400; not yet valid ->
 *         accepted; a second certificate for an endpoint -> accepted.
 *   sap:  a name that exists is overwritten (200 instead of 201); PEM, DER,
 *         PKCS#7 and JKS (its first certificate) accepted; unreadable input ->
 *         400 naming what was wrong; expired -> 400.
 * Uploads and deletes take effect for backend calls at the next sender tick
 * (reload.c).
 */
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "multipart.h"
#include "sim.h"

#define PUBLISHER         "/api/am/publisher/v4"
#define PUBLISHER_V014    "/api/am/publisher/v0.14"
#define CLIENT_CERTS_V014 PUBLISHER_V014 "/clientCertificates"
#define APIS_PATH         PUBLISHER "/apis"
#define SIM_PREFIX        "/_sim/"
#define EXPIRED_ADD       "Error while adding the certificate. Certificate Expired."
#define EXPIRED_PUT       "Error while updating the certificate. Certificate Expired."
#define NO_FILE           "Certificate update failed. Proper Certificate file should be provided"

/* A text around an alias: before + alias + after. */
typedef struct alias_text {
  const char *before, *after;
} alias_text;

/* What a variant of rule rest-paths serves for endpoint certificates, and the
 * texts of its answers. */
typedef struct cert_api {
  const char *certs;    /* the collection's path */
  const char *location; /* an upload's Location: certs + this + the alias */
  alias_text get_missing, put_missing, delete_missing; /* 404 descriptions */
  alias_text deleted;                                  /* a delete's 200 text; NULL: no body */
  const char *elsewhere; /* 404 description of the other version's certificate paths */
} cert_api;

static const cert_api CERT_APIS[] = {
    [GSIM_REST_V4] =
        {
            PUBLISHER "/endpoint-certificates",
            "/",
            {"Requested Certificate with Id '", "' not found"},
            {"Requested Certificate with Id '", "' not found"},
            {"Requested Certificate with Id '", "' not found"},
            {NULL, NULL},
            "No such resource: certificates are under " PUBLISHER
            "/endpoint-certificates and " PUBLISHER
            "/apis/{apiId}/client-certificates in this version (rule rest.publisher-v4)",
        },
    /* carbon-apimgt 6.4.50 CertificatesApiServiceImpl (RestApiConstants.CERTS_BASE_PATH) */
    [GSIM_REST_V014] =
        {
            PUBLISHER_V014 "/certificates",
            "?alias=",
            {"Certificate for Alias '", "' is not found."},
            {"Could not update the certificate. The alias '", "' not found."},
            {"Certificate for alias '", "' is not found."},
            {"The certificate for alias '", "' deleted successfully."},
            "No such resource: certificates are under " PUBLISHER_V014
            "/certificates and " CLIENT_CERTS_V014 " in this version (rule rest.publisher-v0.14)",
        },
};

/* The certificate paths in force (rule rest-paths). */
static const cert_api *cert_api_of(const gsim *sim) {
  int variant = gsim_rule_of(sim->opt, GSIM_RF_REST_PATHS)->variant;
  return &CERT_APIS[variant == GSIM_REST_V014 ? GSIM_REST_V014 : GSIM_REST_V4];
}

/* ---- small helpers ------------------------------------------------------- */

static void internal_error(gsim *sim, struct evhttp_request *req, const char *what) {
  gsim_log(sim, "ERROR", "admin: %s: %s", what, gsim_store_error(sim->store));
  gsim_rest_internal(req);
}

static void not_found(struct evhttp_request *req, const char *what, const char *id) {
  char text[GSIM_ALIAS_MAX + 64];
  snprintf(text, sizeof(text), "Requested %s with Id '%s' not found", what, id);
  gsim_rest_error(req, 404, "Not Found", text);
}

static void cert_not_found(struct evhttp_request *req, alias_text text, const char *alias) {
  char description[GSIM_ALIAS_MAX + 96];
  snprintf(description, sizeof(description), "%s%s%s", text.before, alias, text.after);
  gsim_rest_error(req, 404, "Not Found", description);
}

/* ---- authentication ---------------------------------------------------------- */

static int authorized(gsim *sim, struct evhttp_request *req) {
  const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
  if (!auth || strncasecmp(auth, "Basic ", 6) != 0)
    return 0;
  const char *b64 = auth + 6;
  while (*b64 == ' ')
    b64++;
  size_t b64_len = strlen(b64);
  if (b64_len == 0 || b64_len > GSIM_MAX_AUTH_HEADER || b64_len % 4 != 0)
    return 0;
  unsigned char decoded[800];
  int n = EVP_DecodeBlock(decoded, (const unsigned char *)b64, (int)b64_len);
  if (n < 0)
    return 0;
  if (b64_len >= 1 && b64[b64_len - 1] == '=')
    n--;
  if (b64_len >= 2 && b64[b64_len - 2] == '=')
    n--;
  const char *user = sim->opt->admin_user, *password = sim->opt->admin_password;
  size_t user_len = strlen(user), pw_len = strlen(password);
  int ok = (size_t)n == user_len + 1 + pw_len && decoded[user_len] == ':' &&
           CRYPTO_memcmp(decoded, user, user_len) == 0 &&
           CRYPTO_memcmp(decoded + user_len + 1, password, pw_len) == 0;
  OPENSSL_cleanse(decoded, sizeof(decoded));
  return ok;
}

/* The certificate of an upload under the profile's rules, logged when unreadable. */
static X509 *upload_cert(gsim *sim, const gsim_mp_part *part, int *status, char *description,
                         size_t description_len) {
  char reason[256];
  X509 *cert = gsim_rest_upload_cert(&sim->opt->rules, part, status, description, description_len,
                                     reason, sizeof(reason));
  if (!cert)
    gsim_log(sim, "ERROR", "admin: uploaded certificate unreadable (%s)", reason);
  return cert;
}

static int cert_der(X509 *cert, unsigned char **der, size_t *len) {
  int n = i2d_X509(cert, der);
  if (n <= 0)
    return -1;
  *len = (size_t)n;
  return 0;
}

/* ---- endpoint certificates --------------------------------------------------- */

static void cert_meta_reply(struct evhttp_request *req, int status, const char *alias,
                            const char *endpoint) {
  gsim_send_json(req, status, json_pack("{s:s, s:s}", "alias", alias, "endpoint", endpoint));
}

static void certs_add(gsim *sim, struct evhttp_request *req, const cert_api *api) {
  gsim_mp_form form;
  if (gsim_read_form(req, &form) != 0)
    return;
  gsim_cert_row row;
  memset(&row, 0, sizeof(row));
  int alias_ok = gsim_form_text(&form, "alias", row.alias, sizeof(row.alias));
  int endpoint_ok = gsim_form_text(&form, "endpoint", row.endpoint, sizeof(row.endpoint));
  if (alias_ok < 0 || endpoint_ok < 0) {
    gsim_rest_bad_request(req, alias_ok < 0
                                   ? "The alias must be printable UTF-8 of at most 255 bytes"
                                   : "The endpoint must be printable UTF-8 of at most 2047 bytes");
    return;
  }
  if (alias_ok == 0 || endpoint_ok == 0) {
    gsim_rest_bad_request(req, "The alias and/ or endpoint should not be empty");
    return;
  }
  const gsim_mp_part *file = gsim_mp_find(&form, "certificate");
  if (!file || file->len == 0) {
    gsim_rest_bad_request(req, NO_FILE);
    return;
  }
  int refuse_taken = /* rules upload.duplicate-* */
      gsim_rule_of(sim->opt, GSIM_RF_UPLOAD_DUPLICATE)->variant == GSIM_DUPLICATE_REFUSED;
  gsim_cert_row existing;
  memset(&existing, 0, sizeof(existing));
  gsim_store_status found = gsim_store_cert_get(sim->store, row.alias, &existing);
  gsim_cert_row_clear(&existing);
  if (found == GSIM_STORE_ERROR) {
    internal_error(sim, req, "reading the store");
    return;
  }
  if (found == GSIM_STORE_OK && refuse_taken) {
    char text[GSIM_ALIAS_MAX + 64];
    snprintf(text, sizeof(text), "The alias '%s' already exists in the trust store.", row.alias);
    gsim_rest_error(req, 409, "Resource Already Exists", text);
    return;
  }
  int status = 0;
  char description[300];
  X509 *cert = upload_cert(sim, file, &status, description, sizeof(description));
  if (!cert) {
    gsim_rest_error(req, status, status == 500 ? "Internal server error" : "Bad Request",
                    description);
    return;
  }
  int64_t now = gsim_now_ms();
  if (gsim_cert_expired(cert, now)) {
    X509_free(cert);
    gsim_rest_bad_request(req, EXPIRED_ADD);
    return;
  }
  int rc = cert_der(cert, &row.der, &row.der_len);
  X509_free(cert);
  if (rc != 0) {
    internal_error(sim, req, "encoding the certificate");
    return;
  }
  row.created_ms = row.updated_ms = now;
  int replaced = 0;
  gsim_store_status st = refuse_taken ? gsim_store_cert_insert(sim->store, &row)
                                      : gsim_store_cert_upsert(sim->store, &row, &replaced);
  OPENSSL_free(row.der);
  if (st == GSIM_STORE_EXISTS) { /* raced with another upload of the alias */
    gsim_rest_error(req, 409, "Resource Already Exists",
                    "The alias already exists in the trust store.");
    return;
  }
  if (st != GSIM_STORE_OK) {
    internal_error(sim, req, "storing the certificate");
    return;
  }
  gsim_trust_changed(&sim->trust);
  char next[32];
  gsim_format_iso(gsim_schedule_next_ms(&sim->sender, now), next);
  gsim_log(sim, "INFO", "endpoint certificate '%s' %s for %s; live at the next sender tick (%s)",
           row.alias, replaced ? "overwritten" : "added", row.endpoint, next);
  gsim_rest_set_location(req, api->certs, api->location, row.alias);
  cert_meta_reply(req, replaced ? 200 : 201, row.alias, row.endpoint);
}

static void certs_replace(gsim *sim, struct evhttp_request *req, const cert_api *api,
                          const char *alias) {
  gsim_mp_form form;
  if (gsim_read_form(req, &form) != 0)
    return;
  const gsim_mp_part *file = gsim_mp_find(&form, "certificate");
  if (!file || file->len == 0) {
    gsim_rest_bad_request(req, NO_FILE);
    return;
  }
  gsim_cert_row existing;
  memset(&existing, 0, sizeof(existing));
  gsim_store_status found = gsim_store_cert_get(sim->store, alias, &existing);
  if (found != GSIM_STORE_OK) {
    gsim_cert_row_clear(&existing);
    if (found == GSIM_STORE_NOT_FOUND)
      cert_not_found(req, api->put_missing, alias);
    else
      internal_error(sim, req, "reading the store");
    return;
  }
  int status = 0;
  char description[300];
  X509 *cert = upload_cert(sim, file, &status, description, sizeof(description));
  if (!cert) {
    gsim_cert_row_clear(&existing);
    gsim_rest_error(req, status, status == 500 ? "Internal server error" : "Bad Request",
                    description);
    return;
  }
  int64_t now = gsim_now_ms();
  unsigned char *der = NULL;
  size_t der_len = 0;
  int expired = gsim_cert_expired(cert, now);
  int rc = expired ? 0 : cert_der(cert, &der, &der_len);
  X509_free(cert);
  if (expired || rc != 0) {
    gsim_cert_row_clear(&existing);
    if (expired)
      gsim_rest_bad_request(req, EXPIRED_PUT);
    else
      internal_error(sim, req, "encoding the certificate");
    return;
  }
  gsim_store_status st = gsim_store_cert_replace(sim->store, alias, der, der_len, now);
  OPENSSL_free(der);
  if (st == GSIM_STORE_NOT_FOUND)
    cert_not_found(req, api->put_missing, alias);
  else if (st != GSIM_STORE_OK)
    internal_error(sim, req, "replacing the certificate");
  else {
    gsim_trust_changed(&sim->trust);
    gsim_log(sim, "INFO", "endpoint certificate '%s' replaced; live at the next sender tick",
             alias);
    cert_meta_reply(req, 200, alias, existing.endpoint);
  }
  gsim_cert_row_clear(&existing);
}

static void certs_delete(gsim *sim, struct evhttp_request *req, const cert_api *api,
                         const char *alias) {
  gsim_store_status st = gsim_store_cert_delete(sim->store, alias);
  if (st == GSIM_STORE_NOT_FOUND) {
    cert_not_found(req, api->delete_missing, alias);
    return;
  }
  if (st != GSIM_STORE_OK) {
    internal_error(sim, req, "deleting the certificate");
    return;
  }
  gsim_trust_changed(&sim->trust);
  gsim_log(sim, "INFO", "endpoint certificate '%s' deleted; gone at the next sender tick", alias);
  if (api->deleted.before) { /* 2.6 answers a text (not imitated: its application/json type) */
    char text[GSIM_ALIAS_MAX + 96];
    snprintf(text, sizeof(text), "%s%s%s", api->deleted.before, alias, api->deleted.after);
    gsim_rest_send_text(req, 200, text);
  } else
    evhttp_send_reply(req, 200, "OK", NULL);
}

static void certs_list(gsim *sim, struct evhttp_request *req) {
  struct evkeyvalq query;
  long offset = 0, limit = GSIM_LIST_DEFAULT;
  if (gsim_list_query(req, &query, &offset, &limit) != 0)
    return;
  /* As WSO2: an empty filter is no filter; one longer than any stored value
   * matches nothing (the store refuses both as out of bounds). */
  const char *alias = evhttp_find_header(&query, "alias");
  const char *endpoint = evhttp_find_header(&query, "endpoint");
  alias = alias && *alias ? alias : NULL;
  endpoint = endpoint && *endpoint ? endpoint : NULL;
  gsim_cert_row *rows = NULL;
  size_t count = 0;
  gsim_store_status st = GSIM_STORE_OK;
  if ((!alias || strlen(alias) < GSIM_ALIAS_MAX) && (!endpoint || strlen(endpoint) < GSIM_URL_MAX))
    st = gsim_store_cert_list(sim->store, alias, endpoint, &rows, &count);
  evhttp_clear_headers(&query);
  if (st != GSIM_STORE_OK) {
    internal_error(sim, req, "listing certificates");
    return;
  }
  json_t *list = json_array();
  for (size_t i = (size_t)offset; i < count && i < (size_t)offset + (size_t)limit; i++)
    json_array_append_new(
        list, json_pack("{s:s, s:s}", "alias", rows[i].alias, "endpoint", rows[i].endpoint));
  gsim_cert_rows_free(rows, count);
  gsim_send_json(req, 200, gsim_rest_page("certificates", list, offset, limit, count));
}

static void certs_get(gsim *sim, struct evhttp_request *req, const cert_api *api, const char *alias,
                      int content) {
  gsim_cert_row row;
  memset(&row, 0, sizeof(row));
  gsim_store_status st = gsim_store_cert_get(sim->store, alias, &row);
  if (st != GSIM_STORE_OK) {
    if (st == GSIM_STORE_NOT_FOUND)
      cert_not_found(req, api->get_missing, alias);
    else
      internal_error(sim, req, "reading the store");
    return;
  }
  if (content) {
    gsim_rest_send_der(req, alias, row.der, row.der_len);
    gsim_cert_row_clear(&row);
    return;
  }
  const unsigned char *p = row.der;
  X509 *cert = d2i_X509(NULL, &p, (long)row.der_len);
  gsim_cert_row_clear(&row);
  json_t *reply = cert ? gsim_rest_cert_json(cert, gsim_now_ms()) : NULL;
  X509_free(cert);
  if (!reply)
    internal_error(sim, req,
                   cert ? "describing a stored certificate" : "decoding a stored certificate");
  else
    gsim_send_json(req, 200, reply);
}

static void certs_route(gsim *sim, struct evhttp_request *req, const cert_api *api,
                        const char *rest) {
  enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
  if (*rest == '\0' || strcmp(rest, "/") == 0) {
    if (cmd == EVHTTP_REQ_POST)
      certs_add(sim, req, api);
    else if (cmd == EVHTTP_REQ_GET)
      certs_list(sim, req);
    else
      gsim_rest_method_not_allowed(req, "GET, POST");
    return;
  }
  if (*rest != '/') {
    gsim_rest_no_resource(req);
    return;
  }
  rest++;
  const char *slash = strchr(rest, '/');
  size_t seg_len = slash ? (size_t)(slash - rest) : strlen(rest);
  char alias[GSIM_ALIAS_MAX];
  if (gsim_path_segment(rest, seg_len, alias, sizeof(alias)) != 0) {
    gsim_rest_bad_request(req, "The alias in the path must be printable UTF-8 of 1 to 255 bytes");
    return;
  }
  if (slash && strcmp(slash, "/content") == 0) {
    if (cmd == EVHTTP_REQ_GET)
      certs_get(sim, req, api, alias, 1);
    else
      gsim_rest_method_not_allowed(req, "GET");
    return;
  }
  if (slash) {
    gsim_rest_no_resource(req);
    return;
  }
  if (cmd == EVHTTP_REQ_GET)
    certs_get(sim, req, api, alias, 0);
  else if (cmd == EVHTTP_REQ_PUT)
    certs_replace(sim, req, api, alias);
  else if (cmd == EVHTTP_REQ_DELETE)
    certs_delete(sim, req, api, alias);
  else
    gsim_rest_method_not_allowed(req, "GET, PUT, DELETE");
}

/* ---- APIs ------------------------------------------------------------------ */

/* securityScheme names of every version, then the optional flags of WSO2
 * 4.3+: known only where the both-optional rule row does not say
 * GSIM_BOTH_OPTIONAL_UNKNOWN_FLAGS (wso2-2.6 and sap refuse them). */
static const char *const security_names[] = {
    "mutualssl", "mutualssl_mandatory",
    "oauth2",    "basic_auth",
    "api_key",   "oauth_basic_auth_api_key_mandatory",
    NULL,
};
static const char *const optional_security_names[] = {
    "mutualssl_optional",
    "oauth_basic_auth_api_key_optional",
    NULL,
};

static int in_names(const char *const *names, const char *v) {
  for (const char *const *n = names; v && *n; n++)
    if (strcmp(*n, v) == 0)
      return 1;
  return 0;
}

static int valid_token(const char *s, const char *extra) {
  if (!*s)
    return 0;
  for (const char *p = s; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          strchr(extra, c)))
      return 0;
  }
  return 1;
}

static int valid_endpoint(const char *url) {
  struct evhttp_uri *uri = evhttp_uri_parse(url);
  if (!uri)
    return 0;
  const char *scheme = evhttp_uri_get_scheme(uri);
  const char *host = evhttp_uri_get_host(uri);
  int ok = scheme && (strcasecmp(scheme, "https") == 0 || strcasecmp(scheme, "http") == 0) &&
           host && *host && strlen(url) < GSIM_URL_MAX;
  evhttp_uri_free(uri);
  return ok;
}

static const char *endpoint_url(json_t *config, const char *which) {
  json_t *ep = json_object_get(config, which);
  if (json_is_array(ep)) /* WSO2 also accepts a list for load-balanced endpoints */
    ep = json_array_get(ep, 0);
  return json_string_value(json_object_get(ep, "url"));
}

/* WSO2's resources: [{"target": "/ *", "verb": "GET", "authType": "None"}, ...]
 * (authType default "Application & Application User"). A new array, or NULL
 * after answering 400. */
static json_t *api_operations(struct evhttp_request *req, json_t *in) {
  static const char *const auth_types[] = {
      "None", "Application & Application User", "Application", "Application User", "Any", NULL};
  static const char *const verb_names[] = {"GET",   "POST", "PUT",     "DELETE",
                                           "PATCH", "HEAD", "OPTIONS", NULL};
  char why[300];
  json_t *out = json_array();
  if (in && (!json_is_array(in) || json_array_size(in) > GSIM_MAX_OPERATIONS)) {
    json_decref(out);
    gsim_rest_bad_request(req, "operations must be a list of at most 256 resources");
    return NULL;
  }
  size_t i;
  json_t *op;
  json_array_foreach(in, i, op) {
    const char *target = json_string_value(json_object_get(op, "target"));
    const char *verb = json_string_value(json_object_get(op, "verb"));
    const char *auth = json_string_value(json_object_get(op, "authType"));
    int verb_ok = 0, auth_ok = !json_object_get(op, "authType");
    for (const char *const *v = verb_names; verb && *v; v++)
      verb_ok |= strcmp(*v, verb) == 0;
    for (const char *const *a = auth_types; auth && *a; a++)
      auth_ok |= strcmp(*a, auth) == 0;
    if (!json_is_object(op) || !target || target[0] != '/' || strlen(target) >= GSIM_TARGET_MAX ||
        !valid_token(target + (target[1] ? 1 : 0), "/-_.~*{}") || !verb_ok || !auth_ok) {
      json_decref(out);
      snprintf(why, sizeof(why),
               "operations[%zu]: target (a path starting with /), verb (GET, POST, PUT, DELETE, "
               "PATCH, HEAD, OPTIONS) and authType (None, Application & Application User, "
               "Application, Application User, Any) expected",
               i);
      gsim_rest_bad_request(req, why);
      return NULL;
    }
    json_array_append_new(out,
                          json_pack("{s:s, s:s, s:s}", "target", target, "verb", verb, "authType",
                                    auth ? auth : "Application & Application User"));
  }
  return out;
}

/* Validates a create request into a normalised definition (new reference),
 * or answers 400 and returns NULL. */
static json_t *api_definition(gsim *sim, struct evhttp_request *req, json_t *in, const char *id) {
  char why[300];
  const gsim_rule *both_optional = gsim_rule_of(sim->opt, GSIM_RF_BOTH_OPTIONAL);
  int optional_known = both_optional->variant != GSIM_BOTH_OPTIONAL_UNKNOWN_FLAGS;
  if (!json_is_object(in)) {
    gsim_rest_bad_request(req, "The API must be a JSON object");
    return NULL;
  }
  const char *name = json_string_value(json_object_get(in, "name"));
  const char *context = json_string_value(json_object_get(in, "context"));
  const char *version = json_string_value(json_object_get(in, "version"));
  if (!name || !*name || strlen(name) >= GSIM_API_NAME_MAX ||
      !gsim_printable_utf8((const unsigned char *)name, strlen(name))) {
    gsim_rest_bad_request(
        req, "name: a non-empty string of at most 255 printable characters is required");
    return NULL;
  }
  char ctx[GSIM_CONTEXT_MAX];
  if (!context || !*context || strlen(context) + 2 > sizeof(ctx)) {
    gsim_rest_bad_request(req, "context: a non-empty string such as \"/test\" is required");
    return NULL;
  }
  snprintf(ctx, sizeof(ctx), "%s%s", context[0] == '/' ? "" : "/", context);
  size_t ctx_len = strlen(ctx);
  while (ctx_len > 1 && ctx[ctx_len - 1] == '/')
    ctx[--ctx_len] = '\0';
  if (ctx_len < 2 || !valid_token(ctx + 1, "/-_.~") || strstr(ctx, "//") ||
      strncmp(ctx, SIM_PREFIX, strlen(SIM_PREFIX) - 1) == 0) {
    gsim_rest_bad_request(req, "context: letters, digits and / - _ . ~ only, not /_sim");
    return NULL;
  }
  if (!version || strlen(version) >= GSIM_VERSION_MAX || !valid_token(version, "-_.")) {
    gsim_rest_bad_request(req, "version: a non-empty string of letters, digits, - _ . is required");
    return NULL;
  }
  json_t *config = json_object_get(in, "endpointConfig");
  const char *production = endpoint_url(config, "production_endpoints");
  const char *sandbox = endpoint_url(config, "sandbox_endpoints");
  if (!production || !valid_endpoint(production) || (sandbox && !valid_endpoint(sandbox))) {
    gsim_rest_bad_request(req,
                          "endpointConfig: production_endpoints.url (and sandbox_endpoints.url if "
                          "given) must be http(s) URLs with a host");
    return NULL;
  }
  json_t *security = json_object_get(in, "securityScheme");
  json_t *schemes = json_array();
  if (security && !json_is_array(security)) {
    json_decref(schemes);
    gsim_rest_bad_request(req, "securityScheme must be a list");
    return NULL;
  }
  if (!security || json_array_size(security) == 0) { /* WSO2's default */
    json_array_append_new(schemes, json_string("oauth2"));
    json_array_append_new(schemes, json_string("oauth_basic_auth_api_key_mandatory"));
  }
  size_t i;
  json_t *s;
  json_array_foreach(security, i, s) {
    const char *v = json_string_value(s);
    if (!optional_known && in_names(optional_security_names, v)) { /* rule both-optional */
      json_decref(schemes);
      snprintf(why, sizeof(why),
               "securityScheme[%zu]: %s is not a security scheme of this version (rule %s); use "
               "mutualssl, mutualssl_mandatory, oauth2 and oauth_basic_auth_api_key_mandatory",
               i, v, both_optional->id);
      gsim_rest_error(req, both_optional->status ? both_optional->status : 400, "Bad Request", why);
      return NULL;
    }
    if (!in_names(security_names, v) && !in_names(optional_security_names, v)) {
      json_decref(schemes);
      snprintf(why, sizeof(why),
               "securityScheme[%zu]: not one of mutualssl, mutualssl_mandatory, oauth2, "
               "basic_auth, api_key, oauth_basic_auth_api_key_mandatory%s",
               i, optional_known ? ", mutualssl_optional, oauth_basic_auth_api_key_optional" : "");
      gsim_rest_bad_request(req, why);
      return NULL;
    }
    if (strcmp(v, "basic_auth") == 0 || strcmp(v, "api_key") == 0) {
      json_decref(schemes);
      snprintf(why, sizeof(why),
               "securityScheme[%zu]: %s is not supported by gatecert-sim; use mutualssl, "
               "mutualssl_mandatory, oauth2 and oauth_basic_auth_api_key_mandatory%s",
               i, v, optional_known ? " (or their _optional flags)" : "");
      gsim_rest_bad_request(req, why);
      return NULL;
    }
    json_array_append(schemes, s);
  }
  json_t *is_default = json_object_get(in, "isDefaultVersion");
  if (is_default && !json_is_boolean(is_default)) {
    json_decref(schemes);
    gsim_rest_bad_request(req, "isDefaultVersion must be true or false");
    return NULL;
  }
  json_t *operations = api_operations(req, json_object_get(in, "operations"));
  if (!operations) {
    json_decref(schemes);
    return NULL;
  }
  json_t *endpoint_config = json_pack("{s:s, s:{s:s}}", "endpoint_type", "http",
                                      "production_endpoints", "url", production);
  if (sandbox)
    json_object_set_new(endpoint_config, "sandbox_endpoints", json_pack("{s:s}", "url", sandbox));
  return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:b, s:s, s:o}", "id", id, "name", name,
                   "context", ctx, "version", version, "endpointConfig", endpoint_config,
                   "securityScheme", schemes, "isDefaultVersion", json_is_true(is_default),
                   "lifeCycleStatus", "PUBLISHED", "operations", operations);
}

static void apis_create(gsim *sim, struct evhttp_request *req) {
  struct evbuffer *body = evhttp_request_get_input_buffer(req);
  size_t len = evbuffer_get_length(body);
  json_error_t jerr;
  json_t *in = len ? json_loadb((const char *)evbuffer_pullup(body, (ev_ssize_t)len), len,
                                JSON_REJECT_DUPLICATES, &jerr)
                   : NULL;
  if (!in) {
    char why[300];
    snprintf(why, sizeof(why), "The body is not JSON: %s (line %d, column %d)",
             len ? jerr.text : "empty body", len ? jerr.line : 0, len ? jerr.column : 0);
    gsim_rest_bad_request(req, why);
    return;
  }
  if (sim->api_count >= GSIM_MAX_APIS) {
    json_decref(in);
    gsim_rest_bad_request(req, "The simulator holds at most 1024 APIs");
    return;
  }
  char id[GSIM_API_ID_MAX];
  gsim_rest_new_uuid(id);
  json_t *def = api_definition(sim, req, in, id);
  json_decref(in);
  if (!def)
    return;
  gsim_api_row row;
  memset(&row, 0, sizeof(row));
  snprintf(row.id, sizeof(row.id), "%s", id);
  snprintf(row.name, sizeof(row.name), "%s", json_string_value(json_object_get(def, "name")));
  snprintf(row.context, sizeof(row.context), "%s",
           json_string_value(json_object_get(def, "context")));
  snprintf(row.version, sizeof(row.version), "%s",
           json_string_value(json_object_get(def, "version")));
  row.definition = json_dumps(def, JSON_COMPACT);
  row.created_ms = gsim_now_ms();
  gsim_api *api = row.definition ? gsim_api_from_json(id, def) : NULL;
  gsim_store_status st = api ? gsim_store_api_insert(sim->store, &row) : GSIM_STORE_ERROR;
  free(row.definition);
  if (st != GSIM_STORE_OK) {
    gsim_api_free(api);
    json_decref(def);
    if (st == GSIM_STORE_EXISTS) {
      char why[GSIM_API_NAME_MAX + GSIM_VERSION_MAX + GSIM_CONTEXT_MAX + 128];
      snprintf(why, sizeof(why),
               "A duplicate API already exists for %s-%s (or context %s with that version)",
               row.name, row.version, row.context);
      gsim_rest_error(req, 409, "Conflict", why);
    } else
      internal_error(sim, req, "storing the API");
    return;
  }
  sim->apis[sim->api_count++] = api;
  gsim_log(sim, "INFO", "api %s:%s created at %s/%s -> %s", api->name, api->version, api->context,
           api->version, api->production_url);
  gsim_rest_set_location(req, APIS_PATH, "/", id);
  gsim_send_json(req, 201, def);
}

static void apis_list(gsim *sim, struct evhttp_request *req) {
  json_t *list = json_array();
  for (size_t i = 0; i < sim->api_count; i++)
    json_array_append(list, sim->apis[i]->definition);
  json_int_t n = (json_int_t)sim->api_count;
  gsim_send_json(req, 200,
                 json_pack("{s:I, s:o, s:{s:i, s:I, s:I, s:s, s:s}}", "count", n, "list", list,
                           "pagination", "offset", 0, "limit", n, "total", n, "next", "",
                           "previous", ""));
}

static void apis_delete(gsim *sim, struct evhttp_request *req, const char *id) {
  gsim_store_status st = gsim_store_api_delete(sim->store, id);
  if (st == GSIM_STORE_NOT_FOUND) {
    not_found(req, "API", id);
    return;
  }
  if (st != GSIM_STORE_OK) {
    internal_error(sim, req, "deleting the API");
    return;
  }
  /* the API is gone: its client certificates and subscriptions go with it */
  if (gsim_client_certs_drop_api(sim, id) != 0 || gsim_oauth_drop_api(sim, id) != 0)
    gsim_log(sim, "ERROR",
             "api %s deleted, but its client certificates or subscriptions "
             "could not be dropped: %s",
             id, gsim_store_error(sim->store));
  for (size_t i = 0; i < sim->api_count; i++) {
    if (strcmp(sim->apis[i]->id, id) == 0) {
      gsim_log(sim, "INFO", "api %s:%s deleted", sim->apis[i]->name, sim->apis[i]->version);
      gsim_api_free(sim->apis[i]);
      for (size_t j = i; j + 1 < sim->api_count; j++)
        sim->apis[j] = sim->apis[j + 1];
      sim->api_count--;
      break;
    }
  }
  evhttp_send_reply(req, 200, "OK", NULL);
}

static void apis_route(gsim *sim, struct evhttp_request *req, const char *rest) {
  enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
  if (*rest == '\0' || strcmp(rest, "/") == 0) {
    if (cmd == EVHTTP_REQ_POST)
      apis_create(sim, req);
    else if (cmd == EVHTTP_REQ_GET)
      apis_list(sim, req);
    else
      gsim_rest_method_not_allowed(req, "GET, POST");
    return;
  }
  const char *sub = *rest == '/' ? strchr(rest + 1, '/') : NULL;
  if (sub && strncmp(sub, "/client-cert", strlen("/client-cert")) == 0) {
    const cert_api *api_paths = cert_api_of(sim);
    if (api_paths != &CERT_APIS[GSIM_REST_V4]) { /* rule rest.publisher-v0.14 */
      gsim_rest_error(req, 404, "Not Found", api_paths->elsewhere);
      return;
    }
    char api_id[GSIM_API_ID_MAX];
    gsim_api *api =
        gsim_path_segment(rest + 1, (size_t)(sub - rest - 1), api_id, sizeof(api_id)) == 0
            ? gsim_api_find_id(sim, api_id)
            : NULL;
    if (api)
      gsim_client_certs_route(sim, req, api, sub);
    else
      not_found(req, "API", "");
    return;
  }
  char id[GSIM_API_ID_MAX];
  if (*rest != '/' || strchr(rest + 1, '/') ||
      gsim_path_segment(rest + 1, strlen(rest + 1), id, sizeof(id)) != 0) {
    gsim_rest_no_resource(req);
    return;
  }
  if (cmd == EVHTTP_REQ_GET) {
    gsim_api *api = gsim_api_find_id(sim, id);
    if (api)
      gsim_send_json(req, 200, json_incref(api->definition));
    else
      not_found(req, "API", id);
  } else if (cmd == EVHTTP_REQ_DELETE)
    apis_delete(sim, req, id);
  else
    gsim_rest_method_not_allowed(req, "GET, DELETE");
}

/* ---- dispatch --------------------------------------------------------------- */

void gsim_admin_request(struct evhttp_request *req, void *arg) {
  gsim *sim = arg;
  sim->stats.admin_requests++;
  gsim_reload_check(sim);
  if (!authorized(sim, req)) {
    evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                      "Basic realm=\"gatecert-sim\"");
    gsim_rest_error(req, 401, "Unauthenticated",
                    "Authentication failed: valid admin credentials are required");
    return;
  }
  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
  const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
  if (!path) {
    gsim_rest_bad_request(req, "The request URI could not be parsed");
    return;
  }
  const cert_api *certs = cert_api_of(sim); /* rule rest-paths */
  int v014 = certs == &CERT_APIS[GSIM_REST_V014];
  if (strncmp(path, certs->certs, strlen(certs->certs)) == 0)
    certs_route(sim, req, certs, path + strlen(certs->certs));
  else if (v014 && gsim_rest_under(path, CLIENT_CERTS_V014))
    gsim_client_certs_route_v014(sim, req, path + strlen(CLIENT_CERTS_V014));
  else if (gsim_rest_under(path, CERT_APIS[v014 ? GSIM_REST_V4 : GSIM_REST_V014].certs) ||
           (!v014 && gsim_rest_under(path, CLIENT_CERTS_V014)))
    gsim_rest_error(req, 404, "Not Found", certs->elsewhere);
  else if (strncmp(path, APIS_PATH, strlen(APIS_PATH)) == 0)
    apis_route(sim, req, path + strlen(APIS_PATH));
  else if (strncmp(path, SIM_PREFIX, strlen(SIM_PREFIX)) == 0)
    gsim_control_request(sim, req, path + strlen(SIM_PREFIX));
  else if (gsim_oauth_admin(sim, req, path) || gsim_sap_admin(sim, req, path))
    return;
  else
    gsim_rest_no_resource(req);
}
