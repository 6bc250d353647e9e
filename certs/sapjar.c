/* sapjar.c - the SAP key store JAR: one key entry in a zip archive.
 *
 * SAP API Management takes a key store as a JAR (a zip) holding a PEM file
 * with the certificate chain (leaf, then intermediates, then root), a PEM
 * file with the private key, and META-INF/descriptor.properties naming both:
 *
 *     certFile=main.pem
 *     keyFile=privateKey.pem
 *
 * Reading (libzip over the caller's memory, never extracted to disk):
 *
 *   - The input must start with a zip signature (PK\3\4, or PK\5\6 for an
 *     empty archive): anything else is GCERT_E_BAD_MAGIC; a zip libzip cannot
 *     open (with its consistency checks on) is GCERT_E_ZIP.
 *   - At most JAR_MAX_MEMBERS members; a member is read only after its stated
 *     size was checked against JAR_MAX_MEMBER, and never more than that many
 *     bytes plus one even if the stated size lies (GCERT_E_LIMIT). Encrypted
 *     members and unknown compression are GCERT_E_UNSUPPORTED.
 *   - The descriptor is parsed as a Java .properties file: `key=value`,
 *     `key: value`, `key value`, `#` and `!` comment lines, blank lines,
 *     LF/CR/CRLF line ends, backslash line continuation and the escapes \t \n
 *     \r \f \uXXXX (surrogate pairs combined) and \x = x. Bytes are ISO-8859-1
 *     as Java's Properties.load(InputStream) reads them (so names become
 *     UTF-8). Unlike Java, trailing whitespace of a value is dropped: a file
 *     name never ends in a space. The last definition of a key wins.
 *   - certFile and keyFile must be present and non-empty, relative, free of
 *     `..` components, backslashes and control characters, and differ
 *     (GCERT_E_DESCRIPTOR); the members they name must exist
 *     (GCERT_E_MISSING_MEMBER).
 *   - certFile is read with the PEM reader and must hold certificates only,
 *     in chain order: each certificate's issuer name is the next one's
 *     subject. Anything else (unrelated or reversed certificates, i.e. more
 *     than one chain) is GCERT_E_UNSUPPORTED: one chain per JAR, leaf first.
 *     Only names are compared, so deliberately broken PKIs (a CA:FALSE
 *     issuer) still load.
 *   - keyFile is read with the PEM key reader (password for an encrypted key)
 *     and must match the first certificate (GCERT_E_KEY_MISMATCH).
 *   The result is one key entry without alias, appended only on success.
 *
 * Writing makes the same layout as `jar -cf` followed by `jar -uf`: the
 * META-INF/ directory, a manifest, the chain PEM, the key PEM (encrypted
 * PKCS#8 when a key password is given) and the descriptor, all with a fixed
 * timestamp so equal input gives equal output. The zip is built in memory: a
 * buffer source kept alive with zip_source_keep is read back after zip_close.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <zip.h>

#define JAR_MAX_MEMBERS 64
#define JAR_MAX_MEMBER  ((zip_uint64_t)1 << 20) /* 1 MiB */
#define JAR_NAME_MAX    255
#define JAR_DESCRIPTOR  "META-INF/descriptor.properties"
#define JAR_MANIFEST    "META-INF/MANIFEST.MF"
#define JAR_MTIME       ((time_t)1577836800) /* 2020-01-01T00:00:00Z */

/* ---- descriptor.properties ---------------------------------------------- */

typedef struct descriptor {
  char *cert_file;
  char *key_file;
} descriptor;

static void descriptor_free(descriptor *d) {
  free(d->cert_file);
  free(d->key_file);
  d->cert_file = d->key_file = NULL;
}

static int is_blank(unsigned char c) { return c == ' ' || c == '\t' || c == '\f'; }

/* Copies the next logical line (continuations joined, escapes kept) into
 * line; returns 0 when the input is exhausted. Comment and blank lines are
 * skipped, as is leading whitespace of every natural line. */
static int next_logical_line(const unsigned char *d, size_t len, size_t *pos, unsigned char *line,
                             size_t *line_len) {
  size_t n = 0;
  int continuing = 0;
  while (*pos < len) {
    size_t start = *pos;
    while (start < len && is_blank(d[start]))
      start++;
    size_t end = start;
    while (end < len && d[end] != '\n' && d[end] != '\r')
      end++;
    size_t next = end;
    if (next < len)
      next += (d[next] == '\r' && next + 1 < len && d[next + 1] == '\n') ? 2 : 1;
    *pos = next;
    if (!continuing && (start == end || d[start] == '#' || d[start] == '!'))
      continue;
    size_t slashes = 0;
    while (end - slashes > start && d[end - 1 - slashes] == '\\')
      slashes++;
    int more = slashes % 2 == 1;
    size_t stop = more ? end - 1 : end;
    memcpy(line + n, d + start, stop - start);
    n += stop - start;
    if (!more) {
      *line_len = n;
      return 1;
    }
    continuing = 1;
  }
  *line_len = n;
  return continuing;
}

static size_t put_utf8(char *out, unsigned long cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xc0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xe0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  out[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* Reads the 4 hex digits of a \uXXXX escape at in[*i]; -1 when malformed. */
static long read_u_escape(const unsigned char *in, size_t n, size_t *i) {
  if (n - *i < 4)
    return -1;
  long v = 0;
  for (size_t k = 0; k < 4; k++) {
    unsigned char c = in[*i + k];
    int digit = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
    if (digit < 0)
      return -1;
    v = v * 16 + digit;
  }
  *i += 4;
  return v;
}

/* Java's loadConvert: resolves escapes, turns ISO-8859-1 bytes into UTF-8.
 * out needs room for 2 * n + 1 bytes. */
static gcert_status unescape(const unsigned char *in, size_t n, char *out, size_t line_no,
                             gcert_error *err) {
  size_t o = 0;
  size_t i = 0;
  while (i < n) {
    unsigned long c = in[i++];
    if (c == '\\' && i < n) {
      c = in[i++];
      if (c == 'u') {
        long u = read_u_escape(in, n, &i);
        if (u >= 0xd800 && u <= 0xdbff && n - i >= 6 && in[i] == '\\' && in[i + 1] == 'u') {
          size_t j = i + 2;
          long low = read_u_escape(in, n, &j);
          if (low >= 0xdc00 && low <= 0xdfff) {
            u = 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00);
            i = j;
          }
        }
        if (u < 0 || (u >= 0xd800 && u <= 0xdfff))
          return gcert_fail_plain(err, GCERT_E_DESCRIPTOR,
                                  "descriptor line %zu: malformed \\uXXXX escape", line_no);
        c = (unsigned long)u;
      } else {
        c = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 'f' ? '\f' : c;
      }
    }
    if (c == 0)
      return gcert_fail_plain(err, GCERT_E_DESCRIPTOR, "descriptor line %zu holds a NUL character",
                              line_no);
    o += put_utf8(out + o, c);
  }
  out[o] = '\0';
  return GCERT_OK;
}

/* Splits a logical line into key and value the way java.util.Properties
 * does and keeps the two keys this format uses. */
static gcert_status parse_line(const unsigned char *line, size_t n, char *scratch, size_t line_no,
                               descriptor *d, gcert_error *err) {
  size_t key_len = 0;
  size_t value_start = n;
  int has_sep = 0;
  int escaped = 0;
  for (; key_len < n; key_len++) {
    unsigned char c = line[key_len];
    if (!escaped && (c == '=' || c == ':' || is_blank(c))) {
      has_sep = c == '=' || c == ':';
      value_start = key_len + 1;
      break;
    }
    escaped = c == '\\' && !escaped;
  }
  for (; value_start < n; value_start++) {
    unsigned char c = line[value_start];
    if (is_blank(c))
      continue;
    if (has_sep || (c != '=' && c != ':'))
      break;
    has_sep = 1;
  }
  gcert_status st = unescape(line, key_len, scratch, line_no, err);
  if (st != GCERT_OK)
    return st;
  char **slot = strcmp(scratch, "certFile") == 0  ? &d->cert_file
                : strcmp(scratch, "keyFile") == 0 ? &d->key_file
                                                  : NULL;
  if (slot == NULL)
    return GCERT_OK;
  st = unescape(line + value_start, n - value_start, scratch, line_no, err);
  if (st != GCERT_OK)
    return st;
  size_t vlen = strlen(scratch);
  while (vlen > 0 && is_blank((unsigned char)scratch[vlen - 1]))
    scratch[--vlen] = '\0';
  char *copy = strdup(scratch);
  if (copy == NULL)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory reading the descriptor");
  free(*slot);
  *slot = copy;
  return GCERT_OK;
}

static gcert_status parse_descriptor(const unsigned char *data, size_t len, descriptor *d,
                                     gcert_error *err) {
  unsigned char *line = malloc(len + 1);
  char *scratch = malloc(2 * len + 1);
  gcert_status st = GCERT_OK;
  if (line == NULL || scratch == NULL)
    st = gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory reading the descriptor");
  size_t pos = 0;
  size_t n = 0;
  for (size_t line_no = 1; st == GCERT_OK && next_logical_line(data, len, &pos, line, &n);
       line_no++)
    st = parse_line(line, n, scratch, line_no, d, err);
  free(line);
  free(scratch);
  return st;
}

/* A member name from the descriptor: relative, no `..`, no backslash. */
static gcert_status check_member_name(const char *field, const char *name, gcert_error *err) {
  size_t len = strlen(name);
  if (len > JAR_NAME_MAX)
    return gcert_fail_plain(err, GCERT_E_DESCRIPTOR, "%s is %zu bytes long, the limit is %d", field,
                            len, JAR_NAME_MAX);
  if (name[0] == '/')
    return gcert_fail_plain(err, GCERT_E_DESCRIPTOR, "%s '%s' is an absolute path", field, name);
  for (const char *p = name; *p != '\0'; p++) {
    unsigned char c = (unsigned char)*p;
    if (c < 0x20 || c == 0x7f || c == '\\')
      return gcert_fail_plain(err, GCERT_E_DESCRIPTOR,
                              "%s holds a %s at byte %zu (backslashes and control characters "
                              "are not allowed in member names)",
                              field, c == '\\' ? "backslash" : "control character",
                              (size_t)(p - name));
  }
  for (const char *seg = name; seg != NULL;) {
    const char *slash = strchr(seg, '/');
    size_t seg_len = slash != NULL ? (size_t)(slash - seg) : strlen(seg);
    if (seg_len == 2 && seg[0] == '.' && seg[1] == '.')
      return gcert_fail_plain(err, GCERT_E_DESCRIPTOR, "%s '%s' climbs out with '..'", field, name);
    if (seg_len == 0)
      return gcert_fail_plain(err, GCERT_E_DESCRIPTOR, "%s '%s' has an empty path segment", field,
                              name);
    seg = slash != NULL ? slash + 1 : NULL;
  }
  return GCERT_OK;
}

static gcert_status check_descriptor(const descriptor *d, gcert_error *err) {
  if (d->cert_file == NULL || d->cert_file[0] == '\0')
    return gcert_fail_plain(err, GCERT_E_DESCRIPTOR, "%s has %s certFile", JAR_DESCRIPTOR,
                            d->cert_file == NULL ? "no" : "an empty");
  if (d->key_file == NULL || d->key_file[0] == '\0')
    return gcert_fail_plain(err, GCERT_E_DESCRIPTOR, "%s has %s keyFile", JAR_DESCRIPTOR,
                            d->key_file == NULL ? "no" : "an empty");
  gcert_status st = check_member_name("certFile", d->cert_file, err);
  if (st == GCERT_OK)
    st = check_member_name("keyFile", d->key_file, err);
  if (st == GCERT_OK && strcmp(d->cert_file, d->key_file) == 0)
    st = gcert_fail_plain(err, GCERT_E_DESCRIPTOR,
                          "certFile and keyFile both name '%s': the chain and the key are two "
                          "members",
                          d->cert_file);
  return st;
}

/* ---- reading members ---------------------------------------------------- */

static gcert_status open_archive(const unsigned char *data, size_t len, zip_t **out,
                                 gcert_error *err) {
  if (len < 4 || (memcmp(data, "PK\3\4", 4) != 0 && memcmp(data, "PK\5\6", 4) != 0))
    return gcert_fail_plain(err, GCERT_E_BAD_MAGIC,
                            "not a JAR (zip) archive: it does not start with PK\\3\\4");
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t *src = zip_source_buffer_create(data, len, 0, &ze);
  zip_t *za = src != NULL ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
  gcert_status st = GCERT_OK;
  if (za == NULL) {
    zip_source_free(src);
    st = gcert_fail_plain(err, GCERT_E_ZIP, "zip archive cannot be read: %s",
                          zip_error_strerror(&ze));
  }
  zip_error_fini(&ze);
  if (st != GCERT_OK)
    return st;
  zip_int64_t count = zip_get_num_entries(za, 0);
  if (count > JAR_MAX_MEMBERS) {
    zip_discard(za);
    return gcert_fail_plain(err, GCERT_E_LIMIT, "zip archive has %lld members, the limit is %d",
                            (long long)count, JAR_MAX_MEMBERS);
  }
  *out = za;
  return GCERT_OK;
}

static gcert_status stat_member(zip_t *za, zip_uint64_t index, const char *name, zip_stat_t *sb,
                                gcert_error *err) {
  zip_stat_init(sb);
  if (zip_stat_index(za, index, 0, sb) != 0)
    return gcert_fail_plain(err, GCERT_E_ZIP, "member '%s' cannot be examined: %s", name,
                            zip_strerror(za));
  if ((sb->valid & ZIP_STAT_ENCRYPTION_METHOD) && sb->encryption_method != ZIP_EM_NONE)
    return gcert_fail_plain(err, GCERT_E_UNSUPPORTED,
                            "member '%s' is encrypted: encrypted archives are not supported", name);
  if ((sb->valid & ZIP_STAT_COMP_METHOD) && !zip_compression_method_supported(sb->comp_method, 0))
    return gcert_fail_plain(err, GCERT_E_UNSUPPORTED,
                            "member '%s' uses compression method %u, which is not supported", name,
                            (unsigned)sb->comp_method);
  if ((sb->valid & ZIP_STAT_SIZE) && sb->size > JAR_MAX_MEMBER)
    return gcert_fail_plain(err, GCERT_E_LIMIT, "member '%s' is %llu bytes, the limit is %llu",
                            name, (unsigned long long)sb->size, (unsigned long long)JAR_MAX_MEMBER);
  return GCERT_OK;
}

/* Reads at most cap bytes of an open member into buf; *got says how many. */
static gcert_status read_open_member(zip_file_t *zf, const char *name, unsigned char *buf,
                                     zip_uint64_t cap, zip_uint64_t *got, gcert_error *err) {
  *got = 0;
  while (*got < cap) {
    zip_int64_t n = zip_fread(zf, buf + *got, cap - *got);
    if (n < 0)
      return gcert_fail_plain(err, GCERT_E_ZIP, "member '%s' cannot be read: %s", name,
                              zip_file_strerror(zf));
    if (n == 0)
      break;
    *got += (zip_uint64_t)n;
  }
  return GCERT_OK;
}

/* Reads the member called name; `field` says why it is wanted (messages). */
static gcert_status read_member(zip_t *za, const char *name, const char *field, gcert_buf *out,
                                gcert_error *err) {
  zip_int64_t index = zip_name_locate(za, name, 0);
  if (index < 0)
    return gcert_fail_plain(err, GCERT_E_MISSING_MEMBER, "%s '%s' is not in the archive", field,
                            name);
  zip_stat_t sb;
  gcert_status st = stat_member(za, (zip_uint64_t)index, name, &sb, err);
  if (st != GCERT_OK)
    return st;
  int sized = (sb.valid & ZIP_STAT_SIZE) != 0;
  zip_uint64_t cap = (sized ? sb.size : JAR_MAX_MEMBER) + 1; /* one more: catch a lying size */
  unsigned char *buf = malloc((size_t)cap);
  if (buf == NULL)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory reading member '%s'", name);
  zip_file_t *zf = zip_fopen_index(za, (zip_uint64_t)index, 0);
  zip_uint64_t got = 0;
  if (zf == NULL)
    st = gcert_fail_plain(err, GCERT_E_ZIP, "member '%s' cannot be opened: %s", name,
                          zip_strerror(za));
  else
    st = read_open_member(zf, name, buf, cap, &got, err);
  if (zf != NULL)
    zip_fclose(zf);
  if (st == GCERT_OK && got > JAR_MAX_MEMBER)
    st = gcert_fail_plain(err, GCERT_E_LIMIT, "member '%s' holds more than %llu bytes", name,
                          (unsigned long long)JAR_MAX_MEMBER);
  if (st == GCERT_OK && sized && got != sb.size)
    st = gcert_fail_plain(err, GCERT_E_ZIP, "member '%s' states %llu bytes but holds %s", name,
                          (unsigned long long)sb.size, got > sb.size ? "more" : "fewer");
  if (st != GCERT_OK) {
    OPENSSL_cleanse(buf, (size_t)cap);
    free(buf);
    return st;
  }
  out->data = buf;
  out->len = (size_t)got;
  return GCERT_OK;
}

/* Prefixes err's message with the member it is about. */
static gcert_status in_member(gcert_status st, const char *field, const char *name,
                              gcert_error *err) {
  if (st != GCERT_OK && err != NULL) {
    char msg[2 * sizeof(err->message) + JAR_NAME_MAX + 16];
    snprintf(msg, sizeof(msg), "%s %s: %s", field, name, err->message);
    size_t n = strlen(msg);
    if (n >= sizeof(err->message))
      n = sizeof(err->message) - 1;
    memcpy(err->message, msg, n);
    err->message[n] = '\0';
  }
  return st;
}

/* ---- the chain and the key ---------------------------------------------- */

static gcert_status check_chain_order(STACK_OF(X509) * chain, const char *name, gcert_error *err) {
  for (int i = 1; i < sk_X509_num(chain); i++) {
    X509 *child = sk_X509_value(chain, i - 1);
    X509 *parent = sk_X509_value(chain, i);
    if (X509_NAME_cmp(X509_get_issuer_name(child), X509_get_subject_name(parent)) != 0) {
      char subject[128];
      X509_NAME_oneline(X509_get_subject_name(parent), subject, sizeof(subject));
      return gcert_fail_plain(err, GCERT_E_UNSUPPORTED,
                              "certFile %s: certificate %d (%s) is not the issuer of certificate "
                              "%d: a key store JAR holds one chain, leaf first",
                              name, i + 1, subject, i);
    }
  }
  return GCERT_OK;
}

/* The certificates of certFile, in file order, as one new stack. */
static gcert_status read_chain(zip_t *za, const char *name, STACK_OF(X509) * *out,
                               gcert_error *err) {
  gcert_buf pem = {0};
  gcert_status st = read_member(za, name, "certFile", &pem, err);
  if (st != GCERT_OK)
    return st;
  gcert_store certs;
  gcert_store_init(&certs);
  st = in_member(gcert_pem_read(pem.data, pem.len, NULL, &certs, err), "certFile", name, err);
  gcert_buf_free(&pem);
  STACK_OF(X509) *chain = NULL;
  if (st == GCERT_OK && (chain = sk_X509_new_null()) == NULL)
    st = gcert_fail(err, GCERT_E_NOMEM, "out of memory");
  for (size_t i = 0; st == GCERT_OK && i < certs.count; i++) {
    const gcert_entry *e = &certs.entries[i];
    if (e->key != NULL)
      st = gcert_fail_plain(err, GCERT_E_PEM_UNEXPECTED,
                            "certFile %s holds a private key: the key belongs in keyFile", name);
    for (int j = 0; st == GCERT_OK && j < sk_X509_num(e->chain); j++) {
      X509 *cert = sk_X509_value(e->chain, j);
      if (!X509_up_ref(cert))
        st = gcert_fail(err, GCERT_E_CRYPTO, "cannot reference a certificate");
      else if (!sk_X509_push(chain, cert)) {
        X509_free(cert);
        st = gcert_fail(err, GCERT_E_NOMEM, "out of memory");
      }
    }
  }
  gcert_store_free(&certs);
  if (st == GCERT_OK)
    st = check_chain_order(chain, name, err);
  if (st != GCERT_OK) {
    sk_X509_pop_free(chain, X509_free);
    return st;
  }
  *out = chain;
  return GCERT_OK;
}

static gcert_status read_key(zip_t *za, const char *name, const char *password, EVP_PKEY **out,
                             gcert_error *err) {
  gcert_buf pem = {0};
  gcert_status st = read_member(za, name, "keyFile", &pem, err);
  if (st != GCERT_OK)
    return st;
  st = in_member(gcert_pem_read_key(pem.data, pem.len, password, out, err), "keyFile", name, err);
  gcert_buf_cleanse_free(&pem);
  return st;
}

static gcert_status read_descriptor(zip_t *za, descriptor *d, gcert_error *err) {
  gcert_buf props = {0};
  gcert_status st = read_member(za, JAR_DESCRIPTOR, "descriptor", &props, err);
  if (st == GCERT_OK)
    st = parse_descriptor(props.data, props.len, d, err);
  gcert_buf_free(&props);
  if (st == GCERT_OK)
    st = check_descriptor(d, err);
  return st;
}

static gcert_status read_entry(zip_t *za, const char *password, gcert_store *local,
                               gcert_error *err) {
  descriptor d = {0};
  STACK_OF(X509) *chain = NULL;
  EVP_PKEY *key = NULL;
  gcert_status st = read_descriptor(za, &d, err);
  /* both members are located before either is decoded: a missing one is
   * reported even when the other is broken */
  if (st == GCERT_OK && zip_name_locate(za, d.key_file, 0) < 0)
    st = gcert_fail_plain(err, GCERT_E_MISSING_MEMBER, "keyFile '%s' is not in the archive",
                          d.key_file);
  if (st == GCERT_OK)
    st = read_chain(za, d.cert_file, &chain, err);
  if (st == GCERT_OK)
    st = read_key(za, d.key_file, password, &key, err);
  if (st == GCERT_OK && !gcert_key_matches_cert(key, sk_X509_value(chain, 0)))
    st = gcert_fail_plain(err, GCERT_E_KEY_MISMATCH,
                          "keyFile %s does not match the first certificate of certFile %s",
                          d.key_file, d.cert_file);
  if (st == GCERT_OK)
    st = gcert_store_add_key(local, NULL, key, chain, err);
  EVP_PKEY_free(key);
  sk_X509_pop_free(chain, X509_free);
  descriptor_free(&d);
  return st;
}

gcert_status gcert_sapjar_read(const unsigned char *data, size_t len, const char *password,
                               gcert_store *out, gcert_error *err) {
  if (data == NULL || out == NULL)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "key store JAR read needs data and a store");
  gcert_status input_st = gcert_check_input(data, len, "key store JAR", err);
  if (input_st != GCERT_OK)
    return input_st;
  zip_t *za = NULL;
  gcert_status st = open_archive(data, len, &za, err);
  if (st != GCERT_OK)
    return st;
  gcert_store local;
  gcert_store_init(&local);
  st = read_entry(za, password, &local, err);
  zip_discard(za);
  if (st == GCERT_OK)
    st = gcert_store_append(out, &local, err);
  gcert_store_free(&local);
  return st;
}

/* ---- writing ------------------------------------------------------------ */

typedef struct jar_member {
  const char *name;
  const gcert_buf *content; /* NULL: a directory */
} jar_member;

/* A name the writer puts at the top of the archive: "<something>.pem", no
 * path, ASCII without backslash or control characters (so the descriptor
 * needs no escapes), no "..". */
static gcert_status check_write_name(const char *what, const char *name, gcert_error *err) {
  if (name == NULL)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "%s is missing", what);
  size_t len = strlen(name);
  if (len <= 4 || len > JAR_NAME_MAX || strcmp(name + len - 4, ".pem") != 0)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG,
                            "%s '%s' must be a name ending in .pem of at most %d bytes", what, name,
                            JAR_NAME_MAX);
  if (strstr(name, "..") != NULL)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "%s '%s' contains '..'", what, name);
  if (is_blank((unsigned char)name[0]))
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "%s '%s' starts with whitespace", what, name);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c < 0x20 || c >= 0x7f || c == '/' || c == '\\')
      return gcert_fail_plain(err, GCERT_E_INVALID_ARG,
                              "%s '%s' has a character not allowed in a member name at byte %zu",
                              what, name, i);
  }
  return GCERT_OK;
}

static gcert_status check_write_args(const gcert_store *store, const char *main_name,
                                     const char *key_name, gcert_error *err) {
  if (store == NULL)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "no store to write");
  if (store->count != 1 || store->entries[0].key == NULL)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG,
                            "a key store JAR holds exactly one key entry; the store has %zu "
                            "entries%s",
                            store->count, store->count == 1 ? ", a trusted certificate" : "");
  gcert_status st = check_write_name("main_name", main_name, err);
  if (st == GCERT_OK)
    st = check_write_name("key_name", key_name, err);
  if (st == GCERT_OK && strcmp(main_name, key_name) == 0)
    st = gcert_fail_plain(err, GCERT_E_INVALID_ARG, "main_name and key_name are both '%s'",
                          main_name);
  return st;
}

/* The chain of the store's key entry as PEM certificates, without the key. */
static gcert_status chain_pem(const gcert_entry *entry, gcert_buf *out, gcert_error *err) {
  gcert_store certs;
  gcert_store_init(&certs);
  gcert_status st = GCERT_OK;
  for (int i = 0; st == GCERT_OK && i < sk_X509_num(entry->chain); i++)
    st = gcert_store_add_trusted(&certs, NULL, sk_X509_value(entry->chain, i), err);
  if (st == GCERT_OK)
    st = gcert_pem_write(&certs, NULL, out, err);
  gcert_store_free(&certs);
  return st;
}

static gcert_status zip_fail(zip_t *za, const char *what, gcert_error *err) {
  return gcert_fail_plain(err, GCERT_E_ZIP, "cannot %s: %s", what, zip_strerror(za));
}

static gcert_status add_members(zip_t *za, const jar_member *members, size_t count,
                                gcert_error *err) {
  for (size_t i = 0; i < count; i++) {
    const jar_member *m = &members[i];
    zip_int64_t index;
    if (m->content == NULL) {
      index = zip_dir_add(za, m->name, ZIP_FL_ENC_UTF_8);
    } else {
      zip_source_t *s = zip_source_buffer(za, m->content->data, m->content->len, 0);
      if (s == NULL)
        return zip_fail(za, "create a member", err);
      index = zip_file_add(za, m->name, s, ZIP_FL_ENC_UTF_8);
      if (index < 0)
        zip_source_free(s);
    }
    if (index < 0)
      return zip_fail(za, "add a member", err);
    if (zip_file_set_mtime(za, (zip_uint64_t)index, JAR_MTIME, 0) != 0)
      return zip_fail(za, "set a member's time", err);
  }
  return GCERT_OK;
}

/* Copies the whole content of a (closed) buffer source into out. */
static gcert_status source_to_buf(zip_source_t *src, gcert_buf *out, gcert_error *err) {
  zip_stat_t sb;
  zip_stat_init(&sb);
  if (zip_source_stat(src, &sb) != 0 || !(sb.valid & ZIP_STAT_SIZE))
    return gcert_fail_plain(err, GCERT_E_ZIP, "cannot size the written archive");
  unsigned char *data = malloc(sb.size > 0 ? (size_t)sb.size : 1);
  if (data == NULL)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory copying the archive");
  if (zip_source_open(src) != 0) {
    free(data);
    return gcert_fail_plain(err, GCERT_E_ZIP, "cannot reopen the written archive: %s",
                            zip_error_strerror(zip_source_error(src)));
  }
  zip_uint64_t got = 0;
  while (got < sb.size) {
    zip_int64_t n = zip_source_read(src, data + got, sb.size - got);
    if (n <= 0)
      break;
    got += (zip_uint64_t)n;
  }
  zip_source_close(src);
  if (got != sb.size) {
    free(data);
    return gcert_fail_plain(err, GCERT_E_ZIP, "cannot read back the written archive");
  }
  out->data = data;
  out->len = (size_t)got;
  return GCERT_OK;
}

static gcert_status build_zip(const jar_member *members, size_t count, gcert_buf *out,
                              gcert_error *err) {
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
  if (src == NULL) {
    zip_error_fini(&ze);
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory creating the archive");
  }
  zip_source_keep(src); /* survives zip_close, which drops the archive's reference */
  zip_t *za = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
  gcert_status st = GCERT_OK;
  if (za == NULL) {
    zip_source_free(src); /* the archive never took its reference */
    st = gcert_fail_plain(err, GCERT_E_ZIP, "cannot create the archive: %s",
                          zip_error_strerror(&ze));
  }
  zip_error_fini(&ze);
  if (st == GCERT_OK) {
    st = add_members(za, members, count, err);
    if (st == GCERT_OK && zip_close(za) != 0)
      st = zip_fail(za, "write the archive", err);
    else if (st == GCERT_OK)
      za = NULL;
    if (za != NULL)
      zip_discard(za);
  }
  if (st == GCERT_OK)
    st = source_to_buf(src, out, err);
  zip_source_free(src);
  return st;
}

gcert_status gcert_sapjar_write(const gcert_store *store, const char *main_name,
                                const char *key_name, const char *key_password, gcert_buf *out,
                                gcert_error *err) {
  if (out == NULL)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "no output buffer");
  gcert_status st = check_write_args(store, main_name, key_name, err);
  if (st != GCERT_OK)
    return st;
  const gcert_entry *entry = &store->entries[0];
  static const char manifest_text[] = "Manifest-Version: 1.0\r\nCreated-By: gatecert\r\n\r\n";
  gcert_buf manifest = {(unsigned char *)manifest_text, sizeof(manifest_text) - 1};
  char props_text[2 * JAR_NAME_MAX + 64];
  int n =
      snprintf(props_text, sizeof(props_text), "certFile=%s\nkeyFile=%s\n", main_name, key_name);
  gcert_buf props = {(unsigned char *)props_text, (size_t)n};
  gcert_buf chain = {0};
  gcert_buf key = {0};
  st = chain_pem(entry, &chain, err);
  if (st == GCERT_OK)
    st = gcert_pem_write_key(entry->key, key_password, &key, err);
  const jar_member members[] = {
      {"META-INF", NULL}, {JAR_MANIFEST, &manifest}, {main_name, &chain},
      {key_name, &key},   {JAR_DESCRIPTOR, &props},
  };
  if (st == GCERT_OK)
    st = build_zip(members, sizeof(members) / sizeof(members[0]), out, err);
  gcert_buf_free(&chain);
  gcert_buf_cleanse_free(&key);
  return st;
}
