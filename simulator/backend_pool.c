/* backend_pool.c - kept-alive backend connections, reused as WSO2's
 * pass-through sender reuses them.
 *
 * WSO2's sender (wso2-synapse, passthru/connections/TargetConnections.java and
 * HostConnections.java; the same in v2.1.7-wso2v80 for 2.6, v4.0.0-wso2v227
 * for 4.0 and master at v4.1.0-wso2v67) keeps one pool per route. A request
 * takes the oldest free connection of its route (getConnection), skipping and
 * shutting down those past their expiry, past the maximum life span, or stale;
 * a completed response the reuse strategy allows (HTTP/1.1 without
 * "Connection: close") puts the connection back at the end of the free list
 * (release) with an expiry of now + the backend's "Keep-Alive: timeout=N" - the
 * grace time, or now + the idle time. Released connections are read from
 * (requestInput), so a backend that closes an idle connection is noticed and
 * the connection dropped without a fault (TargetHandler.closed in
 * REQUEST_READY). Nothing re-verifies a pooled connection: its TLS session is
 * the one verified when it was opened.
 *
 * This file is that pool for evhttp connections, with two bounds of its own
 * (per route and in all: what it keeps idle; beyond them a released connection
 * is closed) [I: WSO2 keeps every released connection; its own limit,
 * http.max.connection.per.host.port, caps busy connections and is unlimited by
 * default]. Expiry is checked at a take, on the clock the caller passes (the
 * process clock, fake under libfaketime), as WSO2 checks it in getConnection;
 * no timer closes an idle connection early. An idle connection has no
 * libevent timeout (a fake-clock jump must not close it behind the caller's
 * back) and a close callback that frees it on the next turn of the loop.
 *
 * The pool does not know about TLS: the caller detaches its per-request
 * callbacks before giving a connection back and attaches them after a take.
 */
#include "backend_pool.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

typedef struct pool_entry {
  struct pool_entry *next;
  gsim_pool *pool;
  struct evhttp_connection *conn;
  int tls;
  int port;
  char host[256];
  int64_t created_ms;
  int64_t expiry_ms;
  uint64_t generation;
} pool_entry;

/* A route (host, port) of the HTTPS connections an SSL profile names. */
typedef struct route {
  char host[256];
  int port;
} route;

struct gsim_pool {
  struct event_base *base;
  gsim_pool_limits limits;
  pool_entry *head; /* oldest release first */
  size_t idle;
  uint64_t generation; /* of the last gsim_pool_reset */
  gsim_pool_stats stats;
};

gsim_pool *gsim_pool_new(struct event_base *base, const gsim_pool_limits *limits) {
  gsim_pool *pool = calloc(1, sizeof(*pool));
  if (!pool)
    return NULL;
  pool->base = base;
  pool->limits = *limits;
  return pool;
}

static void free_later(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  evhttp_connection_free(arg);
}

/* Unlinks e (the caller found it before prev) and frees it, not its connection. */
static void unlink_entry(gsim_pool *pool, pool_entry *prev, pool_entry *e) {
  if (prev)
    prev->next = e->next;
  else
    pool->head = e->next;
  pool->idle--;
  free(e);
}

/* Frees the connection of an entry leaving the pool; from a libevent callback
 * of that connection, on the next turn of the loop. */
static void close_conn(gsim_pool *pool, struct evhttp_connection *conn, int deferred) {
  evhttp_connection_set_closecb(conn, NULL, NULL);
  static const struct timeval now = {0, 0};
  if (!deferred || event_base_once(pool->base, -1, EV_TIMEOUT, free_later, conn, &now) != 0)
    evhttp_connection_free(conn);
}

/* The backend closed an idle connection: WSO2's "Keep-Alive Connection closed". */
static void idle_closed(struct evhttp_connection *conn, void *arg) {
  pool_entry *e = arg;
  gsim_pool *pool = e->pool;
  pool_entry *prev = NULL;
  for (pool_entry *p = pool->head; p; prev = p, p = p->next)
    if (p == e) {
      pool->stats.closed_idle++;
      unlink_entry(pool, prev, p);
      close_conn(pool, conn, 1);
      return;
    }
}

void gsim_pool_free(gsim_pool *pool) {
  if (!pool)
    return;
  while (pool->head) {
    pool_entry *e = pool->head;
    struct evhttp_connection *conn = e->conn;
    unlink_entry(pool, NULL, e);
    close_conn(pool, conn, 0);
  }
  free(pool);
}

static int same_route(const pool_entry *e, int tls, const char *host, int port) {
  return e->tls == tls && e->port == port && strcasecmp(e->host, host) == 0;
}

static int expired(const gsim_pool *pool, const pool_entry *e, int64_t now_ms) {
  if (now_ms >= e->expiry_ms)
    return 1;
  return pool->limits.max_life_ms > 0 && now_ms > e->created_ms + pool->limits.max_life_ms;
}

struct evhttp_connection *gsim_pool_take(gsim_pool *pool, int tls, const char *host, int port,
                                         int64_t now_ms, int64_t *created_ms,
                                         uint64_t *generation) {
  pool_entry *prev = NULL, *e = pool->head;
  while (e) {
    if (!same_route(e, tls, host, port)) {
      prev = e;
      e = e->next;
      continue;
    }
    pool_entry *next = e->next;
    struct evhttp_connection *conn = e->conn;
    int stale = bufferevent_getfd(evhttp_connection_get_bufferevent(conn)) < 0;
    if (stale || expired(pool, e, now_ms)) {
      pool->stats.expired++;
      unlink_entry(pool, prev, e);
      close_conn(pool, conn, 0);
      e = next;
      continue;
    }
    *created_ms = e->created_ms;
    *generation = e->generation;
    evhttp_connection_set_closecb(conn, NULL, NULL);
    unlink_entry(pool, prev, e);
    pool->stats.reused++;
    return conn;
  }
  return NULL;
}

void gsim_pool_give(gsim_pool *pool, int tls, const char *host, int port,
                    struct evhttp_connection *conn, int64_t now_ms, long keepalive_s,
                    int64_t created_ms, uint64_t generation) {
  if (created_ms == 0)
    pool->stats.opened++;
  size_t on_route = 0;
  for (pool_entry *p = pool->head; p; p = p->next)
    on_route += same_route(p, tls, host, port);
  pool_entry *e = NULL;
  if (on_route < pool->limits.per_route && pool->idle < pool->limits.total &&
      strlen(host) < sizeof(e->host))
    e = calloc(1, sizeof(*e));
  if (!e) {
    pool->stats.dropped_full++;
    close_conn(pool, conn, 1); /* called from the request's completion */
    return;
  }
  e->pool = pool;
  e->conn = conn;
  e->tls = tls;
  e->port = port;
  memcpy(e->host, host, strlen(host) + 1); /* fits: checked above */
  e->created_ms = created_ms ? created_ms : now_ms;
  e->generation = generation;
  e->expiry_ms = keepalive_s >= 0 ? now_ms + (int64_t)keepalive_s * 1000 - pool->limits.grace_ms
                                  : now_ms + pool->limits.idle_ms;
  /* No libevent timeout while idle: expiry is the caller's clock at a take. */
  evhttp_connection_set_timeout(conn, -1);
  struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
  if (bev)
    bufferevent_set_timeouts(bev, NULL, NULL);
  evhttp_connection_set_closecb(conn, idle_closed, e);
  pool_entry **tail = &pool->head;
  while (*tail)
    tail = &(*tail)->next;
  *tail = e;
  pool->idle++;
}

size_t gsim_pool_reset(gsim_pool *pool, uint64_t generation, gsim_pool_named_fn named, void *arg) {
  if (generation == pool->generation)
    return 0;
  pool->generation = generation;
  /* The distinct HTTPS routes an SSL profile names, copied before anything is
   * closed (closing frees entries). */
  route *routes = pool->idle ? calloc(pool->idle, sizeof(route)) : NULL;
  size_t count = 0, closed = 0;
  for (pool_entry *e = pool->head; e && routes; e = e->next) {
    int seen = 0;
    for (size_t i = 0; i < count && !seen; i++)
      seen = routes[i].port == e->port && strcmp(routes[i].host, e->host) == 0;
    if (!seen && e->tls && named(e->host, e->port, arg)) {
      memcpy(routes[count].host, e->host, sizeof(routes[count].host));
      routes[count++].port = e->port;
    }
  }
  for (size_t i = 0; i < count; i++) {
    const char *name = routes[i].host;
    int port = routes[i].port;
    /* resetConnectionPool calls getConnection() twice: the first connection it
     * takes is never given back (it stays busy, out of use), the second is shut
     * down; either way both leave the free list. */
    for (int taken = 0; taken < 2; taken++) {
      pool_entry *prev = NULL, *e = pool->head;
      while (e && !same_route(e, 1, name, port)) {
        prev = e;
        e = e->next;
      }
      if (!e)
        break;
      struct evhttp_connection *conn = e->conn;
      unlink_entry(pool, prev, e);
      close_conn(pool, conn, 0);
      pool->stats.reset++;
      closed++;
    }
  }
  free(routes);
  return closed;
}

gsim_pool_stats gsim_pool_get_stats(const gsim_pool *pool) {
  gsim_pool_stats s = pool->stats;
  s.idle = pool->idle;
  return s;
}

long gsim_pool_keepalive_timeout(const char *value) {
  const char *at = value ? strstr(value, "timeout=") : NULL;
  if (!at)
    return -1;
  at += strlen("timeout=");
  char *end = NULL;
  long n = strtol(at, &end, 10);
  if (end == at || n < 0 || n > INT_MAX / 1000 || (*end != '\0' && *end != ','))
    return -1;
  return n;
}
