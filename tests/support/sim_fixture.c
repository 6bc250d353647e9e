/* sim_fixture.c - see sim_fixture.h. */
#include "sim_fixture.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CLOCK_WAIT_MS 3000

/* The reason for the last failure (see st_error). */
static char st_last_error[512];

const char *st_error(void) { return st_last_error; }

static int st_report(void) {
  fprintf(stderr, "sim_fixture: %s\n", st_last_error);
  return -1;
}

/* util's gu_fail into st_last_error, also printed (the test's log says why). */
#define st_fail(...) (gu_fail(st_last_error, sizeof(st_last_error), __VA_ARGS__), st_report())

static int write_file(const char *path, const char *text, mode_t mode) {
  FILE *f = fopen(path, "w");
  if (!f)
    return st_fail("cannot write %s: %s", path, strerror(errno));
  int ok = fputs(text, f) >= 0;
  ok = fclose(f) == 0 && ok;
  chmod(path, mode);
  return ok ? 0 : st_fail("cannot write %s", path);
}

static void format_clock(int64_t ms, char out[32]) {
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

int st_sim_start(st_sim *sim, const st_sim_opts *opts) {
  memset(sim, 0, sizeof(*sim));
  sim->opts = *opts;
  snprintf(sim->dir, sizeof(sim->dir), "%s", opts->dir);
  /* A fresh start: no store left by an earlier run of the test binary. */
  static const char *const leftovers[] = {"state/gatecert-sim.db", "state/gatecert-sim.db-wal",
                                          "state/gatecert-sim.db-shm", "clock"};
  for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++) {
    char path[BS_PATH_MAX];
    unlink(bs_join(path, sim->dir, leftovers[i]));
  }
  return st_sim_restart(sim);
}

int st_sim_restart(st_sim *sim) {
  const st_sim_opts *opts = &sim->opts;
  /* a running simulator is stopped first: the state directory takes one at a time */
  if (sim->proc && st_sim_stop(sim) != 0)
    return -1;
  /* libfaketime reads the timestamp file in local time: make that UTC. */
  setenv("TZ", "UTC", 1);
  tzset();
  if (mkdir(sim->dir, 0700) != 0 && errno != EEXIST)
    return st_fail("mkdir %s: %s", sim->dir, strerror(errno));
  char pw[BS_PATH_MAX], state[BS_PATH_MAX], config[BS_PATH_MAX], reload[32];
  bs_join(pw, sim->dir, "admin.password");
  bs_join(state, sim->dir, "state");
  bs_join(config, sim->dir, "config.json");
  if (write_file(pw, ST_PASSWORD "\n", 0600) != 0)
    return -1;
  const char *args[BS_MAX_ARGS + 1];
  size_t n = 0;
  args[n++] = "--state";
  args[n++] = state;
  args[n++] = "--admin-user";
  args[n++] = ST_USER;
  args[n++] = "--admin-password-file";
  args[n++] = pw;
  args[n++] = "--profile";
  args[n++] = opts->profile ? opts->profile : "wso2";
  if (opts->reload_s > 0) {
    snprintf(reload, sizeof(reload), "%ld", opts->reload_s);
    args[n++] = "--sender-reload-interval";
    args[n++] = reload;
  }
  if (opts->config_json) {
    if (write_file(config, opts->config_json, 0600) != 0)
      return -1;
    args[n++] = "--config";
    args[n++] = config;
  }
  for (size_t i = 0; opts->extra && opts->extra[i]; i++) {
    if (n >= BS_MAX_ARGS - 1)
      return st_fail("too many arguments");
    args[n++] = opts->extra[i];
  }
  args[n] = NULL;
  if (opts->clock && !sim->clock_file[0]) {
    bs_join(sim->clock_file, sim->dir, "clock");
    if (bs_faketime_set(sim->clock_file, opts->clock) != 0)
      return st_fail("%s", bs_error());
  }
  const char *bin = getenv("GATECERT_SIM_BIN");
  if (!bin || !*bin)
    return st_fail("GATECERT_SIM_BIN is not set");
  bs_start_opts so = {.args = args,
                      .scratch_dir = sim->dir,
                      .faketime_file = sim->clock_file[0] ? sim->clock_file : NULL,
                      .ready_timeout_ms = opts->ready_timeout_ms,
                      .bin = bin,
                      .single_ready = 1};
  sim->proc = bs_start(&so);
  if (!sim->proc)
    return st_fail("gatecert-sim did not start: %s", bs_error());
  sim->https = bs_port(sim->proc, "https");
  sim->admin = bs_port(sim->proc, "admin");
  if (sim->https <= 0 || sim->admin <= 0)
    return st_fail("READY line without https= and admin=");
  return 0;
}

int st_sim_stop(st_sim *sim) {
  int rc = sim->proc ? bs_stop(sim->proc) : 0;
  sim->proc = NULL;
  return rc == 0 ? 0 : st_fail("%s", bs_error());
}

int st_sim_kill(st_sim *sim) {
  if (sim->proc)
    bs_stop_signal(sim->proc, SIGKILL);
  sim->proc = NULL;
  return 0;
}

/* ---- admin calls ------------------------------------------------------------- */

void st_reply_free(st_reply *reply) {
  free(reply->body);
  free(reply->headers);
  json_decref(reply->json);
  memset(reply, 0, sizeof(*reply));
}

char *st_header(const st_reply *reply, const char *name) {
  size_t name_len = strlen(name);
  for (const char *line = reply->headers; line && *line;) {
    const char *eol = strstr(line, "\r\n");
    size_t len = eol ? (size_t)(eol - line) : strlen(line);
    if (len > name_len && line[name_len] == ':' && strncasecmp(line, name, name_len) == 0) {
      const char *v = line + name_len + 1;
      while (*v == ' ')
        v++;
      return strndup(v, len - (size_t)(v - line));
    }
    line = eol ? eol + 2 : line + len;
  }
  return NULL;
}

static int perform(CURL *h, st_reply *out) {
  gu_text body = {0}, headers = {0};
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, gu_text_curl_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, gu_text_curl_write);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &headers);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, out->error);
  CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
  out->body = bs_text_body(&body, &out->len);
  out->headers = bs_text_body(&headers, NULL);
  if (out->body && out->len)
    out->json = json_loadb(out->body, out->len, 0, NULL);
  if (rc != CURLE_OK && out->status == 0)
    return st_fail("curl: %s", out->error[0] ? out->error : curl_easy_strerror(rc));
  return 0;
}

int st_admin_raw(st_sim *sim, const char *method, const char *path, const char *userpwd,
                 const char *const *headers, const void *body, size_t body_len, st_reply *out) {
  memset(out, 0, sizeof(*out));
  CURL *h = curl_easy_init();
  if (!h)
    return st_fail("curl_easy_init failed");
  char url[4096];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", sim->admin, path);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  if (userpwd)
    curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
  struct curl_slist *list = NULL;
  for (size_t i = 0; headers && headers[i]; i++)
    list = curl_slist_append(list, headers[i]);
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  if (body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  }
  int rc = perform(h, out);
  curl_slist_free_all(list);
  curl_easy_cleanup(h);
  return rc;
}

int st_admin(st_sim *sim, const char *method, const char *path, const char *json_body,
             st_reply *out) {
  static const char *const json_type[] = {"Content-Type: application/json", NULL};
  return st_admin_raw(sim, method, path, ST_USER ":" ST_PASSWORD, json_body ? json_type : NULL,
                      json_body, json_body ? strlen(json_body) : 0, out);
}

int st_multipart(st_sim *sim, const char *method, const char *path, const st_part *parts,
                 size_t count, st_reply *out) {
  memset(out, 0, sizeof(*out));
  CURL *h = curl_easy_init();
  curl_mime *mime = h ? curl_mime_init(h) : NULL;
  if (!mime) {
    curl_easy_cleanup(h);
    return st_fail("curl mime init failed");
  }
  for (size_t i = 0; i < count; i++) {
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_name(part, parts[i].name);
    curl_mime_data(part, parts[i].data ? parts[i].data : "", parts[i].data ? parts[i].len : 0);
    if (parts[i].filename) {
      curl_mime_filename(part, parts[i].filename);
      curl_mime_type(part, "application/octet-stream");
    }
  }
  char url[4096];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", sim->admin, path);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(h, CURLOPT_USERPWD, ST_USER ":" ST_PASSWORD);
  struct curl_slist *list = curl_slist_append(NULL, "Expect:");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  int rc = perform(h, out);
  curl_slist_free_all(list);
  curl_mime_free(mime);
  curl_easy_cleanup(h);
  return rc;
}

/* The Publisher v0.14 paths of certificates, per profile (rule rest-paths);
 * every other profile serves the v4 ones. */
static const struct {
  const char *profile, *certs, *client_certs;
} V014_PATHS[] = {
    {"wso2-2.6", "/api/am/publisher/v0.14/certificates",
     "/api/am/publisher/v0.14/clientCertificates"},
};

static const char *v014_path(const st_sim *sim, int client) {
  for (size_t i = 0; i < sizeof(V014_PATHS) / sizeof(V014_PATHS[0]); i++)
    if (sim->opts.profile && strcmp(sim->opts.profile, V014_PATHS[i].profile) == 0)
      return client ? V014_PATHS[i].client_certs : V014_PATHS[i].certs;
  return NULL;
}

const char *st_certs_path(const st_sim *sim) {
  const char *v014 = v014_path(sim, 0);
  return v014 ? v014 : ST_CERTS;
}

int st_upload_client_cert(st_sim *sim, const char *api_id, const st_part *parts, size_t count,
                          st_reply *out) {
  st_part all[16];
  if (count >= sizeof(all) / sizeof(all[0]))
    return st_fail("st_upload_client_cert: at most 15 parts");
  memcpy(all, parts, count * sizeof(*parts));
  const char *v014 = v014_path(sim, 1);
  char path[512];
  if (v014) {
    all[count++] = (st_part){"apiId", api_id, strlen(api_id), NULL};
    snprintf(path, sizeof(path), "%s", v014);
  } else
    snprintf(path, sizeof(path), ST_APIS "/%s/client-certificates", api_id);
  return st_multipart(sim, "POST", path, all, count, out);
}

int st_upload_cert(st_sim *sim, const char *alias, const char *endpoint, const char *cert_path,
                   st_reply *out) {
  size_t len = 0;
  char *data = bs_slurp(cert_path, &len);
  if (!data)
    return st_fail("cannot read %s", cert_path);
  st_part parts[] = {
      {"certificate", data, len, "backend.crt"},
      {"alias", alias, strlen(alias), NULL},
      {"endpoint", endpoint, strlen(endpoint), NULL},
  };
  int rc = st_multipart(sim, "POST", st_certs_path(sim), parts, 3, out);
  free(data);
  return rc;
}

long st_create_api(st_sim *sim, const char *name, const char *context, const char *version,
                   const char *url, char id[64]) {
  /* every resource without authentication (WSO2 authType None): the tests of
   * issue 4 check trust and routing, not the security chain */
  json_t *ops = json_array();
  static const char *const verbs[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};
  for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
    json_array_append_new(
        ops, json_pack("{s:s, s:s, s:s}", "target", "/*", "verb", verbs[i], "authType", "None"));
  json_t *def =
      json_pack("{s:s, s:s, s:s, s:{s:{s:s}}, s:o}", "name", name, "context", context, "version",
                version, "endpointConfig", "production_endpoints", "url", url, "operations", ops);
  char *text = json_dumps(def, JSON_COMPACT);
  json_decref(def);
  st_reply r;
  int rc = text ? st_admin(sim, "POST", ST_APIS, text, &r) : -1;
  free(text);
  if (rc != 0)
    return -1;
  long status = r.status;
  const char *got = json_string_value(json_object_get(r.json, "id"));
  if (id)
    snprintf(id, 64, "%s", got ? got : "");
  st_reply_free(&r);
  return status;
}

int st_call(st_sim *sim, const char *path, bs_response *res) {
  bs_request req = {.port = sim->https, .path = path, .insecure = 1};
  bs_http(&req, res);
  return res->code == CURLE_OK ? 0 : st_fail("call %s: %s", path, res->error);
}

int st_status(st_sim *sim, json_t **out) {
  st_reply r;
  if (st_admin(sim, "GET", "/_sim/status", NULL, &r) != 0)
    return -1;
  int ok = r.status == 200 && r.json;
  *out = ok ? json_incref(r.json) : NULL;
  long status = r.status;
  st_reply_free(&r);
  return ok ? 0 : st_fail("/_sim/status answered %ld", status);
}

int64_t st_status_i64(st_sim *sim, const char *path) {
  json_t *status = NULL;
  if (st_status(sim, &status) != 0)
    return INT64_MIN;
  json_t *v = bs_json_at(status, path);
  int64_t out = json_is_integer(v) ? (int64_t)json_integer_value(v) : INT64_MIN;
  json_decref(status);
  return out;
}

int st_clock_set(st_sim *sim, int64_t ms) {
  if (!sim->clock_file[0])
    return st_fail("this simulator runs in real time");
  char when[32];
  format_clock(ms, when);
  if (bs_faketime_set(sim->clock_file, when) != 0)
    return st_fail("%s", bs_error());
  int64_t target = ms / 1000 * 1000;
  double deadline = gu_now_ms() + CLOCK_WAIT_MS;
  while (gu_now_ms() < deadline) {
    st_reply r;
    if (st_admin(sim, "GET", "/_sim/time", NULL, &r) != 0)
      return -1;
    json_t *t = json_object_get(r.json, "time_ms");
    int64_t now = json_is_integer(t) ? (int64_t)json_integer_value(t) : 0;
    st_reply_free(&r);
    if (now >= target)
      return 0;
    usleep(1000);
  }
  return st_fail("the simulator's clock did not reach %s within %d ms", when, CLOCK_WAIT_MS);
}

int st_log_contains(st_sim *sim, const char *needle) {
  if (!sim->proc)
    return 0;
  char *text = bs_slurp(sim->proc->stderr_path, NULL);
  int found = text && strstr(text, needle);
  free(text);
  return found;
}

bs_process *st_backend(const char *report_dir, const char *spec) {
  const char *args[] = {"--report-dir", report_dir, "--backend", spec, NULL};
  bs_start_opts so = {.args = args, .scratch_dir = report_dir};
  bs_process *p = bs_start(&so);
  if (!p)
    st_fail("gatecert-backend did not start: %s", bs_error());
  return p;
}

/* ---- the sap profiles' OData service ------------------------------------------ */

int st_sap_token(st_sim *sim, char token[128]) {
  st_reply r;
  static const char *const form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
  static const char body[] = "grant_type=client_credentials";
  if (st_admin_raw(sim, "POST", "/oauth/token", ST_USER ":" ST_PASSWORD, form, body, strlen(body),
                   &r) != 0)
    return -1;
  const char *t = r.json ? json_string_value(json_object_get(r.json, "access_token")) : NULL;
  int rc = r.status == 200 && t && strlen(t) < 128 ? 0 : -1;
  if (rc == 0)
    snprintf(token, 128, "%s", t);
  else
    st_fail("POST /oauth/token: %ld %s", r.status, r.body ? r.body : "");
  st_reply_free(&r);
  return rc;
}

int st_odata(st_sim *sim, const char *method, const char *path, const char *json_body,
             st_reply *out) {
  char token[128], auth[160], url[4096];
  if (st_sap_token(sim, token) != 0)
    return -1;
  snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
  snprintf(url, sizeof(url), "%s%s", ST_ODATA, path);
  const char *headers[] = {auth, "Accept: application/json", "Content-Type: application/json",
                           NULL};
  return st_admin_raw(sim, method, url, NULL, headers, json_body, json_body ? strlen(json_body) : 0,
                      out);
}
