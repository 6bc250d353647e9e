/* merge.h - `gatecert merge`: one report from the reports of the shards of a
 * run (`gatecert run --shard K/N` on N CI runners), identical in verdicts to
 * the report of a single run.
 *
 *   gatecert merge --out DIR SHARD_DIR...
 *   gatecert merge --compare A B
 *
 * Each SHARD_DIR holds a shard's junit.xml and conformance.json. The merge
 * writes DIR/conformance.json, DIR/junit.xml and DIR/index.html:
 *
 *   - every case once: a case in two shards is an error naming it and both
 *     directories; a shard whose junit.xml and conformance.json list
 *     different cases is an error naming the case;
 *   - every shard once: when the reports say "shard K of N", all of 1..N
 *     must be given, each once (else an error naming the missing or
 *     repeated ones); N and the profile and driver must agree. Reports that
 *     are not shards (no "shard") merge too, without that check, but a mix of
 *     both is refused;
 *   - conformance.json is written by report.c from the cases read back
 *     (jansson; matrix.h's reader for "cases", the "failed" and "errors"
 *     lists for the detail and the reproduce command), so its per-feature
 *     results and statistics are recomputed exactly as a run computes them;
 *     its cases are ordered by file then name; "seconds" is the longest
 *     shard's (the wall time of shards run side by side); "started" the
 *     earliest; "merged_shards": N;
 *   - junit.xml is merged with libxml2: each testcase element is copied as
 *     it is (its failure body with the gateway log tail included), grouped
 *     into one testsuite per feature in the order of the merged cases, with
 *     tests/failures/errors/skipped/time recomputed from the testcases, ids
 *     renumbered, the earliest timestamp, the properties of the first shard
 *     (its "shard" property replaced by "merged_shards"), and the suites'
 *     system-out joined in shard order. It stays valid against both JUnit
 *     schemas of fixtures/schemas.
 *   - index.html is report_html.c's page of the merged run (summary, every
 *     case with its verdict, message, detail and reproduce command); the
 *     timelines and gateway log tails are not in conformance.json, so they
 *     stay in each shard's own index.html.
 *
 * --compare A B (each a run directory or a conformance.json) checks that two
 * reports agree in verdicts: the same case set, the same outcome per case,
 * the same statistics (total, pass, fail, error, skip, not_applicable) and the
 * same result per feature; the differences are printed, one a line.
 *
 * Exit: 0 merged (compare: the same verdicts); 1 (compare) they differ; 2
 * usage error or bad input (unreadable or garbage reports, duplicate case,
 * missing shard), nothing written; 3 a report could not be written.
 */
#ifndef GH_MERGE_H
#define GH_MERGE_H

#include <stddef.h>

#include "gutil.h"

/* Merges the reports of dirs[0..n) into out_dir (made when missing). 0, or -1
 * with why (bad input: exit 2) or -2 with why (a report not written: exit 3).
 * *cases gets the number of cases merged (may be NULL). */
int gh_merge(const char *const *dirs, size_t n, const char *out_dir, size_t *cases, char *why,
             size_t why_len);

/* Compares the verdicts of two reports: 0 the same, 1 they differ (each
 * difference a line in diff), -1 with why (unreadable, garbage). */
int gh_merge_compare(const char *a, const char *b, gu_text *diff, char *why, size_t why_len);

int gh_merge_main(int argc, char **argv);

#endif
