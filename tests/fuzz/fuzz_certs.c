/* fuzz_certs.c - the fuzz target of the certificate and key store readers
 * (certs/: gcert_read and its format detection, then the PEM, DER, PKCS#7,
 * PKCS#12, JKS and SAP key store JAR readers).
 *
 * Built two ways (CMakeLists.txt here): with clang's libFuzzer into
 * fuzz_certs, and with the project's compiler and replay.c's main into
 * fuzz_certs_replay, a unit test. The input's first byte chooses how the rest
 * is read: its low 3 bits pick a password from `passwords` (NULL and the
 * fixtures' store passwords, so a mutated store still gets past its MAC or
 * digest often enough to reach the entries), bits 3-5 the format (0 and 7:
 * auto-detect, 1-6: gcert_format). The rest is the store's bytes, copied into
 * a buffer of exactly their size so AddressSanitizer sees a read past either
 * end. fixtures/gcert/ holds the seeds: the keytool, openssl and make.sh
 * stores of fixtures/keystores and fixtures/malformed with that byte in front
 * (its README says how they were made).
 *
 * Invariants, each an abort() with its name on stderr when broken:
 *   - a known status; on failure a non-empty NUL-terminated message, and the
 *     store the reader was given is untouched (gcert.h: a failed read adds
 *     nothing);
 *   - on success (an empty JKS or PKCS#12 store is a success) every entry has a chain of at least one
 *     certificate; a trusted entry exactly one; a key entry's key belongs to
 *     its leaf; an alias is NUL-terminated inside a 64 KiB bound and found by
 *     gcert_store_find;
 *   - on success with auto-detection, gcert_format_detect names a format;
 *   - the store written as a PKCS#7 bundle reads back as the same
 *     certificates in the same order.
 */
#include "fuzz.h"
#include "gcert.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

static const char *const passwords[8] = {
    NULL,
    "changeit",
    "wso2carbon",
    "gatecert",
    "secret",
    "p!%^&#:/?[]@;=w",
    "!%^&#:/?[]@;=",
    "p\xc3\xa4ssw\xc3\xb6rd\xe2\x82\xac\xf0\x9f\x98\x80",
};

/* What replay.c inserts: the formats' magic numbers, armour and zip names. */
static const char *const cert_tokens[] = {"\xfe\xed\xfe\xed",
                                          "\xce\xce\xce\xce",
                                          "PK\x03\x04",
                                          "-----BEGIN CERTIFICATE-----\n",
                                          "-----END CERTIFICATE-----\n",
                                          "-----BEGIN PRIVATE KEY-----\n",
                                          "-----BEGIN ENCRYPTED PRIVATE KEY-----\n",
                                          "-----BEGIN EC PRIVATE KEY-----\n",
                                          "-----BEGIN PKCS7-----\n",
                                          "-----END PKCS7-----\n",
                                          "-----END ",
                                          "X.509",
                                          "META-INF/descriptor.properties",
                                          "certFile=",
                                          "keyFile=",
                                          "\x30\x82",
                                          "\x30\x80",
                                          "\x02\x01\x03",
                                          "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01",
                                          "\xff\xff\xff\xff",
                                          "\x7f\xff\xff\xff",
                                          "\x00\x00\x00\x02",
                                          "\n",
                                          "=",
                                          NULL};

size_t gh_fuzz_tokens_for(const uint8_t *data, size_t size, char tokens[][GH_FUZZ_TOKEN_LEN],
                          size_t max) {
  (void)data;
  (void)size;
  return gh_fuzz_tokens_from_list(cert_tokens, tokens, max);
}

#define CHECK(cond) GH_FUZZ_CHECK("fuzz_certs", cond)

static void check_entry(const gcert_store *store, const gcert_entry *e) {
  CHECK(e->chain != NULL && sk_X509_num(e->chain) >= 1);
  for (int i = 0; i < sk_X509_num(e->chain); i++)
    CHECK(sk_X509_value(e->chain, i) != NULL);
  if (e->key == NULL)
    CHECK(sk_X509_num(e->chain) == 1);
  else
    CHECK(X509_check_private_key(sk_X509_value(e->chain, 0), e->key) == 1);
  if (e->alias != NULL) {
    CHECK(strnlen(e->alias, 65536) < 65536);
    const gcert_entry *found = gcert_store_find(store, e->alias);
    CHECK(found != NULL && strcmp(found->alias, e->alias) == 0);
  }
}

/* The certificates of every entry, in store order, written as PKCS#7 and read
 * back: the same ones in the same order. */
static void check_pkcs7_round_trip(const gcert_store *store) {
  gcert_buf buf = {0};
  gcert_error err;
  CHECK(gcert_pkcs7_write(store, 0, &buf, &err) == GCERT_OK);
  gcert_store back;
  gcert_store_init(&back);
  gcert_status st = gcert_pkcs7_read(buf.data, buf.len, &back, &err);
  if (st != GCERT_OK)
    fprintf(stderr, "fuzz_certs: reading back: %s: %s\n", gcert_status_name(st), err.message);
  CHECK(st == GCERT_OK);
  size_t n = gcert_store_cert_count(store);
  CHECK(gcert_store_cert_count(&back) == n);
  size_t k = 0;
  for (size_t i = 0; i < store->count; i++) {
    for (int j = 0; j < sk_X509_num(store->entries[i].chain); j++, k++) {
      CHECK(k < back.count);
      CHECK(X509_cmp(sk_X509_value(store->entries[i].chain, j),
                     sk_X509_value(back.entries[k].chain, 0)) == 0);
    }
  }
  gcert_store_free(&back);
  gcert_buf_free(&buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const char *password = passwords[data[0] & 7];
  unsigned f = (data[0] >> 3) & 7;
  gcert_format format = f >= 1 && f <= 6 ? (gcert_format)f : GCERT_FORMAT_AUTO;
  size_t n = size - 1;
  unsigned char *copy = malloc(n == 0 ? 1 : n);
  if (copy == NULL)
    return 0;
  if (n > 0)
    memcpy(copy, data + 1, n);

  gcert_store store;
  gcert_store_init(&store);
  gcert_error err;
  memset(&err, 'z', sizeof(err));
  gcert_status st = gcert_read(format, n == 0 ? NULL : copy, n, password, &store, &err);
  CHECK((unsigned)st < GCERT_STATUS_COUNT);
  if (st != GCERT_OK) {
    CHECK(strnlen(err.message, sizeof(err.message)) < sizeof(err.message));
    CHECK(err.message[0] != '\0');
    CHECK(err.status == st);
    CHECK(store.count == 0 && store.entries == NULL);
  } else {
    for (size_t i = 0; i < store.count; i++)
      check_entry(&store, &store.entries[i]);
    if (format == GCERT_FORMAT_AUTO)
      CHECK(gcert_format_detect(copy, n) != GCERT_FORMAT_COUNT);
    if (store.count > 0) /* an empty bundle is refused: nothing to write */
      check_pkcs7_round_trip(&store);
  }
  gcert_store_free(&store);
  ERR_clear_error();
  free(copy);
  return 0;
}
