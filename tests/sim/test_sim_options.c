/* test_sim_options.c - gatecert-sim's command line and JSON config, refused and honoured.
 *
 * Refusals: every case of bad_lines[] and bad_configs[] runs the real binary
 * (GATECERT_SIM_BIN) through bs_start_fails and checks that it exits before
 * READY with the expected status (2: usage or configuration, 1: a file that
 * does not load, found while starting) and that stderr names the problem: the
 * flag or JSON key, the file, and gcert's reason. Arguments are words; "@name"
 * stands for <scratch>/name, and in the expected text "@CFG" for the case's
 * config file. --help must exit 0 and document every option of the
 * long_options table in simulator/options.c (read from the source tree, so a
 * new option without help text fails here).
 *
 * The client mutual TLS sections ("listener", "mutual_ssl", "throttling")
 * have a refused row for every bad value, and test_listener_options checks
 * their defaults and values through /_sim/status and the listener itself.
 *
 * Honoured, with st_sim_start: the sender reload interval (default 600, below
 * 60 raised with a WARN line, config value used, command line over config,
 * ticks counted from start) and the fault format from both places, as
 * /_sim/status and a 404 fault show them; a 0700 state directory and 0600
 * store files even under umask 0; the HTTPS identity (--server-cert/--server-key
 * as given, else a self-signed localhost certificate) seen by a raw TLS
 * probe; the READY line's listeners, with a plain HTTP listener that routes
 * to a real gatecert-backend (--http or "http_listener": true); and the admin
 * password absent from the log (stderr or --log file) and stdout after
 * successful and failing admin calls.
 */
#include "support.h"
#include "backend_fixture.h"
#include "backend_support.h"
#include "sim_fixture.h"
#include "sim_world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BASE_ARGS "--state @state --admin-user admin --admin-password-file @admin.password "
#define MAX_WORDS 32

/* ---- helpers ---------------------------------------------------------------- */

static void write_text(const char *name, const char *text, size_t len) {
  char path[BS_PATH_MAX];
  test_write(bt_scratch(path, name), text, len);
}

/* in with "@CFG" replaced by cfg and "@name" by <scratch>/name. */
static void expand(char *out, size_t size, const char *in, const char *cfg) {
  const char *dir = test_scratch_dir();
  size_t n = 0;
  while (*in != '\0') {
    const char *with = NULL;
    size_t skip = 1;
    char path[BS_PATH_MAX];
    if (strncmp(in, "@CFG", 4) == 0 && cfg) {
      with = cfg;
      skip = 4;
    } else if (*in == '@') {
      size_t name_len = strspn(in + 1, "abcdefghijklmnopqrstuvwxyz0123456789._-/");
      snprintf(path, sizeof(path), "%s/%.*s", dir, (int)name_len, in + 1);
      with = path;
      skip = 1 + name_len;
    }
    size_t add = with ? strlen(with) : 1;
    if (n + add + 1 > size)
      fail_msg("expanded text too long: %s", in);
    memcpy(out + n, with ? with : in, add);
    n += add;
    in += skip;
  }
  out[n] = '\0';
}

/* Runs the simulator with args (words, expanded) that must not get it ready;
 * checks its exit code and that stderr holds each of says[]. */
static void expect_refusal(const char *args, const char *cfg, int rc, const char *const *says,
                           size_t says_count) {
  char text[8192], *words[MAX_WORDS + 1];
  expand(text, sizeof(text), args, cfg);
  size_t n = 0;
  for (char *save = NULL, *w = strtok_r(text, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
    assert_true(n < MAX_WORDS);
    words[n++] = w;
  }
  words[n] = NULL;
  bs_start_opts opts = {.args = (const char *const *)words,
                        .scratch_dir = test_scratch_dir(),
                        .bin = getenv("GATECERT_SIM_BIN"),
                        .single_ready = 1};
  int code = -1;
  char err[4096] = "";
  if (bs_start_fails(&opts, &code, err, sizeof(err)) != 0)
    fail_msg("'%s': %s", args, bs_error());
  int ok = code == rc && strstr(err, "READY") == NULL;
  for (size_t i = 0; ok && i < says_count && says[i]; i++) {
    char want[2048];
    expand(want, sizeof(want), says[i], cfg);
    ok = strstr(err, want) != NULL;
  }
  if (!ok)
    fail_msg("'%s'%s%s: exit %d (expected %d, saying \"%s\" \"%s\"):\n%s", args,
             cfg ? " config " : "", cfg ? cfg : "", code, rc, says[0],
             says_count > 1 && says[1] ? says[1] : "", err);
}

static int setup(void **state) {
  bt_setup_catalogue(state);
  char path[BS_PATH_MAX];
  char long_pw[300];
  memset(long_pw, 'x', sizeof(long_pw));
  static const char nul_pw[] = "ab\0cd\n";
  write_text("admin.password", ST_PASSWORD "\n", strlen(ST_PASSWORD) + 1);
  write_text("empty.password", "", 0);
  write_text("newline.password", "\nsecond line\n", 13);
  write_text("long.password", long_pw, sizeof(long_pw));
  write_text("nul.password", nul_pw, sizeof(nul_pw) - 1);
  write_text("garbage.pem", "this is not a certificate\n", 26);
  assert_true(mkdir(bt_scratch(path, "subdir"), 0700) == 0 || access(path, F_OK) == 0);
  unlink(bt_scratch(path, "fifo"));
  assert_int_equal(0, mkfifo(path, 0600));
  assert_true(mkdir(bt_scratch(path, "truncated"), 0700) == 0 || access(path, F_OK) == 0);
  write_text("truncated/gatecert-sim.db", "", 0);
  return 0;
}

/* ---- refusals ---------------------------------------------------------------- */

typedef struct bad_case {
  const char *args;
  int rc;
  const char *says[2];
} bad_case;

static const bad_case bad_lines[] = {
    {"--admin-user admin --admin-password-file @admin.password", 2, {"--state DIR is required"}},
    {"--state @state --admin-password-file @admin.password", 2, {"--admin-user is required"}},
    {"--state @state --admin-user admin", 2, {"--admin-password-file is required"}},
    {"--state @state --admin-user ad:min --admin-password-file @admin.password",
     2,
     {"--admin-user: must be non-empty and without ':'"}},
    {"--state @state --admin-user admin --admin-password-file @missing.password",
     2,
     {"--admin-password-file @missing.password: cannot open @missing.password"}},
    {"--state @state --admin-user admin --admin-password-file @subdir",
     2,
     {"--admin-password-file @subdir: @subdir is not a regular file"}},
    {"--state @state --admin-user admin --admin-password-file @empty.password",
     2,
     {"--admin-password-file @empty.password: the first line is empty"}},
    {"--state @state --admin-user admin --admin-password-file @newline.password",
     2,
     {"--admin-password-file @newline.password: the first line is empty"}},
    {"--state @state --admin-user admin --admin-password-file @long.password",
     2,
     {"--admin-password-file @long.password: longer than 255 bytes"}},
    {"--state @state --admin-user admin --admin-password-file @nul.password",
     2,
     {"--admin-password-file @nul.password: holds a NUL byte"}},
    {BASE_ARGS "--frobnicate", 2, {"--frobnicate: unknown option or missing value"}},
    {BASE_ARGS "--http=1", 2, {"--http=1: unknown option or missing value"}},
    {BASE_ARGS "--log", 2, {"--log: unknown option or missing value"}},
    {BASE_ARGS "stray", 2, {"unexpected argument \"stray\""}},
    {BASE_ARGS "--profile bogus",
     2,
     {"--profile: \"bogus\" is not wso2-4 (or wso2), wso2-2.6, sap-2023 or sap-2026 (or sap)"}},
    {BASE_ARGS "--profile WSO2",
     2,
     {"--profile: \"WSO2\" is not wso2-4 (or wso2), wso2-2.6, sap-2023 or sap-2026 (or sap)"}},
    {BASE_ARGS "--sender-reload-interval 0",
     2,
     {"--sender-reload-interval: \"0\" is not seconds 1..31536000"}},
    {BASE_ARGS "--sender-reload-interval -1", 2, {"--sender-reload-interval: \"-1\" is not"}},
    {BASE_ARGS "--sender-reload-interval abc", 2, {"--sender-reload-interval: \"abc\" is not"}},
    {BASE_ARGS "--sender-reload-interval 60s", 2, {"--sender-reload-interval: \"60s\" is not"}},
    {BASE_ARGS "--sender-reload-interval 99999999999",
     2,
     {"--sender-reload-interval: \"99999999999\" is not"}},
    {BASE_ARGS "--sender-reload-interval 31536001",
     2,
     {"--sender-reload-interval: \"31536001\" is not"}},
    {BASE_ARGS "--fault-format yaml", 2, {"--fault-format: \"yaml\" is not json or xml"}},
    {BASE_ARGS "--break bogus",
     2,
     {"--break: \"bogus\" is not one of: immediate-reload, fault-format, backend-faults, "
      "priority"}},
    {BASE_ARGS "--break a --break b --break c --break d --break e --break f --break g --break h "
               "--break i",
     2,
     {"--break: at most 8"}},
    {BASE_ARGS "--quirk bogus", 2, {"--quirk: \"bogus\" is not one of: deleted-alias-taken"}},
    {BASE_ARGS "--quirk", 2, {"--quirk: unknown option or missing value"}},
    {BASE_ARGS "--profile wso2-2.6 --quirk deleted-alias-taken",
     2,
     {"--quirk deleted-alias-taken: a bug of WSO2 API Manager 4.2.0 alpha "
      "(wso2/api-manager#1397), not of the wso2-2.6 profile; it needs --profile wso2-4"}},
    {BASE_ARGS "--profile sap --quirk deleted-alias-taken",
     2,
     {"(wso2/api-manager#1397), not of the sap-2026 profile"}},
    {BASE_ARGS "--backend-timeout-ms 0", 2, {"--backend-timeout-ms: \"0\" is not 1..3600000"}},
    {BASE_ARGS "--backend-keepalive yes", 2, {"--backend-keepalive: \"yes\" is not on or off"}},
    {BASE_ARGS "--backend-idle-ms 0", 2, {"--backend-idle-ms: \"0\" is not 1..86400000"}},
    {BASE_ARGS "--durability fsync", 2, {"--durability: \"fsync\" is not process or full"}},
    {BASE_ARGS "--server-cert @server.chain.pem",
     2,
     {"--server-cert and --server-key go together"}},
    {BASE_ARGS "--server-key @server.key", 2, {"--server-cert and --server-key go together"}},
    {BASE_ARGS "--trust-password-file @admin.password",
     2,
     {"--trust-password-file without --trust"}},
    {BASE_ARGS "--trust @root.pem --trust-password-file @empty.password",
     2,
     {"--trust-password-file @empty.password: the first line is empty"}},
    {BASE_ARGS "--config @missing.json", 2, {"config @missing.json: cannot open @missing.json"}},
    /* Files that do not load: found while starting, exit 1. */
    {BASE_ARGS "--trust @missing.pem", 1, {"--trust @missing.pem: cannot open @missing.pem"}},
    {BASE_ARGS "--trust @garbage.pem",
     1,
     {"--trust @garbage.pem: input is not PEM, DER, PKCS#7, PKCS#12, JKS"}},
    {BASE_ARGS "--server-cert @missing.pem --server-key @server.key",
     1,
     {"--server-cert @missing.pem: cannot open @missing.pem"}},
    {BASE_ARGS "--server-cert @server.chain.pem --server-key @missing.key",
     1,
     {"--server-key @missing.key: cannot open @missing.key"}},
    {BASE_ARGS "--server-cert @server.chain.pem --server-key @client.key",
     1,
     {"--server-key does not belong to the first certificate of @server.chain.pem"}},
    {BASE_ARGS "--server-cert @garbage.pem --server-key @server.key",
     1,
     {"--server-cert @garbage.pem: "}},
    {BASE_ARGS "--log @subdir/no/such/dir.log", 1, {"--log @subdir/no/such/dir.log: No such file"}},
    /* What a path is, named: a FIFO is never waited on (issue 15). */
    {"--state @fifo --admin-user admin --admin-password-file @admin.password",
     1,
     {"--state @fifo is a FIFO (named pipe), not a directory"}},
    {"--state /dev/zero --admin-user admin --admin-password-file @admin.password",
     1,
     {"--state /dev/zero is a character device, not a directory"}},
    {"--state @admin.password --admin-user admin --admin-password-file @admin.password",
     1,
     {"--state @admin.password is a regular file, not a directory"}},
    {"--state @state --admin-user admin --admin-password-file @fifo",
     2,
     {"--admin-password-file @fifo: @fifo is not a regular file"}},
    {BASE_ARGS "--config @fifo", 2, {"config @fifo: @fifo is not a regular file"}},
    {BASE_ARGS "--trust @fifo", 1, {"--trust @fifo: @fifo is not a regular file"}},
    {BASE_ARGS "--server-cert @fifo --server-key @server.key",
     1,
     {"--server-cert @fifo: @fifo is not a regular file"}},
    {BASE_ARGS "--server-cert @server.chain.pem --server-key @fifo",
     1,
     {"--server-key @fifo: @fifo is not a regular file"}},
    /* A store file truncated to 0 bytes: refused, never started empty. */
    {"--state @truncated --admin-user admin --admin-password-file @admin.password",
     1,
     {"@truncated/gatecert-sim.db is empty (0 bytes)", "run with --fresh-store"}},
};

typedef struct bad_config {
  const char *json;
  int rc;
  const char *says[2];
} bad_config;

static const bad_config bad_configs[] = {
    {"{\n  \"fault_format\": json\n}\n", 2, {"config @CFG:2:22: invalid token near 'json'"}},
    {"", 2, {"config @CFG:1:0: '[' or '{' expected"}},
    {"{\"fault_format\": \"xml\"} x", 2, {"config @CFG:1:25: end of file expected"}},
    {"[]", 2, {"config @CFG: the top level must be an object"}},
    {"{\"fualt_format\": \"xml\"}", 2, {"unknown key \"fualt_format\" in the top level"}},
    {"{\"fault_format\": 1}", 2, {"fault_format must be \"json\" or \"xml\""}},
    {"{\"fault_format\": \"yaml\"}", 2, {"fault_format must be \"json\" or \"xml\""}},
    {"{\"fault_format\": null}", 2, {"fault_format must be \"json\" or \"xml\""}},
    {"{\"backend_keepalive\": \"off\"}", 2, {"backend_keepalive must be true or false"}},
    {"{\"backend_timeout_ms\": \"30\"}", 2, {"backend_timeout_ms must be an integer 1..3600000"}},
    {"{\"backend_timeout_ms\": 0}", 2, {"backend_timeout_ms must be an integer 1..3600000"}},
    {"{\"backend_timeout_ms\": 1.5}", 2, {"backend_timeout_ms must be an integer 1..3600000"}},
    {"{\"backend_timeout_ms\": 3600001}", 2, {"backend_timeout_ms must be an integer"}},
    {"{\"sender_reload_interval\": \"60\"}", 2, {"sender_reload_interval must be seconds"}},
    {"{\"sender_reload_interval\": true}", 2, {"sender_reload_interval must be seconds"}},
    {"{\"sender_reload_interval\": 0}", 2, {"sender_reload_interval must be seconds 1..31536000"}},
    {"{\"sender_reload_interval\": 60.0}", 2, {"sender_reload_interval must be seconds"}},
    {"{\"http_listener\": \"yes\"}", 2, {"http_listener must be true or false"}},
    {"{\"http_listener\": 1}", 2, {"http_listener must be true or false"}},
    {"{\"ssl_profiles\": {}}", 2, {"ssl_profiles must be an array"}},
    {"{\"ssl_profiles\": null}", 2, {"ssl_profiles must be an array"}},
    {"{\"ssl_profiles\": [1]}", 2, {"ssl_profiles[0] must be an object"}},
    {"{\"ssl_profiles\": [{}]}", 2, {"ssl_profiles[0].servers must be a non-empty array"}},
    {"{\"ssl_profiles\": [{\"servers\": []}]}", 2, {"ssl_profiles[0].servers must be a non-empty"}},
    {"{\"ssl_profiles\": [{\"servers\": \"a:1\"}]}", 2, {"ssl_profiles[0].servers must be a"}},
    {"{\"ssl_profiles\": [{\"servers\": [\"localhost\"]}]}",
     2,
     {"ssl_profiles[0].servers[0] must be \"host:port\" (port explicit)"}},
    {"{\"ssl_profiles\": [{\"servers\": [\"localhost:0\"]}]}", 2, {"servers[0] must be"}},
    {"{\"ssl_profiles\": [{\"servers\": [\"localhost:65536\"]}]}", 2, {"servers[0] must be"}},
    {"{\"ssl_profiles\": [{\"servers\": [\":443\"]}]}", 2, {"servers[0] must be"}},
    {"{\"ssl_profiles\": [{\"servers\": [443]}]}", 2, {"servers[0] must be"}},
    {"{\"ssl_profiles\": [{\"servers\": [\"a:1\"]}, {\"servers\": [\"a:2\", \"b\"]}]}",
     2,
     {"ssl_profiles[1].servers[1] must be \"host:port\""}},
    {"{\"ssl_profiles\": [{\"servers\": [\"a:1\"], \"colour\": \"blue\"}]}",
     2,
     {"unknown key \"colour\" in ssl_profiles[0]"}},
    {"{\"ssl_profiles\": [{\"servers\": [\"a:1\"], \"trust_store\": 5}]}",
     2,
     {"ssl_profiles[0].trust_store must be a non-empty string"}},
    {"{\"ssl_profiles\": [{\"servers\": [\"a:1\"], \"key_store\": \"\"}]}",
     2,
     {"ssl_profiles[0].key_store must be a non-empty string"}},
    {"{\"ssl_profiles\": [{\"servers\": [\"a:1\"], \"hostname_verifier\": 3}]}",
     2,
     {"ssl_profiles[0].hostname_verifier must be a non-empty string"}},
    {"{\"ssl_profiles\": [{\"servers\": [\"a:1\"], \"trust_store_password_file\": 7}]}",
     2,
     {"ssl_profiles[0].trust_store_password_file must be a non-empty string"}},
    {"{\"ssl_profiles\": [{\"servers\": [\"a:1\"], \"key_store_password_file\": \"nope\"}]}",
     2,
     {"config: ssl_profiles[0].key_store_password_file @nope: cannot open @nope"}},
    {"{\"default_profile\": {\"trust_store_password_file\": \"empty.password\"}}",
     2,
     {"config: default_profile.trust_store_password_file @empty.password: the first line"}},
    {"{\"default_profile\": []}", 2, {"default_profile must be an object"}},
    {"{\"default_profile\": null}", 2, {"default_profile must be an object"}},
    {"{\"default_profile\": {\"servers\": [\"a:1\"]}}",
     2,
     {"default_profile applies to every server: no \"servers\""}},
    {"{\"default_profile\": {\"colour\": 1}}", 2, {"unknown key \"colour\" in default_profile"}},
    /* Two default profiles can only be written as a duplicate key. */
    {"{\"default_profile\": {}, \"default_profile\": {}}",
     2,
     {"config @CFG:1:", "duplicate object key near '\"default_profile\"'"}},
    /* Paths in the config are relative to its directory; stores that do not
     * load are found while starting (exit 1). */
    {"{\"default_profile\": {\"key_store\": \"missing.pem\"}}",
     1,
     {"key store @missing.pem: cannot open @missing.pem"}},
    {"{\"default_profile\": {\"key_store\": \"garbage.pem\"}}",
     1,
     {"key store @garbage.pem: input is not PEM, DER"}},
    {"{\"default_profile\": {\"key_store\": \"server.pem\"}}",
     1,
     {"key store @server.pem: no private key entry"}},
    {"{\"ssl_profiles\": [{\"servers\": [\"a:1\"], \"trust_store\": \"missing.jks\"}]}",
     1,
     {"trust store @missing.jks: cannot open @missing.jks"}}, /* client mutual TLS: "listener" */
    {"{\"listener\": []}", 2, {"config: listener must be an object"}},
    {"{\"listener\": {\"colour\": 1}}", 2, {"unknown key \"colour\" in listener"}},
    {"{\"listener\": {\"verify_client\": \"maybe\"}}",
     2,
     {"listener.verify_client must be \"none\", \"optional\" or \"require\""}},
    {"{\"listener\": {\"verify_client\": 1}}", 2, {"listener.verify_client must be"}},
    {"{\"listener\": {\"verify_client\": \"Optional\"}}", 2, {"listener.verify_client must be"}},
    {"{\"listener\": {\"profile_reload_interval\": \"600\"}}",
     2,
     {"listener.profile_reload_interval must be an integer 1..31536000"}},
    {"{\"listener\": {\"profile_reload_interval\": 0}}",
     2,
     {"listener.profile_reload_interval must be an integer 1..31536000"}},
    {"{\"listener\": {\"profile_reload_interval\": 600.5}}",
     2,
     {"listener.profile_reload_interval must be an integer"}},
    {"{\"listener\": {\"truststore_reload_period\": 0}}",
     2,
     {"listener.truststore_reload_period must be an integer 1..31536000"}},
    {"{\"listener\": {\"truststore_reload_period\": 31536001}}",
     2,
     {"listener.truststore_reload_period must be an integer 1..31536000"}},
    {"{\"listener\": {\"truststore_initial_delay\": -1}}",
     2,
     {"listener.truststore_initial_delay must be an integer 0..31536000"}},
    {"{\"listener\": {\"truststore_initial_delay\": null}}",
     2,
     {"listener.truststore_initial_delay must be an integer 0..31536000"}},
    {"{\"listener\": {\"trust_store\": 5}}",
     2,
     {"listener.trust_store must be a non-empty string"}},
    {"{\"listener\": {\"trust_store\": \"\"}}", 2, {"listener.trust_store must be a non-empty"}},
    {"{\"listener\": {\"trust_store_password_file\": \"admin.password\"}}",
     2,
     {"config: listener.trust_store_password_file without trust_store"}},
    {"{\"listener\": {\"trust_store\": \"root.pem\", \"trust_store_password_file\": "
     "\"empty.password\"}}",
     2,
     {"config: listener.trust_store_password_file @empty.password: the first line is empty"}},
    {"{\"listener\": {\"certificate_match\": \"alias\"}}",
     2,
     {"listener.certificate_match must be \"serial_issuer\" or \"serial_subject\""}},
    {"{\"listener\": {\"chain_validation\": \"yes\"}}",
     2,
     {"listener.chain_validation must be true or false"}},
    {"{\"listener\": {\"chain_validation\": 1}}", 2, {"listener.chain_validation must be true"}},
    {"{\"listener\": {\"trust_store\": \"missing.pem\"}}",
     1,
     {"listener trust store @missing.pem: cannot open @missing.pem"}},
    {"{\"listener\": {\"trust_store\": \"garbage.pem\"}}",
     1,
     {"listener trust store @garbage.pem: input is not PEM, DER"}},
    /* load-balancer header mode: "mutual_ssl" */
    {"{\"mutual_ssl\": true}", 2, {"config: mutual_ssl must be an object"}},
    {"{\"mutual_ssl\": {\"colour\": 1}}", 2, {"unknown key \"colour\" in mutual_ssl"}},
    {"{\"mutual_ssl\": {\"certificate_header\": \"\"}}",
     2,
     {"mutual_ssl.certificate_header must be an HTTP header name"}},
    {"{\"mutual_ssl\": {\"certificate_header\": \"X Client Cert\"}}",
     2,
     {"mutual_ssl.certificate_header must be an HTTP header name"}},
    {"{\"mutual_ssl\": {\"certificate_header\": \"X-Cert:\"}}",
     2,
     {"mutual_ssl.certificate_header must be"}},
    {"{\"mutual_ssl\": {\"certificate_header\": 7}}", 2, {"mutual_ssl.certificate_header must be"}},
    {"{\"mutual_ssl\": {\"client_certificate_encode\": \"true\"}}",
     2,
     {"mutual_ssl.client_certificate_encode must be true or false"}},
    {"{\"mutual_ssl\": {\"enable_client_validation\": 0}}",
     2,
     {"mutual_ssl.enable_client_validation must be true or false"}},
    {"{\"mutual_ssl\": {\"forward_client_certificate_header\": \"false\"}}",
     2,
     {"mutual_ssl.forward_client_certificate_header must be true or false"}},
    {"{\"mutual_ssl\": {\"forward_client_certificate_header\": null}}",
     2,
     {"mutual_ssl.forward_client_certificate_header must be true or false"}},
    {"{\"mutual_ssl\": {\"forward_client_certificate_headers\": true}}",
     2,
     {"unknown key \"forward_client_certificate_headers\" in mutual_ssl"}},
    {"{\"mutual_ssl\": {\"trusted_load_balancers\": \"ab\"}}",
     2,
     {"mutual_ssl.trusted_load_balancers must be an array of SHA-256 fingerprints"}},
    {"{\"mutual_ssl\": {\"trusted_load_balancers\": [\"abc\"]}}",
     2,
     {"mutual_ssl.trusted_load_balancers[0] must be a SHA-256 fingerprint"}},
    {"{\"mutual_ssl\": {\"trusted_load_balancers\": "
     "[\"01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:"
     "CD:EF\", 5]}}",
     2,
     {"mutual_ssl.trusted_load_balancers[1] must be a SHA-256"}},
    {"{\"mutual_ssl\": {\"trusted_load_balancers\": "
     "[\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\", "
     "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefaa\"]}}",
     2,
     {"mutual_ssl.trusted_load_balancers[1] must be a SHA-256"}},
    {"{\"mutual_ssl\": {\"trusted_load_balancers\": "
     "[\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\"]}}",
     2,
     {"mutual_ssl.trusted_load_balancers[0] must be a SHA-256"}},
    /* "quirks" */
    {"{\"quirks\": \"deleted-alias-taken\"}",
     2,
     {"config: quirks must be an array of quirk names (see --rules)"}},
    {"{\"quirks\": [1]}", 2, {"config: quirks[0] must be a quirk name (see --rules)"}},
    {"{\"quirks\": [\"a\", \"a\", \"a\", \"a\", \"a\", \"a\", \"a\", \"a\", \"a\", \"a\", "
     "\"a\", \"a\", \"a\", \"a\", \"a\", \"a\", \"a\"]}",
     2,
     {"config: quirks: at most 16 quirks"}},
    {"{\"quirks\": [\"deleted-alias-taken\", \"nope\"]}",
     2,
     {"--quirk: \"nope\" is not one of: deleted-alias-taken"}},
    /* "throttling" */
    {"{\"throttling\": []}", 2, {"config: throttling must be an object"}},
    {"{\"throttling\": {\"colour\": 1}}", 2, {"unknown key \"colour\" in throttling"}},
    {"{\"throttling\": {\"per_certificate\": 1}}",
     2,
     {"throttling.per_certificate must be true or false"}},
    {"{\"throttling\": {\"tiers\": {}}}", 2, {"throttling.tiers must be an array"}},
    {"{\"throttling\": {\"tiers\": [1]}}", 2, {"throttling.tiers[0] must be an object"}},
    {"{\"throttling\": {\"tiers\": [{}]}}", 2, {"throttling.tiers[0].name is required"}},
    {"{\"throttling\": {\"tiers\": [{\"name\": \"\"}]}}",
     2,
     {"throttling.tiers[0].name must be a non-empty string"}},
    {"{\"throttling\": {\"tiers\": [{\"name\": \"x\"}]}}",
     2,
     {"throttling.tiers[0].requests is required (0: unlimited)"}},
    {"{\"throttling\": {\"tiers\": [{\"name\": \"x\", \"requests\": -1}]}}",
     2,
     {"throttling.tiers[0].requests must be an integer 0..2147483647"}},
    {"{\"throttling\": {\"tiers\": [{\"name\": \"x\", \"requests\": 1, \"window_seconds\": 0}]}}",
     2,
     {"throttling.tiers[0].window_seconds must be an integer 1..31536000"}},
    {"{\"throttling\": {\"tiers\": [{\"name\": \"x\", \"requests\": 1, \"colour\": 0}]}}",
     2,
     {"unknown key \"colour\" in throttling.tiers[0]"}},
    {"{\"throttling\": {\"tiers\": [{\"name\": \"x\", \"requests\": 1}, {\"name\": \"x\", "
     "\"requests\": 2}]}}",
     2,
     {"throttling.tiers[1].name \"x\" is already used by tiers[0]"}},
    {"{\"throttling\": {\"tiers\": [{\"name\": "
     "\"0123456789012345678901234567890123456789012345678901234567890123\", \"requests\": 1}]}}",
     2,
     {"throttling.tiers[0].name is longer than 63 bytes"}},
};

static void test_bad_command_lines(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++)
    expect_refusal(bad_lines[i].args, NULL, bad_lines[i].rc, bad_lines[i].says, 2);
}

/* A config with n entries: kind 1 n ssl_profiles, 0 n servers in one
 * profile, 2 n load-balancer fingerprints, 3 n throttling tiers. */
static char *generated_config(int profiles, size_t n) {
  if (profiles >= 2) {
    size_t cap = 64 + n * 96, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text + len, cap - len, "%s",
                            profiles == 2 ? "{\"mutual_ssl\": {\"trusted_load_balancers\": ["
                                          : "{\"throttling\": {\"tiers\": [");
    for (size_t i = 0; i < n; i++)
      len += (size_t)snprintf(text + len, cap - len,
                              profiles == 2 ? "%s\"%064zx\""
                                            : "%s{\"name\": \"t%zu\", \"requests\": 1}",
                              i ? ", " : "", i);
    snprintf(text + len, cap - len, "]}}");
    return text;
  }
  size_t cap = 64 + n * 48, len = 0;
  char *text = malloc(cap);
  assert_non_null(text);
  len += (size_t)snprintf(text + len, cap - len, "{\"ssl_profiles\": [%s",
                          profiles ? "" : "{\"servers\": [");
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(text + len, cap - len,
                            profiles ? "%s{\"servers\": [\"h%zu:1\"]}" : "%s\"h%zu:1\"",
                            i ? ", " : "", i);
  snprintf(text + len, cap - len, "%s]}", profiles ? "" : "]}");
  return text;
}

static void test_bad_configs(void **state) {
  (void)state;
  char cfg[BS_PATH_MAX], name[32];
  for (size_t i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]); i++) {
    snprintf(name, sizeof(name), "bad-%02zu.json", i);
    write_text(name, bad_configs[i].json, strlen(bad_configs[i].json));
    expect_refusal(BASE_ARGS "--config @CFG", bt_scratch(cfg, name), bad_configs[i].rc,
                   bad_configs[i].says, 2);
  }
  /* The limits: 16 servers per profile, 31 profiles besides the default. */
  const struct {
    int profiles;
    size_t n;
    const char *says;
  } limits[] = {
      {0, 17, "ssl_profiles[0].servers: more than 16 entries"},
      {1, 32, "more than 31 ssl_profiles"},
      {2, 17, "mutual_ssl.trusted_load_balancers: more than 16 entries"},
      {3, 33, "throttling.tiers: more than 32 entries"},
  };
  for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
    char *text = generated_config(limits[i].profiles, limits[i].n);
    snprintf(name, sizeof(name), "limit-%zu.json", i);
    write_text(name, text, strlen(text));
    free(text);
    const char *says[] = {limits[i].says};
    expect_refusal(BASE_ARGS "--config @CFG", bt_scratch(cfg, name), 2, says, 1);
  }
}

/* The long option names of options.c's long_options[] table, read from the
 * source; returns how many were found. */
static size_t option_table(char names[][32], size_t max) {
  const char *fixtures = getenv("GATECERT_FIXTURES");
  assert_non_null(fixtures);
  char path[BS_PATH_MAX];
  snprintf(path, sizeof(path), "%s/../simulator/options.c", fixtures);
  char *src = bs_slurp(path, NULL);
  assert_non_null(src);
  const char *p = strstr(src, "long_options[] = {");
  assert_non_null(p);
  const char *end = strstr(p, "{NULL, 0, NULL, 0}");
  assert_non_null(end);
  size_t n = 0;
  while ((p = strstr(p, "{\"")) != NULL && p < end) {
    p += 2;
    size_t len = strcspn(p, "\"");
    assert_true(n < max && len < 32);
    snprintf(names[n++], 32, "%.*s", (int)len, p);
  }
  free(src);
  return n;
}

static void test_help(void **state) {
  (void)state;
  const char *bin = getenv("GATECERT_SIM_BIN");
  assert_non_null(bin);
  char cmd[BS_PATH_MAX + 64];
  snprintf(cmd, sizeof(cmd), "'%s' --help 2>&1 </dev/null", bin);
  FILE *p = popen(cmd, "r"); // NOLINT(cert-env33-c): runs the program as a user would
  assert_non_null(p);
  static char out[16384];
  size_t len = fread(out, 1, sizeof(out) - 1, p);
  out[len] = '\0';
  int status = pclose(p);
  assert_true(WIFEXITED(status));
  assert_int_equal(0, WEXITSTATUS(status));
  assert_non_null(strstr(out, "usage: gatecert-sim --state DIR --admin-user USER"));
  char names[64][32];
  size_t n = option_table(names, 64);
  assert_true(n >= 15); /* the table as of this test; a parse that finds nothing fails */
  for (size_t i = 0; i < n; i++) {
    char line[48];
    snprintf(line, sizeof(line), "\n  --%s ", names[i]); /* its own line of explanation */
    if (!strstr(out, line))
      fail_msg("--help does not document --%s:\n%s", names[i], out);
  }
}

/* ---- honoured ------------------------------------------------------------------ */

static void start_sim(st_sim *sim, const char *name, const st_sim_opts *base) {
  char dir[BS_PATH_MAX];
  st_sim_opts opts = *base;
  opts.dir = bt_scratch(dir, name);
  st_check(st_sim_start(sim, &opts));
}

/* The reload interval and the fault format: default, raised, from the config,
 * the command line over the config. */
static void test_interval_and_format(void **state) {
  (void)state;
  static const char *const xml[] = {"--fault-format", "xml", NULL};
  static const char *const json[] = {"--fault-format", "json", NULL};
  static const char *const v26[] = {"--profile", "wso2-2.6", NULL};
  static const char *const v26_json[] = {"--profile", "wso2-2.6", "--fault-format", "json", NULL};
  static const char *const v4[] = {"--profile", "wso2", NULL};
  const struct {
    long reload_s;            /* 0: no flag */
    const char *const *extra; /* more flags */
    const char *config;
    long interval_s, asked_s;
    int warns;
    int xml_faults;
  } cases[] = {
      {0, NULL, NULL, 600, 600, 0, 0},
      {30, NULL, NULL, 60, 30, 1, 0},
      {1, xml, NULL, 60, 1, 1, 1},
      {60, NULL, NULL, 60, 60, 0, 0},
      {0, NULL, "{\"sender_reload_interval\": 120, \"fault_format\": \"xml\"}", 120, 120, 0, 1},
      {300, json, "{\"sender_reload_interval\": 120, \"fault_format\": \"xml\"}", 300, 300, 0, 0},
      {0, NULL, "{\"sender_reload_interval\": 45}", 60, 45, 1, 0},
      {90, NULL, "{\"sender_reload_interval\": 45}", 90, 90, 0, 0},
      {59, xml, "{\"fault_format\": \"json\"}", 60, 59, 1, 1},
      /* the profile's own format (rule fault.*) unless one is asked for */
      {0, v26, NULL, 600, 600, 0, 1},
      {0, v26_json, NULL, 600, 600, 0, 0},
      {0, v26, "{\"fault_format\": \"json\"}", 600, 600, 0, 0},
      {0, v4, NULL, 600, 600, 0, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char name[32], warn[128];
    snprintf(name, sizeof(name), "interval-%zu", i);
    st_sim sim;
    st_sim_opts opts = {
        .reload_s = cases[i].reload_s, .extra = cases[i].extra, .config_json = cases[i].config};
    start_sim(&sim, name, &opts);
    json_t *status = NULL;
    st_check(st_status(&sim, &status));
    json_int_t interval = json_integer_value(bs_json_at(status, "sender.interval_s"));
    json_int_t asked = json_integer_value(bs_json_at(status, "sender.interval_asked_s"));
    json_int_t started = json_integer_value(bs_json_at(status, "started_ms"));
    json_int_t next =
        json_integer_value(json_array_get(bs_json_at(status, "sender.next_ticks_ms"), 0));
    json_decref(status);
    if (interval != cases[i].interval_s || asked != cases[i].asked_s)
      fail_msg("case %zu: interval %lld (asked %lld), expected %ld (%ld)", i, (long long)interval,
               (long long)asked, cases[i].interval_s, cases[i].asked_s);
    assert_int_equal(started + cases[i].interval_s * 1000, next); /* ticks count from start */
    snprintf(warn, sizeof(warn),
             "WARN  sender reload interval %lds is below the minimum: using 60s", cases[i].asked_s);
    if (st_log_contains(&sim, warn) != cases[i].warns ||
        st_log_contains(&sim, "WARN ") != cases[i].warns)
      fail_msg("case %zu: expected %s WARN line \"%s\"", i, cases[i].warns ? "the" : "no", warn);
    bs_response res;
    st_check(st_call(&sim, "/no/such/api", &res));
    assert_int_equal(404, res.status);
    if ((strncmp(res.body, "<am:fault", 9) == 0) != cases[i].xml_faults ||
        (res.body[0] == '{') == cases[i].xml_faults)
      fail_msg("case %zu: expected a %s fault, got %s", i, cases[i].xml_faults ? "XML" : "JSON",
               res.body);
    bs_response_free(&res);
    st_check(st_sim_stop(&sim));
  }
}

/* The quirks turned on, from the command line and the config together, are
 * what /_sim/status lists (none by default), each with its issue. */
static void test_quirks_status(void **state) {
  (void)state;
  static const char *const one[] = {"--quirk", "deleted-alias-taken", NULL};
  static const char *const twice[] = {"--quirk", "deleted-alias-taken", "--quirk",
                                      "deleted-alias-taken", NULL};
  const struct {
    const char *const *extra;
    const char *config;
    const char *names; /* the status's quirk names, joined by ',' */
  } cases[] = {
      {NULL, NULL, ""},
      {one, NULL, "deleted-alias-taken"},
      {twice, NULL, "deleted-alias-taken"},
      {NULL, "{\"quirks\": [\"deleted-alias-taken\"]}", "deleted-alias-taken"},
      {one, "{\"quirks\": [\"deleted-alias-taken\"]}", "deleted-alias-taken"},
      {NULL, "{\"quirks\": []}", ""},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char name[32], names[256] = "";
    snprintf(name, sizeof(name), "quirks-%zu", i);
    st_sim sim;
    st_sim_opts opts = {.extra = cases[i].extra, .config_json = cases[i].config};
    start_sim(&sim, name, &opts);
    json_t *status = NULL;
    st_check(st_status(&sim, &status));
    json_t *list = json_object_get(status, "quirks");
    assert_true(json_is_array(list));
    size_t k;
    json_t *q;
    json_array_foreach(list, k, q) {
      size_t used = strlen(names);
      snprintf(names + used, sizeof(names) - used, "%s%s", k ? "," : "",
               json_string_value(json_object_get(q, "name")));
      assert_non_null(strchr(json_string_value(json_object_get(q, "issue")), '#'));
    }
    json_decref(status);
    if (strcmp(names, cases[i].names) != 0)
      fail_msg("case %zu: quirks \"%s\", expected \"%s\"", i, names, cases[i].names);
    st_check(st_sim_stop(&sim));
  }
}

/* The client mutual TLS keys: defaults, the 60 s minimum of the listener
 * profile interval (raised with a WARN line, like the sender's), the reloader
 * clock's first run, the listener trust store relative to the config file,
 * and config tiers usable by the admin API. */
static void test_listener_options(void **state) {
  (void)state;
  static const char *const raised =
      "{\"listener\": {\"verify_client\": \"require\", \"profile_reload_interval\": 30, "
      "\"truststore_reload_period\": 10, \"truststore_initial_delay\": 0, "
      "\"certificate_match\": \"serial_subject\", \"chain_validation\": true}}";
  const struct {
    const char *config;
    const char *verify, *match;
    int chain;
    long interval_s, asked_s, period_s, delay_s, first_reload_s;
    int warns;
  } cases[] = {
      {NULL, "optional", "serial_issuer", 0, 600, 600, 600, 60, 60, 0},
      {raised, "require", "serial_subject", 1, 60, 30, 10, 0, 10, 1},
      {"{\"listener\": {\"profile_reload_interval\": 60, \"truststore_reload_period\": 2, "
       "\"truststore_initial_delay\": 3600, \"verify_client\": \"none\"}}",
       "none", "serial_issuer", 0, 60, 60, 2, 3600, 3600, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char name[32];
    snprintf(name, sizeof(name), "listener-%zu", i);
    st_sim sim;
    st_sim_opts opts = {.config_json = cases[i].config};
    start_sim(&sim, name, &opts);
    json_t *status = NULL;
    st_check(st_status(&sim, &status));
    json_int_t started = json_integer_value(bs_json_at(status, "started_ms"));
    assert_string_equal(cases[i].verify, bs_json_str(status, "listener.verify_client"));
    assert_string_equal(cases[i].match, bs_json_str(status, "listener.certificate_match"));
    assert_int_equal(cases[i].chain, json_is_true(bs_json_at(status, "listener.chain_validation")));
    assert_int_equal(cases[i].interval_s,
                     json_integer_value(bs_json_at(status, "listener.profile.interval_s")));
    assert_int_equal(cases[i].asked_s,
                     json_integer_value(bs_json_at(status, "listener.profile.interval_asked_s")));
    assert_int_equal(started + cases[i].interval_s * 1000,
                     json_integer_value(
                         json_array_get(bs_json_at(status, "listener.profile.next_ticks_ms"), 0)));
    assert_int_equal(cases[i].period_s,
                     json_integer_value(bs_json_at(status, "listener.truststore.period_s")));
    assert_int_equal(cases[i].delay_s,
                     json_integer_value(bs_json_at(status, "listener.truststore.initial_delay_s")));
    assert_int_equal(started + cases[i].first_reload_s * 1000,
                     json_integer_value(json_array_get(
                         bs_json_at(status, "listener.truststore.next_ticks_ms"), 0)));
    assert_int_equal(1, json_integer_value(bs_json_at(status, "listener.profile.generation")));
    json_decref(status);
    char warn[128];
    snprintf(warn, sizeof(warn),
             "WARN  listener SSL profile reload interval %lds is below the minimum: using 60s",
             cases[i].asked_s);
    if (st_log_contains(&sim, warn) != cases[i].warns ||
        st_log_contains(&sim, "WARN ") != cases[i].warns)
      fail_msg("case %zu: expected %s WARN line \"%s\"", i, cases[i].warns ? "the" : "no", warn);
    st_check(st_sim_stop(&sim));
  }
  /* trust_store relative to the config (dir/config.json -> ../root.pem), the
   * other sections accepted, config tiers known to the admin API */
  st_sim sim;
  st_sim_opts opts = {
      .config_json =
          "{\"listener\": {\"trust_store\": \"../root.pem\", \"verify_client\": \"require\"},"
          " \"mutual_ssl\": {\"certificate_header\": \"X-SSL-Client-Cert\", "
          "\"client_certificate_encode\": false, \"enable_client_validation\": false, "
          "\"forward_client_certificate_header\": true, "
          "\"trusted_load_balancers\": [\"AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
          "01:23:45:67:89:AB:CD:EF:01:23:45:67:89\"]},"
          " \"throttling\": {\"per_certificate\": true, \"tiers\": [{\"name\": \"5PerMin\", "
          "\"requests\": 5, \"window_seconds\": 60}, {\"name\": \"Free\", \"requests\": 0}]}}"};
  start_sim(&sim, "listener-trust", &opts);
  char chain[BS_PATH_MAX], key[BS_PATH_MAX], untrusted[BS_PATH_MAX], untrusted_key[BS_PATH_MAX];
  const struct {
    const char *cert, *key;
    int ok;
  } clients[] = {
      {bt_scratch(chain, "client.chain.pem"), bt_scratch(key, "client.key"), 1},
      {bt_scratch(untrusted, "client-untrusted.chain.pem"),
       bt_scratch(untrusted_key, "client-untrusted.key"), 0},
      {NULL, NULL, 0}, /* require: no certificate, no handshake */
  };
  for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
    bs_request req = {.port = sim.https,
                      .path = "/x",
                      .insecure = 1,
                      .cert = clients[i].cert,
                      .key = clients[i].key};
    bs_response res;
    bs_http(&req, &res);
    if ((res.code == CURLE_OK) != clients[i].ok)
      fail_msg("client %zu: %s", i, res.code == CURLE_OK ? "completed" : res.error);
    bs_response_free(&res);
  }
  char id[64], path[256];
  assert_int_equal(201, st_create_api(&sim, "Tiers", "/tiers", "1.0", "https://localhost:1", id));
  snprintf(path, sizeof(path), ST_APIS "/%s/client-certificates", id);
  size_t len = 0;
  char *pem = bs_slurp(chain, &len);
  assert_non_null(pem);
  const struct {
    const char *alias, *tier;
    long status;
  } uploads[] = {/* WSO2 never validates a tier (rule client-tier.accepted): an unknown one
                  * is accepted and logged, which tells the configured tiers apart */
                 {"a", "5PerMin", 201},
                 {"b", "Free", 201},
                 {"c", "Gold", 201},
                 {"d", "6PerMin", 201}};
  for (size_t i = 0; i < sizeof(uploads) / sizeof(uploads[0]); i++) {
    st_part parts[] = {{"certificate", pem, len, "c.crt"},
                       {"alias", uploads[i].alias, strlen(uploads[i].alias), NULL},
                       {"tier", uploads[i].tier, strlen(uploads[i].tier), NULL}};
    st_reply r;
    st_check(st_multipart(&sim, "POST", path, parts, 3, &r));
    if (r.status != uploads[i].status)
      fail_msg("tier %s: %ld %s", uploads[i].tier, r.status, r.body);
    st_reply_free(&r);
  }
  free(pem);
  assert_true(st_log_contains(&sim, "tier \"6PerMin\" is no throttling policy"));
  assert_false(st_log_contains(&sim, "tier \"5PerMin\" is no throttling policy"));
  assert_false(st_log_contains(&sim, "tier \"Free\" is no throttling policy"));
  st_check(st_sim_stop(&sim));
}

static void expect_mode(const char *dir, const char *name, unsigned mode) {
  char path[BS_PATH_MAX];
  struct stat st;
  if (stat(bs_join(path, dir, name), &st) != 0)
    fail_msg("%s: missing", path);
  if ((st.st_mode & 07777) != mode)
    fail_msg("%s: mode %04o, expected %04o", path, (unsigned)(st.st_mode & 07777), mode);
}

/* 0700 and 0600 even when the umask would allow everything. */
static void test_state_modes(void **state) {
  (void)state;
  mode_t old = umask(0);
  st_sim sim;
  st_sim_opts opts = {0};
  start_sim(&sim, "modes", &opts);
  umask(old);
  assert_int_equal(201, st_create_api(&sim, "Modes", "/modes", "1.0", "https://localhost:1", NULL));
  char state_dir[BS_PATH_MAX];
  bs_join(state_dir, sim.dir, "state");
  expect_mode(sim.dir, "state", 0700);
  expect_mode(state_dir, "gatecert-sim.db", 0600);
  expect_mode(state_dir, "gatecert-sim.db-wal", 0600);
  expect_mode(state_dir, "gatecert-sim.db-shm", 0600);
  st_check(st_sim_stop(&sim));
}

static void cert_sha256(const char *file, char out[65]) {
  X509 *cert = bt_load_cert(file);
  bs_cert_sha256(cert, out);
  X509_free(cert);
}

/* The HTTPS listener presents --server-cert (leaf, then the rest as given),
 * or a self-signed localhost certificate made at start. */
static void test_server_identity(void **state) {
  (void)state;
  char chain[BS_PATH_MAX], key[BS_PATH_MAX], leaf_sha[65], intermediate_sha[65];
  cert_sha256("server.pem", leaf_sha);
  cert_sha256("intermediate.pem", intermediate_sha);
  const char *const given[] = {"--server-cert", bt_scratch(chain, "server.chain.pem"),
                               "--server-key", bt_scratch(key, "server.key"), NULL};
  for (int with = 0; with < 2; with++) {
    st_sim sim;
    st_sim_opts opts = {.extra = with ? given : NULL};
    start_sim(&sim, with ? "identity-given" : "identity-self", &opts);
    assert_int_equal(2, sim.proc->count); /* https and admin, no http */
    bs_probe_opts po = {.port = sim.https, .sni = "localhost"};
    bs_probe probe;
    bs_check(bs_tls_probe(&po, &probe) == 0);
    if (!probe.handshake_ok)
      fail_msg("handshake: %s", probe.error);
    if (with) {
      assert_int_equal(2, probe.chain_count);
      assert_string_equal(leaf_sha, probe.chain_sha256[0]);
      assert_string_equal(intermediate_sha, probe.chain_sha256[1]);
    } else {
      assert_int_equal(1, probe.chain_count);
      assert_string_not_equal(leaf_sha, probe.chain_sha256[0]);
      assert_non_null(strstr(probe.chain_subject[0], "CN=localhost"));
      assert_non_null(strstr(probe.chain_subject[0], "O=gatecert-sim"));
    }
    bs_probe_free(&probe);
    st_check(st_sim_stop(&sim));
  }
}

/* A plain HTTP GET. */
static void plain_get(int port, const char *path, bs_response *res) {
  bs_request req = {.port = port, .host = "127.0.0.1", .path = path, .plain = 1};
  if (bs_http(&req, res) != CURLE_OK)
    fail_msg("GET http://127.0.0.1:%d%s: %s", port, path, res->error);
}

/* --http (or "http_listener": true) adds http= to the READY line, and that
 * listener routes like the HTTPS one. */
static void test_http_listener(void **state) {
  (void)state;
  char root[BS_PATH_MAX], url[128];
  bs_process *backend = sw_backend("plain", "server", NULL, url);
  const char *const flag[] = {"--trust", bt_scratch(root, "root.pem"), "--http", NULL};
  const char *const trust[] = {"--trust", root, NULL};
  const struct {
    const char *const *extra;
    const char *config;
  } cases[] = {
      {flag, NULL},
      {trust, "{\"http_listener\": true}"},
      {flag, "{\"http_listener\": false}"}, /* the flag cannot be taken back */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char name[32];
    snprintf(name, sizeof(name), "http-%zu", i);
    st_sim sim;
    st_sim_opts opts = {.extra = cases[i].extra, .config_json = cases[i].config};
    start_sim(&sim, name, &opts);
    assert_int_equal(3, sim.proc->count);
    int http = bs_port(sim.proc, "http");
    assert_true(http > 0 && http != sim.https && http != sim.admin);
    assert_int_equal(201, st_create_api(&sim, "Plain", "/plain", "1.0", url, NULL));
    bs_response res;
    plain_get(http, "/plain/1.0/menaka", &res);
    assert_int_equal(200, res.status);
    assert_non_null(strstr(res.body, "Jersey say : menaka"));
    bs_response_free(&res);
    plain_get(http, "/other/1.0/menaka", &res);
    assert_int_equal(404, res.status);
    bs_response_free(&res);
    st_check(st_sim_stop(&sim));
  }
  bs_check(bs_stop(backend) == 0);
  /* Without either, no plain listener. */
  st_sim sim;
  st_sim_opts opts = {.extra = trust, .config_json = "{\"http_listener\": false}"};
  start_sim(&sim, "http-off", &opts);
  assert_int_equal(-1, bs_port(sim.proc, "http"));
  st_check(st_sim_stop(&sim));
}

static int file_contains(const char *path, const char *needle) {
  char *text = bs_slurp(path, NULL);
  assert_non_null(text);
  int found = strstr(text, needle) != NULL;
  free(text);
  return found;
}

/* The admin password is in no log line and not on stdout, whatever the
 * admin calls did; a trailing newline in the file is not part of it. */
static void test_password_not_logged(void **state) {
  (void)state;
  char log_file[BS_PATH_MAX];
  const char *const to_file[] = {"--log", bt_scratch(log_file, "sim.log"), NULL};
  unlink(log_file);
  static const char garbage[] = "not a certificate";
  static const struct {
    const char *userpwd;
    long status;
  } calls[] = {
      {ST_USER ":" ST_PASSWORD, 200},
      {ST_USER ":wrong", 401},
      {ST_USER ":" ST_PASSWORD "\n", 401},
      {ST_PASSWORD ":" ST_PASSWORD, 401},
      {NULL, 401},
  };
  for (int with_file = 0; with_file < 2; with_file++) {
    st_sim sim;
    st_sim_opts opts = {.extra = with_file ? to_file : NULL};
    start_sim(&sim, with_file ? "secret-file" : "secret", &opts);
    char err_path[BS_PATH_MAX];
    snprintf(err_path, sizeof(err_path), "%s", sim.proc->stderr_path);
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
      st_reply r;
      st_check(st_admin_raw(&sim, "GET", "/_sim/status", calls[i].userpwd, NULL, NULL, 0, &r));
      if (r.status != calls[i].status)
        fail_msg("call %zu: %ld, expected %ld", i, r.status, calls[i].status);
      st_reply_free(&r);
    }
    st_part parts[] = {{"certificate", garbage, sizeof(garbage) - 1, "x.crt"},
                       {"alias", "x", 1, NULL},
                       {"endpoint", "https://localhost:1", 19, NULL}};
    st_reply r;
    st_check(st_multipart(&sim, "POST", ST_CERTS, parts, 3, &r));
    assert_int_equal(500, r.status);
    st_reply_free(&r);
    assert_int_equal(201,
                     st_create_api(&sim, "Secret", "/secret", "1.0", "https://localhost:1", NULL));
    bs_read_more(sim.proc, 50, 500);
    assert_null(strstr(sim.proc->more, ST_PASSWORD));
    assert_null(strstr(sim.proc->more, ST_USER ":"));
    st_check(st_sim_stop(&sim)); /* the shutdown lines too */
    const char *log = with_file ? log_file : err_path;
    assert_true(file_contains(log, "api Secret:1.0 created")); /* the right file */
    assert_true(file_contains(log, "signal 15: stopping"));
    assert_false(file_contains(log, ST_PASSWORD));
    assert_false(file_contains(err_path, ST_PASSWORD));
  }
}

/* One simulator per state directory: a second on it is refused naming the
 * first one's pid; after a SIGKILL of the first (the kernel drops its lock)
 * the same directory starts, its store kept. A store truncated to 0 bytes
 * is refused; --fresh-store starts on it with an empty store and says so. */
static void test_state_lock_and_fresh_store(void **state) {
  (void)state;
  st_sim sim;
  st_sim_opts opts = {0};
  start_sim(&sim, "locked", &opts);
  assert_int_equal(201, st_create_api(&sim, "Kept", "/kept", "1.0", "https://localhost:1", NULL));
  const char *args = "--state @locked/state --admin-user admin --admin-password-file "
                     "@admin.password";
  char holder[96];
  snprintf(holder, sizeof(holder), "in use by another gatecert-sim, pid %ld", (long)sim.proc->pid);
  const char *in_use[] = {holder, "stop it first or give this one its own --state"};
  expect_refusal(args, NULL, 1, in_use, 2);

  st_check(st_sim_kill(&sim));
  st_check(st_sim_restart(&sim)); /* the lock went with the killed process */
  st_reply reply = {0};
  st_check(st_admin(&sim, "GET", ST_APIS, NULL, &reply));
  assert_int_equal(200, reply.status);
  assert_non_null(strstr(reply.body, "\"Kept\""));
  st_reply_free(&reply);
  st_check(st_sim_stop(&sim));

  char db[BS_PATH_MAX], state_dir[BS_PATH_MAX];
  bs_join(state_dir, sim.dir, "state");
  assert_int_equal(0, truncate(bs_join(db, state_dir, "gatecert-sim.db"), 0));
  const char *truncated[] = {"gatecert-sim.db is empty (0 bytes)",
                             "Nothing was changed; to start with an empty store instead, run "
                             "with --fresh-store"};
  expect_refusal(args, NULL, 1, truncated, 2);
  struct stat st;
  assert_int_equal(0, stat(db, &st));
  assert_int_equal(0, (int)st.st_size); /* refused untouched */

  static const char *const fresh[] = {"--fresh-store", NULL};
  sim.opts.extra = fresh;
  st_check(st_sim_restart(&sim));
  st_check(st_admin(&sim, "GET", ST_APIS, NULL, &reply));
  assert_int_equal(200, reply.status);
  assert_null(strstr(reply.body, "\"Kept\""));
  st_reply_free(&reply);
  assert_true(file_contains(sim.proc->stderr_path,
                            "(a file of 0 bytes before) replaced by an empty store"));
  st_check(st_sim_stop(&sim));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_bad_command_lines, bs_teardown),
      cmocka_unit_test_teardown(test_bad_configs, bs_teardown),
      cmocka_unit_test_teardown(test_help, bs_teardown),
      cmocka_unit_test_teardown(test_interval_and_format, bs_teardown),
      cmocka_unit_test_teardown(test_quirks_status, bs_teardown),
      cmocka_unit_test_teardown(test_listener_options, bs_teardown),
      cmocka_unit_test_teardown(test_state_modes, bs_teardown),
      cmocka_unit_test_teardown(test_state_lock_and_fresh_store, bs_teardown),
      cmocka_unit_test_teardown(test_server_identity, bs_teardown),
      cmocka_unit_test_teardown(test_http_listener, bs_teardown),
      cmocka_unit_test_teardown(test_password_not_logged, bs_teardown),
  };
  return bt_run_curl_tests(tests, setup, NULL);
}
