/* fuzz.h - what a fuzz target in tests/fuzz/ gives replay.c besides
 * LLVMFuzzerTestOneInput: the tokens its deterministic mutations insert.
 */
#ifndef GATECERT_FUZZ_H
#define GATECERT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define GH_FUZZ_TOKEN_LEN 128 /* a token with its NUL */
#define GH_FUZZ_TOKEN_MAX 64  /* tokens per input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fills tokens with the strings worth inserting into mutations of this input
 * (the format's punctuation, and what the input itself declares, such as a
 * multipart boundary); returns how many, at most max. */
size_t gh_fuzz_tokens_for(const uint8_t *data, size_t size, char tokens[][GH_FUZZ_TOKEN_LEN],
                          size_t max);

/* gh_fuzz_tokens_for of a target whose tokens are a fixed NULL-terminated list. */
static inline size_t gh_fuzz_tokens_from_list(const char *const *list,
                                              char tokens[][GH_FUZZ_TOKEN_LEN], size_t max) {
  size_t k = 0;
  for (; k < max && list[k] != NULL; k++)
    snprintf(tokens[k], GH_FUZZ_TOKEN_LEN, "%s", list[k]);
  return k;
}

/* An invariant of a target: a broken one names the target, the condition and
 * the line, and aborts (libFuzzer keeps the input as a crash). */
#define GH_FUZZ_CHECK(target, cond)                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s: invariant broken: %s (line %d)\n", target, #cond, __LINE__);            \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

#endif
