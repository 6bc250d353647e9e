/* token.h - the bearer token check (token.c), the one piece of OAuth2 that
 * gatecert-introspect shares with the simulator; its types are sim.h's
 * (gsim_oauth_result, gsim_token_km, gsim_token_subscribed).
 */
#ifndef GSIM_TOKEN_H
#define GSIM_TOKEN_H

#include "sim.h"

/* A copy of untrusted text fit for a log line: printable ASCII, '?' for the
 * rest, "..." when cut. Returns out. */
const char *gsim_loggable(const char *in, char *out, size_t out_len);
/* Sets out->status and out->reason (printf-style). */
void gsim_token_verdict(gsim_oauth_result *out, gsim_oauth_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
