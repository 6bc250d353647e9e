/* tls.c - a backend's TLS identity and what each handshake looked like.
 *
 * The server context sends exactly the chain from the spec's file, in file
 * order (automatic chain building is off, so an incomplete chain stays
 * incomplete), asks for client certificates as the spec says, pins the TLS
 * version, and disables session resumption so every connection is a full
 * handshake that verifies the client certificate again.
 *
 * Every accepted SSL carries a gcb_conn (ex_data, freed with the SSL). The
 * verify callback keeps the first client-certificate error; the info callback
 * sees fatal alerts in either direction and reports one handshake_failed
 * event per connection, naming who gave up and why: "client certificate
 * rejected: certificate has expired", "no client certificate", or "client
 * sent alert: unknown ca" when the client did not trust this backend.
 */
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "gcert.h"

struct gcb_conn {
  gcb_backend *backend;
  int verify_error; /* first X509_V_ERR seen on the client certificate */
  int reported;     /* an event was written for this connection */
  uint64_t number;  /* 1 for the backend's first connection, then 2, ... */
  X509 *presented;  /* the client's leaf as seen by the verify callback */
};

static void conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
  (void)parent;
  (void)ad;
  (void)idx;
  (void)argl;
  (void)argp;
  gcb_conn *conn = ptr;
  if (conn != NULL)
    X509_free(conn->presented);
  free(conn);
}

int gcb_tls_conn_index(void) { return SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_free); }

gcb_conn *gcb_tls_conn(gcb_backend *b, SSL *ssl) { return SSL_get_ex_data(ssl, b->conn_index); }

int gcb_conn_claim_report(gcb_conn *conn) {
  if (conn == NULL || conn->reported)
    return 0;
  conn->reported = 1;
  return 1;
}

/* The backend an SSL belongs to: its context's app data. */
static gcb_backend *backend_of(const SSL *ssl) {
  return SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
}

static int verify_cb(int ok, X509_STORE_CTX *store) {
  SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
  gcb_backend *b = ssl ? backend_of(ssl) : NULL;
  gcb_conn *conn = b ? gcb_tls_conn(b, ssl) : NULL;
  X509 *leaf = X509_STORE_CTX_get0_cert(store);
  if (conn != NULL && conn->presented == NULL && leaf != NULL && X509_up_ref(leaf))
    conn->presented = leaf;
  if (!ok && conn != NULL && conn->verify_error == X509_V_OK)
    conn->verify_error = X509_STORE_CTX_get_error(store);
  return ok;
}

/* Why the handshake failed, from this side's point of view. */
static void describe_failure(const SSL *ssl, const gcb_conn *conn, int from_peer, int alert,
                             char *out, size_t len) {
  if (from_peer)
    snprintf(out, len, "client sent alert: %s", SSL_alert_desc_string_long(alert));
  else if (conn->verify_error != X509_V_OK)
    snprintf(out, len, "client certificate rejected: %s",
             X509_verify_cert_error_string(conn->verify_error));
  else if (SSL_get0_peer_certificate(ssl) == NULL &&
           (SSL_get_verify_mode(ssl) & SSL_VERIFY_FAIL_IF_NO_PEER_CERT))
    snprintf(out, len, "no client certificate");
  else
    snprintf(out, len, "handshake failed, sent alert: %s", SSL_alert_desc_string_long(alert));
}

static void info_cb(const SSL *ssl, int where, int ret) {
  if (!(where & SSL_CB_ALERT) || (ret >> 8) != SSL3_AL_FATAL)
    return;
  gcb_backend *b = backend_of(ssl);
  gcb_conn *conn = b ? gcb_tls_conn(b, (SSL *)ssl) : NULL;
  if (conn == NULL || SSL_is_init_finished(ssl) || !gcb_conn_claim_report(conn))
    return;
  char why[256];
  describe_failure(ssl, conn, (where & SSL_CB_READ) != 0, ret & 0xff, why, sizeof(why));
  gcb_facts facts = {.event = "handshake_failed", .error = why, .ssl = (SSL *)ssl};
  json_decref(gcb_report_event(b, &facts));
}

static int fail(char *why, size_t why_len, const char *what, const char *detail) {
  unsigned long e = ERR_get_error();
  snprintf(why, why_len, "%s%s%s%s%s", what, detail ? ": " : "", detail ? detail : "",
           e ? ": " : "", e ? ERR_reason_error_string(e) : "");
  ERR_clear_error();
  return -1;
}

/* Certificate chain and key from the spec's PEM files. */
static int load_identity(SSL_CTX *ctx, const gcb_spec *spec, char *why, size_t why_len) {
  gcert_store chain;
  gcert_store_init(&chain);
  gcert_error err = {0};
  if (gcert_read_file(spec->cert, GCERT_FORMAT_PEM, NULL, &chain, &err) != GCERT_OK) {
    snprintf(why, why_len, "%s: %s: %s", spec->cert, gcert_status_name(err.status), err.message);
    return -1;
  }
  gcert_buf key_pem = {0};
  EVP_PKEY *key = NULL;
  int rc = -1;
  if (gcert_file_load(spec->key, GCERT_MAX_INPUT, &key_pem, &err) != GCERT_OK ||
      gcert_pem_read_key(key_pem.data, key_pem.len, NULL, &key, &err) != GCERT_OK) {
    snprintf(why, why_len, "%s: %s: %s", spec->key, gcert_status_name(err.status), err.message);
    goto done;
  }
  /* entries are trusted-cert entries in file order (the file holds no key) */
  if (chain.count == 0 || chain.entries[0].key != NULL) {
    snprintf(why, why_len, "%s: expected certificates only, leaf first", spec->cert);
    goto done;
  }
  if (SSL_CTX_use_certificate(ctx, sk_X509_value(chain.entries[0].chain, 0)) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    fail(why, why_len, "certificate and key do not fit", spec->cert);
    goto done;
  }
  for (size_t i = 1; i < chain.count; i++) {
    if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain.entries[i].chain, 0)) != 1) {
      fail(why, why_len, "cannot add chain certificate", spec->cert);
      goto done;
    }
  }
  rc = 0;
done:
  EVP_PKEY_free(key);
  gcert_buf_cleanse_free(&key_pem);
  gcert_store_free(&chain);
  return rc;
}

/* Client certificate policy: who is asked, who is trusted. */
static int load_client_auth(SSL_CTX *ctx, const gcb_spec *spec, char *why, size_t why_len) {
  if (spec->client_auth == GCB_CLIENT_NONE) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    return 0;
  }
  int mode = SSL_VERIFY_PEER;
  if (spec->client_auth == GCB_CLIENT_REQUIRE)
    mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx, mode, verify_cb);
  if (spec->client_ca == NULL)
    return 0; /* asked, but nothing verifies: every presented cert fails */
  gcert_store cas;
  gcert_store_init(&cas);
  gcert_error err = {0};
  if (gcert_read_file(spec->client_ca, GCERT_FORMAT_PEM, NULL, &cas, &err) != GCERT_OK) {
    snprintf(why, why_len, "%s: %s: %s", spec->client_ca, gcert_status_name(err.status),
             err.message);
    return -1;
  }
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
  int rc = names != NULL ? 0 : -1;
  for (size_t i = 0; rc == 0 && i < cas.count; i++) {
    X509 *ca = sk_X509_value(cas.entries[i].chain, 0);
    X509_NAME *name = X509_NAME_dup(X509_get_subject_name(ca));
    if (X509_STORE_add_cert(store, ca) != 1 || name == NULL || !sk_X509_NAME_push(names, name)) {
      X509_NAME_free(name);
      rc = fail(why, why_len, "cannot trust client CA", spec->client_ca);
    }
  }
  if (rc == 0)
    SSL_CTX_set_client_CA_list(ctx, names); /* takes ownership */
  else
    sk_X509_NAME_pop_free(names, X509_NAME_free);
  gcert_store_free(&cas);
  return rc;
}

int gcb_tls_context(gcb_backend *b, char *why, size_t why_len) {
  const gcb_spec *spec = b->spec;
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == NULL)
    return fail(why, why_len, "cannot create TLS context", NULL);
  SSL_CTX_set_app_data(ctx, b);
  SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
  if (spec->sessions) { /* resumable: to catch a client that resumes when it must not */
    static const unsigned char id_context[] = "gatecert-backend";
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_session_id_context(ctx, id_context, sizeof(id_context) - 1);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
  }
  SSL_CTX_set_info_callback(ctx, info_cb);
  int version = spec->tls == GCB_TLS_12   ? TLS1_2_VERSION
                : spec->tls == GCB_TLS_13 ? TLS1_3_VERSION
                                          : 0;
  int ok = SSL_CTX_set_min_proto_version(ctx, version ? version : TLS1_2_VERSION) &&
           SSL_CTX_set_max_proto_version(ctx, version);
  if (!ok || load_identity(ctx, spec, why, why_len) != 0 ||
      load_client_auth(ctx, spec, why, why_len) != 0) {
    if (!ok)
      fail(why, why_len, "cannot set TLS version", NULL);
    SSL_CTX_free(ctx);
    return -1;
  }
  b->ssl_ctx = ctx;
  return 0;
}

SSL *gcb_tls_new_ssl(gcb_backend *b) {
  SSL *ssl = SSL_new(b->ssl_ctx);
  gcb_conn *conn = calloc(1, sizeof(*conn));
  if (ssl == NULL || conn == NULL || !SSL_set_ex_data(ssl, b->conn_index, conn)) {
    free(conn);
    SSL_free(ssl);
    return NULL;
  }
  conn->backend = b;
  conn->verify_error = X509_V_OK;
  conn->number = ++b->connections;
  return ssl;
}

uint64_t gcb_conn_number(const gcb_conn *conn) { return conn ? conn->number : 0; }

X509 *gcb_tls_client_cert(gcb_backend *b, SSL *ssl) {
  X509 *cert = SSL_get0_peer_certificate(ssl);
  if (cert != NULL)
    return cert;
  gcb_conn *conn = gcb_tls_conn(b, ssl);
  return conn != NULL ? conn->presented : NULL; /* rejected during the handshake */
}
