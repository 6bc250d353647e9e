/* gjwt.h - JWT access tokens as compact JWS (RFC 7515, 7518, 7519): the jwt/ component.
 *
 * Two algorithms, both SHA-256: RS256 (RSASSA-PKCS1-v1_5, an RSA key of at
 * least 2048 bits, RFC 7518 3.3) and ES256 (ECDSA on P-256, the signature the
 * raw 64-byte R || S of RFC 7518 3.4). Keys are OpenSSL EVP_PKEYs; claims are
 * jansson objects.
 *
 * Verification is for exactly one algorithm chosen by the caller, never the
 * one the token names: a header whose alg differs ("none", HS256, the other
 * algorithm) is refused, and so is a key of the wrong type, so no token can
 * pick how it is checked. Tokens over GJWT_MAX_TOKEN bytes are refused
 * unread; base64url is strict (no padding, whitespace or characters outside
 * the URL alphabet, no stray bits in the last character); header and payload
 * must be JSON objects without duplicate keys. Only the signature is checked
 * here: what the claims mean (exp, nbf, iss, audience) is the caller's.
 *
 * Every failure fills why with a one-line reason that never quotes the token
 * or its decoded content.
 */
#ifndef GJWT_H
#define GJWT_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GJWT_MAX_TOKEN 8192 /* bytes of a compact token */

typedef enum gjwt_alg { GJWT_RS256 = 0, GJWT_ES256 } gjwt_alg;

const char *gjwt_alg_name(gjwt_alg alg);             /* "RS256", "ES256" */
int gjwt_alg_parse(const char *name, gjwt_alg *out); /* 0, or -1 for anything else */

/* Signs claims (not stolen) as a compact JWS {"alg":..,"typ":"JWT"[,"kid":..]}; *token is
 * malloc'd. 0, or -1 with why filled. */
int gjwt_sign(gjwt_alg alg, EVP_PKEY *key, const char *kid, const json_t *claims, char **token,
              char *why, size_t why_len);

/* Verifies a compact JWS for exactly alg with pub; *claims gets a new reference to the payload
 * object. 0, or -1 with why filled (never containing the token). */
int gjwt_verify(const char *token, size_t len, gjwt_alg alg, EVP_PKEY *pub, json_t **claims,
                char *why, size_t why_len);

#ifdef __cplusplus
}
#endif

#endif /* GJWT_H */
