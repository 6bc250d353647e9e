/* trust.c - what the gateway trusts and presents toward its backends.
 *
 * The sender trust store is the base store (--trust, PEM or a JKS such as
 * WSO2's client-truststore.jks) plus every endpoint certificate uploaded
 * through the admin API. SSL profiles map backend "host:port" entries to a
 * trust store of their own (or the sender one) and a key store: the identity
 * the gateway presents when a backend asks for a client certificate. The
 * default profile (`*`) carries the gateway's own key store, as WSO2's does,
 * unless the configuration says `"key_store": null`.
 *
 * Trust is applied in generations. A generation is one SSL_CTX per profile,
 * built from the trust as of one reload; new backend handshakes take the
 * current generation, connections in flight keep a reference to the one they
 * started with, and a reload only swaps the pointer. Session caches and
 * tickets are off on every outbound context: a cached session would skip
 * certificate verification and let one endpoint's (or one generation's)
 * trust decision leak into another handshake.
 *
 * Every certificate in a trust store is a trust anchor (X509_V_FLAG_PARTIAL_CHAIN),
 * as in Java's PKIX: uploading a backend's own leaf makes that backend trusted
 * whoever issued it.
 *
 * The sap profile's API providers (sap.c) are profiles too, made at each
 * reload from the store rather than from the configuration: sap.c
 * (gsim_sap_providers_load, called by reload.c) puts provider i in the profile slot profile_count + 1 + i (the slot after the
 * built-in default's context), with a malloc'd spec naming one "host:port",
 * its own trust store or none (the sender trust), and its key store entry as
 * the identity. A slot is in use when its spec is set. They get a context in
 * every generation like the configured profiles, and gsim_trust_profile_for
 * looks them up first: a provider registered for a backend wins over an SSL
 * profile naming the same host:port. The slots and their material belong to
 * the trust (freed by gsim_trust_free and gsim_trust_slot_free; reload.c swaps
 * them around a rebuild). The trust also owns the sender's "changed" mark:
 * gsim_trust_changed() sets it (admin and sap uploads), a rebuild clears it.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>

#include "gutil.h"
#include "sim.h"

/* Adds every certificate of a store (trusted entries and key entries' chains). */
static int add_store_certs(X509_STORE *st, const gcert_store *store) {
  for (size_t i = 0; i < store->count; i++) {
    STACK_OF(X509) *chain = store->entries[i].chain;
    for (int j = 0; chain && j < sk_X509_num(chain); j++) {
      if (!X509_STORE_add_cert(st, sk_X509_value(chain, j))) {
        unsigned long e = ERR_peek_last_error();
        if (ERR_GET_REASON(e) != X509_R_CERT_ALREADY_IN_HASH_TABLE)
          return -1;
        ERR_clear_error();
      }
    }
  }
  return 0;
}

static int add_uploaded(X509_STORE *st, const gsim_cert_row *rows, size_t count, char *why,
                        size_t why_len) {
  for (size_t i = 0; i < count; i++) {
    const unsigned char *p = rows[i].der;
    X509 *cert = d2i_X509(NULL, &p, (long)rows[i].der_len);
    if (!cert)
      return gu_fail(why, why_len, "stored certificate '%s' does not decode", rows[i].alias);
    int ok = X509_STORE_add_cert(st, cert);
    X509_free(cert);
    if (!ok) {
      unsigned long e = ERR_peek_last_error();
      if (ERR_GET_REASON(e) != X509_R_CERT_ALREADY_IN_HASH_TABLE)
        return gu_fail(why, why_len, "certificate '%s' could not be added", rows[i].alias);
      ERR_clear_error();
    }
  }
  return 0;
}

/* The identity in a key store file: its first key entry. */
static int load_identity(const char *path, const char *password, EVP_PKEY **key,
                         STACK_OF(X509) * *chain, char *why, size_t why_len) {
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  if (gcert_read_file(path, GCERT_FORMAT_AUTO, password, &store, &err) != GCERT_OK)
    return gu_fail(why, why_len, "key store %s: %s", path, err.message);
  int rc = gu_fail(why, why_len, "key store %s: no private key entry", path);
  for (size_t i = 0; i < store.count; i++) {
    gcert_entry *e = &store.entries[i];
    if (e->key && e->chain && sk_X509_num(e->chain) > 0) {
      EVP_PKEY_up_ref(e->key);
      *key = e->key;
      *chain = X509_chain_up_ref(e->chain);
      rc = *chain ? 0 : gu_fail(why, why_len, "out of memory");
      break;
    }
  }
  gcert_store_free(&store);
  return rc;
}

int gsim_trust_init(gsim_trust *trust, const gsim_options *opt, EVP_PKEY *server_key,
                    STACK_OF(X509) * server_chain, char *why, size_t why_len) {
  memset(trust, 0, sizeof(*trust));
  gcert_store_init(&trust->base);
  gcert_error err = {0};
  if (opt->trust && gcert_read_file(opt->trust, GCERT_FORMAT_AUTO, opt->trust_password,
                                    &trust->base, &err) != GCERT_OK)
    return gu_fail(why, why_len, "--trust %s: %s", opt->trust, err.message);
  EVP_PKEY_up_ref(server_key);
  trust->server_key = server_key;
  trust->server_chain = X509_chain_up_ref(server_chain);
  trust->profile_count = opt->profile_count;
  trust->default_index = opt->profile_count;
  for (size_t i = 0; i < opt->profile_count; i++) {
    const gsim_profile_spec *spec = &opt->profiles[i];
    gsim_ssl_profile *p = &trust->profiles[i];
    p->spec = spec;
    gcert_store_init(&p->custom_trust);
    if (spec->is_default)
      trust->default_index = i;
    if (spec->trust_store &&
        gcert_read_file(spec->trust_store, GCERT_FORMAT_AUTO, spec->trust_password,
                        &p->custom_trust, &err) != GCERT_OK)
      return gu_fail(why, why_len, "trust store %s: %s", spec->trust_store, err.message);
    if (spec->key_store) {
      if (load_identity(spec->key_store, spec->key_password, &p->key, &p->chain, why, why_len))
        return -1;
    } else if (spec->is_default && !spec->key_store_none) {
      EVP_PKEY_up_ref(server_key);
      p->key = server_key;
      p->chain = X509_chain_up_ref(server_chain);
    }
  }
  return 0;
}

/* 1 when index is an API provider's slot (see the top of this file). */
static int provider_slot(const gsim_trust *trust, size_t index) {
  return index > trust->profile_count && index < GSIM_MAX_PROFILES &&
         trust->profiles[index].spec != NULL;
}

/* The profile behind a context index, NULL for the built-in default. */
static const gsim_ssl_profile *profile_at(const gsim_trust *trust, size_t index) {
  if (index < trust->profile_count || provider_slot(trust, index))
    return &trust->profiles[index];
  return NULL;
}

void gsim_trust_slot_free(gsim_ssl_profile *p) {
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

void gsim_trust_changed(gsim_trust *trust) { trust->changed = 1; }

int gsim_trust_pending(const gsim_trust *trust) { return trust->changed; }

gsim_trust_gen *gsim_trust_gen_ref(gsim_trust_gen *gen) {
  if (gen)
    gen->refs++;
  return gen;
}

void gsim_trust_gen_unref(gsim_trust_gen *gen) {
  if (!gen || --gen->refs > 0)
    return;
  for (size_t i = 0; i <= GSIM_MAX_PROFILES; i++)
    SSL_CTX_free(gen->ctx[i]);
  free(gen);
}

void gsim_trust_free(gsim_trust *trust) {
  gsim_trust_gen_unref(trust->current);
  trust->current = NULL;
  gcert_store_free(&trust->base);
  for (size_t i = 0; i < trust->profile_count; i++) {
    gcert_store_free(&trust->profiles[i].custom_trust);
    EVP_PKEY_free(trust->profiles[i].key);
    sk_X509_pop_free(trust->profiles[i].chain, X509_free);
  }
  for (size_t i = trust->profile_count + 1; i < GSIM_MAX_PROFILES; i++)
    if (trust->profiles[i].spec)
      gsim_trust_slot_free(&trust->profiles[i]);
  EVP_PKEY_free(trust->server_key);
  sk_X509_pop_free(trust->server_chain, X509_free);
  memset(trust, 0, sizeof(*trust));
}

static int set_identity(SSL_CTX *ctx, EVP_PKEY *key, STACK_OF(X509) * chain) {
  if (!key || !chain || sk_X509_num(chain) == 0)
    return 0;
  if (SSL_CTX_use_certificate(ctx, sk_X509_value(chain, 0)) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1)
    return -1;
  for (int i = 1; i < sk_X509_num(chain); i++)
    if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i)) != 1)
      return -1;
  return 0;
}

static SSL_CTX *new_client_ctx(const gsim_trust *trust, size_t index, const gsim_cert_row *rows,
                               size_t count, char *why, size_t why_len) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  X509_STORE *st = X509_STORE_new();
  if (!ctx || !st) {
    SSL_CTX_free(ctx);
    X509_STORE_free(st);
    gu_fail(why, why_len, "out of memory");
    return NULL;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN);
  SSL_CTX_set_cert_store(ctx, st); /* owns st from here */
  const gsim_ssl_profile *p = profile_at(trust, index);
  int rc = 0;
  if (p && p->spec->trust_store)
    rc = add_store_certs(st, &p->custom_trust);
  else {
    rc = add_store_certs(st, &trust->base);
    if (!rc)
      rc = add_uploaded(st, rows, count, why, why_len);
  }
  if (!rc) {
    if (p)
      rc = set_identity(ctx, p->key, p->chain);
    else
      rc = set_identity(ctx, trust->server_key, trust->server_chain);
    if (rc)
      gu_fail(why, why_len, "the key store of SSL profile %zu does not load into OpenSSL", index);
  }
  if (rc) {
    SSL_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

int gsim_trust_rebuild(gsim_trust *trust, const gsim_cert_row *uploaded, size_t count,
                       int64_t now_ms, char *why, size_t why_len) {
  gsim_trust_gen *gen = calloc(1, sizeof(*gen));
  if (!gen)
    return gu_fail(why, why_len, "out of memory");
  gen->refs = 1;
  gen->number = trust->current ? trust->current->number + 1 : 1;
  gen->loaded_ms = now_ms;
  gen->uploaded_count = count;
  for (size_t i = 0; i <= GSIM_MAX_PROFILES; i++) {
    if (i > trust->profile_count && !provider_slot(trust, i))
      continue;
    gen->ctx[i] = new_client_ctx(trust, i, uploaded, count, why, why_len);
    if (!gen->ctx[i]) {
      gsim_trust_gen_unref(gen);
      return -1;
    }
  }
  gsim_trust_gen_unref(trust->current);
  trust->current = gen;
  trust->changed = 0;
  return 0;
}

/* 1 when one of spec's servers is host:port (host case-insensitively). */
static int serves(const gsim_profile_spec *spec, const char *host, const char *port_text) {
  size_t host_len = strlen(host);
  for (size_t j = 0; j < spec->server_count; j++) {
    const char *entry = spec->servers[j];
    const char *colon = strrchr(entry, ':');
    if (colon && (size_t)(colon - entry) == host_len && strncasecmp(entry, host, host_len) == 0 &&
        strcmp(colon + 1, port_text) == 0)
      return 1;
  }
  return 0;
}

size_t gsim_trust_profile_for(const gsim_trust *trust, const char *host, int port) {
  char port_text[16];
  snprintf(port_text, sizeof(port_text), "%d", port);
  /* API providers first, then the configured profiles */
  for (size_t i = trust->profile_count + 1; i < GSIM_MAX_PROFILES; i++)
    if (provider_slot(trust, i) && serves(trust->profiles[i].spec, host, port_text))
      return i;
  for (size_t i = 0; i < trust->profile_count; i++)
    if (serves(trust->profiles[i].spec, host, port_text))
      return i;
  return trust->default_index;
}

gsim_verifier gsim_trust_verifier(const gsim_trust *trust, size_t index) {
  const gsim_ssl_profile *p = profile_at(trust, index);
  if (p)
    return p->spec->verifier;
  return GSIM_VERIFY_DEFAULT_AND_LOCALHOST; /* WSO2 4.x's default */
}
