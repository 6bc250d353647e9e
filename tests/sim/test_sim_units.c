/* test_sim_units.c - the simulator's pure rules, without a process.
 *
 * The reload schedule (fixed ticks from start: which tick is due after a
 * clock step, how many ticks one step passes, the next ticks) and WSO2's
 * hostname verifiers (which names are checked and how wildcards match),
 * checked against certificates made by certs/ with X509_check_host - the
 * same call OpenSSL makes during a backend handshake. The security chain's
 * decision (every flag set x certificate x token, worked out by hand from
 * WSO2's rules) under each profile's rule rows and the --break mutations of
 * the chain's families (priority, both-optional), and the throttle counters
 * (fixed windows, a bounded table, one key counting requests of two tiers as
 * 2.6's throttle key makes it do).
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

/* The rule sets the chain is checked under: each profile, and the --break
 * mutations of the chain's families (the rows the scenarios must catch). */
typedef struct rule_set {
  const char *name;
  gsim_profile profile;
  const char *broken; /* --break NAME, or NULL */
} rule_set;

static const rule_set rule_sets[] = {
    {"wso2-4", GSIM_PROFILE_WSO2_4, NULL},
    {"wso2-2.6", GSIM_PROFILE_WSO2_26, NULL},
    {"sap", GSIM_PROFILE_SAP_2026, NULL},
    {"wso2-4 --break priority", GSIM_PROFILE_WSO2_4, "priority"},
    {"wso2-2.6 --break priority", GSIM_PROFILE_WSO2_26, "priority"},
    {"wso2-4 --break both-optional", GSIM_PROFILE_WSO2_4, "both-optional"},
};
#define RULE_SET_COUNT (sizeof(rule_sets) / sizeof(rule_sets[0]))

/* Bits of rule_sets, for the table's second column. */
#define S4      0x01u
#define S26     0x02u
#define SSAP    0x04u
#define S4_PRIO 0x08u /* wso2-4 with the seed table */
#define S26_PRI 0x10u /* wso2-2.6 with OAuth2 mandatory */
#define S4_BOTH 0x20u /* wso2-4 with "neither" as 900902 */
#define ALL     0x3fu
/* Who reads mutualssl + oauth2 without a flag as OAuth2 mandatory (rule
 * priority.oauth-mandatory) and who as seed 003's table (priority.seed-table). */
#define OAUTH_MANDATORY_SETS (S4 | S26_PRI | S4_BOTH)
#define SEED_TABLE_SETS      (S26 | SSAP | S4_PRIO)
/* Who knows the optional flags (both-optional.either, or its mutant). */
#define EITHER_SETS (S4 | S4_PRIO)

static void resolve_set(const rule_set *set, gsim_rules *rules) {
  char why[256] = "";
  if (gsim_rules_resolve(rules, set->profile, why, sizeof(why)) != 0)
    fail_msg("%s: %s", set->name, why);
  if (set->broken && gsim_rules_break(rules, set->broken, why, sizeof(why)) != 0)
    fail_msg("%s: %s", set->name, why);
}

/* Flags of an API, in the order of the table's first column. */
#define F_M  GSIM_SEC_MUTUALSSL
#define F_MM GSIM_SEC_MUTUALSSL_MANDATORY
#define F_O  GSIM_SEC_OAUTH2
#define F_OM GSIM_SEC_OAUTH_BASIC_APIKEY_M
#define F_MO GSIM_SEC_MUTUALSSL_OPTIONAL
#define F_OO GSIM_SEC_OAUTH_BASIC_APIKEY_O

typedef struct chain_row {
  unsigned flags;
  unsigned sets; /* the rule sets the row holds under */
  gsim_cert_state cert;
  /* expected per token: OK, MISSING, INVALID, FORBIDDEN.
   * "M": passes on the certificate (throttled by it), "O": passes on the token,
   * a number: the fault code. Worked out by hand from WSO2's rules. */
  const char *expect[4];
  const char *rule; /* the rule id that shaped the verdict, or NULL */
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
/* mTLS optional, OAuth2 mandatory: the token decides, even with a good cert. */
#define TOKEN_DECIDES                                                                              \
  { "O", "900902", "900901", "900908" }
/* mutualssl + oauth2 under seed 003's table, per certificate. */
#define SEED_VALID                                                                                 \
  { "M", "M", "M", "M" } /* token ignored */
#define SEED_ABSENT                                                                                \
  { "O", "900902", "900901", "900908" } /* token decides */
#define SEED_UNKNOWN                                                                               \
  { "O", "900901", "900901", "900908" } /* cert sent, failed */
#define SEED_BADHDR                                                                                \
  { "O", "900900", "900901", "900908" }
/* Both optional: either credential passes; neither is the row's code. */
#define EITHER_VALID                                                                               \
  { "O", "M", "M", "M" }
#define EITHER_NONE                                                                                \
  { "O", "900901", "900901", "900901" }
#define EITHER_NONE_MUTANT                                                                         \
  { "O", "900902", "900902", "900902" }
#define EITHER_BADHDR                                                                              \
  { "O", "900900", "900900", "900900" }

#define PRIO_OM "priority.oauth-mandatory"
#define PRIO_ST "priority.seed-table"

/* mutualssl + oauth2 with optional flags (fl): what each rule set makes of
 * them, for the three certificates and an undecodable header. */
#define OPTIONAL_ROWS(fl)                                                                          \
  {fl, EITHER_SETS, VALID, EITHER_VALID, "both-optional.either"},                                  \
      {fl, EITHER_SETS, ABSENT, EITHER_NONE, "both-optional.either"},                              \
      {fl, EITHER_SETS, UNKNOWN, EITHER_NONE, "both-optional.either"},                             \
      {fl, EITHER_SETS, BADHDR, EITHER_BADHDR, "both-optional.either"},                            \
      {fl, S4_BOTH, VALID, EITHER_VALID, "both-optional.mutant"},                                  \
      {fl, S4_BOTH, ABSENT, EITHER_NONE_MUTANT, "both-optional.mutant"},                           \
      {fl, S4_BOTH, UNKNOWN, EITHER_NONE_MUTANT, "both-optional.mutant"},                          \
      {fl, S4_BOTH, BADHDR, EITHER_BADHDR,                                                         \
       "both-optional.mutant"}, /* a version without the flags reads the API without them */       \
      {fl, S26 | SSAP, VALID, SEED_VALID, PRIO_ST},                                                \
      {fl, S26 | SSAP, ABSENT, SEED_ABSENT, PRIO_ST},                                              \
      {fl, S26 | SSAP, UNKNOWN, SEED_UNKNOWN, PRIO_ST},                                            \
      {fl, S26 | SSAP, BADHDR, SEED_BADHDR, PRIO_ST},                                              \
      {fl, S26_PRI, VALID, TOKEN_DECIDES, PRIO_OM}, {fl, S26_PRI, ABSENT, TOKEN_DECIDES, PRIO_OM}, \
      {fl, S26_PRI, UNKNOWN, TOKEN_DECIDES, PRIO_OM}, {                                            \
    fl, S26_PRI, BADHDR, TOKEN_DECIDES, PRIO_OM                                                    \
  }

static const chain_row chain_table[] = {
    /* no flag at all: WSO2's default oauth2 + mandatory */
    {0, ALL, VALID, OAUTH_ONLY, NULL},
    {0, ALL, ABSENT, OAUTH_ONLY, NULL},
    {0, ALL, UNKNOWN, OAUTH_ONLY, NULL},
    {F_OM, ALL, VALID, OAUTH_ONLY, NULL},
    {F_OM, ALL, ABSENT, OAUTH_ONLY, NULL},
    {F_OM, ALL, UNKNOWN, OAUTH_ONLY, NULL},
    {F_O, ALL, VALID, OAUTH_ONLY, NULL},
    {F_O, ALL, ABSENT, OAUTH_ONLY, NULL},
    {F_O, ALL, UNKNOWN, OAUTH_ONLY, NULL},
    {F_O | F_OM, ALL, VALID, OAUTH_ONLY, NULL},
    {F_O | F_OM, ALL, ABSENT, OAUTH_ONLY, NULL},
    {F_O | F_OM, ALL, UNKNOWN, OAUTH_ONLY, NULL},
    /* mutualssl_mandatory without mutualssl: no mTLS authenticator at all */
    {F_MM, ALL, VALID, OAUTH_ONLY, NULL},
    {F_MM, ALL, ABSENT, OAUTH_ONLY, NULL},
    {F_MM, ALL, UNKNOWN, OAUTH_ONLY, NULL},
    {F_MM | F_OM, ALL, VALID, OAUTH_ONLY, NULL},
    {F_MM | F_OM, ALL, ABSENT, OAUTH_ONLY, NULL},
    {F_MM | F_OM, ALL, UNKNOWN, OAUTH_ONLY, NULL},
    {F_MM | F_O, ALL, VALID, OAUTH_ONLY, NULL},
    {F_MM | F_O, ALL, ABSENT, OAUTH_ONLY, NULL},
    {F_MM | F_O, ALL, UNKNOWN, OAUTH_ONLY, NULL},
    {F_MM | F_O | F_OM, ALL, VALID, OAUTH_ONLY, NULL},
    {F_MM | F_O | F_OM, ALL, ABSENT, OAUTH_ONLY, NULL},
    {F_MM | F_O | F_OM, ALL, UNKNOWN, OAUTH_ONLY, NULL},
    /* mutualssl without oauth2: mTLS becomes mandatory, the token is never read */
    {F_M, ALL, VALID, CERT_PASS, NULL},
    {F_M, ALL, ABSENT, CERT_FAIL, NULL},
    {F_M, ALL, UNKNOWN, CERT_FAIL, NULL},
    {F_M | F_OM, ALL, VALID, CERT_PASS, NULL},
    {F_M | F_OM, ALL, ABSENT, CERT_FAIL, NULL},
    {F_M | F_OM, ALL, UNKNOWN, CERT_FAIL, NULL},
    {F_M | F_MM, ALL, VALID, CERT_PASS, NULL},
    {F_M | F_MM, ALL, ABSENT, CERT_FAIL, NULL},
    {F_M | F_MM, ALL, UNKNOWN, CERT_FAIL, NULL},
    {F_M | F_MM | F_OM, ALL, VALID, CERT_PASS, NULL},
    {F_M | F_MM | F_OM, ALL, ABSENT, CERT_FAIL, NULL},
    {F_M | F_MM | F_OM, ALL, UNKNOWN, CERT_FAIL, NULL},
    /* mutualssl + oauth2, neither mandatory: where the versions differ.
     * wso2-4 (4.x's Publisher adds oauth_basic_auth_api_key_mandatory; WSO2's
     * own feature test): the token decides, even with an accepted cert. */
    {F_M | F_O, OAUTH_MANDATORY_SETS, VALID, TOKEN_DECIDES, PRIO_OM},
    {F_M | F_O, OAUTH_MANDATORY_SETS, ABSENT, TOKEN_DECIDES, PRIO_OM},
    {F_M | F_O, OAUTH_MANDATORY_SETS, UNKNOWN, TOKEN_DECIDES, PRIO_OM},
    {F_M | F_O, OAUTH_MANDATORY_SETS, BADHDR, TOKEN_DECIDES, PRIO_OM},
    /* wso2-2.6 and sap: seed 003's table */
    {F_M | F_O, SEED_TABLE_SETS, VALID, SEED_VALID, PRIO_ST},
    {F_M | F_O, SEED_TABLE_SETS, ABSENT, SEED_ABSENT, PRIO_ST},
    {F_M | F_O, SEED_TABLE_SETS, UNKNOWN, SEED_UNKNOWN, PRIO_ST},
    {F_M | F_O, SEED_TABLE_SETS, BADHDR, SEED_BADHDR, PRIO_ST},
    /* mTLS optional, OAuth2 mandatory: the token decides, even with a good cert */
    {F_M | F_O | F_OM, ALL, VALID, TOKEN_DECIDES, NULL},
    {F_M | F_O | F_OM, ALL, ABSENT, TOKEN_DECIDES, NULL},
    {F_M | F_O | F_OM, ALL, UNKNOWN, TOKEN_DECIDES, NULL},
    /* mTLS mandatory, OAuth2 optional: a good cert is enough (a good token is
     * still read and then identifies the caller); no good cert stops the chain */
    {F_M | F_MM | F_O, ALL, VALID, {"O", "M", "M", "M"}, NULL},
    {F_M | F_MM | F_O, ALL, ABSENT, CERT_FAIL, NULL},
    {F_M | F_MM | F_O, ALL, UNKNOWN, CERT_FAIL, NULL},
    /* both mandatory: both needed; the certificate is checked first */
    {F_M | F_MM | F_O | F_OM, ALL, VALID, TOKEN_DECIDES, NULL},
    {F_M | F_MM | F_O | F_OM, ALL, ABSENT, CERT_FAIL, NULL},
    {F_M | F_MM | F_O | F_OM, ALL, UNKNOWN, CERT_FAIL, NULL},
    /* an undecodable load balancer header: 900900 when it stops the chain */
    {F_M, ALL, BADHDR, {"900900", "900900", "900900", "900900"}, NULL},
    {F_M | F_MM | F_O, ALL, BADHDR, {"900900", "900900", "900900", "900900"}, NULL},
    {F_M | F_MM | F_O | F_OM, ALL, BADHDR, {"900900", "900900", "900900", "900900"}, NULL},
    {F_M | F_O | F_OM, ALL, BADHDR, TOKEN_DECIDES, NULL},
    {F_O, ALL, BADHDR, OAUTH_ONLY, NULL},
    /* the optional flags (WSO2 4.3+): either credential is enough */
    OPTIONAL_ROWS(F_M | F_O | F_MO | F_OO),
    OPTIONAL_ROWS(F_M | F_O | F_MO),
    OPTIONAL_ROWS(F_M | F_O | F_OO),
    /* next to a mandatory flag they change nothing */
    {F_M | F_O | F_OM | F_MO, ALL, VALID, TOKEN_DECIDES, NULL},
    {F_M | F_O | F_OM | F_MO, ALL, ABSENT, TOKEN_DECIDES, NULL},
    {F_M | F_MM | F_O | F_OO, ALL, VALID, {"O", "M", "M", "M"}, NULL},
    {F_M | F_MM | F_O | F_OO, ALL, UNKNOWN, CERT_FAIL, NULL},
    /* without mutualssl there is nothing to be optional about */
    {F_O | F_MO | F_OO, ALL, VALID, OAUTH_ONLY, NULL},
    {F_O | F_MO | F_OO, ALL, ABSENT, OAUTH_ONLY, NULL},
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
  size_t checked[RULE_SET_COUNT] = {0};
  for (size_t k = 0; k < RULE_SET_COUNT; k++) {
    gsim_rules rules;
    resolve_set(&rule_sets[k], &rules);
    /* every (flags, certificate) of the table holds once per rule set */
    for (size_t i = 0; i < sizeof(chain_table) / sizeof(chain_table[0]); i++) {
      const chain_row *r = &chain_table[i];
      if (!(r->sets & (1u << k)))
        continue;
      for (size_t j = 0; j < i; j++)
        if ((chain_table[j].sets & (1u << k)) && chain_table[j].flags == r->flags &&
            chain_table[j].cert == r->cert)
          fail_msg("%s: rows %zu and %zu are the same case", rule_sets[k].name, j, i);
      for (size_t t = 0; t < 4; t++) {
        gsim_chain_decision d;
        gsim_chain_decide(&rules, r->flags, r->cert, tokens[t], &d);
        char buf[16];
        const char *got = chain_outcome(&d, buf);
        if (strcmp(got, r->expect[t]) != 0)
          fail_msg("%s: row %zu (flags 0x%x, cert %d, token %zu): %s, expected %s",
                   rule_sets[k].name, i, r->flags, (int)r->cert, t, got, r->expect[t]);
        const char *rule = d.rule ? d.rule->id : NULL;
        if ((rule == NULL) != (r->rule == NULL) || (rule && strcmp(rule, r->rule) != 0))
          fail_msg("%s: row %zu: rule %s, expected %s", rule_sets[k].name, i, rule ? rule : "none",
                   r->rule ? r->rule : "none");
        if (!d.pass) {
          int want = d.code == 900908 ? 403 : d.code == 900900 ? 500 : 401;
          assert_int_equal(want, d.status);
        }
        checked[k]++;
      }
    }
  }
  /* 16 flag sets x 3 certs, 5 bad headers, 4 rows of mutualssl + oauth2 with a
   * bad header, 3 x 4 with optional flags, 6 more: the same count everywhere */
  for (size_t k = 0; k < RULE_SET_COUNT; k++)
    if (checked[k] != (size_t)4 * (16 * 3 + 5 + 1 + 3 * 4 + 6))
      fail_msg("%s: %zu verdicts checked", rule_sets[k].name, checked[k]);
}

static void test_security_chain_challenges(void **state) {
  (void)state;
  gsim_rules r4, r26;
  resolve_set(&rule_sets[0], &r4);
  resolve_set(&rule_sets[1], &r26);
  gsim_chain_decision d;
  gsim_chain_decide(&r4, F_M | F_O | F_OM, GSIM_CERT_ABSENT, GSIM_OAUTH_MISSING, &d);
  assert_int_equal(GSIM_CHALLENGE_MTLS | GSIM_CHALLENGE_OAUTH, d.challenges);
  assert_true(d.mtls_ran && d.oauth_ran);
  gsim_chain_decide(&r4, F_M, GSIM_CERT_ABSENT, GSIM_OAUTH_OK, &d);
  assert_int_equal(GSIM_CHALLENGE_MTLS, d.challenges);
  assert_false(d.oauth_ran); /* the token is never validated for an mTLS-only API */
  gsim_chain_decide(&r4, 0, GSIM_CERT_VALID, GSIM_OAUTH_MISSING, &d);
  assert_int_equal(GSIM_CHALLENGE_OAUTH, d.challenges);
  assert_false(d.mtls_ran);
  /* mTLS mandatory and failing stops the chain before OAuth2 */
  gsim_chain_decide(&r4, F_M | F_MM | F_O | F_OM, GSIM_CERT_UNKNOWN, GSIM_OAUTH_OK, &d);
  assert_false(d.oauth_ran);
  /* seed 003's table (wso2-2.6): a valid certificate never reads the token */
  gsim_chain_decide(&r26, F_M | F_O, GSIM_CERT_VALID, GSIM_OAUTH_INVALID, &d);
  assert_string_equal("priority.seed-table", d.rule->id);
  assert_false(d.oauth_ran);
  /* wso2-4: the token is read even after a valid certificate */
  gsim_chain_decide(&r4, F_M | F_O, GSIM_CERT_VALID, GSIM_OAUTH_MISSING, &d);
  assert_string_equal("priority.oauth-mandatory", d.rule->id);
  assert_true(d.mtls_ran && d.oauth_ran);
  assert_int_equal(GSIM_CHALLENGE_MTLS | GSIM_CHALLENGE_OAUTH, d.challenges);
  /* both optional: both are consulted, and both challenge */
  gsim_chain_decide(&r4, F_M | F_O | F_MO | F_OO, GSIM_CERT_VALID, GSIM_OAUTH_MISSING, &d);
  assert_true(d.mtls_ran && d.oauth_ran);
  assert_int_equal(GSIM_CHALLENGE_MTLS | GSIM_CHALLENGE_OAUTH, d.challenges);
  gsim_chain_decide(&r4, F_M | F_O | F_MO | F_OO, GSIM_CERT_ABSENT, GSIM_OAUTH_MISSING, &d);
  assert_int_equal(401, d.status);
  assert_int_equal(900901, d.code);
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

/* One key, requests of two tiers (rule throttle-key's one-counter-per-api,
 * wso2-2.6): the counter is shared and each request is judged against its
 * own tier's limit; a refused request does not count. */
static void test_throttle_shared_key_mixed_tiers(void **state) {
  (void)state;
  gsim_options opt;
  memset(&opt, 0, sizeof(opt));
  gsim sim;
  memset(&sim, 0, sizeof(sim));
  sim.opt = &opt;
  char why[128];
  assert_int_equal(0, gsim_throttle_init(&sim, why, sizeof(why)));
  static const gsim_tier two = {"2PerMin", 2, 60}, three = {"3PerMin", 3, 60};
  static const struct {
    const gsim_tier *tier;
    int allowed;
  } calls[] = {
      {&two, 1},   {&two, 1}, {&two, 0}, /* the counter holds 2: 2PerMin's limit */
      {&three, 1},                       /* 2 < 3: passes, the counter holds 3 */
      {&three, 0}, {&two, 0},            /* spent for both */
  };
  const int64_t start = 1893456000000LL;
  int64_t next = 0;
  for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
    if (gsim_throttle_hit(&sim, "null:/t/1.0:1.0", calls[i].tier, start + (int64_t)i, &next) !=
        calls[i].allowed)
      fail_msg("call %zu (%s): expected %s", i + 1, calls[i].tier->name,
               calls[i].allowed ? "allowed" : "refused");
  assert_int_equal(start + 60000, next);
  assert_int_equal(1, gsim_throttle_count(&sim));
  gsim_throttle_free(&sim);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schedule),
      cmocka_unit_test(test_hostname_verifiers),
      cmocka_unit_test(test_security_chain_table),
      cmocka_unit_test(test_security_chain_challenges),
      cmocka_unit_test(test_throttle_window),
      cmocka_unit_test(test_throttle_shared_key_mixed_tiers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
