/* support.c - see support.h. */
#include "support.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "gutil.h"

const char *test_fixture_path(const char *relative) {
  static char slots[4][1024];
  static unsigned next;
  const char *root = getenv("GATECERT_FIXTURES");
  assert_non_null(root);
  char *out = slots[next++ % 4];
  snprintf(out, sizeof(slots[0]), "%s/%s", root, relative);
  return out;
}

const char *test_scratch_dir(void) {
  static char dir[1024];
  if (dir[0] == '\0') {
    const char *base = getenv("GATECERT_TMP");
    assert_non_null(base);
    snprintf(dir, sizeof(dir), "%s", base);
    /* mkdir -p for the two levels CTest's path adds */
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
      if (*p == '/') {
        *p = '\0';
        mkdir(tmp, 0700);
        *p = '/';
      }
    }
    mkdir(tmp, 0700);
  }
  return dir;
}

char *test_scratch_path(const char *name) {
  const char *dir = test_scratch_dir();
  size_t n = strlen(dir) + strlen(name) + 2;
  char *path = malloc(n);
  assert_non_null(path);
  snprintf(path, n, "%s/%s", dir, name);
  return path;
}

void test_write(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (f == NULL)
    fail_msg("cannot write %s", path);
  if (len > 0 && fwrite(data, 1, len, f) != len)
    fail_msg("short write to %s", path);
  assert_int_equal(0, fclose(f));
}

int test_run(char **out, const char *bin_env, const char *fmt, ...) {
  const char *bin = getenv(bin_env);
  if (bin == NULL || *bin == '\0')
    fail_msg("%s is not set", bin_env);
  gu_text cmd = {0};
  gu_text_printf(&cmd, "'%s' ", bin);
  va_list ap;
  va_start(ap, fmt);
  char args[8192];
  int n = vsnprintf(args, sizeof(args), fmt, ap);
  va_end(ap);
  assert_true(n >= 0 && (size_t)n < sizeof(args));
  gu_text_printf(&cmd, "%s 2>&1", args);
  assert_false(cmd.failed);
  FILE *p = popen(cmd.data, "r"); // NOLINT(cert-env33-c): runs the program as a user would
  assert_non_null(p);
  gu_text_free(&cmd);
  gu_text text = {0};
  char chunk[4096];
  size_t got;
  while ((got = fread(chunk, 1, sizeof(chunk), p)) > 0)
    gu_text_add(&text, chunk, got);
  int status = pclose(p);
  assert_false(text.failed);
  *out = text.data ? gu_text_take(&text) : strdup("");
  assert_non_null(*out);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void test_issue(gcert_kind kind, const char *subject, const gcert_item *issuer, gcert_item *out) {
  gcert_spec spec;
  gcert_spec_init(&spec, kind);
  spec.subject = subject;
  static const char *const localhost[] = {"localhost"};
  if (kind == GCERT_KIND_SERVER) {
    spec.dns = localhost;
    spec.dns_count = 1;
  }
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_issue(&spec, TEST_REFERENCE, issuer, NULL, out, &err), &err);
}

char *test_pem(EVP_PKEY *key, X509 *cert, int private_key) {
  BIO *bio = BIO_new(BIO_s_mem());
  assert_non_null(bio);
  int ok = cert          ? PEM_write_bio_X509(bio, cert)
           : private_key ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
                         : PEM_write_bio_PUBKEY(bio, key);
  assert_int_equal(1, ok);
  char *data = NULL;
  long n = BIO_get_mem_data(bio, &data);
  char *out = strndup(data, (size_t)n);
  BIO_free(bio);
  assert_non_null(out);
  return out;
}

void test_keys_make(test_keys *k) {
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_key_generate(GCERT_KEY_RSA_2048, &k->rsa, &err), &err);
  assert_status(GCERT_OK, gcert_key_generate(GCERT_KEY_RSA_2048, &k->rsa_other, &err), &err);
  assert_status(GCERT_OK, gcert_key_generate(GCERT_KEY_EC_P256, &k->ec, &err), &err);
  k->rsa1024 = EVP_RSA_gen(1024);
  assert_non_null(k->rsa1024);
  k->rsa_pub = test_pem(k->rsa, NULL, 0);
  k->ec_pub = test_pem(k->ec, NULL, 0);
  k->rsa_priv = test_pem(k->rsa, NULL, 1);
  k->rsa1024_pub = test_pem(k->rsa1024, NULL, 0);
  size_t n = strlen(k->rsa_pub);
  k->rsa_pub_b64 = malloc(4 * ((n + 2) / 3) + 1);
  assert_non_null(k->rsa_pub_b64);
  EVP_EncodeBlock((unsigned char *)k->rsa_pub_b64, (const unsigned char *)k->rsa_pub, (int)n);
  gcert_spec spec;
  gcert_spec_init(&spec, GCERT_KIND_CLIENT);
  spec.subject = "CN=ec key manager";
  gcert_item item = {0};
  assert_status(GCERT_OK, gcert_issue(&spec, TEST_REFERENCE, NULL, k->ec, &item, &err), &err);
  k->ec_cert = test_pem(NULL, item.cert, 0);
  gcert_item_free(&item);
}

void test_keys_free(test_keys *k) {
  EVP_PKEY *keys[] = {k->rsa, k->rsa_other, k->ec, k->rsa1024};
  char *texts[] = {k->rsa_pub, k->ec_pub, k->ec_cert, k->rsa_priv, k->rsa1024_pub, k->rsa_pub_b64};
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    EVP_PKEY_free(keys[i]);
  for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
    free(texts[i]);
  memset(k, 0, sizeof(*k));
}

test_keys *test_keys_new(void) {
  test_keys *k = calloc(1, sizeof(*k));
  assert_non_null(k);
  test_keys_make(k);
  return k;
}

int test_keys_teardown(void **state) {
  test_keys_free(*state);
  free(*state);
  *state = NULL;
  return 0;
}

int test_same_cert(X509 *a, X509 *b) { return a != NULL && b != NULL && X509_cmp(a, b) == 0; }

int test_same_key(EVP_PKEY *a, EVP_PKEY *b) {
  return a != NULL && b != NULL && EVP_PKEY_eq(a, b) == 1;
}
