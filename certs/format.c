/* format.c - format names, detection from content, and the read dispatcher.
 *
 * Detection looks at the bytes only (file names lie): JKS and JCEKS magic,
 * a zip local header for the SAP key store JAR, then for DER a trial decode as
 * certificate, PKCS#7 and PKCS#12 in that order (before armour: a DER
 * certificate may hold "-----BEGIN" in a name), then PEM armour (PKCS7 armour
 * is the PKCS#7 reader's). gcert_read checks size limits once for every reader,
 * then calls the reader for the format given or detected.
 */
#include "internal.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>

static const char *const format_names[GCERT_FORMAT_COUNT] = {
    [GCERT_FORMAT_AUTO] = "auto",     [GCERT_FORMAT_PEM] = "pem",       [GCERT_FORMAT_DER] = "der",
    [GCERT_FORMAT_PKCS7] = "pkcs7",   [GCERT_FORMAT_PKCS12] = "pkcs12", [GCERT_FORMAT_JKS] = "jks",
    [GCERT_FORMAT_SAPJAR] = "sapjar",
};

const char *gcert_format_name(gcert_format format) {
  return (unsigned)format < GCERT_FORMAT_COUNT ? format_names[format] : "unknown";
}

gcert_format gcert_format_from_name(const char *name) {
  for (int i = 0; name != NULL && i < GCERT_FORMAT_COUNT; i++) {
    if (strcmp(format_names[i], name) == 0)
      return (gcert_format)i;
  }
  return GCERT_FORMAT_COUNT;
}

static int decodes_fully(const unsigned char *data, size_t len, gcert_format format) {
  const unsigned char *p = data;
  long n = (long)len;
  int ok = 0;
  if (format == GCERT_FORMAT_DER) {
    X509 *x = d2i_X509(NULL, &p, n);
    ok = x != NULL;
    X509_free(x);
  } else if (format == GCERT_FORMAT_PKCS7) {
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, n);
    ok = p7 != NULL;
    PKCS7_free(p7);
  } else {
    PKCS12 *p12 = d2i_PKCS12(NULL, &p, n);
    ok = p12 != NULL;
    PKCS12_free(p12);
  }
  ERR_clear_error();
  return ok; /* trailing bytes are the reader's to report */
}

gcert_format gcert_format_detect(const unsigned char *data, size_t len) {
  static const unsigned char jks_magic[4] = {0xFE, 0xED, 0xFE, 0xED};
  static const unsigned char jceks_magic[4] = {0xCE, 0xCE, 0xCE, 0xCE};
  if (data == NULL || len < 4)
    return GCERT_FORMAT_COUNT;
  if (memcmp(data, jks_magic, 4) == 0 || memcmp(data, jceks_magic, 4) == 0)
    return GCERT_FORMAT_JKS;
  if (memcmp(data, "PK\x03\x04", 4) == 0)
    return GCERT_FORMAT_SAPJAR;
  /* DER before armour: a certificate may hold "-----BEGIN" in a name */
  if (data[0] == 0x30) {
    static const gcert_format der_kinds[] = {GCERT_FORMAT_DER, GCERT_FORMAT_PKCS7,
                                             GCERT_FORMAT_PKCS12};
    for (size_t i = 0; i < sizeof(der_kinds) / sizeof(der_kinds[0]); i++) {
      if (decodes_fully(data, len, der_kinds[i]))
        return der_kinds[i];
    }
  }
  if (memmem(data, len, "-----BEGIN PKCS7-----", 21) != NULL)
    return GCERT_FORMAT_PKCS7;
  if (memmem(data, len, "-----BEGIN ", 11) != NULL)
    return GCERT_FORMAT_PEM;
  return GCERT_FORMAT_COUNT;
}

gcert_status gcert_read(gcert_format format, const unsigned char *data, size_t len,
                        const char *password, gcert_store *out, gcert_error *err) {
  if (out == NULL)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "no store to read into");
  gcert_status st = gcert_check_input(data, len, gcert_format_name(format), err);
  if (st != GCERT_OK)
    return st;
  if (format == GCERT_FORMAT_AUTO) {
    format = gcert_format_detect(data, len);
    if (format == GCERT_FORMAT_COUNT)
      return gcert_fail_plain(err, GCERT_E_UNKNOWN_FORMAT,
                              "input is not PEM, DER, PKCS#7, PKCS#12, JKS or a key store JAR");
  }
  switch (format) {
  case GCERT_FORMAT_PEM:
    return gcert_pem_read(data, len, password, out, err);
  case GCERT_FORMAT_DER:
    return gcert_der_read(data, len, out, err);
  case GCERT_FORMAT_PKCS7:
    return gcert_pkcs7_read(data, len, out, err);
  case GCERT_FORMAT_PKCS12:
    return gcert_pkcs12_read(data, len, password, out, err);
  case GCERT_FORMAT_JKS:
    return gcert_jks_read(data, len, password, out, err);
  case GCERT_FORMAT_SAPJAR:
    return gcert_sapjar_read(data, len, password, out, err);
  default:
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "unknown format %d", (int)format);
  }
}

gcert_status gcert_read_file(const char *path, gcert_format format, const char *password,
                             gcert_store *out, gcert_error *err) {
  gcert_buf buf = {0};
  gcert_status st = gcert_file_load(path, GCERT_MAX_INPUT, &buf, err);
  if (st != GCERT_OK)
    return st;
  st = gcert_read(format, buf.data, buf.len, password, out, err);
  gcert_buf_cleanse_free(&buf);
  return st;
}
