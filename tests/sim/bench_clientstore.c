/* bench_clientstore.c - gatecert-sim with 10 to 100,000 client certificates,
 * and its client-mTLS handshake rate beside OpenSSL's one-core bound
 * (issue 16). Prints figures and ratios; asserts nothing about speed.
 *
 * The certificates: one CA key and one EC P-256 key for every leaf (the
 * simulator keys client certificates by serial + issuer, so the leaves
 * differ by serial and subject only), made once with the certs factory. A
 * store of n is written straight into the simulator's SQLite file (one
 * transaction, synchronous off: filling it through the admin API would time
 * fsync n times, not the simulator), after a first start made the store and
 * the API. Then, for n = 10, 1,000, 10,000, 100,000:
 *   - start to READY with n stored (both listener views built from the store)
 *     and the resident memory (VmRSS) after it; memory per certificate is
 *     the RSS difference to n = 10 over the difference in n;
 *   - upload: UPLOADS client certificates through the admin API (multipart,
 *     each stored with SQLite's synchronous=FULL as in production), p50/p99;
 *   - reload: POST /_sim/reload applying those UPLOADS additions to the
 *     handshake trust and the in-memory trust of n, then once more with
 *     nothing pending (a no-op; the listener generation must not move);
 *   - handshake + auth: a fresh TLS connection presenting one stored leaf to
 *     an API secured with mutualssl_mandatory whose backend port is closed,
 *     so a request that passed the security chain is answered 500 (101503)
 *     and one that did not, 401; HANDSHAKES requests, p50/p99, and the ratio
 *     to n = 10.
 * The handshake rate: HANDSHAKES fresh connections with the client
 * certificate to a path without an API (404: the listener alone), the
 * simulator's CPU time (utime + stime from /proc) per handshake, beside
 * `openssl speed -seconds 1 ecdsap256 ecdhp256` on one core: the server's
 * crypto of a TLS 1.3 mTLS handshake is one ECDSA sign, two verifies (the
 * client's certificate and its CertificateVerify) and one ECDH (key
 * generation is counted as a second one), so the bound is
 * 1 / (t_sign + 2 t_verify + 2 t_ecdh) handshakes per CPU-second.
 * `uptime` is printed first: the machine may be shared.
 *
 * Every process is stopped by pid; exits non-zero only when something does
 * not start, stop or answer at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/pem.h>
#include <sqlite3.h>

#include "backend_support.h"
#include "gcert.h"
#include "gutil.h"
#include "sim_fixture.h"

#define MAX_N      100000
#define UPLOADS    100
#define LPATH      (BS_PATH_MAX + 64) /* a scratch path and a file name */
#define HANDSHAKES 200
#define API_NAME   "store"

static const size_t SERIES[] = {10, 1000, 10000, 100000};

typedef struct pki {
  gcert_item ca;
  EVP_PKEY *leaf_key;
  unsigned char **der; /* max_n stored leaves, then UPLOADS more */
  size_t max_n;
  int *der_len;
} pki;

static int make_pki(pki *k, size_t count) {
  gcert_spec spec;
  gcert_error err = {0};
  gcert_spec_init(&spec, GCERT_KIND_CA);
  spec.subject = "CN=bench client CA,O=gatecert";
  if (gcert_issue(&spec, time(NULL), NULL, NULL, &k->ca, &err) != GCERT_OK ||
      gcert_key_generate(GCERT_KEY_EC_P256, &k->leaf_key, &err) != GCERT_OK) {
    fprintf(stderr, "bench: %s\n", err.message);
    return -1;
  }
  k->der = calloc(count, sizeof(*k->der));
  k->der_len = calloc(count, sizeof(*k->der_len));
  if (!k->der || !k->der_len)
    return -1;
  /* one leaf from the factory (its extensions, validity, key), then the
   * others from it: a new serial and subject, signed again by the CA */
  gcert_spec_init(&spec, GCERT_KIND_CLIENT);
  spec.subject = "CN=client,O=gatecert";
  gcert_item leaf = {0};
  if (gcert_issue(&spec, time(NULL), &k->ca, k->leaf_key, &leaf, &err) != GCERT_OK) {
    fprintf(stderr, "bench: leaf: %s\n", err.message);
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < count; i++) {
    char cn[32];
    snprintf(cn, sizeof(cn), "client %zu", i);
    X509_NAME *name = X509_NAME_new();
    ASN1_INTEGER *serial = ASN1_INTEGER_new();
    rc = name && serial && ASN1_INTEGER_set_uint64(serial, 1000 + (uint64_t)i) == 1 &&
                 X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                            -1, -1, 0) == 1 &&
                 X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                            (const unsigned char *)"gatecert", -1, -1, 0) == 1 &&
                 X509_set_subject_name(leaf.cert, name) == 1 &&
                 X509_set_serialNumber(leaf.cert, serial) == 1 &&
                 X509_sign(leaf.cert, k->ca.key, EVP_sha256()) > 0 &&
                 (k->der_len[i] = i2d_X509(leaf.cert, &k->der[i])) > 0
             ? 0
             : -1;
    X509_NAME_free(name);
    ASN1_INTEGER_free(serial);
  }
  gcert_item_free(&leaf);
  return rc;
}

static void free_pki(pki *k, size_t count) {
  for (size_t i = 0; k->der && i < count; i++)
    OPENSSL_free(k->der[i]);
  free(k->der);
  free(k->der_len);
  gcert_item_free(&k->ca);
  EVP_PKEY_free(k->leaf_key);
}

/* Leaf i as PEM files (certificate, and the shared key) in dir. */
static int write_leaf(const pki *k, size_t i, const char *dir, char cert[2 * LPATH],
                      char key[2 * LPATH]) {
  snprintf(cert, (size_t)2 * LPATH, "%s/leaf%zu.pem", dir, i);
  snprintf(key, (size_t)2 * LPATH, "%s/leaf.key", dir);
  const unsigned char *p = k->der[i];
  X509 *x = d2i_X509(NULL, &p, k->der_len[i]);
  FILE *f = fopen(cert, "w");
  int ok = x && f && PEM_write_X509(f, x) == 1;
  if (f)
    ok = fclose(f) == 0 && ok;
  X509_free(x);
  f = fopen(key, "w");
  if (f)
    chmod(key, 0600);
  ok = ok && f && PEM_write_PrivateKey(f, k->leaf_key, NULL, NULL, 0, NULL, NULL) == 1;
  if (f)
    ok = fclose(f) == 0 && ok;
  return ok ? 0 : -1;
}

/* n rows of kind client_cert for api, straight into the store file. */
static int fill_store(const char *db_path, const char *api, const pki *k, size_t n) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_open(db_path, &db);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(db, "PRAGMA synchronous = OFF; BEGIN", NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(db,
                            "INSERT INTO objects(kind, key, json, blob, created_ms, updated_ms, "
                            "seq) VALUES('client_cert', ?, ?, ?, ?, ?, ?)",
                            -1, &st, NULL);
  sqlite3_int64 now = (sqlite3_int64)gu_now_ms();
  for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
    char key[160], json[256];
    snprintf(key, sizeof(key), "%s/PRODUCTION/c%zu", api, i);
    snprintf(json, sizeof(json),
             "{\"alias\":\"c%zu\",\"apiId\":\"%s\",\"tier\":\"Unlimited\",\"keyType\":"
             "\"PRODUCTION\"}",
             i, api);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, json, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 3, k->der[i], k->der_len[i], SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)1000000 + (sqlite3_int64)i);
    rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    fprintf(stderr, "bench: filling the store: %s\n", sqlite3_errmsg(db));
  sqlite3_close(db);
  return rc == SQLITE_OK ? 0 : -1;
}

static long rss_kb(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  while (f && fgets(line, sizeof(line), f))
    if (strncmp(line, "VmRSS:", 6) == 0)
      kb = strtol(line + 6, NULL, 10);
  if (f)
    fclose(f);
  return kb;
}

static double cpu_ms(pid_t pid) {
  char path[64], buf[2048];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  size_t len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
  if (f)
    fclose(f);
  buf[len] = '\0';
  const char *p = strrchr(buf, ')'); /* after the command name */
  unsigned long utime = 0, stime = 0;
  /* /proc/PID/stat is the kernel's; a short read is -1 */
  if (!p ||
      // NOLINTNEXTLINE(cert-err34-c)
      sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
    return -1;
  return (double)(utime + stime) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p) {
  qsort(v, n, sizeof(*v), cmp_double);
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return n ? v[i] : 0;
}

// NOLINTNEXTLINE(readability-non-const-parameter): CURLOPT_WRITEFUNCTION's signature
static size_t sink(char *data, size_t size, size_t nmemb, void *arg) {
  (void)data;
  (void)arg;
  return size * nmemb;
}

/* One GET on a fresh connection presenting cert/key: the status, 0 on failure. */
static long tls_get(int port, const char *path, const char *cert, const char *key, double *ms) {
  CURL *c = curl_easy_init();
  char url[256];
  snprintf(url, sizeof(url), "https://localhost:%d%s", port, path);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
  curl_easy_setopt(c, CURLOPT_SSLKEY, key);
  curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
  double t0 = gu_now_ms();
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  *ms = gu_now_ms() - t0;
  curl_easy_cleanup(c);
  return status;
}

static int start(st_sim *sim, const char *dir, const char *const *extra) {
  st_sim_opts opts = {.dir = dir, .extra = extra, .ready_timeout_ms = 600000};
  if (st_sim_start(sim, &opts) != 0) {
    fprintf(stderr, "bench: %s\n", st_error());
    return -1;
  }
  return 0;
}

typedef struct figures {
  size_t n;
  double ready_ms, upload_p50, upload_p99, reload_ms, noop_ms, hs_p50, hs_p99;
  long rss_kb;
} figures;

static int one_size(const char *root, const pki *k, size_t n, figures *f) {
  char dir[LPATH], db[LPATH + 32], cert[2 * LPATH], key[2 * LPATH];
  snprintf(dir, sizeof(dir), "%s/n%zu", root, n);
  const char *extra[] = {"--max-client-certs", "1000000", NULL};
  st_sim sim;
  char api[64];
  memset(f, 0, sizeof(*f));
  f->n = n;
  /* a first start makes the store and the API (backend: a closed port) */
  if (start(&sim, dir, extra) != 0)
    return -1;
  char body[512];
  snprintf(body, sizeof(body),
           "{\"name\":\"" API_NAME "\",\"context\":\"/" API_NAME "\",\"version\":\"1.0\","
           "\"securityScheme\":[\"mutualssl\",\"mutualssl_mandatory\"],"
           "\"endpointConfig\":{\"production_endpoints\":{\"url\":\"https://127.0.0.1:%d/\"}}}",
           gu_free_port(NULL, 0));
  st_reply r;
  if (st_admin(&sim, "POST", ST_APIS, body, &r) != 0 || r.status != 201 || !r.json) {
    fprintf(stderr, "bench: creating the API: %ld %s\n", r.status, r.body ? r.body : "");
    return -1;
  }
  snprintf(api, sizeof(api), "%s", json_string_value(json_object_get(r.json, "id")));
  st_reply_free(&r);
  if (st_sim_stop(&sim) != 0)
    return -1;
  snprintf(db, sizeof(db), "%s/state/gatecert-sim.db", dir);
  double t0 = gu_now_ms();
  if (fill_store(db, api, k, n) != 0)
    return -1;
  printf("# n=%zu: store filled in %.0f ms\n", n, gu_now_ms() - t0);
  t0 = gu_now_ms();
  if (st_sim_restart(&sim) != 0) {
    fprintf(stderr, "bench: %s\n", st_error());
    return -1;
  }
  f->ready_ms = gu_now_ms() - t0;
  f->rss_kb = rss_kb(sim.proc->pid);
  if (st_status_i64(&sim, "listener.client_certificates") != (int64_t)n) {
    fprintf(stderr, "bench: the simulator holds %lld, not %zu\n",
            (long long)st_status_i64(&sim, "listener.client_certificates"), n);
    return -1;
  }
  /* uploads at n */
  double lat[HANDSHAKES > UPLOADS ? HANDSHAKES : UPLOADS];
  for (size_t i = 0; i < UPLOADS; i++) {
    const pki *kk = k;
    char alias[32];
    snprintf(alias, sizeof(alias), "u%zu", i);
    st_part parts[] = {
        {"certificate", kk->der[kk->max_n + i], (size_t)kk->der_len[kk->max_n + i], "c.der"},
        {"alias", alias, strlen(alias), NULL}};
    t0 = gu_now_ms();
    if (st_upload_client_cert(&sim, api, parts, 2, &r) != 0 || r.status != 201) {
      fprintf(stderr, "bench: upload %zu: %ld %s\n", i, r.status, r.body ? r.body : "");
      return -1;
    }
    lat[i] = gu_now_ms() - t0;
    st_reply_free(&r);
  }
  f->upload_p99 = pct(lat, UPLOADS, 0.99);
  f->upload_p50 = pct(lat, UPLOADS, 0.50);
  /* the reload applying them, then one with nothing pending */
  int64_t generation = st_status_i64(&sim, "listener.profile.generation");
  for (int pass = 0; pass < 2; pass++) {
    t0 = gu_now_ms();
    if (st_admin(&sim, "POST", "/_sim/reload", NULL, &r) != 0 || r.status != 200)
      return -1;
    st_reply_free(&r);
    *(pass ? &f->noop_ms : &f->reload_ms) = gu_now_ms() - t0;
  }
  if (st_status_i64(&sim, "listener.profile.generation") != generation + 1) {
    fprintf(stderr, "bench: the no-op reload moved the generation\n");
    return -1;
  }
  /* handshake + auth with stored leaf n/2 */
  if (write_leaf(k, n / 2, dir, cert, key) != 0)
    return -1;
  size_t ok = 0;
  for (size_t i = 0; i < HANDSHAKES; i++) {
    long status = tls_get(sim.https, "/" API_NAME "/1.0/x", cert, key, &lat[i]);
    ok += status == 500; /* passed the chain; the backend port is closed */
  }
  f->hs_p99 = pct(lat, HANDSHAKES, 0.99);
  f->hs_p50 = pct(lat, HANDSHAKES, 0.50);
  if (ok != HANDSHAKES) {
    fprintf(stderr, "bench: n=%zu: %zu of %d requests passed the security chain\n", n, ok,
            HANDSHAKES);
    return -1;
  }
  /* freeing n decoded certificates takes time: a stop past the fixture's wait
   * (SIGKILL) is reported, not counted as a failure of the figures */
  t0 = gu_now_ms();
  if (st_sim_stop(&sim) != 0)
    printf("# n=%zu: no exit within the fixture's wait after SIGTERM (killed after %.0f ms): %s\n",
           n, gu_now_ms() - t0, st_error());
  else
    printf("# n=%zu: SIGTERM to exit %.0f ms\n", n, gu_now_ms() - t0);
  return 0;
}

/* openssl speed's one-core figures: sign/s, verify/s of ecdsap256, op/s of ecdhp256. */
static int openssl_speed(double *sign, double *verify, double *ecdh) {
  // NOLINTNEXTLINE(cert-env33-c): a fixed command, no input in it
  FILE *p = popen("openssl speed -seconds 1 ecdsap256 ecdhp256 2>/dev/null", "r");
  char line[512];
  *sign = *verify = *ecdh = 0;
  while (p && fgets(line, sizeof(line), p)) {
    double a, b, c;
    // NOLINTNEXTLINE(cert-err34-c): openssl speed's own figures; a line that does not match is skipped
    if (sscanf(line, " 256 bits ecdsa (nistp256) %lfs %lfs %lf %lf", &a, &b, sign, verify) == 4)
      continue;
    // NOLINTNEXTLINE(cert-err34-c): openssl speed's own figures; a line that does not match is skipped
    if (sscanf(line, " 256 bits ecdh (nistp256) %lfs %lf", &c, ecdh) == 2)
      continue;
  }
  if (p)
    pclose(p);
  return *sign > 0 && *verify > 0 && *ecdh > 0 ? 0 : -1;
}

static int handshake_rate(const char *root, const pki *k) {
  char dir[LPATH], cert[2 * LPATH], key[2 * LPATH];
  snprintf(dir, sizeof(dir), "%s/rate", root);
  /* the listener trusts the leaves' CA (--trust): the client certificate is
   * verified in every handshake */
  char ca[LPATH];
  snprintf(ca, sizeof(ca), "%s/ca.pem", root);
  FILE *f = fopen(ca, "w");
  int written = f && PEM_write_X509(f, k->ca.cert) == 1;
  if (f)
    written = fclose(f) == 0 && written;
  const char *extra[] = {"--trust", ca, NULL};
  st_sim sim;
  if (!written || write_leaf(k, 0, root, cert, key) != 0 || start(&sim, dir, extra) != 0)
    return -1;
  double cpu0 = cpu_ms(sim.proc->pid), t0 = gu_now_ms(), ms;
  size_t ok = 0;
  for (size_t i = 0; i < (size_t)HANDSHAKES * 5; i++)
    ok += tls_get(sim.https, "/no/such/api", cert, key, &ms) == 404;
  double cpu = cpu_ms(sim.proc->pid) - cpu0, wall = gu_now_ms() - t0;
  if (st_sim_stop(&sim) != 0 || ok == 0) {
    fprintf(stderr, "bench: handshake rate: %zu answers of %d\n", ok, HANDSHAKES * 5);
    return -1;
  }
  double sign, verify, ecdh;
  printf("\n## handshake rate (client certificate asked for and presented, TLS 1.3, no API)\n");
  printf("gatecert-sim: %zu handshakes, %.3f ms CPU each (%.0f per CPU-second), %.0f/s wall with "
         "one sequential client\n",
         ok, cpu / (double)ok, (double)ok * 1000.0 / cpu, (double)ok * 1000.0 / wall);
  if (openssl_speed(&sign, &verify, &ecdh) != 0) {
    printf("openssl speed: not available\n");
    return 0;
  }
  double bound_ms = 1000.0 / sign + 2000.0 / verify + 2000.0 / ecdh;
  printf("openssl speed (one core): ecdsap256 %.0f sign/s, %.0f verify/s; ecdhp256 %.0f op/s\n",
         sign, verify, ecdh);
  printf("bound: 1 sign + 2 verify + 2 ecdh = %.3f ms per handshake (%.0f per CPU-second)\n",
         bound_ms, 1000.0 / bound_ms);
  printf("ratio gatecert-sim CPU / bound: %.2fx\n", cpu / (double)ok / bound_ms);
  return 0;
}

int main(void) {
  char root[BS_PATH_MAX];
  if (bs_bench_dir(root, "/tmp/bench_clientstore.XXXXXX") != 0) {
    perror("bench: scratch directory");
    return 1;
  }
  if (getenv("GATECERT_SIM_BIN") == NULL) {
    fprintf(stderr, "bench: GATECERT_SIM_BIN is not set\n");
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0); /* progress visible under ctest -V */
  // NOLINTNEXTLINE(cert-env33-c): a fixed command, no input in it
  FILE *up = popen("uptime", "r");
  char line[256];
  if (up && fgets(line, sizeof(line), up))
    printf("# uptime: %s", line);
  if (up)
    pclose(up);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  pki k;
  memset(&k, 0, sizeof(k));
  double t0 = gu_now_ms();
  /* GATECERT_BENCH_CLIENTS: the largest store of the series (default 100000) */
  const char *limit = getenv("GATECERT_BENCH_CLIENTS");
  k.max_n = limit ? strtoul(limit, NULL, 10) : MAX_N;
  if (k.max_n < 10 || k.max_n > MAX_N)
    k.max_n = MAX_N;
  int rc = make_pki(&k, k.max_n + UPLOADS);
  printf("# %zu leaf certificates made in %.1f s (one CA key, one leaf key)\n", k.max_n + UPLOADS,
         (gu_now_ms() - t0) / 1000.0);
  figures f[sizeof(SERIES) / sizeof(SERIES[0])];
  size_t done = 0;
  for (size_t i = 0; rc == 0 && i < sizeof(SERIES) / sizeof(SERIES[0]) && SERIES[i] <= k.max_n;
       i++) {
    rc = one_size(root, &k, SERIES[i], &f[i]);
    done += rc == 0;
  }
  if (done > 0) {
    printf("\n## client store scale (upload: %d through the admin API; reload: applying them; "
           "handshake+auth: %d fresh connections)\n",
           UPLOADS, HANDSHAKES);
    printf("| stored | start to READY ms | RSS MiB | upload p50 ms | upload p99 ms | reload ms | "
           "no-op reload ms | handshake+auth p50 ms | p99 ms | p50 vs n=10 |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < done; i++)
      printf("| %zu | %.0f | %.1f | %.2f | %.2f | %.1f | %.1f | %.2f | %.2f | %.2fx |\n", f[i].n,
             f[i].ready_ms, (double)f[i].rss_kb / 1024.0, f[i].upload_p50, f[i].upload_p99,
             f[i].reload_ms, f[i].noop_ms, f[i].hs_p50, f[i].hs_p99, f[i].hs_p50 / f[0].hs_p50);
    if (done > 1)
      printf("memory per stored certificate: %.0f bytes (RSS difference n=%zu vs n=10)\n",
             (double)(f[done - 1].rss_kb - f[0].rss_kb) * 1024.0 / (double)(f[done - 1].n - f[0].n),
             f[done - 1].n);
  }
  if (rc == 0)
    rc = handshake_rate(root, &k);
  free_pki(&k, k.max_n + UPLOADS);
  if (bs_orphans(NULL) != 0) {
    fprintf(stderr, "bench: %s\n", bs_error());
    rc = -1;
  }
  curl_global_cleanup();
  return rc == 0 ? 0 : 1;
}
