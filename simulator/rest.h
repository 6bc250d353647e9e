/* rest.h - the bottom layer of the admin REST API: answers, paths, forms,
 * lists, collection routes and certificate uploads, shared by every
 * admin_*.c file (the domain modules use its certificate names, checks and
 * UUIDs).
 *
 * Nothing here knows the gsim context: a function gets the request and what
 * it needs (the rule table for uploads), answers or returns, and never logs
 * (the caller logs with its own words). Error bodies follow the Publisher
 * API's ErrorDTO: {"code":N,"message":..,"description":..,"moreInfo":"","error":[]}.
 */
#ifndef GSIM_REST_H
#define GSIM_REST_H

#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>
#include <jansson.h>
#include <openssl/x509.h>

#include "multipart.h"
#include "rules.h"
#include "sim_limits.h"

struct evkeyvalq;

/* WSO2's text for every 500 of the admin API. */
#define GSIM_REST_INTERNAL "The server encountered an internal error. Please contact administrator."

/* ---- answers ------------------------------------------------------------- */

/* Sends a JSON value (stolen) with a status (500 when it cannot be encoded). */
void gsim_send_json(struct evhttp_request *req, int status, json_t *value);
/* A REST error: {"code":N,"message":..,"description":..,"moreInfo":"","error":[]}. */
void gsim_rest_error(struct evhttp_request *req, int status, const char *message,
                     const char *description);
/* 400 "Bad Request" with description. */
void gsim_rest_bad_request(struct evhttp_request *req, const char *description);
/* 404 "Not Found" with a description formatted as printf's (at most 1023 bytes). */
void gsim_rest_not_found(struct evhttp_request *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* 404 "Not Found", "No such resource". */
void gsim_rest_no_resource(struct evhttp_request *req);
/* 405 with an Allow header ("GET, POST"). */
void gsim_rest_method_not_allowed(struct evhttp_request *req, const char *allow);
/* 500 "Internal server error" with WSO2's text (the caller logs why). */
void gsim_rest_internal(struct evhttp_request *req);
/* status with a text/plain body (WSO2's bare texts; "OK" reason phrase). */
void gsim_rest_send_text(struct evhttp_request *req, int status, const char *text);
/* 200 with the DER bytes as application/octet-stream, attachment "<alias>.crt". */
void gsim_rest_send_der(struct evhttp_request *req, const char *alias, const unsigned char *der,
                        size_t len);
/* Location: prefix + sep + the URI-encoded id. */
void gsim_rest_set_location(struct evhttp_request *req, const char *prefix, const char *sep,
                            const char *id);
/* A page of a list: {"count", key: list (stolen), "pagination": {offset, limit,
 * total, next "", previous ""}}. */
json_t *gsim_rest_page(const char *key, json_t *list, long offset, long limit, size_t total);

/* ---- paths and queries --------------------------------------------------- */

/* What follows prefix in path when path is prefix itself or continues it
 * with '/', else NULL. */
const char *gsim_rest_under(const char *path, const char *prefix);
/* 1 when rest (what follows a collection's path) names the collection: "" or "/". */
int gsim_rest_is_collection(const char *rest);
/* One certificate under a collection: after is "/{alias}" or
 * "/{alias}/content". 0 with the decoded alias in out and *content set; -1
 * after answering (400 for an alias that is not printable UTF-8 of 1 to
 * out_len - 1 bytes, 404 for any other tail). */
int gsim_rest_alias_path(struct evhttp_request *req, const char *after, char *out, size_t out_len,
                         int *content);
/* Valid UTF-8 without control characters (C0, DEL, C1), no surrogates. */
int gsim_printable_utf8(const unsigned char *s, size_t len);
/* Percent-decodes one path segment (len bytes of seg) into out: 0, or -1
 * when it is empty, does not fit, holds a NUL or is not printable UTF-8. */
int gsim_path_segment(const char *seg, size_t len, char *out, size_t out_len);
/* The offset and limit (default GSIM_LIST_DEFAULT, at most GSIM_LIST_MAX) of
 * a list call; query keeps the other parameters (the caller clears it). 0, or
 * -1 after answering 400. */
int gsim_list_query(struct evhttp_request *req, struct evkeyvalq *query, long *offset, long *limit);
/* A collection's handlers: ctx is the caller's (its context and what the
 * path named), req the request to answer. */
typedef void gsim_rest_handler(void *ctx, struct evhttp_request *req);
/* When rest (what follows a collection's path) names the collection itself
 * ("" or "/"): POST calls add, GET calls list, any other method answers 405
 * (Allow "GET, POST", or "GET" where add is NULL); 1. 0 when rest names
 * something below the collection (nothing answered). */
int gsim_rest_collection(struct evhttp_request *req, const char *rest, gsim_rest_handler *add,
                         gsim_rest_handler *list, void *ctx);
/* One item's GET and DELETE: get or remove is called, any other method
 * answers 405 "GET, DELETE". */
void gsim_rest_item(struct evhttp_request *req, gsim_rest_handler *get, gsim_rest_handler *remove,
                    void *ctx);
/* A certificate collection's routes: the collection (add, list) and
 * "/{alias}" (get, replace by PUT, remove by DELETE) or "/{alias}/content"
 * (get with content set, GET only). */
typedef struct gsim_rest_alias_routes {
  gsim_rest_handler *add, *list;
  void (*get)(void *ctx, struct evhttp_request *req, const char *alias, int content);
  void (*replace)(void *ctx, struct evhttp_request *req, const char *alias);
  void (*remove)(void *ctx, struct evhttp_request *req, const char *alias);
} gsim_rest_alias_routes;
/* Routes a request under a certificate collection (rest as for
 * gsim_rest_collection; an alias path that is not one is answered as
 * gsim_rest_alias_path does, a method not offered 405). */
void gsim_rest_alias_collection(struct evhttp_request *req, const char *rest,
                                const gsim_rest_alias_routes *routes, void *ctx);
/* A random version 4 UUID in lower-case hex (out: GSIM_API_ID_MAX bytes). */
void gsim_rest_new_uuid(char out[GSIM_API_ID_MAX]);

/* The request body parsed as JSON, duplicate keys refused: a new reference,
 * or NULL (err filled where the body is not empty); *len is the body's length. */
json_t *gsim_rest_json_body(struct evhttp_request *req, size_t *len, json_error_t *err);

/* ---- multipart forms ----------------------------------------------------- */

/* Parses the request's multipart/form-data body into form (which points into
 * the request's buffer). 0, or -1 after answering 400 with the reason. */
int gsim_read_form(struct evhttp_request *req, gsim_mp_form *form);
/* A text field of form as a C string in out: 0 absent or empty, 1 copied,
 * -1 too long, holding a NUL or not printable UTF-8. */
int gsim_form_text(const gsim_mp_form *form, const char *name, char *out, size_t out_len);

/* ---- certificates -------------------------------------------------------- */

/* The certificate of an upload under the profile's rules (rows upload.pem-der
 * / upload.any-store and upload.malformed-*): the first certificate of PEM or
 * DER, or of anything gcert reads where any store is allowed. NULL after
 * answering 500 (WSO2's quirk, description GSIM_REST_INTERNAL) or 400 (the
 * description names the reason), with reason filled for the log. */
X509 *gsim_rest_upload_cert(struct evhttp_request *req, const gsim_rules *rules,
                            const gsim_mp_part *part, char *reason, size_t reason_len);
/* ---- OData V2 ------------------------------------------------------------ */

/* An OData error: {"error": {"code", "message": {"lang": "en", "value"}}}. */
void gsim_odata_error(struct evhttp_request *req, int status, const char *code,
                      const char *message);
/* An OData V2 JSON date: "/Date(<ms>)/". */
json_t *gsim_odata_date(int64_t ms);

/* 1 when notAfter <= now (WSO2 compares notAfter only). */
int gsim_cert_expired(X509 *cert, int64_t now_ms);
/* Java's X500Principal.toString(): most specific first, ", " between. */
void gsim_x509_dn(X509_NAME *name, char *out, size_t out_len);
/* The serial number in decimal. */
void gsim_x509_serial(X509 *cert, char *out, size_t out_len);
/* What GET answers about a certificate: {"status": Active|Expired,
 * "validity": {from, to} (Java dates), "version", "subject"}; NULL when it
 * cannot be described. */
json_t *gsim_rest_cert_json(X509 *cert, int64_t now_ms);

#endif
