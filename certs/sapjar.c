/* sapjar.c - TEMPORARY STUB, replaced by the SAP key store JAR implementation. */
#include "internal.h"
gcert_status gcert_sapjar_read(const unsigned char *data, size_t len, const char *password,
                               gcert_store *out, gcert_error *err) {
  (void)data; (void)len; (void)password; (void)out;
  return gcert_fail_plain(err, GCERT_E_UNSUPPORTED, "SAP JAR not implemented yet");
}
gcert_status gcert_sapjar_write(const gcert_store *store, const char *main_name,
                                const char *key_name, const char *key_password, gcert_buf *out,
                                gcert_error *err) {
  (void)store; (void)main_name; (void)key_name; (void)key_password; (void)out;
  return gcert_fail_plain(err, GCERT_E_UNSUPPORTED, "SAP JAR not implemented yet");
}
