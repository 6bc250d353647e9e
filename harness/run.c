/* run.c - `gatecert run`: the scenario runner.
 *
 * For each scenario file under --scenarios (sorted), the loader gives the
 * cases (matrix rows expanded); they are filtered (--profile, --feature,
 * --filter/--skip globs) and run one after the other. One case:
 *
 *   1. report it not applicable when it needs a capability the product of
 *      the profile does not have (the driver's not-applicable table: "not
 *      applicable to wso2-4 (rule backend.ssl-profile-per-host-port)"), else
 *      skip it if it needs a capability the driver lacks (the reason names it);
 *   2. make its work directory, its PKI (dated from the case's epoch) and its
 *      fake clock file (at the epoch);
 *   3. start its backends (one gatecert-backend process, under the fake clock)
 *      and the gateway through the driver, then create its APIs;
 *   4. run the steps: driver calls, client calls (libcurl, a fresh connection,
 *      no session cache), clock steps (the file rewritten atomically, forward
 *      only, then the driver's acknowledgement), checking each expectation -
 *      the first one that does not hold ends the case as a failure with
 *      expected vs actual, the step and its line;
 *   5. stop everything by pid, keep the artifacts of a failed case (or all
 *      with --keep), record the result.
 *
 * advance_to counts from the gateway's start on the fake clock when the
 * driver knows it (the simulator's reload ticks count from there), else from
 * the epoch. The harness itself never sleeps for fake time: it only rewrites
 * the timestamp file.
 */
#include <errno.h>
#include <fnmatch.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sys/wait.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "driver.h"
#include "known.h"
#include "pki.h"
#include "profile.h"
#include "report.h"
#include "run.h"
#include "scenario.h"
#include "supervisor.h"
#include "gjwt.h"

#ifndef GATECERT_FAKETIME_LIB
#define GATECERT_FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
#endif
#ifndef GATECERT_VERSION
#define GATECERT_VERSION "0.1.0"
#endif

#define MAX_GLOBS     32
#define PATH_LEN      1024
#define LOG_TAIL      8192
#define CALL_TIMEOUT  10000L
#define WITHIN_PASSES 3
#define MAX_NAMED     16 /* named sessions, named connections per case */

/* Set by SIGINT/SIGTERM: the one piece of process state a signal may touch.
 * The running case stops before its next step and cleans up (every process
 * stopped by pid, libfaketime files removed), the reports are written, and
 * the run exits 130. */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig) {
  (void)sig;
  interrupted = 1;
}

typedef struct options {
  const char *scenarios;
  const char *reports;
  char work[PATH_LEN]; /* <reports>/work as an absolute path (drivers write it into configs) */
  const char *driver;
  const char *profile;
  const char *feature;
  const char *filters[MAX_GLOBS];
  size_t filter_count;
  const char *skips[MAX_GLOBS];
  size_t skip_count;
  int list;
  int keep;
  int jobs;
  long repeat;                     /* rounds, for --repeat-until-fail (default 1) */
  unsigned long long shuffle_seed; /* 0: file order */
  const char *sim_args[MAX_GLOBS + 1];
  size_t sim_arg_count;
  const char *sim_bin;
  const char *backend_bin;
  const char *faketime_lib;
  const char *gateway_bin;    /* nginx or haproxy program (--gateway-bin) */
  const char *known_failures; /* --known-failures FILE */
} options;

/* Everything one case holds while it runs. */
typedef struct case_run {
  const options *opt;
  const gh_case_spec *spec;
  const char *profile;
  gh_driver *driver;
  gh_pki pki;
  char dir[PATH_LEN];
  char clock[PATH_LEN];
  char reports[PATH_LEN]; /* backend reports */
  gh_proc backends;
  int backends_running;
  int ports[64]; /* per backend, in spec order */
  int64_t epoch_ms;
  int64_t fake_now; /* the last time written to the clock file */
  FILE *transcript; /* <dir>/transcript.log: every step, its outcome, its time */
  /* call session: / connection: names and what they hold */
  struct {
    const char *name;
    CURLSH *share; /* the TLS session cache */
  } sessions[MAX_NAMED];
  size_t session_count;
  struct {
    const char *name;
    CURL *handle; /* its connection cache holds the kept-alive connection */
  } connections[MAX_NAMED];
  size_t connection_count;
  /* outcome */
  gh_outcome outcome;
  char message[1024];
  char detail[8192];
} case_run;

static int fail(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t why_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, why_len, fmt, ap);
  va_end(ap);
  return -1;
}

/* snprintf for paths: -1 (and an empty string) when the result does not fit. */
static int pathf(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int pathf(char *out, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(out, len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= len) {
    out[0] = '\0';
    return -1;
  }
  return 0;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- outcome -------------------------------------------------------------------- */

static void set_outcome(case_run *r, gh_outcome outcome, const char *detail, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set_outcome(case_run *r, gh_outcome outcome, const char *detail, const char *fmt, ...) {
  if (r->outcome != GH_PASS)
    return; /* the first problem is the one reported */
  r->outcome = outcome;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->message, sizeof(r->message), fmt, ap);
  va_end(ap);
  snprintf(r->detail, sizeof(r->detail), "%s", detail ? detail : r->message);
}

/* ---- files ------------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void remove_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static int make_dirs(const char *path) {
  char tmp[PATH_LEN];
  snprintf(tmp, sizeof(tmp), "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p == '/') {
      *p = '\0';
      if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return -1;
      *p = '/';
    }
  }
  return mkdir(tmp, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* A name usable as a directory: [A-Za-z0-9._-], the rest '_'. */
static void safe_name(const char *in, char *out, size_t out_len) {
  size_t n = 0;
  for (; *in && n + 1 < out_len; in++) {
    char c = *in;
    out[n++] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '-')
                   ? c
                   : '_';
  }
  out[n] = '\0';
}

/* ---- backends ----------------------------------------------------------------------- */

static int backend_spec(case_run *r, const gh_backend_spec *b, char *out, size_t out_len, char *why,
                        size_t why_len) {
  char cert[PATH_LEN], key[PATH_LEN], ca[PATH_LEN];
  size_t n = (size_t)snprintf(out, out_len, "%s:fault=%s", b->name, b->fault ? b->fault : "none");
  if (b->cert) {
    char *names[17];
    size_t count = 0;
    names[count++] = b->cert;
    for (size_t i = 0; i < b->chain_count && count < 17; i++)
      names[count++] = b->chain[i];
    pathf(cert, sizeof(cert), "%s/backend-%s.pem", r->dir, b->name);
    if (gh_pki_bundle(&r->pki, names, count, cert, why, why_len) != 0)
      return -1;
    gh_pki_path(&r->pki, b->cert, ".key", key);
    n += (size_t)snprintf(out + n, out_len - n, ",cert=%s,key=%s", cert, key);
  }
  if (b->client_ca_count > 0) {
    pathf(ca, sizeof(ca), "%s/backend-%s-client-ca.pem", r->dir, b->name);
    if (gh_pki_bundle(&r->pki, b->client_ca, b->client_ca_count, ca, why, why_len) != 0)
      return -1;
    n += (size_t)snprintf(out + n, out_len - n, ",client-ca=%s", ca);
  }
  n += (size_t)snprintf(out + n, out_len - n, ",client-auth=%s,tls=%s,sessions=%s,delay-ms=%lld",
                        b->client_auth ? b->client_auth : "none", b->tls ? b->tls : "any",
                        b->sessions ? "on" : "off", (long long)b->delay_ms);
  return n < out_len ? 0 : fail(why, why_len, "backend %s: spec too long", b->name);
}

static int start_backends(case_run *r, char *why, size_t why_len) {
  const gh_case_spec *c = r->spec;
  if (c->backend_count == 0)
    return 0;
  if (c->backend_count > 16)
    return fail(why, why_len, "more than 16 backends");
  char specs[16][4 * PATH_LEN];
  const char *args[2 + 2 * 16 + 1];
  size_t n = 0;
  args[n++] = "--report-dir";
  args[n++] = r->reports;
  for (size_t i = 0; i < c->backend_count; i++) {
    if (backend_spec(r, &c->backends[i], specs[i], sizeof(specs[i]), why, why_len) != 0)
      return -1;
    args[n++] = "--backend";
    args[n++] = specs[i];
  }
  args[n] = NULL;
  char err_path[PATH_LEN];
  pathf(err_path, sizeof(err_path), "%s/backends.log", r->dir);
  gh_proc_spec spec = {.bin = r->opt->backend_bin,
                       .args = args,
                       .stderr_path = err_path,
                       .faketime_file = r->clock,
                       .faketime_lib = r->opt->faketime_lib};
  if (gh_proc_start(&r->backends, &spec, why, why_len) != 0)
    return -1;
  r->backends_running = 1;
  for (size_t i = 0; i < c->backend_count; i++)
    r->ports[i] = gh_proc_port(&r->backends, c->backends[i].name);
  return 0;
}

static int backend_port(case_run *r, const char *name) {
  if (!name)
    return -1;
  for (size_t i = 0; i < r->spec->backend_count; i++)
    if (strcmp(r->spec->backends[i].name, name) == 0)
      return r->ports[i];
  return -1;
}

static void backend_url(case_run *r, const char *backend, const char *host, char *out,
                        size_t out_len) {
  snprintf(out, out_len, "https://%s:%d", host ? host : "localhost", backend_port(r, backend));
}

/* Request events in a backend's report, and the last one (new reference). */
static size_t backend_requests(case_run *r, const char *backend, json_t **last) {
  char path[PATH_LEN];
  pathf(path, sizeof(path), "%s/%s.jsonl", r->reports, backend);
  if (last)
    *last = NULL;
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  size_t count = 0;
  char line[65536];
  while (fgets(line, sizeof(line), f)) {
    json_t *e = json_loads(line, 0, NULL);
    const char *kind = json_string_value(json_object_get(e, "event"));
    if (kind && strcmp(kind, "request") == 0) {
      count++;
      if (last) {
        json_decref(*last);
        *last = json_incref(e);
      }
    }
    json_decref(e);
  }
  fclose(f);
  return count;
}

/* ---- the gateway ---------------------------------------------------------------------- */

static int gateway_config(case_run *r, gh_gateway_config *cfg, char paths[][PATH_LEN], char *why,
                          size_t why_len) {
  const gh_gateway_spec *g = &r->spec->gateway;
  memset(cfg, 0, sizeof(*cfg));
  cfg->work_dir = r->dir;
  cfg->clock_file = r->clock;
  cfg->faketime_lib = r->opt->faketime_lib;
  cfg->profile = r->profile;
  cfg->sender_reload_interval_ms = g->sender_reload_interval_ms;
  cfg->fault_format = g->fault_format;
  cfg->backend_timeout_ms = g->backend_timeout_ms;
  size_t p = 0;
  if (g->trust_count > 0) {
    pathf(paths[p], PATH_LEN, "%s/gateway-trust.pem", r->dir);
    if (gh_pki_bundle(&r->pki, g->trust, g->trust_count, paths[p], why, why_len) != 0)
      return -1;
    cfg->base_trust_pem = paths[p++];
  }
  if (g->profile_count > GH_MAX_PROFILES)
    return fail(why, why_len, "more than %d ssl_profiles", GH_MAX_PROFILES);
  const gh_profile_spec *all[GH_MAX_PROFILES + 1];
  gh_driver_profile *out[GH_MAX_PROFILES + 1];
  size_t count = 0;
  for (size_t i = 0; i < g->profile_count; i++) {
    all[count] = &g->profiles[i];
    out[count++] = &cfg->profiles[cfg->profile_count++];
  }
  if (g->has_default_profile) {
    cfg->has_default_profile = 1;
    all[count] = &g->default_profile;
    out[count++] = &cfg->default_profile;
  }
  for (size_t i = 0; i < count; i++) {
    const gh_profile_spec *s = all[i];
    gh_driver_profile *d = out[i];
    d->host = s->host ? s->host : "localhost";
    d->port = s->backend ? backend_port(r, s->backend) : 0;
    d->verifier = s->hostname_verifier;
    if (s->trust_count > 0) {
      pathf(paths[p], PATH_LEN, "%s/profile-%zu-trust.pem", r->dir, i);
      if (gh_pki_bundle(&r->pki, s->trust, s->trust_count, paths[p], why, why_len) != 0)
        return -1;
      d->trust_pem = paths[p++];
    }
    if (s->key && strcmp(s->key, "none") == 0)
      d->key_pem = "none";
    else if (s->key) {
      gh_pki_path(&r->pki, s->key, ".identity.pem", paths[p]);
      d->key_pem = paths[p++];
    }
  }
  /* real gateways: session reuse toward backends, the load balancers */
  cfg->upstream_session_reuse = g->upstream_session_reuse;
  if (g->front_lb) {
    gh_pki_path(&r->pki, g->front_lb, ".identity.pem", paths[p]);
    cfg->front_lb_key_pem = paths[p++];
  }
  if (g->trusted_load_balancer_count > GH_MAX_LB)
    return fail(why, why_len, "more than %d trusted_load_balancers", GH_MAX_LB);
  for (size_t i = 0; i < g->trusted_load_balancer_count; i++) {
    gh_pki_path(&r->pki, g->trusted_load_balancers[i], ".pem", paths[p]);
    cfg->trusted_lb_pem[i] = paths[p++];
  }
  return 0;
}

static int create_api(case_run *r, const gh_api_spec *a, gh_admin_result *res, char *why,
                      size_t why_len) {
  char url[512], trust[PATH_LEN], key[PATH_LEN];
  backend_url(r, a->backend, a->host, url, sizeof(url));
  gh_api_desc desc = {.name = a->name,
                      .context = a->context,
                      .version = a->version,
                      .url = url,
                      .security = (const char *const *)a->security,
                      .security_count = a->security_count,
                      .default_version = a->default_version};
  if (a->backend_trust_count > 0) { /* this API's own backend trust */
    if (pathf(trust, sizeof(trust), "%s/api-%s-backend-trust.pem", r->dir, a->name) != 0 ||
        gh_pki_bundle(&r->pki, a->backend_trust, a->backend_trust_count, trust, why, why_len) != 0)
      return -1;
    desc.backend_trust_pem = trust;
  }
  if (a->backend_key && strcmp(a->backend_key, "none") == 0)
    desc.backend_key_pem = "none";
  else if (a->backend_key)
    desc.backend_key_pem = gh_pki_path(&r->pki, a->backend_key, ".identity.pem", key);
  return r->driver->ops->create_api(r->driver, &desc, res, why, why_len);
}

/* ---- the fake clock -------------------------------------------------------------------- */

static int clock_to(case_run *r, int64_t target, char *why, size_t why_len) {
  if (target < r->fake_now)
    return fail(why, why_len, "the clock only moves forward (%lld ms earlier asked)",
                (long long)(r->fake_now - target));
  if (gh_faketime_freeze_ms(r->clock, (long long)target, why, why_len) != 0)
    return -1;
  r->fake_now = target;
  return r->driver->ops->clock_sync(r->driver, target, why, why_len);
}

/* ---- client calls ----------------------------------------------------------------------- */

typedef struct call_result {
  CURLcode code;
  long status;
  int resumed;           /* the TLS session was resumed (-1: unknown) */
  int connection_reused; /* the call went over a kept-alive connection */
  int via_lb;            /* it went through the load balancer in front */
  char *body;
  size_t len;
  char *headers;
  char error[CURL_ERROR_SIZE];
} call_result;

typedef struct growbuf {
  char *data;
  size_t len;
} growbuf;

static size_t collect(char *ptr, size_t size, size_t nmemb, void *arg) {
  growbuf *b = arg;
  size_t n = size * nmemb;
  if (b->len + n > (size_t)16 * 1024 * 1024)
    return 0;
  char *p = realloc(b->data, b->len + n + 1);
  if (!p)
    return 0;
  memcpy(p + b->len, ptr, n);
  b->len += n;
  p[b->len] = '\0';
  b->data = p;
  return n;
}

static void call_free(call_result *c) {
  free(c->body);
  free(c->headers);
  memset(c, 0, sizeof(*c));
}

/* What a call sends beyond the scenario's headers: the token and the certificate header. */
typedef struct call_extras {
  char *token;       /* bearer token, or NULL (cleansed when freed) */
  char *header_cert; /* certificate header value, or NULL */
} call_extras;

static void extras_free(call_extras *x) {
  if (x->token) {
    OPENSSL_cleanse(x->token, strlen(x->token));
    free(x->token);
  }
  free(x->header_cert);
  memset(x, 0, sizeof(*x));
}

/* The TLS session cache of a call's session: name (shared by the calls naming it). */
static CURLSH *named_session(case_run *r, const char *name) {
  for (size_t i = 0; i < r->session_count; i++)
    if (strcmp(r->sessions[i].name, name) == 0)
      return r->sessions[i].share;
  if (r->session_count == MAX_NAMED)
    return NULL;
  CURLSH *share = curl_share_init();
  if (!share ||
      curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
    curl_share_cleanup(share);
    return NULL;
  }
  r->sessions[r->session_count].name = name;
  r->sessions[r->session_count++].share = share;
  return share;
}

/* The handle of a call's connection: name, whose connection cache keeps the
 * connection alive between the calls naming it. */
static CURL *named_connection(case_run *r, const char *name) {
  for (size_t i = 0; i < r->connection_count; i++)
    if (strcmp(r->connections[i].name, name) == 0) {
      curl_easy_reset(r->connections[i].handle); /* keeps live connections */
      return r->connections[i].handle;
    }
  if (r->connection_count == MAX_NAMED)
    return NULL;
  CURL *h = curl_easy_init();
  if (h) {
    r->connections[r->connection_count].name = name;
    r->connections[r->connection_count++].handle = h;
  }
  return h;
}

static void named_free(case_run *r) {
  for (size_t i = 0; i < r->connection_count; i++)
    curl_easy_cleanup(r->connections[i].handle);
  for (size_t i = 0; i < r->session_count; i++)
    curl_share_cleanup(r->sessions[i].share);
  r->connection_count = r->session_count = 0;
}

/* Called by libcurl once the connection is up, before the request: whether
 * its TLS session was resumed (OpenSSL's SSL_session_reused). */
typedef struct tls_probe {
  CURL *handle;
  int resumed;
} tls_probe;

// NOLINTNEXTLINE(readability-non-const-parameter): libcurl's prereq callback type
static int probe_tls(void *arg, char *primary_ip, char *local_ip, int primary_port,
                     int local_port) {
  (void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
  tls_probe *probe = arg;
  struct curl_tlssessioninfo *info = NULL;
  if (curl_easy_getinfo(probe->handle, CURLINFO_TLS_SSL_PTR, &info) == CURLE_OK && info &&
      info->backend == CURLSSLBACKEND_OPENSSL && info->internals)
    probe->resumed = SSL_session_reused((SSL *)info->internals) == 1;
  return CURL_PREREQFUNC_OK;
}

static void client_call(case_run *r, const gh_step *s, const gh_api_spec *api, const call_extras *x,
                        call_result *out) {
  memset(out, 0, sizeof(*out));
  int via_lb = s->via && strcmp(s->via, "lb") == 0;
  out->via_lb = via_lb;
  int port = via_lb ? (r->driver->ops->front_port ? r->driver->ops->front_port(r->driver) : -1)
                    : r->driver->ops->https_port(r->driver);
  char url[2048], resolve[64];
  snprintf(url, sizeof(url), "https://localhost:%d%s/%s%s", port, api->context, api->version,
           s->path ? s->path : "/");
  snprintf(resolve, sizeof(resolve), "localhost:%d:127.0.0.1", port);
  CURL *h = s->connection ? named_connection(r, s->connection) : curl_easy_init();
  CURLSH *share = s->session ? named_session(r, s->session) : NULL;
  if (!h || (s->session && !share)) {
    if (h && !s->connection)
      curl_easy_cleanup(h);
    out->code = CURLE_OUT_OF_MEMORY;
    return;
  }
  tls_probe probe = {h, -1};
  struct curl_slist *res_list = curl_slist_append(NULL, resolve);
  struct curl_slist *headers = NULL;
  for (size_t i = 0; i < s->header_count; i++) {
    char line[1024];
    snprintf(line, sizeof(line), "%s: %s", s->headers[i].name, s->headers[i].value);
    headers = curl_slist_append(headers, line);
  }
  char *auth = NULL, *cert_header = NULL;
  if (x->token) {
    size_t n = strlen(x->token) + 32;
    if ((auth = malloc(n)) != NULL) {
      snprintf(auth, n, "Authorization: Bearer %s", x->token);
      headers = curl_slist_append(headers, auth);
    }
  }
  if (x->header_cert) {
    const char *name = r->spec->gateway.certificate_header ? r->spec->gateway.certificate_header
                                                           : GH_CERT_HEADER_DEFAULT;
    size_t n = strlen(name) + strlen(x->header_cert) + 4;
    if ((cert_header = malloc(n)) != NULL) {
      snprintf(cert_header, n, "%s: %s", name, x->header_cert);
      headers = curl_slist_append(headers, cert_header);
    }
  }
  char cert_path[PATH_LEN], key_path[PATH_LEN];
  if (s->client_cert && strcmp(s->client_cert, "none") != 0) {
    gh_pki_path(&r->pki, s->client_cert, ".chain.pem", cert_path);
    gh_pki_path(&r->pki, s->client_cert, ".key", key_path);
    curl_easy_setopt(h, CURLOPT_SSLCERT, cert_path);
    curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(h, CURLOPT_SSLKEY, key_path);
  }
  growbuf body = {calloc(1, 1), 0}, head = {calloc(1, 1), 0};
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_RESOLVE, res_list);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, s->method ? s->method : "GET");
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (!s->connection) { /* a new connection each time, closed after the call */
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
  }
  if (share) { /* resume the session's TLS session when there is one */
    curl_easy_setopt(h, CURLOPT_SHARE, share);
    curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  }
  curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, probe_tls);
  curl_easy_setopt(h, CURLOPT_PREREQDATA, &probe);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L); /* the gateway's own cert is not under test */
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, CALL_TIMEOUT);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, out->error);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &head);
  out->code = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
  long connects = 0;
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
  out->connection_reused = out->code == CURLE_OK && connects == 0;
  out->resumed = probe.resumed;
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL); /* a named handle outlives the list */
  curl_easy_setopt(h, CURLOPT_RESOLVE, NULL);
  curl_easy_setopt(h, CURLOPT_SHARE, NULL);
  curl_slist_free_all(res_list);
  for (struct curl_slist *l = headers; l; l = l->next) /* the token's copy */
    OPENSSL_cleanse(l->data, strlen(l->data));
  curl_slist_free_all(headers);
  if (!s->connection)
    curl_easy_cleanup(h);
  if (auth) {
    OPENSSL_cleanse(auth, strlen(auth));
    free(auth);
  }
  free(cert_header);
  out->body = body.data;
  out->len = body.len;
  out->headers = head.data;
}

/* WSO2's fault code from a JSON ({"code":"101500"}) or XML (<am:code>) body. */
static void fault_code(const char *body, char *out, size_t out_len) {
  out[0] = '\0';
  json_t *j = json_loads(body ? body : "", 0, NULL);
  json_t *code = json_object_get(j, "code");
  if (json_is_string(code))
    snprintf(out, out_len, "%s", json_string_value(code));
  else if (json_is_integer(code))
    snprintf(out, out_len, "%lld", (long long)json_integer_value(code));
  json_decref(j);
  const char *x = out[0] || !body ? NULL : strstr(body, ":code>");
  if (x) {
    x += 6;
    size_t n = strcspn(x, "<");
    snprintf(out, out_len, "%.*s", (int)(n < out_len ? n : out_len - 1), x);
  }
}

static const char *header_value(const char *headers, const char *name, char *out, size_t out_len) {
  size_t name_len = strlen(name);
  for (const char *line = headers; line && *line;) {
    const char *eol = strstr(line, "\r\n");
    size_t len = eol ? (size_t)(eol - line) : strlen(line);
    if (len > name_len && line[name_len] == ':' && strncasecmp(line, name, name_len) == 0) {
      const char *v = line + name_len + 1;
      while (*v == ' ')
        v++;
      snprintf(out, out_len, "%.*s", (int)(len - (size_t)(v - line)), v);
      return out;
    }
    line = eol ? eol + 2 : line + len;
  }
  return NULL;
}

static void excerpt(const char *body, char *out, size_t out_len) {
  snprintf(out, out_len, "%.300s%s", body ? body : "", body && strlen(body) > 300 ? "..." : "");
}

static int log_has(case_run *r, const char *needle) {
  char *tail = r->driver->ops->log_tail(r->driver, (size_t)4 * 1024 * 1024);
  int found = tail && strstr(tail, needle);
  free(tail);
  return found;
}

/* A transport failure that is the gateway refusing the TLS handshake (an
 * alert during or right after it), not a connection that never happened. */
static int tls_refused(const call_result *c) {
  return c->status == 0 && (c->code == CURLE_SSL_CONNECT_ERROR || c->code == CURLE_RECV_ERROR ||
                            c->code == CURLE_SEND_ERROR || c->code == CURLE_GOT_NOTHING);
}

/* Whether a call got the driver's answer to a rejection class (through the
 * load balancer in front: the balancer's, where it answers the class itself).
 * 1 or 0 with what (expected vs actual). */
static int rejected_as(case_run *r, const char *name, const call_result *c, const char *code,
                       char *what, size_t what_len) {
  gh_reject cls = GH_REJECT_NONE;
  const gh_reject_answer *a = gh_reject_parse(name, &cls) == 0
                                  ? gh_driver_reject_via(r->driver->ops, cls, c->via_lb)
                                  : NULL;
  if (!a) {
    snprintf(what, what_len, "unknown rejection class %s", name);
    return 0;
  }
  const char *via = c->via_lb ? " via its load balancer" : "";
  char want[96] = "";
  if (a->tls_alert) {
    if (tls_refused(c))
      return 1;
    snprintf(want, sizeof(want), "a refused TLS handshake");
  } else {
    size_t n = 0;
    int ok = 0;
    for (size_t i = 0; i < 4 && a->status[i]; i++) {
      ok |= c->status == a->status[i];
      n += (size_t)snprintf(want + n, sizeof(want) - n, "%s%ld", i ? " or " : "status ",
                            a->status[i]);
      if (n >= sizeof(want))
        break;
    }
    if (ok && a->fault_code && strcmp(code, a->fault_code) != 0) {
      snprintf(what, what_len,
               "expected rejection %s (the %s driver's answer%s: fault code %s), got \"%s\"", name,
               r->driver->ops->name, via, a->fault_code, code);
      return 0;
    }
    if (ok)
      return 1;
  }
  if (c->status == 0)
    snprintf(what, what_len,
             "expected rejection %s (the %s driver's answer%s: %s), the call failed: %s", name,
             r->driver->ops->name, via, want, c->error[0] ? c->error : curl_easy_strerror(c->code));
  else
    snprintf(what, what_len, "expected rejection %s (the %s driver's answer%s: %s), got status %ld",
             name, r->driver->ops->name, via, want, c->status);
  return 0;
}

/* Checks a call's expectations. 0 when all hold; else -1 with what/detail. */
static int check_call(case_run *r, const gh_expect *e, const gh_api_spec *api, const call_result *c,
                      size_t before, char *what, size_t what_len, char *detail, size_t detail_len) {
  char body[400], code[64] = "";
  excerpt(c->body, body, sizeof(body));
  json_t *last = NULL;
  size_t after = backend_requests(r, api->backend, &last);
  int reached = after > before;
  int rc = 0;
  fault_code(c->body, code, sizeof(code));
  if (e->resumed != GH_UNSET && c->resumed != (e->resumed == GH_YES)) {
    snprintf(what, what_len, "expected the TLS session %sto be resumed, it was %s",
             e->resumed == GH_YES ? "" : "not ",
             c->resumed == 1   ? "resumed"
             : c->resumed == 0 ? "not resumed"
                               : "never set up");
    rc = -1;
    goto done;
  }
  if (e->reject && !rejected_as(r, e->reject, c, code, what, what_len)) {
    rc = -1;
    goto done;
  }
  if (c->code != CURLE_OK && c->status == 0) {
    if ((e->tls_failure && strcmp(e->tls_failure, "tls-alert") == 0) || e->reject)
      goto done;
    snprintf(what, what_len, "the call failed: %s",
             c->error[0] ? c->error : curl_easy_strerror(c->code));
    rc = -1;
    goto done;
  }
  if (e->status && c->status != e->status) {
    snprintf(what, what_len, "expected status %ld, got %ld", e->status, c->status);
    rc = -1;
  } else if (e->tls_failure) {
    const char *cls = e->tls_failure;
    int ok = (strcmp(cls, "http-4xx") == 0 && c->status >= 400 && c->status < 500) ||
             (strcmp(cls, "http-5xx") == 0 && c->status >= 500 && c->status < 600) ||
             (strcmp(cls, "backend-not-reached") == 0 && !reached);
    if (!ok) {
      snprintf(what, what_len, "expected failure class %s, got status %ld%s", cls, c->status,
               reached ? " (backend reached)" : "");
      rc = -1;
    }
  }
  if (!rc && e->fault_code && strcmp(code, e->fault_code) != 0) {
    snprintf(what, what_len, "expected fault code %s, got \"%s\"", e->fault_code, code);
    rc = -1;
  }
  for (size_t i = 0; !rc && i < e->body_contains_count; i++)
    if (!c->body || !strstr(c->body, e->body_contains[i])) {
      snprintf(what, what_len, "expected the body to contain \"%s\"", e->body_contains[i]);
      rc = -1;
    }
  for (size_t i = 0; !rc && i < e->body_excludes_count; i++)
    if (c->body && strstr(c->body, e->body_excludes[i])) {
      snprintf(what, what_len, "expected the body not to contain \"%s\"", e->body_excludes[i]);
      rc = -1;
    }
  for (size_t i = 0; !rc && i < e->header_count; i++) {
    char value[512];
    const char *got = header_value(c->headers, e->headers[i].name, value, sizeof(value));
    if (!got || strcmp(got, e->headers[i].value) != 0) {
      snprintf(what, what_len, "expected header %s: %s, got %s", e->headers[i].name,
               e->headers[i].value, got ? got : "none");
      rc = -1;
    }
  }
  if (!rc && e->backend_reached != GH_UNSET && reached != (e->backend_reached == GH_YES)) {
    snprintf(what, what_len, "expected the backend %sto be reached, it was %s",
             e->backend_reached == GH_YES ? "" : "not ", reached ? "reached" : "not reached");
    rc = -1;
  }
  if (!rc && e->backend_saw_client_cert) {
    const char *seen =
        reached ? json_string_value(json_object_get(json_object_get(last, "client_cert"), "sha256"))
                : NULL;
    char want[65] = "";
    int want_none = strcmp(e->backend_saw_client_cert, "none") == 0;
    if (!want_none && gh_pki_sha256(&r->pki, e->backend_saw_client_cert, want) != 0) {
      snprintf(what, what_len, "unknown pki %s", e->backend_saw_client_cert);
      rc = -1;
    } else if (!reached || (want_none ? seen != NULL : (!seen || strcmp(seen, want) != 0))) {
      snprintf(what, what_len, "expected the backend to see client certificate %s, it saw %s",
               e->backend_saw_client_cert,
               !reached ? "no request"
               : seen   ? seen
                        : "none");
      rc = -1;
    }
  }
  for (size_t i = 0; !rc && i < e->log_contains_count; i++)
    if (!log_has(r, e->log_contains[i])) {
      snprintf(what, what_len, "expected the gateway log to contain \"%s\"", e->log_contains[i]);
      rc = -1;
    }
done:
  snprintf(detail, detail_len,
           "got status %ld, fault code \"%s\", backend %s, TLS session %s, connection %s\nbody: %s",
           c->status, code[0] ? code : "", reached ? "reached" : "not reached",
           c->resumed == 1   ? "resumed"
           : c->resumed == 0 ? "new"
                             : "none",
           c->connection_reused ? "reused" : "new", body);
  json_decref(last);
  return rc;
}

/* ---- securing APIs: client certificates, tokens, the certificate header ------------------ */

/* The gateway's client-side settings (scenario gateway.listener, mutual_ssl,
 * throttling) into cfg; load balancers as the SHA-256 of their certificates. */
static int client_side_config(case_run *r, gh_gateway_config *cfg, char *why, size_t why_len) {
  const gh_gateway_spec *g = &r->spec->gateway;
  cfg->verify_client = g->verify_client;
  cfg->profile_reload_interval_ms = g->profile_reload_interval_ms;
  cfg->truststore_reload_period_ms = g->truststore_reload_period_ms;
  cfg->truststore_initial_delay_ms = g->truststore_initial_delay_ms;
  cfg->certificate_match = g->certificate_match;
  cfg->chain_validation = g->chain_validation;
  cfg->has_mutual_ssl = g->has_mutual_ssl;
  cfg->certificate_header = g->certificate_header;
  cfg->header_encode = g->header_encode;
  cfg->client_validation = g->client_validation;
  if (g->trusted_load_balancer_count > GH_MAX_LB || g->tier_count > GH_MAX_DRIVER_TIERS)
    return fail(why, why_len, "too many load balancers or tiers");
  for (size_t i = 0; i < g->trusted_load_balancer_count; i++)
    if (gh_pki_sha256(&r->pki, g->trusted_load_balancers[i], cfg->trusted_lb_sha256[i]) != 0)
      return fail(why, why_len, "pki %s: no certificate", g->trusted_load_balancers[i]);
  cfg->trusted_lb_count = g->trusted_load_balancer_count;
  cfg->has_throttling = g->has_throttling;
  cfg->per_certificate = g->per_certificate;
  for (size_t i = 0; i < g->tier_count; i++)
    cfg->tiers[i] = (gh_driver_tier){.name = g->tiers[i].name,
                                     .requests = g->tiers[i].requests,
                                     .window_s = g->tiers[i].window_ms / 1000};
  cfg->tier_count = g->tier_count;
  return 0;
}

/* The oauth key manager, registered once after the gateway started. */
static int register_key_manager(case_run *r, char *why, size_t why_len) {
  const gh_gateway_spec *g = &r->spec->gateway;
  gh_driver *d = r->driver;
  if (!g->has_oauth)
    return 0;
  if (!d->ops->add_key_manager)
    return fail(why, why_len, "the %s driver cannot register a key manager", d->ops->name),
           GH_DRIVER_UNSUPPORTED;
  char *pem = NULL;
  if (gh_pki_public_pem(&r->pki, g->oauth_key, &pem, why, why_len) != 0)
    return -1;
  gh_key_manager_desc km = {.name = GH_KEY_MANAGER_NAME,
                            .issuer = g->oauth_issuer,
                            .alg = g->oauth_alg,
                            .public_pem = pem};
  gh_admin_result res = {0};
  int rc = d->ops->add_key_manager(d, &km, &res, why, why_len);
  free(pem);
  if (rc == 0 && (res.status < 200 || res.status > 299)) {
    char body[400];
    excerpt(res.body, body, sizeof(body));
    rc = fail(why, why_len, "registering key manager %s answered %ld: %s", GH_KEY_MANAGER_NAME,
              res.status, body);
  }
  gh_admin_result_free(&res);
  return rc;
}

/* A bearer token for the call (malloc'd; the caller cleanses and frees it).
 * 0 or -1, with why. */
static int mint_token(case_run *r, const gh_token_spec *t, char **out, char *why, size_t why_len) {
  *out = NULL;
  if (t->kind == GH_TOKEN_GARBAGE) {
    *out = strdup("gatecert-garbage.this-is-not.a-jwt");
    return *out ? 0 : fail(why, why_len, "out of memory");
  }
  const gh_gateway_spec *g = &r->spec->gateway;
  const char *key_name = t->key ? t->key : g->oauth_key;
  const gh_pki_spec *spec = gh_case_pki(r->spec, key_name);
  EVP_PKEY *key = gh_pki_private_key(&r->pki, key_name);
  if (!spec || !key)
    return fail(why, why_len, "token: pki %s has no key", key_name ? key_name : "(none)");
  static unsigned long serial;
  char jti[64];
  snprintf(jti, sizeof(jti), "gatecert-%ld-%lu", (long)getpid(), ++serial);
  json_int_t now = (json_int_t)(r->fake_now / 1000);
  json_int_t iat = now + (json_int_t)(t->issued_at_ms / 1000);
  json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "iss",
                             t->issuer ? t->issuer : g->oauth_issuer, "sub", t->application, "azp",
                             t->application, "client_id", t->application, "iat", iat, "exp",
                             iat + (json_int_t)(t->lifetime_ms / 1000), "jti", jti);
  if (claims && t->has_not_before)
    json_object_set_new(claims, "nbf", json_integer(now + (json_int_t)(t->not_before_ms / 1000)));
  if (!claims)
    return fail(why, why_len, "out of memory");
  gjwt_alg alg = spec->key == GH_KEY_EC ? GJWT_ES256 : GJWT_RS256;
  int rc = gjwt_sign(alg, key, GH_KEY_MANAGER_NAME, claims, out, why, why_len);
  json_decref(claims);
  return rc == 0 ? 0 : -1;
}

/* The value of the certificate header for a call (malloc'd), encoded as asked. */
static int header_cert_value(case_run *r, const gh_step *s, char **out, char *why, size_t why_len) {
  *out = NULL;
  const char *enc = s->header_encoding;
  if (strcmp(enc, "garbage") == 0) {
    *out = strdup("this-is-not-a-certificate");
    return *out ? 0 : fail(why, why_len, "out of memory");
  }
  int der = strcmp(enc, "base64-der") == 0;
  gcert_buf bytes = {0};
  if (gh_pki_encode(&r->pki, s->header_cert, der ? "der" : "pem", &bytes, why, why_len) != 0)
    return -1;
  if (der || strcmp(enc, "base64-pem") == 0) {
    *out = malloc(4 * ((bytes.len + 2) / 3) + 1);
    if (*out)
      EVP_EncodeBlock((unsigned char *)*out, bytes.data, (int)bytes.len);
  } else if (strcmp(enc, "url-pem") == 0) {
    char *escaped = curl_easy_escape(NULL, (const char *)bytes.data, (int)bytes.len);
    *out = escaped ? strdup(escaped) : NULL;
    curl_free(escaped);
  } else { /* raw-pem: the PEM on one line, newlines as spaces */
    size_t n = bytes.len;
    while (n > 0 && (bytes.data[n - 1] == '\n' || bytes.data[n - 1] == '\r'))
      n--;
    if ((*out = malloc(n + 1)) != NULL) {
      size_t k = 0;
      for (size_t i = 0; i < n; i++)
        if (bytes.data[i] != '\r')
          (*out)[k++] = bytes.data[i] == '\n' ? ' ' : (char)bytes.data[i];
      (*out)[k] = '\0';
    }
  }
  gcert_buf_free(&bytes);
  return *out ? 0 : fail(why, why_len, "out of memory");
}

static int extras_make(case_run *r, const gh_step *s, call_extras *x, char *why, size_t why_len) {
  memset(x, 0, sizeof(*x));
  int rc = 0;
  if (s->token.kind != GH_TOKEN_NONE)
    rc = mint_token(r, &s->token, &x->token, why, why_len);
  if (rc == 0 && s->header_encoding)
    rc = header_cert_value(r, s, &x->header_cert, why, why_len);
  if (rc != 0)
    extras_free(x);
  return rc;
}

/* A fault code expectation needs WSO2's fault codes: the authentication
 * faults (9009xx, the security chain's) or the rest (101500 backend faults,
 * 900804 throttling). */
static unsigned fault_code_capability(const char *code) {
  if (!code)
    return 0;
  return strncmp(code, "9009", 4) == 0 ? GH_CAP_AUTH_FAULT_CODES : GH_CAP_FAULT_CODES;
}

/* Capabilities a case needs by what it uses, beyond its needs list. */
static unsigned implied_capabilities(const gh_case_spec *c) {
  const gh_gateway_spec *g = &c->gateway;
  unsigned caps = 0;
  if (g->verify_client || g->profile_reload_interval_ms >= 0 ||
      g->truststore_reload_period_ms >= 0 || g->truststore_initial_delay_ms >= 0 ||
      g->certificate_match || g->chain_validation >= 0)
    caps |= GH_CAP_CLIENT_MTLS;
  if (g->has_mutual_ssl)
    caps |= GH_CAP_HEADER_MODE;
  if (g->has_throttling)
    caps |= GH_CAP_THROTTLING;
  if (g->has_oauth)
    caps |= GH_CAP_OAUTH2;
  for (size_t i = 0; i < c->step_count; i++) {
    const gh_step *s = &c->steps[i];
    if (s->kind == GH_STEP_UPLOAD_CLIENT_CERT || s->kind == GH_STEP_DELETE_CLIENT_CERT ||
        (s->client_cert && strcmp(s->client_cert, "none") != 0))
      caps |= GH_CAP_CLIENT_MTLS;
    if (s->kind == GH_STEP_SUBSCRIBE || s->token.kind == GH_TOKEN_JWT)
      caps |= GH_CAP_OAUTH2;
    if (s->header_encoding)
      caps |= GH_CAP_HEADER_MODE;
    /* url-pem is what a load balancer sends and what a gateway can pin
     * exactly; garbage must be refused by any gateway; the rest needs decoding */
    if (s->header_encoding && strcmp(s->header_encoding, "url-pem") != 0 &&
        strcmp(s->header_encoding, "garbage") != 0)
      caps |= GH_CAP_HEADER_CERT_DECODE;
    if (s->via && strcmp(s->via, "lb") == 0)
      caps |= GH_CAP_LB_IN_FRONT;
    caps |= fault_code_capability(s->expect.fault_code);
    for (size_t k = 0; k < s->override_count; k++)
      caps |= fault_code_capability(s->overrides[k].fault_code);
  }
  if (g->front_lb)
    caps |= GH_CAP_LB_IN_FRONT;
  for (size_t i = 0; i < c->api_count; i++)
    if (c->apis[i].backend_trust_count > 0 || c->apis[i].backend_key)
      caps |= GH_CAP_PER_API_BACKEND_TLS;
  return caps;
}

static void step_label(const gh_step *s, size_t index, char *out, size_t out_len) {
  snprintf(out, out_len, "step %zu (line %d) %s", index + 1, s->line, gh_step_kind_name(s->kind));
}

static int do_call(case_run *r, const gh_step *s, size_t index, char *why, size_t why_len) {
  const gh_api_spec *api = gh_case_api(r->spec, s->api);
  gh_expect e = gh_step_expect(s, r->profile);
  char label[256], what[1024] = "", detail[2048] = "";
  step_label(s, index, label, sizeof(label));
  call_extras x;
  int xrc = extras_make(r, s, &x, why, why_len); /* the clock stands still: one token */
  if (xrc != 0)
    return xrc;
  double deadline = now_ms() + (double)e.within_ms;
  int passes = 0;
  for (;;) {
    size_t before = backend_requests(r, api->backend, NULL);
    call_result c;
    client_call(r, s, api, &x, &c);
    int ok = check_call(r, &e, api, &c, before, what, sizeof(what), detail, sizeof(detail)) == 0;
    call_free(&c);
    passes = ok ? passes + 1 : 0;
    if (e.within_ms == 0 || passes >= WITHIN_PASSES || now_ms() > deadline)
      break;
    usleep(100000);
  }
  extras_free(&x);
  if (e.within_ms > 0 ? passes >= WITHIN_PASSES : passes == 1)
    return 0;
  char full[4096];
  snprintf(full, sizeof(full), "%s %s %s: %s\n%s", label, s->api, s->path ? s->path : "/", what,
           detail);
  set_outcome(r, GH_FAIL, full, "%s %s %s: %s", label, s->api, s->path ? s->path : "/", what);
  return 1;
}

/* Checks an admin answer. 0 when the expectations hold, 1 after a failure. */
static int check_admin(case_run *r, const gh_step *s, size_t index, const gh_admin_result *res) {
  gh_expect e = gh_step_expect(s, r->profile);
  char label[256], what[1024] = "";
  step_label(s, index, label, sizeof(label));
  const char *body = res->body ? res->body : "";
  int refused = res->status >= 400;
  if (e.status && res->status != e.status)
    snprintf(what, sizeof(what), "expected status %ld, got %ld", e.status, res->status);
  else if (e.refused != GH_UNSET && refused != (e.refused == GH_YES))
    snprintf(what, sizeof(what), "expected the change to be %s, got status %ld",
             e.refused == GH_YES ? "refused (4xx or 5xx)" : "accepted", res->status);
  else if (e.message && *e.message) {
    json_t *j = json_loads(body, 0, NULL);
    const char *d = json_string_value(json_object_get(j, "description"));
    const char *m = json_string_value(json_object_get(j, "message"));
    if (!(d && strstr(d, e.message)) && !(m && strstr(m, e.message)))
      snprintf(what, sizeof(what), "expected the message \"%s\"", e.message);
    json_decref(j);
  }
  for (size_t i = 0; !what[0] && i < e.body_contains_count; i++)
    if (!strstr(body, e.body_contains[i]))
      snprintf(what, sizeof(what), "expected the body to contain \"%s\"", e.body_contains[i]);
  if (!what[0])
    return 0;
  char shown[400], full[4096];
  excerpt(body, shown, sizeof(shown));
  snprintf(full, sizeof(full), "%s: %s\ngot status %ld\nbody: %s", label, what, res->status, shown);
  set_outcome(r, GH_FAIL, full, "%s: %s", label, what);
  return 1;
}

/* An admin step whose expectation was not written must still succeed. */
static int admin_default_ok(const gh_step *s, const char *profile, const gh_admin_result *res) {
  gh_expect e = gh_step_expect(s, profile);
  return e.set || (res->status >= 200 && res->status < 300);
}

static int do_admin(case_run *r, const gh_step *s, size_t index, char *why, size_t why_len) {
  gh_driver *d = r->driver;
  gh_admin_result res = {0};
  int rc = 0;
  if (s->kind == GH_STEP_UPLOAD_CERT || s->kind == GH_STEP_REPLACE_CERT) {
    gcert_buf bytes = {0};
    if (gh_pki_encode(&r->pki, s->cert, s->format ? s->format : "pem", &bytes, why, why_len) != 0)
      return -1;
    char endpoint[512] = "";
    if (s->endpoint)
      snprintf(endpoint, sizeof(endpoint), "%s", s->endpoint);
    else if (s->backend)
      backend_url(r, s->backend, NULL, endpoint, sizeof(endpoint));
    rc = s->kind == GH_STEP_UPLOAD_CERT
             ? d->ops->upload_cert(d, s->alias, endpoint, bytes.data, bytes.len, &res, why, why_len)
             : d->ops->replace_cert(d, s->alias, bytes.data, bytes.len, &res, why, why_len);
    gcert_buf_free(&bytes);
  } else if (s->kind == GH_STEP_DELETE_CERT) {
    rc = d->ops->delete_cert(d, s->alias, &res, why, why_len);
  } else if (s->kind == GH_STEP_CREATE_API) {
    rc = create_api(r, gh_case_api(r->spec, s->api), &res, why, why_len);
  } else if (s->kind == GH_STEP_DELETE_API) {
    rc = d->ops->delete_api(d, s->api, &res, why, why_len);
  } else if (s->kind == GH_STEP_UPLOAD_CLIENT_CERT) {
    if (!d->ops->upload_client_cert)
      return fail(why, why_len, "the %s driver cannot upload client certificates", d->ops->name),
             GH_DRIVER_UNSUPPORTED;
    gcert_buf bytes = {0};
    if (gh_pki_encode(&r->pki, s->cert, s->format ? s->format : "pem", &bytes, why, why_len) != 0)
      return -1;
    rc = d->ops->upload_client_cert(d, s->api, s->alias, s->tier ? s->tier : "Unlimited",
                                    bytes.data, bytes.len, &res, why, why_len);
    gcert_buf_free(&bytes);
  } else if (s->kind == GH_STEP_DELETE_CLIENT_CERT) {
    if (!d->ops->delete_client_cert)
      return fail(why, why_len, "the %s driver cannot delete client certificates", d->ops->name),
             GH_DRIVER_UNSUPPORTED;
    rc = d->ops->delete_client_cert(d, s->api, s->alias, &res, why, why_len);
  } else if (s->kind == GH_STEP_SUBSCRIBE) {
    if (!d->ops->subscribe)
      return fail(why, why_len, "the %s driver cannot subscribe applications", d->ops->name),
             GH_DRIVER_UNSUPPORTED;
    rc = d->ops->subscribe(d, s->application, s->api, s->tier ? s->tier : "Unlimited",
                           GH_KEY_MANAGER_NAME, &res, why, why_len);
  }
  if (rc != 0) {
    gh_admin_result_free(&res);
    return rc == GH_DRIVER_UNSUPPORTED ? rc : -1;
  }
  int failed = check_admin(r, s, index, &res);
  if (!failed && !admin_default_ok(s, r->profile, &res)) {
    char label[256];
    step_label(s, index, label, sizeof(label));
    set_outcome(r, GH_FAIL, res.body, "%s: got status %ld (no expectation written: 2xx expected)",
                label, res.status);
    failed = 1;
  }
  gh_admin_result_free(&res);
  return failed;
}

/* Runs one step: 0 go on, 1 the case failed (outcome set), -1 harness error (why). */
static int run_step(case_run *r, const gh_step *s, size_t index, char *why, size_t why_len) {
  gh_driver *d = r->driver;
  switch (s->kind) {
  case GH_STEP_CALL:
    return do_call(r, s, index, why, why_len);
  case GH_STEP_ADVANCE:
    return clock_to(r, r->fake_now + s->duration_ms, why, why_len);
  case GH_STEP_ADVANCE_TO: {
    int64_t base = d->ops->start_ms(d);
    return clock_to(r, (base > 0 ? base : r->epoch_ms) + s->duration_ms, why, why_len);
  }
  case GH_STEP_RELOAD:
    return d->ops->reload(d, why, why_len);
  case GH_STEP_RESTART_GATEWAY:
    return d->ops->restart(d, why, why_len);
  default:
    return do_admin(r, s, index, why, why_len);
  }
}

/* Every capability the case needs: its needs list (known names) and what it uses. */
static unsigned needed_capabilities(const gh_case_spec *c) {
  unsigned needed = implied_capabilities(c);
  for (size_t i = 0; i < c->need_count; i++) {
    unsigned cap = 0;
    if (gh_cap_parse(c->needs[i], &cap) == 0)
      needed |= cap;
  }
  return needed;
}

static const char *missing_capability(const gh_case_spec *c, unsigned caps) {
  for (size_t i = 0; i < c->need_count; i++) {
    unsigned cap = 0;
    if (gh_cap_parse(c->needs[i], &cap) != 0 || !(caps & cap))
      return c->needs[i];
  }
  unsigned implied = implied_capabilities(c) & ~caps;
  for (unsigned bit = 1; implied != 0 && bit != 0; bit <<= 1)
    if (implied & bit)
      return gh_cap_name(bit);
  return NULL;
}

/* One line per step in the case's transcript (kept with --keep or on failure). */
static void transcribe(case_run *r, const char *label, const char *result, double ms) {
  if (!r->transcript)
    return;
  char fake[32];
  time_t secs = (time_t)(r->fake_now / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  strftime(fake, sizeof(fake), "%Y-%m-%dT%H:%M:%SZ", &tm);
  fprintf(r->transcript, "%s  fake %s  real %.1f ms  %s\n", label, fake, ms, result);
  fflush(r->transcript);
}

static void run_case_body(case_run *r) {
  char why[1024] = "";
  const gh_case_spec *c = r->spec;
  r->epoch_ms = c->epoch_s * 1000;
  r->fake_now = r->epoch_ms;
  pathf(r->clock, sizeof(r->clock), "%s/clock", r->dir);
  pathf(r->reports, sizeof(r->reports), "%s/backends", r->dir);
  gh_gateway_config cfg;
  char paths[2 * GH_MAX_PROFILES + GH_MAX_LB + 6][PATH_LEN];
  int drc = 0; /* the driver's answer: GH_DRIVER_UNSUPPORTED skips the case */
  if (make_dirs(r->reports) != 0 ||
      gh_faketime_freeze_ms(r->clock, r->epoch_ms, why, sizeof(why)) ||
      gh_pki_make(c, r->dir, &r->pki, why, sizeof(why)) != 0 ||
      start_backends(r, why, sizeof(why)) != 0 ||
      gateway_config(r, &cfg, paths, why, sizeof(why)) != 0 ||
      client_side_config(r, &cfg, why, sizeof(why)) != 0 ||
      (drc = r->driver->ops->start(r->driver, &cfg, why, sizeof(why))) != 0 ||
      (drc = register_key_manager(r, why, sizeof(why))) != 0) {
    if (drc == GH_DRIVER_UNSUPPORTED)
      set_outcome(r, GH_SKIP, NULL, "%s", why);
    else
      set_outcome(r, GH_ERROR, NULL, "setting up: %s", why[0] ? why : strerror(errno));
    return;
  }
  int64_t start = r->driver->ops->start_ms(r->driver);
  if (start > r->fake_now)
    r->fake_now = start;
  for (size_t i = 0; i < c->api_count; i++) {
    if (!c->apis[i].create)
      continue;
    gh_admin_result res = {0};
    if ((drc = create_api(r, &c->apis[i], &res, why, sizeof(why))) == GH_DRIVER_UNSUPPORTED)
      set_outcome(r, GH_SKIP, NULL, "%s", why);
    else if (drc != 0 || res.status != 201)
      set_outcome(r, GH_ERROR, res.body, "creating API %s: %s", c->apis[i].name,
                  why[0] ? why : "not created");
    if (r->outcome != GH_PASS) {
      gh_admin_result_free(&res);
      return;
    }
    gh_admin_result_free(&res);
  }
  char transcript[PATH_LEN];
  if (pathf(transcript, sizeof(transcript), "%s/transcript.log", r->dir) == 0)
    r->transcript = fopen(transcript, "we");
  for (size_t i = 0; i < c->step_count && r->outcome == GH_PASS; i++) {
    if (interrupted) {
      set_outcome(r, GH_ERROR, NULL, "interrupted before step %zu", i + 1);
      break;
    }
    double t0 = now_ms();
    int rc = run_step(r, &c->steps[i], i, why, sizeof(why));
    char label[256];
    step_label(&c->steps[i], i, label, sizeof(label));
    if (rc == GH_DRIVER_UNSUPPORTED)
      set_outcome(r, GH_SKIP, NULL, "%s", why);
    else if (rc < 0)
      set_outcome(r, GH_ERROR, NULL, "%s: %s", label, why);
    transcribe(r, label, rc == 0 ? "ok" : r->message, now_ms() - t0);
  }
  if (r->transcript)
    fclose(r->transcript);
  r->transcript = NULL;
}

/* ---- the whole run ----------------------------------------------------------------------- */

/* What executing one case produced, before it is recorded in the run. */
typedef struct case_outcome {
  gh_outcome outcome;
  int not_applicable; /* GH_SKIP: not applicable to the profile's product */
  char message[1024];
  char detail[8192];
  char *log_tail; /* malloc'd or NULL */
  double seconds;
  int64_t fake_ms;
  long applies; /* real gateways' configuration applies, and their real time */
  double apply_ms;
} case_outcome;

static void execute_case(const options *opt, const gh_case_spec *c, const char *profile,
                         gh_driver *driver, case_outcome *out) {
  case_run r;
  memset(&r, 0, sizeof(r));
  r.opt = opt;
  r.spec = c;
  r.profile = profile;
  r.driver = driver;
  double t0 = now_ms();
  const gh_cap_na *na =
      gh_product_not_applicable_for(needed_capabilities(c) & ~driver->ops->caps, profile);
  const char *missing = na ? NULL : missing_capability(c, driver->ops->caps);
  if (na) {
    r.outcome = GH_SKIP;
    out->not_applicable = 1;
    snprintf(r.message, sizeof(r.message), "not applicable to %s (rule %s)", profile, na->rule);
  } else if (missing) {
    r.outcome = GH_SKIP;
    snprintf(r.message, sizeof(r.message), "the %s driver lacks capability %s", driver->ops->name,
             missing);
  } else {
    char safe[256];
    safe_name(c->name, safe, sizeof(safe));
    if (pathf(r.dir, sizeof(r.dir), "%s/%s.%s", opt->work, profile, safe) != 0 ||
        (remove_tree(r.dir), make_dirs(r.dir)) != 0)
      set_outcome(&r, GH_ERROR, NULL, "cannot create the work directory of %s", c->name);
    else
      run_case_body(&r);
    named_free(&r);
    if (driver->ops->apply_stats)
      driver->ops->apply_stats(driver, &out->applies, &out->apply_ms);
    out->log_tail = driver->ops->log_tail(driver, LOG_TAIL);
    char why[512];
    if (driver->ops->stop(driver, why, sizeof(why)) != 0)
      set_outcome(&r, GH_ERROR, NULL, "stopping the gateway: %s", why);
    if (r.backends_running && gh_proc_stop(&r.backends, SIGTERM, 3000, why, sizeof(why)) != 0)
      set_outcome(&r, GH_ERROR, NULL, "stopping the backends: %s", why);
    gh_pki_free(&r.pki);
    if (r.outcome == GH_PASS && !opt->keep && r.dir[0])
      remove_tree(r.dir);
  }
  out->outcome = r.outcome;
  snprintf(out->message, sizeof(out->message), "%s", r.message);
  snprintf(out->detail, sizeof(out->detail), "%s", r.detail);
  out->seconds = (now_ms() - t0) / 1e3;
  out->fake_ms = r.fake_now > r.epoch_ms ? r.fake_now - r.epoch_ms : 0;
}

/* A case's file as the reports name it: relative to the scenarios directory
 * it was loaded from (report.h), or as loaded when it is not below it. */
static const char *scenario_relative(const char *scenarios, const char *file) {
  size_t n = strlen(scenarios);
  while (n > 1 && scenarios[n - 1] == '/')
    n--;
  if (strncmp(file, scenarios, n) == 0 && file[n] == '/')
    return file + n + 1;
  return file;
}

static void record_case(const options *opt, const gh_case_spec *c, const char *profile,
                        const char *driver_name, const case_outcome *o, gh_run *run, int color) {
  char reproduce[1024];
  snprintf(reproduce, sizeof(reproduce),
           "gatecert run --scenarios %s --driver %s --profile %s --filter '%s' --keep",
           opt->scenarios, driver_name, profile, c->name);
  int passed = o->outcome == GH_PASS;
  gh_case result = {.name = c->name,
                    .file = (char *)scenario_relative(opt->scenarios, c->file),
                    .features = c->features,
                    .feature_count = c->feature_count,
                    .profile = (char *)profile,
                    .outcome = o->outcome,
                    .not_applicable = o->not_applicable,
                    .message = passed ? NULL : (char *)o->message,
                    .detail = passed ? NULL : (char *)o->detail,
                    .log_tail = passed ? NULL : o->log_tail,
                    .reproduce = reproduce,
                    .seconds = o->seconds,
                    .fake_ms = o->fake_ms,
                    .applies = o->applies,
                    .apply_ms = o->apply_ms};
  gh_case *added = gh_run_add(run, &result);
  if (added)
    gh_console_case(stdout, color, added);
  fflush(stdout);
}

/* ---- parallel cases: one forked worker per case, at most jobs at once -------------------------
 */

typedef struct worker {
  pid_t pid;
  int fd;
  size_t index;
  char *buf;
  size_t len;
} worker;

/* The child's half: execute, send the outcome as JSON, exit. */
static void worker_child(const options *opt, const gh_case_spec *c, const char *profile,
                         gh_driver *driver, int fd) {
  case_outcome o;
  memset(&o, 0, sizeof(o));
  execute_case(opt, c, profile, driver, &o);
  json_t *j =
      json_pack("{s:i, s:b, s:s, s:s, s:s?, s:f, s:I, s:I, s:f}", "outcome", (int)o.outcome,
                "not_applicable", o.not_applicable, "message", o.message, "detail", o.detail,
                "log_tail", o.log_tail, "seconds", o.seconds, "fake_ms", (json_int_t)o.fake_ms,
                "applies", (json_int_t)o.applies, "apply_ms", o.apply_ms);
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  size_t len = text ? strlen(text) : 0, done = 0;
  while (done < len) {
    ssize_t n = write(fd, text + done, len - done);
    if (n <= 0 && errno != EINTR)
      break;
    if (n > 0)
      done += (size_t)n;
  }
  _exit(done == len && len > 0 ? 0 : 3);
}

static void worker_result(const worker *w, case_outcome *o) {
  memset(o, 0, sizeof(*o));
  json_t *j = json_loadb(w->buf ? w->buf : "", w->len, 0, NULL);
  if (!j) {
    o->outcome = GH_ERROR;
    snprintf(o->message, sizeof(o->message), "the worker running this case ended without a result");
    return;
  }
  o->outcome = (gh_outcome)json_integer_value(json_object_get(j, "outcome"));
  o->not_applicable = json_is_true(json_object_get(j, "not_applicable"));
  snprintf(o->message, sizeof(o->message), "%s", json_string_value(json_object_get(j, "message")));
  snprintf(o->detail, sizeof(o->detail), "%s", json_string_value(json_object_get(j, "detail")));
  const char *tail = json_string_value(json_object_get(j, "log_tail"));
  o->log_tail = tail ? strdup(tail) : NULL;
  o->seconds = json_real_value(json_object_get(j, "seconds"));
  o->fake_ms = json_integer_value(json_object_get(j, "fake_ms"));
  o->applies = (long)json_integer_value(json_object_get(j, "applies"));
  o->apply_ms = json_real_value(json_object_get(j, "apply_ms"));
  json_decref(j);
}

/* Reads from the worker until EOF; 1 when finished. */
static int worker_drain(worker *w) {
  char chunk[65536];
  ssize_t n = read(w->fd, chunk, sizeof(chunk));
  if (n < 0 && errno == EINTR)
    return 0;
  if (n <= 0)
    return 1;
  char *p = realloc(w->buf, w->len + (size_t)n + 1);
  if (!p)
    return 1;
  memcpy(p + w->len, chunk, (size_t)n);
  w->len += (size_t)n;
  p[w->len] = '\0';
  w->buf = p;
  return 0;
}

static void run_parallel(const options *opt, const gh_case_spec *const *cases, size_t count,
                         const char *profile, gh_driver *driver, gh_run *run, int color) {
  worker workers[64];
  size_t active = 0, next = 0;
  int jobs = opt->jobs < 64 ? opt->jobs : 64;
  while (next < count || active > 0) {
    while (next < count && active < (size_t)jobs && !interrupted) {
      int fds[2];
      if (pipe2(fds, O_CLOEXEC) != 0)
        break;
      fflush(stdout);
      pid_t pid = fork();
      if (pid == 0) {
        close(fds[0]);
        worker_child(opt, cases[next], profile, driver, fds[1]);
      }
      close(fds[1]);
      if (pid < 0) {
        close(fds[0]);
        break;
      }
      workers[active++] = (worker){.pid = pid, .fd = fds[0], .index = next++};
    }
    if (active == 0)
      break; /* could not start a worker */
    struct pollfd pfds[64];
    for (size_t i = 0; i < active; i++)
      pfds[i] = (struct pollfd){.fd = workers[i].fd, .events = POLLIN};
    if (poll(pfds, active, -1) < 0 && errno != EINTR)
      break;
    for (size_t i = 0; i < active;) {
      if (!(pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) || !worker_drain(&workers[i])) {
        i++;
        continue;
      }
      worker *w = &workers[i];
      int status = 0;
      waitpid(w->pid, &status, 0);
      case_outcome o;
      worker_result(w, &o);
      record_case(opt, cases[w->index], profile, driver->ops->name, &o, run, color);
      free(o.log_tail);
      free(w->buf);
      close(w->fd);
      workers[i] = workers[--active];
      pfds[i] = pfds[active];
    }
  }
}

static void run_all(const options *opt, const gh_case_spec *const *chosen, size_t n,
                    gh_driver *driver, gh_run *run, int color) {
  if (opt->jobs > 1) {
    run_parallel(opt, chosen, n, opt->profile, driver, run, color);
    return;
  }
  for (size_t i = 0; i < n && !interrupted; i++) {
    case_outcome o;
    memset(&o, 0, sizeof(o));
    execute_case(opt, chosen[i], opt->profile, driver, &o);
    record_case(opt, chosen[i], opt->profile, driver->ops->name, &o, run, color);
    free(o.log_tail);
  }
}

/* Fisher-Yates with a seeded xorshift64: the same seed gives the same order. */
static void shuffle(const gh_case_spec **cases, size_t n, unsigned long long seed) {
  unsigned long long x = seed ? seed : 0x9e3779b97f4a7c15ULL;
  for (size_t i = n; i > 1; i--) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    size_t j = (size_t)(x % i);
    const gh_case_spec *t = cases[i - 1];
    cases[i - 1] = cases[j];
    cases[j] = t;
  }
}

static int selected(const options *opt, const gh_case_spec *c, const char *profile) {
  if (!gh_case_has_profile(c, profile))
    return 0;
  if (opt->feature) {
    int has = 0;
    for (size_t i = 0; i < c->feature_count; i++)
      has |= strcmp(c->features[i], opt->feature) == 0;
    if (!has)
      return 0;
  }
  int match = opt->filter_count == 0;
  for (size_t i = 0; i < opt->filter_count; i++)
    match |= fnmatch(opt->filters[i], c->name, 0) == 0;
  for (size_t i = 0; i < opt->skip_count; i++)
    if (fnmatch(opt->skips[i], c->name, 0) == 0)
      return 0;
  return match;
}

/* ---- command line ---------------------------------------------------------------------------- */

static const char usage_text[] =
    "usage: gatecert run [--scenarios DIR] [--reports DIR]\n"
    "                    [--driver sim|nginx|haproxy|exec:PROGRAM] [--gateway-bin F]\n"
    "                    [--known-failures FILE]\n"
    "                    [--profile wso2-4|wso2-2.6|sap]\n"
    "                    [--feature F] [--filter GLOB]... [--skip GLOB]... [--list] [--keep] [-j "
    "N]\n"
    "                    [--shuffle SEED] [--repeat-until-fail N]\n"
    "                    [--sim-bin F] [--sim-arg ARG]... [--backend-bin F] [--faketime-lib F]\n"
    "\n"
    "Runs every scenario case (scenarios/<feature>/*.yaml, or one file) against a gateway\n"
    "and writes "
    "DIR/junit.xml and DIR/conformance.json (default DIR: reports).\n"
    "  --driver D    sim (default: gatecert-sim), nginx, haproxy (real gateways from\n"
    "                Debian packages, one instance per case as the current user) or\n"
    "                exec:PROGRAM (any program speaking gatecert-exec/1, see\n"
    "                harness/drivers/EXEC.md)\n"
    "  --gateway-bin F  the nginx or haproxy program (default: found in PATH, /usr/sbin)\n"
    "  --known-failures FILE  the non-conformances expected of this gateway (one\n"
    "                \"fail GLOB reason\" per line): listed failures do not fail the\n"
    "                exit status, an unlisted failure or a listed case that passed does\n"
    "  --profile P   whose rules the expectations follow: wso2-4 (default; also\n"
    "                wso2), wso2-2.6 or sap\n"
    "  --filter/--skip GLOB  select cases by name (fnmatch); repeatable\n"
    "  --list        print the selected cases and exit\n"
    "  --keep        keep every case's work directory (logs, certificates, reports)\n"
    "  -j, --jobs N  run N cases at once (each in its own process; default 1)\n"
    "  --shuffle SEED           run the cases in a random order fixed by SEED\n"
    "  --repeat-until-fail N    run the selection up to N times, stop after a failing round\n"
    "Exit: 0 all conformed, 1 non-conformance, 2 usage or scenario error, 3 harness error,\n"
    "130 interrupted (SIGINT/SIGTERM: the running cases are stopped and cleaned up).\n";

static void default_bins(options *opt, char *sim, char *backend) {
  if (!opt->sim_bin && gh_sibling_program(GH_SIM_SIBLING, sim, PATH_LEN) == 0)
    opt->sim_bin = sim;
  if (!opt->backend_bin && gh_sibling_program(GH_BACKEND_SIBLING, backend, PATH_LEN) == 0)
    opt->backend_bin = backend;
}

static int parse_options(int argc, char **argv, options *opt) {
  static const struct option longs[] = {
      {"scenarios", required_argument, NULL, 's'},
      {"reports", required_argument, NULL, 'r'},
      {"driver", required_argument, NULL, 'd'},
      {"profile", required_argument, NULL, 'p'},
      {"feature", required_argument, NULL, 'F'},
      {"filter", required_argument, NULL, 'f'},
      {"skip", required_argument, NULL, 'x'},
      {"list", no_argument, NULL, 'l'},
      {"keep", no_argument, NULL, 'k'},
      {"sim-bin", required_argument, NULL, 'S'},
      {"backend-bin", required_argument, NULL, 'B'},
      {"faketime-lib", required_argument, NULL, 'T'},
      {"jobs", required_argument, NULL, 'j'},
      {"repeat-until-fail", required_argument, NULL, 'R'},
      {"shuffle", required_argument, NULL, 'Z'},
      {"sim-arg", required_argument, NULL, 'A'},
      {"gateway-bin", required_argument, NULL, 'G'},
      {"known-failures", required_argument, NULL, 'K'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  opt->scenarios = "scenarios";
  opt->reports = "reports";
  opt->driver = "sim";
  opt->profile = "wso2";
  opt->faketime_lib = GATECERT_FAKETIME_LIB;
  opt->repeat = 1;
  optind = 1;
  opterr = 0;
  int ch;
  while ((ch = getopt_long(argc, argv, "j:", longs, NULL)) != -1) {
    switch (ch) {
    case 's':
      opt->scenarios = optarg;
      break;
    case 'r':
      opt->reports = optarg;
      break;
    case 'd':
      opt->driver = optarg;
      break;
    case 'p':
      opt->profile = optarg;
      break;
    case 'F':
      opt->feature = optarg;
      break;
    case 'l':
      opt->list = 1;
      break;
    case 'k':
      opt->keep = 1;
      break;
    case 'j': {
      char *end = NULL;
      long j = strtol(optarg, &end, 10);
      if (!*optarg || *end || j < 1 || j > 64) {
        fprintf(stderr, "gatecert run: -j wants 1..64\n");
        return 2;
      }
      opt->jobs = (int)j;
      break;
    }
    case 'S':
      opt->sim_bin = optarg;
      break;
    case 'B':
      opt->backend_bin = optarg;
      break;
    case 'T':
      opt->faketime_lib = optarg;
      break;
    case 'G':
      opt->gateway_bin = optarg;
      break;
    case 'K':
      opt->known_failures = optarg;
      break;
    case 'R':
    case 'Z': {
      char *end = NULL;
      errno = 0;
      unsigned long long v = strtoull(optarg, &end, 10);
      if (!*optarg || *end || errno || v == 0 || (ch == 'R' && v > 100000)) {
        fprintf(stderr, "gatecert run: --%s wants a positive integer\n",
                ch == 'R' ? "repeat-until-fail" : "shuffle");
        return 2;
      }
      if (ch == 'R')
        opt->repeat = (long)v;
      else
        opt->shuffle_seed = v;
      break;
    }
    case 'A':
      if (opt->sim_arg_count == MAX_GLOBS) {
        fprintf(stderr, "gatecert run: at most %d --sim-arg\n", MAX_GLOBS);
        return 2;
      }
      opt->sim_args[opt->sim_arg_count++] = optarg;
      break;
    case 'f':
      if (opt->filter_count == MAX_GLOBS) {
        fprintf(stderr, "gatecert run: at most %d --filter\n", MAX_GLOBS);
        return 2;
      }
      opt->filters[opt->filter_count++] = optarg;
      break;
    case 'x':
      if (opt->skip_count == MAX_GLOBS) {
        fprintf(stderr, "gatecert run: at most %d --skip\n", MAX_GLOBS);
        return 2;
      }
      opt->skips[opt->skip_count++] = optarg;
      break;
    case 'h':
      fputs(usage_text, stdout);
      return 1;
    default:
      fprintf(stderr, "gatecert run: %s: unknown option or missing value\n%s", argv[optind - 1],
              usage_text);
      return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "gatecert run: unexpected argument \"%s\"\n", argv[optind]);
    return 2;
  }
  if (gh_profile_canonical(opt->profile) == NULL) {
    fprintf(stderr, "gatecert run: --profile must be wso2-4 (or wso2), wso2-2.6 or sap\n");
    return 2;
  }
  opt->profile = gh_profile_canonical(opt->profile);
  if (strcmp(opt->driver, "sim") != 0 && strcmp(opt->driver, "nginx") != 0 &&
      strcmp(opt->driver, "haproxy") != 0 &&
      (strncmp(opt->driver, "exec:", 5) != 0 || !opt->driver[5])) {
    fprintf(stderr,
            "gatecert run: unknown driver \"%s\" (built in: sim, nginx, haproxy, exec:PROGRAM)\n",
            opt->driver);
    return 2;
  }
  return 0;
}

static void now_text(char *out, size_t len) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
}

int gh_run_main(int argc, char **argv) {
  options opt;
  memset(&opt, 0, sizeof(opt));
  int rc = parse_options(argc, argv, &opt);
  if (rc != 0)
    return rc == 1 ? 0 : 2;
  char sim_bin[PATH_LEN], backend_bin[PATH_LEN];
  default_bins(&opt, sim_bin, backend_bin);
  setenv("TZ", "UTC", 1); /* libfaketime reads timestamp files in local time */
  tzset();
  gh_catalogue cat;
  gh_load_error errors[8];
  size_t error_count = 0;
  rc = 0;
  if (gh_catalogue_load(opt.scenarios, &cat, errors, 8, &error_count) != 0) {
    for (size_t i = 0; i < error_count && i < 8; i++)
      fprintf(stderr, "%s:%d:%d: %s\n", errors[i].file, errors[i].line, errors[i].column,
              errors[i].message);
    if (error_count > 8)
      fprintf(stderr, "gatecert run: %zu more scenario errors\n", error_count - 8);
    return 2;
  }
  if (rc == 0 && opt.list) {
    for (size_t i = 0; i < cat.count; i++)
      if (selected(&opt, &cat.cases[i], opt.profile))
        printf("%s\n", cat.cases[i].name);
  }
  if (rc != 0 || opt.list) {
    gh_catalogue_free(&cat);
    return rc;
  }
  gh_known known = {0};
  if (opt.known_failures) {
    char why[1024];
    if (gh_known_load(opt.known_failures, &known, why, sizeof(why)) != 0) {
      fprintf(stderr, "gatecert run: %s\n", why);
      gh_catalogue_free(&cat);
      return 2;
    }
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  gh_exec_info exec = {.implementation = ""};
  gh_real_info real = {.version = ""};
  char driver_why[1024] = "";
  gh_driver *driver = NULL;
  if (strncmp(opt.driver, "exec:", 5) == 0)
    driver = gh_driver_exec_new(opt.driver + 5, opt.profile, &exec, driver_why, sizeof(driver_why));
  else if (strcmp(opt.driver, "nginx") == 0)
    driver = gh_driver_nginx_new(opt.gateway_bin, &real, driver_why, sizeof(driver_why));
  else if (strcmp(opt.driver, "haproxy") == 0)
    driver = gh_driver_haproxy_new(opt.gateway_bin, &real, driver_why, sizeof(driver_why));
  else
    driver = gh_driver_sim_new(opt.sim_bin, opt.sim_args);
  if (real.version[0]) {
    snprintf(exec.implementation, sizeof(exec.implementation), "%s", opt.driver);
    snprintf(exec.version, sizeof(exec.version), "%s", real.version);
  }
  char started[32], host[256] = "localhost", epoch[] = "2030-01-01T00:00:00Z";
  now_text(started, sizeof(started));
  gethostname(host, sizeof(host) - 1);
  gh_run run = {.implementation = exec.implementation[0] ? exec.implementation : "sim",
                .implementation_version = exec.version[0] ? exec.version : GATECERT_VERSION,
                .profile = (char *)opt.profile,
                .product = (char *)gh_profile_product(opt.profile),
                .harness_version = GATECERT_VERSION,
                .fake_epoch = epoch,
                .started = started,
                .hostname = host};
  int color = gh_console_color(stdout);
  double t0 = now_ms();
  char reports_abs[PATH_MAX];
  if (!driver || make_dirs(opt.reports) != 0 || !realpath(opt.reports, reports_abs) ||
      pathf(opt.work, sizeof(opt.work), "%s/work", reports_abs) != 0) {
    fprintf(stderr, "gatecert run: cannot set up (%s)\n",
            driver_why[0] ? driver_why : strerror(errno));
    rc = 3;
  } else {
    run.secrets = driver->ops->secrets(driver);
    size_t total = cat.count;
    const gh_case_spec **chosen = calloc(
        total + 1, sizeof(*chosen)); // NOLINT(bugprone-sizeof-expression): an array of pointers
    size_t n = 0;
    for (size_t i = 0; chosen && i < cat.count; i++)
      if (selected(&opt, &cat.cases[i], opt.profile))
        chosen[n++] = &cat.cases[i];
    if (opt.shuffle_seed)
      shuffle(chosen, n, opt.shuffle_seed);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    for (long round = 0; round < opt.repeat && !interrupted; round++) {
      gh_tally before = gh_run_tally(&run);
      run_all(&opt, chosen, n, driver, &run, color);
      gh_tally after = gh_run_tally(&run);
      if (after.fail + after.error > before.fail + before.error)
        break; /* --repeat-until-fail: stop at the first round that failed */
    }
    free(chosen);
    run.seconds = (now_ms() - t0) / 1e3;
    char path[PATH_LEN], why[512];
    pathf(path, sizeof(path), "%s/junit.xml", opt.reports);
    if (gh_junit_write(&run, path, why, sizeof(why)) != 0) {
      fprintf(stderr, "gatecert run: %s\n", why);
      rc = 3;
    }
    pathf(path, sizeof(path), "%s/conformance.json", opt.reports);
    if (gh_conformance_write(&run, path, why, sizeof(why)) != 0) {
      fprintf(stderr, "gatecert run: %s\n", why);
      rc = 3;
    }
    gh_console_summary(stdout, color, &run, opt.reports);
    if (interrupted)
      printf("INTERRUPTED: the run stopped early; the reports hold the cases that ran\n");
    gh_tally t = gh_run_tally(&run);
    int failed = t.fail > 0;
    if (opt.known_failures && !interrupted) { /* listed non-conformances do not fail the run */
      gh_known_result kr = {0};
      if (gh_known_check(&known, &run, &kr, why, sizeof(why)) != 0) {
        fprintf(stderr, "gatecert run: %s\n", why);
        rc = 3;
      } else {
        fputs(kr.summary ? kr.summary : "known failures: no summary\n", stdout);
        failed = !kr.ok;
      }
      gh_known_result_free(&kr);
    }
    if (rc == 0)
      rc = interrupted ? 130 : t.error ? 3 : failed ? 1 : 0;
  }
  gh_known_free(&known);
  if (driver)
    driver->ops->destroy(driver);
  run.implementation = NULL; /* borrowed strings: not the run's to free */
  run.implementation_version = NULL;
  run.profile = NULL;
  run.product = NULL;
  run.harness_version = NULL;
  run.fake_epoch = NULL;
  run.started = NULL;
  run.hostname = NULL;
  gh_run_free(&run);
  gh_catalogue_free(&cat);
  curl_global_cleanup();
  return rc;
}
