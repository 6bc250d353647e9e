/* admin_apis.c - the admin API's APIs (WSO2 Publisher v4 shapes).
 *
 *   POST   /api/am/publisher/v4/apis          create an API (live at once)
 *   GET    /api/am/publisher/v4/apis[/{id}]   list / one
 *   DELETE /api/am/publisher/v4/apis/{id}     with its client certificates
 *                                             and subscriptions
 *   .../apis/{id}/client-cert...              admin_clientcerts.c (v4 only)
 *   POST   .../apis/{id}/deploy-revision      a deployment: releases the client certificates a
 *                                             restart held (rule restart.client-certs-until-
 *                                             redeploy); no revisions are kept
 *
 * A create validates the definition (name, context, version, endpoints,
 * securityScheme by rule both-optional, operations), writes the store, then
 * routes the API at once. Endpoint URLs are parsed by libcurl's URL API
 * (CURLU) and refused with what is wrong (scheme, host, port, user
 * information, fragment, slashes, spaces): endpoint_problem(). Every profile
 * keeps these v4 paths.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "admin.h"
#include "clientauth.h"
#include "sim.h"

#define APIS_PATH  "/api/am/publisher/v4/apis"
#define SIM_PREFIX "/_sim/"

/* ---- small helpers ------------------------------------------------------- */

static void internal_error(gsim *sim, struct evhttp_request *req, const char *what) {
  gsim_admin_internal(sim, req, "admin", what);
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

/* Why an endpoint URL is refused (into why), or NULL when it is good: an
 * http(s) URL with a host and an optional port 1..65535, nothing else.
 * libcurl's URL API (CURLU) parses it; what curl accepts but no backend URL
 * should hold is refused on top: an empty port ("host:", which curl drops),
 * port 0, user information (credentials would sit in the store and the
 * logs), a fragment (never sent to a backend; curl drops an empty one), a
 * number of slashes other than two after the scheme ("https:/host",
 * "http:///x", which curl repairs), spaces and control bytes. The URL itself
 * is not echoed: it may hold a password. */
static const char *endpoint_problem(const char *url, char *why, size_t why_len) {
  if (strlen(url) >= GSIM_URL_MAX) {
    snprintf(why, why_len, "is longer than %d bytes", GSIM_URL_MAX - 1);
    return why;
  }
  for (const unsigned char *p = (const unsigned char *)url; *p; p++)
    if (*p <= ' ' || *p == 0x7f) {
      snprintf(why, why_len, "holds a space or a control byte (at byte %zu)",
               (size_t)(p - (const unsigned char *)url));
      return why;
    }
  if (strchr(url, '#')) {
    snprintf(why, why_len, "holds a fragment (#...), which is never sent to a backend");
    return why;
  }
  CURLU *u = curl_url();
  if (!u) {
    snprintf(why, why_len, "cannot be checked: out of memory");
    return why;
  }
  char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *password = NULL;
  const char *problem = NULL;
  CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK) {
    snprintf(why, why_len, "is not a URL: %s", curl_url_strerror(rc));
    problem = why;
  } else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
             (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)) {
    snprintf(why, why_len, "has the scheme %s; http or https is expected", scheme ? scheme : "?");
    problem = why;
  } else if (strncasecmp(url + strlen(scheme), "://", 3) != 0 || url[strlen(scheme) + 3] == '/') {
    snprintf(why, why_len, "must have exactly two slashes after %s:", scheme);
    problem = why;
  } else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
             curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) {
    snprintf(why, why_len,
             "holds user information (user:password@); credentials do not belong "
             "in an endpoint URL");
    problem = why;
  } else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0') {
    snprintf(why, why_len, "has no host");
    problem = why;
  } else if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK) {
    if (strcmp(port, "0") == 0) {
      snprintf(why, why_len, "has port 0; a port is 1..65535");
      problem = why;
    }
  } else {
    /* no port: the authority (after "scheme://", up to the path, query or
     * end; user information was refused above) must not end in ':' */
    const char *authority = url + strlen(scheme) + 3;
    size_t len = strcspn(authority, "/?");
    if (len > 0 && authority[len - 1] == ':') {
      snprintf(why, why_len,
               "has an empty port (nothing after the ':'); give a port 1..65535 or "
               "no ':'");
      problem = why;
    }
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(user);
  curl_free(password);
  curl_url_cleanup(u);
  return problem;
}

/* Answers 400 for a bad endpoint URL of which (production_endpoints,
 * sandbox_endpoints) and returns 1; 0 when it is good. */
static int bad_endpoint(struct evhttp_request *req, const char *which, const char *url) {
  char problem[200], why[400];
  if (!endpoint_problem(url, problem, sizeof(problem)))
    return 0;
  snprintf(why, sizeof(why), "endpointConfig: %s.url %s", which, problem);
  gsim_rest_bad_request(req, why);
  return 1;
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
  if (!production) {
    gsim_rest_bad_request(req,
                          "endpointConfig: production_endpoints.url (and sandbox_endpoints.url if "
                          "given) must be http(s) URLs with a host");
    return NULL;
  }
  if (bad_endpoint(req, "production_endpoints", production) ||
      (sandbox && bad_endpoint(req, "sandbox_endpoints", sandbox)))
    return NULL;
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

/* What a route's handler gets: the simulator and the id in the path. */
typedef struct apis_call {
  gsim *sim;
  const char *id;
} apis_call;

static void apis_create(void *ctx, struct evhttp_request *req) {
  gsim *sim = ((const apis_call *)ctx)->sim;
  json_error_t jerr;
  size_t len = 0;
  json_t *in = gsim_rest_json_body(req, &len, &jerr);
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

static void apis_list(void *ctx, struct evhttp_request *req) {
  gsim *sim = ((const apis_call *)ctx)->sim;
  json_t *list = json_array();
  for (size_t i = 0; i < sim->api_count; i++)
    json_array_append(list, sim->apis[i]->definition);
  json_int_t n = (json_int_t)sim->api_count;
  gsim_send_json(req, 200,
                 json_pack("{s:I, s:o, s:{s:i, s:I, s:I, s:s, s:s}}", "count", n, "list", list,
                           "pagination", "offset", 0, "limit", n, "total", n, "next", "",
                           "previous", ""));
}

static void apis_get(void *ctx, struct evhttp_request *req) {
  const apis_call *c = ctx;
  gsim_api *api = gsim_api_find_id(c->sim, c->id);
  if (api)
    gsim_send_json(req, 200, json_incref(api->definition));
  else
    gsim_admin_id_not_found(req, "API", c->id);
}

static void apis_delete(void *ctx, struct evhttp_request *req) {
  gsim *sim = ((const apis_call *)ctx)->sim;
  const char *id = ((const apis_call *)ctx)->id;
  gsim_store_status st = gsim_store_api_delete(sim->store, id);
  if (st == GSIM_STORE_NOT_FOUND) {
    gsim_admin_id_not_found(req, "API", id);
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

/* ---- deploy-revision ----------------------------------------------------------- */

/* POST .../apis/{apiId}/deploy-revision[?revisionId=R], a JSON array of
 * APIRevisionDeploymentDTO ({"name", "vhost", "displayOnDevportal"}; carbon-apimgt
 * publisher-api.yaml v4, ApisApiServiceImpl.deployAPIRevision answers 201 with the list).
 * The simulator keeps no revisions: every API is live at once, so a
 * deployment changes only what a restart held back (rule
 * restart.client-certs-until-redeploy); any revisionId is accepted and
 * echoed [I]. An empty body is an empty list. */
static int deployment_valid(const json_t *d) {
  json_t *name = json_object_get(d, "name"), *vhost = json_object_get(d, "vhost");
  json_t *show = json_object_get(d, "displayOnDevportal");
  return json_is_object(d) && (!name || json_is_string(name)) &&
         (!vhost || json_is_string(vhost)) && (!show || json_is_boolean(show));
}

static void apis_deploy_revision(gsim *sim, struct evhttp_request *req, gsim_api *api) {
  if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
    gsim_rest_method_not_allowed(req, "POST");
    return;
  }
  struct evkeyvalq query;
  TAILQ_INIT(&query);
  const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
  if (q && evhttp_parse_query_str(q, &query) != 0) {
    gsim_rest_bad_request(req, "The query string could not be parsed");
    return;
  }
  const char *revision = evhttp_find_header(&query, "revisionId");
  size_t len = 0;
  json_error_t jerr;
  json_t *in = gsim_rest_json_body(req, &len, &jerr);
  const char *problem = NULL;
  if (!in && len > 0)
    problem = "The body is not JSON: a list of deployments is expected";
  else if (in && !json_is_array(in))
    problem = "The body must be a JSON array of deployments ({\"name\", \"vhost\", "
              "\"displayOnDevportal\"})";
  size_t i;
  json_t *d;
  json_array_foreach(in, i, d) {
    if (!problem && !deployment_valid(d))
      problem = "A deployment must be an object: name and vhost strings, displayOnDevportal a "
                "boolean";
  }
  if (problem) {
    json_decref(in);
    evhttp_clear_headers(&query);
    gsim_rest_bad_request(req, problem);
    return;
  }
  json_t *out = json_array();
  json_array_foreach(in, i, d) {
    json_t *name = json_object_get(d, "name"), *vhost = json_object_get(d, "vhost");
    json_t *show = json_object_get(d, "displayOnDevportal");
    json_array_append_new(out, json_pack("{s:o, s:s, s:s, s:b}", "revisionUuid",
                                         revision ? json_string(revision) : json_null(), "name",
                                         name ? json_string_value(name) : "Default", "vhost",
                                         vhost ? json_string_value(vhost) : "localhost",
                                         "displayOnDevportal", show ? json_is_true(show) : 1));
  }
  size_t released = gsim_client_certs_redeploy(sim, api->id);
  gsim_log(sim, "INFO",
           "api %s:%s deployed (revision %s, %zu deployment(s)); %zu held client "
           "certificate(s) queued",
           api->name, api->version, revision ? revision : "none", json_array_size(out), released);
  json_decref(in);
  evhttp_clear_headers(&query);
  gsim_send_json(req, 201, out);
}

static void apis_route(gsim *sim, struct evhttp_request *req, const char *rest) {
  apis_call call = {sim, NULL};
  if (gsim_rest_collection(req, rest, apis_create, apis_list, &call))
    return;
  const char *sub = *rest == '/' ? strchr(rest + 1, '/') : NULL;
  if (sub && strcmp(sub, "/deploy-revision") == 0) {
    char api_id[GSIM_API_ID_MAX];
    gsim_api *api =
        gsim_path_segment(rest + 1, (size_t)(sub - rest - 1), api_id, sizeof(api_id)) == 0
            ? gsim_api_find_id(sim, api_id)
            : NULL;
    if (api)
      apis_deploy_revision(sim, req, api);
    else
      gsim_admin_id_not_found(req, "API", "");
    return;
  }
  if (sub && strncmp(sub, "/client-cert", strlen("/client-cert")) == 0) {
    const char *elsewhere = gsim_admin_certs_elsewhere(sim);
    if (elsewhere) { /* rule rest.publisher-v0.14 */
      gsim_rest_error(req, 404, "Not Found", elsewhere);
      return;
    }
    char api_id[GSIM_API_ID_MAX];
    gsim_api *api =
        gsim_path_segment(rest + 1, (size_t)(sub - rest - 1), api_id, sizeof(api_id)) == 0
            ? gsim_api_find_id(sim, api_id)
            : NULL;
    if (api)
      gsim_admin_client_certs(sim, req, api, sub);
    else
      gsim_admin_id_not_found(req, "API", "");
    return;
  }
  char id[GSIM_API_ID_MAX];
  if (*rest != '/' || strchr(rest + 1, '/') ||
      gsim_path_segment(rest + 1, strlen(rest + 1), id, sizeof(id)) != 0) {
    gsim_rest_no_resource(req);
    return;
  }
  call.id = id;
  gsim_rest_item(req, apis_get, apis_delete, &call);
}

int gsim_admin_apis(gsim *sim, struct evhttp_request *req, const char *path) {
  if (strncmp(path, APIS_PATH, strlen(APIS_PATH)) != 0)
    return 0;
  apis_route(sim, req, path + strlen(APIS_PATH));
  return 1;
}
