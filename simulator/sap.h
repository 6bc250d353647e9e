/* sap.h - what the admin API does to the sap profile's stores and API
 * providers: the checks and operations sap.c offers admin_sap.c.
 *
 * Entries (certificates of a trust store, key entries of a key store) and
 * API providers live in the store only (sap.c's kinds); an operation reads
 * or writes it, and a change to what an API provider uses marks the sender
 * trust changed and logs it. Nothing here answers HTTP: a status says what
 * happened, a description (400 and 409) says why in SAP's words.
 */
#ifndef GSIM_SAP_H
#define GSIM_SAP_H

#include "multipart.h"
#include "sim.h"

typedef enum gsim_sap_kind { GSIM_SAP_TRUST = 0, GSIM_SAP_KEY } gsim_sap_kind;

typedef enum gsim_sap_status {
  GSIM_SAP_OK = 0,
  GSIM_SAP_REFUSED,   /* refused (400): the description says why; nothing changed */
  GSIM_SAP_NOT_FOUND, /* nothing under that name */
  GSIM_SAP_FAILED,    /* the store failed (gsim_store_error); nothing changed */
} gsim_sap_status;

/* A store name: 1..128 of [A-Za-z0-9._-]. */
int gsim_sap_valid_store(const char *s);
/* Checks a certificate or provider name (reserved_rule: the reserved
 * prefixes are refused too); 0, or -1 with description filled. */
int gsim_sap_check_name(const char *name, int reserved_rule, char *description, size_t len);
/* An entry's store key "<store>/<name>": 0, or -1 when it does not fit. */
int gsim_sap_entry_key(char out[GSIM_OBJECT_KEY_MAX], const char *store, const char *name);
/* Counts an upload answered 400. */
void gsim_sap_count_refusal(gsim *sim);

/* Uploads file (password: NULL or the form's) as entry name of store k/store
 * (key: its gsim_sap_entry_key), overwriting one of that name: OK with
 * *replaced set and *reply what the store now holds (NULL when it cannot be
 * read back); REFUSED (logged) with description; FAILED. */
gsim_sap_status gsim_sap_entry_put(gsim *sim, gsim_sap_kind k, const char *store, const char *name,
                                   const char *key, const gsim_mp_part *file, const char *password,
                                   json_t **reply, int *replaced, char *description, size_t len);
/* The entries of store (a new array of their descriptions). */
gsim_sap_status gsim_sap_entries(gsim *sim, gsim_sap_kind k, const char *store, json_t **list);
/* One entry's description (*reply NULL when it cannot be described). */
gsim_sap_status gsim_sap_entry_get(gsim *sim, gsim_sap_kind k, const char *key, json_t **reply);
gsim_sap_status gsim_sap_entry_delete(gsim *sim, gsim_sap_kind k, const char *store,
                                      const char *name, const char *key);
/* Every store of kind k with its entry count (a new array). */
gsim_sap_status gsim_sap_stores(gsim *sim, gsim_sap_kind k, json_t **list);

/* Validates a provider definition: 0 with *out the normalised definition (a
 * new reference), or -1 with *status 400 or 409 and description, or 500
 * (the store failed). */
int gsim_sap_provider_check(gsim *sim, json_t *in, json_t **out, int *status, char *description,
                            size_t len);
/* Stores a checked definition (overwriting one of its name: *replaced). */
gsim_sap_status gsim_sap_provider_put(gsim *sim, json_t *def, int *replaced);
/* Every provider's definition (a new array), one's, or deleting one. */
gsim_sap_status gsim_sap_providers(gsim *sim, json_t **list);
gsim_sap_status gsim_sap_provider_get(gsim *sim, const char *name, json_t **def);
gsim_sap_status gsim_sap_provider_delete(gsim *sim, const char *name);

#endif
