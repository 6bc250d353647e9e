/* repro.c - `gatecert repro CASE`: a standalone shell script for one case.
 *
 * This file is the command: options, the programs' absolute paths, the
 * scenarios loaded as `gatecert run` loads them, the case named on the
 * command line (exactly, or by a glob that matches one case); repro_script.c
 * writes its bash script, printed on stdout only when complete. The script repeats what the runner
 * and the sim driver do for that case, with the same files and command lines,
 * so a developer can follow a reload-timing bug step by step without the
 * harness:
 *
 *   1. a work directory (mktemp -d), removed on exit by a trap that also stops
 *      every process the script started, by pid, and removes libfaketime's
 *      /dev/shm files of those pids;
 *   2. libfaketime's timestamp file at the case's epoch;
 *   3. the PKI with `gatecert certs issue --at` (openssl 3.0's req/x509 date
 *      certificates from the real now, the case needs them dated from its fake
 *      epoch), bundles with cat;
 *   4. gatecert-backend and gatecert-sim under libfaketime (LD_PRELOAD,
 *      FAKETIME_TIMESTAMP_FILE, FAKETIME_NO_CACHE=1,
 *      FAKETIME_DONT_FAKE_MONOTONIC=1, TZ=UTC, never FAKETIME), their ports
 *      read from their READY lines, the sim's JSON config written by the
 *      driver's own writer (simconfig.c; what only the script knows - backend
 *      ports, load balancers' SHA-256 - as shell variables in it), an admin
 *      password made at run time (never in the script);
 *   5. the APIs, then one block per step: the scenario line and what it
 *      expects as a comment, the curl command (or the clock file rewritten
 *      atomically and /_sim/time polled), and a line with what came back next
 *      to what was expected; every expectation that does not hold prints a
 *      MISMATCH line, and the script exits 1 when there was one.
 *
 * Every value taken from a scenario or the command line is single-quoted in
 * the script (or JSON-escaped, then single-quoted) and comments are stripped
 * of control characters, so names and paths may hold spaces, quotes or
 * newlines. The script is built in memory and printed only when complete.
 *
 * What is the same in every script (the checks of the programs, the helpers
 * start_faked, check_call, start_gateway..., the work directory and clock) is
 * a real shell file, harness/repro-prelude.sh, linted by shellcheck and
 * embedded at build time (gh_repro_prelude); repro_script.c writes the
 * settings before it and the case after it.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"
#include "gutil.h"
#include "profile.h"
#include "repro.h"
#include "repro_script.h"
#include "scenario.h"

#ifndef GATECERT_FAKETIME_LIB
#define GATECERT_FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
#endif

#define PATH_LEN     GH_REPRO_PATH_LEN
#define MAX_SIM_ARGS GH_REPRO_MAX_SIM_ARGS

typedef gh_repro_options options;
typedef gh_repro_bins bins;

/* ---- finding the case --------------------------------------------------------------- */

/* Loads the catalogue (gh_catalogue_load, as `gatecert run` does). 0, or 2
 * with every scenario error reported. */
static int load_catalogue(const char *scenarios, gh_catalogue *cat) {
  gh_load_error errors[8];
  size_t error_count = 0;
  if (gh_catalogue_load(scenarios, cat, errors, 8, &error_count) == 0)
    return 0;
  for (size_t i = 0; i < error_count && i < 8; i++)
    fprintf(stderr, "%s:%d:%d: %s\n", errors[i].file, errors[i].line, errors[i].column,
            errors[i].message);
  if (error_count > 8)
    fprintf(stderr, "gatecert repro: %zu more scenario errors\n", error_count - 8);
  return 2;
}

/* The one case named (exactly, else by glob). 0 with *out set, or 2 with the
 * candidates listed. */
static int find_case(const gh_catalogue *cat, const char *name, const gh_case_spec **out) {
  const gh_case_spec *found[16];
  size_t exact = 0, glob = 0;
  for (int pass = 0; pass < 2 && exact == 0; pass++) {
    for (size_t i = 0; i < cat->count; i++) {
      const gh_case_spec *c = &cat->cases[i];
      int hit = pass == 0 ? strcmp(c->name, name) == 0 : fnmatch(name, c->name, 0) == 0;
      size_t *n = pass == 0 ? &exact : &glob;
      if (hit && (*n)++ < 16)
        found[*n - 1] = c;
    }
  }
  size_t n = exact ? exact : glob;
  if (n == 1) {
    *out = found[0];
    return 0;
  }
  if (n > 1) {
    fprintf(stderr, "gatecert repro: %zu cases match \"%s\"; candidates:\n", n, name);
    for (size_t i = 0; i < n && i < 16; i++)
      fprintf(stderr, "  %s  (%s)\n", found[i]->name, found[i]->file);
    if (n > 16)
      fprintf(stderr, "  ...\n");
    return 2;
  }
  /* none: the cases whose name contains the text, else every case */
  size_t close = 0;
  for (size_t i = 0; i < cat->count; i++)
    close += strcasestr(cat->cases[i].name, name) != NULL;
  fprintf(stderr, "gatecert repro: no case named \"%s\"; candidates:\n", name);
  for (size_t i = 0; i < cat->count; i++) {
    const gh_case_spec *c = &cat->cases[i];
    if (close == 0 || strcasestr(c->name, name))
      fprintf(stderr, "  %s  (%s)\n", c->name, c->file);
  }
  return 2;
}

/* ---- command line -------------------------------------------------------------------- */

static const char usage_text[] =
    "usage: gatecert repro [--scenarios DIR|FILE] [--profile wso2-4|wso2-2.6|sap-2023|sap-2026]\n"
    "                      [--sim-bin F] [--backend-bin F] [--faketime-lib F] [--sim-arg ARG]... "
    "CASE-NAME\n"
    "\n"
    "Prints on stdout a bash script that reproduces one scenario case without the harness:\n"
    "the case's PKI (gatecert certs issue), gatecert-backend and gatecert-sim on a libfaketime\n"
    "clock, the APIs, then one commented block per step (curl, clock file, /_sim/time) that\n"
    "prints what it got next to what was expected and a MISMATCH line when they differ.\n"
    "CASE-NAME is a case's full name (as `gatecert run --list` prints it) or a glob that\n"
    "matches exactly one case. Default programs: next to this gatecert, as `gatecert run`.\n"
    "Exit: 0 printed, 2 usage or scenario error (no case or several matched: candidates\n"
    "listed on stderr), 3 internal error.\n";

/* An absolute form of path: realpath when it exists, else cwd/path. */
static int absolute(const char *path, char *out, size_t len) {
  char *real = realpath(path, NULL);
  int n;
  if (real) {
    n = snprintf(out, len, "%s", real);
    free(real);
  } else if (path[0] == '/')
    n = snprintf(out, len, "%s", path);
  else {
    char cwd[PATH_LEN];
    if (!getcwd(cwd, sizeof(cwd)))
      return -1;
    n = snprintf(out, len, "%s/%s", cwd, path);
  }
  return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int resolve_bins(const options *opt, bins *b, char *why, size_t why_len) {
  char self[PATH_LEN], sim_guess[PATH_LEN], backend_guess[PATH_LEN];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0)
    return gu_fail(why, why_len, "cannot read /proc/self/exe: %s", strerror(errno));
  self[n] = '\0';
  snprintf(b->gatecert, sizeof(b->gatecert), "%s", self);
  const char *sim = opt->sim_bin, *backend = opt->backend_bin;
  if (!sim && gh_sibling_program(GH_SIM_SIBLING, sim_guess, sizeof(sim_guess)) == 0)
    sim = sim_guess;
  if (!backend && gh_sibling_program(GH_BACKEND_SIBLING, backend_guess, sizeof(backend_guess)) == 0)
    backend = backend_guess;
  if (!sim || !backend)
    return gu_fail(why, why_len, "cannot find gatecert-sim or gatecert-backend next to %s", self);
  if (absolute(sim, b->sim, sizeof(b->sim)) != 0 ||
      absolute(backend, b->backend, sizeof(b->backend)) != 0 ||
      absolute(opt->faketime_lib, b->faketime, sizeof(b->faketime)) != 0 ||
      absolute(opt->scenarios, b->scenarios, sizeof(b->scenarios)) != 0)
    return gu_fail(why, why_len, "a path is too long");
  const char *check[] = {b->sim, b->backend};
  for (size_t i = 0; i < 2; i++)
    if (access(check[i], X_OK) != 0)
      fprintf(stderr, "gatecert repro: warning: %s is not executable (the script names it)\n",
              check[i]);
  return 0;
}

/* --scenarios' default: ./scenarios, else share/gatecert/scenarios installed. */
static const char default_scenarios[] = "scenarios";

/* 0 parsed, 1 --help (printed), 2 usage error (printed). */
static int parse_options(int argc, char **argv, options *opt) {
  opt->scenarios = default_scenarios;
  opt->profile = "wso2";
  opt->faketime_lib = GATECERT_FAKETIME_LIB;
  int help = 0, version = 0;
  const gu_opt table[] = {
      {"scenarios", .string = &opt->scenarios},
      {"profile", .string = &opt->profile},
      {"sim-bin", .string = &opt->sim_bin},
      {"backend-bin", .string = &opt->backend_bin},
      {"faketime-lib", .string = &opt->faketime_lib},
      {"sim-arg", .list = opt->sim_args, .count = &opt->sim_arg_count, .max = MAX_SIM_ARGS},
      {"help", 'h', .flag = &help, .stop = 1},
      {"version", .flag = &version, .stop = 1},
      {0},
  };
  char why[4096];
  int first = gu_opts_parse(argc, argv, table, GU_OPTS_IN_ORDER, why, sizeof(why));
  if (first < 0) { /* an unknown option shows the usage, a refused value does not */
    fprintf(stderr, "gatecert repro: %s\n%s", why, first == GU_OPTS_UNKNOWN ? usage_text : "");
    return 2;
  }
  if (help) {
    fputs(usage_text, stdout);
    return 1;
  }
  if (version) {
    char line[256];
    puts(gu_version_line("gatecert repro", line, sizeof(line)));
    return 1;
  }
  if (first + 1 != argc) {
    fprintf(stderr, "gatecert repro: %s\n%s",
            first == argc ? "which case? (CASE-NAME missing)" : "one CASE-NAME only", usage_text);
    return 2;
  }
  opt->name = argv[first];
  if (gh_profile_canonical(opt->profile) == NULL) {
    fprintf(stderr,
            "gatecert repro: --profile must be wso2-4 (or wso2), wso2-2.6, sap-2023 or sap-2026 "
            "(or sap)\n");
    return 2;
  }
  opt->profile = gh_profile_canonical(opt->profile);
  return 0;
}

int gh_repro_main(int argc, char **argv) {
  options opt;
  memset(&opt, 0, sizeof(opt));
  int rc = parse_options(argc, argv, &opt);
  if (rc != 0)
    return rc == 1 ? 0 : 2;
  char installed[PATH_LEN]; /* installed, with no ./scenarios: the installed catalogue */
  if (opt.scenarios == default_scenarios && access(default_scenarios, F_OK) != 0 &&
      gu_data_path("scenarios", installed, sizeof(installed)) == 0)
    opt.scenarios = installed;
  bins *bin = calloc(1, sizeof(*bin));
  if (!bin)
    return 3;
  gh_catalogue cat = {0};
  const gh_case_spec *c = NULL;
  rc = load_catalogue(opt.scenarios, &cat);
  if (rc == 0)
    rc = find_case(&cat, opt.name, &c);
  if (rc == 0 && !gh_case_has_profile(c, opt.profile)) {
    fprintf(stderr, "gatecert repro: \"%s\" does not apply to profile %s\n", c->name, opt.profile);
    rc = 2;
  }
  char why[512] = "";
  if (rc == 0 && resolve_bins(&opt, bin, why, sizeof(why)) != 0)
    rc = 3;
  char *script = NULL;
  size_t script_len = 0;
  FILE *o = rc == 0 ? open_memstream(&script, &script_len) : NULL;
  if (rc == 0 && !o)
    rc = 3;
  if (rc == 0) {
    int bad = gh_repro_script(o, c, opt.profile, &opt, bin, why, sizeof(why)) != 0;
    bad |= ferror(o) != 0;
    bad |= fclose(o) != 0;
    if (bad)
      rc = 3;
    else if (fwrite(script, 1, script_len, stdout) != script_len || fflush(stdout) != 0) {
      gu_fail(why, sizeof(why), "cannot write the script: %s", strerror(errno));
      rc = 3;
    }
  }
  if (rc == 3)
    fprintf(stderr, "gatecert repro: %s\n", why[0] ? why : "out of memory");
  free(script);
  free(bin);
  gh_catalogue_free(&cat);
  return rc;
}
