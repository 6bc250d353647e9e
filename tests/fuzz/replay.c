/* replay.c - runs a fuzz target without libFuzzer (fuzz_yaml_replay,
 * fuzz_multipart_replay: the target's file linked with this main).
 *
 *     fuzz_<target>_replay [-n VARIANTS] PATH...
 *
 * Every PATH is a file or a directory whose regular files (sorted by name,
 * README.md, MANIFEST and dot files skipped) are inputs. Each input runs as it
 * is, then VARIANTS times (default 1000) mutated by a deterministic pass: a
 * PRNG seeded from the file's name applies one to three of truncation, bit
 * flips, interesting bytes (NUL, newline, tab, 0xff ...), the target's tokens
 * (gh_fuzz_tokens_for: fuzz.h), deleted and
 * duplicated ranges. The same corpus gives the same runs on every machine, so
 * a failure here reproduces; the target aborts on a broken invariant, and in
 * the sanitize build ASan and UBSan stop it on a bad access. Prints how many
 * inputs it ran. Nothing here knows the target's format.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define INPUT_MAX (1u << 20) /* seed files are small; this bounds a mistake */
#define GROWTH    4096       /* what mutations may add to an input */

#include "fuzz.h"

static size_t inputs, files;

/* xorshift64*: small, fast and the same everywhere. */
static size_t below(uint64_t *s, size_t n) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return n == 0 ? 0 : (size_t)(*s * 0x2545F4914F6CDD1DULL % n);
}

static void insert(unsigned char *buf, size_t *len, size_t cap, const void *p, size_t n,
                   uint64_t *s) {
  if (*len + n > cap)
    return;
  size_t at = below(s, *len + 1);
  memmove(buf + at + n, buf + at, *len - at);
  memcpy(buf + at, p, n);
  *len += n;
}

static void mutate(unsigned char *buf, size_t *len, size_t cap, char tokens[][GH_FUZZ_TOKEN_LEN],
                   size_t ntokens, uint64_t *s) {
  static const unsigned char bytes[] = {0x00, '\r', '\n', '\t', ' ',  '-',  ':', '"',
                                        '\'', '\\', '#',  '&',  '*',  '!',  '{', '[',
                                        '$',  '|',  '>',  0x7f, 0x80, 0xc3, 0xff};
  size_t at = below(s, *len);
  switch (below(s, 6)) {
  case 0: /* truncate */
    *len = below(s, *len + 1);
    break;
  case 1: /* flip a bit */
    if (*len > 0)
      buf[at] ^= (unsigned char)(1u << below(s, 8));
    break;
  case 2: /* an interesting byte */
    if (*len > 0)
      buf[at] = bytes[below(s, sizeof(bytes))];
    break;
  case 3: { /* one of the target's tokens */
    if (ntokens == 0)
      break;
    const char *t = tokens[below(s, ntokens)];
    insert(buf, len, cap, t, strlen(t), s);
    break;
  }
  case 4: /* delete a range */
    if (*len > 0) {
      size_t n = 1 + below(s, *len - at < 32 ? *len - at : 32);
      memmove(buf + at, buf + at + n, *len - at - n);
      *len -= n;
    }
    break;
  default: /* duplicate a range elsewhere */
    if (*len > 0) {
      unsigned char chunk[256];
      size_t n = 1 + below(s, *len - at < 256 ? *len - at : 256);
      memcpy(chunk, buf + at, n);
      insert(buf, len, cap, chunk, n, s);
    }
    break;
  }
}

/* Runs the target on n bytes in a buffer of exactly that size. */
static void run(const unsigned char *data, size_t n) {
  unsigned char *copy = malloc(n == 0 ? 1 : n);
  if (copy == NULL) {
    fprintf(stderr, "fuzz replay: out of memory\n");
    exit(1);
  }
  memcpy(copy, data, n);
  LLVMFuzzerTestOneInput(copy, n);
  free(copy);
  inputs++;
}

static int replay_file(const char *path, const char *name, size_t variants) {
  FILE *f = fopen(path, "rb");
  unsigned char *orig = malloc(INPUT_MAX), *buf = malloc(INPUT_MAX + GROWTH);
  size_t n = f != NULL && orig != NULL ? fread(orig, 1, INPUT_MAX, f) : 0;
  int bad = f == NULL || orig == NULL || buf == NULL || !feof(f);
  if (f != NULL)
    fclose(f);
  if (bad) {
    fprintf(stderr, "fuzz replay: cannot read %s (or larger than %u bytes)\n", path, INPUT_MAX);
    free(orig);
    free(buf);
    return 1;
  }
  files++;
  run(orig, n);
  static char tokens[GH_FUZZ_TOKEN_MAX][GH_FUZZ_TOKEN_LEN];
  size_t ntokens = gh_fuzz_tokens_for(orig, n, tokens, GH_FUZZ_TOKEN_MAX);
  uint64_t s = 0xcbf29ce484222325ULL; /* FNV-1a of the name: the seed of its mutations */
  for (const char *p = name; *p != '\0'; p++)
    s = (s ^ (unsigned char)*p) * 0x100000001b3ULL;
  for (size_t v = 0; v < variants; v++) {
    size_t len = n;
    memcpy(buf, orig, n);
    for (size_t k = 1 + below(&s, 3); k > 0; k--)
      mutate(buf, &len, n + GROWTH, tokens, ntokens, &s);
    run(buf, len);
  }
  free(orig);
  free(buf);
  return 0;
}

static int replay_path(const char *path, size_t variants) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "fuzz replay: no such file or directory: %s\n", path);
    return 1;
  }
  if (!S_ISDIR(st.st_mode)) {
    const char *slash = strrchr(path, '/');
    return replay_file(path, slash == NULL ? path : slash + 1, variants);
  }
  struct dirent **names = NULL;
  int n = scandir(path, &names, NULL, alphasort);
  if (n < 0) {
    fprintf(stderr, "fuzz replay: cannot read %s\n", path);
    return 1;
  }
  int failed = 0;
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    char file[4096];
    int len = snprintf(file, sizeof(file), "%s/%s", path, name);
    struct stat fst;
    if (name[0] != '.' && strcmp(name, "README.md") != 0 && strcmp(name, "MANIFEST") != 0 &&
        len > 0 && (size_t)len < sizeof(file) && stat(file, &fst) == 0 && S_ISREG(fst.st_mode))
      failed |= replay_file(file, name, variants);
    free(names[i]);
  }
  free(names);
  return failed;
}

int main(int argc, char **argv) {
  size_t variants = 1000;
  int first = 1;
  if (argc > 2 && strcmp(argv[1], "-n") == 0) {
    char *end = NULL;
    variants = strtoul(argv[2], &end, 10);
    if (end == argv[2] || *end != '\0') {
      fprintf(stderr, "fuzz replay: -n takes a number\n");
      return 2;
    }
    first = 3;
  }
  if (first >= argc) {
    fprintf(stderr, "usage: %s [-n VARIANTS] FILE-OR-DIR...\n", argv[0]);
    return 2;
  }
  int failed = 0;
  for (int i = first; i < argc; i++)
    failed |= replay_path(argv[i], variants);
  printf("fuzz replay: %zu files, %zu inputs (%zu mutated variants each)%s\n", files, inputs,
         variants, failed ? ", some paths could not be read" : "");
  if (files == 0) {
    fprintf(stderr, "fuzz replay: no input files\n");
    return 1;
  }
  return failed;
}
