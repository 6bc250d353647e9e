/* replay.c - runs fuzz_multipart.c's target without libFuzzer (fuzz_multipart_replay).
 *
 *     fuzz_multipart_replay [-n VARIANTS] PATH...
 *
 * Every PATH is a file or a directory whose regular files (sorted by name,
 * README.md and dot files skipped) are inputs in the fuzz target's format.
 * Each input runs as it is, then VARIANTS times (default 2000) mutated by a
 * deterministic pass: a PRNG seeded from the file's name applies one to three
 * of truncation, bit flips, interesting bytes, inserted delimiters and framing
 * tokens, deletions and duplicated ranges. The same corpus gives the same runs
 * on every machine, so a failure here reproduces; the target aborts on a
 * broken invariant, and in the sanitize build ASan and UBSan stop it on a bad
 * access. Prints how many inputs it ran.
 */
#include "multipart.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define INPUT_MAX (1u << 20) /* seed files are small; this bounds a mistake */
#define GROWTH    4096       /* what mutations may add to an input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct counts {
  size_t files;
  size_t inputs;
} counts;

/* xorshift64*: small, fast and the same everywhere. */
static uint64_t next_random(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 0x2545F4914F6CDD1DULL;
}

static size_t below(uint64_t *s, size_t n) { return n == 0 ? 0 : (size_t)(next_random(s) % n); }

/* FNV-1a of the file name: the seed of its mutations. */
static uint64_t name_seed(const char *name) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (; *name != '\0'; name++)
    h = (h ^ (unsigned char)*name) * 0x100000001b3ULL;
  return h == 0 ? 1 : h;
}

/* Runs the target on n bytes in a buffer of exactly that size. */
static void run(const unsigned char *data, size_t n, counts *c) {
  unsigned char *copy = malloc(n == 0 ? 1 : n);
  if (copy == NULL) {
    fprintf(stderr, "fuzz_multipart_replay: out of memory\n");
    exit(1);
  }
  if (n > 0)
    memcpy(copy, data, n);
  LLVMFuzzerTestOneInput(copy, n);
  free(copy);
  c->inputs++;
}

/* Inserts n bytes of p at a random place (if they fit in cap). */
static void insert(unsigned char *buf, size_t *len, size_t cap, const void *p, size_t n,
                   uint64_t *s) {
  if (*len + n > cap)
    return;
  size_t at = below(s, *len + 1);
  memmove(buf + at + n, buf + at, *len - at);
  memcpy(buf + at, p, n);
  *len += n;
}

/* Applies one random mutation to buf. tokens are framing strings for this
 * input's boundary. */
static void mutate(unsigned char *buf, size_t *len, size_t cap, char tokens[][128], size_t ntokens,
                   uint64_t *s) {
  static const unsigned char bytes[] = {0x00, '\r', '\n', '-', '"', '\\', ';',  ':',
                                        ' ',  '\t', '=',  '%', '*', '\'', 0x7f, 0xff};
  switch (below(s, 7)) {
  case 0: /* truncate */
    *len = below(s, *len + 1);
    break;
  case 1: /* flip a bit */
    if (*len > 0)
      buf[below(s, *len)] ^= (unsigned char)(1u << below(s, 8));
    break;
  case 2: /* an interesting byte */
    if (*len > 0)
      buf[below(s, *len)] = bytes[below(s, sizeof(bytes))];
    break;
  case 3: /* insert a framing token */
  case 4: {
    const char *t = tokens[below(s, ntokens)];
    insert(buf, len, cap, t, strlen(t), s);
    break;
  }
  case 5: /* delete a range */
    if (*len > 0) {
      size_t at = below(s, *len);
      size_t n = 1 + below(s, *len - at < 32 ? *len - at : 32);
      memmove(buf + at, buf + at + n, *len - at - n);
      *len -= n;
    }
    break;
  default: /* duplicate a range elsewhere */
    if (*len > 0) {
      size_t at = below(s, *len);
      size_t n = 1 + below(s, *len - at < 256 ? *len - at : 256);
      unsigned char chunk[256];
      memcpy(chunk, buf + at, n);
      insert(buf, len, cap, chunk, n, s);
    }
    break;
  }
}

/* The framing strings for the boundary the input's first line declares. */
static size_t make_tokens(const unsigned char *data, size_t n, char tokens[][128]) {
  char type[201] = "";
  const unsigned char *nl = memchr(data, '\n', n < 201 ? n : 201);
  if (nl != NULL) {
    memcpy(type, data, (size_t)(nl - data));
    type[nl - data] = '\0';
  }
  char b[GSIM_MP_BOUNDARY_MAX];
  if (gsim_mp_boundary(type, b, sizeof(b)) != GSIM_MP_OK)
    snprintf(b, sizeof(b), "XyZ");
  static const char *const fixed[] = {
      "\r\n",
      "\n",
      "\r\n\r\n",
      "--",
      "\"",
      "\\",
      "; ",
      "name=",
      "filename=\"x.crt\"",
      "filename*=UTF-8''%E2%82%AC%00",
      "Content-Disposition: form-data; name=\"a\"\r\n",
      "Content-Type: application/octet-stream\r\n",
      " ",
  };
  size_t k = 0;
  snprintf(tokens[k++], 128, "\r\n--%s\r\n", b);
  snprintf(tokens[k++], 128, "\r\n--%s--", b);
  snprintf(tokens[k++], 128, "\r\n--%s", b);
  snprintf(tokens[k++], 128, "--%s", b);
  snprintf(tokens[k++], 128, "\n--%s\n", b);
  for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
    snprintf(tokens[k++], 128, "%s", fixed[i]);
  return k;
}

static int replay_file(const char *path, const char *name, size_t variants, counts *c) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "fuzz_multipart_replay: cannot open %s\n", path);
    return 1;
  }
  unsigned char *orig = malloc(INPUT_MAX);
  unsigned char *buf = malloc(INPUT_MAX + GROWTH);
  if (orig == NULL || buf == NULL) {
    fprintf(stderr, "fuzz_multipart_replay: out of memory\n");
    exit(1);
  }
  size_t n = fread(orig, 1, INPUT_MAX, f);
  int too_big = !feof(f);
  fclose(f);
  if (too_big) {
    fprintf(stderr, "fuzz_multipart_replay: %s is larger than %u bytes\n", path, INPUT_MAX);
    free(orig);
    free(buf);
    return 1;
  }
  c->files++;
  run(orig, n, c);
  char tokens[32][128];
  size_t ntokens = make_tokens(orig, n, tokens);
  uint64_t s = name_seed(name);
  for (size_t v = 0; v < variants; v++) {
    size_t len = n;
    memcpy(buf, orig, n);
    size_t ops = 1 + below(&s, 3);
    for (size_t k = 0; k < ops; k++)
      mutate(buf, &len, n + GROWTH, tokens, ntokens, &s);
    run(buf, len, c);
  }
  free(orig);
  free(buf);
  return 0;
}

static int replay_path(const char *path, size_t variants, counts *c) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "fuzz_multipart_replay: no such file or directory: %s\n", path);
    return 1;
  }
  if (!S_ISDIR(st.st_mode)) {
    const char *slash = strrchr(path, '/');
    return replay_file(path, slash == NULL ? path : slash + 1, variants, c);
  }
  struct dirent **names = NULL;
  int n = scandir(path, &names, NULL, alphasort);
  if (n < 0) {
    fprintf(stderr, "fuzz_multipart_replay: cannot read %s\n", path);
    return 1;
  }
  int failed = 0;
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    char file[4096];
    int len = snprintf(file, sizeof(file), "%s/%s", path, name);
    struct stat fst;
    if (name[0] != '.' && strcmp(name, "README.md") != 0 && len > 0 && (size_t)len < sizeof(file) &&
        stat(file, &fst) == 0 && S_ISREG(fst.st_mode))
      failed |= replay_file(file, name, variants, c);
    free(names[i]);
  }
  free(names);
  return failed;
}

int main(int argc, char **argv) {
  size_t variants = 2000;
  int first = 1;
  if (argc > 2 && strcmp(argv[1], "-n") == 0) {
    char *end = NULL;
    unsigned long v = strtoul(argv[2], &end, 10);
    if (end == argv[2] || *end != '\0') {
      fprintf(stderr, "fuzz_multipart_replay: -n takes a number\n");
      return 2;
    }
    variants = v;
    first = 3;
  }
  if (first >= argc) {
    fprintf(stderr, "usage: fuzz_multipart_replay [-n VARIANTS] FILE-OR-DIR...\n");
    return 2;
  }
  counts c = {0, 0};
  int failed = 0;
  for (int i = first; i < argc; i++)
    failed |= replay_path(argv[i], variants, &c);
  printf("fuzz_multipart_replay: %zu files, %zu inputs (%zu mutated variants each)%s\n", c.files,
         c.inputs, variants, failed ? ", some paths could not be read" : "");
  if (c.files == 0) {
    fprintf(stderr, "fuzz_multipart_replay: no input files\n");
    return 1;
  }
  return failed;
}
