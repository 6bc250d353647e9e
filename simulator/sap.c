/* sap.c - the sap profiles' certificate stores, certificates, store
 * references and API providers, and the service key's access tokens and CSRF
 * sessions (sap.h).
 *
 * SAP API Management keeps certificates in named stores of two kinds (trust
 * stores: certificates; key stores: a key with its chain), lets a store
 * reference point at a store, and associates stores (by name or by
 * `ref://<reference>`) with an API provider (a backend) through the
 * provider's sslInfo. admin_odata.c speaks SAP's OData service and calls the
 * operations here; this file keeps the store kinds, the upload, reference
 * and provider rules and the loading of providers into trust slots.
 *
 * Upload rules (README.md, "The sap profiles: SAP API Management's OData
 * service"):
 *
 *   - A name is 1..255 bytes of printable UTF-8 and may not start with the
 *     reserved prefixes sap_, hcicertificate, hcimsgcertificate (any case).
 *     A name that exists is overwritten: SAP's rule (seed 004).
 *   - What a store takes is the profile's sap-formats row (rules.h
 *     GSIM_RF_SAP_FORMATS): sap.formats-2023 (seed 004) trust stores one PEM
 *     certificate, key stores a key store JAR, PKCS#12 or PEM chain + key;
 *     sap.formats-2026 trust stores one PEM or DER certificate, key stores
 *     PKCS#12 only. A PKCS#12 password holding a character SAP lists as
 *     restricted is refused under both. A key store entry needs a private
 *     key matching its leaf and its chain in order (each certificate issued
 *     and signed by the next: X509_check_issued and X509_verify), the
 *     position of a wrong link named.
 *   - An expired certificate (the leaf for key stores) cannot be uploaded, on
 *     the process clock (fake under libfaketime).
 *   Every refusal is a 400 with SAP's (or an inferred) code and a specific
 *   message, and changes nothing: a deep insert checks every certificate
 *   before it writes one.
 *
 * Persistence is the store's objects (store.h), each written in one
 * transaction before the answer:
 *
 *   sap_cert_store       key "<store>"         json: {name, storeType, description}
 *   sap_truststore_cert  key "<store>/<name>"  json: the description  blob: DER
 *   sap_keystore_entry   key "<store>/<name>"  json: the description  blob: PEM
 *                        chain (leaf first) + unencrypted PKCS#8 key (the
 *                        store file is 0600; the key is never answered)
 *   sap_store_reference  key "<name>"          json: {name, certificateStoreName}
 *   sap_api_provider     key "<name>"          json: the provider as checked
 *
 * Store names are 1..128 of [A-Za-z0-9._-], so "<store>/" is an exact prefix.
 * A deep insert writes its certificates first and the store object last, and
 * removes what it wrote when a write fails.
 *
 * Backend association: a provider with useSSL and sslInfo.enabled maps
 * host:port to its trust store (every certificate an anchor; without one,
 * the sender trust) and, with clientAuthEnabled, its key store entry
 * keyAlias, presented as the gateway's client certificate (2-way SSL to the
 * API provider). A `ref://` is resolved when the trust generation is built:
 * the provider's next use. Like every sender trust change, a change takes
 * effect at the next sender reload tick: a change to a provider, to a
 * reference a provider names, or to a store a provider uses (directly or
 * through a reference) marks the sender trust changed (gsim_trust_changed),
 * and reload.c has gsim_sap_providers_load() read the providers from the
 * store when it builds a generation (trust.c gives them their own SSL
 * contexts, matched before the configured SSL profiles). A restart builds
 * its first generation from the store, providers included.
 *
 * Access: bearer tokens (the service key's client credentials exchanged at
 * /oauth/token) and CSRF sessions for basic-auth writes are kept in memory
 * here, a fixed number of each, the oldest replaced first; a restart forgets
 * them.
 *
 * A node of a cluster (--node) notices another node's change to these kinds
 * by a SHA-256 of them all (gsim_sap_sync, called by reload.c): any
 * difference marks the sender trust changed, used by a provider or not.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "sap.h"
#include "sim.h"

#define SAP_KIND_STORE     "sap_cert_store"
#define SAP_KIND_TRUST     "sap_truststore_cert"
#define SAP_KIND_KEY       "sap_keystore_entry"
#define SAP_KIND_REF       "sap_store_reference"
#define SAP_KIND_PROVIDER  "sap_api_provider"
#define SAP_REF_PREFIX     "ref://"
#define SAP_RESTRICTED     "!%^&#:/?[]@$'()*+,;="
#define SAP_EXPIRED        "An expired certificate cannot be uploaded"
#define SAP_TOKENS         64
#define SAP_SESSIONS       64
#define SAP_TOKEN_LIFE_S   43199L /* [I] the XSUAA validity clients commonly report */
#define SAP_SESSION_LIFE_S 1800L  /* [I] */
#define CODE_INVALID       "INVALID_REQUEST_BODY"
#define CODE_CERT          "CERTIFICATE_VALIDATION_ERROR"
#define CODE_NO_STORE      "CERTIFICATE_STORE_NOT_FOUND"
#define CODE_NO_CERT       "CERTIFICATE_NOT_FOUND"
#define CODE_NO_REF        "NO_SUCH_CERTIFICATE_STORE_REFERENCE_EXISTS"
#define CODE_NO_PROVIDER   "APIPROVIDER_NOT_FOUND"
#define CODE_PROVIDER      "APIPROVIDER_VALIDATION_ERROR"

typedef struct sap_secret {
  char value[GSIM_SAP_SECRET_HEX];   /* a bearer token, or a session's CSRF token */
  char session[GSIM_SAP_SECRET_HEX]; /* a session's id ("" for tokens) */
  int64_t expires_ms;                /* 0: a free slot */
} sap_secret;

struct gsim_sap {
  uint64_t uploads;    /* accepted certificates (new or overwrite) */
  uint64_t overwrites; /* of which overwrote an existing name */
  uint64_t refused;    /* writes answered 400 */
  sap_secret tokens[SAP_TOKENS];
  sap_secret sessions[SAP_SESSIONS];
  unsigned char seen[32]; /* --node: SHA-256 of the sap kinds as last known (gsim_sap_sync) */
};

static const char *kind_of(gsim_sap_kind k) {
  return k == GSIM_SAP_TRUST ? SAP_KIND_TRUST : SAP_KIND_KEY;
}
static const char *store_word(gsim_sap_kind k) {
  return k == GSIM_SAP_TRUST ? "trust store" : "key store";
}

const char *gsim_sap_kind_word(gsim_sap_kind k) {
  return k == GSIM_SAP_TRUST ? "TRUSTSTORE" : "KEYSTORE";
}

int gsim_sap_kind_parse(const char *word, gsim_sap_kind *k) {
  if (word && strcmp(word, "TRUSTSTORE") == 0)
    *k = GSIM_SAP_TRUST;
  else if (word && strcmp(word, "KEYSTORE") == 0)
    *k = GSIM_SAP_KEY;
  else
    return -1;
  return 0;
}

/* SHA-256 of every object of the sap kinds (kind, key, json, blob): 0, or
 * -1 on a store failure. All zero when OpenSSL fails (the next comparison
 * then differs: a reload is the safe side). */
static int sap_digest(gsim *sim, unsigned char out[32]) {
  static const char *const kinds[] = {SAP_KIND_STORE, SAP_KIND_TRUST, SAP_KIND_KEY, SAP_KIND_REF,
                                      SAP_KIND_PROVIDER};
  memset(out, 0, 32);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1, rc = 0;
  for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]) && rc == 0; k++) {
    gsim_object_row *rows = NULL;
    size_t count = 0;
    if (gsim_store_object_list(sim->store, kinds[k], NULL, &rows, &count) != GSIM_STORE_OK) {
      rc = -1;
      break;
    }
    for (size_t i = 0; ok && i < count; i++) {
      const char *json = rows[i].json ? rows[i].json : "";
      uint64_t len = rows[i].blob_len;
      ok = EVP_DigestUpdate(ctx, rows[i].kind, strlen(rows[i].kind) + 1) == 1 &&
           EVP_DigestUpdate(ctx, rows[i].key, strlen(rows[i].key) + 1) == 1 &&
           EVP_DigestUpdate(ctx, json, strlen(json) + 1) == 1 &&
           EVP_DigestUpdate(ctx, &len, sizeof(len)) == 1 &&
           (len == 0 || EVP_DigestUpdate(ctx, rows[i].blob, rows[i].blob_len) == 1);
    }
    gsim_object_rows_free(rows, count);
  }
  unsigned out_len = 0;
  if (rc == 0 && (!ok || EVP_DigestFinal_ex(ctx, out, &out_len) != 1))
    memset(out, 0, 32);
  EVP_MD_CTX_free(ctx);
  return rc;
}

int gsim_sap_init(gsim *sim, char *why, size_t why_len) {
  sim->sap = calloc(1, sizeof(*sim->sap));
  if (!sim->sap) {
    snprintf(why, why_len, "out of memory");
    return -1;
  }
  if (sim->opt->node > 0 && sap_digest(sim, sim->sap->seen) != 0) {
    snprintf(why, why_len, "store: %s", gsim_store_error(sim->store));
    gsim_sap_free(sim);
    return -1;
  }
  return 0;
}

int gsim_sap_sync(gsim *sim) {
  unsigned char digest[32];
  if (sap_digest(sim, digest) != 0)
    return -1;
  if (memcmp(digest, sim->sap->seen, sizeof(digest)) == 0)
    return 0;
  memcpy(sim->sap->seen, digest, sizeof(digest));
  gsim_trust_changed(&sim->trust);
  gsim_log(sim, "INFO",
           "sap stores or API providers changed through another node: live at the "
           "next sender tick");
  return 1;
}

void gsim_sap_free(gsim *sim) {
  if (sim->sap)
    OPENSSL_cleanse(sim->sap, sizeof(*sim->sap));
  free(sim->sap);
  sim->sap = NULL;
}

void gsim_sap_count_refusal(gsim *sim) {
  if (sim->sap)
    sim->sap->refused++;
}

/* Fills why and answers REFUSED. */
static gsim_sap_status refuse(gsim_sap_why *why, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static gsim_sap_status refuse(gsim_sap_why *why, int status, const char *code, const char *fmt,
                              ...) {
  why->status = status;
  why->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why->message, sizeof(why->message), fmt, ap);
  va_end(ap);
  return GSIM_SAP_REFUSED;
}

/* 1 when s is 1 to max - 1 characters, each a letter, a digit or one of extra. */
static int made_of(const char *s, size_t max, const char *extra) {
  size_t n = strlen(s);
  if (n == 0 || n >= max)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          strchr(extra, c)))
      return 0;
  }
  return 1;
}

int gsim_sap_valid_store(const char *s) { return made_of(s, GSIM_SAP_STORE_MAX, "._-"); }

/* The reserved prefix name starts with (any case), or NULL. */
static const char *reserved_prefix(const char *name) {
  static const char *const prefixes[] = {"sap_", "hcicertificate", "hcimsgcertificate"};
  for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
    if (strncasecmp(name, prefixes[i], strlen(prefixes[i])) == 0)
      return prefixes[i];
  return NULL;
}

/* A certificate, reference or provider name (reserved: the reserved prefixes
 * are refused too); 0, or -1 with message filled. */
static int check_name(const char *what, const char *name, int reserved, char *message, size_t len) {
  size_t n = name ? strlen(name) : 0;
  if (n == 0 || n >= GSIM_SAP_NAME_MAX || !gsim_printable_utf8((const unsigned char *)name, n)) {
    snprintf(message, len, "The %s name must be printable UTF-8 of 1 to 255 bytes", what);
    return -1;
  }
  const char *prefix = reserved ? reserved_prefix(name) : NULL;
  if (prefix) {
    snprintf(message, len, "The name '%s' starts with the reserved prefix '%s'", name, prefix);
    return -1;
  }
  return 0;
}

static int entry_key(char out[GSIM_OBJECT_KEY_MAX], const char *store, const char *name) {
  int n = snprintf(out, GSIM_OBJECT_KEY_MAX, "%s/%s", store, name);
  return n < 0 || n >= GSIM_OBJECT_KEY_MAX ? -1 : 0;
}

/* row's json as an object (a new reference) with createdMs and updatedMs. */
static json_t *row_json(const gsim_object_row *row) {
  json_t *o = row->json ? json_loads(row->json, 0, NULL) : NULL;
  if (!json_is_object(o)) {
    json_decref(o);
    return NULL;
  }
  json_object_set_new(o, "createdMs", json_integer(row->created_ms));
  json_object_set_new(o, "updatedMs", json_integer(row->updated_ms));
  return o;
}

/* The store `name`: GSIM_STORE_OK with *k (and *out, a new reference, when
 * out is not NULL), GSIM_STORE_NOT_FOUND, or the failure. */
static gsim_store_status store_find(gsim *sim, const char *name, gsim_sap_kind *k, json_t **out) {
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  gsim_store_status st = gsim_store_object_get(sim->store, SAP_KIND_STORE, name, &row);
  if (st == GSIM_STORE_OK) {
    json_t *o = row_json(&row);
    if (!o || gsim_sap_kind_parse(json_string_value(json_object_get(o, "storeType")), k) != 0)
      st = GSIM_STORE_ERROR;
    if (out && st == GSIM_STORE_OK)
      *out = json_incref(o);
    json_decref(o);
  }
  gsim_object_row_clear(&row);
  return st;
}

/* ---- certificate descriptions ----------------------------------------------- */

/* What GET answers about a certificate, kept in the object's json. */
static json_t *describe(X509 *leaf, const char *store, const gsim_sap_cert_in *in,
                        const char *format, int64_t now_ms) {
  gcert_info info;
  gcert_error err = {0};
  if (gcert_describe(leaf, (time_t)(now_ms / 1000), &info, &err) != GCERT_OK)
    return NULL;
  unsigned char *der = NULL;
  int n = i2d_X509(leaf, &der);
  if (n <= 0)
    return NULL;
  char *b64 = malloc(4 * (((size_t)n + 2) / 3) + 1);
  if (b64)
    EVP_EncodeBlock((unsigned char *)b64, der, n);
  OPENSSL_free(der);
  json_t *o =
      b64 ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "name", in->name,
                      "storeName", store, "format", format, "content", b64, "subject", info.subject,
                      "issuer", info.issuer, "serialNumber", info.serial_hex, "notBefore",
                      (json_int_t)info.not_before * 1000, "notAfter",
                      (json_int_t)info.not_after * 1000, "sha256Fingerprint", info.sha256_hex)
          : NULL;
  free(b64);
  if (o)
    json_object_set_new(o, "description",
                        in->description ? json_string(in->description) : json_null());
  return o;
}

/* A certificate's answer from its row. */
static json_t *cert_reply(gsim_sap_kind k, const gsim_object_row *row) {
  json_t *o = row_json(row);
  if (o)
    json_object_set_new(o, "storeType", json_string(gsim_sap_kind_word(k)));
  return o;
}

/* ---- what uses what ------------------------------------------------------------- */

/* The store value (a name or ref://<reference>) resolved now: 0 with out
 * the store's name, -1 with message (no such reference or store, or a store
 * of the other kind), -2 when the store failed. */
static int resolve(gsim *sim, const char *value, gsim_sap_kind want, char out[GSIM_SAP_STORE_MAX],
                   char *message, size_t len) {
  const char *name = value;
  json_t *ref = NULL;
  if (strncmp(value, SAP_REF_PREFIX, strlen(SAP_REF_PREFIX)) == 0) {
    const char *ref_name = value + strlen(SAP_REF_PREFIX);
    gsim_object_row row;
    memset(&row, 0, sizeof(row));
    gsim_store_status st = *ref_name
                               ? gsim_store_object_get(sim->store, SAP_KIND_REF, ref_name, &row)
                               : GSIM_STORE_NOT_FOUND;
    ref = st == GSIM_STORE_OK ? row_json(&row) : NULL;
    gsim_object_row_clear(&row);
    if (st == GSIM_STORE_NOT_FOUND) {
      snprintf(message, len, "No certificate store reference '%.255s'", ref_name);
      return -1;
    }
    name = json_string_value(json_object_get(ref, "certificateStoreName"));
    if (st != GSIM_STORE_OK || !name) {
      json_decref(ref);
      return -2;
    }
  }
  gsim_sap_kind k = GSIM_SAP_TRUST;
  int rc = 0;
  gsim_store_status st =
      gsim_sap_valid_store(name) ? store_find(sim, name, &k, NULL) : GSIM_STORE_NOT_FOUND;
  if (st == GSIM_STORE_NOT_FOUND) {
    snprintf(message, len, "No certificate store '%.128s'%s", name,
             ref ? " (the reference points at none)" : "");
    rc = -1;
  } else if (st != GSIM_STORE_OK)
    rc = -2;
  else if (k != want) {
    snprintf(message, len, "'%.128s' is a %s, not a %s", name, store_word(k), store_word(want));
    rc = -1;
  } else
    snprintf(out, GSIM_SAP_STORE_MAX, "%s", name);
  json_decref(ref);
  return rc;
}

/* A provider's TLS settings: *tls 0 when it has none (useSSL false, no or a
 * disabled sslInfo); else the trust store and key store values (NULL when
 * none) and the key alias. Borrowed from def. */
static void provider_tls(json_t *def, int *tls, const char **ts, const char **ks,
                         const char **alias) {
  json_t *ssl = json_object_get(def, "sslInfo");
  *tls = json_is_true(json_object_get(def, "useSSL")) && json_is_object(ssl) &&
         json_is_true(json_object_get(ssl, "enabled"));
  *ts = *tls ? json_string_value(json_object_get(ssl, "trustStore")) : NULL;
  int client = *tls && json_is_true(json_object_get(ssl, "clientAuthEnabled"));
  *ks = client ? json_string_value(json_object_get(ssl, "keyStore")) : NULL;
  *alias = client ? json_string_value(json_object_get(ssl, "keyAlias")) : NULL;
}

/* 1 when a provider uses the store `store` (of kind k; name: only its entry
 * name, NULL: any) - directly or through a reference - or, with store NULL,
 * names the reference `ref`; -1 on a store failure. */
static int provider_uses(gsim *sim, gsim_sap_kind k, const char *store, const char *name,
                         const char *ref) {
  gsim_object_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_object_list(sim->store, SAP_KIND_PROVIDER, NULL, &rows, &count) != GSIM_STORE_OK)
    return -1;
  int used = 0;
  for (size_t i = 0; i < count && !used; i++) {
    json_t *p = rows[i].json ? json_loads(rows[i].json, 0, NULL) : NULL;
    int tls = 0;
    const char *ts = NULL, *ks = NULL, *alias = NULL;
    provider_tls(p, &tls, &ts, &ks, &alias);
    const char *value = k == GSIM_SAP_TRUST ? ts : ks;
    if (ref) {
      char want[GSIM_SAP_NAME_MAX + 8];
      snprintf(want, sizeof(want), "%s%s", SAP_REF_PREFIX, ref);
      used = (ts && strcmp(ts, want) == 0) || (ks && strcmp(ks, want) == 0);
    } else if (value && (k == GSIM_SAP_TRUST || !name || (alias && strcmp(alias, name) == 0))) {
      char resolved[GSIM_SAP_STORE_MAX], message[300];
      int rc = resolve(sim, value, k, resolved, message, sizeof(message));
      used = rc == -2 ? -1 : rc == 0 && strcmp(resolved, store) == 0;
    }
    json_decref(p);
  }
  gsim_object_rows_free(rows, count);
  return used;
}

/* After a change: dirty the sender when a provider uses what changed (or
 * the lookup failed) and log it. */
static void note_use(gsim *sim, int used, const char *what) {
  if (used != 0) /* a failed lookup reloads to be safe */
    gsim_trust_changed(&sim->trust);
  char next[32];
  gsim_format_iso(gsim_schedule_next_ms(&sim->sender, gsim_now_ms()), next);
  if (used)
    gsim_log(sim, "INFO", "sap %s; used by an API provider: live at the next sender tick (%s)",
             what, next);
  else
    gsim_log(sim, "INFO", "sap %s", what);
}

static void note_change(gsim *sim, gsim_sap_kind k, const char *store, const char *name,
                        const char *what) {
  char text[600];
  snprintf(text, sizeof(text), "%s %s/%s %s", store_word(k), store, name, what);
  note_use(sim, provider_uses(sim, k, store, name, NULL), text);
}

/* ---- API providers as trust profiles (read by reload.c at a rebuild) ------- */

/* Adds every certificate of the sap trust store `store` to out. */
static int provider_trust(gsim *sim, const char *store, gcert_store *out, char *why,
                          size_t why_len) {
  char prefix[GSIM_OBJECT_KEY_MAX];
  snprintf(prefix, sizeof(prefix), "%s/", store);
  gsim_object_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_object_list(sim->store, SAP_KIND_TRUST, prefix, &rows, &count) != GSIM_STORE_OK) {
    snprintf(why, why_len, "store: %s", gsim_store_error(sim->store));
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    const unsigned char *p = rows[i].blob;
    X509 *cert = p ? d2i_X509(NULL, &p, (long)rows[i].blob_len) : NULL;
    gcert_error err = {0};
    if (!cert || gcert_store_add_trusted(out, NULL, cert, &err) != GCERT_OK) {
      snprintf(why, why_len, "trust store certificate '%.200s' does not load", rows[i].key);
      rc = -1;
    }
    X509_free(cert);
  }
  gsim_object_rows_free(rows, count);
  return rc;
}

/* The key store entry store/alias as an identity; a missing entry is no
 * identity (logged), not an error. */
static int provider_identity(gsim *sim, const char *provider, const char *store, const char *alias,
                             gsim_ssl_profile *slot, char *why, size_t why_len) {
  char key[GSIM_OBJECT_KEY_MAX];
  if (snprintf(key, sizeof(key), "%s/%s", store, alias) >= (int)sizeof(key)) {
    snprintf(why, why_len, "key store entry name too long");
    return -1;
  }
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  gsim_store_status st = gsim_store_object_get(sim->store, SAP_KIND_KEY, key, &row);
  if (st == GSIM_STORE_NOT_FOUND) {
    gsim_log(sim, "WARN",
             "sap API provider '%s': key store entry %s is gone: presenting no "
             "client certificate",
             provider, key);
    return 0;
  }
  if (st != GSIM_STORE_OK) {
    snprintf(why, why_len, "store: %s", gsim_store_error(sim->store));
    return -1;
  }
  gcert_store entry;
  gcert_store_init(&entry);
  gcert_error err = {0};
  int rc = -1;
  if (gcert_pem_read(row.blob, row.blob_len, NULL, &entry, &err) == GCERT_OK && entry.count == 1 &&
      entry.entries[0].key) {
    EVP_PKEY_up_ref(entry.entries[0].key);
    slot->key = entry.entries[0].key;
    slot->chain = X509_chain_up_ref(entry.entries[0].chain);
    rc = slot->chain ? 0 : -1;
  }
  if (rc)
    snprintf(why, why_len, "key store entry %.200s does not load", key);
  gcert_store_free(&entry);
  if (row.blob)
    OPENSSL_cleanse(row.blob, row.blob_len);
  gsim_object_row_clear(&row);
  return rc;
}

/* One provider into slot: 0, 1 when it has no TLS effect (nothing loaded),
 * -1 with why (the slot is then freed). References are resolved here, at the
 * provider's next use. A trust store that does not resolve (a reference
 * deleted, or naming a store since deleted) fails closed: the provider's
 * host:port keeps its slot with no trust anchor, so every handshake fails
 * (500 101500) rather than falling back to the sender trust [I: SAP does not
 * say; refusing is the safe side]. */
static int provider_load(gsim *sim, const gsim_object_row *row, gsim_ssl_profile *slot, char *why,
                         size_t why_len) {
  memset(slot, 0, sizeof(*slot));
  gcert_store_init(&slot->custom_trust);
  json_t *def = row->json ? json_loads(row->json, 0, NULL) : NULL;
  const char *host = json_string_value(json_object_get(def, "host"));
  json_int_t port = json_integer_value(json_object_get(def, "port"));
  int tls = 0;
  const char *ts_value = NULL, *ks_value = NULL, *alias = NULL;
  provider_tls(def, &tls, &ts_value, &ks_value, &alias);
  char ts[GSIM_SAP_STORE_MAX] = "", ks[GSIM_SAP_STORE_MAX] = "", ts_why[300] = "";
  int ts_unresolved = 0;
  gsim_profile_spec *spec = NULL;
  int rc = -1;
  if (!def || !host || port < 1 || port > 65535)
    snprintf(why, why_len, "its definition is unusable");
  else if (!tls)
    rc = 1;
  else if (ks_value && resolve(sim, ks_value, GSIM_SAP_KEY, ks, why, why_len) != 0)
    ; /* why says which */
  else if ((spec = calloc(1, sizeof(*spec))) == NULL)
    snprintf(why, why_len, "out of memory");
  else {
    ts_unresolved =
        ts_value && resolve(sim, ts_value, GSIM_SAP_TRUST, ts, ts_why, sizeof(ts_why)) != 0;
    slot->spec = spec;
    size_t n = strlen(host) + 16;
    spec->servers[0] = malloc(n);
    spec->verifier = GSIM_VERIFY_DEFAULT;
    if (spec->servers[0]) {
      snprintf(spec->servers[0], n, "%s:%lld", host, (long long)port);
      spec->server_count = 1;
      rc = 0;
    } else
      snprintf(why, why_len, "out of memory");
    if (rc == 0 && ts_unresolved) {
      spec->trust_store = strdup(ts_value); /* custom_trust stays empty: no anchor */
      rc = spec->trust_store ? 0 : -1;
      if (rc)
        snprintf(why, why_len, "out of memory");
      if (rc == 0)
        gsim_log(sim, "ERROR",
                 "sap API provider '%s': %s; calls to %s fail until it resolves (no trust anchor)",
                 row->key, ts_why, spec->servers[0]);
    } else if (rc == 0 && *ts) {
      spec->trust_store = strdup(ts); /* a name: the certificates are in custom_trust */
      rc = spec->trust_store ? provider_trust(sim, ts, &slot->custom_trust, why, why_len) : -1;
    }
    if (rc == 0 && *ks && alias)
      rc = provider_identity(sim, row->key, ks, alias, slot, why, why_len);
  }
  // NOLINTNEXTLINE(clang-analyzer-unix.Malloc): spec is owned by slot->spec (freed by gsim_trust_slot_free)
  json_decref(def);
  if (rc)
    gsim_trust_slot_free(slot);
  return rc;
}

size_t gsim_sap_providers_load(gsim *sim, gsim_trust *trust) {
  gsim_object_row *rows = NULL;
  size_t count = 0, loaded = 0;
  if (gsim_store_object_list(sim->store, SAP_KIND_PROVIDER, NULL, &rows, &count) != GSIM_STORE_OK) {
    gsim_log(sim, "ERROR", "sap API providers cannot be read: %s", gsim_store_error(sim->store));
    return 0;
  }
  size_t slot = trust->profile_count + 1;
  for (size_t i = 0; i < count; i++) {
    char why[300];
    if (slot >= GSIM_MAX_PROFILES) {
      gsim_log(sim, "ERROR", "sap API provider '%s' left out: no profile slot left", rows[i].key);
      continue;
    }
    int rc = provider_load(sim, &rows[i], &trust->profiles[slot], why, sizeof(why));
    if (rc < 0)
      gsim_log(sim, "ERROR", "sap API provider '%s' left out: %s", rows[i].key, why);
    if (rc != 0)
      continue;
    slot++;
    loaded++;
  }
  gsim_object_rows_free(rows, count);
  return loaded;
}

/* ---- trust store uploads ---------------------------------------------------- */

static const char *format_words(gcert_format f) {
  switch (f) {
  case GCERT_FORMAT_DER:
    return "a DER certificate (.cer/.der)";
  case GCERT_FORMAT_PKCS7:
    return "a PKCS#7 bundle";
  case GCERT_FORMAT_PKCS12:
    return "a PKCS#12 key store (.p12/.pkcs)";
  case GCERT_FORMAT_JKS:
    return "a JKS key store";
  case GCERT_FORMAT_SAPJAR:
    return "a key store JAR";
  case GCERT_FORMAT_PEM:
    return "PEM";
  default:
    return "not a certificate";
  }
}

/* The single certificate of a trust store upload under the sap-formats row
 * (*format "PEM" or "DER"); NULL with description. */
static X509 *trust_upload_cert(const gsim_rule *rule, const unsigned char *data, size_t len_in,
                               const char **format, char *description, size_t len) {
  gcert_format f = gcert_format_detect(data, len_in);
  int der_too = rule->variant == GSIM_SAP_FORMATS_2026;
  if (der_too && f == GCERT_FORMAT_DER) {
    gcert_store st;
    gcert_store_init(&st);
    gcert_error err = {0};
    X509 *cert = NULL;
    if (gcert_der_read(data, len_in, &st, &err) == GCERT_OK && st.count == 1) {
      cert = sk_X509_value(st.entries[0].chain, 0);
      X509_up_ref(cert);
      *format = "DER";
    } else
      snprintf(description, len, "The DER certificate could not be read: %s", err.message);
    gcert_store_free(&st);
    return cert;
  }
  if (f != GCERT_FORMAT_PEM) {
    snprintf(description, len, "A trust store upload takes only %s; this file is %s (rule %s)",
             der_too ? "a PEM or DER certificate" : "a PEM file", format_words(f), rule->id);
    return NULL;
  }
  *format = "PEM";
  gcert_store st;
  gcert_store_init(&st);
  gcert_error err = {0};
  gcert_status rc = gcert_pem_read(data, len_in, NULL, &st, &err);
  X509 *cert = NULL;
  if (rc == GCERT_E_NEED_PASSWORD || (rc == GCERT_OK && st.count == 1 && st.entries[0].key))
    snprintf(description, len,
             "A trust store upload takes only a PEM certificate, not a private key");
  else if (rc != GCERT_OK)
    snprintf(description, len, "The PEM file could not be read: %s", err.message);
  else if (st.count != 1)
    snprintf(description, len,
             "A trust store upload takes one PEM certificate; this file holds %zu", st.count);
  else {
    cert = sk_X509_value(st.entries[0].chain, 0);
    X509_up_ref(cert);
  }
  gcert_store_free(&st);
  return cert;
}

/* ---- key store uploads ------------------------------------------------------ */

/* The first character of password SAP lists as restricted, or 0. */
static char restricted_char(const char *password) {
  for (const char *p = password; *p; p++)
    if (strchr(SAP_RESTRICTED, *p))
      return *p;
  return 0;
}

/* Checks that chain is leaf -> intermediates -> root: each certificate is
 * issued and signed by the next. 0, or -1 with description. */
static int check_chain(STACK_OF(X509) * chain, char *description, size_t len) {
  for (int i = 0; i + 1 < sk_X509_num(chain); i++) {
    X509 *child = sk_X509_value(chain, i), *parent = sk_X509_value(chain, i + 1);
    EVP_PKEY *pub = X509_get0_pubkey(parent);
    if (X509_check_issued(parent, child) != X509_V_OK || !pub || X509_verify(child, pub) != 1) {
      char subject[128];
      X509_NAME_oneline(X509_get_subject_name(parent), subject, sizeof(subject));
      snprintf(description, len,
               "The certificate chain is not in the order leaf -> intermediate(s) -> root: "
               "certificate %d (%s) did not issue certificate %d",
               i + 2, subject, i + 1);
      return -1;
    }
  }
  return 0;
}

/* Reads a key store upload under the sap-formats row into *out (one key
 * entry); 0, or -1 with description. *format gets "JAR", "PKCS12" or "PEM". */
static int key_upload(const gsim_rule *rule, const unsigned char *data, size_t len_in,
                      const char *password, gcert_store *out, const char **format,
                      char *description, size_t len) {
  gcert_format f = gcert_format_detect(data, len_in);
  if (rule->variant == GSIM_SAP_FORMATS_2026 && f != GCERT_FORMAT_PKCS12) {
    snprintf(description, len,
             "A key store upload takes only a PKCS#12 file (.p12/.pfx); this file is %s (rule %s)",
             format_words(f), rule->id);
    return -1;
  }
  gcert_error err = {0};
  gcert_status rc;
  switch (f) {
  case GCERT_FORMAT_SAPJAR:
    *format = "JAR";
    rc = gcert_sapjar_read(data, len_in, password, out, &err);
    break;
  case GCERT_FORMAT_PKCS12: {
    *format = "PKCS12";
    if (!password) {
      snprintf(description, len, "A PKCS#12 key store (.p12/.pkcs) needs its password");
      return -1;
    }
    char c = restricted_char(password);
    if (c) {
      snprintf(description, len, "The password contains the restricted character '%c'", c);
      return -1;
    }
    rc = gcert_pkcs12_read(data, len_in, password, out, &err);
    break;
  }
  case GCERT_FORMAT_PEM:
    *format = "PEM";
    rc = gcert_pem_read(data, len_in, password, out, &err);
    break;
  case GCERT_FORMAT_DER:
  case GCERT_FORMAT_PKCS7:
    snprintf(description, len,
             "A key store needs a private key: %s holds certificates only (upload it to a trust "
             "store, or a PEM, PKCS#12 or key store JAR with the key here)",
             format_words(f));
    return -1;
  case GCERT_FORMAT_JKS:
    snprintf(description, len,
             "A JKS key store is not accepted: upload PEM, PKCS#12 (.p12/.pkcs) or a key store "
             "JAR");
    return -1;
  default:
    snprintf(description, len,
             "The file is not a key store: expected PEM, PKCS#12 (.p12/.pkcs) or a key store JAR");
    return -1;
  }
  if (rc != GCERT_OK) {
    const char *what = f == GCERT_FORMAT_SAPJAR   ? "key store JAR"
                       : f == GCERT_FORMAT_PKCS12 ? "PKCS#12 file"
                                                  : "PEM file";
    if (rc == GCERT_E_INTEGRITY || rc == GCERT_E_BAD_PASSWORD)
      snprintf(description, len, "The password of the %s is wrong", what);
    else if (rc == GCERT_E_NEED_PASSWORD)
      snprintf(description, len, "The private key of the %s is encrypted: a password is needed",
               what);
    else if (rc == GCERT_E_KEY_MISMATCH)
      snprintf(description, len, "The private key does not match the leaf certificate (%s)",
               err.message);
    else
      snprintf(description, len, "The %s could not be read: %s", what, err.message);
    return -1;
  }
  size_t keys = 0;
  for (size_t i = 0; i < out->count; i++)
    keys += out->entries[i].key != NULL;
  if (keys == 0) {
    snprintf(description, len, "A key store needs a private key: the file holds certificates only");
    return -1;
  }
  if (keys > 1) {
    snprintf(description, len, "A key store entry holds one key and its chain; this file has %zu",
             keys);
    return -1;
  }
  return 0;
}

/* ---- certificates ------------------------------------------------------------ */

#define SAP_DEEP_MAX        64   /* certificates in one deep insert */
#define SAP_DESCRIPTION_MAX 1024 /* a store's or certificate's description */

/* A certificate checked and encoded, ready to write. */
typedef struct prepared {
  gsim_object_row row;
  gcert_buf blob;
} prepared;

static void prepared_free(prepared *p) {
  free(p->row.json);
  p->row.json = NULL;
  p->row.blob = NULL;
  gcert_buf_cleanse_free(&p->blob);
}

/* The client's format words each detected format answers to. */
static int format_matches(const char *client, const char *detected) {
  static const struct {
    const char *word, *format;
  } words[] = {{"PEM", "PEM"},    {"DER", "DER"},       {"CER", "DER"},    {"CER", "PEM"},
               {"P12", "PKCS12"}, {"PKCS12", "PKCS12"}, {"PFX", "PKCS12"}, {"JAR", "JAR"}};
  int known = 0;
  for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
    if (strcasecmp(client, words[i].word) != 0)
      continue;
    known = 1;
    if (!detected || strcmp(detected, words[i].format) == 0)
      return 1;
  }
  return known ? 0 : -1;
}

static int printable_text(const char *s, size_t max) {
  size_t n = strlen(s);
  return n < max && gsim_printable_utf8((const unsigned char *)s, n);
}

/* Checks in for store/k under the profile's sap-formats row and encodes it
 * into out; 0, or -1 with message. */
static int prepare(gsim *sim, gsim_sap_kind k, const char *store, const gsim_sap_cert_in *in,
                   int64_t now, prepared *out, char *message, size_t len) {
  memset(out, 0, sizeof(*out));
  char key[GSIM_OBJECT_KEY_MAX];
  if (check_name("certificate", in->name, 1, message, len) != 0)
    return -1;
  if (entry_key(key, store, in->name) != 0) {
    snprintf(message, len, "The store and certificate names are too long");
    return -1;
  }
  if (in->format && format_matches(in->format, NULL) < 0) {
    snprintf(message, len, "Unknown format '%.32s': PEM, DER, CER, P12, PKCS12, PFX or JAR",
             in->format);
    return -1;
  }
  if (in->description && !printable_text(in->description, SAP_DESCRIPTION_MAX)) {
    snprintf(message, len, "The description must be printable UTF-8 of at most 1023 bytes");
    return -1;
  }
  if (!in->data || in->len == 0) {
    snprintf(message, len, "The certificate content should be provided");
    return -1;
  }
  if (in->len > GCERT_MAX_INPUT) {
    snprintf(message, len, "The content is %zu bytes; the limit is %zu", in->len,
             (size_t)GCERT_MAX_INPUT);
    return -1;
  }
  const gsim_rule *rule = gsim_rule_of(sim->opt, GSIM_RF_SAP_FORMATS);
  const char *format = NULL;
  json_t *desc = NULL;
  if (k == GSIM_SAP_TRUST) {
    X509 *cert = trust_upload_cert(rule, in->data, in->len, &format, message, len);
    if (cert && gsim_cert_expired(cert, now))
      snprintf(message, len, "%s", SAP_EXPIRED);
    else if (cert) {
      gcert_error err = {0};
      desc = describe(cert, store, in, format, now);
      if (!desc || gcert_der_write(cert, &out->blob, &err) != GCERT_OK) {
        json_decref(desc);
        desc = NULL;
        snprintf(message, len, "The certificate could not be encoded");
      }
    }
    X509_free(cert);
  } else {
    gcert_store st;
    gcert_store_init(&st);
    if (key_upload(rule, in->data, in->len, in->password, &st, &format, message, len) == 0) {
      gcert_entry *e = NULL;
      for (size_t i = 0; i < st.count && !e; i++)
        if (st.entries[i].key)
          e = &st.entries[i];
      X509 *leaf = e ? sk_X509_value(e->chain, 0) : NULL;
      if (!e)
        snprintf(message, len, "A key store needs a private key");
      else if (check_chain(e->chain, message, len) == 0) {
        if (X509_check_private_key(leaf, e->key) != 1)
          snprintf(message, len, "The private key does not match the leaf certificate");
        else if (gsim_cert_expired(leaf, now))
          snprintf(message, len, "%s", SAP_EXPIRED);
        else {
          gcert_store one;
          gcert_store_init(&one);
          gcert_error err = {0};
          desc = describe(leaf, store, in, format, now);
          if (desc && gcert_store_add_key(&one, NULL, e->key, e->chain, &err) == GCERT_OK &&
              gcert_pem_write(&one, NULL, &out->blob, &err) == GCERT_OK)
            json_object_set_new(desc, "chainLength", json_integer(sk_X509_num(e->chain)));
          else {
            json_decref(desc);
            desc = NULL;
            snprintf(message, len, "The key store entry could not be encoded");
          }
          gcert_store_free(&one);
        }
      }
    }
    gcert_store_free(&st);
  }
  if (desc && in->format && format_matches(in->format, format) == 0) {
    snprintf(message, len, "The format '%s' does not match the content (%s)", in->format, format);
    json_decref(desc);
    desc = NULL;
  }
  if (!desc) {
    gcert_buf_cleanse_free(&out->blob);
    return -1;
  }
  snprintf(out->row.kind, sizeof(out->row.kind), "%s", kind_of(k));
  snprintf(out->row.key, sizeof(out->row.key), "%s", key);
  out->row.created_ms = out->row.updated_ms = now;
  out->row.json = json_dumps(desc, JSON_COMPACT);
  out->row.blob = out->blob.data;
  out->row.blob_len = out->blob.len;
  json_decref(desc);
  if (!out->row.json) {
    prepared_free(out);
    snprintf(message, len, "out of memory");
    return -1;
  }
  return 0;
}

/* The number of certificates of store (kind k); -1 when the store fails. */
static long cert_count(gsim *sim, gsim_sap_kind k, const char *store) {
  char prefix[GSIM_SAP_STORE_MAX + 1];
  if (snprintf(prefix, sizeof(prefix), "%s/", store) >= (int)sizeof(prefix))
    return -1; /* store names are checked shorter: not a store of this simulator */
  gsim_object_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_object_list(sim->store, kind_of(k), prefix, &rows, &count) != GSIM_STORE_OK)
    return -1;
  gsim_object_rows_free(rows, count);
  return (long)count;
}

/* A store's answer: its object with certificateCount; NULL when the store fails. */
static json_t *store_reply(gsim *sim, const gsim_object_row *row) {
  json_t *o = row_json(row);
  gsim_sap_kind k = GSIM_SAP_TRUST;
  if (!o || gsim_sap_kind_parse(json_string_value(json_object_get(o, "storeType")), &k) != 0) {
    json_decref(o);
    return NULL;
  }
  long n = cert_count(sim, k, row->key);
  if (n < 0) {
    json_decref(o);
    return NULL;
  }
  json_object_set_new(o, "certificateCount", json_integer(n));
  return o;
}

gsim_sap_status gsim_sap_stores(gsim *sim, json_t **list) {
  gsim_object_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_object_list(sim->store, SAP_KIND_STORE, NULL, &rows, &count) != GSIM_STORE_OK)
    return GSIM_SAP_FAILED;
  *list = json_array();
  int failed = 0;
  for (size_t i = 0; i < count && !failed; i++) {
    json_t *s = store_reply(sim, &rows[i]);
    failed = !s;
    json_array_append_new(*list, s);
  }
  gsim_object_rows_free(rows, count);
  if (failed) {
    json_decref(*list);
    *list = NULL;
    return GSIM_SAP_FAILED;
  }
  return GSIM_SAP_OK;
}

gsim_sap_status gsim_sap_store_get(gsim *sim, const char *name, json_t **store, gsim_sap_why *why) {
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  gsim_store_status st = gsim_sap_valid_store(name)
                             ? gsim_store_object_get(sim->store, SAP_KIND_STORE, name, &row)
                             : GSIM_STORE_NOT_FOUND;
  *store = st == GSIM_STORE_OK ? store_reply(sim, &row) : NULL;
  gsim_object_row_clear(&row);
  if (st == GSIM_STORE_NOT_FOUND)
    return refuse(why, 404, CODE_NO_STORE, "No certificate store '%.128s'", name);
  return *store ? GSIM_SAP_OK : GSIM_SAP_FAILED;
}

gsim_sap_status gsim_sap_store_create(gsim *sim, const char *name, gsim_sap_kind k,
                                      const char *description, const gsim_sap_cert_in *certs,
                                      size_t count, gsim_sap_why *why) {
  if (!gsim_sap_valid_store(name))
    return refuse(why, 400, CODE_INVALID,
                  "A store name is 1 to 128 characters of A-Z a-z 0-9 . _ -");
  if (description && !printable_text(description, SAP_DESCRIPTION_MAX))
    return refuse(why, 400, CODE_INVALID,
                  "The description must be printable UTF-8 of at most 1023 bytes");
  if (count > SAP_DEEP_MAX)
    return refuse(why, 400, CODE_INVALID, "At most %d certificates can be created at once",
                  SAP_DEEP_MAX);
  gsim_sap_kind have = GSIM_SAP_TRUST;
  gsim_store_status st = store_find(sim, name, &have, NULL);
  if (st == GSIM_STORE_OK)
    return refuse(why, 400, "CERTIFICATE_STORE_NAME_DUPLICATION_ERROR",
                  "A certificate store named '%s' already exists (a %s). Provide a different "
                  "name, or add certificates to it through its certificates",
                  name, store_word(have));
  if (st != GSIM_STORE_NOT_FOUND)
    return GSIM_SAP_FAILED;
  prepared *p = calloc(count ? count : 1, sizeof(*p));
  if (!p)
    return GSIM_SAP_FAILED;
  int64_t now = gsim_now_ms();
  gsim_sap_status rc = GSIM_SAP_OK;
  size_t ready = 0;
  for (size_t i = 0; i < count && rc == GSIM_SAP_OK; i++) {
    for (size_t j = 0; j < i && rc == GSIM_SAP_OK; j++)
      if (certs[i].name && certs[j].name && strcmp(certs[i].name, certs[j].name) == 0)
        rc = refuse(why, 400, CODE_CERT, "The certificate name '%s' appears twice", certs[i].name);
    char message[400];
    if (rc == GSIM_SAP_OK &&
        prepare(sim, k, name, &certs[i], now, &p[i], message, sizeof(message)) != 0)
      rc = refuse(why, 400, CODE_CERT, "Certificate '%.255s': %s",
                  certs[i].name ? certs[i].name : "", message);
    else if (rc == GSIM_SAP_OK)
      ready++;
  }
  size_t written = 0;
  for (size_t i = 0; i < ready && rc == GSIM_SAP_OK; i++) {
    int replaced = 0;
    if (gsim_store_object_upsert(sim->store, &p[i].row, &replaced) != GSIM_STORE_OK)
      rc = GSIM_SAP_FAILED;
    else
      written++;
  }
  if (rc == GSIM_SAP_OK) {
    gsim_object_row row;
    memset(&row, 0, sizeof(row));
    snprintf(row.kind, sizeof(row.kind), "%s", SAP_KIND_STORE);
    snprintf(row.key, sizeof(row.key), "%s", name);
    row.created_ms = row.updated_ms = now;
    json_t *o = json_pack("{s:s, s:s}", "name", name, "storeType", gsim_sap_kind_word(k));
    json_object_set_new(o, "description", description ? json_string(description) : json_null());
    row.json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!row.json || gsim_store_object_insert(sim->store, &row) != GSIM_STORE_OK)
      rc = GSIM_SAP_FAILED;
    free(row.json);
  }
  if (rc == GSIM_SAP_FAILED) /* what was written goes again */
    for (size_t i = 0; i < written; i++)
      (void)gsim_store_object_delete(sim->store, p[i].row.kind, p[i].row.key);
  for (size_t i = 0; i < count; i++)
    prepared_free(&p[i]);
  free(p);
  if (rc == GSIM_SAP_OK) {
    sim->sap->uploads += count;
    gsim_log(sim, "INFO", "sap %s %s created with %zu certificate(s)", store_word(k), name, count);
  }
  return rc;
}

/* The first reference pointing at store into out (""); -1 when the store fails. */
static int store_referenced(gsim *sim, const char *store, char out[GSIM_SAP_NAME_MAX]) {
  gsim_object_row *rows = NULL;
  size_t count = 0;
  *out = '\0';
  if (gsim_store_object_list(sim->store, SAP_KIND_REF, NULL, &rows, &count) != GSIM_STORE_OK)
    return -1;
  for (size_t i = 0; i < count && !*out; i++) {
    json_t *r = rows[i].json ? json_loads(rows[i].json, 0, NULL) : NULL;
    const char *target = json_string_value(json_object_get(r, "certificateStoreName"));
    if (target && strcmp(target, store) == 0)
      snprintf(out, GSIM_SAP_NAME_MAX, "%.255s", rows[i].key);
    json_decref(r);
  }
  gsim_object_rows_free(rows, count);
  return 0;
}

gsim_sap_status gsim_sap_store_delete(gsim *sim, const char *name, gsim_sap_why *why) {
  gsim_sap_kind k = GSIM_SAP_TRUST;
  gsim_store_status st =
      gsim_sap_valid_store(name) ? store_find(sim, name, &k, NULL) : GSIM_STORE_NOT_FOUND;
  if (st == GSIM_STORE_NOT_FOUND)
    return refuse(why, 404, CODE_NO_STORE, "No certificate store '%.128s'", name);
  if (st != GSIM_STORE_OK)
    return GSIM_SAP_FAILED;
  int used = provider_uses(sim, k, name, NULL, NULL);
  char ref[GSIM_SAP_NAME_MAX];
  if (used < 0 || store_referenced(sim, name, ref) != 0)
    return GSIM_SAP_FAILED;
  if (used)
    return refuse(why, 400, "CERTIFICATE_STORE_IN_USE",
                  "The certificate store '%s' is used by an API provider", name);
  if (*ref)
    return refuse(why, 400, "CERTIFICATE_STORE_IN_USE",
                  "The certificate store '%s' is named by the certificate store reference '%s'",
                  name, ref);
  char prefix[GSIM_SAP_STORE_MAX + 1];
  snprintf(prefix, sizeof(prefix), "%s/", name);
  if (gsim_store_object_delete_prefix(sim->store, kind_of(k), prefix, NULL) != GSIM_STORE_OK ||
      gsim_store_object_delete(sim->store, SAP_KIND_STORE, name) != GSIM_STORE_OK)
    return GSIM_SAP_FAILED;
  gsim_log(sim, "INFO", "sap %s %s deleted with its certificates", store_word(k), name);
  return GSIM_SAP_OK;
}

/* Appends the certificates of kind k under prefix (NULL: all) to list; -1
 * when the store fails. */
static int certs_of(gsim *sim, gsim_sap_kind k, const char *prefix, json_t *list) {
  gsim_object_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_object_list(sim->store, kind_of(k), prefix, &rows, &count) != GSIM_STORE_OK)
    return -1;
  int rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    json_t *c = cert_reply(k, &rows[i]);
    rc = c ? 0 : -1;
    json_array_append_new(list, c);
  }
  gsim_object_rows_free(rows, count);
  return rc;
}

gsim_sap_status gsim_sap_certs(gsim *sim, const char *store, json_t **list, gsim_sap_why *why) {
  *list = json_array();
  int rc;
  if (store) {
    gsim_sap_kind k = GSIM_SAP_TRUST;
    gsim_store_status st =
        gsim_sap_valid_store(store) ? store_find(sim, store, &k, NULL) : GSIM_STORE_NOT_FOUND;
    if (st == GSIM_STORE_NOT_FOUND) {
      json_decref(*list);
      *list = NULL;
      return refuse(why, 404, CODE_NO_STORE, "No certificate store '%.128s'", store);
    }
    char prefix[GSIM_SAP_STORE_MAX + 1];
    snprintf(prefix, sizeof(prefix), "%s/", store);
    rc = st == GSIM_STORE_OK ? certs_of(sim, k, prefix, *list) : -1;
  } else
    rc = certs_of(sim, GSIM_SAP_TRUST, NULL, *list) || certs_of(sim, GSIM_SAP_KEY, NULL, *list);
  if (rc) {
    json_decref(*list);
    *list = NULL;
    return GSIM_SAP_FAILED;
  }
  return GSIM_SAP_OK;
}

/* The store of a certificate call: OK with *k, or REFUSED (404) / FAILED. */
static gsim_sap_status cert_store(gsim *sim, const char *store, gsim_sap_kind *k,
                                  gsim_sap_why *why) {
  gsim_store_status st =
      gsim_sap_valid_store(store) ? store_find(sim, store, k, NULL) : GSIM_STORE_NOT_FOUND;
  if (st == GSIM_STORE_NOT_FOUND)
    return refuse(why, 404, CODE_NO_STORE, "No certificate store '%.128s'", store);
  return st == GSIM_STORE_OK ? GSIM_SAP_OK : GSIM_SAP_FAILED;
}

gsim_sap_status gsim_sap_cert_get(gsim *sim, const char *store, const char *name, json_t **cert,
                                  gsim_sap_why *why) {
  gsim_sap_kind k = GSIM_SAP_TRUST;
  gsim_sap_status s = cert_store(sim, store, &k, why);
  char key[GSIM_OBJECT_KEY_MAX];
  if (s != GSIM_SAP_OK)
    return s;
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  gsim_store_status st = entry_key(key, store, name) == 0
                             ? gsim_store_object_get(sim->store, kind_of(k), key, &row)
                             : GSIM_STORE_NOT_FOUND;
  *cert = st == GSIM_STORE_OK ? cert_reply(k, &row) : NULL;
  gsim_object_row_clear(&row);
  if (st == GSIM_STORE_NOT_FOUND)
    return refuse(why, 404, CODE_NO_CERT, "No certificate '%.255s' in the store '%s'", name, store);
  return *cert ? GSIM_SAP_OK : GSIM_SAP_FAILED;
}

gsim_sap_status gsim_sap_cert_put(gsim *sim, const char *store, const gsim_sap_cert_in *in,
                                  int *replaced, gsim_sap_why *why) {
  gsim_sap_kind k = GSIM_SAP_TRUST;
  gsim_sap_status s = cert_store(sim, store, &k, why);
  if (s != GSIM_SAP_OK)
    return s;
  prepared p;
  char message[400];
  if (prepare(sim, k, store, in, gsim_now_ms(), &p, message, sizeof(message)) != 0) {
    gsim_log(sim, "WARN", "sap %s %s: certificate '%s' refused: %s", store_word(k), store,
             in->name ? in->name : "", message);
    return refuse(why, 400, CODE_CERT, "%s", message);
  }
  *replaced = 0;
  gsim_store_status st = gsim_store_object_upsert(sim->store, &p.row, replaced);
  prepared_free(&p);
  if (st != GSIM_STORE_OK)
    return GSIM_SAP_FAILED;
  sim->sap->uploads++;
  sim->sap->overwrites += *replaced != 0;
  note_change(sim, k, store, in->name, *replaced ? "overwritten" : "added");
  return GSIM_SAP_OK;
}

gsim_sap_status gsim_sap_cert_delete(gsim *sim, const char *store, const char *name,
                                     gsim_sap_why *why) {
  gsim_sap_kind k = GSIM_SAP_TRUST;
  gsim_sap_status s = cert_store(sim, store, &k, why);
  char key[GSIM_OBJECT_KEY_MAX];
  if (s != GSIM_SAP_OK)
    return s;
  gsim_store_status st = entry_key(key, store, name) == 0
                             ? gsim_store_object_delete(sim->store, kind_of(k), key)
                             : GSIM_STORE_NOT_FOUND;
  if (st == GSIM_STORE_NOT_FOUND)
    return refuse(why, 404, CODE_NO_CERT, "No certificate '%.255s' in the store '%s'", name, store);
  if (st != GSIM_STORE_OK)
    return GSIM_SAP_FAILED;
  note_change(sim, k, store, name, "deleted");
  return GSIM_SAP_OK;
}

/* ---- store references -------------------------------------------------------- */

/* A reference's answer: its object with the store's type (null when the
 * store is gone); NULL when the store fails. */
static json_t *ref_reply(gsim *sim, const gsim_object_row *row) {
  json_t *o = row_json(row);
  const char *target = json_string_value(json_object_get(o, "certificateStoreName"));
  gsim_sap_kind k = GSIM_SAP_TRUST;
  gsim_store_status st = target && gsim_sap_valid_store(target) ? store_find(sim, target, &k, NULL)
                                                                : GSIM_STORE_NOT_FOUND;
  if (!o || (st != GSIM_STORE_OK && st != GSIM_STORE_NOT_FOUND)) {
    json_decref(o);
    return NULL;
  }
  json_object_set_new(o, "storeType",
                      st == GSIM_STORE_OK ? json_string(gsim_sap_kind_word(k)) : json_null());
  return o;
}

gsim_sap_status gsim_sap_refs(gsim *sim, json_t **list) {
  gsim_object_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_object_list(sim->store, SAP_KIND_REF, NULL, &rows, &count) != GSIM_STORE_OK)
    return GSIM_SAP_FAILED;
  *list = json_array();
  int failed = 0;
  for (size_t i = 0; i < count && !failed; i++) {
    json_t *r = ref_reply(sim, &rows[i]);
    failed = !r;
    json_array_append_new(*list, r);
  }
  gsim_object_rows_free(rows, count);
  if (failed) {
    json_decref(*list);
    *list = NULL;
    return GSIM_SAP_FAILED;
  }
  return GSIM_SAP_OK;
}

#define NO_SUCH_REF                                                                                \
  "No such certificate store reference exists. Please check the certificate store reference "      \
  "name and try again."

gsim_sap_status gsim_sap_ref_get(gsim *sim, const char *name, json_t **ref, gsim_sap_why *why) {
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  gsim_store_status st = gsim_store_object_get(sim->store, SAP_KIND_REF, name, &row);
  *ref = st == GSIM_STORE_OK ? ref_reply(sim, &row) : NULL;
  gsim_object_row_clear(&row);
  if (st == GSIM_STORE_NOT_FOUND)
    return refuse(why, 404, CODE_NO_REF, NO_SUCH_REF);
  return *ref ? GSIM_SAP_OK : GSIM_SAP_FAILED;
}

/* Writes reference name -> store (created_ms kept by an update). */
static gsim_sap_status ref_write(gsim *sim, const char *name, const char *store, int update) {
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  snprintf(row.kind, sizeof(row.kind), "%s", SAP_KIND_REF);
  snprintf(row.key, sizeof(row.key), "%s", name);
  row.created_ms = row.updated_ms = gsim_now_ms();
  json_t *o = json_pack("{s:s, s:s}", "name", name, "certificateStoreName", store);
  row.json = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  int replaced = 0;
  gsim_store_status st = !row.json ? GSIM_STORE_ERROR
                         : update  ? gsim_store_object_upsert(sim->store, &row, &replaced)
                                   : gsim_store_object_insert(sim->store, &row);
  free(row.json);
  return st == GSIM_STORE_OK ? GSIM_SAP_OK : GSIM_SAP_FAILED;
}

gsim_sap_status gsim_sap_ref_create(gsim *sim, const char *name, const char *store,
                                    gsim_sap_why *why) {
  char message[300];
  if (check_name("reference", name, 0, message, sizeof(message)) != 0)
    return refuse(why, 400, CODE_INVALID, "%s", message);
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  gsim_store_status st = gsim_store_object_get(sim->store, SAP_KIND_REF, name, &row);
  gsim_object_row_clear(&row);
  if (st == GSIM_STORE_OK)
    return refuse(why, 400, "CERTIFICATE_STORE_REFERENCE_NAME_DUPLICATION_ERROR",
                  "A certificate store reference already exists with the same name. Please "
                  "provide a different name and try creating again.");
  if (st != GSIM_STORE_NOT_FOUND)
    return GSIM_SAP_FAILED;
  gsim_sap_kind k = GSIM_SAP_TRUST;
  st = gsim_sap_valid_store(store) ? store_find(sim, store, &k, NULL) : GSIM_STORE_NOT_FOUND;
  if (st == GSIM_STORE_NOT_FOUND)
    return refuse(why, 400,
                  "CERTIFICATE_STORE_REFERENCE_CREATE_FAILED_LINKED_CERTIFICATE_STORE_VALIDATION_"
                  "ERROR",
                  "The certificate store reference cannot be created as the certificate store "
                  "name provided is invalid. Provide a correct certificate store name and try "
                  "creating again.");
  if (st != GSIM_STORE_OK || ref_write(sim, name, store, 0) != GSIM_SAP_OK)
    return GSIM_SAP_FAILED;
  gsim_log(sim, "INFO", "sap certificate store reference '%s' -> %s %s created", name,
           store_word(k), store);
  return GSIM_SAP_OK;
}

gsim_sap_status gsim_sap_ref_update(gsim *sim, const char *name, const char *store,
                                    gsim_sap_why *why) {
  json_t *old = NULL;
  gsim_sap_status s = gsim_sap_ref_get(sim, name, &old, why);
  if (s == GSIM_SAP_REFUSED) /* SAP answers 400 here */
    return refuse(why, 400, CODE_NO_REF, NO_SUCH_REF);
  if (s != GSIM_SAP_OK)
    return s;
  const char *old_type = json_string_value(json_object_get(old, "storeType"));
  gsim_sap_kind k = GSIM_SAP_TRUST;
  gsim_store_status st =
      gsim_sap_valid_store(store) ? store_find(sim, store, &k, NULL) : GSIM_STORE_NOT_FOUND;
  int other_type = st == GSIM_STORE_OK && old_type && strcmp(old_type, gsim_sap_kind_word(k)) != 0;
  json_decref(old);
  if (st == GSIM_STORE_NOT_FOUND || other_type) {
    char message[300];
    if (other_type)
      snprintf(message, sizeof(message),
               "the certificate store '%.128s' is a %s, the reference points at a %s", store,
               store_word(k), store_word(k == GSIM_SAP_TRUST ? GSIM_SAP_KEY : GSIM_SAP_TRUST));
    else
      snprintf(message, sizeof(message), "the certificate store name '%.128s' provided is invalid",
               store);
    return refuse(why, 400,
                  "CERTIFICATE_STORE_REFERENCE_UPDATE_FAILED_LINKED_CERTIFICATE_STORE_VALIDATION_"
                  "ERROR",
                  "The certificate store reference cannot be updated as %s. Please provide a "
                  "correct certificate store name and try again.",
                  message);
  }
  if (st != GSIM_STORE_OK || ref_write(sim, name, store, 1) != GSIM_SAP_OK)
    return GSIM_SAP_FAILED;
  char text[600];
  snprintf(text, sizeof(text), "certificate store reference '%s' now -> %s", name, store);
  note_use(sim, provider_uses(sim, k, NULL, NULL, name), text);
  return GSIM_SAP_OK;
}

gsim_sap_status gsim_sap_ref_delete(gsim *sim, const char *name, gsim_sap_why *why) {
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  gsim_store_status st = gsim_store_object_get(sim->store, SAP_KIND_REF, name, &row);
  gsim_object_row_clear(&row);
  if (st == GSIM_STORE_NOT_FOUND)
    return refuse(why, 400, CODE_NO_REF, NO_SUCH_REF);
  if (st != GSIM_STORE_OK)
    return GSIM_SAP_FAILED;
  int used = provider_uses(sim, GSIM_SAP_TRUST, NULL, NULL, name);
  if (used < 0)
    return GSIM_SAP_FAILED;
  if (used)
    return refuse(why, 400, "CERTIFICATE_STORE_REFERENCE_IN_USE",
                  "The certificate store reference '%s' is used by an API provider", name);
  if (gsim_store_object_delete(sim->store, SAP_KIND_REF, name) != GSIM_STORE_OK)
    return GSIM_SAP_FAILED;
  gsim_log(sim, "INFO", "sap certificate store reference '%s' deleted", name);
  return GSIM_SAP_OK;
}

/* ---- API providers ---------------------------------------------------------- */

/* A host as it may appear in an endpoint URL: a name, IPv4 or bracketed IPv6. */
static int valid_host(const char *h) { return made_of(h, GSIM_SAP_HOST_MAX, ".-_:[]"); }

/* How many providers the trust generation can hold beside the configured
 * SSL profiles (reload.c puts provider i at profile slot profile_count+1+i). */
static size_t provider_capacity(const gsim *sim) {
  size_t used = sim->opt->profile_count + 1;
  return used < GSIM_MAX_PROFILES ? GSIM_MAX_PROFILES - used : 0;
}

/* 1 when key is one of keys (a NULL-terminated list). */
static int one_of(const char *key, const char *const *keys) {
  for (; *keys; keys++)
    if (strcmp(key, *keys) == 0)
      return 1;
  return 0;
}

/* An optional string member: 0 with *out (NULL when absent, null or ""), -1
 * when it is another type. */
static int opt_string(json_t *o, const char *key, const char **out) {
  json_t *v = json_object_get(o, key);
  *out = json_string_value(v);
  if (*out && !**out)
    *out = NULL;
  return v && !json_is_null(v) && !json_is_string(v) ? -1 : 0;
}

/* An optional boolean member: 0 with *out (dflt when absent or null), -1
 * when it is another type. */
static int opt_bool(json_t *o, const char *key, int dflt, int *out) {
  json_t *v = json_object_get(o, key);
  *out = json_is_boolean(v) ? json_is_true(v) : dflt;
  return v && !json_is_null(v) && !json_is_boolean(v) ? -1 : 0;
}

/* 1 when v is absent, null, "" or []: a list of ciphers or protocols that
 * changes nothing. */
static int empty_list(json_t *v) {
  return !v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v)) ||
         (json_is_array(v) && json_array_size(v) == 0);
}

/* The store value (a name or ref://) of a provider checked now; 0, or
 * REFUSED/FAILED. */
static gsim_sap_status check_store_value(gsim *sim, const char *field, const char *value,
                                         gsim_sap_kind k, char out[GSIM_SAP_STORE_MAX],
                                         gsim_sap_why *why) {
  char message[300];
  int rc = resolve(sim, value, k, out, message, sizeof(message));
  if (rc == -2)
    return GSIM_SAP_FAILED;
  if (rc)
    return refuse(why, 400, CODE_PROVIDER, "sslInfo.%s: %s", field, message);
  return GSIM_SAP_OK;
}

/* Checks in (path_name: PUT's key, NULL for POST) into *out, normalised. */
static gsim_sap_status provider_check(gsim *sim, json_t *in, const char *path_name, json_t **out,
                                      gsim_sap_why *why) {
  static const char *const keys[] = {
      "name",     "title",      "description", "destType",   "host",       "port", "useSSL",
      "trustAll", "pathPrefix", "sslInfo",     "__metadata", "life_cycle", NULL};
  static const char *const ssl_keys[] = {"enabled",  "clientAuthEnabled", "keyStore",
                                         "keyAlias", "trustStore",        "ignoreValidationErrors",
                                         "ciphers",  "protocols",         "__metadata",
                                         NULL};
  const char *k;
  json_t *v;
  json_object_foreach(in, k, v) {
    if (!one_of(k, keys))
      return refuse(why, 400, CODE_INVALID, "Unknown property '%.64s' of an APIProvider", k);
  }
  json_t *ssl = json_object_get(in, "sslInfo");
  if (ssl && !json_is_null(ssl) && !json_is_object(ssl))
    return refuse(why, 400, CODE_INVALID, "'sslInfo' must be an object");
  if (json_is_object(ssl))
    json_object_foreach(ssl, k, v) {
      if (!one_of(k, ssl_keys))
        return refuse(why, 400, CODE_INVALID, "Unknown property '%.64s' of sslInfo", k);
    }
  const char *name, *title, *description, *dest, *host, *prefix, *ts, *ks, *alias;
  int use_ssl, trust_all, enabled, client, ignore;
  if (opt_string(in, "name", &name) || opt_string(in, "title", &title) ||
      opt_string(in, "description", &description) || opt_string(in, "destType", &dest) ||
      opt_string(in, "host", &host) || opt_string(in, "pathPrefix", &prefix) ||
      opt_bool(in, "useSSL", 0, &use_ssl) || opt_bool(in, "trustAll", 0, &trust_all) ||
      opt_string(ssl, "trustStore", &ts) || opt_string(ssl, "keyStore", &ks) ||
      opt_string(ssl, "keyAlias", &alias) || opt_bool(ssl, "enabled", 0, &enabled) ||
      opt_bool(ssl, "clientAuthEnabled", 0, &client) ||
      opt_bool(ssl, "ignoreValidationErrors", 0, &ignore))
    return refuse(why, 400, CODE_INVALID,
                  "A property of the APIProvider has the wrong type (strings, booleans, port an "
                  "integer)");
  if (path_name && name && strcmp(name, path_name) != 0)
    return refuse(why, 400, CODE_INVALID, "The name in the body ('%.255s') is not the key's", name);
  if (path_name)
    name = path_name;
  char message[300];
  if (!name)
    return refuse(why, 400, CODE_INVALID, "'name' is required");
  if (check_name("API provider", name, 0, message, sizeof(message)) != 0)
    return refuse(why, 400, CODE_INVALID, "%s", message);
  if ((title && !printable_text(title, SAP_DESCRIPTION_MAX)) ||
      (description && !printable_text(description, SAP_DESCRIPTION_MAX)) ||
      (prefix && !printable_text(prefix, SAP_DESCRIPTION_MAX)))
    return refuse(why, 400, CODE_INVALID,
                  "title, description and pathPrefix are printable UTF-8 of at most 1023 bytes");
  if (dest && strcmp(dest, "INTERNET") != 0)
    return refuse(why, 400, CODE_PROVIDER,
                  "destType '%.32s' is not imitated: only INTERNET providers are", dest);
  if (!host || !valid_host(host))
    return refuse(why, 400, CODE_PROVIDER, "'host' must be a host name or IP address");
  json_t *port_v = json_object_get(in, "port");
  if (!json_is_integer(port_v) || json_integer_value(port_v) < 1 ||
      json_integer_value(port_v) > 65535)
    return refuse(why, 400, CODE_PROVIDER, "'port' must be an integer from 1 to 65535");
  if (trust_all)
    return refuse(why, 400, CODE_PROVIDER,
                  "trustAll true is not imitated by the simulator: name a trust store instead");
  if (ignore)
    return refuse(why, 400, CODE_PROVIDER,
                  "sslInfo.ignoreValidationErrors true is not imitated by the simulator");
  if (!empty_list(json_object_get(ssl, "ciphers")) ||
      !empty_list(json_object_get(ssl, "protocols")))
    return refuse(why, 400, CODE_PROVIDER,
                  "sslInfo.ciphers and sslInfo.protocols are not imitated: leave them empty");
  if (client && (!ks || !alias))
    return refuse(why, 400, CODE_PROVIDER, "sslInfo.clientAuthEnabled needs keyStore and keyAlias");
  if (alias && check_name("key alias", alias, 0, message, sizeof(message)) != 0)
    return refuse(why, 400, CODE_PROVIDER, "%s", message);
  if ((ts && strlen(ts) >= GSIM_SAP_NAME_MAX + 8) || (ks && strlen(ks) >= GSIM_SAP_NAME_MAX + 8))
    return refuse(why, 400, CODE_PROVIDER, "A store name or reference is too long");
  int tls = use_ssl && enabled;
  char resolved[GSIM_SAP_STORE_MAX];
  gsim_sap_status s = GSIM_SAP_OK;
  if (tls && ts &&
      (s = check_store_value(sim, "trustStore", ts, GSIM_SAP_TRUST, resolved, why)) ==
          GSIM_SAP_OK) {
    long n = cert_count(sim, GSIM_SAP_TRUST, resolved);
    if (n < 0)
      return GSIM_SAP_FAILED;
    if (n == 0)
      return refuse(why, 400, CODE_PROVIDER, "sslInfo.trustStore: '%s' holds no certificate",
                    resolved);
  }
  if (s != GSIM_SAP_OK)
    return s;
  if (tls && client &&
      (s = check_store_value(sim, "keyStore", ks, GSIM_SAP_KEY, resolved, why)) == GSIM_SAP_OK) {
    char key[GSIM_OBJECT_KEY_MAX];
    gsim_object_row row;
    memset(&row, 0, sizeof(row));
    gsim_store_status st = entry_key(key, resolved, alias) == 0
                               ? gsim_store_object_get(sim->store, SAP_KIND_KEY, key, &row)
                               : GSIM_STORE_NOT_FOUND;
    gsim_object_row_clear(&row);
    if (st == GSIM_STORE_NOT_FOUND)
      return refuse(why, 400, CODE_PROVIDER, "sslInfo.keyAlias: the key store '%s' has no '%s'",
                    resolved, alias);
    if (st != GSIM_STORE_OK)
      return GSIM_SAP_FAILED;
  }
  if (s != GSIM_SAP_OK)
    return s;
  /* one provider per host:port, within what a generation can hold */
  gsim_object_row *rows = NULL;
  size_t count = 0, others = 0;
  if (gsim_store_object_list(sim->store, SAP_KIND_PROVIDER, NULL, &rows, &count) != GSIM_STORE_OK)
    return GSIM_SAP_FAILED;
  for (size_t i = 0; i < count && s == GSIM_SAP_OK; i++) {
    if (strcmp(rows[i].key, name) == 0)
      continue;
    others++;
    json_t *p = rows[i].json ? json_loads(rows[i].json, 0, NULL) : NULL;
    const char *h = json_string_value(json_object_get(p, "host"));
    if (h && strcasecmp(h, host) == 0 &&
        json_integer_value(json_object_get(p, "port")) == json_integer_value(port_v))
      s = refuse(why, 409, "APIPROVIDER_HOST_PORT_TAKEN",
                 "API provider '%.255s' already serves %s:%lld", rows[i].key, host,
                 (long long)json_integer_value(port_v));
    json_decref(p);
  }
  gsim_object_rows_free(rows, count);
  if (s != GSIM_SAP_OK)
    return s;
  if (others >= provider_capacity(sim))
    return refuse(why, 400, CODE_PROVIDER, "At most %zu API providers can be registered",
                  provider_capacity(sim));
  json_t *o =
      json_pack("{s:s, s:s, s:s, s:I, s:b, s:b}", "name", name, "destType", "INTERNET", "host",
                host, "port", json_integer_value(port_v), "useSSL", use_ssl, "trustAll", 0);
  json_object_set_new(o, "title", title ? json_string(title) : json_null());
  json_object_set_new(o, "description", description ? json_string(description) : json_null());
  json_object_set_new(o, "pathPrefix", prefix ? json_string(prefix) : json_null());
  json_t *so = json_pack("{s:b, s:b, s:b}", "enabled", enabled, "clientAuthEnabled", client,
                         "ignoreValidationErrors", 0);
  json_object_set_new(so, "trustStore", ts ? json_string(ts) : json_null());
  json_object_set_new(so, "keyStore", ks ? json_string(ks) : json_null());
  json_object_set_new(so, "keyAlias", alias ? json_string(alias) : json_null());
  json_object_set_new(so, "ciphers", json_null());
  json_object_set_new(so, "protocols", json_null());
  json_object_set_new(o, "sslInfo", so);
  *out = o;
  return GSIM_SAP_OK;
}

gsim_sap_status gsim_sap_providers(gsim *sim, json_t **list) {
  gsim_object_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_object_list(sim->store, SAP_KIND_PROVIDER, NULL, &rows, &count) != GSIM_STORE_OK)
    return GSIM_SAP_FAILED;
  *list = json_array();
  for (size_t i = 0; i < count; i++) {
    json_t *p = row_json(&rows[i]);
    if (p)
      json_array_append_new(*list, p);
  }
  gsim_object_rows_free(rows, count);
  return GSIM_SAP_OK;
}

gsim_sap_status gsim_sap_provider_get(gsim *sim, const char *name, json_t **def,
                                      gsim_sap_why *why) {
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  gsim_store_status st = gsim_store_object_get(sim->store, SAP_KIND_PROVIDER, name, &row);
  *def = st == GSIM_STORE_OK ? row_json(&row) : NULL;
  gsim_object_row_clear(&row);
  if (st == GSIM_STORE_NOT_FOUND)
    return refuse(why, 404, CODE_NO_PROVIDER, "No API provider '%.255s'", name);
  return *def ? GSIM_SAP_OK : GSIM_SAP_FAILED;
}

gsim_sap_status gsim_sap_provider_put(gsim *sim, json_t *in, const char *path_name, json_t **def,
                                      gsim_sap_why *why) {
  json_t *checked = NULL;
  gsim_sap_status s = provider_check(sim, in, path_name, &checked, why);
  if (s != GSIM_SAP_OK)
    return s;
  const char *name = json_string_value(json_object_get(checked, "name"));
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  gsim_store_status st = gsim_store_object_get(sim->store, SAP_KIND_PROVIDER, name, &row);
  gsim_object_row_clear(&row);
  if (st != GSIM_STORE_OK && st != GSIM_STORE_NOT_FOUND)
    s = GSIM_SAP_FAILED;
  else if (!path_name && st == GSIM_STORE_OK)
    s = refuse(why, 409, "APIPROVIDER_ALREADY_EXISTS", "An API provider named '%s' already exists",
               name);
  else if (path_name && st == GSIM_STORE_NOT_FOUND)
    s = refuse(why, 404, CODE_NO_PROVIDER, "No API provider '%.255s'", name);
  if (s != GSIM_SAP_OK) {
    json_decref(checked);
    return s;
  }
  int64_t now = gsim_now_ms();
  snprintf(row.kind, sizeof(row.kind), "%s", SAP_KIND_PROVIDER);
  snprintf(row.key, sizeof(row.key), "%s", name);
  row.json = json_dumps(checked, JSON_COMPACT);
  row.created_ms = row.updated_ms = now;
  int replaced = 0;
  st = row.json ? gsim_store_object_upsert(sim->store, &row, &replaced) : GSIM_STORE_ERROR;
  free(row.json);
  if (st != GSIM_STORE_OK) {
    json_decref(checked);
    return GSIM_SAP_FAILED;
  }
  gsim_trust_changed(&sim->trust);
  char next[32];
  gsim_format_iso(gsim_schedule_next_ms(&sim->sender, now), next);
  gsim_log(sim, "INFO", "sap API provider '%s' %s for %s:%lld; live at the next sender tick (%s)",
           name, replaced ? "replaced" : "created",
           json_string_value(json_object_get(checked, "host")),
           (long long)json_integer_value(json_object_get(checked, "port")), next);
  json_object_set_new(checked, "createdMs", json_integer(now));
  json_object_set_new(checked, "updatedMs", json_integer(now));
  *def = checked;
  return GSIM_SAP_OK;
}

gsim_sap_status gsim_sap_provider_delete(gsim *sim, const char *name, gsim_sap_why *why) {
  gsim_store_status rc = gsim_store_object_delete(sim->store, SAP_KIND_PROVIDER, name);
  if (rc == GSIM_STORE_NOT_FOUND)
    return refuse(why, 404, CODE_NO_PROVIDER, "No API provider '%.255s'", name);
  if (rc != GSIM_STORE_OK)
    return GSIM_SAP_FAILED;
  gsim_trust_changed(&sim->trust);
  gsim_log(sim, "INFO", "sap API provider '%s' deleted; effective at the next sender tick", name);
  return GSIM_SAP_OK;
}

/* ---- the service key's access --------------------------------------------------- */

/* 32 random bytes in hex; -1 when the generator fails. */
static int random_hex(char out[GSIM_SAP_SECRET_HEX]) {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1)
    return -1;
  for (size_t i = 0; i < sizeof(bytes); i++)
    snprintf(out + 2 * i, 3, "%02x", bytes[i]);
  OPENSSL_cleanse(bytes, sizeof(bytes));
  return 0;
}

/* A free slot of set (expired or never used), else the one expiring first. */
static sap_secret *slot_of(sap_secret *set, size_t n, int64_t now) {
  sap_secret *best = &set[0];
  for (size_t i = 0; i < n; i++) {
    if (set[i].expires_ms <= now)
      return &set[i];
    if (set[i].expires_ms < best->expires_ms)
      best = &set[i];
  }
  return best;
}

/* 1 when a and b are the same secret (constant time over the hex length). */
static int same_secret(const char *a, const char *b) {
  return strlen(a) == GSIM_SAP_SECRET_HEX - 1 && strlen(b) == GSIM_SAP_SECRET_HEX - 1 &&
         CRYPTO_memcmp(a, b, GSIM_SAP_SECRET_HEX - 1) == 0;
}

int gsim_sap_token_issue(gsim *sim, char token[GSIM_SAP_SECRET_HEX], long *expires_s) {
  int64_t now = gsim_now_ms();
  sap_secret *s = slot_of(sim->sap->tokens, SAP_TOKENS, now);
  if (random_hex(s->value) != 0)
    return -1;
  s->session[0] = '\0';
  s->expires_ms = now + SAP_TOKEN_LIFE_S * 1000;
  snprintf(token, GSIM_SAP_SECRET_HEX, "%s", s->value);
  *expires_s = SAP_TOKEN_LIFE_S;
  return 0;
}

int gsim_sap_token_valid(gsim *sim, const char *token) {
  int64_t now = gsim_now_ms();
  int ok = 0;
  for (size_t i = 0; i < SAP_TOKENS; i++)
    ok |= sim->sap->tokens[i].expires_ms > now && same_secret(sim->sap->tokens[i].value, token);
  return ok;
}

int gsim_sap_csrf_issue(gsim *sim, const char *session, char session_out[GSIM_SAP_SECRET_HEX],
                        char token[GSIM_SAP_SECRET_HEX]) {
  int64_t now = gsim_now_ms();
  sap_secret *s = NULL;
  for (size_t i = 0; session && i < SAP_SESSIONS && !s; i++)
    if (sim->sap->sessions[i].expires_ms > now &&
        same_secret(sim->sap->sessions[i].session, session))
      s = &sim->sap->sessions[i];
  if (!s) {
    s = slot_of(sim->sap->sessions, SAP_SESSIONS, now);
    if (random_hex(s->session) != 0 || random_hex(s->value) != 0) {
      s->expires_ms = 0;
      return -1;
    }
  }
  s->expires_ms = now + SAP_SESSION_LIFE_S * 1000;
  snprintf(session_out, GSIM_SAP_SECRET_HEX, "%s", s->session);
  snprintf(token, GSIM_SAP_SECRET_HEX, "%s", s->value);
  return 0;
}

int gsim_sap_csrf_valid(gsim *sim, const char *session, const char *token) {
  int64_t now = gsim_now_ms();
  for (size_t i = 0; i < SAP_SESSIONS; i++) {
    const sap_secret *s = &sim->sap->sessions[i];
    if (s->expires_ms > now && same_secret(s->session, session))
      return same_secret(s->value, token);
  }
  return 0;
}
