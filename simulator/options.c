/* options.c - gatecert-sim's command line and JSON configuration file.
 *
 * The command line carries what every run needs (profile, state directory,
 * admin credentials, reload interval, identity, base trust); the optional
 * --config FILE (JSON, read with jansson) carries what is naturally
 * structured: SSL profiles per backend host:port, the fault format, the
 * backend timeout, and the client side: "listener" (client mutual TLS: verify
 * mode, the two reload clocks, the listener trust store, how certificates
 * match), "mutual_ssl" (load-balancer header mode) and "throttling" (tiers), and "quirks" (reported
 * bugs to turn on, with --quirk: rules.h). Command-line flags win over the file; quirks of both
 * are turned on. Every mistake is a usage error with a one-line reason naming the flag or the JSON
 * key; unknown keys are errors too, so a typo cannot silently change behaviour. Passwords are read
 * from files only (never argv), and a password file's trailing newline is not part of the password.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "backend_pool.h"
#include "gutil.h"
#include "sim.h"

#define GSIM_MAX_BREAKS 8 /* --break options at once */

static const char usage_text[] =
    "usage: gatecert-sim --state DIR --admin-user USER --admin-password-file FILE\n"
    "                    [--fresh-store] [--profile wso2-4|wso2-2.6|sap-2023|sap-2026]\n"
    "                    [--sender-reload-interval SECONDS]\n"
    "                    [--server-cert FILE --server-key FILE]\n"
    "                    [--trust FILE.pem|FILE.jks [--trust-password-file FILE]]\n"
    "                    [--config FILE.json] [--fault-format json|xml] [--http]\n"
    "                    [--backend-timeout-ms MS] [--max-client-certs N] [--log FILE]\n"
    "                    [--durability process|full]\n"
    "                    [--node K]\n"
    "\n"
    "The reference gateway of gatecert. Listens on 127.0.0.1, ports chosen by the\n"
    "kernel, and prints one line once listening:\n"
    "  READY gatecert-sim https=127.0.0.1:PORT admin=127.0.0.1:PORT [http=127.0.0.1:PORT]\n"
    "\n"
    "  --profile NAME              whose rules to follow: wso2-4 (WSO2 4.x as its code\n"
    "                              behaves; default, also called wso2), wso2-2.6\n"
    "                              (WSO2 2.6 as documented), sap-2023 (SAP API\n"
    "                              Management, its 2023 documentation) or sap-2026\n"
    "                              (its current documentation; also called sap)\n"
    "  --state DIR                 where the store (gatecert-sim.db, 0600) lives; created\n"
    "                              (locked: one gatecert-sim per DIR, or one per\n"
    "                              node with --node). An existing store that is\n"
    "                              empty or not gatecert-sim's is refused\n"
    "  --node K                    one node (1..16) of a gateway cluster: the nodes share\n"
    "                              DIR and its store, each with its own reload clocks\n"
    "                              from its own start; one process per node number\n"
    "                              (README.md, \"Gateway clusters\")\n"
    "  --fresh-store               start with an empty store: replaces DIR's store, whatever\n"
    "                              it holds (a truncated or foreign file included), and\n"
    "                              says what it replaced\n"
    "  --admin-user USER           admin API user (HTTP basic authentication)\n"
    "  --admin-password-file FILE  admin API password (first line of FILE)\n"
    "  --sender-reload-interval S  seconds between sender SSL profile reload ticks,\n"
    "                              counted from start (default 600; below 60 is\n"
    "                              raised to 60, as WSO2 does)\n"
    "  --server-cert FILE          the HTTPS listener's certificate chain (PEM); without\n"
    "  --server-key FILE           it a self-signed localhost certificate is made\n"
    "  --trust FILE                base sender trust store, PEM or JKS (like WSO2's\n"
    "                              client-truststore.jks); default: empty\n"
    "  --trust-password-file FILE  JKS store password (to check its integrity)\n"
    "  --config FILE               JSON: ssl_profiles, default_profile, fault_format,\n"
    "                              backend_timeout_ms, http_listener,\n"
    "                              sender_reload_interval, listener (client mutual\n"
    "                              TLS), mutual_ssl, throttling, quirks (see README.md)\n"
    "  --fault-format FORMAT       json or xml (default: the profile's, json for wso2-4\n"
    "                              and sap, xml for wso2-2.6)\n"
    "  --http                      also listen for plain HTTP\n"
    "  --backend-timeout-ms MS     backend response timeout (default 30000) -> 101504\n"
    "  --backend-keepalive on|off  pool kept-alive backend connections as WSO2's\n"
    "                              sender does (default on; config backend_keepalive)\n"
    "  --backend-idle-ms MS        reuse a pooled backend connection only this long\n"
    "                              after its last answer (default 50000)\n"
    "  --max-client-certs N        client certificates stored at most, every API\n"
    "                              together (default 250000); an upload past it is\n"
    "                              refused with the profile's 400 error\n"
    "  --durability process|full   process (default): an acknowledged change survives\n"
    "                              the simulator being killed (SIGKILL, a crash) but\n"
    "                              the last ones may be lost in an OS crash or power\n"
    "                              cut (SQLite WAL, synchronous=NORMAL); full: fsync at\n"
    "                              every commit, survives those too (~1 ms more per\n"
    "                              change)\n"
    "  --log FILE                  gateway log (default: stderr)\n"
    "  --break immediate-reload    self-test only: apply endpoint certificate changes at\n"
    "                              once instead of at the tick (a deliberate bug that the\n"
    "                              harness's scenarios must catch)\n"
    "  --break FAMILY              self-test only: answer a rule family with its mutant\n"
    "                              row (see --rules; repeatable)\n"
    "  --quirk NAME                turn on a bug reported against a WSO2 version (its\n"
    "                              issue and row in --rules; repeatable; config\n"
    "                              \"quirks\"): deleted-alias-taken, node-misses-change\n"
    "  --rules                     print the rule table (Markdown) and exit\n"
    "  --help                      this text\n"
    "  --version                   print \"gatecert-sim VERSION\" and exit\n";

/* A usage or configuration error: why filled, gsim_options_parse's 2. */
#define fail(...) (gu_fail(__VA_ARGS__), 2)

const char *gsim_verifier_name(gsim_verifier verifier) {
  switch (verifier) {
  case GSIM_VERIFY_STRICT:
    return "Strict";
  case GSIM_VERIFY_ALLOW_ALL:
    return "AllowAll";
  case GSIM_VERIFY_DEFAULT_AND_LOCALHOST:
    return "DefaultAndLocalhost";
  case GSIM_VERIFY_DEFAULT:
  default:
    return "Default";
  }
}

gsim_verifier gsim_verifier_parse(const char *name) {
  if (!name)
    return GSIM_VERIFY_DEFAULT;
  if (strcmp(name, "Strict") == 0)
    return GSIM_VERIFY_STRICT;
  if (strcmp(name, "AllowAll") == 0)
    return GSIM_VERIFY_ALLOW_ALL;
  if (strcmp(name, "DefaultAndLocalhost") == 0)
    return GSIM_VERIFY_DEFAULT_AND_LOCALHOST;
  return GSIM_VERIFY_DEFAULT;
}

static int set_string(char **slot, const char *value) {
  char *copy = strdup(value);
  if (!copy)
    return -1;
  free(*slot);
  *slot = copy;
  return 0;
}

static int parse_long(const char *text, long min, long max, long *out) {
  if (!text || !*text)
    return -1;
  errno = 0;
  char *end = NULL;
  long v = strtol(text, &end, 10);
  if (errno || *end || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

/* First line of a password file (without its newline), at most
 * GSIM_PASSWORD_MAX - 1 bytes. */
static int read_password(const char *what, const char *path, char **out, char *why,
                         size_t why_len) {
  gcert_buf buf = {0};
  gcert_error err = {0};
  if (gcert_file_load(path, GSIM_MAX_SECRET_FILE, &buf, &err) != GCERT_OK)
    return fail(why, why_len, "%s %s: %s", what, path, err.message);
  size_t len = 0;
  while (len < buf.len && buf.data[len] != '\n' && buf.data[len] != '\r')
    len++;
  int rc = 0;
  if (len == 0)
    rc = fail(why, why_len, "%s %s: the first line is empty", what, path);
  else if (len >= GSIM_PASSWORD_MAX)
    rc = fail(why, why_len, "%s %s: longer than %d bytes", what, path, GSIM_PASSWORD_MAX - 1);
  else if (memchr(buf.data, '\0', len))
    rc = fail(why, why_len, "%s %s: holds a NUL byte", what, path);
  if (rc == 0) {
    *out = malloc(len + 1);
    if (!*out)
      rc = fail(why, why_len, "out of memory");
    else {
      memcpy(*out, buf.data, len);
      (*out)[len] = '\0';
    }
  }
  gcert_buf_cleanse_free(&buf);
  return rc;
}

static void free_password(char **p) {
  if (*p) {
    OPENSSL_cleanse(*p, strlen(*p));
    free(*p);
    *p = NULL;
  }
}

/* A path from the config file, relative to the file's directory. */
static char *config_path(const char *config, const char *value) {
  if (value[0] == '/')
    return strdup(value);
  const char *slash = strrchr(config, '/');
  if (!slash)
    return strdup(value);
  size_t dir_len = (size_t)(slash - config);
  size_t len = dir_len + 1 + strlen(value) + 1;
  char *out = malloc(len);
  if (out)
    snprintf(out, len, "%.*s/%s", (int)dir_len, config, value);
  return out;
}

static int check_keys(json_t *obj, const char *where, const char *const *allowed, char *why,
                      size_t why_len) {
  const char *key;
  json_t *value;
  json_object_foreach(obj, key, value) {
    (void)value;
    int known = 0;
    for (const char *const *a = allowed; *a; a++)
      known |= strcmp(*a, key) == 0;
    if (!known)
      return fail(why, why_len, "config: unknown key \"%s\" in %s", key, where);
  }
  return 0;
}

/* An optional string member; 1 when present (into *out), 0 when absent. */
static int member_string(json_t *obj, const char *key, const char *where, const char **out,
                         char *why, size_t why_len, int *rc) {
  json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v))
    return 0;
  if (!json_is_string(v) || json_string_length(v) == 0) {
    *rc = fail(why, why_len, "config: %s.%s must be a non-empty string", where, key);
    return 0;
  }
  *out = json_string_value(v);
  return 1;
}

static int parse_profile(const char *config, json_t *obj, int is_default, size_t index,
                         gsim_profile_spec *spec, char *why, size_t why_len) {
  static const char *const keys[] = {"servers",
                                     "trust_store",
                                     "trust_store_password_file",
                                     "key_store",
                                     "key_store_password_file",
                                     "hostname_verifier",
                                     NULL};
  char where[64];
  if (is_default)
    snprintf(where, sizeof(where), "default_profile");
  else
    snprintf(where, sizeof(where), "ssl_profiles[%zu]", index);
  if (!json_is_object(obj))
    return fail(why, why_len, "config: %s must be an object", where);
  int rc = check_keys(obj, where, keys, why, why_len);
  if (rc)
    return rc;
  spec->is_default = is_default;
  json_t *servers = json_object_get(obj, "servers");
  if (is_default) {
    if (servers)
      return fail(why, why_len, "config: default_profile applies to every server: no \"servers\"");
  } else {
    if (!json_is_array(servers) || json_array_size(servers) == 0)
      return fail(why, why_len, "config: %s.servers must be a non-empty array of \"host:port\"",
                  where);
    if (json_array_size(servers) > GSIM_MAX_SERVERS)
      return fail(why, why_len, "config: %s.servers: more than %d entries", where,
                  GSIM_MAX_SERVERS);
    size_t i;
    json_t *s;
    json_array_foreach(servers, i, s) {
      const char *text = json_string_value(s);
      const char *colon = text ? strrchr(text, ':') : NULL;
      long port = 0;
      if (!text || !colon || colon == text || parse_long(colon + 1, 1, 65535, &port) != 0)
        return fail(why, why_len, "config: %s.servers[%zu] must be \"host:port\" (port explicit)",
                    where, i);
      if (set_string(&spec->servers[spec->server_count++], text) != 0)
        return fail(why, why_len, "out of memory");
    }
  }
  const char *value = NULL;
  if (member_string(obj, "trust_store", where, &value, why, why_len, &rc)) {
    spec->trust_store = config_path(config, value);
    if (!spec->trust_store)
      return fail(why, why_len, "out of memory");
  }
  if (rc)
    return rc;
  json_t *key_store = json_object_get(obj, "key_store");
  if (json_is_null(key_store))
    spec->key_store_none = 1; /* present nothing to backends */
  else if (member_string(obj, "key_store", where, &value, why, why_len, &rc)) {
    spec->key_store = config_path(config, value);
    if (!spec->key_store)
      return fail(why, why_len, "out of memory");
  }
  if (rc)
    return rc;
  const char *pw_files[2] = {"trust_store_password_file", "key_store_password_file"};
  char **pw_slots[2] = {&spec->trust_password, &spec->key_password};
  for (int i = 0; i < 2; i++) {
    if (member_string(obj, pw_files[i], where, &value, why, why_len, &rc)) {
      char *path = config_path(config, value);
      if (!path)
        return fail(why, why_len, "out of memory");
      char what[96];
      snprintf(what, sizeof(what), "config: %s.%s", where, pw_files[i]);
      rc = read_password(what, path, pw_slots[i], why, why_len);
      free(path);
    }
    if (rc)
      return rc;
  }
  spec->verifier = is_default ? GSIM_VERIFY_DEFAULT_AND_LOCALHOST : GSIM_VERIFY_DEFAULT;
  if (member_string(obj, "hostname_verifier", where, &value, why, why_len, &rc))
    spec->verifier = gsim_verifier_parse(value);
  return rc;
}

/* ---- client mutual TLS, load balancers, throttling (issue 6) ---------------- */

/* An optional integer member in min..max; 1 when present, 0 when absent. */
static int member_long(json_t *obj, const char *key, const char *where, long min, long max,
                       long *out, char *why, size_t why_len, int *rc) {
  json_t *v = json_object_get(obj, key);
  if (!v)
    return 0;
  if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
    *rc = fail(why, why_len, "config: %s.%s must be an integer %ld..%ld", where, key, min, max);
    return 0;
  }
  *out = (long)json_integer_value(v);
  return 1;
}

/* An optional boolean member; 1 when present, 0 when absent. */
static int member_bool(json_t *obj, const char *key, const char *where, int *out, char *why,
                       size_t why_len, int *rc) {
  json_t *v = json_object_get(obj, key);
  if (!v)
    return 0;
  if (!json_is_boolean(v)) {
    *rc = fail(why, why_len, "config: %s.%s must be true or false", where, key);
    return 0;
  }
  *out = json_is_true(v);
  return 1;
}

static int parse_listener(gsim_options *opt, const char *config, json_t *obj, char *why,
                          size_t why_len) {
  static const char *const keys[] = {"verify_client",
                                     "profile_reload_interval",
                                     "truststore_reload_period",
                                     "truststore_initial_delay",
                                     "trust_store",
                                     "trust_store_password_file",
                                     "certificate_match",
                                     "chain_validation",
                                     NULL};
  const char *where = "listener";
  if (!json_is_object(obj))
    return fail(why, why_len, "config: listener must be an object");
  int rc = check_keys(obj, where, keys, why, why_len);
  if (rc)
    return rc;
  json_t *v = json_object_get(obj, "verify_client");
  if (v) {
    const char *mode = json_string_value(v);
    if (mode && strcmp(mode, "none") == 0)
      opt->verify_client = GSIM_VERIFY_CLIENT_NONE;
    else if (mode && strcmp(mode, "optional") == 0)
      opt->verify_client = GSIM_VERIFY_CLIENT_OPTIONAL;
    else if (mode && strcmp(mode, "require") == 0)
      opt->verify_client = GSIM_VERIFY_CLIENT_REQUIRE;
    else
      return fail(why, why_len,
                  "config: listener.verify_client must be \"none\", \"optional\" or \"require\"");
  }
  member_long(obj, "profile_reload_interval", where, 1, 31536000, &opt->listener_reload_asked_s,
              why, why_len, &rc);
  if (!rc)
    member_long(obj, "truststore_reload_period", where, 1, 31536000, &opt->truststore_period_s, why,
                why_len, &rc);
  if (!rc)
    member_long(obj, "truststore_initial_delay", where, 0, 31536000, &opt->truststore_delay_s, why,
                why_len, &rc);
  if (!rc)
    member_bool(obj, "chain_validation", where, &opt->chain_validation, why, why_len, &rc);
  if (rc)
    return rc;
  v = json_object_get(obj, "certificate_match");
  if (v) {
    const char *match = json_string_value(v);
    if (match && strcmp(match, "serial_issuer") == 0)
      opt->cert_match = GSIM_MATCH_SERIAL_ISSUER;
    else if (match && strcmp(match, "serial_subject") == 0)
      opt->cert_match = GSIM_MATCH_SERIAL_SUBJECT;
    else
      return fail(why, why_len,
                  "config: listener.certificate_match must be \"serial_issuer\" or "
                  "\"serial_subject\"");
  }
  const char *value = NULL;
  if (member_string(obj, "trust_store", where, &value, why, why_len, &rc)) {
    opt->client_trust = config_path(config, value);
    if (!opt->client_trust)
      return fail(why, why_len, "out of memory");
  }
  if (rc)
    return rc;
  if (member_string(obj, "trust_store_password_file", where, &value, why, why_len, &rc)) {
    if (!opt->client_trust)
      return fail(why, why_len, "config: listener.trust_store_password_file without trust_store");
    char *path = config_path(config, value);
    if (!path)
      return fail(why, why_len, "out of memory");
    rc = read_password("config: listener.trust_store_password_file", path,
                       &opt->client_trust_password, why, why_len);
    free(path);
  }
  return rc;
}

/* RFC 9110 token characters. */
static int http_token(const char *s) {
  if (!*s)
    return 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          strchr("!#$%&'*+-.^_`|~", *p)))
      return 0;
  return 1;
}

/* "AB:cd:..." or "abcd..." -> 64 lower-case hex digits; -1 if not a SHA-256. */
static int fingerprint(const char *text, char out[65]) {
  size_t n = 0;
  for (const char *p = text; *p; p++) {
    if (*p == ':')
      continue;
    if (!strchr("0123456789abcdefABCDEF", *p) || n >= 64)
      return -1;
    out[n++] = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
  }
  out[n] = '\0';
  return n == 64 ? 0 : -1;
}

static int parse_mutual_ssl(gsim_options *opt, json_t *obj, char *why, size_t why_len) {
  static const char *const keys[] = {
      "certificate_header",       "client_certificate_encode",
      "enable_client_validation", "forward_client_certificate_header",
      "trusted_load_balancers",   NULL};
  const char *where = "mutual_ssl";
  if (!json_is_object(obj))
    return fail(why, why_len, "config: mutual_ssl must be an object");
  int rc = check_keys(obj, where, keys, why, why_len);
  if (rc)
    return rc;
  json_t *v = json_object_get(obj, "certificate_header");
  if (v) {
    const char *name = json_string_value(v);
    if (!name || strlen(name) > 128 || !http_token(name))
      return fail(why, why_len,
                  "config: mutual_ssl.certificate_header must be an HTTP header name (a token "
                  "of 1 to 128 characters)");
    if (set_string(&opt->cert_header, name) != 0)
      return fail(why, why_len, "out of memory");
  }
  member_bool(obj, "client_certificate_encode", where, &opt->cert_header_encoded, why, why_len,
              &rc);
  if (!rc)
    member_bool(obj, "enable_client_validation", where, &opt->client_cert_validation, why, why_len,
                &rc);
  if (!rc)
    member_bool(obj, "forward_client_certificate_header", where, &opt->forward_cert_header, why,
                why_len, &rc);
  if (rc)
    return rc;
  json_t *pins = json_object_get(obj, "trusted_load_balancers");
  if (pins) {
    if (!json_is_array(pins))
      return fail(why, why_len,
                  "config: mutual_ssl.trusted_load_balancers must be an array of SHA-256 "
                  "fingerprints");
    if (json_array_size(pins) > GSIM_MAX_LB_PINS)
      return fail(why, why_len, "config: mutual_ssl.trusted_load_balancers: more than %d entries",
                  GSIM_MAX_LB_PINS);
    size_t i;
    json_t *p;
    json_array_foreach(pins, i, p) {
      const char *text = json_string_value(p);
      if (!text || fingerprint(text, opt->lb_fingerprints[i]) != 0)
        return fail(why, why_len,
                    "config: mutual_ssl.trusted_load_balancers[%zu] must be a SHA-256 "
                    "fingerprint (64 hex digits, colons allowed)",
                    i);
      opt->lb_fingerprint_count = i + 1;
    }
  }
  return 0;
}

static int parse_tier(gsim_options *opt, json_t *obj, size_t index, char *why, size_t why_len) {
  static const char *const keys[] = {"name", "requests", "window_seconds", NULL};
  char where[48];
  snprintf(where, sizeof(where), "throttling.tiers[%zu]", index);
  if (!json_is_object(obj))
    return fail(why, why_len, "config: %s must be an object", where);
  int rc = check_keys(obj, where, keys, why, why_len);
  if (rc)
    return rc;
  gsim_tier *tier = &opt->tiers[index];
  const char *name = NULL;
  if (!member_string(obj, "name", where, &name, why, why_len, &rc)) {
    if (rc)
      return rc;
    return fail(why, why_len, "config: %s.name is required", where);
  }
  if (strlen(name) >= sizeof(tier->name))
    return fail(why, why_len, "config: %s.name is longer than %zu bytes", where,
                sizeof(tier->name) - 1);
  for (size_t i = 0; i < index; i++)
    if (strcmp(opt->tiers[i].name, name) == 0)
      return fail(why, why_len, "config: %s.name \"%s\" is already used by tiers[%zu]", where, name,
                  i);
  snprintf(tier->name, sizeof(tier->name), "%s", name);
  tier->window_s = 60;
  if (!member_long(obj, "requests", where, 0, 2147483647L, &tier->requests, why, why_len, &rc)) {
    if (rc)
      return rc;
    return fail(why, why_len, "config: %s.requests is required (0: unlimited)", where);
  }
  member_long(obj, "window_seconds", where, 1, 31536000, &tier->window_s, why, why_len, &rc);
  return rc;
}

static int parse_throttling(gsim_options *opt, json_t *obj, char *why, size_t why_len) {
  static const char *const keys[] = {"per_certificate", "tiers", NULL};
  if (!json_is_object(obj))
    return fail(why, why_len, "config: throttling must be an object");
  int rc = check_keys(obj, "throttling", keys, why, why_len);
  if (!rc)
    member_bool(obj, "per_certificate", "throttling", &opt->throttle_per_certificate, why, why_len,
                &rc);
  if (rc)
    return rc;
  json_t *tiers = json_object_get(obj, "tiers");
  if (!tiers)
    return 0;
  if (!json_is_array(tiers))
    return fail(why, why_len, "config: throttling.tiers must be an array");
  if (json_array_size(tiers) > GSIM_MAX_TIERS)
    return fail(why, why_len, "config: throttling.tiers: more than %d entries", GSIM_MAX_TIERS);
  size_t i;
  json_t *t;
  json_array_foreach(tiers, i, t) {
    rc = parse_tier(opt, t, i, why, why_len);
    if (rc)
      return rc;
    opt->tier_count = i + 1;
  }
  return 0;
}

/* The quirks asked for, by --quirk and config "quirks", turned on once the
 * profile is known (names copied: the config's JSON is gone by then). */
typedef struct quirk_list {
  char *name[GSIM_MAX_QUIRKS];
  size_t count;
} quirk_list;

static int add_quirk(quirk_list *q, const char *where, const char *name, char *why,
                     size_t why_len) {
  if (q->count >= GSIM_MAX_QUIRKS)
    return fail(why, why_len, "%s: at most %d quirks", where, GSIM_MAX_QUIRKS);
  q->name[q->count] = strdup(name);
  if (!q->name[q->count])
    return fail(why, why_len, "out of memory");
  q->count++;
  return 0;
}

static void quirk_list_free(quirk_list *q) {
  for (size_t i = 0; i < q->count; i++)
    free(q->name[i]);
  q->count = 0;
}

static int parse_quirks(json_t *v, quirk_list *quirks, char *why, size_t why_len) {
  if (!json_is_array(v))
    return fail(why, why_len, "config: quirks must be an array of quirk names (see --rules)");
  size_t i;
  json_t *name;
  json_array_foreach(v, i, name) {
    if (!json_is_string(name))
      return fail(why, why_len, "config: quirks[%zu] must be a quirk name (see --rules)", i);
    int rc = add_quirk(quirks, "config: quirks", json_string_value(name), why, why_len);
    if (rc)
      return rc;
  }
  return 0;
}

static int parse_config(gsim_options *opt, const char *path, int *fault_set, int *timeout_set,
                        int *reload_set, quirk_list *quirks, char *why, size_t why_len) {
  static const char *const keys[] = {
      "ssl_profiles",  "default_profile",        "fault_format", "backend_timeout_ms",
      "http_listener", "sender_reload_interval", "listener",     "mutual_ssl",
      "throttling",    "backend_keepalive",      "quirks",       NULL};
  gcert_buf buf = {0};
  gcert_error err = {0};
  if (gcert_file_load(path, GSIM_MAX_CONFIG, &buf, &err) != GCERT_OK)
    return fail(why, why_len, "config %s: %s", path, err.message);
  json_error_t jerr;
  json_t *root = json_loadb((const char *)buf.data, buf.len, JSON_REJECT_DUPLICATES, &jerr);
  gcert_buf_free(&buf);
  if (!root)
    return fail(why, why_len, "config %s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
  int rc = 0;
  if (!json_is_object(root))
    rc = fail(why, why_len, "config %s: the top level must be an object", path);
  if (!rc)
    rc = check_keys(root, "the top level", keys, why, why_len);
  json_t *v = json_object_get(root, "fault_format");
  if (!rc && v) {
    const char *f = json_string_value(v);
    if (f && strcmp(f, "json") == 0)
      opt->fault_format = GSIM_FAULT_JSON;
    else if (f && strcmp(f, "xml") == 0)
      opt->fault_format = GSIM_FAULT_XML;
    else
      rc = fail(why, why_len, "config: fault_format must be \"json\" or \"xml\"");
    *fault_set = 1;
  }
  v = json_object_get(root, "backend_timeout_ms");
  if (!rc && v) {
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 3600000)
      rc = fail(why, why_len, "config: backend_timeout_ms must be an integer 1..3600000");
    else
      opt->backend_timeout_ms = (long)json_integer_value(v);
    *timeout_set = 1;
  }
  v = json_object_get(root, "sender_reload_interval");
  if (!rc && v) {
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 31536000)
      rc = fail(why, why_len, "config: sender_reload_interval must be seconds 1..31536000");
    else
      opt->sender_reload_asked_s = (long)json_integer_value(v);
    *reload_set = 1;
  }
  v = json_object_get(root, "backend_keepalive");
  if (!rc && v) {
    if (!json_is_boolean(v))
      rc = fail(why, why_len, "config: backend_keepalive must be true or false");
    else
      opt->backend_keepalive = json_is_true(v);
  }
  v = json_object_get(root, "http_listener");
  if (!rc && v) {
    if (!json_is_boolean(v))
      rc = fail(why, why_len, "config: http_listener must be true or false");
    else
      opt->http_listener |= json_is_true(v);
  }
  json_t *profiles = json_object_get(root, "ssl_profiles");
  if (!rc && profiles) {
    if (!json_is_array(profiles))
      rc = fail(why, why_len, "config: ssl_profiles must be an array");
    else if (json_array_size(profiles) >= GSIM_MAX_PROFILES)
      rc = fail(why, why_len, "config: more than %d ssl_profiles", GSIM_MAX_PROFILES - 1);
    size_t i;
    json_t *p;
    json_array_foreach(profiles, i, p) {
      if (rc)
        break;
      rc = parse_profile(path, p, 0, i, &opt->profiles[opt->profile_count++], why, why_len);
    }
  }
  json_t *def = json_object_get(root, "default_profile");
  if (!rc && def)
    rc = parse_profile(path, def, 1, 0, &opt->profiles[opt->profile_count++], why, why_len);
  json_t *section = json_object_get(root, "listener");
  if (!rc && section)
    rc = parse_listener(opt, path, section, why, why_len);
  section = json_object_get(root, "mutual_ssl");
  if (!rc && section)
    rc = parse_mutual_ssl(opt, section, why, why_len);
  section = json_object_get(root, "throttling");
  if (!rc && section)
    rc = parse_throttling(opt, section, why, why_len);
  section = json_object_get(root, "quirks");
  if (!rc && section)
    rc = parse_quirks(section, quirks, why, why_len);
  json_decref(root);
  return rc;
}

enum {
  OPT_PROFILE = 256,
  OPT_STATE,
  OPT_ADMIN_USER,
  OPT_ADMIN_PASSWORD_FILE,
  OPT_RELOAD,
  OPT_SERVER_CERT,
  OPT_SERVER_KEY,
  OPT_TRUST,
  OPT_TRUST_PASSWORD_FILE,
  OPT_CONFIG,
  OPT_FAULT_FORMAT,
  OPT_HTTP,
  OPT_TIMEOUT,
  OPT_LOG,
  OPT_BREAK,
  OPT_RULES,
  OPT_HELP,
  OPT_FRESH_STORE,
  OPT_KEEPALIVE,
  OPT_IDLE,
  OPT_MAX_CLIENT_CERTS,
  OPT_DURABILITY,
  OPT_NODE,
  OPT_VERSION,
  OPT_QUIRK,
};

static const struct option long_options[] = {
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"state", required_argument, NULL, OPT_STATE},
    {"fresh-store", no_argument, NULL, OPT_FRESH_STORE},
    {"admin-user", required_argument, NULL, OPT_ADMIN_USER},
    {"admin-password-file", required_argument, NULL, OPT_ADMIN_PASSWORD_FILE},
    {"sender-reload-interval", required_argument, NULL, OPT_RELOAD},
    {"server-cert", required_argument, NULL, OPT_SERVER_CERT},
    {"server-key", required_argument, NULL, OPT_SERVER_KEY},
    {"trust", required_argument, NULL, OPT_TRUST},
    {"trust-password-file", required_argument, NULL, OPT_TRUST_PASSWORD_FILE},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"fault-format", required_argument, NULL, OPT_FAULT_FORMAT},
    {"http", no_argument, NULL, OPT_HTTP},
    {"backend-timeout-ms", required_argument, NULL, OPT_TIMEOUT},
    {"backend-keepalive", required_argument, NULL, OPT_KEEPALIVE},
    {"backend-idle-ms", required_argument, NULL, OPT_IDLE},
    {"max-client-certs", required_argument, NULL, OPT_MAX_CLIENT_CERTS},
    {"durability", required_argument, NULL, OPT_DURABILITY},
    {"node", required_argument, NULL, OPT_NODE},
    {"log", required_argument, NULL, OPT_LOG},
    {"break", required_argument, NULL, OPT_BREAK},
    {"quirk", required_argument, NULL, OPT_QUIRK},
    {"rules", no_argument, NULL, OPT_RULES},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

typedef struct cli_seen {
  const char *password_file;
  const char *trust_password_file;
  long reload;
  long timeout;
  int reload_set, timeout_set, fault_set;
  int keepalive, keepalive_set;        /* --backend-keepalive (over the config's) */
  const char *breaks[GSIM_MAX_BREAKS]; /* rule families to break, after the profile is known */
  size_t break_count;
  quirk_list *quirks; /* --quirk, then the config's */
} cli_seen;

static int parse_one(gsim_options *opt, cli_seen *seen, int c, const char *arg, char *why,
                     size_t why_len) {
  switch (c) {
  case OPT_PROFILE:
    if (gsim_profile_parse(arg, &opt->profile) != 0)
      return fail(
          why, why_len,
          "--profile: \"%s\" is not wso2-4 (or wso2), wso2-2.6, sap-2023 or sap-2026 (or sap)",
          arg);
    return 0;
  case OPT_STATE:
    return set_string(&opt->state_dir, arg) ? fail(why, why_len, "out of memory") : 0;
  case OPT_ADMIN_USER:
    if (!*arg || strchr(arg, ':'))
      return fail(why, why_len, "--admin-user: must be non-empty and without ':'");
    return set_string(&opt->admin_user, arg) ? fail(why, why_len, "out of memory") : 0;
  case OPT_ADMIN_PASSWORD_FILE:
    seen->password_file = arg;
    return 0;
  case OPT_RELOAD:
    if (parse_long(arg, 1, 31536000, &seen->reload) != 0)
      return fail(why, why_len, "--sender-reload-interval: \"%s\" is not seconds 1..31536000", arg);
    seen->reload_set = 1;
    return 0;
  case OPT_SERVER_CERT:
    return set_string(&opt->server_cert, arg) ? fail(why, why_len, "out of memory") : 0;
  case OPT_SERVER_KEY:
    return set_string(&opt->server_key, arg) ? fail(why, why_len, "out of memory") : 0;
  case OPT_TRUST:
    return set_string(&opt->trust, arg) ? fail(why, why_len, "out of memory") : 0;
  case OPT_TRUST_PASSWORD_FILE:
    seen->trust_password_file = arg;
    return 0;
  case OPT_CONFIG:
    return set_string(&opt->config, arg) ? fail(why, why_len, "out of memory") : 0;
  case OPT_FAULT_FORMAT:
    if (strcmp(arg, "json") == 0)
      opt->fault_format = GSIM_FAULT_JSON;
    else if (strcmp(arg, "xml") == 0)
      opt->fault_format = GSIM_FAULT_XML;
    else
      return fail(why, why_len, "--fault-format: \"%s\" is not json or xml", arg);
    seen->fault_set = 1;
    return 0;
  case OPT_HTTP:
    opt->http_listener = 1;
    return 0;
  case OPT_FRESH_STORE:
    opt->fresh_store = 1;
    return 0;
  case OPT_TIMEOUT:
    if (parse_long(arg, 1, 3600000, &seen->timeout) != 0)
      return fail(why, why_len, "--backend-timeout-ms: \"%s\" is not 1..3600000", arg);
    seen->timeout_set = 1;
    return 0;
  case OPT_BREAK:
    if (strcmp(arg, "immediate-reload") == 0)
      opt->break_immediate_reload = 1;
    else if (seen->break_count < GSIM_MAX_BREAKS)
      seen->breaks[seen->break_count++] = arg;
    else
      return fail(why, why_len, "--break: at most %d", GSIM_MAX_BREAKS);
    return 0;
  case OPT_QUIRK:
    return add_quirk(seen->quirks, "--quirk", arg, why, why_len);
  case OPT_MAX_CLIENT_CERTS:
    if (parse_long(arg, 1, GSIM_LIMIT_MAX_CLIENT_CERTS, &opt->max_client_certs) != 0)
      return fail(why, why_len, "--max-client-certs: \"%s\" is not 1..%d", arg,
                  GSIM_LIMIT_MAX_CLIENT_CERTS);
    return 0;
  case OPT_DURABILITY:
    if (strcmp(arg, "process") != 0 && strcmp(arg, "full") != 0)
      return fail(why, why_len, "--durability: \"%s\" is not process or full", arg);
    opt->durability_full = strcmp(arg, "full") == 0;
    return 0;
  case OPT_NODE:
    if (parse_long(arg, 1, GSIM_MAX_NODES, &opt->node) != 0)
      return fail(why, why_len, "--node: \"%s\" is not 1..%d", arg, GSIM_MAX_NODES);
    return 0;
  case OPT_KEEPALIVE:
    if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0)
      return fail(why, why_len, "--backend-keepalive: \"%s\" is not on or off", arg);
    seen->keepalive = strcmp(arg, "on") == 0;
    seen->keepalive_set = 1;
    return 0;
  case OPT_IDLE:
    if (parse_long(arg, 1, 86400000, &opt->backend_idle_ms) != 0)
      return fail(why, why_len, "--backend-idle-ms: \"%s\" is not 1..86400000", arg);
    return 0;
  case OPT_LOG:
    return set_string(&opt->log_path, arg) ? fail(why, why_len, "out of memory") : 0;
  default:
    return fail(why, why_len, "unknown option (see --help)");
  }
}

/* gsim_options_parse with the quirks' names held by the caller (freed there,
 * whatever this returns). */
static int parse_options(int argc, char **argv, gsim_options *opt, quirk_list *quirks, char *why,
                         size_t why_len) {
  memset(opt, 0, sizeof(*opt));
  opt->backend_timeout_ms = GSIM_DEFAULT_TIMEOUT_MS;
  opt->backend_keepalive = 1;               /* http.connection.disable.keepalive: false */
  opt->backend_idle_ms = GSIM_POOL_IDLE_MS; /* backend_pool.h */
  opt->sender_reload_asked_s = GSIM_DEFAULT_RELOAD_S;
  /* client mutual TLS: WSO2 4.x's shipped values */
  opt->verify_client = GSIM_VERIFY_CLIENT_OPTIONAL;
  opt->listener_reload_asked_s = GSIM_DEFAULT_RELOAD_S;
  opt->truststore_period_s = 600;
  opt->truststore_delay_s = 60;
  opt->cert_match = GSIM_MATCH_SERIAL_ISSUER;
  opt->max_client_certs = GSIM_DEFAULT_MAX_CLIENT_CERTS;
  opt->cert_header_encoded = 1;
  opt->client_cert_validation = 1;
  opt->forward_cert_header = 0; /* forward_client_certificate_header: false */
  if (set_string(&opt->cert_header, "X-WSO2-CLIENT-CERTIFICATE") != 0)
    return fail(why, why_len, "out of memory");
  cli_seen seen = {.quirks = quirks};
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
    if (c == OPT_HELP) {
      fputs(usage_text, stdout);
      return 1;
    }
    if (c == OPT_VERSION) {
      char line[256];
      puts(gu_version_line("gatecert-sim", line, sizeof(line)));
      return 1;
    }
    if (c == OPT_RULES) {
      gsim_rules_markdown(stdout);
      return 1;
    }
    if (c == '?' || c == ':') {
      const char *bad = (optind > 0 && optind <= argc) ? argv[optind - 1] : "?";
      return fail(why, why_len, "%s: unknown option or missing value (see --help)", bad);
    }
    int rc = parse_one(opt, &seen, c, optarg, why, why_len);
    if (rc)
      return rc;
  }
  if (optind < argc)
    return fail(why, why_len, "unexpected argument \"%s\"", argv[optind]);
  if (!opt->state_dir)
    return fail(why, why_len, "--state DIR is required");
  if (!opt->admin_user)
    return fail(why, why_len, "--admin-user is required");
  if (!seen.password_file)
    return fail(why, why_len, "--admin-password-file is required");
  if (!opt->server_cert != !opt->server_key)
    return fail(why, why_len, "--server-cert and --server-key go together");
  if (seen.trust_password_file && !opt->trust)
    return fail(why, why_len, "--trust-password-file without --trust");
  int rc = read_password("--admin-password-file", seen.password_file, &opt->admin_password, why,
                         why_len);
  if (!rc && seen.trust_password_file)
    rc = read_password("--trust-password-file", seen.trust_password_file, &opt->trust_password, why,
                       why_len);
  int fault_set = 0, timeout_set = 0, reload_set = 0;
  gsim_fault_format cli_fault = opt->fault_format;
  if (!rc && opt->config)
    rc =
        parse_config(opt, opt->config, &fault_set, &timeout_set, &reload_set, quirks, why, why_len);
  if (rc)
    return rc;
  if (gsim_rules_resolve(&opt->rules, opt->profile, why, why_len) != 0)
    return 2;
  for (size_t i = 0; i < quirks->count; i++) /* before --break: a mutant wins */
    if (gsim_rules_quirk(&opt->rules, quirks->name[i], why, why_len) != 0)
      return 2;
  for (size_t i = 0; i < seen.break_count; i++)
    if (gsim_rules_break(&opt->rules, seen.breaks[i], why, why_len) != 0)
      return 2;
  if (seen.fault_set)
    opt->fault_format = cli_fault;
  else if (!fault_set) /* the profile's own format (rule fault.*) */
    opt->fault_format = (gsim_fault_format)gsim_rule_of(opt, GSIM_RF_FAULT_FORMAT)->variant;
  if (seen.timeout_set)
    opt->backend_timeout_ms = seen.timeout;
  if (seen.keepalive_set)
    opt->backend_keepalive = seen.keepalive;
  if (seen.reload_set)
    opt->sender_reload_asked_s = seen.reload;
  opt->sender_reload_s = opt->sender_reload_asked_s < GSIM_MIN_RELOAD_S
                             ? GSIM_MIN_RELOAD_S
                             : opt->sender_reload_asked_s;
  opt->listener_reload_s = opt->listener_reload_asked_s < GSIM_MIN_RELOAD_S
                               ? GSIM_MIN_RELOAD_S
                               : opt->listener_reload_asked_s;
  size_t defaults = 0;
  for (size_t i = 0; i < opt->profile_count; i++)
    defaults += (size_t)opt->profiles[i].is_default;
  if (defaults > 1)
    return fail(why, why_len, "config: more than one default_profile");
  return 0;
}

void gsim_options_free(gsim_options *opt) {
  free(opt->state_dir);
  free(opt->admin_user);
  free_password(&opt->admin_password);
  free_password(&opt->trust_password);
  free(opt->server_cert);
  free(opt->server_key);
  free(opt->trust);
  free(opt->config);
  free(opt->log_path);
  free(opt->client_trust);
  free_password(&opt->client_trust_password);
  free(opt->cert_header);
  for (size_t i = 0; i < opt->profile_count; i++) {
    gsim_profile_spec *p = &opt->profiles[i];
    for (size_t j = 0; j < p->server_count; j++)
      free(p->servers[j]);
    free(p->trust_store);
    free(p->key_store);
    free_password(&p->trust_password);
    free_password(&p->key_password);
  }
  memset(opt, 0, sizeof(*opt));
}

int gsim_options_parse(int argc, char **argv, gsim_options *opt, char *why, size_t why_len) {
  quirk_list quirks = {0};
  int rc = parse_options(argc, argv, opt, &quirks, why, why_len);
  quirk_list_free(&quirks);
  return rc;
}
