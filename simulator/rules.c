/* rules.c - the rule table (see rules.h): one row per behaviour and profile
 * group, each with its source.
 *
 * How it works: gsim_rules_resolve() walks the table once at start and keeps,
 * per family, the row whose profiles include the running profile; the
 * simulator's modules read that row (gsim_rule_of in sim.h) instead of
 * testing the profile. A family needs exactly one row per profile: a gap or an
 * overlap is a defect of the table that resolving reports (and a unit test
 * checks for every profile). --break swaps in a mutant row.
 *
 * Sources: "seed NNN" are the documents in the project's seeds (WSO2 2.6
 * documentation, SAP's 2023 "Manage Certificates"); WSO2 code is named by file
 * and the version read (carbon-apimgt, wso2-synapse, product-apim); SAP's
 * other documentation (kind GSIM_SOURCE_SAP_DOC) by its page; "inferred" rows
 * say why the behaviour is believed and what would confirm it. The two sap
 * profiles share every row but sap-formats (what a store takes).
 */
#include <string.h>

#include "rules.h"

_Static_assert(GSIM_RF_COUNT <= 64, "gsim_rules.broken has a bit per family");

static const char *const PROFILE_NAMES[GSIM_PROFILE_COUNT] = {"wso2-4", "wso2-2.6", "sap-2023",
                                                              "sap-2026"};

static const char *const PROFILE_PRODUCTS[GSIM_PROFILE_COUNT] = {
    "WSO2 API Manager 4.x (as its code behaves: carbon-apimgt 9.x, wso2-synapse, product-apim "
    "v4.0.0-v4.7.0)",
    "WSO2 API Manager 2.6 (as its documentation describes it)",
    "SAP API Management (2023 documentation)",
    "SAP API Management (2026 documentation)",
};

const char *gsim_profile_name(gsim_profile profile) {
  return profile < GSIM_PROFILE_COUNT ? PROFILE_NAMES[profile] : "?";
}

const char *gsim_profile_product(gsim_profile profile) {
  return profile < GSIM_PROFILE_COUNT ? PROFILE_PRODUCTS[profile] : "?";
}

int gsim_profile_parse(const char *name, gsim_profile *out) {
  if (name == NULL)
    return -1;
  if (strcmp(name, "wso2") == 0) {
    *out = GSIM_PROFILE_WSO2_4;
    return 0;
  }
  if (strcmp(name, "sap") == 0) { /* the newest, as wso2 is wso2-4 */
    *out = GSIM_PROFILE_SAP_2026;
    return 0;
  }
  for (int p = 0; p < GSIM_PROFILE_COUNT; p++) {
    if (strcmp(name, PROFILE_NAMES[p]) == 0) {
      *out = (gsim_profile)p;
      return 0;
    }
  }
  return -1;
}

/* The --break name of each family; families of one behaviour share a name. */
static const char *const FAMILY_NAMES[GSIM_RF_COUNT] = {
    [GSIM_RF_FAULT_FORMAT] = "fault-format",
    [GSIM_RF_BACKEND_TLS] = "backend-faults",
    [GSIM_RF_BACKEND_CONNECT] = "backend-faults",
    [GSIM_RF_BACKEND_TIMEOUT] = "backend-faults",
    [GSIM_RF_BACKEND_CLOSED] = "backend-faults",
    [GSIM_RF_PRIORITY_NO_FLAGS] = "priority",
    [GSIM_RF_BOTH_OPTIONAL] = "both-optional",
    [GSIM_RF_LB_HEADER_NO_PEER] = "lb-header",
    [GSIM_RF_CLIENT_ALIAS_SCOPE] = "client-alias",
    [GSIM_RF_CLIENT_TIER] = "client-tier",
    [GSIM_RF_THROTTLE_OUT] = "throttle-out",
    [GSIM_RF_JWT_NBF] = "jwt",
    [GSIM_RF_JWT_NO_EXP] = "jwt",
    [GSIM_RF_UPLOAD_DUPLICATE] = "upload-duplicate",
    [GSIM_RF_UPLOAD_MALFORMED] = "upload-malformed",
    [GSIM_RF_UPLOAD_FORMATS] = "upload-formats",
    [GSIM_RF_UPLOAD_NOT_YET] = "upload-not-yet-valid",
    [GSIM_RF_ALIAS_BEFORE_FILE] = "alias-before-file",
    [GSIM_RF_LISTENER_OPTIONAL] = "listener-optional",
    [GSIM_RF_CLIENT_KEY_TYPE] = "client-key-type",
    [GSIM_RF_CLIENT_PUT_EMPTY] = "client-put-empty",
    [GSIM_RF_SENDER_RELOAD] = "sender-reload",
    [GSIM_RF_SSL_PROFILE_SCOPE] = "ssl-profile-scope",
    [GSIM_RF_THROTTLE_KEY] = "throttle-key",
    [GSIM_RF_RESTART] = "restart",
    [GSIM_RF_SAP_PROVIDER_VERIFY] = "sap-provider-verify",
    [GSIM_RF_REST_PATHS] = "rest-paths",
    [GSIM_RF_LB_HEADER_FORWARD] = "lb-header-forward",
    [GSIM_RF_JWT_SKEW] = "jwt-skew",
    [GSIM_RF_ALIAS_REUSE] = "endpoint-alias-reuse",
    [GSIM_RF_SAP_FORMATS] = "sap-formats",
    [GSIM_RF_CLUSTER_CERTS] = "cluster-certificates",
};

const char *gsim_rule_family_name(gsim_rule_family family) {
  return family < GSIM_RF_COUNT ? FAMILY_NAMES[family] : "?";
}

/* Sources quoted by several rows. */
#define SRC_FAULT_XML                                                                              \
  "product-apim v2.6.0 and v4.0.0-v4.7.0 sequences/fault.xml: HTTP_SC 500 unless CUSTOM_HTTP_SC "  \
  "(set only by key errors, AI endpoints, CORS and WebSocket)"
#define SRC_SYNAPSE                                                                                \
  "wso2-synapse v2.1.7-wso2v80 (2.6) and wso2v227 (4.0) passthru ErrorCodes, "                     \
  "TargetErrorHandler.getErrorCode = base code + ProtocolState ordinal"
#define SRC_NOT_IN_SEED_004                                                                        \
  "inferred: seed 004 does not say; the sap profile keeps the first release's"

/* clang-format off */
static const gsim_rule TABLE[] = {
    /* ---- gateway fault bodies ------------------------------------------------ */
    {GSIM_RF_FAULT_FORMAT, "fault.json", GSIM_ON_WSO2_4, 0, 0, NULL,
     "Gateway faults are JSON {\"code\",\"type\",\"message\",\"description\"} (fault_format json)",
     GSIM_SOURCE_CODE, "product-apim v4.0.0 sequences/fault.xml (JSON payload, application/json)"},
    {GSIM_RF_FAULT_FORMAT, "fault.xml", GSIM_ON_WSO2_26, 1, 0, NULL,
     "Gateway faults are XML <am:fault xmlns:am=\"http://wso2.org/apimanager\">, security faults "
     "<ams:fault>, throttling faults <amt:fault> (fault_format xml); a JSON request body's fault "
     "rendered as JSON (2.6 keeps the type for POST, PUT, PATCH) is not imitated",
     GSIM_SOURCE_CODE,
     "seed 000 (an am:fault answered to a call); product-apim v2.6.0 sequences/fault.xml and "
     "_auth_failure_handler_.xml (error_message_type application/xml)"},
    {GSIM_RF_FAULT_FORMAT, "fault.json-sap", GSIM_ON_SAP, 0, 0, NULL,
     "Gateway faults are WSO2 4.x's JSON", GSIM_SOURCE_INFERRED, SRC_NOT_IN_SEED_004},

    /* ---- backend transport faults -------------------------------------------- */
    {GSIM_RF_BACKEND_TLS, "backend.tls-500", GSIM_ON_ALL, 0, 500, "101500",
     "A backend handshake that fails (untrusted, expired, wrong host, our certificate refused): "
     "500, 101500 \"Error in Sender\"",
     GSIM_SOURCE_SEED, "seed 000 and seed 002 (PKIX failure answered with 101500)"},
    {GSIM_RF_BACKEND_CONNECT, "backend.connect-500", GSIM_ON_WSO2, 0, 500, "101503",
     "A refused or reset backend connection: 500, 101503 \"Error connecting to the back end\"",
     GSIM_SOURCE_CODE, SRC_FAULT_XML "; " SRC_SYNAPSE " (CONNECTION_FAILED in REQUEST_READY)"},
    {GSIM_RF_BACKEND_CONNECT, "backend.connect-503", GSIM_ON_SAP, 0, 503, "101503",
     "A refused or reset backend connection: 503, 101503", GSIM_SOURCE_INFERRED,
     SRC_NOT_IN_SEED_004},
    {GSIM_RF_BACKEND_CONNECT, "backend.connect-mutant", 0, 0, 503, "101503",
     "Mutation: 503 for a refused connection", GSIM_SOURCE_MUTANT, "--break backend-faults"},
    {GSIM_RF_BACKEND_TIMEOUT, "backend.timeout-500", GSIM_ON_WSO2, 0, 500, "101504",
     "No backend answer within backend_timeout_ms: 500, 101504 \"Send timeout\"", GSIM_SOURCE_CODE,
     SRC_FAULT_XML "; wso2-synapse core/axis2/TimeoutHandler (HANDLER_TIME_OUT, no state added)"},
    {GSIM_RF_BACKEND_TIMEOUT, "backend.timeout-504", GSIM_ON_SAP, 0, 504, "101504",
     "No backend answer within backend_timeout_ms: 504, 101504", GSIM_SOURCE_INFERRED,
     SRC_NOT_IN_SEED_004},
    {GSIM_RF_BACKEND_TIMEOUT, "backend.timeout-mutant", 0, 0, 504, "101504",
     "Mutation: 504 for a timeout", GSIM_SOURCE_MUTANT, "--break backend-faults"},
    {GSIM_RF_BACKEND_CLOSED, "backend.closed-by-state", GSIM_ON_WSO2, GSIM_CLOSED_BY_STATE, 500,
     "101508",
     "A backend that closes or answers garbage after the handshake: 500 \"Error in Sender\"; "
     "closed before a whole response head (nothing, or a head cut after a whole line) 101508 "
     "(CONNECTION_CLOSED 101505 + REQUEST_DONE 3); a head that does not parse 101509 "
     "(PROTOCOL_VIOLATION 101506 + REQUEST_DONE); closed in the body: no fault, the backend's "
     "status and the bytes that came, then the connection ends",
     GSIM_SOURCE_CODE,
     SRC_FAULT_XML "; " SRC_SYNAPSE "; TargetHandler.closed() faults in states 1-5 only; "
     "TargetHandler.exception (HttpException: PROTOCOL_VIOLATION + state), TargetResponse.start "
     "(RESPONSE_HEAD once the head is parsed); httpcore-nio 4.3.3-wso2v4 / 4.4.x "
     "AbstractMessageParser (ParseException -> ProtocolException), LengthDelimitedDecoder "
     "(ConnectionClosedException, logged by TargetHandler.inputReady without a fault)"},
    {GSIM_RF_BACKEND_CLOSED, "backend.closed-502", GSIM_ON_SAP, GSIM_CLOSED_ONE_CODE, 502, "101505",
     "A backend that closes (before or during its answer) or answers garbage: 502, 101505 "
     "\"Connection closed\"",
     GSIM_SOURCE_INFERRED, SRC_NOT_IN_SEED_004},
    {GSIM_RF_BACKEND_CLOSED, "backend.closed-mutant", 0, GSIM_CLOSED_ONE_CODE, 502, "101505",
     "Mutation: 502 and one code for every close", GSIM_SOURCE_MUTANT, "--break backend-faults"},

    /* ---- the security chain ---------------------------------------------------- */
    {GSIM_RF_PRIORITY_NO_FLAGS, "priority.oauth-mandatory", GSIM_ON_WSO2_4,
     GSIM_PRIORITY_OAUTH_MANDATORY, 0, NULL,
     "mutualssl + oauth2 without a mandatory flag is OAuth2 mandatory + mutual SSL optional: the "
     "token decides (accepted cert + no token 401 900902; unknown cert + valid token 200)",
     GSIM_SOURCE_CODE,
     "carbon-apimgt 6.5.298+ (3.0) APIProviderImpl.selectSecurityLevels adds "
     "oauth_basic_auth_api_key_mandatory; product-apim 4.7 integration-v2 "
     "gateway/mutual_ssl_invocation.feature"},
    {GSIM_RF_PRIORITY_NO_FLAGS, "priority.seed-table", GSIM_ON_WSO2_26 | GSIM_ON_SAP,
     GSIM_PRIORITY_SEED_TABLE, 0, NULL,
     "mutualssl + oauth2 without a mandatory flag: a valid certificate passes and the token is "
     "ignored; otherwise a token sent decides; a refused certificate alone 401 900901; nothing "
     "401 900902; an undecodable certificate header alone 500 900900",
     GSIM_SOURCE_SEED,
     "seed 003 (the priority table); carbon-apimgt 6.4.73 MultiAuthenticator (mutual SSL first, "
     "OAuth2 only when it fails)"},
    {GSIM_RF_BOTH_OPTIONAL, "both-optional.either", GSIM_ON_WSO2_4, GSIM_BOTH_OPTIONAL_EITHER, 401,
     "900901",
     "mutualssl_optional + oauth_basic_auth_api_key_optional: either credential passes (a valid "
     "certificate with a bad token too); neither (whatever the token says): 401 900901; an "
     "undecodable certificate header 500 900900",
     GSIM_SOURCE_CODE,
     "carbon-apimgt 9.30 (4.4.0) APIAuthenticationHandler.isAuthenticate (flags since 4.3.0)"},
    {GSIM_RF_BOTH_OPTIONAL, "both-optional.unknown", GSIM_ON_WSO2_26 | GSIM_ON_SAP,
     GSIM_BOTH_OPTIONAL_UNKNOWN_FLAGS, 400, NULL,
     "The optional flags are not security schemes: creating an API with them is 400",
     GSIM_SOURCE_SEED,
     "seed 003 names mutualssl and oauth2 only; carbon-apimgt 6.4.x has neither optional flag"},
    {GSIM_RF_BOTH_OPTIONAL, "both-optional.mutant", 0, GSIM_BOTH_OPTIONAL_EITHER, 401, "900902",
     "Mutation: neither credential is 900902", GSIM_SOURCE_MUTANT, "--break both-optional"},
    {GSIM_RF_LB_HEADER_NO_PEER, "lb-header.ignored", GSIM_ON_WSO2, GSIM_LB_IGNORE_HEADER, 0, NULL,
     "The client certificate header (certificate_header, default X-WSO2-CLIENT-CERTIFICATE) is "
     "honoured only when the connection's own peer certificate is in the listener trust "
     "(enable_client_validation); from a peer without one it is ignored: the API sees no "
     "certificate",
     GSIM_SOURCE_CODE,
     "seed 003 (ClientCertificateHeader, EnableClientCertificateValidation: a 2.6 WUM update of "
     "2020-07-15); carbon-apimgt 6.6.45+ (3.1.0) and 4.x MutualSSLAuthenticator"},
    {GSIM_RF_LB_HEADER_NO_PEER, "lb-header.ignored-sap", GSIM_ON_SAP, GSIM_LB_IGNORE_HEADER, 0,
     NULL, "The client certificate header follows WSO2's rule", GSIM_SOURCE_INFERRED,
     "inferred: seed 004 has no header mode; WSO2's rule kept"},
    {GSIM_RF_LB_HEADER_NO_PEER, "lb-header.mutant", 0, GSIM_LB_HONOUR_WITHOUT_PEER, 0, NULL,
     "Mutation: the header is honoured from a connection whose peer presented no certificate",
     GSIM_SOURCE_MUTANT, "--break lb-header"},

    /* ---- client certificates ---------------------------------------------------- */
    {GSIM_RF_CLIENT_ALIAS_SCOPE, "client-alias.tenant-key-type", GSIM_ON_WSO2_4,
     GSIM_ALIAS_PER_TENANT_KEY_TYPE, 409, NULL,
     "A client certificate alias is unique per key type across all APIs, and may not be an "
     "endpoint certificate's alias: 409 \"The alias '<a>' already exists in the trust store for "
     "<keyType> key type.\"",
     GSIM_SOURCE_CODE,
     "carbon-apimgt 9.29.165+ (4.4.0) CertificateMgtDAO.checkWhetherAliasExist (KEY_TYPE, ALIAS, "
     "TENANT_ID; then AM_CERTIFICATE_METADATA); 4.0-4.3 had no key type"},
    {GSIM_RF_CLIENT_ALIAS_SCOPE, "client-alias.tenant", GSIM_ON_WSO2_26, GSIM_ALIAS_PER_TENANT, 409,
     NULL,
     "A client certificate alias is unique across all APIs and endpoint certificates: 409 \"The "
     "alias '<a>' already exists in the trust store.\"",
     GSIM_SOURCE_CODE,
     "carbon-apimgt 6.4.73 CertificateMgtDAO.checkWhetherAliasExist (AM_API_CLIENT_CERTIFICATE "
     "primary key ALIAS, TENANT_ID, REMOVED; then AM_CERTIFICATE_METADATA)"},
    {GSIM_RF_CLIENT_ALIAS_SCOPE, "client-alias.per-api", GSIM_ON_SAP, GSIM_ALIAS_PER_API, 409, NULL,
     "A client certificate alias is unique within its API: 409 \"The alias '<a>' already exists "
     "in the trust store.\"",
     GSIM_SOURCE_INFERRED, SRC_NOT_IN_SEED_004},
    {GSIM_RF_CLIENT_TIER, "client-tier.accepted", GSIM_ON_WSO2, GSIM_TIER_ACCEPTED, 201, NULL,
     "An unknown tier on a client certificate upload is accepted (201); its calls are not "
     "throttled",
     GSIM_SOURCE_CODE,
     "carbon-apimgt 6.4.73 ClientCertificatesApiServiceImpl and 9.x "
     "addAPIClientCertificateOfGivenKeyType never validate the tier"},
    {GSIM_RF_CLIENT_TIER, "client-tier.validated", GSIM_ON_SAP, GSIM_TIER_VALIDATED, 400, NULL,
     "An unknown tier on a client certificate upload is 400", GSIM_SOURCE_INFERRED,
     SRC_NOT_IN_SEED_004},
    {GSIM_RF_CLIENT_KEY_TYPE, "client-key-type.400", GSIM_ON_ALL, 0, 400, NULL,
     "A key type other than PRODUCTION or SANDBOX: 400 \"The key type is invalid. It should be "
     "either PRODUCTION or SANDBOX\"" " (2.6 has no key-type paths: its uploads are PRODUCTION)",
     GSIM_SOURCE_CODE, "carbon-apimgt 9.x addAPIClientCertificateOfGivenKeyType"},
    {GSIM_RF_CLIENT_PUT_EMPTY, "client-put-empty.200", GSIM_ON_WSO2, 0, 200, NULL,
     "A PUT without certificate and tier: 200 with the text \"Client Certificate is not updated "
     "for alias <a>\"",
     GSIM_SOURCE_CODE,
     "carbon-apimgt 6.4.73 ClientCertificatesApiServiceImpl.clientCertificatesAliasPut and 9.x "
     "ApisApiServiceImpl.updateAPIClientCertificateByKeyTypeAndAlias"},
    {GSIM_RF_CLIENT_PUT_EMPTY, "client-put-empty.400", GSIM_ON_SAP, 0, 400, NULL,
     "A PUT without certificate and tier: 400 \"The certificate and/ or tier should be provided\"",
     GSIM_SOURCE_INFERRED, SRC_NOT_IN_SEED_004},
    {GSIM_RF_LISTENER_OPTIONAL, "listener.optional-untrusted", GSIM_ON_ALL, 0, 0, NULL,
     "verify_client optional: no certificate is fine; an untrusted, expired or non-client-EKU "
     "certificate fails the handshake",
     GSIM_SOURCE_INFERRED,
     "inferred: synapse's SSLVerifyClient optional is JSSE want-client-auth, which aborts on a "
     "certificate its trust manager refuses"},

    /* ---- throttling ---------------------------------------------------------------- */
    {GSIM_RF_THROTTLE_OUT, "throttle.json-retry-after", GSIM_ON_WSO2_4,
     GSIM_THROTTLE_JSON_RETRY_AFTER, 429, "900804",
     "Throttled: 429 JSON {\"code\":\"900804\",\"message\":\"Message throttled out\","
     "\"description\":\"You have exceeded your quota .You can access API after <t>\","
     "\"nextAccessTime\":\"<t>\"}, <t> as yyyy-MMM-dd HH:mm:ss+0000 UTC, and Retry-After as an "
     "HTTP date",
     GSIM_SOURCE_CODE,
     "carbon-apimgt 9.0.174 ThrottleHandler (Retry-After since 2019-09); product-apim v4.0.0 "
     "_throttle_out_handler_.xml"},
    {GSIM_RF_THROTTLE_OUT, "throttle.amt-xml", GSIM_ON_WSO2_26, GSIM_THROTTLE_XML, 429, "900804",
     "Throttled: 429 <amt:fault xmlns:amt=\"http://wso2.org/apimanager/throttling\"> with code, "
     "message, description \"You have exceeded your quota\" and nextAccessTime; no Retry-After",
     GSIM_SOURCE_CODE, "carbon-apimgt 6.4.50 ThrottleHandler.getFaultPayload"},
    {GSIM_RF_THROTTLE_OUT, "throttle.json", GSIM_ON_SAP, GSIM_THROTTLE_JSON_PLAIN, 429, "900804",
     "Throttled: 429 JSON {\"code\",\"message\",\"description\"}", GSIM_SOURCE_INFERRED,
     SRC_NOT_IN_SEED_004},
    {GSIM_RF_THROTTLE_OUT, "throttle.mutant", 0, GSIM_THROTTLE_JSON_PLAIN, 429, "900804",
     "Mutation: no nextAccessTime and no Retry-After", GSIM_SOURCE_MUTANT, "--break throttle-out"},
    {GSIM_RF_THROTTLE_KEY, "throttle.shared-counter", GSIM_ON_WSO2_4 | GSIM_ON_SAP, GSIM_KEY_APP_TIER,
     0, NULL,
     "Every certificate with one tier on one API version shares one counter "
     "(MutualSSLAuthApplication:<context>/<version>:<version>:<tier>); a token's under "
     "<application>:<context>/<version>:<version>:<tier>",
     GSIM_SOURCE_CODE,
     "carbon-apimgt 9.29.158+ (4.4.0) MutualSSLAuthenticator.setAuthenticationContext "
     "(MutualSSLAuthApplication) and ThrottleHandler.getSubscriptionLevelThrottleKey; wso2-synapse "
     "ContextVersionStrategy; sap keeps it (inferred)"},
    {GSIM_RF_THROTTLE_KEY, "throttle.one-counter-per-api", GSIM_ON_WSO2_26, GSIM_KEY_NULL_NO_TIER, 0,
     NULL,
     "Every certificate on one API version, whatever its tier, shares one counter "
     "(null:<context>/<version>:<version>), each request judged by its own certificate's tier; a "
     "token's calls count under <application>:<context>/<version>:<version> (no tier)",
     GSIM_SOURCE_CODE,
     "carbon-apimgt 6.4.73 ThrottleHandler.getSubscriptionLevelThrottleKey; MutualSSLAuthenticator "
     "sets no application id; the tier joined the key in 9.1.0"},

    /* ---- OAuth2 tokens --------------------------------------------------------------- */
    {GSIM_RF_JWT_NBF, "jwt.nbf-ignored", GSIM_ON_WSO2_4, GSIM_CHECK_OFF, 0, NULL,
     "A JWT's nbf is not checked", GSIM_SOURCE_CODE,
     "carbon-apimgt 9.0.174 and 9.33 impl/jwt/JWTValidatorImpl, gateway "
     "handlers/security/jwt/JWTValidator (no nbf check)"},
    {GSIM_RF_JWT_NBF, "jwt.nbf-ignored-2.6", GSIM_ON_WSO2_26, GSIM_CHECK_OFF, 0, NULL,
     "A JWT's nbf is not checked", GSIM_SOURCE_INFERRED,
     "inferred: 2.6's gateway sends every token to the key manager (carbon-apimgt 6.4.50 "
     "OAuthAuthenticator); the simulator's JWT check stands in for it with 4.x's rules"},
    {GSIM_RF_JWT_NBF, "jwt.nbf-checked", GSIM_ON_SAP, GSIM_CHECK_ON, 401, "900901",
     "A JWT whose nbf is more than the jwt-skew ahead (300 s under sap) is 401 900901", GSIM_SOURCE_INFERRED,
     SRC_NOT_IN_SEED_004},
    {GSIM_RF_JWT_NBF, "jwt.nbf-mutant", 0, GSIM_CHECK_ON, 401, "900901",
     "Mutation: nbf checked", GSIM_SOURCE_MUTANT, "--break jwt"},
    {GSIM_RF_JWT_NO_EXP, "jwt.no-exp-passes", GSIM_ON_WSO2_4, GSIM_CHECK_OFF, 0, NULL,
     "A JWT without exp passes the expiry check; an expired one (exp + the jwt-skew <= now) is 401 "
     "900901",
     GSIM_SOURCE_CODE,
     "carbon-apimgt 9.0.174 JWTValidatorImpl.validateTokenExpiry: exp == null || "
     "DateUtils.isAfter(exp, now, skew)"},
    {GSIM_RF_JWT_NO_EXP, "jwt.no-exp-passes-2.6", GSIM_ON_WSO2_26, GSIM_CHECK_OFF, 0, NULL,
     "A JWT without exp passes the expiry check; an expired one is 401 900901",
     GSIM_SOURCE_INFERRED,
     "inferred: 2.6's gateway sends every token to the key manager; 4.x's rules stand in"},
    {GSIM_RF_JWT_NO_EXP, "jwt.no-exp-refused", GSIM_ON_SAP, GSIM_CHECK_ON, 401, "900901",
     "A JWT without exp is 401 900901", GSIM_SOURCE_INFERRED, SRC_NOT_IN_SEED_004},
    {GSIM_RF_JWT_NO_EXP, "jwt.no-exp-mutant", 0, GSIM_CHECK_ON, 401, "900901",
     "Mutation: a token without exp refused", GSIM_SOURCE_MUTANT, "--break jwt"},

    /* ---- endpoint certificate uploads ------------------------------------------------ */
    {GSIM_RF_UPLOAD_DUPLICATE, "upload.duplicate-409", GSIM_ON_WSO2, GSIM_DUPLICATE_REFUSED, 409,
     NULL, "An endpoint alias taken: 409 \"The alias '<a>' already exists in the trust store.\"",
     GSIM_SOURCE_SEED, "seed 002 (aliases are unique); endpoint aliases are global in 4.x too"},
    {GSIM_RF_UPLOAD_DUPLICATE, "upload.duplicate-overwrites", GSIM_ON_SAP,
     GSIM_DUPLICATE_OVERWRITES, 200, NULL, "A certificate name taken is overwritten (200)",
     GSIM_SOURCE_SEED, "seed 004 (Manage Certificates)"},
    {GSIM_RF_UPLOAD_MALFORMED, "upload.malformed-500", GSIM_ON_WSO2, 0, 500, NULL,
     "A certificate that does not parse: 500 \"Internal server error\" (WSO2's quirk)",
     GSIM_SOURCE_CODE, "carbon-apimgt CertificateMgtUtils: no dedicated 400 (2.6 to 4.x)"},
    {GSIM_RF_UPLOAD_MALFORMED, "upload.malformed-400", GSIM_ON_SAP, 0, 400, NULL,
     "A certificate that does not parse: 400 naming the reason", GSIM_SOURCE_SEED,
     "seed 004 (Manage Certificates)"},
    {GSIM_RF_UPLOAD_FORMATS, "upload.pem-der", GSIM_ON_WSO2, GSIM_FORMATS_PEM_DER, 0, NULL,
     "Uploads are PEM (first certificate) or DER; anything else is malformed", GSIM_SOURCE_SEED,
     "seed 003 (.crt certificates)"},
    {GSIM_RF_UPLOAD_FORMATS, "upload.any-store", GSIM_ON_SAP, GSIM_FORMATS_ANY_STORE, 0, NULL,
     "Uploads are PEM, DER, PKCS#7 or JKS (first certificate)", GSIM_SOURCE_SEED,
     "seed 004 (Manage Certificates)"},
    {GSIM_RF_UPLOAD_NOT_YET, "upload.not-yet-valid-201", GSIM_ON_ALL, 0, 201, NULL,
     "A certificate not valid yet is accepted (201)", GSIM_SOURCE_CODE,
     "carbon-apimgt CertificateMgtUtils checks notAfter only (2.6 to 4.x)"},
    {GSIM_RF_ALIAS_BEFORE_FILE, "upload.alias-first", GSIM_ON_WSO2, 0, 409, NULL,
     "An endpoint certificate alias that is taken answers 409 whatever the file holds (client certificates: the file is read first)", GSIM_SOURCE_INFERRED,
     "inferred: WSO2 checks the alias against its database before parsing the certificate"},
    {GSIM_RF_ALIAS_BEFORE_FILE, "upload.alias-first-sap", GSIM_ON_SAP, 0, 0, NULL,
     "A name that is taken is overwritten once the file parses", GSIM_SOURCE_SEED,
     "seed 004 (Manage Certificates)"},

    /* ---- reloading, backends, restarts ----------------------------------------------- */
    {GSIM_RF_SENDER_RELOAD, "reload.sender-interval", GSIM_ON_ALL, 0, 0, NULL,
     "Endpoint certificates reach backend handshakes at the sender's next tick, every "
     "sender_reload_interval (default 600 s, below 60 s raised to 60 s) from start",
     GSIM_SOURCE_SEED, "seed 002 (fileReadInterval, 10 minutes by default)"},
    {GSIM_RF_SSL_PROFILE_SCOPE, "backend.ssl-profile-per-host-port", GSIM_ON_WSO2, 0, 0, NULL,
     "Backend trust and identity are per host:port (SSL profiles), never per API: "
     "per-api-backend-tls is not applicable",
     GSIM_SOURCE_SEED, "seed 001 (Mutual SSL Between API Gateway and Backend: profiles by server)"},
    {GSIM_RF_SSL_PROFILE_SCOPE, "backend.api-provider-per-host-port", GSIM_ON_SAP, 0, 0, NULL,
     "Backend trust and identity are per API provider (host:port), never per API: "
     "per-api-backend-tls is not applicable",
     GSIM_SOURCE_SEED, "seed 004 (API providers with a trust store and a key store)"},
    {GSIM_RF_RESTART, "restart.keeps-everything", GSIM_ON_ALL, 0, 0, NULL,
     "A restart loads APIs, endpoint and client certificates back from the store",
     GSIM_SOURCE_INFERRED,
     "inferred: 4.x re-pulls certificates from its database at start; its restart bugs "
     "(product-apim #10464, api-manager #158) are not imitated"},
    {GSIM_RF_ALIAS_REUSE, "upload.deleted-alias-free", GSIM_ON_ALL, GSIM_REUSE_FREE, 0,
     NULL, "An endpoint certificate alias is free again once its certificate is deleted",
     GSIM_SOURCE_INFERRED,
     "inferred: api-manager #1397 (a deleted alias still \"already exists\") was filed against "
     "4.2.0 alpha and closed before 4.2.0; the bug is the quirk deleted-alias-taken"},
    {GSIM_RF_CLUSTER_CERTS, "cluster.certificates-taken", GSIM_ON_ALL,
     GSIM_CLUSTER_CERTS_TAKEN, 0, NULL,
     "A gateway cluster node (--node) takes endpoint and client certificate changes made through "
     "another node when it next reads the store: pending at once, live at its own next sender or "
     "listener tick",
     GSIM_SOURCE_INFERRED,
     "inferred: each 4.x gateway node keeps its own trust stores (APIGatewayAdmin.deployAPI adds "
     "an API's certificates to the node's own; api-manager #3167 shows client-truststore.jks per "
     "node) and reloads them on its own ticks; carbon-apimgt #13408 (2025, for api-manager "
     "#3388) sends certificate events between active-active nodes; the quirk node-misses-change "
     "is the bug reported before it"},
    {GSIM_RF_SAP_PROVIDER_VERIFY, "sap.provider-default-verifier", GSIM_ON_ALL, 0, 0, NULL,
     "An API provider's backend host name is checked with the Default verifier",
     GSIM_SOURCE_INFERRED, "inferred: seed 004 does not say how host names are checked"},

    /* ---- token times ------------------------------------------------------------------ */
    {GSIM_RF_JWT_SKEW, "jwt.skew-0", GSIM_ON_WSO2_4, 0, 0, NULL,
     "Token times are checked with no skew: exp <= now is 401 900901 (TimestampSkew 0 as 4.x "
     "ships it)",
     GSIM_SOURCE_CODE,
     "product-apim v4.7.0 conf/identity/identity.xml TimestampSkew 0; carbon-identity-framework "
     "default.json oauth.timestamp_skew 0m (the code default, 300 s, applies only without the "
     "element)"},
    {GSIM_RF_JWT_SKEW, "jwt.skew-300-2.6", GSIM_ON_WSO2_26, 300, 0, NULL,
     "Token times are checked with a 300 s skew", GSIM_SOURCE_CODE,
     "carbon-apimgt 6.4.73 config/identity.xml TimestampSkew 300"},
    {GSIM_RF_JWT_SKEW, "jwt.skew-300-sap", GSIM_ON_SAP, 300, 0, NULL,
     "Token times are checked with a 300 s skew", GSIM_SOURCE_INFERRED, SRC_NOT_IN_SEED_004},

    /* ---- the certificate header toward the backend ------------------------------------- */
    {GSIM_RF_LB_HEADER_FORWARD, "lb-header.removed-when-read", GSIM_ON_WSO2_4,
     GSIM_FORWARD_REMOVE_WHEN_READ, 0, NULL,
     "A certificate header the gateway read as the client's certificate (mutual SSL, or a JWT's "
     "cnf check) is removed before the backend unless forward_client_certificate_header is true; "
     "an ignored header is passed on as sent",
     GSIM_SOURCE_CODE,
     "carbon-apimgt 9.32.177+ (4.7.0) gateway handlers/Utils.getClientCertificateFromHeader, "
     "isForwardClientCertificateHeaderEnabled, default false; 4.0-4.6 never remove it"},
    {GSIM_RF_LB_HEADER_FORWARD, "lb-header.passed-on", GSIM_ON_WSO2_26 | GSIM_ON_SAP,
     GSIM_FORWARD_PASS_ON, 0, NULL, "A certificate header, read or ignored, reaches the backend as sent, whatever "
     "forward_client_certificate_header says",
     GSIM_SOURCE_INFERRED,
     "inferred: seed 003 does not say; the 2020 update backports carbon-apimgt 6.6.45's header "
     "code, which never removes it (sap: the first release's)"},

    /* ---- the admin API ---------------------------------------------------------------- */
    {GSIM_RF_REST_PATHS, "rest.publisher-v4", GSIM_ON_WSO2_4, GSIM_REST_V4, 0, NULL,
     "Certificates under /api/am/publisher/v4: /endpoint-certificates and "
     "/apis/{apiId}/client-certificates (/client-certs/{keyType})",
     GSIM_SOURCE_CODE, "carbon-apimgt 9.x publisher-api.yaml (v4)"},
    {GSIM_RF_REST_PATHS, "rest.publisher-v0.14", GSIM_ON_WSO2_26, GSIM_REST_V014, 0, NULL,
     "Certificates under /api/am/publisher/v0.14: /certificates (endpoint) and "
     "/clientCertificates with apiId in the form and the query (the v4 certificate paths are "
     "404); APIs, key managers, applications and subscriptions keep the simulator's v4 "
     "shapes",
     GSIM_SOURCE_CODE,
     "carbon-apimgt 6.4.50 publisher-api.yaml (/certificates), 6.4.73 (/clientCertificates): "
     "RestApiConstants CERTS_BASE_PATH, CLIENT_CERTS_BASE_PATH"},

    /* ---- reported bugs: rows of no profile, swapped in by --quirk (QUIRKS below) ------- */
    {GSIM_RF_ALIAS_REUSE, "upload.deleted-alias-taken", 0, GSIM_REUSE_REMOVED_COUNTS, 409,
     NULL,
     "A deleted endpoint certificate's alias still counts as taken: uploading under it again is "
     "409 \"The alias '<a>' already exists in the trust store.\" (the delete is remembered in the "
     "store, restarts included)",
     GSIM_SOURCE_BUG,
     "api-manager #1397 (API-M 4.2.0 alpha): adding a certificate under an alias deleted before "
     "warns that it already exists; the issue does not say why (a removed row still counted is "
     "inferred)"},
    {GSIM_RF_REST_PATHS, "rest.sap-odata", GSIM_ON_SAP, GSIM_REST_SAP_ODATA, 404, NULL,
     "Stores, certificates, references and API providers through the OData service "
     "/apiportal/api/1.0/Management.svc/ (token from /oauth/token, or basic + CSRF); "
     "/api/am/publisher/v4/endpoint-certificates and /sap/v1/ are 404 naming it; APIs, client "
     "certificates, key managers, applications and subscriptions keep the simulator's v4 shapes",
     GSIM_SOURCE_SAP_DOC,
     "SAP Help Portal, Accessing API Management APIs Programmatically and Creating/Reading/"
     "Updating/Deleting the References (Management.svc, OData V2); issue 20"},

    /* ---- what a sap store takes ---------------------------------------------------- */
    {GSIM_RF_SAP_FORMATS, "sap.formats-2023", GSIM_ON_SAP_2023, GSIM_SAP_FORMATS_2023, 400, NULL,
     "Trust stores take one PEM certificate; key stores a key store JAR (descriptor.properties), "
     "PKCS#12 or PEM chain + key; a PKCS#12 password with a restricted character (! % ^ & # : / "
     "? [ ] @ $ ' ( ) * + , ; =) is 400",
     GSIM_SOURCE_SEED, "seed 004 (SAP Help Portal, Manage Certificates, 2023)"},
    {GSIM_RF_SAP_FORMATS, "sap.formats-2026", GSIM_ON_SAP_2026, GSIM_SAP_FORMATS_2026, 400, NULL,
     "Trust stores take one PEM or DER certificate; key stores PKCS#12 only (JAR and PEM keys "
     "are 400); the restricted password characters of 2023 still refused",
     GSIM_SOURCE_SAP_DOC,
     "SAP Help Portal, Manage Certificates (current page, as issue 20 quotes it: PKCS#12 only "
     "for key stores from July 2026, DER or PEM for trust stores); the password note is "
     "inferred kept"},
    {GSIM_RF_SAP_FORMATS, "sap.formats-none", GSIM_ON_WSO2, GSIM_SAP_FORMATS_2023, 0, NULL,
     "No sap stores (the OData service is 404)", GSIM_SOURCE_INFERRED,
     "inferred: WSO2 API Manager has no SAP certificate stores; the row only fills the table"},
    {GSIM_RF_CLUSTER_CERTS, "cluster.node-misses-change", 0, GSIM_CLUSTER_CERTS_MISSED, 0, NULL,
     "A gateway cluster node (--node) misses endpoint and client certificate changes (and sap "
     "store changes) made through another node until it restarts: its trust keeps what it "
     "loaded at start; APIs, applications and subscriptions still reach it",
     GSIM_SOURCE_BUG,
     "api-manager #3167 (API-M 4.1.0 active-active: an endpoint certificate updated through node "
     "1 is in the database and node 1's client-truststore.jks, not in node 2's, whose Publisher "
     "shows null); api-manager #87 (2022, Publisher v1: an endpoint certificate loaded in one of "
     "four gateways); carbon-apimgt #13408 (2025) added certificate events between active-active "
     "nodes"},
};
/* clang-format on */

/* The reported bugs --quirk turns on; each names its row above. */
static const gsim_quirk QUIRKS[] = {
    {"deleted-alias-taken", GSIM_ON_WSO2_4, "4.2.0 alpha", "wso2/api-manager#1397",
     "upload.deleted-alias-taken"},
    {"node-misses-change", GSIM_ON_WSO2_4, "4.1.0", "wso2/api-manager#3167",
     "cluster.node-misses-change"},
};
#define QUIRK_COUNT (sizeof(QUIRKS) / sizeof(QUIRKS[0]))
_Static_assert(sizeof(QUIRKS) / sizeof(QUIRKS[0]) <= 64, "gsim_rules.quirks has a bit per quirk");

const gsim_quirk *gsim_quirks_table(size_t *count) {
  *count = QUIRK_COUNT;
  return QUIRKS;
}

const gsim_rule *gsim_rules_table(size_t *count) {
  *count = sizeof(TABLE) / sizeof(TABLE[0]);
  return TABLE;
}

int gsim_rules_resolve(gsim_rules *rules, gsim_profile profile, char *why, size_t why_len) {
  memset(rules, 0, sizeof(*rules));
  if (profile >= GSIM_PROFILE_COUNT) {
    snprintf(why, why_len, "rules: no profile %d", (int)profile);
    return -1;
  }
  rules->profile = profile;
  unsigned bit = 1u << profile;
  for (size_t i = 0; i < sizeof(TABLE) / sizeof(TABLE[0]); i++) {
    const gsim_rule *r = &TABLE[i];
    if (!(r->profiles & bit))
      continue;
    if (rules->row[r->family] != NULL) {
      snprintf(why, why_len, "rules: %s and %s both apply to %s", rules->row[r->family]->id, r->id,
               gsim_profile_name(profile));
      return -1;
    }
    rules->row[r->family] = r;
  }
  for (int f = 0; f < GSIM_RF_COUNT; f++) {
    if (rules->row[f] == NULL) {
      snprintf(why, why_len, "rules: family %s has no row for %s",
               gsim_rule_family_name((gsim_rule_family)f), gsim_profile_name(profile));
      return -1;
    }
  }
  return 0;
}

/* The mutant of a family: its row of no profile. */
static const gsim_rule *mutant_of(gsim_rule_family family) {
  for (size_t i = 0; i < sizeof(TABLE) / sizeof(TABLE[0]); i++)
    if (TABLE[i].family == family && TABLE[i].kind == GSIM_SOURCE_MUTANT)
      return &TABLE[i];
  return NULL;
}

/* Another profile's row with a behaviour that differs from this profile's. */
static const gsim_rule *other_version_of(const gsim_rules *rules, gsim_rule_family family) {
  const gsim_rule *mine = rules->row[family];
  for (size_t i = 0; i < sizeof(TABLE) / sizeof(TABLE[0]); i++) {
    const gsim_rule *r = &TABLE[i];
    if (r->family == family && r != mine && r->profiles != 0 &&
        (r->variant != mine->variant || r->status != mine->status))
      return r;
  }
  return NULL;
}

int gsim_rules_break(gsim_rules *rules, const char *name, char *why, size_t why_len) {
  int found = 0;
  for (int f = 0; f < GSIM_RF_COUNT; f++) {
    if (strcmp(FAMILY_NAMES[f], name) != 0)
      continue;
    const gsim_rule *m = mutant_of((gsim_rule_family)f);
    if (m == NULL)
      m = other_version_of(rules, (gsim_rule_family)f);
    if (m == NULL)
      continue;
    rules->row[f] = m;
    rules->broken |= UINT64_C(1) << f;
    found = 1;
  }
  if (found)
    return 0;
  size_t used =
      (size_t)snprintf(why, why_len, "--break: \"%s\" is not one of: immediate-reload", name);
  uint64_t listed = 0; /* families whose name is already in why */
  for (int f = 0; f < GSIM_RF_COUNT && used < why_len; f++) {
    if (listed & (UINT64_C(1) << f))
      continue;
    if (!mutant_of((gsim_rule_family)f) && !other_version_of(rules, (gsim_rule_family)f))
      continue;
    for (int g = f; g < GSIM_RF_COUNT; g++)
      if (strcmp(FAMILY_NAMES[g], FAMILY_NAMES[f]) == 0)
        listed |= UINT64_C(1) << g;
    used += (size_t)snprintf(why + used, why_len - used, ", %s", FAMILY_NAMES[f]);
  }
  return -1;
}

/* ---- reported bugs ------------------------------------------------------------ */

static const gsim_rule *row_by_id(const char *id) {
  for (size_t i = 0; i < sizeof(TABLE) / sizeof(TABLE[0]); i++)
    if (strcmp(TABLE[i].id, id) == 0)
      return &TABLE[i];
  return NULL;
}

/* "a, b, c": every quirk's name, for a usage error. */
static void quirk_names(char *out, size_t len) {
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < QUIRK_COUNT && used < len; i++)
    used += (size_t)snprintf(out + used, len - used, "%s%s", i ? ", " : "", QUIRKS[i].name);
}

int gsim_rules_quirk(gsim_rules *rules, const char *name, char *why, size_t why_len) {
  size_t q = 0;
  while (q < QUIRK_COUNT && strcmp(QUIRKS[q].name, name) != 0)
    q++;
  if (q == QUIRK_COUNT) {
    char names[512];
    quirk_names(names, sizeof(names));
    snprintf(why, why_len, "--quirk: \"%s\" is not one of: %s", name, names);
    return -1;
  }
  const gsim_quirk *k = &QUIRKS[q];
  if (!(k->profiles & (1u << rules->profile))) {
    snprintf(why, why_len,
             "--quirk %s: a bug of WSO2 API Manager %s (%s), not of the %s profile; it needs "
             "--profile wso2-4",
             k->name, k->version, k->issue, gsim_profile_name(rules->profile));
    return -1;
  }
  const gsim_rule *row = row_by_id(k->row);
  if (row == NULL || row->kind != GSIM_SOURCE_BUG) {
    snprintf(why, why_len, "--quirk %s: no reported-bug row %s (a defect of the table)", k->name,
             k->row);
    return -1;
  }
  if (rules->quirks & (UINT64_C(1) << q))
    return 0;
  for (size_t other = 0; other < QUIRK_COUNT; other++) {
    const gsim_rule *r = row_by_id(QUIRKS[other].row);
    if ((rules->quirks & (UINT64_C(1) << other)) && r != NULL && r->family == row->family) {
      snprintf(why, why_len, "--quirk %s and --quirk %s both change rule family %s", name,
               QUIRKS[other].name, gsim_rule_family_name(row->family));
      return -1;
    }
  }
  rules->row[row->family] = row;
  rules->quirks |= UINT64_C(1) << q;
  return 0;
}

/* ---- the README section ------------------------------------------------------ */

static const char *kind_name(gsim_source_kind kind) {
  switch (kind) {
  case GSIM_SOURCE_SEED:
    return "seed";
  case GSIM_SOURCE_CODE:
    return "WSO2 code";
  case GSIM_SOURCE_INFERRED:
    return "inferred";
  case GSIM_SOURCE_MUTANT:
    return "mutation";
  case GSIM_SOURCE_BUG:
    return "reported bug";
  case GSIM_SOURCE_SAP_DOC:
    return "SAP documentation";
  case GSIM_SOURCE_COUNT:
    break;
  }
  return "?";
}

/* A table cell: '|' escaped, newlines cannot occur (the table is ours). */
static void cell(FILE *out, const char *text) {
  fputc(' ', out);
  for (const char *p = text; *p; p++) {
    if (*p == '|')
      fputs("\\|", out);
    else if (*p == '<')
      fputs("&lt;", out);
    else if (*p == '>')
      fputs("&gt;", out);
    else
      fputc(*p, out);
  }
  fputs(" |", out);
}

static void profiles_cell(FILE *out, unsigned profiles) {
  char text[64] = "";
  size_t used = 0;
  for (int p = 0; p < GSIM_PROFILE_COUNT; p++) {
    if (profiles & (1u << p))
      used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%s", used ? ", " : "",
                               PROFILE_NAMES[p]);
  }
  cell(out, used ? text : "(--break)");
}

/* The quirk that swaps a reported-bug row in, or NULL. */
static const gsim_quirk *quirk_of_row(const gsim_rule *r) {
  for (size_t q = 0; q < QUIRK_COUNT; q++)
    if (strcmp(QUIRKS[q].row, r->id) == 0)
      return &QUIRKS[q];
  return NULL;
}

/* A reported bug's profiles cell: "wso2-4 with --quirk NAME". */
static void quirk_cell(FILE *out, const gsim_rule *r) {
  const gsim_quirk *q = quirk_of_row(r);
  char text[160] = "";
  size_t used = 0;
  for (int p = 0; q && p < GSIM_PROFILE_COUNT; p++) {
    if (q->profiles & (1u << p))
      used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%s", used ? ", " : "",
                               PROFILE_NAMES[p]);
  }
  if (q && used < sizeof(text))
    snprintf(text + used, sizeof(text) - used, " with --quirk %s", q->name);
  cell(out, q ? text : "(no quirk)");
}

void gsim_rules_markdown(FILE *out) {
  size_t count = sizeof(TABLE) / sizeof(TABLE[0]);
  size_t by_kind[GSIM_SOURCE_COUNT] = {0};
  fputs("| rule | profiles | behaviour | source | kind |\n", out);
  fputs("|---|---|---|---|---|\n", out);
  for (size_t i = 0; i < count; i++) {
    const gsim_rule *r = &TABLE[i];
    if (r->kind == GSIM_SOURCE_MUTANT)
      continue;
    by_kind[r->kind]++;
    fputs("|", out);
    char id[96];
    snprintf(id, sizeof(id), "`%s`", r->id);
    cell(out, id);
    if (r->kind == GSIM_SOURCE_BUG)
      quirk_cell(out, r);
    else
      profiles_cell(out, r->profiles);
    cell(out, r->behaviour);
    cell(out, r->source);
    cell(out, kind_name(r->kind));
    fputc('\n', out);
  }
  fprintf(out,
          "\n%zu rules: %zu from the seeds, %zu from SAP's documentation, %zu from WSO2's code, "
          "%zu inferred; and %zu reported bugs.\n"
          "\nReported bugs (`--quirk NAME`, config `\"quirks\"`; each swaps in its row above):\n\n",
          by_kind[GSIM_SOURCE_SEED] + by_kind[GSIM_SOURCE_SAP_DOC] + by_kind[GSIM_SOURCE_CODE] +
              by_kind[GSIM_SOURCE_INFERRED],
          by_kind[GSIM_SOURCE_SEED], by_kind[GSIM_SOURCE_SAP_DOC], by_kind[GSIM_SOURCE_CODE],
          by_kind[GSIM_SOURCE_INFERRED], by_kind[GSIM_SOURCE_BUG]);
  for (size_t q = 0; q < QUIRK_COUNT; q++)
    fprintf(out, "- `%s`: %s, WSO2 API Manager %s, row `%s`\n", QUIRKS[q].name, QUIRKS[q].issue,
            QUIRKS[q].version, QUIRKS[q].row);
  fputs("\nMutations (`--break NAME`, for the harness's self-test):\n\n", out);
  fputs("- `immediate-reload`: endpoint certificate changes apply at once instead of at the tick\n",
        out);
  for (size_t i = 0; i < count; i++) { /* one line per name, its mutants joined */
    const char *name = gsim_rule_family_name(TABLE[i].family);
    int first = 1;
    for (size_t j = 0; j < i && first; j++)
      first = !(TABLE[j].kind == GSIM_SOURCE_MUTANT &&
                strcmp(gsim_rule_family_name(TABLE[j].family), name) == 0);
    if (TABLE[i].kind != GSIM_SOURCE_MUTANT || !first)
      continue;
    fprintf(out, "- `%s`:", name);
    const char *sep = " ";
    for (size_t j = i; j < count; j++) {
      if (TABLE[j].kind == GSIM_SOURCE_MUTANT &&
          strcmp(gsim_rule_family_name(TABLE[j].family), name) == 0) {
        fprintf(out, "%s%s", sep, TABLE[j].behaviour + strlen("Mutation: "));
        sep = "; ";
      }
    }
    fputc('\n', out);
  }
  fputs("- any other family with rows that differ by version (`priority`, `client-alias`, "
        "`client-tier`, ...): the other version's row\n",
        out);
}
