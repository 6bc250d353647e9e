/* token.c - `gatecert token`: a JWT access token from a key manager's key (see token.h).
 *
 * The key is read with certs/ (a PEM private key alone, as `gatecert certs
 * issue` writes PREFIX.key, or a PEM holding a certificate and its key); the
 * token is signed by jwt/ (gjwt_sign). Times are whole seconds since the
 * epoch. The wall clock is read only when --iat is absent: scenarios on a
 * fake clock pass --iat so the token is dated from the case's epoch.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "gcert.h"
#include "gjwt.h"
#include "token.h"

#define DEFAULT_LIFETIME 3600
#define MAX_EPOCH        INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

static const char usage_text[] =
    "usage: gatecert token --key FILE.pem --iss ISSUER --client-id CK [--alg RS256|ES256]\n"
    "                      [--kid K] [--sub S] [--aud A] [--lifetime SECONDS]\n"
    "                      [--iat EPOCH] [--exp EPOCH] [--nbf EPOCH]\n"
    "\n"
    "Prints a JWT access token (compact JWS) signed with the key manager's private key.\n"
    "\n"
    "  --key FILE       PEM private key (alone, or after its certificate)\n"
    "  --iss ISSUER     the key manager's issuer (iss)\n"
    "  --client-id CK   the consumer key: azp and client_id\n"
    "  --alg A          RS256 or ES256 (default: RS256 for an RSA key, ES256 for an EC key)\n"
    "  --kid K          key id in the header\n"
    "  --sub S          subject (default: the client id)\n"
    "  --aud A          audience\n"
    "  --lifetime S     exp = iat + S (default 3600)\n"
    "  --iat EPOCH      issued at, seconds since the epoch (default: the wall clock now;\n"
    "                   pass it to mint for a fake clock)\n"
    "  --exp EPOCH      expiry instead of --lifetime\n"
    "  --nbf EPOCH      not before\n"
    "\n"
    "Exit codes: 0 printed, 1 the key cannot be read or cannot sign, 2 usage error.\n";

typedef struct token_args {
  const char *key_path, *iss, *client_id, *kid, *sub, *aud;
  gjwt_alg alg;
  int have_alg;
  int64_t lifetime, iat, exp, nbf;
  int have_lifetime, have_iat, have_exp, have_nbf;
} token_args;

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "gatecert token: ");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(see `gatecert token --help`)\n");
  return 2;
}

/* A whole number in [min, MAX_EPOCH]; -1 when it is not one. */
static int parse_seconds(const char *text, int64_t min, int64_t *out) {
  if (!text || !*text)
    return -1;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > MAX_EPOCH)
    return -1;
  *out = (int64_t)v;
  return 0;
}

static int parse_args(int argc, char **argv, token_args *a) {
  static const struct option longs[] = {
      {"key", required_argument, NULL, 'k'},
      {"iss", required_argument, NULL, 'i'},
      {"client-id", required_argument, NULL, 'c'},
      {"alg", required_argument, NULL, 'a'},
      {"kid", required_argument, NULL, 'K'},
      {"sub", required_argument, NULL, 's'},
      {"aud", required_argument, NULL, 'u'},
      {"lifetime", required_argument, NULL, 'l'},
      {"iat", required_argument, NULL, 'I'},
      {"exp", required_argument, NULL, 'e'},
      {"nbf", required_argument, NULL, 'n'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  optind = 1;
  opterr = 0;
  int ch;
  while ((ch = getopt_long(argc, argv, "+h", longs, NULL)) != -1) {
    switch (ch) {
    case 'k':
      a->key_path = optarg;
      break;
    case 'i':
      a->iss = optarg;
      break;
    case 'c':
      a->client_id = optarg;
      break;
    case 'a':
      if (gjwt_alg_parse(optarg, &a->alg) != 0)
        return usage_error("--alg must be RS256 or ES256, not '%s'", optarg);
      a->have_alg = 1;
      break;
    case 'K':
      a->kid = optarg;
      break;
    case 's':
      a->sub = optarg;
      break;
    case 'u':
      a->aud = optarg;
      break;
    case 'l':
      if (parse_seconds(optarg, 1, &a->lifetime) != 0)
        return usage_error("--lifetime must be a whole number of seconds, at least 1");
      a->have_lifetime = 1;
      break;
    case 'I':
    case 'e':
    case 'n': {
      int64_t *dst = ch == 'I' ? &a->iat : ch == 'e' ? &a->exp : &a->nbf;
      if (parse_seconds(optarg, 0, dst) != 0)
        return usage_error("--%s must be seconds since the epoch (0 to %" PRId64 ")",
                           ch == 'I'   ? "iat"
                           : ch == 'e' ? "exp"
                                       : "nbf",
                           MAX_EPOCH);
      *(ch == 'I' ? &a->have_iat : ch == 'e' ? &a->have_exp : &a->have_nbf) = 1;
      break;
    }
    case 'h':
      fputs(usage_text, stdout);
      return 1;
    default:
      return usage_error("%s: unknown option or missing value", argv[optind - 1]);
    }
  }
  if (optind != argc)
    return usage_error("unexpected argument '%s'", argv[optind]);
  if (!a->key_path || !a->iss || !a->client_id)
    return usage_error("--key, --iss and --client-id are required");
  const char *const strings[][2] = {{"--iss", a->iss},
                                    {"--client-id", a->client_id},
                                    {"--kid", a->kid},
                                    {"--sub", a->sub},
                                    {"--aud", a->aud}};
  for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
    const char *v = strings[i][1];
    json_t *probe = v ? json_string(v) : NULL; /* NULL for invalid UTF-8 */
    int bad = v && (!*v || !probe);
    json_decref(probe);
    if (bad)
      return usage_error("%s must be non-empty UTF-8", strings[i][0]);
  }
  if (a->have_exp && a->have_lifetime)
    return usage_error("give --exp or --lifetime, not both");
  return 0;
}

/* The private key of a PEM file: a key alone, or a certificate and its key. */
static EVP_PKEY *load_key(const char *path) {
  gcert_error err = {0};
  gcert_buf buf = {0};
  EVP_PKEY *key = NULL;
  gcert_status st = gcert_file_load(path, GCERT_MAX_INPUT, &buf, &err);
  if (st == GCERT_OK) {
    st = gcert_pem_read_key(buf.data, buf.len, NULL, &key, &err);
    if (st == GCERT_E_PEM_UNEXPECTED) { /* a certificate too: read the pair */
      gcert_store store;
      gcert_store_init(&store);
      st = gcert_pem_read(buf.data, buf.len, NULL, &store, &err);
      if (st == GCERT_OK && store.count == 1 && store.entries[0].key) {
        key = store.entries[0].key;
        EVP_PKEY_up_ref(key);
      } else if (st == GCERT_OK) {
        st = GCERT_E_NO_KEY;
        snprintf(err.message, sizeof(err.message), "no private key in the file");
      }
      gcert_store_free(&store);
    }
  }
  gcert_buf_cleanse_free(&buf);
  if (st != GCERT_OK)
    fprintf(stderr, "gatecert token: --key %s: %s: %s\n", path, gcert_status_name(st), err.message);
  return st == GCERT_OK ? key : NULL;
}

/* A random version 4 UUID, as a jti. */
static int new_jti(char out[37]) {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof(b)) != 1)
    return -1;
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
           b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
           b[15]);
  return 0;
}

static json_t *make_claims(const token_args *a) {
  char jti[37];
  if (new_jti(jti) != 0)
    return NULL;
  int64_t iat = a->have_iat ? a->iat : (int64_t)time(NULL);
  int64_t lifetime = a->have_lifetime ? a->lifetime : DEFAULT_LIFETIME;
  int64_t exp = a->have_exp ? a->exp : iat + lifetime;
  json_t *c = json_object();
  json_object_set_new(c, "iss", json_string(a->iss));
  json_object_set_new(c, "sub", json_string(a->sub ? a->sub : a->client_id));
  if (a->aud)
    json_object_set_new(c, "aud", json_string(a->aud));
  json_object_set_new(c, "azp", json_string(a->client_id));
  json_object_set_new(c, "client_id", json_string(a->client_id));
  json_object_set_new(c, "iat", json_integer((json_int_t)iat));
  if (a->have_nbf)
    json_object_set_new(c, "nbf", json_integer((json_int_t)a->nbf));
  json_object_set_new(c, "exp", json_integer((json_int_t)exp));
  json_object_set_new(c, "jti", json_string(jti));
  return c;
}

int gh_token_main(int argc, char **argv) {
  token_args a;
  memset(&a, 0, sizeof(a));
  int rc = parse_args(argc, argv, &a);
  if (rc != 0)
    return rc == 1 ? 0 : 2;
  EVP_PKEY *key = load_key(a.key_path);
  if (!key)
    return 1;
  if (!a.have_alg) {
    if (EVP_PKEY_is_a(key, "RSA"))
      a.alg = GJWT_RS256;
    else if (EVP_PKEY_is_a(key, "EC"))
      a.alg = GJWT_ES256;
    else {
      fprintf(stderr, "gatecert token: --key %s: neither an RSA nor an EC key\n", a.key_path);
      EVP_PKEY_free(key);
      return 1;
    }
  }
  json_t *claims = make_claims(&a);
  char *token = NULL;
  char why[256] = "cannot build the claims";
  rc = claims && gjwt_sign(a.alg, key, a.kid, claims, &token, why, sizeof(why)) == 0 ? 0 : 1;
  json_decref(claims);
  EVP_PKEY_free(key);
  if (rc != 0) {
    fprintf(stderr, "gatecert token: %s: %s\n", gjwt_alg_name(a.alg), why);
    return 1;
  }
  int bad = printf("%s\n", token) < 0 || fflush(stdout) != 0;
  free(token);
  if (bad) {
    fprintf(stderr, "gatecert token: cannot write the token\n");
    return 1;
  }
  return 0;
}
