/* oauth.c - OAuth2: key managers, applications, key mappings, subscriptions
 * (their store kinds, loading and the operations the admin API calls), and
 * the bearer token check of the data plane.
 *
 * The admin API's routes are admin_oauth.c's; it calls the operations of
 * oauth.h (lookups, lists, adds, deletes), which keep memory and the store
 * in step.
 *
 * Every object is a store object (store.h), written before the answer; a
 * failed write answers 500 and leaves memory as it was. Keys: key managers
 * and applications by id, key mappings "<applicationId>/<consumerKey>",
 * subscriptions "<apiId>/<subscriptionId>", so an application's mappings and
 * an API's subscriptions go in one delete_prefix transaction. A delete
 * removes its root object first (that is the acknowledged change); the
 * dependants that follow are dropped from memory with it, and any a failed
 * write left in the store are orphans that gsim_oauth_init skips and deletes
 * at the next start. A node of a cluster (--node) reloads everything from
 * the store when another node changed it (gsim_oauth_sync, called by
 * reload.c): a token is checked against what the control plane holds now,
 * as WSO2's gateway updates its key managers, applications and
 * subscriptions on the control plane's events.
 *
 * The data plane (gsim_oauth_authenticate), in WSO2's order: the
 * Authorization header must hold a Bearer token (else MISSING, 900902); the
 * key manager is the one whose issuer is the unverified payload's iss; the
 * token must verify for that key manager's alg and key (jwt/: no other alg,
 * no unsigned token); exp must be after now, on the process clock (fake
 * under libfaketime), with the timestamp skew of rule family GSIM_RF_JWT_SKEW
 * (the row's variant, in seconds): the gateway's
 * JWTValidatorImpl.validateTokenExpiry accepts exp + TimeStampSkew > now
 * (Nimbus DateUtils.isAfter); wso2-4's row is 0 s, the TimestampSkew 4.x
 * ships in identity.xml (OAuthServerConfiguration's code default of 300 s
 * applies only without the element), wso2-2.6's and sap's 300 s (2.6's
 * identity.xml). Without rules (or a row) the skew is 300 s. Two more
 * families decide the rest: GSIM_RF_JWT_NBF (CHECK_ON: an
 * nbf more than the skew ahead of now is refused; WSO2 2.6 and 4.x: not
 * checked, carbon-apimgt 9.0.174 has no nbf check on the gateway path) and
 * GSIM_RF_JWT_NO_EXP (CHECK_ON: a token without exp is refused; WSO2:
 * validateTokenExpiry returns exp == null || isAfter(...), so it passes). An exp or nbf that is
 * not a NumericDate fails either way (the claims do not parse). Any failure
 * so far is INVALID (900901). Then the client id
 * (azp, or client_id) -> its key mapping under that key manager -> the
 * application -> its subscription to this API: any of these missing is
 * FORBIDDEN (900908, 403), as WSO2's AbstractKeyValidationHandler
 * .validateSubscriptionDetails answers API_AUTH_RESOURCE_FORBIDDEN when the
 * key mapping, application or subscription is not found. The reason is for
 * the log: it names key managers, issuers and client ids (control characters
 * replaced), never the token. Everything up to the client id is
 * gsim_oauth_check_bearer (token.c), a function of the rule rows, the header,
 * the key managers and the clock that gatecert-introspect (introspect.c) shares; the
 * key mapping, application and subscription lookup is the simulator's
 * callback.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "gjwt.h"
#include "oauth.h"
#include "sim.h"
#include "token.h"

#define KIND_KM      "key_manager"
#define KIND_APP     "application"
#define KIND_MAPPING "key_mapping"
#define KIND_SUB     "subscription"

/* Each list in creation order (as the store lists them). */
struct gsim_oauth {
  gsim_oauth_km *kms;
  size_t km_count, km_cap;
  gsim_oauth_app *apps;
  size_t app_count, app_cap;
  gsim_oauth_mapping *mappings;
  size_t mapping_count, mapping_cap;
  gsim_oauth_sub *subs;
  size_t sub_count, sub_cap;
};

/* ---- small helpers ------------------------------------------------------------ */

/* Grows an array to hold one more item (up to max); 0, or -1. */
static int reserve(void **items, size_t *cap, size_t count, size_t size, size_t max) {
  if (count >= max)
    return -1;
  if (count < *cap)
    return 0;
  size_t n = *cap ? *cap * 2 : 16;
  if (n > max)
    n = max;
  void *p = realloc(*items, n * size);
  if (!p)
    return -1;
  *items = p;
  *cap = n;
  return 0;
}

/* Removes item i of an array, keeping the order. */
static void remove_at(void *items, size_t *count, size_t size, size_t i) {
  char *base = items;
  memmove(base + i * size, base + (i + 1) * size, (*count - i - 1) * size);
  (*count)--;
}

/* ---- lookups ------------------------------------------------------------------- */

/* The first item of an array whose string field at offset is value, or NULL. */
static void *find_by(void *items, size_t count, size_t size, size_t offset, const char *value) {
  char *item = items;
  for (size_t i = 0; i < count; i++, item += size)
    if (strcmp(item + offset, value) == 0)
      return item;
  return NULL;
}

#define FIND(array, count, type, field, value)                                                     \
  ((type *)find_by((array), (count), sizeof(type), offsetof(type, field), (value)))

gsim_oauth_km *gsim_oauth_km_by_id(struct gsim_oauth *o, const char *id) {
  return FIND(o->kms, o->km_count, gsim_oauth_km, id, id);
}
gsim_oauth_km *gsim_oauth_km_by_name(struct gsim_oauth *o, const char *name) {
  return FIND(o->kms, o->km_count, gsim_oauth_km, name, name);
}
gsim_oauth_km *gsim_oauth_km_by_issuer(struct gsim_oauth *o, const char *issuer) {
  return FIND(o->kms, o->km_count, gsim_oauth_km, issuer, issuer);
}
gsim_oauth_app *gsim_oauth_app_by_id(struct gsim_oauth *o, const char *id) {
  return FIND(o->apps, o->app_count, gsim_oauth_app, id, id);
}
gsim_oauth_app *gsim_oauth_app_by_name(struct gsim_oauth *o, const char *name) {
  return FIND(o->apps, o->app_count, gsim_oauth_app, name, name);
}
gsim_oauth_mapping *gsim_oauth_mapping_by_key(struct gsim_oauth *o, const char *consumer_key) {
  return FIND(o->mappings, o->mapping_count, gsim_oauth_mapping, consumer_key, consumer_key);
}
gsim_oauth_sub *gsim_oauth_sub_by_id(struct gsim_oauth *o, const char *id) {
  return FIND(o->subs, o->sub_count, gsim_oauth_sub, id, id);
}

gsim_oauth_sub *gsim_oauth_sub_of(struct gsim_oauth *o, const char *app_id, const char *api_id) {
  for (size_t i = 0; i < o->sub_count; i++)
    if (strcmp(o->subs[i].app_id, app_id) == 0 && strcmp(o->subs[i].api_id, api_id) == 0)
      return &o->subs[i];
  return NULL;
}

gsim_oauth_mapping *gsim_oauth_mapping_of(struct gsim_oauth *o, const char *app_id,
                                          const char *km_name, const char *key_type) {
  for (size_t i = 0; i < o->mapping_count; i++)
    if (strcmp(o->mappings[i].app_id, app_id) == 0 &&
        strcmp(o->mappings[i].km_name, km_name) == 0 &&
        strcmp(o->mappings[i].key_type, key_type) == 0)
      return &o->mappings[i];
  return NULL;
}

/* ---- memory from stored JSON ------------------------------------------------------- */

/* Each *_from_json takes a reference to json and fills one item; -1 when the
 * object lacks what it needs (a damaged row). */

/* A string member of a stored object and the char array it goes to. */
typedef struct json_field {
  const char *name;
  char *out;
  size_t size;
} json_field;

#define FIELD(name, array)                                                                         \
  { (name), (array), sizeof(array) }

/* Copies each field's member of json into its array: 0, or -1 when one is
 * missing, not a string or too long for its array. */
static int copy_fields(json_t *json, const json_field *fields, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const char *value = json_string_value(json_object_get(json, fields[i].name));
    if (!value || strlen(value) >= fields[i].size)
      return -1;
    snprintf(fields[i].out, fields[i].size, "%s", value);
  }
  return 0;
}

static int km_from_json(gsim_oauth_km *km, json_t *json, char *why, size_t why_len) {
  memset(km, 0, sizeof(*km));
  const json_field fields[] = {FIELD("id", km->id), FIELD("name", km->name),
                               FIELD("issuer", km->issuer)};
  const char *alg = json_string_value(json_object_get(json, "alg"));
  const char *value =
      json_string_value(json_object_get(json_object_get(json, "certificates"), "value"));
  if (copy_fields(json, fields, 3) != 0 || !value || gjwt_alg_parse(alg, &km->alg) != 0) {
    snprintf(why, why_len, "a key manager object lacks id, name, issuer, alg or its key");
    return -1;
  }
  km->key = gsim_oauth_public_key(value, km->alg, why, why_len);
  if (!km->key)
    return -1;
  km->json = json_incref(json);
  return 0;
}

static int app_from_json(gsim_oauth_app *app, json_t *json) {
  memset(app, 0, sizeof(*app));
  const json_field fields[] = {FIELD("applicationId", app->id), FIELD("name", app->name)};
  if (copy_fields(json, fields, 2) != 0)
    return -1;
  app->json = json_incref(json);
  return 0;
}

static int mapping_from_json(gsim_oauth_mapping *m, json_t *json) {
  memset(m, 0, sizeof(*m));
  const json_field fields[] = {FIELD("consumerKey", m->consumer_key),
                               FIELD("applicationId", m->app_id), FIELD("keyType", m->key_type),
                               FIELD("keyManager", m->km_name)};
  if (copy_fields(json, fields, 4) != 0)
    return -1;
  m->json = json_incref(json);
  return 0;
}

static int sub_from_json(gsim_oauth_sub *s, json_t *json) {
  memset(s, 0, sizeof(*s));
  const json_field fields[] = {FIELD("subscriptionId", s->id), FIELD("applicationId", s->app_id),
                               FIELD("apiId", s->api_id), FIELD("throttlingPolicy", s->tier)};
  if (copy_fields(json, fields, 4) != 0)
    return -1;
  s->json = json_incref(json);
  return 0;
}

/* ---- the store ------------------------------------------------------------------------ */

/* Inserts json (not stolen) as kind/key. */
static gsim_store_status store_insert(gsim *sim, const char *kind, const char *key, json_t *json) {
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  snprintf(row.kind, sizeof(row.kind), "%s", kind);
  if ((size_t)snprintf(row.key, sizeof(row.key), "%s", key) >= sizeof(row.key))
    return GSIM_STORE_TOO_LONG;
  row.json = json_dumps(json, JSON_COMPACT);
  if (!row.json)
    return GSIM_STORE_ERROR;
  row.created_ms = row.updated_ms = gsim_now_ms();
  gsim_store_status st = gsim_store_object_insert(sim->store, &row);
  free(row.json);
  return st;
}

static void mapping_store_key(const gsim_oauth_mapping *m, char out[GSIM_OBJECT_KEY_MAX]) {
  snprintf(out, GSIM_OBJECT_KEY_MAX, "%s/%s", m->app_id, m->consumer_key);
}

static void sub_store_key(const gsim_oauth_sub *s, char out[GSIM_OBJECT_KEY_MAX]) {
  snprintf(out, GSIM_OBJECT_KEY_MAX, "%s/%s", s->api_id, s->id);
}

/* ---- lifetime ---------------------------------------------------------------------------- */

static void free_items(struct gsim_oauth *o) {
  for (size_t i = 0; i < o->km_count; i++) {
    EVP_PKEY_free(o->kms[i].key);
    json_decref(o->kms[i].json);
  }
  for (size_t i = 0; i < o->app_count; i++)
    json_decref(o->apps[i].json);
  for (size_t i = 0; i < o->mapping_count; i++)
    json_decref(o->mappings[i].json);
  for (size_t i = 0; i < o->sub_count; i++)
    json_decref(o->subs[i].json);
  free(o->kms);
  free(o->apps);
  free(o->mappings);
  free(o->subs);
}

void gsim_oauth_free(gsim *sim) {
  if (!sim->oauth)
    return;
  free_items(sim->oauth);
  free(sim->oauth);
  sim->oauth = NULL;
}

/* Every object of kind, parsed; *rows to free with gsim_object_rows_free. */
static int list_kind(gsim *sim, const char *kind, gsim_object_row **rows, size_t *count, char *why,
                     size_t why_len) {
  if (gsim_store_object_list(sim->store, kind, NULL, rows, count) != GSIM_STORE_OK) {
    snprintf(why, why_len, "store: listing %s objects: %s", kind, gsim_store_error(sim->store));
    return -1;
  }
  return 0;
}

static json_t *row_json(const gsim_object_row *row) {
  json_t *j = row->json ? json_loads(row->json, JSON_REJECT_DUPLICATES, NULL) : NULL;
  if (j && !json_is_object(j)) {
    json_decref(j);
    j = NULL;
  }
  return j;
}

/* An object left by a delete whose dependants' write failed: skipped, and
 * removed from the store now (best effort). */
static void drop_orphan(gsim *sim, const gsim_object_row *row, const char *why, int repair) {
  if (!repair) { /* a node syncing: another node may be writing its dependants right now */
    gsim_log(sim, "INFO", "oauth: %s %s: %s; skipped", row->kind, row->key, why);
    return;
  }
  gsim_log(sim, "WARN", "oauth: %s %s: %s; removed", row->kind, row->key, why);
  if (gsim_store_object_delete(sim->store, row->kind, row->key) == GSIM_STORE_ERROR)
    gsim_log(sim, "WARN", "oauth: removing %s %s: %s", row->kind, row->key,
             gsim_store_error(sim->store));
}

/* Loads every object into o (empty); repair: orphans are deleted from the
 * store (at start), else only skipped (a node syncing, gsim_oauth_sync). */
static int load(gsim *sim, struct gsim_oauth *o, int repair, char *why, size_t why_len) {
  static const char *const kinds[] = {KIND_KM, KIND_APP, KIND_MAPPING, KIND_SUB};
  for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
    gsim_object_row *rows = NULL;
    size_t count = 0;
    if (list_kind(sim, kinds[k], &rows, &count, why, why_len) != 0)
      return -1;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
      json_t *j = row_json(&rows[i]);
      char item_why[256] = "not a JSON object of that kind, or past the simulator's limits";
      if (k == 0) {
        gsim_oauth_km km;
        rc = j &&
                     reserve((void **)&o->kms, &o->km_cap, o->km_count, sizeof(km), GSIM_MAX_KMS) ==
                         0 &&
                     km_from_json(&km, j, item_why, sizeof(item_why)) == 0
                 ? 0
                 : -1;
        if (rc == 0)
          o->kms[o->km_count++] = km;
      } else if (k == 1) {
        gsim_oauth_app app;
        rc = j &&
                     reserve((void **)&o->apps, &o->app_cap, o->app_count, sizeof(app),
                             GSIM_MAX_APPS) == 0 &&
                     app_from_json(&app, j) == 0
                 ? 0
                 : -1;
        if (rc == 0)
          o->apps[o->app_count++] = app;
      } else if (k == 2) {
        gsim_oauth_mapping m;
        rc = j &&
                     reserve((void **)&o->mappings, &o->mapping_cap, o->mapping_count, sizeof(m),
                             GSIM_MAX_MAPPINGS) == 0 &&
                     mapping_from_json(&m, j) == 0
                 ? 0
                 : -1;
        if (rc == 0 &&
            (!gsim_oauth_app_by_id(o, m.app_id) || !gsim_oauth_km_by_name(o, m.km_name))) {
          drop_orphan(sim, &rows[i], "its application or key manager is gone", repair);
          json_decref(m.json);
        } else if (rc == 0)
          o->mappings[o->mapping_count++] = m;
      } else {
        gsim_oauth_sub s;
        rc = j &&
                     reserve((void **)&o->subs, &o->sub_cap, o->sub_count, sizeof(s),
                             GSIM_MAX_SUBS) == 0 &&
                     sub_from_json(&s, j) == 0
                 ? 0
                 : -1;
        if (rc == 0 && (!gsim_oauth_app_by_id(o, s.app_id) || !gsim_api_find_id(sim, s.api_id))) {
          drop_orphan(sim, &rows[i], "its application or API is gone", repair);
          json_decref(s.json);
        } else if (rc == 0)
          o->subs[o->sub_count++] = s;
      }
      json_decref(j);
      if (rc != 0)
        snprintf(why, why_len, "store: %s %s does not load: %s", kinds[k], rows[i].key, item_why);
    }
    gsim_object_rows_free(rows, count);
    if (rc != 0)
      return -1;
  }
  return 0;
}

int gsim_oauth_init(gsim *sim, char *why, size_t why_len) {
  sim->oauth = calloc(1, sizeof(*sim->oauth));
  if (!sim->oauth) {
    snprintf(why, why_len, "out of memory");
    return -1;
  }
  if (load(sim, sim->oauth, 1, why, why_len) != 0) {
    gsim_oauth_free(sim);
    return -1;
  }
  struct gsim_oauth *o = sim->oauth;
  if (o->km_count || o->app_count)
    gsim_log(sim, "INFO",
             "oauth: %zu key manager(s), %zu application(s), %zu key mapping(s), %zu "
             "subscription(s)",
             o->km_count, o->app_count, o->mapping_count, o->sub_count);
  return 0;
}

int gsim_oauth_sync(gsim *sim, char *why, size_t why_len) {
  struct gsim_oauth *next = calloc(1, sizeof(*next));
  if (!next) {
    snprintf(why, why_len, "out of memory");
    return -1;
  }
  if (load(sim, next, 0, why, why_len) != 0) {
    free_items(next);
    free(next);
    return -1;
  }
  gsim_oauth_free(sim);
  sim->oauth = next;
  return 0;
}

/* ---- the admin API's operations (oauth.h) ----------------------------------------------- */

json_t *gsim_oauth_list(gsim *sim, gsim_oauth_kind kind, const char *app_id, const char *api_id) {
  struct gsim_oauth *o = sim->oauth;
  json_t *list = json_array();
  if (kind == GSIM_OAUTH_KM)
    for (size_t i = 0; i < o->km_count; i++)
      json_array_append(list, o->kms[i].json);
  else if (kind == GSIM_OAUTH_APP)
    for (size_t i = 0; i < o->app_count; i++)
      json_array_append(list, o->apps[i].json);
  else if (kind == GSIM_OAUTH_MAPPING)
    for (size_t i = 0; i < o->mapping_count; i++) {
      if (!app_id || strcmp(o->mappings[i].app_id, app_id) == 0)
        json_array_append(list, o->mappings[i].json);
    }
  else
    for (size_t i = 0; i < o->sub_count; i++)
      if ((!app_id || strcmp(o->subs[i].app_id, app_id) == 0) &&
          (!api_id || strcmp(o->subs[i].api_id, api_id) == 0))
        json_array_append(list, o->subs[i].json);
  return list;
}

gsim_oauth_change gsim_oauth_km_add(gsim *sim, const char *name, const char *issuer, gjwt_alg alg,
                                    const char *value, EVP_PKEY *key, const gsim_oauth_km **added) {
  struct gsim_oauth *o = sim->oauth;
  if (reserve((void **)&o->kms, &o->km_cap, o->km_count, sizeof(gsim_oauth_km), GSIM_MAX_KMS) != 0)
    return GSIM_OAUTH_FULL;
  gsim_oauth_km km;
  memset(&km, 0, sizeof(km));
  gsim_rest_new_uuid(km.id);
  snprintf(km.name, sizeof(km.name), "%s", name);
  snprintf(km.issuer, sizeof(km.issuer), "%s", issuer);
  km.alg = alg;
  km.json = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:b}", "id", km.id, "name", name,
                      "issuer", issuer, "alg", gjwt_alg_name(alg), "certificates", "type", "PEM",
                      "value", value, "enabled", 1);
  gsim_store_status st = km.json ? store_insert(sim, KIND_KM, km.id, km.json) : GSIM_STORE_ERROR;
  if (st != GSIM_STORE_OK) {
    json_decref(km.json);
    return GSIM_OAUTH_STORE_FAILED;
  }
  km.key = key;
  o->kms[o->km_count++] = km;
  gsim_log(sim, "INFO", "oauth: key manager '%s' added (issuer %s, %s)", km.name, km.issuer,
           gjwt_alg_name(alg));
  *added = &o->kms[o->km_count - 1];
  return GSIM_OAUTH_CHANGED;
}

int gsim_oauth_km_delete(gsim *sim, gsim_oauth_km *km) {
  struct gsim_oauth *o = sim->oauth;
  gsim_store_status st = gsim_store_object_delete(sim->store, KIND_KM, km->id);
  if (st != GSIM_STORE_OK && st != GSIM_STORE_NOT_FOUND)
    return -1;
  /* its key mappings are no use any more (a later key manager of that name
   * must not inherit them) */
  for (size_t i = o->mapping_count; i-- > 0;) {
    gsim_oauth_mapping *m = &o->mappings[i];
    if (strcmp(m->km_name, km->name) != 0)
      continue;
    char key[GSIM_OBJECT_KEY_MAX];
    mapping_store_key(m, key);
    if (gsim_store_object_delete(sim->store, KIND_MAPPING, key) == GSIM_STORE_ERROR)
      gsim_log(sim, "ERROR",
               "oauth: key mapping %s of a deleted key manager stays in the store "
               "until the next start: %s",
               key, gsim_store_error(sim->store));
    json_decref(m->json);
    remove_at(o->mappings, &o->mapping_count, sizeof(*m), i);
  }
  gsim_log(sim, "INFO", "oauth: key manager '%s' deleted", km->name);
  EVP_PKEY_free(km->key);
  json_decref(km->json);
  remove_at(o->kms, &o->km_count, sizeof(*km), (size_t)(km - o->kms));
  return 0;
}

gsim_oauth_change gsim_oauth_app_add(gsim *sim, const char *name, const char *tier,
                                     const gsim_oauth_app **added) {
  struct gsim_oauth *o = sim->oauth;
  if (reserve((void **)&o->apps, &o->app_cap, o->app_count, sizeof(gsim_oauth_app),
              GSIM_MAX_APPS) != 0)
    return GSIM_OAUTH_FULL;
  gsim_oauth_app app;
  memset(&app, 0, sizeof(app));
  gsim_rest_new_uuid(app.id);
  snprintf(app.name, sizeof(app.name), "%s", name);
  app.json = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "applicationId", app.id, "name", name,
                       "throttlingPolicy", tier, "description", "", "tokenType", "JWT", "status",
                       "APPROVED");
  gsim_store_status st =
      app.json ? store_insert(sim, KIND_APP, app.id, app.json) : GSIM_STORE_ERROR;
  if (st != GSIM_STORE_OK) {
    json_decref(app.json);
    return GSIM_OAUTH_STORE_FAILED;
  }
  o->apps[o->app_count++] = app;
  gsim_log(sim, "INFO", "oauth: application '%s' created (%s)", app.name, app.id);
  *added = &o->apps[o->app_count - 1];
  return GSIM_OAUTH_CHANGED;
}

int gsim_oauth_app_delete(gsim *sim, gsim_oauth_app *app) {
  struct gsim_oauth *o = sim->oauth;
  char id[GSIM_API_ID_MAX], prefix[GSIM_API_ID_MAX + 1];
  snprintf(id, sizeof(id), "%s", app->id);
  gsim_store_status st = gsim_store_object_delete(sim->store, KIND_APP, id);
  if (st != GSIM_STORE_OK && st != GSIM_STORE_NOT_FOUND)
    return -1;
  gsim_log(sim, "INFO", "oauth: application '%s' deleted", app->name);
  json_decref(app->json);
  remove_at(o->apps, &o->app_count, sizeof(*app), (size_t)(app - o->apps));
  snprintf(prefix, sizeof(prefix), "%s/", id);
  if (gsim_store_object_delete_prefix(sim->store, KIND_MAPPING, prefix, NULL) != GSIM_STORE_OK)
    gsim_log(sim, "ERROR",
             "oauth: key mappings of deleted application %s stay in the store until "
             "the next start: %s",
             id, gsim_store_error(sim->store));
  for (size_t i = o->mapping_count; i-- > 0;)
    if (strcmp(o->mappings[i].app_id, id) == 0) {
      json_decref(o->mappings[i].json);
      remove_at(o->mappings, &o->mapping_count, sizeof(gsim_oauth_mapping), i);
    }
  for (size_t i = o->sub_count; i-- > 0;) {
    gsim_oauth_sub *s = &o->subs[i];
    if (strcmp(s->app_id, id) != 0)
      continue;
    char key[GSIM_OBJECT_KEY_MAX];
    sub_store_key(s, key);
    if (gsim_store_object_delete(sim->store, KIND_SUB, key) == GSIM_STORE_ERROR)
      gsim_log(sim, "ERROR",
               "oauth: subscription %s of deleted application %s stays in the store "
               "until the next start: %s",
               s->id, id, gsim_store_error(sim->store));
    json_decref(s->json);
    remove_at(o->subs, &o->sub_count, sizeof(*s), i);
  }
  return 0;
}

gsim_oauth_change gsim_oauth_mapping_add(gsim *sim, const gsim_oauth_app *app,
                                         const gsim_oauth_km *km, const char *consumer_key,
                                         const char *key_type, const gsim_oauth_mapping **added) {
  struct gsim_oauth *o = sim->oauth;
  if (reserve((void **)&o->mappings, &o->mapping_cap, o->mapping_count, sizeof(gsim_oauth_mapping),
              GSIM_MAX_MAPPINGS) != 0)
    return GSIM_OAUTH_FULL;
  gsim_oauth_mapping m;
  memset(&m, 0, sizeof(m));
  char mapping_id[GSIM_API_ID_MAX], key[GSIM_OBJECT_KEY_MAX], shown[GSIM_CONSUMER_KEY_MAX + 8];
  gsim_rest_new_uuid(mapping_id);
  snprintf(m.consumer_key, sizeof(m.consumer_key), "%s", consumer_key);
  snprintf(m.app_id, sizeof(m.app_id), "%s", app->id);
  snprintf(m.key_type, sizeof(m.key_type), "%s", key_type);
  snprintf(m.km_name, sizeof(m.km_name), "%s", km->name);
  m.json = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[]}", "keyMappingId", mapping_id,
                     "applicationId", app->id, "keyManager", km->name, "consumerKey", consumer_key,
                     "keyType", key_type, "keyState", "COMPLETED", "mode", "MAPPED",
                     "supportedGrantTypes");
  mapping_store_key(&m, key);
  gsim_store_status st = m.json ? store_insert(sim, KIND_MAPPING, key, m.json) : GSIM_STORE_ERROR;
  if (st != GSIM_STORE_OK) {
    json_decref(m.json);
    return GSIM_OAUTH_STORE_FAILED;
  }
  o->mappings[o->mapping_count++] = m;
  gsim_log(sim, "INFO",
           "oauth: consumer key %s of key manager '%s' mapped to application "
           "'%s' (%s)",
           gsim_loggable(consumer_key, shown, sizeof(shown)), km->name, app->name, key_type);
  *added = &o->mappings[o->mapping_count - 1];
  return GSIM_OAUTH_CHANGED;
}

gsim_oauth_change gsim_oauth_sub_add(gsim *sim, const gsim_oauth_app *app, const gsim_api *api,
                                     const char *tier, const gsim_oauth_sub **added) {
  struct gsim_oauth *o = sim->oauth;
  if (reserve((void **)&o->subs, &o->sub_cap, o->sub_count, sizeof(gsim_oauth_sub),
              GSIM_MAX_SUBS) != 0)
    return GSIM_OAUTH_FULL;
  gsim_oauth_sub s;
  memset(&s, 0, sizeof(s));
  gsim_rest_new_uuid(s.id);
  snprintf(s.app_id, sizeof(s.app_id), "%s", app->id);
  snprintf(s.api_id, sizeof(s.api_id), "%s", api->id);
  snprintf(s.tier, sizeof(s.tier), "%s", tier);
  s.json = json_pack("{s:s, s:s, s:s, s:s, s:s}", "subscriptionId", s.id, "applicationId", app->id,
                     "apiId", api->id, "throttlingPolicy", tier, "status", "UNBLOCKED");
  char key[GSIM_OBJECT_KEY_MAX];
  sub_store_key(&s, key);
  gsim_store_status st = s.json ? store_insert(sim, KIND_SUB, key, s.json) : GSIM_STORE_ERROR;
  if (st != GSIM_STORE_OK) {
    json_decref(s.json);
    return GSIM_OAUTH_STORE_FAILED;
  }
  o->subs[o->sub_count++] = s;
  gsim_log(sim, "INFO", "oauth: application '%s' subscribed to %s:%s (%s)", app->name, api->name,
           api->version, tier);
  *added = &o->subs[o->sub_count - 1];
  return GSIM_OAUTH_CHANGED;
}

int gsim_oauth_sub_delete(gsim *sim, gsim_oauth_sub *s) {
  struct gsim_oauth *o = sim->oauth;
  char key[GSIM_OBJECT_KEY_MAX];
  sub_store_key(s, key);
  gsim_store_status st = gsim_store_object_delete(sim->store, KIND_SUB, key);
  if (st != GSIM_STORE_OK && st != GSIM_STORE_NOT_FOUND)
    return -1;
  gsim_log(sim, "INFO", "oauth: subscription %s deleted", s->id);
  json_decref(s->json);
  remove_at(o->subs, &o->sub_count, sizeof(*s), (size_t)(s - o->subs));
  return 0;
}

int gsim_oauth_drop_api(gsim *sim, const char *api_id) {
  struct gsim_oauth *o = sim->oauth;
  if (!o)
    return 0;
  char prefix[GSIM_API_ID_MAX + 1];
  snprintf(prefix, sizeof(prefix), "%s/", api_id);
  size_t deleted = 0;
  if (gsim_store_object_delete_prefix(sim->store, KIND_SUB, prefix, &deleted) != GSIM_STORE_OK)
    return -1; /* kept in memory as in the store; the next start drops them as orphans */
  for (size_t i = o->sub_count; i-- > 0;)
    if (strcmp(o->subs[i].api_id, api_id) == 0) {
      json_decref(o->subs[i].json);
      remove_at(o->subs, &o->sub_count, sizeof(gsim_oauth_sub), i);
    }
  if (deleted)
    gsim_log(sim, "INFO", "oauth: %zu subscription(s) of deleted API %s dropped", deleted, api_id);
  return 0;
}

/* ---- the data plane ---------------------------------------------------------------------- */

/* The simulator's subscription set: the client id's key mapping under the
 * key manager -> its application -> the application's subscription to api. */
typedef struct sim_lookup {
  struct gsim_oauth *oauth;
  const gsim_api *api;
} sim_lookup;

static void sim_subscribed(void *ctx, const char *km_name, const char *client, const char *shown,
                           gsim_oauth_result *out) {
  const sim_lookup *l = ctx;
  const gsim_oauth_mapping *m = gsim_oauth_mapping_by_key(l->oauth, client);
  if (!m || strcmp(m->km_name, km_name) != 0) {
    gsim_token_verdict(out, GSIM_OAUTH_FORBIDDEN,
                       "client id %s is not mapped to an application under key manager '%s'", shown,
                       km_name);
    return;
  }
  const gsim_oauth_app *app = gsim_oauth_app_by_id(l->oauth, m->app_id);
  const gsim_oauth_sub *s = app ? gsim_oauth_sub_of(l->oauth, app->id, l->api->id) : NULL;
  if (!s) {
    gsim_token_verdict(out, GSIM_OAUTH_FORBIDDEN,
                       "application %s (client id %s) is not subscribed to %s:%s",
                       app ? app->name : m->app_id, shown, l->api->name, l->api->version);
    return;
  }
  gsim_token_verdict(out, GSIM_OAUTH_OK, "application %s (client id %s, %s) via key manager '%s'",
                     app->name, shown, m->key_type, km_name);
  snprintf(out->application_id, sizeof(out->application_id), "%s", app->id);
  snprintf(out->tier, sizeof(out->tier), "%s", s->tier);
  snprintf(out->key_type, sizeof(out->key_type), "%s", m->key_type);
}

void gsim_oauth_authenticate(gsim *sim, struct evhttp_request *req, const gsim_api *api,
                             gsim_oauth_result *out) {
  struct gsim_oauth *o = sim->oauth;
  gsim_token_km kms[GSIM_MAX_KMS] = {0};
  size_t count = 0;
  for (size_t i = 0; o && i < o->km_count && count < GSIM_MAX_KMS; i++)
    kms[count++] = (gsim_token_km){o->kms[i].name, o->kms[i].issuer, o->kms[i].alg, o->kms[i].key};
  sim_lookup lookup = {o, api};
  const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
  gsim_oauth_check_bearer(&sim->opt->rules, auth, kms, count, gsim_now_ms(), sim_subscribed,
                          &lookup, out);
  if (!o && out->status != GSIM_OAUTH_MISSING) /* only without key managers: never verified */
    gsim_token_verdict(out, GSIM_OAUTH_INVALID, "OAuth2 is not initialised");
}
