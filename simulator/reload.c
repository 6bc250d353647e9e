/* reload.c - when uploaded endpoint certificates take effect.
 *
 * An upload or delete only marks the sender trust dirty; nothing changes for
 * backend handshakes until the next tick of the sender's fixed schedule
 * (every sender_reload_interval seconds from start), where the trust is
 * rebuilt from the store if, and only if, something changed - WSO2's
 * "PassThroughHttpSender reloading SSL Config". gsim_reload_check() runs from
 * the event loop's short real-time cap timer and at the start of every
 * request and admin call, so a clock step by libfaketime is noticed before
 * the first request that follows it is served, and the order of events in
 * fake time is kept: a tick that passed before an upload is processed before
 * that upload is recorded.
 */
#include <stdio.h>

#include "sim.h"

int gsim_reload_now(gsim *sim, const char *reason, char *why, size_t why_len) {
  gsim_cert_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_cert_list(sim->store, NULL, NULL, &rows, &count) != GSIM_STORE_OK) {
    snprintf(why, why_len, "store: %s", gsim_store_error(sim->store));
    return -1;
  }
  int64_t now = gsim_now_ms();
  int rc = gsim_trust_rebuild(&sim->trust, rows, count, now, why, why_len);
  gsim_cert_rows_free(rows, count);
  if (rc)
    return -1;
  sim->sender_dirty = 0;
  sim->last_reload_ms = now;
  gsim_log(sim, "INFO",
           "PassThroughHttpSender reloading SSL Config (%s): generation %llu, %zu endpoint "
           "certificate(s)",
           reason, (unsigned long long)sim->trust.current->number, count);
  return 0;
}

void gsim_reload_check(gsim *sim) {
  int64_t now = gsim_now_ms();
  gsim_listener_check(sim);
  int64_t passed = gsim_schedule_advance(&sim->sender, now);
  if (sim->opt->break_immediate_reload && sim->sender_dirty)
    passed = 1; /* the deliberate bug: no waiting for the tick */
  if (passed == 0 || !sim->sender_dirty)
    return;
  char why[256];
  if (gsim_reload_now(sim, "tick", why, sizeof(why)) == 0)
    sim->sender_reloads++;
  else
    gsim_log(sim, "ERROR", "sender reload failed, keeping the previous trust: %s", why);
}
