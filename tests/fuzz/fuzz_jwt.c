/* fuzz_jwt.c - the fuzz target of the bearer token check (simulator/token.c:
 * gsim_oauth_check_bearer over jwt/jwt.c's gjwt_verify, and
 * gsim_oauth_public_key, the key manager key the admin API takes).
 *
 * Built two ways (CMakeLists.txt here): with clang's libFuzzer into fuzz_jwt,
 * and with the project's compiler and replay.c's main into fuzz_jwt_replay, a
 * unit test. Two key managers exist for the whole run ("rs", RS256, issuer
 * https://rs.example; "es", ES256, issuer https://es.example), their keys made
 * on the first input (the one piece of state a fuzz target keeps between
 * inputs). The clock is 2030-01-01T00:00:00Z. The input's first byte chooses:
 *   bits 0-1  the rules: the wso2-4, wso2-2.6 or sap profile's rows, or 3 for
 *             none (every check on, gsim_oauth_check_bearer's NULL);
 *   bits 2-3  0: the rest is the Authorization header value as sent (up to
 *             a NUL); 1 and 2: the rest is the claims' JSON, signed by the
 *             rs (1) or es (2) key manager, so the claim checks run on tokens
 *             whose signature holds; 3: the rest is a key manager key as the
 *             admin API takes it (PEM, or base64 of PEM), for bit 4's alg.
 * Seeds: fixtures/jwt/ (README.md there).
 *
 * Invariants, each an abort() with its name on stderr when broken:
 *   - a known status and a NUL-terminated reason, empty only when OK;
 *   - the reason never holds the token's signature (reasons are logged);
 *   - OK only when the subscription callback said so, for the client id the
 *     token names (azp, else client_id), and with the application it set;
 *   - an unsigned header (mode 0) is never OK: nothing can forge a signature;
 *   - a key from gsim_oauth_public_key fits its alg, or NULL comes with why.
 */
#include "fuzz.h"
#include "gjwt.h"
#include "rules.h"
#include "sim.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#define NOW_MS INT64_C(1893456000000) /* 2030-01-01T00:00:00Z */

/* What replay.c inserts: JWS punctuation and the claims the check reads. */
static const char *const jwt_tokens[] = {".",
                                         "Bearer ",
                                         "bearer\t",
                                         "eyJ",
                                         "\"iss\":",
                                         "\"exp\":",
                                         "\"nbf\":",
                                         "\"azp\":",
                                         "\"client_id\":",
                                         "\"https://rs.example\"",
                                         "\"https://es.example\"",
                                         "1893456000",
                                         "1e308",
                                         "-1",
                                         "null",
                                         "{}",
                                         "[]",
                                         "\"alg\":\"none\"",
                                         "=",
                                         "-",
                                         "_",
                                         "-----BEGIN PUBLIC KEY-----\n",
                                         "-----END PUBLIC KEY-----\n",
                                         "-----BEGIN CERTIFICATE-----\n",
                                         NULL};

size_t gh_fuzz_tokens_for(const uint8_t *data, size_t size, char tokens[][GH_FUZZ_TOKEN_LEN],
                          size_t max) {
  (void)data;
  (void)size;
  return gh_fuzz_tokens_from_list(jwt_tokens, tokens, max);
}

#define CHECK(cond) GH_FUZZ_CHECK("fuzz_jwt", cond)

static gsim_token_km kms[2] = {
    {"rs", "https://rs.example", GJWT_RS256, NULL},
    {"es", "https://es.example", GJWT_ES256, NULL},
};

static void make_keys(void) {
  if (kms[0].key != NULL)
    return;
  kms[0].key = EVP_RSA_gen(2048);
  kms[1].key = EVP_EC_gen("P-256");
  CHECK(kms[0].key != NULL && kms[1].key != NULL);
}

typedef struct seen {
  int called;
  char client[256];
} seen;

static void subscribed(void *ctx, const char *km_name, const char *client_id, const char *shown,
                       gsim_oauth_result *out) {
  seen *s = ctx;
  CHECK(km_name != NULL && client_id != NULL && shown != NULL);
  CHECK(strnlen(shown, 96) < 96);
  s->called++;
  snprintf(s->client, sizeof(s->client), "%s", client_id);
  if (strncmp(client_id, "forbidden", 9) == 0) {
    out->status = GSIM_OAUTH_FORBIDDEN;
    snprintf(out->reason, sizeof(out->reason), "not subscribed");
    return;
  }
  out->status = GSIM_OAUTH_OK;
  snprintf(out->application_id, sizeof(out->application_id), "app-1");
}

static void check_result(const gsim_oauth_result *r, const seen *s, const char *signature) {
  CHECK(r->status >= GSIM_OAUTH_OK && r->status <= GSIM_OAUTH_FORBIDDEN);
  CHECK(strnlen(r->reason, sizeof(r->reason)) < sizeof(r->reason));
  CHECK(r->status == GSIM_OAUTH_OK || r->reason[0] != '\0');
  if (signature != NULL && strlen(signature) >= 16)
    CHECK(strstr(r->reason, signature) == NULL);
  if (r->status == GSIM_OAUTH_OK) {
    CHECK(s->called == 1);
    CHECK(strcmp(r->application_id, "app-1") == 0);
  }
  if (r->status == GSIM_OAUTH_FORBIDDEN)
    CHECK(s->called == 1 && strncmp(s->client, "forbidden", 9) == 0);
}

/* Mode 1 and 2: the claims signed by km, checked as a bearer token. */
static void check_signed(const gsim_rules *rules, const gsim_token_km *km, const uint8_t *data,
                         size_t size) {
  json_t *claims = json_loadb((const char *)data, size, JSON_DISABLE_EOF_CHECK, NULL);
  char *token = NULL, why[200];
  if (claims != NULL && json_is_object(claims) &&
      gjwt_sign(km->alg, km->key, NULL, claims, &token, why, sizeof(why)) == 0) {
    size_t n = strlen(token);
    char *header = malloc(n + 8);
    CHECK(header != NULL);
    snprintf(header, n + 8, "Bearer %s", token);
    gsim_oauth_result r;
    seen s = {0};
    gsim_oauth_check_bearer(rules, header, kms, 2, NOW_MS, subscribed, &s, &r);
    const char *sig = strrchr(token, '.');
    check_result(&r, &s, sig ? sig + 1 : NULL);
    /* a token signed by the key manager its iss names gets past the signature */
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    if (iss != NULL && strcmp(iss, km->issuer) == 0 && n <= GJWT_MAX_TOKEN)
      CHECK(strstr(r.reason, "signature") == NULL);
    if (r.status == GSIM_OAUTH_OK) {
      json_t *azp = json_object_get(claims, "azp");
      const char *client = json_string_value(azp ? azp : json_object_get(claims, "client_id"));
      CHECK(client != NULL && strcmp(client, s.client) == 0);
    }
    free(header);
  }
  free(token);
  json_decref(claims);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  make_keys();
  unsigned mode = (data[0] >> 2) & 3, profile = data[0] & 3;
  gsim_rules rules;
  const gsim_rules *use = NULL;
  char why[256];
  if (profile < GSIM_PROFILE_COUNT) {
    CHECK(gsim_rules_resolve(&rules, (gsim_profile)profile, why, sizeof(why)) == 0);
    use = &rules;
  }
  /* the rest, NUL-terminated in a buffer of exactly its size plus the NUL */
  size_t n = size - 1;
  char *text = malloc(n + 1);
  if (text == NULL)
    return 0;
  memcpy(text, data + 1, n);
  text[n] = '\0';
  if (mode == 0) {
    gsim_oauth_result r;
    seen s = {0};
    gsim_oauth_check_bearer(use, text, kms, 2, NOW_MS, subscribed, &s, &r);
    const char *dot = strrchr(text, '.');
    check_result(&r, &s, dot ? dot + 1 : NULL);
    CHECK(r.status != GSIM_OAUTH_OK && r.status != GSIM_OAUTH_FORBIDDEN);
  } else if (mode == 1 || mode == 2) {
    check_signed(use, &kms[mode - 1], (const uint8_t *)text, n);
  } else {
    gjwt_alg alg = (data[0] >> 4) & 1 ? GJWT_ES256 : GJWT_RS256;
    why[0] = '\0';
    EVP_PKEY *key = gsim_oauth_public_key(text, alg, why, sizeof(why));
    if (key == NULL) {
      CHECK(why[0] != '\0' && strnlen(why, sizeof(why)) < sizeof(why));
    } else if (alg == GJWT_ES256) {
      CHECK(EVP_PKEY_get_base_id(key) == EVP_PKEY_EC);
    } else {
      CHECK(EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) >= 2048);
    }
    EVP_PKEY_free(key);
  }
  ERR_clear_error();
  free(text);
  return 0;
}
