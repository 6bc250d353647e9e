/* sap.h - what the OData admin service (admin_odata.c) does to the sap
 * profiles' certificate stores, certificates, store references and API
 * providers, and the service key's access tokens and CSRF sessions.
 *
 * Stores, certificates, references and providers live in the store only
 * (sap.c's kinds); an operation reads or writes it, and a change to what an
 * API provider uses marks the sender trust changed and logs it. Nothing here
 * answers HTTP or knows OData's envelopes: an operation returns OK, REFUSED
 * with gsim_sap_why (the HTTP status, SAP's error code, the message) or
 * FAILED (the store failed: 500), and what it answers is plain JSON the
 * admin file wraps (dates as milliseconds since the epoch).
 */
#ifndef GSIM_SAP_H
#define GSIM_SAP_H

#include "sim.h"

typedef enum gsim_sap_kind { GSIM_SAP_TRUST = 0, GSIM_SAP_KEY } gsim_sap_kind;

typedef enum gsim_sap_status {
  GSIM_SAP_OK = 0,
  GSIM_SAP_REFUSED, /* gsim_sap_why says why; nothing changed */
  GSIM_SAP_FAILED,  /* the store failed (gsim_store_error); nothing changed */
} gsim_sap_status;

/* Why an operation was refused: status 400, 404 or 409, SAP's error code
 * (documented or inferred: README.md) and the message. */
typedef struct gsim_sap_why {
  int status;
  const char *code;
  char message[512];
} gsim_sap_why;

/* One certificate to write (content decoded from its base64). */
typedef struct gsim_sap_cert_in {
  const char *name;
  const unsigned char *data;
  size_t len;
  const char *format;      /* NULL, or the client's format (checked against the bytes) */
  const char *password;    /* NULL, or the file's password */
  const char *description; /* NULL, or kept and answered */
} gsim_sap_cert_in;

/* "TRUSTSTORE" / "KEYSTORE" and back (0, or -1 for anything else). */
const char *gsim_sap_kind_word(gsim_sap_kind k);
int gsim_sap_kind_parse(const char *word, gsim_sap_kind *k);
/* A store name: 1..128 of [A-Za-z0-9._-]. */
int gsim_sap_valid_store(const char *s);

/* ---- stores and certificates ----------------------------------------------- */
/* A store: {name, storeType, description|null, certificateCount, createdMs,
 * updatedMs}. A certificate: {name, storeName, storeType, format, content
 * (base64 DER of the certificate, a key entry's leaf), description|null,
 * subject, issuer, serialNumber, sha256Fingerprint, notBefore, notAfter (ms),
 * chainLength (key entries), createdMs, updatedMs} - never a key. */
gsim_sap_status gsim_sap_stores(gsim *sim, json_t **list);
gsim_sap_status gsim_sap_store_get(gsim *sim, const char *name, json_t **store, gsim_sap_why *why);
/* A deep insert: every certificate is checked before anything is written. */
gsim_sap_status gsim_sap_store_create(gsim *sim, const char *name, gsim_sap_kind k,
                                      const char *description, const gsim_sap_cert_in *certs,
                                      size_t count, gsim_sap_why *why);
gsim_sap_status gsim_sap_store_delete(gsim *sim, const char *name, gsim_sap_why *why);
/* The certificates of store (NULL: of every store). */
gsim_sap_status gsim_sap_certs(gsim *sim, const char *store, json_t **list, gsim_sap_why *why);
gsim_sap_status gsim_sap_cert_get(gsim *sim, const char *store, const char *name, json_t **cert,
                                  gsim_sap_why *why);
/* Adds in to store, overwriting a certificate of that name (*replaced). */
gsim_sap_status gsim_sap_cert_put(gsim *sim, const char *store, const gsim_sap_cert_in *in,
                                  int *replaced, gsim_sap_why *why);
gsim_sap_status gsim_sap_cert_delete(gsim *sim, const char *store, const char *name,
                                     gsim_sap_why *why);

/* ---- store references -------------------------------------------------------- */
/* A reference: {name, certificateStoreName, storeType|null, createdMs, updatedMs}. */
gsim_sap_status gsim_sap_refs(gsim *sim, json_t **list);
gsim_sap_status gsim_sap_ref_get(gsim *sim, const char *name, json_t **ref, gsim_sap_why *why);
gsim_sap_status gsim_sap_ref_create(gsim *sim, const char *name, const char *store,
                                    gsim_sap_why *why);
gsim_sap_status gsim_sap_ref_update(gsim *sim, const char *name, const char *store,
                                    gsim_sap_why *why);
gsim_sap_status gsim_sap_ref_delete(gsim *sim, const char *name, gsim_sap_why *why);

/* ---- API providers ----------------------------------------------------------- */
/* A provider: the OData entity's properties as checked and normalised, plus
 * createdMs, updatedMs. put checks in (an object; path_name: PUT's key, NULL
 * for POST, which refuses a name taken) and stores it. */
gsim_sap_status gsim_sap_providers(gsim *sim, json_t **list);
gsim_sap_status gsim_sap_provider_get(gsim *sim, const char *name, json_t **def, gsim_sap_why *why);
gsim_sap_status gsim_sap_provider_put(gsim *sim, json_t *in, const char *path_name, json_t **def,
                                      gsim_sap_why *why);
gsim_sap_status gsim_sap_provider_delete(gsim *sim, const char *name, gsim_sap_why *why);

/* ---- the service key's access --------------------------------------------------- */
#define GSIM_SAP_SECRET_HEX 65 /* a token, a session id: 32 random bytes in hex + NUL */
/* A new bearer token valid for *expires_s seconds on the process clock. */
int gsim_sap_token_issue(gsim *sim, char token[GSIM_SAP_SECRET_HEX], long *expires_s);
/* 1 when token was issued and has not expired. */
int gsim_sap_token_valid(gsim *sim, const char *token);
/* A CSRF token for the session named by session (NULL or unknown: a new
 * session, its id written to session_out). */
int gsim_sap_csrf_issue(gsim *sim, const char *session, char session_out[GSIM_SAP_SECRET_HEX],
                        char token[GSIM_SAP_SECRET_HEX]);
/* 1 when token is the live CSRF token of session. */
int gsim_sap_csrf_valid(gsim *sim, const char *session, const char *token);

/* Counts a write answered 400 (for /_sim/status). */
void gsim_sap_count_refusal(gsim *sim);

#endif
