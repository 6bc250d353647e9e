/* bench_sim.c - how fast gatecert-sim is ready, and what proxying through it costs.
 *
 * Prints figures, asserts nothing about speed (machines differ). Measures:
 *   - start to READY: fork/exec of gatecert-sim until its READY line is read,
 *     START_ROUNDS runs, each on a fresh (absent) state directory, so every
 *     run creates its store and a self-signed HTTPS identity; median and max
 *     are printed next to the target (READY_TARGET_MS). Each run is stopped
 *     with SIGTERM (and must exit 0) before the next.
 *   - proxied requests/s: a gatecert-backend serves the catalogue's `server`
 *     chain; the simulator trusts it through --trust root.pem and presents the
 *     same chain itself, so the client verifies both against root.pem. One
 *     libcurl easy handle sends sequential GETs for REQUEST_SECONDS over ONE
 *     keep-alive TLS connection (the handle is reused, nothing forces a new
 *     connection; the number of connections curl opened is printed as proof),
 *     through the simulator and then directly to the backend, giving the ratio
 *     sim/direct; then the same with a fresh connection and full handshake per
 *     request. Latency p50/p99 per request as the client saw it.
 *   - client mutual TLS: the same through gatecert-sim with the catalogue's
 *     client certificate presented (the listener asks by default and
 *     verifies it against --trust), over one keep-alive connection and with a
 *     full handshake per request, beside the figures without a client
 *     certificate (ratio mTLS / none); and, since those are dominated by
 *     the backend handshake of every proxied request, the listener alone: a
 *     path without an API (404 fault, no backend call), with and without the
 *     client certificate in alternating slices, keep-alive and full
 *     handshake.
 * The simulator opens a new TLS connection to the backend for every proxied
 * request by design (no pooling, no session reuse: every request is verified
 * against the trust of its moment), which is most of the difference.
 *
 * Every process is stopped by pid (bs_stop) at the end and none may be left.
 * Exits non-zero only when something does not start or stop, or when a phase
 * gets no successful answer at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend_support.h"
#include "gcert.h"
#include "sim_fixture.h"

#define START_ROUNDS    20
#define READY_TARGET_MS 50.0
#define REQUEST_SECONDS 2.0
#define MAX_SAMPLES     200000
#define LISTENER_SLICES 8

static int write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return -1;
  int ok = fputs(text, f) >= 0;
  return fclose(f) == 0 && ok ? 0 : -1;
}

/* Removes dir/name/state and its store so the next start finds nothing. */
static void remove_state(const char *state) {
  static const char *const files[] = {"gatecert-sim.db", "gatecert-sim.db-wal",
                                      "gatecert-sim.db-shm"};
  char path[BS_PATH_MAX];
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
    unlink(bs_join(path, state, files[i]));
  rmdir(state);
}

/* ---- start to READY ---------------------------------------------------------- */

static int bench_starts(const char *dir) {
  char pw[BS_PATH_MAX], state[BS_PATH_MAX], name[32];
  if (write_file(bs_join(pw, dir, "admin.password"), ST_PASSWORD "\n") != 0) {
    fprintf(stderr, "bench: cannot write %s\n", pw);
    return -1;
  }
  double samples[START_ROUNDS];
  for (int i = 0; i < START_ROUNDS; i++) {
    snprintf(name, sizeof(name), "start-%02d", i);
    bs_join(state, dir, name);
    remove_state(state);
    const char *args[] = {"--state", state, "--admin-user", ST_USER, "--admin-password-file",
                          pw,        NULL};
    bs_start_opts opts = {
        .args = args, .scratch_dir = dir, .bin = getenv("GATECERT_SIM_BIN"), .single_ready = 1};
    double t0 = gu_now_ms();
    bs_process *p = bs_start(&opts);
    double t1 = gu_now_ms();
    if (p == NULL) {
      fprintf(stderr, "bench: gatecert-sim did not start: %s\n", bs_error());
      return -1;
    }
    samples[i] = t1 - t0;
    if (bs_stop(p) != 0) {
      fprintf(stderr, "bench: stop: %s\n", bs_error());
      return -1;
    }
  }
  double med = bs_median(samples, START_ROUNDS); /* sorts: min and max after it */
  printf("gatecert-sim start to READY (fresh state dir): median %6.2f ms  max %6.2f  min %6.2f  "
         "(%d runs)\n",
         med, samples[START_ROUNDS - 1], samples[0], START_ROUNDS);
  printf("  target < %.0f ms (median): %s\n", READY_TARGET_MS,
         med < READY_TARGET_MS ? "met" : "NOT met");
  return 0;
}

/* ---- requests -------------------------------------------------------------------- */

typedef struct client_result {
  long ok, failed, connections;
  double seconds, per_second, p50_ms, p99_ms;
  char first_error[CURL_ERROR_SIZE + 32];
} client_result;

static size_t sink(char *data, size_t size, size_t nmemb, void *arg) {
  int *saw = arg;
  size_t n = size * nmemb;
  static const char expect[] = "Jersey say : menaka";
  if (n >= sizeof(expect) - 1 && memmem(data, n, expect, sizeof(expect) - 1) != NULL)
    *saw = 1;
  return n;
}

/* Sequential GETs of https://localhost:port/path for `seconds` from one easy
 * handle; fresh: a new connection (full handshake, no session) per request. */
static void run_client(int port, const char *path, const char *ca, int fresh, double seconds,
                       const char *cert, const char *key, long want, client_result *out) {
  static double samples[MAX_SAMPLES];
  memset(out, 0, sizeof(*out));
  CURL *h = curl_easy_init();
  if (h == NULL) {
    snprintf(out->first_error, sizeof(out->first_error), "curl_easy_init failed");
    return;
  }
  char url[256], resolve_entry[64], error[CURL_ERROR_SIZE] = "";
  snprintf(url, sizeof(url), "https://localhost:%d%s", port, path);
  snprintf(resolve_entry, sizeof(resolve_entry), "localhost:%d:127.0.0.1", port);
  struct curl_slist *resolve = curl_slist_append(NULL, resolve_entry);
  int saw = 0;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(h, CURLOPT_CAINFO, ca);
  curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &saw);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  if (cert) { /* client mutual TLS: presented at every handshake */
    curl_easy_setopt(h, CURLOPT_SSLCERT, cert);
    curl_easy_setopt(h, CURLOPT_SSLKEY, key);
  }
  if (fresh) {
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  }
  double start = gu_now_ms(), end = start + seconds * 1e3;
  while (gu_now_ms() < end) {
    saw = 0;
    error[0] = '\0';
    double t0 = gu_now_ms();
    CURLcode rc = curl_easy_perform(h);
    double t1 = gu_now_ms();
    long status = 0, connects = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
    out->connections += connects;
    if (rc == CURLE_OK && status == want && (want != 200 || saw)) {
      if (out->ok < MAX_SAMPLES)
        samples[out->ok] = t1 - t0;
      out->ok++;
    } else if (out->failed++ == 0) {
      snprintf(out->first_error, sizeof(out->first_error), "%s (status %ld)",
               error[0] ? error : curl_easy_strerror(rc), status);
    }
  }
  out->seconds = (gu_now_ms() - start) / 1e3;
  out->per_second = (double)out->ok / out->seconds;
  size_t n = out->ok < MAX_SAMPLES ? (size_t)out->ok : MAX_SAMPLES;
  bs_sort(samples, n);
  out->p50_ms = bs_percentile(samples, n, 50);
  out->p99_ms = bs_percentile(samples, n, 99);
  curl_easy_cleanup(h);
  curl_slist_free_all(resolve);
}

static void print_result(const char *label, const client_result *r) {
  printf("  %-22s %7.0f requests/s  p50 %6.3f ms  p99 %6.3f ms  (%ld in %.2f s, %ld failed, "
         "%ld client connection(s))\n",
         label, r->per_second, r->p50_ms, r->p99_ms, r->ok, r->seconds, r->failed, r->connections);
  if (r->failed > 0)
    printf("    first failure: %s\n", r->first_error);
}

static int bench_requests(const char *dir) {
  char chain[BS_PATH_MAX], key[BS_PATH_MAX], root[BS_PATH_MAX], spec[3 * BS_PATH_MAX];
  char sim_dir[BS_PATH_MAX], url[64];
  bs_join(chain, dir, "server.chain.pem");
  bs_join(key, dir, "server.key");
  bs_join(root, dir, "root.pem");
  snprintf(spec, sizeof(spec), "bench:cert=%s,key=%s", chain, key);
  bs_process *backend = st_backend(dir, spec);
  if (backend == NULL) {
    fprintf(stderr, "bench: %s\n", st_error());
    return -1;
  }
  int backend_port = bs_port(backend, "bench");
  snprintf(url, sizeof(url), "https://localhost:%d", backend_port);
  const char *extra[] = {"--trust", root, "--server-cert", chain, "--server-key", key, NULL};
  st_sim_opts opts = {.dir = bs_join(sim_dir, dir, "proxy"), .extra = extra};
  st_sim sim;
  if (st_sim_start(&sim, &opts) != 0) {
    bs_stop(backend);
    return -1;
  }
  int rc = 0;
  if (st_create_api(&sim, "Bench", "/bench", "1.0", url, NULL) != 201) {
    fprintf(stderr, "bench: creating the API failed: %s\n", st_error());
    rc = -1;
  }
  client_result via_keep, direct_keep, via_fresh, direct_fresh, mtls_keep, mtls_fresh;
  char client_chain[BS_PATH_MAX], client_key[BS_PATH_MAX];
  bs_join(client_chain, dir, "client.chain.pem");
  bs_join(client_key, dir, "client.key");
  if (rc == 0) {
    run_client(sim.https, "/bench/1.0/menaka", root, 0, REQUEST_SECONDS, NULL, NULL, 200,
               &via_keep);
    run_client(backend_port, "/menaka", root, 0, REQUEST_SECONDS, NULL, NULL, 200, &direct_keep);
    run_client(sim.https, "/bench/1.0/menaka", root, 1, REQUEST_SECONDS, NULL, NULL, 200,
               &via_fresh);
    run_client(backend_port, "/menaka", root, 1, REQUEST_SECONDS, NULL, NULL, 200, &direct_fresh);
    printf("sequential GETs, one libcurl handle, TLS verified against the catalogue root:\n");
    printf(" one keep-alive client connection (handle reused):\n");
    print_result("via gatecert-sim", &via_keep);
    print_result("direct to the backend", &direct_keep);
    printf("  ratio sim/direct: %.2f\n",
           direct_keep.per_second > 0 ? via_keep.per_second / direct_keep.per_second : 0);
    printf(" a fresh client connection per request (full handshake, no session reuse):\n");
    print_result("via gatecert-sim", &via_fresh);
    print_result("direct to the backend", &direct_fresh);
    printf("  ratio sim/direct: %.2f\n",
           direct_fresh.per_second > 0 ? via_fresh.per_second / direct_fresh.per_second : 0);
    printf(" note: gatecert-sim opens a new TLS connection to the backend for every proxied\n"
           "       request by design (no pooling, no session reuse), so even over one client\n"
           "       connection each request pays a full backend handshake.\n");
    /* client mutual TLS: the listener (verify_client optional, the default)
     * verifies client.pem's chain against its trust (--trust root.pem) */
    run_client(sim.https, "/bench/1.0/menaka", root, 0, REQUEST_SECONDS, client_chain, client_key,
               200, &mtls_keep);
    run_client(sim.https, "/bench/1.0/menaka", root, 1, REQUEST_SECONDS, client_chain, client_key,
               200, &mtls_fresh);
    printf(" client mutual TLS (the catalogue's client certificate presented to gatecert-sim):\n");
    print_result("mTLS keep-alive", &mtls_keep);
    printf("  ratio mTLS/no client cert, keep-alive: %.2f\n",
           via_keep.per_second > 0 ? mtls_keep.per_second / via_keep.per_second : 0);
    print_result("mTLS full handshake", &mtls_fresh);
    printf("  ratio mTLS/no client cert, full handshake: %.2f\n",
           via_fresh.per_second > 0 ? mtls_fresh.per_second / via_fresh.per_second : 0);
    /* the listener alone: no API at the path, a 404 fault without any backend
     * call, so the figures are the client handshake's own cost; plain and
     * mTLS alternate in short slices so that load on the machine hits both */
    client_result plain_404[2], mtls_404[2], slice;
    memset(plain_404, 0, sizeof(plain_404));
    memset(mtls_404, 0, sizeof(mtls_404));
    for (int fresh = 0; fresh < 2; fresh++)
      for (int round = 0; round < LISTENER_SLICES; round++) {
        for (int with_cert = 0; with_cert < 2; with_cert++) {
          run_client(sim.https, "/no/such/api", root, fresh, REQUEST_SECONDS / LISTENER_SLICES,
                     with_cert ? client_chain : NULL, with_cert ? client_key : NULL, 404, &slice);
          client_result *sum = with_cert ? &mtls_404[fresh] : &plain_404[fresh];
          sum->ok += slice.ok;
          sum->failed += slice.failed;
          sum->connections += slice.connections;
          sum->seconds += slice.seconds;
          sum->p50_ms += slice.p50_ms / LISTENER_SLICES; /* mean of the slices' medians */
          sum->p99_ms = slice.p99_ms > sum->p99_ms ? slice.p99_ms : sum->p99_ms;
          if (slice.failed && !sum->first_error[0])
            memcpy(sum->first_error, slice.first_error, sizeof(slice.first_error));
        }
      }
    printf(" the listener alone (a 404 fault, no backend call), plain and mTLS alternating:\n");
    for (int fresh = 0; fresh < 2; fresh++) {
      plain_404[fresh].per_second = (double)plain_404[fresh].ok / plain_404[fresh].seconds;
      mtls_404[fresh].per_second = (double)mtls_404[fresh].ok / mtls_404[fresh].seconds;
      print_result(fresh ? "no cert, handshake" : "no cert, keep-alive", &plain_404[fresh]);
      print_result(fresh ? "mTLS, handshake" : "mTLS, keep-alive", &mtls_404[fresh]);
      printf("  ratio mTLS/no client cert, %s: %.2f\n", fresh ? "full handshake" : "keep-alive",
             plain_404[fresh].per_second > 0
                 ? mtls_404[fresh].per_second / plain_404[fresh].per_second
                 : 0);
    }
    printf("  (p50 here: the mean of %d slices' medians; p99: the worst slice's)\n",
           LISTENER_SLICES);
    json_t *status = NULL;
    if (st_status(&sim, &status) == 0) {
      printf(" gatecert-sim counted %lld proxied requests, %lld faults\n",
             (long long)json_integer_value(bs_json_at(status, "stats.proxied")),
             (long long)json_integer_value(bs_json_at(status, "stats.faults")));
      json_decref(status);
    }
    if (via_keep.ok == 0 || direct_keep.ok == 0 || via_fresh.ok == 0 || direct_fresh.ok == 0 ||
        mtls_keep.ok == 0 || mtls_fresh.ok == 0 || mtls_404[0].ok == 0 || mtls_404[1].ok == 0)
      rc = -1;
  }
  if (st_sim_stop(&sim) != 0) {
    fprintf(stderr, "bench: stopping gatecert-sim: %s\n", st_error());
    rc = -1;
  }
  if (bs_stop(backend) != 0) {
    fprintf(stderr, "bench: stopping the backend: %s\n", bs_error());
    rc = -1;
  }
  return rc;
}

int main(void) {
  char dir[BS_PATH_MAX];
  if (bs_bench_dir(dir, "/tmp/bench_sim.XXXXXX") != 0) {
    perror("bench: scratch directory");
    return 1;
  }
  if (getenv("GATECERT_SIM_BIN") == NULL) {
    fprintf(stderr, "bench: GATECERT_SIM_BIN is not set\n");
    return 1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = bench_starts(dir);
  if (rc == 0 && bs_make_catalogue(time(NULL), dir) != 0) {
    fprintf(stderr, "bench: %s\n", bs_error());
    rc = -1;
  }
  if (rc == 0)
    rc = bench_requests(dir);
  if (bs_orphans(NULL) != 0) {
    fprintf(stderr, "bench: %s\n", bs_error());
    rc = -1;
  }
  curl_global_cleanup();
  return rc == 0 ? 0 : 1;
}
