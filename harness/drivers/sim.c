/* sim.c - the `sim` driver: gatecert-sim through its admin REST API.
 *
 * start() writes the gateway's configuration into the case's work directory
 * (a random admin password, 0600; a JSON config with the SSL profiles) and
 * starts gatecert-sim under the case's fake clock with the supervisor; every
 * operation is one libcurl request to the admin listener on 127.0.0.1 with
 * basic credentials, and the answer's status and body go back to the runner
 * untouched. clock_sync() reads /_sim/time until the simulator reports the
 * time the runner set: since every admin call runs the reload check first,
 * that answer already reflects every tick up to that time.
 *
 * A case with a load balancer in front (gateway.mutual_ssl.front_lb) gets the
 * nginx one the nginx driver runs (front_lb.h), as WSO2 deployments have:
 * gatecert-sim then starts with a server identity made here (self-signed for
 * localhost, dated around the wall clock so any fake epoch is inside), which
 * the balancer verifies; the balancer presents the case's load balancer
 * certificate, which the listener trusts and mutual_ssl pins, so the
 * simulator honours the header it forwards. It runs under the case's clock,
 * is stopped by pid with the simulator, and restarted with it (the
 * simulator's port changes). Without nginx such a case is skipped, naming it.
 *
 * Certificates are where the profile's Publisher API has them (the
 * simulator's rule rest-paths; gh_profile_cert_paths in profile.h): WSO2 2.6's v0.14
 * /certificates and /clientCertificates (the API id in the form, the alias
 * alone naming a client certificate), the v4 paths for every other profile.
 * APIs, key managers, applications and subscriptions are v4 everywhere.
 *
 * Under the sap profiles an endpoint certificate goes through SAP's OData
 * service (simulator/README.md, "The sap profiles"), as SAP's own tools do:
 * a bearer token from /oauth/token (the admin credentials are the client's),
 * fetched again after a 401; the certificate is an entry, named by its alias,
 * of ONE trust store per case (SAP_TRUST_STORE, made by a deep insert with
 * the first one), and the endpoint's host:port gets an API provider with TLS
 * verified against that store. One store per case rather than per backend:
 * WSO2's endpoint certificates share one trust store too (the sender's), so a
 * scenario means the same on both products, and a replacement or deletion,
 * which names only the alias, needs no alias-to-store map (nor does the exec
 * program or the repro script, which keep no such state). A replacement reads
 * the entry first: SAP has no update call, an upload under a taken name
 * overwrites it, so a replacement of nothing answers the GET's 404.
 *
 * A cluster (cfg.nodes above 1, GH_CAP_CLUSTER) is one gatecert-sim per
 * node, each started with the same --state directory (the store the nodes
 * share) and --node K, on ports of its own, its log in gateway.log (node 1)
 * or gateway-node<K>.log; use_node picks the node every later operation
 * talks to (its admin port, HTTPS port, start), restart restarts that node
 * alone, stop stops them all by pid. A load balancer in front sits before
 * node 1.
 *
 * The simulator lacks per-API backend TLS because the products it imitates
 * do (WSO2 and SAP choose backend TLS per host:port): such cases are reported
 * not applicable (gh_product_not_applicable, the rules of simulator/rules.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "simconfig.h"
#include "driver.h"
#include "front_lb.h"
#include "gcert.h"
#include "gutil.h"
#include "profile.h"
#include "scenario.h"
#include "supervisor.h"

#define APIS_PATH     "/api/am/publisher/v4/apis"
#define KM_PATH       "/api/am/admin/v4/key-managers"
#define APPS_PATH     "/api/am/devportal/v3/applications"
#define SUBS_PATH     "/api/am/devportal/v3/subscriptions"
#define MAX_APIS      64
#define SYNC_WAIT_MS  5000
#define ADMIN_TIMEOUT 10000L
/* Under the sap profiles: the case's one trust store of endpoint
 * certificates, and the longest access token kept. */
#define SAP_TRUST_STORE  "gatecert-endpoints"
#define GH_SAP_TOKEN_MAX 512

typedef struct api_id {
  char name[128];
  char id[64];
} api_id;

#define MAX_EXTRA 16

/* One gatecert-sim process: a node of the cluster (node 1 alone otherwise). */
typedef struct sim_node {
  gh_proc proc;
  int running;
  int admin_port;
  int https_port;
  int64_t started_ms;
  char stderr_path[1024];
} sim_node;

typedef struct sim_driver {
  char *bin;
  const char *extra[MAX_EXTRA + 1]; /* borrowed: the caller's argv */
  gh_gateway_config cfg;            /* borrowed strings, valid for the case */
  char password[33];
  char userpwd[48];
  const char *secrets[2];
  char password_file[1024];
  char config_file[1024];
  char state_dir[1024];
  char server_cert[1024]; /* with a load balancer in front: the simulator's identity */
  char server_key[1024];
  char lb_dir[1024];
  char nginx[1024];
  char user_line[160];
  gh_front_lb *lb; /* the load balancer in front, while it runs */
  sim_node nodes[GH_MAX_NODES];
  int node_count; /* started so far (1 without a cluster) */
  sim_node *cur;  /* the node operations address (use_node) */
  api_id apis[MAX_APIS];
  size_t api_count;
  api_id apps[MAX_APIS]; /* applications: name -> applicationId */
  size_t app_count;
  /* sap profiles: the OData service's bearer token (memory only, like the
   * simulator's: a restart forgets it), whether the trust store exists, and
   * the API providers made (host:port) */
  char bearer[GH_SAP_TOKEN_MAX];
  int store_made;
  api_id providers[MAX_APIS];
  size_t provider_count;
  api_id stores[MAX_APIS]; /* the sap_* steps' trust stores and references */
  size_t store_count;
  api_id references[MAX_APIS];
  size_t reference_count;
} sim_driver;

static int write_private(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return -1;
  size_t len = strlen(text);
  int ok = write(fd, text, len) == (ssize_t)len;
  return close(fd) == 0 && ok ? 0 : -1;
}

/* ---- HTTP ------------------------------------------------------------------ */

typedef struct part {
  const char *name;
  const void *data;
  size_t len;
  const char *filename;
} part;

/* One admin request: JSON body, multipart parts, a form, or nothing; with
 * the admin credentials, or the bearer token when one is given. */
static int admin_as(sim_driver *s, const char *method, const char *path, const char *json,
                    const part *parts, size_t part_count, const char *form, const char *bearer,
                    gh_admin_result *r, char *why, size_t why_len) {
  memset(r, 0, sizeof(*r));
  CURL *h = curl_easy_init();
  if (!h)
    return gu_fail(why, why_len, "curl_easy_init failed");
  char url[2048];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->cur->admin_port, path);
  gu_text body = {0};
  char error[CURL_ERROR_SIZE] = "";
  struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
  curl_mime *mime = NULL;
  char auth[GH_SAP_TOKEN_MAX + 32];
  if (bearer) {
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
    headers = curl_slist_append(headers, auth);
  }
  if (form) {
    headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
  } else if (json) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
  } else if (parts) {
    mime = curl_mime_init(h);
    for (size_t i = 0; i < part_count; i++) {
      curl_mimepart *mp = curl_mime_addpart(mime);
      curl_mime_name(mp, parts[i].name);
      curl_mime_data(mp, parts[i].len ? parts[i].data : "", parts[i].len);
      if (parts[i].filename)
        curl_mime_filename(mp, parts[i].filename);
    }
    curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
  }
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  if (!bearer)
    curl_easy_setopt(h, CURLOPT_USERPWD, s->userpwd);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ADMIN_TIMEOUT);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, gu_text_curl_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
  curl_mime_free(mime);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  if (rc != CURLE_OK && r->status == 0) {
    gu_text_free(&body); /* a failed call leaves r empty: nothing for the caller to free */
    return gu_fail(why, why_len, "admin %s %s: %s", method, path,
                   error[0] ? error : curl_easy_strerror(rc));
  }
  r->body = gu_text_take(&body);
  if (!r->body)
    r->body = calloc(1, 1); /* an empty answer */
  return 0;
}

static int admin(sim_driver *s, const char *method, const char *path, const char *json,
                 const part *parts, size_t part_count, gh_admin_result *r, char *why,
                 size_t why_len) {
  return admin_as(s, method, path, json, parts, part_count, NULL, NULL, r, why, why_len);
}

static int write_config(sim_driver *s, char *why, size_t why_len) {
  return gh_simconfig_write(&s->cfg, s->config_file, why, why_len);
}

/* ---- operations -------------------------------------------------------------- */

static int read_start(sim_driver *s, char *why, size_t why_len) {
  gh_admin_result r;
  if (admin(s, "GET", "/_sim/status", NULL, NULL, 0, &r, why, why_len) != 0)
    return -1;
  json_t *status = json_loads(r.body ? r.body : "", 0, NULL);
  json_t *v = json_object_get(status, "started_ms");
  s->cur->started_ms = json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
  long code = r.status;
  json_decref(status);
  gh_admin_result_free(&r);
  return code == 200 && s->cur->started_ms > 0
             ? 0
             : gu_fail(why, why_len, "/_sim/status answered %ld without started_ms", code);
}

/* Starts node (1-based; cfg.nodes above 1: a cluster node) and addresses it. */
static int launch(sim_driver *s, int node, char *why, size_t why_len) {
  const gh_gateway_config *c = &s->cfg;
  sim_node *n = &s->nodes[node - 1];
  s->cur = n;
  char interval[32], node_text[16];
  const char *args[GH_PROC_MAX_ARGS];
  size_t argc = 0;
  args[argc++] = "--state";
  args[argc++] = s->state_dir;
  args[argc++] = "--admin-user";
  args[argc++] = "gatecert";
  args[argc++] = "--admin-password-file";
  args[argc++] = s->password_file;
  args[argc++] = "--profile";
  args[argc++] = c->profile;
  args[argc++] = "--config";
  args[argc++] = s->config_file;
  if (c->sender_reload_interval_ms > 0) {
    snprintf(interval, sizeof(interval), "%lld", (long long)(c->sender_reload_interval_ms / 1000));
    args[argc++] = "--sender-reload-interval";
    args[argc++] = interval;
  }
  if (c->base_trust_pem) {
    args[argc++] = "--trust";
    args[argc++] = c->base_trust_pem;
  }
  if (s->server_cert[0]) {
    args[argc++] = "--server-cert";
    args[argc++] = s->server_cert;
    args[argc++] = "--server-key";
    args[argc++] = s->server_key;
  }
  if (c->nodes > 1) {
    snprintf(node_text, sizeof(node_text), "%d", node);
    args[argc++] = "--node";
    args[argc++] = node_text;
  }
  for (size_t i = 0; s->extra[i] && argc < GH_PROC_MAX_ARGS - 1; i++)
    args[argc++] = s->extra[i];
  args[argc] = NULL;
  if (node == 1)
    snprintf(n->stderr_path, sizeof(n->stderr_path), "%s/gateway.log", c->work_dir);
  else
    snprintf(n->stderr_path, sizeof(n->stderr_path), "%s/gateway-node%d.log", c->work_dir, node);
  gh_proc_spec spec = {.bin = s->bin,
                       .args = args,
                       .stderr_path = n->stderr_path,
                       .faketime_file = c->clock_file,
                       .faketime_lib = c->faketime_lib,
                       .single_ready = 1};
  if (gh_proc_start(&n->proc, &spec, why, why_len) != 0)
    return -1;
  n->running = 1;
  n->admin_port = gh_proc_port(&n->proc, "admin");
  n->https_port = gh_proc_port(&n->proc, "https");
  if (n->admin_port <= 0 || n->https_port <= 0)
    return gu_fail(why, why_len, "gatecert-sim's READY line lacks admin= or https=");
  return read_start(s, why, why_len);
}

/* The simulator's own identity, which the balancer verifies. */
static int make_server_identity(sim_driver *s, char *why, size_t why_len) {
  gcert_buf cert = {0}, key = {0};
  gcert_error err = {0};
  snprintf(s->server_cert, sizeof(s->server_cert), "%s/sim-server.crt", s->cfg.work_dir);
  snprintf(s->server_key, sizeof(s->server_key), "%s/sim-server.key", s->cfg.work_dir);
  int rc = gh_self_signed_identity(GCERT_KIND_SERVER, "CN=localhost,O=gatecert-sim", &cert, &key,
                                   why, why_len);
  if (rc == 0 && gcert_file_save(s->server_cert, cert.data, cert.len, 0, &err) != GCERT_OK)
    rc = gu_fail(why, why_len, "writing %s: %s", s->server_cert, err.message);
  if (rc == 0 && gcert_file_save(s->server_key, key.data, key.len, 1, &err) != GCERT_OK)
    rc = gu_fail(why, why_len, "writing %s: %s", s->server_key, err.message);
  gcert_buf_free(&cert);
  gcert_buf_cleanse_free(&key);
  return rc;
}

/* The load balancer in front of the simulator's HTTPS port (front_lb.h). */
static int start_lb(sim_driver *s, char *why, size_t why_len) {
  const gh_gateway_config *c = &s->cfg;
  gh_front_lb_spec spec = {.nginx = s->nginx,
                           .dir = s->lb_dir,
                           .clock_file = c->clock_file,
                           .faketime_lib = c->faketime_lib,
                           .user_line = s->user_line,
                           .server_cert = s->server_cert,
                           .server_key = s->server_key,
                           .client_trust_pem = c->base_trust_pem,
                           .gateway_port = s->nodes[0].https_port,
                           .gateway_trust_pem = s->server_cert,
                           .identity_pem = c->front_lb_key_pem,
                           .header = c->certificate_header ? c->certificate_header
                                                           : GH_CERT_HEADER_DEFAULT};
  s->lb = gh_front_lb_start(&spec, why, why_len);
  return s->lb ? 0 : -1;
}

static int stop_lb(sim_driver *s, char *why, size_t why_len) {
  int rc = gh_front_lb_stop(s->lb, why, why_len);
  s->lb = NULL;
  return rc;
}

static int sim_start(gh_driver *d, const gh_gateway_config *cfg, char *why, size_t why_len) {
  sim_driver *s = d->impl;
  char ignored[256];
  stop_lb(s, ignored, sizeof(ignored)); /* none unless a stop was missed */
  s->cfg = *cfg;
  s->api_count = 0;
  s->app_count = 0;
  s->bearer[0] = '\0';
  s->store_made = 0;
  s->provider_count = 0;
  s->store_count = 0;
  s->reference_count = 0;
  s->server_cert[0] = s->server_key[0] = '\0';
  if (cfg->front_lb_key_pem) {
    if (gh_nginx_find(NULL, s->nginx, sizeof(s->nginx)) != 0)
      return gu_fail(why, why_len,
                     "the load balancer in front is an nginx, and there is none (PATH, "
                     "/usr/sbin/nginx)"),
             GH_DRIVER_UNSUPPORTED;
    snprintf(s->lb_dir, sizeof(s->lb_dir), "%s/nginx-lb", cfg->work_dir);
    if (make_server_identity(s, why, why_len) != 0)
      return -1;
  }
  snprintf(s->password_file, sizeof(s->password_file), "%s/sim-admin.password", cfg->work_dir);
  snprintf(s->config_file, sizeof(s->config_file), "%s/sim-config.json", cfg->work_dir);
  snprintf(s->state_dir, sizeof(s->state_dir), "%s/sim-state", cfg->work_dir);
  if (cfg->nodes > GH_MAX_NODES)
    return gu_fail(why, why_len, "more than %d nodes", GH_MAX_NODES);
  s->node_count = 1;
  char line[40];
  snprintf(line, sizeof(line), "%s\n", s->password);
  if (write_private(s->password_file, line) != 0)
    return gu_fail(why, why_len, "cannot write %s: %s", s->password_file, strerror(errno));
  if (write_config(s, why, why_len) != 0 || launch(s, 1, why, why_len) != 0)
    return -1;
  return cfg->front_lb_key_pem ? start_lb(s, why, why_len) : 0;
}

/* Node node of the cluster, on the state node 1 made. */
static int sim_start_node(gh_driver *d, int node, char *why, size_t why_len) {
  sim_driver *s = d->impl;
  if (node != s->node_count + 1 || node > s->cfg.nodes || node > GH_MAX_NODES)
    return gu_fail(why, why_len, "node %d cannot start after %d of %d nodes", node, s->node_count,
                   s->cfg.nodes);
  s->node_count = node; /* counted before the launch, so a stop stops it even half-started */
  return launch(s, node, why, why_len);
}

static int sim_use_node(gh_driver *d, int node) {
  sim_driver *s = d->impl;
  if (node < 1 || node > s->node_count || !s->nodes[node - 1].running)
    return -1;
  s->cur = &s->nodes[node - 1];
  return 0;
}

/* Stops one node by pid (0 when it was not running). */
static int stop_node(sim_node *n, char *why, size_t why_len) {
  if (!n->running)
    return 0;
  n->running = 0;
  return gh_proc_stop(&n->proc, SIGTERM, 3000, why, why_len);
}

static int sim_stop(gh_driver *d, char *why, size_t why_len) {
  sim_driver *s = d->impl;
  char lb_why[256] = "";
  int lb = stop_lb(s, lb_why, sizeof(lb_why));
  int gw = 0;
  for (int k = 0; k < s->node_count; k++) { /* every node, the first failure reported */
    char node_why[512] = "";
    if (stop_node(&s->nodes[k], node_why, sizeof(node_why)) != 0 && gw == 0)
      gw = gu_fail(why, why_len, "node %d: %s", k + 1, node_why);
  }
  s->cur = &s->nodes[0];
  if (gw == 0 && lb != 0)
    return gu_fail(why, why_len, "the load balancer: %s", lb_why);
  return gw;
}

/* The simulator comes back on a new port: the balancer in front is started
 * again toward it. In a cluster only the addressed node restarts (the
 * balancer with node 1). */
static int sim_restart(gh_driver *d, char *why, size_t why_len) {
  sim_driver *s = d->impl;
  int node = (int)(s->cur - s->nodes) + 1;
  s->bearer[0] = '\0'; /* the simulator keeps its tokens in memory only */
  int had_lb = s->lb != NULL && node == 1;
  s->bearer[0] = '\0'; /* the simulator keeps its tokens in memory only */
  if (had_lb && stop_lb(s, why, why_len) != 0)
    return -1;
  if (stop_node(s->cur, why, why_len) != 0 || launch(s, node, why, why_len) != 0)
    return -1;
  return had_lb ? start_lb(s, why, why_len) : 0;
}

static int sim_front_port(gh_driver *d) { return gh_front_lb_port(((sim_driver *)d->impl)->lb); }

static int sim_https_port(gh_driver *d) { return ((sim_driver *)d->impl)->cur->https_port; }
static int64_t sim_start_ms(gh_driver *d) { return ((sim_driver *)d->impl)->cur->started_ms; }

static int sim_clock_sync(gh_driver *d, int64_t fake_ms, char *why, size_t why_len) {
  sim_driver *s = d->impl;
  int64_t target = fake_ms / 1000 * 1000;
  for (int waited = 0; waited < SYNC_WAIT_MS; waited++) {
    gh_admin_result r;
    if (admin(s, "GET", "/_sim/time", NULL, NULL, 0, &r, why, why_len) != 0)
      return -1;
    json_t *t = json_loads(r.body ? r.body : "", 0, NULL);
    json_t *v = json_object_get(t, "time_ms");
    int64_t now = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
    json_decref(t);
    gh_admin_result_free(&r);
    if (now >= target)
      return 0;
    usleep(1000);
  }
  return gu_fail(why, why_len, "gatecert-sim did not reach the fake time within %d ms",
                 SYNC_WAIT_MS);
}

static int sim_create_api(gh_driver *d, const gh_api_desc *api, gh_admin_result *r, char *why,
                          size_t why_len) {
  sim_driver *s = d->impl;
  json_t *security = json_array();
  for (size_t i = 0; i < api->security_count; i++)
    json_array_append_new(security, json_string(api->security[i]));
  /* No `security:` in the scenario: an unsecured API, every resource with
   * WSO2's authType None (the gateway skips authentication for it). */
  json_t *operations = json_array();
  static const char *const verbs[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};
  for (size_t i = 0; api->security_count == 0 && i < sizeof(verbs) / sizeof(verbs[0]); i++)
    json_array_append_new(operations, json_pack("{s:s, s:s, s:s}", "target", "/*", "verb", verbs[i],
                                                "authType", "None"));
  json_t *def = json_pack("{s:s, s:s, s:s, s:{s:{s:s}}, s:o, s:b, s:o}", "name", api->name,
                          "context", api->context, "version", api->version, "endpointConfig",
                          "production_endpoints", "url", api->url, "securityScheme", security,
                          "isDefaultVersion", api->default_version, "operations", operations);
  char *text = def ? json_dumps(def, JSON_COMPACT) : NULL;
  json_decref(def);
  if (!text)
    return gu_fail(why, why_len, "out of memory");
  int rc = admin(s, "POST", APIS_PATH, text, NULL, 0, r, why, why_len);
  free(text);
  if (rc == 0 && r->status == 201 && s->api_count < MAX_APIS) {
    json_t *reply = json_loads(r->body, 0, NULL);
    const char *id = json_string_value(json_object_get(reply, "id"));
    api_id *slot = &s->apis[s->api_count++];
    snprintf(slot->name, sizeof(slot->name), "%s", api->name);
    snprintf(slot->id, sizeof(slot->id), "%s", id ? id : "");
    json_decref(reply);
  }
  return rc;
}

/* The id an API was created under (the last one), or "unknown-api". */
static const char *api_id_of(const sim_driver *s, const char *name) {
  const char *id = "unknown-api";
  for (size_t i = 0; i < s->api_count; i++)
    if (strcmp(s->apis[i].name, name) == 0)
      id = s->apis[i].id;
  return id;
}

static int sim_delete_api(gh_driver *d, const char *name, gh_admin_result *r, char *why,
                          size_t why_len) {
  sim_driver *s = d->impl;
  const char *id = api_id_of(s, name);
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", APIS_PATH, id);
  return admin(s, "DELETE", path, NULL, NULL, 0, r, why, why_len);
}

/* A deployment of the API's (absent) revision to the default gateway: WSO2 4.x's
 * POST .../apis/{apiId}/deploy-revision with one APIRevisionDeploymentDTO. */
static int sim_redeploy_api(gh_driver *d, const char *name, gh_admin_result *r, char *why,
                            size_t why_len) {
  sim_driver *s = d->impl;
  char path[256];
  snprintf(path, sizeof(path), "%s/%s/deploy-revision", APIS_PATH, api_id_of(s, name));
  return admin(s, "POST", path,
               "[{\"name\":\"Default\",\"vhost\":\"localhost\",\"displayOnDevportal\":true}]", NULL,
               0, r, why, why_len);
}

/* ---- the sap profiles: SAP's OData service ---------------------------------- */

/* The OAuth2 client-credentials token (simulator/README.md, "Access"): the
 * admin credentials are the service key's client id and secret. */
static int sap_token(sim_driver *s, char *why, size_t why_len) {
  if (s->bearer[0])
    return 0;
  gh_admin_result r;
  if (admin_as(s, "POST", "/oauth/token", NULL, NULL, 0, "grant_type=client_credentials", NULL, &r,
               why, why_len) != 0)
    return -1;
  json_t *j = json_loads(r.body, 0, NULL);
  const char *token = json_string_value(json_object_get(j, "access_token"));
  int ok = r.status == 200 && token && *token && strlen(token) < sizeof(s->bearer);
  if (ok)
    snprintf(s->bearer, sizeof(s->bearer), "%s", token);
  long status = r.status;
  json_decref(j);
  gh_admin_result_free(&r);
  return ok ? 0
            : gu_fail(why, why_len, "POST /oauth/token answered %ld without a usable access_token",
                      status);
}

/* One call under the OData service root (rel: "CertificateStores", ...) with
 * the bearer token and a JSON body (stolen) or none. A 401 - a token the
 * simulator forgot at a restart, or one expired on the fake clock - fetches
 * a new token and tries once more. */
static int odata(sim_driver *s, const char *method, const char *rel, json_t *body,
                 gh_admin_result *r, char *why, size_t why_len) {
  memset(r, 0, sizeof(*r));
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  const char *base = gh_profile_cert_paths(s->cfg.profile)->odata;
  size_t n = strlen(base) + strlen(rel) + 2;
  char *path = malloc(n);
  int rc = -1;
  if (!path || (body && !text))
    rc = gu_fail(why, why_len, "out of memory");
  else
    snprintf(path, n, "%s/%s", base, rel);
  for (int attempt = 0; path && (!body || text) && attempt < 2; attempt++) {
    if (sap_token(s, why, why_len) != 0)
      break;
    rc = admin_as(s, method, path, text, NULL, 0, NULL, s->bearer, r, why, why_len);
    if (rc != 0 || r->status != 401 || attempt == 1)
      break;
    gh_admin_result_free(r);
    memset(r, 0, sizeof(*r));
    s->bearer[0] = '\0';
    rc = -1;
  }
  free(text);
  free(path);
  return rc;
}

/* Certificates(name='<alias>',storeName='<store>'): an OData string literal
 * (a quote doubled), percent-encoded; malloc'd. */
static char *sap_cert_key(const char *alias) {
  size_t n = strlen(alias);
  char *quoted = malloc(2 * n + 1);
  if (!quoted)
    return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (alias[i] == '\'')
      quoted[k++] = '\'';
    quoted[k++] = alias[i];
  }
  quoted[k] = '\0';
  char *escaped = curl_easy_escape(NULL, quoted, (int)k);
  free(quoted);
  if (!escaped)
    return NULL;
  size_t len = strlen(escaped) + sizeof(SAP_TRUST_STORE) + 64;
  char *key = malloc(len);
  if (key)
    snprintf(key, len, "Certificates(name='%s',storeName='%s')", escaped, SAP_TRUST_STORE);
  curl_free(escaped);
  return key;
}

/* A certificate of the deep insert or of a store's certificates: name,
 * content (the file's bytes in base64; the simulator reads the format from
 * them), and the endpoint as its description. NULL when out of memory. */
static json_t *sap_cert_entity(const char *alias, const char *endpoint, const void *data,
                               size_t len) {
  if (len > (size_t)INT32_MAX / 2)
    return NULL;
  unsigned char *b64 = malloc(4 * ((len + 2) / 3) + 1);
  if (!b64)
    return NULL;
  EVP_EncodeBlock(b64, data, (int)len);
  json_t *cert = json_pack("{s:s, s:s}", "name", alias, "content", (const char *)b64);
  free(b64);
  if (cert && endpoint)
    json_object_set_new(cert, "description", json_string(endpoint));
  return cert;
}

/* An endpoint's host and port (the scheme's default when it has none). */
static int endpoint_host_port(const char *endpoint, char *host, size_t host_len, long *port) {
  CURLU *u = curl_url();
  char *h = NULL, *p = NULL;
  int ok = u && curl_url_set(u, CURLUPART_URL, endpoint, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK &&
           (size_t)snprintf(host, host_len, "%s", h) < host_len;
  *port = ok ? strtol(p, NULL, 10) : 0;
  curl_free(h);
  curl_free(p);
  curl_url_cleanup(u);
  return ok ? 0 : -1;
}

/* POST APIProviders: name for endpoint's host:port, TLS on, verified against
 * trust_store (a store's name or ref://<reference>). */
static int post_provider(sim_driver *s, const char *name, const char *endpoint,
                         const char *trust_store, gh_admin_result *r, char *why, size_t why_len) {
  char host[256];
  long port = 0;
  memset(r, 0, sizeof(*r));
  if (endpoint_host_port(endpoint, host, sizeof(host), &port) != 0)
    return gu_fail(why, why_len, "the endpoint %s has no host and port", endpoint);
  json_t *body =
      json_pack("{s:s, s:s, s:s, s:I, s:b, s:b, s:{s:b, s:b, s:s}}", "name", name, "destType",
                "INTERNET", "host", host, "port", (json_int_t)port, "useSSL", 1, "trustAll", 0,
                "sslInfo", "enabled", 1, "clientAuthEnabled", 0, "trustStore", trust_store);
  return odata(s, "POST", "APIProviders", body, r, why, why_len);
}

/* The API provider for an endpoint's host:port, made once per case (one per
 * host:port, as SAP associates backends with trust): TLS on, verified
 * against the case's trust store. */
static int sap_provider(sim_driver *s, const char *endpoint, char *why, size_t why_len) {
  char host[256], name[sizeof(s->providers[0].name)];
  long port = 0;
  if (endpoint_host_port(endpoint, host, sizeof(host), &port) != 0)
    return gu_fail(why, why_len, "the endpoint %s has no host and port", endpoint);
  if ((size_t)snprintf(name, sizeof(name), "gatecert_%.100s_%ld", host, port) >= sizeof(name))
    return gu_fail(why, why_len, "the endpoint %s: host name too long", endpoint);
  for (char *c = name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
      *c = '_';
  for (size_t i = 0; i < s->provider_count; i++)
    if (strcmp(s->providers[i].name, name) == 0)
      return 0;
  if (s->provider_count == MAX_APIS)
    return gu_fail(why, why_len, "more than %d API providers in a case", MAX_APIS);
  gh_admin_result r;
  if (post_provider(s, name, endpoint, SAP_TRUST_STORE, &r, why, why_len) != 0)
    return -1;
  int rc = 0;
  if (r.status != 201 && r.status != 409) /* 409: made before a restart */
    rc = gu_fail(why, why_len, "creating the API provider %s: %ld %.200s", name, r.status,
                 r.body ? r.body : "");
  else
    snprintf(s->providers[s->provider_count++].name, sizeof(name), "%s", name);
  gh_admin_result_free(&r);
  return rc;
}

/* An endpoint certificate under the sap profiles: an entry of the case's
 * trust store (a deep insert makes the store with it), then the API provider
 * of the endpoint's host:port naming that store. The answer is the
 * certificate's: 201 new, 200 overwritten, 400 refused. */
static int sap_upload_cert(sim_driver *s, const char *alias, const char *endpoint, const void *data,
                           size_t len, gh_admin_result *r, char *why, size_t why_len) {
  json_t *cert = sap_cert_entity(alias, endpoint, data, len);
  if (!cert) {
    memset(r, 0, sizeof(*r));
    return gu_fail(why, why_len, "out of memory");
  }
  json_t *body = s->store_made ? cert
                               : json_pack("{s:s, s:s, s:[o]}", "name", SAP_TRUST_STORE,
                                           "storeType", "TRUSTSTORE", "certificates", cert);
  const char *rel =
      s->store_made ? "CertificateStores('" SAP_TRUST_STORE "')/certificates" : "CertificateStores";
  if (odata(s, "POST", rel, body, r, why, why_len) != 0)
    return -1;
  if (r->status != 200 && r->status != 201)
    return 0;
  s->store_made = 1;
  if (sap_provider(s, endpoint, why, why_len) == 0)
    return 0;
  gh_admin_result_free(r);
  memset(r, 0, sizeof(*r));
  return -1;
}

/* SAP has no update call (a certificate uploaded under a name that exists
 * overwrites it), so a replacement reads the entry first and answers its
 * 404 when there is none, as a replacement of an unknown alias is. */
static int sap_replace_cert(sim_driver *s, const char *alias, const void *data, size_t len,
                            gh_admin_result *r, char *why, size_t why_len) {
  char *key = sap_cert_key(alias);
  if (!key) {
    memset(r, 0, sizeof(*r));
    return gu_fail(why, why_len, "out of memory");
  }
  int rc = odata(s, "GET", key, NULL, r, why, why_len);
  free(key);
  if (rc != 0 || r->status != 200)
    return rc;
  gh_admin_result_free(r);
  json_t *cert = sap_cert_entity(alias, NULL, data, len);
  if (!cert) {
    memset(r, 0, sizeof(*r));
    return gu_fail(why, why_len, "out of memory");
  }
  return odata(s, "POST", "CertificateStores('" SAP_TRUST_STORE "')/certificates", cert, r, why,
               why_len);
}

static int sap_delete_cert(sim_driver *s, const char *alias, gh_admin_result *r, char *why,
                           size_t why_len) {
  char *key = sap_cert_key(alias);
  if (!key) {
    memset(r, 0, sizeof(*r));
    return gu_fail(why, why_len, "out of memory");
  }
  int rc = odata(s, "DELETE", key, NULL, r, why, why_len);
  free(key);
  return rc;
}

/* 1 when name is in list (count entries); else remembers it when asked. */
static int made_before(api_id *list, size_t *count, const char *name, int remember) {
  for (size_t i = 0; i < *count; i++)
    if (strcmp(list[i].name, name) == 0)
      return 1;
  if (remember && *count < MAX_APIS)
    snprintf(list[(*count)++].name, sizeof(list[0].name), "%s", name);
  return 0;
}

/* The sap_* steps (gh_sap_object): a trust or key store entry (a deep insert makes
 * the store with its first), a reference (made, or repointed with a PUT
 * when this case made it), an API provider. Store and reference names are
 * scenario names ([A-Za-z0-9._-]), so they go into a key as they are. */
static int sim_sap_object(gh_driver *d, const gh_sap_object *o, gh_admin_result *r, char *why,
                          size_t why_len) {
  sim_driver *s = d->impl;
  memset(r, 0, sizeof(*r));
  if (!gh_profile_cert_paths(s->cfg.profile)->odata)
    return gu_fail(why, why_len, "SAP's objects exist under the sap profiles only"),
           GH_DRIVER_UNSUPPORTED;
  char rel[512];
  if (o->kind == GH_SAP_PROVIDER)
    return post_provider(s, o->name, o->endpoint, o->trust_store, r, why, why_len);
  if (o->kind == GH_SAP_REFERENCE) {
    int made = made_before(s->references, &s->reference_count, o->name, 0);
    snprintf(rel, sizeof(rel), "CertificateStoreReferences('%s')", o->name);
    /* an OData PUT replaces the whole entity: name and store both times */
    json_t *body = json_pack("{s:s, s:s}", "name", o->name, "certificateStoreName", o->store);
    int rc = odata(s, made ? "PUT" : "POST", made ? rel : "CertificateStoreReferences", body, r,
                   why, why_len);
    if (rc == 0 && r->status == 201)
      made_before(s->references, &s->reference_count, o->name, 1);
    return rc;
  }
  json_t *cert = sap_cert_entity(o->name, NULL, o->data, o->len);
  if (!cert)
    return gu_fail(why, why_len, "out of memory");
  if (o->password)
    json_object_set_new(cert, "password", json_string(o->password));
  int made = made_before(s->stores, &s->store_count, o->store, 0);
  snprintf(rel, sizeof(rel), "CertificateStores('%s')/certificates", o->store);
  json_t *body = made ? cert
                      : json_pack("{s:s, s:s, s:[o]}", "name", o->store, "storeType",
                                  o->key_store ? "KEYSTORE" : "TRUSTSTORE", "certificates", cert);
  int rc = odata(s, "POST", made ? rel : "CertificateStores", body, r, why, why_len);
  if (rc == 0 && (r->status == 200 || r->status == 201))
    made_before(s->stores, &s->store_count, o->store, 1);
  return rc;
}

static int sim_upload_cert(gh_driver *d, const char *alias, const char *endpoint, const void *data,
                           size_t len, gh_admin_result *r, char *why, size_t why_len) {
  sim_driver *s = d->impl;
  if (gh_profile_cert_paths(s->cfg.profile)->odata)
    return sap_upload_cert(s, alias, endpoint, data, len, r, why, why_len);
  part parts[] = {
      {"certificate", data, len, "certificate.crt"},
      {"alias", alias, strlen(alias), NULL},
      {"endpoint", endpoint, strlen(endpoint), NULL},
  };
  return admin(s, "POST", gh_profile_cert_paths(s->cfg.profile)->certs, NULL, parts, 3, r, why,
               why_len);
}

static char *alias_path(const sim_driver *s, const char *alias, const char *suffix) {
  const char *certs = gh_profile_cert_paths(s->cfg.profile)->certs;
  char *escaped = curl_easy_escape(NULL, alias, 0);
  if (!escaped)
    return NULL;
  size_t n = strlen(certs) + strlen(escaped) + strlen(suffix) + 2;
  char *path = malloc(n);
  if (path)
    snprintf(path, n, "%s/%s%s", certs, escaped, suffix);
  curl_free(escaped);
  return path;
}

static int sim_replace_cert(gh_driver *d, const char *alias, const void *data, size_t len,
                            gh_admin_result *r, char *why, size_t why_len) {
  sim_driver *s = d->impl;
  if (gh_profile_cert_paths(s->cfg.profile)->odata)
    return sap_replace_cert(s, alias, data, len, r, why, why_len);
  char *path = alias_path(d->impl, alias, "");
  if (!path)
    return gu_fail(why, why_len, "out of memory");
  part parts[] = {{"certificate", data, len, "certificate.crt"}};
  int rc = admin(d->impl, "PUT", path, NULL, parts, 1, r, why, why_len);
  free(path);
  return rc;
}

static int sim_delete_cert(gh_driver *d, const char *alias, gh_admin_result *r, char *why,
                           size_t why_len) {
  sim_driver *s = d->impl;
  if (gh_profile_cert_paths(s->cfg.profile)->odata)
    return sap_delete_cert(s, alias, r, why, why_len);
  char *path = alias_path(d->impl, alias, "");
  if (!path)
    return gu_fail(why, why_len, "out of memory");
  int rc = admin(d->impl, "DELETE", path, NULL, NULL, 0, r, why, why_len);
  free(path);
  return rc;
}

/* A JSON request body from a packed value (stolen); -1 on allocation failure. */
static int admin_json(sim_driver *s, const char *method, const char *path, json_t *body,
                      gh_admin_result *r, char *why, size_t why_len) {
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  if (!text) {
    memset(r, 0, sizeof(*r));
    return gu_fail(why, why_len, "out of memory");
  }
  int rc = admin(s, method, path, text, NULL, 0, r, why, why_len);
  free(text);
  return rc;
}

static int sim_add_key_manager(gh_driver *d, const gh_key_manager_desc *km, gh_admin_result *r,
                               char *why, size_t why_len) {
  json_t *body = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "name", km->name, "issuer", km->issuer,
                           "alg", km->alg, "certificates", "type", "PEM", "value", km->public_pem);
  return admin_json(d->impl, "POST", KM_PATH, body, r, why, why_len);
}

/* /apis/{id}/client-certificates[/{alias}] for an API name, or the profile's
 * own collection ([/{alias}]: the alias names the certificate). */
static char *client_cert_path(sim_driver *s, const char *api, const char *alias) {
  const char *own = gh_profile_cert_paths(s->cfg.profile)->client_certs;
  char *id = curl_easy_escape(NULL, api_id_of(s, api), 0);
  char *escaped = alias ? curl_easy_escape(NULL, alias, 0) : NULL;
  char *path = NULL;
  if (id && (!alias || escaped)) {
    size_t n = strlen(APIS_PATH) + strlen(id) + (own ? strlen(own) : 0) +
               (escaped ? strlen(escaped) : 0) + 40;
    if ((path = malloc(n)) != NULL && own)
      snprintf(path, n, "%s%s%s", own, escaped ? "/" : "", escaped ? escaped : "");
    else if (path)
      snprintf(path, n, "%s/%s/client-certificates%s%s", APIS_PATH, id, escaped ? "/" : "",
               escaped ? escaped : "");
  }
  curl_free(id);
  curl_free(escaped);
  return path;
}

static int sim_upload_client_cert(gh_driver *d, const char *api, const char *alias,
                                  const char *tier, const void *data, size_t len,
                                  gh_admin_result *r, char *why, size_t why_len) {
  memset(r, 0, sizeof(*r));
  char *path = client_cert_path(d->impl, api, NULL);
  if (!path)
    return gu_fail(why, why_len, "out of memory");
  sim_driver *s = d->impl;
  const char *id = api_id_of(s, api);
  part parts[] = {
      {"certificate", data, len, "certificate.crt"},
      {"alias", alias, strlen(alias), NULL},
      {"tier", tier, strlen(tier), NULL},
      {"apiId", id, strlen(id), NULL}, /* a collection of its own names the API in the form */
  };
  size_t count = gh_profile_cert_paths(s->cfg.profile)->client_certs ? 4 : 3;
  int rc = admin(s, "POST", path, NULL, parts, count, r, why, why_len);
  free(path);
  return rc;
}

static int sim_delete_client_cert(gh_driver *d, const char *api, const char *alias,
                                  gh_admin_result *r, char *why, size_t why_len) {
  memset(r, 0, sizeof(*r));
  char *path = client_cert_path(d->impl, api, alias);
  if (!path)
    return gu_fail(why, why_len, "out of memory");
  int rc = admin(d->impl, "DELETE", path, NULL, NULL, 0, r, why, why_len);
  free(path);
  return rc;
}

/* A string member of a JSON body, into out; 0 when there. */
static int body_string(const char *body, const char *key, char *out, size_t out_len) {
  json_t *j = json_loads(body ? body : "", 0, NULL);
  const char *v = json_string_value(json_object_get(j, key));
  int rc = v && (size_t)snprintf(out, out_len, "%s", v) < out_len ? 0 : -1;
  json_decref(j);
  return rc;
}

/* The application's id, creating it and mapping its keys on first use; r
 * holds the answer that was not 2xx (and *id is ""), else nothing. */
static int application(sim_driver *s, const char *name, const char *key_manager, char *id,
                       size_t id_len, gh_admin_result *r, char *why, size_t why_len) {
  id[0] = '\0';
  memset(r, 0, sizeof(*r));
  for (size_t i = 0; i < s->app_count; i++)
    if (strcmp(s->apps[i].name, name) == 0) {
      snprintf(id, id_len, "%s", s->apps[i].id);
      return 0;
    }
  if (s->app_count == MAX_APIS)
    return gu_fail(why, why_len, "more than %d applications in a case", MAX_APIS);
  if (admin_json(s, "POST", APPS_PATH,
                 json_pack("{s:s, s:s}", "name", name, "throttlingPolicy", "Unlimited"), r, why,
                 why_len) != 0)
    return -1;
  if (r->status != 201)
    return 0;
  char app_id[64];
  if (body_string(r->body, "applicationId", app_id, sizeof(app_id)) != 0)
    return gu_fail(why, why_len, "creating application %s: 201 without an applicationId", name);
  gh_admin_result_free(r);
  char path[256];
  snprintf(path, sizeof(path), "%s/%s/map-keys", APPS_PATH, app_id);
  if (admin_json(s, "POST", path,
                 json_pack("{s:s, s:s, s:s}", "consumerKey", name, "keyType", "PRODUCTION",
                           "keyManager", key_manager),
                 r, why, why_len) != 0)
    return -1;
  if (r->status < 200 || r->status > 299)
    return 0;
  gh_admin_result_free(r);
  api_id *slot = &s->apps[s->app_count++];
  snprintf(slot->name, sizeof(slot->name), "%s", name);
  snprintf(slot->id, sizeof(slot->id), "%s", app_id);
  snprintf(id, id_len, "%s", app_id);
  return 0;
}

static int sim_subscribe(gh_driver *d, const char *app, const char *api, const char *tier,
                         const char *key_manager, gh_admin_result *r, char *why, size_t why_len) {
  sim_driver *s = d->impl;
  char app_id[64];
  if (application(s, app, key_manager, app_id, sizeof(app_id), r, why, why_len) != 0)
    return -1;
  if (!app_id[0])
    return 0; /* r: the answer that was not 2xx */
  json_t *body = json_pack("{s:s, s:s, s:s}", "applicationId", app_id, "apiId", api_id_of(s, api),
                           "throttlingPolicy", tier);
  return admin_json(s, "POST", SUBS_PATH, body, r, why, why_len);
}

static int sim_reload(gh_driver *d, char *why, size_t why_len) {
  gh_admin_result r;
  if (admin(d->impl, "POST", "/_sim/reload", NULL, NULL, 0, &r, why, why_len) != 0)
    return -1;
  long status = r.status;
  gh_admin_result_free(&r);
  return status == 200 ? 0 : gu_fail(why, why_len, "/_sim/reload answered %ld", status);
}

/* The simulator's log; with a load balancer in front, its error log's tail
 * after a "--- load balancer ---" line (a quarter of max at most). */
static char *sim_log_tail(gh_driver *d, size_t max) {
  sim_driver *s = d->impl;
  char *lb = s->lb ? gh_front_lb_log_tail(s->lb, max / 4) : NULL;
  size_t lb_len = lb ? strlen(lb) + 32 : 0;
  char *gw = gh_driver_file_tail(s->cur->stderr_path, max > lb_len ? max - lb_len : 0);
  if (!lb)
    return gw;
  size_t len = (gw ? strlen(gw) : 0) + lb_len + 1;
  char *out = malloc(len);
  if (out)
    snprintf(out, len, "%s\n--- load balancer ---\n%s", gw ? gw : "", lb);
  free(gw);
  free(lb);
  return out;
}

/* The reload clocks /_sim/status reports: each clock's next tick and its
 * interval (sender.next_ticks_ms and interval_s, listener.profile's, and
 * listener.truststore's period_s). Asked right after the start, the next tick
 * is the first; a clock with no interval is left out. */
static int sim_clock_schedule(gh_driver *d, gh_clock_schedule *out, char *why, size_t why_len) {
  sim_driver *s = d->impl;
  gh_admin_result r;
  if (admin(s, "GET", "/_sim/status", NULL, NULL, 0, &r, why, why_len) != 0)
    return -1;
  json_t *status = json_loads(r.body ? r.body : "", 0, NULL);
  gh_admin_result_free(&r);
  json_t *listener = json_object_get(status, "listener");
  const struct {
    const char *name;
    json_t *clock;
    const char *interval;
  } clocks[GH_MAX_CLOCKS] = {
      {"sender", json_object_get(status, "sender"), "interval_s"},
      {"listener", json_object_get(listener, "profile"), "interval_s"},
      {"truststore", json_object_get(listener, "truststore"), "period_s"},
  };
  int n = 0;
  for (size_t i = 0; i < GH_MAX_CLOCKS; i++) {
    json_int_t interval = json_integer_value(json_object_get(clocks[i].clock, clocks[i].interval));
    json_t *next = json_array_get(json_object_get(clocks[i].clock, "next_ticks_ms"), 0);
    if (interval > 0 && json_is_integer(next))
      out[n++] = (gh_clock_schedule){.name = clocks[i].name,
                                     .first_ms = (int64_t)json_integer_value(next),
                                     .interval_ms = (int64_t)interval * 1000};
  }
  int ok = status != NULL;
  json_decref(status);
  return ok ? n : gu_fail(why, why_len, "/_sim/status: no JSON");
}

static const char *const *sim_secrets(gh_driver *d) { return ((sim_driver *)d->impl)->secrets; }

static void sim_free(void *impl) {
  sim_driver *s = impl;
  free(s->bin);
  free(s);
}

static void sim_destroy(gh_driver *d) { gh_driver_destroy_with(d, sim_free); }

static const gh_driver_ops sim_ops = {
    .name = "sim",
    .caps = GH_CAP_RUNTIME_BACKEND_TRUST | GH_CAP_DEFERRED_RELOAD_SCHEDULE | GH_CAP_BACKEND_MTLS |
            GH_CAP_HOSTNAME_VERIFIER | GH_CAP_ADMIN_VALIDATION | GH_CAP_OFF_SCHEDULE_RELOAD |
            GH_CAP_RESTART_KEEPS_STATE | GH_CAP_FAULT_CODES | GH_CAP_XML_FAULTS |
            GH_CAP_BASE_TRUST_STORE | GH_CAP_CLIENT_MTLS | GH_CAP_OAUTH2 | GH_CAP_HEADER_MODE |
            GH_CAP_HEADER_CERT_DECODE | GH_CAP_THROTTLING | GH_CAP_LISTENER_RELOAD_SCHEDULE |
            GH_CAP_AUTH_FAULT_CODES | GH_CAP_LB_IN_FRONT | GH_CAP_FAKE_CLOCK | GH_CAP_QUIRKS |
            GH_CAP_SAP_OBJECTS | GH_CAP_CLUSTER,
    .start = sim_start,
    .stop = sim_stop,
    .restart = sim_restart,
    .https_port = sim_https_port,
    .start_ms = sim_start_ms,
    .clock_sync = sim_clock_sync,
    .create_api = sim_create_api,
    .delete_api = sim_delete_api,
    .redeploy_api = sim_redeploy_api,
    .upload_cert = sim_upload_cert,
    .replace_cert = sim_replace_cert,
    .delete_cert = sim_delete_cert,
    .reload = sim_reload,
    .add_key_manager = sim_add_key_manager,
    .upload_client_cert = sim_upload_client_cert,
    .delete_client_cert = sim_delete_client_cert,
    .subscribe = sim_subscribe,
    .sap_object = sim_sap_object,
    .front_port = sim_front_port,
    .front_rejects = gh_front_lb_rejects,
    .log_tail = sim_log_tail,
    .clock_schedule = sim_clock_schedule,
    .start_node = sim_start_node,
    .use_node = sim_use_node,
    .secrets = sim_secrets,
    .destroy = sim_destroy,
};

gh_driver *gh_driver_sim_new(const char *sim_bin, const char *const *extra_args) {
  gh_driver *d = calloc(1, sizeof(*d));
  sim_driver *s = calloc(1, sizeof(*s));
  char *bin = sim_bin ? strdup(sim_bin) : NULL;
  if (!d || !s || !bin) {
    free(d);
    free(s);
    free(bin);
    return NULL;
  }
  /* One password per driver, made before any worker forks, so the reports
   * (written by the parent) know what to redact. */
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof(raw)) != 1) {
    free(d);
    free(s);
    free(bin);
    return NULL;
  }
  for (size_t i = 0; i < sizeof(raw); i++)
    snprintf(s->password + 2 * i, 3, "%02x", raw[i]);
  snprintf(s->userpwd, sizeof(s->userpwd), "gatecert:%s", s->password);
  s->secrets[0] = s->password;
  s->secrets[1] = NULL;
  gh_nginx_user_line(s->user_line, sizeof(s->user_line));
  for (size_t i = 0; extra_args && extra_args[i] && i < MAX_EXTRA; i++)
    s->extra[i] = extra_args[i];
  s->bin = bin;
  s->cur = &s->nodes[0];
  d->ops = &sim_ops;
  d->impl = s;
  return d;
}
