/* admin.h - the admin API's handlers below its route table (admin.c).
 *
 * The route handlers (gsim_admin_certs, _apis, _oauth, _odata) return 1 when
 * path is their own (the request is then answered), 0 when not;
 * admin_clientcerts.c's are called by admin_certs.c and admin_apis.c with
 * the path already split. They call down into the domain modules,
 * admin_common.c and rest.c, never up into admin.c.
 */
#ifndef GSIM_ADMIN_H
#define GSIM_ADMIN_H

#include <event2/http.h>

#include "sim.h"

/* admin_common.c: what the admin files share. */
/* 500 with WSO2's text; logs "<who>: <what>: <the store's last error>". */
void gsim_admin_internal(gsim *sim, struct evhttp_request *req, const char *who, const char *what);
/* 404 "Requested <what> with Id '<id>' not found". */
void gsim_admin_id_not_found(struct evhttp_request *req, const char *what, const char *id);
/* The certificate of an upload under the profile's rules (rest.c); NULL
 * after answering, logged as "admin: uploaded <what> unreadable (...)". */
X509 *gsim_admin_upload_cert(gsim *sim, struct evhttp_request *req, const gsim_mp_part *part,
                             const char *what);

/* admin_certs.c: endpoint certificates under the version's path (rule
 * rest-paths), v0.14's /clientCertificates (to clientauth.c), and 404 for
 * the other version's certificate paths. */
int gsim_admin_certs(gsim *sim, struct evhttp_request *req, const char *path);
/* The 404 description of /apis/{id}/client-cert... where client certificates
 * live elsewhere (rule rest.publisher-v0.14), NULL where they are there. */
const char *gsim_admin_certs_elsewhere(const gsim *sim);

/* admin_apis.c: /api/am/publisher/v4/apis... */
int gsim_admin_apis(gsim *sim, struct evhttp_request *req, const char *path);

/* admin_clientcerts.c: an API's client certificates,
 * /apis/{id}/client-certificates[...] and /apis/{id}/client-certs/{PRODUCTION|SANDBOX}[...]:
 * rest is what follows the API id (starts with "/client-cert"). */
void gsim_admin_client_certs(gsim *sim, struct evhttp_request *req, gsim_api *api,
                             const char *rest);
/* /api/am/publisher/v0.14/clientCertificates[...] (rule rest.publisher-v0.14):
 * rest is what follows "clientCertificates"; the form's or query's apiId, or
 * the alias, names the API. */
void gsim_admin_client_certs_v014(gsim *sim, struct evhttp_request *req, const char *rest);

/* admin_oauth.c: /api/am/admin/v4/key-managers...,
 * /api/am/devportal/v3/applications..., /api/am/devportal/v3/subscriptions... */
int gsim_admin_oauth(gsim *sim, struct evhttp_request *req, const char *path);

/* admin_odata.c: the sap profiles' OData service, /oauth/token and the retired
 * /sap/v1 (rule rest.sap-odata only). basic_ok: the request carried the admin
 * credentials as HTTP basic (admin.c checked them); the service also takes a
 * bearer token, so it answers its own 401. */
int gsim_admin_odata(gsim *sim, struct evhttp_request *req, const char *path, int basic_ok);

#endif
