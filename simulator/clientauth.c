/* clientauth.c - client to gateway mutual TLS (placeholder: being written).
 * The listener presents the gateway identity and asks for no client certificate. */
#include "sim.h"

int gsim_listener_init(gsim *sim, EVP_PKEY *key, STACK_OF(X509) * chain, char *why,
                       size_t why_len) {
  (void)sim, (void)key, (void)chain, (void)why, (void)why_len;
  return 0;
}
void gsim_listener_free(gsim *sim) { (void)sim; }
SSL *gsim_listener_new_ssl(gsim *sim) { return SSL_new(sim->server_ctx); }
void gsim_listener_check(gsim *sim) { (void)sim; }
int gsim_listener_reload_now(gsim *sim, char *why, size_t why_len) {
  (void)sim, (void)why, (void)why_len;
  return 0;
}
json_t *gsim_listener_status(gsim *sim) {
  (void)sim;
  return json_object();
}
int gsim_listener_memory_trusts(gsim *sim, X509 *cert) {
  (void)sim, (void)cert;
  return 0;
}
int gsim_listener_handshake_trusts(gsim *sim, X509 *cert) {
  (void)sim, (void)cert;
  return 0;
}
const gsim_client_cert *gsim_client_cert_match(gsim *sim, const gsim_api *api, X509 *cert,
                                               STACK_OF(X509) * chain) {
  (void)sim, (void)api, (void)cert, (void)chain;
  return NULL;
}
void gsim_client_certs_route(gsim *sim, struct evhttp_request *req, gsim_api *api,
                             const char *rest) {
  (void)sim, (void)api, (void)rest;
  gsim_rest_error(req, 501, "Not Implemented", "client certificates are not implemented yet");
}
int gsim_client_certs_drop_api(gsim *sim, const char *api_id) {
  (void)sim, (void)api_id;
  return 0;
}
