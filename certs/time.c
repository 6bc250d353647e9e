/* time.c - reference times and durations given as text (CLI, scenarios).
 *
 * Times are ISO 8601 UTC ("2030-01-01T00:00:00Z", parsed by strptime and
 * timegm), epoch seconds ("@1893456000"), or the word "now": the one explicit
 * way to ask for the wall clock. Durations are an integer with an optional
 * unit (s, m, h, d) and sign, checked for overflow with strtoll.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

gcert_status gcert_time_parse(const char *text, time_t *out, gcert_error *err) {
  if (text == NULL || *text == '\0')
    return gcert_fail_plain(err, GCERT_E_BAD_TIME, "empty time");
  if (strcmp(text, "now") == 0) {
    *out = time(NULL);
    return GCERT_OK;
  }
  if (text[0] == '@') {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text + 1, &end, 10);
    if (errno != 0 || end == text + 1 || *end != '\0')
      return gcert_fail_plain(err, GCERT_E_BAD_TIME, "'%s' is not @EPOCH-SECONDS", text);
    *out = (time_t)v;
    return GCERT_OK;
  }
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  const char *end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == NULL || *end != '\0')
    return gcert_fail_plain(err, GCERT_E_BAD_TIME,
                            "'%s' is not YYYY-MM-DDTHH:MM:SSZ, @EPOCH or now", text);
  *out = timegm(&tm);
  return GCERT_OK;
}

gcert_status gcert_duration_parse(const char *text, int64_t *out, gcert_error *err) {
  if (text == NULL || *text == '\0')
    return gcert_fail_plain(err, GCERT_E_BAD_TIME, "empty duration");
  char *end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno != 0 || end == text)
    return gcert_fail_plain(err, GCERT_E_BAD_TIME, "'%s' is not a duration like 90s, 15m, 2h, 30d",
                            text);
  long long unit = 1;
  if (*end == 'm')
    unit = 60;
  else if (*end == 'h')
    unit = 3600;
  else if (*end == 'd')
    unit = 86400;
  else if (*end != 's' && *end != '\0')
    unit = 0;
  if (unit == 0 || (*end != '\0' && end[1] != '\0'))
    return gcert_fail_plain(err, GCERT_E_BAD_TIME, "'%s': unit must be s, m, h or d", text);
  if (v > INT64_MAX / unit || v < INT64_MIN / unit)
    return gcert_fail_plain(err, GCERT_E_BAD_TIME, "'%s' is out of range", text);
  *out = (int64_t)(v * unit);
  return GCERT_OK;
}
