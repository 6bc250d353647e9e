/* shard.h - `gatecert run --shard K/N`: which of the selected cases shard K of
 * N runs, so that N CI runners split one catalogue between them.
 *
 * The partition is a function of the case names alone (plus the timings file,
 * when given): it does not depend on the order of the cases, on -j, on the
 * machine or on the run, so N runners that select the same cases (same
 * catalogue, profile and selection options) and are given the same timings
 * file split them with every case in exactly one shard.
 *
 *   - Without timings, a case goes to shard 1 + (h mod N), h the first 8 bytes
 *     (big-endian) of the SHA-256 of its name (OpenSSL EVP). Adding a case
 *     to the catalogue moves no other case.
 *   - With timings (a previous run's conformance.json or junit.xml: each
 *     case's real seconds), the selected cases with a known time are packed
 *     greedily, longest first (ties by name), each into the shard with the
 *     least time so far (ties to the lowest K). The cases the timings do not
 *     know go by the hash, as without timings. Every shard must be given the
 *     same file: two runners packing from different timings could both run a
 *     case, or neither.
 *
 * Nothing here prints; errors come back with a reason in why.
 */
#ifndef GH_SHARD_H
#define GH_SHARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct gh_shard {
  unsigned index; /* K, 1..total */
  unsigned total; /* N, >= 1; 0: not sharded */
} gh_shard;

/* Parses "K/N" (decimal, 1 <= K <= N <= GH_SHARD_MAX). 0, or -1 with why
 * naming the text and the rule. */
#define GH_SHARD_MAX 1000
int gh_shard_parse(const char *text, gh_shard *out, char *why, size_t why_len);

/* Case timings: names sorted, with their real seconds. */
typedef struct gh_shard_timings {
  char **names;
  double *seconds;
  size_t count;
} gh_shard_timings;

/* Loads path, a conformance.json ("cases": name, seconds; read with matrix.h's
 * reader) or a junit.xml (every <testcase name time>, read with libxml2); a
 * directory means its conformance.json. A name listed twice keeps its first
 * time. 0, or -1 with why (unreadable, neither format, no case in it). */
int gh_shard_timings_load(const char *path, gh_shard_timings *t, char *why, size_t why_len);
void gh_shard_timings_free(gh_shard_timings *t);
/* The seconds timings give name, or -1 when it has none. */
double gh_shard_timings_get(const gh_shard_timings *t, const char *name);

/* The shard (1..total) of one name by the hash alone. */
unsigned gh_shard_by_hash(const char *name, unsigned total);

/* Assigns each of names[0..n) (unique) its shard 1..total into out[i], by the
 * rules above; timings may be NULL. 0, or -1 (out of memory) with why. */
int gh_shard_assign(const char *const *names, size_t n, unsigned total,
                    const gh_shard_timings *timings, unsigned *out, char *why, size_t why_len);

#endif
