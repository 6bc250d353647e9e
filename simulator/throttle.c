/* throttle.c - throttling per tier (placeholder: being written). */
#include <string.h>

#include "sim.h"

int gsim_throttle_init(gsim *sim, char *why, size_t why_len) {
  (void)sim, (void)why, (void)why_len;
  return 0;
}
void gsim_throttle_free(gsim *sim) { (void)sim; }
const gsim_tier *gsim_tier_find(const gsim_options *opt, const char *name) {
  for (size_t i = 0; i < opt->tier_count; i++)
    if (strcmp(opt->tiers[i].name, name) == 0)
      return &opt->tiers[i];
  return NULL;
}
