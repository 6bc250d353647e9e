/* test_malformed.c - the malformed-input corpus: every bad file, its error.
 *
 * Walks fixtures/malformed/<dir>/MANIFEST. Each line names a file, the format
 * to read it as, the status the library must answer and the password to use:
 *     <file> <format> <status-name> <password or ->
 * For each: the read fails with exactly that status, says something in the
 * message, and leaves the store empty. Every file in a corpus directory must
 * be listed, so nothing is silently skipped. Inputs too big to commit (10 MiB)
 * are generated into the scratch directory and run through the same check.
 */
#include "support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CORPUS 40

typedef struct corpus_case {
  char file[128];
  char format[16];
  char status[32];
  char password[64];
} corpus_case;

/* Joins dir and name into out (PATH_SIZE bytes), failing the test if it does not fit. */
#define PATH_SIZE 1024
static void join_path(char *out, const char *dir, const char *name) {
  int n = snprintf(out, PATH_SIZE, "%s/%s", dir, name);
  if (n < 0 || n >= PATH_SIZE)
    fail_msg("path too long: %s/%s", dir, name);
}

static int run_case(const char *path, const corpus_case *c) {
  gcert_format format = gcert_format_from_name(c->format);
  gcert_status expected = gcert_status_from_name(c->status);
  if (format == GCERT_FORMAT_COUNT || expected == GCERT_STATUS_COUNT) {
    print_error("%s: unknown format '%s' or status '%s' in MANIFEST\n", path, c->format, c->status);
    return 1;
  }
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  const char *password = strcmp(c->password, "-") == 0 ? NULL : c->password;
  gcert_status st = gcert_read_file(path, format, password, &store, &err);
  int bad = st != expected || store.count != 0 || err.message[0] == '\0';
  if (bad)
    print_error("%s: expected %s, got %s (%zu entries): %s\n", path, c->status,
                gcert_status_name(st), store.count, err.message);
  gcert_store_free(&store);
  return bad;
}

/* 1 when name is listed in the manifest's cases. */
static int listed(const corpus_case *cases, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(cases[i].file, name) == 0)
      return 1;
  }
  return 0;
}

static size_t read_manifest(const char *dir, corpus_case *cases, size_t max) {
  char path[PATH_SIZE];
  join_path(path, dir, "MANIFEST");
  FILE *f = fopen(path, "r");
  if (f == NULL)
    fail_msg("%s: no MANIFEST", dir);
  char line[512];
  size_t n = 0;
  while (fgets(line, sizeof(line), f) != NULL) {
    char *p = line + strspn(line, " \t");
    if (*p == '#' || *p == '\n' || *p == '\0')
      continue;
    if (n == max)
      fail_msg("%s: more than %zu cases", path, max);
    corpus_case *c = &cases[n];
    if (sscanf(p, "%127s %15s %31s %63s", c->file, c->format, c->status, c->password) != 4)
      fail_msg("%s: bad line: %s", path, line);
    n++;
  }
  fclose(f);
  return n;
}

/* Runs one corpus directory; returns failures, adds to *total. */
static int run_directory(const char *dir, size_t *total) {
  static corpus_case cases[256];
  size_t n = read_manifest(dir, cases, 256);
  int failures = 0;
  for (size_t i = 0; i < n; i++) {
    char path[PATH_SIZE];
    join_path(path, dir, cases[i].file);
    failures += run_case(path, &cases[i]);
  }
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || strcmp(e->d_name, "MANIFEST") == 0 ||
        strcmp(e->d_name, "make.sh") == 0)
      continue;
    if (!listed(cases, n, e->d_name)) {
      print_error("%s/%s is not listed in MANIFEST\n", dir, e->d_name);
      failures++;
    }
  }
  closedir(d);
  *total += n;
  return failures;
}

static void test_corpus(void **state) {
  (void)state;
  const char *root = test_fixture_path("malformed");
  DIR *d = opendir(root);
  assert_non_null(d);
  struct dirent *e;
  size_t total = 0;
  int failures = 0;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || e->d_type != DT_DIR)
      continue;
    char dir[PATH_SIZE];
    join_path(dir, root, e->d_name);
    failures += run_directory(dir, &total);
  }
  closedir(d);
  print_message("malformed corpus: %zu cases, %d failures\n", total, failures);
  assert_int_equal(0, failures);
  assert_true(total >= MIN_CORPUS);
}

/* Generated: a 10 MiB file in every format is refused before it is read. */
static void test_oversize_inputs(void **state) {
  (void)state;
  char *path = test_scratch_path("ten-mib.bin");
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  static unsigned char block[65536];
  memset(block, 'A', sizeof(block));
  for (int i = 0; i < 160; i++)
    assert_int_equal(sizeof(block), fwrite(block, 1, sizeof(block), f));
  fclose(f);
  for (int fmt = 0; fmt < GCERT_FORMAT_COUNT; fmt++) {
    corpus_case c = {0};
    snprintf(c.file, sizeof(c.file), "ten-mib.bin");
    snprintf(c.format, sizeof(c.format), "%s", gcert_format_name((gcert_format)fmt));
    snprintf(c.status, sizeof(c.status), "too-large");
    snprintf(c.password, sizeof(c.password), "pw");
    assert_int_equal(0, run_case(path, &c));
  }
  /* and in memory, a reader never looks past the limit */
  unsigned char *big = calloc(1, GCERT_MAX_INPUT + 1);
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  assert_status(GCERT_E_TOO_LARGE,
                gcert_read(GCERT_FORMAT_PEM, big, GCERT_MAX_INPUT + 1, NULL, &store, &err), &err);
  assert_status(GCERT_E_TOO_LARGE, gcert_pem_read(big, GCERT_MAX_INPUT + 1, NULL, &store, &err),
                &err);
  assert_status(GCERT_E_TOO_LARGE, gcert_der_read(big, GCERT_MAX_INPUT + 1, &store, &err), &err);
  free(big);
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_corpus),
      cmocka_unit_test(test_oversize_inputs),
  };
  return cmocka_run_group_tests_name("malformed", tests, NULL, NULL);
}
