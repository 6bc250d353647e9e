/* fuzz.h - what a fuzz target in tests/fuzz/ gives replay.c besides
 * LLVMFuzzerTestOneInput: the tokens its deterministic mutations insert.
 */
#ifndef GATECERT_FUZZ_H
#define GATECERT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#define GH_FUZZ_TOKEN_LEN 128 /* a token with its NUL */
#define GH_FUZZ_TOKEN_MAX 64  /* tokens per input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fills tokens with the strings worth inserting into mutations of this input
 * (the format's punctuation, and what the input itself declares, such as a
 * multipart boundary); returns how many, at most max. */
size_t gh_fuzz_tokens_for(const uint8_t *data, size_t size, char tokens[][GH_FUZZ_TOKEN_LEN],
                          size_t max);

#endif
