/* test_sim_units.c - the simulator's pure rules, without a process.
 *
 * The reload schedule (fixed ticks from start: which tick is due after a
 * clock step, how many ticks one step passes, the next ticks) and WSO2's
 * hostname verifiers (which names are checked and how wildcards match),
 * checked against certificates made by certs/ with X509_check_host - the
 * same call OpenSSL makes during a backend handshake.
 */
#include "support.h"

#include <string.h>

#include <openssl/x509v3.h>

#include "sim.h"

#define MIN_MS ((int64_t)60 * 1000)

typedef struct schedule_step {
  int64_t now_ms; /* offset from start */
  int64_t passed; /* ticks gsim_schedule_advance reports */
  int64_t next_ms;
} schedule_step;

static void test_schedule(void **state) {
  (void)state;
  static const schedule_step steps[] = {
      {0, 0, 10 * MIN_MS},
      {10 * MIN_MS - 1, 0, 10 * MIN_MS},
      {10 * MIN_MS, 1, 20 * MIN_MS},     /* exactly on the tick */
      {10 * MIN_MS + 5, 0, 20 * MIN_MS}, /* the same tick again: nothing new */
      {45 * MIN_MS, 3, 50 * MIN_MS},     /* ticks at 20, 30, 40 in one step */
      {30 * MIN_MS, 0, 50 * MIN_MS},     /* the clock went back: nothing due */
      {50 * MIN_MS, 1, 60 * MIN_MS},
  };
  const int64_t start = 1893456000000LL;
  gsim_schedule s;
  gsim_schedule_init(&s, start, 10 * MIN_MS);
  for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
    int64_t passed = gsim_schedule_advance(&s, start + steps[i].now_ms);
    if (passed != steps[i].passed)
      fail_msg("step %zu: %lld ticks passed, expected %lld", i, (long long)passed,
               (long long)steps[i].passed);
    assert_int_equal(start + steps[i].next_ms, gsim_schedule_next_ms(&s, start + steps[i].now_ms));
  }
  assert_int_equal(start + 30 * MIN_MS, gsim_schedule_tick_ms(&s, 3));
  gsim_schedule_init(&s, start, 0); /* never divides by zero */
  assert_true(gsim_schedule_advance(&s, start + 5) > 0);
}

typedef struct verifier_case {
  const char *verifier;
  const char *host;
  const char *san; /* DNS SAN of the certificate */
  int checked;     /* the host name is checked at all */
  int matches;     /* X509_check_host with the verifier's flags */
} verifier_case;

static void test_hostname_verifiers(void **state) {
  (void)state;
  static const verifier_case cases[] = {
      {"Strict", "api.example.test", "api.example.test", 1, 1},
      {"Strict", "a.b.example.test", "*.example.test", 1, 0}, /* one label only */
      {"Strict", "b.example.test", "*.example.test", 1, 1},
      {"Strict", "localhost", "wrong.host.invalid", 1, 0},
      {"Default", "a.b.example.test", "*.example.test", 1, 1}, /* several labels */
      {"Default", "localhost", "wrong.host.invalid", 1, 0},
      {"Something", "localhost", "wrong.host.invalid", 1, 0}, /* unknown name = Default */
      {"AllowAll", "api.example.test", "wrong.host.invalid", 0, 1},
      {"DefaultAndLocalhost", "localhost", "wrong.host.invalid", 0, 1},
      {"DefaultAndLocalhost", "127.0.0.1", "wrong.host.invalid", 0, 1},
      {"DefaultAndLocalhost", "::1", "wrong.host.invalid", 0, 1},
      {"DefaultAndLocalhost", "api.example.test", "wrong.host.invalid", 1, 0},
      {"DefaultAndLocalhost", "a.b.example.test", "*.example.test", 1, 1},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const verifier_case *c = &cases[i];
    gcert_spec spec;
    gcert_spec_init(&spec, GCERT_KIND_SERVER);
    spec.subject = "CN=verifier test,O=gatecert";
    spec.dns = &c->san;
    spec.dns_count = 1;
    gcert_item item = {0};
    gcert_error err = {0};
    assert_status(GCERT_OK, gcert_issue(&spec, TEST_REFERENCE, NULL, NULL, &item, &err), &err);
    unsigned flags = 0;
    int checked = gsim_verifier_host_flags(gsim_verifier_parse(c->verifier), c->host, &flags);
    int matches = !checked || X509_check_host(item.cert, c->host, 0, flags, NULL) == 1;
    gcert_item_free(&item);
    if (checked != c->checked || matches != c->matches)
      fail_msg("%s %s vs %s: checked %d matches %d, expected %d %d", c->verifier, c->host, c->san,
               checked, matches, c->checked, c->matches);
  }
  assert_string_equal("DefaultAndLocalhost",
                      gsim_verifier_name(gsim_verifier_parse("DefaultAndLocalhost")));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schedule),
      cmocka_unit_test(test_hostname_verifiers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
