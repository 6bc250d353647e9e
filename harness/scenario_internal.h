/* scenario_internal.h - what the scenario loader's files share (the public
 * header is scenario.h).
 *
 * scenario.c builds cases section by section from the tree yaml_reader.c
 * read; scenario_values.c holds what every section uses: the loader's error
 * (gh_sc_report and the fail macros), counted memory for cases (gh_sc_take),
 * ${param} substitution, and reading a node as a typed value (string, word,
 * duration, integer, boolean, list, map, a declared name, a reference to a
 * pki, backend or API, a list of strings) with the message that says what
 * was expected. Everything here is prefixed gh_sc_.
 */
#ifndef GH_SCENARIO_INTERNAL_H
#define GH_SCENARIO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "scenario.h"
#include "yaml_reader.h"

#define MAX_OUTPUT_BYTES ((size_t)64 * 1024 * 1024)
#define ALLOC_OVERHEAD   16 /* what one malloc is assumed to cost beyond its size */
#define MS_PER_S         INT64_C(1000)
#define MS_PER_DAY       (INT64_C(86400) * MS_PER_S)

/* The words YAML 1.1 reads as true and false (NULL-terminated). */
extern const char *const gh_sc_bool_true[];
extern const char *const gh_sc_bool_false[];

/* ---- the loader ---------------------------------------------------------- */

typedef struct loader {
  const char *path;
  gh_load_error *err;
  const gh_ynode *root; /* the file's tree (yaml_reader.h) */
  /* expanding */
  const gh_ynode *params; /* the matrix params, or NULL */
  const gh_ynode *row;    /* the row being built, or NULL */
  size_t row_number;      /* 1-based */
  size_t output_bytes;    /* counted against MAX_OUTPUT_BYTES */
  /* building */
  gh_case_spec *c;
  int64_t clock_ms;              /* where advance/advance_to have moved the clock since the start */
  const char *first_application; /* of the first subscribe step built so far (token: expired) */
} loader;

/* report() or report_at(), then -1: as macros, so that static analysis (which
 * does not follow variadic calls) knows every `return fail(...)` fails. */
#define fail(L, at, ...)              (gh_sc_report((L), (at), __VA_ARGS__), -1)
#define fail_at(L, line, column, ...) (gh_sc_report_at((L), (line), (column), __VA_ARGS__), -1)

typedef enum list_kind {
  LIST_TEXT = 0, /* any non-empty string */
  LIST_NAME,     /* a valid_name, each once */
  LIST_WORD,     /* one of words, each once */
  LIST_PKI,      /* a pki name */
} list_kind;

/* Index of word in a NULL-terminated list, or -1. */
int gh_sc_word_index(const char *const *words, const char *word);
/* "a, b, c" into buf (truncated with "..."). */
const char *gh_sc_join_words(const char *const *words, char *buf, size_t size);
/* Fills the error at node at (0:0 when NULL). A message about a scalar whose
 * text came from the matrix names the row. */
__attribute__((format(printf, 3, 4))) void gh_sc_report(loader *L, const gh_ynode *at,
                                                        const char *fmt, ...);
__attribute__((format(printf, 4, 5))) void gh_sc_report_at(loader *L, int line, int column,
                                                           const char *fmt, ...);
/* A duration for a message: "90s", "250ms". */
const char *gh_sc_duration_text(int64_t ms, char *buf, size_t size);
/* calloc(count, size) counted against MAX_OUTPUT_BYTES; NULL with the error
 * at node at. */
void *gh_sc_take(loader *L, const gh_ynode *at, size_t count, size_t size);
char *gh_sc_take_string(loader *L, const gh_ynode *at, const char *s, size_t len);
/* The text of scalar n after substitution, as a counted allocation. */
int gh_sc_substitute(loader *L, const gh_ynode *n, char **out);
/* The substituted text of a non-null scalar; what and expected word the error. */
int gh_sc_text_of(loader *L, const gh_ynode *n, const char *what, const char *expected, char **out);
/* A string; empty only when allow_empty. */
int gh_sc_get_text(loader *L, const gh_ynode *n, const char *what, int allow_empty, char **out);
int gh_sc_get_string(loader *L, const gh_ynode *n, const char *what, char **out);
/* A string without control characters or spaces (paths, contexts) when
 * no_space, or without control characters only. */
int gh_sc_get_clean_text(loader *L, const gh_ynode *n, const char *what, int no_space,
                         int allow_empty, char **out);
int gh_sc_get_clean_string(loader *L, const gh_ynode *n, const char *what, int no_space,
                           char **out);
/* One of words: its index in *index and, when out is not NULL, the string. */
int gh_sc_get_word(loader *L, const gh_ynode *n, const char *what, const char *const *words,
                   int *index, char **out);
/* A duration in [min_ms, max_ms]; range words the bound in the error. */
int gh_sc_get_duration(loader *L, const gh_ynode *n, const char *what, int64_t min_ms,
                       int64_t max_ms, const char *range, int64_t *out);
/* A decimal integer in [lo, hi]. */
int gh_sc_get_integer(loader *L, const gh_ynode *n, const char *what, long lo, long hi, long *out);
int gh_sc_get_bool(loader *L, const gh_ynode *n, const char *what, int *out);
int gh_sc_get_list(loader *L, const gh_ynode *n, const char *what, size_t min);
int gh_sc_get_map(loader *L, const gh_ynode *n, const char *what);
/* Every key of map is in allowed. */
int gh_sc_check_keys(loader *L, const gh_ynode *map, const char *section,
                     const char *const *allowed);
int gh_sc_require(loader *L, const gh_ynode *map, const char *key, const char *section,
                  const gh_ynode **out);
int gh_sc_check_name(loader *L, const gh_ynode *n, const char *what, const char *s);
/* The key of a declaration (pki, backends, apis), as an owned string. */
int gh_sc_declared_name(loader *L, const gh_ynode *key, const char *section, char **out);
/* "root, inter" into buf: the names of count entries of stride bytes whose
 * first member is their name. */
const char *gh_sc_declared_list(const void *entries, size_t count, size_t stride, char *buf,
                                size_t size);
const gh_pki_spec *gh_sc_find_pki(const gh_case_spec *c, const char *name);
const gh_backend_spec *gh_sc_find_backend(const gh_case_spec *c, const char *name);
const gh_api_spec *gh_sc_find_api(const gh_case_spec *c, const char *name);
/* A pki name (or "none" when allow_none). */
int gh_sc_get_pki_ref(loader *L, const gh_ynode *n, const char *what, int allow_none, char **out);
int gh_sc_get_backend_ref(loader *L, const gh_ynode *n, const char *what, char **out);
int gh_sc_get_api_ref(loader *L, const gh_ynode *n, const char *what, char **out);
/* A list of strings (or one string when allow_scalar) of at least min. */
int gh_sc_get_strings(loader *L, const gh_ynode *n, const char *what, list_kind kind,
                      const char *const *words, int allow_scalar, size_t min, char ***out,
                      size_t *count);

#endif
