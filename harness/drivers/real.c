/* real.c - the shared layer of the real gateway drivers (real.h says what it
 * holds and how a driver sits on it).
 *
 * How it works: the admin operations change the state model in place, call
 * the driver's apply (gh_real_ops), and put the state back as it was when
 * apply did not make it live: the product's refusal is the answer 400 with
 * its first error line, a broken apply is a harness error. Uploads are read
 * with certs/ (PEM or DER) and written back as PEM; what is not certificates
 * is kept as it came for the product to judge. Programs run with
 * posix_spawn, their stdout and stderr on one pipe polled up to a real-time
 * deadline (then SIGKILL). The control endpoint is read with libcurl on a
 * fresh connection each time (an old worker keeps its keep-alive
 * connections), and gh_real_await polls it in 20 ms steps for at most 5 s.
 */
#include "gutil.h"
#include "real.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "gcert.h"

#define RUN_OUT_MAX ((size_t)1 << 20)

/* ---- the state model ------------------------------------------------------------------ */

int gh_real_parse_url(const char *text, gh_real_url *out) {
  memset(out, 0, sizeof(*out));
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
  int rc = -1;
  if (u && curl_url_set(u, CURLUPART_URL, text, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
      strlen(scheme) < sizeof(out->scheme) && strlen(host) < sizeof(out->host) &&
      strlen(path) < sizeof(out->path)) {
    for (size_t i = 0; scheme[i]; i++)
      out->scheme[i] = (char)(scheme[i] >= 'A' && scheme[i] <= 'Z' ? scheme[i] + 32 : scheme[i]);
    for (size_t i = 0; host[i]; i++)
      out->host[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] + 32 : host[i]);
    out->port = (int)strtol(port, NULL, 10);
    size_t n = strlen(path);
    while (n > 0 && path[n - 1] == '/')
      n--;
    memcpy(out->path, path, n);
    out->path[n] = '\0';
    rc = out->port > 0 ? 0 : -1;
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_url_cleanup(u);
  return rc;
}

static void api_free(gh_real_api *a) {
  free(a->name);
  free(a->context);
  free(a->version);
  free(a->url);
  free(a->trust_pem);
  free(a->key_pem);
  memset(a, 0, sizeof(*a));
}

void gh_real_cert_free(gh_real_cert *c) {
  free(c->alias);
  free(c->endpoint);
  free(c->api);
  free(c->tier);
  free(c->bytes);
  X509_free(c->first);
  memset(c, 0, sizeof(*c));
}

static void state_free(gh_real *g) {
  for (size_t i = 0; i < g->api_count; i++)
    api_free(&g->apis[i]);
  for (size_t i = 0; i < g->cert_count; i++)
    gh_real_cert_free(&g->certs[i]);
  for (size_t i = 0; i < g->client_count; i++)
    gh_real_cert_free(&g->clients[i]);
  g->api_count = g->cert_count = g->client_count = 0;
}

int gh_real_init(gh_real *g, const gh_real_ops *ops, const char *bin, const char *name,
                 const char *fallback, char *why, size_t why_len) {
  g->ops = ops;
  g->tokens = gh_tokens_new(); /* first: a driver's stop may ask it */
  if (!g->tokens)
    return gu_fail(why, why_len, "out of memory");
  return gh_real_find(bin, name, fallback, g->bin, sizeof(g->bin), why, why_len);
}

void gh_real_free(gh_real *g) {
  state_free(g);
  gh_tokens_free(g->tokens);
  g->tokens = NULL;
}

void gh_real_reset(gh_real *g, const gh_gateway_config *cfg) {
  state_free(g);
  g->cfg = *cfg;
  g->generation = 1;
  g->applies = 0;
  g->apply_ms = 0;
  gh_tokens_reset(g->tokens, &g->cfg);
}

gh_real_api *gh_real_find_api(gh_real *g, const char *name) {
  for (size_t i = 0; name && i < g->api_count; i++)
    if (strcmp(g->apis[i].name, name) == 0)
      return &g->apis[i];
  return NULL;
}

/* An endpoint certificate (api NULL) or an API's client certificate by alias. */
static gh_real_cert *find_cert(gh_real_cert *list, size_t count, const char *api,
                               const char *alias) {
  for (size_t i = 0; alias && i < count; i++)
    if (strcmp(list[i].alias, alias) == 0 && (!api || strcmp(list[i].api, api) == 0))
      return &list[i];
  return NULL;
}

const gh_driver_profile *gh_real_profile_for(const gh_real *g, const gh_real_url *u) {
  for (size_t i = 0; i < g->cfg.profile_count; i++) {
    const gh_driver_profile *p = &g->cfg.profiles[i];
    if (p->host && strcasecmp(p->host, u->host) == 0 && p->port == u->port)
      return p;
  }
  return NULL;
}

int gh_real_any_introspected(const gh_real *g) {
  for (size_t i = 0; i < g->api_count; i++)
    if (g->apis[i].introspected)
      return 1;
  return 0;
}

void gh_real_count_apply(gh_real *g, double t0) {
  g->applies++;
  g->apply_ms += gu_now_ms() - t0;
}

/* ---- admin operations ---------------------------------------------------------------- */

/* Applies after a state change: 0 applied, 1 refused (r answered 400 with the
 * product's message; the caller undoes its change), -1 error. */
static int apply_or_refuse(gh_real *g, gh_admin_result *r, char *why, size_t why_len) {
  char refusal[512] = "", title[96];
  int rc = g->ops->apply(g, 0, refusal, sizeof(refusal), why, why_len);
  if (rc == 1) {
    snprintf(title, sizeof(title), "%s refused the configuration", g->ops->product);
    gh_admin_error(r, 400, title, refusal);
  }
  return rc;
}

/* The operation's end after apply_or_refuse: -1 for an error, else 0 (r set). */
static int undone(int rc) { return rc < 0 ? -1 : 0; }

/* Takes list[index] (of count entries of size bytes) out into *removed and
 * applies; puts it back where it was unless that made it live. What
 * apply_or_refuse returned. */
static int remove_and_apply(gh_real *g, void *list, size_t size, size_t *count, size_t index,
                            void *removed, gh_admin_result *r, char *why, size_t why_len) {
  char *base = list;
  memcpy(removed, base + index * size, size);
  memmove(base + index * size, base + (index + 1) * size, (*count - index - 1) * size);
  (*count)--;
  int rc = apply_or_refuse(g, r, why, why_len);
  if (rc != 0) {
    memmove(base + (index + 1) * size, base + index * size, (*count - index) * size);
    memcpy(base + index * size, removed, size);
    (*count)++;
  }
  return rc;
}

/* Counts the certificate just filled in at list[*count] and applies; drops
 * it again unless that made it live. What apply_or_refuse returned. */
static int add_cert_and_apply(gh_real *g, gh_real_cert *list, size_t *count, gh_admin_result *r,
                              char *why, size_t why_len) {
  (*count)++;
  int rc = apply_or_refuse(g, r, why, why_len);
  if (rc != 0)
    gh_real_cert_free(&list[--*count]);
  return rc;
}

int gh_real_create_api(gh_driver *d, const gh_api_desc *api, gh_admin_result *r, char *why,
                       size_t why_len) {
  gh_real *g = d->impl;
  memset(r, 0, sizeof(*r));
  int mtls = 0, introspected = 0;
  const char *missing =
      gh_tokens_classify(api->security, api->security_count, &mtls, &introspected);
  if (missing)
    return gu_fail(why, why_len, "the %s driver cannot express API security \"%s\"",
                   g->ops->product, missing),
           GH_DRIVER_UNSUPPORTED;
  if (gh_real_find_api(g, api->name))
    return gh_admin_error(r, 409, "Conflict", "an API with this name exists");
  if (g->api_count == GH_REAL_MAX_APIS)
    return gu_fail(why, why_len, "more than %d APIs in a case", GH_REAL_MAX_APIS);
  gh_real_api *a = &g->apis[g->api_count];
  memset(a, 0, sizeof(*a));
  if (gh_real_parse_url(api->url, &a->u) != 0 ||
      (strcmp(a->u.scheme, "https") != 0 && strcmp(a->u.scheme, "http") != 0))
    return gh_admin_error(r, 400, "Bad Request", "the endpoint URL is unusable");
  a->default_version = api->default_version;
  a->mtls = mtls;
  a->introspected = introspected;
  a->name = strdup(api->name);
  a->context = strdup(api->context);
  a->version = strdup(api->version);
  a->url = strdup(api->url);
  a->trust_pem = api->backend_trust_pem ? strdup(api->backend_trust_pem) : NULL;
  a->key_pem = api->backend_key_pem ? strdup(api->backend_key_pem) : NULL;
  if (!a->name || !a->context || !a->version || !a->url ||
      (api->backend_trust_pem && !a->trust_pem) || (api->backend_key_pem && !a->key_pem)) {
    api_free(a);
    return gu_fail(why, why_len, "out of memory");
  }
  if (g->ops->check_api && g->ops->check_api(g, a, r) != 0) {
    api_free(a);
    return 0;
  }
  a->id = ++g->next_api_id;
  g->api_count++;
  /* the introspector knows the API before the gateway sends it a request */
  int rc = introspected ? gh_tokens_add_api(g->tokens, api->name, api->security,
                                            api->security_count, why, why_len)
                        : 0;
  if (rc == 0)
    rc = apply_or_refuse(g, r, why, why_len);
  if (rc != 0) {
    char ignored[256];
    if (introspected)
      gh_tokens_remove_api(g->tokens, api->name, ignored, sizeof(ignored));
    api_free(&g->apis[--g->api_count]);
    return undone(rc);
  }
  return gh_admin_answer(r, 201,
                         json_pack("{s:s, s:s, s:s, s:s}", "id", a->name, "name", a->name,
                                   "context", a->context, "version", a->version));
}

int gh_real_delete_api(gh_driver *d, const char *name, gh_admin_result *r, char *why,
                       size_t why_len) {
  gh_real *g = d->impl;
  memset(r, 0, sizeof(*r));
  gh_real_api *a = gh_real_find_api(g, name);
  if (!a)
    return gh_admin_error(r, 404, "Not Found", "No such resource");
  size_t index = (size_t)(a - g->apis);
  gh_real_api removed;
  int rc = remove_and_apply(g, g->apis, sizeof(removed), &g->api_count, index, &removed, r, why,
                            why_len);
  if (rc != 0)
    return undone(rc);
  /* its subscriptions go with it, as in WSO2 and the simulator */
  rc = gh_tokens_remove_api(g->tokens, removed.name, why, why_len);
  api_free(&removed);
  return rc != 0 ? -1 : gh_admin_answer(r, 200, json_pack("{s:s}", "name", name));
}

/* Reads an upload into c: 0 usable, 1 refused (r answered 400), -1 error. */
static int take_upload(gh_real *g, const void *data, size_t len, gh_real_cert *c,
                       gh_admin_result *r, char *why, size_t why_len) {
  int n = gh_real_normalise(data, len, g->ops->keep_keys, c);
  if (n < 0)
    return gu_fail(why, why_len, "out of memory");
  if (n == 1 || !g->ops->judge_upload)
    return 0;
  char msg[512] = "";
  int v = g->ops->judge_upload(g, c, msg, sizeof(msg));
  if (v == 0)
    return 0;
  free(c->bytes);
  c->bytes = NULL;
  if (v < 0)
    return gu_fail(why, why_len, "judging an upload: %s", msg);
  gh_admin_error(r, 400, "Bad Request", msg);
  return 1;
}

/* Deletes *c from list: 200 once the state without it is live. */
static int delete_cert(gh_real *g, gh_real_cert *list, size_t *count, gh_real_cert *c,
                       gh_admin_result *r, char *why, size_t why_len) {
  gh_real_cert removed;
  int rc = remove_and_apply(g, list, sizeof(removed), count, (size_t)(c - list), &removed, r, why,
                            why_len);
  if (rc != 0)
    return undone(rc);
  json_t *body = json_pack("{s:s}", "alias", removed.alias);
  gh_real_cert_free(&removed);
  return gh_admin_answer(r, 200, body);
}

static int cert_reply(gh_admin_result *r, long status, const gh_real_cert *c) {
  return gh_admin_answer(r, status,
                         json_pack("{s:s, s:s}", "alias", c->alias, "endpoint", c->endpoint));
}

int gh_real_upload_cert(gh_driver *d, const char *alias, const char *endpoint, const void *data,
                        size_t len, gh_admin_result *r, char *why, size_t why_len) {
  gh_real *g = d->impl;
  memset(r, 0, sizeof(*r));
  if (!alias || !*alias || !endpoint || !*endpoint)
    return gh_admin_error(r, 400, "Bad Request", "The alias and/ or endpoint should not be empty");
  if (find_cert(g->certs, g->cert_count, NULL, alias))
    return gh_admin_error(r, 409, "Resource Already Exists", "Alias already exists");
  if (g->cert_count == GH_REAL_MAX_CERTS)
    return gu_fail(why, why_len, "more than %d endpoint certificates", GH_REAL_MAX_CERTS);
  gh_real_cert *c = &g->certs[g->cert_count];
  memset(c, 0, sizeof(*c));
  int t = take_upload(g, data, len, c, r, why, why_len);
  if (t != 0)
    return undone(t);
  c->alias = strdup(alias);
  c->endpoint = strdup(endpoint);
  if (!c->alias || !c->endpoint) {
    gh_real_cert_free(c);
    return gu_fail(why, why_len, "out of memory");
  }
  int rc = add_cert_and_apply(g, g->certs, &g->cert_count, r, why, why_len);
  return rc != 0 ? undone(rc) : cert_reply(r, 201, c);
}

int gh_real_replace_cert(gh_driver *d, const char *alias, const void *data, size_t len,
                         gh_admin_result *r, char *why, size_t why_len) {
  gh_real *g = d->impl;
  memset(r, 0, sizeof(*r));
  gh_real_cert *c = find_cert(g->certs, g->cert_count, NULL, alias);
  if (!c)
    return gh_admin_error(r, 404, "Not Found", "No such resource");
  gh_real_cert fresh = {0};
  int t = take_upload(g, data, len, &fresh, r, why, why_len);
  if (t != 0)
    return undone(t);
  gh_real_cert old = *c;
  c->bytes = fresh.bytes;
  c->len = fresh.len;
  c->first = fresh.first;
  int rc = apply_or_refuse(g, r, why, why_len);
  gh_real_cert gone = rc != 0 ? *c : old; /* what is not live any more */
  if (rc != 0)
    *c = old;
  free(gone.bytes);
  X509_free(gone.first);
  return rc != 0 ? undone(rc) : cert_reply(r, 200, c);
}

int gh_real_delete_cert(gh_driver *d, const char *alias, gh_admin_result *r, char *why,
                        size_t why_len) {
  gh_real *g = d->impl;
  memset(r, 0, sizeof(*r));
  gh_real_cert *c = find_cert(g->certs, g->cert_count, NULL, alias);
  if (!c)
    return gh_admin_error(r, 404, "Not Found", "No such resource");
  return delete_cert(g, g->certs, &g->cert_count, c, r, why, why_len);
}

int gh_real_upload_client_cert(gh_driver *d, const char *api, const char *alias, const char *tier,
                               const void *data, size_t len, gh_admin_result *r, char *why,
                               size_t why_len) {
  gh_real *g = d->impl;
  memset(r, 0, sizeof(*r));
  if (!gh_real_find_api(g, api))
    return gh_admin_error(r, 404, "Not Found", "No such resource");
  if (!alias || !*alias)
    return gh_admin_error(r, 400, "Bad Request", "an alias is required");
  if (find_cert(g->clients, g->client_count, api, alias))
    return gh_admin_error(r, 409, "Resource Already Exists", "the alias exists for this API");
  if (g->client_count == GH_REAL_MAX_CERTS)
    return gu_fail(why, why_len, "more than %d client certificates", GH_REAL_MAX_CERTS);
  gh_real_cert *c = &g->clients[g->client_count];
  memset(c, 0, sizeof(*c));
  int t = take_upload(g, data, len, c, r, why, why_len);
  if (t != 0)
    return undone(t);
  c->api = strdup(api);
  c->alias = strdup(alias);
  c->tier = strdup(tier ? tier : "Unlimited");
  if (!c->api || !c->alias || !c->tier) {
    gh_real_cert_free(c);
    return gu_fail(why, why_len, "out of memory");
  }
  int rc = add_cert_and_apply(g, g->clients, &g->client_count, r, why, why_len);
  if (rc != 0)
    return undone(rc);
  return gh_admin_answer(
      r, 201, json_pack("{s:s, s:s, s:s}", "alias", c->alias, "apiId", c->api, "tier", c->tier));
}

int gh_real_delete_client_cert(gh_driver *d, const char *api, const char *alias, gh_admin_result *r,
                               char *why, size_t why_len) {
  gh_real *g = d->impl;
  memset(r, 0, sizeof(*r));
  gh_real_cert *c = find_cert(g->clients, g->client_count, api, alias);
  if (!c)
    return gh_admin_error(r, 404, "Not Found", "No such resource");
  return delete_cert(g, g->clients, &g->client_count, c, r, why, why_len);
}

int gh_real_add_key_manager(gh_driver *d, const gh_key_manager_desc *km, gh_admin_result *r,
                            char *why, size_t why_len) {
  gh_real *g = d->impl;
  return gh_tokens_add_key_manager(g->tokens, km, r, why, why_len);
}

/* Answers as the simulator's devportal does (tokens.h). */
int gh_real_subscribe(gh_driver *d, const char *application, const char *api, const char *tier,
                      const char *key_manager, gh_admin_result *r, char *why, size_t why_len) {
  gh_real *g = d->impl;
  return gh_tokens_subscribe(g->tokens, application, api, gh_real_find_api(g, api) != NULL, tier,
                             key_manager, r, why, why_len);
}

int gh_real_reload(gh_driver *d, char *why, size_t why_len) {
  gh_real *g = d->impl;
  char refusal[512] = "";
  int rc = g->ops->apply(g, 1, refusal, sizeof(refusal), why, why_len);
  return rc == 1
             ? gu_fail(why, why_len, "%s refused the configuration: %s", g->ops->product, refusal)
             : rc;
}

void gh_real_apply_stats(gh_driver *d, long *applies, double *apply_ms) {
  gh_real *g = d->impl;
  *applies = g->applies;
  *apply_ms = g->apply_ms;
}

int64_t gh_real_start_ms(gh_driver *d) {
  (void)d;
  return -1;
}

int gh_real_clock_sync(gh_driver *d, int64_t fake_ms, char *why, size_t why_len) {
  (void)d;
  (void)fake_ms;
  if (why_len > 0)
    why[0] = '\0';
  return 0;
}

const char *const *gh_real_secrets(gh_driver *d) {
  (void)d;
  static const char *const none[] = {NULL};
  return none;
}

/* ---- upload normalising -------------------------------------------------------------- */

char *gh_real_cert_pem(X509 *cert, size_t *len) {
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  gcert_buf buf = {0};
  char *out = NULL;
  if (gcert_store_add_trusted(&store, NULL, cert, &err) == GCERT_OK &&
      gcert_pem_write(&store, NULL, &buf, &err) == GCERT_OK && (out = malloc(buf.len + 1))) {
    memcpy(out, buf.data, buf.len);
    out[buf.len] = '\0';
    *len = buf.len;
  }
  gcert_buf_free(&buf);
  gcert_store_free(&store);
  return out;
}

X509 *gh_real_file_first(const char *path) {
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  X509 *first = NULL;
  if (gcert_read_file(path, GCERT_FORMAT_AUTO, NULL, &store, &err) == GCERT_OK)
    for (size_t i = 0; !first && i < store.count; i++)
      if (store.entries[i].chain && sk_X509_num(store.entries[i].chain) > 0)
        first = X509_dup(sk_X509_value(store.entries[i].chain, 0));
  gcert_store_free(&store);
  return first;
}

int gh_real_sha1(X509 *cert, char out[41]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (X509_digest(cert, EVP_sha1(), md, &n) != 1)
    return -1;
  for (unsigned i = 0; i < n && i < 20; i++)
    snprintf(out + (size_t)2 * i, 3, "%02x", md[i]);
  return 0;
}

int gh_real_normalise(const void *data, size_t len, int keep_keys, gh_real_cert *c) {
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  gcert_buf pem = {0};
  gcert_format fmt = gcert_format_detect(data, len);
  int certs = (fmt == GCERT_FORMAT_PEM || fmt == GCERT_FORMAT_DER) && len > 0 &&
              gcert_read(fmt, data, len, NULL, &store, &err) == GCERT_OK &&
              gcert_store_cert_count(&store) > 0 && (keep_keys || store.entries[0].key == NULL);
  c->first = NULL;
  for (size_t i = 0; certs && !c->first && i < store.count; i++)
    if (store.entries[i].chain && sk_X509_num(store.entries[i].chain) > 0)
      c->first = X509_dup(sk_X509_value(store.entries[i].chain, 0));
  if (certs && (!c->first || gcert_pem_write(&store, NULL, &pem, &err) != GCERT_OK)) {
    gcert_store_free(&store);
    X509_free(c->first);
    c->first = NULL;
    return -1;
  }
  gcert_store_free(&store);
  const void *from = certs ? pem.data : data;
  size_t n = certs ? pem.len : len;
  c->bytes = malloc(n + 1);
  if (c->bytes) {
    if (n)
      memcpy(c->bytes, from, n);
    c->bytes[n] = '\0';
    c->len = n;
  }
  if (certs)
    gcert_buf_cleanse_free(&pem);
  if (!c->bytes) {
    X509_free(c->first);
    c->first = NULL;
    return -1;
  }
  return certs;
}

/* ---- files ------------------------------------------------------------------------------ */

int gh_real_save(const char *path, const void *data, size_t len, int private_data, char *why,
                 size_t why_len) {
  gcert_error err = {0};
  if (gcert_file_save(path, data, len, private_data, &err) != GCERT_OK)
    return gu_fail(why, why_len, "writing %s: %s", path, err.message);
  return 0;
}

int gh_real_save_text(const char *path, gu_text *b, char *why, size_t why_len) {
  int rc = b->failed ? gu_fail(why, why_len, "out of memory")
                     : gh_real_save(path, b->data ? b->data : "", b->len, 0, why, why_len);
  gu_text_free(b);
  return rc;
}

void gh_real_add_text(gu_text *b, const void *data, size_t len) {
  if (len == 0)
    return;
  gu_text_add(b, data, len);
  if (((const char *)data)[len - 1] != '\n')
    gu_text_add(b, "\n", 1);
}

int gh_real_add_file(gu_text *b, const char *path, char *why, size_t why_len) {
  gcert_buf buf = {0};
  gcert_error err = {0};
  if (gcert_file_load(path, GCERT_MAX_INPUT, &buf, &err) != GCERT_OK)
    return gu_fail(why, why_len, "reading %s: %s", path, err.message);
  gh_real_add_text(b, buf.data, buf.len);
  gcert_buf_free(&buf);
  return 0;
}

int gh_real_mkdir(const char *path, char *why, size_t why_len) {
  if (mkdir(path, 0700) != 0 && errno != EEXIST)
    return gu_fail(why, why_len, "mkdir %s: %s", path, strerror(errno));
  return 0;
}

long gh_real_file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

char *gh_real_log_since(const char *path, long offset) {
  long size = gh_real_file_size(path);
  return size > offset ? gh_driver_file_tail(path, (size_t)(size - offset)) : NULL;
}

int gh_real_log_says(const char *path, const char *needle) {
  char *tail = gh_driver_file_tail(path, 8192);
  int found = tail && strstr(tail, needle);
  free(tail);
  return found;
}

char *gh_real_tail_join(char *base, char *extra, const char *title, size_t max) {
  if (!extra)
    return base;
  size_t base_len = base ? strlen(base) : 0, extra_len = strlen(extra);
  if (base && base_len + extra_len > max && base_len > max - extra_len) {
    size_t keep = max > extra_len ? max - extra_len : 0;
    memmove(base, base + (base_len - keep), keep + 1);
    base_len = keep;
  }
  size_t len = base_len + extra_len + strlen(title) + 16;
  char *out = malloc(len);
  if (out)
    snprintf(out, len, "%s\n--- %s ---\n%s", base ? base : "", title, extra);
  free(base);
  free(extra);
  return out;
}

/* ---- programs --------------------------------------------------------------------------- */

int gh_real_find(const char *bin, const char *name, const char *fallback, char *out, size_t out_len,
                 char *why, size_t why_len) {
  if (bin)
    return gu_find_program(bin, out, out_len, why, why_len);
  if (gu_find_program(name, out, out_len, why, why_len) == 0)
    return 0;
  if (fallback && access(fallback, X_OK) == 0 &&
      (size_t)snprintf(out, out_len, "%s", fallback) < out_len)
    return 0;
  return gu_fail(why, why_len, "%s not found (PATH, %s)", name, fallback ? fallback : "");
}

int gh_real_run(const char *bin, const char *const *args, int timeout_ms, gu_text *out, int *status,
                char *why, size_t why_len) {
  const char *argv[24];
  size_t n = 0;
  argv[n++] = bin;
  for (size_t i = 0; args[i] && n < 23; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return gu_fail(why, why_len, "pipe: %s", strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return gu_fail(why, why_len, "running %s: %s", bin, strerror(rc));
  }
  double deadline = gu_now_ms() + timeout_ms;
  for (;;) {
    int left = (int)(deadline - gu_now_ms());
    if (left <= 0)
      break;
    struct pollfd pfd = {fds[0], POLLIN, 0};
    int pr = poll(&pfd, 1, left);
    if (pr < 0 && errno == EINTR)
      continue;
    if (pr <= 0)
      break;
    char chunk[4096];
    ssize_t r = read(fds[0], chunk, sizeof(chunk));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    if (out->len + (size_t)r <= RUN_OUT_MAX)
      gu_text_add(out, chunk, (size_t)r);
  }
  close(fds[0]);
  pid_t w = waitpid(pid, status, WNOHANG);
  while (w == 0 && gu_now_ms() < deadline) { /* output closed: it is ending */
    gu_sleep_ms(2);
    w = waitpid(pid, status, WNOHANG);
  }
  if (w == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, status, 0);
    return gu_fail(why, why_len, "%s did not finish within %d ms", bin, timeout_ms);
  }
  if (w < 0)
    return gu_fail(why, why_len, "waitpid: %s", strerror(errno));
  return out->failed ? gu_fail(why, why_len, "out of memory") : 0;
}

int gh_real_version(const char *bin, const char *marker, int keep_marker, const char *prefix,
                    char *out, size_t out_len, char *why, size_t why_len) {
  static const char *const args[] = {"-v", NULL};
  gu_text text = {0};
  int status = 0;
  int rc = gh_real_run(bin, args, GH_REAL_RUN_MS, &text, &status, why, why_len);
  const char *v = rc == 0 && text.data ? strstr(text.data, marker) : NULL;
  if (v && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    const char *word = v + strlen(marker);
    snprintf(out, out_len, "%s%s%.*s", prefix, keep_marker ? marker : "",
             (int)strcspn(word, " \r\n"), word);
  } else if (rc == 0) {
    rc = gu_fail(why, why_len, "%s -v did not answer a version: %.200s", bin,
                 text.data ? text.data : "");
  }
  gu_text_free(&text);
  return rc;
}

void gh_real_first_error(const char *text, const char *const *markers, char *out, size_t out_len) {
  const char *line = NULL;
  for (size_t i = 0; text && markers[i] && !line; i++)
    line = strstr(text, markers[i]);
  if (!line)
    line = text ? text : "";
  size_t n = strcspn(line, "\n");
  snprintf(out, out_len, "%.*s", (int)(n < 400 ? n : 400), line);
}

int gh_real_config_test(const char *bin, const char *const *args, const char *const *markers,
                        char *refusal, size_t refusal_len, char *why, size_t why_len) {
  gu_text out = {0};
  int status = 0;
  int rc = gh_real_run(bin, args, GH_REAL_RUN_MS, &out, &status, why, why_len);
  if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    gh_real_first_error(out.data, markers, refusal, refusal_len);
    rc = 1;
  }
  gu_text_free(&out);
  return rc;
}

/* ---- ports and the control endpoint --------------------------------------------------- */

int gh_real_probe_ports(int *a, int *b, char *why, size_t why_len) {
  *a = gu_free_port(why, why_len);
  *b = *a > 0 ? gu_free_port(why, why_len) : -1;
  if (*a > 0 && *b > 0 && *a == *b)
    return gu_fail(why, why_len, "the same port %d probed twice", *a);
  return *a > 0 && *b > 0 ? 0 : -1;
}

int gh_real_control_get(int port, const char *path, long timeout_ms, char *out, size_t out_len) {
  out[0] = '\0';
  CURL *h = curl_easy_init();
  if (!h)
    return -1;
  char url[300];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
  gu_text body = {.limit = 4096};
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, gu_text_curl_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  snprintf(out, out_len, "%s", body.data ? body.data : "");
  gu_text_free(&body);
  return rc == CURLE_OK && status == 200 ? 0 : -1;
}

int gh_real_await(const gh_real_await_spec *s, char *why, size_t why_len) {
  double deadline = gu_now_ms() + GH_REAL_CONFIRM_MS;
  char got[64] = "";
  int answered = 0, ended = 0;
  const char *gave_up = NULL;
  for (;;) {
    /* live: the new generation answers, and the old one (which keeps
     * serving until the master's signal reaches it) has stopped */
    answered = answered || (gh_real_control_get(s->port, s->path, 500, got, sizeof(got)) == 0 &&
                            strcmp(got, s->want) == 0);
    if (answered && (!s->settled || s->settled(s->ctx)))
      return 0;
    if ((ended = !gh_proc_alive(s->proc)) != 0)
      break; /* reaped; the driver's stop still closes what the supervisor holds */
    if (s->gave_up && (gave_up = s->gave_up(s->ctx)) != NULL)
      break;
    if (gu_now_ms() > deadline)
      break;
    gu_sleep_ms(GH_REAL_POLL_STEP_MS);
  }
  char *log = gh_real_log_since(s->log_path, s->log_from);
  size_t log_len = log ? strlen(log) : 0;
  gu_fail(why, why_len, "%s %s generation %s live within %d ms (it answers \"%s\"%s)%s%s; log: %s",
          s->product,
          ended     ? "ended before making"
          : gave_up ? "gave up making"
                    : "did not make",
          s->want, GH_REAL_CONFIRM_MS, got,
          answered ? ", the previous generation still serves" : "", gave_up ? ": " : "",
          gave_up ? gave_up : "", log ? log + (log_len > 600 ? log_len - 600 : 0) : "(none)");
  free(log);
  return -1;
}
