/* run_timeline.c - what a case did when, on the fake clock, for the HTML
 * report's timeline (report_html.h).
 *
 * While a case runs, each executed step becomes a mark (gh_event, report.h)
 * at the fake time after it (a clock step: the time it moved to), with
 * whether it went as expected. After the gateway started, its reload clocks
 * are taken from the driver (ops.clock_schedule: the simulator's
 * /_sim/status, exact) or, when the driver has none, from the schedule the
 * scenario implies (sender_reload_interval, profile_reload_interval,
 * truststore_reload_period + initial delay; counted from the gateway's start;
 * a clock the scenario leaves to the gateway's default is not drawn). At the
 * end the clocks' ticks join the marks: the first, each one within an
 * interval of a step (the ticks around what the case did), and the next one
 * after the case's last fake time (where a pending change would land); the
 * ticks in between are not drawn, the next drawn tick's label counts them.
 * So do the gateway log's lines about reloads and trust that begin with an ISO time
 * (the simulator's "2030-01-01T00:10:00.000Z INFO  ..."; strptime reads it).
 * All times are fake milliseconds since the case's epoch. At most MAX_EVENTS
 * marks per case (past it the rest are dropped), MAX_TICKS ticks per clock.
 *
 * A cluster case (gateway.nodes) has one set of clocks per node, named
 * "node K sender" (so the HTML report draws one lane per node and clock),
 * each from that node's own start; a restarted node's clocks end at the
 * restart and start again from it. Each call of a cluster case is a mark of
 * its own with the node that answered and its status (gh_runner_event_call),
 * which the reports list.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "run_internal.h"

#define MAX_EVENTS     2000
#define MAX_TICKS      300    /* drawn per clock */
#define MAX_TICK_STEPS 100000 /* ticks looked at per clock */
#define MAX_LOG_EVENTS 200

/* The node a mark is about: the addressed one in a cluster case, else 0. */
static int mark_node(const case_run *r) { return r->spec->gateway.nodes > 0 ? r->node : 0; }

static gh_event *add_event(case_run *r, gh_event_kind kind, int ok, int64_t at_ms,
                           const char *clock, const char *label) {
  if (r->event_count >= MAX_EVENTS)
    return NULL;
  if ((r->event_count & (r->event_count - 1)) == 0) { /* 0, 1, 2, 4, ...: grow to double */
    size_t cap = r->event_count ? 2 * r->event_count : 16;
    gh_event *grown = realloc(r->events, cap * sizeof(*grown));
    if (!grown)
      return NULL;
    r->events = grown;
  }
  gh_event *e = &r->events[r->event_count];
  *e = (gh_event){.at_ms = at_ms, .kind = kind, .ok = ok};
  e->clock = clock ? strdup(clock) : NULL;
  e->label = strdup(label ? label : "");
  if (!e->label || (clock && !e->clock)) {
    free(e->clock);
    free(e->label);
    return NULL;
  }
  r->event_count++;
  return e;
}

void gh_runner_event(case_run *r, gh_event_kind kind, int ok, const char *fmt, ...) {
  char label[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(label, sizeof(label), fmt, ap);
  va_end(ap);
  gh_event *e = add_event(r, kind, ok, r->fake_now - r->epoch_ms, NULL, label);
  if (e)
    e->node = mark_node(r);
}

void gh_runner_event_call(case_run *r, const gh_step *s, size_t index, const call_result *c,
                          int ok) {
  char label[256], got[64];
  gh_runner_step_label(s, index, label, sizeof(label));
  if (c->status)
    snprintf(got, sizeof(got), "%ld", c->status);
  else
    snprintf(got, sizeof(got), "no answer");
  char text[512];
  snprintf(text, sizeof(text), "%s %s %s: node %d answered %s", label, s->api ? s->api : "",
           s->path ? s->path : "/", c->node, got);
  gh_event *e = add_event(r, GH_EV_CALL, ok, r->fake_now - r->epoch_ms, NULL, text);
  if (e) {
    e->node = c->node;
    e->status = c->status;
  }
}

void gh_runner_event_step(case_run *r, const gh_step *s, size_t index, int rc) {
  char label[256];
  gh_runner_step_label(s, index, label, sizeof(label));
  int ok = rc == 0;
  if (r->spec->gateway.nodes > 0 && (s->kind == GH_STEP_CALL || s->kind == GH_STEP_SWEEP)) {
    if (!ok) /* its calls are marks of their own (gh_runner_event_call); a failure is one more */
      gh_runner_event(r, GH_EV_CALL, 0, "%s: %s", label, r->message);
    return;
  }
  switch (s->kind) {
  case GH_STEP_SWEEP: /* not in a cluster case: the loader refuses it */
  case GH_STEP_CALL:
    gh_runner_event(r, GH_EV_CALL, ok, "%s %s %s%s%s", label, s->api ? s->api : "",
                    s->path ? s->path : "/", ok ? "" : ": ", ok ? "" : r->message);
    break;
  case GH_STEP_ADVANCE:
  case GH_STEP_ADVANCE_TO:
    gh_runner_event(r, GH_EV_CLOCK, ok, "%s to +%.3f s", label,
                    (double)(r->fake_now - r->epoch_ms) / 1e3);
    break;
  case GH_STEP_RELOAD:
    gh_runner_event(r, GH_EV_RELOAD, ok, "%s", label);
    break;
  case GH_STEP_RESTART_GATEWAY:
    gh_runner_event(r, GH_EV_RESTART, ok, "%s", label);
    break;
  default: {
    const char *what = s->alias      ? s->alias
                       : s->sap_name ? s->sap_name
                       : s->api      ? s->api
                                     : s->application;
    gh_runner_event(r, GH_EV_CHANGE, ok, "%s %s%s%s", label, what ? what : "", ok ? "" : ": ",
                    ok ? "" : r->message);
  }
  }
}

/* Appends a clock of the addressed node (named after it in a cluster case). */
static void add_clock(case_run *r, gh_clock_schedule c, int reported) {
  if ((size_t)r->clock_count >= sizeof(r->clocks) / sizeof(r->clocks[0]))
    return;
  run_clock *rc = &r->clocks[r->clock_count++];
  int node = mark_node(r);
  if (node > 0)
    snprintf(rc->name, sizeof(rc->name), "node %d %s", node, c.name);
  else
    snprintf(rc->name, sizeof(rc->name), "%s", c.name);
  rc->s = c;
  rc->s.name = rc->name;
  rc->node = node;
  rc->until_ms = INT64_MAX;
  rc->reported = reported;
}

void gh_runner_timeline_start(case_run *r) {
  gh_driver *d = r->driver;
  char why[256];
  int node = mark_node(r);
  for (int i = 0; i < r->clock_count; i++) /* a restart: this node's clocks end now */
    if (r->clocks[i].node == node && r->clocks[i].until_ms == INT64_MAX)
      r->clocks[i].until_ms = r->fake_now;
  int64_t start = d->ops->start_ms(d);
  if (start <= 0)
    start = r->fake_now;
  if (d->ops->clock_schedule) {
    gh_clock_schedule got[GH_MAX_CLOCKS];
    int n = d->ops->clock_schedule(d, got, why, sizeof(why));
    for (int i = 0; i < n && i < GH_MAX_CLOCKS; i++)
      add_clock(r, got[i], 1);
    if (n >= 0)
      return;
  }
  const gh_gateway_spec *g = &r->spec->gateway;
  if (g->sender_reload_interval_ms > 0)
    add_clock(r,
              (gh_clock_schedule){"sender", start + g->sender_reload_interval_ms,
                                  g->sender_reload_interval_ms},
              0);
  if (g->profile_reload_interval_ms > 0)
    add_clock(r,
              (gh_clock_schedule){"listener", start + g->profile_reload_interval_ms,
                                  g->profile_reload_interval_ms},
              0);
  if (g->truststore_reload_period_ms > 0) {
    int64_t delay = g->truststore_initial_delay_ms >= 0 ? g->truststore_initial_delay_ms
                                                        : g->truststore_reload_period_ms;
    add_clock(r, (gh_clock_schedule){"truststore", start + delay, g->truststore_reload_period_ms},
              0);
  }
}

/* A log line worth a mark: about reloads, ticks or trust. */
static int reload_line(const char *line) {
  static const char *const words[] = {"reload", "tick", "trust", "generation"};
  for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
    if (strcasestr(line, words[i]))
      return 1;
  return 0;
}

/* The time a log line begins with (ms since the Unix epoch), or -1. */
static int64_t line_time(const char *line) {
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  const char *rest = strptime(line, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest)
    return -1;
  int64_t ms = (int64_t)timegm(&tm) * 1000;
  if (rest[0] == '.')
    ms += strtol(rest + 1, NULL, 10) % 1000;
  return ms;
}

static void log_events(case_run *r, const char *log_tail) {
  size_t added = 0;
  for (const char *p = log_tail; p && *p && added < MAX_LOG_EVENTS;) {
    size_t len = strcspn(p, "\n");
    char line[1024];
    snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) - 1 ? len : sizeof(line) - 1), p);
    int64_t t = line_time(line);
    if (t >= r->epoch_ms && reload_line(line)) {
      add_event(r, GH_EV_LOG, 1, t - r->epoch_ms, NULL, line);
      added++;
    }
    p += len + (p[len] == '\n');
  }
}

/* 1 when one of the first steps marks lies within one interval of tick t
 * (either side): the ticks a reader needs around what the case did. */
static int near_step(const case_run *r, size_t steps, int64_t t, int64_t interval) {
  for (size_t i = 0; i < steps; i++) {
    int64_t at = r->events[i].at_ms + r->epoch_ms;
    if (at > t - interval && at < t + interval)
      return 1;
  }
  return 0;
}

void gh_runner_timeline_finish(case_run *r, const char *log_tail, case_outcome *out) {
  size_t steps = r->event_count; /* so far only the steps */
  for (int i = 0; i < r->clock_count; i++) {
    const gh_clock_schedule *c = &r->clocks[i].s;
    const char *source =
        r->clocks[i].reported ? "the gateway's schedule" : "the scenario's schedule";
    size_t kept = 0, hidden = 0, k = 0;
    for (int64_t t = c->first_ms;
         c->interval_ms > 0 && kept < MAX_TICKS && k < MAX_TICK_STEPS && t < r->clocks[i].until_ms;
         t += c->interval_ms, k++) {
      int next = t > r->fake_now; /* the next one: where a pending change would land */
      if (!next && k > 0 && !near_step(r, steps, t, c->interval_ms)) {
        hidden++;
        continue;
      }
      char label[128];
      if (hidden)
        snprintf(label, sizeof(label), "%s tick (%s; %zu ticks before it not drawn)", c->name,
                 source, hidden);
      else
        snprintf(label, sizeof(label), "%s tick (%s)", c->name, source);
      gh_event *e = add_event(r, GH_EV_TICK, 1, t - r->epoch_ms, c->name, label);
      if (e)
        e->node = r->clocks[i].node;
      kept++;
      hidden = 0;
      if (next)
        break;
    }
  }
  log_events(r, log_tail);
  int64_t start = r->driver ? r->driver->ops->start_ms(r->driver) : -1;
  out->start_ms = start > r->epoch_ms ? start - r->epoch_ms : 0;
  out->nodes = r->spec->gateway.nodes;
  out->events = r->events;
  out->event_count = r->event_count;
  r->events = NULL;
  r->event_count = 0;
}

void gh_runner_events_free(gh_event *events, size_t count) {
  for (size_t i = 0; events && i < count; i++) {
    free(events[i].clock);
    free(events[i].label);
  }
  free(events);
}
