/* jwt.c - compact JWS signing and verification for RS256 and ES256 (see gjwt.h).
 *
 * A token is three base64url segments, header.payload.signature; the
 * signature covers the first two segments as they appear in the token (RFC
 * 7515 5.2), so they are checked byte for byte, never re-encoded.
 *
 * Verification order: size, segment count, header (JSON object, alg exactly
 * the expected one, no crit), key type, signature, payload (JSON object).
 * The first failure stops with a reason naming the part and the rule; no
 * reason quotes the token or anything decoded from it, except an alg name
 * made only of name characters.
 *
 * base64url goes through OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock (standard
 * alphabet, padded) after checking and translating the URL alphabet here:
 * EVP_DecodeBlock alone would skip whitespace and accept '+' and '/'.
 */
#include "gjwt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#define MIN_RSA_BITS 2048
#define ES256_HALF   32           /* bytes of R and of S */
#define ES256_SIG    ((size_t)64) /* R || S */
#define ALG_SHOWN    16           /* longest alg name quoted in a reason */

__attribute__((format(printf, 3, 4))) static int fail(char *why, size_t why_len, const char *fmt,
                                                      ...) {
  if (why && why_len > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
  }
  ERR_clear_error(); /* nothing of ours is left on OpenSSL's queue */
  return -1;
}

const char *gjwt_alg_name(gjwt_alg alg) {
  switch (alg) {
  case GJWT_RS256:
    return "RS256";
  case GJWT_ES256:
    return "ES256";
  }
  return "unknown";
}

int gjwt_alg_parse(const char *name, gjwt_alg *out) {
  if (!name || !out)
    return -1;
  if (strcmp(name, "RS256") == 0)
    *out = GJWT_RS256;
  else if (strcmp(name, "ES256") == 0)
    *out = GJWT_ES256;
  else
    return -1;
  return 0;
}

/* ---- base64url ---------------------------------------------------------------- */

static int b64url_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-')
    return 62;
  if (c == '_')
    return 63;
  return -1;
}

/* Unpadded base64url of data, NUL-terminated (malloc'd), or NULL. */
static char *b64url_encode(const unsigned char *data, size_t len) {
  if (len > (size_t)GJWT_MAX_TOKEN * 4)
    return NULL;
  char *out = malloc(4 * ((len + 2) / 3) + 1);
  if (!out)
    return NULL;
  int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
  if (n < 0) {
    free(out);
    return NULL;
  }
  size_t k = (size_t)n;
  while (k > 0 && out[k - 1] == '=')
    k--;
  out[k] = '\0';
  for (char *p = out; *p; p++) {
    if (*p == '+')
      *p = '-';
    else if (*p == '/')
      *p = '_';
  }
  return out;
}

/* Strict base64url decode of one segment into a malloc'd buffer (with a NUL
 * after the data, not counted). 0, or -1 with why naming `what`. */
static int b64url_decode(const char *in, size_t len, const char *what, unsigned char **out,
                         size_t *out_len, char *why, size_t why_len) {
  *out = NULL;
  *out_len = 0;
  if (len == 0)
    return fail(why, why_len, "%s: empty segment", what);
  for (size_t i = 0; i < len; i++) {
    if (in[i] == '=')
      return fail(why, why_len, "%s: padding '=' at character %zu (base64url has none)", what,
                  i + 1);
    if (b64url_value((unsigned char)in[i]) < 0)
      return fail(why, why_len, "%s: character %zu is not in the base64url alphabet", what, i + 1);
  }
  size_t rem = len % 4;
  if (rem == 1)
    return fail(why, why_len, "%s: %zu characters cannot be base64url (one too many)", what, len);
  int last = b64url_value((unsigned char)in[len - 1]);
  if ((rem == 2 && (last & 0x0f) != 0) || (rem == 3 && (last & 0x03) != 0))
    return fail(why, why_len, "%s: non-canonical base64url (stray bits in the last character)",
                what);
  size_t pad = rem ? 4 - rem : 0;
  size_t padded = len + pad;
  unsigned char *std = malloc(padded);
  unsigned char *dec = malloc(padded / 4 * 3 + 1);
  if (!std || !dec) {
    free(std);
    free(dec);
    return fail(why, why_len, "%s: out of memory", what);
  }
  for (size_t i = 0; i < len; i++)
    std[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : (unsigned char)in[i];
  memset(std + len, '=', pad);
  int n = EVP_DecodeBlock(dec, std, (int)padded);
  free(std);
  if (n < 0 || (size_t)n < pad) {
    free(dec);
    return fail(why, why_len, "%s: not base64url", what);
  }
  *out_len = (size_t)n - pad; /* EVP_DecodeBlock counts the padding as zero bytes */
  dec[*out_len] = '\0';
  *out = dec;
  return 0;
}

/* ---- JSON --------------------------------------------------------------------- */

static const char *json_problem(const json_error_t *err) {
  switch (json_error_code(err)) {
  case json_error_duplicate_key:
    return "a key appears twice";
  case json_error_invalid_utf8:
    return "invalid UTF-8";
  case json_error_null_character:
  case json_error_null_byte_in_key:
    return "a NUL character";
  case json_error_premature_end_of_input:
    return "it ends early";
  case json_error_end_of_input_expected:
    return "data after the JSON value";
  case json_error_numeric_overflow:
    return "a number out of range";
  default:
    return "invalid syntax";
  }
}

static const char *json_kind(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return "object";
  case JSON_ARRAY:
    return "array";
  case JSON_STRING:
    return "string";
  case JSON_INTEGER:
  case JSON_REAL:
    return "number";
  case JSON_TRUE:
  case JSON_FALSE:
    return "boolean";
  case JSON_NULL:
    return "null";
  }
  return "value";
}

/* The decoded segment as a JSON object without duplicate keys (new
 * reference), or NULL with why filled. The reason gives the byte offset, never
 * the text (jansson's own messages quote it). */
static json_t *parse_object(const unsigned char *data, size_t len, const char *what, char *why,
                            size_t why_len) {
  json_error_t err;
  json_t *v = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
  if (!v) {
    fail(why, why_len, "%s: not JSON (%s, near byte %d)", what, json_problem(&err), err.position);
    return NULL;
  }
  if (!json_is_object(v)) {
    fail(why, why_len, "%s: a JSON %s, not an object", what, json_kind(v));
    json_decref(v);
    return NULL;
  }
  return v;
}

/* ---- keys and signatures ---------------------------------------------------------- */

/* 0 when key can sign or verify alg, else -1 with why. */
static int key_fits(gjwt_alg alg, EVP_PKEY *key, char *why, size_t why_len) {
  if (!key)
    return fail(why, why_len, "key: none given");
  const char *type = EVP_PKEY_get0_type_name(key);
  if (!type)
    type = "an unknown type";
  if (alg == GJWT_RS256) {
    if (!EVP_PKEY_is_a(key, "RSA"))
      return fail(why, why_len, "key: RS256 needs an RSA key, not %s", type);
    int bits = EVP_PKEY_get_bits(key);
    if (bits < MIN_RSA_BITS)
      return fail(why, why_len, "key: RS256 needs an RSA key of at least %d bits, not %d",
                  MIN_RSA_BITS, bits);
    return 0;
  }
  if (alg == GJWT_ES256) {
    if (!EVP_PKEY_is_a(key, "EC"))
      return fail(why, why_len, "key: ES256 needs an EC P-256 key, not %s", type);
    char group[80] = "";
    size_t group_len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof(group), &group_len) != 1)
      return fail(why, why_len, "key: ES256 needs an EC P-256 key (this one names no curve)");
    if (OBJ_txt2nid(group) != NID_X9_62_prime256v1)
      return fail(why, why_len, "key: ES256 needs an EC P-256 key, not one on %s", group);
    return 0;
  }
  return fail(why, why_len, "unknown algorithm %d", (int)alg);
}

/* ES256: the DER ECDSA-Sig-Value OpenSSL makes -> JWS R || S (64 bytes). */
static int ecdsa_der_to_raw(const unsigned char *der, size_t der_len,
                            unsigned char raw[ES256_SIG]) {
  const unsigned char *p = der;
  ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
  if (!sig)
    return -1;
  const BIGNUM *r = NULL, *s = NULL;
  ECDSA_SIG_get0(sig, &r, &s);
  int ok = BN_bn2binpad(r, raw, ES256_HALF) == ES256_HALF &&
           BN_bn2binpad(s, raw + ES256_HALF, ES256_HALF) == ES256_HALF;
  ECDSA_SIG_free(sig);
  return ok ? 0 : -1;
}

/* ES256: JWS R || S -> DER (OPENSSL_malloc'd), or -1. */
static int ecdsa_raw_to_der(const unsigned char raw[ES256_SIG], unsigned char **der,
                            size_t *der_len) {
  ECDSA_SIG *sig = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(raw, ES256_HALF, NULL);
  BIGNUM *s = BN_bin2bn(raw + ES256_HALF, ES256_HALF, NULL);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return -1;
  }
  *der = NULL;
  int n = i2d_ECDSA_SIG(sig, der);
  ECDSA_SIG_free(sig);
  if (n <= 0)
    return -1;
  *der_len = (size_t)n;
  return 0;
}

/* The JWS signature bytes of msg (malloc'd): PKCS#1 v1.5 for RSA, R || S for EC. */
static int sign_bytes(gjwt_alg alg, EVP_PKEY *key, const unsigned char *msg, size_t msg_len,
                      unsigned char **sig, size_t *sig_len, char *why, size_t why_len) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  unsigned char *out = NULL;
  size_t n = 0;
  int ok = ctx && EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, key, NULL) == 1 &&
           EVP_DigestSign(ctx, NULL, &n, msg, msg_len) == 1 && (out = malloc(n)) != NULL &&
           EVP_DigestSign(ctx, out, &n, msg, msg_len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) {
    free(out);
    return fail(why, why_len, "signing failed (is it a private key?)");
  }
  if (alg == GJWT_ES256) {
    unsigned char *raw = malloc(ES256_SIG);
    if (!raw || ecdsa_der_to_raw(out, n, raw) != 0) {
      free(raw);
      free(out);
      return fail(why, why_len, "signing failed: cannot encode the ECDSA signature");
    }
    free(out);
    out = raw;
    n = ES256_SIG;
  }
  *sig = out;
  *sig_len = n;
  return 0;
}

/* 0 when sig (JWS form) is alg's signature of msg by pub; -1 with why. */
static int verify_bytes(gjwt_alg alg, EVP_PKEY *pub, const unsigned char *msg, size_t msg_len,
                        const unsigned char *sig, size_t sig_len, char *why, size_t why_len) {
  unsigned char *der = NULL;
  if (alg == GJWT_ES256) {
    if (sig_len != ES256_SIG)
      return fail(why, why_len, "signature: %zu bytes, ES256 has %zu", sig_len, ES256_SIG);
    if (ecdsa_raw_to_der(sig, &der, &sig_len) != 0)
      return fail(why, why_len, "signature: cannot be decoded as R || S");
    sig = der;
  } else if (sig_len != (size_t)EVP_PKEY_get_size(pub)) {
    return fail(why, why_len, "signature: %zu bytes, the %d-bit RSA key makes %d", sig_len,
                EVP_PKEY_get_bits(pub), EVP_PKEY_get_size(pub));
  }
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx && EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, pub, NULL) == 1 &&
           EVP_DigestVerify(ctx, sig, sig_len, msg, msg_len) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  if (!ok)
    return fail(why, why_len, "signature: does not verify with the %s key", gjwt_alg_name(alg));
  ERR_clear_error();
  return 0;
}

/* ---- sign ------------------------------------------------------------------------ */

int gjwt_sign(gjwt_alg alg, EVP_PKEY *key, const char *kid, const json_t *claims, char **token,
              char *why, size_t why_len) {
  if (!token)
    return fail(why, why_len, "no place for the token");
  *token = NULL;
  if (!json_is_object(claims))
    return fail(why, why_len, "claims: must be a JSON object");
  if (key_fits(alg, key, why, why_len) != 0)
    return -1;
  json_t *header = json_pack("{s:s, s:s}", "alg", gjwt_alg_name(alg), "typ", "JWT");
  if (header && kid) {
    json_t *k = json_string(kid);
    if (!k) {
      json_decref(header);
      return fail(why, why_len, "kid: not valid UTF-8");
    }
    json_object_set_new(header, "kid", k);
  }
  char *header_json = header ? json_dumps(header, JSON_COMPACT) : NULL;
  char *payload_json = json_dumps(claims, JSON_COMPACT);
  json_decref(header);
  char *h =
      header_json ? b64url_encode((const unsigned char *)header_json, strlen(header_json)) : NULL;
  char *p = payload_json ? b64url_encode((const unsigned char *)payload_json, strlen(payload_json))
                         : NULL;
  free(header_json);
  free(payload_json);
  char *input = NULL, *s = NULL;
  unsigned char *sig = NULL;
  size_t sig_len = 0;
  int rc = -1;
  if (!h || !p) {
    fail(why, why_len, "claims: cannot be encoded (too large, or out of memory)");
    goto done;
  }
  size_t input_len = strlen(h) + 1 + strlen(p);
  input = malloc(input_len + 1);
  if (!input) {
    fail(why, why_len, "out of memory");
    goto done;
  }
  snprintf(input, input_len + 1, "%s.%s", h, p);
  if (sign_bytes(alg, key, (const unsigned char *)input, input_len, &sig, &sig_len, why, why_len) !=
      0)
    goto done;
  s = b64url_encode(sig, sig_len);
  size_t total = s ? input_len + 1 + strlen(s) : 0;
  if (!s) {
    fail(why, why_len, "out of memory");
    goto done;
  }
  if (total > GJWT_MAX_TOKEN) {
    fail(why, why_len, "claims: the token would be %zu bytes, over the %d-byte limit", total,
         GJWT_MAX_TOKEN);
    goto done;
  }
  *token = malloc(total + 1);
  if (!*token) {
    fail(why, why_len, "out of memory");
    goto done;
  }
  snprintf(*token, total + 1, "%s.%s", input, s);
  rc = 0;
done:
  free(h);
  free(p);
  free(input);
  free(sig);
  free(s);
  return rc;
}

/* ---- verify ------------------------------------------------------------------------ */

/* 1 when an alg value may be quoted in a reason: short, name characters only. */
static int showable(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > ALG_SHOWN)
    return 0;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '+'))
      return 0;
  }
  return 1;
}

/* Checks the decoded header against the expected algorithm. */
static int check_header(const json_t *header, gjwt_alg alg, char *why, size_t why_len) {
  json_t *a = json_object_get(header, "alg");
  if (!a)
    return fail(why, why_len, "header: no alg");
  const char *name = json_string_value(a);
  if (!name)
    return fail(why, why_len, "header: alg is a %s, not a string", json_kind(a));
  if (strcasecmp(name, "none") == 0)
    return fail(why, why_len, "header: alg none (an unsigned token) is refused");
  if (strcmp(name, gjwt_alg_name(alg)) != 0) {
    if (showable(name))
      return fail(why, why_len, "header: alg %s, expected %s", name, gjwt_alg_name(alg));
    return fail(why, why_len, "header: an unexpected alg, expected %s", gjwt_alg_name(alg));
  }
  if (json_object_get(header, "crit"))
    return fail(why, why_len, "header: crit names extensions this verifier does not implement");
  return 0;
}

int gjwt_verify(const char *token, size_t len, gjwt_alg alg, EVP_PKEY *pub, json_t **claims,
                char *why, size_t why_len) {
  if (claims)
    *claims = NULL;
  if (!token || !claims)
    return fail(why, why_len, "no token");
  if (len > GJWT_MAX_TOKEN)
    return fail(why, why_len, "token: %zu bytes, over the %d-byte limit", len, GJWT_MAX_TOKEN);
  if (len == 0)
    return fail(why, why_len, "token: empty");
  size_t dots[3], count = 0;
  for (size_t i = 0; i < len; i++) {
    if (token[i] == '.') {
      if (count < 3)
        dots[count] = i;
      count++;
    }
  }
  if (count != 2)
    return fail(why, why_len,
                "token: %zu segment%s, a compact JWS has 3 (header.payload.signature)", count + 1,
                count == 0 ? "" : "s");
  const char *h = token, *p = token + dots[0] + 1, *s = token + dots[1] + 1;
  size_t h_len = dots[0], p_len = dots[1] - dots[0] - 1, s_len = len - dots[1] - 1;

  unsigned char *bytes = NULL;
  size_t n = 0;
  if (b64url_decode(h, h_len, "header", &bytes, &n, why, why_len) != 0)
    return -1;
  json_t *header = parse_object(bytes, n, "header", why, why_len);
  free(bytes);
  if (!header)
    return -1;
  int rc = check_header(header, alg, why, why_len);
  json_decref(header);
  if (rc != 0 || key_fits(alg, pub, why, why_len) != 0)
    return -1;

  if (b64url_decode(s, s_len, "signature", &bytes, &n, why, why_len) != 0)
    return -1;
  rc = verify_bytes(alg, pub, (const unsigned char *)token, dots[1], bytes, n, why, why_len);
  free(bytes);
  if (rc != 0)
    return -1;

  if (b64url_decode(p, p_len, "payload", &bytes, &n, why, why_len) != 0)
    return -1;
  *claims = parse_object(bytes, n, "payload", why, why_len);
  free(bytes);
  return *claims ? 0 : -1;
}
