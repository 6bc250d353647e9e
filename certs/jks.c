/* jks.c - Sun's JKS key store (Java's "JavaKeyStore"), read and written.
 *
 * WSO2 ships its trust stores as JKS (client-truststore.jks), so gatecert must
 * read what keytool -storetype JKS makes and write stores keytool accepts.
 *
 * The file, big-endian throughout:
 *
 *   u32 magic 0xFEEDFEED, u32 version (1 or 2), u32 entry count, then entries:
 *     u32 tag: 1 = private key entry, 2 = trusted certificate entry
 *     alias: u16 length + Java modified UTF-8
 *     u64 creation date, ms since the epoch
 *     key entry:     u32 length + protected key, u32 chain count, certificates
 *     trusted entry: one certificate
 *   each certificate: (version 2 only) u16 length + type "X.509", then
 *   u32 length + DER; and last, 20 bytes of
 *   SHA-1(password as UTF-16BE || "Mighty Aphrodite" || every byte before).
 *
 * A protected key is a DER EncryptedPrivateKeyInfo with algorithm
 * 1.3.6.1.4.1.42.2.17.1.1 (Sun's KeyProtector) whose data is
 *   salt (20 random bytes) || PKCS#8 XOR keystream || SHA-1(password || PKCS#8)
 * where the keystream is d1 d2 ... with d0 = salt, di = SHA-1(password || di-1).
 *
 * Reading runs in three passes so the most structural error wins: (1) parse
 * every entry with the bounded reader into jks_parsed records (certificates
 * decoded, protected keys left as pointers into the input), then check that
 * exactly the 20 digest bytes follow; (2) verify the digest when a password
 * was given (Java skips it without one, so do we); (3) unseal the keys and
 * build a local gcert_store, appended to the caller's only when all is well.
 * Errors name the entry (index from 0) and byte offset.
 *
 * Reader limits and choices: at most JKS_MAX_ENTRIES entries (real trust
 * stores hold hundreds; the cap also bounds the store's linear alias checks)
 * and no more than the remaining bytes could hold, at most JKS_MAX_CHAIN
 * certificates per key entry, a key entry needs at least one certificate
 * (GCERT_E_NO_CERT, Java would load it); aliases that differ only in ASCII
 * case are duplicates (Java keeps both as read but looks aliases up
 * lowercased, so one cannot be reached); bytes after the digest are
 * GCERT_E_DER_TRAILING (Java ignores them; no status fits better: the store is
 * complete and something follows); the digest bytes must be present even
 * without a password (Java would not read them then).
 *
 * Writing makes version 2, entries in store order, aliases as given (encoded
 * as modified UTF-8), created_ms written as is (0 stays 0, "1970" in keytool),
 * algorithm parameters NULL as Java writes them. Keys are protected with the
 * store password, as keytool does. Every entry needs an alias, and aliases
 * equal but for ASCII case are refused (keytool would conflate them); a
 * trusted entry holds exactly one certificate, a key chain 1 to JKS_MAX_CHAIN
 * (what this reader accepts). A NULL password is allowed only for stores
 * without key entries: the digest is then keyed with the empty password (a
 * reader without password skips it anyway).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/rand.h>

#define JKS_MAGIC       0xFEEDFEEDu
#define JCEKS_MAGIC     0xCECECECEu
#define JKS_TAG_KEY     1u
#define JKS_TAG_TRUSTED 2u
#define JKS_DIGEST_LEN  20
#define JKS_SALT_LEN    20
#define JKS_MAX_CHAIN   16
#define JKS_MAX_ENTRIES 16384
#define JKS_MIN_ENTRY   19 /* tag + 1-byte alias + date + empty cert (version 1) */
#define JKS_PROTECTOR   "1.3.6.1.4.1.42.2.17.1.1"
#define JKS_CERT_TYPE   "X.509"
#define JKS_WHITENER    "Mighty Aphrodite"
#define JKS_MAX_UTF     65535

/* ---- passwords and SHA-1 ------------------------------------------------ */

static void put_utf16be(unsigned char *out, size_t *pos, unsigned long unit) {
  out[(*pos)++] = (unsigned char)(unit >> 8);
  out[(*pos)++] = (unsigned char)(unit & 0xFF);
}

/* The password as Java's char[] bytes: UTF-16BE, surrogate pairs above
 * U+FFFF. NULL password gives an empty buffer. */
static gcert_status password_utf16be(const char *password, gcert_buf *out, gcert_error *err) {
  out->data = NULL;
  out->len = 0;
  size_t len = password ? strlen(password) : 0;
  if (len > (size_t)GCERT_MAX_INPUT)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "password is too long");
  out->data = malloc(len * 4 + 1); /* each byte yields at most 2 units of 2 bytes */
  if (out->data == NULL)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory encoding password");
  const unsigned char *p = (const unsigned char *)password;
  size_t pos = 0;
  while (len > 0) {
    unsigned long cp = 0;
    int n = UTF8_getc(p, (int)len, &cp);
    if (n <= 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      gcert_buf_cleanse_free(out);
      return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "password is not valid UTF-8");
    }
    if (cp > 0xFFFF) {
      put_utf16be(out->data, &pos, 0xD800 + ((cp - 0x10000) >> 10));
      put_utf16be(out->data, &pos, 0xDC00 + ((cp - 0x10000) & 0x3FF));
    } else {
      put_utf16be(out->data, &pos, cp);
    }
    p += n;
    len -= (size_t)n;
  }
  out->len = pos;
  return GCERT_OK;
}

/* SHA-1 over the concatenation of up to three byte ranges (NULL: skipped). */
static int sha1_parts(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen,
                      const unsigned char *c, size_t clen, unsigned char out[JKS_DIGEST_LEN]) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  unsigned int outlen = 0;
  int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
           (a == NULL || EVP_DigestUpdate(ctx, a, alen) == 1) &&
           (b == NULL || EVP_DigestUpdate(ctx, b, blen) == 1) &&
           (c == NULL || EVP_DigestUpdate(ctx, c, clen) == 1) &&
           EVP_DigestFinal_ex(ctx, out, &outlen) == 1 && outlen == JKS_DIGEST_LEN;
  EVP_MD_CTX_free(ctx);
  return ok;
}

/* The store digest: SHA-1(password || whitener || body). */
static int store_digest(const gcert_buf *pw, const unsigned char *body, size_t len,
                        unsigned char out[JKS_DIGEST_LEN]) {
  return sha1_parts(pw->data, pw->len, (const unsigned char *)JKS_WHITENER, strlen(JKS_WHITENER),
                    body, len, out);
}

/* XORs in with KeyProtector's keystream for salt into out (same both ways). */
static int keystream_xor(const gcert_buf *pw, const unsigned char *salt, const unsigned char *in,
                         size_t len, unsigned char *out) {
  unsigned char block[JKS_DIGEST_LEN];
  memcpy(block, salt, JKS_SALT_LEN);
  int ok = 1;
  for (size_t done = 0; ok && done < len; done += JKS_DIGEST_LEN) {
    ok = sha1_parts(pw->data, pw->len, block, sizeof(block), NULL, 0, block);
    size_t take = len - done < JKS_DIGEST_LEN ? len - done : JKS_DIGEST_LEN;
    for (size_t i = 0; ok && i < take; i++)
      out[done + i] = in[done + i] ^ block[i];
  }
  OPENSSL_cleanse(block, sizeof(block));
  return ok;
}

/* ---- aliases: Java modified UTF-8 <-> UTF-8 ----------------------------- */

/* Decodes one modified UTF-8 sequence of n bytes (2 or 3) into *cp; 0 when a
 * continuation byte is wrong or the encoding is overlong (C0 80 is NUL). */
static int decode_multi(const unsigned char *p, size_t n, unsigned long *cp) {
  unsigned long v = p[0] & (n == 2 ? 0x1Fu : 0x0Fu);
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    v = (v << 6) | (p[i] & 0x3Fu);
  }
  *cp = v;
  if (n == 2)
    return v >= 0x80 || v == 0; /* C0 80 is Java's NUL: decoded, rejected later */
  return v >= 0x800;
}

/* Decodes the next code point of a modified UTF-8 (or plain UTF-8) string:
 * returns the bytes used, 0 when invalid. A surrogate pair written as two
 * 3-byte sequences (Java's way for U+10000 and above) is one code point. */
static size_t next_code_point(const unsigned char *p, size_t len, unsigned long *cp) {
  if (p[0] < 0x80) {
    *cp = p[0];
    return 1;
  }
  if ((p[0] & 0xE0) == 0xC0)
    return len >= 2 && decode_multi(p, 2, cp) ? 2 : 0;
  if ((p[0] & 0xF8) == 0xF0) { /* standard 4-byte UTF-8: accepted too */
    int n = UTF8_getc(p, (int)(len < 4 ? len : 4), cp);
    return n == 4 && *cp <= 0x10FFFF ? 4 : 0;
  }
  if ((p[0] & 0xF0) != 0xE0 || len < 3 || !decode_multi(p, 3, cp))
    return 0;
  if (*cp < 0xD800 || *cp > 0xDFFF)
    return 3;
  unsigned long low = 0;
  if (*cp > 0xDBFF || len < 6 || (p[3] & 0xF0) != 0xE0 || !decode_multi(p + 3, 3, &low) ||
      low < 0xDC00 || low > 0xDFFF)
    return 0; /* lone or reversed surrogate */
  *cp = 0x10000 + ((*cp - 0xD800) << 10) + (low - 0xDC00);
  return 6;
}

/* Converts an alias from the file into a NUL-terminated UTF-8 string. */
static gcert_status alias_decode(const unsigned char *in, size_t len, size_t offset, char **out,
                                 gcert_error *err) {
  if (len == 0)
    return gcert_fail_plain(err, GCERT_E_BAD_ALIAS, "empty alias at offset %zu", offset);
  unsigned char *text = malloc(len + 1); /* UTF-8 is never longer than modified UTF-8 */
  if (text == NULL)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory decoding alias");
  size_t used = 0;
  for (size_t i = 0; i < len;) {
    unsigned long cp = 0;
    size_t n = next_code_point(in + i, len - i, &cp);
    if (n == 0 || cp == 0) {
      free(text);
      return gcert_fail_plain(err, GCERT_E_BAD_ALIAS,
                              "alias at offset %zu: %s at byte %zu of the alias", offset,
                              n == 0 ? "invalid modified UTF-8" : "NUL character", i);
    }
    used += (size_t)UTF8_putc(text + used, (int)(len + 1 - used), cp);
    i += n;
  }
  text[used] = '\0';
  *out = (char *)text;
  return GCERT_OK;
}

/* Writes one UTF-16 unit (surrogates included, as Java does) in 1 to 3 bytes. */
static void put_utf8_unit(unsigned char *out, size_t *pos, unsigned long unit) {
  if (unit < 0x80) {
    out[(*pos)++] = (unsigned char)unit;
  } else if (unit < 0x800) {
    out[(*pos)++] = (unsigned char)(0xC0 | (unit >> 6));
    out[(*pos)++] = (unsigned char)(0x80 | (unit & 0x3F));
  } else {
    out[(*pos)++] = (unsigned char)(0xE0 | (unit >> 12));
    out[(*pos)++] = (unsigned char)(0x80 | ((unit >> 6) & 0x3F));
    out[(*pos)++] = (unsigned char)(0x80 | (unit & 0x3F));
  }
}

/* Converts a UTF-8 alias into Java's modified UTF-8 (astral code points as
 * surrogate pairs of 3 bytes each). */
static gcert_status alias_encode(const char *alias, gcert_buf *out, gcert_error *err) {
  size_t len = strlen(alias);
  out->len = 0;
  out->data = malloc(len * 3 / 2 + 4); /* 4 UTF-8 bytes become 6 at most */
  if (out->data == NULL)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory encoding alias");
  const unsigned char *p = (const unsigned char *)alias;
  while (len > 0) {
    unsigned long cp = 0;
    int n = UTF8_getc(p, (int)(len < 4 ? len : 4), &cp);
    if (n <= 0 || cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      gcert_buf_free(out);
      return gcert_fail_plain(err, GCERT_E_BAD_ALIAS, "alias '%s' is not valid UTF-8", alias);
    }
    if (cp > 0xFFFF) {
      put_utf8_unit(out->data, &out->len, 0xD800 + ((cp - 0x10000) >> 10));
      put_utf8_unit(out->data, &out->len, 0xDC00 + ((cp - 0x10000) & 0x3FF));
    } else {
      put_utf8_unit(out->data, &out->len, cp);
    }
    p += n;
    len -= (size_t)n;
  }
  if (out->len == 0 || out->len > JKS_MAX_UTF) {
    gcert_buf_free(out);
    return gcert_fail_plain(err, GCERT_E_BAD_ALIAS, "alias is empty or too long for JKS");
  }
  return GCERT_OK;
}

/* ASCII-only case-insensitive comparison, independent of the C locale. */
static int ascii_casecmp(const char *a, const char *b) {
  for (;; a++, b++) {
    int ca = (unsigned char)*a, cb = (unsigned char)*b;
    if (ca >= 'A' && ca <= 'Z')
      ca += 'a' - 'A';
    if (cb >= 'A' && cb <= 'Z')
      cb += 'a' - 'A';
    if (ca != cb || ca == 0)
      return ca - cb;
  }
}

static int alias_ptr_cmp(const void *a, const void *b) {
  const char *const *x = a;
  const char *const *y = b;
  int c = ascii_casecmp(*x, *y);
  if (c != 0)
    return c;
  return *x < *y ? -1 : *x > *y; /* stable order for equal keys */
}

/* Finds two aliases equal but for ASCII case, returned in first and second. */
static gcert_status find_alias_collision(const char **aliases, size_t n, const char **first,
                                         const char **second, gcert_error *err) {
  *first = *second = NULL;
  if (n < 2)
    return GCERT_OK;
  const char **sorted = malloc(n * sizeof(*sorted));
  if (sorted == NULL)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory checking aliases");
  memcpy(sorted, aliases, n * sizeof(*sorted));
  qsort((void *)sorted, n, sizeof(*sorted), alias_ptr_cmp);
  for (size_t i = 1; i < n && *first == NULL; i++) {
    if (ascii_casecmp(sorted[i - 1], sorted[i]) == 0) {
      *first = sorted[i - 1];
      *second = sorted[i];
    }
  }
  free((void *)sorted);
  return GCERT_OK;
}

/* ---- reading: pass 1, structure ----------------------------------------- */

typedef struct jks_parsed {
  char *alias; /* UTF-8 */
  int64_t created_ms;
  size_t offset;               /* where the entry starts */
  const unsigned char *sealed; /* key entry: protected key inside the input */
  size_t sealed_len;
  size_t sealed_offset;
  STACK_OF(X509) * chain;
} jks_parsed;

typedef struct jks_parse {
  gcert_reader r;
  uint32_t version;
  jks_parsed *entries;
  size_t count;
} jks_parse;

static void parse_free(jks_parse *p) {
  for (size_t i = 0; i < p->count; i++) {
    free(p->entries[i].alias);
    sk_X509_pop_free(p->entries[i].chain, X509_free);
  }
  free(p->entries);
  p->entries = NULL;
  p->count = 0;
}

/* Prefixes err's message with the entry index, alias (once known), offset. */
static void note_entry(gcert_error *err, size_t index, const jks_parsed *e) {
  if (err == NULL)
    return;
  char tail[sizeof(err->message)];
  memcpy(tail, err->message, sizeof(tail));
  int n = e->alias
              ? snprintf(err->message, sizeof(err->message),
                         "JKS entry %zu ('%s') at offset %zu: %s", index, e->alias, e->offset, tail)
              : snprintf(err->message, sizeof(err->message), "JKS entry %zu at offset %zu: %s",
                         index, e->offset, tail);
  if (n < 0)
    err->message[0] = '\0';
}

static gcert_status check_magic(uint32_t magic, const unsigned char *data, gcert_error *err) {
  if (magic == JKS_MAGIC)
    return GCERT_OK;
  if (magic == JCEKS_MAGIC)
    return gcert_fail_plain(err, GCERT_E_UNSUPPORTED,
                            "magic 0xCECECECE: this is a JCEKS store (SunJCE), not JKS");
  if (data[0] == 0x30)
    return gcert_fail_plain(err, GCERT_E_BAD_MAGIC,
                            "not JKS: starts with an ASN.1 SEQUENCE, it looks like PKCS#12 "
                            "(keytool's default store type since Java 9)");
  return gcert_fail_plain(err, GCERT_E_BAD_MAGIC,
                          "magic 0x%08X at offset 0 is not JKS (0xFEEDFEED)", magic);
}

static gcert_status read_header(jks_parse *p, uint32_t *count, gcert_error *err) {
  uint32_t magic = 0;
  gcert_status st = gcert_reader_u32be(&p->r, &magic, "JKS magic", err);
  if (st == GCERT_OK)
    st = check_magic(magic, p->r.data, err);
  if (st == GCERT_OK)
    st = gcert_reader_u32be(&p->r, &p->version, "JKS version", err);
  if (st == GCERT_OK && p->version != 1 && p->version != 2)
    st = gcert_fail_plain(err, GCERT_E_BAD_VERSION,
                          "JKS version %u at offset 4; versions 1 and 2 exist", p->version);
  if (st == GCERT_OK)
    st = gcert_reader_u32be(&p->r, count, "JKS entry count", err);
  if (st != GCERT_OK)
    return st;
  size_t room = gcert_reader_remaining(&p->r);
  room = room > JKS_DIGEST_LEN ? (room - JKS_DIGEST_LEN) / JKS_MIN_ENTRY : 0;
  if (*count > room)
    return gcert_fail_plain(err, GCERT_E_LIMIT,
                            "entry count %u at offset 8 cannot fit in the %zu bytes that follow",
                            *count, gcert_reader_remaining(&p->r));
  if (*count > JKS_MAX_ENTRIES)
    return gcert_fail_plain(err, GCERT_E_LIMIT, "entry count %u at offset 8 exceeds the limit %d",
                            *count, JKS_MAX_ENTRIES);
  return GCERT_OK;
}

/* u16 length + bytes, as Java's DataInputStream.readUTF. */
static gcert_status read_utf(gcert_reader *r, const unsigned char **bytes, size_t *len,
                             const char *what, gcert_error *err) {
  uint16_t n = 0;
  gcert_status st = gcert_reader_u16be(r, &n, what, err);
  if (st == GCERT_OK)
    st = gcert_reader_bytes(r, n, bytes, what, err);
  *len = n;
  return st;
}

/* One certificate: type string (version 2), u32 length, DER. */
static gcert_status read_cert(jks_parse *p, X509 **out, gcert_error *err) {
  gcert_status st = GCERT_OK;
  if (p->version == 2) {
    size_t type_offset = p->r.pos;
    const unsigned char *type = NULL;
    size_t type_len = 0;
    st = read_utf(&p->r, &type, &type_len, "certificate type", err);
    if (st != GCERT_OK)
      return st;
    if (type_len != strlen(JKS_CERT_TYPE) || memcmp(type, JKS_CERT_TYPE, type_len) != 0)
      return gcert_fail_plain(err, GCERT_E_UNSUPPORTED,
                              "certificate type '%.*s' at offset %zu; only X.509 is supported",
                              (int)(type_len > 32 ? 32 : type_len), (const char *)type,
                              type_offset);
  }
  uint32_t len = 0;
  const unsigned char *der = NULL;
  st = gcert_reader_u32be(&p->r, &len, "certificate length", err);
  size_t der_offset = p->r.pos;
  if (st == GCERT_OK)
    st = gcert_reader_bytes(&p->r, len, &der, "certificate", err);
  if (st != GCERT_OK)
    return st;
  const unsigned char *cursor = der;
  X509 *cert = d2i_X509(NULL, &cursor, (long)len);
  if (cert == NULL)
    return gcert_fail(err, GCERT_E_DER_INVALID,
                      "certificate of %u bytes at offset %zu does not decode as X.509", len,
                      der_offset);
  if (cursor != der + len) {
    X509_free(cert);
    return gcert_fail_plain(err, GCERT_E_DER_TRAILING,
                            "certificate at offset %zu: %zu bytes after its DER end", der_offset,
                            (size_t)(der + len - cursor));
  }
  *out = cert;
  return GCERT_OK;
}

/* Reads n certificates into e->chain. */
static gcert_status read_chain(jks_parse *p, jks_parsed *e, uint32_t n, gcert_error *err) {
  e->chain = sk_X509_new_null();
  if (e->chain == NULL)
    return gcert_fail(err, GCERT_E_NOMEM, "out of memory");
  for (uint32_t i = 0; i < n; i++) {
    X509 *cert = NULL;
    gcert_status st = read_cert(p, &cert, err);
    if (st != GCERT_OK)
      return st;
    if (!sk_X509_push(e->chain, cert)) {
      X509_free(cert);
      return gcert_fail(err, GCERT_E_NOMEM, "out of memory");
    }
  }
  return GCERT_OK;
}

static gcert_status read_key_body(jks_parse *p, jks_parsed *e, gcert_error *err) {
  uint32_t key_len = 0, chain_len = 0;
  gcert_status st = gcert_reader_u32be(&p->r, &key_len, "protected key length", err);
  e->sealed_offset = p->r.pos;
  if (st == GCERT_OK)
    st = gcert_reader_bytes(&p->r, key_len, &e->sealed, "protected key", err);
  e->sealed_len = key_len;
  size_t chain_offset = p->r.pos;
  if (st == GCERT_OK)
    st = gcert_reader_u32be(&p->r, &chain_len, "chain count", err);
  if (st != GCERT_OK)
    return st;
  if (chain_len > JKS_MAX_CHAIN)
    return gcert_fail_plain(err, GCERT_E_LIMIT, "chain count %u at offset %zu exceeds the limit %d",
                            chain_len, chain_offset, JKS_MAX_CHAIN);
  if (chain_len == 0)
    return gcert_fail_plain(err, GCERT_E_NO_CERT,
                            "key entry has no certificate chain (chain count 0 at offset %zu)",
                            chain_offset);
  return read_chain(p, e, chain_len, err);
}

/* Reads the entry starting at the cursor into e. */
static gcert_status read_entry(jks_parse *p, jks_parsed *e, gcert_error *err) {
  uint32_t tag = 0;
  uint64_t created = 0;
  const unsigned char *alias = NULL;
  size_t alias_len = 0;
  gcert_status st = gcert_reader_u32be(&p->r, &tag, "entry tag", err);
  if (st == GCERT_OK && tag != JKS_TAG_KEY && tag != JKS_TAG_TRUSTED)
    return gcert_fail_plain(err, GCERT_E_UNSUPPORTED,
                            "unknown tag %u (1 = private key, 2 = trusted certificate)", tag);
  size_t alias_offset = p->r.pos;
  if (st == GCERT_OK)
    st = read_utf(&p->r, &alias, &alias_len, "alias", err);
  if (st == GCERT_OK)
    st = alias_decode(alias, alias_len, alias_offset, &e->alias, err);
  if (st == GCERT_OK)
    st = gcert_reader_u64be(&p->r, &created, "creation date", err);
  if (st != GCERT_OK)
    return st;
  e->created_ms = (int64_t)created;
  if (tag == JKS_TAG_KEY)
    return read_key_body(p, e, err);
  return read_chain(p, e, 1, err);
}

static gcert_status read_entries(jks_parse *p, uint32_t count, gcert_error *err) {
  p->entries = calloc(count ? count : 1, sizeof(*p->entries));
  if (p->entries == NULL)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory for %u entries", count);
  for (uint32_t i = 0; i < count; i++) {
    jks_parsed *e = &p->entries[p->count++];
    e->offset = p->r.pos;
    gcert_status st = read_entry(p, e, err);
    if (st != GCERT_OK) {
      note_entry(err, i, e);
      return st;
    }
  }
  return GCERT_OK;
}

static gcert_status check_aliases(const jks_parse *p, gcert_error *err) {
  const char **aliases = malloc((p->count ? p->count : 1) * sizeof(*aliases));
  if (aliases == NULL)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory checking aliases");
  for (size_t i = 0; i < p->count; i++)
    aliases[i] = p->entries[i].alias;
  const char *a = NULL, *b = NULL;
  gcert_status st = find_alias_collision(aliases, p->count, &a, &b, err);
  free((void *)aliases);
  if (st != GCERT_OK || a == NULL)
    return st;
  size_t ia = 0, ib = 0;
  for (size_t i = 0; i < p->count; i++) {
    if (p->entries[i].alias == a)
      ia = i;
    if (p->entries[i].alias == b)
      ib = i;
  }
  if (ia > ib) {
    size_t t = ia;
    ia = ib;
    ib = t;
  }
  return gcert_fail_plain(err, GCERT_E_DUPLICATE_ALIAS,
                          "JKS entry %zu at offset %zu: alias '%s' repeats entry %zu's '%s' "
                          "(JKS aliases ignore case)",
                          ib, p->entries[ib].offset, p->entries[ib].alias, ia,
                          p->entries[ia].alias);
}

/* After the entries exactly JKS_DIGEST_LEN bytes must remain. */
static gcert_status check_tail(const jks_parse *p, gcert_error *err) {
  size_t left = gcert_reader_remaining(&p->r);
  if (left < JKS_DIGEST_LEN)
    return gcert_fail_plain(err, GCERT_E_TRUNCATED,
                            "store digest at offset %zu needs %d bytes, only %zu remain", p->r.pos,
                            JKS_DIGEST_LEN, left);
  if (left > JKS_DIGEST_LEN)
    return gcert_fail_plain(err, GCERT_E_DER_TRAILING,
                            "%zu extra bytes after the store digest at offset %zu (JKS ends "
                            "with its digest)",
                            left - JKS_DIGEST_LEN, p->r.pos);
  return GCERT_OK;
}

/* ---- reading: pass 2, the store digest ---------------------------------- */

static gcert_status check_digest(const jks_parse *p, const gcert_buf *pw, gcert_error *err) {
  unsigned char want[JKS_DIGEST_LEN];
  if (!store_digest(pw, p->r.data, p->r.pos, want))
    return gcert_fail(err, GCERT_E_CRYPTO, "cannot compute SHA-1");
  if (CRYPTO_memcmp(want, p->r.data + p->r.pos, JKS_DIGEST_LEN) != 0)
    return gcert_fail_plain(err, GCERT_E_INTEGRITY,
                            "store digest at offset %zu does not match: wrong password or the "
                            "store was modified",
                            p->r.pos);
  return GCERT_OK;
}

/* ---- reading: pass 3, keys and the store -------------------------------- */

/* Checks the EncryptedPrivateKeyInfo's algorithm is Sun's KeyProtector. */
static gcert_status check_protector(const X509_ALGOR *alg, gcert_error *err) {
  const ASN1_OBJECT *obj = NULL;
  int ptype = 0;
  const void *pval = NULL;
  X509_ALGOR_get0(&obj, &ptype, &pval, alg);
  char oid[80];
  if (OBJ_obj2txt(oid, sizeof(oid), obj, 1) <= 0)
    oid[0] = '\0';
  if (strcmp(oid, JKS_PROTECTOR) != 0)
    return gcert_fail_plain(err, GCERT_E_UNSUPPORTED,
                            "key protected with algorithm %s; JKS uses " JKS_PROTECTOR,
                            oid[0] ? oid : "(unreadable)");
  if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL)
    return gcert_fail_plain(err, GCERT_E_UNSUPPORTED,
                            "key protector algorithm has unexpected parameters");
  return GCERT_OK;
}

/* Decodes PKCS#8 PrivateKeyInfo bytes into a key. */
static gcert_status decode_plain_key(const unsigned char *plain, size_t len, EVP_PKEY **out,
                                     gcert_error *err) {
  const unsigned char *cursor = plain;
  PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &cursor, (long)len);
  if (p8 == NULL)
    return gcert_fail(err, GCERT_E_DER_INVALID, "decrypted key is not PKCS#8");
  gcert_status st = GCERT_OK;
  if (cursor != plain + len)
    st = gcert_fail_plain(err, GCERT_E_DER_TRAILING, "decrypted key has bytes after its PKCS#8");
  else if ((*out = EVP_PKCS82PKEY(p8)) == NULL)
    st = gcert_fail(err, GCERT_E_UNSUPPORTED, "decrypted PKCS#8 key cannot be used");
  PKCS8_PRIV_KEY_INFO_free(p8);
  return st;
}

/* KeyProtector.recover: salt || encrypted || check, into a key. */
static gcert_status recover_key(const unsigned char *data, size_t len, const gcert_buf *pw,
                                EVP_PKEY **out, gcert_error *err) {
  if (len <= JKS_SALT_LEN + JKS_DIGEST_LEN)
    return gcert_fail_plain(err, GCERT_E_DER_INVALID,
                            "protected key data is %zu bytes, too short for salt and check", len);
  size_t plain_len = len - JKS_SALT_LEN - JKS_DIGEST_LEN;
  unsigned char *plain = malloc(plain_len);
  if (plain == NULL)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory decrypting key");
  unsigned char check[JKS_DIGEST_LEN];
  gcert_status st = GCERT_OK;
  if (!keystream_xor(pw, data, data + JKS_SALT_LEN, plain_len, plain) ||
      !sha1_parts(pw->data, pw->len, plain, plain_len, NULL, 0, check))
    st = gcert_fail(err, GCERT_E_CRYPTO, "cannot compute SHA-1");
  else if (CRYPTO_memcmp(check, data + len - JKS_DIGEST_LEN, JKS_DIGEST_LEN) != 0)
    st = gcert_fail_plain(err, GCERT_E_BAD_PASSWORD,
                          "key check digest does not match: the key password differs from the "
                          "store password");
  else
    st = decode_plain_key(plain, plain_len, out, err);
  OPENSSL_cleanse(plain, plain_len);
  OPENSSL_cleanse(check, sizeof(check));
  free(plain);
  return st;
}

/* Unseals a key entry's EncryptedPrivateKeyInfo. */
static gcert_status unseal_key(const jks_parsed *e, const gcert_buf *pw, EVP_PKEY **out,
                               gcert_error *err) {
  const unsigned char *cursor = e->sealed;
  X509_SIG *sig = d2i_X509_SIG(NULL, &cursor, (long)e->sealed_len);
  if (sig == NULL)
    return gcert_fail(err, GCERT_E_DER_INVALID,
                      "protected key at offset %zu is not an EncryptedPrivateKeyInfo",
                      e->sealed_offset);
  gcert_status st = GCERT_OK;
  const X509_ALGOR *alg = NULL;
  const ASN1_OCTET_STRING *data = NULL;
  X509_SIG_get0(sig, &alg, &data);
  if (cursor != e->sealed + e->sealed_len)
    st = gcert_fail_plain(err, GCERT_E_DER_TRAILING,
                          "protected key at offset %zu has bytes after its DER end",
                          e->sealed_offset);
  if (st == GCERT_OK)
    st = check_protector(alg, err);
  if (st == GCERT_OK)
    st = recover_key(ASN1_STRING_get0_data(data), (size_t)ASN1_STRING_length(data), pw, out, err);
  X509_SIG_free(sig);
  return st;
}

/* Adds one parsed entry to the local store. */
static gcert_status add_parsed(gcert_store *local, const jks_parsed *e, const char *password,
                               const gcert_buf *pw, gcert_error *err) {
  gcert_status st;
  if (e->sealed == NULL) {
    st = gcert_store_add_trusted(local, e->alias, sk_X509_value(e->chain, 0), err);
  } else if (password == NULL) {
    return gcert_fail_plain(err, GCERT_E_NEED_PASSWORD,
                            "private key entry is encrypted and no password was given");
  } else {
    EVP_PKEY *key = NULL;
    st = unseal_key(e, pw, &key, err);
    if (st == GCERT_OK && !gcert_key_matches_cert(key, sk_X509_value(e->chain, 0)))
      st = gcert_fail_plain(err, GCERT_E_KEY_MISMATCH,
                            "private key does not match its first certificate");
    if (st == GCERT_OK)
      st = gcert_store_add_key(local, e->alias, key, e->chain, err);
    EVP_PKEY_free(key);
  }
  if (st == GCERT_OK)
    local->entries[local->count - 1].created_ms = e->created_ms;
  return st;
}

static gcert_status build_store(const jks_parse *p, const char *password, const gcert_buf *pw,
                                gcert_store *local, gcert_error *err) {
  for (size_t i = 0; i < p->count; i++) {
    gcert_status st = add_parsed(local, &p->entries[i], password, pw, err);
    if (st != GCERT_OK) {
      note_entry(err, i, &p->entries[i]);
      return st;
    }
  }
  return GCERT_OK;
}

static gcert_status read_all(jks_parse *p, const char *password, const gcert_buf *pw,
                             gcert_store *local, gcert_error *err) {
  uint32_t count = 0;
  gcert_status st = read_header(p, &count, err);
  if (st == GCERT_OK)
    st = read_entries(p, count, err);
  if (st == GCERT_OK)
    st = check_tail(p, err);
  if (st == GCERT_OK)
    st = check_aliases(p, err);
  if (st == GCERT_OK && password != NULL)
    st = check_digest(p, pw, err);
  if (st == GCERT_OK)
    st = build_store(p, password, pw, local, err);
  return st;
}

gcert_status gcert_jks_read(const unsigned char *data, size_t len, const char *password,
                            gcert_store *out, gcert_error *err) {
  if (out == NULL || (data == NULL && len > 0))
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "JKS read needs input and a store");
  gcert_status input_st = gcert_check_input(data, len, "JKS", err);
  if (input_st != GCERT_OK)
    return input_st;
  gcert_buf pw = {0};
  gcert_status st = password_utf16be(password, &pw, err);
  if (st != GCERT_OK)
    return st;
  jks_parse p = {0};
  gcert_reader_init(&p.r, data, len);
  gcert_store local;
  gcert_store_init(&local);
  st = read_all(&p, password, &pw, &local, err);
  if (st == GCERT_OK && local.count > 0)
    st = gcert_store_append(out, &local, err);
  gcert_store_free(&local);
  parse_free(&p);
  gcert_buf_cleanse_free(&pw);
  return st;
}

/* ---- writing ------------------------------------------------------------ */

/* KeyProtector.protect: the EncryptedPrivateKeyInfo DER for key. */
static gcert_status seal_key(EVP_PKEY *key, const gcert_buf *pw, gcert_buf *out, gcert_error *err) {
  unsigned char *plain = NULL, *sealed = NULL;
  int plain_len = 0;
  PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
  if (p8 == NULL || (plain_len = i2d_PKCS8_PRIV_KEY_INFO(p8, &plain)) <= 0) {
    PKCS8_PRIV_KEY_INFO_free(p8);
    return gcert_fail(err, GCERT_E_CRYPTO, "cannot encode private key as PKCS#8");
  }
  PKCS8_PRIV_KEY_INFO_free(p8);
  size_t sealed_len = JKS_SALT_LEN + (size_t)plain_len + JKS_DIGEST_LEN;
  gcert_status st = GCERT_OK;
  if ((sealed = malloc(sealed_len)) == NULL)
    st = gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory protecting key");
  else if (RAND_bytes(sealed, JKS_SALT_LEN) != 1 ||
           !keystream_xor(pw, sealed, plain, (size_t)plain_len, sealed + JKS_SALT_LEN) ||
           !sha1_parts(pw->data, pw->len, plain, (size_t)plain_len, NULL, 0,
                       sealed + sealed_len - JKS_DIGEST_LEN))
    st = gcert_fail(err, GCERT_E_CRYPTO, "cannot protect private key");
  OPENSSL_clear_free(plain, (size_t)plain_len);
  X509_SIG *sig = st == GCERT_OK ? X509_SIG_new() : NULL;
  if (st == GCERT_OK) {
    X509_ALGOR *alg = NULL;
    ASN1_OCTET_STRING *data = NULL;
    ASN1_OBJECT *oid = OBJ_txt2obj(JKS_PROTECTOR, 1);
    if (sig != NULL)
      X509_SIG_getm(sig, &alg, &data);
    if (sig == NULL || oid == NULL || !X509_ALGOR_set0(alg, oid, V_ASN1_NULL, NULL)) {
      ASN1_OBJECT_free(oid);
      st = gcert_fail(err, GCERT_E_CRYPTO, "cannot build EncryptedPrivateKeyInfo");
    } else if (!ASN1_OCTET_STRING_set(data, sealed, (int)sealed_len)) {
      st = gcert_fail(err, GCERT_E_NOMEM, "out of memory building EncryptedPrivateKeyInfo");
    }
  }
  unsigned char *der = NULL;
  int der_len = 0;
  if (st == GCERT_OK && (der_len = i2d_X509_SIG(sig, &der)) <= 0)
    st = gcert_fail(err, GCERT_E_CRYPTO, "cannot encode EncryptedPrivateKeyInfo");
  if (st == GCERT_OK) {
    out->data = der;
    out->len = (size_t)der_len;
  }
  X509_SIG_free(sig);
  free(sealed);
  return st;
}

static gcert_status write_cert(gcert_writer *w, X509 *cert, gcert_error *err) {
  unsigned char *der = NULL;
  int len = cert ? i2d_X509(cert, &der) : -1;
  if (len <= 0)
    return gcert_fail(err, GCERT_E_CRYPTO, "cannot encode certificate");
  gcert_writer_u16be(w, (uint16_t)strlen(JKS_CERT_TYPE));
  gcert_writer_put(w, JKS_CERT_TYPE, strlen(JKS_CERT_TYPE));
  gcert_writer_u32be(w, (uint32_t)len);
  gcert_writer_put(w, der, (size_t)len);
  OPENSSL_free(der);
  return GCERT_OK;
}

/* Checks one entry can be written as JKS. */
static gcert_status check_writable(const gcert_entry *e, const char *password, gcert_error *err) {
  int certs = e->chain ? sk_X509_num(e->chain) : 0;
  if (e->alias == NULL)
    return gcert_fail_plain(err, GCERT_E_BAD_ALIAS, "JKS entries need an alias");
  if (e->key == NULL && certs != 1)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG,
                            "trusted entry '%s' has %d certificates; JKS holds exactly one",
                            e->alias, certs);
  if (e->key == NULL)
    return GCERT_OK;
  if (password == NULL)
    return gcert_fail_plain(err, GCERT_E_NEED_PASSWORD,
                            "key entry '%s' needs a password to protect the key", e->alias);
  if (certs < 1 || certs > JKS_MAX_CHAIN)
    return gcert_fail_plain(err, certs < 1 ? GCERT_E_NO_CERT : GCERT_E_LIMIT,
                            "key entry '%s' has %d certificates; JKS here takes 1 to %d", e->alias,
                            certs, JKS_MAX_CHAIN);
  if (!gcert_key_matches_cert(e->key, sk_X509_value(e->chain, 0)))
    return gcert_fail_plain(err, GCERT_E_KEY_MISMATCH,
                            "key entry '%s': key does not match its first certificate", e->alias);
  return GCERT_OK;
}

static gcert_status write_key_body(gcert_writer *w, const gcert_entry *e, const gcert_buf *pw,
                                   gcert_error *err) {
  gcert_buf sealed = {0};
  gcert_status st = seal_key(e->key, pw, &sealed, err);
  if (st != GCERT_OK)
    return st;
  gcert_writer_u32be(w, (uint32_t)sealed.len);
  gcert_writer_put(w, sealed.data, sealed.len);
  OPENSSL_free(sealed.data);
  gcert_writer_u32be(w, (uint32_t)sk_X509_num(e->chain));
  for (int i = 0; st == GCERT_OK && i < sk_X509_num(e->chain); i++)
    st = write_cert(w, sk_X509_value(e->chain, i), err);
  return st;
}

static gcert_status write_entry(gcert_writer *w, const gcert_entry *e, const char *password,
                                const gcert_buf *pw, gcert_error *err) {
  gcert_buf alias = {0};
  gcert_status st = check_writable(e, password, err);
  if (st == GCERT_OK)
    st = alias_encode(e->alias, &alias, err);
  if (st != GCERT_OK)
    return st;
  gcert_writer_u32be(w, e->key ? JKS_TAG_KEY : JKS_TAG_TRUSTED);
  gcert_writer_u16be(w, (uint16_t)alias.len);
  gcert_writer_put(w, alias.data, alias.len);
  gcert_buf_free(&alias);
  gcert_writer_u64be(w, (uint64_t)e->created_ms);
  if (e->key != NULL)
    return write_key_body(w, e, pw, err);
  return write_cert(w, sk_X509_value(e->chain, 0), err);
}

/* Aliases that collide ignoring ASCII case (keytool would merge them). */
static gcert_status check_store_aliases(const gcert_store *store, gcert_error *err) {
  const char **aliases = malloc((store->count ? store->count : 1) * sizeof(*aliases));
  if (aliases == NULL)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory checking aliases");
  size_t n = 0;
  for (size_t i = 0; i < store->count; i++) {
    if (store->entries[i].alias != NULL)
      aliases[n++] = store->entries[i].alias;
  }
  const char *a = NULL, *b = NULL;
  gcert_status st = find_alias_collision(aliases, n, &a, &b, err);
  free((void *)aliases);
  if (st == GCERT_OK && a != NULL)
    st = gcert_fail_plain(err, GCERT_E_DUPLICATE_ALIAS,
                          "aliases '%s' and '%s' collide: JKS aliases ignore case", a, b);
  return st;
}

static gcert_status write_all(gcert_writer *w, const gcert_store *store, const char *password,
                              const gcert_buf *pw, gcert_error *err) {
  if (store->count > JKS_MAX_ENTRIES)
    return gcert_fail_plain(err, GCERT_E_LIMIT, "%zu entries; the JKS limit here is %d",
                            store->count, JKS_MAX_ENTRIES);
  gcert_status st = check_store_aliases(store, err);
  if (st != GCERT_OK)
    return st;
  gcert_writer_u32be(w, JKS_MAGIC);
  gcert_writer_u32be(w, 2);
  gcert_writer_u32be(w, (uint32_t)store->count);
  for (size_t i = 0; i < store->count; i++) {
    st = write_entry(w, &store->entries[i], password, pw, err);
    if (st != GCERT_OK) {
      if (err != NULL) {
        char tail[sizeof(err->message)];
        memcpy(tail, err->message, sizeof(tail));
        if (snprintf(err->message, sizeof(err->message), "JKS entry %zu: %s", i, tail) < 0)
          err->message[0] = '\0';
      }
      return st;
    }
  }
  unsigned char digest[JKS_DIGEST_LEN];
  if (w->failed)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory while writing JKS");
  if (!store_digest(pw, w->buf.data, w->buf.len, digest))
    return gcert_fail(err, GCERT_E_CRYPTO, "cannot compute SHA-1");
  gcert_writer_put(w, digest, sizeof(digest));
  return GCERT_OK;
}

gcert_status gcert_jks_write(const gcert_store *store, const char *password, gcert_buf *out,
                             gcert_error *err) {
  if (store == NULL || out == NULL)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "JKS write needs a store and an output");
  gcert_buf pw = {0};
  gcert_status st = password_utf16be(password, &pw, err);
  if (st != GCERT_OK)
    return st;
  gcert_writer w;
  gcert_writer_init(&w);
  st = write_all(&w, store, password, &pw, err);
  if (st == GCERT_OK)
    st = gcert_writer_finish(&w, out, err);
  else
    gcert_writer_discard(&w);
  gcert_buf_cleanse_free(&pw);
  return st;
}
