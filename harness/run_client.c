/* run_client.c - the HTTP client of a call step, and what the call sends.
 *
 * gh_runner_call makes one request with libcurl to the gateway's HTTPS port
 * (or its load balancer's with via: lb), "localhost" resolved to 127.0.0.1:
 * by default a fresh connection without a TLS session cache; a step naming a
 * session: shares that name's TLS session cache (CURLSH), one naming a
 * connection: reuses that name's handle and so its kept-alive connection
 * (both live in the case_run until gh_runner_named_free). The client
 * certificate comes from the case's PKI; the gateway's own certificate is
 * not checked (it is not under test). A prereq callback records whether the
 * TLS session was resumed (OpenSSL's SSL_session_reused); the body and the
 * headers are collected in gu_texts bounded to BODY_LIMIT.
 *
 * gh_runner_extras_make prepares what a call sends beyond the scenario's
 * headers: a bearer token (a JWT minted with jwt/ on the fake clock, or
 * garbage) and the certificate header (the client certificate as url-pem,
 * base64-der, base64-pem, raw-pem or garbage). Tokens are cleansed from
 * memory when freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "gjwt.h"
#include "gutil.h"
#include "run_internal.h"

void gh_runner_call_free(call_result *c) {
  free(c->body);
  free(c->headers);
  memset(c, 0, sizeof(*c));
}

void gh_runner_extras_free(call_extras *x) {
  if (x->token) {
    OPENSSL_cleanse(x->token, strlen(x->token));
    free(x->token);
  }
  free(x->header_cert);
  memset(x, 0, sizeof(*x));
}

/* The TLS session cache of a call's session: name (shared by the calls naming it). */
static CURLSH *named_session(case_run *r, const char *name) {
  for (size_t i = 0; i < r->session_count; i++)
    if (strcmp(r->sessions[i].name, name) == 0)
      return r->sessions[i].share;
  if (r->session_count == MAX_NAMED)
    return NULL;
  CURLSH *share = curl_share_init();
  if (!share ||
      curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
    curl_share_cleanup(share);
    return NULL;
  }
  r->sessions[r->session_count].name = name;
  r->sessions[r->session_count++].share = share;
  return share;
}

/* The handle of a call's connection: name, whose connection cache keeps the
 * connection alive between the calls naming it. */
static CURL *named_connection(case_run *r, const char *name) {
  for (size_t i = 0; i < r->connection_count; i++)
    if (strcmp(r->connections[i].name, name) == 0) {
      curl_easy_reset(r->connections[i].handle); /* keeps live connections */
      return r->connections[i].handle;
    }
  if (r->connection_count == MAX_NAMED)
    return NULL;
  CURL *h = curl_easy_init();
  if (h) {
    r->connections[r->connection_count].name = name;
    r->connections[r->connection_count++].handle = h;
  }
  return h;
}

void gh_runner_named_free(case_run *r) {
  for (size_t i = 0; i < r->connection_count; i++)
    curl_easy_cleanup(r->connections[i].handle);
  for (size_t i = 0; i < r->session_count; i++)
    curl_share_cleanup(r->sessions[i].share);
  r->connection_count = r->session_count = 0;
}

/* Called by libcurl once the connection is up, before the request: whether
 * its TLS session was resumed (OpenSSL's SSL_session_reused). */
typedef struct tls_probe {
  CURL *handle;
  int resumed;
} tls_probe;

// NOLINTNEXTLINE(readability-non-const-parameter): libcurl's prereq callback type
static int probe_tls(void *arg, char *primary_ip, char *local_ip, int primary_port,
                     int local_port) {
  (void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
  tls_probe *probe = arg;
  struct curl_tlssessioninfo *info = NULL;
  if (curl_easy_getinfo(probe->handle, CURLINFO_TLS_SSL_PTR, &info) == CURLE_OK && info &&
      info->backend == CURLSSLBACKEND_OPENSSL && info->internals)
    probe->resumed = SSL_session_reused((SSL *)info->internals) == 1;
  return CURL_PREREQFUNC_OK;
}

void gh_runner_call(case_run *r, const gh_step *s, const gh_api_spec *api, const call_extras *x,
                    call_result *out) {
  memset(out, 0, sizeof(*out));
  int via_lb = s->via && strcmp(s->via, "lb") == 0;
  out->via_lb = via_lb;
  int port = via_lb ? (r->driver->ops->front_port ? r->driver->ops->front_port(r->driver) : -1)
                    : r->driver->ops->https_port(r->driver);
  char url[2048], resolve[64];
  snprintf(url, sizeof(url), "https://localhost:%d%s/%s%s", port, api->context, api->version,
           s->path ? s->path : "/");
  snprintf(resolve, sizeof(resolve), "localhost:%d:127.0.0.1", port);
  CURL *h = s->connection ? named_connection(r, s->connection) : curl_easy_init();
  CURLSH *share = s->session ? named_session(r, s->session) : NULL;
  if (!h || (s->session && !share)) {
    if (h && !s->connection)
      curl_easy_cleanup(h);
    out->code = CURLE_OUT_OF_MEMORY;
    return;
  }
  tls_probe probe = {h, -1};
  struct curl_slist *res_list = curl_slist_append(NULL, resolve);
  struct curl_slist *headers = NULL;
  for (size_t i = 0; i < s->header_count; i++) {
    char line[1024];
    snprintf(line, sizeof(line), "%s: %s", s->headers[i].name, s->headers[i].value);
    headers = curl_slist_append(headers, line);
  }
  char *auth = NULL, *cert_header = NULL;
  if (x->token) {
    size_t n = strlen(x->token) + 32;
    if ((auth = malloc(n)) != NULL) {
      snprintf(auth, n, "Authorization: Bearer %s", x->token);
      headers = curl_slist_append(headers, auth);
    }
  }
  if (x->header_cert) {
    const char *name = r->spec->gateway.certificate_header ? r->spec->gateway.certificate_header
                                                           : GH_CERT_HEADER_DEFAULT;
    size_t n = strlen(name) + strlen(x->header_cert) + 4;
    if ((cert_header = malloc(n)) != NULL) {
      snprintf(cert_header, n, "%s: %s", name, x->header_cert);
      headers = curl_slist_append(headers, cert_header);
    }
  }
  char cert_path[PATH_LEN], key_path[PATH_LEN];
  if (s->client_cert && strcmp(s->client_cert, "none") != 0) {
    gh_pki_path(&r->pki, s->client_cert, ".chain.pem", cert_path);
    gh_pki_path(&r->pki, s->client_cert, ".key", key_path);
    curl_easy_setopt(h, CURLOPT_SSLCERT, cert_path);
    curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(h, CURLOPT_SSLKEY, key_path);
  }
  gu_text body = {.limit = BODY_LIMIT}, head = {.limit = BODY_LIMIT};
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_RESOLVE, res_list);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, s->method ? s->method : "GET");
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (!s->connection) { /* a new connection each time, closed after the call */
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
  }
  if (share) { /* resume the session's TLS session when there is one */
    curl_easy_setopt(h, CURLOPT_SHARE, share);
    curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  }
  curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, probe_tls);
  curl_easy_setopt(h, CURLOPT_PREREQDATA, &probe);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L); /* the gateway's own cert is not under test */
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, CALL_TIMEOUT);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, out->error);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, gu_text_curl_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, gu_text_curl_write);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &head);
  out->code = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
  long connects = 0;
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
  out->connection_reused = out->code == CURLE_OK && connects == 0;
  out->resumed = probe.resumed;
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL); /* a named handle outlives the list */
  curl_easy_setopt(h, CURLOPT_RESOLVE, NULL);
  curl_easy_setopt(h, CURLOPT_SHARE, NULL);
  curl_slist_free_all(res_list);
  for (struct curl_slist *l = headers; l; l = l->next) /* the token's copy */
    OPENSSL_cleanse(l->data, strlen(l->data));
  curl_slist_free_all(headers);
  if (!s->connection)
    curl_easy_cleanup(h);
  if (auth) {
    OPENSSL_cleanse(auth, strlen(auth));
    free(auth);
  }
  free(cert_header);
  out->body = body.data;
  out->len = body.len;
  out->headers = head.data;
}

/* A bearer token for the call (malloc'd; the caller cleanses and frees it).
 * 0 or -1, with why. */
static int mint_token(case_run *r, const gh_token_spec *t, char **out, char *why, size_t why_len) {
  *out = NULL;
  if (t->kind == GH_TOKEN_GARBAGE) {
    *out = strdup("gatecert-garbage.this-is-not.a-jwt");
    return *out ? 0 : gu_fail(why, why_len, "out of memory");
  }
  const gh_gateway_spec *g = &r->spec->gateway;
  const char *key_name = t->key ? t->key : g->oauth_key;
  const gh_pki_spec *spec = gh_case_pki(r->spec, key_name);
  EVP_PKEY *key = gh_pki_private_key(&r->pki, key_name);
  if (!spec || !key)
    return gu_fail(why, why_len, "token: pki %s has no key", key_name ? key_name : "(none)");
  static unsigned long serial;
  char jti[64];
  snprintf(jti, sizeof(jti), "gatecert-%ld-%lu", (long)getpid(), ++serial);
  json_int_t now = (json_int_t)(r->fake_now / 1000);
  json_int_t iat = now + (json_int_t)(t->issued_at_ms / 1000);
  json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "iss",
                             t->issuer ? t->issuer : g->oauth_issuer, "sub", t->application, "azp",
                             t->application, "client_id", t->application, "iat", iat, "exp",
                             iat + (json_int_t)(t->lifetime_ms / 1000), "jti", jti);
  if (claims && t->has_not_before)
    json_object_set_new(claims, "nbf", json_integer(now + (json_int_t)(t->not_before_ms / 1000)));
  if (!claims)
    return gu_fail(why, why_len, "out of memory");
  gjwt_alg alg = spec->key == GH_KEY_EC ? GJWT_ES256 : GJWT_RS256;
  int rc = gjwt_sign(alg, key, GH_KEY_MANAGER_NAME, claims, out, why, why_len);
  json_decref(claims);
  return rc == 0 ? 0 : -1;
}

/* The value of the certificate header for a call (malloc'd), encoded as asked. */
static int header_cert_value(case_run *r, const gh_step *s, char **out, char *why, size_t why_len) {
  *out = NULL;
  const char *enc = s->header_encoding;
  if (strcmp(enc, "garbage") == 0) {
    *out = strdup("this-is-not-a-certificate");
    return *out ? 0 : gu_fail(why, why_len, "out of memory");
  }
  int der = strcmp(enc, "base64-der") == 0;
  gcert_buf bytes = {0};
  if (gh_pki_encode(&r->pki, s->header_cert, der ? "der" : "pem", &bytes, why, why_len) != 0)
    return -1;
  if (der || strcmp(enc, "base64-pem") == 0) {
    *out = malloc(4 * ((bytes.len + 2) / 3) + 1);
    if (*out)
      EVP_EncodeBlock((unsigned char *)*out, bytes.data, (int)bytes.len);
  } else if (strcmp(enc, "url-pem") == 0) {
    char *escaped = curl_easy_escape(NULL, (const char *)bytes.data, (int)bytes.len);
    *out = escaped ? strdup(escaped) : NULL;
    curl_free(escaped);
  } else { /* raw-pem: the PEM on one line, newlines as spaces */
    size_t n = bytes.len;
    while (n > 0 && (bytes.data[n - 1] == '\n' || bytes.data[n - 1] == '\r'))
      n--;
    if ((*out = malloc(n + 1)) != NULL) {
      size_t k = 0;
      for (size_t i = 0; i < n; i++)
        if (bytes.data[i] != '\r')
          (*out)[k++] = bytes.data[i] == '\n' ? ' ' : (char)bytes.data[i];
      (*out)[k] = '\0';
    }
  }
  gcert_buf_free(&bytes);
  return *out ? 0 : gu_fail(why, why_len, "out of memory");
}

int gh_runner_extras_make(case_run *r, const gh_step *s, call_extras *x, char *why,
                          size_t why_len) {
  memset(x, 0, sizeof(*x));
  int rc = 0;
  if (s->token.kind != GH_TOKEN_NONE)
    rc = mint_token(r, &s->token, &x->token, why, why_len);
  if (rc == 0 && s->header_encoding)
    rc = header_cert_value(r, s, &x->header_cert, why, why_len);
  if (rc != 0)
    gh_runner_extras_free(x);
  return rc;
}
