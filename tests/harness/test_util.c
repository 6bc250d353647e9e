/* test_util.c - util/gutil.h: the growing text (appends, printf past the
 * stack buffer, the limit, take), the libcurl write callback's stop signal,
 * gu_fail's formatting, a free port that can be bound, the PATH search
 * (found, absent, a path with '/', a directory named like a program) and the
 * option parser (argv rows -> fields, error text, first operand's index). */
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

/* ---- gu_opts_parse: one table, rows of argv and what they must give ---- */

static int parse_level(const char *name, const char *value, void *to, char *why, size_t why_len) {
  if (strlen(value) != 1 || value[0] < '0' || value[0] > '9')
    return gu_fail(why, why_len, "--%s wants 0..9, not '%s'", name, value);
  *(int *)to = value[0] - '0';
  return 0;
}

static const struct opts_case {
  const char *argv[9]; /* NULL-terminated, argv[0] included */
  int flags;
  int rc;              /* first operand's index, or GU_OPTS_UNKNOWN/REFUSED */
  const char *operand; /* argv[rc] after the parse (operands are permuted), NULL for none */
  const char *name;
  int verbose, level, help;
  const char *tags; /* the list joined by ',' */
  const char *why;
} opts_cases[] = {
    {{"p", NULL}, 0, 1, NULL, NULL, 0, -1, 0, "", ""},
    {{"p", "--name", "x", "-v", "--level=3", NULL}, 0, 5, NULL, "x", 1, 3, 0, "", ""},
    {{"p", "-nfoo", "--tag", "a", "--tag=b", "--na", "last", NULL},
     0,
     7,
     NULL,
     "last",
     0,
     -1,
     0,
     "a,b",
     ""},
    {{"p", "op", "--name", "x", NULL}, 0, 3, "op", "x", 0, -1, 0, "", ""},
    {{"p", "op", "--name", "x", NULL}, GU_OPTS_IN_ORDER, 1, "op", NULL, 0, -1, 0, "", ""},
    {{"p", "--", "--name", NULL}, 0, 2, "--name", NULL, 0, -1, 0, "", ""},
    {{"p", "--bogus", NULL},
     0,
     GU_OPTS_UNKNOWN,
     NULL,
     NULL,
     0,
     -1,
     0,
     "",
     "--bogus: unknown option or missing value"},
    {{"p", "-v", "--name", NULL},
     0,
     GU_OPTS_UNKNOWN,
     NULL,
     NULL,
     1,
     -1,
     0,
     "",
     "--name: unknown option or missing value"},
    {{"p", "--verbose=1", NULL},
     0,
     GU_OPTS_UNKNOWN,
     NULL,
     NULL,
     0,
     -1,
     0,
     "",
     "--verbose=1: unknown option or missing value"},
    {{"p", "-x", NULL},
     0,
     GU_OPTS_UNKNOWN,
     NULL,
     NULL,
     0,
     -1,
     0,
     "",
     "-x: unknown option or missing value"},
    {{"p", "--tag", "a", "--tag", "b", "--tag", "c", NULL},
     0,
     GU_OPTS_REFUSED,
     NULL,
     NULL,
     0,
     -1,
     0,
     "a,b",
     "at most 2 --tag"},
    {{"p", "--level", "12", "--bogus", NULL},
     0,
     GU_OPTS_REFUSED,
     NULL,
     NULL,
     0,
     -1,
     0,
     "",
     "--level wants 0..9, not '12'"},
    {{"p", "--help", "--bogus", NULL}, 0, 2, "--bogus", NULL, 0, -1, 1, "", ""},
    {{"p", "-h", "op", NULL}, GU_OPTS_IN_ORDER, 2, "op", NULL, 0, -1, 1, "", ""},
    {{"p", "--bogus", "--help", NULL},
     0,
     GU_OPTS_UNKNOWN,
     NULL,
     NULL,
     0,
     -1,
     0,
     "",
     "--bogus: unknown option or missing value"},
};

static void test_opts_rows(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(opts_cases) / sizeof(opts_cases[0]); i++) {
    const struct opts_case *c = &opts_cases[i];
    char *argv[9] = {NULL};
    int argc = 0;
    for (; c->argv[argc]; argc++)
      argv[argc] = (char *)c->argv[argc];
    const char *name = NULL, *tags[2] = {NULL, NULL};
    size_t tag_count = 0;
    int verbose = 0, level = -1, help = 0;
    const gu_opt table[] = {
        {"name", 'n', .string = &name},
        {"verbose", 'v', .flag = &verbose},
        {"tag", .list = tags, .count = &tag_count, .max = 2},
        {"level", .parse = parse_level, .to = &level},
        {"help", 'h', .flag = &help, .stop = 1},
        {0},
    };
    char why[128] = "";
    int rc = gu_opts_parse(argc, argv, table, c->flags, why, sizeof(why));
    print_message("row %zu: rc %d why \"%s\"\n", i, rc, why);
    assert_int_equal(rc, c->rc);
    if (rc >= 0)
      assert_string_equal(rc < argc ? argv[rc] : "(none)", c->operand ? c->operand : "(none)");
    assert_string_equal(name ? name : "(unset)", c->name ? c->name : "(unset)");
    assert_int_equal(verbose, c->verbose);
    assert_int_equal(level, c->level);
    assert_int_equal(help, c->help);
    char joined[64] = "";
    for (size_t k = 0; k < tag_count; k++)
      snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s", k ? "," : "",
               tags[k]);
    assert_string_equal(joined, c->tags);
    assert_string_equal(why, c->why);
  }
}

static void test_opts_malformed_table(void **state) {
  (void)state;
  const char *s = NULL;
  int flag = 0;
  char *argv[] = {"p", NULL};
  char why[128] = "";
  const gu_opt two_actions[] = {{"both", .string = &s, .flag = &flag}, {0}};
  assert_int_equal(gu_opts_parse(1, argv, two_actions, 0, why, sizeof(why)), GU_OPTS_TABLE);
  assert_string_equal(why, "option table: --both is malformed or one too many");
  const gu_opt stop_without_flag[] = {{"stop", .string = &s, .stop = 1}, {0}};
  assert_int_equal(gu_opts_parse(1, argv, stop_without_flag, 0, why, sizeof(why)), GU_OPTS_TABLE);
  const gu_opt list_without_count[] = {{"l", .list = &s, .max = 1}, {0}};
  assert_int_equal(gu_opts_parse(1, argv, list_without_count, 0, why, sizeof(why)), GU_OPTS_TABLE);
}

static const struct read_case {
  const char *name;
  size_t size; /* bytes written (-1: no file; -2: a directory) */
  size_t max;
  int err; /* 0: read */
} read_cases[] = {
    {"empty", 0, 0, 0},
    {"small", 5, 0, 0},
    {"at-max", 100, 100, 0},
    {"past-max", 101, 100, EFBIG},
    {"big", 20000, 0, 0},
    {"big-past", 20000, 19999, EFBIG},
    {"absent", (size_t)-1, 0, ENOENT},
    {"dir", (size_t)-2, 0, EIO},
};

static void test_read_file(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(read_cases) / sizeof(read_cases[0]); i++) {
    const struct read_case *c = &read_cases[i];
    char path[512];
    snprintf(path, sizeof(path), "%s/read-%s", test_scratch_dir(), c->name);
    if (c->size == (size_t)-2) {
      mkdir(path, 0755);
    } else if (c->size != (size_t)-1) {
      FILE *f = fopen(path, "wb");
      assert_non_null(f);
      for (size_t k = 0; k < c->size; k++)
        fputc('a' + (int)(k % 26), f);
      fclose(f);
    }
    char *data = (char *)1;
    size_t len = 7;
    errno = 0;
    int rc = gu_read_file(path, c->max, &data, &len);
    if (c->err) {
      assert_int_equal(rc, -1);
      assert_int_equal(errno, c->err);
      assert_null(data);
      assert_int_equal(len, 0);
      continue;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(len, c->size);
    assert_non_null(data);
    assert_int_equal(data[len], '\0');
    if (len > 0)
      assert_int_equal(data[len - 1], 'a' + (int)((len - 1) % 26));
    free(data);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text_appends_and_formats),
      cmocka_unit_test(test_text_limit),
      cmocka_unit_test(test_curl_write_stops_at_limit),
      cmocka_unit_test(test_fail_formats_and_returns_minus_one),
      cmocka_unit_test(test_free_port_can_be_bound),
      cmocka_unit_test(test_find_program),
      cmocka_unit_test(test_read_file),
      cmocka_unit_test(test_opts_rows),
      cmocka_unit_test(test_opts_malformed_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
