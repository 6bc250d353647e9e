/* simconfig.c - gatecert-sim's --config JSON from a gateway config (simconfig.h).
 *
 * settings[] is the table of the scalar settings: each row names the JSON
 * section (NULL: the top level) and key, the field's offset in
 * gh_gateway_spec and in gh_gateway_config, and its kind, which says when the
 * value is set and how it is written (durations in ms become whole seconds,
 * at least 1; tri-states -1/0/1 become booleans). A section row (key NULL)
 * is the flag that writes its section even when empty (mutual_ssl,
 * throttling); a section without one (listener) is written when a setting
 * of it is. The lists (SSL profiles, trusted load balancers, tiers) are
 * written by code after the table's settings of their section; so are the
 * quirks (the scenario's top-level list, "quirks" at the top level).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gutil.h"
#include "simconfig.h"

typedef enum kind {
  SECTION,    /* int: 1 writes the section, 0 leaves it out whatever it holds */
  WORD,       /* const char *: written when not NULL */
  SECONDS,    /* int64_t ms, -1 unset: whole seconds (at least 1 unless 0) */
  SECONDS_GT, /* int64_t ms, 0 the default: whole seconds (at least 1) when > 0 */
  MS_GT,      /* int64_t ms, 0 the default: ms when > 0 */
  TRISTATE,   /* int -1 unset, 0, 1: a boolean */
} kind;

typedef struct setting {
  const char *section; /* NULL: top level */
  const char *key;     /* NULL: the section's flag */
  kind kind;
  size_t spec; /* offset in gh_gateway_spec */
  size_t cfg;  /* offset in gh_gateway_config */
} setting;

#define ROW(section, key, kind, field)                                                             \
  { section, key, kind, offsetof(gh_gateway_spec, field), offsetof(gh_gateway_config, field) }

static const setting settings[] = {
    ROW(NULL, "sender_reload_interval", SECONDS_GT, sender_reload_interval_ms),
    ROW(NULL, "fault_format", WORD, fault_format),
    ROW(NULL, "backend_timeout_ms", MS_GT, backend_timeout_ms),
    ROW(NULL, "backend_keepalive", TRISTATE, upstream_keepalive), /* pooled backend connections */
    ROW("listener", "verify_client", WORD, verify_client),
    ROW("listener", "profile_reload_interval", SECONDS, profile_reload_interval_ms),
    ROW("listener", "truststore_reload_period", SECONDS, truststore_reload_period_ms),
    ROW("listener", "truststore_initial_delay", SECONDS, truststore_initial_delay_ms),
    ROW("listener", "certificate_match", WORD, certificate_match),
    ROW("listener", "chain_validation", TRISTATE, chain_validation),
    ROW("mutual_ssl", NULL, SECTION, has_mutual_ssl),
    ROW("mutual_ssl", "certificate_header", WORD, certificate_header),
    ROW("mutual_ssl", "client_certificate_encode", TRISTATE, header_encode),
    ROW("mutual_ssl", "enable_client_validation", TRISTATE, client_validation),
    ROW("throttling", NULL, SECTION, has_throttling),
    ROW("throttling", "per_certificate", TRISTATE, per_certificate),
};
#define SETTING_COUNT (sizeof(settings) / sizeof(settings[0]))

/* The sections after ssl_profiles and default_profile, in their order. */
static const char *const sections[] = {"listener", "mutual_ssl", "throttling"};

static int same_section(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

static size_t field_size(kind k) {
  switch (k) {
  case WORD:
    return sizeof(const char *);
  case SECTION:
  case TRISTATE:
    return sizeof(int);
  default:
    return sizeof(int64_t);
  }
}

void gh_simconfig_from_spec(gh_gateway_config *cfg, const gh_gateway_spec *spec) {
  for (size_t i = 0; i < SETTING_COUNT; i++)
    memcpy((char *)cfg + settings[i].cfg, (const char *)spec + settings[i].spec,
           field_size(settings[i].kind));
  cfg->quirks = (const char *const *)spec->quirks; /* the top-level quirks: list */
  cfg->quirk_count = spec->quirk_count;
}

/* Whole seconds of a duration in ms, at least 1 unless 0 (a config takes
 * whole seconds). */
static json_t *seconds(int64_t ms) {
  int64_t s = ms / 1000;
  return json_integer(s > 0 || ms == 0 ? s : 1);
}

/* The value of a row in cfg, or NULL when not set. */
static json_t *value(const setting *s, const gh_gateway_config *cfg) {
  const char *at = (const char *)cfg + s->cfg;
  int64_t ms = 0;
  int flag = 0;
  if (s->kind == WORD) {
    const char *word;
    memcpy(&word, at, sizeof(word));
    return word ? json_string(word) : NULL;
  }
  if (s->kind == TRISTATE) {
    memcpy(&flag, at, sizeof(flag));
    return flag >= 0 ? json_boolean(flag) : NULL;
  }
  memcpy(&ms, at, sizeof(ms));
  if (s->kind == SECONDS)
    return ms >= 0 ? seconds(ms) : NULL;
  if (s->kind == SECONDS_GT)
    return ms > 0 ? seconds(ms) : NULL;
  return ms > 0 ? json_integer(ms) : NULL; /* MS_GT */
}

/* The table's settings of one section into obj: -1 when the section has a
 * flag that is off (obj is then not written), 1 when it has one that is on
 * (written even when empty), 0 when it has none (written when not empty). */
static int put_settings(json_t *obj, const char *section, const gh_gateway_config *cfg) {
  int flagged = 0;
  for (size_t i = 0; i < SETTING_COUNT; i++) {
    const setting *s = &settings[i];
    if (!same_section(s->section, section))
      continue;
    if (s->kind == SECTION) {
      int on;
      memcpy(&on, (const char *)cfg + s->cfg, sizeof(on));
      if (!on)
        return -1;
      flagged = 1;
      continue;
    }
    json_t *v = value(s, cfg);
    if (v)
      json_object_set_new(obj, s->key, v);
  }
  return flagged;
}

static json_t *path_json(const char *path, unsigned flags) {
  char *real = flags & GH_SIMCONFIG_ABSOLUTE_PATHS ? realpath(path, NULL) : NULL;
  json_t *s = json_string(real ? real : path);
  free(real);
  return s;
}

static json_t *profile_json(const gh_driver_profile *p, int is_default, unsigned flags) {
  json_t *o = json_object();
  if (!is_default) {
    char server[300];
    snprintf(server, sizeof(server), "%s:%d", p->host, p->port);
    json_object_set_new(o, "servers", json_pack("[s]", server));
  }
  if (p->trust_pem)
    json_object_set_new(o, "trust_store", path_json(p->trust_pem, flags));
  if (p->key_pem && strcmp(p->key_pem, "none") == 0)
    json_object_set_new(o, "key_store", json_null());
  else if (p->key_pem)
    json_object_set_new(o, "key_store", path_json(p->key_pem, flags));
  if (p->verifier)
    json_object_set_new(o, "hostname_verifier", json_string(p->verifier));
  return o;
}

/* The lists that follow a section's settings. */
static void put_lists(json_t *obj, const char *section, const gh_gateway_config *c) {
  if (strcmp(section, "mutual_ssl") == 0 && c->trusted_lb_count > 0) {
    json_t *pins = json_array();
    for (size_t i = 0; i < c->trusted_lb_count && i < GH_MAX_LB; i++)
      json_array_append_new(pins, json_string(c->trusted_lb_sha256[i]));
    json_object_set_new(obj, "trusted_load_balancers", pins);
  } else if (strcmp(section, "throttling") == 0 && c->tier_count > 0) {
    json_t *tiers = json_array();
    for (size_t i = 0; i < c->tier_count && i < GH_MAX_DRIVER_TIERS; i++)
      json_array_append_new(tiers, json_pack("{s:s, s:I, s:I}", "name", c->tiers[i].name,
                                             "requests", (json_int_t)c->tiers[i].requests,
                                             "window_seconds", (json_int_t)c->tiers[i].window_s));
    json_object_set_new(obj, "tiers", tiers);
  }
}

json_t *gh_simconfig_json(const gh_gateway_config *c, unsigned flags) {
  json_t *root = json_object();
  if (!root)
    return NULL;
  put_settings(root, NULL, c);
  json_t *profiles = json_array();
  for (size_t i = 0; i < c->profile_count && i < GH_MAX_PROFILES; i++)
    json_array_append_new(profiles, profile_json(&c->profiles[i], 0, flags));
  json_object_set_new(root, "ssl_profiles", profiles);
  if (c->has_default_profile)
    json_object_set_new(root, "default_profile", profile_json(&c->default_profile, 1, flags));
  if (c->quirk_count > 0) { /* the reported bugs to turn on (gatecert-sim --quirk) */
    json_t *quirks = json_array();
    for (size_t i = 0; i < c->quirk_count; i++)
      json_array_append_new(quirks, json_string(c->quirks[i]));
    json_object_set_new(root, "quirks", quirks);
  }
  for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
    json_t *obj = json_object();
    int mode = put_settings(obj, sections[i], c);
    if (mode >= 0)
      put_lists(obj, sections[i], c);
    if (mode == 1 || (mode == 0 && json_object_size(obj) > 0))
      json_object_set_new(root, sections[i], obj);
    else
      json_decref(obj);
  }
  return root;
}

int gh_simconfig_write(const gh_gateway_config *cfg, const char *path, char *why, size_t why_len) {
  json_t *root = gh_simconfig_json(cfg, GH_SIMCONFIG_ABSOLUTE_PATHS);
  int rc = root ? json_dump_file(root, path, JSON_INDENT(2)) : -1;
  json_decref(root);
  if (rc != 0)
    snprintf(why, why_len, "cannot write %s", path);
  return rc == 0 ? 0 : -1;
}
