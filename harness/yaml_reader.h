/* yaml_reader.h - a bounded YAML reader: a file or a buffer to a small tree
 * of nodes that know their line and column.
 *
 * The scenario loader (scenario.c) reads its files through this; nothing in
 * here knows what a scenario is. The limits make hostile input cheap: the
 * file at most GH_YAML_MAX_FILE_BYTES, at most GH_YAML_MAX_NODES nodes,
 * nesting at most GH_YAML_MAX_DEPTH deep, one document, no anchors or aliases
 * (so no billion laughs), no tags, no NUL inside a string, map keys that are
 * strings and unique. The first problem ends the read with a gh_yaml_error
 * (1-based line and column; 0:0 when not about a place in the text).
 *
 * A gh_yaml_doc owns every node and string of its tree (one arena);
 * gh_yaml_free releases them all at once.
 */
#ifndef GH_YAML_READER_H
#define GH_YAML_READER_H

#include <stddef.h>

#define GH_YAML_MAX_FILE_BYTES ((size_t)1024 * 1024)
#define GH_YAML_MAX_NODES      10000
#define GH_YAML_MAX_DEPTH      32

typedef enum gh_ytype { GH_Y_SCALAR = 0, GH_Y_SEQ, GH_Y_MAP } gh_ytype;

typedef struct gh_ynode {
  gh_ytype type;
  int line; /* 1-based */
  int column;
  int is_null;      /* a plain scalar "", "~", "null", "Null" or "NULL" */
  int has_param;    /* a scalar with "${" in it */
  const char *text; /* scalars: NUL-terminated, no NUL inside */
  size_t len;
  struct gh_ynode **kids; /* sequence: the items; map: key, value, key, value, ... */
  size_t kid_count;       /* sequence: items; map: twice the entries */
} gh_ynode;

typedef struct gh_yaml_doc {
  const gh_ynode *root; /* NULL for an empty document */
  struct gh_yaml_arena *arena;
} gh_yaml_doc;

typedef struct gh_yaml_error {
  int line; /* 1-based; 0 when not about a place in the text */
  int column;
  char message[512];
} gh_yaml_error;

/* Reads the file at path (refused above GH_YAML_MAX_FILE_BYTES) into doc.
 * 0, or -1 with err filled and doc empty. */
int gh_yaml_read_file(const char *path, gh_yaml_doc *doc, gh_yaml_error *err);
/* The same for len bytes of text (no NUL terminator needed). */
int gh_yaml_read(const unsigned char *text, size_t len, gh_yaml_doc *doc, gh_yaml_error *err);
void gh_yaml_free(gh_yaml_doc *doc);

/* The value of key in map, or NULL (also when map is not a map). */
const gh_ynode *gh_yaml_map_get(const gh_ynode *map, const char *key);

/* Quoting values for messages: the result lives in the caller's buffer. */
typedef struct gh_yaml_qbuf {
  char s[96];
} gh_yaml_qbuf;

/* len bytes of s as a quoted string for a message: escapes quotes, backslashes
 * and control characters, keeps UTF-8 sequences whole, cuts after 60 bytes. */
const char *gh_yaml_quote_len(gh_yaml_qbuf *q, const char *s, size_t len);
const char *gh_yaml_quote(gh_yaml_qbuf *q, const char *s);
/* What a node is, for "got ...": a list, a map, null, or the quoted text
 * ("nothing" for NULL). */
const char *gh_yaml_describe(gh_yaml_qbuf *q, const gh_ynode *n);

#endif
