/* shard.c - the partition of `gatecert run --shard K/N` (shard.h says the
 * rules).
 *
 * How it works: gh_shard_by_hash hashes a name with SHA-256 (OpenSSL EVP) and
 * takes its first 8 bytes modulo N, so a case's shard depends on its name
 * alone. gh_shard_assign, given timings, sorts the selected cases with a
 * known time longest first (ties by name, so the order of the input never
 * matters) and puts each into the shard with the least time so far (the
 * classic LPT greedy, within 4/3 of the best packing); the others by the
 * hash. Timings come from a previous conformance.json (matrix.h's reader,
 * gh_mx_run_load) or a junit.xml (libxml2, every testcase element's name and
 * time); they are kept sorted by name and looked up with bsearch.
 */
#include "shard.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>

#include "gutil.h"
#include "matrix.h"

int gh_shard_parse(const char *text, gh_shard *out, char *why, size_t why_len) {
  const char *rule = "--shard wants K/N with 1 <= K <= N <= 1000 (e.g. 2/3)";
  if (text == NULL || text[0] < '0' || text[0] > '9')
    return gu_fail(why, why_len, "--shard \"%s\": %s", text ? text : "", rule);
  char *end = NULL;
  errno = 0;
  unsigned long k = strtoul(text, &end, 10);
  if (errno || *end != '/' || end[1] < '0' || end[1] > '9')
    return gu_fail(why, why_len, "--shard \"%s\": %s", text, rule);
  unsigned long n = strtoul(end + 1, &end, 10);
  if (errno || *end != '\0' || n < 1 || n > GH_SHARD_MAX || k < 1 || k > n)
    return gu_fail(why, why_len, "--shard \"%s\": %s", text, rule);
  out->index = (unsigned)k;
  out->total = (unsigned)n;
  return 0;
}

unsigned gh_shard_by_hash(const char *name, unsigned total) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (total <= 1 || EVP_Digest(name, strlen(name), md, &md_len, EVP_sha256(), NULL) != 1 ||
      md_len < 8)
    return 1;
  uint64_t h = 0;
  for (int i = 0; i < 8; i++)
    h = h << 8 | md[i];
  return 1 + (unsigned)(h % total);
}

/* ---- timings ---- */

void gh_shard_timings_free(gh_shard_timings *t) {
  if (t == NULL)
    return;
  for (size_t i = 0; t->names != NULL && i < t->count; i++)
    free(t->names[i]);
  free(t->names);
  free(t->seconds);
  memset(t, 0, sizeof(*t));
}

typedef struct timing {
  char *name;
  double seconds;
  size_t order; /* position in the file: the first of two equal names wins */
} timing;

static int cmp_timing(const void *a, const void *b) {
  const timing *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c != 0 ? c : (x->order > y->order) - (x->order < y->order);
}

/* Sorts v (taking its names), drops repeated names, fills t. */
static int timings_take(timing *v, size_t n, gh_shard_timings *t, const char *src, char *why,
                        size_t why_len) {
  qsort(v, n, sizeof(*v), cmp_timing);
  t->names = calloc(n > 0 ? n : 1, sizeof(*t->names));
  t->seconds = calloc(n > 0 ? n : 1, sizeof(*t->seconds));
  if (t->names == NULL || t->seconds == NULL) {
    for (size_t i = 0; i < n; i++)
      free(v[i].name);
    gh_shard_timings_free(t);
    return gu_fail(why, why_len, "%s: out of memory", src);
  }
  for (size_t i = 0; i < n; i++) {
    if (t->count > 0 && strcmp(t->names[t->count - 1], v[i].name) == 0) {
      free(v[i].name);
      continue;
    }
    t->names[t->count] = v[i].name;
    t->seconds[t->count++] = v[i].seconds >= 0 ? v[i].seconds : 0;
  }
  if (t->count == 0) {
    gh_shard_timings_free(t);
    return gu_fail(why, why_len, "%s: lists no case (timings need a previous run's report)", src);
  }
  return 0;
}

static int timings_from_json(const char *path, gh_shard_timings *t, char *why, size_t why_len) {
  gh_mx_run run;
  if (gh_mx_run_load(path, &run, why, why_len) != 0)
    return -1;
  timing *v = calloc(run.count > 0 ? run.count : 1, sizeof(*v));
  bool ok = v != NULL;
  for (size_t i = 0; ok && i < run.count; i++) {
    v[i] = (timing){.name = strdup(run.cases[i].name), .seconds = run.cases[i].seconds, .order = i};
    ok = v[i].name != NULL;
  }
  if (!ok) {
    for (size_t i = 0; v != NULL && i < run.count; i++)
      free(v[i].name);
    free(v);
    gh_mx_run_free(&run);
    return gu_fail(why, why_len, "%s: out of memory", path);
  }
  int rc = timings_take(v, run.count, t, path, why, why_len);
  free(v);
  gh_mx_run_free(&run);
  return rc;
}

/* The <testcase> elements of a JUnit document, <testsuites><testsuite> or a
 * lone <testsuite>: counted (v NULL) or collected into v. false: out of memory. */
static bool collect_testcases(xmlNodePtr root, timing *v, size_t *n) {
  bool lone = xmlStrcmp(root->name, BAD_CAST "testsuite") == 0;
  for (xmlNodePtr ts = lone ? root : root->children; ts != NULL; ts = lone ? NULL : ts->next) {
    if (ts->type != XML_ELEMENT_NODE || xmlStrcmp(ts->name, BAD_CAST "testsuite") != 0)
      continue;
    for (xmlNodePtr c = ts->children; c != NULL; c = c->next) {
      if (c->type != XML_ELEMENT_NODE || xmlStrcmp(c->name, BAD_CAST "testcase") != 0)
        continue;
      xmlChar *name = xmlGetProp(c, BAD_CAST "name");
      xmlChar *time = xmlGetProp(c, BAD_CAST "time");
      bool ok = true;
      if (name != NULL && v != NULL) {
        v[*n] = (timing){.name = strdup((const char *)name),
                         .seconds = time != NULL ? strtod((const char *)time, NULL) : 0,
                         .order = *n};
        ok = v[*n].name != NULL;
      }
      *n += name != NULL && ok;
      xmlFree(name);
      xmlFree(time);
      if (!ok)
        return false;
    }
  }
  return true;
}

static int timings_from_xml(const char *path, const char *data, size_t len, gh_shard_timings *t,
                            char *why, size_t why_len) {
  xmlDocPtr doc = xmlReadMemory(data, (int)len, path, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (doc == NULL) {
    const xmlError *e = xmlGetLastError();
    return gu_fail(why, why_len, "%s: not well-formed XML (line %d: %.200s)", path,
                   e != NULL ? e->line : 0, e != NULL && e->message ? e->message : "?");
  }
  xmlNodePtr root = xmlDocGetRootElement(doc);
  if (root == NULL || (xmlStrcmp(root->name, BAD_CAST "testsuites") != 0 &&
                       xmlStrcmp(root->name, BAD_CAST "testsuite") != 0)) {
    xmlFreeDoc(doc);
    return gu_fail(why, why_len, "%s: not a JUnit report (the root is not <testsuites>)", path);
  }
  size_t n = 0;
  collect_testcases(root, NULL, &n);
  timing *v = calloc(n > 0 ? n : 1, sizeof(*v));
  size_t got = 0;
  bool ok = v != NULL && collect_testcases(root, v, &got);
  xmlFreeDoc(doc);
  if (!ok) {
    for (size_t i = 0; v != NULL && i < got; i++)
      free(v[i].name);
    free(v);
    return gu_fail(why, why_len, "%s: out of memory", path);
  }
  int rc = timings_take(v, got, t, path, why, why_len);
  free(v);
  return rc;
}

int gh_shard_timings_load(const char *path, gh_shard_timings *t, char *why, size_t why_len) {
  memset(t, 0, sizeof(*t));
  struct stat st;
  if (path == NULL || path[0] == '\0')
    return gu_fail(why, why_len, "--shard-timings: no file given");
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return timings_from_json(path, t, why, why_len); /* its conformance.json */
  char *data = NULL;
  size_t len = 0;
  if (gu_read_file(path, (size_t)256 << 20, &data, &len) != 0)
    return gu_fail(why, why_len, "cannot read %s: %s", path, strerror(errno));
  size_t lead = strspn(data, " \t\r\n");
  int rc;
  if (data[lead] == '<')
    rc = timings_from_xml(path, data, len, t, why, why_len);
  else if (data[lead] == '{')
    rc = timings_from_json(path, t, why, why_len);
  else
    rc = gu_fail(why, why_len,
                 "%s: neither a conformance.json nor a junit.xml (it starts with neither { nor <)",
                 path);
  free(data);
  return rc;
}

static int cmp_name(const void *key, const void *elem) {
  return strcmp((const char *)key, *(char *const *)elem);
}

double gh_shard_timings_get(const gh_shard_timings *t, const char *name) {
  if (t == NULL || t->count == 0)
    return -1;
  char *const *at = bsearch(name, t->names, t->count, sizeof(*t->names), cmp_name);
  return at != NULL ? t->seconds[at - t->names] : -1;
}

/* ---- the partition ---- */

typedef struct known {
  const char *name;
  double seconds;
  size_t index; /* into names */
} known;

static int cmp_longest(const void *a, const void *b) {
  const known *x = a, *y = b;
  if (x->seconds != y->seconds)
    return x->seconds < y->seconds ? 1 : -1;
  return strcmp(x->name, y->name);
}

int gh_shard_assign(const char *const *names, size_t n, unsigned total,
                    const gh_shard_timings *timings, unsigned *out, char *why, size_t why_len) {
  if (total == 0)
    total = 1;
  known *k = calloc(n > 0 ? n : 1, sizeof(*k));
  double *load = calloc(total, sizeof(*load));
  if (k == NULL || load == NULL) {
    free(k);
    free(load);
    return gu_fail(why, why_len, "shard: out of memory");
  }
  size_t nk = 0;
  for (size_t i = 0; i < n; i++) {
    double s = gh_shard_timings_get(timings, names[i]);
    if (s >= 0)
      k[nk++] = (known){.name = names[i], .seconds = s, .index = i};
    else
      out[i] = gh_shard_by_hash(names[i], total);
  }
  qsort(k, nk, sizeof(*k), cmp_longest);
  for (size_t i = 0; i < nk; i++) {
    unsigned best = 0;
    for (unsigned s = 1; s < total; s++)
      if (load[s] < load[best])
        best = s;
    load[best] += k[i].seconds;
    out[k[i].index] = best + 1;
  }
  free(k);
  free(load);
  return 0;
}
