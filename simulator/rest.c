/* rest.c - the admin REST API's shared pieces (rest.h): JSON and error
 * answers, path segments, list queries, multipart forms and certificate
 * uploads under the profile's rules.
 *
 * The bottom layer of the admin API: admin_*.c, clientcerts' and sap's admin
 * parts and oauth's call down into it; it calls only libevent, jansson,
 * OpenSSL, gcert, multipart.c and the clock's formats. It answers requests
 * but never logs: a refusal that the gateway log should explain comes back to
 * the caller as a reason.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/rand.h>

#include "gcert.h"
#include "rest.h"
#include "sim.h"

/* ---- answers ------------------------------------------------------------- */

void gsim_send_json(struct evhttp_request *req, int status, json_t *value) {
  struct evbuffer *body = evbuffer_new();
  char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
  json_decref(value);
  if (!body || !text) {
    free(text);
    if (body)
      evbuffer_free(body);
    evhttp_send_error(req, 500, "Internal Server Error");
    return;
  }
  evbuffer_add(body, text, strlen(text));
  free(text);
  struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
  evhttp_remove_header(headers, "Content-Type");
  evhttp_add_header(headers, "Content-Type", "application/json");
  evhttp_send_reply(req, status, NULL, body);
  evbuffer_free(body);
}

void gsim_rest_error(struct evhttp_request *req, int status, const char *message,
                     const char *description) {
  json_t *err = json_pack("{s:i, s:s, s:s, s:s, s:[]}", "code", status, "message", message,
                          "description", description ? description : "", "moreInfo", "", "error");
  gsim_send_json(req, status, err);
}

void gsim_rest_bad_request(struct evhttp_request *req, const char *description) {
  gsim_rest_error(req, 400, "Bad Request", description);
}

void gsim_rest_not_found(struct evhttp_request *req, const char *fmt, ...) {
  char description[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(description, sizeof(description), fmt, ap);
  va_end(ap);
  gsim_rest_error(req, 404, "Not Found", description);
}

void gsim_rest_no_resource(struct evhttp_request *req) {
  gsim_rest_error(req, 404, "Not Found", "No such resource");
}

void gsim_rest_method_not_allowed(struct evhttp_request *req, const char *allow) {
  evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
  gsim_rest_error(req, 405, "Method Not Allowed", "The method is not supported on this resource");
}

void gsim_rest_internal(struct evhttp_request *req) {
  gsim_rest_error(req, 500, "Internal server error", GSIM_REST_INTERNAL);
}

void gsim_rest_send_text(struct evhttp_request *req, int status, const char *text) {
  struct evbuffer *body = evbuffer_new();
  if (body) {
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
    evbuffer_add_printf(body, "%s", text);
  }
  evhttp_send_reply(req, status, "OK", body);
  if (body)
    evbuffer_free(body);
}

void gsim_rest_send_der(struct evhttp_request *req, const char *alias, const unsigned char *der,
                        size_t len) {
  struct evbuffer *body = evbuffer_new();
  if (!body) {
    evhttp_send_error(req, 500, NULL);
    return;
  }
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  char disposition[GSIM_ALIAS_MAX + 48];
  snprintf(disposition, sizeof(disposition), "attachment; filename=\"%s.crt\"", alias);
  evhttp_add_header(h, "Content-Type", "application/octet-stream");
  evhttp_add_header(h, "Content-Disposition", disposition);
  evbuffer_add(body, der, len);
  evhttp_send_reply(req, 200, "OK", body);
  evbuffer_free(body);
}

void gsim_rest_set_location(struct evhttp_request *req, const char *prefix, const char *sep,
                            const char *id) {
  char *encoded = evhttp_uriencode(id, -1, 0);
  size_t len = encoded ? strlen(prefix) + strlen(sep) + strlen(encoded) + 1 : 0;
  char *location = len ? malloc(len) : NULL;
  if (location) {
    snprintf(location, len, "%s%s%s", prefix, sep, encoded);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Location", location);
  }
  free(location);
  free(encoded);
}

json_t *gsim_rest_page(const char *key, json_t *list, long offset, long limit, size_t total) {
  return json_pack("{s:I, s:o, s:{s:I, s:I, s:I, s:s, s:s}}", "count",
                   (json_int_t)json_array_size(list), key, list, "pagination", "offset",
                   (json_int_t)offset, "limit", (json_int_t)limit, "total", (json_int_t)total,
                   "next", "", "previous", "");
}

json_t *gsim_rest_json_body(struct evhttp_request *req, size_t *len, json_error_t *err) {
  struct evbuffer *body = evhttp_request_get_input_buffer(req);
  *len = evbuffer_get_length(body);
  return *len ? json_loadb((const char *)evbuffer_pullup(body, (ev_ssize_t)*len), *len,
                           JSON_REJECT_DUPLICATES, err)
              : NULL;
}

/* ---- paths and queries --------------------------------------------------- */

const char *gsim_rest_under(const char *path, const char *prefix) {
  size_t n = strlen(prefix);
  return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/') ? path + n : NULL;
}

int gsim_rest_is_collection(const char *rest) { return *rest == '\0' || strcmp(rest, "/") == 0; }

int gsim_rest_collection(struct evhttp_request *req, const char *rest, gsim_rest_handler *add,
                         gsim_rest_handler *list, void *ctx) {
  if (!gsim_rest_is_collection(rest))
    return 0;
  enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
  if (add && cmd == EVHTTP_REQ_POST)
    add(ctx, req);
  else if (cmd == EVHTTP_REQ_GET)
    list(ctx, req);
  else
    gsim_rest_method_not_allowed(req, add ? "GET, POST" : "GET");
  return 1;
}

void gsim_rest_item(struct evhttp_request *req, gsim_rest_handler *get, gsim_rest_handler *remove,
                    void *ctx) {
  enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
  if (cmd == EVHTTP_REQ_GET)
    get(ctx, req);
  else if (cmd == EVHTTP_REQ_DELETE)
    remove(ctx, req);
  else
    gsim_rest_method_not_allowed(req, "GET, DELETE");
}

void gsim_rest_alias_collection(struct evhttp_request *req, const char *rest,
                                const gsim_rest_alias_routes *routes, void *ctx) {
  if (gsim_rest_collection(req, rest, routes->add, routes->list, ctx))
    return;
  char alias[GSIM_ALIAS_MAX];
  int content = 0;
  if (gsim_rest_alias_path(req, rest, alias, sizeof(alias), &content) != 0)
    return;
  enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
  if (content && cmd != EVHTTP_REQ_GET)
    gsim_rest_method_not_allowed(req, "GET");
  else if (cmd == EVHTTP_REQ_GET)
    routes->get(ctx, req, alias, content);
  else if (cmd == EVHTTP_REQ_PUT)
    routes->replace(ctx, req, alias);
  else if (cmd == EVHTTP_REQ_DELETE)
    routes->remove(ctx, req, alias);
  else
    gsim_rest_method_not_allowed(req, "GET, PUT, DELETE");
}

/* Valid UTF-8 (RFC 3629: no overlong forms, surrogates or code points past
 * U+10FFFF, which jansson would refuse to put in a reply) without control
 * characters (C0, DEL, C1): what an alias or URL may hold. */
int gsim_printable_utf8(const unsigned char *s, size_t len) {
  static const unsigned long min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    if (c < 0x20 || c == 0x7f)
      return 0;
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > len)
      return 0;
    unsigned long cp = n == 1 ? c : (unsigned long)(c & (0x7f >> n));
    for (size_t k = 1; k < n; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i + k] & 0x3fu);
    }
    if ((n > 1 && cp < min_cp[n]) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
        (cp >= 0x80 && cp <= 0x9f))
      return 0;
    i += n;
  }
  return 1;
}

int gsim_path_segment(const char *seg, size_t len, char *out, size_t out_len) {
  char *raw = strndup(seg, len);
  if (!raw)
    return -1;
  size_t n = 0;
  char *decoded = evhttp_uridecode(raw, 0, &n);
  free(raw);
  int rc = decoded && n > 0 && n < out_len && !memchr(decoded, '\0', n) &&
                   gsim_printable_utf8((const unsigned char *)decoded, n)
               ? 0
               : -1;
  if (rc == 0)
    memcpy(out, decoded, n + 1);
  free(decoded);
  return rc;
}

int gsim_rest_alias_path(struct evhttp_request *req, const char *after, char *out, size_t out_len,
                         int *content) {
  if (*after != '/') {
    gsim_rest_no_resource(req);
    return -1;
  }
  after++;
  const char *slash = strchr(after, '/');
  size_t seg_len = slash ? (size_t)(slash - after) : strlen(after);
  if (gsim_path_segment(after, seg_len, out, out_len) != 0) {
    gsim_rest_bad_request(req, "The alias in the path must be printable UTF-8 of 1 to 255 bytes");
    return -1;
  }
  *content = slash && strcmp(slash, "/content") == 0;
  if (slash && !*content) {
    gsim_rest_no_resource(req);
    return -1;
  }
  return 0;
}

static int query_long(const struct evkeyvalq *query, const char *name, long def, long max,
                      long *out) {
  const char *v = evhttp_find_header(query, name);
  *out = def;
  if (!v)
    return 0;
  char *end = NULL;
  long n = strtol(v, &end, 10);
  if (!*v || *end || n < 0 || n > max)
    return -1;
  *out = n;
  return 0;
}

int gsim_list_query(struct evhttp_request *req, struct evkeyvalq *query, long *offset,
                    long *limit) {
  TAILQ_INIT(query);
  const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
  if (q && evhttp_parse_query_str(q, query) != 0) {
    gsim_rest_bad_request(req, "The query string could not be parsed");
    return -1;
  }
  if (query_long(query, "offset", 0, GSIM_LIST_OFFSET_MAX, offset) != 0 ||
      query_long(query, "limit", GSIM_LIST_DEFAULT, GSIM_LIST_MAX, limit) != 0) {
    evhttp_clear_headers(query);
    gsim_rest_bad_request(req,
                          "offset and limit must be non-negative integers (limit at most 1000)");
    return -1;
  }
  return 0;
}

void gsim_rest_new_uuid(char out[GSIM_API_ID_MAX]) {
  unsigned char b[16] = {0};
  if (RAND_bytes(b, sizeof(b)) != 1) /* fall back to the clock: still unique here */
    for (size_t i = 0; i < 8; i++)
      b[i] = (unsigned char)(gsim_now_ms() >> (i * 8));
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  snprintf(out, GSIM_API_ID_MAX,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
           b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* ---- multipart forms ----------------------------------------------------- */

int gsim_read_form(struct evhttp_request *req, gsim_mp_form *form) {
  const char *type = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
  char boundary[GSIM_MP_BOUNDARY_MAX];
  char why[256];
  gsim_mp_status st = gsim_mp_boundary(type ? type : "", boundary, sizeof(boundary));
  if (st != GSIM_MP_OK) {
    snprintf(why, sizeof(why), "Expected a multipart/form-data body (%s)", gsim_mp_status_name(st));
    gsim_rest_bad_request(req, why);
    return -1;
  }
  struct evbuffer *body = evhttp_request_get_input_buffer(req);
  size_t len = evbuffer_get_length(body);
  const unsigned char *data =
      len ? evbuffer_pullup(body, (ev_ssize_t)len) : (const unsigned char *)"";
  char detail[200] = "";
  st = gsim_mp_parse(data, len, boundary, form, detail, sizeof(detail));
  if (st != GSIM_MP_OK) {
    snprintf(why, sizeof(why), "Malformed multipart body: %s", detail);
    gsim_rest_bad_request(req, why);
    return -1;
  }
  return 0;
}

int gsim_form_text(const gsim_mp_form *form, const char *name, char *out, size_t out_len) {
  const gsim_mp_part *p = gsim_mp_find(form, name);
  if (!p || p->len == 0)
    return 0;
  if (p->len >= out_len || memchr(p->data, '\0', p->len) || !gsim_printable_utf8(p->data, p->len))
    return -1;
  memcpy(out, p->data, p->len);
  out[p->len] = '\0';
  return 1;
}

/* ---- certificates -------------------------------------------------------- */

X509 *gsim_rest_upload_cert(struct evhttp_request *req, const gsim_rules *rules,
                            const gsim_mp_part *part, char *reason, size_t reason_len) {
  gcert_format format = gcert_format_detect(part->data, part->len);
  /* rules upload.pem-der / upload.any-store and upload.malformed-* */
  int pem_der_only = rules->row[GSIM_RF_UPLOAD_FORMATS]->variant == GSIM_FORMATS_PEM_DER;
  int internal = rules->row[GSIM_RF_UPLOAD_MALFORMED]->status == 500;
  X509 *cert = NULL;
  gcert_error err = {0};
  if (!pem_der_only || format == GCERT_FORMAT_PEM || format == GCERT_FORMAT_DER) {
    gcert_store store;
    gcert_store_init(&store);
    if (gcert_read(GCERT_FORMAT_AUTO, part->data, part->len, NULL, &store, &err) == GCERT_OK) {
      for (size_t i = 0; i < store.count && !cert; i++) {
        STACK_OF(X509) *chain = store.entries[i].chain;
        if (chain && sk_X509_num(chain) > 0) {
          cert = sk_X509_value(chain, 0);
          X509_up_ref(cert);
        }
      }
      if (!cert)
        snprintf(err.message, sizeof(err.message), "no certificate in the upload");
    }
    gcert_store_free(&store);
  } else
    snprintf(err.message, sizeof(err.message), "%s is not PEM or DER", gcert_format_name(format));
  if (!cert) {
    char description[300];
    if (internal)
      snprintf(description, sizeof(description), "%s", GSIM_REST_INTERNAL);
    else
      snprintf(description, sizeof(description), "The certificate could not be read: %s",
               err.message);
    snprintf(reason, reason_len, "%s", err.message);
    gsim_rest_error(req, internal ? 500 : 400, internal ? "Internal server error" : "Bad Request",
                    description);
  }
  return cert;
}

int gsim_cert_expired(X509 *cert, int64_t now_ms) {
  time_t now = (time_t)(now_ms / 1000);
  return X509_cmp_time(X509_get0_notAfter(cert), &now) <= 0;
}

void gsim_x509_dn(X509_NAME *name, char *out, size_t out_len) {
  out[0] = '\0';
  BIO *bio = BIO_new(BIO_s_mem());
  if (!bio)
    return;
  X509_NAME_print_ex(bio, name, 0,
                     (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB & ~XN_FLAG_SEP_MASK) |
                         XN_FLAG_SEP_CPLUS_SPC);
  int n = BIO_read(bio, out, (int)out_len - 1);
  out[n > 0 ? n : 0] = '\0';
  BIO_free(bio);
}

void gsim_x509_serial(X509 *cert, char *out, size_t out_len) {
  out[0] = '\0';
  BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
  char *dec = bn ? BN_bn2dec(bn) : NULL;
  if (dec)
    snprintf(out, out_len, "%s", dec);
  OPENSSL_free(dec);
  BN_free(bn);
}

json_t *gsim_rest_cert_json(X509 *cert, int64_t now_ms) {
  gcert_info info;
  gcert_error err = {0};
  if (gcert_describe(cert, (time_t)(now_ms / 1000), &info, &err) != GCERT_OK)
    return NULL;
  char from[32], to[32], version[24], subject[512];
  gsim_format_java_date(info.not_before, from);
  gsim_format_java_date(info.not_after, to);
  snprintf(version, sizeof(version), "%ld", X509_get_version(cert) + 1);
  gsim_x509_dn(X509_get_subject_name(cert), subject, sizeof(subject));
  /* WSO2 compares notAfter only: a not-yet-valid certificate is "Active". */
  const char *status = gsim_cert_expired(cert, now_ms) ? "Expired" : "Active";
  return json_pack("{s:s, s:{s:s, s:s}, s:s, s:s}", "status", status, "validity", "from", from,
                   "to", to, "version", version, "subject", subject);
}

/* ---- OData V2 (the sap profiles' service) -------------------------------------- */

void gsim_odata_error(struct evhttp_request *req, int status, const char *code,
                      const char *message) {
  json_t *err = json_pack("{s:{s:s, s:{s:s, s:s}}}", "error", "code", code, "message", "lang", "en",
                          "value", message ? message : "");
  gsim_send_json(req, status, err);
}

json_t *gsim_odata_date(int64_t ms) {
  char text[40];
  snprintf(text, sizeof(text), "/Date(%lld)/", (long long)ms);
  return json_string(text);
}
