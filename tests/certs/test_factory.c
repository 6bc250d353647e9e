/* test_factory.c - the PKI factory: what it makes is what the spec says.
 *
 * Every property is checked by reading the certificate back with OpenSSL and,
 * where it matters for a gateway, by running OpenSSL's own verifier at the
 * reference time: a "valid" leaf verifies, an expired one fails with
 * X509_V_ERR_CERT_HAS_EXPIRED, a wrong EKU fails the SSL server purpose, and
 * so on. No test depends on the wall clock.
 */
#include "support.h"

#include <string.h>

#include <openssl/x509v3.h>

/* Verifies leaf against trusted roots (and untrusted intermediates) at the
 * test reference time; returns the X509_V_ERR code (X509_V_OK on success). */
static int verify_at(X509 *leaf, X509 *const *roots, size_t nroots, STACK_OF(X509) * untrusted,
                     int purpose, const char *host, time_t when) {
  X509_STORE *store = X509_STORE_new();
  assert_non_null(store);
  for (size_t i = 0; i < nroots; i++)
    assert_int_equal(1, X509_STORE_add_cert(store, roots[i]));
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  assert_non_null(ctx);
  assert_int_equal(1, X509_STORE_CTX_init(ctx, store, leaf, untrusted));
  X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_time(param, when);
  if (purpose != 0)
    X509_STORE_CTX_set_purpose(ctx, purpose);
  if (host != NULL)
    X509_VERIFY_PARAM_set1_host(param, host, 0);
  int ok = X509_verify_cert(ctx);
  int code = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return code;
}

typedef struct pki {
  gcert_catalogue *cat;
} pki;

static int setup_catalogue(void **state) {
  static pki p;
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_catalogue_make(TEST_REFERENCE, GCERT_KEY_EC_P256, &p.cat, &err),
                &err);
  *state = &p;
  return 0;
}

static int teardown_catalogue(void **state) {
  pki *p = *state;
  gcert_catalogue_free(p->cat);
  p->cat = NULL;
  return 0;
}

static X509 *cert_of(void **state, const char *name) {
  const gcert_item *item = gcert_catalogue_get(((pki *)*state)->cat, name);
  assert_non_null(item);
  return item->cert;
}

/* Verifies catalogue row `name` with root trusted and the intermediate given. */
static int verify_row(void **state, const char *name, const char *intermediate, int purpose,
                      const char *host, time_t when) {
  X509 *root = cert_of(state, "root");
  STACK_OF(X509) *untrusted = sk_X509_new_null();
  if (intermediate != NULL)
    sk_X509_push(untrusted, cert_of(state, intermediate));
  int code = verify_at(cert_of(state, name), &root, 1, untrusted, purpose, host, when);
  sk_X509_free(untrusted);
  return code;
}

/* Data-driven: each catalogue row and the verification result it must give. */
static const struct verify_case {
  const char *row;
  const char *intermediate;
  int purpose;
  const char *host;
  int expected;
} verify_cases[] = {
    {"server", "intermediate", X509_PURPOSE_SSL_SERVER, "localhost", X509_V_OK},
    {"client", "intermediate", X509_PURPOSE_SSL_CLIENT, NULL, X509_V_OK},
    {"server-expired", "intermediate", X509_PURPOSE_SSL_SERVER, "localhost",
     X509_V_ERR_CERT_HAS_EXPIRED},
    {"server-not-yet-valid", "intermediate", X509_PURPOSE_SSL_SERVER, "localhost",
     X509_V_ERR_CERT_NOT_YET_VALID},
    {"server-expiring", "intermediate", X509_PURPOSE_SSL_SERVER, "localhost", X509_V_OK},
    {"server-wrong-eku", "intermediate", X509_PURPOSE_SSL_SERVER, "localhost",
     X509_V_ERR_INVALID_PURPOSE},
    {"client-wrong-eku", "intermediate", X509_PURPOSE_SSL_CLIENT, NULL, X509_V_ERR_INVALID_PURPOSE},
    {"server-wrong-host", "intermediate", X509_PURPOSE_SSL_SERVER, "localhost",
     X509_V_ERR_HOSTNAME_MISMATCH},
    {"server-no-san", "intermediate", X509_PURPOSE_SSL_SERVER, NULL, X509_V_OK},
    {"server", NULL, X509_PURPOSE_SSL_SERVER, "localhost",
     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY}, /* incomplete chain */
    {"self-signed", NULL, X509_PURPOSE_SSL_SERVER, "localhost",
     X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT},
    {"server-expired-intermediate", "intermediate-expired", X509_PURPOSE_SSL_SERVER, "localhost",
     X509_V_ERR_CERT_HAS_EXPIRED},
    {"server-rotated", NULL, X509_PURPOSE_SSL_SERVER, "localhost",
     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY}, /* same name as root, but its AKI
                                                    names the new key: no issuer found */
    {"server-untrusted", NULL, X509_PURPOSE_SSL_SERVER, "localhost",
     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY},
};

static void test_catalogue_verification(void **state) {
  for (size_t i = 0; i < sizeof(verify_cases) / sizeof(verify_cases[0]); i++) {
    const struct verify_case *c = &verify_cases[i];
    int code = verify_row(state, c->row, c->intermediate, c->purpose, c->host, TEST_REFERENCE);
    if (code != c->expected)
      fail_msg("%s (intermediate %s): expected '%s', got '%s'", c->row,
               c->intermediate ? c->intermediate : "none",
               X509_verify_cert_error_string(c->expected), X509_verify_cert_error_string(code));
  }
}

static void test_no_san_fails_hostname_check(void **state) {
  /* Modern verifiers ignore the CN once hostname checking is on without SAN
   * fallback: the no-SAN leaf must fail a host check that never consults CN. */
  X509 *cert = cert_of(state, "server-no-san");
  assert_int_equal(-1, X509_get_ext_by_NID(cert, NID_subject_alt_name, -1));
  assert_int_equal(
      0, X509_check_host(cert, "localhost", 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL));
  assert_int_equal(1, X509_check_host(cert_of(state, "server"), "localhost", 0,
                                      X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL));
}

static void test_expiring_follows_reference(void **state) {
  /* valid at the reference, expired 61 s later: time is the caller's */
  assert_int_equal(X509_V_OK,
                   verify_row(state, "server-expiring", "intermediate", X509_PURPOSE_SSL_SERVER,
                              "localhost", TEST_REFERENCE + 59));
  assert_int_equal(X509_V_ERR_CERT_HAS_EXPIRED,
                   verify_row(state, "server-expiring", "intermediate", X509_PURPOSE_SSL_SERVER,
                              "localhost", TEST_REFERENCE + 61));
  /* and the not-yet-valid leaf becomes valid two days on */
  assert_int_equal(X509_V_OK, verify_row(state, "server-not-yet-valid", "intermediate",
                                         X509_PURPOSE_SSL_SERVER, "localhost",
                                         TEST_REFERENCE + (time_t)2 * 86400));
}

static void test_leaf_as_issuer_is_rejected(void **state) {
  X509 *root = cert_of(state, "root");
  STACK_OF(X509) *untrusted = sk_X509_new_null();
  sk_X509_push(untrusted, cert_of(state, "server"));
  sk_X509_push(untrusted, cert_of(state, "intermediate"));
  int code = verify_at(cert_of(state, "server-leaf-issuer"), &root, 1, untrusted,
                       X509_PURPOSE_SSL_SERVER, "localhost", TEST_REFERENCE);
  sk_X509_free(untrusted);
  assert_int_equal(X509_V_ERR_INVALID_CA, code);
}

static void test_rotated_root_same_subject_new_key(void **state) {
  X509 *root = cert_of(state, "root"), *rotated = cert_of(state, "root-rotated");
  assert_int_equal(0, X509_NAME_cmp(X509_get_subject_name(root), X509_get_subject_name(rotated)));
  assert_int_not_equal(1, EVP_PKEY_eq(X509_get0_pubkey(root), X509_get0_pubkey(rotated)));
  /* trusting the rotated root, its leaf verifies */
  int code = verify_at(cert_of(state, "server-rotated"), &rotated, 1, NULL, X509_PURPOSE_SSL_SERVER,
                       "localhost", TEST_REFERENCE);
  assert_int_equal(X509_V_OK, code);
}

static void test_describe(void **state) {
  gcert_info info;
  gcert_error err = {0};
  X509 *server = cert_of(state, "server");
  assert_status(GCERT_OK, gcert_describe(server, TEST_REFERENCE, &info, &err), &err);
  assert_string_equal("CN=localhost,O=gatecert", info.subject);
  assert_string_equal("CN=gatecert Intermediate CA,O=gatecert", info.issuer);
  assert_int_equal(TEST_REFERENCE - 3600, info.not_before);
  assert_int_equal(TEST_REFERENCE + (time_t)365 * 86400, info.not_after);
  assert_int_equal(GCERT_VALID, info.validity);
  assert_false(info.is_ca);
  assert_false(info.self_signed);
  assert_int_equal(64, strlen(info.sha256_hex));
  /* fingerprint is SHA-256 of the DER */
  unsigned char md[32];
  unsigned int n = 0;
  assert_int_equal(1, X509_digest(server, EVP_sha256(), md, &n));
  char hex[65];
  for (unsigned int i = 0; i < n; i++)
    snprintf(hex + (size_t)2 * i, 3, "%02x", md[i]);
  assert_string_equal(hex, info.sha256_hex);

  assert_status(GCERT_OK, gcert_describe(cert_of(state, "root"), TEST_REFERENCE, &info, &err),
                &err);
  assert_true(info.is_ca);
  assert_true(info.self_signed);
  assert_status(GCERT_OK,
                gcert_describe(cert_of(state, "server-expired"), TEST_REFERENCE, &info, &err),
                &err);
  assert_int_equal(GCERT_EXPIRED, info.validity);
  assert_string_equal("expired", gcert_validity_name(info.validity));
  assert_status(GCERT_OK,
                gcert_describe(cert_of(state, "server-not-yet-valid"), TEST_REFERENCE, &info, &err),
                &err);
  assert_int_equal(GCERT_NOT_YET_VALID, info.validity);
}

static void test_catalogue_lookup(void **state) {
  pki *p = *state;
  size_t n = gcert_catalogue_count(p->cat);
  assert_true(n >= 20);
  for (size_t i = 0; i < n; i++) {
    const char *name = gcert_catalogue_name(p->cat, i);
    assert_ptr_equal(gcert_catalogue_item(p->cat, i), gcert_catalogue_get(p->cat, name));
    assert_non_null(gcert_catalogue_description(p->cat, i));
    const char *issuer = gcert_catalogue_issuer(p->cat, i);
    X509 *cert = gcert_catalogue_item(p->cat, i)->cert;
    X509 *issuer_cert = issuer ? gcert_catalogue_get(p->cat, issuer)->cert : cert;
    /* each row is signed by the key of the row named as its issuer */
    assert_int_equal(1, X509_verify(cert, X509_get0_pubkey(issuer_cert)));
  }
  assert_null(gcert_catalogue_get(p->cat, "no-such-row"));
  /* chains: leaf first, issuers nearest first, root only on request */
  STACK_OF(X509) *chain = gcert_catalogue_chain(p->cat, "server-leaf-issuer", 0);
  assert_int_equal(3, sk_X509_num(chain));
  assert_ptr_equal(gcert_catalogue_get(p->cat, "server")->cert, sk_X509_value(chain, 1));
  assert_ptr_equal(gcert_catalogue_get(p->cat, "intermediate")->cert, sk_X509_value(chain, 2));
  sk_X509_pop_free(chain, X509_free);
  chain = gcert_catalogue_chain(p->cat, "server", 1);
  assert_int_equal(3, sk_X509_num(chain));
  assert_ptr_equal(gcert_catalogue_get(p->cat, "root")->cert, sk_X509_value(chain, 2));
  sk_X509_pop_free(chain, X509_free);
  chain = gcert_catalogue_chain(p->cat, "self-signed", 0);
  assert_int_equal(1, sk_X509_num(chain));
  sk_X509_pop_free(chain, X509_free);
  assert_null(gcert_catalogue_chain(p->cat, "no-such-row", 0));
}

static void test_spec_serial_subject_sans(void **state) {
  (void)state;
  static const char *const dns[] = {"api.example.test", "*.example.test"};
  static const char *const ips[] = {"10.1.2.3", "2001:db8::1"};
  gcert_spec spec;
  gcert_spec_init(&spec, GCERT_KIND_CLIENT);
  spec.subject = "CN=client one,OU=team\\, with comma,O=Example,C=LK";
  spec.serial = "0x1A2B3C";
  spec.dns = dns;
  spec.dns_count = 2;
  spec.ips = ips;
  spec.ip_count = 2;
  gcert_item item = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_issue(&spec, TEST_REFERENCE, NULL, NULL, &item, &err), &err);
  gcert_info info;
  assert_status(GCERT_OK, gcert_describe(item.cert, TEST_REFERENCE, &info, &err), &err);
  assert_string_equal("CN=client one,OU=team\\, with comma,O=Example,C=LK", info.subject);
  assert_string_equal("1A2B3C", info.serial_hex);
  assert_string_equal("1715004", info.serial_dec);
  assert_int_equal(1, X509_check_host(item.cert, "api.example.test", 0, 0, NULL));
  assert_int_equal(1, X509_check_host(item.cert, "x.example.test", 0, 0, NULL));
  assert_int_equal(1, X509_check_ip_asc(item.cert, "10.1.2.3", 0));
  assert_int_equal(1, X509_check_ip_asc(item.cert, "2001:db8::1", 0));
  assert_int_equal(0, X509_check_ip_asc(item.cert, "10.1.2.4", 0));
  assert_int_equal(X509_V_OK, verify_at(item.cert, &item.cert, 1, NULL, X509_PURPOSE_SSL_CLIENT,
                                        NULL, TEST_REFERENCE));
  gcert_item_free(&item);
  assert_null(item.cert);
}

static void test_random_serials_differ(void **state) {
  (void)state;
  gcert_item a = {0}, b = {0};
  test_issue(GCERT_KIND_SERVER, NULL, NULL, &a);
  test_issue(GCERT_KIND_SERVER, NULL, NULL, &b);
  assert_int_not_equal(
      0, ASN1_INTEGER_cmp(X509_get0_serialNumber(a.cert), X509_get0_serialNumber(b.cert)));
  /* positive and at most 127 bits: fits 16 bytes without a sign byte */
  assert_int_equal(V_ASN1_INTEGER, X509_get0_serialNumber(a.cert)->type);
  assert_true(X509_get0_serialNumber(a.cert)->length <= 16);
  gcert_item_free(&a);
  gcert_item_free(&b);
}

static void test_key_types(void **state) {
  (void)state;
  static const struct {
    gcert_key_type type;
    const char *name;
    int bits;
  } cases[] = {{GCERT_KEY_EC_P256, "EC", 256},
               {GCERT_KEY_RSA_2048, "RSA", 2048},
               {GCERT_KEY_RSA_3072, "RSA", 3072}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    gcert_spec spec;
    gcert_spec_init(&spec, GCERT_KIND_SERVER);
    spec.key_type = cases[i].type;
    gcert_item item = {0};
    gcert_error err = {0};
    assert_status(GCERT_OK, gcert_issue(&spec, TEST_REFERENCE, NULL, NULL, &item, &err), &err);
    assert_true(EVP_PKEY_is_a(item.key, cases[i].name));
    assert_int_equal(cases[i].bits, EVP_PKEY_get_bits(item.key));
    assert_int_equal(1, X509_verify(item.cert, item.key));
    gcert_item_free(&item);
  }
}

static void test_reused_key(void **state) {
  (void)state;
  gcert_item first = {0}, second = {0};
  test_issue(GCERT_KIND_SERVER, NULL, NULL, &first);
  gcert_spec spec;
  gcert_spec_init(&spec, GCERT_KIND_SERVER);
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_issue(&spec, TEST_REFERENCE, NULL, first.key, &second, &err), &err);
  assert_true(test_same_key(first.key, second.key));
  gcert_item_free(&first);
  gcert_item_free(&second);
}

static void test_bad_specs(void **state) {
  (void)state;
  static const char *const bad_ip[] = {"300.1.1.1"};
  static const char *const bad_dns[] = {"has space"};
  static const struct {
    const char *subject;
    const char *serial;
    const char *const *ips;
    const char *const *dns;
    int64_t not_before, not_after;
    gcert_status expected;
  } cases[] = {
      {"CN", NULL, NULL, NULL, -1, 1, GCERT_E_BAD_NAME},
      {"CN=", NULL, NULL, NULL, -1, 1, GCERT_E_BAD_NAME},
      {"NOPE=x", NULL, NULL, NULL, -1, 1, GCERT_E_BAD_NAME},
      {"CN=x\\", NULL, NULL, NULL, -1, 1, GCERT_E_BAD_NAME},
      {"CN=x", "0", NULL, NULL, -1, 1, GCERT_E_BAD_SERIAL},
      {"CN=x", "-5", NULL, NULL, -1, 1, GCERT_E_BAD_SERIAL},
      {"CN=x", "0xZZ", NULL, NULL, -1, 1, GCERT_E_BAD_SERIAL},
      {"CN=x", "0x0102030405060708090a0b0c0d0e0f101112131415", NULL, NULL, -1, 1,
       GCERT_E_BAD_SERIAL},
      {"CN=x", NULL, bad_ip, NULL, -1, 1, GCERT_E_BAD_SAN},
      {"CN=x", NULL, NULL, bad_dns, -1, 1, GCERT_E_BAD_SAN},
      {"CN=x", NULL, NULL, NULL, 10, 10, GCERT_E_INVALID_ARG},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    gcert_spec spec;
    gcert_spec_init(&spec, GCERT_KIND_SERVER);
    spec.subject = cases[i].subject;
    spec.serial = cases[i].serial;
    spec.ips = cases[i].ips;
    spec.ip_count = cases[i].ips ? 1 : 0;
    spec.dns = cases[i].dns;
    spec.dns_count = cases[i].dns ? 1 : 0;
    spec.not_before = cases[i].not_before;
    spec.not_after = cases[i].not_after;
    gcert_item item = {0};
    gcert_error err = {0};
    gcert_status st = gcert_issue(&spec, TEST_REFERENCE, NULL, NULL, &item, &err);
    if (st != cases[i].expected)
      fail_msg("case %zu (%s): expected %s, got %s: %s", i, cases[i].subject,
               gcert_status_name(cases[i].expected), gcert_status_name(st), err.message);
    assert_true(err.message[0] != '\0');
    assert_null(item.cert);
    assert_null(item.key);
  }
}

static void test_chain_shapes(void **state) {
  X509 *leaf = cert_of(state, "server"), *mid = cert_of(state, "intermediate");
  X509 *issuers[] = {mid, cert_of(state, "root")};
  STACK_OF(X509) *full = gcert_chain_make(leaf, issuers, 2, GCERT_CHAIN_FULL);
  STACK_OF(X509) *incomplete = gcert_chain_make(leaf, issuers, 2, GCERT_CHAIN_INCOMPLETE);
  STACK_OF(X509) *reversed = gcert_chain_make(leaf, issuers, 2, GCERT_CHAIN_REVERSED);
  assert_int_equal(3, sk_X509_num(full));
  assert_ptr_equal(leaf, sk_X509_value(full, 0));
  assert_ptr_equal(mid, sk_X509_value(full, 1));
  assert_int_equal(1, sk_X509_num(incomplete));
  assert_ptr_equal(leaf, sk_X509_value(incomplete, 0));
  assert_int_equal(3, sk_X509_num(reversed));
  assert_ptr_equal(issuers[1], sk_X509_value(reversed, 0));
  assert_ptr_equal(leaf, sk_X509_value(reversed, 2));
  sk_X509_pop_free(full, X509_free);
  sk_X509_pop_free(incomplete, X509_free);
  sk_X509_pop_free(reversed, X509_free);
}

static void test_time_parsing(void **state) {
  (void)state;
  time_t t = 0;
  int64_t d = 0;
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_time_parse("2030-01-01T00:00:00Z", &t, &err), &err);
  assert_int_equal(TEST_REFERENCE, t);
  assert_status(GCERT_OK, gcert_time_parse("@1893456000", &t, &err), &err);
  assert_int_equal(TEST_REFERENCE, t);
  assert_status(GCERT_E_BAD_TIME, gcert_time_parse("2030-01-01", &t, &err), &err);
  assert_status(GCERT_E_BAD_TIME, gcert_time_parse("@12x", &t, &err), &err);
  assert_status(GCERT_E_BAD_TIME, gcert_time_parse("", &t, &err), &err);
  static const struct {
    const char *text;
    int64_t seconds;
  } ok[] = {{"90", 90}, {"90s", 90}, {"15m", 900}, {"2h", 7200}, {"30d", 2592000}, {"-1d", -86400}};
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    assert_status(GCERT_OK, gcert_duration_parse(ok[i].text, &d, &err), &err);
    assert_int_equal(ok[i].seconds, d);
  }
  static const char *const bad[] = {
      "", "x", "5y", "5ss", "99999999999999999999d", "9223372036854775807d"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_status(GCERT_E_BAD_TIME, gcert_duration_parse(bad[i], &d, &err), &err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_catalogue_verification),
      cmocka_unit_test(test_no_san_fails_hostname_check),
      cmocka_unit_test(test_expiring_follows_reference),
      cmocka_unit_test(test_leaf_as_issuer_is_rejected),
      cmocka_unit_test(test_rotated_root_same_subject_new_key),
      cmocka_unit_test(test_describe),
      cmocka_unit_test(test_catalogue_lookup),
      cmocka_unit_test(test_chain_shapes),
      cmocka_unit_test(test_spec_serial_subject_sans),
      cmocka_unit_test(test_random_serials_differ),
      cmocka_unit_test(test_key_types),
      cmocka_unit_test(test_reused_key),
      cmocka_unit_test(test_bad_specs),
      cmocka_unit_test(test_time_parsing),
  };
  return cmocka_run_group_tests_name("factory", tests, setup_catalogue, teardown_catalogue);
}
