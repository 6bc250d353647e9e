/* nginx.c - the `nginx` driver: a real nginx 1.22 rendered from the desired state.
 *
 * Every case gets its own nginx, run as the current user under the case's
 * fake clock (libfaketime through the supervisor), with every file under
 * <work_dir>/nginx/: nginx.conf (daemon off, its own pid file, error log and
 * temp paths), the gateway's self-signed TLS identity (certs/gcert.h, key
 * 0600) and one directory per configuration generation (gen-N/) holding the
 * trust bundles that generation points at.
 *
 * The driver keeps the desired state (APIs, endpoint certificates by alias,
 * client certificates per API) and applies it as a whole: render generation
 * N+1 into gen-N+1/ and nginx.conf (written atomically), validate it with
 * `nginx -t` (a separate process with the same -p/-c/-e), SIGHUP the master
 * it started, then poll a plain-HTTP control server on another loopback port
 * (`location = /generation`, a fresh connection every 20 ms, 5 s cap) until
 * it answers N+1 and the previous generation's workers (which accept
 * connections until the master's shutdown signal reaches them) have exited
 * or logged that they are shutting down. nginx -t refusing the configuration restores the previous
 * nginx.conf and the admin operation answers 400 with nginx's first error
 * line; a reload nginx never takes (README.md finding 4: failed reloads are
 * quiet) is a harness error with the error log's tail. Each admin operation
 * applies at once: nginx has no deferred schedule.
 *
 * The rendering (NGINX.md says why each directive is there):
 *   - an API is `location /<context>/<version>/` (+ `= /<context>/<version>`,
 *     and `/<context>/` for the default version) with `proxy_pass` to the
 *     endpoint's host:port + path, so that /test/1.0/menaka reaches
 *     <endpoint path>/menaka as in the simulator; no explicit upstream blocks:
 *     APIs with one backend host:port share nginx's implicit upstream (and its
 *     cached TLS session, README.md finding 3);
 *   - backend trust per location: proxy_ssl_verify with a bundle of the SSL
 *     profile's trust (or the base trust) plus the certificates uploaded for
 *     that endpoint; identity per host:port from the SSL profiles;
 *   - client mTLS on the server (ssl_verify_client, a bundle of the base
 *     trust plus every uploaded client certificate) and per-API pins as maps
 *     over $ssl_client_fingerprint, the certificate header (exact match of
 *     the escaped PEM forms) and, with chain validation, the issuer DN.
 *   - OAuth2 (an API whose security has oauth2, the OAuth mandatory flag, or
 *     no mutualssl): auth_request to an internal location proxying to
 *     gatecert-introspect (simulator/introspect.c), which answers WSO2's
 *     verdict from the API's security, the client certificate state nginx
 *     computed from the same pins (valid / unknown / absent) and the bearer
 *     token; its 401/403 fault JSON (X-Gatecert-Fault) becomes the answer's
 *     body. The introspector starts with the first API, key manager or
 *     subscription that needs it, under the case's clock, and re-reads its
 *     config (<work_dir>/introspect/config.json, written atomically at every
 *     change: key managers, APIs' security, subscriptions) when it changes.
 * Every bundle starts with a throwaway self-signed CA whose key is discarded
 * at once, so an empty bundle still loads and trusts nothing.
 *
 * An optional load balancer in front (GH_CAP_LB_IN_FRONT) is the shared one
 * of front_lb.h (the sim driver runs the same): a second nginx in
 * <work_dir>/nginx-lb/ that verifies clients (optional) and forwards their
 * certificate as $ssl_client_escaped_cert, presenting its own identity to the
 * gateway.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "driver.h"
#include "front_lb.h"
#include "text.h"
#include "tokens.h"
#include "gcert.h"
#include "scenario.h"
#include "supervisor.h"

#define NG_PATH          1024
#define NG_MAX_APIS      64
#define NG_MAX_CERTS     256
#define NG_MAX_CLIENTS   256
#define NG_POLL_STEP_MS  20
#define NG_CONFIRM_MS    5000
#define NG_TEST_MS       10000
#define NG_STOP_MS       3000
#define NG_START_TRIES   5
#define NG_VERIFY_DEPTH  100
#define NG_LOG_TAIL_PART 65536

/* ---- state ------------------------------------------------------------------------------ */

typedef struct ng_url {
  char scheme[8];
  char host[256];
  int port;
  char path[512]; /* without trailing slashes; "" for the root */
} ng_url;

typedef struct ng_api {
  char *name;
  char *context;
  char *version;
  ng_url url;
  int default_version;
  int mtls;         /* security has mutualssl: the request needs a pinned certificate */
  int introspected; /* OAuth2 in play: gatecert-introspect decides (auth_request) */
  char *trust_pem;  /* GH_CAP_PER_API_BACKEND_TLS: this API's own trust (a path), or NULL */
  char *key_pem;    /* ... its own identity (a path or "none"), or NULL */
} ng_api;

typedef struct ng_endpoint_cert {
  char *alias;
  char *endpoint;  /* "scheme://host:port", normalised */
  gcert_buf bytes; /* PEM (converted from DER), or the upload as it came */
} ng_endpoint_cert;

typedef struct ng_client_cert {
  char *api;
  char *alias;
  char *tier;
  gcert_buf bytes;    /* PEM, or the upload as it came */
  char sha1[41];      /* $ssl_client_fingerprint; "" when the upload is no certificate */
  char *subject_dn;   /* RFC 2253, as nginx prints $ssl_client_i_dn; NULL if none */
  char *header_nginx; /* the PEM escaped as $ssl_client_escaped_cert */
  char *header_curl;  /* the PEM escaped by curl_easy_escape (the harness's url-pem) */
} ng_client_cert;

/* One nginx instance: the gateway. */
typedef struct ng_instance {
  char dir[NG_PATH];
  char conf[NG_PATH + 32];
  char error_log[NG_PATH + 32];
  gh_proc proc;
  int running;
  int port;         /* data plane, TLS */
  int control_port; /* plain HTTP: /generation */
} ng_instance;

typedef struct nginx_driver {
  char bin[NG_PATH];
  gh_gateway_config cfg; /* borrowed strings, valid for the case */
  ng_instance gw;
  gh_front_lb *lb;                /* the load balancer in front, while it runs */
  char server_cert[NG_PATH + 32]; /* the gateway's own identity */
  char server_key[NG_PATH + 32];
  gcert_buf placeholder_ca; /* PEM of the throwaway CA heading every bundle */
  char user_line[160];      /* "user root root;" when we run as root, else "" */
  long generation;          /* live on the gateway */
  ng_api apis[NG_MAX_APIS];
  size_t api_count;
  ng_endpoint_cert certs[NG_MAX_CERTS];
  size_t cert_count;
  ng_client_cert clients[NG_MAX_CLIENTS];
  size_t client_count;
  gh_tokens *tokens; /* OAuth2: key managers, subscriptions, gatecert-introspect */
  long applies;
  double apply_ms;
} nginx_driver;

/* ---- small helpers ------------------------------------------------------------------------ */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* 1 when text can sit inside a double-quoted nginx string as is. */
static int nginx_safe(const char *text) { return text && strpbrk(text, "\"\\$;{}\r\n") == NULL; }

static int save_file(const char *path, const void *data, size_t len, int private_data, char *why,
                     size_t why_len) {
  gcert_error err = {0};
  if (gcert_file_save(path, data, len, private_data, &err) != GCERT_OK)
    return gh_driver_fail(why, why_len, "writing %s: %s", path, err.message);
  return 0;
}

/* A file's bytes appended to b, followed by a newline when it lacks one. */
static int append_file(gh_text *b, const char *path, char *why, size_t why_len) {
  gcert_buf buf = {0};
  gcert_error err = {0};
  if (gcert_file_load(path, GCERT_MAX_INPUT, &buf, &err) != GCERT_OK)
    return gh_driver_fail(why, why_len, "reading %s: %s", path, err.message);
  gh_text_add(b, buf.data, buf.len);
  if (buf.len > 0 && buf.data[buf.len - 1] != '\n')
    gh_text_add(b, "\n", 1);
  gcert_buf_free(&buf);
  return 0;
}

static void append_bytes(gh_text *b, const gcert_buf *bytes) {
  gh_text_add(b, bytes->data, bytes->len);
  if (bytes->len > 0 && bytes->data[bytes->len - 1] != '\n')
    gh_text_add(b, "\n", 1);
}

static int make_dir(const char *path, char *why, size_t why_len) {
  if (mkdir(path, 0700) != 0 && errno != EEXIST)
    return gh_driver_fail(why, why_len, "mkdir %s: %s", path, strerror(errno));
  return 0;
}

/* "scheme://host:port/path" into its parts with libcurl's URL parser. */
static int parse_url(const char *text, ng_url *out) {
  memset(out, 0, sizeof(*out));
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
  int rc = -1;
  if (u && curl_url_set(u, CURLUPART_URL, text, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
      strlen(scheme) < sizeof(out->scheme) && strlen(host) < sizeof(out->host) &&
      strlen(path) < sizeof(out->path)) {
    for (size_t i = 0; scheme[i]; i++)
      out->scheme[i] = (char)(scheme[i] >= 'A' && scheme[i] <= 'Z' ? scheme[i] + 32 : scheme[i]);
    for (size_t i = 0; host[i]; i++)
      out->host[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] + 32 : host[i]);
    out->port = (int)strtol(port, NULL, 10);
    size_t n = strlen(path);
    while (n > 0 && path[n - 1] == '/')
      n--;
    memcpy(out->path, path, n);
    out->path[n] = '\0';
    rc = out->port > 0 ? 0 : -1;
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_url_cleanup(u);
  return rc;
}

/* "scheme://host:port" of a URL, or the text itself when it does not parse. */
static void endpoint_key(const char *text, char *out, size_t out_len) {
  ng_url u;
  if (parse_url(text, &u) == 0)
    snprintf(out, out_len, "%s://%s:%d", u.scheme, u.host, u.port);
  else
    snprintf(out, out_len, "%s", text);
}

/* ---- running a program and reading what it printed ---------------------------------------- */

/* Runs bin with args (argv[0] excluded), stdout and stderr into out; waits
 * at most timeout_ms (then SIGKILL). 0 with *status (waitpid's), or -1. */
static int run_capture(const char *bin, const char *const *args, char *out, size_t out_len,
                       int timeout_ms, int *status, char *why, size_t why_len) {
  const char *argv[24];
  size_t n = 0;
  argv[n++] = bin;
  for (size_t i = 0; args[i] && n < 23; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return gh_driver_fail(why, why_len, "pipe: %s", strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return gh_driver_fail(why, why_len, "running %s: %s", bin, strerror(rc));
  }
  size_t got = 0;
  double deadline = gh_driver_now_ms() + timeout_ms;
  for (;;) {
    int left = (int)(deadline - gh_driver_now_ms());
    if (left <= 0)
      break;
    struct pollfd pfd = {fds[0], POLLIN, 0};
    int pr = poll(&pfd, 1, left);
    if (pr < 0 && errno == EINTR)
      continue;
    if (pr <= 0)
      break;
    char chunk[4096];
    ssize_t r = read(fds[0], chunk, sizeof(chunk));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    size_t take = (size_t)r < out_len - 1 - got ? (size_t)r : out_len - 1 - got;
    memcpy(out + got, chunk, take);
    got += take;
  }
  out[got] = '\0';
  close(fds[0]);
  pid_t w = waitpid(pid, status, WNOHANG);
  while (w == 0 && gh_driver_now_ms() < deadline) { /* output closed: it is ending */
    gh_driver_sleep_ms(2);
    w = waitpid(pid, status, WNOHANG);
  }
  if (w == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, status, 0);
    return gh_driver_fail(why, why_len, "%s did not finish within %d ms", bin, timeout_ms);
  }
  if (w < 0)
    return gh_driver_fail(why, why_len, "waitpid: %s", strerror(errno));
  return 0;
}

/* The first line of nginx's output that carries an error ("[emerg] ..."),
 * without the "nginx: " prefix. */
static void first_error_line(const char *text, char *out, size_t out_len) {
  const char *line = strstr(text, "[emerg]");
  if (!line)
    line = strstr(text, "[alert]");
  if (!line)
    line = strstr(text, "[crit]");
  if (!line)
    line = text;
  size_t n = strcspn(line, "\n");
  snprintf(out, out_len, "%.*s", (int)n, line);
}

/* ---- certificates ------------------------------------------------------------------------- */

/* Upload bytes as certificates: PEM and DER are read (into *store, which
 * the caller frees); anything else is not (0 returned, store empty). */
static void read_upload(const void *data, size_t len, gcert_store *store) {
  gcert_error err = {0};
  gcert_format f = gcert_format_detect(data, len);
  gcert_store tmp;
  gcert_store_init(&tmp);
  gcert_status st = GCERT_E_UNKNOWN_FORMAT;
  if (f == GCERT_FORMAT_PEM)
    st = gcert_pem_read(data, len, NULL, &tmp, &err);
  else if (f == GCERT_FORMAT_DER)
    st = gcert_der_read(data, len, &tmp, &err);
  if (st == GCERT_OK && gcert_store_cert_count(&tmp) > 0)
    gcert_store_append(store, &tmp, &err);
  gcert_store_free(&tmp);
}

/* The bytes an upload contributes to a bundle: its certificates as PEM, or
 * (not PEM or DER) the bytes as they came, for nginx -t to judge. */
static int upload_bytes(const void *data, size_t len, const gcert_store *store, gcert_buf *out) {
  memset(out, 0, sizeof(*out));
  gcert_error err = {0};
  if (store->count > 0)
    return gcert_pem_write(store, NULL, out, &err) == GCERT_OK ? 0 : -1;
  out->data = malloc(len ? len : 1);
  if (!out->data)
    return -1;
  if (len)
    memcpy(out->data, data, len);
  out->len = len;
  return 0;
}

/* The first certificate of a store, or NULL. */
static X509 *first_cert(const gcert_store *store) {
  for (size_t i = 0; i < store->count; i++)
    if (store->entries[i].chain && sk_X509_num(store->entries[i].chain) > 0)
      return sk_X509_value(store->entries[i].chain, 0);
  return NULL;
}

/* nginx's ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT), the escaping of
 * $ssl_client_escaped_cert: one bit per character that is escaped. */
static char *nginx_escape(const unsigned char *data, size_t len) {
  static const uint32_t component[8] = {0xffffffff, 0xfc009fff, 0x78000001, 0xb8000001,
                                        0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};
  static const char hex[] = "0123456789ABCDEF";
  char *out = malloc(3 * len + 1);
  if (!out)
    return NULL;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = data[i];
    if (component[c >> 5] & (1u << (c & 0x1f))) {
      out[n++] = '%';
      out[n++] = hex[c >> 4];
      out[n++] = hex[c & 0xf];
    } else
      out[n++] = (char)c;
  }
  out[n] = '\0';
  return out;
}

/* What a client certificate is matched by: SHA-1 fingerprint, subject DN,
 * and the two escaped PEM forms a load balancer or the harness sends. */
static int client_cert_facts(X509 *cert, ng_client_cert *c) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, EVP_sha1(), md, &n) != 1)
    return -1;
  for (unsigned i = 0; i < n && i < 20; i++)
    snprintf(c->sha1 + (size_t)2 * i, 3, "%02x", md[i]);
  BIO *bio = BIO_new(BIO_s_mem());
  if (!bio)
    return -1;
  char *mem = NULL;
  long len = 0;
  if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0 &&
      (len = BIO_get_mem_data(bio, &mem)) >= 0 && (c->subject_dn = malloc((size_t)len + 1))) {
    memcpy(c->subject_dn, mem, (size_t)len);
    c->subject_dn[len] = '\0';
  }
  (void)BIO_reset(bio);
  if (PEM_write_bio_X509(bio, cert) == 1 && (len = BIO_get_mem_data(bio, &mem)) > 0) {
    c->header_nginx = nginx_escape((const unsigned char *)mem, (size_t)len);
    char *escaped = curl_easy_escape(NULL, mem, (int)len);
    c->header_curl = escaped ? strdup(escaped) : NULL;
    curl_free(escaped);
  }
  BIO_free(bio);
  return c->subject_dn && c->header_nginx && c->header_curl ? 0 : -1;
}

/* ---- the desired state ------------------------------------------------------------------- */

static void api_free(ng_api *a) {
  free(a->name);
  free(a->context);
  free(a->version);
  free(a->trust_pem);
  free(a->key_pem);
  memset(a, 0, sizeof(*a));
}

static void endpoint_cert_free(ng_endpoint_cert *c) {
  free(c->alias);
  free(c->endpoint);
  gcert_buf_free(&c->bytes);
  memset(c, 0, sizeof(*c));
}

static void client_cert_free(ng_client_cert *c) {
  free(c->api);
  free(c->alias);
  free(c->tier);
  gcert_buf_free(&c->bytes);
  free(c->subject_dn);
  free(c->header_nginx);
  free(c->header_curl);
  memset(c, 0, sizeof(*c));
}

static void state_free(nginx_driver *n) {
  for (size_t i = 0; i < n->api_count; i++)
    api_free(&n->apis[i]);
  for (size_t i = 0; i < n->cert_count; i++)
    endpoint_cert_free(&n->certs[i]);
  for (size_t i = 0; i < n->client_count; i++)
    client_cert_free(&n->clients[i]);
  n->api_count = n->cert_count = n->client_count = 0;
}

static ng_api *find_api(nginx_driver *n, const char *name) {
  for (size_t i = 0; i < n->api_count; i++)
    if (strcmp(n->apis[i].name, name) == 0)
      return &n->apis[i];
  return NULL;
}

static ng_endpoint_cert *find_cert(nginx_driver *n, const char *alias) {
  for (size_t i = 0; i < n->cert_count; i++)
    if (strcmp(n->certs[i].alias, alias) == 0)
      return &n->certs[i];
  return NULL;
}

static ng_client_cert *find_client(nginx_driver *n, const char *api, const char *alias) {
  for (size_t i = 0; i < n->client_count; i++)
    if (strcmp(n->clients[i].api, api) == 0 && strcmp(n->clients[i].alias, alias) == 0)
      return &n->clients[i];
  return NULL;
}

/* The SSL profile for host:port, or NULL. */
static const gh_driver_profile *profile_for(const nginx_driver *n, const ng_url *u) {
  for (size_t i = 0; i < n->cfg.profile_count; i++) {
    const gh_driver_profile *p = &n->cfg.profiles[i];
    if (p->host && strcasecmp(p->host, u->host) == 0 && p->port == u->port)
      return p;
  }
  return NULL;
}

/* ---- rendering ----------------------------------------------------------------------------- */

/* The directives every nginx.conf of ours starts with (front_lb.h). */
static void render_head(gh_text *b, const nginx_driver *n, const ng_instance *in, long gen) {
  char title[64];
  snprintf(title, sizeof(title), "nginx driver: generation %ld", gen);
  gh_nginx_conf_head(b, in->dir, in->error_log, n->user_line, title);
}

static void render_control(gh_text *b, const ng_instance *in, const char *answer) {
  gh_text_printf(b,
                 "  server { # control: which generation is live\n"
                 "    listen 127.0.0.1:%d;\n"
                 "    access_log off;\n"
                 "    location = /generation { default_type text/plain; return 200 \"%s\"; }\n"
                 "    location / { return 404; }\n"
                 "  }\n",
                 in->control_port, answer);
}

/* The header's nginx variable: $http_ + the name, lower case, '-' as '_'. */
static void header_variable(const char *name, char *out, size_t out_len) {
  size_t k = (size_t)snprintf(out, out_len, "http_");
  for (size_t i = 0; name[i] && k + 1 < out_len; i++) {
    char c = name[i];
    out[k++] = c == '-' ? '_' : (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  out[k] = '\0';
}

static const char *cert_header(const nginx_driver *n) {
  return n->cfg.certificate_header ? n->cfg.certificate_header : GH_CERT_HEADER_DEFAULT;
}

/* How a client certificate is pinned in a map. */
typedef enum pin_kind { PIN_FINGERPRINT, PIN_SUBJECT, PIN_HEADER } pin_kind;

/* The map keys of c for kind (up to two: the header has two escaped forms). */
static size_t pin_keys(const ng_client_cert *c, pin_kind kind, const char *keys[2]) {
  if (!c->sha1[0])
    return 0; /* the upload was no certificate */
  if (kind == PIN_FINGERPRINT) {
    keys[0] = c->sha1;
    return 1;
  }
  if (kind == PIN_SUBJECT) {
    keys[0] = c->subject_dn;
    return nginx_safe(c->subject_dn) && c->subject_dn[0] != '~' ? 1 : 0;
  }
  /* as case-sensitive regular expressions (nginx compares a map's plain
   * strings ignoring case): escaped PEM holds no regex character */
  static const char plain[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789%-";
  keys[0] = c->header_nginx;
  keys[1] = c->header_curl;
  if (strspn(keys[0], plain) != strlen(keys[0]) || strspn(keys[1], plain) != strlen(keys[1]))
    return 0;
  return strcmp(c->header_nginx, c->header_curl) != 0 ? 2 : 1;
}

/* 1 when a client certificate of api before index upto has key (nginx
 * refuses a map with one key twice). */
static int pinned_before(const nginx_driver *n, const char *api, size_t upto, pin_kind kind,
                         const char *key) {
  for (size_t i = 0; i < upto; i++) {
    const char *keys[2];
    size_t count = strcmp(n->clients[i].api, api) == 0 ? pin_keys(&n->clients[i], kind, keys) : 0;
    for (size_t k = 0; k < count; k++)
      if (strcmp(keys[k], key) == 0)
        return 1;
  }
  return 0;
}

/* map SOURCE $gc_aN_SUFFIX: 1 for the API's client certificates' keys of kind. */
static void render_pins(gh_text *b, const nginx_driver *n, size_t index, pin_kind kind,
                        const char *source, const char *suffix) {
  const ng_api *a = &n->apis[index];
  gh_text_printf(b, "  map %s $gc_a%zu_%s {\n    default 0;\n", source, index, suffix);
  for (size_t i = 0; i < n->client_count; i++) {
    const char *keys[2];
    size_t count =
        strcmp(n->clients[i].api, a->name) == 0 ? pin_keys(&n->clients[i], kind, keys) : 0;
    for (size_t k = 0; k < count; k++)
      if (!pinned_before(n, a->name, i, kind, keys[k]) && (k == 0 || strcmp(keys[0], keys[k]) != 0))
        gh_text_printf(b, kind == PIN_HEADER ? "    \"~^%s$\" 1;\n" : "    \"%s\" 1;\n", keys[k]);
  }
  gh_text_printf(b, "  }\n");
}

/* The maps of one API with mutualssl: $gc_aN_ok is 1 when the request may pass. */
static void render_api_maps(gh_text *b, const nginx_driver *n, size_t index, const char *hdr_var) {
  char source[200];
  render_pins(b, n, index, PIN_FINGERPRINT, "$ssl_client_fingerprint", "fp");
  /* the connection's own certificate verified and pinned, or (chain
   * validation) issued by a pinned CA: the verified chain's issuer DN */
  if (n->cfg.chain_validation == 1) {
    render_pins(b, n, index, PIN_SUBJECT, "$ssl_client_i_dn", "ca");
    gh_text_printf(b, "  map \"$ssl_client_verify:$gc_a%zu_fp$gc_a%zu_ca\" $gc_a%zu_peer {\n",
                   index, index, index);
  } else
    gh_text_printf(b, "  map \"$ssl_client_verify:$gc_a%zu_fp\" $gc_a%zu_peer {\n", index, index);
  gh_text_printf(b, "    \"~^SUCCESS:.*1\" 1;\n    default 0;\n  }\n");
  snprintf(source, sizeof(source), "$%s", hdr_var);
  render_pins(b, n, index, PIN_HEADER, source, "hdr");
  /* header sent and honoured: the header decides; else the connection's own certificate */
  gh_text_printf(b,
                 "  map \"$gc_hdr_sent$gc_hdr_honoured:$gc_a%zu_hdr:$gc_a%zu_peer\" $gc_a%zu_ok {\n"
                 "    \"~^11:1:\" 1;\n    \"~^11:0:\" 0;\n    \"~:1$\" 1;\n    default 0;\n  }\n",
                 index, index, index);
}

/* $gc_known: 1 for a certificate uploaded to any API - what WSO2 keeps in
 * its in-memory client trust. A verified certificate outside it is absent
 * for the chain, not unknown (as gatecert-sim: 900902, not 900901). */
static void render_known_map(gh_text *b, const nginx_driver *n) {
  gh_text_printf(b, "  map $ssl_client_fingerprint $gc_known {\n    default 0;\n");
  for (size_t i = 0; i < n->client_count; i++) {
    const char *sha1 = n->clients[i].sha1;
    int twice = !sha1[0]; /* nginx refuses a map key listed twice */
    for (size_t k = 0; !twice && k < i; k++)
      twice = strcmp(n->clients[k].sha1, sha1) == 0;
    if (!twice)
      gh_text_printf(b, "    \"%s\" 1;\n", sha1);
  }
  gh_text_printf(b, "  }\n");
}

/* The client certificate as the introspector's X-Gatecert-Cert sees it, from
 * the same pins: valid (pinned, or the honoured header names a pinned one),
 * unknown (an honoured header that is not the API's, or a verified
 * certificate uploaded to another API), absent (none, or one the gateway
 * trusts only through its base trust store; an untrusted one never gets
 * here: with ssl_verify_client optional nginx answers 400 before any
 * location). */
static void render_cert_state_map(gh_text *b, size_t index) {
  gh_text_printf(
      b,
      "  map \"$gc_a%zu_ok:$gc_hdr_sent$gc_hdr_honoured:$ssl_client_verify:$gc_known\" "
      "$gc_a%zu_cert {\n"
      "    \"~^1:\" valid;\n    \"~^0:11:\" unknown;\n    \"~^0:..:SUCCESS:1$\" unknown;\n"
      "    default absent;\n  }\n",
      index, index);
}

/* Whether the certificate header may speak for the client on this connection. */
static void render_header_maps(gh_text *b, const nginx_driver *n, const char *hdr_var) {
  gh_text_printf(b, "  map $%s $gc_hdr_sent {\n    \"\" 0;\n    default 1;\n  }\n", hdr_var);
  if (n->cfg.client_validation == 0) {
    gh_text_printf(b, "  map $%s $gc_hdr_honoured {\n    default 1;\n  }\n", hdr_var);
    return;
  }
  gh_text_printf(b, "  map \"$ssl_client_verify:$ssl_client_fingerprint\" $gc_hdr_honoured {\n");
  size_t pins = 0;
  char pinned[GH_MAX_LB][41];
  for (size_t i = 0; i < GH_MAX_LB && n->cfg.trusted_lb_pem[i]; i++) {
    gcert_store st;
    gcert_store_init(&st);
    gcert_error err = {0};
    ng_client_cert facts = {0};
    X509 *cert = NULL;
    if (gcert_read_file(n->cfg.trusted_lb_pem[i], GCERT_FORMAT_AUTO, NULL, &st, &err) == GCERT_OK &&
        (cert = first_cert(&st)) != NULL && client_cert_facts(cert, &facts) == 0) {
      int twice = 0; /* nginx refuses a map key listed twice */
      for (size_t k = 0; k < pins; k++)
        twice |= strcmp(pinned[k], facts.sha1) == 0;
      if (!twice) {
        gh_text_printf(b, "    \"SUCCESS:%s\" 1;\n", facts.sha1);
        memcpy(pinned[pins++], facts.sha1, sizeof(facts.sha1));
      }
    }
    client_cert_free(&facts);
    gcert_store_free(&st);
  }
  if (pins == 0 && n->cfg.trusted_lb_count == 0)
    gh_text_printf(b, "    \"~^SUCCESS:\" 1;\n");
  gh_text_printf(b, "    default 0;\n  }\n");
}

/* The identity toward a backend: 0 with the certificate and key files (one
 * file for a chain + key PEM), or -1 for none. */
static int backend_identity(const nginx_driver *n, const ng_api *a, const char **cert,
                            const char **key) {
  const gh_driver_profile *p = profile_for(n, &a->url);
  const char *file = NULL;
  if (a->key_pem)
    file = a->key_pem;
  else if (p)
    file = p->key_pem; /* NULL: a profile without a key store presents nothing */
  else if (n->cfg.has_default_profile && n->cfg.default_profile.key_pem)
    file = n->cfg.default_profile.key_pem;
  else { /* the default profile carries the gateway's own identity, as WSO2's does */
    *cert = n->server_cert;
    *key = n->server_key;
    return 0;
  }
  if (!file || strcmp(file, "none") == 0)
    return -1;
  *cert = *key = file;
  return 0;
}

/* The trust bundle of an API's location, written to path. */
static int write_api_trust(const nginx_driver *n, const ng_api *a, const char *path, char *why,
                           size_t why_len) {
  gh_text b = {0};
  append_bytes(&b, &n->placeholder_ca);
  int rc = 0;
  if (a->trust_pem) {
    rc = append_file(&b, a->trust_pem, why, why_len);
  } else {
    const gh_driver_profile *p = profile_for(n, &a->url);
    const char *base = p && p->trust_pem ? p->trust_pem : n->cfg.base_trust_pem;
    if (base)
      rc = append_file(&b, base, why, why_len);
    char key[600];
    snprintf(key, sizeof(key), "%s://%s:%d", a->url.scheme, a->url.host, a->url.port);
    for (size_t i = 0; rc == 0 && i < n->cert_count; i++)
      if (strcmp(n->certs[i].endpoint, key) == 0)
        append_bytes(&b, &n->certs[i].bytes);
  }
  if (rc == 0)
    rc = b.failed ? gh_driver_fail(why, why_len, "out of memory")
                  : save_file(path, b.data, b.len, 0, why, why_len);
  gh_text_free(&b);
  return rc;
}

/* The client CA bundle: the base trust plus every uploaded client certificate. */
static int write_client_trust(const nginx_driver *n, const char *path, char *why, size_t why_len) {
  gh_text b = {0};
  append_bytes(&b, &n->placeholder_ca);
  int rc = n->cfg.base_trust_pem ? append_file(&b, n->cfg.base_trust_pem, why, why_len) : 0;
  for (size_t i = 0; rc == 0 && i < n->client_count; i++)
    append_bytes(&b, &n->clients[i].bytes);
  if (rc == 0)
    rc = b.failed ? gh_driver_fail(why, why_len, "out of memory")
                  : save_file(path, b.data, b.len, 0, why, why_len);
  gh_text_free(&b);
  return rc;
}

static void render_proxy(gh_text *b, const nginx_driver *n, const ng_api *a, const char *trust) {
  const ng_url *u = &a->url;
  gh_text_printf(b, "      proxy_pass %s://%s:%d%s/;\n", u->scheme, u->host, u->port, u->path);
  gh_text_printf(b, "      proxy_set_header Authorization \"\";\n");
  if (n->cfg.backend_timeout_ms > 0) {
    long long ms = (long long)n->cfg.backend_timeout_ms;
    gh_text_printf(b,
                   "      proxy_connect_timeout %lldms;\n      proxy_send_timeout %lldms;\n"
                   "      proxy_read_timeout %lldms;\n",
                   ms, ms, ms);
  }
  if (strcmp(u->scheme, "https") != 0)
    return;
  gh_text_printf(b, "      proxy_ssl_server_name on;\n      proxy_ssl_name %s;\n", u->host);
  gh_text_printf(b, "      proxy_ssl_verify on;\n      proxy_ssl_verify_depth %d;\n",
                 NG_VERIFY_DEPTH);
  gh_text_printf(b, "      proxy_ssl_trusted_certificate \"%s\";\n", trust);
  const char *cert = NULL, *key = NULL;
  if (backend_identity(n, a, &cert, &key) == 0)
    gh_text_printf(b,
                   "      proxy_ssl_certificate \"%s\";\n      proxy_ssl_certificate_key \"%s\";\n",
                   cert, key);
  if (n->cfg.upstream_session_reuse == 0)
    gh_text_printf(b, "      proxy_ssl_session_reuse off;\n");
  else if (n->cfg.upstream_session_reuse == 1)
    gh_text_printf(b, "      proxy_ssl_session_reuse on;\n");
}

static void render_location(gh_text *b, const nginx_driver *n, size_t index, const char *match,
                            const char *prefix, const char *trust) {
  const ng_api *a = &n->apis[index];
  gh_text_printf(b, "    location %s\"%s\" { # api %s\n", match, prefix, a->name);
  if (a->introspected)
    gh_text_printf(b,
                   "      auth_request /_gatecert_auth/%zu;\n"
                   "      auth_request_set $gatecert_fault $upstream_http_x_gatecert_fault;\n"
                   "      error_page 401 = @gatecert_401;\n      error_page 403 = @gatecert_403;\n",
                   index);
  else if (a->mtls)
    gh_text_printf(
        b,
        "      if ($gc_a%zu_ok = 0) {\n        return 401 '{\"code\":\"900901\",\"message\":"
        "\"Invalid Credentials\",\"description\":\"no client certificate associated with "
        "this API\"}';\n      }\n",
        index);
  render_proxy(b, n, a, trust);
  gh_text_printf(b, "    }\n");
}

/* The internal location auth_request asks: the introspector's /check with
 * the client's Authorization, the API's name and the certificate state. */
static void render_auth(gh_text *b, const nginx_driver *n, size_t index) {
  const ng_api *a = &n->apis[index];
  char cert[48];
  snprintf(cert, sizeof(cert), a->mtls ? "$gc_a%zu_cert" : "absent", index);
  gh_text_printf(b,
                 "    location = /_gatecert_auth/%zu { # api %s: gatecert-introspect decides\n"
                 "      internal;\n"
                 "      proxy_pass http://127.0.0.1:%d/check;\n"
                 "      proxy_pass_request_body off;\n      proxy_pass_request_headers off;\n"
                 "      proxy_set_header Content-Length \"\";\n"
                 "      proxy_set_header Authorization $http_authorization;\n"
                 "      proxy_set_header X-Gatecert-Api \"%s\";\n"
                 "      proxy_set_header X-Gatecert-Cert %s;\n"
                 "    }\n",
                 index, a->name, gh_tokens_port(n->tokens), a->name, cert);
}

/* The introspector's 401 and 403 bodies (WSO2's fault JSON) to the client. */
static void render_auth_faults(gh_text *b) {
  gh_text_printf(b, "    location @gatecert_401 { default_type application/json; "
                    "return 401 $gatecert_fault; }\n"
                    "    location @gatecert_403 { default_type application/json; "
                    "return 403 $gatecert_fault; }\n");
}

static int any_introspected(const nginx_driver *n) {
  for (size_t i = 0; i < n->api_count; i++)
    if (n->apis[i].introspected)
      return 1;
  return 0;
}

static void render_api(gh_text *b, const nginx_driver *n, size_t index, const char *trust) {
  const ng_api *a = &n->apis[index];
  char prefix[600];
  snprintf(prefix, sizeof(prefix), "%s/%s", a->context, a->version);
  char slash[604];
  snprintf(slash, sizeof(slash), "%s/", prefix);
  render_location(b, n, index, "", slash, trust);
  render_location(b, n, index, "= ", prefix, trust);
  if (a->default_version) {
    snprintf(slash, sizeof(slash), "%s/", a->context);
    render_location(b, n, index, "", slash, trust);
    render_location(b, n, index, "= ", a->context, trust);
  }
}

/* Renders the gateway's generation gen: gen-<gen>/ bundles and the text of nginx.conf. */
static int render_gateway(const nginx_driver *n, long gen, gh_text *b, char *why, size_t why_len) {
  const ng_instance *in = &n->gw;
  char gendir[NG_PATH + 32], client_ca[NG_PATH + 64];
  snprintf(gendir, sizeof(gendir), "%s/gen-%ld", in->dir, gen);
  snprintf(client_ca, sizeof(client_ca), "%s/client-ca.pem", gendir);
  if (make_dir(gendir, why, why_len) != 0 || write_client_trust(n, client_ca, why, why_len) != 0)
    return -1;
  char hdr_var[160];
  header_variable(cert_header(n), hdr_var, sizeof(hdr_var));
  render_head(b, n, in, gen);
  gh_text_printf(b, "  map_hash_bucket_size 16384;\n  map_hash_max_size 8192;\n");
  int tokens = any_introspected(n);
  if (tokens) /* long bearer tokens reach the introspector */
    gh_text_printf(b, "  large_client_header_buffers 4 32k;\n");
  render_header_maps(b, n, hdr_var);
  if (tokens)
    render_known_map(b, n);
  for (size_t i = 0; i < n->api_count; i++) {
    if (n->apis[i].mtls)
      render_api_maps(b, n, i, hdr_var);
    if (n->apis[i].mtls && n->apis[i].introspected)
      render_cert_state_map(b, i);
  }
  char generation[32];
  snprintf(generation, sizeof(generation), "%ld", gen);
  render_control(b, in, generation);
  const char *verify = n->cfg.verify_client ? n->cfg.verify_client : "optional";
  gh_text_printf(b,
                 "  server { # the data plane\n"
                 "    listen 127.0.0.1:%d ssl;\n"
                 "    server_name localhost;\n"
                 "    ssl_certificate \"%s\";\n    ssl_certificate_key \"%s\";\n"
                 "    ssl_verify_client %s;\n    ssl_client_certificate \"%s\";\n"
                 "    ssl_verify_depth %d;\n"
                 "    ssl_session_cache shared:gatecert:1m;\n"
                 "    default_type application/json;\n"
                 "    location / {\n      return 404 '{\"code\":\"404\",\"message\":\"Not Found\","
                 "\"description\":\"The requested resource is not available.\"}';\n    }\n",
                 in->port, n->server_cert, n->server_key,
                 strcmp(verify, "require") == 0 ? "on"
                 : strcmp(verify, "none") == 0  ? "off"
                                                : "optional",
                 client_ca, NG_VERIFY_DEPTH);
  for (size_t i = 0; i < n->api_count; i++) {
    char trust[NG_PATH + 96];
    snprintf(trust, sizeof(trust), "%s/api-%zu-trust.pem", gendir, i);
    if (strcmp(n->apis[i].url.scheme, "https") == 0 &&
        write_api_trust(n, &n->apis[i], trust, why, why_len) != 0)
      return -1;
    render_api(b, n, i, trust);
    if (n->apis[i].introspected)
      render_auth(b, n, i);
  }
  if (tokens)
    render_auth_faults(b);
  gh_text_printf(b, "  }\n}\n");
  return b->failed ? gh_driver_fail(why, why_len, "out of memory") : 0;
}

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
  char out[8192];
  int status = 0;
  if (run_capture(n->bin, nginx_args(in, 1, args), out, sizeof(out), NG_TEST_MS, &status, why,
                  why_len) != 0)
    return -1;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 0;
  first_error_line(out, refusal, refusal_len);
  return 1;
}

/* The control server's answer (a fresh connection), into out; 0 when it answered 200. */
static int control_get(const ng_instance *in, char *out, size_t out_len) {
  out[0] = '\0';
  CURL *h = curl_easy_init();
  if (!h)
    return -1;
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/generation", in->control_port);
  FILE *mem = fmemopen(out, out_len, "w");
  if (!mem) {
    curl_easy_cleanup(h);
    return -1;
  }
  setvbuf(mem, NULL, _IONBF, 0);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 500L);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, mem);
  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  fclose(mem);
  out[out_len - 1] = '\0';
  return rc == CURLE_OK && status == 200 ? 0 : -1;
}

static int log_says(const ng_instance *in, const char *needle) {
  char *tail = gh_driver_file_tail(in->error_log, 8192);
  int found = tail && strstr(tail, needle);
  free(tail);
  return found;
}

#define NG_MAX_WORKERS 16

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

/* 1 while any of pids still accepts connections: it is a live child of
 * master that has not yet logged "gracefully shutting down" (the moment an
 * nginx worker closes its listening sockets on the master's signal). */
static int workers_accepting(const ng_instance *in, const pid_t *pids, size_t count) {
  pid_t now[NG_MAX_WORKERS];
  size_t n = list_workers(in->proc.pid, now, NG_MAX_WORKERS);
  char *tail = NULL;
  int accepting = 0;
  for (size_t i = 0; i < count && !accepting; i++)
    for (size_t j = 0; j < n && !accepting; j++) {
      if (pids[i] != now[j])
        continue;
      char line[96];
      snprintf(line, sizeof(line), "%ld#%ld: gracefully shutting down", (long)pids[i],
               (long)pids[i]);
      if (!tail)
        tail = gh_driver_file_tail(in->error_log, NG_LOG_TAIL_PART);
      accepting = !tail || !strstr(tail, line);
    }
  free(tail);
  return accepting;
}

/* Polls the control server until it answers want (20 ms steps, 5 s cap).
 * 0 when it did; -1 with the error log's tail when it never did. */
static int confirm(ng_instance *in, const char *want, const pid_t *old_workers, size_t old_count,
                   char *why, size_t why_len) {
  double deadline = gh_driver_now_ms() + NG_CONFIRM_MS;
  char got[64] = "";
  int answered = 0, ended = 0;
  for (;;) {
    /* live: the new workers answer, and the old ones (which keep accepting
     * until the master's shutdown signal reaches them) are gone */
    answered = answered || (control_get(in, got, sizeof(got)) == 0 && strcmp(got, want) == 0);
    if (answered && (old_count == 0 || !workers_accepting(in, old_workers, old_count)))
      return 0;
    if ((ended = !gh_proc_alive(&in->proc)) != 0)
      break; /* reaped; stop_instance still closes what the supervisor holds */
    if (gh_driver_now_ms() > deadline)
      break;
    gh_driver_sleep_ms(NG_POLL_STEP_MS);
  }
  char *tail = gh_driver_file_tail(in->error_log, 600);
  gh_driver_fail(
      why, why_len,
      "nginx (%s) %s generation %s live within %d ms (it answers \"%s\"%s); error.log: %s", in->dir,
      ended ? "ended before making" : "did not make", want, NG_CONFIRM_MS, got,
      answered ? ", the previous workers still accept" : "", tail ? tail : "(none)");
  free(tail);
  return -1;
}

static int launch(const nginx_driver *n, ng_instance *in, char *why, size_t why_len) {
  const char *args[10];
  char stderr_path[NG_PATH + 16];
  snprintf(stderr_path, sizeof(stderr_path), "%s/stderr.log", in->dir);
  gh_proc_spec spec = {.bin = n->bin,
                       .args = nginx_args(in, 0, args),
                       .stderr_path = stderr_path,
                       .faketime_file = n->cfg.clock_file,
                       .faketime_lib = n->cfg.faketime_lib,
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
 * control server to answer want; on a port somebody else took meanwhile,
 * new ports are probed and text re-rendered by the caller (returns 1). */
static int start_instance(const nginx_driver *n, ng_instance *in, const gh_text *text,
                          const char *want, char *why, size_t why_len) {
  char refusal[512];
  if (save_file(in->conf, text->data, text->len, 0, why, why_len) != 0)
    return -1;
  int t = nginx_test(n, in, refusal, sizeof(refusal), why, why_len);
  if (t < 0)
    return -1;
  if (t > 0)
    return gh_driver_fail(why, why_len, "nginx -t refused %s: %s", in->conf, refusal);
  if (launch(n, in, why, why_len) != 0)
    return -1;
  if (confirm(in, want, NULL, 0, why, why_len) == 0)
    return 0;
  char ignored[256];
  stop_instance(in, ignored, sizeof(ignored));
  return log_says(in, "Address already in use") ? 1 : -1;
}

static int probe_ports(ng_instance *in, char *why, size_t why_len) {
  in->port = gh_driver_free_port(why, why_len);
  in->control_port = in->port > 0 ? gh_driver_free_port(why, why_len) : -1;
  return in->port > 0 && in->control_port > 0 && in->port != in->control_port ? 0 : -1;
}

/* ---- gatecert-introspect ------------------------------------------------------------------- */

/* ---- applying the desired state ----------------------------------------------------------- */

/* SIGHUP to the gateway's master (ours, by pid), then waits until generation
 * gen answers and the previous workers stopped accepting. */
static int reload_gateway(nginx_driver *n, long gen, char *why, size_t why_len) {
  pid_t master = n->gw.proc.pid;
  if (!n->gw.running || master <= 0 || !gh_proc_alive(&n->gw.proc))
    return gh_driver_fail(why, why_len, "nginx is not running (it ended before this apply)");
  pid_t old_workers[NG_MAX_WORKERS];
  size_t old_count = list_workers(master, old_workers, NG_MAX_WORKERS);
  if (kill(master, SIGHUP) != 0)
    return gh_driver_fail(why, why_len, "SIGHUP to nginx %ld: %s", (long)master, strerror(errno));
  char want[32];
  snprintf(want, sizeof(want), "%ld", gen);
  return confirm(&n->gw, want, old_workers, old_count, why, why_len);
}

/* Renders generation+1, validates it, reloads the gateway and confirms the
 * new generation is live. 0 applied; 1 nginx -t refused it (refusal holds
 * its first error line; the previous configuration stays); -1 error. */
static int apply(nginx_driver *n, char *refusal, size_t refusal_len, char *why, size_t why_len) {
  double t0 = gh_driver_now_ms();
  long gen = n->generation + 1;
  gcert_buf old = {0};
  gcert_error err = {0};
  if (gcert_file_load(n->gw.conf, GCERT_MAX_INPUT, &old, &err) != GCERT_OK)
    return gh_driver_fail(why, why_len, "reading %s: %s", n->gw.conf, err.message);
  gh_text text = {0};
  int rc = render_gateway(n, gen, &text, why, why_len);
  if (rc == 0)
    rc = save_file(n->gw.conf, text.data, text.len, 0, why, why_len);
  gh_text_free(&text);
  if (rc == 0)
    rc = nginx_test(n, &n->gw, refusal, refusal_len, why, why_len);
  if (rc == 0)
    rc = reload_gateway(n, gen, why, why_len);
  if (rc != 0) { /* the files say what is live */
    char ignored[256];
    save_file(n->gw.conf, old.data, old.len, 0, ignored, sizeof(ignored));
  } else
    n->generation = gen;
  gcert_buf_free(&old);
  n->applies++;
  n->apply_ms += gh_driver_now_ms() - t0;
  return rc;
}

/* ---- admin answers -------------------------------------------------------------------------- */

/* Applies after a state change; on nginx -t's refusal the caller's undo runs
 * and the answer is 400 with nginx's message. 0 applied (r untouched), 1
 * refused (r set), -1 error. */
static int apply_or_refuse(nginx_driver *n, gh_admin_result *r, char *why, size_t why_len) {
  char refusal[512] = "";
  int rc = apply(n, refusal, sizeof(refusal), why, why_len);
  if (rc == 1)
    gh_admin_error(r, 400, "nginx -t refused the configuration", refusal);
  return rc;
}

/* ---- operations ----------------------------------------------------------------------------- */

static int setup_dirs(nginx_driver *n, ng_instance *in, const char *name, char *why,
                      size_t why_len) {
  char tmp[NG_PATH + 8];
  if ((size_t)snprintf(in->dir, sizeof(in->dir), "%s/%s", n->cfg.work_dir, name) >=
      sizeof(in->dir) - 64)
    return gh_driver_fail(why, why_len, "work directory path too long");
  snprintf(in->conf, sizeof(in->conf), "%s/nginx.conf", in->dir);
  snprintf(in->error_log, sizeof(in->error_log), "%s/error.log", in->dir);
  snprintf(tmp, sizeof(tmp), "%s/tmp", in->dir);
  return make_dir(in->dir, why, why_len) != 0 || make_dir(tmp, why, why_len) != 0 ? -1 : 0;
}

static int make_gateway_identity(nginx_driver *n, char *why, size_t why_len) {
  gcert_buf cert = {0}, key = {0};
  snprintf(n->server_cert, sizeof(n->server_cert), "%s/gateway.crt", n->gw.dir);
  snprintf(n->server_key, sizeof(n->server_key), "%s/gateway.key", n->gw.dir);
  gcert_buf_free(&n->placeholder_ca);
  int rc = gh_self_signed_identity(GCERT_KIND_SERVER, "CN=gatecert nginx gateway", &cert, &key, why,
                                   why_len);
  if (rc == 0)
    rc = save_file(n->server_cert, cert.data, cert.len, 0, why, why_len);
  if (rc == 0)
    rc = save_file(n->server_key, key.data, key.len, 1, why, why_len);
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
    if ((new_ports || attempt > 0) && probe_ports(&n->gw, why, why_len) != 0)
      return -1;
    gh_text text = {0};
    int rc = render_gateway(n, n->generation, &text, why, why_len);
    char want[32];
    snprintf(want, sizeof(want), "%ld", n->generation);
    if (rc == 0)
      rc = start_instance(n, &n->gw, &text, want, why, why_len);
    gh_text_free(&text);
    if (rc <= 0)
      return rc;
  }
  return gh_driver_fail(why, why_len, "nginx found its ports taken %d times", NG_START_TRIES);
}

/* The load balancer in front (front_lb.h): the gateway's identity toward
 * clients, the base trust for them, the gateway's certificate trusted. */
static int start_lb(nginx_driver *n, char *why, size_t why_len) {
  char dir[NG_PATH];
  if ((size_t)snprintf(dir, sizeof(dir), "%s/nginx-lb", n->cfg.work_dir) >= sizeof(dir))
    return gh_driver_fail(why, why_len, "work directory path too long");
  gh_front_lb_spec spec = {.nginx = n->bin,
                           .dir = dir,
                           .clock_file = n->cfg.clock_file,
                           .faketime_lib = n->cfg.faketime_lib,
                           .user_line = n->user_line,
                           .server_cert = n->server_cert,
                           .server_key = n->server_key,
                           .client_trust_pem = n->cfg.base_trust_pem,
                           .gateway_port = n->gw.port,
                           .gateway_trust_pem = n->server_cert,
                           .identity_pem = n->cfg.front_lb_key_pem,
                           .header = cert_header(n)};
  n->lb = gh_front_lb_start(&spec, why, why_len);
  return n->lb ? 0 : -1;
}

static int ng_start(gh_driver *d, const gh_gateway_config *cfg, char *why, size_t why_len) {
  nginx_driver *n = d->impl;
  state_free(n);
  n->cfg = *cfg;
  n->generation = 1;
  n->applies = 0;
  n->apply_ms = 0;
  char ignored[256];
  gh_front_lb_stop(n->lb, ignored, sizeof(ignored)); /* none unless a stop was missed */
  n->lb = NULL;
  memset(&n->gw.proc, 0, sizeof(n->gw.proc));
  n->gw.running = 0;
  gh_tokens_reset(n->tokens, &n->cfg);
  if (!nginx_safe(cfg->work_dir))
    return gh_driver_fail(why, why_len, "the work directory %s cannot be written into nginx.conf",
                          cfg->work_dir);
  if (!nginx_safe(cert_header(n)) ||
      strspn(cert_header(n), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789-_") != strlen(cert_header(n)))
    return gh_driver_fail(why, why_len, "certificate header \"%s\" is not a plain header name",
                          cert_header(n));
  if (setup_dirs(n, &n->gw, "nginx", why, why_len) != 0 ||
      make_gateway_identity(n, why, why_len) != 0)
    return -1;
  double t0 = gh_driver_now_ms();
  if (start_gateway(n, 1, why, why_len) != 0)
    return -1;
  n->applies = 1;
  n->apply_ms = gh_driver_now_ms() - t0;
  return cfg->front_lb_key_pem ? start_lb(n, why, why_len) : 0;
}

static int ng_stop(gh_driver *d, char *why, size_t why_len) {
  nginx_driver *n = d->impl;
  char lb_why[256] = "", ti_why[256] = "";
  int lb = gh_front_lb_stop(n->lb, lb_why, sizeof(lb_why));
  n->lb = NULL;
  int gw = stop_instance(&n->gw, why, why_len);
  int ti = gh_tokens_stop(n->tokens, ti_why, sizeof(ti_why));
  if (gw == 0 && lb != 0)
    return gh_driver_fail(why, why_len, "the load balancer: %s", lb_why);
  if (gw == 0 && ti != 0)
    return gh_driver_fail(why, why_len, "gatecert-introspect: %s", ti_why);
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
  int moved = gh_tokens_restart(n->tokens, why, why_len);
  if (moved < 0)
    return -1;
  if (launch(n, &n->gw, why, why_len) != 0)
    return -1;
  char want[32];
  snprintf(want, sizeof(want), "%ld", n->generation);
  if (confirm(&n->gw, want, NULL, 0, why, why_len) != 0)
    return -1;
  char refusal[512] = "";
  int rc = moved ? apply(n, refusal, sizeof(refusal), why, why_len) : 0;
  return rc == 1 ? gh_driver_fail(why, why_len, "nginx -t refused the configuration: %s", refusal)
                 : rc;
}

static int ng_https_port(gh_driver *d) { return ((nginx_driver *)d->impl)->gw.port; }

static int ng_front_port(gh_driver *d) {
  nginx_driver *n = d->impl;
  return gh_front_lb_port(n->lb);
}

static int64_t ng_start_ms(gh_driver *d) {
  (void)d;
  return -1;
}

/* OpenSSL in nginx reads the (faked) time at every verification: nothing to wait for. */
static int ng_clock_sync(gh_driver *d, int64_t fake_ms, char *why, size_t why_len) {
  (void)d;
  (void)fake_ms;
  if (why_len > 0)
    why[0] = '\0';
  return 0;
}

static int ng_create_api(gh_driver *d, const gh_api_desc *api, gh_admin_result *r, char *why,
                         size_t why_len) {
  nginx_driver *n = d->impl;
  memset(r, 0, sizeof(*r));
  int mtls = 0, introspected = 0;
  const char *missing =
      gh_tokens_classify(api->security, api->security_count, &mtls, &introspected);
  if (missing)
    return gh_driver_fail(why, why_len, "the nginx driver cannot express API security \"%s\"",
                          missing),
           GH_DRIVER_UNSUPPORTED;
  if (find_api(n, api->name))
    return gh_admin_error(r, 409, "Conflict", "an API with this name exists");
  ng_url url;
  if (!nginx_safe(api->context) || !nginx_safe(api->version) || api->context[0] != '/' ||
      strpbrk(api->context, " \t") || strpbrk(api->version, " \t/") ||
      parse_url(api->url, &url) != 0 || !nginx_safe(api->url) ||
      (strcmp(url.scheme, "https") != 0 && strcmp(url.scheme, "http") != 0))
    return gh_admin_error(r, 400, "Bad Request", "context, version or endpoint URL unusable");
  if (introspected && !nginx_safe(api->name))
    return gh_admin_error(r, 400, "Bad Request", "an API secured with OAuth2 needs a plain name");
  if (n->api_count == NG_MAX_APIS)
    return gh_admin_error(r, 400, "Bad Request", "too many APIs for the nginx driver");
  ng_api *a = &n->apis[n->api_count];
  a->name = strdup(api->name);
  a->context = strdup(api->context);
  a->version = strdup(api->version);
  a->url = url;
  a->default_version = api->default_version;
  a->mtls = mtls;
  a->introspected = introspected;
  a->trust_pem = dup_or_null(api->backend_trust_pem);
  a->key_pem = dup_or_null(api->backend_key_pem);
  if (!a->name || !a->context || !a->version || (api->backend_trust_pem && !a->trust_pem) ||
      (api->backend_key_pem && !a->key_pem)) {
    api_free(a);
    return gh_driver_fail(why, why_len, "out of memory");
  }
  n->api_count++;
  /* the introspector knows the API before nginx sends it a request */
  int rc = introspected ? gh_tokens_add_api(n->tokens, api->name, api->security,
                                            api->security_count, why, why_len)
                        : 0;
  if (rc == 0)
    rc = apply_or_refuse(n, r, why, why_len);
  if (rc != 0) {
    char ignored[256];
    if (introspected)
      gh_tokens_remove_api(n->tokens, api->name, ignored, sizeof(ignored));
    api_free(&n->apis[--n->api_count]);
    return rc < 0 ? -1 : 0;
  }
  return gh_admin_answer(r, 201,
                         json_pack("{s:s, s:s, s:s, s:s}", "id", api->name, "name", api->name,
                                   "context", api->context, "version", api->version));
}

static int ng_delete_api(gh_driver *d, const char *name, gh_admin_result *r, char *why,
                         size_t why_len) {
  nginx_driver *n = d->impl;
  memset(r, 0, sizeof(*r));
  ng_api *a = find_api(n, name);
  if (!a)
    return gh_admin_error(r, 404, "Not Found", "No such resource");
  size_t index = (size_t)(a - n->apis);
  ng_api removed = *a;
  memmove(&n->apis[index], &n->apis[index + 1], (n->api_count - index - 1) * sizeof(ng_api));
  n->api_count--;
  int rc = apply_or_refuse(n, r, why, why_len);
  if (rc != 0) { /* back where it was */
    memmove(&n->apis[index + 1], &n->apis[index], (n->api_count - index) * sizeof(ng_api));
    n->apis[index] = removed;
    n->api_count++;
    return rc < 0 ? -1 : 0;
  }
  /* its subscriptions go with it, as in WSO2 and the simulator */
  rc = gh_tokens_remove_api(n->tokens, removed.name, why, why_len);
  api_free(&removed);
  if (rc != 0)
    return -1;
  r->status = 200;
  r->body = strdup("");
  return 0;
}

static int cert_reply(gh_admin_result *r, long status, const ng_endpoint_cert *c) {
  return gh_admin_answer(r, status,
                         json_pack("{s:s, s:s}", "alias", c->alias, "endpoint", c->endpoint));
}

static int ng_upload_cert(gh_driver *d, const char *alias, const char *endpoint, const void *data,
                          size_t len, gh_admin_result *r, char *why, size_t why_len) {
  nginx_driver *n = d->impl;
  memset(r, 0, sizeof(*r));
  if (!alias || !*alias)
    return gh_admin_error(r, 400, "Bad Request", "an alias is required");
  if (find_cert(n, alias))
    return gh_admin_error(r, 409, "Resource Already Exists", "the alias exists");
  if (n->cert_count == NG_MAX_CERTS)
    return gh_admin_error(r, 400, "Bad Request", "too many endpoint certificates");
  char key[600];
  endpoint_key(endpoint ? endpoint : "", key, sizeof(key));
  gcert_store st;
  gcert_store_init(&st);
  read_upload(data, len, &st);
  ng_endpoint_cert *c = &n->certs[n->cert_count];
  int ok = upload_bytes(data, len, &st, &c->bytes) == 0;
  gcert_store_free(&st);
  c->alias = strdup(alias);
  c->endpoint = strdup(key);
  if (!ok || !c->alias || !c->endpoint) {
    endpoint_cert_free(c);
    return gh_driver_fail(why, why_len, "out of memory");
  }
  n->cert_count++;
  int rc = apply_or_refuse(n, r, why, why_len);
  if (rc != 0) {
    endpoint_cert_free(&n->certs[--n->cert_count]);
    return rc < 0 ? -1 : 0;
  }
  return cert_reply(r, 201, c);
}

static int ng_replace_cert(gh_driver *d, const char *alias, const void *data, size_t len,
                           gh_admin_result *r, char *why, size_t why_len) {
  nginx_driver *n = d->impl;
  memset(r, 0, sizeof(*r));
  ng_endpoint_cert *c = find_cert(n, alias);
  if (!c)
    return gh_admin_error(r, 404, "Not Found", "No such resource");
  gcert_store st;
  gcert_store_init(&st);
  read_upload(data, len, &st);
  gcert_buf fresh = {0};
  int ok = upload_bytes(data, len, &st, &fresh) == 0;
  gcert_store_free(&st);
  if (!ok)
    return gh_driver_fail(why, why_len, "out of memory");
  gcert_buf old = c->bytes;
  c->bytes = fresh;
  int rc = apply_or_refuse(n, r, why, why_len);
  if (rc != 0) {
    c->bytes = old;
    gcert_buf_free(&fresh);
    return rc < 0 ? -1 : 0;
  }
  gcert_buf_free(&old);
  return cert_reply(r, 200, c);
}

static int ng_delete_cert(gh_driver *d, const char *alias, gh_admin_result *r, char *why,
                          size_t why_len) {
  nginx_driver *n = d->impl;
  memset(r, 0, sizeof(*r));
  ng_endpoint_cert *c = find_cert(n, alias);
  if (!c)
    return gh_admin_error(r, 404, "Not Found", "No such resource");
  size_t index = (size_t)(c - n->certs);
  ng_endpoint_cert removed = *c;
  memmove(&n->certs[index], &n->certs[index + 1],
          (n->cert_count - index - 1) * sizeof(ng_endpoint_cert));
  n->cert_count--;
  int rc = apply_or_refuse(n, r, why, why_len);
  if (rc != 0) {
    memmove(&n->certs[index + 1], &n->certs[index],
            (n->cert_count - index) * sizeof(ng_endpoint_cert));
    n->certs[index] = removed;
    n->cert_count++;
    return rc < 0 ? -1 : 0;
  }
  endpoint_cert_free(&removed);
  r->status = 200;
  r->body = strdup("");
  return 0;
}

/* The off-schedule reload: nginx applies every change at once, so this
 * re-applies the same state (validate, SIGHUP, confirm) and nothing more. */
static int ng_reload(gh_driver *d, char *why, size_t why_len) {
  char refusal[512] = "";
  int rc = apply(d->impl, refusal, sizeof(refusal), why, why_len);
  return rc == 1 ? gh_driver_fail(why, why_len, "nginx -t refused the configuration: %s", refusal)
                 : rc;
}

static int ng_upload_client_cert(gh_driver *d, const char *api, const char *alias, const char *tier,
                                 const void *data, size_t len, gh_admin_result *r, char *why,
                                 size_t why_len) {
  nginx_driver *n = d->impl;
  memset(r, 0, sizeof(*r));
  if (!find_api(n, api))
    return gh_admin_error(r, 404, "Not Found", "No such resource");
  if (!alias || !*alias)
    return gh_admin_error(r, 400, "Bad Request", "an alias is required");
  if (find_client(n, api, alias))
    return gh_admin_error(r, 409, "Resource Already Exists", "the alias exists for this API");
  if (n->client_count == NG_MAX_CLIENTS)
    return gh_admin_error(r, 400, "Bad Request", "too many client certificates");
  gcert_store st;
  gcert_store_init(&st);
  read_upload(data, len, &st);
  ng_client_cert *c = &n->clients[n->client_count];
  X509 *cert = first_cert(&st);
  int ok =
      upload_bytes(data, len, &st, &c->bytes) == 0 && (!cert || client_cert_facts(cert, c) == 0);
  gcert_store_free(&st);
  c->api = strdup(api);
  c->alias = strdup(alias);
  c->tier = strdup(tier ? tier : "Unlimited");
  if (!ok || !c->api || !c->alias || !c->tier) {
    client_cert_free(c);
    return gh_driver_fail(why, why_len, "out of memory or an unreadable certificate");
  }
  n->client_count++;
  int rc = apply_or_refuse(n, r, why, why_len);
  if (rc != 0) {
    client_cert_free(&n->clients[--n->client_count]);
    return rc < 0 ? -1 : 0;
  }
  return gh_admin_answer(
      r, 201, json_pack("{s:s, s:s, s:s}", "alias", c->alias, "apiId", c->api, "tier", c->tier));
}

static int ng_delete_client_cert(gh_driver *d, const char *api, const char *alias,
                                 gh_admin_result *r, char *why, size_t why_len) {
  nginx_driver *n = d->impl;
  memset(r, 0, sizeof(*r));
  ng_client_cert *c = find_client(n, api, alias);
  if (!c)
    return gh_admin_error(r, 404, "Not Found", "No such resource");
  size_t index = (size_t)(c - n->clients);
  ng_client_cert removed = *c;
  memmove(&n->clients[index], &n->clients[index + 1],
          (n->client_count - index - 1) * sizeof(ng_client_cert));
  n->client_count--;
  int rc = apply_or_refuse(n, r, why, why_len);
  if (rc != 0) {
    memmove(&n->clients[index + 1], &n->clients[index],
            (n->client_count - index) * sizeof(ng_client_cert));
    n->clients[index] = removed;
    n->client_count++;
    return rc < 0 ? -1 : 0;
  }
  client_cert_free(&removed);
  r->status = 200;
  r->body = strdup("");
  return 0;
}

static int ng_add_key_manager(gh_driver *d, const gh_key_manager_desc *km, gh_admin_result *r,
                              char *why, size_t why_len) {
  nginx_driver *n = d->impl;
  return gh_tokens_add_key_manager(n->tokens, km, r, why, why_len);
}

/* Answers as the simulator's devportal does (tokens.h). */
static int ng_subscribe(gh_driver *d, const char *application, const char *api, const char *tier,
                        const char *key_manager, gh_admin_result *r, char *why, size_t why_len) {
  nginx_driver *n = d->impl;
  return gh_tokens_subscribe(n->tokens, application, api, find_api(n, api) != NULL, tier,
                             key_manager, r, why, why_len);
}

static void ng_apply_stats(gh_driver *d, long *applies, double *apply_ms) {
  nginx_driver *n = d->impl;
  *applies = n->applies;
  *apply_ms = n->apply_ms;
}

/* gw's text followed by "--- title ---" and extra (both freed); gw cut
 * to its newest bytes so that the whole stays within max. */
static char *tail_join(char *gw, char *extra, const char *title, size_t max) {
  if (!extra)
    return gw;
  size_t gw_len = gw ? strlen(gw) : 0, extra_len = strlen(extra);
  if (gw && gw_len + extra_len > max && gw_len > max - extra_len) {
    size_t keep = max > extra_len ? max - extra_len : 0;
    memmove(gw, gw + (gw_len - keep), keep + 1);
    gw_len = keep;
  }
  size_t len = gw_len + extra_len + strlen(title) + 16;
  char *out = malloc(len);
  if (out)
    snprintf(out, len, "%s\n--- %s ---\n%s", gw ? gw : "", title, extra);
  free(gw);
  free(extra);
  return out;
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
    out = tail_join(out, gh_front_lb_log_tail(n->lb, part), "load balancer", max);
  if (gh_tokens_log_path(n->tokens))
    out = tail_join(out, gh_driver_file_tail(gh_tokens_log_path(n->tokens), part),
                    "gatecert-introspect", max);
  return out;
}

static const char *const *ng_secrets(gh_driver *d) {
  (void)d;
  static const char *const none[] = {NULL};
  return none;
}

static void ng_destroy(gh_driver *d) {
  if (!d)
    return;
  nginx_driver *n = d->impl;
  if (n) {
    char why[256];
    ng_stop(d, why, sizeof(why));
    state_free(n);
    gh_tokens_free(n->tokens);
    gcert_buf_free(&n->placeholder_ca);
    free(n);
  }
  free(d);
}

/* nginx's answers to the rejection classes (README.md finding 1). */
static const gh_reject_answer nginx_rejects[GH_REJECT_COUNT] = {
    [GH_REJECT_CLIENT_CERT] = {.status = {400}},
    [GH_REJECT_UNAUTHENTICATED] = {.status = {401}},
    [GH_REJECT_BACKEND_TLS] = {.status = {502}},
};

static const gh_driver_ops nginx_ops = {
    .name = "nginx",
    .caps = GH_CAP_RUNTIME_BACKEND_TRUST | GH_CAP_BACKEND_MTLS | GH_CAP_BASE_TRUST_STORE |
            GH_CAP_RESTART_KEEPS_STATE | GH_CAP_CLIENT_MTLS | GH_CAP_HEADER_MODE |
            GH_CAP_PER_API_BACKEND_TLS | GH_CAP_LB_IN_FRONT | GH_CAP_OAUTH2 |
            GH_CAP_AUTH_FAULT_CODES,
    .start = ng_start,
    .stop = ng_stop,
    .restart = ng_restart,
    .https_port = ng_https_port,
    .start_ms = ng_start_ms,
    .clock_sync = ng_clock_sync,
    .create_api = ng_create_api,
    .delete_api = ng_delete_api,
    .upload_cert = ng_upload_cert,
    .replace_cert = ng_replace_cert,
    .delete_cert = ng_delete_cert,
    .reload = ng_reload,
    .upload_client_cert = ng_upload_client_cert,
    .delete_client_cert = ng_delete_client_cert,
    .add_key_manager = ng_add_key_manager,
    .subscribe = ng_subscribe,
    .front_port = ng_front_port,
    .apply_stats = ng_apply_stats,
    .rejects = nginx_rejects,
    .front_rejects = gh_front_lb_rejects,
    .log_tail = ng_log_tail,
    .secrets = ng_secrets,
    .destroy = ng_destroy,
};

/* ---- finding and asking nginx --------------------------------------------------------------- */

gh_driver *gh_driver_nginx_new(const char *bin, gh_real_info *info, char *why, size_t why_len) {
  gh_driver *d = calloc(1, sizeof(*d));
  nginx_driver *n = calloc(1, sizeof(*n));
  gh_tokens *tokens = gh_tokens_new();
  if (!d || !n || !tokens) {
    free(d);
    free(n);
    gh_tokens_free(tokens);
    gh_driver_fail(why, why_len, "out of memory");
    return NULL;
  }
  n->tokens = tokens;
  char out[512];
  int status = 0;
  static const char *const version_args[] = {"-v", NULL};
  if (gh_nginx_find(bin, n->bin, sizeof(n->bin)) != 0) {
    gh_driver_fail(why, why_len, "nginx not found (%s)", bin ? bin : "PATH, /usr/sbin/nginx");
  } else if (run_capture(n->bin, version_args, out, sizeof(out), NG_TEST_MS, &status, why,
                         why_len) != 0) {
    /* why says it */
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !strstr(out, "nginx/")) {
    gh_driver_fail(why, why_len, "%s -v did not answer a version: %.200s", n->bin, out);
  } else {
    const char *v = strstr(out, "nginx/");
    if (info)
      snprintf(info->version, sizeof(info->version), "%.*s", (int)strcspn(v, " \r\n"), v);
    gh_nginx_user_line(n->user_line, sizeof(n->user_line));
    d->ops = &nginx_ops;
    d->impl = n;
    return d;
  }
  free(d);
  gh_tokens_free(n->tokens);
  free(n);
  return NULL;
}
