/* catalogue.c - `--catalogue`: one backend per way a backend can be wrong.
 *
 * Makes the certs/ catalogue at the reference time (--at, default now: under
 * libfaketime, the fake now), writes every certificate and key to the certs
 * directory (root.pem is what a client trusts; keys 0600), writes the chain
 * each backend sends and the client-CA bundles, and appends one spec per row
 * of catalogue_backends. A row says which certificate, which chain shape, and
 * what else is odd about it; its description is what the table prints.
 */
#include "backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gcert.h"

typedef enum chain_shape {
  SHAPE_NONE = 0, /* no TLS at all (refuse, reset, stall) */
  SHAPE_FULL,     /* leaf and intermediates, root left out */
  SHAPE_LEAF,     /* leaf only: the intermediate is missing */
  SHAPE_REVERSED  /* leaf, then root, then intermediate */
} chain_shape;

typedef struct catalogue_backend {
  const char *name;
  const char *cert_row;
  chain_shape shape;
  gcb_client_auth client_auth;
  const char *client_ca; /* file in the certs dir */
  gcb_tls tls;
  gcb_fault fault;
  unsigned delay_ms;
  const char *description;
} catalogue_backend;

static const catalogue_backend catalogue_backends[] = {
    {"valid", "server", SHAPE_FULL, GCB_CLIENT_NONE, NULL, GCB_TLS_ANY, GCB_FAULT_NONE, 0,
     "nothing: trust root.pem, connect as localhost"},
    {"expired", "server-expired", SHAPE_FULL, GCB_CLIENT_NONE, NULL, GCB_TLS_ANY, GCB_FAULT_NONE, 0,
     "certificate expired a day ago"},
    {"not-yet-valid", "server-not-yet-valid", SHAPE_FULL, GCB_CLIENT_NONE, NULL, GCB_TLS_ANY,
     GCB_FAULT_NONE, 0, "certificate valid from tomorrow"},
    {"wrong-host", "server-wrong-host", SHAPE_FULL, GCB_CLIENT_NONE, NULL, GCB_TLS_ANY,
     GCB_FAULT_NONE, 0, "certificate names wrong.host.invalid"},
    {"no-san", "server-no-san", SHAPE_FULL, GCB_CLIENT_NONE, NULL, GCB_TLS_ANY, GCB_FAULT_NONE, 0,
     "CN=localhost but no subjectAltName"},
    {"self-signed", "self-signed", SHAPE_FULL, GCB_CLIENT_NONE, NULL, GCB_TLS_ANY, GCB_FAULT_NONE,
     0, "self-signed certificate"},
    {"untrusted-root", "server-untrusted", SHAPE_FULL, GCB_CLIENT_NONE, NULL, GCB_TLS_ANY,
     GCB_FAULT_NONE, 0, "issued by untrusted-root.pem, not root.pem"},
    {"incomplete-chain", "server", SHAPE_LEAF, GCB_CLIENT_NONE, NULL, GCB_TLS_ANY, GCB_FAULT_NONE,
     0, "sends the leaf without its intermediate"},
    {"reversed-chain", "server", SHAPE_REVERSED, GCB_CLIENT_NONE, NULL, GCB_TLS_ANY, GCB_FAULT_NONE,
     0, "sends leaf, root, intermediate"},
    {"wrong-eku", "server-wrong-eku", SHAPE_FULL, GCB_CLIENT_NONE, NULL, GCB_TLS_ANY,
     GCB_FAULT_NONE, 0, "certificate is for clientAuth only"},
    {"expired-intermediate", "server-expired-intermediate", SHAPE_FULL, GCB_CLIENT_NONE, NULL,
     GCB_TLS_ANY, GCB_FAULT_NONE, 0, "valid leaf under an expired intermediate"},
    {"tls12-only", "server", SHAPE_FULL, GCB_CLIENT_NONE, NULL, GCB_TLS_12, GCB_FAULT_NONE, 0,
     "speaks TLS 1.2 only"},
    {"tls13-only", "server", SHAPE_FULL, GCB_CLIENT_NONE, NULL, GCB_TLS_13, GCB_FAULT_NONE, 0,
     "speaks TLS 1.3 only"},
    {"client-optional", "server", SHAPE_FULL, GCB_CLIENT_OPTIONAL, "client-ca.pem", GCB_TLS_ANY,
     GCB_FAULT_NONE, 0, "asks for a client certificate (client.pem), accepts none"},
    {"client-required", "server", SHAPE_FULL, GCB_CLIENT_REQUIRE, "client-ca.pem", GCB_TLS_ANY,
     GCB_FAULT_NONE, 0, "requires a client certificate (client.pem)"},
    {"client-cert-missing", "server", SHAPE_FULL, GCB_CLIENT_REQUIRE, "untrusted-root.pem",
     GCB_TLS_ANY, GCB_FAULT_NONE, 0, "requires a client cert, trusts only untrusted-root.pem"},
    {"slow", "server", SHAPE_FULL, GCB_CLIENT_NONE, NULL, GCB_TLS_ANY, GCB_FAULT_NONE, 2000,
     "answers after 2 s"},
    {"refuse", NULL, SHAPE_NONE, GCB_CLIENT_NONE, NULL, GCB_TLS_ANY, GCB_FAULT_REFUSE, 0,
     "connection refused"},
    {"reset", NULL, SHAPE_NONE, GCB_CLIENT_NONE, NULL, GCB_TLS_ANY, GCB_FAULT_RESET, 0,
     "resets the connection after accept"},
    {"stall", NULL, SHAPE_NONE, GCB_CLIENT_NONE, NULL, GCB_TLS_ANY, GCB_FAULT_STALL, 0,
     "accepts and never answers the TLS handshake"},
    {"garbage", "server", SHAPE_FULL, GCB_CLIENT_NONE, NULL, GCB_TLS_ANY, GCB_FAULT_GARBAGE, 0,
     "answers with bytes that are not HTTP"},
    {"close-mid-body", "server", SHAPE_FULL, GCB_CLIENT_NONE, NULL, GCB_TLS_ANY,
     GCB_FAULT_CLOSE_MID_BODY, 0, "closes after 10 of 1000 body bytes"},
};

#define BACKEND_COUNT (sizeof(catalogue_backends) / sizeof(catalogue_backends[0]))

static char *path_in(const char *dir, const char *name, const char *suffix) {
  size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
  char *path = malloc(n);
  if (path != NULL)
    snprintf(path, n, "%s/%s%s", dir, name, suffix);
  return path;
}

/* Writes certs (every certificate of the stack) to dir/name+suffix. */
static int write_certs(const char *dir, const char *name, const char *suffix,
                       STACK_OF(X509) * certs, char *why, size_t why_len) {
  gcert_store store;
  gcert_store_init(&store);
  gcert_error err = {0};
  gcert_buf pem = {0};
  char *path = path_in(dir, name, suffix);
  gcert_status st = path ? GCERT_OK : GCERT_E_NOMEM;
  for (int i = 0; st == GCERT_OK && i < sk_X509_num(certs); i++)
    st = gcert_store_add_trusted(&store, NULL, sk_X509_value(certs, i), &err);
  if (st == GCERT_OK)
    st = gcert_pem_write(&store, NULL, &pem, &err);
  if (st == GCERT_OK)
    st = gcert_file_save(path, pem.data, pem.len, 0, &err);
  if (st != GCERT_OK)
    snprintf(why, why_len, "%s%s: %s", name, suffix, err.message);
  gcert_buf_free(&pem);
  gcert_store_free(&store);
  free(path);
  return st == GCERT_OK ? 0 : -1;
}

static int write_key(const char *dir, const char *name, EVP_PKEY *key, char *why, size_t why_len) {
  gcert_error err = {0};
  gcert_buf pem = {0};
  char *path = path_in(dir, name, ".key");
  gcert_status st = path ? gcert_pem_write_key(key, NULL, &pem, &err) : GCERT_E_NOMEM;
  if (st == GCERT_OK)
    st = gcert_file_save(path, pem.data, pem.len, 1, &err);
  if (st != GCERT_OK)
    snprintf(why, why_len, "%s.key: %s", name, err.message);
  gcert_buf_cleanse_free(&pem);
  free(path);
  return st == GCERT_OK ? 0 : -1;
}

/* Every row's certificate and key, and the client-CA bundle. */
static int write_catalogue(const gcert_catalogue *cat, const char *dir, char *why, size_t why_len) {
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < gcert_catalogue_count(cat); i++) {
    const gcert_item *item = gcert_catalogue_item(cat, i);
    STACK_OF(X509) *one = sk_X509_new_null();
    rc = one && sk_X509_push(one, item->cert) ? 0 : -1;
    if (rc == 0)
      rc = write_certs(dir, gcert_catalogue_name(cat, i), ".pem", one, why, why_len);
    if (rc == 0)
      rc = write_key(dir, gcert_catalogue_name(cat, i), item->key, why, why_len);
    sk_X509_free(one);
  }
  STACK_OF(X509) *cas = gcert_catalogue_chain(cat, "intermediate", 1);
  if (rc == 0)
    rc = cas ? write_certs(dir, "client-ca", ".pem", cas, why, why_len) : -1;
  sk_X509_pop_free(cas, X509_free);
  return rc;
}

/* The chain a backend sends, shaped as its row says. */
static STACK_OF(X509) * shaped_chain(const gcert_catalogue *cat, const catalogue_backend *row) {
  STACK_OF(X509) *chain = gcert_catalogue_chain(cat, row->cert_row, row->shape == SHAPE_REVERSED);
  if (chain == NULL)
    return NULL;
  if (row->shape == SHAPE_LEAF) {
    while (sk_X509_num(chain) > 1)
      X509_free(sk_X509_pop(chain));
  } else if (row->shape == SHAPE_REVERSED) {
    /* leaf, intermediate, root -> leaf, root, intermediate */
    STACK_OF(X509) *reversed = sk_X509_new_null();
    X509 *leaf = sk_X509_shift(chain);
    if (reversed == NULL || !sk_X509_push(reversed, leaf)) {
      X509_free(leaf);
      sk_X509_free(reversed);
      sk_X509_pop_free(chain, X509_free);
      return NULL;
    }
    while (sk_X509_num(chain) > 0)
      sk_X509_push(reversed, sk_X509_pop(chain));
    sk_X509_free(chain);
    chain = reversed;
  }
  return chain;
}

static int add_spec(gcb_options *opt, const gcert_catalogue *cat, const catalogue_backend *row,
                    char *why, size_t why_len) {
  if (opt->count == GCB_MAX_BACKENDS) {
    snprintf(why, why_len, "too many backends");
    return -1;
  }
  gcb_spec *spec = &opt->specs[opt->count++];
  snprintf(spec->name, sizeof(spec->name), "%s", row->name);
  spec->client_auth = row->client_auth;
  spec->tls = row->tls;
  spec->fault = row->fault;
  spec->delay_ms = row->delay_ms;
  spec->description = row->description;
  if (row->client_ca != NULL &&
      (spec->client_ca = path_in(opt->certs_dir, row->client_ca, "")) == NULL)
    return -1;
  if (row->shape == SHAPE_NONE)
    return 0;
  char chain_name[GCB_NAME_MAX + 16];
  snprintf(chain_name, sizeof(chain_name), "backend-%s", row->name);
  STACK_OF(X509) *chain = shaped_chain(cat, row);
  int rc = chain ? write_certs(opt->certs_dir, chain_name, ".chain.pem", chain, why, why_len) : -1;
  sk_X509_pop_free(chain, X509_free);
  spec->cert = path_in(opt->certs_dir, chain_name, ".chain.pem");
  spec->key = path_in(opt->certs_dir, row->cert_row, ".key");
  return rc == 0 && spec->cert && spec->key ? 0 : -1;
}

int gcb_catalogue_specs(gcb_options *opt, char *why, size_t why_len) {
  time_t reference = 0;
  gcert_error err = {0};
  if (gcert_time_parse(opt->at ? opt->at : "now", &reference, &err) != GCERT_OK) {
    snprintf(why, why_len, "--at: %s", err.message);
    return -1;
  }
  if (mkdir(opt->certs_dir, 0755) != 0 && errno != EEXIST) {
    snprintf(why, why_len, "cannot create %s: %s", opt->certs_dir, strerror(errno));
    return -1;
  }
  gcert_catalogue *cat = NULL;
  if (gcert_catalogue_make(reference, GCERT_KEY_EC_P256, &cat, &err) != GCERT_OK) {
    snprintf(why, why_len, "%s", err.message);
    return -1;
  }
  int rc = write_catalogue(cat, opt->certs_dir, why, why_len);
  for (size_t i = 0; rc == 0 && i < BACKEND_COUNT; i++)
    rc = add_spec(opt, cat, &catalogue_backends[i], why, why_len);
  if (rc != 0 && why[0] == '\0')
    snprintf(why, why_len, "cannot prepare the catalogue");
  gcert_catalogue_free(cat);
  return rc;
}
