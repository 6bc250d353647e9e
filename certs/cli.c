/* cli.c - `gatecert certs`: the factory and the formats from the command line.
 *
 *   demo     make the whole catalogue, write it in every format, read every
 *            file back, and print what was made (the main job until the
 *            scenario runner exists)
 *   issue    make one certificate and key (issuer given by its files)
 *   inspect  read any supported file and list its entries
 *   convert  read one format and write another
 *
 * Reference times are explicit (--at, "now" included); passwords come from
 * files (--password-file), never from argv where `ps` would show them, and
 * never appear in output. Files holding private keys are written 0600.
 * Exit codes: 0 success, 1 an input or output failed, 2 usage error.
 */
#include "internal.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/rand.h>

#include "gutil.h"

#define CLI_MAX_SANS 32
#define CLI_PATH_MAX 4096

typedef struct cli_password {
  char value[1024];
  int set;
} cli_password;

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "gatecert certs: ");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(see `gatecert certs --help`)\n");
  return 2;
}

static int report(const gcert_error *err) {
  fprintf(stderr, "gatecert certs: error: %s: %s\n", gcert_status_name(err->status), err->message);
  return 1;
}

/* Reads the first line of a file as the password. */
static gcert_status load_password(const char *path, cli_password *out, gcert_error *err) {
  gcert_buf buf = {0};
  gcert_status st = gcert_file_load(path, sizeof(out->value) - 1, &buf, err);
  if (st != GCERT_OK)
    return st;
  size_t n = 0;
  while (n < buf.len && buf.data[n] != '\n' && buf.data[n] != '\r' && buf.data[n] != '\0')
    n++;
  memcpy(out->value, buf.data, n);
  out->value[n] = '\0';
  out->set = 1;
  gcert_buf_cleanse_free(&buf);
  return GCERT_OK;
}

static const char *password_of(const cli_password *p) { return p->set ? p->value : NULL; }

static int parse_key_type(const char *text, gcert_key_type *out) {
  static const char *const names[GCERT_KEY_TYPE_COUNT] = {"ec", "rsa2048", "rsa3072"};
  for (int i = 0; i < GCERT_KEY_TYPE_COUNT; i++) {
    if (strcmp(text, names[i]) == 0) {
      *out = (gcert_key_type)i;
      return 1;
    }
  }
  return 0;
}

static int parse_eku(const char *text, gcert_eku *out) {
  static const char *const names[] = {"default", "none", "server", "client", "both"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    if (strcmp(text, names[i]) == 0) {
      *out = (gcert_eku)i;
      return 1;
    }
  }
  return 0;
}

static gcert_status save_buf(const char *path, gcert_buf *buf, int private_data, gcert_error *err) {
  gcert_status st = gcert_file_save(path, buf->data, buf->len, private_data, err);
  gcert_buf_cleanse_free(buf);
  return st;
}

/* ---- writing any format ------------------------------------------------- */

typedef struct write_options {
  gcert_format format;
  const char *password; /* store / key password; NULL: none */
  int pem_armour;       /* PKCS#7 */
} write_options;

static gcert_status write_store(const gcert_store *store, const write_options *opt,
                                const char *path, gcert_error *err) {
  gcert_buf buf = {0};
  gcert_status st;
  switch (opt->format) {
  case GCERT_FORMAT_PEM:
    st = gcert_pem_write(store, opt->password, &buf, err);
    break;
  case GCERT_FORMAT_DER:
    st = store->count > 0 ? gcert_der_write(sk_X509_value(store->entries[0].chain, 0), &buf, err)
                          : gcert_fail_plain(err, GCERT_E_NO_CERT, "nothing to write");
    break;
  case GCERT_FORMAT_PKCS7:
    st = gcert_pkcs7_write(store, opt->pem_armour, &buf, err);
    break;
  case GCERT_FORMAT_PKCS12:
    st = gcert_pkcs12_write(store, opt->password, &buf, err);
    break;
  case GCERT_FORMAT_JKS:
    st = gcert_jks_write(store, opt->password, &buf, err);
    break;
  case GCERT_FORMAT_SAPJAR:
    st = gcert_sapjar_write(store, "main.pem", "privateKey.pem", opt->password, &buf, err);
    break;
  default:
    st = gcert_fail_plain(err, GCERT_E_INVALID_ARG, "cannot write format %s",
                          gcert_format_name(opt->format));
  }
  if (st != GCERT_OK)
    return st;
  int has_key = 0;
  for (size_t i = 0; i < store->count; i++)
    has_key |= store->entries[i].key != NULL;
  return save_buf(path, &buf, has_key, err);
}

/* ---- inspect -------------------------------------------------------------- */

static void print_cert(FILE *out, X509 *cert, time_t reference, const char *indent) {
  gcert_info info;
  gcert_error err = {0};
  if (gcert_describe(cert, reference, &info, &err) != GCERT_OK) {
    fprintf(out, "%s(cannot describe: %s)\n", indent, err.message);
    return;
  }
  char from[32], to[32];
  strftime(from, sizeof(from), "%Y-%m-%dT%H:%M:%SZ", gmtime(&info.not_before));
  strftime(to, sizeof(to), "%Y-%m-%dT%H:%M:%SZ", gmtime(&info.not_after));
  fprintf(out, "%ssubject  %s\n%sissuer   %s\n%sserial   0x%s\n", indent, info.subject, indent,
          info.issuer, indent, info.serial_hex);
  fprintf(out, "%svalid    %s .. %s (%s)%s%s\n%ssha256   %s\n", indent, from, to,
          gcert_validity_name(info.validity), info.is_ca ? ", CA" : "",
          info.self_signed ? ", self-signed" : "", indent, info.sha256_hex);
}

static void print_store(FILE *out, const gcert_store *store, time_t reference) {
  for (size_t i = 0; i < store->count; i++) {
    const gcert_entry *e = &store->entries[i];
    fprintf(out, "entry %zu: %s%s%s%s, %d certificate%s\n", i,
            e->key ? "private key " : "trusted certificate", e->key ? "(" : "",
            e->key ? EVP_PKEY_get0_type_name(e->key) : "", e->key ? ")" : "", sk_X509_num(e->chain),
            sk_X509_num(e->chain) == 1 ? "" : "s");
    if (e->alias)
      fprintf(out, "  alias    %s\n", e->alias);
    for (int j = 0; j < sk_X509_num(e->chain); j++) {
      fprintf(out, "  [%d]\n", j);
      print_cert(out, sk_X509_value(e->chain, j), reference, "    ");
    }
  }
}

static int cmd_inspect(int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                       {"password-file", required_argument, NULL, 'p'},
                                       {"at", required_argument, NULL, 'a'},
                                       {NULL, 0, NULL, 0}};
  gcert_format format = GCERT_FORMAT_AUTO;
  cli_password password = {0};
  time_t reference = 0;
  int have_reference = 0;
  gcert_error err = {0};
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (c == 'f' && (format = gcert_format_from_name(optarg)) == GCERT_FORMAT_COUNT)
      return usage_error("unknown format '%s'", optarg);
    if (c == 'p' && load_password(optarg, &password, &err) != GCERT_OK)
      return report(&err);
    if (c == 'a' && gcert_time_parse(optarg, &reference, &err) != GCERT_OK)
      return report(&err);
    have_reference |= c == 'a';
    if (c == '?')
      return 2;
  }
  if (optind + 1 != argc)
    return usage_error("inspect takes one file");
  if (!have_reference)
    reference = time(NULL); /* inspection only: says "valid now" for the user */
  gcert_store store;
  gcert_store_init(&store);
  gcert_buf buf = {0};
  gcert_status st = gcert_file_load(argv[optind], GCERT_MAX_INPUT, &buf, &err);
  if (st == GCERT_OK && format == GCERT_FORMAT_AUTO)
    format = gcert_format_detect(buf.data, buf.len);
  if (st == GCERT_OK)
    st = gcert_read(format == GCERT_FORMAT_COUNT ? GCERT_FORMAT_AUTO : format, buf.data, buf.len,
                    password_of(&password), &store, &err);
  gcert_buf_cleanse_free(&buf);
  OPENSSL_cleanse(&password, sizeof(password));
  if (st != GCERT_OK)
    return report(&err);
  printf("%s: %s, %zu entr%s\n", argv[optind], gcert_format_name(format), store.count,
         store.count == 1 ? "y" : "ies");
  print_store(stdout, &store, reference);
  gcert_store_free(&store);
  return 0;
}

/* ---- convert ------------------------------------------------------------- */

static int cmd_convert(int argc, char **argv) {
  static const struct option opts[] = {{"from", required_argument, NULL, 'f'},
                                       {"to", required_argument, NULL, 't'},
                                       {"password-file", required_argument, NULL, 'p'},
                                       {"out-password-file", required_argument, NULL, 'o'},
                                       {"alias", required_argument, NULL, 'n'},
                                       {"pem", no_argument, NULL, 'P'},
                                       {NULL, 0, NULL, 0}};
  gcert_format from = GCERT_FORMAT_AUTO;
  write_options wopt = {.format = GCERT_FORMAT_COUNT};
  cli_password in_password = {0}, out_password = {0};
  const char *alias = NULL;
  gcert_error err = {0};
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (c == 'f' && (from = gcert_format_from_name(optarg)) == GCERT_FORMAT_COUNT)
      return usage_error("unknown format '%s'", optarg);
    if (c == 't' && ((wopt.format = gcert_format_from_name(optarg)) == GCERT_FORMAT_COUNT ||
                     wopt.format == GCERT_FORMAT_AUTO))
      return usage_error("unknown output format '%s'", optarg);
    if ((c == 'p' && load_password(optarg, &in_password, &err) != GCERT_OK) ||
        (c == 'o' && load_password(optarg, &out_password, &err) != GCERT_OK))
      return report(&err);
    if (c == 'n')
      alias = optarg;
    wopt.pem_armour |= c == 'P';
    if (c == '?')
      return 2;
  }
  if (optind + 2 != argc || wopt.format == GCERT_FORMAT_COUNT)
    return usage_error("convert needs IN OUT and --to FORMAT");
  gcert_store store;
  gcert_store_init(&store);
  gcert_status st = gcert_read_file(argv[optind], from, password_of(&in_password), &store, &err);
  /* Stores without aliases (PEM, DER, PKCS#7, JAR) get them for JKS/PKCS#12. */
  for (size_t i = 0; st == GCERT_OK && i < store.count; i++) {
    gcert_entry *e = &store.entries[i];
    if (e->alias != NULL)
      continue;
    char name[300];
    if (alias != NULL && store.count == 1)
      snprintf(name, sizeof(name), "%s", alias);
    else
      snprintf(name, sizeof(name), "%s-%zu", alias ? alias : "entry", i);
    if ((e->alias = strdup(name)) == NULL)
      st = gcert_fail_plain(&err, GCERT_E_NOMEM, "out of memory");
  }
  wopt.password = out_password.set ? out_password.value : password_of(&in_password);
  if (st == GCERT_OK)
    st = write_store(&store, &wopt, argv[optind + 1], &err);
  OPENSSL_cleanse(&in_password, sizeof(in_password));
  OPENSSL_cleanse(&out_password, sizeof(out_password));
  gcert_store_free(&store);
  return st == GCERT_OK ? 0 : report(&err);
}

/* ---- issue ---------------------------------------------------------------- */

typedef struct issue_args {
  gcert_spec spec;
  const char *dns[CLI_MAX_SANS];
  const char *ips[CLI_MAX_SANS];
  const char *issuer_prefix;
  const char *out_prefix;
  time_t reference;
  int have_reference;
} issue_args;

static int parse_kind(const char *text, gcert_kind *out) {
  static const char *const names[] = {"ca", "server", "client"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    if (strcmp(text, names[i]) == 0) {
      *out = (gcert_kind)i;
      return 1;
    }
  }
  return 0;
}

static int parse_issue_args(int argc, char **argv, issue_args *a, gcert_error *err) {
  static const struct option opts[] = {{"kind", required_argument, NULL, 'k'},
                                       {"subject", required_argument, NULL, 's'},
                                       {"issuer", required_argument, NULL, 'i'},
                                       {"out", required_argument, NULL, 'o'},
                                       {"at", required_argument, NULL, 'a'},
                                       {"dns", required_argument, NULL, 'd'},
                                       {"ip", required_argument, NULL, 'I'},
                                       {"not-before", required_argument, NULL, 'b'},
                                       {"not-after", required_argument, NULL, 'e'},
                                       {"key", required_argument, NULL, 'K'},
                                       {"serial", required_argument, NULL, 'n'},
                                       {"eku", required_argument, NULL, 'u'},
                                       {NULL, 0, NULL, 0}};
  gcert_kind kind = GCERT_KIND_SERVER;
  for (int i = 1; i < argc; i++) { /* kind first: it sets the spec's defaults */
    if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc && !parse_kind(argv[i + 1], &kind))
      return usage_error("unknown kind '%s' (ca, server, client)", argv[i + 1]);
  }
  gcert_spec_init(&a->spec, kind);
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'k':
      break;
    case 's':
      a->spec.subject = optarg;
      break;
    case 'i':
      a->issuer_prefix = optarg;
      break;
    case 'o':
      a->out_prefix = optarg;
      break;
    case 'a':
      if (gcert_time_parse(optarg, &a->reference, err) != GCERT_OK)
        return report(err);
      a->have_reference = 1;
      break;
    case 'd':
    case 'I':
      if ((c == 'd' ? a->spec.dns_count : a->spec.ip_count) >= CLI_MAX_SANS)
        return usage_error("at most 32 --dns and 32 --ip");
      if (c == 'd')
        a->dns[a->spec.dns_count++] = optarg;
      else
        a->ips[a->spec.ip_count++] = optarg;
      break;
    case 'b':
    case 'e':
      if (gcert_duration_parse(optarg, c == 'b' ? &a->spec.not_before : &a->spec.not_after, err) !=
          GCERT_OK)
        return report(err);
      break;
    case 'K':
      if (!parse_key_type(optarg, &a->spec.key_type))
        return usage_error("unknown key type '%s' (ec, rsa2048, rsa3072)", optarg);
      break;
    case 'n':
      a->spec.serial = optarg;
      break;
    case 'u':
      if (!parse_eku(optarg, &a->spec.eku))
        return usage_error("unknown EKU '%s' (default, none, server, client, both)", optarg);
      break;
    default:
      return 2;
    }
  }
  if (a->out_prefix == NULL || !a->have_reference || optind != argc)
    return usage_error("issue needs --out PREFIX and --at TIME");
  a->spec.dns = a->dns;
  a->spec.ips = a->ips;
  return 0;
}

static gcert_status load_issuer(const char *prefix, gcert_item *out, gcert_error *err) {
  char path[CLI_PATH_MAX];
  gcert_store store;
  gcert_store_init(&store);
  snprintf(path, sizeof(path), "%s.pem", prefix);
  gcert_status st = gcert_read_file(path, GCERT_FORMAT_PEM, NULL, &store, err);
  gcert_buf key_pem = {0};
  snprintf(path, sizeof(path), "%s.key", prefix);
  if (st == GCERT_OK)
    st = gcert_file_load(path, GCERT_MAX_INPUT, &key_pem, err);
  if (st == GCERT_OK)
    st = gcert_pem_read_key(key_pem.data, key_pem.len, NULL, &out->key, err);
  gcert_buf_cleanse_free(&key_pem);
  if (st == GCERT_OK) {
    out->cert = sk_X509_value(store.entries[0].chain, 0);
    X509_up_ref(out->cert);
  }
  gcert_store_free(&store);
  return st;
}

static gcert_status save_item(const gcert_item *item, const char *prefix, gcert_error *err) {
  char path[CLI_PATH_MAX];
  gcert_store one;
  gcert_store_init(&one);
  gcert_buf buf = {0};
  gcert_status st = gcert_store_add_trusted(&one, NULL, item->cert, err);
  if (st == GCERT_OK)
    st = gcert_pem_write(&one, NULL, &buf, err);
  snprintf(path, sizeof(path), "%s.pem", prefix);
  if (st == GCERT_OK)
    st = save_buf(path, &buf, 0, err);
  if (st == GCERT_OK)
    st = gcert_pem_write_key(item->key, NULL, &buf, err);
  snprintf(path, sizeof(path), "%s.key", prefix);
  if (st == GCERT_OK)
    st = save_buf(path, &buf, 1, err);
  gcert_store_free(&one);
  return st;
}

static int cmd_issue(int argc, char **argv) {
  issue_args a = {0};
  gcert_error err = {0};
  int rc = parse_issue_args(argc, argv, &a, &err);
  if (rc != 0)
    return rc;
  gcert_item issuer = {0}, item = {0};
  gcert_status st = GCERT_OK;
  if (a.issuer_prefix != NULL)
    st = load_issuer(a.issuer_prefix, &issuer, &err);
  if (st == GCERT_OK)
    st = gcert_issue(&a.spec, a.reference, a.issuer_prefix ? &issuer : NULL, NULL, &item, &err);
  if (st == GCERT_OK)
    st = save_item(&item, a.out_prefix, &err);
  if (st == GCERT_OK) {
    printf("%s.pem, %s.key (0600)\n", a.out_prefix, a.out_prefix);
    print_cert(stdout, item.cert, a.reference, "  ");
  }
  gcert_item_free(&issuer);
  gcert_item_free(&item);
  return st == GCERT_OK ? 0 : report(&err);
}

/* ---- demo ------------------------------------------------------------- */

/* The stores the demo writes, each read back afterwards. */
typedef struct demo_file {
  const char *file;
  gcert_format format;
  const char *key_row; /* the key entry, or NULL for trust stores */
  int pem_armour;
} demo_file;

static const demo_file demo_files[] = {
    {"server-with-key.pem", GCERT_FORMAT_PEM, "server", 0},
    {"server.der", GCERT_FORMAT_DER, NULL, 0},
    {"truststore.p7b", GCERT_FORMAT_PKCS7, NULL, 0},
    {"truststore.pem.p7b", GCERT_FORMAT_PKCS7, NULL, 1},
    {"server.p12", GCERT_FORMAT_PKCS12, "server", 0},
    {"client.p12", GCERT_FORMAT_PKCS12, "client", 0},
    {"truststore.jks", GCERT_FORMAT_JKS, NULL, 0},
    {"client.jks", GCERT_FORMAT_JKS, "client", 0},
    {"server-keystore.jar", GCERT_FORMAT_SAPJAR, "server", 0},
};

static gcert_status demo_store(const gcert_catalogue *cat, const demo_file *f, gcert_store *out,
                               gcert_error *err) {
  if (f->key_row != NULL) {
    STACK_OF(X509) *chain = gcert_catalogue_chain(cat, f->key_row, 0);
    if (chain == NULL)
      return gcert_fail(err, GCERT_E_NOMEM, "out of memory");
    gcert_status st =
        gcert_store_add_key(out, f->key_row, gcert_catalogue_get(cat, f->key_row)->key, chain, err);
    sk_X509_pop_free(chain, X509_free);
    return st;
  }
  if (f->format == GCERT_FORMAT_DER)
    return gcert_store_add_trusted(out, "server", gcert_catalogue_get(cat, "server")->cert, err);
  static const char *const trusted[] = {"root", "intermediate"};
  gcert_status st = GCERT_OK;
  for (size_t i = 0; st == GCERT_OK && i < 2; i++)
    st = gcert_store_add_trusted(out, trusted[i], gcert_catalogue_get(cat, trusted[i])->cert, err);
  return st;
}

static gcert_status demo_write_files(const gcert_catalogue *cat, const char *dir,
                                     const char *password, gcert_error *err) {
  gcert_status st = GCERT_OK;
  for (size_t i = 0; st == GCERT_OK && i < sizeof(demo_files) / sizeof(demo_files[0]); i++) {
    const demo_file *f = &demo_files[i];
    char path[CLI_PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, f->file);
    gcert_store store;
    gcert_store_init(&store);
    st = demo_store(cat, f, &store, err);
    write_options opt = {
        f->format,
        f->key_row || f->format == GCERT_FORMAT_JKS || f->format == GCERT_FORMAT_PKCS12 ? password
                                                                                        : NULL,
        f->pem_armour};
    if (st == GCERT_OK)
      st = write_store(&store, &opt, path, err);
    gcert_store_free(&store);
  }
  for (size_t i = 0; st == GCERT_OK && i < gcert_catalogue_count(cat); i++) {
    char prefix[CLI_PATH_MAX];
    snprintf(prefix, sizeof(prefix), "%s/%s", dir, gcert_catalogue_name(cat, i));
    st = save_item(gcert_catalogue_item(cat, i), prefix, err);
  }
  return st;
}

static void demo_print_catalogue(const gcert_catalogue *cat, time_t reference) {
  printf("%-28s %-14s %-18s %s\n", "certificate", "at reference", "sha256 (prefix)", "what it is");
  for (size_t i = 0; i < gcert_catalogue_count(cat); i++) {
    gcert_info info;
    gcert_error err = {0};
    if (gcert_describe(gcert_catalogue_item(cat, i)->cert, reference, &info, &err) != GCERT_OK)
      continue;
    printf("%-28s %-14s %.16s   %s\n", gcert_catalogue_name(cat, i),
           gcert_validity_name(info.validity), info.sha256_hex,
           gcert_catalogue_description(cat, i));
  }
}

static int demo_read_back(const char *dir, const char *password) {
  printf("\n%-22s %-7s %-8s %s\n", "file", "format", "entries", "read back");
  int failures = 0;
  for (size_t i = 0; i < sizeof(demo_files) / sizeof(demo_files[0]); i++) {
    char path[CLI_PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, demo_files[i].file);
    gcert_store store;
    gcert_store_init(&store);
    gcert_error err = {0};
    gcert_status st = gcert_read_file(path, GCERT_FORMAT_AUTO, password, &store, &err);
    printf("%-22s %-7s %-8zu %s%s%s\n", demo_files[i].file, gcert_format_name(demo_files[i].format),
           store.count, st == GCERT_OK ? "ok" : gcert_status_name(st), st == GCERT_OK ? "" : ": ",
           st == GCERT_OK ? "" : err.message);
    failures += st != GCERT_OK;
    gcert_store_free(&store);
  }
  return failures;
}

static int cmd_demo(int argc, char **argv) {
  static const struct option opts[] = {{"at", required_argument, NULL, 'a'},
                                       {"out", required_argument, NULL, 'o'},
                                       {"key", required_argument, NULL, 'k'},
                                       {NULL, 0, NULL, 0}};
  const char *dir = NULL;
  time_t reference = 0;
  int have_reference = 0;
  gcert_key_type key_type = GCERT_KEY_EC_P256;
  gcert_error err = {0};
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (c == 'a' && gcert_time_parse(optarg, &reference, &err) != GCERT_OK)
      return report(&err);
    have_reference |= c == 'a';
    if (c == 'o')
      dir = optarg;
    if (c == 'k' && !parse_key_type(optarg, &key_type))
      return usage_error("unknown key type '%s' (ec, rsa2048, rsa3072)", optarg);
    if (c == '?')
      return 2;
  }
  if (dir == NULL || !have_reference || optind != argc)
    return usage_error("demo needs --out DIR and --at TIME (e.g. --at now)");
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    gcert_fail_plain(&err, GCERT_E_IO, "cannot create %s: %s", dir, strerror(errno));
    return report(&err);
  }
  /* A fresh random password for the demo's stores, kept in a 0600 file. */
  unsigned char raw[12];
  char password[2 * sizeof(raw) + 1];
  if (RAND_bytes(raw, sizeof(raw)) != 1)
    return report(&(gcert_error){GCERT_E_CRYPTO, "no randomness for the password"});
  for (size_t i = 0; i < sizeof(raw); i++)
    snprintf(password + 2 * i, 3, "%02x", raw[i]);
  char path[CLI_PATH_MAX];
  snprintf(path, sizeof(path), "%s/store-password", dir);
  gcert_catalogue *cat = NULL;
  gcert_status st =
      gcert_file_save(path, (const unsigned char *)password, strlen(password), 1, &err);
  if (st == GCERT_OK)
    st = gcert_catalogue_make(reference, key_type, &cat, &err);
  if (st == GCERT_OK)
    st = demo_write_files(cat, dir, password, &err);
  if (st != GCERT_OK) {
    gcert_catalogue_free(cat);
    return report(&err);
  }
  char when[32];
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&reference));
  printf("gatecert certs demo: %zu certificates dated from %s, written to %s/\n\n",
         gcert_catalogue_count(cat), when, dir);
  demo_print_catalogue(cat, reference);
  int failures = demo_read_back(dir, password);
  OPENSSL_cleanse(password, sizeof(password));
  printf("\nstore password: %s/store-password (0600); keys: *.key (0600)\n", dir);
  gcert_catalogue_free(cat);
  return failures == 0 ? 0 : 1;
}

/* ---- dispatch ----------------------------------------------------------- */

static const char usage_text[] =
    "usage: gatecert certs <command> [options]\n"
    "\n"
    "  demo    --at TIME --out DIR [--key ec|rsa2048|rsa3072]\n"
    "          make the certificate catalogue, write every format, read each back\n"
    "  issue   --out PREFIX --at TIME [--kind ca|server|client] [--subject DN]\n"
    "          [--issuer PREFIX] [--dns NAME]... [--ip ADDR]... [--not-before DUR]\n"
    "          [--not-after DUR] [--key ec|rsa2048|rsa3072] [--serial N|0xHEX]\n"
    "          [--eku default|none|server|client|both]\n"
    "          write PREFIX.pem and PREFIX.key (0600); the issuer is PREFIX.pem/.key\n"
    "  inspect FILE [--format F] [--password-file FILE] [--at TIME]\n"
    "          list the entries of any supported file\n"
    "  convert IN OUT --to F [--from F] [--password-file FILE]\n"
    "          [--out-password-file FILE] [--alias NAME] [--pem]\n"
    "\n"
    "TIME: 2030-01-01T00:00:00Z, @EPOCH or now. DUR: 90, 90s, 15m, 2h, 30d, -1d\n"
    "(offsets from TIME). Formats: pem der pkcs7 pkcs12 jks sapjar.\n"
    "Passwords are read from the first line of a file, never from the command line.\n";

int gcert_cli_main(int argc, char **argv) {
  static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
  } commands[] = {
      {"demo", cmd_demo}, {"issue", cmd_issue}, {"inspect", cmd_inspect}, {"convert", cmd_convert}};
  if (argc < 2) {
    fputs(usage_text, stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    fputs(usage_text, stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    char line[256];
    puts(gu_version_line("gatecert certs", line, sizeof(line)));
    return 0;
  }
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
    if (strcmp(argv[1], commands[i].name) == 0) {
      optind = 1;
      return commands[i].run(argc - 1, argv + 1);
    }
  }
  return usage_error("unknown command '%s'", argv[1]);
}
