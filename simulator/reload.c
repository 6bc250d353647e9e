/* reload.c - every clock of the gateway: when changes take effect.
 *
 * Three fixed schedules from start (schedule.c), set up and advanced here
 * only: the sender's (endpoint certificates, sap API providers), the
 * listener SSL profile's and the client certificate trust store reloader's
 * (clientauth.c's two views: it says what is pending, this file decides when
 * to apply it). The domain modules never call back into this file.
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
 *
 * Under the sap profile a rebuild also takes the API providers as the store
 * holds them at that moment (gsim_sap_providers_load: sap.c lays them out,
 * loads and frees them): each becomes a profile slot of the trust (trust.c's
 * top comment). The previous slots are kept until the new generation is
 * built, and put back if it is not, so a failed reload changes nothing. The
 * sender's "changed" mark is the trust's (gsim_trust_pending).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

int gsim_reload_now(gsim *sim, const char *reason, char *why, size_t why_len) {
  gsim_cert_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_cert_list(sim->store, NULL, NULL, &rows, &count) != GSIM_STORE_OK) {
    snprintf(why, why_len, "store: %s", gsim_store_error(sim->store));
    return -1;
  }
  /* the providers' slots: the old ones aside until the new generation exists */
  gsim_trust *trust = &sim->trust;
  gsim_ssl_profile saved[GSIM_MAX_PROFILES];
  size_t first = trust->profile_count + 1, providers = 0;
  int sap = sim->opt->profile == GSIM_PROFILE_SAP;
  for (size_t i = first; sap && i < GSIM_MAX_PROFILES; i++) {
    saved[i] = trust->profiles[i];
    memset(&trust->profiles[i], 0, sizeof(trust->profiles[i]));
  }
  if (sap)
    providers = gsim_sap_providers_load(sim, trust);
  int64_t now = gsim_now_ms();
  int rc = gsim_trust_rebuild(trust, rows, count, now, why, why_len);
  gsim_cert_rows_free(rows, count);
  for (size_t i = first; sap && i < GSIM_MAX_PROFILES; i++) {
    if (rc) { /* back to the slots the current generation was built with */
      gsim_trust_slot_free(&trust->profiles[i]);
      trust->profiles[i] = saved[i];
    } else
      gsim_trust_slot_free(&saved[i]);
  }
  if (rc)
    return -1;
  sim->last_reload_ms = now;
  if (sap)
    gsim_log(sim, "INFO",
             "PassThroughHttpSender reloading SSL Config (%s): generation %llu, %zu endpoint "
             "certificate(s), %zu API provider(s)",
             reason, (unsigned long long)trust->current->number, count, providers);
  else
    gsim_log(sim, "INFO",
             "PassThroughHttpSender reloading SSL Config (%s): generation %llu, %zu endpoint "
             "certificate(s)",
             reason, (unsigned long long)trust->current->number, count);
  return 0;
}

void gsim_reload_init(gsim *sim) {
  const gsim_options *opt = sim->opt;
  int64_t start = sim->started_ms;
  gsim_schedule_init(&sim->sender, start, (int64_t)opt->sender_reload_s * 1000);
  if (opt->sender_reload_asked_s < GSIM_MIN_RELOAD_S)
    gsim_log(sim, "WARN", "sender reload interval %lds is below the minimum: using %ds",
             opt->sender_reload_asked_s, GSIM_MIN_RELOAD_S);
  gsim_schedule_init(&sim->listener_clock, start, (int64_t)opt->listener_reload_s * 1000);
  int64_t period = (int64_t)opt->truststore_period_s * 1000;
  gsim_schedule_init(&sim->truststore_clock,
                     start + (int64_t)opt->truststore_delay_s * 1000 - period, period);
  if (opt->listener_reload_asked_s < GSIM_MIN_RELOAD_S)
    gsim_log(sim, "WARN",
             "listener SSL profile reload interval %lds is below the minimum: using %ds",
             opt->listener_reload_asked_s, GSIM_MIN_RELOAD_S);
}

/* The listener's two clocks: a view is rebuilt at its clock's tick when a
 * client certificate changed since it was last built. */
static void listener_check(gsim *sim, int64_t now) {
  if (!sim->listener)
    return;
  char why[256];
  if (gsim_schedule_advance(&sim->listener_clock, now) > 0 &&
      gsim_listener_pending(sim, GSIM_LISTENER_HANDSHAKE) &&
      gsim_listener_apply(sim, GSIM_LISTENER_HANDSHAKE, "tick", why, sizeof(why)) != 0)
    gsim_log(sim, "ERROR", "listener SSL profile reload failed, keeping the previous one: %s", why);
  if (gsim_schedule_advance(&sim->truststore_clock, now) > 0 &&
      gsim_listener_pending(sim, GSIM_LISTENER_MEMORY) &&
      gsim_listener_apply(sim, GSIM_LISTENER_MEMORY, "tick", why, sizeof(why)) != 0)
    gsim_log(sim, "ERROR", "client certificate reload failed: %s", why);
}

/* Off schedule (POST /_sim/reload): what is pending, now; a view or the
 * sender with nothing pending is not rebuilt (no new generation, nothing
 * counted), as at a tick. */
int gsim_reload_everything_now(gsim *sim, char *why, size_t why_len) {
  if (gsim_trust_pending(&sim->trust)) {
    if (gsim_reload_now(sim, "requested", why, why_len) != 0)
      return -1;
    sim->sender_reloads++;
  }
  if (gsim_listener_apply(sim, GSIM_LISTENER_HANDSHAKE, "requested", why, why_len) != 0 ||
      gsim_listener_apply(sim, GSIM_LISTENER_MEMORY, "requested", why, why_len) != 0)
    return -1;
  return 0;
}

void gsim_reload_check(gsim *sim) {
  int64_t now = gsim_now_ms();
  listener_check(sim, now);
  int64_t passed = gsim_schedule_advance(&sim->sender, now);
  int pending = gsim_trust_pending(&sim->trust);
  if (sim->opt->break_immediate_reload && pending)
    passed = 1; /* the deliberate bug: no waiting for the tick */
  if (passed == 0 || !pending)
    return;
  char why[256];
  if (gsim_reload_now(sim, "tick", why, sizeof(why)) == 0)
    sim->sender_reloads++;
  else
    gsim_log(sim, "ERROR", "sender reload failed, keeping the previous trust: %s", why);
}
