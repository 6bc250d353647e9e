/* error.c - status names, messages and the gcert_fail helper.
 *
 * Each gcert_status has a stable short name (used in CLI output and in the
 * malformed-input corpus manifests, so they are part of the interface) and a
 * general sentence. gcert_fail formats the specific message and appends the
 * first OpenSSL reason when OpenSSL queued one, then clears OpenSSL's queue so
 * a later call never reports a stale reason.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

static const struct {
  const char *name;
  const char *text;
} status_table[GCERT_STATUS_COUNT] = {
    [GCERT_OK] = {"ok", "success"},
    [GCERT_E_NOMEM] = {"nomem", "out of memory"},
    [GCERT_E_INVALID_ARG] = {"invalid-arg", "invalid argument"},
    [GCERT_E_IO] = {"io", "file could not be read or written"},
    [GCERT_E_TOO_LARGE] = {"too-large", "input larger than the reader accepts"},
    [GCERT_E_EMPTY] = {"empty", "input is empty"},
    [GCERT_E_UNKNOWN_FORMAT] = {"unknown-format", "input is in no known certificate format"},
    [GCERT_E_NOT_PEM] = {"not-pem", "no PEM block found"},
    [GCERT_E_PEM_TRUNCATED] = {"pem-truncated", "PEM block has no END line"},
    [GCERT_E_PEM_BASE64] = {"pem-base64", "PEM body is not valid base64"},
    [GCERT_E_PEM_UNEXPECTED] = {"pem-unexpected", "PEM block of an unexpected type"},
    [GCERT_E_DER_INVALID] = {"der-invalid", "bytes are not the expected DER structure"},
    [GCERT_E_DER_TRAILING] = {"der-trailing", "extra bytes after the DER structure"},
    [GCERT_E_NO_CERT] = {"no-cert", "no certificate in the input"},
    [GCERT_E_NO_KEY] = {"no-key", "no private key in the input"},
    [GCERT_E_KEY_MISMATCH] = {"key-mismatch", "private key does not match the certificate"},
    [GCERT_E_NEED_PASSWORD] = {"need-password", "content is encrypted and no password was given"},
    [GCERT_E_BAD_PASSWORD] = {"bad-password", "decryption with the given password failed"},
    [GCERT_E_INTEGRITY] = {"integrity", "integrity check failed: wrong password or tampered data"},
    [GCERT_E_BAD_MAGIC] = {"bad-magic", "wrong file signature"},
    [GCERT_E_BAD_VERSION] = {"bad-version", "unsupported store version"},
    [GCERT_E_TRUNCATED] = {"truncated", "input ends before its declared content"},
    [GCERT_E_LIMIT] = {"limit", "declared count or length exceeds the reader's limits"},
    [GCERT_E_UNSUPPORTED] = {"unsupported", "recognised but unsupported variant or algorithm"},
    [GCERT_E_DUPLICATE_ALIAS] = {"duplicate-alias", "two entries share one alias"},
    [GCERT_E_BAD_ALIAS] = {"bad-alias", "alias is empty, too long or not valid UTF-8"},
    [GCERT_E_ZIP] = {"zip", "zip archive cannot be read"},
    [GCERT_E_MISSING_MEMBER] = {"missing-member", "a required archive member is missing"},
    [GCERT_E_DESCRIPTOR] = {"descriptor", "key store descriptor is invalid"},
    [GCERT_E_BAD_NAME] = {"bad-name", "distinguished name cannot be parsed"},
    [GCERT_E_BAD_SAN] = {"bad-san", "subjectAltName value cannot be used"},
    [GCERT_E_BAD_SERIAL] = {"bad-serial", "serial number cannot be used"},
    [GCERT_E_BAD_TIME] = {"bad-time", "time or duration cannot be parsed"},
    [GCERT_E_CRYPTO] = {"crypto", "cryptographic operation failed"},
};

const char *gcert_status_name(gcert_status status) {
  if ((unsigned)status >= GCERT_STATUS_COUNT)
    return "unknown-status";
  return status_table[status].name;
}

gcert_status gcert_status_from_name(const char *name) {
  if (name == NULL)
    return GCERT_STATUS_COUNT;
  for (int i = 0; i < GCERT_STATUS_COUNT; i++) {
    if (strcmp(status_table[i].name, name) == 0)
      return (gcert_status)i;
  }
  return GCERT_STATUS_COUNT;
}

const char *gcert_status_text(gcert_status status) {
  if ((unsigned)status >= GCERT_STATUS_COUNT)
    return "unknown status";
  return status_table[status].text;
}

void gcert_error_clear(gcert_error *err) {
  if (err != NULL) {
    err->status = GCERT_OK;
    err->message[0] = '\0';
  }
}

static gcert_status fail_v(gcert_error *err, gcert_status status, int with_openssl, const char *fmt,
                           va_list ap) {
  unsigned long ossl = ERR_peek_error();
  if (err != NULL) {
    err->status = status;
    int n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
    if (n < 0)
      err->message[0] = '\0';
    size_t used = strlen(err->message);
    if (with_openssl && ossl != 0 && used + 3 < sizeof(err->message)) {
      const char *reason = ERR_reason_error_string(ossl);
      if (reason != NULL)
        snprintf(err->message + used, sizeof(err->message) - used, " (%s)", reason);
    }
  }
  ERR_clear_error();
  return status;
}

gcert_status gcert_fail(gcert_error *err, gcert_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  gcert_status result = fail_v(err, status, 1, fmt, ap);
  va_end(ap);
  return result;
}

gcert_status gcert_fail_plain(gcert_error *err, gcert_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  gcert_status result = fail_v(err, status, 0, fmt, ap);
  va_end(ap);
  return result;
}
