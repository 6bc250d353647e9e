/* token.c - `gatecert token`: a JWT access token from a key manager's key (see token.h).
 *
 * The key is read with certs/ (a PEM private key alone, as `gatecert certs
 * issue` writes PREFIX.key, or a PEM holding a certificate and its key); the
 * token is signed by jwt/ (gjwt_sign). Times are whole seconds since the
 * epoch. The wall clock is read only when --iat is absent: scenarios on a
 * fake clock pass --iat so the token is dated from the case's epoch.
 */
#include <errno.h>
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
#include "gutil.h"
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

typedef struct seconds_arg {
  int64_t value;
  int given;
} seconds_arg;

typedef struct token_args {
  const char *key_path, *iss, *client_id, *kid, *sub, *aud;
  gjwt_alg alg;
  int have_alg;
  seconds_arg lifetime, iat, exp, nbf;
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

static int parse_alg(const char *name, const char *value, void *to, char *why, size_t why_len) {
  token_args *a = to;
  if (gjwt_alg_parse(value, &a->alg) != 0)
    return gu_fail(why, why_len, "--%s must be RS256 or ES256, not '%s'", name, value);
  a->have_alg = 1;
  return 0;
}

static int parse_lifetime(const char *name, const char *value, void *to, char *why,
                          size_t why_len) {
  seconds_arg *s = to;
  if (parse_seconds(value, 1, &s->value) != 0)
    return gu_fail(why, why_len, "--%s must be a whole number of seconds, at least 1", name);
  s->given = 1;
  return 0;
}

/* --iat, --exp, --nbf. */
static int parse_epoch(const char *name, const char *value, void *to, char *why, size_t why_len) {
  seconds_arg *s = to;
  if (parse_seconds(value, 0, &s->value) != 0)
    return gu_fail(why, why_len, "--%s must be seconds since the epoch (0 to %" PRId64 ")", name,
                   MAX_EPOCH);
  s->given = 1;
  return 0;
}

/* 0 parsed, 1 --help (printed), 2 usage error (printed). */
static int parse_args(int argc, char **argv, token_args *a) {
  int help = 0, version = 0;
  const gu_opt table[] = {
      {"key", .string = &a->key_path},
      {"iss", .string = &a->iss},
      {"client-id", .string = &a->client_id},
      {"alg", .parse = parse_alg, .to = a},
      {"kid", .string = &a->kid},
      {"sub", .string = &a->sub},
      {"aud", .string = &a->aud},
      {"lifetime", .parse = parse_lifetime, .to = &a->lifetime},
      {"iat", .parse = parse_epoch, .to = &a->iat},
      {"exp", .parse = parse_epoch, .to = &a->exp},
      {"nbf", .parse = parse_epoch, .to = &a->nbf},
      {"help", 'h', .flag = &help, .stop = 1},
      {"version", .flag = &version, .stop = 1},
      {0},
  };
  char why[4096];
  int first = gu_opts_parse(argc, argv, table, GU_OPTS_IN_ORDER, why, sizeof(why));
  if (first < 0)
    return usage_error("%s", why);
  if (help) {
    fputs(usage_text, stdout);
    return 1;
  }
  if (version) {
    char line[256];
    puts(gu_version_line("gatecert token", line, sizeof(line)));
    return 1;
  }
  if (first != argc)
    return usage_error("unexpected argument '%s'", argv[first]);
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
  if (a->exp.given && a->lifetime.given)
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
  int64_t iat = a->iat.given ? a->iat.value : (int64_t)time(NULL);
  int64_t lifetime = a->lifetime.given ? a->lifetime.value : DEFAULT_LIFETIME;
  int64_t exp = a->exp.given ? a->exp.value : iat + lifetime;
  json_t *c = json_object();
  json_object_set_new(c, "iss", json_string(a->iss));
  json_object_set_new(c, "sub", json_string(a->sub ? a->sub : a->client_id));
  if (a->aud)
    json_object_set_new(c, "aud", json_string(a->aud));
  json_object_set_new(c, "azp", json_string(a->client_id));
  json_object_set_new(c, "client_id", json_string(a->client_id));
  json_object_set_new(c, "iat", json_integer((json_int_t)iat));
  if (a->nbf.given)
    json_object_set_new(c, "nbf", json_integer((json_int_t)a->nbf.value));
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
