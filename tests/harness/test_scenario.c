/* test_scenario.c - the scenario loader (harness/scenario.h), driven by data.
 *
 * - fixtures/scenarios-good/full.yaml uses every key of the language once;
 *   every loaded value is checked field by field, defaults included.
 * - fixtures/scenarios-good/security.yaml: every key of the securing-APIs
 *   part (listener, mutual_ssl, throttling, oauth, pki key, the client
 *   certificate and subscribe steps, client_cert, token, header_cert), checked
 *   the same way, and their defaults on a case without them.
 * - fixtures/scenarios-good/matrix.yaml: three rows, three cases, their names,
 *   ${param} replaced in nested values, $${ kept literal.
 * - fixtures/scenarios-bad/MANIFEST: every bad file gives -1 with exactly the
 *   line and column listed and a message containing the listed text; every
 *   *.yaml there must be listed.
 * - Bounds made here, too big to commit: a file over 1 MiB, over 10000
 *   nodes, a matrix and a ${param} that would expand past the output budget.
 * - gh_duration_parse against a table; gh_step_expect merging; lookups.
 * - gh_catalogue_load on what is not a directory or a file (a FIFO, /dev/zero,
 *   a missing path): one error naming what it is, without blocking.
 * - A hostile loop: every truncation and many byte flips of the good files
 *   must load (0) or fail cleanly (-1), never crash or leak (run under ASan).
 */
#include "gutil.h"
#include "support.h"

#include <errno.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile.h"
#include "scenario.h"

#define PATH_SIZE 1024

/* Joins dir and name into out (PATH_SIZE bytes), failing the test if it does not fit. */
static void join_path(char *out, const char *dir, const char *name) {
  int n = snprintf(out, PATH_SIZE, "%s/%s", dir, name);
  if (n < 0 || n >= PATH_SIZE)
    fail_msg("path too long: %s/%s", dir, name);
}

static char *read_all(const char *path, size_t *len) {
  char *buf = NULL;
  if (gu_read_file(path, (size_t)1 << 20, &buf, len) != 0)
    fail_msg("cannot read %s: %s", path, strerror(errno));
  return buf;
}

/* Loads path, failing the test with the loader's message if it does not load. */
static gh_case_spec *load_ok(const char *path, size_t *count) {
  gh_case_spec *cases = NULL;
  gh_load_error err;
  if (gh_scenario_load(path, &cases, count, &err) != 0)
    fail_msg("%s:%d:%d: %s", err.file, err.line, err.column, err.message);
  assert_non_null(cases);
  return cases;
}

/* Loads path expecting -1 at line:column with text in the message; 0 when so. */
static int load_fails(const char *path, int line, int column, const char *text) {
  gh_case_spec *cases = (gh_case_spec *)1;
  size_t count = 99;
  gh_load_error err;
  if (gh_scenario_load(path, &cases, &count, &err) == 0) {
    print_error("%s: loaded, expected an error at %d:%d containing '%s'\n", path, line, column,
                text);
    gh_cases_free(cases, count);
    return 1;
  }
  if (cases != NULL || count != 0) {
    print_error("%s: failed but left cases behind\n", path);
    return 1;
  }
  if (err.line != line || err.column != column || strstr(err.message, text) == NULL ||
      strcmp(err.file, path) != 0) {
    print_error("%s: expected %d:%d '%s'\n   got %s:%d:%d: %s\n", path, line, column, text,
                err.file, err.line, err.column, err.message);
    return 1;
  }
  return 0;
}

static void assert_strings(char *const *got, size_t got_count, const char *const *want,
                           size_t want_count) {
  assert_int_equal(got_count, want_count);
  for (size_t i = 0; i < want_count; i++)
    assert_string_equal(got[i], want[i]);
}

#define STRINGS(got, count, ...)                                                                   \
  do {                                                                                             \
    const char *const want_[] = {__VA_ARGS__};                                                     \
    assert_strings((got), (count), want_, sizeof(want_) / sizeof(want_[0]));                       \
  } while (0)

#define MS_S   INT64_C(1000)
#define MS_DAY (INT64_C(86400) * MS_S)

/* ---- the full example ---------------------------------------------------- */

static void check_full_top(const gh_case_spec *c, const char *path) {
  assert_string_equal(c->file, path);
  assert_string_equal(c->name, "every key of the language");
  assert_string_equal(c->scenario, "every key of the language");
  STRINGS(c->features, c->feature_count, "backend-trust", "reload");
  STRINGS(c->profiles, c->profile_count, "wso2", "sap");
  STRINGS(c->refs, c->ref_count, "seed 000", "rule reload.sender-interval");
  STRINGS(c->needs, c->need_count, "deferred-reload-schedule", "backend-mtls");
  assert_string_equal(c->epoch, "2031-02-03T04:05:06Z");
  assert_int_equal(c->epoch_s, 1927857906);

  const gh_gateway_spec *g = &c->gateway;
  assert_int_equal(g->sender_reload_interval_ms, 600 * MS_S);
  assert_string_equal(g->fault_format, "xml");
  assert_int_equal(g->backend_timeout_ms, 2500);
  STRINGS(g->trust, g->trust_count, "root");
  assert_int_equal(g->profile_count, 2);
  assert_string_equal(g->profiles[0].backend, "echo");
  assert_string_equal(g->profiles[0].host, "127.0.0.1");
  STRINGS(g->profiles[0].trust, g->profiles[0].trust_count, "root", "inter");
  assert_string_equal(g->profiles[0].key, "client");
  assert_string_equal(g->profiles[0].hostname_verifier, "Strict");
  assert_string_equal(g->profiles[1].backend, "echo");
  assert_string_equal(g->profiles[1].host, "localhost");
  assert_null(g->profiles[1].trust);
  assert_int_equal(g->profiles[1].trust_count, 0);
  assert_null(g->profiles[1].key);
  assert_null(g->profiles[1].hostname_verifier);
  assert_int_equal(g->has_default_profile, 1);
  assert_null(g->default_profile.backend);
  assert_null(g->default_profile.host);
  assert_string_equal(g->default_profile.key, "none");
  assert_string_equal(g->default_profile.hostname_verifier, "DefaultAndLocalhost");
  STRINGS(g->default_profile.trust, g->default_profile.trust_count, "root");
}

static void check_full_pki(const gh_case_spec *c) {
  assert_int_equal(c->pki_count, 5);
  const gh_pki_spec *p = c->pki;
  assert_string_equal(p[0].name, "root");
  assert_int_equal(p[0].kind, GH_PKI_CA);
  assert_null(p[0].issuer);
  assert_string_equal(p[0].subject, "CN=Scenario Root,O=gatecert");
  assert_int_equal(p[0].san_count, 0);
  assert_int_equal(p[0].not_before_ms, -3600 * MS_S);
  assert_int_equal(p[0].not_after_ms, 365 * MS_DAY);
  assert_int_equal(p[0].eku, GH_EKU_DEFAULT);

  assert_string_equal(p[1].name, "inter");
  assert_int_equal(p[1].kind, GH_PKI_CA);
  assert_string_equal(p[1].issuer, "root");
  assert_null(p[1].subject);
  assert_int_equal(p[1].not_before_ms, -2 * MS_DAY);
  assert_int_equal(p[1].not_after_ms, 30 * MS_DAY);
  assert_int_equal(p[1].eku, GH_EKU_NONE);

  assert_string_equal(p[2].name, "echo-cert");
  assert_int_equal(p[2].kind, GH_PKI_SERVER);
  assert_string_equal(p[2].issuer, "inter");
  STRINGS(p[2].san, p[2].san_count, "localhost", "127.0.0.1");
  assert_int_equal(p[2].not_before_ms, -3600 * MS_S);
  assert_int_equal(p[2].not_after_ms, 365 * MS_DAY);
  assert_int_equal(p[2].eku, GH_EKU_SERVER);

  assert_string_equal(p[3].name, "client");
  assert_int_equal(p[3].kind, GH_PKI_CLIENT);
  assert_string_equal(p[3].issuer, "inter");
  assert_int_equal(p[3].eku, GH_EKU_BOTH);

  assert_string_equal(p[4].name, "self");
  assert_int_equal(p[4].kind, GH_PKI_SERVER); /* the default kind */
  assert_null(p[4].issuer);
  STRINGS(p[4].san, p[4].san_count, "localhost");
  assert_int_equal(p[4].eku, GH_EKU_DEFAULT);
}

static void check_full_backends_apis(const gh_case_spec *c) {
  assert_int_equal(c->backend_count, 2);
  const gh_backend_spec *b = c->backends;
  assert_string_equal(b[0].name, "echo");
  assert_string_equal(b[0].cert, "echo-cert");
  STRINGS(b[0].chain, b[0].chain_count, "inter");
  assert_string_equal(b[0].client_auth, "require");
  STRINGS(b[0].client_ca, b[0].client_ca_count, "root", "inter");
  assert_string_equal(b[0].fault, "none");
  assert_int_equal(b[0].delay_ms, 250);
  assert_int_equal(b[0].sessions, 1);
  assert_string_equal(b[0].tls, "1.3");
  assert_string_equal(b[1].name, "down");
  assert_null(b[1].cert);
  assert_int_equal(b[1].chain_count, 0);
  assert_string_equal(b[1].client_auth, "none");
  assert_int_equal(b[1].client_ca_count, 0);
  assert_string_equal(b[1].fault, "refuse");
  assert_int_equal(b[1].delay_ms, 0);
  assert_int_equal(b[1].sessions, 0);
  assert_string_equal(b[1].tls, "any");

  assert_int_equal(c->api_count, 2);
  const gh_api_spec *a = c->apis;
  assert_string_equal(a[0].name, "test");
  assert_string_equal(a[0].context, "/test");
  assert_string_equal(a[0].version, "1.0");
  assert_string_equal(a[0].backend, "echo");
  assert_string_equal(a[0].host, "gw.example");
  STRINGS(a[0].security, a[0].security_count, "oauth2", "mutualssl");
  assert_int_equal(a[0].default_version, 1);
  assert_int_equal(a[0].create, 1);
  assert_string_equal(a[1].name, "later");
  assert_string_equal(a[1].context, "/later");
  assert_string_equal(a[1].version, "2.1");
  assert_string_equal(a[1].backend, "down");
  assert_string_equal(a[1].host, "localhost");
  assert_int_equal(a[1].security_count, 0);
  assert_int_equal(a[1].default_version, 0);
  assert_int_equal(a[1].create, 0);
}

static void assert_expect_empty(const gh_expect *e) {
  assert_int_equal(e->set, 0);
  assert_int_equal(e->status, 0);
  assert_null(e->fault_code);
  assert_int_equal(e->body_contains_count, 0);
  assert_int_equal(e->header_count, 0);
  assert_null(e->tls_failure);
  assert_int_equal(e->backend_reached, GH_UNSET);
  assert_null(e->backend_saw_client_cert);
  assert_null(e->message);
  assert_int_equal(e->within_ms, 0);
}

static void check_full_call(const gh_step *s) {
  assert_int_equal(s->kind, GH_STEP_CALL);
  assert_int_equal(s->line, 37);
  assert_string_equal(s->api, "test");
  assert_string_equal(s->path, "/menaka?x=1");
  assert_string_equal(s->method, "POST");
  assert_int_equal(s->header_count, 2);
  assert_string_equal(s->headers[0].name, "X-A");
  assert_string_equal(s->headers[0].value, "b");
  assert_string_equal(s->headers[1].name, "X-Empty");
  assert_string_equal(s->headers[1].value, "");
  const gh_expect *e = &s->expect;
  assert_int_equal(e->set, 1);
  assert_int_equal(e->status, 500);
  assert_string_equal(e->fault_code, "101500");
  STRINGS(e->body_contains, e->body_contains_count, "Error", "Sender");
  STRINGS(e->body_excludes, e->body_excludes_count, "secret");
  assert_int_equal(e->header_count, 1);
  assert_string_equal(e->headers[0].name, "Content-Type");
  assert_string_equal(e->headers[0].value, "application/json");
  assert_string_equal(e->tls_failure, "http-5xx");
  assert_int_equal(e->backend_reached, GH_NO);
  assert_string_equal(e->backend_saw_client_cert, "client");
  assert_null(e->message);
  STRINGS(e->log_contains, e->log_contains_count, "handshake");
  assert_int_equal(e->within_ms, 30 * MS_S);
  assert_int_equal(s->override_count, 1);
  assert_string_equal(s->override_profiles[0], "sap");
  const gh_expect *o = &s->overrides[0];
  assert_int_equal(o->set, 1);
  assert_int_equal(o->status, 502);
  assert_int_equal(o->backend_reached, GH_YES);
  STRINGS(o->body_contains, o->body_contains_count, "sap-body");
  assert_null(o->fault_code);
  assert_int_equal(o->within_ms, 0);

  /* merged for sap: set fields of the override win, the rest is inherited */
  gh_expect m = gh_step_expect(s, "sap");
  assert_int_equal(m.set, 1);
  assert_int_equal(m.status, 502);
  assert_int_equal(m.backend_reached, GH_YES);
  STRINGS(m.body_contains, m.body_contains_count, "sap-body");
  assert_ptr_equal(m.body_contains, o->body_contains); /* borrowed, not copied */
  assert_string_equal(m.fault_code, "101500");
  STRINGS(m.body_excludes, m.body_excludes_count, "secret");
  assert_string_equal(m.tls_failure, "http-5xx");
  assert_string_equal(m.backend_saw_client_cert, "client");
  assert_int_equal(m.within_ms, 30 * MS_S);
  /* no override for wso2, none asked for, an unknown profile: expect as is */
  const char *const plain[] = {"wso2", NULL, "kong"};
  for (size_t i = 0; i < 3; i++) {
    m = gh_step_expect(s, plain[i]);
    assert_int_equal(m.status, 500);
    assert_int_equal(m.backend_reached, GH_NO);
    assert_ptr_equal(m.body_contains, e->body_contains);
  }
}

/* Profile families and versions: `wso2` in profiles covers wso2-4 and
 * wso2-2.6; an override for a version wins over the family's, which wins over
 * expect; an override for a version outside the case's family is refused. */
static void test_profile_versions(void **state) {
  (void)state;
  static const char yaml[] = "name: versions\n"
                             "features: [backend-trust]\n"
                             "profiles: [wso2]\n"
                             "backends: {echo: {fault: refuse}}\n"
                             "apis: {test: {context: /test, version: \"1.0\", backend: echo}}\n"
                             "steps:\n"
                             "  - call: {api: test, path: /x}\n"
                             "    expect: {status: 500, fault_code: \"101500\"}\n"
                             "    expect_profile:\n"
                             "      wso2-2.6: {status: 502}\n"
                             "      wso2: {status: 503, fault_code: \"101503\"}\n";
  char *path = test_scratch_path("versions.yaml");
  test_write(path, yaml, sizeof(yaml) - 1);
  size_t count = 0;
  gh_case_spec *c = load_ok(path, &count);
  assert_int_equal(count, 1);
  static const struct {
    const char *profile;
    int applies, status;
    const char *code;
  } cases[] = {
      {"wso2-4", 1, 503, "101503"},   /* the family's override */
      {"wso2", 1, 503, "101503"},     /* the alias of wso2-4 */
      {"wso2-2.6", 1, 502, "101503"}, /* the version's over the family's */
      {"sap", 0, 500, "101500"},      /* not in the case's profiles: expect as written */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    assert_int_equal(cases[i].applies, gh_case_has_profile(c, cases[i].profile));
    gh_expect m = gh_step_expect(&c->steps[0], cases[i].profile);
    if (m.status != cases[i].status || strcmp(m.fault_code, cases[i].code) != 0)
      fail_msg("%s: status %d code %s, expected %d %s", cases[i].profile, m.status, m.fault_code,
               cases[i].status, cases[i].code);
  }
  gh_cases_free(c, count);
  static const char outside[] = "name: outside\n"
                                "features: [backend-trust]\n"
                                "profiles: [sap]\n"
                                "backends: {echo: {fault: refuse}}\n"
                                "apis: {test: {context: /test, version: \"1.0\", backend: echo}}\n"
                                "steps:\n"
                                "  - call: {api: test, path: /x}\n"
                                "    expect: {status: 500}\n"
                                "    expect_profile: {wso2-2.6: {status: 502}}\n";
  test_write(path, outside, sizeof(outside) - 1);
  assert_int_equal(0, load_fails(path, 9, 22,
                                 "expect_profile: \"wso2-2.6\" is not in this "
                                 "scenario's profiles"));
  free(path);
}

/* SAP's versions: `sap` in profiles covers sap-2023 and sap-2026 (and is
 * the current one, sap-2026, on the command line); a version's override wins
 * over the family's; the versions are words the loader takes. */
static void test_profile_sap_versions(void **state) {
  (void)state;
  static const char yaml[] =
      "name: sap versions\n"
      "features: [endpoint-cert-upload]\n"
      "profiles: [sap]\n"
      "backends: {echo: {fault: refuse}}\n"
      "steps:\n"
      "  - upload_endpoint_cert: {alias: a, backend: echo, format: garbage}\n"
      "    expect: {status: 400}\n"
      "    expect_profile:\n"
      "      sap-2023: {status: 201}\n"
      "      sap: {status: 400, message: family}\n";
  char *path = test_scratch_path("sap-versions.yaml");
  test_write(path, yaml, sizeof(yaml) - 1);
  size_t count = 0;
  gh_case_spec *c = load_ok(path, &count);
  assert_int_equal(count, 1);
  static const struct {
    const char *profile;
    int applies, status;
    const char *message;
    const char *canonical;
  } cases[] = {
      {"sap-2023", 1, 201, "family", "sap-2023"}, /* the version's over the family's */
      {"sap-2026", 1, 400, "family", "sap-2026"}, /* the family's override */
      {"sap", 1, 400, "family", "sap-2026"},      /* the alias of the current version */
      {"wso2-4", 0, 400, "", "wso2-4"},           /* not in the case's profiles */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    assert_int_equal(cases[i].applies, gh_case_has_profile(c, cases[i].profile));
    gh_expect m = gh_step_expect(&c->steps[0], cases[i].profile);
    const char *message = m.message ? m.message : "";
    if (m.status != cases[i].status || strcmp(message, cases[i].message) != 0)
      fail_msg("%s: status %d message %s, expected %d %s", cases[i].profile, m.status, message,
               cases[i].status, cases[i].message);
    assert_string_equal(cases[i].canonical, gh_profile_canonical(cases[i].profile));
  }
  gh_cases_free(c, count);
  assert_int_equal(1, gh_profile_match("sap", "sap-2023"));
  assert_int_equal(2, gh_profile_match("sap-2023", "sap-2023"));
  assert_int_equal(0, gh_profile_match("sap-2023", "sap-2026"));
  assert_non_null(gh_profile_cert_paths("sap-2023")->odata);
  assert_non_null(gh_profile_cert_paths("sap")->odata);
  assert_null(gh_profile_cert_paths("wso2-4")->odata);
  free(path);
}

/* SAP's objects: the three sap_* steps load with their fields, only in a
 * case whose profiles are SAP's, and a bad one is refused where it is. */
static void test_sap_steps(void **state) {
  (void)state;
  static const char head[] = "name: sap objects\n"
                             "features: [backend-trust]\n"
                             "profiles: [%s]\n"
                             "pki: {root: {kind: ca}}\n"
                             "backends: {echo: {fault: refuse}}\n"
                             "steps:\n%s";
  static const char good[] =
      "  - sap_store_cert: {store: ts1, name: \"it's\", cert: root, format: der}\n"
      "    expect: {status: 201}\n"
      "  - sap_reference: {name: r1, store: ts1}\n"
      "    expect_profile: {sap-2023: {status: 201, message: CERTIFICATE}}\n"
      "  - sap_provider: {name: p1, backend: echo, trust_store: \"ref://r1\"}\n"
      "  - sap_store_cert: {store: ks1, type: key, name: k1, cert: root, format: pkcs12}\n";
  char yaml[2048];
  char *path = test_scratch_path("sap-steps.yaml");
  snprintf(yaml, sizeof(yaml), head, "sap", good);
  test_write(path, yaml, strlen(yaml));
  size_t count = 0;
  gh_case_spec *c = load_ok(path, &count);
  assert_int_equal(c->step_count, 4);
  const gh_step *st = c->steps;
  assert_int_equal(st[0].kind, GH_STEP_SAP_STORE_CERT);
  assert_string_equal(st[0].store, "ts1");
  assert_string_equal(st[0].sap_name, "it's");
  assert_string_equal(st[0].cert, "root");
  assert_string_equal(st[0].format, "der");
  assert_string_equal(gh_step_kind_name(st[0].kind), "sap_store_cert");
  assert_int_equal(st[1].kind, GH_STEP_SAP_REFERENCE);
  assert_string_equal(st[1].sap_name, "r1");
  assert_string_equal(st[1].store, "ts1");
  assert_string_equal(gh_step_expect(&st[1], "sap-2023").message, "CERTIFICATE");
  assert_int_equal(st[2].kind, GH_STEP_SAP_PROVIDER);
  assert_string_equal(st[2].sap_name, "p1");
  assert_string_equal(st[2].backend, "echo");
  assert_string_equal(st[2].trust_store, "ref://r1");
  assert_int_equal(st[0].key_store, 0);
  assert_int_equal(st[3].key_store, 1);
  assert_string_equal(st[3].format, "pkcs12");
  gh_cases_free(c, count);

  static const struct {
    const char *name, *profiles, *steps;
    int line, column;
    const char *message;
  } bad[] = {
      {"outside-sap", "wso2", "  - sap_reference: {name: r1, store: ts1}\n", 7, 20,
       "SAP's objects need profiles: [sap]"},
      {"every-profile", "sap, wso2-4", "  - sap_reference: {name: r1, store: ts1}\n", 7, 20,
       "SAP's objects need profiles: [sap]"},
      {"no-cert", "sap", "  - sap_store_cert: {store: ts1, name: a}\n", 7, 21,
       "missing key 'cert'"},
      {"bad-store", "sap", "  - sap_reference: {name: r1, store: \"a/b\"}\n", 7, 38, "store"},
      {"bad-ref", "sap", "  - sap_provider: {name: p1, backend: echo, trust_store: \"ref://\"}\n",
       7, 58, "trust_store"},
      {"unknown-backend", "sap", "  - sap_provider: {name: p1, backend: nope, trust_store: ts1}\n",
       7, 39, "nope"},
      {"key-format-in-trust-store", "sap",
       "  - sap_store_cert: {store: ts1, name: a, cert: root, format: sapjar}\n", 7, 63,
       "sapjar carries a private key: it needs type: key"},
      {"bad-type", "sap", "  - sap_store_cert: {store: ts1, type: vault, name: a, cert: root}\n", 7,
       40, "type"},
      {"unknown-key", "sap", "  - sap_reference: {name: r1, store: ts1, type: trust}\n", 7, 43,
       "type"},
  };
  int failures = 0;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(yaml, sizeof(yaml), head, bad[i].profiles, bad[i].steps);
    test_write(path, yaml, strlen(yaml));
    if (load_fails(path, bad[i].line, bad[i].column, bad[i].message) != 0) {
      print_error("case %s\n", bad[i].name);
      failures++;
    }
  }
  assert_int_equal(failures, 0);
  free(path);
}

static void check_full_steps(const gh_case_spec *c) {
  assert_int_equal(c->step_count, 13);
  const gh_step *s = c->steps;
  check_full_call(&s[0]);

  assert_int_equal(s[1].kind, GH_STEP_ADVANCE);
  assert_int_equal(s[1].duration_ms, 120 * MS_S);
  assert_int_equal(s[1].line, 45);
  assert_expect_empty(&s[1].expect);
  assert_int_equal(s[2].kind, GH_STEP_ADVANCE_TO);
  assert_int_equal(s[2].duration_ms, 599 * MS_S);

  assert_int_equal(s[3].kind, GH_STEP_UPLOAD_CERT);
  assert_string_equal(s[3].alias, "echo");
  assert_string_equal(s[3].backend, "echo");
  assert_null(s[3].endpoint);
  assert_string_equal(s[3].cert, "echo-cert");
  assert_string_equal(s[3].format, "der");
  assert_int_equal(s[3].expect.status, 201);
  assert_string_equal(s[3].expect.message, "created");
  STRINGS(s[3].expect.body_contains, s[3].expect.body_contains_count, "alias");
  gh_expect m = gh_step_expect(&s[3], "wso2");
  assert_int_equal(m.status, 201);
  assert_string_equal(m.message, "Certificate added");
  m = gh_step_expect(&s[3], "sap");
  assert_string_equal(m.message, "created");

  assert_int_equal(s[4].kind, GH_STEP_UPLOAD_CERT);
  assert_string_equal(s[4].alias, "raw");
  assert_null(s[4].backend);
  assert_string_equal(s[4].endpoint, "https://localhost:9443/x");
  assert_null(s[4].cert);
  assert_string_equal(s[4].format, "garbage");
  assert_int_equal(s[4].expect.status, 400);

  assert_int_equal(s[5].kind, GH_STEP_REPLACE_CERT);
  assert_string_equal(s[5].alias, "echo");
  assert_string_equal(s[5].cert, "self");
  assert_string_equal(s[5].format, "pkcs7");
  assert_expect_empty(&s[5].expect);
  assert_int_equal(s[5].override_count, 0);

  assert_int_equal(s[6].kind, GH_STEP_DELETE_CERT);
  assert_string_equal(s[6].alias, "echo");
  assert_int_equal(s[6].expect.status, 200);
  assert_int_equal(s[7].kind, GH_STEP_CREATE_API);
  assert_string_equal(s[7].api, "later");
  assert_int_equal(s[7].expect.status, 201);
  assert_int_equal(s[8].kind, GH_STEP_DELETE_API);
  assert_string_equal(s[8].api, "test");
  assert_int_equal(s[9].kind, GH_STEP_RELOAD);
  assert_int_equal(s[10].kind, GH_STEP_RESTART_GATEWAY);
  assert_int_equal(s[11].kind, GH_STEP_ADVANCE_TO); /* counts from the restart */
  assert_int_equal(s[11].duration_ms, 1 * MS_S);

  assert_int_equal(s[12].kind, GH_STEP_CALL);
  assert_string_equal(s[12].api, "later");
  assert_string_equal(s[12].path, "/");
  assert_string_equal(s[12].method, "GET");
  assert_int_equal(s[12].header_count, 0);
  assert_expect_empty(&s[12].expect);
  m = gh_step_expect(&s[12], "wso2");
  assert_expect_empty(&m);
}

static void test_full_example(void **state) {
  (void)state;
  const char *path = test_fixture_path("scenarios-good/full.yaml");
  size_t count = 0;
  gh_case_spec *cases = load_ok(path, &count);
  assert_int_equal(count, 1);
  check_full_top(&cases[0], path);
  check_full_pki(&cases[0]);
  check_full_backends_apis(&cases[0]);
  check_full_steps(&cases[0]);
  gh_cases_free(cases, count);
}

static void test_lookups(void **state) {
  (void)state;
  size_t count = 0;
  gh_case_spec *cases = load_ok(test_fixture_path("scenarios-good/full.yaml"), &count);
  const gh_case_spec *c = &cases[0];
  assert_ptr_equal(gh_case_pki(c, "inter"), &c->pki[1]);
  assert_null(gh_case_pki(c, "none"));
  assert_null(gh_case_pki(c, NULL));
  assert_ptr_equal(gh_case_backend(c, "down"), &c->backends[1]);
  assert_null(gh_case_backend(c, "echo-cert"));
  assert_ptr_equal(gh_case_api(c, "later"), &c->apis[1]);
  assert_null(gh_case_api(c, "echo"));
  assert_int_equal(gh_case_has_profile(c, "wso2"), 1);
  assert_int_equal(gh_case_has_profile(c, "sap"), 1);
  assert_int_equal(gh_case_has_profile(c, "kong"), 0);
  static const char *const kinds[] = {"call",
                                      "advance",
                                      "advance_to",
                                      "upload_endpoint_cert",
                                      "replace_endpoint_cert",
                                      "delete_endpoint_cert",
                                      "create_api",
                                      "delete_api",
                                      "reload",
                                      "restart_gateway"};
  for (int k = GH_STEP_CALL; k <= GH_STEP_RESTART_GATEWAY; k++)
    assert_string_equal(gh_step_kind_name((gh_step_kind)k), kinds[k]);
  assert_string_equal(gh_step_kind_name((gh_step_kind)99), "unknown");
  gh_cases_free(cases, count);
  gh_cases_free(NULL, 0);
}

/* A minimal file: every default the header promises. */
static void test_defaults(void **state) {
  (void)state;
  static const char text[] = "name: defaults\n"
                             "features: [f]\n"
                             "pki: {leaf: {}}\n"
                             "backends: {echo: {cert: leaf}}\n"
                             "apis: {a: {context: /a, version: v1, backend: echo}}\n"
                             "steps:\n"
                             "  - call: {api: a}\n"
                             "  - upload_endpoint_cert: {alias: x, backend: echo, cert: leaf}\n"
                             "  - reload:\n";
  char *path = test_scratch_path("defaults.yaml");
  test_write(path, text, sizeof(text) - 1);
  size_t count = 0;
  gh_case_spec *cases = load_ok(path, &count);
  const gh_case_spec *c = &cases[0];
  assert_string_equal(c->name, "defaults");
  assert_int_equal(c->profile_count, 0);
  assert_int_equal(gh_case_has_profile(c, "sap"), 1);
  assert_int_equal(c->ref_count, 0);
  assert_int_equal(c->need_count, 0);
  assert_string_equal(c->epoch, "2030-01-01T00:00:00Z");
  assert_int_equal(c->epoch_s, 1893456000);
  assert_int_equal(c->gateway.sender_reload_interval_ms, 0);
  assert_null(c->gateway.fault_format);
  assert_int_equal(c->gateway.backend_timeout_ms, 0);
  assert_int_equal(c->gateway.profile_count, 0);
  assert_int_equal(c->gateway.has_default_profile, 0);
  assert_int_equal(c->pki[0].kind, GH_PKI_SERVER);
  assert_int_equal(c->pki[0].not_before_ms, -3600 * MS_S);
  assert_int_equal(c->pki[0].not_after_ms, 365 * MS_DAY);
  assert_string_equal(c->backends[0].client_auth, "none");
  assert_string_equal(c->backends[0].fault, "none");
  assert_string_equal(c->backends[0].tls, "any");
  assert_string_equal(c->apis[0].host, "localhost");
  assert_int_equal(c->apis[0].create, 1);
  assert_int_equal(c->apis[0].default_version, 0);
  assert_string_equal(c->steps[0].path, "/");
  assert_string_equal(c->steps[0].method, "GET");
  assert_int_equal(c->steps[0].expect.backend_reached, GH_UNSET);
  assert_string_equal(c->steps[1].format, "pem");
  assert_int_equal(c->steps[2].kind, GH_STEP_RELOAD);
  gh_cases_free(cases, count);
  free(path);
}

/* ---- the matrix ------------------------------------------------------------ */

static void test_matrix(void **state) {
  (void)state;
  size_t count = 0;
  gh_case_spec *cases = load_ok(test_fixture_path("scenarios-good/matrix.yaml"), &count);
  assert_int_equal(count, 3);
  static const struct {
    const char *name;
    int64_t interval_ms;
    const char *text;
    long status;
    const char *tls;
  } rows[] = {
      {"reload interval[interval=600s,status=200,tls=1.2]", 600 * MS_S, "600s", 200, "1.2"},
      {"reload interval[interval=1h,status=500,tls=1.3]", 3600 * MS_S, "1h", 500, "1.3"},
      {"reload interval[interval=90,status=503,tls=any]", 90 * MS_S, "90", 503, "any"},
  };
  for (size_t i = 0; i < 3; i++) {
    const gh_case_spec *c = &cases[i];
    char buf[128];
    assert_string_equal(c->name, rows[i].name);
    assert_string_equal(c->scenario, "reload interval");
    assert_int_equal(c->gateway.sender_reload_interval_ms, rows[i].interval_ms);
    assert_int_equal(c->pki[1].not_after_ms, rows[i].interval_ms);
    snprintf(buf, sizeof(buf), "host-%s.test", rows[i].tls);
    STRINGS(c->pki[1].san, c->pki[1].san_count, buf);
    assert_string_equal(c->backends[0].tls, rows[i].tls);
    snprintf(buf, sizeof(buf), "/t-%s", rows[i].text);
    assert_string_equal(c->apis[0].context, buf);
    assert_int_equal(c->steps[0].duration_ms, rows[i].interval_ms);
    const gh_step *call = &c->steps[1];
    snprintf(buf, sizeof(buf), "/p/%ld", rows[i].status);
    assert_string_equal(call->path, buf);
    snprintf(buf, sizeof(buf), "%s/%ld", rows[i].text, rows[i].status);
    assert_string_equal(call->headers[0].value, buf);
    assert_int_equal(call->expect.status, rows[i].status);
    snprintf(buf, sizeof(buf), "tls %s", rows[i].tls);
    STRINGS(call->expect.body_contains, call->expect.body_contains_count, "costs ${interval}", buf);
    assert_string_equal(call->expect.headers[0].value, rows[i].text);
  }
  gh_cases_free(cases, count);
}

/* An unknown ${x} deep in a nested value is an error at its scalar, naming the row. */
static void test_matrix_unknown_param(void **state) {
  (void)state;
  static const char text[] = "name: m\n"
                             "features: [f]\n"
                             "matrix: {params: [a, b], rows: [[1, 2], [3, 4]]}\n"
                             "pki:\n"
                             "  leaf: {san: [localhost, \"h-${a}\", \"h-${c}\"]}\n"
                             "steps:\n"
                             "  - advance: ${b}\n";
  char *path = test_scratch_path("unknown-param.yaml");
  test_write(path, text, sizeof(text) - 1);
  assert_int_equal(
      load_fails(path, 5, 37, "unknown parameter ${c}; the matrix params are: a, b (matrix row 1)"),
      0);
  free(path);
}

/* ---- the corpus of mistakes ---------------------------------------------- */

typedef struct bad_case {
  char file[128];
  int line;
  int column;
  char text[400];
} bad_case;

#define MIN_BAD 40
#define MAX_BAD 400

static size_t read_manifest(const char *dir, bad_case *out, size_t max) {
  char path[PATH_SIZE];
  join_path(path, dir, "MANIFEST");
  FILE *f = fopen(path, "r");
  if (f == NULL)
    fail_msg("cannot open %s", path);
  char line[600];
  size_t n = 0;
  while (fgets(line, sizeof(line), f) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0] == '#' || line[0] == '\0')
      continue;
    if (n == max)
      fail_msg("MANIFEST: more than %zu entries", max);
    bad_case *b = &out[n];
    /* <file> <line> <column> <text> */
    size_t flen = strcspn(line, " ");
    char *p = line + flen;
    char *end = NULL;
    long at[2] = {0, 0};
    int ok = flen > 0 && flen < sizeof(b->file) && *p == ' ';
    for (int k = 0; ok && k < 2; k++) {
      at[k] = strtol(p + 1, &end, 10);
      ok = end != p + 1 && *end == ' ' && at[k] >= 0 && at[k] < 100000;
      p = end;
    }
    if (!ok || p[1] == '\0')
      fail_msg("MANIFEST: cannot read '%s'", line);
    memcpy(b->file, line, flen);
    b->file[flen] = '\0';
    b->line = (int)at[0];
    b->column = (int)at[1];
    snprintf(b->text, sizeof(b->text), "%s", p + 1);
    n++;
  }
  fclose(f);
  return n;
}

static void test_bad_corpus(void **state) {
  (void)state;
  char dir[PATH_SIZE];
  snprintf(dir, sizeof(dir), "%s", test_fixture_path("scenarios-bad"));
  bad_case *cases = calloc(MAX_BAD, sizeof(*cases));
  assert_non_null(cases);
  size_t n = read_manifest(dir, cases, MAX_BAD);
  int failures = 0;
  for (size_t i = 0; i < n; i++) {
    char path[PATH_SIZE];
    join_path(path, dir, cases[i].file);
    failures += load_fails(path, cases[i].line, cases[i].column, cases[i].text);
  }
  /* every file in the directory is listed, so none is silently skipped */
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  size_t files = 0;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || strcmp(e->d_name, "MANIFEST") == 0)
      continue;
    files++;
    size_t k = 0;
    while (k < n && strcmp(cases[k].file, e->d_name) != 0)
      k++;
    if (k == n) {
      print_error("%s is not listed in MANIFEST\n", e->d_name);
      failures++;
    }
  }
  closedir(d);
  free(cases);
  print_message("scenarios-bad: %zu cases, %zu files\n", n, files);
  assert_int_equal(failures, 0);
  assert_int_equal(files, n);
  assert_true(n >= MIN_BAD);
}

/* ---- bounds too big to commit ----------------------------------------------- */

static const char minimal[] = "name: x\nfeatures: [f]\nsteps:\n  - advance: 1s\n";

static void test_size_bounds(void **state) {
  (void)state;
  char *path = test_scratch_path("big.yaml");
  size_t limit = (size_t)1024 * 1024;
  char *buf = malloc(limit + 1);
  assert_non_null(buf);
  /* exactly 1 MiB: a valid scenario padded with a comment loads */
  memset(buf, '#', limit);
  memcpy(buf, minimal, sizeof(minimal) - 1);
  buf[limit - 1] = '\n';
  test_write(path, buf, limit);
  size_t count = 0;
  gh_case_spec *cases = load_ok(path, &count);
  gh_cases_free(cases, count);
  /* one byte more is refused before parsing */
  buf[limit - 1] = '#';
  buf[limit] = '\n';
  test_write(path, buf, limit + 1);
  assert_int_equal(load_fails(path, 0, 0, "larger than 1 MiB"), 0);
  free(buf);

  /* 10001 nodes in a list */
  size_t cap = 64 + (size_t)10001 * 3;
  buf = malloc(cap);
  assert_non_null(buf);
  size_t o = (size_t)snprintf(buf, cap, "name: x\nfeatures: [f]\nrefs: [");
  for (int i = 0; i < 10001; i++)
    o += (size_t)snprintf(buf + o, cap - o, "a,");
  o += (size_t)snprintf(buf + o, cap - o, "]\n");
  test_write(path, buf, o);
  /* root, 4 key/value scalars, features list and its item, refs list: 8 nodes;
   * the 10001st is refs item 9993, on line 3 at column 8 + 2 * 9992 */
  assert_int_equal(load_fails(path, 3, 8 + 2 * 9992, "more than 10000 YAML nodes"), 0);
  free(buf);

  /* nesting in block style: 40 maps deep */
  cap = 4096;
  buf = malloc(cap);
  assert_non_null(buf);
  o = (size_t)snprintf(buf, cap, "name: x\n");
  for (int i = 0; i < 40; i++)
    o += (size_t)snprintf(buf + o, cap - o, "%*sk:\n", 2 * i, "");
  test_write(path, buf, o);
  /* root is level 1; the map starting on line 34 (column 65) is level 33 */
  assert_int_equal(load_fails(path, 34, 65, "nesting deeper than 32 levels"), 0);
  free(buf);

  /* the billion laughs: refused at the first anchor */
  static const char lol[] = "name: x\nfeatures: [f]\n"
                            "a: &a [\"lol\", \"lol\", \"lol\", \"lol\"]\n"
                            "b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
                            "c: [*b, *b, *b, *b, *b, *b, *b, *b]\n";
  test_write(path, lol, sizeof(lol) - 1);
  assert_int_equal(load_fails(path, 3, 4, "aliases are not supported"), 0);
  free(path);
}

/* A matrix or a ${param} that would multiply a file past the output budget. */
static void test_expansion_bounds(void **state) {
  (void)state;
  char *path = test_scratch_path("expand.yaml");
  size_t cap = (size_t)1024 * 1024;
  char *buf = malloc(cap);
  assert_non_null(buf);
  /* 600 KB of refs times 200 rows is 120 MB */
  size_t o = (size_t)snprintf(buf, cap,
                              "name: x\nfeatures: [f]\nsteps: [{advance: 1s}]\n"
                              "matrix:\n  params: [p]\n  rows:\n");
  for (int i = 0; i < 200; i++)
    o += (size_t)snprintf(buf + o, cap - o, "    - [r%d]\n", i);
  o += (size_t)snprintf(buf + o, cap - o, "refs: [\"");
  memset(buf + o, 'x', 600000);
  o += 600000;
  o += (size_t)snprintf(buf + o, cap - o, "\"]\n");
  test_write(path, buf, o);
  gh_case_spec *cases = NULL;
  size_t count = 0;
  gh_load_error err;
  assert_int_equal(gh_scenario_load(path, &cases, &count, &err), -1);
  assert_null(cases);
  assert_non_null(strstr(err.message, "expands to more than 64 MiB"));

  /* one row value of 100 KB used 5000 times in one scalar is 500 MB */
  o = (size_t)snprintf(buf, cap,
                       "name: x\nfeatures: [f]\nsteps: [{advance: 1s}]\n"
                       "matrix: {params: [p], rows: [[\"");
  memset(buf + o, 'y', 100000);
  o += 100000;
  o += (size_t)snprintf(buf + o, cap - o, "\"]]}\nrefs: [\"");
  for (int i = 0; i < 5000; i++)
    o += (size_t)snprintf(buf + o, cap - o, "${p}");
  o += (size_t)snprintf(buf + o, cap - o, "\"]\n");
  test_write(path, buf, o);
  assert_int_equal(gh_scenario_load(path, &cases, &count, &err), -1);
  assert_null(cases);
  assert_int_equal(err.line, 5);
  assert_int_equal(err.column, 8);
  assert_non_null(strstr(err.message, "expands to more than 64 MiB"));
  free(buf);
  free(path);
}

static void test_bad_arguments(void **state) {
  (void)state;
  gh_case_spec *cases = (gh_case_spec *)1;
  size_t count = 7;
  gh_load_error err;
  assert_int_equal(gh_scenario_load("/nonexistent/x.yaml", &cases, &count, &err), -1);
  assert_null(cases);
  assert_int_equal(count, 0);
  assert_int_equal(err.line, 0);
  assert_string_equal(err.file, "/nonexistent/x.yaml");
  assert_non_null(strstr(err.message, "cannot open"));
  assert_int_equal(gh_scenario_load(NULL, &cases, &count, &err), -1);
  assert_int_equal(gh_scenario_load("x", NULL, &count, &err), -1);
  assert_int_equal(gh_scenario_load("x", &cases, NULL, &err), -1);
  assert_int_equal(gh_scenario_load("x", &cases, &count, NULL), -1);
  /* a directory */
  assert_int_equal(gh_scenario_load(test_scratch_dir(), &cases, &count, &err), -1);
  assert_null(cases);
}

/* ---- durations ------------------------------------------------------------- */

static void test_durations(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int ok;
    int64_t ms;
  } table[] = {
      {"0", 1, 0},
      {"90", 1, 90000},
      {"90s", 1, 90000},
      {"250ms", 1, 250},
      {"15m", 1, 900000},
      {"2h", 1, 7200000},
      {"30d", 1, 2592000000},
      {"-1d", 1, -86400000},
      {"-1h", 1, -3600000},
      {"-0", 1, 0},
      {"007s", 1, 7000},
      {"9223372036854775807ms", 1, INT64_MAX},
      {"-9223372036854775807ms", 1, -INT64_MAX},
      {"9223372036854775s", 1, INT64_C(9223372036854775000)},
      {"106751991167d", 1, INT64_C(106751991167) * 86400000},
      {"9223372036854775808ms", 0, 0},
      {"9223372036854776s", 0, 0},
      {"106751991168d", 0, 0},
      {"99999999999999999999999", 0, 0},
      {"", 0, 0},
      {"-", 0, 0},
      {"s", 0, 0},
      {"ms", 0, 0},
      {"+1s", 0, 0},
      {"1.5s", 0, 0},
      {"1 s", 0, 0},
      {" 1s", 0, 0},
      {"1s ", 0, 0},
      {"1S", 0, 0},
      {"1sec", 0, 0},
      {"1ss", 0, 0},
      {"1msx", 0, 0},
      {"1y", 0, 0},
      {"--1", 0, 0},
      {"0x10", 0, 0},
      {"1h30m", 0, 0},
  };
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
    int64_t ms = 12345;
    int rc = gh_duration_parse(table[i].text, &ms);
    if (rc != (table[i].ok ? 0 : -1))
      fail_msg("'%s': got %d, expected %s", table[i].text, rc, table[i].ok ? "0" : "-1");
    if (table[i].ok && ms != table[i].ms)
      fail_msg("'%s': got %lld ms, expected %lld", table[i].text, (long long)ms,
               (long long)table[i].ms);
    if (!table[i].ok && ms != 12345)
      fail_msg("'%s': failed but wrote the output", table[i].text);
  }
  int64_t ms = 0;
  assert_int_equal(gh_duration_parse(NULL, &ms), -1);
  assert_int_equal(gh_duration_parse("1s", NULL), -1);
}

/* ---- hostile input ----------------------------------------------------------- */

/* Loads path: it must either load or fail with a message; returns 1 if loaded. */
static int load_any(const char *path) {
  gh_case_spec *cases = NULL;
  size_t count = 0;
  gh_load_error err;
  int rc = gh_scenario_load(path, &cases, &count, &err);
  if (rc == 0) {
    assert_non_null(cases);
    assert_true(count >= 1);
    for (size_t i = 0; i < count; i++) /* touch what a runner reads first */
      assert_non_null(cases[i].name);
    gh_cases_free(cases, count);
    return 1;
  }
  assert_int_equal(rc, -1);
  assert_null(cases);
  assert_int_equal(count, 0);
  assert_true(err.message[0] != '\0');
  assert_true(err.line >= 0 && err.column >= 0);
  return 0;
}

/* An in-memory file the loader opens by path (/proc/self/fd/N): the hostile
 * loop rewrites it tens of thousands of times, which on a disk with discard
 * enabled costs a block discard per truncation. */
typedef struct memfile {
  int fd;
  char path[64];
} memfile;

static void memfile_open(memfile *m) {
  m->fd = memfd_create("scenario", 0);
  assert_true(m->fd >= 0);
  snprintf(m->path, sizeof(m->path), "/proc/self/fd/%d", m->fd);
}

static void memfile_set(const memfile *m, const void *data, size_t len) {
  assert_int_equal(ftruncate(m->fd, 0), 0);
  if (len > 0)
    assert_int_equal(pwrite(m->fd, data, len, 0), (ssize_t)len);
}

static void hostile(const char *fixture) {
  size_t len = 0;
  char *orig = read_all(test_fixture_path(fixture), &len);
  char *buf = malloc(len);
  assert_non_null(buf);
  memfile mf;
  memfile_open(&mf);
  size_t loaded = 0;
  size_t runs = 0;
  /* every truncation */
  for (size_t cut = 0; cut < len; cut++, runs++) {
    memfile_set(&mf, orig, cut);
    loaded += (size_t)load_any(mf.path);
  }
  /* every byte replaced by 4 of 12 meaningful ones (rotating with the position) */
  static const char flips[] = {'\0', '\xff', '[', '{', ':', '&', '*', '!', '$', '\n', '-', '"'};
  for (size_t i = 0; i < len; i++) {
    for (size_t f = 0; f < 4; f++, runs++) {
      memcpy(buf, orig, len);
      buf[i] = flips[(i + f * 3) % sizeof(flips)];
      memfile_set(&mf, buf, len);
      loaded += (size_t)load_any(mf.path);
    }
  }
  /* a few thousand random multi-byte mutations (fixed seed: reproducible) */
  uint32_t x = 2463534242u;
  for (int round = 0; round < 3000; round++, runs++) {
    memcpy(buf, orig, len);
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    int edits = 1 + (int)(x % 4);
    for (int k = 0; k < edits; k++) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      buf[x % len] = (char)(x >> 24);
    }
    memfile_set(&mf, buf, len);
    loaded += (size_t)load_any(mf.path);
  }
  print_message("%s: %zu mutated loads, %zu loaded\n", fixture, runs, loaded);
  close(mf.fd);
  free(buf);
  free(orig);
}

static void test_hostile_full(void **state) {
  (void)state;
  hostile("scenarios-good/full.yaml");
}

static void test_hostile_matrix(void **state) {
  (void)state;
  hostile("scenarios-good/matrix.yaml");
}

/* ---- securing APIs -------------------------------------------------------- */

static void check_security_gateway(const gh_case_spec *c) {
  const gh_gateway_spec *g = &c->gateway;
  assert_string_equal(g->verify_client, "require");
  assert_int_equal(g->profile_reload_interval_ms, 600 * MS_S);
  assert_int_equal(g->truststore_reload_period_ms, 120 * MS_S);
  assert_int_equal(g->truststore_initial_delay_ms, 0);
  assert_string_equal(g->certificate_match, "serial_subject");
  assert_int_equal(g->chain_validation, 1);
  assert_int_equal(g->has_mutual_ssl, 1);
  assert_string_equal(g->certificate_header, "X-SSL-Cert");
  assert_int_equal(g->header_encode, 0);
  assert_int_equal(g->client_validation, 1);
  STRINGS(g->trusted_load_balancers, g->trusted_load_balancer_count, "lb", "client");
  assert_int_equal(g->has_throttling, 1);
  assert_int_equal(g->per_certificate, 1);
  assert_int_equal(g->tier_count, 2);
  assert_string_equal(g->tiers[0].name, "3PerMin");
  assert_int_equal(g->tiers[0].requests, 3);
  assert_int_equal(g->tiers[0].window_ms, 60 * MS_S); /* the default window */
  assert_string_equal(g->tiers[1].name, "Gold");
  assert_int_equal(g->tiers[1].requests, 0);
  assert_int_equal(g->tiers[1].window_ms, 3600 * MS_S);
  assert_int_equal(g->has_oauth, 1);
  assert_string_equal(g->oauth_issuer, "https://km.example/oauth2/token");
  assert_string_equal(g->oauth_key, "km");
  assert_string_equal(g->oauth_alg, "RS256"); /* from km's rsa2048 key */
  assert_int_equal(c->pki[0].key, GH_KEY_RSA3072);
  assert_int_equal(c->pki[1].key, GH_KEY_EC); /* the default */
  assert_int_equal(c->pki[2].key, GH_KEY_EC);
  assert_int_equal(c->pki[3].key, GH_KEY_RSA2048);
}

static void check_security_steps(const gh_case_spec *c) {
  assert_int_equal(c->step_count, 9);
  const gh_step *s = c->steps;
  assert_int_equal(s[0].kind, GH_STEP_UPLOAD_CLIENT_CERT);
  assert_string_equal(gh_step_kind_name(s[0].kind), "upload_client_cert");
  assert_string_equal(s[0].api, "test");
  assert_string_equal(s[0].alias, "c1");
  assert_string_equal(s[0].cert, "client");
  assert_string_equal(s[0].tier, "3PerMin");
  assert_string_equal(s[0].format, "der");
  assert_int_equal(s[0].expect.status, 201);
  assert_string_equal(s[1].alias, "");
  assert_null(s[1].cert);
  assert_string_equal(s[1].tier, "Unlimited");
  assert_string_equal(s[1].format, "garbage");
  assert_string_equal(s[1].expect.message, "alias");
  assert_int_equal(s[2].kind, GH_STEP_SUBSCRIBE);
  assert_string_equal(gh_step_kind_name(s[2].kind), "subscribe");
  assert_string_equal(s[2].application, "app1");
  assert_string_equal(s[2].api, "test");
  assert_string_equal(s[2].tier, "Unlimited");
  assert_int_equal(s[2].expect.set, 0);
  assert_string_equal(s[3].tier, "Gold");
  assert_int_equal(s[3].expect.status, 201);

  const gh_step *call = &s[4];
  assert_int_equal(call->kind, GH_STEP_CALL);
  assert_string_equal(call->client_cert, "client");
  assert_int_equal(call->token.kind, GH_TOKEN_JWT);
  assert_string_equal(call->token.application, "app2");
  assert_int_equal(call->token.lifetime_ms, 600 * MS_S);
  assert_int_equal(call->token.issued_at_ms, -300 * MS_S);
  assert_int_equal(call->token.has_not_before, 1);
  assert_int_equal(call->token.not_before_ms, -60 * MS_S);
  assert_string_equal(call->token.key, "lb");
  assert_string_equal(call->token.issuer, "https://other.example");
  assert_string_equal(call->header_cert, "client");
  assert_string_equal(call->header_encoding, "base64-der");

  call = &s[5]; /* expired: the first subscribed application, issued 2 h ago for 1 h */
  assert_string_equal(call->client_cert, "none");
  assert_int_equal(call->token.kind, GH_TOKEN_JWT);
  assert_string_equal(call->token.application, "app1");
  assert_int_equal(call->token.issued_at_ms, -7200 * MS_S);
  assert_int_equal(call->token.lifetime_ms, 3600 * MS_S);
  assert_int_equal(call->token.has_not_before, 0);
  assert_null(call->token.key);
  assert_null(call->token.issuer);
  assert_null(call->header_cert);
  assert_string_equal(call->header_encoding, "garbage");

  call = &s[6];
  assert_null(call->client_cert);
  assert_int_equal(call->token.kind, GH_TOKEN_GARBAGE);
  assert_null(call->token.application);
  assert_string_equal(call->header_cert, "lb");
  assert_string_equal(call->header_encoding, "url-pem"); /* the default */

  call = &s[7]; /* token defaults */
  assert_int_equal(call->token.kind, GH_TOKEN_JWT);
  assert_int_equal(call->token.issued_at_ms, 0);
  assert_int_equal(call->token.lifetime_ms, 3600 * MS_S);
  assert_null(call->header_encoding);

  assert_int_equal(s[8].kind, GH_STEP_DELETE_CLIENT_CERT);
  assert_string_equal(gh_step_kind_name(s[8].kind), "delete_client_cert");
  assert_string_equal(s[8].api, "test");
  assert_string_equal(s[8].alias, "c1");
  assert_null(s[8].tier);
  assert_int_equal(s[8].expect.status, 200);
}

static void test_security_example(void **state) {
  (void)state;
  size_t count = 0;
  gh_case_spec *cases = load_ok(test_fixture_path("scenarios-good/security.yaml"), &count);
  assert_int_equal(count, 1);
  check_security_gateway(&cases[0]);
  check_security_steps(&cases[0]);
  gh_cases_free(cases, count);
  /* a case without them: every setting unset, no token, no certificate header */
  cases = load_ok(test_fixture_path("scenarios-good/full.yaml"), &count);
  const gh_gateway_spec *g = &cases[0].gateway;
  assert_null(g->verify_client);
  assert_int_equal(g->profile_reload_interval_ms, -1);
  assert_int_equal(g->truststore_reload_period_ms, -1);
  assert_int_equal(g->truststore_initial_delay_ms, -1);
  assert_null(g->certificate_match);
  assert_int_equal(g->chain_validation, -1);
  assert_int_equal(g->has_mutual_ssl, 0);
  assert_int_equal(g->header_encode, -1);
  assert_int_equal(g->client_validation, -1);
  assert_int_equal(g->has_throttling, 0);
  assert_int_equal(g->per_certificate, -1);
  assert_int_equal(g->has_oauth, 0);
  assert_int_equal(cases[0].pki[0].key, GH_KEY_EC);
  assert_int_equal(cases[0].steps[0].token.kind, GH_TOKEN_NONE);
  assert_null(cases[0].steps[0].client_cert);
  assert_null(cases[0].steps[0].header_encoding);
  gh_cases_free(cases, count);
}

/* The keys for real gateways: session reuse (with "default" from a matrix),
 * the load balancer in front, per-API backend TLS, named sessions and
 * connections, rejection classes, resumed, refused. */
static void test_real_gateway_keys(void **state) {
  (void)state;
  size_t count = 0;
  gh_case_spec *cases = load_ok(test_fixture_path("scenarios-good/real.yaml"), &count);
  assert_int_equal(count, 3);
  assert_int_equal(cases[0].gateway.upstream_session_reuse, -1);
  assert_int_equal(cases[1].gateway.upstream_session_reuse, 0);
  assert_int_equal(cases[2].gateway.upstream_session_reuse, 1);
  const gh_case_spec *c = &cases[0];
  assert_string_equal(c->gateway.front_lb, "lb");
  assert_int_equal(c->apis[0].backend_trust_count, 2);
  assert_string_equal(c->apis[0].backend_trust[1], "lb");
  assert_string_equal(c->apis[0].backend_key, "lb");
  assert_int_equal(c->apis[1].backend_trust_count, 0);
  assert_string_equal(c->apis[1].backend_key, "none");
  const gh_step *s = &c->steps[0];
  assert_string_equal(s->session, "s1");
  assert_string_equal(s->connection, "k1");
  assert_string_equal(s->via, "lb");
  assert_string_equal(s->expect.reject, "backend-tls");
  assert_int_equal(s->expect.resumed, GH_YES);
  assert_int_equal(s->expect.refused, GH_UNSET);
  s = &c->steps[1];
  assert_null(s->session);
  assert_null(s->connection);
  assert_null(s->via);
  assert_string_equal(s->expect.reject, "client-cert");
  assert_int_equal(s->expect.resumed, GH_NO);
  assert_int_equal(c->steps[2].expect.refused, GH_YES);
  assert_int_equal(c->steps[2].expect.resumed, GH_UNSET);
  gh_cases_free(cases, count);
  /* a case without them: everything unset */
  cases = load_ok(test_fixture_path("scenarios-good/full.yaml"), &count);
  assert_int_equal(cases[0].gateway.upstream_session_reuse, -1);
  assert_null(cases[0].gateway.front_lb);
  assert_null(cases[0].apis[0].backend_key);
  assert_null(cases[0].steps[0].expect.reject);
  assert_int_equal(cases[0].steps[0].expect.resumed, GH_UNSET);
  gh_cases_free(cases, count);
}

/* quirks: a list, one name, none, and a matrix turning one on and off; the
 * refusals are in scenarios-bad (quirks-*.yaml). */
static void test_quirks(void **state) {
  (void)state;
  static const struct {
    const char *label, *yaml_quirks, *matrix;
    size_t cases;
    const char *first[2]; /* each case's first quirk, NULL: none */
  } rows[] = {
      {"list", "quirks: [deleted-alias-taken, some-other-quirk]\n", "", 1, {"deleted-alias-taken"}},
      {"one name", "quirks: deleted-alias-taken\n", "", 1, {"deleted-alias-taken"}},
      {"none", "quirks: none\n", "", 1, {NULL}},
      {"empty list", "quirks: []\n", "", 1, {NULL}},
      {"matrix on/off",
       "quirks: ${q}\n",
       "matrix: {params: [q], rows: [[deleted-alias-taken], [none]]}\n",
       2,
       {"deleted-alias-taken", NULL}},
      {"absent", "", "", 1, {NULL}},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    print_message("row: %s\n", rows[i].label);
    char text[1024];
    snprintf(text, sizeof(text),
             "name: q\nfeatures: [f]\nprofiles: [wso2-4]\n%s%ssteps:\n  - advance: 1s\n",
             rows[i].yaml_quirks, rows[i].matrix);
    gh_case_spec *cases = NULL;
    size_t count = 0;
    gh_load_error err;
    if (gh_scenario_load_text("q.yaml", (const unsigned char *)text, strlen(text), &cases, &count,
                              &err) != 0)
      fail_msg("%s: %s", rows[i].label, err.message);
    assert_int_equal(count, rows[i].cases);
    for (size_t k = 0; k < count; k++) {
      const gh_gateway_spec *g = &cases[k].gateway;
      if (rows[i].first[k] == NULL) {
        assert_int_equal(g->quirk_count, 0);
        assert_null(g->quirks);
      } else {
        assert_true(g->quirk_count >= 1);
        assert_string_equal(g->quirks[0], rows[i].first[k]);
      }
    }
    if (i == 0) {
      assert_int_equal(cases[0].gateway.quirk_count, 2);
      assert_string_equal(cases[0].gateway.quirks[1], "some-other-quirk");
    }
    gh_cases_free(cases, count);
  }
}

/* redeploy_api: an API name (as delete_api), the admin expectations; an
 * unknown API and a map are refused where they are written. */
static void test_redeploy_api(void **state) {
  (void)state;
  static const char head[] = "name: r\nfeatures: [f]\npki: {leaf: {}}\n"
                             "backends: {echo: {cert: leaf}}\n"
                             "apis: {a: {context: /a, version: v1, backend: echo}}\nsteps:\n";
  static const struct {
    const char *label, *step;
    int line, column; /* 0: loads */
    const char *why;
  } rows[] = {
      {"a name, expect", "  - redeploy_api: a\n    expect: {status: 201}\n", 0, 0, NULL},
      {"no expect", "  - redeploy_api: a\n", 0, 0, NULL},
      {"unknown API", "  - redeploy_api: b\n", 7, 19, "redeploy_api"},
      {"a call's expectation", "  - redeploy_api: a\n    expect: {backend_reached: true}\n", 8, 14,
       "backend_reached"},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    print_message("row: %s\n", rows[i].label);
    char text[1024];
    snprintf(text, sizeof(text), "%s%s", head, rows[i].step);
    gh_case_spec *cases = NULL;
    size_t count = 0;
    gh_load_error err;
    int rc = gh_scenario_load_text("r.yaml", (const unsigned char *)text, strlen(text), &cases,
                                   &count, &err);
    if (rows[i].line == 0) {
      if (rc != 0)
        fail_msg("%s: %s", rows[i].label, err.message);
      assert_int_equal(cases[0].steps[0].kind, GH_STEP_REDEPLOY_API);
      assert_string_equal(cases[0].steps[0].api, "a");
      assert_int_equal(cases[0].steps[0].expect.status, i == 0 ? 201 : 0);
      assert_string_equal(gh_step_kind_name(GH_STEP_REDEPLOY_API), "redeploy_api");
      gh_cases_free(cases, count);
      continue;
    }
    assert_int_equal(rc, -1);
    if (err.line != rows[i].line || err.column != rows[i].column ||
        !strstr(err.message, rows[i].why))
      fail_msg("%s: got %d:%d %s", rows[i].label, err.line, err.column, err.message);
  }
}

static void test_hostile_real(void **state) {
  (void)state;
  hostile("scenarios-good/real.yaml");
}

static void test_hostile_security(void **state) {
  (void)state;
  hostile("scenarios-good/security.yaml");
}

/* A directory: every file loaded in path order, every broken one reported. */
static void test_catalogue(void **state) {
  (void)state;
  gh_catalogue cat;
  gh_load_error errors[4];
  size_t error_count = 99;
  assert_int_equal(
      0, gh_catalogue_load(test_fixture_path("scenarios-good"), &cat, errors, 4, &error_count));
  assert_int_equal(0, error_count);
  assert_int_equal(4, cat.files);
  assert_int_equal(8, cat.count); /* full.yaml, matrix.yaml's 3 rows, real.yaml's 3, security */
  assert_non_null(strstr(cat.cases[0].file, "full.yaml"));
  assert_non_null(strstr(cat.cases[3].file, "matrix.yaml"));
  assert_non_null(strstr(cat.cases[6].file, "real.yaml"));
  assert_non_null(strstr(cat.cases[7].file, "security.yaml"));
  gh_catalogue_free(&cat);
  assert_int_equal(
      -1, gh_catalogue_load(test_fixture_path("scenarios-bad"), &cat, errors, 4, &error_count));
  assert_int_equal(160, error_count); /* every bad file, not only the first */
  assert_null(cat.cases);
  assert_true(errors[0].line > 0);
  assert_int_equal(-1,
                   gh_catalogue_load("/nonexistent-gatecert-dir", &cat, errors, 4, &error_count));
  assert_int_equal(1, error_count);
  assert_int_equal(0, errors[0].line);
}

/* What --scenarios is given decides the message: each row is a path that is
 * neither a directory nor a regular file (made in the scratch directory, or
 * a device that exists everywhere), and the single error must name what it
 * is and what is expected, never "Not a directory"; stat, not open, looks at
 * it, so a FIFO without a writer does not block the load. */
typedef struct catalogue_refusal {
  const char *name;
  const char *path; /* "@x": <scratch>/x */
  int make_fifo;
  const char *says;
} catalogue_refusal;

static const catalogue_refusal catalogue_refusals[] = {
    {"a FIFO", "@scenarios.fifo", 1,
     "a FIFO (named pipe): a directory of scenarios or one .yaml scenario file is expected"},
    {"/dev/zero", "/dev/zero", 0,
     "a character device: a directory of scenarios or one .yaml scenario file is expected"},
    {"/dev/null", "/dev/null", 0, "a character device: "},
    {"a missing path", "@no-such-scenarios", 0, "No such file or directory"},
    {"a path under a regular file", "@scenarios.fifo-parent/x", 0, "Not a directory"},
};

static void test_catalogue_refusals(void **state) {
  (void)state;
  char parent[PATH_SIZE];
  join_path(parent, test_scratch_dir(), "scenarios.fifo-parent");
  test_write(parent, "not a directory\n", 16);
  for (size_t i = 0; i < sizeof(catalogue_refusals) / sizeof(catalogue_refusals[0]); i++) {
    const catalogue_refusal *c = &catalogue_refusals[i];
    char path[PATH_SIZE];
    if (c->path[0] == '@')
      join_path(path, test_scratch_dir(), c->path + 1);
    else
      snprintf(path, sizeof(path), "%s", c->path);
    if (c->make_fifo) {
      unlink(path);
      assert_int_equal(0, mkfifo(path, 0600));
    }
    gh_catalogue cat;
    gh_load_error errors[4];
    size_t error_count = 0;
    if (gh_catalogue_load(path, &cat, errors, 4, &error_count) != -1)
      fail_msg("%s: loaded", c->name);
    assert_int_equal(1, error_count);
    assert_null(cat.cases);
    if (strstr(errors[0].message, c->says) == NULL)
      fail_msg("%s: expected \"%s\" in \"%s\"", c->name, c->says, errors[0].message);
    assert_string_equal(path, errors[0].file);
  }
}

/* gh_scenario_load_text (the fuzz target's entry) loads a file's bytes as
 * gh_scenario_load loads the file: the same cases, or the same error. */
static void test_load_text(void **state) {
  (void)state;
  static const char *const rows[] = {"scenarios-good/full.yaml", "scenarios-good/matrix.yaml",
                                     "scenarios-bad/advance-zero.yaml",
                                     "scenarios-bad/advance-to-backwards.yaml"};
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    print_message("row: %s\n", rows[i]);
    const char *path = test_fixture_path(rows[i]);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(gu_read_file(path, (size_t)1 << 20, &text, &len), 0);
    gh_case_spec *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    gh_load_error ea, eb;
    int ra = gh_scenario_load(path, &a, &na, &ea);
    int rb = gh_scenario_load_text(path, (const unsigned char *)text, len, &b, &nb, &eb);
    assert_int_equal(ra, rb);
    assert_int_equal(na, nb);
    for (size_t k = 0; k < na; k++) {
      assert_string_equal(a[k].name, b[k].name);
      assert_string_equal(a[k].file, b[k].file);
      assert_int_equal(a[k].step_count, b[k].step_count);
    }
    if (ra != 0) {
      assert_string_equal(ea.message, eb.message);
      assert_string_equal(ea.file, eb.file);
      assert_int_equal(ea.line, eb.line);
      assert_int_equal(ea.column, eb.column);
    }
    gh_cases_free(a, na);
    gh_cases_free(b, nb);
    free(text);
  }
}

/* ---- gateway clusters ------------------------------------------------------------ */

static void test_cluster_keys(void **state) {
  (void)state;
  static const char yaml[] =
      "name: cluster\n"
      "features: [cluster]\n"
      "backends: {echo: {fault: refuse}}\n"
      "apis: {test: {context: /t, version: \"1\", backend: echo}}\n"
      "gateway: {sender_reload_interval: 600s, nodes: 3, start_offsets: [0s, 250s, 250s]}\n"
      "steps:\n"
      "  - call: {api: test}\n"
      "  - call: {api: test, node: 2}\n"
      "  - call: {api: test, node: balancer}\n"
      "  - call: {api: test, node: each}\n"
      "    expect: {status: 500, fault_code: \"101503\"}\n"
      "    expect_profile: {wso2-2.6: {status: 502}}\n"
      "    expect_nodes: {3: {status: 200}, 1: {body_contains: x}}\n"
      "  - delete_endpoint_cert: {alias: a, node: 3}\n"
      "  - restart_gateway: {node: 2}\n"
      "  - reload: {node: 3}\n"
      "  - sweep: {api: test, path: /p, from: 590s, to: 900s, every: 10s}\n"
      "    expect_flapping: {before: 500, from: 600s, until: 850s, between: [200, 503],\n"
      "                      after: 200}\n"
      "  - restart_gateway: {}\n"
      "  - advance_to: 10s\n";
  char *path = test_scratch_path("cluster.yaml");
  test_write(path, yaml, sizeof(yaml) - 1);
  size_t count = 0;
  gh_case_spec *c = load_ok(path, &count);
  assert_int_equal(c->gateway.nodes, 3);
  assert_int_equal(gh_case_nodes(c), 3);
  assert_int_equal(c->gateway.start_offsets_ms[0], 0);
  assert_int_equal(c->gateway.start_offsets_ms[1], 250000);
  assert_int_equal(c->gateway.start_offsets_ms[2], 250000);
  static const struct {
    const char *name;
    size_t step;
    int node;
  } nodes[] = {
      {"a call without node goes to node 1", 0, GH_NODE_DEFAULT},
      {"a call to node 2", 1, 2},
      {"a call through the balancer", 2, GH_NODE_BALANCER},
      {"a call to every node", 3, GH_NODE_EACH},
      {"an admin step to node 3", 4, 3},
      {"a restart of node 2", 5, 2},
      {"an off-schedule reload of node 3", 6, 3},
      {"a restart without node: node 1", 8, GH_NODE_DEFAULT},
  };
  for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
    if (c->steps[nodes[i].step].node != nodes[i].node)
      fail_msg("%s: node %d, expected %d", nodes[i].name, c->steps[nodes[i].step].node,
               nodes[i].node);
  static const struct {
    const char *name;
    const char *profile;
    int node;
    long status;
    const char *code;
    size_t contains;
  } expects[] = {
      {"a node without an entry: expect", "wso2-4", 2, 500, "101503", 0},
      {"node 3's status over expect", "wso2-4", 3, 200, "101503", 0},
      {"node 1 adds body_contains", "wso2-4", 1, 500, "101503", 1},
      {"the profile's override under the node's", "wso2-2.6", 2, 502, "101503", 0},
      {"the node's over the profile's", "wso2-2.6", 3, 200, "101503", 0},
  };
  for (size_t i = 0; i < sizeof(expects) / sizeof(expects[0]); i++) {
    gh_expect e = gh_step_expect_node(&c->steps[3], expects[i].profile, expects[i].node);
    if (e.status != expects[i].status || strcmp(e.fault_code, expects[i].code) != 0 ||
        e.body_contains_count != expects[i].contains)
      fail_msg("%s: status %ld code %s contains %zu", expects[i].name, e.status, e.fault_code,
               e.body_contains_count);
  }
  const gh_step *sweep = &c->steps[7];
  assert_int_equal(sweep->kind, GH_STEP_SWEEP);
  assert_string_equal(gh_step_kind_name(sweep->kind), "sweep");
  assert_string_equal(sweep->api, "test");
  assert_string_equal(sweep->path, "/p");
  assert_string_equal(sweep->method, "GET");
  assert_int_equal(sweep->sweep_from_ms, 590000);
  assert_int_equal(sweep->duration_ms, 900000);
  assert_int_equal(sweep->sweep_every_ms, 10000);
  assert_int_equal(sweep->flapping.set, 1);
  assert_int_equal(sweep->flapping.before, 500);
  assert_int_equal(sweep->flapping.after, 200);
  assert_int_equal(sweep->flapping.from_ms, 600000);
  assert_int_equal(sweep->flapping.until_ms, 850000);
  assert_int_equal(sweep->flapping.between_count, 2);
  assert_int_equal(sweep->flapping.between[1], 503);
  gh_cases_free(c, count);
  /* not a cluster: one node */
  c = load_ok(test_fixture_path("scenarios-good/full.yaml"), &count);
  assert_int_equal(c->gateway.nodes, 0);
  assert_int_equal(gh_case_nodes(c), 1);
  assert_int_equal(c->steps[0].node, GH_NODE_DEFAULT);
  gh_cases_free(c, count);
  free(path);
}

/* Each refusal: the gateway section and the steps of a small scenario, where
 * the loader must stop and what it must say. */
static void test_cluster_refusals(void **state) {
  (void)state;
  static const struct {
    const char *name;
    const char *gateway;
    const char *steps;
    int line, column;
    const char *message;
  } rows[] = {
      {"too many nodes", "{nodes: 17}", "  - advance: 1s\n", 5, 18,
       "nodes: expected an integer from 1 to 16, got \"17\""},
      {"no nodes", "{nodes: 0}", "  - advance: 1s\n", 5, 18, "nodes: expected an integer from 1"},
      {"offsets without nodes", "{start_offsets: [0s]}", "  - advance: 1s\n", 5, 26,
       "start_offsets: needs nodes"},
      {"one offset per node", "{nodes: 2, start_offsets: [0s]}", "  - advance: 1s\n", 5, 36,
       "start_offsets: expected one offset per node (2), got 1"},
      {"node 1 starts with the case", "{nodes: 2, start_offsets: [5s, 10s]}", "  - advance: 1s\n",
       5, 37, "start_offsets[0] (node 1): node 1 starts with the case: expected 0s, got 5s"},
      {"offsets in order", "{nodes: 3, start_offsets: [0s, 20s, 10s]}", "  - advance: 1s\n", 5, 46,
       "start_offsets[2] (node 3): nodes start in order: 10s is before node 2's 20s"},
      {"an offset is a duration", "{nodes: 2, start_offsets: [0s, soon]}", "  - advance: 1s\n", 5,
       41, "start_offsets[1] (node 2): expected a duration"},
      {"node without a cluster", "{}", "  - call: {api: test, node: 2}\n", 7, 29,
       "node: this scenario's gateway is a single one; declare gateway.nodes"},
      {"node beyond the cluster", "{nodes: 2}", "  - call: {api: test, node: 3}\n", 7, 29,
       "node: expected a node number from 1 to 2, each or balancer, got \"3\""},
      {"node 0", "{nodes: 2}", "  - call: {api: test, node: 0}\n", 7, 29,
       "node: expected a node number from 1 to 2, each or balancer, got \"0\""},
      {"an admin step goes to one node", "{nodes: 2}",
       "  - delete_endpoint_cert: {alias: a, node: each}\n", 7, 44,
       "node: expected a node number from 1 to 2, got \"each\""},
      {"a restart goes to one node", "{nodes: 2}", "  - restart_gateway: {node: balancer}\n", 7, 29,
       "node: expected a node number from 1 to 2, got \"balancer\""},
      {"create_api takes no node", "{nodes: 2}", "  - create_api: {api: test, node: 2}\n", 7, 17,
       "create_api"},
      {"advance takes no node", "{nodes: 2}", "  - advance: {node: 2}\n", 7, 14, "advance"},
      {"expect_nodes needs node: each", "{nodes: 2}",
       "  - call: {api: test, node: 1}\n    expect_nodes: {1: {status: 200}}\n", 8, 19,
       "expect_nodes: only on a call with node: each"},
      {"expect_nodes names nodes", "{nodes: 2}",
       "  - call: {api: test, node: each}\n    expect_nodes: {3: {status: 200}}\n", 8, 20,
       "expect_nodes: expected a node number from 1 to 2, got \"3\""},
      {"expect_nodes takes call expectations", "{nodes: 2}",
       "  - call: {api: test, node: each}\n    expect_nodes: {1: {refused: true}}\n", 8, 24,
       "unknown key \"refused\" in expect_nodes.1"},
      {"within is not for node: each", "{nodes: 2}",
       "  - call: {api: test, node: each}\n    expect: {status: 200}\n    within: 5s\n", 9, 13,
       "within: a call with node: each is not retried"},
      {"a sweep needs a cluster", "{}", "  - sweep: {api: test, to: 10s, every: 1s}\n", 7, 12,
       "sweep: its calls go through the cluster's balancer; declare gateway.nodes"},
      {"a sweep checks something", "{nodes: 2}", "  - sweep: {api: test, to: 10s, every: 1s}\n", 7,
       5, "sweep: missing key 'expect_flapping'"},
      {"a sweep's expectation is expect_flapping", "{nodes: 2}",
       "  - sweep: {api: test, to: 10s, every: 1s}\n    expect: {status: 200}\n", 8, 13,
       "sweep: its expectation is expect_flapping (not expect)"},
      {"a sweep needs every", "{nodes: 2}", "  - sweep: {api: test, to: 10s}\n", 7, 12,
       "sweep: missing key 'every'"},
      {"a sweep goes forward", "{nodes: 2}",
       "  - advance_to: 100s\n  - sweep: {api: test, from: 50s, to: 200s, every: 1s}\n", 8, 30,
       "sweep: from 50s is before where the clock already is (100s after node 1 started)"},
      {"a sweep ends after it starts", "{nodes: 2}",
       "  - sweep: {api: test, from: 50s, to: 50s, every: 1s}\n", 7, 39,
       "sweep: to 50s must be after from 50s"},
      {"a sweep has bounded times", "{nodes: 2}", "  - sweep: {api: test, to: 1d, every: 1s}\n", 7,
       39, "sweep: every 1s makes more than 1000 times"},
      {"the window starts inside the sweep", "{nodes: 2}",
       "  - sweep: {api: test, to: 10s, every: 1s}\n"
       "    expect_flapping: {before: 500, from: 0s, until: 5s, between: [200, 500], after: "
       "200}\n",
       8, 42, "expect_flapping: from 0s must be after the sweep's from 0s"},
      {"the window ends inside the sweep", "{nodes: 2}",
       "  - sweep: {api: test, to: 10s, every: 1s}\n"
       "    expect_flapping: {before: 500, from: 2s, until: 20s, between: [200, 500], after: "
       "200}\n",
       8, 53, "expect_flapping: until 20s must be after from 2s and not after the sweep's to 10s"},
      {"flapping is between two statuses", "{nodes: 2}",
       "  - sweep: {api: test, to: 10s, every: 1s}\n"
       "    expect_flapping: {before: 500, from: 2s, until: 5s, between: [200], after: 200}\n",
       8, 66, "between: expected a list of at least 2, got 1"},
      {"flapping statuses differ", "{nodes: 2}",
       "  - sweep: {api: test, to: 10s, every: 1s}\n"
       "    expect_flapping: {before: 500, from: 2s, until: 5s, between: [200, 200], after: "
       "200}\n",
       8, 72, "between: status 200 is listed twice"},
      {"flapping needs after", "{nodes: 2}",
       "  - sweep: {api: test, to: 10s, every: 1s}\n"
       "    expect_flapping: {before: 500, from: 2s, until: 5s, between: [200, 500]}\n",
       8, 22, "expect_flapping: missing key 'after'"},
      {"expect_flapping is for sweeps", "{nodes: 2}",
       "  - call: {api: test}\n    expect_flapping: {before: 500}\n", 8, 22,
       "expect_flapping: only on a sweep step, not call"},
      {"a restart of node 2 keeps advance_to's count", "{nodes: 2}",
       "  - advance_to: 100s\n  - restart_gateway: {node: 2}\n  - advance_to: 50s\n", 9, 17,
       "advance_to: 50s is before where the clock already is (100s"},
  };
  char *path = test_scratch_path("cluster-refusal.yaml");
  int failures = 0;
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "name: c\n"
             "features: [cluster]\n"
             "backends: {echo: {fault: refuse}}\n"
             "apis: {test: {context: /t, version: \"1\", backend: echo}}\n"
             "gateway: %s\n"
             "steps:\n"
             "%s",
             rows[i].gateway, rows[i].steps);
    test_write(path, yaml, strlen(yaml));
    if (load_fails(path, rows[i].line, rows[i].column, rows[i].message) != 0) {
      print_error("  row: %s\n", rows[i].name);
      failures++;
    }
  }
  free(path);
  assert_int_equal(failures, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_example),
      cmocka_unit_test(test_lookups),
      cmocka_unit_test(test_load_text),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_matrix),
      cmocka_unit_test(test_matrix_unknown_param),
      cmocka_unit_test(test_profile_versions),
      cmocka_unit_test(test_profile_sap_versions),
      cmocka_unit_test(test_sap_steps),
      cmocka_unit_test(test_bad_corpus),
      cmocka_unit_test(test_size_bounds),
      cmocka_unit_test(test_expansion_bounds),
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_durations),
      cmocka_unit_test(test_hostile_full),
      cmocka_unit_test(test_hostile_matrix),
      cmocka_unit_test(test_catalogue),
      cmocka_unit_test(test_catalogue_refusals),
      cmocka_unit_test(test_real_gateway_keys),
      cmocka_unit_test(test_hostile_real),
      cmocka_unit_test(test_quirks),
      cmocka_unit_test(test_redeploy_api),
      cmocka_unit_test(test_security_example),
      cmocka_unit_test(test_hostile_security),
      cmocka_unit_test(test_cluster_keys),
      cmocka_unit_test(test_cluster_refusals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
