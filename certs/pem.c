/* pem.c - PEM certificates, chains and private keys, read and written.
 *
 * Reading walks the input block by block with OpenSSL's PEM_read_bio, which
 * finds BEGIN/END lines and decodes the base64; each block is then decoded by
 * its label with a check that the DER inside is consumed exactly. Text
 * outside blocks is ignored (bundles carry comments and "Bag Attributes").
 * OpenSSL's reason for a failed block is mapped to a gcert_status, so a
 * truncated file, bad base64 and a key where a certificate belongs each get
 * their own answer. Keys may be PKCS#8, encrypted PKCS#8 or traditional
 * (optionally with the legacy Proc-Type encryption header).
 *
 * Writing emits every certificate of the store, then the first private key
 * as PKCS#8, encrypted with AES-256-CBC when a password is given.
 */
#include "internal.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#define PEM_MAX_BLOCKS 4096

/* What one pass over the blocks found. */
typedef struct pem_contents {
  STACK_OF(X509) * certs;
  EVP_PKEY *key;
  int blocks;
} pem_contents;

static void contents_free(pem_contents *c) {
  sk_X509_pop_free(c->certs, X509_free);
  EVP_PKEY_free(c->key);
  memset(c, 0, sizeof(*c));
}

/* Maps the reason OpenSSL gave for a block it could not read. */
static gcert_status block_error(int index, gcert_error *err) {
  unsigned long e = ERR_peek_last_error();
  int reason = ERR_GET_REASON(e);
  if (ERR_GET_LIB(e) == ERR_LIB_PEM && reason == PEM_R_NO_START_LINE)
    return gcert_fail_plain(err, GCERT_E_NOT_PEM, "no PEM BEGIN line found");
  if (ERR_GET_LIB(e) == ERR_LIB_PEM && reason == PEM_R_BAD_BASE64_DECODE)
    return gcert_fail_plain(err, GCERT_E_PEM_BASE64, "PEM block %d: body is not valid base64",
                            index);
  if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
      (reason == PEM_R_BAD_END_LINE || reason == PEM_R_SHORT_HEADER))
    return gcert_fail_plain(err, GCERT_E_PEM_TRUNCATED,
                            "PEM block %d: no matching END line (file truncated?)", index);
  /* OpenSSL queues no reason for some malformed bodies (e.g. a block with
   * headers whose lines are not 64 columns): the body cannot be decoded. */
  return gcert_fail(err, GCERT_E_PEM_BASE64,
                    "PEM block %d: body cannot be decoded (base64 or line layout)", index);
}

static gcert_status decode_cert(const unsigned char *der, long len, int index, X509 **out,
                                gcert_error *err) {
  const unsigned char *p = der;
  X509 *cert = d2i_X509(NULL, &p, len);
  if (cert == NULL)
    return gcert_fail(err, GCERT_E_DER_INVALID, "PEM block %d: not a valid certificate", index);
  if (p != der + len) {
    X509_free(cert);
    return gcert_fail_plain(err, GCERT_E_DER_TRAILING,
                            "PEM block %d: %ld bytes after the certificate", index,
                            (long)(der + len - p));
  }
  *out = cert;
  return GCERT_OK;
}

static gcert_status decode_pkcs8(const unsigned char *der, long len, int index, EVP_PKEY **out,
                                 gcert_error *err) {
  const unsigned char *p = der;
  PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, len);
  if (p8 == NULL || p != der + len) {
    PKCS8_PRIV_KEY_INFO_free(p8);
    return gcert_fail(err, GCERT_E_DER_INVALID, "PEM block %d: not a valid PKCS#8 key", index);
  }
  EVP_PKEY *key = EVP_PKCS82PKEY(p8);
  PKCS8_PRIV_KEY_INFO_free(p8);
  if (key == NULL)
    return gcert_fail(err, GCERT_E_UNSUPPORTED, "PEM block %d: unsupported key", index);
  *out = key;
  return GCERT_OK;
}

static gcert_status decode_encrypted_pkcs8(const unsigned char *der, long len, int index,
                                           const char *password, EVP_PKEY **out, gcert_error *err) {
  if (password == NULL)
    return gcert_fail_plain(err, GCERT_E_NEED_PASSWORD,
                            "PEM block %d: the private key is encrypted", index);
  const unsigned char *p = der;
  X509_SIG *sig = d2i_X509_SIG(NULL, &p, len);
  if (sig == NULL || p != der + len) {
    X509_SIG_free(sig);
    return gcert_fail(err, GCERT_E_DER_INVALID, "PEM block %d: not a valid encrypted PKCS#8 key",
                      index);
  }
  PKCS8_PRIV_KEY_INFO *p8 = PKCS8_decrypt(sig, password, (int)strlen(password));
  X509_SIG_free(sig);
  if (p8 == NULL)
    return gcert_fail_plain(err, GCERT_E_BAD_PASSWORD,
                            "PEM block %d: the password does not decrypt the private key", index);
  EVP_PKEY *key = EVP_PKCS82PKEY(p8);
  PKCS8_PRIV_KEY_INFO_free(p8);
  if (key == NULL)
    return gcert_fail(err, GCERT_E_UNSUPPORTED, "PEM block %d: unsupported key", index);
  *out = key;
  return GCERT_OK;
}

static int password_cb(char *buf, int size, int rwflag, void *u) {
  (void)rwflag;
  const char *password = u;
  size_t n = strlen(password);
  if (n > (size_t)size)
    return -1;
  memcpy(buf, password, n); // NOLINT(bugprone-not-null-terminated-result): length returned
  return (int)n;
}

/* "RSA PRIVATE KEY" / "EC PRIVATE KEY", possibly with a Proc-Type header. */
static gcert_status decode_traditional(const char *label, const char *header, unsigned char *der,
                                       long len, int index, const char *password, EVP_PKEY **out,
                                       gcert_error *err) {
  EVP_CIPHER_INFO cipher;
  if (!PEM_get_EVP_CIPHER_INFO((char *)header, &cipher))
    return gcert_fail(err, GCERT_E_UNSUPPORTED, "PEM block %d: unsupported encryption header",
                      index);
  if (cipher.cipher != NULL) {
    if (password == NULL)
      return gcert_fail_plain(err, GCERT_E_NEED_PASSWORD,
                              "PEM block %d: the private key is encrypted", index);
    if (!PEM_do_header(&cipher, der, &len, password_cb, (void *)password))
      return gcert_fail_plain(err, GCERT_E_BAD_PASSWORD,
                              "PEM block %d: the password does not decrypt the private key", index);
  }
  int type = strcmp(label, "RSA PRIVATE KEY") == 0 ? EVP_PKEY_RSA : EVP_PKEY_EC;
  const unsigned char *p = der;
  EVP_PKEY *key = d2i_PrivateKey(type, NULL, &p, len);
  if (key == NULL || p != der + len) {
    EVP_PKEY_free(key);
    return gcert_fail(err, cipher.cipher ? GCERT_E_BAD_PASSWORD : GCERT_E_DER_INVALID,
                      "PEM block %d: not a valid %s", index, label);
  }
  *out = key;
  return GCERT_OK;
}

static int is_cert_label(const char *label) {
  return strcmp(label, "CERTIFICATE") == 0 || strcmp(label, "X509 CERTIFICATE") == 0;
}

static gcert_status take_block(pem_contents *c, const char *label, const char *header,
                               unsigned char *der, long len, const char *password,
                               gcert_error *err) {
  int index = c->blocks;
  if (is_cert_label(label)) {
    X509 *cert = NULL;
    gcert_status st = decode_cert(der, len, index, &cert, err);
    if (st == GCERT_OK && !sk_X509_push(c->certs, cert)) {
      X509_free(cert);
      st = gcert_fail(err, GCERT_E_NOMEM, "out of memory");
    }
    return st;
  }
  int pkcs8 = strcmp(label, "PRIVATE KEY") == 0;
  int encrypted = strcmp(label, "ENCRYPTED PRIVATE KEY") == 0;
  int traditional = strcmp(label, "RSA PRIVATE KEY") == 0 || strcmp(label, "EC PRIVATE KEY") == 0;
  if (!pkcs8 && !encrypted && !traditional)
    return gcert_fail_plain(err, GCERT_E_PEM_UNEXPECTED,
                            "PEM block %d is '%s', expected a certificate or private key", index,
                            label);
  if (c->key != NULL)
    return gcert_fail_plain(err, GCERT_E_PEM_UNEXPECTED,
                            "PEM block %d is a second private key; one is allowed", index);
  if (pkcs8)
    return decode_pkcs8(der, len, index, &c->key, err);
  if (encrypted)
    return decode_encrypted_pkcs8(der, len, index, password, &c->key, err);
  return decode_traditional(label, header, der, len, index, password, &c->key, err);
}

/* Reads every block into *c. */
static gcert_status read_blocks(const unsigned char *data, size_t len, const char *password,
                                pem_contents *c, gcert_error *err) {
  BIO *bio = BIO_new_mem_buf(data, (int)len);
  c->certs = sk_X509_new_null();
  if (bio == NULL || c->certs == NULL) {
    BIO_free(bio);
    return gcert_fail(err, GCERT_E_NOMEM, "out of memory");
  }
  ERR_clear_error();
  gcert_status st = GCERT_OK;
  for (;;) {
    char *label = NULL, *header = NULL;
    unsigned char *der = NULL;
    long der_len = 0;
    if (!PEM_read_bio(bio, &label, &header, &der, &der_len)) {
      unsigned long e = ERR_peek_last_error();
      if (c->blocks > 0 && ERR_GET_LIB(e) == ERR_LIB_PEM &&
          ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
        ERR_clear_error(); /* clean end after at least one block */
      else
        st = block_error(c->blocks, err);
      break;
    }
    st = take_block(c, label, header, der, der_len, password, err);
    OPENSSL_free(label);
    OPENSSL_free(header);
    OPENSSL_clear_free(der, (size_t)der_len);
    c->blocks++;
    if (st == GCERT_OK && c->blocks > PEM_MAX_BLOCKS)
      st = gcert_fail_plain(err, GCERT_E_LIMIT, "more than %d PEM blocks", PEM_MAX_BLOCKS);
    if (st != GCERT_OK)
      break;
  }
  BIO_free(bio);
  return st;
}

static gcert_status store_contents(pem_contents *c, gcert_store *out, gcert_error *err) {
  gcert_store local;
  gcert_store_init(&local);
  gcert_status st = GCERT_OK;
  if (c->key != NULL) {
    st = gcert_store_add_key(&local, NULL, c->key, c->certs, err);
  } else {
    for (int i = 0; st == GCERT_OK && i < sk_X509_num(c->certs); i++)
      st = gcert_store_add_trusted(&local, NULL, sk_X509_value(c->certs, i), err);
  }
  if (st == GCERT_OK)
    st = gcert_store_append(out, &local, err);
  gcert_store_free(&local);
  return st;
}

gcert_status gcert_pem_read(const unsigned char *data, size_t len, const char *password,
                            gcert_store *out, gcert_error *err) {
  gcert_status st = gcert_check_input(data, len, "PEM", err);
  if (st != GCERT_OK)
    return st;
  pem_contents c = {0};
  st = read_blocks(data, len, password, &c, err);
  if (st == GCERT_OK && sk_X509_num(c.certs) == 0)
    st = gcert_fail_plain(err, c.key ? GCERT_E_NO_CERT : GCERT_E_NOT_PEM,
                          c.key ? "PEM holds a private key but no certificate"
                                : "PEM holds no certificate");
  if (st == GCERT_OK)
    st = store_contents(&c, out, err);
  contents_free(&c);
  return st;
}

gcert_status gcert_pem_read_key(const unsigned char *data, size_t len, const char *password,
                                EVP_PKEY **out, gcert_error *err) {
  gcert_status st = gcert_check_input(data, len, "PEM", err);
  if (st != GCERT_OK)
    return st;
  pem_contents c = {0};
  st = read_blocks(data, len, password, &c, err);
  if (st == GCERT_OK && sk_X509_num(c.certs) > 0)
    st = gcert_fail_plain(err, GCERT_E_PEM_UNEXPECTED,
                          "PEM holds a certificate where only a private key is expected");
  if (st == GCERT_OK && c.key == NULL)
    st = gcert_fail_plain(err, GCERT_E_NO_KEY, "PEM holds no private key");
  if (st == GCERT_OK) {
    *out = c.key;
    c.key = NULL;
  }
  contents_free(&c);
  return st;
}

gcert_status gcert_pem_write_key(EVP_PKEY *key, const char *key_password, gcert_buf *out,
                                 gcert_error *err) {
  if (key == NULL)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "no key to write");
  BIO *bio = BIO_new(BIO_s_secmem()); /* cleared when freed */
  if (bio == NULL)
    return gcert_fail(err, GCERT_E_NOMEM, "out of memory");
  int ok = PEM_write_bio_PKCS8PrivateKey(bio, key, key_password ? EVP_aes_256_cbc() : NULL, NULL, 0,
                                         NULL, (void *)key_password);
  gcert_status st = ok ? gcert_buf_from_bio(bio, out, err)
                       : gcert_fail(err, GCERT_E_CRYPTO, "cannot encode private key");
  BIO_free(bio);
  return st;
}

gcert_status gcert_pem_write(const gcert_store *store, const char *key_password, gcert_buf *out,
                             gcert_error *err) {
  if (store == NULL || gcert_store_cert_count(store) == 0)
    return gcert_fail_plain(err, GCERT_E_NO_CERT, "nothing to write");
  BIO *bio = BIO_new(BIO_s_secmem()); /* may hold a key: cleared when freed */
  if (bio == NULL)
    return gcert_fail(err, GCERT_E_NOMEM, "out of memory");
  EVP_PKEY *key = NULL;
  int ok = 1;
  for (size_t i = 0; ok && i < store->count; i++) {
    const gcert_entry *entry = &store->entries[i];
    for (int j = 0; ok && j < sk_X509_num(entry->chain); j++)
      ok = PEM_write_bio_X509(bio, sk_X509_value(entry->chain, j));
    if (key == NULL)
      key = entry->key;
  }
  if (ok && key != NULL)
    ok = PEM_write_bio_PKCS8PrivateKey(bio, key, key_password ? EVP_aes_256_cbc() : NULL, NULL, 0,
                                       NULL, (void *)key_password);
  gcert_status st = ok ? gcert_buf_from_bio(bio, out, err)
                       : gcert_fail(err, GCERT_E_CRYPTO, "PEM encoding failed");
  BIO_free(bio);
  return st;
}
