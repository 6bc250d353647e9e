/* report.h - the results of a scenario run and the reports made from them.
 *
 * The runner fills a gh_run with one gh_case per executed (or skipped) case;
 * report.c turns it into:
 *
 *   - console lines: one progress line per case as it ends, and a summary
 *     (colours when the stream is a TTY and NO_COLOR is unset);
 *   - reports/junit.xml, written with libxml2's xmlTextWriter: one testsuite
 *     per feature (a case with several features is listed once, under
 *     features[0]), one testcase per case (classname = "<profile>.<feature>",
 *     unique names), <failure> for non-conformance (expected vs actual),
 *     <error> for harness or driver faults, <skipped> with the reason (for a
 *     case not applicable to the product too: "not applicable to wso2-4
 *     (rule ...)"),
 *     <properties> (driver, profile, fake epoch, versions); the detail, the
 *     reproduce command and the gateway log tail (its last 64 KiB) in the
 *     <failure>/<error> body, every case's reproduce command and the other
 *     log tails in the suite's <system-out> (the strict Ant schema allows no
 *     <system-out> inside a testcase); valid against both JUnit schemas in
 *     fixtures/schemas (strict Ant and Jenkins);
 *   - reports/conformance.json: implementation, profile, per-feature result
 *     (success / partial / failure / not_applicable), statistics, skipped,
 *     not applicable and failed cases and the command that reproduces each,
 *     and "cases": every case with its file,
 *     features, outcome, message, real and fake seconds, and (when the driver
 *     applied configuration) "applies" and "apply_ms" - what `gatecert matrix`
 *     and the gateway benchmark read (matrix.h); a cluster case adds
 *     "nodes" and "calls" (each call's fake time, node and status), which
 *     junit.xml lists in the suite's <system-out> too.
 *
 * Every text that reaches a report passes through the same filter: each of
 * run->secrets is replaced by "[redacted]", and characters XML 1.0 forbids
 * (most C0 controls, lone surrogates, U+FFFE/U+FFFF, invalid UTF-8) are
 * replaced, so a hostile gateway log cannot break a report. Files are written
 * to a temporary name and renamed into place.
 */
#ifndef GH_REPORT_H
#define GH_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum gh_outcome {
  GH_PASS = 0, /* the gateway conformed */
  GH_FAIL,     /* the gateway did not conform: expected vs actual in detail */
  GH_ERROR,    /* the harness or the driver broke; says nothing about conformance */
  GH_SKIP,     /* not run: the reason names the capability the driver lacks, or
                * (gh_case.not_applicable) the rule by which the case does not apply */
} gh_outcome;

const char *gh_outcome_name(gh_outcome outcome); /* "pass", "fail", "error", "skip" */

/* What the reports call a skipped case that is not applicable to the
 * profile's product: its own outcome, which a complete run may have and still
 * be a success. */
#define GH_NOT_APPLICABLE "not_applicable"

/* One mark on a case's timeline (the HTML report): a step the runner executed,
 * a reload clock's tick, or a line of the gateway's log about a reload or a
 * trust change. at_ms: fake milliseconds since the case's epoch. */
typedef enum gh_event_kind {
  GH_EV_CALL = 0, /* a call step (ok: its expectations held) */
  GH_EV_CLOCK,    /* a clock step: the fake clock moved to at_ms */
  GH_EV_CHANGE,   /* an upload, replace, delete, API or subscription step */
  GH_EV_RELOAD,   /* a reload step (off schedule) */
  GH_EV_RESTART,  /* a gateway restart */
  GH_EV_TICK,     /* a reload clock ticked (clock: "sender", "listener", "truststore") */
  GH_EV_LOG,      /* a gateway log line about reloads or trust */
} gh_event_kind;

typedef struct gh_event {
  int64_t at_ms;
  gh_event_kind kind;
  int ok;      /* steps: 1 it went as expected, 0 the case failed or errored there */
  char *clock; /* GH_EV_TICK: the clock's name; else NULL */
  char *label; /* "step 3 (line 42) call GET api /x", the log line, the tick's source */
  int node;    /* a cluster case: the node that answered the call, whose clock ticked, or
                * that restarted; 0 otherwise */
  long status; /* GH_EV_CALL in a cluster case: the HTTP status it got (0: none) */
} gh_event;

const char *gh_event_kind_name(gh_event_kind kind); /* "call", "clock", "change", ... */

typedef struct gh_case {
  char *name;      /* unique in the run; matrix parameters encoded: "name[a=1,b=2]" */
  char *file;      /* scenario file, relative to the scenarios directory */
  char **features; /* at least one; features[0] is the JUnit testsuite */
  size_t feature_count;
  char *profile; /* "wso2", "sap" */
  gh_outcome outcome;
  int not_applicable; /* GH_SKIP only: the case does not apply to the product; message:
                       * "not applicable to <profile> (rule <id>)" */
  char *message;      /* one line: the failed expectation, error or skip reason */
  char *detail;       /* several lines: expected vs actual, the step, its line */
  char *log_tail;     /* the last lines of the gateway log (may be NULL) */
  char *reproduce;    /* a command that reruns this case alone */
  double seconds;     /* real time */
  int64_t fake_ms;    /* fake time the case covered */
  long applies;       /* real gateways: configuration applies (reloads) in the case */
  double apply_ms;    /* ... and the real time they took */
  gh_event *events;   /* its timeline, in the order recorded (may be NULL) */
  size_t event_count;
  int64_t start_ms; /* the gateway's start on the fake clock, since the epoch (0: unknown) */
  int nodes;        /* a cluster case: its gateway nodes (each call's node is in events);
                     * 0 otherwise */
} gh_case;

typedef struct gh_run {
  char *implementation; /* driver name: "sim", "nginx", "exec:<program>" */
  char *implementation_version;
  char *profile; /* the profile run ("wso2-4"), or "mixed" */
  char *product; /* the product and version it imitates (profile.h), or NULL */
  char *harness_version;
  char *fake_epoch; /* "2030-01-01T00:00:00Z" */
  char *started;    /* wall clock at start, "2026-11-23T11:50:00" (no zone: Ant schema) */
  char *hostname;
  gh_case *cases;
  size_t count;
  double seconds;             /* real time of the whole run */
  unsigned shard_index;       /* gatecert run --shard K/N: K (1..N); 0 when not a shard */
  unsigned shard_total;       /* ... N; a merged report (gatecert merge): N and index 0 */
  const char *const *secrets; /* NULL-terminated; redacted from every report */
} gh_run;

/* Appends a case: deep copies of its strings, each already passed through the
 * report filter with run->secrets (set them before the first append), so the
 * run never holds a secret and the console lines of its cases show none. The
 * pointer stays valid until the next append. NULL on allocation failure (the
 * run is unchanged). */
gh_case *gh_run_add(gh_run *run, const gh_case *c);
/* Frees the cases (what gh_run_add allocated) and empties the run. The run's
 * own strings and secrets belong to the caller and are not freed. */
void gh_run_free(gh_run *run);

/* Counts of each outcome; skip excludes the cases not applicable (na). */
typedef struct gh_tally {
  size_t pass, fail, error, skip, na;
} gh_tally;
gh_tally gh_run_tally(const gh_run *run);
/* A case's outcome as the reports name it: gh_outcome_name's, or
 * GH_NOT_APPLICABLE for a skip that is not applicable. */
const char *gh_case_outcome_name(const gh_case *c);

/* One progress line for a finished case: "PASS  name  (0.12 s)" ("N/A" for
 * a case not applicable), plus the message on a second line when it did not
 * pass, and for a failed or errored case its reproduce command on a line
 * "      reproduce: COMMAND". color: use ANSI colours.
 * Pass the case gh_run_add returned: its strings are redacted. This function
 * has no secrets; it only filters what a terminal would act on (ESC, C1). */
void gh_console_case(FILE *out, int color, const gh_case *c);
/* The summary: overall result (SUCCESS / PARTIAL / FAILURE / NOT APPLICABLE,
 * as in conformance.json), counts ("... 2 skipped, 4 not applicable"), real
 * time, fake time covered (sum over cases, "2h 10m 5s"), where the reports
 * are (reports_dir may be NULL). */
void gh_console_summary(FILE *out, int color, const gh_run *run, const char *reports_dir);
/* 1 when out is a TTY and NO_COLOR is unset or empty. */
int gh_console_color(FILE *out);

/* Writes the reports. 0, or -1 with why filled (a temporary "<path>.tmp" is
 * removed and an existing report at path is left as it was). */
int gh_junit_write(const gh_run *run, const char *path, char *why, size_t why_len);
int gh_conformance_write(const gh_run *run, const char *path, char *why, size_t why_len);
/* Writes data to "<path>.tmp", fsyncs it and renames it over path (how every
 * report is written; the HTML report too): 0, or -1 with why. */
int gh_report_write_atomic(const char *path, const char *data, size_t len, char *why,
                           size_t why_len);

/* The report filter (see the top of this file) as a function, for tests and
 * for anything else that shows gateway output: a new string (malloc'd; NULL
 * text gives "", NULL return only when out of memory). Every byte of every
 * occurrence of a non-empty secret is covered by "[redacted]" (overlapping or
 * adjacent occurrences become one). Each character XML 1.0 forbids, each byte
 * of invalid UTF-8, and DEL and the C1 controls (which terminals act on) are
 * replaced by U+FFFD; \t \n \r are kept. secrets may be NULL. */
char *gh_report_clean(const char *text, const char *const *secrets);

#endif
