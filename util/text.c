/* text.c - the growing text of gutil.h: capacity doubles from 4 KiB, the text
 * stays NUL-terminated, printf formats into a stack buffer and allocates only
 * for longer output, and the libcurl write callback is an append that turns a
 * failure into "stop the transfer". */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gutil.h"

void gu_text_add(gu_text *t, const void *data, size_t len) {
  if (t->failed || len == 0)
    return;
  if (t->limit && (len > t->limit || t->len > t->limit - len)) {
    t->failed = 1;
    return;
  }
  if (!t->data || t->len + len + 1 > t->cap) {
    size_t cap = t->cap ? t->cap : 4096;
    while (cap < t->len + len + 1)
      cap *= 2;
    char *p = realloc(t->data, cap);
    if (!p) {
      t->failed = 1;
      return;
    }
    t->data = p;
    t->cap = cap;
  }
  memcpy(t->data + t->len, data, len);
  t->len += len;
  t->data[t->len] = '\0';
}

void gu_text_printf(gu_text *t, const char *fmt, ...) {
  char small[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof(small), fmt, ap);
  va_end(ap);
  if (n < 0) {
    t->failed = 1;
    return;
  }
  if ((size_t)n < sizeof(small)) {
    gu_text_add(t, small, (size_t)n);
    return;
  }
  char *big = malloc((size_t)n + 1);
  if (!big) {
    t->failed = 1;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  gu_text_add(t, big, (size_t)n);
  free(big);
}

void gu_text_free(gu_text *t) {
  free(t->data);
  memset(t, 0, sizeof(*t));
}

char *gu_text_take(gu_text *t) {
  char *data = t->failed ? NULL : t->data;
  if (t->failed)
    free(t->data);
  memset(t, 0, sizeof(*t));
  return data;
}

size_t gu_text_curl_write(char *ptr, size_t size, size_t nmemb, void *text) {
  gu_text *t = text;
  size_t n = size * nmemb;
  gu_text_add(t, ptr, n);
  return t->failed ? 0 : n;
}
