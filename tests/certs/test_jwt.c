/* test_jwt.c - jwt/ (gjwt.h): compact JWS for RS256 and ES256, and what it refuses.
 *
 * Keys are made once (gcert_key_generate; a 1024-bit RSA key and a P-384 key
 * with OpenSSL directly, since the factory makes neither). Then:
 *
 *   - round trips of both algorithms, with and without kid, and the header
 *     gjwt_sign writes ({"alg","typ":"JWT"[,"kid"]});
 *   - RFC 7515 appendix A.3, an ES256 token made elsewhere, verifies with its
 *     published public key: the R || S signature form is the standard one;
 *   - a table of tokens that must be refused, each made to break exactly one
 *     rule (the others hold: a broken payload is correctly signed, so it is
 *     the payload rule that refuses it, not the signature), with the reason
 *     that must come back. Every reason is checked not to quote the token or
 *     any of its segments;
 *   - `gatecert token` (GATECERT_BIN) as a user runs it: its tokens verify
 *     with the public key and carry the claims asked for; usage errors exit
 *     2, key errors 1.
 *
 * Tokens with a chosen header or payload are built here: the segments are
 * base64url-encoded by hand and signed with OpenSSL directly, independently
 * of jwt.c's signing code.
 */
#include "support.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "gjwt.h"

#define CLAIMS "{\"iss\":\"https://km.example\",\"sub\":\"alice\",\"exp\":1893459600}"

typedef enum key_id { K_RSA, K_RSA2, K_EC, K_EC2, K_RSA1024, K_P384, K_COUNT } key_id;

static EVP_PKEY *keys[K_COUNT];

/* ---- keys ------------------------------------------------------------------------ */

static int setup_keys(void **state) {
  (void)state;
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_key_generate(GCERT_KEY_RSA_2048, &keys[K_RSA], &err), &err);
  assert_status(GCERT_OK, gcert_key_generate(GCERT_KEY_RSA_2048, &keys[K_RSA2], &err), &err);
  assert_status(GCERT_OK, gcert_key_generate(GCERT_KEY_EC_P256, &keys[K_EC], &err), &err);
  assert_status(GCERT_OK, gcert_key_generate(GCERT_KEY_EC_P256, &keys[K_EC2], &err), &err);
  keys[K_RSA1024] = EVP_RSA_gen(1024);
  keys[K_P384] = EVP_EC_gen("P-384");
  for (int i = 0; i < K_COUNT; i++)
    assert_non_null(keys[i]);
  return 0;
}

static int teardown_keys(void **state) {
  (void)state;
  for (int i = 0; i < K_COUNT; i++) {
    EVP_PKEY_free(keys[i]);
    keys[i] = NULL;
  }
  return 0;
}

/* ---- building tokens by hand ------------------------------------------------------ */

/* base64url of data; raw keeps the padding and the standard alphabet. */
static char *b64(const void *data, size_t len, int raw) {
  char *out = malloc(4 * ((len + 2) / 3) + 1);
  assert_non_null(out);
  int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
  assert_true(n >= 0);
  if (raw)
    return out;
  while (n > 0 && out[n - 1] == '=')
    out[--n] = '\0';
  for (char *p = out; *p; p++)
    *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
  return out;
}

static char *b64s(const char *text) { return b64(text, strlen(text), 0); }

static char *join3(const char *a, const char *b, const char *c) {
  size_t n = strlen(a) + strlen(b) + (c ? strlen(c) : 0) + 3;
  char *out = malloc(n);
  assert_non_null(out);
  snprintf(out, n, "%s.%s%s%s", a, b, c ? "." : "", c ? c : "");
  return out;
}

/* The JWS signature of input (RS256: PKCS#1 v1.5; ES256: R || S), base64url. */
static char *signature_of(const char *input, EVP_PKEY *key, int ecdsa) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  size_t n = 0;
  assert_int_equal(1, EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key));
  assert_int_equal(1, EVP_DigestSign(ctx, NULL, &n, (const unsigned char *)input, strlen(input)));
  unsigned char *sig = malloc(n);
  assert_non_null(sig);
  assert_int_equal(1, EVP_DigestSign(ctx, sig, &n, (const unsigned char *)input, strlen(input)));
  EVP_MD_CTX_free(ctx);
  if (ecdsa) {
    const unsigned char *p = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
    assert_non_null(es);
    unsigned char rs[64];
    assert_int_equal(32, BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32));
    assert_int_equal(32, BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32));
    ECDSA_SIG_free(es);
    free(sig);
    return b64(rs, sizeof(rs), 0);
  }
  char *out = b64(sig, n, 0);
  free(sig);
  return out;
}

/* header_seg.payload_seg, signed by key (segments given already encoded). */
static char *signed_segments(const char *h, const char *p, EVP_PKEY *key) {
  char *input = join3(h, p, NULL);
  char *sig = signature_of(input, key, EVP_PKEY_is_a(key, "EC"));
  char *token = join3(h, p, sig);
  free(input);
  free(sig);
  return token;
}

/* header and payload JSON texts as they are, signed by key. */
static char *signed_json(const char *header, const char *payload, EVP_PKEY *key) {
  char *h = b64s(header), *p = b64s(payload);
  char *token = signed_segments(h, p, key);
  free(h);
  free(p);
  return token;
}

/* The classic confusion: HS256 with the RSA public key's PEM as the secret. */
static char *hs256_with_public_pem(EVP_PKEY *rsa) {
  BIO *bio = BIO_new(BIO_s_mem());
  assert_int_equal(1, PEM_write_bio_PUBKEY(bio, rsa));
  char *pem = NULL;
  long pem_len = BIO_get_mem_data(bio, &pem);
  char *h = b64s("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"), *p = b64s(CLAIMS);
  char *input = join3(h, p, NULL);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned mac_len = 0;
  assert_non_null(HMAC(EVP_sha256(), pem, (int)pem_len, (const unsigned char *)input, strlen(input),
                       mac, &mac_len));
  BIO_free(bio);
  char *sig = b64(mac, mac_len, 0);
  char *token = join3(h, p, sig);
  free(h);
  free(p);
  free(input);
  free(sig);
  return token;
}

static char *gjwt_token(gjwt_alg alg, EVP_PKEY *key, const char *kid, const char *claims_json) {
  json_t *claims = json_loads(claims_json, 0, NULL);
  assert_non_null(claims);
  char *token = NULL;
  char why[256] = "";
  if (gjwt_sign(alg, key, kid, claims, &token, why, sizeof(why)) != 0)
    fail_msg("gjwt_sign: %s", why);
  json_decref(claims);
  return token;
}

/* Segment i (0 header, 1 payload, 2 signature) of token, malloc'd. */
static char *segment(const char *token, int i) {
  const char *start = token;
  for (int k = 0; k < i; k++)
    start = strchr(start, '.') + 1;
  const char *end = strchr(start, '.');
  return strndup(start, end ? (size_t)(end - start) : strlen(start));
}

/* token with segment i replaced by seg. */
static char *with_segment(const char *token, int i, const char *seg) {
  char *s[3];
  for (int k = 0; k < 3; k++)
    s[k] = k == i ? strdup(seg) : segment(token, k);
  char *out = join3(s[0], s[1], s[2]);
  for (int k = 0; k < 3; k++)
    free(s[k]);
  return out;
}

/* The token's signature without its last drop bytes, re-encoded canonically. */
static char *shorter_signature(const char *token, size_t drop) {
  char *sig = segment(token, 2);
  size_t n = strlen(sig);
  char *std = malloc(n + 4);
  assert_non_null(std);
  for (size_t i = 0; i < n; i++)
    std[i] = sig[i] == '-' ? '+' : sig[i] == '_' ? '/' : sig[i];
  size_t pad = n % 4 ? 4 - n % 4 : 0;
  memset(std + n, '=', pad);
  unsigned char bytes[512];
  int len = EVP_DecodeBlock(bytes, (unsigned char *)std, (int)(n + pad));
  assert_true(len > (int)(pad + drop));
  free(std);
  free(sig);
  return b64(bytes, (size_t)len - pad - drop, 0);
}

/* ---- round trips ------------------------------------------------------------------ */

static void round_trip(gjwt_alg alg, EVP_PKEY *key, const char *kid) {
  json_t *claims = json_loads(CLAIMS, 0, NULL);
  char *token = gjwt_token(alg, key, kid, CLAIMS);
  json_t *got = NULL;
  char why[256] = "";
  if (gjwt_verify(token, strlen(token), alg, key, &got, why, sizeof(why)) != 0)
    fail_msg("%s round trip: %s", gjwt_alg_name(alg), why);
  assert_true(json_equal(claims, got));

  /* the header, exactly: alg, typ, and kid when given, in that order */
  char *h = segment(token, 0);
  char expected[128];
  snprintf(expected, sizeof(expected), "{\"alg\":\"%s\",\"typ\":\"JWT\"%s%s%s}", gjwt_alg_name(alg),
           kid ? ",\"kid\":\"" : "", kid ? kid : "", kid ? "\"" : "");
  char *want = b64s(expected);
  assert_string_equal(want, h);
  /* no padding, URL alphabet only */
  assert_null(strpbrk(token, "=+/ \n"));

  free(want);
  free(h);
  json_decref(got);
  json_decref(claims);
  free(token);
}

static void test_round_trip_rs256(void **state) {
  (void)state;
  round_trip(GJWT_RS256, keys[K_RSA], NULL);
  round_trip(GJWT_RS256, keys[K_RSA], "km-key-1");
}

static void test_round_trip_es256(void **state) {
  (void)state;
  round_trip(GJWT_ES256, keys[K_EC], NULL);
  round_trip(GJWT_ES256, keys[K_EC], "ec-key");
  /* ECDSA signatures differ each time, and each verifies */
  char *a = gjwt_token(GJWT_ES256, keys[K_EC], NULL, CLAIMS);
  char *b = gjwt_token(GJWT_ES256, keys[K_EC], NULL, CLAIMS);
  assert_string_not_equal(a, b);
  free(a);
  free(b);
}

/* A public key alone verifies; the private key object does too. */
static void test_public_key_only(void **state) {
  (void)state;
  for (int e = 0; e < 2; e++) {
    EVP_PKEY *priv = keys[e ? K_EC : K_RSA];
    gjwt_alg alg = e ? GJWT_ES256 : GJWT_RS256;
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(1, PEM_write_bio_PUBKEY(bio, priv));
    EVP_PKEY *pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(pub);
    char *token = gjwt_token(alg, priv, NULL, CLAIMS);
    json_t *claims = NULL;
    char why[256] = "";
    if (gjwt_verify(token, strlen(token), alg, pub, &claims, why, sizeof(why)) != 0)
      fail_msg("%s with the public key: %s", gjwt_alg_name(alg), why);
    json_decref(claims);
    /* and a public key cannot sign */
    char *none = NULL;
    json_t *c = json_loads(CLAIMS, 0, NULL);
    assert_int_equal(-1, gjwt_sign(alg, pub, NULL, c, &none, why, sizeof(why)));
    assert_null(none);
    assert_non_null(strstr(why, "signing failed"));
    json_decref(c);
    EVP_PKEY_free(pub);
    free(token);
  }
}

/* RFC 7515 A.3: ES256 example token and the P-256 public key it was made with. */
static void test_rfc7515_es256_example(void **state) {
  (void)state;
  static const char token[] = "eyJhbGciOiJFUzI1NiJ9"
                              "."
                              "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
                              "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
                              "."
                              "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
                              "pmWQxfKTUJqPP3-Kg6NU1Q";
  /* x and y of the JWK, base64url -> 32 bytes each; the point is 04 || x || y */
  static const char x_b64[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU=";
  static const char y_b64[] = "x/FEzRu9m36HLN/tue659LNpXW6pCyStikYjKIWI5a0=";
  unsigned char x[33], y[33], point[65];
  assert_int_equal(33, EVP_DecodeBlock(x, (const unsigned char *)x_b64, (int)strlen(x_b64)));
  assert_int_equal(33, EVP_DecodeBlock(y, (const unsigned char *)y_b64, (int)strlen(y_b64)));
  point[0] = 0x04;
  memcpy(point + 1, x, 32);
  memcpy(point + 33, y, 32);
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  assert_int_equal(
      1, OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0));
  assert_int_equal(
      1, OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)));
  OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
  EVP_PKEY *pub = NULL;
  assert_int_equal(1, EVP_PKEY_fromdata_init(ctx));
  assert_int_equal(1, EVP_PKEY_fromdata(ctx, &pub, EVP_PKEY_PUBLIC_KEY, params));
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);

  json_t *claims = NULL;
  char why[256] = "";
  if (gjwt_verify(token, strlen(token), GJWT_ES256, pub, &claims, why, sizeof(why)) != 0)
    fail_msg("RFC 7515 A.3: %s", why);
  assert_string_equal("joe", json_string_value(json_object_get(claims, "iss")));
  assert_int_equal(1300819380, (long)json_integer_value(json_object_get(claims, "exp")));
  json_decref(claims);
  /* the same token against another P-256 key does not verify */
  assert_int_equal(
      -1, gjwt_verify(token, strlen(token), GJWT_ES256, keys[K_EC], &claims, why, sizeof(why)));
  assert_null(claims);
  EVP_PKEY_free(pub);
}

static void test_alg_names(void **state) {
  (void)state;
  gjwt_alg alg = GJWT_ES256;
  assert_string_equal("RS256", gjwt_alg_name(GJWT_RS256));
  assert_string_equal("ES256", gjwt_alg_name(GJWT_ES256));
  assert_int_equal(0, gjwt_alg_parse("RS256", &alg));
  assert_int_equal(GJWT_RS256, alg);
  assert_int_equal(0, gjwt_alg_parse("ES256", &alg));
  assert_int_equal(GJWT_ES256, alg);
  static const char *const refused[] = {"rs256", "HS256", "none", "PS256", "ES384", "RS256 ", ""};
  for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
    assert_int_equal(-1, gjwt_alg_parse(refused[i], &alg));
  assert_int_equal(-1, gjwt_alg_parse(NULL, &alg));
}

static void test_sign_refusals(void **state) {
  (void)state;
  char *token = NULL;
  char why[256];
  json_t *array = json_array();
  assert_int_equal(-1, gjwt_sign(GJWT_RS256, keys[K_RSA], NULL, array, &token, why, sizeof(why)));
  assert_non_null(strstr(why, "claims: must be a JSON object"));
  json_decref(array);

  json_t *claims = json_loads(CLAIMS, 0, NULL);
  struct {
    gjwt_alg alg;
    key_id key;
    const char *why;
  } rows[] = {
      {GJWT_RS256, K_EC, "key: RS256 needs an RSA key, not EC"},
      {GJWT_ES256, K_RSA, "key: ES256 needs an EC P-256 key, not RSA"},
      {GJWT_RS256, K_RSA1024, "at least 2048 bits, not 1024"},
      {GJWT_ES256, K_P384, "not one on secp384r1"},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    assert_int_equal(
        -1, gjwt_sign(rows[i].alg, keys[rows[i].key], NULL, claims, &token, why, sizeof(why)));
    assert_null(token);
    if (!strstr(why, rows[i].why))
      fail_msg("row %zu: \"%s\" lacks \"%s\"", i, why, rows[i].why);
  }
  assert_int_equal(-1, gjwt_sign(GJWT_RS256, NULL, NULL, claims, &token, why, sizeof(why)));
  assert_int_equal(
      -1, gjwt_sign(GJWT_RS256, keys[K_RSA], "\xff\xfe", claims, &token, why, sizeof(why)));
  assert_non_null(strstr(why, "kid: not valid UTF-8"));

  /* claims too large for a token gjwt_verify would accept */
  char *big = malloc(7000);
  memset(big, 'x', 6999);
  big[6999] = '\0';
  json_object_set_new(claims, "big", json_string(big));
  free(big);
  assert_int_equal(-1, gjwt_sign(GJWT_RS256, keys[K_RSA], NULL, claims, &token, why, sizeof(why)));
  assert_non_null(strstr(why, "over the 8192-byte limit"));
  json_decref(claims);
}

/* ---- what verification refuses ------------------------------------------------------ */

typedef enum bad_kind {
  BAD_TAMPER_HEADER,    /* header re-encoded with a kid added, old signature */
  BAD_TAMPER_PAYLOAD,   /* payload re-encoded with sub changed, old signature */
  BAD_TAMPER_SIGNATURE, /* one character of the signature changed */
  BAD_WRONG_KEY,        /* signed by another key of the right type */
  BAD_ALG_OTHER,        /* a valid token of the other algorithm */
  BAD_NONE,             /* {"alg":"none"} and an empty signature */
  BAD_NONE_CASE,        /* {"alg":"NONE"} */
  BAD_HS256,            /* HS256 with the RSA public key PEM as HMAC secret */
  BAD_NO_ALG,           /* {"typ":"JWT"} */
  BAD_ALG_NUMBER,       /* {"alg":256} */
  BAD_ALG_LONG,         /* an alg of 40 characters: not quoted */
  BAD_CRIT,             /* {"alg":..,"crit":["exp"]} */
  BAD_KEY_TYPE,         /* verified with a key of the other type */
  BAD_KEY_RSA1024,      /* RS256 with a 1024-bit RSA key */
  BAD_KEY_P384,         /* ES256 with a P-384 key */
  BAD_NO_KEY,
  BAD_TRUNCATED_2,     /* header.payload */
  BAD_TRUNCATED_SIG,   /* the signature loses its last 4 characters */
  BAD_EMPTY_SIG,       /* header.payload. */
  BAD_SEGMENTS_4,      /* header.payload.signature.extra */
  BAD_SEGMENTS_1,      /* no dot at all */
  BAD_EMPTY,           /* "" */
  BAD_EMPTY_HEADER,    /* .payload.signature */
  BAD_PAYLOAD_PLUS,    /* '+' in the payload segment (standard alphabet), signed */
  BAD_HEADER_SPACE,    /* a space inside the header segment */
  BAD_PAYLOAD_NEWLINE, /* a newline inside the payload segment, signed */
  BAD_PADDING,         /* the payload segment with its '=' padding, signed */
  BAD_STRAY_BITS,      /* the last payload character with non-zero unused bits, signed */
  BAD_LENGTH_MOD4,     /* a payload segment of 4n+1 characters, signed */
  BAD_NUL,             /* a NUL byte inside the token */
  BAD_OVERSIZE,        /* 8193 bytes */
  BAD_PAYLOAD_ARRAY,   /* payload [1,2], signed */
  BAD_PAYLOAD_STRING,  /* payload "claims", signed */
  BAD_PAYLOAD_JUNK,    /* payload not JSON, signed */
  BAD_PAYLOAD_TRAIL,   /* {"a":1} followed by more, signed */
  BAD_PAYLOAD_DUP,     /* {"sub":"a","sub":"b"}, signed */
  BAD_HEADER_DUP,      /* {"alg":"RS256","alg":"none"} */
  BAD_HEADER_ARRAY,    /* header ["RS256"] */
  BAD_ES_ZERO_SIG,     /* ES256 with R = S = 0 */
} bad_kind;

typedef struct bad_case {
  const char *name;
  bad_kind kind;
  gjwt_alg alg; /* the algorithm the token is made for and verified as */
  const char *why;
} bad_case;

static const bad_case bad_cases[] = {
    {"tampered-header-rs256", BAD_TAMPER_HEADER, GJWT_RS256, "signature: does not verify"},
    {"tampered-header-es256", BAD_TAMPER_HEADER, GJWT_ES256, "signature: does not verify"},
    {"tampered-payload-rs256", BAD_TAMPER_PAYLOAD, GJWT_RS256, "signature: does not verify"},
    {"tampered-payload-es256", BAD_TAMPER_PAYLOAD, GJWT_ES256, "signature: does not verify"},
    {"tampered-signature-rs256", BAD_TAMPER_SIGNATURE, GJWT_RS256, "signature: does not verify"},
    {"tampered-signature-es256", BAD_TAMPER_SIGNATURE, GJWT_ES256, "signature: does not verify"},
    {"wrong-key-rs256", BAD_WRONG_KEY, GJWT_RS256, "signature: does not verify with the RS256"},
    {"wrong-key-es256", BAD_WRONG_KEY, GJWT_ES256, "signature: does not verify with the ES256"},
    {"es256-token-as-rs256", BAD_ALG_OTHER, GJWT_RS256, "header: alg ES256, expected RS256"},
    {"rs256-token-as-es256", BAD_ALG_OTHER, GJWT_ES256, "header: alg RS256, expected ES256"},
    {"alg-none", BAD_NONE, GJWT_RS256, "header: alg none (an unsigned token) is refused"},
    {"alg-NONE", BAD_NONE_CASE, GJWT_ES256, "header: alg none (an unsigned token) is refused"},
    {"hs256-with-rsa-public-key", BAD_HS256, GJWT_RS256, "header: alg HS256, expected RS256"},
    {"no-alg", BAD_NO_ALG, GJWT_RS256, "header: no alg"},
    {"alg-number", BAD_ALG_NUMBER, GJWT_RS256, "header: alg is a number, not a string"},
    {"alg-long", BAD_ALG_LONG, GJWT_RS256, "header: an unexpected alg, expected RS256"},
    {"crit", BAD_CRIT, GJWT_ES256, "header: crit names extensions"},
    {"ec-key-for-rs256", BAD_KEY_TYPE, GJWT_RS256, "key: RS256 needs an RSA key, not EC"},
    {"rsa-key-for-es256", BAD_KEY_TYPE, GJWT_ES256, "key: ES256 needs an EC P-256 key, not RSA"},
    {"rsa-1024", BAD_KEY_RSA1024, GJWT_RS256, "key: RS256 needs an RSA key of at least 2048"},
    {"p384-for-es256", BAD_KEY_P384, GJWT_ES256, "not one on secp384r1"},
    {"no-key", BAD_NO_KEY, GJWT_RS256, "key: none given"},
    {"truncated-two-segments", BAD_TRUNCATED_2, GJWT_RS256, "token: 2 segments"},
    {"truncated-signature-rs256", BAD_TRUNCATED_SIG, GJWT_RS256,
     "signature: 253 bytes, the 2048-bit RSA key makes 256"},
    {"truncated-signature-es256", BAD_TRUNCATED_SIG, GJWT_ES256,
     "signature: 61 bytes, ES256 has 64"},
    {"empty-signature", BAD_EMPTY_SIG, GJWT_ES256, "signature: empty segment"},
    {"four-segments", BAD_SEGMENTS_4, GJWT_RS256, "token: 4 segments"},
    {"one-segment", BAD_SEGMENTS_1, GJWT_RS256, "token: 1 segment,"},
    {"empty-token", BAD_EMPTY, GJWT_RS256, "token: empty"},
    {"empty-header", BAD_EMPTY_HEADER, GJWT_RS256, "header: empty segment"},
    {"plus-in-payload", BAD_PAYLOAD_PLUS, GJWT_RS256, "payload: character"},
    {"space-in-header", BAD_HEADER_SPACE, GJWT_RS256,
     "header: character 5 is not in the base64url"},
    {"newline-in-payload", BAD_PAYLOAD_NEWLINE, GJWT_ES256, "payload: character 9 is not in"},
    {"padding", BAD_PADDING, GJWT_RS256, "payload: padding '='"},
    {"stray-bits", BAD_STRAY_BITS, GJWT_ES256, "payload: non-canonical base64url"},
    {"length-4n+1", BAD_LENGTH_MOD4, GJWT_RS256, "cannot be base64url"},
    {"nul-byte", BAD_NUL, GJWT_RS256, "is not in the base64url alphabet"},
    {"oversize", BAD_OVERSIZE, GJWT_RS256, "token: 8193 bytes, over the 8192-byte limit"},
    {"payload-array", BAD_PAYLOAD_ARRAY, GJWT_RS256, "payload: a JSON array, not an object"},
    {"payload-string", BAD_PAYLOAD_STRING, GJWT_ES256, "payload: a JSON string, not an object"},
    {"payload-not-json", BAD_PAYLOAD_JUNK, GJWT_RS256, "payload: not JSON (invalid syntax"},
    {"payload-trailing-data", BAD_PAYLOAD_TRAIL, GJWT_RS256,
     "payload: not JSON (data after the JSON value"},
    {"payload-duplicate-key", BAD_PAYLOAD_DUP, GJWT_ES256,
     "payload: not JSON (a key appears twice"},
    {"header-duplicate-alg", BAD_HEADER_DUP, GJWT_RS256, "header: not JSON (a key appears twice"},
    {"header-array", BAD_HEADER_ARRAY, GJWT_RS256, "header: a JSON array, not an object"},
    {"es256-zero-signature", BAD_ES_ZERO_SIG, GJWT_ES256, "signature: does not verify"},
};
#define BAD_COUNT (sizeof(bad_cases) / sizeof(bad_cases[0]))

static EVP_PKEY *key_for(gjwt_alg alg) { return keys[alg == GJWT_RS256 ? K_RSA : K_EC]; }

static const char *header_for(gjwt_alg alg) {
  return alg == GJWT_RS256 ? "{\"alg\":\"RS256\",\"typ\":\"JWT\"}"
                           : "{\"alg\":\"ES256\",\"typ\":\"JWT\"}";
}

/* The token of one case; *key gets the key to verify with. */
static char *make_bad(const bad_case *c, EVP_PKEY **key) {
  EVP_PKEY *k = key_for(c->alg);
  *key = k;
  gjwt_alg other = c->alg == GJWT_RS256 ? GJWT_ES256 : GJWT_RS256;
  char *good = gjwt_token(c->alg, k, NULL, CLAIMS);
  char *out = NULL, *seg = NULL;
  switch (c->kind) {
  case BAD_TAMPER_HEADER:
    seg = c->alg == GJWT_RS256 ? b64s("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"x\"}")
                               : b64s("{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"x\"}");
    out = with_segment(good, 0, seg);
    break;
  case BAD_TAMPER_PAYLOAD:
    seg = b64s("{\"iss\":\"https://km.example\",\"sub\":\"admin\",\"exp\":1893459600}");
    out = with_segment(good, 1, seg);
    break;
  case BAD_TAMPER_SIGNATURE: {
    out = strdup(good);
    char *sig = strrchr(out, '.') + 10;
    *sig = *sig == 'A' ? 'B' : 'A'; /* a middle character: the encoding stays canonical */
    break;
  }
  case BAD_WRONG_KEY:
    out = gjwt_token(c->alg, keys[c->alg == GJWT_RS256 ? K_RSA2 : K_EC2], NULL, CLAIMS);
    break;
  case BAD_ALG_OTHER:
    out = gjwt_token(other, key_for(other), NULL, CLAIMS);
    break;
  case BAD_NONE:
  case BAD_NONE_CASE: {
    char *h = b64s(c->kind == BAD_NONE ? "{\"alg\":\"none\"}" : "{\"alg\":\"NONE\"}");
    char *p = b64s(CLAIMS);
    out = join3(h, p, "");
    free(h);
    free(p);
    break;
  }
  case BAD_HS256:
    out = hs256_with_public_pem(k);
    break;
  case BAD_NO_ALG:
    out = signed_json("{\"typ\":\"JWT\"}", CLAIMS, k);
    break;
  case BAD_ALG_NUMBER:
    out = signed_json("{\"alg\":256}", CLAIMS, k);
    break;
  case BAD_ALG_LONG:
    out = signed_json("{\"alg\":\"RS256RS256RS256RS256RS256RS256RS256RS\"}", CLAIMS, k);
    break;
  case BAD_CRIT:
    out = signed_json("{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}", CLAIMS, k);
    break;
  case BAD_KEY_TYPE:
    out = strdup(good);
    *key = key_for(other);
    break;
  case BAD_KEY_RSA1024:
    out = strdup(good);
    *key = keys[K_RSA1024];
    break;
  case BAD_KEY_P384:
    out = strdup(good);
    *key = keys[K_P384];
    break;
  case BAD_NO_KEY:
    out = strdup(good);
    *key = NULL;
    break;
  case BAD_TRUNCATED_2:
    out = strdup(good);
    *strrchr(out, '.') = '\0';
    break;
  case BAD_TRUNCATED_SIG:
    seg = shorter_signature(good, 3);
    out = with_segment(good, 2, seg);
    break;
  case BAD_EMPTY_SIG:
    out = strdup(good);
    strrchr(out, '.')[1] = '\0';
    break;
  case BAD_SEGMENTS_4:
    out = join3(good, "eyJ9", NULL);
    break;
  case BAD_SEGMENTS_1:
    out = segment(good, 1);
    break;
  case BAD_EMPTY:
    out = strdup("");
    break;
  case BAD_EMPTY_HEADER:
    out = with_segment(good, 0, "");
    break;
  case BAD_PAYLOAD_PLUS: {
    /* a payload whose standard base64 holds '+': "~~~" is fn5+ */
    char *h = b64s(header_for(c->alg));
    char *p = b64("{\"a\":\"~~~\"}", 11, 1);
    assert_non_null(strchr(p, '+'));
    while (p[strlen(p) - 1] == '=')
      p[strlen(p) - 1] = '\0';
    out = signed_segments(h, p, k);
    free(h);
    free(p);
    break;
  }
  case BAD_HEADER_SPACE: {
    char *h = b64s(header_for(c->alg));
    char spaced[256];
    snprintf(spaced, sizeof(spaced), "%.4s %s", h, h + 4);
    char *p = b64s(CLAIMS);
    out = signed_segments(spaced, p, k);
    free(h);
    free(p);
    break;
  }
  case BAD_PAYLOAD_NEWLINE: {
    char *h = b64s(header_for(c->alg)), *p = b64s(CLAIMS);
    char broken[512];
    snprintf(broken, sizeof(broken), "%.8s\n%s", p, p + 8);
    out = signed_segments(h, broken, k);
    free(h);
    free(p);
    break;
  }
  case BAD_PADDING: {
    char *h = b64s(header_for(c->alg));
    char *p = b64("{\"sub\":\"a\"}", 11, 1); /* 11 bytes: one '=' */
    for (char *q = p; *q; q++)
      *q = *q == '+' ? '-' : *q == '/' ? '_' : *q;
    assert_non_null(strchr(p, '='));
    out = signed_segments(h, p, k);
    free(h);
    free(p);
    break;
  }
  case BAD_STRAY_BITS: {
    /* {"sub":"a"} is 11 bytes: 15 characters, the last carrying 2 unused bits */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *h = b64s(header_for(c->alg)), *p = b64s("{\"sub\":\"a\"}");
    size_t n = strlen(p);
    assert_int_equal(15, (int)n);
    p[n - 1] = alphabet[(strchr(alphabet, p[n - 1]) - alphabet) | 1];
    out = signed_segments(h, p, k);
    free(h);
    free(p);
    break;
  }
  case BAD_LENGTH_MOD4: {
    char *h = b64s(header_for(c->alg));
    out = signed_segments(h, "eyJzdWIiOiJhIn0AA", k); /* 17 characters: impossible */
    free(h);
    break;
  }
  case BAD_NUL:
    out = strdup(good);
    out[3] = '\0';
    break;
  case BAD_OVERSIZE:
    out = malloc(GJWT_MAX_TOKEN + 2);
    memset(out, 'A', GJWT_MAX_TOKEN + 1);
    out[100] = out[200] = '.';
    out[GJWT_MAX_TOKEN + 1] = '\0';
    break;
  case BAD_PAYLOAD_ARRAY:
    out = signed_json(header_for(c->alg), "[1,2]", k);
    break;
  case BAD_PAYLOAD_STRING:
    out = signed_json(header_for(c->alg), "\"claims\"", k);
    break;
  case BAD_PAYLOAD_JUNK:
    out = signed_json(header_for(c->alg), "{\"sub\":alice}", k);
    break;
  case BAD_PAYLOAD_TRAIL:
    out = signed_json(header_for(c->alg), "{\"a\":1}{\"b\":2}", k);
    break;
  case BAD_PAYLOAD_DUP:
    out = signed_json(header_for(c->alg), "{\"sub\":\"a\",\"sub\":\"b\"}", k);
    break;
  case BAD_HEADER_DUP:
    out = signed_json("{\"alg\":\"RS256\",\"alg\":\"none\"}", CLAIMS, k);
    break;
  case BAD_HEADER_ARRAY:
    out = signed_json("[\"RS256\"]", CLAIMS, k);
    break;
  case BAD_ES_ZERO_SIG: {
    unsigned char zero[64] = {0};
    char *sig = b64(zero, sizeof(zero), 0);
    out = with_segment(good, 2, sig);
    free(sig);
    break;
  }
  }
  free(seg);
  free(good);
  return out;
}

/* 1 when why quotes a run of 8 or more characters of the token's segments. */
static int quotes_token(const char *why, const char *token, size_t len) {
  for (size_t i = 0; i + 8 <= len; i++) {
    if (memchr(token + i, '.', 8) || memchr(token + i, '\0', 8))
      continue;
    char run[9];
    memcpy(run, token + i, 8);
    run[8] = '\0';
    if (strstr(why, run))
      return 1;
  }
  return 0;
}

static void test_refused(void **state) {
  const bad_case *c = *state;
  EVP_PKEY *key = NULL;
  char *token = make_bad(c, &key);
  size_t len = c->kind == BAD_NUL ? strlen(token + 4) + 4 : strlen(token);
  json_t *sentinel = json_object();
  json_t *claims = sentinel; /* must come back NULL */
  char why[256] = "";
  int rc = gjwt_verify(token, len, c->alg, key, &claims, why, sizeof(why));
  if (rc != -1)
    fail_msg("%s: accepted", c->name);
  assert_null(claims);
  if (!strstr(why, c->why))
    fail_msg("%s: reason \"%s\", expected it to contain \"%s\"", c->name, why, c->why);
  if (quotes_token(why, token, len))
    fail_msg("%s: the reason quotes the token: %s", c->name, why);
  json_decref(sentinel);
  free(token);
}

/* The control for the table: the good token of each algorithm verifies, and
 * each hand-built good token does too (so the helpers sign correctly). */
static void test_controls(void **state) {
  (void)state;
  for (int a = 0; a < 2; a++) {
    gjwt_alg alg = a ? GJWT_ES256 : GJWT_RS256;
    char *tokens[2] = {gjwt_token(alg, key_for(alg), NULL, CLAIMS),
                       signed_json(header_for(alg), CLAIMS, key_for(alg))};
    for (int t = 0; t < 2; t++) {
      json_t *claims = NULL;
      char why[256] = "";
      if (gjwt_verify(tokens[t], strlen(tokens[t]), alg, key_for(alg), &claims, why, sizeof(why)) !=
          0)
        fail_msg("control %s/%d: %s", gjwt_alg_name(alg), t, why);
      assert_string_equal("alice", json_string_value(json_object_get(claims, "sub")));
      json_decref(claims);
      free(tokens[t]);
    }
  }
}

/* ---- gatecert token ------------------------------------------------------------------- */

/* Runs `gatecert token ARGS 2>&1`; the exit code, the output in *out (malloc'd). */
#define run_token(out, ...) test_run(out, "GATECERT_BIN", "token " __VA_ARGS__)

/* keys[which] as a PEM private key file in the scratch directory (malloc'd path). */
static char *key_file(key_id which, const char *name) {
  gcert_buf buf = {0};
  gcert_error err = {0};
  char *path = test_scratch_path(name);
  assert_status(GCERT_OK, gcert_pem_write_key(keys[which], NULL, &buf, &err), &err);
  assert_status(GCERT_OK, gcert_file_save(path, buf.data, buf.len, 1, &err), &err);
  gcert_buf_cleanse_free(&buf);
  return path;
}

/* The printed token verified for alg with key (its claims, new reference). */
static json_t *printed_claims(char *out, gjwt_alg alg, key_id key, char **header) {
  size_t len = strlen(out);
  if (len == 0 || out[len - 1] != '\n' || strchr(out, '\n') != out + len - 1)
    fail_msg("expected one line, got: %s", out);
  out[--len] = '\0';
  json_t *claims = NULL;
  char why[256] = "";
  if (gjwt_verify(out, len, alg, keys[key], &claims, why, sizeof(why)) != 0)
    fail_msg("the printed token does not verify: %s", why);
  *header = segment(out, 0);
  return claims;
}

static void expect_claim_int(json_t *claims, const char *name, long long value) {
  json_t *v = json_object_get(claims, name);
  if (!json_is_integer(v) || json_integer_value(v) != value)
    fail_msg("claim %s: expected %lld", name, value);
}

static void expect_claim_str(json_t *claims, const char *name, const char *value) {
  const char *v = json_string_value(json_object_get(claims, name));
  if (!v || strcmp(v, value) != 0)
    fail_msg("claim %s: expected \"%s\", got \"%s\"", name, value, v ? v : "(none)");
}

static void test_token_cli(void **state) {
  (void)state;
  char *rsa = key_file(K_RSA, "km-rsa.key"), *ec = key_file(K_EC, "km-ec.key");
  char *small = key_file(K_RSA1024, "km-1024.key");
  char *out = NULL, *header = NULL;

  /* every option */
  int rc = run_token(&out,
                     "--key '%s' --iss https://km.example/token --client-id ck-1 --sub alice "
                     "--aud api-1 --kid k1 --iat 1893456000 --nbf 1893455000 --lifetime 600",
                     rsa);
  if (rc != 0)
    fail_msg("exit %d: %s", rc, out);
  json_t *claims = printed_claims(out, GJWT_RS256, K_RSA, &header);
  char *want = b64s("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}");
  assert_string_equal(want, header);
  expect_claim_str(claims, "iss", "https://km.example/token");
  expect_claim_str(claims, "sub", "alice");
  expect_claim_str(claims, "aud", "api-1");
  expect_claim_str(claims, "azp", "ck-1");
  expect_claim_str(claims, "client_id", "ck-1");
  expect_claim_int(claims, "iat", 1893456000);
  expect_claim_int(claims, "nbf", 1893455000);
  expect_claim_int(claims, "exp", 1893456600);
  assert_int_equal(36, (int)strlen(json_string_value(json_object_get(claims, "jti"))));
  assert_int_equal(9, (int)json_object_size(claims));
  json_decref(claims);
  free(want);
  free(header);
  free(out);

  /* the defaults: ES256 for an EC key, sub = client id, an hour, no nbf, aud or kid */
  rc = run_token(&out, "--key '%s' --iss i --client-id ck-2 --iat 1893456000", ec);
  if (rc != 0)
    fail_msg("exit %d: %s", rc, out);
  claims = printed_claims(out, GJWT_ES256, K_EC, &header);
  want = b64s("{\"alg\":\"ES256\",\"typ\":\"JWT\"}");
  assert_string_equal(want, header);
  expect_claim_str(claims, "sub", "ck-2");
  expect_claim_int(claims, "exp", 1893456000 + 3600);
  assert_null(json_object_get(claims, "nbf"));
  assert_null(json_object_get(claims, "aud"));
  json_decref(claims);
  free(want);
  free(header);
  free(out);

  /* --exp instead of a lifetime; iat from the wall clock */
  rc = run_token(&out, "--key '%s' --iss i --client-id c --exp 5", rsa);
  if (rc != 0)
    fail_msg("exit %d: %s", rc, out);
  claims = printed_claims(out, GJWT_RS256, K_RSA, &header);
  expect_claim_int(claims, "exp", 5);
  assert_true(json_integer_value(json_object_get(claims, "iat")) >= (json_int_t)time(NULL) - 60);
  json_decref(claims);
  free(header);
  free(out);

  static const struct {
    const char *suffix; /* after the RSA key file's name */
    const char *args;
    int exit;
    const char *says;
  } refusals[] = {
      {"", "--client-id c", 2, "--key, --iss and --client-id are required"},
      {"", "--iss i", 2, "--key, --iss and --client-id are required"},
      {"", "--iss i --client-id c --alg HS256", 2, "--alg must be RS256 or ES256"},
      {"", "--iss i --client-id c --alg none", 2, "--alg must be RS256 or ES256"},
      {"", "--iss i --client-id c --iat soon", 2, "--iat must be seconds since the epoch"},
      {"", "--iss i --client-id c --nbf -5", 2, "--nbf must be seconds since the epoch"},
      {"", "--iss i --client-id c --lifetime 0", 2, "--lifetime must be a whole number"},
      {"", "--iss i --client-id c --lifetime 60 --exp 9", 2, "--exp or --lifetime"},
      {"", "--iss '' --client-id c", 2, "--iss must be non-empty UTF-8"},
      {"", "--iss i --client-id c extra", 2, "unexpected argument 'extra'"},
      {"", "--iss i --client-id c --colour", 2, "--colour: unknown option"},
      {".missing", "--iss i --client-id c", 1, "cannot open"},
      {"", "--iss i --client-id c --alg ES256", 1, "ES256 needs an EC P-256 key, not RSA"},
  };
  for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
    rc = run_token(&out, "--key '%s%s' %s", rsa, refusals[i].suffix, refusals[i].args);
    if (rc != refusals[i].exit || !strstr(out, refusals[i].says))
      fail_msg("token %s: exit %d (expected %d), output: %s", refusals[i].args, rc,
               refusals[i].exit, out);
    free(out);
  }
  /* a key RS256 cannot use, and a file without a private key */
  rc = run_token(&out, "--key '%s' --iss i --client-id c", small);
  assert_int_equal(1, rc);
  assert_non_null(strstr(out, "at least 2048 bits"));
  free(out);
  char *pub = test_scratch_path("km-rsa.pub.pem");
  FILE *f = fopen(pub, "w");
  assert_non_null(f);
  assert_int_equal(1, PEM_write_PUBKEY(f, keys[K_RSA]));
  fclose(f);
  rc = run_token(&out, "--key '%s' --iss i --client-id c", pub);
  assert_int_equal(1, rc);
  free(out);
  rc = run_token(&out, "--help");
  assert_int_equal(0, rc);
  assert_non_null(strstr(out, "usage: gatecert token --key FILE.pem"));
  free(out);
  free(pub);
  free(rsa);
  free(ec);
  free(small);
}

int main(void) {
  struct CMUnitTest tests[BAD_COUNT + 8];
  size_t n = 0;
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_alg_names);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_round_trip_rs256);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_round_trip_es256);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_public_key_only);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_rfc7515_es256_example);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_sign_refusals);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_controls);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_token_cli);
  for (size_t i = 0; i < BAD_COUNT; i++) {
    struct CMUnitTest t = {bad_cases[i].name, test_refused, NULL, NULL, (void *)&bad_cases[i]};
    tests[n++] = t;
  }
  return _cmocka_run_group_tests("jwt", tests, n, setup_keys, teardown_keys);
}
