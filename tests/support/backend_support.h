/* backend_support.h - test-side support for gatecert-backend processes.
 *
 * Every backend test (and bench_backend) uses this to:
 *
 *   - start `gatecert-backend` as a child (fork + exec, own process group,
 *     PR_SET_PDEATHSIG so it dies with the test, stdout on a pipe, stderr to a
 *     scratch file) and read its READY lines with a bounded real timeout into
 *     a name -> port table;
 *   - stop it by pid (SIGTERM to its group, bounded wait, then SIGKILL), from
 *     cmocka teardown so it also happens when a test fails, and prove that no
 *     child of ours is left: each child carries GATECERT_TEST_MARKER=<unique>
 *     in its environment and bs_orphans() scans /proc/<pid>/environ for it;
 *   - run a child under libfaketime reading a timestamp file that is rewritten
 *     atomically (the test process itself always runs in real time);
 *   - be a client: libcurl (fresh connection, no session cache, bounded) and a
 *     raw OpenSSL client where curl hides what the server sent (chain order,
 *     TLS version);
 *   - read the JSON-lines reports the backend writes, waiting (bounded) for an
 *     event that is written after the client already saw the failure;
 *   - give the benchmarks their scratch directory, catalogue and figures
 *     (median, percentiles).
 *
 * No function here uses cmocka: failures return -1 (or NULL) and leave a
 * one-line reason in bs_error(), so the bench links this file too. Tests wrap
 * calls in bs_check(), which turns a failure into fail_msg().
 */
#ifndef GATECERT_BACKEND_SUPPORT_H
#define GATECERT_BACKEND_SUPPORT_H

#include <stddef.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "gcert.h"
#include "gutil.h"

#define BS_MAX_ENDPOINTS    32 /* READY lines of one process (the catalogue has 22) */
#define BS_MAX_PROCESSES    16 /* backends of ours alive at one time */
#define BS_MAX_ARGS         40
#define BS_NAME_MAX         64
#define BS_PATH_MAX         1024
#define BS_READY_TIMEOUT_MS 5000

/* The reason for the last failure of a bs_ call (never empty after one). */
const char *bs_error(void);

/* Used in test files only (expands to cmocka's fail_msg, which does not
 * return; abort() says so to the analysers, who cannot see cmocka.h). */
#define bs_check(expr)                                                                             \
  do {                                                                                             \
    if (!(expr)) {                                                                                 \
      fail_msg("%s: %s", #expr, bs_error());                                                       \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* Milliseconds of the real clock: util's gu_now_ms (the test never runs under
 * faketime). */

/* ---- processes ----------------------------------------------------------- */

typedef struct bs_endpoint {
  char name[BS_NAME_MAX];
  int port;
} bs_endpoint;

typedef struct bs_process {
  int in_use;
  pid_t pid; /* also its process group id; 0 once reaped */
  char marker[96];
  char stderr_path[BS_PATH_MAX];
  int faketime; /* runs with libfaketime preloaded */
  int out_fd;   /* read end of its stdout, open until stop */
  bs_endpoint endpoints[BS_MAX_ENDPOINTS];
  size_t count;
  char more[16384]; /* stdout after READY-ALL, read by bs_read_more */
  size_t more_len;
  int wait_status; /* waitpid status once reaped */
  int single_ready;
} bs_process;

typedef struct bs_start_opts {
  const char *const *args;   /* arguments after argv[0], NULL-terminated */
  const char *scratch_dir;   /* where the stderr file goes */
  const char *faketime_file; /* non-NULL: preload libfaketime reading this file */
  int ready_timeout_ms;      /* 0: BS_READY_TIMEOUT_MS */
  const char *bin;           /* NULL: GATECERT_BACKEND_BIN */
  int single_ready;          /* one line "READY <name> key=127.0.0.1:port ..." is all:
                              * endpoints are named by key (gatecert-sim) */
} bs_start_opts;

/* Starts a backend and waits for READY-ALL. NULL on failure: the child is
 * reaped and bs_error() holds the reason and the child's stderr. */
bs_process *bs_start(const bs_start_opts *opts);

/* Runs a backend that must fail to start: 0 with its exit code and stderr
 * (truncated to stderr_len) when it exited before READY-ALL; -1 when it got
 * ready (it is then stopped), did not exit in time, ended by a signal, or
 * could not be executed at all. */
int bs_start_fails(const bs_start_opts *opts, int *exit_code, char *stderr_text, size_t stderr_len);

/* Port of the READY line named `name`, or -1. */
int bs_port(const bs_process *p, const char *name);

/* Reads further stdout into p->more until quiet_ms pass without data, EOF, or
 * max_ms in all. Returns the number of bytes now in p->more. */
size_t bs_read_more(bs_process *p, int quiet_ms, int max_ms);

/* Stops p with `sig` to its group, waits up to 3 s, then SIGKILLs. Returns 0
 * when it exited with status 0 on the signal, -1 otherwise (the slot is
 * released either way; p->wait_status says how it ended). Removes libfaketime's
 * /dev/shm files when a preloaded child did not exit cleanly. */
int bs_stop_signal(bs_process *p, int sig);
int bs_stop(bs_process *p); /* SIGTERM */

/* cmocka teardown: stops every process still running (0 only if each exited
 * cleanly), then fails if bs_orphans() finds any marked process. */
int bs_teardown(void **state);

/* The marker prefix of this test process ("gatecert-test-<pid>-"). */
const char *bs_marker_prefix(void);
/* Number of live processes whose environment holds GATECERT_TEST_MARKER
 * starting with prefix (NULL: bs_marker_prefix()); the pids found are in
 * bs_error(). Zombies hold no environment and do not count. */
int bs_orphans(const char *prefix);

/* 1 when a TCP connect to 127.0.0.1:port is refused, 0 when it connects. */
int bs_port_refused(int port);

/* ---- fake time ----------------------------------------------------------- */

/* Writes "@<when>" (e.g. "2030-01-01 00:00:00") to path atomically. */
int bs_faketime_set(const char *path, const char *when);

/* ---- files --------------------------------------------------------------- */

/* dir/name into out (size BS_PATH_MAX). */
const char *bs_join(char *out, const char *dir, const char *name);
/* PEM of certs, in the order given (0644). */
int bs_save_certs(const char *path, X509 *const *certs, size_t count);
/* PEM private key (0600). */
int bs_save_key(const char *path, EVP_PKEY *key);
/* Every catalogue row to dir: <row>.pem (the certificate alone), <row>.key
 * and <row>.chain.pem (the row, then its issuers, without the root). */
int bs_save_catalogue(const gcert_catalogue *cat, const char *dir);
/* The certs catalogue (gcert_catalogue_make, EC P-256) dated from when,
 * saved into dir by bs_save_catalogue. */
int bs_make_catalogue(time_t when, const char *dir);
/* A benchmark's scratch directory into dir: GATECERT_TMP (made, with its
 * parent, as CTest names it) or else a fresh mkdtemp of template
 * ("/tmp/name.XXXXXX"). 0, or -1 with errno. */
int bs_bench_dir(char dir[BS_PATH_MAX], const char *template_path);
/* ---- benchmark figures ---------------------------------------------------- */

/* Sorts n samples ascending. */
void bs_sort(double *v, size_t n);
/* Sorts v, then its median (the mean of the two middle samples when n is
 * even; 0 when n is 0). */
double bs_median(double *v, size_t n);
/* Nearest-rank percentile p (0..100) of n sorted samples (0 when n is 0). */
double bs_percentile(const double *sorted, size_t n, double p);

/* Whole file, NUL-terminated (malloc'd), or NULL. */
char *bs_slurp(const char *path, size_t *len);

/* ---- libcurl client ------------------------------------------------------- */

typedef struct bs_request {
  int port;
  const char *host;   /* NULL: "localhost" (resolved to 127.0.0.1) */
  const char *path;   /* NULL: "/" */
  const char *method; /* NULL: GET */
  const char *body;   /* request body (POST and the like) */
  const char *cainfo; /* CA file to trust */
  int insecure;       /* do not verify the server at all */
  int plain;          /* http://, not https:// */
  const char *cert;   /* client certificate (PEM) */
  const char *key;
  long tls_min;               /* CURL_SSLVERSION_TLSv1_x or 0 */
  long tls_max;               /* CURL_SSLVERSION_MAX_TLSv1_x or 0 */
  const char *const *headers; /* "Name: value", NULL-terminated */
  long timeout_ms;            /* 0: 5000 */
  long connect_timeout_ms;    /* 0: curl's default within timeout_ms */
} bs_request;

typedef struct bs_response {
  CURLcode code;
  long status;
  long verify_result; /* CURLINFO_SSL_VERIFYRESULT: an X509_V_ERR code */
  char error[CURL_ERROR_SIZE];
  char *body; /* NUL-terminated, never NULL */
  size_t body_len;
  char *headers;        /* the raw response header lines, never NULL */
  double elapsed_ms;    /* curl_easy_perform, measured around it */
  double handshake_ms;  /* CURLINFO_APPCONNECT_TIME: TCP + TLS done */
  double first_byte_ms; /* CURLINFO_STARTTRANSFER_TIME: first response byte */
} bs_response;

/* One request on a fresh connection. Returns res->code. */
CURLcode bs_http(const bs_request *req, bs_response *res);
void bs_response_free(bs_response *res);
/* How many times the response carried header name (case-insensitive); out
 * gets the last value, trimmed ("" when none). */
int bs_header(const bs_response *res, const char *name, char *out, size_t out_len);
/* The bytes of a libcurl-collected text so far, kept even when it failed (a
 * body cut at its limit), or an empty string (malloc'd); t is emptied. */
char *bs_text_body(gu_text *t, size_t *len);

/* ---- raw OpenSSL client ---------------------------------------------------- */

#define BS_PROBE_CHAIN_MAX 8

typedef struct bs_probe_opts {
  int port;
  const char *sni;     /* NULL: send no SNI */
  int min_version;     /* TLS1_2_VERSION, ... or 0 */
  int max_version;     /* or 0 */
  const char *cert;    /* client certificate chain (PEM) */
  const char *key;     /* its key */
  const char *request; /* bytes to send after the handshake, or NULL */
  int timeout_ms;      /* 0: 3000 */
} bs_probe_opts;

typedef struct bs_probe {
  int handshake_ok;
  char version[16]; /* SSL_get_version after the handshake */
  size_t chain_count;
  char chain_sha256[BS_PROBE_CHAIN_MAX][65]; /* as the server sent them */
  char chain_subject[BS_PROBE_CHAIN_MAX][256];
  char error[256]; /* OpenSSL's reason when the handshake or I/O failed */
  char *response;  /* what came back for opts->request (NUL-terminated) */
  size_t response_len;
  int read_error; /* reading the response ended with an error, not a close */
} bs_probe;

/* Returns 0 when the TCP connection was made (whatever TLS did), -1 if not. */
int bs_tls_probe(const bs_probe_opts *opts, bs_probe *out);
void bs_probe_free(bs_probe *probe);

/* Lower-case hex SHA-256 of a certificate's DER (out: 65 bytes). */
void bs_cert_sha256(X509 *cert, char out[65]);

/* ---- reports --------------------------------------------------------------- */

typedef struct bs_events {
  json_t **items;
  size_t count;
} bs_events;

/* Every line of a report file parsed as JSON. -1 if the file is missing, a
 * line is not a JSON object, or the last line is not finished. */
int bs_report_load(const char *path, bs_events *out);
/* Polls (bounded) until the report has at least min_count events of kind
 * (NULL: any kind), then loads it into out. */
int bs_report_wait(const char *path, const char *kind, size_t min_count, int timeout_ms,
                   bs_events *out);
void bs_events_free(bs_events *ev);
size_t bs_events_count(const bs_events *ev, const char *kind);
/* Last event of kind (NULL: any), or NULL. Borrowed. */
json_t *bs_events_last(const bs_events *ev, const char *kind);
/* The event with this seq, or NULL. Borrowed. */
json_t *bs_events_seq(const bs_events *ev, json_int_t seq);

/* Value at a dotted path ("client_cert.sha256"), or NULL. Borrowed. */
json_t *bs_json_at(json_t *root, const char *path);
/* String at a dotted path, or NULL when absent or not a string. */
const char *bs_json_str(json_t *root, const char *path);

#endif
