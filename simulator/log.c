/* log.c - the gateway log.
 *
 * One line per event on stderr (or the --log file): the process clock's time
 * (fake under libfaketime), a level, and the message. This is where the
 * reasons behind faults go ("PKIX path building failed: ...") - never into
 * responses. Nothing secret is ever passed here: callers log aliases,
 * fingerprints and subjects, never keys, passwords or Authorization values.
 */
#include <stdarg.h>
#include <stdio.h>

#include "sim.h"

void gsim_log(gsim *sim, const char *level, const char *fmt, ...) {
  FILE *out = sim && sim->log ? sim->log : stderr;
  char when[32];
  gsim_format_iso(gsim_now_ms(), when);
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  fprintf(out, "%s %-5s %s\n", when, level, line);
  fflush(out);
}
