/* bytes.c - bounded reading of untrusted bytes, growable output, buffers.
 *
 * gcert_reader is the only way binary parsers in certs/ (JKS above all) look
 * at input: each read first compares the wanted size with what remains, so a
 * hostile length field produces GCERT_E_TRUNCATED, never an out-of-bounds read.
 * gcert_writer collects output with a sticky failure flag, so writers check
 * for allocation failure once, at the end.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>

void gcert_buf_free(gcert_buf *buf) {
  if (buf == NULL)
    return;
  free(buf->data);
  buf->data = NULL;
  buf->len = 0;
}

void gcert_buf_cleanse_free(gcert_buf *buf) {
  if (buf == NULL)
    return;
  if (buf->data != NULL)
    OPENSSL_cleanse(buf->data, buf->len);
  gcert_buf_free(buf);
}

void gcert_reader_init(gcert_reader *r, const unsigned char *data, size_t len) {
  r->data = data;
  r->len = len;
  r->pos = 0;
}

size_t gcert_reader_remaining(const gcert_reader *r) { return r->len - r->pos; }

gcert_status gcert_reader_bytes(gcert_reader *r, size_t n, const unsigned char **out,
                                const char *what, gcert_error *err) {
  if (n > gcert_reader_remaining(r)) {
    return gcert_fail_plain(err, GCERT_E_TRUNCATED,
                            "%s at offset %zu needs %zu bytes, only %zu remain", what, r->pos, n,
                            gcert_reader_remaining(r));
  }
  *out = r->data + r->pos;
  r->pos += n;
  return GCERT_OK;
}

static gcert_status read_be(gcert_reader *r, size_t n, uint64_t *out, const char *what,
                            gcert_error *err) {
  if (n > gcert_reader_remaining(r))
    return gcert_fail_plain(err, GCERT_E_TRUNCATED,
                            "%s at offset %zu needs %zu bytes, only %zu remain", what, r->pos, n,
                            gcert_reader_remaining(r));
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++)
    v = (v << 8) | r->data[r->pos + i];
  r->pos += n;
  *out = v;
  return GCERT_OK;
}

gcert_status gcert_reader_u8(gcert_reader *r, uint8_t *out, const char *what, gcert_error *err) {
  uint64_t v = 0;
  gcert_status st = read_be(r, 1, &v, what, err);
  *out = (uint8_t)v;
  return st;
}

gcert_status gcert_reader_u16be(gcert_reader *r, uint16_t *out, const char *what,
                                gcert_error *err) {
  uint64_t v = 0;
  gcert_status st = read_be(r, 2, &v, what, err);
  *out = (uint16_t)v;
  return st;
}

gcert_status gcert_reader_u32be(gcert_reader *r, uint32_t *out, const char *what,
                                gcert_error *err) {
  uint64_t v = 0;
  gcert_status st = read_be(r, 4, &v, what, err);
  *out = (uint32_t)v;
  return st;
}

gcert_status gcert_reader_u64be(gcert_reader *r, uint64_t *out, const char *what,
                                gcert_error *err) {
  return read_be(r, 8, out, what, err);
}

void gcert_writer_init(gcert_writer *w) {
  w->buf.data = NULL;
  w->buf.len = 0;
  w->capacity = 0;
  w->failed = 0;
}

void gcert_writer_put(gcert_writer *w, const void *data, size_t len) {
  if (w->failed || len == 0)
    return;
  if (len > SIZE_MAX - w->buf.len) {
    w->failed = 1;
    return;
  }
  size_t need = w->buf.len + len;
  if (need > w->capacity) {
    size_t cap = w->capacity ? w->capacity : 256;
    while (cap < need)
      cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    unsigned char *grown = realloc(w->buf.data, cap);
    if (grown == NULL) {
      w->failed = 1;
      return;
    }
    w->buf.data = grown;
    w->capacity = cap;
  }
  memcpy(w->buf.data + w->buf.len, data, len);
  w->buf.len += len;
}

static void put_be(gcert_writer *w, uint64_t v, size_t n) {
  unsigned char bytes[8];
  for (size_t i = 0; i < n; i++)
    bytes[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
  gcert_writer_put(w, bytes, n);
}

void gcert_writer_u8(gcert_writer *w, uint8_t v) { put_be(w, v, 1); }
void gcert_writer_u16be(gcert_writer *w, uint16_t v) { put_be(w, v, 2); }
void gcert_writer_u32be(gcert_writer *w, uint32_t v) { put_be(w, v, 4); }
void gcert_writer_u64be(gcert_writer *w, uint64_t v) { put_be(w, v, 8); }

gcert_status gcert_writer_finish(gcert_writer *w, gcert_buf *out, gcert_error *err) {
  if (w->failed) {
    gcert_writer_discard(w);
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory while writing output");
  }
  *out = w->buf;
  gcert_writer_init(w);
  return GCERT_OK;
}

void gcert_writer_discard(gcert_writer *w) {
  if (w->buf.data != NULL)
    OPENSSL_cleanse(w->buf.data, w->buf.len);
  free(w->buf.data);
  gcert_writer_init(w);
}

gcert_status gcert_buf_from_bio(BIO *bio, gcert_buf *out, gcert_error *err) {
  char *mem = NULL;
  long n = BIO_get_mem_data(bio, &mem);
  if (n < 0 || (n > 0 && mem == NULL))
    return gcert_fail(err, GCERT_E_CRYPTO, "cannot read encoded output");
  unsigned char *copy = malloc(n > 0 ? (size_t)n : 1);
  if (copy == NULL)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory copying %ld bytes", n);
  if (n > 0)
    memcpy(copy, mem, (size_t)n);
  out->data = copy;
  out->len = (size_t)n;
  return GCERT_OK;
}

gcert_status gcert_check_input(const unsigned char *data, size_t len, const char *what,
                               gcert_error *err) {
  if (data == NULL && len > 0)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "%s input: no data for %zu bytes", what, len);
  if (len == 0)
    return gcert_fail_plain(err, GCERT_E_EMPTY, "%s input is empty", what);
  if (len > GCERT_MAX_INPUT)
    return gcert_fail_plain(err, GCERT_E_TOO_LARGE, "%s input is %zu bytes, the limit is %zu", what,
                            len, GCERT_MAX_INPUT);
  return GCERT_OK;
}
