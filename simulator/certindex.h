/* certindex.h - a small hash multi-map for the simulator's certificate
 * lookups (clientauth.c), so that finding a client certificate costs the
 * same with 10 stored as with 100,000.
 *
 * A key is 32 bytes: a SHA-256 (OpenSSL's EVP) over a tag and what is looked
 * up - a certificate's serial and the hash of its issuer (or subject) name
 * (WSO2's match), a name alone (who may have issued a certificate), an
 * alias, or the certificate itself (its SHA-1 fingerprint, which OpenSSL
 * caches in the X509). Equal inputs give equal keys; a caller that must be
 * exact (names, serials, certificates) confirms each entry found, since a
 * name hash is only a hash. One key may hold several values (the same
 * certificate uploaded for two APIs): gsim_cix_next walks the entries of a
 * key. Separate chaining, doubled at one entry per bucket; no global state.
 */
#ifndef GSIM_CERTINDEX_H
#define GSIM_CERTINDEX_H

#include <stddef.h>

#include <openssl/x509.h>

typedef struct gsim_cix_key {
  unsigned char d[32];
} gsim_cix_key;

typedef struct gsim_cix_entry {
  gsim_cix_key key;
  void *value;
  struct gsim_cix_entry *next;
} gsim_cix_entry;

typedef struct gsim_cix {
  gsim_cix_entry **buckets;
  size_t nbuckets; /* 0 or a power of two */
  size_t count;
} gsim_cix;

/* Keys. 0, or -1 when OpenSSL fails (no key written). by_subject: the
 * serial with the subject name instead of the issuer's. */
int gsim_cix_key_identity(X509 *cert, int by_subject, gsim_cix_key *out);
int gsim_cix_key_name(const X509_NAME *name, gsim_cix_key *out);
int gsim_cix_key_cert(X509 *cert, gsim_cix_key *out);
int gsim_cix_key_text(const char *text, gsim_cix_key *out);

/* Adds value under key (duplicates allowed). 0, or -1 out of memory. */
int gsim_cix_add(gsim_cix *ix, const gsim_cix_key *key, void *value);
/* Removes the entry (key, value): 1, or 0 when absent. */
int gsim_cix_remove(gsim_cix *ix, const gsim_cix_key *key, const void *value);
/* The values under key, one per call: *cursor NULL to start; NULL at the end. */
void *gsim_cix_next(const gsim_cix *ix, const gsim_cix_key *key, const gsim_cix_entry **cursor);
/* Frees the table (not the values); ix is empty and usable after. */
void gsim_cix_free(gsim_cix *ix);

#endif
