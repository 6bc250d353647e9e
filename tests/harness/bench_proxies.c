/* bench_proxies.c - the side-by-side proxy benchmark (`make bench`, label
 * `bench`; issue 16): gatecert-sim with backend pooling on and off, nginx
 * with default proxy settings and with upstream `keepalive 16`, and HAProxy
 * (`http-reuse safe`), each in front of the same gatecert-backend over HTTPS,
 * with client mutual TLS toward the gateway, driven by one load generator.
 *
 * Set-up (all on 127.0.0.1, every process started and stopped by pid):
 *   - the catalogue's PKI (bs_make_catalogue): the backend and every gateway
 *     present the `server` chain; every gateway verifies the backend against
 *     root.pem and requires the client certificate (client.chain.pem) to chain
 *     to root.pem; the load generator verifies the gateway against root.pem;
 *   - one gatecert-backend (sessions off, its default: no gateway can resume
 *     a backend TLS session, so a new backend connection is a full handshake);
 *   - gatecert-sim twice (--backend-keepalive on / off, listener
 *     verify_client require, one API /bench/1.0 -> the backend);
 *   - nginx twice and HAProxy once, from configurations written here. They are
 *     deliberately the proxy path alone (TLS with client verification, one
 *     location, backend TLS verified), not the conformance drivers' renderings
 *     (harness/drivers/nginx_conf.c, haproxy_conf.c), which add per-API pin maps, an auth_request
 *     to gatecert-introspect, control servers and `nbthread 1` for libfaketime;
 *     nothing here runs under libfaketime. One worker each (nginx
 *     `worker_processes 1`, HAProxy `nbthread 1`), as gatecert-sim has one
 *     event loop: the figures compare one core's worth of each.
 *
 * The load generator is libcurl multi: GATECERT_BENCH_CONNECTIONS (16)
 * transfers in flight, each re-added as soon as it ends, either over kept-alive
 * connections (at most that many, CURLMOPT_MAX_TOTAL_CONNECTIONS) or with a
 * new connection and full handshake per request (FRESH_CONNECT, FORBID_REUSE,
 * no session cache). Rounds are interleaved: for each round, for each mode,
 * each gateway in turn for GATECERT_BENCH_SECONDS (2.5), so machine noise
 * spreads over all of them; GATECERT_BENCH_ROUNDS (4) rounds, or
 * GATECERT_BENCH_SHORT=1 for 1 round of 1 s (CI). GATECERT_BENCH_MODES ("keep-alive
 * new-connection") narrows the modes, GATECERT_BENCH_GATEWAYS the gateways (words
 * matched against their names, e.g. "pool on,haproxy"; for a profile of one gateway
 * under a steady load: the pids are printed before the rounds start), and
 * GATECERT_BENCH_SIM_BASELINE=PATH adds "gatecert-sim baseline", another
 * gatecert-sim binary with pooling on (a before/after in one run). Per gateway and mode:
 * req/s (successes over the summed slice time), the gateway's CPU per request
 * (utime+stime of its processes - nginx's master and workers - from
 * /proc/PID/stat, the deltas over each slice summed), the backend's CPU per
 * request and the load generator's own (getrusage) beside it - when the
 * generator's CPU per request nears 1 / (req/s), the client bounds the rate
 * (libcurl makes an SSL_CTX and decodes the client key per new connection:
 * milliseconds under OpenSSL 3.0, so the new-connection mode is client-bound
 * and its gateway CPU per request is the figure to compare) -, p50/p99
 * latency of all requests (CURLINFO_TOTAL_TIME_T), new connections the client
 * opened; then each gateway's req/s and CPU per
 * request as ratios to HAProxy's and to nginx-with-keepalive's.
 *
 * Figures only: no timing is asserted. The exit status is 1 when something
 * does not start or stop, when a gateway's preflight request is not a 200 with
 * the backend's body, or when any benchmarked request fails (a transfer error
 * or an answer that is not that 200). A missing nginx or HAProxy is skipped
 * with a message.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "backend_support.h"
#include "sim_fixture.h"
#include "supervisor.h"

#define MAX_CONNECTIONS 256
#define MAX_SAMPLES     2000000
#define API_PATH        "/bench/1.0/menaka"
#define EXPECT_BODY     "menaka"
#define READY_MS        10000

typedef enum gw_kind { GW_SIM, GW_NGINX, GW_HAPROXY } gw_kind;

/* One gateway under test and its figures per mode (0 keep-alive, 1 new connection). */
typedef struct gateway {
  const char *name;
  gw_kind kind;
  int keepalive;   /* sim: --backend-keepalive; nginx: upstream keepalive 16 */
  const char *bin; /* sim: a binary other than GATECERT_SIM_BIN (the baseline) */
  int skipped;
  int unwanted; /* left out by GATECERT_BENCH_GATEWAYS */
  int port;
  char program[1024];
  char dir[BS_PATH_MAX];
  st_sim sim;
  int sim_running;
  gh_proc proc;
  /* per mode */
  long ok[2], failed[2], connects[2];
  double seconds[2], cpu_s[2], backend_cpu_s[2], client_cpu_s[2];
  double *samples[2];
  size_t sample_count[2];
  char first_error[2][CURL_ERROR_SIZE + 64];
} gateway;

typedef struct bench {
  char dir[BS_PATH_MAX];
  char root[BS_PATH_MAX], chain[BS_PATH_MAX], key[BS_PATH_MAX], combined[BS_PATH_MAX];
  char client_chain[BS_PATH_MAX], client_key[BS_PATH_MAX];
  bs_process *backend;
  int backend_port;
  int connections, rounds;
  double seconds;
  long clk_tck;
} bench;

static const char *env_or(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v != NULL && v[0] != '\0' ? v : fallback;
}

/* A number from the environment (strtod: a value that does not parse is the
 * fallback). */
static double env_num(const char *name, double fallback) {
  const char *v = getenv(name);
  char *end = NULL;
  double d = v != NULL ? strtod(v, &end) : 0;
  return v != NULL && end != v && *end == '\0' ? d : fallback;
}

static int write_file(const char *path, const char *text, mode_t mode) {
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return -1;
  int ok = fputs(text, f) >= 0;
  if (fclose(f) != 0 || !ok)
    return -1;
  return chmod(path, mode);
}

/* ---- CPU time from /proc ------------------------------------------------------------------ */

/* utime+stime (clock ticks) of pid, and its parent in *ppid; -1 when unreadable. */
static long long proc_ticks(pid_t pid, pid_t *ppid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
  char *text = NULL;
  size_t len = 0;
  if (gu_read_file(path, 0, &text, &len) != 0)
    return -1;
  const char *p = strrchr(text, ')'); /* the command name may hold blanks and ')' */
  int parent = 0;
  unsigned long utime = 0, stime = 0;
  // NOLINTNEXTLINE(cert-err34-c): /proc/PID/stat is the kernel's; a short read is n < 3
  int n = p != NULL ? sscanf(p + 1, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &parent,
                             &utime, &stime)
                    : 0;
  free(text);
  if (n != 3)
    return -1;
  if (ppid != NULL)
    *ppid = parent;
  return (long long)utime + (long long)stime;
}

/* CPU ticks of pid and of its children (nginx's workers: children of the master). */
static long long tree_ticks(pid_t pid) {
  long long sum = proc_ticks(pid, NULL);
  if (sum < 0)
    return 0;
  DIR *d = opendir("/proc");
  if (d == NULL)
    return sum;
  for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
    if (!isdigit((unsigned char)e->d_name[0]))
      continue;
    pid_t child = (pid_t)strtol(e->d_name, NULL, 10), parent = 0;
    long long t = proc_ticks(child, &parent);
    if (t > 0 && parent == pid)
      sum += t;
  }
  closedir(d);
  return sum;
}

static pid_t gateway_pid(const gateway *g) {
  return g->kind == GW_SIM ? g->sim.proc->pid : g->proc.pid;
}

/* ---- the load generator ------------------------------------------------------------------ */

typedef struct transfer {
  CURL *h;
  gu_text body;
  char error[CURL_ERROR_SIZE];
} transfer;

typedef struct load_result {
  long ok, failed, connects;
  double seconds;
  char first_error[CURL_ERROR_SIZE + 64];
} load_result;

static void transfer_setup(const bench *b, transfer *t, const char *url, struct curl_slist *resolve,
                           int fresh) {
  CURL *h = t->h;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(h, CURLOPT_CAINFO, b->root);
  curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
  curl_easy_setopt(h, CURLOPT_SSLCERT, b->client_chain);
  curl_easy_setopt(h, CURLOPT_SSLKEY, b->client_key);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, gu_text_curl_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t->body);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t->error);
  if (fresh) {
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  }
}

/* `connections` GETs of API_PATH in flight against port for `seconds`, each
 * transfer re-added when it ends; latencies (ms) appended to samples. */
static void run_load(const bench *b, int port, int connections, int fresh, double seconds,
                     double *samples, size_t *sample_count, load_result *out) {
  memset(out, 0, sizeof(*out));
  char url[128], resolve_entry[64];
  snprintf(url, sizeof(url), "https://localhost:%d%s", port, API_PATH);
  snprintf(resolve_entry, sizeof(resolve_entry), "localhost:%d:127.0.0.1", port);
  struct curl_slist *resolve = curl_slist_append(NULL, resolve_entry);
  CURLM *m = curl_multi_init();
  transfer *ts = calloc((size_t)connections, sizeof(*ts));
  if (resolve == NULL || m == NULL || ts == NULL) {
    snprintf(out->first_error, sizeof(out->first_error), "out of memory");
    out->failed = 1;
    goto done;
  }
  curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)connections);
  curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)connections);
  for (int i = 0; i < connections; i++) {
    ts[i].h = curl_easy_init();
    if (ts[i].h == NULL) {
      snprintf(out->first_error, sizeof(out->first_error), "curl_easy_init failed");
      out->failed = 1;
      goto done;
    }
    transfer_setup(b, &ts[i], url, resolve, fresh);
    curl_easy_setopt(ts[i].h, CURLOPT_PRIVATE, &ts[i]);
  }
  double start = gu_now_ms(), end = start + seconds * 1e3;
  int running = 0;
  for (int i = 0; i < connections; i++)
    curl_multi_add_handle(m, ts[i].h);
  do {
    CURLMcode mc = curl_multi_perform(m, &running);
    if (mc == CURLM_OK)
      mc = curl_multi_poll(m, NULL, 0, 100, NULL);
    if (mc != CURLM_OK) {
      snprintf(out->first_error, sizeof(out->first_error), "curl multi: %s",
               curl_multi_strerror(mc));
      out->failed++;
      break;
    }
    CURLMsg *msg;
    int left = 0;
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
      if (msg->msg != CURLMSG_DONE)
        continue;
      CURL *h = msg->easy_handle;
      CURLcode rc = msg->data.result;
      transfer *t = NULL;
      curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&t);
      long status = 0, connects = 0;
      curl_off_t total_us = 0;
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
      curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
      curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total_us);
      out->connects += connects;
      int good = rc == CURLE_OK && status == 200 && !t->body.failed && t->body.data != NULL &&
                 strstr(t->body.data, EXPECT_BODY) != NULL;
      if (good) {
        out->ok++;
        if (*sample_count < MAX_SAMPLES)
          samples[(*sample_count)++] = (double)total_us / 1e3;
      } else if (out->failed++ == 0) {
        snprintf(out->first_error, sizeof(out->first_error), "%s (status %ld)",
                 t->error[0] ? t->error : curl_easy_strerror(rc), status);
      }
      curl_multi_remove_handle(m, h);
      free(t->body.data);
      memset(&t->body, 0, sizeof(t->body));
      t->error[0] = '\0';
      if (gu_now_ms() < end)
        curl_multi_add_handle(m, h);
    }
  } while (running > 0 || gu_now_ms() < end);
  out->seconds = (gu_now_ms() - start) / 1e3;
done:
  for (int i = 0; ts != NULL && i < connections; i++)
    if (ts[i].h != NULL) {
      curl_multi_remove_handle(m, ts[i].h);
      curl_easy_cleanup(ts[i].h);
      free(ts[i].body.data);
    }
  free(ts);
  if (m != NULL)
    curl_multi_cleanup(m);
  curl_slist_free_all(resolve);
}

/* ---- the gateways ------------------------------------------------------------------------ */

static int render_nginx(const bench *b, const gateway *g, gu_text *t) {
  gu_text_printf(t,
                 "# bench_proxies: nginx %s upstream keepalive\n"
                 "%s"
                 "worker_processes 1;\ndaemon off;\nmaster_process on;\n"
                 "pid %s/nginx.pid;\nerror_log %s/error.log warn;\n"
                 "events { worker_connections 1024; }\n"
                 "http {\n  access_log off;\n"
                 "  client_body_temp_path %s/tmp-body;\n  proxy_temp_path %s/tmp-proxy;\n"
                 "  fastcgi_temp_path %s/tmp-fcgi;\n  uwsgi_temp_path %s/tmp-uwsgi;\n"
                 "  scgi_temp_path %s/tmp-scgi;\n"
                 "  upstream backend { server 127.0.0.1:%d;%s }\n"
                 "  server {\n    listen 127.0.0.1:%d ssl;\n"
                 "    ssl_certificate %s;\n    ssl_certificate_key %s;\n"
                 "    ssl_client_certificate %s;\n    ssl_verify_client on;\n"
                 "    location /bench/1.0/ {\n      proxy_pass https://backend/;\n",
                 g->keepalive ? "with" : "without", geteuid() == 0 ? "user root root;\n" : "",
                 g->dir, g->dir, g->dir, g->dir, g->dir, g->dir, g->dir, b->backend_port,
                 g->keepalive ? " keepalive 16;" : "", g->port, b->chain, b->key, b->root);
  if (g->keepalive)
    gu_text_printf(t, "      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n");
  gu_text_printf(t,
                 "      proxy_ssl_verify on;\n      proxy_ssl_trusted_certificate %s;\n"
                 "      proxy_ssl_name localhost;\n      proxy_ssl_server_name on;\n"
                 "    }\n  }\n}\n",
                 b->root);
  return t->failed ? -1 : 0;
}

static int render_haproxy(const bench *b, const gateway *g, gu_text *t) {
  gu_text_printf(t,
                 "# bench_proxies: HAProxy, http-reuse safe\n"
                 "global\n  nbthread 1\n  maxconn 4096\n"
                 "defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n"
                 "  timeout server 30s\n  http-reuse safe\n"
                 "frontend fe\n  bind 127.0.0.1:%d ssl crt %s verify required ca-file %s\n"
                 "  http-request set-path %%[path,regsub(^/bench/1.0/,/)]\n"
                 "  default_backend be\n"
                 "backend be\n  server s1 127.0.0.1:%d ssl verify required ca-file %s "
                 "sni str(localhost) verifyhost localhost\n",
                 g->port, b->combined, b->root, b->backend_port, b->root);
  return t->failed ? -1 : 0;
}

/* The end of a log on stderr (what a gateway said before it failed). */
static void print_tail(const char *path) {
  char *text = NULL;
  size_t len = 0;
  if (gu_read_file(path, 0, &text, &len) != 0)
    return;
  fprintf(stderr, "---- end of %s ----\n%s\n----\n", path, len > 2048 ? text + len - 2048 : text);
  free(text);
}

/* One GET on a fresh connection: 0 when it is a 200 with the backend's body. */
static int preflight(const bench *b, gateway *g) {
  double samples[1];
  size_t count = 0;
  load_result r;
  run_load(b, g->port, 1, 1, 0, samples, &count, &r);
  if (r.ok == 1 && r.failed == 0)
    return 0;
  fprintf(stderr, "bench_proxies: %s: the preflight request failed: %s\n", g->name, r.first_error);
  return -1;
}

static int start_real(const bench *b, gateway *g) {
  char why[1024], path[BS_PATH_MAX + 32], errlog[BS_PATH_MAX + 32];
  g->port = gu_free_port(why, sizeof(why));
  if (g->port < 0) {
    fprintf(stderr, "bench_proxies: %s: %s\n", g->name, why);
    return -1;
  }
  gu_text conf = {0};
  int rc = g->kind == GW_NGINX ? render_nginx(b, g, &conf) : render_haproxy(b, g, &conf);
  snprintf(path, sizeof(path), "%s/%s", g->dir, g->kind == GW_NGINX ? "nginx.conf" : "haproxy.cfg");
  snprintf(errlog, sizeof(errlog), "%s/stderr.log", g->dir);
  if (rc != 0 || write_file(path, conf.data, 0644) != 0) {
    fprintf(stderr, "bench_proxies: %s: cannot write %s\n", g->name, path);
    free(conf.data);
    return -1;
  }
  free(conf.data);
  const char *nginx_args[] = {"-p", g->dir, "-c", path, NULL};
  const char *haproxy_args[] = {"-db", "-f", path, NULL};
  gh_proc_spec spec = {.bin = g->program,
                       .args = g->kind == GW_NGINX ? nginx_args : haproxy_args,
                       .stderr_path = errlog,
                       .no_ready = 1};
  if (gh_proc_start(&g->proc, &spec, why, sizeof(why)) != 0) {
    fprintf(stderr, "bench_proxies: %s: %s\n", g->name, why);
    return -1;
  }
  double deadline = gu_now_ms() + READY_MS;
  while (bs_port_refused(g->port) && gu_now_ms() < deadline && gh_proc_alive(&g->proc))
    gu_sleep_ms(20);
  if (bs_port_refused(g->port)) {
    fprintf(stderr, "bench_proxies: %s did not listen on %d\n", g->name, g->port);
    print_tail(errlog);
    return -1;
  }
  return preflight(b, g);
}

static int start_sim(const bench *b, gateway *g) {
  static const char config[] = "{\"listener\": {\"verify_client\": \"require\"}}";
  const char *extra[] = {"--trust",
                         b->root,
                         "--server-cert",
                         b->chain,
                         "--server-key",
                         b->key,
                         "--backend-keepalive",
                         g->keepalive ? "on" : "off",
                         NULL};
  st_sim_opts opts = {.dir = g->dir, .config_json = config, .extra = extra};
  /* st_sim_start reads GATECERT_SIM_BIN: the baseline's, for its start only */
  const char *mine = getenv("GATECERT_SIM_BIN");
  char *own = g->bin != NULL && mine != NULL ? strdup(mine) : NULL;
  if (own != NULL)
    setenv("GATECERT_SIM_BIN", g->bin, 1);
  int started = st_sim_start(&g->sim, &opts);
  if (own != NULL)
    setenv("GATECERT_SIM_BIN", own, 1);
  free(own);
  if (started != 0) {
    fprintf(stderr, "bench_proxies: %s: %s\n", g->name, st_error());
    return -1;
  }
  g->sim_running = 1;
  g->port = g->sim.https;
  char url[64];
  snprintf(url, sizeof(url), "https://localhost:%d", b->backend_port);
  if (st_create_api(&g->sim, "Bench", "/bench", "1.0", url, NULL) != 201) {
    fprintf(stderr, "bench_proxies: %s: creating the API failed: %s\n", g->name, st_error());
    return -1;
  }
  return preflight(b, g);
}

/* Stops a gateway by its pid: 0 when it ended as asked. */
static int stop_gateway(gateway *g) {
  if (g->kind == GW_SIM) {
    if (!g->sim_running)
      return 0;
    g->sim_running = 0;
    if (st_sim_stop(&g->sim) != 0) {
      fprintf(stderr, "bench_proxies: stopping %s: %s\n", g->name, st_error());
      return -1;
    }
    return 0;
  }
  if (g->proc.pid == 0)
    return 0;
  char why[512];
  /* nginx: SIGQUIT is its graceful stop; HAProxy: SIGUSR1 is its soft stop */
  if (gh_proc_stop(&g->proc, g->kind == GW_NGINX ? SIGQUIT : SIGUSR1, 5000, why, sizeof(why)) !=
      0) {
    fprintf(stderr, "bench_proxies: stopping %s: %s\n", g->name, why);
    return -1;
  }
  return 0;
}

/* ---- rounds and figures ------------------------------------------------------------------ */

/* The load generator's own CPU seconds (this process: user + system). */
static double self_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void measure(const bench *b, gateway *g, int fresh) {
  pid_t pid = gateway_pid(g);
  double c0 = self_cpu_s();
  long long g0 = tree_ticks(pid), b0 = tree_ticks(b->backend->pid);
  load_result r;
  run_load(b, g->port, b->connections, fresh, b->seconds, g->samples[fresh],
           &g->sample_count[fresh], &r);
  long long g1 = tree_ticks(pid), b1 = tree_ticks(b->backend->pid);
  g->client_cpu_s[fresh] += self_cpu_s() - c0;
  g->ok[fresh] += r.ok;
  g->connects[fresh] += r.connects;
  g->seconds[fresh] += r.seconds;
  g->cpu_s[fresh] += (double)(g1 - g0) / (double)b->clk_tck;
  g->backend_cpu_s[fresh] += (double)(b1 - b0) / (double)b->clk_tck;
  if (r.failed > 0 && g->failed[fresh] == 0)
    snprintf(g->first_error[fresh], sizeof(g->first_error[fresh]), "%s", r.first_error);
  g->failed[fresh] += r.failed;
}

static double rate(const gateway *g, int fresh) {
  return g->seconds[fresh] > 0 ? (double)g->ok[fresh] / g->seconds[fresh] : 0;
}

static double cpu_us(const gateway *g, int fresh) {
  return g->ok[fresh] > 0 ? g->cpu_s[fresh] * 1e6 / (double)g->ok[fresh] : 0;
}

static void ratio_text(char *out, size_t len, double mine, double theirs) {
  if (mine > 0 && theirs > 0)
    snprintf(out, len, "%.2fx", mine / theirs);
  else
    snprintf(out, len, "-");
}

static void print_mode(gateway *gs, size_t n, int fresh, const gateway *hap, const gateway *ngk) {
  printf("\n%s (%s):\n",
         fresh ? "a new client connection per request" : "keep-alive client connections",
         fresh ? "full client-mTLS handshake each, no session reuse"
               : "at most one connection per transfer in flight");
  printf("%-22s %9s %9s %9s %9s %8s %8s %7s %7s %9s %9s %9s %9s\n", "gateway", "req/s", "cpu us/r",
         "be us/r", "cl us/r", "p50 ms", "p99 ms", "fails", "conns", "req/s:hap", "cpu:hap",
         "req/s:ngk", "cpu:ngk");
  for (size_t k = 0; k < n; k++) {
    gateway *g = &gs[k];
    if (g->unwanted)
      continue;
    if (g->skipped) {
      printf("%-22s skipped: no %s program\n", g->name, g->kind == GW_NGINX ? "nginx" : "haproxy");
      continue;
    }
    bs_sort(g->samples[fresh], g->sample_count[fresh]);
    double p50 = bs_percentile(g->samples[fresh], g->sample_count[fresh], 50);
    double p99 = bs_percentile(g->samples[fresh], g->sample_count[fresh], 99);
    double be = g->ok[fresh] > 0 ? g->backend_cpu_s[fresh] * 1e6 / (double)g->ok[fresh] : 0;
    double cl = g->ok[fresh] > 0 ? g->client_cpu_s[fresh] * 1e6 / (double)g->ok[fresh] : 0;
    char r1[16] = "-", c1[16] = "-", r2[16] = "-", c2[16] = "-";
    if (hap != NULL) {
      ratio_text(r1, sizeof(r1), rate(g, fresh), rate(hap, fresh));
      ratio_text(c1, sizeof(c1), cpu_us(g, fresh), cpu_us(hap, fresh));
    }
    if (ngk != NULL) {
      ratio_text(r2, sizeof(r2), rate(g, fresh), rate(ngk, fresh));
      ratio_text(c2, sizeof(c2), cpu_us(g, fresh), cpu_us(ngk, fresh));
    }
    printf("%-22s %9.0f %9.1f %9.1f %9.1f %8.3f %8.3f %7ld %7ld %9s %9s %9s %9s\n", g->name,
           rate(g, fresh), cpu_us(g, fresh), be, cl, p50, p99, g->failed[fresh], g->connects[fresh],
           r1, c1, r2, c2);
    if (g->failed[fresh] > 0)
      printf("    first failure: %s\n", g->first_error[fresh]);
  }
}

static const char *load_average(char *out, size_t len) {
  char *text = NULL;
  size_t n = 0;
  snprintf(out, len, "?");
  if (gu_read_file("/proc/loadavg", 0, &text, &n) == 0) {
    char *nl = strchr(text, '\n');
    if (nl != NULL)
      *nl = '\0';
    snprintf(out, len, "%s", text);
    free(text);
  }
  return out;
}

/* Whether GATECERT_BENCH_GATEWAYS (comma-separated words; unset: every gateway) names g. */
static int wanted(const char *list, const char *name) {
  if (list == NULL || list[0] == '\0')
    return 1;
  char word[64];
  for (const char *p = list; *p;) {
    size_t n = strcspn(p, ",");
    if (n > 0 && n < sizeof(word)) {
      memcpy(word, p, n);
      word[n] = '\0';
      if (strstr(name, word) != NULL)
        return 1;
    }
    p += n + (p[n] == ',');
  }
  return 0;
}

static int make_pki(bench *b) {
  if (bs_make_catalogue(time(NULL), b->dir) != 0) {
    fprintf(stderr, "bench_proxies: %s\n", bs_error());
    return -1;
  }
  bs_join(b->root, b->dir, "root.pem");
  bs_join(b->chain, b->dir, "server.chain.pem");
  bs_join(b->key, b->dir, "server.key");
  bs_join(b->combined, b->dir, "server.combined.pem");
  bs_join(b->client_chain, b->dir, "client.chain.pem");
  bs_join(b->client_key, b->dir, "client.key");
  /* HAProxy's crt: the chain and its key in one file (0600: it holds the key) */
  char *chain = NULL, *key = NULL;
  size_t chain_len = 0, key_len = 0;
  int rc = -1;
  if (gu_read_file(b->chain, 0, &chain, &chain_len) == 0 &&
      gu_read_file(b->key, 0, &key, &key_len) == 0) {
    gu_text t = {0};
    gu_text_printf(&t, "%s%s", chain, key);
    rc = t.failed ? -1 : write_file(b->combined, t.data, 0600);
    free(t.data);
  }
  free(chain);
  free(key);
  if (rc != 0)
    fprintf(stderr, "bench_proxies: cannot write %s\n", b->combined);
  return rc;
}

static int start_backend(bench *b) {
  char spec[3 * BS_PATH_MAX];
  snprintf(spec, sizeof(spec), "bench:cert=%s,key=%s", b->chain, b->key);
  const char *args[] = {"--backend", spec, NULL};
  bs_start_opts opts = {.args = args, .scratch_dir = b->dir};
  b->backend = bs_start(&opts);
  if (b->backend == NULL) {
    fprintf(stderr, "bench_proxies: gatecert-backend: %s\n", bs_error());
    return -1;
  }
  b->backend_port = bs_port(b->backend, "bench");
  return 0;
}

int main(void) {
  static gateway gs[] = {
      {.name = "gatecert-sim pool on", .kind = GW_SIM, .keepalive = 1},
      {.name = "gatecert-sim baseline", .kind = GW_SIM, .keepalive = 1},
      {.name = "gatecert-sim pool off", .kind = GW_SIM, .keepalive = 0},
      {.name = "nginx default", .kind = GW_NGINX, .keepalive = 0},
      {.name = "nginx keepalive 16", .kind = GW_NGINX, .keepalive = 1},
      {.name = "haproxy reuse safe", .kind = GW_HAPROXY, .keepalive = 1},
  };
  const size_t n = sizeof(gs) / sizeof(gs[0]);
  static bench b;
  int short_mode = env_num("GATECERT_BENCH_SHORT", 0) != 0;
  b.connections = (int)env_num("GATECERT_BENCH_CONNECTIONS", 16);
  b.rounds = (int)env_num("GATECERT_BENCH_ROUNDS", short_mode ? 1 : 4);
  b.seconds = env_num("GATECERT_BENCH_SECONDS", short_mode ? 1 : 2.5);
  b.clk_tck = sysconf(_SC_CLK_TCK);
  const char *mode_env = env_or("GATECERT_BENCH_MODES", "keep-alive new-connection");
  int modes[2] = {strstr(mode_env, "keep") != NULL, strstr(mode_env, "new") != NULL};
  if (b.connections < 1 || b.connections > MAX_CONNECTIONS || b.rounds < 1 || b.seconds <= 0) {
    fprintf(stderr, "bench_proxies: GATECERT_BENCH_CONNECTIONS (1-%d), _ROUNDS, _SECONDS\n",
            MAX_CONNECTIONS);
    return 1;
  }
  if (getenv("GATECERT_SIM_BIN") == NULL || getenv("GATECERT_BACKEND_BIN") == NULL) {
    fprintf(stderr, "bench_proxies: GATECERT_SIM_BIN and GATECERT_BACKEND_BIN must be set\n");
    return 1;
  }
  if (bs_bench_dir(b.dir, "/tmp/bench_proxies.XXXXXX") != 0) {
    perror("bench_proxies: scratch directory");
    return 1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  char load[128];
  printf("bench_proxies: gateways side by side, client mTLS, one gatecert-backend over HTTPS\n");
  printf("load generator: libcurl multi, %d transfers in flight; %d interleaved round(s) of %.1f s "
         "per gateway and mode%s\n",
         b.connections, b.rounds, b.seconds, short_mode ? " (short mode)" : "");
  printf("load average before: %s\n", load_average(load, sizeof(load)));
  int rc = make_pki(&b) == 0 && start_backend(&b) == 0 ? 0 : -1;
  const gateway *hap = NULL, *ngk = NULL;
  for (size_t k = 0; rc == 0 && k < n; k++) {
    gateway *g = &gs[k];
    char sub[32], why[256];
    snprintf(sub, sizeof(sub), "gw%zu", k);
    int baseline = strcmp(g->name, "gatecert-sim baseline") == 0;
    if (baseline)
      g->bin = getenv("GATECERT_BENCH_SIM_BASELINE");
    if (!wanted(getenv("GATECERT_BENCH_GATEWAYS"), g->name) ||
        (baseline && (g->bin == NULL || g->bin[0] == '\0'))) {
      g->skipped = g->unwanted = 1;
      continue;
    }
    bs_join(g->dir, b.dir, sub);
    if (mkdir(g->dir, 0700) != 0 && errno != EEXIST) {
      fprintf(stderr, "bench_proxies: cannot create %s: %s\n", g->dir, strerror(errno));
      rc = -1;
      break;
    }
    for (int fresh = 0; fresh < 2; fresh++)
      if ((g->samples[fresh] = calloc(MAX_SAMPLES, sizeof(double))) == NULL)
        rc = -1;
    if (g->kind != GW_SIM) {
      const char *prog = g->kind == GW_NGINX ? "nginx" : "haproxy";
      char sbin[64];
      snprintf(sbin, sizeof(sbin), "/usr/sbin/%s", prog);
      if (gu_find_program(prog, g->program, sizeof(g->program), why, sizeof(why)) != 0 &&
          gu_find_program(sbin, g->program, sizeof(g->program), why, sizeof(why)) != 0) {
        g->skipped = 1;
        printf("%s: skipped: no %s program in PATH or /usr/sbin\n", g->name, prog);
        continue;
      }
    }
    if (rc == 0 && (g->kind == GW_SIM ? start_sim(&b, g) : start_real(&b, g)) != 0)
      rc = -1;
    if (rc == 0 && g->kind == GW_HAPROXY)
      hap = g;
    if (rc == 0 && g->kind == GW_NGINX && g->keepalive)
      ngk = g;
  }
  if (rc == 0) {
    printf("started: backend pid %ld port %d;", (long)b.backend->pid, b.backend_port);
    for (size_t k = 0; k < n; k++)
      if (!gs[k].skipped)
        printf(" %s pid %ld port %d;", gs[k].name, (long)gateway_pid(&gs[k]), gs[k].port);
    printf("\n");
    fflush(stdout);
    /* warm-up, not counted: every gateway's first connections and backend pool */
    for (size_t k = 0; k < n; k++)
      if (!gs[k].skipped) {
        double samples[1];
        size_t count = 0;
        load_result r;
        run_load(&b, gs[k].port, b.connections, 0, 0.3, samples, &count, &r);
      }
    for (int round = 0; round < b.rounds; round++)
      for (int fresh = 0; fresh < 2; fresh++)
        for (size_t k = 0; k < n; k++)
          if (!gs[k].skipped && modes[fresh])
            measure(&b, &gs[k], fresh);
    for (int fresh = 0; fresh < 2; fresh++)
      if (modes[fresh])
        print_mode(gs, n, fresh, hap, ngk);
    printf("\nreq/s: successful requests over the slices' real time; cpu us/r: the gateway's\n"
           "utime+stime (/proc/PID/stat, nginx master and workers) per request; be us/r: the\n"
           "backend's; cl us/r: the load generator's (getrusage; when it nears 1e6 / (req/s)\n"
           "the client, not the gateway, bounds req/s); p50/p99: the client's total time per\n"
           "request over all rounds; conns: new client connections; :hap and :ngk: ratio\n"
           "to HAProxy and to nginx with keepalive 16\n"
           "(cpu ratio above 1 = more CPU per request). One worker/thread per gateway.\n");
    if (hap != NULL)
      printf("issue 16 target: gatecert-sim (pool on) keep-alive req/s / HAProxy's = %.2f "
             "(target >= 1.0)\n",
             rate(hap, 0) > 0 ? rate(&gs[0], 0) / rate(hap, 0) : 0);
    printf("load average after: %s\n", load_average(load, sizeof(load)));
    for (size_t k = 0; k < n; k++)
      if (gs[k].failed[0] + gs[k].failed[1] > 0)
        rc = -1;
  }
  for (size_t k = 0; k < n; k++) {
    if (stop_gateway(&gs[k]) != 0)
      rc = -1;
    free(gs[k].samples[0]);
    free(gs[k].samples[1]);
  }
  if (b.backend != NULL && bs_stop(b.backend) != 0) {
    fprintf(stderr, "bench_proxies: stopping the backend: %s\n", bs_error());
    rc = -1;
  }
  if (bs_orphans(NULL) != 0) {
    fprintf(stderr, "bench_proxies: %s\n", bs_error());
    rc = -1;
  }
  curl_global_cleanup();
  if (rc != 0)
    printf("bench_proxies: FAILED (see above)\n");
  return rc == 0 ? 0 : 1;
}
