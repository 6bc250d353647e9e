/* server.c - one backend's life: bind, serve or fail as asked, stop.
 *
 * Every backend listens on 127.0.0.1 with port 0 and learns its port from
 * getsockname, so nothing ever races for a fixed port. `refuse` binds a
 * socket that never listens: its port is real, stays reserved, and refuses
 * connections. Everything else
 * opens its report, builds its TLS context (not needed by reset and stall)
 * and hands the listening socket to http.c or faults.c.
 */
#include "backend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A TCP socket bound to 127.0.0.1:0, listening when listening is set (then
 * non-blocking and without Nagle delay, inherited by accepted sockets): the
 * socket with its port, or -1 with why filled. */
static int loopback_socket(int listening, int *port, char *why, size_t why_len) {
  int fd = socket(AF_INET, SOCK_STREAM | (listening ? SOCK_NONBLOCK : 0) | SOCK_CLOEXEC, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int one = 1;
  if (fd < 0 || (listening && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) ||
      bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
      (listening && listen(fd, 128) != 0) || getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
    snprintf(why, why_len, "cannot %s on 127.0.0.1: %s", listening ? "listen" : "bind",
             strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

int gcb_listen_loopback(int *port, char *why, size_t why_len) {
  return loopback_socket(1, port, why, why_len);
}

/* fault=refuse: a socket bound to 127.0.0.1:0 that never listens. Connections
 * to its port are refused, and as long as it stays open the kernel cannot give
 * the port to another socket (closing it, as this once did, let the next
 * backend of the same process be handed the "refused" port). */
static int bound_loopback(int *port, char *why, size_t why_len) {
  return loopback_socket(0, port, why, why_len);
}

static int needs_tls(gcb_fault fault) {
  return fault != GCB_FAULT_RESET && fault != GCB_FAULT_STALL && fault != GCB_FAULT_REFUSE;
}

int gcb_backend_start(gcb_backend *b, gcb_spec *spec, struct event_base *base, int conn_index,
                      const char *report_dir, char *why, size_t why_len) {
  memset(b, 0, sizeof(*b));
  b->refuse_fd = -1;
  b->spec = spec;
  b->base = base;
  b->conn_index = conn_index;
  b->report.fd = -1;
  if (gcb_report_open(&b->report, report_dir, spec->name, why, why_len) != 0)
    return -1;
  if (needs_tls(spec->fault) && gcb_tls_context(b, why, why_len) != 0)
    return -1;
  if (spec->fault == GCB_FAULT_REFUSE) {
    b->refuse_fd = bound_loopback(&b->port, why, why_len);
    return b->refuse_fd < 0 ? -1 : 0;
  }
  int fd = gcb_listen_loopback(&b->port, why, why_len);
  if (fd < 0)
    return -1;
  int rc = spec->fault == GCB_FAULT_NONE ? gcb_http_start(b, fd, why, why_len)
                                         : gcb_fault_start(b, fd, why, why_len);
  if (rc != 0 && b->http == NULL && b->listener == NULL)
    close(fd);
  return rc;
}

void gcb_backend_stop(gcb_backend *b) {
  gcb_fault_stop(b);
  if (b->refuse_fd >= 0)
    close(b->refuse_fd);
  b->refuse_fd = -1;
  if (b->http != NULL)
    evhttp_free(b->http);
  b->http = NULL;
  SSL_CTX_free(b->ssl_ctx);
  b->ssl_ctx = NULL;
  gcb_report_close(&b->report);
}
