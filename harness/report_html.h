/* report_html.h - reports/index.html: one self-contained page for a run.
 *
 * What failed, why, and when in fake time, without another file: a summary
 * by feature and profile (passed, failed, errors, skipped, not applicable),
 * then every case with its verdict, skip reason, scenario file, failure
 * (expected vs seen), the command that reruns it, and a timeline on the fake
 * clock drawn in inline SVG (its steps and calls coloured by outcome, its
 * reload clocks' ticks, the gateway's reload log lines: gh_case.events).
 * No network, no script, no external file: inline CSS and SVG only, so the
 * page works from a CI artifact and file://.
 *
 * The page is built as a libxml2 HTML tree and serialized by libxml2
 * (htmlDocDumpMemoryFormat), so all escaping is the library's; every text
 * passes through gh_report_clean with run->secrets first. Marks carry data-
 * attributes a test (or a script) can read: data-kind, data-at-ms, data-ok,
 * data-clock; the summary's cells data-count.
 *
 * The writer needs only a gh_run, so a run loaded back from files (merged
 * shards) can be written the same way.
 */
#ifndef GH_REPORT_HTML_H
#define GH_REPORT_HTML_H

#include <stddef.h>

#include "report.h"

/* The page as a string (malloc'd, *len its length), or NULL with why. */
char *gh_report_html_render(const gh_run *run, size_t *len, char *why, size_t why_len);
/* Writes the page to path (atomically, as the other reports): 0, or -1 with why. */
int gh_report_html_write(const gh_run *run, const char *path, char *why, size_t why_len);

/* The links gatecert matrix writes into matrix.html: one row per feature,
 * one column per gateway, a cell per (feature, gateway) with its result and a
 * link to that gateway's run report (href may be NULL). */
typedef struct gh_html_matrix_cell {
  const char *result; /* "success", "partial", "failure", "not_applicable", NULL: not run */
  const char *text;   /* shown in the cell ("3/4") */
} gh_html_matrix_cell;

typedef struct gh_html_matrix {
  const char *title;
  const char *const *features; /* rows */
  size_t feature_count;
  const char *const *gateways; /* columns */
  const char *const *hrefs;    /* per gateway: its index.html, or NULL */
  size_t gateway_count;
  const gh_html_matrix_cell *cells; /* feature_count x gateway_count, row-major */
} gh_html_matrix;

int gh_report_html_matrix_write(const gh_html_matrix *m, const char *path, char *why,
                                size_t why_len);

#endif
