/* inspect.c - the facts about one certificate that scenarios and reports use.
 *
 * Subject and issuer as RFC 2253 strings, serial in hex and decimal (WSO2
 * matches client certificates by serial and issuer DN), SHA-256 fingerprint of
 * the DER (what backends report and scenarios compare), validity window and its
 * state at a given reference time: all computed here once so every component
 * prints the same thing.
 */
#include "internal.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

static const char *const validity_names[] = {
    [GCERT_VALID] = "valid", [GCERT_EXPIRED] = "expired", [GCERT_NOT_YET_VALID] = "not-yet-valid"};

const char *gcert_validity_name(gcert_validity validity) {
  return (unsigned)validity <= GCERT_NOT_YET_VALID ? validity_names[validity] : "unknown";
}

static int name_to_text(X509_NAME *name, char *out, size_t size) {
  BIO *bio = BIO_new(BIO_s_mem());
  if (bio == NULL)
    return 0;
  int ok = X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0;
  char *mem = NULL;
  long n = BIO_get_mem_data(bio, &mem);
  if (ok && n >= 0) {
    size_t copy = (size_t)n < size - 1 ? (size_t)n : size - 1;
    memcpy(out, mem, copy);
    out[copy] = '\0';
  }
  BIO_free(bio);
  return ok;
}

static int serial_to_text(X509 *cert, gcert_info *info) {
  BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
  char *hex = bn ? BN_bn2hex(bn) : NULL;
  char *dec = bn ? BN_bn2dec(bn) : NULL;
  int ok = hex != NULL && dec != NULL;
  if (ok) {
    snprintf(info->serial_hex, sizeof(info->serial_hex), "%s", hex);
    snprintf(info->serial_dec, sizeof(info->serial_dec), "%s", dec);
  }
  OPENSSL_free(hex);
  OPENSSL_free(dec);
  BN_free(bn);
  return ok;
}

static int asn1_to_time(const ASN1_TIME *t, time_t *out) {
  struct tm tm;
  if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
    return 0;
  *out = timegm(&tm);
  return 1;
}

gcert_status gcert_describe(X509 *cert, time_t reference, gcert_info *out, gcert_error *err) {
  if (cert == NULL || out == NULL)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "no certificate to describe");
  memset(out, 0, sizeof(*out));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (!name_to_text(X509_get_subject_name(cert), out->subject, sizeof(out->subject)) ||
      !name_to_text(X509_get_issuer_name(cert), out->issuer, sizeof(out->issuer)) ||
      !serial_to_text(cert, out) || !X509_digest(cert, EVP_sha256(), md, &md_len) ||
      !asn1_to_time(X509_get0_notBefore(cert), &out->not_before) ||
      !asn1_to_time(X509_get0_notAfter(cert), &out->not_after))
    return gcert_fail(err, GCERT_E_CRYPTO, "cannot describe certificate");
  for (unsigned int i = 0; i < md_len && 2 * i + 2 < sizeof(out->sha256_hex); i++)
    snprintf(out->sha256_hex + (size_t)2 * i, 3, "%02x", md[i]);
  out->validity = reference < out->not_before  ? GCERT_NOT_YET_VALID
                  : reference > out->not_after ? GCERT_EXPIRED
                                               : GCERT_VALID;
  out->is_ca = X509_check_ca(cert) > 0 && (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
  out->self_signed = X509_self_signed(cert, 1) == 1;
  ERR_clear_error();
  return GCERT_OK;
}
