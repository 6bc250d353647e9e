/* run_internal.h - what the files of `gatecert run` share (not a public
 * header: run.h is).
 *
 * The runner is split by concern:
 *   run_cli.c     the command line: options, selecting and ordering the
 *                 cases, the driver, the reports, the exit status (gh_run_main);
 *   run_pool.c    running the chosen cases one after the other or in forked
 *                 workers (-j), recording each outcome in the run;
 *   run_case.c    one case: work directory, PKI, fake clock, backends, the
 *                 gateway, its APIs, then its steps, then stopping it all;
 *   run_client.c  a call step's HTTP client (libcurl) and what it sends
 *                 beyond the scenario's headers (token, certificate header);
 *   run_expect.c  checking a call's or an admin step's expectations;
 *   run_caps.c    the capabilities a case needs (its needs list and what its
 *                 steps use), against a driver's.
 * Functions shared between them are prefixed gh_runner_; everything else is
 * static in its file. Errors go back as -1 and a why buffer (gu_fail).
 */
#ifndef GH_RUN_INTERNAL_H
#define GH_RUN_INTERNAL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <curl/curl.h>
#include <jansson.h>

#include "driver.h"
#include "pki.h"
#include "report.h"
#include "scenario.h"
#include "supervisor.h"

#define MAX_GLOBS     32
#define PATH_LEN      1024
#define LOG_TAIL      8192
#define CALL_TIMEOUT  10000L
#define WITHIN_PASSES 3
#define MAX_NAMED     16                         /* named sessions, named connections per case */
#define BODY_LIMIT    ((size_t)16 * 1024 * 1024) /* most bytes of a response's body or headers */

/* Set by SIGINT/SIGTERM (run_cli.c): the one piece of process state a
 * signal may touch. The running case stops before its next step and cleans
 * up, the pool starts no more cases, the reports are written, and the run
 * exits 130. */
extern volatile sig_atomic_t gh_runner_interrupted;

typedef struct options {
  const char *scenarios;
  const char *reports;
  char work[PATH_LEN]; /* <reports>/work as an absolute path (drivers write it into configs) */
  const char *driver;
  const char *profile;
  const char *feature;
  const char *filters[MAX_GLOBS];
  size_t filter_count;
  const char *cases[MAX_GLOBS]; /* --case: exact names */
  size_t case_count;
  const char *skips[MAX_GLOBS];
  size_t skip_count;
  int list;
  int keep;
  int jobs;
  long repeat;                     /* rounds, for --repeat-until-fail (default 1) */
  unsigned long long shuffle_seed; /* 0: file order */
  const char *sim_args[MAX_GLOBS + 1];
  size_t sim_arg_count;
  const char *sim_bin;
  const char *backend_bin;
  const char *faketime_lib;
  const char *gateway_bin;    /* nginx or haproxy program (--gateway-bin) */
  const char *known_failures; /* --known-failures FILE */

  unsigned shard_index, shard_total; /* --shard K/N (0/0: the whole selection) */
  const char *shard_timings;         /* --shard-timings FILE */
} options;

/* A reload clock on the timeline: the gateway's (or the scenario's) schedule
 * of one node from one start of it, until it stopped or was restarted. */
typedef struct run_clock {
  gh_clock_schedule s; /* s.name points at name */
  char name[48];       /* "sender", or "node 2 sender" in a cluster */
  int node;            /* 0: not a cluster */
  int64_t until_ms;    /* INT64_MAX: still running at the end */
  int reported;        /* 1: the gateway reported it; 0: the scenario's schedule */
} run_clock;

/* Everything one case holds while it runs. */
typedef struct case_run {
  const options *opt;
  const gh_case_spec *spec;
  const char *profile;
  gh_driver *driver;
  gh_pki pki;
  char dir[PATH_LEN];
  char clock[PATH_LEN];
  char clock_dir[PATH_LEN]; /* the clock's own readable directory (run_case.c) */
  char reports[PATH_LEN];   /* backend reports */
  gh_proc backends;
  int backends_running;
  int ports[64]; /* per backend, in spec order */
  int64_t epoch_ms;
  int64_t fake_now; /* the last time written to the clock file */
  FILE *transcript; /* <dir>/transcript.log: every step, its outcome, its time */
  /* call session: / connection: names and what they hold */
  struct {
    const char *name;
    CURLSH *share; /* the TLS session cache */
  } sessions[MAX_NAMED];
  size_t session_count;
  struct {
    const char *name;
    CURL *handle; /* its connection cache holds the kept-alive connection */
  } connections[MAX_NAMED];
  size_t connection_count;
  /* outcome */
  gh_outcome outcome;
  char message[1024];
  char detail[8192];
  /* a cluster (gateway.nodes): the driver addresses one node at a time */
  int nodes;                   /* the case's nodes (1: a single gateway) */
  int started_nodes;           /* started so far, in order */
  int node;                    /* the node the driver addresses now (1..started_nodes) */
  unsigned long balancer_turn; /* the round-robin balancer's counter: node = turn % nodes + 1 */
  /* the timeline (run_timeline.c) */
  gh_event *events;
  size_t event_count;
  run_clock clocks[GH_MAX_CLOCKS * GH_MAX_NODES];
  int clock_count;
} case_run;

typedef struct call_result {
  CURLcode code;
  long status;
  int resumed;           /* the TLS session was resumed (-1: unknown) */
  int connection_reused; /* the call went over a kept-alive connection */
  int via_lb;            /* it went through the load balancer in front */
  int node;              /* a cluster: the node that answered (0: not a cluster) */
  char *body;
  size_t len;
  char *headers;
  char error[CURL_ERROR_SIZE];
} call_result;

/* What a call sends beyond the scenario's headers: the token and the certificate header. */
typedef struct call_extras {
  char *token;       /* bearer token, or NULL (cleansed when freed) */
  char *header_cert; /* certificate header value, or NULL */
} call_extras;

/* What executing one case produced, before it is recorded in the run. */
typedef struct case_outcome {
  gh_outcome outcome;
  int not_applicable; /* GH_SKIP: not applicable to the profile's product */
  char message[1024];
  char detail[8192];
  char *log_tail; /* malloc'd or NULL */
  double seconds;
  int64_t fake_ms;
  long applies; /* real gateways' configuration applies, and their real time */
  double apply_ms;
  gh_event *events; /* the timeline (malloc'd, gh_runner_events_free), or NULL */
  size_t event_count;
  int64_t start_ms; /* the gateway's start since the epoch (0: unknown) */
  int nodes;        /* a cluster case: its nodes; 0 otherwise */
} case_outcome;

/* ---- run_case.c ---------------------------------------------------------------------- */

/* snprintf for paths: -1 (and an empty string) when the result does not fit. */
int gh_runner_pathf(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* CLOCK_MONOTONIC in milliseconds. */
double gh_runner_now_ms(void);
/* mkdir -p (mode 0700); 0 or -1 with errno. */
int gh_runner_make_dirs(const char *path);
/* The case's outcome, when it is still GH_PASS (the first problem is the one
 * reported); detail NULL: the message. */
void gh_runner_set_outcome(case_run *r, gh_outcome outcome, const char *detail, const char *fmt,
                           ...) __attribute__((format(printf, 4, 5)));
/* "step 3 (line 42) call": how messages and the transcript name a step. */
void gh_runner_step_label(const gh_step *s, size_t index, char *out, size_t out_len);
/* Request events in a backend's report, and the last one (new reference). */
size_t gh_runner_backend_requests(case_run *r, const char *backend, json_t **last);
/* Runs one case with driver (or reports it not applicable or skipped) into out. */
void gh_runner_execute_case(const options *opt, const gh_case_spec *c, const char *profile,
                            gh_driver *driver, case_outcome *out);

/* ---- run_timeline.c ------------------------------------------------------------------ */

/* Appends a mark at the case's fake now (label: printf). */
void gh_runner_event(case_run *r, gh_event_kind kind, int ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The step just run (index, its rc from run_step) as a mark. */
void gh_runner_event_step(case_run *r, const gh_step *s, size_t index, int rc);
/* After the gateway (in a cluster: the node r->node) started or restarted:
 * its reload clocks (the driver's report, else the scenario); a restarted
 * node's earlier clocks end at the fake now. */
void gh_runner_timeline_start(case_run *r);
/* One call of a cluster case as a mark: the node that answered and its status. */
void gh_runner_event_call(case_run *r, const gh_step *s, size_t index, const call_result *c,
                          int ok);
/* At the case's end: the ticks up to the fake now and the gateway's reload
 * log lines (from log_tail) join the marks, which move into out. */
void gh_runner_timeline_finish(case_run *r, const char *log_tail, case_outcome *out);
void gh_runner_events_free(gh_event *events, size_t count);

/* ---- run_client.c -------------------------------------------------------------------- */

/* Makes a call step's request to the gateway (through its load balancer with
 * via: lb) into out, which the caller frees with gh_runner_call_free. */
void gh_runner_call(case_run *r, const gh_step *s, const gh_api_spec *api, const call_extras *x,
                    call_result *out);
void gh_runner_call_free(call_result *c);
/* The token and certificate header a call step asks for: 0,
 * GH_DRIVER_UNSUPPORTED or -1, with why. */
int gh_runner_extras_make(case_run *r, const gh_step *s, call_extras *x, char *why, size_t why_len);
void gh_runner_extras_free(call_extras *x);
/* Closes the case's named connections and TLS session caches. */
void gh_runner_named_free(case_run *r);

/* ---- run_expect.c -------------------------------------------------------------------- */

/* Checks a call's expectations (before: the backend's request count before
 * the call). 0 when all hold; else -1 with what and detail. */
int gh_runner_check_call(case_run *r, const gh_expect *e, const gh_api_spec *api,
                         const call_result *c, size_t before, char *what, size_t what_len,
                         char *detail, size_t detail_len);
/* Checks an admin answer. 0 when the expectations hold, 1 after a failure
 * (the case's outcome set). */
int gh_runner_check_admin(case_run *r, const gh_step *s, size_t index, const gh_admin_result *res);
/* An admin step whose expectation was not written must still succeed. */
int gh_runner_admin_default_ok(const gh_step *s, const char *profile, const gh_admin_result *res);
/* The first 300 bytes of a body for a message ("..." when cut). */
void gh_runner_excerpt(const char *body, char *out, size_t out_len);

/* ---- run_caps.c ---------------------------------------------------------------------- */

/* Every capability the case needs under profile (its expectations for that
 * profile; NULL: for any profile): its needs list (known names) and what it
 * uses. */
unsigned gh_runner_needed_caps(const gh_case_spec *c, const char *profile);
/* The first capability the case needs under profile that caps lacks (an
 * unknown needs name counts as lacking), or NULL. */
const char *gh_runner_missing_cap(const gh_case_spec *c, const char *profile, unsigned caps);

/* ---- run_pool.c ---------------------------------------------------------------------- */

/* Runs the chosen cases (in opt->jobs workers when more than 1), each
 * recorded in run and printed to stdout as it ends. */
void gh_runner_run_all(const options *opt, const gh_case_spec *const *chosen, size_t n,
                       gh_driver *driver, gh_run *run, int color);

#endif
