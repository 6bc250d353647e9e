/* control.c - the simulator-only control surface under /_sim/ (admin port,
 * same credentials).
 *
 *   GET  /_sim/status   the node (--node K, else null) and what it took of the
 *                       other nodes' changes ("cluster"), profile, the quirks
 *                       on, clock, the sender schedule (interval, ticks
 *                       processed, the next ticks), trust generation, reloads,
 *                       pending changes, counts
 *   GET  /_sim/time     the process clock (fake under libfaketime)
 *   POST /_sim/reload   apply what is pending now, off schedule: the sender
 *                       trust and the listener's two views, each only when
 *                       something changed since its last reload (a call with
 *                       nothing pending rebuilds nothing: no new generation,
 *                       no reload counted); answers the status plus
 *                       "reloaded": {sender, listener_profile,
 *                       listener_truststore}, what this call rebuilt
 *
 * Every admin call runs the reload check first, so reading the status after a
 * clock step is itself the acknowledgement a harness waits for: the answer
 * already reflects every tick up to the time it reports.
 */
#include <string.h>

#include <event2/http.h>

#include "sim.h"

static json_t *iso(int64_t ms) {
  char text[32];
  gsim_format_iso(ms, text);
  return json_string(text);
}

/* The reported bugs turned on (--quirk): [{name, version, issue, rule}]. */
static json_t *quirks_json(const gsim_options *opt) {
  size_t count = 0;
  const gsim_quirk *q = gsim_quirks_table(&count);
  json_t *list = json_array();
  for (size_t i = 0; i < count; i++)
    if (opt->rules.quirks & (UINT64_C(1) << i))
      json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "name", q[i].name, "version",
                                            q[i].version, "issue", q[i].issue, "rule", q[i].row));
  return list;
}

json_t *gsim_status_json(gsim *sim) {
  int64_t now = gsim_now_ms();
  json_t *next = json_array(), *next_ms = json_array();
  int64_t t = gsim_schedule_next_ms(&sim->sender, now);
  for (int i = 0; i < GSIM_STATUS_TICKS; i++, t += sim->sender.interval_ms) {
    json_array_append_new(next, iso(t));
    json_array_append_new(next_ms, json_integer(t));
  }
  int64_t last_index = sim->sender.last_index;
  json_t *last_tick =
      last_index > 0 ? iso(gsim_schedule_tick_ms(&sim->sender, last_index)) : json_null();
  gsim_trust_gen *gen = sim->trust.current;
  json_t *sender = json_pack(
      "{s:I, s:I, s:I, s:o, s:o, s:o, s:I, s:I, s:b, s:o, s:I}", "interval_s",
      (json_int_t)sim->opt->sender_reload_s, "interval_asked_s",
      (json_int_t)sim->opt->sender_reload_asked_s, "ticks", (json_int_t)last_index, "last_tick",
      last_tick, "next_ticks", next, "next_ticks_ms", next_ms, "generation",
      (json_int_t)(gen ? gen->number : 0), "reloads", (json_int_t)sim->sender_reloads,
      "pending_change", gsim_trust_pending(&sim->trust), "loaded", iso(gen ? gen->loaded_ms : 0),
      "endpoint_certificates_live", (json_int_t)(gen ? gen->uploaded_count : 0));
  json_t *stats =
      json_pack("{s:I, s:I, s:I, s:I}", "requests", (json_int_t)sim->stats.requests, "proxied",
                (json_int_t)sim->stats.proxied, "faults", (json_int_t)sim->stats.faults,
                "admin_requests", (json_int_t)sim->stats.admin_requests);
  const gsim_cluster *c = &sim->cluster;
  json_t *cluster =
      sim->opt->node > 0
          ? json_pack(
                "{s:I, s:I, s:o, s:o, s:I, s:I, s:I, s:I}", "node", (json_int_t)sim->opt->node,
                "changes_seen", (json_int_t)c->changes_seen, "last_change_seen",
                c->last_change_ms ? iso(c->last_change_ms) : json_null(), "last_change_seen_ms",
                c->last_change_ms ? json_integer(c->last_change_ms) : json_null(), "apis_deployed",
                (json_int_t)c->apis_added, "apis_undeployed", (json_int_t)c->apis_removed,
                "client_cert_changes", (json_int_t)c->client_certs_changed, "sync_failures",
                (json_int_t)c->sync_failures)
          : json_null();
  return json_pack("{s:s, s:o, s:o, s:s, s:s, s:o, s:o, s:I, s:o, s:I, s:o, s:o, s:I, s:o}",
                   "simulator", "gatecert-sim", "node",
                   sim->opt->node > 0 ? json_integer((json_int_t)sim->opt->node) : json_null(),
                   "cluster", cluster, "profile", gsim_profile_name(sim->opt->profile), "product",
                   gsim_profile_product(sim->opt->profile), "quirks", quirks_json(sim->opt), "time",
                   iso(now), "time_ms", (json_int_t)now, "started", iso(sim->started_ms),
                   "started_ms", (json_int_t)sim->started_ms, "sender", sender, "listener",
                   gsim_listener_status(sim), "apis", (json_int_t)sim->api_count, "stats", stats);
}

void gsim_control_request(gsim *sim, struct evhttp_request *req, const char *path) {
  enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
  if (strcmp(path, "status") == 0 && cmd == EVHTTP_REQ_GET) {
    gsim_send_json(req, 200, gsim_status_json(sim));
  } else if (strcmp(path, "time") == 0 && cmd == EVHTTP_REQ_GET) {
    int64_t now = gsim_now_ms();
    gsim_send_json(req, 200, json_pack("{s:o, s:I}", "time", iso(now), "time_ms", (json_int_t)now));
  } else if (strcmp(path, "reload") == 0 && cmd == EVHTTP_REQ_POST) {
    char why[256];
    /* what this call rebuilds: only what changed since the last reload */
    int sender = gsim_trust_pending(&sim->trust);
    int profile = gsim_listener_pending(sim, GSIM_LISTENER_HANDSHAKE);
    int memory = gsim_listener_pending(sim, GSIM_LISTENER_MEMORY);
    if (gsim_reload_everything_now(sim, why, sizeof(why)) != 0) {
      gsim_log(sim, "ERROR", "requested reload failed: %s", why);
      gsim_rest_error(req, 500, "Internal server error", "The reload failed; see the gateway log");
      return;
    }
    json_t *status = gsim_status_json(sim);
    json_object_set_new(status, "reloaded",
                        json_pack("{s:b, s:b, s:b}", "sender", sender, "listener_profile", profile,
                                  "listener_truststore", memory));
    gsim_send_json(req, 200, status);
  } else if (strcmp(path, "status") == 0 || strcmp(path, "time") == 0 ||
             strcmp(path, "reload") == 0) {
    gsim_rest_error(req, 405, "Method Not Allowed", "status and time take GET, reload takes POST");
  } else {
    gsim_rest_error(req, 404, "Not Found", "No such resource under /_sim/");
  }
}
