/* haproxy.c - the `haproxy` driver: HAProxy 2.6 as the gateway under test.
 *
 * The driver keeps the desired state of a case in memory (APIs, endpoint
 * certificates, client certificates) and renders it into one HAProxy
 * configuration plus the files it names (CA bundles, ACL pin files) under
 * <work_dir>/haproxy/. HAProxy runs in master-worker mode in the foreground
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
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "driver.h"
#include "text.h"
#include "tokens.h"
#include "gcert.h"
#include "supervisor.h"

#define PATH_LEN         1024
#define DIR_LEN          (PATH_LEN - 96) /* room for a file name after it */
#define MAX_APIS         64
#define MAX_CERTS        256
#define MAX_FILES        (MAX_APIS * 3 + 8)
#define POLL_STEP_MS     20
#define POLL_CAP_MS      5000
#define CLI_TIMEOUT_MS   5000
#define START_TRIES      5
#define HAPROXY_SOCK_MAX 97 /* 'stats socket' path limit of HAProxy 2.6 */
#define CERT_MAX         ((size_t)1 << 20)
#define LUA_FILE         "gatecert-auth.lua"

/* ---- state ------------------------------------------------------------------ */

typedef struct hap_api {
  char name[128];
  char context[256];
  char version[64];
  char url[512];  /* scheme://host:port as given */
  char host[256]; /* from url */
  int port;
  int default_version;
  int mutualssl;
  int introspected;        /* OAuth2 in play: gatecert-introspect decides (Lua action) */
  char *backend_trust_pem; /* path, or NULL */
  char *backend_key_pem;   /* path, "none", or NULL */
  int id;                  /* stable: names its files and backend */
} hap_api;

typedef struct hap_cert {
  char alias[256];
  char endpoint[512]; /* endpoint certificates */
  char api[128];      /* client certificates */
  char *bytes;        /* PEM (converted from DER), or the upload as is */
  size_t len;
  char sha1_der[41]; /* client certificates: "" when the bytes are not a certificate */
  char sha1_pem[41];
  char subject[512]; /* "/O=.../CN=..." as ssl_c_i_dn writes an issuer */
} hap_cert;

/* A file the configuration names, with what HAProxy can do to it at run time. */
typedef enum file_kind { FILE_CA_BIND, FILE_CA_SERVER, FILE_ACL, FILE_STATIC } file_kind;

typedef struct hap_file {
  char path[PATH_LEN];
  file_kind kind;
  int runtime; /* CA_SERVER: the server line has crt */
  char *content;
  size_t len;
} hap_file;

typedef struct rendered {
  char *config; /* without the generation line */
  hap_file files[MAX_FILES];
  size_t count;
} rendered;

typedef struct hap_driver {
  char *bin;
  gh_gateway_config cfg; /* borrowed strings, valid for the case */
  char dir[DIR_LEN];
  char lb_dir[DIR_LEN];
  char config_path[PATH_LEN];
  char log_path[PATH_LEN];
  char identity_path[PATH_LEN];
  char lb_config_path[PATH_LEN];
  char lb_log_path[PATH_LEN];
  char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  char sock_dir[64]; /* a short directory of our own when the work dir is too long */
  char *identity_pem;
  char *throwaway_ca_pem; /* what an empty CA bundle holds */
  gh_proc proc;
  gh_proc lb_proc;
  int running;
  int lb_running;
  int https_port;
  int control_port;
  int lb_port;
  int lb_control_port;
  long generation;
  rendered live; /* what HAProxy runs (config text and files) */
  int has_live;
  hap_api apis[MAX_APIS];
  size_t api_count;
  int next_api_id;
  hap_cert endpoint_certs[MAX_CERTS];
  size_t endpoint_count;
  hap_cert client_certs[MAX_CERTS];
  size_t client_count;
  gh_tokens *tokens; /* OAuth2: key managers, subscriptions, gatecert-introspect */
  long applies;
  double apply_ms;
  long reloads;
  long runtime_commits;
  int reload_only; /* GATECERT_HAPROXY_RELOAD_ONLY: never the runtime API (to compare) */
  const char *secrets[1];
} hap_driver;

/* ---- strings and files ---------------------------------------------------------- */

/* Appends text, with a newline after it when it lacks one. */
static void sb_add_text(gh_text *b, const char *s, size_t n) {
  if (n == 0)
    return;
  gh_text_add(b, s, n);
  if (s[n - 1] != '\n')
    gh_text_add(b, "\n", 1);
}

static int write_file(const char *path, const char *data, size_t len, int private_data) {
  char tmp[PATH_LEN + 16];
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, private_data ? 0600 : 0644);
  if (fd < 0)
    return -1;
  int ok = len == 0 || write(fd, data, len) == (ssize_t)len;
  if (close(fd) != 0 || !ok || rename(tmp, path) != 0) {
    unlink(tmp);
    return -1;
  }
  return 0;
}

/* A whole file (malloc'd, NUL-terminated), or NULL. */
static char *read_text(const char *path, size_t *len) {
  gcert_buf buf = {0};
  gcert_error err = {0};
  if (gcert_file_load(path, (size_t)16 << 20, &buf, &err) != GCERT_OK)
    return NULL;
  char *out = malloc(buf.len + 1);
  if (out) {
    if (buf.len)
      memcpy(out, buf.data, buf.len);
    out[buf.len] = '\0';
    if (len)
      *len = buf.len;
  }
  gcert_buf_free(&buf);
  return out;
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* The log written since offset (malloc'd), or NULL. */
static char *log_since(const char *path, long offset) {
  long size = file_size(path);
  return size > offset ? gh_driver_file_tail(path, (size_t)(size - offset)) : NULL;
}

/* ---- certificates ---------------------------------------------------------------- */

static void hex_of(const unsigned char *md, unsigned n, char *out) {
  for (unsigned i = 0; i < n; i++)
    snprintf(out + (size_t)2 * i, 3, "%02x", md[i]);
}

/* The PEM text of one certificate, as the harness writes it (gcert_pem_write). */
static char *cert_pem(X509 *cert, size_t *len) {
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  gcert_buf buf = {0};
  char *out = NULL;
  if (gcert_store_add_trusted(&store, NULL, cert, &err) == GCERT_OK &&
      gcert_pem_write(&store, NULL, &buf, &err) == GCERT_OK && (out = malloc(buf.len + 1))) {
    memcpy(out, buf.data, buf.len);
    out[buf.len] = '\0';
    *len = buf.len;
  }
  gcert_buf_free(&buf);
  gcert_store_free(&store);
  return out;
}

/* An upload as PEM certificates (PEM or DER in, every certificate of the
 * input): 0 with c->bytes set and the pins of the first; -1 when the bytes are
 * not PEM or DER certificates (c->bytes is then a copy of the input). */
static int cert_normalise(const void *data, size_t len, hap_cert *c) {
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  gcert_format fmt = gcert_format_detect(data, len);
  int ok = (fmt == GCERT_FORMAT_PEM || fmt == GCERT_FORMAT_DER) && len > 0 &&
           gcert_read(fmt, data, len, NULL, &store, &err) == GCERT_OK &&
           gcert_store_cert_count(&store) > 0 && store.entries[0].key == NULL;
  c->sha1_der[0] = c->sha1_pem[0] = c->subject[0] = '\0';
  if (ok) {
    gh_text all = {0};
    for (size_t i = 0; i < store.count; i++)
      for (int k = 0; k < sk_X509_num(store.entries[i].chain); k++) {
        X509 *x = sk_X509_value(store.entries[i].chain, k);
        size_t n = 0;
        char *pem = cert_pem(x, &n);
        if (!pem) {
          all.failed = 1;
          continue;
        }
        if (i == 0 && k == 0) {
          unsigned char md[EVP_MAX_MD_SIZE];
          unsigned mdn = 0;
          if (X509_digest(x, EVP_sha1(), md, &mdn) == 1)
            hex_of(md, mdn, c->sha1_der);
          if (EVP_Digest(pem, n, md, &mdn, EVP_sha1(), NULL) == 1)
            hex_of(md, mdn, c->sha1_pem);
          X509_NAME_oneline(X509_get_subject_name(x), c->subject, (int)sizeof(c->subject));
        }
        gh_text_add(&all, pem, n);
        free(pem);
      }
    gcert_store_free(&store);
    if (all.failed) {
      free(all.data);
      return -2;
    }
    c->bytes = all.data;
    c->len = all.len;
    return 0;
  }
  gcert_store_free(&store);
  c->bytes = malloc(len + 1);
  if (!c->bytes)
    return -2;
  if (len)
    memcpy(c->bytes, data, len);
  c->bytes[len] = '\0';
  c->len = len;
  return -1;
}

/* A self-signed certificate and key as one PEM (cert first). */
static char *self_signed(gcert_kind kind, char *why, size_t why_len) {
  gcert_spec spec;
  gcert_spec_init(&spec, kind);
  static const char *const dns[] = {"localhost"};
  static const char *const ips[] = {"127.0.0.1"};
  if (kind == GCERT_KIND_SERVER) {
    spec.subject = "CN=localhost,O=gatecert haproxy gateway";
    spec.dns = dns;
    spec.dns_count = 1;
    spec.ips = ips;
    spec.ip_count = 1;
  } else
    spec.subject = "CN=gatecert haproxy empty bundle,O=gatecert";
  spec.not_before = -(int64_t)20 * 365 * 86400;
  spec.not_after = (int64_t)40 * 365 * 86400;
  gcert_item item = {0};
  gcert_error err = {0};
  gcert_buf cert = {0}, key = {0};
  char *out = NULL;
  if (gcert_issue(&spec, time(NULL), NULL, NULL, &item, &err) == GCERT_OK) {
    size_t n = 0;
    char *pem = cert_pem(item.cert, &n);
    if (pem && gcert_pem_write_key(item.key, NULL, &key, &err) == GCERT_OK &&
        (out = malloc(n + key.len + 1))) {
      memcpy(out, pem, n);
      memcpy(out + n, key.data, key.len);
      out[n + key.len] = '\0';
      if (kind == GCERT_KIND_CA) /* the key is thrown away */
        out[n] = '\0';
    }
    free(pem);
  }
  if (!out)
    gh_driver_fail(why, why_len, "making a self-signed certificate: %s",
                   err.message[0] ? err.message : "out of memory");
  gcert_buf_cleanse_free(&key);
  gcert_buf_free(&cert);
  gcert_item_free(&item);
  return out;
}

/* sha1 of a PEM file's first certificate (DER), lower-case hex. */
static int pem_file_sha1(const char *path, char out[41]) {
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  int rc = -1;
  if (gcert_read_file(path, GCERT_FORMAT_AUTO, NULL, &store, &err) == GCERT_OK && store.count > 0 &&
      sk_X509_num(store.entries[0].chain) > 0) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (X509_digest(sk_X509_value(store.entries[0].chain, 0), EVP_sha1(), md, &n) == 1) {
      hex_of(md, n, out);
      rc = 0;
    }
  }
  gcert_store_free(&store);
  return rc;
}

/* ---- processes ----------------------------------------------------------------- */

/* Runs bin with args (NULL-terminated, argv[0] included), stdout and stderr
 * together into *out (malloc'd). The exit status, or -1 with why. */
static int run_capture(const char *bin, char *const *argv, char **out, char *why, size_t why_len) {
  *out = NULL;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return gh_driver_fail(why, why_len, "pipe: %s", strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  pid_t pid;
  int rc = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return gh_driver_fail(why, why_len, "cannot run %s: %s", bin, strerror(rc));
  }
  gh_text b = {0};
  char chunk[4096];
  ssize_t n;
  while ((n = read(fds[0], chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR))
    if (n > 0 && b.len < (size_t)1 << 20)
      gh_text_add(&b, chunk, (size_t)n);
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  *out = b.data ? b.data : calloc(1, 1);
  if (!WIFEXITED(status))
    return gh_driver_fail(why, why_len, "%s ended by signal %d", bin, WTERMSIG(status));
  return WEXITSTATUS(status);
}

/* The first line of text holding "[ALERT]" (else the first line), into out. */
static void first_error_line(const char *text, char *out, size_t out_len) {
  const char *line = text ? strstr(text, "[ALERT]") : NULL;
  if (!line)
    line = text ? text : "";
  size_t n = strcspn(line, "\n");
  snprintf(out, out_len, "%.*s", (int)(n < 400 ? n : 400), line);
}

/* `haproxy -c -f path`: 0 when valid, 1 when refused (first error in msg),
 * -1 when it could not run. */
static int validate(hap_driver *h, const char *path, char *msg, size_t msg_len) {
  char *argv[] = {h->bin, "-c", "-f", (char *)path, NULL};
  char *out = NULL;
  int rc = run_capture(h->bin, argv, &out, msg, msg_len);
  if (rc > 0)
    first_error_line(out, msg, msg_len);
  free(out);
  return rc < 0 ? -1 : rc == 0 ? 0 : 1;
}

/* A free loopback port (bound to port 0, then released). */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t n = sizeof(a);
  int port = -1;
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &n) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

/* ---- the control frontend and the runtime API -------------------------------------- */

typedef struct growbuf {
  char *data;
  size_t len;
} growbuf;

static size_t collect(char *ptr, size_t size, size_t nmemb, void *arg) {
  growbuf *b = arg;
  size_t n = size * nmemb;
  if (b->len + n > 4096)
    return 0;
  char *p = realloc(b->data, b->len + n + 1);
  if (!p)
    return 0;
  memcpy(p + b->len, ptr, n);
  b->len += n;
  p[b->len] = '\0';
  b->data = p;
  return n;
}

/* What the control frontend on port answers (malloc'd), or NULL. */
static char *control_answer(int port) {
  CURL *c = curl_easy_init();
  if (!c)
    return NULL;
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
  growbuf b = {NULL, 0};
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  if (status != 200) {
    free(b.data);
    return NULL;
  }
  return b.data ? b.data : calloc(1, 1);
}

/* Polls the control frontend until it answers want (fresh connections,
 * POLL_STEP_MS steps, POLL_CAP_MS cap). 0, or -1 with why and the log's
 * tail since log_from. */
static int await_control(gh_proc *p, int port, const char *want, const char *log_path,
                         long log_from, char *why, size_t why_len) {
  double start = gh_driver_now_ms();
  char last[64] = "no answer";
  while (gh_driver_now_ms() - start < POLL_CAP_MS) {
    char *got = control_answer(port);
    if (got) {
      int match = strcmp(got, want) == 0;
      snprintf(last, sizeof(last), "\"%.40s\"", got);
      free(got);
      if (match)
        return 0;
    }
    char *log = log_since(log_path, log_from);
    int failed = log && strstr(log, "Loading failure");
    int dead = !gh_proc_alive(p);
    if (failed || dead) {
      gh_driver_fail(why, why_len, "haproxy %s (control answered %s); log: %.600s",
                     dead ? "exited" : "refused the new configuration (Loading failure!)", last,
                     log ? log : "");
      free(log);
      return -1;
    }
    free(log);
    gh_driver_sleep_ms(POLL_STEP_MS);
  }
  char *log = log_since(log_path, log_from);
  gh_driver_fail(why, why_len,
                 "haproxy's control frontend answered %s, not \"%s\", within %d ms; log: %.600s",
                 last, want, POLL_CAP_MS, log ? log : "");
  free(log);
  return -1;
}

/* One runtime API command over the admin socket (cmd ends with "\n"; a
 * payload as "cmd <<\n...\n\n"); the answer read to EOF into *out. */
static int cli(hap_driver *h, const char *cmd, char **out, char *why, size_t why_len) {
  *out = NULL;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return gh_driver_fail(why, why_len, "socket: %s", strerror(errno));
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof(a.sun_path), "%s", h->sock_path);
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
    int e = errno;
    close(fd);
    return gh_driver_fail(why, why_len, "connecting to %s: %s", h->sock_path, strerror(e));
  }
  size_t len = strlen(cmd), sent = 0;
  while (sent < len) {
    ssize_t n = send(fd, cmd + sent, len - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int e = errno;
      close(fd);
      return gh_driver_fail(why, why_len, "writing to the admin socket: %s", strerror(e));
    }
    sent += (size_t)n;
  }
  gh_text b = {0};
  double start = gh_driver_now_ms();
  for (;;) {
    int left = CLI_TIMEOUT_MS - (int)(gh_driver_now_ms() - start);
    struct pollfd pfd = {fd, POLLIN, 0};
    if (left <= 0 || poll(&pfd, 1, left) <= 0) {
      close(fd);
      free(b.data);
      return gh_driver_fail(why, why_len, "the admin socket did not answer within %d ms",
                            CLI_TIMEOUT_MS);
    }
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    gh_text_add(&b, chunk, (size_t)n);
  }
  close(fd);
  *out = b.data ? b.data : calloc(1, 1);
  return *out ? 0 : gh_driver_fail(why, why_len, "out of memory");
}

static int count_of(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = text; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
    n++;
  return n;
}

/* Replaces a CA file at run time and reads it back. 0, or -1 with why. */
static int runtime_ca(hap_driver *h, const hap_file *f, char *why, size_t why_len) {
  gh_text cmd = {0};
  gh_text_printf(&cmd, "set ssl ca-file %s <<\n", f->path);
  /* the payload ends at the first empty line: send none inside it */
  for (const char *p = f->content; p && *p;) {
    size_t n = strcspn(p, "\r\n");
    if (n)
      sb_add_text(&cmd, p, n);
    p += n;
    p += strspn(p, "\r\n");
  }
  gh_text_add(&cmd, "\n", 1);
  if (cmd.failed) {
    free(cmd.data);
    return gh_driver_fail(why, why_len, "out of memory");
  }
  char *answer = NULL;
  int rc = cli(h, cmd.data, &answer, why, why_len);
  free(cmd.data);
  if (rc == 0 && (!answer || (!strstr(answer, "transaction created") &&
                              !strstr(answer, "transaction updated"))))
    rc = gh_driver_fail(why, why_len, "set ssl ca-file %s: %.300s", f->path, answer ? answer : "");
  free(answer);
  if (rc != 0)
    return -1;
  char line[PATH_LEN + 32];
  snprintf(line, sizeof(line), "commit ssl ca-file %s\n", f->path);
  if (cli(h, line, &answer, why, why_len) != 0 || !answer)
    return -1;
  rc = strstr(answer, "Success!")
           ? 0
           : gh_driver_fail(why, why_len, "commit ssl ca-file %s: %.300s", f->path, answer);
  free(answer);
  if (rc != 0)
    return -1;
  snprintf(line, sizeof(line), "show ssl ca-file %s\n", f->path);
  if (cli(h, line, &answer, why, why_len) != 0 || !answer)
    return -1;
  int want = count_of(f->content, "-----BEGIN CERTIFICATE-----");
  int got = count_of(answer, "Certificate #");
  free(answer);
  return got == want
             ? 0
             : gh_driver_fail(why, why_len, "show ssl ca-file %s: %d certificates, %d written",
                              f->path, got, want);
}

/* Whether the newline-separated list text holds line. */
static int has_line(const char *text, const char *line) {
  size_t n = strlen(line);
  for (const char *p = text; p && *p;) {
    size_t len = strcspn(p, "\n");
    if (len == n && strncmp(p, line, n) == 0)
      return 1;
    p += len;
    if (*p)
      p++;
  }
  return 0;
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
    if (!value[0] || has_line(other, value))
      continue;
    char escaped[1200], cmd[PATH_LEN + 1300], *answer = NULL;
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
      gh_driver_fail(why, why_len, "%s acl %s: %.200s", verb, path, answer);
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
  char cmd[PATH_LEN + 32], *answer = NULL;
  snprintf(cmd, sizeof(cmd), "show acl %s\n", f->path);
  if (cli(h, cmd, &answer, why, why_len) != 0 || !answer)
    return -1;
  /* "0x55d0... value" per entry */
  gh_text seen = {0};
  for (const char *p = answer; *p;) {
    size_t len = strcspn(p, "\n");
    const char *space = memchr(p, ' ', len);
    if (space)
      gh_text_printf(&seen, "%.*s\n", (int)(len - (size_t)(space + 1 - p)), space + 1);
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
      ok = ok && seen.data && has_line(seen.data, value);
    }
    p += len;
    if (*p)
      p++;
  }
  int got = count_of(seen.data, "\n");
  free(seen.data);
  return ok && got == want
             ? 0
             : gh_driver_fail(why, why_len, "show acl %s: %d entries live, %d written", f->path,
                              got, want);
}

/* ---- rendering ---------------------------------------------------------------------- */

static void rendered_free(rendered *r) {
  free(r->config);
  for (size_t i = 0; i < r->count; i++)
    free(r->files[i].content);
  memset(r, 0, sizeof(*r));
}

static hap_file *add_file(rendered *r, const char *dir, const char *name, file_kind kind) {
  if (r->count == MAX_FILES)
    return NULL;
  hap_file *f = &r->files[r->count++];
  memset(f, 0, sizeof(*f));
  snprintf(f->path, sizeof(f->path), "%s/%s", dir, name);
  f->kind = kind;
  return f;
}

static int set_content(hap_file *f, gh_text *b) {
  if (b->failed) {
    free(b->data);
    return -1;
  }
  f->content = b->data ? b->data : calloc(1, 1);
  f->len = b->len;
  return f->content ? 0 : -1;
}

/* Appends a PEM file's text to b. */
static void add_pem_file(gh_text *b, const char *path) {
  size_t n = 0;
  char *text = path ? read_text(path, &n) : NULL;
  if (text)
    sb_add_text(b, text, n);
  free(text);
}

/* A CA bundle: never empty (the throwaway CA stands in). */
static void finish_bundle(hap_driver *h, gh_text *b) {
  if (b->len == 0)
    sb_add_text(b, h->throwaway_ca_pem, strlen(h->throwaway_ca_pem));
}

static const gh_driver_profile *profile_for(const hap_driver *h, const hap_api *a) {
  for (size_t i = 0; i < h->cfg.profile_count; i++) {
    const gh_driver_profile *p = &h->cfg.profiles[i];
    if (p->port == a->port && p->host && strcmp(p->host, a->host) == 0)
      return p;
  }
  return NULL;
}

/* The identity toward an API's backend: a chain + key PEM path, or NULL. */
static const char *identity_for(const hap_driver *h, const hap_api *a) {
  const char *key = a->backend_key_pem;
  if (!key) {
    const gh_driver_profile *p = profile_for(h, a);
    key = p ? p->key_pem : NULL;
  }
  if (!key && h->cfg.has_default_profile)
    key = h->cfg.default_profile.key_pem;
  return key && strcmp(key, "none") != 0 ? key : NULL;
}

/* Whether an endpoint string names the API's backend (scheme://host:port). */
static int endpoint_matches(const char *endpoint, const hap_api *a) {
  size_t n = strlen(endpoint);
  while (n > 0 && endpoint[n - 1] == '/')
    n--;
  size_t m = strlen(a->url);
  while (m > 0 && a->url[m - 1] == '/')
    m--;
  return n == m && strncmp(endpoint, a->url, n) == 0;
}

/* Single-quoted for the configuration (the strings we quote hold no quote). */
static void regex_escape(const char *in, char *out, size_t out_len) {
  size_t k = 0;
  for (const char *p = in; *p && k + 3 < out_len; p++) {
    if (strchr(".^$|()[]{}*+?\\", *p))
      out[k++] = '\\';
    out[k++] = *p;
  }
  out[k] = '\0';
}

static const char *header_name(const hap_driver *h) {
  return h->cfg.certificate_header ? h->cfg.certificate_header : "X-WSO2-CLIENT-CERTIFICATE";
}

static int header_mode(const hap_driver *h) {
  return h->cfg.has_mutual_ssl || h->cfg.front_lb_key_pem;
}

/* Where a mutualssl API's ACLs read their values: the API's own pins, and
 * for an API whose chain consults OAuth2 also the certificates the listener
 * knows at all (NULL paths: not rendered). */
typedef struct pin_files {
  const char *pins;     /* SHA-1 of the DER of each certificate uploaded for the API */
  const char *pem_pins; /* SHA-1 of their PEM text (header mode) */
  const char *issuers;  /* their subjects (chain validation), or NULL */
  const char *lb_pins;  /* the trusted load balancers, or NULL */
  const char *known;    /* the same three lists over every certificate the listener knows */
  const char *known_pem;
  const char *known_issuers;
} pin_files;

/* Appends to out the condition under which a client certificate matching
 * the ACLs hdr_der / hdr_pem (the honoured header) or peer_check[0..1] (the
 * connection's own certificate) is the request's: in header mode the
 * connection's own counts only when the header is not honoured on it. */
static void cert_condition(const hap_driver *h, const char *honoured, int pinned_lbs,
                           const char *hdr_der, const char *hdr_pem,
                           const char *const peer_checks[2], gh_text *out) {
  if (header_mode(h))
    gh_text_printf(out, "%s %s || %s %s", honoured, hdr_der, honoured, hdr_pem);
  for (size_t i = 0; i < 2; i++) {
    if (!peer_checks[i])
      continue;
    const char *sep = out->len ? " || " : "";
    if (!header_mode(h))
      gh_text_printf(out, "%speer_sent peer_verified %s", sep, peer_checks[i]);
    else {
      gh_text_printf(out, "%speer_sent peer_verified %s !hdr_sent", sep, peer_checks[i]);
      if (pinned_lbs)
        gh_text_printf(out, " || peer_sent peer_verified %s !lb_pinned", peer_checks[i]);
    }
  }
}

/* The ACLs of a mutualssl API, and in *terms the condition under which its
 * client certificate counts as the API's: the connection's own certificate
 * when it verified and is pinned to the API (or, with chain validation, was
 * issued by a certificate uploaded for it); in header mode the honoured header
 * naming a pinned certificate, and the connection's own only when the header
 * is not honoured on this connection. With f->known, *known gets the same
 * condition over every certificate the listener knows (WSO2's in-memory
 * listener trust: the base trust and every uploaded client certificate). */
static void render_mtls_acls(const hap_driver *h, gh_text *b, const pin_files *f, gh_text *terms,
                             gh_text *known) {
  gh_text_printf(b, "  acl peer_sent ssl_c_used\n  acl peer_verified ssl_c_verify 0\n");
  gh_text_printf(b, "  acl peer_pinned ssl_c_sha1,hex,lower -f %s\n", f->pins);
  if (f->issuers)
    gh_text_printf(b, "  acl peer_issuer ssl_c_i_dn -f %s\n", f->issuers);
  if (f->known) {
    gh_text_printf(b, "  acl peer_known ssl_c_sha1,hex,lower -f %s\n", f->known);
    if (f->known_issuers)
      gh_text_printf(b, "  acl peer_known_issuer ssl_c_i_dn -f %s\n", f->known_issuers);
  }
  const char *hdr = header_name(h);
  int validation = h->cfg.client_validation != 0;
  int pinned_lbs = header_mode(h) && validation && f->lb_pins;
  /* honoured: the header is read on this connection */
  char honoured[128] = "hdr_sent";
  if (header_mode(h)) {
    gh_text_printf(b, "  acl hdr_sent req.fhdr(%s) -m found\n", hdr);
    gh_text_printf(b, "  acl hdr_der req.fhdr(%s),b64dec,sha1,hex,lower -f %s\n", hdr, f->pins);
    gh_text_printf(b, "  acl hdr_pem req.fhdr(%s),url_dec,sha1,hex,lower -f %s\n", hdr,
                   f->pem_pins);
    if (f->known) {
      gh_text_printf(b, "  acl hdr_known_der req.fhdr(%s),b64dec,sha1,hex,lower -f %s\n", hdr,
                     f->known);
      gh_text_printf(b, "  acl hdr_known_pem req.fhdr(%s),url_dec,sha1,hex,lower -f %s\n", hdr,
                     f->known_pem);
    }
    if (pinned_lbs)
      gh_text_printf(b, "  acl lb_pinned ssl_c_sha1,hex,lower -f %s\n", f->lb_pins);
    if (validation)
      snprintf(honoured, sizeof(honoured), "hdr_sent peer_sent peer_verified%s",
               pinned_lbs ? " lb_pinned" : "");
  }
  const char *const pinned[2] = {"peer_pinned", f->issuers ? "peer_issuer" : NULL};
  cert_condition(h, honoured, pinned_lbs, "hdr_der", "hdr_pem", pinned, terms);
  if (f->known) {
    const char *const known_checks[2] = {"peer_known",
                                         f->known_issuers ? "peer_known_issuer" : NULL};
    cert_condition(h, honoured, pinned_lbs, "hdr_known_der", "hdr_known_pem", known_checks, known);
  }
}

/* The 401 rule of a mutualssl API without OAuth2: passes when terms hold. */
static void render_mtls_rule(gh_text *b, const gh_text *terms) {
  gh_text_printf(b,
                 "  http-request return status 401 content-type application/json string "
                 "'{\"code\":401,\"message\":\"Unauthorized\",\"description\":\"no trusted client "
                 "certificate of this API\"}' unless %s\n",
                 terms->data ? terms->data : "FALSE");
}

/* The Lua action asking gatecert-introspect (its contract at the top of
 * simulator/introspect.c) for WSO2's verdict: the client's Authorization, the
 * API's name and the certificate state the configuration computed
 * (txn.gc_cert). It leaves the answer's status in txn.gc_status ("0" when the
 * introspector did not answer), and its fault JSON and challenge in
 * txn.gc_fault and txn.gc_www, for the `http-request return` rules after it. */
static const char lua_action[] =
    "-- " LUA_FILE ": written by gatecert's haproxy driver (harness/drivers/haproxy.c)\n"
    "local function first(headers, name)\n"
    "  local v = headers and headers[name]\n"
    "  return v and v[0]\n"
    "end\n"
    "core.register_action(\"gatecert_auth\", {\"http-req\"}, function(txn, port, api)\n"
    "  local cert = txn:get_var(\"txn.gc_cert\") or \"absent\"\n"
    "  local h = {[\"X-Gatecert-Api\"] = {api}, [\"X-Gatecert-Cert\"] = {cert}}\n"
    "  local auth = first(txn.http:req_get_headers(), \"authorization\")\n"
    "  if auth then h[\"Authorization\"] = {auth} end\n"
    "  local hc = core.httpclient()\n"
    "  local r = hc:get{url = \"http://127.0.0.1:\" .. port .. \"/check\", headers = h,\n"
    "                  timeout = 5000}\n"
    "  if not r or not r.status then\n"
    "    txn:set_var(\"txn.gc_status\", \"0\")\n"
    "    return\n"
    "  end\n"
    "  txn:set_var(\"txn.gc_status\", tostring(r.status))\n"
    "  txn:set_var(\"txn.gc_fault\", first(r.headers, \"x-gatecert-fault\") or \"\")\n"
    "  txn:set_var(\"txn.gc_www\", first(r.headers, \"www-authenticate\") or \"\")\n"
    "end, 2)\n";

/* An introspected API's rules: the certificate state (valid: the API's;
 * unknown: one the listener knows, not the API's; absent: none, or one the
 * listener does not know, as WSO2's in-memory trust check), the Lua action, then
 * the introspector's 401 / 403 / 500 with its fault JSON, any other outcome a
 * 500 of the driver's; 204 continues to the backend. */
static void render_token_rules(const hap_driver *h, gh_text *b, const hap_api *a,
                               const gh_text *terms, const gh_text *known) {
  gh_text_printf(b, "  http-request set-var(txn.gc_cert) str(absent)\n");
  if (a->mutualssl) {
    gh_text_printf(b, "  http-request set-var(txn.gc_cert) str(unknown) if %s\n",
                   known->data ? known->data : "FALSE");
    gh_text_printf(b, "  http-request set-var(txn.gc_cert) str(valid) if %s\n",
                   terms->data ? terms->data : "FALSE");
  }
  gh_text_printf(b, "  http-request lua.gatecert_auth %d \"%s\"\n", gh_tokens_port(h->tokens),
                 a->name);
  gh_text_printf(b, "  http-request return status 401 content-type application/json lf-string "
                    "\"%%[var(txn.gc_fault)]\" hdr WWW-Authenticate \"%%[var(txn.gc_www)]\" "
                    "if { var(txn.gc_status) -m str 401 }\n");
  static const char *const others[] = {"403", "500"};
  for (size_t i = 0; i < 2; i++)
    gh_text_printf(b,
                   "  http-request return status %s content-type application/json lf-string "
                   "\"%%[var(txn.gc_fault)]\" if { var(txn.gc_status) -m str %s }\n",
                   others[i], others[i]);
  gh_text_printf(b,
                 "  http-request return status 500 content-type application/json string "
                 "'{\"code\":500,\"message\":\"Internal Server Error\",\"description\":"
                 "\"gatecert-introspect gave no verdict\"}' unless { var(txn.gc_status) -m str 204 "
                 "}\n");
}

/* 1 when an API's chain consults OAuth2 and mutual SSL: its certificate
 * state needs the certificates the listener knows. */
static int any_token_mtls(const hap_driver *h) {
  for (size_t i = 0; i < h->api_count; i++)
    if (h->apis[i].introspected && h->apis[i].mutualssl)
      return 1;
  return 0;
}

/* Appends the line to b unless b has it already. */
static void add_unique_line(gh_text *b, const char *line) {
  if (!line[0] || (b->data && has_line(b->data, line)))
    return;
  gh_text_printf(b, "%s\n", line);
}

/* One certificate's SHA-1 (DER and PEM text, as the pins) and subject. */
static void add_known_cert(X509 *x, gh_text *der, gh_text *pem, gh_text *subjects) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdn = 0;
  char hex[EVP_MAX_MD_SIZE * 2 + 1], subject[512];
  if (X509_digest(x, EVP_sha1(), md, &mdn) == 1) {
    hex_of(md, mdn, hex);
    add_unique_line(der, hex);
  }
  size_t n = 0;
  char *text = cert_pem(x, &n);
  if (text && EVP_Digest(text, n, md, &mdn, EVP_sha1(), NULL) == 1) {
    hex_of(md, mdn, hex);
    add_unique_line(pem, hex);
  }
  free(text);
  X509_NAME_oneline(X509_get_subject_name(x), subject, (int)sizeof(subject));
  add_unique_line(subjects, subject);
}

/* The certificates the listener knows, as WSO2's in-memory listener trust
 * (the simulator's gsim_listener_memory_trusts): every certificate of the
 * base trust and every uploaded client certificate (any API). A presented
 * certificate outside them is "absent" to WSO2's mutual SSL, not "unknown". */
static void known_certs(const hap_driver *h, gh_text *der, gh_text *pem, gh_text *subjects) {
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  if (h->cfg.base_trust_pem &&
      gcert_read_file(h->cfg.base_trust_pem, GCERT_FORMAT_AUTO, NULL, &store, &err) == GCERT_OK)
    for (size_t i = 0; i < store.count; i++)
      for (int k = 0; k < sk_X509_num(store.entries[i].chain); k++)
        add_known_cert(sk_X509_value(store.entries[i].chain, k), der, pem, subjects);
  gcert_store_free(&store);
  for (size_t i = 0; i < h->client_count; i++) {
    const hap_cert *c = &h->client_certs[i];
    if (!c->sha1_der[0])
      continue;
    add_unique_line(der, c->sha1_der);
    add_unique_line(pem, c->sha1_pem);
    add_unique_line(subjects, c->subject);
  }
}

static int any_introspected(const hap_driver *h) {
  for (size_t i = 0; i < h->api_count; i++)
    if (h->apis[i].introspected)
      return 1;
  return 0;
}

typedef struct route {
  char prefix[400];
  int api;
} route;

static int route_longer(const void *x, const void *y) {
  const route *a = x, *b = y;
  size_t la = strlen(a->prefix), lb = strlen(b->prefix);
  return la < lb ? 1 : la > lb ? -1 : a->api - b->api;
}

/* The desired state as a configuration (without its generation line) and files. */
static int render(hap_driver *h, rendered *r) {
  memset(r, 0, sizeof(*r));
  const gh_gateway_config *c = &h->cfg;
  gh_text b = {0};
  int err = 0;
  /* the client CA bundle: base trust + every uploaded client certificate */
  const char *verify = c->verify_client ? c->verify_client : "optional";
  int verify_none = strcmp(verify, "none") == 0;
  hap_file *clients = add_file(r, h->dir, "clients.pem", FILE_CA_BIND);
  gh_text cb = {0};
  add_pem_file(&cb, c->base_trust_pem);
  for (size_t i = 0; i < h->client_count; i++)
    sb_add_text(&cb, h->client_certs[i].bytes, h->client_certs[i].len);
  finish_bundle(h, &cb);
  err |= !clients || set_content(clients, &cb) != 0;
  /* trusted load balancers' pins */
  char lb_pins[PATH_LEN] = "";
  if (c->trusted_lb_count > 0) {
    hap_file *f = add_file(r, h->dir, "lb-pins.acl", FILE_STATIC);
    gh_text lb = {0};
    for (size_t i = 0; i < c->trusted_lb_count && i < GH_MAX_LB; i++) {
      char sha1[41];
      if (c->trusted_lb_pem[i] && pem_file_sha1(c->trusted_lb_pem[i], sha1) == 0)
        gh_text_printf(&lb, "%s\n", sha1);
    }
    err |= !f || set_content(f, &lb) != 0;
    if (f)
      snprintf(lb_pins, sizeof(lb_pins), "%s", f->path);
  }

  /* nbthread 1: under libfaketime a jump of the fake clock seen by one idle
   * thread but not yet by another timed out handshakes in flight (HAPROXY.md) */
  gh_text_printf(
      &b, "global\n  nbthread 1\n  stats socket %s level admin\n  log stderr format raw local0\n",
      h->sock_path);
  if (any_introspected(h)) {
    hap_file *lua = add_file(r, h->dir, LUA_FILE, FILE_STATIC);
    gh_text lb = {0};
    gh_text_add(&lb, lua_action, sizeof(lua_action) - 1);
    err |= !lua || set_content(lua, &lb) != 0;
    if (lua)
      gh_text_printf(&b, "  lua-load %s\n", lua->path);
    /* requests up to the introspector's 64 KiB of headers reach it, so that an
     * oversize token gets WSO2's 401 900901 rather than HAProxy's own 400 */
    gh_text_printf(&b, "  tune.bufsize 65536\n");
  }
  gh_text_printf(&b,
                 "  hard-stop-after 2s\ndefaults\n  mode http\n  log global\n"
                 "  timeout connect 5s\n  timeout client 30s\n  timeout server %lldms\n\n",
                 (long long)(c->backend_timeout_ms > 0 ? c->backend_timeout_ms : 30000));
  gh_text_printf(&b, "frontend control\n  bind 127.0.0.1:%d\n  no log\n", h->control_port);
  gh_text_printf(&b, "  http-request return status 200 content-type text/plain string "
                     "\"%%GENERATION%%\"\n\n");
  gh_text_printf(&b, "frontend gateway\n  bind 127.0.0.1:%d ssl crt %s", h->https_port,
                 h->identity_path);
  if (!verify_none)
    gh_text_printf(&b, " verify %s ca-file %s",
                   strcmp(verify, "require") == 0 ? "required" : "optional", clients->path);
  gh_text_printf(&b, "\n  option httplog\n");
  route routes[MAX_APIS * 2];
  memset(routes, 0, sizeof(routes));
  size_t nr = 0;
  for (size_t i = 0; i < h->api_count; i++) {
    const hap_api *a = &h->apis[i];
    snprintf(routes[nr].prefix, sizeof(routes[nr].prefix), "%s/%s", a->context, a->version);
    routes[nr++].api = a->id;
    if (a->default_version) {
      snprintf(routes[nr].prefix, sizeof(routes[nr].prefix), "%s", a->context);
      routes[nr++].api = a->id;
    }
  }
  qsort(routes, nr, sizeof(routes[0]), route_longer);
  for (size_t i = 0; i < nr; i++)
    gh_text_printf(&b, "  use_backend api%d if { path '%s' } || { path_beg '%s/' }\n",
                   routes[i].api, routes[i].prefix, routes[i].prefix);
  gh_text_printf(&b, "  default_backend no_api\n\nbackend no_api\n"
                     "  http-request return status 404 content-type application/json string "
                     "'{\"code\":404,\"message\":\"Not Found\",\"description\":\"No matching "
                     "resource found for given API Request\"}'\n\n");

  /* what the listener knows, for the certificate state the introspector gets */
  hap_file *known = NULL, *known_pem = NULL, *known_issuers = NULL;
  if (any_token_mtls(h)) {
    gh_text kd = {0}, kp = {0}, ki = {0};
    known_certs(h, &kd, &kp, &ki);
    known = add_file(r, h->dir, "known.acl", FILE_ACL);
    err |= !known || set_content(known, &kd) != 0;
    known_pem = header_mode(h) ? add_file(r, h->dir, "known-pem.acl", FILE_ACL) : NULL;
    if (known_pem)
      err |= set_content(known_pem, &kp) != 0;
    else
      free(kp.data);
    known_issuers =
        c->chain_validation == 1 ? add_file(r, h->dir, "known-issuers.acl", FILE_ACL) : NULL;
    if (known_issuers)
      err |= set_content(known_issuers, &ki) != 0;
    else
      free(ki.data);
  }
  for (size_t i = 0; i < h->api_count; i++) {
    const hap_api *a = &h->apis[i];
    char name[64];
    snprintf(name, sizeof(name), "api%d.ca.pem", a->id);
    hap_file *ca = add_file(r, h->dir, name, FILE_CA_SERVER);
    gh_text tb = {0};
    const gh_driver_profile *p = profile_for(h, a);
    if (a->backend_trust_pem)
      add_pem_file(&tb, a->backend_trust_pem);
    else
      add_pem_file(&tb, p && p->trust_pem ? p->trust_pem : c->base_trust_pem);
    for (size_t k = 0; k < h->endpoint_count; k++)
      if (endpoint_matches(h->endpoint_certs[k].endpoint, a))
        sb_add_text(&tb, h->endpoint_certs[k].bytes, h->endpoint_certs[k].len);
    finish_bundle(h, &tb);
    err |= !ca || set_content(ca, &tb) != 0;
    const char *identity = identity_for(h, a);
    if (ca)
      ca->runtime = identity != NULL;
    gh_text_printf(&b, "backend api%d\n  # API %s %s/%s -> %s\n", a->id, a->name, a->context,
                   a->version, a->url);
    gh_text terms = {0}, known_terms = {0};
    if (a->mutualssl) {
      snprintf(name, sizeof(name), "api%d.pins.acl", a->id);
      hap_file *pins = add_file(r, h->dir, name, FILE_ACL);
      /* only what the configuration names: the runtime API knows no other file */
      snprintf(name, sizeof(name), "api%d.pem-pins.acl", a->id);
      hap_file *pem_pins = header_mode(h) ? add_file(r, h->dir, name, FILE_ACL) : NULL;
      gh_text pb = {0}, qb = {0};
      for (size_t k = 0; k < h->client_count; k++)
        if (strcmp(h->client_certs[k].api, a->name) == 0 && h->client_certs[k].sha1_der[0]) {
          gh_text_printf(&pb, "%s\n", h->client_certs[k].sha1_der);
          gh_text_printf(&qb, "%s\n", h->client_certs[k].sha1_pem);
        }
      err |= !pins || set_content(pins, &pb) != 0;
      if (pem_pins)
        err |= set_content(pem_pins, &qb) != 0;
      else
        free(qb.data);
      hap_file *issuers = NULL;
      if (c->chain_validation == 1) {
        snprintf(name, sizeof(name), "api%d.issuers.acl", a->id);
        issuers = add_file(r, h->dir, name, FILE_ACL);
        gh_text ib = {0};
        for (size_t k = 0; k < h->client_count; k++)
          if (strcmp(h->client_certs[k].api, a->name) == 0 && h->client_certs[k].subject[0])
            gh_text_printf(&ib, "%s\n", h->client_certs[k].subject);
        err |= !issuers || set_content(issuers, &ib) != 0;
      }
      pin_files pf = {.pins = pins ? pins->path : "",
                      .pem_pins = pem_pins ? pem_pins->path : "",
                      .issuers = issuers ? issuers->path : NULL,
                      .lb_pins = lb_pins[0] ? lb_pins : NULL};
      if (a->introspected && known) {
        pf.known = known->path;
        pf.known_pem = known_pem ? known_pem->path : "";
        pf.known_issuers = known_issuers ? known_issuers->path : NULL;
      }
      render_mtls_acls(h, &b, &pf, &terms, &known_terms);
    }
    if (a->introspected)
      render_token_rules(h, &b, a, &terms, &known_terms);
    else if (a->mutualssl)
      render_mtls_rule(&b, &terms);
    err |= terms.failed || known_terms.failed;
    free(terms.data);
    free(known_terms.data);
    char ctx[300], ver[160];
    regex_escape(a->context, ctx, sizeof(ctx));
    regex_escape(a->version, ver, sizeof(ver));
    const char *opt = a->default_version ? "?" : "";
    gh_text_printf(&b, "  http-request replace-path '^%s(?:/%s)%s/?$' '/'\n", ctx, ver, opt);
    gh_text_printf(&b, "  http-request replace-path '^%s(?:/%s)%s(/.+)$' '\\1'\n", ctx, ver, opt);
    gh_text_printf(
        &b, "  server s 127.0.0.1:%d ssl verify required ca-file %s sni str(%s) verifyhost %s",
        a->port, ca ? ca->path : "", a->host, a->host);
    if (identity)
      gh_text_printf(&b, " crt %s", identity);
    if (c->upstream_session_reuse == 0)
      gh_text_printf(&b, " no-ssl-reuse");
    gh_text_printf(&b, "\n\n");
  }
  if (err || b.failed) {
    free(b.data);
    rendered_free(r);
    return -1;
  }
  r->config = b.data;
  return 0;
}

/* The configuration text with its generation. */
static char *with_generation(const char *config, long generation) {
  const char *mark = strstr(config, "%GENERATION%");
  size_t n = strlen(config) + 32;
  char *out = malloc(n);
  if (out && mark)
    snprintf(out, n, "%.*s%ld%s", (int)(mark - config), config, generation,
             mark + strlen("%GENERATION%"));
  else if (out)
    snprintf(out, n, "%s", config);
  return out;
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
    if (write_file(r->files[i].path, r->files[i].content, r->files[i].len, 0) != 0)
      return gh_driver_fail(why, why_len, "cannot write %s: %s", r->files[i].path, strerror(errno));
  char *text = with_generation(r->config, generation);
  int rc =
      text && write_file(h->config_path, text, strlen(text), 0) == 0
          ? 0
          : gh_driver_fail(why, why_len, "cannot write %s: %s", h->config_path, strerror(errno));
  free(text);
  return rc;
}

/* Waits until pid has a handler for sig (SigCgt in /proc): HAProxy's master
 * re-executes itself on a reload and a signal that arrives before it set
 * its handlers again kills it. 0, or -1 after POLL_CAP_MS. */
static int await_handler(pid_t pid, int sig) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  unsigned long long bit = 1ULL << (sig - 1);
  double start = gh_driver_now_ms();
  while (gh_driver_now_ms() - start < POLL_CAP_MS) {
    FILE *f = fopen(path, "r");
    char line[256];
    unsigned long long caught = 0;
    int found = 0;
    while (f && fgets(line, sizeof(line), f))
      if (strncmp(line, "SigCgt:", 7) == 0) {
        char *end = NULL;
        caught = strtoull(line + 7, &end, 16);
        found = end != line + 7;
      }
    if (f)
      fclose(f);
    if (!f)
      return -1;
    if (found && (caught & bit))
      return 0;
    gh_driver_sleep_ms(POLL_STEP_MS);
  }
  return -1;
}

/* Stops a master-worker HAProxy: SIGUSR1 to the master alone (a signal to
 * the whole group reaches a worker twice, and the second kills it, which
 * the master reports as its own failure), then the supervisor reaps it. */
static int stop_haproxy(gh_proc *p, char *why, size_t why_len) {
  if (p->pid > 0 && await_handler(p->pid, SIGUSR1) == 0 && kill(p->pid, SIGUSR1) == 0) {
    double start = gh_driver_now_ms();
    while (gh_proc_alive(p) && gh_driver_now_ms() - start < POLL_CAP_MS)
      gh_driver_sleep_ms(POLL_STEP_MS);
  }
  return gh_proc_stop(p, SIGTERM, 2000, why, why_len);
}

/* A line in the driver's own log (haproxy/driver.log): which path an apply took. */
static void note(const hap_driver *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const hap_driver *h, const char *fmt, ...) {
  char path[PATH_LEN];
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

/* The new generation answering is not enough: the old worker keeps accepting on
 * the shared listener until the master tells it to stop, and a call in that
 * window meets the old configuration (seen on a loaded machine: a 404 from the
 * generation before an API existed). Its "Proxy gateway stopped" line, written
 * since the reload began, says it no longer listens. */
static int await_old_gateway_stopped(const char *log_path, long log_from, char *why,
                                     size_t why_len) {
  double start = gh_driver_now_ms();
  while (gh_driver_now_ms() - start < POLL_CAP_MS) {
    char *log = log_since(log_path, log_from);
    int stopped = log && strstr(log, "Proxy gateway stopped") != NULL;
    free(log);
    if (stopped)
      return 0;
    gh_driver_sleep_ms(POLL_STEP_MS);
  }
  char *log = log_since(log_path, log_from);
  gh_driver_fail(why, why_len,
                 "haproxy's old worker did not stop its gateway listener within %d ms; log: %.600s",
                 POLL_CAP_MS, log ? log : "");
  free(log);
  return -1;
}

static int reload_to(hap_driver *h, long generation, char *why, size_t why_len) {
  if (await_handler(h->proc.pid, SIGUSR2) != 0)
    return gh_driver_fail(why, why_len, "haproxy's master %d does not take SIGUSR2",
                          (int)h->proc.pid);
  long from = file_size(h->log_path);
  if (kill(h->proc.pid, SIGUSR2) != 0)
    return gh_driver_fail(why, why_len, "SIGUSR2 to haproxy's master %d: %s", (int)h->proc.pid,
                          strerror(errno));
  char want[32];
  snprintf(want, sizeof(want), "%ld", generation);
  if (await_control(&h->proc, h->control_port, want, h->log_path, from, why, why_len) != 0)
    return -1;
  if (await_old_gateway_stopped(h->log_path, from, why, why_len) != 0)
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

/* Renders the desired state and makes it live (runtime API or reload). */
static int apply(hap_driver *h, int force_reload, char *why, size_t why_len) {
  double start = gh_driver_now_ms();
  rendered next;
  if (render(h, &next) != 0)
    return gh_driver_fail(why, why_len, "rendering the configuration: out of memory");
  int runtime = !force_reload && !h->reload_only && runtime_possible(h, &next);
  long generation = runtime ? h->generation : h->generation + 1;
  char msg[512] = "";
  double validate_ms = 0;
  int rc = write_rendered(h, &next, generation, why, why_len);
  if (rc == 0) {
    double validate_start = gh_driver_now_ms();
    int v = validate(h, h->config_path, msg, sizeof(msg));
    validate_ms = gh_driver_now_ms() - validate_start;
    if (v != 0)
      rc = gh_driver_fail(why, why_len, "haproxy -c refused the configuration: %s", msg);
  }
  if (rc == 0 && runtime && apply_runtime(h, &next, msg, sizeof(msg)) != 0) {
    /* the runtime API did not take it: the reload path instead */
    note(h, "runtime API failed (%s): reloading", msg);
    generation = h->generation + 1;
    rc = write_rendered(h, &next, generation, why, why_len);
    runtime = 0;
  }
  if (rc == 0 && !runtime && h->running)
    rc = reload_to(h, generation, why, why_len);
  if (rc != 0) {
    if (h->has_live) /* the files of what runs, so a later reload keeps it */
      write_rendered(h, &h->live, h->generation, msg, sizeof(msg));
    rendered_free(&next);
    return -1;
  }
  rendered_free(&h->live);
  h->live = next;
  h->has_live = 1;
  h->generation = generation;
  h->applies++;
  double took = gh_driver_now_ms() - start;
  h->apply_ms += took;
  note(h, "apply %ld: %s, generation %ld, %.1f ms (haproxy -c %.1f ms)", h->applies,
       runtime ? "runtime API" : "reload", generation, took, validate_ms);
  return 0;
}

/* ---- admin answers ------------------------------------------------------------------ */

/* Judges bytes that are not one PEM or DER certificate the way HAProxy would
 * load them as a CA file: 0 accepted, 1 refused (msg), -1 could not run. */
static int judge_ca_bytes(hap_driver *h, const hap_cert *c, char *msg, size_t msg_len) {
  char cand[PATH_LEN], cfgp[PATH_LEN];
  snprintf(cand, sizeof(cand), "%s/candidate.pem", h->dir);
  snprintf(cfgp, sizeof(cfgp), "%s/candidate.cfg", h->dir);
  char text[PATH_LEN + 256];
  snprintf(text, sizeof(text),
           "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n"
           "  timeout server 1s\nbackend candidate\n  server s 127.0.0.1:1 ssl verify required "
           "ca-file %s\n",
           cand);
  if (write_file(cand, c->bytes, c->len, 0) != 0 || write_file(cfgp, text, strlen(text), 0) != 0)
    return snprintf(msg, msg_len, "cannot write %.400s", cand), -1;
  int v = validate(h, cfgp, msg, msg_len);
  unlink(cand);
  unlink(cfgp);
  return v;
}

/* Reads an upload into c: 0 usable, 1 refused (r answered 400), -1 error. */
static int take_upload(hap_driver *h, const void *data, size_t len, hap_cert *c, gh_admin_result *r,
                       char *why, size_t why_len) {
  int n = cert_normalise(data, len, c);
  if (n == -2)
    return gh_driver_fail(why, why_len, "out of memory");
  if (n == 0)
    return 0;
  char msg[512] = "";
  int v = len > CERT_MAX ? 1 : judge_ca_bytes(h, c, msg, sizeof(msg));
  if (len > CERT_MAX)
    snprintf(msg, sizeof(msg), "the upload is larger than %zu bytes", CERT_MAX);
  if (v < 0) {
    free(c->bytes);
    c->bytes = NULL;
    return gh_driver_fail(why, why_len, "judging an upload: %s", msg);
  }
  if (v == 0)
    return 0;
  free(c->bytes);
  c->bytes = NULL;
  gh_admin_error(r, 400, "Bad Request", msg);
  return 1;
}

/* ---- operations --------------------------------------------------------------------- */

static int write_identity(hap_driver *h, char *why, size_t why_len) {
  if (write_file(h->identity_path, h->identity_pem, strlen(h->identity_pem), 1) != 0)
    return gh_driver_fail(why, why_len, "cannot write %s: %s", h->identity_path, strerror(errno));
  return 0;
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
      return gh_driver_fail(why, why_len, "mkdtemp for the admin socket: %s", strerror(errno));
    }
  }
  snprintf(h->sock_path, sizeof(h->sock_path), "%s/admin.sock", h->sock_dir);
  return 0;
}

static int spawn(hap_driver *h, gh_proc *p, const char *config, const char *log, char *why,
                 size_t why_len) {
  const char *args[] = {"-W", "-db", "-f", config, NULL};
  gh_proc_spec spec = {.bin = h->bin,
                       .args = args,
                       .stderr_path = log,
                       .faketime_file = h->cfg.clock_file,
                       .faketime_lib = h->cfg.faketime_lib,
                       .no_ready = 1};
  return gh_proc_start(p, &spec, why, why_len);
}

static int bind_failed(const char *log_path) {
  char *log = gh_driver_file_tail(log_path, 8192);
  int failed = log && (strstr(log, "cannot bind") || strstr(log, "Address already in use"));
  free(log);
  return failed;
}

/* Starts the gateway on the files already written; new ports when a bind fails. */
static int launch_gateway(hap_driver *h, char *why, size_t why_len) {
  for (int attempt = 0; attempt < START_TRIES; attempt++) {
    if (attempt > 0 || h->https_port <= 0) {
      h->https_port = free_port();
      h->control_port = free_port();
      if (h->https_port <= 0 || h->control_port <= 0 || h->https_port == h->control_port)
        continue;
      rendered next;
      if (render(h, &next) != 0)
        return gh_driver_fail(why, why_len, "rendering the configuration: out of memory");
      if (write_rendered(h, &next, h->generation, why, why_len) != 0) {
        rendered_free(&next);
        return -1;
      }
      rendered_free(&h->live);
      h->live = next;
      h->has_live = 1;
    }
    char msg[512];
    int v = validate(h, h->config_path, msg, sizeof(msg));
    if (v != 0)
      return gh_driver_fail(why, why_len, "haproxy -c refused the configuration: %s", msg);
    unlink(h->sock_path);
    if (spawn(h, &h->proc, h->config_path, h->log_path, why, why_len) != 0)
      return -1;
    h->running = 1;
    char want[32];
    snprintf(want, sizeof(want), "%ld", h->generation);
    if (await_control(&h->proc, h->control_port, want, h->log_path, 0, why, why_len) == 0)
      return 0;
    char ignored[256];
    gh_proc_stop(&h->proc, SIGKILL, 3000, ignored, sizeof(ignored));
    h->running = 0;
    if (!bind_failed(h->log_path))
      return -1;
  }
  return gh_driver_fail(why, why_len, "haproxy could not bind free ports in %d tries", START_TRIES);
}

/* The load balancer in front: TLS with optional client certificates (base
 * trust), forwarding the certificate in the header to the gateway over TLS. */
static int write_lb_config(hap_driver *h, char *why, size_t why_len) {
  const gh_gateway_config *c = &h->cfg;
  char ca[PATH_LEN];
  snprintf(ca, sizeof(ca), "%s/clients.pem", h->lb_dir);
  gh_text cb = {0};
  add_pem_file(&cb, c->base_trust_pem);
  finish_bundle(h, &cb);
  int ok = !cb.failed && write_file(ca, cb.data, cb.len, 0) == 0;
  free(cb.data);
  if (!ok)
    return gh_driver_fail(why, why_len, "cannot write %s", ca);
  const char *hdr = header_name(h);
  gh_text b = {0};
  gh_text_printf(&b,
                 "global\n  nbthread 1\n  log stderr format raw local0\n  hard-stop-after 2s\n");
  gh_text_printf(&b, "defaults\n  mode http\n  log global\n  timeout connect 5s\n"
                     "  timeout client 30s\n  timeout server 30s\n\n");
  gh_text_printf(&b,
                 "frontend control\n  bind 127.0.0.1:%d\n  no log\n"
                 "  http-request return status 200 content-type text/plain string \"lb\"\n\n",
                 h->lb_control_port);
  gh_text_printf(&b, "frontend lb\n  bind 127.0.0.1:%d ssl crt %s verify optional ca-file %s\n",
                 h->lb_port, h->identity_path, ca);
  gh_text_printf(&b, "  option httplog\n  http-request del-header %s\n", hdr);
  gh_text_printf(&b, "  http-request set-header %s %%[ssl_c_der,base64] if { ssl_c_used }\n", hdr);
  gh_text_printf(&b,
                 "  default_backend gateway\n\nbackend gateway\n"
                 "  server g 127.0.0.1:%d ssl verify none crt %s\n",
                 h->https_port, c->front_lb_key_pem);
  ok = !b.failed && write_file(h->lb_config_path, b.data, b.len, 0) == 0;
  free(b.data);
  return ok ? 0 : gh_driver_fail(why, why_len, "cannot write %s", h->lb_config_path);
}

static int launch_lb(hap_driver *h, char *why, size_t why_len) {
  for (int attempt = 0; attempt < START_TRIES; attempt++) {
    h->lb_port = free_port();
    h->lb_control_port = free_port();
    if (h->lb_port <= 0 || h->lb_control_port <= 0 || h->lb_port == h->lb_control_port)
      continue;
    if (write_lb_config(h, why, why_len) != 0)
      return -1;
    char msg[512];
    if (validate(h, h->lb_config_path, msg, sizeof(msg)) != 0)
      return gh_driver_fail(why, why_len,
                            "haproxy -c refused the load balancer's configuration: %s", msg);
    if (spawn(h, &h->lb_proc, h->lb_config_path, h->lb_log_path, why, why_len) != 0)
      return -1;
    h->lb_running = 1;
    if (await_control(&h->lb_proc, h->lb_control_port, "lb", h->lb_log_path, 0, why, why_len) == 0)
      return 0;
    char ignored[256];
    gh_proc_stop(&h->lb_proc, SIGKILL, 3000, ignored, sizeof(ignored));
    h->lb_running = 0;
    if (!bind_failed(h->lb_log_path))
      return -1;
  }
  return gh_driver_fail(why, why_len, "the load balancer could not bind free ports in %d tries",
                        START_TRIES);
}

static int launch_all(hap_driver *h, char *why, size_t why_len) {
  if (launch_gateway(h, why, why_len) != 0)
    return -1;
  if (h->cfg.front_lb_key_pem && launch_lb(h, why, why_len) != 0)
    return -1;
  return 0;
}

static void forget_state(hap_driver *h) {
  for (size_t i = 0; i < h->api_count; i++) {
    free(h->apis[i].backend_trust_pem);
    free(h->apis[i].backend_key_pem);
  }
  for (size_t i = 0; i < h->endpoint_count; i++)
    free(h->endpoint_certs[i].bytes);
  for (size_t i = 0; i < h->client_count; i++)
    free(h->client_certs[i].bytes);
  h->api_count = h->endpoint_count = h->client_count = 0;
  rendered_free(&h->live);
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
      rc = gh_driver_fail(why, why_len, "the load balancer: %s", lb_why);
  }
  if (h->running) {
    h->running = 0;
    char gw_why[256] = "";
    if (stop_haproxy(&h->proc, gw_why, sizeof(gw_why)) != 0)
      rc = gh_driver_fail(why, why_len, "haproxy: %s", gw_why);
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
  if (gh_tokens_stop(h->tokens, ti_why, sizeof(ti_why)) != 0 && rc == 0)
    rc = gh_driver_fail(why, why_len, "gatecert-introspect: %s", ti_why);
  return rc;
}

static int hap_start(gh_driver *d, const gh_gateway_config *cfg, char *why, size_t why_len) {
  hap_driver *h = d->impl;
  forget_state(h);
  h->cfg = *cfg;
  h->generation = 1;
  h->applies = h->reloads = h->runtime_commits = 0;
  h->apply_ms = 0;
  h->https_port = 0;
  gh_tokens_reset(h->tokens, &h->cfg);
  if (strlen(cfg->work_dir) + sizeof("/haproxy-lb") > sizeof(h->dir))
    return gh_driver_fail(why, why_len, "the work directory's path is too long: %s", cfg->work_dir);
  snprintf(h->dir, sizeof(h->dir), "%s/haproxy", cfg->work_dir);
  snprintf(h->lb_dir, sizeof(h->lb_dir), "%s/haproxy-lb", cfg->work_dir);
  if ((mkdir(h->dir, 0700) != 0 && errno != EEXIST) ||
      (cfg->front_lb_key_pem && mkdir(h->lb_dir, 0700) != 0 && errno != EEXIST))
    return gh_driver_fail(why, why_len, "cannot make %s: %s", h->dir, strerror(errno));
  snprintf(h->config_path, sizeof(h->config_path), "%s/haproxy.cfg", h->dir);
  snprintf(h->log_path, sizeof(h->log_path), "%s/haproxy.log", h->dir);
  snprintf(h->identity_path, sizeof(h->identity_path), "%s/gateway-identity.pem", h->dir);
  snprintf(h->lb_config_path, sizeof(h->lb_config_path), "%s/haproxy.cfg", h->lb_dir);
  snprintf(h->lb_log_path, sizeof(h->lb_log_path), "%s/haproxy.log", h->lb_dir);
  if (choose_socket(h, why, why_len) != 0 || write_identity(h, why, why_len) != 0)
    return -1;
  double start = gh_driver_now_ms();
  if (launch_all(h, why, why_len) != 0)
    return -1;
  h->applies = 1;
  h->apply_ms = gh_driver_now_ms() - start;
  return 0;
}

static int hap_restart(gh_driver *d, char *why, size_t why_len) {
  hap_driver *h = d->impl;
  /* the introspector again from its config file (its port may change: the
   * configuration below is rendered afresh anyway) */
  if (gh_tokens_restart(h->tokens, why, why_len) < 0 || stop_processes(h, why, why_len) != 0 ||
      choose_socket(h, why, why_len) != 0)
    return -1;
  h->generation++;
  rendered next;
  if (render(h, &next) != 0)
    return gh_driver_fail(why, why_len, "rendering the configuration: out of memory");
  int rc = write_rendered(h, &next, h->generation, why, why_len);
  rendered_free(&h->live);
  h->live = next;
  h->has_live = 1;
  return rc == 0 ? launch_all(h, why, why_len) : -1;
}

static int hap_https_port(gh_driver *d) { return ((hap_driver *)d->impl)->https_port; }
static int hap_front_port(gh_driver *d) {
  hap_driver *h = d->impl;
  return h->lb_running ? h->lb_port : -1;
}
static int64_t hap_start_ms(gh_driver *d) {
  (void)d;
  return -1;
}

/* HAProxy reads the clock at every event (FAKETIME_NO_CACHE): nothing to wait for. */
static int hap_clock_sync(gh_driver *d, int64_t fake_ms, char *why, size_t why_len) {
  (void)d;
  (void)fake_ms;
  if (why_len > 0)
    why[0] = '\0';
  return 0;
}

static hap_api *find_api(hap_driver *h, const char *name) {
  for (size_t i = 0; i < h->api_count; i++)
    if (strcmp(h->apis[i].name, name) == 0)
      return &h->apis[i];
  return NULL;
}

/* host and port from scheme://host:port[/...]. */
static int parse_url(const char *url, hap_api *a) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  size_t n = strcspn(p, ":/");
  if (n == 0 || n >= sizeof(a->host) || p[n] != ':')
    return -1;
  snprintf(a->host, sizeof(a->host), "%.*s", (int)n, p);
  char *end = NULL;
  long port = strtol(p + n + 1, &end, 10);
  if (end == p + n + 1 || port <= 0 || port > 65535 || (*end && *end != '/'))
    return -1;
  a->port = (int)port;
  return 0;
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

static int hap_create_api(gh_driver *d, const gh_api_desc *api, gh_admin_result *r, char *why,
                          size_t why_len) {
  hap_driver *h = d->impl;
  memset(r, 0, sizeof(*r));
  int mutualssl = 0, introspected = 0;
  const char *missing =
      gh_tokens_classify(api->security, api->security_count, &mutualssl, &introspected);
  if (missing)
    return gh_driver_fail(why, why_len,
                          "API security \"%s\" cannot be expressed in HAProxy by this driver",
                          missing),
           GH_DRIVER_UNSUPPORTED;
  if (introspected && !plain_name(api->name))
    return gh_admin_error(r, 400, "Bad Request",
                          "an API secured with OAuth2 needs a name without quotes, backslashes, "
                          "'$', '#' or control characters");
  for (size_t i = 0; i < h->api_count; i++)
    if (strcmp(h->apis[i].name, api->name) == 0 || (strcmp(h->apis[i].context, api->context) == 0 &&
                                                    strcmp(h->apis[i].version, api->version) == 0))
      return gh_admin_error(r, 409, "Conflict",
                            "An API with that name or context and version exists");
  if (h->api_count == MAX_APIS)
    return gh_driver_fail(why, why_len, "more than %d APIs in a case", MAX_APIS);
  hap_api *a = &h->apis[h->api_count];
  memset(a, 0, sizeof(*a));
  snprintf(a->name, sizeof(a->name), "%s", api->name);
  snprintf(a->context, sizeof(a->context), "%s", api->context);
  snprintf(a->version, sizeof(a->version), "%s", api->version);
  snprintf(a->url, sizeof(a->url), "%s", api->url);
  if (parse_url(api->url, a) != 0)
    return gh_admin_error(r, 400, "Bad Request", "The endpoint must be scheme://host:port");
  if (strpbrk(a->context, " '\"\\#") || strpbrk(a->version, " '\"\\#/") ||
      strpbrk(a->host, " '\"\\#()"))
    return gh_admin_error(r, 400, "Bad Request",
                          "context, version or host has a character "
                          "this driver does not write into a configuration");
  a->default_version = api->default_version;
  a->mutualssl = mutualssl;
  a->introspected = introspected;
  a->backend_trust_pem = api->backend_trust_pem ? strdup(api->backend_trust_pem) : NULL;
  a->backend_key_pem = api->backend_key_pem ? strdup(api->backend_key_pem) : NULL;
  a->id = ++h->next_api_id;
  h->api_count++;
  /* the introspector runs, and knows the API, before HAProxy sends it a request */
  int rc = introspected ? gh_tokens_add_api(h->tokens, api->name, api->security,
                                            api->security_count, why, why_len)
                        : 0;
  if (rc == 0)
    rc = apply(h, 0, why, why_len);
  if (rc != 0) {
    char ignored[256];
    h->api_count--;
    free(a->backend_trust_pem);
    free(a->backend_key_pem);
    if (introspected)
      gh_tokens_remove_api(h->tokens, api->name, ignored, sizeof(ignored));
    return -1;
  }
  char id[32];
  snprintf(id, sizeof(id), "api%d", a->id);
  return gh_admin_answer(r, 201,
                         json_pack("{s:s, s:s, s:s, s:s}", "id", id, "name", a->name, "context",
                                   a->context, "version", a->version));
}

static int hap_delete_api(gh_driver *d, const char *name, gh_admin_result *r, char *why,
                          size_t why_len) {
  hap_driver *h = d->impl;
  memset(r, 0, sizeof(*r));
  hap_api *a = find_api(h, name);
  if (!a)
    return gh_admin_error(r, 404, "Not Found", "No such resource");
  hap_api gone = *a;
  size_t index = (size_t)(a - h->apis);
  memmove(a, a + 1, (h->api_count - index - 1) * sizeof(*a));
  h->api_count--;
  if (apply(h, 0, why, why_len) != 0) {
    memmove(&h->apis[index + 1], &h->apis[index], (h->api_count - index) * sizeof(*a));
    h->apis[index] = gone;
    h->api_count++;
    return -1;
  }
  free(gone.backend_trust_pem);
  free(gone.backend_key_pem);
  /* its subscriptions go with it, as in WSO2 and the simulator */
  if (gh_tokens_remove_api(h->tokens, name, why, why_len) != 0)
    return -1;
  return gh_admin_answer(r, 200, json_pack("{s:s}", "name", name));
}

static hap_cert *find_cert(hap_cert *list, size_t count, const char *api, const char *alias) {
  for (size_t i = 0; i < count; i++)
    if (strcmp(list[i].alias, alias) == 0 && (!api || strcmp(list[i].api, api) == 0))
      return &list[i];
  return NULL;
}

static int hap_upload_cert(gh_driver *d, const char *alias, const char *endpoint, const void *data,
                           size_t len, gh_admin_result *r, char *why, size_t why_len) {
  hap_driver *h = d->impl;
  memset(r, 0, sizeof(*r));
  if (!alias[0] || !endpoint[0])
    return gh_admin_error(r, 400, "Bad Request", "The alias and/ or endpoint should not be empty");
  if (find_cert(h->endpoint_certs, h->endpoint_count, NULL, alias))
    return gh_admin_error(r, 409, "Resource Already Exists", "Alias already exists");
  if (h->endpoint_count == MAX_CERTS)
    return gh_driver_fail(why, why_len, "more than %d endpoint certificates", MAX_CERTS);
  hap_cert *c = &h->endpoint_certs[h->endpoint_count];
  memset(c, 0, sizeof(*c));
  int t = take_upload(h, data, len, c, r, why, why_len);
  if (t != 0)
    return t < 0 ? -1 : 0;
  snprintf(c->alias, sizeof(c->alias), "%s", alias);
  snprintf(c->endpoint, sizeof(c->endpoint), "%s", endpoint);
  h->endpoint_count++;
  if (apply(h, 0, why, why_len) != 0) {
    h->endpoint_count--;
    free(c->bytes);
    return -1;
  }
  return gh_admin_answer(r, 201, json_pack("{s:s, s:s}", "alias", alias, "endpoint", endpoint));
}

static int hap_replace_cert(gh_driver *d, const char *alias, const void *data, size_t len,
                            gh_admin_result *r, char *why, size_t why_len) {
  hap_driver *h = d->impl;
  memset(r, 0, sizeof(*r));
  hap_cert *c = find_cert(h->endpoint_certs, h->endpoint_count, NULL, alias);
  if (!c)
    return gh_admin_error(r, 404, "Not Found", "Alias not found");
  hap_cert fresh = *c;
  int t = take_upload(h, data, len, &fresh, r, why, why_len);
  if (t != 0)
    return t < 0 ? -1 : 0;
  hap_cert old = *c;
  *c = fresh;
  if (apply(h, 0, why, why_len) != 0) {
    free(c->bytes);
    *c = old;
    return -1;
  }
  free(old.bytes);
  return gh_admin_answer(r, 200,
                         json_pack("{s:s, s:s}", "alias", c->alias, "endpoint", c->endpoint));
}

static int hap_delete_cert(gh_driver *d, const char *alias, gh_admin_result *r, char *why,
                           size_t why_len) {
  hap_driver *h = d->impl;
  memset(r, 0, sizeof(*r));
  hap_cert *c = find_cert(h->endpoint_certs, h->endpoint_count, NULL, alias);
  if (!c)
    return gh_admin_error(r, 404, "Not Found", "Alias not found");
  size_t index = (size_t)(c - h->endpoint_certs);
  hap_cert gone = *c;
  memmove(c, c + 1, (h->endpoint_count - index - 1) * sizeof(*c));
  h->endpoint_count--;
  if (apply(h, 0, why, why_len) != 0) {
    memmove(&h->endpoint_certs[index + 1], &h->endpoint_certs[index],
            (h->endpoint_count - index) * sizeof(*c));
    h->endpoint_certs[index] = gone;
    h->endpoint_count++;
    return -1;
  }
  free(gone.bytes);
  return gh_admin_answer(r, 200, json_pack("{s:s}", "alias", alias));
}

static int hap_upload_client_cert(gh_driver *d, const char *api, const char *alias,
                                  const char *tier, const void *data, size_t len,
                                  gh_admin_result *r, char *why, size_t why_len) {
  hap_driver *h = d->impl;
  (void)tier;
  memset(r, 0, sizeof(*r));
  if (!find_api(h, api))
    return gh_admin_error(r, 404, "Not Found", "No such API");
  if (find_cert(h->client_certs, h->client_count, api, alias))
    return gh_admin_error(r, 409, "Conflict", "Alias already exists for this API");
  if (h->client_count == MAX_CERTS)
    return gh_driver_fail(why, why_len, "more than %d client certificates", MAX_CERTS);
  hap_cert *c = &h->client_certs[h->client_count];
  memset(c, 0, sizeof(*c));
  int t = take_upload(h, data, len, c, r, why, why_len);
  if (t != 0)
    return t < 0 ? -1 : 0;
  snprintf(c->alias, sizeof(c->alias), "%s", alias);
  snprintf(c->api, sizeof(c->api), "%s", api);
  h->client_count++;
  if (apply(h, 0, why, why_len) != 0) {
    h->client_count--;
    free(c->bytes);
    return -1;
  }
  return gh_admin_answer(r, 201, json_pack("{s:s, s:s}", "alias", alias, "apiId", api));
}

static int hap_delete_client_cert(gh_driver *d, const char *api, const char *alias,
                                  gh_admin_result *r, char *why, size_t why_len) {
  hap_driver *h = d->impl;
  memset(r, 0, sizeof(*r));
  hap_cert *c = find_cert(h->client_certs, h->client_count, api, alias);
  if (!c)
    return gh_admin_error(r, 404, "Not Found", "Requested Certificate not found");
  size_t index = (size_t)(c - h->client_certs);
  hap_cert gone = *c;
  memmove(c, c + 1, (h->client_count - index - 1) * sizeof(*c));
  h->client_count--;
  if (apply(h, 0, why, why_len) != 0) {
    memmove(&h->client_certs[index + 1], &h->client_certs[index],
            (h->client_count - index) * sizeof(*c));
    h->client_certs[index] = gone;
    h->client_count++;
    return -1;
  }
  free(gone.bytes);
  return gh_admin_answer(r, 200, json_pack("{s:s}", "alias", alias));
}

/* ---- key managers and subscriptions (the introspector's state, tokens.h) -------------- */

static int hap_add_key_manager(gh_driver *d, const gh_key_manager_desc *km, gh_admin_result *r,
                               char *why, size_t why_len) {
  hap_driver *h = d->impl;
  return gh_tokens_add_key_manager(h->tokens, km, r, why, why_len);
}

/* Answers as the simulator's devportal does (tokens.h). */
static int hap_subscribe(gh_driver *d, const char *application, const char *api, const char *tier,
                         const char *key_manager, gh_admin_result *r, char *why, size_t why_len) {
  hap_driver *h = d->impl;
  return gh_tokens_subscribe(h->tokens, application, api, api && find_api(h, api) != NULL, tier,
                             key_manager, r, why, why_len);
}

static int hap_reload(gh_driver *d, char *why, size_t why_len) {
  return apply(d->impl, 1, why, why_len);
}

static void hap_apply_stats(gh_driver *d, long *applies, double *apply_ms) {
  hap_driver *h = d->impl;
  *applies = h->applies;
  *apply_ms = h->apply_ms;
}

/* HAProxy's log, then the introspector's tail when it ran (it names APIs,
 * key managers and client ids, never tokens); max bounds the whole. */
static char *hap_log_tail(gh_driver *d, size_t max) {
  hap_driver *h = d->impl;
  const char *introspector_log = gh_tokens_log_path(h->tokens);
  char *extra = introspector_log ? gh_driver_file_tail(introspector_log, max / 4) : NULL;
  size_t extra_len = extra ? strlen(extra) + sizeof("\n--- gatecert-introspect ---\n") : 0;
  char *gw = gh_driver_file_tail(h->log_path, max > extra_len ? max - extra_len : 0);
  if (!extra)
    return gw;
  size_t len = (gw ? strlen(gw) : 0) + extra_len + 1;
  char *out = malloc(len);
  if (out)
    snprintf(out, len, "%s\n--- gatecert-introspect ---\n%s", gw ? gw : "", extra);
  free(gw);
  free(extra);
  return out;
}

static const char *const *hap_secrets(gh_driver *d) { return ((hap_driver *)d->impl)->secrets; }

static void hap_destroy(gh_driver *d) {
  if (!d)
    return;
  hap_driver *h = d->impl;
  if (h) {
    char why[256];
    hap_stop(d, why, sizeof(why));
    forget_state(h);
    if (h->identity_pem) {
      OPENSSL_cleanse(h->identity_pem, strlen(h->identity_pem));
      free(h->identity_pem);
    }
    free(h->throwaway_ca_pem);
    free(h->bin);
    gh_tokens_free(h->tokens);
    free(h);
  }
  free(d);
}

/* Answers to the rejection classes, as HAProxy 2.6 gives them. */
static const gh_reject_answer hap_rejects[GH_REJECT_COUNT] = {
    [GH_REJECT_CLIENT_CERT] = {.tls_alert = 1},
    [GH_REJECT_UNAUTHENTICATED] = {.status = {401}},
    [GH_REJECT_BACKEND_TLS] = {.status = {503, 502}},
};

static const gh_driver_ops hap_ops = {
    .name = "haproxy",
    .caps = GH_CAP_RUNTIME_BACKEND_TRUST | GH_CAP_BACKEND_MTLS | GH_CAP_BASE_TRUST_STORE |
            GH_CAP_RESTART_KEEPS_STATE | GH_CAP_CLIENT_MTLS | GH_CAP_HEADER_MODE |
            GH_CAP_PER_API_BACKEND_TLS | GH_CAP_LB_IN_FRONT | GH_CAP_OAUTH2 |
            GH_CAP_AUTH_FAULT_CODES,
    .start = hap_start,
    .stop = hap_stop,
    .restart = hap_restart,
    .https_port = hap_https_port,
    .start_ms = hap_start_ms,
    .clock_sync = hap_clock_sync,
    .create_api = hap_create_api,
    .delete_api = hap_delete_api,
    .upload_cert = hap_upload_cert,
    .replace_cert = hap_replace_cert,
    .delete_cert = hap_delete_cert,
    .reload = hap_reload,
    .add_key_manager = hap_add_key_manager,
    .upload_client_cert = hap_upload_client_cert,
    .delete_client_cert = hap_delete_client_cert,
    .subscribe = hap_subscribe,
    .front_port = hap_front_port,
    .apply_stats = hap_apply_stats,
    .rejects = hap_rejects,
    .log_tail = hap_log_tail,
    .secrets = hap_secrets,
    .destroy = hap_destroy,
};

/* "HAProxy version 2.6.12-1+deb12u4 ..." -> "HAProxy 2.6.12-1+deb12u4". */
static int haproxy_version(const char *bin, char *out, size_t out_len, char *why, size_t why_len) {
  char *argv[] = {(char *)bin, "-v", NULL};
  char *text = NULL;
  int rc = run_capture(bin, argv, &text, why, why_len);
  const char *v = text ? strstr(text, "version ") : NULL;
  if (rc != 0 || !v) {
    if (rc >= 0)
      gh_driver_fail(why, why_len, "%s -v: %.200s", bin, text ? text : "");
    free(text);
    return -1;
  }
  v += strlen("version ");
  snprintf(out, out_len, "HAProxy %.*s", (int)strcspn(v, " \n"), v);
  free(text);
  return 0;
}

/* The program: bin as given (with a '/'), else found in PATH, else /usr/sbin/haproxy. */
static char *find_program(const char *bin) {
  const char *name = bin ? bin : "haproxy";
  if (strchr(name, '/'))
    return strdup(name);
  const char *path = getenv("PATH");
  char candidate[PATH_LEN];
  for (const char *p = path; p && *p;) {
    size_t n = strcspn(p, ":");
    snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)n, p, name);
    if (n && access(candidate, X_OK) == 0)
      return strdup(candidate);
    p += n;
    if (*p)
      p++;
  }
  return strdup(bin ? name : "/usr/sbin/haproxy");
}

gh_driver *gh_driver_haproxy_new(const char *bin, gh_real_info *info, char *why, size_t why_len) {
  gh_driver *d = calloc(1, sizeof(*d));
  hap_driver *h = calloc(1, sizeof(*h));
  gh_tokens *tokens = gh_tokens_new();
  if (!d || !h || !tokens) {
    free(d);
    free(h);
    gh_tokens_free(tokens);
    gh_driver_fail(why, why_len, "out of memory");
    return NULL;
  }
  h->tokens = tokens;
  d->ops = &hap_ops;
  d->impl = h;
  h->secrets[0] = NULL;
  const char *reload_only = getenv("GATECERT_HAPROXY_RELOAD_ONLY");
  h->reload_only = reload_only && strcmp(reload_only, "1") == 0;
  h->bin = find_program(bin);
  char version[160] = "";
  if (!h->bin || haproxy_version(h->bin, version, sizeof(version), why, why_len) != 0 ||
      !(h->identity_pem = self_signed(GCERT_KIND_SERVER, why, why_len)) ||
      !(h->throwaway_ca_pem = self_signed(GCERT_KIND_CA, why, why_len))) {
    hap_destroy(d);
    return NULL;
  }
  if (info)
    snprintf(info->version, sizeof(info->version), "%s", version);
  return d;
}
