/* sap.c - the sap profile's trust stores, key stores and API providers.
 *
 * SAP API Management keeps certificates in named stores of two kinds (trust
 * stores: certificates; key stores: a key with its chain), and associates
 * them with an API provider (a backend) at its registration. The admin
 * routes (/sap/v1/truststores, /sap/v1/keystores, /sap/v1/api-providers)
 * are admin_sap.c's; this file keeps the store kinds, the upload and
 * provider rules, the operations admin_sap.c calls (sap.h) and the loading
 * of providers into trust slots.
 *
 * Upload rules (seed 004; README.md, "The `sap` profile's stores"):
 *
 *   - A name is 1..255 bytes of printable UTF-8 and may not start with the
 *     reserved prefixes sap_, hcicertificate, hcimsgcertificate (any case).
 *     A name that exists is overwritten (200; 201 for a new one): SAP's rule.
 *   - A trust store takes one PEM certificate only; DER, PKCS#7, PKCS#12, JKS,
 *     JAR and PEM with a private key are 400 saying so.
 *   - A key store takes, detected by content: a key store JAR (one chain,
 *     leaf -> intermediates -> root, plus its key), PKCS#12 (password needed,
 *     and refused with a 400 naming the character when it holds one SAP lists
 *     as restricted), PEM with the chain and a private key (an ENCRYPTED
 *     PRIVATE KEY with `password`). A certificate alone (.cer/.der) is 400: a
 *     key store needs a private key. The chain is checked in order: each
 *     certificate is issued and signed by the next (X509_check_issued and
 *     X509_verify); a wrong order is a 400 naming the position. The key must
 *     match the leaf.
 *   - An expired certificate (the leaf for key stores) cannot be uploaded, on
 *     the process clock (fake under libfaketime).
 *   Every refusal is a 400 with a specific description and changes nothing.
 *
 * Persistence is the store's objects (store.h), each written in one
 * transaction before the answer:
 *
 *   sap_truststore_cert  key "<store>/<name>"  json: description  blob: DER
 *   sap_keystore_entry   key "<store>/<name>"  json: description  blob: PEM
 *                        chain (leaf first) + unencrypted PKCS#8 key (the
 *                        store file is 0600; the key is never answered)
 *   sap_api_provider     key "<name>"          json: the provider as posted
 *
 * Store names are 1..128 of [A-Za-z0-9._-], so "<store>/" is an exact prefix.
 *
 * Backend association: a provider maps host:port to its trust store (every
 * certificate an anchor; without one, the sender trust) and its key store
 * entry, presented as the gateway's client certificate (2-way SSL to the API
 * provider). Like every sender trust change, this takes effect at the next
 * sender reload tick: a change to a provider, or to a trust store or key
 * store entry a provider uses, marks the sender trust changed
 * (gsim_trust_changed), and reload.c has gsim_sap_providers_load() read the
 * providers from the store (this file's kinds) when it builds a generation (trust.c gives them
 * their own SSL contexts, matched before the configured SSL profiles). A
 * restart builds its first generation from the store, providers included.
 * A node of a cluster (--node) notices another node's change to these kinds
 * by a SHA-256 of them all (gsim_sap_sync, called by reload.c): any
 * difference marks the sender trust changed, used by a provider or not.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "multipart.h"
#include "sap.h"
#include "sim.h"

#define SAP_KIND_TRUST    "sap_truststore_cert"
#define SAP_KIND_KEY      "sap_keystore_entry"
#define SAP_KIND_PROVIDER "sap_api_provider"
#define SAP_RESTRICTED    "!%^&#:/?[]@$'()*+,;="
#define SAP_EXPIRED       "An expired certificate cannot be uploaded"

struct gsim_sap {
  unsigned char seen[32]; /* --node: SHA-256 of the three kinds as last known (gsim_sap_sync) */
  uint64_t uploads;       /* accepted uploads (new or overwrite) */
  uint64_t overwrites;    /* of which overwrote an existing name */
  uint64_t refused;       /* uploads answered 400 */
};

static const char *kind_of(gsim_sap_kind k) {
  return k == GSIM_SAP_TRUST ? SAP_KIND_TRUST : SAP_KIND_KEY;
}
static const char *store_word(gsim_sap_kind k) {
  return k == GSIM_SAP_TRUST ? "trust store" : "key store";
}

/* SHA-256 of every object of the three kinds (kind, key, json, blob): 0, or
 * -1 on a store failure. All zero when OpenSSL fails (the next comparison
 * then differs: a reload is the safe side). */
static int sap_digest(gsim *sim, unsigned char out[32]) {
  static const char *const kinds[] = {SAP_KIND_TRUST, SAP_KIND_KEY, SAP_KIND_PROVIDER};
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
  free(sim->sap);
  sim->sap = NULL;
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

/* Checks a certificate or provider name; 0, or -1 with description filled. */
int gsim_sap_check_name(const char *name, int reserved_rule, char *description, size_t len) {
  size_t n = strlen(name);
  if (n == 0 || n >= GSIM_SAP_NAME_MAX || !gsim_printable_utf8((const unsigned char *)name, n)) {
    snprintf(description, len, "The name must be printable UTF-8 of 1 to 255 bytes");
    return -1;
  }
  const char *prefix = reserved_rule ? reserved_prefix(name) : NULL;
  if (prefix) {
    snprintf(description, len, "The name '%s' starts with the reserved prefix '%s'", name, prefix);
    return -1;
  }
  return 0;
}

int gsim_sap_entry_key(char out[GSIM_OBJECT_KEY_MAX], const char *store, const char *name) {
  int n = snprintf(out, GSIM_OBJECT_KEY_MAX, "%s/%s", store, name);
  return n < 0 || n >= GSIM_OBJECT_KEY_MAX ? -1 : 0;
}

static json_t *iso_seconds(json_int_t s) {
  char text[32];
  gsim_format_iso((int64_t)s * 1000, text);
  return json_string(text);
}

/* ---- multipart forms -------------------------------------------------------- */

/* ---- certificate descriptions ----------------------------------------------- */

/* What GET answers about an entry, kept in the object's json: the leaf's
 * names, serial, validity (epoch seconds) and fingerprint. */
static json_t *describe(X509 *leaf, const char *store, const char *name, int64_t now_ms) {
  gcert_info info;
  gcert_error err = {0};
  if (gcert_describe(leaf, (time_t)(now_ms / 1000), &info, &err) != GCERT_OK)
    return NULL;
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "store", store, "name", name,
                   "subject", info.subject, "issuer", info.issuer, "serialNumber", info.serial_hex,
                   "notBefore", (json_int_t)info.not_before, "notAfter", (json_int_t)info.not_after,
                   "sha256Fingerprint", info.sha256_hex);
}

/* The reply for a stored entry: its description with ISO validity and the
 * status on the process clock now. */
static json_t *entry_reply(const gsim_object_row *row) {
  json_t *in = row->json ? json_loads(row->json, 0, NULL) : NULL;
  if (!in)
    return json_pack("{s:s}", "key", row->key);
  json_int_t nb = json_integer_value(json_object_get(in, "notBefore"));
  json_int_t na = json_integer_value(json_object_get(in, "notAfter"));
  json_int_t now = (json_int_t)(gsim_now_ms() / 1000);
  json_t *out = json_deep_copy(in);
  json_decref(in);
  if (!out)
    return NULL;
  json_object_del(out, "notBefore");
  json_object_del(out, "notAfter");
  json_object_set_new(out, "validFrom", iso_seconds(nb));
  json_object_set_new(out, "validTo", iso_seconds(na));
  json_object_set_new(out, "status",
                      json_string(now > na   ? "expired"
                                  : now < nb ? "not yet valid"
                                             : "valid"));
  char created[32], updated[32];
  gsim_format_iso(row->created_ms, created);
  gsim_format_iso(row->updated_ms, updated);
  json_object_set_new(out, "createdAt", json_string(created));
  json_object_set_new(out, "updatedAt", json_string(updated));
  return out;
}

/* ---- which providers use what ----------------------------------------------- */

/* 1 when a provider uses the trust store `store` (kind GSIM_SAP_TRUST), or the key
 * store entry store/name (kind GSIM_SAP_KEY); -1 on a store failure. */
static int provider_uses(gsim *sim, gsim_sap_kind k, const char *store, const char *name) {
  gsim_object_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_object_list(sim->store, SAP_KIND_PROVIDER, NULL, &rows, &count) != GSIM_STORE_OK)
    return -1;
  int used = 0;
  for (size_t i = 0; i < count && !used; i++) {
    json_t *p = rows[i].json ? json_loads(rows[i].json, 0, NULL) : NULL;
    if (!p)
      continue;
    if (k == GSIM_SAP_TRUST) {
      const char *ts = json_string_value(json_object_get(p, "trustStore"));
      used = ts && strcmp(ts, store) == 0;
    } else {
      const char *ks = json_string_value(json_object_get(p, "keyStore"));
      const char *alias = json_string_value(json_object_get(p, "keyAlias"));
      used = ks && alias && strcmp(ks, store) == 0 && (!name || strcmp(alias, name) == 0);
    }
    json_decref(p);
  }
  gsim_object_rows_free(rows, count);
  return used;
}

/* After a change to store/name: dirty the sender when a provider uses it. */
static void note_change(gsim *sim, gsim_sap_kind k, const char *store, const char *name,
                        const char *what, int64_t now) {
  int used = provider_uses(sim, k, store, name);
  if (used != 0) /* a failed lookup reloads to be safe */
    gsim_trust_changed(&sim->trust);
  char next[32];
  gsim_format_iso(gsim_schedule_next_ms(&sim->sender, now), next);
  if (used)
    gsim_log(sim, "INFO",
             "sap %s %s/%s %s; used by an API provider: live at the next sender tick "
             "(%s)",
             store_word(k), store, name, what, next);
  else
    gsim_log(sim, "INFO", "sap %s %s/%s %s", store_word(k), store, name, what);
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

/* One provider into slot; -1 with why (the slot is then freed). */
static int provider_load(gsim *sim, const gsim_object_row *row, gsim_ssl_profile *slot, char *why,
                         size_t why_len) {
  memset(slot, 0, sizeof(*slot));
  gcert_store_init(&slot->custom_trust);
  json_t *def = row->json ? json_loads(row->json, 0, NULL) : NULL;
  const char *host = json_string_value(json_object_get(def, "host"));
  json_int_t port = json_integer_value(json_object_get(def, "port"));
  const char *ts = json_string_value(json_object_get(def, "trustStore"));
  const char *ks = json_string_value(json_object_get(def, "keyStore"));
  const char *alias = json_string_value(json_object_get(def, "keyAlias"));
  gsim_profile_spec *spec = calloc(1, sizeof(*spec));
  int rc = -1;
  if (!def || !host || port < 1 || port > 65535)
    snprintf(why, why_len, "its definition is unusable");
  else if (!spec)
    snprintf(why, why_len, "out of memory");
  else {
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
    if (rc == 0 && ts) {
      spec->trust_store = strdup(ts); /* a name: the certificates are in custom_trust */
      rc = spec->trust_store ? provider_trust(sim, ts, &slot->custom_trust, why, why_len) : -1;
    }
    if (rc == 0 && ks && alias)
      rc = provider_identity(sim, row->key, ks, alias, slot, why, why_len);
  }
  if (!slot->spec)
    free(spec);
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
    char why[256];
    if (slot >= GSIM_MAX_PROFILES) {
      gsim_log(sim, "ERROR", "sap API provider '%s' left out: no profile slot left", rows[i].key);
      continue;
    }
    if (provider_load(sim, &rows[i], &trust->profiles[slot], why, sizeof(why)) != 0) {
      gsim_log(sim, "ERROR", "sap API provider '%s' left out: %s", rows[i].key, why);
      continue;
    }
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

/* The single certificate of a trust store upload; NULL with description. */
static X509 *trust_upload_cert(const gsim_mp_part *file, char *description, size_t len) {
  gcert_format f = gcert_format_detect(file->data, file->len);
  if (f != GCERT_FORMAT_PEM) {
    snprintf(description, len, "A trust store upload takes only a PEM file; this file is %s",
             format_words(f));
    return NULL;
  }
  gcert_store st;
  gcert_store_init(&st);
  gcert_error err = {0};
  gcert_status rc = gcert_pem_read(file->data, file->len, NULL, &st, &err);
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

/* Reads a key store upload into *out (one key entry); 0, or -1 with
 * description. *format gets "jar", "pkcs12" or "pem". */
static int key_upload(const gsim_mp_part *file, const char *password, gcert_store *out,
                      const char **format, char *description, size_t len) {
  gcert_format f = gcert_format_detect(file->data, file->len);
  gcert_error err = {0};
  gcert_status rc;
  switch (f) {
  case GCERT_FORMAT_SAPJAR:
    *format = "jar";
    rc = gcert_sapjar_read(file->data, file->len, password, out, &err);
    break;
  case GCERT_FORMAT_PKCS12: {
    *format = "pkcs12";
    if (!password) {
      snprintf(description, len, "A PKCS#12 key store (.p12/.pkcs) needs its password");
      return -1;
    }
    char c = restricted_char(password);
    if (c) {
      snprintf(description, len, "The password contains the restricted character '%c'", c);
      return -1;
    }
    rc = gcert_pkcs12_read(file->data, file->len, password, out, &err);
    break;
  }
  case GCERT_FORMAT_PEM:
    *format = "pem";
    rc = gcert_pem_read(file->data, file->len, password, out, &err);
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

/* ---- API providers ---------------------------------------------------------- */

/* A host as it may appear in an endpoint URL: a name, IPv4 or bracketed IPv6. */
static int valid_host(const char *h) { return made_of(h, GSIM_SAP_HOST_MAX, ".-_:[]"); }

/* How many providers the trust generation can hold beside the configured
 * SSL profiles (reload.c puts provider i at profile slot profile_count+1+i). */
static size_t provider_capacity(const gsim *sim) {
  size_t used = sim->opt->profile_count + 1;
  return used < GSIM_MAX_PROFILES ? GSIM_MAX_PROFILES - used : 0;
}

/* Validates a provider definition; 0, or -1 with the status (400/409) and
 * description. out gets the normalised definition (new reference). */
int gsim_sap_provider_check(gsim *sim, json_t *in, json_t **out, int *status, char *description,
                            size_t len) {
  *status = 400;
  if (!json_is_object(in)) {
    snprintf(description, len, "The body must be a JSON object");
    return -1;
  }
  const char *k;
  json_t *v;
  json_object_foreach(in, k, v) {
    if (strcmp(k, "name") != 0 && strcmp(k, "host") != 0 && strcmp(k, "port") != 0 &&
        strcmp(k, "trustStore") != 0 && strcmp(k, "keyStore") != 0 && strcmp(k, "keyAlias") != 0 &&
        strcmp(k, "description") != 0) {
      snprintf(description, len, "Unknown field '%.64s'", k);
      return -1;
    }
  }
  const char *name = json_string_value(json_object_get(in, "name"));
  const char *host = json_string_value(json_object_get(in, "host"));
  json_t *port_v = json_object_get(in, "port");
  json_t *ts_v = json_object_get(in, "trustStore");
  json_t *ks_v = json_object_get(in, "keyStore");
  json_t *alias_v = json_object_get(in, "keyAlias");
  const char *ts = json_string_value(ts_v), *ks = json_string_value(ks_v),
             *alias = json_string_value(alias_v);
  if (!name || gsim_sap_check_name(name, 0, description, len) != 0) {
    if (!name)
      snprintf(description, len, "'name' is required (a string)");
    return -1;
  }
  if (!host || !valid_host(host)) {
    snprintf(description, len, "'host' must be a host name or IP address");
    return -1;
  }
  if (!json_is_integer(port_v) || json_integer_value(port_v) < 1 ||
      json_integer_value(port_v) > 65535) {
    snprintf(description, len, "'port' must be an integer from 1 to 65535");
    return -1;
  }
  if ((ts_v && !json_is_null(ts_v) && (!ts || !gsim_sap_valid_store(ts))) ||
      (ks_v && !json_is_null(ks_v) && (!ks || !gsim_sap_valid_store(ks)))) {
    snprintf(description, len, "A store name is 1 to 128 characters of A-Z a-z 0-9 . _ -");
    return -1;
  }
  if ((ks != NULL) != (alias != NULL) || (alias_v && !json_is_null(alias_v) && !alias)) {
    snprintf(description, len, "'keyStore' and 'keyAlias' go together");
    return -1;
  }
  if (alias && gsim_sap_check_name(alias, 0, description, len) != 0)
    return -1;
  json_t *desc = json_object_get(in, "description");
  if (desc && !json_is_string(desc)) {
    snprintf(description, len, "'description' must be a string");
    return -1;
  }
  /* what it names must exist */
  if (ts) {
    char prefix[GSIM_SAP_STORE_MAX + 1];
    snprintf(prefix, sizeof(prefix), "%s/", ts);
    gsim_object_row *rows = NULL;
    size_t count = 0;
    if (gsim_store_object_list(sim->store, SAP_KIND_TRUST, prefix, &rows, &count) !=
        GSIM_STORE_OK) {
      *status = 500;
      return -1;
    }
    gsim_object_rows_free(rows, count);
    if (count == 0) {
      snprintf(description, len, "Trust store '%s' holds no certificate", ts);
      return -1;
    }
  }
  if (ks) {
    char key[GSIM_OBJECT_KEY_MAX];
    gsim_object_row row;
    memset(&row, 0, sizeof(row));
    gsim_store_status rc = gsim_sap_entry_key(key, ks, alias) == 0
                               ? gsim_store_object_get(sim->store, SAP_KIND_KEY, key, &row)
                               : GSIM_STORE_NOT_FOUND;
    gsim_object_row_clear(&row);
    if (rc == GSIM_STORE_NOT_FOUND) {
      snprintf(description, len, "Key store '%s' has no entry '%s'", ks, alias);
      return -1;
    }
    if (rc != GSIM_STORE_OK) {
      *status = 500;
      return -1;
    }
  }
  /* one provider per host:port, within what a generation can hold */
  gsim_object_row *rows = NULL;
  size_t count = 0, others = 0;
  if (gsim_store_object_list(sim->store, SAP_KIND_PROVIDER, NULL, &rows, &count) != GSIM_STORE_OK) {
    *status = 500;
    return -1;
  }
  int clash = 0;
  for (size_t i = 0; i < count && !clash; i++) {
    if (strcmp(rows[i].key, name) == 0)
      continue;
    others++;
    json_t *p = rows[i].json ? json_loads(rows[i].json, 0, NULL) : NULL;
    const char *h = json_string_value(json_object_get(p, "host"));
    clash = h && strcasecmp(h, host) == 0 &&
            json_integer_value(json_object_get(p, "port")) == json_integer_value(port_v);
    if (clash)
      snprintf(description, len, "API provider '%.255s' already serves %s:%lld", rows[i].key, host,
               (long long)json_integer_value(port_v));
    json_decref(p);
  }
  gsim_object_rows_free(rows, count);
  if (clash) {
    *status = 409;
    return -1;
  }
  if (others >= provider_capacity(sim)) {
    snprintf(description, len, "At most %zu API providers can be registered",
             provider_capacity(sim));
    return -1;
  }
  *out =
      json_pack("{s:s, s:s, s:I}", "name", name, "host", host, "port", json_integer_value(port_v));
  if (ts)
    json_object_set_new(*out, "trustStore", json_string(ts));
  if (ks) {
    json_object_set_new(*out, "keyStore", json_string(ks));
    json_object_set_new(*out, "keyAlias", json_string(alias));
  }
  if (desc)
    json_object_set(*out, "description", desc);
  return 0;
}

/* ---- the admin API's operations (sap.h) ------------------------------------ */

gsim_sap_status gsim_sap_entry_put(gsim *sim, gsim_sap_kind k, const char *store, const char *name,
                                   const char *key, const gsim_mp_part *file, const char *password,
                                   json_t **reply, int *was_replaced, char *description,
                                   size_t len) {
  int64_t now = gsim_now_ms();
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  snprintf(row.kind, sizeof(row.kind), "%s", kind_of(k));
  snprintf(row.key, sizeof(row.key), "%s", key);
  row.created_ms = row.updated_ms = now;
  json_t *desc = NULL;
  gcert_buf blob = {0};
  int failed = 1;
  if (k == GSIM_SAP_TRUST) {
    X509 *cert = trust_upload_cert(file, description, len);
    if (cert && gsim_cert_expired(cert, now))
      snprintf(description, len, "%s", SAP_EXPIRED);
    else if (cert) {
      unsigned char *der = NULL;
      int n = i2d_X509(cert, &der);
      desc = n > 0 ? describe(cert, store, name, now) : NULL;
      if (desc) {
        blob.data = der;
        blob.len = (size_t)n;
        der = NULL;
        failed = 0;
      } else
        snprintf(description, len, "The certificate could not be encoded");
      OPENSSL_free(der);
    }
    X509_free(cert);
  } else {
    gcert_store st;
    gcert_store_init(&st);
    const char *format = "?";
    if (key_upload(file, password, &st, &format, description, len) == 0) {
      gcert_entry *e = NULL;
      for (size_t i = 0; i < st.count && !e; i++)
        if (st.entries[i].key)
          e = &st.entries[i];
      X509 *leaf = e ? sk_X509_value(e->chain, 0) : NULL;
      if (!e)
        snprintf(description, len, "A key store needs a private key");
      else if (check_chain(e->chain, description, len) == 0) {
        if (X509_check_private_key(leaf, e->key) != 1)
          snprintf(description, len, "The private key does not match the leaf certificate");
        else if (gsim_cert_expired(leaf, now))
          snprintf(description, len, "%s", SAP_EXPIRED);
        else {
          gcert_store one;
          gcert_store_init(&one);
          gcert_error err = {0};
          desc = describe(leaf, store, name, now);
          if (desc && gcert_store_add_key(&one, NULL, e->key, e->chain, &err) == GCERT_OK &&
              gcert_pem_write(&one, NULL, &blob, &err) == GCERT_OK) {
            json_t *subjects = json_array();
            for (int i = 0; i < sk_X509_num(e->chain); i++) {
              char subject[256];
              X509_NAME_oneline(X509_get_subject_name(sk_X509_value(e->chain, i)), subject,
                                sizeof(subject));
              json_array_append_new(subjects, json_string(subject));
            }
            json_object_set_new(desc, "format", json_string(format));
            json_object_set_new(desc, "chainLength", json_integer(sk_X509_num(e->chain)));
            json_object_set_new(desc, "chain", subjects);
            failed = 0;
          } else
            snprintf(description, len, "The key store entry could not be encoded");
          gcert_store_free(&one);
        }
      }
    }
    gcert_store_free(&st);
  }
  if (failed) {
    json_decref(desc);
    gcert_buf_cleanse_free(&blob);
    gsim_log(sim, "WARN", "sap %s %s: upload of '%s' refused: %s", store_word(k), store, name,
             description);
    return GSIM_SAP_REFUSED;
  }
  row.json = json_dumps(desc, JSON_COMPACT);
  row.blob = blob.data;
  row.blob_len = blob.len;
  int replaced = 0;
  gsim_store_status rc =
      row.json ? gsim_store_object_upsert(sim->store, &row, &replaced) : GSIM_STORE_ERROR;
  free(row.json);
  gcert_buf_cleanse_free(&blob);
  if (rc != GSIM_STORE_OK) {
    json_decref(desc);
    return GSIM_SAP_FAILED;
  }
  sim->sap->uploads++;
  sim->sap->overwrites += replaced != 0;
  note_change(sim, k, store, name, replaced ? "overwritten" : "added", now);
  /* answer with what the store now holds, read back */
  gsim_object_row stored;
  memset(&stored, 0, sizeof(stored));
  *reply = NULL;
  if (gsim_store_object_get(sim->store, kind_of(k), key, &stored) == GSIM_STORE_OK)
    *reply = entry_reply(&stored);
  gsim_object_row_clear(&stored);
  json_decref(desc);
  *was_replaced = replaced;
  return GSIM_SAP_OK;
}

gsim_sap_status gsim_sap_entries(gsim *sim, gsim_sap_kind k, const char *store, json_t **list) {
  char prefix[GSIM_SAP_STORE_MAX + 1];
  snprintf(prefix, sizeof(prefix), "%s/", store);
  gsim_object_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_object_list(sim->store, kind_of(k), prefix, &rows, &count) != GSIM_STORE_OK)
    return GSIM_SAP_FAILED;
  *list = json_array();
  for (size_t i = 0; i < count; i++) {
    json_t *e = entry_reply(&rows[i]);
    if (e)
      json_array_append_new(*list, e);
  }
  gsim_object_rows_free(rows, count);
  return GSIM_SAP_OK;
}

gsim_sap_status gsim_sap_entry_get(gsim *sim, gsim_sap_kind k, const char *key, json_t **reply) {
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  gsim_store_status rc = gsim_store_object_get(sim->store, kind_of(k), key, &row);
  if (rc == GSIM_STORE_NOT_FOUND)
    return GSIM_SAP_NOT_FOUND;
  if (rc != GSIM_STORE_OK)
    return GSIM_SAP_FAILED;
  *reply = entry_reply(&row);
  gsim_object_row_clear(&row);
  return GSIM_SAP_OK;
}

gsim_sap_status gsim_sap_entry_delete(gsim *sim, gsim_sap_kind k, const char *store,
                                      const char *name, const char *key) {
  gsim_store_status rc = gsim_store_object_delete(sim->store, kind_of(k), key);
  if (rc == GSIM_STORE_NOT_FOUND)
    return GSIM_SAP_NOT_FOUND;
  if (rc != GSIM_STORE_OK)
    return GSIM_SAP_FAILED;
  note_change(sim, k, store, name, "deleted", gsim_now_ms());
  return GSIM_SAP_OK;
}

gsim_sap_status gsim_sap_stores(gsim *sim, gsim_sap_kind k, json_t **list) {
  gsim_object_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_object_list(sim->store, kind_of(k), NULL, &rows, &count) != GSIM_STORE_OK)
    return GSIM_SAP_FAILED;
  *list = json_array();
  json_t *seen = json_object(); /* store -> its object in list */
  for (size_t i = 0; i < count; i++) {
    const char *slash = strchr(rows[i].key, '/');
    if (!slash)
      continue;
    char store[GSIM_SAP_STORE_MAX];
    snprintf(store, sizeof(store), "%.*s", (int)(slash - rows[i].key), rows[i].key);
    json_t *s = json_object_get(seen, store);
    if (!s) {
      s = json_pack("{s:s, s:I}", "name", store, "certificateCount", (json_int_t)0);
      json_array_append_new(*list, s);
      json_object_set(seen, store, s);
    }
    json_t *n = json_object_get(s, "certificateCount");
    json_integer_set(n, json_integer_value(n) + 1);
  }
  json_decref(seen);
  gsim_object_rows_free(rows, count);
  return GSIM_SAP_OK;
}

gsim_sap_status gsim_sap_provider_put(gsim *sim, json_t *def, int *replaced) {
  int64_t now = gsim_now_ms();
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  snprintf(row.kind, sizeof(row.kind), "%s", SAP_KIND_PROVIDER);
  snprintf(row.key, sizeof(row.key), "%s", json_string_value(json_object_get(def, "name")));
  row.json = json_dumps(def, JSON_COMPACT);
  row.created_ms = row.updated_ms = now;
  *replaced = 0;
  gsim_store_status st =
      row.json ? gsim_store_object_upsert(sim->store, &row, replaced) : GSIM_STORE_ERROR;
  free(row.json);
  if (st != GSIM_STORE_OK)
    return GSIM_SAP_FAILED;
  gsim_trust_changed(&sim->trust);
  char next[32];
  gsim_format_iso(gsim_schedule_next_ms(&sim->sender, now), next);
  gsim_log(sim, "INFO", "sap API provider '%s' %s for %s:%lld; live at the next sender tick (%s)",
           row.key, *replaced ? "overwritten" : "added",
           json_string_value(json_object_get(def, "host")),
           (long long)json_integer_value(json_object_get(def, "port")), next);
  return GSIM_SAP_OK;
}

gsim_sap_status gsim_sap_providers(gsim *sim, json_t **list) {
  gsim_object_row *rows = NULL;
  size_t count = 0;
  if (gsim_store_object_list(sim->store, SAP_KIND_PROVIDER, NULL, &rows, &count) != GSIM_STORE_OK)
    return GSIM_SAP_FAILED;
  *list = json_array();
  for (size_t i = 0; i < count; i++) {
    json_t *p = rows[i].json ? json_loads(rows[i].json, 0, NULL) : NULL;
    if (p)
      json_array_append_new(*list, p);
  }
  gsim_object_rows_free(rows, count);
  return GSIM_SAP_OK;
}

gsim_sap_status gsim_sap_provider_get(gsim *sim, const char *name, json_t **def) {
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  gsim_store_status rc = gsim_store_object_get(sim->store, SAP_KIND_PROVIDER, name, &row);
  json_t *p = rc == GSIM_STORE_OK && row.json ? json_loads(row.json, 0, NULL) : NULL;
  gsim_object_row_clear(&row);
  if (rc == GSIM_STORE_NOT_FOUND)
    return GSIM_SAP_NOT_FOUND;
  if (!p)
    return GSIM_SAP_FAILED;
  *def = p;
  return GSIM_SAP_OK;
}

gsim_sap_status gsim_sap_provider_delete(gsim *sim, const char *name) {
  gsim_store_status rc = gsim_store_object_delete(sim->store, SAP_KIND_PROVIDER, name);
  if (rc == GSIM_STORE_NOT_FOUND)
    return GSIM_SAP_NOT_FOUND;
  if (rc != GSIM_STORE_OK)
    return GSIM_SAP_FAILED;
  gsim_trust_changed(&sim->trust);
  gsim_log(sim, "INFO", "sap API provider '%s' deleted; effective at the next sender tick", name);
  return GSIM_SAP_OK;
}

void gsim_sap_count_refusal(gsim *sim) {
  if (sim->sap)
    sim->sap->refused++;
}
