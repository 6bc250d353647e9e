/* support.h - helpers shared by the unit tests (not part of any component).
 *
 * Paths come from the environment CTest sets (GATECERT_FIXTURES, GATECERT_TMP)
 * so tests run from any directory and never share scratch files. The fixed
 * reference time makes every generated certificate independent of the date.
 *
 * Also what several groups repeated: writing a file (test_write), running a
 * built program and collecting its output (test_run), the PEM of a key or
 * certificate (test_pem) and the key manager keys of the OAuth2 tests
 * (test_keys). Everything asserts: a failure ends the test.
 */
#ifndef GATECERT_TEST_SUPPORT_H
#define GATECERT_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "gcert.h"

/* 2030-01-01T00:00:00Z: the reference time of generated test PKIs. */
#define TEST_REFERENCE ((time_t)1893456000)

/* Path under the fixtures directory; returns a static buffer per call slot. */
const char *test_fixture_path(const char *relative);
/* A fresh scratch directory for this test binary (created on first use). */
const char *test_scratch_dir(void);
/* Path of a file inside the scratch directory (malloc'd). */
char *test_scratch_path(const char *name);

/* Asserts a status, printing the error message on mismatch. */
#define assert_status(expected, actual, err)                                                       \
  do {                                                                                             \
    gcert_status got_ = (actual);                                                                  \
    if (got_ != (expected))                                                                        \
      fail_msg("expected %s, got %s: %s", gcert_status_name(expected), gcert_status_name(got_),    \
               (err)->message);                                                                    \
  } while (0)

/* Runs `'<program>' <arguments> 2>&1` through the shell, program being the
 * value of the environment variable bin_env (GATECERT_BIN, ...) and the
 * arguments formatted from fmt (shell words, redirections allowed). Returns
 * the exit code (-1 when it did not exit); *out gets all it printed
 * (malloc'd, NUL-terminated). */
int test_run(char **out, const char *bin_env, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes len bytes of data to path (created or truncated); asserts. */
void test_write(const char *path, const void *data, size_t len);

/* Issues a CA-signed or self-signed EC certificate quickly (asserts success). */
void test_issue(gcert_kind kind, const char *subject, const gcert_item *issuer, gcert_item *out);

/* PEM text (malloc'd; asserts success) of cert when it is not NULL, else of
 * key: its private key when private_key, its public key otherwise. */
char *test_pem(EVP_PKEY *key, X509 *cert, int private_key);

/* The keys of the key manager tests (test_sim_oauth, test_introspect), made
 * once per binary: RSA 2048 (and another), EC P-256, RSA 1024; their PEMs,
 * the RSA public PEM's base64 (as WSO2's admin portal sends it) and a
 * self-signed "CN=ec key manager" certificate of the EC key. */
typedef struct test_keys {
  EVP_PKEY *rsa, *rsa_other, *ec, *rsa1024;
  char *rsa_pub, *ec_pub, *ec_cert, *rsa_priv, *rsa1024_pub, *rsa_pub_b64;
} test_keys;
void test_keys_make(test_keys *k);
void test_keys_free(test_keys *k);
/* A made test_keys (malloc'd), and the cmocka group teardown that frees the
 * one in *state. */
test_keys *test_keys_new(void);
int test_keys_teardown(void **state);

/* 1 when two certificates have identical DER. */
int test_same_cert(X509 *a, X509 *b);
/* 1 when two private keys are the same key. */
int test_same_key(EVP_PKEY *a, EVP_PKEY *b);

#endif
