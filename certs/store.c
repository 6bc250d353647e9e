/* store.c - gcert_store: the in-memory form every format reads and writes.
 *
 * A store is an ordered array of entries; each entry is either a trusted
 * certificate or a private key with its chain, optionally named by an alias.
 * Adding takes new references, so callers keep ownership of what they pass.
 * Aliases are checked here once (non-empty, valid UTF-8, at most
 * GCERT_ALIAS_MAX bytes, unique) so every format can rely on them.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>

#define GCERT_ALIAS_MAX 255

void gcert_store_init(gcert_store *store) {
  store->entries = NULL;
  store->count = 0;
  store->capacity = 0;
}

static void entry_free(gcert_entry *entry) {
  free(entry->alias);
  EVP_PKEY_free(entry->key);
  sk_X509_pop_free(entry->chain, X509_free);
  memset(entry, 0, sizeof(*entry));
}

void gcert_store_free(gcert_store *store) {
  if (store == NULL)
    return;
  for (size_t i = 0; i < store->count; i++)
    entry_free(&store->entries[i]);
  free(store->entries);
  gcert_store_init(store);
}

static int utf8_valid(const char *text, size_t len) {
  const unsigned char *p = (const unsigned char *)text;
  while (len > 0) {
    unsigned long cp = 0;
    int n = UTF8_getc(p, (int)len, &cp);
    if (n <= 0 || cp == 0)
      return 0;
    p += n;
    len -= (size_t)n;
  }
  return 1;
}

static gcert_status check_alias(const gcert_store *store, const char *alias, gcert_error *err) {
  if (alias == NULL)
    return GCERT_OK;
  size_t len = strlen(alias);
  if (len == 0)
    return gcert_fail_plain(err, GCERT_E_BAD_ALIAS, "alias is empty");
  if (len > GCERT_ALIAS_MAX)
    return gcert_fail_plain(err, GCERT_E_BAD_ALIAS, "alias is %zu bytes, the limit is %d", len,
                            GCERT_ALIAS_MAX);
  if (!utf8_valid(alias, len))
    return gcert_fail_plain(err, GCERT_E_BAD_ALIAS, "alias is not valid UTF-8");
  if (gcert_store_find(store, alias) != NULL)
    return gcert_fail_plain(err, GCERT_E_DUPLICATE_ALIAS, "alias '%s' is used twice", alias);
  return GCERT_OK;
}

static gcert_status reserve(gcert_store *store, size_t extra, gcert_error *err) {
  if (store->count + extra <= store->capacity)
    return GCERT_OK;
  size_t cap = store->capacity ? store->capacity : 8;
  while (cap < store->count + extra)
    cap *= 2;
  gcert_entry *grown = realloc(store->entries, cap * sizeof(*grown));
  if (grown == NULL)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory growing store to %zu entries", cap);
  store->entries = grown;
  store->capacity = cap;
  return GCERT_OK;
}

static gcert_status add_entry(gcert_store *store, const char *alias, EVP_PKEY *key,
                              STACK_OF(X509) * chain_in, gcert_error *err) {
  gcert_status st = check_alias(store, alias, err);
  if (st == GCERT_OK)
    st = reserve(store, 1, err);
  if (st != GCERT_OK)
    return st;
  gcert_entry entry = {0};
  if (alias != NULL && (entry.alias = strdup(alias)) == NULL)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory copying alias");
  entry.chain = X509_chain_up_ref(chain_in);
  if (entry.chain == NULL) {
    entry_free(&entry);
    return gcert_fail(err, GCERT_E_NOMEM, "out of memory copying chain");
  }
  if (key != NULL) {
    if (!EVP_PKEY_up_ref(key)) {
      entry_free(&entry);
      return gcert_fail(err, GCERT_E_CRYPTO, "cannot reference private key");
    }
    entry.key = key;
  }
  store->entries[store->count++] = entry;
  return GCERT_OK;
}

gcert_status gcert_store_add_trusted(gcert_store *store, const char *alias, X509 *cert,
                                     gcert_error *err) {
  if (store == NULL || cert == NULL)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "trusted entry needs a certificate");
  STACK_OF(X509) *one = sk_X509_new_null();
  if (one == NULL || !sk_X509_push(one, cert)) {
    sk_X509_free(one);
    return gcert_fail(err, GCERT_E_NOMEM, "out of memory");
  }
  gcert_status st = add_entry(store, alias, NULL, one, err);
  sk_X509_free(one); /* add_entry took its own references */
  return st;
}

gcert_status gcert_store_add_key(gcert_store *store, const char *alias, EVP_PKEY *key,
                                 STACK_OF(X509) * chain, gcert_error *err) {
  if (store == NULL || key == NULL || chain == NULL || sk_X509_num(chain) < 1)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG,
                            "key entry needs a key and at least one certificate");
  if (!gcert_key_matches_cert(key, sk_X509_value(chain, 0)))
    return gcert_fail_plain(err, GCERT_E_KEY_MISMATCH,
                            "private key%s%s does not match the first certificate",
                            alias ? " of " : "", alias ? alias : "");
  return add_entry(store, alias, key, chain, err);
}

gcert_status gcert_store_append(gcert_store *dst, gcert_store *src, gcert_error *err) {
  if (src->count == 0)
    return GCERT_OK;
  for (size_t i = 0; i < src->count; i++) {
    const char *alias = src->entries[i].alias;
    if (alias != NULL && gcert_store_find(dst, alias) != NULL)
      return gcert_fail_plain(err, GCERT_E_DUPLICATE_ALIAS, "alias '%s' is used twice", alias);
  }
  gcert_status st = reserve(dst, src->count, err);
  if (st != GCERT_OK)
    return st;
  memcpy(dst->entries + dst->count, src->entries, src->count * sizeof(*src->entries));
  dst->count += src->count;
  free(src->entries);
  gcert_store_init(src);
  return GCERT_OK;
}

const gcert_entry *gcert_store_find(const gcert_store *store, const char *alias) {
  if (alias == NULL)
    return NULL;
  for (size_t i = 0; i < store->count; i++) {
    if (store->entries[i].alias != NULL && strcmp(store->entries[i].alias, alias) == 0)
      return &store->entries[i];
  }
  return NULL;
}

size_t gcert_store_cert_count(const gcert_store *store) {
  size_t total = 0;
  for (size_t i = 0; i < store->count; i++)
    total += (size_t)sk_X509_num(store->entries[i].chain);
  return total;
}

int gcert_key_matches_cert(EVP_PKEY *key, X509 *cert) {
  if (key == NULL || cert == NULL)
    return 0;
  EVP_PKEY *pub = X509_get0_pubkey(cert);
  return pub != NULL && EVP_PKEY_eq(key, pub) == 1;
}
