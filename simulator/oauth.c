/* oauth.c - OAuth2 (placeholder: being written). */
#include <string.h>

#include "sim.h"

int gsim_oauth_init(gsim *sim, char *why, size_t why_len) {
  (void)sim, (void)why, (void)why_len;
  return 0;
}
void gsim_oauth_free(gsim *sim) { (void)sim; }
void gsim_oauth_authenticate(gsim *sim, struct evhttp_request *req, const gsim_api *api,
                             gsim_oauth_result *out) {
  (void)sim, (void)req, (void)api;
  memset(out, 0, sizeof(*out));
  out->status = GSIM_OAUTH_MISSING;
}
int gsim_oauth_admin(gsim *sim, struct evhttp_request *req, const char *path) {
  (void)sim, (void)req, (void)path;
  return 0;
}
int gsim_oauth_drop_api(gsim *sim, const char *api_id) {
  (void)sim, (void)api_id;
  return 0;
}
