/* catalogue.c - the standard per-case PKI, made from a table in one call.
 *
 * Each row of catalogue_rows says what one certificate is and what is wrong
 * with it, like badssl.com's list; rows are issued in order, so a row's issuer
 * is always made before it. Everything is dated from the caller's reference
 * time. Scenarios and mock backends look certificates up by row name.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define DAY ((int64_t)86400)

typedef struct catalogue_row {
  const char *name;
  const char *issuer; /* row name, or NULL: self-signed */
  gcert_kind kind;
  const char *subject;
  int64_t not_before;
  int64_t not_after;
  gcert_eku eku;
  const char *dns; /* one DNS SAN, or NULL */
  int with_ips;    /* add 127.0.0.1 and ::1 */
  const char *description;
} catalogue_row;

static const catalogue_row catalogue_rows[] = {
    {"root", NULL, GCERT_KIND_CA, "CN=gatecert Root CA,O=gatecert", -DAY, 3650 * DAY,
     GCERT_EKU_DEFAULT, NULL, 0, "root CA, valid for 10 years"},
    {"intermediate", "root", GCERT_KIND_CA, "CN=gatecert Intermediate CA,O=gatecert", -DAY,
     1825 * DAY, GCERT_EKU_DEFAULT, NULL, 0, "intermediate CA under root"},
    {"server", "intermediate", GCERT_KIND_SERVER, "CN=localhost,O=gatecert", -3600, 365 * DAY,
     GCERT_EKU_DEFAULT, "localhost", 1, "valid server: localhost, 127.0.0.1, ::1"},
    {"client", "intermediate", GCERT_KIND_CLIENT, "CN=gatecert client,O=gatecert", -3600, 365 * DAY,
     GCERT_EKU_DEFAULT, NULL, 0, "valid client certificate"},
    {"server-expired", "intermediate", GCERT_KIND_SERVER, "CN=localhost,OU=expired,O=gatecert",
     -30 * DAY, -DAY, GCERT_EKU_DEFAULT, "localhost", 1, "expired a day before the reference"},
    {"server-not-yet-valid", "intermediate", GCERT_KIND_SERVER,
     "CN=localhost,OU=not yet valid,O=gatecert", DAY, 30 * DAY, GCERT_EKU_DEFAULT, "localhost", 1,
     "valid from a day after the reference"},
    {"server-expiring", "intermediate", GCERT_KIND_SERVER, "CN=localhost,OU=expiring,O=gatecert",
     -3600, 60, GCERT_EKU_DEFAULT, "localhost", 1, "valid, expires 60 s after the reference"},
    {"server-wrong-eku", "intermediate", GCERT_KIND_SERVER, "CN=localhost,OU=wrong EKU,O=gatecert",
     -3600, 365 * DAY, GCERT_EKU_CLIENT, "localhost", 1, "server certificate with clientAuth only"},
    {"client-wrong-eku", "intermediate", GCERT_KIND_CLIENT,
     "CN=gatecert client,OU=wrong EKU,O=gatecert", -3600, 365 * DAY, GCERT_EKU_SERVER, NULL, 0,
     "client certificate with serverAuth only"},
    {"server-wrong-host", "intermediate", GCERT_KIND_SERVER, "CN=wrong.host.invalid,O=gatecert",
     -3600, 365 * DAY, GCERT_EKU_DEFAULT, "wrong.host.invalid", 0,
     "names wrong.host.invalid, not localhost"},
    {"server-no-san", "intermediate", GCERT_KIND_SERVER, "CN=localhost,OU=no SAN,O=gatecert", -3600,
     365 * DAY, GCERT_EKU_DEFAULT, NULL, 0, "CN=localhost and no subjectAltName"},
    {"self-signed", NULL, GCERT_KIND_SERVER, "CN=localhost,OU=self-signed,O=gatecert", -3600,
     365 * DAY, GCERT_EKU_DEFAULT, "localhost", 1, "self-signed server certificate"},
    {"intermediate-expired", "root", GCERT_KIND_CA,
     "CN=gatecert Expired Intermediate CA,O=gatecert", -60 * DAY, -DAY, GCERT_EKU_DEFAULT, NULL, 0,
     "intermediate CA that expired a day ago"},
    {"server-expired-intermediate", "intermediate-expired", GCERT_KIND_SERVER,
     "CN=localhost,OU=under expired intermediate,O=gatecert", -3600, 365 * DAY, GCERT_EKU_DEFAULT,
     "localhost", 1, "valid leaf under an expired intermediate"},
    {"server-leaf-issuer", "server", GCERT_KIND_SERVER,
     "CN=localhost,OU=issued by a leaf,O=gatecert", -3600, 365 * DAY, GCERT_EKU_DEFAULT,
     "localhost", 1, "issued by the server leaf, which says CA:FALSE"},
    {"root-rotated", NULL, GCERT_KIND_CA, "CN=gatecert Root CA,O=gatecert", -DAY, 3650 * DAY,
     GCERT_EKU_DEFAULT, NULL, 0, "rotated root: same subject as root, new key"},
    {"server-rotated", "root-rotated", GCERT_KIND_SERVER, "CN=localhost,OU=rotated,O=gatecert",
     -3600, 365 * DAY, GCERT_EKU_DEFAULT, "localhost", 1, "server issued by the rotated root"},
    {"untrusted-root", NULL, GCERT_KIND_CA, "CN=gatecert Untrusted Root CA,O=elsewhere", -DAY,
     3650 * DAY, GCERT_EKU_DEFAULT, NULL, 0, "a root nobody trusts"},
    {"server-untrusted", "untrusted-root", GCERT_KIND_SERVER,
     "CN=localhost,OU=untrusted root,O=elsewhere", -3600, 365 * DAY, GCERT_EKU_DEFAULT, "localhost",
     1, "server under the untrusted root"},
    {"client-untrusted", "untrusted-root", GCERT_KIND_CLIENT,
     "CN=gatecert client,OU=untrusted root,O=elsewhere", -3600, 365 * DAY, GCERT_EKU_DEFAULT, NULL,
     0, "client under the untrusted root"},
};

#define ROW_COUNT (sizeof(catalogue_rows) / sizeof(catalogue_rows[0]))

struct gcert_catalogue {
  gcert_item items[ROW_COUNT];
};

static size_t row_index(const char *name) {
  for (size_t i = 0; i < ROW_COUNT; i++) {
    if (strcmp(catalogue_rows[i].name, name) == 0)
      return i;
  }
  return ROW_COUNT;
}

static gcert_status issue_row(gcert_catalogue *cat, size_t i, time_t reference,
                              gcert_key_type key_type, gcert_error *err) {
  static const char *const ips[] = {"127.0.0.1", "::1"};
  const catalogue_row *row = &catalogue_rows[i];
  gcert_spec spec;
  gcert_spec_init(&spec, row->kind);
  spec.subject = row->subject;
  spec.key_type = key_type;
  spec.not_before = row->not_before;
  spec.not_after = row->not_after;
  spec.eku = row->eku;
  spec.dns = row->dns ? &row->dns : NULL;
  spec.dns_count = row->dns ? 1 : 0;
  spec.ips = row->with_ips ? ips : NULL;
  spec.ip_count = row->with_ips ? 2 : 0;
  const gcert_item *issuer = NULL;
  if (row->issuer != NULL) {
    size_t j = row_index(row->issuer);
    if (j >= i) /* the table is wrong: an issuer must come first */
      return gcert_fail_plain(err, GCERT_E_INVALID_ARG, "catalogue row %s: issuer %s not made yet",
                              row->name, row->issuer);
    issuer = &cat->items[j];
  }
  gcert_status st = gcert_issue(&spec, reference, issuer, NULL, &cat->items[i], err);
  if (st != GCERT_OK && err != NULL) {
    char inner[sizeof(err->message)];
    memcpy(inner, err->message, sizeof(inner));
    gcert_fail_plain(err, st, "catalogue row %s: %.200s", row->name, inner);
  }
  return st;
}

gcert_status gcert_catalogue_make(time_t reference, gcert_key_type key_type, gcert_catalogue **out,
                                  gcert_error *err) {
  gcert_catalogue *cat = calloc(1, sizeof(*cat));
  if (cat == NULL)
    return gcert_fail_plain(err, GCERT_E_NOMEM, "out of memory");
  for (size_t i = 0; i < ROW_COUNT; i++) {
    gcert_status st = issue_row(cat, i, reference, key_type, err);
    if (st != GCERT_OK) {
      gcert_catalogue_free(cat);
      return st;
    }
  }
  *out = cat;
  return GCERT_OK;
}

void gcert_catalogue_free(gcert_catalogue *catalogue) {
  if (catalogue == NULL)
    return;
  for (size_t i = 0; i < ROW_COUNT; i++)
    gcert_item_free(&catalogue->items[i]);
  free(catalogue);
}

size_t gcert_catalogue_count(const gcert_catalogue *catalogue) {
  (void)catalogue;
  return ROW_COUNT;
}

const char *gcert_catalogue_name(const gcert_catalogue *catalogue, size_t i) {
  (void)catalogue;
  return i < ROW_COUNT ? catalogue_rows[i].name : NULL;
}

const char *gcert_catalogue_description(const gcert_catalogue *catalogue, size_t i) {
  (void)catalogue;
  return i < ROW_COUNT ? catalogue_rows[i].description : NULL;
}

const char *gcert_catalogue_issuer(const gcert_catalogue *catalogue, size_t i) {
  (void)catalogue;
  return i < ROW_COUNT ? catalogue_rows[i].issuer : NULL;
}

const gcert_item *gcert_catalogue_item(const gcert_catalogue *catalogue, size_t i) {
  return catalogue != NULL && i < ROW_COUNT ? &catalogue->items[i] : NULL;
}

const gcert_item *gcert_catalogue_get(const gcert_catalogue *catalogue, const char *name) {
  size_t i = name != NULL ? row_index(name) : ROW_COUNT;
  return gcert_catalogue_item(catalogue, i);
}

STACK_OF(X509) *
    gcert_catalogue_chain(const gcert_catalogue *catalogue, const char *name, int with_root) {
  size_t i = name != NULL ? row_index(name) : ROW_COUNT;
  if (catalogue == NULL || i == ROW_COUNT)
    return NULL;
  STACK_OF(X509) *chain = sk_X509_new_null();
  if (chain == NULL || !X509_add_cert(chain, catalogue->items[i].cert, X509_ADD_FLAG_UP_REF))
    goto fail;
  /* rows only name earlier rows as issuers, so this walk always ends */
  for (const char *issuer = catalogue_rows[i].issuer; issuer != NULL;
       issuer = catalogue_rows[i].issuer) {
    i = row_index(issuer);
    if (catalogue_rows[i].issuer == NULL && !with_root)
      break;
    if (!X509_add_cert(chain, catalogue->items[i].cert, X509_ADD_FLAG_UP_REF))
      goto fail;
  }
  return chain;
fail:
  sk_X509_pop_free(chain, X509_free);
  return NULL;
}
