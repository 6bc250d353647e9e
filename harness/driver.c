/* driver.c - what every driver shares: capability names, what does not apply
 * to a product (the not-applicable table), rejection answers, admin results.
 * (The gateway settings in gatecert-sim's --config schema are simconfig.c's;
 * errors, real time and free ports are util's, gutil.h.) */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>

#include "driver.h"
#include "gutil.h"
#include "profile.h"

static const struct {
  unsigned bit;
  const char *name;
} caps[] = {
    {GH_CAP_RUNTIME_BACKEND_TRUST, "runtime-backend-trust"},
    {GH_CAP_DEFERRED_RELOAD_SCHEDULE, "deferred-reload-schedule"},
    {GH_CAP_BACKEND_MTLS, "backend-mtls"},
    {GH_CAP_HOSTNAME_VERIFIER, "hostname-verifier"},
    {GH_CAP_ADMIN_VALIDATION, "admin-validation"},
    {GH_CAP_OFF_SCHEDULE_RELOAD, "off-schedule-reload"},
    {GH_CAP_RESTART_KEEPS_STATE, "restart-keeps-state"},
    {GH_CAP_FAULT_CODES, "fault-codes"},
    {GH_CAP_XML_FAULTS, "xml-faults"},
    {GH_CAP_BASE_TRUST_STORE, "base-trust-store"},
    {GH_CAP_CLIENT_MTLS, "client-mtls"},
    {GH_CAP_OAUTH2, "oauth2"},
    {GH_CAP_HEADER_MODE, "header-mode"},
    {GH_CAP_THROTTLING, "throttling"},
    {GH_CAP_LISTENER_RELOAD_SCHEDULE, "listener-reload-schedule"},
    {GH_CAP_PER_API_BACKEND_TLS, "per-api-backend-tls"},
    {GH_CAP_HEADER_CERT_DECODE, "header-cert-decode"},
    {GH_CAP_LB_IN_FRONT, "lb-in-front"},
    {GH_CAP_AUTH_FAULT_CODES, "auth-fault-codes"},
    {GH_CAP_FAKE_CLOCK, "fake-clock"},
    {GH_CAP_QUIRKS, "quirks"},
    {GH_CAP_SAP_OBJECTS, "sap-objects"},
    {GH_CAP_CLUSTER, "cluster"},
};

/* Backend TLS per API does not exist in either product: WSO2 picks backend
 * trust and identity by host:port (SSL profiles), SAP by API provider. The
 * rule ids are gatecert-sim's (simulator/rules.c), where the sources are. */
const gh_cap_na gh_product_not_applicable[] = {
    {GH_CAP_PER_API_BACKEND_TLS, "wso2", "backend.ssl-profile-per-host-port"},
    {GH_CAP_PER_API_BACKEND_TLS, "sap", "backend.api-provider-per-host-port"},
    {0, NULL, NULL},
};

static const char *const reject_names[GH_REJECT_COUNT] = {NULL, "client-cert", "unauthenticated",
                                                          "backend-tls"};

/* WSO2's answers, as the simulator gives them: an untrusted or missing client
 * certificate fails the handshake, failed authentication is 401 (900901 or
 * 900902, so the code is not fixed here), an untrusted backend 500 101500. */
const gh_reject_answer gh_sim_rejects[GH_REJECT_COUNT] = {
    [GH_REJECT_CLIENT_CERT] = {.tls_alert = 1},
    [GH_REJECT_UNAUTHENTICATED] = {.status = {401}},
    [GH_REJECT_BACKEND_TLS] = {.status = {500}, .fault_code = "101500"},
};

const char *gh_reject_name(gh_reject cls) {
  return (int)cls > 0 && cls < GH_REJECT_COUNT ? reject_names[cls] : NULL;
}

int gh_reject_parse(const char *name, gh_reject *cls) {
  for (int i = 1; i < GH_REJECT_COUNT; i++)
    if (strcmp(reject_names[i], name) == 0) {
      *cls = (gh_reject)i;
      return 0;
    }
  return -1;
}

const gh_reject_answer *gh_driver_reject(const gh_driver_ops *ops, gh_reject cls) {
  if ((int)cls <= 0 || cls >= GH_REJECT_COUNT)
    return NULL;
  return ops->rejects ? &ops->rejects[cls] : &gh_sim_rejects[cls];
}

const gh_reject_answer *gh_driver_reject_via(const gh_driver_ops *ops, gh_reject cls, int via_lb) {
  if ((int)cls <= 0 || cls >= GH_REJECT_COUNT)
    return NULL;
  const gh_reject_answer *front = via_lb && ops->front_rejects ? &ops->front_rejects[cls] : NULL;
  if (front && (front->tls_alert || front->status[0]))
    return front;
  return gh_driver_reject(ops, cls);
}

const gh_cap_na *gh_product_not_applicable_for(unsigned lacking, const char *profile) {
  for (const gh_cap_na *na = gh_product_not_applicable; na->cap; na++)
    if ((lacking & na->cap) && profile && gh_profile_match(na->family, profile) > 0)
      return na;
  return NULL;
}

const char *gh_cap_name(unsigned cap) {
  for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
    if (caps[i].bit == cap)
      return caps[i].name;
  return NULL;
}

int gh_cap_parse(const char *name, unsigned *cap) {
  for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
    if (strcmp(caps[i].name, name) == 0) {
      *cap = caps[i].bit;
      return 0;
    }
  return -1;
}

void gh_driver_destroy_with(gh_driver *d, void (*free_impl)(void *impl)) {
  if (!d)
    return;
  if (d->impl) {
    char why[512];
    d->ops->stop(d, why, sizeof(why));
    free_impl(d->impl);
  }
  free(d);
}

void gh_admin_result_free(gh_admin_result *r) {
  free(r->body);
  r->body = NULL;
}

int gh_admin_answer(gh_admin_result *r, long status, json_t *body) {
  r->status = status;
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  r->body = text ? text : calloc(1, 1);
  return 0;
}

int gh_admin_error(gh_admin_result *r, long status, const char *message, const char *description) {
  return gh_admin_answer(r, status,
                         json_pack("{s:i, s:s, s:s, s:s, s:[]}", "code", (int)status, "message",
                                   message, "description", description, "moreInfo", "", "error"));
}

int gh_sibling_program(const char *relative, char *out, size_t out_len) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0)
    return -1;
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  if (!slash)
    return -1;
  *slash = '\0';
  int len = snprintf(out, out_len, "%s/%s", self, relative);
  if (len < 0 || (size_t)len >= out_len)
    return -1;
  /* Installed (cmake --install, the .deb), the programs share bin/: the same
   * name beside gatecert when the build tree's place has none. */
  const char *base = strrchr(relative, '/');
  if (access(out, X_OK) == 0 || !base)
    return 0;
  len = snprintf(out, out_len, "%s/%s", self, base + 1);
  if (len < 0 || (size_t)len >= out_len)
    return -1;
  if (access(out, X_OK) != 0) /* neither: name the build tree's place, as before */
    snprintf(out, out_len, "%s/%s", self, relative);
  return 0;
}

char *gh_driver_file_tail(const char *path, size_t max) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  long from = size > (long)max ? size - (long)max : 0;
  char *out = size >= 0 && fseek(f, from, SEEK_SET) == 0 ? malloc((size_t)(size - from) + 1) : NULL;
  size_t got = out ? fread(out, 1, (size_t)(size - from), f) : 0;
  if (out)
    out[got] = '\0';
  fclose(f);
  return out;
}
