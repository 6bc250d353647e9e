/* throttle.c - throttling per tier (counters: placeholder, being written).
 *
 * Tier names: WSO2 4.x's shipped subscription and application policies,
 * then the config's own ("throttling": {"tiers": [...]}), which win. */
#include <string.h>

#include "sim.h"

/* requests per window_s; 0 requests: unlimited */
static const gsim_tier builtin_tiers[] = {
    {"Unlimited", 0, 60},         {"Gold", 5000, 60},   {"Silver", 2000, 60}, {"Bronze", 1000, 60},
    {"Unauthenticated", 500, 60}, {"10PerMin", 10, 60}, {"20PerMin", 20, 60}, {"50PerMin", 50, 60},
};

int gsim_throttle_init(gsim *sim, char *why, size_t why_len) {
  (void)sim, (void)why, (void)why_len;
  return 0;
}
void gsim_throttle_free(gsim *sim) { (void)sim; }

const gsim_tier *gsim_tier_find(const gsim_options *opt, const char *name) {
  for (size_t i = 0; i < opt->tier_count; i++)
    if (strcmp(opt->tiers[i].name, name) == 0)
      return &opt->tiers[i];
  for (size_t i = 0; i < sizeof(builtin_tiers) / sizeof(builtin_tiers[0]); i++)
    if (strcmp(builtin_tiers[i].name, name) == 0)
      return &builtin_tiers[i];
  return NULL;
}
