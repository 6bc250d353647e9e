/* front_lb.c - the load balancer in front of a gateway: an nginx of its own
 * that terminates the client's TLS and forwards the verified client
 * certificate in a header (front_lb.h says what it does; NGINX.md why each
 * directive is there), and the nginx pieces the nginx driver shares with it.
 *
 * How it works: gh_front_lb_start writes the client trust bundle (a
 * throwaway CA, then the trust the caller gave) and nginx.conf into the
 * balancer's directory, starts nginx with the supervisor (no READY protocol)
 * under the case's fake clock, and polls its error log (20 ms steps, 5 s
 * cap) until the master says it started its worker - the listening socket
 * is bound before that, so a client connecting afterwards is queued, never
 * refused. A port someone took between the probe and nginx's bind shows as
 * "Address already in use": that nginx is stopped and the next attempt
 * probes a new port. gh_front_lb_stop stops the process group by pid
 * (gh_proc_stop, which also removes libfaketime's files of a process that
 * did not exit cleanly).
 */
#include "gutil.h"
#include "front_lb.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "real.h"
#include "supervisor.h"

#define LB_PATH        1024
#define LB_START_TRIES 5
#define LB_READY_MS    5000
#define LB_STEP_MS     20
#define LB_STOP_MS     3000
#define LB_VERIFY      100

struct gh_front_lb {
  char dir[LB_PATH];
  char conf[LB_PATH + 32];
  char error_log[LB_PATH + 32];
  char stderr_path[LB_PATH + 32];
  gh_proc proc;
  int running;
  int port;
};

const gh_reject_answer gh_front_lb_rejects[GH_REJECT_COUNT] = {
    [GH_REJECT_CLIENT_CERT] = {.status = {400}},
};

/* ---- nginx pieces --------------------------------------------------------------------------- */

int gh_nginx_find(const char *bin, char *out, size_t out_len) {
  return gh_real_find(bin, "nginx", "/usr/sbin/nginx", out, out_len, NULL, 0);
}

void gh_nginx_user_line(char *out, size_t out_len) {
  out[0] = '\0';
  if (geteuid() != 0)
    return;
  const struct passwd *pw = getpwuid(geteuid());
  const struct group *gr = getgrgid(getegid());
  if (pw && gr)
    snprintf(out, out_len, "user %s %s;", pw->pw_name, gr->gr_name);
}

void gh_nginx_conf_head(gu_text *b, const char *dir, const char *error_log, const char *user_line,
                        const char *title) {
  gu_text_printf(b, "# written by gatecert's %s\n", title);
  gu_text_printf(b, "daemon off;\nmaster_process on;\nworker_processes 1;\n");
  gu_text_printf(b, "pid \"%s/nginx.pid\";\nerror_log \"%s\" info;\n", dir, error_log);
  if (user_line && user_line[0])
    gu_text_printf(b, "%s\n", user_line);
  /* nginx hands its workers an empty environment: keep libfaketime's, or the
   * workers (where TLS is verified) would run on the real clock */
  static const char *const keep[] = {"LD_PRELOAD", "FAKETIME_TIMESTAMP_FILE", "FAKETIME_NO_CACHE",
                                     "FAKETIME_DONT_FAKE_MONOTONIC", "TZ"};
  for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
    gu_text_printf(b, "env %s;\n", keep[i]);
  gu_text_printf(b, "events { worker_connections 256; }\n\nhttp {\n");
  static const char *const temps[] = {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"};
  for (size_t i = 0; i < sizeof(temps) / sizeof(temps[0]); i++)
    gu_text_printf(b, "  %s_temp_path \"%s/tmp/%s\";\n", temps[i], dir, temps[i]);
  gu_text_printf(
      b, "  log_format gatecert '$remote_addr \"$request\" $status verify=$ssl_client_verify "
         "upstream=$upstream_addr/$upstream_status';\n");
  gu_text_printf(b, "  access_log \"%s/access.log\" gatecert;\n", dir);
  gu_text_printf(b, "  server_tokens off;\n");
}

int gh_nginx_safe(const char *text) { return text && strpbrk(text, "\"\\$;{}\r\n") == NULL; }

int gh_self_signed_identity(gcert_kind kind, const char *subject, gcert_buf *cert_pem,
                            gcert_buf *key_pem, char *why, size_t why_len) {
  gcert_spec spec;
  gcert_spec_init(&spec, kind);
  static const char *const dns[] = {"localhost"};
  static const char *const ips[] = {"127.0.0.1"};
  spec.subject = subject;
  if (kind == GCERT_KIND_SERVER) {
    spec.dns = dns;
    spec.dns_count = 1;
    spec.ips = ips;
    spec.ip_count = 1;
  }
  spec.not_before = -(int64_t)10 * 365 * 86400;
  spec.not_after = (int64_t)100 * 365 * 86400;
  gcert_item item = {0};
  gcert_error err = {0};
  gcert_store store;
  gcert_store_init(&store);
  int rc = -1;
  if (gcert_issue(&spec, time(NULL), NULL, NULL, &item, &err) == GCERT_OK &&
      gcert_store_add_trusted(&store, NULL, item.cert, &err) == GCERT_OK &&
      gcert_pem_write(&store, NULL, cert_pem, &err) == GCERT_OK &&
      (!key_pem || gcert_pem_write_key(item.key, NULL, key_pem, &err) == GCERT_OK))
    rc = 0;
  else
    gu_fail(why, why_len, "making %s: %s", subject, err.message);
  gcert_store_free(&store);
  gcert_item_free(&item);
  return rc;
}

/* ---- the balancer --------------------------------------------------------------------------- */

static int header_name_ok(const char *h) {
  return h && h[0] &&
         strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == strlen(h);
}

/* The client trust bundle: a throwaway CA (its key discarded at once: nginx
 * refuses an empty ssl_client_certificate), then the caller's trust. */
static int write_client_trust(const gh_front_lb_spec *spec, const char *path, char *why,
                              size_t why_len) {
  gcert_buf placeholder = {0}, trust = {0};
  gcert_error err = {0};
  if (gh_self_signed_identity(GCERT_KIND_CA, "CN=gatecert placeholder CA (signs nothing)",
                              &placeholder, NULL, why, why_len) != 0)
    return -1;
  gu_text b = {0};
  gu_text_add(&b, placeholder.data, placeholder.len);
  gcert_buf_free(&placeholder);
  int rc = 0;
  if (spec->client_trust_pem) {
    if (gcert_file_load(spec->client_trust_pem, GCERT_MAX_INPUT, &trust, &err) != GCERT_OK)
      rc = gu_fail(why, why_len, "reading %s: %s", spec->client_trust_pem, err.message);
    else {
      gu_text_add(&b, "\n", 1);
      gu_text_add(&b, trust.data, trust.len);
      gu_text_add(&b, "\n", 1);
    }
    gcert_buf_free(&trust);
  }
  if (rc == 0 && b.failed)
    rc = gu_fail(why, why_len, "out of memory");
  if (rc == 0 && gcert_file_save(path, (const unsigned char *)b.data, b.len, 0, &err) != GCERT_OK)
    rc = gu_fail(why, why_len, "writing %s: %s", path, err.message);
  gu_text_free(&b);
  return rc;
}

static int render(const gh_front_lb *lb, const gh_front_lb_spec *spec, const char *client_ca,
                  gu_text *b) {
  gh_nginx_conf_head(b, lb->dir, lb->error_log, spec->user_line,
                     "front load balancer (drivers/front_lb.c)");
  gu_text_printf(b,
                 "  server { # the load balancer in front of the gateway\n"
                 "    listen 127.0.0.1:%d ssl;\n"
                 "    ssl_certificate \"%s\";\n    ssl_certificate_key \"%s\";\n"
                 "    ssl_verify_client optional;\n    ssl_client_certificate \"%s\";\n"
                 "    ssl_verify_depth %d;\n"
                 "    location / {\n"
                 "      proxy_pass https://127.0.0.1:%d;\n"
                 "      proxy_set_header Host $http_host;\n"
                 "      proxy_set_header %s $ssl_client_escaped_cert;\n"
                 "      proxy_ssl_server_name on;\n      proxy_ssl_name localhost;\n"
                 "      proxy_ssl_verify on;\n      proxy_ssl_trusted_certificate \"%s\";\n"
                 "      proxy_ssl_certificate \"%s\";\n      proxy_ssl_certificate_key \"%s\";\n"
                 "      proxy_ssl_session_reuse off;\n"
                 "    }\n  }\n}\n",
                 lb->port, spec->server_cert, spec->server_key, client_ca, LB_VERIFY,
                 spec->gateway_port, spec->header, spec->gateway_trust_pem, spec->identity_pem,
                 spec->identity_pem);
  return b->failed ? -1 : 0;
}

/* The first error line nginx logged ("[emerg] ..."), or the log's last line. */
static void first_error(const char *log, char *out, size_t out_len) {
  const char *line = log ? strstr(log, "[emerg]") : NULL;
  if (!line && log)
    line = strstr(log, "[alert]");
  if (!line && log) {
    size_t n = strlen(log);
    while (n > 0 && log[n - 1] == '\n')
      n--;
    line = log + n;
    while (line > log && line[-1] != '\n')
      line--;
  }
  snprintf(out, out_len, "%.*s", line ? (int)strcspn(line, "\n") : 0, line ? line : "");
}

static void stop_proc(gh_front_lb *lb) {
  char ignored[256];
  if (lb->running)
    gh_proc_stop(&lb->proc, SIGTERM, LB_STOP_MS, ignored, sizeof(ignored));
  lb->running = 0;
}

/* Starts nginx on lb->port and waits for its worker: 0 listening, 1 the port
 * was taken (nginx stopped: try another), -1 error. */
static int launch(gh_front_lb *lb, const gh_front_lb_spec *spec, char *why, size_t why_len) {
  unlink(lb->error_log); /* the readiness line must be this start's */
  const char *args[] = {"-p", lb->dir, "-c", lb->conf, "-e", lb->error_log, NULL};
  gh_proc_spec ps = {.bin = spec->nginx,
                     .args = args,
                     .stderr_path = lb->stderr_path,
                     .faketime_file = spec->clock_file,
                     .faketime_lib = spec->faketime_lib,
                     .no_ready = 1};
  if (gh_proc_start(&lb->proc, &ps, why, why_len) != 0)
    return -1;
  lb->running = 1;
  double deadline = gu_now_ms() + LB_READY_MS;
  for (;;) {
    char *log = gh_driver_file_tail(lb->error_log, 16384);
    int ready = log && strstr(log, "start worker process ");
    int taken = log && strstr(log, "Address already in use");
    int ended = !ready && !taken && !gh_proc_alive(&lb->proc);
    if (ended) { /* its last words may have landed after the read above */
      free(log);
      log = gh_driver_file_tail(lb->error_log, 16384);
      taken = log && strstr(log, "Address already in use");
    }
    char line[400];
    first_error(log, line, sizeof(line));
    free(log);
    if (ready)
      return 0;
    if (taken) {
      stop_proc(lb);
      return 1;
    }
    if (ended || gu_now_ms() > deadline) {
      stop_proc(lb);
      char *err = ended && !line[0] ? gh_driver_file_tail(lb->stderr_path, 400) : NULL;
      gu_fail(why, why_len, "the load balancer (nginx in %s) %s: %s", lb->dir,
              ended ? "ended" : "did not start its worker within 5 s",
              line[0] ? line
              : err   ? err
                      : "(nothing logged)");
      free(err);
      return -1;
    }
    gu_sleep_ms(LB_STEP_MS);
  }
}

gh_front_lb *gh_front_lb_start(const gh_front_lb_spec *spec, char *why, size_t why_len) {
  const char *paths[] = {spec->dir,          spec->server_cert,       spec->server_key,
                         spec->identity_pem, spec->gateway_trust_pem, spec->nginx};
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
    if (!gh_nginx_safe(paths[i])) {
      gu_fail(why, why_len, "the load balancer: path \"%s\" cannot go into nginx.conf",
              paths[i] ? paths[i] : "(none)");
      return NULL;
    }
  if (!header_name_ok(spec->header)) {
    gu_fail(why, why_len, "the load balancer: \"%s\" is not a plain header name",
            spec->header ? spec->header : "");
    return NULL;
  }
  if (spec->gateway_port <= 0) {
    gu_fail(why, why_len, "the load balancer: the gateway has no HTTPS port");
    return NULL;
  }
  gh_front_lb *lb = calloc(1, sizeof(*lb));
  if (!lb) {
    gu_fail(why, why_len, "out of memory");
    return NULL;
  }
  char tmp[LB_PATH + 8], client_ca[LB_PATH + 32];
  if ((size_t)snprintf(lb->dir, sizeof(lb->dir), "%s", spec->dir) >= sizeof(lb->dir) - 64) {
    gu_fail(why, why_len, "the load balancer's directory path is too long");
    free(lb);
    return NULL;
  }
  snprintf(lb->conf, sizeof(lb->conf), "%s/nginx.conf", lb->dir);
  snprintf(lb->error_log, sizeof(lb->error_log), "%s/error.log", lb->dir);
  snprintf(lb->stderr_path, sizeof(lb->stderr_path), "%s/stderr.log", lb->dir);
  snprintf(tmp, sizeof(tmp), "%s/tmp", lb->dir);
  snprintf(client_ca, sizeof(client_ca), "%s/client-ca.pem", lb->dir);
  int rc = gh_real_mkdir(lb->dir, why, why_len) != 0 || gh_real_mkdir(tmp, why, why_len) != 0 ||
                   write_client_trust(spec, client_ca, why, why_len) != 0
               ? -1
               : 1;
  for (int attempt = 0; rc == 1 && attempt < LB_START_TRIES; attempt++) {
    if ((lb->port = gu_free_port(why, why_len)) <= 0) {
      rc = -1;
      break;
    }
    gu_text text = {0};
    gcert_error err = {0};
    if (render(lb, spec, client_ca, &text) != 0)
      rc = gu_fail(why, why_len, "out of memory");
    else if (gcert_file_save(lb->conf, (const unsigned char *)text.data, text.len, 0, &err) !=
             GCERT_OK)
      rc = gu_fail(why, why_len, "writing %s: %s", lb->conf, err.message);
    else
      rc = launch(lb, spec, why, why_len);
    gu_text_free(&text);
  }
  if (rc == 1)
    gu_fail(why, why_len, "the load balancer found its port taken %d times", LB_START_TRIES);
  if (rc != 0) {
    stop_proc(lb);
    free(lb);
    return NULL;
  }
  return lb;
}

int gh_front_lb_port(const gh_front_lb *lb) { return lb && lb->running ? lb->port : -1; }

int gh_front_lb_stop(gh_front_lb *lb, char *why, size_t why_len) {
  if (!lb)
    return 0;
  int rc = lb->running ? gh_proc_stop(&lb->proc, SIGTERM, LB_STOP_MS, why, why_len) : 0;
  lb->running = 0;
  free(lb);
  return rc;
}

char *gh_front_lb_log_tail(const gh_front_lb *lb, size_t max) {
  return lb ? gh_driver_file_tail(lb->error_log, max) : NULL;
}
