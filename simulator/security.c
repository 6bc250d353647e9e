/* security.c - the data plane's security chain: client mutual TLS (from the
 * TLS connection or a load balancer's header), OAuth2, their priority, the
 * faults, and throttling of what passed.
 *
 * WSO2's APIAuthenticationHandler runs its authenticators in priority order -
 * mutual SSL (0), then OAuth2 (10) - and only the mandatory ones decide.
 * gsim_chain_decide() (chain.c, shared with gatecert-introspect) is that loop as a pure function of the profile's rule
 * rows, the API's flags and what each authenticator found (unit-tested by a
 * hand-made table per profile):
 *
 *   M = mutualssl, Mm = mutualssl_mandatory, O = oauth2,
 *   Om = oauth_basic_auth_api_key_mandatory, Mo = mutualssl_optional,
 *   Oo = oauth_basic_auth_api_key_optional;
 *   !M && !Om -> Om; !O && !Mm -> Mm; neither M nor O -> O (WSO2's default).
 *   mTLS:   valid {1, Mm, go on}; absent / not associated {0, Mm, go on if
 *           !Mm, 900901}; header undecodable {0, Mm, go on if !Mm, 900900}
 *   OAuth2: OK {1, Om, stop}; missing 900902, invalid 900901, forbidden
 *           900908 {0, Om, go on}
 *   authenticated = the result of the last mandatory authenticator run;
 *   failing: the first failure that stopped the chain gives the code, else
 *   the last mandatory failure other than 900902, else 900902, else 900900.
 *
 * M + O with neither mandatory flag is where the versions differ; the rule
 * rows decide (rules.c):
 *   - with Mo or Oo, rule family both-optional: variant EITHER (wso2-4,
 *     4.4's isAuthenticate: an optional authenticator's success
 *     authenticates when no mandatory one failed): both run, either success
 *     passes (a good token names the caller over a good certificate, as the
 *     loop's last success does); neither: the row's status and code (401
 *     900901, the optional mTLS authenticator's invalid credentials), 500
 *     900900 for an undecodable header. Variant UNKNOWN_FLAGS (wso2-2.6,
 *     sap): admin.c refuses the flags; an API that has them anyway (a store
 *     written by another profile, an introspect config) is read without them.
 *   - without them, rule family priority: variant OAUTH_MANDATORY (wso2-4:
 *     the Publisher adds Om since 3.0) runs the loop with Om; variant
 *     SEED_TABLE (wso2-2.6, sap: seed 003, 6.4.73's MultiAuthenticator) - a
 *     valid certificate passes and the token is ignored; otherwise a token
 *     sent decides; a certificate sent and refused without a token is
 *     900901 (900900 for an undecodable header); nothing sent is 900902.
 *
 * The client certificate is the TLS peer's, or in load balancer mode the one
 * in the configured header (default X-WSO2-CLIENT-CERTIFICATE). The header is
 * honoured only when enable_client_validation is off, or the connection's own
 * peer (the load balancer) is trusted by the listener's handshake trust and,
 * beyond WSO2, its SHA-256 is pinned when trusted_load_balancers is set. From
 * a peer that presented no certificate the lb-header rule row decides: variant
 * IGNORE_HEADER (every profile) ignores the header - the API sees no
 * certificate - and the mutant HONOUR_WITHOUT_PEER (--break lb-header)
 * honours it. The header is decoded as WSO2's Utils.getClientCertificate
 * does (cert_header.c: URL-decoded, BEGIN/END lines and whitespace dropped,
 * base64, DER; with client_certificate_encode off, raw PEM whose newlines
 * came as spaces). Either way the certificate must be in the
 * in-memory listener trust store, then matched to the API (serial + issuer or
 * subject, clientauth.c). What reaches the backend of a header the gateway
 * read as the client's certificate - by the mutual SSL authenticator, or by
 * the OAuth2 one's cnf check of a JWT that passed - is the lb-header-forward
 * row's: variant REMOVE_WHEN_READ (wso2-4: WSO2 4.7, carbon-apimgt 9.32.177+
 * Utils.getClientCertificateFromHeader) removes it unless
 * forward_client_certificate_header is true; PASS_ON (wso2-2.6, sap) passes
 * it on as sent. A header the gateway ignored reaches the backend as sent
 * under every row, as in WSO2.
 *
 * 401s carry WWW-Authenticate with every authenticator's challenge. Bodies
 * are {"code","message","description"} or <ams:fault> (xml). A request that
 * passes is throttled (throttle.c) under WSO2's subscription-level key
 * (ThrottleHandler.getSubscriptionLevelThrottleKey: application id, the
 * API's synapse context - context/version -, version and, since 4.x, tier),
 * built from the throttle-key row. Variant APP_TIER (wso2-4, sap): by its
 * client certificate's tier under "MutualSSLAuthApplication:/ctx/1.0:1.0:tier"
 * (the constant application id of MutualSSLAuthenticator since 4.4), by the
 * OAuth2 subscription's tier under "application:/ctx/1.0:1.0:tier". Variant
 * NULL_NO_TIER (wso2-2.6: 6.4.73's key, no application id for mutual SSL, no
 * tier): "null:/ctx/1.0:1.0" for every certificate of the API version and
 * "application:/ctx/1.0:1.0" for a token, each request still judged against
 * its own tier's limit on that one counter. With per_certificate (beyond
 * WSO2) ":" + the cert's unique id is appended under either row. The key is
 * logged when a request is throttled out, and the throttled answer is the
 * throttle-out rule's (gsim_throttle_reply). Tokens are never logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <openssl/evp.h>

#include "security.h"

#define NS_SECURITY    "http://wso2.org/apimanager/security"
#define CHALLENGE_MTLS "Mutual SSL realm=\"WSO2 API Manager\""
#define CHALLENGE_BEAR "Bearer realm=\"WSO2 API Manager\""

/* ---- the client certificate --------------------------------------------------- */

static SSL *request_ssl(struct evhttp_request *req) {
  struct evhttp_connection *conn = evhttp_request_get_connection(req);
  struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
  return bev ? bufferevent_openssl_get_ssl(bev) : NULL;
}

static void sha256_hex(X509 *cert, char out[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  out[0] = '\0';
  if (X509_digest(cert, EVP_sha256(), md, &n) != 1)
    return;
  for (unsigned i = 0; i < n && i < 32; i++)
    snprintf(out + (size_t)2 * i, 3, "%02x", md[i]);
}

static const char *cert_header_name(const gsim *sim) {
  return sim->opt->cert_header ? sim->opt->cert_header : "X-WSO2-CLIENT-CERTIFICATE";
}

/* Whether the load balancer header may be read on this connection: the peer
 * (the balancer) was verified by this connection's handshake with the chain
 * it sent, or its certificate alone passes the listener's current trust. A
 * peer without a certificate: the lb-header rule row (ignored, or honoured by
 * the mutant). 1, or 0 with why (for the log). */
static int header_honoured(gsim *sim, SSL *ssl, X509 *peer, char *why, size_t why_len) {
  const gsim_options *opt = sim->opt;
  if (!opt->client_cert_validation)
    return 1;
  if (!peer) {
    const gsim_rule *row = gsim_rule_of(opt, GSIM_RF_LB_HEADER_NO_PEER);
    snprintf(why, why_len, "the connection's peer presented no certificate (rule %s)", row->id);
    return row->variant == GSIM_LB_HONOUR_WITHOUT_PEER;
  }
  int verified =
      ssl && SSL_get_verify_result(ssl) == X509_V_OK && SSL_get0_verified_chain(ssl) != NULL;
  snprintf(why, why_len, "the connection's peer is not a trusted load balancer");
  if (!verified && !gsim_listener_handshake_trusts(sim, peer))
    return 0;
  if (opt->lb_fingerprint_count == 0)
    return 1;
  char hex[65];
  sha256_hex(peer, hex);
  for (size_t i = 0; i < opt->lb_fingerprint_count; i++)
    if (strcmp(opt->lb_fingerprints[i], hex) == 0)
      return 1;
  snprintf(why, why_len, "the connection's peer is not a pinned load balancer");
  return 0;
}

/* The certificate header once the gateway has read it as the client's
 * certificate, by the lb-header-forward row: REMOVE_WHEN_READ (WSO2 4.7's
 * Utils.getClientCertificateFromHeader) removes it from the transport headers
 * unless forward_client_certificate_header is true, so the backend never sees
 * it; PASS_ON leaves it as sent. A header the gateway ignored (not honoured,
 * or an API whose authenticators never read a certificate) is never passed
 * here. Every copy goes, as WSO2's header map holds one value per name. */
static void strip_cert_header(gsim *sim, struct evhttp_request *req) {
  const gsim_rule *row = gsim_rule_of(sim->opt, GSIM_RF_LB_HEADER_FORWARD);
  if (row->variant != GSIM_FORWARD_REMOVE_WHEN_READ || sim->opt->forward_cert_header)
    return;
  struct evkeyvalq *in = evhttp_request_get_input_headers(req);
  while (evhttp_remove_header(in, cert_header_name(sim)) == 0)
    ;
}

typedef struct mtls_result {
  gsim_cert_state state;
  const gsim_client_cert *match;
} mtls_result;

static void log_cert(gsim *sim, const gsim_api *api, const char *what, X509 *cert) {
  char subject[256] = "", hex[65] = "";
  if (cert) {
    X509_NAME_oneline(X509_get_subject_name(cert), subject, (int)sizeof(subject));
    sha256_hex(cert, hex);
  }
  gsim_log(sim, "WARN", "api %s:%s: mutual SSL: %s (%s, sha256 %s)", api->name, api->version, what,
           subject, hex);
}

static mtls_result mtls_authenticate(gsim *sim, struct evhttp_request *req, const gsim_api *api) {
  mtls_result r = {GSIM_CERT_ABSENT, NULL};
  SSL *ssl = request_ssl(req);
  X509 *peer = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
  STACK_OF(X509) *chain = NULL;
  X509 *cert = peer, *owned = NULL;
  const char *name = cert_header_name(sim);
  const char *value = evhttp_find_header(evhttp_request_get_input_headers(req), name);
  char ignored[128] = "";
  if (value && header_honoured(sim, ssl, peer, ignored, sizeof(ignored))) {
    char why[160] = "";
    owned = gsim_cert_header_decode(value, sim->opt->cert_header_encoded, why, sizeof(why));
    strip_cert_header(sim, req); /* read as the client's certificate */
    if (!owned) {
      gsim_log(sim, "ERROR", "api %s:%s: %s: %s: Error while validating into Certificate Existence",
               api->name, api->version, name, why);
      r.state = GSIM_CERT_BAD_HEADER;
      return r;
    }
    cert = owned;
  } else {
    if (value) {
      char what[160];
      snprintf(what, sizeof(what), "certificate header ignored: %s", ignored);
      log_cert(sim, api, what, peer);
    }
    if (ssl && peer) {
      chain = SSL_get0_verified_chain(ssl);
      if (!chain)
        chain = SSL_get_peer_cert_chain(ssl);
    }
  }
  if (!cert)
    return r;
  if (!gsim_listener_memory_trusts(sim, cert)) {
    log_cert(sim, api, "certificate not in the in-memory listener trust store", cert);
  } else if (!(r.match = gsim_client_cert_match(sim, api, cert, chain))) {
    r.state = GSIM_CERT_UNKNOWN;
    log_cert(sim, api, "certificate not associated with the API", cert);
  } else
    r.state = GSIM_CERT_VALID;
  X509_free(owned);
  return r;
}

/* ---- answering ---------------------------------------------------------------- */

static void send_auth_fault(gsim *sim, struct evhttp_request *req, const gsim_chain_decision *d) {
  if (d->status == 401) {
    char value[256] = "";
    if (d->challenges & GSIM_CHALLENGE_MTLS)
      snprintf(value, sizeof(value), "%s", CHALLENGE_MTLS);
    if (d->challenges & GSIM_CHALLENGE_OAUTH) {
      size_t n = strlen(value);
      snprintf(value + n, sizeof(value) - n, "%s%s", n ? ", " : "", CHALLENGE_BEAR);
    }
    size_t n = strlen(value);
    snprintf(value + n, sizeof(value) - n,
             ", error=\"invalid_token\", error_description=\"The provided token is invalid\"");
    evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", value);
  }
  char code[16];
  snprintf(code, sizeof(code), "%d", d->code);
  gsim_fault_send_ns(sim, req, d->status, "ams", NS_SECURITY, code, gsim_auth_message(d->code),
                     gsim_auth_description(d->code));
}

static int throttle(gsim *sim, struct evhttp_request *req, const gsim_api *api,
                    const gsim_chain_decision *d, const mtls_result *m,
                    const gsim_oauth_result *o) {
  char key[1600];
  const char *tier_name, *app_id;
  const gsim_rule *row = gsim_rule_of(sim->opt, GSIM_RF_THROTTLE_KEY);
  int with_tier = row->variant == GSIM_KEY_APP_TIER;
  if (d->by == GSIM_BY_MTLS && m->match) {
    tier_name = m->match->tier;
    /* MutualSSLAuthenticator's application id: a constant since 4.4, none
     * (Java's "null" in the key) in 2.6 */
    app_id = with_tier ? "MutualSSLAuthApplication" : "null";
  } else if (d->by == GSIM_BY_OAUTH) {
    tier_name = o->tier;
    app_id = o->application_id;
  } else
    return 0;
  int n = snprintf(key, sizeof(key), "%s:%s/%s:%s%s%s", app_id, api->context, api->version,
                   api->version, with_tier ? ":" : "", with_tier ? tier_name : "");
  if (d->by == GSIM_BY_MTLS && sim->opt->throttle_per_certificate && n > 0 &&
      (size_t)n < sizeof(key))
    snprintf(key + n, sizeof(key) - (size_t)n, ":%s", m->match->unique_id);
  const gsim_tier *tier = gsim_tier_find(sim->opt, tier_name);
  if (!tier) {
    gsim_log(sim, "WARN", "api %s:%s: unknown throttling tier \"%s\": not throttled", api->name,
             api->version, tier_name);
    return 0;
  }
  int64_t next = 0;
  if (gsim_throttle_hit(sim, key, tier, gsim_now_ms(), &next))
    return 0;
  gsim_log(sim, "INFO", "api %s:%s: throttled out (tier %s, %ld per %ld s, key %s)", api->name,
           api->version, tier->name, tier->requests, tier->window_s, key);
  gsim_throttle_reply(sim, req, next);
  return 1;
}

int gsim_security_check(gsim *sim, struct evhttp_request *req, gsim_api *api) {
  mtls_result m = {GSIM_CERT_ABSENT, NULL};
  if (api->security & GSIM_SEC_MUTUALSSL)
    m = mtls_authenticate(sim, req, api);
  gsim_oauth_result o;
  memset(&o, 0, sizeof(o));
  o.status = GSIM_OAUTH_MISSING;
  const gsim_rules *rules = &sim->opt->rules;
  gsim_chain_decision d;
  gsim_chain_decide(rules, api->security, m.state, o.status, &d);
  if (d.oauth_ran) { /* the chain reaches OAuth2: validate the token, then decide for good */
    gsim_oauth_authenticate(sim, req, api, &o);
    gsim_chain_decide(rules, api->security, m.state, o.status, &d);
    if (o.status != GSIM_OAUTH_OK && o.status != GSIM_OAUTH_MISSING)
      gsim_log(sim, "WARN", "api %s:%s: OAuth2: %s", api->name, api->version, o.reason);
  }
  if (!d.pass) {
    gsim_log(sim, "INFO", "api %s:%s: authentication failed: %d %s%s%s%s", api->name, api->version,
             d.code, gsim_auth_message(d.code), d.rule ? " (rule " : "", d.rule ? d.rule->id : "",
             d.rule ? ")" : "");
    send_auth_fault(sim, req, &d);
    return 1;
  }
  if (o.status == GSIM_OAUTH_OK) {
    /* WSO2's JWTValidator reads the client certificate for its cnf check
     * before it validates a JWT: a header it honours goes the same way */
    SSL *ssl = request_ssl(req);
    char ignored[128];
    if (evhttp_find_header(evhttp_request_get_input_headers(req), cert_header_name(sim)) &&
        header_honoured(sim, ssl, ssl ? SSL_get0_peer_certificate(ssl) : NULL, ignored,
                        sizeof(ignored)))
      strip_cert_header(sim, req);
  }
  return throttle(sim, req, api, &d, &m, &o);
}
