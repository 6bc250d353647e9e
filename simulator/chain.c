/* chain.c - WSO2's authenticator chain as a pure function: the verdict of
 * APIAuthenticationHandler for an API's security flags, what the mutual TLS
 * authenticator found and what the OAuth2 one said, under the profile's rule
 * rows (priority, both-optional); and the fault texts of each code.
 *
 * The table it implements, and where the versions differ, is security.c's
 * top comment. Shared by security.c (the data plane) and gatecert-introspect
 * (introspect.c); no state, no I/O.
 */
#include <stddef.h>
#include <string.h>

#include "security.h"

/* ---- the decision ----------------------------------------------------------- */

typedef struct auth_step {
  int authenticated, mandatory, go_on, code;
} auth_step;

static auth_step mtls_step(gsim_cert_state cert, int mandatory) {
  auth_step s = {0, mandatory, !mandatory, GSIM_CODE_INVALID};
  if (cert == GSIM_CERT_VALID)
    s = (auth_step){1, mandatory, 1, 0};
  else if (cert == GSIM_CERT_BAD_HEADER)
    s.code = GSIM_CODE_UNCLASSIFIED;
  return s;
}

static int token_code(gsim_oauth_status token) {
  switch (token) {
  case GSIM_OAUTH_OK:
    return 0;
  case GSIM_OAUTH_MISSING:
    return GSIM_CODE_MISSING;
  case GSIM_OAUTH_FORBIDDEN:
    return GSIM_CODE_FORBIDDEN;
  case GSIM_OAUTH_INVALID:
  default:
    return GSIM_CODE_INVALID;
  }
}

static auth_step oauth_step(gsim_oauth_status token, int mandatory) {
  if (token == GSIM_OAUTH_OK)
    return (auth_step){1, mandatory, 0, 0};
  return (auth_step){0, mandatory, 1, token_code(token)};
}

static int code_status(int code) {
  if (code == GSIM_CODE_FORBIDDEN)
    return 403;
  if (code == GSIM_CODE_UNCLASSIFIED)
    return 500;
  return 401;
}

static void fail_with(gsim_chain_decision *out, int code) {
  out->pass = 0;
  out->by = GSIM_BY_NONE;
  out->code = code;
  out->status = code_status(code);
}

/* mutualssl + oauth2, neither mandatory, under the priority row's seed table
 * (seed 003; 6.4.73's MultiAuthenticator: mutual SSL first, OAuth2 only when
 * it fails). */
static void decide_seed_table(gsim_cert_state cert, gsim_oauth_status token,
                              gsim_chain_decision *out) {
  out->mtls_ran = 1;
  if (cert == GSIM_CERT_VALID) {
    out->pass = 1;
    out->by = GSIM_BY_MTLS;
    return;
  }
  out->oauth_ran = 1; /* a token, if any, decides */
  if (token == GSIM_OAUTH_OK) {
    out->pass = 1;
    out->by = GSIM_BY_OAUTH;
  } else if (token != GSIM_OAUTH_MISSING)
    fail_with(out, token_code(token));
  else if (cert != GSIM_CERT_ABSENT)
    fail_with(out, cert == GSIM_CERT_BAD_HEADER ? GSIM_CODE_UNCLASSIFIED : GSIM_CODE_INVALID);
  else
    fail_with(out, GSIM_CODE_MISSING);
}

/* mutualssl + oauth2 with the optional flags (both-optional, variant EITHER):
 * both authenticators run; either success passes; neither answers the row's
 * status and code. */
static void decide_either(const gsim_rule *row, gsim_cert_state cert, gsim_oauth_status token,
                          gsim_chain_decision *out) {
  out->mtls_ran = 1;
  out->oauth_ran = 1;
  if (token == GSIM_OAUTH_OK || cert == GSIM_CERT_VALID) {
    out->pass = 1;
    out->by = token == GSIM_OAUTH_OK ? GSIM_BY_OAUTH : GSIM_BY_MTLS;
  } else if (cert == GSIM_CERT_BAD_HEADER) {
    fail_with(out, GSIM_CODE_UNCLASSIFIED);
  } else {
    fail_with(out, row->code ? (int)strtol(row->code, NULL, 10) : GSIM_CODE_INVALID);
    if (row->status)
      out->status = row->status;
  }
}

void gsim_chain_decide(const gsim_rules *rules, unsigned security, gsim_cert_state cert,
                       gsim_oauth_status token, gsim_chain_decision *out) {
  memset(out, 0, sizeof(*out));
  int m = (security & GSIM_SEC_MUTUALSSL) != 0;
  int mm = (security & GSIM_SEC_MUTUALSSL_MANDATORY) != 0;
  int o = (security & GSIM_SEC_OAUTH2) != 0;
  int om = (security & GSIM_SEC_OAUTH_BASIC_APIKEY_M) != 0;
  int optional = (security & (GSIM_SEC_MUTUALSSL_OPTIONAL | GSIM_SEC_OAUTH_BASIC_APIKEY_O)) != 0;
  if (!m && !o)
    o = 1; /* no scheme: WSO2's default oauth2 */
  if (!m && !om)
    om = 1;
  if (!o && !mm)
    mm = 1;
  out->challenges = (m ? GSIM_CHALLENGE_MTLS : 0u) | (o ? GSIM_CHALLENGE_OAUTH : 0u);
  if (m && o && !mm && !om) { /* where the versions differ: the rule rows decide */
    const gsim_rule *both = rules->row[GSIM_RF_BOTH_OPTIONAL];
    if (optional && both->variant == GSIM_BOTH_OPTIONAL_EITHER) {
      out->rule = both;
      decide_either(both, cert, token, out);
      return;
    }
    out->rule = rules->row[GSIM_RF_PRIORITY_NO_FLAGS];
    if (out->rule->variant == GSIM_PRIORITY_SEED_TABLE) {
      decide_seed_table(cert, token, out);
      return;
    }
    om = 1; /* GSIM_PRIORITY_OAUTH_MANDATORY: as if oauth_basic_auth_api_key_mandatory */
  }
  auth_step failures[2];
  size_t failed = 0;
  int authenticated = 0;
  gsim_auth_by by = GSIM_BY_NONE;
  for (int i = 0; i < 2; i++) {
    auth_step s;
    if (i == 0 && m) {
      s = mtls_step(cert, mm);
      out->mtls_ran = 1;
    } else if (i == 1 && o) {
      s = oauth_step(token, om);
      out->oauth_ran = 1;
    } else
      continue;
    if (s.mandatory)
      authenticated = s.authenticated;
    if (s.authenticated)
      by = i == 0 ? GSIM_BY_MTLS : GSIM_BY_OAUTH;
    else
      failures[failed++] = s;
    if (!s.go_on)
      break;
  }
  if (authenticated) {
    out->pass = 1;
    out->by = by;
    return;
  }
  for (size_t i = 0; i < failed; i++)
    if (!failures[i].go_on) {
      fail_with(out, failures[i].code);
      return;
    }
  for (size_t i = failed; i-- > 0;)
    if (failures[i].mandatory && failures[i].code != GSIM_CODE_MISSING) {
      fail_with(out, failures[i].code);
      return;
    }
  fail_with(out, failed ? GSIM_CODE_MISSING : GSIM_CODE_UNCLASSIFIED);
}

const char *gsim_auth_message(int code) {
  switch (code) {
  case GSIM_CODE_INVALID:
    return "Invalid Credentials";
  case GSIM_CODE_MISSING:
    return "Missing Credentials";
  case GSIM_CODE_FORBIDDEN:
    return "Resource forbidden "; /* sic: WSO2's trailing space */
  case GSIM_CODE_THROTTLED:
    return "Message throttled out";
  default:
    return "Unclassified Authentication Failure";
  }
}

const char *gsim_auth_description(int code) {
  switch (code) {
  case GSIM_CODE_INVALID:
    return "Invalid Credentials. Make sure you have provided the correct security credentials";
  case GSIM_CODE_MISSING:
    return "Invalid Credentials. Make sure your API invocation call has a header: "
           "'Authorization : Bearer ACCESS_TOKEN' or 'Authorization : Basic ACCESS_TOKEN' or "
           "'ApiKey : API_KEY'";
  case GSIM_CODE_FORBIDDEN:
    return "User is NOT authorized to access the Resource. API Subscription validation failed.";
  default:
    return "Error while validating into Certificate Existence";
  }
}
