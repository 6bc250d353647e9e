/* gutil.h - the small things every gatecert component needs once: a growing
 * text (also libcurl's body collector), the "format a reason, return -1"
 * error helper, a free loopback port and a program search along $PATH.
 *
 * Error convention of the whole project: a function that can fail returns -1
 * (or NULL) and, when the caller passed a buffer, writes one line saying why
 * into it; it never prints. gu_fail is that convention in one call.
 *
 * A gu_text is zero-initialised ({0}) and needs no init call. Appends never
 * report an error one by one: an allocation failure, or growing past limit
 * when limit is not 0, sets failed, every later append does nothing, and the
 * owner checks failed once when the text is complete. data is NULL until the
 * first append and NUL-terminated after it.
 */
#ifndef GATECERT_UTIL_H
#define GATECERT_UTIL_H

#include <stddef.h>

typedef struct gu_text {
  char *data;
  size_t len;
  size_t cap;
  size_t limit; /* most bytes the text may hold; 0: no limit */
  int failed;
} gu_text;

void gu_text_add(gu_text *t, const void *data, size_t len);
void gu_text_printf(gu_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees the text and empties t (limit included). */
void gu_text_free(gu_text *t);
/* Hands data over to the caller (who frees it) and empties t; NULL when
 * failed or nothing was appended. */
char *gu_text_take(gu_text *t);
/* A CURLOPT_WRITEFUNCTION with CURLOPT_WRITEDATA a gu_text *: appends the
 * chunk, or answers 0 (libcurl then stops the transfer with
 * CURLE_WRITE_ERROR) once the text has failed or would pass its limit. */
size_t gu_text_curl_write(char *ptr, size_t size, size_t nmemb, void *text);

/* Writes the formatted reason into why (when why is not NULL and why_len not
 * 0) and returns -1. */
int gu_fail(char *why, size_t why_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then
 * released), or -1 with why. For programs that must be told a port in their
 * configuration; servers of our own bind port 0 and report theirs. */
int gu_free_port(char *why, size_t why_len);

/* Milliseconds on the monotonic clock (for deadlines and polling; never the
 * fake clock of a process under libfaketime, which does not touch ours). */
double gu_now_ms(void);
/* Sleeps ms milliseconds of real time, resuming after signals. */
void gu_sleep_ms(int ms);

/* Where program is: with a '/', that file; without, the first regular
 * executable file named so in a directory of $PATH. 0 and the path in out, or
 * -1 with why (not found, not executable, or the path too long for out). */
int gu_find_program(const char *program, char *out, size_t out_len, char *why, size_t why_len);

#endif
