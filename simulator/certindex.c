/* certindex.c - the hash multi-map of certindex.h: keys are SHA-256 digests
 * made with EVP_Digest (nothing hand-written hashes), the bucket is the
 * digest's first 8 bytes masked by the table size, collisions chain, and the
 * table doubles when it holds one entry per bucket (rehashing moves the
 * entries, never reallocates them). An entry compares all 32 bytes, so two
 * keys share a value list only when their digests are equal.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "certindex.h"

/* SHA-256 over tag || a || b. */
static int digest(char tag, const void *a, size_t a_len, const void *b, size_t b_len,
                  gsim_cix_key *out) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned int n = 0;
  int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
           EVP_DigestUpdate(md, &tag, 1) == 1 &&
           (a_len == 0 || EVP_DigestUpdate(md, a, a_len) == 1) &&
           (b_len == 0 || EVP_DigestUpdate(md, b, b_len) == 1) &&
           EVP_DigestFinal_ex(md, out->d, &n) == 1 && n == sizeof(out->d);
  EVP_MD_CTX_free(md);
  return ok ? 0 : -1;
}

/* The name's hash as OpenSSL files it (SHA-1 of its canonical encoding, so
 * names X509_NAME_cmp calls equal hash equally), as 8 bytes. */
static int name_hash(const X509_NAME *name, unsigned char out[8]) {
  int ok = 0;
  unsigned long h = X509_NAME_hash_ex(name, NULL, NULL, &ok);
  if (!ok)
    return -1;
  for (int i = 0; i < 8; i++)
    out[i] = (unsigned char)((uint64_t)h >> (8 * i));
  return 0;
}

int gsim_cix_key_identity(X509 *cert, int by_subject, gsim_cix_key *out) {
  const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
  const X509_NAME *name = by_subject ? X509_get_subject_name(cert) : X509_get_issuer_name(cert);
  unsigned char h[8];
  if (!serial || !name || name_hash(name, h) != 0)
    return -1;
  unsigned char sign = (unsigned char)(ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER);
  unsigned char buf[1 + 64];
  int len = ASN1_STRING_length(serial);
  if (len < 0 || (size_t)len > sizeof(buf) - 1) /* RFC 5280: at most 20 octets */
    return digest('J', h, sizeof(h), ASN1_STRING_get0_data(serial), (size_t)(len < 0 ? 0 : len),
                  out);
  buf[0] = sign;
  memcpy(buf + 1, ASN1_STRING_get0_data(serial), (size_t)len);
  return digest('I', h, sizeof(h), buf, (size_t)len + 1, out);
}

int gsim_cix_key_name(const X509_NAME *name, gsim_cix_key *out) {
  unsigned char h[8];
  if (!name || name_hash(name, h) != 0)
    return -1;
  return digest('N', h, sizeof(h), NULL, 0, out);
}

int gsim_cix_key_cert(X509 *cert, gsim_cix_key *out) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  /* SHA-1 is what X509_cmp compares first, and OpenSSL caches it in the X509 */
  if (!cert || X509_digest(cert, EVP_sha1(), md, &n) != 1)
    return -1;
  return digest('C', md, n, NULL, 0, out);
}

int gsim_cix_key_text(const char *text, gsim_cix_key *out) {
  return digest('A', text, strlen(text), NULL, 0, out);
}

static size_t bucket_of(const gsim_cix_key *key, size_t nbuckets) {
  uint64_t v = 0;
  memcpy(&v, key->d, sizeof(v));
  return (size_t)(v & (uint64_t)(nbuckets - 1));
}

static int grow(gsim_cix *ix) {
  size_t n = ix->nbuckets ? ix->nbuckets * 2 : 64;
  gsim_cix_entry **b = calloc(n, sizeof(gsim_cix_entry *));
  if (!b)
    return -1;
  for (size_t i = 0; i < ix->nbuckets; i++) {
    gsim_cix_entry *e = ix->buckets[i];
    while (e) {
      gsim_cix_entry *next = e->next;
      size_t k = bucket_of(&e->key, n);
      e->next = b[k];
      b[k] = e;
      e = next;
    }
  }
  free(ix->buckets);
  ix->buckets = b;
  ix->nbuckets = n;
  return 0;
}

int gsim_cix_add(gsim_cix *ix, const gsim_cix_key *key, void *value) {
  if (ix->count >= ix->nbuckets && grow(ix) != 0)
    return -1;
  gsim_cix_entry *e = malloc(sizeof(*e));
  if (!e)
    return -1;
  e->key = *key;
  e->value = value;
  size_t k = bucket_of(key, ix->nbuckets);
  e->next = ix->buckets[k];
  ix->buckets[k] = e;
  ix->count++;
  return 0;
}

int gsim_cix_remove(gsim_cix *ix, const gsim_cix_key *key, const void *value) {
  if (ix->nbuckets == 0)
    return 0;
  gsim_cix_entry **p = &ix->buckets[bucket_of(key, ix->nbuckets)];
  for (; *p; p = &(*p)->next)
    if ((*p)->value == value && memcmp((*p)->key.d, key->d, sizeof(key->d)) == 0) {
      gsim_cix_entry *gone = *p;
      *p = gone->next;
      free(gone);
      ix->count--;
      return 1;
    }
  return 0;
}

void *gsim_cix_next(const gsim_cix *ix, const gsim_cix_key *key, const gsim_cix_entry **cursor) {
  if (ix->nbuckets == 0)
    return NULL;
  const gsim_cix_entry *e = *cursor ? (*cursor)->next : ix->buckets[bucket_of(key, ix->nbuckets)];
  for (; e; e = e->next)
    if (memcmp(e->key.d, key->d, sizeof(key->d)) == 0) {
      *cursor = e;
      return e->value;
    }
  *cursor = NULL;
  return NULL;
}

void gsim_cix_free(gsim_cix *ix) {
  for (size_t i = 0; i < ix->nbuckets; i++) {
    gsim_cix_entry *e = ix->buckets[i];
    while (e) {
      gsim_cix_entry *next = e->next;
      free(e);
      e = next;
    }
  }
  free(ix->buckets);
  memset(ix, 0, sizeof(*ix));
}
