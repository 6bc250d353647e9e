/* matrix.h - `gatecert matrix`: the conformance matrix of several runs
 * (feature x gateway), from the conformance.json each run wrote.
 *
 *   gatecert matrix [--out FILE] [--readme FILE] [--markdown FILE] RUN_DIR...
 *
 * Each RUN_DIR/conformance.json (or a conformance.json named directly) is one
 * column, titled by its implementation ("nginx", "haproxy"), with the profile
 * for the simulator ("sim (wso2)", "sim (sap)"). The rows are the features
 * (union over the runs, sorted). A cell says how the feature's cases went in
 * that run:
 *
 *   pass                          every case passed
 *   fail N/M                      N of the M cases failed or errored
 *   skip (cap, ...)               every case was skipped; the capabilities the
 *                                 skip reasons name
 *   partial P/M, skip K (cap...)  P passed, the K others were skipped
 *   n/a (rule, ...)               every case is not applicable to the
 *                                 product; the rules their reasons name
 *   <any of the above>, n/a K     K more cases are not applicable (M counts
 *                                 only the others)
 *   -                             the run had no case of the feature
 *
 * The command prints the table (aligned columns), writes FILE (default
 * reports/matrix.json) and matrix.html beside it (report_html.h: the cells,
 * each column linking to its run's index.html), and with --readme replaces the lines between
 * `<!-- matrix:begin -->` and `<!-- matrix:end -->` with the Markdown table
 * and one line saying which command made it and when (the markers and the
 * rest of the file are kept byte for byte). --markdown FILE writes the same
 * Markdown block alone. Every file is written to "<FILE>.tmp" and renamed.
 * The time stamped on the outputs is now, or SOURCE_DATE_EPOCH when set (for
 * reproducible output).
 *
 * matrix.json:
 *   { "generated": "2026-11-23T16:00:00Z", "command": "gatecert matrix ...",
 *     "implementations": [ { "column": "sim (wso2)", "name", "version",
 *                            "profile", "started", "source", "cases": N } ],
 *     "features": { FEATURE: { COLUMN: { "cell": "fail 1/3, skip 1 (x)",
 *                   "pass", "fail", "error", "skip", "skip_reasons": [],
 *                   "not_applicable", "not_applicable_rules": [] } } },
 *     "cases": { NAME: { "file", "features": [],
 *                        "outcomes": { COLUMN: "pass" | ... | "not_applicable"
 *                                      | null },
 *                        "messages": { COLUMN: "..." } (where it did not pass),
 *                        "differs": true } } }
 *
 * Exit: 0 written; 2 usage error or bad input (a missing or unreadable file,
 * garbage JSON, a conformance.json without the fields, README markers
 * missing): a specific message on stderr and nothing written; 3 a file could
 * not be written.
 *
 * The pieces are public so the tests and the gateway benchmark
 * (tests/bench_gateways.c) can use them: loading a conformance.json,
 * building the matrix, its three renderings, and the README splice. None of
 * them prints; errors come back with a reason in why.
 */
#ifndef GH_MATRIX_H
#define GH_MATRIX_H

#include <stddef.h>

#include "report.h"

/* In gh_matrix.case_outcomes: a case not applicable (beside the gh_outcome values). */
#define GH_MX_NOT_APPLICABLE (GH_SKIP + 1)

/* One case as conformance.json's "cases" lists it. */
typedef struct gh_mx_case {
  char *name;
  char *file; /* NULL when the report has none */
  char **features;
  size_t feature_count; /* at least 1 */
  gh_outcome outcome;
  int not_applicable; /* GH_SKIP only: the report said "not_applicable" */
  char *message;      /* NULL when none */
  double seconds;
  double fake_seconds;
  long applies;    /* 0 when the report has none */
  double apply_ms; /* real time the applies took */
  char **quirks;   /* "quirks": the reported bugs it turned on (NULL when none) */
  size_t quirk_count;
} gh_mx_case;

/* One conformance.json: one column of the matrix. */
typedef struct gh_mx_run {
  char *source;         /* the file read */
  char *implementation; /* "sim", "nginx", "haproxy", "exec:..." */
  char *version;        /* "" when the report has none */
  char *profile;        /* "" when the report has none */
  char *started;        /* "" when the report has none */
  gh_mx_case *cases;
  size_t count;
} gh_mx_run;

/* Reads path (a run directory, whose conformance.json is read, or the file
 * itself). 0, or -1 with why ("PATH: ...": cannot read, not JSON with line
 * and column, or which field is missing or of the wrong type) and *run
 * empty. */
int gh_mx_run_load(const char *path, gh_mx_run *run, char *why, size_t why_len);
void gh_mx_run_free(gh_mx_run *run);

/* The capability a skip reason names: the word after "capability" ("the
 * nginx driver lacks capability backend-mtls" -> "backend-mtls"), or the
 * reason itself when it names none ("no reason given" for NULL or ""). malloc'd;
 * NULL only when out of memory. */
char *gh_mx_skip_capability(const char *reason);

/* The rule a not-applicable reason names: the word after "rule " ("not
 * applicable to wso2-4 (rule backend.ssl-profile-per-host-port)" ->
 * "backend.ssl-profile-per-host-port"), or the reason itself when it names
 * none ("no reason given" for NULL or ""). malloc'd; NULL only when out of
 * memory. */
char *gh_mx_na_rule(const char *reason);

/* One cell: a feature's cases in one column. */
typedef struct gh_mx_cell {
  size_t pass, fail, error, skip, na; /* skip excludes the na cases */
  char **reasons;                     /* the distinct skip capabilities, sorted */
  size_t reason_count;
  char **rules; /* the distinct rules of the na cases, sorted */
  size_t rule_count;
  char *text; /* "pass", "fail 1/3", "skip (cap)", "partial 2/3, skip 1 (cap)", "n/a (rule)",
               * "pass, n/a 2", "-" */
} gh_mx_cell;

/* The matrix of runs[0..run_count): borrowed runs, which must outlive it. */
typedef struct gh_matrix {
  const gh_mx_run *runs;
  size_t run_count;
  char **titles;   /* one per run, unique */
  char **features; /* the rows: the union of the features, sorted */
  size_t feature_count;
  gh_mx_cell *cells; /* feature_count x run_count, row by row */
  char **cases;      /* the union of the case names, sorted */
  size_t case_count;
  int *case_outcomes;           /* case_count x run_count: a gh_outcome, GH_MX_NOT_APPLICABLE, or -1
                                 * when not run */
  const gh_mx_case **case_refs; /* case_count x run_count: the case in that run, or NULL */
} gh_matrix;

/* The column title of a run: "sim (wso2)" for the simulator, otherwise the
 * implementation. malloc'd, NULL when out of memory. */
char *gh_mx_title(const gh_mx_run *run);

/* Builds the matrix. 0, or -1 with why (out of memory, no runs). */
int gh_matrix_build(const gh_mx_run *runs, size_t run_count, gh_matrix *m, char *why,
                    size_t why_len);
void gh_matrix_free(gh_matrix *m);
/* The cell of feature row f, column r. */
const gh_mx_cell *gh_matrix_cell(const gh_matrix *m, size_t f, size_t r);

/* Renderings, malloc'd (NULL when out of memory). made_by is the command
 * line and when is the time stamp ("2026-11-23T16:00:00Z") they name. */
char *gh_matrix_table(const gh_matrix *m);
char *gh_matrix_markdown(const gh_matrix *m, const char *made_by, const char *when);
char *gh_matrix_json(const gh_matrix *m, const char *made_by, const char *when);

/* readme with the lines between the marker lines `<!-- matrix:begin -->` and
 * `<!-- matrix:end -->` replaced by block (which should end with a newline):
 * everything else, the markers included, is kept byte for byte. 0 and *out
 * (malloc'd), or -1 with why (a marker missing, repeated or out of order). */
int gh_readme_splice(const char *readme, size_t len, const char *block, char **out, size_t *out_len,
                     char *why, size_t why_len);

int gh_matrix_main(int argc, char **argv);

#endif
