/* matrix.c - `gatecert matrix`: the conformance matrix of several runs.
 *
 * How it works
 * ------------
 *
 * 1. Load. Each argument is a run directory (its conformance.json is read) or
 *    a conformance.json. jansson parses it; the fields the matrix needs are
 *    checked one by one (implementation.name, the "cases" array and, per
 *    case, name, outcome and features), and a missing or mistyped one is an
 *    error that names the file, the case index and the field, so a report
 *    from an older gatecert (no "cases") or a hand-edited one is refused
 *    rather than shown as an empty column. Every string read passes through
 *    the report filter (gh_report_clean), so a hostile file cannot put
 *    terminal escapes on the console.
 *
 * 2. Build. The rows are the union of the features of every case of every
 *    run, sorted. A cell tallies the cases of one run that list the feature
 *    (a case listing a feature twice counts once) and collects the distinct
 *    capability names of the skip reasons ("... lacks capability X") and,
 *    apart, the rules of the cases not applicable ("not applicable to wso2-4
 *    (rule X)": the product has no such feature, which is not a gap of the
 *    implementation). The per-case section is the union of the case names,
 *    sorted, with the case each run holds (the worst one when a run holds the
 *    name twice, as after --repeat-until-fail: error, fail, pass, skip, not
 *    applicable) or none: its outcome, and its message where it did not pass,
 *    so a reader sees why a case differs.
 *
 * 3. Render. The console table pads columns to their width in characters
 *    (UTF-8 code points); the Markdown table escapes '|' and '<'; matrix.json
 *    is built with jansson. The README splice keeps everything outside the
 *    marker lines byte for byte.
 *
 * 4. Write. Everything is computed and every input checked (the README
 *    markers included) before the first file is written, so bad input writes
 *    nothing. Each file goes to "<FILE>.tmp", is fsync'd and renamed over
 *    FILE, keeping an existing file's permissions.
 */
#include "gutil.h"
#include "matrix.h"
#include "report_html.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define MARK_BEGIN      "<!-- matrix:begin -->"
#define MARK_END        "<!-- matrix:end -->"
#define DEFAULT_OUT     "reports/matrix.json"
#define NOT_RUN         (-1)
#define CAPABILITY_WORD "capability "
#define RULE_WORD       "rule "

static void free_strings(char **v, size_t n) {
  if (v == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static int cmp_strings(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---------------------------------------------------------------------------
 * Loading a conformance.json.
 * ------------------------------------------------------------------------- */

/* The filtered copy of a JSON string, "" for null or absent (fallback NULL:
 * stays NULL). *ok cleared when out of memory. */
static char *string_or(json_t *v, const char *fallback, bool *ok) {
  const char *s = json_is_string(v) ? json_string_value(v) : fallback;
  if (s == NULL)
    return NULL;
  char *copy = gh_report_clean(s, NULL);
  if (copy == NULL)
    *ok = false;
  return copy;
}

/* A field that may be absent or null, but if present must be a string. */
static bool optional_string(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  return v == NULL || json_is_null(v) || json_is_string(v);
}

/* A field that may be absent, but if present must be a number. */
static bool optional_number(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  return v == NULL || json_is_number(v);
}

static int parse_outcome(const char *s, gh_outcome *out, int *not_applicable) {
  static const gh_outcome all[] = {GH_PASS, GH_FAIL, GH_ERROR, GH_SKIP};
  *not_applicable = strcmp(s, GH_NOT_APPLICABLE) == 0;
  if (*not_applicable) {
    *out = GH_SKIP;
    return 0;
  }
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
    if (strcmp(s, gh_outcome_name(all[i])) == 0) {
      *out = all[i];
      return 0;
    }
  return -1;
}

static void mx_case_free(gh_mx_case *c) {
  free(c->name);
  free(c->file);
  free_strings(c->features, c->feature_count);
  free(c->message);
  free_strings(c->quirks, c->quirk_count);
  memset(c, 0, sizeof(*c));
}

static int load_features(const char *src, size_t i, json_t *array, gh_mx_case *c, char *why,
                         size_t why_len) {
  size_t n = json_array_size(array);
  c->features = calloc(n > 0 ? n : 1, sizeof(*c->features));
  if (c->features == NULL)
    return gu_fail(why, why_len, "%s: out of memory", src);
  bool ok = true;
  if (n == 0) {
    c->features[0] = string_or(NULL, "unspecified", &ok);
    c->feature_count = ok ? 1 : 0;
  }
  for (size_t k = 0; ok && k < n; k++) {
    json_t *f = json_array_get(array, k);
    if (!json_is_string(f) || json_string_length(f) == 0)
      return gu_fail(why, why_len, "%s: cases[%zu]: features[%zu] is not a non-empty string", src,
                     i, k);
    c->features[k] = string_or(f, NULL, &ok);
    c->feature_count = k + 1;
  }
  return ok ? 0 : gu_fail(why, why_len, "%s: out of memory", src);
}

/* "quirks" (optional): the reported bugs the case turned on, into c. */
static int load_quirks(const char *src, size_t i, json_t *e, gh_mx_case *c, char *why,
                       size_t why_len) {
  json_t *quirks = json_object_get(e, "quirks");
  if (quirks == NULL)
    return 0;
  if (!json_is_array(quirks))
    return gu_fail(why, why_len, "%s: cases[%zu]: \"quirks\" is not an array", src, i);
  size_t n = json_array_size(quirks);
  if (n == 0)
    return 0;
  if (!(c->quirks = calloc(n, sizeof(*c->quirks))))
    return gu_fail(why, why_len, "%s: out of memory", src);
  bool ok = true;
  for (size_t k = 0; k < n && ok; k++) {
    json_t *q = json_array_get(quirks, k);
    if (!json_is_string(q))
      return gu_fail(why, why_len, "%s: cases[%zu]: quirks[%zu] is not a string", src, i, k);
    c->quirks[k] = string_or(q, NULL, &ok);
    c->quirk_count = k + 1;
  }
  return ok ? 0 : gu_fail(why, why_len, "%s: out of memory", src);
}

/* One element of "cases" into c (which the caller frees, also on error). */
static int load_case(const char *src, size_t i, json_t *e, gh_mx_case *c, char *why,
                     size_t why_len) {
  if (!json_is_object(e))
    return gu_fail(why, why_len, "%s: cases[%zu] is not an object", src, i);
  json_t *name = json_object_get(e, "name");
  if (!json_is_string(name))
    return gu_fail(why, why_len, "%s: cases[%zu] has no \"name\" string", src, i);
  json_t *outcome = json_object_get(e, "outcome");
  if (!json_is_string(outcome) ||
      parse_outcome(json_string_value(outcome), &c->outcome, &c->not_applicable) != 0)
    return gu_fail(
        why, why_len,
        "%s: cases[%zu] (%s): \"outcome\" is not one of pass, fail, error, skip, not_applicable",
        src, i, json_string_value(name));
  json_t *features = json_object_get(e, "features");
  if (!json_is_array(features))
    return gu_fail(why, why_len, "%s: cases[%zu] (%s) has no \"features\" array", src, i,
                   json_string_value(name));
  static const char *const strings[] = {"file", "message"};
  static const char *const numbers[] = {"seconds", "fake_seconds", "applies", "apply_ms"};
  for (size_t k = 0; k < sizeof(strings) / sizeof(strings[0]); k++)
    if (!optional_string(e, strings[k]))
      return gu_fail(why, why_len, "%s: cases[%zu]: \"%s\" is not a string", src, i, strings[k]);
  for (size_t k = 0; k < sizeof(numbers) / sizeof(numbers[0]); k++)
    if (!optional_number(e, numbers[k]))
      return gu_fail(why, why_len, "%s: cases[%zu]: \"%s\" is not a number", src, i, numbers[k]);
  bool ok = true;
  c->name = string_or(name, NULL, &ok);
  c->file = string_or(json_object_get(e, "file"), NULL, &ok);
  c->message = string_or(json_object_get(e, "message"), NULL, &ok);
  if (!ok)
    return gu_fail(why, why_len, "%s: out of memory", src);
  c->seconds = json_number_value(json_object_get(e, "seconds"));
  c->fake_seconds = json_number_value(json_object_get(e, "fake_seconds"));
  c->applies = (long)json_number_value(json_object_get(e, "applies"));
  c->apply_ms = json_number_value(json_object_get(e, "apply_ms"));
  if (load_quirks(src, i, e, c, why, why_len) != 0)
    return -1;
  return load_features(src, i, features, c, why, why_len);
}

static int load_document(const char *src, json_t *root, gh_mx_run *run, char *why, size_t why_len) {
  if (!json_is_object(root))
    return gu_fail(why, why_len, "%s: not a JSON object (is it a gatecert conformance.json?)", src);
  json_t *impl = json_object_get(root, "implementation");
  json_t *name = json_object_get(impl, "name");
  if (!json_is_string(name) || json_string_length(name) == 0)
    return gu_fail(why, why_len,
                   "%s: no \"implementation\".\"name\" string (is it a gatecert "
                   "conformance.json?)",
                   src);
  if (!optional_string(impl, "version") || !optional_string(root, "profile") ||
      !optional_string(root, "started"))
    return gu_fail(why, why_len, "%s: \"version\", \"profile\" or \"started\" is not a string",
                   src);
  json_t *cases = json_object_get(root, "cases");
  if (!json_is_array(cases))
    return gu_fail(why, why_len,
                   "%s: no \"cases\" array (written by a gatecert older than `gatecert "
                   "matrix`? run `gatecert run` again)",
                   src);
  bool ok = true;
  run->implementation = string_or(name, NULL, &ok);
  run->version = string_or(json_object_get(impl, "version"), "", &ok);
  run->profile = string_or(json_object_get(root, "profile"), "", &ok);
  run->started = string_or(json_object_get(root, "started"), "", &ok);
  size_t n = json_array_size(cases);
  run->cases = calloc(n > 0 ? n : 1, sizeof(*run->cases));
  if (!ok || run->cases == NULL)
    return gu_fail(why, why_len, "%s: out of memory", src);
  for (size_t i = 0; i < n; i++) {
    run->count = i + 1;
    if (load_case(src, i, json_array_get(cases, i), &run->cases[i], why, why_len) != 0)
      return -1;
  }
  return 0;
}

/* path itself, or path/conformance.json when path is a directory. */
static char *report_path(const char *path) {
  struct stat st;
  bool dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
  const char *leaf = dir ? "/conformance.json" : "";
  size_t len = strlen(path) + strlen(leaf) + 1;
  char *out = malloc(len);
  if (out != NULL)
    snprintf(out, len, "%s%s", path, leaf);
  return out;
}

int gh_mx_run_load(const char *path, gh_mx_run *run, char *why, size_t why_len) {
  memset(run, 0, sizeof(*run));
  if (path == NULL || path[0] == '\0')
    return gu_fail(why, why_len, "no run directory given");
  run->source = report_path(path);
  if (run->source == NULL)
    return gu_fail(why, why_len, "%s: out of memory", path);
  FILE *f = fopen(run->source, "rb");
  if (f == NULL) {
    gu_fail(why, why_len, "cannot read %s: %s", run->source, strerror(errno));
    gh_mx_run_free(run);
    return -1;
  }
  json_error_t err;
  json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &err);
  fclose(f);
  int rc = -1;
  if (root == NULL)
    gu_fail(why, why_len, "%s: not valid JSON: line %d, column %d: %s", run->source, err.line,
            err.column, err.text);
  else
    rc = load_document(run->source, root, run, why, why_len);
  json_decref(root);
  if (rc != 0)
    gh_mx_run_free(run);
  return rc;
}

void gh_mx_run_free(gh_mx_run *run) {
  if (run == NULL)
    return;
  for (size_t i = 0; run->cases != NULL && i < run->count; i++)
    mx_case_free(&run->cases[i]);
  free(run->cases);
  free(run->source);
  free(run->implementation);
  free(run->version);
  free(run->profile);
  free(run->started);
  memset(run, 0, sizeof(*run));
}

char *gh_mx_skip_capability(const char *reason) {
  if (reason == NULL || reason[0] == '\0')
    return strdup("no reason given");
  const char *at = strstr(reason, CAPABILITY_WORD);
  if (at == NULL)
    return strdup(reason);
  at += strlen(CAPABILITY_WORD);
  size_t len = strcspn(at, " \t\r\n,;:()");
  return len > 0 ? strndup(at, len) : strdup(reason);
}

char *gh_mx_na_rule(const char *reason) {
  if (reason == NULL || reason[0] == '\0')
    return strdup("no reason given");
  const char *at = strstr(reason, RULE_WORD);
  if (at == NULL)
    return strdup(reason);
  at += strlen(RULE_WORD);
  size_t len = strcspn(at, " \t\r\n,;:()");
  return len > 0 ? strndup(at, len) : strdup(reason);
}

/* ---------------------------------------------------------------------------
 * Building the matrix.
 * ------------------------------------------------------------------------- */

char *gh_mx_title(const gh_mx_run *run) {
  const char *impl = run->implementation != NULL ? run->implementation : "?";
  if (strcmp(impl, "sim") != 0 || run->profile == NULL || run->profile[0] == '\0')
    return strdup(impl);
  size_t len = strlen(impl) + strlen(run->profile) + 4;
  char *t = malloc(len);
  if (t != NULL)
    snprintf(t, len, "%s (%s)", impl, run->profile);
  return t;
}

/* Appends s to a set of strings (a copy), unless it is there already. */
static bool set_add(char ***set, size_t *count, const char *s) {
  for (size_t i = 0; i < *count; i++)
    if (strcmp((*set)[i], s) == 0)
      return true;
  char **grown = realloc(*set, (*count + 1) * sizeof(*grown));
  if (grown == NULL)
    return false;
  *set = grown;
  grown[*count] = strdup(s);
  if (grown[*count] == NULL)
    return false;
  (*count)++;
  return true;
}

/* s, or "" for NULL: a run filled by hand may leave its strings unset. */
static const char *text_or_empty(const char *s) { return s != NULL ? s : ""; }

static bool case_has_feature(const gh_mx_case *c, const char *feature) {
  for (size_t i = 0; i < c->feature_count; i++)
    if (strcmp(c->features[i], feature) == 0)
      return true;
  return false;
}

static bool title_taken(const gh_matrix *m, size_t r, const char *t) {
  for (size_t k = 0; k < r; k++)
    if (strcmp(m->titles[k], t) == 0)
      return true;
  return false;
}

/* The title of column r, unique among the columns before it: a repeated one
 * gets its profile, then "#N". */
static char *unique_title(const gh_matrix *m, size_t r) {
  char *base = gh_mx_title(&m->runs[r]);
  if (base == NULL)
    return NULL;
  const char *profile = text_or_empty(m->runs[r].profile);
  size_t len = strlen(base) + strlen(profile) + 32;
  char *t = malloc(len);
  for (int n = 1; t != NULL; n++) {
    if (n == 1)
      snprintf(t, len, "%s", base);
    else if (n == 2 && profile[0] != '\0' && strchr(base, '(') == NULL)
      snprintf(t, len, "%s (%s)", base, profile);
    else
      snprintf(t, len, "%s #%d", base, n);
    if (!title_taken(m, r, t))
      break;
  }
  free(base);
  return t;
}

static bool make_titles(gh_matrix *m) {
  m->titles = calloc(m->run_count, sizeof(*m->titles));
  for (size_t r = 0; m->titles != NULL && r < m->run_count; r++)
    if ((m->titles[r] = unique_title(m, r)) == NULL)
      return false;
  return m->titles != NULL;
}

/* "a, b, c" of a list of strings (malloc'd), or NULL when out of memory. */
static char *joined(char *const *v, size_t n) {
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  if (f == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++)
    fprintf(f, "%s%s", i > 0 ? ", " : "", v[i]);
  if (fclose(f) != 0) {
    free(out);
    return NULL;
  }
  return out;
}

/* The text of a cell (see matrix.h): the cases not applicable are left out
 * of the counts and named at the end. */
static char *cell_text(const gh_mx_cell *c) {
  size_t total = c->pass + c->fail + c->error + c->skip;
  char *reasons = joined(c->reasons, c->reason_count), *rules = joined(c->rules, c->rule_count);
  char *text = NULL;
  size_t tlen = 0;
  FILE *tf = reasons != NULL && rules != NULL ? open_memstream(&text, &tlen) : NULL;
  if (tf == NULL) {
    free(reasons);
    free(rules);
    return NULL;
  }
  if (total == 0 && c->na > 0)
    fprintf(tf, "n/a (%s)", rules);
  else if (total == 0)
    fputs("-", tf);
  else if (c->fail + c->error > 0)
    fprintf(tf, "fail %zu/%zu", c->fail + c->error, total);
  else if (c->skip == total)
    fprintf(tf, "skip (%s)", reasons);
  else if (c->skip == 0)
    fputs("pass", tf);
  else
    fprintf(tf, "partial %zu/%zu", c->pass, total);
  if (total > 0 && c->skip > 0 && c->skip < total)
    fprintf(tf, ", skip %zu (%s)", c->skip, reasons);
  if (total > 0 && c->na > 0)
    fprintf(tf, ", n/a %zu", c->na);
  free(reasons);
  free(rules);
  if (fclose(tf) != 0) {
    free(text);
    return NULL;
  }
  return text;
}

static bool fill_cell(gh_mx_cell *cell, const gh_mx_run *run, const char *feature) {
  for (size_t i = 0; i < run->count; i++) {
    const gh_mx_case *c = &run->cases[i];
    if (!case_has_feature(c, feature))
      continue;
    switch (c->outcome) {
    case GH_PASS:
      cell->pass++;
      break;
    case GH_FAIL:
      cell->fail++;
      break;
    case GH_ERROR:
      cell->error++;
      break;
    case GH_SKIP: {
      if (c->not_applicable)
        cell->na++;
      else
        cell->skip++;
      char *word =
          c->not_applicable ? gh_mx_na_rule(c->message) : gh_mx_skip_capability(c->message);
      bool ok =
          word != NULL && (c->not_applicable ? set_add(&cell->rules, &cell->rule_count, word)
                                             : set_add(&cell->reasons, &cell->reason_count, word));
      free(word);
      if (!ok)
        return false;
      break;
    }
    }
  }
  if (cell->reason_count > 1)
    qsort(cell->reasons, cell->reason_count, sizeof(*cell->reasons), cmp_strings);
  if (cell->rule_count > 1)
    qsort(cell->rules, cell->rule_count, sizeof(*cell->rules), cmp_strings);
  cell->text = cell_text(cell);
  return cell->text != NULL;
}

/* A case's entry in case_outcomes: its outcome, or GH_MX_NOT_APPLICABLE. */
static int outcome_code(const gh_mx_case *c) {
  return c->outcome == GH_SKIP && c->not_applicable ? GH_MX_NOT_APPLICABLE : (int)c->outcome;
}

/* Worse first: error, fail, pass, skip, not applicable. */
static int severity(int outcome) {
  switch (outcome) {
  case GH_ERROR:
    return 5;
  case GH_FAIL:
    return 4;
  case GH_PASS:
    return 3;
  case GH_SKIP:
    return 2;
  case GH_MX_NOT_APPLICABLE:
    return 1;
  default:
    return 0;
  }
}

/* The case of that name in run (the worst outcome when it is there twice),
 * or NULL when the run had none. */
static const gh_mx_case *case_ref(const gh_mx_run *run, const char *name) {
  const gh_mx_case *worst = NULL;
  for (size_t i = 0; i < run->count; i++)
    if (strcmp(run->cases[i].name, name) == 0 &&
        (worst == NULL || severity(outcome_code(&run->cases[i])) > severity(outcome_code(worst))))
      worst = &run->cases[i];
  return worst;
}

static bool collect_rows(gh_matrix *m) {
  for (size_t r = 0; r < m->run_count; r++)
    for (size_t i = 0; i < m->runs[r].count; i++) {
      const gh_mx_case *c = &m->runs[r].cases[i];
      if (!set_add(&m->cases, &m->case_count, c->name))
        return false;
      for (size_t k = 0; k < c->feature_count; k++)
        if (!set_add(&m->features, &m->feature_count, c->features[k]))
          return false;
    }
  if (m->feature_count > 1)
    qsort(m->features, m->feature_count, sizeof(*m->features), cmp_strings);
  if (m->case_count > 1)
    qsort(m->cases, m->case_count, sizeof(*m->cases), cmp_strings);
  return true;
}

int gh_matrix_build(const gh_mx_run *runs, size_t run_count, gh_matrix *m, char *why,
                    size_t why_len) {
  memset(m, 0, sizeof(*m));
  if (runs == NULL || run_count == 0)
    return gu_fail(why, why_len, "no runs to compare");
  m->runs = runs;
  m->run_count = run_count;
  bool ok = make_titles(m) && collect_rows(m);
  if (ok) {
    m->cells = calloc(m->feature_count * run_count + 1, sizeof(*m->cells));
    m->case_outcomes = calloc(m->case_count * run_count + 1, sizeof(*m->case_outcomes));
    // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
    m->case_refs = calloc(m->case_count * run_count + 1, sizeof(*m->case_refs));
    ok = m->cells != NULL && m->case_outcomes != NULL && m->case_refs != NULL;
  }
  for (size_t f = 0; ok && f < m->feature_count; f++)
    for (size_t r = 0; ok && r < run_count; r++)
      ok = fill_cell(&m->cells[f * run_count + r], &runs[r], m->features[f]);
  for (size_t c = 0; ok && c < m->case_count; c++)
    for (size_t r = 0; r < run_count; r++) {
      const gh_mx_case *ref = case_ref(&runs[r], m->cases[c]);
      m->case_refs[c * run_count + r] = ref;
      m->case_outcomes[c * run_count + r] = ref != NULL ? outcome_code(ref) : NOT_RUN;
    }
  if (!ok) {
    gh_matrix_free(m);
    return gu_fail(why, why_len, "out of memory building the matrix");
  }
  return 0;
}

void gh_matrix_free(gh_matrix *m) {
  if (m == NULL)
    return;
  for (size_t i = 0; m->cells != NULL && i < m->feature_count * m->run_count; i++) {
    free_strings(m->cells[i].reasons, m->cells[i].reason_count);
    free_strings(m->cells[i].rules, m->cells[i].rule_count);
    free(m->cells[i].text);
  }
  free(m->cells);
  free_strings(m->titles, m->titles != NULL ? m->run_count : 0);
  free_strings(m->features, m->feature_count);
  free_strings(m->cases, m->case_count);
  free(m->case_outcomes);
  free(m->case_refs);
  memset(m, 0, sizeof(*m));
}

const gh_mx_cell *gh_matrix_cell(const gh_matrix *m, size_t f, size_t r) {
  return &m->cells[f * m->run_count + r];
}

/* ---------------------------------------------------------------------------
 * Renderings.
 * ------------------------------------------------------------------------- */

/* Characters (UTF-8 code points) in s: the width of a column. */
static size_t width_of(const char *s) {
  size_t n = 0;
  for (; *s != '\0'; s++)
    n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

static void put_padded(FILE *f, const char *s, size_t width, bool last) {
  fputs(s, f);
  if (last)
    return;
  for (size_t w = width_of(s); w < width + 2; w++)
    fputc(' ', f);
}

/* Closes a memory stream (open_memstream sets *text only then), returning
 * its text or NULL (freed) on failure. */
static char *close_stream(FILE *f, char **text) {
  bool bad = ferror(f) != 0;
  if (fclose(f) != 0 || bad) {
    free(*text);
    *text = NULL;
  }
  return *text;
}

/* "nginx 1.22.1", or the version alone when it names the implementation
 * already ("nginx/1.22.1", "HAProxy 2.6.12"); "sim (no version)". */
static void impl_version(const gh_mx_run *run, char *out, size_t len) {
  const char *impl = text_or_empty(run->implementation), *version = text_or_empty(run->version);
  if (version[0] == '\0')
    snprintf(out, len, "%s (no version)", impl);
  else if (strncasecmp(version, impl, strlen(impl)) == 0)
    snprintf(out, len, "%s", version);
  else
    snprintf(out, len, "%s %s", impl, version);
}

static bool case_differs(const gh_matrix *m, size_t c) {
  for (size_t r = 1; r < m->run_count; r++)
    if (m->case_outcomes[c * m->run_count + r] != m->case_outcomes[c * m->run_count])
      return true;
  return false;
}

char *gh_matrix_table(const gh_matrix *m) {
  size_t cols = m->run_count + 1;
  size_t *width = calloc(cols, sizeof(*width));
  char *text = NULL;
  size_t len = 0;
  FILE *f = width != NULL ? open_memstream(&text, &len) : NULL;
  if (f == NULL) {
    free(width);
    return NULL;
  }
  width[0] = width_of("feature");
  for (size_t r = 0; r < m->run_count; r++)
    width[r + 1] = width_of(m->titles[r]);
  for (size_t i = 0; i < m->feature_count; i++) {
    width[0] = width[0] > width_of(m->features[i]) ? width[0] : width_of(m->features[i]);
    for (size_t r = 0; r < m->run_count; r++) {
      size_t w = width_of(gh_matrix_cell(m, i, r)->text);
      width[r + 1] = width[r + 1] > w ? width[r + 1] : w;
    }
  }
  put_padded(f, "feature", width[0], false);
  for (size_t r = 0; r < m->run_count; r++)
    put_padded(f, m->titles[r], width[r + 1], r + 1 == m->run_count);
  fputc('\n', f);
  for (size_t c = 0; c < cols; c++) {
    for (size_t w = 0; w < width[c]; w++)
      fputc('-', f);
    fputs(c + 1 < cols ? "  " : "\n", f);
  }
  for (size_t i = 0; i < m->feature_count; i++) {
    put_padded(f, m->features[i], width[0], false);
    for (size_t r = 0; r < m->run_count; r++)
      put_padded(f, gh_matrix_cell(m, i, r)->text, width[r + 1], r + 1 == m->run_count);
    fputc('\n', f);
  }
  fputc('\n', f);
  for (size_t r = 0; r < m->run_count; r++) {
    const gh_mx_run *run = &m->runs[r];
    const char *profile = text_or_empty(run->profile), *started = text_or_empty(run->started);
    char what[512];
    impl_version(run, what, sizeof(what));
    fprintf(f, "%s: %s, profile %s, started %s, %zu cases (%s)\n", m->titles[r], what,
            profile[0] ? profile : "-", started[0] ? started : "-", run->count,
            run->source != NULL ? run->source : "-");
  }
  size_t differ = 0;
  for (size_t c = 0; c < m->case_count; c++)
    differ += case_differs(m, c);
  if (m->run_count > 1)
    fprintf(f, "%zu of %zu cases differ between the columns (matrix.json \"cases\" says how)\n",
            differ, m->case_count);
  free(width);
  return close_stream(f, &text);
}

/* A Markdown table cell: '|' escaped, '<' as an entity, line breaks as spaces. */
static void put_md(FILE *f, const char *s) {
  for (; *s != '\0'; s++) {
    if (*s == '|')
      fputs("\\|", f);
    else if (*s == '<')
      fputs("&lt;", f);
    else if (*s == '\n' || *s == '\r')
      fputc(' ', f);
    else
      fputc(*s, f);
  }
}

char *gh_matrix_markdown(const gh_matrix *m, const char *made_by, const char *when) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (f == NULL)
    return NULL;
  fputs("\n| feature |", f);
  for (size_t r = 0; r < m->run_count; r++) {
    fputc(' ', f);
    put_md(f, m->titles[r]);
    fputs(" |", f);
  }
  fputs("\n|---|", f);
  for (size_t r = 0; r < m->run_count; r++)
    fputs("---|", f);
  fputc('\n', f);
  for (size_t i = 0; i < m->feature_count; i++) {
    fputs("| ", f);
    put_md(f, m->features[i]);
    fputs(" |", f);
    for (size_t r = 0; r < m->run_count; r++) {
      fputc(' ', f);
      put_md(f, gh_matrix_cell(m, i, r)->text);
      fputs(" |", f);
    }
    fputc('\n', f);
  }
  fputs("\nColumns: ", f);
  for (size_t r = 0; r < m->run_count; r++) {
    fputs(r > 0 ? ", " : "", f);
    put_md(f, m->titles[r]);
    fputs(" = ", f);
    char what[512];
    impl_version(&m->runs[r], what, sizeof(what));
    put_md(f, what);
  }
  fputs(".\n", f);
  bool code = made_by != NULL && strchr(made_by, '`') == NULL;
  fputs(code ? "Made by `" : "Made by ", f);
  put_md(f, made_by != NULL ? made_by : "gatecert matrix");
  fprintf(f, "%s on ", code ? "`" : "");
  put_md(f, when != NULL ? when : "?");
  fputs(".\n\n", f);
  return close_stream(f, &text);
}

static json_t *string_array(char *const *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a != NULL && i < n; i++)
    if (json_array_append_new(a, json_string(v[i])) != 0) {
      json_decref(a);
      return NULL;
    }
  return a;
}

static bool jset(json_t *obj, const char *key, json_t *value) {
  return value != NULL && json_object_set_new(obj, key, value) == 0;
}

static json_t *implementation_json(const gh_matrix *m, size_t r) {
  const gh_mx_run *run = &m->runs[r];
  json_t *o = json_object();
  if (o != NULL && !(jset(o, "column", json_string(m->titles[r])) &&
                     jset(o, "name", json_string(text_or_empty(run->implementation))) &&
                     jset(o, "version", json_string(text_or_empty(run->version))) &&
                     jset(o, "profile", json_string(text_or_empty(run->profile))) &&
                     jset(o, "started", json_string(text_or_empty(run->started))) &&
                     jset(o, "source", json_string(run->source != NULL ? run->source : "")) &&
                     jset(o, "cases", json_integer((json_int_t)run->count)))) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *cell_json(const gh_mx_cell *c) {
  json_t *o = json_object();
  if (o != NULL && !(jset(o, "cell", json_string(c->text)) &&
                     jset(o, "pass", json_integer((json_int_t)c->pass)) &&
                     jset(o, "fail", json_integer((json_int_t)c->fail)) &&
                     jset(o, "error", json_integer((json_int_t)c->error)) &&
                     jset(o, "skip", json_integer((json_int_t)c->skip)) &&
                     jset(o, "skip_reasons", string_array(c->reasons, c->reason_count)) &&
                     jset(o, GH_NOT_APPLICABLE, json_integer((json_int_t)c->na)) &&
                     jset(o, "not_applicable_rules", string_array(c->rules, c->rule_count)))) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* A new child set as key of obj (which owns it: jansson takes the reference
 * even when the set fails); the child borrowed, or NULL. */
static json_t *jchild(json_t *obj, const char *key, json_t *child) {
  return jset(obj, key, child) ? child : NULL;
}

/* One case: its file and features, its outcome in each column (null: not
 * run), the message of each column where it did not pass, and whether the
 * columns differ. */
static json_t *case_json(const gh_matrix *m, size_t c) {
  const gh_mx_case *any = NULL;
  for (size_t r = 0; any == NULL && r < m->run_count; r++)
    any = m->case_refs[c * m->run_count + r];
  json_t *o = json_object();
  bool ok = o != NULL && any != NULL &&
            jset(o, "file", any->file != NULL ? json_string(any->file) : json_null()) &&
            jset(o, "features", string_array(any->features, any->feature_count));
  json_t *outcomes = ok ? jchild(o, "outcomes", json_object()) : NULL;
  json_t *messages = outcomes != NULL ? jchild(o, "messages", json_object()) : NULL;
  ok = messages != NULL;
  for (size_t r = 0; ok && r < m->run_count; r++) {
    const gh_mx_case *k = m->case_refs[c * m->run_count + r];
    ok = jset(outcomes, m->titles[r],
              k == NULL                                 ? json_null()
              : outcome_code(k) == GH_MX_NOT_APPLICABLE ? json_string(GH_NOT_APPLICABLE)
                                                        : json_string(gh_outcome_name(k->outcome)));
    if (ok && k != NULL && k->outcome != GH_PASS && k->message != NULL)
      ok = jset(messages, m->titles[r], json_string(k->message));
  }
  if (!(ok && jset(o, "differs", json_boolean(case_differs(m, c))))) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *matrix_doc(const gh_matrix *m, const char *made_by, const char *when) {
  json_t *doc = json_object();
  bool ok = doc != NULL && jset(doc, "generated", json_string(when != NULL ? when : "")) &&
            jset(doc, "command", json_string(made_by != NULL ? made_by : ""));
  json_t *impls = ok ? jchild(doc, "implementations", json_array()) : NULL;
  json_t *features = impls != NULL ? jchild(doc, "features", json_object()) : NULL;
  json_t *cases = features != NULL ? jchild(doc, "cases", json_object()) : NULL;
  ok = cases != NULL;
  for (size_t r = 0; ok && r < m->run_count; r++)
    ok = json_array_append_new(impls, implementation_json(m, r)) == 0;
  for (size_t i = 0; ok && i < m->feature_count; i++) {
    json_t *row = jchild(features, m->features[i], json_object());
    ok = row != NULL;
    for (size_t r = 0; ok && r < m->run_count; r++)
      ok = jset(row, m->titles[r], cell_json(gh_matrix_cell(m, i, r)));
  }
  for (size_t c = 0; ok && c < m->case_count; c++)
    ok = jset(cases, m->cases[c], case_json(m, c));
  if (!ok) {
    json_decref(doc);
    return NULL;
  }
  return doc;
}

char *gh_matrix_json(const gh_matrix *m, const char *made_by, const char *when) {
  json_t *doc = matrix_doc(m, made_by, when);
  if (doc == NULL)
    return NULL;
  char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(doc);
  if (text == NULL)
    return NULL;
  size_t len = strlen(text);
  char *out = realloc(text, len + 2); /* a final newline */
  if (out == NULL) {
    free(text);
    return NULL;
  }
  memcpy(out + len, "\n", 2);
  return out;
}

/* ---------------------------------------------------------------------------
 * The README splice.
 * ------------------------------------------------------------------------- */

/* 1 when the line [start, end) (no '\n'; a final '\r' ignored) is marker. */
static bool line_is(const char *start, const char *end, const char *marker) {
  if (end > start && end[-1] == '\r')
    end--;
  size_t n = strlen(marker);
  return (size_t)(end - start) == n && memcmp(start, marker, n) == 0;
}

int gh_readme_splice(const char *readme, size_t len, const char *block, char **out, size_t *out_len,
                     char *why, size_t why_len) {
  *out = NULL;
  const char *begin_next = NULL; /* the byte after the begin line */
  const char *end_start = NULL;  /* the first byte of the end line */
  int begins = 0, ends = 0, begin_line = 0, end_line = 0, line = 1;
  for (const char *p = readme, *stop = readme + len; p < stop; line++) {
    const char *nl = memchr(p, '\n', (size_t)(stop - p));
    const char *eol = nl != NULL ? nl : stop;
    if (line_is(p, eol, MARK_BEGIN)) {
      begins++;
      begin_line = line;
      begin_next = nl != NULL ? nl + 1 : stop;
    } else if (line_is(p, eol, MARK_END)) {
      ends++;
      end_line = line;
      end_start = p;
    }
    p = nl != NULL ? nl + 1 : stop;
  }
  if (begins != 1 || ends != 1)
    return gu_fail(why, why_len,
                   "needs exactly one line \"" MARK_BEGIN "\" and one line \"" MARK_END
                   "\" (found %d and %d)",
                   begins, ends);
  if (end_line < begin_line || begin_next > end_start)
    return gu_fail(why, why_len,
                   "\"" MARK_END "\" (line %d) comes before \"" MARK_BEGIN "\" (line %d)", end_line,
                   begin_line);
  size_t head = (size_t)(begin_next - readme), blen = strlen(block);
  size_t tail = len - (size_t)(end_start - readme);
  char *text = malloc(head + blen + tail + 1);
  if (text == NULL)
    return gu_fail(why, why_len, "out of memory");
  memcpy(text, readme, head);
  memcpy(text + head, block, blen);
  memcpy(text + head + blen, end_start, tail);
  text[head + blen + tail] = '\0';
  *out = text;
  *out_len = head + blen + tail;
  return 0;
}

/* ---------------------------------------------------------------------------
 * The command.
 * ------------------------------------------------------------------------- */

/* The whole file (NUL-terminated) or NULL with why. */
static char *read_file(const char *path, size_t *len, char *why, size_t why_len) {
  char *data = NULL;
  if (gu_read_file(path, 0, &data, len) != 0) {
    if (errno == ENOMEM)
      gu_fail(why, why_len, "%s: out of memory", path);
    else if (errno == EIO)
      gu_fail(why, why_len, "cannot read %s", path);
    else
      gu_fail(why, why_len, "cannot read %s: %s", path, strerror(errno));
  }
  return data;
}

/* data to path through "<path>.tmp", keeping an existing file's mode. */
static int write_file(const char *path, const char *data, size_t len, char *why, size_t why_len) {
  struct stat st;
  mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644;
  size_t plen = strlen(path) + sizeof(".tmp");
  char *tmp = malloc(plen);
  if (tmp == NULL)
    return gu_fail(why, why_len, "%s: out of memory", path);
  snprintf(tmp, plen, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    gu_fail(why, why_len, "cannot create %s: %s", tmp, strerror(errno));
    free(tmp);
    return -1;
  }
  int err = fchmod(fd, mode) != 0 ? errno : 0;
  for (size_t done = 0; err == 0 && done < len;) {
    ssize_t n = write(fd, data + done, len - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      err = n < 0 ? errno : EIO;
    else
      done += (size_t)n;
  }
  if (err == 0 && fsync(fd) != 0)
    err = errno;
  if (close(fd) != 0 && err == 0)
    err = errno;
  if (err == 0 && rename(tmp, path) != 0)
    err = errno;
  if (err != 0) {
    gu_fail(why, why_len, "cannot write %s: %s", path, strerror(err));
    unlink(tmp);
  }
  free(tmp);
  return err != 0 ? -1 : 0;
}

/* "2026-11-23T16:00:00Z": SOURCE_DATE_EPOCH when set, else now. */
static int stamp(char *out, size_t len, char *why, size_t why_len) {
  const char *sde = getenv("SOURCE_DATE_EPOCH");
  time_t t = time(NULL);
  if (sde != NULL && sde[0] != '\0') {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(sde, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0)
      return gu_fail(why, why_len, "SOURCE_DATE_EPOCH=%s is not a number of seconds", sde);
    t = (time_t)v;
  }
  struct tm tm;
  if (gmtime_r(&t, &tm) == NULL || strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return gu_fail(why, why_len, "cannot format the time");
  return 0;
}

/* The command line as a shell would retype it: argv[0] is "matrix". */
static char *command_line(int argc, char **argv) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (f == NULL)
    return NULL;
  fputs("gatecert", f);
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    bool plain =
        a[0] != '\0' && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                  "_./:=@%+,-") == strlen(a);
    fputc(' ', f);
    if (plain) {
      fputs(a, f);
      continue;
    }
    fputc('\'', f);
    for (; *a != '\0'; a++)
      if (*a == '\'')
        fputs("'\\''", f);
      else
        fputc(*a, f);
    fputc('\'', f);
  }
  return close_stream(f, &text);
}

static const char usage_text[] =
    "usage: gatecert matrix [--out FILE] [--readme FILE] [--markdown FILE] RUN_DIR...\n"
    "\n"
    "Compares the runs whose reports are in RUN_DIR/conformance.json (one column\n"
    "each: the implementation, with the profile for the simulator) feature by\n"
    "feature, prints the table and writes it.\n"
    "  --out FILE       the matrix as JSON (default " DEFAULT_OUT "): versions, counts,\n"
    "                   skip reasons, cell text, and every case's outcome per column\n"
    "  --readme FILE    replace the lines between \"" MARK_BEGIN "\" and\n"
    "                   \"" MARK_END "\" in FILE with the Markdown table\n"
    "  --markdown FILE  write the Markdown table alone to FILE\n"
    "Cells: pass | fail N/M | skip (capability, ...) | partial P/M, skip K (capability, ...)\n"
    "| - (no case of the feature in that run).\n"
    "Exit: 0 written, 2 usage error or bad input (nothing written), 3 cannot write.\n";

typedef struct matrix_opts {
  const char *out, *readme, *markdown;
  int first_run; /* index of the first RUN_DIR in argv */
} matrix_opts;

/* 0 parsed, 1 --help (printed), 2 usage error (printed). */
static int parse_opts(int argc, char **argv, matrix_opts *o) {
  *o = (matrix_opts){.out = DEFAULT_OUT};
  int help = 0, version = 0;
  const gu_opt table[] = {
      {"out", .string = &o->out},
      {"readme", .string = &o->readme},
      {"markdown", .string = &o->markdown},
      {"help", 'h', .flag = &help, .stop = 1},
      {"version", .flag = &version, .stop = 1},
      {0},
  };
  char why[4096];
  int first = gu_opts_parse(argc, argv, table, 0, why, sizeof(why));
  if (first < 0) {
    fprintf(stderr, "gatecert matrix: %s\n%s", why, usage_text);
    return 2;
  }
  if (help) {
    fputs(usage_text, stdout);
    return 1;
  }
  if (version) {
    char line[256];
    puts(gu_version_line("gatecert matrix", line, sizeof(line)));
    return 1;
  }
  if (first >= argc) {
    fprintf(stderr, "gatecert matrix: no RUN_DIR given\n%s", usage_text);
    return 2;
  }
  o->first_run = first;
  return 0;
}

/* The outputs, all computed before anything is written. */
typedef struct outputs {
  char *json, *markdown, *table, *readme;
  size_t readme_len;
} outputs;

static void outputs_free(outputs *out) {
  free(out->json);
  free(out->markdown);
  free(out->table);
  free(out->readme);
}

static int make_outputs(const gh_matrix *m, const matrix_opts *o, const char *made_by,
                        const char *when, outputs *out, char *why, size_t why_len) {
  out->json = gh_matrix_json(m, made_by, when);
  out->markdown = gh_matrix_markdown(m, made_by, when);
  out->table = gh_matrix_table(m);
  if (out->json == NULL || out->markdown == NULL || out->table == NULL) {
    gu_fail(why, why_len, "out of memory rendering the matrix");
    return -2;
  }
  if (o->readme == NULL)
    return 0;
  size_t len = 0;
  char *readme = read_file(o->readme, &len, why, why_len);
  if (readme == NULL)
    return -1;
  char inner[512];
  int rc = gh_readme_splice(readme, len, out->markdown, &out->readme, &out->readme_len, inner,
                            sizeof(inner));
  free(readme);
  if (rc != 0)
    return gu_fail(why, why_len, "%s: %s", o->readme, inner);
  return 0;
}

static int write_outputs(const matrix_opts *o, const outputs *out, char *why, size_t why_len) {
  if (write_file(o->out, out->json, strlen(out->json), why, why_len) != 0)
    return -1;
  if (o->markdown != NULL &&
      write_file(o->markdown, out->markdown, strlen(out->markdown), why, why_len) != 0)
    return -1;
  if (o->readme != NULL && write_file(o->readme, out->readme, out->readme_len, why, why_len) != 0)
    return -1;
  return 0;
}

/* ---- matrix.html ------------------------------------------------------------------------
 * Beside matrix.json: the same cells as a page (report_html.h), each column's
 * title and cells linking to its run's index.html when that file exists, by
 * a path relative to matrix.html's directory (so the two move together as
 * one CI artifact). */

/* The relative path from directory from (absolute, resolved) to file to
 * (absolute, resolved) into out. */
static void relative_path(const char *from, const char *to, char *out, size_t len) {
  char dir[PATH_MAX + 1];
  snprintf(dir, sizeof(dir), "%s/", strcmp(from, "/") == 0 ? "" : from);
  size_t i = 0, common = 0;
  for (; dir[i] && dir[i] == to[i]; i++)
    if (dir[i] == '/')
      common = i + 1;
  size_t n = 0;
  out[0] = '\0';
  for (const char *p = dir + common; *p && n + 4 < len; p++)
    if (*p == '/')
      n += (size_t)snprintf(out + n, len - n, "../");
  snprintf(out + n, len - n, "%s", to + common);
}

static const char *cell_result(const gh_mx_cell *c) {
  if (c->fail + c->error > 0)
    return "failure";
  if (c->pass > 0)
    return c->skip > 0 ? "partial" : "success";
  if (c->na > 0 && c->skip == 0)
    return "not_applicable";
  return NULL;
}

static int write_html(const gh_matrix *m, const char *json_out, char *why, size_t why_len) {
  char dir[PATH_MAX], html[PATH_MAX + 16], real_dir[PATH_MAX];
  snprintf(dir, sizeof(dir), "%s", json_out);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  else
    snprintf(dir, sizeof(dir), ".");
  snprintf(html, sizeof(html), "%s/matrix.html", dir);
  size_t n = m->run_count, cells = m->feature_count * m->run_count;
  char(*hrefs)[PATH_MAX] = calloc(n ? n : 1, sizeof(*hrefs));
  const char **href_ptrs = calloc(n ? n : 1, sizeof(*href_ptrs));
  gh_html_matrix_cell *out = calloc(cells ? cells : 1, sizeof(*out));
  int rc = -1;
  if (!hrefs || !href_ptrs || !out || !realpath(dir, real_dir)) {
    gu_fail(why, why_len, "%s: %s", html,
            hrefs && href_ptrs && out ? strerror(errno) : "out of memory");
    goto done;
  }
  for (size_t r = 0; r < n; r++) {
    char run_dir[PATH_MAX], index[PATH_MAX + 16], real_index[PATH_MAX];
    snprintf(run_dir, sizeof(run_dir), "%s", m->runs[r].source);
    size_t len = strlen(run_dir);
    if (len > 5 && strcmp(run_dir + len - 5, ".json") == 0) {
      char *s = strrchr(run_dir, '/');
      if (s)
        *s = '\0';
      else
        snprintf(run_dir, sizeof(run_dir), ".");
    }
    snprintf(index, sizeof(index), "%s/index.html", run_dir);
    if (realpath(index, real_index)) {
      relative_path(real_dir, real_index, hrefs[r], sizeof(hrefs[r]));
      href_ptrs[r] = hrefs[r];
    }
  }
  for (size_t i = 0; i < cells; i++)
    out[i] = (gh_html_matrix_cell){.result = cell_result(&m->cells[i]), .text = m->cells[i].text};
  gh_html_matrix page = {.title = "gatecert conformance matrix",
                         .features = (const char *const *)m->features,
                         .feature_count = m->feature_count,
                         .gateways = (const char *const *)m->titles,
                         .hrefs = href_ptrs,
                         .gateway_count = n,
                         .cells = out};
  rc = gh_report_html_matrix_write(&page, html, why, why_len);
done:
  free(hrefs);
  free(href_ptrs);
  free(out);
  return rc;
}

int gh_matrix_main(int argc, char **argv) {
  matrix_opts o;
  int parsed = parse_opts(argc, argv, &o);
  if (parsed != 0)
    return parsed == 1 ? 0 : 2;
  size_t n = (size_t)(argc - o.first_run);
  gh_mx_run *runs = calloc(n, sizeof(*runs));
  char why[1024] = "", when[32] = "";
  char *made_by = command_line(argc, argv);
  gh_matrix m = {0};
  outputs out = {0};
  int rc = runs != NULL && made_by != NULL ? 0 : 3;
  if (rc != 0)
    snprintf(why, sizeof(why), "out of memory");
  for (size_t i = 0; rc == 0 && i < n; i++)
    if (gh_mx_run_load(argv[o.first_run + (int)i], &runs[i], why, sizeof(why)) != 0)
      rc = 2;
  if (rc == 0 && stamp(when, sizeof(when), why, sizeof(why)) != 0)
    rc = 2;
  if (rc == 0 && gh_matrix_build(runs, n, &m, why, sizeof(why)) != 0)
    rc = 3;
  if (rc == 0) {
    int made = make_outputs(&m, &o, made_by, when, &out, why, sizeof(why));
    rc = made == 0 ? 0 : made == -2 ? 3 : 2;
  }
  if (rc == 0 && write_outputs(&o, &out, why, sizeof(why)) != 0)
    rc = 3;
  if (rc == 0 && write_html(&m, o.out, why, sizeof(why)) != 0)
    rc = 3;
  if (rc == 0) {
    fputs(out.table, stdout);
    printf("wrote %s, matrix.html beside it%s%s%s%s\n", o.out, o.markdown ? ", " : "",
           o.markdown ? o.markdown : "", o.readme ? ", updated " : "", o.readme ? o.readme : "");
  } else {
    fprintf(stderr, "gatecert matrix: %s\n", why);
  }
  outputs_free(&out);
  gh_matrix_free(&m);
  for (size_t i = 0; runs != NULL && i < n; i++)
    gh_mx_run_free(&runs[i]);
  free(runs);
  free(made_by);
  return rc;
}
