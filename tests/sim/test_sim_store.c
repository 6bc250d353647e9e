/* test_sim_store.c - the simulator's SQLite store (simulator/store.c).
 *
 * Statuses are checked from tables, one row per case: a case names the call,
 * its arguments and the status it must return, and every case that does not
 * return OK must leave the store exactly as it was. Then: creation order,
 * hostile aliases, the generic objects table (bounds, prefixes that hold
 * LIKE/GLOB pattern characters, blobs with NUL bytes), file modes under
 * umask 0, a version-1 store migrated to version 2, files the store must
 * refuse (left byte-for-byte unchanged), and a writer killed with SIGKILL
 * that must not lose one acknowledged insert. Certificates are real DER from the
 * factory; the store itself never parses them.
 */
#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>
#include <sqlite3.h>

#include "store.h"

/* ---- fixtures and helpers ------------------------------------------------ */

static gcert_buf der_a; /* a CA certificate */
static gcert_buf der_b; /* a server certificate under it */

static gcert_buf to_der(X509 *cert) {
  gcert_buf buf = {0};
  int len = i2d_X509(cert, &buf.data);
  assert_true(len > 0);
  buf.len = (size_t)len;
  return buf;
}

static int group_setup(void **state) {
  (void)state;
  gcert_item ca = {0}, leaf = {0};
  test_issue(GCERT_KIND_CA, "CN=Store Test CA", NULL, &ca);
  test_issue(GCERT_KIND_SERVER, NULL, &ca, &leaf);
  der_a = to_der(ca.cert);
  der_b = to_der(leaf.cert);
  gcert_item_free(&ca);
  gcert_item_free(&leaf);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  gcert_buf_free(&der_a);
  gcert_buf_free(&der_b);
  return 0;
}

#define assert_store(expected, actual, store)                                                      \
  do {                                                                                             \
    gsim_store_status got_ = (actual);                                                             \
    if (got_ != (expected))                                                                        \
      fail_msg("expected %s, got %s: %s", gsim_store_status_name(expected),                        \
               gsim_store_status_name(got_), gsim_store_error(store));                             \
  } while (0)

static char *sibling(const char *path, const char *suffix) {
  size_t n = strlen(path) + strlen(suffix) + 1;
  char *out = malloc(n);
  assert_non_null(out);
  snprintf(out, n, "%s%s", path, suffix);
  return out;
}

static void unlink_store(const char *path) {
  static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
  for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
    char *p = sibling(path, suffixes[i]);
    unlink(p);
    free(p);
  }
}

/* A scratch path with no store (nor -wal, -shm) at it; free it. */
static char *fresh_path(const char *name) {
  char *path = test_scratch_path(name);
  unlink_store(path);
  return path;
}

static gsim_store *open_store(const char *path) {
  gsim_store *store = NULL;
  char why[512];
  if (gsim_store_open(path, &store, why, sizeof(why)) != 0)
    fail_msg("open %s: %s", path, why);
  assert_non_null(store);
  return store;
}

/* st_mode's permission bits, or -1 when the file does not exist. */
static int file_mode(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0)
    return -1;
  return (int)(st.st_mode & 07777);
}

static int sibling_mode(const char *path, const char *suffix) {
  char *p = sibling(path, suffix);
  int mode = file_mode(p);
  free(p);
  return mode;
}

/* Copies a string that must fit dst (cap bytes with its NUL). */
static void copy(char *dst, size_t cap, const char *src) {
  size_t len = strlen(src);
  assert_true(len < cap);
  memcpy(dst, src, len + 1);
}

static gsim_cert_row cert_row(const char *alias, const char *endpoint, const gcert_buf *der,
                              int64_t ms) {
  gsim_cert_row row;
  memset(&row, 0, sizeof(row));
  copy(row.alias, sizeof(row.alias), alias);
  copy(row.endpoint, sizeof(row.endpoint), endpoint);
  row.der = der->data;
  row.der_len = der->len;
  row.created_ms = ms;
  row.updated_ms = ms;
  return row;
}

static gsim_api_row api_row(const char *id, const char *name, const char *context,
                            const char *version) {
  gsim_api_row row;
  memset(&row, 0, sizeof(row));
  copy(row.id, sizeof(row.id), id);
  copy(row.name, sizeof(row.name), name);
  copy(row.context, sizeof(row.context), context);
  copy(row.version, sizeof(row.version), version);
  row.definition = (char *)"{\"x\":1}";
  row.created_ms = 1000;
  return row;
}

static void insert_cert(gsim_store *store, const char *alias, const char *endpoint,
                        const gcert_buf *der, int64_t ms) {
  gsim_cert_row row = cert_row(alias, endpoint, der, ms);
  assert_store(GSIM_STORE_OK, gsim_store_cert_insert(store, &row), store);
}

static void assert_der(const gcert_buf *want, const unsigned char *der, size_t der_len) {
  assert_int_equal(want->len, der_len);
  assert_memory_equal(want->data, der, der_len);
}

/* The whole certificate table as one comparable string (aliases, endpoints,
 * DER, times, in list order): equal snapshots mean an unchanged store. */
static char *cert_snapshot(gsim_store *store) {
  gsim_cert_row *rows = NULL;
  size_t count = 0;
  assert_store(GSIM_STORE_OK, gsim_store_cert_list(store, NULL, NULL, &rows, &count), store);
  size_t cap = 64;
  for (size_t i = 0; i < count; i++)
    cap += strlen(rows[i].alias) + strlen(rows[i].endpoint) + rows[i].der_len * 2 + 64;
  char *out = malloc(cap);
  assert_non_null(out);
  size_t used = (size_t)snprintf(out, cap, "%zu:", count);
  for (size_t i = 0; i < count; i++) {
    used += (size_t)snprintf(out + used, cap - used, "[%s|%s|%lld|%lld|", rows[i].alias,
                             rows[i].endpoint, (long long)rows[i].created_ms,
                             (long long)rows[i].updated_ms);
    for (size_t j = 0; j < rows[i].der_len; j++)
      used += (size_t)snprintf(out + used, cap - used, "%02x", rows[i].der[j]);
    used += (size_t)snprintf(out + used, cap - used, "]");
  }
  gsim_cert_rows_free(rows, count);
  return out;
}

static char *api_snapshot(gsim_store *store) {
  gsim_api_row *rows = NULL;
  size_t count = 0;
  assert_store(GSIM_STORE_OK, gsim_store_api_list(store, &rows, &count), store);
  size_t cap = 64;
  for (size_t i = 0; i < count; i++)
    cap += sizeof(rows[i]) + (rows[i].definition ? strlen(rows[i].definition) : 0) + 64;
  char *out = malloc(cap);
  assert_non_null(out);
  size_t used = (size_t)snprintf(out, cap, "%zu:", count);
  for (size_t i = 0; i < count; i++)
    used += (size_t)snprintf(out + used, cap - used, "[%s|%s|%s|%s|%s|%lld]", rows[i].id,
                             rows[i].name, rows[i].context, rows[i].version,
                             rows[i].definition ? rows[i].definition : "(null)",
                             (long long)rows[i].created_ms);
  gsim_api_rows_free(rows, count);
  return out;
}

/* Aliases in list order, joined by commas. */
static void assert_order(gsim_store *store, const char *alias_filter, const char *endpoint_filter,
                         const char *want) {
  gsim_cert_row *rows = NULL;
  size_t count = 0;
  assert_store(GSIM_STORE_OK,
               gsim_store_cert_list(store, alias_filter, endpoint_filter, &rows, &count), store);
  char got[1024] = "";
  for (size_t i = 0; i < count; i++) {
    if (i > 0)
      strncat(got, ",", sizeof(got) - strlen(got) - 1);
    strncat(got, rows[i].alias, sizeof(got) - strlen(got) - 1);
  }
  gsim_cert_rows_free(rows, count);
  assert_string_equal(want, got);
}

static void exec_sql(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  char *msg = NULL;
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK)
    fail_msg("%s: %s", sql, msg ? msg : sqlite3_errmsg(db));
  sqlite3_free(msg);
  assert_int_equal(SQLITE_OK, sqlite3_close(db));
}

/* The first column of the first row of a query, as text (static buffer). */
static const char *query_text(const char *path, const char *sql) {
  static char out[256];
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  assert_int_equal(SQLITE_OK, sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL));
  assert_int_equal(SQLITE_OK, sqlite3_prepare_v2(db, sql, -1, &stmt, NULL));
  assert_int_equal(SQLITE_ROW, sqlite3_step(stmt));
  const unsigned char *text = sqlite3_column_text(stmt, 0);
  snprintf(out, sizeof(out), "%s", text ? (const char *)text : "(null)");
  sqlite3_finalize(stmt);
  assert_int_equal(SQLITE_OK, sqlite3_close(db));
  return out;
}

static void write_file(const char *path, const void *data, size_t len) {
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_file_save(path, data, len, 0, &err), &err);
}

/* ---- objects: helpers ----------------------------------------------------- */

/* A row pointing at the arguments (not owned). */
static gsim_object_row object_row(const char *kind, const char *key, const char *json,
                                  const void *blob, size_t blob_len, int64_t ms) {
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  copy(row.kind, sizeof(row.kind), kind);
  copy(row.key, sizeof(row.key), key);
  row.json = (char *)json;
  row.blob = (unsigned char *)blob;
  row.blob_len = blob_len;
  row.created_ms = ms;
  row.updated_ms = ms;
  return row;
}

static void insert_object(gsim_store *store, const char *kind, const char *key, const char *json,
                          const void *blob, size_t blob_len, int64_t ms) {
  gsim_object_row row = object_row(kind, key, json, blob, blob_len, ms);
  assert_store(GSIM_STORE_OK, gsim_store_object_insert(store, &row), store);
}

/* FNV-1a: snapshots of 8 MiB values stay short. */
static uint64_t fnv(const void *data, size_t len) {
  const unsigned char *p = data;
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < len; i++)
    h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

/* A kind of GSIM_KIND_MAX - 1 bytes ('x'), the longest accepted. */
static const char *long_kind(void) {
  static char kind[GSIM_KIND_MAX];
  memset(kind, 'x', sizeof(kind) - 1);
  kind[sizeof(kind) - 1] = '\0';
  return kind;
}

/* Every object of the kinds the tests use, as one comparable string. */
static char *object_snapshot(gsim_store *store) {
  const char *const kinds[] = {"client_cert", "key_manager", long_kind()};
  char *out = NULL;
  size_t out_len = 0;
  FILE *f = open_memstream(&out, &out_len);
  assert_non_null(f);
  for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
    gsim_object_row *rows = NULL;
    size_t count = 0;
    assert_store(GSIM_STORE_OK, gsim_store_object_list(store, kinds[k], NULL, &rows, &count),
                 store);
    fprintf(f, "%s:%zu:", kinds[k], count);
    for (size_t i = 0; i < count; i++) {
      assert_string_equal(kinds[k], rows[i].kind);
      fprintf(f, "[%s|", rows[i].key);
      if (rows[i].json != NULL)
        fprintf(f, "%zu:%016llx|", strlen(rows[i].json),
                (unsigned long long)fnv(rows[i].json, strlen(rows[i].json)));
      else
        fprintf(f, "(null)|");
      fprintf(f, "%zu:%016llx|%lld|%lld]", rows[i].blob_len,
              (unsigned long long)fnv(rows[i].blob, rows[i].blob_len),
              (long long)rows[i].created_ms, (long long)rows[i].updated_ms);
    }
    gsim_object_rows_free(rows, count);
  }
  assert_int_equal(0, fclose(f));
  return out;
}

/* Keys of kind under prefix in list order, joined by commas. */
static void assert_object_keys(gsim_store *store, const char *kind, const char *prefix,
                               const char *want) {
  gsim_object_row *rows = NULL;
  size_t count = 0;
  assert_store(GSIM_STORE_OK, gsim_store_object_list(store, kind, prefix, &rows, &count), store);
  char got[2048] = "";
  for (size_t i = 0; i < count; i++) {
    if (i > 0)
      strncat(got, ",", sizeof(got) - strlen(got) - 1);
    strncat(got, rows[i].key, sizeof(got) - strlen(got) - 1);
  }
  gsim_object_rows_free(rows, count);
  if (strcmp(want, got) != 0)
    fail_msg("kind '%s' prefix '%s': expected '%s', got '%s'", kind, prefix ? prefix : "(NULL)",
             want, got);
}

/* A version-1 store as version 1 of store.c made it (WAL, our id, user
 * version 1, no objects table), with a certificate and an API in it. */
static void make_v1(const char *path) {
  exec_sql(path,
           "PRAGMA journal_mode = WAL;"
           "CREATE TABLE endpoint_certs("
           " alias TEXT PRIMARY KEY NOT NULL,"
           " endpoint TEXT NOT NULL,"
           " der BLOB NOT NULL,"
           " created_ms INTEGER NOT NULL,"
           " updated_ms INTEGER NOT NULL,"
           " seq INTEGER NOT NULL UNIQUE);"
           "CREATE TABLE apis("
           " id TEXT PRIMARY KEY NOT NULL,"
           " name TEXT NOT NULL,"
           " context TEXT NOT NULL,"
           " version TEXT NOT NULL,"
           " definition TEXT,"
           " created_ms INTEGER NOT NULL,"
           " seq INTEGER NOT NULL UNIQUE,"
           " UNIQUE(name, version),"
           " UNIQUE(context, version));"
           "INSERT INTO endpoint_certs VALUES('old-b', 'https://old', x'3000ff00', 20, 21, 1);"
           "INSERT INTO endpoint_certs VALUES('old-a', 'https://old', x'30', 10, 11, 2);"
           "INSERT INTO apis VALUES('id-old', 'Old', '/old', '1.0', '{\"old\":1}', 12, 1);"
           "PRAGMA application_id = 1735616877;"
           "PRAGMA user_version = 1;");
}

/* ---- statuses and names -------------------------------------------------- */

static void test_status_names(void **state) {
  (void)state;
  static const struct {
    gsim_store_status status;
    const char *name;
  } names[] = {
      {GSIM_STORE_OK, "ok"},         {GSIM_STORE_NOT_FOUND, "not-found"},
      {GSIM_STORE_EXISTS, "exists"}, {GSIM_STORE_TOO_LONG, "too-long"},
      {GSIM_STORE_ERROR, "error"},   {(gsim_store_status)99, "unknown"},
  };
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    assert_string_equal(names[i].name, gsim_store_status_name(names[i].status));
}

/* ---- endpoint certificate statuses, one row per case --------------------- */

typedef enum cert_op { OP_INSERT, OP_UPSERT, OP_REPLACE, OP_DELETE, OP_GET, OP_LIST } cert_op;

/* alias / endpoint: a literal; or NULL with a length, meaning that many 'x'
 * (for the row field: exactly that many bytes, unterminated when it fills the
 * field). der: 'a', 'b' or 0 for none. */
typedef struct cert_case {
  const char *name;
  cert_op op;
  const char *alias;
  size_t alias_len;
  const char *endpoint;
  size_t endpoint_len;
  char der;
  gsim_store_status want;
} cert_case;

#define L(n) NULL, (n) /* a string of n 'x' */

static const cert_case cert_cases[] = {
    {"insert new", OP_INSERT, "new", 0, "https://new", 0, 'a', GSIM_STORE_OK},
    {"insert taken alias", OP_INSERT, "taken", 0, "https://other", 0, 'b', GSIM_STORE_EXISTS},
    {"insert alias differing in case", OP_INSERT, "TAKEN", 0, "https://new", 0, 'a', GSIM_STORE_OK},
    {"insert empty alias", OP_INSERT, "", 0, "https://new", 0, 'a', GSIM_STORE_TOO_LONG},
    {"insert 255-byte alias", OP_INSERT, L(255), "https://new", 0, 'a', GSIM_STORE_OK},
    {"insert 256-byte alias", OP_INSERT, L(256), "https://new", 0, 'a', GSIM_STORE_TOO_LONG},
    {"insert empty endpoint", OP_INSERT, "new", 0, "", 0, 'a', GSIM_STORE_OK},
    {"insert 2047-byte endpoint", OP_INSERT, "new", 0, L(2047), 'a', GSIM_STORE_OK},
    {"insert 2048-byte endpoint", OP_INSERT, "new", 0, L(2048), 'a', GSIM_STORE_TOO_LONG},
    {"insert without DER", OP_INSERT, "new", 0, "https://new", 0, 0, GSIM_STORE_TOO_LONG},
    {"upsert new", OP_UPSERT, "new", 0, "https://new", 0, 'a', GSIM_STORE_OK},
    {"upsert taken", OP_UPSERT, "taken", 0, "https://other", 0, 'b', GSIM_STORE_OK},
    {"upsert empty alias", OP_UPSERT, "", 0, "https://new", 0, 'a', GSIM_STORE_TOO_LONG},
    {"upsert 256-byte alias", OP_UPSERT, L(256), "https://new", 0, 'a', GSIM_STORE_TOO_LONG},
    {"upsert 2048-byte endpoint", OP_UPSERT, "taken", 0, L(2048), 'a', GSIM_STORE_TOO_LONG},
    {"upsert without DER", OP_UPSERT, "taken", 0, "https://taken", 0, 0, GSIM_STORE_TOO_LONG},
    {"replace taken", OP_REPLACE, "taken", 0, NULL, 0, 'b', GSIM_STORE_OK},
    {"replace absent", OP_REPLACE, "absent", 0, NULL, 0, 'b', GSIM_STORE_NOT_FOUND},
    {"replace alias differing in case", OP_REPLACE, "Taken", 0, NULL, 0, 'b', GSIM_STORE_NOT_FOUND},
    {"replace empty alias", OP_REPLACE, "", 0, NULL, 0, 'b', GSIM_STORE_TOO_LONG},
    {"replace 256-byte alias", OP_REPLACE, L(256), NULL, 0, 'b', GSIM_STORE_TOO_LONG},
    {"replace without DER", OP_REPLACE, "taken", 0, NULL, 0, 0, GSIM_STORE_TOO_LONG},
    {"delete taken", OP_DELETE, "taken", 0, NULL, 0, 0, GSIM_STORE_OK},
    {"delete absent", OP_DELETE, "absent", 0, NULL, 0, 0, GSIM_STORE_NOT_FOUND},
    {"delete empty alias", OP_DELETE, "", 0, NULL, 0, 0, GSIM_STORE_TOO_LONG},
    {"delete 256-byte alias", OP_DELETE, L(256), NULL, 0, 0, GSIM_STORE_TOO_LONG},
    {"get taken", OP_GET, "taken", 0, NULL, 0, 0, GSIM_STORE_OK},
    {"get absent", OP_GET, "absent", 0, NULL, 0, 0, GSIM_STORE_NOT_FOUND},
    {"get empty alias", OP_GET, "", 0, NULL, 0, 0, GSIM_STORE_TOO_LONG},
    {"get 255-byte alias", OP_GET, L(255), NULL, 0, 0, GSIM_STORE_NOT_FOUND},
    {"get 256-byte alias", OP_GET, L(256), NULL, 0, 0, GSIM_STORE_TOO_LONG},
    {"list by alias", OP_LIST, "taken", 0, NULL, 0, 0, GSIM_STORE_OK},
    {"list by endpoint", OP_LIST, NULL, 0, "https://taken", 0, 0, GSIM_STORE_OK},
    {"list by empty endpoint", OP_LIST, NULL, 0, "", 0, 0, GSIM_STORE_OK},
    {"list by empty alias", OP_LIST, "", 0, NULL, 0, 0, GSIM_STORE_TOO_LONG},
    {"list by 256-byte alias", OP_LIST, L(256), NULL, 0, 0, GSIM_STORE_TOO_LONG},
    {"list by 2048-byte endpoint", OP_LIST, NULL, 0, L(2048), 0, GSIM_STORE_TOO_LONG},
};

/* Fills dst (a field of size cap) from a case's literal or length. */
static void case_string(char *dst, size_t cap, const char *literal, size_t len) {
  if (literal != NULL) {
    copy(dst, cap, literal);
    return;
  }
  assert_true(len <= cap);
  memset(dst, 'x', len);
  if (len < cap)
    dst[len] = '\0';
}

/* NULL stays NULL (a list filter meaning any); free the result. */
static char *case_arg(const char *literal, size_t len) {
  if (literal == NULL && len == 0)
    return NULL;
  size_t n = literal != NULL ? strlen(literal) : len;
  char *out = malloc(n + 1);
  assert_non_null(out);
  if (literal != NULL)
    memcpy(out, literal, n);
  else
    memset(out, 'x', n);
  out[n] = '\0';
  return out;
}

static gsim_store_status run_cert_case(gsim_store *store, const cert_case *c) {
  const gcert_buf *der = c->der == 'a' ? &der_a : c->der == 'b' ? &der_b : NULL;
  gsim_cert_row row;
  memset(&row, 0, sizeof(row));
  case_string(row.alias, sizeof(row.alias), c->alias, c->alias_len);
  case_string(row.endpoint, sizeof(row.endpoint), c->endpoint, c->endpoint_len);
  row.der = der ? der->data : NULL;
  row.der_len = der ? der->len : 0;
  row.created_ms = row.updated_ms = 5000;
  char *alias = case_arg(c->alias, c->alias_len);
  char *endpoint = case_arg(c->endpoint, c->endpoint_len);
  gsim_store_status status = GSIM_STORE_ERROR;
  int replaced = -1;
  gsim_cert_row got;
  gsim_cert_row *rows = NULL;
  size_t count = 0;
  switch (c->op) {
  case OP_INSERT:
    status = gsim_store_cert_insert(store, &row);
    break;
  case OP_UPSERT:
    status = gsim_store_cert_upsert(store, &row, &replaced);
    assert_int_equal(status == GSIM_STORE_OK && strcmp(row.alias, "taken") == 0, replaced);
    break;
  case OP_REPLACE:
    status = gsim_store_cert_replace(store, alias, row.der, row.der_len, 6000);
    break;
  case OP_DELETE:
    status = gsim_store_cert_delete(store, alias);
    break;
  case OP_GET:
    status = gsim_store_cert_get(store, alias, &got);
    if (status == GSIM_STORE_OK) {
      assert_string_equal(alias, got.alias);
      assert_der(&der_a, got.der, got.der_len);
    } else {
      assert_null(got.der); /* cleared on failure: nothing to free */
    }
    gsim_cert_row_clear(&got);
    break;
  case OP_LIST:
    status = gsim_store_cert_list(store, alias, endpoint, &rows, &count);
    if (status == GSIM_STORE_OK && endpoint != NULL && endpoint[0] == '\0') {
      assert_int_equal(0, count);
      assert_null(rows);
    } else if (status == GSIM_STORE_OK) {
      assert_int_equal(1, count);
      assert_string_equal("taken", rows[0].alias);
    } else {
      assert_null(rows);
      assert_int_equal(0, count);
    }
    gsim_cert_rows_free(rows, count);
    break;
  }
  free(alias);
  free(endpoint);
  return status;
}

static void test_cert_statuses(void **state) {
  (void)state;
  char *path = fresh_path("statuses.db");
  for (size_t i = 0; i < sizeof(cert_cases) / sizeof(cert_cases[0]); i++) {
    const cert_case *c = &cert_cases[i];
    unlink_store(path);
    gsim_store *store = open_store(path);
    insert_cert(store, "taken", "https://taken", &der_a, 1000);
    insert_cert(store, "other", "https://other", &der_b, 1000);
    char *before = cert_snapshot(store);
    gsim_store_status got = run_cert_case(store, c);
    if (got != c->want)
      fail_msg("case '%s': expected %s, got %s (%s)", c->name, gsim_store_status_name(c->want),
               gsim_store_status_name(got), gsim_store_error(store));
    char *after = cert_snapshot(store);
    if (got != GSIM_STORE_OK) {
      /* a failure says why, and leaves every row as it was */
      assert_true(gsim_store_error(store)[0] != '\0');
      if (strcmp(before, after) != 0)
        fail_msg("case '%s' failed but changed the store", c->name);
    } else if (c->op == OP_GET || c->op == OP_LIST) {
      assert_string_equal(before, after);
    } else {
      assert_string_not_equal(before, after);
    }
    free(before);
    free(after);
    gsim_store_close(store);
  }
  free(path);
}

/* ---- endpoint certificates: behaviour ------------------------------------ */

static void test_cert_round_trip_replace_upsert(void **state) {
  (void)state;
  char *path = fresh_path("crud.db");
  gsim_store *store = open_store(path);
  insert_cert(store, "echo", "https://echo.local:8443/v1", &der_a, 1000);

  gsim_cert_row got;
  assert_store(GSIM_STORE_OK, gsim_store_cert_get(store, "echo", &got), store);
  assert_string_equal("echo", got.alias);
  assert_string_equal("https://echo.local:8443/v1", got.endpoint);
  assert_der(&der_a, got.der, got.der_len);
  assert_int_equal(1000, got.created_ms);
  assert_int_equal(1000, got.updated_ms);
  gsim_cert_row_clear(&got);
  assert_null(got.der);
  assert_int_equal(0, got.der_len);

  /* replace: DER and updated_ms only */
  assert_store(GSIM_STORE_OK, gsim_store_cert_replace(store, "echo", der_b.data, der_b.len, 2000),
               store);
  assert_store(GSIM_STORE_OK, gsim_store_cert_get(store, "echo", &got), store);
  assert_string_equal("https://echo.local:8443/v1", got.endpoint);
  assert_der(&der_b, got.der, got.der_len);
  assert_int_equal(1000, got.created_ms);
  assert_int_equal(2000, got.updated_ms);
  gsim_cert_row_clear(&got);

  /* upsert of an existing alias: endpoint, DER, updated_ms; created_ms kept */
  gsim_cert_row row = cert_row("echo", "https://moved", &der_a, 3000);
  int replaced = -1;
  assert_store(GSIM_STORE_OK, gsim_store_cert_upsert(store, &row, &replaced), store);
  assert_int_equal(1, replaced);
  assert_store(GSIM_STORE_OK, gsim_store_cert_get(store, "echo", &got), store);
  assert_string_equal("https://moved", got.endpoint);
  assert_der(&der_a, got.der, got.der_len);
  assert_int_equal(1000, got.created_ms);
  assert_int_equal(3000, got.updated_ms);
  gsim_cert_row_clear(&got);

  /* upsert of a new alias inserts it as given; replaced may be NULL */
  row = cert_row("fresh", "https://fresh", &der_b, 4000);
  row.created_ms = 3999;
  assert_store(GSIM_STORE_OK, gsim_store_cert_upsert(store, &row, &replaced), store);
  assert_int_equal(0, replaced);
  assert_store(GSIM_STORE_OK, gsim_store_cert_get(store, "fresh", &got), store);
  assert_int_equal(3999, got.created_ms);
  assert_int_equal(4000, got.updated_ms);
  gsim_cert_row_clear(&got);
  row = cert_row("fresh", "https://fresh2", &der_a, 5000);
  assert_store(GSIM_STORE_OK, gsim_store_cert_upsert(store, &row, NULL), store);

  /* delete, then it is gone */
  assert_store(GSIM_STORE_OK, gsim_store_cert_delete(store, "echo"), store);
  assert_store(GSIM_STORE_NOT_FOUND, gsim_store_cert_get(store, "echo", &got), store);
  assert_store(GSIM_STORE_NOT_FOUND, gsim_store_cert_delete(store, "echo"), store);
  assert_order(store, NULL, NULL, "fresh");
  gsim_store_close(store);
  free(path);
}

static void test_cert_creation_order_and_filters(void **state) {
  (void)state;
  char *path = fresh_path("order.db");
  gsim_store *store = open_store(path);
  /* created_ms deliberately out of order: the list follows creation, not time */
  insert_cert(store, "c", "https://one", &der_a, 300);
  insert_cert(store, "a", "https://two", &der_a, 100);
  insert_cert(store, "b", "https://one", &der_b, 200);
  insert_cert(store, "d", "https://one", &der_b, 50);
  assert_order(store, NULL, NULL, "c,a,b,d");
  assert_order(store, NULL, "https://one", "c,b,d");
  assert_order(store, NULL, "https://two", "a");
  assert_order(store, NULL, "https://one/", "");
  assert_order(store, NULL, "HTTPS://ONE", "");
  assert_order(store, "b", NULL, "b");
  assert_order(store, "b", "https://one", "b");
  assert_order(store, "b", "https://two", "");
  assert_order(store, "e", NULL, "");

  /* a re-created alias goes last; replace and upsert keep the place */
  assert_store(GSIM_STORE_OK, gsim_store_cert_delete(store, "a"), store);
  insert_cert(store, "a", "https://two", &der_a, 400);
  assert_order(store, NULL, NULL, "c,b,d,a");
  assert_store(GSIM_STORE_OK, gsim_store_cert_replace(store, "c", der_b.data, der_b.len, 500),
               store);
  gsim_cert_row row = cert_row("b", "https://two", &der_a, 600);
  assert_store(GSIM_STORE_OK, gsim_store_cert_upsert(store, &row, NULL), store);
  assert_order(store, NULL, NULL, "c,b,d,a");
  assert_order(store, NULL, "https://two", "b,a");
  /* deleting the newest row does not reorder a later one */
  assert_store(GSIM_STORE_OK, gsim_store_cert_delete(store, "a"), store);
  insert_cert(store, "z", "https://two", &der_a, 700);
  insert_cert(store, "y", "https://two", &der_a, 800);
  assert_order(store, NULL, NULL, "c,b,d,z,y");

  gsim_cert_row *rows = (gsim_cert_row *)1;
  size_t count = 99;
  assert_store(GSIM_STORE_OK, gsim_store_cert_list(store, "nothing", NULL, &rows, &count), store);
  assert_null(rows);
  assert_int_equal(0, count);
  gsim_store_close(store);
  free(path);
}

/* Aliases a client may send: every one is data, matched byte for byte. */
static const char *const hostile_aliases[] = {
    "' OR 1=1 --",
    "'; DROP TABLE endpoint_certs; --",
    "\") OR (\"1\"=\"1",
    "%",
    "_",
    "a%",
    "%a",
    "a_c",
    "abc",
    "ABC",
    "abc ",
    " abc",
    "*",
    "?1",
    ":alias",
    "@x",
    "$1",
    "\\",
    "\\%",
    "NULL",
    "null",
    "x'00",
    "line\nbreak",
    "tab\there",
    "ශ්‍රී-ca",
    "日本語の別名",
    "émoji 🔐",
    "\xef\xbb\xbf\x62om", /* a byte order mark, then "bom" */
    "\xff\xfe not UTF-8",
};

static void test_cert_hostile_aliases(void **state) {
  (void)state;
  char *path = fresh_path("hostile.db");
  gsim_store *store = open_store(path);
  size_t n = sizeof(hostile_aliases) / sizeof(hostile_aliases[0]);
  for (size_t i = 0; i < n; i++) {
    /* the endpoint is hostile too: filters on it are equality as well */
    insert_cert(store, hostile_aliases[i], hostile_aliases[i], i % 2 ? &der_a : &der_b, (int64_t)i);
  }
  char long_alias[GSIM_ALIAS_MAX];
  memset(long_alias, 'q', sizeof(long_alias) - 1);
  long_alias[sizeof(long_alias) - 1] = '\0';
  insert_cert(store, long_alias, "https://long", &der_a, 99);

  for (size_t i = 0; i < n; i++) {
    const char *alias = hostile_aliases[i];
    gsim_cert_row got;
    assert_store(GSIM_STORE_OK, gsim_store_cert_get(store, alias, &got), store);
    assert_string_equal(alias, got.alias);
    assert_string_equal(alias, got.endpoint);
    assert_der(i % 2 ? &der_a : &der_b, got.der, got.der_len);
    gsim_cert_row_clear(&got);
    gsim_cert_row *rows = NULL;
    size_t count = 0;
    assert_store(GSIM_STORE_OK, gsim_store_cert_list(store, alias, NULL, &rows, &count), store);
    if (count != 1)
      fail_msg("alias filter '%s' matched %zu rows", alias, count);
    assert_string_equal(alias, rows[0].alias);
    gsim_cert_rows_free(rows, count);
    assert_store(GSIM_STORE_OK, gsim_store_cert_list(store, NULL, alias, &rows, &count), store);
    if (count != 1)
      fail_msg("endpoint filter '%s' matched %zu rows", alias, count);
    assert_string_equal(alias, rows[0].endpoint);
    gsim_cert_rows_free(rows, count);
  }
  gsim_cert_row got;
  assert_store(GSIM_STORE_OK, gsim_store_cert_get(store, long_alias, &got), store);
  assert_string_equal(long_alias, got.alias);
  gsim_cert_row_clear(&got);
  assert_store(GSIM_STORE_NOT_FOUND, gsim_store_cert_get(store, "abc  ", &got), store);
  assert_store(GSIM_STORE_NOT_FOUND, gsim_store_cert_get(store, "Abc", &got), store);

  /* deleting "%" and "' OR 1=1 --" removes exactly those two */
  assert_store(GSIM_STORE_OK, gsim_store_cert_delete(store, "%"), store);
  assert_store(GSIM_STORE_OK, gsim_store_cert_delete(store, "' OR 1=1 --"), store);
  assert_store(GSIM_STORE_OK, gsim_store_cert_replace(store, "_", der_a.data, der_a.len, 7), store);
  gsim_cert_row *rows = NULL;
  size_t count = 0;
  assert_store(GSIM_STORE_OK, gsim_store_cert_list(store, NULL, NULL, &rows, &count), store);
  assert_int_equal(n + 1 - 2, count);
  for (size_t i = 0; i < count; i++) {
    assert_string_not_equal("%", rows[i].alias);
    assert_string_not_equal("' OR 1=1 --", rows[i].alias);
    /* only "_" was replaced: the others keep their creation time as updated_ms */
    if (strcmp(rows[i].alias, "_") == 0)
      assert_int_equal(7, rows[i].updated_ms);
    else
      assert_int_equal(rows[i].created_ms, rows[i].updated_ms);
  }
  gsim_cert_rows_free(rows, count);
  gsim_store_close(store);
  free(path);
}

/* SQLite failing in the middle of a write (a trigger another connection
 * added raises an error): the write is ERROR, not EXISTS, the rows are as
 * they were, and no transaction is left open behind the next write. */
static void test_cert_failed_write_rolls_back(void **state) {
  (void)state;
  char *path = fresh_path("rollback.db");
  gsim_store *store = open_store(path);
  insert_cert(store, "keep", "https://keep", &der_a, 1);
  char *before = cert_snapshot(store);
  exec_sql(path, "CREATE TRIGGER fail_update BEFORE UPDATE ON endpoint_certs"
                 " BEGIN SELECT RAISE(ABORT, 'injected update failure'); END;"
                 "CREATE TRIGGER fail_insert AFTER INSERT ON endpoint_certs"
                 " WHEN NEW.alias = 'doomed'"
                 " BEGIN SELECT RAISE(ABORT, 'injected insert failure'); END");

  gsim_cert_row row = cert_row("keep", "https://moved", &der_b, 2);
  int replaced = -1;
  assert_store(GSIM_STORE_ERROR, gsim_store_cert_upsert(store, &row, &replaced), store);
  assert_int_equal(0, replaced);
  assert_non_null(strstr(gsim_store_error(store), "injected update failure"));
  assert_store(GSIM_STORE_ERROR, gsim_store_cert_replace(store, "keep", der_b.data, der_b.len, 3),
               store);
  row = cert_row("doomed", "https://doomed", &der_b, 4);
  assert_store(GSIM_STORE_ERROR, gsim_store_cert_insert(store, &row), store);
  assert_non_null(strstr(gsim_store_error(store), "injected insert failure"));
  assert_store(GSIM_STORE_ERROR, gsim_store_cert_upsert(store, &row, &replaced), store);
  char *after = cert_snapshot(store);
  assert_string_equal(before, after);

  /* the next write commits on its own: another connection sees it at once */
  insert_cert(store, "next", "https://next", &der_a, 5);
  assert_string_equal("2", query_text(path, "SELECT count(*) FROM endpoint_certs"));
  exec_sql(path, "DROP TRIGGER fail_update; DROP TRIGGER fail_insert");
  row = cert_row("keep", "https://moved", &der_b, 6);
  assert_store(GSIM_STORE_OK, gsim_store_cert_upsert(store, &row, &replaced), store);
  assert_int_equal(1, replaced);
  assert_string_equal("https://moved",
                      query_text(path, "SELECT endpoint FROM endpoint_certs WHERE alias = 'keep'"));
  free(before);
  free(after);
  gsim_store_close(store);
  free(path);
}

/* ---- APIs ---------------------------------------------------------------- */

typedef struct api_case {
  const char *name;
  const char *id, *api_name, *context, *version; /* NULL: from the lengths below */
  size_t id_len, name_len, context_len, version_len;
  gsim_store_status want;
} api_case;

static const api_case api_cases[] = {
    {"new", "id-2", "Store", "/store", "1.0", 0, 0, 0, 0, GSIM_STORE_OK},
    {"taken id", "id-1", "Store", "/store", "1.0", 0, 0, 0, 0, GSIM_STORE_EXISTS},
    {"taken name+version", "id-2", "Pets", "/store", "1.0", 0, 0, 0, 0, GSIM_STORE_EXISTS},
    {"taken context+version", "id-2", "Store", "/pets", "1.0", 0, 0, 0, 0, GSIM_STORE_EXISTS},
    {"same name, new version", "id-2", "Pets", "/pets", "2.0", 0, 0, 0, 0, GSIM_STORE_OK},
    {"name differing in case", "id-2", "pets", "/Pets", "1.0", 0, 0, 0, 0, GSIM_STORE_OK},
    {"36-byte id", NULL, "Store", "/store", "1.0", 36, 0, 0, 0, GSIM_STORE_OK},
    {"37-byte id", NULL, "Store", "/store", "1.0", 37, 0, 0, 0, GSIM_STORE_TOO_LONG},
    {"empty id", "", "Store", "/store", "1.0", 0, 0, 0, 0, GSIM_STORE_TOO_LONG},
    {"255-byte name", "id-2", NULL, "/store", "1.0", 0, 255, 0, 0, GSIM_STORE_OK},
    {"256-byte name", "id-2", NULL, "/store", "1.0", 0, 256, 0, 0, GSIM_STORE_TOO_LONG},
    {"empty name", "id-2", "", "/store", "1.0", 0, 0, 0, 0, GSIM_STORE_TOO_LONG},
    {"255-byte context", "id-2", "Store", NULL, "1.0", 0, 0, 255, 0, GSIM_STORE_OK},
    {"256-byte context", "id-2", "Store", NULL, "1.0", 0, 0, 256, 0, GSIM_STORE_TOO_LONG},
    {"empty context", "id-2", "Store", "", "1.0", 0, 0, 0, 0, GSIM_STORE_TOO_LONG},
    {"63-byte version", "id-2", "Store", "/store", NULL, 0, 0, 0, 63, GSIM_STORE_OK},
    {"64-byte version", "id-2", "Store", "/store", NULL, 0, 0, 0, 64, GSIM_STORE_TOO_LONG},
    {"empty version", "id-2", "Store", "/store", "", 0, 0, 0, 0, GSIM_STORE_TOO_LONG},
    {"hostile strings", "' OR 1=1 --", "%", "_", "'", 0, 0, 0, 0, GSIM_STORE_OK},
};

static void test_api_statuses(void **state) {
  (void)state;
  char *path = fresh_path("api-statuses.db");
  for (size_t i = 0; i < sizeof(api_cases) / sizeof(api_cases[0]); i++) {
    const api_case *c = &api_cases[i];
    unlink_store(path);
    gsim_store *store = open_store(path);
    gsim_api_row pets = api_row("id-1", "Pets", "/pets", "1.0");
    assert_store(GSIM_STORE_OK, gsim_store_api_insert(store, &pets), store);
    char *before = api_snapshot(store);
    gsim_api_row row;
    memset(&row, 0, sizeof(row));
    case_string(row.id, sizeof(row.id), c->id, c->id_len);
    case_string(row.name, sizeof(row.name), c->api_name, c->name_len);
    case_string(row.context, sizeof(row.context), c->context, c->context_len);
    case_string(row.version, sizeof(row.version), c->version, c->version_len);
    row.definition = (char *)"{}";
    gsim_store_status got = gsim_store_api_insert(store, &row);
    if (got != c->want)
      fail_msg("case '%s': expected %s, got %s (%s)", c->name, gsim_store_status_name(c->want),
               gsim_store_status_name(got), gsim_store_error(store));
    char *after = api_snapshot(store);
    if (got != GSIM_STORE_OK) {
      assert_true(gsim_store_error(store)[0] != '\0');
      if (strcmp(before, after) != 0)
        fail_msg("case '%s' failed but changed the store", c->name);
    } else {
      gsim_api_row back;
      char id[GSIM_API_ID_MAX + 1] = "";
      memcpy(id, row.id, sizeof(row.id));
      assert_store(GSIM_STORE_OK, gsim_store_api_get(store, id, &back), store);
      assert_string_equal(row.name, back.name);
      assert_string_equal(row.context, back.context);
      assert_string_equal(row.version, back.version);
      gsim_api_row_clear(&back);
    }
    free(before);
    free(after);
    gsim_store_close(store);
  }
  free(path);
}

static void test_api_round_trip(void **state) {
  (void)state;
  char *path = fresh_path("api.db");
  gsim_store *store = open_store(path);
  static const char definition[] =
      "{\"name\":\"Pets\",\"context\":\"/pets\",\"note\":\"quote ' and \\\" and ශ්‍රී\"}";
  gsim_api_row row = api_row("0b2e4f6a-1c3d-4e5f-8a9b-0c1d2e3f4a5b", "Pets", "/pets", "1.0");
  row.definition = (char *)definition;
  row.created_ms = 1234;
  assert_store(GSIM_STORE_OK, gsim_store_api_insert(store, &row), store);
  gsim_api_row none = api_row("id-null", "Null", "/null", "1.0");
  none.definition = NULL;
  assert_store(GSIM_STORE_OK, gsim_store_api_insert(store, &none), store);
  gsim_api_row empty = api_row("id-empty", "Empty", "/empty", "1.0");
  empty.definition = (char *)"";
  assert_store(GSIM_STORE_OK, gsim_store_api_insert(store, &empty), store);

  gsim_api_row got;
  assert_store(GSIM_STORE_OK, gsim_store_api_get(store, row.id, &got), store);
  assert_string_equal(row.id, got.id);
  assert_string_equal("Pets", got.name);
  assert_string_equal("/pets", got.context);
  assert_string_equal("1.0", got.version);
  assert_string_equal(definition, got.definition);
  assert_int_equal(1234, got.created_ms);
  gsim_api_row_clear(&got);
  assert_null(got.definition);
  assert_store(GSIM_STORE_OK, gsim_store_api_get(store, "id-null", &got), store);
  assert_null(got.definition);
  gsim_api_row_clear(&got);
  assert_store(GSIM_STORE_OK, gsim_store_api_get(store, "id-empty", &got), store);
  assert_string_equal("", got.definition);
  gsim_api_row_clear(&got);

  gsim_api_row *rows = NULL;
  size_t count = 0;
  assert_store(GSIM_STORE_OK, gsim_store_api_list(store, &rows, &count), store);
  assert_int_equal(3, count);
  assert_string_equal(row.id, rows[0].id);
  assert_string_equal("id-null", rows[1].id);
  assert_string_equal("id-empty", rows[2].id);
  gsim_api_rows_free(rows, count);

  assert_store(GSIM_STORE_NOT_FOUND, gsim_store_api_get(store, "id-absent", &got), store);
  assert_null(got.definition);
  assert_store(GSIM_STORE_TOO_LONG, gsim_store_api_get(store, "", &got), store);
  assert_store(GSIM_STORE_NOT_FOUND, gsim_store_api_delete(store, "id-absent"), store);
  assert_store(GSIM_STORE_TOO_LONG,
               gsim_store_api_delete(store, "0123456789012345678901234567890123456"), store);
  assert_store(GSIM_STORE_OK, gsim_store_api_delete(store, "id-null"), store);
  /* the freed name+version can be taken again, and goes last */
  gsim_api_row again = api_row("id-again", "Null", "/null", "1.0");
  assert_store(GSIM_STORE_OK, gsim_store_api_insert(store, &again), store);
  assert_store(GSIM_STORE_OK, gsim_store_api_list(store, &rows, &count), store);
  assert_int_equal(3, count);
  assert_string_equal("id-again", rows[2].id);
  gsim_api_rows_free(rows, count);
  gsim_store_close(store);

  /* an empty store lists nothing */
  unlink_store(path);
  store = open_store(path);
  rows = (gsim_api_row *)1;
  assert_store(GSIM_STORE_OK, gsim_store_api_list(store, &rows, &count), store);
  assert_null(rows);
  assert_int_equal(0, count);
  gsim_store_close(store);
  free(path);
}

/* ---- objects: statuses, one row per case ---------------------------------- */

typedef enum object_op {
  OB_INSERT,
  OB_UPSERT,
  OB_DELETE,
  OB_DELETE_PREFIX,
  OB_GET,
  OB_LIST
} object_op;

/* json / blob of a case's row: small, none (NULL), exactly GSIM_OBJECT_MAX
 * bytes, one byte over, or (blob) NULL with a length. */
typedef enum object_value { V_SMALL, V_NONE, V_MAX, V_OVER, V_MISSING } object_value;

/* kind / key: a literal, or NULL with a length (that many 'x'; NULL with 0
 * is a NULL argument, or "" in a row). key is the prefix for DELETE_PREFIX
 * and LIST. count: replaced for UPSERT, rows deleted or listed. */
typedef struct object_case {
  const char *name;
  object_op op;
  const char *kind;
  size_t kind_len;
  const char *key;
  size_t key_len;
  object_value json, blob;
  gsim_store_status want;
  size_t count;
} object_case;

#define CC     "client_cert", 0
#define KM     "key_manager", 0
#define K(s)   s, 0
#define SS     V_SMALL, V_SMALL
#define OK_(n) GSIM_STORE_OK, (n)
#define TL     GSIM_STORE_TOO_LONG, 0
#define NF     GSIM_STORE_NOT_FOUND, 0

static const object_case object_cases[] = {
    {"insert new", OB_INSERT, CC, K("api1/c"), SS, OK_(0)},
    {"insert taken", OB_INSERT, CC, K("api1/a"), SS, GSIM_STORE_EXISTS, 0},
    {"insert taken in another kind", OB_INSERT, KM, K("api1/b"), SS, OK_(0)},
    {"insert taken, key_manager", OB_INSERT, KM, K("api1/a"), SS, GSIM_STORE_EXISTS, 0},
    {"insert key differing in case", OB_INSERT, CC, K("API1/a"), SS, OK_(0)},
    {"insert key with a trailing space", OB_INSERT, CC, K("api1/a "), SS, OK_(0)},
    {"insert pattern key", OB_INSERT, CC, K("%_*[?]'\\"), SS, OK_(0)},
    {"insert empty kind", OB_INSERT, K(""), K("api1/c"), SS, TL},
    {"insert 31-byte kind", OB_INSERT, L(31), K("api1/c"), SS, OK_(0)},
    {"insert 32-byte kind", OB_INSERT, L(32), K("api1/c"), SS, TL},
    {"insert empty key", OB_INSERT, CC, K(""), SS, TL},
    {"insert 511-byte key", OB_INSERT, CC, L(511), SS, OK_(0)},
    {"insert 512-byte key", OB_INSERT, CC, L(512), SS, TL},
    {"insert no json, no blob", OB_INSERT, CC, K("api1/c"), V_NONE, V_NONE, OK_(0)},
    {"insert json and blob at the bound", OB_INSERT, CC, K("api1/c"), V_MAX, V_MAX, OK_(0)},
    {"insert json over the bound", OB_INSERT, CC, K("api1/c"), V_OVER, V_SMALL, TL},
    {"insert blob over the bound", OB_INSERT, CC, K("api1/c"), V_SMALL, V_OVER, TL},
    {"insert NULL blob with a length", OB_INSERT, CC, K("api1/c"), V_SMALL, V_MISSING, TL},
    {"upsert new", OB_UPSERT, CC, K("api1/c"), SS, OK_(0)},
    {"upsert taken", OB_UPSERT, CC, K("api1/a"), SS, OK_(1)},
    {"upsert taken, no json, no blob", OB_UPSERT, CC, K("api1/a"), V_NONE, V_NONE, OK_(1)},
    {"upsert taken, at the bound", OB_UPSERT, CC, K("api1/a"), V_MAX, V_MAX, OK_(1)},
    {"upsert taken in another kind", OB_UPSERT, KM, K("api1/b"), SS, OK_(0)},
    {"upsert empty kind", OB_UPSERT, K(""), K("api1/a"), SS, TL},
    {"upsert 32-byte kind", OB_UPSERT, L(32), K("api1/a"), SS, TL},
    {"upsert empty key", OB_UPSERT, CC, K(""), SS, TL},
    {"upsert 512-byte key", OB_UPSERT, CC, L(512), SS, TL},
    {"upsert json over the bound", OB_UPSERT, CC, K("api1/a"), V_OVER, V_SMALL, TL},
    {"upsert blob over the bound", OB_UPSERT, CC, K("api1/a"), V_SMALL, V_OVER, TL},
    {"upsert NULL blob with a length", OB_UPSERT, CC, K("api1/a"), V_SMALL, V_MISSING, TL},
    {"delete taken", OB_DELETE, CC, K("api1/a"), SS, OK_(0)},
    {"delete absent", OB_DELETE, CC, K("api1/c"), SS, NF},
    {"delete key of another kind", OB_DELETE, KM, K("api1/b"), SS, NF},
    {"delete a prefix of a key", OB_DELETE, CC, K("api1/"), SS, NF},
    {"delete key differing in case", OB_DELETE, CC, K("API1/a"), SS, NF},
    {"delete empty kind", OB_DELETE, K(""), K("api1/a"), SS, TL},
    {"delete 32-byte kind", OB_DELETE, L(32), K("api1/a"), SS, TL},
    {"delete empty key", OB_DELETE, CC, K(""), SS, TL},
    {"delete NULL key", OB_DELETE, CC, NULL, 0, SS, TL},
    {"delete 512-byte key", OB_DELETE, CC, L(512), SS, TL},
    {"delete prefix api1/", OB_DELETE_PREFIX, CC, K("api1/"), SS, OK_(2)},
    {"delete prefix api", OB_DELETE_PREFIX, CC, K("api"), SS, OK_(3)},
    {"delete prefix \"\": the whole kind", OB_DELETE_PREFIX, CC, K(""), SS, OK_(3)},
    {"delete prefix \"\" of another kind", OB_DELETE_PREFIX, KM, K(""), SS, OK_(1)},
    {"delete prefix that is a whole key", OB_DELETE_PREFIX, CC, K("api1/a"), SS, OK_(1)},
    {"delete prefix longer than the keys", OB_DELETE_PREFIX, CC, K("api1/a/"), SS, OK_(0)},
    {"delete prefix matching nothing", OB_DELETE_PREFIX, CC, K("api3"), SS, OK_(0)},
    {"delete prefix %", OB_DELETE_PREFIX, CC, K("%"), SS, OK_(0)},
    {"delete prefix api_/", OB_DELETE_PREFIX, CC, K("api_/"), SS, OK_(0)},
    {"delete prefix api*", OB_DELETE_PREFIX, CC, K("api*"), SS, OK_(0)},
    {"delete prefix api[12]", OB_DELETE_PREFIX, CC, K("api[12]"), SS, OK_(0)},
    {"delete prefix differing in case", OB_DELETE_PREFIX, CC, K("API"), SS, OK_(0)},
    {"delete prefix of an absent kind", OB_DELETE_PREFIX, K("nothing"), K(""), SS, OK_(0)},
    {"delete prefix 511 bytes", OB_DELETE_PREFIX, CC, L(511), SS, OK_(0)},
    {"delete prefix 512 bytes", OB_DELETE_PREFIX, CC, L(512), SS, TL},
    {"delete prefix NULL", OB_DELETE_PREFIX, CC, NULL, 0, SS, TL},
    {"delete prefix, empty kind", OB_DELETE_PREFIX, K(""), K("api"), SS, TL},
    {"delete prefix, 32-byte kind", OB_DELETE_PREFIX, L(32), K("api"), SS, TL},
    {"get taken", OB_GET, CC, K("api1/a"), SS, OK_(0)},
    {"get absent", OB_GET, CC, K("api1/c"), SS, NF},
    {"get kind differing in case", OB_GET, K("Client_cert"), K("api1/a"), SS, NF},
    {"get a prefix of a key", OB_GET, CC, K("api1/"), SS, NF},
    {"get 511-byte key", OB_GET, CC, L(511), SS, NF},
    {"get 512-byte key", OB_GET, CC, L(512), SS, TL},
    {"get empty key", OB_GET, CC, K(""), SS, TL},
    {"get empty kind", OB_GET, K(""), K("api1/a"), SS, TL},
    {"get 32-byte kind", OB_GET, L(32), K("api1/a"), SS, TL},
    {"list api1/", OB_LIST, CC, K("api1/"), SS, OK_(2)},
    {"list NULL prefix", OB_LIST, CC, NULL, 0, SS, OK_(3)},
    {"list \"\" prefix", OB_LIST, CC, K(""), SS, OK_(3)},
    {"list another kind", OB_LIST, KM, NULL, 0, SS, OK_(1)},
    {"list a whole key", OB_LIST, CC, K("api2/a"), SS, OK_(1)},
    {"list api_/", OB_LIST, CC, K("api_/"), SS, OK_(0)},
    {"list api%", OB_LIST, CC, K("api%"), SS, OK_(0)},
    {"list api*", OB_LIST, CC, K("api*"), SS, OK_(0)},
    {"list api[12]/", OB_LIST, CC, K("api[12]/"), SS, OK_(0)},
    {"list an absent kind", OB_LIST, K("nothing"), NULL, 0, SS, OK_(0)},
    {"list 511-byte prefix", OB_LIST, CC, L(511), SS, OK_(0)},
    {"list 512-byte prefix", OB_LIST, CC, L(512), SS, TL},
    {"list empty kind", OB_LIST, K(""), NULL, 0, SS, TL},
    {"list 32-byte kind", OB_LIST, L(32), NULL, 0, SS, TL},
};

#undef CC
#undef KM
#undef K
#undef SS
#undef OK_
#undef TL
#undef NF

static const unsigned char fixture_blob_a[] = {'a', 0, 'a'};
static const unsigned char fixture_blob_c[] = {0};
static const unsigned char small_blob[] = {'n', 0, 'w'};
static char *big_value; /* GSIM_OBJECT_MAX + 1 'j' and a NUL */

static void object_fixture(gsim_store *store) {
  insert_object(store, "client_cert", "api1/a", "{\"a\":1}", fixture_blob_a, sizeof(fixture_blob_a),
                1000);
  insert_object(store, "client_cert", "api1/b", "{\"b\":1}", NULL, 0, 1001);
  insert_object(store, "client_cert", "api2/a", NULL, fixture_blob_c, sizeof(fixture_blob_c), 1002);
  insert_object(store, "key_manager", "api1/a", "{}", NULL, 0, 1003);
}

static const char *case_json(object_value v) {
  switch (v) {
  case V_SMALL:
    return "{\"new\":\"ශ්‍රී '%_\"}";
  case V_MAX:
    return big_value + 1;
  case V_OVER:
    return big_value;
  case V_NONE:
  case V_MISSING:
    break;
  }
  return NULL;
}

static const unsigned char *case_blob(object_value v, size_t *len) {
  switch (v) {
  case V_SMALL:
    *len = sizeof(small_blob);
    return small_blob;
  case V_MAX:
    *len = (size_t)GSIM_OBJECT_MAX;
    return (const unsigned char *)big_value;
  case V_OVER:
    *len = (size_t)GSIM_OBJECT_MAX + 1;
    return (const unsigned char *)big_value;
  case V_MISSING:
    *len = 5;
    return NULL;
  case V_NONE:
    break;
  }
  *len = 0;
  return NULL;
}

/* The row as get returns it after a successful insert or upsert. */
static void assert_object_written(gsim_store *store, const gsim_object_row *row, int replaced) {
  char kind[GSIM_KIND_MAX + 1] = "", key[GSIM_OBJECT_KEY_MAX + 1] = "";
  memcpy(kind, row->kind, sizeof(row->kind));
  memcpy(key, row->key, sizeof(row->key));
  gsim_object_row got;
  assert_store(GSIM_STORE_OK, gsim_store_object_get(store, kind, key, &got), store);
  assert_string_equal(kind, got.kind);
  assert_string_equal(key, got.key);
  if (row->json == NULL)
    assert_null(got.json);
  else
    assert_string_equal(row->json, got.json);
  assert_int_equal(row->blob_len, got.blob_len);
  if (row->blob_len == 0)
    assert_null(got.blob);
  else
    assert_memory_equal(row->blob, got.blob, row->blob_len);
  assert_int_equal(replaced ? 1000 : row->created_ms, got.created_ms);
  assert_int_equal(row->updated_ms, got.updated_ms);
  gsim_object_row_clear(&got);
}

static gsim_store_status run_object_case(gsim_store *store, const object_case *c) {
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  case_string(row.kind, sizeof(row.kind), c->kind, c->kind_len);
  case_string(row.key, sizeof(row.key), c->key, c->key_len);
  row.json = (char *)case_json(c->json);
  row.blob = (unsigned char *)case_blob(c->blob, &row.blob_len);
  row.created_ms = 4000;
  row.updated_ms = 5000;
  char *kind = case_arg(c->kind, c->kind_len);
  char *key = case_arg(c->key, c->key_len);
  gsim_store_status status = GSIM_STORE_ERROR;
  int replaced = -1;
  size_t deleted = 99;
  gsim_object_row got;
  gsim_object_row *rows = (gsim_object_row *)1;
  size_t count = 99;
  switch (c->op) {
  case OB_INSERT:
    status = gsim_store_object_insert(store, &row);
    if (status == GSIM_STORE_OK)
      assert_object_written(store, &row, 0);
    break;
  case OB_UPSERT:
    status = gsim_store_object_upsert(store, &row, &replaced);
    assert_int_equal(status == GSIM_STORE_OK ? (int)c->count : 0, replaced);
    if (status == GSIM_STORE_OK)
      assert_object_written(store, &row, replaced);
    break;
  case OB_DELETE:
    status = gsim_store_object_delete(store, kind, key);
    break;
  case OB_DELETE_PREFIX:
    status = gsim_store_object_delete_prefix(store, kind, key, &deleted);
    assert_int_equal(status == GSIM_STORE_OK ? c->count : 0, deleted);
    break;
  case OB_GET:
    status = gsim_store_object_get(store, kind, key, &got);
    if (status == GSIM_STORE_OK) {
      assert_string_equal("client_cert", got.kind);
      assert_string_equal("api1/a", got.key);
      assert_string_equal("{\"a\":1}", got.json);
      assert_int_equal(sizeof(fixture_blob_a), got.blob_len);
      assert_memory_equal(fixture_blob_a, got.blob, got.blob_len);
      assert_int_equal(1000, got.created_ms);
      assert_int_equal(1000, got.updated_ms);
    } else {
      assert_null(got.json); /* cleared on failure: nothing to free */
      assert_null(got.blob);
      assert_int_equal(0, got.blob_len);
    }
    gsim_object_row_clear(&got);
    break;
  case OB_LIST:
    status = gsim_store_object_list(store, kind, key, &rows, &count);
    if (status == GSIM_STORE_OK) {
      assert_int_equal(c->count, count);
      if (count == 0)
        assert_null(rows);
      for (size_t i = 0; i < count; i++) {
        assert_string_equal(kind, rows[i].kind);
        if (key != NULL)
          assert_memory_equal(key, rows[i].key, strlen(key));
      }
    } else {
      assert_null(rows);
      assert_int_equal(0, count);
    }
    gsim_object_rows_free(rows, count);
    break;
  }
  free(kind);
  free(key);
  return status;
}

static void test_object_statuses(void **state) {
  (void)state;
  big_value = malloc((size_t)GSIM_OBJECT_MAX + 2);
  assert_non_null(big_value);
  memset(big_value, 'j', (size_t)GSIM_OBJECT_MAX + 1);
  big_value[GSIM_OBJECT_MAX + 1] = '\0';
  char *path = fresh_path("object-statuses.db");
  for (size_t i = 0; i < sizeof(object_cases) / sizeof(object_cases[0]); i++) {
    const object_case *c = &object_cases[i];
    unlink_store(path);
    gsim_store *store = open_store(path);
    object_fixture(store);
    char *before = object_snapshot(store);
    gsim_store_status got = run_object_case(store, c);
    if (got != c->want)
      fail_msg("case '%s': expected %s, got %s (%s)", c->name, gsim_store_status_name(c->want),
               gsim_store_status_name(got), gsim_store_error(store));
    char *after = object_snapshot(store);
    int reads = c->op == OB_GET || c->op == OB_LIST;
    if (got != GSIM_STORE_OK) {
      /* a failure says why, and leaves every row as it was */
      assert_true(gsim_store_error(store)[0] != '\0');
      if (strcmp(before, after) != 0)
        fail_msg("case '%s' failed but changed the store", c->name);
    } else if (reads || (c->op == OB_DELETE_PREFIX && c->count == 0)) {
      if (strcmp(before, after) != 0)
        fail_msg("case '%s' changed the store", c->name);
    } else if (strcmp(before, after) == 0) {
      fail_msg("case '%s' did not change the store", c->name);
    }
    free(before);
    free(after);
    gsim_store_close(store);
  }
  free(path);
  free(big_value);
  big_value = NULL;
}

/* ---- objects: behaviour --------------------------------------------------- */

static void test_object_round_trip_upsert(void **state) {
  (void)state;
  char *path = fresh_path("objects.db");
  gsim_store *store = open_store(path);
  static const unsigned char nuls[] = {0, 1, 0, 0xff, 0, 'x', 0, 0};
  static const char json[] = "{\"alias\":\"a'b\\\"c\",\"note\":\"ශ්‍රී 日本\"}";
  insert_object(store, "client_cert", "api/nuls", json, nuls, sizeof(nuls), 100);
  static const unsigned char empty[1] = {0};
  insert_object(store, "client_cert", "api/empty", "", empty, 0, 200);
  insert_object(store, "client_cert", "api/none", NULL, NULL, 0, 300);

  gsim_object_row got;
  assert_store(GSIM_STORE_OK, gsim_store_object_get(store, "client_cert", "api/nuls", &got), store);
  assert_string_equal("client_cert", got.kind);
  assert_string_equal("api/nuls", got.key);
  assert_string_equal(json, got.json);
  assert_int_equal(sizeof(nuls), got.blob_len);
  assert_memory_equal(nuls, got.blob, sizeof(nuls));
  assert_int_equal(100, got.created_ms);
  assert_int_equal(100, got.updated_ms);
  gsim_object_row_clear(&got);
  assert_null(got.json);
  assert_null(got.blob);
  assert_int_equal(0, got.blob_len);
  /* "" stays "", a 0-byte blob reads back as none */
  assert_store(GSIM_STORE_OK, gsim_store_object_get(store, "client_cert", "api/empty", &got),
               store);
  assert_string_equal("", got.json);
  assert_null(got.blob);
  assert_int_equal(0, got.blob_len);
  gsim_object_row_clear(&got);
  assert_store(GSIM_STORE_OK, gsim_store_object_get(store, "client_cert", "api/none", &got), store);
  assert_null(got.json);
  assert_null(got.blob);
  gsim_object_row_clear(&got);

  /* upsert of an existing key: json, blob, updated_ms; created_ms and place kept */
  gsim_object_row row = object_row("client_cert", "api/nuls", "{\"v\":2}", "\0\0", 2, 999);
  row.updated_ms = 400;
  int replaced = -1;
  assert_store(GSIM_STORE_OK, gsim_store_object_upsert(store, &row, &replaced), store);
  assert_int_equal(1, replaced);
  assert_store(GSIM_STORE_OK, gsim_store_object_get(store, "client_cert", "api/nuls", &got), store);
  assert_string_equal("{\"v\":2}", got.json);
  assert_int_equal(2, got.blob_len);
  assert_memory_equal("\0\0", got.blob, 2);
  assert_int_equal(100, got.created_ms);
  assert_int_equal(400, got.updated_ms);
  gsim_object_row_clear(&got);
  assert_object_keys(store, "client_cert", NULL, "api/nuls,api/empty,api/none");
  /* an upsert without json or blob removes them */
  row = object_row("client_cert", "api/nuls", NULL, NULL, 0, 500);
  assert_store(GSIM_STORE_OK, gsim_store_object_upsert(store, &row, NULL), store);
  assert_store(GSIM_STORE_OK, gsim_store_object_get(store, "client_cert", "api/nuls", &got), store);
  assert_null(got.json);
  assert_null(got.blob);
  assert_int_equal(100, got.created_ms);
  assert_int_equal(500, got.updated_ms);
  gsim_object_row_clear(&got);

  /* upsert of a new key inserts it as given, last */
  row = object_row("client_cert", "api/new", "{}", NULL, 0, 600);
  row.created_ms = 599;
  assert_store(GSIM_STORE_OK, gsim_store_object_upsert(store, &row, &replaced), store);
  assert_int_equal(0, replaced);
  assert_store(GSIM_STORE_OK, gsim_store_object_get(store, "client_cert", "api/new", &got), store);
  assert_int_equal(599, got.created_ms);
  assert_int_equal(600, got.updated_ms);
  gsim_object_row_clear(&got);
  assert_object_keys(store, "client_cert", NULL, "api/nuls,api/empty,api/none,api/new");

  /* insert of a taken key: EXISTS, and the key is not echoed */
  row = object_row("client_cert", "api/secret-looking", "{}", NULL, 0, 1);
  assert_store(GSIM_STORE_OK, gsim_store_object_insert(store, &row), store);
  assert_store(GSIM_STORE_EXISTS, gsim_store_object_insert(store, &row), store);
  assert_non_null(strstr(gsim_store_error(store), "objects.kind, objects.key"));
  assert_null(strstr(gsim_store_error(store), "secret-looking"));

  /* delete, then it is gone; re-created, it goes last */
  assert_store(GSIM_STORE_OK, gsim_store_object_delete(store, "client_cert", "api/nuls"), store);
  assert_store(GSIM_STORE_NOT_FOUND, gsim_store_object_get(store, "client_cert", "api/nuls", &got),
               store);
  assert_null(got.json);
  assert_store(GSIM_STORE_NOT_FOUND, gsim_store_object_delete(store, "client_cert", "api/nuls"),
               store);
  assert_non_null(strstr(gsim_store_error(store), "no object"));
  insert_object(store, "client_cert", "api/nuls", NULL, nuls, sizeof(nuls), 700);
  assert_object_keys(store, "client_cert", NULL,
                     "api/empty,api/none,api/new,api/secret-looking,api/nuls");

  gsim_object_row *rows = (gsim_object_row *)1;
  size_t count = 99;
  assert_store(GSIM_STORE_OK, gsim_store_object_list(store, "client_cert", "zzz", &rows, &count),
               store);
  assert_null(rows);
  assert_int_equal(0, count);

  /* NULL arguments: errors, never crashes */
  size_t deleted = 99;
  assert_int_equal(GSIM_STORE_ERROR, gsim_store_object_insert(NULL, &row));
  assert_int_equal(GSIM_STORE_ERROR, gsim_store_object_insert(store, NULL));
  replaced = -1;
  assert_int_equal(GSIM_STORE_ERROR, gsim_store_object_upsert(store, NULL, &replaced));
  assert_int_equal(0, replaced);
  assert_int_equal(GSIM_STORE_ERROR, gsim_store_object_delete(NULL, "k", "k"));
  assert_int_equal(GSIM_STORE_TOO_LONG, gsim_store_object_delete(store, NULL, "k"));
  assert_int_equal(GSIM_STORE_ERROR, gsim_store_object_delete_prefix(NULL, "k", "", &deleted));
  assert_int_equal(0, deleted);
  assert_int_equal(GSIM_STORE_TOO_LONG, gsim_store_object_delete_prefix(store, NULL, "", NULL));
  assert_int_equal(GSIM_STORE_ERROR, gsim_store_object_get(store, "k", "k", NULL));
  assert_int_equal(GSIM_STORE_ERROR, gsim_store_object_get(NULL, "k", "k", &got));
  assert_int_equal(GSIM_STORE_TOO_LONG, gsim_store_object_get(store, NULL, "k", &got));
  assert_int_equal(GSIM_STORE_ERROR, gsim_store_object_list(store, "k", NULL, NULL, &count));
  assert_int_equal(GSIM_STORE_ERROR, gsim_store_object_list(store, "k", NULL, &rows, NULL));
  assert_int_equal(GSIM_STORE_TOO_LONG, gsim_store_object_list(store, NULL, NULL, &rows, &count));
  gsim_object_row_clear(NULL);
  gsim_object_rows_free(NULL, 0);
  gsim_object_rows_free(NULL, 3);
  gsim_store_close(store);
  free(path);
}

/* Keys holding LIKE and GLOB pattern characters, and bytes that are not
 * UTF-8: a prefix matches exactly the keys that start with its bytes. */
static void test_object_prefixes_are_bytes(void **state) {
  (void)state;
  char *path = fresh_path("prefixes.db");
  gsim_store *store = open_store(path);
  static const char *const keys[] = {
      "a%b/1", "a_b/1", "axb/1", "a%b/2",      "a*/1",  "a[b]/1", "ab/1",
      "A%b/1", "a%",    "a",     "\xff\xfe/1", "a\xff", "a\\%/1", "a?/1",
  };
  size_t n = sizeof(keys) / sizeof(keys[0]);
  for (size_t i = 0; i < n; i++) /* created_ms against the creation order */
    insert_object(store, "k", keys[i], NULL, NULL, 0, (int64_t)(n - i));
  /* the same keys in another kind must never match */
  insert_object(store, "other", "a%b/1", NULL, NULL, 0, 1);
  insert_object(store, "other", "a", NULL, NULL, 0, 1);

  static const struct {
    const char *prefix, *want;
  } lists[] = {
      {NULL, "a%b/1,a_b/1,axb/1,a%b/2,a*/1,a[b]/1,ab/1,A%b/1,a%,a,\xff\xfe/1,a\xff,a\\%/1,a?/1"},
      {"a", "a%b/1,a_b/1,axb/1,a%b/2,a*/1,a[b]/1,ab/1,a%,a,a\xff,a\\%/1,a?/1"},
      {"A", "A%b/1"},
      {"a%b/", "a%b/1,a%b/2"},
      {"a%", "a%b/1,a%b/2,a%"},
      {"a_b", "a_b/1"},
      {"a_", "a_b/1"}, /* not axb/1 */
      {"a*", "a*/1"},
      {"a?", "a?/1"},
      {"a[b]", "a[b]/1"},
      {"a[", "a[b]/1"},
      {"a\\", "a\\%/1"},
      {"a\\%", "a\\%/1"},
      {"%", ""},
      {"_", ""},
      {"*", ""},
      {"[", ""},
      {"?", ""},
      {"%a", ""},
      {"\xff", "\xff\xfe/1"},
      {"a\xff", "a\xff"},
      {"ab/1", "ab/1"},
      {"ab/1/", ""},
      {"ab/", "ab/1"},
      {"b", ""},
  };
  for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
    assert_object_keys(store, "k", lists[i].prefix, lists[i].want);
  assert_object_keys(store, "other", "a", "a%b/1,a");

  /* an upsert keeps the place; delete_prefix takes exactly the matches */
  gsim_object_row row = object_row("k", "a%b/1", "{}", NULL, 0, 50);
  assert_store(GSIM_STORE_OK, gsim_store_object_upsert(store, &row, NULL), store);
  assert_object_keys(store, "k", "a%b/", "a%b/1,a%b/2");
  static const struct {
    const char *prefix;
    size_t deleted;
    const char *left;
  } deletes[] = {
      {"%", 0, "a%b/1,a_b/1,axb/1,a%b/2,a*/1,a[b]/1,ab/1,A%b/1,a%,a,\xff\xfe/1,a\xff,a\\%/1,a?/1"},
      {"a%", 3, "a_b/1,axb/1,a*/1,a[b]/1,ab/1,A%b/1,a,\xff\xfe/1,a\xff,a\\%/1,a?/1"},
      {"a_", 1, "axb/1,a*/1,a[b]/1,ab/1,A%b/1,a,\xff\xfe/1,a\xff,a\\%/1,a?/1"},
      {"a*", 1, "axb/1,a[b]/1,ab/1,A%b/1,a,\xff\xfe/1,a\xff,a\\%/1,a?/1"},
      {"[", 0, "axb/1,a[b]/1,ab/1,A%b/1,a,\xff\xfe/1,a\xff,a\\%/1,a?/1"},
      {"a[b", 1, "axb/1,ab/1,A%b/1,a,\xff\xfe/1,a\xff,a\\%/1,a?/1"},
      {"\xff", 1, "axb/1,ab/1,A%b/1,a,a\xff,a\\%/1,a?/1"},
      {"a\\", 1, "axb/1,ab/1,A%b/1,a,a\xff,a?/1"},
      {"a", 5, "A%b/1"},
      {"", 1, ""},
  };
  for (size_t i = 0; i < sizeof(deletes) / sizeof(deletes[0]); i++) {
    size_t deleted = 99;
    assert_store(GSIM_STORE_OK,
                 gsim_store_object_delete_prefix(store, "k", deletes[i].prefix, &deleted), store);
    if (deleted != deletes[i].deleted)
      fail_msg("delete prefix '%s': %zu deleted, expected %zu", deletes[i].prefix, deleted,
               deletes[i].deleted);
    assert_object_keys(store, "k", NULL, deletes[i].left);
    assert_object_keys(store, "other", NULL, "a%b/1,a"); /* untouched throughout */
  }
  gsim_store_close(store);
  free(path);
}

/* SQLite failing in the middle of an object write: ERROR, nothing changed,
 * and a delete_prefix that fails on its second row deletes none. */
static void test_object_failed_write_rolls_back(void **state) {
  (void)state;
  char *path = fresh_path("object-rollback.db");
  gsim_store *store = open_store(path);
  insert_object(store, "client_cert", "p/1", "{}", "1", 1, 1);
  insert_object(store, "client_cert", "p/2", "{}", "2", 1, 2);
  insert_object(store, "client_cert", "p/3", "{}", "3", 1, 3);
  char *before = object_snapshot(store);
  exec_sql(path, "CREATE TRIGGER fail_update BEFORE UPDATE ON objects"
                 " BEGIN SELECT RAISE(ABORT, 'injected update failure'); END;"
                 "CREATE TRIGGER fail_delete BEFORE DELETE ON objects WHEN OLD.key = 'p/2'"
                 " BEGIN SELECT RAISE(ABORT, 'injected delete failure'); END");
  gsim_object_row row = object_row("client_cert", "p/1", "{\"moved\":1}", NULL, 0, 9);
  int replaced = -1;
  assert_store(GSIM_STORE_ERROR, gsim_store_object_upsert(store, &row, &replaced), store);
  assert_int_equal(0, replaced);
  assert_non_null(strstr(gsim_store_error(store), "injected update failure"));
  size_t deleted = 99;
  assert_store(GSIM_STORE_ERROR,
               gsim_store_object_delete_prefix(store, "client_cert", "p/", &deleted), store);
  assert_int_equal(0, deleted);
  assert_non_null(strstr(gsim_store_error(store), "injected delete failure"));
  char *after = object_snapshot(store);
  assert_string_equal(before, after);

  /* no transaction is left open: the next write is seen at once elsewhere */
  insert_object(store, "client_cert", "p/4", NULL, NULL, 0, 4);
  assert_string_equal("4", query_text(path, "SELECT count(*) FROM objects"));
  exec_sql(path, "DROP TRIGGER fail_update; DROP TRIGGER fail_delete");
  assert_store(GSIM_STORE_OK, gsim_store_object_delete_prefix(store, "client_cert", "p/", &deleted),
               store);
  assert_int_equal(4, deleted);
  free(before);
  free(after);
  gsim_store_close(store);
  free(path);
}

/* A version-1 store is migrated to version 2 when opened: one transaction,
 * old rows kept, then it is an ordinary version-2 store. */
static void test_object_migrates_v1(void **state) {
  (void)state;
  char *path = fresh_path("v1.db");
  make_v1(path);
  assert_int_equal(0, chmod(path, 0644));
  assert_string_equal("1", query_text(path, "PRAGMA user_version"));
  assert_string_equal("0", query_text(path, "SELECT count(*) FROM sqlite_schema"
                                            " WHERE name = 'objects'"));

  gsim_store *store = open_store(path);
  assert_string_equal("2", query_text(path, "PRAGMA user_version"));
  assert_string_equal("1735616877", query_text(path, "PRAGMA application_id"));
  assert_string_equal("wal", query_text(path, "PRAGMA journal_mode"));
  assert_int_equal(0600, file_mode(path));
  /* the old rows, as they were */
  assert_order(store, NULL, NULL, "old-b,old-a");
  gsim_cert_row cert;
  assert_store(GSIM_STORE_OK, gsim_store_cert_get(store, "old-b", &cert), store);
  assert_string_equal("https://old", cert.endpoint);
  assert_int_equal(4, cert.der_len);
  assert_memory_equal("\x30\x00\xff\x00", cert.der, 4);
  assert_int_equal(20, cert.created_ms);
  assert_int_equal(21, cert.updated_ms);
  gsim_cert_row_clear(&cert);
  gsim_api_row api;
  assert_store(GSIM_STORE_OK, gsim_store_api_get(store, "id-old", &api), store);
  assert_string_equal("{\"old\":1}", api.definition);
  assert_int_equal(12, api.created_ms);
  gsim_api_row_clear(&api);
  /* and everything works on it: new rows of all three tables */
  insert_cert(store, "new", "https://new", &der_a, 30);
  assert_order(store, NULL, NULL, "old-b,old-a,new");
  gsim_api_row fresh = api_row("id-new", "New", "/new", "1.0");
  assert_store(GSIM_STORE_OK, gsim_store_api_insert(store, &fresh), store);
  insert_object(store, "client_cert", "id-old/x", "{}", "\0x", 2, 31);
  insert_object(store, "client_cert", "id-old/y", NULL, NULL, 0, 32);
  char *certs = cert_snapshot(store);
  char *apis = api_snapshot(store);
  char *objects = object_snapshot(store);
  gsim_store_close(store);
  assert_string_equal("ok", query_text(path, "PRAGMA integrity_check"));

  /* opened again it is simply version 2, nothing lost */
  store = open_store(path);
  assert_string_equal("2", query_text(path, "PRAGMA user_version"));
  char *certs_again = cert_snapshot(store);
  char *apis_again = api_snapshot(store);
  char *objects_again = object_snapshot(store);
  assert_string_equal(certs, certs_again);
  assert_string_equal(apis, apis_again);
  assert_string_equal(objects, objects_again);
  assert_object_keys(store, "client_cert", "id-old/", "id-old/x,id-old/y");
  gsim_store_close(store);
  free(certs);
  free(apis);
  free(objects);
  free(certs_again);
  free(apis_again);
  free(objects_again);

  /* a second connection opened after the migration sees the same store */
  unlink_store(path);
  make_v1(path);
  gsim_store *first = open_store(path);
  gsim_store *second = open_store(path);
  insert_object(second, "key_manager", "km", "{}", NULL, 0, 1);
  assert_object_keys(first, "key_manager", NULL, "km");
  gsim_store_close(second);
  gsim_store_close(first);
  free(path);
}

/* ---- errors and NULLs ---------------------------------------------------- */

static void test_error_text_and_null_safety(void **state) {
  (void)state;
  char *path = fresh_path("errors.db");
  gsim_store *store = open_store(path);
  assert_string_equal("", gsim_store_error(store));
  insert_cert(store, "secret-looking-alias", "https://e", &der_a, 1);
  gsim_cert_row row = cert_row("secret-looking-alias", "https://e", &der_b, 2);
  assert_store(GSIM_STORE_EXISTS, gsim_store_cert_insert(store, &row), store);
  const char *err = gsim_store_error(store);
  assert_non_null(strstr(err, "UNIQUE constraint failed: endpoint_certs.alias"));
  assert_null(strstr(err, "secret-looking")); /* values are never echoed */
  /* a success does not clear it: it is the last failure */
  gsim_cert_row got;
  assert_store(GSIM_STORE_OK, gsim_store_cert_get(store, "secret-looking-alias", &got), store);
  gsim_cert_row_clear(&got);
  assert_non_null(strstr(gsim_store_error(store), "UNIQUE"));
  assert_store(GSIM_STORE_NOT_FOUND, gsim_store_cert_delete(store, "nope"), store);
  assert_non_null(strstr(gsim_store_error(store), "no certificate"));
  gsim_api_row api = api_row("i", "n", "/c", "1");
  assert_store(GSIM_STORE_OK, gsim_store_api_insert(store, &api), store);
  api = api_row("j", "n", "/d", "1");
  assert_store(GSIM_STORE_EXISTS, gsim_store_api_insert(store, &api), store);
  assert_non_null(strstr(gsim_store_error(store), "apis.name, apis.version"));
  api = api_row("k", "m", "/c", "1");
  assert_store(GSIM_STORE_EXISTS, gsim_store_api_insert(store, &api), store);
  assert_non_null(strstr(gsim_store_error(store), "apis.context, apis.version"));

  /* NULL arguments: errors, never crashes */
  assert_int_equal(GSIM_STORE_ERROR, gsim_store_cert_insert(NULL, &row));
  assert_int_equal(GSIM_STORE_ERROR, gsim_store_cert_insert(store, NULL));
  assert_int_equal(GSIM_STORE_TOO_LONG, gsim_store_cert_delete(store, NULL));
  assert_int_equal(GSIM_STORE_ERROR, gsim_store_cert_get(store, "x", NULL));
  assert_int_equal(GSIM_STORE_ERROR, gsim_store_cert_list(store, NULL, NULL, NULL, NULL));
  assert_int_equal(GSIM_STORE_ERROR, gsim_store_api_list(NULL, NULL, NULL));
  gsim_store_close(store);

  gsim_cert_row_clear(NULL);
  gsim_cert_rows_free(NULL, 0);
  gsim_cert_rows_free(NULL, 5);
  gsim_api_row_clear(NULL);
  gsim_api_rows_free(NULL, 0);
  gsim_store_close(NULL);
  assert_string_equal("", gsim_store_error(NULL));
  char why[128] = "untouched";
  gsim_store *out = (gsim_store *)1;
  assert_int_equal(-1, gsim_store_open(NULL, &out, why, sizeof(why)));
  assert_null(out);
  assert_string_not_equal("untouched", why);
  assert_int_equal(-1, gsim_store_open("", &out, NULL, 0));
  free(path);
}

/* ---- the file: modes, persistence, refusals ------------------------------ */

static void test_file_modes_under_umask_0(void **state) {
  (void)state;
  mode_t old = umask(0);
  char *path = fresh_path("modes.db");
  gsim_store *store = open_store(path);
  insert_cert(store, "a", "https://a", &der_a, 1); /* the WAL gets frames */
  assert_int_equal(0600, file_mode(path));
  assert_int_equal(0600, sibling_mode(path, "-wal"));
  assert_int_equal(0600, sibling_mode(path, "-shm"));
  assert_string_equal("wal", query_text(path, "PRAGMA journal_mode"));
  assert_string_equal("1735616877", query_text(path, "PRAGMA application_id"));
  assert_string_equal("2", query_text(path, "PRAGMA user_version"));
  gsim_store_close(store);
  /* the last connection checkpoints and removes -wal and -shm */
  assert_int_equal(-1, sibling_mode(path, "-wal"));
  assert_int_equal(-1, sibling_mode(path, "-shm"));

  /* a store loosened by hand is tightened at open, -wal and -shm too */
  assert_int_equal(0, chmod(path, 0644));
  store = open_store(path);
  assert_int_equal(0600, file_mode(path));
  insert_cert(store, "b", "https://b", &der_a, 2);
  assert_int_equal(0600, sibling_mode(path, "-wal"));
  char *wal = sibling(path, "-wal");
  assert_int_equal(0, chmod(wal, 0666));
  gsim_store *second = open_store(path); /* a second connection, as after a restart */
  assert_int_equal(0600, file_mode(wal));
  assert_int_equal(0600, sibling_mode(path, "-shm"));
  gsim_store_close(second);
  gsim_store_close(store);
  free(wal);

  /* a new store is built aside and linked into place: nothing is left next to it */
  unlink_store(path);
  store = open_store(path);
  assert_int_equal(0600, file_mode(path));
  DIR *dir = opendir(test_scratch_dir());
  assert_non_null(dir);
  for (struct dirent *e = readdir(dir); e != NULL; e = readdir(dir))
    if (strstr(e->d_name, "modes.db.new-") != NULL)
      fail_msg("left behind: %s", e->d_name);
  closedir(dir);
  gsim_store_close(store);
  umask(old);
  free(path);
}

static void test_reopen_persists(void **state) {
  (void)state;
  char *path = fresh_path("reopen.db");
  gsim_store *store = open_store(path);
  insert_cert(store, "one", "https://one", &der_a, 1);
  insert_cert(store, "two", "https://two", &der_b, 2);
  insert_cert(store, "three", "https://one", &der_a, 3);
  assert_store(GSIM_STORE_OK, gsim_store_cert_replace(store, "two", der_a.data, der_a.len, 9),
               store);
  gsim_api_row api = api_row("id-1", "Pets", "/pets", "1.0");
  assert_store(GSIM_STORE_OK, gsim_store_api_insert(store, &api), store);
  insert_object(store, "client_cert", "api/b", "{\"b\":1}", "b\0b", 3, 1);
  insert_object(store, "client_cert", "api/a", NULL, "\0", 1, 2);
  insert_object(store, "key_manager", "km", "{}", NULL, 0, 3);
  gsim_object_row obj = object_row("client_cert", "api/b", "{\"b\":2}", "\0", 1, 4);
  assert_store(GSIM_STORE_OK, gsim_store_object_upsert(store, &obj, NULL), store);
  char *certs = cert_snapshot(store);
  char *apis = api_snapshot(store);
  char *objects = object_snapshot(store);
  gsim_store_close(store);

  store = open_store(path);
  char *certs_again = cert_snapshot(store);
  char *apis_again = api_snapshot(store);
  char *objects_again = object_snapshot(store);
  assert_string_equal(certs, certs_again);
  assert_string_equal(apis, apis_again);
  assert_string_equal(objects, objects_again);
  /* creation order survives too: a new row goes after the old ones */
  insert_cert(store, "four", "https://one", &der_b, 0);
  assert_order(store, NULL, NULL, "one,two,three,four");
  insert_object(store, "client_cert", "api/0", NULL, NULL, 0, 0);
  assert_object_keys(store, "client_cert", NULL, "api/b,api/a,api/0");
  gsim_store_close(store);
  free(certs);
  free(apis);
  free(objects);
  free(certs_again);
  free(apis_again);
  free(objects_again);
  free(path);
}

/* Debian's SQLite takes "file:..." names as URIs (SQLITE_USE_URI): the store
 * must still mean the file of that name, not an in-memory database. */
static void test_path_that_looks_like_a_uri(void **state) {
  (void)state;
  int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(cwd >= 0);
  assert_int_equal(0, chdir(test_scratch_dir()));
  static const char name[] = "file:uri.db?mode=memory";
  unlink_store(name);
  gsim_store *store = open_store(name);
  insert_cert(store, "persisted", "https://p", &der_a, 1);
  gsim_store_close(store);
  assert_int_equal(0600, file_mode(name));
  store = open_store(name);
  assert_order(store, NULL, NULL, "persisted");
  gsim_store_close(store);
  unlink_store(name);
  assert_int_equal(0, fchdir(cwd));
  close(cwd);
}

typedef enum refuse_setup {
  MAKE_TEXT,
  MAKE_SHORT,
  MAKE_BAD_HEADER,
  MAKE_FOREIGN_TABLE,
  MAKE_FOREIGN_ID,
  MAKE_FUTURE_VERSION,
  MAKE_OLD_VERSION,
  MAKE_MISSING_TABLE,
  MAKE_V3,
  MAKE_V1_DAMAGED,
  MAKE_V1_WITH_OBJECTS,
  MAKE_EMPTY,
  MAKE_NO_TABLES,
} refuse_setup;

typedef struct refuse_case {
  const char *name;
  refuse_setup setup;
  const char *why; /* a substring the refusal must contain */
  int rc;          /* -2: not a store of ours (a fresh store would replace it); -1: other */
} refuse_case;

static const refuse_case refuse_cases[] = {
    {"text file", MAKE_TEXT, "not a gatecert-sim store: not an SQLite database", -2},
    {"file shorter than the magic", MAKE_SHORT, "not an SQLite database", -2},
    {"SQLite magic, garbage header", MAKE_BAD_HEADER, "not a gatecert-sim store: ", -2},
    {"foreign SQLite database", MAKE_FOREIGN_TABLE,
     "another application (application_id 0x00000000, 1 schema objects)", -2},
    {"SQLite database of another application", MAKE_FOREIGN_ID,
     "another application (application_id 0x0000002a", -2},
    {"future schema version", MAKE_FUTURE_VERSION,
     "schema version 99; this build reads version 2 (made by a newer gatecert-sim)", -1},
    {"schema version 3", MAKE_V3,
     "schema version 3; this build reads version 2 (made by a newer gatecert-sim)", -1},
    {"schema version 1, a table missing (not migrated)", MAKE_V1_DAMAGED,
     "the schema is damaged: no such table: apis", -1},
    {"schema version 1 with an objects table of its own", MAKE_V1_WITH_OBJECTS,
     "cannot migrate schema version 1 to 2: table objects already exists", -1},
    {"schema version 0 with our id", MAKE_OLD_VERSION, "schema version 0; this build reads", -2},
    {"our id and version, a table missing", MAKE_MISSING_TABLE, "the schema is damaged", -2},
    /* a store truncated behind our back: never started empty (issue 15) */
    {"empty file (a truncated store)", MAKE_EMPTY,
     "is empty (0 bytes): gatecert-sim never leaves an empty store", -2},
    {"SQLite file without tables", MAKE_NO_TABLES,
     "an SQLite database with no tables and no application id", -2},
};

static void make_refused(const char *path, refuse_setup setup) {
  static const char text[] = "alias,endpoint\necho,https://echo\n";
  unsigned char header[512];
  gsim_store *store = NULL;
  switch (setup) {
  case MAKE_TEXT:
    write_file(path, text, sizeof(text) - 1);
    break;
  case MAKE_SHORT:
    write_file(path, "SQLite", 6);
    break;
  case MAKE_BAD_HEADER:
    memset(header, 0xa5, sizeof(header));
    memcpy(header, "SQLite format 3", 16);
    write_file(path, header, sizeof(header));
    break;
  case MAKE_FOREIGN_TABLE:
    exec_sql(path,
             "CREATE TABLE endpoint_certs(alias TEXT); INSERT INTO endpoint_certs VALUES('x')");
    break;
  case MAKE_FOREIGN_ID:
    exec_sql(path, "PRAGMA application_id = 42");
    break;
  case MAKE_FUTURE_VERSION:
  case MAKE_OLD_VERSION:
  case MAKE_MISSING_TABLE:
    store = open_store(path);
    insert_cert(store, "kept", "https://kept", &der_a, 1);
    gsim_store_close(store);
    exec_sql(path, setup == MAKE_FUTURE_VERSION ? "PRAGMA user_version = 99"
                   : setup == MAKE_OLD_VERSION  ? "PRAGMA user_version = 0"
                                                : "DROP TABLE apis");
    break;
  case MAKE_V3:
    store = open_store(path);
    insert_object(store, "client_cert", "api/kept", "{}", "\0\1", 2, 1);
    gsim_store_close(store);
    exec_sql(path, "PRAGMA user_version = 3");
    break;
  case MAKE_V1_DAMAGED:
    make_v1(path);
    exec_sql(path, "DROP TABLE apis");
    break;
  case MAKE_V1_WITH_OBJECTS:
    make_v1(path);
    exec_sql(path, "CREATE TABLE objects(x)");
    break;
  case MAKE_EMPTY:
    store = open_store(path);
    insert_cert(store, "lost", "https://lost", &der_a, 1);
    gsim_store_close(store);
    assert_int_equal(0, truncate(path, 0));
    break;
  case MAKE_NO_TABLES:
    exec_sql(path, "CREATE TABLE t(x); DROP TABLE t");
    break;
  }
}

static void test_refuses_other_files(void **state) {
  (void)state;
  char *path = fresh_path("refused.db");
  for (size_t i = 0; i < sizeof(refuse_cases) / sizeof(refuse_cases[0]); i++) {
    const refuse_case *c = &refuse_cases[i];
    unlink_store(path);
    make_refused(path, c->setup);
    assert_int_equal(0, chmod(path, 0640));
    gcert_buf before = {0};
    gcert_error err = {0};
    assert_status(GCERT_OK, gcert_file_load(path, GCERT_MAX_INPUT, &before, &err), &err);

    gsim_store *store = (gsim_store *)1;
    char why[512] = "";
    int rc = gsim_store_open(path, &store, why, sizeof(why));
    if (rc != c->rc)
      fail_msg("case '%s': returned %d, expected %d: %s", c->name, rc, c->rc, why);
    assert_null(store);
    if (strstr(why, c->why) == NULL)
      fail_msg("case '%s': expected '%s' in: %s", c->name, c->why, why);
    print_message("refused (%s): %s\n", c->name, why);

    gcert_buf after = {0};
    assert_status(GCERT_OK, gcert_file_load(path, GCERT_MAX_INPUT, &after, &err), &err);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    assert_int_equal(0640, file_mode(path)); /* not even its mode changed */
    assert_int_equal(-1, sibling_mode(path, "-wal"));
    assert_int_equal(-1, sibling_mode(path, "-shm"));
    gcert_buf_free(&before);
    gcert_buf_free(&after);
  }

  /* neither a directory nor a path under a missing directory */
  char why[512] = "";
  gsim_store *store = NULL;
  assert_int_equal(-1, gsim_store_open(test_scratch_dir(), &store, why, sizeof(why)));
  assert_non_null(strstr(why, "Is a directory"));
  char *missing = test_scratch_path("no-such-dir/x.db");
  assert_int_equal(-1, gsim_store_open(missing, &store, why, sizeof(why)));
  assert_non_null(strstr(why, "No such file or directory"));
  free(missing);
  free(path);
}

/* --fresh-store's call: whatever regular file is there (every refused kind,
 * a store of ours with rows, nothing) is replaced by an empty store of ours,
 * the old -wal and -shm go (a log replayed into the new store would bring
 * rows back or corrupt it), and replaced says what was there. */
static void test_fresh_store_replaces_on_purpose(void **state) {
  (void)state;
  char *path = fresh_path("fresh.db");
  for (size_t i = 0; i < sizeof(refuse_cases) / sizeof(refuse_cases[0]); i++) {
    const refuse_case *c = &refuse_cases[i];
    unlink_store(path);
    make_refused(path, c->setup);
    struct stat st;
    assert_int_equal(0, stat(path, &st));
    char *wal = sibling(path, "-wal");
    write_file(wal, "stale log", 9);
    gsim_store *store = NULL;
    char why[512] = "", replaced[128] = "", want[128];
    if (gsim_store_open_fresh(path, &store, replaced, sizeof(replaced), why, sizeof(why)) != 0)
      fail_msg("case '%s': fresh store refused: %s", c->name, why);
    snprintf(want, sizeof(want), "a file of %lld bytes", (long long)st.st_size);
    if (strcmp(want, replaced) != 0)
      fail_msg("case '%s': replaced \"%s\", expected \"%s\"", c->name, replaced, want);
    assert_order(store, NULL, NULL, "");
    assert_object_keys(store, "client_cert", NULL, "");
    insert_cert(store, "after", "https://after", &der_a, 1);
    gsim_store_close(store);
    store = open_store(path); /* and it is a store of ours from now on */
    assert_order(store, NULL, NULL, "after");
    gsim_store_close(store);
    assert_int_equal(0600, file_mode(path));
    free(wal);
  }
  /* a store of ours with rows: replaced too (the caller asked) */
  gsim_store *store = open_store(path);
  insert_cert(store, "second", "https://second", &der_a, 2);
  gsim_store_close(store);
  char why[512] = "", replaced[128] = "";
  assert_int_equal(
      0, gsim_store_open_fresh(path, &store, replaced, sizeof(replaced), why, sizeof(why)));
  assert_order(store, NULL, NULL, "");
  gsim_store_close(store);
  /* nothing there: created, "nothing" replaced */
  unlink_store(path);
  assert_int_equal(
      0, gsim_store_open_fresh(path, &store, replaced, sizeof(replaced), why, sizeof(why)));
  assert_string_equal("nothing", replaced);
  gsim_store_close(store);
  /* only a regular file is replaced */
  store = (gsim_store *)1;
  assert_int_equal(-1, gsim_store_open_fresh(test_scratch_dir(), &store, replaced, sizeof(replaced),
                                             why, sizeof(why)));
  assert_null(store);
  assert_non_null(strstr(why, "is a directory: only a regular file is replaced"));
  free(path);
}

/* A -wal (or -shm) whose database was removed: SQLite would replay it into
 * a new store, so it is refused, and nothing is created. */
static void test_orphan_log_refused(void **state) {
  (void)state;
  static const char *const suffixes[] = {"-wal", "-shm"};
  for (size_t i = 0; i < 2; i++) {
    char *path = fresh_path("orphan.db");
    char *side = sibling(path, suffixes[i]);
    write_file(side, "log", 3);
    gsim_store *store = (gsim_store *)1;
    char why[512] = "";
    assert_int_equal(-1, gsim_store_open(path, &store, why, sizeof(why)));
    assert_null(store);
    if (strstr(why, "does not exist but") == NULL || strstr(why, suffixes[i]) == NULL)
      fail_msg("%s: %s", suffixes[i], why);
    assert_int_equal(-1, file_mode(path));
    unlink(side);
    free(side);
    free(path);
  }
}

/* ---- a full disk and a write limit ---------------------------------------- */

/* Opens path in a child process whose writes fail: under RLIMIT_FSIZE of
 * limit bytes (SIGXFSZ ignored, so write() gets EFBIG), or, when tmpfs_kib
 * is not 0, on a tmpfs of that size mounted in a user and mount namespace of
 * its own and filled up (write() gets ENOSPC). Returns the child's exit
 * code: 0 opened, 1 refused (why filled), 77 the namespace was not
 * available. */
static int open_under_pressure(const char *path, long limit, int existing, int tmpfs_kib, char *why,
                               size_t why_len) {
  int fds[2];
  assert_int_equal(0, pipe(fds));
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    char text[512] = "";
    const char *target = path;
    char mounted[PATH_MAX];
    if (tmpfs_kib > 0) {
      uid_t uid = getuid();
      gid_t gid = getgid();
      char map[64];
      int ok = unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0;
      int fd;
      if (ok && (fd = open("/proc/self/setgroups", O_WRONLY)) >= 0) {
        ok = write(fd, "deny", 4) == 4;
        close(fd);
      }
      snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
      ok = ok && (fd = open("/proc/self/uid_map", O_WRONLY)) >= 0 &&
           write(fd, map, strlen(map)) == (ssize_t)strlen(map) && close(fd) == 0;
      snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
      ok = ok && (fd = open("/proc/self/gid_map", O_WRONLY)) >= 0 &&
           write(fd, map, strlen(map)) == (ssize_t)strlen(map) && close(fd) == 0;
      snprintf(mounted, sizeof(mounted), "%s/full-disk", test_scratch_dir());
      mkdir(mounted, 0700);
      char opts[32];
      snprintf(opts, sizeof(opts), "size=%dk", tmpfs_kib);
      ok = ok && mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
           mount("tmpfs", mounted, "tmpfs", 0, opts) == 0;
      if (!ok)
        _exit(77);
      snprintf(mounted + strlen(mounted), sizeof(mounted) - strlen(mounted), "/x.db");
      target = mounted;
      if (existing) { /* a store of ours, then the disk fills up */
        gsim_store *store = NULL;
        if (gsim_store_open(target, &store, text, sizeof(text)) != 0)
          _exit(3);
        gsim_store_close(store);
      }
      char filler[PATH_MAX];
      if (snprintf(filler, sizeof(filler), "%s.filler", target) >= (int)sizeof(filler))
        _exit(4);
      int fd2 = open(filler, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
      static const char block[4096];
      while (fd2 >= 0 && write(fd2, block, sizeof(block)) > 0)
        ;
      while (fd2 >= 0 && write(fd2, block, 1) > 0)
        ;
      if (fd2 >= 0)
        close(fd2);
    } else {
      signal(SIGXFSZ, SIG_IGN);
      struct rlimit lim = {(rlim_t)limit, (rlim_t)limit};
      if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
        _exit(4);
    }
    gsim_store *store = NULL;
    int rc = gsim_store_open(target, &store, text, sizeof(text));
    if (write(fds[1], text, strlen(text)) < 0)
      _exit(5);
    _exit(rc == 0 ? 0 : 1);
  }
  close(fds[1]);
  size_t n = 0;
  ssize_t got;
  while (n + 1 < why_len && (got = read(fds[0], why + n, why_len - n - 1)) > 0)
    n += (size_t)got;
  why[n] = '\0';
  close(fds[0]);
  int status = 0;
  assert_int_equal(pid, waitpid(pid, &status, 0));
  assert_true(WIFEXITED(status));
  return WEXITSTATUS(status);
}

typedef struct pressure_case {
  const char *name;
  int existing;  /* 1: a store of ours is there first */
  long limit;    /* RLIMIT_FSIZE in bytes (when tmpfs_kib is 0) */
  int tmpfs_kib; /* a full tmpfs of this size instead */
  const char *says[2];
} pressure_case;

static const pressure_case pressure_cases[] = {
    {"new store, writes limited to 4 KiB",
     0,
     4096,
     0,
     {"cannot create the schema: a write failed", "a file size limit is set (ulimit -f: 4096"}},
    {"existing store, writes limited to 4 KiB (its -shm cannot grow)",
     1,
     4096,
     0,
     {"a write failed: File too large", "ulimit -f: 4096 bytes"}},
    {"new store on a full disk", 0, 0, 256, {"the disk is full", ""}},
    {"existing store on a full disk", 1, 0, 256, {"the disk is full", ""}},
};

/* A failed write at start-up says what failed - the disk is full, a write
 * failed and why - never that the store "is not a gatecert-sim store" (what
 * SQLite's "disk I/O error" used to become), and leaves the store as it was. */
static void test_full_disk_named(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(pressure_cases) / sizeof(pressure_cases[0]); i++) {
    const pressure_case *c = &pressure_cases[i];
    char *path = fresh_path("pressure.db");
    if (c->existing && c->tmpfs_kib == 0) {
      gsim_store *store = open_store(path);
      insert_cert(store, "kept", "https://kept", &der_a, 1);
      gsim_store_close(store);
    }
    char why[512] = "";
    int rc = open_under_pressure(path, c->limit, c->existing, c->tmpfs_kib, why, sizeof(why));
    if (rc == 77) {
      print_message("skipped (%s): no user and mount namespace here\n", c->name);
      free(path);
      continue;
    }
    if (rc != 1)
      fail_msg("case '%s': child exited %d: %s", c->name, rc, why);
    print_message("refused (%s): %s\n", c->name, why);
    for (size_t k = 0; k < 2; k++)
      if (strstr(why, c->says[k]) == NULL)
        fail_msg("case '%s': expected \"%s\" in: %s", c->name, c->says[k], why);
    if (strstr(why, "not a gatecert-sim store") != NULL || strstr(why, "is empty") != NULL)
      fail_msg("case '%s': misleading: %s", c->name, why);
    if (c->existing && c->tmpfs_kib == 0) {
      gsim_store *store = open_store(path);
      assert_order(store, NULL, NULL, "kept");
      gsim_store_close(store);
    }
    free(path);
  }
}

/* ---- the state directory's lock ------------------------------------------- */

/* A child takes the lock and waits; the parent is refused with the child's
 * pid; the child is SIGKILLed and the parent then gets the lock: the kernel
 * released it. A lock path that is not a regular file is named. */
static void test_state_lock(void **state) {
  (void)state;
  char *dir = test_scratch_path("locked-state");
  mkdir(dir, 0700);
  int ready[2];
  assert_int_equal(0, pipe(ready));
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char why[512];
    close(ready[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = gsim_store_lock_dir(dir, why, sizeof(why));
    if (write(ready[1], fd >= 0 ? "1" : "0", 1) != 1)
      _exit(2);
    for (;;)
      pause();
  }
  close(ready[1]);
  char c = 0;
  assert_int_equal(1, read(ready[0], &c, 1));
  close(ready[0]);
  assert_int_equal('1', c);

  char why[512] = "", want[64];
  assert_int_equal(-1, gsim_store_lock_dir(dir, why, sizeof(why)));
  snprintf(want, sizeof(want), "in use by another gatecert-sim, pid %ld", (long)pid);
  if (strstr(why, want) == NULL)
    fail_msg("expected \"%s\" in: %s", want, why);

  assert_int_equal(0, kill(pid, SIGKILL));
  int status = 0;
  assert_int_equal(pid, waitpid(pid, &status, 0));
  int fd = gsim_store_lock_dir(dir, why, sizeof(why));
  if (fd < 0)
    fail_msg("after SIGKILL: %s", why);
  char lock[PATH_MAX], pid_text[32] = "";
  snprintf(lock, sizeof(lock), "%s/gatecert-sim.lock", dir);
  assert_int_equal(0600, file_mode(lock));
  FILE *f = fopen(lock, "r");
  assert_non_null(f);
  assert_non_null(fgets(pid_text, sizeof(pid_text), f));
  fclose(f);
  assert_int_equal((long)getpid(), strtol(pid_text, NULL, 10));
  gsim_store_unlock_dir(fd);

  /* a lock path that is a directory or a FIFO */
  assert_int_equal(0, unlink(lock));
  assert_int_equal(0, mkfifo(lock, 0600));
  assert_int_equal(-1, gsim_store_lock_dir(dir, why, sizeof(why)));
  assert_non_null(strstr(why, "is a FIFO (named pipe), not a lock file"));
  unlink(lock);
  free(dir);
}

/* ---- durability ---------------------------------------------------------- */

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_insert_rate(void **state) {
  (void)state;
  char *path = fresh_path("rate.db");
  gsim_store *store = open_store(path);
  enum { N = 200 };
  double start = now_seconds();
  for (int i = 0; i < N; i++) {
    char alias[32];
    snprintf(alias, sizeof(alias), "rate-%04d", i);
    insert_cert(store, alias, "https://rate", &der_b, i);
  }
  double elapsed = now_seconds() - start;
  print_message("store: %d inserts in %.3f s: %.0f inserts/s (WAL, synchronous=FULL, one "
                "transaction each)\n",
                N, elapsed, N / elapsed);
  gsim_store_close(store);
  free(path);
}

/* The blob written for alias i of a round: a real certificate followed by
 * the round and index, so every row's bytes are different. */
static size_t crash_der(int round, int i, unsigned char *out, size_t cap) {
  assert_true(der_b.len + 8 <= cap);
  memcpy(out, der_b.data, der_b.len);
  int tail[2] = {round, i};
  memcpy(out + der_b.len, tail, sizeof(tail));
  return der_b.len + sizeof(tail);
}

/* In the child: inserts r<round>-a00000, -a00001, ... and writes each alias
 * to the pipe only after its insert returned OK. Never returns. */
static void crash_writer(const char *path, int round, int fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  gsim_store *store = NULL;
  char line[600];
  char why[512];
  if (gsim_store_open(path, &store, why, sizeof(why)) != 0) {
    int n = snprintf(line, sizeof(line), "E %s\n", why);
    (void)!write(fd, line, (size_t)n);
    _exit(2);
  }
  for (int i = 0; i < 1000000; i++) {
    unsigned char der[4096];
    gsim_cert_row row;
    memset(&row, 0, sizeof(row));
    snprintf(row.alias, sizeof(row.alias), "r%d-a%05d", round, i);
    snprintf(row.endpoint, sizeof(row.endpoint), "https://crash/%d", round);
    row.der = der;
    row.der_len = crash_der(round, i, der, sizeof(der));
    row.created_ms = row.updated_ms = i;
    gsim_store_status status = gsim_store_cert_insert(store, &row);
    int n = status == GSIM_STORE_OK
                ? snprintf(line, sizeof(line), "%s\n", row.alias)
                : snprintf(line, sizeof(line), "E %s\n", gsim_store_error(store));
    if (write(fd, line, (size_t)n) != n || status != GSIM_STORE_OK)
      _exit(3);
  }
  _exit(0);
}

static void test_crash_durability(void **state) {
  (void)state;
  char *path = fresh_path("crash.db");
  /* acknowledgements to wait for, then a delay before the kill (us), so the
   * kill lands at different points of an insert */
  static const struct {
    int acks;
    unsigned delay_us;
  } rounds[] = {{100, 0}, {60, 350}, {140, 1100}};
  size_t earlier_rows = 0;
  for (int round = 0; round < (int)(sizeof(rounds) / sizeof(rounds[0])); round++) {
    int fds[2];
    assert_int_equal(0, pipe2(fds, O_CLOEXEC));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      crash_writer(path, round, fds[1]);
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    assert_non_null(in);
    char line[600];
    int acked = -1; /* index of the last acknowledged alias */
    int killed = 0;
    while (fgets(line, sizeof(line), in) != NULL) {
      if (line[0] == 'E')
        fail_msg("writer failed: %s", line);
      char want[64];
      snprintf(want, sizeof(want), "r%d-a%05d\n", round, acked + 1);
      assert_string_equal(want, line);
      acked++;
      if (!killed && acked + 1 == rounds[round].acks) {
        if (rounds[round].delay_us > 0)
          usleep(rounds[round].delay_us);
        assert_int_equal(0, kill(pid, SIGKILL));
        killed = 1;
        /* keep reading: what the writer acknowledged before it died counts */
      }
    }
    fclose(in);
    int wstatus = 0;
    assert_int_equal(pid, waitpid(pid, &wstatus, 0));
    assert_true(killed);
    assert_true(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL);

    /* every acknowledged alias is there with its bytes; at most the one in
     * flight (acked + 1) besides; nothing else */
    gsim_store *store = open_store(path);
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "https://crash/%d", round);
    gsim_cert_row *rows = NULL;
    size_t count = 0;
    assert_store(GSIM_STORE_OK, gsim_store_cert_list(store, NULL, endpoint, &rows, &count), store);
    assert_true(count == (size_t)acked + 1 || count == (size_t)acked + 2);
    for (size_t i = 0; i < count; i++) {
      char want[64];
      snprintf(want, sizeof(want), "r%d-a%05zu", round, i);
      assert_string_equal(want, rows[i].alias);
      unsigned char der[4096];
      size_t der_len = crash_der(round, (int)i, der, sizeof(der));
      assert_int_equal(der_len, rows[i].der_len);
      assert_memory_equal(der, rows[i].der, der_len);
    }
    print_message("crash round %d: killed after %d acknowledged inserts; %zu rows, %s\n", round,
                  acked + 1, count,
                  count > (size_t)acked + 1 ? "the one in flight committed"
                                            : "the one in flight rolled back");
    gsim_cert_rows_free(rows, count);
    /* earlier rounds are untouched */
    assert_store(GSIM_STORE_OK, gsim_store_cert_list(store, NULL, NULL, &rows, &count), store);
    gsim_cert_rows_free(rows, count);
    gsim_store_close(store);
    size_t this_round = count - earlier_rows;
    assert_true(this_round == (size_t)acked + 1 || this_round == (size_t)acked + 2);
    earlier_rows = count;
    assert_string_equal("ok", query_text(path, "PRAGMA integrity_check"));
  }
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_names),
      cmocka_unit_test(test_cert_statuses),
      cmocka_unit_test(test_cert_round_trip_replace_upsert),
      cmocka_unit_test(test_cert_creation_order_and_filters),
      cmocka_unit_test(test_cert_hostile_aliases),
      cmocka_unit_test(test_cert_failed_write_rolls_back),
      cmocka_unit_test(test_api_statuses),
      cmocka_unit_test(test_api_round_trip),
      cmocka_unit_test(test_object_statuses),
      cmocka_unit_test(test_object_round_trip_upsert),
      cmocka_unit_test(test_object_prefixes_are_bytes),
      cmocka_unit_test(test_object_failed_write_rolls_back),
      cmocka_unit_test(test_object_migrates_v1),
      cmocka_unit_test(test_error_text_and_null_safety),
      cmocka_unit_test(test_file_modes_under_umask_0),
      cmocka_unit_test(test_reopen_persists),
      cmocka_unit_test(test_path_that_looks_like_a_uri),
      cmocka_unit_test(test_refuses_other_files),
      cmocka_unit_test(test_fresh_store_replaces_on_purpose),
      cmocka_unit_test(test_orphan_log_refused),
      cmocka_unit_test(test_full_disk_named),
      cmocka_unit_test(test_state_lock),
      cmocka_unit_test(test_insert_rate),
      cmocka_unit_test(test_crash_durability),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
