/* pkcs12.c - TEMPORARY STUB, replaced by the PKCS#12 implementation. */
#include "internal.h"
gcert_status gcert_pkcs12_read(const unsigned char *data, size_t len, const char *password,
                               gcert_store *out, gcert_error *err) {
  (void)data; (void)len; (void)password; (void)out;
  return gcert_fail_plain(err, GCERT_E_UNSUPPORTED, "PKCS#12 not implemented yet");
}
gcert_status gcert_pkcs12_write(const gcert_store *store, const char *password, gcert_buf *out,
                                gcert_error *err) {
  (void)store; (void)password; (void)out;
  return gcert_fail_plain(err, GCERT_E_UNSUPPORTED, "PKCS#12 not implemented yet");
}
