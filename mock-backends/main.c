/* main.c - gatecert-backend: start the backends, say where they are, serve.
 *
 * The process owns one event loop and a fixed array of backends. It starts
 * each (or fails before printing anything READY), prints one READY line per
 * backend and READY-ALL, flushing each, and runs until SIGTERM or SIGINT,
 * then stops every backend so reports are closed and sockets released.
 * Catalogue mode also prints a human table, each line starting with "# ".
 */
#include "backend.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Everything the process runs; lives on main's stack. */
typedef struct gcb_process {
  gcb_options options;
  gcb_backend backends[GCB_MAX_BACKENDS];
  size_t started;
  struct event_base *base;
  struct event *signals[2];
  int conn_index;
} gcb_process;

static void on_signal(evutil_socket_t sig, short what, void *arg) {
  (void)sig;
  (void)what;
  event_base_loopbreak(arg);
}

static int start_all(gcb_process *p, char *why, size_t why_len) {
  for (size_t i = 0; i < p->options.count; i++) {
    if (gcb_backend_start(&p->backends[i], &p->options.specs[i], p->base, p->conn_index,
                          p->options.report_dir, why, why_len) != 0) {
      gcb_backend_stop(&p->backends[i]);
      return -1;
    }
    p->started++;
  }
  return 0;
}

static void announce(const gcb_process *p) {
  for (size_t i = 0; i < p->started; i++)
    printf("READY %s https=127.0.0.1:%d\n", p->backends[i].spec->name, p->backends[i].port);
  printf("READY-ALL %zu\n", p->started);
  if (p->options.catalogue) {
    printf("# %-22s %-6s %s\n", "name", "port", "what is wrong");
    for (size_t i = 0; i < p->started; i++)
      printf("# %-22s %-6d %s\n", p->backends[i].spec->name, p->backends[i].port,
             p->backends[i].spec->description);
    printf("# certificates in %s (trust root.pem)\n", p->options.certs_dir);
  }
  fflush(stdout);
}

static int watch_signals(gcb_process *p) {
  static const int sigs[2] = {SIGTERM, SIGINT};
  for (size_t i = 0; i < 2; i++) {
    p->signals[i] = evsignal_new(p->base, sigs[i], on_signal, p->base);
    if (p->signals[i] == NULL || event_add(p->signals[i], NULL) != 0)
      return -1;
  }
  return 0;
}

static void shutdown_all(gcb_process *p) {
  for (size_t i = 0; i < p->started; i++)
    gcb_backend_stop(&p->backends[i]);
  for (size_t i = 0; i < 2; i++) {
    if (p->signals[i] != NULL)
      event_free(p->signals[i]);
  }
  if (p->base != NULL)
    event_base_free(p->base);
  gcb_options_free(&p->options);
}

int main(int argc, char **argv) {
  static gcb_process process; /* large; zeroed; owned by main alone */
  gcb_process *p = &process;
  char why[512] = "";
  signal(SIGPIPE, SIG_IGN);
  int rc = gcb_options_parse(argc, argv, &p->options, why, sizeof(why));
  if (rc == 1)
    return 0;
  if (rc != 0) {
    fprintf(stderr, "gatecert-backend: %s\n(see gatecert-backend --help)\n", why);
    gcb_options_free(&p->options);
    return 2;
  }
  p->conn_index = gcb_tls_conn_index();
  p->base = event_base_new();
  if (p->conn_index < 0 || p->base == NULL || watch_signals(p) != 0)
    snprintf(why, sizeof(why), "cannot set up the event loop");
  else if (p->options.catalogue && gcb_catalogue_specs(&p->options, why, sizeof(why)) != 0)
    ; /* why says it */
  else if (start_all(p, why, sizeof(why)) == 0) {
    announce(p);
    event_base_dispatch(p->base);
    shutdown_all(p);
    return 0;
  }
  fprintf(stderr, "gatecert-backend: %s\n", why);
  shutdown_all(p);
  return 1;
}
