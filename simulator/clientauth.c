/* clientauth.c - client to gateway mutual TLS: the HTTPS listener's TLS, the
 * client certificates of every API, and the two clocks that decide when a
 * change reaches the handshake and the in-memory trust store.
 *
 * WSO2 (README.md, "Client to gateway mutual TLS") keeps three views of an API's client
 * certificates, and so does this file:
 *
 *   1. the API's certificate map: what a presented certificate is matched
 *      against (serial + issuer DN, or serial + subject DN; never the alias).
 *      It changes at once on every add, replace and delete, because WSO2
 *      redeploys the API. Here: l->certs, a mirror of the store's
 *      "client_cert" objects, in creation order, indexed (certindex.h) by
 *      serial + issuer (or subject) name, by alias and by subject name, so a
 *      match or an alias check costs the same with 10 stored or 100,000.
 *   2. the listener's handshake trust: an SSL_CTX per *generation*, holding
 *      the gateway identity, and one X509_STORE shared by every generation
 *      whose trust anchors (X509_V_FLAG_PARTIAL_CHAIN, as Java's PKIX) are
 *      the base listener trust store plus every client certificate present
 *      when the current generation was made. WSO2's listener re-reads its SSL
 *      profile every fileReadInterval (minimum 60 s), on fixed ticks from
 *      start; a tick changes something only when a certificate changed.
 *      The store holds no objects: its lookups (get_issuer, lookup_certs)
 *      are callbacks over this view's hash tables (by certificate and by
 *      subject name). A change to the map queues an operation (add or remove
 *      one certificate) for each view; the tick applies the queue to the
 *      tables - one hash operation per change, no sort and no rebuild of a
 *      stack of every certificate (OpenSSL 3.0 re-sorts a store's object
 *      stack after any insertion, ~0.1 s at 100,000 on the event loop) - and
 *      makes a new SSL_CTX on the same store, so the session cache and ticket
 *      keys are new with each generation (a session made under the old client
 *      trust cannot be resumed after a change).
 *      New connections take the current generation (SSL_new holds a
 *      reference to its SSL_CTX, so replacing one never pulls it from under a
 *      live connection); a handshake that is in progress at a tick verifies
 *      its client certificate against the trust of the moment the certificate
 *      arrives. The verify mode is none, optional (ask; no certificate is
 *      fine, an untrusted or expired one fails the handshake) or require.
 *      A certificate is in the view once however many client certificates
 *      (or base entries) hold it; a count per entry says when it goes.
 *   3. the in-memory listener trust store of WSO2 4.x
 *      (isCertificateExistsInListenerTrustStore), refreshed by the
 *      certificate reloader: first run truststore_delay_s after start, then
 *      every truststore_period_s, reloading only when the file changed. Here:
 *      a counted set of the certificates (by certificate and by subject name,
 *      for chain validation), updated from its own queue at its ticks.
 *
 * So an added certificate fails the handshake (optional mode: untrusted)
 * until the next profile tick and is absent from memory trust until the next
 * reloader tick; a deleted one still completes the handshake until the next
 * profile tick but no longer matches at once. The two clocks are reload.c's:
 * gsim_reload_check() (every request, admin call and the 50 ms loop timer)
 * asks gsim_listener_pending() and calls gsim_listener_apply() at their
 * ticks, so a tick that passed before a change is processed before the change
 * is recorded; this file never advances a clock. A view with nothing queued
 * is never touched, by a tick or by /_sim/reload ("requested"): no new
 * generation, no reload counted (status: listener.profile.changes_applied,
 * trust_objects). A start (or restart) builds both views from the store:
 * nothing waits after a restart. It decodes the stored certificates without
 * their public keys (with_key decodes one when a signature or a chain needs
 * it), since OpenSSL 3.0 spends most of a d2i_X509 on the key. At most
 * --max-client-certs certificates are held (every API together); an upload
 * past it is refused (admin_clientcerts.c).
 *
 * The admin API's client certificate routes are admin_clientcerts.c's; it
 * calls the operations at the end of this file (clientauth.h: find, add,
 * update, delete), which keep the store (kind "client_cert", key
 * "<apiId>/<keyType>/<alias>", json {alias, apiId, tier, keyType}, blob =
 * DER; rows of the older key "<apiId>/<alias>" move at start) and the map in
 * step: every write goes to the store before the map changes. A node of a
 * cluster (--node) takes the other nodes' writes with gsim_client_certs_sync
 * (reload.c calls it when the store changed): the map is compared with the
 * store's rows by key, and each difference is an add, a replace or a delete
 * exactly as the admin API's own - the map at once, both views at their
 * ticks. Nothing is decoded when the rows are those the map last matched
 * (a SHA-256 of them, forgotten at any change of the map).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

#include "gutil.h"
#include "certindex.h"
#include "clientauth.h"
#include "sim.h"

#define GSIM_CLIENT_CERT_KIND "client_cert"

/* A certificate in one view, held by `refs` client certificates or base
 * entries. */
typedef struct view_entry {
  X509 *cert;
  size_t refs;
} view_entry;

/* A certificate's keys in a view's tables, computed once per change (a
 * certificate decoded at start has no cached fingerprint: its key costs an
 * encoding and a digest). */
typedef struct cert_keys {
  gsim_cix_key cert;    /* by_cert */
  gsim_cix_key subject; /* by_subject */
} cert_keys;

/* A change waiting for the view's next tick. */
typedef struct view_op {
  X509 *cert; /* a reference */
  int add;    /* 1 add, 0 remove */
  cert_keys keys;
} view_op;

typedef struct cert_view {
  gsim_cix by_cert;    /* view_entry by the certificate */
  gsim_cix by_subject; /* the same entries by subject name (who may have issued a leaf) */
  view_op *pending;
  size_t pending_count, pending_cap;
  size_t live; /* client certificates in the view (base entries not counted) */
  int64_t loaded_ms;
  uint64_t applied; /* changes applied since start (the start's included) */
} cert_view;

struct gsim_listener {
  unsigned char rows_seen[32]; /* --node: SHA-256 of the stored rows the map last matched */
  EVP_PKEY *key;               /* the gateway identity */
  /* stored certificates are decoded at start in this library context, which
   * has only OpenSSL's "null" provider: no public key is decoded (with_key) */
  OSSL_LIB_CTX *bare;
  OSSL_PROVIDER *bare_null;
  STACK_OF(X509) * chain;
  gcert_store base;         /* listener trust store (listener.trust_store or --trust) */
  gsim_client_cert **certs; /* the APIs' certificate maps, in creation order */
  size_t count, cap;
  unsigned long long seq;                     /* the last creation number given */
  gsim_cix by_identity, by_alias, by_subject; /* gsim_client_cert by its keys */
  /* the handshake: listener SSL profile clock */
  X509_STORE *store; /* shared by every generation */
  cert_view handshake;
  SSL_CTX *ctx; /* current generation */
  uint64_t generation;
  uint64_t profile_reloads;
  /* the in-memory trust store: certificate reloader clock */
  cert_view memory;
  uint64_t memory_loads; /* including the start */
  uint64_t memory_reloads;
};
typedef struct gsim_listener gsim_listener;

static int gsim_clientauth_add(gsim *sim, gsim_client_cert *c);

static const char *gsim_verify_client_name(gsim_verify_client mode) {
  switch (mode) {
  case GSIM_VERIFY_CLIENT_NONE:
    return "none";
  case GSIM_VERIFY_CLIENT_REQUIRE:
    return "require";
  case GSIM_VERIFY_CLIENT_OPTIONAL:
  default:
    return "optional";
  }
}

/* ---- the views: counted certificate sets, changed only at their ticks -------- */

static int keys_of(X509 *cert, cert_keys *k) {
  return gsim_cix_key_cert(cert, &k->cert) == 0 &&
                 gsim_cix_key_name(X509_get_subject_name(cert), &k->subject) == 0
             ? 0
             : -1;
}

static view_entry *view_find_key(const cert_view *v, X509 *cert, const gsim_cix_key *kc) {
  const gsim_cix_entry *cur = NULL;
  view_entry *e;
  while ((e = gsim_cix_next(&v->by_cert, kc, &cur)) != NULL)
    if (X509_cmp(e->cert, cert) == 0)
      return e;
  return NULL;
}

static view_entry *view_find(const cert_view *v, X509 *cert) {
  gsim_cix_key k;
  return gsim_cix_key_cert(cert, &k) == 0 ? view_find_key(v, cert, &k) : NULL;
}

/* One more holder of cert (keys k). 0, or -1 out of memory (nothing changed). */
static int view_hold(cert_view *v, X509 *cert, const cert_keys *k) {
  view_entry *e = view_find_key(v, cert, &k->cert);
  if (e) {
    e->refs++;
    return 0;
  }
  if (!(e = calloc(1, sizeof(*e))))
    return -1;
  X509_up_ref(cert);
  e->cert = cert;
  e->refs = 1;
  if (gsim_cix_add(&v->by_cert, &k->cert, e) != 0 ||
      gsim_cix_add(&v->by_subject, &k->subject, e) != 0) {
    gsim_cix_remove(&v->by_cert, &k->cert, e);
    X509_free(cert);
    free(e);
    return -1;
  }
  return 0;
}

/* One holder less; the last one frees the entry. */
static void view_release(cert_view *v, X509 *cert, const cert_keys *k) {
  view_entry *e = view_find_key(v, cert, &k->cert);
  if (!e || --e->refs > 0)
    return;
  gsim_cix_remove(&v->by_cert, &k->cert, e);
  gsim_cix_remove(&v->by_subject, &k->subject, e);
  X509_free(e->cert);
  free(e);
}

/* *slot with its public key decoded (what an issuer's signature check
 * needs): a certificate decoded at start without it (load_certs: OpenSSL 3.0
 * spends ~90% of a d2i_X509 building the key through its provider decoders)
 * is decoded again, whole, the first time, and replaces *slot (the same
 * certificate: X509_cmp and every index key are equal). *slot when that
 * fails. */
static X509 *with_key(X509 **slot) {
  if (X509_get0_pubkey(*slot)) /* decoded once: a cached pointer */
    return *slot;
  ERR_clear_error();
  unsigned char *der = NULL;
  int n = i2d_X509(*slot, &der);
  const unsigned char *p = der;
  X509 *full = n > 0 ? d2i_X509(NULL, &p, n) : NULL;
  OPENSSL_free(der);
  if (!full || !X509_get0_pubkey(full)) {
    X509_free(full);
    ERR_clear_error();
    return *slot;
  }
  X509_free(*slot);
  *slot = full;
  return full;
}

static int view_queue(cert_view *v, X509 *cert, int add, const cert_keys *keys) {
  if (v->pending_count == v->pending_cap) {
    size_t cap = v->pending_cap ? v->pending_cap * 2 : 16;
    view_op *grown = realloc(v->pending, cap * sizeof(*grown));
    if (!grown)
      return -1;
    v->pending = grown;
    v->pending_cap = cap;
  }
  X509_up_ref(cert);
  v->pending[v->pending_count++] = (view_op){cert, add, *keys};
  return 0;
}

/* Applies v's queue, one hash table operation per change: 0, or -1 when
 * memory ran out (the changes before it stand, the rest are dropped; logged
 * by the caller). */
static int view_apply(cert_view *v) {
  int rc = 0;
  for (size_t i = 0; i < v->pending_count; i++) {
    view_op *op = &v->pending[i];
    if (rc == 0 && op->add) {
      if (view_hold(v, op->cert, &op->keys) != 0)
        rc = -1;
      else
        v->live++;
    } else if (rc == 0) {
      view_release(v, op->cert, &op->keys);
      v->live--;
    }
    if (rc == 0)
      v->applied++;
    X509_free(op->cert);
  }
  v->pending_count = 0;
  v->loaded_ms = gsim_now_ms();
  return rc;
}

static void view_free(cert_view *v) {
  for (size_t i = 0; i < v->pending_count; i++)
    X509_free(v->pending[i].cert);
  free(v->pending);
  /* every entry is in by_cert once: free them through a walk of its buckets */
  for (size_t b = 0; b < v->by_cert.nbuckets; b++)
    for (gsim_cix_entry *e = v->by_cert.buckets[b]; e; e = e->next) {
      view_entry *ve = e->value;
      X509_free(ve->cert);
      free(ve);
    }
  gsim_cix_free(&v->by_cert);
  gsim_cix_free(&v->by_subject);
  memset(v, 0, sizeof(*v));
}

/* A change of the map, for both views' next ticks. */
static int queue_both(gsim_listener *l, X509 *cert, int add) {
  cert_keys keys;
  return keys_of(cert, &keys) == 0 && view_queue(&l->handshake, cert, add, &keys) == 0 &&
                 view_queue(&l->memory, cert, add, &keys) == 0
             ? 0
             : -1;
}

/* ---- certificates and names ------------------------------------------------- */

/* WSO2's key of a client certificate: serial + "_" + DN, with "," -> "#". */
static void unique_id(const gsim_options *opt, gsim_client_cert *c) {
  char serial[100], dn[900];
  gsim_x509_serial(c->cert, serial, sizeof(serial));
  gsim_x509_dn(opt->cert_match == GSIM_MATCH_SERIAL_SUBJECT ? X509_get_subject_name(c->cert)
                                                            : X509_get_issuer_name(c->cert),
               dn, sizeof(dn));
  for (char *p = dn; *p; p++)
    if (*p == ',')
      *p = '#';
  size_t n = strlen(serial);
  memcpy(c->unique_id, serial, n + 1); /* 100 + 1 + 900 bytes fit in 1024 */
  c->unique_id[n++] = '_';
  memcpy(c->unique_id + n, dn, strlen(dn) + 1);
}

gsim_client_cert *gsim_client_cert_new(const gsim_options *opt, const char *api_id,
                                       const char *alias, const char *tier, const char *key_type,
                                       X509 *cert) {
  gsim_client_cert *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  snprintf(c->api_id, sizeof(c->api_id), "%s", api_id);
  snprintf(c->alias, sizeof(c->alias), "%s", alias);
  snprintf(c->tier, sizeof(c->tier), "%s", tier);
  snprintf(c->key_type, sizeof(c->key_type), "%s", key_type);
  X509_up_ref(cert);
  c->cert = cert;
  unique_id(opt, c);
  return c;
}

static void gsim_clientauth_cert_free(gsim_client_cert *c) {
  if (!c)
    return;
  X509_free(c->cert);
  free(c);
}

static void gsim_clientauth_cert_set(const gsim_options *opt, gsim_client_cert *c, X509 *cert) {
  X509_up_ref(cert);
  X509_free(c->cert);
  c->cert = cert;
  unique_id(opt, c);
}

/* ---- the store ---------------------------------------------------------------- */

/* "<apiId>/<keyType>/<alias>": the API id and the key type hold no '/', so the
 * key is unambiguous whatever the alias holds, and one alias may be stored
 * once per key type of an API (rule client-alias.tenant-key-type). */
static void gsim_clientauth_key(const char *api_id, const char *key_type, const char *alias,
                                char out[GSIM_OBJECT_KEY_MAX]) {
  snprintf(out, GSIM_OBJECT_KEY_MAX, "%s/%s/%s", api_id, key_type, alias);
}

/* One stored row into a certificate; NULL with why when it does not decode. */
static gsim_client_cert *from_row(const gsim_options *opt, OSSL_LIB_CTX *bare,
                                  const gsim_object_row *row, char *why, size_t why_len) {
  json_t *json = row->json ? json_loads(row->json, 0, NULL) : NULL;
  const char *alias = json_string_value(json_object_get(json, "alias"));
  const char *api_id = json_string_value(json_object_get(json, "apiId"));
  const char *tier = json_string_value(json_object_get(json, "tier"));
  const char *key_type = json_string_value(json_object_get(json, "keyType"));
  const unsigned char *p = row->blob;
  /* without its public key (with_key decodes it when a signature needs it) */
  X509 *cert = row->blob ? (X509 *)ASN1_item_d2i_ex(NULL, &p, (long)row->blob_len,
                                                    ASN1_ITEM_rptr(X509), bare, NULL)
                         : NULL;
  ERR_clear_error(); /* the key's decoding failed on purpose */
  gsim_client_cert *c = NULL;
  if (!alias || !api_id || !tier || !key_type || !cert || strlen(alias) >= GSIM_ALIAS_MAX ||
      strlen(api_id) >= GSIM_API_ID_MAX || strlen(tier) >= sizeof(c->tier) ||
      (strcmp(key_type, "PRODUCTION") != 0 && strcmp(key_type, "SANDBOX") != 0))
    gu_fail(why, why_len, "stored client certificate '%s' does not decode", row->key);
  else if (!(c = gsim_client_cert_new(opt, api_id, alias, tier, key_type, cert)))
    gu_fail(why, why_len, "out of memory");
  X509_free(cert);
  json_decref(json);
  return c;
}

/* A row stored by an older simulator under "<apiId>/<alias>" moves to its
 * key (insert, then delete the old one): 0, or -1 with why. */
static int migrate_key(gsim *sim, gsim_object_row *row, const gsim_client_cert *c, char *why,
                       size_t why_len) {
  char key[GSIM_OBJECT_KEY_MAX], old[GSIM_OBJECT_KEY_MAX];
  gsim_clientauth_key(c->api_id, c->key_type, c->alias, key);
  if (strcmp(key, row->key) == 0)
    return 0;
  memcpy(old, row->key, sizeof(old));
  memcpy(row->key, key, sizeof(key));
  if (gsim_store_object_insert(sim->store, row) != GSIM_STORE_OK ||
      gsim_store_object_delete(sim->store, GSIM_CLIENT_CERT_KIND, old) != GSIM_STORE_OK)
    return gu_fail(why, why_len, "store: moving client certificate '%s' to its key: %s", old,
                   gsim_store_error(sim->store));
  gsim_log(sim, "INFO", "store: client certificate '%s' moved to key '%s'", old, key);
  return 0;
}

static int load_certs(gsim *sim, char *why, size_t why_len) {
  gsim_object_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_object_list(sim->store, GSIM_CLIENT_CERT_KIND, NULL, &rows, &count) !=
      GSIM_STORE_OK)
    return gu_fail(why, why_len, "store: %s", gsim_store_error(sim->store));
  int rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    gsim_client_cert *c = from_row(sim->opt, sim->listener->bare, &rows[i], why, why_len);
    if (c && migrate_key(sim, &rows[i], c, why, why_len) != 0)
      rc = -1;
    else if (!c || gsim_clientauth_add(sim, c) != 0)
      rc = c ? gu_fail(why, why_len,
                       "the store holds more than --max-client-certs %zu client certificates "
                       "(or memory ran out)",
                       gsim_client_cert_limit(sim))
             : -1;
    else
      c = NULL; /* the map owns it */
    gsim_clientauth_cert_free(c);
  }
  gsim_object_rows_free(rows, count);
  return rc;
}

/* ---- handshake generations ------------------------------------------------------ */

/* Logs why a client certificate failed the handshake (the client only sees
 * an alert). Called by OpenSSL only for a failure (ok 0) worth a line: a
 * success costs one compare. */
static int verify_callback(int ok, X509_STORE_CTX *store_ctx) {
  if (ok)
    return 1;
  SSL *ssl = X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx());
  gsim *sim = ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
  if (sim) {
    char subject[512];
    X509 *cert = X509_STORE_CTX_get_current_cert(store_ctx);
    if (cert)
      gsim_x509_dn(X509_get_subject_name(cert), subject, sizeof(subject));
    else
      snprintf(subject, sizeof(subject), "?");
    int err = X509_STORE_CTX_get_error(store_ctx);
    gsim_log(sim, "WARN", "listener: client certificate refused in the handshake: %s (%s)",
             X509_verify_cert_error_string(err), subject);
  }
  return 0; /* the failure stands */
}

/* The handshake trust seen by OpenSSL's verifier. The X509_STORE holds no
 * objects: its two lookups are these callbacks, over the handshake view's
 * hash tables (so a tick adds or removes entries and never sorts a stack of
 * every certificate, and a lookup costs the same with 10 or 100,000). The
 * listener is the store's ex_data index 0, the index OpenSSL reserves in
 * every class for the application's own pointer ("app data"). */
static gsim_listener *listener_of(X509_STORE_CTX *ctx) {
  X509_STORE *store = X509_STORE_CTX_get0_store(ctx);
  return store ? X509_STORE_get_ex_data(store, 0) : NULL;
}

/* Every certificate of the handshake trust named `name` (OpenSSL's
 * lookup_certs: how a presented leaf is found as a trust anchor under
 * X509_V_FLAG_PARTIAL_CHAIN), each with a reference; NULL when none. */
static STACK_OF(X509) * trust_lookup_certs(X509_STORE_CTX *ctx, const X509_NAME *name) {
  gsim_listener *l = listener_of(ctx);
  gsim_cix_key k;
  if (!l || gsim_cix_key_name(name, &k) != 0)
    return NULL;
  STACK_OF(X509) *out = NULL;
  const gsim_cix_entry *cur = NULL;
  view_entry *e;
  while ((e = gsim_cix_next(&l->handshake.by_subject, &k, &cur)) != NULL) {
    if (X509_NAME_cmp(X509_get_subject_name(e->cert), name) != 0)
      continue;
    /* with its key: OpenSSL reads the key of every certificate on a chain */
    X509 *x = with_key(&e->cert);
    if ((!out && !(out = sk_X509_new_null())) || !X509_up_ref(x))
      break;
    if (sk_X509_push(out, x) <= 0) {
      X509_free(x);
      break;
    }
  }
  return out;
}

/* A certificate of the handshake trust that issued x (OpenSSL's get_issuer:
 * names, key identifiers and key type must fit), one valid now preferred, as
 * X509_STORE_CTX_get1_issuer does: 1 with a reference in *issuer, or 0. */
static int trust_get_issuer(X509 **issuer, X509_STORE_CTX *ctx, X509 *x) {
  gsim_listener *l = listener_of(ctx);
  gsim_cix_key k;
  *issuer = NULL;
  if (!l || gsim_cix_key_name(X509_get_issuer_name(x), &k) != 0)
    return 0;
  const gsim_cix_entry *cur = NULL;
  view_entry *e;
  X509 *best = NULL;
  while ((e = gsim_cix_next(&l->handshake.by_subject, &k, &cur)) != NULL) {
    X509 *candidate = with_key(&e->cert);
    if (X509_check_issued(candidate, x) != X509_V_OK)
      continue;
    best = candidate;
    if (X509_cmp_current_time(X509_get0_notBefore(candidate)) <= 0 &&
        X509_cmp_current_time(X509_get0_notAfter(candidate)) >= 0)
      break; /* valid now: the one */
  }
  ERR_clear_error();
  if (!best || !X509_up_ref(best))
    return 0;
  *issuer = best;
  return 1;
}

/* A generation's SSL_CTX: the identity, the verify mode and the shared store. */
static SSL_CTX *new_ctx(gsim *sim, gsim_listener *l, char *why, size_t why_len) {
  static const unsigned char sid_ctx[] = "gatecert-sim";
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) {
    gu_fail(why, why_len, "SSL_CTX_new failed");
    return NULL;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  /* Sessions resume within a generation, as Java's SSLContext does for WSO2's
   * listener: each generation has its own session cache and ticket keys, so
   * a session made under the old client trust cannot be resumed after the
   * listener was rebuilt with a new one. */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
  SSL_CTX_set_app_data(ctx, sim);
  int ok = SSL_CTX_use_certificate(ctx, sk_X509_value(l->chain, 0)) == 1 &&
           SSL_CTX_use_PrivateKey(ctx, l->key) == 1;
  for (int i = 1; ok && i < sk_X509_num(l->chain); i++)
    ok = SSL_CTX_add1_chain_cert(ctx, sk_X509_value(l->chain, i)) == 1;
  if (!ok) {
    SSL_CTX_free(ctx);
    gu_fail(why, why_len, "the server identity does not load into OpenSSL");
    return NULL;
  }
  SSL_CTX_set1_cert_store(ctx, l->store);
  /* The chain sent with an identity given without one: OpenSSL would build it
   * from the store on every handshake (a second X509_verify_cert per
   * handshake); built here once per generation, from the same store, it is
   * the same chain (a partial one kept when no anchor is found, as the
   * handshake would). An identity with its own chain is sent as given. */
  if (sk_X509_num(l->chain) == 1)
    SSL_CTX_build_cert_chain(ctx,
                             SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR | SSL_BUILD_CHAIN_FLAG_CLEAR_ERROR);
  ERR_clear_error();
  /* One TLS 1.3 session ticket per handshake: OpenJDK 11's SunJSSE server
   * writes one NewSessionTicket after a full handshake (sun/security/ssl/
   * NewSessionTicket.java, the post-handshake producer), recent OpenJDK
   * mainline three (NUMOFNSTM); which JDK runs WSO2 varies [I]. OpenSSL's
   * default two cost a session copy (a re-decoding of the client's
   * certificate) each; a client resumes with any one of them. */
  SSL_CTX_set_num_tickets(ctx, 1);
  int mode = SSL_VERIFY_NONE;
  if (sim->opt->verify_client == GSIM_VERIFY_CLIENT_OPTIONAL)
    mode = SSL_VERIFY_PEER;
  else if (sim->opt->verify_client == GSIM_VERIFY_CLIENT_REQUIRE)
    mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx, mode, mode == SSL_VERIFY_NONE ? NULL : verify_callback);
  return ctx;
}

/* The handshake view's queue applied to the store, and a new generation. */
static int rebuild_profile(gsim *sim, gsim_listener *l, const char *reason, char *why,
                           size_t why_len) {
  SSL_CTX *ctx = new_ctx(sim, l, why, why_len);
  if (!ctx)
    return -1;
  if (view_apply(&l->handshake) != 0)
    gsim_log(sim, "ERROR",
             "listener SSL profile: out of memory applying the changes: some dropped");
  SSL_CTX_free(l->ctx); /* connections made with it hold their own reference */
  l->ctx = ctx;
  sim->server_ctx = ctx; /* borrowed: the listener owns it */
  l->generation++;
  if (l->generation > 1)
    gsim_log(sim, "INFO",
             "listener SSL profile reloaded (%s): generation %llu, %zu client certificate(s)",
             reason, (unsigned long long)l->generation, l->count);
  return 0;
}

/* The in-memory trust view's queue applied. */
static int reload_memory(gsim *sim, gsim_listener *l, const char *reason, char *why,
                         size_t why_len) {
  if (view_apply(&l->memory) != 0)
    return gu_fail(why, why_len, "out of memory (some changes dropped)");
  if (l->memory_loads++ > 0)
    gsim_log(sim, "INFO",
             "client certificate trust store reloaded into memory (%s): %zu "
             "certificate(s)",
             reason, l->count);
  return 0;
}

/* ---- the interface of sim.h ------------------------------------------------------- */

int gsim_listener_init(gsim *sim, EVP_PKEY *key, STACK_OF(X509) * chain, char *why,
                       size_t why_len) {
  const gsim_options *opt = sim->opt;
  gsim_listener *l = calloc(1, sizeof(*l));
  if (!l)
    return gu_fail(why, why_len, "out of memory");
  sim->listener = l;
  gcert_store_init(&l->base);
  if (!key || !chain || sk_X509_num(chain) == 0)
    return gu_fail(why, why_len, "the listener has no identity");
  EVP_PKEY_up_ref(key);
  l->key = key;
  l->chain = X509_chain_up_ref(chain);
  if (!l->chain || !(l->store = X509_STORE_new()) || X509_STORE_set_ex_data(l->store, 0, l) != 1)
    return gu_fail(why, why_len, "out of memory");
  /* an explicit provider, or OpenSSL would load the default one on first use */
  if (!(l->bare = OSSL_LIB_CTX_new()) || !(l->bare_null = OSSL_PROVIDER_load(l->bare, "null")))
    return gu_fail(why, why_len, "OpenSSL: no library context with the null provider");
  X509_STORE_set_flags(l->store, X509_V_FLAG_PARTIAL_CHAIN);
  X509_STORE_set_get_issuer(l->store, trust_get_issuer);
  X509_STORE_set_lookup_certs(l->store, trust_lookup_certs);
  const char *path = opt->client_trust ? opt->client_trust : opt->trust;
  const char *password = opt->client_trust ? opt->client_trust_password : opt->trust_password;
  gcert_error err = {0};
  if (path && gcert_read_file(path, GCERT_FORMAT_AUTO, password, &l->base, &err) != GCERT_OK)
    return gu_fail(why, why_len, "%s %s: %s",
                   opt->client_trust ? "listener trust store" : "--trust", path, err.message);
  for (size_t i = 0; i < l->base.count; i++) { /* base entries: held for good */
    STACK_OF(X509) *certs = l->base.entries[i].chain;
    for (int j = 0; certs && j < sk_X509_num(certs); j++) {
      cert_keys keys;
      if (keys_of(sk_X509_value(certs, j), &keys) != 0 ||
          view_hold(&l->handshake, sk_X509_value(certs, j), &keys) != 0)
        return gu_fail(why, why_len, "out of memory");
    }
  }
  if (load_certs(sim, why, why_len) != 0)
    return -1;
  if (rebuild_profile(sim, l, "start", why, why_len) != 0 ||
      reload_memory(sim, l, "start", why, why_len) != 0)
    return -1;
  gsim_log(sim, "INFO",
           "listener: client certificates %s, %zu stored (at most %zu); SSL profile reload every "
           "%lds, trust store reloader every %lds from +%lds",
           gsim_verify_client_name(opt->verify_client), l->count, gsim_client_cert_limit(sim),
           opt->listener_reload_s, opt->truststore_period_s, opt->truststore_delay_s);
  return 0;
}

void gsim_listener_free(gsim *sim) {
  gsim_listener *l = sim->listener;
  if (!l)
    return;
  SSL_CTX_free(l->ctx);
  sim->server_ctx = NULL;
  for (size_t i = 0; i < l->count; i++)
    gsim_clientauth_cert_free(l->certs[i]);
  free(l->certs);
  gsim_cix_free(&l->by_identity);
  gsim_cix_free(&l->by_alias);
  gsim_cix_free(&l->by_subject);
  view_free(&l->handshake);
  view_free(&l->memory);
  X509_STORE_free(l->store);
  /* last: X509_free of a certificate decoded in it (one a connection still
   * holds in its verified chain) does not use the context */
  OSSL_PROVIDER_unload(l->bare_null);
  OSSL_LIB_CTX_free(l->bare);
  gcert_store_free(&l->base);
  EVP_PKEY_free(l->key);
  sk_X509_pop_free(l->chain, X509_free);
  free(l);
  sim->listener = NULL;
}

SSL *gsim_listener_new_ssl(gsim *sim) {
  return sim->listener && sim->listener->ctx ? SSL_new(sim->listener->ctx) : NULL;
}

int gsim_listener_pending(const gsim *sim, gsim_listener_view view) {
  const gsim_listener *l = sim->listener;
  return l && (view == GSIM_LISTENER_HANDSHAKE ? l->handshake.pending_count
                                               : l->memory.pending_count) > 0;
}

int gsim_listener_apply(gsim *sim, gsim_listener_view view, const char *reason, char *why,
                        size_t why_len) {
  gsim_listener *l = sim->listener;
  if (!l || !gsim_listener_pending(sim, view)) /* nothing changed: nothing rebuilt */
    return 0;
  if (view == GSIM_LISTENER_HANDSHAKE) {
    if (rebuild_profile(sim, l, reason, why, why_len) != 0)
      return -1;
    l->profile_reloads++;
  } else {
    if (reload_memory(sim, l, reason, why, why_len) != 0)
      return -1;
    l->memory_reloads++;
  }
  return 0;
}

static json_t *next_ticks(const gsim_schedule *s, int64_t now) {
  json_t *list = json_array();
  int64_t t = gsim_schedule_next_ms(s, now);
  for (int i = 0; i < GSIM_STATUS_TICKS; i++, t += s->interval_ms)
    json_array_append_new(list, json_integer(t));
  return list;
}

json_t *gsim_listener_status(gsim *sim) {
  gsim_listener *l = sim->listener;
  const gsim_options *opt = sim->opt;
  if (!l)
    return json_object();
  int64_t now = gsim_now_ms();
  json_t *profile = json_pack(
      "{s:I, s:I, s:I, s:o, s:I, s:I, s:b, s:I, s:I, s:I, s:I}", "interval_s",
      (json_int_t)opt->listener_reload_s, "interval_asked_s",
      (json_int_t)opt->listener_reload_asked_s, "ticks", (json_int_t)sim->listener_clock.last_index,
      "next_ticks_ms", next_ticks(&sim->listener_clock, now), "generation",
      (json_int_t)l->generation, "reloads", (json_int_t)l->profile_reloads, "pending_change",
      l->handshake.pending_count > 0, "certificates_live", (json_int_t)l->handshake.live,
      "loaded_ms", (json_int_t)l->handshake.loaded_ms, "changes_applied",
      (json_int_t)l->handshake.applied, "trust_objects", (json_int_t)l->handshake.by_cert.count);
  json_t *truststore = json_pack(
      "{s:I, s:I, s:I, s:o, s:I, s:b, s:I, s:I, s:I}", "period_s",
      (json_int_t)opt->truststore_period_s, "initial_delay_s", (json_int_t)opt->truststore_delay_s,
      "ticks", (json_int_t)sim->truststore_clock.last_index, "next_ticks_ms",
      next_ticks(&sim->truststore_clock, now), "reloads", (json_int_t)l->memory_reloads,
      "pending_change", l->memory.pending_count > 0, "certificates_live",
      (json_int_t)l->memory.live, "loaded_ms", (json_int_t)l->memory.loaded_ms, "changes_applied",
      (json_int_t)l->memory.applied);
  return json_pack("{s:s, s:s, s:b, s:o, s:o, s:I, s:I}", "verify_client",
                   gsim_verify_client_name(opt->verify_client), "certificate_match",
                   opt->cert_match == GSIM_MATCH_SERIAL_SUBJECT ? "serial_subject"
                                                                : "serial_issuer",
                   "chain_validation", opt->chain_validation, "profile", profile, "truststore",
                   truststore, "client_certificates", (json_int_t)l->count,
                   "max_client_certificates", (json_int_t)gsim_client_cert_limit(sim));
}

/* 1 when issuer's key signed cert (and the names link). A stored
 * certificate is passed through with_key first. */
static int signed_by(X509 *cert, X509 *issuer) {
  EVP_PKEY *key = X509_get0_pubkey(issuer);
  int ok = key && X509_check_issued(issuer, cert) == X509_V_OK && X509_verify(cert, key) == 1;
  ERR_clear_error();
  return ok;
}

/* The exact certificate is in memory trust (the view or the base store); with
 * chain_validation, a certificate issued by one in it (verified signature)
 * counts too, as WSO2 then validates the chain against the trust store. */
int gsim_listener_memory_trusts(gsim *sim, X509 *cert) {
  gsim_listener *l = sim->listener;
  if (!l || !cert)
    return 0;
  int chain = sim->opt->chain_validation;
  if (view_find(&l->memory, cert))
    return 1;
  gsim_cix_key k;
  if (chain && gsim_cix_key_name(X509_get_issuer_name(cert), &k) == 0) {
    const gsim_cix_entry *cur = NULL;
    view_entry *e;
    while ((e = gsim_cix_next(&l->memory.by_subject, &k, &cur)) != NULL)
      if (signed_by(cert, with_key(&e->cert)))
        return 1;
  }
  for (size_t i = 0; i < l->base.count; i++) {
    STACK_OF(X509) *certs = l->base.entries[i].chain;
    for (int j = 0; certs && j < sk_X509_num(certs); j++) {
      X509 *x = sk_X509_value(certs, j);
      if (X509_cmp(x, cert) == 0 || (chain && signed_by(cert, x)))
        return 1;
    }
  }
  return 0;
}

int gsim_listener_handshake_trusts(gsim *sim, X509 *cert) {
  gsim_listener *l = sim->listener;
  if (!l || !l->ctx || !cert)
    return 0;
  X509_STORE_CTX *vctx = X509_STORE_CTX_new();
  int ok =
      vctx && X509_STORE_CTX_init(vctx, l->store, cert, NULL) == 1 && X509_verify_cert(vctx) == 1;
  X509_STORE_CTX_free(vctx);
  ERR_clear_error();
  return ok;
}

/* Same serial and the same issuer (or subject) DN. */
static int same_identity(const gsim_options *opt, X509 *a, X509 *b) {
  if (ASN1_INTEGER_cmp(X509_get0_serialNumber(a), X509_get0_serialNumber(b)) != 0)
    return 0;
  if (opt->cert_match == GSIM_MATCH_SERIAL_SUBJECT)
    return X509_NAME_cmp(X509_get_subject_name(a), X509_get_subject_name(b)) == 0;
  return X509_NAME_cmp(X509_get_issuer_name(a), X509_get_issuer_name(b)) == 0;
}

/* The API's first certificate (creation order) with cert's serial + issuer
 * (or subject). */
static const gsim_client_cert *match_one(gsim *sim, const gsim_api *api, X509 *cert) {
  gsim_listener *l = sim->listener;
  gsim_cix_key k;
  if (gsim_cix_key_identity(cert, sim->opt->cert_match == GSIM_MATCH_SERIAL_SUBJECT, &k) != 0)
    return NULL;
  const gsim_cix_entry *cur = NULL;
  const gsim_client_cert *c, *best = NULL;
  while ((c = gsim_cix_next(&l->by_identity, &k, &cur)) != NULL)
    if ((!best || c->seq < best->seq) && strcmp(c->api_id, api->id) == 0 &&
        same_identity(sim->opt, c->cert, cert))
      best = c;
  return best;
}

/* The API's first certificate (creation order) that signed cert. */
static const gsim_client_cert *issued_by_one(gsim *sim, const gsim_api *api, X509 *cert) {
  gsim_listener *l = sim->listener;
  gsim_cix_key k;
  if (gsim_cix_key_name(X509_get_issuer_name(cert), &k) != 0)
    return NULL;
  const gsim_cix_entry *cur = NULL;
  gsim_client_cert *c;
  const gsim_client_cert *best = NULL;
  while ((c = gsim_cix_next(&l->by_subject, &k, &cur)) != NULL)
    if ((!best || c->seq < best->seq) && strcmp(c->api_id, api->id) == 0 &&
        signed_by(cert, with_key(&c->cert)))
      best = c;
  return best;
}

const gsim_client_cert *gsim_client_cert_match(gsim *sim, const gsim_api *api, X509 *cert,
                                               STACK_OF(X509) * chain) {
  gsim_listener *l = sim->listener;
  if (!l || !api || !cert)
    return NULL;
  const gsim_client_cert *found = match_one(sim, api, cert);
  if (found || !sim->opt->chain_validation)
    return found;
  /* a leaf issued (verified signature) by one of the API's certificates */
  if ((found = issued_by_one(sim, api, cert)) != NULL)
    return found;
  /* an issuer on the presented chain's actual path from the leaf: a chain
   * certificate that did not sign the one below it proves nothing */
  X509 *below = cert;
  for (int depth = 0; chain && depth < sk_X509_num(chain) && depth < 16; depth++) {
    X509 *issuer = NULL;
    for (int j = 0; j < sk_X509_num(chain) && !issuer; j++) {
      X509 *x = sk_X509_value(chain, j);
      if (x != below && X509_cmp(x, below) != 0 && signed_by(below, x))
        issuer = x;
    }
    if (!issuer)
      break;
    if ((found = match_one(sim, api, issuer)) != NULL ||
        (found = issued_by_one(sim, api, issuer)) != NULL)
      return found;
    below = issuer;
  }
  return NULL;
}

/* ---- the certificate map ------------------------------------------------------------ */

/* c's entries in the map's three indexes (add 1) or out of them (add 0). */
static int index_cert(gsim *sim, gsim_client_cert *c, int add) {
  gsim_listener *l = sim->listener;
  /* the map changes: the rows it last matched (gsim_client_certs_sync) no longer say it all */
  memset(l->rows_seen, 0, sizeof(l->rows_seen));
  gsim_cix_key ki, ka, ks;
  if (gsim_cix_key_identity(c->cert, sim->opt->cert_match == GSIM_MATCH_SERIAL_SUBJECT, &ki) != 0 ||
      gsim_cix_key_text(c->alias, &ka) != 0 ||
      gsim_cix_key_name(X509_get_subject_name(c->cert), &ks) != 0)
    return -1;
  if (!add) {
    gsim_cix_remove(&l->by_identity, &ki, c);
    gsim_cix_remove(&l->by_alias, &ka, c);
    gsim_cix_remove(&l->by_subject, &ks, c);
    return 0;
  }
  if (gsim_cix_add(&l->by_identity, &ki, c) != 0)
    return -1;
  if (gsim_cix_add(&l->by_alias, &ka, c) != 0) {
    gsim_cix_remove(&l->by_identity, &ki, c);
    return -1;
  }
  if (gsim_cix_add(&l->by_subject, &ks, c) != 0) {
    gsim_cix_remove(&l->by_identity, &ki, c);
    gsim_cix_remove(&l->by_alias, &ka, c);
    return -1;
  }
  return 0;
}

/* Appends c to the map (indexed, queued for both views): 0, or -1 at the
 * limit or out of memory (nothing changed). */
static int gsim_clientauth_add(gsim *sim, gsim_client_cert *c) {
  gsim_listener *l = sim->listener;
  if (l->count >= gsim_client_cert_limit(sim))
    return -1;
  if (l->count == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers to entries
    gsim_client_cert **grown = realloc(l->certs, cap * sizeof(*grown));
    if (!grown)
      return -1;
    l->certs = grown;
    l->cap = cap;
  }
  if (index_cert(sim, c, 1) != 0)
    return -1;
  if (queue_both(l, c->cert, 1) != 0) {
    index_cert(sim, c, 0);
    return -1;
  }
  c->seq = ++l->seq;
  l->certs[l->count++] = c;
  return 0;
}

/* Takes c out of the map (unindexed, queued for both views) and frees it. */
static void forget(gsim *sim, gsim_client_cert *c) {
  index_cert(sim, c, 0);
  if (queue_both(sim->listener, c->cert, 0) != 0)
    gsim_log(sim, "ERROR", "out of memory: client certificate '%s' stays in the listener trust",
             c->alias);
  gsim_clientauth_cert_free(c);
}

/* Drops an API's certificate (key_type and alias), or all of them (NULL, NULL). */
static size_t gsim_clientauth_remove(gsim *sim, const char *api_id, const char *key_type,
                                     const char *alias) {
  gsim_listener *l = sim->listener;
  size_t kept = 0, removed = 0;
  for (size_t i = 0; i < l->count; i++) {
    gsim_client_cert *c = l->certs[i];
    if (strcmp(c->api_id, api_id) == 0 && (!key_type || strcmp(c->key_type, key_type) == 0) &&
        (!alias || strcmp(c->alias, alias) == 0)) {
      forget(sim, c);
      removed++;
    } else
      l->certs[kept++] = c;
  }
  l->count = kept;
  return removed;
}

/* Drops the one certificate c (found by its pointer: no name compares). */
static void gsim_clientauth_remove_one(gsim *sim, gsim_client_cert *c) {
  gsim_listener *l = sim->listener;
  for (size_t i = 0; i < l->count; i++)
    if (l->certs[i] == c) {
      memmove(&l->certs[i], &l->certs[i + 1], (l->count - i - 1) * sizeof(gsim_client_cert *));
      l->count--;
      forget(sim, c);
      return;
    }
}

int gsim_client_certs_drop_api(gsim *sim, const char *api_id) {
  if (!sim->listener)
    return 0;
  char prefix[GSIM_OBJECT_KEY_MAX];
  snprintf(prefix, sizeof(prefix), "%s/", api_id);
  if (gsim_store_object_delete_prefix(sim->store, GSIM_CLIENT_CERT_KIND, prefix, NULL) !=
      GSIM_STORE_OK)
    return -1;
  size_t removed = gsim_clientauth_remove(sim, api_id, NULL, NULL);
  if (removed > 0)
    gsim_log(sim, "INFO", "api %s deleted: its %zu client certificate(s) no longer match", api_id,
             removed);
  return 0;
}

/* ---- the admin API's operations (clientauth.h) --------------------------------------- */

size_t gsim_client_cert_count(const gsim *sim) { return sim->listener ? sim->listener->count : 0; }

/* Options built in process (tests) may leave the limit 0: the default then. */
size_t gsim_client_cert_limit(const gsim *sim) {
  long n = sim->opt->max_client_certs;
  return (size_t)(n > 0 ? n : GSIM_DEFAULT_MAX_CLIENT_CERTS);
}

gsim_client_cert *gsim_client_cert_at(gsim *sim, size_t i) {
  return i < gsim_client_cert_count(sim) ? sim->listener->certs[i] : NULL;
}

gsim_client_cert *gsim_client_cert_find(gsim *sim, const char *api_id, const char *key_type,
                                        const char *alias) {
  gsim_listener *l = sim->listener;
  gsim_cix_key k;
  if (!l || gsim_cix_key_text(alias, &k) != 0)
    return NULL;
  const gsim_cix_entry *cur = NULL;
  gsim_client_cert *c, *best = NULL;
  while ((c = gsim_cix_next(&l->by_alias, &k, &cur)) != NULL)
    if ((!best || c->seq < best->seq) && (!api_id || strcmp(c->api_id, api_id) == 0) &&
        (!key_type || strcmp(c->key_type, key_type) == 0) && strcmp(c->alias, alias) == 0)
      best = c;
  return best;
}
/* Writes c to the store (insert, or overwrite when replace). */
static gsim_store_status store_put(gsim *sim, const gsim_client_cert *c, int replace) {
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  snprintf(row.kind, sizeof(row.kind), "%s", GSIM_CLIENT_CERT_KIND);
  gsim_clientauth_key(c->api_id, c->key_type, c->alias, row.key);
  json_t *json = json_pack("{s:s, s:s, s:s, s:s}", "alias", c->alias, "apiId", c->api_id, "tier",
                           c->tier, "keyType", c->key_type);
  row.json = json ? json_dumps(json, JSON_COMPACT) : NULL;
  json_decref(json);
  int n = i2d_X509(c->cert, &row.blob);
  gsim_store_status st = GSIM_STORE_ERROR;
  if (row.json && n > 0) {
    row.blob_len = (size_t)n;
    row.created_ms = row.updated_ms = gsim_now_ms();
    st = replace ? gsim_store_object_upsert(sim->store, &row, NULL)
                 : gsim_store_object_insert(sim->store, &row);
  }
  free(row.json);
  OPENSSL_free(row.blob);
  return st;
}

gsim_store_status gsim_client_cert_add(gsim *sim, gsim_client_cert *c) {
  gsim_store_status st = store_put(sim, c, 0);
  if (st != GSIM_STORE_OK || gsim_clientauth_add(sim, c) != 0) {
    if (st == GSIM_STORE_OK) { /* memory failed after the store: undo the store */
      char key[GSIM_OBJECT_KEY_MAX];
      gsim_clientauth_key(c->api_id, c->key_type, c->alias, key);
      gsim_store_object_delete(sim->store, GSIM_CLIENT_CERT_KIND, key);
    }
    gsim_clientauth_cert_free(c);
    return st == GSIM_STORE_OK ? GSIM_STORE_ERROR : st;
  }
  char profile[32], memory[32];
  int64_t now = gsim_now_ms();
  gsim_format_iso(gsim_schedule_next_ms(&sim->listener_clock, now), profile);
  gsim_format_iso(gsim_schedule_next_ms(&sim->truststore_clock, now), memory);
  gsim_log(sim, "INFO",
           "client certificate '%s' (%s) added to api %s, %s, tier %s: matches now; handshake "
           "trust at the next listener tick (%s), in-memory trust at the next reloader tick (%s)",
           c->alias, c->unique_id, c->api_id, c->key_type, c->tier, profile, memory);
  return GSIM_STORE_OK;
}

gsim_store_status gsim_client_cert_update(gsim *sim, gsim_client_cert *c, const char *tier,
                                          X509 *cert) {
  gsim_client_cert *next =
      gsim_client_cert_new(sim->opt, c->api_id, c->alias, tier, c->key_type, cert ? cert : c->cert);
  gsim_store_status st = next ? store_put(sim, next, 1) : GSIM_STORE_ERROR;
  if (st != GSIM_STORE_OK) {
    gsim_clientauth_cert_free(next);
    return st;
  }
  int cert_changed = X509_cmp(next->cert, c->cert) != 0;
  snprintf(c->tier, sizeof(c->tier), "%s", next->tier);
  if (cert_changed) {
    index_cert(sim, c, 0);
    if (queue_both(sim->listener, c->cert, 0) != 0)
      gsim_log(sim, "ERROR", "out of memory: the replaced certificate stays in the listener trust");
    gsim_clientauth_cert_set(sim->opt, c, next->cert);
    if (index_cert(sim, c, 1) != 0 || queue_both(sim->listener, c->cert, 1) != 0)
      gsim_log(sim, "ERROR", "out of memory: the new certificate of '%s' may not match", c->alias);
  }
  gsim_clientauth_cert_free(next);
  gsim_log(sim, "INFO", "client certificate '%s' of api %s updated (%s%s), tier %s", c->alias,
           c->api_id, cert_changed ? "new certificate " : "same certificate", c->unique_id,
           c->tier);
  return GSIM_STORE_OK;
}

static int by_pointer(const void *a, const void *b) {
  uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
  return (x > y) - (x < y);
}

/* A stored certificate against its map entry: the tier changed, or the
 * certificate itself (then it is re-indexed and queued for both views). */
static int sync_one(gsim *sim, gsim_client_cert *c, const gsim_client_cert *stored) {
  int changed = strcmp(c->tier, stored->tier) != 0;
  snprintf(c->tier, sizeof(c->tier), "%s", stored->tier);
  if (X509_cmp(c->cert, stored->cert) != 0) {
    index_cert(sim, c, 0);
    if (queue_both(sim->listener, c->cert, 0) != 0)
      gsim_log(sim, "ERROR", "out of memory: the replaced certificate stays in the listener trust");
    gsim_clientauth_cert_set(sim->opt, c, stored->cert);
    if (index_cert(sim, c, 1) != 0 || queue_both(sim->listener, c->cert, 1) != 0)
      gsim_log(sim, "ERROR", "out of memory: the new certificate of '%s' may not match", c->alias);
    changed = 1;
  }
  if (changed)
    gsim_log(sim, "INFO",
             "client certificate '%s' of api %s updated through another node (%s), tier %s",
             c->alias, c->api_id, c->unique_id, c->tier);
  return changed;
}

/* SHA-256 of the stored rows (key, json, DER): a sync whose rows are those
 * the map last matched decodes nothing. All zero when OpenSSL fails (the
 * rows are then compared one by one, the safe side). */
static void rows_digest(const gsim_object_row *rows, size_t count, unsigned char out[32]) {
  memset(out, 0, 32);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
  for (size_t i = 0; ok && i < count; i++) {
    const char *json = rows[i].json ? rows[i].json : "";
    uint64_t len = rows[i].blob_len;
    ok = EVP_DigestUpdate(ctx, rows[i].key, strlen(rows[i].key) + 1) == 1 &&
         EVP_DigestUpdate(ctx, json, strlen(json) + 1) == 1 &&
         EVP_DigestUpdate(ctx, &len, sizeof(len)) == 1 &&
         (len == 0 || EVP_DigestUpdate(ctx, rows[i].blob, rows[i].blob_len) == 1);
  }
  unsigned out_len = 0;
  if (!ok || EVP_DigestFinal_ex(ctx, out, &out_len) != 1)
    memset(out, 0, 32);
  EVP_MD_CTX_free(ctx);
}

int gsim_client_certs_sync(gsim *sim, size_t *changed, char *why, size_t why_len) {
  gsim_listener *l = sim->listener;
  *changed = 0;
  gsim_object_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_object_list(sim->store, GSIM_CLIENT_CERT_KIND, NULL, &rows, &count) !=
      GSIM_STORE_OK)
    return gu_fail(why, why_len, "client certificates: %s", gsim_store_error(sim->store));
  unsigned char digest[32];
  static const unsigned char zero[32];
  rows_digest(rows, count, digest);
  if (memcmp(digest, l->rows_seen, sizeof(digest)) == 0 && memcmp(digest, zero, 32) != 0) {
    gsim_object_rows_free(rows, count); /* the rows the map already matched */
    return 0;
  }
  // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers to entries
  gsim_client_cert **kept = calloc(count ? count : 1, sizeof(*kept));
  if (!kept) {
    gsim_object_rows_free(rows, count);
    return gu_fail(why, why_len, "out of memory");
  }
  size_t kept_count = 0;
  int rc = 0;
  /* stored: matched to the map by key (api, key type, alias), or added */
  for (size_t i = 0; i < count && rc == 0; i++) {
    char row_why[256];
    gsim_client_cert *stored =
        from_row(sim->opt, sim->listener->bare, &rows[i], row_why, sizeof(row_why));
    if (!stored) {
      gsim_log(sim, "WARN", "cluster: %s; skipped", row_why);
      continue;
    }
    gsim_client_cert *c =
        gsim_client_cert_find(sim, stored->api_id, stored->key_type, stored->alias);
    if (c) {
      *changed += (size_t)sync_one(sim, c, stored);
      kept[kept_count++] = c;
      gsim_clientauth_cert_free(stored);
    } else if (gsim_clientauth_add(sim, stored) != 0) {
      gsim_clientauth_cert_free(stored);
      rc = gu_fail(why, why_len, "more than --max-client-certs %zu client certificates",
                   gsim_client_cert_limit(sim));
    } else {
      kept[kept_count++] = stored;
      (*changed)++;
      gsim_log(sim, "INFO",
               "client certificate '%s' (%s) added to api %s through another node, %s, tier %s",
               stored->alias, stored->unique_id, stored->api_id, stored->key_type, stored->tier);
    }
  }
  /* in the map, no longer stored: deleted through another node */
  if (rc == 0) {
    // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers to entries
    qsort(kept, kept_count, sizeof(*kept), by_pointer);
    size_t i = 0;
    while (i < l->count) {
      gsim_client_cert *c = l->certs[i];
      // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers to entries
      if (bsearch(&c, kept, kept_count, sizeof(*kept), by_pointer)) {
        i++;
        continue;
      }
      gsim_log(sim, "INFO",
               "client certificate '%s' (%s) deleted from api %s through another node: no "
               "longer matches; still in the handshake trust until the next listener tick",
               c->alias, c->unique_id, c->api_id);
      gsim_clientauth_remove_one(sim, c); /* shifts the rest down: i stays */
      (*changed)++;
    }
  }
  free(kept);
  gsim_object_rows_free(rows, count);
  if (rc == 0)
    memcpy(l->rows_seen, digest, sizeof(digest));
  return rc;
}

gsim_store_status gsim_client_cert_delete(gsim *sim, gsim_client_cert *c) {
  char key[GSIM_OBJECT_KEY_MAX];
  gsim_clientauth_key(c->api_id, c->key_type, c->alias, key);
  gsim_store_status st = gsim_store_object_delete(sim->store, GSIM_CLIENT_CERT_KIND, key);
  if (st != GSIM_STORE_OK && st != GSIM_STORE_NOT_FOUND)
    return st;
  gsim_log(sim, "INFO",
           "client certificate '%s' (%s) deleted from api %s: no longer matches; still in the "
           "handshake trust until the next listener tick",
           c->alias, c->unique_id, c->api_id);
  gsim_clientauth_remove_one(sim, c); /* c is freed */
  return GSIM_STORE_OK;
}
