/* test_sim_rules.c - the simulator's rule table (simulator/rules.c).
 *
 * The table is the simulator's claim about three products, so its shape is
 * checked here: every profile resolves every family to exactly one row; ids
 * are unique; every row names a source and a behaviour; inferred rows say why;
 * mutants belong to no profile; --break swaps in a row that differs from the
 * profile's own; and the rows the 4.x corrections rest on say what WSO2 4.x
 * does (the statuses and codes the scenarios expect).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"

static void test_every_profile_resolves(void **state) {
  (void)state;
  for (int p = 0; p < GSIM_PROFILE_COUNT; p++) {
    gsim_rules rules;
    char why[256] = "";
    if (gsim_rules_resolve(&rules, (gsim_profile)p, why, sizeof(why)) != 0)
      fail_msg("%s: %s", gsim_profile_name((gsim_profile)p), why);
    for (int f = 0; f < GSIM_RF_COUNT; f++) {
      assert_non_null(rules.row[f]);
      assert_int_equal(f, rules.row[f]->family);
      assert_true(rules.row[f]->profiles & (1u << p));
    }
  }
  gsim_rules rules;
  char why[256] = "";
  assert_int_equal(-1, gsim_rules_resolve(&rules, GSIM_PROFILE_COUNT, why, sizeof(why)));
  assert_non_null(strstr(why, "no profile"));
}

static void test_rows_are_sourced(void **state) {
  (void)state;
  size_t count = 0;
  const gsim_rule *table = gsim_rules_table(&count);
  assert_true(count > 20);
  for (size_t i = 0; i < count; i++) {
    const gsim_rule *r = &table[i];
    assert_non_null(r->id);
    assert_non_null(r->behaviour);
    assert_non_null(r->source);
    if (r->behaviour[0] == '\0' || r->source[0] == '\0')
      fail_msg("%s: empty behaviour or source", r->id);
    for (size_t j = 0; j < i; j++)
      if (strcmp(table[j].id, r->id) == 0)
        fail_msg("rule id %s twice", r->id);
    if (r->kind == GSIM_SOURCE_INFERRED && strncmp(r->source, "inferred: ", 10) != 0)
      fail_msg("%s: an inferred row must say why (\"inferred: ...\")", r->id);
    if (r->kind == GSIM_SOURCE_SEED && strstr(r->source, "seed 00") == NULL)
      fail_msg("%s: a seed row must name its seed", r->id);
    if (r->kind == GSIM_SOURCE_SAP_DOC && strstr(r->source, "SAP") == NULL)
      fail_msg("%s: an SAP documentation row must name SAP's page", r->id);
    if ((r->kind == GSIM_SOURCE_MUTANT || r->kind == GSIM_SOURCE_BUG) != (r->profiles == 0))
      fail_msg("%s: mutants and reported bugs, and only they, belong to no profile", r->id);
    if (r->kind == GSIM_SOURCE_BUG && strchr(r->source, '#') == NULL)
      fail_msg("%s: a reported bug must name its issue (#N)", r->id);
  }
}

/* Each quirk names a reported-bug row of its own; it turns on under its
 * profile, swapping exactly its family's row, and is refused elsewhere. */
static void test_quirks(void **state) {
  (void)state;
  size_t count = 0, rows = 0;
  const gsim_quirk *quirks = gsim_quirks_table(&count);
  const gsim_rule *table = gsim_rules_table(&rows);
  assert_true(count >= 1);
  for (size_t q = 0; q < count; q++) {
    const gsim_rule *bug = NULL;
    for (size_t i = 0; i < rows; i++)
      if (strcmp(table[i].id, quirks[q].row) == 0)
        bug = &table[i];
    if (bug == NULL || bug->kind != GSIM_SOURCE_BUG)
      fail_msg("quirk %s: no reported-bug row %s", quirks[q].name, quirks[q].row);
    if (strchr(quirks[q].issue, '#') == NULL || quirks[q].version[0] == '\0')
      fail_msg("quirk %s: no issue or version", quirks[q].name);
    for (int p = 0; p < GSIM_PROFILE_COUNT; p++) {
      gsim_rules rules, plain;
      char why[512] = "";
      assert_int_equal(0, gsim_rules_resolve(&rules, (gsim_profile)p, why, sizeof(why)));
      plain = rules;
      int rc = gsim_rules_quirk(&rules, quirks[q].name, why, sizeof(why));
      if (!(quirks[q].profiles & (1u << p))) {
        assert_int_equal(-1, rc);
        assert_non_null(strstr(why, quirks[q].issue));
        assert_non_null(strstr(why, gsim_profile_name((gsim_profile)p)));
        continue;
      }
      assert_int_equal(0, rc);
      assert_ptr_equal(bug, rules.row[bug->family]);
      for (int f = 0; f < GSIM_RF_COUNT; f++)
        if (f != (int)bug->family)
          assert_ptr_equal(plain.row[f], rules.row[f]);
      assert_int_equal(UINT64_C(1) << q, rules.quirks);
      assert_int_equal(0, gsim_rules_quirk(&rules, quirks[q].name, why, sizeof(why)));
    }
  }
  static const struct {
    const char *name, *name2, *why; /* name2: turned on after name, or NULL */
  } refused[] = {
      {"nope", NULL, "\"nope\" is not one of: deleted-alias-taken"},
      {"", NULL, "is not one of"},
      {"Deleted-Alias-Taken", NULL, "is not one of"},
  };
  for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
    gsim_rules rules;
    char why[512] = "";
    assert_int_equal(0, gsim_rules_resolve(&rules, GSIM_PROFILE_WSO2_4, why, sizeof(why)));
    assert_int_equal(-1, gsim_rules_quirk(&rules, refused[i].name, why, sizeof(why)));
    if (strstr(why, refused[i].why) == NULL)
      fail_msg("quirk \"%s\": why \"%s\" lacks \"%s\"", refused[i].name, why, refused[i].why);
    assert_int_equal(0, rules.quirks);
  }
}

static const gsim_rule *row_of(gsim_profile p, gsim_rule_family f) {
  static gsim_rules rules;
  char why[256];
  assert_int_equal(0, gsim_rules_resolve(&rules, p, why, sizeof(why)));
  return rules.row[f];
}

/* The 4.x facts the corrections rest on, and where 2.6 differs. */
static void test_versions_differ_where_wso2_did(void **state) {
  (void)state;
  static const struct {
    gsim_rule_family family;
    int status_4, status_26; /* -1: not checked */
    const char *code_4;
    int variant_4, variant_26; /* -1: not checked */
  } cases[] = {
      {GSIM_RF_BACKEND_CONNECT, 500, 500, "101503", -1, -1},
      {GSIM_RF_BACKEND_TIMEOUT, 500, 500, "101504", -1, -1},
      {GSIM_RF_BACKEND_CLOSED, 500, 500, "101508", GSIM_CLOSED_BY_STATE, GSIM_CLOSED_BY_STATE},
      {GSIM_RF_BACKEND_TLS, 500, 500, "101500", -1, -1},
      {GSIM_RF_PRIORITY_NO_FLAGS, -1, -1, NULL, GSIM_PRIORITY_OAUTH_MANDATORY,
       GSIM_PRIORITY_SEED_TABLE},
      {GSIM_RF_BOTH_OPTIONAL, 401, 400, "900901", GSIM_BOTH_OPTIONAL_EITHER,
       GSIM_BOTH_OPTIONAL_UNKNOWN_FLAGS},
      {GSIM_RF_CLIENT_ALIAS_SCOPE, 409, 409, NULL, GSIM_ALIAS_PER_TENANT_KEY_TYPE,
       GSIM_ALIAS_PER_TENANT},
      {GSIM_RF_CLIENT_TIER, 201, 201, NULL, GSIM_TIER_ACCEPTED, GSIM_TIER_ACCEPTED},
      {GSIM_RF_THROTTLE_OUT, 429, 429, "900804", GSIM_THROTTLE_JSON_RETRY_AFTER, GSIM_THROTTLE_XML},
      {GSIM_RF_JWT_NBF, -1, -1, NULL, GSIM_CHECK_OFF, -1},
      {GSIM_RF_JWT_NO_EXP, -1, -1, NULL, GSIM_CHECK_OFF, -1},
      {GSIM_RF_LB_HEADER_NO_PEER, -1, -1, NULL, GSIM_LB_IGNORE_HEADER, GSIM_LB_IGNORE_HEADER},
      {GSIM_RF_FAULT_FORMAT, -1, -1, NULL, 0, 1},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const gsim_rule *v4 = row_of(GSIM_PROFILE_WSO2_4, cases[i].family);
    const gsim_rule *v26 = row_of(GSIM_PROFILE_WSO2_26, cases[i].family);
    if (cases[i].status_4 >= 0 && v4->status != cases[i].status_4)
      fail_msg("%s: wso2-4 status %d, expected %d", v4->id, v4->status, cases[i].status_4);
    if (cases[i].status_26 >= 0 && v26->status != cases[i].status_26)
      fail_msg("%s: wso2-2.6 status %d, expected %d", v26->id, v26->status, cases[i].status_26);
    if (cases[i].code_4 && (!v4->code || strcmp(v4->code, cases[i].code_4) != 0))
      fail_msg("%s: wso2-4 code %s, expected %s", v4->id, v4->code ? v4->code : "(none)",
               cases[i].code_4);
    if (cases[i].variant_4 >= 0 && v4->variant != cases[i].variant_4)
      fail_msg("%s: wso2-4 variant %d, expected %d", v4->id, v4->variant, cases[i].variant_4);
    if (cases[i].variant_26 >= 0 && v26->variant != cases[i].variant_26)
      fail_msg("%s: wso2-2.6 variant %d, expected %d", v26->id, v26->variant, cases[i].variant_26);
    if (v4->kind != GSIM_SOURCE_CODE && cases[i].family != GSIM_RF_BACKEND_TLS)
      fail_msg("%s: a 4.x correction must rest on WSO2's code", v4->id);
  }
}

static void test_break(void **state) {
  (void)state;
  static const struct {
    const char *name;
    gsim_rule_family family;
  } cases[] = {
      {"backend-faults", GSIM_RF_BACKEND_CONNECT},
      {"backend-faults", GSIM_RF_BACKEND_CLOSED},
      {"priority", GSIM_RF_PRIORITY_NO_FLAGS},
      {"both-optional", GSIM_RF_BOTH_OPTIONAL},
      {"client-alias", GSIM_RF_CLIENT_ALIAS_SCOPE},
      {"client-tier", GSIM_RF_CLIENT_TIER},
      {"throttle-out", GSIM_RF_THROTTLE_OUT},
      {"jwt", GSIM_RF_JWT_NBF},
      {"jwt", GSIM_RF_JWT_NO_EXP},
      {"lb-header", GSIM_RF_LB_HEADER_NO_PEER},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    gsim_rules rules;
    char why[512] = "";
    assert_int_equal(0, gsim_rules_resolve(&rules, GSIM_PROFILE_WSO2_4, why, sizeof(why)));
    const gsim_rule *before = rules.row[cases[i].family];
    if (gsim_rules_break(&rules, cases[i].name, why, sizeof(why)) != 0)
      fail_msg("--break %s: %s", cases[i].name, why);
    const gsim_rule *after = rules.row[cases[i].family];
    assert_ptr_not_equal(before, after);
    int same_code = (after->code == NULL) == (before->code == NULL) &&
                    (after->code == NULL || strcmp(after->code, before->code) == 0);
    if (after->variant == before->variant && after->status == before->status && same_code)
      fail_msg("--break %s: %s behaves as %s", cases[i].name, after->id, before->id);
    assert_true(rules.broken & (1u << cases[i].family));
  }
  gsim_rules rules;
  char why[512] = "";
  assert_int_equal(0, gsim_rules_resolve(&rules, GSIM_PROFILE_WSO2_4, why, sizeof(why)));
  assert_int_equal(-1, gsim_rules_break(&rules, "restart", why, sizeof(why)));
  assert_non_null(strstr(why, "\"restart\" is not one of: immediate-reload"));
  assert_non_null(strstr(why, "backend-faults"));
}

static void test_profile_names(void **state) {
  (void)state;
  static const struct {
    const char *name;
    int ok;
    gsim_profile profile;
  } cases[] = {
      {"wso2", 1, GSIM_PROFILE_WSO2_4},
      {"wso2-4", 1, GSIM_PROFILE_WSO2_4},
      {"wso2-2.6", 1, GSIM_PROFILE_WSO2_26},
      {"sap", 1, GSIM_PROFILE_SAP_2026},
      {"sap-2026", 1, GSIM_PROFILE_SAP_2026},
      {"sap-2023", 1, GSIM_PROFILE_SAP_2023},
      {"sap-2024", 0, 0},
      {"WSO2", 0, 0},
      {"wso2-3", 0, 0},
      {"", 0, 0},
      {"wso2-2.6 ", 0, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    gsim_profile p = GSIM_PROFILE_COUNT;
    int rc = gsim_profile_parse(cases[i].name, &p);
    assert_int_equal(cases[i].ok ? 0 : -1, rc);
    if (cases[i].ok)
      assert_int_equal(cases[i].profile, p);
  }
  assert_int_equal(-1, gsim_profile_parse(NULL, NULL));
  assert_string_equal("wso2-2.6", gsim_profile_name(GSIM_PROFILE_WSO2_26));
  assert_string_equal("sap-2023", gsim_profile_name(GSIM_PROFILE_SAP_2023));
  assert_string_equal("SAP API Management (2026 documentation)",
                      gsim_profile_product(GSIM_PROFILE_SAP_2026));
  assert_non_null(strstr(gsim_profile_product(GSIM_PROFILE_WSO2_4), "4.x"));
}

static void test_markdown(void **state) {
  (void)state;
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  assert_non_null(out);
  gsim_rules_markdown(out);
  fclose(out);
  assert_non_null(strstr(text, "| rule | profiles | behaviour | source | kind |"));
  assert_non_null(strstr(text, "inferred; and "));
  assert_non_null(strstr(text, "| `upload.deleted-alias-taken` | wso2-4 with --quirk "
                               "deleted-alias-taken |"));
  assert_non_null(strstr(text, "- `deleted-alias-taken`: wso2/api-manager#1397"));
  assert_non_null(strstr(text, "| `priority.seed-table` | wso2-2.6, sap-2023, sap-2026 |"));
  assert_non_null(strstr(text, "| `sap.formats-2023` | sap-2023 |"));
  assert_non_null(strstr(text, "| `sap.formats-2026` | sap-2026 |"));
  assert_non_null(strstr(text, "from SAP's documentation"));
  assert_null(strstr(text, "| `backend.connect-mutant`")); /* mutants are listed apart */
  assert_non_null(strstr(text, "- `backend-faults`: 503 for a refused connection"));
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_profile_resolves),
      cmocka_unit_test(test_rows_are_sourced),
      cmocka_unit_test(test_quirks),
      cmocka_unit_test(test_versions_differ_where_wso2_did),
      cmocka_unit_test(test_break),
      cmocka_unit_test(test_profile_names),
      cmocka_unit_test(test_markdown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
