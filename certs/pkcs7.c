/* pkcs7.c - PKCS#7 certificate bundles (.p7b/.p7c), read and written.
 *
 * A bundle is a degenerate SignedData: certificates and no signers, as made by
 * `openssl crl2pkcs7 -nocrl` and Windows' certificate export. The reader takes
 * DER or PEM-armoured ("-----BEGIN PKCS7-----") input (DER when it decodes as
 * such, so a certificate holding "-----BEGIN" does not pass for armour),
 * insists on SignedData,
 * and turns each certificate into a trusted entry in bundle order. Other
 * content types are recognised and refused with GCERT_E_UNSUPPORTED.
 */
#include "internal.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>

static gcert_status decode_pem(const unsigned char *data, size_t len, PKCS7 **out,
                               gcert_error *err) {
  BIO *bio = BIO_new_mem_buf(data, (int)len);
  if (bio == NULL)
    return gcert_fail(err, GCERT_E_NOMEM, "out of memory");
  char *label = NULL, *header = NULL;
  unsigned char *der = NULL;
  long der_len = 0;
  gcert_status st = GCERT_OK;
  if (!PEM_read_bio(bio, &label, &header, &der, &der_len)) {
    st = gcert_fail(err, GCERT_E_PEM_TRUNCATED, "PKCS#7 PEM block cannot be read");
  } else if (strcmp(label, "PKCS7") != 0) {
    st = gcert_fail_plain(err, GCERT_E_PEM_UNEXPECTED, "PEM block is '%s', expected PKCS7", label);
  } else {
    const unsigned char *p = der;
    *out = d2i_PKCS7(NULL, &p, der_len);
    if (*out == NULL)
      st = gcert_fail(err, GCERT_E_DER_INVALID, "PEM PKCS7 block is not valid PKCS#7");
    else if (p != der + der_len)
      st = gcert_fail_plain(err, GCERT_E_DER_TRAILING, "bytes follow the PKCS#7 structure");
  }
  OPENSSL_free(label);
  OPENSSL_free(header);
  OPENSSL_free(der);
  BIO_free(bio);
  return st;
}

static gcert_status decode_der(const unsigned char *data, size_t len, PKCS7 **out,
                               gcert_error *err) {
  const unsigned char *p = data;
  *out = d2i_PKCS7(NULL, &p, (long)len);
  if (*out == NULL)
    return gcert_fail(err, GCERT_E_DER_INVALID, "not a DER PKCS#7 structure");
  if ((size_t)(p - data) != len)
    return gcert_fail_plain(err, GCERT_E_DER_TRAILING,
                            "%zu bytes follow the PKCS#7 structure, which ends at offset %zu",
                            len - (size_t)(p - data), (size_t)(p - data));
  return GCERT_OK;
}

/* A DER bundle may hold "-----BEGIN" inside a certificate (a name, an
 * extension), so bytes that decode as DER PKCS#7 are DER whatever they hold;
 * the rest is PEM when it has armour. */
static int is_der_pkcs7(const unsigned char *data, size_t len) {
  const unsigned char *p = data;
  PKCS7 *p7 = data[0] == 0x30 ? d2i_PKCS7(NULL, &p, (long)len) : NULL;
  int ok = p7 != NULL;
  PKCS7_free(p7);
  ERR_clear_error();
  return ok;
}

gcert_status gcert_pkcs7_read(const unsigned char *data, size_t len, gcert_store *out,
                              gcert_error *err) {
  gcert_status st = gcert_check_input(data, len, "PKCS#7", err);
  if (st != GCERT_OK)
    return st;
  PKCS7 *p7 = NULL;
  int pem = memmem(data, len, "-----BEGIN", 10) != NULL && !is_der_pkcs7(data, len);
  st = pem ? decode_pem(data, len, &p7, err) : decode_der(data, len, &p7, err);
  if (st != GCERT_OK || p7 == NULL) {
    PKCS7_free(p7);
    return st != GCERT_OK ? st : gcert_fail_plain(err, GCERT_E_DER_INVALID, "no PKCS#7 structure");
  }
  if (!PKCS7_type_is_signed(p7))
    st = gcert_fail_plain(err, GCERT_E_UNSUPPORTED, "PKCS#7 content type is %s, not SignedData",
                          OBJ_nid2sn(OBJ_obj2nid(p7->type)));
  STACK_OF(X509) *certs = st == GCERT_OK && p7->d.sign != NULL ? p7->d.sign->cert : NULL;
  if (st == GCERT_OK && sk_X509_num(certs) <= 0)
    st = gcert_fail_plain(err, GCERT_E_NO_CERT, "PKCS#7 bundle holds no certificate");
  gcert_store local;
  gcert_store_init(&local);
  for (int i = 0; st == GCERT_OK && i < sk_X509_num(certs); i++)
    st = gcert_store_add_trusted(&local, NULL, sk_X509_value(certs, i), err);
  if (st == GCERT_OK)
    st = gcert_store_append(out, &local, err);
  gcert_store_free(&local);
  PKCS7_free(p7);
  return st;
}

gcert_status gcert_pkcs7_write(const gcert_store *store, int pem_armour, gcert_buf *out,
                               gcert_error *err) {
  if (store == NULL || gcert_store_cert_count(store) == 0)
    return gcert_fail_plain(err, GCERT_E_NO_CERT, "nothing to write");
  PKCS7 *p7 = PKCS7_new();
  int ok =
      p7 != NULL && PKCS7_set_type(p7, NID_pkcs7_signed) && PKCS7_content_new(p7, NID_pkcs7_data);
  for (size_t i = 0; ok && i < store->count; i++) {
    const gcert_entry *entry = &store->entries[i];
    for (int j = 0; ok && j < sk_X509_num(entry->chain); j++)
      ok = PKCS7_add_certificate(p7, sk_X509_value(entry->chain, j));
  }
  BIO *bio = ok ? BIO_new(BIO_s_mem()) : NULL;
  ok = bio != NULL && (pem_armour ? PEM_write_bio_PKCS7(bio, p7) : i2d_PKCS7_bio(bio, p7));
  gcert_status st = ok ? gcert_buf_from_bio(bio, out, err)
                       : gcert_fail(err, GCERT_E_CRYPTO, "PKCS#7 encoding failed");
  BIO_free(bio);
  PKCS7_free(p7);
  return st;
}
