/* throttle.c - throttling tiers and the request counters behind them.
 *
 * Tier names: WSO2 4.x's shipped subscription and application policies,
 * then the config's own ("throttling": {"tiers": [...]}), which win.
 *
 * Counters: one fixed window per throttle key (security.c builds the keys),
 * starting at the key's first request and lasting the tier's window on the
 * process clock (gsim_now_ms(), fake under libfaketime), as WSO2's in-memory
 * throttle does for a subscription policy: within a window the first
 * `requests` calls pass, the others are refused until the window's end (the
 * "next access time" of the 429). A refused call does not count. The table
 * is a fixed array of GSIM_THROTTLE_SLOTS entries (keys compared by a 64-bit
 * FNV-1a hash, then the string); a new key takes a free or expired slot, and
 * when every window is still running the one that started first is dropped
 * (logged), so no client can grow the table without bound.
 *
 * The answer (gsim_throttle_reply, the one place that answers a throttled
 * call) follows the row of rule family throttle-out: its status and code,
 * and its variant for the fields - WSO2 4.x: description "You have exceeded
 * your quota .You can access API after <t>", nextAccessTime <t> and a
 * Retry-After HTTP-date; 2.6: description "You have exceeded your quota" and
 * nextAccessTime, no Retry-After; plain: 4.x's description only. <t> is
 * "2030-Jan-01 00:01:00+0000 UTC" (English months, UTC, whatever the
 * locale). fault_format picks the encoding (JSON or <amt:fault>) for every
 * variant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "security.h"
#include "sim.h"

/* requests per window_s; 0 requests: unlimited */
static const gsim_tier builtin_tiers[] = {
    {"Unlimited", 0, 60},         {"Gold", 5000, 60},   {"Silver", 2000, 60}, {"Bronze", 1000, 60},
    {"Unauthenticated", 500, 60}, {"10PerMin", 10, 60}, {"20PerMin", 20, 60}, {"50PerMin", 50, 60},
};

typedef struct throttle_slot {
  char *key; /* NULL: free */
  uint64_t hash;
  int64_t start_ms;
  int64_t end_ms;
  long count;
} throttle_slot;

struct gsim_throttle {
  throttle_slot slots[GSIM_THROTTLE_SLOTS];
  size_t live;
  uint64_t evictions; /* live windows dropped for room (logged at powers of two) */
};

int gsim_throttle_init(gsim *sim, char *why, size_t why_len) {
  sim->throttle = calloc(1, sizeof(*sim->throttle));
  if (!sim->throttle) {
    snprintf(why, why_len, "out of memory for the throttle counters");
    return -1;
  }
  return 0;
}

void gsim_throttle_free(gsim *sim) {
  if (!sim->throttle)
    return;
  for (size_t i = 0; i < GSIM_THROTTLE_SLOTS; i++)
    free(sim->throttle->slots[i].key);
  free(sim->throttle);
  sim->throttle = NULL;
}

const gsim_tier *gsim_tier_find(const gsim_options *opt, const char *name) {
  for (size_t i = 0; i < opt->tier_count; i++)
    if (strcmp(opt->tiers[i].name, name) == 0)
      return &opt->tiers[i];
  for (size_t i = 0; i < sizeof(builtin_tiers) / sizeof(builtin_tiers[0]); i++)
    if (strcmp(builtin_tiers[i].name, name) == 0)
      return &builtin_tiers[i];
  return NULL;
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 14695981039346656037ULL;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return h;
}

static void slot_release(struct gsim_throttle *t, throttle_slot *s) {
  free(s->key);
  memset(s, 0, sizeof(*s));
  t->live--;
}

/* The slot of key, or a slot to start it in (key NULL there), or NULL when
 * out of memory. */
static throttle_slot *slot_for(gsim *sim, const char *key, uint64_t hash, int64_t now_ms) {
  struct gsim_throttle *t = sim->throttle;
  throttle_slot *free_slot = NULL, *oldest = NULL;
  for (size_t i = 0; i < GSIM_THROTTLE_SLOTS; i++) {
    throttle_slot *s = &t->slots[i];
    if (!s->key) {
      if (!free_slot)
        free_slot = s;
      continue;
    }
    if (s->hash == hash && strcmp(s->key, key) == 0)
      return s;
    if (s->end_ms <= now_ms) { /* an expired window: evict */
      slot_release(t, s);
      if (!free_slot)
        free_slot = s;
    } else if (!oldest || s->start_ms < oldest->start_ms)
      oldest = s;
  }
  if (!free_slot && oldest) {
    uint64_t n = ++t->evictions;
    if ((n & (n - 1)) == 0) /* 1, 2, 4, 8...: a flood cannot flood the log */
      gsim_log(sim, "WARN",
               "throttle: %d live counters, dropping the oldest window (%llu dropped so far)",
               GSIM_THROTTLE_SLOTS, (unsigned long long)n);
    slot_release(t, oldest);
    free_slot = oldest;
  }
  return free_slot;
}

int gsim_throttle_hit(gsim *sim, const char *key, const gsim_tier *tier, int64_t now_ms,
                      int64_t *next_ms) {
  if (!tier || tier->requests <= 0 || tier->window_s <= 0 || !sim->throttle)
    return 1;
  uint64_t hash = fnv1a(key);
  throttle_slot *s = slot_for(sim, key, hash, now_ms);
  if (!s)
    return 1;
  int64_t window_ms = (int64_t)tier->window_s * 1000;
  if (!s->key) {
    s->key = strdup(key);
    if (!s->key)
      return 1; /* out of memory: let it through rather than fail closed on a counter */
    s->hash = hash;
    sim->throttle->live++;
    s->count = 0;
    s->start_ms = now_ms;
    s->end_ms = now_ms + window_ms;
  } else if (now_ms >= s->end_ms || now_ms < s->start_ms) {
    s->count = 0; /* a new window (or the clock went back) */
    s->start_ms = now_ms;
    s->end_ms = now_ms + window_ms;
  }
  if (s->count >= tier->requests) {
    if (next_ms)
      *next_ms = s->end_ms;
    return 0;
  }
  s->count++;
  return 1;
}

size_t gsim_throttle_count(const gsim *sim) { return sim->throttle ? sim->throttle->live : 0; }

void gsim_throttle_format_next(int64_t ms, char out[40]) {
  gsim_format_utc(ms, "%Y-%b-%d %H:%M:%S+0000 UTC", out, 40);
}

#define NS_THROTTLING "http://wso2.org/apimanager/throttling"

void gsim_throttle_reply(gsim *sim, struct evhttp_request *req, int64_t next_ms) {
  const gsim_rule *rule = gsim_rule_of(sim->opt, GSIM_RF_THROTTLE_OUT);
  char when[40], description[160];
  gsim_throttle_format_next(next_ms, when);
  const char *next_field = NULL; /* nextAccessTime, when the row has it */
  if (rule->variant == GSIM_THROTTLE_XML) {
    /* 2.6's REST branch: the bare description, the time in its own element */
    snprintf(description, sizeof(description), "You have exceeded your quota");
    next_field = when;
  } else {
    snprintf(description, sizeof(description),
             "You have exceeded your quota .You can access API after %s", when);
    if (rule->variant == GSIM_THROTTLE_JSON_RETRY_AFTER) {
      char date[40];
      /* an HTTP-date (RFC 9110 IMF-fixdate), as WSO2 4.x writes it with
       * "EEE, dd MMM yyyy HH:mm:ss z" in GMT: "Tue, 01 Jan 2030 00:01:00 GMT" */
      gsim_format_utc(next_ms, "%a, %d %b %Y %H:%M:%S GMT", date, sizeof(date));
      evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", date);
      next_field = when;
    }
  }
  gsim_fault_send_ns_extra(sim, req, rule->status ? rule->status : 429, "amt", NS_THROTTLING,
                           rule->code ? rule->code : "900804", "Message throttled out", description,
                           next_field ? "nextAccessTime" : NULL, next_field);
}
