/* sim_limits.h - every size, length and count limit of gatecert-sim, named once.
 *
 * The simulator refuses input past these bounds (400 or 413 for a client, a
 * start-up error for a file), so each limit is part of its behaviour: change
 * one here and every file that checks or sizes a buffer by it follows. String
 * lengths "with its NUL" are buffer sizes (the longest value is one less).
 * Defaults that are not limits (reload intervals, timeouts) stay with the
 * options (sim_types.h); the rule rows (rules.c) hold no sizes.
 *
 * Included by every simulator header that needs a bound, and by store.h and
 * multipart.h, which are libraries of their own (tests and the fuzz target
 * link them alone): it depends on nothing. (Not "limits.h": the simulator's
 * directory is on the include path, where that name would hide <limits.h>.)
 */
#ifndef GSIM_SIM_LIMITS_H
#define GSIM_SIM_LIMITS_H

/* ---- HTTP: what the listeners accept ------------------------------------- */
#define GSIM_MAX_BODY           (10L * 1024 * 1024)   /* REST attachment, proxied body */
#define GSIM_MAX_HEADERS        ((long)64 * 1024)     /* one request's header block */
#define GSIM_MAX_AUTH_HEADER    1024                  /* Basic credentials, base64 */
#define GSIM_MAX_CERT_HEADER    ((size_t)16 * 1024)   /* the load-balancer certificate header */
#define GSIM_MAX_JSON_BODY      ((size_t)64 * 1024)   /* key managers, applications, ... */
#define GSIM_MAX_PEM            ((size_t)32 * 1024)   /* a key manager's key or certificate */
#define GSIM_MIN_RSA_BITS       2048                  /* a key manager's RS256 key */
#define GSIM_MAX_PROVIDER_JSON  65536                 /* a sap API provider definition */
#define GSIM_PROXY_HEAD_KEEP    4096                  /* backend response head kept for faults */
#define GSIM_INTROSPECT_CONFIG  ((size_t)1024 * 1024) /* gatecert-introspect's config file */
#define GSIM_INTROSPECT_HEADERS ((long)64 * 1024)
#define GSIM_INTROSPECT_BODY    ((long)4 * 1024)
#define GSIM_MAX_CONFIG         ((size_t)1024 * 1024) /* gatecert-sim --config */
#define GSIM_MAX_SECRET_FILE    ((size_t)64 * 1024)   /* a password file */

/* ---- lists --------------------------------------------------------------- */
#define GSIM_LIST_DEFAULT    25      /* ?limit= when absent */
#define GSIM_LIST_MAX        1000    /* the largest ?limit= */
#define GSIM_LIST_OFFSET_MAX 1000000 /* the largest ?offset= */
#define GSIM_STATUS_TICKS    3       /* next ticks shown per clock in /_sim/status */

/* ---- counts the simulator holds ------------------------------------------ */
#define GSIM_MAX_PROFILES             32 /* SSL profiles + the built-in default + sap API providers */
#define GSIM_MAX_SERVERS              16 /* host:port entries of one SSL profile */
#define GSIM_MAX_APIS                 1024
#define GSIM_MAX_OPERATIONS           256      /* resources of one API */
#define GSIM_DEFAULT_MAX_CLIENT_CERTS 250000   /* every API together: --max-client-certs */
#define GSIM_LIMIT_MAX_CLIENT_CERTS   10000000 /* the largest --max-client-certs */
#define GSIM_MAX_NODES                16       /* --node K: nodes of one cluster, 1..K */
#define GSIM_MAX_LB_PINS              16
#define GSIM_MAX_QUIRKS               16 /* --quirk and config "quirks" together */
#define GSIM_MAX_TIERS                32
#define GSIM_MAX_KMS                  64 /* key managers */
#define GSIM_MAX_APPS                 4096
#define GSIM_MAX_MAPPINGS             8192
#define GSIM_MAX_SUBS                 16384
#define GSIM_THROTTLE_SLOTS           4096 /* live throttling counters */
#define GSIM_MP_MAX_PARTS             16   /* parts of one multipart body */

/* ---- lengths (buffer sizes, with the NUL) --------------------------------- */
#define GSIM_ALIAS_MAX           256  /* endpoint or client certificate alias */
#define GSIM_URL_MAX             2048 /* endpoint URL */
#define GSIM_API_ID_MAX          37   /* UUID text */
#define GSIM_API_NAME_MAX        256
#define GSIM_CONTEXT_MAX         256
#define GSIM_VERSION_MAX         64
#define GSIM_TARGET_MAX          256  /* an operation's target */
#define GSIM_TIER_MAX            64   /* a throttling tier's name */
#define GSIM_KEY_TYPE_MAX        16   /* PRODUCTION or SANDBOX */
#define GSIM_UNIQUE_ID_MAX       1024 /* WSO2's "serial_DN" key of a client certificate */
#define GSIM_PASSWORD_MAX        256
#define GSIM_KIND_MAX            32                 /* a store object's kind */
#define GSIM_OBJECT_KEY_MAX      512                /* a store object's key */
#define GSIM_OBJECT_MAX          (8L * 1024 * 1024) /* a store object's json and blob, each */
#define GSIM_KM_NAME_MAX         101                /* key manager, application names */
#define GSIM_ISSUER_MAX          1024
#define GSIM_CONSUMER_KEY_MAX    256
#define GSIM_SAP_STORE_MAX       129 /* a sap trust or key store name */
#define GSIM_SAP_NAME_MAX        256 /* a sap certificate or provider name */
#define GSIM_SAP_HOST_MAX        254
#define GSIM_MP_MAX_HEADER_BLOCK 8192 /* bytes of one part's headers */
#define GSIM_MP_NAME_MAX         128  /* form field name */
#define GSIM_MP_FILENAME_MAX     256  /* file name */
#define GSIM_MP_TYPE_MAX         128  /* a part's Content-Type */
#define GSIM_MP_BOUNDARY_MAX     71   /* RFC 2046: 1..70 characters */

/* ---- time ---------------------------------------------------------------- */
#define GSIM_MIN_RELOAD_S 60 /* reload intervals below it are raised to it */
#define GSIM_LOOP_CAP_MS  50 /* longest real sleep of the event loop */

#endif
