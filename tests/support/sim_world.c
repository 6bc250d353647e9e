/* sim_world.c - see sim_world.h. Thin cmocka wrappers over sim_fixture.c and
 * backend_support.c: each turns their -1 into a failed test. */
#include "sim_world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_fixture.h"
#include "support.h"

const char *sw_scratch(const char *name) {
  static char slots[8][BS_PATH_MAX];
  static unsigned next;
  return bt_scratch(slots[next++ % 8], name);
}

void sw_make_client(sw_client *c, const char *name) {
  gcert_item item = {0};
  char subject[128], file[96];
  snprintf(subject, sizeof(subject), "CN=%s,O=gatecert", name);
  test_issue(GCERT_KIND_CLIENT, subject, NULL, &item);
  snprintf(file, sizeof(file), "%s.cert.pem", name);
  snprintf(c->cert, sizeof(c->cert), "%s", sw_scratch(file));
  snprintf(file, sizeof(file), "%s.key.pem", name);
  snprintf(c->key, sizeof(c->key), "%s", sw_scratch(file));
  bs_check(bs_save_certs(c->cert, &item.cert, 1) == 0);
  bs_check(bs_save_key(c->key, item.key) == 0);
  gcert_item_free(&item);
}

bs_process *sw_backend(const char *name, const char *row, const char *extra, char *url) {
  char spec[4 * BS_PATH_MAX], chain[BS_PATH_MAX], key[BS_PATH_MAX], file[96];
  snprintf(file, sizeof(file), "%s.chain.pem", row);
  bt_scratch(chain, file);
  snprintf(file, sizeof(file), "%s.key", row);
  bt_scratch(key, file);
  snprintf(spec, sizeof(spec), "%s:cert=%s,key=%s%s", name, chain, key, extra ? extra : "");
  bs_process *backend = st_backend(test_scratch_dir(), spec);
  if (!backend)
    fail_msg("backend %s: %s", name, st_error());
  if (url)
    snprintf(url, 128, "https://localhost:%d", bs_port(backend, name));
  return backend;
}

void sw_world_backend(sw_world *w, const char *name, const char *row, const char *extra) {
  w->backend = sw_backend(name, row, extra, w->url);
  w->port = bs_port(w->backend, name);
  sw_report(w->report, name);
}

const char *sw_report(char *out, const char *name) {
  char file[BS_NAME_MAX + 8];
  snprintf(file, sizeof(file), "%s.jsonl", name);
  return bt_scratch(out, file);
}

size_t sw_served(const char *report, json_t **last) {
  bs_events ev = {0};
  if (last)
    *last = NULL;
  if (bs_report_load(report, &ev) != 0)
    return 0; /* no report yet: nothing reached the application */
  size_t n = bs_events_count(&ev, "request");
  json_t *e = bs_events_last(&ev, "request");
  if (last)
    *last = e ? json_incref(e) : NULL;
  bs_events_free(&ev);
  return n;
}

long sw_get(st_sim *sim, const char *api, const char *on_500) {
  char path[128];
  snprintf(path, sizeof(path), "/%s/1.0/menaka", api);
  bs_response res;
  st_check(st_call(sim, path, &res));
  long status = res.status;
  if (status == 500 && on_500)
    assert_non_null(strstr(res.body, on_500));
  bs_response_free(&res);
  return status;
}

void sw_sim_start_with(st_sim *sim, const char *dir_name, const char *profile, const char *clock,
                       const char *config, const char *const *extra) {
  char dir[BS_PATH_MAX];
  st_sim_opts opts = {.dir = bt_scratch(dir, dir_name),
                      .profile = profile,
                      .clock = clock,
                      .config_json = config,
                      .extra = extra};
  st_check(st_sim_start(sim, &opts));
}

void sw_sim_start(st_sim *sim, const char *dir_name, const char *profile, const char *clock,
                  const char *config, const char *brk) {
  char root[BS_PATH_MAX];
  const char *args[] = {"--trust", bt_scratch(root, "root.pem"), brk ? "--break" : NULL, brk, NULL};
  sw_sim_start_with(sim, dir_name, profile, clock, config, args);
}

void sw_upload_client(st_sim *sim, const char *api_id, const char *alias, const sw_client *c,
                      const char *tier) {
  size_t len = 0;
  char *pem = bs_slurp(c->cert, &len);
  assert_non_null(pem);
  st_part parts[] = {
      {"certificate", pem, len, "client.crt"},
      {"alias", alias, strlen(alias), NULL},
      {"tier", tier, strlen(tier), NULL},
  };
  st_reply r;
  st_check(st_upload_client_cert(sim, api_id, parts, 3, &r));
  if (r.status != 201)
    fail_msg("client certificate %s: %ld %s", alias, r.status, r.body ? r.body : "");
  st_reply_free(&r);
  free(pem);
}

void sw_create_api(st_sim *sim, const char *name, const char *url, const char *schemes,
                   int is_default, char id[64]) {
  char body[1024];
  snprintf(body, sizeof(body),
           "{\"name\":\"%s\",\"context\":\"/%s\",\"version\":\"1.0\",%s"
           "\"endpointConfig\":{\"production_endpoints\":{\"url\":\"%s\"}}%s%s}",
           name, name,
           is_default < 0 ? ""
           : is_default   ? "\"isDefaultVersion\":true,"
                          : "\"isDefaultVersion\":false,",
           url, schemes ? ",\"securityScheme\":" : "", schemes ? schemes : "");
  json_t *out = NULL;
  long status = sw_admin_json(sim, "POST", ST_APIS, body, &out);
  if (status != 201)
    fail_msg("POST %s %s: %ld", ST_APIS, name, status);
  snprintf(id, 64, "%s", json_string_value(json_object_get(out, "id")));
  json_decref(out);
}

void sw_reload(st_sim *sim) {
  st_reply r;
  st_check(st_admin(sim, "POST", "/_sim/reload", NULL, &r));
  assert_int_equal(200, r.status);
  st_reply_free(&r);
}

long sw_admin_json(st_sim *sim, const char *method, const char *path, const char *body,
                   json_t **out) {
  st_reply r;
  st_check(st_admin(sim, method, path, body, &r));
  long status = r.status;
  if (out)
    *out = r.json ? json_incref(r.json) : NULL;
  st_reply_free(&r);
  return status;
}

void sw_stop(st_sim *sim, bs_process *backend) {
  st_check(st_sim_stop(sim));
  bs_check(bs_stop(backend) == 0);
}

void sw_world_stop(sw_world *w) { sw_stop(&w->sim, w->backend); }
