/* simconfig.h - the one writer of gatecert-sim's --config JSON.
 *
 * The sim driver (drivers/sim.c) and the exec driver's start file write the
 * JSON with gh_simconfig_write into the case's directory; `gatecert
 * repro` (repro.c) prints the same JSON into its script. Both go through
 * gh_simconfig_json, so what the simulator reads (simulator/options.c) is
 * built in one place.
 *
 * The gateway's scalar settings (reload intervals, fault format, listener,
 * mutual_ssl and throttling switches) are one table in simconfig.c: the JSON
 * section and name, where the value is in gh_gateway_spec (scenario.h) and in
 * gh_gateway_config (driver.h), and its unit. The table both copies a
 * scenario's settings into a driver config (gh_simconfig_from_spec) and
 * writes them. Adding a setting: its fields in scenario.h/.c (parsed) and
 * driver.h, one table row, the simulator's option parser, a test.
 */
#ifndef GH_SIMCONFIG_H
#define GH_SIMCONFIG_H

#include <jansson.h>

#include "driver.h"
#include "scenario.h"

/* Paths (trust_store, key_store) as absolute paths (realpath when the file
 * exists): a config file read from anywhere. Without it, as given. */
#define GH_SIMCONFIG_ABSOLUTE_PATHS 0x1u

/* cfg in gatecert-sim's --config schema: sender_reload_interval,
 * fault_format, backend_timeout_ms, ssl_profiles, default_profile, quirks,
 * listener, mutual_ssl, throttling, in that order, each only when set. A new reference
 * (the caller decrefs), or NULL when out of memory. */
json_t *gh_simconfig_json(const gh_gateway_config *cfg, unsigned flags);

/* Copies the table's settings of a scenario's gateway, and its quirks
 * (borrowed), into cfg (the rest of cfg - files, ports, profiles, load
 * balancers, tiers - is the caller's). */
void gh_simconfig_from_spec(gh_gateway_config *cfg, const gh_gateway_spec *spec);

/* Writes cfg's JSON (absolute paths) to path. 0, or -1 with why. */
int gh_simconfig_write(const gh_gateway_config *cfg, const char *path, char *why, size_t why_len);

#endif
