/* yaml_reader.c - the bounded YAML reader (yaml_reader.h): libyaml events
 * to a tree of gh_ynode with line numbers, under limits.
 *
 * How it works. The text (a file is read whole first, refused above
 * GH_YAML_MAX_FILE_BYTES) is fed to libyaml's event parser. Each event
 * builds the tree as it arrives: a scalar becomes a node with a copy of its
 * text; a sequence or map start opens a node on a stack (at most
 * GH_YAML_MAX_DEPTH open); the nodes finished inside an open collection wait
 * in one growing array (pending) and are copied into the collection's kids
 * when it ends, when a map's keys are checked (strings, each once - a
 * duplicate names both lines). Nodes and strings come from an arena of 16 KiB
 * blocks owned by the document, so freeing is one walk over the blocks. The
 * bounds are enforced as the events arrive, so hostile input never grows: at
 * most GH_YAML_MAX_NODES nodes, one document, no anchors, aliases or tags, no
 * NUL inside a string. libyaml's own syntax errors are reported at libyaml's
 * mark (a reader error, which only knows a byte offset, is turned into a line
 * and column by counting).
 */
#include "gutil.h"
#include "yaml_reader.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define ARENA_BLOCK ((size_t)16 * 1024)
#define QUOTE_MAX   60 /* bytes of a value quoted in a message */

typedef struct gh_yaml_arena {
  struct gh_yaml_arena *next;
  size_t size;
  size_t used;
  max_align_t data[];
} arena_block;

typedef struct open_node {
  gh_ynode *node;
  size_t base; /* where its children start in pending */
} open_node;

/* One read in progress. */
typedef struct reader {
  gh_yaml_error *err;
  arena_block *arena;
  const unsigned char *buf;
  size_t buf_len;
  size_t node_count;
  gh_ynode **pending; /* children of the open collections, innermost last */
  size_t pending_len;
  size_t pending_cap;
  open_node open[GH_YAML_MAX_DEPTH];
  size_t depth;
  int documents;
  gh_ynode *root;
} reader;

__attribute__((format(printf, 4, 5))) static void report_at(reader *L, int line, int column,
                                                            const char *fmt, ...) {
  gh_yaml_error *e = L->err;
  e->line = line;
  e->column = column;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof(e->message), fmt, ap);
  va_end(ap);
}

/* report_at(), then -1: as macros, so that static analysis (which does not
 * follow variadic calls) knows every `return fail(...)` fails. */
#define fail_at(L, line, column, ...) (report_at((L), (line), (column), __VA_ARGS__), -1)
#define fail(L, at, ...)              fail_at((L), (at)->line, (at)->column, __VA_ARGS__)

/* ---- messages ------------------------------------------------------------- */

/* len bytes of s as a quoted string for a message: escapes quotes, backslashes
 * and control characters, keeps UTF-8 sequences whole, cuts after QUOTE_MAX. */
const char *gh_yaml_quote_len(gh_yaml_qbuf *q, const char *s, size_t len) {
  size_t o = 0;
  size_t i = 0;
  q->s[o++] = '"';
  while (i < len && o < QUOTE_MAX) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '"' || ch == '\\') {
      q->s[o++] = '\\';
      q->s[o++] = (char)ch;
      i++;
    } else if (ch < 0x20 || ch == 0x7f) {
      static const char hex[] = "0123456789abcdef";
      q->s[o++] = '\\';
      q->s[o++] = 'x';
      q->s[o++] = hex[ch >> 4];
      q->s[o++] = hex[ch & 15];
      i++;
    } else {
      size_t seq = ch >= 0xf0 ? 4 : ch >= 0xe0 ? 3 : ch >= 0xc0 ? 2 : 1;
      if (seq > len - i)
        seq = len - i;
      memcpy(q->s + o, s + i, seq);
      o += seq;
      i += seq;
    }
  }
  if (i < len) {
    memcpy(q->s + o, "...", 3);
    o += 3;
  }
  q->s[o++] = '"';
  q->s[o] = '\0';
  return q->s;
}

const char *gh_yaml_quote(gh_yaml_qbuf *q, const char *s) {
  return gh_yaml_quote_len(q, s, strlen(s));
}

/* What a node is, for "got ...": a list, a map, null, or the quoted text. */
const char *gh_yaml_describe(gh_yaml_qbuf *q, const gh_ynode *n) {
  if (n == NULL)
    return "nothing";
  if (n->type == GH_Y_SEQ)
    return "a list";
  if (n->type == GH_Y_MAP)
    return "a map";
  if (n->is_null)
    return "null";
  return gh_yaml_quote_len(q, n->text, n->len);
}

/* ---- reading: libyaml events to a bounded tree --------------------------- */

static void *arena_alloc(reader *L, size_t n) {
  const size_t align = _Alignof(max_align_t);
  n = n == 0 ? align : (n + align - 1) / align * align;
  arena_block *b = L->arena;
  if (b == NULL || b->size - b->used < n) {
    size_t size = n > ARENA_BLOCK ? n : ARENA_BLOCK;
    b = malloc(sizeof(*b) + size);
    if (b == NULL)
      return NULL;
    b->next = L->arena;
    b->size = size;
    b->used = 0;
    L->arena = b;
  }
  void *p = (unsigned char *)b->data + b->used;
  b->used += n;
  return p;
}

static void arena_free(arena_block *b) {
  while (b != NULL) {
    arena_block *next = b->next;
    free(b);
    b = next;
  }
}

static int fail_mark(reader *L, yaml_mark_t mark, const char *what) {
  return fail_at(L, (int)mark.line + 1, (int)mark.column + 1, "%s", what);
}

static gh_ynode *new_node(reader *L, gh_ytype type, yaml_mark_t mark) {
  if (++L->node_count > GH_YAML_MAX_NODES) {
    report_at(L, (int)mark.line + 1, (int)mark.column + 1,
              "more than %d YAML nodes: split the scenario into smaller files", GH_YAML_MAX_NODES);
    return NULL;
  }
  gh_ynode *n = arena_alloc(L, sizeof(*n));
  if (n == NULL) {
    fail_mark(L, mark, "out of memory");
    return NULL;
  }
  memset(n, 0, sizeof(*n));
  n->type = type;
  n->line = (int)mark.line + 1;
  n->column = (int)mark.column + 1;
  return n;
}

/* Hands a finished node to its parent (or makes it the root). */
static int attach(reader *L, gh_ynode *n) {
  if (L->depth == 0) {
    L->root = n;
    return 0;
  }
  if (L->pending_len == L->pending_cap) {
    size_t cap = L->pending_cap ? L->pending_cap * 2 : 64;
    gh_ynode **grown = realloc(L->pending, cap * sizeof(gh_ynode *));
    if (grown == NULL)
      return fail(L, n, "out of memory");
    L->pending = grown;
    L->pending_cap = cap;
  }
  L->pending[L->pending_len++] = n;
  return 0;
}

static int refuse_anchor_tag(reader *L, const yaml_event_t *ev, const yaml_char_t *anchor,
                             const yaml_char_t *tag) {
  if (anchor != NULL)
    return fail_mark(L, ev->start_mark,
                     "anchors and aliases are not supported: write the value out in full");
  if (tag != NULL)
    return fail_mark(L, ev->start_mark, "tags (!name) are not supported: write a plain value");
  return 0;
}

static int on_scalar(reader *L, const yaml_event_t *ev) {
  if (refuse_anchor_tag(L, ev, ev->data.scalar.anchor, ev->data.scalar.tag))
    return -1;
  const char *value = (const char *)ev->data.scalar.value;
  size_t len = ev->data.scalar.length;
  if (memchr(value, '\0', len) != NULL)
    return fail_mark(L, ev->start_mark, "a NUL character in a string");
  gh_ynode *n = new_node(L, GH_Y_SCALAR, ev->start_mark);
  if (n == NULL)
    return -1;
  char *text = arena_alloc(L, len + 1);
  if (text == NULL)
    return fail_mark(L, ev->start_mark, "out of memory");
  memcpy(text, value, len);
  text[len] = '\0';
  n->text = text;
  n->len = len;
  n->has_param = strstr(text, "${") != NULL;
  if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    for (size_t i = 0; nulls[i] != NULL; i++)
      n->is_null |= strcmp(nulls[i], text) == 0;
  }
  return attach(L, n);
}

static int on_start(reader *L, const yaml_event_t *ev, gh_ytype type) {
  const yaml_char_t *anchor =
      type == GH_Y_MAP ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
  const yaml_char_t *tag =
      type == GH_Y_MAP ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
  if (refuse_anchor_tag(L, ev, anchor, tag))
    return -1;
  if (L->depth >= GH_YAML_MAX_DEPTH)
    return fail_at(L, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                   "nesting deeper than %d levels", GH_YAML_MAX_DEPTH);
  gh_ynode *n = new_node(L, type, ev->start_mark);
  if (n == NULL)
    return -1;
  L->open[L->depth].node = n;
  L->open[L->depth].base = L->pending_len;
  L->depth++;
  return 0;
}

/* Keys of a finished map: strings, each once. */
static int check_map_keys(reader *L, const gh_ynode *map) {
  for (size_t i = 0; i < map->kid_count; i += 2) {
    const gh_ynode *key = map->kids[i];
    gh_yaml_qbuf q;
    if (key->type != GH_Y_SCALAR || key->is_null)
      return fail(L, key, "a map key must be a string, got %s", gh_yaml_describe(&q, key));
    for (size_t j = 0; j < i; j += 2) {
      const gh_ynode *other = map->kids[j];
      if (other->len == key->len && memcmp(other->text, key->text, key->len) == 0)
        return fail(L, key, "duplicate key %s: lines %d and %d", gh_yaml_quote(&q, key->text),
                    other->line, key->line);
    }
  }
  return 0;
}

static int on_end(reader *L) {
  if (L->depth == 0) /* libyaml balances its events; never trust that blindly */
    return fail_at(L, 0, 0, "unbalanced YAML events");
  open_node o = L->open[--L->depth];
  size_t count = L->pending_len - o.base;
  if (count > 0) {
    o.node->kids = arena_alloc(L, count * sizeof(gh_ynode *));
    if (o.node->kids == NULL)
      return fail(L, o.node, "out of memory");
    memcpy(o.node->kids, L->pending + o.base, count * sizeof(gh_ynode *));
  }
  o.node->kid_count = count;
  L->pending_len = o.base;
  if (o.node->type == GH_Y_MAP && check_map_keys(L, o.node))
    return -1;
  return attach(L, o.node);
}

static int on_event(reader *L, const yaml_event_t *ev, int *done) {
  switch (ev->type) {
  case YAML_STREAM_END_EVENT:
    *done = 1;
    return 0;
  case YAML_DOCUMENT_START_EVENT:
    if (++L->documents > 1)
      return fail_mark(L, ev->start_mark,
                       "a second YAML document: a scenario file holds exactly one");
    return 0;
  case YAML_ALIAS_EVENT:
    return fail_mark(L, ev->start_mark,
                     "anchors and aliases are not supported: write the value out in full");
  case YAML_SCALAR_EVENT:
    return on_scalar(L, ev);
  case YAML_SEQUENCE_START_EVENT:
    return on_start(L, ev, GH_Y_SEQ);
  case YAML_MAPPING_START_EVENT:
    return on_start(L, ev, GH_Y_MAP);
  case YAML_SEQUENCE_END_EVENT:
  case YAML_MAPPING_END_EVENT:
    return on_end(L);
  default:
    return 0;
  }
}

/* libyaml's own error, at its mark (reader errors only know a byte offset). */
static int syntax_error(reader *L, const yaml_parser_t *p) {
  const char *problem = p->problem ? p->problem : "cannot parse";
  if (p->error == YAML_MEMORY_ERROR)
    return fail_at(L, 0, 0, "out of memory while parsing");
  if (p->error == YAML_READER_ERROR) {
    int line = 1;
    int column = 1;
    for (size_t i = 0; i < p->problem_offset && i < L->buf_len; i++) {
      if (L->buf[i] == '\n') {
        line++;
        column = 1;
      } else if ((L->buf[i] & 0xc0) != 0x80) {
        column++;
      }
    }
    return fail_at(L, line, column, "invalid text: %s", problem);
  }
  if (p->context != NULL)
    return fail_at(L, (int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1,
                   "invalid YAML: %s (%s at line %d, column %d)", problem, p->context,
                   (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
  return fail_at(L, (int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1,
                 "invalid YAML: %s", problem);
}

static int read_tree(reader *L) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser))
    return fail_at(L, 0, 0, "out of memory");
  yaml_parser_set_input_string(&parser, L->buf, L->buf_len);
  int rc = 0;
  int done = 0;
  while (rc == 0 && !done) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      rc = syntax_error(L, &parser);
      break;
    }
    rc = on_event(L, &ev, &done);
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&parser);
  free(L->pending);
  L->pending = NULL;
  return rc;
}

/* Reads the whole file into *out (at most GH_YAML_MAX_FILE_BYTES). */
static int read_file(reader *L, const char *path, unsigned char **out, size_t *len) {
  char *data = NULL;
  if (gu_read_file(path, GH_YAML_MAX_FILE_BYTES, &data, len) == 0) {
    *out = (unsigned char *)data;
    return 0;
  }
  switch (errno) {
  case EFBIG:
    return fail_at(L, 0, 0, "the file is larger than 1 MiB: a scenario is small");
  case ENOMEM:
    return fail_at(L, 0, 0, "out of memory");
  case EIO:
    return fail_at(L, 0, 0, "cannot read the file");
  default:
    return fail_at(L, 0, 0, "cannot open the file: %s", strerror(errno));
  }
}

const gh_ynode *gh_yaml_map_get(const gh_ynode *map, const char *key) {
  if (map == NULL || map->type != GH_Y_MAP)
    return NULL;
  size_t len = strlen(key);
  for (size_t i = 0; i < map->kid_count; i += 2)
    if (map->kids[i]->len == len && memcmp(map->kids[i]->text, key, len) == 0)
      return map->kids[i + 1];
  return NULL;
}

/* ---- the public functions ------------------------------------------------ */

int gh_yaml_read(const unsigned char *text, size_t len, gh_yaml_doc *doc, gh_yaml_error *err) {
  memset(doc, 0, sizeof(*doc));
  memset(err, 0, sizeof(*err));
  reader L;
  memset(&L, 0, sizeof(L));
  L.err = err;
  L.buf = text;
  L.buf_len = len;
  if (read_tree(&L) != 0) {
    arena_free(L.arena);
    return -1;
  }
  doc->root = L.root;
  doc->arena = L.arena;
  return 0;
}

int gh_yaml_read_file(const char *path, gh_yaml_doc *doc, gh_yaml_error *err) {
  memset(doc, 0, sizeof(*doc));
  memset(err, 0, sizeof(*err));
  reader L;
  memset(&L, 0, sizeof(L));
  L.err = err;
  unsigned char *buf = NULL;
  size_t len = 0;
  if (read_file(&L, path, &buf, &len) != 0)
    return -1;
  int rc = gh_yaml_read(buf, len, doc, err);
  free(buf);
  return rc;
}

void gh_yaml_free(gh_yaml_doc *doc) {
  arena_free(doc->arena);
  memset(doc, 0, sizeof(*doc));
}
