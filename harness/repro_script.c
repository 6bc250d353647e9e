/* repro_script.c - the script of one case, for `gatecert repro` (repro.c
 * reads the command line and finds the case; repro.h says what the script
 * does).
 *
 * The script is written in order: a header (the case, where it comes from),
 * the settings (programs, profile, epoch; edit to taste), the fixed part
 * (harness/repro-prelude.sh, embedded at build time as gh_repro_prelude:
 * checks, helpers, the work directory and the fake clock), then the case:
 * the PKI (`gatecert certs issue --at`), the backends, the gateway (its
 * --config JSON from simconfig.c, the sim driver's own writer), the key
 * manager, the APIs, one block per step, and report_result. Under the sap
 * profiles an endpoint certificate step calls the prelude's sap_upload,
 * sap_replace or sap_delete (SAP's OData service, as the sim driver drives
 * it) instead of the Publisher paths.
 *
 * A cluster case (gateway.nodes) starts one gatecert-sim per node on one
 * --state (start_node, use_node in the prelude), node K once the clock is at
 * its start offset; every call and admin step addresses its node by number
 * (the balancer's choice is written out as the runner's round-robin counter
 * makes it), and a sweep is a loop over its times with check_flap.
 *
 * Every value taken from a scenario or the command line is single-quoted in
 * the script (or JSON-escaped, then single-quoted) and comments are stripped
 * of control characters, so names and paths may hold spaces, quotes or
 * newlines; the header's "made by" command is util's gu_shell_command, as
 * every command gatecert prints for a user to paste. Shell variables inside a word are marked \x01NAME\x02 in the text
 * that is being built (sb_var) and written as "${NAME}" next to the quoted
 * literal runs (put_word).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "driver.h"
#include "gutil.h"
#include "pki.h"
#include "repro-prelude.h" /* gh_repro_prelude: repro-prelude.sh, embedded at build time */
#include "profile.h"
#include "repro_script.h"
#include "scenario.h"
#include "simconfig.h"

#ifndef GATECERT_VERSION
#define GATECERT_VERSION "0.1.0"
#endif

#define MAX_BACKENDS  16
#define OVERSIZE      (11L * 1024 * 1024) /* as harness/pki.c's "oversize" upload */
#define WITHIN_PASSES 3

typedef gh_repro_options options;
typedef gh_repro_bins bins;

/* ---- text (util's gu_text) ------------------------------------------------------ */

typedef gu_text sbuf;

static void sb_puts(sbuf *b, const char *s) { gu_text_add(b, s, strlen(s)); }

/* Text for a comment or a message: control characters become '?'. */
static void sb_text(sbuf *b, const char *s) {
  for (; s && *s; s++) {
    char c = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
    gu_text_add(b, &c, 1);
  }
}

/* The inside of a JSON string literal (no quotes). */
static void sb_json_inner(sbuf *b, const char *s) {
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      char esc[2] = {'\\', (char)c};
      gu_text_add(b, esc, 2);
    } else if (c < 0x20 || c == 0x7f)
      gu_text_printf(b, "\\u%04x", c);
    else
      gu_text_add(b, &c, 1);
  }
}

/* A JSON string literal, quotes included. */
static void sb_json(sbuf *b, const char *s) {
  sb_puts(b, "\"");
  sb_json_inner(b, s);
  sb_puts(b, "\"");
}

/* A reference to a shell variable inside a word: see put_word. */
static void sb_var(sbuf *b, const char *var) {
  sb_puts(b, "\x01");
  sb_puts(b, var);
  sb_puts(b, "\x02");
}

static const char *sb_str(const sbuf *b) { return b->data ? b->data : ""; }

/* ---- shell output -------------------------------------------------------------- */

/* Characters a word may hold unquoted without the shell changing it. */
static int plain(const char *s, size_t n) {
  if (n == 0 || s[0] == '=')
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          strchr("_./:=@%+,-", c)))
      return 0;
  }
  return 1;
}

/* One literal as a shell word: bare when safe, else in single quotes
 * (a ' inside becomes '\''). */
static void put_sq_n(FILE *o, const char *s, size_t n) {
  if (plain(s, n)) {
    fwrite(s, 1, n, o);
    return;
  }
  fputc('\'', o);
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\'')
      fputs("'\\''", o);
    else
      fputc(s[i], o);
  }
  fputc('\'', o);
}

static void put_sq(FILE *o, const char *s) { put_sq_n(o, s, strlen(s)); }

/* One word from a marked string: literal runs single-quoted, \x01VAR\x02
 * runs as "${VAR}", all adjacent so the shell reads one word. */
static void put_word(FILE *o, const char *marked) {
  if (!*marked) {
    fputs("''", o);
    return;
  }
  while (*marked) {
    const char *mark = strchr(marked, '\x01');
    size_t n = mark ? (size_t)(mark - marked) : strlen(marked);
    if (n > 0)
      put_sq_n(o, marked, n);
    if (!mark)
      break;
    const char *end = strchr(mark, '\x02');
    if (!end)
      break; /* never: sb_var always closes */
    fprintf(o, "\"${%.*s}\"", (int)(end - mark - 1), mark + 1);
    marked = end + 1;
  }
}

static void put_comment(FILE *o, const char *s) {
  sbuf b = {0};
  sb_text(&b, s);
  fputs(sb_str(&b), o);
  gu_text_free(&b);
}

/* ---- the case -------------------------------------------------------------------- */

typedef struct gen {
  FILE *o;
  const gh_case_spec *c;
  const char *profile;
  const options *opt;
  const bins *bin;
  int cluster;        /* gateway.nodes: one gatecert-sim per node (start_node, use_node) */
  unsigned long turn; /* the balancer's counter, as the runner's at this point */
  char why[512];      /* what went wrong, when generate() returns -1 */
} gen;

static size_t pki_index(const gh_case_spec *c, const char *name) {
  for (size_t i = 0; name && i < c->pki_count; i++)
    if (strcmp(c->pki[i].name, name) == 0)
      return i;
  return c->pki_count;
}

/* pki/<name><suffix> as one word. */
static void put_pki(FILE *o, const char *name, const char *suffix) {
  sbuf b = {0};
  gu_text_printf(&b, "pki/%.*s%s", GH_NAME_MAX, name, suffix);
  put_sq(o, sb_str(&b));
  gu_text_free(&b);
}

/* An entry's certificate then its issuers, without the self-signed root (as
 * harness/pki.c's <name>.chain.pem), as pki/<x>.pem words. */
static void put_chain(gen *g, const char *name) {
  const gh_case_spec *c = g->c;
  size_t i = pki_index(c, name);
  for (size_t k = i, hops = 0; k < c->pki_count && hops <= c->pki_count; hops++) {
    int self_signed = c->pki[k].issuer == NULL;
    if (k != i && self_signed)
      break;
    fputc(' ', g->o);
    put_pki(g->o, c->pki[k].name, ".pem");
    if (self_signed)
      break;
    k = pki_index(c, c->pki[k].issuer);
  }
}

static const char *kind_name(gh_pki_kind kind) {
  return kind == GH_PKI_CA ? "ca" : kind == GH_PKI_CLIENT ? "client" : "server";
}

static const char *eku_name(gh_eku eku) {
  switch (eku) {
  case GH_EKU_NONE:
    return "none";
  case GH_EKU_SERVER:
    return "server";
  case GH_EKU_CLIENT:
    return "client";
  case GH_EKU_BOTH:
    return "both";
  default:
    return NULL;
  }
}

/* The header's "made by" line: the command that prints this script again, on
 * one comment line (util's gu_shell_command: every word quoted, a name with
 * control characters rebuilt by printf on the same line), the case by its
 * exact name after "--" (a name may start with '-'). */
static void put_made_by(gen *g) {
  const char *argv[8 + 2 * GH_REPRO_MAX_SIM_ARGS];
  size_t n = 0;
  argv[n++] = "gatecert";
  argv[n++] = "repro";
  argv[n++] = "--profile";
  argv[n++] = g->profile;
  argv[n++] = "--scenarios";
  argv[n++] = g->bin->scenarios;
  for (size_t i = 0; i < g->opt->sim_arg_count; i++) {
    argv[n++] = "--sim-arg";
    argv[n++] = g->opt->sim_args[i];
  }
  argv[n++] = "--";
  argv[n++] = g->c->name;
  argv[n] = NULL;
  sbuf line = {0};
  gu_shell_command(&line, argv);
  fputs("#   made by:  ", g->o);
  fputs(line.failed ? "(out of memory)" : sb_str(&line), g->o);
  fputs("\n#             (gatecert " GATECERT_VERSION ")\n", g->o);
  gu_text_free(&line);
}

static void put_header(gen *g) {
  FILE *o = g->o;
  const gh_case_spec *c = g->c;
  fputs("#!/usr/bin/env bash\n# Reproduces one gatecert scenario case, without the harness.\n#\n",
        o);
  fputs("#   case:     ", o);
  put_comment(o, c->name);
  fputs("\n#   scenario: ", o);
  put_comment(o, c->file);
  fputs("\n#   features:", o);
  for (size_t i = 0; i < c->feature_count; i++) {
    fputc(' ', o);
    put_comment(o, c->features[i]);
  }
  if (c->need_count > 0) {
    fputs("\n#   needs:   ", o);
    for (size_t i = 0; i < c->need_count; i++) {
      fputc(' ', o);
      put_comment(o, c->needs[i]);
    }
  }
  if (c->gateway.quirk_count > 0) { /* reported bugs turned on (gatecert-sim --quirk) */
    fputs("\n#   quirks:  ", o);
    for (size_t i = 0; i < c->gateway.quirk_count; i++) {
      fputc(' ', o);
      put_comment(o, c->gateway.quirks[i]);
    }
  }
  for (size_t i = 0; i < c->ref_count; i++) {
    fputs("\n#   ref:      ", o);
    put_comment(o, c->refs[i]);
  }
  fputs("\n#   profile:  ", o);
  put_comment(o, g->profile);
  fputs(" (the expectations below are this profile's)\n", o);
  put_made_by(g);
  static const char text[] =
      "#\n"
      "# It does what `gatecert run` does for this case: certificates dated from the\n"
      "# case's fake epoch, gatecert-backend and gatecert-sim on a libfaketime clock read\n"
      "# from one timestamp file, the APIs, then one block per step. Each block says\n"
      "# which line of the scenario it is and what is expected, runs the command, and\n"
      "# prints what came back next to what was expected; a MISMATCH line marks each\n"
      "# expectation that did not hold. Exit status: 0 all held, 1 a mismatch, 3 the\n"
      "# set-up failed. Every process started here is stopped by pid on exit.\n"
      "#\n"
      "#   STEP=1 bash THIS      wait for Enter before each step (poke the gateway meanwhile:\n"
      "#                         curl -K WORK/admin.curlrc ADMIN/_sim/status)\n"
      "#   KEEP_WORK=1 bash THIS keep the work directory (certificates, logs, reports)\n"
      "\n";
  fputs(text, o);
}

static void put_settings(gen *g) {
  FILE *o = g->o;
  fputs("# ---- programs and settings (edit to taste) ------------------------------------\n", o);
  fputs("GATECERT=", o);
  put_sq(o, g->bin->gatecert);
  fputs("  # `certs issue/convert`: certificates dated from the fake epoch\nSIM_BIN=", o);
  put_sq(o, g->bin->sim);
  fputs("\nBACKEND_BIN=", o);
  put_sq(o, g->bin->backend);
  fputs("\nFAKETIME_LIB=", o);
  put_sq(o, g->bin->faketime);
  fputs("\nPROFILE=", o);
  put_sq(o, g->profile);
  fputs("  # gatecert-sim's profile (the expectations were written for this one)\n", o);
  fprintf(o, "EPOCH_S=%lld  # the case's fake epoch, ", (long long)g->c->epoch_s);
  put_comment(o, g->c->epoch);
  fputs("\nSIM_EXTRA_ARGS=(", o);
  for (size_t i = 0; i < g->opt->sim_arg_count; i++) {
    if (i > 0)
      fputc(' ', o);
    put_sq(o, g->opt->sim_args[i]);
  }
  fputs(")\n", o);
}

static void put_pki_section(gen *g) {
  FILE *o = g->o;
  const gh_case_spec *c = g->c;
  fputs("# ---- PKI, dated from the fake epoch ----------------------------------------------\n"
        "# `gatecert certs issue --at` makes every certificate: openssl 3.0's req -x509 and\n"
        "# x509 -req date certificates from the real now (-days), with no -not_before/\n"
        "# -not_after yet. openssl is used below only to re-encode certificates.\n",
        o);
  for (size_t i = 0; i < c->pki_count; i++) {
    const gh_pki_spec *p = &c->pki[i];
    fputs("\"$GATECERT\" certs issue --out ", o);
    put_pki(o, p->name, "");
    fprintf(o, " --at \"@$EPOCH_S\" --kind %s", kind_name(p->kind));
    if (p->issuer) {
      fputs(" --issuer ", o);
      put_pki(o, p->issuer, "");
    }
    sbuf subject = {0};
    if (p->subject)
      sb_puts(&subject, p->subject);
    else
      gu_text_printf(&subject, "CN=%.*s,O=gatecert scenario", GH_NAME_MAX, p->name);
    fputs(" \\\n  --subject ", o);
    put_sq(o, sb_str(&subject));
    gu_text_free(&subject);
    for (size_t k = 0; k < p->san_count; k++) {
      unsigned char tmp[16];
      int is_ip =
          inet_pton(AF_INET, p->san[k], tmp) == 1 || inet_pton(AF_INET6, p->san[k], tmp) == 1;
      fputs(is_ip ? " --ip " : " --dns ", o);
      put_sq(o, p->san[k]);
    }
    fprintf(o, " --not-before=%llds --not-after=%llds", (long long)(p->not_before_ms / 1000),
            (long long)(p->not_after_ms / 1000));
    if (eku_name(p->eku))
      fprintf(o, " --eku %s", eku_name(p->eku));
    if (p->key != GH_KEY_EC)
      fprintf(o, " --key %s", p->key == GH_KEY_RSA2048 ? "rsa2048" : "rsa3072");
    fputs(" >/dev/null\n", o);
  }
  fputs("\n", o);
}

/* cat of pki names into one PEM file. */
static void put_bundle(FILE *o, char *const *names, size_t count, const char *file,
                       const char *why) {
  fputs("cat", o);
  for (size_t i = 0; i < count; i++) {
    fputc(' ', o);
    put_pki(o, names[i], ".pem");
  }
  fputs(" >", o);
  put_sq(o, file);
  fprintf(o, "  # %s\n", why);
}

static int put_backends(gen *g) {
  FILE *o = g->o;
  const gh_case_spec *c = g->c;
  if (c->backend_count == 0)
    return 0;
  if (c->backend_count > MAX_BACKENDS)
    return gu_fail(g->why, sizeof(g->why), "%s: more than %d backends", c->name, MAX_BACKENDS);
  fputs("# ---- backends: gatecert-backend on the fake clock ---------------------------------\n",
        o);
  for (size_t i = 0; i < c->backend_count; i++) {
    const gh_backend_spec *b = &c->backends[i];
    sbuf file = {0};
    if (b->cert) {
      char *names[17];
      size_t count = 0;
      names[count++] = b->cert;
      for (size_t k = 0; k < b->chain_count && count < 17; k++)
        names[count++] = b->chain[k];
      gu_text_printf(&file, "backend-%.*s.pem", GH_NAME_MAX, b->name);
      put_bundle(o, names, count, sb_str(&file), "what it sends: the leaf, then the chain");
      gu_text_free(&file);
    }
    if (b->client_ca_count > 0) {
      gu_text_printf(&file, "backend-%.*s-client-ca.pem", GH_NAME_MAX, b->name);
      put_bundle(o, b->client_ca, b->client_ca_count, sb_str(&file),
                 "the CAs it accepts client certificates from");
      gu_text_free(&file);
    }
  }
  fputs("start_faked gatecert-backend \"$WORK/backends.out\" \"$WORK/backends.log\" "
        "\"$BACKEND_BIN\" \\\n  --report-dir backends",
        o);
  for (size_t i = 0; i < c->backend_count; i++) {
    const gh_backend_spec *b = &c->backends[i];
    sbuf spec = {0};
    gu_text_printf(&spec, "%.*s:fault=%s", GH_NAME_MAX, b->name, b->fault ? b->fault : "none");
    if (b->cert)
      gu_text_printf(&spec, ",cert=backend-%.*s.pem,key=pki/%.*s.key", GH_NAME_MAX, b->name,
                     GH_NAME_MAX, b->cert);
    if (b->client_ca_count > 0)
      gu_text_printf(&spec, ",client-ca=backend-%.*s-client-ca.pem", GH_NAME_MAX, b->name);
    sb_puts(&spec, ",client-auth=");
    sb_puts(&spec, b->client_auth ? b->client_auth : "none");
    sb_puts(&spec, ",tls=");
    sb_puts(&spec, b->tls ? b->tls : "any");
    gu_text_printf(&spec, ",sessions=%s,delay-ms=%lld", b->sessions ? "on" : "off",
                   (long long)b->delay_ms);
    fputs(" \\\n  --backend ", o);
    put_sq(o, sb_str(&spec));
    int bad = spec.failed;
    gu_text_free(&spec);
    if (bad)
      return gu_fail(g->why, sizeof(g->why), "out of memory");
  }
  fputs("\nread_backend_ports\n\n", o);
  return 0;
}

/* ---- the gateway ------------------------------------------------------------------- */

static int backend_declared(const gh_case_spec *c, const char *name) {
  return name && gh_case_backend(c, name) != NULL;
}

/* "PORT[name]" for sb_var. */
static void port_var(sbuf *b, const char *backend) {
  sbuf v = {0};
  gu_text_printf(&v, "PORT[%.*s]", GH_NAME_MAX, backend);
  sb_var(b, sb_str(&v));
  if (v.failed)
    b->failed = 1;
  gu_text_free(&v);
}

/* The files an SSL profile names, made by the script (trust bundle, key
 * store: chain + key), in the config's form: relative to the work directory. */
typedef struct profile_files {
  char trust[64];
  char key[GH_NAME_MAX + 32];
} profile_files;

static void put_profile_files(gen *g, const gh_profile_spec *p, size_t index, profile_files *f) {
  FILE *o = g->o;
  f->trust[0] = f->key[0] = '\0';
  if (p->trust_count > 0) {
    snprintf(f->trust, sizeof(f->trust), "profile-%zu-trust.pem", index);
    put_bundle(o, p->trust, p->trust_count, f->trust, "an SSL profile's own trust store");
  }
  if (p->key && strcmp(p->key, "none") != 0) {
    snprintf(f->key, sizeof(f->key), "pki/%.*s.identity.pem", GH_NAME_MAX, p->key);
    fputs("cat", o);
    put_chain(g, p->key);
    fputc(' ', o);
    put_pki(o, p->key, ".key");
    fputs(" >", o);
    put_sq(o, f->key);
    fputs("  # a key store: chain + key\n", o);
  }
}

static gh_driver_profile driver_profile(const gh_profile_spec *p, const profile_files *f) {
  return (gh_driver_profile){.host = p->host ? p->host : "localhost",
                             .port = 0,
                             .trust_pem = f->trust[0] ? f->trust : NULL,
                             .key_pem = p->key && strcmp(p->key, "none") == 0 ? "none"
                                        : f->key[0]                           ? f->key
                                                                              : NULL,
                             .verifier = p->hostname_verifier};
}

/* What only the running script knows, in the config: a profile's backend
 * port (PORT[name]) and a trusted load balancer's SHA-256 (LB_SHA_<i>). The
 * JSON is written with a token in their place ("@gcv<k>.<n>@", k chosen so
 * that the tokens are the only occurrences), then each token becomes a
 * reference to the variable in the shell word (sb_var). */
#define MAX_VARS (GH_MAX_PROFILES + GH_MAX_LB)

typedef struct config_vars {
  char name[MAX_VARS][GH_NAME_MAX + 16];
  size_t count;
} config_vars;

static void token(char *out, size_t len, unsigned k, size_t n) {
  snprintf(out, len, "@gcv%u.%zu@", k, n);
}

/* The config's compact JSON with the tokens of round k, or NULL. */
static char *config_text(const gh_case_spec *c, gh_gateway_config *cfg, const config_vars *vars,
                         unsigned k) {
  const gh_gateway_spec *gw = &c->gateway;
  char tok[32];
  size_t n = 0;
  for (size_t i = 0; i < gw->profile_count; i++)
    n += backend_declared(c, gw->profiles[i].backend);
  for (size_t i = 0; i < cfg->trusted_lb_count; i++) /* after the ports */
    token(cfg->trusted_lb_sha256[i], sizeof(cfg->trusted_lb_sha256[i]), k, n + i);
  json_t *root = gh_simconfig_json(cfg, 0);
  json_t *profiles = json_object_get(root, "ssl_profiles");
  n = 0;
  for (size_t i = 0; i < gw->profile_count; i++) {
    if (!backend_declared(c, gw->profiles[i].backend))
      continue;
    gu_text server = {0};
    token(tok, sizeof(tok), k, n++);
    gu_text_printf(&server, "%s:%s", cfg->profiles[i].host, tok);
    json_object_set_new(json_array_get(profiles, i), "servers",
                        json_pack("[s]", server.data ? server.data : ""));
    gu_text_free(&server);
  }
  char *text =
      root && n + cfg->trusted_lb_count == vars->count ? json_dumps(root, JSON_COMPACT) : NULL;
  json_decref(root);
  return text;
}

/* text with each token of round k as sb_var(vars[n]), into out; -1 when the
 * text holds the round's prefix anywhere else (a scenario string). */
static int mark_vars(const char *text, unsigned k, const config_vars *vars, sbuf *out) {
  char prefix[32];
  snprintf(prefix, sizeof(prefix), "@gcv%u.", k);
  size_t seen = 0;
  for (const char *p = text; *p;) {
    const char *at = strstr(p, prefix);
    if (!at) {
      sb_puts(out, p);
      break;
    }
    gu_text_add(out, p, (size_t)(at - p));
    char *end = NULL;
    unsigned long n = strtoul(at + strlen(prefix), &end, 10);
    char tok[32];
    token(tok, sizeof(tok), k, (size_t)n);
    if (n >= vars->count || strncmp(at, tok, strlen(tok)) != 0)
      return -1;
    sb_var(out, vars->name[n]);
    seen++;
    p = at + strlen(tok);
  }
  return seen == vars->count ? 0 : -1;
}

/* The sim's --config JSON as the sim driver writes it (simconfig.c), as one
 * shell word into json; the files it names are made first. */
static int sim_config_word(gen *g, sbuf *json) {
  const gh_case_spec *c = g->c;
  const gh_gateway_spec *gw = &c->gateway;
  if (gw->profile_count > GH_MAX_PROFILES)
    return gu_fail(g->why, sizeof(g->why), "%s: more than %d ssl_profiles", c->name,
                   GH_MAX_PROFILES);
  if (gw->trusted_load_balancer_count > GH_MAX_LB || gw->tier_count > GH_MAX_DRIVER_TIERS)
    return gu_fail(g->why, sizeof(g->why), "%s: too many load balancers or tiers", c->name);
  gh_gateway_config *cfg = calloc(1, sizeof(*cfg));
  profile_files *files = calloc(GH_MAX_PROFILES + 1, sizeof(*files));
  config_vars *vars = calloc(1, sizeof(*vars));
  if (!cfg || !files || !vars) {
    free(cfg);
    free(files);
    free(vars);
    return gu_fail(g->why, sizeof(g->why), "out of memory");
  }
  gh_simconfig_from_spec(cfg, gw);
  for (size_t i = 0; i < gw->profile_count; i++) {
    put_profile_files(g, &gw->profiles[i], i, &files[i]);
    cfg->profiles[cfg->profile_count++] = driver_profile(&gw->profiles[i], &files[i]);
    if (backend_declared(c, gw->profiles[i].backend))
      snprintf(vars->name[vars->count++], sizeof(vars->name[0]), "PORT[%.*s]", GH_NAME_MAX,
               gw->profiles[i].backend);
  }
  if (gw->has_default_profile) {
    put_profile_files(g, &gw->default_profile, gw->profile_count, &files[gw->profile_count]);
    cfg->has_default_profile = 1;
    cfg->default_profile = driver_profile(&gw->default_profile, &files[gw->profile_count]);
  }
  for (size_t i = 0; i < gw->trusted_load_balancer_count; i++) {
    fprintf(g->o, "LB_SHA_%zu=$(cert_sha256 ", i);
    put_pki(g->o, gw->trusted_load_balancers[i], ".pem");
    fputs(")  # a trusted load balancer's certificate\n", g->o);
    snprintf(vars->name[vars->count++], sizeof(vars->name[0]), "LB_SHA_%zu", i);
  }
  cfg->trusted_lb_count = gw->trusted_load_balancer_count;
  for (size_t i = 0; i < gw->tier_count; i++)
    cfg->tiers[i] = (gh_driver_tier){.name = gw->tiers[i].name,
                                     .requests = gw->tiers[i].requests,
                                     .window_s = gw->tiers[i].window_ms / 1000};
  cfg->tier_count = gw->tier_count;
  int rc = -1;
  for (unsigned k = 0; k < 1000 && rc != 0; k++) {
    char *text = config_text(c, cfg, vars, k);
    if (!text)
      break;
    gu_text_free(json);
    rc = mark_vars(text, k, vars, json);
    free(text);
  }
  free(cfg);
  free(files);
  free(vars);
  return rc == 0 && !json->failed ? 0 : gu_fail(g->why, sizeof(g->why), "out of memory");
}

static int put_gateway(gen *g) {
  FILE *o = g->o;
  const gh_case_spec *c = g->c;
  const gh_gateway_spec *gw = &c->gateway;
  fputs("# ---- the gateway: gatecert-sim on the fake clock ---------------------------------\n"
        "make_admin_password  # in 0600 files: never in this script nor on a command line\n",
        o);
  if (gw->trust_count > 0)
    put_bundle(o, gw->trust, gw->trust_count, "gateway-trust.pem", "the base trust store");
  sbuf json = {0};
  if (sim_config_word(g, &json) != 0) {
    gu_text_free(&json);
    return -1;
  }
  fputs("printf '%s\\n' ", o);
  put_word(o, sb_str(&json));
  fputs(" >\"$WORK/sim-config.json\"  # what the sim driver writes (simconfig.c)\n", o);
  gu_text_free(&json);
  fputs("SIM_ARGS=(", o); /* start_gateway's own (repro-prelude.sh) */
  if (gw->sender_reload_interval_ms > 0)
    fprintf(o, "--sender-reload-interval %lld%s", (long long)(gw->sender_reload_interval_ms / 1000),
            gw->trust_count > 0 ? " " : "");
  if (gw->trust_count > 0)
    fputs("--trust \"$WORK/gateway-trust.pem\"", o);
  if (g->cluster) {
    fprintf(o, ")\n# a cluster of %d nodes: node 1 now, the others at their start offsets\n",
            gw->nodes);
    fputs("start_node 1\n"
          "if [ \"$STARTED_MS\" -gt \"$FAKE_NOW_MS\" ]; then FAKE_NOW_MS=$STARTED_MS; fi\n"
          "echo \"admin calls: curl -K $WORK/admin.curlrc $ADMIN/_sim/status\"\n\n",
          o);
    return 0;
  }
  static const char text[] =
      ")\n"
      "start_gateway\n"
      "if [ \"$STARTED_MS\" -gt \"$FAKE_NOW_MS\" ]; then FAKE_NOW_MS=$STARTED_MS; fi\n"
      "echo \"admin calls: curl -K $WORK/admin.curlrc $ADMIN/_sim/status\"\n"
      "\n";
  fputs(text, o);
  return 0;
}

/* ---- APIs ---------------------------------------------------------------------------- */

#define APIS_PATH "/api/am/publisher/v4/apis"
/* certificates: where the profile's Publisher API has them (profile.h) */
#define CERTS_PATH (gh_profile_cert_paths(g->profile)->certs)

/* Writes api-<name>.json (the driver's definition) and POSTs it; the answer
 * in FILE.body, the status in $status, the id in API_ID[name] on 201. */
static void put_api_create(gen *g, const gh_api_spec *a, const char *file) {
  FILE *o = g->o;
  sbuf json = {0};
  sb_puts(&json, "{\"name\":");
  sb_json(&json, a->name);
  sb_puts(&json, ",\"context\":");
  sb_json(&json, a->context);
  sb_puts(&json, ",\"version\":");
  sb_json(&json, a->version);
  sb_puts(&json, ",\"endpointConfig\":{\"production_endpoints\":{\"url\":\"https://");
  sb_json_inner(&json, a->host ? a->host : "localhost");
  sb_puts(&json, ":");
  if (backend_declared(g->c, a->backend))
    port_var(&json, a->backend);
  else
    sb_puts(&json, "-1");
  sb_puts(&json, "\"}},\"securityScheme\":[");
  for (size_t i = 0; i < a->security_count; i++) {
    if (i > 0)
      sb_puts(&json, ",");
    sb_json(&json, a->security[i]);
  }
  /* no security: an unsecured API (every resource authType None) */
  static const char *const verbs[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};
  gu_text_printf(&json, "],\"isDefaultVersion\":%s,\"operations\":[",
                 a->default_version ? "true" : "false");
  for (size_t i = 0; a->security_count == 0 && i < sizeof(verbs) / sizeof(verbs[0]); i++)
    gu_text_printf(&json, "%s{\"target\":\"/*\",\"verb\":\"%s\",\"authType\":\"None\"}",
                   i ? "," : "", verbs[i]);
  sb_puts(&json, "]}");
  sbuf path = {0};
  gu_text_printf(&path, "api-%.*s.json", GH_NAME_MAX, a->name);
  fputs("printf '%s\\n' ", o);
  put_word(o, sb_str(&json));
  fputs(" >", o);
  put_sq(o, sb_str(&path));
  fprintf(o,
          "\nstatus=$(curl -s --noproxy '*' -K \"$WORK/admin.curlrc\" -o %s.body -w "
          "'%%{http_code}' \\\n  -H 'Content-Type: application/json' --data-binary @",
          file);
  put_sq(o, sb_str(&path));
  fputs(" \"$ADMIN" APIS_PATH "\") || true\n", o);
  fprintf(o,
          "if [ \"$status\" = 201 ]; then API_ID[%.*s]=$(sed -n "
          "'s/.*\"id\":\"\\([^\"]*\\)\".*/\\1/p' %s.body); fi\n",
          GH_NAME_MAX, a->name, file);
  gu_text_free(&json);
  gu_text_free(&path);
}

static void put_apis(gen *g) {
  FILE *o = g->o;
  const gh_case_spec *c = g->c;
  size_t created = 0;
  for (size_t i = 0; i < c->api_count; i++)
    created += c->apis[i].create != 0;
  if (created == 0)
    return;
  fputs("# ---- APIs, created before the first step -----------------------------------------\n",
        o);
  for (size_t i = 0; i < c->api_count; i++) {
    const gh_api_spec *a = &c->apis[i];
    if (!a->create)
      continue;
    sbuf file = {0};
    gu_text_printf(&file, "api-%.*s", GH_NAME_MAX, a->name);
    put_api_create(g, a, sb_str(&file));
    fprintf(o,
            "if [ \"$status\" != 201 ]; then echo \"ERROR: creating API %.*s: status $status: "
            "$(cat %s.body)\" >&2; exit 3; fi\n",
            GH_NAME_MAX, a->name, sb_str(&file));
    fprintf(o, "echo \"API %.*s: id ${API_ID[%.*s]}\"\n", GH_NAME_MAX, a->name, GH_NAME_MAX,
            a->name);
    gu_text_free(&file);
  }
  fputs("\n", o);
}

/* ---- steps ------------------------------------------------------------------------------ */

static void item(sbuf *b, int *n) {
  if ((*n)++ > 0)
    sb_puts(b, ", ");
}

static void describe_call(sbuf *b, const gh_expect *e) {
  int n = 0;
  if (e->status) {
    item(b, &n);
    gu_text_printf(b, "status %ld", e->status);
  }
  if (e->fault_code) {
    item(b, &n);
    sb_puts(b, "fault code ");
    sb_text(b, e->fault_code);
  }
  for (size_t i = 0; i < e->body_contains_count; i++) {
    item(b, &n);
    sb_puts(b, "body contains \"");
    sb_text(b, e->body_contains[i]);
    sb_puts(b, "\"");
  }
  for (size_t i = 0; i < e->body_excludes_count; i++) {
    item(b, &n);
    sb_puts(b, "body without \"");
    sb_text(b, e->body_excludes[i]);
    sb_puts(b, "\"");
  }
  for (size_t i = 0; i < e->header_count; i++) {
    item(b, &n);
    sb_puts(b, "header ");
    sb_text(b, e->headers[i].name);
    sb_puts(b, ": ");
    sb_text(b, e->headers[i].value);
  }
  if (e->tls_failure) {
    item(b, &n);
    sb_puts(b, "failure class ");
    sb_text(b, e->tls_failure);
  }
  if (e->reject) {
    item(b, &n);
    sb_puts(b, "rejection ");
    sb_text(b, e->reject);
  }
  if (e->backend_reached != GH_UNSET) {
    item(b, &n);
    sb_puts(b, e->backend_reached == GH_YES ? "backend reached" : "backend not reached");
  }
  if (e->backend_saw_client_cert) {
    item(b, &n);
    sb_puts(b, "the backend saw client certificate ");
    sb_text(b, e->backend_saw_client_cert);
  }
  for (size_t i = 0; i < e->log_contains_count; i++) {
    item(b, &n);
    sb_puts(b, "gateway log has \"");
    sb_text(b, e->log_contains[i]);
    sb_puts(b, "\"");
  }
  if (e->within_ms > 0) {
    item(b, &n);
    gu_text_printf(b, "within %llds (%d passes in a row)", (long long)(e->within_ms / 1000),
                   WITHIN_PASSES);
  }
  if (n == 0)
    sb_puts(b, "nothing (the call is only made)");
}

static void put_expectation(FILE *o, const char *key, const char *value) {
  sbuf b = {0};
  sb_puts(&b, key);
  sb_puts(&b, "=");
  sb_puts(&b, value);
  fputc(' ', o);
  put_sq(o, sb_str(&b));
  gu_text_free(&b);
}

static void put_call_expectations(FILE *o, const gh_expect *e) {
  char num[32];
  if (e->status) {
    snprintf(num, sizeof(num), "%ld", e->status);
    put_expectation(o, "status", num);
  }
  if (e->fault_code)
    put_expectation(o, "fault_code", e->fault_code);
  for (size_t i = 0; i < e->body_contains_count; i++)
    put_expectation(o, "contains", e->body_contains[i]);
  for (size_t i = 0; i < e->body_excludes_count; i++)
    put_expectation(o, "excludes", e->body_excludes[i]);
  for (size_t i = 0; i < e->header_count; i++) {
    sbuf h = {0};
    sb_puts(&h, e->headers[i].name);
    sb_puts(&h, ": ");
    sb_puts(&h, e->headers[i].value);
    put_expectation(o, "header", sb_str(&h));
    gu_text_free(&h);
  }
  if (e->tls_failure)
    put_expectation(o, "tls_failure", e->tls_failure);
  gh_reject cls = GH_REJECT_NONE;
  if (e->reject && gh_reject_parse(e->reject, &cls) == 0) { /* the simulator's answer */
    const gh_reject_answer *a = &gh_sim_rejects[cls];
    if (a->tls_alert)
      put_expectation(o, "tls_failure", "tls-alert");
    if (a->status[0]) {
      snprintf(num, sizeof(num), "%ld", a->status[0]);
      put_expectation(o, "status", num);
    }
    if (a->fault_code)
      put_expectation(o, "fault_code", a->fault_code);
  }
  if (e->backend_reached != GH_UNSET)
    put_expectation(o, "reached", e->backend_reached == GH_YES ? "yes" : "no");
  if (e->backend_saw_client_cert)
    put_expectation(o, "client_cert", e->backend_saw_client_cert);
  for (size_t i = 0; i < e->log_contains_count; i++)
    put_expectation(o, "log", e->log_contains[i]);
}

static void put_check_call(gen *g, const char *label, const char *want, const char *step,
                           const gh_api_spec *api, const gh_expect *e) {
  FILE *o = g->o;
  fputs("check_call ", o);
  put_sq(o, label);
  fputc(' ', o);
  put_sq(o, want);
  fprintf(o, " \"$status\" %s ", step);
  put_sq(o, api->backend);
  fputs(" \"$before\"", o);
  put_call_expectations(o, e);
  fputc('\n', o);
}

static int put_call_extras(gen *g, const gh_step *s);
static void put_curl_extras(gen *g, const gh_step *s);

static void put_curl_call(gen *g, const gh_step *s, const gh_api_spec *api, const char *step,
                          const char *indent) {
  FILE *o = g->o;
  fprintf(o, "%sbefore=$(requests ", indent);
  put_sq(o, api->backend);
  fprintf(o,
          ")\n%sstatus=$(curl -sk --noproxy '*' --globoff --max-time 10 -o %s.body -D %s.headers "
          "-w '%%{http_code}' \\\n%s  --resolve \"localhost:$HTTPS_PORT:127.0.0.1\"",
          indent, step, step, indent);
  if (s->method && strcmp(s->method, "GET") != 0) {
    fputs(" -X ", o);
    put_sq(o, s->method);
  }
  put_curl_extras(g, s);
  for (size_t i = 0; i < s->header_count; i++) {
    sbuf h = {0};
    sb_puts(&h, s->headers[i].name);
    sb_puts(&h, ": ");
    sb_puts(&h, s->headers[i].value);
    fputs(" -H ", o);
    put_sq(o, sb_str(&h));
    gu_text_free(&h);
  }
  sbuf url = {0};
  sb_puts(&url, "https://localhost:");
  sb_var(&url, "HTTPS_PORT");
  sb_puts(&url, api->context);
  sb_puts(&url, "/");
  sb_puts(&url, api->version);
  sb_puts(&url, s->path ? s->path : "/");
  fprintf(o, " \\\n%s  ", indent);
  put_word(o, sb_str(&url));
  fputs(") || true\n", o);
  gu_text_free(&url);
}

static int put_one_call(gen *g, const gh_step *s, const char *label, const char *step, gh_expect e);

/* A call step; in a cluster each call addresses its node explicitly: node:
 * each one call per node, the balancer's node as the runner's counter gives
 * it (round-robin over 1..N), then back to node 1. */
static int put_call(gen *g, const gh_step *s, const char *label, const char *step) {
  if (!g->cluster)
    return put_one_call(g, s, label, step, gh_step_expect(s, g->profile));
  FILE *o = g->o;
  int nodes = gh_case_nodes(g->c), rc = 0;
  if (s->node == GH_NODE_EACH) {
    for (int k = 1; k <= nodes && rc == 0; k++) {
      char node_step[48];
      snprintf(node_step, sizeof(node_step), "%s-node%d", step, k);
      sbuf l = {0};
      gu_text_printf(&l, "%s (node %d)", label, k);
      fprintf(o, "use_node %d\n", k);
      rc = put_one_call(g, s, sb_str(&l), node_step, gh_step_expect_node(s, g->profile, k));
      gu_text_free(&l);
    }
  } else {
    int node = s->node > 0 ? s->node : 1;
    gh_expect e = gh_step_expect(s, g->profile);
    if (s->node == GH_NODE_BALANCER) {
      if (e.within_ms > 0)
        return gu_fail(g->why, sizeof(g->why),
                       "%s: step at line %d: a call through the balancer with within (each "
                       "retry on the next node) is not reproduced",
                       g->c->name, s->line);
      node = (int)(g->turn++ % (unsigned long)nodes) + 1;
      fprintf(o, "# through the balancer: its call %lu goes to node %d (round-robin over 1..%d)\n",
              g->turn, node, nodes);
    }
    fprintf(o, "use_node %d\n", node);
    sbuf l = {0};
    gu_text_printf(&l, "%s (node %d)", label, node);
    rc = put_one_call(g, s, sb_str(&l), step, e);
    gu_text_free(&l);
  }
  fputs("use_node 1\n", o);
  return rc;
}

static int put_one_call(gen *g, const gh_step *s, const char *label, const char *step,
                        gh_expect e) {
  FILE *o = g->o;
  const gh_api_spec *api = gh_case_api(g->c, s->api);
  if (!api)
    return gu_fail(g->why, sizeof(g->why), "%s: step at line %d: unknown API", g->c->name, s->line);
  sbuf want = {0};
  describe_call(&want, &e);
  fputs("# expect: ", o);
  put_comment(o, sb_str(&want));
  fputs("\npause ", o);
  put_sq(o, label);
  fputc('\n', o);
  if (put_call_extras(g, s) != 0) {
    gu_text_free(&want);
    return -1;
  }
  if (e.within_ms > 0) {
    fprintf(o,
            "# within %llds: retried (real time) until %d passes in a row, like the runner\n"
            "passes=0 deadline=$((SECONDS + %lld))\n"
            "while :; do\n",
            (long long)(e.within_ms / 1000), WITHIN_PASSES,
            (long long)((e.within_ms + 999) / 1000));
    put_curl_call(g, s, api, step, "  ");
    fputs("  QUIET=1 ", o);
    put_check_call(g, label, sb_str(&want), step, api, &e);
    fprintf(o,
            "  if [ \"$STEP_OK\" = 1 ]; then passes=$((passes + 1)); else passes=0; fi\n"
            "  if [ \"$passes\" -ge %d ] || [ \"$SECONDS\" -gt \"$deadline\" ]; then break; fi\n"
            "  sleep 0.1\n"
            "done\n",
            WITHIN_PASSES);
  } else
    put_curl_call(g, s, api, step, "");
  put_check_call(g, label, sb_str(&want), step, api, &e);
  int bad = want.failed;
  gu_text_free(&want);
  return bad ? gu_fail(g->why, sizeof(g->why), "out of memory") : 0;
}

static void describe_admin(sbuf *b, const gh_expect *e) {
  int n = 0;
  if (e->status) {
    item(b, &n);
    gu_text_printf(b, "status %ld", e->status);
  }
  if (e->message) {
    item(b, &n);
    sb_puts(b, "message \"");
    sb_text(b, e->message);
    sb_puts(b, "\"");
  }
  for (size_t i = 0; i < e->body_contains_count; i++) {
    item(b, &n);
    sb_puts(b, "body contains \"");
    sb_text(b, e->body_contains[i]);
    sb_puts(b, "\"");
  }
  if (!e->set || n == 0)
    sb_puts(b, n ? ", a 2xx status" : "a 2xx status (no expectation written)");
}

static void put_check_admin(gen *g, const gh_step *s, const char *label, const char *step) {
  FILE *o = g->o;
  gh_expect e = gh_step_expect(s, g->profile);
  sbuf want = {0};
  describe_admin(&want, &e);
  fputs("check_admin ", o);
  put_sq(o, label);
  fputc(' ', o);
  put_sq(o, sb_str(&want));
  fprintf(o, " \"$status\" %s", step);
  char num[32];
  if (e.status) {
    snprintf(num, sizeof(num), "%ld", e.status);
    put_expectation(o, "status", num);
  }
  if (!e.set || (!e.status && !e.message && e.body_contains_count == 0))
    put_expectation(o, "status", "2xx");
  if (e.message && *e.message)
    put_expectation(o, "message", e.message);
  for (size_t i = 0; i < e.body_contains_count; i++)
    put_expectation(o, "contains", e.body_contains[i]);
  fputc('\n', o);
  gu_text_free(&want);
}

static void put_admin_comment(gen *g, const gh_step *s, const char *label) {
  gh_expect e = gh_step_expect(s, g->profile);
  sbuf want = {0};
  describe_admin(&want, &e);
  fputs("# expect: ", g->o);
  put_comment(g->o, sb_str(&want));
  fputs("\npause ", g->o);
  put_sq(g->o, label);
  fputc('\n', g->o);
  gu_text_free(&want);
}

/* The file an upload step sends, made as harness/pki.c's gh_pki_encode does. */
static int put_upload_file(gen *g, const gh_step *s, const char *file) {
  FILE *o = g->o;
  const char *format = s->format ? s->format : "pem";
  if (strcmp(format, "empty") == 0) {
    fprintf(o, ": >%s  # empty\n", file);
    return 0;
  }
  if (strcmp(format, "garbage") == 0) {
    fprintf(o,
            "printf '%%s\\n' '-----BEGIN CERTIFICATE-----' 'this is not a certificate' >%s"
            "  # garbage\n",
            file);
    return 0;
  }
  if (strcmp(format, "oversize") == 0) {
    fprintf(o,
            "{ yes -- \"$(printf '%%s\\n%%s' '-----BEGIN CERTIFICATE-----' 'this is not a "
            "certificate')\" || true; } |\n  head -c %ld >%s  # oversize: 11 MiB of garbage\n",
            OVERSIZE, file);
    return 0;
  }
  if (!s->cert || pki_index(g->c, s->cert) == g->c->pki_count)
    return gu_fail(g->why, sizeof(g->why), "%s: step at line %d: no certificate to upload",
                   g->c->name, s->line);
  if (strcmp(format, "pem") == 0 || strcmp(format, "der") == 0) {
    fputs("openssl x509 -in ", o);
    put_pki(o, s->cert, ".pem");
    fprintf(o, " -outform %s -out %s\n", strcmp(format, "pem") == 0 ? "PEM" : "DER", file);
  } else if (strcmp(format, "pkcs7") == 0) {
    fputs("openssl crl2pkcs7 -nocrl -certfile ", o);
    put_pki(o, s->cert, ".pem");
    fprintf(o, " -outform DER -out %s\n", file);
  } else if (strcmp(format, "pem-key") == 0 || strcmp(format, "pkcs12") == 0 ||
             strcmp(format, "sapjar") == 0) { /* a key store entry: the certificate and its key */
    int pem = strcmp(format, "pem-key") == 0;
    fputs("cat ", o);
    put_pki(o, s->cert, ".pem");
    fputs(" ", o);
    put_pki(o, s->cert, ".key");
    fprintf(o, " >%s%s\n", file, pem ? "" : ".pem");
    if (!pem)
      fprintf(o,
              "printf '%%s\\n' %s >store.password  # the harness's key store password, not a "
              "secret\n\"$GATECERT\" certs convert %s.pem %s --to %s%s\n",
              GH_PKI_STORE_PASSWORD, file, file, format,
              strcmp(format, "pkcs12") == 0 ? " --out-password-file store.password" : "");
  } else if (strcmp(format, "jks") == 0) {
    fputs("printf 'changeit\\n' >jks.password  # the harness's JKS password (not a secret)\n"
          "\"$GATECERT\" certs convert ",
          o);
    put_pki(o, s->cert, ".pem");
    fprintf(o, " %s --to jks --out-password-file jks.password --alias ", file);
    put_sq(o, s->cert);
    fputs("\n", o);
  } else
    return gu_fail(g->why, sizeof(g->why), "%s: step at line %d: unknown format %s", g->c->name,
                   s->line, format);
  return 0;
}

/* A marked word for an admin URL: "$ADMIN" + path + the alias, escaped. */
static void alias_url(const gen *g, sbuf *b, const char *alias) {
  sb_var(b, "ADMIN");
  sb_puts(b, CERTS_PATH);
  sb_puts(b, "/");
  for (const unsigned char *p = (const unsigned char *)alias; p && *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        strchr("-._~", *p))
      gu_text_add(b, (const char *)p, 1);
    else
      gu_text_printf(b, "%%%02X", *p);
  }
}

static const char ADMIN_CURL[] =
    "status=$(curl -s --noproxy '*' -K \"$WORK/admin.curlrc\" -o %s.body -w '%%{http_code}'";

/* The endpoint an upload names: its own, or the backend's as the runner
 * makes it (backend_url(backend, NULL)); a marked word. */
static void endpoint_word(const gen *g, const gh_step *s, sbuf *b) {
  if (s->endpoint)
    sb_puts(b, s->endpoint);
  else {
    sb_puts(b, "https://localhost:");
    if (backend_declared(g->c, s->backend))
      port_var(b, s->backend);
    else
      sb_puts(b, "-1");
  }
}

/* Under the sap profiles: the prelude's sap_upload, sap_replace, sap_delete
 * (SAP's OData service, as the sim driver drives it). */
static void put_sap_cert_step(gen *g, const gh_step *s, const char *step, const char *file) {
  FILE *o = g->o;
  static const char *const verbs[] = {[GH_STEP_UPLOAD_CERT] = "sap_upload",
                                      [GH_STEP_REPLACE_CERT] = "sap_replace",
                                      [GH_STEP_DELETE_CERT] = "sap_delete"};
  fprintf(o, "status=$(%s %s ", verbs[s->kind], step);
  put_sq(o, s->alias ? s->alias : "");
  if (s->kind == GH_STEP_UPLOAD_CERT) {
    sbuf endpoint = {0};
    endpoint_word(g, s, &endpoint);
    fputs(" ", o);
    put_word(o, sb_str(&endpoint));
    gu_text_free(&endpoint);
  }
  if (s->kind != GH_STEP_DELETE_CERT)
    fprintf(o, " %s", file);
  fputs(")\n", o);
}

/* sap_store_cert, sap_reference, sap_provider: the prelude's functions of
 * the same names. */
static int put_sap_object_step(gen *g, const gh_step *s, const char *label, const char *step) {
  FILE *o = g->o;
  put_admin_comment(g, s, label);
  char file[64];
  snprintf(file, sizeof(file), "%s.upload", step);
  if (s->kind == GH_STEP_SAP_STORE_CERT && put_upload_file(g, s, file) != 0)
    return -1;
  fprintf(o, "status=$(%s %s ", gh_step_kind_name(s->kind), step);
  put_sq(o, s->sap_name);
  fputs(" ", o);
  if (s->kind == GH_STEP_SAP_PROVIDER) {
    sbuf endpoint = {0};
    sb_puts(&endpoint, "https://localhost:"); /* the runner's backend_url(backend, NULL) */
    port_var(&endpoint, s->backend);
    put_word(o, sb_str(&endpoint));
    gu_text_free(&endpoint);
    fputs(" ", o);
    put_sq(o, s->trust_store);
  } else {
    put_sq(o, s->store);
  }
  if (s->kind == GH_STEP_SAP_STORE_CERT)
    fprintf(o, " %s %s %s", file, s->key_store ? "KEYSTORE" : "TRUSTSTORE",
            s->format && strcmp(s->format, "pkcs12") == 0 ? "store.password" : "''");
  fputs(")\n", o);
  put_check_admin(g, s, label, step);
  return 0;
}

static int put_cert_step(gen *g, const gh_step *s, const char *label, const char *step) {
  FILE *o = g->o;
  put_admin_comment(g, s, label);
  char file[64];
  snprintf(file, sizeof(file), "%s.upload", step);
  if (s->kind != GH_STEP_DELETE_CERT && put_upload_file(g, s, file) != 0)
    return -1;
  if (gh_profile_cert_paths(g->profile)->odata) {
    put_sap_cert_step(g, s, step, file);
    put_check_admin(g, s, label, step);
    return 0;
  }
  fprintf(o, ADMIN_CURL, step);
  sbuf url = {0};
  if (s->kind == GH_STEP_UPLOAD_CERT) {
    fprintf(o, " -H 'Expect:' \\\n  -F 'certificate=@%s;filename=certificate.crt' --form-string ",
            file);
    sbuf part = {0};
    sb_puts(&part, "alias=");
    sb_puts(&part, s->alias ? s->alias : "");
    put_sq(o, sb_str(&part));
    gu_text_free(&part);
    sb_puts(&part, "endpoint=");
    endpoint_word(g, s, &part);
    fputs(" \\\n  --form-string ", o);
    put_word(o, sb_str(&part));
    gu_text_free(&part);
    sb_var(&url, "ADMIN");
    sb_puts(&url, CERTS_PATH);
  } else if (s->kind == GH_STEP_REPLACE_CERT) {
    fprintf(o, " -H 'Expect:' -X PUT \\\n  -F 'certificate=@%s;filename=certificate.crt'", file);
    alias_url(g, &url, s->alias);
  } else {
    fputs(" -X DELETE", o);
    alias_url(g, &url, s->alias);
  }
  fputs(" \\\n  ", o);
  put_word(o, sb_str(&url));
  fputs(") || true\n", o);
  gu_text_free(&url);
  put_check_admin(g, s, label, step);
  return 0;
}

static int put_api_step(gen *g, const gh_step *s, const char *label, const char *step) {
  FILE *o = g->o;
  const gh_api_spec *api = gh_case_api(g->c, s->api);
  if (!api)
    return gu_fail(g->why, sizeof(g->why), "%s: step at line %d: unknown API", g->c->name, s->line);
  put_admin_comment(g, s, label);
  if (s->kind == GH_STEP_CREATE_API)
    put_api_create(g, api, step);
  else {
    fprintf(o, ADMIN_CURL, step);
    sbuf url = {0}, var = {0};
    sb_var(&url, "ADMIN");
    sb_puts(&url, APIS_PATH "/");
    gu_text_printf(&var, "API_ID[%.*s]:-unknown-api", GH_NAME_MAX, api->name);
    sb_var(&url, sb_str(&var));
    if (s->kind == GH_STEP_REDEPLOY_API) { /* WSO2 4.x's deploy-revision */
      sb_puts(&url, "/deploy-revision");
      fputs(" -X POST -H 'Content-Type: application/json' \\\n  --data-binary "
            "'[{\"name\":\"Default\",\"vhost\":\"localhost\",\"displayOnDevportal\":true}]' "
            "\\\n  ",
            o);
    } else
      fputs(" -X DELETE \\\n  ", o);
    put_word(o, sb_str(&url));
    fputs(") || true\n", o);
    gu_text_free(&url);
    gu_text_free(&var);
  }
  put_check_admin(g, s, label, step);
  return 0;
}

static void put_clock_step(gen *g, const gh_step *s, const char *label) {
  FILE *o = g->o;
  long long secs = (long long)(s->duration_ms / 1000);
  if (s->kind == GH_STEP_ADVANCE)
    fprintf(o, "# the fake clock %lld ms forward from the last time written\n",
            (long long)s->duration_ms);
  else
    fprintf(o,
            "# the fake clock to the gateway's start + %lld ms (its reload ticks count from "
            "there)\n",
            (long long)s->duration_ms);
  fputs("pause ", o);
  put_sq(o, label);
  fprintf(o, "\nTARGET_MS=$((%s + %lld))\nforward_only \"$TARGET_MS\"\n",
          s->kind == GH_STEP_ADVANCE ? "FAKE_NOW_MS" : "STARTED_MS", (long long)s->duration_ms);
  fputs("echo \"@$(fake_date \"$TARGET_MS\")\" >\"$WORK/clock.tmp\" && mv -f \"$WORK/clock.tmp\" "
        "\"$WORK/clock\"\nFAKE_NOW_MS=$TARGET_MS\nsync_clock ",
        o);
  sbuf l = {0};
  sb_puts(&l, label);
  gu_text_printf(&l, " (%s %llds)", s->kind == GH_STEP_ADVANCE ? "+" : "start +", secs);
  put_sq(o, sb_str(&l));
  gu_text_free(&l);
  fputs(" \"$TARGET_MS\"\n", o);
}

/* ---- securing APIs ----------------------------------------------------------------------- */

#define KM_PATH   "/api/am/admin/v4/key-managers"
#define APPS_PATH "/api/am/devportal/v3/applications"
#define SUBS_PATH "/api/am/devportal/v3/subscriptions"

/* "API_ID[name]:-unknown-api" as a marked word part. */
static void api_id_var(sbuf *b, const char *api) {
  sbuf v = {0};
  gu_text_printf(&v, "API_ID[%.*s]:-unknown-api", GH_NAME_MAX, api);
  sb_var(b, sb_str(&v));
  if (v.failed)
    b->failed = 1;
  gu_text_free(&v);
}

/* The oauth key manager, registered as the runner does right after the start. */
static void put_key_manager(gen *g) {
  FILE *o = g->o;
  const gh_gateway_spec *gw = &g->c->gateway;
  if (!gw->has_oauth)
    return;
  fputs("# ---- the key manager whose tokens the gateway accepts (gateway.oauth) -------------\n"
        "openssl pkey -in ",
        o);
  put_pki(o, gw->oauth_key, ".key");
  fputs(" -pubout -out km-public.pem\n", o);
  sbuf head = {0};
  sb_puts(&head, "{\"name\":\"" GH_KEY_MANAGER_NAME "\",\"issuer\":");
  sb_json(&head, gw->oauth_issuer);
  sb_puts(&head, ",\"alg\":");
  sb_json(&head, gw->oauth_alg);
  sb_puts(&head, ",\"certificates\":{\"type\":\"PEM\",\"value\":\"");
  fputs("{ printf '%s' ", o);
  put_sq(o, sb_str(&head));
  fputs("; awk '{printf \"%s\\\\n\", $0}' km-public.pem; printf '\"}}'; } >km.json\n", o);
  fprintf(o, ADMIN_CURL, "km");
  fputs(" \\\n  -H 'Content-Type: application/json' --data-binary @km.json \"$ADMIN" KM_PATH
        "\") || true\n"
        "if [[ $status != 2?? ]]; then echo \"ERROR: registering the key manager: status $status: "
        "$(cat km.body)\" >&2; exit 3; fi\n\n",
        o);
  gu_text_free(&head);
}

static int put_client_cert_step(gen *g, const gh_step *s, const char *label, const char *step) {
  FILE *o = g->o;
  put_admin_comment(g, s, label);
  char file[64];
  snprintf(file, sizeof(file), "%s.upload", step);
  int upload = s->kind == GH_STEP_UPLOAD_CLIENT_CERT;
  if (upload && put_upload_file(g, s, file) != 0)
    return -1;
  fprintf(o, ADMIN_CURL, step);
  sbuf url = {0};
  const char *own = gh_profile_cert_paths(g->profile)->client_certs; /* 2.6: apiId in the form */
  sb_var(&url, "ADMIN");
  if (own)
    sb_puts(&url, own);
  else {
    sb_puts(&url, APIS_PATH "/");
    api_id_var(&url, s->api);
    sb_puts(&url, "/client-certificates");
  }
  if (upload) {
    fprintf(o, " -H 'Expect:' \\\n  -F 'certificate=@%s;filename=certificate.crt' --form-string ",
            file);
    sbuf part = {0};
    if (own) {
      sb_puts(&part, "apiId=");
      api_id_var(&part, s->api);
      put_word(o, sb_str(&part));
      gu_text_free(&part);
      fputs(" --form-string ", o);
    }
    sb_puts(&part, "alias=");
    sb_puts(&part, s->alias ? s->alias : "");
    put_sq(o, sb_str(&part));
    gu_text_free(&part);
    sb_puts(&part, "tier=");
    sb_puts(&part, s->tier ? s->tier : "Unlimited");
    fputs(" --form-string ", o);
    put_sq(o, sb_str(&part));
    gu_text_free(&part);
  } else {
    fputs(" -X DELETE", o);
    sb_puts(&url, "/");
    for (const unsigned char *p = (const unsigned char *)s->alias; p && *p; p++) {
      if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          strchr("-._~", *p))
        gu_text_add(&url, (const char *)p, 1);
      else
        gu_text_printf(&url, "%%%02X", *p);
    }
  }
  fputs(" \\\n  ", o);
  put_word(o, sb_str(&url));
  fputs(") || true\n", o);
  int bad = url.failed;
  gu_text_free(&url);
  put_check_admin(g, s, label, step);
  return bad ? gu_fail(g->why, sizeof(g->why), "out of memory") : 0;
}

static int put_subscribe_step(gen *g, const gh_step *s, const char *label, const char *step) {
  FILE *o = g->o;
  put_admin_comment(g, s, label);
  sbuf var = {0}, json = {0};
  gu_text_printf(&var, "APP_ID[%.*s]", GH_NAME_MAX, s->application);
  fprintf(o,
          "# the application is created on first use, its consumer key (its name) mapped to "
          "the key manager\napp_ok=1\nif [ -z \"${%s:-}\" ]; then\n  app_ok=0\n  ",
          sb_str(&var));
  sb_puts(&json, "{\"name\":");
  sb_json(&json, s->application);
  sb_puts(&json, ",\"throttlingPolicy\":\"Unlimited\"}");
  fprintf(o, ADMIN_CURL, step);
  fputs(" -H 'Content-Type: application/json' \\\n    --data-binary ", o);
  put_sq(o, sb_str(&json));
  fputs(" \"$ADMIN" APPS_PATH "\") || true\n", o);
  fprintf(o,
          "  if [ \"$status\" = 201 ]; then\n"
          "    app_id=$(sed -n 's/.*\"applicationId\":\"\\([^\"]*\\)\".*/\\1/p' %s.body)\n    ",
          step);
  gu_text_free(&json);
  sb_puts(&json, "{\"consumerKey\":");
  sb_json(&json, s->application);
  sb_puts(&json, ",\"keyType\":\"PRODUCTION\",\"keyManager\":\"" GH_KEY_MANAGER_NAME "\"}");
  fprintf(o, ADMIN_CURL, step);
  fputs(" -H 'Content-Type: application/json' \\\n      --data-binary ", o);
  put_sq(o, sb_str(&json));
  fputs(" \"$ADMIN" APPS_PATH "/$app_id/map-keys\") || true\n", o);
  fprintf(o,
          "    if [[ $status == 2?? ]]; then %s=$app_id app_ok=1; fi\n"
          "  fi\nfi\nif [ \"$app_ok\" = 1 ]; then\n  ",
          sb_str(&var));
  gu_text_free(&json);
  sb_puts(&json, "{\"applicationId\":\"");
  sb_var(&json, sb_str(&var));
  sb_puts(&json, "\",\"apiId\":\"");
  api_id_var(&json, s->api);
  sb_puts(&json, "\",\"throttlingPolicy\":");
  sb_json(&json, s->tier ? s->tier : "Unlimited");
  sb_puts(&json, "}");
  fprintf(o, ADMIN_CURL, step);
  fputs(" -H 'Content-Type: application/json' \\\n    --data-binary ", o);
  put_word(o, sb_str(&json));
  fputs(" \"$ADMIN" SUBS_PATH "\") || true\nfi\n", o);
  int bad = json.failed || var.failed;
  gu_text_free(&json);
  gu_text_free(&var);
  put_check_admin(g, s, label, step);
  return bad ? gu_fail(g->why, sizeof(g->why), "out of memory") : 0;
}

/* TOKEN, HDR and the client certificate's chain file, made before a call
 * (the clock stands still during it, as in the runner). */
static int put_call_extras(gen *g, const gh_step *s) {
  FILE *o = g->o;
  const gh_gateway_spec *gw = &g->c->gateway;
  if (s->client_cert && strcmp(s->client_cert, "none") != 0) {
    fputs("cat", o);
    put_chain(g, s->client_cert);
    fputs(" >", o);
    put_pki(o, s->client_cert, ".chain.pem");
    fputs("  # the client certificate presented in the handshake, with its chain\n", o);
  }
  if (s->token.kind == GH_TOKEN_JWT) {
    const gh_token_spec *t = &s->token;
    const char *key = t->key ? t->key : gw->oauth_key;
    const gh_pki_spec *spec = gh_case_pki(g->c, key);
    fputs(
        "# a token minted now on the fake clock; it is never printed\nTOKEN=$(\"$GATECERT\" token "
        "--key ",
        o);
    put_pki(o, key, ".key");
    fputs(" --iss ", o);
    put_sq(o, t->issuer ? t->issuer : gw->oauth_issuer);
    fputs(" --client-id ", o);
    put_sq(o, t->application);
    fprintf(o,
            " --alg %s --kid " GH_KEY_MANAGER_NAME " --iat $((FAKE_NOW_MS / 1000 + %lld)) "
            "--lifetime %lld",
            spec && spec->key == GH_KEY_EC ? "ES256" : "RS256", (long long)(t->issued_at_ms / 1000),
            (long long)(t->lifetime_ms / 1000));
    if (t->has_not_before)
      fprintf(o, " --nbf $((FAKE_NOW_MS / 1000 + %lld))", (long long)(t->not_before_ms / 1000));
    fputs(")\n", o);
  }
  if (s->header_encoding) {
    const char *enc = s->header_encoding;
    fputs("HDR=$(", o);
    if (strcmp(enc, "garbage") == 0)
      fputs("printf '%s' this-is-not-a-certificate", o);
    else if (strcmp(enc, "base64-der") == 0) {
      fputs("openssl x509 -in ", o);
      put_pki(o, s->header_cert, ".pem");
      fputs(" -outform DER | base64 -w0", o);
    } else if (strcmp(enc, "base64-pem") == 0) {
      fputs("base64 -w0 ", o);
      put_pki(o, s->header_cert, ".pem");
    } else if (strcmp(enc, "raw-pem") == 0) {
      fputs("tr '\\n' ' ' <", o);
      put_pki(o, s->header_cert, ".pem");
      fputs(" | sed 's/ $//'", o);
    } else {
      fputs("urlencode_file ", o);
      put_pki(o, s->header_cert, ".pem");
    }
    fprintf(o, ")  # the certificate header, %s\n", enc);
  }
  return 0;
}

/* curl options for the extras. */
static void put_curl_extras(gen *g, const gh_step *s) {
  FILE *o = g->o;
  if (s->client_cert && strcmp(s->client_cert, "none") != 0) {
    fputs(" --cert ", o);
    put_pki(o, s->client_cert, ".chain.pem");
    fputs(" --key ", o);
    put_pki(o, s->client_cert, ".key");
  }
  if (s->token.kind == GH_TOKEN_GARBAGE)
    fputs(" -H 'Authorization: Bearer gatecert-garbage.this-is-not.a-jwt'", o);
  else if (s->token.kind == GH_TOKEN_JWT)
    fputs(" -H \"Authorization: Bearer $TOKEN\"", o);
  if (s->header_encoding) {
    sbuf h = {0};
    sb_puts(&h, g->c->gateway.certificate_header ? g->c->gateway.certificate_header
                                                 : GH_CERT_HEADER_DEFAULT);
    sb_puts(&h, ": ");
    sb_var(&h, "HDR");
    fputs(" -H ", o);
    put_word(o, sb_str(&h));
    gu_text_free(&h);
  }
}

/* A sweep: the clock to each of its times (gh_step_sweep_times), one call per
 * node through the balancer there (the counter set to the runner's), the
 * answers checked by check_flap (repro-prelude.sh). */
static int put_sweep(gen *g, const gh_step *s, const char *label, const char *step) {
  FILE *o = g->o;
  const gh_api_spec *api = gh_case_api(g->c, s->api);
  const gh_flapping *f = &s->flapping;
  size_t n = 0;
  int64_t *times = gh_step_sweep_times(s, &n);
  if (!api || !times) {
    free(times);
    return gu_fail(g->why, sizeof(g->why), "%s: step at line %d: no API or out of memory",
                   g->c->name, s->line);
  }
  int nodes = gh_case_nodes(g->c);
  fprintf(o,
          "# at each time: %d call(s) through the balancer (round-robin over nodes 1..%d); "
          "before %lld s every answer %ld, from %lld s until %lld s",
          nodes, nodes, (long long)(f->from_ms / 1000), f->before, (long long)(f->from_ms / 1000),
          (long long)(f->until_ms / 1000));
  fputs(" the answers flap between", o);
  for (size_t i = 0; i < f->between_count; i++)
    fprintf(o, " %ld", f->between[i]);
  fprintf(o, ", then every answer %ld\npause ", f->after);
  put_sq(o, label);
  fprintf(o, "\nBALANCER_TURN=%lu  # the balancer's counter here, as the runner's\nfor at in",
          g->turn);
  for (size_t i = 0; i < n; i++)
    fprintf(o, " %lld", (long long)times[i]);
  fputs("; do\n"
        "  TARGET_MS=$((STARTED_MS + at))\n"
        "  forward_only \"$TARGET_MS\"\n"
        "  echo \"@$(fake_date \"$TARGET_MS\")\" >\"$WORK/clock.tmp\" && mv -f \"$WORK/clock.tmp\" "
        "\"$WORK/clock\"\n"
        "  FAKE_NOW_MS=$TARGET_MS\n"
        "  sync_clock ",
        o);
  put_sq(o, label);
  fprintf(o,
          " \"$TARGET_MS\" >/dev/null\n"
          "  got=()\n"
          "  for ((i = 0; i < %d; i++)); do\n"
          "    use_node $((BALANCER_TURN %% %d + 1))\n"
          "    BALANCER_TURN=$((BALANCER_TURN + 1))\n",
          nodes, nodes);
  put_curl_call(g, s, api, step, "    ");
  fputs("    got+=(\"$NODE:$status\")\n"
        "  done\n"
        "  use_node 1\n"
        "  check_flap ",
        o);
  put_sq(o, label);
  fprintf(o, " \"$at\" %lld %lld %ld %ld '", (long long)f->from_ms, (long long)f->until_ms,
          f->before, f->after);
  for (size_t i = 0; i < f->between_count; i++)
    fprintf(o, "%s%ld", i ? " " : "", f->between[i]);
  fputs("' \"${got[@]}\"\ndone\n", o);
  g->turn += (unsigned long)n * (unsigned long)nodes;
  free(times);
  return 0;
}

/* Nodes 2..N of a cluster, each at its start offset (after the APIs, as the
 * runner does: they load them from the shared store when they start). */
static void put_node_starts(gen *g) {
  FILE *o = g->o;
  const gh_gateway_spec *gw = &g->c->gateway;
  if (!g->cluster || gw->nodes < 2)
    return;
  fputs("# ---- the other nodes, each at its start offset (from node 1's start) -------------\n",
        o);
  for (int k = 2; k <= gw->nodes; k++)
    fprintf(o,
            "TARGET_MS=$((STARTED_MS + %lld))\n"
            "forward_only \"$TARGET_MS\"\n"
            "echo \"@$(fake_date \"$TARGET_MS\")\" >\"$WORK/clock.tmp\" && mv -f "
            "\"$WORK/clock.tmp\" \"$WORK/clock\"\n"
            "FAKE_NOW_MS=$TARGET_MS\n"
            "sync_clock 'node %d starts' \"$TARGET_MS\"\n"
            "start_node %d\n"
            "use_node 1\n",
            (long long)gw->start_offsets_ms[k - 1], k, k);
  fputs("\n", o);
}

static void step_label(sbuf *b, const gh_step *s, size_t index) {
  gu_text_printf(b, "step %zu (line %d) %s", index + 1, s->line, gh_step_kind_name(s->kind));
  switch (s->kind) {
  case GH_STEP_CALL:
    sb_puts(b, " ");
    sb_text(b, s->api);
    sb_puts(b, " ");
    sb_text(b, s->method ? s->method : "GET");
    sb_puts(b, " ");
    sb_text(b, s->path ? s->path : "/");
    break;
  case GH_STEP_ADVANCE:
  case GH_STEP_ADVANCE_TO:
    gu_text_printf(b, " %llds", (long long)(s->duration_ms / 1000));
    if (s->duration_ms % 1000)
      gu_text_printf(b, "+%lldms", (long long)(s->duration_ms % 1000));
    break;
  case GH_STEP_UPLOAD_CERT:
  case GH_STEP_REPLACE_CERT:
  case GH_STEP_DELETE_CERT:
    sb_puts(b, " alias ");
    sb_text(b, s->alias);
    if (s->kind != GH_STEP_DELETE_CERT) {
      sb_puts(b, ", cert ");
      sb_text(b, s->cert ? s->cert : "-");
      sb_puts(b, " as ");
      sb_text(b, s->format ? s->format : "pem");
    }
    if (s->kind == GH_STEP_UPLOAD_CERT) {
      sb_puts(b, s->endpoint ? ", endpoint " : ", backend ");
      sb_text(b, s->endpoint ? s->endpoint : s->backend);
    }
    break;
  case GH_STEP_CREATE_API:
  case GH_STEP_DELETE_API:
  case GH_STEP_REDEPLOY_API:
    sb_puts(b, " ");
    sb_text(b, s->api);
    break;
  default:
    break;
  }
}

static int put_step(gen *g, const gh_step *s, size_t index) {
  FILE *o = g->o;
  sbuf label = {0};
  step_label(&label, s, index);
  char step[32];
  snprintf(step, sizeof(step), "step-%zu", index + 1);
  fputs("\n# ---- ", o);
  put_comment(o, sb_str(&label));
  fputc('\n', o);
  int rc = 0;
  /* in a cluster, an admin step or a reload on another node than 1 */
  int other_node = g->cluster && s->node > 1 && s->kind != GH_STEP_CALL &&
                   s->kind != GH_STEP_SWEEP && s->kind != GH_STEP_RESTART_GATEWAY;
  if (other_node)
    fprintf(o, "use_node %d\n", s->node);
  switch (s->kind) {
  case GH_STEP_CALL:
    rc = put_call(g, s, sb_str(&label), step);
    break;
  case GH_STEP_ADVANCE:
  case GH_STEP_ADVANCE_TO:
    put_clock_step(g, s, sb_str(&label));
    break;
  case GH_STEP_UPLOAD_CERT:
  case GH_STEP_REPLACE_CERT:
  case GH_STEP_DELETE_CERT:
    rc = put_cert_step(g, s, sb_str(&label), step);
    break;
  case GH_STEP_CREATE_API:
  case GH_STEP_DELETE_API:
  case GH_STEP_REDEPLOY_API:
    rc = put_api_step(g, s, sb_str(&label), step);
    break;
  case GH_STEP_RELOAD:
    fputs("# off-schedule reload of the sender trust (simulator only)\npause ", o);
    put_sq(o, sb_str(&label));
    fprintf(o, "\n");
    fprintf(o, ADMIN_CURL, step);
    fputs(" -X POST \"$ADMIN/_sim/reload\") || true\ncheck_admin ", o);
    put_sq(o, sb_str(&label));
    fprintf(o, " 'status 200' \"$status\" %s status=200\n", step);
    break;
  case GH_STEP_RESTART_GATEWAY:
    if (g->cluster) {
      int node = s->node > 0 ? s->node : 1;
      fprintf(o,
              "# node %d stopped and started again on the shared state: its reload clocks count "
              "from now%s\npause ",
              node, node == 1 ? "; so does advance_to" : "");
      put_sq(o, sb_str(&label));
      fprintf(o, "\nstop_pid \"${NODE_PID[%d]}\"\nstart_node %d\nuse_node 1\n", node, node);
      break;
    }
    fputs("# the gateway stopped and started again on the same state; advance_to counts from\n"
          "# the new start\npause ",
          o);
    put_sq(o, sb_str(&label));
    fputs("\nstop_pid \"$SIM_PID\"\nstart_gateway\necho ", o);
    sb_puts(&label, ": restarted, the store kept");
    put_sq(o, sb_str(&label));
    fputc('\n', o);
    break;
  case GH_STEP_UPLOAD_CLIENT_CERT:
  case GH_STEP_DELETE_CLIENT_CERT:
    rc = put_client_cert_step(g, s, sb_str(&label), step);
    break;
  case GH_STEP_SUBSCRIBE:
    rc = put_subscribe_step(g, s, sb_str(&label), step);
    break;
  case GH_STEP_SAP_STORE_CERT:
  case GH_STEP_SAP_REFERENCE:
  case GH_STEP_SAP_PROVIDER:
    rc = put_sap_object_step(g, s, sb_str(&label), step);
    break;
  case GH_STEP_SWEEP:
    rc = put_sweep(g, s, sb_str(&label), step);
    break;
  }
  if (other_node)
    fputs("use_node 1\n", o);
  int bad = label.failed;
  gu_text_free(&label);
  return rc != 0 ? -1 : bad ? gu_fail(g->why, sizeof(g->why), "out of memory") : 0;
}

static int generate(gen *g) {
  put_header(g);
  put_settings(g);
  fputs(gh_repro_prelude, g->o); /* repro-prelude.sh: helpers, work directory, clock */
  put_pki_section(g);
  if (put_backends(g) != 0 || put_gateway(g) != 0)
    return -1;
  put_key_manager(g);
  put_apis(g);
  put_node_starts(g);
  fputs("# ---- steps -----------------------------------------------------------------------",
        g->o);
  for (size_t i = 0; i < g->c->step_count; i++)
    if (put_step(g, &g->c->steps[i], i) != 0)
      return -1;
  fputs("\n# ---- result --------------------------------------------------------------------\n"
        "report_result\n",
        g->o);
  return 0;
}

int gh_repro_script(FILE *o, const gh_case_spec *c, const char *profile,
                    const gh_repro_options *opt, const gh_repro_bins *bin, char *why,
                    size_t why_len) {
  if (!o || !c || !profile || !opt || !bin)
    return gu_fail(why, why_len, "repro script: missing argument");
  gen *g = calloc(1, sizeof(*g));
  if (!g)
    return gu_fail(why, why_len, "out of memory");
  *g = (gen){
      .o = o, .c = c, .profile = profile, .opt = opt, .bin = bin, .cluster = c->gateway.nodes > 0};
  int rc = generate(g);
  if (rc != 0)
    snprintf(why, why_len, "%s", g->why);
  free(g);
  return rc;
}
