/* fuzz_cert_header.c - the fuzz target of the load balancer's client
 * certificate header decoder (simulator/cert_header.c:
 * gsim_cert_header_decode, the header value -> X509 step security.c runs in
 * load balancer mode).
 *
 * Built two ways (CMakeLists.txt here): with clang's libFuzzer into
 * fuzz_cert_header, and with the project's compiler and replay.c's main into
 * fuzz_cert_header_replay, a unit test. The input's first byte's bit 0 is
 * client_certificate_encode (1: URL-encoded base64 of DER or of PEM, the
 * wso2 profiles' default; 0: PEM with spaces for newlines); the rest is the
 * header value (up to a NUL), NUL-terminated in a buffer of exactly that size.
 * Which decoding a profile uses is the gateway config's client_certificate_encode
 * (every profile allows both); whether the header is read at all depends on
 * the TLS peer (the lb-header rule row) and is not fuzzed here. Seeds:
 * fixtures/cert-header/ (made by make-cert-header-seeds.sh).
 *
 * Invariants, each an abort() with its name on stderr when broken:
 *   - NULL comes with a non-empty NUL-terminated reason;
 *   - a value over GSIM_MAX_CERT_HEADER bytes is refused;
 *   - a certificate decoded from the header, written back the way a load
 *     balancer sends it in the same mode (base64 of its DER, URL-encoded; or
 *     its PEM with spaces for newlines), decodes to the same certificate.
 */
#include "fuzz.h"
#include "security.h"
#include "sim_limits.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

/* What replay.c inserts: armour, base64 and URL-encoding punctuation. */
static const char *const header_tokens[] = {"-----BEGIN CERTIFICATE-----",
                                            "-----END CERTIFICATE-----",
                                            " ",
                                            "\t",
                                            "\r\n",
                                            "%2B",
                                            "%2F",
                                            "%3D",
                                            "%0A",
                                            "%20",
                                            "%",
                                            "+",
                                            "/",
                                            "=",
                                            "==",
                                            "LS0tLS1CRUdJTi",
                                            "MII",
                                            NULL};

size_t gh_fuzz_tokens_for(const uint8_t *data, size_t size, char tokens[][GH_FUZZ_TOKEN_LEN],
                          size_t max) {
  (void)data;
  (void)size;
  return gh_fuzz_tokens_from_list(header_tokens, tokens, max);
}

#define CHECK(cond) GH_FUZZ_CHECK("fuzz_cert_header", cond)

/* The header a load balancer would send for cert: malloc'd. */
static char *as_header(X509 *cert, int encoded) {
  if (encoded) {
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);
    CHECK(n > 0);
    char *b64 = malloc((size_t)n / 3 * 4 + 8);
    CHECK(b64 != NULL);
    EVP_EncodeBlock((unsigned char *)b64, der, n);
    OPENSSL_free(der);
    char *uri = evhttp_uriencode(b64, -1, 0);
    free(b64);
    CHECK(uri != NULL);
    return uri;
  }
  BIO *bio = BIO_new(BIO_s_mem());
  CHECK(bio != NULL && PEM_write_bio_X509(bio, cert) == 1);
  char *p = NULL;
  long n = BIO_get_mem_data(bio, &p);
  char *pem = malloc((size_t)n + 1);
  CHECK(pem != NULL);
  for (long i = 0; i < n; i++)
    pem[i] = p[i] == '\n' ? ' ' : p[i];
  pem[n] = '\0';
  BIO_free(bio);
  return pem;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  int encoded = data[0] & 1;
  size_t n = size - 1;
  char *value = malloc(n + 1);
  if (value == NULL)
    return 0;
  memcpy(value, data + 1, n);
  value[n] = '\0';
  char why[160];
  memset(why, 'z', sizeof(why));
  why[sizeof(why) - 1] = '\0';
  why[0] = '\0';
  X509 *cert = gsim_cert_header_decode(value, encoded, why, sizeof(why));
  if (cert == NULL) {
    CHECK(why[0] != '\0' && strnlen(why, sizeof(why)) < sizeof(why));
  } else {
    CHECK(strlen(value) <= GSIM_MAX_CERT_HEADER);
    char *again = as_header(cert, encoded);
    char why2[160] = "";
    X509 *back = gsim_cert_header_decode(again, encoded, why2, sizeof(why2));
    if (back == NULL)
      fprintf(stderr, "fuzz_cert_header: written back: %s\n", why2);
    CHECK(back != NULL || strlen(again) > GSIM_MAX_CERT_HEADER);
    CHECK(back == NULL || X509_cmp(cert, back) == 0);
    X509_free(back);
    free(again);
    X509_free(cert);
  }
  ERR_clear_error();
  free(value);
  return 0;
}
