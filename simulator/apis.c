/* apis.c - the APIs the gateway routes, in memory.
 *
 * The admin API validates and stores an API's definition (store.c); this file
 * turns a definition into the routing model and finds the API of a request:
 * /{context}/{version}/... with the longest matching context, or, for an API
 * marked isDefaultVersion, its versionless /{context}/... At start every
 * stored API is loaded back, so nothing is lost on restart.
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
