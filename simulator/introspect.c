/* introspect.c - gatecert-introspect: WSO2's token verdicts for a real
 * gateway's auth_request.
 *
 * A real gateway (nginx) does the TLS and the client certificate itself but
 * cannot validate our JWTs. It asks this small plain-HTTP server, with
 * nginx's auth_request, what WSO2 API Manager's security chain would answer,
 * and this server answers with the simulator's own code: gsim_chain_decide
 * (security.c) and gsim_oauth_check_bearer (oauth.c), on the process clock
 * (fake under libfaketime, like every gateway child).
 *
 * The contract (the nginx driver is written against exactly this):
 *
 *   gatecert-introspect --config FILE [--listen 127.0.0.1:PORT] [--profile P]
 *     Listens on loopback (default 127.0.0.1:0), prints one line
 *     "READY introspect http=127.0.0.1:PORT" on stdout, serves until SIGTERM
 *     or SIGINT, then exits 0. A config that does not load at start, or a
 *     listen address that does not bind, exits 1 (2 for usage) before READY
 *     with a one-line reason on stderr.
 *
 *   FILE (JSON, at most 1 MiB, written atomically by the driver):
 *     {"key_managers": [{"name": "gatecert", "issuer": "https://...",
 *                        "alg": "RS256" | "ES256",
 *                        "public_pem": "-----BEGIN PUBLIC KEY-----..."}],
 *      "apis": {"<api name>": {"security": ["oauth2", "mutualssl",
 *                                           "mutualssl_mandatory",
 *                                           "oauth_basic_auth_api_key_mandatory",
 *                                           "mutualssl_optional",
 *                                           "oauth_basic_auth_api_key_optional"]}},
 *      "subscriptions": {"<application = consumer key>": {"<api name>": "<tier>"}}}
 *     public_pem may be a certificate, or base64 of the PEM, as the
 *     simulator's key managers accept (RS256: RSA >= 2048 bits; ES256:
 *     P-256). An API without "security" (or with []) gets WSO2's default,
 *     oauth2 mandatory. The two _optional flags exist only where the
 *     profile's both-optional rule row knows them (wso2-4); under wso2-2.6
 *     and sap a config naming them does not load. Issuers and names are
 *     unique. The file is checked at every request (stat: device, inode,
 *     size, mtime) and re-read when it changed; one that does not load
 *     keeps the previous config and is logged to stderr once per change.
 *
 *   Any method on /check (query ignored), with the headers
 *     Authorization     as the client sent it, or absent
 *     X-Gatecert-Api    the API's name in the config
 *     X-Gatecert-Cert   valid | unknown | absent | bad: the gateway's view of
 *                       the client certificate (verified and associated with
 *                       the API / presented but not associated / none / a
 *                       certificate header that did not decode)
 *   runs gsim_chain_decide(the profile's rules, the API's security, the cert
 *   state, the token) as gatecert-sim does - `--profile` (default wso2-4)
 *   picks the rule rows, e.g. what mutualssl + oauth2 without a mandatory
 *   flag means - validating the token only when the chain consults OAuth2.
 *   The token is valid when gatecert-sim would accept it (Bearer, at most
 *   GJWT_MAX_TOKEN bytes, a key manager with its iss, that key manager's alg
 *   and key, exp with the jwt-skew row's skew - nbf and a token without exp
 *   as the profile's jwt rows say: wso2-4 ignores nbf and passes no exp -,
 *   azp or client_id) and that client id - the application - has the API in
 *   "subscriptions".
 *   Answers:
 *     204 passed; X-Gatecert-Auth-By: mtls | oauth.
 *     401 / 403 / 500 WSO2's fault {"code":"900901","message":..,"description":..}
 *         (application/json), X-Gatecert-Code: the code, X-Gatecert-Fault:
 *         the same JSON on one line (for auth_request_set), and on 401
 *         WWW-Authenticate as gatecert-sim sends it.
 *     404 an API not in the config; 400 X-Gatecert-Api or X-Gatecert-Cert
 *         missing or not understood (the body names the header); 404 for
 *         another path. These bodies are {"code":N,"message":..,"description":..}.
 *
 * Bounds: request headers at most 64 KiB in all (gatecert-sim's listener
 * limit, so an oversize token still gets WSO2's 401 900901 rather than a
 * transport error), bodies 4 KiB, config files 1 MiB, 64 key managers.
 * Tokens are never logged: the log names APIs, key managers, issuers and
 * client ids (loggable copies), as gatecert-sim's does. No throttling: the
 * tier is not enforced here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "framing.h"
#include "gcert.h"
#include "gjwt.h"
#include "security.h"
#include "gutil.h"
#include "sim.h"
#include "token.h"

#define WHY_LEN        512
#define CHALLENGE_MTLS "Mutual SSL realm=\"WSO2 API Manager\""
#define CHALLENGE_BEAR "Bearer realm=\"WSO2 API Manager\""
#define INVALID_TOKEN                                                                              \
  ", error=\"invalid_token\", error_description=\"The provided token is invalid\""

/* One loaded config: the parsed file and the key managers' keys. The names
 * and issuers of kms point into root. */
typedef struct config {
  json_t *root;
  json_t *apis;          /* borrowed from root */
  json_t *subscriptions; /* borrowed from root */
  gsim_token_km kms[GSIM_MAX_KMS];
  size_t km_count;
} config;

/* The file as last seen by stat, to notice a change. */
typedef struct file_id {
  int exists;
  int error; /* errno of stat when !exists */
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
} file_id;

typedef struct introspect {
  const char *path;
  gsim_rules rules; /* the profile's rule rows (--profile, default wso2-4) */
  config *current;
  file_id seen;
  struct event_base *base;
  struct evhttp *http;
  unsigned long checks, reloads, reload_failures;
} introspect;

/* ---- log (stderr) -------------------------------------------------------------- */

static void log_line(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(const char *level, const char *fmt, ...) {
  char when[32];
  gsim_format_iso(gsim_now_ms(), when);
  fprintf(stderr, "%s gatecert-introspect %s: ", when, level);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
}

/* ---- the config ------------------------------------------------------------------ */

static void config_free(config *c) {
  if (!c)
    return;
  for (size_t i = 0; i < c->km_count; i++)
    EVP_PKEY_free(c->kms[i].key);
  json_decref(c->root);
  free(c);
}

/* A name or issuer: 1 to max printable ASCII characters. */
static int printable(const char *s, size_t max) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > max)
    return 0;
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
      return 0;
  return 1;
}

/* The GSIM_SEC_* bits of an API's "security" list (absent: none, which the
 * chain reads as WSO2's default oauth2). The optional flags only where the
 * both-optional rule row knows them. 0, or -1 with why. */
static int security_bits(const gsim_rules *rules, json_t *list, unsigned *bits, char *why,
                         size_t why_len) {
  static const struct {
    const char *name;
    unsigned bit;
    int optional; /* one of WSO2 4.3+'s optional flags */
  } table[] = {
      {"mutualssl", GSIM_SEC_MUTUALSSL, 0},
      {"mutualssl_mandatory", GSIM_SEC_MUTUALSSL_MANDATORY, 0},
      {"oauth2", GSIM_SEC_OAUTH2, 0},
      {"oauth_basic_auth_api_key_mandatory", GSIM_SEC_OAUTH_BASIC_APIKEY_M, 0},
      {"mutualssl_optional", GSIM_SEC_MUTUALSSL_OPTIONAL, 1},
      {"oauth_basic_auth_api_key_optional", GSIM_SEC_OAUTH_BASIC_APIKEY_O, 1},
  };
  const gsim_rule *both_optional = rules->row[GSIM_RF_BOTH_OPTIONAL];
  int optional_known = both_optional->variant != GSIM_BOTH_OPTIONAL_UNKNOWN_FLAGS;
  *bits = 0;
  if (!list)
    return 0;
  if (!json_is_array(list))
    return gu_fail(why, why_len, "security: a list is required");
  size_t i;
  json_t *item;
  json_array_foreach(list, i, item) {
    const char *v = json_string_value(item);
    unsigned bit = 0;
    for (size_t k = 0; v && k < sizeof(table) / sizeof(table[0]); k++)
      if (strcmp(table[k].name, v) == 0) {
        if (table[k].optional && !optional_known)
          return gu_fail(why, why_len, "security[%zu]: %s is not a security scheme of %s (rule %s)",
                         i, table[k].name, gsim_profile_name(rules->profile), both_optional->id);
        bit = table[k].bit;
      }
    if (!bit)
      return gu_fail(
          why, why_len,
          "security[%zu]: not one of mutualssl, mutualssl_mandatory, oauth2, "
          "oauth_basic_auth_api_key_mandatory%s",
          i, optional_known ? ", mutualssl_optional, oauth_basic_auth_api_key_optional" : "");
    *bits |= bit;
  }
  return 0;
}

static int load_key_managers(config *c, json_t *list, char *why, size_t why_len) {
  if (!json_is_array(list))
    return gu_fail(why, why_len, "key_managers: a list is required");
  if (json_array_size(list) > GSIM_MAX_KMS)
    return gu_fail(why, why_len, "key_managers: at most %d", GSIM_MAX_KMS);
  size_t i;
  json_t *item;
  json_array_foreach(list, i, item) {
    const char *name = json_string_value(json_object_get(item, "name"));
    const char *issuer = json_string_value(json_object_get(item, "issuer"));
    const char *alg = json_string_value(json_object_get(item, "alg"));
    const char *pem = json_string_value(json_object_get(item, "public_pem"));
    gjwt_alg parsed;
    if (!printable(name, (GSIM_KM_NAME_MAX - 1)) || !printable(issuer, GSIM_ISSUER_MAX - 1) ||
        !pem || !alg || gjwt_alg_parse(alg, &parsed) != 0)
      return gu_fail(why, why_len,
                     "key_managers[%zu]: name (1 to 100 printable ASCII), issuer (1 to 1023), alg "
                     "(RS256 or ES256) and public_pem (strings) are required",
                     i);
    for (size_t k = 0; k < c->km_count; k++)
      if (strcmp(c->kms[k].name, name) == 0 || strcmp(c->kms[k].issuer, issuer) == 0)
        return gu_fail(why, why_len, "key_managers[%zu]: the name or issuer of key_managers[%zu]",
                       i, k);
    char key_why[256] = "";
    EVP_PKEY *key = gsim_oauth_public_key(pem, parsed, key_why, sizeof(key_why));
    if (!key)
      return gu_fail(why, why_len, "key_managers[%zu] (%s): %s", i, name, key_why);
    c->kms[c->km_count++] = (gsim_token_km){name, issuer, parsed, key};
  }
  return 0;
}

static int check_apis(const gsim_rules *rules, json_t *apis, char *why, size_t why_len) {
  if (!json_is_object(apis))
    return gu_fail(why, why_len,
                   "apis: an object {\"<api name>\": {\"security\": [...]}} is required");
  const char *name;
  json_t *api;
  json_object_foreach(apis, name, api) {
    char shown[128], sec_why[256];
    unsigned bits;
    if (!json_is_object(api))
      return gu_fail(why, why_len, "apis.%s: an object is required",
                     gsim_loggable(name, shown, sizeof(shown)));
    if (security_bits(rules, json_object_get(api, "security"), &bits, sec_why, sizeof(sec_why)) !=
        0)
      return gu_fail(why, why_len, "apis.%s: %s", gsim_loggable(name, shown, sizeof(shown)),
                     sec_why);
  }
  return 0;
}

static int check_subscriptions(json_t *subs, char *why, size_t why_len) {
  if (!json_is_object(subs))
    return gu_fail(why, why_len,
                   "subscriptions: an object {\"<consumer key>\": {\"<api name>\": \"<tier>\"}} is "
                   "required");
  const char *app;
  json_t *apis;
  json_object_foreach(subs, app, apis) {
    char shown[128];
    if (!json_is_object(apis))
      return gu_fail(why, why_len, "subscriptions.%s: an object of API names is required",
                     gsim_loggable(app, shown, sizeof(shown)));
    const char *api;
    json_t *tier;
    json_object_foreach(apis, api, tier) {
      if (!json_is_string(tier))
        return gu_fail(why, why_len, "subscriptions.%s: each API's tier is a string",
                       gsim_loggable(app, shown, sizeof(shown)));
    }
  }
  return 0;
}

/* Parses and checks a whole config under the profile's rules. NULL with why. */
static config *config_parse(const gsim_rules *rules, const unsigned char *text, size_t len,
                            char *why, size_t why_len) {
  config *c = calloc(1, sizeof(*c));
  if (!c) {
    gu_fail(why, why_len, "out of memory");
    return NULL;
  }
  json_error_t jerr;
  c->root = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!c->root) {
    gu_fail(why, why_len, "not JSON: line %d: %s", jerr.line, jerr.text);
  } else if (!json_is_object(c->root)) {
    gu_fail(why, why_len, "not a JSON object");
  } else {
    c->apis = json_object_get(c->root, "apis");
    c->subscriptions = json_object_get(c->root, "subscriptions");
    if (load_key_managers(c, json_object_get(c->root, "key_managers"), why, why_len) == 0 &&
        check_apis(rules, c->apis, why, why_len) == 0 &&
        check_subscriptions(c->subscriptions, why, why_len) == 0)
      return c;
  }
  config_free(c);
  return NULL;
}

static int same_file(const file_id *a, const file_id *b) {
  return a->exists == b->exists && a->error == b->error && a->dev == b->dev && a->ino == b->ino &&
         a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
         a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static file_id stat_file(const char *path) {
  file_id id;
  memset(&id, 0, sizeof(id));
  struct stat st;
  if (stat(path, &st) == 0) {
    id.exists = 1;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    id.size = st.st_size;
    id.mtime = st.st_mtim;
  } else
    id.error = errno;
  return id;
}

/* Reads and parses path. NULL with why. */
static config *config_load(const gsim_rules *rules, const char *path, const file_id *id, char *why,
                           size_t why_len) {
  if (!id->exists) {
    gu_fail(why, why_len, "%s: %s", path, strerror(id->error));
    return NULL;
  }
  if ((size_t)id->size > GSIM_INTROSPECT_CONFIG) {
    gu_fail(why, why_len, "%s: %lld bytes, more than %zu", path, (long long)id->size,
            GSIM_INTROSPECT_CONFIG);
    return NULL;
  }
  gcert_buf buf = {0};
  gcert_error err = {0};
  if (gcert_file_load(path, GSIM_INTROSPECT_CONFIG, &buf, &err) != GCERT_OK) {
    gu_fail(why, why_len, "%s: %s", path, err.message);
    return NULL;
  }
  char parse_why[WHY_LEN];
  config *c = config_parse(rules, buf.data, buf.len, parse_why, sizeof(parse_why));
  gcert_buf_free(&buf);
  if (!c)
    gu_fail(why, why_len, "%s: %s", path, parse_why);
  return c;
}

/* At every request: re-reads the file when stat says it changed; a file that
 * does not load keeps the current config (logged once per change). */
static void config_refresh(introspect *in) {
  file_id now = stat_file(in->path);
  if (same_file(&now, &in->seen))
    return;
  in->seen = now;
  char why[WHY_LEN];
  config *c = config_load(&in->rules, in->path, &now, why, sizeof(why));
  if (!c) {
    in->reload_failures++;
    log_line("ERROR", "config not loaded, the previous one stays: %s", why);
    return;
  }
  config_free(in->current);
  in->current = c;
  in->reloads++;
  log_line("INFO", "config reloaded: %zu key manager(s), %zu API(s), %zu application(s)",
           c->km_count, json_object_size(c->apis), json_object_size(c->subscriptions));
}

/* ---- the subscription set ----------------------------------------------------------- */

typedef struct lookup {
  const config *cfg;
  const char *api;
} lookup;

/* The client id is the application (consumer key): subscribed when
 * subscriptions[client][api] exists, under any key manager. */
static void subscribed(void *ctx, const char *km_name, const char *client, const char *shown,
                       gsim_oauth_result *out) {
  const lookup *l = ctx;
  json_t *tier = json_object_get(json_object_get(l->cfg->subscriptions, client), l->api);
  if (!tier) {
    char api_shown[128];
    out->status = GSIM_OAUTH_FORBIDDEN;
    snprintf(out->reason, sizeof(out->reason),
             "application %s (key manager '%s') is not subscribed to %s", shown, km_name,
             gsim_loggable(l->api, api_shown, sizeof(api_shown)));
    return;
  }
  out->status = GSIM_OAUTH_OK;
  snprintf(out->reason, sizeof(out->reason), "application %s via key manager '%s'", shown, km_name);
  snprintf(out->application_id, sizeof(out->application_id), "%s", client);
  snprintf(out->tier, sizeof(out->tier), "%s", json_string_value(tier));
  snprintf(out->key_type, sizeof(out->key_type), "PRODUCTION");
}

/* ---- answering ------------------------------------------------------------------------- */

static int parse_cert_state(const char *value, gsim_cert_state *out) {
  static const struct {
    const char *name;
    gsim_cert_state state;
  } table[] = {
      {"valid", GSIM_CERT_VALID},
      {"unknown", GSIM_CERT_UNKNOWN},
      {"absent", GSIM_CERT_ABSENT},
      {"bad", GSIM_CERT_BAD_HEADER},
  };
  for (size_t i = 0; value && i < sizeof(table) / sizeof(table[0]); i++)
    if (strcmp(table[i].name, value) == 0) {
      *out = table[i].state;
      return 0;
    }
  return -1;
}

/* WWW-Authenticate of a 401, as security.c's send_auth_fault writes it. */
static void challenge(unsigned challenges, char *out, size_t out_len) {
  out[0] = '\0';
  if (challenges & GSIM_CHALLENGE_MTLS)
    snprintf(out, out_len, "%s", CHALLENGE_MTLS);
  size_t n = strlen(out);
  if (challenges & GSIM_CHALLENGE_OAUTH)
    snprintf(out + n, out_len - n, "%s%s", n ? ", " : "", CHALLENGE_BEAR);
  n = strlen(out);
  snprintf(out + n, out_len - n, "%s", INVALID_TOKEN);
}

static void send_fault(struct evhttp_request *req, const gsim_chain_decision *d) {
  struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
  char code[16];
  snprintf(code, sizeof(code), "%d", d->code);
  json_t *fault = json_pack("{s:s, s:s, s:s}", "code", code, "message", gsim_auth_message(d->code),
                            "description", gsim_auth_description(d->code));
  char *line = fault ? json_dumps(fault, JSON_COMPACT) : NULL;
  if (line)
    evhttp_add_header(headers, "X-Gatecert-Fault", line);
  free(line);
  evhttp_add_header(headers, "X-Gatecert-Code", code);
  if (d->status == 401) {
    char value[256];
    challenge(d->challenges, value, sizeof(value));
    evhttp_add_header(headers, "WWW-Authenticate", value);
  }
  gsim_send_json(req, d->status, fault);
}

static void send_error(struct evhttp_request *req, int status, const char *message,
                       const char *description) {
  gsim_send_json(
      req, status,
      json_pack("{s:i, s:s, s:s}", "code", status, "message", message, "description", description));
}

static const char *by_name(gsim_auth_by by) { return by == GSIM_BY_MTLS ? "mtls" : "oauth"; }

static void check(introspect *in, struct evhttp_request *req) {
  struct evkeyvalq *headers = evhttp_request_get_input_headers(req);
  const char *api = evhttp_find_header(headers, "X-Gatecert-Api");
  const char *cert_value = evhttp_find_header(headers, "X-Gatecert-Cert");
  gsim_cert_state cert;
  if (!api || !*api) {
    send_error(req, 400, "Bad Request", "X-Gatecert-Api: the API's name is required");
    return;
  }
  if (parse_cert_state(cert_value, &cert) != 0) {
    send_error(req, 400, "Bad Request",
               "X-Gatecert-Cert: one of valid, unknown, absent, bad is required");
    return;
  }
  char api_shown[128];
  gsim_loggable(api, api_shown, sizeof(api_shown));
  const config *cfg = in->current;
  json_t *api_json = json_object_get(cfg->apis, api);
  if (!api_json) {
    char description[256];
    snprintf(description, sizeof(description), "X-Gatecert-Api: no API named %s in the config",
             api_shown);
    send_error(req, 404, "Not Found", description);
    return;
  }
  unsigned security = 0;
  char why[256];
  if (security_bits(&in->rules, json_object_get(api_json, "security"), &security, why,
                    sizeof(why)) != 0) {
    send_error(req, 500, "Internal Server Error", why); /* checked at load: cannot happen */
    return;
  }
  gsim_oauth_result token;
  memset(&token, 0, sizeof(token));
  token.status = GSIM_OAUTH_MISSING;
  gsim_chain_decision d;
  gsim_chain_decide(&in->rules, security, cert, token.status, &d);
  if (d.oauth_ran) { /* the chain reaches OAuth2: validate the token, then decide for good */
    lookup l = {cfg, api};
    gsim_oauth_check_bearer(&in->rules, evhttp_find_header(headers, "Authorization"), cfg->kms,
                            cfg->km_count, gsim_now_ms(), subscribed, &l, &token);
    gsim_chain_decide(&in->rules, security, cert, token.status, &d);
  }
  const char *oauth_reason = d.oauth_ran ? token.reason : "not consulted";
  if (d.pass) {
    log_line("INFO", "api %s, cert %s: passed by %s (OAuth2: %s)", api_shown, cert_value,
             by_name(d.by), oauth_reason);
    evhttp_add_header(evhttp_request_get_output_headers(req), "X-Gatecert-Auth-By", by_name(d.by));
    evhttp_send_reply(req, 204, "No Content", NULL);
    return;
  }
  log_line("INFO", "api %s, cert %s: %d %d %s (OAuth2: %s)", api_shown, cert_value, d.status,
           d.code, gsim_auth_message(d.code), oauth_reason);
  send_fault(req, &d);
}

static void on_request(struct evhttp_request *req, void *arg) {
  introspect *in = arg;
  in->checks++;
  gsim_framing_verdict refused = gsim_framing_refuse(req, (uint64_t)GSIM_INTROSPECT_BODY);
  if (refused.status) { /* answered with Connection: close (framing.c) */
    log_line("INFO", "request refused: %d %s", refused.status, refused.reason);
    return;
  }
  config_refresh(in);
  const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
  if (!path || strcmp(path, "/check") != 0) {
    send_error(req, 404, "Not Found", "gatecert-introspect answers /check only");
    return;
  }
  check(in, req);
}

/* ---- the process ------------------------------------------------------------------------ */

typedef struct options {
  const char *config;
  gsim_profile profile;
  const char *listen_host;
  int port;
} options;

static const char usage[] = "usage: gatecert-introspect --config FILE [--listen 127.0.0.1:PORT]\n"
                            "                           [--profile wso2-4|wso2-2.6|sap]\n"
                            "       gatecert-introspect --version\n";

/* 0, 1 after --help, 2 with why on a usage error, 3 after --version. */
static int parse_args(int argc, char **argv, options *opt, char *host_buf, size_t host_len,
                      char *why, size_t why_len) {
  opt->config = NULL;
  opt->profile = GSIM_PROFILE_WSO2_4;
  opt->listen_host = "127.0.0.1";
  opt->port = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
      return 1;
    if (strcmp(argv[i], "--version") == 0)
      return 3;
    if (i + 1 >= argc) {
      gu_fail(why, why_len, "%s: a value is required", argv[i]);
      return 2;
    }
    if (strcmp(argv[i], "--config") == 0) {
      opt->config = argv[++i];
    } else if (strcmp(argv[i], "--profile") == 0) {
      if (gsim_profile_parse(argv[++i], &opt->profile) != 0) {
        gu_fail(why, why_len, "--profile: \"%s\" is not wso2-4 (or wso2), wso2-2.6 or sap",
                argv[i]);
        return 2;
      }
    } else if (strcmp(argv[i], "--listen") == 0) {
      const char *value = argv[++i];
      const char *colon = strrchr(value, ':');
      char *end = NULL;
      long port = colon ? strtol(colon + 1, &end, 10) : -1;
      struct in_addr addr;
      size_t host_n = colon ? (size_t)(colon - value) : 0;
      if (!colon || !end || *end || colon[1] == '\0' || port < 0 || port > 65535 || host_n == 0 ||
          host_n >= host_len) {
        gu_fail(why, why_len, "--listen: 127.0.0.1:PORT (a loopback IPv4 address) is required");
        return 2;
      }
      memcpy(host_buf, value, host_n);
      host_buf[host_n] = '\0';
      if (inet_pton(AF_INET, host_buf, &addr) != 1 || (ntohl(addr.s_addr) >> 24) != 127) {
        gu_fail(why, why_len, "--listen: %s is not a loopback IPv4 address", host_buf);
        return 2;
      }
      opt->listen_host = host_buf;
      opt->port = (int)port;
    } else {
      gu_fail(why, why_len, "%s: unknown option", argv[i]);
      return 2;
    }
  }
  if (!opt->config) {
    gu_fail(why, why_len, "--config FILE is required");
    return 2;
  }
  return 0;
}

/* Binds the listener; the port it got (with port 0), or -1 with why. */
static int bind_listener(introspect *in, const char *host, int port, char *why, size_t why_len) {
  in->http = evhttp_new(in->base);
  if (!in->http)
    return gu_fail(why, why_len, "evhttp_new failed");
  gsim_framing_configure(in->http, GSIM_INTROSPECT_HEADERS, GSIM_INTROSPECT_BODY);
  evhttp_set_timeout(in->http, 30);
  evhttp_set_allowed_methods(in->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                           EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                           EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
                                           EVHTTP_REQ_PATCH);
  evhttp_set_gencb(in->http, on_request, in);
  struct evhttp_bound_socket *bound =
      evhttp_bind_socket_with_handle(in->http, host, (ev_uint16_t)port);
  if (!bound)
    return gu_fail(why, why_len, "cannot listen on %s:%d: %s", host, port, strerror(errno));
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof(addr));
  socklen_t len = sizeof(addr);
  if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&addr, &len) != 0)
    return gu_fail(why, why_len, "getsockname: %s", strerror(errno));
  return ntohs(addr.sin_port);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
  (void)what;
  introspect *in = arg;
  log_line("INFO", "signal %d: stopping after %lu check(s), %lu reload(s), %lu refused config(s)",
           (int)sig, in->checks, in->reloads, in->reload_failures);
  event_base_loopbreak(in->base);
}

/* Runs the loop until a signal; 0, or 1 with why when something failed
 * before READY. */
static int serve(introspect *in, const options *opt, char *why, size_t why_len) {
  struct event *signals[2] = {NULL, NULL};
  int rc = 1;
  in->base = event_base_new();
  int port = in->base ? bind_listener(in, opt->listen_host, opt->port, why, why_len) : -1;
  if (!in->base)
    gu_fail(why, why_len, "event_base_new failed");
  if (port >= 0) {
    signals[0] = evsignal_new(in->base, SIGTERM, on_signal, in);
    signals[1] = evsignal_new(in->base, SIGINT, on_signal, in);
    if (!signals[0] || !signals[1] || event_add(signals[0], NULL) || event_add(signals[1], NULL)) {
      gu_fail(why, why_len, "cannot watch signals");
    } else {
      printf("READY introspect http=%s:%d\n", opt->listen_host, port);
      fflush(stdout);
      event_base_dispatch(in->base);
      rc = 0;
    }
  }
  for (size_t i = 0; i < 2; i++)
    if (signals[i])
      event_free(signals[i]);
  if (in->http)
    evhttp_free(in->http);
  if (in->base)
    event_base_free(in->base);
  return rc;
}

int main(int argc, char **argv) {
  options opt;
  char host[64], why[WHY_LEN] = "";
  int parsed = parse_args(argc, argv, &opt, host, sizeof(host), why, sizeof(why));
  if (parsed == 1) {
    fputs(usage, stdout);
    return 0;
  }
  if (parsed == 3) {
    puts(gu_version_line("gatecert-introspect", why, sizeof(why)));
    return 0;
  }
  if (parsed == 2) {
    fprintf(stderr, "gatecert-introspect: %s\n%s", why, usage);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  introspect in;
  memset(&in, 0, sizeof(in));
  in.path = opt.config;
  if (gsim_rules_resolve(&in.rules, opt.profile, why, sizeof(why)) != 0) {
    fprintf(stderr, "gatecert-introspect: %s\n", why);
    return 1;
  }
  in.seen = stat_file(in.path);
  in.current = config_load(&in.rules, in.path, &in.seen, why, sizeof(why));
  if (!in.current) {
    fprintf(stderr, "gatecert-introspect: config: %s\n", why);
    return 1;
  }
  int rc = serve(&in, &opt, why, sizeof(why));
  if (rc != 0)
    fprintf(stderr, "gatecert-introspect: %s\n", why);
  config_free(in.current);
  return rc;
}
