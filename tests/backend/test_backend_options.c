/* test_backend_options.c - gatecert-backend refuses bad command lines clearly.
 *
 * Every case runs the real binary (GATECERT_BACKEND_BIN) with arguments that
 * must not start anything and checks the exit status (2 usage, 1 a file or
 * certificate problem) and that stderr names the problem. No case leaves a
 * process behind: each exits before listening.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Copies fmt into out with @KEY@ and @CERT@ replaced by the two paths. */
static void expand(char *out, size_t size, const char *fmt, const char *key, const char *cert) {
  size_t n = 0;
  while (*fmt != '\0') {
    const char *with = strncmp(fmt, "@KEY@", 5) == 0    ? key
                       : strncmp(fmt, "@CERT@", 6) == 0 ? cert
                                                        : NULL;
    size_t add = with ? strlen(with) : 1;
    if (n + add + 1 > size)
      fail_msg("arguments too long");
    memcpy(out + n, with ? with : fmt, add);
    n += add;
    fmt += with == key ? 5 : with == cert ? 6 : 1;
  }
  out[n] = '\0';
}

static void test_bad_command_lines(void **state) {
  (void)state;
  /* a key file where a certificate is expected, for the file-level cases */
  char *key = test_scratch_path("only.key");
  char *cert = test_scratch_path("only.pem");
  gcert_item item = {0};
  test_issue(GCERT_KIND_SERVER, NULL, NULL, &item);
  gcert_buf pem = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_pem_write_key(item.key, NULL, &pem, &err), &err);
  assert_status(GCERT_OK, gcert_file_save(key, pem.data, pem.len, 1, &err), &err);
  gcert_buf_cleanse_free(&pem);
  gcert_item other = {0};
  test_issue(GCERT_KIND_SERVER, NULL, NULL, &other);
  gcert_store store;
  gcert_store_init(&store);
  assert_status(GCERT_OK, gcert_store_add_trusted(&store, NULL, other.cert, &err), &err);
  assert_status(GCERT_OK, gcert_pem_write(&store, NULL, &pem, &err), &err);
  assert_status(GCERT_OK, gcert_file_save(cert, pem.data, pem.len, 0, &err), &err);
  gcert_buf_free(&pem);
  gcert_store_free(&store);

  char args[2048];
  const struct {
    const char *fmt; /* @KEY@: the key file, @CERT@: a certificate not matching it */
    int rc;
    const char *says;
  } cases[] = {
      {"", 2, "no backend given"},
      {"--frobnicate", 2, "unknown or incomplete option"},
      {"--backend", 2, "unknown or incomplete option"},
      {"--backend 'bad name'", 2, "bad backend name"},
      {"--backend ../etc:fault=reset", 2, "bad backend name"},
      {"--backend x:colour=blue", 2, "bad setting 'colour=blue'"},
      {"--backend x:fault", 2, "bad setting 'fault'"},
      {"--backend x:fault=explode", 2, "bad setting 'fault=explode'"},
      {"--backend x:client-auth=maybe", 2, "bad setting"},
      {"--backend x:tls=1.1", 2, "bad setting 'tls=1.1'"},
      {"--backend x:delay-ms=-5,fault=reset", 2, "bad setting 'delay-ms=-5'"},
      {"--backend x:delay-ms=99999999,fault=reset", 2, "bad setting"},
      {"--backend x:delay-ms=12abc,fault=reset", 2, "bad setting"},
      {"--backend x", 2, "needs cert= and key="},
      {"--backend x:fault=reset --backend x:fault=stall", 2, "used twice"},
      {"--catalogue", 2, "--catalogue needs --certs-dir"},
      {"--backend x:fault=reset stray", 2, "unexpected argument 'stray'"},
      {"--backend x:cert=/nonexistent.pem,key=@KEY@", 1, "cannot open /nonexistent.pem"},
      {"--backend x:cert=@KEY@,key=@KEY@", 1, "no-cert"},
      {"--backend x:cert=@CERT@,key=@KEY@", 1, "do not fit"},
      {"--backend x:cert=@CERT@,key=@CERT@", 1, "PEM holds a certificate where only a private key"},
      {"--backend x:fault=reset --report-dir /nonexistent/dir", 1, "cannot open /nonexistent/dir"},
      {"--catalogue --certs-dir /nonexistent/a/b", 1, "cannot create /nonexistent/a/b"},
      {"--catalogue --certs-dir /tmp --at yesterday", 1, "--at"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    expand(args, sizeof(args), cases[i].fmt, key, cert);
    char *out = NULL;
    int rc = test_run(&out, "GATECERT_BACKEND_BIN", "%s </dev/null", args);
    if (rc != cases[i].rc || strstr(out, cases[i].says) == NULL || strstr(out, "READY") != NULL)
      fail_msg("'%s': exit %d (expected %d, saying '%s'):\n%s", args, rc, cases[i].rc,
               cases[i].says, out);
    free(out);
  }
  char *out = NULL;
  assert_int_equal(0, test_run(&out, "GATECERT_BACKEND_BIN", "%s </dev/null", "--help"));
  assert_non_null(strstr(out, "usage: gatecert-backend"));
  free(out);
  gcert_item_free(&item);
  gcert_item_free(&other);
  free(key);
  free(cert);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_command_lines),
  };
  return cmocka_run_group_tests_name("backend-options", tests, NULL, NULL);
}
