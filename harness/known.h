/* known.h - the non-conformances expected of a gateway
 * (`gatecert run --known-failures FILE`).
 *
 * Like BoringSSL's per-stack test config, a file lists the cases a gateway is
 * known to fail, each with the reason:
 *
 *   # nginx 1.22: what it cannot do
 *   fail expired\ backend*            nginx checks expiry only at reload
 *   fail "per-api trust [[]*"         one trust store per location block
 *
 * One entry per line: the verb `fail`, a GLOB matched with fnmatch(3) (no
 * flags) against the case name, and the reason (the rest of the line, which
 * must not be empty). A GLOB containing spaces is written in double quotes
 * (it then ends at the next '"'); fnmatch's own rules apply inside, so a
 * literal '[', '*' or '?' in a case name ("name[a=1]") is written "[[]",
 * "[*]", "[?]" or with a backslash. '#' starts a comment line; blank lines
 * are ignored. A malformed line, an unknown verb, a missing reason or a GLOB
 * listed twice is an error naming FILE:LINE.
 *
 * Checking a finished run against the list:
 *   - a failed case whose name matches an entry is "known": it stays a
 *     failure in the reports (the gateway does not conform) but does not fail
 *     the check;
 *   - a failed case matching no entry is "unexpected", and so is every
 *     error (an error is a harness or driver fault, not a non-conformance,
 *     so a list cannot excuse it);
 *   - an entry that matched no failed case is "stale" (the gateway now
 *     conforms, or the case did not run): it fails the check, naming the
 *     GLOB and what it did match, so the list cannot rot.
 * The check passes when nothing is unexpected and nothing is stale. It
 * prints nothing: the result carries the counts and a printable summary.
 */
#ifndef GH_KNOWN_H
#define GH_KNOWN_H

#include <stddef.h>

#include "report.h"

typedef struct gh_known_entry {
  char *glob;
  char *reason;
  int line; /* in the file, from 1 */
} gh_known_entry;

typedef struct gh_known {
  char *source; /* the file name, for messages */
  gh_known_entry *entries;
  size_t count;
} gh_known;

/* Reads and parses path. 0, or -1 with why ("FILE:LINE: ...") and *k empty. */
int gh_known_load(const char *path, gh_known *k, char *why, size_t why_len);
/* Parses text; source names it in messages. Same results as gh_known_load. */
int gh_known_parse(const char *text, const char *source, gh_known *k, char *why, size_t why_len);
void gh_known_free(gh_known *k);

/* The first entry whose GLOB matches name, or NULL. */
const gh_known_entry *gh_known_match(const gh_known *k, const char *name);

typedef struct gh_known_result {
  size_t known;      /* failed cases an entry lists */
  size_t unexpected; /* failed cases no entry lists, and every error */
  size_t stale;      /* entries that matched no failed case */
  int ok;            /* 1 when unexpected == 0 and stale == 0 */
  char *summary;     /* printable lines (malloc'd), ending with a newline */
} gh_known_result;

/* Checks run against k (see the top). 0 and *res filled (free it with
 * gh_known_result_free), or -1 with why (out of memory). */
int gh_known_check(const gh_known *k, const gh_run *run, gh_known_result *res, char *why,
                   size_t why_len);
void gh_known_result_free(gh_known_result *res);

#endif
