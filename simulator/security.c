/* security.c - the security chain (placeholder: being written; lets every request through). */
#include "sim.h"

int gsim_security_check(gsim *sim, struct evhttp_request *req, gsim_api *api) {
  (void)sim, (void)req, (void)api;
  return 0;
}
