/* scenario_values.c - reading the scenario tree's nodes as typed values, for
 * the section builders of scenario.c (scenario_internal.h).
 *
 * Every scalar value is read through gh_sc_substitute, which replaces
 * ${param} with the current matrix row's value ($${ is a literal ${) and
 * counts the result against MAX_OUTPUT_BYTES like every allocation made for
 * a case (gh_sc_take). A getter checks the node's kind and converts its text
 * (a string without control characters, one of a list of words, a duration,
 * an integer in a range, a boolean, a declared name, a reference to what is
 * already built); on a mistake it fills the load's error at the node, with a
 * message saying what was expected and what was there (quoted, the matrix row
 * named when the text came from it), and returns -1.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_internal.h"

const char *const gh_sc_bool_true[] = {"true", "True", "TRUE", "yes", "Yes",
                                       "YES",  "on",   "On",   "ON",  NULL};
const char *const gh_sc_bool_false[] = {"false", "False", "FALSE", "no",  "No",
                                        "NO",    "off",   "Off",   "OFF", NULL};

/* Index of word in a NULL-terminated list, or -1. */
int gh_sc_word_index(const char *const *words, const char *word) {
  for (int i = 0; words[i] != NULL; i++)
    if (strcmp(words[i], word) == 0)
      return i;
  return -1;
}

/* "a, b, c" into buf (truncated with "..."). */
const char *gh_sc_join_words(const char *const *words, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; words[i] != NULL; i++) {
    int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", words[i]);
    if (n < 0 || (size_t)n >= size - used) {
      if (size > 4)
        memcpy(buf + size - 4, "...", 4);
      break;
    }
    used += (size_t)n;
  }
  return buf;
}

/* ---- messages ------------------------------------------------------------- */

__attribute__((format(printf, 4, 0))) static void vreport(loader *L, int line, int column,
                                                          const char *fmt, va_list ap) {
  gh_load_error *e = L->err;
  e->line = line;
  e->column = column;
  vsnprintf(e->message, sizeof(e->message), fmt, ap);
}

/* Fills the error at node at (0:0 when NULL). A message about a scalar whose
 * text came from the matrix names the row. */
__attribute__((format(printf, 3, 4))) void gh_sc_report(loader *L, const gh_ynode *at,
                                                        const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(L, at ? at->line : 0, at ? at->column : 0, fmt, ap);
  va_end(ap);
  if (at != NULL && at->has_param && L->row != NULL) {
    size_t used = strlen(L->err->message);
    snprintf(L->err->message + used, sizeof(L->err->message) - used, " (matrix row %zu)",
             L->row_number);
  }
}

__attribute__((format(printf, 4, 5))) void gh_sc_report_at(loader *L, int line, int column,
                                                           const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(L, line, column, fmt, ap);
  va_end(ap);
}

/* A duration for a message: "90s", "250ms". */
const char *gh_sc_duration_text(int64_t ms, char *buf, size_t size) {
  if (ms % MS_PER_S == 0)
    snprintf(buf, size, "%llds", (long long)(ms / MS_PER_S));
  else
    snprintf(buf, size, "%lldms", (long long)ms);
  return buf;
}

/* ---- memory for cases, counted -------------------------------------------- */

/* calloc(count, size) counted against MAX_OUTPUT_BYTES; NULL with the error
 * at node at. */
void *gh_sc_take(loader *L, const gh_ynode *at, size_t count, size_t size) {
  if (count == 0)
    count = 1;
  if (size == 0)
    size = 1;
  size_t left = MAX_OUTPUT_BYTES - L->output_bytes;
  if (count > left / size || count * size + ALLOC_OVERHEAD > left) {
    gh_sc_report(L, at,
                 "the scenario expands to more than %zu MiB (a matrix too large for its file?)",
                 MAX_OUTPUT_BYTES >> 20);
    return NULL;
  }
  void *p = calloc(count, size);
  if (p == NULL) {
    gh_sc_report(L, at, "out of memory");
    return NULL;
  }
  L->output_bytes += count * size + ALLOC_OVERHEAD;
  return p;
}

char *gh_sc_take_string(loader *L, const gh_ynode *at, const char *s, size_t len) {
  char *out = gh_sc_take(L, at, len + 1, 1);
  if (out != NULL && len > 0)
    memcpy(out, s, len);
  return out;
}

/* ---- values --------------------------------------------------------------- */

/* The matrix value of parameter name (len bytes), or NULL. */
static const gh_ynode *param_value(const loader *L, const char *name, size_t len) {
  if (L->params == NULL || L->row == NULL)
    return NULL;
  for (size_t i = 0; i < L->params->kid_count; i++) {
    const gh_ynode *p = L->params->kids[i];
    if (p->len == len && memcmp(p->text, name, len) == 0)
      return L->row->kids[i];
  }
  return NULL;
}

/* Writes the text of scalar n with ${param} replaced into dst (when not NULL)
 * and its length into *len. The first pass (dst NULL) does every check. */
static int expand(loader *L, const gh_ynode *n, char *dst, size_t *len) {
  const char *t = n->text;
  size_t o = 0;
  size_t i = 0;
  while (i < n->len) {
    const char *piece = t + i;
    size_t piece_len = 1;
    size_t advance = 1;
    if (t[i] == '$' && t[i + 1] == '$' && t[i + 2] == '{') {
      piece = "${";
      piece_len = 2;
      advance = 3;
    } else if (t[i] == '$' && t[i + 1] == '{') {
      const char *name = t + i + 2;
      const char *close = memchr(name, '}', n->len - i - 2);
      gh_yaml_qbuf q;
      if (close == NULL)
        return fail(L, n, "unterminated ${ in %s (write $${ for a literal ${)",
                    gh_yaml_quote_len(&q, n->text, n->len));
      size_t name_len = (size_t)(close - name);
      const gh_ynode *value = param_value(L, name, name_len);
      if (value == NULL) {
        char shown[128]; /* ${name}, escaped like a quoted value */
        const char *quoted = gh_yaml_quote_len(&q, name, name_len);
        snprintf(shown, sizeof(shown), "${%.*s}", (int)strlen(quoted) - 2, quoted + 1);
        if (L->params == NULL)
          return fail(L, n,
                      "unknown parameter %s: this scenario has no matrix (write $${ for a "
                      "literal ${)",
                      shown);
        char params[200];
        size_t used = 0;
        params[0] = '\0';
        for (size_t k = 0; k < L->params->kid_count && used < sizeof(params); k++) {
          int w = snprintf(params + used, sizeof(params) - used, "%s%s", k ? ", " : "",
                           L->params->kids[k]->text);
          used += w > 0 ? (size_t)w : 0;
        }
        return fail(L, n, "unknown parameter %s; the matrix params are: %s", shown, params);
      }
      piece = value->text;
      piece_len = value->len;
      advance = name_len + 3;
    }
    if (dst != NULL)
      memcpy(dst + o, piece, piece_len);
    o += piece_len;
    i += advance;
    if (o > MAX_OUTPUT_BYTES)
      return fail(L, n, "the value expands to more than %zu MiB", MAX_OUTPUT_BYTES >> 20);
  }
  *len = o;
  return 0;
}

/* The text of scalar n after substitution, as a counted allocation. */
int gh_sc_substitute(loader *L, const gh_ynode *n, char **out) {
  size_t len = 0;
  if (expand(L, n, NULL, &len))
    return -1;
  char *s = gh_sc_take(L, n, len + 1, 1);
  if (s == NULL)
    return -1;
  expand(L, n, s, &len);
  s[len] = '\0';
  *out = s;
  return 0;
}

/* The substituted text of a non-null scalar; what and expected word the error. */
int gh_sc_text_of(loader *L, const gh_ynode *n, const char *what, const char *expected,
                  char **out) {
  *out = NULL;
  gh_yaml_qbuf q;
  if (n->type != GH_Y_SCALAR || n->is_null)
    return fail(L, n, "%s: expected %s, got %s", what, expected, gh_yaml_describe(&q, n));
  return gh_sc_substitute(L, n, out);
}

/* A string; empty only when allow_empty. */
int gh_sc_get_text(loader *L, const gh_ynode *n, const char *what, int allow_empty, char **out) {
  if (gh_sc_text_of(L, n, what, "a string", out))
    return -1;
  if (!allow_empty && (*out)[0] == '\0') {
    free(*out);
    *out = NULL;
    return fail(L, n, "%s: expected a non-empty string, got \"\"", what);
  }
  return 0;
}

int gh_sc_get_string(loader *L, const gh_ynode *n, const char *what, char **out) {
  return gh_sc_get_text(L, n, what, 0, out);
}

/* A string without control characters or spaces (paths, contexts) when
 * no_space, or without control characters only. */
int gh_sc_get_clean_text(loader *L, const gh_ynode *n, const char *what, int no_space,
                         int allow_empty, char **out) {
  if (gh_sc_get_text(L, n, what, allow_empty, out))
    return -1;
  for (const unsigned char *p = (const unsigned char *)*out; *p; p++) {
    if (*p < 0x20 || *p == 0x7f || (no_space && *p == ' ')) {
      gh_yaml_qbuf q;
      int rc = fail(L, n, "%s: expected a string without %scontrol characters, got %s", what,
                    no_space ? "spaces or " : "", gh_yaml_quote(&q, *out));
      free(*out);
      *out = NULL;
      return rc;
    }
  }
  return 0;
}

int gh_sc_get_clean_string(loader *L, const gh_ynode *n, const char *what, int no_space,
                           char **out) {
  return gh_sc_get_clean_text(L, n, what, no_space, 0, out);
}

/* One of words: its index in *index and, when out is not NULL, the string. */
int gh_sc_get_word(loader *L, const gh_ynode *n, const char *what, const char *const *words,
                   int *index, char **out) {
  char list[200];
  char expected[220];
  snprintf(expected, sizeof(expected), "one of %s", gh_sc_join_words(words, list, sizeof(list)));
  char *text = NULL;
  if (gh_sc_text_of(L, n, what, expected, &text))
    return -1;
  int i = gh_sc_word_index(words, text);
  if (i < 0) {
    gh_yaml_qbuf q;
    int rc = fail(L, n, "%s: expected %s, got %s", what, expected, gh_yaml_quote(&q, text));
    free(text);
    return rc;
  }
  if (index != NULL)
    *index = i;
  if (out != NULL)
    *out = text;
  else
    free(text);
  return 0;
}

/* A duration in [min_ms, max_ms]; range words the bound in the error. */
int gh_sc_get_duration(loader *L, const gh_ynode *n, const char *what, int64_t min_ms,
                       int64_t max_ms, const char *range, int64_t *out) {
  char *text = NULL;
  if (gh_sc_text_of(L, n, what, "a duration such as 600s", &text))
    return -1;
  int64_t ms = 0;
  gh_yaml_qbuf q;
  int rc = 0;
  if (gh_duration_parse(text, &ms) != 0)
    rc = fail(L, n, "%s: expected a duration such as 600s, 10m, 250ms or -1h, got %s", what,
              gh_yaml_quote(&q, text));
  else if (ms < min_ms || ms > max_ms)
    rc = fail(L, n, "%s: expected a duration %s, got %s", what, range, gh_yaml_quote(&q, text));
  else
    *out = ms;
  free(text);
  return rc;
}

/* A decimal integer in [lo, hi]. */
int gh_sc_get_integer(loader *L, const gh_ynode *n, const char *what, long lo, long hi, long *out) {
  char expected[80];
  snprintf(expected, sizeof(expected), "an integer from %ld to %ld", lo, hi);
  char *text = NULL;
  if (gh_sc_text_of(L, n, what, expected, &text))
    return -1;
  long v = 0;
  int ok = text[0] != '\0';
  for (const char *p = text; ok && *p; p++) {
    if (*p < '0' || *p > '9' || v > (LONG_MAX - 9) / 10)
      ok = 0;
    else
      v = v * 10 + (*p - '0');
  }
  int rc = 0;
  if (!ok || v < lo || v > hi) {
    gh_yaml_qbuf q;
    rc = fail(L, n, "%s: expected %s, got %s", what, expected, gh_yaml_quote(&q, text));
  } else {
    *out = v;
  }
  free(text);
  return rc;
}

int gh_sc_get_bool(loader *L, const gh_ynode *n, const char *what, int *out) {
  char *text = NULL;
  if (gh_sc_text_of(L, n, what, "a boolean (true or false)", &text))
    return -1;
  int rc = 0;
  if (gh_sc_word_index(gh_sc_bool_true, text) >= 0) {
    *out = 1;
  } else if (gh_sc_word_index(gh_sc_bool_false, text) >= 0) {
    *out = 0;
  } else {
    gh_yaml_qbuf q;
    rc =
        fail(L, n, "%s: expected a boolean (true or false), got %s", what, gh_yaml_quote(&q, text));
  }
  free(text);
  return rc;
}

int gh_sc_get_list(loader *L, const gh_ynode *n, const char *what, size_t min) {
  gh_yaml_qbuf q;
  if (n->type != GH_Y_SEQ)
    return fail(L, n, "%s: expected a list, got %s", what, gh_yaml_describe(&q, n));
  if (n->kid_count < min && n->kid_count == 0)
    return fail(L, n, "%s: expected a list of at least %zu, got an empty list", what, min);
  if (n->kid_count < min)
    return fail(L, n, "%s: expected a list of at least %zu, got %zu", what, min, n->kid_count);
  return 0;
}

int gh_sc_get_map(loader *L, const gh_ynode *n, const char *what) {
  gh_yaml_qbuf q;
  if (n->type != GH_Y_MAP)
    return fail(L, n, "%s: expected a map, got %s", what, gh_yaml_describe(&q, n));
  return 0;
}

/* Every key of map is in allowed. */
int gh_sc_check_keys(loader *L, const gh_ynode *map, const char *section,
                     const char *const *allowed) {
  for (size_t i = 0; i < map->kid_count; i += 2) {
    const gh_ynode *key = map->kids[i];
    if (gh_sc_word_index(allowed, key->text) < 0) {
      char list[300];
      gh_yaml_qbuf q;
      if (allowed[0] == NULL)
        return fail(L, key, "unknown key %s in %s: it takes no keys", gh_yaml_quote(&q, key->text),
                    section);
      return fail(L, key, "unknown key %s in %s; expected one of: %s", gh_yaml_quote(&q, key->text),
                  section, gh_sc_join_words(allowed, list, sizeof(list)));
    }
  }
  return 0;
}

int gh_sc_require(loader *L, const gh_ynode *map, const char *key, const char *section,
                  const gh_ynode **out) {
  *out = gh_yaml_map_get(map, key);
  if (*out == NULL)
    return fail(L, map, "%s: missing key '%s'", section, key);
  return 0;
}

/* A name declared as a key of pki, backends or apis: [A-Za-z0-9][A-Za-z0-9._-]*,
 * shorter than GH_NAME_MAX (they name files and backend specs). */
static int valid_name(const char *s, size_t len) {
  if (len == 0 || len >= GH_NAME_MAX)
    return 0;
  for (size_t i = 0; i < len; i++) {
    char ch = s[i];
    int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '-')))
      return 0;
  }
  return 1;
}

int gh_sc_check_name(loader *L, const gh_ynode *n, const char *what, const char *s) {
  if (!valid_name(s, strlen(s))) {
    gh_yaml_qbuf q;
    return fail(L, n,
                "%s: %s is not a valid name: letters, digits, '.', '_' and '-', starting with a "
                "letter or digit, at most %d characters",
                what, gh_yaml_quote(&q, s), GH_NAME_MAX - 1);
  }
  return 0;
}

/* The key of a declaration (pki, backends, apis), as an owned string. */
int gh_sc_declared_name(loader *L, const gh_ynode *key, const char *section, char **out) {
  if (gh_sc_check_name(L, key, section, key->text))
    return -1;
  if (strcmp(key->text, "none") == 0)
    return fail(L, key, "%s: 'none' is reserved (it means no certificate)", section);
  *out = gh_sc_take_string(L, key, key->text, key->len);
  return *out == NULL ? -1 : 0;
}

/* "root, inter" into buf: the names of count entries of stride bytes whose
 * first member is their name. */
const char *gh_sc_declared_list(const void *entries, size_t count, size_t stride, char *buf,
                                size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < count; i++) {
    const char *name = *(char *const *)((const char *)entries + i * stride);
    if (name == NULL)
      continue;
    int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", name);
    if (n < 0 || (size_t)n >= size - used) {
      memcpy(buf + size - 4, "...", 4);
      break;
    }
    used += (size_t)n;
  }
  if (used == 0)
    snprintf(buf, size, "none declared");
  return buf;
}

/* ---- references ----------------------------------------------------------- */

/* The entry named name among count entries of stride bytes whose first
 * member is their name, or NULL. */
static const void *find_named(const void *entries, size_t count, size_t stride, const char *name) {
  for (size_t i = 0; i < count; i++) {
    const void *entry = (const char *)entries + i * stride;
    const char *entry_name = *(char *const *)entry;
    if (entry_name != NULL && strcmp(entry_name, name) == 0)
      return entry;
  }
  return NULL;
}

const gh_pki_spec *gh_sc_find_pki(const gh_case_spec *c, const char *name) {
  return find_named(c->pki, c->pki_count, sizeof(gh_pki_spec), name);
}

const gh_backend_spec *gh_sc_find_backend(const gh_case_spec *c, const char *name) {
  return find_named(c->backends, c->backend_count, sizeof(gh_backend_spec), name);
}

const gh_api_spec *gh_sc_find_api(const gh_case_spec *c, const char *name) {
  return find_named(c->apis, c->api_count, sizeof(gh_api_spec), name);
}

/* A reference to one of count declared entries of stride bytes whose first
 * member is their name (pki, backends, apis); also "none" when allow_none.
 * kind words it in messages: "a pki name". */
static int get_ref(loader *L, const gh_ynode *n, const char *what, const char *kind,
                   const void *entries, size_t count, size_t stride, int allow_none, char **out) {
  char expected[64];
  snprintf(expected, sizeof(expected), "%s%s", kind, allow_none ? " or none" : "");
  if (gh_sc_text_of(L, n, what, expected, out))
    return -1;
  if ((allow_none && strcmp(*out, "none") == 0) || find_named(entries, count, stride, *out))
    return 0;
  char list[200];
  gh_yaml_qbuf q;
  int rc = fail(L, n, "%s: %s is not %s (%s)", what, gh_yaml_quote(&q, *out), expected,
                gh_sc_declared_list(entries, count, stride, list, sizeof(list)));
  free(*out);
  *out = NULL;
  return rc;
}

/* A pki name (or "none" when allow_none). */
int gh_sc_get_pki_ref(loader *L, const gh_ynode *n, const char *what, int allow_none, char **out) {
  const gh_case_spec *c = L->c;
  return get_ref(L, n, what, "a pki name", c->pki, c->pki_count, sizeof(gh_pki_spec), allow_none,
                 out);
}

int gh_sc_get_backend_ref(loader *L, const gh_ynode *n, const char *what, char **out) {
  const gh_case_spec *c = L->c;
  return get_ref(L, n, what, "a backend name", c->backends, c->backend_count,
                 sizeof(gh_backend_spec), 0, out);
}

int gh_sc_get_api_ref(loader *L, const gh_ynode *n, const char *what, char **out) {
  const gh_case_spec *c = L->c;
  return get_ref(L, n, what, "an API name", c->apis, c->api_count, sizeof(gh_api_spec), 0, out);
}

/* ---- lists of strings ----------------------------------------------------- */

/* A list of strings (or one string when allow_scalar) of at least min. */
int gh_sc_get_strings(loader *L, const gh_ynode *n, const char *what, list_kind kind,
                      const char *const *words, int allow_scalar, size_t min, char ***out,
                      size_t *count) {
  *out = NULL;
  *count = 0;
  if (allow_scalar && n->type == GH_Y_SCALAR && !n->is_null) {
    *out = gh_sc_take(L, n, 1, sizeof(char *));
    if (*out == NULL)
      return -1;
    *count = 1;
    return gh_sc_get_string(L, n, what, &(*out)[0]);
  }
  if (gh_sc_get_list(L, n, what, min))
    return -1;
  if (n->kid_count == 0)
    return 0;
  *out = gh_sc_take(L, n, n->kid_count, sizeof(char *));
  if (*out == NULL)
    return -1;
  *count = n->kid_count;
  for (size_t i = 0; i < n->kid_count; i++) {
    const gh_ynode *item = n->kids[i];
    char **slot = &(*out)[i];
    int rc = 0;
    if (kind == LIST_WORD)
      rc = gh_sc_get_word(L, item, what, words, NULL, slot);
    else if (kind == LIST_PKI)
      rc = gh_sc_get_pki_ref(L, item, what, 0, slot);
    else
      rc = gh_sc_get_string(L, item, what, slot);
    if (rc == 0 && kind == LIST_NAME)
      rc = gh_sc_check_name(L, item, what, *slot);
    if (rc)
      return -1;
    if (kind == LIST_NAME || kind == LIST_WORD) {
      for (size_t j = 0; j < i; j++) {
        if (strcmp((*out)[j], *slot) == 0) {
          gh_yaml_qbuf q;
          return fail(L, item, "%s: %s is listed twice", what, gh_yaml_quote(&q, *slot));
        }
      }
    }
  }
  return 0;
}
