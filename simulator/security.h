/* security.h - the security chain's pure parts, shared by security.c,
 * throttle.c, faults.c and the unit tests (internal to the simulator; sim.h
 * holds the contract with the rest of the gateway).
 *
 * gsim_chain_decide() is WSO2's APIAuthenticationHandler reduced to a
 * function of the profile's rule rows, the API's security flags and what
 * each authenticator found: no sockets, no clock, so a table of cases can
 * check it by hand for every profile (and gatecert-introspect gives the same
 * verdicts for a real gateway).
 */
#ifndef GSIM_SECURITY_H
#define GSIM_SECURITY_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"

#define GSIM_CODE_UNCLASSIFIED 900900
#define GSIM_CODE_INVALID      900901
#define GSIM_CODE_MISSING      900902
#define GSIM_CODE_FORBIDDEN    900908
#define GSIM_CODE_THROTTLED    900804

/* What the mTLS authenticator found. */
typedef enum gsim_cert_state {
  GSIM_CERT_ABSENT = 0, /* no certificate (or one not in the in-memory trust) */
  GSIM_CERT_VALID,      /* associated with the API */
  GSIM_CERT_UNKNOWN,    /* presented but not associated with the API */
  GSIM_CERT_BAD_HEADER, /* the load balancer header did not decode */
} gsim_cert_state;

/* Who authenticated a request that passed. */
typedef enum gsim_auth_by { GSIM_BY_NONE = 0, GSIM_BY_MTLS, GSIM_BY_OAUTH } gsim_auth_by;

#define GSIM_CHALLENGE_MTLS  0x1u
#define GSIM_CHALLENGE_OAUTH 0x2u

typedef struct gsim_chain_decision {
  int pass;            /* 1: authenticated */
  gsim_auth_by by;     /* when pass: whose identity throttles the request */
  int code;            /* when !pass: 900900, 900901, 900902 or 900908 */
  int status;          /* when !pass: 401, 403 or 500 */
  unsigned challenges; /* GSIM_CHALLENGE_*: authenticators of the API */
  int mtls_ran;        /* the mTLS authenticator was consulted */
  int oauth_ran;       /* the OAuth2 authenticator was consulted */
  /* The rule row that shaped the verdict: mutualssl + oauth2 with no
   * mandatory flag (GSIM_RF_PRIORITY_NO_FLAGS) or with the optional flags
   * (GSIM_RF_BOTH_OPTIONAL); NULL for WSO2's plain loop. */
  const gsim_rule *rule;
} gsim_chain_decision;

/* The chain's verdict under rules (the profile's rows, --break applied) for
 * an API's security bits (GSIM_SEC_*), the mTLS outcome and the OAuth2
 * outcome. The OAuth2 outcome is read only when the chain reaches OAuth2
 * (oauth_ran), so a caller may decide once with GSIM_OAUTH_MISSING and
 * validate the token only when oauth_ran says so. */
void gsim_chain_decide(const gsim_rules *rules, unsigned security, gsim_cert_state cert,
                       gsim_oauth_status token, gsim_chain_decision *out);

/* The load balancer's client certificate header (cert_header.c): the
 * value as sent, encoded as client_certificate_encode says (1: URL-encoded
 * base64 of DER or of PEM; 0: PEM with spaces for newlines) -> exactly one
 * certificate (the caller frees it), or NULL with why filled. */
X509 *gsim_cert_header_decode(const char *value, int encoded, char *why, size_t why_len);

/* The fault texts of a code. */
const char *gsim_auth_message(int code);
const char *gsim_auth_description(int code);

/* ---- throttling (throttle.c) ------------------------------------------------ */

/* Counts one request under key against tier at now_ms (fixed window from the
 * key's first request). 1: allowed; 0: over the limit, *next_ms = the end of
 * the window. An unlimited tier (requests 0) is always allowed and uses no
 * slot. Bounded table: expired windows are evicted; when every slot is live,
 * the oldest window is dropped (logged). */
int gsim_throttle_hit(gsim *sim, const char *key, const gsim_tier *tier, int64_t now_ms,
                      int64_t *next_ms);
/* Answers a throttled request (rule family throttle-out): the status, body
 * and headers of the profile's row, with next_ms as the next access time. */
void gsim_throttle_reply(gsim *sim, struct evhttp_request *req, int64_t next_ms);
/* WSO2's next access time: "2030-Jan-01 00:01:00+0000 UTC" (out: 40 bytes). */
void gsim_throttle_format_next(int64_t ms, char out[40]);
/* Live counters (for tests and status). */
size_t gsim_throttle_count(const gsim *sim);

/* ---- faults with a namespace (faults.c) -------------------------------------- */

/* A security or throttling fault: JSON {"code","message","description"}, or
 * XML <prefix:fault xmlns:prefix="ns"> with code, message, description (no
 * type element, as WSO2's auth and throttle handlers write them). */
void gsim_fault_send_ns(gsim *sim, struct evhttp_request *req, int http_status, const char *prefix,
                        const char *ns, const char *code, const char *message,
                        const char *description);
/* The same with one more field after description (none when extra_value is
 * NULL): the throttle's nextAccessTime. */
void gsim_fault_send_ns_extra(gsim *sim, struct evhttp_request *req, int http_status,
                              const char *prefix, const char *ns, const char *code,
                              const char *message, const char *description, const char *extra_name,
                              const char *extra_value);

#endif
