/* admin_clientcerts.c - the admin API's client certificates of an API (WSO2
 * Publisher shapes); the certificates themselves are clientauth.c's
 * (clientauth.h: find, add, update, delete).
 *
 * Paths follow rule rest-paths: Publisher v4 (wso2-4, sap) names the API in
 * the path, /apis/{id}/client-certificates... and the newer
 * /apis/{id}/client-certs/{PRODUCTION|SANDBOX}... (admin_apis.c routes them
 * here); Publisher v0.14 (wso2-2.6, carbon-apimgt 6.4.73) has one
 * collection, /clientCertificates... (admin_certs.c routes it here), where a
 * POST names the API in its form's apiId, a list filters by the query's
 * apiId, and the alias alone names a certificate (PRODUCTION: 2.6 has no key
 * types; an alias is unique across the tenant's APIs by rule
 * client-alias.tenant). Both run the same handlers over one cc_route (the
 * API, the key type, the texts of the variant):
 *
 *   POST   <certs>                   multipart alias, certificate, tier (apiId on v0.14)
 *   GET    <certs>                   ?alias= (&apiId= on v0.14) &offset= &limit=
 *   GET    <certs>/{alias}[/content] its description / DER
 *   PUT    <certs>/{alias}           multipart certificate and/or tier
 *   DELETE <certs>/{alias}
 *
 * This file parses and answers; every write goes through clientauth.c,
 * which stores it before the map changes and the answer is sent. Where the
 * profiles differ, the rule rows decide (rules.h): where an alias must be
 * new (client-alias.*: within the API; across every API and endpoint
 * certificate; or that per key type), whether an unknown tier is refused
 * (client-tier.*), and the answers to a bad key type and an empty PUT;
 * WSO2's texts are the constants below.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "admin.h"
#include "clientauth.h"
#include "sim.h"

/* WSO2's texts (carbon-apimgt 6.4.73 ClientCertificatesApiServiceImpl and 9.x
 * ApisApiServiceImpl say the same), the same in every profile. */
#define EXPIRED_ADD "Error while adding the certificate to the API %s. Certificate Expired."
#define EXPIRED_PUT                                                                                \
  "Error while updating the client certificate for the alias %s Certificate Expired."
#define EMPTY_ALIAS "The alias and/ or apiId should not be empty"
#define NO_FILE     "Certificate addition failed. Proper Certificate file should be provided"
#define BAD_KEY     "The key type is invalid. It should be either PRODUCTION or SANDBOX"
#define NOT_FOUND   "Certificate for alias '%s' is not found."
#define NOT_UPDATED "Client Certificate is not updated for alias %s"
#define EMPTY_PUT   "The certificate and/ or tier should be provided"
#define DELETED     "The certificate for alias '%s' deleted successfully." /* 6.4.73 */
/* rule client-alias.*: the 409 text, by the row's variant */
#define TAKEN         "The alias '%s' already exists in the trust store."
#define TAKEN_BY_TYPE "The alias '%s' already exists in the trust store for %s key type."

/* The request as routed: the API, the key type and whether the path named it. */
typedef struct cc_route {
  gsim *sim;
  gsim_api *api;           /* NULL on v0.14 paths until the form, the query or the alias names it */
  char key_type[16];       /* PRODUCTION or SANDBOX */
  char key_type_given[16]; /* as the path spelled it: WSO2's 409 repeats it */
  int typed;               /* the /client-certs/{type} variant: replies carry keyType */
  char base[GSIM_API_ID_MAX + 96]; /* the collection's path, for Location */
  const char *location;            /* Location: base + this + the alias ("/" or "?alias=") */
  int deleted_text;                /* a delete answers 2.6's text (v0.14) */
} cc_route;

static void cc_internal(gsim *sim, struct evhttp_request *req, const char *what) {
  gsim_admin_internal(sim, req, "admin: client certificates", what);
}

static void cc_not_found(struct evhttp_request *req, const char *alias) {
  gsim_rest_not_found(req, NOT_FOUND, alias);
}

/* The tier field: absent -> "Unlimited". A name no throttling policy has is
 * refused or accepted by rule client-tier.* (WSO2 never validates it: the
 * security chain then logs the tier as unknown and does not throttle). 0, or
 * -1 after answering. */
static int read_tier(gsim *sim, struct evhttp_request *req, const gsim_mp_form *form, char out[64],
                     int *given) {
  int ok = gsim_form_text(form, "tier", out, 64);
  *given = ok == 1;
  if (ok < 0) {
    gsim_rest_bad_request(req, "The tier must be printable UTF-8 of at most 63 bytes");
    return -1;
  }
  if (ok == 0)
    snprintf(out, 64, "Unlimited");
  if (gsim_tier_find(sim->opt, out))
    return 0;
  const gsim_rule *rule = gsim_rule_of(sim->opt, GSIM_RF_CLIENT_TIER);
  if (rule->variant == GSIM_TIER_ACCEPTED) {
    gsim_log(sim, "WARN",
             "admin: client certificate tier \"%s\" is no throttling policy: accepted (rule %s), "
             "its calls will not be throttled",
             out, rule->id);
    return 0;
  }
  char why[128];
  snprintf(why, sizeof(why), "Invalid tier '%s': no throttling policy has that name", out);
  gsim_rest_error(req, rule->status, "Bad Request", why);
  return -1;
}

/* Whether alias may be added to r's API and key type, by rule client-alias.*:
 * unique in the API (any key type); across every API and every endpoint
 * certificate; or across every API per key type and every endpoint
 * certificate. 0 when free; else the status after answering it. */
static int alias_taken(gsim *sim, struct evhttp_request *req, const cc_route *r,
                       const char *alias) {
  const gsim_rule *rule = gsim_rule_of(sim->opt, GSIM_RF_CLIENT_ALIAS_SCOPE);
  const gsim_client_cert *clash = NULL;
  if (rule->variant == GSIM_ALIAS_PER_API)
    clash = gsim_client_cert_find(sim, r->api->id, NULL, alias);
  else if (rule->variant == GSIM_ALIAS_PER_TENANT)
    clash = gsim_client_cert_find(sim, NULL, NULL, alias);
  else if (rule->variant == GSIM_ALIAS_PER_TENANT_KEY_TYPE)
    clash = gsim_client_cert_find(sim, NULL, r->key_type, alias);
  int endpoint = 0;
  if (!clash && rule->variant != GSIM_ALIAS_PER_API) {
    gsim_cert_row row;
    memset(&row, 0, sizeof(row));
    gsim_store_status st = gsim_store_cert_get(sim->store, alias, &row);
    gsim_cert_row_clear(&row);
    if (st != GSIM_STORE_OK && st != GSIM_STORE_NOT_FOUND) {
      cc_internal(sim, req, "looking up endpoint certificate aliases");
      return 500;
    }
    endpoint = st == GSIM_STORE_OK;
  }
  if (!clash && !endpoint)
    return 0;
  if (clash)
    gsim_log(sim, "INFO",
             "admin: client certificate alias '%s' refused (rule %s): taken on api %s, %s", alias,
             rule->id, clash->api_id, clash->key_type);
  else
    gsim_log(
        sim, "INFO",
        "admin: client certificate alias '%s' refused (rule %s): an endpoint certificate's alias",
        alias, rule->id);
  char text[GSIM_ALIAS_MAX + 96];
  if (rule->variant == GSIM_ALIAS_PER_TENANT_KEY_TYPE)
    snprintf(text, sizeof(text), TAKEN_BY_TYPE, alias, r->key_type_given);
  else
    snprintf(text, sizeof(text), TAKEN, alias);
  gsim_rest_error(req, rule->status, "Resource Already Exists", text);
  return rule->status;
}

static json_t *meta(const cc_route *r, const gsim_client_cert *c) {
  json_t *m = json_pack("{s:s, s:s, s:s}", "alias", c->alias, "apiId", c->api_id, "tier", c->tier);
  if (r->typed)
    json_object_set_new(m, "keyType", json_string(c->key_type));
  return m;
}

/* A certificate file part: present, with a file name that is not blank
 * (WSO2 reads the Content-Disposition filename) and bytes. */
static const gsim_mp_part *file_part(const gsim_mp_form *form) {
  const gsim_mp_part *file = gsim_mp_find(form, "certificate");
  if (!file || !file->has_filename || file->len == 0)
    return NULL;
  for (const char *p = file->filename; *p; p++)
    if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
      return file;
  return NULL;
}

/* WSO2's order (addAPIClientCertificateOfGivenKeyType, CertificateManagerImpl;
 * 6.4.73 clientCertificatesPost): alias (and the form's apiId on v0.14),
 * file, the API, then the certificate (malformed, expired), then the alias
 * against the database. The tier comes before the file (rule client-tier.*). */
static void cc_add(void *ctx, struct evhttp_request *req) {
  cc_route *r = ctx;
  gsim *sim = r->sim;
  gsim_mp_form form;
  if (gsim_read_form(req, &form) != 0)
    return;
  char alias[GSIM_ALIAS_MAX], tier[64], api_id[GSIM_API_ID_MAX] = "";
  int alias_ok = gsim_form_text(&form, "alias", alias, sizeof(alias));
  int api_ok = r->api ? 1 : gsim_form_text(&form, "apiId", api_id, sizeof(api_id));
  if (alias_ok < 0) {
    gsim_rest_bad_request(req, "The alias must be printable UTF-8 of at most 255 bytes");
    return;
  }
  if (api_ok < 0) {
    gsim_rest_bad_request(req, "The apiId must be printable UTF-8 of at most 63 bytes");
    return;
  }
  if (alias_ok == 0 || api_ok == 0) {
    gsim_rest_bad_request(req, EMPTY_ALIAS);
    return;
  }
  const gsim_mp_part *file = file_part(&form);
  if (!file) {
    gsim_rest_bad_request(req, NO_FILE);
    return;
  }
  if (!r->api && !(r->api = gsim_api_find_id(sim, api_id))) { /* v0.14: the form's apiId */
    char text[GSIM_API_ID_MAX + 48];
    snprintf(text, sizeof(text), "Requested API with Id '%s' not found", api_id);
    gsim_rest_error(req, 404, "Not Found", text);
    return;
  }
  int tier_given = 0;
  if (read_tier(sim, req, &form, tier, &tier_given) != 0)
    return;
  X509 *cert = gsim_admin_upload_cert(sim, req, file, "client certificate");
  if (!cert)
    return;
  if (gsim_cert_expired(cert, gsim_now_ms())) {
    X509_free(cert);
    char description[GSIM_API_ID_MAX + 160];
    snprintf(description, sizeof(description), EXPIRED_ADD, r->api->id);
    gsim_rest_bad_request(req, description);
    return;
  }
  if (alias_taken(sim, req, r, alias) != 0) {
    X509_free(cert);
    return;
  }
  if (gsim_client_cert_count(sim) >= gsim_client_cert_limit(sim)) {
    X509_free(cert);
    char text[128];
    snprintf(
        text, sizeof(text),
        "The simulator holds at most %zu client certificates (gatecert-sim --max-client-certs)",
        gsim_client_cert_limit(sim));
    gsim_rest_bad_request(req, text);
    return;
  }
  gsim_client_cert *c = gsim_client_cert_new(sim->opt, r->api->id, alias, tier, r->key_type, cert);
  X509_free(cert);
  if (!c) {
    cc_internal(sim, req, "out of memory");
    return;
  }
  gsim_store_status st = gsim_client_cert_add(sim, c); /* c is taken */
  if (st != GSIM_STORE_OK) {
    if (st == GSIM_STORE_EXISTS) { /* the map missed a stored row: answer as WSO2 would */
      char text[GSIM_ALIAS_MAX + 64];
      snprintf(text, sizeof(text), TAKEN, alias);
      gsim_rest_error(req, 409, "Resource Already Exists", text);
    } else
      cc_internal(sim, req, "storing the certificate");
    return;
  }
  gsim_rest_set_location(req, r->base, r->location, c->alias);
  gsim_send_json(req, 201, meta(r, c));
}

/* The certificates of the route's API and key type; on v0.14 (no API in the
 * path) those of every API, or of the query's apiId. */
static void cc_list(void *ctx, struct evhttp_request *req) {
  const cc_route *r = ctx;
  gsim *sim = r->sim;
  struct evkeyvalq query;
  long offset = 0, limit = GSIM_LIST_DEFAULT;
  if (gsim_list_query(req, &query, &offset, &limit) != 0)
    return;
  const char *alias = evhttp_find_header(&query, "alias");
  alias = alias && *alias ? alias : NULL; /* as WSO2: an empty filter is no filter */
  const char *api_id = r->api ? r->api->id : evhttp_find_header(&query, "apiId");
  api_id = api_id && *api_id ? api_id : NULL;
  json_t *list = json_array();
  size_t total = 0;
  const gsim_client_cert *c;
  for (size_t i = 0; (c = gsim_client_cert_at(sim, i)) != NULL; i++) {
    if ((api_id && strcmp(c->api_id, api_id) != 0) || strcmp(c->key_type, r->key_type) != 0 ||
        (alias && strcmp(c->alias, alias) != 0))
      continue;
    if (total >= (size_t)offset && total < (size_t)offset + (size_t)limit)
      json_array_append_new(list, meta(r, c));
    total++;
  }
  evhttp_clear_headers(&query);
  gsim_send_json(req, 200, gsim_rest_page("certificates", list, offset, limit, total));
}

/* The certificate under alias in this API and key type, or NULL after 404.
 * On v0.14 (no API in the path) the alias alone names it, whatever its API
 * (the first one stored if a --break let two APIs share it), and r->api
 * becomes its API. */
static gsim_client_cert *cc_lookup(gsim *sim, struct evhttp_request *req, cc_route *r,
                                   const char *alias) {
  gsim_client_cert *c = gsim_client_cert_find(sim, r->api ? r->api->id : NULL, r->key_type, alias);
  if (!r->api)
    r->api = c ? gsim_api_find_id(sim, c->api_id) : NULL;
  if (!c || !r->api) {
    cc_not_found(req, alias);
    return NULL;
  }
  return c;
}

static void cc_get(void *ctx, struct evhttp_request *req, const char *alias, int content) {
  cc_route *r = ctx;
  gsim *sim = r->sim;
  gsim_client_cert *c = cc_lookup(sim, req, r, alias);
  if (!c)
    return;
  if (content) {
    unsigned char *der = NULL;
    int n = i2d_X509(c->cert, &der);
    if (n <= 0)
      cc_internal(sim, req, "encoding the certificate");
    else
      gsim_rest_send_der(req, alias, der, (size_t)n);
    OPENSSL_free(der);
    return;
  }
  json_t *reply = gsim_rest_cert_json(c->cert, gsim_now_ms());
  if (!reply) {
    cc_internal(sim, req, "describing a certificate");
    return;
  }
  char issuer[512], serial[128];
  gsim_x509_dn(X509_get_issuer_name(c->cert), issuer, sizeof(issuer));
  gsim_x509_serial(c->cert, serial, sizeof(serial));
  json_object_set_new(reply, "issuer", json_string(issuer));
  json_object_set_new(reply, "serialNumber", json_string(serial));
  json_object_set_new(reply, "tier", json_string(c->tier));
  json_object_set_new(reply, "keyType", json_string(c->key_type));
  json_object_set_new(reply, "uniqueId", json_string(c->unique_id));
  gsim_send_json(req, 200, reply);
}

static void cc_replace(void *ctx, struct evhttp_request *req, const char *alias) {
  cc_route *r = ctx;
  gsim *sim = r->sim;
  gsim_mp_form form;
  if (gsim_read_form(req, &form) != 0)
    return;
  /* WSO2 looks the alias up first, and reads a file part only when it has a
   * file name (updateAPIClientCertificateByKeyTypeAndAlias) */
  gsim_client_cert *c = cc_lookup(sim, req, r, alias);
  if (!c)
    return;
  const gsim_mp_part *file = file_part(&form);
  char tier[64];
  int tier_given = 0;
  const gsim_mp_part *tier_part = gsim_mp_find(&form, "tier");
  if (!file && (!tier_part || tier_part->len == 0)) {
    const gsim_rule *rule = gsim_rule_of(sim->opt, GSIM_RF_CLIENT_PUT_EMPTY);
    char text[GSIM_ALIAS_MAX + 64];
    if (rule->status >= 300) {
      gsim_rest_error(req, rule->status, "Bad Request", EMPTY_PUT);
      return;
    }
    snprintf(text, sizeof(text), NOT_UPDATED, alias); /* WSO2: 200 and a bare text */
    gsim_rest_send_text(req, rule->status, text);
    return;
  }
  if (read_tier(sim, req, &form, tier, &tier_given) != 0)
    return;
  X509 *cert = NULL;
  if (file) {
    cert = gsim_admin_upload_cert(sim, req, file, "client certificate");
    if (!cert)
      return;
    if (gsim_cert_expired(cert, gsim_now_ms())) {
      X509_free(cert);
      char text[GSIM_ALIAS_MAX + 96];
      snprintf(text, sizeof(text), EXPIRED_PUT, alias);
      gsim_rest_bad_request(req, text);
      return;
    }
  }
  gsim_store_status st = gsim_client_cert_update(sim, c, tier_given ? tier : c->tier, cert);
  X509_free(cert);
  if (st != GSIM_STORE_OK) {
    cc_internal(sim, req, "replacing the certificate");
    return;
  }
  gsim_send_json(req, 200, meta(r, c));
}

static void cc_delete(void *ctx, struct evhttp_request *req, const char *alias) {
  cc_route *r = ctx;
  gsim *sim = r->sim;
  gsim_client_cert *c = cc_lookup(sim, req, r, alias);
  if (!c)
    return;
  if (gsim_client_cert_delete(sim, c) != GSIM_STORE_OK) {
    cc_internal(sim, req, "deleting the certificate");
    return;
  }
  if (r->deleted_text) { /* 6.4.73's text (its application/json type is not imitated) */
    char text[GSIM_ALIAS_MAX + 64];
    snprintf(text, sizeof(text), DELETED, alias);
    gsim_rest_send_text(req, 200, text);
  } else
    evhttp_send_reply(req, 200, "OK", NULL);
}

/* The collection (after is "" or "/") or one alias (after is "/{alias}[/content]"). */
static void cc_dispatch(cc_route *r, struct evhttp_request *req, const char *after) {
  static const gsim_rest_alias_routes routes = {cc_add, cc_list, cc_get, cc_replace, cc_delete};
  gsim_rest_alias_collection(req, after, &routes, r);
}

void gsim_admin_client_certs(gsim *sim, struct evhttp_request *req, gsim_api *api,
                             const char *rest) {
  static const char older[] = "/client-certificates", newer[] = "/client-certs/";
  cc_route r;
  memset(&r, 0, sizeof(r));
  r.sim = sim;
  r.api = api;
  r.location = "/";
  const char *after = NULL;
  if (strncmp(rest, older, sizeof(older) - 1) == 0) {
    after = rest + sizeof(older) - 1;
    snprintf(r.key_type, sizeof(r.key_type), "PRODUCTION");
    snprintf(r.key_type_given, sizeof(r.key_type_given), "PRODUCTION");
    snprintf(r.base, sizeof(r.base), "/api/am/publisher/v4/apis/%s%s", api->id, older);
  } else if (strncmp(rest, newer, sizeof(newer) - 1) == 0) {
    const char *type = rest + sizeof(newer) - 1;
    size_t len = strcspn(type, "/");
    if (len == 10 && strncasecmp(type, "PRODUCTION", len) == 0)
      snprintf(r.key_type, sizeof(r.key_type), "PRODUCTION");
    else if (len == 7 && strncasecmp(type, "SANDBOX", len) == 0)
      snprintf(r.key_type, sizeof(r.key_type), "SANDBOX");
    else { /* rule client-key-type.400 */
      gsim_rest_error(req, gsim_rule_of(sim->opt, GSIM_RF_CLIENT_KEY_TYPE)->status, "Bad Request",
                      BAD_KEY);
      return;
    }
    memcpy(r.key_type_given, type, len); /* WSO2 repeats the path's spelling in its 409 */
    r.typed = 1;
    after = type + len;
    snprintf(r.base, sizeof(r.base), "/api/am/publisher/v4/apis/%s/client-certs/%s", api->id,
             r.key_type);
  }
  if (!after || (*after != '\0' && *after != '/')) {
    gsim_rest_no_resource(req);
    return;
  }
  cc_dispatch(&r, req, after);
}

void gsim_admin_client_certs_v014(gsim *sim, struct evhttp_request *req, const char *rest) {
  cc_route r;
  memset(&r, 0, sizeof(r));
  r.sim = sim;
  snprintf(r.key_type, sizeof(r.key_type), "PRODUCTION"); /* 2.6 has no key types */
  snprintf(r.key_type_given, sizeof(r.key_type_given), "PRODUCTION");
  snprintf(r.base, sizeof(r.base), "/api/am/publisher/v0.14/clientCertificates");
  r.location = "?alias="; /* RestApiConstants.CLIENT_CERTS_BASE_PATH + "?alias=" */
  r.deleted_text = 1;
  if (*rest != '\0' && *rest != '/') {
    gsim_rest_no_resource(req);
    return;
  }
  cc_dispatch(&r, req, rest);
}
