/* admin.c - the admin API's front door: authentication and the route table.
 *
 * Every call needs HTTP basic credentials (401 otherwise, compared in constant
 * time; the sap profiles' OData service also takes its bearer tokens) and runs the reload check first (reload.c), so an answer reflects
 * every tick up to its time. Then the path picks one handler, each in its own
 * file and each calling down into its domain module:
 *
 *   endpoint certificates, version paths   admin_certs.c (rule rest-paths;
 *                                          v0.14 client certificates:
 *                                          admin_clientcerts.c)
 *   /api/am/publisher/v4/apis...           admin_apis.c (client certificates:
 *                                          admin_clientcerts.c)
 *   /_sim/...                              control.c
 *   key managers, applications, subs       admin_oauth.c
 *   /oauth/token, /apiportal/...Management.svc admin_odata.c (sap profiles only; it
 *                                          takes a bearer token too, so it is
 *                                          asked before the 401)
 *
 * Bodies are bounded by libevent (GSIM_MAX_BODY: 413, drained, never buffered
 * whole); multipart bodies go through multipart.c (rest.c). A change is
 * written to the store (one transaction) before it is acknowledged, and only
 * then applied in memory; a failed write answers 500 and changes nothing.
 */
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "admin.h"
#include "framing.h"
#include "sim.h"

#define SIM_PREFIX "/_sim/"

/* ---- authentication ---------------------------------------------------------- */

static int authorized(gsim *sim, struct evhttp_request *req) {
  const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
  if (!auth || strncasecmp(auth, "Basic ", 6) != 0)
    return 0;
  const char *b64 = auth + 6;
  while (*b64 == ' ')
    b64++;
  size_t b64_len = strlen(b64);
  if (b64_len == 0 || b64_len > GSIM_MAX_AUTH_HEADER || b64_len % 4 != 0)
    return 0;
  unsigned char decoded[800];
  int n = EVP_DecodeBlock(decoded, (const unsigned char *)b64, (int)b64_len);
  if (n < 0)
    return 0;
  if (b64_len >= 1 && b64[b64_len - 1] == '=')
    n--;
  if (b64_len >= 2 && b64[b64_len - 2] == '=')
    n--;
  const char *user = sim->opt->admin_user, *password = sim->opt->admin_password;
  size_t user_len = strlen(user), pw_len = strlen(password);
  int ok = (size_t)n == user_len + 1 + pw_len && decoded[user_len] == ':' &&
           CRYPTO_memcmp(decoded, user, user_len) == 0 &&
           CRYPTO_memcmp(decoded + user_len + 1, password, pw_len) == 0;
  OPENSSL_cleanse(decoded, sizeof(decoded));
  return ok;
}

/* ---- dispatch --------------------------------------------------------------- */

void gsim_admin_request(struct evhttp_request *req, void *arg) {
  gsim *sim = arg;
  sim->stats.admin_requests++;
  gsim_framing_verdict refused = gsim_framing_refuse(req, GSIM_MAX_BODY);
  if (refused.status) { /* answered with Connection: close (framing.c) */
    gsim_log(sim, "INFO", "admin request refused: %d %s", refused.status, refused.reason);
    return;
  }
  gsim_reload_check(sim);
  int basic_ok = authorized(sim, req);
  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
  const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
  if (path && gsim_admin_odata(sim, req, path, basic_ok)) /* its own access: a token too */
    return;
  if (!basic_ok) {
    evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                      "Basic realm=\"gatecert-sim\"");
    gsim_rest_error(req, 401, "Unauthenticated",
                    "Authentication failed: valid admin credentials are required");
    return;
  }
  if (!path) {
    gsim_rest_bad_request(req, "The request URI could not be parsed");
    return;
  }
  if (gsim_admin_certs(sim, req, path) || gsim_admin_apis(sim, req, path))
    return;
  if (strncmp(path, SIM_PREFIX, strlen(SIM_PREFIX)) == 0)
    gsim_control_request(sim, req, path + strlen(SIM_PREFIX));
  else if (gsim_admin_oauth(sim, req, path))
    return;
  else
    gsim_rest_no_resource(req);
}
