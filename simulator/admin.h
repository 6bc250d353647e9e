/* admin.h - the admin API's handlers below its route table (admin.c).
 *
 * Each returns 1 when path is its own (the request is then answered), 0 when
 * not. They call down into the domain modules and rest.c, never up into
 * admin.c.
 */
#ifndef GSIM_ADMIN_H
#define GSIM_ADMIN_H

#include <event2/http.h>

#include "sim.h"

/* admin_certs.c: endpoint certificates under the version's path (rule
 * rest-paths), v0.14's /clientCertificates (to clientauth.c), and 404 for
 * the other version's certificate paths. */
int gsim_admin_certs(gsim *sim, struct evhttp_request *req, const char *path);
/* The 404 description of /apis/{id}/client-cert... where client certificates
 * live elsewhere (rule rest.publisher-v0.14), NULL where they are there. */
const char *gsim_admin_certs_elsewhere(const gsim *sim);

/* admin_apis.c: /api/am/publisher/v4/apis... */
int gsim_admin_apis(gsim *sim, struct evhttp_request *req, const char *path);

#endif
