/* text.h - a growing NUL-terminated text, for the real gateway drivers'
 * configuration files and answers.
 *
 * Appends never report an error one by one: an allocation failure sets
 * failed, every later append does nothing, and the owner checks failed once
 * when the text is complete. data is NULL until the first append.
 */
#ifndef GH_DRIVERS_TEXT_H
#define GH_DRIVERS_TEXT_H

#include <stddef.h>

typedef struct gh_text {
  char *data;
  size_t len;
  size_t cap;
  int failed;
} gh_text;

void gh_text_add(gh_text *t, const void *data, size_t len);
void gh_text_printf(gh_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees the text and empties t. */
void gh_text_free(gh_text *t);

#endif
