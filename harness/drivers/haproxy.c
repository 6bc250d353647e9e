/* haproxy.c - the `haproxy` driver's runtime: HAProxy 2.6 as the gateway
 * under test.
 *
 * The driver is the shared layer of real.h (the desired state of a case in
 * memory: APIs, endpoint certificates, client certificates; the admin
 * operations; program runs, ports, the control poll) with this file's ops
 * table. haproxy_conf.c renders the state into one HAProxy configuration plus
 * the files it names (CA bundles, ACL pin files) under <work_dir>/haproxy/. HAProxy runs in master-worker mode in the foreground
 * (`haproxy -W -db -f haproxy.cfg`) as the current user under the case's fake
 * clock, started with the supervisor; its stderr (the master's notices and the
 * traffic log, `log stderr`) is the log the runner tails.
 *
 * Every change is an "apply": render, write the files, validate with
 * `haproxy -c` (a separate process), then either
 *   - the runtime API over the admin socket (`stats socket ... level admin`),
 *     when only files changed that HAProxy can swap at run time: the bind's
 *     client CA file and a server's CA file whose server line also has `crt`
 *     (`set ssl ca-file` + `commit ssl ca-file`; without `crt` HAProxy 2.6
 *     prints Success and changes nothing), and the API pin files (`add acl`,
 *     `del acl`); each is read back (`show ssl ca-file`, `show acl`);
 *   - or a reload: SIGUSR2 to the master, then the plain-HTTP control frontend
 *     is polled on a fresh connection until it answers the new generation
 *     number (a failed reload is quiet: HAProxy keeps serving the old config
 *     after "Loading failure!"; that is an error with the log's tail).
 * The files are written either way, so a later reload or a restart keeps the
 * state. Applies and their real time are counted for apply_stats.
 *
 * Uploads of bytes that are not one PEM or DER certificate are written as is
 * and judged by `haproxy -c` on a small configuration naming them as a CA
 * file: refused uploads answer 400 with the first error line and change
 * nothing. With gateway.mutual_ssl.front_lb a second HAProxy (haproxy-lb/)
 * terminates TLS in front and forwards the client certificate in the header.
 *
 * OAuth2 (an API whose security has oauth2, the OAuth mandatory flag, or no
 * mutualssl): HAProxy cannot validate the harness's JWTs, so a small Lua
 * action (gatecert-auth.lua, `lua-load`ed; `http-request lua.gatecert_auth`
 * in the API's backend) asks gatecert-introspect (simulator/introspect.c)
 * with Lua's core.httpclient() for WSO2's verdict: the client's
 * Authorization, the API's name and the certificate state the configuration
 * computed from the same pin ACLs (valid / unknown / absent). Its 401 / 403 /
 * 500 fault JSON comes back in txn variables that `http-request return`
 * answers with; 204 goes on to the backend. The introspector starts with the
 * first API, key manager or subscription that needs it, under the case's
 * clock, stops with the gateway and re-reads its config
 * (<work_dir>/introspect/config.json, written atomically at every change).
 *
 * Under libfaketime HAProxy runs with `nbthread 1` (a fake clock jump seen by
 * one thread before another timed out handshakes in flight), and signals go
 * to the master alone, only once it handles them (/proc SigCgt): a signal
 * during a reload's re-exec, or a group signal reaching a worker twice, ends
 * it. HAPROXY.md beside this file maps each desired-state item to
 * configuration and runtime commands, and lists what was found.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "gutil.h"
#include "gcert.h"
#include "front_lb.h"
#include "haproxy.h"

#define CLI_TIMEOUT_MS   5000
#define START_TRIES      5
#define HAPROXY_SOCK_MAX 97 /* 'stats socket' path limit of HAProxy 2.6 */
#define CERT_MAX         ((size_t)1 << 20)

/* What HAProxy's error lines carry. */
static const char *const hap_error_markers[] = {"[ALERT]", NULL};

/* ---- checking and confirming a configuration ------------------------------------------------ */

/* `haproxy -c -f path`: 0 when valid, else -1 with why (the first error line
 * when it refused). */
static int validate(const hap_driver *h, const char *path, char *why, size_t why_len) {
  char msg[512] = "";
  int v = gh_real_config_test(h->real.bin, (const char *const[]){"-c", "-f", path, NULL},
                              hap_error_markers, msg, sizeof(msg), why, why_len);
  if (v > 0)
    gu_fail(why, why_len, "haproxy -c refused the configuration %s: %s", path, msg);
  return v == 0 ? 0 : -1;
}

/* gh_real_await's gave_up: a failed reload is quiet, HAProxy keeps serving
 * the old configuration after "Loading failure!" in its log (ctx). */
static const char *loading_failed(void *ctx) {
  return gh_real_log_says(ctx, "Loading failure") ? "Loading failure!" : NULL;
}

/* What a reload waits for, from the log since it began. */
typedef struct reload_watch {
  const char *log_path;
  long from;
} reload_watch;

static const char *reload_failed(void *ctx) {
  const reload_watch *w = ctx;
  char *log = gh_real_log_since(w->log_path, w->from);
  int failed = log && strstr(log, "Loading failure");
  free(log);
  return failed ? "Loading failure!" : NULL;
}

/* The new generation answering is not enough: the old worker keeps accepting on
 * the shared listener until the master tells it to stop, and a call in that
 * window meets the old configuration (seen on a loaded machine: a 404 from the
 * generation before an API existed). Its "Proxy gateway stopped" line, written
 * since the reload began, says it no longer listens. */
static int old_gateway_stopped(void *ctx) {
  const reload_watch *w = ctx;
  char *log = gh_real_log_since(w->log_path, w->from);
  int stopped = log && strstr(log, "Proxy gateway stopped") != NULL;
  free(log);
  return stopped;
}

/* Polls the gateway's control frontend until it answers generation (and,
 * after a reload - log_from > 0 - the old worker stopped its listener). */
static int await_generation(const hap_driver *h, gh_proc *p, int port, long generation,
                            long log_from, char *why, size_t why_len) {
  char want[32];
  snprintf(want, sizeof(want), "%ld", generation);
  reload_watch w = {h->log_path, log_from};
  gh_real_await_spec spec = {.product = "haproxy",
                             .proc = p,
                             .port = port,
                             .path = "/",
                             .want = want,
                             .settled = log_from > 0 ? old_gateway_stopped : NULL,
                             .gave_up = reload_failed,
                             .ctx = &w,
                             .log_path = h->log_path,
                             .log_from = log_from};
  return gh_real_await(&spec, why, why_len);
}

/* ---- the runtime API ------------------------------------------------------------------------- */

/* One runtime API command over the admin socket (cmd ends with "\n"; a
 * payload as "cmd <<\n...\n\n"); the answer read to EOF into *out. */
static int cli(hap_driver *h, const char *cmd, char **out, char *why, size_t why_len) {
  *out = NULL;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return gu_fail(why, why_len, "socket: %s", strerror(errno));
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof(a.sun_path), "%s", h->sock_path);
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
    int e = errno;
    close(fd);
    return gu_fail(why, why_len, "connecting to %s: %s", h->sock_path, strerror(e));
  }
  size_t len = strlen(cmd), sent = 0;
  while (sent < len) {
    ssize_t n = send(fd, cmd + sent, len - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int e = errno;
      close(fd);
      return gu_fail(why, why_len, "writing to the admin socket: %s", strerror(e));
    }
    sent += (size_t)n;
  }
  gu_text b = {0};
  double start = gu_now_ms();
  for (;;) {
    int left = CLI_TIMEOUT_MS - (int)(gu_now_ms() - start);
    struct pollfd pfd = {fd, POLLIN, 0};
    if (left <= 0 || poll(&pfd, 1, left) <= 0) {
      close(fd);
      free(b.data);
      return gu_fail(why, why_len, "the admin socket did not answer within %d ms", CLI_TIMEOUT_MS);
    }
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    gu_text_add(&b, chunk, (size_t)n);
  }
  close(fd);
  *out = b.data ? b.data : calloc(1, 1);
  return *out ? 0 : gu_fail(why, why_len, "out of memory");
}

static int count_of(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = text; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
    n++;
  return n;
}

/* Replaces a CA file at run time and reads it back. 0, or -1 with why. */
static int runtime_ca(hap_driver *h, const hap_file *f, char *why, size_t why_len) {
  gu_text cmd = {0};
  gu_text_printf(&cmd, "set ssl ca-file %s <<\n", f->path);
  /* the payload ends at the first empty line: send none inside it */
  for (const char *p = f->content; p && *p;) {
    size_t n = strcspn(p, "\r\n");
    if (n)
      gh_real_add_text(&cmd, p, n);
    p += n;
    p += strspn(p, "\r\n");
  }
  gu_text_add(&cmd, "\n", 1);
  if (cmd.failed) {
    free(cmd.data);
    return gu_fail(why, why_len, "out of memory");
  }
  char *answer = NULL;
  int rc = cli(h, cmd.data, &answer, why, why_len);
  free(cmd.data);
  if (rc == 0 && (!answer || (!strstr(answer, "transaction created") &&
                              !strstr(answer, "transaction updated"))))
    rc = gu_fail(why, why_len, "set ssl ca-file %s: %.300s", f->path, answer ? answer : "");
  free(answer);
  if (rc != 0)
    return -1;
  char line[GH_REAL_PATH + 32];
  snprintf(line, sizeof(line), "commit ssl ca-file %s\n", f->path);
  if (cli(h, line, &answer, why, why_len) != 0 || !answer)
    return -1;
  rc = strstr(answer, "Success!")
           ? 0
           : gu_fail(why, why_len, "commit ssl ca-file %s: %.300s", f->path, answer);
  free(answer);
  if (rc != 0)
    return -1;
  snprintf(line, sizeof(line), "show ssl ca-file %s\n", f->path);
  if (cli(h, line, &answer, why, why_len) != 0 || !answer)
    return -1;
  int want = count_of(f->content, "-----BEGIN CERTIFICATE-----");
  int got = count_of(answer, "Certificate #");
  free(answer);
  return got == want ? 0
                     : gu_fail(why, why_len, "show ssl ca-file %s: %d certificates, %d written",
                               f->path, got, want);
}

/* Sends "add acl" or "del acl" for every line of from missing in other. */
static int acl_diff(hap_driver *h, const char *path, const char *verb, const char *from,
                    const char *other, char *why, size_t why_len) {
  for (const char *p = from; p && *p;) {
    size_t len = strcspn(p, "\n");
    char value[600];
    snprintf(value, sizeof(value), "%.*s", (int)(len < 599 ? len : 599), p);
    p += len;
    if (*p)
      p++;
    if (!value[0] || gh_haproxy_has_line(other, value))
      continue;
    char escaped[1200], cmd[GH_REAL_PATH + 1300], *answer = NULL;
    size_t k = 0;
    for (const char *v = value; *v && k + 2 < sizeof(escaped); v++) {
      if (*v == ' ' || *v == '\\' || *v == ';')
        escaped[k++] = '\\';
      escaped[k++] = *v;
    }
    escaped[k] = '\0';
    snprintf(cmd, sizeof(cmd), "%s acl %s %s\n", verb, path, escaped);
    if (cli(h, cmd, &answer, why, why_len) != 0 || !answer)
      return -1;
    /* both answer nothing but a blank line when they worked */
    int ok = strspn(answer, "\r\n") == strlen(answer);
    if (!ok)
      gu_fail(why, why_len, "%s acl %s: %.200s", verb, path, answer);
    free(answer);
    if (!ok)
      return -1;
  }
  return 0;
}

/* Brings an ACL file's live entries from old to new, then reads them back. */
static int runtime_acl(hap_driver *h, const hap_file *f, const char *old, char *why,
                       size_t why_len) {
  if (acl_diff(h, f->path, "del", old, f->content, why, why_len) != 0 ||
      acl_diff(h, f->path, "add", f->content, old, why, why_len) != 0)
    return -1;
  char cmd[GH_REAL_PATH + 32], *answer = NULL;
  snprintf(cmd, sizeof(cmd), "show acl %s\n", f->path);
  if (cli(h, cmd, &answer, why, why_len) != 0 || !answer)
    return -1;
  /* "0x55d0... value" per entry */
  gu_text seen = {0};
  for (const char *p = answer; *p;) {
    size_t len = strcspn(p, "\n");
    const char *space = memchr(p, ' ', len);
    if (space)
      gu_text_printf(&seen, "%.*s\n", (int)(len - (size_t)(space + 1 - p)), space + 1);
    p += len;
    if (*p)
      p++;
  }
  free(answer);
  int want = 0, ok = 1;
  for (const char *p = f->content; *p;) {
    size_t len = strcspn(p, "\n");
    char value[600];
    snprintf(value, sizeof(value), "%.*s", (int)(len < 599 ? len : 599), p);
    if (value[0]) {
      want++;
      ok = ok && seen.data && gh_haproxy_has_line(seen.data, value);
    }
    p += len;
    if (*p)
      p++;
  }
  int got = count_of(seen.data, "\n");
  free(seen.data);
  return ok && got == want ? 0
                           : gu_fail(why, why_len, "show acl %s: %d entries live, %d written",
                                     f->path, got, want);
}

/* ---- applying -------------------------------------------------------------------- */

static const hap_file *find_file(const rendered *r, const char *path) {
  for (size_t i = 0; i < r->count; i++)
    if (strcmp(r->files[i].path, path) == 0)
      return &r->files[i];
  return NULL;
}

static int same_file(const hap_file *a, const hap_file *b) {
  return a && b && a->len == b->len && (a->len == 0 || memcmp(a->content, b->content, a->len) == 0);
}

static int write_rendered(const hap_driver *h, const rendered *r, long generation, char *why,
                          size_t why_len) {
  for (size_t i = 0; i < r->count; i++)
    if (gh_real_save(r->files[i].path, r->files[i].content, r->files[i].len, 0, why, why_len) != 0)
      return -1;
  char *text = gh_haproxy_with_generation(r->config, generation);
  int rc = text ? gh_real_save(h->config_path, text, strlen(text), 0, why, why_len)
                : gu_fail(why, why_len, "out of memory");
  free(text);
  return rc;
}

/* Waits until pid has a handler for sig (SigCgt in /proc): HAProxy's master
 * re-executes itself on a reload and a signal that arrives before it set
 * its handlers again kills it. The re-exec parses the whole configuration
 * again, which on a loaded machine has taken more than GH_REAL_CONFIRM_MS
 * (one lost case in a busy run), so this waits up to HANDLER_WAIT_MS.
 * 0, or -1 with why: the master gone, or no handler in time. */
#define HANDLER_WAIT_MS (3 * GH_REAL_CONFIRM_MS)
static int await_handler(pid_t pid, int sig, char *why, size_t why_len) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  unsigned long long bit = 1ULL << (sig - 1);
  double start = gu_now_ms();
  while (gu_now_ms() - start < HANDLER_WAIT_MS) {
    FILE *f = fopen(path, "r");
    if (!f)
      return gu_fail(why, why_len, "haproxy's master %d has exited", (int)pid);
    char line[256];
    unsigned long long caught = 0;
    int found = 0;
    while (fgets(line, sizeof(line), f))
      if (strncmp(line, "SigCgt:", 7) == 0) {
        char *end = NULL;
        caught = strtoull(line + 7, &end, 16);
        found = end != line + 7;
      }
    fclose(f);
    if (found && (caught & bit))
      return 0;
    gu_sleep_ms(GH_REAL_POLL_STEP_MS);
  }
  return gu_fail(why, why_len, "haproxy's master %d set no handler for signal %d within %d ms",
                 (int)pid, sig, HANDLER_WAIT_MS);
}

/* Stops a master-worker HAProxy: SIGUSR1 to the master alone (a signal to
 * the whole group reaches a worker twice, and the second kills it, which
 * the master reports as its own failure), then the supervisor reaps it. */
static int stop_haproxy(gh_proc *p, char *why, size_t why_len) {
  if (p->pid > 0 && await_handler(p->pid, SIGUSR1, NULL, 0) == 0 && kill(p->pid, SIGUSR1) == 0) {
    double start = gu_now_ms();
    while (gh_proc_alive(p) && gu_now_ms() - start < GH_REAL_CONFIRM_MS)
      gu_sleep_ms(GH_REAL_POLL_STEP_MS);
  }
  return gh_proc_stop(p, SIGTERM, 2000, why, why_len);
}

/* A line in the driver's own log (haproxy/driver.log): which path an apply took. */
static void note(const hap_driver *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const hap_driver *h, const char *fmt, ...) {
  char path[GH_REAL_PATH];
  snprintf(path, sizeof(path), "%s/driver.log", h->dir);
  FILE *f = fopen(path, "a");
  if (!f)
    return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fputc('\n', f);
  fclose(f);
}

static int reload_to(hap_driver *h, long generation, char *why, size_t why_len) {
  if (await_handler(h->proc.pid, SIGUSR2, why, why_len) != 0)
    return -1;
  long from = gh_real_file_size(h->log_path);
  if (kill(h->proc.pid, SIGUSR2) != 0)
    return gu_fail(why, why_len, "SIGUSR2 to haproxy's master %d: %s", (int)h->proc.pid,
                   strerror(errno));
  if (await_generation(h, &h->proc, h->control_port, generation, from, why, why_len) != 0)
    return -1;
  h->reloads++;
  return 0;
}

/* Whether the change from live to next can be made at run time: the same
 * configuration, and every changed file one HAProxy swaps live. */
static int runtime_possible(const hap_driver *h, const rendered *next) {
  if (!h->has_live || strcmp(h->live.config, next->config) != 0)
    return 0;
  for (size_t i = 0; i < next->count; i++) {
    const hap_file *f = &next->files[i];
    const hap_file *old = find_file(&h->live, f->path);
    if (same_file(f, old))
      continue;
    if (!old || f->kind == FILE_STATIC || (f->kind == FILE_CA_SERVER && !f->runtime))
      return 0;
  }
  return 1;
}

static int apply_runtime(hap_driver *h, const rendered *next, char *why, size_t why_len) {
  for (size_t i = 0; i < next->count; i++) {
    const hap_file *f = &next->files[i];
    const hap_file *old = find_file(&h->live, f->path);
    if (same_file(f, old))
      continue;
    int rc = f->kind == FILE_ACL ? runtime_acl(h, f, old->content, why, why_len)
                                 : runtime_ca(h, f, why, why_len);
    if (rc != 0)
      return -1;
    h->runtime_commits++;
  }
  return 0;
}

/* gh_real_ops.apply: renders the desired state and makes it live (runtime
 * API or reload; force_reload: a reload). haproxy -c refusing the
 * configuration is an error (an upload HAProxy would refuse was judged
 * before: hap_judge_upload), and the files of what runs are written back. */
// NOLINTNEXTLINE(readability-non-const-parameter): gh_real_ops.apply's type; HAProxy never refuses here
static int hap_apply(gh_real *g, int force_reload, char *refusal, size_t refusal_len, char *why,
                     size_t why_len) {
  hap_driver *h = (hap_driver *)g;
  (void)refusal;
  (void)refusal_len;
  double start = gu_now_ms();
  rendered next;
  if (gh_haproxy_render(h, &next) != 0)
    return gu_fail(why, why_len, "rendering the configuration: out of memory");
  int runtime = !force_reload && !h->reload_only && runtime_possible(h, &next);
  long generation = runtime ? h->real.generation : h->real.generation + 1;
  char msg[512] = "";
  double validate_ms = 0;
  int rc = write_rendered(h, &next, generation, why, why_len);
  if (rc == 0) {
    double validate_start = gu_now_ms();
    rc = validate(h, h->config_path, why, why_len);
    validate_ms = gu_now_ms() - validate_start;
  }
  if (rc == 0 && runtime && apply_runtime(h, &next, msg, sizeof(msg)) != 0) {
    /* the runtime API did not take it: the reload path instead */
    note(h, "runtime API failed (%s): reloading", msg);
    generation = h->real.generation + 1;
    rc = write_rendered(h, &next, generation, why, why_len);
    runtime = 0;
  }
  if (rc == 0 && !runtime && h->running)
    rc = reload_to(h, generation, why, why_len);
  if (rc != 0) {
    if (h->has_live) /* the files of what runs, so a later reload keeps it */
      write_rendered(h, &h->live, h->real.generation, msg, sizeof(msg));
    gh_haproxy_rendered_free(&next);
    return -1;
  }
  gh_haproxy_rendered_free(&h->live);
  h->live = next;
  h->has_live = 1;
  h->real.generation = generation;
  gh_real_count_apply(&h->real, start);
  double took = gu_now_ms() - start;
  note(h, "apply %ld: %s, generation %ld, %.1f ms (haproxy -c %.1f ms)", h->real.applies,
       runtime ? "runtime API" : "reload", generation, took, validate_ms);
  return 0;
}

/* ---- admin answers ------------------------------------------------------------------ */

/* gh_real_ops.judge_upload: bytes that are not one PEM or DER certificate
 * are judged the way HAProxy would load them as a CA file (haproxy -c on a
 * small configuration naming them): 0 accepted, 1 refused (msg), -1 could
 * not run. */
static int hap_judge_upload(gh_real *g, const gh_real_cert *c, char *msg, size_t msg_len) {
  hap_driver *h = (hap_driver *)g;
  if (c->len > CERT_MAX)
    return snprintf(msg, msg_len, "the upload is larger than %zu bytes", CERT_MAX), 1;
  char cand[GH_REAL_PATH], cfgp[GH_REAL_PATH];
  snprintf(cand, sizeof(cand), "%s/candidate.pem", h->dir);
  snprintf(cfgp, sizeof(cfgp), "%s/candidate.cfg", h->dir);
  char text[GH_REAL_PATH + 256];
  snprintf(text, sizeof(text),
           "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n"
           "  timeout server 1s\nbackend candidate\n  server s 127.0.0.1:1 ssl verify required "
           "ca-file %s\n",
           cand);
  if (gh_real_save(cand, c->bytes, c->len, 0, msg, msg_len) != 0 ||
      gh_real_save(cfgp, text, strlen(text), 0, msg, msg_len) != 0)
    return -1;
  int v = gh_real_config_test(h->real.bin, (const char *const[]){"-c", "-f", cfgp, NULL},
                              hap_error_markers, msg, msg_len, msg, msg_len);
  unlink(cand);
  unlink(cfgp);
  return v;
}

/* ---- operations --------------------------------------------------------------------- */

static int write_identity(hap_driver *h, char *why, size_t why_len) {
  return gh_real_save(h->identity_path, h->identity_pem, strlen(h->identity_pem), 1, why, why_len);
}

/* The admin socket's path: in the work directory when it fits sun_path, else
 * in a short directory of our own under /tmp. */
static int choose_socket(hap_driver *h, char *why, size_t why_len) {
  static const char name[] = "/admin.sock";
  size_t n = strlen(h->dir);
  /* HAProxy keeps room for its own suffix: at most 97 bytes of path */
  if (n + sizeof(name) - 1 <= HAPROXY_SOCK_MAX) {
    memcpy(h->sock_path, h->dir, n);
    memcpy(h->sock_path + n, name, sizeof(name));
    return 0;
  }
  if (!h->sock_dir[0]) {
    snprintf(h->sock_dir, sizeof(h->sock_dir), "/tmp/gatecert-haproxy-XXXXXX");
    if (!mkdtemp(h->sock_dir)) {
      h->sock_dir[0] = '\0';
      return gu_fail(why, why_len, "mkdtemp for the admin socket: %s", strerror(errno));
    }
  }
  snprintf(h->sock_path, sizeof(h->sock_path), "%s/admin.sock", h->sock_dir);
  return 0;
}

static int spawn(hap_driver *h, gh_proc *p, const char *config, const char *log, char *why,
                 size_t why_len) {
  const char *args[] = {"-W", "-db", "-f", config, NULL};
  gh_proc_spec spec = {.bin = h->real.bin,
                       .args = args,
                       .stderr_path = log,
                       .faketime_file = h->real.cfg.clock_file,
                       .faketime_lib = h->real.cfg.faketime_lib,
                       .no_ready = 1};
  return gh_proc_start(p, &spec, why, why_len);
}

/* After a start that did not answer: kills it (by pid) and says whether a
 * port it was given was taken meanwhile (then the caller probes new ones). */
static int killed_for_ports(gh_proc *p, int *running, const char *log_path) {
  char ignored[256];
  gh_proc_stop(p, SIGKILL, 3000, ignored, sizeof(ignored));
  *running = 0;
  return gh_real_log_says(log_path, "cannot bind") ||
         gh_real_log_says(log_path, "Address already in use");
}

/* Renders the state at the current generation, writes it and makes it the
 * live rendering (start and restart). 0, or -1 with why. */
static int write_live(hap_driver *h, char *why, size_t why_len) {
  rendered next;
  if (gh_haproxy_render(h, &next) != 0)
    return gu_fail(why, why_len, "rendering the configuration: out of memory");
  if (write_rendered(h, &next, h->real.generation, why, why_len) != 0) {
    gh_haproxy_rendered_free(&next);
    return -1;
  }
  gh_haproxy_rendered_free(&h->live);
  h->live = next;
  h->has_live = 1;
  return 0;
}

/* Starts the gateway on the files already written; new ports when a bind fails. */
static int launch_gateway(hap_driver *h, char *why, size_t why_len) {
  for (int attempt = 0; attempt < START_TRIES; attempt++) {
    if ((attempt > 0 || h->https_port <= 0) &&
        (gh_real_probe_ports(&h->https_port, &h->control_port, why, why_len) != 0 ||
         write_live(h, why, why_len) != 0))
      return -1;
    if (validate(h, h->config_path, why, why_len) != 0)
      return -1;
    unlink(h->sock_path);
    if (spawn(h, &h->proc, h->config_path, h->log_path, why, why_len) != 0)
      return -1;
    h->running = 1;
    if (await_generation(h, &h->proc, h->control_port, h->real.generation, 0, why, why_len) == 0)
      return 0;
    if (!killed_for_ports(&h->proc, &h->running, h->log_path))
      return -1;
  }
  return gu_fail(why, why_len, "haproxy could not bind free ports in %d tries", START_TRIES);
}

static int launch_lb(hap_driver *h, char *why, size_t why_len) {
  for (int attempt = 0; attempt < START_TRIES; attempt++) {
    if (gh_real_probe_ports(&h->lb_port, &h->lb_control_port, why, why_len) != 0 ||
        gh_haproxy_write_lb_config(h, why, why_len) != 0 ||
        validate(h, h->lb_config_path, why, why_len) != 0)
      return -1;
    if (spawn(h, &h->lb_proc, h->lb_config_path, h->lb_log_path, why, why_len) != 0)
      return -1;
    h->lb_running = 1;
    gh_real_await_spec spec = {.product = "haproxy (load balancer)",
                               .proc = &h->lb_proc,
                               .port = h->lb_control_port,
                               .path = "/",
                               .want = "lb",
                               .gave_up = loading_failed,
                               .ctx = h->lb_log_path,
                               .log_path = h->lb_log_path};
    if (gh_real_await(&spec, why, why_len) == 0)
      return 0;
    if (!killed_for_ports(&h->lb_proc, &h->lb_running, h->lb_log_path))
      return -1;
  }
  return gu_fail(why, why_len, "the load balancer could not bind free ports in %d tries",
                 START_TRIES);
}

static int launch_all(hap_driver *h, char *why, size_t why_len) {
  if (launch_gateway(h, why, why_len) != 0)
    return -1;
  if (h->real.cfg.front_lb_key_pem && launch_lb(h, why, why_len) != 0)
    return -1;
  return 0;
}

static void forget_live(hap_driver *h) {
  gh_haproxy_rendered_free(&h->live);
  h->has_live = 0;
}

/* Stops the load balancer and the gateway (by pid) and removes the socket's
 * short directory; the introspector is left to the caller. */
static int stop_processes(hap_driver *h, char *why, size_t why_len) {
  int rc = 0;
  if (h->lb_running) {
    char lb_why[256] = "";
    h->lb_running = 0;
    if (stop_haproxy(&h->lb_proc, lb_why, sizeof(lb_why)) != 0)
      rc = gu_fail(why, why_len, "the load balancer: %s", lb_why);
  }
  if (h->running) {
    h->running = 0;
    char gw_why[256] = "";
    if (stop_haproxy(&h->proc, gw_why, sizeof(gw_why)) != 0)
      rc = gu_fail(why, why_len, "haproxy: %s", gw_why);
  }
  if (h->sock_dir[0]) { /* the short directory lives as long as the process */
    unlink(h->sock_path);
    rmdir(h->sock_dir);
    h->sock_dir[0] = '\0';
  }
  return rc;
}

static int hap_stop(gh_driver *d, char *why, size_t why_len) {
  hap_driver *h = d->impl;
  int rc = stop_processes(h, why, why_len);
  char ti_why[256] = "";
  if (gh_tokens_stop(h->real.tokens, ti_why, sizeof(ti_why)) != 0 && rc == 0)
    rc = gu_fail(why, why_len, "gatecert-introspect: %s", ti_why);
  return rc;
}

static int hap_start(gh_driver *d, const gh_gateway_config *cfg, char *why, size_t why_len) {
  hap_driver *h = d->impl;
  forget_live(h);
  gh_real_reset(&h->real, cfg);
  h->reloads = h->runtime_commits = 0;
  h->https_port = 0;
  if (strlen(cfg->work_dir) + sizeof("/haproxy-lb") > sizeof(h->dir))
    return gu_fail(why, why_len, "the work directory's path is too long: %s", cfg->work_dir);
  snprintf(h->dir, sizeof(h->dir), "%s/haproxy", cfg->work_dir);
  snprintf(h->lb_dir, sizeof(h->lb_dir), "%s/haproxy-lb", cfg->work_dir);
  if (gh_real_mkdir(h->dir, why, why_len) != 0 ||
      (cfg->front_lb_key_pem && gh_real_mkdir(h->lb_dir, why, why_len) != 0))
    return -1;
  snprintf(h->config_path, sizeof(h->config_path), "%s/haproxy.cfg", h->dir);
  snprintf(h->log_path, sizeof(h->log_path), "%s/haproxy.log", h->dir);
  snprintf(h->identity_path, sizeof(h->identity_path), "%s/gateway-identity.pem", h->dir);
  snprintf(h->lb_config_path, sizeof(h->lb_config_path), "%s/haproxy.cfg", h->lb_dir);
  snprintf(h->lb_log_path, sizeof(h->lb_log_path), "%s/haproxy.log", h->lb_dir);
  if (choose_socket(h, why, why_len) != 0 || write_identity(h, why, why_len) != 0)
    return -1;
  double start = gu_now_ms();
  if (launch_all(h, why, why_len) != 0)
    return -1;
  gh_real_count_apply(&h->real, start);
  return 0;
}

static int hap_restart(gh_driver *d, char *why, size_t why_len) {
  hap_driver *h = d->impl;
  /* the introspector again from its config file (its port may change: the
   * configuration below is rendered afresh anyway) */
  if (gh_tokens_restart(h->real.tokens, why, why_len) < 0 || stop_processes(h, why, why_len) != 0 ||
      choose_socket(h, why, why_len) != 0)
    return -1;
  h->real.generation++;
  return write_live(h, why, why_len) == 0 ? launch_all(h, why, why_len) : -1;
}

static int hap_https_port(gh_driver *d) { return ((hap_driver *)d->impl)->https_port; }
static int hap_front_port(gh_driver *d) {
  hap_driver *h = d->impl;
  return h->lb_running ? h->lb_port : -1;
}

/* 1 when name can be written inside a double-quoted configuration argument
 * as it is (no escapes, no environment variables, no comment). */
static int plain_name(const char *name) {
  if (!*name)
    return 0;
  for (const char *p = name; *p; p++)
    if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f || strchr("\"'\\$#", *p))
      return 0;
  return 1;
}

/* gh_real_ops.check_api: what HAProxy's configuration can carry, and one API
 * per context and version (they route by path). */
static int hap_check_api(gh_real *g, const gh_real_api *a, gh_admin_result *r) {
  if (a->introspected && !plain_name(a->name))
    return gh_admin_error(r, 400, "Bad Request",
                          "an API secured with OAuth2 needs a name without quotes, backslashes, "
                          "'$', '#' or control characters"),
           1;
  for (size_t i = 0; i < g->api_count; i++)
    if (strcmp(g->apis[i].context, a->context) == 0 && strcmp(g->apis[i].version, a->version) == 0)
      return gh_admin_error(r, 409, "Conflict",
                            "An API with that name or context and version exists"),
             1;
  if (strpbrk(a->context, " '\"\\#") || strpbrk(a->version, " '\"\\#/") ||
      strpbrk(a->u.host, " '\"\\#()"))
    return gh_admin_error(r, 400, "Bad Request",
                          "context, version or host has a character "
                          "this driver does not write into a configuration"),
           1;
  return 0;
}

static const gh_real_ops hap_real_ops = {
    .product = "haproxy",
    .keep_keys = 0,
    .check_api = hap_check_api,
    .judge_upload = hap_judge_upload,
    .apply = hap_apply,
};

/* HAProxy's log, then the introspector's tail when it ran (it names APIs,
 * key managers and client ids, never tokens); max bounds the whole. */
static char *hap_log_tail(gh_driver *d, size_t max) {
  hap_driver *h = d->impl;
  const char *introspector_log = gh_tokens_log_path(h->real.tokens);
  char *extra = introspector_log ? gh_driver_file_tail(introspector_log, max / 4) : NULL;
  return gh_real_tail_join(gh_driver_file_tail(h->log_path, max), extra, "gatecert-introspect",
                           max);
}

static void hap_free(void *impl) {
  hap_driver *h = impl;
  forget_live(h);
  gh_real_free(&h->real);
  if (h->identity_pem) {
    OPENSSL_cleanse(h->identity_pem, strlen(h->identity_pem));
    free(h->identity_pem);
  }
  free(h->throwaway_ca_pem);
  free(h);
}

static void hap_destroy(gh_driver *d) { gh_driver_destroy_with(d, hap_free); }

/* Answers to the rejection classes, as HAProxy 2.6 gives them. */
static const gh_reject_answer hap_rejects[GH_REJECT_COUNT] = {
    [GH_REJECT_CLIENT_CERT] = {.tls_alert = 1},
    [GH_REJECT_UNAUTHENTICATED] = {.status = {401}},
    [GH_REJECT_BACKEND_TLS] = {.status = {503, 502}},
};

static const gh_driver_ops hap_ops = {
    .name = "haproxy",
    .caps = GH_REAL_CAPS,
    .start = hap_start,
    .stop = hap_stop,
    .restart = hap_restart,
    .https_port = hap_https_port,
    .front_port = hap_front_port,
    .rejects = hap_rejects,
    .log_tail = hap_log_tail,
    .destroy = hap_destroy,
    GH_REAL_ADMIN_OPS,
};

/* The gateway's identity (certificate and key, one PEM) and the throwaway CA
 * of an empty bundle (its key discarded), made with front_lb.h's factory call. */
static int make_identities(hap_driver *h, char *why, size_t why_len) {
  gcert_buf cert = {0}, key = {0}, ca = {0};
  int rc = gh_self_signed_identity(GCERT_KIND_SERVER, "CN=localhost,O=gatecert haproxy gateway",
                                   &cert, &key, why, why_len);
  if (rc == 0)
    rc = gh_self_signed_identity(GCERT_KIND_CA, "CN=gatecert haproxy empty bundle,O=gatecert", &ca,
                                 NULL, why, why_len);
  if (rc == 0) {
    h->identity_pem = malloc(cert.len + key.len + 1);
    h->throwaway_ca_pem = malloc(ca.len + 1);
    if (h->identity_pem && h->throwaway_ca_pem) {
      memcpy(h->identity_pem, cert.data, cert.len);
      memcpy(h->identity_pem + cert.len, key.data, key.len);
      h->identity_pem[cert.len + key.len] = '\0';
      memcpy(h->throwaway_ca_pem, ca.data, ca.len);
      h->throwaway_ca_pem[ca.len] = '\0';
    } else
      rc = gu_fail(why, why_len, "out of memory");
  }
  gcert_buf_free(&cert);
  gcert_buf_cleanse_free(&key);
  gcert_buf_free(&ca);
  return rc;
}

gh_driver *gh_driver_haproxy_new(const char *bin, gh_real_info *info, char *why, size_t why_len) {
  gh_driver *d = calloc(1, sizeof(*d));
  hap_driver *h = calloc(1, sizeof(*h));
  if (!d || !h) {
    free(d);
    free(h);
    gu_fail(why, why_len, "out of memory");
    return NULL;
  }
  d->ops = &hap_ops;
  d->impl = h;
  const char *reload_only = getenv("GATECERT_HAPROXY_RELOAD_ONLY");
  h->reload_only = reload_only && strcmp(reload_only, "1") == 0;
  char version[160] = "";
  if (gh_real_init(&h->real, &hap_real_ops, bin, "haproxy", "/usr/sbin/haproxy", why, why_len) !=
          0 ||
      gh_real_version(h->real.bin, "version ", 0, "HAProxy ", version, sizeof(version), why,
                      why_len) != 0 ||
      make_identities(h, why, why_len) != 0) {
    hap_destroy(d);
    return NULL;
  }
  if (info)
    snprintf(info->version, sizeof(info->version), "%s", version);
  return d;
}
