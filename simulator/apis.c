/* apis.c - the APIs the gateway routes, in memory.
 *
 * The admin API validates and stores an API's definition (store.c); this file
 * turns a definition into the routing model (its securityScheme names into
 * GSIM_SEC_* bits; admin.c has refused the names the profile does not know)
 * and finds the API of a request:
 * /{context}/{version}/... with the longest matching context, or, for an API
 * marked isDefaultVersion, its versionless /{context}/... At start every
 * stored API is loaded back, so nothing is lost on restart. A node of a
 * cluster (--node) brings its APIs in line with the store when another node
 * created or deleted one (gsim_apis_sync, called by reload.c): APIs are
 * created and deleted, never changed, so the ids say it all.
 */
#include <string.h>

#include "sim.h"

static unsigned security_bits(json_t *schemes) {
  static const struct {
    const char *name;
    unsigned bit;
  } table[] = {
      {"mutualssl", GSIM_SEC_MUTUALSSL},
      {"mutualssl_mandatory", GSIM_SEC_MUTUALSSL_MANDATORY},
      {"oauth2", GSIM_SEC_OAUTH2},
      {"basic_auth", GSIM_SEC_BASIC_AUTH},
      {"api_key", GSIM_SEC_API_KEY},
      {"oauth_basic_auth_api_key_mandatory", GSIM_SEC_OAUTH_BASIC_APIKEY_M},
      {"mutualssl_optional", GSIM_SEC_MUTUALSSL_OPTIONAL},
      {"oauth_basic_auth_api_key_optional", GSIM_SEC_OAUTH_BASIC_APIKEY_O},
  };
  unsigned bits = 0;
  size_t i;
  json_t *s;
  json_array_foreach(schemes, i, s) {
    const char *v = json_string_value(s);
    for (size_t k = 0; v && k < sizeof(table) / sizeof(table[0]); k++)
      if (strcmp(table[k].name, v) == 0)
        bits |= table[k].bit;
  }
  return bits;
}

static char *url_of(json_t *config, const char *which) {
  const char *url = json_string_value(json_object_get(json_object_get(config, which), "url"));
  return url ? strdup(url) : NULL;
}

gsim_api *gsim_api_from_json(const char *id, json_t *definition) {
  gsim_api *api = calloc(1, sizeof(*api));
  if (!api)
    return NULL;
  const char *name = json_string_value(json_object_get(definition, "name"));
  const char *context = json_string_value(json_object_get(definition, "context"));
  const char *version = json_string_value(json_object_get(definition, "version"));
  json_t *config = json_object_get(definition, "endpointConfig");
  api->production_url = url_of(config, "production_endpoints");
  if (!name || !context || !version || !api->production_url || strlen(name) >= sizeof(api->name) ||
      strlen(context) >= sizeof(api->context) || strlen(version) >= sizeof(api->version)) {
    gsim_api_free(api);
    return NULL;
  }
  snprintf(api->id, sizeof(api->id), "%s", id);
  snprintf(api->name, sizeof(api->name), "%s", name);
  snprintf(api->context, sizeof(api->context), "%s", context);
  snprintf(api->version, sizeof(api->version), "%s", version);
  api->sandbox_url = url_of(config, "sandbox_endpoints");
  api->security = security_bits(json_object_get(definition, "securityScheme"));
  api->is_default_version = json_is_true(json_object_get(definition, "isDefaultVersion"));
  api->definition = json_incref(definition);
  return api;
}

void gsim_api_free(gsim_api *api) {
  if (!api)
    return;
  free(api->production_url);
  free(api->sandbox_url);
  json_decref(api->definition);
  free(api);
}

gsim_api *gsim_api_find_id(gsim *sim, const char *id) {
  for (size_t i = 0; i < sim->api_count; i++)
    if (strcmp(sim->apis[i]->id, id) == 0)
      return sim->apis[i];
  return NULL;
}

/* Length of prefix when path starts with it at a segment boundary, else 0. */
static size_t segment_prefix(const char *path, const char *prefix) {
  size_t n = strlen(prefix);
  if (strncmp(path, prefix, n) != 0 || (path[n] != '/' && path[n] != '\0'))
    return 0;
  return n;
}

gsim_api *gsim_api_route(gsim *sim, const char *path, const char **rest) {
  gsim_api *best = NULL;
  size_t best_len = 0;
  char versioned[GSIM_CONTEXT_MAX + GSIM_VERSION_MAX + 2];
  for (size_t i = 0; i < sim->api_count; i++) {
    gsim_api *api = sim->apis[i];
    snprintf(versioned, sizeof(versioned), "%s/%s", api->context, api->version);
    size_t n = segment_prefix(path, versioned);
    if (n == 0 && api->is_default_version)
      n = segment_prefix(path, api->context);
    if (n > best_len) {
      best = api;
      best_len = n;
    }
  }
  if (best)
    *rest = path + best_len;
  return best;
}

int gsim_apis_load(gsim *sim, char *why, size_t why_len) {
  gsim_api_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_api_list(sim->store, &rows, &count) != GSIM_STORE_OK) {
    snprintf(why, why_len, "store: %s", gsim_store_error(sim->store));
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    json_error_t jerr;
    json_t *def = json_loads(rows[i].definition, 0, &jerr);
    gsim_api *api = def ? gsim_api_from_json(rows[i].id, def) : NULL;
    json_decref(def);
    if (!api || sim->api_count >= GSIM_MAX_APIS) {
      snprintf(why, why_len, "store: API %s does not load", rows[i].id);
      gsim_api_free(api);
      rc = -1;
    } else
      sim->apis[sim->api_count++] = api;
  }
  gsim_api_rows_free(rows, count);
  return rc;
}

static int row_has(const gsim_api_row *rows, size_t count, const char *id) {
  for (size_t i = 0; i < count; i++)
    if (strcmp(rows[i].id, id) == 0)
      return 1;
  return 0;
}

int gsim_apis_sync(gsim *sim, size_t *added, size_t *removed, char *why, size_t why_len) {
  *added = *removed = 0;
  gsim_api_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_api_list(sim->store, &rows, &count) != GSIM_STORE_OK) {
    snprintf(why, why_len, "APIs: %s", gsim_store_error(sim->store));
    return -1;
  }
  /* undeployed: in memory, no longer stored */
  size_t kept = 0;
  for (size_t i = 0; i < sim->api_count; i++) {
    gsim_api *api = sim->apis[i];
    if (row_has(rows, count, api->id)) {
      sim->apis[kept++] = api;
      continue;
    }
    gsim_log(sim, "INFO", "api %s:%s undeployed: deleted through another node", api->name,
             api->version);
    gsim_api_free(api);
    (*removed)++;
  }
  sim->api_count = kept;
  /* deployed: stored, not in memory (creation order kept) */
  int rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    if (gsim_api_find_id(sim, rows[i].id))
      continue;
    json_t *def = json_loads(rows[i].definition, 0, NULL);
    gsim_api *api = def ? gsim_api_from_json(rows[i].id, def) : NULL;
    json_decref(def);
    if (!api || sim->api_count >= GSIM_MAX_APIS) {
      snprintf(why, why_len, "API %s does not load", rows[i].id);
      gsim_api_free(api);
      rc = -1;
      break;
    }
    sim->apis[sim->api_count++] = api;
    (*added)++;
    gsim_log(sim, "INFO", "api %s:%s deployed: created through another node, at %s/%s -> %s",
             api->name, api->version, api->context, api->version, api->production_url);
  }
  gsim_api_rows_free(rows, count);
  return rc;
}

/* ---- resources without authentication ------------------------------------ */

static const struct {
  enum evhttp_cmd_type cmd;
  const char *name;
} verbs[] = {
    {EVHTTP_REQ_GET, "GET"},         {EVHTTP_REQ_POST, "POST"},   {EVHTTP_REQ_PUT, "PUT"},
    {EVHTTP_REQ_DELETE, "DELETE"},   {EVHTTP_REQ_PATCH, "PATCH"}, {EVHTTP_REQ_HEAD, "HEAD"},
    {EVHTTP_REQ_OPTIONS, "OPTIONS"},
};

const char *gsim_verb_name(enum evhttp_cmd_type cmd) {
  for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
    if (verbs[i].cmd == cmd)
      return verbs[i].name;
  return NULL;
}

/* A resource target as WSO2 writes them: "/" "*" is every path, "/items/" "*" a
 * prefix at a segment boundary, anything else one exact path. */
static int target_matches(const char *target, const char *rest) {
  const char *path = *rest ? rest : "/";
  size_t n = strlen(target);
  if (n >= 2 && strcmp(target + n - 2, "/*") == 0)
    return n == 2 ||
           (strncmp(path, target, n - 2) == 0 && (path[n - 2] == '/' || path[n - 2] == '\0'));
  return strcmp(path, target) == 0;
}

int gsim_api_anonymous(const gsim_api *api, enum evhttp_cmd_type cmd, const char *rest) {
  const char *verb = gsim_verb_name(cmd);
  json_t *ops = json_object_get(api->definition, "operations");
  size_t i;
  json_t *op;
  json_array_foreach(ops, i, op) {
    const char *v = json_string_value(json_object_get(op, "verb"));
    const char *target = json_string_value(json_object_get(op, "target"));
    if (verb && v && target && strcmp(v, verb) == 0 && target_matches(target, rest)) {
      const char *auth = json_string_value(json_object_get(op, "authType"));
      return auth && strcmp(auth, "None") == 0;
    }
  }
  return 0;
}
