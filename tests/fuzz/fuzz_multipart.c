/* fuzz_multipart.c - the fuzz target of the multipart parser (multipart.c).
 *
 * LLVMFuzzerTestOneInput is built two ways (CMakeLists.txt here): with clang's
 * libFuzzer into fuzz_multipart, and with the project's compiler and replay.c's
 * main into fuzz_multipart_replay, a unit test.
 *
 * Input: the first line (up to '\n', at most 200 bytes, one trailing CR
 * dropped) is the Content-Type header value; everything after the '\n' is the
 * body. Inputs without such a line are ignored. The body is copied into a
 * buffer of exactly its size so AddressSanitizer catches a read on either side.
 *
 * Invariants, each an abort() with its name on stderr when broken:
 *   - gsim_mp_boundary: on success the boundary is 1..70 RFC 2046 characters
 *     not ending in a space; on failure it is "".
 *   - gsim_mp_parse: on failure count is 0 and there is a reason. On success
 *     1 <= count <= GSIM_MP_MAX_PARTS, every part's content lies inside the
 *     body and holds no delimiter, follows an empty line and is followed by a
 *     delimiter (the close delimiter after the last part), parts are in
 *     order, every string is NUL-terminated inside its array, names are
 *     non-empty and unique, gsim_mp_find finds each part, and the form
 *     survives a round trip: written out again as curl would write it
 *     (quoted, escaped parameters) and parsed, it gives the same parts.
 */
#include "fuzz.h"
#include "multipart.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CT_LINE_MAX 200

/* The framing strings for the boundary the input's first line declares, then
 * the header and parameter tokens: what replay.c inserts into mutations. */
size_t gh_fuzz_tokens_for(const uint8_t *data, size_t size, char tokens[][GH_FUZZ_TOKEN_LEN],
                          size_t max) {
  char type[CT_LINE_MAX + 1] = "";
  const unsigned char *nl = memchr(data, '\n', size < sizeof(type) ? size : sizeof(type));
  if (nl != NULL) {
    memcpy(type, data, (size_t)(nl - data));
    type[nl - data] = '\0';
  }
  char b[GSIM_MP_BOUNDARY_MAX];
  if (gsim_mp_boundary(type, b, sizeof(b)) != GSIM_MP_OK)
    snprintf(b, sizeof(b), "XyZ");
  static const char *const framing[][2] = {
      {"\r\n--", "\r\n"}, {"\r\n--", "--"}, {"\r\n--", ""}, {"--", ""}, {"\n--", "\n"}};
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
  for (size_t i = 0; i < sizeof(framing) / sizeof(framing[0]) && k < max; i++)
    snprintf(tokens[k++], GH_FUZZ_TOKEN_LEN, "%s%s%s", framing[i][0], b, framing[i][1]);
  for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) && k < max; i++)
    snprintf(tokens[k++], GH_FUZZ_TOKEN_LEN, "%s", fixed[i]);
  return k;
}

#define CHECK(cond) GH_FUZZ_CHECK("fuzz_multipart", cond)

static int terminated(const char *s, size_t size) { return memchr(s, '\0', size) != NULL; }

static void check_boundary(gsim_mp_status st, const char *boundary) {
  CHECK(terminated(boundary, GSIM_MP_BOUNDARY_MAX));
  size_t n = strlen(boundary);
  if (st != GSIM_MP_OK) {
    CHECK(st == GSIM_MP_NOT_MULTIPART || st == GSIM_MP_BAD_BOUNDARY);
    CHECK(n == 0);
    return;
  }
  CHECK(n >= 1 && n <= GSIM_MP_BOUNDARY_MAX - 1);
  CHECK(boundary[n - 1] != ' ');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)boundary[i];
    CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          strchr("'()+_,-./:=? ", c) != NULL);
  }
}

/* Appends a quoted-string with backslash escapes. */
static size_t put_quoted(char *out, size_t at, const char *s) {
  out[at++] = '"';
  for (; *s != '\0'; s++) {
    if (*s == '"' || *s == '\\')
      out[at++] = '\\';
    out[at++] = *s;
  }
  out[at++] = '"';
  return at;
}

static size_t put(char *out, size_t at, const void *p, size_t n) {
  memcpy(out + at, p, n);
  return at + n;
}

static size_t put_str(char *out, size_t at, const char *s) { return put(out, at, s, strlen(s)); }

/* Writes form out again as curl would, parses that and compares. */
static void check_round_trip(const gsim_mp_form *form, const char *boundary) {
  size_t cap = 64 + 2 * strlen(boundary);
  for (size_t i = 0; i < form->count; i++)
    cap += form->parts[i].len + 2 * (size_t)(GSIM_MP_NAME_MAX + GSIM_MP_FILENAME_MAX) +
           GSIM_MP_TYPE_MAX + 128 + strlen(boundary);
  char *out = malloc(cap);
  CHECK(out != NULL);
  size_t at = put_str(out, 0, "--");
  at = put_str(out, at, boundary);
  for (size_t i = 0; i < form->count; i++) {
    const gsim_mp_part *p = &form->parts[i];
    at = put_str(out, at, "\r\nContent-Disposition: form-data; name=");
    at = put_quoted(out, at, p->name);
    if (p->has_filename) {
      at = put_str(out, at, "; filename=");
      at = put_quoted(out, at, p->filename);
    }
    if (p->content_type[0] != '\0') {
      at = put_str(out, at, "\r\nContent-Type: ");
      at = put_str(out, at, p->content_type);
    }
    at = put_str(out, at, "\r\n\r\n");
    at = put(out, at, p->data, p->len);
    at = put_str(out, at, "\r\n--");
    at = put_str(out, at, boundary);
  }
  at = put_str(out, at, "--\r\n");
  CHECK(at <= cap);

  unsigned char *again = malloc(at);
  CHECK(again != NULL);
  memcpy(again, out, at);
  free(out);
  static gsim_mp_form form2;
  char why[256];
  gsim_mp_status st = gsim_mp_parse(again, at, boundary, &form2, why, sizeof(why));
  if (st != GSIM_MP_OK)
    fprintf(stderr, "fuzz_multipart: round trip failed: %s\n", why);
  CHECK(st == GSIM_MP_OK);
  CHECK(form2.count == form->count);
  for (size_t i = 0; i < form->count; i++) {
    const gsim_mp_part *a = &form->parts[i];
    const gsim_mp_part *b = &form2.parts[i];
    CHECK(strcmp(a->name, b->name) == 0);
    CHECK(a->has_filename == b->has_filename);
    CHECK(strcmp(a->filename, b->filename) == 0);
    CHECK(strcmp(a->content_type, b->content_type) == 0);
    CHECK(a->len == b->len);
    CHECK(a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
  }
  free(again);
}

static void check_form(const unsigned char *body, size_t len, const char *boundary,
                       gsim_mp_status st, const gsim_mp_form *form, const char *why,
                       size_t why_size) {
  CHECK(terminated(why, why_size));
  CHECK(strcmp(gsim_mp_status_name(st), "unknown") != 0);
  if (st != GSIM_MP_OK) {
    CHECK(form->count == 0);
    CHECK(why[0] != '\0');
    return;
  }
  CHECK(why[0] == '\0');
  CHECK(form->count >= 1 && form->count <= GSIM_MP_MAX_PARTS);
  char delim[4 + GSIM_MP_BOUNDARY_MAX];
  int dlen = snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
  CHECK(dlen > 4 && (size_t)dlen < sizeof(delim));
  for (size_t i = 0; i < form->count; i++) {
    const gsim_mp_part *p = &form->parts[i];
    CHECK(p->data != NULL);
    CHECK((uintptr_t)p->data >= (uintptr_t)body);
    CHECK(p->len <= len && (size_t)((uintptr_t)p->data - (uintptr_t)body) <= len - p->len);
    CHECK(memmem(p->data, p->len, delim, (size_t)dlen) == NULL);
    /* framing: an empty line before the content, a delimiter right after it
     * (the close delimiter after the last part), parts in order */
    size_t at = (size_t)((uintptr_t)p->data - (uintptr_t)body);
    CHECK(at >= 4 && memcmp(p->data - 4, "\r\n\r\n", 4) == 0);
    CHECK(len - at - p->len >= (size_t)dlen && memcmp(p->data + p->len, delim, (size_t)dlen) == 0);
    if (i + 1 == form->count)
      CHECK(len - at - p->len >= (size_t)dlen + 2 && memcmp(p->data + p->len + dlen, "--", 2) == 0);
    else
      CHECK((uintptr_t)(p->data + p->len) < (uintptr_t)form->parts[i + 1].data);
    CHECK(terminated(p->name, sizeof(p->name)) && p->name[0] != '\0');
    CHECK(terminated(p->filename, sizeof(p->filename)));
    CHECK(terminated(p->content_type, sizeof(p->content_type)));
    CHECK(p->has_filename == 0 || p->has_filename == 1);
    CHECK(p->has_filename || p->filename[0] == '\0');
    CHECK(gsim_mp_find(form, p->name) == p);
  }
  check_round_trip(form, boundary);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t scan = size < CT_LINE_MAX + 1 ? size : CT_LINE_MAX + 1;
  const uint8_t *nl = memchr(data, '\n', scan);
  if (nl == NULL)
    return 0;
  char type[CT_LINE_MAX + 1];
  size_t tlen = (size_t)(nl - data);
  memcpy(type, data, tlen);
  if (tlen > 0 && type[tlen - 1] == '\r')
    tlen--;
  type[tlen] = '\0';

  char boundary[GSIM_MP_BOUNDARY_MAX];
  memset(boundary, 0xa5, sizeof(boundary));
  gsim_mp_status st = gsim_mp_boundary(type, boundary, sizeof(boundary));
  check_boundary(st, boundary);
  if (st != GSIM_MP_OK)
    return 0;

  size_t len = size - (size_t)(nl + 1 - data);
  unsigned char *body = malloc(len == 0 ? 1 : len);
  CHECK(body != NULL);
  if (len > 0)
    memcpy(body, nl + 1, len);
  static gsim_mp_form form; /* 8 KiB: kept off the stack */
  memset(&form, 0xa5, sizeof(form));
  char why[256];
  memset(why, 0xa5, sizeof(why));
  st = gsim_mp_parse(body, len, boundary, &form, why, sizeof(why));
  check_form(body, len, boundary, st, &form, why, sizeof(why));
  free(body);
  return 0;
}
