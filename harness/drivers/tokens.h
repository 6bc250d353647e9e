/* tokens.h - OAuth2 for real gateway drivers: key managers, applications,
 * subscriptions, and the gatecert-introspect process that decides tokens.
 *
 * A real gateway cannot validate the scenarios' JWTs itself; the nginx and
 * HAProxy drivers ask gatecert-introspect (simulator/introspect.c, whose
 * contract is at its top) from the gateway's own request path (nginx
 * auth_request, a HAProxy Lua action). This component holds what the
 * introspector decides with - the key managers, the security lists of the
 * APIs it decides for, the subscriptions - writes them to its config file
 * (atomically: it re-reads the file when it changes), and starts and stops
 * the process: lazily, on the first API, key manager or subscription that
 * needs it, under the case's fake clock, stopped by pid.
 *
 * The admin answers (key managers, subscriptions) are the simulator's: 201
 * with its JSON, 400 for bad input, 404 unknown key manager or API, 409
 * duplicates. Nothing here prints; errors come back in why.
 */
#ifndef GH_DRIVERS_TOKENS_H
#define GH_DRIVERS_TOKENS_H

#include <stddef.h>

#include "driver.h"

typedef struct gh_tokens gh_tokens;

/* NULL on allocation failure. */
gh_tokens *gh_tokens_new(void);
/* Stops the introspector and frees everything. */
void gh_tokens_free(gh_tokens *t);

/* A new case: forgets the previous one's state (its introspector must have
 * been stopped) and keeps cfg (borrowed for the case: work_dir, clock_file,
 * faketime_lib, tiers). */
void gh_tokens_reset(gh_tokens *t, const gh_gateway_config *cfg);

/* How an API's security is expressed: *mtls when it has mutualssl (the
 * gateway's pins), *introspected when OAuth2 is in play (oauth2, the OAuth
 * mandatory flag, or a list without mutualssl, which WSO2 reads as its
 * default OAuth2). Returns a scheme no real gateway can express (basic auth,
 * API keys), or NULL. */
const char *gh_tokens_classify(const char *const *security, size_t count, int *mtls,
                               int *introspected);

/* The introspector decides for API name with this security list (started if
 * it is not running). 0, or -1 with why. */
int gh_tokens_add_api(gh_tokens *t, const char *name, const char *const *security, size_t count,
                      char *why, size_t why_len);
/* API name is gone: its security list and subscriptions are dropped. */
int gh_tokens_remove_api(gh_tokens *t, const char *name, char *why, size_t why_len);

/* ops.add_key_manager and ops.subscribe (driver.h); api_exists: whether the
 * gateway has the API. 0 with r set, or -1 with why. */
int gh_tokens_add_key_manager(gh_tokens *t, const gh_key_manager_desc *km, gh_admin_result *r,
                              char *why, size_t why_len);
int gh_tokens_subscribe(gh_tokens *t, const char *application, const char *api, int api_exists,
                        const char *tier, const char *key_manager, gh_admin_result *r, char *why,
                        size_t why_len);

/* The introspector's port on 127.0.0.1, or 0 when it is not running. */
int gh_tokens_port(const gh_tokens *t);
/* Stops it (by pid); 0, or -1 with why. */
int gh_tokens_stop(gh_tokens *t, char *why, size_t why_len);
/* After a gateway restart: starts it again, on its old port when that is
 * free. 1 when the port changed (the gateway's config must be rendered
 * again), 0 when not (or it was not running), -1 with why. */
int gh_tokens_restart(gh_tokens *t, char *why, size_t why_len);
/* Its log (stderr) path, or NULL before its first start. */
const char *gh_tokens_log_path(const gh_tokens *t);

#endif
