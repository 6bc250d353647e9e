/* admin_certs.c - the admin API's endpoint certificates (WSO2 Publisher shapes).
 *
 * Endpoint certificates live where the profile's rest-paths row says
 * (rules.h GSIM_RF_REST_PATHS; the table CERT_APIS below holds the paths and
 * texts of each variant):
 *
 *   rest.publisher-v4 (wso2-4)             /api/am/publisher/v4/endpoint-certificates
 *   rest.publisher-v0.14 (wso2-2.6)        /api/am/publisher/v0.14/certificates
 *   rest.sap-odata (sap-2023, sap-2026)    none: 404 naming the OData service (admin_odata.c);
 *                                          client certificates keep the v4 paths
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
 * Client certificates are admin_clientcerts.c's: under
 * /apis/{id}/client-cert... for v4 (routed by admin_apis.c),
 * /api/am/publisher/v0.14/clientCertificates for v0.14 (routed from here).
 * The other version's certificate paths answer 404 naming the rule; APIs,
 * key managers, applications and subscriptions keep their v4 paths under
 * every profile.
 *
 * admin.c authenticates and routes here (gsim_admin_certs). A change is
 * written to the store (one transaction) before it is acknowledged, then
 * marks the sender trust changed (gsim_trust_changed); a failed write answers
 * 500 and changes nothing.
 *
 * Profile rules for endpoint certificates (rows upload.* of rules.c):
 *   wso2: alias taken -> 409; PEM or DER only, anything else (PKCS#7, JKS,
 *         garbage) -> 500 "Internal server error", as WSO2's
 *         CertificateFactory path answers; expired -> 400; not yet valid ->
 *         accepted; a second certificate for an endpoint -> accepted.
 *   sap:  a name that exists is overwritten (200 instead of 201); PEM, DER,
 *         PKCS#7 and JKS (its first certificate) accepted; unreadable input ->
 *         400 naming what was wrong; expired -> 400.
 * A delete frees the alias (rule upload.deleted-alias-free) unless the quirk
 * deleted-alias-taken (rule upload.deleted-alias-taken, api-manager #1397)
 * swaps the row: then the delete also writes a REMOVED_KIND object for the
 * alias, and an upload under it answers the row's 409 as if it were taken.
 * Uploads and deletes take effect for backend calls at the next sender tick
 * (reload.c).
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "admin.h"
#include "sim.h"

#define PUBLISHER         "/api/am/publisher/v4"
#define PUBLISHER_V014    "/api/am/publisher/v0.14"
#define CLIENT_CERTS_V014 PUBLISHER_V014 "/clientCertificates"
#define EXPIRED_ADD       "Error while adding the certificate. Certificate Expired."
#define EXPIRED_PUT       "Error while updating the certificate. Certificate Expired."
#define NO_FILE           "Certificate update failed. Proper Certificate file should be provided"
#define REMOVED_KIND      "removed_endpoint_cert" /* a deleted alias kept (deleted-alias-taken) */

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
  gsim_admin_internal(sim, req, "admin", what);
}

static void cert_not_found(struct evhttp_request *req, alias_text text, const char *alias) {
  gsim_rest_not_found(req, "%s%s%s", text.before, alias, text.after);
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

/* The routes' context: the simulator and the version's paths. */
typedef struct certs_ctx {
  gsim *sim;
  const cert_api *api;
} certs_ctx;

static void certs_add(void *ctx, struct evhttp_request *req) {
  const certs_ctx *c = ctx;
  gsim *sim = c->sim;
  const cert_api *api = c->api;
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
  const gsim_rule *reuse = gsim_rule_of(sim->opt, GSIM_RF_ALIAS_REUSE);
  int removed = 0; /* rule upload.deleted-alias-taken: a deleted alias still counts */
  if (found == GSIM_STORE_NOT_FOUND && reuse->variant == GSIM_REUSE_REMOVED_COUNTS) {
    gsim_object_row gone;
    memset(&gone, 0, sizeof(gone));
    gsim_store_status st = gsim_store_object_get(sim->store, REMOVED_KIND, row.alias, &gone);
    gsim_object_row_clear(&gone);
    if (st == GSIM_STORE_ERROR) {
      internal_error(sim, req, "reading the store");
      return;
    }
    removed = st == GSIM_STORE_OK;
  }
  if ((found == GSIM_STORE_OK && refuse_taken) || removed) {
    char text[GSIM_ALIAS_MAX + 64];
    snprintf(text, sizeof(text), "The alias '%s' already exists in the trust store.", row.alias);
    if (removed)
      gsim_log(sim, "WARN",
               "endpoint certificate alias '%s' was deleted but still counts (rule %s)", row.alias,
               reuse->id);
    gsim_rest_error(req, removed ? reuse->status : 409, "Resource Already Exists", text);
    return;
  }
  X509 *cert = gsim_admin_upload_cert(sim, req, file, "certificate");
  if (!cert)
    return;
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

static void certs_replace(void *ctx, struct evhttp_request *req, const char *alias) {
  const certs_ctx *c = ctx;
  gsim *sim = c->sim;
  const cert_api *api = c->api;
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
  X509 *cert = gsim_admin_upload_cert(sim, req, file, "certificate");
  if (!cert) {
    gsim_cert_row_clear(&existing);
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

static void certs_delete(void *ctx, struct evhttp_request *req, const char *alias) {
  const certs_ctx *c = ctx;
  gsim *sim = c->sim;
  const cert_api *api = c->api;
  gsim_store_status st = gsim_store_cert_delete(sim->store, alias);
  if (st == GSIM_STORE_NOT_FOUND) {
    cert_not_found(req, api->delete_missing, alias);
    return;
  }
  if (st == GSIM_STORE_OK &&
      gsim_rule_of(sim->opt, GSIM_RF_ALIAS_REUSE)->variant == GSIM_REUSE_REMOVED_COUNTS) {
    /* rule upload.deleted-alias-taken: the delete is remembered, as a removed row */
    static char removed_json[] = "{\"removed\":true}";
    gsim_object_row gone = {.json = removed_json};
    snprintf(gone.kind, sizeof(gone.kind), "%s", REMOVED_KIND);
    snprintf(gone.key, sizeof(gone.key), "%s", alias);
    gone.created_ms = gone.updated_ms = gsim_now_ms();
    st = gsim_store_object_upsert(sim->store, &gone, NULL);
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

static void certs_list(void *ctx, struct evhttp_request *req) {
  gsim *sim = ((const certs_ctx *)ctx)->sim;
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

static void certs_get(void *ctx, struct evhttp_request *req, const char *alias, int content) {
  const certs_ctx *c = ctx;
  gsim *sim = c->sim;
  const cert_api *api = c->api;
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
  static const gsim_rest_alias_routes routes = {certs_add, certs_list, certs_get, certs_replace,
                                                certs_delete};
  certs_ctx ctx = {sim, api};
  gsim_rest_alias_collection(req, rest, &routes, &ctx);
}

/* ---- dispatch --------------------------------------------------------------- */

const char *gsim_admin_certs_elsewhere(const gsim *sim) {
  const cert_api *api_paths = cert_api_of(sim);
  return api_paths == &CERT_APIS[GSIM_REST_V4] ? NULL : api_paths->elsewhere;
}

int gsim_admin_certs(gsim *sim, struct evhttp_request *req, const char *path) {
  if (gsim_rule_of(sim->opt, GSIM_RF_REST_PATHS)->variant == GSIM_REST_SAP_ODATA) {
    /* rest.sap-odata: a backend certificate goes into a trust store of the OData service */
    if (gsim_rest_under(path, CLIENT_CERTS_V014))
      gsim_rest_error(req, 404, "Not Found",
                      "No such resource: client certificates are under " PUBLISHER
                      "/apis/{apiId}/client-certificates in this version (rule "
                      "rest.publisher-v4); backend certificates are in the OData service's trust "
                      "stores (rule rest.sap-odata)");
    else if (!gsim_rest_under(path, CERT_APIS[GSIM_REST_V4].certs) &&
             !gsim_rest_under(path, CERT_APIS[GSIM_REST_V014].certs))
      return 0;
    else
      gsim_rest_error(req, 404, "Not Found",
                      "No such resource: under the sap profiles backend certificates go into a "
                      "trust store used by an API provider, through the OData service at "
                      "/apiportal/api/1.0/Management.svc/ (rule rest.sap-odata)");
    return 1;
  }
  const cert_api *certs = cert_api_of(sim); /* rule rest-paths */
  int v014 = certs == &CERT_APIS[GSIM_REST_V014];
  if (strncmp(path, certs->certs, strlen(certs->certs)) == 0)
    certs_route(sim, req, certs, path + strlen(certs->certs));
  else if (v014 && gsim_rest_under(path, CLIENT_CERTS_V014))
    gsim_admin_client_certs_v014(sim, req, path + strlen(CLIENT_CERTS_V014));
  else if (gsim_rest_under(path, CERT_APIS[v014 ? GSIM_REST_V4 : GSIM_REST_V014].certs) ||
           (!v014 && gsim_rest_under(path, CLIENT_CERTS_V014)))
    gsim_rest_error(req, 404, "Not Found", certs->elsewhere);
  else
    return 0;
  return 1;
}
