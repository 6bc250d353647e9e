/* gcert.h - gatecert's PKI factory and key store formats (the certs/ component).
 *
 * Two halves:
 *
 *   1. The factory makes keys and certificates for one test case, dated from a
 *      reference time the caller passes (a scenario's fake epoch): never the wall
 *      clock implicitly. Validity windows are offsets from that time, so nothing
 *      made here expires on its own as the calendar moves on.
 *
 *   2. The formats write and read certificate stores: PEM, DER, PKCS#7, PKCS#12,
 *      JKS and the SAP key store JAR. Every reader takes untrusted bytes, never
 *      trusts a length found in them, and fails with a specific gcert_status and
 *      a message naming what was wrong and where. A failed read adds nothing to
 *      the caller's store.
 *
 * Certificates and keys are OpenSSL objects (X509, EVP_PKEY): every consumer of
 * this component (simulator, backends, harness) speaks TLS through OpenSSL too.
 * Ownership: functions that return objects hand over one reference; functions
 * that take objects into a store or item take their own reference (up-ref).
 */
#ifndef GCERT_H
#define GCERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------- */

typedef enum gcert_status {
  GCERT_OK = 0,
  GCERT_E_NOMEM,           /* allocation failed */
  GCERT_E_INVALID_ARG,     /* the caller passed something unusable */
  GCERT_E_IO,              /* a file could not be opened, read or written */
  GCERT_E_TOO_LARGE,       /* input exceeds the reader's size limit */
  GCERT_E_EMPTY,           /* input has no content at all */
  GCERT_E_UNKNOWN_FORMAT,  /* auto-detection recognised no format */
  GCERT_E_NOT_PEM,         /* no PEM block where PEM was required */
  GCERT_E_PEM_TRUNCATED,   /* a BEGIN line without its END line */
  GCERT_E_PEM_BASE64,      /* a PEM body that is not valid base64 */
  GCERT_E_PEM_UNEXPECTED,  /* a PEM block of a type not wanted here */
  GCERT_E_DER_INVALID,     /* bytes that do not decode as the expected ASN.1 */
  GCERT_E_DER_TRAILING,    /* a valid structure followed by extra bytes */
  GCERT_E_NO_CERT,         /* a container that holds no certificate */
  GCERT_E_NO_KEY,          /* a private key was required and is missing */
  GCERT_E_KEY_MISMATCH,    /* private key does not belong to the certificate */
  GCERT_E_NEED_PASSWORD,   /* encrypted content and no password given */
  GCERT_E_BAD_PASSWORD,    /* decryption with the given password failed */
  GCERT_E_INTEGRITY,       /* store MAC/digest mismatch: wrong password or tampered */
  GCERT_E_BAD_MAGIC,       /* a binary store with the wrong signature */
  GCERT_E_BAD_VERSION,     /* a store version this reader does not know */
  GCERT_E_TRUNCATED,       /* a structure that ends before its declared content */
  GCERT_E_LIMIT,           /* a declared count or length beyond the reader's limits */
  GCERT_E_UNSUPPORTED,     /* recognised, but a variant or algorithm not supported */
  GCERT_E_DUPLICATE_ALIAS, /* two entries with one alias */
  GCERT_E_BAD_ALIAS,       /* an alias that is empty, too long or not valid UTF-8 */
  GCERT_E_ZIP,             /* a zip archive that libzip cannot read */
  GCERT_E_MISSING_MEMBER,  /* a zip member that must exist does not */
  GCERT_E_DESCRIPTOR,      /* SAP key store descriptor with bad or missing keys */
  GCERT_E_BAD_NAME,        /* a distinguished name string that cannot be parsed */
  GCERT_E_BAD_SAN,         /* a subjectAltName value that cannot be used */
  GCERT_E_BAD_SERIAL,      /* a serial number string that cannot be used */
  GCERT_E_BAD_TIME,        /* a time or duration string that cannot be parsed */
  GCERT_E_CRYPTO,          /* OpenSSL failed to generate, sign or encode */
  GCERT_STATUS_COUNT
} gcert_status;

/* Filled by every fallible call: the status and a one-line message saying
 * what was wrong and where (byte offset, entry, alias). Never holds secrets. */
typedef struct gcert_error {
  gcert_status status;
  char message[256];
} gcert_error;

/* Stable short name ("truncated", "bad-magic", ...), used by the CLI and the
 * malformed-input corpus manifests. */
const char *gcert_status_name(gcert_status status);
/* Parses a short name back; GCERT_STATUS_COUNT when unknown. */
gcert_status gcert_status_from_name(const char *name);
/* One sentence describing the status in general. */
const char *gcert_status_text(gcert_status status);

/* ---- byte buffers and files --------------------------------------------- */

typedef struct gcert_buf {
  unsigned char *data;
  size_t len;
} gcert_buf;

void gcert_buf_free(gcert_buf *buf);
/* Overwrites, then frees: for buffers that held keys or passwords. */
void gcert_buf_cleanse_free(gcert_buf *buf);

/* Largest input any reader accepts: big trust stores (WSO2's
 * client-truststore.jks is ~200 KiB) fit many times over. */
#define GCERT_MAX_INPUT ((size_t)4 << 20)

/* Reads a regular file of at most max_len bytes (checked before reading). */
gcert_status gcert_file_load(const char *path, size_t max_len, gcert_buf *out, gcert_error *err);
/* Writes atomically (temp file + rename). private_data: mode 0600, else 0644. */
gcert_status gcert_file_save(const char *path, const unsigned char *data, size_t len,
                             int private_data, gcert_error *err);

/* ---- stores: what every format reads into and writes from --------------- */

typedef struct gcert_entry {
  char *alias;            /* UTF-8; NULL where the format has no names (PEM, DER) */
  EVP_PKEY *key;          /* private key entry; NULL for a trusted certificate */
  STACK_OF(X509) * chain; /* key entry: leaf first, then issuers; trusted: one cert */
  int64_t created_ms;     /* JKS entry date, ms since the epoch; 0 if unknown */
} gcert_entry;

typedef struct gcert_store {
  gcert_entry *entries;
  size_t count;
  size_t capacity;
} gcert_store;

void gcert_store_init(gcert_store *store);
void gcert_store_free(gcert_store *store); /* frees all entries, re-inits */

/* Adds a trusted-certificate entry (takes its own reference to cert). */
gcert_status gcert_store_add_trusted(gcert_store *store, const char *alias, X509 *cert,
                                     gcert_error *err);
/* Adds a private-key entry: key plus chain (leaf first, at least the leaf).
 * Fails with GCERT_E_KEY_MISMATCH when key does not match chain[0]. */
gcert_status gcert_store_add_key(gcert_store *store, const char *alias, EVP_PKEY *key,
                                 STACK_OF(X509) * chain, gcert_error *err);
/* Moves every entry of src to the end of dst (src ends empty). */
gcert_status gcert_store_append(gcert_store *dst, gcert_store *src, gcert_error *err);
/* Finds an entry by alias (exact byte match); NULL when absent. */
const gcert_entry *gcert_store_find(const gcert_store *store, const char *alias);
/* Total number of certificates over all entries. */
size_t gcert_store_cert_count(const gcert_store *store);

/* ---- formats ------------------------------------------------------------ */

typedef enum gcert_format {
  GCERT_FORMAT_AUTO = 0, /* readers only: detect from the bytes */
  GCERT_FORMAT_PEM,
  GCERT_FORMAT_DER,   /* one certificate */
  GCERT_FORMAT_PKCS7, /* certs-only SignedData, DER or PEM-armoured */
  GCERT_FORMAT_PKCS12,
  GCERT_FORMAT_JKS,
  GCERT_FORMAT_SAPJAR, /* SAP key store JAR */
  GCERT_FORMAT_COUNT
} gcert_format;

const char *gcert_format_name(gcert_format format);    /* "pem", "der", "pkcs7", ... */
gcert_format gcert_format_from_name(const char *name); /* GCERT_FORMAT_COUNT if unknown */
/* Guesses the format from content alone; GCERT_FORMAT_COUNT if none fits. */
gcert_format gcert_format_detect(const unsigned char *data, size_t len);

/* Reading. `password` may be NULL where the content is not protected; for JKS,
 * NULL skips the store digest (as Java does) but key entries then fail with
 * GCERT_E_NEED_PASSWORD. On success entries are appended to *out (which must be
 * initialised); on failure *out is unchanged. */
gcert_status gcert_read(gcert_format format, const unsigned char *data, size_t len,
                        const char *password, gcert_store *out, gcert_error *err);
gcert_status gcert_read_file(const char *path, gcert_format format, const char *password,
                             gcert_store *out, gcert_error *err);

/* PEM: certificates (each a trusted entry, file order) and at most one private
 * key (PKCS#8, traditional, or encrypted PKCS#8 with password). When a key is
 * present the result is one key entry whose chain is every certificate, and the
 * first certificate must match the key. */
gcert_status gcert_pem_read(const unsigned char *data, size_t len, const char *password,
                            gcert_store *out, gcert_error *err);
/* PEM holding exactly one private key (PKCS#8, encrypted PKCS#8 or
 * traditional) and no certificate (one is GCERT_E_PEM_UNEXPECTED). */
gcert_status gcert_pem_read_key(const unsigned char *data, size_t len, const char *password,
                                EVP_PKEY **out, gcert_error *err);
/* DER: exactly one certificate, nothing after it. */
gcert_status gcert_der_read(const unsigned char *data, size_t len, gcert_store *out,
                            gcert_error *err);
/* PKCS#7 certs-only SignedData bundle, DER or PEM ("-----BEGIN PKCS7-----"). */
gcert_status gcert_pkcs7_read(const unsigned char *data, size_t len, gcert_store *out,
                              gcert_error *err);
/* PKCS#12: key entries (key + its chain, matched by localKeyId) and trusted
 * certificate bags, aliases from friendlyName. */
gcert_status gcert_pkcs12_read(const unsigned char *data, size_t len, const char *password,
                               gcert_store *out, gcert_error *err);
/* JKS (magic 0xFEEDFEED, versions 1 and 2): trusted and private key entries;
 * the key password is the store password. */
gcert_status gcert_jks_read(const unsigned char *data, size_t len, const char *password,
                            gcert_store *out, gcert_error *err);
/* SAP key store JAR: one key entry (alias NULL) from the descriptor's certFile
 * (leaf first, then chain) and keyFile (password for an encrypted key). */
gcert_status gcert_sapjar_read(const unsigned char *data, size_t len, const char *password,
                               gcert_store *out, gcert_error *err);

/* Writing: each appends nothing to disk itself; the caller saves the buffer
 * (gcert_file_save with private_data set whenever a key is inside). */

/* PEM: every certificate of every entry in order, then the private key of the
 * first key entry (PKCS#8; encrypted with AES-256-CBC when key_password). */
gcert_status gcert_pem_write(const gcert_store *store, const char *key_password, gcert_buf *out,
                             gcert_error *err);
/* PEM of one private key. */
gcert_status gcert_pem_write_key(EVP_PKEY *key, const char *key_password, gcert_buf *out,
                                 gcert_error *err);
gcert_status gcert_der_write(X509 *cert, gcert_buf *out, gcert_error *err);
/* PKCS#7 certs-only bundle of every certificate in the store. */
gcert_status gcert_pkcs7_write(const gcert_store *store, int pem_armour, gcert_buf *out,
                               gcert_error *err);
/* PKCS#12 with every entry (aliases as friendlyName; trusted entries carry
 * Java's trusted-cert attribute so keytool lists them as trustedCertEntry). */
gcert_status gcert_pkcs12_write(const gcert_store *store, const char *password, gcert_buf *out,
                                gcert_error *err);
/* JKS version 2 with every entry; entries need aliases; keys are protected
 * with the store password (Sun KeyProtector), as keytool does. */
gcert_status gcert_jks_write(const gcert_store *store, const char *password, gcert_buf *out,
                             gcert_error *err);
/* SAP key store JAR from the store's single key entry: main_name holds the
 * chain, key_name the key (encrypted PKCS#8 when key_password). */
gcert_status gcert_sapjar_write(const gcert_store *store, const char *main_name,
                                const char *key_name, const char *key_password, gcert_buf *out,
                                gcert_error *err);

/* ---- the factory -------------------------------------------------------- */

typedef enum gcert_key_type {
  GCERT_KEY_EC_P256 = 0, /* default: fast */
  GCERT_KEY_RSA_2048,
  GCERT_KEY_RSA_3072,
  GCERT_KEY_TYPE_COUNT
} gcert_key_type;

typedef enum gcert_kind {
  GCERT_KIND_CA = 0, /* root when self-signed, intermediate when issued */
  GCERT_KIND_SERVER,
  GCERT_KIND_CLIENT
} gcert_kind;

typedef enum gcert_eku {
  GCERT_EKU_DEFAULT = 0, /* by kind: server -> serverAuth, client -> clientAuth, CA -> none */
  GCERT_EKU_NONE,        /* no extendedKeyUsage extension */
  GCERT_EKU_SERVER,
  GCERT_EKU_CLIENT,
  GCERT_EKU_BOTH
} gcert_eku;

typedef struct gcert_spec {
  gcert_kind kind;
  const char *subject;     /* "CN=a,O=b" (RFC 4514 order, '\\' escapes); NULL: by kind */
  gcert_key_type key_type; /* ignored when a key is passed in */
  int64_t not_before;      /* seconds relative to the reference time (e.g. -3600) */
  int64_t not_after;       /* seconds relative to the reference time (e.g. 86400) */
  const char *const *dns;  /* subjectAltName DNS names */
  size_t dns_count;
  const char *const *ips; /* subjectAltName IP addresses (v4 or v6 text) */
  size_t ip_count;
  const char *serial; /* decimal, or hex with 0x; NULL: random positive 127-bit */
  gcert_eku eku;
  int ca_path_len; /* CA only: pathLenConstraint, or -1 for none */
} gcert_spec;

/* A spec with the defaults: EC P-256, valid from reference-1h for 1 year,
 * default EKU, no SAN, random serial, no path length. */
void gcert_spec_init(gcert_spec *spec, gcert_kind kind);

typedef struct gcert_item {
  X509 *cert;
  EVP_PKEY *key;
} gcert_item;

void gcert_item_free(gcert_item *item); /* frees both, sets them NULL */

gcert_status gcert_key_generate(gcert_key_type type, EVP_PKEY **out, gcert_error *err);

/* Issues a certificate for spec at reference time. issuer NULL: self-signed.
 * key NULL: a fresh key of spec->key_type; else the given key is used (up-ref).
 * Any issuer is accepted, including one whose certificate says CA:FALSE: the
 * factory makes broken PKIs on purpose. */
gcert_status gcert_issue(const gcert_spec *spec, time_t reference, const gcert_item *issuer,
                         EVP_PKEY *key, gcert_item *out, gcert_error *err);

/* Chains as a server would send them. */
typedef enum gcert_chain_shape {
  GCERT_CHAIN_FULL = 0,   /* leaf, then issuers[0..n) */
  GCERT_CHAIN_INCOMPLETE, /* leaf only: the intermediates are missing */
  GCERT_CHAIN_REVERSED    /* issuers[n-1..0], then leaf */
} gcert_chain_shape;

/* A new stack (own references) shaped from leaf and its issuers, nearest first. */
STACK_OF(X509) * gcert_chain_make(X509 *leaf, X509 *const *issuers, size_t issuer_count,
                                  gcert_chain_shape shape);

/* ---- inspection --------------------------------------------------------- */

typedef enum gcert_validity { GCERT_VALID = 0, GCERT_EXPIRED, GCERT_NOT_YET_VALID } gcert_validity;

typedef struct gcert_info {
  char subject[256]; /* RFC 2253 */
  char issuer[256];
  char serial_hex[80]; /* upper-case hex, no separators */
  char serial_dec[100];
  char sha256_hex[65]; /* SHA-256 of the DER, lower-case hex */
  time_t not_before;
  time_t not_after;
  gcert_validity validity; /* at the reference time passed in */
  int is_ca;               /* basicConstraints CA:TRUE */
  int self_signed;         /* subject == issuer and signature verifies with own key */
} gcert_info;

gcert_status gcert_describe(X509 *cert, time_t reference, gcert_info *out, gcert_error *err);
const char *gcert_validity_name(gcert_validity validity); /* "valid", "expired", ... */

/* ---- times -------------------------------------------------------------- */

/* "2030-01-01T00:00:00Z", "@1893456000" (epoch seconds) or "now" (the only way
 * to ask for the wall clock). */
gcert_status gcert_time_parse(const char *text, time_t *out, gcert_error *err);
/* "90", "90s", "15m", "2h", "30d", "-1d": seconds. */
gcert_status gcert_duration_parse(const char *text, int64_t *out, gcert_error *err);

/* ---- the per-case catalogue --------------------------------------------- */

/* The standard set of certificates a test case needs, made in one call and
 * looked up by name: a root, an intermediate, and leafs that are valid,
 * expired, not yet valid, of the wrong EKU, for the wrong host, without SAN,
 * self-signed, issued under an expired intermediate, issued by a CA:FALSE
 * leaf, a rotated root (same subject, new key), and more. Rows are listed
 * by gcert_catalogue_name(i); gcert_catalogue_description(i) says what is
 * special about each. */
typedef struct gcert_catalogue gcert_catalogue;

gcert_status gcert_catalogue_make(time_t reference, gcert_key_type key_type, gcert_catalogue **out,
                                  gcert_error *err);
void gcert_catalogue_free(gcert_catalogue *catalogue);
size_t gcert_catalogue_count(const gcert_catalogue *catalogue);
/* Row i: its name, what is special about it, the certificate and key, and the
 * name of the row that issued it (NULL when self-signed). */
const char *gcert_catalogue_name(const gcert_catalogue *catalogue, size_t i);
const char *gcert_catalogue_description(const gcert_catalogue *catalogue, size_t i);
const gcert_item *gcert_catalogue_item(const gcert_catalogue *catalogue, size_t i);
const char *gcert_catalogue_issuer(const gcert_catalogue *catalogue, size_t i);
const gcert_item *gcert_catalogue_get(const gcert_catalogue *catalogue, const char *name);
/* The chain row `name` presents: its certificate, then its issuers nearest
 * first, stopping before the self-signed root unless with_root. A new stack
 * (own references); NULL for an unknown name. */
STACK_OF(X509) *
    gcert_catalogue_chain(const gcert_catalogue *catalogue, const char *name, int with_root);

/* ---- command line --------------------------------------------------------- */

/* `gatecert certs ...`: argv[0] is "certs". Returns the process exit code. */
int gcert_cli_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* GCERT_H */
