/* fuzz_scenario.c - the fuzz target of the scenario loader: the whole load of
 * one scenario file (harness/scenario.c and scenario_values.c over the tree
 * yaml_reader.c reads; fuzz_yaml covers the reader alone).
 *
 * Built two ways (CMakeLists.txt here): with clang's libFuzzer into
 * fuzz_scenario, and with the project's compiler and replay.c's main into
 * fuzz_scenario_replay, a unit test. The input is the file's bytes, handed to
 * gh_scenario_load_text (scenario.h) in a buffer of exactly their size so
 * AddressSanitizer sees a read past either end. Seeds: fixtures/scenario/ (the
 * catalogue's scenarios, the loader's good and bad test files, and what
 * libFuzzer added, merged), plus fixtures/scenarios-good and -bad in the replay.
 *
 * Invariants, each an abort() with its name on stderr when broken:
 *   - on failure: no cases, a count of 0, a non-empty NUL-terminated message,
 *     line and column both 0 or both at least 1, the file named;
 *   - on success: at least one case; each has a name, a scenario name its
 *     name starts with, the file it came from, an epoch; case names are
 *     unique; every reference the loader promises to check resolves (pki
 *     issuer, backend cert, chain and client CA, API backend) through
 *     gh_case_pki / gh_case_backend, and each declared name finds itself;
 *     every step's kind has a name; gh_step_expect answers for each profile
 *     the case lists.
 */
#include "fuzz.h"
#include "scenario.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_NAME "fuzz.yaml"

/* What replay.c inserts: YAML punctuation and the language's own words. */
static const char *const scenario_tokens[] = {"\n",         "  ",
                                              "- ",         ": ",
                                              "[",          "]",
                                              "{",          "}",
                                              ", ",         "${p}",
                                              "name: ",     "features: ",
                                              "profiles: ", "epoch: ",
                                              "pki:\n",     "backends:\n",
                                              "apis:\n",    "steps:\n",
                                              "matrix:\n",  "params: ",
                                              "rows: ",     "kind: ca",
                                              "issuer: ",   "cert: ",
                                              "call: ",     "expect: ",
                                              "status: ",   "advance: ",
                                              "1s",         "-1h",
                                              "backend: ",  "context: ",
                                              "gateway:\n", "expect_profile: ",
                                              "wso2",       "sap",
                                              "~",          "\"",
                                              "'",          "# c\n",
                                              NULL};

size_t gh_fuzz_tokens_for(const uint8_t *data, size_t size, char tokens[][GH_FUZZ_TOKEN_LEN],
                          size_t max) {
  (void)data;
  (void)size;
  return gh_fuzz_tokens_from_list(scenario_tokens, tokens, max);
}

#define CHECK(cond) GH_FUZZ_CHECK("fuzz_scenario", cond)

static void check_pki_ref(const gh_case_spec *c, const char *name) {
  CHECK(name == NULL || gh_case_pki(c, name) != NULL);
}

static void check_case(const gh_case_spec *c) {
  CHECK(c->name != NULL && c->scenario != NULL && c->file != NULL);
  CHECK(strncmp(c->name, c->scenario, strlen(c->scenario)) == 0);
  CHECK(strcmp(c->file, FILE_NAME) == 0);
  CHECK(c->epoch != NULL);
  for (size_t i = 0; i < c->pki_count; i++) {
    const gh_pki_spec *p = &c->pki[i];
    CHECK(p->name != NULL && gh_case_pki(c, p->name) == p);
    check_pki_ref(c, p->issuer);
  }
  for (size_t i = 0; i < c->backend_count; i++) {
    const gh_backend_spec *b = &c->backends[i];
    CHECK(b->name != NULL && gh_case_backend(c, b->name) == b);
    check_pki_ref(c, b->cert);
    for (size_t j = 0; j < b->chain_count; j++)
      check_pki_ref(c, b->chain[j]);
  }
  for (size_t i = 0; i < c->api_count; i++) {
    const gh_api_spec *a = &c->apis[i];
    CHECK(a->name != NULL && gh_case_api(c, a->name) == a);
    CHECK(a->backend == NULL || gh_case_backend(c, a->backend) != NULL);
  }
  for (size_t i = 0; i < c->step_count; i++) {
    CHECK(strcmp(gh_step_kind_name(c->steps[i].kind), "unknown") != 0);
    (void)gh_step_expect(&c->steps[i], NULL);
    for (size_t j = 0; j < c->profile_count; j++) {
      CHECK(c->profiles[j] != NULL);
      (void)gh_step_expect(&c->steps[i], c->profiles[j]);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  unsigned char *copy = malloc(size == 0 ? 1 : size);
  if (copy == NULL)
    return 0;
  if (size > 0)
    memcpy(copy, data, size);
  gh_case_spec *cases = (gh_case_spec *)1;
  size_t count = 99;
  gh_load_error err;
  int rc = gh_scenario_load_text(FILE_NAME, copy, size, &cases, &count, &err);
  if (rc != 0) {
    CHECK(rc == -1);
    CHECK(cases == NULL && count == 0);
    CHECK(strnlen(err.message, sizeof(err.message)) < sizeof(err.message));
    CHECK(err.message[0] != '\0');
    CHECK((err.line == 0 && err.column == 0) || (err.line >= 1 && err.column >= 1));
    CHECK(strcmp(err.file, FILE_NAME) == 0);
  } else {
    CHECK(cases != NULL && count >= 1);
    for (size_t i = 0; i < count; i++) {
      check_case(&cases[i]);
      for (size_t j = 0; j < i; j++)
        CHECK(strcmp(cases[i].name, cases[j].name) != 0);
    }
    gh_cases_free(cases, count);
  }
  free(copy);
  return 0;
}
