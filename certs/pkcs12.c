/* pkcs12.c - PKCS#12 (.p12, .pfx) key stores, read bag by bag and written the
 * way both OpenSSL 3 and Java's keytool read them.
 *
 * Reading. OpenSSL's PKCS12_parse keeps one key and loses aliases, so this
 * reader walks the structure itself:
 *
 *   1. The outer DER is decoded strictly: a length beyond the input is
 *      GCERT_E_TRUNCATED, bytes after the structure GCERT_E_DER_TRAILING.
 *   2. The MAC is verified first (a store with a MAC needs a password), so a
 *      wrong password is reported as GCERT_E_INTEGRITY before any decryption.
 *   3. Every safe of the authenticated safe is unpacked (plain data or
 *      password-encrypted data; nested safeContents bags up to P12_MAX_DEPTH)
 *      and every bag collected: keyBag, pkcs8ShroudedKeyBag and X.509 certBag,
 *      each with its friendlyName, localKeyId and, for certificates, Java's
 *      trusted-certificate attribute. Any other bag is GCERT_E_UNSUPPORTED.
 *      At most P12_MAX_BAGS bags are accepted, counted before they are
 *      looked at. Before any password-based key derivation the algorithm is
 *      checked: a cipher this OpenSSL cannot fetch (RC2-40 of `-legacy` stores
 *      without the legacy provider, which this reader never loads) is
 *      GCERT_E_UNSUPPORTED, and iteration counts are bounded per derivation
 *      and in total, so a hostile store cannot burn minutes of CPU.
 *   4. Keys are paired with certificates by localKeyId (a key without one
 *      with the certificate holding its public key). Each key's chain is its
 *      leaf followed by issuers found among the certificates that are no
 *      leaf, carry no localKeyId and no trusted attribute, matched by
 *      issuer/subject name (a candidate whose key verifies the signature is
 *      preferred). Every other certificate becomes a trusted entry.
 *   5. Entries are ordered by the position of their (leaf) certificate bag,
 *      which is the store order for files this writer made.
 *
 * Everything is parsed into a local store and appended to the caller's only
 * when the whole file was read, so a failure adds nothing.
 *
 * Writing: all certificates go into one safe encrypted with PBES2 (PBKDF2 with
 * HMAC-SHA-256, AES-256-CBC), each key into a pkcs8ShroudedKeyBag with the
 * same algorithms in a plain safe, and the whole is protected by a SHA-256
 * MAC: OpenSSL 3's defaults, which Java 17's keytool reads. Key entries carry
 * friendlyName and localKeyId (SHA-1 of the leaf) on both the key and leaf
 * bags; trusted entries carry friendlyName and the attribute
 * 2.16.840.1.113894.746875.1.1 = anyExtendedKeyUsage that keytool looks for.
 */
#include "internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>
#include <openssl/x509v3.h>

#define P12_MAX_BAGS       1024     /* safes plus bags in one store */
#define P12_MAX_DEPTH      4        /* nesting of safeContents bags */
#define P12_MAX_ITER       1000000L /* iterations of one key derivation */
#define P12_MAX_ITER_TOTAL 8000000L /* iterations over the whole read */
#define JAVA_TRUSTED_OID   "2.16.840.1.113894.746875.1.1"

/* ---- what the bags hold ------------------------------------------------- */

typedef struct p12_key {
  char *alias;               /* friendlyName (OPENSSL_malloc'd) or NULL */
  ASN1_OCTET_STRING *key_id; /* localKeyId or NULL */
  EVP_PKEY *key;
  size_t bag;             /* bag number, for messages */
  size_t leaf;            /* index of the paired certificate */
  STACK_OF(X509) * chain; /* borrowed pointers: the certificates own them */
} p12_key;

typedef struct p12_cert {
  char *alias;
  ASN1_OCTET_STRING *key_id;
  X509 *cert;
  size_t bag;
  int trusted;   /* carries Java's trusted-certificate attribute */
  int is_leaf;   /* paired with a key */
  size_t key;    /* that key's index when is_leaf */
  int in_chain;  /* used in at least one chain */
  size_t marked; /* 1 + index of the key whose chain is being built */
} p12_cert;

typedef struct p12_parse {
  const char *pass;  /* password as the MAC accepted it (may be NULL) */
  int have_password; /* the caller gave one */
  p12_key *keys;
  size_t key_count;
  p12_cert *certs;
  size_t cert_count;
  size_t counted; /* safes plus bags counted against P12_MAX_BAGS */
  size_t bag_no;  /* next bag number, for messages */
  long iter_total;
  gcert_error *err;
} p12_parse;

static void parse_free(p12_parse *ps) {
  for (size_t i = 0; i < ps->key_count; i++) {
    OPENSSL_free(ps->keys[i].alias);
    ASN1_OCTET_STRING_free(ps->keys[i].key_id);
    EVP_PKEY_free(ps->keys[i].key);
    sk_X509_free(ps->keys[i].chain);
  }
  for (size_t i = 0; i < ps->cert_count; i++) {
    OPENSSL_free(ps->certs[i].alias);
    ASN1_OCTET_STRING_free(ps->certs[i].key_id);
    X509_free(ps->certs[i].cert);
  }
  free(ps->keys);
  free(ps->certs);
  ps->keys = NULL;
  ps->certs = NULL;
  ps->key_count = ps->cert_count = 0;
}

static const char *alias_or(const char *alias, const char *fallback) {
  return alias != NULL ? alias : fallback;
}

/* ---- step 1: outer DER -------------------------------------------------- */

/* Checks the outer SEQUENCE header against the input length, so a cut file is
 * reported as truncated rather than as some inner decoding error. */
static gcert_status check_outer_length(const unsigned char *data, size_t len, gcert_error *err) {
  if (data[0] != 0x30)
    return gcert_fail_plain(err, GCERT_E_DER_INVALID,
                            "not a PKCS#12 store: byte 0 is 0x%02x, not a DER SEQUENCE", data[0]);
  if (len < 2)
    return gcert_fail_plain(err, GCERT_E_TRUNCATED, "PKCS#12 store ends inside its first header");
  size_t hdr = 2;
  size_t body = data[1];
  if (data[1] == 0x80)
    return GCERT_OK; /* BER indefinite length: left to the decoder */
  if (data[1] > 0x80) {
    size_t n = data[1] & 0x7fU;
    if (n > 4)
      return gcert_fail_plain(err, GCERT_E_DER_INVALID,
                              "PKCS#12 outer length uses %zu bytes, at most 4 make sense", n);
    if (len < 2 + n)
      return gcert_fail_plain(err, GCERT_E_TRUNCATED, "PKCS#12 store ends inside its first header");
    body = 0;
    for (size_t i = 0; i < n; i++)
      body = (body << 8) | data[2 + i];
    hdr += n;
  }
  if (body > len - hdr)
    return gcert_fail_plain(err, GCERT_E_TRUNCATED,
                            "PKCS#12 store declares %zu bytes of content, only %zu are present",
                            body, len - hdr);
  return GCERT_OK;
}

static gcert_status decode_outer(const unsigned char *data, size_t len, PKCS12 **out,
                                 gcert_error *err) {
  gcert_status st = check_outer_length(data, len, err);
  if (st != GCERT_OK)
    return st;
  const unsigned char *p = data;
  PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
  if (p12 == NULL)
    return gcert_fail(err, GCERT_E_DER_INVALID, "bytes do not decode as a PKCS#12 PFX");
  size_t used = (size_t)(p - data);
  if (used != len) {
    PKCS12_free(p12);
    return gcert_fail_plain(err, GCERT_E_DER_TRAILING,
                            "%zu extra bytes after the PKCS#12 structure at offset %zu", len - used,
                            used);
  }
  *out = p12;
  return GCERT_OK;
}

/* ---- step 2: MAC and algorithm checks ----------------------------------- */

static gcert_status spend_iterations(p12_parse *ps, const ASN1_INTEGER *iter_int,
                                     const char *what) {
  long iter = iter_int != NULL ? ASN1_INTEGER_get(iter_int) : 1;
  if (iter < 1 || iter > P12_MAX_ITER)
    return gcert_fail_plain(ps->err, GCERT_E_LIMIT, "%s: iteration count %ld is outside 1..%ld",
                            what, iter, P12_MAX_ITER);
  if (iter > P12_MAX_ITER_TOTAL - ps->iter_total)
    return gcert_fail_plain(ps->err, GCERT_E_LIMIT,
                            "%s: key derivations in this store exceed %ld iterations in total",
                            what, P12_MAX_ITER_TOTAL);
  ps->iter_total += iter;
  return GCERT_OK;
}

static gcert_status check_mac(PKCS12 *p12, const char *password, p12_parse *ps) {
  ps->pass = password;
  ps->have_password = password != NULL;
  if (!PKCS12_mac_present(p12))
    return GCERT_OK;
  if (password == NULL)
    return gcert_fail_plain(ps->err, GCERT_E_NEED_PASSWORD,
                            "PKCS#12 store is protected by a MAC: a password is needed");
  const X509_ALGOR *mac_alg = NULL;
  const ASN1_INTEGER *iter = NULL;
  PKCS12_get0_mac(NULL, &mac_alg, NULL, &iter, p12);
  gcert_status st = spend_iterations(ps, iter, "PKCS#12 MAC");
  if (st != GCERT_OK)
    return st;
  ERR_clear_error();
  if (PKCS12_verify_mac(p12, password, -1))
    return GCERT_OK;
  if (ERR_GET_REASON(ERR_peek_last_error()) == PKCS12_R_MAC_GENERATION_ERROR) {
    char name[80] = "?";
    if (mac_alg != NULL)
      OBJ_obj2txt(name, sizeof(name), mac_alg->algorithm, 0);
    return gcert_fail(ps->err, GCERT_E_UNSUPPORTED, "PKCS#12 MAC with digest %s cannot be computed",
                      name);
  }
  /* An empty password may have been encoded as absent (OpenSSL does this). */
  if (password[0] == '\0' && PKCS12_verify_mac(p12, NULL, 0)) {
    ps->pass = NULL;
    return GCERT_OK;
  }
  return gcert_fail_plain(ps->err, GCERT_E_INTEGRITY,
                          "PKCS#12 MAC does not verify: wrong password or tampered store");
}

static gcert_status check_cipher(p12_parse *ps, int cipher_nid, const char *what) {
  const char *name = cipher_nid != NID_undef ? OBJ_nid2sn(cipher_nid) : NULL;
  EVP_CIPHER *cipher = name != NULL ? EVP_CIPHER_fetch(NULL, name, NULL) : NULL;
  if (cipher == NULL)
    return gcert_fail_plain(ps->err, GCERT_E_UNSUPPORTED,
                            "%s: cipher %s is not available (RC2 and other legacy ciphers need "
                            "OpenSSL's legacy provider, which gatecert does not load)",
                            what, name != NULL ? name : "(unknown)");
  EVP_CIPHER_free(cipher);
  return GCERT_OK;
}

static gcert_status check_digest(p12_parse *ps, int md_nid, const char *what) {
  const char *name = md_nid != NID_undef ? OBJ_nid2sn(md_nid) : NULL;
  EVP_MD *md = name != NULL ? EVP_MD_fetch(NULL, name, NULL) : NULL;
  if (md == NULL)
    return gcert_fail_plain(ps->err, GCERT_E_UNSUPPORTED, "%s: digest %s is not available", what,
                            name != NULL ? name : "(unknown)");
  EVP_MD_free(md);
  return GCERT_OK;
}

static gcert_status check_pbkdf2(p12_parse *ps, const PBKDF2PARAM *kdf, const char *what) {
  int prf = kdf->prf != NULL ? OBJ_obj2nid(kdf->prf->algorithm) : NID_hmacWithSHA1;
  int md_nid = NID_undef;
  if (!EVP_PBE_find(EVP_PBE_TYPE_PRF, prf, NULL, &md_nid, NULL))
    md_nid = NID_undef;
  gcert_status st = check_digest(ps, md_nid, what);
  if (st == GCERT_OK)
    st = spend_iterations(ps, kdf->iter, what);
  return st;
}

static gcert_status check_pbes2(p12_parse *ps, const X509_ALGOR *alg, const char *what) {
  PBE2PARAM *pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
  if (pbe2 == NULL)
    return gcert_fail(ps->err, GCERT_E_DER_INVALID, "%s: PBES2 parameters do not decode", what);
  if (OBJ_obj2nid(pbe2->keyfunc->algorithm) != NID_id_pbkdf2) {
    char name[80];
    OBJ_obj2txt(name, sizeof(name), pbe2->keyfunc->algorithm, 0);
    PBE2PARAM_free(pbe2);
    return gcert_fail_plain(ps->err, GCERT_E_UNSUPPORTED,
                            "%s: key derivation %s is not supported (only PBKDF2)", what, name);
  }
  PBKDF2PARAM *kdf =
      ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), pbe2->keyfunc->parameter);
  gcert_status st = GCERT_OK;
  if (kdf == NULL)
    st = gcert_fail(ps->err, GCERT_E_DER_INVALID, "%s: PBKDF2 parameters do not decode", what);
  else
    st = check_cipher(ps, OBJ_obj2nid(pbe2->encryption->algorithm), what);
  if (kdf != NULL && st == GCERT_OK)
    st = check_pbkdf2(ps, kdf, what);
  PBKDF2PARAM_free(kdf);
  PBE2PARAM_free(pbe2);
  return st;
}

static gcert_status check_pbes1(p12_parse *ps, const X509_ALGOR *alg, int nid, const char *what) {
  int cipher_nid = NID_undef;
  int md_nid = NID_undef;
  if (!EVP_PBE_find(EVP_PBE_TYPE_OUTER, nid, &cipher_nid, &md_nid, NULL)) {
    char name[80];
    OBJ_obj2txt(name, sizeof(name), alg->algorithm, 0);
    return gcert_fail_plain(ps->err, GCERT_E_UNSUPPORTED,
                            "%s: password-based encryption %s is not supported", what, name);
  }
  gcert_status st = check_cipher(ps, cipher_nid, what);
  if (st == GCERT_OK)
    st = check_digest(ps, md_nid, what);
  if (st != GCERT_OK)
    return st;
  PBEPARAM *pbe = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), alg->parameter);
  if (pbe == NULL)
    return gcert_fail(ps->err, GCERT_E_DER_INVALID, "%s: PBE parameters do not decode", what);
  st = spend_iterations(ps, pbe->iter, what);
  PBEPARAM_free(pbe);
  return st;
}

/* Fails unless this OpenSSL can run the password-based encryption `alg`
 * within the iteration budget: after this, a failed decryption means a wrong
 * password. Requires a password. */
static gcert_status check_pbe(p12_parse *ps, const X509_ALGOR *alg, const char *what) {
  if (!ps->have_password)
    return gcert_fail_plain(ps->err, GCERT_E_NEED_PASSWORD, "%s is encrypted: a password is needed",
                            what);
  if (alg == NULL || alg->algorithm == NULL)
    return gcert_fail_plain(ps->err, GCERT_E_DER_INVALID, "%s has no encryption algorithm", what);
  int nid = OBJ_obj2nid(alg->algorithm);
  if (nid == NID_pbes2)
    return check_pbes2(ps, alg, what);
  return check_pbes1(ps, alg, nid, what);
}

/* ---- step 3: bags ------------------------------------------------------- */

static int has_java_trusted_attr(const PKCS12_SAFEBAG *bag) {
  const STACK_OF(X509_ATTRIBUTE) *attrs = PKCS12_SAFEBAG_get0_attrs(bag);
  for (int i = 0; i < sk_X509_ATTRIBUTE_num(attrs); i++) {
    char oid[64];
    ASN1_OBJECT *obj = X509_ATTRIBUTE_get0_object(sk_X509_ATTRIBUTE_value(attrs, i));
    if (obj != NULL && OBJ_obj2txt(oid, sizeof(oid), obj, 1) > 0 &&
        strcmp(oid, JAVA_TRUSTED_OID) == 0)
      return 1;
  }
  return 0;
}

/* friendlyName and localKeyId of a bag; an empty friendlyName counts as none. */
static gcert_status bag_attrs(p12_parse *ps, PKCS12_SAFEBAG *bag, char **alias,
                              ASN1_OCTET_STRING **key_id) {
  *alias = PKCS12_get_friendlyname(bag);
  if (*alias != NULL && (*alias)[0] == '\0') {
    OPENSSL_free(*alias);
    *alias = NULL;
  }
  *key_id = NULL;
  const ASN1_TYPE *id = PKCS12_SAFEBAG_get0_attr(bag, NID_localKeyID);
  if (id != NULL && id->type == V_ASN1_OCTET_STRING &&
      (*key_id = ASN1_OCTET_STRING_dup(id->value.octet_string)) == NULL) {
    OPENSSL_free(*alias);
    *alias = NULL;
    return gcert_fail(ps->err, GCERT_E_NOMEM, "out of memory copying a localKeyId");
  }
  return GCERT_OK;
}

static gcert_status add_key(p12_parse *ps, PKCS12_SAFEBAG *bag, EVP_PKEY *key, size_t bag_no) {
  p12_key *k = &ps->keys[ps->key_count];
  memset(k, 0, sizeof(*k));
  k->key = key;
  k->bag = bag_no;
  ps->key_count++; /* owned by ps from here on, freed with it */
  return bag_attrs(ps, bag, &k->alias, &k->key_id);
}

static gcert_status key_from_p8(p12_parse *ps, PKCS12_SAFEBAG *bag, const PKCS8_PRIV_KEY_INFO *p8,
                                size_t bag_no) {
  EVP_PKEY *key = EVP_PKCS82PKEY(p8);
  if (key == NULL) {
    const ASN1_OBJECT *obj = NULL;
    char name[80] = "?";
    if (PKCS8_pkey_get0(&obj, NULL, NULL, NULL, p8) && obj != NULL)
      OBJ_obj2txt(name, sizeof(name), obj, 0);
    return gcert_fail(ps->err,
                      obj != NULL && OBJ_obj2nid(obj) == NID_undef ? GCERT_E_UNSUPPORTED
                                                                   : GCERT_E_DER_INVALID,
                      "private key in bag %zu (algorithm %s) cannot be decoded", bag_no, name);
  }
  return add_key(ps, bag, key, bag_no);
}

static gcert_status read_shrouded_key(p12_parse *ps, PKCS12_SAFEBAG *bag, size_t bag_no) {
  char what[64];
  snprintf(what, sizeof(what), "private key in bag %zu", bag_no);
  const X509_ALGOR *alg = NULL;
  const X509_SIG *sig = PKCS12_SAFEBAG_get0_pkcs8(bag);
  if (sig != NULL)
    X509_SIG_get0(sig, &alg, NULL);
  gcert_status st = check_pbe(ps, alg, what);
  if (st != GCERT_OK)
    return st;
  PKCS8_PRIV_KEY_INFO *p8 = PKCS12_decrypt_skey(bag, ps->pass, -1);
  if (p8 == NULL)
    return gcert_fail_plain(ps->err, GCERT_E_BAD_PASSWORD,
                            "%s does not decrypt with the store password", what);
  st = key_from_p8(ps, bag, p8, bag_no);
  PKCS8_PRIV_KEY_INFO_free(p8);
  return st;
}

static gcert_status read_cert(p12_parse *ps, PKCS12_SAFEBAG *bag, size_t bag_no) {
  if (PKCS12_SAFEBAG_get_bag_nid(bag) != NID_x509Certificate) {
    char name[80] = "?";
    const ASN1_OBJECT *type = PKCS12_SAFEBAG_get0_bag_type(bag);
    if (type != NULL)
      OBJ_obj2txt(name, sizeof(name), type, 0);
    return gcert_fail_plain(ps->err, GCERT_E_UNSUPPORTED,
                            "certBag %zu holds a %s certificate, only X.509 is supported", bag_no,
                            name);
  }
  X509 *cert = PKCS12_SAFEBAG_get1_cert(bag);
  if (cert == NULL)
    return gcert_fail(ps->err, GCERT_E_DER_INVALID,
                      "certificate in bag %zu does not decode as X.509", bag_no);
  p12_cert *c = &ps->certs[ps->cert_count];
  memset(c, 0, sizeof(*c));
  c->cert = cert;
  c->bag = bag_no;
  c->trusted = has_java_trusted_attr(bag);
  ps->cert_count++;
  return bag_attrs(ps, bag, &c->alias, &c->key_id);
}

/* One bag that is not a safeContents bag. */
static gcert_status collect_bag(p12_parse *ps, PKCS12_SAFEBAG *bag, size_t bag_no) {
  int nid = PKCS12_SAFEBAG_get_nid(bag);
  switch (nid) {
  case NID_keyBag: {
    const PKCS8_PRIV_KEY_INFO *p8 = PKCS12_SAFEBAG_get0_p8inf(bag);
    if (p8 == NULL)
      return gcert_fail_plain(ps->err, GCERT_E_DER_INVALID, "keyBag %zu is empty", bag_no);
    return key_from_p8(ps, bag, p8, bag_no);
  }
  case NID_pkcs8ShroudedKeyBag:
    return read_shrouded_key(ps, bag, bag_no);
  case NID_certBag:
    return read_cert(ps, bag, bag_no);
  default: {
    char name[80] = "?";
    const ASN1_OBJECT *type = PKCS12_SAFEBAG_get0_type(bag);
    if (type != NULL)
      OBJ_obj2txt(name, sizeof(name), type, 0);
    return gcert_fail_plain(ps->err, GCERT_E_UNSUPPORTED,
                            "bag %zu is a %s, not supported (only keys and X.509 certificates)",
                            bag_no, name);
  }
  }
}

static gcert_status count_against_limit(p12_parse *ps, size_t n, const char *what) {
  if (n > P12_MAX_BAGS - ps->counted)
    return gcert_fail_plain(ps->err, GCERT_E_LIMIT,
                            "PKCS#12 store has more than %d %s; that is the limit", P12_MAX_BAGS,
                            what);
  ps->counted += n;
  return GCERT_OK;
}

static gcert_status count_bags(p12_parse *ps, const STACK_OF(PKCS12_SAFEBAG) * bags) {
  int n = sk_PKCS12_SAFEBAG_num(bags);
  return count_against_limit(ps, n > 0 ? (size_t)n : 0, "safes and bags");
}

/* Walks a safe's bags depth first, without recursion: a safeContents bag
 * pushes its inner bags on a stack at most P12_MAX_DEPTH deep. */
static gcert_status collect_bags(p12_parse *ps, const STACK_OF(PKCS12_SAFEBAG) * bags) {
  struct {
    const STACK_OF(PKCS12_SAFEBAG) * bags;
    int next;
  } stack[P12_MAX_DEPTH + 1];
  int depth = 0;
  stack[0].bags = bags;
  stack[0].next = 0;
  gcert_status st = count_bags(ps, bags);
  while (st == GCERT_OK && depth >= 0) {
    if (stack[depth].next >= sk_PKCS12_SAFEBAG_num(stack[depth].bags)) {
      depth--;
      continue;
    }
    PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(stack[depth].bags, stack[depth].next++);
    size_t bag_no = ps->bag_no++;
    if (PKCS12_SAFEBAG_get_nid(bag) != NID_safeContentsBag) {
      st = collect_bag(ps, bag, bag_no);
    } else if (depth == P12_MAX_DEPTH) {
      st = gcert_fail_plain(ps->err, GCERT_E_LIMIT,
                            "safeContents bag %zu nested deeper than %d levels", bag_no,
                            P12_MAX_DEPTH);
    } else {
      depth++;
      stack[depth].bags = PKCS12_SAFEBAG_get0_safes(bag);
      stack[depth].next = 0;
      st = count_bags(ps, stack[depth].bags);
    }
  }
  return st;
}

static gcert_status unpack_safe(p12_parse *ps, PKCS7 *p7, int index,
                                STACK_OF(PKCS12_SAFEBAG) * *out) {
  char what[64];
  snprintf(what, sizeof(what), "safe %d", index);
  if (PKCS7_type_is_data(p7)) {
    *out = PKCS12_unpack_p7data(p7);
    if (*out == NULL)
      return gcert_fail(ps->err, GCERT_E_DER_INVALID, "%s does not decode as safe contents", what);
    return GCERT_OK;
  }
  if (PKCS7_type_is_encrypted(p7)) {
    const X509_ALGOR *alg = NULL;
    if (p7->d.encrypted != NULL && p7->d.encrypted->enc_data != NULL)
      alg = p7->d.encrypted->enc_data->algorithm;
    gcert_status st = check_pbe(ps, alg, what);
    if (st != GCERT_OK)
      return st;
    *out = PKCS12_unpack_p7encdata(p7, ps->pass, -1);
    if (*out == NULL)
      return gcert_fail_plain(ps->err, GCERT_E_BAD_PASSWORD,
                              "%s does not decrypt with the store password", what);
    return GCERT_OK;
  }
  char name[80] = "?";
  if (p7->type != NULL)
    OBJ_obj2txt(name, sizeof(name), p7->type, 0);
  return gcert_fail_plain(ps->err, GCERT_E_UNSUPPORTED,
                          "%s has content type %s (only data and encryptedData)", what, name);
}

static gcert_status collect_safes(p12_parse *ps, PKCS12 *p12) {
  STACK_OF(PKCS7) *safes = PKCS12_unpack_authsafes(p12);
  if (safes == NULL) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == PKCS12_R_CONTENT_TYPE_NOT_DATA)
      return gcert_fail_plain(ps->err, GCERT_E_UNSUPPORTED,
                              "PKCS#12 public-key integrity mode (signed content) is not "
                              "supported");
    return gcert_fail(ps->err, GCERT_E_DER_INVALID, "PKCS#12 authenticated safe does not decode");
  }
  int n = sk_PKCS7_num(safes);
  gcert_status st = count_against_limit(ps, n > 0 ? (size_t)n : 0, "safes and bags");
  for (int i = 0; st == GCERT_OK && i < n; i++) {
    STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
    st = unpack_safe(ps, sk_PKCS7_value(safes, i), i, &bags);
    if (st == GCERT_OK)
      st = collect_bags(ps, bags);
    sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
  }
  sk_PKCS7_pop_free(safes, PKCS7_free);
  return st;
}

/* ---- step 4: pairing and chains ----------------------------------------- */

static int pair_key(p12_parse *ps, size_t ki) {
  p12_key *k = &ps->keys[ki];
  for (size_t i = 0; i < ps->cert_count; i++) {
    p12_cert *c = &ps->certs[i];
    if (c->is_leaf)
      continue;
    int match = k->key_id != NULL
                    ? c->key_id != NULL && ASN1_OCTET_STRING_cmp(k->key_id, c->key_id) == 0
                    : c->key_id == NULL && !c->trusted && gcert_key_matches_cert(k->key, c->cert);
    if (match) {
      c->is_leaf = 1;
      c->key = ki;
      k->leaf = i;
      return 1;
    }
  }
  return 0;
}

static gcert_status pair_keys(p12_parse *ps) {
  for (size_t i = 0; i < ps->key_count; i++) {
    p12_key *k = &ps->keys[i];
    if (!pair_key(ps, i))
      return gcert_fail_plain(ps->err, GCERT_E_NO_CERT,
                              "private key '%s' (bag %zu) has no certificate in the store",
                              alias_or(k->alias, "(no alias)"), k->bag);
    p12_cert *c = &ps->certs[k->leaf];
    if (!gcert_key_matches_cert(k->key, c->cert))
      return gcert_fail_plain(ps->err, GCERT_E_KEY_MISMATCH,
                              "private key '%s' (bag %zu) does not match its certificate "
                              "(bag %zu)",
                              alias_or(k->alias, alias_or(c->alias, "(no alias)")), k->bag, c->bag);
  }
  return GCERT_OK;
}

static int signed_by(X509 *child, X509 *issuer) {
  EVP_PKEY *pub = X509_get0_pubkey(issuer);
  ERR_set_mark();
  int ok = pub != NULL && X509_verify(child, pub) == 1;
  ERR_pop_to_mark();
  return ok;
}

/* The best issuer of cur among the chain candidates not yet in this chain:
 * names must match; a verifying signature, then not being used by another
 * chain yet, then bag order break ties. */
static p12_cert *find_issuer(p12_parse *ps, X509 *cur, size_t mark) {
  p12_cert *best = NULL;
  int best_score = -1;
  for (size_t i = 0; i < ps->cert_count; i++) {
    p12_cert *c = &ps->certs[i];
    if (c->is_leaf || c->trusted || c->key_id != NULL || c->marked == mark)
      continue;
    if (X509_NAME_cmp(X509_get_issuer_name(cur), X509_get_subject_name(c->cert)) != 0)
      continue;
    int score = 2 * signed_by(cur, c->cert) + !c->in_chain;
    if (score > best_score) {
      best = c;
      best_score = score;
    }
  }
  return best;
}

static gcert_status build_chain(p12_parse *ps, size_t ki) {
  p12_key *k = &ps->keys[ki];
  size_t mark = ki + 1;
  k->chain = sk_X509_new_null();
  X509 *cur = ps->certs[k->leaf].cert;
  if (k->chain == NULL || !sk_X509_push(k->chain, cur))
    return gcert_fail(ps->err, GCERT_E_NOMEM, "out of memory building a chain");
  ps->certs[k->leaf].marked = mark;
  while (X509_NAME_cmp(X509_get_issuer_name(cur), X509_get_subject_name(cur)) != 0) {
    p12_cert *next = find_issuer(ps, cur, mark);
    if (next == NULL)
      break;
    if (!sk_X509_push(k->chain, next->cert))
      return gcert_fail(ps->err, GCERT_E_NOMEM, "out of memory building a chain");
    next->marked = mark;
    next->in_chain = 1;
    cur = next->cert;
  }
  return GCERT_OK;
}

/* ---- step 5: entries ---------------------------------------------------- */

static gcert_status make_entries(p12_parse *ps, gcert_store *local) {
  if (ps->key_count == 0 && ps->cert_count == 0)
    return gcert_fail_plain(ps->err, GCERT_E_NO_CERT,
                            "PKCS#12 store holds no certificate and no key");
  gcert_status st = pair_keys(ps);
  for (size_t i = 0; st == GCERT_OK && i < ps->key_count; i++)
    st = build_chain(ps, i);
  for (size_t i = 0; st == GCERT_OK && i < ps->cert_count; i++) {
    p12_cert *c = &ps->certs[i];
    if (c->is_leaf) {
      p12_key *k = &ps->keys[c->key];
      st = gcert_store_add_key(local, alias_or(k->alias, c->alias), k->key, k->chain, ps->err);
    } else if (!c->in_chain) {
      st = gcert_store_add_trusted(local, c->alias, c->cert, ps->err);
    }
  }
  return st;
}

gcert_status gcert_pkcs12_read(const unsigned char *data, size_t len, const char *password,
                               gcert_store *out, gcert_error *err) {
  if (data == NULL || out == NULL)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "PKCS#12 read needs data and a store");
  gcert_status input_st = gcert_check_input(data, len, "PKCS#12", err);
  if (input_st != GCERT_OK)
    return input_st;
  PKCS12 *p12 = NULL;
  gcert_status st = decode_outer(data, len, &p12, err);
  if (st != GCERT_OK)
    return st;
  p12_parse ps = {.err = err};
  ps.keys = calloc(P12_MAX_BAGS, sizeof(*ps.keys));
  ps.certs = calloc(P12_MAX_BAGS, sizeof(*ps.certs));
  if (ps.keys == NULL || ps.certs == NULL)
    st = gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory reading PKCS#12");
  if (st == GCERT_OK)
    st = check_mac(p12, password, &ps);
  if (st == GCERT_OK)
    st = collect_safes(&ps, p12);
  gcert_store local;
  gcert_store_init(&local);
  if (st == GCERT_OK)
    st = make_entries(&ps, &local);
  if (st == GCERT_OK)
    st = gcert_store_append(out, &local, err);
  gcert_store_free(&local);
  parse_free(&ps);
  PKCS12_free(p12);
  return st;
}

/* ---- writing ------------------------------------------------------------ */

typedef struct p12_out {
  STACK_OF(PKCS12_SAFEBAG) * certs;
  STACK_OF(PKCS12_SAFEBAG) * keys;
  const char *password;
  gcert_error *err;
} p12_out;

/* A certBag without attributes. (PKCS12_add_cert would copy an alias or key
 * id from the certificate's OpenSSL "aux" data, and a second friendlyName.) */
static PKCS12_SAFEBAG *add_cert_bag(p12_out *po, X509 *cert) {
  if (po->certs == NULL && (po->certs = sk_PKCS12_SAFEBAG_new_null()) == NULL)
    return NULL;
  PKCS12_SAFEBAG *bag = PKCS12_SAFEBAG_create_cert(cert);
  if (bag != NULL && !sk_PKCS12_SAFEBAG_push(po->certs, bag)) {
    PKCS12_SAFEBAG_free(bag);
    bag = NULL;
  }
  return bag;
}

static gcert_status name_bag(p12_out *po, PKCS12_SAFEBAG *bag, const char *alias,
                             unsigned char *key_id, int key_id_len) {
  if (alias != NULL && !PKCS12_add_friendlyname_utf8(bag, alias, -1))
    return gcert_fail(po->err, GCERT_E_CRYPTO, "cannot set friendlyName '%s'", alias);
  if (key_id != NULL && !PKCS12_add_localkeyid(bag, key_id, key_id_len))
    return gcert_fail(po->err, GCERT_E_CRYPTO, "cannot set localKeyId");
  return GCERT_OK;
}

static gcert_status write_trusted(p12_out *po, const gcert_entry *e, size_t index) {
  X509 *cert = sk_X509_value(e->chain, 0);
  PKCS12_SAFEBAG *bag = cert != NULL ? add_cert_bag(po, cert) : NULL;
  if (bag == NULL)
    return gcert_fail(po->err, GCERT_E_CRYPTO, "cannot add certificate of entry %zu", index);
  gcert_status st = name_bag(po, bag, e->alias, NULL, 0);
  /* ASN1_TYPE_set1 copies the object: data is an ASN1_OBJECT * when len is -1 */
  ASN1_OBJECT *any_eku = OBJ_nid2obj(NID_anyExtendedKeyUsage);
  if (st == GCERT_OK && !PKCS12_add1_attr_by_txt(bag, JAVA_TRUSTED_OID, V_ASN1_OBJECT,
                                                 (const unsigned char *)any_eku, -1))
    st = gcert_fail(po->err, GCERT_E_CRYPTO, "cannot mark entry %zu as trusted", index);
  return st;
}

static gcert_status write_key(p12_out *po, const gcert_store *store, size_t index) {
  const gcert_entry *e = &store->entries[index];
  X509 *leaf = sk_X509_value(e->chain, 0);
  for (size_t j = 0; j < index; j++) {
    const gcert_entry *prev = &store->entries[j];
    if (prev->key != NULL && X509_cmp(sk_X509_value(prev->chain, 0), leaf) == 0)
      return gcert_fail_plain(po->err, GCERT_E_INVALID_ARG,
                              "key entries %zu and %zu share one certificate: PKCS#12 could not "
                              "tell them apart",
                              j, index);
  }
  unsigned char id[EVP_MAX_MD_SIZE];
  unsigned int id_len = 0;
  if (!X509_digest(leaf, EVP_sha1(), id, &id_len))
    return gcert_fail(po->err, GCERT_E_CRYPTO, "cannot hash certificate of entry %zu", index);
  PKCS12_SAFEBAG *bag = add_cert_bag(po, leaf);
  if (bag == NULL)
    return gcert_fail(po->err, GCERT_E_CRYPTO, "cannot add certificate of entry %zu", index);
  gcert_status st = name_bag(po, bag, e->alias, id, (int)id_len);
  for (int j = 1; st == GCERT_OK && j < sk_X509_num(e->chain); j++) {
    if (add_cert_bag(po, sk_X509_value(e->chain, j)) == NULL)
      st = gcert_fail(po->err, GCERT_E_CRYPTO, "cannot add chain of entry %zu", index);
  }
  if (st != GCERT_OK)
    return st;
  bag = PKCS12_add_key(&po->keys, e->key, 0, PKCS12_DEFAULT_ITER, NID_aes_256_cbc, po->password);
  if (bag == NULL)
    return gcert_fail(po->err, GCERT_E_CRYPTO, "cannot encrypt private key of entry %zu", index);
  return name_bag(po, bag, e->alias, id, (int)id_len);
}

static gcert_status pack(p12_out *po, PKCS12 **out) {
  STACK_OF(PKCS7) *safes = NULL;
  if (po->certs != NULL &&
      !PKCS12_add_safe(&safes, po->certs, NID_aes_256_cbc, PKCS12_DEFAULT_ITER, po->password)) {
    sk_PKCS7_pop_free(safes, PKCS7_free);
    return gcert_fail(po->err, GCERT_E_CRYPTO, "cannot encrypt the certificate safe");
  }
  if (po->keys != NULL && !PKCS12_add_safe(&safes, po->keys, -1, 0, NULL)) {
    sk_PKCS7_pop_free(safes, PKCS7_free);
    return gcert_fail(po->err, GCERT_E_CRYPTO, "cannot pack the key safe");
  }
  if (safes == NULL && (safes = sk_PKCS7_new_null()) == NULL)
    return gcert_fail(po->err, GCERT_E_NOMEM, "out of memory");
  PKCS12 *p12 = PKCS12_add_safes(safes, 0);
  sk_PKCS7_pop_free(safes, PKCS7_free);
  if (p12 == NULL)
    return gcert_fail(po->err, GCERT_E_CRYPTO, "cannot assemble the PKCS#12 store");
  if (!PKCS12_set_mac(p12, po->password, -1, NULL, 0, PKCS12_DEFAULT_ITER, EVP_sha256())) {
    PKCS12_free(p12);
    return gcert_fail(po->err, GCERT_E_CRYPTO, "cannot compute the PKCS#12 MAC");
  }
  *out = p12;
  return GCERT_OK;
}

static gcert_status encode(PKCS12 *p12, gcert_buf *out, gcert_error *err) {
  int n = i2d_PKCS12(p12, NULL);
  if (n <= 0)
    return gcert_fail(err, GCERT_E_CRYPTO, "cannot encode the PKCS#12 store");
  unsigned char *der = malloc((size_t)n);
  if (der == NULL)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory encoding %d bytes", n);
  unsigned char *p = der;
  if (i2d_PKCS12(p12, &p) != n) {
    free(der);
    return gcert_fail(err, GCERT_E_CRYPTO, "cannot encode the PKCS#12 store");
  }
  out->data = der;
  out->len = (size_t)n;
  return GCERT_OK;
}

gcert_status gcert_pkcs12_write(const gcert_store *store, const char *password, gcert_buf *out,
                                gcert_error *err) {
  if (store == NULL || out == NULL || password == NULL)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG,
                            "PKCS#12 write needs a store, a password and an output buffer");
  p12_out po = {.password = password, .err = err};
  gcert_status st = GCERT_OK;
  for (size_t i = 0; st == GCERT_OK && i < store->count; i++) {
    const gcert_entry *e = &store->entries[i];
    if (e->chain == NULL || sk_X509_num(e->chain) < 1)
      st = gcert_fail_plain(err, GCERT_E_INVALID_ARG, "entry %zu has no certificate", i);
    else if (e->key != NULL)
      st = write_key(&po, store, i);
    else
      st = write_trusted(&po, e, i);
  }
  PKCS12 *p12 = NULL;
  if (st == GCERT_OK)
    st = pack(&po, &p12);
  if (st == GCERT_OK)
    st = encode(p12, out, err);
  PKCS12_free(p12);
  sk_PKCS12_SAFEBAG_pop_free(po.certs, PKCS12_SAFEBAG_free);
  sk_PKCS12_SAFEBAG_pop_free(po.keys, PKCS12_SAFEBAG_free);
  return st;
}
