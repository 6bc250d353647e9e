/* report.c - the console lines, junit.xml and conformance.json of a run.
 *
 * How it works
 * ------------
 *
 * The runner appends one gh_case per case with gh_run_add, which deep copies
 * the case and passes every string through the report filter right away, so
 * what the run holds (and what the console shows) is already redacted. The
 * writers filter every string again as they write it, because a run may also
 * be filled by hand and its own fields (driver, versions, hostname) are set
 * directly. A second pass finds no secret left (unless a secret is part of
 * the word "[redacted]" itself, which only makes the text uglier).
 *
 * The filter (gh_report_clean) works in two passes over the raw bytes:
 *
 *   1. Secrets. Every occurrence of every non-empty secret is found with
 *      memmem and its bytes are marked in a mask. A run of marked bytes is
 *      written as one "[redacted]". Marking the union of all occurrences is
 *      "longest first" without its failure mode: with secrets "ab" and
 *      "bcdefg", replacing left to right would leave "cdefg" in the clear;
 *      the mask leaves nothing of either. Overlapping or adjacent
 *      occurrences therefore become a single "[redacted]".
 *   2. Characters. The unmarked bytes are decoded as strict UTF-8. What is
 *      not a character XML 1.0 allows is replaced by U+FFFD: C0 controls
 *      other than \t \n \r, lone surrogates (ED A0 80 ...), U+FFFE, U+FFFF,
 *      overlong forms, code points past U+10FFFF, and stray bytes (one
 *      U+FFFD per byte of an ill-formed sequence, one per well-formed
 *      sequence of a forbidden code point). DEL and the C1 controls
 *      (U+007F..U+009F) are replaced too: XML 1.0 allows but discourages
 *      them, and terminals act on them (U+009B is a CSI), as they do on ESC.
 *
 * The output is therefore valid UTF-8 of XML-1.0 characters, which both
 * libxml2 and jansson accept as is.
 *
 * junit.xml is made with libxml2's xmlTextWriter into a memory buffer (never
 * by hand, so the writer does all the escaping), then written to
 * "<path>.tmp", fsync'd and renamed over <path>; on any failure the temporary
 * file is removed and an existing report is left as it was. The layout is
 * the one both schemas accept (fixtures/schemas/README.md says why):
 *
 *   <testsuites>                       no attributes (strict Ant)
 *     <testsuite name=FEATURE package=PROFILE id=N timestamp hostname
 *                tests failures errors skipped time>
 *       <properties> driver, driver_version, profile, fake_epoch,
 *                    product, harness_version </properties>
 *       <testcase name classname="PROFILE.FEATURE" time="0.123">
 *         <failure type="non-conformance" message="first line">detail,
 *                  reproduce command, file, gateway log tail</failure>
 *         | <error type="harness" ...>  | <skipped message="reason"/>
 *       </testcase> ...
 *       <system-out> per case: outcome, reproduce command, and the log tail
 *                    of cases without a <failure>/<error> body </system-out>
 *       <system-err></system-err>
 *
 * One testsuite per feature, in order of first appearance. A case with
 * several features appears only in the testsuite of features[0]: a testcase
 * listed twice would be counted twice by every CI tool. GitLab keys cases by
 * classname+name and keeps the first duplicate, so a name that repeats within
 * a classname (which the runner should never produce) gets " #2", " #3".
 * The strict Ant schema forbids <system-out> inside a testcase, so a case's
 * own output goes into its <failure>/<error> body (which is what Jenkins and
 * GitLab show for a failed case) or into the suite's <system-out>. A log tail
 * is capped at LOG_TAIL_MAX bytes in junit.xml, keeping the end (GitLab
 * refuses files over 30 MB); it is filtered before it is cut, so the cut can
 * never expose part of a secret. Times are formatted from integer
 * milliseconds, never with %f, so a locale with a decimal comma cannot break
 * xs:decimal.
 *
 * conformance.json is built with jansson (dumped into memory, then the same
 * temporary-file-and-rename): per feature, every case that lists the feature
 * counts, not only features[0]. A feature or a run is "failure" when a case
 * failed or errored, "partial" when none did but some were skipped (a claimed
 * feature whose tests are skipped is not conformant, the Gateway API rule),
 * "success" when every case passed or is not applicable (the product has no
 * such feature: the driver's not-applicable table names the rule) and at
 * least one passed, "not_applicable" when every case is. An empty run is
 * "partial": nothing was shown to conform, and a CI gate must not pass on a
 * filter that matched nothing. A case not applicable is a GH_SKIP with
 * not_applicable set: junit.xml keeps it a <skipped> (its message names the
 * rule) and counts it in the suite's skipped; conformance.json gives it the
 * outcome "not_applicable", its own count ("not_applicable" per feature and
 * in "statistics") and its own list ("not_applicable": name and reason),
 * apart from "skipped".
 *
 * A shard's report (gatecert run --shard K/N) has "shard": {"index": K,
 * "total": N}; a merged one (gatecert merge) "merged_shards": N.
 *
 * "cases" lists every case in run order, whatever its outcome: name, file,
 * features (filtered, "unspecified" when none), outcome, message (null when
 * it passed), seconds (real), fake_seconds, and "applies" / "apply_ms" only
 * when the driver applied configuration (a real gateway's reloads), so a
 * reader can tell "no applies" from "zero of them"; a cluster case adds
 * "nodes" and "calls" ([{fake_seconds, node, status, ok}], from its timeline's
 * call marks), and junit.xml's <system-out> line "cluster of N nodes; calls
 * (fake seconds node:status): 590.000 1:500 2:500; 600.000 1:200 2:500"
 * ("!" after a call whose expectation did not hold).
 *
 * Nothing here prints except the gh_console_* functions; errors are returned
 * with a reason in the caller's buffer. libxml2 would print its own errors to
 * stderr, so a capturing handler is installed around the XML writer.
 */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlwriter.h>

#include "gutil.h"

#define REDACTED     "[redacted]"
#define REPLACEMENT  "\xEF\xBF\xBD" /* U+FFFD */
#define LOG_TAIL_MAX ((size_t)64 * 1024)
#define NO_FEATURE   "unspecified"
#define NO_PROFILE   "gatecert"

#define ANSI_RESET  "\033[0m"
#define ANSI_RED    "\033[31m"
#define ANSI_GREEN  "\033[32m"
#define ANSI_YELLOW "\033[33m"
#define ANSI_CYAN   "\033[36m"

/* A growing string is util's gu_text (gutil.h); take() also turns "nothing
 * appended" into an empty string, which the report writers return. */

static void sb_puts(gu_text *b, const char *s) { gu_text_add(b, s, strlen(s)); }

/* The string, or NULL (freed) when an append failed. */
static char *sb_take(gu_text *b) {
  int failed = b->failed, empty = b->data == NULL;
  char *data = gu_text_take(b);
  if (!failed && empty)
    return strdup("");
  return data;
}

/* ---------------------------------------------------------------------------
 * The filter.
 * ------------------------------------------------------------------------- */

/* 1 for a code point the reports may carry (see the top of this file). */
static int char_allowed(uint32_t cp) {
  if (cp == 0x9 || cp == 0xA || cp == 0xD)
    return 1;
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
    return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF)
    return 0;
  if (cp == 0xFFFE || cp == 0xFFFF)
    return 0;
  return cp <= 0x10FFFF;
}

/* Decodes one UTF-8 sequence of s[0..n). Returns its length and sets *cp,
 * with *cp = UINT32_MAX for a well-formed sequence that encodes no valid
 * scalar (overlong, surrogate, past U+10FFFF); 0 when s[0] starts no
 * well-formed sequence at all. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
  unsigned char b0 = s[0];
  size_t len;
  uint32_t v;
  uint32_t min;
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  if (b0 >= 0xC0 && b0 <= 0xDF) {
    len = 2;
    v = b0 & 0x1Fu;
    min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    v = b0 & 0x0Fu;
    min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF7) {
    len = 4;
    v = b0 & 0x07u;
    min = 0x10000;
  } else {
    return 0; /* a continuation byte or 0xF8..0xFF */
  }
  if (len > n)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    v = (v << 6) | (s[i] & 0x3Fu);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
    v = UINT32_MAX;
  *cp = v;
  return len;
}

/* Appends s[0..n) (no secret in it) with forbidden characters replaced. */
static void put_xml_chars(gu_text *b, const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t run = i; /* a run of plain allowed ASCII, copied at once */
    while (run < n && s[run] >= 0x20 && s[run] < 0x7F)
      run++;
    if (run > i) {
      gu_text_add(b, (const char *)s + i, run - i);
      i = run;
      continue;
    }
    uint32_t cp = 0;
    size_t len = utf8_decode(s + i, n - i, &cp);
    if (len == 0) {
      sb_puts(b, REPLACEMENT);
      i++;
    } else {
      if (cp != UINT32_MAX && char_allowed(cp))
        gu_text_add(b, (const char *)s + i, len);
      else
        sb_puts(b, REPLACEMENT);
      i += len;
    }
  }
}

char *gh_report_clean(const char *text, const char *const *secrets) {
  if (text == NULL)
    return strdup("");
  size_t n = strlen(text);
  unsigned char *mask = NULL;
  if (secrets != NULL && n > 0) {
    for (const char *const *s = secrets; *s != NULL; s++) {
      size_t slen = strlen(*s);
      if (slen == 0 || slen > n)
        continue;
      const char *from = text;
      const char *hit;
      while ((hit = memmem(from, n - (size_t)(from - text), *s, slen)) != NULL) {
        if (mask == NULL) {
          mask = calloc(n, 1);
          if (mask == NULL)
            return NULL;
        }
        memset(mask + (hit - text), 1, slen);
        from = hit + 1;
      }
    }
  }
  gu_text b = {0};
  gu_text_add(&b, "", 0);
  const unsigned char *u = (const unsigned char *)text;
  size_t i = 0;
  while (i < n) {
    if (mask != NULL && mask[i]) {
      sb_puts(&b, REDACTED);
      while (i < n && mask[i])
        i++;
      continue;
    }
    size_t end = i;
    while (end < n && (mask == NULL || !mask[end]))
      end++;
    put_xml_chars(&b, u + i, end - i);
    i = end;
  }
  free(mask);
  return sb_take(&b);
}

/* ---------------------------------------------------------------------------
 * The run.
 * ------------------------------------------------------------------------- */

const char *gh_outcome_name(gh_outcome outcome) {
  switch (outcome) {
  case GH_PASS:
    return "pass";
  case GH_FAIL:
    return "fail";
  case GH_ERROR:
    return "error";
  case GH_SKIP:
    return "skip";
  }
  return "unknown";
}

const char *gh_event_kind_name(gh_event_kind kind) {
  static const char *const names[] = {"call",    "clock", "change", "reload",
                                      "restart", "tick",  "log"};
  return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "unknown";
}

/* The outcome a report shows: an out-of-range value is a harness bug. */
static gh_outcome outcome_of(const gh_case *c) {
  switch (c->outcome) {
  case GH_PASS:
  case GH_FAIL:
  case GH_ERROR:
  case GH_SKIP:
    return c->outcome;
  }
  return GH_ERROR;
}

static void case_free(gh_case *c) {
  free(c->name);
  free(c->file);
  if (c->features != NULL) {
    for (size_t i = 0; i < c->feature_count; i++)
      free(c->features[i]);
    free(c->features);
  }
  free(c->profile);
  free(c->message);
  free(c->detail);
  free(c->log_tail);
  free(c->reproduce);
  for (size_t i = 0; c->events != NULL && i < c->event_count; i++) {
    free(c->events[i].clock);
    free(c->events[i].label);
  }
  free(c->events);
  memset(c, 0, sizeof(*c));
}

/* *dst = the filtered copy of src (NULL stays NULL). false on allocation failure. */
static bool dup_clean(char **dst, const char *src, const char *const *secrets) {
  *dst = NULL;
  if (src == NULL)
    return true;
  *dst = gh_report_clean(src, secrets);
  return *dst != NULL;
}

gh_case *gh_run_add(gh_run *run, const gh_case *c) {
  if (run == NULL || c == NULL)
    return NULL;
  const char *const *secrets = run->secrets;
  gh_case copy = {0};
  copy.outcome = c->outcome;
  copy.not_applicable = c->outcome == GH_SKIP && c->not_applicable;
  copy.seconds = c->seconds;
  copy.fake_ms = c->fake_ms;
  copy.applies = c->applies;
  copy.apply_ms = c->apply_ms;
  copy.start_ms = c->start_ms;
  copy.nodes = c->nodes;
  bool ok = dup_clean(&copy.name, c->name, secrets) && dup_clean(&copy.file, c->file, secrets) &&
            dup_clean(&copy.profile, c->profile, secrets) &&
            dup_clean(&copy.message, c->message, secrets) &&
            dup_clean(&copy.detail, c->detail, secrets) &&
            dup_clean(&copy.log_tail, c->log_tail, secrets) &&
            dup_clean(&copy.reproduce, c->reproduce, secrets);
  if (ok && c->features != NULL && c->feature_count > 0) {
    copy.features = calloc(c->feature_count, sizeof(*copy.features));
    ok = copy.features != NULL;
    for (size_t i = 0; ok && i < c->feature_count; i++) {
      ok = dup_clean(&copy.features[i], c->features[i], secrets);
      copy.feature_count = i + 1;
    }
  }
  if (ok && c->events != NULL && c->event_count > 0) { /* the timeline, its texts filtered */
    copy.events = calloc(c->event_count, sizeof(*copy.events));
    ok = copy.events != NULL;
    for (size_t i = 0; ok && i < c->event_count; i++) {
      copy.events[i] = (gh_event){.at_ms = c->events[i].at_ms,
                                  .kind = c->events[i].kind,
                                  .ok = c->events[i].ok,
                                  .node = c->events[i].node,
                                  .status = c->events[i].status};
      copy.event_count = i + 1;
      ok = dup_clean(&copy.events[i].clock, c->events[i].clock, secrets) &&
           dup_clean(&copy.events[i].label, c->events[i].label, secrets);
    }
  }
  gh_case *cases = ok ? realloc(run->cases, (run->count + 1) * sizeof(*cases)) : NULL;
  if (cases == NULL) {
    case_free(&copy);
    return NULL;
  }
  run->cases = cases;
  cases[run->count] = copy;
  return &cases[run->count++];
}

/* The cases a run really has (none when its array is missing). */
static size_t case_count(const gh_run *run) {
  return run != NULL && run->cases != NULL ? run->count : 0;
}

void gh_run_free(gh_run *run) {
  if (run == NULL)
    return;
  for (size_t i = 0; i < case_count(run); i++)
    case_free(&run->cases[i]);
  free(run->cases);
  run->cases = NULL;
  run->count = 0;
}

/* 1 for a skipped case that is not applicable to the product. */
static bool is_na(const gh_case *c) { return outcome_of(c) == GH_SKIP && c->not_applicable; }

const char *gh_case_outcome_name(const gh_case *c) {
  if (c == NULL)
    return "unknown";
  return is_na(c) ? GH_NOT_APPLICABLE : gh_outcome_name(outcome_of(c));
}

static void tally_add(gh_tally *t, const gh_case *c) {
  switch (outcome_of(c)) {
  case GH_PASS:
    t->pass++;
    break;
  case GH_FAIL:
    t->fail++;
    break;
  case GH_SKIP:
    if (c->not_applicable)
      t->na++;
    else
      t->skip++;
    break;
  case GH_ERROR:
    t->error++;
    break;
  }
}

gh_tally gh_run_tally(const gh_run *run) {
  gh_tally t = {0};
  if (run == NULL)
    return t;
  for (size_t i = 0; i < case_count(run); i++)
    tally_add(&t, &run->cases[i]);
  return t;
}

/* "failure", "partial", "success" or "not_applicable" for a set of cases
 * (see the top). */
static const char *result_of(gh_tally t) {
  if (t.fail + t.error > 0)
    return "failure";
  if (t.skip > 0)
    return "partial";
  if (t.pass == 0)
    return t.na > 0 ? GH_NOT_APPLICABLE : "partial";
  return "success";
}

/* The feature a case is reported under in junit.xml: features[0]. */
static const char *case_feature(const gh_case *c, size_t i) {
  if (c->features == NULL || i >= c->feature_count || c->features[i] == NULL ||
      c->features[i][0] == '\0')
    return NO_FEATURE;
  return c->features[i];
}

/* ---------------------------------------------------------------------------
 * Number formats: from integers, so the locale's decimal point never matters.
 * ------------------------------------------------------------------------- */

/* Seconds to whole units of 1/scale s, clamped to [0, 1e12 s]; NaN is 0. */
static long long to_units(double seconds, double scale) {
  if (!(seconds > 0)) /* also NaN */
    return 0;
  if (seconds > 1e12)
    seconds = 1e12;
  return llround(seconds * scale);
}

/* "12.345" */
static void fmt_ms(char *out, size_t len, long long ms) {
  snprintf(out, len, "%lld.%03lld", ms / 1000, ms % 1000);
}

/* "2h 10m 5s", "10m 0s", "45s", "0.250s" */
static void fmt_fake(char *out, size_t len, int64_t ms) {
  if (ms < 0)
    ms = 0;
  long long s = (long long)(ms / 1000);
  long long frac = (long long)(ms % 1000);
  if (s >= 3600)
    snprintf(out, len, "%lldh %lldm %llds", s / 3600, s % 3600 / 60, s % 60);
  else if (s >= 60)
    snprintf(out, len, "%lldm %llds", s / 60, s % 60);
  else if (frac != 0)
    snprintf(out, len, "%lld.%03llds", s, frac);
  else
    snprintf(out, len, "%llds", s);
}

static int64_t fake_total_ms(const gh_run *run) {
  int64_t total = 0;
  for (size_t i = 0; i < case_count(run); i++)
    if (run->cases[i].fake_ms > 0 && total <= INT64_MAX - run->cases[i].fake_ms)
      total += run->cases[i].fake_ms;
  return total;
}

/* ---------------------------------------------------------------------------
 * Console.
 * ------------------------------------------------------------------------- */

static const char *outcome_label(const gh_case *c) {
  static const char *const labels[] = {"PASS", "FAIL", "ERROR", "SKIP"};
  return is_na(c) ? "N/A" : labels[outcome_of(c)];
}

static const char *outcome_color(const gh_case *c) {
  static const char *const colors[] = {ANSI_GREEN, ANSI_RED, ANSI_RED, ANSI_YELLOW};
  return is_na(c) ? ANSI_CYAN : colors[outcome_of(c)];
}

/* Writes s, filtered without secrets (what a terminal would act on). */
static void put_clean(FILE *out, const char *s) {
  char *clean = gh_report_clean(s, NULL);
  fputs(clean != NULL ? clean : "?", out);
  free(clean);
}

void gh_console_case(FILE *out, int color, const gh_case *c) {
  if (out == NULL || c == NULL)
    return;
  gh_outcome o = outcome_of(c);
  const char *label = outcome_label(c);
  char secs[48];
  long long cs = to_units(c->seconds, 100);
  snprintf(secs, sizeof(secs), "%lld.%02lld", cs / 100, cs % 100);
  if (color)
    fprintf(out, "%s%s%s", outcome_color(c), label, ANSI_RESET);
  else
    fputs(label, out);
  fprintf(out, "%*s", (int)(6 - strlen(label)), "");
  put_clean(out, c->name != NULL ? c->name : "(unnamed)");
  fprintf(out, "  (%s s)\n", secs);
  if (o != GH_PASS) {
    char *msg = gh_report_clean(c->message != NULL ? c->message : "(no message)", NULL);
    const char *line = msg != NULL ? msg : "?";
    for (;;) { /* every line of the message, indented under the name */
      size_t len = strcspn(line, "\n");
      fprintf(out, "      %.*s\n", (int)len, line);
      if (line[len] == '\0')
        break;
      line += len + 1;
    }
    free(msg);
    if ((o == GH_FAIL || o == GH_ERROR) && c->reproduce != NULL) {
      fputs("      reproduce: ", out); /* a line to paste: quoted by the runner (gutil.h) */
      put_clean(out, c->reproduce);
      fputc('\n', out);
    }
  }
  fflush(out);
}

/* "<n> <word>", coloured when n > 0 and color is on. */
static void put_count(FILE *out, int color, const char *ansi, size_t n, const char *word) {
  if (color && n > 0)
    fprintf(out, "%s%zu %s%s", ansi, n, word, ANSI_RESET);
  else
    fprintf(out, "%zu %s", n, word);
}

void gh_console_summary(FILE *out, int color, const gh_run *run, const char *reports_dir) {
  if (out == NULL || run == NULL)
    return;
  gh_tally t = gh_run_tally(run);
  const char *result = result_of(t);
  const char *ansi = strcmp(result, "failure") == 0           ? ANSI_RED
                     : strcmp(result, "partial") == 0         ? ANSI_YELLOW
                     : strcmp(result, GH_NOT_APPLICABLE) == 0 ? ANSI_CYAN
                                                              : ANSI_GREEN;
  const char *word = strcmp(result, "failure") == 0           ? "FAILURE"
                     : strcmp(result, "partial") == 0         ? "PARTIAL"
                     : strcmp(result, GH_NOT_APPLICABLE) == 0 ? "NOT APPLICABLE"
                                                              : "SUCCESS";
  if (color)
    fprintf(out, "%s%s%s", ansi, word, ANSI_RESET);
  else
    fputs(word, out);
  fprintf(out, "  %zu cases: ", run->count);
  put_count(out, color, ANSI_GREEN, t.pass, "passed");
  fputs(", ", out);
  put_count(out, color, ANSI_RED, t.fail, "failed");
  fputs(", ", out);
  put_count(out, color, ANSI_RED, t.error, "errors");
  fputs(", ", out);
  put_count(out, color, ANSI_YELLOW, t.skip, "skipped");
  fputs(", ", out);
  put_count(out, color, ANSI_CYAN, t.na, "not applicable");
  char real[48];
  char fake[64];
  fmt_ms(real, sizeof(real), to_units(run->seconds, 1000));
  fmt_fake(fake, sizeof(fake), fake_total_ms(run));
  fprintf(out, " in %s s real, %s fake", real, fake);
  if (reports_dir != NULL) {
    fputs("; reports in ", out);
    put_clean(out, reports_dir);
  }
  fputc('\n', out);
  fflush(out);
}

int gh_console_color(FILE *out) {
  if (out == NULL)
    return 0;
  int fd = fileno(out);
  if (fd < 0 || !isatty(fd))
    return 0;
  const char *no_color = getenv("NO_COLOR");
  return no_color == NULL || no_color[0] == '\0';
}

/* ---------------------------------------------------------------------------
 * Writing a file atomically.
 * ------------------------------------------------------------------------- */

static int write_atomic(const char *path, const char *data, size_t len, char *why, size_t why_len) {
  size_t plen = strlen(path);
  char *tmp = malloc(plen + sizeof(".tmp"));
  if (tmp == NULL) {
    gu_fail(why, why_len, "%s: out of memory", path);
    return -1;
  }
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".tmp", sizeof(".tmp"));
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    gu_fail(why, why_len, "cannot create %s: %s", tmp, strerror(errno));
    free(tmp);
    return -1;
  }
  const char *step = "write";
  size_t done = 0;
  int err = 0;
  while (done < len) {
    ssize_t n = write(fd, data + done, len - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    done += (size_t)n;
  }
  if (err == 0 && fsync(fd) != 0) {
    err = errno;
    step = "fsync";
  }
  if (close(fd) != 0 && err == 0) {
    err = errno;
    step = "close";
  }
  if (err == 0 && rename(tmp, path) != 0) {
    err = errno;
    step = "rename to";
  }
  if (err != 0) {
    if (strcmp(step, "rename to") == 0)
      gu_fail(why, why_len, "cannot rename %s to %s: %s", tmp, path, strerror(err));
    else
      gu_fail(why, why_len, "cannot %s %s: %s", step, tmp, strerror(err));
    unlink(tmp);
    free(tmp);
    return -1;
  }
  free(tmp);
  return 0;
}

int gh_report_write_atomic(const char *path, const char *data, size_t len, char *why,
                           size_t why_len) {
  return write_atomic(path, data, len, why, why_len);
}

/* ---------------------------------------------------------------------------
 * junit.xml
 * ------------------------------------------------------------------------- */

typedef struct xml_out {
  xmlTextWriterPtr w;
  const char *const *secrets;
  bool failed;
} xml_out;

static void x_start(xml_out *x, const char *name) {
  if (!x->failed && xmlTextWriterStartElement(x->w, BAD_CAST name) < 0)
    x->failed = true;
}

static void x_end(xml_out *x) {
  if (!x->failed && xmlTextWriterEndElement(x->w) < 0)
    x->failed = true;
}

/* An element with no content written as <name></name>: xmlTextWriter would
 * write <name/>, which is the same to every parser; FullEnd keeps it explicit. */
static void x_full_end(xml_out *x) {
  if (!x->failed && xmlTextWriterFullEndElement(x->w) < 0)
    x->failed = true;
}

/* An attribute with a value already filtered. */
static void x_attr_raw(xml_out *x, const char *name, const char *value) {
  if (!x->failed && xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST value) < 0)
    x->failed = true;
}

/* An attribute with a value to filter (NULL is ""). */
static void x_attr(xml_out *x, const char *name, const char *value) {
  if (x->failed)
    return;
  char *clean = gh_report_clean(value, x->secrets);
  if (clean == NULL) {
    x->failed = true;
    return;
  }
  x_attr_raw(x, name, clean);
  free(clean);
}

static void x_attr_count(xml_out *x, const char *name, size_t n) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%zu", n);
  x_attr_raw(x, name, buf);
}

static void x_text(xml_out *x, const char *filtered) {
  if (!x->failed && filtered[0] != '\0' && xmlTextWriterWriteString(x->w, BAD_CAST filtered) < 0)
    x->failed = true;
}

/* 1 when s has a character other than XML white space (xs:token minLength 1). */
static int has_token(const char *s) { return s != NULL && s[strspn(s, " \t\r\n")] != '\0'; }

/* A filtered copy of s, or of fallback when s is NULL or blank once filtered. */
static char *clean_or(const char *s, const char *fallback, const char *const *secrets) {
  char *clean = gh_report_clean(s, secrets);
  if (clean != NULL && !has_token(clean)) {
    free(clean);
    clean = strdup(fallback);
  }
  return clean;
}

/* The first line of an already filtered text (in place). */
static char *first_line(char *s) {
  s[strcspn(s, "\r\n")] = '\0';
  return s;
}

static int days_in_month(int year, int month) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : days[month - 1];
}

/* out = the first 19 characters of started when they are a real
 * YYYY-MM-DDTHH:MM:SS date (anything after them, a zone or a fraction, is
 * dropped); otherwise the local time now. */
static void ant_timestamp(const char *started, char out[20]) {
  static const char shape[] = "dddd-dd-ddTdd:dd:dd";
  int ok = started != NULL && strlen(started) >= 19;
  for (size_t i = 0; ok && i < 19; i++)
    ok = shape[i] == 'd' ? started[i] >= '0' && started[i] <= '9' : started[i] == shape[i];
  if (ok) {
    int year = 0;
    int month = 0;
    int day = 0;
    int hour = 0;
    int min = 0;
    int sec = 0;
    for (int i = 0; i < 4; i++)
      year = year * 10 + (started[i] - '0');
    month = (started[5] - '0') * 10 + (started[6] - '0');
    day = (started[8] - '0') * 10 + (started[9] - '0');
    hour = (started[11] - '0') * 10 + (started[12] - '0');
    min = (started[14] - '0') * 10 + (started[15] - '0');
    sec = (started[17] - '0') * 10 + (started[18] - '0');
    ok = year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= days_in_month(year, month) &&
         hour <= 23 && min <= 59 && sec <= 59;
  }
  if (ok) {
    memcpy(out, started, 19);
    out[19] = '\0';
    return;
  }
  time_t now = time(NULL);
  struct tm tm;
  if (localtime_r(&now, &tm) == NULL || strftime(out, 20, "%Y-%m-%dT%H:%M:%S", &tm) != 19)
    memcpy(out, "1970-01-01T00:00:00", 20);
}

/* Appends a filtered log tail, cut to its last LOG_TAIL_MAX bytes. */
static void put_log_tail(gu_text *b, const char *filtered) {
  size_t n = strlen(filtered);
  size_t start = 0;
  if (n > LOG_TAIL_MAX) {
    start = n - LOG_TAIL_MAX;
    while (start < n && ((unsigned char)filtered[start] & 0xC0) == 0x80)
      start++; /* a character boundary */
    const char *nl = memchr(filtered + start, '\n', n - start);
    if (nl != NULL && (size_t)(nl - filtered) + 1 - start < LOG_TAIL_MAX / 2)
      start = (size_t)(nl - filtered) + 1; /* a line boundary, when one is near */
    gu_text_printf(b, "[... %zu earlier bytes of the log omitted ...]\n", start);
  }
  gu_text_add(b, filtered + start, n - start);
  if (n > start && filtered[n - 1] != '\n')
    sb_puts(b, "\n");
}

/* The filtered strings of one case, made once. */
typedef struct clean_case {
  char *name, *file, *message, *detail, *log_tail, *reproduce;
} clean_case;

static void clean_case_free(clean_case *cc) {
  free(cc->name);
  free(cc->file);
  free(cc->message);
  free(cc->detail);
  free(cc->log_tail);
  free(cc->reproduce);
}

static bool clean_case_make(clean_case *cc, const gh_case *c, const char *const *secrets) {
  memset(cc, 0, sizeof(*cc));
  bool ok = dup_clean(&cc->name, c->name != NULL ? c->name : "(unnamed)", secrets) &&
            dup_clean(&cc->file, c->file, secrets) &&
            dup_clean(&cc->message, c->message, secrets) &&
            dup_clean(&cc->detail, c->detail, secrets) &&
            dup_clean(&cc->log_tail, c->log_tail, secrets) &&
            dup_clean(&cc->reproduce, c->reproduce, secrets);
  if (!ok)
    clean_case_free(cc);
  return ok;
}

/* The body of a <failure> or <error>: the whole story of the case. */
static char *failure_body(const clean_case *cc) {
  gu_text b = {0};
  gu_text_add(&b, "", 0);
  if (cc->message != NULL && cc->message[0] != '\0')
    gu_text_printf(&b, "%s\n", cc->message);
  if (cc->detail != NULL && cc->detail[0] != '\0') {
    gu_text_printf(&b, "\n%s", cc->detail);
    if (cc->detail[strlen(cc->detail) - 1] != '\n')
      sb_puts(&b, "\n");
  }
  if (cc->file != NULL)
    gu_text_printf(&b, "\nscenario: %s\n", cc->file);
  if (cc->reproduce != NULL)
    gu_text_printf(&b, "reproduce: %s\n", cc->reproduce);
  if (cc->log_tail != NULL && cc->log_tail[0] != '\0') {
    sb_puts(&b, "\ngateway log (tail):\n");
    put_log_tail(&b, cc->log_tail);
  }
  return sb_take(&b);
}

/* Appends what the suite's <system-out> says about one case. */
static void system_out_case(gu_text *b, const clean_case *cc, const char *name, const gh_case *c,
                            const char *secs) {
  gh_outcome o = outcome_of(c);
  gu_text_printf(b, "=== %s: %s (%s s)\n", name, gh_case_outcome_name(c), secs);
  if (cc->reproduce != NULL)
    gu_text_printf(b, "reproduce: %s\n", cc->reproduce);
  if (c->nodes > 0) { /* a cluster: which node answered each call */
    gu_text_printf(b, "cluster of %d nodes; calls (fake seconds node:status):", c->nodes);
    int64_t at = -1;
    for (size_t i = 0; c->events != NULL && i < c->event_count; i++) {
      const gh_event *e = &c->events[i];
      if (e->kind != GH_EV_CALL || e->node <= 0)
        continue;
      if (e->at_ms != at)
        gu_text_printf(b, "%s %lld.%03lld", at < 0 ? "" : ";", (long long)(e->at_ms / 1000),
                       (long long)(e->at_ms % 1000));
      at = e->at_ms;
      gu_text_printf(b, " %d:%ld%s", e->node, e->status, e->ok ? "" : "!");
    }
    sb_puts(b, at < 0 ? " none\n" : "\n");
  }
  if (cc->log_tail != NULL && cc->log_tail[0] != '\0') {
    if (o == GH_FAIL || o == GH_ERROR) {
      gu_text_printf(b, "gateway log (tail): in the <%s> element of this case\n",
                     o == GH_FAIL ? "failure" : "error");
    } else {
      sb_puts(b, "gateway log (tail):\n");
      put_log_tail(b, cc->log_tail);
    }
  }
  sb_puts(b, "\n");
}

/* The names written so far in one suite, as "classname\x1fname" (filtered
 * text never holds U+001F, so the key is unambiguous). */
typedef struct name_set {
  char **keys;
  size_t count;
} name_set;

static void name_set_free(name_set *s) {
  for (size_t i = 0; i < s->count; i++)
    free(s->keys[i]);
  free(s->keys);
}

/* The name a case is written with: its own, or "name #k" when the same
 * classname already has that name in this suite (GitLab would drop it). */
static char *unique_name(name_set *seen, const char *classname, const char *name) {
  for (unsigned k = 1;; k++) {
    gu_text candidate = {0};
    if (k == 1)
      sb_puts(&candidate, name);
    else
      gu_text_printf(&candidate, "%s #%u", name, k);
    gu_text key = {0};
    if (!candidate.failed)
      gu_text_printf(&key, "%s\x1f%s", classname, candidate.data);
    char *cand = sb_take(&candidate);
    char *k_str = sb_take(&key);
    if (cand == NULL || k_str == NULL) {
      free(cand);
      free(k_str);
      return NULL;
    }
    int dup = 0;
    for (size_t i = 0; i < seen->count && !dup; i++)
      dup = strcmp(seen->keys[i], k_str) == 0;
    if (!dup) {
      char **keys = realloc(seen->keys, (seen->count + 1) * sizeof(*keys));
      if (keys == NULL) {
        free(cand);
        free(k_str);
        return NULL;
      }
      seen->keys = keys;
      keys[seen->count++] = k_str;
      return cand;
    }
    free(cand);
    free(k_str);
  }
}

typedef struct suite {
  const char *feature; /* features[0] of its cases (borrowed) */
  gh_tally tally;
  long long ms;
} suite;

static void write_case(xml_out *x, const gh_run *run, const gh_case *c, const char *feature,
                       name_set *seen, gu_text *out) {
  clean_case cc;
  if (!clean_case_make(&cc, c, x->secrets)) {
    x->failed = true;
    return;
  }
  gh_outcome o = outcome_of(c);
  char secs[48];
  fmt_ms(secs, sizeof(secs), to_units(c->seconds, 1000));
  const char *profile = c->profile != NULL ? c->profile : run->profile;
  char *prof = clean_or(profile, NO_PROFILE, x->secrets);
  char *feat = clean_or(feature, NO_FEATURE, x->secrets);
  gu_text cls = {0};
  if (prof != NULL && feat != NULL)
    gu_text_printf(&cls, "%s.%s", prof, feat);
  else
    cls.failed = true;
  char *classname = sb_take(&cls);
  char *name = classname != NULL ? unique_name(seen, classname, cc.name) : NULL;
  char *body = NULL;
  if (name == NULL) {
    x->failed = true;
    goto done;
  }
  x_start(x, "testcase");
  x_attr_raw(x, "name", name);
  x_attr_raw(x, "classname", classname);
  x_attr_raw(x, "time", secs);
  if (o == GH_SKIP) {
    x_start(x, "skipped");
    x_attr_raw(x, "message", cc.message != NULL ? first_line(cc.message) : "skipped");
    x_end(x);
  } else if (o == GH_FAIL || o == GH_ERROR) {
    body = failure_body(&cc);
    if (body == NULL) {
      x->failed = true;
      goto done;
    }
    const char *fallback = o == GH_FAIL ? "the gateway did not conform" : "harness error";
    x_start(x, o == GH_FAIL ? "failure" : "error");
    x_attr_raw(x, "type", o == GH_FAIL ? "non-conformance" : "harness");
    x_attr_raw(x, "message",
               cc.message != NULL && cc.message[0] != '\0' ? first_line(cc.message) : fallback);
    x_text(x, body);
    x_full_end(x);
  }
  x_end(x);
  system_out_case(out, &cc, name, c, secs);
  if (out->failed)
    x->failed = true;
done:
  free(body);
  free(name);
  free(classname);
  free(prof);
  free(feat);
  clean_case_free(&cc);
}

static void write_suite(xml_out *x, const gh_run *run, const suite *s, size_t id,
                        const char *timestamp, const char *hostname) {
  char secs[48];
  fmt_ms(secs, sizeof(secs), s->ms);
  x_start(x, "testsuite");
  char *name = clean_or(s->feature, NO_FEATURE, x->secrets);
  char *package = clean_or(run->profile, NO_PROFILE, x->secrets);
  if (name == NULL || package == NULL) {
    x->failed = true;
  } else {
    x_attr_raw(x, "name", name);
    x_attr_raw(x, "package", package);
  }
  free(name);
  free(package);
  x_attr_count(x, "id", id);
  x_attr_raw(x, "timestamp", timestamp);
  x_attr_raw(x, "hostname", hostname);
  x_attr_count(x, "tests",
               s->tally.pass + s->tally.fail + s->tally.error + s->tally.skip + s->tally.na);
  x_attr_count(x, "failures", s->tally.fail);
  x_attr_count(x, "errors", s->tally.error);
  x_attr_count(x, "skipped", s->tally.skip + s->tally.na); /* <skipped> both */
  x_attr_raw(x, "time", secs);

  x_start(x, "properties");
  static const char *const names[] = {"driver",  "driver_version", "profile",
                                      "product", "fake_epoch",     "harness_version"};
  const char *const values[] = {run->implementation, run->implementation_version,
                                run->profile,        run->product != NULL ? run->product : "",
                                run->fake_epoch,     run->harness_version};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    x_start(x, "property");
    x_attr_raw(x, "name", names[i]);
    x_attr(x, "value", values[i]);
    x_end(x);
  }
  if (run->shard_total > 0) { /* --shard K/N, or a merge of N shards */
    char shard[32];
    if (run->shard_index > 0)
      snprintf(shard, sizeof(shard), "%u/%u", run->shard_index, run->shard_total);
    else
      snprintf(shard, sizeof(shard), "%u", run->shard_total);
    x_start(x, "property");
    x_attr_raw(x, "name", run->shard_index > 0 ? "shard" : "merged_shards");
    x_attr_raw(x, "value", shard);
    x_end(x);
  }
  x_end(x);

  name_set seen = {0};
  gu_text out = {0};
  gu_text_add(&out, "", 0);
  for (size_t i = 0; i < run->count && !x->failed; i++) {
    const gh_case *c = &run->cases[i];
    if (strcmp(case_feature(c, 0), s->feature) == 0)
      write_case(x, run, c, s->feature, &seen, &out);
  }
  name_set_free(&seen);
  x_start(x, "system-out");
  if (out.failed)
    x->failed = true;
  else
    x_text(x, out.data);
  x_full_end(x);
  free(out.data);
  x_start(x, "system-err");
  x_full_end(x);
  x_end(x); /* testsuite */
}

/* Collects the first libxml2 error instead of letting libxml2 print it. */
static void xml_error_capture(void *ctx, xmlErrorPtr error) {
  char *first = ctx;
  if (first[0] == '\0' && error != NULL && error->message != NULL) {
    snprintf(first, 256, "%s", error->message);
    first[strcspn(first, "\n")] = '\0';
  }
}

int gh_junit_write(const gh_run *run, const char *path, char *why, size_t why_len) {
  if (run == NULL || path == NULL || path[0] == '\0') {
    gu_fail(why, why_len, "junit: no run or no path");
    return -1;
  }
  if (run->count > 0 && run->cases == NULL) {
    gu_fail(why, why_len, "junit: run has %zu cases but no case array", run->count);
    return -1;
  }
  suite *suites = calloc(run->count > 0 ? run->count : 1, sizeof(*suites));
  if (suites == NULL) {
    gu_fail(why, why_len, "junit: out of memory");
    return -1;
  }
  size_t nsuites = 0;
  for (size_t i = 0; i < run->count; i++) {
    const gh_case *c = &run->cases[i];
    const char *feature = case_feature(c, 0);
    size_t k = 0;
    while (k < nsuites && strcmp(suites[k].feature, feature) != 0)
      k++;
    if (k == nsuites)
      suites[nsuites++].feature = feature;
    tally_add(&suites[k].tally, c);
    suites[k].ms += to_units(c->seconds, 1000);
  }

  char timestamp[20];
  ant_timestamp(run->started, timestamp);
  char *hostname = clean_or(run->hostname, "localhost", run->secrets);

  char xml_error[256] = "";
  xmlStructuredErrorFunc saved_handler = xmlStructuredError;
  void *saved_context = xmlStructuredErrorContext;
  xmlSetStructuredErrorFunc(xml_error, xml_error_capture);

  xmlBufferPtr buf = xmlBufferCreate();
  xml_out x = {.w = buf != NULL ? xmlNewTextWriterMemory(buf, 0) : NULL, .secrets = run->secrets};
  x.failed = x.w == NULL || hostname == NULL;
  if (!x.failed &&
      (xmlTextWriterSetIndent(x.w, 1) < 0 || xmlTextWriterSetIndentString(x.w, BAD_CAST "  ") < 0 ||
       xmlTextWriterStartDocument(x.w, "1.0", "UTF-8", NULL) < 0))
    x.failed = true;
  x_start(&x, "testsuites");
  for (size_t k = 0; k < nsuites && !x.failed; k++)
    write_suite(&x, run, &suites[k], k, timestamp, hostname);
  x_full_end(&x);
  if (!x.failed && xmlTextWriterEndDocument(x.w) < 0)
    x.failed = true;
  if (x.w != NULL)
    xmlFreeTextWriter(x.w); /* flushes into buf */

  xmlSetStructuredErrorFunc(saved_context, saved_handler);
  free(hostname);
  free(suites);

  int rc = -1;
  if (x.failed || buf == NULL) {
    gu_fail(why, why_len, "junit: cannot build the document: %s",
            xml_error[0] != '\0' ? xml_error : "out of memory");
  } else {
    rc = write_atomic(path, (const char *)xmlBufferContent(buf), (size_t)xmlBufferLength(buf), why,
                      why_len);
  }
  if (buf != NULL)
    xmlBufferFree(buf);
  return rc;
}

/* ---------------------------------------------------------------------------
 * conformance.json
 * ------------------------------------------------------------------------- */

/* A filtered JSON string, JSON null for NULL; NULL on allocation failure. */
static json_t *j_str(const char *s, const char *const *secrets) {
  if (s == NULL)
    return json_null();
  char *clean = gh_report_clean(s, secrets);
  if (clean == NULL)
    return NULL;
  json_t *j = json_string(clean);
  free(clean);
  return j;
}

/* Sets key (steals value); false when value is NULL or the set failed. */
static bool j_set(json_t *obj, const char *key, json_t *value) {
  return value != NULL && json_object_set_new(obj, key, value) == 0;
}

static bool j_count(json_t *obj, const char *key, size_t n) {
  return j_set(obj, key, json_integer((json_int_t)n));
}

/* Rounded to milliseconds, so the file says 0.123 rather than 0.12299999. */
static json_t *j_seconds(long long ms) { return json_real((double)ms / 1000.0); }

/* Adds one case to the per-feature counts of every feature it lists. */
static bool add_to_features(json_t *features, const gh_case *c, const char *const *secrets) {
  size_t n = c->feature_count > 0 && c->features != NULL ? c->feature_count : 1;
  static const char *const keys[] = {"pass", "fail", "error", "skip"};
  const char *key = is_na(c) ? GH_NOT_APPLICABLE : keys[outcome_of(c)];
  for (size_t i = 0; i < n; i++) {
    int repeated = 0; /* a feature listed twice by one case counts once */
    for (size_t j = 0; j < i && !repeated; j++)
      repeated = strcmp(case_feature(c, i), case_feature(c, j)) == 0;
    if (repeated)
      continue;
    char *name = gh_report_clean(case_feature(c, i), secrets);
    if (name == NULL)
      return false;
    json_t *f = json_object_get(features, name);
    if (f == NULL) {
      f = json_object();
      if (!j_set(features, name, f) || !j_set(f, "result", json_string("success")) ||
          !j_count(f, "pass", 0) || !j_count(f, "fail", 0) || !j_count(f, "error", 0) ||
          !j_count(f, "skip", 0) || !j_count(f, GH_NOT_APPLICABLE, 0)) {
        free(name);
        return false;
      }
    }
    free(name);
    json_t *count = json_object_get(f, key);
    if (json_integer_set(count, json_integer_value(count) + 1) != 0)
      return false;
  }
  return true;
}

static bool set_feature_results(json_t *features) {
  const char *name;
  json_t *f;
  json_object_foreach(features, name, f) {
    gh_tally t = {
        .pass = (size_t)json_integer_value(json_object_get(f, "pass")),
        .fail = (size_t)json_integer_value(json_object_get(f, "fail")),
        .error = (size_t)json_integer_value(json_object_get(f, "error")),
        .skip = (size_t)json_integer_value(json_object_get(f, "skip")),
        .na = (size_t)json_integer_value(json_object_get(f, GH_NOT_APPLICABLE)),
    };
    if (!j_set(f, "result", json_string(result_of(t))))
      return false;
  }
  return true;
}

static json_t *failed_entry(const gh_case *c, const char *const *secrets) {
  json_t *e = json_object();
  if (e == NULL)
    return NULL;
  if (!j_set(e, "name", j_str(c->name, secrets)) || !j_set(e, "file", j_str(c->file, secrets)) ||
      !j_set(e, "feature", j_str(case_feature(c, 0), secrets)) ||
      !j_set(e, "message", j_str(c->message, secrets)) ||
      !j_set(e, "detail", j_str(c->detail, secrets)) ||
      !j_set(e, "reproduce", j_str(c->reproduce, secrets))) {
    json_decref(e);
    return NULL;
  }
  return e;
}

static json_t *skipped_entry(const gh_case *c, const char *const *secrets) {
  json_t *e = json_object();
  if (e == NULL)
    return NULL;
  if (!j_set(e, "name", j_str(c->name, secrets)) ||
      !j_set(e, "reason", j_str(c->message, secrets))) {
    json_decref(e);
    return NULL;
  }
  return e;
}

/* The case's features as a JSON array of filtered names ("unspecified" when it
 * lists none, as in "features"). */
static json_t *features_array(const gh_case *c, const char *const *secrets) {
  json_t *a = json_array();
  size_t n = c->feature_count > 0 && c->features != NULL ? c->feature_count : 1;
  for (size_t i = 0; a != NULL && i < n; i++) {
    if (json_array_append_new(a, j_str(case_feature(c, i), secrets)) != 0) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

/* One entry of "cases": every case, whatever its outcome (see the top). */
static json_t *case_entry(const gh_case *c, const char *const *secrets) {
  json_t *e = json_object();
  if (e == NULL)
    return NULL;
  bool ok = j_set(e, "name", j_str(c->name, secrets)) &&
            j_set(e, "file", j_str(c->file, secrets)) &&
            j_set(e, "features", features_array(c, secrets)) &&
            j_set(e, "outcome", json_string(gh_case_outcome_name(c))) &&
            j_set(e, "message", j_str(c->message, secrets)) &&
            j_set(e, "seconds", j_seconds(to_units(c->seconds, 1000))) &&
            j_set(e, "fake_seconds", j_seconds(c->fake_ms > 0 ? (long long)c->fake_ms : 0));
  if (ok && c->applies > 0)
    ok = j_set(e, "applies", json_integer((json_int_t)c->applies)) &&
         j_set(e, "apply_ms", j_seconds(to_units(c->apply_ms, 1000)));
  json_t *calls = ok && c->nodes > 0 ? json_array() : NULL;
  if (calls != NULL) /* a cluster: each call's fake time, the node that answered, its status */
    ok = j_set(e, "nodes", json_integer(c->nodes)) && j_set(e, "calls", calls);
  for (size_t i = 0; ok && calls != NULL && c->events != NULL && i < c->event_count; i++) {
    const gh_event *ev = &c->events[i];
    if (ev->kind == GH_EV_CALL && ev->node > 0)
      ok = json_array_append_new(calls,
                                 json_pack("{s:o, s:i, s:I, s:b}", "fake_seconds",
                                           j_seconds((long long)ev->at_ms), "node", ev->node,
                                           "status", (json_int_t)ev->status, "ok", ev->ok)) == 0;
  }
  if (!ok) {
    json_decref(e);
    return NULL;
  }
  return e;
}

/* A new empty object or array set as key of obj (borrowed), or NULL. */
static json_t *j_child(json_t *obj, const char *key, json_t *child) {
  return j_set(obj, key, child) ? child : NULL;
}

static json_t *conformance_doc(const gh_run *run) {
  const char *const *secrets = run->secrets;
  gh_tally t = gh_run_tally(run);
  json_t *doc = json_object();
  if (doc == NULL)
    return NULL;
  json_t *impl = j_child(doc, "implementation", json_object());
  bool ok = impl != NULL && j_set(impl, "name", j_str(run->implementation, secrets)) &&
            j_set(impl, "version", j_str(run->implementation_version, secrets)) &&
            j_set(doc, "profile", j_str(run->profile, secrets)) &&
            j_set(doc, "product", j_str(run->product, secrets)) &&
            j_set(doc, "harness_version", j_str(run->harness_version, secrets)) &&
            j_set(doc, "fake_epoch", j_str(run->fake_epoch, secrets)) &&
            j_set(doc, "started", j_str(run->started, secrets)) &&
            j_set(doc, "result", json_string(result_of(t)));
  if (ok && run->shard_total > 0 && run->shard_index > 0) { /* "shard": {"index": K, "total": N} */
    json_t *shard = j_child(doc, "shard", json_object());
    ok = shard != NULL && j_count(shard, "index", run->shard_index) &&
         j_count(shard, "total", run->shard_total);
  } else if (ok && run->shard_total > 0) {
    ok = j_count(doc, "merged_shards", run->shard_total);
  }
  json_t *features = ok ? j_child(doc, "features", json_object()) : NULL;
  json_t *stats = features != NULL ? j_child(doc, "statistics", json_object()) : NULL;
  json_t *failed = stats != NULL ? j_child(doc, "failed", json_array()) : NULL;
  json_t *errors = failed != NULL ? j_child(doc, "errors", json_array()) : NULL;
  json_t *skipped = errors != NULL ? j_child(doc, "skipped", json_array()) : NULL;
  json_t *na = skipped != NULL ? j_child(doc, GH_NOT_APPLICABLE, json_array()) : NULL;
  json_t *cases = na != NULL ? j_child(doc, "cases", json_array()) : NULL;
  ok = cases != NULL;
  for (size_t i = 0; ok && i < run->count; i++) {
    const gh_case *c = &run->cases[i];
    ok = add_to_features(features, c, secrets);
    ok = ok && json_array_append_new(cases, case_entry(c, secrets)) == 0;
    switch (outcome_of(c)) {
    case GH_FAIL:
      ok = ok && json_array_append_new(failed, failed_entry(c, secrets)) == 0;
      break;
    case GH_ERROR:
      ok = ok && json_array_append_new(errors, failed_entry(c, secrets)) == 0;
      break;
    case GH_SKIP:
      ok = ok && json_array_append_new(is_na(c) ? na : skipped, skipped_entry(c, secrets)) == 0;
      break;
    case GH_PASS:
      break;
    }
  }
  ok = ok && set_feature_results(features) && j_count(stats, "total", run->count) &&
       j_count(stats, "pass", t.pass) && j_count(stats, "fail", t.fail) &&
       j_count(stats, "error", t.error) && j_count(stats, "skip", t.skip) &&
       j_count(stats, GH_NOT_APPLICABLE, t.na) &&
       j_set(stats, "seconds", j_seconds(to_units(run->seconds, 1000))) &&
       j_set(stats, "fake_seconds", j_seconds((long long)fake_total_ms(run)));
  if (!ok) {
    json_decref(doc);
    return NULL;
  }
  return doc;
}

static int dump_to_text(const char *buffer, size_t size, void *data) {
  gu_text *b = data;
  gu_text_add(b, buffer, size);
  return b->failed ? -1 : 0;
}

int gh_conformance_write(const gh_run *run, const char *path, char *why, size_t why_len) {
  if (run == NULL || path == NULL || path[0] == '\0') {
    gu_fail(why, why_len, "conformance: no run or no path");
    return -1;
  }
  if (run->count > 0 && run->cases == NULL) {
    gu_fail(why, why_len, "conformance: run has %zu cases but no case array", run->count);
    return -1;
  }
  json_t *doc = conformance_doc(run);
  if (doc == NULL) {
    gu_fail(why, why_len, "conformance: out of memory building the document");
    return -1;
  }
  gu_text b = {0};
  int dumped = json_dump_callback(doc, dump_to_text, &b, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
  json_decref(doc);
  sb_puts(&b, "\n");
  if (dumped != 0 || b.failed) {
    free(b.data);
    gu_fail(why, why_len, "conformance: out of memory writing the document");
    return -1;
  }
  int rc = write_atomic(path, b.data, b.len, why, why_len);
  free(b.data);
  return rc;
}
