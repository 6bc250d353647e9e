/* sap.c - the sap profile's trust and key stores (placeholder: being written). */
#include "sim.h"

int gsim_sap_init(gsim *sim, char *why, size_t why_len) {
  (void)sim, (void)why, (void)why_len;
  return 0;
}
void gsim_sap_free(gsim *sim) { (void)sim; }
int gsim_sap_admin(gsim *sim, struct evhttp_request *req, const char *path) {
  (void)sim, (void)req, (void)path;
  return 0;
}
