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

void gsim_format_java_date(time_t t, char out[32]) {
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  struct tm tm;
  if (!gmtime_r(&t, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11) {
    snprintf(out, 32, "invalid");
    return;
  }
  snprintf(out, 32, "%s %s %02d %02d:%02d:%02d UTC %04d", days[tm.tm_wday], months[tm.tm_mon],
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
}
