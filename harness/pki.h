/* pki.h - a case's certificates, made for its fake epoch.
 *
 * Every pki entry of a scenario is issued with certs/ at the case's epoch
 * (never the wall clock), in declaration order so issuers exist first, and
 * saved in the case's work directory:
 *
 *   <name>.pem           the certificate
 *   <name>.key           its private key (0600)
 *   <name>.chain.pem     the certificate and its issuers, without the
 *                        self-signed root
 *   <name>.identity.pem  chain and key in one file (0600): a key store
 *
 * and encoded on demand in the formats an upload step asks for.
 */
#ifndef GH_PKI_H
#define GH_PKI_H

#include <stddef.h>

#include "gcert.h"
#include "scenario.h"

typedef struct gh_pki {
  size_t count;
  const gh_pki_spec *specs; /* borrowed from the case */
  gcert_item *items;
  size_t *issuer; /* index of the issuer, or count for a self-signed entry */
  char dir[1024];
} gh_pki;

/* Issues and saves every entry. 0, or -1 with why. */
int gh_pki_make(const gh_case_spec *c, const char *dir, gh_pki *pki, char *why, size_t why_len);
void gh_pki_free(gh_pki *pki);

/* The certificate of an entry, or NULL. */
X509 *gh_pki_cert(const gh_pki *pki, const char *name);
/* dir/<name><suffix> into out (1024 bytes); suffix ".pem", ".chain.pem", ... */
const char *gh_pki_path(const gh_pki *pki, const char *name, const char *suffix, char out[1024]);
/* Writes the named certificates, concatenated, as PEM to path. 0 or -1. */
int gh_pki_bundle(const gh_pki *pki, char *const *names, size_t count, const char *path, char *why,
                  size_t why_len);
/* The password of the key stores gh_pki_encode writes (jks, pkcs12): the
 * harness's, not a secret. */
#define GH_PKI_STORE_PASSWORD "changeit"
/* An entry's certificate in an upload format: pem, der, pkcs7, jks, or the
 * broken ones garbage, empty, oversize (11 MiB); or with its private key, as
 * a key store entry: pkcs12, sapjar (SAP's key store JAR, main.pem and
 * privateKey.pem), pem-key (the certificate, then the unencrypted key). */
int gh_pki_encode(const gh_pki *pki, const char *name, const char *format, gcert_buf *out,
                  char *why, size_t why_len);
/* An entry's private key (borrowed), or NULL. */
EVP_PKEY *gh_pki_private_key(const gh_pki *pki, const char *name);
/* An entry's public key as PEM (SubjectPublicKeyInfo) in *out (malloc'd). 0,
 * or -1 with why. */
int gh_pki_public_pem(const gh_pki *pki, const char *name, char **out, char *why, size_t why_len);
/* Lower-case hex SHA-256 of an entry's DER (out: 65 bytes), or -1. */
int gh_pki_sha256(const gh_pki *pki, const char *name, char out[65]);

#endif
