/* sim_fixture.h - test-side support for gatecert-sim processes.
 *
 * Starts the simulator through backend_support.c (own process group, READY
 * line, stop by pid, optional libfaketime clock), and talks to it: the admin
 * API with libcurl (basic credentials, JSON bodies, multipart uploads built
 * by curl's mime API exactly as `curl -F` sends them), the data plane through
 * bs_http on a fresh connection, and the fake clock by rewriting the case's
 * timestamp file and confirming the simulator's own /_sim/time.
 *
 * Like backend_support.c, nothing here uses cmocka: failures return -1 with
 * the reason in bs_error(), so a benchmark can link it.
 */
#ifndef GATECERT_SIM_FIXTURE_H
#define GATECERT_SIM_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "backend_support.h"

#define ST_USER     "admin"
#define ST_PASSWORD "s3cret-admin"
#define ST_CERTS    "/api/am/publisher/v4/endpoint-certificates"
#define ST_APIS     "/api/am/publisher/v4/apis"

typedef struct st_sim_opts {
  const char *dir;          /* scratch directory of this simulator (created) */
  const char *profile;      /* NULL: wso2 */
  long reload_s;            /* 0: the default (no flag) */
  const char *config_json;  /* written to dir/config.json and passed with --config */
  const char *clock;        /* NULL: real time; else the fake start, "2030-01-01 00:00:00" */
  const char *const *extra; /* more arguments, NULL-terminated */
  int ready_timeout_ms;     /* 0: bs_start's default (a start loading a large store takes longer) */
} st_sim_opts;

typedef struct st_sim {
  bs_process *proc;
  int https;
  int admin;
  char dir[BS_PATH_MAX];
  char clock_file[BS_PATH_MAX]; /* "" when running in real time */
  st_sim_opts opts;             /* as started (strings borrowed from the caller) */
} st_sim;

/* Starts gatecert-sim (state in dir/state, so a restart with the same dir
 * finds its store). 0, or -1 with bs_error(). */
int st_sim_start(st_sim *sim, const st_sim_opts *opts);
/* SIGTERM and wait: 0 when it exited 0. */
int st_sim_stop(st_sim *sim);
/* SIGKILL (no clean-up inside the simulator). */
int st_sim_kill(st_sim *sim);
/* Starts again with the same options and state directory (stopping it
 * first, with SIGTERM, if it is still running). */
int st_sim_restart(st_sim *sim);

typedef struct st_reply {
  long status; /* 0 when the request did not complete */
  char *body;  /* NUL-terminated */
  size_t len;
  char *headers; /* raw response headers */
  json_t *json;  /* body parsed as JSON, or NULL */
  char error[256];
} st_reply;

void st_reply_free(st_reply *reply);
/* The value of a response header (case-insensitive name), malloc'd, or NULL. */
char *st_header(const st_reply *reply, const char *name);

/* An admin call with the right credentials; json_body may be NULL. */
int st_admin(st_sim *sim, const char *method, const char *path, const char *json_body,
             st_reply *out);
/* The same with explicit credentials ("user:password") or NULL for none, and
 * raw extra headers ("Name: value", NULL-terminated). */
int st_admin_raw(st_sim *sim, const char *method, const char *path, const char *userpwd,
                 const char *const *headers, const void *body, size_t body_len, st_reply *out);

typedef struct st_part {
  const char *name;
  const void *data; /* NULL: an empty part */
  size_t len;
  const char *filename; /* non-NULL: sent as a file part */
} st_part;

/* A multipart/form-data call built by curl's mime API. */
int st_multipart(st_sim *sim, const char *method, const char *path, const st_part *parts,
                 size_t count, st_reply *out);
/* The endpoint certificates collection of the simulator's profile (rule
 * rest-paths: wso2-2.6 serves Publisher v0.14's /certificates, the others
 * ST_CERTS). */
const char *st_certs_path(const st_sim *sim);
/* POST endpoint-certificates (the profile's path) with the file's bytes,
 * alias and endpoint. */
int st_upload_cert(st_sim *sim, const char *alias, const char *endpoint, const char *cert_path,
                   st_reply *out);
/* POST a client certificate of an API: parts (certificate, alias, tier, ...)
 * to /apis/{api_id}/client-certificates, or under wso2-2.6 to v0.14's
 * /clientCertificates with api_id as the form's apiId. */
int st_upload_client_cert(st_sim *sim, const char *api_id, const st_part *parts, size_t count,
                          st_reply *out);
/* POST /apis; *id (64 bytes) gets the id. Returns the status (or -1). */
long st_create_api(st_sim *sim, const char *name, const char *context, const char *version,
                   const char *url, char id[64]);

/* Starts one gatecert-backend serving spec ("name:cert=...,key=...") with its
 * report in report_dir; NULL with st_error() on failure. */
bs_process *st_backend(const char *report_dir, const char *spec);

/* GET https://localhost:<https>/path on a fresh connection (server not verified). */
int st_call(st_sim *sim, const char *path, bs_response *res);

/* GET /_sim/status into *out (new reference). */
int st_status(st_sim *sim, json_t **out);
/* An integer at a dotted path of /_sim/status, or INT64_MIN. */
int64_t st_status_i64(st_sim *sim, const char *path);

/* Moves the fake clock to ms since the epoch (whole seconds: libfaketime's
 * file format), then waits (bounded, real time) until the simulator reports a
 * time at or after it. -1 when the simulator runs in real time or never
 * catches up. */
int st_clock_set(st_sim *sim, int64_t ms);

/* The sap profiles' OData service (simulator/README.md). */
#define ST_ODATA "/apiportal/api/1.0/Management.svc"
/* A bearer token from POST /oauth/token with the admin credentials. */
int st_sap_token(st_sim *sim, char token[128]);
/* A call to ST_ODATA + path with a fresh bearer token, JSON in and out. */
int st_odata(st_sim *sim, const char *method, const char *path, const char *json_body,
             st_reply *out);

/* The reason for the last failure of an st_ call. */
const char *st_error(void);

/* Used in test files only: fail_msg with st_error() (see bs_check). */
#define st_check(expr)                                                                             \
  do {                                                                                             \
    if ((expr) != 0) {                                                                             \
      fail_msg("%s: %s", #expr, st_error());                                                       \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* 1 when the simulator's log (its stderr) holds needle. */
int st_log_contains(st_sim *sim, const char *needle);

#endif
