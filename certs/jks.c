/* jks.c - TEMPORARY STUB, replaced by the JKS implementation. */
#include "internal.h"
gcert_status gcert_jks_read(const unsigned char *data, size_t len, const char *password,
                            gcert_store *out, gcert_error *err) {
  (void)data; (void)len; (void)password; (void)out;
  return gcert_fail_plain(err, GCERT_E_UNSUPPORTED, "JKS not implemented yet");
}
gcert_status gcert_jks_write(const gcert_store *store, const char *password, gcert_buf *out,
                             gcert_error *err) {
  (void)store; (void)password; (void)out;
  return gcert_fail_plain(err, GCERT_E_UNSUPPORTED, "JKS not implemented yet");
}
