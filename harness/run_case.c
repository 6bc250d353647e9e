/* run_case.c - one case of `gatecert run`, from its work directory to its
 * outcome.
 *
 * gh_runner_execute_case first reports the case not applicable when it needs
 * a capability the product of the profile does not have (the driver's
 * not-applicable table: "not applicable to wso2-4 (rule
 * backend.ssl-profile-per-host-port)"), or skips it when it needs one the
 * driver lacks (run_caps.c). Else:
 *
 *   1. it makes the case's work directory, its PKI (dated from the case's
 *      epoch) and its fake clock file (at the epoch);
 *   2. starts its backends (one gatecert-backend process, under the fake
 *      clock), the gateway through the driver (gateway_config and
 *      client_side_config turn the scenario's gateway section into the
 *      driver's gh_gateway_config), registers the key manager, creates the
 *      APIs;
 *   3. runs the steps: driver calls, client calls (run_client.c, checked by
 *      run_expect.c; a `within` call is repeated until it holds
 *      WITHIN_PASSES times in a row or the time is up), clock steps (the file
 *      rewritten atomically, forward only, then the driver's
 *      acknowledgement) - the first expectation that does not hold ends the
 *      case as a failure with expected vs actual, the step and its line; each
 *      step is a line of <dir>/transcript.log and a mark on the case's
 *      timeline (run_timeline.c, for the HTML report);
 *   4. stops everything by pid, keeps the work directory of a failed case (or
 *      all with --keep) and fills the case_outcome.
 *
 * advance_to counts from the gateway's start on the fake clock when the
 * driver knows it (the simulator's reload ticks count from there), else from
 * the epoch. The harness itself never sleeps for fake time: it only rewrites
 * the timestamp file.
 *
 * A cluster case (gateway.nodes) starts node 1 with the driver, creates the
 * APIs, then each further node once the clock reached its start offset
 * (start_nodes); every clock step waits for every started node. The driver
 * addresses one node at a time (ops.use_node): a step goes to its node and
 * back to node 1; the runner is the balancer in front (balancer_next: round-
 * robin, one counter per case); node: each calls every node with its own
 * expectation; a sweep (do_sweep) moves the clock through its times
 * (gh_step_sweep_times) and checks each time's answers against
 * expect_flapping. Each call of a cluster case is a timeline mark naming the
 * node that answered, and the log tail holds every node's.
 */
#include <errno.h>
#include <strings.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "gutil.h"
#include "profile.h"
#include "run_internal.h"
#include "simconfig.h"

/* snprintf for paths: -1 (and an empty string) when the result does not fit. */
int gh_runner_pathf(char *out, size_t len, const char *fmt, ...) {
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

double gh_runner_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void gh_runner_set_outcome(case_run *r, gh_outcome outcome, const char *detail, const char *fmt,
                           ...) {
  if (r->outcome != GH_PASS)
    return; /* the first problem is the one reported */
  r->outcome = outcome;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->message, sizeof(r->message), fmt, ap);
  va_end(ap);
  snprintf(r->detail, sizeof(r->detail), "%s", detail ? detail : r->message);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void remove_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

int gh_runner_make_dirs(const char *path) {
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

/* A directory name for a case: up to SAFE_KEEP bytes of its name in
 * [A-Za-z0-9._-] (the rest '_'), then, when anything was replaced or cut,
 * '-' and the first 16 hex digits of the name's SHA-256, so that names that
 * differ only in replaced bytes ("a b", "a_b", "*", "?") or beyond the kept
 * part get their own directories, and a name of any length fits NAME_MAX. */
#define SAFE_KEEP 100
static void safe_name(const char *in, char *out, size_t out_len) {
  size_t n = 0, len = strlen(in);
  int changed = len > SAFE_KEEP;
  for (size_t i = 0; i < len && i < SAFE_KEEP && n + 1 < out_len; i++) {
    char c = in[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '-';
    changed |= !ok;
    out[n++] = ok ? c : '_';
  }
  out[n] = '\0';
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (changed && EVP_Digest(in, len, digest, &digest_len, EVP_sha256(), NULL) == 1)
    for (unsigned int i = 0; i < 8 && n + 3 < out_len; i++)
      n += (size_t)snprintf(out + n, out_len - n, i == 0 ? "-%02x" : "%02x", digest[i]);
}

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
    gh_runner_pathf(cert, sizeof(cert), "%s/backend-%s.pem", r->dir, b->name);
    if (gh_pki_bundle(&r->pki, names, count, cert, why, why_len) != 0)
      return -1;
    gh_pki_path(&r->pki, b->cert, ".key", key);
    n += (size_t)snprintf(out + n, out_len - n, ",cert=%s,key=%s", cert, key);
  }
  if (b->client_ca_count > 0) {
    gh_runner_pathf(ca, sizeof(ca), "%s/backend-%s-client-ca.pem", r->dir, b->name);
    if (gh_pki_bundle(&r->pki, b->client_ca, b->client_ca_count, ca, why, why_len) != 0)
      return -1;
    n += (size_t)snprintf(out + n, out_len - n, ",client-ca=%s", ca);
  }
  n += (size_t)snprintf(out + n, out_len - n, ",client-auth=%s,tls=%s,sessions=%s,delay-ms=%lld",
                        b->client_auth ? b->client_auth : "none", b->tls ? b->tls : "any",
                        b->sessions ? "on" : "off", (long long)b->delay_ms);
  return n < out_len ? 0 : gu_fail(why, why_len, "backend %s: spec too long", b->name);
}

static int start_backends(case_run *r, char *why, size_t why_len) {
  const gh_case_spec *c = r->spec;
  if (c->backend_count == 0)
    return 0;
  if (c->backend_count > 16)
    return gu_fail(why, why_len, "more than 16 backends");
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
  gh_runner_pathf(err_path, sizeof(err_path), "%s/backends.log", r->dir);
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
size_t gh_runner_backend_requests(case_run *r, const char *backend, json_t **last) {
  char path[PATH_LEN];
  gh_runner_pathf(path, sizeof(path), "%s/%s.jsonl", r->reports, backend);
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

static int gateway_config(case_run *r, gh_gateway_config *cfg, char paths[][PATH_LEN], char *why,
                          size_t why_len) {
  const gh_gateway_spec *g = &r->spec->gateway;
  memset(cfg, 0, sizeof(*cfg));
  cfg->work_dir = r->dir;
  cfg->clock_file = r->clock;
  cfg->faketime_lib = r->opt->faketime_lib;
  cfg->profile = r->profile;
  cfg->case_name = r->spec->name;
  gh_simconfig_from_spec(cfg, g); /* the scalar settings, simconfig.c's table */
  cfg->nodes = g->nodes;
  size_t p = 0;
  if (g->trust_count > 0) {
    gh_runner_pathf(paths[p], PATH_LEN, "%s/gateway-trust.pem", r->dir);
    if (gh_pki_bundle(&r->pki, g->trust, g->trust_count, paths[p], why, why_len) != 0)
      return -1;
    cfg->base_trust_pem = paths[p++];
  }
  if (g->profile_count > GH_MAX_PROFILES)
    return gu_fail(why, why_len, "more than %d ssl_profiles", GH_MAX_PROFILES);
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
      gh_runner_pathf(paths[p], PATH_LEN, "%s/profile-%zu-trust.pem", r->dir, i);
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
  cfg->upstream_keepalive = g->upstream_keepalive;
  if (g->front_lb) {
    gh_pki_path(&r->pki, g->front_lb, ".identity.pem", paths[p]);
    cfg->front_lb_key_pem = paths[p++];
  }
  if (g->trusted_load_balancer_count > GH_MAX_LB)
    return gu_fail(why, why_len, "more than %d trusted_load_balancers", GH_MAX_LB);
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
    if (gh_runner_pathf(trust, sizeof(trust), "%s/api-%s-backend-trust.pem", r->dir, a->name) !=
            0 ||
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

/* ---- the clock check --------------------------------------------------------------------
 * A driver that claims GH_CAP_FAKE_CLOCK is checked, after start, after a
 * restart and after every clock step: the gateway's own reading of its clock
 * (ops.clock_read; else the Date header of a data-plane answer to /, read with
 * libcurl's curl_getdate) must be the fake clock's second (the clock file
 * freezes it; one second either way for rounding). A gateway on the real clock
 * would pass or fail cases for the wrong reason: the case errors instead. No
 * reading at all (no clock_read, no answer, no Date header) is not checked. */

/* The Date header's time (ms), or -1. */
static size_t date_header(char *line, size_t size, size_t n, void *userdata) {
  size_t len = size * n;
  int64_t *ms = userdata;
  if (len > 5 && strncasecmp(line, "Date:", 5) == 0) {
    char value[128];
    snprintf(value, sizeof(value), "%.*s", (int)(len - 5 < 127 ? len - 5 : 127), line + 5);
    value[strcspn(value, "\r\n")] = '\0';
    time_t t = curl_getdate(value, NULL);
    if (t != (time_t)-1)
      *ms = (int64_t)t * 1000;
  }
  return len;
}

// NOLINTNEXTLINE(readability-non-const-parameter): CURLOPT_WRITEFUNCTION's signature
static size_t discard_body(char *data, size_t size, size_t n, void *userdata) {
  (void)data;
  (void)userdata;
  return size * n;
}

static int64_t date_reading(case_run *r) {
  int port = r->driver->ops->https_port(r->driver);
  int64_t ms = -1;
  CURL *h = port > 0 ? curl_easy_init() : NULL;
  if (!h)
    return -1;
  char url[64];
  snprintf(url, sizeof(url), "https://localhost:%d/", port);
  char entry[64];
  snprintf(entry, sizeof(entry), "localhost:%d:127.0.0.1", port);
  struct curl_slist *resolve = curl_slist_append(NULL, entry);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, date_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &ms);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
  curl_easy_perform(h);
  curl_easy_cleanup(h);
  curl_slist_free_all(resolve);
  return ms;
}

static void utc_text(int64_t ms, char out[32]) {
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  if (!gmtime_r(&secs, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf(out, 32, "%lld ms", (long long)ms);
}

static int clock_check(case_run *r, const char *when, char *why, size_t why_len) {
  gh_driver *d = r->driver;
  if (!(d->ops->caps & GH_CAP_FAKE_CLOCK))
    return 0;
  int64_t ms = -1;
  int rc = d->ops->clock_read ? d->ops->clock_read(d, &ms, why, why_len) : 1;
  if (rc < 0)
    return -1;
  const char *how = "its own reading";
  if (rc == 1) {
    ms = date_reading(r);
    how = "the Date header of its answer";
  }
  if (ms < 0)
    return 0;
  int64_t secs = ms / 1000, fake = r->fake_now / 1000;
  if (secs >= fake - 1 && secs <= fake + 1)
    return 0;
  char seen[32], want[32];
  utc_text(ms, seen);
  utc_text(r->fake_now, want);
  return gu_fail(why, why_len,
                 "gateway clock does not follow the fake clock (%s): %s reads %s, the fake "
                 "clock %s",
                 when, how, seen, want);
}

/* ---- clusters ------------------------------------------------------------------------------
 * A cluster case (gateway.nodes) has the driver address one node at a time
 * (ops.use_node); between steps it addresses node 1. */

/* rc, with why prefixed "node K: " in a cluster case when rc is not 0. */
static int on_node(case_run *r, int rc, char *why, size_t why_len) {
  if (rc == 0 || r->spec->gateway.nodes == 0)
    return rc;
  char copy[1024];
  snprintf(copy, sizeof(copy), "%s", why);
  snprintf(why, why_len, "node %d: %.990s", r->node, copy);
  return rc;
}

/* Makes the driver address node (nothing to do for the node it addresses). */
static int use_node(case_run *r, int node, char *why, size_t why_len) {
  if (node == r->node)
    return 0;
  gh_driver *d = r->driver;
  if (!d->ops->use_node || d->ops->use_node(d, node) != 0)
    return gu_fail(why, why_len, "the %s driver cannot address node %d", d->ops->name, node);
  r->node = node;
  return 0;
}

/* The node the round-robin balancer sends the next call to: 1, 2, ..., N, 1, ... */
static int balancer_next(case_run *r) {
  return (int)(r->balancer_turn++ % (unsigned long)r->nodes) + 1;
}

/* Every started node acknowledges the fake time (and is checked against it). */
static int clock_to(case_run *r, int64_t target, char *why, size_t why_len) {
  if (target < r->fake_now)
    return gu_fail(why, why_len, "the clock only moves forward (%lld ms earlier asked)",
                   (long long)(r->fake_now - target));
  if (gh_faketime_freeze_ms(r->clock, (long long)target, why, why_len) != 0)
    return -1;
  r->fake_now = target;
  int back = r->node;
  for (int k = 1; k <= r->started_nodes; k++)
    if (use_node(r, k, why, why_len) != 0 ||
        on_node(r, r->driver->ops->clock_sync(r->driver, target, why, why_len), why, why_len) !=
            0 ||
        on_node(r, clock_check(r, "after the clock moved", why, why_len), why, why_len) != 0)
      return -1;
  return use_node(r, back, why, why_len);
}

/* Nodes 2..N of a cluster, each once the clock reached its start offset
 * (counted from node 1's start), its reload clocks on the timeline. */
static int start_nodes(case_run *r, char *why, size_t why_len) {
  const gh_gateway_spec *g = &r->spec->gateway;
  gh_driver *d = r->driver;
  int64_t base = d->ops->start_ms(d);
  if (base <= 0)
    base = r->epoch_ms;
  for (int k = 2; k <= r->nodes; k++) {
    if (clock_to(r, base + g->start_offsets_ms[k - 1], why, why_len) != 0)
      return -1;
    if (!d->ops->start_node)
      return gu_fail(why, why_len, "the %s driver cannot start node %d", d->ops->name, k),
             GH_DRIVER_UNSUPPORTED;
    int rc = d->ops->start_node(d, k, why, why_len);
    if (rc != 0)
      return rc == GH_DRIVER_UNSUPPORTED ? rc : gu_fail(why, why_len, "node %d: %.900s", k, why);
    r->started_nodes = k;
    if (use_node(r, k, why, why_len) != 0 ||
        on_node(r, clock_check(r, "after start", why, why_len), why, why_len) != 0)
      return -1;
    gh_runner_timeline_start(r);
    gh_runner_event(r, GH_EV_RESTART, 1, "node %d started (start offset %.3f s)", k,
                    (double)g->start_offsets_ms[k - 1] / 1e3);
  }
  return use_node(r, 1, why, why_len);
}

/* The gateway log's tail; a cluster's as each node's after a "--- node K ---" line. */
static char *log_tail(case_run *r, size_t max) {
  gh_driver *d = r->driver;
  char why[256];
  if (r->spec->gateway.nodes == 0 || r->started_nodes <= 1)
    return d->ops->log_tail(d, max);
  gu_text all = {0};
  for (int k = 1; k <= r->started_nodes; k++) {
    if (use_node(r, k, why, sizeof(why)) != 0)
      continue;
    char *tail = d->ops->log_tail(d, max / (size_t)r->started_nodes);
    gu_text_printf(&all, "--- node %d ---\n%s%s", k, tail ? tail : "",
                   tail && tail[0] && tail[strlen(tail) - 1] != '\n' ? "\n" : "");
    free(tail);
  }
  use_node(r, 1, why, sizeof(why));
  return gu_text_take(&all);
}

/* The gateway's client-side lists (scenario gateway.mutual_ssl, throttling)
 * into cfg: load balancers as the SHA-256 of their certificates, tiers. (The
 * scalar settings came with gh_simconfig_from_spec.) */
static int client_side_config(case_run *r, gh_gateway_config *cfg, char *why, size_t why_len) {
  const gh_gateway_spec *g = &r->spec->gateway;
  if (g->trusted_load_balancer_count > GH_MAX_LB || g->tier_count > GH_MAX_DRIVER_TIERS)
    return gu_fail(why, why_len, "too many load balancers or tiers");
  for (size_t i = 0; i < g->trusted_load_balancer_count; i++)
    if (gh_pki_sha256(&r->pki, g->trusted_load_balancers[i], cfg->trusted_lb_sha256[i]) != 0)
      return gu_fail(why, why_len, "pki %s: no certificate", g->trusted_load_balancers[i]);
  cfg->trusted_lb_count = g->trusted_load_balancer_count;
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
    return gu_fail(why, why_len, "the %s driver cannot register a key manager", d->ops->name),
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
    gh_runner_excerpt(res.body, body, sizeof(body));
    rc = gu_fail(why, why_len, "registering key manager %s answered %ld: %s", GH_KEY_MANAGER_NAME,
                 res.status, body);
  }
  gh_admin_result_free(&res);
  return rc;
}

void gh_runner_step_label(const gh_step *s, size_t index, char *out, size_t out_len) {
  snprintf(out, out_len, "step %zu (line %d) %s", index + 1, s->line, gh_step_kind_name(s->kind));
}

/* One call of a call step (to node in a cluster case: a number, or
 * GH_NODE_BALANCER for the balancer's next; 0 otherwise), retried as its
 * `within` says: 0 it held, 1 it failed (the outcome set), else what the
 * extras or the node's addressing returned. */
static int call_once(case_run *r, const gh_step *s, size_t index, int node, const gh_expect *e,
                     char *why, size_t why_len) {
  const gh_api_spec *api = gh_case_api(r->spec, s->api);
  char label[256], what[1024] = "", detail[2048] = "";
  gh_runner_step_label(s, index, label, sizeof(label));
  call_extras x;
  int xrc = gh_runner_extras_make(r, s, &x, why, why_len); /* the clock stands still: one token */
  if (xrc != 0)
    return xrc;
  double deadline = gh_runner_now_ms() + (double)e->within_ms;
  int passes = 0, answered = 0;
  for (;;) {
    answered = node == GH_NODE_BALANCER ? balancer_next(r) : node;
    if (answered > 0 && use_node(r, answered, why, why_len) != 0) {
      gh_runner_extras_free(&x);
      return -1;
    }
    size_t before = gh_runner_backend_requests(r, api->backend, NULL);
    call_result c;
    gh_runner_call(r, s, api, &x, &c);
    c.node = answered;
    int ok = gh_runner_check_call(r, e, api, &c, before, what, sizeof(what), detail,
                                  sizeof(detail)) == 0;
    if (answered > 0)
      gh_runner_event_call(r, s, index, &c, ok);
    gh_runner_call_free(&c);
    passes = ok ? passes + 1 : 0;
    if (e->within_ms == 0 || passes >= WITHIN_PASSES || gh_runner_now_ms() > deadline)
      break;
    usleep(100000);
  }
  gh_runner_extras_free(&x);
  if (e->within_ms > 0 ? passes >= WITHIN_PASSES : passes == 1)
    return 0;
  char at[32] = "";
  if (answered > 0)
    snprintf(at, sizeof(at), " (node %d)", answered);
  char full[4096];
  snprintf(full, sizeof(full), "%s %s %s%s: %s\n%s", label, s->api, s->path ? s->path : "/", at,
           what, detail);
  gh_runner_set_outcome(r, GH_FAIL, full, "%s %s %s%s: %s", label, s->api, s->path ? s->path : "/",
                        at, what);
  return 1;
}

static int do_call(case_run *r, const gh_step *s, size_t index, char *why, size_t why_len) {
  int cluster = r->spec->gateway.nodes > 0;
  int rc = 0;
  if (cluster && s->node == GH_NODE_EACH) {
    for (int k = 1; k <= r->nodes && rc == 0; k++) {
      gh_expect e = gh_step_expect_node(s, r->profile, k);
      rc = call_once(r, s, index, k, &e, why, why_len);
    }
  } else {
    gh_expect e = gh_step_expect(s, r->profile);
    rc = call_once(r, s, index,
                   !cluster                     ? 0
                   : s->node == GH_NODE_DEFAULT ? 1
                                                : s->node,
                   &e, why, why_len);
  }
  return rc < 0 || use_node(r, 1, why, why_len) == 0 ? rc : -1;
}

/* Whether status is one a sweep expects at time at (ms, like advance_to). */
static int flap_allows(const gh_flapping *f, int64_t at, long status) {
  if (at < f->from_ms)
    return status == f->before;
  if (at >= f->until_ms)
    return status == f->after;
  for (size_t i = 0; i < f->between_count; i++)
    if (f->between[i] == status)
      return 1;
  return 0;
}

/* "200 and 500" into out. */
static void status_list(const long *statuses, size_t n, char *out, size_t out_len) {
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < n && used < out_len; i++)
    used += (size_t)snprintf(out + used, out_len - used, "%s%ld",
                             i == 0       ? ""
                             : i + 1 == n ? " and "
                                          : ", ",
                             statuses[i]);
}

/* A sweep: at each of its times, one call per node through the balancer;
 * the answers checked against expect_flapping at that time. */
static int do_sweep(case_run *r, const gh_step *s, size_t index, char *why, size_t why_len) {
  const gh_flapping *f = &s->flapping;
  const gh_api_spec *api = gh_case_api(r->spec, s->api);
  int64_t base = r->driver->ops->start_ms(r->driver);
  if (base <= 0)
    base = r->epoch_ms;
  size_t n = 0;
  int64_t *times = gh_step_sweep_times(s, &n);
  if (!times)
    return gu_fail(why, why_len, "out of memory");
  call_extras x;
  int rc = gh_runner_extras_make(r, s, &x, why, why_len);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (clock_to(r, base + times[i], why, why_len) != 0) {
      rc = -1;
      break;
    }
    long got[GH_MAX_NODES];
    int who[GH_MAX_NODES], ok = 1;
    for (int k = 0; k < r->nodes && rc == 0; k++) {
      who[k] = balancer_next(r);
      if (use_node(r, who[k], why, why_len) != 0) {
        rc = -1;
        break;
      }
      call_result c;
      gh_runner_call(r, s, api, &x, &c);
      c.node = who[k];
      got[k] = c.status;
      ok &= flap_allows(f, times[i], c.status);
      gh_runner_event_call(r, s, index, &c, flap_allows(f, times[i], c.status));
      gh_runner_call_free(&c);
    }
    if (rc != 0 || use_node(r, 1, why, why_len) != 0) {
      rc = -1;
      break;
    }
    int inside = times[i] >= f->from_ms && times[i] < f->until_ms;
    for (size_t b = 0; ok && inside && b < f->between_count; b++) { /* each one seen */
      int seen = 0;
      for (int k = 0; k < r->nodes; k++)
        seen |= got[k] == f->between[b];
      ok = seen;
    }
    if (ok)
      continue;
    char label[256], want[128], answers[512] = "";
    gh_runner_step_label(s, index, label, sizeof(label));
    if (times[i] < f->from_ms || !inside)
      snprintf(want, sizeof(want), "every answer %ld (steady %s the window)",
               times[i] < f->from_ms ? f->before : f->after,
               times[i] < f->from_ms ? "before" : "after");
    else {
      char list[96];
      status_list(f->between, f->between_count, list, sizeof(list));
      snprintf(want, sizeof(want), "the answers to flap between %s", list);
    }
    size_t used = 0;
    for (int k = 0; k < r->nodes && used < sizeof(answers); k++)
      used += (size_t)snprintf(answers + used, sizeof(answers) - used, "%snode %d: %ld",
                               k ? ", " : "", who[k], got[k]);
    gh_runner_set_outcome(r, GH_FAIL, NULL,
                          "%s %s %s: at %.3f s after node 1 started, through the balancer, "
                          "expected %s; got %s",
                          label, s->api, s->path, (double)times[i] / 1e3, want, answers);
    rc = 1;
  }
  gh_runner_extras_free(&x);
  free(times);
  return rc;
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
  } else if (s->kind == GH_STEP_REDEPLOY_API) {
    if (!d->ops->redeploy_api)
      return gu_fail(why, why_len, "the %s driver cannot redeploy an API", d->ops->name),
             GH_DRIVER_UNSUPPORTED;
    rc = d->ops->redeploy_api(d, s->api, &res, why, why_len);
  } else if (s->kind == GH_STEP_UPLOAD_CLIENT_CERT) {
    if (!d->ops->upload_client_cert)
      return gu_fail(why, why_len, "the %s driver cannot upload client certificates", d->ops->name),
             GH_DRIVER_UNSUPPORTED;
    gcert_buf bytes = {0};
    if (gh_pki_encode(&r->pki, s->cert, s->format ? s->format : "pem", &bytes, why, why_len) != 0)
      return -1;
    rc = d->ops->upload_client_cert(d, s->api, s->alias, s->tier ? s->tier : "Unlimited",
                                    bytes.data, bytes.len, &res, why, why_len);
    gcert_buf_free(&bytes);
  } else if (s->kind == GH_STEP_DELETE_CLIENT_CERT) {
    if (!d->ops->delete_client_cert)
      return gu_fail(why, why_len, "the %s driver cannot delete client certificates", d->ops->name),
             GH_DRIVER_UNSUPPORTED;
    rc = d->ops->delete_client_cert(d, s->api, s->alias, &res, why, why_len);
  } else if (s->kind >= GH_STEP_SAP_STORE_CERT && s->kind <= GH_STEP_SAP_PROVIDER) {
    if (!d->ops->sap_object)
      return gu_fail(why, why_len, "the %s driver has no SAP objects", d->ops->name),
             GH_DRIVER_UNSUPPORTED;
    gcert_buf bytes = {0};
    char endpoint[512] = "";
    if (s->kind == GH_STEP_SAP_STORE_CERT &&
        gh_pki_encode(&r->pki, s->cert, s->format ? s->format : "pem", &bytes, why, why_len) != 0)
      return -1;
    if (s->kind == GH_STEP_SAP_PROVIDER)
      backend_url(r, s->backend, NULL, endpoint, sizeof(endpoint));
    gh_sap_object o = {
        .kind = (gh_sap_kind)(s->kind - GH_STEP_SAP_STORE_CERT + GH_SAP_STORE_CERT),
        .name = s->sap_name,
        .store = s->store,
        .data = bytes.data,
        .len = bytes.len,
        .endpoint = endpoint,
        .trust_store = s->trust_store,
        .key_store = s->key_store,
        .password = s->format && strcmp(s->format, "pkcs12") == 0 ? GH_PKI_STORE_PASSWORD : NULL};
    rc = d->ops->sap_object(d, &o, &res, why, why_len);
    gcert_buf_free(&bytes);
  } else if (s->kind == GH_STEP_SUBSCRIBE) {
    if (!d->ops->subscribe)
      return gu_fail(why, why_len, "the %s driver cannot subscribe applications", d->ops->name),
             GH_DRIVER_UNSUPPORTED;
    rc = d->ops->subscribe(d, s->application, s->api, s->tier ? s->tier : "Unlimited",
                           GH_KEY_MANAGER_NAME, &res, why, why_len);
  }
  if (rc != 0) {
    gh_admin_result_free(&res);
    return rc == GH_DRIVER_UNSUPPORTED ? rc : -1;
  }
  int failed = gh_runner_check_admin(r, s, index, &res);
  if (!failed && !gh_runner_admin_default_ok(s, r->profile, &res)) {
    char label[256];
    gh_runner_step_label(s, index, label, sizeof(label));
    gh_runner_set_outcome(r, GH_FAIL, res.body,
                          "%s: got status %ld (no expectation written: 2xx expected)", label,
                          res.status);
    failed = 1;
  }
  gh_admin_result_free(&res);
  return failed;
}

static int step_on_node(case_run *r, const gh_step *s, size_t index, char *why, size_t why_len);

/* Runs one step: 0 go on, 1 the case failed (outcome set), -1 harness error (why). */
static int run_step(case_run *r, const gh_step *s, size_t index, char *why, size_t why_len) {
  if (s->kind == GH_STEP_CALL)
    return do_call(r, s, index, why, why_len);
  if (s->kind == GH_STEP_SWEEP)
    return do_sweep(r, s, index, why, why_len);
  /* the rest go to their node (node 1 unless they say), then back to node 1 */
  if (use_node(r, s->node > 0 ? s->node : 1, why, why_len) != 0)
    return -1;
  int rc = on_node(r, step_on_node(r, s, index, why, why_len), why, why_len);
  return rc < 0 || use_node(r, 1, why, why_len) == 0 ? rc : -1;
}

/* A step other than a call or a sweep, on the node the driver addresses. */
static int step_on_node(case_run *r, const gh_step *s, size_t index, char *why, size_t why_len) {
  gh_driver *d = r->driver;
  switch (s->kind) {
  case GH_STEP_ADVANCE:
    return clock_to(r, r->fake_now + s->duration_ms, why, why_len);
  case GH_STEP_ADVANCE_TO: {
    int64_t base = d->ops->start_ms(d);
    return clock_to(r, (base > 0 ? base : r->epoch_ms) + s->duration_ms, why, why_len);
  }
  case GH_STEP_RELOAD:
    return d->ops->reload(d, why, why_len);
  case GH_STEP_RESTART_GATEWAY:
    if (d->ops->restart(d, why, why_len) != 0 ||
        clock_check(r, "after the restart", why, why_len) != 0)
      return -1;
    if (r->spec->gateway.nodes > 0) /* its clocks start again from now */
      gh_runner_timeline_start(r);
    return 0;
  default:
    return do_admin(r, s, index, why, why_len);
  }
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

/* The clock file lives in a directory of its own that anyone may read
 * (mkdtemp under /tmp, 0755; the file is written 0644): a gateway run as root
 * whose workers drop privileges (Apache, nginx) must read it through every
 * directory of its path, and the case's work directory is 0700. <dir>/clock
 * links to it; it is removed with the case (remove_clock). */
static int public_clock(case_run *r, char *why, size_t why_len) {
  char dir[] = "/tmp/gatecert-clock-XXXXXX", link[PATH_LEN];
  if (!mkdtemp(dir) || chmod(dir, 0755) != 0)
    return gu_fail(why, why_len, "cannot make the clock's directory %s: %s", dir, strerror(errno));
  snprintf(r->clock_dir, sizeof(r->clock_dir), "%s", dir);
  if (gh_runner_pathf(r->clock, sizeof(r->clock), "%s/clock", dir) != 0 ||
      gh_runner_pathf(link, sizeof(link), "%s/clock", r->dir) != 0 || symlink(r->clock, link) != 0)
    return gu_fail(why, why_len, "cannot link %s/clock: %s", r->dir, strerror(errno));
  return 0;
}

static void remove_clock(case_run *r) {
  if (r->clock_dir[0])
    remove_tree(r->clock_dir);
  r->clock_dir[0] = '\0';
}

static void run_case_body(case_run *r) {
  char why[1024] = "";
  gh_case_spec shifted = *r->spec; /* a driver without a fake clock: the epoch is now */
  if (!(r->driver->ops->caps & GH_CAP_FAKE_CLOCK))
    shifted.epoch_s = (int64_t)time(NULL);
  const gh_case_spec *c = &shifted;
  r->epoch_ms = c->epoch_s * 1000;
  r->fake_now = r->epoch_ms;
  if (public_clock(r, why, sizeof(why)) != 0) {
    gh_runner_set_outcome(r, GH_ERROR, NULL, "setting up: %s", why);
    return;
  }
  gh_runner_pathf(r->reports, sizeof(r->reports), "%s/backends", r->dir);
  gh_gateway_config cfg;
  char paths[2 * GH_MAX_PROFILES + GH_MAX_LB + 6][PATH_LEN];
  int drc = 0; /* the driver's answer: GH_DRIVER_UNSUPPORTED skips the case */
  if (gh_runner_make_dirs(r->reports) != 0 ||
      gh_faketime_freeze_ms(r->clock, r->epoch_ms, why, sizeof(why)) ||
      gh_pki_make(c, r->dir, &r->pki, why, sizeof(why)) != 0 ||
      start_backends(r, why, sizeof(why)) != 0 ||
      gateway_config(r, &cfg, paths, why, sizeof(why)) != 0 ||
      client_side_config(r, &cfg, why, sizeof(why)) != 0 ||
      (drc = r->driver->ops->start(r->driver, &cfg, why, sizeof(why))) != 0 ||
      (drc = register_key_manager(r, why, sizeof(why))) != 0) {
    if (drc == GH_DRIVER_UNSUPPORTED)
      gh_runner_set_outcome(r, GH_SKIP, NULL, "%s", why);
    else
      gh_runner_set_outcome(r, GH_ERROR, NULL, "setting up: %s", why[0] ? why : strerror(errno));
    return;
  }
  r->started_nodes = 1;
  int64_t start = r->driver->ops->start_ms(r->driver);
  if (start > r->fake_now)
    r->fake_now = start;
  if (on_node(r, clock_check(r, "after start", why, sizeof(why)), why, sizeof(why)) != 0) {
    gh_runner_set_outcome(r, GH_ERROR, NULL, "setting up: %s", why);
    return;
  }
  gh_runner_timeline_start(r);
  for (size_t i = 0; i < c->api_count; i++) {
    if (!c->apis[i].create)
      continue;
    gh_admin_result res = {0};
    if ((drc = create_api(r, &c->apis[i], &res, why, sizeof(why))) == GH_DRIVER_UNSUPPORTED)
      gh_runner_set_outcome(r, GH_SKIP, NULL, "%s", why);
    else if (drc != 0 || res.status != 201)
      gh_runner_set_outcome(r, GH_ERROR, res.body, "creating API %s: %s", c->apis[i].name,
                            why[0] ? why : "not created");
    if (r->outcome != GH_PASS) {
      gh_admin_result_free(&res);
      return;
    }
    gh_admin_result_free(&res);
  }
  if ((drc = start_nodes(r, why, sizeof(why))) != 0) { /* the APIs are in the store by now */
    if (drc == GH_DRIVER_UNSUPPORTED)
      gh_runner_set_outcome(r, GH_SKIP, NULL, "%s", why);
    else
      gh_runner_set_outcome(r, GH_ERROR, NULL, "setting up the cluster: %s", why);
    return;
  }
  char transcript[PATH_LEN];
  if (gh_runner_pathf(transcript, sizeof(transcript), "%s/transcript.log", r->dir) == 0)
    r->transcript = fopen(transcript, "we");
  for (size_t i = 0; i < c->step_count && r->outcome == GH_PASS; i++) {
    if (gh_runner_interrupted) {
      gh_runner_set_outcome(r, GH_ERROR, NULL, "interrupted before step %zu", i + 1);
      break;
    }
    double t0 = gh_runner_now_ms();
    int rc = run_step(r, &c->steps[i], i, why, sizeof(why));
    char label[256];
    gh_runner_step_label(&c->steps[i], i, label, sizeof(label));
    if (rc == GH_DRIVER_UNSUPPORTED)
      gh_runner_set_outcome(r, GH_SKIP, NULL, "%s", why);
    else if (rc < 0)
      gh_runner_set_outcome(r, GH_ERROR, NULL, "%s: %s", label, why);
    transcribe(r, label, rc == 0 ? "ok" : r->message, gh_runner_now_ms() - t0);
    gh_runner_event_step(r, &c->steps[i], i, rc);
  }
  if (r->transcript)
    fclose(r->transcript);
  r->transcript = NULL;
}

/* What the driver can do: its capabilities, cluster only with the operations
 * it needs (an exec program may list the name; its protocol has no node verbs). */
static unsigned driver_caps(const gh_driver *driver) {
  unsigned caps = driver->ops->caps;
  if (!driver->ops->start_node || !driver->ops->use_node)
    caps &= ~GH_CAP_CLUSTER;
  return caps;
}

void gh_runner_execute_case(const options *opt, const gh_case_spec *c, const char *profile,
                            gh_driver *driver, case_outcome *out) {
  case_run r;
  memset(&r, 0, sizeof(r));
  r.opt = opt;
  r.spec = c;
  r.profile = profile;
  r.driver = driver;
  r.nodes = gh_case_nodes(c);
  r.node = 1;
  double t0 = gh_runner_now_ms();
  const gh_cap_na *na = gh_product_not_applicable_for(
      gh_runner_needed_caps(c, profile) & ~driver_caps(driver), profile);
  const char *missing = na ? NULL : gh_runner_missing_cap(c, profile, driver_caps(driver));
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
    if (gh_runner_pathf(r.dir, sizeof(r.dir), "%s/%s.%s", opt->work, profile, safe) != 0 ||
        (remove_tree(r.dir), gh_runner_make_dirs(r.dir)) != 0)
      gh_runner_set_outcome(&r, GH_ERROR, NULL, "cannot create the work directory of %s", c->name);
    else
      run_case_body(&r);
    gh_runner_named_free(&r);
    if (driver->ops->apply_stats)
      driver->ops->apply_stats(driver, &out->applies, &out->apply_ms);
    char why_node[256];
    use_node(&r, 1, why_node, sizeof(why_node)); /* the reports read node 1's start */
    out->log_tail = log_tail(&r, LOG_TAIL);
    gh_runner_timeline_finish(&r, out->log_tail, out);
    char why[512];
    if (driver->ops->stop(driver, why, sizeof(why)) != 0)
      gh_runner_set_outcome(&r, GH_ERROR, NULL, "stopping the gateway: %s", why);
    if (r.backends_running && gh_proc_stop(&r.backends, SIGTERM, 3000, why, sizeof(why)) != 0)
      gh_runner_set_outcome(&r, GH_ERROR, NULL, "stopping the backends: %s", why);
    gh_pki_free(&r.pki);
    remove_clock(&r);
    if (r.outcome == GH_PASS && !opt->keep && r.dir[0])
      remove_tree(r.dir);
  }
  out->outcome = r.outcome;
  snprintf(out->message, sizeof(out->message), "%s", r.message);
  snprintf(out->detail, sizeof(out->detail), "%s", r.detail);
  out->seconds = (gh_runner_now_ms() - t0) / 1e3;
  out->fake_ms = r.fake_now > r.epoch_ms ? r.fake_now - r.epoch_ms : 0;
}
