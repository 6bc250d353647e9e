/* test_simconfig.c - harness/simconfig.h, the one writer of gatecert-sim's
 * --config JSON: a scenario's settings copied by the table
 * (gh_simconfig_from_spec) and written in the simulator's schema and order;
 * nothing written for what is not set; durations as whole seconds (at least
 * 1); a section with a flag written even when empty and left out, whatever
 * it holds, when the flag is off; paths as given or absolute. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "simconfig.h"

/* A spec with nothing set, as the scenario loader leaves it. */
static gh_gateway_spec unset_spec(void) {
  gh_gateway_spec g;
  memset(&g, 0, sizeof(g));
  g.profile_reload_interval_ms = -1;
  g.truststore_reload_period_ms = -1;
  g.truststore_initial_delay_ms = -1;
  g.chain_validation = -1;
  g.header_encode = -1;
  g.client_validation = -1;
  g.per_certificate = -1;
  g.upstream_keepalive = -1;
  return g;
}

static void assert_json(const gh_gateway_config *cfg, unsigned flags, const char *want) {
  json_t *root = gh_simconfig_json(cfg, flags);
  assert_non_null(root);
  char *text = json_dumps(root, JSON_COMPACT);
  assert_non_null(text);
  assert_string_equal(text, want);
  free(text);
  json_decref(root);
}

static void test_nothing_set(void **state) {
  (void)state;
  gh_gateway_spec g = unset_spec();
  gh_gateway_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  gh_simconfig_from_spec(&cfg, &g);
  assert_json(&cfg, 0, "{\"ssl_profiles\":[]}");
}

static void test_every_setting(void **state) {
  (void)state;
  gh_gateway_spec g = unset_spec();
  g.sender_reload_interval_ms = 600000;
  g.fault_format = "xml";
  g.backend_timeout_ms = 2000;
  g.upstream_keepalive = 0;
  g.verify_client = "optional";
  g.profile_reload_interval_ms = 600000;
  g.truststore_reload_period_ms = 500; /* under a second: 1 */
  g.truststore_initial_delay_ms = 0;
  g.certificate_match = "serial_issuer";
  g.chain_validation = 0;
  g.has_mutual_ssl = 1;
  g.certificate_header = "X-Cert";
  g.header_encode = 1;
  g.client_validation = 0;
  g.has_throttling = 1;
  g.per_certificate = 1;
  char *quirks[] = {"deleted-alias-taken", "some-other-quirk"};
  g.quirks = quirks;
  g.quirk_count = 2;
  gh_gateway_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  gh_simconfig_from_spec(&cfg, &g);
  cfg.profile_count = 1;
  cfg.profiles[0] = (gh_driver_profile){.host = "localhost",
                                        .port = 8443,
                                        .trust_pem = "t.pem",
                                        .key_pem = "none",
                                        .verifier = "Strict"};
  cfg.has_default_profile = 1;
  cfg.default_profile = (gh_driver_profile){.key_pem = "k.pem"};
  snprintf(cfg.trusted_lb_sha256[0], sizeof(cfg.trusted_lb_sha256[0]), "%s", "ab12");
  cfg.trusted_lb_count = 1;
  cfg.tiers[0] = (gh_driver_tier){.name = "Gold", .requests = 3, .window_s = 60};
  cfg.tier_count = 1;
  assert_json(
      &cfg, 0,
      "{\"sender_reload_interval\":600,\"fault_format\":\"xml\",\"backend_timeout_ms\":2000,"
      "\"backend_keepalive\":false,"
      "\"ssl_profiles\":[{\"servers\":[\"localhost:8443\"],\"trust_store\":\"t.pem\","
      "\"key_store\":null,\"hostname_verifier\":\"Strict\"}],"
      "\"default_profile\":{\"key_store\":\"k.pem\"},"
      "\"quirks\":[\"deleted-alias-taken\",\"some-other-quirk\"],"
      "\"listener\":{\"verify_client\":\"optional\",\"profile_reload_interval\":600,"
      "\"truststore_reload_period\":1,\"truststore_initial_delay\":0,"
      "\"certificate_match\":\"serial_issuer\",\"chain_validation\":false},"
      "\"mutual_ssl\":{\"certificate_header\":\"X-Cert\",\"client_certificate_encode\":true,"
      "\"enable_client_validation\":false,\"trusted_load_balancers\":[\"ab12\"]},"
      "\"throttling\":{\"per_certificate\":true,"
      "\"tiers\":[{\"name\":\"Gold\",\"requests\":3,\"window_seconds\":60}]}}");
}

/* mutual_ssl and throttling follow their flag; listener its settings. */
static void test_section_flags(void **state) {
  (void)state;
  gh_gateway_spec g = unset_spec();
  g.has_mutual_ssl = 1;
  g.certificate_header = NULL;
  g.per_certificate = 1; /* throttling's flag is off: not written */
  gh_gateway_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  gh_simconfig_from_spec(&cfg, &g);
  assert_json(&cfg, 0, "{\"ssl_profiles\":[],\"mutual_ssl\":{}}");
}

/* Paths as given, or absolute (a relative path that exists here). */
static void test_paths(void **state) {
  (void)state;
  gh_gateway_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  gh_gateway_spec g = unset_spec();
  gh_simconfig_from_spec(&cfg, &g);
  cfg.has_default_profile = 1;
  cfg.default_profile.trust_pem = ".";
  assert_json(&cfg, 0, "{\"ssl_profiles\":[],\"default_profile\":{\"trust_store\":\".\"}}");
  json_t *root = gh_simconfig_json(&cfg, GH_SIMCONFIG_ABSOLUTE_PATHS);
  const char *path =
      json_string_value(json_object_get(json_object_get(root, "default_profile"), "trust_store"));
  assert_non_null(path);
  assert_true(path[0] == '/');
  json_decref(root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nothing_set),
      cmocka_unit_test(test_every_setting),
      cmocka_unit_test(test_section_flags),
      cmocka_unit_test(test_paths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
