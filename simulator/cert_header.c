/* cert_header.c - the load balancer's client certificate header decoded into
 * one X.509 certificate (security.c reads it in load balancer mode; the fuzz
 * target tests/fuzz/fuzz_cert_header.c runs it alone).
 *
 * As WSO2's Utils.getClientCertificate does: with client_certificate_encode
 * true the value is URL-decoded, its BEGIN/END CERTIFICATE lines and every
 * whitespace byte dropped, base64-decoded (twice when the first round gives
 * PEM text: base64 of a PEM), and must be exactly one DER certificate; with it
 * false the value is a PEM certificate whose newlines came as spaces, rebuilt
 * line by line for OpenSSL. A value over GSIM_MAX_CERT_HEADER bytes is refused
 * before any decoding. Pure: no state, no log; the reason goes to why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "security.h"
#include "sim_limits.h"

/* Drops BEGIN/END CERTIFICATE lines and every whitespace byte, in place. */
static size_t strip_armour(char *text, size_t len) {
  static const char *const markers[] = {"-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"};
  size_t out = 0;
  for (size_t i = 0; i < len;) {
    int skipped = 0;
    for (size_t k = 0; k < 2 && !skipped; k++) {
      size_t n = strlen(markers[k]);
      if (len - i >= n && memcmp(text + i, markers[k], n) == 0) {
        i += n;
        skipped = 1;
      }
    }
    if (skipped)
      continue;
    char c = text[i++];
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
      text[out++] = c;
  }
  return out;
}

/* Standard base64 of exactly len bytes into out (3/4 len + 3); -1 if invalid. */
static long base64_decode(const char *in, size_t len, unsigned char *out) {
  if (len == 0 || len % 4 != 0 || len > INT32_MAX)
    return -1;
  int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
  if (n < 0)
    return -1;
  size_t pad = 0;
  while (pad < 2 && in[len - 1 - pad] == '=')
    pad++;
  return (long)n - (long)pad;
}

static X509 *der_cert(const unsigned char *der, long len) {
  const unsigned char *p = der;
  X509 *cert = d2i_X509(NULL, &p, len);
  if (cert && p != der + len) { /* trailing bytes: not one certificate */
    X509_free(cert);
    cert = NULL;
  }
  return cert;
}

/* client_certificate_encode = true: URL-decode, strip, base64 (twice for a
 * base64 of PEM), DER. */
static X509 *decode_encoded(const char *value, char *why, size_t why_len) {
  size_t len = 0;
  char *text = evhttp_uridecode(value, 0, &len);
  if (!text) {
    snprintf(why, why_len, "the header does not URL-decode");
    return NULL;
  }
  X509 *cert = NULL;
  unsigned char *der = NULL;
  for (int round = 0; round < 2 && !cert; round++) {
    len = strip_armour(text, len);
    free(der);
    der = malloc(len / 4 * 3 + 3);
    long n = der ? base64_decode(text, len, der) : -1;
    if (n <= 0) {
      snprintf(why, why_len, "the header is not base64 (%zu characters after stripping)", len);
      break;
    }
    static const char begin[] = "-----BEGIN";
    if (round == 0 && (size_t)n > sizeof(begin) && memcmp(der, begin, sizeof(begin) - 1) == 0) {
      memcpy(text, der, (size_t)n); /* base64 of a PEM: decode its body in turn */
      len = (size_t)n;
      continue;
    }
    cert = der_cert(der, n);
    if (!cert)
      snprintf(why, why_len, "the header's bytes are not one X.509 certificate");
    break;
  }
  free(der);
  free(text);
  return cert;
}

/* client_certificate_encode = false: a PEM whose newlines came as spaces. */
static X509 *decode_raw_pem(const char *value, char *why, size_t why_len) {
  static const char begin[] = "-----BEGIN CERTIFICATE-----";
  static const char end[] = "-----END CERTIFICATE-----";
  const char *b = strstr(value, begin);
  const char *e = b ? strstr(b + sizeof(begin) - 1, end) : NULL;
  if (!b || !e) {
    snprintf(why, why_len, "the header is not a PEM certificate");
    return NULL;
  }
  const char *body = b + sizeof(begin) - 1;
  size_t body_len = (size_t)(e - body);
  size_t cap = sizeof(begin) + body_len + sizeof(end) + 4;
  char *pem = malloc(cap);
  if (!pem) {
    snprintf(why, why_len, "out of memory");
    return NULL;
  }
  size_t n = 0;
  memcpy(pem + n, begin, sizeof(begin) - 1);
  n += sizeof(begin) - 1;
  pem[n++] = '\n';
  for (size_t i = 0; i < body_len; i++) {
    char c = body[i] == ' ' ? '\n' : body[i];
    if (c != '\n' || pem[n - 1] != '\n') /* no empty lines: OpenSSL ends the body there */
      pem[n++] = c;
  }
  if (pem[n - 1] != '\n')
    pem[n++] = '\n';
  memcpy(pem + n, end, sizeof(end) - 1);
  n += sizeof(end) - 1;
  pem[n++] = '\n';
  BIO *bio = BIO_new_mem_buf(pem, (int)n);
  X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
  BIO_free(bio);
  free(pem);
  if (!cert)
    snprintf(why, why_len, "the header's PEM does not parse");
  return cert;
}

X509 *gsim_cert_header_decode(const char *value, int encoded, char *why, size_t why_len) {
  if (strlen(value) > GSIM_MAX_CERT_HEADER) {
    snprintf(why, why_len, "the header is longer than %zu bytes", GSIM_MAX_CERT_HEADER);
    return NULL;
  }
  return encoded ? decode_encoded(value, why, why_len) : decode_raw_pem(value, why, why_len);
}
