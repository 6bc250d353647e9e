/* multipart.h - bounded multipart/form-data parsing (RFC 7578, RFC 2046) for
 * the simulator's admin API.
 *
 * Certificate uploads arrive as multipart bodies, and a multipart body is
 * hostile input: this parser never trusts a length or an offset from the body,
 * never allocates, and answers every malformed body with a specific status and
 * a one-line reason. The body has already been bounded by the HTTP layer
 * (10 MiB); here the number of parts, the size of each part's header block and
 * the length of every name are bounded too.
 *
 * Parts are not copied: gsim_mp_part.data points into the body the caller
 * passed, which must outlive the form.
 *
 * What is accepted (multipart.c's top comment has the details): CRLF line ends
 * only (a body framed with bare LFs is rejected, the reason says so); preamble
 * and epilogue ignored; at least one part; every part needs
 * Content-Disposition: form-data with a non-empty name; filename* (RFC 5987)
 * only as UTF-8 and only used when there is no plain filename; two parts with
 * the same name are GSIM_MP_DUPLICATE_FIELD.
 */
#ifndef GSIM_MULTIPART_H
#define GSIM_MULTIPART_H

#include <stddef.h>

#include "sim_limits.h" /* GSIM_MP_MAX_PARTS, GSIM_MP_*_MAX */

typedef enum gsim_mp_status {
  GSIM_MP_OK = 0,
  GSIM_MP_NOT_MULTIPART,   /* Content-Type missing or not multipart/form-data */
  GSIM_MP_BAD_BOUNDARY,    /* boundary parameter missing, empty, too long or invalid */
  GSIM_MP_NO_DELIMITER,    /* the body holds no opening delimiter line, or no part */
  GSIM_MP_TRUNCATED,       /* the body ends before the closing delimiter */
  GSIM_MP_BAD_HEADER,      /* a delimiter line or a part's header block is malformed or too
                              long (Content-Type over GSIM_MP_TYPE_MAX included) */
  GSIM_MP_NO_DISPOSITION,  /* a part without Content-Disposition: form-data; name="..." */
  GSIM_MP_NAME_TOO_LONG,   /* a field name or file name over its bound */
  GSIM_MP_TOO_MANY_PARTS,  /* more than GSIM_MP_MAX_PARTS parts */
  GSIM_MP_DUPLICATE_FIELD, /* two parts with the same name (ambiguous) */
} gsim_mp_status;

typedef struct gsim_mp_part {
  char name[GSIM_MP_NAME_MAX];         /* Content-Disposition name, unquoted */
  char filename[GSIM_MP_FILENAME_MAX]; /* unquoted; "" when has_filename is 0 */
  int has_filename;                    /* a filename parameter was present (even empty) */
  char content_type[GSIM_MP_TYPE_MAX]; /* the part's Content-Type, "" if none */
  const unsigned char *data;           /* the part's content, inside the body */
  size_t len;
} gsim_mp_part;

typedef struct gsim_mp_form {
  gsim_mp_part parts[GSIM_MP_MAX_PARTS];
  size_t count;
} gsim_mp_form;

/* Short stable name of a status ("ok", "not-multipart", "bad-boundary", ...). */
const char *gsim_mp_status_name(gsim_mp_status status);

/* Extracts the boundary from a Content-Type header value such as
 * `multipart/form-data; boundary="abc"` (type and parameter names are case
 * insensitive, the value may be quoted). boundary must hold
 * GSIM_MP_BOUNDARY_MAX bytes. GSIM_MP_NOT_MULTIPART when the type is not
 * multipart/form-data; GSIM_MP_BAD_BOUNDARY when the parameters do not parse
 * or the boundary is missing, repeated, not 1..70 RFC 2046 bchars or ends in
 * a space. On failure boundary is "". */
gsim_mp_status gsim_mp_boundary(const char *content_type, char *boundary, size_t boundary_size);

/* Parses body into form (which must not be NULL). boundary is the value
 * gsim_mp_boundary returned; an invalid one gives GSIM_MP_BAD_BOUNDARY. On
 * success why (if not NULL) is "". On failure form->count is 0 (the whole form
 * is zeroed) and why holds a one-line reason naming what was wrong and where
 * (part index counted from 1, byte offset), e.g.
 * "part 2: header line without ':' (byte 301)". */
gsim_mp_status gsim_mp_parse(const unsigned char *body, size_t len, const char *boundary,
                             gsim_mp_form *form, char *why, size_t why_len);

/* The part named name, or NULL. */
const gsim_mp_part *gsim_mp_find(const gsim_mp_form *form, const char *name);

#endif
