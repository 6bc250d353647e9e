/* run_caps.c - the capabilities a case needs, by what it declares and what
 * it uses.
 *
 * A case lists needs: by name (driver.h's capability names); beyond them,
 * implied_capabilities reads its gateway section and steps (listener
 * settings or client certificates: client-mtls; a certificate header:
 * header-mode and, unless url-pem or garbage, header-cert-decode; tokens and
 * subscriptions: oauth2; fault codes in the expectation of the profile run:
 * WSO2's fault codes, the 9009xx of the security chain apart; via: lb;
 * per-API backend TLS; a certificate whose validity starts or ends within the
 * span the clock steps cover: fake-clock;
 * quirks: quirks; gateway.nodes above 1: cluster ...). run_case.c
 * compares the union with the driver's capabilities (skipped: the first
 * missing one named) and with the product's not-applicable table.
 */
#include <string.h>

#include "run_internal.h"

/* A fault code expectation needs WSO2's fault codes: the authentication
 * faults (9009xx, the security chain's) or the rest (101500 backend faults,
 * 900804 throttling). */
static unsigned fault_code_capability(const char *code) {
  if (!code)
    return 0;
  return strncmp(code, "9009", 4) == 0 ? GH_CAP_AUTH_FAULT_CODES : GH_CAP_FAULT_CODES;
}

/* Whether the gateway's own clock decides a verdict: a certificate of the
 * case starts or ends being valid within the span its clock steps (advance,
 * advance_to) cover, CLOCK_MARGIN_MS either side for the real time a case
 * takes. A gateway on the real clock runs a case from the real now
 * (run_case.c) and cannot follow a step, but a step that crosses no validity
 * boundary (WSO2's reload ticks, a token's lifetime, which gatecert-introspect
 * judges on the fake clock) changes nothing it decides. */
#define CLOCK_MARGIN_MS INT64_C(300000)
static int clock_decides(const gh_case_spec *c) {
  int64_t span = 0;
  for (size_t i = 0; i < c->step_count; i++)
    if (c->steps[i].kind == GH_STEP_ADVANCE || c->steps[i].kind == GH_STEP_ADVANCE_TO ||
        c->steps[i].kind == GH_STEP_SWEEP)
      span += c->steps[i].duration_ms; /* an upper bound of the furthest fake time */
  for (size_t i = 0; i < c->pki_count; i++) {
    int64_t from = c->pki[i].not_before_ms, to = c->pki[i].not_after_ms;
    if ((from >= -CLOCK_MARGIN_MS && from <= span + CLOCK_MARGIN_MS) ||
        (to >= -CLOCK_MARGIN_MS && to <= span + CLOCK_MARGIN_MS))
      return 1;
  }
  return 0;
}

/* Capabilities a case needs by what it uses, beyond its needs list. */
static unsigned implied_capabilities(const gh_case_spec *c, const char *profile) {
  const gh_gateway_spec *g = &c->gateway;
  unsigned caps = 0;
  if (g->verify_client || g->profile_reload_interval_ms >= 0 ||
      g->truststore_reload_period_ms >= 0 || g->truststore_initial_delay_ms >= 0 ||
      g->certificate_match || g->chain_validation >= 0)
    caps |= GH_CAP_CLIENT_MTLS;
  if (g->has_mutual_ssl)
    caps |= GH_CAP_HEADER_MODE;
  if (g->nodes > 1)
    caps |= GH_CAP_CLUSTER; /* several nodes: start_node, use_node */
  if (g->has_throttling)
    caps |= GH_CAP_THROTTLING;
  if (g->has_oauth)
    caps |= GH_CAP_OAUTH2;
  for (size_t i = 0; i < c->step_count; i++) {
    const gh_step *s = &c->steps[i];
    if (s->kind == GH_STEP_UPLOAD_CLIENT_CERT || s->kind == GH_STEP_DELETE_CLIENT_CERT ||
        (s->client_cert && strcmp(s->client_cert, "none") != 0))
      caps |= GH_CAP_CLIENT_MTLS;
    if (s->kind == GH_STEP_SUBSCRIBE || s->token.kind == GH_TOKEN_JWT)
      caps |= GH_CAP_OAUTH2;
    if (s->kind >= GH_STEP_SAP_STORE_CERT && s->kind <= GH_STEP_SAP_PROVIDER)
      caps |= GH_CAP_SAP_OBJECTS;
    if (s->header_encoding)
      caps |= GH_CAP_HEADER_MODE;
    /* url-pem is what a load balancer sends and what a gateway can pin
     * exactly; garbage must be refused by any gateway; the rest needs decoding */
    if (s->header_encoding && strcmp(s->header_encoding, "url-pem") != 0 &&
        strcmp(s->header_encoding, "garbage") != 0)
      caps |= GH_CAP_HEADER_CERT_DECODE;
    if (s->via && strcmp(s->via, "lb") == 0)
      caps |= GH_CAP_LB_IN_FRONT;
    if (profile != NULL) { /* the expectation this profile judges by */
      caps |= fault_code_capability(gh_step_expect(s, profile).fault_code);
    } else { /* any profile: every override counts */
      caps |= fault_code_capability(s->expect.fault_code);
      for (size_t k = 0; k < s->override_count; k++)
        caps |= fault_code_capability(s->overrides[k].fault_code);
    }
    for (size_t k = 0; k < s->node_override_count; k++)
      caps |= fault_code_capability(s->node_overrides[k].fault_code);
  }
  if (g->front_lb)
    caps |= GH_CAP_LB_IN_FRONT;
  if (g->quirk_count > 0) /* a product's reported bug: only the simulator can turn one on */
    caps |= GH_CAP_QUIRKS;
  if (clock_decides(c))
    caps |= GH_CAP_FAKE_CLOCK;
  for (size_t i = 0; i < c->api_count; i++)
    if (c->apis[i].backend_trust_count > 0 || c->apis[i].backend_key)
      caps |= GH_CAP_PER_API_BACKEND_TLS;
  return caps;
}

/* Every capability the case needs: its needs list (known names) and what it uses. */
unsigned gh_runner_needed_caps(const gh_case_spec *c, const char *profile) {
  unsigned needed = implied_capabilities(c, profile);
  for (size_t i = 0; i < c->need_count; i++) {
    unsigned cap = 0;
    if (gh_cap_parse(c->needs[i], &cap) == 0)
      needed |= cap;
  }
  return needed;
}

const char *gh_runner_missing_cap(const gh_case_spec *c, const char *profile, unsigned caps) {
  if (c->gateway.quirk_count > 0 && !(caps & GH_CAP_QUIRKS))
    return gh_cap_name(GH_CAP_QUIRKS); /* named first: no other gateway has a WSO2 bug to turn on */
  for (size_t i = 0; i < c->need_count; i++) {
    unsigned cap = 0;
    if (gh_cap_parse(c->needs[i], &cap) != 0 || !(caps & cap))
      return c->needs[i];
  }
  unsigned implied = implied_capabilities(c, profile) & ~caps;
  for (unsigned bit = 1; implied != 0 && bit != 0; bit <<= 1)
    if (implied & bit)
      return gh_cap_name(bit);
  return NULL;
}
