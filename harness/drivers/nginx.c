/* nginx.c - the `nginx` driver's runtime: a real nginx 1.22 per case, the
 * desired state applied to it as a whole.
 *
 * The driver is the shared layer of real.h (the state, the admin operations,
 * the programs, the control poll) with this file's ops table: nginx_conf.c
 * renders a generation, and this file starts, reloads, confirms and stops
 * nginx.
 *
 * Every case gets its own nginx, run as the current user under the case's
 * fake clock (libfaketime through the supervisor), with every file under
 * <work_dir>/nginx/: nginx.conf (daemon off, its own pid file, error log and
 * temp paths), the gateway's self-signed TLS identity (front_lb.h, key 0600)
 * and one directory per configuration generation (gen-N/) holding the trust
 * bundles that generation points at.
 *
 * An apply renders generation N+1 into gen-N+1/ and nginx.conf (written
 * atomically), validates it with `nginx -t` (a separate process with the
 * same -p/-c/-e), SIGHUPs the master it started, then polls the plain-HTTP
 * control server (`location = /generation`, a fresh connection every 20 ms,
 * 5 s cap: gh_real_await) until it answers N+1 and the previous generation's
 * workers (which accept connections until the master's shutdown signal
 * reaches them) have exited or logged that they are shutting down. nginx -t
 * refusing the configuration restores the previous nginx.conf and the admin
 * operation answers 400 with nginx's first error line; a reload nginx never
 * takes (README.md finding 4: failed reloads are quiet) is a harness error
 * with the error log's tail. Each admin operation applies at once: nginx has
 * no deferred schedule.
 *
 * OAuth2 APIs are decided by gatecert-introspect (tokens.h), which starts
 * with the first API, key manager or subscription that needs it, under the
 * case's clock, and is stopped and restarted with the gateway.
 *
 * An optional load balancer in front (GH_CAP_LB_IN_FRONT) is the shared one
 * of front_lb.h (the sim driver runs the same): a second nginx in
 * <work_dir>/nginx-lb/ that verifies clients (optional) and forwards their
 * certificate as $ssl_client_escaped_cert, presenting its own identity to the
 * gateway.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gutil.h"
#include "gcert.h"
#include "nginx.h"

#define NG_STOP_MS       3000
#define NG_START_TRIES   5
#define NG_LOG_TAIL_PART 65536
#define NG_MAX_WORKERS   16

/* What nginx's error lines start with, most severe first. */
static const char *const ng_error_markers[] = {"[emerg]", "[alert]", "[crit]", NULL};

/* ---- nginx processes ------------------------------------------------------------------------ */

static const char *const *nginx_args(const ng_instance *in, int test, const char **args) {
  size_t k = 0;
  args[k++] = "-p";
  args[k++] = in->dir;
  args[k++] = "-c";
  args[k++] = in->conf;
  args[k++] = "-e";
  args[k++] = in->error_log;
  if (test)
    args[k++] = "-t";
  args[k] = NULL;
  return args;
}

/* nginx -t on the instance's configuration: 0 valid, 1 refused (message in
 * refusal), -1 could not run. */
static int nginx_test(const nginx_driver *n, const ng_instance *in, char *refusal,
                      size_t refusal_len, char *why, size_t why_len) {
  const char *args[10];
  return gh_real_config_test(n->real.bin, nginx_args(in, 1, args), ng_error_markers, refusal,
                             refusal_len, why, why_len);
}

/* The pids of master's children (its workers), from /proc; how many. */
static size_t list_workers(pid_t master, pid_t *out, size_t max) {
  size_t count = 0;
  DIR *proc = opendir("/proc");
  if (!proc)
    return 0;
  for (struct dirent *e = readdir(proc); e && count < max; e = readdir(proc)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9')
      continue;
    char path[300], line[512];
    snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
    FILE *f = fopen(path, "re");
    if (!f)
      continue;
    size_t got = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[got] = '\0';
    const char *p = strrchr(line, ')'); /* "pid (comm) state ppid ..." */
    if (!p || p[1] != ' ' || !p[2] || p[2] == 'Z' || p[3] != ' ')
      continue;
    if (strtol(p + 4, NULL, 10) == (long)master)
      out[count++] = (pid_t)strtol(e->d_name, NULL, 10);
  }
  closedir(proc);
  return count;
}

/* The previous generation's workers, for gh_real_await's settled. */
typedef struct old_workers {
  const ng_instance *in;
  pid_t pids[NG_MAX_WORKERS];
  size_t count;
} old_workers;

/* 1 once none of the old workers accepts connections: each has ended, or
 * logged "gracefully shutting down" (the moment an nginx worker closes its
 * listening sockets on the master's signal). */
static int workers_settled(void *ctx) {
  const old_workers *old = ctx;
  pid_t now[NG_MAX_WORKERS];
  size_t n = list_workers(old->in->proc.pid, now, NG_MAX_WORKERS);
  char *tail = NULL;
  int accepting = 0;
  for (size_t i = 0; i < old->count && !accepting; i++)
    for (size_t j = 0; j < n && !accepting; j++) {
      if (old->pids[i] != now[j])
        continue;
      char line[96];
      snprintf(line, sizeof(line), "%ld#%ld: gracefully shutting down", (long)old->pids[i],
               (long)old->pids[i]);
      if (!tail)
        tail = gh_driver_file_tail(old->in->error_log, NG_LOG_TAIL_PART);
      accepting = !tail || !strstr(tail, line);
    }
  free(tail);
  return !accepting;
}

/* Polls the control server until it answers generation gen and old (NULL:
 * none) settled. 0, or -1 with the error log's tail. */
static int confirm(ng_instance *in, long gen, old_workers *old, char *why, size_t why_len) {
  char want[32];
  snprintf(want, sizeof(want), "%ld", gen);
  gh_real_await_spec spec = {.product = "nginx",
                             .proc = &in->proc,
                             .port = in->control_port,
                             .path = "/generation",
                             .want = want,
                             .settled = old && old->count ? workers_settled : NULL,
                             .ctx = old,
                             .log_path = in->error_log,
                             .log_from = gh_real_file_size(in->error_log) - 600};
  return gh_real_await(&spec, why, why_len);
}

static int launch(const nginx_driver *n, ng_instance *in, char *why, size_t why_len) {
  const char *args[10];
  char stderr_path[GH_REAL_PATH + 16];
  snprintf(stderr_path, sizeof(stderr_path), "%s/stderr.log", in->dir);
  gh_proc_spec spec = {.bin = n->real.bin,
                       .args = nginx_args(in, 0, args),
                       .stderr_path = stderr_path,
                       .faketime_file = n->real.cfg.clock_file,
                       .faketime_lib = n->real.cfg.faketime_lib,
                       .no_ready = 1};
  if (gh_proc_start(&in->proc, &spec, why, why_len) != 0)
    return -1;
  in->running = 1;
  return 0;
}

static int stop_instance(ng_instance *in, char *why, size_t why_len) {
  if (!in->running)
    return 0;
  in->running = 0;
  return gh_proc_stop(&in->proc, SIGTERM, NG_STOP_MS, why, why_len);
}

/* Writes text as the instance's nginx.conf, starts nginx and waits for the
 * control server to answer gen; on a port somebody else took meanwhile,
 * new ports are probed and text re-rendered by the caller (returns 1). */
static int start_instance(const nginx_driver *n, ng_instance *in, const gu_text *text, long gen,
                          char *why, size_t why_len) {
  char refusal[512];
  if (gh_real_save(in->conf, text->data, text->len, 0, why, why_len) != 0)
    return -1;
  int t = nginx_test(n, in, refusal, sizeof(refusal), why, why_len);
  if (t < 0)
    return -1;
  if (t > 0)
    return gu_fail(why, why_len, "nginx -t refused %s: %s", in->conf, refusal);
  if (launch(n, in, why, why_len) != 0)
    return -1;
  if (confirm(in, gen, NULL, why, why_len) == 0)
    return 0;
  char ignored[256];
  stop_instance(in, ignored, sizeof(ignored));
  return gh_real_log_says(in->error_log, "Address already in use") ? 1 : -1;
}

/* ---- applying the desired state ----------------------------------------------------------- */

/* SIGHUP to the gateway's master (ours, by pid), then waits until generation
 * gen answers and the previous workers stopped accepting. */
static int reload_gateway(nginx_driver *n, long gen, char *why, size_t why_len) {
  pid_t master = n->gw.proc.pid;
  if (!n->gw.running || master <= 0 || !gh_proc_alive(&n->gw.proc))
    return gu_fail(why, why_len, "nginx is not running (it ended before this apply)");
  old_workers old = {.in = &n->gw};
  old.count = list_workers(master, old.pids, NG_MAX_WORKERS);
  if (kill(master, SIGHUP) != 0)
    return gu_fail(why, why_len, "SIGHUP to nginx %ld: %s", (long)master, strerror(errno));
  return confirm(&n->gw, gen, &old, why, why_len);
}

/* gh_real_ops.apply: renders generation+1, validates it, reloads the gateway
 * and confirms the new generation is live (nginx has nothing lighter than a
 * reload: force changes nothing). On a refusal or an error the previous
 * nginx.conf is written back: the files say what is live. */
static int ng_apply(gh_real *g, int force, char *refusal, size_t refusal_len, char *why,
                    size_t why_len) {
  nginx_driver *n = (nginx_driver *)g;
  (void)force;
  double t0 = gu_now_ms();
  long gen = g->generation + 1;
  gcert_buf old = {0};
  gcert_error err = {0};
  if (gcert_file_load(n->gw.conf, GCERT_MAX_INPUT, &old, &err) != GCERT_OK)
    return gu_fail(why, why_len, "reading %s: %s", n->gw.conf, err.message);
  gu_text text = {0};
  int rc = gh_nginx_render(n, gen, &text, why, why_len);
  if (rc == 0)
    rc = gh_real_save(n->gw.conf, text.data, text.len, 0, why, why_len);
  gu_text_free(&text);
  if (rc == 0)
    rc = nginx_test(n, &n->gw, refusal, refusal_len, why, why_len);
  if (rc == 0)
    rc = reload_gateway(n, gen, why, why_len);
  if (rc != 0) {
    char ignored[256];
    gh_real_save(n->gw.conf, old.data, old.len, 0, ignored, sizeof(ignored));
  } else
    g->generation = gen;
  gcert_buf_free(&old);
  gh_real_count_apply(g, t0);
  return rc;
}

/* nginx's limits on an API: what goes into nginx.conf inside double quotes. */
static int ng_check_api(gh_real *g, const gh_real_api *a, gh_admin_result *r) {
  (void)g;
  if (!gh_nginx_safe(a->context) || !gh_nginx_safe(a->version) || a->context[0] != '/' ||
      strpbrk(a->context, " \t") || strpbrk(a->version, " \t/") || !gh_nginx_safe(a->url))
    return gh_admin_error(r, 400, "Bad Request", "context, version or endpoint URL unusable"), 1;
  if (a->introspected && !gh_nginx_safe(a->name))
    return gh_admin_error(r, 400, "Bad Request", "an API secured with OAuth2 needs a plain name"),
           1;
  return 0;
}

/* An upload that is not certificates is kept for nginx -t to judge at apply. */
static const gh_real_ops ng_real_ops = {
    .product = "nginx",
    .keep_keys = 1,
    .check_api = ng_check_api,
    .apply = ng_apply,
};

/* ---- operations ----------------------------------------------------------------------------- */

static int setup_dirs(nginx_driver *n, ng_instance *in, const char *name, char *why,
                      size_t why_len) {
  char tmp[GH_REAL_PATH + 8];
  if ((size_t)snprintf(in->dir, sizeof(in->dir), "%s/%s", n->real.cfg.work_dir, name) >=
      sizeof(in->dir) - 64)
    return gu_fail(why, why_len, "work directory path too long");
  snprintf(in->conf, sizeof(in->conf), "%s/nginx.conf", in->dir);
  snprintf(in->error_log, sizeof(in->error_log), "%s/error.log", in->dir);
  snprintf(tmp, sizeof(tmp), "%s/tmp", in->dir);
  return gh_real_mkdir(in->dir, why, why_len) != 0 || gh_real_mkdir(tmp, why, why_len) != 0 ? -1
                                                                                            : 0;
}

static int make_gateway_identity(nginx_driver *n, char *why, size_t why_len) {
  gcert_buf cert = {0}, key = {0};
  snprintf(n->server_cert, sizeof(n->server_cert), "%s/gateway.crt", n->gw.dir);
  snprintf(n->server_key, sizeof(n->server_key), "%s/gateway.key", n->gw.dir);
  gcert_buf_free(&n->placeholder_ca);
  int rc = gh_self_signed_identity(GCERT_KIND_SERVER, "CN=gatecert nginx gateway", &cert, &key, why,
                                   why_len);
  if (rc == 0)
    rc = gh_real_save(n->server_cert, cert.data, cert.len, 0, why, why_len);
  if (rc == 0)
    rc = gh_real_save(n->server_key, key.data, key.len, 1, why, why_len);
  if (rc == 0)
    rc = gh_self_signed_identity(GCERT_KIND_CA, "CN=gatecert placeholder CA (signs nothing)",
                                 &n->placeholder_ca, NULL, why, why_len);
  gcert_buf_free(&cert);
  gcert_buf_cleanse_free(&key);
  return rc;
}

/* Starts the gateway at the current generation, probing new ports when asked. */
static int start_gateway(nginx_driver *n, int new_ports, char *why, size_t why_len) {
  for (int attempt = 0; attempt < NG_START_TRIES; attempt++) {
    if ((new_ports || attempt > 0) &&
        gh_real_probe_ports(&n->gw.port, &n->gw.control_port, why, why_len) != 0)
      return -1;
    gu_text text = {0};
    int rc = gh_nginx_render(n, n->real.generation, &text, why, why_len);
    if (rc == 0)
      rc = start_instance(n, &n->gw, &text, n->real.generation, why, why_len);
    gu_text_free(&text);
    if (rc <= 0)
      return rc;
  }
  return gu_fail(why, why_len, "nginx found its ports taken %d times", NG_START_TRIES);
}

/* The load balancer in front (front_lb.h): the gateway's identity toward
 * clients, the base trust for them, the gateway's certificate trusted. */
static int start_lb(nginx_driver *n, char *why, size_t why_len) {
  char dir[GH_REAL_PATH];
  if ((size_t)snprintf(dir, sizeof(dir), "%s/nginx-lb", n->real.cfg.work_dir) >= sizeof(dir))
    return gu_fail(why, why_len, "work directory path too long");
  gh_front_lb_spec spec = {.nginx = n->real.bin,
                           .dir = dir,
                           .clock_file = n->real.cfg.clock_file,
                           .faketime_lib = n->real.cfg.faketime_lib,
                           .user_line = n->user_line,
                           .server_cert = n->server_cert,
                           .server_key = n->server_key,
                           .client_trust_pem = n->real.cfg.base_trust_pem,
                           .gateway_port = n->gw.port,
                           .gateway_trust_pem = n->server_cert,
                           .identity_pem = n->real.cfg.front_lb_key_pem,
                           .header = gh_nginx_cert_header(n)};
  n->lb = gh_front_lb_start(&spec, why, why_len);
  return n->lb ? 0 : -1;
}

static int ng_start(gh_driver *d, const gh_gateway_config *cfg, char *why, size_t why_len) {
  nginx_driver *n = d->impl;
  gh_real_reset(&n->real, cfg);
  char ignored[256];
  gh_front_lb_stop(n->lb, ignored, sizeof(ignored)); /* none unless a stop was missed */
  n->lb = NULL;
  memset(&n->gw.proc, 0, sizeof(n->gw.proc));
  n->gw.running = 0;
  const char *header = gh_nginx_cert_header(n);
  if (!gh_nginx_safe(cfg->work_dir))
    return gu_fail(why, why_len, "the work directory %s cannot be written into nginx.conf",
                   cfg->work_dir);
  if (!gh_nginx_safe(header) ||
      strspn(header, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789-_") != strlen(header))
    return gu_fail(why, why_len, "certificate header \"%s\" is not a plain header name", header);
  if (setup_dirs(n, &n->gw, "nginx", why, why_len) != 0 ||
      make_gateway_identity(n, why, why_len) != 0)
    return -1;
  double t0 = gu_now_ms();
  if (start_gateway(n, 1, why, why_len) != 0)
    return -1;
  gh_real_count_apply(&n->real, t0);
  return cfg->front_lb_key_pem ? start_lb(n, why, why_len) : 0;
}

static int ng_stop(gh_driver *d, char *why, size_t why_len) {
  nginx_driver *n = d->impl;
  char lb_why[256] = "", ti_why[256] = "";
  int lb = gh_front_lb_stop(n->lb, lb_why, sizeof(lb_why));
  n->lb = NULL;
  int gw = stop_instance(&n->gw, why, why_len);
  int ti = gh_tokens_stop(n->real.tokens, ti_why, sizeof(ti_why));
  if (gw == 0 && lb != 0)
    return gu_fail(why, why_len, "the load balancer: %s", lb_why);
  if (gw == 0 && ti != 0)
    return gu_fail(why, why_len, "gatecert-introspect: %s", ti_why);
  return gw;
}

/* Stops the gateway and starts it again from the files it had: the same
 * ports, the same generation, the same uploads. The introspector, when it
 * runs, is restarted too, from its config file, on the same port (a port
 * taken meanwhile: a new one, and the gateway's configuration re-applied). */
static int ng_restart(gh_driver *d, char *why, size_t why_len) {
  nginx_driver *n = d->impl;
  if (stop_instance(&n->gw, why, why_len) != 0)
    return -1;
  int moved = gh_tokens_restart(n->real.tokens, why, why_len);
  if (moved < 0)
    return -1;
  if (launch(n, &n->gw, why, why_len) != 0)
    return -1;
  if (confirm(&n->gw, n->real.generation, NULL, why, why_len) != 0)
    return -1;
  return moved ? gh_real_reload(d, why, why_len) : 0;
}

static int ng_https_port(gh_driver *d) { return ((nginx_driver *)d->impl)->gw.port; }

static int ng_front_port(gh_driver *d) {
  nginx_driver *n = d->impl;
  return gh_front_lb_port(n->lb);
}

/* The gateway's error log tail, then the load balancer's and the
 * introspector's (which never logs tokens). */
static char *ng_log_tail(gh_driver *d, size_t max) {
  nginx_driver *n = d->impl;
  if (!n->gw.error_log[0])
    return NULL;
  char *out = gh_driver_file_tail(n->gw.error_log, max);
  size_t part = max / 4 < NG_LOG_TAIL_PART ? max / 4 : NG_LOG_TAIL_PART;
  if (n->lb)
    out = gh_real_tail_join(out, gh_front_lb_log_tail(n->lb, part), "load balancer", max);
  if (gh_tokens_log_path(n->real.tokens))
    out = gh_real_tail_join(out, gh_driver_file_tail(gh_tokens_log_path(n->real.tokens), part),
                            "gatecert-introspect", max);
  return out;
}

static void ng_free(void *impl) {
  nginx_driver *n = impl;
  gh_real_free(&n->real);
  gcert_buf_free(&n->placeholder_ca);
  free(n);
}

static void ng_destroy(gh_driver *d) { gh_driver_destroy_with(d, ng_free); }

/* nginx's answers to the rejection classes (README.md finding 1). */
static const gh_reject_answer nginx_rejects[GH_REJECT_COUNT] = {
    [GH_REJECT_CLIENT_CERT] = {.status = {400}},
    [GH_REJECT_UNAUTHENTICATED] = {.status = {401}},
    [GH_REJECT_BACKEND_TLS] = {.status = {502}},
};

static const gh_driver_ops nginx_ops = {
    .name = "nginx",
    .caps = GH_REAL_CAPS,
    .start = ng_start,
    .stop = ng_stop,
    .restart = ng_restart,
    .https_port = ng_https_port,
    .front_port = ng_front_port,
    .rejects = nginx_rejects,
    .front_rejects = gh_front_lb_rejects,
    .log_tail = ng_log_tail,
    .destroy = ng_destroy,
    GH_REAL_ADMIN_OPS,
};

/* ---- finding and asking nginx --------------------------------------------------------------- */

gh_driver *gh_driver_nginx_new(const char *bin, gh_real_info *info, char *why, size_t why_len) {
  gh_driver *d = calloc(1, sizeof(*d));
  nginx_driver *n = calloc(1, sizeof(*n));
  char version[160];
  if (!d || !n)
    gu_fail(why, why_len, "out of memory");
  else if (gh_real_init(&n->real, &ng_real_ops, bin, "nginx", "/usr/sbin/nginx", why, why_len) ==
               0 &&
           gh_real_version(n->real.bin, "nginx/", 1, "", version, sizeof(version), why, why_len) ==
               0) {
    if (info)
      snprintf(info->version, sizeof(info->version), "%s", version);
    gh_nginx_user_line(n->user_line, sizeof(n->user_line));
    d->ops = &nginx_ops;
    d->impl = n;
    return d;
  }
  if (n)
    gh_real_free(&n->real);
  free(d);
  free(n);
  return NULL;
}
