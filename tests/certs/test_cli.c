/* test_cli.c - `gatecert certs` as a user runs it.
 *
 * Runs the built binary (GATECERT_BIN) through the shell, checking exit codes,
 * what it prints, the files it writes and their modes, and that no password
 * ever reaches its output.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* Runs `gatecert certs ARGS 2>&1`; returns the exit code, output in *out. */
#define run(out, ...) test_run(out, "GATECERT_BIN", "certs " __VA_ARGS__)

static int mode_of(const char *path) {
  struct stat sb;
  if (stat(path, &sb) != 0)
    fail_msg("%s does not exist", path);
  return (int)(sb.st_mode & 0777);
}

static void test_demo_writes_and_reads_everything(void **state) {
  (void)state;
  char *dir = test_scratch_path("demo");
  char *out = NULL;
  int rc = run(&out, "demo --at 2030-01-01T00:00:00Z --out '%s'", dir);
  if (rc != 0)
    fail_msg("demo exited %d:\n%s", rc, out);
  /* every store read back: nine "ok" lines, no error */
  int oks = 0;
  for (char *p = out; (p = strstr(p, " ok\n")) != NULL; p++)
    oks++;
  assert_int_equal(9, oks);
  assert_non_null(strstr(out, "server-expired               expired"));
  assert_non_null(strstr(out, "server-not-yet-valid         not-yet-valid"));
  /* keys and stores with keys are private, certificates are not */
  char path[1024];
  static const struct {
    const char *file;
    int mode;
  } modes[] = {{"server.key", 0600},     {"root.key", 0600},      {"server-with-key.pem", 0600},
               {"server.p12", 0600},     {"client.jks", 0600},    {"server-keystore.jar", 0600},
               {"store-password", 0600}, {"root.pem", 0644},      {"server.pem", 0644},
               {"truststore.jks", 0644}, {"truststore.p7b", 0644}};
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
    snprintf(path, sizeof(path), "%s/%s", dir, modes[i].file);
    if (mode_of(path) != modes[i].mode)
      fail_msg("%s: mode %o, expected %o", modes[i].file, mode_of(path), modes[i].mode);
  }
  /* the password is in its file and nowhere in the output */
  snprintf(path, sizeof(path), "%s/store-password", dir);
  gcert_buf pw = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_file_load(path, 100, &pw, &err), &err);
  assert_int_equal(24, pw.len);
  char password[32] = {0};
  memcpy(password, pw.data, pw.len);
  assert_null(strstr(out, password));
  free(out);
  /* inspect with the password file reads the JKS key entry */
  rc = run(&out, "inspect '%s/client.jks' --password-file '%s' --at @1893456000", dir, path);
  assert_int_equal(0, rc);
  assert_non_null(strstr(out, "jks, 1 entry"));
  assert_non_null(strstr(out, "alias    client"));
  assert_non_null(strstr(out, "subject  CN=gatecert client,O=gatecert"));
  assert_null(strstr(out, password));
  free(out);
  /* without the password: a clear error, exit 1 */
  rc = run(&out, "inspect '%s/client.jks'", dir);
  assert_int_equal(1, rc);
  assert_non_null(strstr(out, "error: need-password"));
  free(out);
  gcert_buf_free(&pw);
  free(dir);
}

static void test_issue_chain_and_convert(void **state) {
  (void)state;
  char *ca = test_scratch_path("cli-ca");
  char *leaf = test_scratch_path("cli-leaf");
  char *out = NULL;
  assert_int_equal(
      0, run(&out, "issue --kind ca --subject 'CN=CLI CA' --out '%s' --at @1893456000", ca));
  free(out);
  int rc = run(&out,
               "issue --kind server --issuer '%s' --dns api.test --ip 127.0.0.1 --serial 0x99 "
               "--not-before -1d --not-after 2h --out '%s' --at @1893456000",
               ca, leaf);
  if (rc != 0)
    fail_msg("issue exited %d: %s", rc, out);
  assert_non_null(strstr(out, "issuer   CN=CLI CA"));
  assert_non_null(strstr(out, "serial   0x99"));
  assert_non_null(strstr(out, "2029-12-31T00:00:00Z .. 2030-01-01T02:00:00Z (valid)"));
  free(out);
  char key_path[1024], pem_path[1024], jks_path[1024], pw_path[1024], back_path[1024];
  snprintf(key_path, sizeof(key_path), "%s.key", leaf);
  snprintf(pem_path, sizeof(pem_path), "%s.pem", leaf);
  assert_int_equal(0600, mode_of(key_path));
  assert_int_equal(0644, mode_of(pem_path));
  /* the leaf checks out against its CA with the openssl CLI too */
  char cmd[4096];
  snprintf(cmd, sizeof(cmd),
           "openssl verify -attime 1893456000 -CAfile '%s.pem' -purpose sslserver '%s' "
           ">/dev/null 2>&1",
           ca, pem_path);
  assert_int_equal(0, system(cmd)); // NOLINT(cert-env33-c)
  /* PEM -> JKS -> PEM keeps the certificate */
  snprintf(jks_path, sizeof(jks_path), "%s.jks", leaf);
  snprintf(back_path, sizeof(back_path), "%s.back.pem", leaf);
  snprintf(pw_path, sizeof(pw_path), "%s.pw", leaf);
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_file_save(pw_path, (const unsigned char *)"changeit\n", 9, 1, &err),
                &err);
  rc = run(&out, "convert '%s' '%s' --to jks --alias leaf --out-password-file '%s'", pem_path,
           jks_path, pw_path);
  if (rc != 0)
    fail_msg("convert exited %d: %s", rc, out);
  free(out);
  rc = run(&out, "convert '%s' '%s' --to pem --password-file '%s'", jks_path, back_path, pw_path);
  if (rc != 0)
    fail_msg("convert back exited %d: %s", rc, out);
  free(out);
  gcert_store a, b;
  gcert_store_init(&a);
  gcert_store_init(&b);
  assert_status(GCERT_OK, gcert_read_file(pem_path, GCERT_FORMAT_PEM, NULL, &a, &err), &err);
  assert_status(GCERT_OK, gcert_read_file(back_path, GCERT_FORMAT_PEM, NULL, &b, &err), &err);
  assert_int_equal(1, b.count);
  assert_true(
      test_same_cert(sk_X509_value(a.entries[0].chain, 0), sk_X509_value(b.entries[0].chain, 0)));
  gcert_store_free(&a);
  gcert_store_free(&b);
  free(ca);
  free(leaf);
}

static void test_usage_and_input_errors(void **state) {
  (void)state;
  static const struct {
    const char *args;
    int rc;
    const char *says;
  } cases[] = {
      {"", 2, "usage: gatecert certs"},
      {"frobnicate", 2, "unknown command"},
      {"demo --out /tmp/x", 2, "--at TIME"},
      {"issue --out /tmp/x --at tomorrow", 1, "error: bad-time"},
      {"issue --kind wizard --out /tmp/x --at now", 2, "unknown kind"},
      {"issue --out /tmp/x --at now --key dsa", 2, "unknown key type"},
      {"inspect /nonexistent.pem", 1, "error: io"},
      {"inspect /etc/os-release", 1, "error: unknown-format"},
      {"inspect --format jks /etc/os-release", 1, "error: bad-magic"},
      {"convert a b", 2, "--to FORMAT"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *out = NULL;
    int rc = run(&out, "%s", cases[i].args);
    if (rc != cases[i].rc || strstr(out, cases[i].says) == NULL)
      fail_msg("'%s': exit %d (expected %d), output:\n%s", cases[i].args, rc, cases[i].rc, out);
    free(out);
  }
  char *out = NULL;
  assert_int_equal(0, run(&out, "--help"));
  assert_non_null(strstr(out, "inspect FILE"));
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_demo_writes_and_reads_everything),
      cmocka_unit_test(test_issue_chain_and_convert),
      cmocka_unit_test(test_usage_and_input_errors),
  };
  return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
