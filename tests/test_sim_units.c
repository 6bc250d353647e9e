/* test_sim_units.c - the simulator's pure rules, without a process.
 *
 * The reload schedule (fixed ticks from start: which tick is due after a
 * clock step, how many ticks one step passes, the next ticks) and WSO2's
 * hostname verifiers (which names are checked and how wildcards match),
 * checked against certificates made by certs/ with X509_check_host - the
 * same call OpenSSL makes during a backend handshake. The security chain's
 * decision (every flag set x certificate x token, worked out by hand from
 * WSO2's rules) and the throttle counters (fixed windows, a bounded table).
 */
#include "support.h"

#include <string.h>

#include <openssl/x509v3.h>

#include "security.h"
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

/* ---- the security chain (security.h) ------------------------------------- */

/* Flags of an API, in the order of the table's first column. */
#define F_M  GSIM_SEC_MUTUALSSL
#define F_MM GSIM_SEC_MUTUALSSL_MANDATORY
#define F_O  GSIM_SEC_OAUTH2
#define F_OM GSIM_SEC_OAUTH_BASIC_APIKEY_M

typedef struct chain_row {
  unsigned flags;
  gsim_cert_state cert;
  /* expected per token: OK, MISSING, INVALID, FORBIDDEN.
   * "M": passes on the certificate (throttled by it), "O": passes on the token,
   * a number: the fault code. Worked out by hand from WSO2's rules. */
  const char *expect[4];
} chain_row;

#define VALID   GSIM_CERT_VALID
#define ABSENT  GSIM_CERT_ABSENT
#define UNKNOWN GSIM_CERT_UNKNOWN
#define BADHDR  GSIM_CERT_BAD_HEADER
/* No mutualssl: the token alone decides (OAuth2 is added when absent, and is
 * mandatory), whatever the certificate. */
#define OAUTH_ONLY                                                                                 \
  { "O", "900902", "900901", "900908" }
/* mTLS mandatory and alone: the certificate alone decides. */
#define CERT_PASS                                                                                  \
  { "M", "M", "M", "M" }
#define CERT_FAIL                                                                                  \
  { "900901", "900901", "900901", "900901" }

static const chain_row chain_table[] = {
    /* no flag at all: WSO2's default oauth2 + mandatory */
    {0, VALID, OAUTH_ONLY},
    {0, ABSENT, OAUTH_ONLY},
    {0, UNKNOWN, OAUTH_ONLY},
    {F_OM, VALID, OAUTH_ONLY},
    {F_OM, ABSENT, OAUTH_ONLY},
    {F_OM, UNKNOWN, OAUTH_ONLY},
    {F_O, VALID, OAUTH_ONLY},
    {F_O, ABSENT, OAUTH_ONLY},
    {F_O, UNKNOWN, OAUTH_ONLY},
    {F_O | F_OM, VALID, OAUTH_ONLY},
    {F_O | F_OM, ABSENT, OAUTH_ONLY},
    {F_O | F_OM, UNKNOWN, OAUTH_ONLY},
    /* mutualssl_mandatory without mutualssl: no mTLS authenticator at all */
    {F_MM, VALID, OAUTH_ONLY},
    {F_MM, ABSENT, OAUTH_ONLY},
    {F_MM, UNKNOWN, OAUTH_ONLY},
    {F_MM | F_OM, VALID, OAUTH_ONLY},
    {F_MM | F_OM, ABSENT, OAUTH_ONLY},
    {F_MM | F_OM, UNKNOWN, OAUTH_ONLY},
    {F_MM | F_O, VALID, OAUTH_ONLY},
    {F_MM | F_O, ABSENT, OAUTH_ONLY},
    {F_MM | F_O, UNKNOWN, OAUTH_ONLY},
    {F_MM | F_O | F_OM, VALID, OAUTH_ONLY},
    {F_MM | F_O | F_OM, ABSENT, OAUTH_ONLY},
    {F_MM | F_O | F_OM, UNKNOWN, OAUTH_ONLY},
    /* mutualssl without oauth2: mTLS becomes mandatory, the token is never read */
    {F_M, VALID, CERT_PASS},
    {F_M, ABSENT, CERT_FAIL},
    {F_M, UNKNOWN, CERT_FAIL},
    {F_M | F_OM, VALID, CERT_PASS},
    {F_M | F_OM, ABSENT, CERT_FAIL},
    {F_M | F_OM, UNKNOWN, CERT_FAIL},
    {F_M | F_MM, VALID, CERT_PASS},
    {F_M | F_MM, ABSENT, CERT_FAIL},
    {F_M | F_MM, UNKNOWN, CERT_FAIL},
    {F_M | F_MM | F_OM, VALID, CERT_PASS},
    {F_M | F_MM | F_OM, ABSENT, CERT_FAIL},
    {F_M | F_MM | F_OM, UNKNOWN, CERT_FAIL},
    /* mutualssl + oauth2, neither mandatory: seed 003's table (the exception) */
    {F_M | F_O, VALID, {"M", "M", "M", "M"}},                  /* token ignored */
    {F_M | F_O, ABSENT, {"O", "900902", "900901", "900908"}},  /* token decides */
    {F_M | F_O, UNKNOWN, {"O", "900901", "900901", "900908"}}, /* cert sent, failed */
    /* mTLS optional, OAuth2 mandatory: the token decides, even with a good cert */
    {F_M | F_O | F_OM, VALID, {"O", "900902", "900901", "900908"}},
    {F_M | F_O | F_OM, ABSENT, {"O", "900902", "900901", "900908"}},
    {F_M | F_O | F_OM, UNKNOWN, {"O", "900902", "900901", "900908"}},
    /* mTLS mandatory, OAuth2 optional: a good cert is enough (a good token is
     * still read and then identifies the caller); no good cert stops the chain */
    {F_M | F_MM | F_O, VALID, {"O", "M", "M", "M"}},
    {F_M | F_MM | F_O, ABSENT, CERT_FAIL},
    {F_M | F_MM | F_O, UNKNOWN, CERT_FAIL},
    /* both mandatory: both needed; the certificate is checked first */
    {F_M | F_MM | F_O | F_OM, VALID, {"O", "900902", "900901", "900908"}},
    {F_M | F_MM | F_O | F_OM, ABSENT, CERT_FAIL},
    {F_M | F_MM | F_O | F_OM, UNKNOWN, CERT_FAIL},
    /* an undecodable load balancer header: 900900 when it stops the chain */
    {F_M, BADHDR, {"900900", "900900", "900900", "900900"}},
    {F_M | F_MM | F_O, BADHDR, {"900900", "900900", "900900", "900900"}},
    {F_M | F_MM | F_O | F_OM, BADHDR, {"900900", "900900", "900900", "900900"}},
    {F_M | F_O | F_OM, BADHDR, {"O", "900902", "900901", "900908"}},
    {F_M | F_O, BADHDR, {"O", "900900", "900901", "900908"}},
    {F_O, BADHDR, OAUTH_ONLY},
};

static const char *chain_outcome(const gsim_chain_decision *d, char buf[16]) {
  if (d->pass)
    return d->by == GSIM_BY_MTLS ? "M" : d->by == GSIM_BY_OAUTH ? "O" : "?";
  snprintf(buf, 16, "%d", d->code);
  return buf;
}

static void test_security_chain_table(void **state) {
  (void)state;
  static const gsim_oauth_status tokens[4] = {GSIM_OAUTH_OK, GSIM_OAUTH_MISSING, GSIM_OAUTH_INVALID,
                                              GSIM_OAUTH_FORBIDDEN};
  size_t checked = 0;
  for (size_t i = 0; i < sizeof(chain_table) / sizeof(chain_table[0]); i++) {
    const chain_row *r = &chain_table[i];
    for (size_t t = 0; t < 4; t++) {
      gsim_chain_decision d;
      gsim_chain_decide(r->flags, r->cert, tokens[t], &d);
      char buf[16];
      const char *got = chain_outcome(&d, buf);
      if (strcmp(got, r->expect[t]) != 0)
        fail_msg("row %zu (flags 0x%x, cert %d, token %zu): %s, expected %s", i, r->flags,
                 (int)r->cert, t, got, r->expect[t]);
      if (!d.pass) {
        int want = d.code == 900908 ? 403 : d.code == 900900 ? 500 : 401;
        assert_int_equal(want, d.status);
      }
      checked++;
    }
  }
  assert_int_equal(checked, 4 * (16 * 3 + 6)); /* 16 flag sets x 3 certs, + bad headers */
}

static void test_security_chain_challenges(void **state) {
  (void)state;
  gsim_chain_decision d;
  gsim_chain_decide(F_M | F_O | F_OM, GSIM_CERT_ABSENT, GSIM_OAUTH_MISSING, &d);
  assert_int_equal(GSIM_CHALLENGE_MTLS | GSIM_CHALLENGE_OAUTH, d.challenges);
  assert_true(d.mtls_ran && d.oauth_ran);
  gsim_chain_decide(F_M, GSIM_CERT_ABSENT, GSIM_OAUTH_OK, &d);
  assert_int_equal(GSIM_CHALLENGE_MTLS, d.challenges);
  assert_false(d.oauth_ran); /* the token is never validated for an mTLS-only API */
  gsim_chain_decide(0, GSIM_CERT_VALID, GSIM_OAUTH_MISSING, &d);
  assert_int_equal(GSIM_CHALLENGE_OAUTH, d.challenges);
  assert_false(d.mtls_ran);
  /* mTLS mandatory and failing stops the chain before OAuth2 */
  gsim_chain_decide(F_M | F_MM | F_O | F_OM, GSIM_CERT_UNKNOWN, GSIM_OAUTH_OK, &d);
  assert_false(d.oauth_ran);
  /* the exception: a valid certificate never reads the token */
  gsim_chain_decide(F_M | F_O, GSIM_CERT_VALID, GSIM_OAUTH_INVALID, &d);
  assert_true(d.legacy_optional);
  assert_false(d.oauth_ran);
  assert_string_equal("Resource forbidden ", gsim_auth_message(900908));
  assert_string_equal("Missing Credentials", gsim_auth_message(900902));
  assert_string_equal("Unclassified Authentication Failure", gsim_auth_message(900900));
}

/* ---- throttle counters (throttle.c) ---------------------------------------- */

static void test_throttle_window(void **state) {
  (void)state;
  gsim_options opt;
  memset(&opt, 0, sizeof(opt));
  gsim sim;
  memset(&sim, 0, sizeof(sim));
  sim.opt = &opt;
  char why[128];
  assert_int_equal(0, gsim_throttle_init(&sim, why, sizeof(why)));
  const gsim_tier *tier = gsim_tier_find(&opt, "10PerMin");
  assert_non_null(tier);
  const int64_t start = 1893456000000LL; /* 2030-01-01T00:00:00Z */
  int64_t next = 0;
  for (int i = 0; i < 10; i++)
    assert_int_equal(1, gsim_throttle_hit(&sim, "k", tier, start + (int64_t)i * 1000, &next));
  assert_int_equal(0, gsim_throttle_hit(&sim, "k", tier, start + 30000, &next));
  assert_int_equal(start + 60000, next); /* the window runs from the first request */
  assert_int_equal(0, gsim_throttle_hit(&sim, "k", tier, start + 59999, &next));
  assert_int_equal(1, gsim_throttle_hit(&sim, "other", tier, start + 59999, &next));
  assert_int_equal(1, gsim_throttle_hit(&sim, "k", tier, start + 60000, &next)); /* new window */
  char when[40];
  gsim_throttle_format_next(start + 60000, when);
  assert_string_equal("2030-Jan-01 00:01:00+0000 UTC", when);
  /* unlimited uses no counter */
  size_t live = gsim_throttle_count(&sim);
  for (int i = 0; i < 100; i++)
    assert_int_equal(1,
                     gsim_throttle_hit(&sim, "u", gsim_tier_find(&opt, "Unlimited"), start, &next));
  assert_int_equal(live, gsim_throttle_count(&sim));
  /* bounded: 5000 distinct live keys keep at most 4096 counters */
  char key[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(key, sizeof(key), "flood-%d", i);
    assert_int_equal(1, gsim_throttle_hit(&sim, key, tier, start + 60000 + i, &next));
  }
  assert_int_equal(4096, gsim_throttle_count(&sim));
  /* later, every window has expired: a new key evicts them */
  assert_int_equal(1, gsim_throttle_hit(&sim, "late", tier, start + (int64_t)10 * 60000, &next));
  assert_int_equal(1, gsim_throttle_count(&sim));
  /* the config's own tier wins over a built-in of the same name */
  snprintf(opt.tiers[0].name, sizeof(opt.tiers[0].name), "10PerMin");
  opt.tiers[0].requests = 2;
  opt.tiers[0].window_s = 5;
  opt.tier_count = 1;
  assert_int_equal(2, gsim_tier_find(&opt, "10PerMin")->requests);
  gsim_throttle_free(&sim);
  assert_null(sim.throttle);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schedule),
      cmocka_unit_test(test_hostname_verifiers),
      cmocka_unit_test(test_security_chain_table),
      cmocka_unit_test(test_security_chain_challenges),
      cmocka_unit_test(test_throttle_window),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
