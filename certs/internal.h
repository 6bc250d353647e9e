/* internal.h - what the certs/ source files share and nobody else sees.
 *
 * Error reporting (gcert_fail), the bounded byte reader that every binary
 * parser uses so that no length from the input is trusted, and a growable
 * output buffer for writers. Not installed, not included outside certs/.
 */
#ifndef GCERT_INTERNAL_H
#define GCERT_INTERNAL_H

#include "gcert.h"

#include <stdarg.h>

/* Sets err (if not NULL) and returns status. The message is formatted like
 * printf; when OpenSSL has queued errors their first reason is appended and
 * the queue is cleared, so callers never see stale OpenSSL errors. */
gcert_status gcert_fail(gcert_error *err, gcert_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like gcert_fail but leaves OpenSSL's error queue out of the message (and
 * still clears it): for errors where OpenSSL's reason would mislead. */
gcert_status gcert_fail_plain(gcert_error *err, gcert_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err to GCERT_OK. */
void gcert_error_clear(gcert_error *err);

/* ---- bounded reader ----------------------------------------------------- */

/* A cursor over untrusted bytes. Every read checks the remaining length first;
 * on a short read it returns GCERT_E_TRUNCATED with the offset in the message
 * and leaves the cursor where it was. */
typedef struct gcert_reader {
  const unsigned char *data;
  size_t len;
  size_t pos;
} gcert_reader;

void gcert_reader_init(gcert_reader *r, const unsigned char *data, size_t len);
size_t gcert_reader_remaining(const gcert_reader *r);
gcert_status gcert_reader_u8(gcert_reader *r, uint8_t *out, const char *what, gcert_error *err);
gcert_status gcert_reader_u16be(gcert_reader *r, uint16_t *out, const char *what, gcert_error *err);
gcert_status gcert_reader_u32be(gcert_reader *r, uint32_t *out, const char *what, gcert_error *err);
gcert_status gcert_reader_u64be(gcert_reader *r, uint64_t *out, const char *what, gcert_error *err);
/* Points *out at the next n bytes (no copy) and advances. */
gcert_status gcert_reader_bytes(gcert_reader *r, size_t n, const unsigned char **out,
                                const char *what, gcert_error *err);

/* ---- growable output buffer --------------------------------------------- */

typedef struct gcert_writer {
  gcert_buf buf;
  size_t capacity;
  int failed; /* sticky: set on the first allocation failure */
} gcert_writer;

void gcert_writer_init(gcert_writer *w);
void gcert_writer_put(gcert_writer *w, const void *data, size_t len);
void gcert_writer_u8(gcert_writer *w, uint8_t v);
void gcert_writer_u16be(gcert_writer *w, uint16_t v);
void gcert_writer_u32be(gcert_writer *w, uint32_t v);
void gcert_writer_u64be(gcert_writer *w, uint64_t v);
/* Hands the bytes to *out, or fails with GCERT_E_NOMEM if any put failed. */
gcert_status gcert_writer_finish(gcert_writer *w, gcert_buf *out, gcert_error *err);
void gcert_writer_discard(gcert_writer *w);

/* ---- OpenSSL helpers ---------------------------------------------------- */

/* Copies a memory BIO's contents into a gcert_buf. */
gcert_status gcert_buf_from_bio(BIO *bio, gcert_buf *out, gcert_error *err);

/* 1 when key is the private half of cert's public key. */
int gcert_key_matches_cert(EVP_PKEY *key, X509 *cert);

/* The checks every reader starts with: data present, not empty, not larger
 * than GCERT_MAX_INPUT. `what` names the format in the message. */
gcert_status gcert_check_input(const unsigned char *data, size_t len, const char *what,
                               gcert_error *err);

#endif /* GCERT_INTERNAL_H */
