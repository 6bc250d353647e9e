/* test_sim_store.c - the simulator's SQLite store (simulator/store.c).
 *
 * Statuses are checked from tables, one row per case: a case names the call,
 * its arguments and the status it must return, and every case that does not
 * return OK must leave the store exactly as it was. Then: creation order,
 * hostile aliases, file modes under umask 0, files the store must refuse
 * (left byte-for-byte unchanged), and a writer killed with SIGKILL that must
 * not lose one acknowledged insert. Certificates are real DER from the
 * factory; the store itself never parses them.
 */
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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
  assert_string_equal("1", query_text(path, "PRAGMA user_version"));
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

  /* an empty file (a crash before the schema committed) gets the schema */
  unlink_store(path);
  write_file(path, "", 0);
  assert_int_equal(0, chmod(path, 0666));
  store = open_store(path);
  assert_int_equal(0600, file_mode(path));
  insert_cert(store, "c", "https://c", &der_a, 3);
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
  char *certs = cert_snapshot(store);
  char *apis = api_snapshot(store);
  gsim_store_close(store);

  store = open_store(path);
  char *certs_again = cert_snapshot(store);
  char *apis_again = api_snapshot(store);
  assert_string_equal(certs, certs_again);
  assert_string_equal(apis, apis_again);
  /* creation order survives too: a new row goes after the old ones */
  insert_cert(store, "four", "https://one", &der_b, 0);
  assert_order(store, NULL, NULL, "one,two,three,four");
  gsim_store_close(store);
  free(certs);
  free(apis);
  free(certs_again);
  free(apis_again);
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
} refuse_setup;

typedef struct refuse_case {
  const char *name;
  refuse_setup setup;
  const char *why; /* a substring the refusal must contain */
} refuse_case;

static const refuse_case refuse_cases[] = {
    {"text file", MAKE_TEXT, "not a gatecert-sim store: not an SQLite database"},
    {"file shorter than the magic", MAKE_SHORT, "not an SQLite database"},
    {"SQLite magic, garbage header", MAKE_BAD_HEADER, "not a gatecert-sim store: "},
    {"foreign SQLite database", MAKE_FOREIGN_TABLE,
     "another application (application_id 0x00000000, 1 schema objects)"},
    {"SQLite database of another application", MAKE_FOREIGN_ID,
     "another application (application_id 0x0000002a"},
    {"future schema version", MAKE_FUTURE_VERSION,
     "schema version 99; this build reads version 1 (made by a newer gatecert-sim)"},
    {"schema version 0 with our id", MAKE_OLD_VERSION, "schema version 0; this build reads"},
    {"our id and version, a table missing", MAKE_MISSING_TABLE, "the schema is damaged"},
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
    if (gsim_store_open(path, &store, why, sizeof(why)) == 0)
      fail_msg("case '%s': opened", c->name);
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
      cmocka_unit_test(test_error_text_and_null_safety),
      cmocka_unit_test(test_file_modes_under_umask_0),
      cmocka_unit_test(test_reopen_persists),
      cmocka_unit_test(test_path_that_looks_like_a_uri),
      cmocka_unit_test(test_refuses_other_files),
      cmocka_unit_test(test_insert_rate),
      cmocka_unit_test(test_crash_durability),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
