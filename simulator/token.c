/* token.c - the bearer token check shared by gatecert-sim and
 * gatecert-introspect: WSO2's JWT validation up to the client id, and a key
 * manager's public key from the admin API's or the config's PEM.
 *
 * gsim_oauth_check_bearer is a function of the rule rows, the Authorization
 * header, the key managers (borrowed views) and the clock, with the
 * subscription lookup as a callback: oauth.c passes the simulator's key
 * mappings, applications and subscriptions, introspect.c its config's. The
 * order and the verdicts are oauth.c's top comment's (MISSING 900902,
 * INVALID 900901, then what the callback says). Reasons are for the log:
 * they name key managers, issuers and client ids with control characters
 * replaced (gsim_loggable), never the token. No state, no store, no log.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "gjwt.h"
#include "token.h"

#define SKEW_MS     (300 * INT64_C(1000)) /* without a jwt-skew row */
#define MAX_EPOCH_S 253402300799.0        /* 9999-12-31T23:59:59Z */

const char *gsim_loggable(const char *in, char *out, size_t out_len) {
  size_t n = 0;
  for (; in && *in && n + 4 < out_len; in++)
    out[n++] = (unsigned char)*in >= 0x20 && (unsigned char)*in < 0x7f ? *in : '?';
  if (in && *in) {
    memcpy(out + n, "...", 3);
    n += 3;
  }
  out[n] = '\0';
  return out;
}

/* ---- key manager keys ------------------------------------------------------------ */

/* WSO2 keeps certificates.value of type PEM base64-encoded: accept that too. */
static char *pem_text(const char *value) {
  while (*value == ' ' || *value == '\n' || *value == '\r' || *value == '\t')
    value++;
  if (strncmp(value, "-----BEGIN ", 11) == 0)
    return strdup(value);
  size_t len = strlen(value);
  while (len > 0 && strchr(" \r\n\t", value[len - 1]))
    len--;
  if (len == 0 || len % 4 != 0)
    return NULL;
  unsigned char *out = malloc(len / 4 * 3 + 1);
  int n = out ? EVP_DecodeBlock(out, (const unsigned char *)value, (int)len) : -1;
  if (n < 0) {
    free(out);
    return NULL;
  }
  out[n] = '\0';
  if (!strstr((char *)out, "-----BEGIN ")) {
    free(out);
    return NULL;
  }
  return (char *)out;
}

EVP_PKEY *gsim_oauth_public_key(const char *value, gjwt_alg alg, char *why, size_t why_len) {
  char *pem = pem_text(value);
  if (!pem) {
    snprintf(why, why_len,
             "certificates.value: a PEM public key (BEGIN PUBLIC KEY) or X.509 certificate "
             "(BEGIN CERTIFICATE), as text or base64, is required");
    return NULL;
  }
  if (strstr(pem, "PRIVATE KEY-----")) {
    OPENSSL_cleanse(pem, strlen(pem));
    free(pem);
    snprintf(why, why_len,
             "certificates.value: holds a private key; give only the public key or certificate");
    return NULL;
  }
  EVP_PKEY *key = NULL;
  BIO *bio = BIO_new_mem_buf(pem, -1);
  if (bio && strstr(pem, "-----BEGIN PUBLIC KEY-----"))
    key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
  else if (bio && strstr(pem, "-----BEGIN CERTIFICATE-----")) {
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    key = cert ? X509_get_pubkey(cert) : NULL;
    X509_free(cert);
  }
  BIO_free(bio);
  free(pem);
  ERR_clear_error();
  if (!key) {
    snprintf(why, why_len,
             "certificates.value: not a readable PEM public key (BEGIN PUBLIC KEY) or X.509 "
             "certificate (BEGIN CERTIFICATE)");
    return NULL;
  }
  int fits = 0;
  if (alg == GJWT_RS256) {
    fits = EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) >= GSIM_MIN_RSA_BITS;
    if (!fits)
      snprintf(why, why_len,
               "certificates.value: alg RS256 needs an RSA key of at least %d bits, not %s (%d "
               "bits)",
               GSIM_MIN_RSA_BITS, EVP_PKEY_get0_type_name(key), EVP_PKEY_get_bits(key));
  } else {
    char group[80] = "";
    size_t group_len = 0;
    fits = EVP_PKEY_is_a(key, "EC") &&
           EVP_PKEY_get_group_name(key, group, sizeof(group), &group_len) == 1 &&
           OBJ_txt2nid(group) == NID_X9_62_prime256v1;
    if (!fits)
      snprintf(why, why_len, "certificates.value: alg ES256 needs an EC P-256 key, not %s%s%s",
               EVP_PKEY_get0_type_name(key), group[0] ? " on " : "", group);
  }
  ERR_clear_error();
  if (!fits) {
    EVP_PKEY_free(key);
    return NULL;
  }
  return key;
}

void gsim_token_verdict(gsim_oauth_result *out, gsim_oauth_status status, const char *fmt, ...) {
  out->status = status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
  va_end(ap);
}

/* The payload's iss, read without verifying anything (only to choose the key
 * manager whose key then verifies the token): malloc'd, or NULL. */
static char *unverified_issuer(const char *token, size_t len) {
  const char *dot1 = memchr(token, '.', len);
  const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
  if (!dot2)
    return NULL;
  size_t n = (size_t)(dot2 - dot1 - 1);
  unsigned char *std = malloc(n + 4), *dec = malloc(n / 4 * 3 + 4);
  char *issuer = NULL;
  if (std && dec && n > 0) {
    for (size_t i = 0; i < n; i++)
      std[i] = dot1[1 + i] == '-' ? '+' : dot1[1 + i] == '_' ? '/' : (unsigned char)dot1[1 + i];
    size_t pad = n % 4 ? 4 - n % 4 : 0;
    memset(std + n, '=', pad);
    int got = EVP_DecodeBlock(dec, std, (int)(n + pad));
    json_t *claims =
        got > (int)pad ? json_loadb((const char *)dec, (size_t)got - pad, 0, NULL) : NULL;
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    issuer = iss ? strdup(iss) : NULL;
    json_decref(claims);
  }
  free(std);
  free(dec);
  return issuer;
}

/* A NumericDate claim in ms: 1 present and valid, 0 absent, -1 not a date. */
static int date_claim(json_t *claims, const char *name, int64_t *ms) {
  json_t *v = json_object_get(claims, name);
  if (!v)
    return 0;
  double s = json_number_value(v);
  if (!json_is_number(v) || !isfinite(s) || s < 0 || s > MAX_EPOCH_S)
    return -1;
  *ms = (int64_t)(s * 1000.0);
  return 1;
}

/* Whether the row in force for family turns its check on (no rules: on, the
 * strict reading). */
static int check_on(const gsim_rules *rules, gsim_rule_family family) {
  return !rules || !rules->row[family] || rules->row[family]->variant == GSIM_CHECK_ON;
}

/* The timestamp skew in ms: the jwt-skew row's variant (seconds), 300 s
 * without rules; a negative variant counts as 0. */
static int64_t skew_ms(const gsim_rules *rules) {
  if (!rules || !rules->row[GSIM_RF_JWT_SKEW])
    return SKEW_MS;
  int s = rules->row[GSIM_RF_JWT_SKEW]->variant;
  return s > 0 ? (int64_t)s * 1000 : 0;
}

/* The skew's rule id for the log ("jwt.skew-0"), or "default". */
static const char *skew_rule(const gsim_rules *rules) {
  return rules && rules->row[GSIM_RF_JWT_SKEW] ? rules->row[GSIM_RF_JWT_SKEW]->id : "default";
}

static void check_claims(const gsim_rules *rules, const gsim_token_km *km, json_t *claims,
                         int64_t now, gsim_token_subscribed subscribed, void *ctx,
                         gsim_oauth_result *out) {
  char shown[96], when[32], now_text[32];
  int64_t exp_ms = 0, nbf_ms = 0;
  const int64_t skew = skew_ms(rules);
  gsim_format_iso(now, now_text);
  const char *iss = json_string_value(json_object_get(claims, "iss"));
  if (!iss || strcmp(iss, km->issuer) != 0) {
    gsim_token_verdict(out, GSIM_OAUTH_INVALID, "the verified iss is not key manager '%s''s issuer",
                       km->name);
    return;
  }
  int has_exp = date_claim(claims, "exp", &exp_ms);
  int has_nbf = date_claim(claims, "nbf", &nbf_ms);
  /* a date claim that is not a NumericDate fails the parse (Nimbus), checked or not */
  if (has_exp < 0 || (has_exp == 0 && check_on(rules, GSIM_RF_JWT_NO_EXP))) {
    gsim_token_verdict(out, GSIM_OAUTH_INVALID, "key manager '%s': %s exp claim", km->name,
                       has_exp ? "an unusable" : "no");
    return;
  }
  if (has_nbf < 0) {
    gsim_token_verdict(out, GSIM_OAUTH_INVALID, "key manager '%s': an unusable nbf claim",
                       km->name);
    return;
  }
  if (has_exp && (exp_ms > INT64_MAX - skew || exp_ms + skew <= now)) {
    gsim_format_iso(exp_ms, when);
    gsim_token_verdict(out, GSIM_OAUTH_INVALID, "token expired at %s (now %s, %d s skew, rule %s)",
                       when, now_text, (int)(skew / 1000), skew_rule(rules));
    return;
  }
  if (has_nbf && check_on(rules, GSIM_RF_JWT_NBF) && nbf_ms - skew > now) {
    gsim_format_iso(nbf_ms, when);
    gsim_token_verdict(out, GSIM_OAUTH_INVALID,
                       "token not valid before %s (now %s, %d s skew, rule %s)", when, now_text,
                       (int)(skew / 1000), skew_rule(rules));
    return;
  }
  json_t *azp = json_object_get(claims, "azp"), *cid = json_object_get(claims, "client_id");
  const char *client = json_string_value(azp ? azp : cid);
  if (!client || (azp && cid && !json_equal(azp, cid))) {
    gsim_token_verdict(out, GSIM_OAUTH_INVALID, "key manager '%s': %s", km->name,
                       client ? "azp and client_id differ"
                              : "no azp or client_id claim (a string)");
    return;
  }
  subscribed(ctx, km->name, client, gsim_loggable(client, shown, sizeof(shown)), out);
}

void gsim_oauth_check_bearer(const gsim_rules *rules, const char *authorization,
                             const gsim_token_km *kms, size_t km_count, int64_t now_ms,
                             gsim_token_subscribed subscribed, void *ctx, gsim_oauth_result *out) {
  memset(out, 0, sizeof(*out));
  const char *auth = authorization;
  if (!auth) {
    gsim_token_verdict(out, GSIM_OAUTH_MISSING, "no Authorization header");
    return;
  }
  while (*auth == ' ' || *auth == '\t')
    auth++;
  if (strncasecmp(auth, "Bearer", 6) != 0 || (auth[6] != ' ' && auth[6] != '\t')) {
    gsim_token_verdict(out, GSIM_OAUTH_MISSING,
                       "the Authorization header does not carry a Bearer token");
    return;
  }
  const char *token = auth + 6;
  while (*token == ' ' || *token == '\t')
    token++;
  size_t len = strlen(token);
  while (len > 0 && (token[len - 1] == ' ' || token[len - 1] == '\t'))
    len--;
  if (len == 0) {
    gsim_token_verdict(out, GSIM_OAUTH_MISSING, "an empty Bearer token");
    return;
  }
  if (len > GJWT_MAX_TOKEN) {
    gsim_token_verdict(out, GSIM_OAUTH_INVALID, "a bearer token of %zu bytes (at most %d)", len,
                       GJWT_MAX_TOKEN);
    return;
  }
  char *issuer = unverified_issuer(token, len);
  if (!issuer) {
    gsim_token_verdict(out, GSIM_OAUTH_INVALID, "the bearer token is not a JWT with an iss claim");
    return;
  }
  const gsim_token_km *km = NULL;
  for (size_t i = 0; i < km_count && !km; i++)
    if (strcmp(kms[i].issuer, issuer) == 0)
      km = &kms[i];
  char shown[96];
  gsim_loggable(issuer, shown, sizeof(shown));
  free(issuer);
  if (!km) {
    gsim_token_verdict(out, GSIM_OAUTH_INVALID, "no key manager has the issuer %s", shown);
    return;
  }
  json_t *claims = NULL;
  char why[200];
  if (gjwt_verify(token, len, km->alg, km->key, &claims, why, sizeof(why)) != 0) {
    gsim_token_verdict(out, GSIM_OAUTH_INVALID, "key manager '%s': %s", km->name, why);
    return;
  }
  check_claims(rules, km, claims, now_ms, subscribed, ctx, out);
  json_decref(claims);
}
