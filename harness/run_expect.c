/* run_expect.c - whether a step got what its scenario expects.
 *
 * gh_runner_check_call compares a call's result (status, transport error,
 * WSO2 fault code from a JSON or XML body, body and headers, the TLS session
 * resumed or not) and what the rest of the system saw (the backend's request
 * log: reached or not, the client certificate it saw; the gateway's log)
 * with the step's expectation for the profile, in a fixed order; the first
 * that does not hold is the `what` of the failure ("expected status 200, got
 * 403"), and `detail` always sums up what the call got. A `reject:` class is
 * checked against the driver's answer to it (driver.h's rejection table, the
 * load balancer's when the call went through it). gh_runner_check_admin does
 * the same for an admin step's answer (status, refused, message - in
 * WSO2's error shape or OData's, the sap profiles' - and body).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "run_internal.h"

/* WSO2's fault code from a JSON ({"code":"101500"}) or XML (<am:code>) body. */
static void fault_code(const char *body, char *out, size_t out_len) {
  out[0] = '\0';
  json_t *j = json_loads(body ? body : "", 0, NULL);
  json_t *code = json_object_get(j, "code");
  if (json_is_string(code))
    snprintf(out, out_len, "%s", json_string_value(code));
  else if (json_is_integer(code))
    snprintf(out, out_len, "%lld", (long long)json_integer_value(code));
  json_decref(j);
  const char *x = out[0] || !body ? NULL : strstr(body, ":code>");
  if (x) {
    x += 6;
    size_t n = strcspn(x, "<");
    snprintf(out, out_len, "%.*s", (int)(n < out_len ? n : out_len - 1), x);
  }
}

static const char *header_value(const char *headers, const char *name, char *out, size_t out_len) {
  size_t name_len = strlen(name);
  for (const char *line = headers; line && *line;) {
    const char *eol = strstr(line, "\r\n");
    size_t len = eol ? (size_t)(eol - line) : strlen(line);
    if (len > name_len && line[name_len] == ':' && strncasecmp(line, name, name_len) == 0) {
      const char *v = line + name_len + 1;
      while (*v == ' ')
        v++;
      snprintf(out, out_len, "%.*s", (int)(len - (size_t)(v - line)), v);
      return out;
    }
    line = eol ? eol + 2 : line + len;
  }
  return NULL;
}

void gh_runner_excerpt(const char *body, char *out, size_t out_len) {
  snprintf(out, out_len, "%.300s%s", body ? body : "", body && strlen(body) > 300 ? "..." : "");
}

static int log_has(case_run *r, const char *needle) {
  char *tail = r->driver->ops->log_tail(r->driver, (size_t)4 * 1024 * 1024);
  int found = tail && strstr(tail, needle);
  free(tail);
  return found;
}

/* A transport failure that is the gateway refusing the TLS handshake (an
 * alert during or right after it), not a connection that never happened. */
static int tls_refused(const call_result *c) {
  return c->status == 0 && (c->code == CURLE_SSL_CONNECT_ERROR || c->code == CURLE_RECV_ERROR ||
                            c->code == CURLE_SEND_ERROR || c->code == CURLE_GOT_NOTHING);
}

/* Whether the driver claims the fault codes of code: the authentication
 * faults (9009xx) are auth-fault-codes, the rest fault-codes. A driver that
 * does not claim them is never held to a fault code in its rejection table. */
static int claims_fault_code(const gh_driver_ops *ops, const char *code) {
  unsigned cap = strncmp(code, "9009", 4) == 0 ? GH_CAP_AUTH_FAULT_CODES : GH_CAP_FAULT_CODES;
  return (ops->caps & cap) != 0;
}

/* The first 60 bytes of the body seen, control characters as spaces, "..."
 * when there is more ("(empty)" for none). */
static const char *body_start(const call_result *c, char *out, size_t out_len) {
  size_t n = 0, len = c->body ? strlen(c->body) : 0;
  for (size_t i = 0; i < len && n + 4 < out_len && n < 60; i++) {
    unsigned char ch = (unsigned char)c->body[i];
    out[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
  }
  snprintf(out + n, out_len - n, "%s", len > n ? "..." : len == 0 ? "(empty)" : "");
  return out;
}

/* What the call got, for a mismatch message: status (or the transport
 * failure), fault code and the first bytes of the body. */
static void seen_text(const call_result *c, const char *code, char *out, size_t out_len) {
  char first[96];
  if (c->status == 0)
    snprintf(out, out_len, "the call failed: %.200s",
             c->error[0] ? c->error : curl_easy_strerror(c->code));
  else
    snprintf(out, out_len, "got status %ld, fault code \"%s\", body: %s", c->status, code,
             body_start(c, first, sizeof(first)));
}

/* Whether a call got the driver's answer to a rejection class (through the
 * load balancer in front: the balancer's, where it answers the class itself).
 * 1 or 0 with what: the answers accepted (each status alternative, the fault
 * code where the driver claims fault codes) and what the call got. */
static int rejected_as(case_run *r, const char *name, const call_result *c, const char *code,
                       char *what, size_t what_len) {
  gh_reject cls = GH_REJECT_NONE;
  const gh_driver_ops *ops = r->driver->ops;
  const gh_reject_answer *a =
      gh_reject_parse(name, &cls) == 0 ? gh_driver_reject_via(ops, cls, c->via_lb) : NULL;
  if (!a) {
    snprintf(what, what_len, "unknown rejection class %s", name);
    return 0;
  }
  const char *via = c->via_lb ? " via its load balancer" : "";
  const char *fault = a->fault_code && claims_fault_code(ops, a->fault_code) ? a->fault_code : NULL;
  char want[160] = "", seen[400];
  int ok = 0;
  if (a->tls_alert) {
    ok = tls_refused(c);
    snprintf(want, sizeof(want), "a refused TLS handshake");
  } else {
    size_t n = 0;
    for (size_t i = 0; i < 4 && a->status[i] && n < sizeof(want); i++) {
      ok |= c->status == a->status[i];
      n += (size_t)snprintf(want + n, sizeof(want) - n, "%s%ld", i ? " or " : "status ",
                            a->status[i]);
    }
    if (fault && n < sizeof(want))
      snprintf(want + n, sizeof(want) - n, " with fault code %s", fault);
    if (ok && fault && strcmp(code, fault) != 0)
      ok = 0;
  }
  if (ok)
    return 1;
  seen_text(c, code, seen, sizeof(seen));
  snprintf(what, what_len, "expected rejection %s (the %s driver's answer%s, accepted: %s), %s",
           name, ops->name, via, want, seen);
  return 0;
}

/* Checks a call's expectations. 0 when all hold; else -1 with what/detail. */
int gh_runner_check_call(case_run *r, const gh_expect *e, const gh_api_spec *api,
                         const call_result *c, size_t before, char *what, size_t what_len,
                         char *detail, size_t detail_len) {
  char body[400], code[64] = "";
  gh_runner_excerpt(c->body, body, sizeof(body));
  json_t *last = NULL;
  size_t after = gh_runner_backend_requests(r, api->backend, &last);
  int reached = after > before;
  int rc = 0;
  fault_code(c->body, code, sizeof(code));
  if (e->resumed != GH_UNSET && c->resumed != (e->resumed == GH_YES)) {
    snprintf(what, what_len, "expected the TLS session %sto be resumed, it was %s",
             e->resumed == GH_YES ? "" : "not ",
             c->resumed == 1   ? "resumed"
             : c->resumed == 0 ? "not resumed"
                               : "never set up");
    rc = -1;
    goto done;
  }
  if (e->reject && !rejected_as(r, e->reject, c, code, what, what_len)) {
    rc = -1;
    goto done;
  }
  if (c->code != CURLE_OK && c->status == 0) {
    if ((e->tls_failure && strcmp(e->tls_failure, "tls-alert") == 0) || e->reject)
      goto done;
    snprintf(what, what_len, "the call failed: %s",
             c->error[0] ? c->error : curl_easy_strerror(c->code));
    rc = -1;
    goto done;
  }
  if (e->status && c->status != e->status) {
    char first[96];
    snprintf(what, what_len, "expected status %ld, got %ld (fault code \"%s\", body: %s)",
             e->status, c->status, code, body_start(c, first, sizeof(first)));
    rc = -1;
  } else if (e->tls_failure) {
    const char *cls = e->tls_failure;
    int ok = (strcmp(cls, "http-4xx") == 0 && c->status >= 400 && c->status < 500) ||
             (strcmp(cls, "http-5xx") == 0 && c->status >= 500 && c->status < 600) ||
             (strcmp(cls, "backend-not-reached") == 0 && !reached);
    if (!ok) {
      snprintf(what, what_len, "expected failure class %s, got status %ld%s", cls, c->status,
               reached ? " (backend reached)" : "");
      rc = -1;
    }
  }
  if (!rc && e->fault_code && strcmp(code, e->fault_code) != 0) {
    char first[96];
    snprintf(what, what_len, "expected fault code %s, got \"%s\" (status %ld, body: %s)",
             e->fault_code, code, c->status, body_start(c, first, sizeof(first)));
    rc = -1;
  }
  for (size_t i = 0; !rc && i < e->body_contains_count; i++)
    if (!c->body || !strstr(c->body, e->body_contains[i])) {
      snprintf(what, what_len, "expected the body to contain \"%s\"", e->body_contains[i]);
      rc = -1;
    }
  for (size_t i = 0; !rc && i < e->body_excludes_count; i++)
    if (c->body && strstr(c->body, e->body_excludes[i])) {
      snprintf(what, what_len, "expected the body not to contain \"%s\"", e->body_excludes[i]);
      rc = -1;
    }
  for (size_t i = 0; !rc && i < e->header_count; i++) {
    char value[512];
    const char *got = header_value(c->headers, e->headers[i].name, value, sizeof(value));
    if (!got || strcmp(got, e->headers[i].value) != 0) {
      snprintf(what, what_len, "expected header %s: %s, got %s", e->headers[i].name,
               e->headers[i].value, got ? got : "none");
      rc = -1;
    }
  }
  if (!rc && e->backend_reached != GH_UNSET && reached != (e->backend_reached == GH_YES)) {
    snprintf(what, what_len, "expected the backend %sto be reached, it was %s",
             e->backend_reached == GH_YES ? "" : "not ", reached ? "reached" : "not reached");
    rc = -1;
  }
  if (!rc && e->backend_saw_client_cert) {
    const char *seen =
        reached ? json_string_value(json_object_get(json_object_get(last, "client_cert"), "sha256"))
                : NULL;
    char want[65] = "";
    int want_none = strcmp(e->backend_saw_client_cert, "none") == 0;
    if (!want_none && gh_pki_sha256(&r->pki, e->backend_saw_client_cert, want) != 0) {
      snprintf(what, what_len, "unknown pki %s", e->backend_saw_client_cert);
      rc = -1;
    } else if (!reached || (want_none ? seen != NULL : (!seen || strcmp(seen, want) != 0))) {
      snprintf(what, what_len, "expected the backend to see client certificate %s, it saw %s",
               e->backend_saw_client_cert,
               !reached ? "no request"
               : seen   ? seen
                        : "none");
      rc = -1;
    }
  }
  for (size_t i = 0; !rc && i < e->log_contains_count; i++)
    if (!log_has(r, e->log_contains[i])) {
      snprintf(what, what_len, "expected the gateway log to contain \"%s\"", e->log_contains[i]);
      rc = -1;
    }
done:
  snprintf(detail, detail_len,
           "got status %ld, fault code \"%s\", backend %s, TLS session %s, connection %s\nbody: %s",
           c->status, code[0] ? code : "", reached ? "reached" : "not reached",
           c->resumed == 1   ? "resumed"
           : c->resumed == 0 ? "new"
                             : "none",
           c->connection_reused ? "reused" : "new", body);
  json_decref(last);
  return rc;
}

/* Checks an admin answer. 0 when the expectations hold, 1 after a failure. */
int gh_runner_check_admin(case_run *r, const gh_step *s, size_t index, const gh_admin_result *res) {
  gh_expect e = gh_step_expect(s, r->profile);
  char label[256], what[1024] = "";
  gh_runner_step_label(s, index, label, sizeof(label));
  const char *body = res->body ? res->body : "";
  int refused = res->status >= 400;
  if (e.status && res->status != e.status)
    snprintf(what, sizeof(what), "expected status %ld, got %ld", e.status, res->status);
  else if (e.refused != GH_UNSET && refused != (e.refused == GH_YES))
    snprintf(what, sizeof(what), "expected the change to be %s, got status %ld",
             e.refused == GH_YES ? "refused (4xx or 5xx)" : "accepted", res->status);
  else if (e.message && *e.message) {
    json_t *j = json_loads(body, 0, NULL);
    /* WSO2's {"message", "description"}, or OData's {"error": {"code",
     * "message": {"value"}}} (the sap profiles' management service) */
    json_t *odata = json_object_get(j, "error");
    const char *texts[] = {
        json_string_value(json_object_get(j, "description")),
        json_string_value(json_object_get(j, "message")),
        json_string_value(json_object_get(json_object_get(odata, "message"), "value")),
        json_string_value(json_object_get(odata, "code"))};
    int found = 0;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
      found |= texts[i] != NULL && strstr(texts[i], e.message) != NULL;
    if (!found)
      snprintf(what, sizeof(what), "expected the message \"%s\"", e.message);
    json_decref(j);
  }
  for (size_t i = 0; !what[0] && i < e.body_contains_count; i++)
    if (!strstr(body, e.body_contains[i]))
      snprintf(what, sizeof(what), "expected the body to contain \"%s\"", e.body_contains[i]);
  if (!what[0])
    return 0;
  char shown[400], full[4096];
  gh_runner_excerpt(body, shown, sizeof(shown));
  snprintf(full, sizeof(full), "%s: %s\ngot status %ld\nbody: %s", label, what, res->status, shown);
  gh_runner_set_outcome(r, GH_FAIL, full, "%s: %s", label, what);
  return 1;
}

/* An admin step whose expectation was not written must still succeed. */
int gh_runner_admin_default_ok(const gh_step *s, const char *profile, const gh_admin_result *res) {
  gh_expect e = gh_step_expect(s, profile);
  return e.set || (res->status >= 200 && res->status < 300);
}
