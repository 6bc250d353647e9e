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
 *   - start to READY with n stored (both listener views built from the store),
 *     its CPU time (utime + stime: the machine may be shared) and the
 *     resident memory (VmRSS) after it; memory per certificate is
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
 * At the largest n the simulator runs on a fake clock (libfaketime, starting
 * at the real time) and, before it stops, carries a steady load: LOAD fresh
 * mTLS connections through the security chain, PARALLEL at a time (libcurl
 * multi), once without reloads and once across RELOADS reloads - each an
 * upload through the admin API (a transfer of the same multi handle) and
 * then the fake clock stepped past the next listener SSL profile and trust
 * store reloader ticks, which the simulator applies at the next request it
 * serves; p50/p99/max of both phases, of the requests completed just after
 * each step, and the ratio of the p99s. No real sleep waits for fake time.
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
#define LOAD       600 /* requests per phase of the steady load */
#define PARALLEL   4   /* connections of the steady load at once */
#define RELOADS    6   /* listener ticks applying a change during the second phase */

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

static int start(st_sim *sim, const char *dir, const char *const *extra, const char *clock) {
  st_sim_opts opts = {.dir = dir, .extra = extra, .ready_timeout_ms = 600000, .clock = clock};
  if (st_sim_start(sim, &opts) != 0) {
    fprintf(stderr, "bench: %s\n", st_error());
    return -1;
  }
  return 0;
}

typedef struct figures {
  size_t n;
  char api[64];
  double ready_ms, ready_cpu_ms, upload_cpu_ms, upload_p50, upload_p99, reload_ms, noop_ms, hs_p50,
      hs_p99;
  long rss_kb;
} figures;

/* ---- a steady load across reloads ------------------------------------------ */

typedef struct load_req {
  CURL *h;
  curl_mime *mime; /* an upload (admin API), NULL for a load request */
  double started_ms;
} load_req;

static CURL *load_handle(int port, const char *cert, const char *key) {
  CURL *c = curl_easy_init();
  char url[256];
  snprintf(url, sizeof(url), "https://localhost:%d/" API_NAME "/1.0/x", port);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
  curl_easy_setopt(c, CURLOPT_SSLKEY, key);
  curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
  return c;
}

/* An upload of certificate i as alias, through the admin API, as a transfer
 * of the same multi handle (the load is never paused by it). */
static CURL *upload_handle(const st_sim *sim, const char *api, const pki *k, size_t i,
                           const char *alias, curl_mime **mime) {
  CURL *c = curl_easy_init();
  char url[256];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d" ST_APIS "/%s/client-certificates", sim->admin,
           api);
  *mime = curl_mime_init(c);
  curl_mimepart *part = curl_mime_addpart(*mime);
  curl_mime_name(part, "certificate");
  curl_mime_data(part, (const char *)k->der[i], (size_t)k->der_len[i]);
  curl_mime_filename(part, "c.der");
  part = curl_mime_addpart(*mime);
  curl_mime_name(part, "alias");
  curl_mime_data(part, alias, CURL_ZERO_TERMINATED);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_MIMEPOST, *mime);
  curl_easy_setopt(c, CURLOPT_USERPWD, ST_USER ":" ST_PASSWORD);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
  return c;
}

typedef struct load_figures {
  double p50, p99, max;
  size_t count, failed;
} load_figures;

static void summarize(double *v, size_t n, load_figures *out) {
  out->count = n;
  out->p99 = pct(v, n, 0.99);
  out->p50 = pct(v, n, 0.50);
  out->max = n ? v[n - 1] : 0; /* sorted by pct */
}

/* LOAD requests (PARALLEL at a time, each a fresh mTLS connection through
 * the security chain: 500 expected, the backend port being closed). With
 * reloads, RELOADS times: an upload of a new client certificate, then, a
 * third of the way further, the fake clock stepped past the next listener
 * SSL profile tick and trust store reloader tick, which the simulator applies
 * at the next request it serves (the tick runs on the event loop, so the
 * requests in flight wait for it). `all` gets every latency, `near` the
 * PARALLEL * 2 requests completed after each clock step. 0, or -1. */
static int load_phase(st_sim *sim, const char *api, const pki *k, size_t first_upload, int reloads,
                      int64_t t0, const char *cert, const char *key, load_figures *all,
                      load_figures *near) {
  CURLM *m = curl_multi_init();
  double lat[LOAD], lat_near[RELOADS * PARALLEL * 2];
  size_t started = 0, done = 0, n_near = 0, failed = 0, uploads_done = 0;
  size_t near_left = 0;
  int event = 0;
  size_t step = LOAD / (RELOADS + 1);
  load_req reqs[PARALLEL + 1];
  memset(reqs, 0, sizeof(reqs));
  int running = 0, rc = 0;
  while (done < LOAD && rc == 0) {
    /* keep PARALLEL load requests in flight */
    for (size_t slot = 0; slot < PARALLEL && started < LOAD; slot++)
      if (!reqs[slot].h) {
        reqs[slot].h = load_handle(sim->https, cert, key);
        reqs[slot].started_ms = gu_now_ms();
        curl_multi_add_handle(m, reqs[slot].h);
        started++;
      }
    /* the reload events, by completed requests */
    size_t due = step * (size_t)(event / 2 + 1) - (event % 2 == 0 ? step / 2 : 0);
    if (reloads && event < 2 * RELOADS && done >= due) {
      if (event % 2 == 0 && !reqs[PARALLEL].h) {
        char alias[32];
        snprintf(alias, sizeof(alias), "steady%d", event / 2);
        reqs[PARALLEL].h = upload_handle(sim, api, k, first_upload + (size_t)(event / 2), alias,
                                         &reqs[PARALLEL].mime);
        curl_multi_add_handle(m, reqs[PARALLEL].h);
        event++;
      } else if (event % 2 == 1 && !reqs[PARALLEL].h) { /* its upload answered */
        char when[32];
        time_t secs = (time_t)((t0 + (int64_t)(event / 2 + 1) * 600 * 1000 + 1000) / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        if (bs_faketime_set(sim->clock_file, when) != 0)
          rc = -1;
        near_left = (size_t)PARALLEL * 2;
        event++;
      }
    }
    curl_multi_perform(m, &running);
    CURLMsg *msg;
    int queued;
    while ((msg = curl_multi_info_read(m, &queued)) != NULL) {
      if (msg->msg != CURLMSG_DONE)
        continue;
      for (size_t slot = 0; slot <= PARALLEL; slot++) {
        if (reqs[slot].h != msg->easy_handle)
          continue;
        long status = 0;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        if (slot == PARALLEL) { /* the upload */
          if (status != 201) {
            fprintf(stderr, "bench: steady upload answered %ld\n", status);
            rc = -1;
          }
          uploads_done++;
          curl_mime_free(reqs[slot].mime);
        } else {
          double ms = gu_now_ms() - reqs[slot].started_ms;
          failed += status != 500;
          lat[done++] = ms;
          if (near_left > 0) {
            lat_near[n_near++] = ms;
            near_left--;
          }
        }
        curl_multi_remove_handle(m, reqs[slot].h);
        curl_easy_cleanup(reqs[slot].h);
        memset(&reqs[slot], 0, sizeof(reqs[slot]));
      }
    }
    if (done < LOAD)
      curl_multi_poll(m, NULL, 0, 100, NULL);
  }
  for (size_t slot = 0; slot <= PARALLEL; slot++)
    if (reqs[slot].h) {
      curl_multi_remove_handle(m, reqs[slot].h);
      curl_easy_cleanup(reqs[slot].h);
      curl_mime_free(reqs[slot].mime);
    }
  curl_multi_cleanup(m);
  summarize(lat, done, all);
  all->failed = failed;
  summarize(lat_near, n_near, near);
  (void)uploads_done;
  return rc;
}

/* The steady load at n stored (sim started under fake time): a phase
 * without reloads, a phase across RELOADS ticks that each apply one change,
 * and the ratio. */
static int reload_stall(st_sim *sim, const pki *k, const figures *f, const char *cert,
                        const char *key) {
  int64_t t0 = st_status_i64(sim, "started_ms");
  int64_t gen0 = st_status_i64(sim, "listener.profile.generation");
  load_figures base, base_near, across, near;
  if (load_phase(sim, f->api, k, 0, 0, t0, cert, key, &base, &base_near) != 0 ||
      load_phase(sim, f->api, k, k->max_n + UPLOADS, RELOADS, t0, cert, key, &across, &near) != 0)
    return -1;
  int64_t gen1 = st_status_i64(sim, "listener.profile.generation");
  printf("\n## steady load across reloads (n=%zu stored; %d fresh mTLS connections per phase, %d "
         "at a time, handshake + security chain)\n",
         f->n, LOAD, PARALLEL);
  printf("| phase | requests | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|\n");
  printf("| no reload | %zu | %.2f | %.2f | %.2f |\n", base.count, base.p50, base.p99, base.max);
  printf("| across %d reloads (each: an upload, then a tick applying it) | %zu | %.2f | %.2f | "
         "%.2f |\n",
         RELOADS, across.count, across.p50, across.p99, across.max);
  printf("| the %d requests completed after each clock step | %zu | %.2f | %.2f | %.2f |\n",
         PARALLEL * 2, near.count, near.p50, near.p99, near.max);
  printf("ratio p99 across reloads / without: %.2fx; listener generations applied: %lld (of %d); "
         "requests not answered 500: %zu\n",
         base.p99 > 0 ? across.p99 / base.p99 : 0, (long long)(gen1 - gen0), RELOADS,
         base.failed + across.failed);
  return gen1 - gen0 == RELOADS ? 0 : -1;
}

/* The figures at n stored; steady: the simulator on a fake clock (starting
 * at the real time, so the certificates are valid) and the steady load
 * across reloads measured before it stops. */
static int one_size(const char *root, const pki *k, size_t n, figures *f, int steady) {
  char dir[LPATH], db[LPATH + 32], cert[2 * LPATH], key[2 * LPATH];
  snprintf(dir, sizeof(dir), "%s/n%zu", root, n);
  const char *extra[] = {"--max-client-certs", "1000000", NULL};
  st_sim sim;
  char api[64];
  memset(f, 0, sizeof(*f));
  f->n = n;
  char now[32];
  time_t secs = time(NULL);
  struct tm tm;
  gmtime_r(&secs, &tm);
  strftime(now, sizeof(now), "%Y-%m-%d %H:%M:%S", &tm);
  /* a first start makes the store and the API (backend: a closed port) */
  if (start(&sim, dir, extra, steady ? now : NULL) != 0)
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
  snprintf(f->api, sizeof(f->api), "%s", api);
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
  f->ready_cpu_ms = cpu_ms(sim.proc->pid); /* the machine may be shared: CPU, not only wall */
  f->rss_kb = rss_kb(sim.proc->pid);
  if (st_status_i64(&sim, "listener.client_certificates") != (int64_t)n) {
    fprintf(stderr, "bench: the simulator holds %lld, not %zu\n",
            (long long)st_status_i64(&sim, "listener.client_certificates"), n);
    return -1;
  }
  /* uploads at n */
  double lat[HANDSHAKES > UPLOADS ? HANDSHAKES : UPLOADS];
  double cpu0 = cpu_ms(sim.proc->pid);
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
  f->upload_cpu_ms = (cpu_ms(sim.proc->pid) - cpu0) / UPLOADS; /* the simulator's, per upload */
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
  if (steady && reload_stall(&sim, k, f, cert, key) != 0) {
    fprintf(stderr, "bench: the steady load across reloads failed\n");
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
  if (!written || write_leaf(k, 0, root, cert, key) != 0 || start(&sim, dir, extra, NULL) != 0)
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
  int rc = make_pki(&k, k.max_n + UPLOADS + RELOADS);
  printf("# %zu leaf certificates made in %.1f s (one CA key, one leaf key)\n",
         k.max_n + UPLOADS + RELOADS, (gu_now_ms() - t0) / 1000.0);
  figures f[sizeof(SERIES) / sizeof(SERIES[0])];
  size_t done = 0;
  for (size_t i = 0; rc == 0 && i < sizeof(SERIES) / sizeof(SERIES[0]) && SERIES[i] <= k.max_n;
       i++) {
    int last = i + 1 == sizeof(SERIES) / sizeof(SERIES[0]) || SERIES[i + 1] > k.max_n;
    rc = one_size(root, &k, SERIES[i], &f[i], last);
    done += rc == 0;
  }
  if (done > 0) {
    printf("\n## client store scale (upload: %d through the admin API; reload: applying them; "
           "handshake+auth: %d fresh connections)\n",
           UPLOADS, HANDSHAKES);
    printf("| stored | start to READY ms | its CPU ms | RSS MiB | upload p50 ms | upload p99 ms | "
           "upload CPU ms | "
           "reload ms | "
           "no-op reload ms | handshake+auth p50 ms | p99 ms | p50 vs n=10 |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < done; i++)
      printf(
          "| %zu | %.0f | %.0f | %.1f | %.2f | %.2f | %.2f | %.1f | %.1f | %.2f | %.2f | %.2fx |\n",
          f[i].n, f[i].ready_ms, f[i].ready_cpu_ms, (double)f[i].rss_kb / 1024.0, f[i].upload_p50,
          f[i].upload_p99, f[i].upload_cpu_ms, f[i].reload_ms, f[i].noop_ms, f[i].hs_p50,
          f[i].hs_p99, f[i].hs_p50 / f[0].hs_p50);
    if (done > 1)
      printf("memory per stored certificate: %.0f bytes (RSS difference n=%zu vs n=10)\n",
             (double)(f[done - 1].rss_kb - f[0].rss_kb) * 1024.0 / (double)(f[done - 1].n - f[0].n),
             f[done - 1].n);
  }
  if (rc == 0)
    rc = handshake_rate(root, &k);
  free_pki(&k, k.max_n + UPLOADS + RELOADS);
  if (bs_orphans(NULL) != 0) {
    fprintf(stderr, "bench: %s\n", bs_error());
    rc = -1;
  }
  curl_global_cleanup();
  return rc == 0 ? 0 : 1;
}
