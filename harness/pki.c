/* pki.c - see pki.h. Issuing is certs/'s job (gcert_issue); this file only
 * maps a scenario's declarations onto it, keeps the items, and writes the
 * files and encodings the runner and the drivers need. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "gutil.h"
#include "pki.h"

#define OVERSIZE ((size_t)11 * 1024 * 1024)

static size_t find(const gh_pki *pki, const char *name) {
  for (size_t i = 0; i < pki->count; i++)
    if (pki->items[i].cert && strcmp(pki->specs[i].name, name) == 0)
      return i;
  return pki->count;
}

const char *gh_pki_path(const gh_pki *pki, const char *name, const char *suffix, char out[1024]) {
  size_t dir_len = strnlen(pki->dir, 1024), name_len = strlen(name), suffix_len = strlen(suffix);
  if (dir_len + 1 + name_len + suffix_len >= 1024) {
    out[0] = '\0'; /* too long: opening "" fails with a clear error */
    return out;
  }
  memcpy(out, pki->dir, dir_len);
  out[dir_len] = '/';
  memcpy(out + dir_len + 1, name, name_len);
  memcpy(out + dir_len + 1 + name_len, suffix, suffix_len + 1);
  return out;
}

static int save(const char *path, const gcert_buf *buf, int private_data, char *why,
                size_t why_len) {
  gcert_error err = {0};
  if (gcert_file_save(path, buf->data, buf->len, private_data, &err) != GCERT_OK)
    return gu_fail(why, why_len, "%s: %s", path, err.message);
  return 0;
}

/* The entry's chain: itself, then issuers until a self-signed one (excluded). */
static int chain_store(const gh_pki *pki, size_t i, gcert_store *store, gcert_error *err) {
  for (size_t k = i; k < pki->count;) {
    int self_signed = pki->issuer[k] == pki->count;
    if (k != i && self_signed)
      break;
    if (gcert_store_add_trusted(store, NULL, pki->items[k].cert, err) != GCERT_OK)
      return -1;
    if (self_signed)
      break;
    k = pki->issuer[k];
  }
  return 0;
}

static int save_entry(gh_pki *pki, size_t i, char *why, size_t why_len) {
  const char *name = pki->specs[i].name;
  char path[1024];
  gcert_error err = {0};
  gcert_store one, chain;
  gcert_store_init(&one);
  gcert_store_init(&chain);
  gcert_buf buf = {0};
  int rc = -1;
  if (gcert_store_add_trusted(&one, NULL, pki->items[i].cert, &err) != GCERT_OK ||
      gcert_pem_write(&one, NULL, &buf, &err) != GCERT_OK ||
      save(gh_pki_path(pki, name, ".pem", path), &buf, 0, why, why_len) != 0)
    goto done;
  gcert_buf_free(&buf);
  if (chain_store(pki, i, &chain, &err) != 0 ||
      gcert_pem_write(&chain, NULL, &buf, &err) != GCERT_OK ||
      save(gh_pki_path(pki, name, ".chain.pem", path), &buf, 0, why, why_len) != 0)
    goto done;
  gcert_buf key = {0};
  if (gcert_pem_write_key(pki->items[i].key, NULL, &key, &err) != GCERT_OK)
    goto done;
  rc = save(gh_pki_path(pki, name, ".key", path), &key, 1, why, why_len);
  if (rc == 0) { /* identity: chain then key */
    gcert_buf identity = {0};
    identity.data = malloc(buf.len + key.len);
    if (identity.data) {
      memcpy(identity.data, buf.data, buf.len);
      memcpy(identity.data + buf.len, key.data, key.len);
      identity.len = buf.len + key.len;
      rc = save(gh_pki_path(pki, name, ".identity.pem", path), &identity, 1, why, why_len);
    } else
      rc = gu_fail(why, why_len, "out of memory");
    gcert_buf_cleanse_free(&identity);
  }
  gcert_buf_cleanse_free(&key);
done:
  if (rc != 0 && err.message[0])
    gu_fail(why, why_len, "pki %s: %s", name, err.message);
  gcert_buf_free(&buf);
  gcert_store_free(&one);
  gcert_store_free(&chain);
  return rc;
}

static int issue(gh_pki *pki, size_t i, time_t epoch, char *why, size_t why_len) {
  const gh_pki_spec *s = &pki->specs[i];
  char subject[GH_NAME_MAX + 64];
  snprintf(subject, sizeof(subject), "CN=%s,O=gatecert scenario", s->name);
  const char *dns[16], *ips[16];
  size_t dns_count = 0, ip_count = 0;
  for (size_t k = 0; k < s->san_count && k < 16; k++) {
    unsigned char tmp[16];
    int is_ip = inet_pton(AF_INET, s->san[k], tmp) == 1 || inet_pton(AF_INET6, s->san[k], tmp) == 1;
    if (is_ip)
      ips[ip_count++] = s->san[k];
    else
      dns[dns_count++] = s->san[k];
  }
  gcert_spec spec;
  gcert_spec_init(&spec, (gcert_kind)s->kind);
  spec.subject = s->subject ? s->subject : subject;
  spec.not_before = s->not_before_ms / 1000;
  spec.not_after = s->not_after_ms / 1000;
  spec.dns = dns;
  spec.dns_count = dns_count;
  spec.ips = ips;
  spec.ip_count = ip_count;
  spec.eku = (gcert_eku)s->eku;
  spec.key_type = (gcert_key_type)s->key; /* gh_pki_key follows gcert_key_type's order */
  pki->issuer[i] = pki->count;
  const gcert_item *issuer = NULL;
  if (s->issuer) {
    size_t k = find(pki, s->issuer);
    if (k == pki->count)
      return gu_fail(why, why_len, "pki %s: issuer %s not made yet", s->name, s->issuer);
    pki->issuer[i] = k;
    issuer = &pki->items[k];
  }
  gcert_error err = {0};
  if (gcert_issue(&spec, epoch, issuer, NULL, &pki->items[i], &err) != GCERT_OK)
    return gu_fail(why, why_len, "pki %s: %s", s->name, err.message);
  return save_entry(pki, i, why, why_len);
}

int gh_pki_make(const gh_case_spec *c, const char *dir, gh_pki *pki, char *why, size_t why_len) {
  memset(pki, 0, sizeof(*pki));
  snprintf(pki->dir, sizeof(pki->dir), "%s", dir);
  pki->specs = c->pki;
  pki->count = c->pki_count;
  pki->items = calloc(c->pki_count + 1, sizeof(*pki->items));
  pki->issuer = calloc(c->pki_count + 1, sizeof(*pki->issuer));
  if (!pki->items || !pki->issuer)
    return gu_fail(why, why_len, "out of memory");
  for (size_t i = 0; i < pki->count; i++)
    if (issue(pki, i, (time_t)c->epoch_s, why, why_len) != 0)
      return -1;
  return 0;
}

void gh_pki_free(gh_pki *pki) {
  for (size_t i = 0; pki->items && i < pki->count; i++)
    gcert_item_free(&pki->items[i]);
  free(pki->items);
  free(pki->issuer);
  memset(pki, 0, sizeof(*pki));
}

X509 *gh_pki_cert(const gh_pki *pki, const char *name) {
  size_t i = find(pki, name);
  return i < pki->count ? pki->items[i].cert : NULL;
}

int gh_pki_bundle(const gh_pki *pki, char *const *names, size_t count, const char *path, char *why,
                  size_t why_len) {
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  gcert_buf buf = {0};
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < count; i++) {
    X509 *cert = gh_pki_cert(pki, names[i]);
    if (!cert || gcert_store_add_trusted(&store, NULL, cert, &err) != GCERT_OK)
      rc = gu_fail(why, why_len, "pki %s: %s", names[i], cert ? err.message : "not declared");
  }
  if (rc == 0 && gcert_pem_write(&store, NULL, &buf, &err) != GCERT_OK)
    rc = gu_fail(why, why_len, "%s", err.message);
  if (rc == 0)
    rc = save(path, &buf, 0, why, why_len);
  gcert_buf_free(&buf);
  gcert_store_free(&store);
  return rc;
}

int gh_pki_encode(const gh_pki *pki, const char *name, const char *format, gcert_buf *out,
                  char *why, size_t why_len) {
  memset(out, 0, sizeof(*out));
  if (strcmp(format, "empty") == 0)
    return 0;
  if (strcmp(format, "garbage") == 0 || strcmp(format, "oversize") == 0) {
    static const char junk[] = "-----BEGIN CERTIFICATE-----\nthis is not a certificate\n";
    size_t len = strcmp(format, "garbage") == 0 ? sizeof(junk) - 1 : OVERSIZE;
    out->data = malloc(len);
    if (!out->data)
      return gu_fail(why, why_len, "out of memory");
    for (size_t i = 0; i < len; i++)
      out->data[i] = (unsigned char)junk[i % (sizeof(junk) - 1)];
    out->len = len;
    return 0;
  }
  X509 *cert = gh_pki_cert(pki, name);
  if (!cert)
    return gu_fail(why, why_len, "pki %s: not declared", name ? name : "(none)");
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  gcert_status st = GCERT_OK;
  int with_key = strcmp(format, "pkcs12") == 0 || strcmp(format, "sapjar") == 0 ||
                 strcmp(format, "pem-key") == 0;
  if (with_key) { /* a key store entry: the certificate and its private key */
    STACK_OF(X509) *chain = sk_X509_new_null();
    if (!chain || !sk_X509_push(chain, cert)) {
      sk_X509_free(chain);
      return gu_fail(why, why_len, "out of memory");
    }
    st = gcert_store_add_key(&store, name, gh_pki_private_key(pki, name), chain, &err);
    sk_X509_free(chain); /* the store took its own references */
    if (st == GCERT_OK && strcmp(format, "pkcs12") == 0)
      st = gcert_pkcs12_write(&store, GH_PKI_STORE_PASSWORD, out, &err);
    else if (st == GCERT_OK && strcmp(format, "sapjar") == 0)
      st = gcert_sapjar_write(&store, "main.pem", "privateKey.pem", NULL, out, &err);
    else if (st == GCERT_OK)
      st = gcert_pem_write(&store, NULL, out, &err);
  } else
    st = gcert_store_add_trusted(&store, name, cert, &err);
  if (st == GCERT_OK && !with_key) {
    if (strcmp(format, "pem") == 0)
      st = gcert_pem_write(&store, NULL, out, &err);
    else if (strcmp(format, "der") == 0)
      st = gcert_der_write(cert, out, &err);
    else if (strcmp(format, "pkcs7") == 0)
      st = gcert_pkcs7_write(&store, 0, out, &err);
    else if (strcmp(format, "jks") == 0)
      st = gcert_jks_write(&store, GH_PKI_STORE_PASSWORD, out, &err);
    else {
      snprintf(err.message, sizeof(err.message), "unknown format %s", format);
      st = GCERT_E_INVALID_ARG;
    }
  }
  gcert_store_free(&store);
  return st == GCERT_OK ? 0
                        : gu_fail(why, why_len, "encoding %s as %s: %s", name, format, err.message);
}

int gh_pki_sha256(const gh_pki *pki, const char *name, char out[65]) {
  X509 *cert = gh_pki_cert(pki, name);
  gcert_info info;
  gcert_error err = {0};
  if (!cert || gcert_describe(cert, 0, &info, &err) != GCERT_OK)
    return -1;
  memcpy(out, info.sha256_hex, 65);
  return 0;
}

EVP_PKEY *gh_pki_private_key(const gh_pki *pki, const char *name) {
  size_t i = find(pki, name);
  return i < pki->count ? pki->items[i].key : NULL;
}

int gh_pki_public_pem(const gh_pki *pki, const char *name, char **out, char *why, size_t why_len) {
  *out = NULL;
  EVP_PKEY *key = gh_pki_private_key(pki, name);
  if (!key)
    return gu_fail(why, why_len, "pki %s: not declared", name ? name : "(none)");
  BIO *bio = BIO_new(BIO_s_mem());
  char *data = NULL;
  long len = 0;
  if (!bio || PEM_write_bio_PUBKEY(bio, key) != 1 || (len = BIO_get_mem_data(bio, &data)) <= 0 ||
      !(*out = malloc((size_t)len + 1))) {
    BIO_free(bio);
    return gu_fail(why, why_len, "pki %s: cannot write its public key", name);
  }
  memcpy(*out, data, (size_t)len);
  (*out)[len] = '\0';
  BIO_free(bio);
  return 0;
}
