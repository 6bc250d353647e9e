/* clientauth.h - what the admin API does to client certificates: the
 * operations clientauth.c offers admin_clientcerts.c.
 *
 * The certificates live in clientauth.c's map (one per API, key type and
 * alias, in creation order) and in the store (kind "client_cert"). An
 * operation writes the store first and changes the map only when the write
 * succeeded; a change marks both listener views changed (reload.c applies
 * them at their ticks) and logs it. Nothing here answers HTTP.
 */
#ifndef GSIM_CLIENTAUTH_H
#define GSIM_CLIENTAUTH_H

#include "sim.h"

/* How many client certificates the maps hold, and how many they may hold
 * (--max-client-certs: an upload past it is refused). */
size_t gsim_client_cert_count(const gsim *sim);
size_t gsim_client_cert_limit(const gsim *sim);
/* The certificate at position i (creation order), NULL past the end. */
gsim_client_cert *gsim_client_cert_at(gsim *sim, size_t i);
/* The first certificate with alias whose API is api_id and key type is
 * key_type (either NULL: any), or NULL. */
gsim_client_cert *gsim_client_cert_find(gsim *sim, const char *api_id, const char *key_type,
                                        const char *alias);
/* A certificate not yet added (its unique id computed from cert, which it
 * references); NULL on allocation failure. */
gsim_client_cert *gsim_client_cert_new(const gsim_options *opt, const char *api_id,
                                       const char *alias, const char *tier, const char *key_type,
                                       X509 *cert);
/* Adds c (always taken): stored, then in the map. GSIM_STORE_OK; EXISTS
 * when the store holds its key; another status when the store or the map
 * failed (nothing changed; the caller reads gsim_store_error). */
gsim_store_status gsim_client_cert_add(gsim *sim, gsim_client_cert *c);
/* Gives c the tier and, unless cert is NULL, the certificate cert: stored
 * (overwritten), then in the map. GSIM_STORE_OK, or the failure (nothing
 * changed). */
gsim_store_status gsim_client_cert_update(gsim *sim, gsim_client_cert *c, const char *tier,
                                          X509 *cert);
/* Deletes c from the store, then from the map (c is freed). GSIM_STORE_OK
 * (also when the store no longer had it), or the failure (nothing changed). */
gsim_store_status gsim_client_cert_delete(gsim *sim, gsim_client_cert *c);
/* A deployment of api_id (POST .../deploy-revision): its certificates a restart held out of the
 * listener views (rule restart.client-certs-until-redeploy) are queued for both views' next
 * ticks, as an upload is. Returns how many were held. */
size_t gsim_client_certs_redeploy(gsim *sim, const char *api_id);

#endif
