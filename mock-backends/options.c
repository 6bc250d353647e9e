/* options.c - the command line: backend specs, report and certificate dirs.
 *
 * A spec is "NAME:key=value,key=value,..." (see README.md for the keys).
 * Values cannot contain commas; names are [A-Za-z0-9._-], so they are safe as
 * file names for the reports. Every problem is reported with the offending
 * text and the parse stops; nothing is started until all specs are valid.
 * The options are a gu_opt table run by gu_opts_parse (util); --backend is
 * its parse action, which checks the spec and appends it to gcb_options.
 */
#include "backend.h"
#include "gutil.h"

#include <getopt.h> /* optind, after gu_opts_parse */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: gatecert-backend [--report-dir DIR] --backend SPEC [--backend SPEC]...\n"
    "       gatecert-backend --catalogue --certs-dir DIR [--report-dir DIR] [--at TIME]\n"
    "\n"
    "SPEC: NAME:key=value,...  keys: cert=FILE key=FILE client-auth=none|optional|require\n"
    "      client-ca=FILE tls=any|1.2|1.3 delay-ms=N sessions=off|on\n"
    "      fault=none|refuse|reset|stall|garbage|close-mid-body|close-after-request\n"
    "            |close-mid-head\n"
    "Prints `READY <name> https=127.0.0.1:<port>` per backend, then `READY-ALL <n>`.\n"
    "Reports go to DIR/<name>.jsonl. SIGTERM or SIGINT stops. See mock-backends/README.md.\n"
    "`gatecert-backend --version` prints \"gatecert-backend VERSION\".\n";

/* In gcb_fault's order. */
static const char *const fault_names[] = {
    "none",          "refuse", "reset", "stall", "garbage", "close-mid-body", "close-after-request",
    "close-mid-head"};
#define FAULT_COUNT (sizeof(fault_names) / sizeof(fault_names[0]))
_Static_assert(FAULT_COUNT == GCB_FAULT_CLOSE_MID_HEAD + 1, "a name for every gcb_fault");

const char *gcb_fault_name(gcb_fault fault) {
  return (unsigned)fault < FAULT_COUNT ? fault_names[fault] : "unknown";
}

/* Index of text in names, or -1. */
static int lookup(const char *text, const char *const *names, size_t count) {
  for (size_t i = 0; i < count; i++) {
    if (strcmp(text, names[i]) == 0)
      return (int)i;
  }
  return -1;
}

static int valid_name(const char *name, size_t len) {
  if (len == 0 || len >= GCB_NAME_MAX)
    return 0;
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return 0;
  }
  return name[0] != '.';
}

static int set_path(char **slot, const char *value) {
  free(*slot);
  *slot = strdup(value);
  return *slot != NULL && value[0] != '\0';
}

/* Applies one key=value to spec; 0 on success. */
static int apply(gcb_spec *spec, const char *key, const char *value) {
  static const char *const auth[] = {"none", "optional", "require"};
  static const char *const tls[] = {"any", "1.2", "1.3"};
  static const char *const onoff[] = {"off", "on"};
  if (strcmp(key, "cert") == 0)
    return set_path(&spec->cert, value) ? 0 : -1;
  if (strcmp(key, "key") == 0)
    return set_path(&spec->key, value) ? 0 : -1;
  if (strcmp(key, "client-ca") == 0)
    return set_path(&spec->client_ca, value) ? 0 : -1;
  int i;
  if (strcmp(key, "client-auth") == 0 && (i = lookup(value, auth, 3)) >= 0) {
    spec->client_auth = (gcb_client_auth)i;
    return 0;
  }
  if (strcmp(key, "tls") == 0 && (i = lookup(value, tls, 3)) >= 0) {
    spec->tls = (gcb_tls)i;
    return 0;
  }
  if (strcmp(key, "fault") == 0 && (i = lookup(value, fault_names, FAULT_COUNT)) >= 0) {
    spec->fault = (gcb_fault)i;
    return 0;
  }
  if (strcmp(key, "sessions") == 0 && (i = lookup(value, onoff, 2)) >= 0) {
    spec->sessions = i;
    return 0;
  }
  if (strcmp(key, "delay-ms") == 0) {
    char *end = NULL;
    unsigned long ms = strtoul(value, &end, 10);
    if (end == value || *end != '\0' || value[0] == '-' || ms > GCB_MAX_DELAY_MS)
      return -1;
    spec->delay_ms = (unsigned)ms;
    return 0;
  }
  return -1;
}

static int check_spec(const gcb_spec *spec, char *why, size_t why_len) {
  int tls_needed = spec->fault != GCB_FAULT_REFUSE && spec->fault != GCB_FAULT_RESET &&
                   spec->fault != GCB_FAULT_STALL;
  if (tls_needed && (spec->cert == NULL || spec->key == NULL)) {
    return gu_fail(why, why_len, "backend %s needs cert= and key=", spec->name);
  }
  return 0;
}

static int parse_spec(const char *text, gcb_spec *spec, char *why, size_t why_len) {
  const char *colon = strchr(text, ':');
  size_t name_len = colon ? (size_t)(colon - text) : strlen(text);
  if (!valid_name(text, name_len)) {
    return gu_fail(why, why_len, "bad backend name in '%s' (use A-Z a-z 0-9 . _ -)", text);
  }
  memcpy(spec->name, text, name_len);
  spec->name[name_len] = '\0';
  char *rest = strdup(colon ? colon + 1 : "");
  if (rest == NULL) {
    return gu_fail(why, why_len, "out of memory");
  }
  int rc = 0;
  char *save = NULL;
  for (char *item = strtok_r(rest, ",", &save); rc == 0 && item != NULL;
       item = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(item, '=');
    if (eq != NULL)
      *eq = '\0';
    if (eq == NULL || apply(spec, item, eq + 1) != 0) {
      rc = gu_fail(why, why_len, "backend %s: bad setting '%s%s%s'", spec->name, item,
                   eq ? "=" : "", eq ? eq + 1 : "");
    }
  }
  free(rest);
  return rc == 0 ? check_spec(spec, why, why_len) : -1;
}

static int duplicate_name(const gcb_options *opt) {
  for (size_t i = 0; i + 1 < opt->count; i++) {
    if (strcmp(opt->specs[i].name, opt->specs[opt->count - 1].name) == 0)
      return 1;
  }
  return 0;
}

/* --backend SPEC (a gu_opt parse action): one more spec, checked, its name
 * not used before. The spec counts even when refused, so that
 * gcb_options_free frees what it holds. */
static int add_backend(const char *name, const char *value, void *to, char *why, size_t why_len) {
  (void)name;
  gcb_options *opt = to;
  if (opt->count == GCB_MAX_BACKENDS)
    return gu_fail(why, why_len, "at most %d backends", GCB_MAX_BACKENDS);
  if (parse_spec(value, &opt->specs[opt->count++], why, why_len) != 0)
    return -1;
  if (duplicate_name(opt))
    return gu_fail(why, why_len, "backend name %s used twice", opt->specs[opt->count - 1].name);
  return 0;
}

int gcb_options_parse(int argc, char **argv, gcb_options *opt, char *why, size_t why_len) {
  memset(opt, 0, sizeof(*opt));
  int help = 0, version = 0;
  const gu_opt table[] = {
      {"backend", .parse = add_backend, .to = opt},
      {"report-dir", .string = &opt->report_dir},
      {"certs-dir", .string = &opt->certs_dir},
      {"catalogue", .flag = &opt->catalogue},
      {"at", .string = &opt->at},
      {"help", .flag = &help, .stop = 1},
      {"version", .flag = &version, .stop = 1},
      {0},
  };
  int first = gu_opts_parse(argc, argv, table, 0, why, why_len);
  if (first == GU_OPTS_UNKNOWN) /* our own wording; the option is where getopt left it */
    gu_fail(why, why_len, "unknown or incomplete option '%s'", argv[optind - 1]);
  if (first < 0)
    return 2;
  if (help) {
    fputs(usage_text, stdout);
    return 1;
  }
  if (version) {
    char line[256];
    puts(gu_version_line("gatecert-backend", line, sizeof(line)));
    return 1;
  }
  if (first != argc)
    gu_fail(why, why_len, "unexpected argument '%s'", argv[first]);
  else if (opt->catalogue && opt->certs_dir == NULL)
    gu_fail(why, why_len, "--catalogue needs --certs-dir DIR");
  else if (!opt->catalogue && opt->count == 0)
    gu_fail(why, why_len, "no backend given (--backend SPEC or --catalogue)");
  else
    return 0;
  return 2;
}

void gcb_options_free(gcb_options *opt) {
  for (size_t i = 0; i < opt->count; i++) {
    free(opt->specs[i].cert);
    free(opt->specs[i].key);
    free(opt->specs[i].client_ca);
  }
  opt->count = 0;
}
