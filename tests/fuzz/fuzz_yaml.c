/* fuzz_yaml.c - the fuzz target of the bounded YAML reader (yaml_reader.c).
 *
 * LLVMFuzzerTestOneInput is built two ways (CMakeLists.txt here): with clang's
 * libFuzzer into fuzz_yaml, and with the project's compiler and replay.c's
 * main into fuzz_yaml_replay, a unit test. The input is the YAML text as it
 * would be in a scenario file; it is copied into a buffer of exactly its size
 * (no NUL after it) so AddressSanitizer catches a read on either side.
 *
 * Invariants, each an abort() with its name on stderr when broken:
 *   - on failure: no tree, a non-empty NUL-terminated message, line and
 *     column both 0 or both at least 1;
 *   - on success: at most GH_YAML_MAX_NODES nodes nested at most
 *     GH_YAML_MAX_DEPTH deep; every node has a line and column >= 1; a scalar
 *     holds exactly len bytes then a NUL, no NUL inside, has_param exactly
 *     when "${" is in it, is_null only for the null words; a collection has
 *     no text; a map has key, value pairs whose keys are non-null scalars, each
 *     once; gh_yaml_map_get finds each key's value; quoting any scalar for a
 *     message stays inside its buffer, starts and ends with '"'.
 */
#include "fuzz.h"
#include "yaml_reader.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What replay.c inserts into the inputs it mutates: YAML's punctuation and
 * the constructs the reader refuses. */
static const char *const yaml_tokens[] = {"\n",
                                          "  ",
                                          "- ",
                                          ": ",
                                          "[",
                                          "]",
                                          "{",
                                          "}",
                                          ", ",
                                          "&a ",
                                          "*a",
                                          "!!str ",
                                          "!t ",
                                          "---\n",
                                          "...\n",
                                          "${x}",
                                          "$${",
                                          "\"",
                                          "'",
                                          "|\n",
                                          ">-\n",
                                          "# c\n",
                                          "? ",
                                          "~",
                                          "null",
                                          "\t",
                                          "\\x00",
                                          "\xef\xbb\xbf",
                                          "key: value\n",
                                          "[[[[[[[[",
                                          NULL};

size_t gh_fuzz_tokens_for(const uint8_t *data, size_t size, char tokens[][GH_FUZZ_TOKEN_LEN],
                          size_t max) {
  (void)data;
  (void)size;
  return gh_fuzz_tokens_from_list(yaml_tokens, tokens, max);
}

#define CHECK(cond) GH_FUZZ_CHECK("fuzz_yaml", cond)

static int null_word(const char *s) {
  static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
  for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
    if (strcmp(s, nulls[i]) == 0)
      return 1;
  return 0;
}

static void check_quote(const gh_ynode *n) {
  gh_yaml_qbuf q;
  memset(q.s, 'z', sizeof(q.s));
  const char *s = gh_yaml_describe(&q, n);
  CHECK(s != NULL);
  if (s == q.s) {
    size_t len = strnlen(q.s, sizeof(q.s));
    CHECK(len < sizeof(q.s));
    CHECK(len >= 2 && q.s[0] == '"' && q.s[len - 1] == '"');
  }
}

// NOLINTNEXTLINE(misc-no-recursion): bounded by the reader's depth limit, which it checks
static void check_node(const gh_ynode *n, size_t depth, size_t *count) {
  CHECK(n != NULL);
  CHECK(++*count <= GH_YAML_MAX_NODES);
  CHECK(n->line >= 1 && n->column >= 1);
  check_quote(n);
  if (n->type == GH_Y_SCALAR) {
    CHECK(n->text != NULL);
    CHECK(n->text[n->len] == '\0');
    CHECK(strlen(n->text) == n->len);
    CHECK(n->has_param == (strstr(n->text, "${") != NULL));
    CHECK(!n->is_null || null_word(n->text));
    CHECK(n->kid_count == 0);
    return;
  }
  CHECK(n->type == GH_Y_SEQ || n->type == GH_Y_MAP);
  CHECK(n->text == NULL);
  CHECK(depth < GH_YAML_MAX_DEPTH);
  CHECK(n->kid_count == 0 || n->kids != NULL);
  if (n->type == GH_Y_MAP) {
    CHECK(n->kid_count % 2 == 0);
    for (size_t i = 0; i < n->kid_count; i += 2) {
      const gh_ynode *key = n->kids[i];
      CHECK(key->type == GH_Y_SCALAR && !key->is_null);
      for (size_t j = 0; j < i; j += 2)
        CHECK(n->kids[j]->len != key->len || memcmp(n->kids[j]->text, key->text, key->len) != 0);
      CHECK(gh_yaml_map_get(n, key->text) == n->kids[i + 1]);
    }
  }
  for (size_t i = 0; i < n->kid_count; i++)
    check_node(n->kids[i], depth + 1, count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  unsigned char *copy = malloc(size == 0 ? 1 : size);
  if (copy == NULL)
    return 0;
  if (size > 0)
    memcpy(copy, data, size);
  gh_yaml_doc doc;
  gh_yaml_error err;
  int rc = gh_yaml_read(copy, size, &doc, &err);
  if (rc != 0) {
    CHECK(rc == -1);
    CHECK(doc.root == NULL && doc.arena == NULL);
    CHECK(strnlen(err.message, sizeof(err.message)) < sizeof(err.message));
    CHECK(err.message[0] != '\0');
    CHECK((err.line == 0 && err.column == 0) || (err.line >= 1 && err.column >= 1));
  } else {
    size_t count = 0;
    if (doc.root != NULL)
      check_node(doc.root, 0, &count);
  }
  gh_yaml_free(&doc);
  CHECK(doc.root == NULL && doc.arena == NULL);
  free(copy);
  return 0;
}
