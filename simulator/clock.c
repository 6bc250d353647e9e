/* clock.c - the simulator's wall clock and the date formats it answers with.
 *
 * Every decision that depends on time (reload ticks, certificate expiry at
 * upload, the times in reports) reads CLOCK_REALTIME through clock_gettime(),
 * which libfaketime intercepts: under a harness the process lives in the
 * case's fake time, and the harness steps it by rewriting a timestamp file.
 */
#include <stdio.h>
#include <time.h>

#include "sim.h"

int64_t gsim_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void gsim_format_iso(int64_t ms, char out[32]) {
  time_t secs = (time_t)(ms / 1000);
  int millis = (int)(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  struct tm tm;
  if (!gmtime_r(&secs, &tm)) {
    snprintf(out, 32, "invalid");
    return;
  }
  char day[24];
  strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, 32, "%s.%03dZ", day, millis);
}

/* strftime of a UTC time. The simulator never calls setlocale, so it runs in
 * the C locale and %a and %b are English, as Java's formats with an English
 * locale write them. */
int gsim_format_utc(int64_t ms, const char *format, char *out, size_t out_len) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  if (out_len == 0)
    return -1;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  /* format is checked at each call (format(strftime) in sim.h), not here */
  size_t written = gmtime_r(&t, &tm) ? strftime(out, out_len, format, &tm) : 0;
#pragma GCC diagnostic pop
  if (written == 0) {
    snprintf(out, out_len, "invalid");
    return -1;
  }
  return 0;
}

void gsim_format_java_date(time_t t, char out[32]) {
  gsim_format_utc((int64_t)t * 1000, "%a %b %d %H:%M:%S UTC %Y", out, 32);
}
