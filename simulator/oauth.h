/* oauth.h - what the admin API does to OAuth2's objects: the item types and
 * the operations oauth.c offers admin_oauth.c.
 *
 * Key managers, applications, key mappings and subscriptions live in
 * oauth.c's arrays (each in creation order; struct gsim_oauth stays
 * private) and in the store. A pointer to an item holds until the next
 * change of its kind. An operation writes the store before memory changes
 * and logs the change; a failed write changes nothing. Deletes take the
 * dependants with them (a key manager its key mappings; an application its
 * key mappings and subscriptions). Nothing here answers HTTP.
 */
#ifndef GSIM_OAUTH_H
#define GSIM_OAUTH_H

#include "gjwt.h"
#include "sim.h"

typedef struct gsim_oauth_km {
  char id[GSIM_API_ID_MAX];
  char name[GSIM_KM_NAME_MAX];
  char issuer[GSIM_ISSUER_MAX];
  gjwt_alg alg;
  EVP_PKEY *key;
  json_t *json; /* as answered and stored */
} gsim_oauth_km;

typedef struct gsim_oauth_app {
  char id[GSIM_API_ID_MAX];
  char name[GSIM_KM_NAME_MAX];
  json_t *json;
} gsim_oauth_app;

typedef struct gsim_oauth_mapping {
  char consumer_key[GSIM_CONSUMER_KEY_MAX];
  char app_id[GSIM_API_ID_MAX];
  char key_type[16]; /* PRODUCTION or SANDBOX */
  char km_name[GSIM_KM_NAME_MAX];
  json_t *json;
} gsim_oauth_mapping;

typedef struct gsim_oauth_sub {
  char id[GSIM_API_ID_MAX];
  char app_id[GSIM_API_ID_MAX];
  char api_id[GSIM_API_ID_MAX];
  char tier[GSIM_TIER_MAX];
  json_t *json;
} gsim_oauth_sub;

typedef enum gsim_oauth_kind {
  GSIM_OAUTH_KM = 0,
  GSIM_OAUTH_APP,
  GSIM_OAUTH_MAPPING,
  GSIM_OAUTH_SUB,
} gsim_oauth_kind;

/* What an add did. */
typedef enum gsim_oauth_change {
  GSIM_OAUTH_CHANGED = 0,  /* added: *added points at the new item */
  GSIM_OAUTH_FULL,         /* the kind's GSIM_MAX_* is reached; nothing changed */
  GSIM_OAUTH_STORE_FAILED, /* the store refused (gsim_store_error); nothing changed */
} gsim_oauth_change;

/* Lookups (o: sim->oauth): the item, or NULL. */
gsim_oauth_km *gsim_oauth_km_by_id(struct gsim_oauth *o, const char *id);
gsim_oauth_km *gsim_oauth_km_by_name(struct gsim_oauth *o, const char *name);
gsim_oauth_km *gsim_oauth_km_by_issuer(struct gsim_oauth *o, const char *issuer);
gsim_oauth_app *gsim_oauth_app_by_id(struct gsim_oauth *o, const char *id);
gsim_oauth_app *gsim_oauth_app_by_name(struct gsim_oauth *o, const char *name);
gsim_oauth_mapping *gsim_oauth_mapping_by_key(struct gsim_oauth *o, const char *consumer_key);
/* The application's key mapping of that key manager and key type. */
gsim_oauth_mapping *gsim_oauth_mapping_of(struct gsim_oauth *o, const char *app_id,
                                          const char *km_name, const char *key_type);
gsim_oauth_sub *gsim_oauth_sub_by_id(struct gsim_oauth *o, const char *id);
/* The application's subscription to the API. */
gsim_oauth_sub *gsim_oauth_sub_of(struct gsim_oauth *o, const char *app_id, const char *api_id);

/* A new array of the JSON (new references) of every item of kind, in
 * creation order; for key mappings and subscriptions only those of app_id,
 * for subscriptions only those to api_id (NULL: any). */
json_t *gsim_oauth_list(gsim *sim, gsim_oauth_kind kind, const char *app_id, const char *api_id);

/* Adds a key manager (value: its certificates.value as posted); key is taken
 * only when the answer is GSIM_OAUTH_CHANGED. */
gsim_oauth_change gsim_oauth_km_add(gsim *sim, const char *name, const char *issuer, gjwt_alg alg,
                                    const char *value, EVP_PKEY *key, const gsim_oauth_km **added);
gsim_oauth_change gsim_oauth_app_add(gsim *sim, const char *name, const char *tier,
                                     const gsim_oauth_app **added);
gsim_oauth_change gsim_oauth_mapping_add(gsim *sim, const gsim_oauth_app *app,
                                         const gsim_oauth_km *km, const char *consumer_key,
                                         const char *key_type, const gsim_oauth_mapping **added);
gsim_oauth_change gsim_oauth_sub_add(gsim *sim, const gsim_oauth_app *app, const gsim_api *api,
                                     const char *tier, const gsim_oauth_sub **added);
/* Deletes (with the dependants): 0, or -1 when the store refused (nothing changed). */
int gsim_oauth_km_delete(gsim *sim, gsim_oauth_km *km);
int gsim_oauth_app_delete(gsim *sim, gsim_oauth_app *app);
int gsim_oauth_sub_delete(gsim *sim, gsim_oauth_sub *s);

#endif
