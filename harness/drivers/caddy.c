/* caddy.c - the `caddy` driver's runtime: a real Caddy 2.6 per case, the
 * desired state applied through Caddy's admin API.
 *
 * The driver is the shared layer of real.h (the state, the admin operations,
 * the programs, the control poll) with this file's ops table: caddy_conf.c
 * renders a generation as Caddy's JSON configuration, and this file starts
 * Caddy, loads each generation and stops it.
 *
 * Every case gets its own Caddy, `caddy run --config <dir>/caddy.json
 * --adapter ""`, run as the current user with every file under
 * <work_dir>/caddy/: the configuration live on it (caddy.json), its stderr
 * (Caddy's JSON log, the log the runner tails), the gateway's self-signed TLS
 * identity (front_lb.h, key 0600), and HOME, XDG_DATA_HOME and
 * XDG_CONFIG_HOME pointing inside it (Caddy's storage and autosave never
 * touch the user's). Three loopback ports are probed free: the data plane,
 * the control server (/generation) and Caddy's admin endpoint (admin.listen
 * in the configuration).
 *
 * An apply renders generation N+1 and POSTs it to the admin API's /load
 * (libcurl): Caddy provisions the new configuration and swaps it in, or
 * answers 400 with {"error": ...} and keeps the old one running - the
 * driver's "config test failed" (the admin operation answers 400 with
 * Caddy's error). After a 200 the control server is polled (gh_real_await)
 * until it answers N+1; only then is caddy.json rewritten, so a restart
 * starts from what was live.
 *
 * Caddy is a Go program: it reads the clock with the vDSO, never through
 * libc, so libfaketime does not reach it. The driver runs it on the real
 * clock and declares no GH_CAP_FAKE_CLOCK: a case that needs the gateway to
 * follow the fake clock is skipped with that capability named. OAuth2 APIs
 * are decided by gatecert-introspect (tokens.h) through a forward-auth
 * reverse_proxy; the load balancer in front is the shared nginx one
 * (front_lb.h), so lb-in-front needs nginx installed too.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "caddy.h"
#include "gcert.h"
#include "gutil.h"

#define CD_STOP_MS       5000
#define CD_START_TRIES   5
#define CD_LOAD_MS       15000
#define CD_LOG_TAIL_PART 65536

/* ---- the admin API ------------------------------------------------------------------------ */

/* Caddy's load errors nest ("loading config: ...: provision ...: parsing CA
 * certificate: x509: malformed certificate"): the cause is at the end, so a
 * long one keeps its start and its last 280 bytes. */
static void refusal_text(const char *err, char *out, size_t out_len) {
  size_t len = strlen(err);
  if (len <= 400)
    snprintf(out, out_len, "%s", err);
  else
    snprintf(out, out_len, "%.100s ... %s", err, err + len - 280);
}

/* POST /load: 0 loaded, 1 refused (Caddy's error in refusal), -1 broken. */
static int admin_load(const caddy_driver *c, const char *config, char *refusal, size_t refusal_len,
                      char *why, size_t why_len) {
  CURL *h = curl_easy_init();
  if (!h)
    return gu_fail(why, why_len, "curl_easy_init failed");
  char url[96];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/load", c->admin_port);
  struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
  gu_text body = {.limit = 1 << 20};
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, config);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(config));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)CD_LOAD_MS);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, gu_text_curl_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  CURLcode cc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
  int rc;
  if (cc != CURLE_OK)
    rc = gu_fail(why, why_len, "POST %s: %s", url, curl_easy_strerror(cc));
  else if (status == 200)
    rc = 0;
  else {
    json_t *j = body.data ? json_loads(body.data, 0, NULL) : NULL;
    const char *err = json_string_value(json_object_get(j, "error"));
    if (status == 400) {
      refusal_text(err ? err : body.data ? body.data : "(no body)", refusal, refusal_len);
      rc = 1;
    } else
      rc = gu_fail(why, why_len, "POST %s answered %ld: %.300s", url, status,
                   err         ? err
                   : body.data ? body.data
                               : "");
    json_decref(j);
  }
  gu_text_free(&body);
  return rc;
}

/* The product's own word that it gave up: Caddy exits when its first
 * configuration cannot start; "address already in use" says why. */
static const char *start_failed(void *ctx) {
  const caddy_driver *c = ctx;
  return gh_real_log_says(c->log_path, "address already in use") ? "address already in use" : NULL;
}

/* Polls the control server until it answers generation gen. */
static int confirm(caddy_driver *c, long gen, char *why, size_t why_len) {
  char want[32];
  snprintf(want, sizeof(want), "%ld", gen);
  gh_real_await_spec spec = {.product = "caddy",
                             .proc = &c->proc,
                             .port = c->control_port,
                             .path = "/generation",
                             .want = want,
                             .gave_up = start_failed,
                             .ctx = c,
                             .log_path = c->log_path,
                             .log_from = gh_real_file_size(c->log_path) - 1200};
  return gh_real_await(&spec, why, why_len);
}

/* The configuration of generation gen as JSON text (malloc'd), or NULL. */
static char *render_text(const caddy_driver *c, long gen, char *why, size_t why_len) {
  json_t *conf = gh_caddy_render(c, gen, why, why_len);
  if (!conf)
    return NULL;
  char *text = json_dumps(conf, JSON_INDENT(1));
  json_decref(conf);
  if (!text)
    gu_fail(why, why_len, "out of memory");
  return text;
}

static int save_config(const caddy_driver *c, const char *text, char *why, size_t why_len) {
  return gh_real_save(c->config_path, text, strlen(text), 0, why, why_len);
}

/* gh_real_ops.apply: renders generation+1, loads it through the admin API
 * and confirms it answers. A refused load keeps what ran (Caddy's promise),
 * and caddy.json keeps saying so. */
static int cd_apply(gh_real *g, int force, char *refusal, size_t refusal_len, char *why,
                    size_t why_len) {
  caddy_driver *c = (caddy_driver *)g;
  (void)force; /* every load is a new generation: never a no-op */
  double t0 = gu_now_ms();
  long gen = g->generation + 1;
  if (!c->running || !gh_proc_alive(&c->proc))
    return gu_fail(why, why_len, "caddy is not running (it ended before this apply)");
  char *text = render_text(c, gen, why, why_len);
  int rc = text ? admin_load(c, text, refusal, refusal_len, why, why_len) : -1;
  if (rc == 0)
    rc = confirm(c, gen, why, why_len);
  if (rc == 0) {
    g->generation = gen;
    rc = save_config(c, text, why, why_len);
  }
  free(text);
  gh_real_count_apply(g, t0);
  return rc;
}

/* Caddy's limits on an API: a context and version it can match as a path. */
static int cd_check_api(gh_real *g, const gh_real_api *a, gh_admin_result *r) {
  (void)g;
  if (a->context[0] != '/' || strpbrk(a->context, " \t{}*") || strpbrk(a->version, " \t/{}*") ||
      strpbrk(a->u.host, "{}"))
    return gh_admin_error(r, 400, "Bad Request", "context, version or endpoint URL unusable"), 1;
  return 0;
}

/* An upload that is not certificates is rendered as its bytes and refused by
 * Caddy's load. */
static const gh_real_ops cd_real_ops = {
    .product = "caddy",
    .keep_keys = 1,
    .check_api = cd_check_api,
    .apply = cd_apply,
};

/* ---- the process -------------------------------------------------------------------------- */

static int launch(caddy_driver *c, char *why, size_t why_len) {
  char home[GH_REAL_PATH + 64], data[GH_REAL_PATH + 64], config[GH_REAL_PATH + 64];
  snprintf(home, sizeof(home), "HOME=%s/home", c->dir);
  snprintf(data, sizeof(data), "XDG_DATA_HOME=%s/data", c->dir);
  snprintf(config, sizeof(config), "XDG_CONFIG_HOME=%s/config", c->dir);
  const char *env[] = {home, data, config, NULL};
  const char *args[] = {"run", "--config", c->config_path, "--adapter", "", NULL};
  gh_proc_spec spec = {
      .bin = c->real.bin, .args = args, .stderr_path = c->log_path, .env = env, .no_ready = 1};
  if (gh_proc_start(&c->proc, &spec, why, why_len) != 0)
    return -1;
  c->running = 1;
  return 0;
}

static int stop_caddy(caddy_driver *c, char *why, size_t why_len) {
  if (!c->running)
    return 0;
  c->running = 0;
  return gh_proc_stop(&c->proc, SIGTERM, CD_STOP_MS, why, why_len);
}

/* Starts Caddy from caddy.json and waits for its generation; 1 when a port
 * was taken meanwhile (new ports wanted). */
static int start_caddy(caddy_driver *c, char *why, size_t why_len) {
  if (launch(c, why, why_len) != 0)
    return -1;
  if (confirm(c, c->real.generation, why, why_len) == 0)
    return 0;
  char ignored[256];
  stop_caddy(c, ignored, sizeof(ignored));
  return gh_real_log_says(c->log_path, "address already in use") ? 1 : -1;
}

static int probe_ports(caddy_driver *c, char *why, size_t why_len) {
  if (gh_real_probe_ports(&c->port, &c->control_port, why, why_len) != 0)
    return -1;
  for (int i = 0; i < 10; i++) {
    c->admin_port = gu_free_port(why, why_len);
    if (c->admin_port < 0)
      return -1;
    if (c->admin_port != c->port && c->admin_port != c->control_port)
      return 0;
  }
  return gu_fail(why, why_len, "no third free port");
}

/* Renders the current generation with fresh ports and starts Caddy on it. */
static int start_gateway(caddy_driver *c, char *why, size_t why_len) {
  for (int attempt = 0; attempt < CD_START_TRIES; attempt++) {
    if (probe_ports(c, why, why_len) != 0)
      return -1;
    char *text = render_text(c, c->real.generation, why, why_len);
    int rc = text ? save_config(c, text, why, why_len) : -1;
    free(text);
    if (rc == 0)
      rc = start_caddy(c, why, why_len);
    if (rc <= 0)
      return rc;
  }
  return gu_fail(why, why_len, "caddy found its ports taken %d times", CD_START_TRIES);
}

static int setup_dirs(caddy_driver *c, char *why, size_t why_len) {
  if ((size_t)snprintf(c->dir, sizeof(c->dir), "%s/caddy", c->real.cfg.work_dir) >=
      sizeof(c->dir) - 64)
    return gu_fail(why, why_len, "work directory path too long");
  snprintf(c->config_path, sizeof(c->config_path), "%s/caddy.json", c->dir);
  snprintf(c->log_path, sizeof(c->log_path), "%s/caddy.log", c->dir);
  static const char *const subs[] = {"home", "data", "config", "storage"};
  if (gh_real_mkdir(c->dir, why, why_len) != 0)
    return -1;
  for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
    char sub[GH_REAL_PATH + 16];
    snprintf(sub, sizeof(sub), "%s/%s", c->dir, subs[i]);
    if (gh_real_mkdir(sub, why, why_len) != 0)
      return -1;
  }
  return 0;
}

/* base64 DER of the first certificate of a PEM buffer (malloc'd), or NULL. */
static char *pem_to_b64(const gcert_buf *pem) {
  BIO *bio = BIO_new_mem_buf(pem->data, (int)pem->len);
  X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
  unsigned char *der = NULL;
  int len = cert ? i2d_X509(cert, &der) : -1;
  char *out = len > 0 ? malloc(4 * (((size_t)len + 2) / 3) + 1) : NULL;
  if (out)
    EVP_EncodeBlock((unsigned char *)out, der, len);
  OPENSSL_free(der);
  X509_free(cert);
  BIO_free(bio);
  return out;
}

static int make_identities(caddy_driver *c, char *why, size_t why_len) {
  gcert_buf cert = {0}, key = {0}, ca = {0};
  snprintf(c->server_cert, sizeof(c->server_cert), "%s/gateway.crt", c->dir);
  snprintf(c->server_key, sizeof(c->server_key), "%s/gateway.key", c->dir);
  int rc = gh_self_signed_identity(GCERT_KIND_SERVER, "CN=gatecert caddy gateway", &cert, &key, why,
                                   why_len);
  if (rc == 0)
    rc = gh_real_save(c->server_cert, cert.data, cert.len, 0, why, why_len);
  if (rc == 0)
    rc = gh_real_save(c->server_key, key.data, key.len, 1, why, why_len);
  if (rc == 0 && !c->placeholder_ca_b64) {
    rc = gh_self_signed_identity(GCERT_KIND_CA, "CN=gatecert placeholder CA (signs nothing)", &ca,
                                 NULL, why, why_len);
    if (rc == 0 && !(c->placeholder_ca_b64 = pem_to_b64(&ca)))
      rc = gu_fail(why, why_len, "out of memory");
  }
  gcert_buf_free(&cert);
  gcert_buf_cleanse_free(&key);
  gcert_buf_free(&ca);
  return rc;
}

/* The load balancer in front (front_lb.h, an nginx): the gateway's identity
 * toward clients, the base trust for them, the gateway's certificate trusted. */
static int start_lb(caddy_driver *c, char *why, size_t why_len) {
  char dir[GH_REAL_PATH];
  if (!c->nginx[0])
    return gu_fail(why, why_len, "the load balancer in front is nginx, which was not found");
  if ((size_t)snprintf(dir, sizeof(dir), "%s/nginx-lb", c->real.cfg.work_dir) >= sizeof(dir))
    return gu_fail(why, why_len, "work directory path too long");
  gh_front_lb_spec spec = {.nginx = c->nginx,
                           .dir = dir,
                           .clock_file = c->real.cfg.clock_file,
                           .faketime_lib = c->real.cfg.faketime_lib,
                           .user_line = c->user_line,
                           .server_cert = c->server_cert,
                           .server_key = c->server_key,
                           .client_trust_pem = c->real.cfg.base_trust_pem,
                           .gateway_port = c->port,
                           .gateway_trust_pem = c->server_cert,
                           .identity_pem = c->real.cfg.front_lb_key_pem,
                           .header = gh_caddy_cert_header(c)};
  c->lb = gh_front_lb_start(&spec, why, why_len);
  return c->lb ? 0 : -1;
}

/* ---- operations ----------------------------------------------------------------------------- */

static int cd_start(gh_driver *d, const gh_gateway_config *cfg, char *why, size_t why_len) {
  caddy_driver *c = d->impl;
  gh_real_reset(&c->real, cfg);
  char ignored[256];
  gh_front_lb_stop(c->lb, ignored, sizeof(ignored)); /* none unless a stop was missed */
  c->lb = NULL;
  memset(&c->proc, 0, sizeof(c->proc));
  c->running = 0;
  if (setup_dirs(c, why, why_len) != 0 || make_identities(c, why, why_len) != 0)
    return -1;
  double t0 = gu_now_ms();
  if (start_gateway(c, why, why_len) != 0)
    return -1;
  gh_real_count_apply(&c->real, t0);
  return cfg->front_lb_key_pem ? start_lb(c, why, why_len) : 0;
}

static int cd_stop(gh_driver *d, char *why, size_t why_len) {
  caddy_driver *c = d->impl;
  char lb_why[256] = "", ti_why[256] = "";
  int lb = gh_front_lb_stop(c->lb, lb_why, sizeof(lb_why));
  c->lb = NULL;
  int gw = stop_caddy(c, why, why_len);
  int ti = gh_tokens_stop(c->real.tokens, ti_why, sizeof(ti_why));
  if (gw == 0 && lb != 0)
    return gu_fail(why, why_len, "the load balancer: %s", lb_why);
  if (gw == 0 && ti != 0)
    return gu_fail(why, why_len, "gatecert-introspect: %s", ti_why);
  return gw;
}

/* Stops Caddy and starts it again from caddy.json (what was live): the same
 * ports, the same generation, the same uploads. The introspector too; when
 * its port moved, the configuration is loaded again. */
static int cd_restart(gh_driver *d, char *why, size_t why_len) {
  caddy_driver *c = d->impl;
  if (stop_caddy(c, why, why_len) != 0)
    return -1;
  int moved = gh_tokens_restart(c->real.tokens, why, why_len);
  if (moved < 0 || start_caddy(c, why, why_len) != 0)
    return -1;
  return moved ? gh_real_reload(d, why, why_len) : 0;
}

static int cd_https_port(gh_driver *d) { return ((caddy_driver *)d->impl)->port; }

static int cd_front_port(gh_driver *d) { return gh_front_lb_port(((caddy_driver *)d->impl)->lb); }

/* Caddy's log tail, then the load balancer's and the introspector's. */
static char *cd_log_tail(gh_driver *d, size_t max) {
  caddy_driver *c = d->impl;
  if (!c->log_path[0])
    return NULL;
  char *out = gh_driver_file_tail(c->log_path, max);
  size_t part = max / 4 < CD_LOG_TAIL_PART ? max / 4 : CD_LOG_TAIL_PART;
  if (c->lb)
    out = gh_real_tail_join(out, gh_front_lb_log_tail(c->lb, part), "load balancer", max);
  if (gh_tokens_log_path(c->real.tokens))
    out = gh_real_tail_join(out, gh_driver_file_tail(gh_tokens_log_path(c->real.tokens), part),
                            "gatecert-introspect", max);
  return out;
}

static void cd_free(void *impl) {
  caddy_driver *c = impl;
  gh_real_free(&c->real);
  free(c->placeholder_ca_b64);
  free(c);
}

static void cd_destroy(gh_driver *d) { gh_driver_destroy_with(d, cd_free); }

/* Caddy's answers to the rejection classes: Go's TLS server fails the
 * handshake on a client certificate it cannot verify; reverse_proxy answers
 * 502 when the backend handshake fails. */
static const gh_reject_answer caddy_rejects[GH_REJECT_COUNT] = {
    [GH_REJECT_CLIENT_CERT] = {.tls_alert = 1},
    [GH_REJECT_UNAUTHENTICATED] = {.status = {401}},
    [GH_REJECT_BACKEND_TLS] = {.status = {502}},
};

/* Everything the shared layer gives but the fake clock: Caddy (Go) reads the
 * real one. */
static const gh_driver_ops caddy_ops = {
    .name = "caddy",
    .caps = GH_REAL_CAPS & ~GH_CAP_FAKE_CLOCK,
    .start = cd_start,
    .stop = cd_stop,
    .restart = cd_restart,
    .https_port = cd_https_port,
    .front_port = cd_front_port,
    .rejects = caddy_rejects,
    .front_rejects = gh_front_lb_rejects,
    .log_tail = cd_log_tail,
    .destroy = cd_destroy,
    GH_REAL_ADMIN_OPS,
};

/* ---- finding and asking Caddy --------------------------------------------------------------- */

gh_driver *gh_driver_caddy_new(const char *bin, gh_real_info *info, char *why, size_t why_len) {
  gh_driver *d = calloc(1, sizeof(*d));
  caddy_driver *c = calloc(1, sizeof(*c));
  if (!d || !c)
    gu_fail(why, why_len, "out of memory");
  else if (gh_real_init(&c->real, &cd_real_ops, bin, "caddy", "/usr/bin/caddy", why, why_len) ==
           0) {
    const char *args[] = {"version", NULL}; /* "2.6.2" (Debian), "v2.6.2 h1:..." upstream */
    gu_text out = {0};
    int status = 0;
    int rc = gh_real_run(c->real.bin, args, GH_REAL_RUN_MS, &out, &status, why, why_len);
    const char *text = out.data && !out.failed ? out.data : "";
    int ok = rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && text[0];
    if (rc == 0 && !ok)
      rc = gu_fail(why, why_len, "%s version failed: %.200s", c->real.bin, text);
    if (ok && info)
      snprintf(info->version, sizeof(info->version), "caddy %.*s", (int)strcspn(text, " \n"), text);
    gu_text_free(&out);
    if (rc == 0) {
      if (gh_nginx_find(NULL, c->nginx, sizeof(c->nginx)) != 0)
        c->nginx[0] = '\0'; /* only the load balancer in front needs it */
      gh_nginx_user_line(c->user_line, sizeof(c->user_line));
      d->ops = &caddy_ops;
      d->impl = c;
      return d;
    }
  }
  if (c)
    gh_real_free(&c->real);
  free(d);
  free(c);
  return NULL;
}
