/* test_util.c - util/gutil.h: the growing text (appends, printf past the
 * stack buffer, the limit, take), the libcurl write callback's stop signal,
 * gu_fail's formatting, a free port that can be bound, the PATH search
 * (found, absent, a path with '/', a directory named like a program), the
 * option parser (argv rows -> fields, error text, first operand's index) and
 * the printed-command helpers: gu_shell_quote's words (rows of hostile
 * strings -> the exact text, or refused), gu_shell_command's lines run by sh
 * and by bash (each must print the string back byte for byte and create no
 * file) and gu_glob_escape's patterns (fnmatch matches the string, not a
 * decoy the unescaped string would match). */
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
#include <fnmatch.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* ---- printed commands (shell.c) ---- */

static const struct quote_case {
  const char *name;
  const char *in;
  const char *word; /* NULL: refused */
} quote_cases[] = {
    {"bare", "abc-1.2_x/y:z@%+,", "abc-1.2_x/y:z@%+,"},
    {"empty", "", "''"},
    {"space", "a b", "'a b'"},
    {"quote", "it's", "'it'\\''s'"},
    {"dollar and backticks", "$HOME `id` $(id)", "'$HOME `id` $(id)'"},
    {"injection", "x'; touch pwned #", "'x'\\''; touch pwned #'"},
    {"double quotes", "\"a\"", "'\"a\"'"},
    {"glob characters", "*?[a]\\", "'*?[a]\\'"},
    {"leading dash", "-rf", "-rf"},
    {"tilde", "~root", "'~root'"},
    {"assignment", "a=b", "'a=b'"},
    {"semicolon and pipe", "a;b|c&d>e<f", "'a;b|c&d>e<f'"},
    {"utf-8", "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x94\x92",
     "'caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x94\x92'"},
    {"no-break space", "\xc2\xa0", "'\xc2\xa0'"},
    {"newline", "a\nb", NULL},
    {"carriage return", "a\rb", NULL},
    {"tab", "a\tb", NULL},
    {"escape", "\x1b[2J", NULL},
    {"delete", "a\x7f", NULL},
    {"c1 control (NEL)", "a\xc2\x85", NULL},
    {"c1 CSI", "\xc2\x9b", NULL},
    {"stray byte", "a\xff", NULL},
    {"truncated sequence", "\xe2\x9c", NULL},
    {"overlong slash", "\xc0\xaf", NULL},
    {"surrogate", "\xed\xa0\x80", NULL},
    {"noncharacter", "\xef\xbf\xbe", NULL},
    {"past U+10FFFF", "\xf4\x90\x80\x80", NULL},
};

static void test_shell_quote_rows(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(quote_cases) / sizeof(quote_cases[0]); i++) {
    const struct quote_case *c = &quote_cases[i];
    print_message("row \"%s\"\n", c->name);
    gu_text t = {0};
    gu_text_add(&t, "<", 1);
    int rc = gu_shell_quote(&t, c->in);
    assert_false(t.failed);
    if (c->word == NULL) {
      assert_int_equal(rc, -1);
      assert_string_equal(t.data, "<"); /* nothing appended */
    } else {
      assert_int_equal(rc, 0);
      assert_string_equal(t.data + 1, c->word);
    }
    gu_text_free(&t);
  }
}

/* Runs cmd with `shell -c` in dir; its stdout into out. The exit status. */
static int run_shell(const char *shell, const char *cmd, const char *dir, gu_text *out) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    if (chdir(dir) != 0)
      _exit(126);
    execl(shell, shell, "-c", cmd, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  char buf[65536];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0)
    gu_text_add(out, buf, (size_t)n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static const struct command_case {
  const char *name;
  const char *in;
  const char *line; /* the exact command printed for {printf, %s, in}, or NULL: not checked */
} command_cases[] = {
    {"plain", "abc", "printf %s abc"},
    {"injection", "x'; touch pwned #", "printf %s 'x'\\''; touch pwned #'"},
    {"command substitution", "$(touch pwned)`touch pwned`", NULL},
    {"glob", "*", "printf %s '*'"},
    {"newline", "a\nb",
     "gatecert_arg1=\"$(printf -- 'a\\012b_')\"; printf %s \"${gatecert_arg1%_}\""},
    {"trailing newlines", "a\n\n", NULL},
    {"only a newline", "\n", NULL},
    {"newline and injection", "'\n; touch pwned; '", NULL},
    {"percent, backslash, newline", "%s\\n\n%%\\", NULL},
    {"leading dash and a control", "-e\x01",
     "gatecert_arg1=\"$(printf -- '-e\\001_')\"; printf %s \"${gatecert_arg1%_}\""},
    {"escape sequence", "\x1b]0;title\x07", NULL},
    {"c1 and utf-8", "\xc2\x85 caf\xc3\xa9", NULL},
    {"stray bytes", "\xff\xfe a", NULL},
    {"every control", "\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x1f\x7f", NULL},
};

static void check_command(const char *name, const char *in, const char *line) {
  const char *argv[] = {"printf", "%s", in, NULL};
  gu_text cmd = {0};
  gu_shell_command(&cmd, argv);
  assert_false(cmd.failed);
  for (const unsigned char *p = (const unsigned char *)cmd.data; *p; p++)
    assert_true(*p >= 0x20 && *p != 0x7f); /* one line, nothing a terminal acts on */
  if (line != NULL)
    assert_string_equal(cmd.data, line);
  const char *shells[] = {"/bin/sh", "/bin/bash"}; /* test_find_program changes PATH */
  for (size_t s = 0; s < 2; s++) {
    print_message("row \"%s\" under %s\n", name, shells[s]);
    gu_text out = {0};
    gu_text_add(&out, "", 0);
    assert_int_equal(run_shell(shells[s], cmd.data, test_scratch_dir(), &out), 0);
    assert_int_equal(out.len, strlen(in));
    assert_memory_equal(out.data, in, out.len);
    gu_text_free(&out);
  }
  gu_text_free(&cmd);
  char marker[1024];
  snprintf(marker, sizeof(marker), "%s/pwned", test_scratch_dir());
  assert_int_equal(access(marker, F_OK), -1);
}

static void test_shell_command_rows(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(command_cases) / sizeof(command_cases[0]); i++)
    check_command(command_cases[i].name, command_cases[i].in, command_cases[i].line);
  for (size_t i = 0; i < sizeof(quote_cases) / sizeof(quote_cases[0]); i++)
    check_command(quote_cases[i].name, quote_cases[i].in, NULL);
  /* very long: 20000 bytes of quotes, dollars and newlines (about 50 KiB of command, under
   * the 128 KiB a single execve argument may hold) */
  char *big = malloc(20001);
  assert_non_null(big);
  for (size_t k = 0; k < 20000; k++)
    big[k] = "'$\n x"[k % 5];
  big[20000] = '\0';
  check_command("very long", big, NULL);
  free(big);
}

static const struct glob_case {
  const char *name;
  const char *in;
  const char *pattern;
  const char *decoy; /* what in as a pattern would match too, or NULL */
} glob_cases[] = {
    {"plain", "abc", "abc", NULL},
    {"matrix row", "x[a=b]", "x\\[a=b]", "xa"},
    {"star", "a*", "a\\*", "abc"},
    {"question mark", "a?", "a\\?", "ab"},
    {"backslash", "a\\b", "a\\\\b", "ab"},
    {"all four", "*?[\\", "\\*\\?\\[\\\\", NULL},
    {"closing bracket alone", "a]", "a]", NULL},
    {"quotes and spaces", "it's a [x] ", "it's a \\[x] ", "it's a x "},
};

static void test_glob_escape_rows(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(glob_cases) / sizeof(glob_cases[0]); i++) {
    const struct glob_case *c = &glob_cases[i];
    print_message("row \"%s\"\n", c->name);
    gu_text t = {0};
    gu_glob_escape(&t, c->in);
    assert_string_equal(t.data, c->pattern);
    assert_int_equal(fnmatch(t.data, c->in, 0), 0);
    if (c->decoy != NULL) {
      assert_int_equal(fnmatch(c->in, c->decoy, 0), 0); /* the unescaped name would match it */
      assert_int_not_equal(fnmatch(t.data, c->decoy, 0), 0);
    }
    gu_text_free(&t);
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
      cmocka_unit_test(test_shell_quote_rows),
      cmocka_unit_test(test_shell_command_rows),
      cmocka_unit_test(test_glob_escape_rows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
