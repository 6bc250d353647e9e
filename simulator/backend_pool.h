/* backend_pool.h - kept-alive backend connections of the data plane, reused
 * as WSO2's pass-through sender reuses them (backend_pool.c's top comment
 * says which WSO2 code each rule follows).
 */
#ifndef GSIM_BACKEND_POOL_H
#define GSIM_BACKEND_POOL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evhttp_connection;

/* WSO2's defaults (backend_pool.c's top comment): idle time = http.socket.timeout
 * (60000) - transport.sender.connection.grace.time (10000); maximum life span
 * transport.sender.connection.maximum.lifespan (Integer.MAX_VALUE ms). The two
 * bounds are the simulator's own. */
#define GSIM_POOL_IDLE_MS     50000
#define GSIM_POOL_GRACE_MS    10000
#define GSIM_POOL_MAX_LIFE_MS 2147483647LL
#define GSIM_POOL_PER_ROUTE   64
#define GSIM_POOL_TOTAL       1024

/* Bounds and clocks. */
typedef struct gsim_pool_limits {
  size_t per_route;    /* idle connections kept per (scheme, host, port) */
  size_t total;        /* idle connections kept in all */
  int64_t idle_ms;     /* reuse only within this long after the release */
  int64_t grace_ms;    /* subtracted from a backend's Keep-Alive: timeout=N */
  int64_t max_life_ms; /* never reuse a connection older than this (0: no limit) */
} gsim_pool_limits;

typedef struct gsim_pool_stats {
  uint64_t opened;       /* connections given to the pool for the first time */
  uint64_t reused;       /* takes that returned a pooled connection */
  uint64_t expired;      /* discarded at a take: idle timeout or maximum life */
  uint64_t closed_idle;  /* closed by the backend while idle (no fault) */
  uint64_t dropped_full; /* not kept: the route or the pool was full */
  uint64_t reset;        /* dropped by a reload of an explicit host:port profile */
  size_t idle;           /* idle connections now */
} gsim_pool_stats;

typedef struct gsim_pool gsim_pool;

/* NULL when out of memory. */
gsim_pool *gsim_pool_new(struct event_base *base, const gsim_pool_limits *limits);
/* Frees every idle connection and the pool (NULL is fine). */
void gsim_pool_free(gsim_pool *pool);

/* An idle connection to tls/host:port, or NULL. Connections that expired by
 * now_ms (idle timeout, Keep-Alive timeout, maximum life) are freed on the way,
 * oldest first, as WSO2's HostConnections.getConnection does. The connection
 * is the caller's until it gives it back or frees it; *created_ms is when it
 * was first opened, *generation the trust generation it was verified with. */
struct evhttp_connection *gsim_pool_take(gsim_pool *pool, int tls, const char *host, int port,
                                         int64_t now_ms, int64_t *created_ms, uint64_t *generation);

/* Gives a connection whose request completed back to the pool (idle from
 * now_ms). keepalive_s >= 0: the backend's Keep-Alive timeout in seconds; -1:
 * none sent. created_ms == 0 for a connection never pooled before. A full route
 * or pool frees the connection instead. The pool watches an idle connection
 * and frees it, without a fault, when the backend closes it. */
void gsim_pool_give(gsim_pool *pool, int tls, const char *host, int port,
                    struct evhttp_connection *conn, int64_t now_ms, long keepalive_s,
                    int64_t created_ms, uint64_t generation);

/* WSO2's TargetConnections.resetConnectionPool at a reload of the sender's SSL
 * profiles: for each HTTPS route for which named(host, port, arg) is 1 (a
 * route an SSL profile names by host:port), up to two idle connections leave
 * the pool and are closed. Returns how many were closed. */
typedef int (*gsim_pool_named_fn)(const char *host, int port, void *arg);
/* Only once per trust generation: nothing happens when generation is the one
 * of the last call. */
size_t gsim_pool_reset(gsim_pool *pool, uint64_t generation, gsim_pool_named_fn named, void *arg);

gsim_pool_stats gsim_pool_get_stats(const gsim_pool *pool);

/* "timeout=N" of a Keep-Alive header value as WSO2's TargetResponse reads it
 * (the digits after "timeout=" up to a comma); -1 when absent or not a number. */
long gsim_pool_keepalive_timeout(const char *value);

#endif
