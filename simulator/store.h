/* store.h - the simulator's durable state: SQLite, one file, WAL.
 *
 * Everything the admin API acknowledges lives here before the answer is sent:
 * endpoint certificates (alias, endpoint URL, DER) and APIs (their JSON
 * definition plus the columns that are looked up). Each write is one
 * transaction with synchronous=FULL, so an upload that got its 201 survives a
 * kill -9, and a write that fails leaves the store as it was. At start the
 * simulator rebuilds its in-memory trust and routes from here.
 *
 * The file is created 0600 whatever the umask. All SQL uses bound
 * parameters; strings from clients are never spliced into SQL.
 */
#ifndef GSIM_STORE_H
#define GSIM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "sim_limits.h" /* GSIM_ALIAS_MAX, GSIM_URL_MAX, GSIM_API_ID_MAX, ... */

typedef struct gsim_store gsim_store;

typedef enum gsim_store_status {
  GSIM_STORE_OK = 0,
  GSIM_STORE_NOT_FOUND,
  GSIM_STORE_EXISTS,   /* the key (alias; API id, name+version or context+version) is taken */
  GSIM_STORE_TOO_LONG, /* an argument out of bounds, refused before SQLite sees it: a string
                        * over its bound, an empty (or NULL) alias, API id, name, context or
                        * version, or an empty DER. The admin API checks these first. */
  GSIM_STORE_ERROR,    /* SQLite failed (or a NULL store/row/out): see gsim_store_error() */
} gsim_store_status;

const char *gsim_store_status_name(gsim_store_status status);

/* Opens the store at path, or creates it when nothing is there (mode 0600, WAL,
 * synchronous=FULL, foreign keys on, schema created or checked by PRAGMA
 * application_id and user_version). A new store is built whole under another
 * name and linked into place, so the simulator never leaves an empty or
 * half-made file at path. An existing file that is not a gatecert-sim store -
 * empty (a truncated store), not SQLite, another application's, an SQLite file
 * without our schema, damaged - or of a schema version other than 1 (migrated
 * to 2 in one transaction) or 2, is refused and left byte-for-byte (and mode)
 * unchanged. A store of ours with a looser mode than 0600 is tightened to 0600
 * (with its -wal and -shm). A -wal or -shm at path without the file is refused
 * (SQLite would replay it into a new store). Returns 0; -2 when the file is
 * refused as not a store of ours (gsim_store_open_fresh would replace it);
 * -1 for every other failure (an I/O error, a full disk, a newer schema). why
 * names the trouble (a full disk, a failed write or read, a lock), never
 * SQLite's bare "disk I/O error"; *out is NULL on failure. */
int gsim_store_open(const char *path, gsim_store **out, char *why, size_t why_len);
/* Starts afresh on purpose: puts a new, empty store at path in place of
 * whatever regular file is there (removing its -wal, -shm and -journal: an old
 * log must not be replayed into the new store), then opens it. replaced gets
 * what was there ("nothing", "a file of N bytes") for the caller to report.
 * A path that is not a regular file (a directory, a FIFO) is refused. 0 or -1. */
int gsim_store_open_fresh(const char *path, gsim_store **out, char *replaced, size_t replaced_len,
                          char *why, size_t why_len);
void gsim_store_close(gsim_store *store);
/* How a commit reaches the disk (a store opens with full). full: the WAL is
 * fsynced at every commit (an acknowledged change survives an OS crash or a
 * power cut). process (full 0): synchronous=NORMAL, the WAL is fsynced at
 * checkpoints only; an acknowledged change survives the process being killed
 * (SIGKILL, a crash: it is in the kernel's page cache) but the last ones
 * before an OS crash or power cut may be lost (the store stays consistent).
 * 0, or -1 with why. */
int gsim_store_set_durability(gsim_store *store, int full, char *why, size_t why_len);

/* The state directory's lock: one simulator per state directory. Takes a
 * POSIX record lock (fcntl F_SETLK) on DIR/gatecert-sim.lock (0600), writes
 * the pid into it, and returns the descriptor: the lock lasts as long as the
 * process (or gsim_store_unlock_dir) and the kernel releases it on any exit,
 * SIGKILL included. The descriptor is close-on-exec and must be the only one
 * of that file in the process (closing another would drop the lock). When
 * another process holds it: -1 with why naming that process's pid as the
 * kernel reports it (F_GETLK), not as the file says. */
int gsim_store_lock_dir(const char *dir, char *why, size_t why_len);
void gsim_store_unlock_dir(int fd);
/* A node's lock (--node K, 1..GSIM_MAX_NODES) on the same file: a shared
 * lock on its byte 0 (the cluster uses DIR: gsim_store_lock_dir's whole-file
 * lock is refused while any node holds it, and a node is refused while a
 * node-less simulator holds DIR, naming its pid) and an exclusive one on
 * byte K (one process per node number: a second node K is refused with the
 * first one's pid). With alone (--fresh-store), also refused while another
 * node holds DIR. The file's content is left as it is (the kernel names
 * holders); released like gsim_store_lock_dir's, with gsim_store_unlock_dir. */
int gsim_store_lock_node(const char *dir, int node, int alone, char *why, size_t why_len);

/* Why the last call on this store that did not return OK failed, for logs
 * ("" if none has failed; a later success does not clear it): SQLite's
 * message, or the store's own for bounds and lookups. Never holds bound
 * values or certificate bytes. */
const char *gsim_store_error(const gsim_store *store);

/* SQLite's PRAGMA data_version of this connection: it changes when another
 * connection (another node of a cluster) has committed a change to the file
 * since the last call, never for this connection's own writes. Cheap (no
 * table read): a node runs it before every request. */
gsim_store_status gsim_store_data_version(gsim_store *store, int64_t *out);

/* ---- endpoint certificates ---------------------------------------------- */

typedef struct gsim_cert_row {
  char alias[GSIM_ALIAS_MAX];
  char endpoint[GSIM_URL_MAX];
  unsigned char *der; /* owned (malloc'd) in rows the store returns */
  size_t der_len;
  int64_t created_ms; /* wall clock (the simulator's, possibly fake) */
  int64_t updated_ms;
} gsim_cert_row;

/* Adds a certificate under a new alias: EXISTS when the alias is taken. */
gsim_store_status gsim_store_cert_insert(gsim_store *store, const gsim_cert_row *row);
/* Adds or overwrites (the `sap` profile's rule for a name that exists);
 * *replaced (may be NULL) is set to 1 when an older row was overwritten. An
 * overwrite takes endpoint, DER and updated_ms from row and keeps the old
 * created_ms and place in the creation order. One transaction. */
gsim_store_status gsim_store_cert_upsert(gsim_store *store, const gsim_cert_row *row,
                                         int *replaced);
/* Replaces the DER of an existing alias (PUT), and sets updated_ms to now_ms;
 * nothing else changes. NOT_FOUND when absent. */
gsim_store_status gsim_store_cert_replace(gsim_store *store, const char *alias,
                                          const unsigned char *der, size_t der_len, int64_t now_ms);
gsim_store_status gsim_store_cert_delete(gsim_store *store, const char *alias);
/* One row into out (out->der malloc'd; free with gsim_cert_row_clear). out is
 * overwritten, not freed, first; on failure it is left zeroed. */
gsim_store_status gsim_store_cert_get(gsim_store *store, const char *alias, gsim_cert_row *out);
/* Rows whose alias / endpoint equal the filters byte for byte (NULL: any;
 * never a pattern), ordered by creation; *rows is a malloc'd array (free with
 * gsim_cert_rows_free), NULL when *count is 0. A filter is checked like the
 * field it filters: "" or an over-long alias filter is TOO_LONG. */
gsim_store_status gsim_store_cert_list(gsim_store *store, const char *alias_filter,
                                       const char *endpoint_filter, gsim_cert_row **rows,
                                       size_t *count);
void gsim_cert_row_clear(gsim_cert_row *row);
void gsim_cert_rows_free(gsim_cert_row *rows, size_t count);

/* ---- APIs ---------------------------------------------------------------- */

typedef struct gsim_api_row {
  char id[GSIM_API_ID_MAX];
  char name[GSIM_API_NAME_MAX];
  char context[GSIM_CONTEXT_MAX]; /* "/test" */
  char version[GSIM_VERSION_MAX]; /* "1.0" */
  char *definition;               /* JSON text (or NULL); owned (malloc'd) in returned rows */
  int64_t created_ms;
} gsim_api_row;

/* EXISTS when the id, name+version or context+version is taken. */
gsim_store_status gsim_store_api_insert(gsim_store *store, const gsim_api_row *row);
gsim_store_status gsim_store_api_delete(gsim_store *store, const char *id);
gsim_store_status gsim_store_api_get(gsim_store *store, const char *id, gsim_api_row *out);
/* Every API, ordered by creation (free with gsim_api_rows_free). */
gsim_store_status gsim_store_api_list(gsim_store *store, gsim_api_row **rows, size_t *count);
void gsim_api_row_clear(gsim_api_row *row);
void gsim_api_rows_free(gsim_api_row *rows, size_t count);

/* ---- objects: everything else the admin API keeps ------------------------ */

/* One durable object of some kind, keyed within its kind: client
 * certificates ("client_cert", key "<apiId>/<keyType>/<alias>"), key managers,
 * applications, subscriptions, sap stores. json is the object's own
 * description; blob optional bytes (a certificate's DER, a key store). */

typedef struct gsim_object_row {
  char kind[GSIM_KIND_MAX];
  char key[GSIM_OBJECT_KEY_MAX];
  char *json;          /* NUL-terminated text; owned (malloc'd) in returned rows; NULL: none */
  unsigned char *blob; /* owned in returned rows; NULL when blob_len is 0 */
  size_t blob_len;
  int64_t created_ms;
  int64_t updated_ms;
} gsim_object_row;

/* EXISTS when kind+key is taken; TOO_LONG for an empty or over-long kind or
 * key, or json/blob over GSIM_OBJECT_MAX. */
gsim_store_status gsim_store_object_insert(gsim_store *store, const gsim_object_row *row);
/* Adds or overwrites (keeps created_ms and the creation order);
 * *replaced (may be NULL) is 1 when a row was overwritten. */
gsim_store_status gsim_store_object_upsert(gsim_store *store, const gsim_object_row *row,
                                           int *replaced);
gsim_store_status gsim_store_object_delete(gsim_store *store, const char *kind, const char *key);
/* Deletes every object of kind whose key starts with prefix (byte for byte;
 * "" deletes the whole kind), in one transaction; *deleted (may be NULL)
 * gets how many. */
gsim_store_status gsim_store_object_delete_prefix(gsim_store *store, const char *kind,
                                                  const char *prefix, size_t *deleted);
gsim_store_status gsim_store_object_get(gsim_store *store, const char *kind, const char *key,
                                        gsim_object_row *out);
/* Objects of kind whose key starts with prefix (NULL or "": all), in creation
 * order; free with gsim_object_rows_free. */
gsim_store_status gsim_store_object_list(gsim_store *store, const char *kind, const char *prefix,
                                         gsim_object_row **rows, size_t *count);
void gsim_object_row_clear(gsim_object_row *row);
void gsim_object_rows_free(gsim_object_row *rows, size_t count);

#endif
