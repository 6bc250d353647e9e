/* text.c - the growing text of text.h: doubling capacity from 4 KiB, kept
 * NUL-terminated; printf formats into a stack buffer and only allocates for
 * longer output. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

void gh_text_add(gh_text *t, const void *data, size_t len) {
  if (t->failed || len == 0)
    return;
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

void gh_text_printf(gh_text *t, const char *fmt, ...) {
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
    gh_text_add(t, small, (size_t)n);
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
  gh_text_add(t, big, (size_t)n);
  free(big);
}

void gh_text_free(gh_text *t) {
  free(t->data);
  memset(t, 0, sizeof(*t));
}
