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
 * Under the sap profile a rebuild also takes the API providers (sap.c) as
 * the store holds them at that moment: each becomes a profile slot of the
 * trust (trust.c's top comment) with its trust store's certificates and its
 * key store entry as the identity presented to that backend. The store
 * layout read here is sap.c's: sap_api_provider (json: host, port,
 * trustStore, keyStore, keyAlias), sap_truststore_cert "<store>/<name>" (blob:
 * DER), sap_keystore_entry "<store>/<name>" (blob: PEM chain + key). The
 * previous slots are kept until the new generation is built, and put back if
 * it is not, so a failed reload changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sim.h"

/* Frees a provider slot (same ownership as trust.c's provider_slot_free). */
static void slot_free(gsim_ssl_profile *p) {
  gsim_profile_spec *spec = (gsim_profile_spec *)p->spec;
  if (spec) {
    for (size_t i = 0; i < spec->server_count; i++)
      free(spec->servers[i]);
    free(spec->trust_store);
    free(spec);
  }
  gcert_store_free(&p->custom_trust);
  EVP_PKEY_free(p->key);
  sk_X509_pop_free(p->chain, X509_free);
  memset(p, 0, sizeof(*p));
}

/* Adds every certificate of the sap trust store `store` to out. */
static int provider_trust(gsim *sim, const char *store, gcert_store *out, char *why,
                          size_t why_len) {
  char prefix[GSIM_OBJECT_KEY_MAX];
  snprintf(prefix, sizeof(prefix), "%s/", store);
  gsim_object_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_object_list(sim->store, "sap_truststore_cert", prefix, &rows, &count) !=
      GSIM_STORE_OK) {
    snprintf(why, why_len, "store: %s", gsim_store_error(sim->store));
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    const unsigned char *p = rows[i].blob;
    X509 *cert = p ? d2i_X509(NULL, &p, (long)rows[i].blob_len) : NULL;
    gcert_error err = {0};
    if (!cert || gcert_store_add_trusted(out, NULL, cert, &err) != GCERT_OK) {
      snprintf(why, why_len, "trust store certificate '%.200s' does not load", rows[i].key);
      rc = -1;
    }
    X509_free(cert);
  }
  gsim_object_rows_free(rows, count);
  return rc;
}

/* The key store entry store/alias as an identity; a missing entry is no
 * identity (logged), not an error. */
static int provider_identity(gsim *sim, const char *provider, const char *store, const char *alias,
                             gsim_ssl_profile *slot, char *why, size_t why_len) {
  char key[GSIM_OBJECT_KEY_MAX];
  if (snprintf(key, sizeof(key), "%s/%s", store, alias) >= (int)sizeof(key)) {
    snprintf(why, why_len, "key store entry name too long");
    return -1;
  }
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  gsim_store_status st = gsim_store_object_get(sim->store, "sap_keystore_entry", key, &row);
  if (st == GSIM_STORE_NOT_FOUND) {
    gsim_log(sim, "WARN",
             "sap API provider '%s': key store entry %s is gone: presenting no "
             "client certificate",
             provider, key);
    return 0;
  }
  if (st != GSIM_STORE_OK) {
    snprintf(why, why_len, "store: %s", gsim_store_error(sim->store));
    return -1;
  }
  gcert_store entry;
  gcert_store_init(&entry);
  gcert_error err = {0};
  int rc = -1;
  if (gcert_pem_read(row.blob, row.blob_len, NULL, &entry, &err) == GCERT_OK && entry.count == 1 &&
      entry.entries[0].key) {
    EVP_PKEY_up_ref(entry.entries[0].key);
    slot->key = entry.entries[0].key;
    slot->chain = X509_chain_up_ref(entry.entries[0].chain);
    rc = slot->chain ? 0 : -1;
  }
  if (rc)
    snprintf(why, why_len, "key store entry %.200s does not load", key);
  gcert_store_free(&entry);
  if (row.blob)
    OPENSSL_cleanse(row.blob, row.blob_len);
  gsim_object_row_clear(&row);
  return rc;
}

/* One provider into slot; -1 with why (the slot is then freed). */
static int provider_load(gsim *sim, const gsim_object_row *row, gsim_ssl_profile *slot, char *why,
                         size_t why_len) {
  memset(slot, 0, sizeof(*slot));
  gcert_store_init(&slot->custom_trust);
  json_t *def = row->json ? json_loads(row->json, 0, NULL) : NULL;
  const char *host = json_string_value(json_object_get(def, "host"));
  json_int_t port = json_integer_value(json_object_get(def, "port"));
  const char *ts = json_string_value(json_object_get(def, "trustStore"));
  const char *ks = json_string_value(json_object_get(def, "keyStore"));
  const char *alias = json_string_value(json_object_get(def, "keyAlias"));
  gsim_profile_spec *spec = calloc(1, sizeof(*spec));
  int rc = -1;
  if (!def || !host || port < 1 || port > 65535)
    snprintf(why, why_len, "its definition is unusable");
  else if (!spec)
    snprintf(why, why_len, "out of memory");
  else {
    slot->spec = spec;
    size_t n = strlen(host) + 16;
    spec->servers[0] = malloc(n);
    spec->verifier = GSIM_VERIFY_DEFAULT;
    if (spec->servers[0]) {
      snprintf(spec->servers[0], n, "%s:%lld", host, (long long)port);
      spec->server_count = 1;
      rc = 0;
    } else
      snprintf(why, why_len, "out of memory");
    if (rc == 0 && ts) {
      spec->trust_store = strdup(ts); /* a name: the certificates are in custom_trust */
      rc = spec->trust_store ? provider_trust(sim, ts, &slot->custom_trust, why, why_len) : -1;
    }
    if (rc == 0 && ks && alias)
      rc = provider_identity(sim, row->key, ks, alias, slot, why, why_len);
  }
  if (!slot->spec)
    free(spec);
  // NOLINTNEXTLINE(clang-analyzer-unix.Malloc): spec is owned by slot->spec (freed by slot_free)
  json_decref(def);
  if (rc)
    slot_free(slot);
  return rc;
}

/* Fills the free profile slots after the built-in default with the store's
 * API providers (creation order); returns how many. One that does not load
 * is left out, with a log line. */
static size_t providers_load(gsim *sim) {
  gsim_trust *trust = &sim->trust;
  gsim_object_row *rows = NULL;
  size_t count = 0, loaded = 0;
  if (gsim_store_object_list(sim->store, "sap_api_provider", NULL, &rows, &count) !=
      GSIM_STORE_OK) {
    gsim_log(sim, "ERROR", "sap API providers cannot be read: %s", gsim_store_error(sim->store));
    return 0;
  }
  size_t slot = trust->profile_count + 1;
  for (size_t i = 0; i < count; i++) {
    char why[256];
    if (slot >= GSIM_MAX_PROFILES) {
      gsim_log(sim, "ERROR", "sap API provider '%s' left out: no profile slot left", rows[i].key);
      continue;
    }
    if (provider_load(sim, &rows[i], &trust->profiles[slot], why, sizeof(why)) != 0) {
      gsim_log(sim, "ERROR", "sap API provider '%s' left out: %s", rows[i].key, why);
      continue;
    }
    slot++;
    loaded++;
  }
  gsim_object_rows_free(rows, count);
  return loaded;
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
  int sap = sim->opt->profile == GSIM_PROFILE_SAP;
  for (size_t i = first; sap && i < GSIM_MAX_PROFILES; i++) {
    saved[i] = trust->profiles[i];
    memset(&trust->profiles[i], 0, sizeof(trust->profiles[i]));
  }
  if (sap)
    providers = providers_load(sim);
  int64_t now = gsim_now_ms();
  int rc = gsim_trust_rebuild(trust, rows, count, now, why, why_len);
  gsim_cert_rows_free(rows, count);
  for (size_t i = first; sap && i < GSIM_MAX_PROFILES; i++) {
    if (rc) { /* back to the slots the current generation was built with */
      slot_free(&trust->profiles[i]);
      trust->profiles[i] = saved[i];
    } else
      slot_free(&saved[i]);
  }
  if (rc)
    return -1;
  sim->sender_dirty = 0;
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

int gsim_reload_everything_now(gsim *sim, char *why, size_t why_len) {
  if (gsim_reload_now(sim, "requested", why, why_len) != 0 ||
      gsim_listener_apply(sim, GSIM_LISTENER_HANDSHAKE, "requested", why, why_len) != 0 ||
      gsim_listener_apply(sim, GSIM_LISTENER_MEMORY, "requested", why, why_len) != 0)
    return -1;
  sim->sender_reloads++;
  return 0;
}

void gsim_reload_check(gsim *sim) {
  int64_t now = gsim_now_ms();
  listener_check(sim, now);
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
