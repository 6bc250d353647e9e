/* store.c - gatecert-sim's durable state: one SQLite file in WAL mode.
 *
 * What it is for
 * --------------
 * The simulator promises what WSO2 promises: once the admin API has answered
 * 201 to an upload, the certificate exists, and it still exists after the
 * process is killed. Everything the admin API acknowledges is therefore
 * written here, and committed, before the answer is sent; at start the
 * simulator rebuilds its in-memory trust stores and routes from these rows.
 *
 * How it works
 * ------------
 * A new store is never made in place. When nothing is at the path,
 * gsim_store_open() builds a whole store under "<path>.new-<pid>" (created
 * with open(O_CREAT|O_EXCL, 0600), so the mode does not depend on the umask;
 * schema, application id and user version in one transaction; WAL on; closed
 * and fsynced) and hard-links it into place (link() never replaces: if another
 * process put a store there meanwhile, that one is opened), then fsyncs the
 * directory. So the simulator never leaves an empty or half-made file at the
 * path, and an existing file that is empty, or an SQLite file without our
 * schema, is a store truncated or replaced behind our back: it is refused, not
 * started empty (a truncated store would otherwise silently lose every
 * certificate). gsim_store_open_fresh() is the deliberate way to start again
 * (gatecert-sim --fresh-store): the same build, its -wal, -shm and -journal
 * removed (an old log must not be replayed into the new store), rename() over
 * the old file. A -wal or -shm without its database is refused for the same
 * reason. SQLite creates the -wal and -shm files with the mode of the
 * database file (and fchmods them to it when the umask got in the way), so
 * they are 0600 too. An existing store that is looser than 0600 (copied with
 * cp, chmodded by hand) is tightened to 0600, together with its -wal and
 * -shm, once it has been recognised as a gatecert-sim store; it is not
 * refused, since the fix is obvious and safe.
 *
 * An existing file is recognised before anything is written to it (or its
 * mode changed):
 *
 *   1. it is a regular file (opened O_NONBLOCK: a FIFO is named, never waited
 *      on), not empty, starting with the SQLite magic;
 *   2. PRAGMA application_id is GSIM_APPLICATION_ID ("gsim"): an SQLite file
 *      with another id, or with id 0 and no tables, is not ours;
 *   3. PRAGMA user_version is GSIM_SCHEMA_VERSION (2), or 1, the version
 *      before it, which is migrated (below); a newer (or unknown) schema is
 *      refused rather than half-understood;
 *   4. every statement compiles against the schema found (a store with a
 *      table dropped behind our back is "damaged").
 *
 * Refusals leave the file byte-for-byte as it was: the checks only read, and
 * journal_mode=WAL (which rewrites the header) comes after 1-3, and a damaged
 * store already in WAL mode is not written by it. gsim_store_open() returns
 * -2 for a file that is not a store of ours (what --fresh-store would
 * replace) and -1 for the rest. Failures name what happened, from SQLite's
 * extended result code and errno: a full disk (SQLITE_FULL, or ENOSPC behind
 * an I/O error), a failed write (EFBIG under a file size limit, EIO), a failed
 * read, a lock, a file that is not a database: never a bare "disk I/O error",
 * and never "not a gatecert-sim store" for a store that could not be read.
 *
 * Versions: 1 had endpoint_certs and apis; 2 adds objects, a generic table
 * keyed by (kind, key) for everything else the admin API keeps (client
 * certificates, key managers, applications, subscriptions, sap stores). A
 * new store gets version 2 directly. A version-1 store is migrated when it
 * is opened, in one transaction (BEGIN IMMEDIATE, re-read user_version, which
 * another process may have migrated meanwhile, CREATE TABLE objects, user_version
 * = 2, check that every statement compiles, COMMIT): its rows are kept, and a
 * version-1 store that turns out damaged is rolled back and refused unchanged.
 *
 * Every statement is prepared once at open and kept in the store; every value
 * is a bound parameter, never SQL text, so aliases holding quotes, '%', '_'
 * or SQL fragments are only ever data, and filters are equality (BINARY
 * collation: byte-for-byte), never LIKE. Object key prefixes are matched as
 * bytes too, never as a LIKE or GLOB pattern: the prefix is bound as a blob
 * and compared with the key's first length(prefix) bytes
 * (substr(CAST(key AS BLOB), 1, length(?2)) = ?2), so '%', '_', '*', '[' and
 * bytes that are not UTF-8 are only themselves. Strings, JSON and blobs are
 * checked against the bounds in store.h before the database is touched.
 *
 * Atomicity: each write is one statement (atomic by itself: insert, delete,
 * and delete_prefix, which removes all its rows or none) or, for upsert,
 * BEGIN IMMEDIATE ... COMMIT with ROLLBACK on any failure, so a write that
 * does not return OK leaves the store as it was.
 *
 * Durability: journal_mode=WAL with synchronous=FULL (what a store opens
 * with) means a COMMIT writes its frames, commit marker included, and fsyncs
 * the WAL before it returns. So a write that returned OK is on disk: kill -9
 * cannot lose it (for that, the write() into the page cache would already
 * do), and neither can an OS crash or a power cut on a disk that honours
 * fsync (that is what FULL buys). gsim_store_set_durability(store, 0)
 * (gatecert-sim's default, --durability process) switches to
 * synchronous=NORMAL: a COMMIT writes its frames into the page cache and the
 * WAL is fsynced at checkpoints only, so an acknowledged write still survives
 * kill -9 or a crash of the process, but the last ones before an OS crash or
 * power cut may be lost (never half: the store stays consistent). The fsync
 * is ~1 ms at the median and 6-20 ms at p90-p99 on the shared 2-core VM the
 * benches run on, against a 2 ms budget for a whole upload (issue 16). A
 * transaction that was interrupted never got its commit marker into the WAL;
 * at the next open SQLite ignores the frames after the last commit, which is
 * the rollback. A new database file also has its directory entry fsynced.
 * tests/sim/test_sim_store.c kills a writer with SIGKILL mid-stream and
 * checks the kill -9 half of this (the power-cut half cannot be tested
 * without pulling a plug); test_sim_durability.c kills the simulator right
 * after acknowledged uploads under both settings.
 *
 * Room to grow: a version 3 adds its tables the way version 2 added objects
 * (foreign keys are on, so a row can reference apis(id) ON DELETE CASCADE).
 *
 * Errors are returned, never printed. gsim_store_error() keeps a copy of the
 * message of the last call that did not return OK: SQLite's own text
 * (sqlite3_errmsg, which names constraints and tables, never bound values),
 * or ours for bounds and lookups; certificate bytes never appear in it.
 *
 * The store is used from one thread (the simulator's event loop), so the
 * connection is opened SQLITE_OPEN_NOMUTEX. A second process opening the same
 * file is not locked out by SQLite (WAL lets both work; busy_timeout absorbs
 * the waits): one simulator per state directory is gsim_store_lock_dir()'s
 * rule, a POSIX record lock on DIR/gatecert-sim.lock that gatecert-sim takes
 * before it opens the store and holds until it exits (the kernel drops it on
 * any exit, SIGKILL included; F_GETLK names the holder's pid to a second one).
 * The nodes of a gateway cluster (--node K) share the file instead, with
 * byte ranges of the same lock file (gsim_store_lock_node: byte 0 shared,
 * byte K exclusive), and each node's connection notices the others' commits
 * with PRAGMA data_version (gsim_store_data_version); busy_timeout makes two
 * nodes' writes wait for each other instead of failing with SQLITE_BUSY.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <sqlite3.h>

#include "gutil.h"

#define GSIM_APPLICATION_ID  1735616877 /* 0x6773696d, "gsim" */
#define GSIM_SCHEMA_VERSION  2
#define GSIM_BUSY_TIMEOUT_MS 2000
#define GSIM_ERR_MAX         256

/* Version 2's objects table, new in version 2: created by schema_v2 in a new
 * store and by migrate_v1 in a version-1 store. */
#define OBJECTS_TABLE_SQL                                                                          \
  "CREATE TABLE objects("                                                                          \
  " kind TEXT NOT NULL,"                                                                           \
  " key TEXT NOT NULL,"                                                                            \
  " json TEXT,"                                                                                    \
  " blob BLOB,"                                                                                    \
  " created_ms INTEGER NOT NULL,"                                                                  \
  " updated_ms INTEGER NOT NULL,"                                                                  \
  " seq INTEGER NOT NULL UNIQUE,"                                                                  \
  " PRIMARY KEY(kind, key));"

/* Version 2 (version 1's tables, then objects). Text columns use the default
 * BINARY collation: equality is byte-for-byte. seq is the creation order (one
 * more than any live row of its table). */
static const char schema_v2[] =
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
    " UNIQUE(context, version));" OBJECTS_TABLE_SQL
    "PRAGMA application_id = 1735616877;" /* GSIM_APPLICATION_ID: checked after creation */
    "PRAGMA user_version = 2;";           /* GSIM_SCHEMA_VERSION: likewise */

/* Version 1 to 2, inside migrate_v1's transaction. */
static const char migrate_v1_sql[] = OBJECTS_TABLE_SQL "PRAGMA user_version = 2;";

enum {
  ST_BEGIN,
  ST_COMMIT,
  ST_ROLLBACK,
  ST_CERT_INSERT,
  ST_CERT_EXISTS,
  ST_CERT_UPDATE,
  ST_CERT_REPLACE,
  ST_CERT_DELETE,
  ST_CERT_GET,
  ST_CERT_LIST,
  ST_API_INSERT,
  ST_API_DELETE,
  ST_API_GET,
  ST_API_LIST,
  ST_OBJ_INSERT,
  ST_OBJ_EXISTS,
  ST_OBJ_UPDATE,
  ST_OBJ_DELETE,
  ST_OBJ_DELETE_PREFIX,
  ST_OBJ_GET,
  ST_OBJ_LIST,
  ST_COUNT
};

static const char *const statement_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_CERT_INSERT] =
        "INSERT INTO endpoint_certs(alias, endpoint, der, created_ms, updated_ms, seq)"
        " VALUES(?1, ?2, ?3, ?4, ?5,"
        " (SELECT IFNULL(MAX(seq), 0) + 1 FROM endpoint_certs))",
    [ST_CERT_EXISTS] = "SELECT 1 FROM endpoint_certs WHERE alias = ?1",
    [ST_CERT_UPDATE] = "UPDATE endpoint_certs SET endpoint = ?2, der = ?3, updated_ms = ?4"
                       " WHERE alias = ?1",
    [ST_CERT_REPLACE] = "UPDATE endpoint_certs SET der = ?2, updated_ms = ?3 WHERE alias = ?1",
    [ST_CERT_DELETE] = "DELETE FROM endpoint_certs WHERE alias = ?1",
    [ST_CERT_GET] = "SELECT alias, endpoint, der, created_ms, updated_ms FROM endpoint_certs"
                    " WHERE alias = ?1",
    [ST_CERT_LIST] = "SELECT alias, endpoint, der, created_ms, updated_ms FROM endpoint_certs"
                     " WHERE (?1 IS NULL OR alias = ?1) AND (?2 IS NULL OR endpoint = ?2)"
                     " ORDER BY seq",
    [ST_API_INSERT] = "INSERT INTO apis(id, name, context, version, definition, created_ms, seq)"
                      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, (SELECT IFNULL(MAX(seq), 0) + 1 FROM apis))",
    [ST_API_DELETE] = "DELETE FROM apis WHERE id = ?1",
    [ST_API_GET] = "SELECT id, name, context, version, definition, created_ms FROM apis"
                   " WHERE id = ?1",
    [ST_API_LIST] = "SELECT id, name, context, version, definition, created_ms FROM apis"
                    " ORDER BY seq",
    /* ?2 of the prefix statements is a blob: the prefix's bytes, compared
     * with the key's first bytes (never a pattern) */
    [ST_OBJ_INSERT] = "INSERT INTO objects(kind, key, json, blob, created_ms, updated_ms, seq)"
                      " VALUES(?1, ?2, ?3, ?4, ?5, ?6,"
                      " (SELECT IFNULL(MAX(seq), 0) + 1 FROM objects))",
    [ST_OBJ_EXISTS] = "SELECT 1 FROM objects WHERE kind = ?1 AND key = ?2",
    [ST_OBJ_UPDATE] = "UPDATE objects SET json = ?3, blob = ?4, updated_ms = ?5"
                      " WHERE kind = ?1 AND key = ?2",
    [ST_OBJ_DELETE] = "DELETE FROM objects WHERE kind = ?1 AND key = ?2",
    [ST_OBJ_DELETE_PREFIX] = "DELETE FROM objects WHERE kind = ?1"
                             " AND substr(CAST(key AS BLOB), 1, length(?2)) = ?2",
    [ST_OBJ_GET] = "SELECT kind, key, json, blob, created_ms, updated_ms FROM objects"
                   " WHERE kind = ?1 AND key = ?2",
    [ST_OBJ_LIST] = "SELECT kind, key, json, blob, created_ms, updated_ms FROM objects"
                    " WHERE kind = ?1 AND substr(CAST(key AS BLOB), 1, length(?2)) = ?2"
                    " ORDER BY seq",
};

struct gsim_store {
  sqlite3 *db;
  sqlite3_stmt *stmt[ST_COUNT];
  sqlite3_stmt *data_version; /* PRAGMA data_version, prepared at its first use */
  char err[GSIM_ERR_MAX];
};

const char *gsim_store_status_name(gsim_store_status status) {
  switch (status) {
  case GSIM_STORE_OK:
    return "ok";
  case GSIM_STORE_NOT_FOUND:
    return "not-found";
  case GSIM_STORE_EXISTS:
    return "exists";
  case GSIM_STORE_TOO_LONG:
    return "too-long";
  case GSIM_STORE_ERROR:
    return "error";
  }
  return "unknown";
}

const char *gsim_store_error(const gsim_store *store) { return store != NULL ? store->err : ""; }

/* ---- errors ------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static gsim_store_status
fail(gsim_store *store, gsim_store_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(store->err, sizeof(store->err), fmt, ap);
  va_end(ap);
  return status;
}

/* Maps the result of a failed sqlite3_step to a status and keeps SQLite's
 * message (copied now: a later ROLLBACK would reset sqlite3_errmsg). A
 * primary key or UNIQUE violation is EXISTS; everything else is ERROR. */
static gsim_store_status fail_sqlite(gsim_store *store, int rc, const char *what) {
  snprintf(store->err, sizeof(store->err), "%s: %s", what, sqlite3_errmsg(store->db));
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    int ext = sqlite3_extended_errcode(store->db);
    if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE)
      return GSIM_STORE_EXISTS;
  }
  return GSIM_STORE_ERROR;
}

__attribute__((format(printf, 3, 4))) static int why_set(char *why, size_t why_len, const char *fmt,
                                                         ...) {
  if (why != NULL && why_len > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* ---- bounds ------------------------------------------------------------- */

/* 1 when text is a string of min_len..bound-1 bytes (bound counts the NUL).
 * Reads at most bound bytes, so an unterminated fixed-size field is safe. */
static int in_bounds(const char *text, size_t min_len, size_t bound) {
  if (text == NULL)
    return 0;
  size_t len = strnlen(text, bound);
  return len >= min_len && len < bound;
}

static gsim_store_status check_string(gsim_store *store, const char *what, const char *text,
                                      size_t min_len, size_t bound) {
  if (in_bounds(text, min_len, bound))
    return GSIM_STORE_OK;
  if (text == NULL)
    return fail(store, GSIM_STORE_TOO_LONG, "%s is missing", what);
  if (min_len > 0 && text[0] == '\0')
    return fail(store, GSIM_STORE_TOO_LONG, "%s is empty", what);
  return fail(store, GSIM_STORE_TOO_LONG, "%s is longer than %zu bytes", what, bound - 1);
}

static gsim_store_status check_der(gsim_store *store, const unsigned char *der, size_t der_len) {
  if (der == NULL || der_len == 0)
    return fail(store, GSIM_STORE_TOO_LONG, "certificate DER is empty");
  if (der_len > INT_MAX)
    return fail(store, GSIM_STORE_TOO_LONG, "certificate DER is longer than %d bytes", INT_MAX);
  return GSIM_STORE_OK;
}

/* ---- statements --------------------------------------------------------- */

/* Resets a statement after use: releases its read transaction and forgets
 * the bound pointers (bound SQLITE_STATIC, valid only during the call). */
static void done_with(sqlite3_stmt *stmt) {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
}

static int bind_text(sqlite3_stmt *stmt, int index, const char *text) {
  if (text == NULL)
    return sqlite3_bind_null(stmt, index);
  return sqlite3_bind_text(stmt, index, text, -1, SQLITE_STATIC);
}

/* Runs a statement that returns no rows; *changes gets the rows it changed. */
static gsim_store_status run(gsim_store *store, int which, const char *what, int *changes) {
  sqlite3_stmt *stmt = store->stmt[which];
  int rc = sqlite3_step(stmt);
  gsim_store_status status = GSIM_STORE_OK;
  if (rc != SQLITE_DONE)
    status = fail_sqlite(store, rc, what);
  else if (changes != NULL)
    *changes = sqlite3_changes(store->db);
  done_with(stmt);
  return status;
}

/* Called after a bind failed (only SQLITE_NOMEM or SQLITE_TOOBIG can). */
static gsim_store_status bind_failed(gsim_store *store, int which, const char *what) {
  snprintf(store->err, sizeof(store->err), "%s: %s", what, sqlite3_errmsg(store->db));
  done_with(store->stmt[which]);
  return GSIM_STORE_ERROR;
}

static void rollback(gsim_store *store) {
  if (sqlite3_get_autocommit(store->db))
    return; /* SQLite already rolled back (it does on some errors) */
  sqlite3_step(store->stmt[ST_ROLLBACK]);
  done_with(store->stmt[ST_ROLLBACK]);
}

/* Copies a text column into a fixed field; a stored value over the bound
 * can only come from a file edited behind our back. */
static gsim_store_status column_text(gsim_store *store, sqlite3_stmt *stmt, int col, char *dst,
                                     size_t bound, const char *what) {
  const unsigned char *text = sqlite3_column_text(stmt, col);
  size_t len = (size_t)sqlite3_column_bytes(stmt, col);
  if (text == NULL && (len > 0 || sqlite3_errcode(store->db) == SQLITE_NOMEM))
    return fail(store, GSIM_STORE_ERROR, "out of memory reading %s", what);
  if (len >= bound)
    return fail(store, GSIM_STORE_ERROR, "stored %s is longer than %zu bytes", what, bound - 1);
  if (text != NULL && len > 0)
    memcpy(dst, text, len);
  dst[len] = '\0';
  return GSIM_STORE_OK;
}

/* ---- what went wrong ---------------------------------------------------- */

/* After a failed write: what the file system and the process limits say,
 * since SQLite often keeps no errno for it ("disk I/O error"). */
static void write_hint(const char *path, char *buf, size_t len) {
  buf[0] = '\0';
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
  struct statvfs fs;
  if (statvfs(dir, &fs) == 0 && (fs.f_bavail < 16 || (fs.f_files > 0 && fs.f_favail == 0))) {
    snprintf(buf, len, "; the disk is full (%llu bytes, %llu inodes free)",
             (unsigned long long)fs.f_bavail * (unsigned long long)fs.f_frsize,
             (unsigned long long)fs.f_favail);
    return;
  }
  struct rlimit lim;
  if (getrlimit(RLIMIT_FSIZE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
    snprintf(buf, len, "; a file size limit is set (ulimit -f: %llu bytes)",
             (unsigned long long)lim.rlim_cur);
}

/* One line for the last failed SQLite call on db (about path), from its
 * extended result code and the errno behind it. SQLite's own text ("disk I/O
 * error") does not say whether a read or a write failed, nor that the disk is
 * full, so each family gets its own words: a full disk (SQLITE_FULL, or an
 * I/O error whose errno is ENOSPC or EDQUOT), a failed write (with what the
 * file system and RLIMIT_FSIZE say), a failed read, a file that is not a
 * database, a damaged one, a lock, memory. */
static void trouble(sqlite3 *db, const char *path, char *buf, size_t len) {
  int ext = sqlite3_extended_errcode(db);
  int sys = sqlite3_system_errno(db);
  const char *msg = sqlite3_errmsg(db);
  const char *sys_text = sys != 0 ? strerror(sys) : msg;
  char hint[160];
  switch (ext & 0xff) {
  case SQLITE_FULL:
    write_hint(path, hint, sizeof(hint));
    snprintf(buf, len, "the disk is full: a write failed (%s)%s", msg,
             strstr(hint, "disk is full") ? "" : hint);
    return;
  case SQLITE_IOERR:
    if (sys == ENOSPC || sys == EDQUOT) {
      snprintf(buf, len, "the disk is full: a write failed (%s)", strerror(sys));
    } else if (ext == SQLITE_IOERR_WRITE || ext == SQLITE_IOERR_FSYNC ||
               ext == SQLITE_IOERR_DIR_FSYNC || ext == SQLITE_IOERR_TRUNCATE ||
               ext == SQLITE_IOERR_SHMSIZE) {
      write_hint(path, hint, sizeof(hint));
      snprintf(buf, len, "a write failed: %s%s", sys_text, hint);
    } else if (ext == SQLITE_IOERR_READ || ext == SQLITE_IOERR_SHORT_READ) {
      snprintf(buf, len, "a read failed: %s", sys_text);
    } else {
      snprintf(buf, len, "an I/O error (SQLite extended code %d): %s", ext, sys_text);
    }
    return;
  case SQLITE_NOTADB:
    snprintf(buf, len, "not an SQLite database (%s)", msg);
    return;
  case SQLITE_CORRUPT:
    snprintf(buf, len, "the file is damaged (%s)", msg);
    return;
  case SQLITE_CANTOPEN:
    snprintf(buf, len, "cannot open it or its -wal/-shm: %s", sys_text);
    return;
  case SQLITE_READONLY:
    snprintf(buf, len, "it cannot be written (%s)", msg);
    return;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    snprintf(buf, len, "another process holds a lock on it (%s)", msg);
    return;
  case SQLITE_NOMEM:
    snprintf(buf, len, "out of memory");
    return;
  case SQLITE_PERM:
  case SQLITE_AUTH:
    snprintf(buf, len, "permission denied (%s)", msg);
    return;
  default:
    snprintf(buf, len, "%s", msg);
    return;
  }
}

/* why = "PATH: DOING: <trouble>"; a file SQLite says is not a database, or
 * damaged, is "PATH is not a gatecert-sim store: <trouble>". Returns -1. */
static int why_sqlite(sqlite3 *db, const char *path, const char *doing, char *why, size_t why_len) {
  char text[320];
  trouble(db, path, text, sizeof(text));
  int code = sqlite3_extended_errcode(db) & 0xff;
  if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
    return why_set(why, why_len, "%s is not a gatecert-sim store: %s", path, text);
  return why_set(why, why_len, "%s: %s: %s", path, doing, text);
}

/* ---- opening ------------------------------------------------------------ */

static int fsync_parent_dir(const char *path) {
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    snprintf(dir, sizeof(dir), ".");
  } else if (slash == path) {
    snprintf(dir, sizeof(dir), "/");
  } else {
    size_t n = (size_t)(slash - path);
    if (n >= sizeof(dir))
      return -1;
    memcpy(dir, path, n);
    dir[n] = '\0';
  }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

/* path with suffix appended into out (PATH_MAX); -1 when too long. */
static int with_suffix(char out[PATH_MAX], const char *path, const char *suffix) {
  return snprintf(out, PATH_MAX, "%s%s", path, suffix) < PATH_MAX ? 0 : -1;
}

/* The name SQLite is given for path: "file:..." would be a URI if SQLite
 * was built with URI names on, so it becomes "./file:...". */
static const char *sqlite_name(const char *path, char literal[PATH_MAX]) {
  if (strncmp(path, "file:", 5) != 0)
    return path;
  return snprintf(literal, PATH_MAX, "./%s", path) < PATH_MAX ? literal : NULL;
}

/* Checks the existing file at path: a regular file that starts with the
 * SQLite magic. An empty file is refused (-2): the simulator never leaves
 * one (see the top of the file), so it is a store truncated behind our back,
 * or a file someone else made. Reads only; O_NONBLOCK so that a FIFO is
 * never waited on. The fd is closed before SQLite opens the file: closing a
 * second descriptor of a file would drop the POSIX locks SQLite holds on it. */
static int check_existing(const char *path, char *why, size_t why_len) {
  int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return why_set(why, why_len, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return why_set(why, why_len, "%s: cannot stat: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return why_set(why, why_len, "%s is %s, not a store file", path, gu_file_type(st.st_mode));
  }
  if (st.st_size == 0) {
    close(fd);
    why_set(why, why_len,
            "%s is empty (0 bytes): gatecert-sim never leaves an empty store, so this one was"
            " truncated or replaced; refused rather than started empty",
            path);
    return -2;
  }
  static const char magic[16] = "SQLite format 3"; /* with its NUL: 16 bytes */
  char head[sizeof(magic)];
  ssize_t got = pread(fd, head, sizeof(head), 0);
  int e = errno;
  close(fd);
  if (got < 0)
    return why_set(why, why_len, "%s: a read failed: %s", path, strerror(e));
  if (got != (ssize_t)sizeof(head) || memcmp(head, magic, sizeof(magic)) != 0) {
    why_set(why, why_len, "%s is not a gatecert-sim store: not an SQLite database", path);
    return -2;
  }
  return 0;
}

/* Runs a one-row, one-integer query (a PRAGMA or a count); the error, if
 * any, stays in sqlite3_errmsg(db). */
static int query_int(sqlite3 *db, const char *sql, sqlite3_int64 *out) {
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW)
    *out = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return rc == SQLITE_ROW ? SQLITE_OK : SQLITE_ERROR;
}

/* What the checks found in a file that is an SQLite database. */
typedef enum file_kind {
  FILE_NEW, /* no tables, no id: only ever ours while build_new makes it */
  FILE_OURS,
  FILE_V1,      /* ours, of schema version 1: to be migrated */
  FILE_REFUSED, /* a refusal --fresh-store would not help (I/O, a newer version) */
  FILE_NOT_OURS /* empty, foreign or damaged: refused; a fresh store would replace it */
} file_kind;

static file_kind identify(sqlite3 *db, const char *path, char *why, size_t why_len) {
  sqlite3_int64 app_id = 0, version = 0, objects = 0;
  if (query_int(db, "PRAGMA application_id", &app_id) != SQLITE_OK ||
      query_int(db, "PRAGMA user_version", &version) != SQLITE_OK ||
      query_int(db, "SELECT count(*) FROM sqlite_schema", &objects) != SQLITE_OK) {
    int code = sqlite3_extended_errcode(db) & 0xff;
    why_sqlite(db, path, "cannot read what it holds", why, why_len);
    return code == SQLITE_NOTADB || code == SQLITE_CORRUPT ? FILE_NOT_OURS : FILE_REFUSED;
  }
  if (app_id == 0 && version == 0 && objects == 0) {
    why_set(why, why_len,
            "%s is an SQLite database with no tables and no application id: not a store"
            " gatecert-sim created (it never leaves one without its schema)",
            path);
    return FILE_NEW;
  }
  if (app_id != GSIM_APPLICATION_ID) {
    why_set(why, why_len,
            "%s is not a gatecert-sim store: an SQLite database of another application"
            " (application_id 0x%08llx, %lld schema objects)",
            path, (unsigned long long)(uint32_t)app_id, (long long)objects);
    return FILE_NOT_OURS;
  }
  if (version == 1)
    return FILE_V1;
  if (version != GSIM_SCHEMA_VERSION) {
    why_set(why, why_len,
            "%s is a gatecert-sim store of schema version %lld; this build reads version %d%s",
            path, (long long)version, GSIM_SCHEMA_VERSION,
            version > GSIM_SCHEMA_VERSION ? " (made by a newer gatecert-sim)" : "");
    return version > GSIM_SCHEMA_VERSION ? FILE_REFUSED : FILE_NOT_OURS;
  }
  return FILE_OURS;
}

/* Migrates a version-1 store to version 2 in one transaction (see the top of
 * the file). Every statement must compile against the migrated schema before
 * the COMMIT, so a damaged version-1 store is rolled back and refused as it
 * was. Returns 0 (also when another process migrated it first), or -1 with
 * why filled. */
static int migrate_v1(sqlite3 *db, const char *path, char *why, size_t why_len) {
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return why_sqlite(db, path, "cannot begin the migration", why, why_len);
  sqlite3_int64 version = -1;
  if (query_int(db, "PRAGMA user_version", &version) != SQLITE_OK) {
    why_sqlite(db, path, "cannot read the schema version", why, why_len);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
  }
  if (version != 1) {
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    if (version == GSIM_SCHEMA_VERSION)
      return 0; /* another process migrated it while we were looking */
    return why_set(why, why_len, "%s: its schema version changed to %lld while being opened", path,
                   (long long)version);
  }
  int rc = sqlite3_exec(db, migrate_v1_sql, NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    char doing[64];
    snprintf(doing, sizeof(doing), "cannot migrate schema version 1 to %d", GSIM_SCHEMA_VERSION);
    why_sqlite(db, path, doing, why, why_len);
  }
  for (int i = 0; rc == SQLITE_OK && i < ST_COUNT; i++) {
    sqlite3_stmt *stmt = NULL;
    rc = sqlite3_prepare_v2(db, statement_sql[i], -1, &stmt, NULL);
    if (rc != SQLITE_OK)
      why_set(why, why_len, "%s: the schema is damaged: %s", path, sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
  }
  if (rc == SQLITE_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    why_sqlite(db, path, "cannot commit the migration", why, why_len);
    rc = SQLITE_ERROR;
  }
  if (rc != SQLITE_OK) {
    if (!sqlite3_get_autocommit(db))
      sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
  }
  return 0;
}

/* Tightens path (and its -wal and -shm, if present) to 0600. By path, not
 * through a descriptor: see check_existing on closing descriptors. */
static int tighten(const char *path, char *why, size_t why_len) {
  static const char *const suffixes[] = {"", "-wal", "-shm"};
  for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
    char name[PATH_MAX];
    if (with_suffix(name, path, suffixes[i]) != 0)
      return why_set(why, why_len, "%s: path too long", path);
    struct stat st;
    if (stat(name, &st) != 0) {
      if (errno == ENOENT)
        continue;
      return why_set(why, why_len, "%s: cannot stat: %s", name, strerror(errno));
    }
    if ((st.st_mode & 07777) != 0600 && chmod(name, 0600) != 0)
      return why_set(why, why_len, "%s has mode %04o and cannot be made 0600: %s", name,
                     (unsigned)(st.st_mode & 07777), strerror(errno));
  }
  return 0;
}

static int configure(sqlite3 *db, const char *path, char *why, size_t why_len) {
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) {
    why_sqlite(db, path, "cannot set journal_mode=WAL", why, why_len);
    sqlite3_finalize(stmt);
    return -1;
  }
  const unsigned char *mode = sqlite3_column_text(stmt, 0);
  int is_wal = mode != NULL && strcmp((const char *)mode, "wal") == 0;
  if (!is_wal)
    why_set(why, why_len, "%s: journal_mode=WAL refused (the mode is '%s')", path,
            mode != NULL ? (const char *)mode : "?");
  sqlite3_finalize(stmt);
  if (!is_wal)
    return -1;
  sqlite3_int64 sync = -1, fk = -1;
  if (sqlite3_exec(db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", NULL, NULL, NULL) !=
          SQLITE_OK ||
      query_int(db, "PRAGMA synchronous", &sync) != SQLITE_OK ||
      query_int(db, "PRAGMA foreign_keys", &fk) != SQLITE_OK)
    return why_sqlite(db, path, "cannot configure", why, why_len);
  if (sync != 2 || fk != 1)
    return why_set(why, why_len, "%s: synchronous=FULL or foreign_keys=ON did not take", path);
  return 0;
}

/* Opens path with SQLite (read-write, never creating) with the defences on. */
static int connect(const char *path, sqlite3 **db, char *why, size_t why_len) {
  char literal[PATH_MAX];
  const char *name = sqlite_name(path, literal);
  if (name == NULL)
    return why_set(why, why_len, "%s: path too long", path);
  int rc = sqlite3_open_v2(
      name, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
  if (rc != SQLITE_OK) {
    if (*db != NULL)
      why_sqlite(*db, path, "cannot open", why, why_len);
    else
      why_set(why, why_len, "%s: cannot open: %s", path, sqlite3_errstr(rc));
    sqlite3_close(*db);
    *db = NULL;
    return -1;
  }
  /* a file edited behind our back cannot run triggers or views of its own
   * with side effects, nor write the schema through PRAGMAs */
  sqlite3_db_config(*db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  sqlite3_db_config(*db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
  sqlite3_busy_timeout(*db, GSIM_BUSY_TIMEOUT_MS);
  return 0;
}

/* Removes path with each suffix (ENOENT is fine). */
static int remove_files(const char *path, const char *const *suffixes, size_t n, char *why,
                        size_t why_len) {
  for (size_t i = 0; i < n; i++) {
    char name[PATH_MAX];
    if (with_suffix(name, path, suffixes[i]) != 0)
      return why_set(why, why_len, "%s: path too long", path);
    if (unlink(name) != 0 && errno != ENOENT)
      return why_set(why, why_len, "%s: cannot remove: %s", name, strerror(errno));
  }
  return 0;
}

static const char *const side_files[] = {"-wal", "-shm", "-journal"};
#define SIDE_FILES (sizeof(side_files) / sizeof(side_files[0]))

/* Makes a whole new store at tmp (which is removed first, with its side
 * files: a leftover of a crashed process of the same pid): created 0600,
 * the schema, application id and user version in one transaction, WAL on,
 * then closed (which checkpoints) and fsynced. On failure tmp is removed. */
static int build_new(const char *tmp, char *why, size_t why_len) {
  if (remove_files(tmp, side_files, SIDE_FILES, why, why_len) != 0 ||
      (unlink(tmp) != 0 && errno != ENOENT))
    return why_set(why, why_len, "%s: cannot remove a leftover: %s", tmp, strerror(errno));
  int fd = open(tmp, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    return why_set(why, why_len, "%s: cannot create: %s", tmp, strerror(errno));
  close(fd);
  sqlite3 *db = NULL;
  int ok = connect(tmp, &db, why, why_len) == 0;
  if (ok && (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
             sqlite3_exec(db, schema_v2, NULL, NULL, NULL) != SQLITE_OK ||
             sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)) {
    why_sqlite(db, tmp, "cannot create the schema", why, why_len);
    ok = 0;
  }
  /* schema_v2 spells the id and the version out: they must read back as ours */
  if (ok && identify(db, tmp, why, why_len) != FILE_OURS) {
    why_set(why, why_len, "%s: the new schema does not read back as a gatecert-sim store", tmp);
    ok = 0;
  }
  ok = ok && configure(db, tmp, why, why_len) == 0;
  if (db != NULL && sqlite3_close(db) != SQLITE_OK && ok) {
    why_set(why, why_len, "%s: cannot close: %s", tmp, sqlite3_errmsg(db));
    ok = 0;
  }
  if (ok) {
    fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
      why_set(why, why_len, "%s: cannot sync: %s", tmp, strerror(errno));
      ok = 0;
    }
    if (fd >= 0)
      close(fd);
  }
  if (!ok) {
    char ignored[8];
    unlink(tmp);
    remove_files(tmp, side_files, SIDE_FILES, ignored, sizeof(ignored));
    return -1;
  }
  return 0;
}

/* The name build_new works under: "<path>.new-<pid>", next to path so that
 * link() and rename() stay within one file system. */
static int temp_name(char out[PATH_MAX], const char *path) {
  return snprintf(out, PATH_MAX, "%s.new-%ld", path, (long)getpid()) < PATH_MAX ? 0 : -1;
}

/* Puts a new store at path when nothing is there. It is built whole under
 * another name and hard-linked into place (link() never replaces: a store
 * another process put there meanwhile wins, and is opened as it is), so no
 * one ever sees path empty or half made. A -wal or -shm left at path without
 * its database is refused: SQLite would replay that log into the new store. */
static int create_new(const char *path, char *why, size_t why_len) {
  for (size_t i = 0; i < 2; i++) {
    char name[PATH_MAX];
    if (with_suffix(name, path, side_files[i]) != 0)
      return why_set(why, why_len, "%s: path too long", path);
    if (access(name, F_OK) == 0)
      return why_set(why, why_len,
                     "%s does not exist but %s does: the store was removed without its"
                     " log; remove %s too, or start afresh",
                     path, name, name);
  }
  char tmp[PATH_MAX];
  if (temp_name(tmp, path) != 0)
    return why_set(why, why_len, "%s: path too long", path);
  if (build_new(tmp, why, why_len) != 0)
    return -1;
  int rc = link(tmp, path);
  int e = errno;
  unlink(tmp);
  if (rc != 0 && e != EEXIST)
    return why_set(why, why_len, "%s: cannot put the new store in place: %s", path, strerror(e));
  if (fsync_parent_dir(path) != 0)
    return why_set(why, why_len, "%s: cannot sync its directory: %s", path, strerror(errno));
  return 0;
}

/* Opens the store at path, which exists: checks (reading only), then WAL,
 * a migration if due, the statements, the mode. -2 for a file that is not
 * a store of ours (empty, not SQLite, another application's, damaged, an
 * SQLite file without our schema), -1 for other failures. */
static int open_existing(const char *path, gsim_store **out, char *why, size_t why_len) {
  int rc = check_existing(path, why, why_len);
  if (rc != 0)
    return rc;
  gsim_store *store = calloc(1, sizeof(*store));
  if (store == NULL)
    return why_set(why, why_len, "out of memory");
  if (connect(path, &store->db, why, why_len) != 0) {
    free(store);
    return -1;
  }
  file_kind kind = identify(store->db, path, why, why_len);
  if (kind != FILE_OURS && kind != FILE_V1) {
    gsim_store_close(store);
    return kind == FILE_REFUSED ? -1 : -2;
  }
  if (configure(store->db, path, why, why_len) != 0 ||
      (kind == FILE_V1 && migrate_v1(store->db, path, why, why_len) != 0)) {
    gsim_store_close(store);
    return -1;
  }
  for (int i = 0; i < ST_COUNT; i++) {
    if (sqlite3_prepare_v3(store->db, statement_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                           &store->stmt[i], NULL) != SQLITE_OK) {
      why_set(why, why_len, "%s: the schema is damaged: %s", path, sqlite3_errmsg(store->db));
      gsim_store_close(store);
      return -2;
    }
  }
  /* only now that it is known to be ours (a refused file keeps its mode) */
  if (tighten(path, why, why_len) != 0) {
    gsim_store_close(store);
    return -1;
  }
  *out = store;
  return 0;
}

static int check_args(const char *path, gsim_store **out, char *why, size_t why_len) {
  if (out != NULL)
    *out = NULL;
  if (why != NULL && why_len > 0)
    why[0] = '\0';
  if (path == NULL || path[0] == '\0' || out == NULL)
    return why_set(why, why_len, "no store path given");
  /* room for "./" (sqlite_name), "-journal" and ".new-<pid>" */
  if (strlen(path) + 2 + sizeof(".new-") + 20 > PATH_MAX)
    return why_set(why, why_len, "%s: path too long", path);
  return 0;
}

int gsim_store_open(const char *path, gsim_store **out, char *why, size_t why_len) {
  if (check_args(path, out, why, why_len) != 0)
    return -1;
  struct stat st;
  if (lstat(path, &st) != 0) {
    if (errno != ENOENT)
      return why_set(why, why_len, "%s: cannot stat: %s", path, strerror(errno));
    if (create_new(path, why, why_len) != 0)
      return -1;
  }
  return open_existing(path, out, why, why_len);
}

int gsim_store_open_fresh(const char *path, gsim_store **out, char *replaced, size_t replaced_len,
                          char *why, size_t why_len) {
  if (replaced != NULL && replaced_len > 0)
    snprintf(replaced, replaced_len, "nothing");
  if (check_args(path, out, why, why_len) != 0)
    return -1;
  struct stat st;
  if (lstat(path, &st) != 0) {
    if (errno != ENOENT)
      return why_set(why, why_len, "%s: cannot stat: %s", path, strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    return why_set(why, why_len, "%s is %s: only a regular file is replaced by a fresh store", path,
                   gu_file_type(st.st_mode));
  } else if (replaced != NULL && replaced_len > 0) {
    snprintf(replaced, replaced_len, "a file of %lld bytes", (long long)st.st_size);
  }
  char tmp[PATH_MAX];
  if (temp_name(tmp, path) != 0)
    return why_set(why, why_len, "%s: path too long", path);
  if (build_new(tmp, why, why_len) != 0)
    return -1;
  /* the old store's log must not be replayed into the new one */
  if (remove_files(path, side_files, SIDE_FILES, why, why_len) != 0 || rename(tmp, path) != 0) {
    if (why != NULL && why[0] == '\0')
      why_set(why, why_len, "%s: cannot put the new store in place: %s", path, strerror(errno));
    unlink(tmp);
    return -1;
  }
  if (fsync_parent_dir(path) != 0)
    return why_set(why, why_len, "%s: cannot sync its directory: %s", path, strerror(errno));
  return open_existing(path, out, why, why_len) == 0 ? 0 : -1;
}

/* ---- the state directory's lock ------------------------------------------ */

/* Opens DIR/gatecert-sim.lock for a lock (shared by gsim_store_lock_dir and
 * gsim_store_lock_node). fd or -1 with why. */
static int open_lock_file(const char *dir, char path[PATH_MAX], char *why, size_t why_len) {
  if (dir == NULL || snprintf(path, PATH_MAX, "%s/gatecert-sim.lock", dir) >= PATH_MAX)
    return why_set(why, why_len, "--state: path too long");
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0600);
  if (fd < 0)
    return why_set(why, why_len, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return why_set(why, why_len, "%s is %s, not a lock file", path, gu_file_type(st.st_mode));
  }
  return fd;
}

/* One byte-range lock of the lock file (len 0: to the end). 0 when taken;
 * 1 when another process holds a conflicting one (*pid its pid as the kernel
 * reports it, 0 when not visible; *node_lock 1 when that lock is a node's,
 * a range of one byte); -1 on another failure (errno kept). */
static int range_lock(int fd, short type, off_t start, off_t len, long *pid, int *node_lock) {
  for (int attempt = 0; attempt < 3; attempt++) {
    struct flock lock = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    if (fcntl(fd, F_SETLK, &lock) == 0)
      return 0;
    if (errno != EAGAIN && errno != EACCES)
      return -1;
    struct flock holder = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    if (fcntl(fd, F_GETLK, &holder) == 0 && holder.l_type != F_UNLCK) {
      *pid = holder.l_pid > 0 ? (long)holder.l_pid : 0;
      *node_lock = holder.l_len == 1;
      return 1;
    }
    /* released between the two calls: try again */
  }
  *pid = 0;
  *node_lock = 0;
  return 1;
}

int gsim_store_lock_node(const char *dir, int node, int alone, char *why, size_t why_len) {
  if (node < 1 || node > GSIM_MAX_NODES)
    return why_set(why, why_len, "--node %d is not 1..%d", node, GSIM_MAX_NODES);
  char path[PATH_MAX];
  int fd = open_lock_file(dir, path, why, why_len);
  if (fd < 0)
    return -1;
  long pid = 0;
  int node_lock = 0;
  /* byte 0 shared: the cluster uses DIR (refused while a node-less one holds it all) */
  int rc = range_lock(fd, F_RDLCK, 0, 1, &pid, &node_lock);
  if (rc == 1) {
    close(fd);
    return why_set(why, why_len,
                   "--state %s is in use by a gatecert-sim without --node, pid %ld (it holds %s);"
                   " the nodes of a cluster cannot share it with one: stop it first",
                   dir, pid, path);
  }
  /* byte K exclusive: one process per node number */
  if (rc == 0)
    rc = range_lock(fd, F_WRLCK, node, 1, &pid, &node_lock);
  if (rc == 1) {
    close(fd);
    return why_set(why, why_len,
                   "--state %s: node %d is already running, pid %ld; stop it first or give this"
                   " one another --node",
                   dir, node, pid);
  }
  /* --fresh-store: no other node may be using the store it replaces */
  if (rc == 0 && alone) {
    rc = range_lock(fd, F_WRLCK, 0, 1, &pid, &node_lock);
    if (rc == 1) {
      close(fd);
      return why_set(why, why_len,
                     "--state %s: --fresh-store would replace the store under the other nodes of"
                     " the cluster (pid %ld uses it); stop them first",
                     dir, pid);
    }
    if (rc == 0) /* back to shared: later nodes may join */
      rc = range_lock(fd, F_RDLCK, 0, 1, &pid, &node_lock);
  }
  if (rc != 0) {
    int e = errno;
    close(fd);
    return why_set(why, why_len, "%s: cannot lock: %s", path, strerror(e));
  }
  return fd;
}

int gsim_store_lock_dir(const char *dir, char *why, size_t why_len) {
  char path[PATH_MAX];
  int fd = open_lock_file(dir, path, why, why_len);
  if (fd < 0)
    return -1;
  long pid = 0;
  int node_lock = 0;
  int rc = range_lock(fd, F_WRLCK, 0, 0, &pid, &node_lock);
  if (rc == 0) {
    char text[32];
    int n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n) {
      int e = errno;
      close(fd);
      return why_set(why, why_len, "%s: cannot write the pid: %s", path, strerror(e));
    }
    return fd;
  }
  int e = errno;
  close(fd);
  if (rc < 0)
    return why_set(why, why_len, "%s: cannot lock: %s", path, strerror(e));
  if (node_lock)
    return why_set(why, why_len,
                   "--state %s is in use by the nodes of a gateway cluster (--node), pid %ld"
                   " among them (it holds %s); stop them first, or start this one with --node",
                   dir, pid, path);
  if (pid > 0)
    return why_set(why, why_len,
                   "--state %s is in use by another gatecert-sim, pid %ld (it holds %s);"
                   " stop it first or give this one its own --state",
                   dir, pid, path);
  return why_set(why, why_len,
                 "--state %s is in use by another gatecert-sim (it holds %s; its pid is"
                 " not visible from here); stop it first or give this one its own --state",
                 dir, path);
}

void gsim_store_unlock_dir(int fd) {
  if (fd >= 0)
    close(fd);
}

int gsim_store_set_durability(gsim_store *store, int full, char *why, size_t why_len) {
  sqlite3_int64 sync = -1;
  if (!store ||
      sqlite3_exec(store->db, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                   NULL, NULL, NULL) != SQLITE_OK ||
      query_int(store->db, "PRAGMA synchronous", &sync) != SQLITE_OK || sync != (full ? 2 : 1))
    return why_set(why, why_len, "synchronous=%s did not take", full ? "FULL" : "NORMAL");
  return 0;
}

void gsim_store_close(gsim_store *store) {
  if (store == NULL)
    return;
  for (int i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(store->stmt[i]);
  sqlite3_finalize(store->data_version);
  sqlite3_close(store->db); /* checkpoints the WAL and removes -wal and -shm */
  free(store);
}

/* ---- other connections' changes ----------------------------------------- */

gsim_store_status gsim_store_data_version(gsim_store *store, int64_t *out) {
  if (store == NULL || out == NULL)
    return GSIM_STORE_ERROR;
  int rc = SQLITE_OK;
  if (store->data_version == NULL)
    rc = sqlite3_prepare_v3(store->db, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT,
                            &store->data_version, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(store->data_version);
  if (rc != SQLITE_ROW) {
    gsim_store_status st = fail_sqlite(store, rc, "data_version");
    sqlite3_reset(store->data_version);
    return st;
  }
  *out = sqlite3_column_int64(store->data_version, 0);
  sqlite3_reset(store->data_version);
  return GSIM_STORE_OK;
}

/* ---- endpoint certificates ---------------------------------------------- */

static gsim_store_status check_alias(gsim_store *store, const char *alias) {
  return check_string(store, "alias", alias, 1, GSIM_ALIAS_MAX);
}

static gsim_store_status check_cert_row(gsim_store *store, const gsim_cert_row *row) {
  gsim_store_status status = check_alias(store, row->alias);
  if (status == GSIM_STORE_OK)
    status = check_string(store, "endpoint", row->endpoint, 0, GSIM_URL_MAX);
  if (status == GSIM_STORE_OK)
    status = check_der(store, row->der, row->der_len);
  return status;
}

gsim_store_status gsim_store_cert_insert(gsim_store *store, const gsim_cert_row *row) {
  if (store == NULL || row == NULL)
    return GSIM_STORE_ERROR;
  gsim_store_status status = check_cert_row(store, row);
  if (status != GSIM_STORE_OK)
    return status;
  sqlite3_stmt *stmt = store->stmt[ST_CERT_INSERT];
  if (bind_text(stmt, 1, row->alias) != SQLITE_OK ||
      bind_text(stmt, 2, row->endpoint) != SQLITE_OK ||
      sqlite3_bind_blob(stmt, 3, row->der, (int)row->der_len, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 4, row->created_ms) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 5, row->updated_ms) != SQLITE_OK)
    return bind_failed(store, ST_CERT_INSERT, "cert insert");
  return run(store, ST_CERT_INSERT, "cert insert", NULL);
}

/* Inside upsert's transaction: 1 when the alias exists, 0 when not, -1 on error. */
static int cert_exists(gsim_store *store, const char *alias) {
  sqlite3_stmt *stmt = store->stmt[ST_CERT_EXISTS];
  if (bind_text(stmt, 1, alias) != SQLITE_OK) {
    bind_failed(store, ST_CERT_EXISTS, "cert upsert");
    return -1;
  }
  int rc = sqlite3_step(stmt);
  int found = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
  if (found < 0)
    fail_sqlite(store, rc, "cert upsert");
  done_with(stmt);
  return found;
}

gsim_store_status gsim_store_cert_upsert(gsim_store *store, const gsim_cert_row *row,
                                         int *replaced) {
  if (replaced != NULL)
    *replaced = 0;
  if (store == NULL || row == NULL)
    return GSIM_STORE_ERROR;
  gsim_store_status status = check_cert_row(store, row);
  if (status != GSIM_STORE_OK)
    return status;
  status = run(store, ST_BEGIN, "cert upsert: begin", NULL);
  if (status != GSIM_STORE_OK)
    return GSIM_STORE_ERROR;
  int found = cert_exists(store, row->alias);
  if (found < 0) {
    rollback(store);
    return GSIM_STORE_ERROR;
  }
  if (found) {
    sqlite3_stmt *stmt = store->stmt[ST_CERT_UPDATE];
    if (bind_text(stmt, 1, row->alias) != SQLITE_OK ||
        bind_text(stmt, 2, row->endpoint) != SQLITE_OK ||
        sqlite3_bind_blob(stmt, 3, row->der, (int)row->der_len, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 4, row->updated_ms) != SQLITE_OK)
      status = bind_failed(store, ST_CERT_UPDATE, "cert upsert");
    else
      status = run(store, ST_CERT_UPDATE, "cert upsert", NULL);
  } else {
    status = gsim_store_cert_insert(store, row);
  }
  if (status == GSIM_STORE_OK)
    status = run(store, ST_COMMIT, "cert upsert: commit", NULL);
  if (status != GSIM_STORE_OK) {
    rollback(store);
    return GSIM_STORE_ERROR; /* EXISTS cannot happen under the write lock */
  }
  if (replaced != NULL)
    *replaced = found;
  return GSIM_STORE_OK;
}

gsim_store_status gsim_store_cert_replace(gsim_store *store, const char *alias,
                                          const unsigned char *der, size_t der_len,
                                          int64_t now_ms) {
  if (store == NULL)
    return GSIM_STORE_ERROR;
  gsim_store_status status = check_alias(store, alias);
  if (status == GSIM_STORE_OK)
    status = check_der(store, der, der_len);
  if (status != GSIM_STORE_OK)
    return status;
  sqlite3_stmt *stmt = store->stmt[ST_CERT_REPLACE];
  if (bind_text(stmt, 1, alias) != SQLITE_OK ||
      sqlite3_bind_blob(stmt, 2, der, (int)der_len, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 3, now_ms) != SQLITE_OK)
    return bind_failed(store, ST_CERT_REPLACE, "cert replace");
  int changes = 0;
  status = run(store, ST_CERT_REPLACE, "cert replace", &changes);
  if (status == GSIM_STORE_OK && changes == 0)
    return fail(store, GSIM_STORE_NOT_FOUND, "cert replace: no certificate with that alias");
  return status;
}

gsim_store_status gsim_store_cert_delete(gsim_store *store, const char *alias) {
  if (store == NULL)
    return GSIM_STORE_ERROR;
  gsim_store_status status = check_alias(store, alias);
  if (status != GSIM_STORE_OK)
    return status;
  sqlite3_stmt *stmt = store->stmt[ST_CERT_DELETE];
  if (bind_text(stmt, 1, alias) != SQLITE_OK)
    return bind_failed(store, ST_CERT_DELETE, "cert delete");
  int changes = 0;
  status = run(store, ST_CERT_DELETE, "cert delete", &changes);
  if (status == GSIM_STORE_OK && changes == 0)
    return fail(store, GSIM_STORE_NOT_FOUND, "cert delete: no certificate with that alias");
  return status;
}

/* Fills out from the current row of a cert SELECT (alias, endpoint, der,
 * created_ms, updated_ms). On failure out holds nothing to free. */
static gsim_store_status read_cert(gsim_store *store, sqlite3_stmt *stmt, gsim_cert_row *out) {
  memset(out, 0, sizeof(*out));
  gsim_store_status status = column_text(store, stmt, 0, out->alias, sizeof(out->alias), "alias");
  if (status == GSIM_STORE_OK)
    status = column_text(store, stmt, 1, out->endpoint, sizeof(out->endpoint), "endpoint");
  if (status != GSIM_STORE_OK)
    return status;
  const void *der = sqlite3_column_blob(stmt, 2);
  int der_len = sqlite3_column_bytes(stmt, 2);
  if (der_len > 0) {
    out->der = malloc((size_t)der_len);
    if (out->der == NULL)
      return fail(store, GSIM_STORE_ERROR, "out of memory reading a certificate");
    memcpy(out->der, der, (size_t)der_len);
    out->der_len = (size_t)der_len;
  } else if (der == NULL && sqlite3_errcode(store->db) == SQLITE_NOMEM) {
    return fail(store, GSIM_STORE_ERROR, "out of memory reading a certificate");
  }
  out->created_ms = sqlite3_column_int64(stmt, 3);
  out->updated_ms = sqlite3_column_int64(stmt, 4);
  return GSIM_STORE_OK;
}

gsim_store_status gsim_store_cert_get(gsim_store *store, const char *alias, gsim_cert_row *out) {
  if (out != NULL)
    memset(out, 0, sizeof(*out));
  if (store == NULL || out == NULL)
    return GSIM_STORE_ERROR;
  gsim_store_status status = check_alias(store, alias);
  if (status != GSIM_STORE_OK)
    return status;
  sqlite3_stmt *stmt = store->stmt[ST_CERT_GET];
  if (bind_text(stmt, 1, alias) != SQLITE_OK)
    return bind_failed(store, ST_CERT_GET, "cert get");
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW)
    status = read_cert(store, stmt, out);
  else if (rc == SQLITE_DONE)
    status = fail(store, GSIM_STORE_NOT_FOUND, "cert get: no certificate with that alias");
  else
    status = fail_sqlite(store, rc, "cert get");
  done_with(stmt);
  return status;
}

/* Grows a row array by one slot: *cap doubles; returns NULL when out of memory. */
static void *grow(void *rows, size_t count, size_t *cap, size_t size) {
  if (count < *cap)
    return rows;
  size_t next = *cap != 0 ? *cap * 2 : 8;
  void *bigger = realloc(rows, next * size);
  if (bigger != NULL)
    *cap = next;
  return bigger;
}

gsim_store_status gsim_store_cert_list(gsim_store *store, const char *alias_filter,
                                       const char *endpoint_filter, gsim_cert_row **rows,
                                       size_t *count) {
  if (rows != NULL)
    *rows = NULL;
  if (count != NULL)
    *count = 0;
  if (store == NULL || rows == NULL || count == NULL)
    return GSIM_STORE_ERROR;
  gsim_store_status status = GSIM_STORE_OK;
  if (alias_filter != NULL)
    status = check_alias(store, alias_filter);
  if (status == GSIM_STORE_OK && endpoint_filter != NULL)
    status = check_string(store, "endpoint", endpoint_filter, 0, GSIM_URL_MAX);
  if (status != GSIM_STORE_OK)
    return status;
  sqlite3_stmt *stmt = store->stmt[ST_CERT_LIST];
  if (bind_text(stmt, 1, alias_filter) != SQLITE_OK ||
      bind_text(stmt, 2, endpoint_filter) != SQLITE_OK)
    return bind_failed(store, ST_CERT_LIST, "cert list");
  gsim_cert_row *list = NULL;
  size_t n = 0, cap = 0;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    gsim_cert_row *bigger = grow(list, n, &cap, sizeof(*list));
    if (bigger == NULL) {
      status = fail(store, GSIM_STORE_ERROR, "out of memory listing certificates");
      break;
    }
    list = bigger;
    status = read_cert(store, stmt, &list[n]);
    if (status != GSIM_STORE_OK)
      break;
    n++;
  }
  if (status == GSIM_STORE_OK && rc != SQLITE_DONE)
    status = fail_sqlite(store, rc, "cert list");
  done_with(stmt);
  if (status != GSIM_STORE_OK) {
    gsim_cert_rows_free(list, n);
    return status;
  }
  *rows = list;
  *count = n;
  return GSIM_STORE_OK;
}

void gsim_cert_row_clear(gsim_cert_row *row) {
  if (row == NULL)
    return;
  free(row->der);
  memset(row, 0, sizeof(*row));
}

void gsim_cert_rows_free(gsim_cert_row *rows, size_t count) {
  if (rows == NULL)
    return;
  for (size_t i = 0; i < count; i++)
    free(rows[i].der);
  free(rows);
}

/* ---- APIs ---------------------------------------------------------------- */

gsim_store_status gsim_store_api_insert(gsim_store *store, const gsim_api_row *row) {
  if (store == NULL || row == NULL)
    return GSIM_STORE_ERROR;
  gsim_store_status status = check_string(store, "API id", row->id, 1, GSIM_API_ID_MAX);
  if (status == GSIM_STORE_OK)
    status = check_string(store, "API name", row->name, 1, GSIM_API_NAME_MAX);
  if (status == GSIM_STORE_OK)
    status = check_string(store, "API context", row->context, 1, GSIM_CONTEXT_MAX);
  if (status == GSIM_STORE_OK)
    status = check_string(store, "API version", row->version, 1, GSIM_VERSION_MAX);
  if (status != GSIM_STORE_OK)
    return status;
  sqlite3_stmt *stmt = store->stmt[ST_API_INSERT];
  if (bind_text(stmt, 1, row->id) != SQLITE_OK || bind_text(stmt, 2, row->name) != SQLITE_OK ||
      bind_text(stmt, 3, row->context) != SQLITE_OK ||
      bind_text(stmt, 4, row->version) != SQLITE_OK ||
      bind_text(stmt, 5, row->definition) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 6, row->created_ms) != SQLITE_OK)
    return bind_failed(store, ST_API_INSERT, "API insert");
  return run(store, ST_API_INSERT, "API insert", NULL);
}

gsim_store_status gsim_store_api_delete(gsim_store *store, const char *id) {
  if (store == NULL)
    return GSIM_STORE_ERROR;
  gsim_store_status status = check_string(store, "API id", id, 1, GSIM_API_ID_MAX);
  if (status != GSIM_STORE_OK)
    return status;
  sqlite3_stmt *stmt = store->stmt[ST_API_DELETE];
  if (bind_text(stmt, 1, id) != SQLITE_OK)
    return bind_failed(store, ST_API_DELETE, "API delete");
  int changes = 0;
  status = run(store, ST_API_DELETE, "API delete", &changes);
  if (status == GSIM_STORE_OK && changes == 0)
    return fail(store, GSIM_STORE_NOT_FOUND, "API delete: no API with that id");
  return status;
}

/* Fills out from the current row of an API SELECT (id, name, context,
 * version, definition, created_ms). On failure out holds nothing to free. */
static gsim_store_status read_api(gsim_store *store, sqlite3_stmt *stmt, gsim_api_row *out) {
  memset(out, 0, sizeof(*out));
  gsim_store_status status = column_text(store, stmt, 0, out->id, sizeof(out->id), "API id");
  if (status == GSIM_STORE_OK)
    status = column_text(store, stmt, 1, out->name, sizeof(out->name), "API name");
  if (status == GSIM_STORE_OK)
    status = column_text(store, stmt, 2, out->context, sizeof(out->context), "API context");
  if (status == GSIM_STORE_OK)
    status = column_text(store, stmt, 3, out->version, sizeof(out->version), "API version");
  if (status != GSIM_STORE_OK)
    return status;
  if (sqlite3_column_type(stmt, 4) != SQLITE_NULL) {
    const unsigned char *text = sqlite3_column_text(stmt, 4);
    size_t len = (size_t)sqlite3_column_bytes(stmt, 4);
    out->definition = malloc(len + 1);
    if (out->definition == NULL || (text == NULL && len > 0)) {
      free(out->definition);
      out->definition = NULL;
      return fail(store, GSIM_STORE_ERROR, "out of memory reading an API definition");
    }
    if (len > 0)
      memcpy(out->definition, text, len);
    out->definition[len] = '\0';
  }
  out->created_ms = sqlite3_column_int64(stmt, 5);
  return GSIM_STORE_OK;
}

gsim_store_status gsim_store_api_get(gsim_store *store, const char *id, gsim_api_row *out) {
  if (out != NULL)
    memset(out, 0, sizeof(*out));
  if (store == NULL || out == NULL)
    return GSIM_STORE_ERROR;
  gsim_store_status status = check_string(store, "API id", id, 1, GSIM_API_ID_MAX);
  if (status != GSIM_STORE_OK)
    return status;
  sqlite3_stmt *stmt = store->stmt[ST_API_GET];
  if (bind_text(stmt, 1, id) != SQLITE_OK)
    return bind_failed(store, ST_API_GET, "API get");
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW)
    status = read_api(store, stmt, out);
  else if (rc == SQLITE_DONE)
    status = fail(store, GSIM_STORE_NOT_FOUND, "API get: no API with that id");
  else
    status = fail_sqlite(store, rc, "API get");
  done_with(stmt);
  return status;
}

gsim_store_status gsim_store_api_list(gsim_store *store, gsim_api_row **rows, size_t *count) {
  if (rows != NULL)
    *rows = NULL;
  if (count != NULL)
    *count = 0;
  if (store == NULL || rows == NULL || count == NULL)
    return GSIM_STORE_ERROR;
  sqlite3_stmt *stmt = store->stmt[ST_API_LIST];
  gsim_api_row *list = NULL;
  size_t n = 0, cap = 0;
  gsim_store_status status = GSIM_STORE_OK;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    gsim_api_row *bigger = grow(list, n, &cap, sizeof(*list));
    if (bigger == NULL) {
      status = fail(store, GSIM_STORE_ERROR, "out of memory listing APIs");
      break;
    }
    list = bigger;
    status = read_api(store, stmt, &list[n]);
    if (status != GSIM_STORE_OK)
      break;
    n++;
  }
  if (status == GSIM_STORE_OK && rc != SQLITE_DONE)
    status = fail_sqlite(store, rc, "API list");
  done_with(stmt);
  if (status != GSIM_STORE_OK) {
    gsim_api_rows_free(list, n);
    return status;
  }
  *rows = list;
  *count = n;
  return GSIM_STORE_OK;
}

void gsim_api_row_clear(gsim_api_row *row) {
  if (row == NULL)
    return;
  free(row->definition);
  memset(row, 0, sizeof(*row));
}

void gsim_api_rows_free(gsim_api_row *rows, size_t count) {
  if (rows == NULL)
    return;
  for (size_t i = 0; i < count; i++)
    free(rows[i].definition);
  free(rows);
}

/* ---- objects -------------------------------------------------------------- */

static gsim_store_status check_kind_key(gsim_store *store, const char *kind, const char *key) {
  gsim_store_status status = check_string(store, "object kind", kind, 1, GSIM_KIND_MAX);
  if (status == GSIM_STORE_OK)
    status = check_string(store, "object key", key, 1, GSIM_OBJECT_KEY_MAX);
  return status;
}

/* A key prefix: "" allowed, NULL when null_ok (list: every key). */
static gsim_store_status check_prefix(gsim_store *store, const char *prefix, int null_ok) {
  if (prefix == NULL && null_ok)
    return GSIM_STORE_OK;
  return check_string(store, "object key prefix", prefix, 0, GSIM_OBJECT_KEY_MAX);
}

static gsim_store_status check_object_row(gsim_store *store, const gsim_object_row *row) {
  gsim_store_status status = check_kind_key(store, row->kind, row->key);
  if (status != GSIM_STORE_OK)
    return status;
  if (row->json != NULL &&
      strnlen(row->json, (size_t)GSIM_OBJECT_MAX + 1) > (size_t)GSIM_OBJECT_MAX)
    return fail(store, GSIM_STORE_TOO_LONG, "object JSON is longer than %ld bytes",
                GSIM_OBJECT_MAX);
  if (row->blob_len > (size_t)GSIM_OBJECT_MAX)
    return fail(store, GSIM_STORE_TOO_LONG, "object blob is longer than %ld bytes",
                GSIM_OBJECT_MAX);
  if (row->blob == NULL && row->blob_len > 0)
    return fail(store, GSIM_STORE_TOO_LONG, "object blob is missing (length %zu)", row->blob_len);
  return GSIM_STORE_OK;
}

/* Binds kind and key as ?1 and ?2. */
static int bind_kind_key(sqlite3_stmt *stmt, const char *kind, const char *key) {
  int rc = bind_text(stmt, 1, kind);
  return rc == SQLITE_OK ? bind_text(stmt, 2, key) : rc;
}

/* Binds a prefix as ?2: a blob of its bytes ("" for NULL), so that the
 * comparison is byte for byte; a zero-length blob, not NULL, for "". */
static int bind_prefix(sqlite3_stmt *stmt, const char *prefix) {
  if (prefix == NULL)
    prefix = "";
  return sqlite3_bind_blob(stmt, 2, prefix, (int)strlen(prefix), SQLITE_STATIC);
}

/* Binds json and blob as ?3 and ?4 (NULL for none, and for a 0-byte blob). */
static int bind_json_blob(sqlite3_stmt *stmt, const gsim_object_row *row) {
  int rc = bind_text(stmt, 3, row->json);
  if (rc != SQLITE_OK)
    return rc;
  if (row->blob_len == 0)
    return sqlite3_bind_null(stmt, 4);
  return sqlite3_bind_blob(stmt, 4, row->blob, (int)row->blob_len, SQLITE_STATIC);
}

gsim_store_status gsim_store_object_insert(gsim_store *store, const gsim_object_row *row) {
  if (store == NULL || row == NULL)
    return GSIM_STORE_ERROR;
  gsim_store_status status = check_object_row(store, row);
  if (status != GSIM_STORE_OK)
    return status;
  sqlite3_stmt *stmt = store->stmt[ST_OBJ_INSERT];
  if (bind_kind_key(stmt, row->kind, row->key) != SQLITE_OK ||
      bind_json_blob(stmt, row) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 5, row->created_ms) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 6, row->updated_ms) != SQLITE_OK)
    return bind_failed(store, ST_OBJ_INSERT, "object insert");
  return run(store, ST_OBJ_INSERT, "object insert", NULL);
}

/* Inside upsert's transaction: 1 when kind+key exists, 0 when not, -1 on error. */
static int object_exists(gsim_store *store, const char *kind, const char *key) {
  sqlite3_stmt *stmt = store->stmt[ST_OBJ_EXISTS];
  if (bind_kind_key(stmt, kind, key) != SQLITE_OK) {
    bind_failed(store, ST_OBJ_EXISTS, "object upsert");
    return -1;
  }
  int rc = sqlite3_step(stmt);
  int found = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
  if (found < 0)
    fail_sqlite(store, rc, "object upsert");
  done_with(stmt);
  return found;
}

gsim_store_status gsim_store_object_upsert(gsim_store *store, const gsim_object_row *row,
                                           int *replaced) {
  if (replaced != NULL)
    *replaced = 0;
  if (store == NULL || row == NULL)
    return GSIM_STORE_ERROR;
  gsim_store_status status = check_object_row(store, row);
  if (status != GSIM_STORE_OK)
    return status;
  status = run(store, ST_BEGIN, "object upsert: begin", NULL);
  if (status != GSIM_STORE_OK)
    return GSIM_STORE_ERROR;
  int found = object_exists(store, row->kind, row->key);
  if (found < 0) {
    rollback(store);
    return GSIM_STORE_ERROR;
  }
  if (found) {
    /* json, blob and updated_ms; created_ms and seq (the place) are kept */
    sqlite3_stmt *stmt = store->stmt[ST_OBJ_UPDATE];
    if (bind_kind_key(stmt, row->kind, row->key) != SQLITE_OK ||
        bind_json_blob(stmt, row) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 5, row->updated_ms) != SQLITE_OK)
      status = bind_failed(store, ST_OBJ_UPDATE, "object upsert");
    else
      status = run(store, ST_OBJ_UPDATE, "object upsert", NULL);
  } else {
    status = gsim_store_object_insert(store, row);
  }
  if (status == GSIM_STORE_OK)
    status = run(store, ST_COMMIT, "object upsert: commit", NULL);
  if (status != GSIM_STORE_OK) {
    rollback(store);
    return GSIM_STORE_ERROR; /* EXISTS cannot happen under the write lock */
  }
  if (replaced != NULL)
    *replaced = found;
  return GSIM_STORE_OK;
}

gsim_store_status gsim_store_object_delete(gsim_store *store, const char *kind, const char *key) {
  if (store == NULL)
    return GSIM_STORE_ERROR;
  gsim_store_status status = check_kind_key(store, kind, key);
  if (status != GSIM_STORE_OK)
    return status;
  sqlite3_stmt *stmt = store->stmt[ST_OBJ_DELETE];
  if (bind_kind_key(stmt, kind, key) != SQLITE_OK)
    return bind_failed(store, ST_OBJ_DELETE, "object delete");
  int changes = 0;
  status = run(store, ST_OBJ_DELETE, "object delete", &changes);
  if (status == GSIM_STORE_OK && changes == 0)
    return fail(store, GSIM_STORE_NOT_FOUND, "object delete: no object of that kind and key");
  return status;
}

gsim_store_status gsim_store_object_delete_prefix(gsim_store *store, const char *kind,
                                                  const char *prefix, size_t *deleted) {
  if (deleted != NULL)
    *deleted = 0;
  if (store == NULL)
    return GSIM_STORE_ERROR;
  gsim_store_status status = check_string(store, "object kind", kind, 1, GSIM_KIND_MAX);
  if (status == GSIM_STORE_OK)
    status = check_prefix(store, prefix, 0);
  if (status != GSIM_STORE_OK)
    return status;
  sqlite3_stmt *stmt = store->stmt[ST_OBJ_DELETE_PREFIX];
  if (bind_text(stmt, 1, kind) != SQLITE_OK || bind_prefix(stmt, prefix) != SQLITE_OK)
    return bind_failed(store, ST_OBJ_DELETE_PREFIX, "object delete by prefix");
  /* one statement: every matching row goes, or (on failure) none */
  int changes = 0;
  status = run(store, ST_OBJ_DELETE_PREFIX, "object delete by prefix", &changes);
  if (status == GSIM_STORE_OK && deleted != NULL)
    *deleted = (size_t)changes;
  return status;
}

/* Fills out from the current row of an object SELECT (kind, key, json, blob,
 * created_ms, updated_ms). On failure out holds nothing to free. */
static gsim_store_status read_object(gsim_store *store, sqlite3_stmt *stmt, gsim_object_row *out) {
  memset(out, 0, sizeof(*out));
  gsim_store_status status =
      column_text(store, stmt, 0, out->kind, sizeof(out->kind), "object kind");
  if (status == GSIM_STORE_OK)
    status = column_text(store, stmt, 1, out->key, sizeof(out->key), "object key");
  if (status != GSIM_STORE_OK)
    return status;
  if (sqlite3_column_type(stmt, 2) != SQLITE_NULL) {
    const unsigned char *text = sqlite3_column_text(stmt, 2);
    size_t len = (size_t)sqlite3_column_bytes(stmt, 2);
    out->json = malloc(len + 1);
    if (out->json == NULL || (text == NULL && len > 0)) {
      free(out->json);
      out->json = NULL;
      return fail(store, GSIM_STORE_ERROR, "out of memory reading an object's JSON");
    }
    if (len > 0)
      memcpy(out->json, text, len);
    out->json[len] = '\0';
  }
  const void *blob = sqlite3_column_blob(stmt, 3);
  int blob_len = sqlite3_column_bytes(stmt, 3);
  if (blob_len > 0) {
    out->blob = malloc((size_t)blob_len);
    if (out->blob == NULL) {
      free(out->json);
      out->json = NULL;
      return fail(store, GSIM_STORE_ERROR, "out of memory reading an object's blob");
    }
    memcpy(out->blob, blob, (size_t)blob_len);
    out->blob_len = (size_t)blob_len;
  } else if (blob == NULL && sqlite3_errcode(store->db) == SQLITE_NOMEM) {
    free(out->json);
    out->json = NULL;
    return fail(store, GSIM_STORE_ERROR, "out of memory reading an object's blob");
  }
  out->created_ms = sqlite3_column_int64(stmt, 4);
  out->updated_ms = sqlite3_column_int64(stmt, 5);
  return GSIM_STORE_OK;
}

gsim_store_status gsim_store_object_get(gsim_store *store, const char *kind, const char *key,
                                        gsim_object_row *out) {
  if (out != NULL)
    memset(out, 0, sizeof(*out));
  if (store == NULL || out == NULL)
    return GSIM_STORE_ERROR;
  gsim_store_status status = check_kind_key(store, kind, key);
  if (status != GSIM_STORE_OK)
    return status;
  sqlite3_stmt *stmt = store->stmt[ST_OBJ_GET];
  if (bind_kind_key(stmt, kind, key) != SQLITE_OK)
    return bind_failed(store, ST_OBJ_GET, "object get");
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW)
    status = read_object(store, stmt, out);
  else if (rc == SQLITE_DONE)
    status = fail(store, GSIM_STORE_NOT_FOUND, "object get: no object of that kind and key");
  else
    status = fail_sqlite(store, rc, "object get");
  done_with(stmt);
  return status;
}

gsim_store_status gsim_store_object_list(gsim_store *store, const char *kind, const char *prefix,
                                         gsim_object_row **rows, size_t *count) {
  if (rows != NULL)
    *rows = NULL;
  if (count != NULL)
    *count = 0;
  if (store == NULL || rows == NULL || count == NULL)
    return GSIM_STORE_ERROR;
  gsim_store_status status = check_string(store, "object kind", kind, 1, GSIM_KIND_MAX);
  if (status == GSIM_STORE_OK)
    status = check_prefix(store, prefix, 1);
  if (status != GSIM_STORE_OK)
    return status;
  sqlite3_stmt *stmt = store->stmt[ST_OBJ_LIST];
  if (bind_text(stmt, 1, kind) != SQLITE_OK || bind_prefix(stmt, prefix) != SQLITE_OK)
    return bind_failed(store, ST_OBJ_LIST, "object list");
  gsim_object_row *list = NULL;
  size_t n = 0, cap = 0;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    gsim_object_row *bigger = grow(list, n, &cap, sizeof(*list));
    if (bigger == NULL) {
      status = fail(store, GSIM_STORE_ERROR, "out of memory listing objects");
      break;
    }
    list = bigger;
    status = read_object(store, stmt, &list[n]);
    if (status != GSIM_STORE_OK)
      break;
    n++;
  }
  if (status == GSIM_STORE_OK && rc != SQLITE_DONE)
    status = fail_sqlite(store, rc, "object list");
  done_with(stmt);
  if (status != GSIM_STORE_OK) {
    gsim_object_rows_free(list, n);
    return status;
  }
  *rows = list;
  *count = n;
  return GSIM_STORE_OK;
}

void gsim_object_row_clear(gsim_object_row *row) {
  if (row == NULL)
    return;
  free(row->json);
  free(row->blob);
  memset(row, 0, sizeof(*row));
}

void gsim_object_rows_free(gsim_object_row *rows, size_t count) {
  if (rows == NULL)
    return;
  for (size_t i = 0; i < count; i++) {
    free(rows[i].json);
    free(rows[i].blob);
  }
  free(rows);
}
