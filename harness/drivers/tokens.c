/* tokens.c - OAuth2 for real gateway drivers (tokens.h): the key managers,
 * applications and subscriptions of a case, and the gatecert-introspect
 * process that decides its tokens.
 *
 * The state is a few small arrays; every change rewrites the introspector's
 * config (introspect.c's contract: key_managers, apis, subscriptions) with
 * gcert_file_save (temp file + rename), which the process re-reads at its next
 * request. The process is started on first use with the supervisor (its
 * READY line names its port), under the case's libfaketime clock, and
 * stopped by pid.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gutil.h"
#include "gcert.h"
#include "supervisor.h"
#include "tokens.h"

#define TK_PATH       1024
#define TK_MAX_APIS   64
#define TK_MAX_KMS    64
#define TK_MAX_APPS   64
#define TK_MAX_SUBS   256
#define TK_STOP_MS    3000
#define TK_PROGRAM    "../simulator/gatecert-introspect"
#define TK_MAX_NAME   100
#define TK_MAX_ISSUER 1023

typedef struct tk_api {
  char *name;
  json_t *security; /* JSON strings */
} tk_api;

typedef struct tk_key_manager {
  char *name;
  char *issuer;
  char *alg;
  char *public_pem;
} tk_key_manager;

typedef struct tk_subscription {
  char *application;
  char *api;
  char *tier;
} tk_subscription;

struct gh_tokens {
  gh_gateway_config cfg; /* borrowed strings, valid for the case */
  tk_api apis[TK_MAX_APIS];
  size_t api_count;
  tk_key_manager kms[TK_MAX_KMS];
  size_t km_count;
  char *apps[TK_MAX_APPS]; /* applications created so far (their names are the consumer keys) */
  size_t app_count;
  tk_subscription subs[TK_MAX_SUBS];
  size_t sub_count;
  /* the process */
  char bin[TK_PATH];
  char dir[TK_PATH];
  char config[TK_PATH + 32];
  char stderr_path[TK_PATH + 32];
  gh_proc proc;
  int running;
  int port; /* 0 before the first start; kept by a restart */
};

/* ---- state ------------------------------------------------------------------------------ */

static void api_free(tk_api *a) {
  free(a->name);
  json_decref(a->security);
  memset(a, 0, sizeof(*a));
}

static void key_manager_free(tk_key_manager *k) {
  free(k->name);
  free(k->issuer);
  free(k->alg);
  free(k->public_pem);
  memset(k, 0, sizeof(*k));
}

static void subscription_free(tk_subscription *s) {
  free(s->application);
  free(s->api);
  free(s->tier);
  memset(s, 0, sizeof(*s));
}

static void state_free(gh_tokens *t) {
  for (size_t i = 0; i < t->api_count; i++)
    api_free(&t->apis[i]);
  for (size_t i = 0; i < t->km_count; i++)
    key_manager_free(&t->kms[i]);
  for (size_t i = 0; i < t->app_count; i++)
    free(t->apps[i]);
  for (size_t i = 0; i < t->sub_count; i++)
    subscription_free(&t->subs[i]);
  t->api_count = t->km_count = t->app_count = t->sub_count = 0;
}

gh_tokens *gh_tokens_new(void) { return calloc(1, sizeof(gh_tokens)); }

void gh_tokens_free(gh_tokens *t) {
  if (!t)
    return;
  char ignored[256];
  gh_tokens_stop(t, ignored, sizeof(ignored));
  state_free(t);
  free(t);
}

void gh_tokens_reset(gh_tokens *t, const gh_gateway_config *cfg) {
  state_free(t);
  t->cfg = *cfg;
  memset(&t->proc, 0, sizeof(t->proc));
  t->running = 0;
  t->port = 0;
  t->dir[0] = t->config[0] = t->stderr_path[0] = '\0';
}

static tk_api *find_api(gh_tokens *t, const char *name) {
  for (size_t i = 0; i < t->api_count; i++)
    if (strcmp(t->apis[i].name, name) == 0)
      return &t->apis[i];
  return NULL;
}

/* ---- the introspector's config and process ------------------------------------------------ */

/* introspect.c's config: key managers, the security of every API it decides
 * for, the subscriptions. NULL when out of memory. */
static json_t *config_json(const gh_tokens *t) {
  json_t *root = json_object(), *kms = json_array(), *apis = json_object(), *subs = json_object();
  int ok = root && kms && apis && subs;
  for (size_t i = 0; ok && i < t->km_count; i++) {
    const tk_key_manager *k = &t->kms[i];
    ok = json_array_append_new(kms, json_pack("{s:s, s:s, s:s, s:s}", "name", k->name, "issuer",
                                              k->issuer, "alg", k->alg, "public_pem",
                                              k->public_pem)) == 0;
  }
  for (size_t i = 0; ok && i < t->api_count; i++)
    ok = json_object_set_new(apis, t->apis[i].name,
                             json_pack("{s:O}", "security", t->apis[i].security)) == 0;
  for (size_t i = 0; ok && i < t->sub_count; i++) {
    const tk_subscription *sub = &t->subs[i];
    json_t *app = json_object_get(subs, sub->application);
    if (!app && (app = json_object()) != NULL &&
        json_object_set_new(subs, sub->application, app) != 0)
      app = NULL;
    ok = app && json_object_set_new(app, sub->api, json_string(sub->tier)) == 0;
  }
  if (ok && json_object_set_new(root, "key_managers", kms) == 0 &&
      json_object_set_new(root, "apis", apis) == 0 &&
      json_object_set_new(root, "subscriptions", subs) == 0)
    return root;
  if (!ok) {
    json_decref(kms);
    json_decref(apis);
    json_decref(subs);
  }
  json_decref(root);
  return NULL;
}

/* Writes the config atomically: the introspector re-reads it at its next
 * request when stat says it changed. */
static int write_config(const gh_tokens *t, char *why, size_t why_len) {
  json_t *config = config_json(t);
  char *text = config ? json_dumps(config, JSON_INDENT(1)) : NULL;
  json_decref(config);
  if (!text)
    return gu_fail(why, why_len, "out of memory writing the introspector's config");
  gcert_error err = {0};
  gcert_status st = gcert_file_save(t->config, (const unsigned char *)text, strlen(text), 0, &err);
  free(text);
  if (st != GCERT_OK)
    return gu_fail(why, why_len, "writing %s: %s", t->config, err.message);
  return 0;
}

/* Rewrites the config when the introspector runs (it is written at its start). */
static int update(const gh_tokens *t, char *why, size_t why_len) {
  return t->running ? write_config(t, why, why_len) : 0;
}

/* Starts the introspector on 127.0.0.1:port (0: any free port) under the
 * case's clock; its READY line names the port it got. */
static int launch(gh_tokens *t, int port, char *why, size_t why_len) {
  char listen[32];
  snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
  /* the run's profile decides the chain's rules (gatecert-sim's rule table) */
  const char *profile = t->cfg.profile != NULL ? t->cfg.profile : "wso2-4";
  const char *args[] = {"--config", t->config, "--listen", listen, "--profile", profile, NULL};
  gh_proc_spec spec = {.bin = t->bin,
                       .args = args,
                       .stderr_path = t->stderr_path,
                       .faketime_file = t->cfg.clock_file,
                       .faketime_lib = t->cfg.faketime_lib,
                       .single_ready = 1};
  if (gh_proc_start(&t->proc, &spec, why, why_len) != 0)
    return -1;
  t->running = 1;
  int got = gh_proc_port(&t->proc, "http");
  if (got <= 0) {
    char ignored[256];
    t->running = 0;
    gh_proc_stop(&t->proc, SIGTERM, TK_STOP_MS, ignored, sizeof(ignored));
    return gu_fail(why, why_len, "gatecert-introspect's READY line named no http endpoint");
  }
  t->port = got;
  return 0;
}

/* The introspector running with the current config: started on first use. */
static int ensure(gh_tokens *t, char *why, size_t why_len) {
  if (t->running) {
    if (gh_proc_alive(&t->proc))
      return 0;
    char ended[256];
    gh_tokens_stop(t, ended, sizeof(ended));
    return gu_fail(why, why_len, "gatecert-introspect ended (%s); see %s", ended, t->stderr_path);
  }
  if (!t->bin[0] && gh_sibling_program(TK_PROGRAM, t->bin, sizeof(t->bin)) != 0)
    return gu_fail(why, why_len, "gatecert-introspect not found (%s from the gatecert program)",
                   TK_PROGRAM);
  if (access(t->bin, X_OK) != 0)
    return gu_fail(why, why_len, "gatecert-introspect %s: %s", t->bin, strerror(errno));
  if (!t->cfg.work_dir ||
      (size_t)snprintf(t->dir, sizeof(t->dir), "%s/introspect", t->cfg.work_dir) >= sizeof(t->dir))
    return gu_fail(why, why_len, "no work directory, or its path is too long");
  snprintf(t->config, sizeof(t->config), "%s/config.json", t->dir);
  snprintf(t->stderr_path, sizeof(t->stderr_path), "%s/stderr.log", t->dir);
  if (mkdir(t->dir, 0700) != 0 && errno != EEXIST)
    return gu_fail(why, why_len, "mkdir %s: %s", t->dir, strerror(errno));
  if (write_config(t, why, why_len) != 0)
    return -1;
  return launch(t, 0, why, why_len);
}

int gh_tokens_port(const gh_tokens *t) { return t->running ? t->port : 0; }

const char *gh_tokens_log_path(const gh_tokens *t) {
  return t->stderr_path[0] ? t->stderr_path : NULL;
}

int gh_tokens_stop(gh_tokens *t, char *why, size_t why_len) {
  if (!t->running)
    return 0;
  t->running = 0;
  return gh_proc_stop(&t->proc, SIGTERM, TK_STOP_MS, why, why_len);
}

int gh_tokens_restart(gh_tokens *t, char *why, size_t why_len) {
  if (!t->running)
    return 0;
  int port = t->port;
  if (gh_tokens_stop(t, why, why_len) != 0)
    return -1;
  if (launch(t, port, why, why_len) == 0)
    return 0;
  if (launch(t, 0, why, why_len) != 0) /* the port was taken meanwhile */
    return -1;
  return 1;
}

/* ---- APIs ---------------------------------------------------------------------------------- */

const char *gh_tokens_classify(const char *const *security, size_t count, int *mtls,
                               int *introspected) {
  *mtls = *introspected = 0;
  for (size_t i = 0; i < count; i++) {
    const char *s = security[i];
    if (strcmp(s, "mutualssl") == 0)
      *mtls = 1;
    else if (strcmp(s, "oauth2") == 0 || strcmp(s, "oauth_basic_auth_api_key_mandatory") == 0)
      *introspected = 1;
    else if (strcmp(s, "mutualssl_mandatory") != 0 && strcmp(s, "mutualssl_optional") != 0 &&
             strcmp(s, "oauth_basic_auth_api_key_optional") != 0)
      return s; /* the flags only qualify mutualssl and oauth2 */
  }
  if (count > 0 && !*mtls)
    *introspected = 1;
  return NULL;
}

int gh_tokens_add_api(gh_tokens *t, const char *name, const char *const *security, size_t count,
                      char *why, size_t why_len) {
  if (find_api(t, name))
    return gu_fail(why, why_len, "API %s is already known to the introspector", name);
  if (t->api_count == TK_MAX_APIS)
    return gu_fail(why, why_len, "more than %d APIs with OAuth2", TK_MAX_APIS);
  tk_api *a = &t->apis[t->api_count];
  a->name = strdup(name);
  a->security = json_array();
  for (size_t i = 0; a->security && i < count; i++)
    if (json_array_append_new(a->security, json_string(security[i])) != 0) {
      json_decref(a->security);
      a->security = NULL;
    }
  if (!a->name || !a->security) {
    api_free(a);
    return gu_fail(why, why_len, "out of memory");
  }
  t->api_count++;
  int rc = t->running ? update(t, why, why_len) : ensure(t, why, why_len);
  if (rc != 0)
    api_free(&t->apis[--t->api_count]);
  return rc;
}

int gh_tokens_remove_api(gh_tokens *t, const char *name, char *why, size_t why_len) {
  tk_api *a = find_api(t, name);
  if (a) {
    api_free(a);
    *a = t->apis[--t->api_count];
  }
  for (size_t i = 0; i < t->sub_count;)
    if (strcmp(t->subs[i].api, name) == 0) {
      subscription_free(&t->subs[i]);
      t->subs[i] = t->subs[--t->sub_count];
    } else {
      i++;
    }
  return update(t, why, why_len);
}

/* ---- key managers -------------------------------------------------------------------------- */

/* 1 when text is 1 to max printable ASCII characters (the introspector's rule). */
static int printable(const char *text, size_t max) {
  size_t len = text ? strlen(text) : 0;
  if (len == 0 || len > max)
    return 0;
  for (; *text; text++)
    if ((unsigned char)*text < 0x20 || (unsigned char)*text >= 0x7f)
      return 0;
  return 1;
}

/* Why pem is not a key alg can verify with (as the simulator's key managers
 * accept: a public key or a certificate; RS256 RSA of 2048 bits or more,
 * ES256 P-256), or NULL when it is. */
static const char *key_problem(const char *pem, const char *alg) {
  BIO *bio = BIO_new_mem_buf(pem, -1);
  EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
  if (bio && !key) {
    (void)BIO_reset(bio);
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    key = cert ? X509_get_pubkey(cert) : NULL;
    X509_free(cert);
  }
  BIO_free(bio);
  const char *problem = NULL;
  char group[64] = "";
  size_t group_len = 0;
  if (!key)
    problem = "certificates.value: a PEM public key or certificate is required";
  else if (strcmp(alg, "RS256") == 0 &&
           (!EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_get_bits(key) < 2048))
    problem = "RS256 needs an RSA key of at least 2048 bits";
  else if (strcmp(alg, "ES256") == 0 &&
           (!EVP_PKEY_is_a(key, "EC") ||
            EVP_PKEY_get_group_name(key, group, sizeof(group), &group_len) != 1 ||
            strcmp(group, "prime256v1") != 0))
    problem = "ES256 needs a P-256 key";
  EVP_PKEY_free(key);
  return problem;
}

int gh_tokens_add_key_manager(gh_tokens *t, const gh_key_manager_desc *km, gh_admin_result *r,
                              char *why, size_t why_len) {
  memset(r, 0, sizeof(*r));
  const char *alg = km->alg ? km->alg : "RS256";
  if (!printable(km->name, TK_MAX_NAME) || !printable(km->issuer, TK_MAX_ISSUER))
    return gh_admin_error(r, 400, "Bad Request", "name and issuer (printable ASCII) are required");
  if (strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0)
    return gh_admin_error(r, 400, "Bad Request", "alg: RS256 or ES256 (the default is RS256)");
  const char *problem = km->public_pem ? key_problem(km->public_pem, alg) : "no key";
  if (problem)
    return gh_admin_error(r, 400, "Bad Request", problem);
  for (size_t i = 0; i < t->km_count; i++)
    if (strcmp(t->kms[i].name, km->name) == 0 || strcmp(t->kms[i].issuer, km->issuer) == 0)
      return gh_admin_error(r, 409, "Conflict", "A key manager with this name or issuer exists");
  if (t->km_count == TK_MAX_KMS)
    return gh_admin_error(r, 400, "Bad Request", "too many key managers");
  if (ensure(t, why, why_len) != 0)
    return -1;
  tk_key_manager *k = &t->kms[t->km_count];
  k->name = strdup(km->name);
  k->issuer = strdup(km->issuer);
  k->alg = strdup(alg);
  k->public_pem = strdup(km->public_pem);
  if (!k->name || !k->issuer || !k->alg || !k->public_pem) {
    key_manager_free(k);
    return gu_fail(why, why_len, "out of memory");
  }
  t->km_count++;
  if (write_config(t, why, why_len) != 0) {
    key_manager_free(&t->kms[--t->km_count]);
    return -1;
  }
  return gh_admin_answer(r, 201,
                         json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:b}", "id", k->name, "name",
                                   k->name, "issuer", k->issuer, "alg", k->alg, "certificates",
                                   "type", "PEM", "value", k->public_pem, "enabled", 1));
}

/* ---- subscriptions ------------------------------------------------------------------------- */

/* A tier the gateway knows: WSO2's shipped ones (as the simulator's) or the case's. */
static int known_tier(const gh_tokens *t, const char *tier) {
  static const char *const shipped[] = {"Unlimited",       "Gold",     "Silver",   "Bronze",
                                        "Unauthenticated", "10PerMin", "20PerMin", "50PerMin"};
  for (size_t i = 0; i < sizeof(shipped) / sizeof(shipped[0]); i++)
    if (strcmp(shipped[i], tier) == 0)
      return 1;
  for (size_t i = 0; i < t->cfg.tier_count; i++)
    if (t->cfg.tiers[i].name && strcmp(t->cfg.tiers[i].name, tier) == 0)
      return 1;
  return 0;
}

static int subscribed(const gh_tokens *t, const char *application, const char *api) {
  for (size_t i = 0; i < t->sub_count; i++)
    if (strcmp(t->subs[i].application, application) == 0 && strcmp(t->subs[i].api, api) == 0)
      return 1;
  return 0;
}

static int has_application(const gh_tokens *t, const char *application) {
  for (size_t i = 0; i < t->app_count; i++)
    if (strcmp(t->apps[i], application) == 0)
      return 1;
  return 0;
}

/* The application (created on first use, its consumer key its name, mapped
 * to key_manager) subscribed to api with tier: the introspector's
 * subscriptions[application][api] = tier. */
int gh_tokens_subscribe(gh_tokens *t, const char *application, const char *api, int api_exists,
                        const char *tier, const char *key_manager, gh_admin_result *r, char *why,
                        size_t why_len) {
  memset(r, 0, sizeof(*r));
  int km_known = 0;
  for (size_t i = 0; key_manager && i < t->km_count; i++)
    km_known |= strcmp(t->kms[i].name, key_manager) == 0;
  if (!printable(application, TK_MAX_NAME))
    return gh_admin_error(r, 400, "Bad Request", "name: an application name is required");
  if (!km_known)
    return gh_admin_error(r, 404, "Not Found", "Requested key manager not found");
  if (!api_exists || !api)
    return gh_admin_error(r, 404, "Not Found", "Requested API not found (apiId)");
  if (!tier || !known_tier(t, tier))
    return gh_admin_error(r, 400, "Bad Request",
                          "throttlingPolicy: the name of a known throttling tier is required");
  if (subscribed(t, application, api))
    return gh_admin_error(r, 409, "Conflict", "Subscription already exists for this API");
  int new_app = !has_application(t, application);
  if ((new_app && t->app_count == TK_MAX_APPS) || t->sub_count == TK_MAX_SUBS)
    return gh_admin_error(r, 400, "Bad Request", "too many applications or subscriptions");
  if (ensure(t, why, why_len) != 0)
    return -1;
  tk_subscription *s = &t->subs[t->sub_count];
  s->application = strdup(application);
  s->api = strdup(api);
  s->tier = strdup(tier);
  char *app = new_app ? strdup(application) : NULL;
  if (!s->application || !s->api || !s->tier || (new_app && !app)) {
    subscription_free(s);
    free(app);
    return gu_fail(why, why_len, "out of memory");
  }
  t->sub_count++;
  if (new_app)
    t->apps[t->app_count++] = app;
  if (write_config(t, why, why_len) != 0) {
    subscription_free(&t->subs[--t->sub_count]);
    return -1;
  }
  char id[512];
  snprintf(id, sizeof(id), "%s:%s", application, api);
  return gh_admin_answer(r, 201,
                         json_pack("{s:s, s:s, s:s, s:s, s:s}", "subscriptionId", id,
                                   "applicationId", application, "apiId", api, "throttlingPolicy",
                                   tier, "status", "UNBLOCKED"));
}
