/* driver.c - what every driver shares: capability names and admin results. */
#include <stdlib.h>
#include <string.h>

#include "driver.h"

static const struct {
  unsigned bit;
  const char *name;
} caps[] = {
    {GH_CAP_RUNTIME_BACKEND_TRUST, "runtime-backend-trust"},
    {GH_CAP_DEFERRED_RELOAD_SCHEDULE, "deferred-reload-schedule"},
    {GH_CAP_BACKEND_MTLS, "backend-mtls"},
    {GH_CAP_HOSTNAME_VERIFIER, "hostname-verifier"},
    {GH_CAP_ADMIN_VALIDATION, "admin-validation"},
    {GH_CAP_OFF_SCHEDULE_RELOAD, "off-schedule-reload"},
    {GH_CAP_RESTART_KEEPS_STATE, "restart-keeps-state"},
    {GH_CAP_FAULT_CODES, "fault-codes"},
    {GH_CAP_XML_FAULTS, "xml-faults"},
    {GH_CAP_BASE_TRUST_STORE, "base-trust-store"},
};

const char *gh_cap_name(unsigned cap) {
  for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
    if (caps[i].bit == cap)
      return caps[i].name;
  return NULL;
}

int gh_cap_parse(const char *name, unsigned *cap) {
  for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
    if (strcmp(caps[i].name, name) == 0) {
      *cap = caps[i].bit;
      return 0;
    }
  return -1;
}

void gh_admin_result_free(gh_admin_result *r) {
  free(r->body);
  r->body = NULL;
}
