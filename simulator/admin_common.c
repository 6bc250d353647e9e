/* admin_common.c - what every admin_*.c file answers the same way: a 500
 * with its log line, the 404 of an unknown id, an uploaded certificate read
 * under the profile's rules (its refusal logged).
 *
 * These sit between the admin files and rest.c: rest.c answers without
 * knowing the simulator; here the answer also goes to the gateway log in
 * the caller's words. Nothing here routes or keeps state.
 */
#include "admin.h"
#include "sim.h"

void gsim_admin_internal(gsim *sim, struct evhttp_request *req, const char *who, const char *what) {
  gsim_log(sim, "ERROR", "%s: %s: %s", who, what, gsim_store_error(sim->store));
  gsim_rest_internal(req);
}

void gsim_admin_id_not_found(struct evhttp_request *req, const char *what, const char *id) {
  gsim_rest_not_found(req, "Requested %s with Id '%s' not found", what, id);
}

X509 *gsim_admin_upload_cert(gsim *sim, struct evhttp_request *req, const gsim_mp_part *part,
                             const char *what) {
  char reason[256];
  X509 *cert = gsim_rest_upload_cert(req, &sim->opt->rules, part, reason, sizeof(reason));
  if (!cert)
    gsim_log(sim, "ERROR", "admin: uploaded %s unreadable (%s)", what, reason);
  return cert;
}
