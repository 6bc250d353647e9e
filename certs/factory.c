/* factory.c - keys and certificates made to order, dated from a reference time.
 *
 * gcert_issue turns a gcert_spec into an X.509 v3 certificate: subject parsed
 * from an RFC 4514 string, validity as offsets from the caller's reference time
 * (a scenario's fake epoch; the wall clock is never read here), SANs built as
 * GENERAL_NAMEs (IP text parsed by OpenSSL), extensions by kind (CA: critical
 * CA:TRUE and keyCertSign; leafs: CA:FALSE, digitalSignature and an EKU), key
 * identifiers, then a SHA-256 signature by the issuer's key or its own.
 *
 * The factory makes broken PKIs on purpose, so it checks only what would make
 * the request meaningless (unparsable names, serials, SANs) and never whether
 * the issuer is fit to issue: a CA:FALSE leaf as issuer, an expired
 * intermediate or a wrong EKU are all just specs.
 */
#include "internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#define SERIAL_MAX_BYTES 20 /* RFC 5280 4.1.2.2 */
#define NAME_MAX_LEN     1024

void gcert_spec_init(gcert_spec *spec, gcert_kind kind) {
  memset(spec, 0, sizeof(*spec));
  spec->kind = kind;
  spec->key_type = GCERT_KEY_EC_P256;
  spec->not_before = -3600;
  spec->not_after = (int64_t)365 * 86400;
  spec->eku = GCERT_EKU_DEFAULT;
  spec->ca_path_len = -1;
}

void gcert_item_free(gcert_item *item) {
  if (item == NULL)
    return;
  X509_free(item->cert);
  EVP_PKEY_free(item->key);
  item->cert = NULL;
  item->key = NULL;
}

gcert_status gcert_key_generate(gcert_key_type type, EVP_PKEY **out, gcert_error *err) {
  EVP_PKEY *key = NULL;
  switch (type) {
  case GCERT_KEY_EC_P256:
    key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    break;
  case GCERT_KEY_RSA_2048:
    key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    break;
  case GCERT_KEY_RSA_3072:
    key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    break;
  default:
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "unknown key type %d", (int)type);
  }
  if (key == NULL)
    return gcert_fail(err, GCERT_E_CRYPTO, "key generation failed");
  *out = key;
  return GCERT_OK;
}

/* ---- distinguished names ------------------------------------------------ */

/* One "type=value" component of an RFC 4514 string, unescaped into buffers. */
typedef struct rdn_text {
  char type[64];
  char value[NAME_MAX_LEN];
} rdn_text;

/* Reads one component starting at *pos up to an unescaped ',' or the end. */
static gcert_status parse_component(const char *text, size_t *pos, rdn_text *rdn,
                                    gcert_error *err) {
  size_t i = *pos;
  while (text[i] == ' ')
    i++;
  size_t t = 0;
  while (text[i] != '\0' && text[i] != '=') {
    if (!isalnum((unsigned char)text[i]) && text[i] != '.' && text[i] != '-')
      return gcert_fail_plain(err, GCERT_E_BAD_NAME, "bad character in attribute type at %zu", i);
    if (t + 1 >= sizeof(rdn->type))
      return gcert_fail_plain(err, GCERT_E_BAD_NAME, "attribute type too long at %zu", i);
    rdn->type[t++] = text[i++];
  }
  rdn->type[t] = '\0';
  if (text[i] != '=' || t == 0)
    return gcert_fail_plain(err, GCERT_E_BAD_NAME, "expected TYPE=value at offset %zu", *pos);
  i++;
  size_t v = 0;
  while (text[i] != '\0' && text[i] != ',') {
    char c = text[i++];
    if (c == '\\') {
      if (text[i] == '\0')
        return gcert_fail_plain(err, GCERT_E_BAD_NAME, "name ends inside an escape");
      c = text[i++];
    }
    if (v + 1 >= sizeof(rdn->value))
      return gcert_fail_plain(err, GCERT_E_BAD_NAME, "attribute value too long");
    rdn->value[v++] = c;
  }
  rdn->value[v] = '\0';
  if (v == 0)
    return gcert_fail_plain(err, GCERT_E_BAD_NAME, "empty value for %s", rdn->type);
  if (text[i] == ',')
    i++;
  *pos = i;
  return GCERT_OK;
}

/* RFC 4514 writes the most specific component first ("CN=leaf,O=org"); DER
 * holds it last, so components are inserted at the front as they come. */
static gcert_status parse_name(const char *text, X509_NAME **out, gcert_error *err) {
  if (strlen(text) >= NAME_MAX_LEN)
    return gcert_fail_plain(err, GCERT_E_BAD_NAME, "name longer than %d bytes", NAME_MAX_LEN);
  X509_NAME *name = X509_NAME_new();
  rdn_text *rdn = malloc(sizeof(*rdn));
  if (name == NULL || rdn == NULL) {
    X509_NAME_free(name);
    free(rdn);
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory");
  }
  gcert_status st = GCERT_OK;
  size_t pos = 0;
  while (st == GCERT_OK && text[pos] != '\0') {
    st = parse_component(text, &pos, rdn, err);
    if (st == GCERT_OK && !X509_NAME_add_entry_by_txt(name, rdn->type, MBSTRING_UTF8,
                                                      (const unsigned char *)rdn->value, -1, 0, 0))
      st = gcert_fail(err, GCERT_E_BAD_NAME, "cannot use '%s=%s'", rdn->type, rdn->value);
  }
  free(rdn);
  if (st == GCERT_OK && X509_NAME_entry_count(name) == 0)
    st = gcert_fail_plain(err, GCERT_E_BAD_NAME, "name is empty");
  if (st != GCERT_OK) {
    X509_NAME_free(name);
    return st;
  }
  *out = name;
  return GCERT_OK;
}

static const char *default_subject(gcert_kind kind) {
  switch (kind) {
  case GCERT_KIND_CA:
    return "CN=gatecert CA,O=gatecert";
  case GCERT_KIND_SERVER:
    return "CN=localhost,O=gatecert";
  default:
    return "CN=gatecert client,O=gatecert";
  }
}

/* ---- serial numbers ----------------------------------------------------- */

static gcert_status make_serial(const char *text, ASN1_INTEGER **out, gcert_error *err) {
  BIGNUM *bn = BN_new();
  if (bn == NULL)
    return gcert_fail(err, GCERT_E_NOMEM, "out of memory");
  int ok;
  if (text == NULL) {
    ok = BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ODD); /* odd: never zero */
  } else {
    int hex = (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'));
    const char *digits = hex ? text + 2 : text;
    size_t n = strlen(digits);
    ok = n > 0 && n <= 2 * SERIAL_MAX_BYTES + 10;
    for (size_t i = 0; ok && i < n; i++)
      ok = hex ? isxdigit((unsigned char)digits[i]) : isdigit((unsigned char)digits[i]);
    if (ok)
      ok = hex ? BN_hex2bn(&bn, digits) == (int)n : BN_dec2bn(&bn, digits) == (int)n;
    if (!ok || BN_is_zero(bn) || BN_num_bytes(bn) > SERIAL_MAX_BYTES) {
      BN_free(bn);
      return gcert_fail_plain(err, GCERT_E_BAD_SERIAL,
                              "serial '%s' is not a positive decimal or 0x-hex number of at "
                              "most %d bytes",
                              text, SERIAL_MAX_BYTES);
    }
  }
  ASN1_INTEGER *serial = ok ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
  BN_free(bn);
  if (serial == NULL)
    return gcert_fail(err, GCERT_E_CRYPTO, "cannot make serial number");
  *out = serial;
  return GCERT_OK;
}

/* ---- extensions --------------------------------------------------------- */

static gcert_status add_general_name(GENERAL_NAMES *names, int type, const char *value,
                                     gcert_error *err) {
  GENERAL_NAME *gn = NULL;
  if (type == GEN_IPADD) {
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(value);
    if (ip == NULL)
      return gcert_fail_plain(err, GCERT_E_BAD_SAN, "'%s' is not an IP address", value);
    gn = GENERAL_NAME_new();
    if (gn != NULL)
      GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
    else
      ASN1_OCTET_STRING_free(ip);
  } else {
    size_t n = strlen(value);
    for (size_t i = 0; i < n; i++) {
      if ((unsigned char)value[i] <= 0x20 || (unsigned char)value[i] >= 0x7f)
        return gcert_fail_plain(err, GCERT_E_BAD_SAN,
                                "DNS name '%s' has a character that is not printable ASCII", value);
    }
    if (n == 0)
      return gcert_fail_plain(err, GCERT_E_BAD_SAN, "empty DNS name");
    ASN1_IA5STRING *dns = ASN1_IA5STRING_new();
    if (dns == NULL || !ASN1_STRING_set(dns, value, (int)n)) {
      ASN1_IA5STRING_free(dns);
      return gcert_fail(err, GCERT_E_NOMEM, "out of memory");
    }
    gn = GENERAL_NAME_new();
    if (gn != NULL)
      GENERAL_NAME_set0_value(gn, GEN_DNS, dns);
    else
      ASN1_IA5STRING_free(dns);
  }
  if (gn == NULL || !sk_GENERAL_NAME_push(names, gn)) {
    GENERAL_NAME_free(gn);
    return gcert_fail(err, GCERT_E_NOMEM, "out of memory");
  }
  return GCERT_OK;
}

static gcert_status add_san(X509 *cert, const gcert_spec *spec, gcert_error *err) {
  if (spec->dns_count == 0 && spec->ip_count == 0)
    return GCERT_OK;
  GENERAL_NAMES *names = GENERAL_NAMES_new();
  if (names == NULL)
    return gcert_fail(err, GCERT_E_NOMEM, "out of memory");
  gcert_status st = GCERT_OK;
  for (size_t i = 0; st == GCERT_OK && i < spec->dns_count; i++)
    st = add_general_name(names, GEN_DNS, spec->dns[i], err);
  for (size_t i = 0; st == GCERT_OK && i < spec->ip_count; i++)
    st = add_general_name(names, GEN_IPADD, spec->ips[i], err);
  if (st == GCERT_OK && !X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, 0))
    st = gcert_fail(err, GCERT_E_CRYPTO, "cannot add subjectAltName");
  GENERAL_NAMES_free(names);
  return st;
}

/* Adds one extension from OpenSSL's configuration syntax ("critical,CA:TRUE"). */
static gcert_status add_conf_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value,
                                 gcert_error *err) {
  X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
  if (ext == NULL)
    return gcert_fail(err, GCERT_E_CRYPTO, "cannot make extension %s=%s", OBJ_nid2sn(nid), value);
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok ? GCERT_OK : gcert_fail(err, GCERT_E_CRYPTO, "cannot add %s", OBJ_nid2sn(nid));
}

static const char *eku_value(const gcert_spec *spec) {
  gcert_eku eku = spec->eku;
  if (eku == GCERT_EKU_DEFAULT) {
    eku = spec->kind == GCERT_KIND_SERVER   ? GCERT_EKU_SERVER
          : spec->kind == GCERT_KIND_CLIENT ? GCERT_EKU_CLIENT
                                            : GCERT_EKU_NONE;
  }
  switch (eku) {
  case GCERT_EKU_SERVER:
    return "serverAuth";
  case GCERT_EKU_CLIENT:
    return "clientAuth";
  case GCERT_EKU_BOTH:
    return "serverAuth,clientAuth";
  default:
    return NULL;
  }
}

static gcert_status add_extensions(X509 *cert, X509 *issuer_cert, const gcert_spec *spec,
                                   EVP_PKEY *key, gcert_error *err) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_cert, cert, NULL, NULL, 0);
  char basic[64];
  const char *usage;
  if (spec->kind == GCERT_KIND_CA) {
    if (spec->ca_path_len >= 0)
      snprintf(basic, sizeof(basic), "critical,CA:TRUE,pathlen:%d", spec->ca_path_len);
    else
      snprintf(basic, sizeof(basic), "critical,CA:TRUE");
    usage = "critical,keyCertSign,cRLSign,digitalSignature";
  } else {
    snprintf(basic, sizeof(basic), "critical,CA:FALSE");
    usage = EVP_PKEY_is_a(key, "RSA") ? "critical,digitalSignature,keyEncipherment"
                                      : "critical,digitalSignature";
  }
  gcert_status st = add_conf_ext(cert, &ctx, NID_basic_constraints, basic, err);
  if (st == GCERT_OK)
    st = add_conf_ext(cert, &ctx, NID_key_usage, usage, err);
  const char *eku = eku_value(spec);
  if (st == GCERT_OK && eku != NULL)
    st = add_conf_ext(cert, &ctx, NID_ext_key_usage, eku, err);
  if (st == GCERT_OK)
    st = add_conf_ext(cert, &ctx, NID_subject_key_identifier, "hash", err);
  if (st == GCERT_OK)
    st = add_conf_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always", err);
  if (st == GCERT_OK)
    st = add_san(cert, spec, err);
  return st;
}

/* ---- issuing ------------------------------------------------------------ */

static gcert_status set_validity(X509 *cert, time_t reference, const gcert_spec *spec,
                                 gcert_error *err) {
  if (spec->not_after <= spec->not_before)
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG,
                            "not_after (%lld) must be later than not_before (%lld)",
                            (long long)spec->not_after, (long long)spec->not_before);
  /* Days and seconds apart: ASN1_TIME_adj takes the second offset as long. */
  ASN1_TIME *from = ASN1_TIME_adj(NULL, reference, (int)(spec->not_before / 86400),
                                  (long)(spec->not_before % 86400));
  ASN1_TIME *to = ASN1_TIME_adj(NULL, reference, (int)(spec->not_after / 86400),
                                (long)(spec->not_after % 86400));
  int ok =
      from != NULL && to != NULL && X509_set1_notBefore(cert, from) && X509_set1_notAfter(cert, to);
  ASN1_TIME_free(from);
  ASN1_TIME_free(to);
  return ok ? GCERT_OK : gcert_fail(err, GCERT_E_BAD_TIME, "validity window out of range");
}

static gcert_status obtain_key(const gcert_spec *spec, EVP_PKEY *given, EVP_PKEY **out,
                               gcert_error *err) {
  if (given == NULL)
    return gcert_key_generate(spec->key_type, out, err);
  if (!EVP_PKEY_up_ref(given))
    return gcert_fail(err, GCERT_E_CRYPTO, "cannot reference key");
  *out = given;
  return GCERT_OK;
}

static gcert_status build_cert(X509 *cert, const gcert_spec *spec, time_t reference,
                               const gcert_item *issuer, EVP_PKEY *key, gcert_error *err) {
  X509_NAME *subject = NULL;
  ASN1_INTEGER *serial = NULL;
  const char *subject_text = spec->subject ? spec->subject : default_subject(spec->kind);
  gcert_status st = parse_name(subject_text, &subject, err);
  if (st == GCERT_OK)
    st = make_serial(spec->serial, &serial, err);
  if (st == GCERT_OK &&
      (!X509_set_version(cert, X509_VERSION_3) || !X509_set_serialNumber(cert, serial) ||
       !X509_set_subject_name(cert, subject) || !X509_set_pubkey(cert, key) ||
       !X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer->cert) : subject)))
    st = gcert_fail(err, GCERT_E_CRYPTO, "cannot fill certificate fields");
  X509_NAME_free(subject);
  ASN1_INTEGER_free(serial);
  if (st == GCERT_OK)
    st = set_validity(cert, reference, spec, err);
  if (st == GCERT_OK)
    st = add_extensions(cert, issuer ? issuer->cert : cert, spec, key, err);
  if (st == GCERT_OK && X509_sign(cert, issuer ? issuer->key : key, EVP_sha256()) <= 0)
    st = gcert_fail(err, GCERT_E_CRYPTO, "signing failed");
  return st;
}

gcert_status gcert_issue(const gcert_spec *spec, time_t reference, const gcert_item *issuer,
                         EVP_PKEY *key, gcert_item *out, gcert_error *err) {
  if (spec == NULL || out == NULL || (issuer != NULL && (!issuer->cert || !issuer->key)) ||
      (spec->dns_count > 0 && spec->dns == NULL) || (spec->ip_count > 0 && spec->ips == NULL))
    return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "incomplete spec or issuer");
  EVP_PKEY *own_key = NULL;
  gcert_status st = obtain_key(spec, key, &own_key, err);
  if (st != GCERT_OK)
    return st;
  X509 *cert = X509_new();
  if (cert == NULL)
    st = gcert_fail(err, GCERT_E_NOMEM, "out of memory");
  else
    st = build_cert(cert, spec, reference, issuer, own_key, err);
  if (st != GCERT_OK) {
    X509_free(cert);
    EVP_PKEY_free(own_key);
    return st;
  }
  out->cert = cert;
  out->key = own_key;
  return GCERT_OK;
}

STACK_OF(X509) * gcert_chain_make(X509 *leaf, X509 *const *issuers, size_t issuer_count,
                                  gcert_chain_shape shape) {
  STACK_OF(X509) *chain = sk_X509_new_null();
  if (chain == NULL || leaf == NULL)
    goto fail;
  size_t count = shape == GCERT_CHAIN_INCOMPLETE ? 0 : issuer_count;
  if (shape != GCERT_CHAIN_REVERSED && !X509_add_cert(chain, leaf, X509_ADD_FLAG_UP_REF))
    goto fail;
  for (size_t i = 0; i < count; i++) {
    X509 *next = issuers[shape == GCERT_CHAIN_REVERSED ? count - 1 - i : i];
    if (!X509_add_cert(chain, next, X509_ADD_FLAG_UP_REF))
      goto fail;
  }
  if (shape == GCERT_CHAIN_REVERSED && !X509_add_cert(chain, leaf, X509_ADD_FLAG_UP_REF))
    goto fail;
  return chain;
fail:
  sk_X509_pop_free(chain, X509_free);
  return NULL;
}
