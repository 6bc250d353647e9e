/* merge.c - `gatecert merge` (merge.h says what it makes and refuses).
 *
 * How it works: each shard directory is read whole before anything is
 * written - its conformance.json with matrix.h's reader (gh_mx_run_load: the
 * "cases") and once more with jansson (the run's fields, "shard", and the
 * "failed" / "errors" entries that hold a case's detail and reproduce
 * command), its junit.xml with libxml2. The shard numbers are checked (same
 * N, each of 1..N once), then the cases: sorted by name, two equal names are
 * a duplicate; each shard's junit.xml must list exactly its conformance.json's
 * cases. The merged cases (sorted by file, then name) are appended to a
 * gh_run and report.c's gh_conformance_write writes conformance.json, so the
 * statistics and per-feature results are computed by the same code as a run's.
 * junit.xml is a new libxml2 document: per feature (the testcase's testsuite
 * name), in the order of the merged cases, the shards' testcase elements
 * copied as they are (xmlDocCopyNode), the counts and time summed from them,
 * written to "<path>.tmp" and renamed; index.html is report_html.c's page of
 * the merged gh_run (no timelines: conformance.json does not carry them).
 * --compare reads two reports with gh_mx_run_load and jansson and lists the
 * differences in verdicts.
 */
#include "merge.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "matrix.h"
#include "report.h"
#include "report_html.h"

typedef struct junit_case {
  const char *name; /* the testcase's name attribute (owned by the document) */
  xmlNodePtr node;  /* <testcase> */
  xmlNodePtr suite; /* its <testsuite> */
  const char *suite_name;
} junit_case;

typedef struct shard_in {
  const char *dir;
  char conf_path[PATH_MAX];
  char junit_path[PATH_MAX];
  gh_mx_run mx;
  json_t *root;
  xmlDocPtr junit;
  junit_case *jcases;
  size_t jcount;
  int sharded;
  unsigned index, total;
} shard_in;

typedef struct merged_case {
  const gh_mx_case *c;
  size_t shard; /* index into the shards given */
} merged_case;

static void shard_free(shard_in *s) {
  gh_mx_run_free(&s->mx);
  json_decref(s->root);
  if (s->junit != NULL)
    xmlFreeDoc(s->junit);
  for (size_t i = 0; i < s->jcount; i++)
    xmlFree((xmlChar *)s->jcases[i].name);
  free(s->jcases);
  memset(s, 0, sizeof(*s));
}

static const char *xml_error_text(int *line) {
  const xmlError *e = xmlGetLastError();
  *line = e != NULL ? e->line : 0;
  return e != NULL && e->message != NULL ? e->message : "unknown error\n";
}

/* The testcases of a junit.xml: <testsuites><testsuite><testcase>. */
static int junit_load(shard_in *s, char *why, size_t why_len) {
  xmlResetLastError();
  s->junit =
      xmlReadFile(s->junit_path, NULL,
                  XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (s->junit == NULL) {
    if (access(s->junit_path, R_OK) != 0)
      return gu_fail(why, why_len, "cannot read %s: %s", s->junit_path, strerror(errno));
    int line = 0;
    const char *msg = xml_error_text(&line);
    return gu_fail(why, why_len, "%s: not well-formed XML (line %d: %.*s)", s->junit_path, line,
                   (int)strcspn(msg, "\n"), msg);
  }
  xmlNodePtr root = xmlDocGetRootElement(s->junit);
  if (root == NULL || xmlStrcmp(root->name, BAD_CAST "testsuites") != 0)
    return gu_fail(why, why_len, "%s: not a gatecert junit.xml (the root is not <testsuites>)",
                   s->junit_path);
  size_t cap = 0;
  for (xmlNodePtr ts = root->children; ts != NULL; ts = ts->next) {
    if (ts->type != XML_ELEMENT_NODE || xmlStrcmp(ts->name, BAD_CAST "testsuite") != 0)
      continue;
    xmlChar *suite_name = xmlGetProp(ts, BAD_CAST "name");
    if (suite_name == NULL)
      return gu_fail(why, why_len, "%s: a <testsuite> without a name", s->junit_path);
    xmlFree(suite_name);
    for (xmlNodePtr tc = ts->children; tc != NULL; tc = tc->next) {
      if (tc->type != XML_ELEMENT_NODE || xmlStrcmp(tc->name, BAD_CAST "testcase") != 0)
        continue;
      xmlChar *name = xmlGetProp(tc, BAD_CAST "name");
      if (name == NULL)
        return gu_fail(why, why_len, "%s: a <testcase> without a name (line %ld)", s->junit_path,
                       xmlGetLineNo(tc));
      if (s->jcount == cap) {
        cap = cap ? cap * 2 : 64;
        junit_case *grown = realloc(s->jcases, cap * sizeof(*grown));
        if (grown == NULL) {
          xmlFree(name);
          return gu_fail(why, why_len, "%s: out of memory", s->junit_path);
        }
        s->jcases = grown;
      }
      s->jcases[s->jcount++] = (junit_case){.name = (const char *)name, .node = tc, .suite = ts};
    }
  }
  for (size_t i = 0; i < s->jcount; i++) /* attribute values live as long as the document */
    for (xmlAttrPtr a = s->jcases[i].suite->properties; a != NULL; a = a->next)
      if (xmlStrcmp(a->name, BAD_CAST "name") == 0 && a->children != NULL)
        s->jcases[i].suite_name = (const char *)a->children->content;
  return 0;
}

static int shard_load(shard_in *s, const char *dir, char *why, size_t why_len) {
  s->dir = dir;
  struct stat st;
  if (stat(dir, &st) != 0)
    return gu_fail(why, why_len, "%s: %s", dir, strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return gu_fail(why, why_len, "%s: not a directory (give each shard's --reports directory)",
                   dir);
  snprintf(s->conf_path, sizeof(s->conf_path), "%s/conformance.json", dir);
  snprintf(s->junit_path, sizeof(s->junit_path), "%s/junit.xml", dir);
  if (gh_mx_run_load(s->conf_path, &s->mx, why, why_len) != 0)
    return -1;
  json_error_t err;
  s->root = json_load_file(s->conf_path, JSON_REJECT_DUPLICATES, &err);
  if (s->root == NULL)
    return gu_fail(why, why_len, "%s: not valid JSON: %s", s->conf_path, err.text);
  json_t *shard = json_object_get(s->root, "shard");
  if (shard != NULL) {
    json_t *k = json_object_get(shard, "index"), *n = json_object_get(shard, "total");
    if (!json_is_integer(k) || !json_is_integer(n) || json_integer_value(n) < 1 ||
        json_integer_value(n) > 1000000 || json_integer_value(k) < 1 ||
        json_integer_value(k) > json_integer_value(n))
      return gu_fail(why, why_len,
                     "%s: \"shard\" is not {\"index\": K, \"total\": N} with 1 <= K <= N",
                     s->conf_path);
    s->sharded = 1;
    s->index = (unsigned)json_integer_value(k);
    s->total = (unsigned)json_integer_value(n);
  }
  return junit_load(s, why, why_len);
}

static const char *jstr(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Shard numbers: all sharded or none; one N; each of 1..N exactly once. */
static int check_shards(const shard_in *s, size_t n, char *why, size_t why_len) {
  size_t sharded = 0;
  for (size_t i = 0; i < n; i++)
    sharded += s[i].sharded != 0;
  if (sharded == 0)
    return 0;
  if (sharded != n) {
    size_t plain = 0;
    while (s[plain].sharded)
      plain++;
    return gu_fail(why, why_len,
                   "%s is not a shard (its conformance.json has no \"shard\") but %s is one: "
                   "merge the shards of one run",
                   s[plain].dir, s[plain == 0 ? 1 : 0].dir);
  }
  unsigned total = s[0].total;
  for (size_t i = 1; i < n; i++)
    if (s[i].total != total)
      return gu_fail(why, why_len, "%s is shard %u/%u but %s is shard %u/%u: not one run", s[0].dir,
                     s[0].index, s[0].total, s[i].dir, s[i].index, s[i].total);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < i; j++)
      if (s[i].index == s[j].index)
        return gu_fail(why, why_len, "shard %u/%u is given twice: %s and %s", s[i].index, total,
                       s[j].dir, s[i].dir);
  if (n == total)
    return 0;
  gu_text missing = {0};
  size_t count = 0;
  for (unsigned k = 1; k <= total; k++) {
    bool have = false;
    for (size_t i = 0; i < n && !have; i++)
      have = s[i].index == k;
    if (!have)
      gu_text_printf(&missing, "%s%u/%u", count++ ? ", " : "", k, total);
  }
  gu_fail(why, why_len, "missing shard%s %s (the reports say %u shards, %zu given)",
          count > 1 ? "s" : "", missing.failed ? "?" : missing.data, total, n);
  gu_text_free(&missing);
  return -1;
}

static int cmp_by_name(const void *a, const void *b) {
  const merged_case *x = a, *y = b;
  return strcmp(x->c->name, y->c->name);
}

static int cmp_by_file(const void *a, const void *b) {
  const merged_case *x = a, *y = b;
  int c = strcmp(x->c->file ? x->c->file : "", y->c->file ? y->c->file : "");
  return c != 0 ? c : strcmp(x->c->name, y->c->name);
}

/* A shard's junit.xml lists exactly its conformance.json's cases. */
static int check_junit(const shard_in *s, char *why, size_t why_len) {
  for (size_t i = 0; i < s->jcount; i++) {
    bool found = false;
    for (size_t j = 0; j < s->mx.count && !found; j++)
      found = strcmp(s->jcases[i].name, s->mx.cases[j].name) == 0;
    if (!found)
      return gu_fail(why, why_len,
                     "%s: junit.xml has case \"%s\" that its conformance.json does not list",
                     s->dir, s->jcases[i].name);
  }
  for (size_t j = 0; j < s->mx.count; j++) {
    bool found = false;
    for (size_t i = 0; i < s->jcount && !found; i++)
      found = strcmp(s->jcases[i].name, s->mx.cases[j].name) == 0;
    if (!found)
      return gu_fail(why, why_len,
                     "%s: conformance.json has case \"%s\" that its junit.xml does not list",
                     s->dir, s->mx.cases[j].name);
  }
  return 0;
}

/* The "failed" or "errors" entry of a case: its detail and reproduce command. */
static json_t *failure_entry(json_t *root, const char *name) {
  static const char *const lists[] = {"failed", "errors"};
  for (size_t l = 0; l < 2; l++) {
    json_t *list = json_object_get(root, lists[l]);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
      const char *n = jstr(e, "name");
      if (n != NULL && strcmp(n, name) == 0)
        return e;
    }
  }
  return NULL;
}

static int fill_run(gh_run *run, const shard_in *s, size_t n, const merged_case *m, size_t count,
                    char *why, size_t why_len) {
  json_t *root = s[0].root;
  run->implementation = (char *)s[0].mx.implementation;
  run->implementation_version = (char *)s[0].mx.version;
  run->profile = (char *)s[0].mx.profile;
  run->product = (char *)jstr(root, "product");
  run->harness_version = (char *)jstr(root, "harness_version");
  run->fake_epoch = (char *)jstr(root, "fake_epoch");
  run->started = (char *)s[0].mx.started;
  run->shard_total = s[0].sharded ? s[0].total : 0;
  run->shard_index = 0;
  for (size_t i = 0; i < n; i++) {
    double secs =
        json_number_value(json_object_get(json_object_get(s[i].root, "statistics"), "seconds"));
    if (secs > run->seconds)
      run->seconds = secs; /* the shards ran side by side: the longest is the wall time */
    if (s[i].mx.started != NULL && s[i].mx.started[0] != '\0' && run->started != NULL &&
        strcmp(s[i].mx.started, run->started) < 0)
      run->started = (char *)s[i].mx.started;
    if (i > 0 && (strcmp(s[i].mx.profile, s[0].mx.profile) != 0 ||
                  strcmp(s[i].mx.implementation, s[0].mx.implementation) != 0))
      return gu_fail(why, why_len, "%s ran %s with profile %s but %s ran %s with profile %s",
                     s[0].dir, s[0].mx.implementation, s[0].mx.profile, s[i].dir,
                     s[i].mx.implementation, s[i].mx.profile);
  }
  for (size_t i = 0; i < count; i++) {
    const gh_mx_case *c = m[i].c;
    json_t *f = failure_entry(s[m[i].shard].root, c->name);
    gh_case add = {.name = c->name,
                   .file = c->file,
                   .features = c->features,
                   .feature_count = c->feature_count,
                   .profile = run->profile,
                   .outcome = c->outcome,
                   .not_applicable = c->not_applicable,
                   .message = c->message,
                   .detail = (char *)jstr(f, "detail"),
                   .reproduce = (char *)jstr(f, "reproduce"),
                   .seconds = c->seconds,
                   .fake_ms = (int64_t)llround(c->fake_seconds * 1000.0),
                   .applies = c->applies,
                   .apply_ms = c->apply_ms,
                   .quirks = c->quirks,
                   .quirk_count = c->quirk_count};
    if (gh_run_add(run, &add) == NULL)
      return gu_fail(why, why_len, "merge: out of memory");
  }
  return 0;
}

/* ---- junit.xml ---- */

static const junit_case *junit_of(const shard_in *s, const char *name) {
  for (size_t i = 0; i < s->jcount; i++)
    if (strcmp(s->jcases[i].name, name) == 0)
      return &s->jcases[i];
  return NULL;
}

static xmlNodePtr child_named(xmlNodePtr node, const char *name) {
  for (xmlNodePtr c = node != NULL ? node->children : NULL; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, BAD_CAST name) == 0)
      return c;
  return NULL;
}

static void set_count(xmlNodePtr node, const char *name, long long v) {
  char text[32];
  snprintf(text, sizeof(text), "%lld", v);
  xmlSetProp(node, BAD_CAST name, BAD_CAST text);
}

static void copy_prop(xmlNodePtr to, xmlNodePtr from, const char *name) {
  xmlChar *v = xmlGetProp(from, BAD_CAST name);
  if (v != NULL)
    xmlSetProp(to, BAD_CAST name, v);
  xmlFree(v);
}

/* One merged testsuite: the cases m[] whose source suite is named feature. */
static bool junit_suite(xmlDocPtr out, xmlNodePtr root, const char *feature, long id,
                        const shard_in *s, size_t n, const merged_case *m, size_t count,
                        unsigned merged_shards) {
  xmlNodePtr ts = xmlNewChild(root, NULL, BAD_CAST "testsuite", NULL);
  if (ts == NULL)
    return false;
  xmlNodePtr first = NULL;
  xmlChar *timestamp = NULL;
  for (size_t i = 0; i < count; i++) {
    const junit_case *j = junit_of(&s[m[i].shard], m[i].c->name);
    if (strcmp(j->suite_name, feature) != 0)
      continue;
    if (first == NULL)
      first = j->suite;
  }
  xmlSetProp(ts, BAD_CAST "name", BAD_CAST feature);
  copy_prop(ts, first, "package");
  set_count(ts, "id", id);
  for (size_t i = 0; i < n; i++) /* the earliest start among the shards' suites */
    for (xmlNodePtr x = xmlDocGetRootElement(s[i].junit)->children; x != NULL; x = x->next) {
      xmlChar *name = xmlGetProp(x, BAD_CAST "name");
      xmlChar *when = name != NULL && xmlStrcmp(name, BAD_CAST feature) == 0
                          ? xmlGetProp(x, BAD_CAST "timestamp")
                          : NULL;
      if (when != NULL && (timestamp == NULL || xmlStrcmp(when, timestamp) < 0)) {
        xmlFree(timestamp);
        timestamp = when;
      } else {
        xmlFree(when);
      }
      xmlFree(name);
    }
  if (timestamp != NULL)
    xmlSetProp(ts, BAD_CAST "timestamp", timestamp);
  xmlFree(timestamp);
  copy_prop(ts, first, "hostname");

  xmlNodePtr props = xmlNewChild(ts, NULL, BAD_CAST "properties", NULL);
  for (xmlNodePtr p = child_named(first, "properties") ? child_named(first, "properties")->children
                                                       : NULL;
       p != NULL; p = p->next) {
    xmlChar *name = xmlGetProp(p, BAD_CAST "name");
    bool keep = name == NULL || (xmlStrcmp(name, BAD_CAST "shard") != 0 &&
                                 xmlStrcmp(name, BAD_CAST "merged_shards") != 0 &&
                                 xmlStrncmp(name, BAD_CAST "quirks: ", 8) != 0);
    xmlFree(name);
    if (keep)
      xmlAddChild(props, xmlDocCopyNode(p, out, 1));
  }
  for (size_t i = 0; i < n; i++) /* each shard's "quirks: CASE" of this feature's cases */
    for (xmlNodePtr x = xmlDocGetRootElement(s[i].junit)->children; x != NULL; x = x->next) {
      xmlChar *name = xmlGetProp(x, BAD_CAST "name");
      xmlNodePtr ps = name != NULL && xmlStrcmp(name, BAD_CAST feature) == 0
                          ? child_named(x, "properties")
                          : NULL;
      xmlFree(name);
      for (xmlNodePtr p = ps != NULL ? ps->children : NULL; p != NULL; p = p->next) {
        xmlChar *pname = xmlGetProp(p, BAD_CAST "name");
        if (pname != NULL && xmlStrncmp(pname, BAD_CAST "quirks: ", 8) == 0)
          xmlAddChild(props, xmlDocCopyNode(p, out, 1));
        xmlFree(pname);
      }
    }
  if (merged_shards > 0) {
    xmlNodePtr p = xmlNewChild(props, NULL, BAD_CAST "property", NULL);
    xmlSetProp(p, BAD_CAST "name", BAD_CAST "merged_shards");
    set_count(p, "value", merged_shards);
  }

  long long tests = 0, failures = 0, errors = 0, skipped = 0, ms = 0;
  for (size_t i = 0; i < count; i++) {
    const junit_case *j = junit_of(&s[m[i].shard], m[i].c->name);
    if (strcmp(j->suite_name, feature) != 0)
      continue;
    xmlNodePtr copy = xmlDocCopyNode(j->node, out, 1);
    if (copy == NULL || xmlAddChild(ts, copy) == NULL)
      return false;
    tests++;
    failures += child_named(copy, "failure") != NULL;
    errors += child_named(copy, "error") != NULL;
    skipped += child_named(copy, "skipped") != NULL;
    xmlChar *time = xmlGetProp(copy, BAD_CAST "time");
    if (time != NULL)
      ms += llround(strtod((const char *)time, NULL) * 1000.0);
    xmlFree(time);
  }
  set_count(ts, "tests", tests);
  set_count(ts, "failures", failures);
  set_count(ts, "errors", errors);
  set_count(ts, "skipped", skipped);
  char secs[48];
  snprintf(secs, sizeof(secs), "%lld.%03lld", ms / 1000, ms % 1000);
  xmlSetProp(ts, BAD_CAST "time", BAD_CAST secs);

  gu_text out_text = {0};
  gu_text_add(&out_text, "", 0);
  for (size_t i = 0; i < n; i++)
    for (xmlNodePtr x = xmlDocGetRootElement(s[i].junit)->children; x != NULL; x = x->next) {
      xmlChar *name = xmlGetProp(x, BAD_CAST "name");
      if (name != NULL && xmlStrcmp(name, BAD_CAST feature) == 0) {
        xmlChar *text = xmlNodeGetContent(child_named(x, "system-out"));
        if (text != NULL)
          gu_text_add(&out_text, text, strlen((const char *)text));
        xmlFree(text);
      }
      xmlFree(name);
    }
  bool ok = !out_text.failed &&
            xmlNewTextChild(ts, NULL, BAD_CAST "system-out", BAD_CAST out_text.data) != NULL &&
            xmlNewChild(ts, NULL, BAD_CAST "system-err", BAD_CAST "") != NULL;
  gu_text_free(&out_text);
  return ok;
}

static int write_file(const char *path, const void *data, size_t len, char *why, size_t why_len) {
  char tmp[PATH_MAX];
  if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
    return gu_fail(why, why_len, "%s: path too long", path);
  FILE *f = fopen(tmp, "wb");
  if (f == NULL)
    return gu_fail(why, why_len, "cannot write %s: %s", tmp, strerror(errno));
  bool ok = fwrite(data, 1, len, f) == len;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    int e = errno;
    remove(tmp);
    return gu_fail(why, why_len, "cannot write %s: %s", path, strerror(e));
  }
  return 0;
}

static int junit_merge(const char *path, const shard_in *s, size_t n, const merged_case *m,
                       size_t count, unsigned merged_shards, char *why, size_t why_len) {
  xmlDocPtr out = xmlNewDoc(BAD_CAST "1.0");
  xmlNodePtr root = out != NULL ? xmlNewNode(NULL, BAD_CAST "testsuites") : NULL;
  if (root == NULL) {
    xmlFreeDoc(out);
    return gu_fail(why, why_len, "merge: out of memory");
  }
  xmlDocSetRootElement(out, root);
  const char **features = calloc(count + 1, sizeof(*features));
  size_t nf = 0;
  bool ok = features != NULL;
  for (size_t i = 0; ok && i < count; i++) { /* the suites, in the order of the merged cases */
    const char *f = junit_of(&s[m[i].shard], m[i].c->name)->suite_name;
    size_t k = 0;
    while (k < nf && strcmp(features[k], f) != 0)
      k++;
    if (k == nf)
      features[nf++] = f;
  }
  for (size_t k = 0; ok && k < nf; k++)
    ok = junit_suite(out, root, features[k], (long)k, s, n, m, count, merged_shards);
  free(features);
  xmlChar *mem = NULL;
  int len = 0;
  if (ok)
    xmlDocDumpFormatMemoryEnc(out, &mem, &len, "UTF-8", 1);
  xmlFreeDoc(out);
  if (mem == NULL)
    return gu_fail(why, why_len, "merge: cannot build junit.xml (out of memory)");
  int rc = write_file(path, mem, (size_t)len, why, why_len);
  xmlFree(mem);
  return rc;
}

int gh_merge(const char *const *dirs, size_t n, const char *out_dir, size_t *cases, char *why,
             size_t why_len) {
  if (n == 0)
    return gu_fail(why, why_len, "no shard directory given");
  shard_in *s = calloc(n, sizeof(*s));
  if (s == NULL)
    return gu_fail(why, why_len, "merge: out of memory");
  int rc = 0;
  size_t total = 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    rc = shard_load(&s[i], dirs[i], why, why_len);
    rc = rc == 0 ? check_junit(&s[i], why, why_len) : rc;
    total += s[i].mx.count;
  }
  rc = rc == 0 ? check_shards(s, n, why, why_len) : rc;
  merged_case *m = rc == 0 ? calloc(total + 1, sizeof(*m)) : NULL;
  if (rc == 0 && m == NULL)
    rc = gu_fail(why, why_len, "merge: out of memory");
  size_t count = 0;
  for (size_t i = 0; rc == 0 && m != NULL && i < n; i++)
    for (size_t j = 0; j < s[i].mx.count; j++)
      m[count++] = (merged_case){.c = &s[i].mx.cases[j], .shard = i};
  if (rc == 0 && m != NULL) {
    qsort(m, count, sizeof(*m), cmp_by_name);
    for (size_t i = 1; i < count && rc == 0; i++)
      if (strcmp(m[i - 1].c->name, m[i].c->name) == 0)
        rc = gu_fail(why, why_len, "case \"%s\" is in two reports: %s and %s", m[i].c->name,
                     s[m[i - 1].shard].dir, s[m[i].shard].dir);
    qsort(m, count, sizeof(*m), cmp_by_file);
  }
  gh_run run = {0};
  if (rc == 0)
    rc = fill_run(&run, s, n, m, count, why, why_len);
  if (rc == 0 && mkdir(out_dir, 0755) != 0 && errno != EEXIST)
    rc = gu_fail(why, why_len, "cannot make %s: %s", out_dir, strerror(errno)) - 1;
  char path[PATH_MAX];
  if (rc == 0) {
    snprintf(path, sizeof(path), "%s/conformance.json", out_dir);
    if (gh_conformance_write(&run, path, why, why_len) != 0)
      rc = -2;
  }
  if (rc == 0) {
    snprintf(path, sizeof(path), "%s/junit.xml", out_dir);
    if (junit_merge(path, s, n, m, count, run.shard_total, why, why_len) != 0)
      rc = -2;
  }
  if (rc == 0) { /* the page of the merged verdicts; the timelines stay in the shards' pages */
    snprintf(path, sizeof(path), "%s/index.html", out_dir);
    if (gh_report_html_write(&run, path, why, why_len) != 0)
      rc = -2;
  }
  if (rc == 0 && cases != NULL)
    *cases = count;
  run.implementation = run.implementation_version = run.profile = run.product = NULL;
  run.harness_version = run.fake_epoch = run.started = run.hostname = NULL;
  gh_run_free(&run);
  free(m);
  for (size_t i = 0; i < n; i++)
    shard_free(&s[i]);
  free(s);
  return rc;
}

/* ---- --compare ---- */

static const char *verdict(const gh_mx_case *c) {
  return c->outcome == GH_SKIP && c->not_applicable ? GH_NOT_APPLICABLE
                                                    : gh_outcome_name(c->outcome);
}

static int cmp_case_name(const void *a, const void *b) {
  return strcmp((*(const gh_mx_case *const *)a)->name, (*(const gh_mx_case *const *)b)->name);
}

static const gh_mx_case **sorted_cases(const gh_mx_run *r) {
  // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
  const gh_mx_case **v = calloc(r->count + 1, sizeof(*v));
  for (size_t i = 0; v != NULL && i < r->count; i++)
    v[i] = &r->cases[i];
  if (v != NULL)
    qsort(v, r->count, sizeof(*v), cmp_case_name); // NOLINT(bugprone-sizeof-expression): pointers
  return v;
}

/* The scalar members of two objects that differ, one line each. */
static void compare_object(gu_text *diff, const char *what, json_t *a, json_t *b) {
  const char *key;
  json_t *va;
  json_object_foreach(a, key, va) {
    json_t *vb = json_object_get(b, key);
    if (json_equal(va, vb) || (json_is_number(va) && json_is_number(vb) &&
                               json_number_value(va) == json_number_value(vb)))
      continue;
    char *ta = json_dumps(va, JSON_ENCODE_ANY), *tb = vb ? json_dumps(vb, JSON_ENCODE_ANY) : NULL;
    gu_text_printf(diff, "%s \"%s\": %s vs %s\n", what, key, ta ? ta : "?", tb ? tb : "(missing)");
    free(ta);
    free(tb);
  }
  json_object_foreach(b, key, va) {
    if (json_object_get(a, key) == NULL)
      gu_text_printf(diff, "%s \"%s\": only in the second\n", what, key);
  }
}

/* Per feature: its result and counts; a feature only in one of them. */
static void compare_features(gu_text *diff, json_t *a, json_t *b, const char *source_a,
                             const char *source_b) {
  const char *key;
  json_t *fa;
  json_object_foreach(a, key, fa) {
    json_t *fb = json_object_get(b, key);
    if (fb == NULL) {
      gu_text_printf(diff, "feature \"%s\": only in %s\n", key, source_a);
      continue;
    }
    char what[512];
    snprintf(what, sizeof(what), "feature \"%s\"", key);
    compare_object(diff, what, fa, fb);
  }
  json_object_foreach(b, key, fa) {
    if (json_object_get(a, key) == NULL)
      gu_text_printf(diff, "feature \"%s\": only in %s\n", key, source_b);
  }
}

static json_t *load_json(const char *source, char *why, size_t why_len) {
  json_error_t err;
  json_t *root = json_load_file(source, JSON_REJECT_DUPLICATES, &err);
  if (root == NULL)
    gu_fail(why, why_len, "%s: not valid JSON: %s", source, err.text);
  return root;
}

int gh_merge_compare(const char *a, const char *b, gu_text *diff, char *why, size_t why_len) {
  gh_mx_run ra, rb;
  if (gh_mx_run_load(a, &ra, why, why_len) != 0)
    return -1;
  if (gh_mx_run_load(b, &rb, why, why_len) != 0) {
    gh_mx_run_free(&ra);
    return -1;
  }
  json_t *ja = load_json(ra.source, why, why_len);
  json_t *jb = ja != NULL ? load_json(rb.source, why, why_len) : NULL;
  const gh_mx_case **va = sorted_cases(&ra), **vb = sorted_cases(&rb);
  int rc = -1;
  if (ja == NULL || jb == NULL) {
    /* why is set */
  } else if (va == NULL || vb == NULL) {
    gu_fail(why, why_len, "compare: out of memory");
  } else {
    size_t before = diff->len, i = 0, j = 0;
    while (i < ra.count || j < rb.count) {
      int c = i == ra.count ? 1 : j == rb.count ? -1 : strcmp(va[i]->name, vb[j]->name);
      if (c < 0) {
        gu_text_printf(diff, "case \"%s\": only in %s\n", va[i++]->name, ra.source);
      } else if (c > 0) {
        gu_text_printf(diff, "case \"%s\": only in %s\n", vb[j++]->name, rb.source);
      } else {
        if (strcmp(verdict(va[i]), verdict(vb[j])) != 0)
          gu_text_printf(diff, "case \"%s\": %s in %s, %s in %s\n", va[i]->name, verdict(va[i]),
                         ra.source, verdict(vb[j]), rb.source);
        i++;
        j++;
      }
    }
    json_t *sa = json_deep_copy(json_object_get(ja, "statistics"));
    json_t *sb = json_deep_copy(json_object_get(jb, "statistics"));
    json_object_del(sa, "seconds"); /* times differ between any two runs */
    json_object_del(sa, "fake_seconds");
    json_object_del(sb, "seconds");
    json_object_del(sb, "fake_seconds");
    compare_object(diff, "statistics", sa, sb);
    json_decref(sa);
    json_decref(sb);
    json_t *result_a = json_object_get(ja, "result"), *result_b = json_object_get(jb, "result");
    if (!json_equal(result_a, result_b))
      gu_text_printf(diff, "result: %s vs %s\n", jstr(ja, "result") ? jstr(ja, "result") : "?",
                     jstr(jb, "result") ? jstr(jb, "result") : "?");
    compare_features(diff, json_object_get(ja, "features"), json_object_get(jb, "features"),
                     ra.source, rb.source);
    rc = diff->failed         ? (gu_fail(why, why_len, "compare: out of memory"), -1)
         : diff->len > before ? 1
                              : 0;
  }
  free(va);
  free(vb);
  json_decref(ja);
  json_decref(jb);
  gh_mx_run_free(&ra);
  gh_mx_run_free(&rb);
  return rc;
}

/* ---- the command ---- */

static const char usage_text[] =
    "usage: gatecert merge --out DIR SHARD_DIR...\n"
    "       gatecert merge --compare A B\n"
    "\n"
    "Combines the junit.xml and conformance.json of the shards of a run\n"
    "(gatecert run --shard K/N, one --reports directory each) into DIR: every case\n"
    "once, statistics and per-feature results recomputed, the junit.xml counts\n"
    "summed; DIR/index.html shows the merged verdicts (the timelines stay in the\n"
    "shards' own pages). A case in two shards, a shard missing or given twice\n"
    "(the reports say \"shard K of N\"), or a report that cannot be read is an\n"
    "error (exit 2).\n"
    "  --compare A B  check that two reports (run directories or conformance.json)\n"
    "                 agree in verdicts: same cases, outcome per case, statistics\n"
    "                 and feature results; prints the differences, exit 1 if any\n"
    "Exit: 0 merged (or the same verdicts), 1 the verdicts differ, 2 usage error or\n"
    "bad input (nothing written), 3 a report could not be written.\n";

int gh_merge_main(int argc, char **argv) {
  const char *out = NULL;
  int compare = 0, help = 0, version = 0;
  const gu_opt table[] = {
      {"out", .string = &out},
      {"compare", .flag = &compare},
      {"help", .flag = &help, .stop = 1},
      {"version", .flag = &version, .stop = 1},
      {0},
  };
  char why[4096];
  int first = gu_opts_parse(argc, argv, table, 0, why, sizeof(why));
  if (first < 0) {
    fprintf(stderr, "gatecert merge: %s\n%s", why, first == GU_OPTS_UNKNOWN ? usage_text : "");
    return 2;
  }
  if (help) {
    fputs(usage_text, stdout);
    return 0;
  }
  if (version) {
    puts(gu_version_line("gatecert merge", why, sizeof(why)));
    return 0;
  }
  if (compare) {
    if (out != NULL || argc - first != 2) {
      fprintf(stderr, "gatecert merge: --compare takes two reports and no --out\n%s", usage_text);
      return 2;
    }
    gu_text diff = {0};
    int rc = gh_merge_compare(argv[first], argv[first + 1], &diff, why, sizeof(why));
    if (rc < 0)
      fprintf(stderr, "gatecert merge: %s\n", why);
    else if (rc > 0)
      fputs(diff.data, stdout);
    else
      printf("same verdicts: %s and %s\n", argv[first], argv[first + 1]);
    gu_text_free(&diff);
    return rc < 0 ? 2 : rc;
  }
  if (out == NULL || first >= argc) {
    fprintf(stderr, "gatecert merge: give --out DIR and at least one shard directory\n%s",
            usage_text);
    return 2;
  }
  size_t cases = 0;
  int rc = gh_merge((const char *const *)(argv + first), (size_t)(argc - first), out, &cases, why,
                    sizeof(why));
  if (rc != 0) {
    fprintf(stderr, "gatecert merge: %s\n", why);
    return rc == -2 ? 3 : 2;
  }
  printf("merged %zu cases from %d reports into %s/{junit.xml,conformance.json,index.html}\n",
         cases, argc - first, out);
  return 0;
}
