/* bench_pki.c - how fast a per-case PKI is made, with a peer for scale.
 *
 * Prints figures, asserts nothing about speed (machines differ). Measures:
 *   - the standard case PKI: root, intermediate and 8 leafs, EC P-256;
 *   - the full catalogue (every broken variant) in EC P-256 and RSA 2048;
 *   - the peer: the same 10 certificates made with the openssl CLI, as shell
 *     harnesses (badssl's Makefile among them) make theirs; run once, since it
 *     is slow, and only when `openssl` is on PATH.
 * Exits non-zero only if making a PKI fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend_support.h"
#include "gcert.h"

#define REFERENCE ((time_t)1893456000)
#define ROUNDS    50

/* root + intermediate + 8 leafs, like a scenario's pki: block. */
static int make_case_pki(gcert_key_type key_type) {
  gcert_item items[10] = {{0}};
  gcert_error err = {0};
  gcert_spec spec;
  int ok = 1;
  for (int i = 0; ok && i < 10; i++) {
    gcert_spec_init(&spec, i < 2 ? GCERT_KIND_CA : (i % 2 ? GCERT_KIND_CLIENT : GCERT_KIND_SERVER));
    spec.key_type = key_type;
    static const char *const dns[] = {"localhost"};
    spec.dns = dns;
    spec.dns_count = spec.kind == GCERT_KIND_SERVER;
    const gcert_item *issuer = i == 0 ? NULL : &items[i == 1 ? 0 : 1];
    ok = gcert_issue(&spec, REFERENCE, issuer, NULL, &items[i], &err) == GCERT_OK;
  }
  for (int i = 0; i < 10; i++)
    gcert_item_free(&items[i]);
  if (!ok)
    fprintf(stderr, "bench: %s\n", err.message);
  return ok;
}

static int make_catalogue(gcert_key_type key_type) {
  gcert_catalogue *cat = NULL;
  gcert_error err = {0};
  if (gcert_catalogue_make(REFERENCE, key_type, &cat, &err) != GCERT_OK) {
    fprintf(stderr, "bench: %s\n", err.message);
    return 0;
  }
  gcert_catalogue_free(cat);
  return 1;
}

/* Runs fn rounds times; prints median and p90; returns the median (ms). */
static double measure(const char *label, int (*fn)(gcert_key_type), gcert_key_type type,
                      int rounds) {
  double samples[ROUNDS] = {0};
  for (int i = 0; i < rounds; i++) {
    double t0 = gu_now_ms();
    if (!fn(type))
      exit(1);
    samples[i] = gu_now_ms() - t0;
  }
  bs_sort(samples, (size_t)rounds);
  double median = samples[rounds / 2];
  printf("%-44s median %8.2f ms   p90 %8.2f ms   (%d rounds)\n", label, median,
         samples[rounds * 9 / 10], rounds);
  return median;
}

/* The same 10 certificates with the openssl CLI, in a scratch directory. */
static double openssl_cli_peer(void) {
  // NOLINTNEXTLINE(cert-env33-c): the peer is the openssl CLI itself
  if (system("command -v openssl >/dev/null 2>&1") != 0)
    return -1;
  char dir[] = "/tmp/gatecert-bench-XXXXXX";
  if (mkdtemp(dir) == NULL)
    return -1;
  char script[4096];
  snprintf(script, sizeof(script),
           "set -e; cd %s;"
           "k() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1.key; };"
           "k root; openssl req -x509 -new -key root.key -subj /CN=root -days 3650 -out root.pem;"
           "k mid; openssl req -new -key mid.key -subj /CN=mid -out mid.csr;"
           "printf 'basicConstraints=critical,CA:TRUE\\n' > ca.ext;"
           "openssl x509 -req -in mid.csr -CA root.pem -CAkey root.key -CAcreateserial "
           "-days 1825 -extfile ca.ext -out mid.pem 2>/dev/null;"
           "printf 'subjectAltName=DNS:localhost\\n' > leaf.ext;"
           "for i in 1 2 3 4 5 6 7 8; do k l$i; "
           "openssl req -new -key l$i.key -subj /CN=localhost -out l$i.csr;"
           "openssl x509 -req -in l$i.csr -CA mid.pem -CAkey mid.key -CAcreateserial -days 365 "
           "-extfile leaf.ext -out l$i.pem 2>/dev/null; done",
           dir);
  double t0 = gu_now_ms();
  int rc = system(script); // NOLINT(cert-env33-c)
  double elapsed = gu_now_ms() - t0;
  char cleanup[128];
  snprintf(cleanup, sizeof(cleanup), "rm -rf %s", dir);
  if (system(cleanup) != 0 || rc != 0) // NOLINT(cert-env33-c)
    return -1;
  return elapsed;
}

int main(void) {
  printf("gatecert PKI factory benchmark (reference time fixed; %ld online CPUs)\n",
         sysconf(_SC_NPROCESSORS_ONLN));
  double case_pki = measure("case PKI: root+intermediate+8 leafs, EC P-256", make_case_pki,
                            GCERT_KEY_EC_P256, ROUNDS);
  measure("full catalogue (20 certs), EC P-256", make_catalogue, GCERT_KEY_EC_P256, ROUNDS);
  measure("full catalogue (20 certs), RSA 2048", make_catalogue, GCERT_KEY_RSA_2048, 3);
  double peer = openssl_cli_peer();
  if (peer > 0)
    printf("%-44s once   %8.2f ms   ratio openssl-cli/gatecert %.0fx\n",
           "peer: same 10 certs with the openssl CLI", peer, peer / case_pki);
  else
    printf("peer: openssl CLI unavailable, no ratio\n");
  printf("target: case PKI under 20 ms -> %s\n", case_pki < 20.0 ? "met" : "NOT met");
  return 0;
}
