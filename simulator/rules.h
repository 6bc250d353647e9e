/* rules.h - the simulator's rule table: which product version does what.
 *
 * gatecert-sim imitates four product versions: WSO2 API Manager 2.6 as its
 * documentation describes it (profile wso2-2.6), WSO2 API Manager 4.x as its
 * code behaves (wso2-4, also called wso2) and SAP API Management as its 2023
 * "Manage Certificates" page (sap-2023) and its current page (sap-2026, also
 * called sap) describe it. Wherever they differ, or wherever a behaviour had to be
 * inferred, the simulator does not branch on the profile: it asks this table
 * for the row of a rule family that applies to its profile and acts on the
 * row's variant, status and code. Every row names its source: a seed
 * document, a WSO2 file and version, or "inferred" with the reason.
 *
 * The table is data (rules.c). `gatecert-sim --rules` prints it as the
 * Markdown that README.md carries between its rules markers; a CTest test
 * fails when the two differ (`cmake --build build --target sim-rules-readme`
 * rewrites the README).
 *
 * Mutations: `--break FAMILY` makes the family answer with its mutant row (a
 * row of no profile), a deliberate deviation the scenario catalogue must
 * catch (tests/harness/harness_catches_broken_sim.sh).
 *
 * Reported bugs (quirks): `--quirk NAME` (config "quirks") turns on a bug
 * users reported against one product version (a WSO2 issue). A quirk is data
 * like a row: its name, the profiles whose product had it, the version, the
 * issue, and the id of a row of kind GSIM_SOURCE_BUG (a row of no
 * profile, like a mutant) that it swaps in for its family's row. The code
 * reads the row as always and never tests a quirk's name. A quirk of another
 * profile is refused, and two quirks may not swap the same family.
 */
#ifndef GSIM_RULES_H
#define GSIM_RULES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum gsim_profile {
  GSIM_PROFILE_WSO2_4 = 0, /* WSO2 API Manager 4.x, as its code behaves ("wso2" too) */
  GSIM_PROFILE_WSO2_26,    /* WSO2 API Manager 2.6, as its documentation describes it */
  GSIM_PROFILE_SAP_2023,   /* SAP API Management, its 2023 documentation (seed 004) */
  GSIM_PROFILE_SAP_2026,   /* SAP API Management, its current documentation ("sap" too) */
  GSIM_PROFILE_COUNT
} gsim_profile;

#define GSIM_ON_WSO2_4   (1u << GSIM_PROFILE_WSO2_4)
#define GSIM_ON_WSO2_26  (1u << GSIM_PROFILE_WSO2_26)
#define GSIM_ON_SAP_2023 (1u << GSIM_PROFILE_SAP_2023)
#define GSIM_ON_SAP_2026 (1u << GSIM_PROFILE_SAP_2026)
#define GSIM_ON_SAP      (GSIM_ON_SAP_2023 | GSIM_ON_SAP_2026)
#define GSIM_ON_WSO2     (GSIM_ON_WSO2_4 | GSIM_ON_WSO2_26)
#define GSIM_ON_ALL      (GSIM_ON_WSO2 | GSIM_ON_SAP)

/* "wso2-4", "wso2-2.6", "sap-2023", "sap-2026". */
const char *gsim_profile_name(gsim_profile profile);
/* The product and version a profile imitates, for status and reports. */
const char *gsim_profile_product(gsim_profile profile);
/* Parses a profile name ("wso2" is wso2-4, "sap" sap-2026): 0, or -1 when unknown. */
int gsim_profile_parse(const char *name, gsim_profile *out);

typedef enum gsim_source_kind {
  GSIM_SOURCE_SEED = 0, /* one of the documents the product was specified from */
  GSIM_SOURCE_CODE,     /* read in WSO2's source or integration tests */
  GSIM_SOURCE_INFERRED, /* not confirmed; the row says why it is believed */
  GSIM_SOURCE_MUTANT,   /* a deliberate deviation for --break */
  GSIM_SOURCE_SAP_DOC,  /* read in SAP's documentation other than the seeds (page named) */
  GSIM_SOURCE_BUG,      /* a bug reported against one product version, for --quirk */
  GSIM_SOURCE_COUNT
} gsim_source_kind;

/* The families: one behaviour each, one row per profile group. */
typedef enum gsim_rule_family {
  GSIM_RF_FAULT_FORMAT = 0,    /* variant: gsim_fault_format of the gateway faults */
  GSIM_RF_BACKEND_TLS,         /* status, code: the backend handshake failed */
  GSIM_RF_BACKEND_CONNECT,     /* status, code: the backend connection was refused */
  GSIM_RF_BACKEND_TIMEOUT,     /* status, code: no answer within the timeout */
  GSIM_RF_BACKEND_CLOSED,      /* status, code, variant GSIM_CLOSED_*: closed or garbage */
  GSIM_RF_PRIORITY_NO_FLAGS,   /* variant GSIM_PRIORITY_*: mutualssl + oauth2, no flag */
  GSIM_RF_BOTH_OPTIONAL,       /* variant GSIM_BOTH_OPTIONAL_*: the explicit optional flags */
  GSIM_RF_LB_HEADER_NO_PEER,   /* variant GSIM_LB_*: header from a peer without a cert */
  GSIM_RF_CLIENT_ALIAS_SCOPE,  /* variant GSIM_ALIAS_*: where a client cert alias is unique */
  GSIM_RF_CLIENT_TIER,         /* variant GSIM_TIER_*: an unknown tier on upload */
  GSIM_RF_THROTTLE_OUT,        /* status, code, variant GSIM_THROTTLE_*: the throttled answer */
  GSIM_RF_JWT_NBF,             /* variant GSIM_CHECK_*: is nbf checked */
  GSIM_RF_JWT_NO_EXP,          /* variant GSIM_CHECK_*: is a token without exp refused */
  GSIM_RF_UPLOAD_DUPLICATE,    /* status, variant GSIM_DUPLICATE_*: an endpoint alias taken */
  GSIM_RF_UPLOAD_MALFORMED,    /* status: a certificate that does not parse */
  GSIM_RF_UPLOAD_FORMATS,      /* variant GSIM_FORMATS_*: what an upload may hold */
  GSIM_RF_UPLOAD_NOT_YET,      /* status: a certificate not valid yet */
  GSIM_RF_ALIAS_BEFORE_FILE,   /* the alias is checked before the file is read */
  GSIM_RF_LISTENER_OPTIONAL,   /* an untrusted client cert under verify optional */
  GSIM_RF_CLIENT_KEY_TYPE,     /* status: a key type other than PRODUCTION or SANDBOX */
  GSIM_RF_CLIENT_PUT_EMPTY,    /* status: a PUT without certificate and tier */
  GSIM_RF_SENDER_RELOAD,       /* the sender's reload interval and its minimum */
  GSIM_RF_SSL_PROFILE_SCOPE,   /* backend TLS is per host:port, never per API */
  GSIM_RF_THROTTLE_KEY,        /* variant GSIM_KEY_*: the counter certificates share */
  GSIM_RF_RESTART,             /* what a restart keeps */
  GSIM_RF_SAP_PROVIDER_VERIFY, /* an API provider's host name check */
  GSIM_RF_REST_PATHS,          /* variant GSIM_REST_*: the Publisher paths of certificates */
  GSIM_RF_LB_HEADER_FORWARD,   /* variant GSIM_FORWARD_*: the certificate header to the backend */
  GSIM_RF_JWT_SKEW,            /* variant: the token timestamp skew in seconds */
  GSIM_RF_ALIAS_REUSE,         /* variant GSIM_REUSE_*: an endpoint alias after its delete */
  GSIM_RF_SAP_FORMATS,         /* variant GSIM_SAP_FORMATS_*: what a sap store takes */
  GSIM_RF_CLUSTER_CERTS,       /* variant GSIM_CLUSTER_*: other nodes' certificate changes */
  GSIM_RF_COUNT
} gsim_rule_family;

enum { GSIM_CLOSED_BY_STATE = 0, GSIM_CLOSED_ONE_CODE };
enum { GSIM_PRIORITY_SEED_TABLE = 0, GSIM_PRIORITY_OAUTH_MANDATORY };
enum { GSIM_BOTH_OPTIONAL_EITHER = 0, GSIM_BOTH_OPTIONAL_UNKNOWN_FLAGS };
enum { GSIM_LB_IGNORE_HEADER = 0, GSIM_LB_HONOUR_WITHOUT_PEER };
enum { GSIM_ALIAS_PER_API = 0, GSIM_ALIAS_PER_TENANT, GSIM_ALIAS_PER_TENANT_KEY_TYPE };
enum { GSIM_TIER_VALIDATED = 0, GSIM_TIER_ACCEPTED };
enum { GSIM_THROTTLE_JSON_RETRY_AFTER = 0, GSIM_THROTTLE_XML, GSIM_THROTTLE_JSON_PLAIN };
enum { GSIM_CHECK_OFF = 0, GSIM_CHECK_ON };
enum { GSIM_DUPLICATE_REFUSED = 0, GSIM_DUPLICATE_OVERWRITES };
enum { GSIM_FORMATS_PEM_DER = 0, GSIM_FORMATS_ANY_STORE };
enum { GSIM_KEY_APP_TIER = 0, GSIM_KEY_NULL_NO_TIER };
enum { GSIM_REST_V4 = 0, GSIM_REST_V014, GSIM_REST_SAP_ODATA };
enum { GSIM_SAP_FORMATS_2023 = 0, GSIM_SAP_FORMATS_2026 };
enum { GSIM_FORWARD_REMOVE_WHEN_READ = 0, GSIM_FORWARD_PASS_ON };
enum { GSIM_REUSE_FREE = 0, GSIM_REUSE_REMOVED_COUNTS };
enum { GSIM_CLUSTER_CERTS_TAKEN = 0, GSIM_CLUSTER_CERTS_MISSED };

typedef struct gsim_rule {
  gsim_rule_family family;
  const char *id;        /* stable, shown in docs and in "not applicable" verdicts */
  unsigned profiles;     /* GSIM_ON_*; 0 for a mutant */
  int variant;           /* the family's enum above, else 0 */
  int status;            /* the HTTP status the rule answers, else 0 */
  const char *code;      /* WSO2's fault code, else NULL */
  const char *behaviour; /* one sentence, for the README */
  gsim_source_kind kind;
  const char *source; /* the seed, the WSO2 file and version, or why inferred */
} gsim_rule;

/* The name of a family as --break takes it ("backend-faults", ...). */
const char *gsim_rule_family_name(gsim_rule_family family);

/* The rows in force for a profile, each family resolved once. */
typedef struct gsim_rules {
  gsim_profile profile;
  const gsim_rule *row[GSIM_RF_COUNT];
  uint64_t broken; /* bit per family: answered by its mutant row */
  uint64_t quirks; /* bit per gsim_quirks_table() entry: turned on */
} gsim_rules;

/* A reported bug --quirk NAME turns on (see the top of this file). */
typedef struct gsim_quirk {
  const char *name;    /* --quirk NAME, config "quirks": ["NAME"] */
  unsigned profiles;   /* GSIM_ON_*: the profiles whose product had the bug */
  const char *version; /* the product version it was reported against ("4.0.0") */
  const char *issue;   /* repository and number ("wso2/product-apim#10464") */
  const char *row;     /* the id of its GSIM_SOURCE_BUG row */
} gsim_quirk;

/* Every quirk and their count (--rules, tests). */
const gsim_quirk *gsim_quirks_table(size_t *count);
/* --quirk NAME after gsim_rules_resolve: swaps the quirk's row in. 0, or -1
 * with why: an unknown name (why lists the known ones), a quirk of another
 * profile (why names its product version and issue), or a second quirk on a
 * family another quirk already changed. Turning one on twice is 0. */
int gsim_rules_quirk(gsim_rules *rules, const char *name, char *why, size_t why_len);

/* Resolves every family for profile. 0, or -1 when a family has no row for
 * it (a defect of the table, reported with why). */
int gsim_rules_resolve(gsim_rules *rules, gsim_profile profile, char *why, size_t why_len);
/* --break NAME: the family's mutant row instead of the profile's. 0, or -1
 * when NAME is no family with a mutant (why lists the names). */
int gsim_rules_break(gsim_rules *rules, const char *name, char *why, size_t why_len);

/* The whole table and its size (tests and --rules). */
const gsim_rule *gsim_rules_table(size_t *count);
/* The README section: a Markdown table per family group and the counts by
 * source. */
void gsim_rules_markdown(FILE *out);

#endif
