/* bench_backend.c - how fast a gatecert-backend is ready, and how many
 * fresh-connection HTTPS requests it answers per second.
 *
 * Prints figures, asserts nothing about speed (machines differ). Measures:
 *   - start to READY-ALL: fork/exec of one TLS backend until its last READY
 *     line is read, median of ROUNDS runs (target: under 20 ms, printed as
 *     met / NOT met); each run is stopped with SIGTERM before the next;
 *   - the same for the whole --catalogue (22 backends, certificates made);
 *   - requests/s: sequential libcurl GETs for 2 s, each on a new connection
 *     with a full TLS 1.3 handshake (no reuse, no session cache), as the
 *     harness's client makes them.
 * Exits non-zero only if a backend fails to start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backend_support.h"
#include "gcert.h"

#define ROUNDS           30
#define CATALOGUE_ROUNDS 5
#define REQUEST_SECONDS  2.0
#define READY_TARGET_MS  20.0

/* Times `rounds` starts of args; fills the sorted samples. 0 or -1. */
static int time_starts(const char *dir, const char *const *args, double *samples, int rounds) {
  for (int i = 0; i < rounds; i++) {
    bs_start_opts opts = {.args = args, .scratch_dir = dir};
    double t0 = gu_now_ms();
    bs_process *p = bs_start(&opts);
    double t1 = gu_now_ms();
    if (p == NULL) {
      fprintf(stderr, "bench: backend did not start: %s\n", bs_error());
      return -1;
    }
    samples[i] = t1 - t0;
    if (bs_stop(p) != 0)
      fprintf(stderr, "bench: stop: %s\n", bs_error());
  }
  return 0;
}

int main(void) {
  char dir[BS_PATH_MAX];
  if (bs_bench_dir(dir, "/tmp/bench_backend.XXXXXX") != 0) {
    perror("bench: scratch directory");
    return 1;
  }
  if (bs_make_catalogue(time(NULL), dir) != 0) {
    fprintf(stderr, "bench: %s\n", bs_error());
    return 1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);

  char cert[BS_PATH_MAX], key[BS_PATH_MAX], ca[BS_PATH_MAX], spec[3 * BS_PATH_MAX];
  snprintf(spec, sizeof(spec), "bench:cert=%s,key=%s", bs_join(cert, dir, "server.chain.pem"),
           bs_join(key, dir, "server.key"));
  const char *one[] = {"--backend", spec, NULL};
  double samples[ROUNDS];
  if (time_starts(dir, one, samples, ROUNDS) != 0)
    return 1;
  double med = bs_median(samples, ROUNDS); /* sorts: min and max after it */
  printf("start to READY, one TLS backend:  median %6.2f ms  min %6.2f  max %6.2f  (%d runs)\n",
         med, samples[0], samples[ROUNDS - 1], ROUNDS);
  printf("  target < %.0f ms: %s\n", READY_TARGET_MS, med < READY_TARGET_MS ? "met" : "NOT met");

  char certs[BS_PATH_MAX];
  bs_join(certs, dir, "catalogue");
  mkdir(certs, 0700);
  const char *cat_args[] = {"--catalogue", "--certs-dir", certs, NULL};
  double cat_samples[CATALOGUE_ROUNDS];
  if (time_starts(dir, cat_args, cat_samples, CATALOGUE_ROUNDS) != 0)
    return 1;
  double cat_med = bs_median(cat_samples, CATALOGUE_ROUNDS); /* sorts: min and max after it */
  printf("start to READY-ALL, --catalogue:  median %6.2f ms  min %6.2f  max %6.2f  (%d runs)\n",
         cat_med, cat_samples[0], cat_samples[CATALOGUE_ROUNDS - 1], CATALOGUE_ROUNDS);

  bs_start_opts opts = {.args = one, .scratch_dir = dir};
  bs_process *p = bs_start(&opts);
  if (p == NULL) {
    fprintf(stderr, "bench: backend did not start: %s\n", bs_error());
    return 1;
  }
  bs_request req = {
      .port = bs_port(p, "bench"), .path = "/menaka", .cainfo = bs_join(ca, dir, "root.pem")};
  enum { MAX_SAMPLES = 100000 };
  static double total_ms[MAX_SAMPLES], handshake_ms[MAX_SAMPLES], first_byte_ms[MAX_SAMPLES];
  long ok = 0, failed = 0;
  double start = gu_now_ms(), end = start + REQUEST_SECONDS * 1e3;
  char first_error[CURL_ERROR_SIZE] = "";
  while (gu_now_ms() < end) {
    bs_response res;
    if (bs_http(&req, &res) == CURLE_OK && res.status == 200) {
      if (ok < MAX_SAMPLES) {
        total_ms[ok] = res.elapsed_ms;
        handshake_ms[ok] = res.handshake_ms;
        first_byte_ms[ok] = res.first_byte_ms;
      }
      ok++;
    } else {
      if (failed++ == 0)
        snprintf(first_error, sizeof(first_error), "%s", res.error);
    }
    bs_response_free(&res);
  }
  double secs = (gu_now_ms() - start) / 1e3;
  printf("fresh-connection TLS 1.3 GETs:    %7.0f requests/s  (%ld in %.2f s, %ld failed)\n",
         (double)ok / secs, ok, secs, failed);
  if (ok > 0) {
    size_t n = ok < MAX_SAMPLES ? (size_t)ok : MAX_SAMPLES;
    printf("  median per request: TLS handshake done %.2f ms, first byte %.2f ms, "
           "complete %.2f ms\n",
           bs_median(handshake_ms, n), bs_median(first_byte_ms, n), bs_median(total_ms, n));
  }
  if (failed > 0)
    printf("  first failure: %s\n", first_error);
  if (bs_stop(p) != 0)
    fprintf(stderr, "bench: stop: %s\n", bs_error());
  curl_global_cleanup();
  return 0;
}
