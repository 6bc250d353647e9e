/* test_util.c - util/gutil.h: the growing text (appends, printf past the
 * stack buffer, the limit, take), the libcurl write callback's stop signal,
 * gu_fail's formatting, a free port that can be bound, and the PATH search
 * (found, absent, a path with '/', a directory named like a program). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "gutil.h"
#include "support.h"

static void test_text_appends_and_formats(void **state) {
  (void)state;
  gu_text t = {0};
  assert_null(t.data);
  gu_text_add(&t, "ab", 2);
  gu_text_add(&t, "", 0);
  gu_text_printf(&t, "-%d-", 42);
  assert_string_equal(t.data, "ab-42-");
  assert_int_equal(t.len, 6);
  /* longer than printf's stack buffer */
  char big[5000];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  gu_text_printf(&t, "%s", big);
  assert_int_equal(t.len, 6 + sizeof(big) - 1);
  assert_int_equal(strlen(t.data), t.len);
  assert_false(t.failed);
  char *taken = gu_text_take(&t);
  assert_non_null(taken);
  assert_null(t.data);
  assert_int_equal(t.len, 0);
  free(taken);
  gu_text_free(&t);
}

static const struct limit_case {
  size_t limit;
  const char *chunks[3];
  int failed;
  const char *text;
} limit_cases[] = {
    {0, {"abc", "def", NULL}, 0, "abcdef"}, {6, {"abc", "def", NULL}, 0, "abcdef"},
    {5, {"abc", "def", NULL}, 1, "abc"},    {2, {"abc", NULL, NULL}, 1, NULL},
    {4, {"ab", "cde", "f"}, 1, "ab"}, /* nothing appends after a failure */
};

static void test_text_limit(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(limit_cases) / sizeof(limit_cases[0]); i++) {
    const struct limit_case *c = &limit_cases[i];
    gu_text t = {.limit = c->limit};
    for (size_t k = 0; k < 3 && c->chunks[k]; k++)
      gu_text_add(&t, c->chunks[k], strlen(c->chunks[k]));
    assert_int_equal(t.failed, c->failed);
    if (c->text)
      assert_string_equal(t.data, c->text);
    else
      assert_null(t.data);
    char *taken = gu_text_take(&t);
    if (c->failed)
      assert_null(taken);
    free(taken);
  }
}

static void test_curl_write_stops_at_limit(void **state) {
  (void)state;
  gu_text t = {.limit = 8};
  char chunk[] = "12345";
  assert_int_equal(gu_text_curl_write(chunk, 1, 5, &t), 5);
  assert_int_equal(gu_text_curl_write(chunk, 1, 5, &t), 0);
  assert_int_equal(gu_text_curl_write(chunk, 1, 1, &t), 0);
  assert_string_equal(t.data, "12345");
  gu_text_free(&t);
}

static void test_fail_formats_and_returns_minus_one(void **state) {
  (void)state;
  char why[16];
  assert_int_equal(gu_fail(why, sizeof(why), "bad %s %d", "port", 70000), -1);
  assert_string_equal(why, "bad port 70000");
  assert_int_equal(gu_fail(why, 4, "truncated"), -1);
  assert_string_equal(why, "tru");
  assert_int_equal(gu_fail(NULL, 0, "nowhere"), -1);
}

static void test_free_port_can_be_bound(void **state) {
  (void)state;
  char why[128] = "";
  int port = gu_free_port(why, sizeof(why));
  assert_true(port > 0 && port < 65536);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  /* another test may have taken it meanwhile; what must hold is that it was a
   * real loopback port, so a bind either works or says EADDRINUSE */
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
    assert_int_equal(errno, EADDRINUSE);
  close(fd);
}

static void test_find_program(void **state) {
  (void)state;
  const char *dir = test_scratch_dir();
  char bin[512], notexec[512], subdir[512], path[1024];
  snprintf(bin, sizeof(bin), "%s/gu-prog", dir);
  snprintf(notexec, sizeof(notexec), "%s/gu-data", dir);
  snprintf(subdir, sizeof(subdir), "%s/gu-dir", dir);
  FILE *f = fopen(bin, "w");
  assert_non_null(f);
  fclose(f);
  chmod(bin, 0755);
  f = fopen(notexec, "w");
  assert_non_null(f);
  fclose(f);
  chmod(notexec, 0644);
  mkdir(subdir, 0755);
  snprintf(path, sizeof(path), "/nonexistent-gu:%s", dir);
  setenv("PATH", path, 1);

  char out[512], why[256];
  assert_int_equal(gu_find_program("gu-prog", out, sizeof(out), why, sizeof(why)), 0);
  assert_string_equal(out, bin);
  assert_int_equal(gu_find_program(bin, out, sizeof(out), why, sizeof(why)), 0);
  assert_string_equal(out, bin);
  assert_int_equal(gu_find_program("gu-data", out, sizeof(out), why, sizeof(why)), -1);
  assert_non_null(strstr(why, "not found in PATH"));
  assert_int_equal(gu_find_program("gu-dir", out, sizeof(out), why, sizeof(why)), -1);
  assert_int_equal(gu_find_program(notexec, out, sizeof(out), why, sizeof(why)), -1);
  assert_non_null(strstr(why, "not an executable file"));
  assert_int_equal(gu_find_program("", out, sizeof(out), why, sizeof(why)), -1);
  char tiny[4];
  assert_int_equal(gu_find_program(bin, tiny, sizeof(tiny), why, sizeof(why)), -1);
  assert_non_null(strstr(why, "too long"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text_appends_and_formats),
      cmocka_unit_test(test_text_limit),
      cmocka_unit_test(test_curl_write_stops_at_limit),
      cmocka_unit_test(test_fail_formats_and_returns_minus_one),
      cmocka_unit_test(test_free_port_can_be_bound),
      cmocka_unit_test(test_find_program),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
