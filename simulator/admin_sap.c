/* admin_sap.c - the sap profile's admin API: its trust stores, key stores
 * and API providers (the stores and their rules are sap.c's, sap.h):
 *
 *   GET    /sap/v1/truststores                              stores and their sizes
 *   POST   /sap/v1/truststores/{store}/certificates         multipart name, file (PEM)
 *   GET    /sap/v1/truststores/{store}/certificates[/{name}]
 *   DELETE /sap/v1/truststores/{store}/certificates/{name}
 *   GET    /sap/v1/keystores                                the same for key stores
 *   POST   /sap/v1/keystores/{store}/certificates           multipart name, file, password
 *   GET    /sap/v1/keystores/{store}/certificates[/{name}]  (never the key)
 *   DELETE /sap/v1/keystores/{store}/certificates/{name}
 *   POST   /sap/v1/api-providers                            JSON {name, host, port,
 *                                                           trustStore, keyStore, keyAlias}
 *   GET    /sap/v1/api-providers[/{name}], DELETE /sap/v1/api-providers/{name}
 *
 * Only under --profile sap; under wso2 gsim_admin_sap() answers nothing and
 * admin.c says 404. This file parses the path, the form or the JSON body and
 * answers; what an upload may hold, what a provider may name and the writes
 * are sap.c's. Every refusal is a 400 with a specific description (counted)
 * and changes nothing; a failed store answers 500.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/crypto.h>

#include "admin.h"
#include "gcert.h"
#include "sap.h"
#include "sim.h"

#define SAP_PREFIX "/sap/v1/"

/* ---- small helpers ------------------------------------------------------- */

static void bad_request(gsim *sim, struct evhttp_request *req, const char *description) {
  gsim_sap_count_refusal(sim);
  gsim_rest_error(req, 400, "Bad Request", description);
}

static void internal_error(gsim *sim, struct evhttp_request *req, const char *what) {
  gsim_admin_internal(sim, req, "sap", what);
}

static void not_found(struct evhttp_request *req, const char *what, const char *name) {
  gsim_rest_not_found(req, "%s '%s' not found", what, name);
}

/* {"count", "list"}: a list (stolen) without pages. */
static void list_reply(struct evhttp_request *req, json_t *list) {
  gsim_send_json(req, 200,
                 json_pack("{s:I, s:o}", "count", (json_int_t)json_array_size(list), "list", list));
}

/* ---- stores ------------------------------------------------------------------ */

/* What a route's handler gets: the simulator and what the path named. */
typedef struct sap_call {
  gsim *sim;
  gsim_sap_kind k;
  const char *store, *name, *key;
} sap_call;

static void entries_add(void *ctx, struct evhttp_request *req) {
  const sap_call *c = ctx;
  gsim *sim = c->sim;
  gsim_sap_kind k = c->k;
  const char *store = c->store;
  gsim_mp_form form;
  if (gsim_read_form(req, &form) != 0)
    return;
  char name[GSIM_SAP_NAME_MAX], password[GSIM_PASSWORD_MAX], description[400];
  int name_ok = gsim_form_text(&form, "name", name, sizeof(name));
  if (name_ok <= 0) {
    bad_request(sim, req,
                name_ok < 0 ? "The name must be printable UTF-8 of 1 to 255 bytes"
                            : "The name should not be empty");
    return;
  }
  if (gsim_sap_check_name(name, 1, description, sizeof(description)) != 0) {
    bad_request(sim, req, description);
    return;
  }
  int pw_ok = k == GSIM_SAP_KEY ? gsim_form_text(&form, "password", password, sizeof(password)) : 0;
  if (pw_ok < 0) {
    bad_request(sim, req, "The password must be printable of at most 255 bytes");
    return;
  }
  const gsim_mp_part *file = gsim_mp_find(&form, "file");
  if (!file || file->len == 0) {
    bad_request(sim, req, "A certificate file should be provided (form field 'file')");
    OPENSSL_cleanse(password, sizeof(password));
    return;
  }
  if (file->len > GCERT_MAX_INPUT) {
    snprintf(description, sizeof(description), "The file is %zu bytes; the limit is %zu", file->len,
             (size_t)GCERT_MAX_INPUT);
    bad_request(sim, req, description);
    OPENSSL_cleanse(password, sizeof(password));
    return;
  }
  char key[GSIM_OBJECT_KEY_MAX];
  if (gsim_sap_entry_key(key, store, name) != 0) {
    bad_request(sim, req, "The store and name are too long");
    OPENSSL_cleanse(password, sizeof(password));
    return;
  }
  json_t *reply = NULL;
  int replaced = 0;
  gsim_sap_status st =
      gsim_sap_entry_put(sim, k, store, name, key, file, pw_ok > 0 ? password : NULL, &reply,
                         &replaced, description, sizeof(description));
  OPENSSL_cleanse(password, sizeof(password));
  if (st == GSIM_SAP_REFUSED)
    bad_request(sim, req, description);
  else if (st != GSIM_SAP_OK)
    internal_error(sim, req, "storing the certificate");
  else if (!reply)
    internal_error(sim, req, "reading the certificate back");
  else
    gsim_send_json(req, replaced ? 200 : 201, reply);
}

static void entries_list(void *ctx, struct evhttp_request *req) {
  const sap_call *c = ctx;
  json_t *list = NULL;
  if (gsim_sap_entries(c->sim, c->k, c->store, &list) != GSIM_SAP_OK) {
    internal_error(c->sim, req, "listing certificates");
    return;
  }
  gsim_send_json(req, 200,
                 json_pack("{s:s, s:I, s:o}", "store", c->store, "count",
                           (json_int_t)json_array_size(list), "list", list));
}

static void entry_get(void *ctx, struct evhttp_request *req) {
  const sap_call *c = ctx;
  json_t *reply = NULL;
  gsim_sap_status st = gsim_sap_entry_get(c->sim, c->k, c->key, &reply);
  if (st == GSIM_SAP_NOT_FOUND)
    not_found(req, "Certificate", c->key);
  else if (st != GSIM_SAP_OK)
    internal_error(c->sim, req, "reading a certificate");
  else if (!reply)
    internal_error(c->sim, req, "describing a certificate");
  else
    gsim_send_json(req, 200, reply);
}

static void entry_delete(void *ctx, struct evhttp_request *req) {
  const sap_call *c = ctx;
  gsim_sap_status st = gsim_sap_entry_delete(c->sim, c->k, c->store, c->name, c->key);
  if (st == GSIM_SAP_NOT_FOUND)
    not_found(req, "Certificate", c->key);
  else if (st != GSIM_SAP_OK)
    internal_error(c->sim, req, "deleting a certificate");
  else
    gsim_send_json(req, 200, json_pack("{s:s, s:s}", "store", c->store, "name", c->name));
}

/* GET /sap/v1/truststores | keystores: every store with its entry count. */
static void stores_list(void *ctx, struct evhttp_request *req) {
  const sap_call *c = ctx;
  json_t *list = NULL;
  if (gsim_sap_stores(c->sim, c->k, &list) != GSIM_SAP_OK) {
    internal_error(c->sim, req, "listing stores");
    return;
  }
  list_reply(req, list);
}

/* rest: what follows "/sap/v1/truststores" or "/sap/v1/keystores". */
static void stores_route(gsim *sim, struct evhttp_request *req, gsim_sap_kind k, const char *rest) {
  sap_call call = {sim, k, NULL, NULL, NULL};
  if (gsim_rest_collection(req, rest, NULL, stores_list, &call))
    return;
  if (*rest != '/') {
    gsim_rest_no_resource(req);
    return;
  }
  rest++;
  const char *slash = strchr(rest, '/');
  char store[GSIM_SAP_STORE_MAX];
  if (!slash || gsim_path_segment(rest, (size_t)(slash - rest), store, sizeof(store)) != 0 ||
      !gsim_sap_valid_store(store)) {
    if (!slash)
      gsim_rest_no_resource(req);
    else
      bad_request(sim, req, "A store name is 1 to 128 characters of A-Z a-z 0-9 . _ -");
    return;
  }
  static const char certs[] = "/certificates";
  if (strncmp(slash, certs, strlen(certs)) != 0) {
    gsim_rest_no_resource(req);
    return;
  }
  const char *tail = slash + strlen(certs);
  call.store = store;
  if (gsim_rest_collection(req, tail, entries_add, entries_list, &call))
    return;
  char name[GSIM_SAP_NAME_MAX], key[GSIM_OBJECT_KEY_MAX];
  if (*tail != '/' || strchr(tail + 1, '/')) {
    gsim_rest_no_resource(req);
    return;
  }
  if (gsim_path_segment(tail + 1, strlen(tail + 1), name, sizeof(name)) != 0 ||
      gsim_sap_entry_key(key, store, name) != 0) {
    bad_request(sim, req, "The name in the path must be printable UTF-8 of 1 to 255 bytes");
    return;
  }
  call.name = name;
  call.key = key;
  gsim_rest_item(req, entry_get, entry_delete, &call);
}

/* ---- API providers ---------------------------------------------------------- */

static void providers_add(void *ctx, struct evhttp_request *req) {
  gsim *sim = ((const sap_call *)ctx)->sim;
  struct evbuffer *body = evhttp_request_get_input_buffer(req);
  size_t len = evbuffer_get_length(body);
  if (len == 0 || len > GSIM_MAX_PROVIDER_JSON) {
    bad_request(sim, req, len ? "The body is too large" : "A JSON body is required");
    return;
  }
  json_error_t jerr;
  json_t *in = json_loadb((const char *)evbuffer_pullup(body, (ev_ssize_t)len), len,
                          JSON_REJECT_DUPLICATES, &jerr);
  if (!in) {
    char text[300];
    snprintf(text, sizeof(text), "The body is not JSON: %s", jerr.text);
    bad_request(sim, req, text);
    return;
  }
  json_t *def = NULL;
  int status = 400;
  char description[400] = "";
  int rc = gsim_sap_provider_check(sim, in, &def, &status, description, sizeof(description));
  json_decref(in);
  if (rc != 0) {
    if (status == 500)
      internal_error(sim, req, "checking a provider");
    else if (status == 409)
      gsim_rest_error(req, 409, "Conflict", description);
    else
      bad_request(sim, req, description);
    return;
  }
  int replaced = 0;
  if (gsim_sap_provider_put(sim, def, &replaced) != GSIM_SAP_OK) {
    json_decref(def);
    internal_error(sim, req, "storing a provider");
    return;
  }
  gsim_send_json(req, replaced ? 200 : 201, def);
}

static void providers_list(void *ctx, struct evhttp_request *req) {
  gsim *sim = ((const sap_call *)ctx)->sim;
  json_t *list = NULL;
  if (gsim_sap_providers(sim, &list) != GSIM_SAP_OK) {
    internal_error(sim, req, "listing providers");
    return;
  }
  list_reply(req, list);
}

static void provider_get(void *ctx, struct evhttp_request *req) {
  const sap_call *c = ctx;
  json_t *def = NULL;
  gsim_sap_status st = gsim_sap_provider_get(c->sim, c->name, &def);
  if (st == GSIM_SAP_NOT_FOUND)
    not_found(req, "API provider", c->name);
  else if (st != GSIM_SAP_OK)
    internal_error(c->sim, req, "reading a provider");
  else
    gsim_send_json(req, 200, def);
}

static void provider_delete(void *ctx, struct evhttp_request *req) {
  const sap_call *c = ctx;
  gsim_sap_status st = gsim_sap_provider_delete(c->sim, c->name);
  if (st == GSIM_SAP_NOT_FOUND)
    not_found(req, "API provider", c->name);
  else if (st != GSIM_SAP_OK)
    internal_error(c->sim, req, "deleting a provider");
  else
    gsim_send_json(req, 200, json_pack("{s:s}", "name", c->name));
}

static void providers_route(gsim *sim, struct evhttp_request *req, const char *rest) {
  sap_call call = {sim, GSIM_SAP_TRUST, NULL, NULL, NULL};
  if (gsim_rest_collection(req, rest, providers_add, providers_list, &call))
    return;
  char name[GSIM_SAP_NAME_MAX];
  if (*rest != '/' || strchr(rest + 1, '/')) {
    gsim_rest_no_resource(req);
    return;
  }
  if (gsim_path_segment(rest + 1, strlen(rest + 1), name, sizeof(name)) != 0) {
    bad_request(sim, req, "The name in the path must be printable UTF-8 of 1 to 255 bytes");
    return;
  }
  call.name = name;
  gsim_rest_item(req, provider_get, provider_delete, &call);
}

/* ---- dispatch --------------------------------------------------------------- */

int gsim_admin_sap(gsim *sim, struct evhttp_request *req, const char *path) {
  if (sim->opt->profile != GSIM_PROFILE_SAP || !sim->sap ||
      strncmp(path, SAP_PREFIX, strlen(SAP_PREFIX)) != 0)
    return 0;
  const char *rest = path + strlen(SAP_PREFIX);
  static const char trust[] = "truststores", key[] = "keystores", providers[] = "api-providers";
  const char *after = NULL;
  if ((after = gsim_rest_under(rest, trust)) != NULL)
    stores_route(sim, req, GSIM_SAP_TRUST, after);
  else if ((after = gsim_rest_under(rest, key)) != NULL)
    stores_route(sim, req, GSIM_SAP_KEY, after);
  else if ((after = gsim_rest_under(rest, providers)) != NULL)
    providers_route(sim, req, after);
  else
    gsim_rest_no_resource(req);
  return 1;
}
