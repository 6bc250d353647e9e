/* admin_oauth.c - the admin API's OAuth2 objects (WSO2 4.x admin v4 and
 * devportal v3 shapes; JSON bodies of at most 64 KiB; errors as the
 * Publisher API's ErrorDTO):
 *
 *   POST   /api/am/admin/v4/key-managers                  {name, issuer, alg, certificates}
 *   GET    /api/am/admin/v4/key-managers[/{id}]           list / one
 *   DELETE /api/am/admin/v4/key-managers/{id}             (its key mappings go with it)
 *   POST   /api/am/devportal/v3/applications              {name, throttlingPolicy}
 *   GET    /api/am/devportal/v3/applications[/{id}]
 *   DELETE /api/am/devportal/v3/applications/{id}         (its key mappings and subscriptions too)
 *   POST   /api/am/devportal/v3/applications/{id}/map-keys   {consumerKey, keyType, keyManager}
 *   GET    /api/am/devportal/v3/applications/{id}/oauth-keys
 *   POST   /api/am/devportal/v3/subscriptions             {applicationId, apiId, throttlingPolicy}
 *   GET    /api/am/devportal/v3/subscriptions?apiId=&applicationId=   (one at least)
 *   GET    /api/am/devportal/v3/subscriptions/{id}
 *   DELETE /api/am/devportal/v3/subscriptions/{id}
 *
 * This file reads and checks the request (ids are UUIDs, names printable
 * ASCII, tiers known, conflicts 409 in WSO2's words) and answers; the
 * objects and their store are oauth.c's (oauth.h), which writes the store
 * before memory changes: a failed write answers 500 and changes nothing.
 * admin.c routes here (gsim_admin_oauth); without OAuth2 initialised every
 * path answers 503.
 */
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "admin.h"
#include "oauth.h"
#include "sim.h"
#include "token.h"

#define KM_PATH   "/api/am/admin/v4/key-managers"
#define APPS_PATH "/api/am/devportal/v3/applications"
#define SUBS_PATH "/api/am/devportal/v3/subscriptions"

/* What an admin route's handler gets: the simulator, the id in the path and
 * the item it names where the route looked it up (with its JSON). */
typedef struct oauth_call {
  gsim *sim;
  const char *id;
  void *item;
  json_t *json;
} oauth_call;

/* ---- small helpers ------------------------------------------------------------ */

static void internal_error(gsim *sim, struct evhttp_request *req, const char *what) {
  gsim_admin_internal(sim, req, "oauth", what);
}

/* 1 when s is a UUID in the simulator's spelling (lower-case hex). */
static int is_uuid(const char *s, size_t len) {
  if (len != GSIM_API_ID_MAX - 1)
    return 0;
  for (size_t i = 0; i < len; i++) {
    int dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  }
  return 1;
}

/* Text of printable ASCII (spaces allowed inside when spaces is set). */
static int printable_ascii(const char *s, int spaces) {
  if (!*s || *s == ' ')
    return 0;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c < 0x20 || c >= 0x7f || (c == ' ' && !spaces))
      return 0;
    if (c == ' ' && s[1] == '\0')
      return 0;
  }
  return 1;
}

/* ---- request bodies ------------------------------------------------------------------- */

/* The body as a JSON object (new reference), or NULL after answering. */
static json_t *read_body(struct evhttp_request *req) {
  if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) > GSIM_MAX_JSON_BODY) {
    gsim_rest_error(req, 413, "Payload Too Large", "The JSON body is over 64 KiB");
    return NULL;
  }
  json_error_t jerr;
  size_t len = 0;
  json_t *in = gsim_rest_json_body(req, &len, &jerr);
  if (!in) {
    char why[300];
    if (len)
      snprintf(why, sizeof(why), "The body is not JSON: %s (line %d, column %d)", jerr.text,
               jerr.line, jerr.column);
    else
      snprintf(why, sizeof(why), "The body is empty: a JSON object is expected");
    gsim_rest_bad_request(req, why);
    return NULL;
  }
  if (!json_is_object(in)) {
    json_decref(in);
    gsim_rest_bad_request(req, "The body must be a JSON object");
    return NULL;
  }
  return in;
}

/* A required string member checked by printable_ascii and its length (1 to
 * len - 1 bytes); NULL after answering 400 with rule. */
static const char *text_field(struct evhttp_request *req, json_t *in, const char *name, size_t len,
                              int spaces) {
  const char *v = json_string_value(json_object_get(in, name));
  if (!v || strlen(v) >= len || !printable_ascii(v, spaces)) {
    char why[200];
    snprintf(why, sizeof(why), "%s: a string of 1 to %zu printable ASCII characters%s is required",
             name, len - 1, spaces ? "" : " without spaces");
    gsim_rest_bad_request(req, why);
    return NULL;
  }
  return v;
}

/* throttlingPolicy: a tier the gateway knows; NULL after answering 400. */
static const char *tier_field(gsim *sim, struct evhttp_request *req, json_t *in) {
  const char *tier = json_string_value(json_object_get(in, "throttlingPolicy"));
  if (!tier || strlen(tier) >= GSIM_TIER_MAX) {
    gsim_rest_bad_request(req, "throttlingPolicy: the name of a throttling tier is required");
    return NULL;
  }
  if (!gsim_tier_find(sim->opt, tier)) {
    char why[300], shown[GSIM_TIER_MAX];
    snprintf(why, sizeof(why),
             "throttlingPolicy: '%s' is not a known tier (built in: Unlimited, Gold, Silver, "
             "Bronze, Unauthenticated, 10PerMin, 20PerMin, 50PerMin; more in the config)",
             gsim_loggable(tier, shown, sizeof(shown)));
    gsim_rest_bad_request(req, why);
    return NULL;
  }
  return tier;
}

/* A path's "/{uuid}" segment at rest into id, with *after what follows it;
 * -1 when rest is not that shape. */
static int id_segment(const char *rest, char id[GSIM_API_ID_MAX], const char **after) {
  if (*rest != '/')
    return -1;
  rest++;
  const char *end = strchr(rest, '/');
  size_t len = end ? (size_t)(end - rest) : strlen(rest);
  if (!is_uuid(rest, len))
    return -1;
  memcpy(id, rest, len);
  id[len] = '\0';
  *after = rest + len;
  return 0;
}

/* All of list (stolen) as one page. */
static json_t *list_reply(json_t *list) {
  size_t n = json_array_size(list);
  return gsim_rest_page("list", list, 0, (long)n, n);
}

/* How an add of a kind answers: 400 naming items when the simulator holds
 * max of them, 500 logged as storing what, else the new item's JSON: 201
 * with its Location under prefix, or 200 where prefix is NULL. */
typedef struct add_answer {
  const char *items, *what, *prefix;
  int max;
} add_answer;

static const add_answer KM_ADD = {"key managers", "the key manager", KM_PATH, GSIM_MAX_KMS};
static const add_answer APP_ADD = {"applications", "the application", APPS_PATH, GSIM_MAX_APPS};
static const add_answer MAPPING_ADD = {"key mappings", "the key mapping", NULL, GSIM_MAX_MAPPINGS};
static const add_answer SUB_ADD = {"subscriptions", "the subscription", SUBS_PATH, GSIM_MAX_SUBS};

static void add_reply(gsim *sim, struct evhttp_request *req, gsim_oauth_change done,
                      const add_answer *a, const char *id, json_t *json) {
  char text[128];
  if (done == GSIM_OAUTH_FULL) {
    snprintf(text, sizeof(text), "The simulator holds at most %d %s", a->max, a->items);
    gsim_rest_bad_request(req, text);
  } else if (done != GSIM_OAUTH_CHANGED) {
    snprintf(text, sizeof(text), "storing %s", a->what);
    internal_error(sim, req, text);
  } else {
    if (a->prefix)
      gsim_rest_set_location(req, a->prefix, "/", id);
    gsim_send_json(req, a->prefix ? 201 : 200, json_incref(json));
  }
}

/* ---- key managers ---------------------------------------------------------------------- */

static void km_create(void *ctx, struct evhttp_request *req) {
  gsim *sim = ctx;
  struct gsim_oauth *o = sim->oauth;
  json_t *in = read_body(req);
  if (!in)
    return;
  char why[300];
  const char *name = text_field(req, in, "name", GSIM_KM_NAME_MAX, 1);
  const char *issuer = name ? text_field(req, in, "issuer", GSIM_ISSUER_MAX, 0) : NULL;
  if (!issuer) {
    json_decref(in);
    return;
  }
  json_t *alg_v = json_object_get(in, "alg");
  gjwt_alg alg = GJWT_RS256;
  if (alg_v && gjwt_alg_parse(json_string_value(alg_v), &alg) != 0) {
    json_decref(in);
    gsim_rest_bad_request(req, "alg: RS256 or ES256 (the default is RS256)");
    return;
  }
  json_t *certs = json_object_get(in, "certificates");
  const char *type = json_string_value(json_object_get(certs, "type"));
  const char *value = json_string_value(json_object_get(certs, "value"));
  if (!json_is_object(certs) || !type || !value) {
    json_decref(in);
    gsim_rest_bad_request(req, "certificates: {\"type\": \"PEM\", \"value\": \"<PEM public key or "
                               "certificate>\"} is required");
    return;
  }
  if (strcmp(type, "PEM") != 0) {
    json_decref(in);
    gsim_rest_bad_request(req,
                          "certificates.type: only PEM is supported by gatecert-sim (not JWKS)");
    return;
  }
  if (strlen(value) > GSIM_MAX_PEM) {
    json_decref(in);
    gsim_rest_bad_request(req, "certificates.value: at most 32 KiB");
    return;
  }
  EVP_PKEY *key = gsim_oauth_public_key(value, alg, why, sizeof(why));
  if (!key) {
    json_decref(in);
    gsim_rest_bad_request(req, why);
    return;
  }
  char shown[120];
  if (gsim_oauth_km_by_name(o, name) || gsim_oauth_km_by_issuer(o, issuer)) {
    int by_name = gsim_oauth_km_by_name(o, name) != NULL;
    snprintf(why, sizeof(why), "A key manager with the %s '%s' already exists",
             by_name ? "name" : "issuer",
             gsim_loggable(by_name ? name : issuer, shown, sizeof(shown)));
    gsim_rest_error(req, 409, "Conflict", why);
  } else {
    const gsim_oauth_km *km = NULL;
    gsim_oauth_change done = gsim_oauth_km_add(sim, name, issuer, alg, value, key, &km);
    if (done == GSIM_OAUTH_CHANGED)
      key = NULL; /* the key manager's now */
    add_reply(sim, req, done, &KM_ADD, km ? km->id : NULL, km ? km->json : NULL);
  }
  EVP_PKEY_free(key);
  json_decref(in);
}

static void km_delete(void *ctx, struct evhttp_request *req) {
  gsim *sim = ((const oauth_call *)ctx)->sim;
  const char *id = ((const oauth_call *)ctx)->id;
  struct gsim_oauth *o = sim->oauth;
  gsim_oauth_km *km = gsim_oauth_km_by_id(o, id);
  if (!km) {
    gsim_admin_id_not_found(req, "key manager", id);
    return;
  }
  if (gsim_oauth_km_delete(sim, km) != 0) {
    internal_error(sim, req, "deleting the key manager");
    return;
  }
  evhttp_send_reply(req, 200, "OK", NULL);
}

static void km_list(void *ctx, struct evhttp_request *req) {
  json_t *kms = gsim_oauth_list(ctx, GSIM_OAUTH_KM, NULL, NULL);
  json_t *list = json_array();
  size_t i;
  json_t *k;
  json_array_foreach(kms, i, k) {
    json_array_append_new(
        list, json_pack("{s:O, s:O, s:O, s:O, s:O}", "id", json_object_get(k, "id"), "name",
                        json_object_get(k, "name"), "issuer", json_object_get(k, "issuer"), "alg",
                        json_object_get(k, "alg"), "enabled", json_object_get(k, "enabled")));
  }
  json_decref(kms);
  gsim_send_json(req, 200, list_reply(list));
}

static void km_get(void *ctx, struct evhttp_request *req) {
  const oauth_call *call = ctx;
  gsim_oauth_km *km = gsim_oauth_km_by_id(call->sim->oauth, call->id);
  if (km)
    gsim_send_json(req, 200, json_incref(km->json));
  else
    gsim_admin_id_not_found(req, "key manager", call->id);
}

static void km_route(gsim *sim, struct evhttp_request *req, const char *rest) {
  if (gsim_rest_collection(req, rest, km_create, km_list, sim))
    return;
  char id[GSIM_API_ID_MAX];
  const char *after = NULL;
  if (id_segment(rest, id, &after) != 0 || *after) {
    gsim_rest_no_resource(req);
    return;
  }
  oauth_call call = {sim, id, NULL, NULL};
  gsim_rest_item(req, km_get, km_delete, &call);
}

/* ---- applications ------------------------------------------------------------------------ */

static void app_create(void *ctx, struct evhttp_request *req) {
  gsim *sim = ctx;
  struct gsim_oauth *o = sim->oauth;
  json_t *in = read_body(req);
  if (!in)
    return;
  const char *name = text_field(req, in, "name", GSIM_KM_NAME_MAX, 1);
  const char *tier = name ? tier_field(sim, req, in) : NULL;
  char why[300], shown[GSIM_KM_NAME_MAX + 8];
  if (!tier) {
    /* answered */
  } else if (gsim_oauth_app_by_name(o, name)) {
    snprintf(why, sizeof(why), "A duplicate application already exists by the name - %s",
             gsim_loggable(name, shown, sizeof(shown)));
    gsim_rest_error(req, 409, "Conflict", why);
  } else {
    const gsim_oauth_app *app = NULL;
    gsim_oauth_change done = gsim_oauth_app_add(sim, name, tier, &app);
    add_reply(sim, req, done, &APP_ADD, app ? app->id : NULL, app ? app->json : NULL);
  }
  json_decref(in);
}

static void app_delete(void *ctx, struct evhttp_request *req) {
  gsim *sim = ((const oauth_call *)ctx)->sim;
  if (gsim_oauth_app_delete(sim, ((const oauth_call *)ctx)->item) != 0) {
    internal_error(sim, req, "deleting the application");
    return;
  }
  evhttp_send_reply(req, 200, "OK", NULL);
}

static void map_keys(gsim *sim, struct evhttp_request *req, gsim_oauth_app *app) {
  struct gsim_oauth *o = sim->oauth;
  json_t *in = read_body(req);
  if (!in)
    return;
  char why[400], shown[GSIM_CONSUMER_KEY_MAX + 8];
  const char *ck = text_field(req, in, "consumerKey", GSIM_CONSUMER_KEY_MAX, 0);
  const char *type = json_string_value(json_object_get(in, "keyType"));
  const char *km_name = json_string_value(json_object_get(in, "keyManager"));
  const gsim_oauth_km *km = km_name ? gsim_oauth_km_by_name(o, km_name) : NULL;
  if (!ck) {
    /* answered */
  } else if (!type || (strcmp(type, "PRODUCTION") != 0 && strcmp(type, "SANDBOX") != 0)) {
    gsim_rest_bad_request(req, "keyType: PRODUCTION or SANDBOX is required");
  } else if (!km_name) {
    gsim_rest_bad_request(req, "keyManager: the name of a registered key manager is required");
  } else if (!km) {
    snprintf(why, sizeof(why), "keyManager: no key manager is named '%s'",
             gsim_loggable(km_name, shown, sizeof(shown)));
    gsim_rest_bad_request(req, why);
  } else if (gsim_oauth_mapping_by_key(o, ck)) {
    snprintf(why, sizeof(why), "The consumer key '%s' is already mapped to an application",
             gsim_loggable(ck, shown, sizeof(shown)));
    gsim_rest_error(req, 409, "Conflict", why);
  } else {
    const gsim_oauth_mapping *m = NULL;
    if (gsim_oauth_mapping_of(o, app->id, km->name, type)) {
      snprintf(why, sizeof(why), "Application '%s' already has %s keys from key manager '%s'",
               app->name, type, km->name);
      gsim_rest_error(req, 409, "Conflict", why);
    } else {
      gsim_oauth_change done = gsim_oauth_mapping_add(sim, app, km, ck, type, &m);
      add_reply(sim, req, done, &MAPPING_ADD, NULL, m ? m->json : NULL);
    }
  }
  json_decref(in);
}

static void app_keys(gsim *sim, struct evhttp_request *req, const gsim_oauth_app *app) {
  gsim_send_json(req, 200, list_reply(gsim_oauth_list(sim, GSIM_OAUTH_MAPPING, app->id, NULL)));
}

static void apps_list(void *ctx, struct evhttp_request *req) {
  gsim_send_json(req, 200, list_reply(gsim_oauth_list(ctx, GSIM_OAUTH_APP, NULL, NULL)));
}

/* GET of an item found before (an application or a subscription). */
static void item_get(void *ctx, struct evhttp_request *req) {
  gsim_send_json(req, 200, json_incref(((const oauth_call *)ctx)->json));
}

static void apps_route(gsim *sim, struct evhttp_request *req, const char *rest) {
  if (gsim_rest_collection(req, rest, app_create, apps_list, sim))
    return;
  enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
  char id[GSIM_API_ID_MAX];
  const char *after = NULL;
  if (id_segment(rest, id, &after) != 0 ||
      (*after && strcmp(after, "/map-keys") != 0 && strcmp(after, "/oauth-keys") != 0)) {
    gsim_rest_no_resource(req);
    return;
  }
  gsim_oauth_app *app = gsim_oauth_app_by_id(sim->oauth, id);
  if (!app) {
    gsim_admin_id_not_found(req, "application", id);
    return;
  }
  if (strcmp(after, "/map-keys") == 0) {
    if (cmd == EVHTTP_REQ_POST)
      map_keys(sim, req, app);
    else
      gsim_rest_method_not_allowed(req, "POST");
  } else if (strcmp(after, "/oauth-keys") == 0) {
    if (cmd == EVHTTP_REQ_GET)
      app_keys(sim, req, app);
    else
      gsim_rest_method_not_allowed(req, "GET");
  } else {
    oauth_call call = {sim, id, app, app->json};
    gsim_rest_item(req, item_get, app_delete, &call);
  }
}

/* ---- subscriptions ---------------------------------------------------------------------- */

static void sub_create(void *ctx, struct evhttp_request *req) {
  gsim *sim = ctx;
  struct gsim_oauth *o = sim->oauth;
  json_t *in = read_body(req);
  if (!in)
    return;
  const char *app_id = json_string_value(json_object_get(in, "applicationId"));
  const char *api_id = json_string_value(json_object_get(in, "apiId"));
  char why[512];
  if (!app_id || !api_id) {
    json_decref(in);
    gsim_rest_bad_request(req, "applicationId and apiId are required");
    return;
  }
  const gsim_oauth_app *app =
      is_uuid(app_id, strlen(app_id)) ? gsim_oauth_app_by_id(o, app_id) : NULL;
  const gsim_api *api = is_uuid(api_id, strlen(api_id)) ? gsim_api_find_id(sim, api_id) : NULL;
  const char *tier = NULL;
  if (!app) {
    gsim_rest_error(req, 404, "Not Found", "Requested application not found (applicationId)");
  } else if (!api) {
    gsim_rest_error(req, 404, "Not Found", "Requested API not found (apiId)");
  } else if ((tier = tier_field(sim, req, in)) == NULL) {
    /* answered */
  } else if (gsim_oauth_sub_of(o, app->id, api->id)) {
    snprintf(why, sizeof(why), "Subscription already exists for API %s:%s in application %s",
             api->name, api->version, app->name);
    gsim_rest_error(req, 409, "Conflict", why);
  } else {
    const gsim_oauth_sub *sub = NULL;
    gsim_oauth_change done = gsim_oauth_sub_add(sim, app, api, tier, &sub);
    add_reply(sim, req, done, &SUB_ADD, sub ? sub->id : NULL, sub ? sub->json : NULL);
  }
  json_decref(in);
}

static void sub_list(void *ctx, struct evhttp_request *req) {
  gsim *sim = ctx;
  struct gsim_oauth *o = sim->oauth;
  struct evkeyvalq query;
  TAILQ_INIT(&query);
  const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
  if (q && evhttp_parse_query_str(q, &query) != 0) {
    gsim_rest_bad_request(req, "The query string could not be parsed");
    return;
  }
  const char *app_id = evhttp_find_header(&query, "applicationId");
  const char *api_id = evhttp_find_header(&query, "apiId");
  if (!app_id && !api_id)
    gsim_rest_bad_request(req, "Either applicationId or apiId should be available");
  else if (app_id && !(is_uuid(app_id, strlen(app_id)) && gsim_oauth_app_by_id(o, app_id)))
    gsim_rest_error(req, 404, "Not Found", "Requested application not found (applicationId)");
  else if (api_id && !(is_uuid(api_id, strlen(api_id)) && gsim_api_find_id(sim, api_id)))
    gsim_rest_error(req, 404, "Not Found", "Requested API not found (apiId)");
  else {
    gsim_send_json(req, 200, list_reply(gsim_oauth_list(sim, GSIM_OAUTH_SUB, app_id, api_id)));
  }
  evhttp_clear_headers(&query);
}

static void sub_delete(void *ctx, struct evhttp_request *req) {
  gsim *sim = ((const oauth_call *)ctx)->sim;
  if (gsim_oauth_sub_delete(sim, ((const oauth_call *)ctx)->item) != 0) {
    internal_error(sim, req, "deleting the subscription");
    return;
  }
  evhttp_send_reply(req, 200, "OK", NULL);
}

static void subs_route(gsim *sim, struct evhttp_request *req, const char *rest) {
  if (gsim_rest_collection(req, rest, sub_create, sub_list, sim))
    return;
  char id[GSIM_API_ID_MAX];
  const char *after = NULL;
  if (id_segment(rest, id, &after) != 0 || *after) {
    gsim_rest_no_resource(req);
    return;
  }
  gsim_oauth_sub *s = gsim_oauth_sub_by_id(sim->oauth, id);
  oauth_call call = {sim, id, s, s ? s->json : NULL};
  if (!s)
    gsim_admin_id_not_found(req, "subscription", id);
  else
    gsim_rest_item(req, item_get, sub_delete, &call);
}

/* ---- dispatch ---------------------------------------------------------------------------- */

int gsim_admin_oauth(gsim *sim, struct evhttp_request *req, const char *path) {
  const char *rest = NULL;
  void (*route)(gsim *, struct evhttp_request *, const char *) = NULL;
  if ((rest = gsim_rest_under(path, KM_PATH)) != NULL)
    route = km_route;
  else if ((rest = gsim_rest_under(path, APPS_PATH)) != NULL)
    route = apps_route;
  else if ((rest = gsim_rest_under(path, SUBS_PATH)) != NULL)
    route = subs_route;
  else
    return 0;
  if (!sim->oauth)
    gsim_rest_error(req, 503, "Service Unavailable", "OAuth2 is not initialised");
  else
    route(sim, req, rest);
  return 1;
}
