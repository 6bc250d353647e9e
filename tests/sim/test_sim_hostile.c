/* test_sim_hostile.c - 500+ malformed or hostile admin requests: the right
 * error for each, the simulator still serving, the store unchanged.
 *
 * One gatecert-sim (real time, wso2 profile) gets a baseline: one endpoint
 * certificate (the catalogue's untrusted-root, for a gatecert-backend serving
 * the `server` chain, so the backend stays untrusted), one API routed to that
 * backend, and a reload; a data-plane call is routed and fails in the sender
 * (500 / 101500: a 404 would mean no route). The certificate list, the API
 * list, the baseline certificate's content and the trust generation are
 * snapshotted. Then families of requests, mostly generated in loops whose
 * case names encode their parameters, are sent one by one, each with its
 * expected status (and, for the simulator's own REST errors, its exact
 * description or its prefix):
 *
 *   corpus     every file of fixtures/malformed/<kind>/MANIFEST as the
 *              certificate part of a POST and of a PUT, and as a raw PUT body
 *   truncate   a valid multipart upload cut at many points
 *   ctype      missing, quoted, overlong and otherwise bad boundaries
 *   parts      17+ parts, huge part headers, bad dispositions, the bad seeds
 *              of fixtures/multipart
 *   fields     NUL, control bytes and invalid UTF-8 in alias and endpoint,
 *              aliases of 256+ bytes
 *   paths      %00, %2F, ../, overlong segments (raw sockets: exact bytes)
 *   routes     unknown routes and wrong methods
 *   json       API definitions cut short, nested deep, with duplicate keys,
 *              huge numbers and wrong types
 *   http       malformed HTTP itself (raw sockets)
 *   auth       bad Authorization headers, on reads and on writes
 *   oversize   11 MiB bodies (413)
 *
 * Every 50 requests /_sim/status must answer 200. A request that is meant to
 * be accepted (the few corpus files that are valid certificates, the uncut
 * upload) is undone at once and checked too. At the end the lists, the
 * content and the generation equal the baseline, the data plane still
 * routes the baseline API the same way, the process is alive, and SIGTERM
 * ends it with exit 0. The count of requests and the real time taken are
 * printed.
 */
#include "support.h"
#include "backend_fixture.h"
#include "backend_support.h"
#include "sim_fixture.h"
#include "sim_world.h"
#include "gutil.h"

#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define BOUNDARY    "hostile-Bndry-0123456789"
#define MP_TYPE     "Content-Type: multipart/form-data; boundary=" BOUNDARY
#define AUTH_OK     "Authorization: Basic YWRtaW46czNjcmV0LWFkbWlu" /* admin:s3cret-admin */
#define CREDENTIALS ST_USER ":" ST_PASSWORD
#define NOT_EMPTY   "The alias and/ or endpoint should not be empty"
#define NO_FILE     "Certificate update failed. Proper Certificate file should be provided"
#define INTERNAL    "The server encountered an internal error. Please contact administrator."
#define BAD_ALIAS   "The alias must be printable UTF-8 of at most 255 bytes"
#define BAD_EP      "The endpoint must be printable UTF-8 of at most 2047 bytes"
#define PATH_ALIAS  "The alias in the path must be printable UTF-8 of 1 to 255 bytes"
#define NOT_MP      "Expected a multipart/form-data body (not-multipart)"
#define BAD_B       "Expected a multipart/form-data body (bad-boundary)"
#define MALFORMED   "Malformed multipart body: "
#define NOT_JSON    "The body is not JSON: "
#define NO_RES      "No such resource"
#define UNAUTH      "Authentication failed: valid admin credentials are required"
#define WRONG_VERB  "The method is not supported on this resource"
#define SIM_VERB    "status and time take GET, reload takes POST"
#define NAME_RULE   "name: a non-empty string of at most 255 printable characters is required"
#define CTX_RULE    "context: a non-empty string such as \"/test\" is required"
#define VER_RULE    "version: a non-empty string of letters, digits, - _ . is required"
#define EP_RULE                                                                                    \
  "endpointConfig: production_endpoints.url (and sandbox_endpoints.url if given) must be "         \
  "http(s) URLs with a host"
#define HEALTH_EVERY 50
#define MAX_LOGGED   12
#define FAULT_101500                                                                               \
  "{\"code\":\"101500\",\"type\":\"Status report\",\"message\":\"Runtime Error\","                 \
  "\"description\":\"Error in Sender\"}"

/* ---- growing byte buffers: util's gu_text, an allocation failure fails the test -- */

typedef gu_text bytes;

static void b_add(bytes *b, const void *p, size_t n) {
  gu_text_add(b, p, n);
  assert_false(b->failed);
}

static void b_str(bytes *b, const char *s) { b_add(b, s, strlen(s)); }

static void b_rep(bytes *b, char c, size_t n) {
  for (size_t i = 0; i < n; i++)
    b_add(b, &c, 1);
}

#define b_fmt(b, ...)                                                                              \
  do {                                                                                             \
    gu_text_printf((b), __VA_ARGS__);                                                              \
    assert_false((b)->failed);                                                                     \
  } while (0)

static void b_free(bytes *b) { gu_text_free(b); }

/* A string of n copies of c (malloc'd). */
static char *repeat(char c, size_t n) {
  char *s = malloc(n + 1);
  assert_non_null(s);
  memset(s, c, n);
  s[n] = '\0';
  return s;
}

/* ---- multipart bodies built by hand ---------------------------------------------- */

typedef struct part {
  const char *name;
  const void *data;
  size_t len;
  int is_file;
} part;

static void mp_part(bytes *b, const part *p) {
  b_fmt(b, "--%s\r\nContent-Disposition: form-data; name=\"%s\"", BOUNDARY, p->name);
  if (p->is_file)
    b_str(b, "; filename=\"backend.crt\"\r\nContent-Type: application/octet-stream");
  b_str(b, "\r\n\r\n");
  b_add(b, p->data, p->len);
  b_str(b, "\r\n");
}

static void mp_close(bytes *b) { b_fmt(b, "--%s--\r\n", BOUNDARY); }

/* ---- expectations ----------------------------------------------------------------- */

typedef struct want {
  long status;
  const char *message;     /* the REST error's message; NULL: not a REST error body */
  const char *description; /* exact, or a prefix when prefix is set */
  int prefix;
  int by_libevent; /* an HTTP-layer answer (no handler runs; HTML body) */
} want;

static want rest(long status, const char *message, const char *description) {
  return (want){status, message, description, 0, 0};
}
static want rest_prefix(long status, const char *message, const char *prefix) {
  return (want){status, message, prefix, 1, 0};
}
static want bad(const char *description) { return rest(400, "Bad Request", description); }
static want bad_prefix(const char *prefix) { return rest_prefix(400, "Bad Request", prefix); }
static want not_found(const char *description) { return rest(404, "Not Found", description); }
static want status_only(long status) { return (want){status, NULL, NULL, 0, 1}; }

/* ---- the run ---------------------------------------------------------------------- */

typedef struct hostile {
  st_sim sim;
  char url[128];       /* the backend */
  char api_id[64];     /* the baseline API */
  bytes base_pem;      /* the baseline certificate */
  size_t sent;         /* hostile requests sent */
  size_t accepted;     /* of which meant to succeed (and undone) */
  size_t health;       /* /_sim/status checks */
  size_t failures;     /* requests whose answer was not the expected one */
  size_t corpus_files; /* entries of the malformed MANIFESTs sent */
  size_t by_libevent;  /* requests whose answer comes from libevent, not a handler */
  char log[MAX_LOGGED][400];
} hostile;

static void health_check(hostile *h) {
  json_t *status = NULL;
  if (st_status(&h->sim, &status) != 0)
    fail_msg("after %zu requests /_sim/status does not answer 200: %s", h->sent, st_error());
  json_decref(status);
  h->health++;
}

/* Notes an unexpected answer (the first MAX_LOGGED are printed at the end). */
static void record(hostile *h, const char *name, const char *why, const char *body,
                   size_t body_len) {
  if (h->failures < MAX_LOGGED)
    snprintf(h->log[h->failures], sizeof(h->log[0]), "%s: %s; got: %.*s", name, why,
             (int)(body_len < 160 ? body_len : 160), body ? body : "");
  h->failures++;
}

/* Counts one request and checks its answer against w. */
static void judge(hostile *h, const char *name, long status, const char *body, size_t body_len,
                  const want *w) {
  h->sent++;
  h->by_libevent += w->by_libevent;
  char why[200] = "";
  if (status != w->status) {
    snprintf(why, sizeof(why), "status %ld, expected %ld", status, w->status);
  } else if (w->message) {
    json_t *j = body ? json_loadb(body, body_len, 0, NULL) : NULL;
    const char *message = json_string_value(json_object_get(j, "message"));
    const char *description = json_string_value(json_object_get(j, "description"));
    if (!j || json_integer_value(json_object_get(j, "code")) != status || !message ||
        strcmp(message, w->message) != 0 || !description ||
        (w->prefix ? strncmp(description, w->description, strlen(w->description)) != 0
                   : strcmp(description, w->description) != 0) ||
        !json_is_array(json_object_get(j, "error")) || json_object_size(j) != 5)
      snprintf(why, sizeof(why), "expected the error %s\"%s\"", w->prefix ? "starting " : "",
               w->description);
    json_decref(j);
  }
  if (why[0])
    record(h, name, why, body, body_len);
  if (h->sent % HEALTH_EVERY == 0)
    health_check(h);
}

/* One request through libcurl (a fresh connection). */
static void send_curl(hostile *h, const char *name, const char *method, const char *path,
                      const char *userpwd, const char *const *headers, const void *body, size_t len,
                      want w) {
  st_reply r;
  if (st_admin_raw(&h->sim, method, path, userpwd, headers, body, len, &r) != 0)
    r.status = 0;
  judge(h, name, r.status, r.body, r.len, &w);
  if (r.status == 401 && w.status == 401) {
    char *www = st_header(&r, "WWW-Authenticate");
    if (!www || strcmp(www, "Basic realm=\"gatecert-sim\"") != 0)
      record(h, name, "no WWW-Authenticate: Basic realm=\"gatecert-sim\"", NULL, 0);
    free(www);
  }
  if (r.status == 405 && w.status == 405 && strncmp(path, "/_sim/", 6) != 0) {
    char *allow = st_header(&r, "Allow");
    if (!allow)
      record(h, name, "no Allow header", NULL, 0);
    free(allow);
  }
  st_reply_free(&r);
}

static void send_admin(hostile *h, const char *name, const char *method, const char *path,
                       const void *body, size_t len, const char *content_type, want w) {
  const char *headers[2] = {content_type, NULL};
  send_curl(h, name, method, path, CREDENTIALS, headers, body, len, w);
}

static void send_multipart(hostile *h, const char *name, const char *method, const char *path,
                           const bytes *body, want w) {
  send_admin(h, name, method, path, body->data, body->len, MP_TYPE, w);
}

/* The three parts of an upload into b (not closed): the certificate file
 * (data, or the baseline certificate when data is NULL), alias, and the
 * backend's URL as endpoint. */
static void upload_parts_of(hostile *h, bytes *b, const void *data, size_t len, const char *alias) {
  part cert = {"certificate", data ? data : h->base_pem.data, data ? len : h->base_pem.len, 1};
  part al = {"alias", alias, strlen(alias), 0};
  part ep = {"endpoint", h->url, strlen(h->url), 0};
  mp_part(b, &cert);
  mp_part(b, &al);
  mp_part(b, &ep);
}

static void upload_parts(hostile *h, bytes *b, const char *alias) {
  upload_parts_of(h, b, NULL, 0, alias);
}

/* An upload of the baseline certificate with these alias and endpoint bytes
 * (NULL: that part left out). */
static void send_fields(hostile *h, const char *name, const void *alias, size_t alias_len,
                        const void *endpoint, size_t endpoint_len, want w) {
  bytes b = {0};
  part cert = {"certificate", h->base_pem.data, h->base_pem.len, 1};
  mp_part(&b, &cert);
  if (alias) {
    part p = {"alias", alias, alias_len, 0};
    mp_part(&b, &p);
  }
  if (endpoint) {
    part p = {"endpoint", endpoint, endpoint_len, 0};
    mp_part(&b, &p);
  }
  mp_close(&b);
  send_multipart(h, name, "POST", ST_CERTS, &b, w);
  b_free(&b);
}

/* Exact bytes on a raw socket ("Connection: close" expected inside). */
static void send_raw(hostile *h, const char *name, const bytes *request, want w) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h->sim.admin)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  long status = 0;
  bytes reply = {0};
  if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
    size_t off = 0;
    while (off < request->len) {
      ssize_t n = send(fd, request->data + off, request->len - off, MSG_NOSIGNAL);
      if (n <= 0)
        break; /* the server answered early and closed: read what it said */
      off += (size_t)n;
    }
    char chunk[4096];
    ssize_t n;
    while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0)
      b_add(&reply, chunk, (size_t)n);
    if (reply.len >= 12 && memcmp(reply.data, "HTTP/1.", 7) == 0)
      status = strtol((const char *)reply.data + 9, NULL, 10);
  }
  close(fd);
  const char *body = reply.data ? strstr((const char *)reply.data, "\r\n\r\n") : NULL;
  if (body)
    body += 4;
  judge(h, name, status, body, body ? reply.len - (size_t)(body - (const char *)reply.data) : 0,
        &w);
  b_free(&reply);
}

/* A well-formed request line and headers around a raw path. */
static void send_path(hostile *h, const char *name, const char *method, const char *path, want w) {
  bytes req = {0};
  b_str(&req, method);
  b_str(&req, " ");
  b_str(&req, path);
  b_str(&req, " HTTP/1.1\r\nHost: 127.0.0.1\r\n" AUTH_OK "\r\nConnection: close\r\n\r\n");
  send_raw(h, name, &req, w);
  b_free(&req);
}

/* ---- families ---------------------------------------------------------------------- */

/* Corpus files that are well-formed certificates: their MANIFEST entry hands
 * them to another reader, but an upload is read by its content. */
static const char *const corpus_certificates[] = {
    "pem/pem-read-as-der.pem",
    "pem/cert-read-as-pkcs7.der",
    "pkcs12/cert-as-pkcs12.der",
};

static int corpus_is_certificate(const char *kind, const char *file) {
  char key[512];
  snprintf(key, sizeof(key), "%s/%s", kind, file);
  for (size_t i = 0; i < sizeof(corpus_certificates) / sizeof(corpus_certificates[0]); i++)
    if (strcmp(key, corpus_certificates[i]) == 0)
      return 1;
  return 0;
}

static void put_baseline_back(hostile *h, const char *name) {
  bytes b = {0};
  part cert = {"certificate", h->base_pem.data, h->base_pem.len, 1};
  mp_part(&b, &cert);
  mp_close(&b);
  char undo[600];
  snprintf(undo, sizeof(undo), "%.500s: restore", name);
  send_multipart(h, undo, "PUT", ST_CERTS "/baseline", &b, rest(200, NULL, NULL));
  b_free(&b);
}

static void corpus_file(hostile *h, const char *kind, const char *file, const char *path) {
  size_t len = 0;
  char *data = bs_slurp(path, &len);
  assert_non_null(data);
  int is_cert = corpus_is_certificate(kind, file);
  char name[600], alias[300];
  snprintf(alias, sizeof(alias), "mal-%.40s-%.200s", kind, file);
  /* POST as the certificate part */
  bytes b = {0};
  upload_parts_of(h, &b, data, len, alias);
  mp_close(&b);
  want w = len == 0  ? bad(NO_FILE)
           : is_cert ? rest(201, NULL, NULL)
                     : rest(500, "Internal server error", INTERNAL);
  snprintf(name, sizeof(name), "corpus POST %s/%s (%zu bytes)", kind, file, len);
  send_multipart(h, name, "POST", ST_CERTS, &b, w);
  b_free(&b);
  if (is_cert) {
    char undo[600], path_alias[400];
    snprintf(undo, sizeof(undo), "%.500s: undo", name);
    snprintf(path_alias, sizeof(path_alias), "%s/%s", ST_CERTS, alias);
    send_admin(h, undo, "DELETE", path_alias, NULL, 0, NULL, rest(200, NULL, NULL));
    h->accepted++;
  }
  /* PUT over the baseline */
  part cert = {"certificate", data, len, 1};
  mp_part(&b, &cert);
  mp_close(&b);
  w = len == 0  ? bad(NO_FILE)
      : is_cert ? rest(200, NULL, NULL)
                : rest(500, "Internal server error", INTERNAL);
  snprintf(name, sizeof(name), "corpus PUT %s/%s", kind, file);
  send_multipart(h, name, "PUT", ST_CERTS "/baseline", &b, w);
  b_free(&b);
  if (is_cert) {
    put_baseline_back(h, name);
    h->accepted++;
  }
  /* PUT with the file as the whole body */
  snprintf(name, sizeof(name), "corpus raw PUT %s/%s", kind, file);
  send_admin(h, name, "PUT", ST_CERTS "/baseline", data, len,
             "Content-Type: application/octet-stream", bad(NOT_MP));
  free(data);
}

static void family_corpus(hostile *h) {
  const char *root = test_fixture_path("malformed");
  struct dirent **kinds = NULL;
  int n = scandir(root, &kinds, NULL, alphasort);
  assert_true(n > 0);
  size_t files = 0;
  for (int i = 0; i < n; i++) {
    const char *kind = kinds[i]->d_name;
    char manifest[BS_PATH_MAX];
    snprintf(manifest, sizeof(manifest), "%s/%s/MANIFEST", root, kind);
    FILE *f = kind[0] == '.' ? NULL : fopen(manifest, "r");
    char line[1024];
    while (f && fgets(line, sizeof(line), f)) {
      char file[256];
      if (line[0] == '#' || sscanf(line, "%255s", file) != 1)
        continue;
      char path[BS_PATH_MAX];
      snprintf(path, sizeof(path), "%s/%s/%s", root, kind, file);
      corpus_file(h, kind, file, path);
      files++;
    }
    if (f)
      fclose(f);
    free(kinds[i]);
  }
  free(kinds);
  h->corpus_files = files;
}

/* A valid upload cut at many points; then the whole of it (accepted, undone). */
static void family_truncate(hostile *h) {
  bytes b = {0};
  upload_parts(h, &b, "truncated");
  mp_close(&b);
  /* Every 9th byte, and every byte near a delimiter; the last two bytes are
   * the epilogue's CRLF, whose loss still leaves a complete body. */
  size_t cut_max = b.len - 2;
  unsigned char *pick = calloc(cut_max, 1);
  assert_non_null(pick);
  for (size_t k = 0; k < cut_max; k += 9)
    pick[k] = 1;
  for (size_t k = 0; k + 4 <= b.len; k++) {
    if (memcmp(b.data + k, "\r\n--", 4) != 0 && !(k == 0 && b.data[0] == '-'))
      continue;
    for (size_t d = 0; d < 8 && k + d < cut_max; d++)
      pick[k + d] = 1;
    for (size_t d = 1; d <= 3 && d <= k; d++)
      pick[k - d] = 1;
  }
  for (size_t k = cut_max - 6; k < cut_max; k++)
    pick[k] = 1;
  for (size_t k = 0; k < cut_max; k++) {
    if (!pick[k])
      continue;
    char name[64];
    snprintf(name, sizeof(name), "truncate at %zu of %zu", k, b.len);
    send_admin(h, name, "POST", ST_CERTS, b.data, k, MP_TYPE, bad_prefix(MALFORMED));
  }
  free(pick);
  send_multipart(h, "truncate: the whole body", "POST", ST_CERTS, &b, rest(201, NULL, NULL));
  send_admin(h, "truncate: undo", "DELETE", ST_CERTS "/truncated", NULL, 0, NULL,
             rest(200, NULL, NULL));
  h->accepted++;
  b_free(&b);
}

/* Content-Type headers around a valid body. */
static void family_ctype(hostile *h) {
  bytes b = {0};
  upload_parts(h, &b, "ctype");
  mp_close(&b);
  char *b70 = repeat('q', 70), *b71 = repeat('q', 71), *b1000 = repeat('q', 1000);
  char t70[200], t71[200], t1000[1100];
  snprintf(t70, sizeof(t70), "Content-Type: multipart/form-data; boundary=%s", b70);
  snprintf(t71, sizeof(t71), "Content-Type: multipart/form-data; boundary=%s", b71);
  snprintf(t1000, sizeof(t1000), "Content-Type: multipart/form-data; boundary=%s", b1000);
  const struct {
    const char *header;
    const char *description;
  } cases[] = {
      {"Content-Type:", NOT_MP}, /* removes curl's default: no Content-Type at all */
      {"Content-Type: text/plain", NOT_MP},
      {"Content-Type: application/json", NOT_MP},
      {"Content-Type: multipart/mixed; boundary=" BOUNDARY, NOT_MP},
      {"Content-Type: multipart/form-datax; boundary=" BOUNDARY, NOT_MP},
      {"Content-Type: form-data; boundary=" BOUNDARY, NOT_MP},
      {"Content-Type: multipart/form-data", BAD_B},
      {"Content-Type: multipart/form-data;", BAD_B},
      {"Content-Type: multipart/form-data; boundary=", BAD_B},
      {"Content-Type: multipart/form-data; boundary=\"\"", BAD_B},
      {"Content-Type: multipart/form-data; boundary=\"" BOUNDARY, BAD_B},
      {"Content-Type: multipart/form-data; boundary=\"ends in space \"", BAD_B},
      {"Content-Type: multipart/form-data; boundary=a@b", BAD_B},
      {"Content-Type: multipart/form-data; boundary=\"a\x01b\"", BAD_B},
      {"Content-Type: multipart/form-data; boundary=" BOUNDARY "; boundary=" BOUNDARY, BAD_B},
      {"Content-Type: multipart/form-data; boundary=" BOUNDARY "; charset", BAD_B},
      {"Content-Type: multipart/form-data boundary=" BOUNDARY, BAD_B},
      {"Content-Type: multipart/form-data; boundary " BOUNDARY, BAD_B},
      {t71, BAD_B},
      {t1000, BAD_B},
      {t70, MALFORMED},
      {"Content-Type: multipart/form-data; boundary=other-boundary", MALFORMED},
      {"Content-Type: multipart/form-data; boundary=hostile", MALFORMED},
      {"Content-Type: multipart/form-data; boundary=\"hostile-Bndry-012345678\"", MALFORMED},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char name[160];
    snprintf(name, sizeof(name), "ctype %zu: %.100s", i, cases[i].header);
    want w = strcmp(cases[i].description, MALFORMED) == 0 ? bad_prefix(MALFORMED)
                                                          : bad(cases[i].description);
    send_admin(h, name, "POST", ST_CERTS, b.data, b.len, cases[i].header, w);
    send_admin(h, name, "PUT", ST_CERTS "/baseline", b.data, b.len, cases[i].header, w);
  }
  free(b70);
  free(b71);
  free(b1000);
  b_free(&b);
}

/* Bodies whose parts are wrong; each also holds a valid certificate, alias
 * and endpoint, so parsing past the fault would add a certificate. */
static void family_parts(hostile *h) {
  part cert = {"certificate", h->base_pem.data, h->base_pem.len, 1};
  part ep = {"endpoint", h->url, strlen(h->url), 0};
  static const size_t counts[] = {17, 18, 20, 32, 64, 100, 1000};
  for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
    bytes b = {0};
    upload_parts(h, &b, "parts");
    for (size_t k = 3; k < counts[i]; k++) {
      char pname[32];
      snprintf(pname, sizeof(pname), "extra%zu", k);
      part x = {pname, "x", 1, 0};
      mp_part(&b, &x);
    }
    mp_close(&b);
    char name[64];
    snprintf(name, sizeof(name), "parts: %zu parts", counts[i]);
    send_multipart(h, name, "POST", ST_CERTS, &b, bad_prefix(MALFORMED "part 17: more than 16"));
    b_free(&b);
  }
  /* One part's header block: a long header, many headers, a long Content-Type,
   * long names, control bytes, wrong dispositions. */
  static const size_t pads[] = {8200, 9000, 65536, 1 << 20};
  for (size_t i = 0; i < sizeof(pads) / sizeof(pads[0]); i++) {
    bytes b = {0};
    b_fmt(&b, "--%s\r\nContent-Disposition: form-data; name=\"alias\"\r\nX-Pad: ", BOUNDARY);
    b_rep(&b, 'p', pads[i]);
    b_str(&b, "\r\n\r\nparts\r\n");
    mp_part(&b, &cert);
    mp_part(&b, &ep);
    mp_close(&b);
    char name[64];
    snprintf(name, sizeof(name), "parts: header of %zu bytes", pads[i]);
    send_multipart(h, name, "POST", ST_CERTS, &b,
                   bad_prefix(MALFORMED "part 1: header block longer than 8192 bytes"));
    b_free(&b);
  }
  static const size_t header_counts[] = {1000, 5000};
  for (size_t i = 0; i < sizeof(header_counts) / sizeof(header_counts[0]); i++) {
    bytes b = {0};
    mp_part(&b, &cert);
    b_fmt(&b, "--%s\r\nContent-Disposition: form-data; name=\"alias\"\r\n", BOUNDARY);
    for (size_t k = 0; k < header_counts[i]; k++)
      b_fmt(&b, "X-H%zu: v\r\n", k);
    b_str(&b, "\r\nparts\r\n");
    mp_part(&b, &ep);
    mp_close(&b);
    char name[64];
    snprintf(name, sizeof(name), "parts: %zu headers in part 2", header_counts[i]);
    send_multipart(h, name, "POST", ST_CERTS, &b,
                   bad_prefix(MALFORMED "part 2: header block longer than 8192 bytes"));
    b_free(&b);
  }
  char *long_type = repeat('t', 200), *long_name = repeat('n', 128), *long_file = repeat('f', 256);
  const struct {
    const char *name;
    const char *headers; /* the alias part's header lines (each ending CRLF) */
    const char *reason;  /* after "Malformed multipart body: " */
  } alias_headers[] = {
      {"no disposition", "Content-Type: text/plain\r\n", "part 2: no Content-Disposition"},
      {"attachment", "Content-Disposition: attachment; name=\"alias\"\r\n",
       "part 2: Content-Disposition is 'attachment"},
      {"no name", "Content-Disposition: form-data\r\n", "part 2: Content-Disposition has no name"},
      {"empty name", "Content-Disposition: form-data; name=\"\"\r\n", "part 2: empty name"},
      {"two names", "Content-Disposition: form-data; name=\"alias\"; name=\"x\"\r\n",
       "part 2: two 'name' parameters"},
      {"two dispositions",
       "Content-Disposition: form-data; name=\"alias\"\r\nContent-Disposition: form-data; "
       "name=\"alias\"\r\n",
       "part 2: two Content-Disposition headers"},
      {"unterminated quote", "Content-Disposition: form-data; name=\"alias\r\n",
       "part 2: unterminated quoted string"},
      {"folded header", "Content-Disposition: form-data;\r\n name=\"alias\"\r\n",
       "part 2: folded header line"},
      {"header without colon", "Content-Disposition: form-data; name=\"alias\"\r\nbroken\r\n",
       "part 2: header line without ':'"},
      {"NUL in header", "Content-Disposition: form-data; name=\"al\0ias\"\r\n",
       "part 2: NUL byte in the header block"},
      {"ESC in header", "Content-Disposition: form-data; name=\"al\x1bias\"\r\n",
       "part 2: control character 0x1b"},
      {"bare LF header", "Content-Disposition: form-data; name=\"alias\"\n",
       "part 2: header line ends in a bare LF"},
      {"CR without LF", "Content-Disposition: form-data; name=\"alias\"\rX: y\r\n",
       "part 2: CR without LF"},
      {"filename* not UTF-8",
       "Content-Disposition: form-data; name=\"alias\"; filename*=latin1''x\r\n",
       "part 2: filename* charset"},
      {"filename* bad percent",
       "Content-Disposition: form-data; name=\"alias\"; filename*=UTF-8''%zz\r\n",
       "part 2: filename* has a '%' without two hex digits"},
      {"filename* control",
       "Content-Disposition: form-data; name=\"alias\"; filename*=UTF-8''%0a\r\n",
       "part 2: filename* decodes to a control character"},
  };
  for (size_t i = 0; i < sizeof(alias_headers) / sizeof(alias_headers[0]); i++) {
    bytes b = {0};
    mp_part(&b, &cert);
    b_fmt(&b, "--%s\r\n", BOUNDARY);
    /* the headers may hold a NUL: add them by length (every literal above ends
     * in a CRLF, which strlen reaches when there is no NUL) */
    const char *hdr = alias_headers[i].headers;
    size_t hlen = strlen(hdr);
    if (strcmp(alias_headers[i].name, "NUL in header") == 0)
      hlen += 1 + strlen(hdr + hlen + 1);
    b_add(&b, hdr, hlen);
    b_str(&b, "\r\nparts\r\n");
    mp_part(&b, &ep);
    mp_close(&b);
    char name[64], reason[160];
    snprintf(name, sizeof(name), "parts: alias part %s", alias_headers[i].name);
    snprintf(reason, sizeof(reason), MALFORMED "%s", alias_headers[i].reason);
    send_multipart(h, name, "POST", ST_CERTS, &b, bad_prefix(reason));
    b_free(&b);
  }
  /* Long names and a long part Content-Type, and a duplicate field: the alias
   * part's headers are before, value, after. */
  const struct {
    const char *name;
    const char *before;
    const char *value;
    const char *after;
    const char *reason;
  } longs[] = {
      {"name of 128", "Content-Disposition: form-data; name=\"", long_name, "\"\r\n",
       "part 2: field name is 128 bytes"},
      {"filename of 256", "Content-Disposition: form-data; name=\"alias\"; filename=\"", long_file,
       "\"\r\n", "part 2: file name is 256 bytes"},
      {"Content-Type of 200", "Content-Disposition: form-data; name=\"alias\"\r\nContent-Type: ",
       long_type, "\r\n", "part 2: Content-Type is 200 bytes"},
      {"certificate twice", "Content-Disposition: form-data; name=\"", "certificate", "\"\r\n",
       "part 2: field 'certificate' was already given by part 1"},
  };
  for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
    bytes b = {0};
    mp_part(&b, &cert);
    b_fmt(&b, "--%s\r\n", BOUNDARY);
    b_str(&b, longs[i].before);
    b_str(&b, longs[i].value);
    b_str(&b, longs[i].after);
    b_str(&b, "\r\nparts\r\n");
    mp_part(&b, &ep);
    mp_close(&b);
    char name[64], reason[160];
    snprintf(name, sizeof(name), "parts: %s", longs[i].name);
    snprintf(reason, sizeof(reason), MALFORMED "%s", longs[i].reason);
    send_multipart(h, name, "POST", ST_CERTS, &b, bad_prefix(reason));
    b_free(&b);
  }
  free(long_type);
  free(long_name);
  free(long_file);
  /* Framing with bare LFs, junk after a boundary, the boundary inside content. */
  bytes b = {0};
  b_fmt(&b, "--%s\nContent-Disposition: form-data; name=\"alias\"\n\nparts\n--%s--\n", BOUNDARY,
        BOUNDARY);
  send_multipart(h, "parts: LF framing", "POST", ST_CERTS, &b, bad_prefix(MALFORMED));
  b_free(&b);
  mp_part(&b, &cert);
  b_fmt(&b, "--%sjunk\r\n", BOUNDARY);
  send_multipart(h, "parts: junk after a boundary", "POST", ST_CERTS, &b,
                 bad_prefix(MALFORMED "delimiter after part 1: boundary followed by other"));
  b_free(&b);
  b_fmt(&b, "--%s--\r\n", BOUNDARY);
  send_multipart(h, "parts: only the close delimiter", "POST", ST_CERTS, &b,
                 bad_prefix(MALFORMED "the only delimiter is the close delimiter"));
  b_free(&b);

  /* The bad seeds of fixtures/multipart: a Content-Type line, then the body. */
  const char *dir = test_fixture_path("multipart");
  struct dirent **names = NULL;
  int n = scandir(dir, &names, NULL, alphasort);
  assert_true(n > 0);
  size_t seeds = 0;
  for (int i = 0; i < n; i++) {
    const char *file = names[i]->d_name;
    const char *dash = strstr(file, "--");
    if (file[0] != '.' && dash && strncmp(file, "ok--", 4) != 0) {
      char path[BS_PATH_MAX];
      snprintf(path, sizeof(path), "%s/%s", dir, file);
      size_t len = 0;
      char *data = bs_slurp(path, &len);
      assert_non_null(data);
      char *nl = memchr(data, '\n', len);
      assert_non_null(nl);
      char type[300];
      snprintf(type, sizeof(type), "Content-Type: %.*s", (int)(nl - data), data);
      want w = strncmp(file, "not-multipart--", 15) == 0  ? bad(NOT_MP)
               : strncmp(file, "bad-boundary--", 14) == 0 ? bad(BAD_B)
                                                          : bad_prefix(MALFORMED);
      char name[300];
      snprintf(name, sizeof(name), "parts: seed %s", file);
      send_admin(h, name, "POST", ST_CERTS, nl + 1, len - (size_t)(nl + 1 - data), type, w);
      free(data);
      seeds++;
    }
    free(names[i]);
  }
  free(names);
  assert_true(seeds >= 20);
}

/* NUL, control bytes and invalid UTF-8 in alias and endpoint; long aliases. */
static void family_fields(hostile *h) {
  size_t url_len = strlen(h->url);
  for (int c = 0; c <= 0x7f; c++) {
    if (c >= 0x20 && c != 0x7f)
      continue;
    char name[64], alias[3] = {'a', (char)c, 'b'};
    snprintf(name, sizeof(name), "fields: alias with byte 0x%02x", c);
    send_fields(h, name, alias, 3, h->url, url_len, bad(BAD_ALIAS));
    bytes endpoint = {0};
    char byte = (char)c;
    b_str(&endpoint, h->url);
    b_add(&endpoint, &byte, 1);
    b_str(&endpoint, "/x");
    snprintf(name, sizeof(name), "fields: endpoint with byte 0x%02x", c);
    send_fields(h, name, "fine", 4, endpoint.data, endpoint.len, bad(BAD_EP));
    b_free(&endpoint);
  }
  static const struct {
    const char *name;
    const char *bytes;
  } utf8[] = {
      {"lone continuation 80", "\x80"},
      {"lone continuation bf", "\xbf"},
      {"overlong slash c0af", "\xc0\xaf"},
      {"overlong c1bf", "\xc1\xbf"},
      {"overlong e080af", "\xe0\x80\xaf"},
      {"overlong f08080af", "\xf0\x80\x80\xaf"},
      {"surrogate eda080", "\xed\xa0\x80"},
      {"surrogate edbfbf", "\xed\xbf\xbf"},
      {"past U+10FFFF f4908080", "\xf4\x90\x80\x80"},
      {"lead f5", "\xf5\x80\x80\x80"},
      {"five bytes f8", "\xf8\x88\x80\x80\x80"},
      {"fe", "\xfe"},
      {"ff", "\xff"},
      {"cut c3", "\xc3"},
      {"cut e282", "\xe2\x82"},
      {"cut f09f98", "\xf0\x9f\x98"},
      {"C1 c280", "\xc2\x80"},
      {"C1 c29f", "\xc2\x9f"},
      {"ascii then continuation", "ok\x80ok"},
  };
  for (size_t i = 0; i < sizeof(utf8) / sizeof(utf8[0]); i++) {
    char name[96], value[200];
    int n = snprintf(value, sizeof(value), "x%sy", utf8[i].bytes);
    snprintf(name, sizeof(name), "fields: alias UTF-8 %s", utf8[i].name);
    send_fields(h, name, value, (size_t)n, h->url, url_len, bad(BAD_ALIAS));
    n = snprintf(value, sizeof(value), "%s/%sy", h->url, utf8[i].bytes);
    snprintf(name, sizeof(name), "fields: endpoint UTF-8 %s", utf8[i].name);
    send_fields(h, name, "fine", 4, value, (size_t)n, bad(BAD_EP));
  }
  static const size_t alias_lengths[] = {256, 257, 300, 1024, 4096, 65536, 1 << 20};
  for (size_t i = 0; i < sizeof(alias_lengths) / sizeof(alias_lengths[0]); i++) {
    char *alias = repeat('L', alias_lengths[i]);
    char name[64];
    snprintf(name, sizeof(name), "fields: alias of %zu bytes", alias_lengths[i]);
    send_fields(h, name, alias, alias_lengths[i], h->url, url_len, bad(BAD_ALIAS));
    free(alias);
  }
  /* 128 two-byte characters: 256 bytes. */
  bytes wide = {0};
  for (int i = 0; i < 128; i++)
    b_str(&wide, "\xc3\xa9");
  send_fields(h, "fields: alias of 128 two-byte characters", wide.data, wide.len, h->url, url_len,
              bad(BAD_ALIAS));
  b_free(&wide);
  static const size_t endpoint_lengths[] = {2048, 5000, 100000};
  for (size_t i = 0; i < sizeof(endpoint_lengths) / sizeof(endpoint_lengths[0]); i++) {
    bytes endpoint = {0};
    b_str(&endpoint, "https://");
    b_rep(&endpoint, 'e', endpoint_lengths[i] - 8);
    char name[64];
    snprintf(name, sizeof(name), "fields: endpoint of %zu bytes", endpoint.len);
    send_fields(h, name, "fine", 4, endpoint.data, endpoint.len, bad(BAD_EP));
    b_free(&endpoint);
  }
  /* Empty or missing fields, and the baseline's own alias (taken). */
  send_fields(h, "fields: empty alias", "", 0, h->url, url_len, bad(NOT_EMPTY));
  send_fields(h, "fields: empty endpoint", "fine", 4, "", 0, bad(NOT_EMPTY));
  send_fields(h, "fields: no alias part", NULL, 0, h->url, url_len, bad(NOT_EMPTY));
  send_fields(h, "fields: no endpoint part", "fine", 4, NULL, 0, bad(NOT_EMPTY));
  send_fields(h, "fields: no alias nor endpoint", NULL, 0, NULL, 0, bad(NOT_EMPTY));
  send_fields(h, "fields: baseline alias taken", "baseline", 8, h->url, url_len,
              rest(409, "Resource Already Exists",
                   "The alias 'baseline' already exists in the trust store."));
}

/* Path segments and routes, sent byte for byte. */
static void family_paths(hostile *h) {
  char api[128];
  snprintf(api, sizeof(api), "%s/%s", ST_APIS, h->api_id);
  const struct {
    const char *method;
    const char *path;
    int under; /* 0: path as is; 1: after ST_CERTS; 2: after the baseline API's path */
    long status;
    const char *description;
  } cases[] = {
      {"GET", "/a%00b", 1, 400, PATH_ALIAS},
      {"GET", "/%00", 1, 400, PATH_ALIAS},
      {"GET", "/baseline%00", 1, 400, PATH_ALIAS},
      {"GET", "/baseline%00/content", 1, 400, PATH_ALIAS},
      {"GET", "/%ff", 1, 400, PATH_ALIAS},
      {"GET", "/%c0%80", 1, 400, PATH_ALIAS},
      {"GET", "/%ed%a0%80", 1, 400, PATH_ALIAS},
      {"GET", "/%c2%85", 1, 400, PATH_ALIAS},
      {"GET", "/a%0ab", 1, 400, PATH_ALIAS},
      {"GET", "/a%0d%0aX-Injected:%201", 1, 400, PATH_ALIAS},
      {"GET", "/a%7fb", 1, 400, PATH_ALIAS},
      {"GET", "//", 1, 400, PATH_ALIAS},
      {"GET", "//baseline", 1, 400, PATH_ALIAS},
      {"GET", "/a%2Fb", 1, 404, "Requested Certificate with Id 'a/b' not found"},
      {"GET", "/..%2F..%2Fapis", 1, 404, "Requested Certificate with Id '../../apis' not found"},
      {"GET", "/..", 1, 404, "Requested Certificate with Id '..' not found"},
      {"GET", "/.", 1, 404, "Requested Certificate with Id '.' not found"},
      {"GET", "/%zz", 1, 404, "Requested Certificate with Id '%zz' not found"},
      {"GET", "/a%", 1, 404, "Requested Certificate with Id 'a%' not found"},
      {"GET", "/%2e%2e", 1, 404, "Requested Certificate with Id '..' not found"},
      {"GET", "/../../apis", 1, 404, NO_RES},
      {"GET", "/baseline/", 1, 404, NO_RES},
      {"GET", "/baseline//content", 1, 404, NO_RES},
      {"GET", "/baseline/content/", 1, 404, NO_RES},
      {"GET", "/baseline/CONTENT", 1, 404, NO_RES},
      {"GET", "/baseline/content/../../x", 1, 404, NO_RES},
      {"GET", "%2Fbaseline", 1, 404, NO_RES},
      {"DELETE", "/..%2Fbaseline", 1, 404, "Requested Certificate with Id '../baseline' not found"},
      {"DELETE", "/baseline%00", 1, 400, PATH_ALIAS},
      {"DELETE", "/BASELINE", 1, 404, "Requested Certificate with Id 'BASELINE' not found"},
      {"DELETE", "/baseline%20", 1, 404, "Requested Certificate with Id 'baseline ' not found"},
      {"DELETE", "/%20baseline", 1, 404, "Requested Certificate with Id ' baseline' not found"},
      {"DELETE", "/baseline/", 1, 404, NO_RES},
      {"DELETE", "/baseline/x", 1, 404, NO_RES},
      {"DELETE", "/baseline/../baseline", 1, 404, NO_RES},
      {"DELETE", "/baseline/content", 1, 405, WRONG_VERB},
      {"DELETE", "/", 2, 404, NO_RES},
      {"DELETE", "%00", 2, 404, NO_RES},
      {"DELETE", "x", 2, 404, NO_RES},
      {"DELETE", "/../x", 2, 404, NO_RES},
      {"GET", "/x", 2, 404, NO_RES},
      {"GET", "/../../endpoint-certificates", 2, 404, NO_RES},
      {"GET", ST_APIS "/%00", 0, 404, NO_RES},
      {"GET", ST_APIS "/../endpoint-certificates", 0, 404, NO_RES},
      {"GET", ST_APIS "/0123456789012345678901234567890123456", 0, 404, NO_RES},
      {"GET", ST_APIS "/ffffffff-ffff-4fff-bfff-ffffffffffff", 0, 404,
       "Requested API with Id 'ffffffff-ffff-4fff-bfff-ffffffffffff' not found"},
      {"GET", ST_APIS "/%2e%2e", 0, 404, "Requested API with Id '..' not found"},
      {"GET", "/_sim/../api/am/publisher/v4/apis", 0, 404, "No such resource under /_sim/"},
      {"GET", "/_sim/status/", 0, 404, "No such resource under /_sim/"},
      {"GET", "/_sim/STATUS", 0, 404, "No such resource under /_sim/"},
      {"GET", "/_sim/%00", 0, 404, "No such resource under /_sim/"},
      {"GET", "/_sim//status", 0, 404, "No such resource under /_sim/"},
      {"GET", "/%5fsim/status", 0, 404, NO_RES},
      {"GET", "/api/am/publisher/v4/endpoint-certificates%2Fbaseline", 0, 404, NO_RES},
      {"GET", "/api/am/publisher/v4/../v4/apis", 0, 404, NO_RES},
      {"GET", "/./api/am/publisher/v4/apis", 0, 404, NO_RES},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char path[512], name[600];
    snprintf(path, sizeof(path), "%s%s",
             cases[i].under == 1   ? ST_CERTS
             : cases[i].under == 2 ? api
                                   : "",
             cases[i].path);
    snprintf(name, sizeof(name), "paths: %s %s", cases[i].method, path);
    want w = cases[i].status == 400   ? bad(cases[i].description)
             : cases[i].status == 405 ? rest(405, "Method Not Allowed", cases[i].description)
                                      : not_found(cases[i].description);
    send_path(h, name, cases[i].method, path, w);
  }
  /* Alias segments of growing length (60000 stays below the 64 KiB header limit). */
  static const size_t lengths[] = {255, 256, 1000, 4096, 20000, 60000};
  for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
    for (int encoded = 0; encoded < 2; encoded++) {
      bytes path = {0};
      b_str(&path, ST_CERTS "/");
      for (size_t k = 0; k < lengths[i]; k++)
        b_str(&path, encoded ? "%61" : "a");
      char name[96], missing[400];
      snprintf(name, sizeof(name), "paths: GET alias of %zu bytes%s", lengths[i],
               encoded ? " (percent-encoded)" : "");
      want w = bad(PATH_ALIAS);
      if (lengths[i] <= 255) {
        char *alias = repeat('a', lengths[i]);
        snprintf(missing, sizeof(missing), "Requested Certificate with Id '%s' not found", alias);
        free(alias);
        w = not_found(missing);
      }
      if (!encoded || lengths[i] * 3 < 60000)
        send_path(h, name, "GET", (const char *)path.data, w);
      b_free(&path);
    }
  }
}

/* List queries: filters of any length and bytes are reads that find nothing
 * or everything; bad pages are 400. */
static void family_queries(hostile *h) {
  char *long_alias = repeat('x', 300), *long_endpoint = repeat('y', 3000);
  char q_alias[400], q_endpoint[3100];
  snprintf(q_alias, sizeof(q_alias), "?alias=%s", long_alias);
  snprintf(q_endpoint, sizeof(q_endpoint), "?endpoint=%s", long_endpoint);
  free(long_alias);
  free(long_endpoint);
  const struct {
    const char *query;
    long status;
  } cases[] = {
      {"?alias=", 200},
      {"?endpoint=", 200},
      {"?alias=&endpoint=&offset=&limit=", 400},
      {q_alias, 200},
      {q_endpoint, 200},
      {"?alias=%00", 200},
      {"?alias=%ff%fe", 200},
      {"?alias=baseline%00x", 200},
      {"?alias='%20OR%201=1--", 200},
      {"?alias=%25", 200},
      {"?offset=-1", 400},
      {"?offset=99999999999999999999", 400},
      {"?offset=1e3", 400},
      {"?offset=0x10", 400},
      {"?offset=%00", 400},
      {"?limit=1001", 400},
      {"?limit=", 400},
      {"?limit=-0", 200},
      {"?limit=1&limit=x", 200}, /* the first of repeated parameters counts */
      {"?offset=1000000&limit=1000", 200},
      {"?offset=1000001", 400},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char path[3300], name[200];
    snprintf(path, sizeof(path), "%s%s", ST_CERTS, cases[i].query);
    snprintf(name, sizeof(name), "queries: %.150s", cases[i].query);
    want w = cases[i].status == 200
                 ? rest(200, NULL, NULL)
                 : bad("offset and limit must be non-negative integers (limit at most 1000)");
    send_path(h, name, "GET", path, w);
  }
}

/* Unknown routes, wrong methods. */
static void family_routes(hostile *h) {
  static const char *const unknown[] = {
      "/",
      "/api",
      "/api/am",
      "/api/am/publisher",
      "/api/am/publisher/v4",
      "/api/am/publisher/v4/",
      "/api/am/publisher/v3/apis",
      "/api/am/publisher/v4/endpoint-certificate",
      "/api/am/publisher/v4/endpoint-certificatesx",
      "/api/am/publisher/v4/apis-x",
      "/api/am/admin/v4/apis",
      "/API/AM/PUBLISHER/V4/APIS",
      "/favicon.ico",
      "/_sim",
      "/_simx/status",
      "/publisher/v4/apis",
      "/api/am/publisher/v4/endpoint-certificates/baseline/content/x",
      "/api/am/publisher/v4/endpoint-certificates/a/b/c",
  };
  static const char *const methods[] = {"GET", "POST", "DELETE", "PUT"};
  for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
    for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
      char name[160];
      snprintf(name, sizeof(name), "routes: %s %s", methods[m], unknown[i]);
      send_admin(h, name, methods[m], unknown[i], NULL, 0, NULL, not_found(NO_RES));
    }
  }
  char api[128];
  snprintf(api, sizeof(api), "%s/%s", ST_APIS, h->api_id);
  const struct {
    const char *method;
    const char *path;
    const char *description;
  } verbs[] = {
      {"PATCH", ST_CERTS, WRONG_VERB},
      {"DELETE", ST_CERTS, WRONG_VERB},
      {"PUT", ST_CERTS, WRONG_VERB},
      {"OPTIONS", ST_CERTS, WRONG_VERB},
      {"POST", ST_CERTS "/baseline", WRONG_VERB},
      {"PATCH", ST_CERTS "/baseline", WRONG_VERB},
      {"OPTIONS", ST_CERTS "/baseline", WRONG_VERB},
      {"POST", ST_CERTS "/baseline/content", WRONG_VERB},
      {"PUT", ST_CERTS "/baseline/content", WRONG_VERB},
      {"PUT", ST_APIS, WRONG_VERB},
      {"DELETE", ST_APIS, WRONG_VERB},
      {"PATCH", ST_APIS, WRONG_VERB},
      {"POST", api, WRONG_VERB},
      {"PUT", api, WRONG_VERB},
      {"PATCH", api, WRONG_VERB},
      {"POST", "/_sim/status", SIM_VERB},
      {"DELETE", "/_sim/status", SIM_VERB},
      {"PUT", "/_sim/time", SIM_VERB},
      {"GET", "/_sim/reload", SIM_VERB},
      {"DELETE", "/_sim/reload", SIM_VERB},
  };
  for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
    char name[200];
    snprintf(name, sizeof(name), "routes: %s %s", verbs[i].method, verbs[i].path);
    send_admin(h, name, verbs[i].method, verbs[i].path, NULL, 0, NULL,
               rest(405, "Method Not Allowed", verbs[i].description));
  }
  /* Methods libevent does not take at all. */
  static const char *const unsupported[] = {"TRACE", "FOO", "PROPFIND"};
  for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
    char name[64];
    snprintf(name, sizeof(name), "routes: %s", unsupported[i]);
    send_admin(h, name, unsupported[i], ST_CERTS, NULL, 0, NULL, status_only(501));
  }
}

/* API definitions that must all be refused (none may be created). */
static void family_json(hostile *h) {
  char def[512];
  snprintf(def, sizeof(def),
           "{\"name\":\"Hostile\",\"context\":\"/hostile\",\"version\":\"1.0\","
           "\"endpointConfig\":{\"production_endpoints\":{\"url\":\"%s\"}},"
           "\"securityScheme\":[\"oauth2\"],\"isDefaultVersion\":false}",
           h->url);
  size_t len = strlen(def);
  const char *json = "Content-Type: application/json";
  for (size_t k = 0; k < len; k += (k < 40 || k > len - 40) ? 1 : 3) {
    char name[64];
    snprintf(name, sizeof(name), "json: cut at %zu of %zu", k, len);
    send_admin(h, name, "POST", ST_APIS, def, k, json, bad_prefix(NOT_JSON));
  }
  /* Nesting. */
  static const size_t depths[] = {2049, 5000, 100000, 1000000};
  for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
    for (int objects = 0; objects < 2; objects++) {
      bytes b = {0};
      for (size_t d = 0; d < depths[i]; d++)
        b_str(&b, objects ? "{\"a\":" : "[");
      b_str(&b, "1");
      for (size_t d = 0; d < depths[i]; d++)
        b_str(&b, objects ? "}" : "]");
      char name[64];
      snprintf(name, sizeof(name), "json: %s nested %zu deep", objects ? "objects" : "arrays",
               depths[i]);
      send_admin(h, name, "POST", ST_APIS, b.data, b.len, json,
                 bad_prefix(NOT_JSON "maximum parsing depth"));
      b_free(&b);
    }
  }
  /* Duplicate keys at every level. */
  static const char *const duplicates[] = {
      "{\"name\":\"A\",\"name\":\"B\"}",
      "{\"name\":\"A\",\"context\":\"/a\",\"version\":\"1\",\"version\":\"2\"}",
      "{\"endpointConfig\":{\"production_endpoints\":{\"url\":\"a\",\"url\":\"b\"}}}",
      "{\"a\":[{\"b\":1,\"b\":2}]}",
      "{\"name\":\"A\",\"NAME\":\"B\",\"name\":\"C\"}",
  };
  for (size_t i = 0; i < sizeof(duplicates) / sizeof(duplicates[0]); i++) {
    char name[64];
    snprintf(name, sizeof(name), "json: duplicate keys %zu", i);
    send_admin(h, name, "POST", ST_APIS, duplicates[i], strlen(duplicates[i]), json,
               bad_prefix(NOT_JSON "duplicate object key"));
  }
  /* Numbers that do not fit, and other undecodable bodies. */
  char *digits = repeat('9', 10000);
  bytes huge = {0};
  b_str(&huge, "{\"name\":");
  b_str(&huge, digits);
  b_str(&huge, "}");
  free(digits);
  const struct {
    const char *name;
    const char *body;
    size_t len;
  } bodies[] = {
      {"2^64", "{\"name\":18446744073709551616}", 0},
      {"-2^64", "{\"name\":-18446744073709551616}", 0},
      {"1e999", "{\"name\":1e999}", 0},
      {"-1e999", "{\"name\":-1e999}", 0},
      {"10000 digits", (const char *)huge.data, huge.len},
      {"NaN", "{\"name\":NaN}", 0},
      {"Infinity", "{\"name\":Infinity}", 0},
      {"leading zero", "{\"name\":012}", 0},
      {"raw NUL in a string", "{\"name\":\"a\0b\"}", 14},
      {"raw tab in a string", "{\"name\":\"a\tb\"}", 0},
      {"escaped NUL", "{\"name\":\"a\\u0000b\"}", 0},
      {"lone surrogate escape", "{\"name\":\"\\ud800\"}", 0},
      {"invalid UTF-8", "{\"name\":\"\xc0\xaf\"}", 0},
      {"single quotes", "{'name':'A'}", 0},
      {"trailing comma", "{\"name\":\"A\",}", 0},
      {"comment", "{/* c */\"name\":\"A\"}", 0},
      {"two documents", "{}{}", 0},
      {"BOM", "\xef\xbb\xbf{}", 0},
      {"form data", "name=A&context=%2Fa&version=1", 0},
      {"XML", "<api><name>A</name></api>", 0},
      {"only spaces", "    ", 0},
  };
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
    char name[64];
    snprintf(name, sizeof(name), "json: %s", bodies[i].name);
    size_t n = bodies[i].len ? bodies[i].len : strlen(bodies[i].body);
    send_admin(h, name, "POST", ST_APIS, bodies[i].body, n, json, bad_prefix(NOT_JSON));
  }
  b_free(&huge);
  /* Wrong types, field by field, in an otherwise valid definition. */
  const struct {
    const char *field;
    const char *description;
  } fields[] = {
      {"name", NAME_RULE},
      {"context", CTX_RULE},
      {"version", VER_RULE},
      {"endpointConfig", EP_RULE},
      {"securityScheme", "securityScheme must be a list"},
      {"isDefaultVersion", "isDefaultVersion must be true or false"},
  };
  static const char *const values[] = {"1",  "-1", "1.5",     "true",      "false", "null",
                                       "{}", "[]", "[\"x\"]", "{\"a\":1}", "\"\""};
  for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
    for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
      const char *field = fields[f].field;
      const char *value = values[v];
      /* skip the combinations that are valid */
      if (strcmp(field, "securityScheme") == 0 && strcmp(value, "[]") == 0)
        continue;
      if (strcmp(field, "isDefaultVersion") == 0 &&
          (strcmp(value, "true") == 0 || strcmp(value, "false") == 0))
        continue;
      const char *description = fields[f].description;
      if (strcmp(field, "securityScheme") == 0 && strcmp(value, "[\"x\"]") == 0)
        description = "securityScheme[0]: not one of mutualssl, mutualssl_mandatory, oauth2, "
                      "basic_auth, api_key, oauth_basic_auth_api_key_mandatory, "
                      "mutualssl_optional, oauth_basic_auth_api_key_optional"; /* wso2-4 */
      json_t *d = json_loads(def, 0, NULL);
      assert_non_null(d);
      json_t *x = json_loads(value, JSON_DECODE_ANY, NULL);
      assert_non_null(x);
      json_object_set_new(d, field, x);
      char *text = json_dumps(d, JSON_COMPACT);
      json_decref(d);
      char name[96];
      snprintf(name, sizeof(name), "json: %s = %s", field, value);
      send_admin(h, name, "POST", ST_APIS, text, strlen(text), json, bad(description));
      free(text);
    }
  }
  /* A 5 MiB name: read whole (under 10 MiB), refused by its length. */
  bytes big = {0};
  b_str(&big, "{\"name\":\"");
  b_rep(&big, 'n', (size_t)5 << 20);
  b_str(&big, "\",\"context\":\"/big\",\"version\":\"1\"}");
  send_admin(h, "json: name of 5 MiB", "POST", ST_APIS, big.data, big.len, json, bad(NAME_RULE));
  b_free(&big);
  /* The baseline API again: a duplicate, not a second copy. */
  char *again = NULL;
  json_t *d = json_loads(def, 0, NULL);
  json_object_set_new(d, "name", json_string("Baseline"));
  json_object_set_new(d, "context", json_string("/baseline"));
  again = json_dumps(d, JSON_COMPACT);
  json_decref(d);
  send_admin(h, "json: the baseline again", "POST", ST_APIS, again, strlen(again), json,
             rest(409, "Conflict",
                  "A duplicate API already exists for Baseline-1.0 (or context /baseline with "
                  "that version)"));
  free(again);
}

/* Malformed HTTP, byte for byte. */
static void family_http(hostile *h) {
  /* libevent's own answers (an HTML 400) or framing.c's (a text 400) unless a
   * handler is reached. */
  const struct {
    const char *name;
    const char *request;
    want w;
  } cases[] = {
      {"garbage request line", "HELLO\r\n\r\n", status_only(400)},
      {"no version", "GET /_sim/status\r\n\r\n", status_only(400)},
      {"HTTP/2.0", "GET /_sim/status HTTP/2.0\r\nHost: x\r\nConnection: close\r\n\r\n",
       status_only(400)},
      {"HTTP/1.x", "GET /_sim/status HTTP/1.x\r\nHost: x\r\nConnection: close\r\n\r\n",
       status_only(400)},
      {"header without colon",
       "GET /_sim/status HTTP/1.1\r\nHost: x\r\nbroken header\r\n" AUTH_OK
       "\r\nConnection: close\r\n\r\n",
       status_only(400)},
      {"Content-Length not a number",
       "POST " ST_APIS " HTTP/1.1\r\nHost: x\r\n" AUTH_OK
       "\r\nContent-Length: abc\r\nConnection: close\r\n\r\n",
       status_only(400)},
      {"negative Content-Length",
       "POST " ST_APIS " HTTP/1.1\r\nHost: x\r\n" AUTH_OK
       "\r\nContent-Length: -1\r\nConnection: close\r\n\r\n",
       status_only(400)},
      {"Content-Length and chunked",
       "POST " ST_APIS " HTTP/1.1\r\nHost: x\r\n" AUTH_OK
       "\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n{"
       "\"a\":\r\n0\r\n\r\n",
       status_only(400)},
      /* framing.c: no whitespace or control character in a request-target
       * (RFC 9112 3; nginx refuses it too) */
      {"tab in the path",
       "GET " ST_CERTS "/a\tb HTTP/1.1\r\nHost: x\r\n" AUTH_OK "\r\nConnection: close\r\n\r\n",
       status_only(400)},
      {"HTTP/1.0 without Host", "GET " ST_CERTS "/missing HTTP/1.0\r\n" AUTH_OK "\r\n\r\n",
       not_found("Requested Certificate with Id 'missing' not found")},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    bytes req = {0};
    b_str(&req, cases[i].request);
    char name[96];
    snprintf(name, sizeof(name), "http: %s", cases[i].name);
    send_raw(h, name, &req, cases[i].w);
    b_free(&req);
  }
  /* Chunked bodies reach the handlers like any other. */
  bytes req = {0};
  b_str(&req,
        "POST " ST_APIS " HTTP/1.1\r\nHost: x\r\n" AUTH_OK
        "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n{\"a\":\r\n0\r\n\r\n");
  send_raw(h, "http: chunked JSON cut short", &req, bad_prefix(NOT_JSON));
  b_free(&req);
  b_str(&req, "POST " ST_CERTS " HTTP/1.1\r\nHost: x\r\n" AUTH_OK "\r\n" MP_TYPE
              "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\n--hi\r\n0\r\n\r\n");
  send_raw(h, "http: chunked multipart cut short", &req, bad_prefix(MALFORMED));
  b_free(&req);
  /* A 60000-byte header that means nothing. */
  char *pad = repeat('h', 60000);
  b_fmt(&req, "GET %s/missing HTTP/1.1\r\nHost: x\r\n" AUTH_OK "\r\nX-Pad: ", ST_CERTS);
  b_str(&req, pad);
  b_str(&req, "\r\nConnection: close\r\n\r\n");
  send_raw(h, "http: 60000-byte header", &req,
           not_found("Requested Certificate with Id 'missing' not found"));
  b_free(&req);
  free(pad);
}

/* Bad credentials on reads and writes. */
static void family_auth(hostile *h) {
  bytes upload = {0};
  upload_parts(h, &upload, "auth");
  mp_close(&upload);
  char def[400];
  snprintf(def, sizeof(def),
           "{\"name\":\"Auth\",\"context\":\"/auth\",\"version\":\"1\","
           "\"endpointConfig\":{\"production_endpoints\":{\"url\":\"%s\"}}}",
           h->url);
  char *long_b64 = repeat('A', 1028), long_header[1100];
  snprintf(long_header, sizeof(long_header), "Authorization: Basic %s", long_b64);
  free(long_b64);
  const struct {
    const char *name;
    const char *userpwd;
    const char *header;
  } creds[] = {
      {"none", NULL, NULL},
      {"wrong password", ST_USER ":x", NULL},
      {"wrong user", "nobody:" ST_PASSWORD, NULL},
      {"password + 1", ST_USER ":" ST_PASSWORD "1", NULL},
      {"Bearer", NULL, "Authorization: Bearer YWRtaW46czNjcmV0LWFkbWlu"},
      {"Basic without value", NULL, "Authorization: Basic"},
      {"invalid base64", NULL, "Authorization: Basic ****"},
      {"base64 of user only", NULL, "Authorization: Basic YWRtaW4="},
      {"base64 with NUL", NULL, "Authorization: Basic YWRtaW4AOnMzY3JldC1hZG1pbg=="},
      {"1028 base64 characters", NULL, long_header},
  };
  const struct {
    const char *method;
    const char *path;
    const void *body;
    size_t len;
    const char *type;
  } targets[] = {
      {"GET", ST_CERTS, NULL, 0, NULL},
      {"GET", "/_sim/status", NULL, 0, NULL},
      {"POST", "/_sim/reload", NULL, 0, NULL},
      {"POST", ST_CERTS, upload.data, upload.len, MP_TYPE},
      {"PUT", ST_CERTS "/baseline", upload.data, upload.len, MP_TYPE},
      {"DELETE", ST_CERTS "/baseline", NULL, 0, NULL},
      {"POST", ST_APIS, def, strlen(def), "Content-Type: application/json"},
  };
  for (size_t c = 0; c < sizeof(creds) / sizeof(creds[0]); c++) {
    for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
      const char *headers[3] = {targets[t].type, NULL, NULL};
      if (creds[c].header)
        headers[targets[t].type ? 1 : 0] = creds[c].header;
      char name[160];
      snprintf(name, sizeof(name), "auth: %s on %s %s", creds[c].name, targets[t].method,
               targets[t].path);
      send_curl(h, name, targets[t].method, targets[t].path, creds[c].userpwd, headers,
                targets[t].body, targets[t].len, rest(401, "Unauthenticated", UNAUTH));
    }
  }
  b_free(&upload);
}

/* Bodies over the 10 MiB REST limit. */
static void family_oversize(hostile *h) {
  size_t len = (size_t)11 << 20;
  char *body = repeat('z', len);
  send_admin(h, "oversize: POST certificate", "POST", ST_CERTS, body, len, MP_TYPE,
             status_only(413));
  send_admin(h, "oversize: PUT certificate", "PUT", ST_CERTS "/baseline", body, len, MP_TYPE,
             status_only(413));
  send_admin(h, "oversize: POST API", "POST", ST_APIS, body, len, "Content-Type: application/json",
             status_only(413));
  free(body);
}

/* ---- baseline and the test ------------------------------------------------------- */

typedef struct snapshot {
  char *certs;
  char *apis;
  char *content;
  size_t content_len;
  int64_t generation;
  int64_t api_count;
  int64_t admin_requests;
} snapshot;

static char *get_body(hostile *h, const char *path, size_t *len) {
  st_reply r;
  st_check(st_admin(&h->sim, "GET", path, NULL, &r));
  if (r.status != 200)
    fail_msg("GET %s: %ld %s", path, r.status, r.body);
  char *body = malloc(r.len + 1);
  assert_non_null(body);
  memcpy(body, r.body, r.len + 1);
  if (len)
    *len = r.len;
  st_reply_free(&r);
  return body;
}

static void take_snapshot(hostile *h, snapshot *s) {
  s->certs = get_body(h, ST_CERTS "?limit=1000", NULL);
  s->apis = get_body(h, ST_APIS, NULL);
  s->content = get_body(h, ST_CERTS "/baseline/content", &s->content_len);
  s->generation = st_status_i64(&h->sim, "sender.generation");
  s->api_count = st_status_i64(&h->sim, "apis");
  s->admin_requests = st_status_i64(&h->sim, "stats.admin_requests");
}

static void free_snapshot(snapshot *s) {
  free(s->certs);
  free(s->apis);
  free(s->content);
}

static void expect_routed(hostile *h) {
  bs_response res;
  st_check(st_call(&h->sim, "/baseline/1.0/menaka", &res));
  if (res.status != 500 || strcmp(res.body, FAULT_101500) != 0)
    fail_msg("the baseline API answers %ld: %s", res.status, res.body);
  bs_response_free(&res);
}

static void test_hostile_admin_requests(void **state) {
  (void)state;
  static hostile h;
  memset(&h, 0, sizeof(h));
  char dir[BS_PATH_MAX];
  bs_process *backend = sw_backend("hostile", "server", NULL, NULL);
  snprintf(h.url, sizeof(h.url), "https://localhost:%d", bs_port(backend, "hostile"));
  st_sim_opts opts = {.dir = bt_scratch(dir, "hostile")};
  st_check(st_sim_start(&h.sim, &opts));

  /* The baseline: one certificate, one API, live. */
  char root[BS_PATH_MAX];
  size_t root_len = 0;
  char *pem = bs_slurp(bt_scratch(root, "untrusted-root.pem"), &root_len);
  assert_non_null(pem);
  b_add(&h.base_pem, pem, root_len);
  free(pem);
  st_reply r;
  st_check(st_upload_cert(&h.sim, "baseline", h.url, root, &r));
  assert_int_equal(201, r.status);
  st_reply_free(&r);
  assert_int_equal(201, st_create_api(&h.sim, "Baseline", "/baseline", "1.0", h.url, h.api_id));
  st_check(st_admin(&h.sim, "POST", "/_sim/reload", NULL, &r));
  assert_int_equal(200, r.status);
  st_reply_free(&r);
  expect_routed(&h);
  snapshot before;
  take_snapshot(&h, &before);
  assert_true(before.generation >= 2);
  assert_int_equal(1, before.api_count);

  static const struct {
    const char *name;
    void (*run)(hostile *);
  } families[] = {
      {"corpus", family_corpus},   {"truncate", family_truncate}, {"ctype", family_ctype},
      {"parts", family_parts},     {"fields", family_fields},     {"paths", family_paths},
      {"queries", family_queries}, {"routes", family_routes},     {"json", family_json},
      {"http", family_http},       {"auth", family_auth},         {"oversize", family_oversize},
  };
  double t0 = gu_now_ms();
  for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
    size_t mark = h.sent;
    double t = gu_now_ms();
    families[i].run(&h);
    print_message("  %-9s %4zu requests in %6.2f s\n", families[i].name, h.sent - mark,
                  (gu_now_ms() - t) / 1000.0);
  }
  assert_true(h.corpus_files >= 80);
  double elapsed = gu_now_ms() - t0;
  health_check(&h);
  print_message("hostile: %zu requests (%zu corpus files; %zu meant to succeed and undone), "
                "%zu health checks, in %.2f s real time\n",
                h.sent, h.corpus_files, h.accepted, h.health, elapsed / 1000.0);
  for (size_t i = 0; i < h.failures && i < MAX_LOGGED; i++)
    print_error("%s\n", h.log[i]);
  if (h.failures)
    fail_msg("%zu of %zu requests got an unexpected answer (first ones above)", h.failures, h.sent);
  assert_true(h.sent >= 500);

  /* Nothing added, nothing lost, nothing reloaded; still routing, still running. */
  snapshot after;
  take_snapshot(&h, &after);
  assert_string_equal(before.certs, after.certs);
  assert_string_equal(before.apis, after.apis);
  assert_int_equal(before.content_len, after.content_len);
  assert_memory_equal(before.content, after.content, before.content_len);
  assert_int_equal(before.generation, after.generation);
  assert_int_equal(before.api_count, after.api_count);
  /* Every request but those libevent answers itself reached the admin handler. */
  assert_true(after.admin_requests - before.admin_requests >= (int64_t)(h.sent - h.by_libevent));
  free_snapshot(&before);
  free_snapshot(&after);
  expect_routed(&h);
  pid_t pid = h.sim.proc->pid;
  assert_int_equal(0, kill(pid, 0));
  int status = 0;
  assert_int_equal(0, waitpid(pid, &status, WNOHANG));
  st_check(st_sim_stop(&h.sim));
  b_free(&h.base_pem);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_hostile_admin_requests, bs_teardown),
  };
  return bt_run_curl_tests(tests, bt_setup_catalogue, NULL);
}
