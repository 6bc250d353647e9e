/* report_html.c - reports/index.html and matrix.html (report_html.h).
 *
 * The page is a libxml2 HTML document (htmlNewDocNoDtD) built with the tree
 * API: xmlNewTextChild and xmlNewProp take plain text and the serializer
 * (htmlDocDumpMemoryFormat) escapes it, so a scenario named "<script>" comes
 * out as text. Every string from the run goes through gh_report_clean with
 * run->secrets (put_text, put_attr) - a second pass over what gh_run_add
 * already filtered, as the other writers do.
 *
 * The page:
 *   header      implementation, profile, product, start, real and fake time;
 *   summary     table#summary: one row per (feature, profile) (a case under
 *               its features[0], as junit.xml lists it) and a total row, each
 *               count a td with class and data-count;
 *   failures    ul#failures: a link to each failed or errored case and its
 *               message (only when there is one);
 *   cases       one <details class="case"> per case (open when it failed or
 *               errored, and every case of a run of at most SMALL_RUN),
 *               data-name, data-outcome; its verdict, file, message (skip
 *               reason / failure), detail (expected vs seen), the reproduce
 *               command, the timeline, the reload log lines, the log tail;
 *   timeline    an inline <svg class="timeline">. The axis is ordinal: each
 *               distinct fake time a mark has gets its own column, labelled
 *               with the time since the case's epoch, so the call at 599 s,
 *               the tick at 600 s and the call at 601 s stand apart however
 *               long the case ran. Lanes: calls (circles, green when they
 *               held, red when not), steps (clock moves, uploads and deletes,
 *               reloads, restarts: squares), one lane per reload clock (tick
 *               marks; a dashed guide runs through the call lane), the
 *               gateway's log lines (diamonds). A cluster case's clocks are
 *               per node ("node 2 sender": one lane per node and clock, each
 *               node's ticks from its own start), and its calls carry the
 *               number of the node that answered. Each mark is a <g
 *               class="mark"> with data-kind, data-at-ms, data-ok (and
 *               data-clock, data-node) and a <title> (the tooltip: step, line,
 *               message).
 * No script: tooltips are SVG <title>, folding is <details>.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/HTMLtree.h>
#include <libxml/tree.h>

#include "gutil.h"
#include "report_html.h"

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1f2328}"
    "h1{font-size:1.4em}table{border-collapse:collapse;margin:.5em 0}"
    "th,td{border:1px solid #d0d7de;padding:.2em .6em;text-align:left}"
    "td.n{text-align:right}td.pass{background:#dafbe1}td.fail{background:#ffebe9}"
    "td.error{background:#fff1c2}td.skip,td.na{color:#57606a}"
    "details.case{border:1px solid #d0d7de;border-radius:6px;margin:.4em 0;padding:.3em .6em}"
    "details.case>summary{cursor:pointer;font-weight:600}"
    ".verdict{display:inline-block;min-width:4.5em;padding:0 .3em;border-radius:4px;color:#fff}"
    ".v-pass{background:#1a7f37}.v-fail{background:#cf222e}.v-error{background:#9a6700}"
    ".v-skip,.v-not_applicable{background:#6e7781}"
    "pre{background:#f6f8fa;padding:.5em;overflow-x:auto;white-space:pre-wrap}"
    "dt{font-weight:600}dd{margin:0 0 .4em 1em}.tl{overflow-x:auto}"
    "svg.timeline text{font:11px sans-serif}";

#define GREEN "#1a7f37"
#define RED   "#cf222e"
#define GREY  "#57606a"

typedef struct html {
  const char *const *secrets;
  int failed;
  int small_run; /* at most SMALL_RUN cases: every case shown open */
} html;

#define SMALL_RUN 10

static xmlNodePtr el(html *h, xmlNodePtr parent, const char *name) {
  xmlNodePtr n = xmlNewChild(parent, NULL, BAD_CAST name, NULL);
  if (!n)
    h->failed = 1;
  return n;
}

/* A child element holding text (cleaned; escaped by the serializer). */
static xmlNodePtr put_text(html *h, xmlNodePtr parent, const char *name, const char *text) {
  char *clean = gh_report_clean(text ? text : "", h->secrets);
  xmlNodePtr n = clean ? xmlNewTextChild(parent, NULL, BAD_CAST name, BAD_CAST clean) : NULL;
  free(clean);
  if (!n)
    h->failed = 1;
  return n;
}

static void put_attr(html *h, xmlNodePtr n, const char *name, const char *value) {
  if (!n)
    return;
  char *clean = gh_report_clean(value ? value : "", h->secrets);
  if (!clean || !xmlNewProp(n, BAD_CAST name, BAD_CAST clean))
    h->failed = 1;
  free(clean);
}

static void put_attrf(html *h, xmlNodePtr n, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put_attrf(html *h, xmlNodePtr n, const char *name, const char *fmt, ...) {
  char value[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(value, sizeof(value), fmt, ap);
  va_end(ap);
  put_attr(h, n, name, value);
}

static xmlNodePtr put_textf(html *h, xmlNodePtr parent, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static xmlNodePtr put_textf(html *h, xmlNodePtr parent, const char *name, const char *fmt, ...) {
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  return put_text(h, parent, name, text);
}

/* "+599 s", "+1 h 0 m 1 s", "+0.250 s": a fake time since the case's epoch. */
static void fake_label(int64_t ms, char *out, size_t len) {
  if (ms % 1000 != 0) {
    snprintf(out, len, "+%.3f s", (double)ms / 1e3);
    return;
  }
  long long s = ms / 1000;
  if (s < 3600)
    snprintf(out, len, "+%lld s", s);
  else if (s < 86400)
    snprintf(out, len, "+%lld h %lld m %lld s", s / 3600, s / 60 % 60, s % 60);
  else
    snprintf(out, len, "+%lld d %lld h %lld m", s / 86400, s / 3600 % 24, s / 60 % 60);
}

/* ---- summary ------------------------------------------------------------------------ */

typedef struct row {
  const char *feature, *profile;
  gh_tally t;
} row;

static void tally_case(gh_tally *t, const gh_case *c) {
  switch (c->outcome) {
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
  default:
    t->error++;
  }
}

static void count_cells(html *h, xmlNodePtr tr, const gh_tally *t) {
  const struct {
    const char *cls;
    size_t n;
  } cells[] = {
      {"pass", t->pass}, {"fail", t->fail}, {"error", t->error}, {"skip", t->skip}, {"na", t->na}};
  for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
    xmlNodePtr td = put_textf(h, tr, "td", "%zu", cells[i].n);
    put_attrf(h, td, "class", "n%s%s", cells[i].n ? " " : "", cells[i].n ? cells[i].cls : "");
    put_attr(h, td, "data-outcome", cells[i].cls);
    put_attrf(h, td, "data-count", "%zu", cells[i].n);
  }
}

static void summary(html *h, xmlNodePtr body, const gh_run *run) {
  row *rows = calloc(run->count + 1, sizeof(*rows));
  size_t n = 0;
  gh_tally total = {0};
  for (size_t i = 0; rows && i < run->count; i++) {
    const gh_case *c = &run->cases[i];
    const char *f = c->feature_count > 0 && c->features ? c->features[0] : "(none)";
    const char *p = c->profile ? c->profile : "";
    size_t k = 0;
    while (k < n && !(strcmp(rows[k].feature, f) == 0 && strcmp(rows[k].profile, p) == 0))
      k++;
    if (k == n)
      rows[n++] = (row){.feature = f, .profile = p};
    tally_case(&rows[k].t, c);
    tally_case(&total, c);
  }
  if (!rows) {
    h->failed = 1;
    return;
  }
  put_text(h, body, "h2", "Summary");
  xmlNodePtr table = el(h, body, "table");
  put_attr(h, table, "id", "summary");
  xmlNodePtr head = el(h, table, "tr");
  const char *titles[] = {"feature", "profile", "passed", "failed", "errors", "skipped", "N/A"};
  for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
    put_text(h, head, "th", titles[i]);
  for (size_t k = 0; k < n; k++) {
    xmlNodePtr tr = el(h, table, "tr");
    put_attr(h, tr, "class", "feature");
    put_attr(h, tr, "data-feature", rows[k].feature);
    put_attr(h, tr, "data-profile", rows[k].profile);
    put_text(h, tr, "td", rows[k].feature);
    put_text(h, tr, "td", rows[k].profile);
    count_cells(h, tr, &rows[k].t);
  }
  xmlNodePtr tr = el(h, table, "tr");
  put_attr(h, tr, "id", "total");
  put_text(h, tr, "th", "total");
  put_textf(h, tr, "th", "%zu cases", run->count);
  count_cells(h, tr, &total);
  free(rows);
}

/* ---- timeline ----------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The column of a fake time on the ordinal axis. */
static size_t column_of(const int64_t *times, size_t n, int64_t t) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (times[mid] < t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

#define TL_LEFT 110
#define TL_COL  64
#define TL_LANE 26
#define TL_TOP  14
#define TL_AXIS 30
#define MARK_R  6

static xmlNodePtr svg_el(html *h, xmlNodePtr parent, const char *name) {
  return el(h, parent, name);
}

static void svg_text(html *h, xmlNodePtr parent, double x, double y, const char *anchor,
                     const char *text) {
  xmlNodePtr t = put_text(h, parent, "text", text);
  put_attrf(h, t, "x", "%.1f", x);
  put_attrf(h, t, "y", "%.1f", y);
  if (anchor)
    put_attr(h, t, "text-anchor", anchor);
}

#define MAX_LANE_CLOCKS 48 /* three clocks of each of 16 nodes */

static void timeline(html *h, xmlNodePtr parent, const gh_case *c) {
  if (c->event_count == 0 || !c->events)
    return;
  /* lanes: calls, steps, one per clock (in the order first seen), log */
  const char *clocks[MAX_LANE_CLOCKS];
  size_t clock_count = 0;
  int has_log = 0;
  int64_t *times = malloc((c->event_count + 1) * sizeof(*times));
  if (!times) {
    h->failed = 1;
    return;
  }
  size_t n = 0;
  for (size_t i = 0; i < c->event_count; i++) {
    const gh_event *e = &c->events[i];
    times[n++] = e->at_ms;
    if (e->kind == GH_EV_LOG)
      has_log = 1;
    if (e->kind == GH_EV_TICK && e->clock) {
      size_t k = 0;
      while (k < clock_count && strcmp(clocks[k], e->clock) != 0)
        k++;
      if (k == clock_count && clock_count < MAX_LANE_CLOCKS)
        clocks[clock_count++] = e->clock;
    }
  }
  qsort(times, n, sizeof(*times), cmp_i64);
  size_t distinct = 0;
  for (size_t i = 0; i < n; i++)
    if (distinct == 0 || times[distinct - 1] != times[i])
      times[distinct++] = times[i];
  size_t lanes = 2 + clock_count + (size_t)has_log;
  double width = TL_LEFT + (double)distinct * TL_COL + 20;
  double height = TL_TOP + (double)lanes * TL_LANE + TL_AXIS;
  put_text(h, parent, "h4", "Timeline (fake time since the case's epoch)");
  xmlNodePtr box = el(h, parent, "div");
  put_attr(h, box, "class", "tl");
  xmlNodePtr svg = svg_el(h, box, "svg");
  put_attr(h, svg, "xmlns", "http://www.w3.org/2000/svg");
  put_attr(h, svg, "class", "timeline");
  put_attrf(h, svg, "width", "%.0f", width);
  put_attrf(h, svg, "height", "%.0f", height);
  put_attrf(h, svg, "viewBox", "0 0 %.0f %.0f", width, height);
  put_attr(h, svg, "role", "img");
  const char *lane_names[MAX_LANE_CLOCKS + 3];
  size_t l = 0;
  lane_names[l++] = "calls";
  lane_names[l++] = "steps";
  for (size_t k = 0; k < clock_count; k++)
    lane_names[l++] = clocks[k];
  if (has_log)
    lane_names[l++] = "gateway log";
  for (size_t k = 0; k < lanes; k++) {
    double y = TL_TOP + (double)k * TL_LANE + TL_LANE / 2.0;
    xmlNodePtr line = svg_el(h, svg, "line");
    put_attrf(h, line, "x1", "%d", TL_LEFT - 6);
    put_attrf(h, line, "x2", "%.0f", width - 10);
    put_attrf(h, line, "y1", "%.1f", y);
    put_attrf(h, line, "y2", "%.1f", y);
    put_attr(h, line, "stroke", "#d0d7de");
    char label[64];
    snprintf(label, sizeof(label), "%s%s", lane_names[k],
             k >= 2 && k < 2 + clock_count ? " ticks" : "");
    svg_text(h, svg, 4, y + 4, NULL, label);
  }
  double axis_y = TL_TOP + (double)lanes * TL_LANE;
  unsigned char *taken = calloc(lanes * distinct, 1);
  if (!taken) {
    free(times);
    h->failed = 1;
    return;
  }
  for (size_t i = 0; i < distinct; i++) {
    double x = TL_LEFT + (double)i * TL_COL + TL_COL / 2.0;
    char label[64];
    fake_label(times[i], label, sizeof(label));
    svg_text(h, svg, x, axis_y + 16, "middle", label);
  }
  for (size_t i = 0; i < c->event_count; i++) {
    const gh_event *e = &c->events[i];
    double x = TL_LEFT + (double)column_of(times, distinct, e->at_ms) * TL_COL + TL_COL / 2.0;
    size_t lane = 1;
    if (e->kind == GH_EV_CALL)
      lane = 0;
    else if (e->kind == GH_EV_TICK) {
      lane = 2;
      while (lane < 2 + clock_count && strcmp(clocks[lane - 2], e->clock ? e->clock : "") != 0)
        lane++;
    } else if (e->kind == GH_EV_LOG)
      lane = 2 + clock_count;
    double y = TL_TOP + (double)lane * TL_LANE + TL_LANE / 2.0;
    unsigned char *seen = &taken[lane * distinct + column_of(times, distinct, e->at_ms)];
    x += (double)(*seen < 2 ? *seen : 2) * (2 * MARK_R + 2); /* marks at one time side by side */
    *seen = *seen < 255 ? *seen + 1 : 255;
    xmlNodePtr g = svg_el(h, svg, "g");
    put_attr(h, g, "class", "mark");
    put_attr(h, g, "data-kind", gh_event_kind_name(e->kind));
    put_attrf(h, g, "data-at-ms", "%lld", (long long)e->at_ms);
    put_attrf(h, g, "data-ok", "%d", e->ok ? 1 : 0);
    if (e->clock)
      put_attr(h, g, "data-clock", e->clock);
    if (e->node > 0)
      put_attrf(h, g, "data-node", "%d", e->node);
    char when[64];
    fake_label(e->at_ms, when, sizeof(when));
    char *title = NULL;
    size_t tlen = strlen(when) + strlen(e->label ? e->label : "") + 4;
    title = malloc(tlen);
    if (title) {
      snprintf(title, tlen, "%s  %s", when, e->label ? e->label : "");
      put_text(h, g, "title", title);
      free(title);
    }
    const char *color = e->kind == GH_EV_CALL || !e->ok ? (e->ok ? GREEN : RED) : GREY;
    xmlNodePtr shape;
    if (e->kind == GH_EV_CALL) {
      shape = svg_el(h, g, "circle");
      put_attrf(h, shape, "cx", "%.1f", x);
      put_attrf(h, shape, "cy", "%.1f", y);
      put_attrf(h, shape, "r", "%d", MARK_R);
      put_attr(h, shape, "fill", color);
      if (e->node > 0) { /* a cluster's call: the node that answered */
        char digits[16];
        snprintf(digits, sizeof(digits), "%d", e->node);
        xmlNodePtr t = put_text(h, g, "text", digits);
        put_attrf(h, t, "x", "%.1f", x);
        put_attrf(h, t, "y", "%.1f", y + 4);
        put_attr(h, t, "text-anchor", "middle");
        put_attr(h, t, "fill", "#fff");
      }
    } else if (e->kind == GH_EV_TICK) {
      xmlNodePtr guide = svg_el(h, g, "line"); /* through the call lane */
      put_attrf(h, guide, "x1", "%.1f", x);
      put_attrf(h, guide, "x2", "%.1f", x);
      put_attrf(h, guide, "y1", "%d", TL_TOP);
      put_attrf(h, guide, "y2", "%.1f", y);
      put_attr(h, guide, "stroke", "#0969da");
      put_attr(h, guide, "stroke-dasharray", "3 3");
      shape = svg_el(h, g, "path");
      put_attrf(h, shape, "d", "M%.1f %.1fl-6 10h12z", x, y - 6);
      put_attr(h, shape, "fill", "#0969da");
    } else if (e->kind == GH_EV_LOG) {
      shape = svg_el(h, g, "path");
      put_attrf(h, shape, "d", "M%.1f %.1fl6 6l-6 6l-6 -6z", x, y - 6);
      put_attr(h, shape, "fill", "#8250df");
    } else {
      shape = svg_el(h, g, "rect");
      put_attrf(h, shape, "x", "%.1f", x - MARK_R);
      put_attrf(h, shape, "y", "%.1f", y - MARK_R);
      put_attrf(h, shape, "width", "%d", 2 * MARK_R);
      put_attrf(h, shape, "height", "%d", 2 * MARK_R);
      put_attr(h, shape, "fill", color);
      const char *letter = e->kind == GH_EV_CLOCK     ? "T"
                           : e->kind == GH_EV_RELOAD  ? "R"
                           : e->kind == GH_EV_RESTART ? "S"
                                                      : "C";
      xmlNodePtr t = put_text(h, g, "text", letter);
      put_attrf(h, t, "x", "%.1f", x);
      put_attrf(h, t, "y", "%.1f", y + 4);
      put_attr(h, t, "text-anchor", "middle");
      put_attr(h, t, "fill", "#fff");
    }
  }
  free(taken);
  free(times);
  put_text(h, parent, "p",
           "Calls: green held, red did not (in a cluster: the number of the node that "
           "answered). Steps: T clock moved, C upload/delete/API change, "
           "R reload, S restart or a node's start (red: the step failed). Ticks (blue): the "
           "reload clocks (one lane per node in a cluster). "
           "Diamonds: the gateway's reload log lines. Hover a mark for its step.");
}

static void case_entry(html *h, xmlNodePtr parent, const gh_case *c, size_t index) {
  const char *outcome = gh_case_outcome_name(c);
  xmlNodePtr d = el(h, parent, "details");
  put_attr(h, d, "class", "case");
  put_attrf(h, d, "id", "case-%zu", index + 1);
  put_attr(h, d, "data-name", c->name);
  put_attr(h, d, "data-outcome", outcome);
  if (c->outcome == GH_FAIL || c->outcome == GH_ERROR || h->small_run)
    put_attr(h, d, "open", "open");
  xmlNodePtr s = el(h, d, "summary");
  xmlNodePtr v = put_text(h, s, "span", outcome);
  put_attrf(h, v, "class", "verdict v-%s", outcome);
  put_textf(h, s, "span", " %s  (%s, %.2f s real)", c->name ? c->name : "",
            c->profile ? c->profile : "", c->seconds);
  xmlNodePtr dl = el(h, d, "dl");
  put_text(h, dl, "dt", "scenario file");
  put_text(h, dl, "dd", c->file);
  put_text(h, dl, "dt", "features");
  gu_text f = {0};
  for (size_t i = 0; c->features && i < c->feature_count; i++)
    gu_text_printf(&f, "%s%s", i ? ", " : "", c->features[i]);
  put_text(h, dl, "dd", f.failed ? "" : f.data);
  gu_text_free(&f);
  if (c->message && c->message[0]) {
    put_text(h, dl, "dt", c->outcome == GH_SKIP ? "skip reason" : "message");
    put_attr(h, put_text(h, dl, "dd", c->message), "class", "message");
  }
  if (c->detail && c->detail[0] && (c->outcome == GH_FAIL || c->outcome == GH_ERROR)) {
    put_text(h, dl, "dt", "expected vs seen");
    put_attr(h, put_text(h, el(h, dl, "dd"), "pre", c->detail), "class", "detail");
  }
  put_text(h, dl, "dt", "rerun it");
  put_attr(h, put_text(h, el(h, dl, "dd"), "pre", c->reproduce), "class", "reproduce");
  char fake[64];
  fake_label(c->fake_ms, fake, sizeof(fake));
  put_text(h, dl, "dt", "fake time covered");
  put_text(h, dl, "dd", fake);
  timeline(h, d, c);
  size_t logs = 0;
  for (size_t i = 0; c->events && i < c->event_count; i++)
    logs += c->events[i].kind == GH_EV_LOG;
  if (logs) {
    put_text(h, d, "h4", "Gateway reload log");
    xmlNodePtr ul = el(h, d, "ul");
    put_attr(h, ul, "class", "reload-log");
    for (size_t i = 0; i < c->event_count; i++)
      if (c->events[i].kind == GH_EV_LOG)
        put_text(h, ul, "li", c->events[i].label);
  }
  if (c->log_tail && c->log_tail[0]) {
    put_text(h, d, "h4", "Gateway log (tail)");
    put_attr(h, put_text(h, d, "pre", c->log_tail), "class", "log-tail");
  }
}

static htmlDocPtr page(html *h, const char *title) {
  htmlDocPtr doc = htmlNewDocNoDtD(NULL, NULL);
  xmlNodePtr root = doc ? xmlNewNode(NULL, BAD_CAST "html") : NULL;
  if (!root) {
    h->failed = 1;
    if (doc)
      xmlFreeDoc(doc);
    return NULL;
  }
  xmlDocSetRootElement(doc, root);
  xmlNewProp(root, BAD_CAST "lang", BAD_CAST "en");
  xmlNodePtr head = el(h, root, "head");
  xmlNodePtr meta = el(h, head, "meta");
  put_attr(h, meta, "charset", "utf-8");
  put_text(h, head, "title", title);
  put_text(h, head, "style", css);
  return doc;
}

static char *dump(html *h, htmlDocPtr doc, size_t *len, char *why, size_t why_len) {
  xmlChar *mem = NULL;
  int size = 0;
  if (!h->failed) {
    /* the DOCTYPE by hand would be text we write; libxml2 adds it from the DTD node */
    xmlCreateIntSubset(doc, BAD_CAST "html", NULL, NULL);
    htmlDocDumpMemoryFormat(doc, &mem, &size, 1);
  }
  xmlFreeDoc(doc);
  if (!mem || size <= 0) {
    xmlFree(mem);
    gu_fail(why, why_len, "the HTML report could not be built (out of memory)");
    return NULL;
  }
  char *out = malloc((size_t)size + 1);
  if (out) {
    memcpy(out, mem, (size_t)size);
    out[size] = '\0';
    *len = (size_t)size;
  } else
    gu_fail(why, why_len, "the HTML report: out of memory");
  xmlFree(mem);
  return out;
}

char *gh_report_html_render(const gh_run *run, size_t *len, char *why, size_t why_len) {
  html h = {.secrets = run->secrets, .small_run = run->count <= SMALL_RUN};
  char title[512];
  snprintf(title, sizeof(title), "gatecert: %s, %s",
           run->implementation ? run->implementation : "?", run->profile ? run->profile : "?");
  htmlDocPtr doc = page(&h, title);
  if (!doc)
    return gu_fail(why, why_len, "the HTML report: out of memory"), NULL;
  xmlNodePtr body = el(&h, xmlDocGetRootElement(doc), "body");
  put_text(&h, body, "h1", title);
  gh_tally t = gh_run_tally(run);
  int64_t fake = 0;
  for (size_t i = 0; i < run->count; i++)
    fake += run->cases[i].fake_ms;
  char fake_text[64];
  fake_label(fake, fake_text, sizeof(fake_text));
  put_textf(&h, body, "p",
            "%s%s%s%s; harness %s; started %s on %s; fake epoch %s; %.1f s real, %s fake; %zu "
            "cases: %zu passed, %zu failed, %zu errors, %zu skipped, %zu not applicable",
            run->product ? "imitating " : "", run->product ? run->product : "",
            run->implementation_version ? "; version " : "",
            run->implementation_version ? run->implementation_version : "",
            run->harness_version ? run->harness_version : "?", run->started ? run->started : "?",
            run->hostname ? run->hostname : "?", run->fake_epoch ? run->fake_epoch : "?",
            run->seconds, fake_text, run->count, t.pass, t.fail, t.error, t.skip, t.na);
  summary(&h, body, run);
  if (t.fail + t.error > 0) { /* what failed, first: links to those cases */
    put_text(&h, body, "h2", "Failed and errored cases");
    xmlNodePtr ul = el(&h, body, "ul");
    put_attr(&h, ul, "id", "failures");
    for (size_t i = 0; i < run->count; i++) {
      const gh_case *c = &run->cases[i];
      if (c->outcome != GH_FAIL && c->outcome != GH_ERROR)
        continue;
      xmlNodePtr li = el(&h, ul, "li");
      xmlNodePtr a = put_text(&h, li, "a", c->name);
      put_attrf(&h, a, "href", "#case-%zu", i + 1);
      put_textf(&h, li, "span", ": %s", c->message ? c->message : gh_case_outcome_name(c));
    }
  }
  put_text(&h, body, "h2", "Cases");
  xmlNodePtr cases = el(&h, body, "div");
  put_attr(&h, cases, "id", "cases");
  for (size_t i = 0; i < run->count; i++)
    case_entry(&h, cases, &run->cases[i], i);
  return dump(&h, doc, len, why, why_len);
}

int gh_report_html_write(const gh_run *run, const char *path, char *why, size_t why_len) {
  size_t len = 0;
  char *page_text = gh_report_html_render(run, &len, why, why_len);
  if (!page_text)
    return -1;
  int rc = gh_report_write_atomic(path, page_text, len, why, why_len);
  free(page_text);
  return rc;
}

int gh_report_html_matrix_write(const gh_html_matrix *m, const char *path, char *why,
                                size_t why_len) {
  html h = {0};
  htmlDocPtr doc = page(&h, m->title ? m->title : "gatecert matrix");
  if (!doc)
    return gu_fail(why, why_len, "matrix.html: out of memory");
  xmlNodePtr body = el(&h, xmlDocGetRootElement(doc), "body");
  put_text(&h, body, "h1", m->title ? m->title : "gatecert matrix");
  xmlNodePtr table = el(&h, body, "table");
  put_attr(&h, table, "id", "matrix");
  xmlNodePtr head = el(&h, table, "tr");
  put_text(&h, head, "th", "feature");
  for (size_t g = 0; g < m->gateway_count; g++) {
    xmlNodePtr th = el(&h, head, "th");
    if (m->hrefs && m->hrefs[g]) {
      xmlNodePtr a = put_text(&h, th, "a", m->gateways[g]);
      put_attr(&h, a, "href", m->hrefs[g]);
    } else
      put_text(&h, th, "span", m->gateways[g]);
  }
  for (size_t f = 0; f < m->feature_count; f++) {
    xmlNodePtr tr = el(&h, table, "tr");
    put_text(&h, tr, "th", m->features[f]);
    for (size_t g = 0; g < m->gateway_count; g++) {
      const gh_html_matrix_cell *c = &m->cells[f * m->gateway_count + g];
      xmlNodePtr td = NULL;
      if (m->hrefs && m->hrefs[g]) {
        td = el(&h, tr, "td");
        put_attr(&h, put_text(&h, td, "a", c->text ? c->text : "-"), "href", m->hrefs[g]);
      } else
        td = put_text(&h, tr, "td", c->text ? c->text : "-");
      const char *r = c->result ? c->result : "none";
      put_attr(&h, td, "data-result", r);
      put_attr(&h, td, "class",
               strcmp(r, "success") == 0   ? "pass"
               : strcmp(r, "failure") == 0 ? "fail"
               : strcmp(r, "partial") == 0 ? "error"
                                           : "na");
    }
  }
  size_t len = 0;
  char *text = dump(&h, doc, &len, why, why_len);
  if (!text)
    return -1;
  int rc = gh_report_write_atomic(path, text, len, why, why_len);
  free(text);
  return rc;
}
