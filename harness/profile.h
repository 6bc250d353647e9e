/* profile.h - the products a run is judged against, by name.
 *
 * A profile names a product and its version: `wso2-4` (WSO2 API Manager 4.x
 * as its code behaves; `wso2` is another name for it), `wso2-2.6` (WSO2 API
 * Manager 2.6 as its documentation describes it), `sap-2023` (SAP API
 * Management as its 2023 "Manage Certificates" page describes it: .cer, .der,
 * .pem, .p12, .pkcs and key store JARs) and `sap-2026` (the current page:
 * PKCS#12 key stores, DER or PEM trust stores; `sap` is another name for it).
 * gatecert-sim's rule table (simulator/rules.c) says what each does; here the
 * harness only needs the names.
 *
 * In scenarios, `profiles:` and `expect_profile:` may also name a family:
 * `wso2` there means every WSO2 version, `sap` every SAP one, and an override
 * for a version wins over the family's (gh_profile_match).
 */
#ifndef GH_PROFILE_H
#define GH_PROFILE_H

/* The canonical name of a profile to run ("wso2" -> "wso2-4", "sap" ->
 * "sap-2026"), or NULL when
 * name is not a profile. */
const char *gh_profile_canonical(const char *name);
/* The product and version a canonical profile imitates ("" when unknown). */
const char *gh_profile_product(const char *canonical);
/* How well a scenario's profile word fits the canonical profile run: 2 the
 * same version, 1 its family ("wso2" for wso2-4 and wso2-2.6), 0 not at all. */
int gh_profile_match(const char *word, const char *canonical);
/* The family of a scenario word ("wso2-2.6" -> "wso2", "wso2" -> "wso2"),
 * NULL when it is not one. */
const char *gh_profile_family(const char *word);
/* 1 when word may appear in a scenario's profiles or expect_profile. */
int gh_profile_word_valid(const char *word);
/* "wso2, wso2-4, wso2-2.6, sap, sap-2023, sap-2026": the words a scenario
 * may use. */
const char *gh_profile_words(void);

/* SAP API Management's OData V2 management service (the API portal's
 * Management.svc), on the admin port. */
#define GH_SAP_ODATA_BASE "/apiportal/api/1.0/Management.svc"

/* Where a profile's admin API keeps certificates (gatecert-sim's rule
 * rest-paths): WSO2 2.6's v0.14 /certificates and /clientCertificates (the
 * API id in the form, the alias alone naming a client certificate), the v4
 * paths for every other profile. Under the sap profiles an endpoint
 * certificate is a trust store entry plus an API provider for the backend's
 * host:port, through SAP's OData service (odata set; the Publisher-shaped
 * endpoint certificate paths answer 404 there); client certificates keep the
 * Publisher's shapes. */
typedef struct gh_cert_paths {
  const char *profile;      /* a profile word (a version or a family); NULL: every other */
  const char *certs;        /* endpoint certificates (WSO2's Publisher shape) */
  const char *client_certs; /* own collection, apiId in the form; NULL: under /apis/{id} */
  const char *odata;        /* SAP's OData base: endpoint certificates go there; NULL: WSO2 */
} gh_cert_paths;
const gh_cert_paths *gh_profile_cert_paths(const char *profile);

#endif
