/* main.c - the gatecert-sim process.
 *
 * Start-up, in order: options; the state directory (0700; refused, by name,
 * when it is a file, a FIFO or a device), its lock (one simulator per state
 * directory: a second is refused with the first one's pid) and the store
 * (an empty or foreign store file refused, --fresh-store replaces it on purpose);
 * the gateway's own identity (--server-cert/--server-key, or a self-signed
 * localhost certificate made with certs/ at the process clock); the trust
 * (base store, SSL profiles) and the first trust generation rebuilt from the
 * store, with the APIs; the HTTPS listener's TLS (clientauth.c: the identity
 * and the client certificate trust, rebuilt on its own clock); then the
 * listeners on 127.0.0.1, port 0 each, and one READY line on stdout. A node
 * of a cluster (--node) notes the store's data version before it loads
 * anything (reload.c then takes the other nodes' changes). Any failure before READY exits
 * 1 (2 for usage) with a one-line reason on stderr.
 *
 * The event loop never sleeps longer than GSIM_LOOP_CAP_MS of real time: a
 * persistent timer runs the reload check, so a libfaketime clock step (which
 * wakes nothing by itself) is noticed within that cap even when no request
 * comes. SIGTERM and SIGINT end the loop; everything is freed and the
 * password cleansed before exit 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <libxml/parser.h>
#include <openssl/err.h>

#include "backend_pool.h"
#include "framing.h"
#include "gutil.h"
#include "sim.h"

typedef struct identity {
  EVP_PKEY *key;
  STACK_OF(X509) * chain;
} identity;

static int load_identity(const gsim_options *opt, identity *id, char *why, size_t why_len) {
  gcert_error err = {0};
  if (opt->server_cert) {
    gcert_store certs;
    gcert_store_init(&certs);
    if (gcert_read_file(opt->server_cert, GCERT_FORMAT_PEM, NULL, &certs, &err) != GCERT_OK)
      return gu_fail(why, why_len, "--server-cert %s: %s", opt->server_cert, err.message);
    id->chain = sk_X509_new_null();
    for (size_t i = 0; id->chain && i < certs.count; i++)
      for (int j = 0; j < sk_X509_num(certs.entries[i].chain); j++) {
        X509 *c = sk_X509_value(certs.entries[i].chain, j);
        X509_up_ref(c);
        sk_X509_push(id->chain, c);
      }
    gcert_store_free(&certs);
    gcert_buf buf = {0};
    gcert_status st = gcert_file_load(opt->server_key, GCERT_MAX_INPUT, &buf, &err);
    if (st == GCERT_OK)
      st = gcert_pem_read_key(buf.data, buf.len, NULL, &id->key, &err);
    gcert_buf_cleanse_free(&buf);
    if (st != GCERT_OK)
      return gu_fail(why, why_len, "--server-key %s: %s", opt->server_key, err.message);
    if (!id->chain || sk_X509_num(id->chain) == 0 ||
        X509_check_private_key(sk_X509_value(id->chain, 0), id->key) != 1)
      return gu_fail(why, why_len, "--server-key does not belong to the first certificate of %s",
                     opt->server_cert);
    return 0;
  }
  static const char *const dns[] = {"localhost"};
  static const char *const ips[] = {"127.0.0.1", "::1"};
  gcert_spec spec;
  gcert_spec_init(&spec, GCERT_KIND_SERVER);
  spec.subject = "CN=localhost,O=gatecert-sim";
  spec.not_before = -86400;
  spec.not_after = 10LL * 365 * 86400;
  spec.dns = dns;
  spec.dns_count = 1;
  spec.ips = ips;
  spec.ip_count = 2;
  gcert_item item = {0};
  if (gcert_issue(&spec, (time_t)(gsim_now_ms() / 1000), NULL, NULL, &item, &err) != GCERT_OK)
    return gu_fail(why, why_len, "making the self-signed server certificate: %s", err.message);
  id->key = item.key;
  id->chain = sk_X509_new_null();
  if (!id->chain || !sk_X509_push(id->chain, item.cert)) {
    gcert_item_free(&item);
    id->key = NULL;
    return gu_fail(why, why_len, "out of memory");
  }
  return 0;
}

/* An accepted HTTPS connection: TLS from the listener's current generation
 * (clientauth.c: identity, client certificate trust, verify mode). */
static struct bufferevent *tls_bev(struct event_base *base, void *arg) {
  gsim *sim = arg;
  SSL *ssl = gsim_listener_new_ssl(sim);
  if (!ssl)
    return NULL;
  struct bufferevent *bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                           BEV_OPT_CLOSE_ON_FREE);
  if (!bev)
    SSL_free(ssl);
  return bev;
}

/* An evhttp on 127.0.0.1, port 0; *port gets the port the kernel chose. */
static struct evhttp *listen_http(gsim *sim, int tls,
                                  void (*handler)(struct evhttp_request *, void *), int *port,
                                  char *why, size_t why_len) {
  struct evhttp *http = evhttp_new(sim->base);
  if (!http) {
    gu_fail(why, why_len, "evhttp_new failed");
    return NULL;
  }
  if (tls)
    evhttp_set_bevcb(http, tls_bev, sim);
  evhttp_set_gencb(http, handler, sim);
  evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                       EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH |
                                       EVHTTP_REQ_OPTIONS);
  /* the limits, no lingering close; each handler calls gsim_framing_refuse first */
  gsim_framing_configure(http, GSIM_MAX_HEADERS, GSIM_MAX_BODY);
  evhttp_set_timeout(http, 60);
  struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
  struct sockaddr_in addr = {0};
  socklen_t len = sizeof(addr);
  if (!bound ||
      getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&addr, &len) != 0) {
    evhttp_free(http);
    gu_fail(why, why_len, "cannot listen on 127.0.0.1: %s", strerror(errno));
    return NULL;
  }
  *port = ntohs(addr.sin_port);
  /* Accepted sockets inherit TCP_NODELAY (Linux). Without it a reply that
   * leaves as two TLS records (headers, body) waits for the client's delayed
   * ACK, 40 ms per request on a keep-alive connection. */
  int one = 1;
  setsockopt(evhttp_bound_socket_get_fd(bound), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return http;
}

static void on_tick(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  gsim_reload_check(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
  (void)what;
  gsim *sim = arg;
  gsim_log(sim, "INFO", "signal %d: stopping", (int)sig);
  event_base_loopbreak(sim->base);
}

/* The state directory: created 0700 if missing, and then it must be a
 * directory (a FIFO or a file given as --state is named as such); locked for
 * the process's lifetime (gsim_store_lock_dir: a second simulator on it is
 * refused with the first one's pid; with --node, gsim_store_lock_node: the
 * nodes of a cluster share it, one process per node number); then the store, opened, or created when
 * missing, or with --fresh-store replaced by an empty one on purpose (said on
 * stderr and in the log). */
static int open_state(gsim *sim, int *lock_fd, char *why, size_t why_len) {
  const char *dir = sim->opt->state_dir;
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return gu_fail(why, why_len, "--state %s: cannot create the directory: %s", dir,
                   strerror(errno));
  struct stat st;
  if (stat(dir, &st) != 0)
    return gu_fail(why, why_len, "--state %s: %s", dir, strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return gu_fail(why, why_len, "--state %s is %s, not a directory", dir,
                   gu_file_type(st.st_mode));
  char path[4096];
  if ((size_t)snprintf(path, sizeof(path), "%s/gatecert-sim.db", dir) >= sizeof(path))
    return gu_fail(why, why_len, "--state: path too long");
  char store_why[512];
  *lock_fd = sim->opt->node > 0
                 ? gsim_store_lock_node(dir, (int)sim->opt->node, sim->opt->fresh_store, store_why,
                                        sizeof(store_why))
                 : gsim_store_lock_dir(dir, store_why, sizeof(store_why));
  if (*lock_fd < 0)
    return gu_fail(why, why_len, "%s", store_why);
  if (sim->opt->fresh_store) {
    char replaced[128];
    if (gsim_store_open_fresh(path, &sim->store, replaced, sizeof(replaced), store_why,
                              sizeof(store_why)) != 0)
      return gu_fail(why, why_len, "store %s: --fresh-store: %s", path, store_why);
    gsim_log(sim, "WARN", "--fresh-store: %s (%s before) replaced by an empty store", path,
             replaced);
    if (sim->log) /* the log is a file: say it where the operator looks too */
      fprintf(stderr, "gatecert-sim: --fresh-store: %s (%s before) replaced by an empty store\n",
              path, replaced);
    return 0;
  }
  int rc = gsim_store_open(path, &sim->store, store_why, sizeof(store_why));
  if (rc == -2)
    return gu_fail(why, why_len,
                   "store %s: %s. Nothing was changed; to start with an empty store instead,"
                   " run with --fresh-store (it replaces the file)",
                   path, store_why);
  if (rc != 0)
    return gu_fail(why, why_len, "store %s: %s", path, store_why);
  return 0;
}

/* The event loop. epoll's change list: an fd's read/write interest, switched
 * off and on again within one turn of the loop (evhttp does it at every
 * request and response), costs one epoll_ctl at the end of the turn, or none,
 * instead of one per switch. Its one caveat, fds shared through dup(), does not
 * arise: every fd is a socket the loop opened or accepted itself. */
static struct event_base *new_base(void) {
  struct event_config *cfg = event_config_new();
  if (!cfg)
    return NULL;
  event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
  struct event_base *base = event_base_new_with_config(cfg);
  event_config_free(cfg);
  return base;
}

static int start(gsim *sim, identity *id, int *lock_fd, char *why, size_t why_len) {
  if (sim->opt->log_path) {
    sim->log = fopen(sim->opt->log_path, "ae");
    if (!sim->log)
      return gu_fail(why, why_len, "--log %s: %s", sim->opt->log_path, strerror(errno));
  }
  sim->started_ms = gsim_now_ms();
  gsim_reload_init(sim);
  if (open_state(sim, lock_fd, why, why_len) != 0 ||
      gsim_store_set_durability(sim->store, sim->opt->durability_full, why, why_len) != 0)
    return -1;
  gsim_reload_cluster_init(sim); /* --node: before loading, so nothing made meanwhile is missed */
  if (load_identity(sim->opt, id, why, why_len) != 0 ||
      gsim_trust_init(&sim->trust, sim->opt, id->key, id->chain, why, why_len) != 0 ||
      gsim_apis_load(sim, why, why_len) != 0 || gsim_reload_now(sim, "start", why, why_len) != 0)
    return -1;
  if (gsim_listener_init(sim, id->key, id->chain, why, why_len) != 0 ||
      gsim_oauth_init(sim, why, why_len) != 0 || gsim_throttle_init(sim, why, why_len) != 0 ||
      gsim_sap_init(sim, why, why_len) != 0)
    return -1;
  sim->base = new_base();
  if (!sim->base)
    return gu_fail(why, why_len, "event_base_new failed");
  sim->https = listen_http(sim, 1, gsim_proxy_request, &sim->https_port, why, why_len);
  if (!sim->https)
    return -1;
  if (sim->opt->http_listener) {
    sim->http = listen_http(sim, 0, gsim_proxy_request, &sim->http_port, why, why_len);
    if (!sim->http)
      return -1;
  }
  sim->admin = listen_http(sim, 0, gsim_admin_request, &sim->admin_port, why, why_len);
  if (!sim->admin)
    return -1;
  struct timeval cap = {0, GSIM_LOOP_CAP_MS * 1000L};
  sim->tick = event_new(sim->base, -1, EV_PERSIST, on_tick, sim);
  if (!sim->tick || event_add(sim->tick, &cap) != 0)
    return gu_fail(why, why_len, "cannot arm the reload timer");
  return 0;
}

static void stop(gsim *sim, identity *id, int lock_fd) {
  if (sim->tick)
    event_free(sim->tick);
  if (sim->https)
    evhttp_free(sim->https);
  if (sim->http)
    evhttp_free(sim->http);
  if (sim->admin)
    evhttp_free(sim->admin);
  gsim_pool_free(sim->pool); /* before its base */
  if (sim->base)
    event_base_free(sim->base);
  gsim_sap_free(sim);
  gsim_throttle_free(sim);
  gsim_oauth_free(sim);
  gsim_listener_free(sim);
  for (size_t i = 0; i < sim->api_count; i++)
    gsim_api_free(sim->apis[i]);
  gsim_trust_free(&sim->trust);
  gsim_store_close(sim->store);
  gsim_store_unlock_dir(lock_fd); /* after the store: nothing writes it any more */
  EVP_PKEY_free(id->key);
  sk_X509_pop_free(id->chain, X509_free);
  if (sim->log)
    fclose(sim->log);
}

int main(int argc, char **argv) {
  gsim_options opt;
  char why[512] = "";
  int rc = gsim_options_parse(argc, argv, &opt, why, sizeof(why));
  if (rc != 0) {
    if (rc == 2)
      fprintf(stderr, "gatecert-sim: %s\n", why);
    gsim_options_free(&opt);
    return rc == 1 ? 0 : 2;
  }
  signal(SIGPIPE, SIG_IGN);
  LIBXML_TEST_VERSION
  gsim sim;
  memset(&sim, 0, sizeof(sim));
  sim.opt = &opt;
  identity id = {0};
  int lock_fd = -1;
  int exit_code = 0;
  struct event *signals[2] = {NULL, NULL};
  if (start(&sim, &id, &lock_fd, why, sizeof(why)) != 0) {
    fprintf(stderr, "gatecert-sim: %s\n", why);
    exit_code = 1;
  } else {
    signals[0] = evsignal_new(sim.base, SIGTERM, on_signal, &sim);
    signals[1] = evsignal_new(sim.base, SIGINT, on_signal, &sim);
    if (!signals[0] || !signals[1] || event_add(signals[0], NULL) || event_add(signals[1], NULL)) {
      fprintf(stderr, "gatecert-sim: cannot watch signals\n");
      exit_code = 1;
    } else {
      char http[48] = "";
      if (sim.http)
        snprintf(http, sizeof(http), " http=127.0.0.1:%d", sim.http_port);
      printf("READY gatecert-sim https=127.0.0.1:%d admin=127.0.0.1:%d%s\n", sim.https_port,
             sim.admin_port, http);
      fflush(stdout);
      char node[48] = "";
      if (opt.node > 0)
        snprintf(node, sizeof(node), "cluster node %ld, ", opt.node);
      gsim_log(&sim, "INFO",
               "%sprofile %s, sender reload every %lds from %s; %zu API(s); trust generation %llu",
               node, gsim_profile_name(opt.profile), opt.sender_reload_s, "start", sim.api_count,
               (unsigned long long)sim.trust.current->number);
      event_base_dispatch(sim.base);
    }
  }
  for (int i = 0; i < 2; i++)
    if (signals[i])
      event_free(signals[i]);
  stop(&sim, &id, lock_fd);
  gsim_options_free(&opt);
  xmlCleanupParser();
  return exit_code;
}
