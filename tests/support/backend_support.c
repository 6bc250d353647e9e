/* backend_support.c - test-side support for gatecert-backend processes: start
 * and stop them, prove none is left, step their fake clock, talk to them with
 * libcurl and raw OpenSSL, read their reports. See backend_support.h.
 *
 * Processes are started, watched and stopped by the harness's supervisor
 * (harness/supervisor.c, the same code the product runs); this file adds the
 * test-side parts around it: process slots, the GATECERT_TEST_MARKER that
 * bs_orphans looks for, and bs_error().
 *
 * Everything that waits is bounded by a real (CLOCK_MONOTONIC) deadline.
 */
#include "backend_support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "gcert.h"
#include "gutil.h"
#include "supervisor.h"

#define STOP_TIMEOUT_MS 3000

static char last_error[4096];
static bs_process processes[BS_MAX_PROCESSES];
static unsigned started_count;

const char *bs_error(void) { return last_error; }

/* util's gu_fail into last_error: the bs_ error convention. */
#define fail(...) gu_fail(last_error, sizeof(last_error), __VA_ARGS__)

const char *bs_join(char *out, const char *dir, const char *name) {
  snprintf(out, BS_PATH_MAX, "%s/%s", dir, name);
  return out;
}

char *bs_slurp(const char *path, size_t *len) {
  char *data = NULL;
  size_t n = 0;
  if (gu_read_file(path, 0, &data, &n) != 0) {
    if (errno == ENOMEM)
      fail("out of memory reading %s", path);
    else
      fail("cannot open %s: %s", path, strerror(errno));
    return NULL;
  }
  if (len != NULL)
    *len = n;
  return data;
}

/* ---- processes ----------------------------------------------------------- */

/* Starting, READY parsing, stopping and reaping are the harness's supervisor
 * (harness/supervisor.h); what stays here is test-side: the slots, the marker
 * each child carries for bs_orphans, the stderr file names, and the bs_
 * messages. Slot i is processes[i], what tests see, over procs[i], what the
 * supervisor keeps; slot_sync copies the latter to the former after each
 * supervisor call. */
static gh_proc procs[BS_MAX_PROCESSES];

_Static_assert(BS_MAX_ENDPOINTS == GH_PROC_MAX_ENDPOINTS, "endpoint tables differ");
_Static_assert(BS_NAME_MAX == GH_PROC_NAME_MAX, "endpoint names differ");
_Static_assert(BS_PATH_MAX == GH_PROC_PATH_MAX, "stderr paths differ");
_Static_assert(BS_MAX_ARGS <= GH_PROC_MAX_ARGS, "the supervisor takes fewer arguments");
_Static_assert(sizeof(((bs_process *)0)->more) == sizeof(((gh_proc *)0)->more),
               "more buffers differ");

const char *bs_marker_prefix(void) {
  static char prefix[64];
  static pid_t owner;
  if (owner != getpid()) { /* a forked sub-process gets its own prefix */
    owner = getpid();
    snprintf(prefix, sizeof(prefix), "gatecert-test-%ld-", (long)owner);
  }
  return prefix;
}

/* The slot of p, or -1 when p is not one of ours. */
static long slot_of(const bs_process *p) {
  for (long i = 0; i < BS_MAX_PROCESSES; i++) {
    if (p == &processes[i])
      return i;
  }
  return -1;
}

static void slot_sync(long i) {
  bs_process *p = &processes[i];
  const gh_proc *g = &procs[i];
  p->pid = g->pid;
  p->out_fd = g->out_fd;
  p->faketime = g->faketime;
  p->wait_status = g->wait_status;
  memcpy(p->stderr_path, g->stderr_path, sizeof(p->stderr_path));
  p->count = g->count;
  for (size_t k = 0; k < g->count; k++) {
    memcpy(p->endpoints[k].name, g->endpoints[k].name, sizeof(p->endpoints[k].name));
    p->endpoints[k].port = g->endpoints[k].port;
  }
  p->more_len = g->more_len;
  memcpy(p->more, g->more, g->more_len + 1);
}

static long slot_take(void) {
  for (long i = 0; i < BS_MAX_PROCESSES; i++) {
    if (!processes[i].in_use) {
      memset(&processes[i], 0, sizeof(processes[i]));
      processes[i].in_use = 1;
      processes[i].out_fd = -1;
      return i;
    }
  }
  return fail("more than %d backends running", BS_MAX_PROCESSES);
}

/* Starts opts's program in a new slot through the supervisor: gh_proc_start,
 * or gh_proc_start_fails when expect_failure. *out is the slot when one was
 * taken (the caller frees it when done); the supervisor's answer. */
static int launch(const bs_start_opts *opts, int expect_failure, bs_process **out) {
  *out = NULL;
  const char *bin = opts->bin ? opts->bin : getenv("GATECERT_BACKEND_BIN");
  if (bin == NULL || *bin == '\0')
    return fail("GATECERT_BACKEND_BIN is not set");
  size_t nargs = 0;
  while (opts->args != NULL && opts->args[nargs] != NULL)
    nargs++;
  if (nargs >= BS_MAX_ARGS)
    return fail("too many arguments");
  const char *lib = NULL;
  if (opts->faketime_file != NULL) {
    lib = getenv("GATECERT_FAKETIME_LIB");
    if (lib == NULL || *lib == '\0')
      return fail("GATECERT_FAKETIME_LIB is not set");
  }
  long i = slot_take();
  if (i < 0)
    return -1;
  bs_process *p = &processes[i];
  *out = p;
  p->single_ready = opts->single_ready;
  snprintf(p->marker, sizeof(p->marker), "%s%u", bs_marker_prefix(), ++started_count);
  char marker_entry[sizeof(p->marker) + 32];
  snprintf(marker_entry, sizeof(marker_entry), "GATECERT_TEST_MARKER=%s", p->marker);
  const char *env[] = {marker_entry, NULL};
  char stderr_path[BS_PATH_MAX];
  int n = snprintf(stderr_path, sizeof(stderr_path), "%s/backend-%ld-%u.stderr",
                   opts->scratch_dir ? opts->scratch_dir : ".", (long)getpid(), started_count);
  if (n < 0 || (size_t)n >= sizeof(stderr_path))
    return fail("scratch path too long");
  gh_proc_spec spec = {
      .bin = bin,
      .args = opts->args,
      .stderr_path = stderr_path,
      .faketime_file = opts->faketime_file,
      .faketime_lib = lib,
      .env = env,
      .single_ready = opts->single_ready,
      .ready_timeout_ms = opts->ready_timeout_ms > 0 ? opts->ready_timeout_ms : BS_READY_TIMEOUT_MS,
  };
  char why[sizeof(last_error)];
  int rc = expect_failure ? gh_proc_start_fails(&procs[i], &spec, why, sizeof(why))
                          : gh_proc_start(&procs[i], &spec, why, sizeof(why));
  slot_sync(i);
  return rc == 0 ? 0 : fail("%s", why);
}

bs_process *bs_start(const bs_start_opts *opts) {
  bs_process *p = NULL;
  if (launch(opts, 0, &p) == 0)
    return p;
  if (p != NULL)
    p->in_use = 0; /* the supervisor reaped the child */
  return NULL;
}

int bs_start_fails(const bs_start_opts *opts, int *exit_code, char *stderr_text,
                   size_t stderr_len) {
  bs_process *p = NULL;
  int rc = launch(opts, 1, &p);
  if (rc == 0 && p != NULL) {
    if (exit_code != NULL)
      *exit_code = WEXITSTATUS(p->wait_status);
    if (stderr_text != NULL && stderr_len > 0) {
      char *text = bs_slurp(p->stderr_path, NULL);
      snprintf(stderr_text, stderr_len, "%s", text ? text : "");
      free(text);
    }
  }
  if (p != NULL)
    p->in_use = 0; /* reaped, its stdout closed, either way */
  return rc;
}

int bs_port(const bs_process *p, const char *name) {
  for (size_t i = 0; p != NULL && i < p->count; i++) {
    if (strcmp(p->endpoints[i].name, name) == 0)
      return p->endpoints[i].port;
  }
  return -1;
}

size_t bs_read_more(bs_process *p, int quiet_ms, int max_ms) {
  long i = slot_of(p);
  if (i < 0 || !p->in_use) { /* stopped: its stdout is closed */
    p->more_len = p->more_len < sizeof(p->more) - 1 ? p->more_len : sizeof(p->more) - 1;
    p->more[p->more_len] = '\0';
    return p->more_len;
  }
  gh_proc *g = &procs[i]; /* p->more is what the test sees: continue from it */
  g->more_len = p->more_len < sizeof(g->more) - 1 ? p->more_len : sizeof(g->more) - 1;
  memcpy(g->more, p->more, g->more_len);
  gh_proc_read_more(g, quiet_ms, max_ms);
  slot_sync(i);
  return p->more_len;
}

int bs_stop_signal(bs_process *p, int sig) {
  if (p == NULL || !p->in_use)
    return 0;
  long i = slot_of(p);
  if (i < 0)
    return fail("not a process started by bs_start");
  char why[sizeof(last_error)];
  int rc = gh_proc_stop(&procs[i], sig, STOP_TIMEOUT_MS, why, sizeof(why));
  slot_sync(i);
  p->in_use = 0;
  return rc == 0 ? 0 : fail("%s", why);
}

int bs_stop(bs_process *p) { return bs_stop_signal(p, SIGTERM); }

int bs_teardown(void **state) {
  (void)state;
  int rc = 0;
  char why[sizeof(last_error)] = "";
  for (size_t i = 0; i < BS_MAX_PROCESSES; i++) {
    if (processes[i].in_use && bs_stop(&processes[i]) != 0) {
      rc = -1;
      snprintf(why, sizeof(why), "%s", last_error);
    }
  }
  if (bs_orphans(NULL) != 0) {
    rc = -1;
    snprintf(why, sizeof(why), "%s", last_error);
  }
  if (rc != 0)
    fprintf(stderr, "bs_teardown: %s\n", why);
  return rc;
}

int bs_orphans(const char *prefix) {
  if (prefix == NULL)
    prefix = bs_marker_prefix();
  char needle[160];
  int nlen = snprintf(needle, sizeof(needle), "GATECERT_TEST_MARKER=%s", prefix);
  DIR *proc = opendir("/proc");
  if (proc == NULL)
    return fail("cannot open /proc: %s", strerror(errno));
  int found = 0;
  char pids[512] = "";
  struct dirent *de;
  static char env[1 << 16];
  while ((de = readdir(proc)) != NULL) {
    char *end = NULL;
    long pid = strtol(de->d_name, &end, 10);
    if (end == de->d_name || *end != '\0' || pid == (long)getpid())
      continue;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      continue; /* gone, or not ours to read */
    ssize_t n = read(fd, env, sizeof(env) - 1);
    close(fd);
    if (n <= 0)
      continue; /* zombies and kernel threads have no environment */
    for (ssize_t off = 0; off < n;) {
      const char *entry = env + off;
      size_t elen = strnlen(entry, (size_t)(n - off));
      if (elen >= (size_t)nlen && memcmp(entry, needle, (size_t)nlen) == 0) {
        found++;
        size_t used = strlen(pids);
        snprintf(pids + used, sizeof(pids) - used, " %ld", pid);
        break;
      }
      off += (ssize_t)elen + 1;
    }
  }
  closedir(proc);
  if (found > 0)
    fail("%d process(es) of ours still alive:%s", found, pids);
  return found;
}

int bs_port_refused(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return fail("socket: %s", strerror(errno));
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
  int e = errno;
  close(fd);
  if (r == 0) {
    fail("127.0.0.1:%d accepts connections", port);
    return 0;
  }
  if (e == ECONNREFUSED)
    return 1;
  fail("connect 127.0.0.1:%d: %s (not refused)", port, strerror(e));
  return 0;
}

/* ---- fake time ----------------------------------------------------------- */

int bs_faketime_set(const char *path, const char *when) {
  char why[BS_PATH_MAX + 128];
  return gh_faketime_write(path, when, why, sizeof(why)) == 0 ? 0 : fail("%s", why);
}

/* ---- files --------------------------------------------------------------- */

int bs_save_certs(const char *path, X509 *const *certs, size_t count) {
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  gcert_buf buf = {0};
  gcert_status st = GCERT_OK;
  for (size_t i = 0; st == GCERT_OK && i < count; i++)
    st = gcert_store_add_trusted(&store, NULL, certs[i], &err);
  if (st == GCERT_OK)
    st = gcert_pem_write(&store, NULL, &buf, &err);
  if (st == GCERT_OK)
    st = gcert_file_save(path, buf.data, buf.len, 0, &err);
  gcert_buf_free(&buf);
  gcert_store_free(&store);
  return st == GCERT_OK ? 0 : fail("saving %s: %s", path, err.message);
}

int bs_save_key(const char *path, EVP_PKEY *key) {
  gcert_error err = {0};
  gcert_buf buf = {0};
  gcert_status st = gcert_pem_write_key(key, NULL, &buf, &err);
  if (st == GCERT_OK)
    st = gcert_file_save(path, buf.data, buf.len, 1, &err);
  gcert_buf_cleanse_free(&buf);
  return st == GCERT_OK ? 0 : fail("saving %s: %s", path, err.message);
}

int bs_save_catalogue(const gcert_catalogue *cat, const char *dir) {
  char path[BS_PATH_MAX], file[BS_NAME_MAX + 16];
  for (size_t i = 0; i < gcert_catalogue_count(cat); i++) {
    const char *name = gcert_catalogue_name(cat, i);
    const gcert_item *item = gcert_catalogue_item(cat, i);
    snprintf(file, sizeof(file), "%s.pem", name);
    if (bs_save_certs(bs_join(path, dir, file), &item->cert, 1) != 0)
      return -1;
    snprintf(file, sizeof(file), "%s.key", name);
    if (bs_save_key(bs_join(path, dir, file), item->key) != 0)
      return -1;
    STACK_OF(X509) *chain = gcert_catalogue_chain(cat, name, 0);
    if (chain == NULL)
      return fail("no chain for catalogue row %s", name);
    X509 *certs[8];
    size_t n = 0;
    for (int j = 0; j < sk_X509_num(chain) && n < 8; j++)
      certs[n++] = sk_X509_value(chain, j);
    snprintf(file, sizeof(file), "%s.chain.pem", name);
    int rc = bs_save_certs(bs_join(path, dir, file), certs, n);
    sk_X509_pop_free(chain, X509_free);
    if (rc != 0)
      return -1;
  }
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

void bs_sort(double *v, size_t n) { qsort(v, n, sizeof(*v), cmp_double); }

double bs_median(double *v, size_t n) {
  if (n == 0)
    return 0;
  bs_sort(v, n);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bs_percentile(const double *sorted, size_t n, double p) {
  if (n == 0)
    return 0;
  size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
  return sorted[rank == 0 ? 0 : (rank > n ? n : rank) - 1];
}

int bs_bench_dir(char dir[BS_PATH_MAX], const char *template_path) {
  const char *tmp = getenv("GATECERT_TMP");
  if (tmp == NULL || *tmp == '\0') {
    snprintf(dir, BS_PATH_MAX, "%s", template_path);
    return mkdtemp(dir) ? 0 : -1;
  }
  snprintf(dir, BS_PATH_MAX, "%s", tmp);
  char parent[BS_PATH_MAX];
  snprintf(parent, sizeof(parent), "%s", tmp);
  char *slash = strrchr(parent, '/');
  if (slash != NULL && slash != parent) {
    *slash = '\0';
    mkdir(parent, 0700);
  }
  return mkdir(dir, 0700) == 0 || access(dir, W_OK) == 0 ? 0 : -1;
}

int bs_make_catalogue(time_t when, const char *dir) {
  gcert_catalogue *cat = NULL;
  gcert_error err = {0};
  if (gcert_catalogue_make(when, GCERT_KEY_EC_P256, &cat, &err) != GCERT_OK)
    return fail("catalogue: %s", err.message);
  int rc = bs_save_catalogue(cat, dir);
  gcert_catalogue_free(cat);
  return rc;
}

/* ---- libcurl client ------------------------------------------------------- */

#define BODY_MAX ((size_t)1 << 20)

char *bs_text_body(gu_text *t, size_t *len) {
  char *data = t->data ? t->data : calloc(1, 1);
  if (len != NULL)
    *len = t->data ? t->len : 0;
  memset(t, 0, sizeof(*t));
  return data;
}

CURLcode bs_http(const bs_request *req, bs_response *res) {
  memset(res, 0, sizeof(*res));
  CURL *h = curl_easy_init();
  if (h == NULL) {
    res->code = CURLE_OUT_OF_MEMORY;
    snprintf(res->error, sizeof(res->error), "out of memory");
    res->body = calloc(1, 1);
    res->headers = calloc(1, 1);
    return res->code;
  }
  const char *host = req->host ? req->host : "localhost";
  char url[512], resolve_entry[300];
  snprintf(url, sizeof(url), "%s://%s:%d%s", req->plain ? "http" : "https", host, req->port,
           req->path ? req->path : "/");
  snprintf(resolve_entry, sizeof(resolve_entry), "%s:%d:127.0.0.1", host, req->port);
  struct curl_slist *resolve = curl_slist_append(NULL, resolve_entry);
  struct curl_slist *headers = NULL;
  for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
    headers = curl_slist_append(headers, req->headers[i]);
  gu_text body = {.limit = BODY_MAX}, head = {.limit = BODY_MAX};

  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 5000L);
  if (req->connect_timeout_ms > 0)
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, res->error);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, gu_text_curl_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, gu_text_curl_write);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &head);
  if (req->cainfo != NULL)
    curl_easy_setopt(h, CURLOPT_CAINFO, req->cainfo);
  curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
  if (req->insecure) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (req->cert != NULL)
    curl_easy_setopt(h, CURLOPT_SSLCERT, req->cert);
  if (req->key != NULL)
    curl_easy_setopt(h, CURLOPT_SSLKEY, req->key);
  if (req->tls_min != 0 || req->tls_max != 0)
    curl_easy_setopt(h, CURLOPT_SSLVERSION, req->tls_min | req->tls_max);
  if (headers != NULL)
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  if (req->method != NULL)
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
  if (req->body != NULL)
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);

  double start = gu_now_ms();
  res->code = curl_easy_perform(h);
  res->elapsed_ms = gu_now_ms() - start;
  res->body = bs_text_body(&body, &res->body_len);
  res->headers = bs_text_body(&head, NULL);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
  curl_easy_getinfo(h, CURLINFO_SSL_VERIFYRESULT, &res->verify_result);
  curl_off_t us = 0;
  if (curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME_T, &us) == CURLE_OK)
    res->handshake_ms = (double)us / 1e3;
  if (curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &us) == CURLE_OK)
    res->first_byte_ms = (double)us / 1e3;
  if (res->code != CURLE_OK && res->error[0] == '\0')
    snprintf(res->error, sizeof(res->error), "%s", curl_easy_strerror(res->code));
  curl_easy_cleanup(h);
  curl_slist_free_all(resolve);
  curl_slist_free_all(headers);
  return res->code;
}

int bs_header(const bs_response *res, const char *name, char *out, size_t out_len) {
  size_t name_len = strlen(name);
  int seen = 0;
  if (out_len > 0)
    out[0] = '\0';
  for (const char *line = res->headers; line != NULL && *line != '\0';) {
    const char *eol = strchr(line, '\n');
    size_t len = eol ? (size_t)(eol - line) + 1 : strlen(line);
    if (len > name_len && line[name_len] == ':' && strncasecmp(line, name, name_len) == 0) {
      const char *v = line + name_len + 1;
      size_t vlen = len - name_len - 1;
      while (vlen > 0 && (*v == ' ' || *v == '\t'))
        v++, vlen--;
      while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
        vlen--;
      if (out_len > 0)
        snprintf(out, out_len, "%.*s", (int)vlen, v);
      seen++;
    }
    line += len;
  }
  return seen;
}

void bs_response_free(bs_response *res) {
  free(res->body);
  free(res->headers);
  res->body = NULL;
  res->headers = NULL;
  res->body_len = 0;
}

/* ---- raw OpenSSL client ---------------------------------------------------- */

void bs_cert_sha256(X509 *cert, char out[65]) {
  unsigned char md[32];
  unsigned int len = 0;
  out[0] = '\0';
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1 || len != 32)
    return;
  for (unsigned i = 0; i < len; i++)
    snprintf(out + (size_t)2 * i, 3, "%02x", md[i]);
}

static void probe_error(bs_probe *out, const char *what) {
  unsigned long e = ERR_peek_last_error();
  char reason[200] = "no OpenSSL error";
  if (e != 0)
    ERR_error_string_n(e, reason, sizeof(reason));
  snprintf(out->error, sizeof(out->error), "%s: %s", what, reason);
}

static int probe_connect(int port, int timeout_ms) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return fail("socket: %s", strerror(errno));
  struct timeval tv = {timeout_ms / 1000, (suseconds_t)(timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    int e = errno;
    close(fd);
    return fail("connect 127.0.0.1:%d: %s", port, strerror(e));
  }
  return fd;
}

static void probe_read_response(SSL *ssl, bs_probe *out, int timeout_ms) {
  double deadline = gu_now_ms() + timeout_ms;
  size_t cap = 4096;
  out->response = calloc(1, cap);
  while (out->response != NULL && gu_now_ms() < deadline && out->response_len < BODY_MAX) {
    if (cap - out->response_len < 2048) {
      char *grown = realloc(out->response, cap * 2);
      if (grown == NULL)
        break;
      out->response = grown;
      cap *= 2;
    }
    int n = SSL_read(ssl, out->response + out->response_len, (int)(cap - out->response_len - 1));
    if (n > 0) {
      out->response_len += (size_t)n;
      out->response[out->response_len] = '\0';
      continue;
    }
    int e = SSL_get_error(ssl, n);
    if (e != SSL_ERROR_ZERO_RETURN) {
      out->read_error = 1;
      probe_error(out, "read");
    }
    break;
  }
}

int bs_tls_probe(const bs_probe_opts *opts, bs_probe *out) {
  memset(out, 0, sizeof(*out));
  int timeout = opts->timeout_ms > 0 ? opts->timeout_ms : 3000;
  int fd = probe_connect(opts->port, timeout);
  if (fd < 0)
    return -1;
  ERR_clear_error();
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  SSL *ssl = NULL;
  int rc = -1;
  if (ctx == NULL) {
    fail("SSL_CTX_new failed");
    goto done;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* we look, we do not judge */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if ((opts->min_version && !SSL_CTX_set_min_proto_version(ctx, opts->min_version)) ||
      (opts->max_version && !SSL_CTX_set_max_proto_version(ctx, opts->max_version))) {
    fail("cannot set TLS versions");
    goto done;
  }
  if (opts->cert != NULL && (SSL_CTX_use_certificate_chain_file(ctx, opts->cert) != 1 ||
                             SSL_CTX_use_PrivateKey_file(ctx, opts->key, SSL_FILETYPE_PEM) != 1)) {
    fail("cannot load client certificate %s", opts->cert);
    goto done;
  }
  ssl = SSL_new(ctx);
  if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 ||
      (opts->sni != NULL && SSL_set_tlsext_host_name(ssl, opts->sni) != 1)) {
    fail("SSL_new failed");
    goto done;
  }
  rc = 0;
  if (SSL_connect(ssl) != 1) {
    probe_error(out, "handshake");
    goto done;
  }
  out->handshake_ok = 1;
  snprintf(out->version, sizeof(out->version), "%s", SSL_get_version(ssl));
  STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
  for (int i = 0; chain != NULL && i < sk_X509_num(chain) && i < BS_PROBE_CHAIN_MAX; i++) {
    X509 *c = sk_X509_value(chain, i);
    bs_cert_sha256(c, out->chain_sha256[i]);
    X509_NAME_oneline(X509_get_subject_name(c), out->chain_subject[i],
                      (int)sizeof(out->chain_subject[i]));
    out->chain_count++;
  }
  if (opts->request != NULL) {
    size_t len = strlen(opts->request);
    if (SSL_write(ssl, opts->request, (int)len) != (int)len) {
      out->read_error = 1;
      probe_error(out, "write");
    } else {
      probe_read_response(ssl, out, timeout);
    }
  }
done:
  if (ssl != NULL) {
    if (out->handshake_ok)
      SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  SSL_CTX_free(ctx);
  close(fd);
  return rc;
}

void bs_probe_free(bs_probe *probe) {
  free(probe->response);
  probe->response = NULL;
  probe->response_len = 0;
}

/* ---- reports --------------------------------------------------------------- */

void bs_events_free(bs_events *ev) {
  for (size_t i = 0; i < ev->count; i++)
    json_decref(ev->items[i]);
  free(ev->items);
  ev->items = NULL;
  ev->count = 0;
}

int bs_report_load(const char *path, bs_events *out) {
  memset(out, 0, sizeof(*out));
  size_t len = 0;
  char *text = bs_slurp(path, &len);
  if (text == NULL)
    return -1;
  if (len > 0 && text[len - 1] != '\n') {
    free(text);
    return fail("%s: last line unfinished", path);
  }
  size_t lines = 0;
  for (size_t i = 0; i < len; i++)
    lines += text[i] == '\n';
  out->items = calloc(lines + 1, sizeof(json_t *));
  if (out->items == NULL) {
    free(text);
    return fail("out of memory");
  }
  char *line = text;
  for (size_t i = 0; i < lines; i++) {
    char *nl = strchr(line, '\n');
    *nl = '\0';
    json_error_t jerr;
    json_t *ev = json_loads(line, 0, &jerr);
    if (ev == NULL || !json_is_object(ev)) {
      fail("%s line %zu is not a JSON object: %s: %.200s", path, i + 1,
           ev ? "not an object" : jerr.text, line);
      json_decref(ev);
      free(text);
      bs_events_free(out);
      return -1;
    }
    out->items[out->count++] = ev;
    line = nl + 1;
  }
  free(text);
  return 0;
}

size_t bs_events_count(const bs_events *ev, const char *kind) {
  size_t n = 0;
  for (size_t i = 0; i < ev->count; i++) {
    const char *k = json_string_value(json_object_get(ev->items[i], "event"));
    n += kind == NULL || (k != NULL && strcmp(k, kind) == 0);
  }
  return n;
}

json_t *bs_events_last(const bs_events *ev, const char *kind) {
  for (size_t i = ev->count; i > 0; i--) {
    const char *k = json_string_value(json_object_get(ev->items[i - 1], "event"));
    if (kind == NULL || (k != NULL && strcmp(k, kind) == 0))
      return ev->items[i - 1];
  }
  return NULL;
}

json_t *bs_events_seq(const bs_events *ev, json_int_t seq) {
  for (size_t i = 0; i < ev->count; i++) {
    json_t *s = json_object_get(ev->items[i], "seq");
    if (json_is_integer(s) && json_integer_value(s) == seq)
      return ev->items[i];
  }
  return NULL;
}

int bs_report_wait(const char *path, const char *kind, size_t min_count, int timeout_ms,
                   bs_events *out) {
  double deadline = gu_now_ms() + timeout_ms;
  char why[sizeof(last_error)] = "";
  for (;;) {
    if (bs_report_load(path, out) == 0) {
      if (bs_events_count(out, kind) >= min_count)
        return 0;
      snprintf(why, sizeof(why), "%zu \"%s\" events of %zu wanted (%zu events in all)",
               bs_events_count(out, kind), kind ? kind : "any", min_count, out->count);
      bs_events_free(out);
    } else {
      snprintf(why, sizeof(why), "%s", last_error);
    }
    if (gu_now_ms() >= deadline)
      return fail("%s after %d ms: %s", path, timeout_ms, why);
    gu_sleep_ms(5);
  }
}

json_t *bs_json_at(json_t *root, const char *path) {
  char key[128];
  json_t *cur = root;
  while (cur != NULL && *path != '\0') {
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    if (n >= sizeof(key))
      return NULL;
    memcpy(key, path, n);
    key[n] = '\0';
    cur = json_is_object(cur) ? json_object_get(cur, key) : NULL;
    path += n + (dot != NULL);
  }
  return cur;
}

const char *bs_json_str(json_t *root, const char *path) {
  return json_string_value(bs_json_at(root, path));
}
