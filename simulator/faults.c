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

/* The 2.x/3.x XML fault, written with libxml2's writer (escaping included). */
static int fault_xml(struct evbuffer *out, const char *code, const char *message,
                     const char *description) {
  xmlBufferPtr buf = xmlBufferCreate();
  if (!buf)
    return -1;
  xmlTextWriterPtr w = xmlNewTextWriterMemory(buf, 0);
  if (!w) {
    xmlBufferFree(buf);
    return -1;
  }
  int rc = 0;
  rc |= xmlTextWriterStartElementNS(w, BAD_CAST "am", BAD_CAST "fault",
                                    BAD_CAST "http://wso2.org/apimanager") < 0;
  rc |= xmlTextWriterWriteElementNS(w, BAD_CAST "am", BAD_CAST "code", NULL, BAD_CAST code) < 0;
  rc |= xmlTextWriterWriteElementNS(w, BAD_CAST "am", BAD_CAST "type", NULL,
                                    BAD_CAST "Status report") < 0;
  rc |=
      xmlTextWriterWriteElementNS(w, BAD_CAST "am", BAD_CAST "message", NULL, BAD_CAST message) < 0;
  rc |= xmlTextWriterWriteElementNS(w, BAD_CAST "am", BAD_CAST "description", NULL,
                                    BAD_CAST description) < 0;
  rc |= xmlTextWriterEndElement(w) < 0;
  xmlFreeTextWriter(w); /* flushes */
  if (rc == 0)
    evbuffer_add(out, xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
  xmlBufferFree(buf);
  return rc ? -1 : 0;
}

void gsim_fault_send(gsim *sim, struct evhttp_request *req, int http_status, const char *code,
                     const char *message, const char *description) {
  sim->stats.faults++;
  struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
  evhttp_remove_header(headers, "Content-Type");
  if (sim->opt->fault_format == GSIM_FAULT_XML) {
    struct evbuffer *body = evbuffer_new();
    if (body && fault_xml(body, code, message, description) == 0) {
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
  json_t *fault = json_pack("{s:s, s:s, s:s, s:s}", "code", code, "type", "Status report",
                            "message", message, "description", description);
  gsim_send_json(req, http_status, fault);
}

/* The security and throttling faults: <prefix:fault xmlns:prefix="ns"> with
 * code, message and description only (WSO2's auth and throttle handlers). */
static int fault_xml_ns(struct evbuffer *out, const char *prefix, const char *ns, const char *code,
                        const char *message, const char *description, const char *extra_name,
                        const char *extra_value) {
  xmlBufferPtr buf = xmlBufferCreate();
  if (!buf)
    return -1;
  xmlTextWriterPtr w = xmlNewTextWriterMemory(buf, 0);
  if (!w) {
    xmlBufferFree(buf);
    return -1;
  }
  const xmlChar *p = BAD_CAST prefix;
  int rc = 0;
  rc |= xmlTextWriterStartElementNS(w, p, BAD_CAST "fault", BAD_CAST ns) < 0;
  rc |= xmlTextWriterWriteElementNS(w, p, BAD_CAST "code", NULL, BAD_CAST code) < 0;
  rc |= xmlTextWriterWriteElementNS(w, p, BAD_CAST "message", NULL, BAD_CAST message) < 0;
  rc |= xmlTextWriterWriteElementNS(w, p, BAD_CAST "description", NULL, BAD_CAST description) < 0;
  if (extra_name)
    rc |= xmlTextWriterWriteElementNS(w, p, BAD_CAST extra_name, NULL, BAD_CAST extra_value) < 0;
  rc |= xmlTextWriterEndElement(w) < 0;
  xmlFreeTextWriter(w); /* flushes */
  if (rc == 0)
    evbuffer_add(out, xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
  xmlBufferFree(buf);
  return rc ? -1 : 0;
}

void gsim_fault_send_ns(gsim *sim, struct evhttp_request *req, int http_status, const char *prefix,
                        const char *ns, const char *code, const char *message,
                        const char *description) {
  gsim_fault_send_ns_extra(sim, req, http_status, prefix, ns, code, message, description, NULL,
                           NULL);
}

void gsim_fault_send_ns_extra(gsim *sim, struct evhttp_request *req, int http_status,
                              const char *prefix, const char *ns, const char *code,
                              const char *message, const char *description, const char *extra_name,
                              const char *extra_value) {
  if (!extra_value)
    extra_name = NULL;
  sim->stats.faults++;
  struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
  evhttp_remove_header(headers, "Content-Type");
  if (sim->opt->fault_format == GSIM_FAULT_XML) {
    struct evbuffer *body = evbuffer_new();
    if (body &&
        fault_xml_ns(body, prefix, ns, code, message, description, extra_name, extra_value) == 0) {
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
  json_t *fault =
      json_pack("{s:s, s:s, s:s}", "code", code, "message", message, "description", description);
  if (fault && extra_name)
    json_object_set_new(fault, extra_name, json_string(extra_value));
  gsim_send_json(req, http_status, fault);
}
