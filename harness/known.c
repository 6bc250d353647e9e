/* known.c - the known-failures list of a gateway and the check of a finished
 * run against it (known.h describes the file format and the rules).
 *
 * How it works
 * ------------
 *
 * Parsing goes line by line over the text: leading blanks are skipped, '#'
 * lines and blank lines ignored; the verb is the first word and must be
 * `fail`; the GLOB is the next word, or a double-quoted string, where a
 * backslash escapes the next character and is kept (fnmatch reads it the
 * same way), so `expired\ cert*` and "expired cert*" are one GLOB; the reason
 * is the rest of the line with blanks trimmed. Every message names the file
 * and the line.
 *
 * The check makes one pass over the run's cases and keeps, per entry, how
 * many cases of each outcome it matched; a failed case counts for every
 * entry that matches it (so overlapping entries are not reported stale
 * because another entry came first). The summary is built in a memory stream
 * (open_memstream) and returned; nothing is printed here.
 */
#include "gutil.h"
#include "known.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERB_FAIL "fail"
#define BLANKS    " \t"

/* ---------------------------------------------------------------------------
 * Parsing.
 * ------------------------------------------------------------------------- */

/* A line being parsed: [p, end) is what is left of it. */
typedef struct line_cursor {
  const char *p, *end;
} line_cursor;

static void skip_blanks(line_cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
    c->p++;
}

static bool at_end(const line_cursor *c) { return c->p >= c->end; }

/* The next word (up to a blank) as a new string; NULL when out of memory. */
static char *take_word(line_cursor *c) {
  const char *start = c->p;
  while (c->p < c->end && *c->p != ' ' && *c->p != '\t')
    c->p++;
  return strndup(start, (size_t)(c->p - start));
}

/* The GLOB: a word where "\x" keeps x in it, or a quoted string. *problem
 * set (and NULL returned) for an unterminated quote or an empty GLOB. */
static char *take_glob(line_cursor *c, const char **problem) {
  bool quoted = *c->p == '"';
  const char *start = c->p + quoted;
  const char *q = start;
  while (q < c->end) {
    if (*q == '\\' && q + 1 < c->end)
      q += 2;
    else if (quoted ? *q == '"' : (*q == ' ' || *q == '\t'))
      break;
    else
      q++;
  }
  if (quoted && q >= c->end) {
    *problem = "unterminated quote in the GLOB";
    return NULL;
  }
  if (q == start) {
    *problem = "empty GLOB";
    return NULL;
  }
  c->p = q + quoted;
  char *glob = strndup(start, (size_t)(q - start));
  if (glob == NULL)
    *problem = "out of memory";
  return glob;
}

static int add_entry(gh_known *k, gh_known_entry e) {
  gh_known_entry *grown = realloc(k->entries, (k->count + 1) * sizeof(*grown));
  if (grown == NULL)
    return -1;
  k->entries = grown;
  grown[k->count++] = e;
  return 0;
}

/* Parses one line ([start, end), no newline) into k. */
static int parse_line(gh_known *k, const char *start, const char *end, int line, char *why,
                      size_t why_len) {
  const char *src = k->source;
  line_cursor c = {start, end};
  if (c.end > c.p && c.end[-1] == '\r')
    c.end--;
  skip_blanks(&c);
  if (at_end(&c) || *c.p == '#')
    return 0;
  char *verb = take_word(&c);
  if (verb == NULL)
    return gu_fail(why, why_len, "%s:%d: out of memory", src, line);
  bool is_fail = strcmp(verb, VERB_FAIL) == 0;
  if (!is_fail) {
    gu_fail(why, why_len, "%s:%d: unknown verb \"%.64s\" (expected: fail GLOB reason...)", src,
            line, verb);
    free(verb);
    return -1;
  }
  free(verb);
  skip_blanks(&c);
  if (at_end(&c))
    return gu_fail(why, why_len, "%s:%d: \"fail\" needs a GLOB and a reason", src, line);
  const char *problem = NULL;
  char *glob = take_glob(&c, &problem);
  if (glob == NULL)
    return gu_fail(why, why_len, "%s:%d: %s", src, line, problem);
  bool separated = at_end(&c) || *c.p == ' ' || *c.p == '\t';
  skip_blanks(&c);
  const char *rend = c.end;
  while (rend > c.p && (rend[-1] == ' ' || rend[-1] == '\t'))
    rend--;
  int rc = 0;
  if (!separated)
    rc = gu_fail(why, why_len,
                 "%s:%d: text right after the quoted GLOB (put a blank before the "
                 "reason)",
                 src, line);
  else if (rend <= c.p)
    rc = gu_fail(why, why_len, "%s:%d: missing reason for \"%s\" (say why the gateway fails it)",
                 src, line, glob);
  for (size_t i = 0; rc == 0 && i < k->count; i++)
    if (strcmp(k->entries[i].glob, glob) == 0)
      rc = gu_fail(why, why_len, "%s:%d: \"%s\" is already listed on line %d", src, line, glob,
                   k->entries[i].line);
  char *reason = rc == 0 ? strndup(c.p, (size_t)(rend - c.p)) : NULL;
  if (rc == 0 &&
      (reason == NULL ||
       add_entry(k, (gh_known_entry){.glob = glob, .reason = reason, .line = line}) != 0)) {
    gu_fail(why, why_len, "%s:%d: out of memory", src, line);
    rc = -1; /* said outright: the analyzer does not follow fail_why */
  }
  if (rc != 0) {
    free(glob);
    free(reason);
  }
  return rc;
}

int gh_known_parse(const char *text, const char *source, gh_known *k, char *why, size_t why_len) {
  memset(k, 0, sizeof(*k));
  k->source = strdup(source != NULL ? source : "known-failures");
  if (k->source == NULL)
    return gu_fail(why, why_len, "out of memory");
  if (text == NULL)
    text = "";
  int line = 1;
  for (const char *p = text; *p != '\0'; line++) {
    const char *nl = strchr(p, '\n');
    const char *end = nl != NULL ? nl : p + strlen(p);
    if (parse_line(k, p, end, line, why, why_len) != 0) {
      gh_known_free(k);
      return -1;
    }
    p = nl != NULL ? nl + 1 : end;
  }
  return 0;
}

int gh_known_load(const char *path, gh_known *k, char *why, size_t why_len) {
  memset(k, 0, sizeof(*k));
  char *text = NULL;
  size_t len = 0;
  if (gu_read_file(path, 0, &text, &len) != 0)
    return errno == EIO || errno == ENOMEM
               ? gu_fail(why, why_len, "cannot read %s", path)
               : gu_fail(why, why_len, "cannot read %s: %s", path, strerror(errno));
  int rc = 0;
  if (memchr(text, '\0', len) != NULL)
    rc = gu_fail(why, why_len, "%s: a NUL byte: not a text file", path);
  else
    rc = gh_known_parse(text, path, k, why, why_len);
  free(text);
  return rc;
}

void gh_known_free(gh_known *k) {
  if (k == NULL)
    return;
  for (size_t i = 0; k->entries != NULL && i < k->count; i++) {
    free(k->entries[i].glob);
    free(k->entries[i].reason);
  }
  free(k->entries);
  free(k->source);
  memset(k, 0, sizeof(*k));
}

const gh_known_entry *gh_known_match(const gh_known *k, const char *name) {
  for (size_t i = 0; k != NULL && name != NULL && i < k->count; i++)
    if (fnmatch(k->entries[i].glob, name, 0) == 0)
      return &k->entries[i];
  return NULL;
}

/* ---------------------------------------------------------------------------
 * The check.
 * ------------------------------------------------------------------------- */

/* What one entry matched: a count per outcome (GH_PASS..GH_SKIP). */
typedef struct entry_hits {
  size_t by_outcome[GH_SKIP + 1];
} entry_hits;

static const char *one_line(const char *s) { return s != NULL ? s : ""; }

/* The first line of a message, for a one-line summary entry. */
static int first_line_len(const char *s) {
  size_t n = strcspn(one_line(s), "\r\n");
  return n > 200 ? 200 : (int)n;
}

static void count_hits(const gh_known *k, const gh_case *c, entry_hits *hits) {
  if (c->outcome < GH_PASS || c->outcome > GH_SKIP)
    return;
  for (size_t i = 0; i < k->count; i++)
    if (c->name != NULL && fnmatch(k->entries[i].glob, c->name, 0) == 0)
      hits[i].by_outcome[c->outcome]++;
}

/* One case's line in the summary, and its effect on the counts. */
static void check_case(const gh_known *k, const gh_case *c, FILE *f, gh_known_result *res) {
  const char *name = c->name != NULL ? c->name : "(unnamed)";
  const char *msg = one_line(c->message);
  const gh_known_entry *e = gh_known_match(k, name);
  if (c->outcome == GH_FAIL && e != NULL) {
    res->known++;
    fprintf(f, "  known       %s  (%s:%d: %s)\n", name, k->source, e->line, e->reason);
  } else if (c->outcome == GH_FAIL) {
    res->unexpected++;
    fprintf(f, "  unexpected  fail  %s: %.*s\n", name, first_line_len(msg), msg);
  } else if (c->outcome != GH_PASS && c->outcome != GH_SKIP) {
    res->unexpected++;
    fprintf(f, "  unexpected  error %s: %.*s%s\n", name, first_line_len(msg), msg,
            e != NULL ? " (listed, but an error is a harness or driver fault, never excused)" : "");
  }
}

static void report_stale(const gh_known *k, const entry_hits *hits, FILE *f, gh_known_result *res) {
  for (size_t i = 0; i < k->count; i++) {
    const size_t *n = hits[i].by_outcome;
    if (n[GH_FAIL] > 0)
      continue;
    res->stale++;
    fprintf(f, "  stale       %s:%d: \"%s\" matched no failed case", k->source, k->entries[i].line,
            k->entries[i].glob);
    if (n[GH_PASS] + n[GH_ERROR] + n[GH_SKIP] == 0)
      fprintf(f, " (no case of that name ran: remove or fix the line)\n");
    else
      fprintf(f, " (it matched %zu passed, %zu errors, %zu skipped: the gateway may conform now)\n",
              n[GH_PASS], n[GH_ERROR], n[GH_SKIP]);
  }
}

int gh_known_check(const gh_known *k, const gh_run *run, gh_known_result *res, char *why,
                   size_t why_len) {
  memset(res, 0, sizeof(*res));
  static const gh_known empty = {.source = "known-failures"};
  if (k == NULL)
    k = &empty;
  size_t count = run != NULL && run->cases != NULL ? run->count : 0;
  entry_hits *hits = calloc(k->count + 1, sizeof(*hits));
  char *body = NULL, *text = NULL;
  size_t body_len = 0, text_len = 0;
  FILE *f = hits != NULL ? open_memstream(&body, &body_len) : NULL;
  if (f == NULL) {
    free(hits);
    return gu_fail(why, why_len, "out of memory checking the known failures");
  }
  for (size_t i = 0; i < count; i++) {
    count_hits(k, &run->cases[i], hits);
    check_case(k, &run->cases[i], f, res);
  }
  report_stale(k, hits, f, res);
  free(hits);
  bool bad = ferror(f) != 0;
  if (fclose(f) != 0 || bad) {
    free(body);
    return gu_fail(why, why_len, "out of memory checking the known failures");
  }
  res->ok = res->unexpected == 0 && res->stale == 0;
  FILE *s = open_memstream(&text, &text_len);
  if (s != NULL) {
    fprintf(s, "known failures (%s, %zu entr%s): %zu known, %zu unexpected, %zu stale: %s\n",
            k->source, k->count, k->count == 1 ? "y" : "ies", res->known, res->unexpected,
            res->stale, res->ok ? "OK" : "FAILED");
    fputs(body, s);
    bad = ferror(s) != 0;
    if (fclose(s) != 0 || bad) {
      free(text);
      text = NULL;
    }
  }
  free(body);
  if (text == NULL)
    return gu_fail(why, why_len, "out of memory checking the known failures");
  res->summary = text;
  return 0;
}

void gh_known_result_free(gh_known_result *res) {
  if (res == NULL)
    return;
  free(res->summary);
  memset(res, 0, sizeof(*res));
}
