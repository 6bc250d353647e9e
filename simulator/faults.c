/* faults.c - the bodies the simulator answers errors with.
 *
 * Gateway faults follow WSO2's shapes: 4.x JSON
 *   {"code":"101500","type":"Status report","message":"Runtime Error","description":"Error in
 * Sender"} or the 2.x/3.x XML <am:fault> (selected with "fault_format": "xml"), built with jansson
 * and libxml2 so no value is ever spliced into markup by hand. The security chain (security.c)
 * and the throttle (throttle.c) answer WSO2's other shape, without "type":
 * {"code","message","description"} or <ams:fault xmlns:ams="http://wso2.org/apimanager/security">
 * (<amt:fault> for throttling, http://wso2.org/apimanager/throttling), plus one field after the
 * description when the caller gives one (the throttle's nextAccessTime, as its rule row says).
 * fault_format picks JSON or XML; the fields are the same in both. REST errors (the
 * Publisher API's ErrorDTO) are rest.c's.
 */
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <libxml/xmlwriter.h>

#include "security.h"
#include "sim.h"

/* A fault's fields: name, value pairs up to a NULL name, in the order WSO2
 * writes them. */
#define FIELDS_MAX 5

/* <prefix:fault xmlns:prefix="ns"> with one element a field, written with
 * libxml2's writer (escaping included). */
static int fault_xml(struct evbuffer *out, const char *prefix, const char *ns,
                     const char *const *fields) {
  xmlBufferPtr buf = xmlBufferCreate();
  if (!buf)
    return -1;
  xmlTextWriterPtr w = xmlNewTextWriterMemory(buf, 0);
  if (!w) {
    xmlBufferFree(buf);
    return -1;
  }
  const xmlChar *p = BAD_CAST prefix;
  int rc = xmlTextWriterStartElementNS(w, p, BAD_CAST "fault", BAD_CAST ns) < 0;
  for (size_t i = 0; fields[i]; i += 2)
    rc |= xmlTextWriterWriteElementNS(w, p, BAD_CAST fields[i], NULL, BAD_CAST fields[i + 1]) < 0;
  rc |= xmlTextWriterEndElement(w) < 0;
  xmlFreeTextWriter(w); /* flushes */
  if (rc == 0)
    evbuffer_add(out, xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
  xmlBufferFree(buf);
  return rc ? -1 : 0;
}

/* The JSON fault: one member a field; NULL when a value is missing. */
static json_t *fault_json(const char *const *fields) {
  json_t *fault = json_object();
  for (size_t i = 0; fault && fields[i]; i += 2) {
    json_t *value = fields[i + 1] ? json_string(fields[i + 1]) : NULL;
    if (!value || json_object_set_new(fault, fields[i], value) != 0) {
      json_decref(fault);
      fault = NULL;
    }
  }
  return fault;
}

/* Answers a fault in the configured format (prefix and ns for XML). */
static void fault_send(gsim *sim, struct evhttp_request *req, int http_status, const char *prefix,
                       const char *ns, const char *const *fields) {
  sim->stats.faults++;
  struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
  evhttp_remove_header(headers, "Content-Type");
  if (sim->opt->fault_format == GSIM_FAULT_XML) {
    struct evbuffer *body = evbuffer_new();
    if (body && fault_xml(body, prefix, ns, fields) == 0) {
      evhttp_add_header(headers, "Content-Type", "application/xml");
      evhttp_send_reply(req, http_status, NULL, body);
      evbuffer_free(body);
      return;
    }
    if (body)
      evbuffer_free(body);
    evhttp_send_error(req, 500, "Internal Server Error");
    return;
  }
  gsim_send_json(req, http_status, fault_json(fields));
}

void gsim_fault_send(gsim *sim, struct evhttp_request *req, int http_status, const char *code,
                     const char *message, const char *description) {
  const char *const fields[2 * FIELDS_MAX + 1] = {
      "code", code, "type", "Status report", "message", message, "description", description, NULL};
  fault_send(sim, req, http_status, "am", "http://wso2.org/apimanager", fields);
}

void gsim_fault_send_ns(gsim *sim, struct evhttp_request *req, int http_status, const char *prefix,
                        const char *ns, const char *code, const char *message,
                        const char *description) {
  gsim_fault_send_ns_extra(sim, req, http_status, prefix, ns, code, message, description, NULL,
                           NULL);
}

/* The security and throttling faults (WSO2's auth and throttle handlers):
 * code, message and description, and the extra field when it has a value. */
void gsim_fault_send_ns_extra(gsim *sim, struct evhttp_request *req, int http_status,
                              const char *prefix, const char *ns, const char *code,
                              const char *message, const char *description, const char *extra_name,
                              const char *extra_value) {
  const char *const fields[2 * FIELDS_MAX + 1] = {"code",
                                                  code,
                                                  "message",
                                                  message,
                                                  "description",
                                                  description,
                                                  extra_value ? extra_name : NULL,
                                                  extra_value,
                                                  NULL};
  fault_send(sim, req, http_status, prefix, ns, fields);
}
