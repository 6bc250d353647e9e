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
 *
 * A node of a gateway cluster (--node; README.md, "Gateway clusters") shares
 * the store with the other nodes, and takes their changes as a WSO2 gateway
 * takes the control plane's events: before anything else, every check asks
 * the store whether another connection committed since the last check
 * (PRAGMA data_version: one cheap statement, never set by this node's own
 * writes). When one did, each domain brings itself in line with the store -
 * APIs deployed or undeployed at once (apis.c), client certificates into the
 * map with both views queued (clientauth.c), key managers, applications and
 * subscriptions reloaded (oauth.c), the sap stores and providers compared
 * (sap.c) - and the endpoint certificates are compared with what this node
 * last knew (a SHA-256 of the rows, taken at every rebuild and every such
 * check): a difference marks the sender trust changed. What a clock governs
 * is then live at this node's own next tick, counted from its own start.
 * The sync comes before the ticks: a change another node made before a tick
 * this node has not processed yet goes live at that tick, as it would have
 * had the node checked in between (the harness acknowledges every clock step
 * on every node before it writes, so a write after a tick is never taken
 * into it). A failed sync is logged and retried at the next check. Rule family
 * cluster-certificates decides whether certificates are taken at all: the
 * quirk node-misses-change (api-manager #3167) swaps in the row under which
 * a node keeps the endpoint and client certificates (and sap stores) it
 * loaded at start until it restarts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sim.h"

/* SHA-256 of the endpoint certificate rows (alias, endpoint, DER), so a node
 * can tell whether another node changed them. All zero when OpenSSL fails:
 * then the next comparison differs, and a reload is the safe side. */
static void cert_digest(const gsim_cert_row *rows, size_t count, unsigned char out[32]) {
  memset(out, 0, 32);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
  for (size_t i = 0; ok && i < count; i++) {
    uint64_t len = rows[i].der_len;
    ok = EVP_DigestUpdate(ctx, rows[i].alias, strlen(rows[i].alias) + 1) == 1 &&
         EVP_DigestUpdate(ctx, rows[i].endpoint, strlen(rows[i].endpoint) + 1) == 1 &&
         EVP_DigestUpdate(ctx, &len, sizeof(len)) == 1 &&
         (len == 0 || EVP_DigestUpdate(ctx, rows[i].der, rows[i].der_len) == 1);
  }
  unsigned out_len = 0;
  if (!ok || EVP_DigestFinal_ex(ctx, out, &out_len) != 1)
    memset(out, 0, 32);
  EVP_MD_CTX_free(ctx);
}

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
  int sap = gsim_rule_of(sim->opt, GSIM_RF_REST_PATHS)->variant == GSIM_REST_SAP_ODATA;
  for (size_t i = first; sap && i < GSIM_MAX_PROFILES; i++) {
    saved[i] = trust->profiles[i];
    memset(&trust->profiles[i], 0, sizeof(trust->profiles[i]));
  }
  if (sap)
    providers = gsim_sap_providers_load(sim, trust);
  int64_t now = gsim_now_ms();
  int rc = gsim_trust_rebuild(trust, rows, count, now, why, why_len);
  if (rc == 0)
    cert_digest(rows, count, sim->cluster.sender_seen);
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

void gsim_reload_cluster_init(gsim *sim) {
  if (sim->opt->node <= 0 ||
      gsim_store_data_version(sim->store, &sim->cluster.data_version) != GSIM_STORE_OK)
    sim->cluster.data_version = INT64_MIN; /* the first check syncs */
}

/* The endpoint certificates as the store holds them, against what this node
 * last knew: a difference marks the sender trust changed. 1 changed, 0 not,
 * -1 with why. */
static int sender_sync(gsim *sim, char *why, size_t why_len) {
  gsim_cert_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_cert_list(sim->store, NULL, NULL, &rows, &count) != GSIM_STORE_OK) {
    snprintf(why, why_len, "endpoint certificates: %s", gsim_store_error(sim->store));
    return -1;
  }
  unsigned char digest[32];
  cert_digest(rows, count, digest);
  gsim_cert_rows_free(rows, count);
  if (memcmp(digest, sim->cluster.sender_seen, sizeof(digest)) == 0)
    return 0;
  memcpy(sim->cluster.sender_seen, digest, sizeof(digest));
  gsim_trust_changed(&sim->trust);
  return 1;
}

/* --node: takes the other nodes' changes (the top comment). */
static void cluster_sync(gsim *sim, int64_t now) {
  gsim_cluster *c = &sim->cluster;
  int64_t version = 0;
  if (sim->opt->node <= 0 || !sim->store || !sim->listener || !sim->oauth)
    return;
  if (gsim_store_data_version(sim->store, &version) != GSIM_STORE_OK) {
    gsim_log(sim, "ERROR", "cluster: cannot read the store's data version: %s",
             gsim_store_error(sim->store));
    return;
  }
  if (version == c->data_version)
    return;
  c->data_version = version;
  c->changes_seen++;
  c->last_change_ms = now;
  char why[256] = "";
  int was_pending = gsim_trust_pending(&sim->trust);
  size_t added = 0, removed = 0, certs = 0;
  int sender = 0, sap = 0, failed = 0;
  /* rule family cluster-certificates: the quirk node-misses-change leaves them out */
  int certs_taken =
      gsim_rule_of(sim->opt, GSIM_RF_CLUSTER_CERTS)->variant == GSIM_CLUSTER_CERTS_TAKEN;
  /* APIs first: client certificates and subscriptions name them */
  if (gsim_apis_sync(sim, &added, &removed, why, sizeof(why)) != 0 ||
      (certs_taken && gsim_client_certs_sync(sim, &certs, why, sizeof(why)) != 0) ||
      gsim_oauth_sync(sim, why, sizeof(why)) != 0 ||
      (certs_taken && (sender = sender_sync(sim, why, sizeof(why))) < 0) ||
      (certs_taken && (sap = gsim_sap_sync(sim)) < 0))
    failed = 1;
  c->apis_added += added;
  c->apis_removed += removed;
  c->client_certs_changed += certs;
  if (failed) {
    if (!why[0])
      snprintf(why, sizeof(why), "sap stores: %s", gsim_store_error(sim->store));
    c->sync_failures++;
    c->data_version = INT64_MIN; /* again at the next check */
    gsim_log(sim, "ERROR", "cluster: node %ld could not take the other nodes' changes: %s",
             sim->opt->node, why);
    return;
  }
  char sender_text[128] = "unchanged";
  if (!certs_taken)
    snprintf(sender_text, sizeof(sender_text), "%s",
             "and client certificates not taken (rule cluster.node-misses-change: until a "
             "restart)");
  else if (was_pending)
    snprintf(sender_text, sizeof(sender_text), "%s",
             "already waiting for this node's next sender tick");
  else if (sender || sap) {
    char next[32];
    gsim_format_iso(gsim_schedule_next_ms(&sim->sender, now), next);
    snprintf(sender_text, sizeof(sender_text), "changed: live at this node's next sender tick (%s)",
             next);
  }
  gsim_log(sim, "INFO",
           "cluster: node %ld took the other nodes' changes: %zu API(s) deployed, %zu "
           "undeployed; %zu client certificate change(s) (live at this node's listener ticks); "
           "sender trust %s",
           sim->opt->node, added, removed, certs, sender_text);
}

void gsim_reload_check(gsim *sim) {
  int64_t now = gsim_now_ms();
  cluster_sync(sim, now);
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
