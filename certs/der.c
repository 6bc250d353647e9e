/* der.c - one certificate in DER, read and written.
 *
 * The reader accepts exactly one certificate and nothing after it: DER with
 * trailing bytes is a distinct error, since a gateway that silently ignores
 * them accepts files that other tools reject.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

gcert_status gcert_der_read(const unsigned char *data, size_t len, gcert_store *out,
                            gcert_error *err) {
  gcert_status st = gcert_check_input(data, len, "DER", err);
  if (st != GCERT_OK)
    return st;
  if (len >= 10 && memcmp(data, "-----BEGIN", 10) == 0)
    return gcert_fail_plain(err, GCERT_E_DER_INVALID, "input is PEM text, not DER");
  const unsigned char *p = data;
  X509 *cert = d2i_X509(NULL, &p, (long)len);
  if (cert == NULL)
    return gcert_fail(err, GCERT_E_DER_INVALID, "not a DER certificate");
  size_t used = (size_t)(p - data);
  if (used != len)
    st = gcert_fail_plain(err, GCERT_E_DER_TRAILING,
                          "%zu bytes follow the certificate, which ends at offset %zu", len - used,
                          used);
  if (st == GCERT_OK)
    st = gcert_store_add_trusted(out, NULL, cert, err);
  X509_free(cert);
  return st;
}

gcert_status gcert_der_write(X509 *cert, gcert_buf *out, gcert_error *err) {
  if (cert == NULL)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "no certificate to write");
  int n = i2d_X509(cert, NULL);
  if (n <= 0)
    return gcert_fail(err, GCERT_E_CRYPTO, "cannot encode certificate");
  unsigned char *der = malloc((size_t)n);
  if (der == NULL)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory");
  unsigned char *p = der;
  if (i2d_X509(cert, &p) != n) {
    free(der);
    return gcert_fail(err, GCERT_E_CRYPTO, "cannot encode certificate");
  }
  out->data = der;
  out->len = (size_t)n;
  return GCERT_OK;
}
